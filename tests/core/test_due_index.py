"""The due index (issue 19.5): planning reads one index per platform plus the shards' deltas, not one
cursor state per account, and plans exactly what the per-account reads plan; a missing, corrupt,
foreign or stale index still gives a correct plan."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from socialhub import due_index
from socialhub.collect import collect_account, collect_shard, plan_collection
from socialhub.errors import AccountUnavailable
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import parse_watchlist
from tests.core.test_collect import FakeMastodon, stored_post_ids

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class CountingStore(LocalStore):
    """A local store that records every object read (GET) and listing (LIST)."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.reads: list[str] = []
        self.lists: list[str] = []

    def _read(self, key):
        self.reads.append(key)
        return super()._read(key)

    def _list(self, prefix):
        self.lists.append(prefix)
        return super()._list(prefix)

    def reset(self) -> None:
        self.reads, self.lists = [], []


class Fake(Connector):
    """Any platform: no posts, a cursor counting polls, 3 quota units per YouTube poll; ``fail`` answer 404."""

    def __init__(self, platform: str, fail: frozenset[str] = frozenset()) -> None:
        super().__init__(ConnectorConfig(base_url="http://fake"))
        self.platform = platform
        self.fail = fail

    def fetch(self, account, cursor):
        if account in self.fail:
            raise AccountUnavailable(self.platform, account, "HTTP 404: account not found", status=404)
        n = int((cursor or {}).get("n", 0)) + 1
        return FetchResult([], [], {"n": n}, pages=1, units=3 if self.platform == "youtube" else 0)


PRIORITIES = ("critical", "high", "normal", "low")


def watchlist(specs):
    """``specs``: (platform, account, priority[, review_by]) tuples."""
    accounts = [{"platform": s[0], "account": s[1], "display_name": "D", "force": "met", "team": "gangs",
                 "owner": "DS Example", "priority": s[2], "authorisation_ref": f"AUTH-{i}",
                 "purpose": "Public threats between two named groups.",
                 "review_by": s[3] if len(s) > 3 else "2030-01-01"} for i, s in enumerate(specs)]
    return parse_watchlist(yaml.safe_dump({"version": 1, "accounts": accounts}))


def varied_specs():
    """Over two Mastodon instances' and Telegram's budgets, several RSS hosts, YouTube's quota, every
    priority, two lapsed entries."""
    specs = [("mastodon", f"m{i:03d}@a.example", PRIORITIES[i % 4]) for i in range(190)]
    specs += [("mastodon", f"m{i}@b.example", "high") for i in range(12)]
    specs += [("telegram", f"tg{i:02d}", PRIORITIES[i % 3]) for i in range(60)]
    specs += [("rss", f"https://h{i % 4}.example/feed{i}.xml", "normal") for i in range(10)]
    specs += [("youtube", f"UC{i:022d}", PRIORITIES[i % 4]) for i in range(8)]
    specs += [("bluesky", f"b{i}.bsky.social", "critical") for i in range(6)]
    specs += [("x", "lapsed_one", "high", "2020-01-01"), ("reddit", "lapsed_two", "normal", "2021-06-30")]
    return specs


def factory(fail=frozenset()):
    return lambda platform: Fake(platform, fail)


def same(a, b) -> None:
    assert a.shards == b.shards
    assert a.deferred == b.deferred
    assert a.not_due == b.not_due and a.due == b.due and a.lapsed == b.lapsed


def collect(store, plan, now, fail=frozenset()):
    return [o for s in plan.shards for o in collect_shard(store, s, factory(fail), now)]


def cursor_reads(store) -> list[str]:
    return [k for k in store.reads if k.startswith("state/cursors/")]


