"""Run a real Airflow 3 deployment on loopback: api-server, scheduler, dag-processor (and triggerer),
and with the CeleryExecutor any number of ``airflow celery worker`` processes.

The same components as ``docker-compose.yml``, as local processes. With the ``LocalExecutor`` the
scheduler starts task processes itself; with the ``CeleryExecutor`` (``stack_env(executor=
"CeleryExecutor", broker_url=...)``, the broker a private ``redis-server`` from ``redis_server.py``)
it queues workloads on the broker and ``start_worker()`` starts Celery workers that take them. Either
way the task processes fetch their work and report back through the api-server's execution API
(``[core] execution_api_server_url``) with a token the scheduler signs with ``[api_auth] jwt_secret``.
Workers get the environment docker-compose.yml gives them: no metadata database URL (an unreachable
one, so any use fails loudly), no JWT secret, no Fernet key; Celery's result backend is Redis too.
The metadata database is whatever ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` says (the Postgres e2e
test and the benchmarks pass a private cluster from ``pg_cluster.py``).

Every process is started in its own session and stopped (TERM, then KILL) by ``stop()``, by its
process group id, so no stray task process survives a test.

    stack = AirflowStack(env, workdir)
    stack.migrate(); stack.start()
    stack.unpause("socialhub_collect"); stack.trigger("socialhub_collect")
    stack.wait_for_run("socialhub_process", lambda r: r["state"] == "success", timeout=240)
    stack.stop()

    # CeleryExecutor: the same, plus workers (each its own Celery node name and log-server port)
    env = stack_env(base, sql_alchemy_conn=url, api_port=free_port(), executor="CeleryExecutor",
                    broker_url=redis.url(0), result_backend=redis.url(1))
    stack = AirflowStack(env, workdir); stack.start(); stack.start_worker("worker-1")
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socialhub.airflow_processes import (  # noqa: E402,F401 - re-exported for the tests and benchmarks
    COMPONENTS,
    AirflowProcesses,
    airflow_bin,
    free_port,
)

DEFAULT_PRELOAD = ("airflow", "airflow.executors.local_executor", "airflow.sdk", "airflow.sdk.execution_time.task_runner",
                   "airflow.sdk.execution_time.supervisor", "airflow.plugins_manager", "airflow.listeners.listener",
                   "airflow.providers.standard.decorators.python", "pandas", "great_expectations",
                   "socialhub.quality._gx", "socialhub.classify", "socialhub_airflow.runtime", "socialhub.collect",
                   "socialhub.process", "socialhub.alerting")


SCRIPTS = Path(__file__).resolve().parent

#: What a Celery worker does not get (docker-compose.yml gives it none of them either): the metadata
#: database, the execution API's signing secret, the key that decrypts stored connections.
WORKER_WITHHELD = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY")
#: A worker's metadata database URL: nothing listens on port 1, so any use by a worker fails loudly.
NO_DATABASE = "postgresql+psycopg2://celery-worker-has-no-database@127.0.0.1:1/none"
#: The variable ``worker_hostname`` reads (set per worker by ``start_worker``).
WORKER_NAME_VAR = "AIRFLOW_STACK_WORKER"


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the workers ``start_worker`` starts: the worker's own name.

    In production each worker is its own container with its own hostname, which Airflow records in
    ``task_instance.hostname``; here every worker shares this machine's name, so each one reports
    the name it was started with instead, and the table says which worker ran which task."""
    return os.environ.get(WORKER_NAME_VAR) or socket.getfqdn()


