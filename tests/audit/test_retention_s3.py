"""Erasure on a versioned, Object-Lock S3 bucket (moto_server): every version goes, or the event says
why not.

A plain ``DELETE`` on a versioned bucket only adds a delete marker and every old version stays
readable; retention must not record that as an erasure. The clock retention runs with is injected;
moto enforces Object Lock against its own (real) clock, so every date here is relative to one clock
read at the start, never a fixed calendar date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from socialhub.audit.chain import AuditLog, Auditor, verify_chain
from socialhub.models import canonical_json, sha256_hex, utc_iso
from socialhub.retention import Policy, apply_retention
from socialhub.storage.s3 import S3Store

POLICY = Policy.model_validate({"rules": [{"id": "plain", "applies_to": "not_flagged", "days": 30}]})
RAW = "raw/mastodon/d/acct/b1.jsonl"
POSTS = "posts/mastodon/d/acct/b1.jsonl"


@pytest.fixture()
def clock():
    """The injected clock: one reading, everything else relative to it (moto checks locks in real time)."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture()
def locked_bucket(s3_client, bucket):
    name = bucket + "-lk"
    s3_client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    assert s3_client.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    return name


def versions(client, bucket, key):
    page = client.list_object_versions(Bucket=bucket, Prefix=key)
    return ([v["VersionId"] for v in page.get("Versions", []) if v["Key"] == key]
            + [m["VersionId"] for m in page.get("DeleteMarkers", []) if m["Key"] == key])


def old_batch(client, bucket, clock):
    """A batch collected 400 days before the clock, its raw object stored in two versions."""
    store = S3Store(bucket, client=client)
    store.put(RAW, b'{"id": "1", "text": "first version"}\n')
    client.put_object(Bucket=bucket, Key=RAW, Body=b'{"id": "1", "text": "second version"}\n')  # version 2
    store.put(POSTS, b'{"id": "1"}\n')
    store.put("batches/mastodon/acct/b1.json", canonical_json({
        "batch_id": "b1", "platform": "mastodon", "account": "acct", "force": "met",
        "collected_at": utc_iso(clock - timedelta(days=400)),
        "raw": {"key": RAW}, "posts": {"key": POSTS}}))
    assert len(versions(client, bucket, RAW)) == 2
    return store


def events(store, action):
    return [e for e in AuditLog(store).events() if e["action"] == action]


def test_versioned_erasure_removes_every_version_before_it_is_recorded(s3_client, locked_bucket, clock):
    store = old_batch(s3_client, locked_bucket, clock)
    current = sha256_hex(store.get(RAW))
    auditor = Auditor(AuditLog(store), {"kind": "task", "task_id": "apply_retention"})
    summary = apply_retention(store, POLICY, clock, auditor=auditor)
    for key in (RAW, POSTS):
        assert versions(s3_client, locked_bucket, key) == []  # no old version, no delete marker
    assert summary["erased_batches"] == 1 and summary["erased_objects"] == 2 and not summary["pending"]
    deleted = {e["object"]: e for e in events(store, "deletion")}
    assert set(deleted) == {RAW, POSTS}
    assert deleted[RAW]["hashes"]["erased"] == current and deleted[RAW]["details"]["versions_deleted"] == 2
    assert not events(store, "erasure_pending") and verify_chain(store).ok
    # nothing is left to find: the next run sees the batch as already erased
    again = apply_retention(store, POLICY, clock + timedelta(days=1), auditor=auditor)
    assert again["erased"] == [] and again["erased_objects"] == 0


