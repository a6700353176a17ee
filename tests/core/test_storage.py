"""Both storage backends obey the same rules: write-once evidence, safe keys, listing."""

from __future__ import annotations

import os
import stat

import pytest

from socialhub.errors import ImmutableObjectError, UnsafeKeyError
from socialhub.storage import LocalStore, key_segment, layout, safe_key
from socialhub.storage.s3 import S3Store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    client = request.getfixturevalue("s3_client")
    bucket = request.getfixturevalue("bucket")
    return S3Store(bucket, "evidence", client=client)


def test_put_is_write_once_and_idempotent(store):
    first = store.put("raw/a/b.jsonl", b"hello\n")
    assert first.created and first.size == 6
    again = store.put("raw/a/b.jsonl", b"hello\n")
    assert not again.created and again.sha256 == first.sha256
    with pytest.raises(ImmutableObjectError):
        store.put("raw/a/b.jsonl", b"tampered\n")
    assert store.get("raw/a/b.jsonl") == b"hello\n"


def test_put_file_streams_a_file_write_once_and_open_read_streams_it_back(store, tmp_path):
    """The processing stage's outputs go through put_file (a spooled file, possibly on disk) and
    its inputs through open_read: same write-once rule and hash as put, line by line back."""
    import hashlib
    import tempfile

    body = b"".join(b'{"n": %d}\n' % i for i in range(200_000))  # ~2 MiB: more than one 1 MiB chunk
    with tempfile.SpooledTemporaryFile(max_size=1024) as fh:
        fh.write(body)
        first = store.put_file("curated/a/b.jsonl", fh, content_type="application/x-ndjson")
        assert first.created and first.size == len(body) and first.sha256 == hashlib.sha256(body).hexdigest()
        again = store.put_file("curated/a/b.jsonl", fh)
        assert not again.created and again.sha256 == first.sha256
    assert store.put("curated/a/b.jsonl", body).created is False  # same rule as put
    with tempfile.TemporaryFile() as other:
        other.write(b"tampered\n")
        with pytest.raises(ImmutableObjectError):
            store.put_file("curated/a/b.jsonl", other)
    with store.open_read("curated/a/b.jsonl") as fh:
        lines = list(fh)
    assert len(lines) == 200_000 and lines[7] == b'{"n": 7}\n'
    with pytest.raises(KeyError):
        store.open_read("curated/a/missing.jsonl")
    assert store.exists("curated/a/b.jsonl") and not store.exists("curated/a/missing.jsonl")


def test_list_modified_gives_each_key_its_write_time(store):
    store.put("queue/pending/b.json", b"{}")
    store.put("queue/pending/a.json", b"{}")
    store.put("queue/done/c.json", b"{}")
    listed = store.list_modified("queue/pending/")
    assert [k for k, _ in listed] == ["queue/pending/a.json", "queue/pending/b.json"]
    import time

    assert all(abs(t - time.time()) < 3600 for _, t in listed)   # a real time, not a placeholder


def test_state_is_mutable(store):
    store.put_state("state/cursors/x.json", b"1")
    store.put_state("state/cursors/x.json", b"2")
    assert store.get("state/cursors/x.json") == b"2"


def test_list_get_delete(store):
    for k in ("queue/pending/b.json", "queue/pending/a.json", "queue/done/c.json"):
        store.put(k, b"{}")
    assert store.list("queue/pending/") == ["queue/pending/a.json", "queue/pending/b.json"]
    store.delete("queue/pending/a.json")
    assert store.list("queue/pending/") == ["queue/pending/b.json"]
    assert store.get_or_none("queue/pending/a.json") is None
    with pytest.raises(KeyError):
        store.get("nope/x")


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", "a//b", "a/%2e%2e/b", "a\\b",
                                 "a/\x00", "", "./a"])
def test_unsafe_keys_are_refused(store, bad):
    with pytest.raises(UnsafeKeyError):
        store.put(bad, b"x")


