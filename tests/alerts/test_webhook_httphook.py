"""The webhook fallback inside Airflow goes through the http provider's ``HttpHook``
(``run_with_advanced_retry``) with socialhub's tenacity policy: 5xx retried with backoff, 429
after ``Retry-After``, 4xx at once, nothing secret (token, URL path) logged, socialhub's own
extras never sent as headers. Subprocesses, as in ``test_fallback_airflow.py``; opt-in with
``SOCIALHUB_AIRFLOW_TESTS=1`` (importing Airflow takes ~10 s).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.servers.webhook import WebhookServer

from .test_fallback_airflow import _run, pytestmark  # noqa: F401 - the same opt-in marker

HOOK_TOKEN = "hook-SECRET-token-0815"

SCRIPT = r"""
import json, logging, time
logging.basicConfig(level=logging.DEBUG)
from socialhub.alerts import Alert
from socialhub.alerts.fallback import WebhookDeliveryError
from socialhub_airflow.hooks import HttpHookPoster, get_webhook_sink

sink = get_webhook_sink()
sink.sleep = lambda s: SLEEPS.append(s)
SLEEPS = []
alert = Alert.from_post({"platform": "x", "post_id": "42", "text": "hi"}, {"scores": {}, "labels": []},
                        force="f", team="t", authorisation_ref="AUTH-1")
out = {"poster": type(sink.post).__name__}
try:
    out["delivery"] = sink.send(alert, "#on-duty").to_dict()
except WebhookDeliveryError as exc:
    out["error"] = str(exc)
    out["status"] = exc.status
out["sleeps"] = SLEEPS
print(json.dumps(out))
"""


def _conn(port: int, path: str, **extra: object) -> str:
    return json.dumps({"conn_type": "http", "host": f"http://127.0.0.1:{port}", "password": HOOK_TOKEN,
                       "extra": {"endpoint": path, "max_attempts": 3, "headers": {"X-Team": "platform"}, **extra}})


def test_http_hook_retries_5xx_and_429_then_delivers(tmp_path: Path) -> None:
    with WebhookServer(token=HOOK_TOKEN) as hook:
        hook.fail_next(1, 503)
        hook.rate_limit_next(1, retry_after=2)
        out, logs = _run(SCRIPT, {"AIRFLOW_CONN_SOCIALHUB_ALERT_WEBHOOK": _conn(hook.port, hook.path)}, tmp_path)
        assert out["poster"] == "HttpHookPoster"
        assert out["delivery"]["sink"] == "webhook" and out["delivery"]["attempts"] == 3
        assert out["sleeps"] == [1.0, 2.0] and hook.errors == [] and len(hook.documents) == 1
        for secret in (HOOK_TOKEN, hook.path):
            assert secret not in logs


def test_http_hook_gives_up_on_4xx_at_once(tmp_path: Path) -> None:
    with WebhookServer(token="another-token") as hook:
        out, logs = _run(SCRIPT, {"AIRFLOW_CONN_SOCIALHUB_ALERT_WEBHOOK": _conn(hook.port, hook.path)}, tmp_path)
        assert out["status"] == 401 and "refused" in out["error"] and out["sleeps"] == [] and hook.requests == 1
        assert HOOK_TOKEN not in logs and hook.path not in logs


def test_http_hook_connection_refused_is_retried_and_nothing_secret_is_logged(tmp_path: Path) -> None:
    with socket.socket() as probe:           # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = "/hooks/T0SECRETPATH/B0SECRETPATH"
    out, logs = _run(SCRIPT, {"AIRFLOW_CONN_SOCIALHUB_ALERT_WEBHOOK": _conn(port, path)}, tmp_path)
    assert out["status"] is None and "connection failed" in out["error"] and "after 3 attempt(s)" in out["error"]
    assert out["sleeps"] == [1.0, 2.0]
    assert "SECRETPATH" not in logs and HOOK_TOKEN not in logs
