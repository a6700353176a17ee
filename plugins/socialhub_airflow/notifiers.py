"""Tell the platform team when a task fails (a bad batch, a broken connection, a bug).

Goes to the routing file's ``platform_team`` channel through the same sink as alerts
(Slack when its connection exists, else the local outbox). A failing notifier must never
hide the original failure, so it only logs its own errors.
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
        try:
            from socialhub.alerts.routing import Routing
            from socialhub_airflow import runtime
            from socialhub_airflow.hooks import get_alert_sink

            cfg = runtime.settings()
            channel = Routing.load(cfg.routing).platform_channel
            get_alert_sink(cfg.data_dir / "outbox").send_text(channel, text)
        except Exception:  # noqa: BLE001 - never mask the task's own failure
            log.exception("could not notify the platform team: %s", text)


def notify_platform_team(context: dict[str, Any]) -> None:
    PlatformTeamNotifier().notify(context)
