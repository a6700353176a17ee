"""`audit verify --incremental`: from a verified, MAC'd, anchored checkpoint, re-walk only the new events.

The attacker can write the whole store (events, head.json, checkpoints) but holds neither the
audit key nor more than add access to the anchor.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from socialhub.audit.anchor import AnchorPolicy, FileAnchor
from socialhub.audit.chain import HEAD, PREFIX, AuditLog, event_hash, event_key, verify_chain
from socialhub.audit.checkpoint import (
    CHECKPOINTS,
    checkpoint_key,
    checkpoint_message,
    checkpoints,
    write_checkpoint,
)
from socialhub.audit.keys import AuditKeys
from socialhub.cli import main
from socialhub.models import canonical_json
from socialhub.storage import LocalStore

ACTOR = {"kind": "task", "dag_id": "d", "task_id": "t", "run_id": "r"}
KEYS_A = f"k2026a:{'a1' * 32}"
ATTACKER = f"k2026a:{'ee' * 32}"   # the attacker's own secret under the real key id


def keys(text: str = KEYS_A) -> AuditKeys:
    parsed = AuditKeys.parse(text)
    assert parsed is not None
    return parsed


@pytest.fixture()
def store(tmp_path):
    return LocalStore(tmp_path / "store")


@pytest.fixture()
def anchor(tmp_path):
    return FileAnchor(tmp_path / "anchor" / "audit-anchors.jsonl")


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch):
    for var in ("SOCIALHUB_AUDIT_KEYS", "SOCIALHUB_AUDIT_ANCHOR", "SOCIALHUB_AUDIT_ANCHOR_EVERY"):
        monkeypatch.delenv(var, raising=False)


def fill(store, n, k=None, anchor=None, every=10, start=0):
    log = AuditLog(store, keys=k, anchor=anchor, anchor_policy=AnchorPolicy(every_events=every))
    for i in range(start, start + n):
        log.append("collect", actor=ACTOR, obj=f"mastodon:acct{i}", force="met", hashes={"raw": f"{i:064x}"})
    return log


def checkpointed(store, n, k=None, anchor=None):
    """``n`` events, fully verified and checkpointed."""
    fill(store, n, k, anchor)
    result = verify_chain(store, keys=k, anchor=anchor)
    assert result.ok and result.mode == "full"
    return write_checkpoint(store, result, k, anchor, by="tester")


def stored(store):
    return [json.loads(store.get(key)) for key in store.list(PREFIX)]


def _writable(path):
    if path.exists():
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def overwrite(store, events):
    """The attacker's rewrite: every event re-hashed into one valid chain (MACs carried over), head.json too."""
    for key in store.list(PREFIX):
        _writable(store.root / key)
        (store.root / key).unlink()
    prev = "0" * 64
    for seq, event in enumerate(events):
        event = {**event, "seq": seq, "prev": prev}
        event["hash"] = event_hash(event)
        (store.root / event_key(seq)).write_text(json.dumps(event))
        prev = event["hash"]
    _writable(store.root / HEAD)
    (store.root / HEAD).write_text(json.dumps({"seq": len(events) - 1, "hash": prev}))


def forge_checkpoint(store, seq, hash_hex, k=None):
    record = {"seq": seq, "hash": hash_hex, "count": seq + 1, "verified_at": "2026-01-01T00:00:00Z",
              "verified_by": "mallory", "key_ids": [], "mode": "full", "from_checkpoint": None}
    if k is not None:
        record["key_id"] = k.signing_id
        record["mac"] = k.mac(k.signing_id, checkpoint_message(record))
    _writable(store.root / checkpoint_key(seq))
    (store.root / checkpoint_key(seq)).parent.mkdir(parents=True, exist_ok=True)
    (store.root / checkpoint_key(seq)).write_bytes(canonical_json(record))


def count_event_reads(store, monkeypatch) -> list[str]:
    reads: list[str] = []
    for name in ("get", "get_or_none"):
        real = getattr(store, name)

        def counted(key, _real=real):
            if key.startswith(PREFIX):
                reads.append(key)
            return _real(key)

        monkeypatch.setattr(store, name, counted)
    return reads


def test_a_checkpoint_is_write_once_keyed_and_anchored(store, anchor):
    k = keys()
    cp = checkpointed(store, 23, k, anchor)   # anchored every 10: event 22 is not anchored until the checkpoint
    assert cp["seq"] == 22 and cp["count"] == 23 and cp["key_id"] == "k2026a" and cp["key_ids"] == ["k2026a"]
    assert cp["verified_by"] == "tester" and cp["hash"] == stored(store)[22]["hash"]
    assert store.list(CHECKPOINTS) == [checkpoint_key(22)]
    assert any(r["seq"] == 22 and r["hash"] == cp["hash"] for r in anchor.records())
    # checkpointing the same head again returns the stored one (write-once, not replaced)
    again = write_checkpoint(store, verify_chain(store, keys=k, anchor=anchor), k, anchor, by="other")
    assert again["verified_by"] == "tester"


