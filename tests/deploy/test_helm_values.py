"""deploy/helm/values.yaml (Apache Airflow's official Helm chart, KubernetesExecutor) and
deploy/helm/airflow-db-clean-cronjob.yaml, validated without a cluster.

Neither the chart nor a Kubernetes cluster can be fetched here, so the normal run is structural:

- the YAML parses (and has no duplicate keys, which Helm's parser rejects and PyYAML would not);
- every key the file sets exists in the chart's values schema, with the chart's types: checked
  against ``airflow_chart_schema_extract.json`` (the properties we use, copied from the chart's
  ``values.schema.json`` with its source commit) and, when ``SOCIALHUB_HELM_SCHEMA`` names the
  chart's whole ``values.schema.json``, against that;
- the executor is the KubernetesExecutor, no secret is written in the file, the image and the
  socialhub settings are the ones docker-compose.yml uses, and each component holds the same secrets
  as its compose counterpart (``tests/deploy/test_least_privilege.py``);
- the airflow.cfg options exist in Airflow (and in the cncf.kubernetes provider for
  ``[kubernetes_executor]``).

With a Helm binary (``helm`` on PATH, or ``SOCIALHUB_HELM``) Helm itself validates the values
against the schema extract; with ``SOCIALHUB_HELM_CHART`` pointing at the official chart (a
directory or .tgz, e.g. from ``helm pull apache-airflow/airflow``), ``helm template`` renders it and
the manifests are checked. Each check is a function returning the problems it found, and each is
shown to fail on a broken copy of the file (``test_checks_catch_broken_values``).
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.compose import DOCKERFILE, ROOT, environment, load, read_env_file
from tests.deploy.test_compose import SECRETS

VALUES = ROOT / "deploy" / "helm" / "values.yaml"
DB_CLEAN = ROOT / "deploy" / "helm" / "airflow-db-clean-cronjob.yaml"
SCHEMA_EXTRACT = Path(__file__).with_name("airflow_chart_schema_extract.json")

# The chart's components that run Airflow, and their docker-compose.yml counterparts.
COMPONENTS = ("apiServer", "scheduler", "dagProcessor", "triggerer", "workers", "migrateDatabaseJob",
              "createUserJob")
COMPOSE_SERVICE = {"apiServer": "airflow-api-server", "scheduler": "airflow-scheduler",
                   "dagProcessor": "airflow-dag-processor", "triggerer": "airflow-triggerer",
                   "workers": "airflow-worker", "migrateDatabaseJob": "airflow-init"}
# Secrets and connections whose holders must match compose's, component by component. The metadata
# DB URL is not among them: the chart wires it into every pod (its wait-for-migrations init
# containers take literal env only), which docs/production.md states.
SECRET_ENV = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
              "AIRFLOW_CONN_SOCIALHUB_STORAGE", "AIRFLOW_CONN_SOCIALHUB_SLACK",
              "AIRFLOW_CONN_SOCIALHUB_ALERT_WEBHOOK", "AIRFLOW_CONN_SOCIALHUB_SMTP",
              *(f"AIRFLOW_CONN_SOCIALHUB_{p}" for p in
                ("MASTODON", "BLUESKY", "YOUTUBE", "X", "REDDIT", "TELEGRAM", "RSS")))
# Built-in env var (enableBuiltInSecretEnvVars) -> what it carries, for the checks below.
BUILT_IN_SECRET_ENV = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
                       "AIRFLOW__WEBSERVER__SECRET_KEY", "AIRFLOW_CONN_AIRFLOW_DB", "AIRFLOW__CORE__SQL_ALCHEMY_CONN")
# Values keys that hold a secret itself (the chart would store it in a Secret it generates, but the
# value would sit in this file and in Helm's release history).
LITERAL_SECRET_KEYS = {("fernetKey",), ("jwtSecret",), ("apiSecretKey",), ("webserverSecretKey",),
                       ("data", "metadataConnection"), ("data", "resultBackendConnection"), ("data", "brokerUrl"),
                       ("registry", "connection"), ("apiServer", "defaultUser"), ("webserver", "defaultUser"),
                       ("postgresql", "auth"), ("extraSecrets",)}
# Values keys that reach every Airflow container: no secret may travel through them.
GLOBAL_ENV_KEYS = ("secret", "extraEnv", "extraEnvFrom")
SECRETISH = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|FERNET|_KEY$|^AIRFLOW_CONN_|SQL_ALCHEMY_CONN")
# [kubernetes_executor] options of apache-airflow-providers-cncf-kubernetes 10.25.0 that the file
# sets (get_provider_info()["config"]); checked against the provider itself when it is installed.
KUBERNETES_EXECUTOR_OPTIONS = {"delete_worker_pods", "delete_worker_pods_on_failure",
                               "worker_pods_creation_batch_size", "namespace", "pod_template_file",
                               "worker_container_repository", "worker_container_tag"}
# compose's common AIRFLOW__* settings the chart sets itself or that differ by design.
NOT_MIRRORED = {"AIRFLOW__CORE__EXECUTOR",  # KubernetesExecutor, checked on its own
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"}  # the chart's api-server Service, checked below
# The chart names the api-server Service `<fullname>-api-server` (templates/api-server/api-server-service.yaml).
EXECUTION_API_URL = 'http://{{ include "airflow.fullname" . }}-api-server:{{ .Values.ports.apiServer }}/execution/'
# compose's SOCIALHUB_* settings deliberately absent on Kubernetes (the values file says why).
NOT_ON_KUBERNETES = {"SOCIALHUB_LOCAL_DEFAULTS"}


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; Helm's parser rejects the file. So do we."""


