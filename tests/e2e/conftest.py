"""End-to-end set-up: Airflow runs the real DAGs (``airflow dags test``) against a local replay of
the platform APIs, S3 served by moto_server over HTTP, and a Slack-API-shaped server."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from socialhub.demo import airflow_env, init_airflow

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AirflowRunner:
    home: Path
    data_dir: Path
    log_file: Path
    extra_env: dict[str, str]

    def env(self) -> dict[str, str]:
        return airflow_env(ROOT, self.home, self.data_dir, self.extra_env)

    def dags_test(self, dag_id: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(Path(__import__("sys").executable).with_name("airflow")), "dags", "test", dag_id],
                              env=self.env(), capture_output=True, text=True, check=False, timeout=600)
        with self.log_file.open("a") as fh:
            fh.write(f"\n===== airflow dags test {dag_id} (exit {proc.returncode})\n{proc.stdout}\n{proc.stderr}")
        return proc

    def cycle(self) -> None:
        """One collection-to-alert cycle; fails the test with the Airflow output if a DAG run fails."""
        for dag_id in ("socialhub_collect", "socialhub_process"):
            proc = self.dags_test(dag_id)
            assert proc.returncode == 0, f"{dag_id} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-home")
    log = home / "setup.log"
    init_airflow(home, airflow_env(ROOT, home, home / "data"), log)
    return home


def write_watchlist(path: Path, replay, lapsed: bool = True) -> Path:
    accounts = []
    for platform in replay.platforms():
        for i, acct in enumerate(replay.accounts(platform)):
            accounts.append({
                "platform": platform, "account": acct, "display_name": f"{acct} (test)",
                "force": "force-a" if i % 2 == 0 else "force-b", "team": "team-1", "owner": "DS Test",
                "priority": "critical", "authorisation_ref": f"AUTH-T-{platform}-{i}",
                "purpose": "End-to-end test of the pipeline on fictional accounts.", "review_by": "2099-01-01"})
    if lapsed:
        first = accounts[0]
        accounts.append(dict(first, account="lapsed_" + first["account"], authorisation_ref="AUTH-LAPSED",
                             review_by="2020-01-01"))
    path.write_text(yaml.safe_dump({"version": 1, "accounts": accounts}, sort_keys=False))
    return path


@pytest.fixture()
def runner(airflow_home, tmp_path):
    data_dir = tmp_path / "data"
    log_file = tmp_path / "airflow.log"
    return AirflowRunner(airflow_home, data_dir, log_file, {"SOCIALHUB_POLL_ALL": "true",
                                                        # one message per item here, to check each one
                                                        "SOCIALHUB_DIGEST_THRESHOLD": "1000"})


def conn(d: dict) -> str:
    return json.dumps(d)