def test_incremental_reads_only_the_events_after_the_checkpoint(store, anchor, monkeypatch):
    k = keys()
    checkpointed(store, 50, k, anchor)
    fill(store, 5, k, anchor, start=50)
    reads = count_event_reads(store, monkeypatch)
    result = verify_chain(store, keys=k, anchor=anchor, since_checkpoint=True)
    assert result.ok, result.describe()
    assert result.mode == "incremental" and result.checkpoint is not None and result.checkpoint["seq"] == 49
    assert (result.verified_from, result.verified_to, result.events) == (50, 54, 55)
    assert sorted(reads) == [event_key(s) for s in range(49, 55)]   # the checkpoint's own event + 5 new
    assert result.events_read == 6 and result.last_hash == stored(store)[54]["hash"]
    assert "incremental: checkpoint at event 49" in result.describe()
    # the next checkpoint chains from this one; a full verify reads everything
    cp2 = write_checkpoint(store, result, k, anchor)
    assert cp2["seq"] == 54 and cp2["from_checkpoint"] == 49 and cp2["mode"] == "incremental"
    reads.clear()
    assert verify_chain(store, keys=k, anchor=anchor).events_read == 55 and len(reads) == 55
    reads.clear()
    nothing_new = verify_chain(store, keys=k, anchor=anchor, since_checkpoint=True)
    assert nothing_new.ok and nothing_new.events == 55 and reads == [event_key(54)]
    assert "no new events verified" in nothing_new.describe()


def test_tampering_after_the_checkpoint_is_found_incrementally(store, anchor):
    k = keys()
    checkpointed(store, 20, k, anchor)
    fill(store, 5, k, anchor, start=20)
    events = stored(store)
    events[22] = {**events[22], "justification": "forged"}
    overwrite(store, events)   # events 0..21 re-hash to the same hashes: the checkpoint still holds
    result = verify_chain(store, keys=k, anchor=anchor, since_checkpoint=True)
    assert not result.ok and result.mode == "incremental"
    assert result.kinds[0] == "rewritten" and result.first_bad == 22


def test_an_altered_event_after_the_checkpoint_is_a_bad_hash(store):
    k = keys()
    checkpointed(store, 10, k)
    fill(store, 3, k, start=10)
    path = store.root / event_key(11)
    event = json.loads(path.read_text())
    _writable(path)
    path.write_text(json.dumps({**event, "object": "mastodon:someone-else"}))
    result = verify_chain(store, keys=k, anchor=None, since_checkpoint=True)
    assert not result.ok and result.mode == "incremental" and result.kinds[0] == "bad_hash" and result.first_bad == 11


def test_tampering_before_the_checkpoint_invalidates_it_and_a_full_verify_finds_it(store, anchor, capsys,
                                                                                  monkeypatch):
    k = keys()
    checkpointed(store, 20, k, anchor)
    fill(store, 5, k, anchor, start=20)
    events = stored(store)
    events[3] = {**events[3], "justification": "forged"}
    overwrite(store, events)
    result = verify_chain(store, keys=k, anchor=anchor, since_checkpoint=True)
    assert not result.ok and result.mode == "full" and result.events_read == 25
    assert "checkpoint_mismatch" in result.kinds and "rewritten" in result.kinds and result.first_bad == 3
    monkeypatch.setenv("AUDIT_KEYS_FOR_TEST", KEYS_A)
    code = main(["audit", "verify", "--store", str(store.root), "--key-env", "AUDIT_KEYS_FOR_TEST",
                 "--anchor", str(anchor.path), "--incremental"])
    out = capsys.readouterr().out
    assert code == 1 and "checkpoint_mismatch" in out and "whole chain" in out


def test_a_removed_event_before_the_checkpoint_invalidates_it(store):
    k = keys()
    checkpointed(store, 10, k)
    path = store.root / event_key(4)
    _writable(path)
    path.unlink()
    result = verify_chain(store, keys=k, anchor=None, since_checkpoint=True)
    assert not result.ok and result.mode == "full" and {"checkpoint_mismatch", "gap"} <= set(result.kinds)


@pytest.mark.parametrize("forger", [None, ATTACKER], ids=["without-mac", "wrong-key"])
def test_a_forged_checkpoint_that_skips_tampered_events_is_rejected(store, forger):
    k = keys()
    checkpointed(store, 10, k)
    fill(store, 5, k, start=10)
    events = stored(store)
    events[12] = {**events[12], "justification": "forged"}
    overwrite(store, events)
    forge_checkpoint(store, 14, stored(store)[14]["hash"], keys(forger) if forger else None)
    result = verify_chain(store, keys=k, anchor=None, since_checkpoint=True)
    assert not result.ok
    assert result.checkpoint is not None and result.checkpoint["seq"] == 9   # fell back to the genuine one
    assert "rewritten" in result.kinds and result.first_bad == 12
    if forger:
        assert "bad_checkpoint" in result.kinds
    else:
        assert any("event 14" in n and "no MAC" in n for n in result.notes)


