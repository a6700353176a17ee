"""The alert ledger: the one place that decides whether an item was already alerted.

Two records per alert, both in the object store so they survive restarts and retries:

* ``alerts/intent/<id>.json`` is written just *before* sending;
* ``alerts/ledger/<id>.json`` (write-once) is written just *after* a confirmed delivery.

An intent without a ledger entry means a crash happened mid-send. The sink is then asked
whether the alert already arrived (the outbox can tell for certain) before anything is
sent again, so an item is never alerted twice and never silently skipped.
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from typing import Any

from socialhub.models import canonical_json
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore


def _intent_key(alert_id: str) -> str:
    return layout.ledger_key(alert_id).replace("alerts/ledger/", "alerts/intent/", 1)


class AlertLedger:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def delivered(self, alert_id: str) -> dict[str, Any] | None:
        data = self.store.get_or_none(layout.ledger_key(alert_id))
        return json.loads(data) if data else None

    def intended(self, alert_id: str) -> bool:
        return self.store.exists(_intent_key(alert_id))

    def mark_intent(self, alert_id: str, channel: str, at: str) -> None:
        self.store.put_state(_intent_key(alert_id), canonical_json({"alert_id": alert_id, "channel": channel,
                                                                   "at": at}))

    def record(self, alert_id: str, delivery: Any, *, batch_id: str, post_key: str, at: str) -> dict[str, Any]:
        entry = {"alert_id": alert_id, "post": post_key, "batch_id": batch_id, "recorded_at": at,
                 "delivery": asdict(delivery) if is_dataclass(delivery) and not isinstance(delivery, type)
                 else dict(delivery)}
        existing = self.delivered(alert_id)
        if existing:
            return existing
        self.store.put(layout.ledger_key(alert_id), canonical_json(entry), content_type="application/json")
        return entry
