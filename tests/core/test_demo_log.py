"""demo.log keeps what matters: routine Airflow noise is left out (and counted), real errors stay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import socialhub.demo as demo

# lines as the demo's `airflow dags test` wrote them (Airflow 3.3, structlog console format)
END_OF_SEQUENCE = (
    "2026-12-03T23:05:59.686849Z [error    ] XCom not found                 [airflow.sdk.api.client] "
    "dag_id=socialhub_collect detail={'reason': 'not_found', 'message': \"XCom with key='return_value' offset=3 "
    "not found for task 'collect_mastodon' in DAG run 'manual__2026-12-03T23:05:21.861493+00:00' of "
    "'socialhub_collect'\"} key=return_value loc=client.py:677 offset=3 run_id=manual__2026-12-03T23:05:21.861493"
    "+00:00 status_code=404 task_id=collect_mastodon")
# the other "XCom not found" of the same client: a task pulling one XCom that does not exist (no offset)
MISSING_XCOM = (
    "2026-12-03T23:05:59.686849Z [error    ] XCom not found                 [airflow.sdk.api.client] "
    "dag_id=socialhub_process detail={'reason': 'not_found'} key=batch_ids loc=client.py:601 map_index=-1 "
    "run_id=manual__1 status_code=404 task_id=plan")
ASSET_MISSING = ("2026-12-03T23:05:59Z [error    ] Asset not found                [airflow.sdk.api.client] "
                 "params={'name': 'x'} status_code=404")
TASK_FAILED = ("2026-12-03T23:06:00Z [error    ] Task failed with exception     [task] "
               "error_detail=[{'exc_type': 'IndexError', 'exc_value': 'offset=3 status_code=404'}]")


def test_only_the_end_of_a_mapped_sequence_is_routine() -> None:
    assert demo.routine_line(END_OF_SEQUENCE + "\n")
    for real in (MISSING_XCOM, ASSET_MISSING, TASK_FAILED, "Traceback (most recent call last):",
                 "[warning  ] NOT COLLECTED mastodon:oldcase: authorisation lapsed"):
        assert not demo.routine_line(real), real


def test_run_airflow_leaves_out_routine_lines_counts_them_and_keeps_errors(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "airflow"
    lines = [END_OF_SEQUENCE, "INFO all good", END_OF_SEQUENCE.replace("offset=3", "offset=2"), MISSING_XCOM,
             TASK_FAILED]
    fake.write_text(f"#!{sys.executable}\nimport sys\n"
                    f"for line in {lines!r}: print(line)\n"
                    "print('to stderr', file=sys.stderr)\nsys.exit(3)\n")
    fake.chmod(0o755)
    monkeypatch.setattr(demo, "_airflow_bin", lambda: str(fake))
    log = tmp_path / "demo.log"
    proc = demo.run_airflow(["dags", "test", "socialhub_collect"], {"PATH": "/usr/bin:/bin"}, log)
    assert proc.returncode == 3
    text = log.read_text()
    assert "$ airflow dags test socialhub_collect" in text
    assert "offset=3" not in text.replace(TASK_FAILED, "") and "offset=2" not in text
    for kept in ("INFO all good", MISSING_XCOM, TASK_FAILED, "to stderr"):
        assert kept in text, kept
    assert "2 routine 'XCom not found' line(s) left out" in text


def test_quiet_env_silences_the_routine_warnings_and_no_others() -> None:
    script = ("import warnings\n"
              "warnings.warn('Could not import graphviz. Rendering graph to the graphical format will not be "
              "possible.', UserWarning)\n"
              "warnings.warn('The airflow.security.permissions module is deprecated; please see', UserWarning)\n"
              "warnings.warn('Using `httpx` with `starlette.testclient` is deprecated; install httpx2', "
              "DeprecationWarning)\n"
              "warnings.warn('socialhub: something real', UserWarning)\n")
    for before in ("", "default::ResourceWarning"):
        env = demo.quiet_env({"PATH": "/usr/bin:/bin", **({"PYTHONWARNINGS": before} if before else {})})
        if before:
            assert env["PYTHONWARNINGS"].startswith(before + ",")        # the user's own filters kept
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True).stderr
        assert "socialhub: something real" in out
        assert "graphviz" not in out and "security.permissions" not in out and "httpx" not in out
    loud = subprocess.run([sys.executable, "-c", script], env={"PATH": "/usr/bin:/bin"}, capture_output=True,
                          text=True, check=True).stderr
    assert "graphviz" in loud                                           # the test would see them otherwise
