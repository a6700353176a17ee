"""YouTube Data API quota: unit costs, the daily reset, and a budget the planner can check.

Why this exists: the Data API gives a project 10,000 units a day (reset at midnight Pacific
time). A ``quotaExceeded`` 403 cannot be retried until the reset, so one over-eager schedule
silences every YouTube account for the rest of the day. The arithmetic therefore has to be
done *before* polling, by the planner, with pure functions (no I/O, no clock of their own):

* ``youtube_budget(...)``: does a watchlist fit the daily quota in the worst case, and how many
  channels fit at a given interval?
* ``select_within_budget(...)``: of the accounts due now, which may be polled without
  overspending, given what was already used today? The rest are deferred, not failed.

The connector (``sources/youtube.py``) polls the channel's RSS feed first (no quota) and only
calls the API when the feed shows a video it has not collected, so most polls cost 0 units.
A poll that finds new uploads costs ``videos.list`` (1 unit per 50 videos) and, only when the
feed's 15 entries do not reach back to the cursor, ``playlistItems.list`` pages (1 unit per 50
items); the very first poll of a channel adds ``channels.list`` (1 unit, cached in the cursor).
``UNITS_PER_API_POLL`` (2) is the planning worst case of a poll after the first.
See docs/connectors.md for the resulting table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, TypeVar

T = TypeVar("T")

#: documented costs (https://developers.google.com/youtube/v3/determine_quota_cost); every call
#: costs at least 1 unit, invalid ones included, and every further page costs the full price again
UNIT_COSTS: dict[str, int] = {
    "channels.list": 1,
    "playlistItems.list": 1,
    "videos.list": 1,
    "search.list": 100,       # never used: 100x the price of playlistItems.list for the same videos
}
DAILY_UNITS = 10_000
PAGE_SIZE = 50                # maxResults / ids per call for playlistItems.list and videos.list
UNITS_PER_API_POLL = UNIT_COSTS["playlistItems.list"] + UNIT_COSTS["videos.list"]
UNITS_FIRST_POLL = UNIT_COSTS["channels.list"] + UNITS_PER_API_POLL
PRIORITY_ORDER = {"critical": 0, "high": 1, "normal": 2, "low": 3}


# --------------------------------------------------------------------------------------------
# the quota day (midnight to midnight, America/Los_Angeles)
# --------------------------------------------------------------------------------------------

def _us_pacific_offset(utc: datetime) -> timedelta:
    """UTC offset of US Pacific time by the US DST rule (2nd Sunday of March 02:00 to 1st Sunday
    of November 02:00), used only when the tz database is missing."""
    year = utc.year

    def nth_sunday(month: int, n: int) -> date:
        first = date(year, month, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))

    start = datetime.combine(nth_sunday(3, 2), time(10), tzinfo=UTC)   # 02:00 PST = 10:00 UTC
    end = datetime.combine(nth_sunday(11, 1), time(9), tzinfo=UTC)     # 02:00 PDT = 09:00 UTC
    return timedelta(hours=-7) if start <= utc < end else timedelta(hours=-8)


def _pacific(now: datetime) -> datetime:
    utc = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC)
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            return utc.astimezone(ZoneInfo("America/Los_Angeles"))
        except ZoneInfoNotFoundError:
            pass
    except ImportError:  # pragma: no cover - zoneinfo is stdlib on 3.9+
        pass
    return utc.astimezone(timezone(_us_pacific_offset(utc)))


def quota_day(now: datetime) -> date:
    """The Pacific-time date whose quota ``now`` spends."""
    return _pacific(now).date()


def next_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time, as an aware UTC datetime (when quota is restored)."""
    local = _pacific(now)
    midnight_date = local.date() + timedelta(days=1)
    # step through the hours after local midnight to honour the offset valid at that instant
    guess = datetime.combine(midnight_date, time(0), tzinfo=UTC) - local.utcoffset()  # type: ignore[operator]
    for _ in range(3):
        offset = _pacific(guess).utcoffset()
        candidate = datetime.combine(midnight_date, time(0), tzinfo=UTC) - offset  # type: ignore[operator]
        if candidate == guess:
            break
        guess = candidate
    return guess.astimezone(UTC)


def day_fraction(now: datetime) -> float:
    """How much of the current Pacific quota day has passed (0.0 at midnight, ~1.0 just before)."""
    local = _pacific(now)
    # aware datetimes sharing a tzinfo subtract as wall-clock times: compare in UTC (23/25 h days)
    start = datetime.combine(local.date(), time(0), tzinfo=local.tzinfo).astimezone(UTC)
    end = next_reset(now)
    total = (end - start).total_seconds()
    elapsed = (local.astimezone(UTC) - start).total_seconds()
    return min(1.0, max(0.0, elapsed / total)) if total > 0 else 0.0


# --------------------------------------------------------------------------------------------
# static budget: does a schedule fit?
# --------------------------------------------------------------------------------------------

def polls_per_day(interval: timedelta) -> float:
    seconds = interval.total_seconds()
    if seconds <= 0:
        raise ValueError(f"a polling interval must be positive, got {interval}")
    return 86_400 / seconds


