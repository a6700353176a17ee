"""A real Airflow deployment on a real PostgreSQL metadata database, all on loopback.

* ``postgres`` (session): a private PostgreSQL cluster from ``scripts/pg_cluster.py``: Debian's
  ``postgresql`` (installed with ``apt-get install -y postgresql`` by ``scripts/ensure_postgres.sh``
  when missing and running as root), ``initdb`` into a temporary directory as the ``postgres``
  user, started with ``pg_ctl`` on 127.0.0.1 and a free port, with its own role and database.
  The test is skipped, with the reason, only when PostgreSQL cannot be installed or started.
* ``redis`` (session): a private ``redis-server`` from ``scripts/redis_server.py`` on 127.0.0.1 and a
  free port (temporary directory, random password, no persistence), Celery's broker and result
  backend. Debian's ``redis-server`` is installed by ``make redis-deps``; without it the test is
  skipped, naming the target.
* ``make_stack``: ``airflow db migrate`` and the pools (``socialhub.demo.init_airflow``), then
  ``airflow api-server``, ``airflow scheduler`` and ``airflow dag-processor`` as separate processes
  (``scripts/airflow_stack.py``), stopped at the end of the test. The Celery cycle test builds its
  deployment with ``scripts/celery_cycle.py`` instead, on the same fixtures.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialhub.demo import airflow_env, init_airflow

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from airflow_stack import AirflowStack, free_port, stack_env  # noqa: E402
from pg_cluster import PgCluster, PostgresUnavailable  # noqa: E402
from redis_server import RedisServer, RedisUnavailable, find_redis_server  # noqa: E402


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.fail("the PostgreSQL driver is missing: psycopg2-binary (and asyncpg, for Airflow's async "
                    "engine) belong in requirements.txt")
    try:
        cluster = PgCluster.start_new()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL is not available on this machine (run `make postgres-deps`, which installs it): {exc}")
    with cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    try:
        find_redis_server()
    except RedisUnavailable as exc:
        pytest.skip(f"redis-server is not installed on this machine (run `make redis-deps`, which installs it): {exc}")
    with RedisServer.start_new() as server:      # installed but not starting: a failure, not a skip
        yield server


def connections(replay) -> dict[str, str]:  # noqa: ANN001 - a ReplayServer
    return {f"AIRFLOW_CONN_SOCIALHUB_{p.upper()}": json.dumps({"conn_type": "http",
                                                               "extra": {"base_url": replay.base_url(p)}})
            for p in replay.platforms()}


@pytest.fixture()
def make_stack(postgres, tmp_path):
    """Build (and always stop) an Airflow deployment with the given socialhub settings."""
    stacks: list[AirflowStack] = []

    def make(extra: dict[str, str]) -> AirflowStack:
        home = tmp_path / "airflow-home"
        base = airflow_env(ROOT, home, tmp_path / "data", {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.sqlalchemy_url, **extra})
        env = stack_env(base, sql_alchemy_conn=postgres.sqlalchemy_url, api_port=free_port(), parallelism=4,
                        extra={"AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(tmp_path / "task-logs")})
        # the same metadata set-up as `make demo`: `airflow db migrate` and `airflow pools import`
        init_airflow(home, env, tmp_path / "init.log")
        stack = AirflowStack(env, tmp_path / "stack-logs")
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
        stack.close()
