"""The processing stage's scale design changes speed and memory, never results.

Small batches are validated together (one Great Expectations run per pack of batches) and large
batches are streamed in slices; the reference is each batch validated alone in one GX run, which
is what ``validate_batch`` does and what the stage did before. The local store lists only the
folder a prefix names (it used to walk the parent: quadratic collection).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from socialhub.classify import load_classifier
from socialhub.collect import collect_account, collect_shard, plan_collection
from socialhub.models import Post, from_jsonl, raw_sha256, utc_iso
from socialhub.process import pending_batches, process_batches, result_key
from socialhub.quality.suite import REASONS_KEY, validate_batch
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.storage import LocalStore
from socialhub.watchlist import parse_watchlist

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


# -- the local store's listing -------------------------------------------------------------------

def _listing_store(root: Path) -> LocalStore:
    store = LocalStore(root)
    for key in ("raw/platform=x/date=2026-01-01/account=a/b1.jsonl",
                "raw/platform=x/date=2026-01-01/account=ab/b2.jsonl",
                "raw/platform=x/date=2026-01-02/account=a/b3.jsonl",
                "batches/platform=x/account=a/20260101T000000-b1.json",
                "queue/pending/b1.json", "top.json"):
        store.put(key, b"{}")
    (root / "raw" / "platform=x" / "date=2026-01-01" / "account=a" / ".tmp-half").write_bytes(b"")
    return store


@pytest.mark.parametrize("prefix", ["", "raw/", "raw/platform=x/", "raw/platform=x/date=2026-01-01/account=a/",
                                    "raw/platform=x/date=2026-01-01/account=a", "raw/platform=x/date=2026-01-01/acc",
                                    "raw/platform=x/date=2026-01-01/account=zz/", "raw/platform=y/", "nothing/",
                                    "batches/platform=x/account=a/2026", "queue/pending/b1", "top", "t"])
def test_local_list_gives_s3s_answer_for_every_prefix(tmp_path, prefix):
    """S3 semantics (a plain string prefix), checked against every file on disk; temp files of
    unfinished writes are never listed."""
    root = tmp_path / "store"
    store = _listing_store(root)
    on_disk = sorted(str(p.relative_to(root)).replace("\\", "/") for p in root.rglob("*")
                     if p.is_file() and not p.name.startswith(".tmp-"))
    assert len(on_disk) == 6
    assert store.list(prefix) == [k for k in on_disk if k.startswith(prefix)]


def test_listing_a_missing_folder_does_not_walk_its_parent(tmp_path, monkeypatch):
    """The quadratic case: a new account's empty folder. Only that folder may be looked at."""
    import os

    store = _listing_store(tmp_path / "store")
    walked: list[str] = []
    real_walk = os.walk
    monkeypatch.setattr(os, "walk", lambda top, *a, **k: (walked.append(str(top)), real_walk(top, *a, **k))[1])
    assert store.list("raw/platform=x/date=2026-01-01/account=new/") == []
    assert walked == []
    assert store.list("raw/platform=x/date=2026-01-01/account=a/") == ["raw/platform=x/date=2026-01-01/account=a/b1.jsonl"]
    assert [Path(w).name for w in walked] == ["account=a"]


# -- grouped and streamed processing = each batch alone -------------------------------------------

def _outputs(root: Path) -> dict[str, object]:
    """Everything processing wrote, minus timings and how the validation was packed."""
    out: dict[str, object] = {}
    for kind in ("curated", "quarantine", "flagged"):
        for path in sorted((root / kind).rglob("*.jsonl")):
            out[str(path.relative_to(root))] = path.read_text()
    for path in sorted((root / "results").glob("*.json")):
        record = json.loads(path.read_text())
        for key in ("duration_seconds", "validated_with_batches"):
            record["quality"]["stats"].pop(key)
        out[str(path.relative_to(root))] = record
    for path in sorted((root / "queue").rglob("*.json")):
        out[str(path.relative_to(root))] = path.read_text()
    return out


