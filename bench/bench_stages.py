"""Per-stage throughput, peak memory of a 100,000-post batch, and DAG file parse time. Prints figures;
asserts nothing.

    python bench/bench_stages.py            # full (a few minutes)
    python bench/bench_stages.py --quick    # smaller inputs (or BENCH_QUICK=1)

* collect-parse: the connectors fetching and normalising every account of a synthetic watchlist
  from the replay server (which runs in another process, so its CPU is not counted);
* collect-store: writing raw evidence, posts, manifest, queue entry and cursor (``store_batch``);
* validate / classify / store: inside the real ``process_batch`` on one large batch, timed by
  wrapping its calls (GX validation, ``classify_batch``, everything else = reading, JSON and writes);
* posts/s per core = posts / CPU seconds of this process (``time.process_time``);
* memory: ``process_batch`` on one stored 100,000-post batch in a fresh process (peak RSS);
* parse: each DAG file through Airflow's ``DagBag`` in a process that has already imported
  Airflow (as the dag-processor has), median of several fresh processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synthetic as syn  # noqa: E402

ROOT = syn.ROOT
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
T0 = time.monotonic()
ROWS: list[tuple[str, str, str]] = []   # (figure, value, note) for the summary table


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def record(name: str, value: str, note: str = "") -> None:
    ROWS.append((name, value, note))
    say(f"{name}: {value}{'  (' + note + ')' if note else ''}")


class Timer:
    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} posts/s" if seconds > 0 else "n/a"


# -- collect ----------------------------------------------------------------------------------------

REPLAY_SNIPPET = """
import sys, time
sys.path.insert(0, {here!r})
import synthetic
server = synthetic.start_replay({n}, posts={posts})
print(server.port, flush=True)
sys.stdin.read()
"""


def bench_collect(accounts: int, posts: int) -> None:
    from socialhub.collect import plan_collection, store_batch
    from socialhub.sources.base import ConnectorConfig
    from socialhub.sources.registry import get_connector
    from socialhub.storage import LocalStore
    from socialhub.watchlist import WatchlistEntry, load_watchlist

    say(f"collect: replay server with {accounts} accounts x {posts} posts in a separate process")
    proc = subprocess.Popen([sys.executable, "-c", REPLAY_SNIPPET.format(here=str(HERE), n=accounts, posts=posts)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "include")})
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        work = Path(tempfile.mkdtemp(prefix="socialhub-bench-stages-"))

        class _Urls:  # what synthetic.watchlist needs from a server
            def __init__(self) -> None:
                from socialhub.replay.server import ReplayServer

                self._local = ReplayServer(data=syn.replay_data(accounts, posts=posts))

            def platforms(self) -> list[str]:
                return self._local.platforms()

            def accounts(self, platform: str) -> list[str]:
                return self._local.accounts(platform)

        wl = load_watchlist(syn.watchlist(_Urls(), work / "watchlist.yaml"))
        store = LocalStore(work / "store")
        now = datetime.now(UTC)
        plan = plan_collection(wl, store, now, max_shards_per_platform=1, force_all=True)
        connectors = {p: get_connector(p, ConnectorConfig(base_url=f"http://127.0.0.1:{port}/{p}", token=None,
                                                          lookback=timedelta(days=7), max_pages=10, extra={}))
                      for p in {s["platform"] for s in plan.shards}}
        fetch, store_t = Timer(), Timer()
        n_posts = 0
        for shard in plan.shards:
            for raw in shard["accounts"]:
                entry = WatchlistEntry.model_validate(raw)
                with fetch:
                    result = connectors[entry.platform].fetch(entry.account, None)
                n_posts += len(result.posts)
                with store_t:
                    if result.posts:
                        store_batch(store, entry, result, None, now)
        record("collect-parse (fetch + normalise)", _rate(n_posts, fetch.cpu) + " per core",
               f"{n_posts} posts from {accounts} accounts; wall {_rate(n_posts, fetch.wall)} incl. HTTP waits")
        record("collect-store (raw, posts, manifest, queue)", _rate(n_posts, store_t.cpu) + " per core",
               f"wall {_rate(n_posts, store_t.wall)} incl. fsync; local folder")
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=10)


# -- processing ------------------------------------------------------------------------------------

def _stored_batch(root: Path, n: int) -> tuple[Any, str]:
    """A store holding one queued batch of ``n`` posts, written the way collect writes it."""
    from socialhub.models import canonical_json, to_jsonl
    from socialhub.storage import LocalStore, layout

    store = LocalStore(root)
    rows = syn.post_rows(n)
    batch_id = f"bench{n:019d}"[:24]
    day = "2026-01-01"
    posts_obj = store.put(layout.posts_key("mastodon", day, "bench_m00001@bench.example", batch_id), to_jsonl(rows),
                          content_type="application/x-ndjson")
    manifest = {"batch_id": batch_id, "platform": "mastodon", "account": "bench_m00001@bench.example",
                "display_name": "Bench", "force": "force-a", "team": "team-1", "authorisation_ref": "AUTH-BENCH",
                "purpose": "benchmark", "collected_at": "2026-01-01T11:00:00Z", "day": day, "count": n,
                "posts": {"key": posts_obj.key, "sha256": posts_obj.sha256}, "post_ids": [r["post_id"] for r in rows]}
    mkey = layout.manifest_key("mastodon", "bench_m00001@bench.example", "20260101T110000", batch_id)
    store.put(mkey, canonical_json(manifest), content_type="application/json")
    store.put(layout.queue_key("pending", batch_id), canonical_json({"batch_id": batch_id, "manifest": mkey}),
              content_type="application/json")
    return store, batch_id


def bench_process(n: int) -> None:
    import socialhub.quality.suite as suite
    from socialhub.classify import load_classifier
    from socialhub.process import process_batch

    clf = load_classifier()
    with Timer() as warm:
        suite.validate_batch(syn.post_rows(10), now=datetime(2026, 1, 2, tzinfo=UTC))
        clf.classify_batch(["warm up"])
    record("GX + classifier start-up (once per worker process)", f"{warm.wall:.1f} s")
    small = syn.post_rows(2)
    with Timer() as per_call:
        for _ in range(5):
            suite.validate_batch(small, now=datetime(2026, 1, 2, tzinfo=UTC))
    record("validate: fixed cost per GX call", f"{per_call.wall / 5:.2f} s",
           "paid once per GX run: the reason small batches are validated together")

    store, batch_id = _stored_batch(Path(tempfile.mkdtemp(prefix="socialhub-bench-proc-")), n)
    validate_t, classify_t = Timer(), Timer()
    real_validate, real_classify = suite.row_reasons, clf.classify_batch

    def timed_validate(*a: Any, **kw: Any) -> Any:
        with validate_t:
            return real_validate(*a, **kw)

    def timed_classify(*a: Any, **kw: Any) -> Any:
        with classify_t:
            return real_classify(*a, **kw)

    suite.row_reasons, clf.classify_batch = timed_validate, timed_classify  # type: ignore[method-assign]
    try:
        with Timer() as total:
            rec = process_batch(store, batch_id, classifier=clf)
    finally:
        suite.row_reasons = real_validate
    other = Timer()
    other.cpu = total.cpu - validate_t.cpu - classify_t.cpu
    other.wall = total.wall - validate_t.wall - classify_t.wall
    record(f"validate (GX, one {n:,}-post batch)", _rate(n, validate_t.cpu) + " per core")
    record("classify", _rate(n, classify_t.cpu) + " per core", f"{rec['flagged']} flagged")
    record("store (read batch, JSON, write curated/flagged/result)", _rate(n, other.cpu) + " per core")
    record("process_batch overall", _rate(n, total.cpu) + " per core", f"wall {total.wall:.1f} s")


MEMORY_SNIPPET = """
import json, os, resource, sys, tempfile, time
from pathlib import Path
from datetime import datetime, timezone
sys.path.insert(0, {here!r})
import bench_stages as b
import synthetic
from socialhub.classify import load_classifier
from socialhub.process import process_batch
import socialhub.quality.suite as suite
clf = load_classifier()
suite.validate_batch(synthetic.post_rows(10), now=datetime(2026, 1, 2, tzinfo=timezone.utc))
clf.classify_batch(["warm up"])
from socialhub.storage import LocalStore
store, batch_id = LocalStore({root!r}), {batch_id!r}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
rec = process_batch(store, batch_id, classifier=clf, slice_posts={slice_posts})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"base_kib": base, "peak_kib": peak, "seconds": time.perf_counter() - t,
                  "size_mib": (store.root / json.loads(store.get("queue/pending/" + batch_id + ".json"))["manifest"]).stat().st_size / 2**20,
                  "posts_file_mib": sum(p.stat().st_size for p in (store.root / "posts").rglob("*.jsonl")) / 2**20,
                  "flagged": rec["flagged"]}}))
