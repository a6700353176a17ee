"""A burst for one channel becomes a digest in which every alert is visible, and is recorded as
delivered only once the message showing it was accepted (issue 13, point 9).

The real pipeline (collect, process with the real classifier, ``alert_batches``, the ledger) posts
to the strict local Slack API; "visible" is read back from the messages that server accepted.
Faults are injected the way ``tests/faults`` does: a store that fails one chosen write (a worker
killed there), and Slack refusing a part.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from socialhub.alerting import alert_batches
from socialhub.alerts.ledger import AlertLedger
from socialhub.alerts.model import alert_id_for
from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import SlackSink
from socialhub.classify import load_classifier
from socialhub.collect import collect_account
from socialhub.errors import SocialhubError, StorageError
from socialhub.models import from_jsonl
from socialhub.process import pending_batches, process_batch
from socialhub.storage import LocalStore
from tests.review._pipeline import ROUTING, ListConnector, watchlist_entry
from tests.servers.slack_api import SlackAPIServer

from ._factory import TOKEN

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNEL = "#on-duty"


def review_url(alert_id: str) -> str:
    return f"https://airflow.example/review/{alert_id}"


class FlakyStore(LocalStore):
    """Fails the ``nth`` write whose key starts with ``prefix``: the worker dies right there."""

    def __init__(self, root: Path, prefix: str = "", nth: int = 0) -> None:
        super().__init__(root)
        self.prefix, self.nth, self.seen = prefix, nth, 0

    def _check(self, key: str) -> None:
        if self.prefix and key.startswith(self.prefix):
            self.seen += 1
            if self.seen == self.nth:
                raise StorageError(f"injected failure writing {key}")

    def put(self, key: str, data: bytes, **kw: Any) -> Any:
        self._check(key)
        return super().put(key, data, **kw)

    def put_state(self, key: str, data: bytes) -> Any:
        self._check(key)
        return super().put_state(key, data)


def burst(store: LocalStore, n: int) -> tuple[str, set[str]]:
    """A processed batch of ``n`` threats from one account (one channel): (batch id, alert ids)."""
    texts = {str(i): f"gonna stab him number {i} when we catch him lacking" for i in range(1, n + 1)}
    out = collect_account(store, watchlist_entry(), ListConnector(texts, NOW), NOW)
    assert out.status == "ok", out.error
    record = process_batch(store, out.batch_id, classifier=load_classifier())
    flagged = {alert_id_for("mastodon", r["post_id"]) for r in from_jsonl(store.get(record["outputs"]["flagged"]))}
    assert len(flagged) == n, "the classifier no longer flags every post of the burst: pick other texts"
    return out.batch_id, flagged


def sink_for(slack: SlackAPIServer, **kw: Any) -> SlackSink:
    client = WebClient(token=TOKEN, base_url=slack.base_url, timeout=5, retry_handlers=[])
    return SlackSink(client, sleep=lambda s: None, now=lambda: NOW, **kw)


def run(store: LocalStore, batch: str, sink: Any) -> dict[str, Any]:
    return alert_batches(store, [batch], sink=sink, routing=Routing.from_dict(ROUTING), now=NOW,
                         digest_threshold=10, review_url=review_url)


def shown(slack: SlackAPIServer) -> dict[str, list[str]]:
    """alert id -> ts of every accepted message that *shows* it: an item whose text names the alert
    and carries its author, authorisation, why-flagged line, and Review and Post buttons."""
    out: dict[str, list[str]] = {}
    for message in slack.messages:
        assert message.channel == CHANNEL
        blocks = message.blocks or []
        for block in blocks:
            if block["type"] != "section" or not block.get("block_id", "").startswith("item_"):
                continue
            text = block["text"]["text"]
            alert_id = text.rsplit("\nAlert ", 1)[1]
            assert "author acct" in text and "Authorisation AUTH-9" in text and "\nWhy flagged: threat: “" in text
            assert "posted Wed 25 Nov 2026 11:50 GMT (11:50 UTC)" in text          # local time and UTC
            assert "chars " not in text and "weight " not in text and "(?" not in text   # plain words only
            assert "“gonna stab him number " in text and "met / gangs" in text
            links = next(b for b in blocks if b.get("block_id") == block["block_id"] + "_links")
            assert {e["value"] for e in links["elements"]} == {alert_id}
            assert [e["url"] for e in links["elements"]][0] == review_url(alert_id)
            assert "truncated" not in text
            out.setdefault(alert_id, []).append(message.ts)
        # The metadata (how a crash is recovered) names exactly the alerts the message shows.
        listed = set(message.metadata["event_payload"]["alert_ids"].split(","))
        assert listed == {a for a, ts in out.items() if message.ts in ts}
    return out


def assert_recorded_only_as_shown(store: LocalStore, seen: dict[str, list[str]], alerts: set[str]) -> None:
    ledger = AlertLedger(store)
    for alert_id in alerts:
        entry = ledger.delivered(alert_id)
        if entry is None:
            assert alert_id not in seen, f"{alert_id} was shown but not recorded"
            continue
        assert entry["delivery"]["message_id"] in seen.get(alert_id, []), f"{alert_id} recorded, never shown"


@pytest.mark.parametrize("n", [25, 120])
def test_burst_every_alert_is_shown_once_and_recorded(n: int, slack: SlackAPIServer, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    batch, alerts = burst(store, n)

    summary = run(store, batch, sink_for(slack))

    assert slack.errors == []
    seen = shown(slack)
    assert set(seen) == alerts and all(len(ts) == 1 for ts in seen.values())    # every one, once
    assert summary["delivered"] == n and summary["digests"] == len(slack.messages) > 1
    assert len(slack.messages) >= -(-n // 24)            # 50 blocks: at most 24 items a message
    assert all(len(m.blocks or []) <= 50 for m in slack.messages)
    assert_recorded_only_as_shown(store, seen, alerts)
    assert all(AlertLedger(store).delivered(a) for a in alerts) and pending_batches(store) == []
    assert run(store, batch, sink_for(slack))["delivered"] == 0 and len(shown(slack)) == n   # nothing again


def test_worker_killed_between_parts_leaves_the_rest_pending(slack: SlackAPIServer, tmp_path: Path) -> None:
    """25 alerts -> parts of 13 and 12. The worker dies marking the 14th intent: part 1 was sent and
    recorded, part 2 never left. The 12 stay pending (no ledger entry, batch still queued) and the
    next run sends them, once."""
    store = FlakyStore(tmp_path / "store", "alerts/intent/", nth=14)
    batch, alerts = burst(store, 25)

    with pytest.raises(StorageError, match="injected"):
        run(store, batch, sink_for(slack))

    seen = shown(slack)
    assert len(slack.messages) == 1 and len(seen) == 13
    assert_recorded_only_as_shown(store, seen, alerts)
    recorded = {a for a in alerts if AlertLedger(store).delivered(a)}
    assert recorded == set(seen) and pending_batches(store) == [batch]

    summary = run(store, batch, sink_for(slack))       # the next run
    seen = shown(slack)
    assert set(seen) == alerts and all(len(ts) == 1 for ts in seen.values())
    assert summary["delivered"] == 12 and summary["already_alerted"] == 13 and len(slack.messages) == 2
    assert_recorded_only_as_shown(store, seen, alerts)
    assert pending_batches(store) == []


def test_slack_refusing_the_second_part_records_only_the_first(slack: SlackAPIServer, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    batch, alerts = burst(store, 25)
    sink = sink_for(slack, max_attempts=2)
    real = sink.send_payload
    calls = []

    def second_part_fails(payload: Any, channel: str, **kw: Any) -> Any:
        calls.append(kw["key"])
        if len(calls) == 2:
            slack.fail_all(500)
        return real(payload, channel, **kw)

    sink.send_payload = second_part_fails       # type: ignore[method-assign]
    with pytest.raises(SocialhubError):
        run(store, batch, sink)
    seen = shown(slack)
    assert len(seen) == 13
    assert {a for a in alerts if AlertLedger(store).delivered(a)} == set(seen)
    assert pending_batches(store) == [batch]

    slack.reset()
    summary = run(store, batch, sink_for(slack))   # Slack is back: the 12 intents are looked up, not found, sent
    assert summary["delivered"] == 12 and len(slack.messages) == 1 and len(shown(slack)) == 12
    assert all(AlertLedger(store).delivered(a) for a in alerts)


def test_killed_after_a_part_was_sent_before_it_was_recorded(slack: SlackAPIServer, tmp_path: Path) -> None:
    """Part 2 reached Slack, the worker died writing its first ledger entry: the next run finds the
    part in the channel's history and records its alerts without posting them again."""
    store = FlakyStore(tmp_path / "store", "alerts/ledger/", nth=14)
    batch, alerts = burst(store, 25)
    with pytest.raises(StorageError, match="injected"):
        run(store, batch, sink_for(slack))
    assert len(slack.messages) == 2 and set(shown(slack)) == alerts

    summary = run(store, batch, sink_for(slack))
    assert len(slack.messages) == 2 and summary["delivered"] == 0 and summary["already_alerted"] == 25
    seen = shown(slack)
    assert all(len(ts) == 1 for ts in seen.values())
    assert_recorded_only_as_shown(store, seen, alerts)
    assert all(AlertLedger(store).delivered(a) for a in alerts) and pending_batches(store) == []


