"""Collect new public posts from every due, authorised watchlist account.

check_watchlist (validates it, audits changes) -> plan_<platform> -> collect_<platform>
(mapped over a bounded number of shards, one pool per platform) -> finish (records the run report)
-> announce_batches (emits the ``x-socialhub://batches`` asset, which schedules ``socialhub_process``,
only when the run queued new batches, with their count and ids in the event's ``extra``; an idle
run skips it, so no event and no processing or review run).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from socialhub.dag_defaults import deadline_alert, default_args, notify_platform_team_of_run
from socialhub.models import PLATFORMS
from socialhub_airflow.access import access_control
from socialhub_airflow.assets import BATCHES


@dag(
    dag_id="socialhub_collect",
    access_control=access_control("socialhub_collect"),
    schedule="*/5 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # one active run: a stalled run must not hold collection for ever. The deadline tells the
    # platform team while it still runs; the timeout then fails it (the run callback says so);
    # socialhub_watchdog reports a platform with no successful collection for 3x its interval.
    deadline=deadline_alert(timedelta(minutes=20)),
    dagrun_timeout=timedelta(hours=1),
    on_failure_callback=notify_platform_team_of_run,
    default_args=default_args(exponential_backoff=True, execution_timeout=timedelta(minutes=30)),
    tags=["socialhub", "collect"],
    doc_md=__doc__,
)
def socialhub_collect():
    @task
    def check_watchlist():
        from socialhub_airflow import runtime

        return runtime.check_watchlist()

    checked = check_watchlist()
    results = []
    for platform in PLATFORMS:

        @task(task_id=f"plan_{platform}")
        def plan(platform: str) -> list:
            from socialhub_airflow import runtime

            return runtime.plan(platform)

        @task(task_id=f"collect_{platform}", pool=f"socialhub_{platform}",
              map_index_template="shard {{ task.op_kwargs['shard']['index'] }}")
        def collect(shard: dict) -> list:
            from socialhub_airflow import runtime

            return runtime.collect(shard)

        planned = plan(platform)
        checked >> planned
        results.append(collect.expand(shard=planned))

    @task(trigger_rule="all_done")
    def finish(*outcome_lists, run_id=None):
        from socialhub_airflow import runtime

        return runtime.finish_collection(list(outcome_lists), run_id)

    @task(outlets=[BATCHES])
    def announce_batches(summary: dict, outlet_events=None) -> None:  # noqa: ANN001
        from socialhub_airflow.assets import announce, new_batches

        announce(outlet_events, BATCHES, new_batches(summary))

    announce_batches(finish(*results))


socialhub_collect()