"""


def _peak_memory(n: int, slice_posts: int) -> dict[str, Any] | None:
    # the batch is written here, so the measuring process never held it before process_batch does
    store, batch_id = _stored_batch(Path(tempfile.mkdtemp(prefix="socialhub-bench-mem-")), n)
    snippet = MEMORY_SNIPPET.format(here=str(HERE), root=str(store.root), batch_id=batch_id, slice_posts=slice_posts)
    proc = subprocess.run([sys.executable, "-c", snippet], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [str(ROOT / "include"), str(ROOT / "plugins")])}, timeout=3600)
    shutil.rmtree(store.root, ignore_errors=True)
    if proc.returncode:
        record(f"peak memory, {n:,}-post batch, slices of {slice_posts:,}", "FAILED", proc.stderr[-500:])
        return None
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def bench_memory(n: int) -> None:
    from socialhub.process import SLICE_POSTS

    peaks: dict[str, tuple[float, float]] = {}
    for label, slice_posts in (("streamed", SLICE_POSTS), ("baseline: the whole batch at once", 10**9)):
        say(f"memory: process_batch on one {n:,}-post batch in a fresh process ({label})")
        out = _peak_memory(n, slice_posts)
        if out is None:
            continue
        peak, base = out["peak_kib"] / 1024, out["base_kib"] / 1024
        peaks[label] = (peak, peak - base)
        record(f"peak memory, process_batch of a {n:,}-post batch ({label})", f"{peak:,.0f} MiB RSS",
               f"{peak - base:,.0f} MiB above the warmed-up process ({base:,.0f} MiB: Python + GX + classifier, "
               f"no Airflow); batch file {out['posts_file_mib']:.0f} MiB; {out['seconds']:.0f} s")
    if len(peaks) == 2:
        (streamed, _), (whole, _) = peaks.values()
        record("peak memory: baseline / streamed", f"{whole / streamed:.1f}x",
               "peak RSS of the whole process, start-up included")


# -- DAG parse time ----------------------------------------------------------------------------------

PARSE_SNIPPET = """
import json, sys, time
import airflow.sdk  # the dag-processor has Airflow loaded already
from airflow.dag_processing.dagbag import DagBag
t = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "dags": len(bag.dags), "errors": len(bag.import_errors)}))
"""


def _public_scheme_copies(folder: Path) -> list[Path]:
    """Baseline: copies of the DAG files with a public ``socialhub://`` asset URI scheme.

    Any scheme without Airflow's private ``x-`` prefix makes the first ``Asset(uri=...)`` of a
    process discover every provider's URI handlers, which imports e.g. the amazon provider's S3
    hook and boto3 (~0.5 s; airflow.sdk.definitions.asset._sanitize_uri). The project's DAGs use
    ``x-socialhub://``; this shows what that buys."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for dag_file in sorted((ROOT / "dags").glob("*.py")):
        text = dag_file.read_text()
        if 'uri="x-socialhub://' in text:
            copy = folder / dag_file.name
            copy.write_text(text.replace('uri="x-socialhub://', 'uri="socialhub://'))
            out.append(copy)
    return out


