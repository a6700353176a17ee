"""YouTube quota arithmetic: pure functions, no clock of their own, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest

from socialhub.sources.quota import (
    DAILY_UNITS,
    UNIT_COSTS,
    UNITS_FIRST_POLL,
    UNITS_PER_API_POLL,
    day_fraction,
    next_reset,
    quota_day,
    record_usage,
    select_within_budget,
    used_today,
    youtube_budget,
)

UTC = timezone.utc


@dataclass(frozen=True)
class Entry:
    account: str
    priority: str = "normal"
    interval: timedelta = timedelta(hours=1)


def test_documented_unit_costs() -> None:
    assert UNIT_COSTS["channels.list"] == UNIT_COSTS["playlistItems.list"] == UNIT_COSTS["videos.list"] == 1
    assert UNIT_COSTS["search.list"] == 100 and DAILY_UNITS == 10_000
    assert (UNITS_PER_API_POLL, UNITS_FIRST_POLL) == (2, 3)


@pytest.mark.parametrize("now, reset, day", [
    (datetime(2026, 7, 1, 6, 59, 59, tzinfo=UTC), datetime(2026, 7, 1, 7, 0, tzinfo=UTC), date(2026, 6, 30)),   # PDT
    (datetime(2026, 7, 1, 7, 0, tzinfo=UTC), datetime(2026, 7, 2, 7, 0, tzinfo=UTC), date(2026, 7, 1)),
    (datetime(2026, 1, 15, 12, 0, tzinfo=UTC), datetime(2026, 1, 16, 8, 0, tzinfo=UTC), date(2026, 1, 15)),     # PST
    (datetime(2026, 3, 8, 12, 0, tzinfo=UTC), datetime(2026, 3, 9, 7, 0, tzinfo=UTC), date(2026, 3, 8)),        # spring
    (datetime(2026, 11, 1, 10, 0, tzinfo=UTC), datetime(2026, 11, 2, 8, 0, tzinfo=UTC), date(2026, 11, 1)),     # fall
])
def test_reset_is_the_next_pacific_midnight(now: datetime, reset: datetime, day: date) -> None:
    assert next_reset(now) == reset and quota_day(now) == day


def test_dst_rule_fallback_matches_the_tz_database(monkeypatch: pytest.MonkeyPatch) -> None:
    moments = [datetime(2026, m, d, h, tzinfo=UTC) for m, d in ((1, 15), (3, 8), (3, 9), (7, 1), (11, 1), (11, 2))
               for h in (0, 7, 8, 9, 10, 23)]
    expected = [(next_reset(t), quota_day(t)) for t in moments]

    asked: list[str] = []

    class NoTz:
        def __init__(self, key: str) -> None:
            import zoneinfo
            asked.append(key)
            raise zoneinfo.ZoneInfoNotFoundError(key)

    monkeypatch.setattr("zoneinfo.ZoneInfo", NoTz)
    assert [(next_reset(t), quota_day(t)) for t in moments] == expected
    assert asked and set(asked) == {"America/Los_Angeles"}          # the fallback really ran


def test_day_fraction_counts_real_hours_on_a_23_hour_day() -> None:
    assert day_fraction(datetime(2026, 3, 8, 8, 0, tzinfo=UTC)) == 0.0
    assert day_fraction(datetime(2026, 3, 8, 12, 0, tzinfo=UTC)) == pytest.approx(4 / 23)


# --------------------------------------------------------------------------------------------
# static budget
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("interval, channels", [
    (timedelta(minutes=5), 17), (timedelta(minutes=15), 52), (timedelta(hours=1), 208), (timedelta(hours=6), 1250)])
def test_max_channels_at_each_interval(interval: timedelta, channels: int) -> None:
    budget = youtube_budget([])
    assert budget.max_channels_at(interval) == channels
    assert youtube_budget([interval] * channels).fits and not youtube_budget([interval] * (channels + 1)).fits


def test_budget_accepts_pairs_and_watchlist_like_entries() -> None:
    entries = [Entry("a", interval=timedelta(minutes=5)), (Entry("b"), timedelta(minutes=15)), timedelta(hours=1)]
    budget = youtube_budget(entries)
    assert budget.channels == 3 and budget.polls_per_day == pytest.approx(288 + 96 + 24)
    assert budget.calls_per_day == pytest.approx((288 + 96 + 24) * 2) and budget.fits
    with pytest.raises(TypeError, match="interval"):
        youtube_budget(["hourly"])
    with pytest.raises(ValueError, match="positive"):
        youtube_budget([timedelta(0)])


def test_expected_units_with_rss_first() -> None:
    budget = youtube_budget([timedelta(minutes=5)] * 100)          # worst case 57,600 units: does not fit
    assert not budget.fits
    assert budget.expected_units(uploads_per_channel_per_day=3) == pytest.approx(600)   # 3 API polls x 2 units
    assert budget.expected_units(uploads_per_channel_per_day=1000) == budget.calls_per_day  # capped by polls


# --------------------------------------------------------------------------------------------
# dynamic selection
# --------------------------------------------------------------------------------------------

END_OF_DAY = datetime(2026, 7, 2, 6, 30, tzinfo=UTC)        # 23:30 PDT: pacing allows the whole quota


def test_everything_fits_when_the_quota_is_fresh() -> None:
    due = [Entry(str(i)) for i in range(10)]
    assert select_within_budget(due, 0, END_OF_DAY) == (due, [])


def test_the_remaining_units_decide_and_priority_goes_first() -> None:
    due = [Entry("low", "low"), Entry("n1"), Entry("crit", "critical"), Entry("n2"), Entry("high", "high")]
    allowed, deferred = select_within_budget(due, used_today=DAILY_UNITS - 6, now=END_OF_DAY)
    assert [e.account for e in allowed] == ["crit", "high", "n1"]
    assert [e.account for e in deferred] == ["n2", "low"]


def test_spend_is_paced_over_the_day() -> None:
    morning = datetime(2026, 7, 1, 7, 0, tzinfo=UTC) + timedelta(hours=3)       # 03:00 PDT: 1/8 of the day
    allowance = int(DAILY_UNITS * (0.25 + 3 / 24))
    due = [Entry(str(i)) for i in range(allowance)]                             # 2 units each
    allowed, deferred = select_within_budget(due, 0, morning)
    assert len(allowed) == allowance // 2 and len(deferred) == allowance - allowance // 2
    assert select_within_budget(due, 0, morning, burst=1.0)[1] == []


def test_custom_cost_for_first_polls_and_exhausted_quota() -> None:
    first, steady = Entry("new"), Entry("old")
    allowed, deferred = select_within_budget([first, steady], DAILY_UNITS - 3, END_OF_DAY,
                                             cost=lambda e: UNITS_FIRST_POLL if e is first else UNITS_PER_API_POLL)
    assert allowed == [first] and deferred == [steady]
    assert select_within_budget([steady], DAILY_UNITS + 50, END_OF_DAY) == ([], [steady])
    with pytest.raises(ValueError, match="burst"):
        select_within_budget([], 0, END_OF_DAY, burst=2)


def test_usage_ledger_is_per_pacific_day() -> None:
    late = datetime(2026, 7, 2, 6, 59, tzinfo=UTC)          # 23:59 PDT on the 1st
    ledger = record_usage({}, late, 5)
    ledger = record_usage(ledger, late + timedelta(minutes=2), 7)      # 00:01 PDT on the 2nd
    assert ledger == {"2026-07-01": 5, "2026-07-02": 7}
    assert used_today(ledger, late) == 5 and used_today(ledger, late + timedelta(minutes=2)) == 7
    old = record_usage(ledger, late + timedelta(days=30), 1)
    assert old == {"2026-07-31": 1}
