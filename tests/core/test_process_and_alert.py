"""The processing and alert stages on a real local store, classifier and GE suite."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from socialhub.alerting import alert_batches
from socialhub.alerts.ledger import AlertLedger
from socialhub.alerts.model import alert_id_for
from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink
from socialhub.classify import load_classifier
from socialhub.collect import collect_account
from socialhub.errors import StorageError
from socialhub.models import Post, from_jsonl, raw_sha256, utc_iso
from socialhub.process import pending_batches, process_batch, result_key
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import parse_watchlist

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
ENTRY = parse_watchlist("""
accounts:
  - platform: mastodon
    account: acct@x.social
    display_name: Account
    force: met
    team: gangs
    owner: DS Example
    authorisation_ref: AUTH-9
    purpose: Public threats between two named groups.
    review_by: 2030-01-01
""").accounts[0]

TEXTS = {
    "1": "lovely roast dinner today with the family",
    "2": "gonna stab him when we catch him lacking",
    "3": "bando open 24/7, runners wanted, link on snap",
    "4": "great goal at the weekend, 3-0 win",
}


class ListConnector(Connector):
    platform = "mastodon"

    def __init__(self, texts: dict[str, str], bad: set[str] = frozenset(), at: datetime = NOW):
        super().__init__(ConnectorConfig(base_url="http://fake"))
        self.texts, self.bad, self.at = dict(texts), bad, at

    def fetch(self, account, cursor):
        since = int((cursor or {}).get("since_id", 0))
        new = sorted((k for k in self.texts if int(k) > since), key=int)
        items = [{"id": k, "content": self.texts[k]} for k in new]
        posts = [Post("mastodon", account, k, "not a url" if k in self.bad else f"https://x.social/@a/{k}",
                      "a", self.texts[k], utc_iso(self.at - timedelta(minutes=10)), utc_iso(self.at), [],
                      raw_sha256(it))
                 for k, it in zip(new, items)]
        return FetchResult(posts, items, {"since_id": max(map(int, new), default=since)})


@pytest.fixture()
def store(tmp_path):
    return LocalStore(tmp_path / "store")


@pytest.fixture()
def routing():
    return Routing.from_dict({"version": 1, "default": {"on_duty": "#on-duty", "escalation": "#esc"},
                              "platform_team": "#platform"})


def collect(store, texts, bad=frozenset(), now=NOW):
    out = collect_account(store, ENTRY, ListConnector(texts, bad), now)
    assert out.status == "ok", out.error
    return out.batch_id


def test_process_quarantines_classifies_and_is_idempotent(store):
    batch = collect(store, TEXTS, bad={"4"})
    rec = process_batch(store, batch, classifier=load_classifier())
    assert (rec["posts"], rec["valid"], rec["quarantined"]) == (4, 3, 1)
    quarantined = from_jsonl(store.get(rec["outputs"]["quarantine"]))
    assert quarantined[0]["post_id"] == "4" and any("url" in r for r in quarantined[0]["quarantine_reasons"])
    flagged = {r["post_id"]: r for r in from_jsonl(store.get(rec["outputs"]["flagged"]))}
    assert set(flagged) == {"2", "3"}
    assert "violence_threat" in flagged["2"]["classification"]["labels"]
    assert "drug_supply" in flagged["3"]["classification"]["labels"]
    assert flagged["2"]["classification"]["reasons"] and flagged["2"]["authorisation_ref"] == "AUTH-9"
    before = sorted(store.list(""))
    assert process_batch(store, batch, classifier=load_classifier()) == rec
    assert sorted(store.list("")) == before


def test_mostly_bad_batch_is_held_not_lost(store):
    batch = collect(store, TEXTS, bad={"1", "2", "3"})
    rec = process_batch(store, batch, classifier=load_classifier(), max_bad_fraction=0.5)
    assert rec["status"] == "held" and "quality gate failed: 3/4" in rec["error"]
    assert store.exists(layout.queue_key("held", batch)) and not store.exists(layout.queue_key("pending", batch))
    assert len(from_jsonl(store.get(rec["outputs"]["quarantine"]))) == 3
    assert pending_batches(store) == []


def test_alerts_once_across_reruns(store, routing, tmp_path):
    outbox = OutboxSink(tmp_path / "outbox")
    batch = collect(store, TEXTS)
    process_batch(store, batch, classifier=load_classifier())
    first = alert_batches(store, [batch], sink=outbox, routing=routing, now=NOW)
    assert first["delivered"] == 2 and first["batches_done"] == 1
    assert store.exists(layout.queue_key("done", batch)) and pending_batches(store) == []
    again = alert_batches(store, [batch], sink=outbox, routing=routing, now=NOW)
    assert again["delivered"] == 0 and again["already_alerted"] == 2
    files = sorted(p.name for p in (tmp_path / "outbox").glob("*.json"))
    assert files == sorted(f"{alert_id_for('mastodon', k)}.json" for k in ("2", "3"))


def test_crash_between_send_and_record_does_not_resend(store, routing, tmp_path):
    outbox = OutboxSink(tmp_path / "outbox")
    batch = collect(store, TEXTS)
    process_batch(store, batch, classifier=load_classifier())

    class CrashOnRecord(AlertLedger):
        def record(self, *a, **kw):
            raise StorageError("injected crash after sending")

    import socialhub.alerting as alerting

    real = alerting.AlertLedger
    alerting.AlertLedger = CrashOnRecord
    try:
        with pytest.raises(StorageError):
            alert_batches(store, [batch], sink=outbox, routing=routing, now=NOW)
    finally:
        alerting.AlertLedger = real
    lines_before = (tmp_path / "outbox" / "outbox.jsonl").read_text().splitlines()
    assert len(lines_before) == 1
    summary = alert_batches(store, [batch], sink=outbox, routing=routing, now=NOW)
    lines = (tmp_path / "outbox" / "outbox.jsonl").read_text().splitlines()
    assert len(lines) == 2                                  # the second item, sent once
    assert summary["delivered"] == 1 and summary["already_alerted"] == 1
    for k in ("2", "3"):
        assert AlertLedger(store).delivered(alert_id_for("mastodon", k))


def test_burst_becomes_one_digest(store, routing, tmp_path):
    outbox = OutboxSink(tmp_path / "outbox")
    texts = {str(i): f"gonna stab him number {i} when we catch him lacking" for i in range(1, 15)}
    batch = collect(store, texts)
    process_batch(store, batch, classifier=load_classifier())
    summary = alert_batches(store, [batch], sink=outbox, routing=routing, now=NOW, digest_threshold=10)
    assert summary["digests"] == 1 and summary["delivered"] == 14
    assert len((tmp_path / "outbox" / "outbox.jsonl").read_text().splitlines()) == 1
    assert alert_batches(store, [batch], sink=outbox, routing=routing, now=NOW)["delivered"] == 0


def test_unprocessed_batch_stays_pending(store, routing, tmp_path):
    batch = collect(store, TEXTS)
    summary = alert_batches(store, [batch], sink=OutboxSink(tmp_path / "o"), routing=routing, now=NOW)
    assert summary["batches_done"] == 0 and pending_batches(store) == [batch]
    assert not store.exists(result_key(batch))
    assert json.loads(store.get(layout.queue_key("pending", batch)))["batch_id"] == batch


def test_the_subject_category_travels_from_the_watchlist_to_the_alert(store, routing, tmp_path):
    from socialhub.process import load_manifest

    victim = ENTRY.model_copy(update={"subject": "victim"})
    out = collect_account(store, victim, ListConnector(TEXTS), NOW)
    assert load_manifest(store, out.batch_id)["subject"] == "victim"
    rec = process_batch(store, out.batch_id, classifier=load_classifier())
    assert rec["subject"] == "victim"
    assert {r["subject"] for r in from_jsonl(store.get(rec["outputs"]["curated"]))} == {"victim"}
    alert_batches(store, [out.batch_id], sink=OutboxSink(tmp_path / "outbox"), routing=routing, now=NOW)
    text = (tmp_path / "outbox" / f"{alert_id_for('mastodon', '2')}.json").read_text(encoding="utf-8")
    assert "Subject\\nvictim — safeguarding, not enforcement" in text


def test_a_manifest_from_before_the_subject_category_still_processes_and_alerts(store, routing, tmp_path):
    from socialhub.process import _manifest_key, load_manifest

    batch = collect(store, TEXTS)
    manifest = load_manifest(store, batch)
    del manifest["subject"]
    key = _manifest_key(store, batch)
    store.delete(key)
    store.put(key, json.dumps(manifest).encode(), content_type="application/json")
    rec = process_batch(store, batch, classifier=load_classifier())
    assert rec["status"] == "processed" and "subject" not in rec
    assert not any("subject" in r for r in from_jsonl(store.get(rec["outputs"]["flagged"])))
    assert alert_batches(store, [batch], sink=OutboxSink(tmp_path / "outbox"), routing=routing, now=NOW)["delivered"] == 2
    text = (tmp_path / "outbox" / f"{alert_id_for('mastodon', '2')}.json").read_text(encoding="utf-8")
    assert "Subject\\nnot recorded" in text
