"""Follow every referral to its outcome: is the referred post still up?

Hourly: recheck_<platform> checks each open referral of that platform whose next check is due (1 h,
4 h, 24 h after the referral, then daily for 30 days) through the platform's connector, in the
platform's pool (so checks share its rate budget with collection), and records the result in the
referral register; a removed post closes its referral with the time to removal, one still online
past its team's target is escalated once in the team's channel. finish writes the run report.
See include/socialhub/recheck.py.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from socialhub.dag_defaults import default_args, notify_platform_team_of_run
from socialhub.models import PLATFORMS
from socialhub_airflow.access import access_control


@dag(
    dag_id="socialhub_recheck",
    access_control=access_control("socialhub_recheck"),
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=50),
    on_failure_callback=notify_platform_team_of_run,
    default_args=default_args(exponential_backoff=True, execution_timeout=timedelta(minutes=20)),
    tags=["socialhub", "referrals"],
    doc_md=__doc__,
)
def socialhub_recheck():
    results = []
    for platform in PLATFORMS:

        @task(task_id=f"recheck_{platform}", pool=f"socialhub_{platform}")
        def recheck(platform: str):
            from socialhub_airflow import runtime

            return runtime.recheck(platform)

        results.append(recheck(platform))

    @task(trigger_rule="all_done")
    def finish(*summaries, run_id=None):
        from socialhub_airflow import runtime

        return runtime.finish_recheck(list(summaries), run_id)

    finish(*results)


socialhub_recheck()
