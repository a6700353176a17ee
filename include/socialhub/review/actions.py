"""Act on a review decision, once, and record every step in the audit trail.

For every decision: a ``review_response`` audit event (actor: the officer, or the system for a
timeout, with the reason) and a note in the alert's thread. Then, by option:

* **Refer to platform**: the referral package (``bundle.py``), its record in the referral register
  (``socialhub.referrals.register``: once per platform post; a second referral of the same post
  gets the existing one back), a ``referral`` audit event (``details.kind = "platform"``, with the
  referral id) and its location posted to the alert's thread;
* **Escalate** (chosen, or by timeout): the full alert posted to the route's escalation
  channel and a ``referral`` audit event (``details.kind = "escalation"``, onward referral to
  supervisors) naming where it was delivered;
* **Keep monitoring** / **No action (false positive)**: nothing more.

Each step is remembered in ``review/state/<alert_id>.json`` after it succeeds, so a retried
task resumes where it failed and does not repeat what was done (a crash exactly between a step
and its record may repeat that one step: at least once, never lost).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from socialhub.audit.chain import AuditLog, event_id
from socialhub.models import utc_iso
from socialhub.referrals.register import register_referral
from socialhub.review import messages
from socialhub.review.bundle import build_referral
from socialhub.review.model import Decision
from socialhub.review.store import AlertContext, ReviewError, get_state, load_alert_context, put_state
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)


def _where(delivery: Any) -> dict[str, Any]:
    d = delivery if isinstance(delivery, dict) else {k: getattr(delivery, k, None)
                                                       for k in ("sink", "channel", "message_id", "location",
                                                                 "sent_at")}
    return {k: d.get(k) for k in ("sink", "channel", "message_id", "location", "sent_at")}


def post_review_request(store: ObjectStore, alert_id: str, *, sink: Any, routing: Any, review_url: str | None,
                        response_seconds: int, now: datetime, review_task: dict[str, Any]) -> dict[str, Any] | None:
    """Post the review link in the alert's thread, once per review task. Returns the delivery."""
    state = get_state(store, alert_id)
    task_ref = {k: review_task.get(k) for k in ("dag_id", "run_id", "task_id", "map_index")}
    done = state.get("request")
    if done and done.get("review_task") == task_ref:
        return done.get("delivery")
    ctx = load_alert_context(store, alert_id)
    route = routing.route_for(ctx.alert.force, ctx.alert.team)[0]
    from datetime import timedelta

    due = utc_iso(now + timedelta(seconds=response_seconds))
    payload = messages.review_request_payload(ctx.alert, review_url=review_url, response_seconds=response_seconds,
                                              due_at=due, escalation_channel=route.escalation)
    delivery = messages.send(sink, payload, ctx.delivery.get("channel") or route.on_duty,
                             key=messages.message_key("request", alert_id), thread=ctx.thread(),
                             record={"kind": "review_request", "alert_id": alert_id})
    state["request"] = {"review_task": task_ref, "review_url": review_url, "requested_at": utc_iso(now),
                        "due_at": due, "response_seconds": response_seconds, "delivery": _where(delivery)}
    put_state(store, state)
    return state["request"]["delivery"]


