"""Daily housekeeping: apply the retention policy and remind owners of authorisations due for review.

apply_retention erases expired batch content (never under legal hold) and records one audit
event per erased object, then deletes collection runs' rate-budget records older than the
policy's ``operational.budget_runs_days``; remind_owners tells each team's on-duty channel, once per review date,
which authorisations lapse soon; verify_audit re-walks the audit chain and fails loudly if it
is broken.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from socialhub.dag_defaults import deadline_alert, default_args, notify_platform_team_of_run
from socialhub_airflow.access import access_control


@dag(
    dag_id="socialhub_housekeeping",
    access_control=access_control("socialhub_housekeeping"),
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    deadline=deadline_alert(timedelta(hours=3)),
    dagrun_timeout=timedelta(hours=6),
    on_failure_callback=notify_platform_team_of_run,
    default_args=default_args(retry_delay=timedelta(minutes=5), execution_timeout=timedelta(hours=2)),
    tags=["socialhub", "governance"],
    doc_md=__doc__,
)
def socialhub_housekeeping():
    @task
    def apply_retention():
        from socialhub_airflow import runtime

        return runtime.apply_retention()

    @task
    def remind_owners() -> list:
        from socialhub_airflow import runtime

        return runtime.remind_owners()

    @task
    def verify_audit():
        from socialhub_airflow import runtime

        return runtime.verify_audit()

    [apply_retention(), remind_owners()] >> verify_audit()


socialhub_housekeeping()
