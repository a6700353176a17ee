"""Airflow side of the officer review: what each task of ``socialhub_review`` does.

The review page is Airflow's own human-in-the-loop page (standard provider ``HITLOperator``):
``AlertReviewOperator`` in ``dags/socialhub_review.py`` asks, this module supplies the question
(``hitl_arguments``), posts the link (``ReviewLinkNotifier``), checks and acts on the answer
(``complete_review``), and resumes a retried task without asking again (``start_review``).

What is stored where: the mapped argument of each review task (an XCom of ``find_reviews``) is
the alert id and the response time only. The review task loads the alert from the store by its
id and builds the page then (``prepare_question``): the subject, listed and searchable on the
Required Actions page, names the alert, its categories and the platform, with no post text or
account; the body, shown on the task's own page, has the post text (bounded), author, account,
authorisation and why it was flagged, because an officer cannot decide without reading them.
Airflow keeps subject and body in its ``hitl_detail`` table (see docs/production.md). Who may
answer comes from the routing file's ``reviewers`` (HITL ``assigned_users``).

Airflow's HITL internals are used only through ``socialhub_airflow.hitl``.

Imported only inside tasks, so parsing the DAG file stays cheap.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


def base_url() -> str | None:
    """The Airflow UI's public address, for links to review pages; ``None`` if there is none.

    ``SOCIALHUB_AIRFLOW_PUBLIC_URL`` (``none`` turns links off), else Airflow's ``[api] base_url``
    (see ``socialhub.alerts.links``). Without either, alerts and thread replies say where to look.
    """
    from socialhub.alerts.links import public_url

    try:
        from airflow.providers.common.compat.sdk import conf

        airflow_url = conf.get("api", "base_url", fallback=None)
    except Exception:  # noqa: BLE001 - outside Airflow: the environment's setting, if any
        airflow_url = os.environ.get("AIRFLOW__API__BASE_URL")
    return public_url(fallback=airflow_url)


def alert_review_url(alert_id: str) -> str | None:
    """The alert's Review button: Airflow's Required Actions page filtered to this alert.

    The alert is sent before its review task exists, so the link searches by the alert id
    (which every review subject contains) instead of naming a task; the review DAG then
    posts the exact task link in the alert's thread.
    """
    from socialhub.alerts.links import alert_review_url as review_url_for

    return review_url_for(alert_id, base_url())


def task_ref(context: dict[str, Any]) -> dict[str, Any]:
    ti = context["ti"]
    return {"dag_id": ti.dag_id, "run_id": context.get("run_id") or ti.run_id, "task_id": ti.task_id,
            "map_index": ti.map_index}


def review_link(context: dict[str, Any]) -> str | None:
    from socialhub_airflow.hitl import link_to_review

    url = base_url()
    return link_to_review(context, url) if url else None


def _sink() -> Any:
    from socialhub_airflow import runtime
    from socialhub_airflow.hooks import get_alert_sink

    return get_alert_sink(runtime.settings().data_dir / "outbox")


def _routing() -> Any:
    from socialhub.alerts.routing import Routing
    from socialhub_airflow import runtime

    return Routing.load(runtime.settings().routing)


# --- find_reviews -----------------------------------------------------------------------------

def find_reviews() -> list[dict[str, Any]]:
    """Alerts delivered but not yet under review, oldest first, bounded per run."""
    from socialhub.review.model import build_request, max_age_days, max_per_run, response_seconds
    from socialhub.review.store import ReviewError, load_alert_context, unclaimed_alerts
    from socialhub_airflow import runtime

    st, routing = runtime.store(), _routing()
    entries, stats = unclaimed_alerts(st, now=runtime.now(), limit=max_per_run(),
                                      max_age=timedelta(days=max_age_days()))
    requests = []
    for entry in entries:
        try:
            ctx = load_alert_context(st, entry["alert_id"])
        except ReviewError as exc:
            log.warning("alert %s cannot be reviewed: %s", entry["alert_id"], exc)
            continue
        requests.append(build_request(ctx.alert,
                                      response_seconds=response_seconds(routing, ctx.alert.force, ctx.alert.team)))
    log.info("%d alert(s) to review now; ledger %d, already reviewed/claimed %d, older than %g day(s) %d, "
             "left for the next run %d", len(requests), stats["ledger"], stats["claimed"], max_age_days(),
             stats["too_old"], stats["waiting"])
    return requests


# --- the review task --------------------------------------------------------------------------

class ReviewLinkNotifier(BaseNotifier):
    """Posts the review page's link into the alert's Slack thread (or the outbox) when the review opens.

    A failure here must not stop the review: the alert's own Review button still finds it.
    """

    template_fields = ()

    def notify(self, context: Any) -> None:
        try:
            from socialhub.review.actions import post_review_request
            from socialhub_airflow import runtime

            review = context["task"].review
            post_review_request(runtime.store(), review["alert_id"], sink=_sink(), routing=_routing(),
                                review_url=review_link(context), response_seconds=int(review["response_seconds"]),
                                now=runtime.now(), review_task=task_ref(context))
        except Exception:  # noqa: BLE001 - never block the review itself
            log.exception("could not post the review link for alert %s", getattr(context.get("task"), "review", {}))


def hitl_arguments(review: dict[str, Any]) -> dict[str, Any]:
    """The HITLOperator arguments for one review request (built by ``find_reviews``).

    The subject and body here are placeholders naming the alert: ``prepare_question`` replaces
    them, and sets the reviewers, from the store and the routing file when the task runs.
    """
    from airflow.sdk import Param

    from socialhub.review.model import (
        DEFAULT_OPTION,
        JUSTIFICATION_HELP,
        JUSTIFICATION_PARAM,
        OPTIONS,
        justification_schema,
    )

    return {
        "subject": f"Review alert {review['alert_id']}", "body": None, "options": list(OPTIONS),
        "defaults": [DEFAULT_OPTION], "multiple": False,
        "params": {JUSTIFICATION_PARAM: Param(None, description=JUSTIFICATION_HELP, **justification_schema())},
        "response_timeout": timedelta(seconds=int(review["response_seconds"])),
        "notifiers": [ReviewLinkNotifier()],
    }


def _act(decision: Any) -> dict[str, Any]:
    from socialhub.review.actions import act_on_decision
    from socialhub_airflow import runtime

    outcome = act_on_decision(runtime.store(), decision, sink=_sink(), routing=_routing(), now=runtime.now(),
                              organisation=os.environ.get("SOCIALHUB_ORGANISATION", ""))
    log.info("alert %s: %s by %s", decision.alert_id, decision.option, decision.decided_by)
    return outcome


def prepare_question(op: Any) -> None:
    """Fill in the review page (subject, body) and who may answer it, from the stored alert and the routing.

    Called before asking and before asking again; the operator is built afresh when a parked
    task resumes, so nothing of this is kept between the two.
    """
    from socialhub.review.model import review_question
    from socialhub.review.store import load_alert_context
    from socialhub_airflow import runtime
    from socialhub_airflow.hitl import assigned_user

    alert = load_alert_context(runtime.store(), op.review["alert_id"]).alert
    routing = _routing()
    route = routing.route_for(alert.force, alert.team)[0]
    question = review_question(alert, response_seconds=int(op.review["response_seconds"]),
                               escalation_channel=route.escalation, airflow_url=base_url())
    op.subject, op.body = question["subject"], question["body"]
    op.assigned_users = [assigned_user(r.id, r.name) for r in routing.reviewers_for(alert.force, alert.team)] or None


def start_review(op: Any, context: dict[str, Any]) -> dict[str, Any] | None:
    """Before asking: claim the alert; resume a decision a failed attempt already recorded.

    Returns the task's result when there is nothing to ask, ``None`` to go on and ask.
    """
    from socialhub.review.model import Decision
    from socialhub.review.store import claim, get_decision
    from socialhub_airflow import runtime

    alert_id = op.review["alert_id"]
    st = runtime.store()
    ours, owner = claim(st, alert_id, task_ref(context))
    if not ours:
        log.warning("alert %s is already under review in %s: not asking again", alert_id, owner)
        return {"alert_id": alert_id, "skipped": True, "claimed_by": owner}
    stored = get_decision(st, alert_id)
    if stored:
        log.info("alert %s was decided in an earlier attempt (%s): carrying it out", alert_id, stored.get("option"))
        return _act(Decision.from_dict(stored))
    prepare_question(op)
    return None


def complete_review(op: Any, context: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The answer (or the timeout default) arrived: check it, store it, act on it."""
    from socialhub.review.model import JUSTIFICATION_PARAM, Decision, check_justification
    from socialhub.review.store import record_decision
    from socialhub_airflow import hitl, runtime

    if "error" in event:
        return hitl.execute_complete(op, context, event)  # type: ignore[no-any-return]  # raises the provider's error
    timed_out = hitl.timed_out(event)
    params_input = dict(event.get("params_input") or {})
    if not timed_out:
        problem = check_justification(params_input.get(JUSTIFICATION_PARAM))
        if problem:
            _ask_again(op, context, f"response from {event.get('responded_by_user')} not accepted: {problem}")
    params_input.setdefault(JUSTIFICATION_PARAM, None)
    result = hitl.execute_complete(op, context, dict(event, params_input=params_input))
    decision = Decision.from_hitl(op.review["alert_id"], result, timed_out=timed_out,
                                  response_seconds=int(op.review["response_seconds"]),
                                  review_task=task_ref(context), review_url=review_link(context))
    record_decision(runtime.store(), decision.to_dict())
    return _act(decision)