@dataclass(frozen=True, slots=True)
class Budget:
    """The worst case of a YouTube schedule against the daily quota.

    ``calls_per_day`` counts API units if *every* poll of every channel found new uploads
    (``units_per_poll`` each); RSS polls are free and are counted in ``polls_per_day`` only.
    """

    daily_units: int
    channels: int
    polls_per_day: float
    calls_per_day: float
    units_per_poll: int
    fits: bool

    def max_channels_at(self, interval: timedelta) -> int:
        """How many channels polled every ``interval`` fit the quota in the worst case."""
        return math.floor(self.daily_units / (polls_per_day(interval) * self.units_per_poll))

    def expected_units(self, uploads_per_channel_per_day: float) -> float:
        """Units per day with RSS first: a channel costs at most one API poll per upload (fewer
        when several uploads land between two polls), capped by its polls per day."""
        per_channel = self.polls_per_day / self.channels if self.channels else 0.0
        return self.channels * min(per_channel, uploads_per_channel_per_day) * self.units_per_poll


def _interval_of(item: Any) -> timedelta:
    if isinstance(item, timedelta):
        return item
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], timedelta):
        return item[1]
    interval = getattr(item, "interval", None)
    if isinstance(interval, timedelta):
        return interval
    raise TypeError(f"expected a timedelta, an (entry, timedelta) pair or an object with .interval, got {item!r}")


def youtube_budget(entries_with_intervals: Iterable[Any], daily_units: int = DAILY_UNITS, *,
                   units_per_poll: int = UNITS_PER_API_POLL) -> Budget:
    """Worst-case daily cost of polling every entry at its interval.

    ``entries_with_intervals``: timedeltas, ``(entry, timedelta)`` pairs, or watchlist entries
    (anything with an ``interval``).
    """
    intervals = [_interval_of(item) for item in entries_with_intervals]
    polls = sum(polls_per_day(i) for i in intervals)
    calls = polls * units_per_poll
    return Budget(daily_units=daily_units, channels=len(intervals), polls_per_day=polls, calls_per_day=calls,
                  units_per_poll=units_per_poll, fits=calls <= daily_units)


# --------------------------------------------------------------------------------------------
# dynamic budget: what may run now?
# --------------------------------------------------------------------------------------------

def _priority_rank(entry: Any) -> int:
    return PRIORITY_ORDER.get(str(getattr(entry, "priority", "normal")), 2)


def select_within_budget(due_entries: Sequence[T], used_today: int, now: datetime, *,
                         daily_units: int = DAILY_UNITS, units_per_poll: int = UNITS_PER_API_POLL,
                         cost: Callable[[T], int] | None = None, burst: float = 0.25) -> tuple[list[T], list[T]]:
    """Split the due YouTube entries into (allowed, deferred) so the day's quota is never overspent.

    Each allowed entry reserves its worst-case poll cost (``cost(entry)``, default
    ``units_per_poll``; pass ``UNITS_FIRST_POLL`` for a channel never polled). Spending is
    *paced* over the Pacific day: by a given moment at most ``burst`` of the daily quota plus the
    elapsed share of the day may be used, so a busy morning cannot starve the evening. Entries
    are considered by ``priority`` (critical first; anything without one counts as normal), in
    their given order within a priority. Deferred entries are simply polled on a later run.
    """
    if not 0 <= burst <= 1:
        raise ValueError(f"burst must be between 0 and 1, got {burst}")
    allowance = math.floor(daily_units * min(1.0, burst + day_fraction(now))) - max(0, used_today)
    allowance = min(allowance, daily_units - max(0, used_today))
    allowed: list[T] = []
    deferred: list[T] = []
    for entry in sorted(due_entries, key=_priority_rank):
        need = cost(entry) if cost else units_per_poll
        if need <= allowance:
            allowed.append(entry)
            allowance -= need
        else:
            deferred.append(entry)
    return allowed, deferred


def record_usage(ledger: Mapping[str, int], now: datetime, units: int, *, keep_days: int = 7) -> dict[str, int]:
    """A new ledger ``{pacific-date: units}`` with ``units`` added to today's entry (pure: the
    caller persists it, e.g. next to the cursors). Days older than ``keep_days`` are dropped."""
    today = quota_day(now)
    new = {k: int(v) for k, v in ledger.items() if _recent(k, today, keep_days)}
    key = today.isoformat()
    new[key] = new.get(key, 0) + max(0, int(units))
    return new


def used_today(ledger: Mapping[str, int], now: datetime) -> int:
    return int(ledger.get(quota_day(now).isoformat(), 0))


def _recent(key: str, today: date, keep_days: int) -> bool:
    try:
        return (today - date.fromisoformat(key)).days < keep_days
    except ValueError:
        return False


__all__ = ["Budget", "DAILY_UNITS", "PAGE_SIZE", "UNITS_FIRST_POLL", "UNITS_PER_API_POLL", "UNIT_COSTS",
           "day_fraction", "next_reset", "polls_per_day", "quota_day", "record_usage", "select_within_budget",
           "used_today", "youtube_budget"]
