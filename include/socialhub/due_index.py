"""The due index: one object per platform saying, per account, what the planner needs.

Planning reads, per authorised account, its ``last_polled``, the ``polls`` ledger the rate budget
counts (``sources.budget``), the YouTube unit ledger ``quota`` and whether it has a ``cursor``
(a first YouTube poll costs more). Read from every account's cursor state that is one GET per
account per run: 10,000 GETs every five minutes on S3. The index keeps those fields for every
account of one platform in one object, so planning costs one GET per platform plus a few deltas.

    state/index/<platform>/due.json                 the index (a hint, ``put_hint``)
    state/index/<platform>/deltas/<name>.json       one per collection shard run since the last plan

**Writers never share an object.** Collection shards run in parallel (on different workers and
hosts): each writes, once it has finished, one small *delta* of its own naming the accounts it
polled (``record_shard_polls``). Only the plan task of the platform (one per run) writes the
index: it reads the index and the deltas, merges them, writes the new index, then deletes the
deltas it merged (and only those: a delta written meanwhile waits for the next plan).

**The cursor states stay the truth; the index is a hint that is rebuilt.** The merge is
idempotent (the latest ``last_polled``, the union of the poll ledgers, the larger unit count per
day), so a plan that crashed after writing the index but before deleting the deltas merges them
again harmlessly. If the index is missing, unreadable, of an unknown version, or a delta is
unreadable, every account's cursor state is read (one GET each, as without the index) and the
index is rebuilt; the log says why. An account the index does not know (new to the watchlist, or
re-added) has its own cursor state read once, and is then known.

**What a lost delta costs.** If a shard stopped after moving cursors but before writing its delta
(a killed worker), the index thinks those accounts were polled less recently than they were.
They are polled again sooner: a harmless extra poll, as collection always starts from the
cursor state (never from the index), drops posts a recent batch already holds
(``collect._drop_already_stored``) and names batches by content (``collect._batch_id``, a retried
batch keeps its first manifest). The rate budget counts those few polls late (the planned share
of each budget, 50 %, leaves room). The next poll's delta corrects the index.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from socialhub.errors import SocialhubError
from socialhub.models import canonical_json, utc_iso
from socialhub.sources.budget import LEDGER_FIELD, ledger_keep
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

#: the index and delta format; an index of another version is rebuilt from the cursor states
VERSION = 1
#: an AccountOutcome field (``collect_account``) carrying the account's index entry to ``record_shard_polls``
OUTCOME_FIELD = "due_index"


def entry_of(state: Mapping[str, Any]) -> dict[str, Any]:
    """An account's index entry from its cursor state: only what planning reads, empty fields left out."""
    out: dict[str, Any] = {}
    if state.get("last_polled"):
        out["last_polled"] = str(state["last_polled"])
    if state.get(LEDGER_FIELD):
        out[LEDGER_FIELD] = [str(p) for p in state[LEDGER_FIELD]]
    if state.get("quota"):
        out["quota"] = {str(k): int(v) for k, v in dict(state["quota"]).items()}
    if state.get("cursor"):
        out["cursor"] = True
    return out


def state_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The planner's view of an account (the fields of its cursor state that planning reads)."""
    return dict(entry)


def _time(value: Any) -> datetime | None:
    from socialhub.sources.budget import _parse

    return _parse(value)