def _no_duplicates(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def parse(text: str) -> Any:
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return parse(VALUES.read_text())


@pytest.fixture(scope="module")
def cronjob() -> dict[str, Any]:
    return parse(DB_CLEAN.read_text())


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_EXTRACT.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    env = read_env_file()
    for name in SECRETS:
        env[name] = f"test{name.lower()}"
    return load(env)


# --- checks: each returns the problems it finds ---------------------------------------------------

def schema_problems(values: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(values), key=lambda e: list(map(str, e.absolute_path)))]


def executor_problems(values: dict[str, Any]) -> list[str]:
    executors = [e.strip().rsplit(".", 1)[-1] for e in str(values.get("executor", "")).split(",")]
    problems = []
    if executors[0] != "KubernetesExecutor":
        problems.append(f"executor {values.get('executor')!r}: the default executor must be KubernetesExecutor")
    if values.get("postgresql", {}).get("enabled", True):
        problems.append("postgresql.enabled must be false: the metadata database is external")
    dags = values.get("dags", {})
    if dags.get("gitSync", {}).get("enabled") or dags.get("persistence", {}).get("enabled"):
        problems.append("the DAGs are baked into the image: no git-sync, no DAG volume")
    return problems


def _env_entries(values: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [("env", item) for item in values.get("env") or []]
    for component in (*COMPONENTS, "cleanup"):
        out += [(f"{component}.env", item) for item in (values.get(component) or {}).get("env") or []]
    return out


def _walk(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out = [(path, obj)]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _walk(value, (*path, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out += _walk(value, (*path, i))
    return out


def literal_secret_problems(values: dict[str, Any]) -> list[str]:
    problems = []
    for path, value in _walk(values):
        if path in LITERAL_SECRET_KEYS and value not in (None, {}, ""):
            problems.append(f"{'.'.join(path)} holds a secret in the file: use an existing Secret by name")
        if isinstance(value, str) and re.search(r"://[^/\s:@]+:[^/\s@]+@", value):
            problems.append(f"{'.'.join(map(str, path))}: a URL with credentials")
    for where, item in _env_entries(values):
        if SECRETISH.search(item.get("name", "")) and "valueFrom" not in item:
            problems.append(f"{where} {item.get('name')}: a secret as a literal value; use valueFrom.secretKeyRef")
    for key in GLOBAL_ENV_KEYS:
        if values.get(key):
            problems.append(f"{key} reaches every Airflow container: give each secret to its components")
    args = " ".join((values.get("createUserJob") or {}).get("args") or [])
    if "defaultUser.password" in args or not args:
        problems.append("createUserJob must take the admin password from its Secret, not from the values")
    return problems


def holders(values: dict[str, Any]) -> dict[str, set[str]]:
    """env var -> the chart components that receive it (per-component env, or every component for a
    built-in secret env var left enabled)."""
    out: dict[str, set[str]] = {}
    built_in = values.get("enableBuiltInSecretEnvVars") or {}
    for name in BUILT_IN_SECRET_ENV:
        if built_in.get(name, True):
            out.setdefault(name, set()).update(COMPONENTS)
    for component in COMPONENTS:
        for item in (values.get(component) or {}).get("env") or []:
            out.setdefault(item["name"], set()).add(component)
    for item in values.get("env") or []:
        out.setdefault(item["name"], set()).update(COMPONENTS)
    return out


def least_privilege_problems(values: dict[str, Any], compose: dict[str, Any]) -> list[str]:
    services = compose["services"]
    chart_holders = holders(values)
    problems = []
    for name in SECRET_ENV:
        expected = {c for c, svc in COMPOSE_SERVICE.items() if name in environment(services[svc])}
        got = chart_holders.get(name, set())
        if got != expected:
            problems.append(f"{name}: held by {sorted(got)} on Kubernetes, compose gives it to {sorted(expected)}")
    for name in ("AIRFLOW__WEBSERVER__SECRET_KEY", "AIRFLOW_CONN_AIRFLOW_DB", "AIRFLOW__CORE__SQL_ALCHEMY_CONN"):
        if chart_holders.get(name):
            problems.append(f"{name} is wired into {sorted(chart_holders[name])}: nothing uses it")
    admin = {c for c in COMPONENTS for item in (values.get(c) or {}).get("env") or []
             if item["name"] == "_AIRFLOW_WWW_USER_PASSWORD"}
    if admin != {"createUserJob"}:
        problems.append(f"the admin password must reach the create-user job only, not {sorted(admin)}")
    for where, item in _env_entries(values):
        ref = (item.get("valueFrom") or {}).get("secretKeyRef") or {}
        if ref and not ref.get("name"):
            problems.append(f"{where} {item['name']}: secretKeyRef without a Secret name")
    return problems


def image_problems(values: dict[str, Any], cronjob: dict[str, Any], compose: dict[str, Any]) -> list[str]:
    compose_image = compose["services"]["airflow-worker"]["image"]
    repository, _, tag = compose_image.rpartition(":")
    problems = []
    images = values.get("images") or {}
    for where, (repo, t) in {
        "images.airflow": ((images.get("airflow") or {}).get("repository"), (images.get("airflow") or {}).get("tag")),
        "images.pod_template": ((images.get("pod_template") or {}).get("repository"),
                                (images.get("pod_template") or {}).get("tag")),
        "defaultAirflowRepository/Tag": (values.get("defaultAirflowRepository"), values.get("defaultAirflowTag")),
    }.items():
        if (repo, t) != (repository, tag):
            problems.append(f"{where} is {repo}:{t}, compose builds {compose_image}")
    for container in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]:
        if container["image"] != compose_image:
            problems.append(f"the db-clean CronJob runs {container['image']}, compose builds {compose_image}")
    base = re.search(r"^FROM apache/airflow:([0-9.]+)", DOCKERFILE.read_text(), re.M)
    if not base or values.get("airflowVersion") != base.group(1):
        problems.append(f"airflowVersion {values.get('airflowVersion')!r} is not the Dockerfile's Airflow "
                        f"({base.group(1) if base else '?'})")
    return problems


def settings_problems(values: dict[str, Any], cronjob: dict[str, Any], compose: dict[str, Any]) -> list[str]:
    """The socialhub settings and airflow.cfg options are those of docker-compose.yml."""
    services = compose["services"]
    common = {k: "" if v is None else str(v) for k, v in compose["x-airflow-common-env"].items()}
    problems = []
    env = {item["name"]: item.get("value") for item in values.get("env") or []}
    wanted = {k: v for k, v in common.items() if k.startswith("SOCIALHUB_") and k not in NOT_ON_KUBERNETES}
    got = {k: v for k, v in env.items() if k.startswith("SOCIALHUB_")}
    if got != wanted:
        problems.append(f"socialhub settings differ from compose's: values {got} != compose {wanted}")
    config = {f"AIRFLOW__{section.upper()}__{key.upper()}": str(value)
              for section, options in (values.get("config") or {}).items() for key, value in options.items()}
    for name, value in common.items():
        if not name.startswith("AIRFLOW__") or name in NOT_MIRRORED:
            continue
        if name not in config:
            problems.append(f"{name} (compose) is not in the chart's config")
        elif config[name].lower() != value.lower():
            problems.append(f"{name}: {config[name]!r} in the values, {value!r} in compose")
    url = (values.get("config") or {}).get("core", {}).get("execution_api_server_url")
    if url != EXECUTION_API_URL or not common["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].endswith(":8080/execution/"):
        problems.append(f"[core] execution_api_server_url {url!r}: task pods must reach the api-server Service")
    init = environment(services["airflow-init"])
    pools_wanted = {k: v for k, v in init.items() if k.startswith("SOCIALHUB_POOL_SLOTS_")}
    pools_got = {item["name"]: item.get("value")
                 for item in (values.get("migrateDatabaseJob") or {}).get("env") or []
                 if item["name"].startswith("SOCIALHUB_POOL_SLOTS_")}
    if pools_got != pools_wanted:
        problems.append(f"pool sizes {pools_got} differ from compose's airflow-init {pools_wanted}")
    args = " ".join((values.get("migrateDatabaseJob") or {}).get("args") or [])
    if "airflow db migrate" not in args or "/opt/airflow/scripts/airflow_init.sh" not in args:
        problems.append("migrateDatabaseJob must run `airflow db migrate` and then scripts/airflow_init.sh")
    clean_env = {e["name"]: e for e in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
                 ["containers"][0].get("env", [])}
    days = environment(services["airflow-db-clean"])["SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS"]
    if (clean_env.get("SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS") or {}).get("value") != days:
        problems.append(f"the db-clean CronJob's retention differs from compose's ({days} days)")
    return problems


def db_clean_problems(cronjob: dict[str, Any], values: dict[str, Any]) -> list[str]:
    problems = []
    if cronjob.get("kind") != "CronJob" or cronjob.get("apiVersion") != "batch/v1":
        problems.append("not a batch/v1 CronJob")
    spec = cronjob.get("spec", {})
    fields = spec.get("schedule", "").split()
    if len(fields) != 5 or not all(f.isdigit() for f in fields[:2]) or fields[2:] != ["*", "*", "*"]:
        problems.append(f"schedule {spec.get('schedule')!r}: once a day at a fixed time")
    if spec.get("concurrencyPolicy") != "Forbid":
        problems.append("two cleans must never overlap (concurrencyPolicy: Forbid)")
    container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container.get("env", []) if "valueFrom" in e}
    metadata = (values.get("data") or {}).get("metadataSecretName")
    if secrets != {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": {"name": metadata, "key": "connection"}}:
        problems.append(f"the db-clean job must hold the metadata URL ({metadata}) and nothing else: {secrets}")
    if container.get("envFrom"):
        problems.append("envFrom would give the db-clean job whole Secrets")
    return problems


def airflow_option_problems(values: dict[str, Any]) -> list[str]:
    from airflow.configuration import conf

    try:
        # imported by name: the cncf.kubernetes provider is in the image, usually not in this venv, and
        # tests/dags/test_airflow_mechanisms.py probes every literal `from airflow... import` we write
        info = importlib.import_module("airflow.providers.cncf.kubernetes.get_provider_info")
        k8s = set(info.get_provider_info()["config"]["kubernetes_executor"]["options"])
    except ImportError:  # not in this venv; the image has it
        k8s = KUBERNETES_EXECUTOR_OPTIONS
    problems = []
    for section, options in (values.get("config") or {}).items():
        for key in options:
            if section == "kubernetes_executor":
                ok = key in k8s
            else:
                ok = conf.has_option(section, key) or key in conf.configuration_description.get(
                    section, {}).get("options", {})
            if not ok:
                problems.append(f"[{section}] {key} is not an Airflow option")
    return problems


# --- the real file passes every check --------------------------------------------------------------

def test_values_parse_without_duplicate_keys():
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'executor'"):
        parse(VALUES.read_text() + "\nexecutor: CeleryExecutor\n")
    assert isinstance(parse(VALUES.read_text()), dict) and isinstance(parse(DB_CLEAN.read_text()), dict)


def test_every_key_exists_in_the_charts_schema(values, schema):
    assert schema_problems(values, schema) == []


def test_runs_the_kubernetes_executor_on_external_postgres_with_baked_dags(values):
    assert executor_problems(values) == []
    dockerfile = DOCKERFILE.read_text()
    for folder in ("dags", "plugins", "include"):
        assert re.search(rf"^COPY .*\b{folder} /opt/airflow/{folder}$", dockerfile, re.M), folder
    assert re.search(r"^COPY .*scripts/airflow_init\.sh .*scripts/pools\.py /opt/airflow/scripts/", dockerfile, re.M)


def test_no_secret_is_written_in_the_file(values):
    assert literal_secret_problems(values) == []


def test_each_component_holds_the_secrets_compose_gives_it(values, compose):
    assert least_privilege_problems(values, compose) == []


def test_image_is_the_one_compose_builds(values, cronjob, compose):
    assert image_problems(values, cronjob, compose) == []


def test_settings_pools_and_retention_match_compose(values, cronjob, compose):
    assert settings_problems(values, cronjob, compose) == []


def test_db_clean_cronjob_holds_the_metadata_url_only(cronjob, values):
    assert db_clean_problems(cronjob, values) == []


def test_airflow_cfg_options_exist(values):
    assert airflow_option_problems(values) == []


def test_db_clean_command_deletes_rows_older_than_the_retention(cronjob, tmp_path):
    """The CronJob's shell, run with stand-ins for `date` (a pinned clock) and `airflow`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "date").write_text('#!/bin/sh\necho "DATE $*" >> "$CALLS"; echo 2026-01-31T03:17:00+00:00\n')
    (bin_dir / "airflow").write_text('#!/bin/sh\necho "AIRFLOW $*" >> "$CALLS"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    days = {e["name"]: e.get("value") for e in container["env"]}["SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS"]

    def run(retention: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
        calls = tmp_path / f"calls-{retention or 'empty'}"
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS": retention}
        done = subprocess.run(container["args"], env=env, capture_output=True, text=True, timeout=30)
        return done, calls.read_text().splitlines() if calls.exists() else []

    done, calls = run(days)
    assert done.returncode == 0, done.stderr
    assert calls == [f"DATE -u -d -{days} days +%Y-%m-%dT%H:%M:%S+00:00",
                     "AIRFLOW db clean --clean-before-timestamp 2026-01-31T03:17:00+00:00 --skip-archive --yes"]
    for bad in ("", "0", "ninety"):
        done, calls = run(bad)
        assert done.returncode == 2 and "SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS" in done.stderr, bad
        assert not any(c.startswith("AIRFLOW") for c in calls), bad


# --- the checks fail on a broken file ---------------------------------------------------------------

def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(v: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = v
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return mutate


def _append_env(component: str, item: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(v: dict[str, Any]) -> None:
        (v[component] if component != "env" else v).setdefault("env", []).append(item)
    return mutate


def _drop_env(component: str, name: str) -> Callable[[dict[str, Any]], None]:
    def mutate(v: dict[str, Any]) -> None:
        holder = v if component == "env" else v[component]
        holder["env"] = [e for e in holder["env"] if e["name"] != name]
    return mutate


JWT_FROM_SECRET = {"name": "AIRFLOW__API_AUTH__JWT_SECRET",
                   "valueFrom": {"secretKeyRef": {"name": "socialhub-airflow-jwt", "key": "jwt-secret"}}}
BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "typo in a key": (_set("workers.replica", 2), "schema"),
    "unknown top-level key": (_set("executer", "KubernetesExecutor"), "schema"),
    "wrong type": (_set("scheduler.replicas", "two"), "schema"),
    "bad pull policy": (_set("images.airflow.pullPolicy", "Sometimes"), "schema"),
    "env value from nowhere": (_append_env("workers", {"name": "X"}), "schema"),
    "celery executor": (_set("executor", "CeleryExecutor"), "executor"),
    "bundled postgres": (_set("postgresql.enabled", True), "executor"),
    "git-sync": (_set("dags.gitSync.enabled", True), "executor"),
    "literal fernet key": (_set("fernetKey", "ZmVybmV0LWtleS1pbi10aGUtZmlsZQ=="), "secrets"),
    "literal DB password": (_set("data.metadataConnection", {"user": "airflow", "pass": "hunter2"}), "secrets"),
    "credentials in a URL": (_set("config.logging.remote_base_log_folder", "s3://k:s@bucket/logs"), "secrets"),
    "secret as a literal env": (_append_env("workers", {"name": "AIRFLOW_CONN_SOCIALHUB_X", "value": "{}"}), "secrets"),
    "secret for every pod": (_set("secret", [{"envName": "AIRFLOW_CONN_SOCIALHUB_X", "secretName": "s"}]), "secrets"),
    "JWT secret on task pods": (_append_env("workers", JWT_FROM_SECRET), "privilege"),
    "built-in JWT for every pod": (_set("enableBuiltInSecretEnvVars.AIRFLOW__API_AUTH__JWT_SECRET", True), "privilege"),
    "scheduler loses the Fernet key": (_drop_env("scheduler", "AIRFLOW__CORE__FERNET_KEY"), "privilege"),
    "platforms on the api-server": (_append_env("apiServer", {
        "name": "AIRFLOW_CONN_SOCIALHUB_YOUTUBE",
        "valueFrom": {"secretKeyRef": {"name": "socialhub-platforms", "key": "youtube"}}}), "privilege"),
    "another image": (_set("images.airflow.tag", "v2"), "image"),
    "task pods on stock Airflow": (_set("images.pod_template.repository", "apache/airflow"), "image"),
    "another Airflow": (_set("airflowVersion", "3.0.5"), "image"),
    "a setting dropped": (_drop_env("env", "SOCIALHUB_MAX_SHARDS"), "settings"),
    "a setting changed": (lambda v: next(e for e in v["env"] if e["name"] == "SOCIALHUB_MAX_SHARDS").update(
        value="40"), "settings"),
    "logs left local": (_set("config.logging.remote_logging", "False"), "settings"),
    "no pools": (_drop_env("migrateDatabaseJob", "SOCIALHUB_POOL_SLOTS_PROCESS"), "settings"),
    "no init script": (_set("migrateDatabaseJob.args", ["bash", "-c", "exec airflow db migrate"]), "settings"),
    "unknown airflow option": (_set("config.logging.remote_loging", "True"), "options"),
    "execution API on localhost": (_set("config.core.execution_api_server_url",
                                        "http://localhost:8080/execution/"), "settings"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_checks_catch_broken_values(case, values, schema, cronjob, compose):
    mutate, check = BROKEN[case]
    broken = copy.deepcopy(values)
    mutate(broken)
    found = {
        "schema": lambda: schema_problems(broken, schema),
        "executor": lambda: executor_problems(broken),
        "secrets": lambda: literal_secret_problems(broken),
        "privilege": lambda: least_privilege_problems(broken, compose),
        "image": lambda: image_problems(broken, cronjob, compose),
        "settings": lambda: settings_problems(broken, cronjob, compose),
        "options": lambda: airflow_option_problems(broken),
    }[check]()
    assert found, f"{case}: the {check} check did not notice"


@pytest.mark.parametrize("case", ["extra secret", "wrong key", "envFrom", "hourly"])
def test_db_clean_checks_catch_a_broken_cronjob(case, cronjob, values):
    broken = copy.deepcopy(cronjob)
    container = broken["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    if case == "extra secret":
        container["env"].append({"name": "AIRFLOW__CORE__FERNET_KEY", "valueFrom": {
            "secretKeyRef": {"name": "socialhub-airflow-fernet", "key": "fernet-key"}}})
    elif case == "wrong key":
        container["env"][1]["valueFrom"]["secretKeyRef"]["key"] = "url"
    elif case == "envFrom":
        container["envFrom"] = [{"secretRef": {"name": "socialhub-storage"}}]
    else:
        broken["spec"]["schedule"] = "0 * * * *"
    assert db_clean_problems(broken, values)


# --- with the whole schema, Helm, or the chart itself ----------------------------------------------

def _helm() -> str | None:
    return os.environ.get("SOCIALHUB_HELM") or shutil.which("helm")


def test_values_validate_against_the_whole_chart_schema(values):
    path = os.environ.get("SOCIALHUB_HELM_SCHEMA")
    if not path:
        pytest.skip("set SOCIALHUB_HELM_SCHEMA to the chart's values.schema.json to validate against all of it")
    full = json.loads(Path(path).read_text())
    assert schema_problems(values, full) == []
    broken = copy.deepcopy(values)
    broken["workers"]["replica"] = 2
    assert schema_problems(broken, full), "the chart's schema accepted an unknown key"


def test_helm_validates_the_values_against_the_schema_extract(tmp_path):
    """Helm's own YAML parser and schema validation, on a chart that is only the schema extract."""
    helm = _helm()
    if not helm:
        pytest.skip("no helm binary (PATH or SOCIALHUB_HELM)")
    chart = tmp_path / "schema-extract"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: airflow-schema-extract\nversion: 0.0.0\n")
    shutil.copy(SCHEMA_EXTRACT, chart / "values.schema.json")
    ok = subprocess.run([helm, "template", "socialhub", str(chart), "-f", str(VALUES)],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(VALUES.read_text().replace("  terminationGracePeriodSeconds: 300",
                                                 "  terminationGracePeriodSecond: 300"))
    bad = subprocess.run([helm, "template", "socialhub", str(chart), "-f", str(broken)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "terminationGracePeriodSecond" in bad.stderr, bad.stderr


def test_helm_template_renders_the_official_chart():
    helm, chart = _helm(), os.environ.get("SOCIALHUB_HELM_CHART")
    if not (helm and chart):
        pytest.skip("set SOCIALHUB_HELM_CHART to the official chart (and have helm) to render it")
    done = subprocess.run([helm, "template", "socialhub", chart, "--namespace", "socialhub", "-f", str(VALUES)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert not any(kind in ("Deployment", "StatefulSet") and ("worker" in name or "redis" in name)
                   for kind, name in kinds), "KubernetesExecutor: no Celery workers, no Redis"
    config = "\n".join(str(v) for d in docs if d["kind"] == "ConfigMap" for v in (d.get("data") or {}).values())
    assert re.search(r"^executor = KubernetesExecutor$", config, re.M)
    assert "remote_base_log_folder = s3://" in config
    assert "execution_api_server_url = http://socialhub-api-server:8080/execution/" in config
    assert ("Service", "socialhub-api-server") in kinds
    assert "image: socialhub-airflow:latest" in config, "the pod template runs the socialhub image"

    def env_of(component: str) -> set[str]:
        names: set[str] = set()
        for d in docs:
            labels = (d.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {})
            if d["kind"] in ("Deployment", "StatefulSet") and labels.get("component") == component:
                for c in d["spec"]["template"]["spec"]["containers"]:
                    names |= {e["name"] for e in c.get("env") or []}
        return names

    assert "AIRFLOW__API_AUTH__JWT_SECRET" in env_of("scheduler")
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in env_of("api-server")
    assert "AIRFLOW__API_AUTH__JWT_SECRET" not in env_of("triggerer") | env_of("dag-processor")
    assert "AIRFLOW_CONN_SOCIALHUB_YOUTUBE" not in env_of("api-server") | env_of("scheduler")
    generated = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
    assert not any(n.endswith(("fernet-key", "jwt-secret", "api-secret-key", "metadata")) for n in generated), generated
