"""Collection: plan which accounts are due, fetch them shard by shard, store, then move cursors.

The batch manifest is the commit record. Order per account:

1. raw items and normalised posts are written (write-once, idempotent on retry);
2. the manifest is written, carrying ``cursor_after``;
3. the batch is queued for processing;
4. only then is the cursor state moved.

A crash between 2 and 4 is repaired on the next run by *rolling forward*: a manifest newer
than the cursor state is proof its batch is stored, so its ``cursor_after`` is adopted
before fetching again. Nothing is lost (the cursor never moves before storage) and nothing
is stored twice (the rerun starts from the recovered cursor).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from socialhub import subjects
from socialhub.audit.chain import Auditor, SerialAuditor, record
from socialhub.due_index import entry_of, record_shard_polls
from socialhub.errors import ConnectorError, PacedOut, SocialhubError
from socialhub.models import canonical_json, sha256_hex, to_jsonl, utc_iso
from socialhub.sources.base import Connector, FetchResult
from socialhub.sources.budget import LEDGER_FIELD, record_poll
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore
from socialhub.watchlist import Watchlist, WatchlistEntry, is_due

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[str], Connector]


@dataclass
class Plan:
    shards: list[dict[str, Any]]
    lapsed: list[dict[str, str]]
    not_due: list[str]
    due: int
    #: due, but over the platform's rate budget (or YouTube's daily quota) for now: one dict per account with
    #: the reason (``socialhub.sources.budget.deferral``: platform, scope, budget, used, how overdue)
    deferred: list[dict[str, Any]] = field(default_factory=list)
    #: the planned watchlist's entries whose subject category is still ``unknown`` (a reminder, not a failure)
    subject_unset: list[dict[str, str]] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [f"{self.due} account(s) due in {len(self.shards)} shard(s); {len(self.not_due)} not due yet"]
        youtube = [d["key"] for d in self.deferred if d.get("budget") is None]
        if youtube:
            lines.append(f"{len(youtube)} YouTube channel(s) deferred to stay within the daily API quota: "
                         + ", ".join(youtube))
        if self.deferred:
            from socialhub.sources.budget import scope_lines

            lines += [f"RATE BUDGET {line}" for line in scope_lines(self.deferred)]
        for lapse in self.lapsed:
            lines.append(f"NOT COLLECTED {lapse['key']} [{subjects.name(lapse.get('subject'))}]: "
                         + lapse_reason(lapse))
        if self.subject_unset:
            owners = sorted({u["owner"] for u in self.subject_unset})
            lines.append(f"REMINDER {len(self.subject_unset)} watchlist entr"
                         f"{'y has' if len(self.subject_unset) == 1 else 'ies have'} subject: unknown ("
                         + ", ".join(u["key"] for u in self.subject_unset)
                         + f"): owner{'s' if len(owners) > 1 else ''} {', '.join(owners)}, set suspect, victim, "
                           "witness or at_risk (collection goes on)")
        return lines


def lapse_reason(lapse: dict[str, Any]) -> str:
    """Why a watchlist entry was not collected, in words (older reports carry no ``reason``)."""
    return str(lapse.get("reason") or f"authorisation {lapse['authorisation_ref']} lapsed on {lapse['review_by']} "
                                      f"(owner {lapse['owner']} must renew it in the watchlist)")


def load_cursor_state(store: ObjectStore, platform: str, account: str) -> dict[str, Any]:
    data = store.get_or_none(layout.cursor_key(platform, account))
    return json.loads(data) if data else {}


def plan_collection(watchlist: Watchlist, store: ObjectStore, now: datetime, *,
                    max_shards_per_platform: int = 4, force_all: bool = False, share: float | None = None,
                    budgets: bool = True, index: bool = False) -> Plan:
    """Decide which authorised accounts are due and split them into a bounded number of shards.

    Shards are per platform (so each can run in its platform's pool), at most
    ``max_shards_per_platform`` each: the number of tasks grows with shards, not accounts.
    Higher priorities come first within a shard. Every platform's due accounts are kept within
    ``share`` (default ``limits.DEFAULT_SHARE``) of its rate budget per scope
    (``socialhub.sources.budget``; YouTube: its daily unit quota); the rest are ``deferred``, with
    the reason, to a later run. ``force_all`` makes every account due, still within the budgets;
    ``budgets=False`` plans every due account regardless (tests and tools only).

    ``index=True`` reads each platform's due index and the deltas collection shards wrote since
    (``socialhub.due_index``: one GET per platform and delta, then the index is rewritten) instead of
    every account's cursor state (one GET per account). Only when every cursor move since the index
    was built came through ``collect_shard`` (which writes the deltas) is its plan the same; the
    collect DAG plans this way. Without it the cursor states are read (tests and tools that call
    ``collect_account`` directly).
    """
    authorised, lapsed = watchlist.authorised(now.date())
    by_platform: dict[str, list[WatchlistEntry]] = {}
    not_due: list[str] = []
    order = {"critical": 0, "high": 1, "normal": 2, "low": 3}
    states: dict[str, dict[str, Any]] = {}
    if index:
        from socialhub import due_index

        for name in sorted({e.platform for e in authorised}):
            found, info = due_index.load_states(store, name, [e for e in authorised if e.platform == name], now)
            states.update(found)
            log.info("due index %s: %s, %d delta(s) merged, %d cursor state(s) read", name,
                     info["source"], info["deltas"], info["cursor_reads"])
    for entry in sorted(authorised, key=lambda e: (order[e.priority], e.key)):
        if index:
            state = states.setdefault(entry.key, {})
        else:
            state = states[entry.key] = load_cursor_state(store, entry.platform, entry.account)
        last = state.get("last_polled")
        last_dt = datetime.fromisoformat(last.replace("Z", "+00:00")) if last else None
        if force_all or is_due(entry, last_dt, now):
            by_platform.setdefault(entry.platform, []).append(entry)
        else:
            not_due.append(entry.key)
    deferred: list[dict[str, Any]] = []
    if budgets and by_platform.get("youtube"):
        by_platform["youtube"], deferred = _within_youtube_quota(by_platform["youtube"], states, now)
    if budgets:
        from socialhub.sources.budget import plan_within_budgets
        from socialhub.sources.limits import DEFAULT_SHARE

        for platform in sorted(by_platform):
            if platform == "youtube":
                continue
            by_platform[platform], over = plan_within_budgets(
                by_platform[platform], states, now, DEFAULT_SHARE if share is None else share)
            deferred += over
    shards: list[dict[str, Any]] = []
    for platform in sorted(by_platform):
        entries = by_platform[platform]
        if not entries:
            continue
        n = max(1, min(max_shards_per_platform, len(entries)))
        for i in range(n):
            chunk = entries[i::n]
            shards.append({"platform": platform, "index": i,
                           "accounts": [e.model_dump(mode="json") for e in chunk]})
    for shard in shards:   # how many collection tasks share the run's media byte budget
        shard["of"] = len(shards)
    from socialhub.sources.pacing import shard_rates

    shard_rates(shards)   # each shard's slice of its platform's request rate, per scope (sources/pacing.py)
    # one subject category after another: a victim's or witness's entry is never listed among suspects
    lapsed_info = watchlist.lapse_info(now.date())
    unset = [{"key": e.key, "owner": e.owner} for e in watchlist.accounts if e.subject == "unknown"]
    return Plan(shards=shards, lapsed=lapsed_info, not_due=not_due,
                due=sum(len(s["accounts"]) for s in shards), deferred=deferred, subject_unset=unset)


def _within_youtube_quota(due: list[WatchlistEntry], states: dict[str, dict[str, Any]], now: datetime
                          ) -> tuple[list[WatchlistEntry], list[dict[str, Any]]]:
    """Never plan more YouTube API calls than the day's quota allows (paced over the day)."""
    from socialhub.sources.budget import deferral
    from socialhub.sources.quota import (
        DAILY_UNITS,
        UNITS_FIRST_POLL,
        UNITS_PER_API_POLL,
        select_within_budget,
        used_today,
    )

    used = sum(used_today(s.get("quota", {}), now) for k, s in states.items() if k.startswith("youtube:"))
    allowed, deferred = select_within_budget(
        due, used, now, cost=lambda e: UNITS_PER_API_POLL if states[e.key].get("cursor") else UNITS_FIRST_POLL)
    return allowed, [deferral(e, states.get(e.key, {}), now, scope="project", budget=None, daily_units=DAILY_UNITS,
                              used_units=used, reason="daily API quota (units), paced over the Pacific day")
                     for e in deferred]


@dataclass
class AccountOutcome:
    platform: str
    account: str
    force: str
    status: str                      # "ok" | "error" | "lapsed" | "deferred" (paced out: ``PacedOut``)
    posts: int = 0
    batch_id: str | None = None
    error: str | None = None
    error_type: str | None = None
    recovered: bool = False
    notes: list[str] = field(default_factory=list)
    # source-health state changes this poll caused (socialhub.sources.health.HealthChange dicts), for the notifier
    health_changes: list[dict[str, Any]] = field(default_factory=list)
    #: media captured after the batch (socialhub.media.capture.CaptureSummary.to_dict()), if media capture is on
    media: dict[str, Any] | None = None
    #: the account's due-index entry after this poll (socialhub.due_index); ``record_shard_polls`` takes it out
    due_index: dict[str, Any] | None = None
    #: status "deferred": why and until when (``paced_deferral``: scope, reason, retry_at, how overdue)
    deferred: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _batch_id(platform: str, account: str, cursor_before: Any, post_keys: Iterable[str]) -> str:
    material = canonical_json({"p": platform, "a": account, "c": cursor_before, "k": sorted(post_keys)})
    return sha256_hex(material)[:24]


def _roll_forward(store: ObjectStore, entry: WatchlistEntry, state: dict[str, Any],
                  keys: list[str] | None = None) -> tuple[dict[str, Any], bool]:
    """Adopt the cursor of any stored batch newer than the cursor state (a crash happened after storing).
    ``keys``: the account's manifest keys, when the caller has just listed them."""
    if keys is None:
        keys = store.list(layout.manifest_prefix(entry.platform, entry.account))
    last = state.get("last_manifest") or ""
    newer = [k for k in keys if k > last]
    if not newer:
        return state, False
    manifest = json.loads(store.get(newer[-1]))
    for key in newer:
        stored = json.loads(store.get(key))
        enqueue(store, stored["batch_id"], key)
        _mark_media_pending(store, stored)   # the crash may have come before its media was marked
    state = dict(state, cursor=manifest["cursor_after"], last_manifest=newer[-1])
    store.put_state(layout.cursor_key(entry.platform, entry.account), canonical_json(state))
    log.warning("rolled %s forward to stored batch %s (previous run stopped before moving the cursor)",
                entry.key, manifest["batch_id"])
    return state, True


def enqueue(store: ObjectStore, batch_id: str, manifest_key: str, *, fresh: bool = False) -> None:
    """Queue a stored batch for processing unless it is already queued, done or held. ``fresh``: its
    manifest was created just now, so it cannot be done or held yet (no need to look)."""
    if not fresh and any(store.exists(layout.queue_key(s, batch_id)) for s in ("done", "held")):
        return
    store.put(layout.queue_key("pending", batch_id), canonical_json({"batch_id": batch_id, "manifest": manifest_key}),
              content_type="application/json")


def store_batch(store: ObjectStore, entry: WatchlistEntry, result: FetchResult, cursor_before: Any,
                now: datetime) -> tuple[str, str]:
    """Write raw evidence, normalised posts and the manifest; queue the batch. Returns (batch_id, manifest key)."""
    batch_id, mkey, _ = _store_batch(store, entry, result, cursor_before, now,
                                     manifests=store.list(layout.manifest_prefix(entry.platform, entry.account)))
    return batch_id, mkey


def _store_batch(store: ObjectStore, entry: WatchlistEntry, result: FetchResult, cursor_before: Any,
                 now: datetime, *, manifests: list[str] | None,
                 before_write: Callable[[str, list[str]], None] | None = None) -> tuple[str, str, bytes]:
    """``store_batch``, also returning the stored manifest's bytes (no read back). ``manifests``: the
    account's manifest keys as listed at the start of this poll, to keep the first manifest of a
    retried batch; None when the cursor state shows the last poll committed cleanly (no manifest can
    exist for a batch whose posts are not in the recent ones). ``before_write(batch_id, [raw key,
    posts key])`` runs before the first data object is written (the cursor state's intent record)."""
    posts = [p.to_dict() for p in result.posts]
    batch_id = _batch_id(entry.platform, entry.account, cursor_before, (p["post_id"] for p in posts))
    day = now.strftime("%Y-%m-%d")
    raw_key = layout.raw_key(entry.platform, day, entry.account, batch_id)
    posts_key = layout.posts_key(entry.platform, day, entry.account, batch_id)
    existing = [k for k in manifests or [] if k.endswith(f"-{batch_id}.json")]
    if existing:   # a retry of the same batch: keep the first manifest (its objects are stored)
        mkey = existing[0]
        data = store.get(mkey)
        enqueue(store, batch_id, mkey)
        return batch_id, mkey, data
    if before_write is not None:
        before_write(batch_id, [raw_key, posts_key])
    raw_obj = store.put(raw_key, to_jsonl([{"raw_sha256": p["raw_sha256"], "item": item}
                                           for p, item in zip(posts, result.raw_items, strict=True)]),
                        content_type="application/x-ndjson")
    posts_obj = store.put(posts_key, to_jsonl(posts), content_type="application/x-ndjson")
    manifest = {
        "batch_id": batch_id, "platform": entry.platform, "account": entry.account,
        "display_name": entry.display_name, "force": entry.force, "team": entry.team,
        "authorisation_ref": entry.authorisation_ref, "purpose": entry.purpose, "subject": entry.subject,
        "collected_at": utc_iso(now), "day": day, "count": len(posts),
        "raw": {"key": raw_obj.key, "sha256": raw_obj.sha256},
        "posts": {"key": posts_obj.key, "sha256": posts_obj.sha256},
        "post_ids": [p["post_id"] for p in posts],
        "cursor_before": cursor_before, "cursor_after": result.cursor, "pages": result.pages,
        "notes": result.notes,
    }
    mkey = layout.manifest_key(entry.platform, entry.account, now.strftime("%Y%m%dT%H%M%S"), batch_id)
    data = canonical_json(manifest)
    created = store.put(mkey, data, content_type="application/json").created
    enqueue(store, batch_id, mkey, fresh=created)
    return batch_id, mkey, data


#: cursor-state fields (besides ``cursor``, ``last_polled``, ``last_manifest`` and the ledgers):
#: ``recent``, the last ``RECENT_BATCHES`` committed batches (manifest key and post ids), written with
#: the cursor; ``writing``, the intent record (batch id, its raw and posts keys) written before a
#: batch's first object and cleared by the cursor move that commits it
RECENT, WRITING = "recent", "writing"
RECENT_BATCHES = 3


def _recent_manifests(store: ObjectStore, entry: WatchlistEntry, n: int = RECENT_BATCHES,
                      keys: list[str] | None = None) -> list[dict[str, Any]]:
    if keys is None:
        keys = store.list(layout.manifest_prefix(entry.platform, entry.account))
    return [dict(json.loads(store.get(k)), _key=k) for k in keys[-n:]]


def never_polled(store: ObjectStore, entry: WatchlistEntry, state: dict[str, Any]) -> bool:
    """True for an account no poll has reached the store for: its cursor state holds nothing but
    budget ledgers (no cursor, no intent), and it has no source-health record, which every poll that
    fetched writes (one existence check, instead of listing its manifests). A cursor state deleted
    by hand while its batches stay has a health record left, so it is still listed and rolled forward."""
    from socialhub.sources.health import health_key

    return not (set(state) - {LEDGER_FIELD, "quota"}) and not store.exists(health_key(entry.platform, entry.account))


def committed_cleanly(state: dict[str, Any]) -> bool:
    """True when the cursor state shows its last poll ended with the cursor move (it carries
    ``recent`` and no ``writing`` intent): nothing can be stored beyond it, so the account's manifests
    need not be listed (no roll-forward, no uncommitted objects to remove)."""
    return isinstance(state.get(RECENT), list) and not state.get(WRITING)


def _drop_already_stored(result: FetchResult, recent: list[dict[str, Any]]) -> FetchResult:
    """Never store a post twice: after a crash (or a platform repeating items) the fetch can
    return posts that a recent committed batch already holds."""
    known = {pid for m in recent for pid in m.get("post_ids", [])}
    if not known:
        return result
    keep = [i for i, p in enumerate(result.posts) if p.post_id not in known]
    if len(keep) == len(result.posts):
        return result
    dropped = len(result.posts) - len(keep)
    return FetchResult([result.posts[i] for i in keep], [result.raw_items[i] for i in keep], result.cursor,
                       result.pages, [*result.notes, f"{dropped} post(s) already stored, not stored again"],
                       units=result.units, renamed_to=result.renamed_to)


def _remove_uncommitted(store: ObjectStore, entry: WatchlistEntry, now: datetime, state: dict[str, Any],
                        recent: list[dict[str, Any]], manifests: list[str]) -> None:
    """Delete data objects a crashed run wrote but never committed with a manifest.

    They are referenced by nothing, so removing them keeps "stored exactly once" true for
    what the pipeline and auditors see. (Under S3 Object Lock they cannot be deleted; they
    are then left for retention, still unreferenced.) The cursor state's ``writing`` intent names
    them; a state written before the intent record existed (no ``recent``) has today's and
    yesterday's data prefixes of the account listed instead.
    """
    committed = {k.rsplit("-", 1)[-1].removesuffix(".json") for k in manifests}
    writing = state.get(WRITING)
    if writing:
        candidates = [] if writing.get("batch_id") in committed else list(writing.get("keys") or [])
    elif "cursor" in state and not isinstance(state.get(RECENT), list):   # a successful poll's, before the record
        from datetime import timedelta

        referenced = {m[k]["key"] for m in recent for k in ("raw", "posts")}
        candidates = []
        for day in {now.strftime("%Y-%m-%d"), (now - timedelta(days=1)).strftime("%Y-%m-%d")}:
            for kind in (layout.raw_key, layout.posts_key):
                prefix = kind(entry.platform, day, entry.account, "x").rsplit("/", 1)[0] + "/"
                candidates += [key for key in store.list(prefix) if key not in referenced
                               and key.rsplit("/", 1)[-1].split(".")[0] not in committed]
    else:
        return
    for key in candidates:
        try:
            if store.exists(key):
                store.delete(key)
                log.warning("removed uncommitted object %s left by an interrupted run", key)
        except SocialhubError as exc:
            log.warning("cannot remove uncommitted object %s (%s); retention will", key, exc)


def collect_account(store: ObjectStore, entry: WatchlistEntry, connector: Connector, now: datetime,
                    auditor: Auditor | None = None, media: Any = None) -> AccountOutcome:
    """Collect one account: fetch from its cursor, store the batch, move the cursor, then capture
    the batch's media (``media``: a ``socialhub.media.capture.MediaCapture``, None for none)."""
    outcome = AccountOutcome(entry.platform, entry.account, entry.force, "ok")
    if not entry.is_authorised(now.date()):
        outcome.status = "lapsed"
        outcome.error = f"authorisation {entry.authorisation_ref} lapsed on {entry.review_by}"
        record(auditor, "authorisation_lapsed", entry.key, force=entry.force, justification=outcome.error,
               details={"authorisation_ref": entry.authorisation_ref, "review_by": entry.review_by.isoformat()})
        return outcome
    state = load_cursor_state(store, entry.platform, entry.account)
    manifests: list[str] | None = None
    stored: list[dict[str, Any]] = []
    read_state = state
    if committed_cleanly(state):
        # the last poll ended with its cursor move: nothing is stored beyond it (no listing needed)
        recent = [dict(r) for r in state[RECENT]]
    elif never_polled(store, entry, state):
        manifests, recent = [], []      # nothing of it can be stored: no listing either
    else:
        # first poll, an interrupted one, or a state from before the intent record: the account's
        # manifests, listed once (only this account's collection writes them; the roll-forward
        # below adopts stored ones and adds none)
        manifests = store.list(layout.manifest_prefix(entry.platform, entry.account))
        read_state = state
        state, outcome.recovered = _roll_forward(store, entry, state, manifests)
        stored = _recent_manifests(store, entry, keys=manifests)
        recent = [{"key": m["_key"], "post_ids": m.get("post_ids", [])} for m in stored]
    cursor_before = state.get("cursor")
    try:
        result = connector.fetch(entry.account, cursor_before)
    except ConnectorError as exc:
        if isinstance(exc, PacedOut):   # the shard's own pacing, not the platform: deferred, not failed
            return _deferred_by_pacing(store, outcome, entry, state, now, exc)
        outcome.status, outcome.error, outcome.error_type = "error", str(exc), type(exc).__name__
        retry_at = getattr(exc, "retry_at", None)
        if retry_at is not None:
            outcome.notes.append(f"retry after {utc_iso(retry_at)}")
        record(auditor, "collect_failed", entry.key, force=entry.force, justification=entry.purpose,
               details={"error": outcome.error, "error_type": outcome.error_type,
                        "authorisation_ref": entry.authorisation_ref})
        outcome.health_changes = _record_health(store, entry, now, auditor, error=exc)
        # the failed fetch still spent requests: counted in the ledger (the cursor state as read, its ledger only)
        outcome.due_index = entry_of(count_failed_poll(store, entry, state, now))
        return outcome
    outcome.notes = list(result.notes)
    result = _drop_already_stored(result, recent)
    if manifests is not None:
        _remove_uncommitted(store, entry, now, read_state, stored, manifests)
    new_state = dict(state, cursor=result.cursor, last_polled=utc_iso(now))
    new_state.pop(WRITING, None)
    stored_manifest = b""
    new_state[LEDGER_FIELD] = record_poll(state.get(LEDGER_FIELD) or [], now)   # the scope's rate budget
    if result.units:  # quota units spent (YouTube), kept per account so shards never race on one ledger
        from socialhub.sources.quota import record_usage

        new_state["quota"] = record_usage(state.get("quota", {}), now, result.units)
    if result.posts:
        cursor_key = layout.cursor_key(entry.platform, entry.account)

        def intent(batch_id: str, keys: list[str]) -> None:
            # the cursor state says what is about to be written, before it is: a crash before the
            # cursor move leaves this record, and the next poll lists, rolls forward or removes
            store.put_state(cursor_key, canonical_json(
                dict(state, **{WRITING: {"batch_id": batch_id, "keys": keys, "since": utc_iso(now)}})))

        batch_id, mkey, stored_manifest = _store_batch(store, entry, result, cursor_before, now,
                                                       manifests=manifests, before_write=intent)
        outcome.posts, outcome.batch_id = len(result.posts), batch_id
        new_state["last_manifest"] = mkey
        manifest_doc = json.loads(stored_manifest)
        recent.append({"key": mkey, "post_ids": manifest_doc.get("post_ids", [])})
        # before the cursor moves: a crash from here on is rolled forward, and the roll-forward marks it too
        _mark_media_pending(store, manifest_doc, [p.to_dict() for p in result.posts])
    new_state[RECENT] = recent[-RECENT_BATCHES:]
    # health after the batch is stored and before the cursor moves: a crash in between is rolled
    # forward next run and the health record already holds this batch's newest post
    outcome.health_changes = _record_health(store, entry, now, auditor, posts=result.posts,
                                            renamed_to=result.renamed_to)
    # the cursor moves only now, after the batch (if any) is durably stored
    store.put_state(layout.cursor_key(entry.platform, entry.account), canonical_json(new_state))
    outcome.due_index = entry_of(new_state)
    hashes = {}
    if outcome.batch_id:
        manifest = json.loads(stored_manifest)
        hashes = {"raw": manifest["raw"]["sha256"], "posts": manifest["posts"]["sha256"],
                  "manifest": sha256_hex(stored_manifest)}
    record(auditor, "collect", entry.key, force=entry.force, justification=entry.purpose, hashes=hashes,
           details={"posts": outcome.posts, "batch_id": outcome.batch_id, "authorisation_ref": entry.authorisation_ref,
                    "recovered": outcome.recovered, "subject": entry.subject})
    if media is not None:
        # after the cursor: media never holds back a post; what fails is retried next run
        try:
            outcome.media = media.capture_account(store, entry.platform, entry.account, now, auditor=auditor,
                                                  force=entry.force).to_dict()
        except Exception as exc:  # noqa: BLE001 - media never fails the account: its batch and cursor are stored
            log.exception("media capture of %s stopped (pending items are tried next run)", entry.key)
            outcome.media = {"error": f"{type(exc).__name__}: {exc}"}
    return outcome


def paced_reason(platform: str, scope: str) -> str:
    """The run report's words for an account the shard's own pacing deferred."""
    where = platform if scope == "all" else f"{platform} {scope}"
    return f"paced: this shard's slice of the {where} rate limit was used up; retried next run"


def _deferred_by_pacing(store: ObjectStore, outcome: AccountOutcome, entry: WatchlistEntry, state: dict[str, Any],
                        now: datetime, exc: PacedOut) -> AccountOutcome:
    """The outcome of an account whose fetch the shard's own pacing stopped (``PacedOut``): deferred to
    the next run with the reason. Not a failure: no ``collect_failed`` audit event (nothing was
    collected or refused, as for an account the plan deferred), no source-health change (pacing is not
    the source's fault), no cursor moved. Paced out before its first request it writes nothing; paced
    out on a later page, the requests it sent are counted in the ledger (``count_failed_poll``)."""
    from socialhub.sources.budget import deferral

    outcome.status, outcome.error_type = "deferred", type(exc).__name__
    late = deferral(entry, state, now)
    outcome.deferred = {"scope": exc.scope, "paced": True, "reason": paced_reason(entry.platform, exc.scope),
                        "retry_at": utc_iso(exc.retry_at) if exc.retry_at is not None else None,
                        "requests_sent": exc.requests_sent, "overdue_seconds": late["overdue_seconds"],
                        "past_interval": late["past_interval"]}
    outcome.notes.append(exc.message)
    log.info("%s deferred: %s (retry at %s)", entry.key, outcome.deferred["reason"], outcome.deferred["retry_at"])
    # paced out before its first request: nothing spent (its state as read); paced out on a later page:
    # the requests already sent count in the ledger, as a failed poll's do
    outcome.due_index = entry_of(count_failed_poll(store, entry, state, now) if exc.requests_sent else state)
    return outcome


def count_failed_poll(store: ObjectStore, entry: WatchlistEntry, state: dict[str, Any],
                      now: datetime) -> dict[str, Any]:
    """Count a poll that stored nothing (it failed, or pacing stopped it after a first page) in the
    account's rate-budget ledger (``budget.LEDGER_FIELD``): its requests were spent all the same, and
    the planner must count them next run. Returns the state written.

    The cursor state is written back *exactly as it was read* (after any roll-forward, which only
    adopts a stored batch's cursor) with one field changed, the ledger: the same ``cursor``,
    ``last_manifest``, ``last_polled`` (a failed poll does not make the account less due), ``recent``
    batches and any ``writing`` intent (the commit record reads the same to the next poll). So this
    path stores no batch and moves no cursor: "a cursor advances only after its batch is durably
    stored" stays true. (An account never polled successfully gets a state holding only the ledger:
    its next poll lists its manifests once, as a first poll does.) The cursor states stay the truth
    the due index mirrors (its entry comes from the state written, through the shard's delta). A failure to write it is logged, not raised: the
    ledger only steers the budget, and the account's outcome is already the error."""
    written = dict(state)
    written[LEDGER_FIELD] = record_poll(state.get(LEDGER_FIELD) or [], now)
    try:
        store.put_state(layout.cursor_key(entry.platform, entry.account), canonical_json(written))
    except SocialhubError as exc:
        log.warning("could not count the failed poll of %s in its rate-budget ledger: %s", entry.key, exc)
        return state
    return written


def _mark_media_pending(store: ObjectStore, manifest: dict[str, Any],
                        posts: list[dict[str, Any]] | None = None) -> None:
    """Note a stored batch's media for capture (``socialhub.media.capture``)."""
    from socialhub.media.capture import mark_pending
    from socialhub.models import from_jsonl

    if posts is None:
        raw = store.get_or_none(manifest["posts"]["key"])
        posts = from_jsonl(raw) if raw else []
    mark_pending(store, manifest, posts)


def _record_health(store: ObjectStore, entry: WatchlistEntry, now: datetime, auditor: Auditor | None, *,
                   posts: Iterable[Any] = (), error: ConnectorError | None = None,
                   renamed_to: str | None = None) -> list[dict[str, Any]]:
    """Update the account's source-health record (``socialhub.sources.health``); a failure to
    store it is logged and never fails the account (the batch and the cursor matter more)."""
    from socialhub.sources.health import record_poll

    try:
        changes = record_poll(store, entry, now, ok=error is None, posts=posts, error=error, renamed_to=renamed_to,
                              auditor=auditor)
    except SocialhubError as exc:
        log.warning("could not record the source health of %s: %s", entry.key, exc)
        return []
    for change in changes:
        log.info("source health %s: %s -> %s", entry.key, change.before, change.after)
    return [c.to_dict() for c in changes]


def default_concurrency() -> int:
    """Accounts fetched at once inside one shard: ``SOCIALHUB_COLLECT_CONCURRENCY`` (default 8)."""
    from socialhub.config import Settings

    return Settings.from_env().collect_concurrency


def collect_shard(store: ObjectStore, shard: dict[str, Any], connector_factory: ConnectorFactory,
                  now: datetime, auditor: Auditor | None = None, media: Any = None, *,
                  concurrency: int | None = None, pacer: Any = None) -> list[dict[str, Any]]:
    """Collect every account of one shard; one account's failure never stops the others.

    ``concurrency`` accounts are fetched at once by a bounded thread pool (None:
    ``SOCIALHUB_COLLECT_CONCURRENCY``, default 8; 1: one after another in this thread). Each account
    keeps its own order (fetch, store, then move the cursor: ``collect_account``); the outcomes come
    back in the shard's order whatever order the accounts finish in. Every request is paced by the
    shard's slice of the platform's rate (``shard["rate"]``, ``socialhub.sources.pacing``; ``pacer``
    overrides it, tests). ``media``: a ``socialhub.media.capture.MediaCapture`` (None: media is not
    captured); its byte budgets are shared by the threads under a lock.

    One connector serves all threads: connectors keep no state between fetches (each ``fetch`` makes
    its own ``HttpClient``; Reddit's app-token cache has its lock). An unexpected exception (a bug,
    not a ``SocialhubError``) does not stop the other accounts either; it is raised once they are done.
    """
    from socialhub.sources import pacing

    workers = default_concurrency() if concurrency is None else concurrency
    if workers < 1:
        raise ValueError(f"concurrency must be at least 1, got {workers}")
    connector = connector_factory(shard["platform"])
    if pacer is None:
        pacer = pacing.Pacer(shard["platform"], shard.get("rate"))
    if shard.get("rate"):
        log.info("shard %s/%s of %s paced at %s", shard.get("index", 0), shard.get("of", 1), shard["platform"],
                 pacing.describe_rate(shard["rate"]))
    shared_auditor = cast(Auditor, SerialAuditor(auditor)) if auditor is not None and workers > 1 else auditor
    accounts = list(shard["accounts"])
    unexpected: list[BaseException] = []

    def one(raw_entry: dict[str, Any]) -> dict[str, Any]:
        entry = WatchlistEntry.model_validate(raw_entry)
        with pacing.use(pacer):
            try:
                outcome = collect_account(store, entry, connector, now, shared_auditor, media=media)
            except SocialhubError as exc:  # storage trouble: recorded, other accounts still tried
                outcome = AccountOutcome(entry.platform, entry.account, entry.force, "error", error=str(exc),
                                         error_type=type(exc).__name__)
            except Exception as exc:  # a bug: the other accounts go on; the task fails at the end
                log.exception("collecting %s failed unexpectedly", entry.key)
                unexpected.append(exc)
                outcome = AccountOutcome(entry.platform, entry.account, entry.force, "error",
                                         error=f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__)
        log.info("%s:%s -> %s (%d posts)%s", entry.platform, entry.account, outcome.status, outcome.posts,
                 f": {outcome.error}" if outcome.error else "")
        return outcome.to_dict()

    if workers == 1 or len(accounts) <= 1:
        outcomes = [one(a) for a in accounts]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(workers, len(accounts)),
                                thread_name_prefix=f"collect-{shard['platform']}-{shard.get('index', 0)}") as pool:
            outcomes = list(pool.map(one, accounts))   # results in the shard's order
    if any(o["status"] == "ok" for o in outcomes):
        # the staleness check (socialhub_watchdog) reads this: the platform is still being collected
        from socialhub.staleness import record_collection_success

        try:
            record_collection_success(store, shard["platform"], now)
        except SocialhubError as exc:  # the batches are stored; a missed heartbeat only risks a false alarm
            log.warning("could not record the collection heartbeat of %s: %s", shard["platform"], exc)
    record_shard_polls(store, shard["platform"], shard.get("run_id"), int(shard.get("index", 0)), outcomes, now=now)
    if unexpected:
        raise unexpected[0]
    return outcomes


