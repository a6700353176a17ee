"""The staleness check: a platform with no successful collection for 3x its interval is reported.

The clock is always injected (``T0`` and offsets from it), so nothing depends on today's date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from socialhub.collect import collect_shard
from socialhub.staleness import (
    check_staleness,
    last_successes,
    load_state,
    platform_intervals,
    record_collection_success,
    save_state,
)
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import parse_watchlist
from tests.core.test_collect import NOW, WATCHLIST, FakeMastodon

T0 = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)   # any instant: the check never reads the wall clock
FIVE = timedelta(minutes=5)


def test_fresh_platform_is_not_stale():
    result = check_staleness({"mastodon": FIVE}, {"mastodon": T0 - timedelta(minutes=14)}, T0)
    assert result.stale == [] and result.notices == []


def test_no_success_for_three_intervals_is_reported_once_then_hourly_then_recovery():
    intervals = {"mastodon": FIVE, "bluesky": timedelta(hours=1)}
    last = {"mastodon": T0, "bluesky": T0}
    state: dict = {}
    seen = []
    # a collection run hangs at T0: every 5 minutes the watchdog looks, for two hours
    for minutes in range(0, 125, 5):
        now = T0 + timedelta(minutes=minutes)
        result = check_staleness(intervals, last, now, state)
        state = result.state
        seen.append((minutes, result.stale, len(result.notices)))
    stale_from = next(m for m, stale, _ in seen if "mastodon" in stale)
    assert stale_from == 15                                   # 3 x 5 minutes
    told_at = [m for m, _, n in seen if n]
    assert told_at == [15, 75]                                # when it became stale, then an hour later
    assert all("bluesky" not in stale for m, stale, _ in seen if m < 180)
    # collection resumes: one "collected again" notice, then quiet
    result = check_staleness(intervals, {"mastodon": T0 + timedelta(minutes=126), "bluesky": T0},
                             T0 + timedelta(minutes=130), state)
    assert result.stale == [] and len(result.notices) == 1 and "collected again" in result.notices[0]
    again = check_staleness(intervals, {"mastodon": T0 + timedelta(minutes=131), "bluesky": T0},
                            T0 + timedelta(minutes=135), result.state)
    assert again.notices == []


def test_notice_names_platform_age_interval_and_what_to_look_at():
    (text,) = check_staleness({"telegram": FIVE}, {"telegram": T0}, T0 + timedelta(minutes=47)).notices
    assert "telegram is not being collected" in text
    assert "47 min ago" in text and "expected every 5 min" in text and "alarm after 15 min" in text
    assert "socialhub_collect" in text and "pool socialhub_telegram" in text


def test_never_collected_counts_from_first_sighting_not_from_install_time_zero():
    first = check_staleness({"rss": FIVE}, {"rss": None}, T0)
    assert first.stale == []                                   # a fresh install gets its chance
    later = check_staleness({"rss": FIVE}, {"rss": None}, T0 + timedelta(minutes=15), first.state)
    assert later.stale == ["rss"] and "no successful collection recorded" in later.notices[0]


def test_platform_removed_from_watchlist_is_forgotten():
    state = check_staleness({"x": FIVE}, {"x": T0}, T0 + timedelta(hours=1)).state
    assert "x" in state["platforms"]
    assert check_staleness({}, {}, T0 + timedelta(hours=2), state).state["platforms"] == {}


def test_interval_is_the_shortest_of_the_platforms_authorised_accounts():
    wl = parse_watchlist(WATCHLIST, "test")
    authorised = wl.authorised(NOW.date())[0]
    assert platform_intervals(authorised) == {"mastodon": FIVE}     # acct0 is critical, the rest normal
    assert platform_intervals([e for e in authorised if e.priority == "normal"]) == {"mastodon": timedelta(hours=1)}


def test_heartbeat_and_state_round_trip_through_the_store(tmp_path):
    store = LocalStore(tmp_path)
    assert last_successes(store, ["mastodon"]) == {"mastodon": None}
    record_collection_success(store, "mastodon", T0)
    assert last_successes(store, ["mastodon"]) == {"mastodon": T0}
    result = check_staleness({"mastodon": FIVE}, last_successes(store, ["mastodon"]), T0 + timedelta(hours=1))
    save_state(store, result.state)
    assert load_state(store) == result.state


def test_a_shard_with_a_successful_account_records_the_heartbeat_a_failing_one_does_not(tmp_path):
    store = LocalStore(tmp_path)
    wl = parse_watchlist(WATCHLIST, "test")
    accounts = [e.model_dump(mode="json") for e in wl.accounts[:2]]
    shard = {"platform": "mastodon", "index": 0, "accounts": accounts}
    every = {a["account"] for a in accounts}
    collect_shard(store, shard, lambda p: FakeMastodon({}, fail=every), NOW)
    assert store.get_or_none(layout.collect_health_key("mastodon")) is None
    collect_shard(store, shard, lambda p: FakeMastodon({}, fail={accounts[0]["account"]}), NOW)
    assert last_successes(store, ["mastodon"]) == {"mastodon": NOW}
