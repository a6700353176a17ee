"""The explain index: built incrementally, a cache that can be deleted, progress on stderr."""

from __future__ import annotations

import json
from datetime import timedelta

from socialhub.alerting import alert_batches
from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink
from socialhub.classify import load_classifier
from socialhub.cli import main
from socialhub.collect import collect_account
from socialhub.explain import index as index_module
from socialhub.explain.index import ExplainIndex, default_index_path
from socialhub.explain.report import explain
from socialhub.explain.urls import parse_target
from socialhub.process import process_batch
from socialhub.storage import LocalStore
from tests.review._pipeline import NOW, ROUTING, ListConnector, populate, watchlist_entry


def _store(tmp_path) -> LocalStore:
    store = LocalStore(tmp_path / "store")
    populate(store, OutboxSink(tmp_path / "outbox"))
    return store


def _explain(store, target: str, capsys) -> dict:
    assert main(["explain", target, "--store", str(store.root), "--json", "--by", "t"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_batch_added_after_the_first_call_is_found_on_the_second(tmp_path, capsys):
    store = _store(tmp_path)
    assert _explain(store, "mastodon:2", capsys)["outcome"] == "alerted"
    assert _explain(store, "mastodon:9", capsys)["outcome"] == "never_collected"
    # a second collection run: one new post, processed and alerted by the real stages
    later = NOW + timedelta(hours=2)
    texts = {"9": "gonna stab him when we catch him lacking"}
    out = collect_account(store, watchlist_entry(), ListConnector(texts, later), later)
    process_batch(store, out.batch_id, classifier=load_classifier())
    alert_batches(store, [out.batch_id], sink=OutboxSink(tmp_path / "outbox"), routing=Routing.from_dict(ROUTING),
                  now=later)
    index = ExplainIndex(store)
    stats = index.update()
    assert (stats.batches, stats.posts, stats.alerts) == (1, 1, 1)     # only what is new was read
    assert index.update().batches == 0
    index.close()
    r = _explain(store, "mastodon:9", capsys)
    assert r["outcome"] == "alerted" and r["collection"]["batch_id"] == out.batch_id


def test_the_index_is_a_cache_deleting_it_loses_nothing(tmp_path, capsys):
    store = _store(tmp_path)
    first = _explain(store, "mastodon:3", capsys)
    path = default_index_path(store)
    assert path.exists() and path.parent.name == "cache" and path.name.startswith("explain-")
    path.unlink()
    again = _explain(store, "mastodon:3", capsys)
    assert path.exists()
    drop = ("generated_at",)
    assert {k: v for k, v in first.items() if k not in drop} == {k: v for k, v in again.items() if k not in drop}
    index = ExplainIndex(store)
    assert index.counts() == {"batches": 1, "posts": 4, "alerts": 3}
    index.close()


def test_a_damaged_index_file_is_rebuilt(tmp_path):
    store = _store(tmp_path)
    path = tmp_path / "damaged.sqlite"
    path.write_bytes(b"this is not a SQLite file" * 100)
    index = ExplainIndex(store, path)
    assert index.update().rebuilt is True and index.find(parse_target("mastodon:2"))
    index.close()


def test_progress_is_printed_when_many_batches_are_new(tmp_path, monkeypatch):
    store = _store(tmp_path)
    monkeypatch.setattr(index_module, "PROGRESS_AT", 1)
    said: list[str] = []
    index = ExplainIndex(store, tmp_path / "i.sqlite", progress=said.append)
    explain(store, parse_target("mastodon:2"), index=index, entries=[], watchlist_source="test")
    assert said[0].startswith("indexing 1 new batch(es), 3 alert(s) and about 0 audit event(s)")
    assert said[1].startswith("indexing 1 new batch(es) (4 posts)") and " ... done in " in said[1]
    said.clear()
    explain(store, parse_target("mastodon:2"), index=index, entries=[], watchlist_source="test")
    assert said == []                                                   # nothing new: quiet
    index.close()


def test_progress_goes_to_stderr_by_default(tmp_path, monkeypatch, capsys):
    store = _store(tmp_path)
    monkeypatch.setattr(index_module, "PROGRESS_AT", 1)
    ExplainIndex(store, tmp_path / "i.sqlite").update()
    err = capsys.readouterr().err
    assert "indexing 1 new batch(es)" in err and "done in" in err


def test_lookup_does_not_list_curated_objects(tmp_path, monkeypatch):
    """Once indexed, a lookup reads the post's own objects only: it never lists curated/."""
    store = _store(tmp_path)
    index = ExplainIndex(store, tmp_path / "i.sqlite")
    index.update()
    listed: list[str] = []
    real = LocalStore.list

    def spy(self, prefix=""):
        listed.append(prefix)
        return real(self, prefix)

    monkeypatch.setattr(LocalStore, "list", spy)
    r = explain(store, parse_target("mastodon:2"), index=index, entries=[], watchlist_source="test")
    assert r["outcome"] == "alerted"
    assert not any(p.startswith(("curated", "posts", "flagged", "raw")) for p in listed), listed
    index.close()


def test_a_store_started_again_at_the_same_place_gets_a_new_index(tmp_path, capsys):
    """`make demo-reset` deletes the store; the index of the old one (kept outside it) must not answer
    for the new one, whose audit events reuse the same numbers: it answers as a fresh index would."""
    import shutil

    store = _store(tmp_path)
    old = _explain(store, "mastodon:2", capsys)
    shutil.rmtree(store.root)
    shutil.rmtree(tmp_path / "outbox")
    store = LocalStore(tmp_path / "store")
    populate(store, OutboxSink(tmp_path / "outbox"), now=NOW + timedelta(days=1))
    index = ExplainIndex(store)
    assert index.rebuilt
    index.close()
    new = _explain(store, "mastodon:2", capsys)
    assert new["collection"]["captured_at"] != old["collection"]["captured_at"]
    default_index_path(store).unlink()
    fresh = _explain(store, "mastodon:2", capsys)
    drop = ("generated_at",)
    assert {k: v for k, v in new.items() if k not in drop} == {k: v for k, v in fresh.items() if k not in drop}


def test_audit_events_in_task_segments_are_indexed_once_in_time_order(tmp_path):
    from socialhub.audit.chain import AuditLog

    store = LocalStore(tmp_path / "store")
    actor = {"kind": "task", "dag_id": "socialhub_collect"}
    glob = AuditLog(store, keys=None, anchor=None)
    glob.append("legal_hold", actor=actor, obj="mastodon:acct", at=NOW + timedelta(minutes=5))
    with AuditLog(store, keys=None, anchor=None, segmented=True, segment_label="collect") as task:
        task.append("collect", actor=actor, obj="mastodon:acct", at=NOW)
        task.append("classify", actor=actor, obj="mastodon:acct", at=NOW + timedelta(minutes=10))
    index = ExplainIndex(store, tmp_path / "index.sqlite")
    assert index.update().audit_events == 4            # the global event and the seal, both segment events
    assert [e["action"] for e in index.audit_events("mastodon:acct")] == ["collect", "legal_hold", "classify"]
    assert index.update().audit_events == 0            # nothing new: nothing read again
    index.close()
