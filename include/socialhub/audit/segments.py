"""Audit segments: verifying them, and sealing the ones a crashed writer left open.

A segmented writer (``AuditLog(..., segmented=True)``; every Airflow task) writes its events to
``audit/segments/<segment-id>/<n>.json``: ``n`` counts from 0, the first event's ``prev`` is
``segment_genesis(<segment-id>)`` and each next event's ``prev`` is the hash of the one before,
so a segment is a hash chain of its own (with ``mac``/``body_mac`` when keyed, the body MAC over
the segment id, ``n`` and the content). The first event also records ``after``: the global
chain's head (as ``audit/head.json`` said) when the segment was opened.

When the writer closes, it appends a **seal** to the global chain (action ``segment_seal``,
``details``: segment, count, last_hash, first/last time, ``closed_by``), MAC'd like every global
event, then a marker ``sealed-<seq>-<count>.json`` in the segment's folder (an index for
incremental verifies, never trusted on its own). Anchors cover the global chain, so they cover
the seals, so they cover every sealed segment.

``verify_segments`` (called by ``verify_chain``) checks, for every segment:

* its own chain: ``gap``, ``not_json``, ``moved``, ``bad_hash``, ``broken_prev``, ``stray``;
* its MACs (with a key): ``rewritten``, ``inserted``, ``removed``, ``rehashed``, ``mac_missing``,
  ``unknown_key``, as for the global chain;
* against its seal: fewer events than sealed is ``truncated``, more is ``inserted``, a different
  last hash ``rewritten``; a seal naming a segment that has no events is ``segment_missing``;
* a segment without a seal is ``segment_open`` (a warning) while its newest event is younger
  than the grace period, ``segment_unsealed`` (a failure) after it; one sealed by housekeeping
  (``close_stale_segments``) is ``segment_closed_late`` (a warning: its writer died, and events
  it may have been about to write are not covered).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from socialhub.audit.anchor import Anchor
from socialhub.audit.chain import (
    FROM_ENV,
    PREFIX,
    SEAL_ACTION,
    SEGMENT_GRACE,
    SEGMENTS,
    AuditLog,
    Finding,
    _is_keyed,
    _macs,
    event_hash,
    parse_segment_key,
    seal_segment,
    sealed_marker_key,
    segment_genesis,
)
from socialhub.audit.keys import AuditKeys
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)


@dataclass
class Layout:
    """One segment as listed: its event keys by number, and its sealed markers (seq, count)."""

    events: dict[int, str] = field(default_factory=dict)
    markers: list[tuple[int, int]] = field(default_factory=list)


def layout(keys: list[str]) -> tuple[dict[str, Layout], list[str]]:
    """The listing of ``audit/segments/`` by segment, and the keys that belong to no segment (strays)."""
    out: dict[str, Layout] = defaultdict(Layout)
    strays: list[str] = []
    for key in keys:
        parsed = parse_segment_key(key)
        if parsed is None:
            strays.append(key)
            continue
        sid, n, marker = parsed
        if n is not None:
            out[sid].events[n] = key
        elif marker is not None:
            out[sid].markers.append(marker)
    return dict(out), strays


@dataclass
class SegmentReport:
    findings: list[Finding] = field(default_factory=list)
    segments: int = 0     # segments whose events were walked
    events: int = 0       # events in them
    read: int = 0         # objects read (GETs)
    skipped: int = 0      # sealed segments covered by a checkpoint
    keyed: int = 0        # events whose MACs were checked
    with_macs: int = 0    # events carrying MACs (checked or not)
    open: list[str] = field(default_factory=list)


def _parse_time(text: Any) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _newest(sid: str, events: list[dict[str, Any]]) -> datetime | None:
    """When the segment's writer last wrote, at the latest: its newest event's time, or (events recorded
    with a past ``at``) the wall-clock time in its id when it was opened, whichever is later."""
    times = [t for t in (_parse_time(ev.get("time")) for ev in events) if t is not None]
    try:
        times.append(datetime.strptime(sid[:22], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC))
    except ValueError:
        pass
    return max(times, default=None)


def _load(store: ObjectStore, lay: Layout) -> list[tuple[str, int, Any]]:
    out: list[tuple[str, int, Any]] = []
    for n in sorted(lay.events):
        try:
            ev = json.loads(store.get(lay.events[n]))
        except ValueError:
            ev = None
        out.append((lay.events[n], n, ev))
    return out


def walk(sid: str, objects: list[tuple[str, int, Any]]) -> tuple[Finding | None, int, str]:
    """A segment's own chain: (the first structural finding or None, events intact from 0, last intact hash)."""
    prev, expected = segment_genesis(sid), 0
    for _key, n, ev in objects:
        at = f"event {n} of segment {sid}"
        if n != expected:
            return Finding("gap", expected, f"event {expected} of segment {sid} is missing (next found is {n})",
                           sid), expected, prev
        if not isinstance(ev, dict):
            return Finding("not_json", n, f"{at} is not valid JSON (altered)", sid), expected, prev
        if ev.get("segment") != sid or ev.get("n") != n:
            return Finding("moved", n, f"{at} claims to be event {ev.get('n')} of segment {ev.get('segment')} "
                                       "(moved, copied or reordered)", sid), expected, prev
        if ev.get("hash") != event_hash(ev):
            return Finding("bad_hash", n, f"{at} was altered (its hash does not match)", sid), expected, prev
        if ev.get("prev") != prev:
            return Finding("broken_prev", n, f"{at} does not follow event {n - 1} of its segment (reordered, "
                                             "replaced or inserted)", sid), expected, prev
        prev, expected = str(ev["hash"]), expected + 1
    return None, expected, prev


