"""Contract test of the Airflow human-in-the-loop internals socialhub relies on (issue 13.6).

They are all used in one module, ``socialhub_airflow.hitl``, which lists them. A provider or Task
SDK release that renames a parameter, drops an attribute or changes the resume event fails here,
not in a review waiting for an officer in production.
"""

from __future__ import annotations

import inspect
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from socialhub_airflow import hitl

ROOT = Path(__file__).resolve().parents[2]
#: an import from the Task SDK's execution-time internals, or any name of its HITL parts (a module
#: merely *named* for a Celery worker to preload, socialhub_airflow.celery_config, uses none of them)
INTERNALS = re.compile(r"upsert_hitl_detail|TaskAwaitingInput|(?:from|import) airflow\.sdk\.execution_time|"
                       r"airflow\.sdk\.execution_time\.hitl|HITLTrigger|as_resume_event_payload|airflow\.models\.hitl")


def _operator(**over):
    from airflow.providers.standard.operators.hitl import HITLOperator

    kwargs = dict(task_id="review", subject="Review alert 0123", options=["A", "B"], body="body", defaults=["B"],
                  response_timeout=timedelta(minutes=5), assigned_users=[hitl.assigned_user("officer1", "DS One")])
    return HITLOperator(**dict(kwargs, **over))


def test_only_the_hitl_module_touches_the_internals():
    users = [str(p.relative_to(ROOT)) for folder in ("dags", "plugins", "include")
             for p in (ROOT / folder).rglob("*.py") if INTERNALS.search(p.read_text(encoding="utf-8"))]
    assert users == ["plugins/socialhub_airflow/hitl.py"]


def test_upsert_hitl_detail_takes_the_parameters_we_pass():
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail

    params = inspect.signature(upsert_hitl_detail).parameters
    missing = [p for p in hitl.UPSERT_PARAMETERS if p not in params]
    assert missing == []


def test_task_awaiting_input_parks_with_a_method_and_timeout():
    from airflow.sdk.exceptions import TaskAwaitingInput

    params = inspect.signature(TaskAwaitingInput.__init__).parameters
    assert all(p in params for p in hitl.AWAITING_INPUT_PARAMETERS)
    assert issubclass(TaskAwaitingInput, BaseException) and not issubclass(TaskAwaitingInput, Exception)


def test_operator_takes_and_keeps_what_we_use():
    from airflow.providers.standard.operators.hitl import HITLOperator

    params = inspect.signature(HITLOperator.__init__).parameters
    assert [p for p in hitl.OPERATOR_PARAMETERS if p not in params] == []
    op = _operator()
    assert [a for a in hitl.OPERATOR_ATTRIBUTES if not hasattr(op, a)] == []
    assert op.assigned_users == [{"id": "officer1", "name": "DS One"}]
    assert op.response_timeout == timedelta(minutes=5)


def test_assigned_user_has_the_sdk_shape():
    from airflow.sdk.execution_time.hitl import HITLUser

    assert tuple(HITLUser.__annotations__) == hitl.USER_KEYS
    assert set(hitl.assigned_user("x")) == set(hitl.USER_KEYS)


def test_the_resume_event_has_the_keys_we_read():
    from airflow.models.hitl import HITLDetail
    from airflow.providers.standard.triggers.hitl import HITLTriggerEventSuccessPayload

    assert set(hitl.EVENT_KEYS) <= set(HITLTriggerEventSuccessPayload.__annotations__)
    detail = HITLDetail(ti_id=uuid.uuid4(), options=["A", "B"], subject="s", chosen_options=["B"], params_input={},
                        responded_at=datetime(2026, 1, 1, tzinfo=UTC), responded_by={"id": "o", "name": "O"})
    payload = detail.as_resume_event_payload(timedout=True)
    assert set(hitl.EVENT_KEYS) <= set(payload)
    assert hitl.timed_out(payload) and not hitl.timed_out(dict(payload, timedout=False))
    # the provider's execute_complete accepts it and gives back what Decision.from_hitl reads
    result = hitl.execute_complete(_operator(), {}, dict(payload, timedout=False))
    assert result["chosen_options"] == ["B"] and result["responded_by_user"] == {"id": "o", "name": "O"}


def test_ask_again_rewrites_the_request_and_parks_the_task(monkeypatch):
    """``ask_again`` sends the same request the operator's own ``execute`` sends, then parks the task."""
    from airflow.sdk.exceptions import TaskAwaitingInput
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import CreateHITLDetailPayload

    sent = []

    class Comms:
        def send(self, msg):
            sent.append(msg)

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", Comms(), raising=False)

    class TI:
        id = uuid.uuid4()

    op = _operator()
    with pytest.raises(TaskAwaitingInput) as parked:
        hitl.ask_again(op, {"task_instance": TI})
    assert parked.value.method_name == "execute_complete" and parked.value.timeout == timedelta(minutes=5)
    (msg,) = sent
    assert isinstance(msg, CreateHITLDetailPayload)
    assert (msg.ti_id, msg.subject, msg.body, msg.options, msg.defaults) == (TI.id, op.subject, "body", ["A", "B"],
                                                                             ["B"])
    assert [(u.id, u.name) for u in msg.assigned_users] == [("officer1", "DS One")]