@pytest.mark.parametrize("public", ["https://airflow.hub.example.police.uk", "none"])
def test_every_digest_item_can_be_reviewed(public: str, slack: SlackAPIServer, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No review_url from the caller: the public Airflow address decides; without one, every item
    (and the top of each part) says where to review instead of showing a dead link."""
    monkeypatch.setenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", public)
    store = LocalStore(tmp_path / "store")
    batch, alerts = burst(store, 25)
    alert_batches(store, [batch], sink=sink_for(slack), routing=Routing.from_dict(ROUTING), now=NOW,
                  digest_threshold=10)
    assert slack.errors == [] and len(slack.messages) >= 2
    items = 0
    for message in slack.messages:
        blocks = message.blocks or []
        head = [e["text"] for e in blocks[1]["elements"]]
        for block in blocks:
            if block["type"] != "section" or not block.get("block_id", "").startswith("item_"):
                continue
            items += 1
            text = block["text"]["text"]
            alert_id = text.rsplit("\nAlert ", 1)[1]
            links = next(b for b in blocks if b.get("block_id") == block["block_id"] + "_links")["elements"]
            review = [e["url"] for e in links if e["action_id"].startswith("open_review")]
            if public == "none":
                assert review == [] and "No Review link: see the note at the top" in text
                assert any("search for an item's alert id" in h for h in head)
            else:
                assert review == [f"{public}/required_actions?subject_search={alert_id}"]
                assert "No Review link" not in text and not any("No Review links" in h for h in head)
    assert items == 25