def _seals(global_events: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[Finding]]:
    seals: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    for ev in global_events:
        if ev.get("action") != SEAL_ACTION:
            continue
        sid = str((ev.get("details") or {}).get("segment"))
        if sid in seals:
            findings.append(Finding("inserted", ev.get("seq"), (
                f"segment {sid} is sealed twice (events {seals[sid].get('seq')} and {ev.get('seq')}): a second seal "
                "was added to the global chain")))
            continue
        seals[sid] = ev
    return seals, findings


def verify_segments(store: ObjectStore, keys: AuditKeys | None, global_events: list[dict[str, Any]], *,
                    now: datetime, grace: timedelta = SEGMENT_GRACE, covered_upto: int | None = None,
                    listing: list[str] | None = None, keyed_log: bool = False) -> SegmentReport:
    """Verify every segment (see the module doc). ``global_events``: the global events walked (their
    seals are the ones checked); ``covered_upto``: an incremental verify from a checkpoint at that
    global event, so segments whose marker says they were sealed at or before it are skipped."""
    report = SegmentReport()
    seals, report.findings = _seals(global_events)
    by_seq = {ev["seq"]: ev for ev in global_events if isinstance(ev.get("seq"), int)}
    segs, strays = layout(store.list(SEGMENTS) if listing is None else listing)
    for key in strays:
        report.findings.append(Finding("stray", None, f"unexpected object {key} in the audit segments"))
    for sid in sorted(set(segs) | set(seals)):
        seal = seals.get(sid)
        lay = segs.get(sid, Layout())
        if seal is None and covered_upto is not None and any(seq <= covered_upto for seq, _ in lay.markers):
            report.skipped += 1
            continue
        details = (seal or {}).get("details") or {}
        if not lay.events:
            if seal is not None:
                report.findings.append(Finding("segment_missing", None, (
                    f"global event {seal.get('seq')} seals segment {sid} with {details.get('count')} event(s), but "
                    "none of its events is in the store: the whole segment was deleted"), sid))
            continue
        objects = _load(store, lay)
        report.read += len(objects)
        report.segments += 1
        report.events += len(objects)
        structural, intact, last = walk(sid, objects)
        found: list[Finding] = [structural] if structural else []
        events = [ev for _, _, ev in objects if isinstance(ev, dict)]
        macs, checked = _macs(events, keys, number="n")
        report.keyed += checked
        found += [Finding(f.kind, f.seq, f"segment {sid}: {f.message}", sid) for f in macs if f.kind != "unkeyed"]
        keyed_events = sum(1 for ev in events if _is_keyed(ev))
        report.with_macs += keyed_events
        first = events[0] if events and events[0].get("n") == 0 else {}
        after = first.get("after") if isinstance(first.get("after"), dict) else None
        if after is not None and after.get("seq") in by_seq and by_seq[after["seq"]].get("hash") != after.get("hash"):
            found.append(Finding("broken_prev", 0, (
                f"segment {sid} began after global event {after['seq']} with hash {str(after.get('hash'))[:16]}…, "
                "which now has another hash: the global chain was rewritten after the segment began"), sid))
        if seal is not None:
            if _is_keyed(seal) and keyed_events < len(events):
                found.append(Finding("mac_missing", None, (
                    f"segment {sid} has {len(events) - keyed_events} event(s) without a MAC although its seal "
                    f"(global event {seal.get('seq')}) carries one: written without the key, or stripped"), sid))
            count = details.get("count")
            if structural is None and isinstance(count, int) and intact > count:
                # events after the seal's count: inserted, whatever their MACs say
                found = [f for f in found if f.seq is None or f.seq < count]
                found += _against_seal(sid, seal, details, objects, intact, last)
            elif not any(f.failure for f in found):
                found += _against_seal(sid, seal, details, objects, intact, last)
            if details.get("closed_by") == "housekeeping":
                found.append(Finding("segment_closed_late", None, (
                    f"segment {sid} was sealed by housekeeping at global event {seal.get('seq')} on {seal.get('time')}, "
                    f"not by its writer (its task crashed or was killed): its {details.get('count')} event(s) are "
                    "covered from then on, events its writer may have lost before that are not"), sid))
        else:
            report.open.append(sid)
            if keys is not None and keyed_log and keyed_events < len(events):
                found.append(Finding("mac_missing", None, (
                    f"open segment {sid} has {len(events) - keyed_events} event(s) without a MAC although the log "
                    "is keyed: written without the key, or forged"), sid))
            newest = _newest(sid, events)
            age = now - newest if newest is not None else None
            if age is not None and age <= grace:
                found.append(Finding("segment_open", None, (
                    f"segment {sid} ({len(objects)} event(s), newest {newest.isoformat() if newest else '?'}) is not "
                    f"sealed yet: its writer is still running, or crashed less than {_hours(grace)} ago "
                    "(housekeeping seals it after that)"), sid))
            else:
                found.append(Finding("segment_unsealed", None, (
                    f"segment {sid} has {len(objects)} event(s), the newest from "
                    f"{newest.isoformat() if newest else 'an unreadable time'}, but no seal in the global chain after "
                    f"the {_hours(grace)} grace period: its writer crashed and housekeeping has not sealed it (run "
                    "the socialhub_housekeeping DAG or `socialhub audit seal`), or its seal was removed"),
                    sid))
        report.findings += found
    return report


