"""Airflow listener: seal the task's audit segment when the task ends.

Every task writes its audit events to its own segment (``runtime.task_audit_log``); this seals it
on the global chain as the task finishes, whatever its state. A task killed outright never gets
here: housekeeping seals its segment after the grace period (``socialhub.audit.segments``).
"""

from __future__ import annotations

from typing import Any

from airflow.listeners import hookimpl


def _close() -> None:
    from socialhub_airflow.runtime import close_task_audit

    close_task_audit()


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    _close()


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    _close()


@hookimpl
def on_task_instance_skipped(previous_state: Any, task_instance: Any) -> None:
    _close()


@hookimpl
def before_stopping(component: Any) -> None:
    _close()
