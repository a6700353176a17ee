"""Officer review of every alert, in Airflow's human-in-the-loop pages.

Scheduled by the ``x-socialhub://alerts`` asset that ``socialhub_process``'s announce_alerts
task emits when alerts were delivered, or hourly, whichever comes first (``AssetOrTimeSchedule``:
an alert whose event never came is still reviewed).
find_reviews (alerts delivered but not yet under review, oldest first, bounded per run) ->
review (one mapped ``HITLOperator`` per alert: Refer to platform / Escalate / Keep monitoring /
No action (false positive), with a required justification; the link is posted in the alert's
Slack thread) -> summarise.

Each review task acts on its own answer as soon as it arrives (referral package, escalation,
audit events), so one item never waits for another. With no answer within the team's response
time, Airflow's scheduler applies the default, ``Escalate``, and that is recorded as the
system's decision. Officers decide; nothing is sent to a platform automatically.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from socialhub.dag_defaults import default_args, notify_platform_team_of_run
from socialhub_airflow.access import access_control
from socialhub_airflow.assets import ALERTS, REVIEW_DRAIN_CRON


class AlertReviewOperator(HITLOperator):
    """One officer review of one alert; what it asks and does lives in ``socialhub_airflow.review``.

    Its mapped argument (``review``, an XCom of find_reviews) is the alert id and response time
    only; the page is built from the stored alert when the task runs, and the routing file's
    ``reviewers`` for the alert's team become its ``assigned_users``.
    """

    # subject and body quote post text written by the people being monitored: never render them
    # as Jinja templates ("{{ conn.… }}" in a post must stay text)
    template_fields = ()

    def __init__(self, *, review: dict, **kwargs) -> None:
        from socialhub_airflow.review import hitl_arguments

        super().__init__(**hitl_arguments(review), **kwargs)
        self.review = review

    def execute(self, context):  # noqa: ANN001
        from socialhub_airflow.review import start_review

        done = start_review(self, context)
        return done if done is not None else super().execute(context)

    def execute_complete(self, context, event):  # noqa: ANN001
        from socialhub_airflow.review import complete_review

        return complete_review(self, context, event)


@dag(
    dag_id="socialhub_review",
    access_control=access_control("socialhub_review"),
    # new alerts, or the hourly pick-up of any delivered alert not yet under review
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(REVIEW_DRAIN_CRON, timezone="UTC"),
                                 assets=[ALERTS]),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    # runs overlap: a run waits for people, and new alerts must not wait for it
    max_active_runs=8,
    # a run waits for people, but each review escalates itself after its team's response time
    # (routing.yaml response_minutes, default 30): a run still going after a day is stalled.
    # execution_timeout (default_args) bounds each task's own work, not the wait for an answer
    # (that is the HITL response_timeout), so no deadline alert here.
    dagrun_timeout=timedelta(days=1),
    on_failure_callback=notify_platform_team_of_run,
    default_args=default_args(),
    tags=["socialhub", "review"],
    doc_md=__doc__,
)
def socialhub_review():
    @task
    def find_reviews() -> list:
        from socialhub_airflow import review

        return review.find_reviews()

    reviews = AlertReviewOperator.partial(
        task_id="review",
        map_index_template="{{ task.review['alert_id'] }}",
    ).expand(review=find_reviews())

    @task(trigger_rule="all_done")
    def summarise(results, run_id=None):  # noqa: ANN001
        from socialhub_airflow import review

        return review.summarise(list(results or []), run_id)

    summarise(reviews.output)


socialhub_review()