def stack_env(base_env: dict[str, str], *, sql_alchemy_conn: str, api_port: int, parallelism: int = 4,
              preload: Iterable[str] = DEFAULT_PRELOAD, extra: dict[str, str] | None = None,
              executor: str = "LocalExecutor", broker_url: str | None = None, result_backend: str | None = None,
              worker_concurrency: int = 2) -> dict[str, str]:
    """Settings that turn a single-process ``airflow dags test`` environment into a deployment.

    ``executor="CeleryExecutor"`` needs ``broker_url`` (e.g. ``RedisServer.url(0)``); pass
    ``result_backend`` too (``RedisServer.url(1)``, as docker-compose.yml does), else the broker's
    URL serves as both."""
    env = dict(base_env)
    if executor == "CeleryExecutor":
        if not broker_url:
            raise ValueError("the CeleryExecutor needs a broker: pass broker_url (e.g. RedisServer.url(0))")
        env.update({
            "AIRFLOW__CELERY__BROKER_URL": broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": result_backend or broker_url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
            # a worker takes one workload per free slot, not a prefetched batch (Airflow's default too)
            "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            # the pool processes of every worker are forked after the heavy task libraries are imported
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "socialhub_airflow.celery_config.CELERY_CONFIG",
        })
    elif executor != "LocalExecutor":
        raise ValueError(f"executor {executor!r}: LocalExecutor or CeleryExecutor")
    env.update({
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        # one secret shared by every component: the scheduler signs task tokens, the api-server checks them
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        # react quickly: this is a test/bench deployment, not a production tuning
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # LocalExecutor workers come from a forkserver that has imported Airflow and the heavy task
        # libraries once; each task process is forked from a worker and inherits them (Great
        # Expectations alone takes 10-15 s to import, per task process otherwise)
        "AIRFLOW__SCHEDULER__MP_START_METHOD": "forkserver",
        "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": ",".join(preload),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": base_env.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER")
        or str(Path(base_env["AIRFLOW_HOME"]) / "logs"),
    })
    env.update(extra or {})
    return env