def summarise_collection(outcomes: Iterable[dict[str, Any]], plan: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run report's figures. ``plan``: ``lapsed`` and ``deferred`` (the plan's deferrals) and
    ``pacing`` (``{platform: [shard["rate"], ...]}``, the shards' slices of each platform's rate).

    An account the shard's own pacing stopped (status ``deferred``) is neither polled nor failed:
    it is listed in ``accounts_deferred`` after the plan's deferrals (``paced_deferrals``) and
    counted per platform in ``pacing``."""
    rows = list(outcomes)
    return {
        "accounts_polled": sum(1 for r in rows if r["status"] in ("ok", "error")),
        "accounts_ok": sum(1 for r in rows if r["status"] == "ok"),
        "accounts_failed": [f"{r['platform']}:{r['account']}: {r['error']}" for r in rows if r["status"] == "error"],
        "accounts_lapsed": (plan or {}).get("lapsed", []),
        # due accounts a rate budget (or YouTube's quota) left for a later run, and those the shards'
        # own pacing stopped, with the reasons
        "accounts_deferred": [*(plan or {}).get("deferred", []), *paced_deferrals(rows)],
        "pacing": pacing_report(rows, (plan or {}).get("pacing")),
        "posts_collected": sum(r["posts"] for r in rows),
        "batches": [r["batch_id"] for r in rows if r.get("batch_id")],
        "recovered": [f"{r['platform']}:{r['account']}" for r in rows if r.get("recovered")],
        "media": _media_totals(rows),
    }


def paced_deferrals(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outcomes the shards' own pacing deferred, as run-report deferrals (key, platform, scope,
    reason, retry_at, how overdue; ``paced: True``; no ``budget``: that is the plan's)."""
    return [{"key": f"{r['platform']}:{r['account']}", "platform": r["platform"], **(r.get("deferred") or {})}
            for r in rows if r.get("status") == "deferred"]


