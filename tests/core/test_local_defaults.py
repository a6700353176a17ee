"""Missing connections fail closed: no local folder or outbox unless SOCIALHUB_LOCAL_DEFAULTS says so.

The tests' own environment sets ``SOCIALHUB_LOCAL_DEFAULTS=1`` (tests/conftest.py); each test here
sets or removes it explicitly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from socialhub.config import Settings
from socialhub.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "expected"), [
    (None, set()), ("", set()), ("0", set()), ("false", set()),
    ("1", {"store", "outbox"}), ("true", {"store", "outbox"}), ("all", {"store", "outbox"}),
    ("outbox", {"outbox"}), ("store", {"store"}), (" store , outbox ", {"store", "outbox"}),
])
def test_local_defaults_setting(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("SOCIALHUB_LOCAL_DEFAULTS", raising=False)
    else:
        monkeypatch.setenv("SOCIALHUB_LOCAL_DEFAULTS", raw)
    assert Settings.from_env().local_defaults == expected


def test_local_defaults_setting_rejects_unknown_names(monkeypatch):
    monkeypatch.setenv("SOCIALHUB_LOCAL_DEFAULTS", "store,slack")
    with pytest.raises(ConfigError, match="SOCIALHUB_LOCAL_DEFAULTS names slack"):
        Settings.from_env()


def test_demo_airflow_environment_allows_local_defaults(tmp_path, monkeypatch):
    """`make demo` and the Airflow-run tests get their environment from socialhub.demo.airflow_env."""
    from socialhub.demo import airflow_env

    monkeypatch.delenv("SOCIALHUB_LOCAL_DEFAULTS", raising=False)
    assert airflow_env(REPO, tmp_path, tmp_path / "data")["SOCIALHUB_LOCAL_DEFAULTS"] == "1"


SCRIPT = r"""
import json, os, sys
from socialhub.errors import MissingConnection, ConfigError
from socialhub_airflow import runtime
from socialhub_airflow.hooks import get_alert_sink

results = []
for env in json.loads(sys.argv[1]):          # one Airflow import for every scenario
    for key in ("SOCIALHUB_LOCAL_DEFAULTS", "AIRFLOW_CONN_SOCIALHUB_STORAGE"):
        os.environ.pop(key, None)
    os.environ.update(env)
    out = {}
    for name, build in (("store", runtime.store),
                        ("sink", lambda: get_alert_sink(runtime.settings().data_dir / "outbox"))):
        try:
            out[name] = type(build()).__name__
        except MissingConnection as exc:
            out[name] = {"error": str(exc), "conn_id": exc.conn_id}
        except ConfigError as exc:
            out[name] = {"error": str(exc)}
    results.append(out)
print(json.dumps(results))
"""


def _run(tmp_path: Path, scenarios: list[dict[str, str]]) -> list[dict]:
    if importlib.util.find_spec("airflow") is None:
        pytest.fail("SOCIALHUB_AIRFLOW_TESTS=1 but Airflow is not installed")
    base = {k: v for k, v in os.environ.items()
            if k not in ("SOCIALHUB_LOCAL_DEFAULTS", "AIRFLOW_CONN_SOCIALHUB_STORAGE", "AIRFLOW_CONN_SOCIALHUB_SLACK")}
    base.update({"AIRFLOW_HOME": str(tmp_path / "airflow"), "SOCIALHUB_DATA_DIR": str(tmp_path / "data"),
                 "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "plugins")])})
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(scenarios)], env=base, capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(os.environ.get("SOCIALHUB_AIRFLOW_TESTS") != "1",
                    reason="slow (imports Airflow): set SOCIALHUB_AIRFLOW_TESTS=1")
def test_missing_connections_fail_with_their_name_and_what_to_do(tmp_path):
    production, demo, only_outbox, wrong = _run(tmp_path, [
        {},                                          # production: the setting is not there
        {"SOCIALHUB_LOCAL_DEFAULTS": "1"},           # the demo and the tests
        {"SOCIALHUB_LOCAL_DEFAULTS": "outbox"},
        # a storage connection of the wrong type used to mean "the local folder" as well
        {"SOCIALHUB_LOCAL_DEFAULTS": "1",
         "AIRFLOW_CONN_SOCIALHUB_STORAGE": json.dumps({"conn_type": "http", "host": "example.org"})},
    ])
    store, sink = production["store"], production["sink"]
    assert store["conn_id"] == "socialhub_storage" and sink["conn_id"] == "socialhub_slack"
    for err, env in ((store["error"], "AIRFLOW_CONN_SOCIALHUB_STORAGE"), (sink["error"], "AIRFLOW_CONN_SOCIALHUB_SLACK")):
        assert "does not exist" in err and env in err and "airflow connections add" in err
        assert "SOCIALHUB_LOCAL_DEFAULTS=" in err              # ...and how a single machine may opt in
    assert str(tmp_path / "data" / "store") in store["error"] and str(tmp_path / "data" / "outbox") in sink["error"]

    assert demo == {"store": "LocalStore", "sink": "OutboxSink"}
    assert only_outbox["sink"] == "OutboxSink" and only_outbox["store"]["conn_id"] == "socialhub_storage"
    assert "socialhub_storage has type 'http'" in wrong["store"]["error"]
