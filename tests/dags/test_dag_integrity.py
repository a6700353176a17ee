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


def test_collection_is_sharded_not_per_account(dagbag):
    dag = dagbag.dags["socialhub_collect"]
    collect_tasks = [t for t in dag.tasks if t.task_id.startswith("collect_")]
    assert collect_tasks and all(t.pool == f"socialhub_{t.task_id.removeprefix('collect_')}" for t in collect_tasks)
    # mapped over shards, whose number is bounded by SOCIALHUB_MAX_SHARDS, not by the watchlist
    assert all(any(c.__name__ == "MappedOperator" for c in type(t).__mro__) for t in collect_tasks)


def test_process_is_scheduled_by_the_batches_asset(dagbag):
    dag = dagbag.dags["socialhub_process"]
    producer = dagbag.dags["socialhub_collect"].get_task("finish")
    assert [o.name for o in producer.outlets] == ["socialhub_batches"]
    assert "socialhub_batches" in repr(dag.timetable.asset_condition)


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
    heavy = sorted(m for m in extra if m.split(".")[0] in HEAVY or m.startswith("socialhub_airflow"))
    assert heavy == []
    assert not any(m.startswith("socialhub.") and m not in ("socialhub.models", "socialhub.dag_defaults") for m in extra), sorted(
        m for m in extra if m.startswith("socialhub"))