def pacing_report(rows: Iterable[dict[str, Any]], rates: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """Per platform: its shards' slices of the rate (``shard["rate"]``, in words by
    ``pacing.describe_rate``) and the accounts the pacing stopped this run."""
    from socialhub.sources.pacing import describe_rate

    out: dict[str, dict[str, Any]] = {}
    for platform, shard_rates in sorted((rates or {}).items()):
        paced = [r for r in shard_rates if r]
        if paced:
            out[platform] = {"shards": len(shard_rates), "share": paced[0].get("share"),
                             "slices": [{"shard": i, "slice": describe_rate(r),
                                         "requests_per_second": round(sum(float(v["per_second"])
                                                                          for v in (r or {}).get("scopes", {}).values()),
                                                                      6)}
                                        for i, r in enumerate(shard_rates)],
                             "paced_out": 0, "paced_out_accounts": []}
    for r in rows:
        if r.get("status") == "deferred":
            row = out.setdefault(r["platform"], {"shards": None, "share": None, "slices": [], "paced_out": 0,
                                                 "paced_out_accounts": []})
            row["paced_out"] += 1
            row["paced_out_accounts"].append(f"{r['platform']}:{r['account']}")
    return out


def pacing_lines(pacing: dict[str, Any]) -> list[str]:
    """The run report's pacing figures in words, one line per platform."""
    lines = []
    for platform, row in sorted(pacing.items()):
        slices = "; ".join(f"shard {s['shard']}: {s['slice']}" for s in row.get("slices") or []) or "slices not known"
        lines.append(f"PACING {platform}: {slices}; {row['paced_out']} account(s) paced out this run"
                     + (f" ({', '.join(row['paced_out_accounts'])}; retried next run)" if row["paced_out"] else ""))
    return lines


def _media_totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Media captured, failed (tried again next run), deferred (over budget), given up and bytes, over the run."""
    out = {"captured": 0, "failed": 0, "deferred": 0, "gave_up": 0, "bytes": 0, "ocr_texts": 0}
    for r in rows:
        for k in out:
            value = (r.get("media") or {}).get(k)
            if isinstance(value, int):
                out[k] += value
    return out


__all__ = ["Plan", "AccountOutcome", "plan_collection", "collect_account", "collect_shard", "store_batch",
           "summarise_collection", "load_cursor_state",  "enqueue", "record_shard_polls", "paced_deferrals",
           "paced_reason", "pacing_lines", "pacing_report", "count_failed_poll"]
