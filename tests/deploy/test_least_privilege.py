"""docker-compose.yml gives each component only the secrets it uses (issue 19), sends task logs to the
S3 store and schedules `airflow db clean`; validated structurally (no Docker engine here).

Which Airflow 3.3 component needs what (docs/production.md "Who holds which secret"):
- the JWT secret signs execution-API task tokens (the scheduler, in the executor) and checks and
  refreshes them (the api-server); workers only carry the token they are given, and the triggerer and
  dag-processor call the execution API in-process, without a token;
- workers never open the metadata database (connections, variables, XComs and task state go through
  the execution API), so they have neither its URL nor the Fernet key; Celery results live on Redis.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.deploy.compose import ROOT, environment, load, read_env_file, volume_specs
from tests.deploy.test_compose import SECRETS

# secret (what a service's environment must contain to hold it) -> the services that hold it
SECRET_HOLDERS = {
    "POSTGRES_PASSWORD": {"postgres", "airflow-init", "airflow-api-server", "airflow-scheduler",
                          "airflow-dag-processor", "airflow-triggerer", "airflow-db-clean"},
    "AIRFLOW_FERNET_KEY": {"airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                           "airflow-triggerer"},
    "AIRFLOW_JWT_SECRET": {"airflow-api-server", "airflow-scheduler"},
    "AIRFLOW_API_SECRET_KEY": {"airflow-api-server", "airflow-worker", "airflow-triggerer"},
    "REDIS_PASSWORD": {"redis", "airflow-scheduler", "airflow-worker", "flower"},
    "SOCIALHUB_S3_SECRET_KEY": {"minio-init", "airflow-init", "airflow-api-server", "airflow-worker",
                                "airflow-triggerer"},
    "MINIO_ROOT_PASSWORD": {"minio", "minio-init"},
    "AIRFLOW_ADMIN_PASSWORD": {"airflow-init"},
}
ALERT_CONNECTIONS = ("AIRFLOW_CONN_SOCIALHUB_SLACK", "AIRFLOW_CONN_SOCIALHUB_ALERT_WEBHOOK", "AIRFLOW_CONN_SOCIALHUB_SMTP")
PLATFORM_CONNECTIONS = tuple(f"AIRFLOW_CONN_SOCIALHUB_{p}" for p in
                             ("MASTODON", "BLUESKY", "YOUTUBE", "X", "REDDIT", "TELEGRAM", "RSS"))


@pytest.fixture(scope="module")
def filled_env():
    env = read_env_file()
    for name in SECRETS:
        env[name] = f"secret{name.lower().replace('_', '')}"
    for name in (*ALERT_CONNECTIONS, *PLATFORM_CONNECTIONS):
        # URI form (a JSON value would be parsed by YAML into a mapping)
        env[name] = f"http://user:token{name.lower().replace('_', '')}@example.org"
    return env


@pytest.fixture(scope="module")
def services(filled_env):
    return load(filled_env)["services"]


def holders(services, value: str) -> set[str]:
    return {name for name, svc in services.items()
            if any(value in v for v in environment(svc).values()) or value in json.dumps(svc.get("command") or "")}


def test_secrets_cover_the_whole_list():
    assert set(SECRET_HOLDERS) == SECRETS


@pytest.mark.parametrize("secret", sorted(SECRET_HOLDERS))
def test_each_secret_reaches_only_the_services_that_use_it(services, filled_env, secret):
    assert holders(services, filled_env[secret]) == SECRET_HOLDERS[secret]


def test_workers_have_no_database_access_and_no_jwt_secret(services):
    env = environment(services["airflow-worker"])
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        assert key not in env, key
    assert not any("postgres" in v for v in env.values()), "a worker can reach Postgres"


@pytest.mark.parametrize("conn", ALERT_CONNECTIONS)
def test_alert_connections_only_where_alerts_are_sent(services, filled_env, conn):
    # alert tasks run on workers; in Airflow 3 DAG-level failure callbacks run in the dag-processor and
    # deadline-alert callbacks in the triggerer
    assert holders(services, filled_env[conn]) == {"airflow-worker", "airflow-dag-processor", "airflow-triggerer"}


@pytest.mark.parametrize("conn", PLATFORM_CONNECTIONS)
def test_platform_tokens_only_on_workers(services, filled_env, conn):
    assert holders(services, filled_env[conn]) == {"airflow-worker"}


def test_roles_are_yaml_anchors_not_one_shared_block():
    text = (ROOT / "docker-compose.yml").read_text()
    anchors = set(re.findall(r"^(x-[a-z-]+): &", text, re.M))
    for role in ("x-airflow-common-env", "x-airflow-db-env", "x-airflow-fernet-env", "x-airflow-jwt-env",
                 "x-airflow-api-secret-env", "x-airflow-celery-env", "x-airflow-storage-env",
                 "x-airflow-alerts-env", "x-airflow-platforms-env"):
        assert role in anchors, role
    common = load()["x-airflow-common-env"]
    assert not any(re.search(r"PASSWORD|SECRET|FERNET|SQL_ALCHEMY|BROKER|RESULT_BACKEND|AIRFLOW_CONN_", k)
                   for k in common), "the block every component gets must hold no secret"


REMOTE_LOG_WRITERS_AND_READERS = {"airflow-api-server", "airflow-worker", "airflow-triggerer"}


def test_task_logs_go_to_the_s3_store(services):
    for name in REMOTE_LOG_WRITERS_AND_READERS:
        env = environment(services[name])
        assert env["AIRFLOW__LOGGING__REMOTE_LOGGING"] == "True", name
        assert env["AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID"] == "socialhub_storage", name
        storage = json.loads(env["AIRFLOW_CONN_SOCIALHUB_STORAGE"])
        assert env["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"] == f"s3://{storage['extra']['bucket']}/logs", name
        # logs live outside the pipeline's own prefix, so evidence retention never touches them
        assert not f"{storage['extra']['prefix']}/".startswith("logs/")


def test_db_clean_is_scheduled_with_the_database_url_only(services, filled_env):
    svc = services["airflow-db-clean"]
    env = environment(svc)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert "AIRFLOW__CORE__FERNET_KEY" not in env
    assert not any(k.startswith("AIRFLOW_CONN_") for k in env)
    assert int(env["SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS"]) == 90
    assert svc["restart"] == "unless-stopped" and svc["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "/opt/airflow/scripts/airflow_db_clean.sh" in " ".join(svc["command"])
    assert ("./scripts", "/opt/airflow/scripts", "ro") in volume_specs(svc)
    assert "socialhub-data" not in {s for s, _, _ in volume_specs(svc)}, "db-clean needs no pipeline data"
    days = load(dict(filled_env, SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS="30"))["services"]["airflow-db-clean"]
    assert environment(days)["SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS"] == "30"


def test_db_clean_script_runs_airflow_db_clean_in_a_loop():
    script = (ROOT / "scripts" / "airflow_db_clean.sh").read_text()
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "airflow_db_clean.sh")], check=True)
    assert re.search(r"airflow db clean --clean-before-timestamp \"\$cutoff\" --skip-archive --yes", script)
    assert 'SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS:-90' in script
    assert "while true" in script and "sleep" in script
    assert "touch /tmp/db-clean.ok" in script  # what the health check reads
    assert "scripts/airflow_db_clean.sh" in (ROOT / "Dockerfile").read_text()


def test_db_clean_script_refuses_a_bad_retention(tmp_path):
    result = subprocess.run(["bash", str(ROOT / "scripts" / "airflow_db_clean.sh")], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS": "0"}, timeout=10)
    assert result.returncode == 2 and "SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS" in result.stderr


def test_db_clean_cutoff_is_the_retention_before_now():
    out = subprocess.run(["date", "-u", "-d", "-90 days", "+%Y-%m-%dT%H:%M:%S+00:00"], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", out)


def test_docs_explain_the_choices():
    doc = (ROOT / "docs" / "production.md").read_text()
    for topic in ("Who holds which secret", "requirements-runtime.txt", "REMOTE_BASE_LOG_FOLDER",
                  "SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS", "`airflow-db-clean`", "archived"):
        assert topic in doc, topic
