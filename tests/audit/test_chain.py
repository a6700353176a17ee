"""Tampering with, deleting or reordering any audit event is detected and named."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from socialhub.audit.chain import HEAD, PREFIX, AuditLog, event_key, verify_chain
from socialhub.cli import main
from socialhub.storage import LocalStore
from socialhub.storage.s3 import S3Store

ACTOR = {"kind": "task", "dag_id": "d", "task_id": "t", "run_id": "r"}


def fill(store, n=6):
    log = AuditLog(store)
    for i in range(n):
        log.append("collect", actor=ACTOR, obj=f"mastodon:acct{i}", force="met", hashes={"raw": f"{i:064x}"})
    return log


def rewrite(store, seq, mutate):
    """Overwrite an event behind the log's back, as an attacker with file access would."""
    path = store.root / event_key(seq)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    event = json.loads(path.read_text())
    path.write_text(json.dumps(mutate(event)))


@pytest.fixture()
def store(tmp_path):
    return LocalStore(tmp_path / "store")


def test_intact_chain_verifies(store):
    fill(store)
    result = verify_chain(store)
    assert result.ok and result.events == 6
    assert main(["audit", "verify", "--store", str(store.root)]) == 0


def test_events_are_linked_and_read_only(store):
    fill(store, 3)
    events = list(AuditLog(store).events())
    assert [e["seq"] for e in events] == [0, 1, 2]
    assert events[1]["prev"] == events[0]["hash"] and events[2]["prev"] == events[1]["hash"]
    mode = os.stat(store.root / event_key(1)).st_mode
    assert not mode & stat.S_IWUSR


@pytest.mark.parametrize("seq", [0, 3, 5])
def test_altered_event_is_named(store, seq, capsys):
    fill(store)
    rewrite(store, seq, lambda e: {**e, "object": "mastodon:someone-else"})
    result = verify_chain(store)
    assert not result.ok and result.first_bad == seq and "altered" in result.problem
    assert main(["audit", "verify", "--store", str(store.root)]) == 1
    assert f"event {seq}" in capsys.readouterr().out


def test_altered_event_with_recomputed_hash_breaks_the_next_link(store):
    from socialhub.audit.chain import event_hash

    fill(store)

    def forge(e):
        e = {**e, "justification": "forged"}
        e["hash"] = event_hash(e)
        return e

    rewrite(store, 2, forge)
    result = verify_chain(store)
    assert not result.ok and result.first_bad == 3 and "does not follow" in result.problem


@pytest.mark.parametrize("seq", [0, 2, 4])
def test_deleted_event_is_named(store, seq):
    fill(store)
    (store.root / event_key(seq)).unlink()
    result = verify_chain(store)
    assert not result.ok and result.first_bad == seq and "missing" in result.problem


def test_deleting_the_newest_events_is_detected(store):
    fill(store)
    for seq in (4, 5):
        (store.root / event_key(seq)).unlink()
    result = verify_chain(store)
    assert not result.ok and result.first_bad == 4 and "cut short" in result.problem


def test_reordered_events_are_detected(store):
    fill(store)
    a, b = store.root / event_key(1), store.root / event_key(2)
    tmp = a.with_suffix(".swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    result = verify_chain(store)
    assert not result.ok and result.first_bad == 1


def test_inserted_event_is_detected(store):
    fill(store, 3)
    log = AuditLog(store)
    forged = dict(json.loads((store.root / event_key(1)).read_text()), object="inserted")
    (store.root / event_key(3)).write_text(json.dumps(forged))
    (store.root / HEAD).unlink()
    result = verify_chain(store)
    assert not result.ok and result.first_bad == 3
    del log


def test_concurrent_writers_keep_one_linear_chain(store):
    def writer(n):
        log = AuditLog(store)
        for i in range(15):
            log.append("classify", actor=ACTOR, obj=f"batch-{n}-{i}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = verify_chain(store)
    assert result.ok and result.events == 60
    assert len(store.list(PREFIX)) == 60


def test_chain_on_s3(s3_client, bucket):
    store = S3Store(bucket, "audit-test", client=s3_client)
    fill(store, 4)
    assert verify_chain(store).ok
    s3_client.delete_object(Bucket=bucket, Key="audit-test/" + event_key(1))
    result = verify_chain(store)
    assert not result.ok and result.first_bad == 1


def test_unknown_action_is_refused(store):
    with pytest.raises(ValueError, match="unknown audit action"):
        AuditLog(store).append("tamper", actor=ACTOR, obj="x")


def test_a_writer_whose_last_event_is_no_longer_the_end_finds_the_end(store):
    """Each writer remembers its own last event to append without re-reading the log; when another
    writer appended meanwhile, that guess is refused by the write-once create and the end is
    looked up again: still one linear chain."""
    a, b = AuditLog(store), AuditLog(store)
    a.append("collect", actor=ACTOR, obj="a1")
    b.append("collect", actor=ACTOR, obj="b1")
    b.append("collect", actor=ACTOR, obj="b2")
    third = a.append("collect", actor=ACTOR, obj="a2")
    assert third["seq"] == 3
    result = verify_chain(store)
    assert result.ok and result.events == 4
    assert [e["object"] for e in AuditLog(store).events()] == ["a1", "b1", "b2", "a2"]
