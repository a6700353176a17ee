"""Validate, classify, store and alert every collected batch.

Scheduled by the ``x-socialhub://batches`` asset (emitted only when collection queued new
batches) or every 30 minutes, whichever comes first (``AssetOrTimeSchedule``). find_pending ->
process (mapped over a bounded number of chunks) -> alert (one task: rate limits, digests, the
ledger) -> announce_alerts (emits ``x-socialhub://alerts`` only when alerts were delivered) and
report. Work comes from the durable queue in the store, so a failed run's batches are picked up
by the next run, at the latest by the next timed one.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from socialhub.dag_defaults import deadline_alert, default_args, notify_platform_team_of_run
from socialhub_airflow.access import access_control
from socialhub_airflow.assets import ALERTS, BATCHES, PROCESS_DRAIN_CRON


@dag(
    dag_id="socialhub_process",
    access_control=access_control("socialhub_process"),
    # new batches, or the timed drain of the durable queue (what a failed run left pending)
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(PROCESS_DRAIN_CRON, timezone="UTC"),
                                 assets=[BATCHES]),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    deadline=deadline_alert(timedelta(hours=1)),
    dagrun_timeout=timedelta(hours=2),
    on_failure_callback=notify_platform_team_of_run,
    default_args=default_args(execution_timeout=timedelta(minutes=45)),
    tags=["socialhub", "process"],
    doc_md=__doc__,
)
def socialhub_process():
    @task
    def find_pending() -> list:
        from socialhub_airflow import runtime

        return runtime.find_pending()

    @task(pool="socialhub_process")
    def process(batch_ids: list) -> list:
        # a QualityGateFailed is not retried (retrying cannot make a bad batch good): the retry
        # policy in default_args fails the task at once
        from socialhub_airflow import runtime

        return runtime.process(batch_ids)

    @task(trigger_rule="all_done", pool="socialhub_alerts")
    def alert(chunks: list):
        from socialhub_airflow import runtime

        return runtime.alert(chunks)

    @task(trigger_rule="all_done")
    def report(chunks: list, alert_summary: dict | None, run_id=None):
        from socialhub_airflow import runtime

        return runtime.report_processing(chunks, alert_summary, run_id)

    pending = find_pending()
    processed = process.expand(batch_ids=pending)
    alerted = alert(pending)
    processed >> alerted
    report(pending, alerted)

    @task(outlets=[ALERTS])   # schedules socialhub_review
    def announce_alerts(alert_summary: dict, outlet_events=None) -> None:  # noqa: ANN001
        from socialhub_airflow.assets import announce, new_alerts

        announce(outlet_events, ALERTS, new_alerts(alert_summary))

    announce_alerts(alerted)


socialhub_process()
