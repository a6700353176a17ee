"""When Slack fails: deliver through a fallback channel (a webhook or email) and say so.

``FallbackSink`` wraps the primary sink (Slack) and one fallback sink. The primary keeps its
own bounded retries (5xx, 429 with ``Retry-After``, network errors); once it gives up, or
refuses for a reason a retry cannot fix (``invalid_auth``, ``channel_not_found``…), the same
message goes through the fallback and the returned ``Delivery`` says so: ``sink`` is
``webhook``/``email``, ``channel`` the Slack channel it was meant for, ``fallback_reason`` why.
Every fallback is also an ``on_fallback(FallbackEvent)`` call and an entry in ``events`` so the
platform team can be told (``platform_notice``).

After a failure that concerns Slack as a whole (auth, outage, rate limit, network) the primary
is skipped for ``skip_primary_for`` seconds, so a Slack outage costs one alert's retries per run
rather than every alert's; those alerts carry the same ``fallback_reason`` (the cause) and their
``FallbackEvent.skipped_primary`` is true. A failure that concerns one channel or one message
(``channel_not_found``, ``invalid_blocks``) does not trip it.

No duplicates: the alert ledger (intent before sending, write-once entry after) stays the source
of truth; ``find_delivery`` asks both sinks. Slack can answer from its history; a webhook or an
email cannot be read back, so each carries the message key as its idempotency key
(``Idempotency-Key`` header, e-mail ``Message-ID``) and a receiver can drop a repeat after a
crash between sending and recording.

Both fallback sinks render hostile post text harmless for where it goes: the webhook gets plain
text that no chat tool can turn into a mention, link or formatting (every at-sign wrapped as
``(@)``, markdown characters replaced by look-alikes, ``&``/``<``/``>`` entity-escaped,
invisible characters removed); email is HTML-escaped and loads nothing. Links are only ever
plain http(s) URLs that passed ``safe_url``.

Importable without Airflow: ``EmailSink`` takes a ``send`` callable (the Airflow adapter around
the smtp provider's ``SmtpHook`` lives in ``plugins/socialhub_airflow/hooks.py``).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState, Retrying, stop_after_attempt, wait_exponential

from socialhub.alerts.blocks import _fit, _one_line, _score, evidence_label, neutralise, safe_url
from socialhub.alerts.model import Alert, is_alert_id
from socialhub.alerts.present import NO_REVIEW_LINK, account_label, local_and_utc, subject_text, why_flagged
from socialhub.alerts.severity import why_severity
from socialhub.alerts.sinks import (
    CHANNEL_SLACK_ERRORS,
    FORMAT_SLACK_ERRORS,
    Delivery,
    _retry_after,
    _utcnow,
    notice_key,
    redact,
)
from socialhub.errors import AlertDeliveryError
from socialhub.models import utc_iso
from socialhub.sources.http import quiet_http_client_logs

log = logging.getLogger(__name__)

quiet_http_client_logs()  # a webhook URL often carries its secret in the path

#: Version of the webhook's JSON document (``schema``): bump on an incompatible change.
WEBHOOK_SCHEMA = 1
#: Longest post text in a webhook document or email (the full text is in the store).
TEXT_MAX = 3000
SUBJECT_MAX = 200
#: An at-sign not already wrapped as "(@)" (``neutralise`` wraps broadcast ones).
_AT_RE = re.compile("(?<!\\()[@\uff20\ufe6b](?!\\))")
_EMAIL_RE = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"']+$")
_SLACK_ENTITY_RE = re.compile(r"&(amp|lt|gt);")


# -- the wrapper -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FallbackEvent:
    """One message that went through the fallback instead of the primary sink."""

    reason: str
    channel: str
    key: str
    alert_ids: tuple[str, ...]
    primary: str
    fallback: str
    location: str
    at: str
    skipped_primary: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "channel": self.channel, "key": self.key, "alert_ids": list(self.alert_ids),
                "primary": self.primary, "fallback": self.fallback, "location": self.location, "at": self.at,
                "skipped_primary": self.skipped_primary}


class FallbackDeliveryError(AlertDeliveryError):
    """The primary sink and the fallback both failed: the message was not delivered anywhere.

    ``summary`` says why in a few words (both reasons), for a further fallback's ``fallback_reason``.
    """

    hint = ("neither Slack nor the fallback channel took the alert: it was not sent and the task will retry; "
            "check both connections")

    def __init__(self, message: str, *, summary: str) -> None:
        self.summary = summary
        super().__init__(message)


def describe_failure(exc: BaseException, primary: str = "slack") -> str:
    """Why the primary sink was given up on, in a few words, without credentials or post text."""
    if isinstance(exc, FallbackDeliveryError):
        return exc.summary
    error = getattr(exc, "error", None)
    status = getattr(exc, "status", None)
    attempts = getattr(exc, "attempts", None)
    retryable = getattr(exc, "retryable", None)
    what = " ".join(w for w in (f"HTTP {status}" if status and status != 200 else "", error or "") if w) or None
    if what is None:
        what = "connection failed" if retryable else _fit(_one_line(redact(str(exc))), 160, mrkdwn=True)
    if retryable is False:
        tail = "not retryable"
    elif error == "ratelimited" or status == 429:
        tail = f"rate-limited beyond the wait limit after {attempts or 1} attempt(s)"
    else:
        tail = f"gave up after {attempts} attempt(s)" if attempts else "failed"
    return f"{primary} {what}: {tail}"


def _sink_wide(exc: BaseException) -> bool:
    """True if the failure is about the primary sink as a whole, not one channel or message."""
    error = getattr(exc, "error", None)
    return error not in CHANNEL_SLACK_ERRORS and error not in FORMAT_SLACK_ERRORS


class FallbackSink:
    """Deliver through ``primary``; when it fails for good, through ``fallback``, and record why.

    Implements what the pipeline uses of a sink: ``send``, ``send_payload`` (digests, review
    messages), ``send_text`` (notices) and ``find_delivery``. Other attributes (``client``,
    ``max_attempts``…) are the primary's, so code that threads Slack replies keeps working.
    Only ``AlertDeliveryError`` triggers the fallback: a bug stays a bug.
    """

    def __init__(self, primary: Any, fallback: Any, *,
                 on_fallback: Callable[[FallbackEvent], None] | None = None,
                 skip_primary_for: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.primary = primary
        self.fallback = fallback
        self.on_fallback = on_fallback
        self.skip_primary_for = skip_primary_for
        self.clock = clock
        self.now = now
        self.events: list[FallbackEvent] = []
        # shared with the copies ``rewrap`` makes, so a failure seen by one skips Slack for all
        self._state: dict[str, tuple[float, str] | None] = {"tripped": None}

    @property
    def name(self) -> str:
        return str(getattr(self.primary, "name", "primary"))

    @property
    def fallback_name(self) -> str:
        return str(getattr(self.fallback, "name", "fallback"))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("primary", "fallback"):
            raise AttributeError(name)
        return getattr(self.primary, name)

    # -- the sink interface ----------------------------------------------------------------------
    def send(self, alert: Alert, channel: str) -> Delivery:
        return self._deliver(lambda: self.primary.send(alert, channel),
                             lambda reason: self._call_fallback("send", alert, channel, reason=reason),
                             channel=channel, key=alert.alert_id, alert_ids=(alert.alert_id,))

    def send_payload(self, payload: Mapping[str, Any], channel: str, *, key: str,
                     record: Mapping[str, Any] | None = None) -> Delivery:
        ids = tuple(str(i) for i in (record or {}).get("alert_ids") or () if is_alert_id(i))
        if not ids and is_alert_id(key):
            ids = (key,)
        return self._deliver(lambda: self.primary.send_payload(payload, channel, key=key, record=record),
                             lambda reason: self._call_fallback("send_payload", payload, channel, key=key,
                                                                record=record, reason=reason),
                             channel=channel, key=key, alert_ids=ids)

    def send_text(self, channel: str, text: str) -> Delivery:
        return self._deliver(lambda: self.primary.send_text(channel, text),
                             lambda reason: self._call_fallback("send_text", channel, text, reason=reason),
                             channel=channel, key="notice", alert_ids=())

    def find_delivery(self, alert: Alert, channel: str) -> Delivery | None:
        """Ask the primary, then the fallback; a sink that cannot answer counts as "not found".

        A primary that cannot be read (Slack down) is also tripped, so the send that follows
        goes straight to the fallback instead of retrying Slack once more.
        """
        return self._find("find_delivery", alert, channel, what=f"alert {alert.alert_id}")

    def find_payload(self, key: str, channel: str) -> Delivery | None:
        """The message sent earlier with ``key``, asked of the primary then the fallback."""
        return self._find("find_payload", key, channel, what=f"message {key}")

    def _find(self, method: str, subject: Any, channel: str, *, what: str) -> Delivery | None:
        for sink in (self.primary, self.fallback):
            finder = getattr(sink, method, None)
            if finder is None:
                continue
            failure: str | None = None
            try:
                found = finder(subject, channel)
            except AlertDeliveryError as exc:
                failure = describe_failure(exc, str(getattr(sink, "name", "sink")))
                if sink is self.primary and _sink_wide(exc):
                    self._state["tripped"] = (self.clock(), failure)
                found = None
            if failure:
                log.warning("cannot check whether %s already reached %s (%s): treating it as not delivered",
                            what, channel, failure)
            if found is not None:
                return found
        return None

    def rewrap(self, primary: Any) -> FallbackSink:
        """This sink with its innermost primary replaced (e.g. by a Slack sink that posts in a thread).

        The copy shares the fallback, ``on_fallback``, ``events`` and the skip state.
        """
        inner = self.primary.rewrap(primary) if isinstance(self.primary, FallbackSink) else primary
        copy = FallbackSink(inner, self.fallback, on_fallback=self.on_fallback,
                            skip_primary_for=self.skip_primary_for, clock=self.clock, now=self.now)
        copy.events = self.events
        copy._state = self._state
        return copy

    # -- internals ---------------------------------------------------------------------------------
    def _skip_reason(self) -> str | None:
        tripped = self._state["tripped"]
        if tripped is None:
            return None
        since, reason = tripped
        if self.clock() - since >= self.skip_primary_for:
            self._state["tripped"] = None
            return None
        return reason

    def _call_fallback(self, method: str, *args: Any, reason: str, **kwargs: Any) -> Any:
        if getattr(self.fallback, "accepts_fallback_reason", False):
            kwargs["fallback_reason"] = reason
        return getattr(self.fallback, method)(*args, **kwargs)

    def _deliver(self, primary: Callable[[], Any], fallback: Callable[[str], Any], *, channel: str, key: str,
                 alert_ids: tuple[str, ...]) -> Any:
        reason = self._skip_reason()
        skipped = reason is not None
        if reason is None:
            try:
                return primary()
            except AlertDeliveryError as exc:
                reason = describe_failure(exc, self.name)
                if _sink_wide(exc):
                    self._state["tripped"] = (self.clock(), reason)
        log.warning("%s could not deliver %s to %s (%s%s): sending it through the %s fallback", self.name,
                    ", ".join(alert_ids) or key, channel, reason,
                    f"; earlier in this run, so not tried again for {self.skip_primary_for:.0f}s" if skipped else "",
                    self.fallback_name)
        error: tuple[str, str] | None = None
        try:
            delivery = fallback(reason)
        except AlertDeliveryError as exc:
            error = (redact(str(exc)), describe_failure(exc, self.fallback_name))
        if error is not None:
            # Raised outside the except block: the fallback's exception may carry request details.
            raise FallbackDeliveryError(f"could not deliver {', '.join(alert_ids) or key} for {channel!r}: "
                                        f"{reason}; the {self.fallback_name} fallback failed too: {error[0]}",
                                        summary=f"{reason}; then {error[1]}")
        if isinstance(delivery, Delivery):
            delivery = replace(delivery, fallback_reason=reason)
        event = FallbackEvent(reason=reason, channel=channel, key=str(getattr(delivery, "key", key)),
                              alert_ids=alert_ids, primary=self.name, fallback=self.fallback_name,
                              location=str(getattr(delivery, "location", "")), at=utc_iso(self.now()),
                              skipped_primary=skipped)
        self.events.append(event)
        if self.on_fallback is not None:
            try:
                self.on_fallback(event)
            except Exception:  # noqa: BLE001 - telling someone must not undo a delivery
                log.exception("on_fallback failed for %s", event.key)
        return delivery


def platform_notice(fallback_used: int, reasons: Mapping[str, int], *, sinks: Iterable[str] = (),
                    run: str = "") -> str:
    """The platform team's notice: how many alerts went through the fallback, and why."""
    why = "; ".join(f"{r} ({n})" for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))) or "unknown"
    via = ", ".join(sorted(set(sinks))) or "the fallback channel"
    where = f" in {run}" if run else ""
    return (f"socialhub: {fallback_used} alert(s){where} could not be posted to Slack and were sent through {via} "
            f"instead. Reasons: {why}. Check the socialhub_slack connection (token, scopes, channels) and Slack's "
            f"status; each alert's ledger entry and audit event name the fallback and the reason.")