def test_locked_version_is_pending_not_deleted_and_retried_after_the_date(s3_client, locked_bucket, clock):
    store = old_batch(s3_client, locked_bucket, clock)
    first = versions(s3_client, locked_bucket, RAW)[-1]
    until = clock + timedelta(days=30)
    s3_client.put_object_retention(Bucket=locked_bucket, Key=RAW, VersionId=first,
                                   Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    auditor = Auditor(AuditLog(store), {"kind": "task", "task_id": "apply_retention"})

    summary = apply_retention(store, POLICY, clock, auditor=auditor)
    assert summary["erased_batches"] == 0 and summary["erased_objects"] == 1 and summary["pending_objects"] == 1
    assert not summary["failed"]
    assert [e["object"] for e in events(store, "deletion")] == [POSTS]  # the raw object is NOT recorded as erased
    (pending,) = events(store, "erasure_pending")
    assert pending["object"] == RAW
    assert pending["details"]["status"] == f"erasure pending (locked until {until.isoformat()})"
    assert pending["details"]["locked_until"] == until.isoformat()
    left = versions(s3_client, locked_bucket, RAW)
    assert first in left  # the locked version is still stored...
    assert not store.exists(RAW) and store.stored(RAW)  # ...hidden behind a delete marker

    # the next day it is still locked: still pending, still not recorded as deleted (and the unchanged
    # status is not logged again)
    summary = apply_retention(store, POLICY, clock + timedelta(days=1), auditor=auditor)
    assert summary["pending_objects"] == 1 and len(events(store, "erasure_pending")) == 1
    assert [e["object"] for e in events(store, "deletion")] == [POSTS]

    # the retain-until date passes on the server too (moto runs on the real clock, so the lock is moved
    # into the past, as an administrator may with GOVERNANCE mode); the run after it erases everything
    s3_client.put_object_retention(Bucket=locked_bucket, Key=RAW, VersionId=first, BypassGovernanceRetention=True,
                                   Retention={"Mode": "GOVERNANCE", "RetainUntilDate": clock - timedelta(days=1)})
    summary = apply_retention(store, POLICY, until + timedelta(days=1), auditor=auditor)
    assert summary["erased_batches"] == 1 and summary["erased_objects"] == 1 and not summary["pending"]
    assert versions(s3_client, locked_bucket, RAW) == []
    assert [e["object"] for e in events(store, "deletion")] == [POSTS, RAW]
    assert verify_chain(store).ok
    marker = s3_client.list_object_versions(Bucket=locked_bucket, Prefix="state/erasure-pending/")
    assert marker.get("Versions", []) + marker.get("DeleteMarkers", []) == []  # the pending note went too


def test_compliance_lock_and_legal_hold_keep_every_version(s3_client, locked_bucket, clock):
    store = old_batch(s3_client, locked_bucket, clock)
    newest, oldest = versions(s3_client, locked_bucket, RAW)
    until = clock + timedelta(days=365)
    s3_client.put_object_retention(Bucket=locked_bucket, Key=RAW, VersionId=oldest,
                                   Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
    s3_client.put_object_legal_hold(Bucket=locked_bucket, Key=POSTS, LegalHold={"Status": "ON"})
    summary = apply_retention(store, POLICY, clock, auditor=Auditor(AuditLog(store), {"kind": "task"}))
    assert summary["erased_objects"] == 0 and summary["pending_objects"] == 2 and summary["erased_batches"] == 0
    assert not events(store, "deletion")
    status = {e["object"]: e["details"]["status"] for e in events(store, "erasure_pending")}
    assert status == {RAW: f"erasure pending (locked until {until.isoformat()})",
                      POSTS: "erasure pending (legal hold)"}
    assert oldest in versions(s3_client, locked_bucket, RAW) and newest not in versions(s3_client, locked_bucket, RAW)
    assert len([v for v in versions(s3_client, locked_bucket, POSTS)]) >= 1


def test_unversioned_bucket_erasure(s3_client, bucket, clock):
    store = S3Store(bucket, client=s3_client)
    store.put(RAW, b"x\n")
    result = store.erase(RAW)
    assert result.erased and not store.stored(RAW) and versions(s3_client, bucket, RAW) == []


def test_local_folder_erasure_is_checked_too(tmp_path):
    from socialhub.storage import LocalStore

    store = LocalStore(tmp_path / "store")
    store.put(RAW, b"x\n")  # read-only evidence file
    result = store.erase(RAW)
    assert result.erased and result.versions_deleted == 1 and not store.stored(RAW) and not store.exists(RAW)
    assert store.erase(RAW).erased  # nothing there: still erased, nothing left