@dataclass
class AirflowStack(AirflowProcesses):
    env: dict[str, str]
    workdir: Path
    components: Iterable[str] = COMPONENTS
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def migrate(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate", timeout=600)

    def import_pools(self, pools: dict[str, dict[str, Any]]) -> None:
        """``airflow pools import``, as in production (``create_pools`` does the same over the API)."""
        pools_file = self.workdir / "pools.json"
        pools_file.write_text(json.dumps(pools, indent=2))
        self.cli("pools", "import", str(pools_file))

    # -- REST (public API v2; a CLI call pays ~10 s of start-up, a request a few ms) -------------

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        if getattr(self, "_token", None) is None:
            # [core] simple_auth_manager_all_admins: a token without credentials (test deployments only)
            with urllib.request.urlopen(f"{self.api_url}/auth/token", timeout=timeout) as resp:
                self._token = json.loads(resp.read())["access_token"]
        req = urllib.request.Request(f"{self.api_url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {self._token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {exc.read()[:2000]!r}") from None
        return json.loads(raw) if raw else None

    def create_pools(self, pools: dict[str, dict[str, Any]]) -> None:
        for name, spec in pools.items():
            self.api("POST", "/api/v2/pools", {"name": name, "slots": spec["slots"],
                                               "description": spec.get("description"),
                                               "include_deferred": spec.get("include_deferred", False)})

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": True})

    def trigger(self, dag_id: str, run_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"logical_date": None}
        if run_id:
            body["dag_run_id"] = run_id
        return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)

    # -- processes ------------------------------------------------------------------------------

    def start(self, timeout: float = 180) -> None:
        self.spawn(self.components)
        self.wait_healthy(timeout)

    def worker_env(self, name: str) -> dict[str, str]:
        """A Celery worker's environment: the deployment's, less ``WORKER_WITHHELD``; its own name
        (``worker_hostname``) and its own log-server port (several workers share this machine)."""
        env = {k: v for k, v in self.env.items() if k not in WORKER_WITHHELD}
        env.update({
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": NO_DATABASE,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow_stack.worker_hostname",
            WORKER_NAME_VAR: name,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "PYTHONPATH": os.pathsep.join([str(SCRIPTS), self.env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        })
        return env

    def start_worker(self, name: str, concurrency: int | None = None, timeout: float = 180) -> None:
        """``airflow celery worker -H <name>@127.0.0.1`` (default queue); returns once Celery says the
        node is ready. The process is stopped with the rest of the stack."""
        if self.env.get("AIRFLOW__CORE__EXECUTOR") != "CeleryExecutor":
            raise RuntimeError("start_worker needs a CeleryExecutor deployment (stack_env(executor='CeleryExecutor'))")
        self.workdir.mkdir(parents=True, exist_ok=True)
        key = f"celery worker {name}"
        cmd = [airflow_bin(), "celery", "worker", "--celery-hostname", f"{name}@127.0.0.1", "--without-gossip",
               "--without-mingle", "--concurrency", str(concurrency or self.env["AIRFLOW__CELERY__WORKER_CONCURRENCY"])]
        log_path = self.log_path(key)
        start = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("ab") as log:
            self.procs[key] = subprocess.Popen(cmd, env=self.worker_env(name), stdout=log, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with log_path.open("rb") as fh:
                fh.seek(start)
                if f"{name}@127.0.0.1 ready".encode() in fh.read():
                    return
            time.sleep(0.5)
        raise TimeoutError(f"Celery worker {name} not ready after {timeout:.0f}s; see {log_path}")

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=5) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.close()

    # -- state (straight from the metadata database: no CLI start-up per poll) -------------------

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        from sqlalchemy import create_engine, text

        if getattr(self, "_engine", None) is None:
            self._engine = create_engine(self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], pool_size=1)
        with self._engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT run_id, state, run_type, start_date, end_date FROM dag_run "
                          "WHERE dag_id = :dag ORDER BY id", dag=dag_id)

    def task_states(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT task_id, map_index, state, try_number, pool, hostname, start_date, end_date "
                          "FROM task_instance WHERE dag_id = :dag AND run_id = :run ORDER BY task_id, map_index",
                          dag=dag_id, run=run_id)

    def runs_triggered_by(self, dag_id: str, source_dag_id: str, source_run_id: str) -> list[dict[str, Any]]:
        """Runs of an asset-scheduled ``dag_id`` that consumed an asset event of the given source run."""
        return self.query(
            "SELECT DISTINCT dr.id, dr.run_id, dr.state, dr.run_type, dr.start_date, dr.end_date FROM dag_run dr "
            "JOIN dagrun_asset_event dae ON dae.dag_run_id = dr.id JOIN asset_event e ON e.id = dae.event_id "
            "WHERE dr.dag_id = :dag AND e.source_dag_id = :src_dag AND e.source_run_id = :src_run ORDER BY dr.id",
            dag=dag_id, src_dag=source_dag_id, src_run=source_run_id)

    def dags_known(self, *dag_ids: str) -> bool:
        found = {r["dag_id"] for r in self.query("SELECT dag_id FROM dag")}
        return set(dag_ids) <= found

    def wait_for_dags(self, *dag_ids: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if self.dags_known(*dag_ids):
                    return
            except Exception:  # noqa: BLE001 - tables may not be there yet
                pass
            time.sleep(0.5)
        raise TimeoutError(f"dag-processor did not register {dag_ids} within {timeout:.0f}s; "
                           f"see {self.log_path('dag-processor')}")

    def wait_for_run(self, dag_id: str, done: Callable[[dict[str, Any]], bool], timeout: float,
                     poll: float = 1.0, fail_on: Iterable[str] = ("failed",),
                     runs_of: Callable[[], list[dict[str, Any]]] | None = None) -> dict[str, Any]:
        """Wait until some run of ``dag_id`` (or of ``runs_of()``) satisfies ``done``; raise early if
        one ends in a ``fail_on`` state."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            runs = runs_of() if runs_of else self.dag_runs(dag_id)
            for run in runs:
                if done(run):
                    return run
            bad = [r for r in runs if r["state"] in fail_on]
            if bad:
                tis = self.task_states(dag_id, bad[0]["run_id"])
                raise RuntimeError(f"{dag_id} run {bad[0]['run_id']} {bad[0]['state']}: {tis}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {dag_id} run finished within {timeout:.0f}s; runs: {runs}")
            time.sleep(poll)

    def close(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.dispose()
            self._engine = None
