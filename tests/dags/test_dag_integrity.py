"""Every DAG imports cleanly through Airflow's DagBag, is configured for operations, and stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
HEAVY = ("great_expectations", "pandas", "sklearn", "boto3", "botocore", "slack_sdk", "pyarrow", "httpx")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"socialhub_collect", "socialhub_process"} <= set(dagbag.dag_ids)


def test_every_dag_has_owner_retries_tags(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert "socialhub" in dag.tags
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_no_run_or_task_can_stall_silently(dagbag):
    """Every DAG has a dagrun_timeout and a run-level failure callback; every task an execution_timeout
    shorter than its run's; the regular DAGs also a deadline alert, before their timeout."""
    from datetime import timedelta

    from airflow.sdk.definitions.deadline import DagRunQueuedAtDeadline

    from socialhub.dag_defaults import deadline_missed, notify_platform_team, notify_platform_team_of_run

    for dag_id, dag in dagbag.dags.items():
        assert isinstance(dag.dagrun_timeout, timedelta), f"{dag_id} has no dagrun_timeout"
        assert dag.on_failure_callback is notify_platform_team_of_run, f"{dag_id} has no run failure callback"
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            assert isinstance(task.execution_timeout, timedelta), f"{where} has no execution_timeout"
            assert task.execution_timeout < dag.dagrun_timeout, where
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert notify_platform_team in callbacks, f"{where} tells no one when it fails"
    for dag_id in ("socialhub_collect", "socialhub_process", "socialhub_housekeeping"):
        dag = dagbag.dags[dag_id]
        (alert,) = dag.deadline
        assert isinstance(alert.reference, DagRunQueuedAtDeadline), dag_id
        assert alert.interval < dag.dagrun_timeout, dag_id        # told while the run still goes
        assert alert.callback.path == f"{deadline_missed.__module__}.{deadline_missed.__qualname__}"
    # the one-active-run DAG that must never hold collection for long
    assert dagbag.dags["socialhub_collect"].dagrun_timeout <= timedelta(hours=1)


def test_watchdog_runs_apart_from_collection(dagbag):
    """The staleness check has its own frequent schedule, no pool and short timeouts: it speaks
    while a collection run hangs."""
    from datetime import timedelta

    dag = dagbag.dags["socialhub_watchdog"]
    assert dag.schedule == "*/5 * * * *"
    (task,) = dag.tasks
    assert task.task_id == "check_staleness" and task.pool == "default_pool"
    assert dag.dagrun_timeout <= timedelta(minutes=10) and dag.max_active_runs == 1


def test_collection_is_sharded_not_per_account(dagbag):
    dag = dagbag.dags["socialhub_collect"]
    collect_tasks = [t for t in dag.tasks if t.task_id.startswith("collect_")]
    assert collect_tasks and all(t.pool == f"socialhub_{t.task_id.removeprefix('collect_')}" for t in collect_tasks)
    # mapped over shards, whose number is bounded by SOCIALHUB_MAX_SHARDS, not by the watchlist
    assert all(any(c.__name__ == "MappedOperator" for c in type(t).__mro__) for t in collect_tasks)


def test_process_is_scheduled_by_the_batches_asset(dagbag):
    dag = dagbag.dags["socialhub_process"]
    producer = dagbag.dags["socialhub_collect"].get_task("announce_batches")
    assert [o.name for o in producer.outlets] == ["socialhub_batches"]
    assert "socialhub_batches" in repr(dag.timetable.asset_condition)