@pytest.mark.parametrize("account", ["../../etc", "/abs/path", "%2e%2e%2f", "..", ".", "a/b", "c:\\win", "x y"])
def test_account_names_never_escape_their_prefix(tmp_path, account):
    store = LocalStore(tmp_path / "store")
    key = layout.raw_key("mastodon", "2026-11-25", account, "batch1")
    store.put(key, b"x")
    written = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert len(written) == 1
    assert (tmp_path / "store" / "raw" / "platform=mastodon" / "date=2026-11-25") in written[0].parents
    assert safe_key(key) == key


def test_key_segment_is_injective_on_tricky_inputs():
    inputs = ["a/b", "a%2Fb", "a_b", "..", "%2E%2E", ".a", "a.", "A"]
    assert len({key_segment(i) for i in inputs}) == len(inputs)


def test_local_evidence_is_read_only(tmp_path):
    store = LocalStore(tmp_path)
    store.put("raw/x.jsonl", b"x")
    mode = os.stat(tmp_path / "raw" / "x.jsonl").st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_s3_uri_and_prefix(s3_client, bucket):
    store = S3Store(bucket, "pfx/", client=s3_client)
    obj = store.put("raw/x.jsonl", b"x")
    assert obj.uri == f"s3://{bucket}/pfx/raw/x.jsonl"
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["pfx/raw/x.jsonl", "pfx/state/probe/if-none-match"]   # the probe of If-None-Match too
    assert store.list("raw/") == ["raw/x.jsonl"]


class CountingClient:
    """A boto3 S3 client that counts its calls by operation; ``ignore_if_none_match`` makes it behave
    like a server that ignores the header (it drops it before sending)."""

    def __init__(self, client, ignore_if_none_match=False):
        self.client, self.ignore, self.calls = client, ignore_if_none_match, []

    def __getattr__(self, name):
        attr = getattr(self.client, name)
        if not callable(attr) or name.startswith("_") or name in ("meta", "exceptions"):
            return attr

        def call(*args, **kw):
            self.calls.append(name)
            if self.ignore and name == "put_object":
                kw.pop("IfNoneMatch", None)
            return attr(*args, **kw)

        return call


def test_s3_write_once_is_one_conditional_put_where_the_server_honours_it(s3_client, bucket):
    client = CountingClient(s3_client)
    store = S3Store(bucket, "p", client=client)
    assert store.honours_if_none_match()
    client.calls.clear()
    assert store.put("raw/a.jsonl", b"a").created
    assert client.calls == ["put_object"]                        # no read before the write
    client.calls.clear()
    assert store.put("raw/a.jsonl", b"a").created is False       # an identical retry: refused, read, a no-op
    assert client.calls == ["put_object", "get_object"]
    with pytest.raises(ImmutableObjectError):
        store.put("raw/a.jsonl", b"different")
    assert store.get("raw/a.jsonl") == b"a"
    client.calls.clear()
    import io

    assert store.put_file("curated/c.jsonl", io.BytesIO(b"c" * 10)).created    # streamed outputs too
    assert client.calls == ["put_object"]
    assert store.put_file("curated/c.jsonl", io.BytesIO(b"c" * 10)).created is False
    with pytest.raises(ImmutableObjectError):
        store.put_file("curated/c.jsonl", io.BytesIO(b"d"))
    # a second store on the same bucket finds the probe object there: one refused put, no second
    other = CountingClient(s3_client)
    assert S3Store(bucket, "p", client=other).honours_if_none_match() and other.calls == ["put_object"]


def test_s3_write_once_reads_first_where_the_server_ignores_if_none_match(s3_client, bucket):
    client = CountingClient(s3_client, ignore_if_none_match=True)
    store = S3Store(bucket, "p", client=client)
    assert store.honours_if_none_match() is False                # the second probe put went through
    client.calls.clear()
    assert store.put("raw/a.jsonl", b"a").created
    assert client.calls == ["get_object", "put_object"]
    with pytest.raises(ImmutableObjectError):                    # refused by the read, not by the server
        store.put("raw/a.jsonl", b"different")
    assert store.get("raw/a.jsonl") == b"a"
    assert S3Store(bucket, "q", client=client, conditional_writes=False).put("raw/b", b"b").created
