"""Every use of Airflow's human-in-the-loop *internals*, in this one module.

socialhub asks its review question with the standard provider's public ``HITLOperator``; on top
of that it relies on a few things that are not a public API and may change with a provider or
Task SDK release:

* ``airflow.sdk.execution_time.hitl.upsert_hitl_detail`` and ``airflow.sdk.exceptions.TaskAwaitingInput``,
  to clear a refused answer and park the task again (``ask_again``: an officer's answer without
  a proper justification is not accepted);
* the resume event's keys (``EVENT_KEYS``: what ``HITLDetail.as_resume_event_payload`` gives
  ``execute_complete``), in particular ``timedout``;
* the operator's attributes read back when asking again (``OPERATOR_ATTRIBUTES``);
* the shape of an assigned user (``HITLUser``: ``id`` and ``name``).

Nothing else in socialhub imports from ``airflow.sdk.execution_time`` or names these internals
(``tests/review/test_hitl_contract.py`` checks both, and that every signature and attribute
listed here still exists with the parameters used, so a provider bump that breaks one fails
that test rather than a review in production).

Imported only inside tasks (the DAG file subclasses the public ``HITLOperator`` only).
"""

from __future__ import annotations

from typing import Any, NoReturn

#: the parameters of ``upsert_hitl_detail`` that ``ask_again`` passes, by name
UPSERT_PARAMETERS: tuple[str, ...] = ("ti_id", "options", "subject", "body", "defaults", "multiple", "params",
                                      "assigned_users")
#: the keyword arguments ``TaskAwaitingInput`` is raised with
AWAITING_INPUT_PARAMETERS: tuple[str, ...] = ("method_name", "timeout")
#: the resume event's keys read by ``socialhub_airflow.review.complete_review``
EVENT_KEYS: tuple[str, ...] = ("chosen_options", "params_input", "responded_at", "responded_by_user", "timedout")
#: the ``HITLOperator`` attributes and methods socialhub reads, sets or calls
OPERATOR_ATTRIBUTES: tuple[str, ...] = ("options", "subject", "body", "defaults", "multiple", "serialized_params",
                                        "assigned_users", "response_timeout", "notifiers", "execute_complete",
                                        "generate_link_to_ui_from_context")
#: the ``HITLOperator`` constructor arguments ``socialhub_airflow.review.hitl_arguments`` passes
OPERATOR_PARAMETERS: tuple[str, ...] = ("subject", "options", "body", "defaults", "multiple", "params", "notifiers",
                                        "assigned_users", "response_timeout")
#: the keys of one assigned user (``airflow.sdk.execution_time.hitl.HITLUser``)
USER_KEYS: tuple[str, ...] = ("id", "name")


def operator_class() -> Any:
    from airflow.providers.standard.operators.hitl import HITLOperator

    return HITLOperator


def assigned_user(user_id: str, name: str | None = None) -> dict[str, str]:
    """One entry of ``assigned_users``: the Airflow user id (as the auth manager knows it) and a name."""
    return {"id": str(user_id), "name": str(name or user_id)}


def timed_out(event: dict[str, Any]) -> bool:
    """Whether the resume event is the scheduler's timeout sweep applying the defaults, not a person."""
    return bool(event.get("timedout")) or not event.get("responded_by_user")


def execute_complete(op: Any, context: Any, event: dict[str, Any]) -> Any:
    """The provider's own ``execute_complete`` (validates the answer; raises the provider's error events)."""
    return operator_class().execute_complete(op, context, event)


def link_to_review(context: Any, base_url: str) -> str | None:
    """The Required Actions page of the running review task, or ``None`` if the provider cannot build it."""
    try:
        return operator_class().generate_link_to_ui_from_context(context=context, base_url=base_url)  # type: ignore[no-any-return]
    except ValueError:
        return None


def ask_again(op: Any, context: Any) -> NoReturn:
    """Clear the response and park the task again, waiting for input (the response timeout starts afresh)."""
    from airflow.sdk.exceptions import TaskAwaitingInput
    from airflow.sdk.execution_time.hitl import upsert_hitl_detail

    upsert_hitl_detail(ti_id=context["task_instance"].id, options=op.options, subject=op.subject, body=op.body,
                       defaults=op.defaults, multiple=op.multiple, params=op.serialized_params,
                       assigned_users=op.assigned_users)
    raise TaskAwaitingInput(method_name="execute_complete", timeout=op.response_timeout)


__all__ = ["AWAITING_INPUT_PARAMETERS", "EVENT_KEYS", "OPERATOR_ATTRIBUTES", "OPERATOR_PARAMETERS",
           "UPSERT_PARAMETERS", "USER_KEYS", "ask_again", "assigned_user", "execute_complete", "link_to_review",
           "operator_class", "timed_out"]