def test_assets_are_events_of_something_new_with_a_timed_drain(dagbag):
    """Each asset is defined once (socialhub_airflow.assets) and emitted by one small announcing
    task, which skips (no event) when nothing is new; the consumers also run on a time schedule,
    so the durable queue is drained even when no event comes."""
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    from socialhub_airflow.assets import ALERTS, BATCHES

    producers = {}
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            for outlet in task.outlets:
                producers.setdefault((outlet.name, outlet.uri), []).append(f"{dag_id}.{task.task_id}")
    assert producers == {(BATCHES.name, BATCHES.uri): ["socialhub_collect.announce_batches"],
                         (ALERTS.name, ALERTS.uri): ["socialhub_process.announce_alerts"]}
    # the collect run's report is recorded whatever happens; only the announcement depends on news
    collect = dagbag.dags["socialhub_collect"]
    assert collect.get_task("finish").outlets == []
    assert collect.get_task("announce_batches").upstream_task_ids == {"finish"}
    assert dagbag.dags["socialhub_process"].get_task("alert").outlets == []
    for dag_id, asset in (("socialhub_process", BATCHES), ("socialhub_review", ALERTS)):
        timetable = dagbag.dags[dag_id].timetable
        assert isinstance(timetable, AssetOrTimeSchedule), dag_id
        assert isinstance(timetable.timetable, CronTriggerTimetable), dag_id
        assert asset.uri in repr(timetable.asset_condition), dag_id
    # every DAG file takes its assets from the one module, none defines its own
    for path in DAG_FILES:
        text = path.read_text()
        assert "Asset(" not in text, f"{path.name} defines an asset"
        if "x-socialhub://" in text or "outlets=" in text or "AssetOrTimeSchedule" in text:
            assert "from socialhub_airflow.assets import" in text, path.name


def test_no_task_writes_multiple_outputs(dagbag):
    """A task returning a dict must not turn on ``multiple_outputs`` (a ``-> dict`` annotation does):
    every key would be written again as its own XCom row (issue 13.4)."""
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            assert getattr(task, "multiple_outputs", False) is False, f"{dag_id}.{task.task_id}"
    for path in DAG_FILES:
        assert "-> dict" not in path.read_text(), f"{path.name}: a `-> dict` task turns on multiple_outputs"


def test_access_control_per_role(dagbag):
    """Each DAG says who may do what: the platform team runs every DAG, auditors read every DAG,
    officers see and answer the review DAG only. The role names are defined once."""
    from socialhub_airflow.access import AUDITOR, OFFICER, PLATFORM, ROLES

    assert set(ROLES) == {OFFICER, AUDITOR, PLATFORM}
    for dag_id, dag in dagbag.dags.items():
        acl = dag.access_control
        assert acl, f"{dag_id} has no access_control"
        assert acl[PLATFORM]["DAG Runs"] >= {"can_read", "can_create"} and "can_edit" in acl[PLATFORM]["DAGs"]
        assert acl[AUDITOR] == {"DAGs": {"can_read"}, "DAG Runs": {"can_read"}}, dag_id
        if dag_id == "socialhub_review":
            assert acl[OFFICER] == {"DAGs": {"can_read", "can_edit"}, "DAG Runs": {"can_read"}}
        else:
            assert OFFICER not in acl, f"officers do not need {dag_id}"
        assert set(acl) <= set(ROLES), dag_id
    for path in DAG_FILES:      # no role named anywhere but socialhub_airflow.access
        assert "socialhub_officer" not in path.read_text() and "socialhub_auditor" not in path.read_text()


BASELINE_DAG = """
import pendulum
from airflow.sdk import Asset, dag, task

A = Asset(name="baseline", uri="baseline://a")

@dag(schedule=[A], start_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
def baseline():
    @task(outlets=[A])
    def t():
        pass
    t()

baseline()
"""


def _modules_after_parsing(path: Path) -> set[str]:
    code = "import sys, json, runpy; runpy.run_path(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins")]))
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def baseline_modules(tmp_path_factory):
    path = tmp_path_factory.mktemp("baseline") / "baseline_dag.py"
    path.write_text(BASELINE_DAG)
    return _modules_after_parsing(path)


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_nothing_heavy_at_parse_time(dag_file, baseline_modules):
    """The scheduler parses DAG files constantly: heavy libraries belong inside tasks.

    Compared with a minimal DAG using an Asset, so that what Airflow itself imports is not counted."""
    extra = _modules_after_parsing(dag_file) - baseline_modules
    light = ("socialhub_airflow", "socialhub_airflow.assets",      # the assets, defined once
             "socialhub_airflow.access")                           # the roles, named once
    heavy = sorted(m for m in extra if m.split(".")[0] in HEAVY or (m.startswith("socialhub_airflow")
                                                                    and m not in light))
    assert heavy == []
    # socialhub.errors (standard library only): the retry policy names the exceptions not to retry
    allowed = ("socialhub.models", "socialhub.dag_defaults", "socialhub.errors")
    assert not any(m.startswith("socialhub.") and m not in allowed for m in extra), sorted(
        m for m in extra if m.startswith("socialhub"))
