"""The pipeline on the CeleryExecutor: one collect -> process -> alert cycle with one Celery worker,
then a second worker joins and a second cycle collects the posts published in between.

Everything on loopback: PostgreSQL metadata (a private cluster, ``pg_cluster.py``), Redis as Celery's
broker and result backend (a private ``redis-server``, ``redis_server.py``), the platform replay
server, and Airflow's api-server, scheduler and dag-processor plus ``airflow celery worker``
processes (``airflow_stack.py``). The workers get what docker-compose.yml gives them: no metadata
database, no JWT secret. ``tests/e2e_postgres/test_pipeline_postgres.py`` runs ``run_cycles`` and
asserts on its result; run standalone, this prints the same summary (a few minutes)::

    .venv/bin/python scripts/celery_cycle.py [--keep DIR]

Needs ``make postgres-deps redis-deps``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "scripts", ROOT / "include", ROOT / "plugins", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from airflow_stack import AirflowStack, free_port, stack_env  # noqa: E402

COLLECT, PROCESS = "socialhub_collect", "socialhub_process"
TERMINAL = ("success", "failed")
#: Celery slots per worker; the scheduler's parallelism (4) is twice one worker's, so with two
#: workers and a collect run's mapped tasks queued together, one worker cannot hold them all
WORKER_CONCURRENCY = 2
#: a new post per platform between the cycles: one that the classifier flags, on each platform's first account
NEW_POST_TEXT = "new shank just came, nobody's safe, cycle two on {platform}"


@dataclass
class Cycle:
    name: str
    workers: list[str]
    #: a run triggered by hand (``None``: the run the scheduler creates when collection is unpaused)
    manual_run_id: str | None
    collect_runs: list[dict[str, Any]] = field(default_factory=list)
    process_runs: list[dict[str, Any]] = field(default_factory=list)
    #: (dag_id, run_id) -> task instances (task_id, map_index, state, hostname, ...)
    tis: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    seconds: float = 0.0

    def all_tis(self) -> list[dict[str, Any]]:
        return [ti for tis in self.tis.values() for ti in tis]

    def ran_by(self) -> Counter[str]:
        """Worker name -> task instances it ran (skipped tasks never reach a worker)."""
        return Counter(ti["hostname"] for ti in self.all_tis() if ti["state"] != "skipped")


@dataclass
class CycleReport:
    cycles: list[Cycle]
    data_dir: Path
    new_posts: dict[str, dict[str, Any]]          # platform -> {"watched_account", "item"} added before cycle 2
    timings: dict[str, float]
    worker_env_keys: dict[str, list[str]]         # worker name -> sorted environment variable names


def _wait(what: str, check: Callable[[], bool], stack: AirflowStack, timeout: float, poll: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        stack.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(poll)


def _raise_on_failure(stack: AirflowStack, dag_id: str, runs: list[dict[str, Any]]) -> None:
    for run in runs:
        if run["state"] == "failed":
            raise RuntimeError(f"{dag_id} run {run['run_id']} failed: {stack.task_states(dag_id, run['run_id'])}")


def run_cycle(stack: AirflowStack, cycle: Cycle, timeout: float) -> Cycle:
    """Trigger ``cycle.manual_run_id`` (if any) and unpause collection; return once that run and every
    other collect run have finished (unpausing a */5 DAG also queues its latest cron tick, and a tick
    may fall inside the cycle), collection is paused again, and every batch they announced has been
    processed and alerted. A paused DAG's runs do not move, so the runs are waited for, not cut short."""
    t0 = time.monotonic()
    done_before = {r["run_id"] for r in stack.dag_runs(COLLECT) if r["state"] in TERMINAL}
    process_before = {r["run_id"] for r in stack.dag_runs(PROCESS) if r["state"] in TERMINAL}
    if cycle.manual_run_id:
        stack.trigger(COLLECT, cycle.manual_run_id)
    stack.unpause(COLLECT)

    def collected() -> bool:
        runs = stack.dag_runs(COLLECT)
        _raise_on_failure(stack, COLLECT, runs)
        mine = [r for r in runs if r["run_id"] not in done_before]
        if cycle.manual_run_id and not any(r["run_id"] == cycle.manual_run_id for r in mine):
            return False
        return bool(mine) and all(r["state"] == "success" for r in mine)

    _wait(f"{cycle.name}: collect runs", collected, stack, timeout)
    stack.pause(COLLECT)   # no further cron tick until the next cycle
    cycle.collect_runs = [r for r in stack.dag_runs(COLLECT) if r["run_id"] not in done_before]

    def processed() -> bool:
        runs = stack.dag_runs(PROCESS)
        _raise_on_failure(stack, PROCESS, runs)
        if any(r["state"] not in TERMINAL for r in runs):
            return False
        for c in cycle.collect_runs:
            announced = stack.query(
                "SELECT count(*) AS n FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE e.source_dag_id = :dag AND e.source_run_id = :run AND a.uri LIKE 'x-socialhub://batches%'",
                dag=COLLECT, run=c["run_id"])[0]["n"]
            consumed = stack.runs_triggered_by(PROCESS, COLLECT, c["run_id"])
            if announced and not any(r["state"] == "success" for r in consumed):
                return False
        return True

    _wait(f"{cycle.name}: processing", processed, stack, timeout)
    cycle.process_runs = [r for r in stack.dag_runs(PROCESS) if r["run_id"] not in process_before]
    for dag_id, runs in ((COLLECT, cycle.collect_runs), (PROCESS, cycle.process_runs)):
        for run in runs:
            cycle.tis[(dag_id, run["run_id"])] = stack.task_states(dag_id, run["run_id"])
    cycle.seconds = time.monotonic() - t0
    return cycle


