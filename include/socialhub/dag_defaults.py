"""What every socialhub DAG shares: owner, retries, timeouts, and telling the platform team.

* ``default_args``: owner, retries (with Airflow 3.3's retry policy: what cannot mend is not
  retried), a per-task ``execution_timeout`` and the task-level ``on_failure_callback``.
* ``notify_platform_team_of_run``: the DAG-level ``on_failure_callback``; it also fires when a
  run is failed by its ``dagrun_timeout`` (reason ``timed_out``), which no task callback sees.
* ``deadline_alert``: an Airflow 3 ``DeadlineAlert`` (the successor of SLAs) that tells the
  platform team while a run is still going, ``interval`` after it was queued. Its callback runs
  in the triggerer (``AsyncCallback``), so it needs no worker slot and no executor support.

Imported by the DAG files at parse time, so it imports nothing but the standard library at
module level (``deadline_alert`` imports ``airflow.sdk``, which the DAG file has already
imported); the callbacks load the Airflow notifier only when they run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

OWNER = "platform-team"

#: per-task execution_timeout unless a DAG says otherwise: no socialhub task should run longer
DEFAULT_TASK_TIMEOUT = timedelta(minutes=30)


def notify_platform_team(context: Any) -> None:
    """Task-level ``on_failure_callback``: tell the platform team (Slack or the outbox) which task failed."""
    from socialhub_airflow.notifiers import notify_platform_team as notify

    notify(context)


def notify_platform_team_of_run(context: Any) -> None:
    """DAG-level ``on_failure_callback``: a run failed (a task failed, or the run timed out)."""
    from socialhub_airflow.notifiers import notify_platform_team_of_run as notify

    notify(context)


def _text(value: Any) -> str:
    return str(value) if value is not None else "?"


def deadline_message(context: Any, within: str) -> str:
    """What the platform team is told when a run missed its deadline (``context``: the triggerer's)."""
    run = (context or {}).get("dag_run") or {}
    return (f"socialhub deadline missed: {_text(run.get('dag_id'))} run {_text(run.get('run_id'))} has not "
            f"finished {within} after it was queued (state {_text(run.get('state'))}). It may be stalled: look "
            f"for a task stuck in 'running', 'queued' or 'scheduled' (a missing pool, no free worker) in the "
            f"Airflow UI. Airflow fails the run when its dagrun_timeout passes.")


async def deadline_missed(context: Any = None, **kwargs: Any) -> str:
    """``AsyncCallback`` of the socialhub deadline alerts; runs in the triggerer.

    ``kwargs['within']`` is the deadline interval in words. Returns what happened (logged by Airflow).
    """
    import asyncio

    from socialhub_airflow.notifiers import tell_platform_team

    text = deadline_message(context, str(kwargs.get("within", "in time")))
    delivery = await asyncio.to_thread(tell_platform_team, text)
    if delivery is None:
        raise RuntimeError(f"could not tell the platform team: {text}")
    return f"platform team told: {text}"


def deadline_alert(interval: timedelta) -> Any:
    """A ``DeadlineAlert``: ``interval`` after a run was queued, tell the platform team if it is not done.

    None (no deadline) when ``SOCIALHUB_DEADLINE_ALERTS=0``: Airflow 3.3.2's ``airflow dags test``
    (``DAG.test()``) crashes when a run *succeeds* with a deadline alert defined (``DagRun.update_state``
    looks the alerts up by id, but the in-memory DAG of ``dags test`` holds them as dicts: "'dict' object
    has no attribute 'hex'"). The scheduler reads them from the database and is not affected. The demo,
    the end-to-end tests and the benchmarks run ``dags test``, so their Airflow environment
    (``socialhub.demo.airflow_env``) turns deadlines off; production leaves the setting alone.
    """
    import os

    if os.environ.get("SOCIALHUB_DEADLINE_ALERTS", "").strip().lower() in ("0", "false", "no", "off"):
        return None
    # the modules, not ``airflow.sdk``: its type stubs in 3.3.2 do not list these names yet
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    minutes = int(interval.total_seconds() // 60)
    return DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=interval,
                         callback=AsyncCallback(deadline_missed, kwargs={"within": f"{minutes} minutes"}),
                         name="socialhub run not finished in time")


#: with ``exponential_backoff``: the multiplier (Airflow 3.3 reads ``retry_exponential_backoff`` as
#: one; ``True`` is 1.0, a constant delay) and the longest wait between two tries
BACKOFF_MULTIPLIER = 2.0
MAX_RETRY_DELAY = timedelta(minutes=10)

#: failures no retry can mend: the task fails at once (Airflow's retry policy, not a wrapped exception)
NOT_RETRYABLE = ("socialhub.errors.ConfigError", "socialhub.errors.QualityGateFailed")


def retry_policy() -> Any:
    """Airflow 3.3's ``ExceptionRetryPolicy``: a configuration error (a missing or invalid connection,
    a bad watchlist or setting) or a failed quality gate fails the task at once; anything else is
    retried as ``retries`` says. Imports ``airflow.sdk``, which the DAG file has already imported."""
    from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

    return ExceptionRetryPolicy(rules=[
        RetryRule(exception=list(NOT_RETRYABLE), action=RetryAction.FAIL,
                  reason="not transient: a configuration error or a failed quality gate"),
    ])


def default_args(*, retries: int = 2, retry_delay: timedelta = timedelta(seconds=30),
                 exponential_backoff: bool = False,
                 execution_timeout: timedelta = DEFAULT_TASK_TIMEOUT) -> dict[str, Any]:
    """``default_args`` for a socialhub DAG: retried (not what cannot mend), time-limited, owned by and
    reported to the platform team."""
    args: dict[str, Any] = {"owner": OWNER, "retries": retries, "retry_delay": retry_delay,
                            "retry_policy": retry_policy(),
                            "execution_timeout": execution_timeout,
                            "on_failure_callback": notify_platform_team}
    if exponential_backoff:
        args["retry_exponential_backoff"] = BACKOFF_MULTIPLIER
        args["max_retry_delay"] = MAX_RETRY_DELAY
    return args