def _hours(grace: timedelta) -> str:
    h = grace.total_seconds() / 3600
    return f"{h:g} hour(s)"


def _against_seal(sid: str, seal: dict[str, Any], details: dict[str, Any], objects: list[tuple[str, int, Any]],
                  intact: int, last: str) -> list[Finding]:
    count, sealed_hash, where = details.get("count"), details.get("last_hash"), f"global event {seal.get('seq')}"
    if not isinstance(count, int):
        return [Finding("bad_hash", seal.get("seq"), f"the seal of segment {sid} ({where}) has no event count")]
    if intact < count:
        return [Finding("truncated", intact, (
            f"segment {sid} has {intact} event(s) but its seal ({where}) says it had {count}: events "
            f"{intact}..{count - 1} were removed (cut off its end, or removed and the rest renumbered)"), sid)]
    if intact > count:
        return [Finding("inserted", count, (
            f"segment {sid} has {intact} event(s) but its seal ({where}) says it had {count}: events "
            f"{count}..{intact - 1} were added after it was sealed"), sid)]
    if last != sealed_hash:
        return [Finding("rewritten", count - 1, (
            f"segment {sid}'s last event has another hash than its seal ({where}) recorded: the segment was "
            "changed and re-hashed after it was sealed"), sid)]
    return []


def close_stale_segments(store: ObjectStore, keys: AuditKeys | None | Literal["env"] = FROM_ENV,
                         anchor: Anchor | None | Literal["env"] = FROM_ENV, *, now: datetime | None = None,
                         grace: timedelta = SEGMENT_GRACE,
                         actor: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Seal every segment left open (no seal) whose newest event is older than ``grace``: the seals written.

    Seals the segment's intact prefix (from event 0 up to the first broken or missing one, which
    ``verify`` then reports), with ``closed_by: housekeeping``."""
    now = now or datetime.now(UTC)
    actor = actor or {"kind": "process", "name": "socialhub audit seal"}
    segs, _ = layout(store.list(SEGMENTS))
    candidates = [sid for sid, lay in segs.items() if lay.events and not lay.markers]
    if not candidates:
        return []
    # a seal may be written without its marker (a crash in between): the global chain is the truth
    sealed: dict[str, int] = {}
    for key in store.list(PREFIX):
        try:
            ev = json.loads(store.get(key))
        except ValueError:
            continue
        if isinstance(ev, dict) and ev.get("action") == SEAL_ACTION:
            sealed[str((ev.get("details") or {}).get("segment"))] = int(ev.get("seq", -1))
    writer = AuditLog(store, keys=keys, anchor=anchor)
    out: list[dict[str, Any]] = []
    for sid in sorted(candidates):
        lay = segs[sid]
        if sid in sealed:
            count = len(lay.events)
            try:
                store.put(sealed_marker_key(sid, sealed[sid], count), b"{}", content_type="application/json")
            except Exception:  # noqa: BLE001 - only an index
                pass
            continue
        objects = _load(store, lay)
        events = [ev for _, _, ev in objects if isinstance(ev, dict)]
        newest = _newest(sid, events)
        if newest is not None and now - newest <= grace:
            continue  # still within the grace period: its writer may be running
        structural, intact, last = walk(sid, objects)
        note = None
        if structural is not None or intact < len(objects):
            note = (f"sealed its {intact} intact event(s); {len(objects) - intact} listed object(s) after them are "
                    f"broken or out of place ({structural.message if structural else 'see audit verify'})")
        if intact == 0:
            log.warning("audit segment %s has no intact event: sealed as empty so verify reports it", sid)
        first_time = str(events[0].get("time")) if events else None
        last_time = newest.isoformat() if newest is not None else None
        seal = seal_segment(writer, sid, intact, last, actor=actor, closed_by="housekeeping",
                            first_time=first_time, last_time=last_time, at=now, note=note)
        log.warning("sealed audit segment %s left open by a crashed writer (%d event(s), newest %s)", sid, intact,
                    last_time)
        out.append(seal)
    return out


__all__ = ["Layout", "SegmentReport", "close_stale_segments", "layout", "verify_segments", "walk"]
