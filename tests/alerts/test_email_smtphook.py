"""The email fallback inside Airflow retries with ``SmtpHook``'s own ``retry_limit`` (the
Connection's extra), with no outer retry loop around it. A subprocess, as in
``test_fallback_airflow.py``; opt-in with ``SOCIALHUB_AIRFLOW_TESTS=1``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.servers.smtp import SMTPServer

from .test_fallback_airflow import _run, pytestmark  # noqa: F401 - the same opt-in marker

PASSWORD = "smtp-SECRET-pw-2718"

SCRIPT = r"""
import json
from socialhub.alerts import Alert
from socialhub.alerts.fallback import EmailDeliveryError
from socialhub_airflow.hooks import get_email_sink

alert = Alert.from_post({"platform": "x", "post_id": "42", "text": "hi"}, {"scores": {}, "labels": []},
                        force="f", team="t", authorisation_ref="AUTH-1")
sink = get_email_sink()
out = {"max_attempts": sink.max_attempts}
try:
    out["delivery"] = sink.send(alert, "#on-duty").to_dict()
except EmailDeliveryError as exc:
    out["error"] = str(exc)
print(json.dumps(out))
"""


def _conn(port: int, retry_limit: int) -> str:
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": "socialhub",
                       "password": PASSWORD,
                       "extra": {"from_email": "socialhub@example.org", "to": "duty@example.org",
                                 "disable_ssl": True, "disable_tls": True, "retry_limit": retry_limit,
                                 "max_attempts": 4, "timeout": 10}})


def test_smtp_hook_retry_limit_is_the_only_retry(tmp_path: Path) -> None:
    with SMTPServer(user="socialhub", password=PASSWORD) as smtp:
        smtp.fail_next(2)                                   # two 451s, then accepted: SmtpHook retried
        out, logs = _run(SCRIPT, {"AIRFLOW_CONN_SOCIALHUB_SMTP": _conn(smtp.port, 2)}, tmp_path)
        assert out["max_attempts"] == 1 and out["delivery"]["attempts"] == 1
        assert len(smtp.messages) == 1 and smtp.logins == ["socialhub"]       # one session, three DATA
        smtp.reset()
        smtp.fail_next(1)                                   # retry_limit 0: one try, no outer loop
        out, logs2 = _run(SCRIPT, {"AIRFLOW_CONN_SOCIALHUB_SMTP": _conn(smtp.port, 0)}, tmp_path)
        assert "after 1 attempt(s)" in out["error"] and smtp.messages == [] and smtp.logins == ["socialhub"]
        assert PASSWORD not in logs + logs2