def merge_entries(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    """Two views of one account merged: the later ``last_polled``, the union of the poll ledgers
    (times older than the longest budget horizon before ``now`` dropped: no budget counts them),
    per quota day the larger unit count (a day's count only grows), and ``cursor`` if either has one.
    Idempotent, commutative and associative, so deltas may be merged twice or in any order."""
    a, b = a or {}, b or {}
    out: dict[str, Any] = {}
    lasts = [v for v in (a.get("last_polled"), b.get("last_polled")) if v]
    if lasts:
        out["last_polled"] = max(lasts, key=lambda v: (_time(v) or datetime.min.replace(tzinfo=now.tzinfo), v))
    cutoff = now - ledger_keep()
    polls = {p for p in [*(a.get(LEDGER_FIELD) or []), *(b.get(LEDGER_FIELD) or [])]
             if (t := _time(p)) is not None and t > cutoff}
    if polls:
        out[LEDGER_FIELD] = sorted(polls, key=lambda p: (_time(p), p))
    quota = _merge_quota(a.get("quota") or {}, b.get("quota") or {}, now)
    if quota:
        out["quota"] = quota
    if a.get("cursor") or b.get("cursor"):
        out["cursor"] = True
    return out


def _merge_quota(a: Mapping[str, int], b: Mapping[str, int], now: datetime) -> dict[str, int]:
    """Per Pacific day the larger count; only today and yesterday are kept (planning reads today's)."""
    from socialhub.sources.quota import quota_day

    oldest = (quota_day(now) - timedelta(days=1)).isoformat()
    days = {k for k in (*a, *b) if k >= oldest}
    return {k: max(int(a.get(k, 0)), int(b.get(k, 0))) for k in sorted(days)}


def _parse_doc(raw: bytes | None, platform: str, kind: str) -> tuple[dict[str, Any] | None, str]:
    """(the document's accounts, "") if usable, else (None, why not)."""
    if raw is None:
        return None, "missing"
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        return None, f"unreadable ({exc})"
    if not isinstance(doc, dict):
        return None, "unreadable (not a JSON object)"
    if doc.get("version") != VERSION:
        return None, f"of version {doc.get('version')!r}, this code writes {VERSION}"
    if doc.get("platform") != platform or not isinstance(doc.get("accounts"), dict):
        return None, f"not a {kind} of {platform}"
    accounts = doc["accounts"]
    if not all(isinstance(k, str) and isinstance(v, dict) for k, v in accounts.items()):
        return None, "unreadable (an account entry is not an object)"
    return accounts, ""


def load_states(store: ObjectStore, platform: str, entries: Sequence[Any], now: datetime
                ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The planner's view of each of ``entries`` (authorised watchlist entries of ``platform``) by key,
    from the platform's index and deltas; then the new index is written and the merged deltas deleted.

    Returns (states, info): ``info`` says where the states came from (``source``: ``index`` or
    ``rebuilt`` and why), how many deltas were merged and how many cursor states were read.
    """
    index_key = layout.due_index_key(platform)
    known, why = _parse_doc(store.get_or_none(index_key), platform, "due index")
    delta_keys = store.list(layout.due_delta_prefix(platform))
    deltas: list[dict[str, Any]] = []
    for key in delta_keys:
        accounts, bad = _parse_doc(store.get_or_none(key), platform, "due index delta")
        if accounts is None:
            if bad == "missing":     # deleted meanwhile by another plan: it merged it
                continue
            known, why = None, f"delta {key} is {bad}"
            break
        deltas.append(accounts)
    info: dict[str, Any] = {"platform": platform, "deltas": len(delta_keys), "cursor_reads": 0}
    merged: dict[str, dict[str, Any]] = {}
    if known is None:
        # the cursor states are the truth: read them all (a delta is never newer than its cursor state)
        log.warning("due index of %s is %s: rebuilding it from the cursor states of its %d account(s)",
                    platform, why, len(entries))
        merged.update(_read_cursor_states(store, platform, entries))
        info.update(source="rebuilt", reason=why, cursor_reads=len(entries))
    else:
        merged = {k: dict(v) for k, v in known.items()}
        for accounts in deltas:
            for k, v in accounts.items():
                merged[k] = merge_entries(merged.get(k), v, now)
        unknown = [e for e in entries if e.key not in merged]
        # new to the watchlist (no cursor yet) or re-added (its cursor is the truth)
        merged.update(_read_cursor_states(store, platform, unknown))
        if unknown:
            log.info("due index of %s: %d account(s) it did not know read from their cursor states",
                     platform, len(unknown))
        info.update(source="index", cursor_reads=len(unknown))
    wanted = {e.key for e in entries}
    # merged again with itself: the poll ledgers lose times no budget counts any more
    accounts = {k: merge_entries(v, None, now) for k, v in sorted(merged.items()) if k in wanted}
    doc = {"version": VERSION, "platform": platform, "written": utc_iso(now), "accounts": accounts}
    try:
        store.put_hint(index_key, canonical_json(doc))
    except SocialhubError as exc:   # the plan goes on; the deltas stay for the next plan to merge
        log.warning("could not write the due index of %s (%s); the next plan merges the same deltas", platform, exc)
        return {k: state_of(v) for k, v in accounts.items()}, dict(info, written=False)
    for key in delta_keys:       # only the deltas merged here: one written meanwhile waits for the next plan
        try:
            store.delete(key)
        except SocialhubError as exc:
            log.warning("could not delete merged due index delta %s (%s); merging it again is harmless", key, exc)
    return {k: state_of(v) for k, v in accounts.items()}, dict(info, written=True)


#: reading more cursor states than this, the platform's cursor folder is listed first and only the
#: cursors that exist are read (a listing page holds 1,000 keys; a new account has no cursor to read)
LIST_CURSORS_ABOVE = 100


def _read_cursor_states(store: ObjectStore, platform: str, entries: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """The index entries of ``entries`` from their cursor states. Many at once: one listing of the
    platform's cursors, then a read of each that exists (a watchlist of new accounts costs one
    listing, not one read each). A cursor written after the listing counts as missing: its account
    is polled early once, never twice within a poll."""
    from socialhub.collect import load_cursor_state

    if len(entries) <= LIST_CURSORS_ABOVE:
        return {e.key: entry_of(load_cursor_state(store, e.platform, e.account)) for e in entries}
    prefix = layout.cursor_key(platform, "x").rsplit("/", 1)[0] + "/"
    present = set(store.list(prefix))
    return {e.key: (entry_of(load_cursor_state(store, e.platform, e.account))
                    if layout.cursor_key(e.platform, e.account) in present else {}) for e in entries}


def record_shard_polls(store: ObjectStore, platform: str, run_id: str | None, shard_index: int,
                       outcomes: Iterable[dict[str, Any]], *, now: datetime | None = None) -> str | None:
    """Write one delta naming the accounts this shard run polled (their index entries); returns its key
    (None if no outcome carried one). The outcomes' ``OUTCOME_FIELD`` is taken out of them (it has
    poll times, which XCom need not carry). A write that fails is logged, not raised: the batches and
    cursors are stored, and a missing delta only makes those accounts look less recently polled."""
    from datetime import UTC

    accounts: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        entry = o.pop(OUTCOME_FIELD, None)
        if entry is not None and o.get("platform") == platform:
            key = f"{platform}:{o['account']}"
            accounts[key] = merge_entries(accounts.get(key), entry, now) if now else dict(entry)
    if not accounts:
        return None
    at = now or datetime.now(UTC)
    name = f"{at.strftime('%Y%m%dT%H%M%S')}-{int(shard_index):04d}-{secrets.token_hex(4)}"
    key = layout.due_delta_key(platform, name)
    doc = {"version": VERSION, "platform": platform, "run_id": run_id, "shard": int(shard_index),
           "written": utc_iso(at), "accounts": accounts}
    try:
        store.put_hint(key, canonical_json(doc))
    except SocialhubError as exc:
        log.warning("could not write the due index delta of %s shard %s (%s): those %d account(s) may be "
                    "polled again early", platform, shard_index, exc, len(accounts))
        return None
    return key


__all__ = ["OUTCOME_FIELD", "VERSION", "entry_of", "load_states", "merge_entries", "record_shard_polls",
           "state_of"]
