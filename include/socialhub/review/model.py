"""The officer review of one alert: the question asked, the answer given, and who gave it.

Pure data and rules, importable without Airflow. The Airflow side (``socialhub_airflow.review``
and ``dags/socialhub_review.py``) asks the question with the standard provider's
``HITLOperator`` and hands the answer back here as a ``Decision``.

Options are fixed, one choice per review, and a free-text justification is required from a
person. If nobody answers within the team's response time, Airflow applies the default
(``Escalate``) and the decision is recorded as the system's, with the reason.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC
from typing import Any

from socialhub.alerts.blocks import evidence_label, safe_url
from socialhub.alerts.model import Alert, is_alert_id
from socialhub.alerts.present import account_label, local_and_utc, subject_text
from socialhub.alerts.severity import marker, why_severity

REFER = "Refer to platform"
ESCALATE = "Escalate"
MONITOR = "Keep monitoring"
NO_ACTION = "No action (false positive)"
OPTIONS: tuple[str, ...] = (REFER, ESCALATE, MONITOR, NO_ACTION)
#: What a timeout chooses: nobody looked in time, so supervisors are told.
DEFAULT_OPTION = ESCALATE
CODES: dict[str, str] = {REFER: "refer", ESCALATE: "escalate", MONITOR: "monitor", NO_ACTION: "no_action"}

JUSTIFICATION_PARAM = "justification"
JUSTIFICATION_MIN = 10
JUSTIFICATION_MAX = 4000
DEFAULT_RESPONSE_MINUTES = 30.0
DEFAULT_MAX_PER_RUN = 20
DEFAULT_MAX_AGE_DAYS = 7

SUBJECT_MAX = 200
BODY_TEXT_MAX = 3000
#: how many "why flagged" lines the review page shows (the rest: "…and N more")
WHY_SHOWN = 10


def justification_schema() -> dict[str, Any]:
    """JSON schema of the justification form field.

    ``null`` is allowed only so that the *timeout* default validates (Airflow validates task
    params before the task runs, and a timeout fills in the defaults); a person's answer
    without a justification of at least ``JUSTIFICATION_MIN`` characters is refused by
    ``check_justification`` and the review is asked again.
    """
    return {"type": ["null", "string"], "minLength": JUSTIFICATION_MIN, "maxLength": JUSTIFICATION_MAX,
            "title": "Justification (required)"}


JUSTIFICATION_HELP = (f"Why you chose this option, in your own words (at least {JUSTIFICATION_MIN} characters). "
                      "It is recorded in the audit trail and, for a referral, sent to the platform.")


def check_justification(value: object) -> str | None:
    """The problem with a person's justification, or ``None`` if it is acceptable."""
    if not isinstance(value, str) or not value.strip():
        return "a justification is required"
    if len(value.strip()) < JUSTIFICATION_MIN:
        return f"the justification must be at least {JUSTIFICATION_MIN} characters"
    if len(value) > JUSTIFICATION_MAX:
        return f"the justification must be at most {JUSTIFICATION_MAX} characters"
    return None


# --- settings ---------------------------------------------------------------------------------

def _env_float(name: str) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        from socialhub.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        from socialhub.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} must be positive")
    return value


def response_seconds(routing: Any, force: str, team: str) -> int:
    """How long the team has to respond before the item is escalated automatically.

    In order: ``SOCIALHUB_REVIEW_RESPONSE_SECONDS`` (one value for every team: demos and tests),
    the team's route ``response_minutes`` in ``routing.yaml`` (when the routing schema has it),
    ``SOCIALHUB_REVIEW_RESPONSE_MINUTES``, else 30 minutes.
    """
    override = _env_float("SOCIALHUB_REVIEW_RESPONSE_SECONDS")
    if override is not None:
        return max(1, int(override))
    minutes = None
    if routing is not None:
        route = routing.route_for(force, team)[0]
        minutes = getattr(route, "response_minutes", None)
        if minutes is None:
            minutes = getattr(getattr(routing, "config", None), "response_minutes", None)
    if minutes is None:
        minutes = _env_float("SOCIALHUB_REVIEW_RESPONSE_MINUTES") or DEFAULT_RESPONSE_MINUTES
    return max(1, int(float(minutes) * 60))


def max_per_run() -> int:
    return max(1, int(_env_float("SOCIALHUB_REVIEW_MAX_PER_RUN") or DEFAULT_MAX_PER_RUN))


def max_age_days() -> float:
    return _env_float("SOCIALHUB_REVIEW_MAX_AGE_DAYS") or DEFAULT_MAX_AGE_DAYS


# --- the question -------------------------------------------------------------------------------

