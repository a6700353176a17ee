"""An append-only audit log that an auditor can verify.

Every event is one write-once object ``audit/events/<seq>.json`` holding the event, the hash
of the previous event (``prev``) and its own hash (``hash`` = SHA-256 of the canonical event
without ``hash``, ``mac`` and ``body_mac``). Appending is a conditional create of the next
sequence number: if two writers race for the same number, one loses (``ImmutableObjectError``)
and retries with the next, so the chain stays linear without a lock server. ``audit/head.json``
is only a hint to find the end quickly; verification never trusts it beyond "at least this many
events existed".

A plain hash chain only proves the store is *self-consistent*: whoever can write the store can
rewrite an event and re-hash every event after it, or cut the newest events off and rewrite
``head.json``. Two things close that, when configured:

* **Keys** (``socialhub.audit.keys``): each event carries ``key_id``, ``mac`` = HMAC-SHA256 of
  its hash (so of its place in the chain) and ``body_mac`` = HMAC-SHA256 of its number and
  content (not of ``prev``). Without the key a re-hashed event cannot get a valid ``mac``; and
  ``body_mac`` tells an event whose content changed (``rewritten``) from events merely moved
  up by an insertion (``inserted``) or down by a removal (``removed``).
* **Anchors** (``socialhub.audit.anchor``): the head (seq, hash, MAC) written now and then
  where the pipeline can add but not rewrite. An anchor further than the chain's end is
  ``truncated``.

With no key the log works as before and ``verify_chain`` says it is ``unkeyed``; with no anchor
it says a cut-off end cannot be detected. ``verify_chain`` names every finding it makes.

**Segments** (``AuditLog(..., segmented=True)``, what every Airflow task uses): a writer that
records many events does not race every other writer for the global sequence. It writes its
events to its own folder ``audit/segments/<segment-id>/<n>.json`` (n from 0, chained by
``prev``/``hash`` inside the segment, MAC'd like global events), and when it closes it appends
one **seal** to the global chain (action ``segment_seal``: segment id, event count, last hash),
so the global chain grows by one object per segment and anchors keep covering everything.
``socialhub.audit.segments`` verifies segments and closes the ones crashed writers left open.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from socialhub.audit.anchor import Anchor, AnchorPolicy, anchor_from_env, anchor_message, make_record
from socialhub.audit.keys import AuditKeys, keys_from_env
from socialhub.errors import ImmutableObjectError
from socialhub.models import canonical_json, sha256_hex, utc_iso
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

PREFIX = "audit/events/"
HEAD = "audit/head.json"
GENESIS = "0" * 64
#: segments: ``audit/segments/<segment-id>/<n:08d>.json``, and a ``sealed-<seq>-<count>.json`` marker
#: once sealed (only an index for incremental verifies: the seal in the global chain is what counts)
SEGMENTS = "audit/segments/"
SEAL_ACTION = "segment_seal"
#: a segment whose newest event is older than this and still has no seal was left open by a crashed
#: writer: verify reports it (``segment_unsealed``) and housekeeping seals it
SEGMENT_GRACE = timedelta(hours=12)

ACTIONS = frozenset({
    "collect", "collect_failed", "authorisation_lapsed", "quality_reject", "quality_hold", "classify", "alert",
    "alert_failed", "review_response", "referral", "export", "watchlist_change", "deletion", "erasure_pending",
    "legal_hold", "access", "report", "reminder", "classifier_register", "classifier_promote", "reclassify",
    "authorisation", "referral_update", "source_health", "hashlist_change", "media_capture", "media_reveal",
})


def event_key(seq: int) -> str:
    return f"{PREFIX}{seq:012d}.json"


def segment_key(segment: str, n: int) -> str:
    return f"{SEGMENTS}{segment}/{n:08d}.json"


def sealed_marker_key(segment: str, seq: int, count: int) -> str:
    return f"{SEGMENTS}{segment}/sealed-{seq:012d}-{count}.json"


def segment_genesis(segment: str) -> str:
    """The ``prev`` of a segment's first event: binds its events to the segment's id."""
    return sha256_hex(f"socialhub-audit-segment-v1\n{segment}".encode())


_LABEL_ENV = ("AIRFLOW_CTX_DAG_ID", "AIRFLOW_CTX_TASK_ID", "AIRFLOW_CTX_MAP_INDEX")


def new_segment_id(label: str | None = None, at: datetime | None = None) -> str:
    """Time-ordered, unique (random part), and readable: ``20261204T201500123456Z-1a2b3c4d5e6f[-label]``.
    ``label`` defaults to the Airflow task (dag.task.map_index from ``AIRFLOW_CTX_*``) when set."""
    if label is None:
        parts = [os.environ.get(v, "").strip() for v in _LABEL_ENV]
        label = ".".join(p for p in parts if p and p != "-1") or None
    stamp = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    sid = f"{stamp}-{secrets.token_hex(6)}"
    if label:
        sid += "-" + re.sub(r"[^A-Za-z0-9._=-]+", "_", label)[:80]
    return sid


def event_id(event: dict[str, Any]) -> int | str | None:
    """An event's identity: its ``seq`` on the global chain, or ``<segment>/<n>`` for a segment event."""
    if "seq" in event:
        return event["seq"]  # type: ignore[no-any-return]
    if "segment" in event and "n" in event:
        return f"{event['segment']}/{event['n']}"
    return None


