"""Audit segments: each writer (task) its own chained segment, sealed on the global chain.

The attacker can write the whole store but holds neither the audit key nor more than add access
to the anchor. Clocks are pinned (``at=``, ``now=``).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest

from socialhub.audit.anchor import AnchorPolicy, FileAnchor
from socialhub.audit.chain import (
    HEAD,
    PREFIX,
    SEAL_ACTION,
    SEGMENTS,
    AuditLog,
    event_hash,
    event_id,
    event_key,
    seal,
    segment_key,
    verify_chain,
)
from socialhub.audit.checkpoint import write_checkpoint
from socialhub.audit.keys import AuditKeys
from socialhub.audit.segments import close_stale_segments
from socialhub.cli import main
from socialhub.errors import ImmutableObjectError
from socialhub.models import canonical_json
from socialhub.storage import LocalStore

ACTOR = {"kind": "task", "dag_id": "d", "task_id": "t", "run_id": "r"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SOON = T0 + timedelta(hours=1)        # within the 12-hour grace period
LATER = T0 + timedelta(hours=13)      # after it


def keys(text: str = f"k2026a:{'a1' * 32}") -> AuditKeys:
    parsed = AuditKeys.parse(text)
    assert parsed is not None
    return parsed


K = keys()
ATTACKER = keys(f"k2026a:{'ee' * 32}")   # the attacker's own secret under the real key id


@pytest.fixture()
def store(tmp_path):
    return LocalStore(tmp_path / "store")


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for var in ("SOCIALHUB_AUDIT_KEYS", "SOCIALHUB_AUDIT_ANCHOR", "SOCIALHUB_AUDIT_ANCHOR_EVERY"):
        monkeypatch.delenv(var, raising=False)
    for var in ("AIRFLOW_CTX_DAG_ID", "AIRFLOW_CTX_TASK_ID", "AIRFLOW_CTX_MAP_INDEX"):
        monkeypatch.delenv(var, raising=False)


def writer(store, k=K, anchor=None, label=None):
    return AuditLog(store, keys=k, anchor=anchor, segmented=True, segment_label=label,
                    anchor_policy=AnchorPolicy(every_events=1), clock=lambda: T0)


def segment(store, n, k=K, anchor=None, label="dag.task", start=0, close=True):
    """A writer's segment of ``n`` events at T0 + i minutes, sealed (at the last event's time) unless ``close``
    is False; its id."""
    w = writer(store, k, anchor, label)
    for i in range(start, start + n):
        w.append("collect", actor=ACTOR, obj=f"mastodon:acct{i}", hashes={"raw": f"{i:064x}"},
                 at=T0 + timedelta(minutes=i))
    sid = w.segment
    if close:
        w.close(at=T0 + timedelta(minutes=start + n))
    return sid


def seg_keys(store, sid):
    return sorted(k for k in store.list(f"{SEGMENTS}{sid}/") if k.rsplit("/", 1)[1][:-5].isdigit())


def _writable(path):
    if path.exists():
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def replace(store, key, data: bytes | None):
    path = store.root / key
    _writable(path)
    if data is None:
        path.unlink()
    else:
        path.write_bytes(data)


def verify(store, k=K, anchor=None, now=SOON, **kw):
    return verify_chain(store, keys=k, anchor=anchor, now=now, **kw)


# --- writing ----------------------------------------------------------------------------------------


def test_a_writer_writes_one_object_per_event_and_one_seal_on_the_global_chain(store):
    AuditLog(store, keys=K, anchor=None).append("access", actor=ACTOR, obj="legacy", at=T0)
    sid = segment(store, 5)
    assert sid is not None and sid.endswith("-dag.task") and sid.startswith("20")
    assert seg_keys(store, sid) == [segment_key(sid, n) for n in range(5)]
    stored = [json.loads(store.get(k)) for k in seg_keys(store, sid)]
    assert [e["n"] for e in stored] == list(range(5)) and all(e["segment"] == sid for e in stored)
    assert stored[0]["after"]["seq"] == 0 and "after" not in stored[1]     # begun after the legacy event
    assert all("mac" in e and "body_mac" in e for e in stored)
    globals_ = [json.loads(store.get(k)) for k in store.list(PREFIX)]
    assert len(globals_) == 2 and globals_[1]["action"] == SEAL_ACTION
    d = globals_[1]["details"]
    assert (d["segment"], d["count"], d["last_hash"], d["closed_by"]) == (sid, 5, stored[-1]["hash"], "writer")
    assert "mac" in globals_[1]
    result = verify(store)
    assert result.ok, result.describe()
    assert (result.events, result.segments, result.segment_events) == (2, 1, 5)
    assert "5 event(s) in 1 segment(s)" in result.headline()


def test_an_event_is_stored_when_append_returns_and_closing_twice_seals_once(store):
    w = writer(store)
    ev = w.append("collect", actor=ACTOR, obj="x", at=T0)
    assert json.loads(store.get(segment_key(ev["segment"], 0)))["hash"] == ev["hash"]
    assert w.close(at=T0) is not None and w.close(at=T0) is None
    again = w.append("collect", actor=ACTOR, obj="y", at=T0)      # a new segment after closing
    assert again["segment"] != ev["segment"] and again["n"] == 0
    w.close(at=T0)
    assert len(store.list(PREFIX)) == 2 and verify(store).ok


def test_events_yields_legacy_and_segment_events_in_time_order_without_seals(store):
    legacy = AuditLog(store, keys=K, anchor=None)
    legacy.append("access", actor=ACTOR, obj="first", at=T0 - timedelta(minutes=1))
    sid = segment(store, 3)                                    # T0, T0+1, T0+2
    legacy.append("access", actor=ACTOR, obj="last", at=T0 + timedelta(hours=1))
    objs = [e["object"] for e in AuditLog(store).events()]
    assert objs == ["first", "mastodon:acct0", "mastodon:acct1", "mastodon:acct2", "last"]
    ids = [event_id(e) for e in AuditLog(store).events()]
    assert ids == [0, f"{sid}/0", f"{sid}/1", f"{sid}/2", 2]    # the seal is global event 1
    assert [e["action"] for e in AuditLog(store).events(include_seals=True)].count(SEAL_ACTION) == 1


def test_parallel_writers_never_contend_for_the_global_sequence_while_appending(store, monkeypatch):
    global_puts, conflicts = [], []
    real_put = store.put

    def counting_put(key, data, **kw):
        if key.startswith(PREFIX):
            global_puts.append(key)
        try:
            return real_put(key, data, **kw)
        except ImmutableObjectError:
            conflicts.append(key)
            raise

    monkeypatch.setattr(store, "put", counting_put)
    writers = [writer(store, label=f"w{i}") for i in range(6)]
    barrier = threading.Barrier(len(writers))

    def run(w):
        barrier.wait()
        for i in range(15):
            w.append("collect", actor=ACTOR, obj=f"acct{i}", at=T0)

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert global_puts == [] and conflicts == []          # 90 events, not one write to the global sequence
    closers = [threading.Thread(target=w.close) for w in writers]
    for t in closers:
        t.start()
    for t in closers:
        t.join()
    seals = [json.loads(store.get(k)) for k in store.list(PREFIX)]
    assert len(seals) == 6 and {s["details"]["count"] for s in seals} == {15}
    assert len(conflicts) == sum(w.conflicts for w in writers)   # only the six seals could race
    result = verify(store)
    assert result.ok, result.describe()
    assert (result.segments, result.segment_events) == (6, 90)


def test_one_writer_shared_by_threads_keeps_its_segment_linear(store):
    w = writer(store)
    threads = [threading.Thread(target=lambda j=j: [w.append("collect", actor=ACTOR, obj=f"{j}-{i}", at=T0)
                                                    for i in range(20)]) for j in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.close(at=T0)
    result = verify(store)
    assert result.ok and result.segment_events == 80, result.describe()


# --- tampering ----------------------------------------------------------------------------------------


def test_an_edited_segment_event_is_bad_hash(store):
    sid = segment(store, 5)
    key = seg_keys(store, sid)[2]
    ev = json.loads(store.get(key))
    ev["object"] = "mastodon:someone_else"
    replace(store, key, canonical_json(ev))
    result = verify(store)
    assert not result.ok and result.kinds[0] == "bad_hash"
    assert (result.first_bad_segment, result.first_bad) == (sid, 2)
    assert f"at event {sid}/2 (bad_hash)" in result.headline()


def test_a_rewritten_and_rehashed_segment_is_named_rewritten_by_the_key(store):
    sid = segment(store, 5)
    events = [json.loads(store.get(k)) for k in seg_keys(store, sid)]
    events[2]["object"] = "mastodon:someone_else"
    prev = events[1]["hash"]
    for ev in events[2:]:                    # re-hash from there: the MACs are carried over (no key)
        ev["prev"] = prev
        ev["hash"] = event_hash(ev)
        prev = ev["hash"]
    for ev in events[2:]:
        replace(store, segment_key(sid, ev["n"]), canonical_json(ev))
    result = verify(store)
    assert not result.ok
    assert result.findings[0].kind == "rewritten" and result.findings[0].segment == sid
    assert result.findings[0].seq == 2
    unkeyed = verify(store, k=None)           # without the key, the seal still says the segment changed
    assert not unkeyed.ok and unkeyed.kinds[0] == "rewritten" and "after it was sealed" in unkeyed.problem


def test_a_deleted_segment_event_is_a_gap_and_renumbering_is_removed(store):
    sid = segment(store, 6)
    keys_ = seg_keys(store, sid)
    replace(store, keys_[3], None)
    result = verify(store)
    assert not result.ok and result.kinds[0] == "gap" and result.first_bad == 3
    # the attacker renumbers and re-hashes the rest of the segment instead
    events = [json.loads((store.root / k).read_text()) for k in keys_ if (store.root / k).exists()]
    for k in keys_:
        if (store.root / k).exists():
            replace(store, k, None)
    prev = events[2]["hash"]
    for n, ev in enumerate(events[3:], 3):
        ev.update(n=n, prev=prev)
        ev["hash"] = event_hash(ev)
        prev = ev["hash"]
    for n, ev in enumerate(events):
        (store.root / segment_key(sid, n)).write_bytes(canonical_json(ev))
    result = verify(store)
    assert not result.ok and result.kinds[0] == "removed", result.describe()
    assert result.findings[0].segment == sid
    unkeyed = verify(store, k=None)           # no key: the seal's count tells
    assert not unkeyed.ok and unkeyed.kinds[0] == "truncated"


def test_a_cut_off_segment_end_is_truncated(store):
    sid = segment(store, 5)
    replace(store, seg_keys(store, sid)[-1], None)
    replace(store, seg_keys(store, sid)[-1], None)
    result = verify(store)
    assert not result.ok and result.kinds[0] == "truncated" and result.first_bad == 3
    assert "events 3..4 were removed" in result.problem


def test_a_deleted_segment_is_segment_missing(store):
    sid = segment(store, 3)
    segment(store, 2, label="other", start=10)
    for k in store.list(f"{SEGMENTS}{sid}/"):
        replace(store, k, None)
    result = verify(store)
    assert not result.ok and result.kinds == ["segment_missing", "unanchored"]
    assert result.findings[0].segment == sid and "the whole segment was deleted" in result.problem


def test_events_added_to_a_sealed_segment_are_inserted(store):
    sid = segment(store, 3)
    last = json.loads(store.get(seg_keys(store, sid)[-1]))
    extra = seal({"segment": sid, "n": 3, "prev": last["hash"], "time": "2026-03-02T09:10:00Z", "actor": ACTOR,
                  "action": "collect", "object": "forged", "force": None, "justification": None, "hashes": {},
                  "details": {}}, ATTACKER)
    (store.root / segment_key(sid, 3)).write_bytes(canonical_json(extra))
    for k in (K, None):                       # the seal's count says it, with or without the key
        result = verify(store, k=k)
        assert not result.ok and result.kinds[0] == "inserted", result.describe()
        assert (result.first_bad_segment, result.first_bad) == (sid, 3)
        assert "events 3..3 were added after it was sealed" in result.problem


def test_a_seal_forged_without_the_key_to_hide_a_cut_is_rewritten(store):
    sid = segment(store, 5)
    replace(store, seg_keys(store, sid)[-1], None)             # cut the last event ...
    seal_key = store.list(PREFIX)[-1]
    forged = json.loads(store.get(seal_key))                   # ... and rewrite the seal to match
    forged["details"].update(count=4, last_hash=json.loads(store.get(seg_keys(store, sid)[-1]))["hash"])
    forged["hash"] = event_hash(forged)
    replace(store, seal_key, canonical_json(forged))
    replace(store, HEAD, canonical_json({"seq": forged["seq"], "hash": forged["hash"]}))
    result = verify(store)
    assert not result.ok and result.kinds[0] == "rewritten" and result.first_bad == forged["seq"]
    assert result.first_bad_segment is None                     # the global chain's seal, not the segment


def test_a_whole_forged_segment_with_a_forged_seal_is_caught(store):
    segment(store, 2)
    mallory = writer(store, k=ATTACKER, label="forged")          # the real key id, the attacker's secret
    mallory.append("collect", actor=ACTOR, obj="made-up", at=T0)
    mallory.close(at=T0)
    result = verify(store)
    assert not result.ok and result.kinds[0] == "rewritten"
    assert (result.first_bad, result.first_bad_segment) == (1, None)          # the forged seal, global event 1
    forged = [f for f in result.failures if f.segment is not None]
    assert [f.kind for f in forged] == ["rewritten"] and forged[0].segment.endswith("-forged")


def test_cutting_the_newest_segments_off_is_truncated_by_the_anchor(store, tmp_path):
    anchor = FileAnchor(tmp_path / "anchor" / "audit-anchors.jsonl")
    segment(store, 2, anchor=anchor)
    sid = segment(store, 3, anchor=anchor, start=5)
    seal_key = store.list(PREFIX)[-1]
    for k in [*store.list(f"{SEGMENTS}{sid}/"), seal_key]:     # the whole segment and its seal
        replace(store, k, None)
    first = json.loads(store.get(store.list(PREFIX)[0]))
    replace(store, HEAD, canonical_json({"seq": 0, "hash": first["hash"]}))
    result = verify(store, anchor=anchor)
    assert not result.ok and result.kinds[0] == "truncated"


# --- crashed writers --------------------------------------------------------------------------------


def test_a_crashed_writers_segment_is_open_then_unsealed_then_closed_late_by_housekeeping(store):
    segment(store, 2, label="fine")
    sid = segment(store, 3, label="crashed", start=5, close=False)   # the task died: no seal
    young = verify(store, now=SOON)
    assert young.ok and "segment_open" in young.kinds and young.open_segments == [sid]
    assert close_stale_segments(store, K, None, now=SOON) == []          # within the grace period: left alone
    old = verify(store, now=LATER)
    assert not old.ok and old.kinds[0] == "segment_unsealed" and old.first_bad_segment == sid
    sealed = close_stale_segments(store, K, None, now=LATER, actor={"kind": "task", "task_id": "verify_audit"})
    assert [s["details"]["segment"] for s in sealed] == [sid]
    assert sealed[0]["details"]["closed_by"] == "housekeeping" and sealed[0]["details"]["count"] == 3
    after = verify(store, now=LATER)
    assert after.ok, after.describe()
    assert "segment_closed_late" in after.kinds and after.open_segments == []
    assert close_stale_segments(store, K, None, now=LATER) == []        # sealed once
    marker = [k for k in store.list(f"{SEGMENTS}{sid}/") if "sealed-" in k]
    replace(store, marker[0], None)              # a crash between the seal and its marker: no second seal
    assert close_stale_segments(store, K, None, now=LATER) == []
    assert len(store.list(PREFIX)) == 2 and verify(store, now=LATER).ok


def test_an_unkeyed_open_segment_in_a_keyed_log_is_mac_missing(store):
    segment(store, 2)
    forged = writer(store, k=None, label="forged")
    forged.append("collect", actor=ACTOR, obj="made-up", at=SOON)
    result = verify(store)
    assert not result.ok and "mac_missing" in result.kinds


def test_a_mixed_legacy_and_segmented_store_verifies_and_keeps_legacy_findings(store):
    legacy = AuditLog(store, keys=K, anchor=None)
    for i in range(4):
        legacy.append("access", actor=ACTOR, obj=f"legacy{i}", at=T0)
    segment(store, 3)
    legacy.append("access", actor=ACTOR, obj="legacy-after", at=T0)
    assert verify(store).ok
    replace(store, event_key(1), None)
    result = verify(store)
    assert not result.ok and result.kinds[0] == "gap" and result.first_bad == 1 and result.first_bad_segment is None


# --- incremental --------------------------------------------------------------------------------------


def test_incremental_verify_skips_segments_sealed_before_the_checkpoint(store, tmp_path, monkeypatch):
    anchor = FileAnchor(tmp_path / "anchor" / "audit-anchors.jsonl")
    for j in range(3):
        segment(store, 4, anchor=anchor, label=f"old{j}", start=10 * j)
    full = verify(store, anchor=anchor)
    assert full.ok, full.describe()
    write_checkpoint(store, full, K, anchor, by="tester")
    new = segment(store, 2, anchor=anchor, label="new", start=50)
    running = segment(store, 1, anchor=anchor, label="running", start=60, close=False)
    reads: list[str] = []
    real = store.get

    def counted(key):
        if key.startswith(SEGMENTS):
            reads.append(key)
        return real(key)

    monkeypatch.setattr(store, "get", counted)
    inc = verify(store, anchor=anchor, since_checkpoint=True)
    assert inc.ok and inc.mode == "incremental", inc.describe()
    assert (inc.segments, inc.segment_events, inc.segments_skipped) == (2, 3, 3)
    assert {k.split("/")[2] for k in reads} == {new, running}          # the old segments are not read
    assert inc.open_segments == [running]
    # a segment covered by the checkpoint loses an event: the checkpoint no longer holds, all is re-verified
    old = sorted(k for k in store.list(SEGMENTS) if "-old1/" in k and "sealed-" not in k)
    replace(store, old[-1], None)
    again = verify(store, anchor=anchor, since_checkpoint=True)
    assert not again.ok and again.mode == "full"
    assert "checkpoint_mismatch" in again.kinds and "truncated" in again.kinds


# --- the command line ----------------------------------------------------------------------------------


def test_cli_closes_stale_segments_and_verify_reports_them(store, capsys, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_AUDIT_KEYS", f"k2026a:{'a1' * 32}")
    w = AuditLog(store, segmented=True, segment_label="crashed")      # keys from the environment
    w.append("collect", actor=ACTOR, obj="x", at=T0)                  # never closed; its id says it opened now
    assert main(["audit", "seal", "--store", str(store.root), "--grace-hours", "1"]) == 0
    assert "no segment left open for more than 1 hour(s)" in capsys.readouterr().out
    assert main(["audit", "verify", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "segment_open" in out and "1 event(s) in 1 segment(s)" in out


# --- Airflow tasks ------------------------------------------------------------------------------------


def test_each_task_attempt_writes_one_segment_sealed_when_the_task_ends(store, monkeypatch):
    from socialhub_airflow import listener, runtime

    monkeypatch.setattr(runtime, "audit_keys", lambda: K)
    task_a = ("socialhub_collect", "collect", "manual__1", 3, 1)
    log_a = runtime.task_audit_log(store, task_a)
    assert runtime.task_audit_log(store, task_a) is log_a           # every auditor(st) of the task: one log
    log_a.append("collect", actor=ACTOR, obj="a1", at=T0)
    log_a.append("collect", actor=ACTOR, obj="a2", at=T0)
    sid_a = log_a.segment
    assert sid_a.endswith("-socialhub_collect.collect.3") and store.list(PREFIX) == []
    log_b = runtime.task_audit_log(store, ("socialhub_process", "process", "manual__1", -1, 1))
    assert log_b is not log_a and log_a.segment is None              # the next task (dags test): a sealed
    log_b.append("classify", actor=ACTOR, obj="b1", at=T0)
    listener.on_task_instance_success(previous_state=None, task_instance=None)   # the task ends
    listener.before_stopping(component=None)                                     # idempotent
    seals = [json.loads(store.get(k))["details"] for k in store.list(PREFIX)]
    assert [(d["segment"], d["count"]) for d in seals] == [(sid_a, 2), (seals[1]["segment"], 1)]
    assert seals[1]["segment"].endswith("-socialhub_process.process")
    result = verify(store)
    assert result.ok and result.segments == 2 and result.open_segments == [], result.describe()


def test_outside_a_task_the_runtime_log_writes_the_global_chain(store, monkeypatch):
    from socialhub_airflow import runtime

    monkeypatch.setattr(runtime, "audit_keys", lambda: K)
    log_ = runtime.audit_log(store)
    assert not log_.segmented
    log_.append("access", actor=ACTOR, obj="page", at=T0)
    assert store.list(PREFIX) == [event_key(0)] and store.list(SEGMENTS) == []


def test_the_housekeeping_task_seals_crashed_segments_then_verifies_and_checkpoints(store, tmp_path, monkeypatch):
    pytest.importorskip("airflow")
    from socialhub_airflow import runtime

    anchor = FileAnchor(tmp_path / "anchor" / "audit-anchors.jsonl")
    monkeypatch.setattr(runtime, "store", lambda: store)
    monkeypatch.setattr(runtime, "audit_keys", lambda: K)
    monkeypatch.setenv("SOCIALHUB_AUDIT_ANCHOR", str(anchor.path))
    day_ago = datetime.now(UTC) - timedelta(days=1)       # relative to the wall clock the task uses
    done = AuditLog(store, keys=K, anchor=anchor, segmented=True, segment_label="done", clock=lambda: day_ago)
    done.append("collect", actor=ACTOR, obj="a", at=day_ago)
    done.close(at=day_ago)
    crashed = AuditLog(store, keys=K, anchor=anchor, segmented=True, segment_label="crashed", clock=lambda: day_ago)
    crashed.append("collect", actor=ACTOR, obj="b", at=day_ago)
    crashed.append("collect", actor=ACTOR, obj="c", at=day_ago)
    out = runtime.verify_audit()
    assert out["segments_sealed_late"] == [crashed.segment] and out["segments"] == 2
    assert "segment_closed_late" in out["warnings"] and out["checkpoint"] == 1     # the second seal
    again = runtime.verify_audit()
    assert again["mode"] == "incremental" and again["segments_sealed_late"] == [] and again["segments"] == 0
