from __future__ import annotations

import json
import os
import socket
import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path

import pytest
from slack_sdk import WebClient

from socialhub.alerts.blocks import render_alert
from socialhub.alerts.model import Alert
from socialhub.alerts.sinks import (
    AlertSink,
    Delivery,
    OutboxSink,
    SlackDeliveryError,
    SlackSink,
    digest_key,
    send_digest,
)
from socialhub.errors import AlertDeliveryError
from tests.servers.slack_api import SlackAPIServer

from ._factory import TOKEN, make_alert

NOW = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)


class Sleeps(list):
    """Records requested sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _sink(client: WebClient, **kwargs) -> tuple[SlackSink, Sleeps]:
    sleeps = Sleeps()
    return SlackSink(client, sleep=sleeps, now=lambda: NOW, **kwargs), sleeps


# -- SlackSink ---------------------------------------------------------------------------------

def test_slack_sink_delivers_rendered_alert(client: WebClient, slack: SlackAPIServer) -> None:
    sink, sleeps = _sink(client)
    alert = make_alert()
    slack.channel_ids["#gangs-alerts"] = "C0GANGS0001"

    delivery = sink.send(alert, "#gangs-alerts")

    (message,) = slack.messages
    assert message.channel == "#gangs-alerts"
    assert {"text": message.text, "blocks": message.blocks} == render_alert(alert)
    assert message.params == {"channel": "#gangs-alerts", "unfurl_links": False, "unfurl_media": False,
                              "link_names": False, "parse": "none"}
    assert delivery == Delivery(sink="slack", channel="#gangs-alerts", message_id=message.ts,
                                location=f"slack:C0GANGS0001/{message.ts}", sent_at="2024-05-01T12:30:00Z",
                                key=alert.alert_id, attempts=1)
    assert delivery.ts == message.ts
    assert sleeps == []
    assert isinstance(sink, AlertSink)


def test_rate_limit_waits_retry_after_then_succeeds(client: WebClient, slack: SlackAPIServer) -> None:
    sink, sleeps = _sink(client)
    slack.rate_limit_next(2, retry_after=7)

    delivery = sink.send(make_alert(), "#alerts")

    assert sleeps == [7.0, 7.0]
    assert delivery.attempts == 3
    assert [c.status for c in slack.calls] == [429, 429, 200]
    assert len(slack.messages) == 1


def test_rate_limit_longer_than_max_wait_fails_at_once_as_retryable(client: WebClient,
                                                                    slack: SlackAPIServer) -> None:
    sink, sleeps = _sink(client, max_wait=30)
    slack.rate_limit_next(1, retry_after=120)

    with pytest.raises(SlackDeliveryError) as info:
        sink.send(make_alert(), "#alerts")

    assert info.value.retryable and info.value.status == 429 and info.value.error == "ratelimited"
    assert sleeps == []
    assert len(slack.calls) == 1


def test_server_errors_are_retried_with_backoff(client: WebClient, slack: SlackAPIServer) -> None:
    sink, sleeps = _sink(client, backoff=0.5, max_backoff=1.5)
    slack.fail_next(3, status=500)

    delivery = sink.send(make_alert(), "#alerts")

    assert sleeps == [0.5, 1.0, 1.5]
    assert delivery.attempts == 4
    assert len(slack.messages) == 1


def test_persistent_server_errors_give_up_after_max_attempts(client: WebClient, slack: SlackAPIServer) -> None:
    sink, sleeps = _sink(client, max_attempts=3)
    slack.fail_next(5, status=503, error="service_unavailable")

    with pytest.raises(SlackDeliveryError, match="after 3 attempt") as info:
        sink.send(make_alert(), "#alerts")

    assert info.value.retryable and info.value.attempts == 3 and info.value.status == 503
    assert len(slack.calls) == 3 and len(sleeps) == 2
    assert slack.messages == []


def test_invalid_token_fails_immediately_without_leaking_it(slack: SlackAPIServer) -> None:
    bad_token = "xoxb-999-888-THISisTHEwrongTOKEN"
    client = WebClient(token=bad_token, base_url=slack.base_url, timeout=5, retry_handlers=[])
    sink, sleeps = _sink(client)

    with pytest.raises(AlertDeliveryError) as info:
        sink.send(make_alert(), "#alerts")

    err = info.value
    assert isinstance(err, SlackDeliveryError) and err.error == "invalid_auth" and not err.retryable
    assert "invalid_auth" in str(err) and "token" in err.hint
    # The slack_sdk exception (whose request carries the Authorization header) is not chained.
    assert err.__cause__ is None and err.__context__ is None
    rendered = "".join(traceback.format_exception(err)) + repr(err) + repr(vars(err))
    assert bad_token not in rendered and TOKEN not in rendered
    assert len(slack.calls) == 1 and sleeps == []
    with pytest.raises(SlackDeliveryError, match="invalid_auth") as check_info:
        sink.check()
    assert check_info.value.__context__ is None


def test_unknown_channel_fails_immediately_with_a_routing_hint(client: WebClient, slack: SlackAPIServer) -> None:
    slack.channels = {"#alerts"}
    sink, sleeps = _sink(client)
    with pytest.raises(SlackDeliveryError, match="channel_not_found") as info:
        sink.send(make_alert(), "#no-such-channel")
    assert "routing.yaml" in info.value.hint and not info.value.retryable
    assert len(slack.calls) == 1 and sleeps == []


def test_invalid_blocks_are_not_retried(client: WebClient, slack: SlackAPIServer) -> None:
    sink, sleeps = _sink(client)
    payload = {"text": "x", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "*x*"}}]}
    with pytest.raises(SlackDeliveryError, match="invalid_blocks"):
        sink.send_payload(payload, "#alerts", key="0" * 24)
    assert len(slack.calls) == 1 and sleeps == []


def test_unreachable_slack_is_retried_then_reported(slack: SlackAPIServer) -> None:
    with socket.socket() as s:          # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = WebClient(token=TOKEN, base_url=f"http://127.0.0.1:{port}/api/", timeout=2, retry_handlers=[])
    sink, sleeps = _sink(client, max_attempts=3, backoff=0.25)
    with pytest.raises(SlackDeliveryError, match="connection failed after 3") as info:
        sink.send(make_alert(), "#alerts")
    assert info.value.retryable and sleeps == [0.25, 0.5]


def test_check_reports_the_workspace(client: WebClient) -> None:
    sink, _ = _sink(client)
    assert sink.check()["team"] == "socialhub-test"


def test_send_digest_through_slack(client: WebClient, slack: SlackAPIServer) -> None:
    sink, _ = _sink(client)
    alerts = [make_alert(post_id=str(i)) for i in range(60)]
    deliveries = send_digest(sink, alerts, "#alerts")
    parts = len(slack.messages)
    assert len(deliveries) == parts and 3 <= parts <= 4 and slack.errors == []   # 60 items, at most 24 per message
    assert [m.blocks[0]["text"]["text"] for m in slack.messages] == [
        f"60 socialhub alert(s) · gangs ({i}/{parts})" for i in range(1, parts + 1)]
    shown = [m.metadata["event_payload"]["alert_ids"].split(",") for m in slack.messages]
    assert sorted(sum(shown, [])) == sorted(a.alert_id for a in alerts)        # every alert in exactly one part
    by_id = {a.alert_id: a for a in alerts}
    assert [d.key for d in deliveries] == [digest_key([by_id[i] for i in ids]) for ids in shown]
    assert digest_key(alerts) == digest_key(list(reversed(alerts)))
    with pytest.raises(ValueError):
        send_digest(sink, [], "#alerts")


# -- OutboxSink --------------------------------------------------------------------------------

def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_outbox_writes_one_file_per_alert_and_an_index_line(tmp_path: Path) -> None:
    sink = OutboxSink(tmp_path / "outbox", now=lambda: NOW)
    alert = make_alert()

    delivery = sink.send(alert, "#alerts")

    path = tmp_path / "outbox" / f"{alert.alert_id}.json"
    assert delivery == Delivery(sink="outbox", channel="#alerts", message_id=alert.alert_id, location=str(path),
                                sent_at="2024-05-01T12:30:00Z", key=alert.alert_id)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["channel"] == "#alerts"
    assert document["payload"] == render_alert(alert)
    assert Alert.from_dict(document["alert"]) == alert
    index = (tmp_path / "outbox" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in index] == [
        {"key": alert.alert_id, "channel": "#alerts", "written_at": "2024-05-01T12:30:00Z",
         "file": path.name, "severity": "normal"}]
    assert _leftovers(tmp_path / "outbox") == []


def test_outbox_resend_replaces_the_file_and_adds_an_index_line(tmp_path: Path) -> None:
    sink = OutboxSink(tmp_path)
    alert = make_alert()
    sink.send(alert, "#alerts")
    sink.send(alert, "#escalation")
    assert json.loads((tmp_path / f"{alert.alert_id}.json").read_text())["channel"] == "#escalation"
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 2


def test_outbox_failed_write_leaves_previous_file_intact_and_no_temp(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sink = OutboxSink(tmp_path)
    alert = make_alert()
    sink.send(alert, "#alerts")
    before = (tmp_path / f"{alert.alert_id}.json").read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(AlertDeliveryError, match="No space left"):
        sink.send(alert, "#escalation")

    assert (tmp_path / f"{alert.alert_id}.json").read_bytes() == before
    assert _leftovers(tmp_path) == []
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 1


def test_outbox_refuses_a_forged_id_as_file_name(tmp_path: Path) -> None:
    good = make_alert()
    forged = Alert(**{**{f: getattr(good, f) for f in Alert.__dataclass_fields__}, "alert_id": "../escaped"})
    with pytest.raises(AlertDeliveryError, match="refusing"):
        OutboxSink(tmp_path / "box").send(forged, "#alerts")
    assert not (tmp_path / "escaped.json").exists() and not (tmp_path / "box").exists()


def test_outbox_concurrent_writers_keep_index_lines_whole(tmp_path: Path) -> None:
    sink = OutboxSink(tmp_path)
    alerts = [make_alert(post_id=str(i), text="x" * 5000) for i in range(24)]
    threads = [threading.Thread(target=sink.send, args=(a, "#alerts")) for a in alerts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert sorted(line["key"] for line in lines) == sorted(a.alert_id for a in alerts)
    assert len(list(tmp_path.glob("*.json"))) == 24


def test_digest_to_outbox(tmp_path: Path) -> None:
    alerts = [make_alert(post_id=str(i)) for i in range(3)]
    (delivery,) = send_digest(OutboxSink(tmp_path), alerts, "#alerts", team="night shift")
    document = json.loads(Path(delivery.location).read_text())
    assert document["alert_ids"] == sorted(a.alert_id for a in alerts)
    assert document["payload"]["blocks"][0]["text"]["text"] == "3 socialhub alert(s) · night shift"


def test_outbox_unwritable_directory_is_an_alert_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AlertDeliveryError, match="cannot write"):
        OutboxSink(blocker / "outbox").send(make_alert(), "#alerts")


# -- operational notices and crash recovery ------------------------------------------------------

FAILURE = ("socialhub task failed: GET https://api.example/v1?access_token=s3cr3t&page=2 "
           "(Authorization: Bearer abcdefghijklmnop) with xoxb-1-2-abc <!channel> @here *boom*")


@pytest.mark.parametrize("secret", ["s3cr3t", "abcdefghijklmnop", "xoxb-1-2-abc"])
def test_send_text_redacts_and_escapes(secret: str, client: WebClient, slack: SlackAPIServer,
                                       tmp_path: Path) -> None:
    sink, _ = _sink(client)
    delivery = sink.send_text("#socialhub-platform", FAILURE)
    (message,) = slack.messages
    assert message.blocks is None and secret not in message.text
    assert message.text.startswith("socialhub task failed: GET https://api.example/v1?access_token=[redacted]&amp;")
    assert "&lt;!channel&gt; (@)here ∗boom∗" in message.text
    assert delivery.key.startswith("notice-")

    outbox = OutboxSink(tmp_path, now=lambda: NOW).send_text("#socialhub-platform", FAILURE)
    document = json.loads(Path(outbox.location).read_text())
    assert document["payload"]["text"] == message.text and document["kind"] == "notice"


def test_outbox_find_delivery_single_and_digest(tmp_path: Path) -> None:
    sink = OutboxSink(tmp_path, now=lambda: NOW)
    single, in_digest, never = make_alert(post_id="1"), make_alert(post_id="2"), make_alert(post_id="3")
    sent = sink.send(single, "#alerts")
    (digest,) = send_digest(sink, [in_digest, make_alert(post_id="4")], "#alerts")

    assert sink.find_delivery(single, "#alerts") == sent
    assert sink.find_delivery(in_digest, "#alerts") == digest
    assert sink.find_delivery(single, "#other") is None
    assert sink.find_delivery(never, "#alerts") is None
    assert OutboxSink(tmp_path / "empty").find_delivery(single, "#alerts") is None
