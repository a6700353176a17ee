"""One full collection-to-alert cycle through Airflow for synthetic watchlists of 100, 1,000 and
10,000 accounts served by the local replay server, against a naive one-task-per-account baseline
measured in the same run. Prints figures; asserts nothing.

    python bench/bench_cycle.py                     # full: 100, 1,000, 10,000 accounts (tens of minutes)
    python bench/bench_cycle.py --quick             # 100 accounts only (or BENCH_QUICK=1)
    python bench/bench_cycle.py --sizes 1000 --variants current,naive

A cycle is ``airflow dags test socialhub_collect`` then ``airflow dags test socialhub_process``
(the same way ``make demo`` and the e2e tests run Airflow: real DAGs, real task code, SQLite
metadata, the local-folder store, alerts to the outbox), timed from the first command to the
last, Airflow start-up included. ``dags test`` runs the tasks one after another in one process:
the figures are for one core. ``SOCIALHUB_MAX_BATCHES_PER_RUN`` is raised so one processing run
drains the queue (with the default 500, 10,000 new batches take 20 asset-triggered runs).

Variants (each on a fresh store and metadata database):

* ``current``: the project's DAGs and code as they are, under ``airflow dags test``.
* ``naive``: the baseline: the same DAGs with ``SOCIALHUB_MAX_SHARDS`` above the number of
  accounts, i.e. one mapped collect task per account and one process task per batch (so each
  batch also gets its own Great Expectations run). Above 1,024 accounts per platform Airflow
  itself refuses it (``[core] max_map_length``); the bench shows that refusal instead of raising
  the limit.
* ``local``: the current code under a real deployment: PostgreSQL, scheduler with the
  LocalExecutor on this machine's cores, api-server, dag-processor.

The local variant's DAG files (the collect DAG without its cron schedule, so only the bench's
trigger starts it) are generated into a temporary dags folder; nothing here is ever written to
``dags/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synthetic as syn  # noqa: E402

ROOT = syn.ROOT
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
T0 = time.monotonic()
NAIVE_SHARDS = 1_000_000
VARIANTS = ["current", "naive", "local"]
DEFAULT_MAX_NAIVE = 1000


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


@dataclass
class CycleResult:
    variant: str
    accounts: int
    status: str = "ok"
    note: str = ""
    posts: int = 0
    batches: int = 0
    flagged: int = 0
    alerts: int = 0
    collect_tasks: int = 0
    process_tasks: int = 0
    collect_s: float = 0.0
    process_s: float = 0.0
    cycle_s: float = 0.0
    peak_rss_mib: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


# -- DAG folders for the variants ------------------------------------------------------------------

def unscheduled_dags(folder: Path) -> Path:
    """The project's collect and process DAGs, the collect DAG without its cron schedule, so that
    under a real scheduler only the bench's trigger starts a collection run (the process DAG stays
    asset-scheduled)."""
    folder.mkdir(parents=True, exist_ok=True)
    collect = (ROOT / "dags" / "socialhub_collect.py").read_text()
    cron = 'schedule="*/5 * * * *"'
    if cron not in collect:
        raise SystemExit(f"bench_cycle: dags/socialhub_collect.py no longer contains {cron!r}; update "
                         "bench/bench_cycle.py (local variant)")
    (folder / "socialhub_collect.py").write_text(collect.replace(cron, "schedule=None"))
    shutil.copy(ROOT / "dags" / "socialhub_process.py", folder / "socialhub_process.py")
    return folder


# -- running -----------------------------------------------------------------------------------------

def _run(cmd: list[str], env: dict[str, str], log: Path, timeout: float) -> tuple[int, float, float]:
    """(exit status, seconds, peak RSS MiB of the process) for one Airflow command."""
    started = time.monotonic()
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.monotonic() - started, usage.ru_maxrss / 1024


def _template_db(work: Path) -> Path:
    """A migrated metadata database with the pools, copied for every run (migrating takes ~20 s)."""
    from socialhub.demo import airflow_env, init_airflow

    home = work / "template-home"
    env = airflow_env(ROOT, home, work / "unused", {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"})
    say("migrating a template Airflow metadata database (once)")
    init_airflow(home, env, work / "template.log")
    return home / "airflow.db"


def _task_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT dag_id, count(*) FROM task_instance GROUP BY dag_id"))


def _reports(store_root: Path, kind: str) -> list[dict[str, Any]]:
    folder = store_root / "reports" / kind
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []


def _outbox_alerts(outbox: Path) -> int:
    index = outbox / "outbox.jsonl"
    n = 0
    for raw in index.read_text().splitlines() if index.exists() else []:
        line = json.loads(raw)
        if not str(line.get("key", "")).startswith("notice"):
            n += len(line.get("alert_ids") or [line["key"]])
    return n


def run_cycle(variant: str, n: int, replay: Any, watchlist: Path, template_db: Path, work: Path,
              timeout: float) -> CycleResult:
    from socialhub.demo import airflow_env

    res = CycleResult(variant, n)
    run_dir = work / f"{variant}-{n}"
    shutil.rmtree(run_dir, ignore_errors=True)
    home, data = run_dir / "home", run_dir / "data"
    home.mkdir(parents=True)
    shutil.copy(template_db, home / "airflow.db")
    extra = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "SOCIALHUB_POLL_ALL": "true",
        "SOCIALHUB_WATCHLIST": str(watchlist),
        "SOCIALHUB_MAX_BATCHES_PER_RUN": str(10 * n + 100),
        **syn.connections(replay),
    }
    if variant == "naive":
        extra["SOCIALHUB_MAX_SHARDS"] = str(NAIVE_SHARDS)
    env = airflow_env(ROOT, home, data, extra)
    log = run_dir / "airflow.log"
    replay.clear_log()
    say(f"{variant:8s} {n:6d} accounts: airflow dags test socialhub_collect")
    rc, res.collect_s, rss1 = _run([AIRFLOW, "dags", "test", "socialhub_collect"], env, log, timeout)
    counts = _task_counts(home / "airflow.db")
    res.collect_tasks = counts.get("socialhub_collect", 0)
    text = log.read_text(errors="replace")
    refused = any(m in text for m in ("max_map_length", "UnmappableXComLengthPushed", "unmappable_return_value_length",
                                      "too large to map"))
    if rc or refused:
        # the finish task runs "all_done", so a run whose plan tasks were refused can still exit 0
        res.status = "failed"
        res.note = ("refused by Airflow: mapped list longer than [core] max_map_length (1024)"
                    if refused else f"socialhub_collect failed (exit {rc}); see {log}")
        res.cycle_s = res.collect_s
        say(f"{variant:8s} {n:6d} accounts: {res.note}")
        return res
    say(f"{variant:8s} {n:6d} accounts: collected in {res.collect_s:.0f}s; airflow dags test socialhub_process")
    rc, res.process_s, rss2 = _run([AIRFLOW, "dags", "test", "socialhub_process"], env, log, timeout)
    res.cycle_s = res.collect_s + res.process_s
    res.peak_rss_mib = max(rss1, rss2)
    counts = _task_counts(home / "airflow.db")
    res.process_tasks = counts.get("socialhub_process", 0)
    collect = _reports(data / "store", "collect")
    process = _reports(data / "store", "process")
    if collect:
        res.posts = sum(r["posts_collected"] for r in collect)
        res.batches = sum(len(r["batches"]) for r in collect)
    if process:
        res.flagged = sum(r["flagged"] for r in process)
    res.alerts = _outbox_alerts(data / "outbox")
    res.extra = {"requests": len(replay.request_log), "collect_peak_rss_mib": round(rss1),
                 "process_peak_rss_mib": round(rss2)}
    if rc:
        res.status = "failed"
        res.note = f"socialhub_process failed (exit {rc}); see {log}"
    say(f"{variant:8s} {n:6d} accounts: cycle {res.cycle_s:.0f}s (collect {res.collect_s:.0f}s, process "
        f"{res.process_s:.0f}s), {res.posts} posts, {res.alerts} alerts, "
        f"{res.collect_tasks}+{res.process_tasks} tasks, peak {res.peak_rss_mib:.0f} MiB")
    if res.status == "ok":
        shutil.rmtree(run_dir, ignore_errors=True)
    return res


def run_cycle_local(n: int, replay: Any, watchlist: Path, pg: Any, work: Path, timeout: float) -> CycleResult:
    """The current code under a real deployment: PostgreSQL, api-server, scheduler with the
    LocalExecutor (parallelism 4 on this machine's cores), dag-processor. Timed from the trigger
    of socialhub_collect to the end of the socialhub_process run its asset event started;
    start-up and migrations are not counted."""
    from airflow_stack import AirflowStack, free_port, stack_env

    from socialhub.demo import airflow_env, init_airflow

    res = CycleResult("local", n)
    run_dir = work / f"local-{n}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    database = f"bench_{n}_{int(time.time())}"
    pg.psql(f"CREATE DATABASE {database} OWNER {pg.user}")
    url = pg.sqlalchemy_url.rsplit("/", 1)[0] + f"/{database}"
    home, data = run_dir / "home", run_dir / "data"
    base = airflow_env(ROOT, home, data, {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
        "AIRFLOW__CORE__DAGS_FOLDER": str(unscheduled_dags(run_dir / "dags")),
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT / "include"), str(ROOT / "plugins")]),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "SOCIALHUB_POLL_ALL": "true",
        "SOCIALHUB_WATCHLIST": str(watchlist),
        "SOCIALHUB_MAX_BATCHES_PER_RUN": str(10 * n + 100),
        **syn.connections(replay),
    })
    env = stack_env(base, sql_alchemy_conn=url, api_port=free_port(), parallelism=4,
                    preload=__import__("airflow_stack").DEFAULT_PRELOAD)
    say(f"local    {n:6d} accounts: migrating PostgreSQL metadata, starting api-server, scheduler, dag-processor")
    init_airflow(home, env, run_dir / "init.log")
    stack = AirflowStack(env, run_dir / "logs")
    try:
        stack.start(timeout=600)
        stack.wait_for_dags("socialhub_collect", "socialhub_process", timeout=600)
        stack.unpause("socialhub_process")
        stack.unpause("socialhub_collect")
        replay.clear_log()
        say(f"local    {n:6d} accounts: triggering socialhub_collect")
        started = time.monotonic()
        stack.trigger("socialhub_collect", "bench")
        collect = stack.wait_for_run("socialhub_collect", lambda r: r["state"] == "success", timeout=timeout)
        res.collect_s = time.monotonic() - started
        say(f"local    {n:6d} accounts: collected in {res.collect_s:.0f}s; waiting for socialhub_process")
        process = stack.wait_for_run(
            "socialhub_process", lambda r: r["state"] == "success", timeout=timeout,
            runs_of=lambda: stack.runs_triggered_by("socialhub_process", "socialhub_collect", collect["run_id"]))
        res.cycle_s = time.monotonic() - started
        res.process_s = res.cycle_s - res.collect_s
        res.collect_tasks = len(stack.task_states("socialhub_collect", collect["run_id"]))
        res.process_tasks = len(stack.task_states("socialhub_process", process["run_id"]))
    except Exception as exc:  # noqa: BLE001 - reported in the table
        res.status, res.note = "failed", f"{type(exc).__name__}: {str(exc)[:300]}"
        say(f"local    {n:6d} accounts: {res.note}; logs in {run_dir}")
        return res
    finally:
        stack.stop()
        stack.close()
    collect_reports = _reports(data / "store", "collect")
    res.posts = sum(r["posts_collected"] for r in collect_reports)
    res.batches = sum(len(r["batches"]) for r in collect_reports)
    res.flagged = sum(r["flagged"] for r in _reports(data / "store", "process"))
    res.alerts = _outbox_alerts(data / "outbox")
    res.extra = {"requests": len(replay.request_log)}
    say(f"local    {n:6d} accounts: cycle {res.cycle_s:.0f}s (collect {res.collect_s:.0f}s, process "
        f"{res.process_s:.0f}s), {res.posts} posts, {res.alerts} alerts, {res.collect_tasks}+{res.process_tasks} tasks")
    shutil.rmtree(run_dir, ignore_errors=True)
    return res


def table(results: list[CycleResult]) -> str:
    by = {(r.variant, r.accounts): r for r in results}
    lines = ["| accounts | variant | posts | tasks (collect+process) | collect s | process s | cycle s "
             "| posts/s | peak RSS MiB | naive / this |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(results, key=lambda r: (r.accounts, VARIANTS.index(r.variant))):
        if r.status != "ok":
            lines.append(f"| {r.accounts:,} | {r.variant} | | {r.collect_tasks}+- | | | | | | {r.note} |")
            continue
        naive = by.get(("naive", r.accounts))
        ratio = (f"{naive.cycle_s / r.cycle_s:.1f}x" if naive and naive.status == "ok" and r.variant != "naive"
                 else "")
        lines.append(f"| {r.accounts:,} | {r.variant} | {r.posts:,} | {r.collect_tasks}+{r.process_tasks} | "
                     f"{r.collect_s:.0f} | {r.process_s:.0f} | {r.cycle_s:.0f} | "
                     f"{r.posts / r.cycle_s:.0f} | {f'{r.peak_rss_mib:.0f}' if r.peak_rss_mib else ''} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0"))
    ap.add_argument("--sizes", default=None, help="comma-separated account counts (default 100,1000,10000)")
    ap.add_argument("--variants", default=None,
                    help="comma-separated from current,naive,local (default: all; quick: no local)")
    ap.add_argument("--local-sizes", default=None,
                    help="sizes the `local` variant (LocalExecutor on PostgreSQL) runs (default: the largest)")
    ap.add_argument("--max-naive", type=int, default=DEFAULT_MAX_NAIVE,
                    help="largest watchlist the naive baseline runs in full (larger: shows Airflow's refusal)")
    ap.add_argument("--posts", type=int, default=2, help="new posts per account in the cycle")
    ap.add_argument("--timeout", type=float, default=4 * 3600, help="per Airflow command")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("100" if args.quick else "100,1000,10000")).split(",")]
    variants = [v for v in (args.variants or ("current,naive" if args.quick else ",".join(VARIANTS)))
                .split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        ap.error(f"unknown variant(s) {sorted(unknown)}; choose from {VARIANTS}")
    local_sizes = {int(s) for s in args.local_sizes.split(",")} if args.local_sizes else {max(sizes)}
    print(f"bench_cycle: sizes {sizes}, variants {variants}, {args.posts} posts per account, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="socialhub-bench-cycle-"))
    results: list[CycleResult] = []
    pg = None
    try:
        if "local" in variants and local_sizes & set(sizes):
            from pg_cluster import PgCluster, PostgresUnavailable

            try:
                pg = PgCluster.start_new()
                say(f"PostgreSQL {pg.port} for the `local` variant")
            except PostgresUnavailable as exc:
                say(f"no PostgreSQL for the `local` variant: {exc}")
        template = _template_db(work)
        for n in sizes:
            say(f"building the replay data and watchlist for {n} accounts")
            replay = syn.start_replay(n, posts=args.posts)
            try:
                watchlist = syn.watchlist(replay, work / f"watchlist-{n}.yaml")
                for variant in variants:
                    if variant == "naive" and n > args.max_naive and n // 2 <= 1024:
                        results.append(CycleResult(variant, n, status="skipped",
                                                   note=f"skipped above {args.max_naive} accounts"))
                        continue
                    if variant == "local":
                        if n not in local_sizes:
                            continue
                        if pg is None:
                            results.append(CycleResult(variant, n, status="skipped", note="no PostgreSQL"))
                            continue
                        results.append(run_cycle_local(n, replay, watchlist, pg, work, args.timeout))
                        continue
                    results.append(run_cycle(variant, n, replay, watchlist, template, work, args.timeout))
            finally:
                replay.stop()
    finally:
        if pg is not None:
            pg.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\nOne collection-to-alert cycle through Airflow. current/naive: `airflow dags test` (tasks one "
          "after another in one process, SQLite); local: scheduler + LocalExecutor (parallelism 4) on PostgreSQL, "
          "timed from trigger to the end of the asset-triggered processing run. Local-folder store, outbox alerts.\n")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0 if all(r.status in ("ok", "skipped") or r.variant == "naive" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