def test_a_keyed_checkpoint_the_anchor_does_not_confirm_is_skipped(store, anchor):
    k = keys()
    checkpointed(store, 10, k)   # written without the anchor: its head was never anchored
    fill(store, 10, k, anchor, start=10)
    result = verify_chain(store, keys=k, anchor=anchor, since_checkpoint=True)
    assert result.ok and result.mode == "full"
    assert any("not confirmed by the anchor" in n for n in result.notes)


def test_an_unkeyed_checkpoint_needs_the_trust_flag(store):
    checkpointed(store, 10)
    fill(store, 3, start=10)
    refused = verify_chain(store, keys=None, anchor=None, since_checkpoint=True)
    assert refused.ok and refused.mode == "full" and refused.events_read == 13
    assert any("--trust-unkeyed-checkpoint" in n for n in refused.notes)
    trusted = verify_chain(store, keys=None, anchor=None, since_checkpoint=True, trust_unkeyed_checkpoint=True)
    assert trusted.ok and trusted.mode == "incremental" and trusted.events_read == 4
    assert any("UNKEYED" in n for n in trusted.notes) and "UNKEYED" in trusted.describe()


def test_an_unkeyed_checkpoint_is_refused_when_a_key_is_given(store):
    checkpointed(store, 5)   # written before the key was configured
    result = verify_chain(store, keys=keys(), anchor=None, since_checkpoint=True)
    assert result.ok and result.mode == "full"


def test_only_a_clean_verify_is_checkpointed(store):
    k = keys()
    fill(store, 4, k)
    path = store.root / event_key(2)
    _writable(path)
    path.write_text("{}")
    with pytest.raises(ValueError):
        write_checkpoint(store, verify_chain(store, keys=k, anchor=None), k, None)
    assert checkpoints(store) == []


def test_cli_checkpoint_then_incremental(store, anchor, capsys, monkeypatch):
    k = keys()
    fill(store, 12, k, anchor)
    monkeypatch.setenv("AUDIT_KEYS_FOR_TEST", KEYS_A)
    base = ["audit", "verify", "--store", str(store.root), "--key-env", "AUDIT_KEYS_FOR_TEST",
            "--anchor", str(anchor.path)]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "audit chain OK: 12 event(s)" in out and store.list(CHECKPOINTS) == []   # default: no checkpoint
    assert main([*base, "--checkpoint", "--by", "auditor-1"]) == 0
    out = capsys.readouterr().out
    assert "checkpoint: event 11" in out and "signed with key id k2026a" in out
    assert json.loads(store.get(checkpoint_key(11)))["verified_by"] == "auditor-1"
    fill(store, 3, k, anchor, start=12)
    assert main([*base, "--incremental", "--checkpoint"]) == 0
    out = capsys.readouterr().out
    assert "incremental: checkpoint at event 11" in out and "events 12..14 verified" in out
    assert "checkpoint: event 14" in out


def test_cli_unkeyed_checkpoint_and_trust_flag(store, capsys):
    fill(store, 6)
    base = ["audit", "verify", "--store", str(store.root), "--key-env", "NO_SUCH_VAR_FOR_TEST"]
    assert main([*base, "--checkpoint"]) == 0
    assert "UNSIGNED (no key)" in capsys.readouterr().out
    fill(store, 2, start=6)
    assert main([*base, "--incremental"]) == 0
    out = capsys.readouterr().out
    assert "--trust-unkeyed-checkpoint" in out and "verified: full, events 0..7 verified" in out
    assert main([*base, "--incremental", "--trust-unkeyed-checkpoint"]) == 0
    out = capsys.readouterr().out
    assert "UNKEYED" in out and "events 6..7 verified" in out


def test_cli_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit):
        main(["audit", "verify", "--help"])
    out = capsys.readouterr().out
    for flag in ("--incremental", "--checkpoint", "--trust-unkeyed-checkpoint"):
        assert flag in out


def test_the_housekeeping_task_verifies_incrementally_and_checkpoints(store, anchor, monkeypatch):
    pytest.importorskip("airflow")
    from socialhub_airflow import runtime

    monkeypatch.setattr(runtime, "store", lambda: store)
    monkeypatch.setattr(runtime, "audit_keys", lambda: keys())
    monkeypatch.setenv("SOCIALHUB_AUDIT_ANCHOR", str(anchor.path))
    fill(store, 8, keys(), anchor)
    first = runtime.verify_audit()
    assert first["mode"] == "full" and first["checkpoint"] == 7
    fill(store, 2, keys(), anchor, start=8)
    second = runtime.verify_audit()
    assert second["mode"] == "incremental" and second["verified"] == [8, 9] and second["checkpoint"] == 9
