"""What the review posts to Slack (or the outbox): the review link, the outcome, an escalation.

Replies go in the alert's own thread (``thread_ts`` = the alert's message ``ts`` from the
ledger) so the on-duty channel reads as one conversation per item. Escalations are a new
message in the route's ``escalation`` channel, with the full alert.

Threading reuses ``SlackSink`` unchanged (its retries, 429 handling and error redaction): the
sink is given a thin client wrapper that adds ``thread_ts`` to ``chat.postMessage``. The outbox
records the thread in the file (``thread_of``) instead. All text is escaped by the same rules
as alerts (``socialhub.alerts.blocks``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from socialhub.alerts.blocks import _button, _fit, _mrkdwn, _plain, render_alert, safe_url
from socialhub.alerts.model import Alert
from socialhub.review.model import Decision, fmt_duration

SECTION_MAX = 3000


def message_key(kind: str, alert_id: str) -> str:
    """Outbox key of a review message: deterministic, so a retry replaces rather than duplicates."""
    return "notice-" + hashlib.sha256(f"review:{kind}:{alert_id}".encode()).hexdigest()[:24]


def _section(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": _plain(_fit(text, SECTION_MAX, empty="—"))}


def review_request_payload(alert: Alert, *, review_url: str | None, response_seconds: int,
                           due_at: str, escalation_channel: str) -> dict[str, Any]:
    minutes = fmt_duration(response_seconds)
    text = (f"Review requested: choose Refer to platform, Escalate, Keep monitoring or No action, with a "
            f"justification. If nobody responds within {minutes} (by {due_at}), it is escalated to "
            f"{escalation_channel} automatically.")
    blocks: list[dict[str, Any]] = [_section("review_request", text)]
    url = safe_url(review_url)
    if url:
        blocks.append({"type": "actions", "block_id": "review_actions",
                       "elements": [_button("Review in Airflow", url, "open_review", alert.alert_id)
                                    | {"style": "primary"}]})
    else:
        blocks.append({"type": "context", "block_id": "review_where", "elements": [
            _plain("No link: no public Airflow address is configured (SOCIALHUB_AIRFLOW_PUBLIC_URL). "
                   "Open Airflow → Browse → Required Actions and search for the alert id "
                   + _fit(alert.alert_id, 64))]})
    fallback = _fit(f"socialhub: review requested for alert {alert.alert_id} (escalates after {minutes})",
                    600, mrkdwn=True)
    return {"text": fallback, "blocks": blocks}


def outcome_payload(alert: Alert, decision: Decision, *, extra: str = "") -> dict[str, Any]:
    """The thread note saying what was decided, by whom, and why."""
    if decision.timed_out:
        head = f"No response within {fmt_duration(decision.response_seconds)}: escalated automatically."
    else:
        head = f"Reviewed by {decision.decided_by}: {decision.option}."
    text = f"{head}\nJustification: {decision.justification}"
    if extra:
        text += f"\n{extra}"
    return {"text": _fit(f"socialhub review of alert {alert.alert_id}: {decision.option}", 600, mrkdwn=True),
            "blocks": [_section("review_outcome", text)]}


def referral_payload(alert: Alert, decision: Decision, *, location: str, files: list[Mapping[str, Any]]
                     ) -> dict[str, Any]:
    names = ", ".join(f"{f.get('name')} ({f.get('size')} B)" for f in files)
    text = (f"Referral package ready (decided by {decision.decided_by} at {decision.responded_at}).\n"
            f"Location: {location}\nFiles: {names}, manifest.json\n"
            "Nothing has been sent to the platform: submit report.html and the files through its trusted-flagger "
            "channel.")
    return {"text": _fit(f"socialhub referral package for alert {alert.alert_id}: {location}", 600, mrkdwn=True),
            "blocks": [_section("referral", text)]}


def escalation_payload(alert: Alert, decision: Decision, *, review_url: str | None = None) -> dict[str, Any]:
    """The full alert, headed by why it is escalated, for the supervisors' channel."""
    if decision.timed_out:
        why = (f"ESCALATED automatically: nobody on {alert.force} / {alert.team} responded within "
               f"{fmt_duration(decision.response_seconds)}.")
    else:
        why = (f"ESCALATED by {decision.decided_by} ({alert.force} / {alert.team}) at {decision.responded_at}.\n"
               f"Justification: {decision.justification}")
    copy = Alert.from_dict({**alert.to_dict(), "review_url": review_url or alert.review_url})
    rendered = render_alert(copy)
    blocks = [{"type": "section", "block_id": "escalation", "text": _mrkdwn(_fit(why, SECTION_MAX, mrkdwn=True))},
              *rendered["blocks"]][:50]
    return {"text": _fit("ESCALATED · ", 20) + rendered["text"], "blocks": blocks}


class _ThreadedClient:
    """A Slack ``WebClient`` stand-in that posts every message into one thread."""

    def __init__(self, client: Any, thread_ts: str) -> None:
        self._client = client
        self._thread_ts = thread_ts

    def chat_postMessage(self, **kwargs: Any) -> Any:  # noqa: N802 - slack_sdk's name
        return self._client.chat_postMessage(thread_ts=self._thread_ts, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def send(sink: Any, payload: Mapping[str, Any], channel: str, *, key: str, thread: tuple[str, str, str] | None = None,
         record: Mapping[str, Any] | None = None) -> Any:
    """Deliver ``payload`` through ``sink``, in the alert's thread when the alert went through this sink.

    ``thread`` is ``(sink name, channel, message id)`` of the alert's message. An alert that went to
    the outbox has no Slack thread: with Slack configured since, the reply is a new message.
    """
    name = getattr(sink, "name", "")
    rec = dict(record or {})
    if thread and thread[0] == name:
        if name == "slack":
            from socialhub.alerts.sinks import SlackSink

            threaded = SlackSink(_ThreadedClient(sink.client, thread[2]),  # type: ignore[arg-type]  # duck-typed WebClient
                                 max_attempts=sink.max_attempts, max_wait=sink.max_wait, backoff=sink.backoff,
                                 max_backoff=sink.max_backoff, sleep=sink.sleep, now=sink.now)
            if hasattr(sink, "rewrap"):    # a FallbackSink: the reply falls back too if Slack fails
                return sink.rewrap(threaded).send_payload(payload, thread[1] or channel, key=key)
            return threaded.send_payload(payload, thread[1] or channel, key=key)
        rec["thread_of"] = thread[2]
        channel = thread[1] or channel
    return sink.send_payload(payload, channel, key=key, record=rec or None)
