"""The lead wires SlackSink to an Airflow ``slack`` Connection: prove that path reaches our server.

Runs in a subprocess so Airflow's import-time configuration (logging, settings, AIRFLOW_HOME)
cannot leak into the other tests. Importing Airflow takes ~10 s, so the test is opt-in:
set ``SOCIALHUB_AIRFLOW_TESTS=1`` (CI should).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.slack_api import SlackAPIServer

from ._factory import TOKEN

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
from airflow.providers.slack.hooks.slack import SlackHook
from socialhub.alerts import Alert, SlackSink

hook = SlackHook(slack_conn_id="socialhub_slack", retry_handlers=[])
client = hook.client
alert = Alert.from_post({"platform": "x", "post_id": "42", "text": "hi", "url": "https://x.com/a/status/42"},
                        {"scores": {"weapon": 0.9}, "labels": ["weapon"]},
                        force="f", team="t", authorisation_ref="ref")
delivery = SlackSink(client, sleep=lambda s: None).send(alert, "#alerts")
print(json.dumps({"base_url": client.base_url, "timeout": client.timeout, "delivery": delivery.to_dict()}))
"""


@pytest.mark.skipif(os.environ.get("SOCIALHUB_AIRFLOW_TESTS") != "1", reason="slow (imports Airflow): "
                    "set SOCIALHUB_AIRFLOW_TESTS=1")
def test_slack_hook_from_connection_posts_to_custom_base_url(slack: SlackAPIServer, tmp_path: Path) -> None:
    if importlib.util.find_spec("airflow") is None:
        pytest.fail("SOCIALHUB_AIRFLOW_TESTS=1 but Airflow is not installed")
    connection = {"conn_type": "slack", "password": TOKEN, "extra": {"base_url": slack.base_url, "timeout": 7}}
    env = {**os.environ, "AIRFLOW_CONN_SOCIALHUB_SLACK": json.dumps(connection),
           "AIRFLOW_HOME": str(tmp_path / "airflow"), "PYTHONPATH": str(REPO / "include")}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["base_url"] == slack.base_url and out["timeout"] == 7
    assert out["delivery"]["sink"] == "slack"
    (message,) = slack.messages
    assert message.ts == out["delivery"]["message_id"]
    assert TOKEN not in result.stdout + result.stderr
