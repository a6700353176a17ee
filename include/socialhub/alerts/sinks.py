"""Where rendered alerts go: Slack, or a local outbox folder when Slack is not configured.

Both sinks implement ``AlertSink.send(alert, channel) -> Delivery`` so the pipeline does not
care which it has; the ``Delivery`` is what the lead's ledger records to avoid re-sending.

Delivery semantics are *at least once*: a request that reached Slack but whose response was
lost (timeout, 5xx after the write) is retried and may show twice. For a monitoring hub a
duplicate is a nuisance and a lost alert is a failure, so duplicates are the side we err on;
the ledger keyed on ``alert_id`` prevents re-sends across task runs.

Every Slack message carries message metadata (``event_type`` ``socialhub_alert``, the message
key and the alert ids it covers), so ``SlackSink.find_delivery`` can find an alert that reached
Slack before a crash stopped the ledger from recording it (``conversations.history``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from socialhub.alerts.blocks import DigestPart, _fit, render_alert, render_digest_parts
from socialhub.alerts.model import Alert, is_alert_id
from socialhub.errors import AlertDeliveryError
from socialhub.models import utc_iso

log = logging.getLogger(__name__)

#: Slack errors that mean "try again later" even with HTTP 200 (documented as transient).
TRANSIENT_SLACK_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                                    "request_timeout"})
#: Errors a retry cannot fix because the Slack connection itself is wrong.
AUTH_SLACK_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                               "token_expired", "no_permission", "missing_scope", "not_allowed_token_type"})
#: Errors a retry cannot fix because the channel in routing.yaml is wrong or unusable.
CHANNEL_SLACK_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived",
                                  "restricted_action", "cannot_reply_to_message"})
#: Errors that mean "this message can never be posted as it is": a renderer bug, not an outage.
FORMAT_SLACK_ERRORS = frozenset({"invalid_blocks", "msg_too_long", "msg_blocks_too_long", "invalid_arguments",
                                 "no_text", "invalid_metadata_format", "invalid_metadata_schema"})
#: Errors reading a channel's history that mean "cannot look", not "not there": the bot lacks
#: ``channels:history``/``groups:history``/``channels:read`` or is not in the channel.
HISTORY_UNAVAILABLE_ERRORS = frozenset({"missing_scope", "no_permission", "not_in_channel", "channel_not_found",
                                        "not_allowed_token_type", "restricted_action"})
#: ``event_type`` of the message metadata on every message socialhub posts.
METADATA_EVENT_TYPE = "socialhub_alert"
_CHANNEL_ID_RE = re.compile(r"[CGD][A-Z0-9]{8,}")

_KEY_RE = re.compile(r"(digest-|notice-)?[0-9a-f]{24}")
#: Credentials that could appear in an exception message sent with ``send_text``.
_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"xox[a-z]-[A-Za-z0-9-]+"), "[redacted]"),                                # Slack tokens
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),      # auth headers
    (re.compile(r"(?i)\b(access_token|token|api_key|apikey|key|secret|password|passwd|signature|sig)"
                r"=[^&\s\"']+"), r"\1=[redacted]"),                                      # query strings
    (re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"), "[redacted]"),                      # user:pass@host
)
#: Longest operational notice (Slack allows 40k; a failure notice needs far less).
TEXT_MAX = 3000


def redact(text: str) -> str:
    """Mask credentials in free text (exception messages) before it leaves the process.

    Airflow masks its connections' secrets in task logs, but a Slack message is not a log:
    an exception that quotes a request URL or header must not post a token to a channel.
    """
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def notice_payload(text: str) -> dict[str, Any]:
    """A plain operational message (no blocks): redacted, neutralised, escaped, cut to ``TEXT_MAX``."""
    return {"text": _fit(redact(str(text)), TEXT_MAX, mrkdwn=True, empty="(empty notice)"), "blocks": []}


def notice_key(channel: str, text: str, sent_at: str) -> str:
    return "notice-" + hashlib.sha256(f"{sent_at}\n{channel}\n{text}".encode()).hexdigest()[:24]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True, frozen=True)
class Delivery:
    """Proof that one message left: where, when, and the id to find it again.

    ``message_id`` is Slack's ``ts`` (with ``location`` = ``slack:<channel id>/<ts>``) or, for
    the outbox, the file's key (with ``location`` = the file path). A fallback delivery
    (``socialhub.alerts.fallback``) has ``sink`` ``webhook`` or ``email``, ``channel`` = the Slack
    channel it was meant for, and ``fallback_reason`` = why Slack was not used.
    """

    sink: Literal["slack", "outbox", "webhook", "email"]
    channel: str
    message_id: str
    location: str
    sent_at: str
    key: str
    attempts: int = 1
    fallback_reason: str | None = None

    @property
    def ts(self) -> str:
        """Slack's name for the message id."""
        return self.message_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class AlertSink(Protocol):
    """Anything that can deliver one alert to a channel."""

    def send(self, alert: Alert, channel: str) -> Delivery: ...