def run_cycles(*, workdir: Path, sqlalchemy_url: str, broker_url: str, result_backend: str, replay: Any,
               watchlist: Path, start_timeout: float = 240, run_timeout: float = 480) -> CycleReport:
    """Start the deployment (once), run cycle 1 with ``worker-1``, add one post per platform, start
    ``worker-2``, run cycle 2; the deployment is stopped before returning."""
    from socialhub.demo import airflow_env, init_airflow

    t0 = time.monotonic()
    timings: dict[str, float] = {}
    home, data_dir = workdir / "airflow-home", workdir / "data"
    connections = {f"AIRFLOW_CONN_SOCIALHUB_{p.upper()}": json.dumps({"conn_type": "http",
                                                                      "extra": {"base_url": replay.base_url(p)}})
                   for p in replay.platforms()}
    base = airflow_env(ROOT, home, data_dir, {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url,
        "SOCIALHUB_POLL_ALL": "true",
        "SOCIALHUB_WATCHLIST": str(watchlist),
        "SOCIALHUB_MAX_SHARDS": "2",
        "SOCIALHUB_MEDIA_GATEWAY": replay.media_gateway,   # media through the replay: loopback only
        **connections,
    })
    env = stack_env(base, sql_alchemy_conn=sqlalchemy_url, api_port=free_port(), parallelism=4,
                    executor="CeleryExecutor", broker_url=broker_url, result_backend=result_backend,
                    worker_concurrency=WORKER_CONCURRENCY,
                    extra={"AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(workdir / "task-logs")})
    init_airflow(home, env, workdir / "init.log")
    timings["db migrate + pools"] = time.monotonic() - t0
    stack = AirflowStack(env, workdir / "stack-logs")
    cycles: list[Cycle] = []
    new_posts: dict[str, dict[str, Any]] = {}
    try:
        stack.start(timeout=start_timeout)
        stack.wait_for_dags(COLLECT, PROCESS, timeout=start_timeout)
        stack.unpause(PROCESS)
        stack.start_worker("worker-1", timeout=start_timeout)
        timings["stack + worker-1 up"] = time.monotonic() - t0
        cycles.append(run_cycle(stack, Cycle("cycle 1", ["worker-1"], None), run_timeout))
        timings["cycle 1 done"] = time.monotonic() - t0

        for platform in replay.platforms():
            account = replay.accounts(platform)[0]
            item = replay.add_post(platform, account, {"text": NEW_POST_TEXT.format(platform=platform)})
            new_posts[platform] = {"watched_account": account, "item": item}
        stack.start_worker("worker-2", timeout=start_timeout)
        timings["worker-2 up"] = time.monotonic() - t0
        cycles.append(run_cycle(stack, Cycle("cycle 2", ["worker-1", "worker-2"], "celery_cycle_2"), run_timeout))
        timings["cycle 2 done"] = time.monotonic() - t0
        worker_env = {name: sorted(stack.worker_env(name)) for name in ("worker-1", "worker-2")}
    finally:
        stack.stop()
        stack.close()
    return CycleReport(cycles, data_dir, new_posts, timings, worker_env)


def _rows(store: Any, prefix: str) -> list[dict[str, Any]]:
    from socialhub.models import from_jsonl

    return [row for key in store.list(prefix) for row in from_jsonl(store.get(key))]


def outbox_alert_ids(outbox: Path) -> list[str]:
    """Alert ids delivered to the local outbox, one entry per delivery (notices left out)."""
    ids: list[str] = []
    index = outbox / "outbox.jsonl"
    for raw in index.read_text().splitlines() if index.exists() else []:
        line = json.loads(raw)
        if not line["key"].startswith("notice"):
            ids += line.get("alert_ids") or [line["key"]]
    return ids


def summary(report: CycleReport) -> str:
    """A few lines: each cycle's runs, their task states per worker, and what the store holds."""
    from socialhub.storage import LocalStore

    store = LocalStore(report.data_dir / "store")
    lines = ["CeleryExecutor cycle: PostgreSQL metadata, Redis broker + result backend on 127.0.0.1, "
             f"{WORKER_CONCURRENCY} Celery slots per worker"]
    for cycle in report.cycles:
        lines.append(f"{cycle.name} ({', '.join(cycle.workers)}): {cycle.seconds:.0f} s")
        for dag_id, runs in ((COLLECT, cycle.collect_runs), (PROCESS, cycle.process_runs)):
            for run in runs:
                tis = cycle.tis[(dag_id, run["run_id"])]
                states = Counter((ti["hostname"] or "-", ti["state"]) for ti in tis)
                per_worker = ", ".join(f"{host} {state} {n}" for (host, state), n in sorted(states.items()))
                lines.append(f"  {dag_id} {run['run_id']} [{run['run_type']}] {run['state']}: {per_worker}")
        by = cycle.ran_by()
        lines.append("  task instances per worker: " + ", ".join(f"{h} {n}" for h, n in sorted(by.items())))
    alert_ids = outbox_alert_ids(report.data_dir / "outbox")
    lines.append(f"store: {len(_rows(store, 'posts/'))} posts in {len(store.list('batches/'))} batches, "
                 f"{len(_rows(store, 'flagged/'))} flagged, {len(alert_ids)} alerts delivered "
                 f"({len(set(alert_ids))} distinct), {len(store.list('queue/pending/'))} batches pending")
    lines.append("timings (s since start): " + ", ".join(f"{k} {v:.0f}" for k, v in report.timings.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and keep it (logs, store); default: a temporary "
                                                  "directory, removed at the end")
    args = parser.parse_args(argv)
    from pg_cluster import PgCluster, PostgresUnavailable
    from redis_server import RedisServer, RedisUnavailable
    from tests.e2e.conftest import write_watchlist

    from socialhub.replay.server import ReplayServer

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="socialhub-celery-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        with PgCluster.start_new() as pg, RedisServer.start_new() as redis, ReplayServer().start() as replay:
            report = run_cycles(workdir=workdir, sqlalchemy_url=pg.sqlalchemy_url, broker_url=redis.url(0),
                                result_backend=redis.url(1), replay=replay,
                                watchlist=write_watchlist(workdir / "watchlist.yaml", replay))
            print(summary(report))
    except (PostgresUnavailable, RedisUnavailable) as exc:
        print(f"error: {exc} (run `make postgres-deps redis-deps`)", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
