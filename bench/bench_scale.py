"""A collection cycle at real network latency against S3, under the platforms' rate limits:
accounts fetched concurrently inside each shard against one account at a time, in the same run.
Prints figures; asserts nothing.

    python bench/bench_scale.py                 # 1,000 and 10,000 accounts (~15-25 min on 2 cores)
    python bench/bench_scale.py --quick         # 200 accounts (or BENCH_QUICK=1), ~2 min
    python bench/bench_scale.py --sizes 1000 --budget-rps 40
    python bench/bench_scale.py --sizes 10000 --store local --sequential-sample 0   # without S3 emulation

Set-up, all on loopback:

* **S3**: ``moto_server`` over HTTP in its own process, the project's boto3 ``S3Store`` (each run
  under a fresh prefix of one bucket); ``--store local``: the local-folder store instead, which
  shows what the pipeline itself costs when no S3 emulation shares the two cores;
* **platforms**: the replay server in its own process (so neither server's CPU is counted as the
  pipeline's), half Mastodon, half Bluesky accounts with two new posts each, every answer delayed
  by 200 ms +- 50 ms (``ReplayServer(latency=0.2, jitter=0.05)``), and each platform's *published*
  rate limit enforced with the platform's own 429 (``enforce_published_limits``). The limits'
  windows are scaled (not their request counts) so that each platform's budget is
  ``--budget-rps`` requests per second (the published rate would allow Mastodon 0.33 requests per
  second per instance: a 10,000-account run would take days); the table header prints the limits
  as enforced. The bench process uses the same scaled table (``limits.LIMITS``) for the planner's
  budget and for the shards' pacing, exactly as production uses the published one;
* **a cycle**: ``plan_collection`` (rate budget on, every account due), then every shard of the
  plan collected at once (one thread per shard, as Airflow workers with enough pool slots would run
  the mapped tasks; each shard with its own slice of the rate, ``shard["rate"]``), then
  ``process_batches`` on everything queued (one process, one core: the classifier is loaded before
  the clock starts, as in a warm worker).

Modes: ``concurrent`` (``SOCIALHUB_COLLECT_CONCURRENCY``, default 8 accounts per shard at once) and
``sequential`` (1: one account after another, as before). At 10,000 accounts the sequential
collection would take over half an hour, so it runs on a sample (``--sequential-sample``, default
1,000 accounts spread over both platforms) and its time for the full size is *extrapolated* per
account (marked in the table).

CPU per account is this process's CPU (``time.process_time``: all its threads) over the accounts
collected; the S3 server's CPU is shown beside it (``/proc``), the replay server's is not counted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synthetic as syn  # noqa: E402

ROOT = syn.ROOT
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
T0 = time.monotonic()
LATENCY, JITTER = 0.2, 0.05

REPLAY_SNIPPET = """
import json, sys
sys.path.insert(0, {here!r})
import synthetic
from socialhub.replay.server import ReplayServer
server = ReplayServer(data=synthetic.replay_data({n}, posts={posts}), latency={latency}, jitter={jitter}, seed=1).start()
print(server.port, flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["cmd"] == "enforce":
        out = {{p: server.enforce_published_limits(p, scale=s)[p] for p, s in cmd["scales"].items()}}
        server.reset_stats()
    elif cmd["cmd"] == "stats":
        out = server.stats()
    print(json.dumps(out), flush=True)
"""


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of another process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Replay:
    """The replay server in another process, driven over stdin/stdout."""

    def __init__(self, n: int, posts: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", REPLAY_SNIPPET.format(here=str(HERE), n=n, posts=posts, latency=LATENCY,
                                                          jitter=JITTER)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "include")})
        self.port = int(self.proc.stdout.readline())  # type: ignore[union-attr]
        from socialhub.replay.server import ReplayServer

        self._local = ReplayServer(data=syn.replay_data(n, posts=posts))   # for account names only (not started)

    def ask(self, cmd: dict[str, Any]) -> Any:
        self.proc.stdin.write(json.dumps(cmd) + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]

    def platforms(self) -> list[str]:
        return self._local.platforms()

    def accounts(self, platform: str) -> list[str]:
        return self._local.accounts(platform)

    def base_url(self, platform: str) -> str:
        return f"http://127.0.0.1:{self.port}/{platform}"

    def stop(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)


class Moto:
    def __init__(self) -> None:
        import s3server

        self.proc, endpoint = s3server.start()
        import boto3
        from botocore.config import Config

        self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                   aws_access_key_id="testing", aws_secret_access_key="testing",
                                   config=Config(max_pool_connections=128, retries={"max_attempts": 3}))
        self.bucket = "socialhub-bench-scale"
        self.client.create_bucket(Bucket=self.bucket)
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

        def count(event_name: str, **kw: Any) -> None:
            op = event_name.rsplit(".", 1)[-1]
            with self._lock:
                self.calls[op] = self.calls.get(op, 0) + 1

        self.client.meta.events.register("before-call.s3", count)

    name = "S3 (moto)"

    def store(self, prefix: str) -> Any:
        from socialhub.storage.s3 import S3Store

        return S3Store(self.bucket, prefix, client=self.client)

    def take_calls(self) -> dict[str, int]:
        with self._lock:
            out, self.calls = self.calls, {}
        return out

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        import s3server

        s3server.stop(self.proc)


class Local:
    """The embedded default, a local folder (``--store local``): what the pipeline costs without an
    S3 server on the same cores. No calls are counted, no server CPU."""

    name = "local folder"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="socialhub-bench-scale-store-"))

    def store(self, prefix: str) -> Any:
        from socialhub.storage import LocalStore

        return LocalStore(self.root / prefix)

    def take_calls(self) -> dict[str, int]:
        return {}

    def cpu(self) -> float:
        return 0.0

    def stop(self) -> None:
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Result:
    accounts: int
    mode: str
    store: str = "S3 (moto)"
    collected: int = 0          # accounts actually collected in this run (the sample, for sequential at 10k)
    ok: int = 0
    deferred: int = 0
    paced: int = 0
    failed: int = 0
    posts: int = 0
    plan_s: float = 0.0
    collect_s: float = 0.0
    process_s: float | None = None
    requests: dict[str, int] = field(default_factory=dict)
    status_429: int = 0
    cpu_s: float = 0.0
    s3_cpu_s: float = 0.0
    process_cpu_s: float = 0.0
    process_calls: dict[str, int] = field(default_factory=dict)
    s3_calls: dict[str, int] = field(default_factory=dict)
    plan_calls: dict[str, int] = field(default_factory=dict)
    extrapolated: bool = False
    shards: int = 0

    @property
    def cycle_s(self) -> float:
        return self.plan_s + self.collect_s + (self.process_s or 0.0)


def scaled_limits(platforms: list[str], budget_rps: float) -> dict[str, float]:
    """Scale each platform's window (in limits.LIMITS, in place) so its budget is ``budget_rps``;
    returns platform -> scale, for the replay server to enforce the same."""
    from socialhub.sources import limits

    scales = {}
    for p in platforms:
        published = limits.LIMITS[p]
        scale = published.requests / budget_rps / published.window.total_seconds()
        scales[p] = scale
        limits.LIMITS[p] = dataclasses.replace(published, window=published.window * scale)
    return scales


def run(n: int, mode: str, entries: list[Any], replay: Replay, moto: Moto | Local, scales: dict[str, float], *,
        concurrency: int, process: bool, classifier: Any, shards: int = 4) -> Result:
    from socialhub.collect import collect_shard, plan_collection
    from socialhub.sources.base import ConnectorConfig
    from socialhub.sources.registry import get_connector
    from socialhub.watchlist import Watchlist

    res = Result(n, mode, collected=len(entries), store=moto.name)
    store = moto.store(f"{mode}-{n}-{uuid.uuid4().hex[:6]}")
    wl = Watchlist(version=1, accounts=entries)
    replay.ask({"cmd": "enforce", "scales": scales})   # a fresh, full window per platform; stats zeroed
    now = datetime.now(UTC)

    def factory(platform: str) -> Any:
        return get_connector(platform, ConnectorConfig(base_url=replay.base_url(platform), max_wait=30.0))

    moto.take_calls()
    cpu0, s3cpu0, t0 = time.process_time(), moto.cpu(), time.monotonic()
    # as the collect DAG plans: from each platform's due index (a fresh prefix: the first run rebuilds it)
    plan = plan_collection(wl, store, now, force_all=True, max_shards_per_platform=shards, index=True)
    res.plan_s = time.monotonic() - t0
    res.plan_calls = moto.take_calls()
    res.deferred, res.shards = len(plan.deferred), len(plan.shards)
    say(f"{mode:10s} {len(entries):6d} accounts: planned in {res.plan_s:.1f}s: {plan.due} due in {len(plan.shards)} "
        f"shards, {len(plan.deferred)} deferred by the rate budget; collecting")
    outcomes: list[list[dict[str, Any]]] = [[] for _ in plan.shards]

    def one(i: int) -> None:
        outcomes[i] = collect_shard(store, plan.shards[i], factory, now, None, None, concurrency=concurrency)

    t1 = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(plan.shards))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res.collect_s = time.monotonic() - t1
    res.cpu_s, res.s3_cpu_s, res.s3_calls = time.process_time() - cpu0, moto.cpu() - s3cpu0, moto.take_calls()
    stats = replay.ask({"cmd": "stats"})
    res.requests = {p: int(stats[p]["requests"]) for p in scales}
    res.status_429 = sum(int(stats[p]["status_429"]) for p in scales)
    flat = [o for group in outcomes for o in group]
    res.ok = sum(o["status"] == "ok" for o in flat)
    res.failed = sum(o["status"] == "error" for o in flat)
    res.paced = sum(o["status"] == "deferred" for o in flat)   # paced out by the shard's slice: next run
    res.posts = sum(o["posts"] for o in flat)
    errors = sorted({(o.get("error_type") or "") + ": " + str(o.get("error"))[:120] for o in flat
                     if o["status"] == "error"})
    say(f"{mode:10s} {len(entries):6d} accounts: collected in {res.collect_s:.1f}s: {res.ok} ok, {res.failed} failed, "
        f"{res.paced} paced out, "
        f"{res.posts} posts, requests {res.requests}, 429s {res.status_429}"
        + (f"; errors: {errors[:3]}" if errors else ""))
    if process:
        from socialhub.process import pending_batches, process_batches

        t2, cpu2 = time.monotonic(), time.process_time()
        ids = pending_batches(store)
        records = process_batches(store, ids, classifier=classifier, now=now, concurrency=concurrency)
        res.process_s, res.process_cpu_s = time.monotonic() - t2, time.process_time() - cpu2
        res.process_calls = moto.take_calls()
        say(f"{mode:10s} {len(entries):6d} accounts: processed {len(records)} batches in {res.process_s:.1f}s "
            f"({sum(r.get('flagged', 0) for r in records)} posts flagged)")
    return res


def table(results: list[Result], budget_rps: float, platforms: list[str]) -> str:
    budget = budget_rps * len(platforms)
    lines = ["| accounts | store | mode | accounts collected | wall s (plan+collect+process) | accounts/s | requests/s "
             "| % of budget (per platform) | 429s | collect CPU ms/account (this process; S3 server) | S3 calls/account "
             "| deferred (budget; paced out) | failed "
             "| all due collected+processed < 5 min |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        reqs = sum(r.requests.values())
        rps = reqs / r.collect_s if r.collect_s else 0.0
        per = r.collect_s / max(1, r.collected)
        if r.extrapolated:
            wall = f"~{r.plan_s / r.collected * r.accounts + per * r.accounts:,.0f} (extrapolated from {r.collected:,})"
            within = "no (extrapolated)" if per * r.accounts > 300 else "?"
        else:
            wall = (f"{r.cycle_s:,.0f} ({r.plan_s:.0f}+{r.collect_s:.0f}+"
                    f"{'-' if r.process_s is None else f'{r.process_s:.0f}'})")
            within = ("yes" if r.cycle_s <= 300 and r.failed == 0 and r.paced == 0 else "no") + (
                "" if r.process_s is not None else " (collection only)")
        lines.append(
            f"| {r.accounts:,} | {r.store} | {r.mode} | {r.collected:,} | {wall} | {r.collected / r.collect_s:,.1f} | {rps:,.1f} "
            f"| {rps / budget:.0%} ({', '.join(f'{p} {n / r.collect_s / budget_rps:.0%}' for p, n in r.requests.items())})"
            f" | {r.status_429} | {1000 * r.cpu_s / max(1, r.collected):.1f}; "
            f"{1000 * r.s3_cpu_s / max(1, r.collected):.1f} | {sum(r.s3_calls.values()) / max(1, r.collected):.1f} "
            f"| {r.deferred}; {r.paced} | {r.failed} | {within} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0"))
    ap.add_argument("--sizes", default=None, help="comma-separated account counts (default 1000,10000; quick: 200)")
    ap.add_argument("--budget-rps", type=float, default=40.0,
                    help="each platform's enforced budget in requests per second (the published limit's window "
                         "scaled to it; default 40)")
    ap.add_argument("--concurrency", type=int, default=8, help="accounts per shard at once in the concurrent mode")
    ap.add_argument("--shards", type=int, default=4,
                    help="shards per platform (SOCIALHUB_MAX_SHARDS, default 4); all run at once")
    ap.add_argument("--sequential-sample", type=int, default=1000,
                    help="largest size the sequential mode collects in full; above it, a sample, extrapolated "
                         "(0: no sequential run)")
    ap.add_argument("--posts", type=int, default=2, help="new posts per account")
    ap.add_argument("--no-process", action="store_true", help="collection only (no process_batches)")
    ap.add_argument("--store", choices=("moto", "local"), default="moto",
                    help="moto: S3 through boto3 against moto_server over HTTP (default); local: the local-folder "
                         "store, to see what the pipeline costs without an S3 emulation on the same cores")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("200" if args.quick else "1000,10000")).split(",")]
    import logging

    logging.basicConfig(level=logging.WARNING)
    from socialhub.sources.pacing import PACE_SHARE
    from socialhub.watchlist import load_watchlist

    classifier = None
    if not args.no_process:
        from socialhub.classify import load_classifier

        say("loading the classifier (before any clock starts: a warm worker)")
        classifier = load_classifier()
    say(f"bench_scale: sizes {sizes}, {LATENCY * 1000:.0f} ms +- {JITTER * 1000:.0f} ms per request, budget "
        f"{args.budget_rps:g} req/s per platform, concurrency {args.concurrency}, {args.shards} shard(s) per "
        f"platform; {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}")
    moto: Moto | Local = Moto() if args.store == "moto" else Local()
    results: list[Result] = []
    enforced: dict[str, Any] = {}
    platforms: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="socialhub-bench-scale-"))
    try:
        platforms = list(syn.replay_data(2))   # mastodon, bluesky
        scales = scaled_limits(platforms, args.budget_rps)
        from socialhub.sources.limits import LIMITS

        enforced = {p: (LIMITS[p].requests, LIMITS[p].window.total_seconds(), scales[p]) for p in platforms}
        if classifier is not None:   # Great Expectations starts on the first validation: not in the figures
            say("warm-up: a 10-account cycle, not reported")
            replay = Replay(10, args.posts)
            try:
                warm = load_watchlist(syn.watchlist(replay, work / "watchlist-warm.yaml")).accounts
                run(10, "warm-up", warm, replay, moto, scales, concurrency=args.concurrency, process=True,
                    classifier=classifier)
            finally:
                replay.stop()
        for n in sizes:
            replay = Replay(n, args.posts)
            try:
                entries = load_watchlist(syn.watchlist(replay, work / f"watchlist-{n}.yaml")).accounts
                results.append(run(n, "concurrent", entries, replay, moto, scales, concurrency=args.concurrency,
                                   process=not args.no_process, classifier=classifier, shards=args.shards))
                if args.sequential_sample <= 0:
                    continue
                sample = entries if n <= args.sequential_sample else entries[:: max(1, n // args.sequential_sample)]
                seq = run(n, "sequential", sample, replay, moto, scales, concurrency=1,
                          process=not args.no_process and len(sample) == n, classifier=classifier, shards=args.shards)
                seq.extrapolated = len(sample) < n
                results.append(seq)
            finally:
                replay.stop()
    finally:
        try:
            moto.stop()
        except Exception as exc:  # noqa: BLE001 - the figures matter more than a clean stop
            say(f"could not stop the store's server cleanly: {type(exc).__name__}: {exc}")
    print(f"\nA collection cycle on {moto.name} "
          + ("(moto_server over HTTP, boto3) " if args.store == "moto" else "") + "against the replay server at "
          f"{LATENCY * 1000:.0f} ms +- {JITTER * 1000:.0f} ms per request, with each platform's published limit "
          "enforced (429s), its window scaled to the budget: "
          + "; ".join(f"{p} {req:,} requests per {win:.1f} s (published window x {sc:.4f}) = "
                      f"{req / win:.0f} req/s" for p, (req, win, sc) in enforced.items())
          + f". The budget in the table is the sum over the platforms ({args.budget_rps * len(platforms):g} req/s); "
            f"the shards' pacing spends at most {PACE_SHARE:.0%} of it by design. {args.shards} shard(s) per platform, all at once (one "
            "thread each); CPU is this process's (all threads), the S3 server's beside it. Processing: one "
            "process_batches over everything queued, one core, classifier pre-loaded.\n")
    print(table(results, args.budget_rps, platforms))
    print("\nS3 calls per account (collection), by operation: " + "; ".join(
        f"{r.accounts:,} {r.mode}: " + ", ".join(f"{op} {n / max(1, r.collected):.1f}" for op, n in sorted(r.s3_calls.items()))
        for r in results))
    print("S3 calls per account (planning, from the due index; a first run rebuilds it from the cursors): " + "; ".join(
        f"{r.accounts:,} {r.mode}: " + ", ".join(f"{op} {n / max(1, r.collected):.2f}" for op, n in sorted(r.plan_calls.items()))
        for r in results))
    print("S3 calls per batch (processing): " + "; ".join(
        f"{r.accounts:,} {r.mode}: " + ", ".join(f"{op} {n / max(1, r.collected):.1f}" for op, n in sorted(r.process_calls.items()))
        for r in results if r.process_s is not None))
    processed = [f"{r.accounts:,} {r.mode}: {r.process_cpu_s:.0f} s for {r.collected:,} batches" for r in results
                 if r.process_s is not None]
    print("processing CPU s (one core): " + ("; ".join(processed) if processed else "not run (--no-process)"))
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