def _ask_again(op: Any, context: dict[str, Any], why: str) -> None:
    """Clear the response and park the task again (the response timeout starts afresh)."""
    from socialhub_airflow.hitl import ask_again

    log.warning("alert %s: %s; asking again", op.review["alert_id"], why)
    prepare_question(op)     # a resumed task's operator was built afresh, with the placeholders
    ask_again(op, context)


# --- summary ----------------------------------------------------------------------------------

def review_counts(results: list[Any]) -> dict[str, Any]:
    """The per-run figures, with the words of ``socialhub.audit.outcomes``: a *decision* is an option an
    officer chose (``by_decision``, ``decisions``); a review nobody answered in time is no decision but a
    *timeout* (``timed_out``), escalated automatically; ``escalations`` counts both kinds
    (``escalations_automatic``, ``escalations_by_officer``); ``referrals`` are platform referral packages."""
    rows = [r for r in (results or []) if isinstance(r, dict)]
    done = [r for r in rows if not r.get("skipped")]
    answered = [r for r in done if not r.get("timed_out")]
    by_decision: dict[str, int] = {}
    for r in answered:
        by_decision[r.get("option", "?")] = by_decision.get(r.get("option", "?"), 0) + 1
    escalated = [r for r in done if r.get("escalated")]
    automatic = sum(1 for r in escalated if r.get("timed_out"))
    return {"reviews": len(rows), "skipped": len(rows) - len(done), "decisions": len(answered),
            "by_decision": dict(sorted(by_decision.items())),
            "timed_out": sum(1 for r in done if r.get("timed_out")),
            "referrals": sorted(r["referral"] for r in done if r.get("referral")),
            "escalations": len(escalated), "escalations_automatic": automatic,
            "escalations_by_officer": len(escalated) - automatic}


def summarise(results: list[Any], run_id: str) -> dict[str, Any]:
    from socialhub.models import canonical_json, utc_iso
    from socialhub.storage import layout
    from socialhub_airflow import runtime

    summary = {"run_id": run_id, "finished_at": utc_iso(runtime.now()), **review_counts(results)}
    runtime.store().put_state(layout.report_key("review", run_id), canonical_json(summary))
    log.info("review run %s: %s", run_id, summary)
    return summary
