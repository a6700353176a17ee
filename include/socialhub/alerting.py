"""The alert stage: every flagged post of a processed batch is delivered once, then the batch is done.

Bursts are folded: when one channel would get more than ``digest_threshold`` alerts in one
run, it gets a digest instead: every alert shown as an item, in as many messages (parts) as
Slack's limits need. Each part is sent and then recorded on its own: an item gets its ledger
entry (and is never alerted again) only once the message showing it was delivered, so a failure
between parts leaves the rest pending for the next run. ``summary["digests"]`` counts messages.

With a ``FallbackSink`` (Slack, then a webhook or email), an alert Slack would not take is
delivered through the fallback: its ledger entry and audit event name the fallback sink and
``fallback_reason``, and the summary counts them (``fallback_used``, ``fallback_reasons``) so the
caller can tell the platform team.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from socialhub.alerts.ledger import AlertLedger
from socialhub.alerts.model import Alert
from socialhub.audit.chain import record
from socialhub.models import canonical_json, from_jsonl, utc_iso
from socialhub.process import result_key
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)


def _flagged_alerts(store: ObjectStore, record: dict[str, Any],
                    review_url: Callable[[str], str | None] | None) -> list[tuple[Alert, str]]:
    """The alerts of a processed batch, each with its raw item's hash (for the audit event)."""
    key = record.get("outputs", {}).get("flagged")
    if not key:
        return []
    alerts = []
    for row in from_jsonl(store.get(key)):
        alert = Alert.from_post(row, row["classification"], force=row["force"], team=row["team"],
                                authorisation_ref=row["authorisation_ref"],
                                account_display_name=row.get("display_name", ""),
                                subject=row.get("subject", ""))
        if review_url:
            alert.review_url = review_url(alert.alert_id)
        alerts.append((alert, row.get("raw_sha256", "")))
    return alerts