def test_planning_from_the_index_reads_per_platform_and_delta_and_plans_the_same_over_many_runs(tmp_path):
    store = CountingStore(tmp_path)
    specs = varied_specs()
    fail = frozenset({"m007@a.example", "tg03"})   # errors: polled, cursor unchanged
    for run in range(8):
        now = T0 + timedelta(minutes=5 * run)
        current = list(specs)
        if run >= 3:   # a new account: no cursor state yet
            current.append(("mastodon", "newcomer@b.example", "critical"))
        if run in (4, 5):   # removed for two runs (the index forgets it), then back with its cursor state
            current = [s for s in current if s[1] != "m001@a.example"]
        wl = watchlist(current)
        store.reset()
        by_account = plan_collection(wl, store, now)
        assert len(cursor_reads(store)) == len(wl.authorised(now.date())[0])
        platforms = {s[0] for s in current if s[0] not in ("x", "reddit")}     # x, reddit: only lapsed entries
        deltas = sum(len(store.list(layout.due_delta_prefix(p))) for p in platforms)
        store.reset()
        by_index = plan_collection(wl, store, now, index=True)
        same(by_account, by_index)
        if run == 0:
            assert by_index.deferred and by_index.not_due == []   # budgets bind from the first run
            # rebuilt from the cursor states: a platform with many accounts has its cursor folder listed and
            # only the cursors that exist read (none yet: a fresh store); a small one reads each
            from socialhub.due_index import LIST_CURSORS_ABOVE

            planned = Counter(k.split(":", 1)[0] for k in [*by_account.not_due, *(d["key"] for d in by_account.deferred)])
            planned.update(s["platform"] for s in by_account.shards for _ in s["accounts"])
            assert max(planned.values()) > LIST_CURSORS_ABOVE, "the listing path is exercised"
            assert len(cursor_reads(store)) == sum(n for n in planned.values() if n <= LIST_CURSORS_ABOVE)
        else:
            expected = {3: ["state/cursors/mastodon/newcomer@b.example.json"],
                        6: ["state/cursors/mastodon/m001@a.example.json"]}.get(run, [])
            assert cursor_reads(store) == expected
            assert deltas >= 1
            other = [k for k in store.reads if not k.startswith("state/cursors/")]
            assert len([k for k in other if k.endswith("/due.json")]) == len(platforms)
            assert len([k for k in other if "/deltas/" in k]) == deltas and len(other) == len(platforms) + deltas
        if run >= 1:
            assert by_index.not_due, "later runs leave recently polled accounts alone"
        outcomes = collect(store, by_index, now, fail)
        assert all(due_index.OUTCOME_FIELD not in o for o in outcomes)   # not carried to XCom
    # the merged deltas are gone
    assert all(store.list(layout.due_delta_prefix(p)) for p in ("mastodon",))  # the last run's, not merged yet
    plan_collection(watchlist(specs), store, T0 + timedelta(minutes=40), index=True)
    assert store.list("state/index/") == sorted(
        layout.due_index_key(p) for p in ("bluesky", "mastodon", "rss", "telegram", "youtube"))


def _steady(tmp_path, n: int) -> tuple[CountingStore, object, int]:
    """A store after one run of ``n`` accounts on three platforms; returns it, the watchlist and the shard count."""
    specs = [(("bluesky", "x", "reddit")[i % 3], f"acct{i:05d}", PRIORITIES[i % 2]) for i in range(n)]
    wl = watchlist(specs)
    store = CountingStore(tmp_path / str(n))
    plan = plan_collection(wl, store, T0, index=True, max_shards_per_platform=4)
    collect(store, plan, T0)
    return store, wl, len(plan.shards)


@pytest.mark.parametrize("n", [60, 240])
def test_reads_grow_with_platforms_and_deltas_not_accounts(tmp_path, n):
    store, wl, shards = _steady(tmp_path, n)
    now = T0 + timedelta(minutes=20)
    store.reset()
    by_account = plan_collection(wl, store, now)
    assert len(store.reads) == n
    store.reset()
    by_index = plan_collection(wl, store, now, index=True)
    same(by_account, by_index)
    assert shards == 12
    assert len(store.reads) == 3 + 12                 # three indexes, twelve deltas: the same for 60 and 240 accounts
    assert len(store.lists) == 3                      # one listing of each platform's deltas
    store.reset()
    plan_collection(wl, store, now, index=True)
    assert len(store.reads) == 3                      # the deltas were merged and deleted


def test_a_missing_corrupt_or_foreign_index_is_rebuilt_from_the_cursor_states(tmp_path, caplog):
    store, wl, _ = _steady(tmp_path, 30)
    now = T0 + timedelta(minutes=20)
    expected = plan_collection(wl, store, now)
    key = layout.due_index_key("x")
    for damage in (None, b"{not json", json.dumps({"version": 99, "platform": "x", "accounts": {}}).encode(),
                   json.dumps({"version": 1, "platform": "reddit", "accounts": {}}).encode(),
                   json.dumps({"version": 1, "platform": "x", "accounts": {"x:acct00001": 3}}).encode()):
        if damage is None:
            store.delete(key)
        else:
            store.put_hint(key, damage)
        store.reset()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="socialhub.due_index"):
            same(expected, plan_collection(wl, store, now, index=True))
        assert len(cursor_reads(store)) == 10                       # the ten x accounts, and only them
        assert {k.split("/")[2] for k in cursor_reads(store)} == {"x"}
        assert "due index of x is" in caplog.text and "rebuilding" in caplog.text
        assert json.loads(store.get(key))["version"] == due_index.VERSION       # rebuilt
        store.reset()
        same(expected, plan_collection(wl, store, now, index=True))
        assert cursor_reads(store) == []


