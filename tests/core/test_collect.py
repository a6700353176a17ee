"""Collection stores before it moves a cursor, and recovers from a crash in between."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from socialhub.collect import collect_account, collect_shard, plan_collection
from socialhub.errors import AccountUnavailable, StorageError
from socialhub.models import Post, from_jsonl, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import parse_watchlist

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)

WATCHLIST = """
version: 1
accounts:
""" + "".join(f"""
  - platform: mastodon
    account: acct{i}@x.social
    display_name: Account {i}
    force: met
    team: gangs
    owner: DS Example
    priority: {"critical" if i == 0 else "normal"}
    authorisation_ref: AUTH-{i}
    purpose: Public threats between two named groups.
    review_by: {"2020-01-01" if i == 5 else "2030-01-01"}
""" for i in range(6))


class FakeMastodon(Connector):
    """Serves ``posts[account]`` (ids ascending) newer than the cursor's since_id."""

    platform = "mastodon"

    def __init__(self, posts: dict[str, list[int]], fail: set[str] | None = None) -> None:
        super().__init__(ConnectorConfig(base_url="http://fake"))
        self.posts = posts
        self.fail = fail or set()
        self.calls: list[tuple[str, object]] = []

    def fetch(self, account, cursor):
        self.calls.append((account, cursor))
        if account in self.fail:
            raise AccountUnavailable("mastodon", account, "HTTP 404: account not found", status=404)
        since = (cursor or {}).get("since_id", 0)
        new = [i for i in self.posts.get(account, []) if i > since]
        items = [{"id": str(i), "content": f"post {i} by {account}"} for i in new]
        posts = [Post("mastodon", account, str(i), f"https://x.social/@{account}/{i}", account, it["content"],
                      utc_iso(NOW - timedelta(minutes=5)), utc_iso(NOW), [], raw_sha256(it))
                 for i, it in zip(new, items)]
        return FetchResult(posts, items, {"since_id": max(new, default=since)}, pages=1)


class CrashingStore(LocalStore):
    """Raises on the n-th call of a chosen operation: a task killed at that point."""

    def __init__(self, root, op: str, when: int = 1) -> None:
        super().__init__(root)
        op, _, nth = op.partition("#")    # "put_state:state/cursors/#2": the second such write
        self.op, self.when, self.count = op, int(nth or when), 0

    def _maybe_crash(self, op: str, key: str) -> None:
        if op == self.op.split(":")[0] and key.startswith(self.op.split(":")[1]):
            self.count += 1
            if self.count == self.when:
                raise StorageError(f"injected crash on {op} {key}")

    def put(self, key, data, **kw):
        self._maybe_crash("put", key)
        return super().put(key, data, **kw)

    def put_state(self, key, data):
        self._maybe_crash("put_state", key)
        return super().put_state(key, data)


def stored_post_ids(store) -> list[str]:
    ids = []
    for key in store.list("posts/"):
        ids += [p["post_id"] for p in from_jsonl(store.get(key))]
    return ids


def entry(i=0):
    return parse_watchlist(WATCHLIST).accounts[i]


def test_plan_skips_lapsed_and_bounds_shards(tmp_path):
    store = LocalStore(tmp_path)
    plan = plan_collection(parse_watchlist(WATCHLIST), store, NOW, max_shards_per_platform=2)
    assert plan.due == 5
    assert len(plan.shards) == 2
    assert plan.lapsed[0]["key"] == "mastodon:acct5@x.social"
    assert any("NOT COLLECTED mastodon:acct5@x.social" in line for line in plan.describe())
    assert plan.shards[0]["accounts"][0]["priority"] == "critical"


def test_plan_respects_priority_interval(tmp_path):
    store = LocalStore(tmp_path)
    connector = FakeMastodon({})
    collect_account(store, entry(0), connector, NOW)  # critical: every 5 min
    collect_account(store, entry(1), connector, NOW)  # normal: hourly
    later = NOW + timedelta(minutes=6)
    plan = plan_collection(parse_watchlist(WATCHLIST), store, later)
    due = {a["account"] for s in plan.shards for a in s["accounts"]}
    assert "acct0@x.social" in due and "acct1@x.social" not in due


def test_incremental_collection_never_reemits(tmp_path):
    store = LocalStore(tmp_path)
    conn = FakeMastodon({"acct0@x.social": [1, 2, 3]})
    out = collect_account(store, entry(), conn, NOW)
    assert out.posts == 3 and out.status == "ok"
    assert collect_account(store, entry(), conn, NOW).posts == 0
    conn.posts["acct0@x.social"] += [4, 5]
    assert collect_account(store, entry(), conn, NOW + timedelta(minutes=5)).posts == 2
    assert sorted(stored_post_ids(store)) == ["1", "2", "3", "4", "5"]
    assert len(store.list("queue/pending/")) == 2
    raw = from_jsonl(store.get(store.list("raw/")[0]))
    assert all(r["raw_sha256"] == raw_sha256(r["item"]) for r in raw)