@runtime_checkable
class PayloadSink(Protocol):
    """A sink that can also deliver an already-rendered payload (used for digests)."""

    def send_payload(self, payload: Mapping[str, Any], channel: str, *, key: str,
                     record: Mapping[str, Any] | None = None) -> Delivery: ...


class SlackDeliveryError(AlertDeliveryError):
    """Slack refused or kept failing. ``retryable`` says whether a later attempt may succeed.

    The message names the API error code, HTTP status and channel, never the token, and the
    slack_sdk exception is not chained (its request arguments include the Authorization header).
    """

    def __init__(self, message: str, *, error: str | None, status: int | None, retryable: bool,
                 attempts: int, channel: str, hint: str | None = None) -> None:
        self.error = error
        self.status = status
        self.retryable = retryable
        self.attempts = attempts
        self.channel = channel
        super().__init__(message, hint=hint)


def _retry_after(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    for name, value in (headers or {}).items():
        if str(name).lower() == "retry-after":
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return default
    return default


class SlackSink:
    """Posts alerts with ``chat.postMessage`` and owns the retry policy.

    Retries are done here rather than with slack_sdk's ``RateLimitErrorRetryHandler`` because
    that handler sleeps with ``time.sleep`` for as long as Slack says, with no cap and no way
    to test it; give this sink a ``WebClient`` with the default retry handlers (connection
    errors only). Policy:

    * HTTP 429 / ``ratelimited``: sleep ``Retry-After`` seconds, unless that exceeds
      ``max_wait``, in which case fail at once with a retryable error (the task retries later
      instead of holding a worker slot);
    * HTTP 5xx, transient Slack errors and network errors: exponential backoff
      (``backoff * 2**n`` capped at ``max_backoff``);
    * anything else (``invalid_auth``, ``channel_not_found``, ``invalid_blocks``…): fail at once,
      because repeating a request Slack has judged wrong only burns the rate limit;
    * at most ``max_attempts`` requests in all.

    Every message carries metadata (``socialhub_alert``: its key and the alert ids it covers);
    ``find_delivery`` reads the channel's recent history (``conversations.history`` with
    ``include_all_metadata``, at most ``history_max_messages`` messages, same retry policy) for
    it. That needs the ``channels:history``/``groups:history`` and ``channels:read``/``groups:read``
    scopes (``channels:read`` only to turn a ``#name`` in routing.yaml into a channel id); without
    them the lookup logs a warning and answers "not found", i.e. at-least-once as before.
    """

    name = "slack"

    def __init__(self, client: WebClient, *, max_attempts: int = 5, max_wait: float = 60.0,
                 backoff: float = 1.0, max_backoff: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], datetime] = _utcnow, history_max_messages: int = 1000,
                 history_page: int = 200) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.client = client
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.now = now
        self.history_max_messages = history_max_messages
        self.history_page = max(1, min(history_page, 999))
        self._channel_ids: dict[str, str] = {}

    def check(self) -> dict[str, Any]:
        """``auth.test``: which workspace and bot the token belongs to (for a health check)."""
        failure: tuple[int, str | None] | None = None
        try:
            response = self.client.auth_test()
        except SlackApiError as exc:
            failure = (exc.response.status_code, _error_code(exc))
        if failure is not None:
            status, error = failure
            raise SlackDeliveryError(f"Slack auth.test failed: {error or f'HTTP {status}'}", error=error,
                                     status=status, retryable=False, attempts=1, channel="")
        data = response.data if isinstance(response.data, dict) else {}
        return {k: data.get(k) for k in ("url", "team", "team_id", "user", "user_id", "bot_id")}

    def send(self, alert: Alert, channel: str) -> Delivery:
        return self.send_payload(render_alert(alert), channel, key=alert.alert_id)

    def send_text(self, channel: str, text: str) -> Delivery:
        """Post an operational notice (e.g. a task failure), redacted and escaped, no blocks."""
        payload = notice_payload(text)
        return self.send_payload(payload, channel, key=notice_key(channel, payload["text"], utc_iso(self.now())))

    def send_payload(self, payload: Mapping[str, Any], channel: str, *, key: str,
                     record: Mapping[str, Any] | None = None) -> Delivery:
        """Post a rendered payload; ``key`` (and ``record["alert_ids"]``) go into the message metadata."""
        response, attempt = self._call(
            lambda: self.client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=list(payload["blocks"]) or None,
                # An unfurl would make Slack fetch the post (and its media) and show a preview:
                # it tells the platform someone looked, and can put graphic images in the channel.
                unfurl_links=False,
                unfurl_media=False,
                # Never turn "@name" or "#name" in the fallback text into mentions.
                link_names=False,
                parse="none",
                metadata=message_metadata(key, record),
            ),
            subject=f"alert {key}", where=f"to {channel!r}", channel=channel)
        data = response.data if isinstance(response.data, dict) else {}
        ts = str(data.get("ts", ""))
        slack_channel = str(data.get("channel", channel))
        if _CHANNEL_ID_RE.fullmatch(slack_channel):
            self._channel_ids[channel] = slack_channel
        return Delivery(sink="slack", channel=channel, message_id=ts,
                        location=f"slack:{slack_channel}/{ts}", sent_at=utc_iso(self.now()),
                        key=key, attempts=attempt)

    # -- finding a message that was posted but not recorded ------------------------------------
    def find_delivery(self, alert: Alert, channel: str) -> Delivery | None:
        """The earlier message about ``alert`` in ``channel`` (alone or in a digest), if Slack has it.

        Used by the alert stage when an intent exists without a ledger entry (a crash between
        ``chat.postMessage`` and the ledger write): finding it means the alert is recorded, not
        posted again. Reads at most ``history_max_messages`` of the channel's newest messages.
        Raises ``SlackDeliveryError`` if Slack cannot be read (so a caller can decide); answers
        ``None`` if the bot may not read the channel (warning logged).
        """
        if not is_alert_id(alert.alert_id):
            return None
        try:
            channel_id = self._channel_id(channel)
            if channel_id is None:
                return None
            return self._search_history(channel, channel_id, partial(message_covers, alert_id=alert.alert_id),
                                        f"alert {alert.alert_id}")
        except SlackDeliveryError as exc:
            if exc.error in HISTORY_UNAVAILABLE_ERRORS:
                log.warning("cannot read the history of Slack channel %s to look for alert %s (%s): treating "
                            "it as not delivered; give the app channels:history, groups:history and "
                            "channels:read", channel, alert.alert_id, exc.error)
                return None
            raise

    def find_payload(self, key: str, channel: str) -> Delivery | None:
        """The earlier top-level message posted with ``key`` (``send_payload``) in ``channel``, if
        Slack has it: how a retried review step finds the escalation it posted before a crash.
        (Thread replies are not in the channel's history: for those this answers ``None``.)"""
        if not _KEY_RE.fullmatch(key or ""):
            return None
        try:
            channel_id = self._channel_id(channel)
            if channel_id is None:
                return None
            return self._search_history(channel, channel_id, partial(message_has_key, key=key), f"message {key}")
        except SlackDeliveryError as exc:
            if exc.error in HISTORY_UNAVAILABLE_ERRORS:
                log.warning("cannot read the history of Slack channel %s to look for message %s (%s): treating "
                            "it as not delivered", channel, key, exc.error)
                return None
            raise

    def _channel_id(self, channel: str) -> str | None:
        """Slack's id for a ``#name`` from routing.yaml (``conversations.history`` takes ids only)."""
        if _CHANNEL_ID_RE.fullmatch(channel):
            return channel
        if channel in self._channel_ids:
            return self._channel_ids[channel]
        name = channel[1:] if channel.startswith("#") else channel
        cursor: str | None = None
        for _page in range(100):
            kwargs: dict[str, Any] = {"types": "public_channel,private_channel", "exclude_archived": True,
                                      "limit": 200}
            if cursor:
                kwargs["cursor"] = cursor
            response, _ = self._call(partial(self.client.conversations_list, **kwargs),
                                     subject="channel list", where=f"looking for {channel!r}", channel=channel,
                                     doing="reading")
            data = response.data if isinstance(response.data, dict) else {}
            for entry in data.get("channels") or []:
                if isinstance(entry, dict) and entry.get("name") == name and entry.get("id"):
                    self._channel_ids[channel] = str(entry["id"])
                    return self._channel_ids[channel]
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        log.warning("Slack channel %s is not in conversations.list: cannot look for earlier messages there",
                    channel)
        return None

    def _search_history(self, channel: str, channel_id: str, match: Callable[[Mapping[str, Any]], str | None],
                        what: str) -> Delivery | None:
        cursor: str | None = None
        seen = 0
        while seen < self.history_max_messages:
            kwargs: dict[str, Any] = {"channel": channel_id, "include_all_metadata": True,
                                      "limit": min(self.history_page, self.history_max_messages - seen)}
            if cursor:
                kwargs["cursor"] = cursor
            response, _ = self._call(partial(self.client.conversations_history, **kwargs),
                                     subject=f"history of {channel!r}", where=f"looking for {what}",
                                     channel=channel, doing="reading")
            data = response.data if isinstance(response.data, dict) else {}
            messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
            for message in messages:
                key = match(message)
                if key:
                    ts = str(message.get("ts", ""))
                    log.info("%s was already posted to %s (ts %s) before a crash: recorded, not re-sent",
                             what, channel, ts)
                    return Delivery(sink="slack", channel=channel, message_id=ts,
                                    location=f"slack:{channel_id}/{ts}", sent_at=_ts_iso(ts), key=key)
            seen += len(messages)
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not messages or not data.get("has_more") or not cursor:
                return None
        log.warning("%s not found in the newest %d messages of %s: treating it as not delivered",
                    what, seen, channel)
        return None

    # -- one API call with the retry policy --------------------------------------------------
    def _call(self, call: Callable[[], Any], *, subject: str, where: str, channel: str,
              doing: str = "posting") -> tuple[Any, int]:
        """``call()`` with the retry policy; returns its response and the number of attempts."""
        attempt = 0
        while True:
            attempt += 1
            # Failures are classified *after* the except blocks so that a SlackDeliveryError is
            # never raised while a slack_sdk exception is being handled: that exception would
            # become its __context__, and its request carries the Authorization header.
            status: int | None = None
            error: str | None = None
            headers: Mapping[str, Any] = {}
            failure: str | None = None
            try:
                response = call()
            except SlackApiError as exc:
                failure = "api"
                status, error = exc.response.status_code, _error_code(exc)
                headers = dict(exc.response.headers or {})
            except SlackClientError as exc:
                # SlackRequestError etc.: the client is misconfigured (bad base_url, proxy).
                failure = f"client:{type(exc).__name__}"
            except OSError as exc:          # URLError, timeouts, connection resets
                failure = f"network:{type(exc).__name__}"
            else:
                return response, attempt

            if failure.startswith("client:"):
                raise SlackDeliveryError(f"Slack client error {doing} {subject} {where}: "
                                         f"{failure[len('client:'):]}", error=None, status=None, retryable=False,
                                         attempts=attempt, channel=channel,
                                         hint="check the Slack connection's base_url and proxy")
            if failure == "api":
                wait = self._wait_for(status or 0, error, headers, attempt, channel, subject, where)
            else:
                wait = self._backoff(attempt)
                log.warning("Slack unreachable %s %s %s (%s); retry in %.1fs", doing, subject, where, failure, wait)
            if attempt >= self.max_attempts:
                what = error or (f"HTTP {status}" if status else "connection failed")
                raise SlackDeliveryError(
                    f"Slack kept failing {doing} {subject} {where}: {what} after {attempt} attempt(s)",
                    error=error, status=status, retryable=True, attempts=attempt, channel=channel,
                    hint="Slack is degraded or rate-limiting: the alert was not sent; retry the task later")
            self.sleep(wait)

    def _wait_for(self, status: int, error: str | None, headers: Mapping[str, Any] | None,
                  attempt: int, channel: str, subject: str, where: str) -> float:
        """Seconds to wait before retrying, or raise if this failure must not be retried."""
        if status == 429 or error == "ratelimited":
            wait = _retry_after(headers)
            if wait > self.max_wait:
                raise SlackDeliveryError(
                    f"Slack rate-limited {subject} {where} for {wait:.0f}s (> max_wait {self.max_wait:.0f}s)",
                    error=error or "ratelimited", status=status, retryable=True, attempts=attempt,
                    channel=channel, hint="retry the task after the rate-limit window")
            log.warning("Slack rate-limited %s %s; waiting %.1fs as Retry-After says", subject, where, wait)
            return wait
        if status >= 500 or error in TRANSIENT_SLACK_ERRORS:
            wait = self._backoff(attempt)
            log.warning("Slack answered %s for %s %s; retry in %.1fs", error or status, subject, where, wait)
            return wait
        hint = None
        if error in AUTH_SLACK_ERRORS:
            hint = "the Slack connection's token is wrong, revoked or lacks chat:write: fix the Airflow Connection"
        elif error in CHANNEL_SLACK_ERRORS:
            hint = "the channel does not exist or the app is not in it: fix routing.yaml or invite the app"
        elif error in FORMAT_SLACK_ERRORS:
            hint = "Slack rejected the message format: this is a renderer bug, the alert is kept for the outbox"
        raise SlackDeliveryError(
            f"Slack refused {subject} {where}: {error or 'HTTP ' + str(status)}",
            error=error, status=status, retryable=False, attempts=attempt, channel=channel, hint=hint)

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))


