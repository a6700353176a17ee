"""Audit log writes: one global sequence (every event a conditional create of the next number) against
per-writer segments (one object per event in the writer's own segment, one seal per writer on the
global chain). Prints figures; asserts nothing.

    python bench/bench_audit.py            # 8 writers x 250 events, local folder and S3 (moto_server over HTTP)
    python bench/bench_audit.py --quick    # 8 writers x 25 events (or BENCH_QUICK=1)

Each writer is a thread with its own ``AuditLog`` (as each Airflow task has), all appending at once.
Per store and mode: appends per second (the events, and for segments their seals, until the last
writer is done), objects written per event (event objects, seals, sealed markers and head.json hints),
store requests per event (every GET/HEAD/PUT/LIST the writers made), lost conditional creates on the
global sequence (contention), then a full ``audit verify`` of what was written (seconds, objects read).
Objects written count the writes that happened (a lost create writes nothing; requests count it).
A "BROKEN" verdict on moto: moto_server checks ``If-None-Match: *`` and writes in two steps, so two
writers racing for the same global number can both "win" (real S3 decides atomically); segments
never race. The "S3 +20 ms" rows add 20 ms to every request, a cheap stand-in for a real network round trip.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "include"))

import s3server  # noqa: E402  (bench/s3server.py: this script's folder is on sys.path)

from socialhub.audit.chain import AuditLog, verify_chain  # noqa: E402
from socialhub.audit.keys import AuditKeys  # noqa: E402
from socialhub.errors import ImmutableObjectError  # noqa: E402
from socialhub.storage import LocalStore  # noqa: E402

KEYS = AuditKeys.parse(f"bench:{'ab' * 32}")
ACTOR = {"kind": "task", "dag_id": "bench", "task_id": "writer"}
COUNTED = ("put", "put_hint", "get", "get_or_none", "exists", "list")


class Counting:
    """An ObjectStore seen through a counter (and an optional delay per request)."""

    def __init__(self, store: Any, latency: float = 0.0) -> None:
        self._store, self._latency = store, latency
        self.ops: Counter[str] = Counter()
        self.conflicts = 0
        self.written = 0     # objects actually written (a lost conditional create writes nothing)
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._store, name)
        if name not in COUNTED:
            return real

        def call(*args: Any, **kw: Any) -> Any:
            with self._lock:
                self.ops[name] += 1
            if self._latency:
                time.sleep(self._latency)
            try:
                out = real(*args, **kw)
            except ImmutableObjectError:
                with self._lock:
                    self.conflicts += 1
                raise
            if name in ("put", "put_hint"):
                with self._lock:
                    self.written += 1
            return out

        return call


def run(store: Any, mode: str, writers: int, events: int, latency: float) -> dict[str, Any]:
    counting = Counting(store, latency)

    def write(i: int) -> None:
        log = AuditLog(counting, keys=KEYS, anchor=None, segmented=mode == "segmented",  # type: ignore[arg-type]
                       segment_label=f"bench.w{i}")
        for j in range(events):
            log.append("collect", actor=ACTOR, obj=f"mastodon:acct{i}-{j}", hashes={"raw": f"{j:064x}"})
        log.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    seconds = time.perf_counter() - started
    n = writers * events
    writes = counting.written
    t = time.perf_counter()
    result = verify_chain(store, keys=KEYS, anchor=None)
    verify_s = time.perf_counter() - t
    verdict = "ok" if result.ok else f"BROKEN ({result.findings[0].kind} at {result.findings[0].where})"
    return {"verdict": verdict, "mode": mode, "events": n, "per_s": n / seconds, "objects_per_event": writes / n,
            "requests_per_event": sum(counting.ops.values()) / n, "conflicts": counting.conflicts,
            "verify_s": verify_s, "verify_read": result.events_read}


def s3_store(endpoint: str, name: str) -> Any:
    import boto3

    from socialhub.storage.s3 import S3Store

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    client.create_bucket(Bucket=name)
    return S3Store(name, client=client)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 writers x 25 events")
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--events", type=int, help="events per writer (default 250, quick 25)")
    args = ap.parse_args(argv)
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    events = args.events or (25 if quick else 250)
    rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("global", "segmented"):
            rows.append(("local", run(LocalStore(Path(tmp) / mode), mode, args.writers, events, 0.0)))
        proc, endpoint = s3server.start()
        try:
            for mode in ("global", "segmented"):
                rows.append(("S3 (moto)", run(s3_store(endpoint, f"bench-{mode}"), mode, args.writers, events, 0.0)))
            lat_events = max(10, events // 2)
            for mode in ("global", "segmented"):
                rows.append(("S3 +20 ms", run(s3_store(endpoint, f"bench-lat-{mode}"), mode, args.writers,
                                              lat_events, 0.020)))
        finally:
            s3server.stop(proc)
    print(f"{args.writers} concurrent writers, keyed (MACs); events per writer: {events} "
          f"({max(10, events // 2)} with +20 ms)")
    head = (f"{'store':<10} {'mode':<10} {'events':>6} {'appends/s':>10} {'objects/event':>14} "
            f"{'requests/event':>15} {'conflicts':>9} {'verify s':>9} {'verify reads':>12}  verify")
    print(head)
    print("-" * len(head))
    for where, r in rows:
        print(f"{where:<10} {r['mode']:<10} {r['events']:>6} {r['per_s']:>10.0f} {r['objects_per_event']:>14.2f} "
              f"{r['requests_per_event']:>15.2f} {r['conflicts']:>9} {r['verify_s']:>9.2f} {r['verify_read']:>12}  "
              f"{r['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
