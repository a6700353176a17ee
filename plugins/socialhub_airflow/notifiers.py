"""Tell the platform team when a task fails (a bad batch, a broken connection, a bug).

Goes to the routing file's ``platform_team`` channel through the same sink as alerts
(Slack when its connection exists, with its webhook/email fallback if configured, else the local
outbox). A failing notifier must never hide the original failure, so it only logs its own errors.
``tell_platform_team`` is the same without a task context (the alert task uses it when alerts
went through the fallback; the staleness check and the deadline alerts use it too).
``notify_platform_team_of_run`` is the DAG-level callback: a failed or timed-out run.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


class PlatformTeamNotifier(BaseNotifier):
    template_fields = ("message",)

    def __init__(self, message: str = "") -> None:
        super().__init__()
        self.message = message

    def notify(self, context: Any) -> None:
        ti = context.get("task_instance") or context.get("ti")
        exc = context.get("exception")
        text = self.message or (
            f"socialhub task failed: {getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}"
            f"[{getattr(ti, 'map_index', -1)}] run {context.get('run_id', '?')}: {exc}"
        )
        tell_platform_team(text)


def tell_platform_team(text: str, sink: Any = None) -> Any:
    """Post ``text`` to the platform team's channel; the Delivery, or None (logged) if that failed.

    ``sink`` defaults to the alert sink from the Connections (Slack, with its fallback if one is
    configured). Pass the sink that just fell back so the notice does not wait on Slack again.
    """
    try:
        from socialhub.alerts.routing import Routing
        from socialhub_airflow import runtime
        from socialhub_airflow.hooks import get_alert_sink

        cfg = runtime.settings()
        channel = Routing.load(cfg.routing).platform_channel
        return (sink if sink is not None else get_alert_sink(cfg.data_dir / "outbox")).send_text(channel, text)
    except Exception:  # noqa: BLE001 - never mask the task's own failure
        log.exception("could not notify the platform team: %s", text)
        return None


def notify_platform_team(context: dict[str, Any]) -> None:
    PlatformTeamNotifier().notify(context)


def run_failure_text(context: dict[str, Any]) -> str:
    """The DAG-level failure message: which run, and why (``timed_out`` when ``dagrun_timeout`` passed)."""
    dag_run = context.get("dag_run")
    dag = context.get("dag")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(dag, "dag_id", None) or "?"
    run_id = getattr(dag_run, "run_id", None) or context.get("run_id", "?")
    reason = str(context.get("reason") or "unknown")
    text = f"socialhub DAG run failed: {dag_id} run {run_id} ({reason})"
    if reason == "timed_out":
        timeout = getattr(dag, "dagrun_timeout", None)
        text += (f": it did not finish within its dagrun_timeout{f' of {timeout}' if timeout else ''}; its unfinished "
                 f"tasks were stopped. Look for a stalled task (a missing pool, a hung API call) before the next run.")
    return text


def notify_platform_team_of_run(context: dict[str, Any]) -> None:
    """DAG-level ``on_failure_callback``: one message per failed run, including runs that timed out."""
    tell_platform_team(run_failure_text(context))