#: fields an event's hash does not cover (the hash itself and the MACs made from it)
SEALS = frozenset({"hash", "mac", "body_mac"})
#: fields an event's ``body_mac`` does not cover: its link to the chain (``seq`` is given apart)
LINKS = SEALS | {"seq", "prev"}
#: the same for a segment event (``n`` is given apart, the segment id is in the message too)
SEGMENT_LINKS = SEALS | {"n", "prev"}
FROM_ENV: Literal["env"] = "env"


def event_hash(event: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({k: v for k, v in event.items() if k not in SEALS}))


def is_segment_event(event: dict[str, Any]) -> bool:
    return "seq" not in event and "segment" in event


def content_digest(event: dict[str, Any]) -> str:
    links = SEGMENT_LINKS if is_segment_event(event) else LINKS
    return sha256_hex(canonical_json({k: v for k, v in event.items() if k not in links}))


def mac_message(hash_hex: str) -> str:
    return f"socialhub-audit-event-v1\n{hash_hex}"


def body_message(seq: int, digest: str) -> str:
    return f"socialhub-audit-body-v1\n{seq}\n{digest}"


def segment_body_message(segment: str, n: int, digest: str) -> str:
    return f"socialhub-audit-segment-body-v1\n{segment}\n{n}\n{digest}"


def event_body_message(event: dict[str, Any], number: int) -> str:
    """The message an event's ``body_mac`` covers, had it been written as number ``number``."""
    if is_segment_event(event):
        return segment_body_message(str(event.get("segment")), number, content_digest(event))
    return body_message(number, content_digest(event))


def seal(event: dict[str, Any], keys: AuditKeys | None) -> dict[str, Any]:
    """Set ``key_id`` (keyed), ``hash`` and the MACs (keyed) of an event: the event, changed in place."""
    for k in SEALS | {"key_id"}:
        event.pop(k, None)
    if keys is not None:
        event["key_id"] = keys.signing_id
    event["hash"] = event_hash(event)
    if keys is not None:
        event["mac"] = keys.mac(keys.signing_id, mac_message(event["hash"]))
        number = int(event["n"] if is_segment_event(event) else event["seq"])
        event["body_mac"] = keys.mac(keys.signing_id, event_body_message(event, number))
    return event


@dataclass
class _Open:
    """The segment a writer is filling: its id, the next number, the last hash, first/last times, actor."""

    segment: str
    n: int
    prev: str
    first_time: str
    last_time: str
    actor: dict[str, Any]