def test_a_corrupt_delta_rebuilds_the_index(tmp_path, caplog):
    store, wl, _ = _steady(tmp_path, 30)
    now = T0 + timedelta(minutes=20)
    expected = plan_collection(wl, store, now)
    store.put_hint(layout.due_delta_key("bluesky", "20261125T120000-0009-deadbeef"), b"\x00garbage")
    store.reset()
    with caplog.at_level(logging.WARNING, logger="socialhub.due_index"):
        same(expected, plan_collection(wl, store, now, index=True))
    assert "delta state/index/bluesky/deltas/20261125T120000-0009-deadbeef.json is unreadable" in caplog.text
    assert len(cursor_reads(store)) == 10 and store.list(layout.due_delta_prefix("bluesky")) == []


def test_a_plan_that_stopped_before_deleting_the_deltas_merges_them_again_harmlessly(tmp_path):
    store, wl, _ = _steady(tmp_path, 30)
    saved = {k: store.get(k) for k in store.list("state/index/") if "/deltas/" in k}
    assert len(saved) == 12
    now = T0 + timedelta(minutes=20)
    plan_collection(wl, store, now, index=True)        # merged and deleted ...
    for k, v in saved.items():                         # ... as if the deletes never happened
        store.put_hint(k, v)
    later = T0 + timedelta(minutes=30)   # T0's polls are still in every budget's horizon (an hour at most)
    same(plan_collection(wl, store, later), plan_collection(wl, store, later, index=True))
    index = json.loads(store.get(layout.due_index_key("x")))["accounts"]
    assert all(len(e["polls"]) == 1 for e in index.values())          # the union did not count a poll twice


def test_a_stale_index_polls_an_account_again_early_without_storing_anything_twice(tmp_path):
    """Cursor moved without a delta (a worker killed after the cursor, before the delta): the index thinks
    the account was polled less recently, so it is planned again; collection starts from the cursor
    state, so nothing is stored twice, and the next delta corrects the index."""
    wl = watchlist([("mastodon", f"acct{i}@x.social", "normal") for i in range(3)])
    store = CountingStore(tmp_path)
    conn = FakeMastodon({"acct0@x.social": [1, 2, 3], "acct1@x.social": [7]})
    plan = plan_collection(wl, store, T0, index=True)
    outcomes = [o for s in plan.shards for o in collect_shard(store, s, lambda p: conn, T0)]
    assert sum(o["posts"] for o in outcomes) == 4
    # seventy minutes later acct0 is polled outside collect_shard (no delta): its cursor is newer than the index
    later = T0 + timedelta(minutes=70)
    conn.posts["acct0@x.social"] += [4]
    entry0 = wl.accounts[0]
    assert collect_account(store, entry0, conn, later).posts == 1
    now = later + timedelta(minutes=10)
    by_account = plan_collection(wl, store, now)
    by_index = plan_collection(wl, store, now, index=True)
    assert "mastodon:acct0@x.social" in by_account.not_due
    early = {a["account"] for s in by_index.shards for a in s["accounts"]}
    assert "acct0@x.social" in early                                  # looks due: polled again early
    before = sorted(stored_post_ids(store))
    outcomes = [o for s in by_index.shards for o in collect_shard(store, s, lambda p: conn, now)]
    assert sorted(stored_post_ids(store)) == before and len(before) == len(set(before)) == 5   # nothing twice
    assert {o["account"]: o["posts"] for o in outcomes}["acct0@x.social"] == 0
    assert ("acct0@x.social", {"since_id": 4}) in conn.calls[-len(outcomes):]   # fetched from the cursor state
    # ... and the delta of that poll brought the index back in line with the cursor states
    after = now + timedelta(minutes=5)
    same(plan_collection(wl, store, after), plan_collection(wl, store, after, index=True))