def act_on_decision(store: ObjectStore, decision: Decision, *, sink: Any, routing: Any, now: datetime,
                    organisation: str = "", audit: Callable[..., Any] | None = None,
                    policies: Any = None) -> dict[str, Any]:
    """Record the decision and carry it out (see the module docstring). Safe to call again.

    ``policies``: the referral policies (``socialhub.referrals.policies``; default: the configured file)."""
    append = audit or AuditLog(store).append
    ctx: AlertContext = load_alert_context(store, decision.alert_id)
    alert = ctx.alert
    state = get_state(store, decision.alert_id)
    route = routing.route_for(alert.force, alert.team)[0]
    actor = decision.actor()
    thread = ctx.thread()
    outcome: dict[str, Any] = {"alert_id": alert.alert_id, "option": decision.option, "decision": decision.code,
                               "timed_out": decision.timed_out, "decided_by": decision.decided_by,
                               "responded_at": decision.responded_at}

    def mark(step: str, value: Any) -> None:
        state[step] = value
        put_state(store, state)

    def send_step(step: str, payload: dict[str, Any], channel: str, *, key: str,
                  thread: tuple[str, str, str] | None = None, record: dict[str, Any] | None = None) -> dict[str, Any]:
        """Post one review message at most once across retries: the intent is recorded before the
        send; a retry that finds the intent without the delivery (a crash in between) looks the
        message up by its key (outbox file, Slack channel history) before posting again."""
        intent = f"{step}_intent"
        found = None
        if intent in state:
            finder = getattr(sink, "find_payload", None)
            in_thread = thread is not None and thread[0] == getattr(sink, "name", "") and thread[1]
            found = finder(key, thread[1] if in_thread and thread else channel) if finder else None
        else:
            mark(intent, utc_iso(now))
        delivery = found or messages.send(sink, payload, channel, key=key, thread=thread, record=record)
        mark(step, _where(delivery))
        return state[step]  # type: ignore[no-any-return]

    if "response_event" not in state:
        request = state.get("request") or {}
        ev = append("review_response", actor=actor, obj=f"alert:{alert.alert_id}", force=alert.force,
                    justification=decision.justification,
                    hashes={"post_raw": ctx.row["raw_sha256"]} if ctx.row.get("raw_sha256") else {},
                    details={"alert_id": alert.alert_id, "post": alert.post_key, "outcome": decision.option,
                             "decision": decision.code, "timed_out": decision.timed_out,
                             "responded_at": decision.responded_at, "response_seconds": decision.response_seconds,
                             "team": alert.team, "review_task": decision.review_task,
                             "review_requested_at": request.get("requested_at"),
                             "review_request_delivery": request.get("delivery"),
                             "alert_delivery": _where(ctx.delivery)})
        mark("response_event", event_id(ev) if isinstance(ev, dict) else True)

    extra = ""
    if decision.code == "refer":
        if "referral" not in state:
            bundle = build_referral(store, ctx, decision, now=now, organisation=organisation)
            registered = register_referral(store, ctx, decision, bundle=bundle, now=now, policies=policies,
                                           organisation=organisation)
            files = {f["name"]: f["sha256"] for f in bundle.files}
            append("referral", actor=actor, obj=f"alert:{alert.alert_id}", force=alert.force,
                   justification=decision.justification,
                   hashes={"manifest": _sha(store, bundle.manifest_key), **{f"file:{k}": v for k, v in files.items()}},
                   details={"kind": "platform", "alert_id": alert.alert_id, "post": alert.post_key,
                            "location": bundle.uri, "manifest": bundle.manifest_key,
                            "files": sorted(files), "permalink": bundle.manifest.get("permalink"),
                            "referral_id": registered.referral.referral_id,
                            "channel": registered.referral.record.get("channel")})
            mark("referral", {"prefix": bundle.prefix, "uri": bundle.uri, "manifest": bundle.manifest_key,
                              "files": bundle.files})
            mark("register", {"referral_id": registered.referral.referral_id, "created": registered.created,
                              "note": registered.note})
        if "register" not in state:   # a referral made before the register existed, or a crash in between
            from socialhub.review.bundle import existing_bundle

            bundle_done = existing_bundle(store, alert.alert_id)
            if bundle_done is None:
                raise ReviewError(f"alert {alert.alert_id}: the referral package is missing; it cannot be registered")
            registered = register_referral(store, ctx, decision, bundle=bundle_done, now=now, policies=policies,
                                           organisation=organisation)
            if registered.created:
                append("referral_update", actor=actor, obj=f"referral:{registered.referral.referral_id}",
                       force=alert.force, justification=decision.justification,
                       details={"referral_id": registered.referral.referral_id, "alert_id": alert.alert_id,
                                "change": "registered", "to": "open"})
            mark("register", {"referral_id": registered.referral.referral_id, "created": registered.created,
                              "note": registered.note})
        ref = state["referral"]
        outcome["referral"] = ref["uri"]
        outcome["referral_id"] = state["register"]["referral_id"]
        outcome["referral_note"] = state["register"]["note"]
        if "referral_posted" not in state:
            payload = messages.referral_payload(alert, decision, location=ref["uri"],
                                                files=[f for f in ref["files"]])
            send_step("referral_posted", payload, ctx.delivery.get("channel") or route.on_duty,
                      key=messages.message_key("referral", alert.alert_id), thread=thread,
                      record={"kind": "referral", "alert_id": alert.alert_id})
        outcome["referral_posted"] = state["referral_posted"]
    elif decision.code == "escalate":
        if "escalation_posted" not in state and "escalated" not in state:
            payload = messages.escalation_payload(alert, decision, review_url=decision.review_url)
            send_step("escalation_posted", payload, route.escalation,
                      key=messages.message_key("escalation", alert.alert_id),
                      record={"kind": "escalation", "alert_id": alert.alert_id})
        if "escalated" not in state:
            where = state["escalation_posted"]
            append("referral", actor=actor, obj=f"alert:{alert.alert_id}", force=alert.force,
                   justification=decision.justification,
                   details={"kind": "escalation", "alert_id": alert.alert_id, "post": alert.post_key,
                            "timed_out": decision.timed_out, "channel": route.escalation, "delivery": where})
            mark("escalated", where)
        outcome["escalated"] = state["escalated"]
        extra = f"Posted to the escalation channel {route.escalation}."

    if decision.code in ("refer", "escalate") and not decision.timed_out and "hashlisted" not in state:
        # the media of what an officer referred or escalated goes on the hub's hash list
        from socialhub.media.grow import HUB_LIST, add_decision_media

        post = dict(ctx.row) if ctx.row.get("media_captured") else dict(alert.post)
        added = add_decision_media(store, post=post, labels=list(alert.labels), decision=decision.code,
                                   alert_id=alert.alert_id, referral_id=outcome.get("referral_id") or "", now=now)
        if added:
            append("hashlist_change", actor=actor, obj=f"hashlist:{HUB_LIST}", force=alert.force,
                   justification=f"media of a post {'referred' if decision.code == 'refer' else 'escalated'} by "
                                 "an officer",
                   details={"change": "added", "list": HUB_LIST, "alert_id": alert.alert_id, "post": alert.post_key,
                            "referral_id": outcome.get("referral_id"), "entries": added})
        mark("hashlisted", len(added))
    if "outcome_posted" not in state:
        send_step("outcome_posted", messages.outcome_payload(alert, decision, extra=extra),
                  ctx.delivery.get("channel") or route.on_duty,
                  key=messages.message_key("outcome", alert.alert_id), thread=thread,
                  record={"kind": "review_outcome", "alert_id": alert.alert_id})
    if "finished_at" not in state:
        mark("finished_at", utc_iso(now))
    return outcome


def _sha(store: ObjectStore, key: str) -> str:
    from socialhub.models import sha256_hex

    return sha256_hex(store.get(key))
