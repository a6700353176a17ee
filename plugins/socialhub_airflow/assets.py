"""socialhub's assets, defined once here and imported by every DAG that produces or consumes them.

* ``BATCHES`` (``x-socialhub://batches``): new batches are in the durable queue. Emitted by
  ``socialhub_collect``'s ``announce_batches`` task; schedules ``socialhub_process``.
* ``ALERTS`` (``x-socialhub://alerts``): new alerts were delivered and await review. Emitted by
  ``socialhub_process``'s ``announce_alerts`` task; schedules ``socialhub_review``.

An asset event means "there is something new", not "a run happened": :func:`announce` emits it
only when the run produced something, with an ``extra`` that says what (counts and opaque batch
ids, never account names, post text or watchlist fields). An idle run skips the announcing task,
and Airflow records no event for a skipped task. The consuming DAGs also run on a time schedule
(``AssetOrTimeSchedule``) so that the durable queue is drained even when no event comes (a failed
run, a batch left pending).

Imported by the DAG files at parse time: it imports nothing but ``airflow.sdk`` (which the DAG
files import anyway) at module level.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset

BATCHES = Asset(name="socialhub_batches", uri="x-socialhub://batches")
ALERTS = Asset(name="socialhub_alerts", uri="x-socialhub://alerts")

# how often the consumers drain the queue when no asset event comes (cron, UTC)
PROCESS_DRAIN_CRON = "*/30 * * * *"
REVIEW_DRAIN_CRON = "10 * * * *"

MAX_IDS_IN_EXTRA = 100   # the queue is the record; the event only points at it


def new_batches(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``extra`` of a ``BATCHES`` event for a collect run's summary, or None if nothing is new."""
    summary = summary or {}
    ids = sorted(summary.get("batches") or [])
    if not ids:
        return None
    extra: dict[str, Any] = {"batches": len(ids), "posts": int(summary.get("posts_collected") or 0),
                             "batch_ids": ids[:MAX_IDS_IN_EXTRA]}
    if len(ids) > MAX_IDS_IN_EXTRA:
        extra["batch_ids_not_listed"] = len(ids) - MAX_IDS_IN_EXTRA
    if summary.get("run_id"):
        extra["collect_run_id"] = summary["run_id"]
    return extra


def new_alerts(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``extra`` of an ``ALERTS`` event for an alert task's summary, or None if no alert was delivered."""
    summary = summary or {}
    delivered = int(summary.get("delivered") or 0)
    if not delivered:
        return None
    return {"alerts": delivered, "digests": int(summary.get("digests") or 0),
            "batches_done": int(summary.get("batches_done") or 0)}


def announce(outlet_events: Any, asset: Asset, extra: dict[str, Any] | None) -> dict[str, Any]:
    """Emit ``asset``'s event with ``extra``, or skip the task (no event) when ``extra`` is None.

    Call it from a task whose only outlet is ``asset``: Airflow records an event for each outlet
    of a task that succeeds, and none for a task that is skipped."""
    if not extra:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(f"nothing new: no {asset.uri} event")
    outlet_events[asset].extra = extra
    return extra
