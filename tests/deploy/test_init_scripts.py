"""The set-up scripts the compose stack runs: pools, airflow-init (run for real against Airflow on
SQLite and S3 served by moto_server), minio-init (syntax; it needs MinIO's `mc`)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from socialhub.demo import airflow_env
from socialhub.models import PLATFORMS
from tests.deploy.compose import ROOT, environment, load, read_env_file

sys.path.insert(0, str(ROOT / "scripts"))
import pools as pools_script  # noqa: E402

VENV_BIN = Path(sys.executable).parent


@pytest.mark.parametrize(("script", "shell"), [("airflow_init.sh", "bash"), ("minio_init.sh", "sh"),
                                               ("ensure_postgres.sh", "bash")])
def test_shell_scripts_parse(script, shell):
    proc = subprocess.run([shell, "-n", str(ROOT / "scripts" / script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_pools_cover_every_pool_the_dags_use():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors
    used = {t.pool for d in bag.dags.values() for t in d.tasks} - {"default_pool"}
    defined = pools_script.pools({})
    assert used <= set(defined), f"pools used by the DAGs but not created: {used - set(defined)}"
    assert {f"socialhub_{p}" for p in PLATFORMS} <= set(defined)
    assert all(p["slots"] >= 1 and p["include_deferred"] is False for p in defined.values())


def test_pool_slots_come_from_the_environment():
    p = pools_script.pools({"SOCIALHUB_POOL_SLOTS_PLATFORM": "3", "SOCIALHUB_POOL_SLOTS_X": "1",
                            "SOCIALHUB_POOL_SLOTS_PROCESS": "6"})
    assert p["socialhub_mastodon"]["slots"] == 3 and p["socialhub_x"]["slots"] == 1
    assert p["socialhub_process"]["slots"] == 6 and p["socialhub_alerts"]["slots"] == 1
    with pytest.raises(ValueError, match="at least one slot"):
        pools_script.pools({"SOCIALHUB_POOL_SLOTS_ALERTS": "0"})


@pytest.fixture(scope="module")
def migrated_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("init-airflow")
    env = airflow_env(ROOT, home, home / "data", _own_db(home))
    proc = subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return home


def _own_db(home: Path) -> dict[str, str]:
    return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"}


def _run_init(home: Path, storage_conn: dict) -> subprocess.CompletedProcess[str]:
    env = airflow_env(ROOT, home, home / "data", {
        **_own_db(home),
        "AIRFLOW_CONN_SOCIALHUB_STORAGE": json.dumps(storage_conn),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SOCIALHUB_POOL_SLOTS_PROCESS": "3",
    })
    return subprocess.run(["bash", str(ROOT / "scripts" / "airflow_init.sh")], env=env, capture_output=True,
                          text=True, timeout=600)


def _compose_storage_conn(moto_endpoint: str, bucket: str) -> dict:
    """The socialhub_storage connection exactly as docker-compose.yml builds it, pointed at moto."""
    env = read_env_file()
    env.update({k: "x1" for k, v in env.items() if v == ""})
    env.update(SOCIALHUB_BUCKET=bucket, SOCIALHUB_S3_ACCESS_KEY="testing", SOCIALHUB_S3_SECRET_KEY="testing")
    conn = json.loads(environment(load(env)["services"]["airflow-init"])["AIRFLOW_CONN_SOCIALHUB_STORAGE"])
    conn["extra"]["endpoint_url"] = moto_endpoint
    return conn


@pytest.mark.e2e
def test_airflow_init_creates_the_pools_and_checks_the_locked_store(migrated_home, moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket="init-locked", ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket="init-unlocked")

    proc = _run_init(migrated_home, _compose_storage_conn(moto_endpoint, "init-locked"))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Object Lock enabled" in proc.stdout
    with sqlite3.connect(migrated_home / "airflow.db") as db:
        slots = dict(db.execute("SELECT pool, slots FROM slot_pool"))
    assert {name: slots.get(name) for name in pools_script.pools({"SOCIALHUB_POOL_SLOTS_PROCESS": "3"})} == {
        name: p["slots"] for name, p in pools_script.pools({"SOCIALHUB_POOL_SLOTS_PROCESS": "3"}).items()}
    assert slots["socialhub_process"] == 3

    # a bucket without Object Lock stops the stack: evidence there could be deleted
    proc = _run_init(migrated_home, _compose_storage_conn(moto_endpoint, "init-unlocked"))
    assert proc.returncode != 0
    assert "has no Object Lock" in proc.stderr + proc.stdout
