"""Planning a collection run from the due index versus one cursor-state GET per account (issue 19.5).

Run: ``PYTHONPATH=include .venv/bin/python bench/bench_plan.py`` (``BENCH_QUICK=1``: 1,000 accounts
instead of 10,000). Prints only; nothing asserts on time.

A watchlist over every platform (Mastodon on 50 instances, RSS on 40 hosts, every priority) gets
cursor states as after a few hours of collection. Then, per store (the local folder, and S3 served
by ``moto_server`` over HTTP on loopback):

* **per account**: ``plan_collection`` reading every authorised account's cursor state;
* **index, rebuild**: the first plan with ``index=True`` (no index yet: every cursor state is read,
  the index written);
* **index**: one run later, after the run's shards wrote their deltas (``record_shard_polls``):
  one GET per platform and delta.

Printed per variant: GET and LIST requests, seconds, and what the GETs would cost one after another
at 200 ms each (the issue's S3 latency); and whether both ways planned the same.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "include"))

import s3server  # noqa: E402  (bench/s3server.py: this script's folder is on sys.path)
import yaml  # noqa: E402

from socialhub.collect import plan_collection  # noqa: E402
from socialhub.due_index import OUTCOME_FIELD, entry_of, record_shard_polls  # noqa: E402
from socialhub.models import canonical_json  # noqa: E402
from socialhub.sources.budget import record_poll  # noqa: E402
from socialhub.storage import LocalStore, layout  # noqa: E402
from socialhub.watchlist import parse_watchlist  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
N = 1_000 if QUICK else 10_000
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LATENCY = 0.2
PRIORITIES = ("critical", "high", "normal", "normal", "low", "low")


def watchlist(n: int):
    rows = []
    for i in range(n):
        kind = i % 7
        platform, account = [("mastodon", f"u{i}@i{i % 50}.example"), ("bluesky", f"u{i}.bsky.social"),
                             ("x", f"u{i}"), ("reddit", f"u{i}"), ("youtube", f"UC{i:022d}"),
                             ("telegram", f"chan{i}"), ("rss", f"https://h{i % 40}.example/f{i}.xml")][kind]
        rows.append({"platform": platform, "account": account, "display_name": "D", "force": "met", "team": "t",
                     "owner": "DS Example", "priority": PRIORITIES[i % len(PRIORITIES)],
                     "authorisation_ref": f"AUTH-{i}", "purpose": "Public threats between two named groups.",
                     "review_by": "2030-01-01"})
    return parse_watchlist(yaml.safe_dump({"version": 1, "accounts": rows}))


def counting(cls):
    class Counting(cls):  # type: ignore[misc, valid-type]
        gets = lists = 0

        def _read(self, key):
            self.gets += 1
            return super()._read(key)

        def _list(self, prefix):
            self.lists += 1
            return super()._list(prefix)

    return Counting


def seed(store, wl) -> None:
    """Cursor states as after hours of collection: polled 0-6 h ago, most with a cursor."""
    rng = random.Random(19)
    for e in wl.accounts:
        if rng.random() < 0.05:
            continue                                        # never polled yet
        at = NOW - timedelta(minutes=rng.uniform(1, 360))
        polls = record_poll([], at) if at > NOW - timedelta(hours=1) else []
        state = {"cursor": {"since_id": str(rng.randrange(10**9))},
                 "last_polled": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "polls": polls}
        store.put_state(layout.cursor_key(e.platform, e.account), canonical_json(state))


def run_collection(store, plan, now) -> int:
    """What collect_shard leaves behind for the planner: each planned account's cursor state moved, one delta
    per shard (the fetching itself is not what this benchmark measures)."""
    import json

    deltas = 0
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    for shard in plan.shards:
        outcomes = []
        for a in shard["accounts"]:
            key = layout.cursor_key(a["platform"], a["account"])
            old = json.loads(store.get_or_none(key) or b"{}")
            new = dict(old, cursor={"since_id": "1"}, last_polled=stamp, polls=record_poll(old.get("polls", []), now))
            store.put_state(key, canonical_json(new))
            outcomes.append({"platform": a["platform"], "account": a["account"], OUTCOME_FIELD: entry_of(new)})
        deltas += record_shard_polls(store, shard["platform"], "bench", shard["index"], outcomes, now=now) is not None
    return deltas


def timed(store, wl, now, **kw):
    store.gets = store.lists = 0
    started = time.perf_counter()
    plan = plan_collection(wl, store, now, **kw)
    return plan, time.perf_counter() - started, store.gets, store.lists


def bench(name: str, store, wl) -> list[tuple]:
    seed(store, wl)
    rows = []
    p_acc, s, g, li = timed(store, wl, NOW)
    rows.append((name, "per account", g, li, s))
    p_idx, s, g, li = timed(store, wl, NOW, index=True)
    rows.append((name, "index, rebuild (first run)", g, li, s))
    same = [_same(p_acc, p_idx)]
    deltas = run_collection(store, p_idx, NOW)
    later = NOW + timedelta(minutes=5)
    p_acc, s, g, li = timed(store, wl, later)
    rows.append((name, "per account (next run)", g, li, s))
    p_idx, s, g, li = timed(store, wl, later, index=True)
    rows.append((name, f"index (next run, {deltas} deltas)", g, li, s))
    same.append(_same(p_acc, p_idx))
    print(f"{name}: {N:,} accounts, {p_idx.due:,} due next run, {len(p_idx.deferred):,} deferred; "
          f"same plan both ways: {all(same)}", flush=True)
    return rows


def _same(a, b) -> bool:
    return (a.shards, a.deferred, a.not_due) == (b.shards, b.deferred, b.not_due)


def moto_store():
    import boto3

    from socialhub.storage.s3 import S3Store

    proc, endpoint = s3server.start()
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    client.create_bucket(Bucket="bench-plan")
    return proc, counting(S3Store)("bench-plan", client=client)


def main() -> None:
    import logging

    logging.getLogger("socialhub.due_index").setLevel(logging.ERROR)   # the first plan's "rebuilding" warnings
    wl = watchlist(N)
    rows: list[tuple] = []
    with TemporaryDirectory() as tmp:
        rows += bench("local", counting(LocalStore)(Path(tmp)), wl)
    if s3server.installed():
        proc, store = moto_store()
        try:
            rows += bench("S3 (moto_server, HTTP)", store, wl)
        finally:
            s3server.stop(proc)
    else:
        print("moto_server not installed: S3 skipped")
    print()
    print("| store | planning | GETs | LISTs | seconds | GETs one after another at 200 ms |")
    print("|---|---|---:|---:|---:|---:|")
    for name, variant, gets, lists, secs in rows:
        print(f"| {name} | {variant} | {gets:,} | {lists:,} | {secs:.2f} | {gets * LATENCY:,.1f} s |")


if __name__ == "__main__":
    main()