@dataclass
class AuditLog:
    """The log in ``store``. ``keys`` and ``anchor`` default to the environment
    (``SOCIALHUB_AUDIT_KEYS``, ``SOCIALHUB_AUDIT_ANCHOR``); ``None`` means none.

    ``segmented``: write this writer's events to its own segment (no contention with other
    writers: one object per event, plus one seal on the global chain at ``close()``); otherwise
    every event goes to the global chain. ``segment_label`` names the segment (default: the
    Airflow task from ``AIRFLOW_CTX_*``). Use it as a context manager, or call ``close()``."""

    store: ObjectStore
    max_retries: int = 1000
    keys: AuditKeys | None | Literal["env"] = field(default=FROM_ENV, repr=False)
    anchor: Anchor | None | Literal["env"] = FROM_ENV
    anchor_policy: AnchorPolicy | None = None
    segmented: bool = False
    segment_label: str | None = None
    #: the wall clock that stamps a new segment's id (tests pin it; event times may be given with ``at``)
    clock: Callable[[], datetime] | None = field(default=None, repr=False, compare=False)
    _tail: tuple[int, str] | None = field(default=None, repr=False, compare=False)
    _anchor_due: bool = field(default=False, repr=False, compare=False)
    _anchored_at: float = field(default_factory=time.monotonic, repr=False, compare=False)
    _open: _Open | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    #: conditional creates on the global sequence lost to another writer (a measure of contention)
    conflicts: int = field(default=0, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._keys: AuditKeys | None = keys_from_env() if self.keys == FROM_ENV else self.keys  # type: ignore[assignment]
        self._anchor: Anchor | None = anchor_from_env() if self.anchor == FROM_ENV else self.anchor  # type: ignore[assignment]
        if self.anchor_policy is None:
            self.anchor_policy = AnchorPolicy.from_env() if self._anchor is not None else AnchorPolicy()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        """Record one event; it is stored (write-once) when this returns."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        body = {
            "time": utc_iso(at or datetime.now(UTC)), "actor": actor, "action": action, "object": obj,
            "force": force, "justification": justification, "hashes": hashes or {}, "details": details or {},
        }
        if self.segmented:
            return self._append_segment(body)
        return self._append_global(body)

    def _append_global(self, body: dict[str, Any]) -> dict[str, Any]:
        for _ in range(self.max_retries):
            # this writer's own last event is the end unless another writer appended since: then
            # the create below fails and the end is looked up again
            seq, prev = self._tail if self._tail is not None else self._last()
            self._tail = None
            event = seal({"seq": seq + 1, "prev": prev, **body}, self._keys)
            try:
                self.store.put(event_key(seq + 1), canonical_json(event), content_type="application/json")
            except ImmutableObjectError:
                self.conflicts += 1
                continue  # another writer took this number: re-read the end and try the next
            self.store.put_hint(HEAD, canonical_json({"seq": seq + 1, "hash": event["hash"]}))
            self._tail = (seq + 1, str(event["hash"]))
            self._maybe_anchor(seq + 1, str(event["hash"]))
            return event
        raise RuntimeError("could not append to the audit log: too much contention")

    def _append_segment(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            extra: dict[str, Any] = {}
            if self._open is None:
                sid = new_segment_id(self.segment_label, self.clock() if self.clock is not None else None)
                self._open = _Open(sid, 0, segment_genesis(sid), body["time"], body["time"], body["actor"])
                raw = self.store.get_or_none(HEAD)  # the global chain's end as far as the hint knows
                if raw:
                    head = json.loads(raw)
                    extra["after"] = {"seq": int(head["seq"]), "hash": str(head["hash"])}
            o = self._open
            event = seal({"segment": o.segment, "n": o.n, "prev": o.prev, **extra, **body}, self._keys)
            # one writer per segment (its id is random): the create cannot lose a race
            self.store.put(segment_key(o.segment, o.n), canonical_json(event), content_type="application/json")
            o.n, o.prev, o.last_time = o.n + 1, str(event["hash"]), str(body["time"])
            return event

    @property
    def segment(self) -> str | None:
        """The id of the segment this writer is filling, if one is open."""
        return self._open.segment if self._open is not None else None

    def close(self, *, at: datetime | None = None) -> dict[str, Any] | None:
        """Seal the open segment (append its seal to the global chain); the seal, or ``None`` if none was open.
        Later appends open a new segment."""
        with self._lock:
            o = self._open
            if o is None:
                return None
            event = seal_segment(self, o.segment, o.n, o.prev, actor=o.actor, closed_by="writer",
                                 first_time=o.first_time, last_time=o.last_time, at=at)
            self._open = None
            return event

    def _maybe_anchor(self, seq: int, hash_hex: str) -> None:
        policy = self.anchor_policy or AnchorPolicy()
        if self._anchor is None:
            return
        if not (self._anchor_due or (seq + 1) % policy.every_events == 0
                or time.monotonic() - self._anchored_at >= policy.every_seconds):
            return
        try:
            self._anchor.write(make_record(seq, hash_hex, self._keys))
        except Exception as exc:  # noqa: BLE001 - the event is written; anchoring is retried on the next append
            self._anchor_due = True
            log.warning("could not anchor the audit log's head (event %s) at %s: %s; will retry on the next "
                        "append", seq, self._anchor.label, type(exc).__name__)
            return
        self._anchor_due = False
        self._anchored_at = time.monotonic()

    def anchor_now(self) -> dict[str, Any] | None:
        """Anchor the chain's last event now (the record written), or ``None`` if the log is empty.
        Raises ``ValueError`` when no anchor is configured."""
        if self._anchor is None:
            raise ValueError("no anchor configured (SOCIALHUB_AUDIT_ANCHOR or --anchor)")
        keys = self.store.list(PREFIX)
        if not keys:
            return None
        last = json.loads(self.store.get(keys[-1]))
        record = make_record(int(last["seq"]), str(last["hash"]), self._keys)
        self._anchor.write(record)
        self._anchored_at, self._anchor_due = time.monotonic(), False
        return record

    def events(self, *, include_seals: bool = False) -> Iterator[dict[str, Any]]:
        """Every event: the global chain's, then (when there are segments) all merged in a stable order
        (time, then global before segment events, then segment id and number). Seals only if asked."""
        legacy = [json.loads(self.store.get(key)) for key in self.store.list(PREFIX)]
        seg = [json.loads(self.store.get(key)) for key in self.store.list(SEGMENTS) if _is_segment_event_key(key)]
        everything = legacy
        if seg:
            everything = sorted(legacy + seg, key=lambda e: (
                str(e.get("time", "")), 1 if is_segment_event(e) else 0, str(e.get("segment", "")),
                int(e["n"]) if is_segment_event(e) else int(e.get("seq", 0))))
        for event in everything:
            if include_seals or event.get("action") != SEAL_ACTION:
                yield event


def parse_segment_key(key: str) -> tuple[str, int | None, tuple[int, int] | None] | None:
    """``audit/segments/<id>/<n>.json`` → (id, n, None); a sealed marker → (id, None, (seq, count));
    anything else → None."""
    if not key.startswith(SEGMENTS):
        return None
    sid, _, name = key[len(SEGMENTS):].partition("/")
    if not sid or "/" in name or not name.endswith(".json"):
        return None
    stem = name[:-5]
    if stem.isdigit():
        return sid, int(stem), None
    m = re.fullmatch(r"sealed-(\d+)-(\d+)", stem)
    if m:
        return sid, None, (int(m.group(1)), int(m.group(2)))
    return None


def _is_segment_event_key(key: str) -> bool:
    parsed = parse_segment_key(key)
    return parsed is not None and parsed[1] is not None


def seal_segment(log_: AuditLog, segment: str, count: int, last_hash: str, *, actor: dict[str, Any],
                 closed_by: str, first_time: str | None, last_time: str | None, at: datetime | None = None,
                 note: str | None = None) -> dict[str, Any]:
    """Append the seal of ``segment`` (``count`` events ending with ``last_hash``) to the global chain,
    then its sealed marker (an index only). The seal event."""
    details: dict[str, Any] = {"segment": segment, "count": count, "last_hash": last_hash,
                               "first_time": first_time, "last_time": last_time, "closed_by": closed_by}
    if note:
        details["note"] = note
    body = {"time": utc_iso(at or datetime.now(UTC)), "actor": actor, "action": SEAL_ACTION,
            "object": f"audit-segment:{segment}", "force": None, "justification": None, "hashes": {},
            "details": details}
    event = log_._append_global(body)
    try:
        log_.store.put(sealed_marker_key(segment, int(event["seq"]), count), b"{}", content_type="application/json")
    except Exception as exc:  # noqa: BLE001 - the seal is written; without the marker an incremental verify reads more
        log.warning("sealed audit segment %s but could not write its marker: %s", segment, type(exc).__name__)
    return event


@dataclass
class Auditor:
    """An audit log plus who is acting, so stage code records events with one call."""

    log: AuditLog
    actor: dict[str, Any]

    def record(self, action: str, obj: str, **kw: Any) -> dict[str, Any]:
        return self.log.append(action, actor=self.actor, obj=obj, **kw)


class SerialAuditor:
    """An auditor whose ``record`` calls are taken one at a time: threads (a collect shard's
    accounts, a process task's batches) share one audit writer (its end-of-chain cache) instead of
    racing each other for the next number."""

    def __init__(self, inner: Any) -> None:
        import threading

        self._inner, self._lock = inner, threading.Lock()

    def record(self, action: str, obj: str, **kw: Any) -> Any:
        with self._lock:
            return self._inner.record(action, obj, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def record(auditor: Auditor | None, action: str, obj: str, **kw: Any) -> None:
    """Record if auditing is on (it always is in the DAGs; pure unit tests may pass None)."""
    if auditor is not None:
        auditor.record(action, obj, **kw)


#: finding kinds (``Finding.kind``); ``unkeyed`` and ``unanchored`` are warnings, the rest failures
KINDS = {
    "gap": "an event is missing from the middle of the chain",
    "broken_prev": "an event does not follow the one before it (reordered, replaced or inserted)",
    "bad_hash": "an event's content does not match its own hash (altered)",
    "moved": "an event sits under another event's number",
    "not_json": "an event is not valid JSON",
    "stray": "an object in the audit folder that is not an event",
    "truncated": "the chain is shorter than head.json or an anchor says it was",
    "rewritten": "an event's content changed (its MAC fails, or an anchored hash no longer matches)",
    "inserted": "events were inserted and the chain re-hashed after them",
    "removed": "events were removed and the ones after renumbered and re-hashed",
    "rehashed": "events whose content is intact but whose link to the chain was re-hashed",
    "mac_missing": "events without a MAC after keyed ones",
    "unknown_key": "events (or anchors) signed with a key id not given: they cannot be verified",
    "bad_anchor": "an anchor record that is unreadable or whose MAC does not verify",
    "unkeyed": "no key checks the events: a re-hashed chain cannot be detected",
    "unanchored": "no anchor: cutting off the newest events cannot be detected",
    "checkpoint_mismatch": "the chain no longer matches a verified checkpoint (events before it were changed)",
    "bad_checkpoint": "a checkpoint whose MAC does not verify (forged by someone without the key)",
    "segment_open": "a segment its writer has not sealed yet, younger than the grace period (a task still running)",
    "segment_unsealed": "a segment with events but no seal in the global chain, older than the grace period",
    "segment_missing": "a seal in the global chain names a segment whose events are gone (the segment was deleted)",
    "segment_closed_late": "a segment sealed by housekeeping, not by its writer (its task crashed or was killed)",
}
WARNINGS = frozenset({"unkeyed", "unanchored", "segment_open", "segment_closed_late"})
#: how far an insertion or removal is looked for (events)
MAX_SHIFT = 1000


@dataclass(frozen=True)
class Finding:
    kind: str
    seq: int | None
    message: str
    segment: str | None = None   # a segment's finding: ``seq`` is the event's number in that segment

    @property
    def where(self) -> str:
        return f"{self.segment}/{self.seq}" if self.segment is not None else str(self.seq)

    @property
    def failure(self) -> bool:
        return self.kind not in WARNINGS


@dataclass
class VerifyResult:
    ok: bool
    events: int
    first_bad: int | None = None
    problem: str | None = None
    last_hash: str | None = None
    problems: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    keyed: int = 0                       # events whose MACs were checked
    key_ids: list[str] = field(default_factory=list)
    anchor: str | None = None            # where the anchors were read
    anchored_seq: int | None = None      # the newest anchored event that matches the chain
    anchored_time: str | None = None
    anchor_records: int = 0
    mode: str = "full"                   # "full", or "incremental" (from ``checkpoint``)
    checkpoint: dict[str, Any] | None = None   # the checkpoint an incremental verify started from
    verified_from: int | None = None     # the events actually re-walked: verified_from..verified_to
    verified_to: int | None = None
    events_read: int = 0                 # event objects read (GETs) by this verify
    notes: list[str] = field(default_factory=list)   # checkpoints skipped and why, fallbacks
    first_bad_segment: str | None = None  # the first failure is in this segment (first_bad: its number there)
    segments: int = 0                     # segments verified (their events walked)
    segment_events: int = 0               # events in those segments
    segments_skipped: int = 0             # sealed segments covered by the checkpoint (incremental)
    open_segments: list[str] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return [f.kind for f in self.findings]

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.failure]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.failure]

    def headline(self) -> str:
        if self.ok:
            line = f"audit chain OK: {self.events} event(s), head {self.last_hash}"
            if self.segments or self.segments_skipped:
                line += f"; {self.segment_events} event(s) in {self.segments} segment(s)"
                if self.segments_skipped:
                    line += f" (+{self.segments_skipped} sealed before the checkpoint)"
            if self.mode == "incremental" and self.checkpoint is not None:
                line += (f" (incremental: checkpoint at event {self.checkpoint.get('seq')} of "
                         f"{self.checkpoint.get('verified_at')}, then {self.range_text()})")
            return line
        word = "NOT VERIFIED" if all(f.kind == "unknown_key" for f in self.failures) else "BROKEN"
        kind = f" ({self.findings[0].kind})" if self.findings else ""
        at = f"{self.first_bad_segment}/{self.first_bad}" if self.first_bad_segment else str(self.first_bad)
        return f"audit chain {word} at event {at}{kind}: {self.problem}"

    def describe(self) -> str:
        """The headline, then every other finding (warnings marked), then what the keys and anchors covered."""
        lines = [self.headline()]
        lines += [f"  note: {n}" for n in self.notes]
        if not self.ok or self.mode != "incremental":
            lines.append(f"  verified: {self.mode}, {self.range_text()}")
        if self.segments or self.segments_skipped:
            lines.append(f"  segments: {self.segments} walked ({self.segment_events} event(s)), "
                         f"{len(self.open_segments)} open, {self.segments_skipped} covered by the checkpoint")
        for f in self.findings[0 if self.ok else 1:]:
            lines.append(f"  {'warning: ' if not f.failure else ''}{f.kind}: {f.message}")
        if self.keyed:
            lines.append(f"  keys: {self.keyed} event(s) MAC-checked with key id(s) {', '.join(self.key_ids)}")
        if self.anchor is not None and self.anchored_seq is not None:
            line = (f"  anchors: {self.anchor_records} record(s) at {self.anchor}; the newest that matches the chain "
                    f"is event {self.anchored_seq} (anchored {self.anchored_time})")
            if self.ok and self.anchored_seq < self.events - 1:
                line += f"; events {self.anchored_seq + 1}..{self.events - 1} are not anchored yet"
            lines.append(line)
        return "\n".join(lines)


    def range_text(self) -> str:
        if self.verified_from is None or self.verified_to is None or self.verified_to < self.verified_from:
            return "no new events verified"
        return f"events {self.verified_from}..{self.verified_to} verified"


def _ranges(seqs: list[int]) -> str:
    spans: list[list[int]] = []
    for s in sorted(set(seqs)):
        if spans and spans[-1][1] == s - 1:
            spans[-1][1] = s
        else:
            spans.append([s, s])
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in spans)


def _events_word(seqs: list[int]) -> str:
    return f"{'event' if len(set(seqs)) == 1 else 'events'} {_ranges(seqs)}"


def _read_all(store: ObjectStore) -> list[tuple[str, int | None, Any]]:
    """(key, number from the name or None, parsed event or None) for every object in the audit folder."""
    out: list[tuple[str, int | None, Any]] = []
    for key in store.list(PREFIX):
        try:
            seq: int | None = int(key[len(PREFIX):].removesuffix(".json"))
        except ValueError:
            seq = None
        try:
            event = json.loads(store.get(key))
        except ValueError:
            event = None
        out.append((key, seq, event))
    return out


def _structure(objects: list[tuple[str, int | None, Any]], head_seq: int, start: int = 0,
               prev: str = GENESIS) -> tuple[Finding | None, int, str]:
    """Today's walk: the first broken, missing or out-of-order event; (finding, events checked, last hash).
    ``start``/``prev``: the walk begins at event ``start``, chained from ``prev`` (an incremental verify)."""
    expected = start
    for key, seq, event in objects:
        if seq is None:
            return Finding("stray", expected, f"unexpected object {key} in the audit log"), expected, prev
        if seq != expected:
            return Finding("gap", expected, f"event {expected} is missing (next found is {seq})"), expected, prev
        if not isinstance(event, dict):
            return Finding("not_json", seq, f"event {seq} is not valid JSON (altered)"), expected, prev
        if event.get("seq") != seq:
            return Finding("moved", seq, f"event {seq} claims to be event {event.get('seq')} "
                                         "(moved or reordered)"), expected, prev
        if event.get("hash") != event_hash(event):
            return Finding("bad_hash", seq, f"event {seq} was altered (its hash does not match)"), expected, prev
        if event.get("prev") != prev:
            return Finding("broken_prev", seq, f"event {seq} does not follow event {seq - 1} "
                                               "(reordered, replaced or inserted)"), expected, prev
        prev = event["hash"]
        expected += 1
    if head_seq >= expected:
        return (Finding("truncated", expected, f"events {expected}..{head_seq} are missing (the log was cut short)"),
                expected, prev)
    return None, expected, prev


def _is_keyed(event: dict[str, Any]) -> bool:
    return any(k in event for k in ("key_id", "mac", "body_mac"))


def _macs(events: list[dict[str, Any]], keys: AuditKeys | None,
          keyed_before: bool = False, number: str = "seq", more_with_macs: int = 0) -> tuple[list[Finding], int]:
    """What the keys say about the events (in stored order): the findings and how many were MAC-checked.
    ``keyed_before``: the event before the first one given carries MACs (an incremental verify)."""
    findings: list[Finding] = []
    unkeyed_prefix: list[int] = []
    more = more_with_macs     # events elsewhere (segments) that carry MACs, for the unkeyed message
    mac_missing: list[int] = []
    unknown: dict[str, list[int]] = {}
    keyed_seen = keyed_before
    checked = 0
    shift = 0                 # stored number - the number the event was signed with
    pending: list[int] = []   # events whose content matches no MAC (rewritten, or forged and inserted)
    rehashed: list[int] = []
    stripped: list[int] = []  # events without MAC since the last good keyed one (inserted without MACs?)
    with_macs = 0

    def flush(next_seq: int | None, new_shift: int) -> None:
        nonlocal pending, stripped
        moved = new_shift - shift
        candidates = sorted(pending + stripped)
        inserted = candidates[len(candidates) - moved:] if 0 < moved <= len(candidates) else []
        rewritten = [p for p in pending if p not in inserted]
        for p in inserted:
            if p in mac_missing:
                mac_missing.remove(p)  # named as inserted instead
        if rewritten:
            findings.append(Finding("rewritten", rewritten[0], (
                f"{_events_word(rewritten)}: the content does not match its MAC (changed after it was written, "
                "then re-hashed)")))
        if moved > 0:
            if inserted:
                what = (f"{_events_word(inserted)} (not signed by any key given) "
                        f"{'was' if len(inserted) == 1 else 'were'} inserted")
            else:
                what = f"{moved} event(s) were inserted before event {next_seq}"
            findings.append(Finding("inserted", (inserted or [next_seq or 0])[0], (
                f"{what}: event {next_seq} was written as event {(next_seq or 0) - new_shift} and the chain "
                "was renumbered and re-hashed from there")))
        elif moved < 0:
            orig = (next_seq or 0) - new_shift
            findings.append(Finding("removed", next_seq, (
                f"{-moved} event(s) were removed before event {next_seq}: it was written as event {orig}, so the "
                f"original events {orig + moved}..{orig - 1} are gone and the chain was renumbered and re-hashed")))
        pending, stripped = [], []

    for event in events:
        s = event.get(number)
        if not isinstance(s, int):
            continue
        if not _is_keyed(event):
            (mac_missing if keyed_seen else unkeyed_prefix).append(s)
            if keyed_seen:
                stripped.append(s)
            continue
        keyed_seen = True
        with_macs += 1
        if keys is None:
            continue
        kid = event.get("key_id")
        if not keys.has(str(kid) if kid is not None else None):
            unknown.setdefault(str(kid), []).append(s)
            continue
        kid = str(kid)
        checked += 1
        digest, sid = content_digest(event), str(event.get("segment"))
        seg = is_segment_event(event)
        body_mac = event.get("body_mac")
        found: int | None = None
        for d in itertools.chain((shift,), (x for n in range(1, MAX_SHIFT + 1) for x in (shift + n, shift - n))):
            if s - d >= 0 and keys.check(kid, segment_body_message(sid, s - d, digest) if seg
                                         else body_message(s - d, digest), body_mac):
                found = d
                break
        if found is None:
            pending.append(s)
            continue
        if pending or found != shift:
            flush(s, found)
            shift = found
        stripped = []
        if not keys.check(kid, mac_message(event_hash(event)), event.get("mac")):
            rehashed.append(s)
    if pending:
        flush(None, shift)
    if rehashed:
        explained = [f for f in findings if f.kind in ("rewritten", "inserted", "removed")]
        if explained and (explained[0].seq or 0) <= min(rehashed):
            findings.append(Finding("rehashed", min(rehashed), (
                f"{_events_word(rehashed)} keep their content but their MACs over their hashes fail: the chain was "
                "re-hashed after the change above")))
        else:
            findings.append(Finding("rehashed", min(rehashed), (
                f"{_events_word(rehashed)} keep their content but their MACs over their hashes fail: their link "
                "to the events before them was changed and re-hashed")))
    if mac_missing:
        findings.append(Finding("mac_missing", mac_missing[0], (
            f"{_events_word(mac_missing)} carry no MAC although events before them do: written without the key, "
            "or stripped of their MACs and re-hashed")))
    for kid, seqs in unknown.items():
        given = ", ".join(keys.ids) if keys is not None else ""
        findings.append(Finding("unknown_key", seqs[0], (
            f"{_events_word(seqs)} are signed with key id {kid!r}, which is not among the keys given ({given}): "
            f"they cannot be verified; list that key as a verify-only key (e.g. "
            f"SOCIALHUB_AUDIT_KEYS={keys.signing_id if keys else 'NEW'}:…,{kid}:…)")))
    if keys is None:
        if with_macs or keyed_before or more:
            findings.append(Finding("unkeyed", None, (
                f"{with_macs + more} event(s) carry MACs, but no key was given to check them (SOCIALHUB_AUDIT_KEYS or "
                "--key-env): unchecked, an event rewritten and the chain re-hashed after it cannot be detected")))
        else:
            findings.append(Finding("unkeyed", None, (
                "the log is unkeyed (its events carry no MAC): whoever can write the store can rewrite an event "
                "and re-hash the chain after it, and this check cannot detect that (configure "
                "SOCIALHUB_AUDIT_KEYS; see docs/auditors.md)")))
    elif unkeyed_prefix and not keyed_seen:
        findings.append(Finding("unkeyed", None, (
            "keys were given but no event carries a MAC (the log is unkeyed: written before the key was "
            "configured, or every MAC stripped): a re-hashed chain cannot be detected")))
    elif unkeyed_prefix:
        findings.append(Finding("unkeyed", None, (
            f"{_events_word(unkeyed_prefix)} carry no MAC (written before the key was configured): they are "
            "protected only through the keyed events after them")))
    return findings, checked


def _anchors(anchor: Anchor, keys: AuditKeys | None, by_seq: dict[int, dict[str, Any]], last_seq: int,
             failures: list[Finding], result: VerifyResult) -> list[Finding]:
    findings: list[Finding] = []
    valid: list[dict[str, Any]] = []
    try:
        records = anchor.records()
    except Exception as exc:  # noqa: BLE001 - an unreadable anchor is a finding, not a crash
        return [Finding("bad_anchor", None, f"the anchors at {anchor.label} cannot be read ({type(exc).__name__})")]
    result.anchor_records = len(records)
    for rec in records:
        where = f"anchor record {rec.get('unreadable') or rec.get('time')}"
        if "unreadable" in rec or not isinstance(rec.get("seq"), int) or not isinstance(rec.get("hash"), str):
            findings.append(Finding("bad_anchor", None, f"{where} at {anchor.label} is unreadable"))
            continue
        kid = rec.get("key_id")
        if kid is not None or "mac" in rec:
            if keys is None:
                pass  # cannot check it: still a record the pipeline could not remove
            elif not keys.has(str(kid)):
                findings.append(Finding("unknown_key", rec["seq"], (
                    f"{where} for event {rec['seq']} is signed with key id {kid!r}, not among the keys given: "
                    "it cannot be verified")))
                continue
            elif not keys.check(str(kid), anchor_message(rec), rec.get("mac")):
                findings.append(Finding("bad_anchor", rec["seq"], (
                    f"{where} for event {rec['seq']} has a MAC that does not verify: forged (ignored)")))
                continue
        valid.append(rec)
    if not valid:
        if not findings:
            findings.append(Finding("unanchored", None, (
                f"the anchor at {anchor.label} holds no record yet: cutting off the newest events cannot be detected "
                "(run `socialhub audit anchor`)")))
        return findings
    furthest = max(valid, key=lambda r: r["seq"])
    if furthest["seq"] > last_seq:
        findings.append(Finding("truncated", last_seq + 1, (
            f"the chain ends at event {last_seq} but the anchor at {anchor.label} recorded event {furthest['seq']} "
            f"(hash {furthest['hash'][:16]}…) on {furthest['time']}: events {last_seq + 1}..{furthest['seq']} were "
            "removed (and head.json rewritten to match)")))
    explained = min((f.seq for f in failures if f.seq is not None), default=None)
    mismatch_reported = False
    for rec in sorted(valid, key=lambda r: r["seq"]):
        ev = by_seq.get(rec["seq"])
        if ev is None:
            continue
        if ev.get("hash") == rec["hash"]:
            if result.anchored_seq is None or rec["seq"] >= result.anchored_seq:
                result.anchored_seq, result.anchored_time = rec["seq"], str(rec.get("time"))
        elif not mismatch_reported and (explained is None or explained > rec["seq"]):
            mismatch_reported = True
            findings.append(Finding("rewritten", rec["seq"], (
                f"event {rec['seq']}'s hash differs from the one anchored on {rec.get('time')} at {anchor.label}: "
                f"the chain up to event {rec['seq']} was rewritten and re-hashed after it was anchored")))
    return findings


def verify_chain(store: ObjectStore, keys: AuditKeys | None | Literal["env"] = FROM_ENV,
                 anchor: Anchor | None | Literal["env"] = FROM_ENV, *, since_checkpoint: bool = False,
                 trust_unkeyed_checkpoint: bool = False, now: datetime | None = None,
                 grace: timedelta = SEGMENT_GRACE) -> VerifyResult:
    """Re-walk the whole chain; name every broken, missing, out-of-order, rewritten, inserted or cut-off event.

    ``keys`` and ``anchor`` default to the environment (``SOCIALHUB_AUDIT_KEYS``,
    ``SOCIALHUB_AUDIT_ANCHOR``); ``None`` checks without. ``first_bad``/``problem`` are the first
    failure (a structural one first, as before); ``findings`` lists them all, warnings included.

    ``since_checkpoint``: start from the newest valid checkpoint (``socialhub.audit.checkpoint``)
    and re-walk only the events after it; with no valid checkpoint, or when the past no longer
    matches the checkpoint (``checkpoint_mismatch``), the whole chain is re-walked.

    Segments (``socialhub.audit.segments``) are verified too: each one's own chain and MACs, and
    each sealed one against its seal. A segment not sealed yet is ``segment_open`` (a warning) while
    its newest event is younger than ``grace`` at ``now`` (default: the wall clock), and
    ``segment_unsealed`` (a failure) after.
    """
    k: AuditKeys | None = keys_from_env() if keys == FROM_ENV else keys  # type: ignore[assignment]
    a: Anchor | None = anchor_from_env() if anchor == FROM_ENV else anchor  # type: ignore[assignment]
    if not since_checkpoint:
        return _verify(store, k, a, now=now, grace=grace)
    from socialhub.audit.checkpoint import verify_from_checkpoint

    return verify_from_checkpoint(store, k, a, trust_unkeyed=trust_unkeyed_checkpoint, now=now, grace=grace)


def _verify(store: ObjectStore, k: AuditKeys | None, a: Anchor | None, *,
            objects: list[tuple[str, int | None, Any]] | None = None, start: int = 0, prev: str = GENESIS,
            keyed_before: bool = False, extra: list[Finding] | None = None, now: datetime | None = None,
            grace: timedelta = SEGMENT_GRACE, segment_keys: list[str] | None = None) -> VerifyResult:
    """The walk: the whole chain, or (``objects``, ``start``, ``prev``) the events after a checkpoint
    (segments sealed at or before event ``start - 1`` are then covered by the checkpoint)."""
    head_raw = store.get_or_none(HEAD)
    head_seq = int(json.loads(head_raw)["seq"]) if head_raw else -1
    if objects is None:
        objects = _read_all(store)
    structural, checked, last = _structure(objects, head_seq, start, prev)
    events = [ev for _, _, ev in objects if isinstance(ev, dict)]
    findings: list[Finding] = list(extra or [])
    if structural:
        findings.insert(0, structural)
    from socialhub.audit.segments import verify_segments

    seg = verify_segments(store, k, events, now=now or datetime.now(UTC), grace=grace,
                          covered_upto=start - 1 if start > 0 else None, listing=segment_keys,
                          keyed_log=keyed_before or any(_is_keyed(ev) for ev in events))
    mac_findings, keyed = _macs(events, k, keyed_before, more_with_macs=seg.with_macs)
    findings += mac_findings
    findings += seg.findings
    keyed += seg.keyed
    result = VerifyResult(True, checked, keyed=keyed, key_ids=k.ids if k is not None and keyed else [],
                          anchor=a.label if a is not None else None, verified_from=start,
                          verified_to=checked - 1, events_read=len(objects) + seg.read,
                          segments=seg.segments, segment_events=seg.events, segments_skipped=seg.skipped,
                          open_segments=seg.open)
    if a is None:
        findings.append(Finding("unanchored", None, (
            "no anchor given (SOCIALHUB_AUDIT_ANCHOR or --anchor): deleting the newest events and rewriting "
            "head.json cannot be detected")))
    else:
        by_seq = {int(ev["seq"]): ev for ev in events if isinstance(ev.get("seq"), int)}
        last_seq = max([s for _, s, _ in objects if s is not None], default=start - 1)
        findings += _anchors(a, k, by_seq, last_seq, [f for f in findings if f.failure], result)
    failures = [f for f in findings if f.failure]
    result.findings = failures + [f for f in findings if not f.failure]
    result.problems = [f.message for f in failures]
    if failures:
        first = structural if structural else min(failures, key=lambda f: (
            f.segment is not None, f.seq is None, f.seq or 0, f.segment or ""))
        result.ok, result.first_bad, result.problem = False, first.seq, first.message
        result.first_bad_segment = first.segment
        result.findings = [first] + [f for f in result.findings if f is not first]
    else:
        result.last_hash = last if checked else None
    return result