# -- plain-text-safe rendering -------------------------------------------------------------------

def inert(text: object, limit: int = TEXT_MAX) -> str:
    """Untrusted text made plain for any chat tool or JSON consumer, cut to ``limit``.

    Invisible and control characters removed, every at-sign wrapped (``(@)name``: no mention of
    anyone, not only broadcasts), markdown characters and ``[``/``]`` replaced by look-alikes (no
    link syntax), ``&``/``<``/``>`` entity-escaped (no HTML, no Slack control sequences).
    """
    wrapped = _AT_RE.sub(lambda m: f"({m.group(0)})", str(text)[: limit * 2 + 64])
    return _fit(wrapped, limit, mrkdwn=True).replace("[", "\uff3b").replace("]", "\uff3d")


def _inert_line(text: object, limit: int = 300) -> str:
    return inert(_one_line(str(text)), limit)


def _categories(alert: Alert) -> list[tuple[str, object]]:
    scores = alert.classification.get("scores") or {}
    names = alert.labels or list(scores)
    def rank(item: tuple[str, object]) -> tuple[float, str]:
        score = item[1]
        return (-float(score) if isinstance(score, (int, float)) else 0.0, item[0])

    return sorted(((str(c), scores.get(c)) for c in names), key=rank)


def _facts(alert: Alert) -> list[tuple[str, str]]:
    """(label, untrusted raw value) pairs, escaped by the caller for where they go."""
    post = alert.post
    return [
        ("Categories", ", ".join(f"{c} {_score(s)}" for c, s in _categories(alert)) or "flagged post"),
        ("Severity", why_severity(alert.classification)),
        ("Platform", str(post.get("platform", ""))),
        ("Account", account_label(post.get("account", ""), alert.account_display_name)),
        ("Subject", subject_text(alert.subject)),
        ("Author", str(post.get("author", ""))),
        ("Force / team", f"{alert.force} / {alert.team}"),
        ("Authorisation", alert.authorisation_ref),
        ("Posted at", local_and_utc(post.get("created_at", ""))),
        ("Collected at", local_and_utc(post.get("collected_at", ""))),
    ]