def bench_parse(repeats: int) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins")]),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags")}
    variants = [(f, "") for f in sorted((ROOT / "dags").glob("*.py"))]
    variants += [(f, " (baseline: public socialhub:// asset URIs)")
                 for f in _public_scheme_copies(Path(tempfile.mkdtemp(prefix="socialhub-bench-parse-")))]
    medians: dict[tuple[str, bool], float] = {}
    for dag_file, label in variants:
        times, dags, errors = [], 0, 0
        for _ in range(repeats):
            proc = subprocess.run([sys.executable, "-c", PARSE_SNIPPET, str(dag_file)], capture_output=True,
                                  text=True, env=env, timeout=600)
            if proc.returncode:
                errors = -1
                break
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            times.append(out["seconds"])
            dags, errors = out["dags"], out["errors"]
        value = f"{statistics.median(times):.3f} s" if times else "FAILED"
        record(f"parse {dag_file.name}{label}", value,
               f"median of {len(times)} fresh processes; {dags} DAG(s), {errors} import error(s)")
        if times:
            medians[(dag_file.name, bool(label))] = statistics.median(times)
    for (name, baseline), seconds in sorted(medians.items()):
        if baseline and (name, False) in medians:
            record(f"parse {name}: baseline / project", f"{seconds / medians[(name, False)]:.1f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0"))
    ap.add_argument("--parts", default="parse,collect,process,memory", help="which figures (comma-separated)")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    accounts, posts = (100, 10) if args.quick else (400, 20)
    batch = 10_000 if args.quick else 50_000
    memory_batch = 20_000 if args.quick else 100_000
    print(f"bench_stages: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
          f"{' (quick)' if args.quick else ''}", flush=True)
    if "parse" in parts:
        bench_parse(3 if args.quick else 5)
    if "collect" in parts:
        bench_collect(accounts, posts)
    if "process" in parts:
        bench_process(batch)
    if "memory" in parts:
        bench_memory(memory_batch)
    print("\n| figure | value | note |\n|---|---:|---|")
    for name, value, note in ROWS:
        print(f"| {name} | {value} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