_INVISIBLE_CATS = ("Cc", "Cf", "Co", "Cs")


def display_text(text: object, limit: int | None = None) -> str:
    """Untrusted text for display: controls and invisible/bidi characters removed, cut to ``limit``.

    Bidi overrides could reorder what a reviewer reads ("Trojan source"), zero-width characters
    hide words; tab and newline stay. The stored raw item keeps the original.
    """
    s = str(text or "").replace("\r\n", "\n").replace("\r", "\n")
    s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    s = "".join(ch for ch in s if ch in "\n\t" or ch in "\u200c\u200d"
                or unicodedata.category(ch) not in _INVISIBLE_CATS)
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 12)].rstrip() + "…(truncated)"
    return s


def one_line(text: object, limit: int = 120) -> str:
    return display_text(" ".join(str(text or "").split()), limit)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&\"'=:^$@%])")


def md_inline(text: object, limit: int = 300) -> str:
    """Untrusted text as inert Markdown inline text: every punctuation character backslash-escaped.

    CommonMark allows a backslash before any ASCII punctuation, so nothing can become a link,
    image, emphasis, HTML tag or autolink. Jinja braces are escaped too (and the operator never
    renders these fields as templates).
    """
    return _MD_SPECIAL.sub(r"\\\1", one_line(text, limit))


def md_code_span(text: object, limit: int = 100) -> str:
    """Untrusted text as an inline code span (literal inside; its own backticks replaced)."""
    return "`" + one_line(text, limit).replace("`", "\u02cb") + "`"


