"""The Airflow wiring of the fallback: Connections -> FallbackSink, the SmtpHook adapter, the alert task.

Each test runs Airflow code in a subprocess (as ``test_airflow_slack_connection.py`` does) so
Airflow's import-time configuration cannot leak into other tests; Connections come from
``AIRFLOW_CONN_*`` environment variables in their JSON form. Opt-in (importing Airflow takes
~10 s): set ``SOCIALHUB_AIRFLOW_TESTS=1``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from socialhub.alerts.ledger import AlertLedger
from socialhub.storage import LocalStore
from tests.servers.slack_api import SlackAPIServer
from tests.servers.smtp import SMTPServer
from tests.servers.webhook import WebhookServer

from ._factory import TOKEN

REPO = Path(__file__).resolve().parents[2]
SMTP_PASSWORD = "smtp-SECRET-pw-4711"
HOOK_TOKEN = "hook-SECRET-token-0815"
WRONG_SLACK_TOKEN = "xoxb-999-888-revokedSECRETtoken"

pytestmark = pytest.mark.skipif(os.environ.get("SOCIALHUB_AIRFLOW_TESTS") != "1",
                                reason="slow (imports Airflow): set SOCIALHUB_AIRFLOW_TESTS=1")


def _run(script: str, env: dict[str, str], tmp_path: Path) -> tuple[dict[str, Any], str]:
    if importlib.util.find_spec("airflow") is None:
        pytest.fail("SOCIALHUB_AIRFLOW_TESTS=1 but Airflow is not installed")
    full = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "plugins"), str(REPO)]), **env}
    result = subprocess.run([sys.executable, "-c", script], env=full, capture_output=True, text=True, timeout=180,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stdout + result.stderr


SMTP_SCRIPT = r"""
import json
from socialhub.alerts import Alert
from socialhub_airflow.hooks import get_alert_sink, get_email_sink

alert = Alert.from_post({"platform": "x", "post_id": "42", "author": "<script>x</script>",
                         "text": "@here <b>bold</b> \u202eevil", "url": "https://x.com/a/status/42"},
                        {"scores": {"weapon": 0.9}, "labels": ["weapon"]},
                        force="f", team="t", authorisation_ref="AUTH-1")
email = get_email_sink()
direct = email.send(alert, "#on-duty", fallback_reason="test")
sink = get_alert_sink("/nonexistent-outbox")          # Slack (wrong token) wrapped with the email fallback
via = sink.send(Alert.from_post({"platform": "x", "post_id": "43", "text": "hi"}, {"scores": {}, "labels": []},
                                force="f", team="t", authorisation_ref="AUTH-1"), "#on-duty")
