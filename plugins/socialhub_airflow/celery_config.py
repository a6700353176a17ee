"""Celery settings for socialhub's workers: Airflow's defaults, plus modules each worker imports once.

Point ``[celery] celery_config_options`` here (``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=
socialhub_airflow.celery_config.CELERY_CONFIG``). Celery imports the modules named in ``imports`` in
the worker's main process, before it forks its pool; Airflow forks each task process from a pool
process, so every task inherits them instead of importing Airflow's task runner, pandas and Great
Expectations again (10-15 s per task on a small machine). The scheduler and api-server read this
dict too, but only workers import the modules.

Airflow's plugin manager imports every file under plugins/, in every component: this module
therefore imports nothing of Celery's until ``CELERY_CONFIG`` is asked for (a module ``__getattr__``).

``SOCIALHUB_CELERY_PRELOAD`` (comma-separated module names) replaces the default list; empty
turns preloading off.
"""

from __future__ import annotations

import os
from typing import Any

#: what the task processes import anyway (the LocalExecutor's forkserver preloads the same list)
DEFAULT_PRELOAD = ("airflow.sdk", "airflow.sdk.execution_time.task_runner", "airflow.sdk.execution_time.supervisor",
                   "airflow.providers.standard.decorators.python", "pandas", "great_expectations",
                   "socialhub.quality._gx", "socialhub.classify", "socialhub_airflow.runtime", "socialhub.collect",
                   "socialhub.process", "socialhub.alerting")


def preload_modules(value: str | None = None) -> tuple[str, ...]:
    raw = os.environ.get("SOCIALHUB_CELERY_PRELOAD") if value is None else value
    if raw is None:
        return DEFAULT_PRELOAD
    return tuple(m.strip() for m in raw.split(",") if m.strip())


def celery_config() -> dict[str, Any]:
    """Airflow's default Celery configuration (from ``[celery]``) with ``imports`` set."""
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    return {**DEFAULT_CELERY_CONFIG, "imports": preload_modules()}


def __getattr__(name: str) -> Any:
    if name == "CELERY_CONFIG":
        value = celery_config()
        globals()["CELERY_CONFIG"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