def _why_lines(alert: Alert) -> list[str]:
    """Plain "why flagged" lines (``present.why_flagged``): quoted words and what they are."""
    return why_flagged(alert.classification)


def _no_link(alert: Alert) -> str:
    return NO_REVIEW_LINK.format(alert_id=alert.alert_id)


def _reason_parts(reason: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: str(reason.get(k) or "") for k in ("category", "rule", "term", "text", "effect")}
    # What a person reads: the rule in plain words, and the term only when it is words (a lexicon
    # or context regex is noise to an officer; the quoted span shows the words that matched).
    out["label"], out["plain_term"] = evidence_label(reason)
    for k in ("start", "end"):
        out[k] = reason.get(k) if isinstance(reason.get(k), int) and not isinstance(reason.get(k), bool) else None
    weight = reason.get("weight")
    out["weight"] = float(weight) if isinstance(weight, (int, float)) and not isinstance(weight, bool) else None
    return out


def _links(alert: Alert) -> dict[str, str | None]:
    return {"post": safe_url(alert.post.get("url")), "review": safe_url(alert.review_url)}


def alert_document(alert: Alert, channel: str, *, fallback_reason: str | None = None,
                   sent_at: str = "") -> dict[str, Any]:
    """The webhook's JSON for one alert: every string plain-text-safe (``inert``)."""
    reasons = [_reason_parts(r) for r in alert.classification.get("reasons") or [] if isinstance(r, Mapping)]
    links = _links(alert)
    post = alert.post
    facts = _facts(alert)
    headline = (f"socialhub {alert.severity.upper()} alert: {_inert_line(facts[0][1], 200)} \u00b7 "
                f"{_inert_line(post.get('platform', ''), 30)} {_inert_line(post.get('account', ''), 80)} \u00b7 "
                f"{_inert_line(f'{alert.force} / {alert.team}', 120)}")
    lines = [headline]
    if fallback_reason:
        lines.append(f"Sent here because Slack failed ({_inert_line(fallback_reason, 300)}); meant for "
                     f"{_inert_line(channel, 100)}.")
    lines += [f"{label}: {_inert_line(value)}" for label, value in facts[1:]]
    lines += ["Post text:", inert(post.get("text", ""), TEXT_MAX) or "(no text)", "Why flagged:"]
    why = _why_lines(alert)
    lines += [f"- {_inert_line(w, 400)}" for w in why[:20]] or ["(no evidence spans recorded)"]
    if len(why) > 20:
        lines.append(f"...and {len(why) - 20} more")
    lines += [f"{name.capitalize()} link: {_text_url(url)}" for name, url in links.items() if url]
    if not links["review"]:
        lines.append(_no_link(alert))
    lines.append(f"Alert {alert.alert_id}")
    return {
        "schema": WEBHOOK_SCHEMA,
        "type": "socialhub.alert",
        "key": alert.alert_id,
        "alert_ids": [alert.alert_id],
        "intended_channel": _inert_line(channel, 100),
        "fallback_reason": _inert_line(fallback_reason, 300) if fallback_reason else None,
        "severity": alert.severity,
        "categories": [{"category": _inert_line(c, 80), "score": s if isinstance(s, (int, float)) else None}
                       for c, s in _categories(alert)],
        "force": _inert_line(alert.force, 120),
        "team": _inert_line(alert.team, 120),
        "authorisation_ref": _inert_line(alert.authorisation_ref, 120),
        "post": {
            "platform": _inert_line(post.get("platform", ""), 30),
            "account": _inert_line(post.get("account", ""), 300),
            "display_name": _inert_line(alert.account_display_name, 300),
            "author": _inert_line(post.get("author", ""), 300),
            "created_at": _inert_line(post.get("created_at", ""), 40),
            "collected_at": _inert_line(post.get("collected_at", ""), 40),
            "text": inert(post.get("text", ""), TEXT_MAX),
            "media_count": len(post.get("media") or []),
        },
        "reasons": [{**{k: v for k, v in r.items() if k != "plain_term"},
                     **{k: _inert_line(r[k], 200) for k in ("category", "rule", "term", "text", "effect", "label")}}
                    for r in reasons[:20]],
        "links": links,
        "classifier_version": _inert_line(alert.classification.get("classifier_version", ""), 100),
        "text": "\n".join(lines),
        "sent_at": sent_at,
    }


