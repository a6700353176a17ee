"""What every socialhub DAG shares: owner, retries, the platform team's failure callback.

Imported by the DAG files at parse time, so it imports nothing but the standard library; the
callback loads the Airflow notifier only when a task has failed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

OWNER = "platform-team"


def notify_platform_team(context: Any) -> None:
    """``on_failure_callback``: tell the platform team (Slack or the outbox) which task failed."""
    from socialhub_airflow.notifiers import notify_platform_team as notify

    notify(context)


def default_args(*, retries: int = 2, retry_delay: timedelta = timedelta(seconds=30),
                 exponential_backoff: bool = False) -> dict[str, Any]:
    """``default_args`` for a socialhub DAG: retried, owned by and reported to the platform team."""
    args: dict[str, Any] = {"owner": OWNER, "retries": retries, "retry_delay": retry_delay,
                            "on_failure_callback": notify_platform_team}
    if exponential_backoff:
        args["retry_exponential_backoff"] = True
    return args
