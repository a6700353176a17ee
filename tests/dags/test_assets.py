"""An asset event means "something new": the announcing tasks emit it only then, saying what is new
and nothing about the people watched."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowSkipException
from airflow.sdk.execution_time.context import OutletEventAccessors
from airflow.sdk.execution_time.task_runner import _serialize_outlet_events

from socialhub_airflow.assets import ALERTS, BATCHES, MAX_IDS_IN_EXTRA, announce, new_alerts, new_batches

# what finish_collection returns for an idle 5-minute run: accounts polled, nothing new
IDLE_COLLECT = {"accounts_polled": 12, "accounts_ok": 11, "posts_collected": 0, "batches": [], "recovered": [],
                "accounts_failed": ["mastodon:someone_watched: HTTP 503"],
                "accounts_lapsed": [{"key": "x:lapsed_person", "authorisation_ref": "AUTH-9", "owner": "DS Owner",
                                     "review_by": "2026-01-01", "force": "force-a"}],
                "run_id": "scheduled__2026-12-03T14:05:00+00:00"}
BUSY_COLLECT = dict(IDLE_COLLECT, posts_collected=7, batches=["b2" * 12, "a1" * 12])


def _emitted(events: OutletEventAccessors) -> list[dict]:
    """What the task runner sends to the API server for the task's outlets (besides the outlets themselves)."""
    return list(_serialize_outlet_events(events))


def test_an_idle_collect_run_emits_no_batches_event():
    events = OutletEventAccessors()
    assert new_batches(IDLE_COLLECT) is None
    with pytest.raises(AirflowSkipException, match="nothing new"):   # skipped task: Airflow records no event
        announce(events, BATCHES, new_batches(IDLE_COLLECT))
    assert _emitted(events) == []
    assert new_batches(None) is None and new_batches({}) is None


def test_new_batches_are_announced_with_what_is_new_and_no_personal_data():
    events = OutletEventAccessors()
    extra = announce(events, BATCHES, new_batches(BUSY_COLLECT))
    assert extra == {"batches": 2, "posts": 7, "batch_ids": ["a1" * 12, "b2" * 12],
                     "collect_run_id": IDLE_COLLECT["run_id"]}
    (event,) = _emitted(events)
    assert event["dest_asset_key"]["name"] == BATCHES.name and event["extra"] == extra
    text = json.dumps(event)
    for personal in ("someone_watched", "lapsed_person", "AUTH-9", "DS Owner", "force-a"):
        assert personal not in text


def test_batch_ids_in_an_event_are_bounded():
    ids = [f"{i:024d}" for i in range(MAX_IDS_IN_EXTRA + 5)]
    extra = new_batches(dict(BUSY_COLLECT, batches=ids))
    assert extra["batches"] == len(ids) and len(extra["batch_ids"]) == MAX_IDS_IN_EXTRA
    assert extra["batch_ids_not_listed"] == 5


def test_alerts_event_only_when_alerts_were_delivered():
    idle = {"delivered": 0, "already_alerted": 3, "digests": 0, "deliveries": [], "batches_done": 0,
            "fallback_used": 0, "fallback_reasons": {}}
    events = OutletEventAccessors()
    with pytest.raises(AirflowSkipException):
        announce(events, ALERTS, new_alerts(idle))
    with pytest.raises(AirflowSkipException):
        announce(events, ALERTS, new_alerts(None))      # the alert task failed: no summary
    assert _emitted(events) == []
    busy = dict(idle, delivered=4, digests=1, batches_done=2,
                deliveries=[{"sink": "slack", "channel": "#force-a", "count": 4}])
    extra = announce(events, ALERTS, new_alerts(busy))
    assert extra == {"alerts": 4, "digests": 1, "batches_done": 2}
    assert [e["extra"] for e in _emitted(events)] == [extra]