print(json.dumps({"sink": type(sink).__name__, "direct": direct.to_dict(), "via": via.to_dict()}))
"""


def test_smtp_connection_sends_email_through_smtp_hook(tmp_path: Path) -> None:
    with SMTPServer(user="socialhub", password=SMTP_PASSWORD) as smtp, SlackAPIServer(token=TOKEN) as slack:
        conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port, "login": "socialhub",
                "password": SMTP_PASSWORD,
                "extra": {"from_email": "socialhub@example.org", "to": "duty@example.org, platform@example.org",
                          "disable_ssl": True, "disable_tls": True, "retry_limit": 0, "timeout": 10}}
        out, logs = _run(SMTP_SCRIPT, {
            "AIRFLOW_CONN_SOCIALHUB_SMTP": json.dumps(conn),
            "AIRFLOW_CONN_SOCIALHUB_SLACK": json.dumps({"conn_type": "slack", "password": WRONG_SLACK_TOKEN,
                                                        "extra": {"base_url": slack.base_url}}),
        }, tmp_path)

        assert out["sink"] == "FallbackSink"
        assert out["direct"]["sink"] == "email" and out["direct"]["location"] == \
            "email:duty@example.org,platform@example.org"
        assert out["via"]["sink"] == "email" and out["via"]["fallback_reason"] == "slack invalid_auth: not retryable"
        assert [c.error for c in slack.calls] == ["invalid_auth"]
        assert smtp.logins == ["socialhub", "socialhub"]               # credentials from the Connection
        first, second = smtp.messages
        assert first.mail_from == "socialhub@example.org"
        assert first.rcpt_to == ["duty@example.org", "platform@example.org"]
        assert first.message["Message-ID"] == out["direct"]["message_id"]
        assert first.message["X-Socialhub-Key"] == out["direct"]["key"]
        assert str(first.message["Subject"]).startswith("[socialhub] HIGH alert: weapon 0.90")
        body = first.html()
        assert "<script>" not in body and "&lt;script&gt;x&lt;/script&gt;" in body
        assert "&lt;b&gt;bold&lt;/b&gt;" in body and "(@)here" in body and "\u202e" not in body
        assert "slack invalid_auth: not retryable" in second.html()
        for secret in (SMTP_PASSWORD, WRONG_SLACK_TOKEN):
            assert secret not in logs and secret not in first.raw.decode("utf-8", "replace")


ALERT_TASK = r"""
import json, sys
from socialhub_airflow import runtime
print(json.dumps(runtime.alert([[sys.argv[1]]])))
"""


def test_alert_task_falls_back_to_the_webhook_and_tells_the_platform_team(tmp_path: Path) -> None:
    from tests.alerts.test_fallback import _flagged_ids, _processed
    from tests.review._pipeline import ROUTING

    data = tmp_path / "data"
    store = LocalStore(data / "store")
    batch = _processed(store)
    routing = tmp_path / "routing.yaml"
    routing.write_text(yaml.safe_dump(ROUTING))
    with WebhookServer(token=HOOK_TOKEN) as hook, SlackAPIServer(token=TOKEN) as slack:
        env = {
            "SOCIALHUB_DATA_DIR": str(data), "SOCIALHUB_ROUTING": str(routing),
            "AIRFLOW_CONN_SOCIALHUB_SLACK": json.dumps({"conn_type": "slack", "password": WRONG_SLACK_TOKEN,
                                                        "extra": {"base_url": slack.base_url}}),
            "AIRFLOW_CONN_SOCIALHUB_ALERT_WEBHOOK": json.dumps({
                "conn_type": "http", "host": f"http://127.0.0.1:{hook.port}", "password": HOOK_TOKEN,
                "extra": {"endpoint": hook.path}}),
        }
        script = ALERT_TASK.replace("sys.argv[1]", repr(batch))
        summary, logs = _run(script, env, tmp_path)

        assert hook.errors == [] and slack.messages == []
        alerts = [d for d in hook.documents if d["type"] == "socialhub.alert"]
        notices = [d for d in hook.documents if d["type"] == "socialhub.notice"]
        assert sorted(d["key"] for d in alerts) == sorted(_flagged_ids())
        (notice,) = notices                                             # the platform team, once
        assert notice["intended_channel"] == "#platform" and "3 alert(s)" in notice["text"]
        assert summary["fallback_used"] == 3 and summary["platform_team_told"] is True
        assert summary["fallback_reasons"] == {"slack invalid_auth: not retryable": 3}
        assert len(slack.calls) == 1                                    # invalid_auth: not retried, then skipped
        assert "could not be posted to Slack" in logs                   # the log warning
        assert all(AlertLedger(store).delivered(a)["delivery"]["sink"] == "webhook" for a in _flagged_ids())
        for secret in (HOOK_TOKEN, WRONG_SLACK_TOKEN, hook.path):
            assert secret not in logs and secret not in json.dumps(summary)

        # the next run: nothing new, nothing sent again, nobody told again
        again, _ = _run(script, env, tmp_path)
        assert again["delivered"] == 0 and again["fallback_used"] == 0 and len(hook.documents) == 4
