"""An append-only audit log that an auditor can verify.

Every event is one write-once object ``audit/events/<seq>.json`` holding the event, the hash
of the previous event (``prev``) and its own hash (``hash`` = SHA-256 of the canonical event
without ``hash``). Appending is a conditional create of the next sequence number: if two
writers race for the same number, one loses (``ImmutableObjectError``) and retries with the
next, so the chain stays linear without a lock server. ``audit/head.json`` is only a hint
to find the end quickly; verification never trusts it beyond "at least this many events
existed", which is how deleting the newest events is caught.

Tampering with an event breaks its hash; deleting one leaves a gap; reordering or replacing
breaks ``prev``. ``verify_chain`` names the first event where any of that happens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from socialhub.errors import ImmutableObjectError
from socialhub.models import canonical_json, sha256_hex, utc_iso
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

PREFIX = "audit/events/"
HEAD = "audit/head.json"
GENESIS = "0" * 64

ACTIONS = frozenset({
    "collect", "collect_failed", "authorisation_lapsed", "quality_reject", "quality_hold", "classify", "alert",
    "alert_failed", "review_response", "referral", "export", "watchlist_change", "deletion", "erasure_pending",
    "legal_hold", "access", "report", "reminder", "classifier_register", "classifier_promote", "reclassify",
})


def event_key(seq: int) -> str:
    return f"{PREFIX}{seq:012d}.json"


def event_hash(event: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({k: v for k, v in event.items() if k != "hash"}))


@dataclass
class AuditLog:
    store: ObjectStore
    max_retries: int = 1000
    _tail: tuple[int, str] | None = field(default=None, repr=False, compare=False)

    def _head_hint(self) -> int:
        raw = self.store.get_or_none(HEAD)
        return int(json.loads(raw)["seq"]) if raw else -1

    def _last(self) -> tuple[int, str]:
        """The last event's (seq, hash), found from the head hint and probed forward."""
        seq = self._head_hint()
        if seq >= 0 and not self.store.exists(event_key(seq)):
            keys = self.store.list(PREFIX)  # hint is ahead of reality (events deleted?): fall back to listing
            seq = int(keys[-1][len(PREFIX):-5]) if keys else -1
        while self.store.exists(event_key(seq + 1)):
            seq += 1
        if seq < 0:
            return -1, GENESIS
        return seq, json.loads(self.store.get(event_key(seq)))["hash"]

    def append(self, action: str, *, actor: dict[str, Any], obj: str, force: str | None = None,
               justification: str | None = None, hashes: dict[str, str] | None = None,
               details: dict[str, Any] | None = None, at: datetime | None = None) -> dict[str, Any]:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        body = {
            "time": utc_iso(at or datetime.now(UTC)), "actor": actor, "action": action, "object": obj,
            "force": force, "justification": justification, "hashes": hashes or {}, "details": details or {},
        }
        for _ in range(self.max_retries):
            # this writer's own last event is the end unless another writer appended since: then
            # the create below fails and the end is looked up again
            seq, prev = self._tail if self._tail is not None else self._last()
            self._tail = None
            event = {"seq": seq + 1, "prev": prev, **body}
            event["hash"] = event_hash(event)
            try:
                self.store.put(event_key(seq + 1), canonical_json(event), content_type="application/json")
            except ImmutableObjectError:
                continue  # another writer took this number: re-read the end and try the next
            self.store.put_hint(HEAD, canonical_json({"seq": seq + 1, "hash": event["hash"]}))
            self._tail = (seq + 1, str(event["hash"]))
            return event
        raise RuntimeError("could not append to the audit log: too much contention")

    def events(self) -> Iterator[dict[str, Any]]:
        for key in self.store.list(PREFIX):
            yield json.loads(self.store.get(key))


@dataclass
class Auditor:
    """An audit log plus who is acting, so stage code records events with one call."""

    log: AuditLog
    actor: dict[str, Any]

    def record(self, action: str, obj: str, **kw: Any) -> dict[str, Any]:
        return self.log.append(action, actor=self.actor, obj=obj, **kw)


def record(auditor: Auditor | None, action: str, obj: str, **kw: Any) -> None:
    """Record if auditing is on (it always is in the DAGs; pure unit tests may pass None)."""
    if auditor is not None:
        auditor.record(action, obj, **kw)


@dataclass
class VerifyResult:
    ok: bool
    events: int
    first_bad: int | None = None
    problem: str | None = None
    last_hash: str | None = None
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.events} event(s), head {self.last_hash}"
        return f"audit chain BROKEN at event {self.first_bad}: {self.problem}"


def verify_chain(store: ObjectStore) -> VerifyResult:
    """Re-walk the whole chain; report the first broken, missing or out-of-order event."""
    keys = store.list(PREFIX)
    head_raw = store.get_or_none(HEAD)
    head_seq = int(json.loads(head_raw)["seq"]) if head_raw else -1
    prev = GENESIS
    expected = 0
    for key in keys:
        name = key[len(PREFIX):]
        try:
            seq = int(name.removesuffix(".json"))
        except ValueError:
            return VerifyResult(False, expected, expected, f"unexpected object {key} in the audit log")
        if seq != expected:
            return VerifyResult(False, expected, expected, f"event {expected} is missing (next found is {seq})")
        try:
            event = json.loads(store.get(key))
        except ValueError:
            return VerifyResult(False, expected, seq, f"event {seq} is not valid JSON (altered)")
        if event.get("seq") != seq:
            return VerifyResult(False, expected, seq, f"event {seq} claims to be event {event.get('seq')} "
                                                      "(moved or reordered)")
        if event.get("hash") != event_hash(event):
            return VerifyResult(False, expected, seq, f"event {seq} was altered (its hash does not match)")
        if event.get("prev") != prev:
            return VerifyResult(False, expected, seq, f"event {seq} does not follow event {seq - 1} "
                                                      "(reordered, replaced or inserted)")
        prev = event["hash"]
        expected += 1
    if head_seq >= expected:
        return VerifyResult(False, expected, expected,
                            f"events {expected}..{head_seq} are missing (the log was cut short)")
    return VerifyResult(True, expected, last_hash=prev if expected else None)
