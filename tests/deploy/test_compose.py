"""docker-compose.yml, validated structurally: no Docker engine runs in this project's CI.

What ``docker compose config`` would catch (YAML, references between services and volumes,
variables) plus what this stack promises: every component of Airflow 3.3 on CeleryExecutor,
PostgreSQL and Redis and MinIO with health checks, a scalable worker, no secret in the file,
every variable documented in .env.example, connections from the environment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from socialhub.models import PLATFORMS
from tests.deploy.compose import (
    COMPOSE,
    ROOT,
    InterpolationError,
    environment,
    interpolate,
    load,
    read_env_file,
    required_variables,
    strings,
    variables,
    volume_specs,
)

AIRFLOW_SERVICES = {"airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker", "flower", "airflow-db-clean"}
INFRA_SERVICES = {"postgres", "redis", "minio", "minio-init"}
ONE_SHOT = {"airflow-init", "minio-init"}
SECRETS = {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET",
           "AIRFLOW_API_SECRET_KEY", "AIRFLOW_ADMIN_PASSWORD", "MINIO_ROOT_PASSWORD", "SOCIALHUB_S3_SECRET_KEY"}


@pytest.fixture(scope="module")
def raw():
    return load()


@pytest.fixture(scope="module")
def filled_env():
    """.env.example with every required secret filled in, as an operator would."""
    env = read_env_file()
    for name in SECRETS:
        env[name] = f"test{name.lower().replace('_', '')}0123456789"
    return env


@pytest.fixture(scope="module")
def resolved(filled_env):
    return load(filled_env)


def test_yaml_parses_and_names_the_project(raw):
    assert raw["name"] == "socialhub"
    assert set(raw["services"]) == AIRFLOW_SERVICES | INFRA_SERVICES


def test_every_service_has_an_image_or_a_build_and_pinned_tags(raw):
    for name, svc in raw["services"].items():
        assert svc.get("image") or svc.get("build"), name
        if name in AIRFLOW_SERVICES:
            assert svc["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
            assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        else:
            image = interpolate(svc["image"], {})  # the default when the variable is unset
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: unpinned {image}"


def test_long_running_services_have_health_checks_and_one_shots_do_not_restart(raw):
    for name, svc in raw["services"].items():
        if name in ONE_SHOT:
            assert svc.get("restart") == "no", name
            continue
        check = svc.get("healthcheck") or {}
        assert check.get("test"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert check.get("interval") and check.get("retries"), name
        assert svc.get("restart") in ("always", "unless-stopped"), name


def test_dependencies_exist_and_wait_for_health_or_completion(raw):
    services = raw["services"]
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: use the long depends_on syntax with conditions"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name, f"{name} depends on itself"
            assert spec["condition"] in conditions
            if spec["condition"] == "service_healthy":
                assert services[dep].get("healthcheck"), f"{name} waits for {dep} to be healthy: it has no check"
            if spec["condition"] == "service_completed_successfully":
                assert dep in ONE_SHOT, f"{dep} is not a one-shot service"
    # no cycles
    seen: dict[str, int] = {}

    def visit(node: str) -> None:
        assert seen.get(node) != 1, f"dependency cycle through {node}"
        if seen.get(node) == 2:
            return
        seen[node] = 1
        for dep in services[node].get("depends_on") or {}:
            visit(dep)
        seen[node] = 2

    for node in services:
        visit(node)
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        deps = services[name]["depends_on"]
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["postgres"]["condition"] == deps["redis"]["condition"] == "service_healthy", name
    assert services["airflow-init"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_volumes_are_declared_used_and_bind_mounts_exist(raw):
    declared = set(raw.get("volumes") or {})
    used = set()
    for name, svc in raw["services"].items():
        for source, target, mode in volume_specs(svc):
            assert target.startswith("/"), f"{name}: {target}"
            assert mode in ("ro", "rw"), f"{name}: {mode}"
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount source {source} does not exist"
            else:
                assert source in declared, f"{name} mounts undeclared volume {source}"
                used.add(source)
    assert declared == used, f"declared but unused volumes: {declared - used}"
    for stateful, target in (("postgres", "/var/lib/postgresql/data"), ("minio", "/data"), ("redis", "/data")):
        assert any(t == target for s, t, _ in volume_specs(raw["services"][stateful]) if s in declared), stateful


def test_project_code_is_mounted_where_airflow_looks(raw):
    for name in AIRFLOW_SERVICES:
        mounts = {target: (source, mode) for source, target, mode in volume_specs(raw["services"][name])}
        for folder in ("dags", "plugins", "include"):
            assert mounts[f"/opt/airflow/{folder}"] == (f"./{folder}", "ro"), name
        assert mounts["/opt/airflow/logs"][0] == "airflow-logs", name
        env = environment(raw["services"][name])
        assert "/opt/airflow/include" in env["PYTHONPATH"].split(":"), name
        assert env["SOCIALHUB_WATCHLIST"] == "/opt/airflow/include/watchlist.yaml"


def test_every_variable_is_documented_in_env_example_and_nothing_stale(raw):
    used = {name for text in strings(raw) for name in variables(text)}
    documented = set(read_env_file())
    assert used - documented == set(), f"used in docker-compose.yml but not in .env.example: {used - documented}"
    assert documented - used == set(), f"in .env.example but unused: {documented - used}"


def test_secrets_are_required_variables_never_values(raw):
    text = COMPOSE.read_text()
    required = {name for value in strings(raw) for name in required_variables(value)}
    assert SECRETS <= required, f"secrets without :? (would start with an empty value): {SECRETS - required}"
    env_example = read_env_file()
    for name in SECRETS:
        assert env_example[name] == "", f".env.example must not carry a value for {name}"
    secret_key = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$|AUTH$")
    for name, svc in raw["services"].items():
        for key, value in environment(svc).items():
            if secret_key.search(key) and key not in ("_AIRFLOW_WWW_USER_USERNAME",):
                assert value.startswith("${") and value.endswith("}"), f"{name}: {key} has a literal value"
                assert ":-" not in value, f"{name}: {key} has a default: {value}"
    lowered = text.lower()
    for leak in ("minioadmin", "xoxb-", "xoxp-", "akia", "airflow:airflow@", "password: airflow"):
        assert leak not in lowered, f"docker-compose.yml contains {leak!r}"


def test_missing_secret_stops_compose_with_a_message(filled_env):
    env = dict(filled_env, POSTGRES_PASSWORD="")
    with pytest.raises(InterpolationError, match="POSTGRES_PASSWORD"):
        load(env)


def test_airflow_is_a_celery_deployment_on_postgres_and_redis(resolved):
    """Each setting where it is used (tests/deploy/test_least_privilege.py checks nobody else has it)."""
    services = resolved["services"]
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        # tasks reach the execution API at the api-server's service name and container port
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-api-server:8080/execution/"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    for name in ("airflow-init", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer", "airflow-db-clean"):
        env = environment(services[name])
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:"), name
        assert "@postgres:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
    for name in ("airflow-scheduler", "airflow-worker", "flower"):
        env = environment(services[name])
        assert env["AIRFLOW__CELERY__BROKER_URL"].endswith("@redis:6379/0"), name
        # results on Redis too (database 1): no worker needs the Postgres password
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("redis://:"), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].endswith("@redis:6379/1"), name
        # the workers' pool processes are forked after the task libraries are imported (and every
        # component that builds the Celery app has the same configuration)
        assert env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == "socialhub_airflow.celery_config.CELERY_CONFIG", name
    for name in ("airflow-api-server", "airflow-scheduler"):
        assert environment(services[name])["AIRFLOW__API_AUTH__JWT_SECRET"], name
    assert environment(services["airflow-api-server"])["AIRFLOW__CORE__FERNET_KEY"]
    commands = {n: services[n].get("command") for n in AIRFLOW_SERVICES}
    assert commands["airflow-api-server"] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"
    assert commands["airflow-worker"] == "celery worker"
    # the scheduler's health check needs its health server
    assert environment(services["airflow-scheduler"])["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    assert "8974/health" in " ".join(services["airflow-scheduler"]["healthcheck"]["test"])
    postgres_env = environment(services["postgres"])
    assert postgres_env["POSTGRES_USER"] == "airflow" and postgres_env["POSTGRES_DB"] == "airflow"
    assert environment(services["airflow-init"])["_AIRFLOW_DB_MIGRATE"] == "true"


def test_airflow_settings_exist_in_airflow(raw):
    """Every AIRFLOW__SECTION__KEY is a real option (core options checked against the installed
    Airflow; [celery] comes from the Celery provider, which the image has but this venv has not)."""
    from airflow.configuration import conf

    names = set()
    for svc in raw["services"].values():
        names |= {k for k in environment(svc) if k.startswith("AIRFLOW__")}
    for name in sorted(names):
        _, section, key = name.split("__", 2)
        section, key = section.lower(), key.lower()
        if section == "celery":
            assert key in ("broker_url", "result_backend", "worker_concurrency", "celery_config_options"), name
            continue
        assert conf.has_option(section, key) or key in conf.configuration_description.get(section, {}).get(
            "options", {}), f"{name} is not an Airflow option"


def test_worker_scales_out(raw):
    worker = raw["services"]["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker, "a fixed name or port prevents --scale"
    assert interpolate(str(worker["deploy"]["replicas"]), read_env_file()).isdigit()
    assert environment(worker)["DUMB_INIT_SETSID"] == "0"  # warm shutdown: running tasks finish
    assert worker.get("stop_grace_period")
    for name, svc in raw["services"].items():
        assert "container_name" not in svc, name


def test_published_ports_default_to_loopback(resolved):
    for name, svc in resolved["services"].items():
        for port in svc.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback by default"


def test_connections_come_from_the_environment(resolved, filled_env):
    env = environment(resolved["services"]["airflow-worker"])
    storage = json.loads(env["AIRFLOW_CONN_SOCIALHUB_STORAGE"])
    assert storage["conn_type"] == "aws"
    assert storage["login"] == filled_env["SOCIALHUB_S3_ACCESS_KEY"]
    assert storage["password"] == filled_env["SOCIALHUB_S3_SECRET_KEY"]
    assert storage["extra"]["endpoint_url"] == "http://minio:9000"
    assert storage["extra"]["bucket"] == environment(resolved["services"]["minio-init"])["SOCIALHUB_BUCKET"]
    assert isinstance(storage["extra"]["object_lock_days"], int) and storage["extra"]["object_lock_days"] > 0
    # the pipeline's key, not MinIO's root account
    assert storage["login"] != filled_env["MINIO_ROOT_USER"]
    for conn_id in ["SLACK", *(p.upper() for p in PLATFORMS)]:
        assert f"AIRFLOW_CONN_SOCIALHUB_{conn_id}" in env, conn_id
    # the MinIO root account is only given to MinIO and minio-init
    for name, svc in resolved["services"].items():
        if name not in ("minio", "minio-init"):
            assert "MINIO_ROOT_PASSWORD" not in environment(svc), name


def test_storage_connection_is_valid_json_for_any_number_of_days(filled_env):
    for days in ("1", "2555"):
        env = environment(load(dict(filled_env, SOCIALHUB_OBJECT_LOCK_DAYS=days))["services"]["airflow-worker"])
        assert json.loads(env["AIRFLOW_CONN_SOCIALHUB_STORAGE"])["extra"]["object_lock_days"] == int(days)


def test_minio_bucket_is_created_with_object_lock(raw):
    init = raw["services"]["minio-init"]
    script_mount = [s for s, t, _ in volume_specs(init) if t == "/scripts/minio_init.sh"]
    assert script_mount == ["./scripts/minio_init.sh"]
    script = (ROOT / "scripts" / "minio_init.sh").read_text()
    assert "mc mb --with-lock" in script
    policy_text = script.split("<<JSON\n", 1)[1].split("\nJSON\n", 1)[0]
    policy = json.loads(policy_text.replace("${SOCIALHUB_BUCKET}", "bucket"))
    actions = {a for st in policy["Statement"] for a in st["Action"]}
    resources = {r for st in policy["Statement"] for r in st["Resource"]}
    assert resources == {"arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"}  # this bucket only
    assert {"s3:PutObject", "s3:GetObject", "s3:PutObjectRetention"} <= actions
    # retention erases every version of an object and reads why a version is kept (docs/production.md)
    assert {"s3:ListBucketVersions", "s3:DeleteObjectVersion", "s3:GetObjectVersion",
            "s3:GetObjectRetention", "s3:GetObjectLegalHold"} <= actions
    # the pipeline's key can neither shorten retention nor change the bucket's lock
    assert not {a for a in actions if "Bypass" in a or "PutBucket" in a or a == "s3:*"}


def test_yaml_anchors_do_not_leak_as_services(raw):
    assert all(not k.startswith("x-") for k in raw["services"])
    # every Airflow service got the shared environment through the merge key
    for name in AIRFLOW_SERVICES:
        assert "SOCIALHUB_MAX_SHARDS" in environment(raw["services"][name]), name


def test_readme_documents_the_stack():
    doc = (ROOT / "docs" / "production.md").read_text()
    for service in AIRFLOW_SERVICES | INFRA_SERVICES:
        assert f"`{service}`" in doc, f"docs/production.md does not explain {service}"
    for topic in ("--scale airflow-worker", "KubernetesExecutor", "docker compose up", "make bench"):
        assert topic in doc, topic


@pytest.mark.parametrize("path", [".env.example", "docker-compose.yml"])
def test_files_are_plain_utf8_without_tabs(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    assert "\t" not in text
    if path.endswith(".yml"):
        yaml.safe_load(text)


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".venv", ".git", ".demo"):
        assert entry in ignored, entry
    assert Path(ROOT / ".env.example").exists()