def alert_batches(store: ObjectStore, batch_ids: list[str], *, sink: Any, routing: Any, now: datetime,
                  digest_threshold: int = 10, review_url: Callable[[str], str | None] | None = None,
                  auditor: Any = None) -> dict[str, Any]:
    """Deliver the alerts of processed batches and mark them done. Safe to run again.

    ``review_url`` gives each alert its Review link; without it the link comes from
    ``SOCIALHUB_AIRFLOW_PUBLIC_URL`` (``socialhub.alerts.links``), and with neither the alert says
    where to review instead of showing a link.
    """
    if review_url is None:
        from socialhub.alerts.links import alert_review_url, public_url

        base = public_url()
        review_url = (lambda alert_id: alert_review_url(alert_id, base)) if base else None
    ledger = AlertLedger(store)
    at = utc_iso(now)
    summary: dict[str, Any] = {"delivered": 0, "already_alerted": 0, "digests": 0, "deliveries": [],
                               "batches_done": 0, "fallback_used": 0, "fallback_reasons": {}}
    todo: list[tuple[str, Alert]] = []
    raw_hash: dict[str, str] = {}
    done_batches: list[tuple[str, dict[str, Any]]] = []
    for batch_id in batch_ids:
        raw = store.get_or_none(result_key(batch_id))
        if raw is None:
            continue  # not processed (failed task): stays pending for the next run
        record = json.loads(raw)
        if record["status"] != "processed":
            continue
        for alert, digest in _flagged_alerts(store, record, review_url):
            raw_hash[alert.alert_id] = digest
            if ledger.delivered(alert.alert_id):
                summary["already_alerted"] += 1
                continue
            todo.append((batch_id, alert))
        done_batches.append((batch_id, record))

    by_channel: dict[str, list[tuple[str, Alert]]] = {}
    for batch_id, alert in todo:
        by_channel.setdefault(routing.channel_for(alert), []).append((batch_id, alert))

    for channel, items in by_channel.items():
        pending: list[tuple[str, Alert]] = []
        for batch_id, alert in items:
            if ledger.intended(alert.alert_id):
                found = getattr(sink, "find_delivery", lambda *_: None)(alert, channel)
                if found is not None:  # delivered before a crash, just not recorded
                    ledger.record(alert.alert_id, found, batch_id=batch_id, post_key=alert.post_key, at=at)
                    # The crash came before this alert's audit event too: record it now, marked.
                    _audit_alert(auditor, alert, found, batch_id, raw_hash.get(alert.alert_id),
                                 digest=str(getattr(found, "key", "")).startswith("digest-"), recovered=True)
                    summary["already_alerted"] += 1
                    continue
            pending.append((batch_id, alert))
        if len(pending) > digest_threshold:
            from socialhub.alerts.blocks import render_digest_parts
            from socialhub.alerts.sinks import digest_team, send_digest_part

            batch_of = {alert.alert_id: batch_id for batch_id, alert in pending}
            parts = render_digest_parts([a for _, a in pending], digest_team([a for _, a in pending]))
            # Part by part: intent, send, then record exactly the alerts that part shows. A failure
            # (or crash) between parts leaves the alerts of the parts not yet sent unrecorded, and the
            # batches pending, so the next run sends them; a part sent but not recorded is found again
            # by the intent check above.
            for part in parts:
                for alert in part.alerts:
                    ledger.mark_intent(alert.alert_id, channel, at)
                delivery = send_digest_part(sink, part, channel)
                for alert in part.alerts:
                    batch_id = batch_of[alert.alert_id]
                    ledger.record(alert.alert_id, delivery, batch_id=batch_id, post_key=alert.post_key, at=at)
                    _audit_alert(auditor, alert, delivery, batch_id, raw_hash.get(alert.alert_id), digest=True)
                summary["digests"] += 1
                summary["delivered"] += len(part.alerts)
                summary["deliveries"].append(_where(delivery, len(part.alerts)))
                _count_fallback(summary, delivery, len(part.alerts))
            continue
        for batch_id, alert in pending:
            ledger.mark_intent(alert.alert_id, channel, at)
            delivery = sink.send(alert, channel)
            ledger.record(alert.alert_id, delivery, batch_id=batch_id, post_key=alert.post_key, at=at)
            _audit_alert(auditor, alert, delivery, batch_id, raw_hash.get(alert.alert_id), digest=False)
            summary["delivered"] += 1
            summary["deliveries"].append(_where(delivery, 1))
            _count_fallback(summary, delivery, 1)

    for batch_id, _record in done_batches:
        if not store.exists(layout.queue_key("done", batch_id)):
            manifest = json.loads(store.get(layout.queue_key("pending", batch_id)))["manifest"] \
                if store.exists(layout.queue_key("pending", batch_id)) else ""
            store.put(layout.queue_key("done", batch_id),
                      canonical_json({"batch_id": batch_id, "manifest": manifest, "done_at": at}),
                      content_type="application/json")
        store.delete(layout.queue_key("pending", batch_id))
        summary["batches_done"] += 1
    return summary


def _count_fallback(summary: dict[str, Any], delivery: Any, count: int) -> None:
    reason = _where(delivery, count).get("fallback_reason")
    if reason:
        summary["fallback_used"] += count
        summary["fallback_reasons"][reason] = summary["fallback_reasons"].get(reason, 0) + count


def _audit_alert(auditor: Any, alert: Alert, delivery: Any, batch_id: str, raw_sha256: str | None, *,
                 digest: bool, recovered: bool = False) -> None:
    where = _where(delivery, 1)
    details = {"post": alert.post_key, "batch_id": batch_id, "team": alert.team, "labels": alert.labels,
               "severity": alert.severity, "sink": where["sink"], "channel": where["channel"],
               "location": where["location"], "digest": digest, "authorisation_ref": alert.authorisation_ref}
    if alert.subject:   # the account's subject category (absent for data from before it existed)
        details["subject"] = alert.subject
    if where.get("fallback_reason"):
        details["fallback_reason"] = where["fallback_reason"]
    if recovered:
        details["recovered"] = "delivered before a crash, found in the sink and recorded on the next run"
    record(auditor, "alert", f"alert:{alert.alert_id}", force=alert.force,
           hashes={"post_raw": raw_sha256} if raw_sha256 else {}, details=details)


def _where(delivery: Any, count: int) -> dict[str, Any]:
    d = delivery if isinstance(delivery, dict) else {k: getattr(delivery, k, None)
                                                       for k in ("sink", "channel", "location", "ts",
                                                                 "fallback_reason")}
    where = {"sink": d.get("sink"), "channel": d.get("channel"), "location": d.get("location"), "items": count}
    if d.get("fallback_reason"):
        where["fallback_reason"] = d["fallback_reason"]
    return where
