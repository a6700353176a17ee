"""Where reviews live in the object store, which alerts still need one, and an alert's evidence.

    review/claims/<alert_id>.json      write-once: which review task owns the alert (never two)
    review/decisions/<alert_id>.json   write-once: the decision (officer or timeout), final
    review/state/<alert_id>.json       mutable: the steps done (request posted, audited, escalated...)
    referrals/<alert_id>/...           the referral package (see ``bundle.py``)
    reports/review/<run_id>.json       per-run summary

An alert needs a review when the ledger (``alerts/ledger/``) holds it and no claim exists.
A claim is created by the review task itself, write-once, so two overlapping review runs that
list the same alert cannot both ask about it: the second finds the first's claim and skips.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from socialhub.alerts.ledger import AlertLedger
from socialhub.alerts.model import Alert, alert_id_for, is_alert_id
from socialhub.errors import ImmutableObjectError, SocialhubError
from socialhub.models import canonical_json, from_jsonl, parse_iso
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore, key_segment

log = logging.getLogger(__name__)

LEDGER_PREFIX = "alerts/ledger/"
CLAIMS = "review/claims/"
DECISIONS = "review/decisions/"
STATE = "review/state/"
REFERRALS = "referrals/"


class ReviewError(SocialhubError):
    """A review cannot go ahead (missing evidence, a conflicting decision)."""


def claim_key(alert_id: str) -> str:
    return f"{CLAIMS}{key_segment(alert_id)}.json"


def decision_key(alert_id: str) -> str:
    return f"{DECISIONS}{key_segment(alert_id)}.json"


def state_key(alert_id: str) -> str:
    return f"{STATE}{key_segment(alert_id)}.json"


def referral_prefix(alert_id: str) -> str:
    return f"{REFERRALS}{key_segment(alert_id)}/"


def _id_of(key: str, prefix: str) -> str:
    return key[len(prefix):].removesuffix(".json")


def unclaimed_alerts(store: ObjectStore, *, now: datetime, limit: int, max_age: timedelta
                     ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Ledger entries with no review claim, oldest delivery first, at most ``limit``.

    Alerts delivered more than ``max_age`` ago are not offered (an old backlog, e.g. from before
    reviews were switched on, must not flood the on-duty team); they are counted in ``stats``.
    """
    claimed = {_id_of(k, CLAIMS) for k in store.list(CLAIMS)}
    stats = {"ledger": 0, "claimed": 0, "too_old": 0, "offered": 0, "waiting": 0}
    entries = []
    for key in store.list(LEDGER_PREFIX):
        stats["ledger"] += 1
        alert_id = _id_of(key, LEDGER_PREFIX)
        if alert_id in claimed:
            stats["claimed"] += 1
            continue
        if not is_alert_id(alert_id):
            continue
        entry = json.loads(store.get(key))
        at = entry.get("recorded_at") or (entry.get("delivery") or {}).get("sent_at") or ""
        try:
            when = parse_iso(at)
        except ValueError:
            when = now
        if now - when > max_age:
            stats["too_old"] += 1
            continue
        entries.append((at, alert_id, entry))
    entries.sort(key=lambda t: (t[0], t[1]))
    stats["offered"] = min(limit, len(entries))
    stats["waiting"] = len(entries) - stats["offered"]
    return [e for _, _, e in entries[:limit]], stats


