"""Slack fails (5xx, 429 with Retry-After, invalid token): alerts go through a fallback channel once.

Everything runs against loopback servers: the strict fake Slack API, a strict fake webhook
receiver (``tests/servers/webhook.py``) and a minimal SMTP server (``tests/servers/smtp.py``).
The pipeline parts are the real ones (collect, process with the real classifier, alert_batches,
ledger, audit log on a local store).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from slack_sdk import WebClient

from socialhub.alerting import alert_batches
from socialhub.alerts.blocks import render_alert
from socialhub.alerts.fallback import (
    EmailSink,
    FallbackDeliveryError,
    FallbackSink,
    WebhookDeliveryError,
    WebhookSink,
    alert_document,
    inert,
    platform_notice,
    render_alert_email,
)
from socialhub.alerts.ledger import AlertLedger
from socialhub.alerts.model import alert_id_for
from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink, SlackSink, send_digest
from socialhub.audit.chain import AuditLog, Auditor
from socialhub.classify import load_classifier
from socialhub.collect import collect_account
from socialhub.process import process_batch
from socialhub.storage import LocalStore
from tests.review._pipeline import ROUTING, TEXTS, ListConnector, watchlist_entry
from tests.servers.slack_api import SlackAPIServer
from tests.servers.webhook import WebhookServer, text_problems

from ._factory import TOKEN, make_alert

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HOSTILE = TEXTS["5"]
WRONG_TOKEN = "xoxb-999-888-THISisTHEwrongTOKEN"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def hook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


def _slack_sink(slack: SlackAPIServer, *, token: str = TOKEN, max_attempts: int = 3, **kw: Any) -> SlackSink:
    client = WebClient(token=token, base_url=slack.base_url, timeout=5, retry_handlers=[])
    return SlackSink(client, sleep=kw.pop("sleep", Sleeps()), now=lambda: NOW, max_attempts=max_attempts, **kw)


def _fallback(primary: Any, hook: WebhookServer, events: list | None = None, **kw: Any) -> FallbackSink:
    webhook = WebhookSink(hook.url, sleep=Sleeps(), now=lambda: NOW)
    return FallbackSink(primary, webhook, on_fallback=(events.append if events is not None else None),
                        now=lambda: NOW, **kw)


def _processed(store: LocalStore, texts: dict[str, str] = TEXTS) -> str:
    """A collected and processed batch (real classifier); its flagged posts are waiting for alerting."""
    out = collect_account(store, watchlist_entry(), ListConnector(texts, NOW), NOW)
    assert out.status == "ok", out.error
    process_batch(store, out.batch_id, classifier=load_classifier())
    return out.batch_id


def _alert(store: LocalStore, batch: str, sink: Any, **kw: Any) -> dict[str, Any]:
    return alert_batches(store, [batch], sink=sink, routing=Routing.from_dict(ROUTING), now=NOW,
                         auditor=Auditor(AuditLog(store), {"kind": "process", "name": "test"}), **kw)


def _flagged_ids(texts: dict[str, str] = TEXTS) -> set[str]:
    # "2", "3" and "5" are flagged by the real classifier (tests/review/_pipeline.py)
    return {alert_id_for("mastodon", k) for k in ("2", "3", "5") if k in texts}


def _alert_events(store: LocalStore) -> list[dict[str, Any]]:
    return [e for e in AuditLog(store).events() if e["action"] == "alert"]


# -- the pipeline falls back -------------------------------------------------------------------------

def test_slack_500_forever_alerts_go_to_the_webhook_exactly_once(slack: SlackAPIServer, hook: WebhookServer,
                                                                   tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    batch = _processed(store)
    slack.fail_all(500)
    events: list = []
    sink = _fallback(_slack_sink(slack, max_attempts=3), hook, events)

    summary = _alert(store, batch, sink)

    expected = _flagged_ids()
    assert hook.errors == [] and slack.messages == []
    assert sorted(d["key"] for d in hook.documents) == sorted(expected)            # each once
    # Slack was retried (3 attempts) for the first alert only; the rest went straight to the fallback
    assert [c.status for c in slack.calls] == [500, 500, 500]
    assert summary["delivered"] == 3 and summary["fallback_used"] == 3
    (reason,) = summary["fallback_reasons"]
    assert reason == "slack HTTP 500 internal_error: gave up after 3 attempt(s)"
    assert all(d["sink"] == "webhook" and d["channel"] == "#on-duty" and d["fallback_reason"]
               for d in summary["deliveries"])
    ledger = AlertLedger(store)
    for alert_id in expected:
        delivery = ledger.delivered(alert_id)["delivery"]
        assert delivery["sink"] == "webhook" and delivery["key"] == alert_id
        assert delivery["fallback_reason"].startswith("slack HTTP 500")
        assert "/hooks/" not in delivery["location"]           # the URL's secret path is never recorded
    audit = _alert_events(store)
    assert len(audit) == 3
    assert all(e["details"]["sink"] == "webhook" and e["details"]["fallback_reason"].startswith("slack HTTP 500")
               for e in audit)
    assert [e.alert_ids for e in events] == [(d["key"],) for d in hook.documents]
    assert events[0].skipped_primary is False and all(e.skipped_primary for e in events[1:])
    for doc in hook.documents:
        assert doc["intended_channel"] == "#on-duty" and doc["fallback_reason"].startswith("slack HTTP 500")
        assert hook.received[0].headers["Idempotency-Key"] in expected

    # a rerun (Slack still down or back) sends nothing anywhere
    requests, calls = hook.requests, len(slack.calls)
    again = _alert(store, batch, _fallback(_slack_sink(slack), hook))
    slack.reset()
    again_up = _alert(store, batch, _fallback(_slack_sink(slack), hook))
    assert again["delivered"] == again_up["delivered"] == 0 and again["already_alerted"] == 3
    assert hook.requests == requests and len(slack.calls) == 0 and calls == 3
    assert len(_alert_events(store)) == 3


def test_rate_limited_slack_waits_retry_after_then_falls_back(slack: SlackAPIServer, hook: WebhookServer) -> None:
    sleeps = Sleeps()
    slack.fail_all(429, "ratelimited", headers={"Retry-After": "7"})
    sink = _fallback(_slack_sink(slack, max_attempts=3, sleep=sleeps), hook)

    delivery = sink.send(make_alert(), "#alerts")

    assert sleeps == [7.0, 7.0]                                       # Retry-After honoured, bounded
    assert [c.status for c in slack.calls] == [429, 429, 429]
    assert delivery.sink == "webhook" and "ratelimited" in (delivery.fallback_reason or "")
    assert [d["key"] for d in hook.documents] == [make_alert().alert_id] and hook.errors == []


def test_retry_after_beyond_max_wait_falls_back_at_once(slack: SlackAPIServer, hook: WebhookServer) -> None:
    sleeps = Sleeps()
    slack.fail_all(429, "ratelimited", headers={"Retry-After": "600"})
    sink = _fallback(_slack_sink(slack, max_wait=60, sleep=sleeps), hook)
    delivery = sink.send(make_alert(), "#alerts")
    assert sleeps == [] and len(slack.calls) == 1
    assert delivery.fallback_reason == "slack HTTP 429 ratelimited: rate-limited beyond the wait limit after 1 attempt(s)"


def test_invalid_token_falls_back_at_once_without_leaking_it(slack: SlackAPIServer, hook: WebhookServer) -> None:
    sleeps = Sleeps()
    sink = _fallback(_slack_sink(slack, token=WRONG_TOKEN, sleep=sleeps), hook)
    delivery = sink.send(make_alert(), "#alerts")
    assert delivery.sink == "webhook" and delivery.fallback_reason == "slack invalid_auth: not retryable"
    assert len(slack.calls) == 1 and sleeps == []
    assert WRONG_TOKEN not in json.dumps(hook.documents) and TOKEN not in json.dumps(hook.documents)


def test_a_transient_slack_failure_is_retried_without_falling_back(slack: SlackAPIServer,
                                                                   hook: WebhookServer) -> None:
    slack.fail_next(2, status=503)
    events: list = []
    delivery = _fallback(_slack_sink(slack, max_attempts=3), hook, events).send(make_alert(), "#alerts")
    assert delivery.sink == "slack" and delivery.attempts == 3 and delivery.fallback_reason is None
    assert len(slack.messages) == 1 and hook.requests == 0 and events == []


def test_a_bad_channel_falls_back_but_does_not_take_slack_out_for_other_channels(slack: SlackAPIServer,
                                                                                 hook: WebhookServer) -> None:
    slack.channels = {"#on-duty"}
    sink = _fallback(_slack_sink(slack), hook)
    first = sink.send(make_alert(post_id="1"), "#no-such-channel")
    second = sink.send(make_alert(post_id="2"), "#on-duty")
    assert first.sink == "webhook" and first.fallback_reason == "slack channel_not_found: not retryable"
    assert second.sink == "slack" and [m.channel for m in slack.messages] == ["#on-duty"]


def test_slack_is_tried_again_after_the_skip_period(slack: SlackAPIServer, hook: WebhookServer) -> None:
    clock = Clock()
    slack.fail_all(500)
    sink = _fallback(_slack_sink(slack, max_attempts=1), hook, clock=clock, skip_primary_for=300)
    assert sink.send(make_alert(post_id="1"), "#a").sink == "webhook"
    slack.reset()
    clock.t += 299
    assert sink.send(make_alert(post_id="2"), "#a").sink == "webhook" and slack.calls == []
    clock.t += 2
    assert sink.send(make_alert(post_id="3"), "#a").sink == "slack"


def test_digest_falls_back_as_one_message_covering_every_alert(slack: SlackAPIServer, hook: WebhookServer,
                                                               tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    batch = _processed(store)
    slack.fail_all(502)
    summary = _alert(store, batch, _fallback(_slack_sink(slack), hook), digest_threshold=1)

    (doc,) = hook.documents
    assert doc["type"] == "socialhub.digest" and doc["key"].startswith("digest-")
    assert sorted(doc["alert_ids"]) == sorted(_flagged_ids())
    assert doc["fallback_reason"].startswith("slack HTTP 502") and "3 socialhub alert(s)" in doc["text"]
    assert hook.errors == []        # the digest's hostile snippets are inert too
    assert summary["digests"] == 1 and summary["fallback_used"] == 3
    ledger = AlertLedger(store)
    assert {ledger.delivered(a)["delivery"]["key"] for a in _flagged_ids()} == {doc["key"]}
    assert {ledger.delivered(a)["delivery"]["sink"] for a in _flagged_ids()} == {"webhook"}
    assert _alert(store, batch, _fallback(_slack_sink(slack), hook), digest_threshold=1)["delivered"] == 0
    assert len(hook.documents) == 1


def test_send_digest_directly_falls_back(slack: SlackAPIServer, hook: WebhookServer) -> None:
    slack.fail_all(500)
    alerts = [make_alert(post_id=str(i)) for i in range(12)]
    (delivery,) = send_digest(_fallback(_slack_sink(slack), hook), alerts, "#alerts")
    assert delivery.sink == "webhook" and delivery.key.startswith("digest-")
    assert sorted(hook.documents[0]["alert_ids"]) == sorted(a.alert_id for a in alerts)


def test_when_the_fallback_fails_too_nothing_is_recorded_and_a_rerun_delivers_once(
        slack: SlackAPIServer, hook: WebhookServer, tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    batch = _processed(store)
    slack.fail_all(500)
    hook.fail_all(503)
    with pytest.raises(FallbackDeliveryError) as info:
        _alert(store, batch, _fallback(_slack_sink(slack), hook))
    assert "HTTP 500" in str(info.value) and "HTTP 503" in str(info.value)
    assert "/hooks/" not in str(info.value)                      # the webhook URL's path holds its secret
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert not any(AlertLedger(store).delivered(a) for a in _flagged_ids())

    hook.reset()
    summary = _alert(store, batch, _fallback(_slack_sink(slack), hook))
    assert summary["delivered"] == 3 and sorted(d["key"] for d in hook.documents) == sorted(_flagged_ids())
    assert hook.repeats == []


def test_webhook_then_email_when_both_are_configured(slack: SlackAPIServer, hook: WebhookServer) -> None:
    sent: list[dict[str, Any]] = []
    slack.fail_all(500)
    hook.fail_all(503)
    chain = FallbackSink(_fallback(_slack_sink(slack, max_attempts=2), hook),
                         EmailSink(lambda **kw: sent.append(kw), ["duty@example.org"]))
    delivery = chain.send(make_alert(), "#on-duty")
    assert delivery.sink == "email" and len(sent) == 1
    assert delivery.fallback_reason == ("slack HTTP 500 internal_error: gave up after 2 attempt(s); "
                                        "then webhook HTTP 503: gave up after 4 attempt(s)")
    assert "/hooks/" not in json.dumps(delivery.to_dict()) + sent[0]["html"]
    calls = (len(slack.calls), hook.requests)
    assert chain.send(make_alert(post_id="2"), "#on-duty").sink == "email"
    assert (len(slack.calls), hook.requests) == calls            # neither is retried for a while


def test_platform_team_is_told_through_the_same_sink(slack: SlackAPIServer, hook: WebhookServer,
                                                     tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    batch = _processed(store)
    slack.fail_all(500)
    sink = _fallback(_slack_sink(slack), hook)
    summary = _alert(store, batch, sink)
    text = platform_notice(summary["fallback_used"], summary["fallback_reasons"],
                           sinks=[d["sink"] for d in summary["deliveries"]])
    assert text.startswith("socialhub: 3 alert(s) could not be posted to Slack and were sent through webhook")
    assert "Reasons: slack HTTP 500 internal_error: gave up after 3 attempt(s) (3)." in text
    calls = len(slack.calls)

    notice = sink.send_text(Routing.from_dict(ROUTING).platform_channel, text)

    assert notice.sink == "webhook" and len(slack.calls) == calls    # Slack is not retried again this run
    doc = hook.documents[-1]
    assert doc["type"] == "socialhub.notice" and doc["intended_channel"] == "#platform"
    assert "3 alert(s)" in doc["text"] and hook.errors == []


# -- hostile text stays harmless ---------------------------------------------------------------------

def test_hostile_post_is_inert_in_the_webhook_document(slack: SlackAPIServer, hook: WebhookServer,
                                                       tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    batch = _processed(store, {"5": HOSTILE})
    slack.fail_all(500)
    _alert(store, batch, _fallback(_slack_sink(slack), hook))
    assert hook.errors == []                       # the receiver's strict checks (tests/servers/webhook.py)
    (doc,) = hook.documents
    text = doc["post"]["text"]
    for raw in ("@here", "<!channel>", "<https://evil.example|Review>", "<script>", "](javascript:", "```", "\u202e",
                "\u200b"):
        assert raw not in json.dumps(doc, ensure_ascii=False)
    assert "(@)here" in text and "&lt;script&gt;" in text and "zerowidth" in text
    assert doc["links"]["post"] == "https://x.social/@acct/5" and doc["links"]["review"] is None
    assert "javascript" not in json.dumps(doc["links"])


@pytest.mark.parametrize("text", [HOSTILE, "@channel ＠ｈｅｒｅ @everyone @john_smith [x](https://e.example) *b* _i_ ~s~ `c`",
                                  "line\r\n> quote\u2028next\x00\x07 \ud800 lone", "a" * 20000])
def test_inert_text_passes_the_receivers_checks(text: str) -> None:
    doc = alert_document(make_alert(text=text, author=text, account=text[:50]), "#on-duty",
                         fallback_reason="slack HTTP 500: gave up after 3 attempt(s)")
    for value in (doc["post"]["text"], doc["post"]["author"], doc["post"]["account"]):
        assert text_problems(value) == [], value
    assert len(doc["post"]["text"]) <= 3000
    json.dumps(doc).encode("utf-8")                        # serialisable (no lone surrogates)
    assert inert("@bob") == "(@)bob" and inert("(@)here") == "(@)here"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_email_is_html_escaped_and_links_only_safe_urls() -> None:
    alert = make_alert(text=HOSTILE, author="<img src=x onerror=alert(1)>", account="acc\r\nBcc: evil@example.org",
                       url="https://x.com/a/status/1?x=1&y=<2>")
    subject, body, text = render_alert_email(alert, "#on-duty", fallback_reason="slack invalid_auth: not retryable")
    assert "\n" not in subject and "\r" not in subject and subject.startswith("[socialhub] NORMAL alert")
    parsed = _Tags()
    parsed.feed(body)
    tags = {t for t, _ in parsed.tags}
    assert tags <= {"html", "head", "meta", "title", "body", "h2", "h3", "p", "em", "table", "tr", "th", "td",
                    "pre", "ul", "li", "a", "small"}, tags
    assert [a["href"] for t, a in parsed.tags if t == "a"] == ["https://x.com/a/status/1?x=1&y=%3C2%3E"]
    assert all("on" + "error" not in a for _, attrs in parsed.tags for a in attrs)
    shown = "".join(parsed.text)
    assert "<script>alert(1)</script>" in shown and "<img src=x onerror=alert(1)>" in shown   # as text
    assert "(@)here" in shown and "\u202e" not in body and "\u200b" not in body
    assert "slack invalid_auth: not retryable" in shown and "#on-duty" in shown
    assert "Content-Security-Policy" in body
    assert "(@)here" in text and "\u202e" not in text


def test_email_sink_retries_then_reports(tmp_path) -> None:
    sent: list[dict[str, Any]] = []
    failures = [OSError("connection reset"), OSError("connection reset")]

    def send(**kw: Any) -> None:
        if failures:
            raise failures.pop(0)
        sent.append(kw)

    sleeps = Sleeps()
    sink = EmailSink(send, "duty@example.org; platform@example.org", sleep=sleeps, now=lambda: NOW)
    delivery = sink.send(make_alert(), "#on-duty", fallback_reason="slack HTTP 500: gave up after 5 attempt(s)")
    assert delivery.sink == "email" and delivery.attempts == 3 and sleeps == [2.0, 4.0]
    assert delivery.location == "email:duty@example.org,platform@example.org"
    (mail,) = sent
    assert mail["to"] == ["duty@example.org", "platform@example.org"]
    assert mail["headers"]["X-Socialhub-Key"] == make_alert().alert_id
    assert re.fullmatch(r"<[0-9a-f]{24}\.[0-9a-f]{12}@socialhub\.invalid>", mail["headers"]["Message-ID"])

    def broken(**kw: Any) -> None:
        raise RuntimeError("535 authentication failed for password=hunter2")

    with pytest.raises(Exception, match="after 2 attempt") as info:
        EmailSink(broken, ["duty@example.org"], max_attempts=2, sleep=Sleeps()).send(make_alert(), "#on-duty")
    assert "hunter2" not in str(info.value)
    with pytest.raises(ValueError):
        EmailSink(send, "not an address")


def test_email_fallback_for_a_digest(slack: SlackAPIServer) -> None:
    sent: list[dict[str, Any]] = []
    slack.fail_all(500)
    sink = FallbackSink(_slack_sink(slack), EmailSink(lambda **kw: sent.append(kw), ["duty@example.org"]))
    alerts = [make_alert(post_id=str(i), text=f"<b>{i}</b> @here") for i in range(3)]
    (delivery,) = send_digest(sink, alerts, "#on-duty")
    assert delivery.sink == "email" and delivery.key.startswith("digest-")
    (mail,) = sent
    assert "<b>" not in mail["html"] and "&lt;b&gt;0&lt;/b&gt;" in mail["html"] and "(@)here" in mail["html"]
    assert mail["subject"].startswith("[socialhub] 3 socialhub alert(s)")


# -- webhook retries -----------------------------------------------------------------------------------

def test_webhook_retries_5xx_and_429_and_sends_credentials_only_in_headers(hook: WebhookServer, caplog) -> None:
    hook.token = "hook-secret-7"
    sleeps = Sleeps()
    sink = WebhookSink(hook.url, headers={"Authorization": "Bearer hook-secret-7"}, sleep=sleeps, backoff=0.5)
    hook.fail_next(1, 500)
    hook.rate_limit_next(1, retry_after=3)
    delivery = sink.send(make_alert(), "#on-duty")
    assert delivery.attempts == 3 and sleeps == [0.5, 3.0] and hook.errors == []
    assert delivery.location == f"webhook:http://127.0.0.1:{hook.port}"
    logged = caplog.text + repr(sink) + json.dumps(delivery.to_dict())
    assert "hook-secret-7" not in logged and hook.path not in logged


def test_webhook_gives_up_on_4xx_at_once_and_on_long_retry_after(hook: WebhookServer) -> None:
    hook.token = "right"
    sleeps = Sleeps()
    with pytest.raises(WebhookDeliveryError) as info:
        WebhookSink(hook.url, headers={"Authorization": "Bearer wrong"}, sleep=sleeps).send(make_alert(), "#a")
    assert info.value.status == 401 and not info.value.retryable and sleeps == [] and hook.requests == 1
    hook.token = None
    hook.rate_limit_next(1, retry_after=3600)
    with pytest.raises(WebhookDeliveryError, match="rate-limited"):
        WebhookSink(hook.url, sleep=sleeps, max_wait=60).send(make_alert(), "#a")
    hook.fail_all(500)
    with pytest.raises(WebhookDeliveryError, match="after 2 attempt"):
        WebhookSink(hook.url, sleep=sleeps, max_attempts=2).send(make_alert(), "#a")
    assert hook.path not in str(info.value)


# -- Slack: finding a message that was posted but not recorded ---------------------------------------

def test_find_delivery_uses_metadata_and_channel_ids(slack: SlackAPIServer) -> None:
    slack.channel_ids["#gangs-alerts"] = "C0GANGS0001"
    sink = _slack_sink(slack)
    single, in_digest, never = make_alert(post_id="1"), make_alert(post_id="2"), make_alert(post_id="3")
    sent = sink.send(single, "#gangs-alerts")
    (digest,) = send_digest(sink, [in_digest, make_alert(post_id="4")], "#gangs-alerts")
    assert slack.messages[0].metadata == {"event_type": "socialhub_alert",
                                          "event_payload": {"key": single.alert_id, "alert_ids": single.alert_id}}

    fresh = _slack_sink(slack)                    # no cached channel id: must resolve "#gangs-alerts"
    found = fresh.find_delivery(single, "#gangs-alerts")
    assert found is not None and (found.message_id, found.location, found.key) == (
        sent.message_id, sent.location, single.alert_id)
    found = fresh.find_delivery(in_digest, "#gangs-alerts")
    assert found is not None and found.key == digest.key and found.message_id == digest.message_id
    assert fresh.find_delivery(never, "#gangs-alerts") is None
    assert fresh.find_delivery(single, "#elsewhere") is None
    assert slack.errors == [] or {e["error"] for e in slack.errors} == {"channel_not_found"}
    methods = [c.method for c in slack.calls]
    assert "conversations.list" in methods and "conversations.history" in methods


def test_find_delivery_pages_and_is_bounded(slack: SlackAPIServer) -> None:
    sink = _slack_sink(slack)
    alert = make_alert()
    sink.send(alert, "#alerts")
    for i in range(7):
        sink.send_text("#alerts", f"notice {i}")
    assert _slack_sink(slack, history_page=2).find_delivery(alert, "#alerts") is not None
    assert sum(c.method == "conversations.history" for c in slack.calls) == 4
    assert _slack_sink(slack, history_page=2, history_max_messages=6).find_delivery(alert, "#alerts") is None


def test_find_delivery_recognises_messages_posted_before_metadata(slack: SlackAPIServer, client: WebClient) -> None:
    alert = make_alert()
    payload = render_alert(alert)
    client.chat_postMessage(channel="#alerts", text=payload["text"], blocks=payload["blocks"])   # no metadata
    assert _slack_sink(slack).find_delivery(alert, "#alerts") is not None
    assert _slack_sink(slack).find_delivery(make_alert(post_id="9"), "#alerts") is None


def test_find_delivery_without_history_access_answers_none(slack: SlackAPIServer) -> None:
    sink = _slack_sink(slack)
    sink.send(make_alert(), "#alerts")
    slack.fail_next(1, status=200, error="missing_scope")
    assert sink.find_delivery(make_alert(), "#alerts") is None


def test_crash_between_slack_send_and_ledger_record_sends_no_second_message(
        slack: SlackAPIServer, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path / "store")
    batch = _processed(store)
    real_record = AlertLedger.record

    def crash(self, alert_id, delivery, **kw):
        raise SystemExit("worker killed after chat.postMessage, before the ledger write")

    monkeypatch.setattr(AlertLedger, "record", crash)
    with pytest.raises(SystemExit):
        _alert(store, batch, _slack_sink(slack))
    (first,) = slack.messages                                    # posted, not recorded
    crashed_id = first.metadata["event_payload"]["key"]
    assert AlertLedger(store).intended(crashed_id) and not AlertLedger(store).delivered(crashed_id)

    monkeypatch.setattr(AlertLedger, "record", real_record)
    summary = _alert(store, batch, _slack_sink(slack))           # the rerun, with a fresh sink

    per_alert = Counter(m.metadata["event_payload"]["key"] for m in slack.messages)
    assert set(per_alert) == _flagged_ids() and set(per_alert.values()) == {1}     # no second message
    assert summary["delivered"] == 2 and summary["already_alerted"] == 1
    entry = AlertLedger(store).delivered(crashed_id)
    assert entry["delivery"]["message_id"] == first.ts and entry["delivery"]["sink"] == "slack"
    (recovered,) = [e for e in _alert_events(store) if e["details"].get("recovered")]
    assert recovered["object"] == f"alert:{crashed_id}"


def test_fallback_find_delivery_asks_both_sinks(slack: SlackAPIServer, tmp_path) -> None:
    outbox = OutboxSink(tmp_path / "outbox")
    alert = make_alert()
    outbox.send(alert, "#alerts")                                   # delivered by the fallback earlier
    slack.fail_all(500)
    sink = FallbackSink(_slack_sink(slack, max_attempts=2), outbox)
    found = sink.find_delivery(alert, "#alerts")
    assert found is not None and found.sink == "outbox"
    calls = len(slack.calls)
    assert sink.send(make_alert(post_id="2"), "#alerts").sink == "outbox"
    assert len(slack.calls) == calls                                 # Slack unreadable: skipped for the send


def test_review_thread_reply_falls_back_when_slack_fails(slack: SlackAPIServer, hook: WebhookServer) -> None:
    from socialhub.review import messages

    sink = _fallback(_slack_sink(slack), hook)
    alert = make_alert()
    first = sink.send(alert, "#alerts")
    payload = {"text": "reply", "blocks": []}
    messages.send(sink, payload, "#alerts", key=messages.message_key("outcome", alert.alert_id),
                  thread=("slack", "#alerts", first.message_id))
    assert slack.messages[-1].params.get("thread_ts") == first.message_id
    slack.fail_all(500)
    out = messages.send(sink, payload, "#alerts", key=messages.message_key("referral", alert.alert_id),
                        thread=("slack", "#alerts", first.message_id))
    assert out.sink == "webhook" and hook.documents[-1]["type"] == "socialhub.notice"
