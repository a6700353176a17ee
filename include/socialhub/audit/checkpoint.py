"""Verified checkpoints: so a daily ``audit verify`` re-walks only the events since the last one.

After a verification that found no failure, a checkpoint ``{seq, hash, count, verified_at,
verified_by, key_ids, mode, from_checkpoint}`` is written write-once to
``audit/checkpoints/<seq>.json``. It says "events 0..seq were verified intact, and event ``seq``
had this hash". An incremental verify (``verify_chain(..., since_checkpoint=True)``) then:

1. takes the newest checkpoint that is **valid**: its MAC verifies with an audit key given
   (``key_id`` + ``mac`` over its fields, so whoever can write the store but lacks the key cannot
   forge one that skips tampered events; a wrong MAC is a ``bad_checkpoint`` failure), and, when
   an anchor is configured, an anchor record holds the same (seq, hash). A checkpoint without a
   MAC is used only with ``trust_unkeyed`` (``--trust-unkeyed-checkpoint``), and the result says so;
2. confirms the past still matches it: events ``0..seq`` are all there (from the listing, no
   reads) and event ``seq`` still has the checkpoint's hash. If not, the events before the
   checkpoint were changed: ``checkpoint_mismatch`` is a failure and the whole chain is re-walked;
3. re-walks only the events after ``seq``, chained from the checkpoint's hash.

Segments (``socialhub.audit.segments``): a segment sealed at or before the checkpoint's event is
covered by it (its seal is in the verified past) and is not read again, only counted: if its
folder no longer holds as many events as its seal marker says, that is a ``checkpoint_mismatch``
and everything is re-verified. Segments sealed after the checkpoint, and open ones, are verified.

What it does not prove: a change before the checkpoint that keeps event ``seq``'s hash needs a
new hash chain up to it, i.e. re-hashing, which the key's MACs catch only on a full verify.
Whoever holds the key can forge a checkpoint; a full verify (weekly) re-checks everything.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from socialhub.audit.anchor import Anchor, anchor_message, make_record
from socialhub.audit.chain import (
    GENESIS,
    PREFIX,
    SEGMENT_GRACE,
    SEGMENTS,
    Finding,
    VerifyResult,
    _is_keyed,
    _verify,
    event_hash,
    event_key,
)
from socialhub.audit.keys import AuditKeys
from socialhub.errors import ImmutableObjectError
from socialhub.models import canonical_json, utc_iso
from socialhub.storage.base import ObjectStore

CHECKPOINTS = "audit/checkpoints/"
FIELDS = ("seq", "hash", "count", "verified_at", "verified_by", "key_ids", "mode", "from_checkpoint")


def checkpoint_key(seq: int) -> str:
    return f"{CHECKPOINTS}{seq:012d}.json"


def checkpoint_message(record: dict[str, Any]) -> str:
    body = {k: record.get(k) for k in (*FIELDS, "key_id")}
    return f"socialhub-audit-checkpoint-v1\n{canonical_json(body).decode()}"


def _anchored(anchor: Anchor, keys: AuditKeys | None, seq: int, hash_hex: str) -> bool | None:
    """Whether a valid anchor record holds (seq, hash): True, False, or None if the anchor cannot be read."""
    try:
        records = anchor.records()
    except Exception:  # noqa: BLE001 - unreadable anchors: the checkpoint cannot be confirmed
        return None
    for rec in records:
        if rec.get("seq") != seq or rec.get("hash") != hash_hex:
            continue
        kid = rec.get("key_id")
        if kid is not None or "mac" in rec:
            if keys is not None and (not keys.has(str(kid)) or not keys.check(str(kid), anchor_message(rec),
                                                                               rec.get("mac"))):
                continue  # forged or unverifiable: not a confirmation
        return True
    return False


def check_checkpoint(record: Any, keys: AuditKeys | None, anchor: Anchor | None, *,
                     trust_unkeyed: bool = False) -> tuple[bool, str | None, Finding | None]:
    """(usable, note, failure finding): whether a checkpoint may be started from, and why not."""
    if not isinstance(record, dict) or not isinstance(record.get("seq"), int) or record["seq"] < 0 \
            or not isinstance(record.get("hash"), str):
        return False, "an unreadable checkpoint was skipped", None
    seq = record["seq"]
    where = f"checkpoint at event {seq} ({record.get('verified_at')})"
    trusted_unkeyed = False
    if "mac" in record or "key_id" in record:
        kid = record.get("key_id")
        if keys is None:
            if not trust_unkeyed:
                return False, (f"{where} carries a MAC but no key was given to check it; skipped (give the key, or "
                               "--trust-unkeyed-checkpoint)"), None
            trusted_unkeyed = True
        elif not keys.has(str(kid) if kid is not None else None):
            return False, f"{where} is signed with key id {kid!r}, not among the keys given; skipped", None
        elif not keys.check(str(kid), checkpoint_message(record), record.get("mac")):
            return False, None, Finding("bad_checkpoint", seq, (
                f"{where} has a MAC that does not verify: forged or altered by someone without the key (ignored; "
                "verified from an older checkpoint or from the start)"))
    else:
        if not trust_unkeyed:
            return False, (f"{where} has no MAC (written without an audit key): anyone who can write the store "
                           "could have written it, so it is not used without --trust-unkeyed-checkpoint"), None
        trusted_unkeyed = True
    if anchor is not None:
        anchored = _anchored(anchor, keys, seq, record["hash"])
        if not anchored:
            why = "the anchors cannot be read" if anchored is None else "no anchor record holds its event and hash"
            return False, f"{where} is not confirmed by the anchor at {anchor.label} ({why}); skipped", None
    note = (f"{where} is UNKEYED and was trusted because --trust-unkeyed-checkpoint was given: anyone who can "
            "write the store could have forged it") if trusted_unkeyed else None
    return True, note, None


def checkpoints(store: ObjectStore) -> list[tuple[str, Any]]:
    """(key, parsed record or None) for every checkpoint, newest first."""
    out: list[tuple[str, Any]] = []
    for key in sorted(store.list(CHECKPOINTS), reverse=True):
        try:
            out.append((key, json.loads(store.get(key))))
        except ValueError:
            out.append((key, None))
    return out


def verify_from_checkpoint(store: ObjectStore, keys: AuditKeys | None, anchor: Anchor | None, *,
                           trust_unkeyed: bool = False, now: datetime | None = None,
                           grace: timedelta = SEGMENT_GRACE) -> VerifyResult:
    """Verify from the newest valid checkpoint (see the module docstring); a full verify when there is none."""
    notes: list[str] = []
    extra: list[Finding] = []
    chosen: dict[str, Any] | None = None
    for _, rec in checkpoints(store):
        ok, note, bad = check_checkpoint(rec, keys, anchor, trust_unkeyed=trust_unkeyed)
        if bad is not None:
            extra.append(bad)
        if ok:
            if note:
                notes.append(note)
            chosen = rec
            break
        if note:
            notes.append(note)

    def full(why: str, finding: Finding | None = None) -> VerifyResult:
        result = _verify(store, keys, anchor, extra=extra + ([finding] if finding else []), now=now, grace=grace)
        result.notes = notes + [why]
        return result

    if chosen is None:
        return full("no valid checkpoint: the whole chain was verified")
    seq, cp_hash = int(chosen["seq"]), str(chosen["hash"])
    keys_listed = store.list(PREFIX)
    numbered: list[tuple[str, int | None]] = []
    for key in keys_listed:
        try:
            numbered.append((key, int(key[len(PREFIX):].removesuffix(".json"))))
        except ValueError:
            numbered.append((key, None))
    before = sorted(n for _, n in numbered if n is not None and n <= seq)
    raw = store.get_or_none(event_key(seq))
    try:
        cp_event = json.loads(raw) if raw is not None else None
    except ValueError:
        cp_event = None
    where = f"the checkpoint at event {seq} ({chosen.get('verified_at')})"
    if before != list(range(seq + 1)):
        return full("the events before the checkpoint changed: the whole chain was verified", Finding(
            "checkpoint_mismatch", seq, (f"events before {where} were removed or renumbered since it was verified; "
                                         "the whole chain was re-verified")))
    if not isinstance(cp_event, dict) or cp_event.get("hash") != cp_hash or event_hash(cp_event) != cp_hash:
        return full("the event at the checkpoint changed: the whole chain was verified", Finding(
            "checkpoint_mismatch", seq, (f"event {seq} no longer has the hash recorded by {where}: the chain up to "
                                         "it was changed since it was verified; the whole chain was re-verified")))
    from socialhub.audit.segments import layout

    segment_keys = store.list(SEGMENTS)
    for sid, lay in layout(segment_keys)[0].items():
        covered = [count for marker_seq, count in lay.markers if marker_seq <= seq]
        if covered and covered[0] != len(lay.events):
            return full("a segment sealed before the checkpoint changed: the whole log was verified", Finding(
                "checkpoint_mismatch", None, (
                    f"segment {sid} was sealed with {covered[0]} event(s) before {where} but now holds "
                    f"{len(lay.events)}: events of it were removed or added since it was verified; the whole log "
                    "was re-verified"), sid))
    objects: list[tuple[str, int | None, Any]] = []
    for key, n in numbered:
        if n is not None and n <= seq:
            continue
        try:
            event = json.loads(store.get(key))
        except ValueError:
            event = None
        objects.append((key, n, event))
    result = _verify(store, keys, anchor, objects=objects, start=seq + 1, prev=cp_hash,
                     keyed_before=_is_keyed(cp_event), extra=extra, now=now, grace=grace, segment_keys=segment_keys)
    result.mode, result.checkpoint = "incremental", dict(chosen)
    result.events_read += 1  # the checkpoint's own event
    result.notes = notes
    return result


def write_checkpoint(store: ObjectStore, result: VerifyResult, keys: AuditKeys | None, anchor: Anchor | None,
                     *, by: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Record ``result`` (a clean verify) as a checkpoint, write-once, MAC'd when keyed; with an anchor,
    first anchor its head unless an anchor record already holds it. Returns the checkpoint (the one
    already there when the head was checkpointed before). Raises ``ValueError`` for a failed or empty verify."""
    if not result.ok or not result.events or result.last_hash is None or result.last_hash == GENESIS:
        raise ValueError("only a clean verify of a non-empty log can be checkpointed")
    seq = result.events - 1
    if anchor is not None and not _anchored(anchor, keys, seq, result.last_hash):
        anchor.write(make_record(seq, result.last_hash, keys, at))
    record: dict[str, Any] = {
        "seq": seq, "hash": result.last_hash, "count": result.events, "verified_at": utc_iso(at or datetime.now(UTC)),
        "verified_by": by or _whoami(), "key_ids": list(keys.ids) if keys is not None else [], "mode": result.mode,
        "from_checkpoint": (result.checkpoint or {}).get("seq"),
    }
    if keys is not None:
        record["key_id"] = keys.signing_id
        record["mac"] = keys.mac(keys.signing_id, checkpoint_message(record))
    try:
        store.put(checkpoint_key(seq), canonical_json(record), content_type="application/json")
    except ImmutableObjectError:
        try:
            existing = json.loads(store.get(checkpoint_key(seq)))
        except ValueError:
            existing = None
        if not isinstance(existing, dict) or existing.get("hash") != result.last_hash:
            raise RuntimeError(f"a different checkpoint for event {seq} is already stored; not replaced "
                               "(write-once): an incremental verify will report it") from None
        return dict(existing)
    return record


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (containers): still say something
        return "unknown"


__all__ = ["CHECKPOINTS", "check_checkpoint", "checkpoint_key", "checkpoint_message", "checkpoints",
           "verify_from_checkpoint", "write_checkpoint"]
