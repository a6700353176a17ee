"""Is every platform still being collected? The check behind ``socialhub_watchdog``.

A collection run that hangs (a stuck shard, a pool missing after a fresh install) keeps
``socialhub_collect``'s one active run "running", so no later run starts and no task fails:
nothing else would tell anyone. Each collect shard that polls at least one account successfully
records the time per platform (``state/health/collect/<platform>.json``); this module compares it
with the platform's polling interval (the shortest priority interval among its authorised
accounts) and says which platforms have had no successful collection for ``factor`` (3) times
that interval.

Pure logic: the store is read and written only by ``last_successes`` and
``record_collection_success``; ``check_staleness`` takes the clock (``now``) and its previous
state as arguments and returns the new state, so a test can move time freely.

Notices are not repeated every run: a platform is reported when it becomes stale, then at most
once per ``max(repeat, factor x interval)`` while it stays stale, and once when collection resumes.
A platform never collected since the check first saw it counts from that first sighting, so a
fresh install is not reported before it has had its chance.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from socialhub.models import canonical_json, utc_iso
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore

STALE_FACTOR = 3
REPEAT_EVERY = timedelta(hours=1)


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _minutes(td: timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def record_collection_success(store: ObjectStore, platform: str, now: datetime) -> None:
    """Called by a collect shard that polled at least one account of ``platform`` successfully."""
    store.put_state(layout.collect_health_key(platform),
                    canonical_json({"platform": platform, "last_success": utc_iso(now)}))


def last_successes(store: ObjectStore, platforms: Iterable[str]) -> dict[str, datetime | None]:
    """The last recorded successful collection per platform (None: none recorded)."""
    out: dict[str, datetime | None] = {}
    for platform in platforms:
        raw = store.get_or_none(layout.collect_health_key(platform))
        out[platform] = _parse(json.loads(raw).get("last_success")) if raw else None
    return out


def platform_intervals(entries: Iterable[Any]) -> dict[str, timedelta]:
    """The shortest polling interval per platform among the given (authorised) watchlist entries."""
    out: dict[str, timedelta] = {}
    for entry in entries:
        interval = entry.interval
        if entry.platform not in out or interval < out[entry.platform]:
            out[entry.platform] = interval
    return out


@dataclass(frozen=True)
class PlatformHealth:
    platform: str
    interval: timedelta
    threshold: timedelta
    last_success: datetime | None
    #: the last success, or when the check first saw the platform if it was never collected
    since: datetime
    stale: bool

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {"platform": self.platform, "interval_s": int(self.interval.total_seconds()),
                "threshold_s": int(self.threshold.total_seconds()),
                "last_success": utc_iso(self.last_success) if self.last_success else None,
                "age_s": int((now - self.since).total_seconds()), "stale": self.stale}


@dataclass
class StalenessCheck:
    platforms: list[PlatformHealth]
    #: messages for the platform team (empty when nothing changed or a reminder is not yet due)
    notices: list[str]
    #: to be stored and passed back to the next check
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def stale(self) -> list[str]:
        return [p.platform for p in self.platforms if p.stale]


def _stale_text(h: PlatformHealth, now: datetime) -> str:
    last = (f"last successful collection {utc_iso(h.last_success)}, {_minutes(now - h.since)} ago"
            if h.last_success else f"no successful collection recorded in the {_minutes(now - h.since)} "
                                   f"since the check first saw it")
    return (f"socialhub: {h.platform} is not being collected: {last}; expected every "
            f"{_minutes(h.interval)}, alarm after {_minutes(h.threshold)}. A socialhub_collect run may be "
            f"hanging (a run stuck in 'running', a task waiting for a missing pool socialhub_{h.platform}) "
            f"or every {h.platform} account is failing (see the run's tasks and reports/collect/).")


def check_staleness(intervals: Mapping[str, timedelta], last_success: Mapping[str, datetime | None],
                    now: datetime, state: Mapping[str, Any] | None = None, *, factor: int = STALE_FACTOR,
                    repeat: timedelta = REPEAT_EVERY) -> StalenessCheck:
    """Which platforms had no successful collection for ``factor`` x their interval, and what to say.

    ``intervals``: platform -> polling interval (``platform_intervals`` of the authorised entries);
    platforms not in it are not checked (and forgotten from the state). ``last_success``: platform
    -> last successful collection or None. ``state``: what the previous check returned.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    before = dict((state or {}).get("platforms") or {})
    after: dict[str, dict[str, Any]] = {}
    health: list[PlatformHealth] = []
    notices: list[str] = []
    for platform in sorted(intervals):
        interval = intervals[platform]
        threshold = interval * factor
        prev = dict(before.get(platform) or {})
        first_seen = _parse(prev.get("first_seen")) or now
        last = last_success.get(platform)
        since = last or first_seen
        stale = now - since >= threshold
        h = PlatformHealth(platform, interval, threshold, last, since, stale)
        health.append(h)
        entry: dict[str, Any] = {"first_seen": utc_iso(first_seen)}
        notified = _parse(prev.get("notified_at"))
        if stale:
            entry["stale_since"] = prev.get("stale_since") or utc_iso(now)
            if notified is None or now - notified >= max(repeat, threshold):
                notices.append(_stale_text(h, now))
                notified = now
            entry["notified_at"] = utc_iso(notified)
        elif notified is not None:
            notices.append(f"socialhub: {platform} is being collected again (last successful collection "
                           f"{utc_iso(last) if last else '?'}; stale since {prev.get('stale_since', '?')}).")
        after[platform] = entry
    return StalenessCheck(health, notices, {"platforms": after, "checked_at": utc_iso(now)})


def load_state(store: ObjectStore) -> dict[str, Any]:
    raw = store.get_or_none(layout.WATCHDOG_STATE_KEY)
    return json.loads(raw) if raw else {}


def save_state(store: ObjectStore, state: Mapping[str, Any]) -> None:
    store.put_state(layout.WATCHDOG_STATE_KEY, canonical_json(dict(state)))


__all__ = ["STALE_FACTOR", "PlatformHealth", "StalenessCheck", "check_staleness", "last_successes", "load_state",
           "platform_intervals", "record_collection_success", "save_state"]