def _process_three_ways(tmp_path: Path, ids: list[str], *, max_bad_fraction: float = 0.5) -> list[dict[str, object]]:
    clf = load_classifier()
    for name in ("alone", "packed", "sliced"):
        shutil.copytree(tmp_path / "collected", tmp_path / name)
    alone = LocalStore(tmp_path / "alone")
    for b in ids:  # the reference: one GX run per batch, no slicing
        process_batches(alone, [b], classifier=clf, slice_posts=10**9, max_bad_fraction=max_bad_fraction,
                        concurrency=1)
    packed = process_batches(LocalStore(tmp_path / "packed"), ids, classifier=clf, max_bad_fraction=max_bad_fraction,
                             concurrency=8)   # reads and writes of up to 8 batches in flight
    sliced = process_batches(LocalStore(tmp_path / "sliced"), ids, classifier=clf, slice_posts=2,
                             max_bad_fraction=max_bad_fraction)
    assert [r["batch_id"] for r in packed] == ids == [r["batch_id"] for r in sliced]
    if len(ids) > 1:
        assert max(r["quality"]["stats"]["validated_with_batches"] for r in packed) > 1, "nothing was packed"
    return [_outputs(tmp_path / name) for name in ("alone", "packed", "sliced")]


@pytest.mark.e2e
def test_demo_batches_packed_or_sliced_give_the_same_records_and_outputs(tmp_path):
    """Every demo account (with its deliberately malformed posts), collected once, then processed
    batch by batch, packed into shared GX runs, and in slices of 2 posts: identical outputs."""
    from socialhub.replay.server import ReplayServer
    from socialhub.watchlist import load_watchlist
    from tests.e2e.conftest import write_watchlist

    with ReplayServer(now=lambda: NOW).start() as replay:   # one clock: the replay dates its posts from NOW
        watchlist = load_watchlist(write_watchlist(tmp_path / "watchlist.yaml", replay, lapsed=False))
        store = LocalStore(tmp_path / "collected")
        plan = plan_collection(watchlist, store, NOW, max_shards_per_platform=1, force_all=True)

        def factory(platform: str):
            from socialhub.sources.registry import get_connector

            return get_connector(platform, ConnectorConfig(base_url=replay.base_url(platform), token=None,
                                                           lookback=timedelta(days=7), max_pages=10, extra={}),
                                 now=lambda: NOW)

        for shard in plan.shards:
            collect_shard(store, shard, factory, NOW)
    ids = pending_batches(store)
    assert len(ids) > 5
    alone, packed, sliced = _process_three_ways(tmp_path, ids)
    assert any(k.startswith("quarantine/") for k in alone), "the demo data exercises the quarantine"
    assert any(k.startswith("flagged/") for k in alone)
    assert alone == packed
    assert alone == sliced


ENTRIES = parse_watchlist("""
accounts:
""" + "".join(f"""
  - platform: mastodon
    account: acct{i}@x.social
    display_name: Account {i}
    force: met
    team: gangs
    owner: DS Example
    authorisation_ref: AUTH-{i}
    purpose: Public threats between two named groups.
    review_by: 2030-01-01
""" for i in range(3))).accounts


class RowsConnector(Connector):
    """Serves fixed post dicts, including ones no real connector would produce."""

    platform = "mastodon"

    def __init__(self, rows: list[dict[str, object]]):
        super().__init__(ConnectorConfig(base_url="http://fake"))
        self.rows = rows

    def fetch(self, account, cursor):
        posts = []
        for row in self.rows:
            post = Post("mastodon", account, "x", "https://x.social/@a/1", "a", "t",
                        utc_iso(NOW - timedelta(minutes=5)), utc_iso(NOW), [], raw_sha256({"r": row}))
            posts.append(post)
        return FetchResult(posts, [{"r": r} for r in self.rows], {"done": True})


