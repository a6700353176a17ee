"""A stalled run tells the platform team: timeouts, the run-level callback, the deadline callback.

* ``test_hung_task_is_stopped_and_reported`` runs a real DAG with ``dag.test()`` (opt-in:
  ``SOCIALHUB_AIRFLOW_TESTS=1``; ~30 s, most of it ``airflow db migrate``): a task that hangs is
  stopped by the ``execution_timeout`` from ``socialhub.dag_defaults.default_args``, and a task
  whose ``socialhub_storage`` connection is missing fails naming it; both failures and the run's
  reach the platform team's channel (here the outbox).
* The deadline alert's callback runs in the triggerer, which ``dag.test()`` does not start: it is
  called here directly, as the triggerer calls it (``context`` with the run as JSON).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _notices(outbox: Path) -> list[str]:
    return [json.loads(p.read_text())["payload"]["text"] for p in sorted(outbox.glob("notice-*.json"))]


def test_run_failure_text_says_the_run_timed_out():
    from datetime import timedelta

    from socialhub_airflow.notifiers import run_failure_text

    dag = SimpleNamespace(dag_id="socialhub_collect", dagrun_timeout=timedelta(hours=1))
    run = SimpleNamespace(dag_id="socialhub_collect", run_id="scheduled__2031-05-04T09:00:00+00:00")
    text = run_failure_text({"dag": dag, "dag_run": run, "reason": "timed_out"})
    assert text.startswith("socialhub DAG run failed: socialhub_collect run scheduled__2031-05-04T09:00:00+00:00")
    assert "dagrun_timeout of 1:00:00" in text and "stalled task" in text
    assert run_failure_text({"dag_run": run, "reason": "task_failure"}).endswith("(task_failure)")


def test_deadline_callback_tells_the_platform_team(tmp_path, monkeypatch):
    from socialhub.dag_defaults import deadline_missed

    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path))
    context = {"dag_run": {"dag_id": "socialhub_collect", "run_id": "scheduled_x", "state": "running"},
               "deadline": {"id": "d1", "deadline_time": "2031-05-04T09:20:00+00:00"}}
    result = asyncio.run(deadline_missed(context=context, within="20 minutes"))
    assert result.startswith("platform team told")
    (text,) = _notices(tmp_path / "outbox")
    assert "deadline missed: socialhub_collect run scheduled_x has not finished 20 minutes after" in text
    assert "state running" in text


def test_deadline_callback_fails_loudly_when_no_one_can_be_told(tmp_path, monkeypatch):
    """No Slack connection and no local default: the callback fails (the triggerer logs it as failed)."""
    from socialhub.dag_defaults import deadline_missed

    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SOCIALHUB_LOCAL_DEFAULTS")
    with pytest.raises(RuntimeError, match="could not tell the platform team"):
        asyncio.run(deadline_missed(context={}, within="20 minutes"))


HUNG_DAG = '''
import os
import time
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from socialhub.dag_defaults import default_args, notify_platform_team_of_run


@dag(dag_id="socialhub_hung", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
     default_args=default_args(retries=0, execution_timeout=timedelta(seconds=2)),
     on_failure_callback=notify_platform_team_of_run)
def socialhub_hung():
    @task
    def stall():
        time.sleep(300)   # a platform API that never answers

    @task(retries=2, retry_delay=timedelta(0))   # the retry policy: a missing connection is not retried
    def store_without_connection():
        from socialhub_airflow import runtime

        allowed = os.environ.pop("SOCIALHUB_LOCAL_DEFAULTS")   # as in production
        try:
            runtime.store()
        finally:
            os.environ["SOCIALHUB_LOCAL_DEFAULTS"] = allowed    # so the failure callback can use the outbox

    stall()
    store_without_connection()


socialhub_hung()
'''

RUN = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag

dag = DagBag(dag_folder=sys.argv[1]).dags["socialhub_hung"]
t0 = time.monotonic()
run = dag.test()
print(json.dumps({"state": str(run.state), "seconds": time.monotonic() - t0,
                  "tasks": {ti.task_id: str(ti.state) for ti in run.get_task_instances()},
                  "tries": {ti.task_id: ti.try_number for ti in run.get_task_instances()}}))
"""


@pytest.mark.skipif(os.environ.get("SOCIALHUB_AIRFLOW_TESTS") != "1",
                    reason="slow (starts Airflow in-process): set SOCIALHUB_AIRFLOW_TESTS=1")
def test_hung_task_is_stopped_and_reported(tmp_path):
    dags, data = tmp_path / "dags", tmp_path / "data"
    dags.mkdir()
    (dags / "socialhub_hung.py").write_text(HUNG_DAG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update({"AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'home' / 'airflow.db'}",
                "SOCIALHUB_DATA_DIR": str(data), "SOCIALHUB_LOCAL_DEFAULTS": "1",
                "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins")])})
    airflow = str(Path(sys.executable).with_name("airflow"))
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    proc = subprocess.run([sys.executable, "-c", RUN, str(dags)], env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["state"] == "failed"
    assert result["tasks"] == {"stall": "failed", "store_without_connection": "failed"}
    assert result["seconds"] < 120                     # stopped by the 2 s timeout, not by the 300 s sleep
    assert result["tries"]["store_without_connection"] == 1   # retries=2, but a ConfigError fails at once
    notices = _notices(data / "outbox")
    stall = [t for t in notices if "socialhub_hung.stall" in t]
    missing = [t for t in notices if "socialhub_hung.store_without_connection" in t]
    runs = [t for t in notices if t.startswith("socialhub DAG run failed: socialhub_hung")]
    assert len(stall) == 1 and "Timeout" in stall[0]
    assert len(missing) == 1 and "socialhub_storage does not exist" in missing[0]
    assert len(runs) == 1


WATCHLIST = """
version: 1
accounts:
  - platform: mastodon
    account: crew@x.social
    display_name: Crew
    force: met
    team: gangs
    owner: DS Example
    priority: critical
    authorisation_ref: AUTH-1
    purpose: Public threats between two named groups.
    review_by: 2999-01-01
"""


def test_watchdog_task_tells_the_platform_team_once_while_collection_hangs(tmp_path, monkeypatch):
    """The task socialhub_watchdog runs, with the clock injected (runtime.now), the local store and outbox."""
    from datetime import UTC, datetime, timedelta

    from socialhub.staleness import record_collection_success
    from socialhub.storage import LocalStore
    from socialhub_airflow import runtime

    t0 = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)
    (tmp_path / "watchlist.yaml").write_text(WATCHLIST)
    monkeypatch.setenv("SOCIALHUB_WATCHLIST", str(tmp_path / "watchlist.yaml"))
    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path / "data"))
    record_collection_success(LocalStore(tmp_path / "data" / "store"), "mastodon", t0)
    seen = []
    for minutes in (5, 10, 15, 20):
        monkeypatch.setattr(runtime, "now", lambda m=minutes: t0 + timedelta(minutes=m))
        seen.append(runtime.check_staleness())
    assert [r["stale"] for r in seen] == [[], [], ["mastodon"], ["mastodon"]]
    assert [r["notices"] for r in seen] == [0, 0, 1, 0]
    (text,) = _notices(tmp_path / "data" / "outbox")
    assert "mastodon is not being collected" in text and "15 min ago" in text