def test_a_lost_delta_only_costs_an_early_poll(tmp_path):
    store, wl, _ = _steady(tmp_path, 30)
    now = T0 + timedelta(minutes=20)
    plan_collection(wl, store, now, index=True)
    plan = plan_collection(wl, store, now + timedelta(minutes=1), index=True, force_all=True)
    collect(store, plan, now + timedelta(minutes=1))
    for k in store.list(layout.due_delta_prefix("x")):   # x's deltas never written
        store.delete(k)
    at = now + timedelta(minutes=10)     # the high ones were polled 9 minutes ago: not due (every 15 minutes)
    by_account, by_index = plan_collection(wl, store, at), plan_collection(wl, store, at, index=True)
    extra = {a["account"] for s in by_index.shards for a in s["accounts"]} - {
        a["account"] for s in by_account.shards for a in s["accounts"]}
    assert extra == {e.account for e in wl.accounts if e.platform == "x" and e.priority == "high"}
    assert by_index.deferred == by_account.deferred == []


def test_merging_is_idempotent_commutative_and_keeps_the_latest():
    now = T0
    a = {"last_polled": "2026-11-25T11:50:00Z", "polls": ["2026-11-25T11:50:00Z", "2026-11-25T11:40:00Z"],
         "quota": {"2026-11-25": 6}, "cursor": True}
    b = {"last_polled": "2026-11-25T11:55:00Z", "polls": ["2026-11-25T11:50:00Z", "2026-11-25T11:55:00Z",
                                                         "2026-11-24T09:00:00Z"],   # older than any horizon
         "quota": {"2026-11-25": 9, "2026-11-01": 100}}
    m = due_index.merge_entries(a, b, now)
    assert m == {"last_polled": "2026-11-25T11:55:00Z",
                 "polls": ["2026-11-25T11:40:00Z", "2026-11-25T11:50:00Z", "2026-11-25T11:55:00Z"],
                 "quota": {"2026-11-25": 9}, "cursor": True}
    assert due_index.merge_entries(b, a, now) == m
    assert due_index.merge_entries(m, a, now) == m == due_index.merge_entries(m, m, now)
    assert due_index.merge_entries(None, None, now) == {}


def test_deltas_name_their_shard_and_run_and_two_shards_never_share_one(tmp_path):
    store = LocalStore(tmp_path)
    out = [{"platform": "x", "account": "a", due_index.OUTCOME_FIELD: {"last_polled": "2026-11-25T12:00:00Z"}},
           {"platform": "x", "account": "b", "status": "lapsed"}]
    k1 = due_index.record_shard_polls(store, "x", "scheduled__2026-11-25T12:00:00+00:00", 0, out, now=T0)
    k2 = due_index.record_shard_polls(store, "x", "scheduled__2026-11-25T12:00:00+00:00", 0,
                                      [{"platform": "x", "account": "a", due_index.OUTCOME_FIELD: {}}], now=T0)
    assert k1 and k2 and k1 != k2 and k1.startswith("state/index/x/deltas/20261125T120000-0000-")
    doc = json.loads(store.get(k1))
    assert doc["run_id"] == "scheduled__2026-11-25T12:00:00+00:00" and doc["shard"] == 0
    assert doc["accounts"] == {"x:a": {"last_polled": "2026-11-25T12:00:00Z"}}
    assert due_index.OUTCOME_FIELD not in out[0]
    assert due_index.record_shard_polls(store, "x", None, 1, [{"platform": "x", "account": "c"}], now=T0) is None


def test_a_rebuild_of_many_accounts_lists_the_cursors_and_reads_only_those_that_exist(tmp_path):
    from socialhub.due_index import LIST_CURSORS_ABOVE

    n = LIST_CURSORS_ABOVE + 50
    specs = [("mastodon", f"acct{i:03d}@a.example", "critical") for i in range(n)]
    store = CountingStore(tmp_path)
    half = watchlist(specs[::2])
    collect(store, plan_collection(half, store, T0, budgets=False), T0)      # every other account has a cursor
    for key in store.list("state/index/"):
        store.delete(key)                                                   # the index is lost: rebuilt
    later = T0 + timedelta(minutes=5)
    store.reset()
    by_index = plan_collection(watchlist(specs), store, later, index=True, budgets=False)
    assert sorted(cursor_reads(store)) == sorted(f"state/cursors/mastodon/{a}.json" for _, a, _ in specs[::2])
    assert store.lists.count("state/cursors/mastodon/") == 1
    same(plan_collection(watchlist(specs), store, later, budgets=False), by_index)