def _craft_batch(store: LocalStore, entry, rows: list[dict[str, object]]) -> str:
    """Collect a batch, then replace its posts with ``rows`` (manifest and hashes kept consistent
    enough for processing, which reads the posts file the manifest names)."""
    out = collect_account(store, entry, RowsConnector([{}] * len(rows)), NOW)
    assert out.status == "ok", out.error
    manifest_key = json.loads(store.get(f"queue/pending/{out.batch_id}.json"))["manifest"]
    posts_key = json.loads(store.get(manifest_key))["posts"]["key"]
    path = store.root / posts_key
    path.chmod(0o644)
    path.write_bytes(b"".join(json.dumps(r, sort_keys=True).encode() + b"\n" for r in rows))
    return out.batch_id


def _row(post_id: object, text: str = "nice day", **extra: object) -> dict[str, object]:
    row: dict[str, object] = {"platform": "mastodon", "account": "acct@x.social", "post_id": post_id,
                              "url": f"https://x.social/@a/{post_id}", "author": "a", "text": text,
                              "created_at": utc_iso(NOW - timedelta(minutes=5)), "collected_at": utc_iso(NOW),
                              "media": [], "raw_sha256": "a" * 64}
    row.update(extra)
    return row


def test_duplicates_across_slices_and_batches_are_judged_per_batch_as_gx_does(tmp_path):
    """Duplicate ids within a batch (also across its slices), the same ids in other batches (not
    duplicates there), blank and missing ids, a stale quarantine reason, a bad URL: every row's
    reasons equal GX's verdict on its whole batch, however the stage packs or slices it."""
    batches = [
        [_row("1"), _row("2", "gonna stab him when we catch him lacking"), _row("1"), _row("3"), _row("2"),
         _row(""), _row(""), _row(None), _row(None), _row("4", url="javascript:alert(1)"), _row("1"),
         _row("5", **{REASONS_KEY: ["stale"]})],
        [_row("1"), _row("2"), _row(""), _row(7), _row(7)],
        [_row("1", "bando open 24/7, runners wanted, link on snap"), _row("9")],
    ]
    store = LocalStore(tmp_path / "collected")
    ids = [_craft_batch(store, entry, rows) for entry, rows in zip(ENTRIES, batches, strict=True)]
    alone, packed, sliced = _process_three_ways(tmp_path, ids, max_bad_fraction=1.0)
    assert alone == packed == sliced
    for batch_id, rows in zip(ids, batches, strict=True):
        expected = validate_batch(rows, now=NOW, max_bad_fraction=1.0)
        record = json.loads((tmp_path / "sliced" / result_key(batch_id)).read_text())
        key = record["outputs"].get("quarantine")
        stored = from_jsonl((tmp_path / "sliced" / key).read_bytes()) if key else []
        assert stored == expected.quarantined
        assert record["quality"]["stats"]["failures"] == expected.stats["failures"]
        curated = from_jsonl((tmp_path / "sliced" / record["outputs"]["curated"]).read_bytes())
        assert [{k: v for k, v in r.items() if k in rows[0]} for r in curated] == expected.valid
    failures = [json.loads((tmp_path / "sliced" / result_key(b)).read_text())["quality"]["stats"]["failures"]
                for b in ids]
    unique = "expect_compound_columns_to_be_unique(platform,post_id)"
    assert [f[unique] for f in failures] == [4, 1, 0]  # "1" x2, "2", "" (None ignored); 7 as text; none


