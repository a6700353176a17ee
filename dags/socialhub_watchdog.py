"""Every 5 minutes: is every platform still being collected?

check_staleness tells the platform team about each platform of the watchlist with no successful
collection for 3 times its polling interval (the shortest priority interval among its authorised
accounts), once when it becomes stale, then at most hourly, and once when collection resumes.
It runs independently of ``socialhub_collect``, so it speaks even while a collection run hangs
(``socialhub_collect`` allows one active run). It cannot speak if the scheduler itself is down:
watch that from outside Airflow (docs/production.md, "Watching the watcher").
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from socialhub.dag_defaults import default_args, notify_platform_team_of_run
from socialhub_airflow.access import access_control


@dag(
    dag_id="socialhub_watchdog",
    access_control=access_control("socialhub_watchdog"),
    schedule="*/5 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=10),
    on_failure_callback=notify_platform_team_of_run,
    default_args=default_args(retries=1, retry_delay=timedelta(seconds=30), execution_timeout=timedelta(minutes=4)),
    tags=["socialhub", "monitoring"],
    doc_md=__doc__,
)
def socialhub_watchdog():
    @task
    def check_staleness():
        from socialhub_airflow import runtime

        return runtime.check_staleness()

    check_staleness()


socialhub_watchdog()