def _payload_texts(payload: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """(kind, Slack-escaped text) of every text object in a rendered Slack payload, and its button URLs."""
    texts: list[tuple[str, str]] = []
    urls: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "button":
                url = safe_url(node.get("url"))
                if url:
                    urls.append(url)
                return      # the button's label is ours ("Post link"): the URL says it all
            if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
                texts.append((str(node["type"]), node["text"]))
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload.get("blocks") or [])
    if not texts and isinstance(payload.get("text"), str):
        texts.append(("mrkdwn", payload["text"]))
    return texts, urls


def _text_url(url: str) -> str:
    """A ``safe_url`` result inside entity-escaped text: its ``&`` escaped like every other one."""
    return url.replace("&", "&amp;")


def _slack_unescape(text: str) -> str:
    return _SLACK_ENTITY_RE.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text)


def payload_document(payload: Mapping[str, Any], channel: str, *, key: str,
                     record: Mapping[str, Any] | None = None, fallback_reason: str | None = None,
                     sent_at: str = "") -> dict[str, Any]:
    """The webhook's JSON for an already-rendered Slack payload (digest, notice, review message)."""
    texts, urls = _payload_texts(payload)
    # The payload is already escaped for Slack (entities, broadcasts, mrkdwn); plain_text objects
    # were not markdown-defused because Slack never parses them: re-escape all of it as ``inert``.
    lines = [inert(_slack_unescape(t), TEXT_MAX) for _, t in texts]
    ids = sorted(str(i) for i in (record or {}).get("alert_ids") or [] if is_alert_id(i))
    if fallback_reason:
        lines.insert(0, f"Sent here because Slack failed ({_inert_line(fallback_reason, 300)}); meant for "
                        f"{_inert_line(channel, 100)}.")
    lines += [f"Link: {_text_url(u)}" for u in urls]
    kind = "socialhub.digest" if str(key).startswith("digest-") else (
        "socialhub.alert" if is_alert_id(key) else "socialhub.notice")
    return {"schema": WEBHOOK_SCHEMA, "type": kind, "key": key, "alert_ids": ids or ([key] if is_alert_id(key) else []),
            "intended_channel": _inert_line(channel, 100),
            "fallback_reason": _inert_line(fallback_reason, 300) if fallback_reason else None,
            "links": urls, "text": "\n".join(line for line in lines if line), "sent_at": sent_at}