def claim(store: ObjectStore, alert_id: str, owner: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Claim the review of ``alert_id`` for ``owner`` (dag/run/task/map index). Returns (ours, claim).

    The claim's content is deterministic, so a retry of the same task re-claims idempotently;
    a different run finds someone else's claim and must not ask again.
    """
    body = {"alert_id": alert_id, **{k: owner.get(k) for k in ("dag_id", "run_id", "task_id", "map_index")}}
    try:
        store.put(claim_key(alert_id), canonical_json(body), content_type="application/json")
    except ImmutableObjectError:
        pass
    existing = json.loads(store.get(claim_key(alert_id)))
    return existing == body, existing


def get_state(store: ObjectStore, alert_id: str) -> dict[str, Any]:
    raw = store.get_or_none(state_key(alert_id))
    return json.loads(raw) if raw else {"alert_id": alert_id}


def put_state(store: ObjectStore, state: dict[str, Any]) -> None:
    store.put_state(state_key(state["alert_id"]), canonical_json(state))


def get_decision(store: ObjectStore, alert_id: str) -> dict[str, Any] | None:
    raw = store.get_or_none(decision_key(alert_id))
    return json.loads(raw) if raw else None


def record_decision(store: ObjectStore, decision: dict[str, Any]) -> dict[str, Any]:
    """Store the decision write-once. The first decision stands: a different one is refused."""
    try:
        store.put(decision_key(decision["alert_id"]), canonical_json(decision), content_type="application/json")
    except ImmutableObjectError:
        existing = get_decision(store, decision["alert_id"]) or {}
        raise ReviewError(
            f"alert {decision['alert_id']} was already decided ({existing.get('option')!r} by "
            f"{(existing.get('responded_by') or {}).get('name') or 'the review timeout'} at "
            f"{existing.get('responded_at')}); decisions are final",
            hint="record a correction by hand in the audit log; the stored decision is not replaced") from None
    return decision


@dataclass
class AlertContext:
    """An alert and the evidence behind it, read back from the store."""

    alert: Alert
    ledger: dict[str, Any]       # the ledger entry: batch, post, delivery (where and when alerted)
    row: dict[str, Any]          # the flagged row: normalised post + classification + watchlist context
    manifest: dict[str, Any]     # the batch manifest (the commit record of the collection)
    manifest_key: str

    @property
    def delivery(self) -> dict[str, Any]:
        return self.ledger.get("delivery") or {}

    def thread(self) -> tuple[str, str, str] | None:
        """(sink, channel, message id) of the alert's message, to reply in its thread."""
        d = self.delivery
        if not d.get("message_id") or not d.get("sink"):
            return None
        channel = d.get("channel") or ""
        location = str(d.get("location") or "")
        if d["sink"] == "slack" and location.startswith("slack:") and "/" in location:
            channel = location[len("slack:"):].split("/", 1)[0] or channel   # Slack's channel id
        return str(d["sink"]), str(channel), str(d["message_id"])


def load_alert_context(store: ObjectStore, alert_id: str) -> AlertContext:
    from socialhub.process import result_key

    ledger = AlertLedger(store).delivered(alert_id)
    if not ledger:
        raise ReviewError(f"alert {alert_id} is not in the alert ledger (never delivered)")
    batch_id = ledger["batch_id"]
    result_raw = store.get_or_none(result_key(batch_id))
    if not result_raw:
        raise ReviewError(f"alert {alert_id}: the result of batch {batch_id} is missing")
    flagged_key = json.loads(result_raw).get("outputs", {}).get("flagged")
    rows = from_jsonl(store.get(flagged_key)) if flagged_key and store.exists(flagged_key) else []
    row = next((r for r in rows if alert_id_for(r.get("platform", ""), str(r.get("post_id", ""))) == alert_id),
               None)
    if row is None:
        raise ReviewError(f"alert {alert_id}: its post is not among the flagged posts of batch {batch_id}",
                          hint="the batch's content may have been erased under the retention policy")
    manifest_key = ""
    for qstate in ("done", "pending", "held"):
        marker = store.get_or_none(layout.queue_key(qstate, batch_id))
        if marker:
            manifest_key = json.loads(marker).get("manifest") or ""
            if manifest_key:
                break
    manifest = json.loads(store.get(manifest_key)) if manifest_key and store.exists(manifest_key) else {}
    alert = Alert.from_post(row, row["classification"], force=row["force"], team=row["team"],
                            authorisation_ref=row["authorisation_ref"],
                            account_display_name=row.get("display_name", ""),
                            subject=row.get("subject", ""))
    return AlertContext(alert=alert, ledger=ledger, row=row, manifest=manifest, manifest_key=manifest_key)