def md_code_block(text: object, limit: int = BODY_TEXT_MAX) -> str:
    """Untrusted multi-line text as a fenced code block nothing inside can close."""
    body = display_text(text, limit) or "(no text)"
    longest = max((len(m) for m in re.findall(r"`+|~+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}"


def fmt_duration(seconds: float) -> str:
    """``40 s``, ``5 min``, ``1 h 30 min``: how long a team has to respond."""
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")


def _score(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def evidence_words(reason: Mapping[str, Any]) -> str:
    """What fired, in plain words (``weapon word: blade``); see ``blocks.evidence_label``."""
    label, term = evidence_label(reason)
    return f"{label}, term “{term}”" if label and term else label or term or "evidence"


def review_subject(alert: Alert) -> str:
    """One line naming the alert id (the alert's Review link searches for it), what fired and the platform.

    No post text and no account: the subject is listed on Airflow's Required Actions page to
    everyone who may see the review DAG, and is searchable; the body (one task's page) has the rest.
    """
    scores = alert.classification.get("scores") or {}
    cats = ", ".join(f"{one_line(c, 40)} {_score(scores.get(c))}" for c in alert.labels[:4]) or "flagged post"
    return one_line(f"Review alert {alert.alert_id} · {cats} · {one_line(alert.post.get('platform', ''), 20)}",
                    SUBJECT_MAX)


#: ``airflow_url`` not given: the public address from the environment (``links.public_url``)
FROM_ENV = "env"

NO_MEDIA_LINKS = ("No media links: no public Airflow address is configured (SOCIALHUB_AIRFLOW_PUBLIC_URL). "
                  "On this Airflow's own address, open the path shown for each item.")


def _size_words(n: object) -> str:
    if not isinstance(n, int) or isinstance(n, bool):
        return "size unknown"
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def media_section(alert: Alert, airflow_url: str | None) -> list[str]:
    """The review page's "Media" lines: each captured item's type, size and dimensions, with links to
    its blurred preview and to the audited full view, both served by the hub from its store.

    Never a platform media URL: the officer's browser would fetch the platform's copy, unblurred,
    on opening the page (and tell the platform who looked). Items not captured say why.
    """
    from socialhub.alerts.links import media_path, media_url
    from socialhub.media.store import RASTER_TYPES

    post = alert.post
    urls = list(post.get("media") or [])
    items = [m for m in post.get("media_captured") or [] if isinstance(m, Mapping)]
    if not urls and not items:
        return []
    lines = ["", "**Media** (copies captured when the post was collected, served from the hub's store, never from "
             "the platform; the full view is recorded in the audit log)", ""]
    if not airflow_url and any(m.get("sha256") for m in items):
        lines += [md_inline(NO_MEDIA_LINKS, 400), ""]

    def link(sha: str, which: str, label: str) -> str:
        url = media_url(sha, which, airflow_url, alert.alert_id)
        return f"[{label}](<{url}>)" if url else f"{label}: {md_code_span(media_path(sha, which, alert.alert_id), 160)}"

    shown = 0
    for n, item in enumerate(items, 1):
        sha = item.get("sha256")
        if not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
            why = item.get("reason") or item.get("status") or "unknown"
            lines.append(f"- {n}\\. not captured ({md_inline(why, 60)})")
            continue
        shown += 1
        mime = str(item.get("mime") or "type unknown")
        dims = (f"{item['width']} × {item['height']} px" if isinstance(item.get("width"), int)
                and isinstance(item.get("height"), int) else "dimensions unknown")
        what = f"{md_inline(mime, 60)}, {md_inline(_size_words(item.get('size')))}, {md_inline(dims)}"
        if item.get("preview_key"):
            preview = link(sha, "preview", "Blurred preview")
        else:
            why = "SVG is never rendered" if item.get("reason") == "svg" else (item.get("reason") or "none made")
            preview = f"no preview ({md_inline(why, 60)})"
        full = link(sha, "full", "Show full image (recorded in the audit log)" if mime in RASTER_TYPES
                    else "Download the stored file, not shown (recorded in the audit log)")
        lines.append(f"- {n}\\. {what}: {preview} · {full}")
    missing = len(urls) - len(items)
    if missing > 0:
        lines.append(f"- {missing} more item(s) not captured (no capture record yet)")
    return lines


def review_body(alert: Alert, *, response_seconds: int, escalation_channel: str,
                airflow_url: str | None = FROM_ENV) -> str:
    """The Markdown shown on the review page: what was flagged and why, and what each option does.

    Every value that comes from a post is escaped (``md_inline``) or fenced (``md_code_block``);
    the only links are the post's permalink, only when it is a plain http(s) URL, and the media
    links (``media_section``) to the hub's own copies under ``airflow_url``, the Airflow UI's public
    address (default: ``SOCIALHUB_AIRFLOW_PUBLIC_URL``; ``None``: no such address, paths instead).
    """
    if airflow_url == FROM_ENV:
        from socialhub.alerts.links import public_url

        airflow_url = public_url()
    post = alert.post
    classification = alert.classification
    scores = classification.get("scores") or {}
    account = account_label(post.get("account"), alert.account_display_name)
    lines = [
        f"**{md_inline(marker(alert.severity))} severity** · alert `{alert.alert_id}`",
        "",
        f"Severity {md_inline(why_severity(classification), 300)}",
        "",
        "| | |", "|---|---|",
        f"| Categories | {md_inline(', '.join(f'{c} {_score(scores.get(c))}' for c in alert.labels) or '—')} |",
        f"| Platform / account | {md_inline(post.get('platform'))} / {md_inline(account)} |",
        f"| Subject | {md_inline(subject_text(alert.subject))} |",
        f"| Author | {md_inline(post.get('author'))} |",
        f"| Posted | {md_inline(local_and_utc(post.get('created_at')))} |",
        f"| Collected | {md_inline(local_and_utc(post.get('collected_at')))} |",
        f"| Force / team | {md_inline(alert.force)} / {md_inline(alert.team)} |",
        f"| Authorisation | {md_inline(alert.authorisation_ref)} |",
    ]
    url = safe_url(post.get("url"))
    lines.append(f"| Post | <{url}> |" if url else "| Post | (no usable link) |")
    lines += ["", "**Post text** (as collected; invisible characters removed for display)", "",
              md_code_block(post.get("text")), "", "**Why it was flagged**", ""]
    reasons = list(classification.get("reasons") or [])
    for r in reasons[:WHY_SHOWN]:
        # The rule in plain words and the post's own words: never the rule's term, which for a
        # lexicon or context regex is a raw pattern (socialhub.classify.describe), nor offsets or weights.
        span = f"“{md_inline(r.get('text'), 200)}”" if r.get("text") else "(no span)"
        lines.append(f"- {md_inline(r.get('category'), 40)} ({md_inline(evidence_words(r), 100)}): {span}")
    if len(reasons) > WHY_SHOWN:
        lines.append(f"- …and {len(reasons) - WHY_SHOWN} more")
    if not reasons:
        lines.append("- (no evidence spans recorded)")
    lines += media_section(alert, airflow_url)
    lines += ["", f"Classifier {md_code_span(alert.classification.get('classifier_version') or 'unknown', 60)}: "
              "a triage aid, not evidence of an offence.", "",
              "**Options**", "",
              f"- **{REFER}**: builds a referral package (post, raw item, hashes, your justification, a report) "
              "for the platform's trusted-flagger channel. Nothing is sent to the platform automatically.",
              f"- **{ESCALATE}**: posts the alert to the escalation channel {md_inline(escalation_channel)}.",
              f"- **{MONITOR}**: no action now; the account stays on the watchlist.",
              f"- **{NO_ACTION}**: the classifier was wrong; recorded to improve it.",
              "", f"A justification is required. With no response within {fmt_duration(response_seconds)} the item is "
              f"escalated automatically, and that is recorded."]
    return "\n".join(lines)


#: the keys of a review request, the mapped argument of one review task (and so an XCom value)
REQUEST_KEYS = ("alert_id", "response_seconds")


def build_request(alert: Alert, *, response_seconds: int) -> dict[str, Any]:
    """The mapped-task argument for one review: the alert id and the response time, nothing else.

    It travels through XCom (Airflow's metadata database), so it carries no post text, account,
    author or authorisation: the review task loads the alert from the store by its id and builds
    the page then (``review_question``).
    """
    return {"alert_id": alert.alert_id, "response_seconds": int(response_seconds)}


def review_question(alert: Alert, *, response_seconds: int, escalation_channel: str,
                    airflow_url: str | None = FROM_ENV) -> dict[str, str]:
    """What the review page shows: ``subject`` (listed, no post text) and ``body`` (the post and why)."""
    return {"subject": review_subject(alert),
            "body": review_body(alert, response_seconds=response_seconds, escalation_channel=escalation_channel,
                                airflow_url=airflow_url)}


# --- the answer ------------------------------------------------------------------------------------

TIMEOUT_JUSTIFICATION = ("No response within the team's response time ({duration}): "
                         "escalated automatically (Airflow applied the default option).")


@dataclass(frozen=True)
class Decision:
    """One answered (or timed-out) review. ``responded_by`` is ``None`` for a timeout."""

    alert_id: str
    option: str
    justification: str
    responded_at: str
    timed_out: bool
    response_seconds: int
    responded_by: dict[str, str] | None = None
    review_task: dict[str, Any] = field(default_factory=dict)
    review_url: str | None = None

    def __post_init__(self) -> None:
        if not is_alert_id(self.alert_id):
            raise ValueError(f"not an alert id: {self.alert_id!r}")
        if self.option not in OPTIONS:
            raise ValueError(f"unknown review option {self.option!r}; options are {list(OPTIONS)}")
        if not self.timed_out and not self.responded_by:
            raise ValueError("a decision that did not time out needs the person who made it")

    @property
    def code(self) -> str:
        return CODES[self.option]

    @property
    def decided_by(self) -> str:
        if self.timed_out or not self.responded_by:
            return "no response (automatic escalation)"
        rb = self.responded_by
        return rb.get("name") or rb.get("id") or "unknown"

    def actor(self) -> dict[str, Any]:
        """The audit actor: the officer who answered, or the system that applied the default."""
        task = self.review_task or {}
        via = "Airflow review {dag_id}.{task_id}[{map_index}] run {run_id}".format(
            dag_id=task.get("dag_id", "?"), task_id=task.get("task_id", "?"),
            map_index=task.get("map_index", "?"), run_id=task.get("run_id", "?"))
        if self.timed_out or not self.responded_by:
            return {"kind": "system", "name": "review timeout", "via": via,
                    "reason": f"no response within {self.response_seconds}s; default {DEFAULT_OPTION!r} applied"}
        return {"kind": "person", "id": str(self.responded_by.get("id", "")),
                "name": str(self.responded_by.get("name") or self.responded_by.get("id") or ""), "via": via}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Decision:
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: d[k] for k in names if k in d})

    @classmethod
    def from_hitl(cls, alert_id: str, result: Mapping[str, Any], *, timed_out: bool, response_seconds: int,
                  review_task: Mapping[str, Any] | None = None, review_url: str | None = None) -> Decision:
        """From the HITL operator's result (``chosen_options``, ``params_input``, ``responded_*``)."""
        chosen = list(result.get("chosen_options") or [])
        if len(chosen) != 1:
            raise ValueError(f"expected exactly one chosen option, got {chosen!r}")
        at = result.get("responded_at")
        at_iso = at if isinstance(at, str) else _iso(at)
        by = result.get("responded_by_user")
        justification = (result.get("params_input") or {}).get(JUSTIFICATION_PARAM)
        if timed_out:
            justification = TIMEOUT_JUSTIFICATION.format(duration=fmt_duration(response_seconds))
            by = None
        return cls(alert_id=alert_id, option=chosen[0], justification=str(justification or "").strip(),
                   responded_at=at_iso, timed_out=timed_out, response_seconds=int(response_seconds),
                   responded_by={"id": str(by.get("id", "")), "name": str(by.get("name", ""))} if by else None,
                   review_task=dict(review_task or {}), review_url=review_url)


def _iso(value: Any) -> str:
    from datetime import datetime

    from socialhub.models import utc_iso

    if isinstance(value, datetime):
        return utc_iso(value)
    return utc_iso(datetime.now(UTC))