# -- the webhook -------------------------------------------------------------------------------------

class WebhookDeliveryError(AlertDeliveryError):
    """The webhook refused or kept failing. Names the status, never the URL (it may hold a secret)."""

    def __init__(self, message: str, *, status: int | None, retryable: bool, attempts: int,
                 hint: str | None = None) -> None:
        self.status = status
        self.retryable = retryable
        self.attempts = attempts
        self.error: str | None = None      # no API error code: ``status`` says it
        super().__init__(message, hint=hint)


def _public_location(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class WebhookPoster(Protocol):
    """Sends the webhook's POST under a tenacity retry policy; returns the final response (any
    object with ``status_code`` and ``headers``). ``transport_errors``: the exceptions that mean the
    request did not get an answer (they are retried, then re-raised). Inside Airflow this is the
    http provider's ``HttpHook.run_with_advanced_retry`` (``plugins/socialhub_airflow/hooks.py``);
    the default, ``HttpxPoster``, runs the same policy with httpx."""

    transport_errors: tuple[type[BaseException], ...]

    def __call__(self, body: bytes, headers: Mapping[str, str], retry_args: dict[str, Any]) -> Any: ...


class HttpxPoster:
    """``WebhookPoster`` over httpx: ``tenacity.Retrying(**retry_args)`` around one POST."""

    transport_errors: tuple[type[BaseException], ...] = (httpx.TransportError,)

    def __init__(self, url: str, *, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.client = client

    def __call__(self, body: bytes, headers: Mapping[str, str], retry_args: dict[str, Any]) -> Any:
        client = self.client or httpx.Client(timeout=self.timeout, follow_redirects=False)
        try:
            return Retrying(**retry_args)(client.post, self.url, content=body, headers=dict(headers))
        finally:
            if self.client is None:
                client.close()


def _retryable_status(status: int) -> bool:
    return status == 408 or status == 429 or status >= 500


class WebhookSink:
    """POSTs each message as JSON to one URL (a generic incoming webhook: a relay, Teams/Mattermost
    bridge, an incident tool). ``Idempotency-Key`` = the message key (the alert id for an alert), so
    a receiver can drop a repeat. Retries (a tenacity policy, run by ``post``: the http provider's
    ``HttpHook`` inside Airflow, httpx otherwise): 5xx, 408 and network errors with exponential
    backoff, 429 after ``Retry-After`` unless that exceeds ``max_wait``; at most ``max_attempts``
    requests. Other 4xx fail at once. The URL is never logged or put in an error or a ``Delivery``
    beyond its scheme and host (webhook URLs often carry their secret in the path).
    """

    name = "webhook"
    accepts_fallback_reason = True

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10.0,
                 max_attempts: int = 4, max_wait: float = 60.0, backoff: float = 1.0, max_backoff: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, now: Callable[[], datetime] = _utcnow,
                 client: httpx.Client | None = None, post: WebhookPoster | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the webhook URL must be an absolute http(s) URL")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.now = now
        self.post: WebhookPoster = post or HttpxPoster(url, timeout=timeout, client=client)
        self.location = f"webhook:{_public_location(url)}"

    def __repr__(self) -> str:
        return f"WebhookSink({self.location!r})"

    def send(self, alert: Alert, channel: str, *, fallback_reason: str | None = None) -> Delivery:
        sent_at = utc_iso(self.now())
        return self._post(alert_document(alert, channel, fallback_reason=fallback_reason, sent_at=sent_at),
                          channel, key=alert.alert_id, sent_at=sent_at)

    def send_payload(self, payload: Mapping[str, Any], channel: str, *, key: str,
                     record: Mapping[str, Any] | None = None, fallback_reason: str | None = None) -> Delivery:
        sent_at = utc_iso(self.now())
        return self._post(payload_document(payload, channel, key=key, record=record,
                                           fallback_reason=fallback_reason, sent_at=sent_at),
                          channel, key=key, sent_at=sent_at)

    def send_text(self, channel: str, text: str, *, fallback_reason: str | None = None) -> Delivery:
        sent_at = utc_iso(self.now())
        clean = redact(str(text))
        key = notice_key(channel, clean, sent_at)
        return self._post(payload_document({"text": clean, "blocks": []}, channel, key=key,
                                           fallback_reason=fallback_reason, sent_at=sent_at),
                          channel, key=key, sent_at=sent_at)

    def retry_args(self, key: str, attempts: list[int]) -> dict[str, Any]:
        """The tenacity policy (``Retrying`` keyword arguments) for one message; ``attempts[0]``
        counts the requests made."""
        transport = self.post.transport_errors

        def retry_after(response: Any) -> float:
            value = _retry_after(response.headers)
            return value if value is not None else self.backoff

        def should_retry(state: RetryCallState) -> bool:
            outcome = state.outcome
            if outcome is None:
                return False
            if outcome.failed:
                return isinstance(outcome.exception(), transport)
            status = outcome.result().status_code
            if status == 429:
                return retry_after(outcome.result()) <= self.max_wait
            return _retryable_status(status)

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            if outcome is not None and not outcome.failed and outcome.result().status_code == 429:
                return retry_after(outcome.result())
            return min(self.max_backoff, self.backoff * (2 ** (state.attempt_number - 1)))

        def before(state: RetryCallState) -> None:
            attempts[0] = state.attempt_number

        def before_sleep(state: RetryCallState) -> None:
            outcome = state.outcome
            if outcome is not None and not outcome.failed and outcome.result().status_code == 429:
                log.warning("webhook %s rate-limited %s; waiting %.1fs as Retry-After says", self.location, key,
                            state.upcoming_sleep)
                return
            what = (type(outcome.exception()).__name__ if outcome is not None and outcome.failed
                    else outcome.result().status_code if outcome is not None else "?")
            log.warning("webhook %s answered %s for %s; retry in %.1fs", self.location, what, key,
                        state.upcoming_sleep)

        return {"retry": should_retry, "wait": wait, "stop": stop_after_attempt(self.max_attempts),
                "sleep": self.sleep, "before": before, "before_sleep": before_sleep, "reraise": True,
                "retry_error_callback": lambda state: state.outcome.result() if state.outcome else None}

    def _post(self, document: Mapping[str, Any], channel: str, *, key: str, sent_at: str) -> Delivery:
        body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {**self.headers, "Content-Type": "application/json; charset=utf-8",
                   "Idempotency-Key": key, "User-Agent": "socialhub-alerts/1"}
        attempts = [0]
        try:
            response = self.post(body, headers, self.retry_args(key, attempts))
        except self.post.transport_errors as exc:     # connection refused, timeouts, resets
            raise WebhookDeliveryError(f"webhook {self.location} kept failing for {key}: connection failed "
                                       f"({type(exc).__name__}) after {attempts[0]} attempt(s)", status=None,
                                       retryable=True, attempts=attempts[0],
                                       hint="the webhook receiver is down or overloaded") from None
        status = int(response.status_code)
        if 200 <= status < 300:
            return Delivery(sink="webhook", channel=channel, message_id=key, location=self.location,
                            sent_at=sent_at, key=key, attempts=attempts[0])
        wait = _retry_after(response.headers) if status == 429 else None
        if wait is not None and wait > self.max_wait:
            raise WebhookDeliveryError(f"webhook {self.location} rate-limited {key} for {wait:.0f}s "
                                       f"(> max_wait {self.max_wait:.0f}s)", status=429, retryable=True,
                                       attempts=attempts[0], hint="retry the task after the rate-limit window")
        if _retryable_status(status):
            raise WebhookDeliveryError(f"webhook {self.location} kept failing for {key}: HTTP {status} after "
                                       f"{attempts[0]} attempt(s)", status=status, retryable=True,
                                       attempts=attempts[0], hint="the webhook receiver is down or overloaded")
        hint = ("the webhook connection's URL or credentials are wrong" if status in (401, 403, 404)
                else "the webhook receiver refused the message")
        raise WebhookDeliveryError(f"webhook {self.location} refused {key}: HTTP {status}", status=status,
                                   retryable=False, attempts=attempts[0], hint=hint)


# -- email -----------------------------------------------------------------------------------------

class EmailSender(Protocol):
    """Sends one email; raises on failure. The Airflow adapter wraps the smtp provider's SmtpHook."""

    def __call__(self, *, subject: str, html: str, text: str, to: Sequence[str],
                 headers: Mapping[str, str]) -> Any: ...


_HTML_HEAD = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
              "<title>socialhub alert</title></head><body style=\"font-family:sans-serif\">")


def _h(text: object, limit: int = 300) -> str:
    """Untrusted text for HTML: neutralised (invisible/bidi characters, broadcasts), cut, escaped."""
    clean = neutralise(str(text)[: limit * 2 + 64])
    if len(clean) > limit:
        clean = clean[:limit].rstrip() + "\u2026(truncated)"
    return html.escape(clean, quote=True)


def _t(text: object, limit: int = 300) -> str:
    """Untrusted text for the plain-text part: neutralised and cut (no markup exists there)."""
    clean = neutralise(str(text)[: limit * 2 + 64])
    return clean[:limit].rstrip() + "\u2026(truncated)" if len(clean) > limit else clean


def _subject(text: str) -> str:
    """One header line: no CR/LF (no header injection), no control or invisible characters."""
    line = _one_line(neutralise(text))
    return line[: SUBJECT_MAX - 1].rstrip() + "\u2026" if len(line) > SUBJECT_MAX else line


def _link(url: str | None, label: str) -> str:
    if not url:
        return ""
    return f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer">{html.escape(label)}</a>'


def render_alert_email(alert: Alert, channel: str, *, fallback_reason: str | None = None) -> tuple[str, str, str]:
    """(subject, html, text) of one alert: our words plus escaped, neutralised post fields."""
    facts = _facts(alert)
    post = alert.post
    cats = _one_line(facts[0][1])
    subject = _subject(f"[socialhub] {alert.severity.upper()} alert: {cats} \u00b7 {post.get('platform', '')} "
                       f"{post.get('account', '')} \u00b7 {alert.force} / {alert.team}")
    links = _links(alert)
    why = (f"Sent by email because Slack failed ({fallback_reason}); it was meant for Slack channel {channel}."
           if fallback_reason else f"Meant for Slack channel {channel}.")
    body = [_HTML_HEAD, f"<h2>{_h(subject, SUBJECT_MAX)}</h2>", f"<p><em>{_h(why, 500)}</em></p>", "<table>"]
    body += [f"<tr><th align=\"left\">{html.escape(label)}</th><td>{_h(value)}</td></tr>" for label, value in facts]
    body += ["</table>", "<h3>Post text</h3>",
             f"<pre style=\"white-space:pre-wrap\">{_h(post.get('text', ''), TEXT_MAX) or '(no text)'}</pre>",
             "<h3>Why flagged</h3>", "<ul>"]
    why_lines = _why_lines(alert)
    body += [f"<li>{_h(w, 400)}</li>" for w in why_lines[:20]] or ["<li>(no evidence spans recorded)</li>"]
    body.append("</ul>")
    anchors = " \u00b7 ".join(a for a in (_link(links["post"], "Open the post"), _link(links["review"], "Review"))
                              if a)
    if anchors:
        body.append(f"<p>{anchors}</p>")
    if not links["review"]:
        body.append(f"<p>{html.escape(_no_link(alert))}</p>")
    body.append(f"<p><small>Alert {html.escape(alert.alert_id)} \u00b7 classifier "
                f"{_h(alert.classification.get('classifier_version', ''), 100)}</small></p></body></html>")
    text = [subject, why, ""] + [f"{label}: {_t(_one_line(value))}" for label, value in facts] + [
        "", "Post text:", _t(post.get("text", ""), TEXT_MAX) or "(no text)", "", "Why flagged:"]
    text += [f"- {_t(_one_line(w), 400)}" for w in why_lines[:20]] or ["(no evidence spans recorded)"]
    text += [f"{name.capitalize()} link: {url}" for name, url in links.items() if url]
    if not links["review"]:
        text.append(_no_link(alert))
    text.append(f"Alert {alert.alert_id}")
    return subject, "\n".join(body), "\n".join(text)


def render_payload_email(payload: Mapping[str, Any], channel: str, *, key: str,
                         fallback_reason: str | None = None) -> tuple[str, str, str]:
    """(subject, html, text) of an already-rendered Slack payload (digest, notice, review message)."""
    texts, urls = _payload_texts(payload)
    plain = [_slack_unescape(t) for _, t in texts]       # back to the neutralised text, then HTML-escaped
    first = _one_line(_slack_unescape(str(payload.get("text") or (plain[0] if plain else "socialhub message"))))
    subject = _subject(f"[socialhub] {first}")
    why = (f"Sent by email because Slack failed ({fallback_reason}); it was meant for Slack channel {channel}."
           if fallback_reason else f"Meant for Slack channel {channel}.")
    body = [_HTML_HEAD, f"<p><em>{_h(why, 500)}</em></p>"]
    body += [f"<p style=\"white-space:pre-wrap\">{_h(t, TEXT_MAX)}</p>" for t in plain]
    body += [f"<p>{_link(u, u)}</p>" for u in urls]
    body.append(f"<p><small>{html.escape(key)}</small></p></body></html>")
    text = [why, ""] + [_t(t, TEXT_MAX) for t in plain] + urls + [key]
    return subject, "\n".join(body), "\n".join(text)


class EmailSink:
    """Emails each message to fixed recipients through an injected ``send`` (see ``EmailSender``).

    ``Message-ID`` is derived from the message key (``<key.hash@socialhub.invalid>``) and
    ``X-Socialhub-Key`` carries the key, so a repeat after a crash is recognisably the same message.
    A failing ``send`` is tried ``max_attempts`` times in all with backoff (tenacity), then
    ``EmailDeliveryError``. Inside Airflow the sender is the smtp provider's ``SmtpHook``, which
    retries by itself (the Connection's extra ``retry_limit``), so the Airflow adapter makes one
    attempt here.
    """

    name = "email"
    accepts_fallback_reason = True

    def __init__(self, send: EmailSender, to: Sequence[str] | str, *, max_attempts: int = 3, backoff: float = 2.0,
                 max_backoff: float = 30.0, sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], datetime] = _utcnow) -> None:
        recipients = parse_recipients(to)
        if not recipients:
            raise ValueError("EmailSink needs at least one recipient")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._send = send
        self.to = recipients
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.now = now
        self.location = "email:" + ",".join(recipients)

    def send(self, alert: Alert, channel: str, *, fallback_reason: str | None = None) -> Delivery:
        subject, body, text = render_alert_email(alert, channel, fallback_reason=fallback_reason)
        return self._deliver(subject, body, text, channel, key=alert.alert_id)

    def send_payload(self, payload: Mapping[str, Any], channel: str, *, key: str,
                     record: Mapping[str, Any] | None = None, fallback_reason: str | None = None) -> Delivery:
        subject, body, text = render_payload_email(payload, channel, key=key, fallback_reason=fallback_reason)
        return self._deliver(subject, body, text, channel, key=key)

    def send_text(self, channel: str, text: str, *, fallback_reason: str | None = None) -> Delivery:
        clean = redact(str(text))
        key = notice_key(channel, clean, utc_iso(self.now()))
        subject, body, plain = render_payload_email({"text": clean, "blocks": []}, channel, key=key,
                                                    fallback_reason=fallback_reason)
        return self._deliver(subject, body, plain, channel, key=key)

    def _deliver(self, subject: str, body: str, text: str, channel: str, *, key: str) -> Delivery:
        digest = hashlib.sha256(f"{key}\n{channel}".encode()).hexdigest()[:12]
        message_id = f"<{key}.{digest}@socialhub.invalid>"
        headers = {"Message-ID": message_id, "X-Socialhub-Key": key}
        attempts = [0]

        def once() -> None:
            attempts[0] += 1
            self._send(subject=subject, html=body, text=text, to=list(self.to), headers=headers)

        def before_sleep(state: RetryCallState) -> None:
            log.warning("email for %s failed (%s); retry in %.1fs", key, _email_failure(state.outcome),
                        state.upcoming_sleep)

        try:
            Retrying(stop=stop_after_attempt(self.max_attempts), sleep=self.sleep, reraise=True,
                     wait=wait_exponential(multiplier=self.backoff, max=self.max_backoff),
                     before_sleep=before_sleep)(once)
        except Exception as exc:  # noqa: BLE001 - any transport error
            failure = f"{type(exc).__name__}: {_one_line(redact(str(exc)))[:200]}"
            raise EmailDeliveryError(f"email to {len(self.to)} recipient(s) failed for {key} after {attempts[0]} "
                                     f"attempt(s): {failure}", attempts=attempts[0]) from None
        return Delivery(sink="email", channel=channel, message_id=message_id, location=self.location,
                        sent_at=utc_iso(self.now()), key=key, attempts=attempts[0])


def _email_failure(outcome: Any) -> str:
    exc = outcome.exception() if outcome is not None else None
    return f"{type(exc).__name__}: {_one_line(redact(str(exc)))[:200]}" if exc else "?"


class EmailDeliveryError(AlertDeliveryError):
    hint = "check the SMTP connection (host, port, TLS, login) and the recipients"

    def __init__(self, message: str, *, attempts: int) -> None:
        self.attempts = attempts
        self.retryable = True
        super().__init__(message)


def parse_recipients(value: Sequence[str] | str | None) -> list[str]:
    """Addresses from a list or a comma/semicolon-separated string; anything not address-shaped is refused."""
    if value is None:
        return []
    items = re.split(r"[,;\s]+", value) if isinstance(value, str) else [str(v).strip() for v in value]
    out = [i.strip() for i in items if i and i.strip()]
    bad = [i for i in out if not _EMAIL_RE.match(i)]
    if bad:
        raise ValueError(f"not an email address: {bad[0]!r}")
    return list(dict.fromkeys(out))