def test_lapsed_entry_is_never_fetched(tmp_path):
    conn = FakeMastodon({"acct5@x.social": [1]})
    out = collect_account(LocalStore(tmp_path), entry(5), conn, NOW)
    assert out.status == "lapsed" and conn.calls == []


def test_one_failing_account_does_not_stop_the_shard(tmp_path):
    store = LocalStore(tmp_path)
    conn = FakeMastodon({"acct1@x.social": [1], "acct2@x.social": [7]}, fail={"acct1@x.social"})
    shard = {"platform": "mastodon", "index": 0,
             "accounts": [entry(i).model_dump(mode="json") for i in (1, 2)]}
    outcomes = collect_shard(store, shard, lambda p: conn, NOW)
    assert [o["status"] for o in outcomes] == ["error", "ok"]
    assert "account not found" in outcomes[0]["error"] and outcomes[0]["error_type"] == "AccountUnavailable"
    assert stored_post_ids(store) == ["7"]
    # its cursor never moved: its state holds only the failed poll, counted in the rate-budget ledger
    assert json.loads(store.get(layout.cursor_key("mastodon", "acct1@x.social"))) == {"polls": ["2026-11-25T12:00:00Z"]}


@pytest.mark.parametrize("crash_at", [
    "put:raw/",            # before anything is stored
    "put:posts/",          # raw stored, posts not
    "put:batches/",        # data stored, no manifest
    "put:queue/pending/",  # manifest stored, not queued
    "put_state:state/cursors/#1",   # the intent record (before anything is stored)
    "put_state:state/cursors/#2",   # everything stored, cursor not moved (the classic)
])
def test_crash_at_any_step_loses_nothing_and_stores_nothing_twice(tmp_path, crash_at):
    store = CrashingStore(tmp_path, crash_at)
    conn = FakeMastodon({"acct0@x.social": [1, 2, 3]})
    with pytest.raises(StorageError, match="injected crash"):
        collect_account(store, entry(), conn, NOW)
    conn.posts["acct0@x.social"] += [4]  # a new post arrives before the rerun
    later = NOW + timedelta(minutes=5)
    out = collect_account(store, entry(), conn, later)
    assert out.status == "ok"
    ids = stored_post_ids(store)
    assert sorted(ids) == ["1", "2", "3", "4"], ids      # nothing lost, nothing twice
    cursor = json.loads(store.get(layout.cursor_key("mastodon", "acct0@x.social")))
    assert cursor["cursor"] == {"since_id": 4}
    pending = [json.loads(store.get(k))["batch_id"] for k in store.list("queue/pending/")]
    manifests = store.list(layout.manifest_prefix("mastodon", "acct0@x.social"))
    assert len(pending) == len(manifests)                 # every stored batch is queued for processing
    if crash_at == "put_state:state/cursors/#2":
        assert out.recovered


def test_youtube_polls_are_planned_within_the_daily_quota(tmp_path):
    """The planner never plans more YouTube API calls than the quota allows; the rest wait."""
    from socialhub.sources.quota import DAILY_UNITS, record_usage

    yt = "version: 1\naccounts:\n" + "".join(f"""
  - platform: youtube
    account: "@chan{i}"
    display_name: Channel {i}
    force: met
    team: gangs
    owner: DS Example
    priority: critical
    authorisation_ref: AUTH-Y{i}
    purpose: Public threats between two named groups.
    review_by: 2030-01-01
""" for i in range(3))
    wl = parse_watchlist(yt)
    store = LocalStore(tmp_path)
    fresh = plan_collection(wl, store, NOW, force_all=True)
    assert fresh.due == 3 and fresh.deferred == []
    # the quota is nearly spent today (usage is kept per channel, in its cursor state)
    for i, e in enumerate(wl.accounts):
        state = {"cursor": {"x": 1}, "quota": record_usage({}, NOW, DAILY_UNITS // 3 - (0 if i else 1))}
        store.put_state(layout.cursor_key("youtube", e.account), json.dumps(state).encode())
    late = NOW.replace(hour=23)  # pacing allows the whole day's quota by late evening (Pacific)
    plan = plan_collection(wl, store, late, force_all=True)
    assert plan.due + len(plan.deferred) == 3
    assert plan.due <= 1 and len(plan.deferred) >= 2  # 2 units left: one poll at most
    assert any("deferred to stay within the daily API quota" in line for line in plan.describe())