def test_a_large_batch_is_processed_in_slices(tmp_path, monkeypatch):
    """More posts than one slice: the suite and the classifier never see more than a slice."""
    import socialhub.quality.suite as suite

    rows = [_row(str(i), "gonna stab him" if i % 7 == 0 else "nice day") for i in range(23)] + [_row("3")]
    store = LocalStore(tmp_path / "collected")
    batch_id = _craft_batch(store, ENTRIES[0], rows)
    seen: list[int] = []
    real = suite.row_reasons
    monkeypatch.setattr(suite, "row_reasons", lambda posts, **kw: (seen.append(len(posts)), real(posts, **kw))[1])
    clf = load_classifier()
    sizes: list[int] = []
    real_classify = clf.classify_batch
    monkeypatch.setattr(clf, "classify_batch", lambda texts: (sizes.append(len(texts)), real_classify(texts))[1])
    record = process_batches(store, [batch_id], classifier=clf, slice_posts=5)[0]
    assert seen == [5, 5, 5, 5, 4] and max(sizes) <= 5 and sum(sizes) == 23
    assert (record["posts"], record["valid"], record["quarantined"], record["flagged"]) == (24, 23, 1, 4)
    flagged = from_jsonl(store.get(record["outputs"]["flagged"]))
    assert [r["post_id"] for r in flagged] == ["0", "7", "14", "21"]


def test_batches_are_read_and_written_concurrently_with_one_linear_audit_chain(tmp_path):
    """With ``concurrency=3`` three batches' posts are read at once (a barrier only three readers at
    once can pass: run one after another, it times out and the test fails), and their audit events,
    recorded from the pool's threads, still form one chain that verifies."""
    import threading

    from socialhub.audit.chain import AuditLog, Auditor, verify_chain

    barrier = threading.Barrier(3, timeout=10)

    class Gated(LocalStore):
        def get(self, key):
            if key.startswith("posts/"):
                barrier.wait()
            return super().get(key)

    plain = LocalStore(tmp_path)
    ids = [_craft_batch(plain, e, [_row(f"{e.account}-{i}") for i in range(3)]) for e in ENTRIES]
    store = Gated(tmp_path)
    auditor = Auditor(AuditLog(store, keys=None, anchor=None), {"kind": "task", "task_id": "process"})
    records = process_batches(store, ids, classifier=load_classifier(), auditor=auditor, concurrency=3)
    assert [r["batch_id"] for r in records] == ids and all(r["status"] == "processed" for r in records)
    assert verify_chain(store, keys=None).ok
    events = [json.loads(store.get(k)) for k in store.list("audit/events/")]
    assert sorted(e["object"] for e in events if e["action"] == "classify") == sorted(f"batch:{b}" for b in ids)


def test_pending_batches_come_in_collection_order_and_a_backlog_is_read_only_up_to_twice_the_limit(tmp_path):
    """Collection order (manifest time stamp, then batch id), whatever order the queue entries were
    written in; with a limit, only the entries queued earliest (twice the limit) are read."""
    import os

    plain = LocalStore(tmp_path)
    ids = [_craft_batch(plain, e, [_row(f"{e.account}-1")]) for e in ENTRIES]
    manifests = {b: json.loads(plain.get(f"queue/pending/{b}.json"))["manifest"].rsplit("/", 1)[-1] for b in ids}
    in_collection_order = sorted(ids, key=lambda b: manifests[b])
    queued = {b: 1_700_000_000 + 60 * i for i, b in enumerate(reversed(in_collection_order))}   # queued backwards
    for b, t in queued.items():
        os.utime(tmp_path / "queue" / "pending" / f"{b}.json", (t, t))

    class CountingReads(LocalStore):
        read: list[str] = []

        def get_or_none(self, key):
            self.read.append(key)
            return super().get_or_none(key)

    store = CountingReads(tmp_path)
    assert pending_batches(store) == in_collection_order
    assert len(store.read) == 3
    store.read.clear()
    # limit 1 of 3: the 2 queued earliest are read (the last two collected, queued first), the older of them wins
    assert pending_batches(store, limit=1) == [in_collection_order[1]]
    assert sorted(store.read) == sorted(f"queue/pending/{b}.json" for b in in_collection_order[1:])