def message_metadata(key: str, record: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Slack message metadata for a socialhub message: its key and the alert ids it covers.

    Values are strings only (Slack's metadata payload allows scalars and objects); ids are our own
    hex ids, never post text, so nothing untrusted reaches the metadata.
    """
    ids = [str(i) for i in (record or {}).get("alert_ids") or [] if is_alert_id(i)]
    if not ids and is_alert_id(key):
        ids = [key]
    payload: dict[str, Any] = {"key": key if _KEY_RE.fullmatch(key or "") else "other"}
    if ids:
        payload["alert_ids"] = ",".join(sorted(set(ids)))
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": payload}


def message_covers(message: Mapping[str, Any], alert_id: str) -> str | None:
    """The key of a Slack message (from ``conversations.history``) if it delivered ``alert_id``.

    Decided by our metadata; a bot message without any (posted before metadata was added) counts
    if one of its buttons carries the alert id as its value (the alert's own buttons and a
    digest's item buttons do; review replies live in threads, which the history does not list).
    """
    metadata = message.get("metadata")
    if isinstance(metadata, dict) and metadata.get("event_type") == METADATA_EVENT_TYPE:
        payload = metadata.get("event_payload") or {}
        ids = str(payload.get("alert_ids") or "").split(",") if isinstance(payload, dict) else []
        if alert_id in ids:
            key = str(payload.get("key") or "")
            return key if _KEY_RE.fullmatch(key) else alert_id
        return None
    if not message.get("bot_id"):
        return None
    for block in message.get("blocks") or []:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or []) + [block.get("accessory")]
        if any(isinstance(el, dict) and el.get("type") == "button" and el.get("value") == alert_id
               for el in elements):
            return alert_id
    return None


def message_has_key(message: Mapping[str, Any], key: str) -> str | None:
    """``key`` if this Slack message's socialhub metadata names it as its key."""
    metadata = message.get("metadata")
    if isinstance(metadata, dict) and metadata.get("event_type") == METADATA_EVENT_TYPE:
        payload = metadata.get("event_payload") or {}
        if isinstance(payload, dict) and payload.get("key") == key:
            return key
    return None


def _ts_iso(ts: str) -> str:
    try:
        return utc_iso(datetime.fromtimestamp(float(ts), UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _error_code(exc: SlackApiError) -> str | None:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return None


class OutboxSink:
    """Writes each alert to ``<directory>/<alert_id>.json`` and indexes it in ``outbox.jsonl``.

    Used where Slack is not configured (local runs, demos, a Slack outage fallback): the files
    hold exactly what would have been posted, so they can be replayed to Slack later. Each file
    is written to a temporary name in the same folder, fsynced and ``os.replace``d, so a reader
    (or a crash) never sees half a file; re-sending the same alert replaces its file. The index
    gets one line per write under an exclusive lock, so concurrent tasks do not interleave lines.
    """

    name = "outbox"
    INDEX = "outbox.jsonl"

    def __init__(self, directory: Path | str, *, now: Callable[[], datetime] = _utcnow) -> None:
        self.directory = Path(directory)
        self.now = now

    def send(self, alert: Alert, channel: str) -> Delivery:
        return self.send_payload(render_alert(alert), channel, key=alert.alert_id,
                                 record={"alert": alert.to_dict(), "severity": alert.severity})

    def send_text(self, channel: str, text: str) -> Delivery:
        """Write an operational notice (e.g. a task failure) as ``notice-<hash>.json``."""
        payload = notice_payload(text)
        return self.send_payload(payload, channel, key=notice_key(channel, payload["text"], utc_iso(self.now())),
                                 record={"kind": "notice"})

    def find_delivery(self, alert: Alert, channel: str) -> Delivery | None:
        """The earlier delivery of ``alert`` to ``channel``, alone or in a digest, if the outbox has it.

        Used by the ledger after a crash between sending and recording: the outbox can answer
        for certain, so the alert is neither sent twice nor skipped.
        """
        own = self.directory / f"{alert.alert_id}.json"
        try:
            document = json.loads(own.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            document = None
        if isinstance(document, dict) and document.get("channel") == channel:
            return Delivery(sink="outbox", channel=channel, message_id=alert.alert_id, location=str(own),
                            sent_at=str(document.get("written_at", "")), key=alert.alert_id)
        try:
            lines = (self.directory / self.INDEX).read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028 is text
        except OSError:
            return None
        for raw in reversed(lines):
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("channel") == channel and alert.alert_id in (line.get("alert_ids") or []):
                path = self.directory / str(line.get("file", ""))
                if _KEY_RE.fullmatch(str(line.get("key", ""))) and path.exists():
                    return Delivery(sink="outbox", channel=channel, message_id=line["key"], location=str(path),
                                    sent_at=str(line.get("written_at", "")), key=line["key"])
        return None

    def find_payload(self, key: str, channel: str) -> Delivery | None:
        """The message written earlier with ``key`` to ``channel``, if its file is there."""
        if not _KEY_RE.fullmatch(key or ""):
            return None
        path = self.directory / f"{key}.json"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict) or document.get("channel") != channel:
            return None
        return Delivery(sink="outbox", channel=channel, message_id=key, location=str(path),
                        sent_at=str(document.get("written_at", "")), key=key)

    def send_payload(self, payload: Mapping[str, Any], channel: str, *, key: str,
                     record: Mapping[str, Any] | None = None) -> Delivery:
        # The key becomes a file name: only our own id shapes are accepted, so an id read back
        # from a tampered file cannot write outside the outbox.
        if not _KEY_RE.fullmatch(key or ""):
            raise AlertDeliveryError(f"refusing outbox key {key!r}: not an alert or digest id")
        sent_at = utc_iso(self.now())
        document = {**dict(record or {}), "key": key, "channel": channel, "written_at": sent_at,
                    "payload": dict(payload)}
        path = self.directory / f"{key}.json"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8"))
            line = {"key": key, "channel": channel, "written_at": sent_at, "file": path.name}
            for name in ("severity", "alert_ids"):
                if name in document:
                    line[name] = document[name]
            _append_line(self.directory / self.INDEX, json.dumps(line, ensure_ascii=False, sort_keys=True))
        except OSError as exc:
            raise AlertDeliveryError(f"cannot write alert {key} to outbox {self.directory}: "
                                     f"{exc.strerror or type(exc).__name__}") from exc
        return Delivery(sink="outbox", channel=channel, message_id=key, location=str(path),
                        sent_at=sent_at, key=key)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, hence best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _append_line(path: Path, line: str) -> None:
    data = (line.replace("\n", " ") + "\n").encode("utf-8")
    with open(path, "ab") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def digest_key(alerts: Sequence[Alert]) -> str:
    """Stable key of a digest message: the same set of alerts always gives the same key."""
    ids = ",".join(sorted(a.alert_id for a in alerts))
    return "digest-" + hashlib.sha256(ids.encode("utf-8")).hexdigest()[:24]


def digest_team(alerts: Sequence[Alert]) -> str:
    """The team a digest names: the alerts' team when they share one."""
    teams = {a.team for a in alerts}
    return teams.pop() if len(teams) == 1 else "several teams"


def send_digest_part(sink: PayloadSink, part: DigestPart, channel: str) -> Delivery:
    """Deliver one message of a digest. Its key is ``digest_key(part.alerts)`` and its metadata
    names exactly the alerts it shows, so the ledger records those and only those against it."""
    return sink.send_payload(part.payload, channel, key=digest_key(part.alerts),
                             record={"alert_ids": sorted(a.alert_id for a in part.alerts)})


def send_digest(sink: PayloadSink, alerts: Sequence[Alert], channel: str, *,
                team: str | None = None) -> list[Delivery]:
    """Deliver many alerts as a digest through ``sink``: one message per part, every alert shown.

    ``team`` defaults to the alerts' team when they share one. Returns one ``Delivery`` per part,
    in order; the alert stage (``alerting.alert_batches``) sends and records part by part instead,
    so that a failure between parts leaves the rest pending.
    """
    alerts = list(alerts)
    if not alerts:
        raise ValueError("send_digest needs at least one alert")
    parts = render_digest_parts(alerts, team if team is not None else digest_team(alerts))
    return [send_digest_part(sink, part, channel) for part in parts]
