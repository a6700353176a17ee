"""The Alert record: what the on-duty team is told about one flagged public post.

An alert is a *notification*, not evidence. It carries a copy of the normalised post and of
the classifier's verdict so that the message can be rendered (and re-rendered from the outbox)
without going back to storage, but the evidence of record stays the stored raw item.

The ``alert_id`` is derived from the post's identity only (``platform:post_id``), never from
the time or the classifier output, so that re-running a task, replaying a batch or
re-classifying with a newer model yields the same id: the delivery ledger de-duplicates on it
and the outbox file name is it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from socialhub import subjects
from socialhub.alerts.severity import Severity, severity_of
from socialhub.models import Post

__all__ = ["POST_FIELDS", "Alert", "Severity", "alert_id_for", "is_alert_id", "severity_of"]

#: The Post fields an alert copies. Provenance fields (raw_sha256, reply_to, repost_of) stay in
#: storage: the team does not need them to triage and they would only grow the message.
POST_FIELDS: tuple[str, ...] = (
    "platform", "account", "post_id", "url", "author", "text", "created_at", "collected_at", "media",
)

_ALERT_ID_RE = re.compile(r"[0-9a-f]{24}")


def alert_id_for(platform: str, post_id: str) -> str:
    """Stable id of the alert about one post: first 24 hex chars of sha256("platform:post_id").

    24 hex chars (96 bits) keep collisions out of reach for any realistic volume while staying
    short enough for file names and Slack ``block_id``s.
    """
    return hashlib.sha256(f"{platform}:{post_id}".encode()).hexdigest()[:24]


def is_alert_id(value: object) -> bool:
    """True if ``value`` has the shape of an alert id; used before an id becomes a file name."""
    return isinstance(value, str) and _ALERT_ID_RE.fullmatch(value) is not None


def _post_dict(post: Post | Mapping[str, Any]) -> dict[str, Any]:
    raw = post.to_dict() if isinstance(post, Post) else dict(post)
    missing = [name for name in ("platform", "post_id") if not raw.get(name)]
    if missing:
        raise ValueError(f"post lacks {', '.join(missing)}: an alert needs the post's identity")
    out: dict[str, Any] = {}
    captured = _captured(raw.get("media_captured"))
    if captured:
        out["media_captured"] = captured
    for name in POST_FIELDS:
        if name == "media":
            out[name] = [str(m) for m in (raw.get("media") or [])]
        else:
            value = raw.get(name, "")
            out[name] = "" if value is None else str(value)
    return out


#: what an alert keeps of each captured media item: the stored copy, never something a client fetches
CAPTURED_FIELDS = ("sha256", "mime", "kind", "size", "width", "height", "preview_key", "status", "reason")


def _captured(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if isinstance(item, Mapping):
            kept = {k: item[k] for k in CAPTURED_FIELDS if isinstance(item.get(k), (str, int)) and
                    not isinstance(item.get(k), bool)}
            if kept:
                out.append(kept)
    return out


def _classification_dict(classification: Mapping[str, Any]) -> dict[str, Any]:
    scores_in = classification.get("scores") or {}
    if not isinstance(scores_in, Mapping):
        raise ValueError("classification.scores must be a mapping of category -> float")
    scores: dict[str, float] = {}
    for category, score in scores_in.items():
        try:
            scores[str(category)] = float(score)
        except (TypeError, ValueError):
            raise ValueError(f"classification.scores[{category!r}] is not a number") from None
    labels_in = classification.get("labels") or []
    if isinstance(labels_in, (str, bytes)) or not isinstance(labels_in, (list, tuple)):
        raise ValueError("classification.labels must be a list of categories")
    reasons_in = classification.get("reasons") or []
    if not isinstance(reasons_in, (list, tuple)) or not all(isinstance(r, Mapping) for r in reasons_in):
        raise ValueError("classification.reasons must be a list of objects")
    out: dict[str, Any] = {
        "scores": scores,
        "labels": [str(label) for label in labels_in],
        "reasons": [dict(r) for r in reasons_in],
        "classifier_version": str(classification.get("classifier_version") or ""),
    }
    if classification.get("classifier_id"):     # the recorded version (absent in older alerts)
        out["classifier_id"] = str(classification["classifier_id"])
    # The label thresholds the classifier applied: the severity bands are set against them
    # (socialhub.alerts.severity). Kept only when they are numbers; absent in older alerts.
    thresholds_in = classification.get("thresholds")
    if isinstance(thresholds_in, Mapping):
        thresholds = {str(c): float(t) for c, t in thresholds_in.items()
                      if isinstance(t, (int, float)) and not isinstance(t, bool)}
        if thresholds:
            out["thresholds"] = thresholds
    return out


def _subject(value: object) -> str:
    """A known subject category, else "" (not recorded: an alert from before the category, or a mangled value)."""
    return value if isinstance(value, str) and subjects.recorded(value) else ""


@dataclass(slots=True)
class Alert:
    """One flagged post, routed to a force and team, ready to render.

    ``post`` and ``classification`` are plain dicts (not ``Post``) so an alert round-trips
    through JSON (outbox, XCom) unchanged; ``from_post`` builds one from a ``Post``.
    """

    alert_id: str
    post: dict[str, Any]
    classification: dict[str, Any]
    force: str
    team: str
    authorisation_ref: str
    account_display_name: str = ""
    review_url: str | None = None
    #: the account's subject category (``socialhub.subjects``); "" when the data predates it ("not recorded")
    subject: str = ""

    @property
    def severity(self) -> Severity:
        return severity_of(self.classification)

    @property
    def labels(self) -> list[str]:
        return list(self.classification.get("labels") or [])

    @property
    def post_key(self) -> str:
        return f"{self.post['platform']}:{self.post['post_id']}"

    @classmethod
    def from_post(
        cls,
        post: Post | Mapping[str, Any],
        classification: Mapping[str, Any],
        *,
        force: str,
        team: str,
        authorisation_ref: str,
        account_display_name: str = "",
        review_url: str | None = None,
        subject: object = "",
    ) -> Alert:
        """Build an alert, deriving its id from the post so callers cannot get it wrong."""
        p = _post_dict(post)
        return cls(
            alert_id=alert_id_for(p["platform"], p["post_id"]),
            post=p,
            classification=_classification_dict(classification),
            force=str(force),
            team=str(team),
            authorisation_ref=str(authorisation_ref),
            account_display_name=str(account_display_name or ""),
            review_url=review_url or None,
            subject=_subject(subject),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "post": dict(self.post),
            "classification": dict(self.classification),
            "force": self.force,
            "team": self.team,
            "authorisation_ref": self.authorisation_ref,
            "account_display_name": self.account_display_name,
            "review_url": self.review_url,
            "subject": self.subject,
            "severity": self.severity,   # informative only; recomputed on load
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Alert:
        """Inverse of ``to_dict``. Rejects an ``alert_id`` that does not match the post.

        The id becomes a file name in the outbox and a de-duplication key in the ledger, so an
        id that was edited or forged must not be accepted silently. ``severity`` is ignored
        and recomputed, so a stored alert cannot claim a severity its classification lacks.
        """
        try:
            post = _post_dict(d["post"])
            classification = _classification_dict(d["classification"])
            force, team, ref = d["force"], d["team"], d["authorisation_ref"]
        except KeyError as exc:
            raise ValueError(f"alert dict lacks {exc.args[0]!r}") from None
        expected = alert_id_for(post["platform"], post["post_id"])
        given = d.get("alert_id", expected)
        if given != expected:
            raise ValueError(f"alert_id {given!r} does not match post {post['platform']}:{post['post_id']}")
        return cls(
            alert_id=expected,
            post=post,
            classification=classification,
            force=str(force),
            team=str(team),
            authorisation_ref=str(ref),
            account_display_name=str(d.get("account_display_name") or ""),
            review_url=d.get("review_url") or None,
            subject=_subject(d.get("subject")),
        )
