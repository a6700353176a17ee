"""Concurrency inside a collect shard, and each shard's slice of a platform's request rate.

Overlap is proven with barriers (a fetch waits until N fetches are in flight), never with timing;
the token bucket runs on an injected clock.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from socialhub.audit.chain import Auditor, AuditLog, verify_chain
from socialhub.collect import collect_shard, plan_collection
from socialhub.errors import AccountUnavailable, RateLimited, StorageError
from socialhub.models import Post, from_jsonl, raw_sha256, utc_iso
from socialhub.sources import pacing
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.sources.http import HttpClient
from socialhub.sources.limits import LIMITS, Limit, scope_of
from socialhub.sources.pacing import PACE_SHARE, Pacer, SlidingWindow, scope_slice, shard_rates
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import parse_watchlist

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
WAIT = 10.0   # a barrier's timeout: only reached when the fetches do NOT overlap (the test then fails)


def watchlist(n: int, *, platform: str = "mastodon", instances: int = 1) -> str:
    return "version: 1\naccounts:\n" + "".join(f"""
  - platform: {platform}
    account: acct{i}@inst{i % instances}.social
    display_name: Account {i}
    force: met
    team: gangs
    owner: DS Example
    priority: critical
    authorisation_ref: AUTH-{i}
    purpose: Public threats between two named groups.
    review_by: 2030-01-01
""" for i in range(n))


def shard_of(n: int, **kw) -> dict:
    entries = parse_watchlist(watchlist(n, **kw)).accounts
    return {"platform": "mastodon", "index": 0, "of": 1, "accounts": [e.model_dump(mode="json") for e in entries]}


class Fake(Connector):
    """Two new posts per account; ``gate(account)`` runs inside every fetch (barriers, events)."""

    platform = "mastodon"

    def __init__(self, gate=None, fail: set[str] | None = None) -> None:
        super().__init__(ConnectorConfig(base_url="http://fake"))
        self.gate, self.fail = gate, fail or set()
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0
        self.finished: list[str] = []

    def fetch(self, account, cursor):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                self.gate(account)
            if account in self.fail:
                raise AccountUnavailable("mastodon", account, "HTTP 404: account not found", status=404)
            since = int((cursor or {}).get("since_id", 0))
            items = [{"id": str(i), "content": f"post {i} by {account}"} for i in (since + 1, since + 2)]
            posts = [Post("mastodon", account, f"{account}-{it['id']}", f"https://x.social/{account}/{it['id']}",
                          account, it["content"], utc_iso(NOW - timedelta(minutes=5)), utc_iso(NOW), [],
                          raw_sha256(it)) for it in items]
            return FetchResult(posts, items, {"since_id": since + 2}, pages=1)
        finally:
            with self.lock:
                self.in_flight -= 1
                self.finished.append(account)


def cursor(store, account):
    raw = store.get_or_none(layout.cursor_key("mastodon", account))
    return json.loads(raw) if raw else None


def test_fetches_overlap_up_to_the_setting(tmp_path):
    # 12 accounts, 4 at a time: every fetch waits at a 4-party barrier, so the shard can only
    # finish if exactly 4 fetches are in flight together, three times over
    barrier = threading.Barrier(4, timeout=WAIT)
    conn = Fake(gate=lambda account: barrier.wait())
    store = LocalStore(tmp_path)
    outcomes = collect_shard(store, shard_of(12), lambda p: conn, NOW, concurrency=4)
    assert [o["status"] for o in outcomes] == ["ok"] * 12
    assert conn.max_in_flight == 4          # overlap happened, and never beyond the bound
    assert sum(o["posts"] for o in outcomes) == 24


def test_concurrency_one_is_one_account_at_a_time(tmp_path):
    conn = Fake()
    outcomes = collect_shard(LocalStore(tmp_path), shard_of(5), lambda p: conn, NOW, concurrency=1)
    assert conn.max_in_flight == 1 and [o["status"] for o in outcomes] == ["ok"] * 5
    assert conn.finished == [f"acct{i}@inst0.social" for i in range(5)]


def test_setting_is_read_from_the_environment(tmp_path, monkeypatch):
    barrier = threading.Barrier(3, timeout=WAIT)
    conn = Fake(gate=lambda account: barrier.wait())
    monkeypatch.setenv("SOCIALHUB_COLLECT_CONCURRENCY", "3")
    outcomes = collect_shard(LocalStore(tmp_path), shard_of(6), lambda p: conn, NOW)
    assert conn.max_in_flight == 3 and all(o["status"] == "ok" for o in outcomes)
    monkeypatch.setenv("SOCIALHUB_COLLECT_CONCURRENCY", "0")
    from socialhub.errors import ConfigError

    with pytest.raises(ConfigError, match="SOCIALHUB_COLLECT_CONCURRENCY"):
        collect_shard(LocalStore(tmp_path), shard_of(2), lambda p: conn, NOW)


def test_outcomes_keep_the_shard_order_and_a_failure_stops_no_one(tmp_path):
    # the first account finishes last: it waits until every other fetch has finished
    others_done = threading.Event()
    done: set[str] = set()
    lock = threading.Lock()

    def gate(account):
        if account == "acct0@inst0.social":
            assert others_done.wait(WAIT)
            return
        with lock:
            done.add(account)
            if len(done) == 5:
                others_done.set()

    conn = Fake(gate=gate, fail={"acct2@inst0.social", "acct4@inst0.social"})
    store = LocalStore(tmp_path)
    outcomes = collect_shard(store, shard_of(6), lambda p: conn, NOW, concurrency=6)
    assert conn.finished[-1] == "acct0@inst0.social"
    assert [o["account"] for o in outcomes] == [f"acct{i}@inst0.social" for i in range(6)]
    assert [o["status"] for o in outcomes] == ["ok", "ok", "error", "ok", "error", "ok"]
    assert outcomes[2]["error_type"] == "AccountUnavailable"
    for i in range(6):
        moved = cursor(store, f"acct{i}@inst0.social")
        # a failed account's state holds only its poll in the rate-budget ledger: no cursor
        assert ("cursor" not in moved) == (i in (2, 4)) and moved["polls"] == [utc_iso(NOW)]


class FailingManifest(LocalStore):
    """Refuses to store the manifest of one account's batch (its posts and raw are written)."""

    def __init__(self, root, account: str) -> None:
        super().__init__(root)
        self.account = account

    def put(self, key, data, **kw):
        if key.startswith(layout.manifest_prefix("mastodon", self.account)):
            raise StorageError(f"injected failure storing {key}")
        return super().put(key, data, **kw)


def test_cursor_moves_only_after_the_batch_is_stored_under_concurrency(tmp_path):
    barrier = threading.Barrier(4, timeout=WAIT)
    conn = Fake(gate=lambda account: barrier.wait())
    store = FailingManifest(tmp_path, "acct1@inst0.social")
    outcomes = collect_shard(store, shard_of(8), lambda p: conn, NOW, concurrency=4)
    assert [o["status"] for o in outcomes] == ["ok", "error", *["ok"] * 6]
    assert "injected failure" in outcomes[1]["error"]
    failed = cursor(store, "acct1@inst0.social")
    assert "cursor" not in failed and "last_manifest" not in failed   # never moved: its batch is not committed
    left = failed["writing"]["keys"]                 # the intent names what the interrupted poll wrote
    assert [store.exists(k) for k in left] == [True, True]
    for i in (0, *range(2, 8)):
        acct = f"acct{i}@inst0.social"
        state = cursor(store, acct)
        assert state["cursor"] == {"since_id": 2}
        manifest = json.loads(store.get(state["last_manifest"]))   # the cursor points at a stored batch
        assert manifest["cursor_after"] == {"since_id": 2}
        assert len(from_jsonl(store.get(manifest["posts"]["key"]))) == 2
    # next run: the failed account is fetched again from where it was, nothing stored twice
    conn2 = Fake()
    again = collect_shard(LocalStore(tmp_path), shard_of(8), lambda p: conn2, NOW + timedelta(minutes=5),
                          concurrency=4)
    assert again[1]["status"] == "ok" and again[1]["posts"] == 2
    state = cursor(store, "acct1@inst0.social")
    assert "writing" not in state and state["cursor"] == {"since_id": 2}
    prefix = layout.posts_key("mastodon", "2026-11-25", "acct1@inst0.social", "x").rsplit("/", 1)[0] + "/"
    assert store.list(prefix) == [json.loads(store.get(state["last_manifest"]))["posts"]["key"]]


def test_audit_chain_stays_linear_with_threads(tmp_path):
    store = LocalStore(tmp_path)
    auditor = Auditor(AuditLog(store, keys=None, anchor=None), {"kind": "task", "task_id": "collect"})
    barrier = threading.Barrier(4, timeout=WAIT)
    conn = Fake(gate=lambda account: barrier.wait(), fail={"acct3@inst0.social"})
    collect_shard(store, shard_of(8), lambda p: conn, NOW, auditor, concurrency=4)
    result = verify_chain(store, keys=None)
    assert result.ok, result.problems
    events = [json.loads(store.get(k)) for k in store.list("audit/events/")]
    assert sorted(e["object"] for e in events if e["action"] == "collect") == sorted(
        f"mastodon:acct{i}@inst0.social" for i in range(8) if i != 3)
    assert [e["object"] for e in events if e["action"] == "collect_failed"] == ["mastodon:acct3@inst0.social"]


def test_an_unexpected_error_stops_no_other_account_and_fails_the_task_after(tmp_path):
    def gate(account):
        if account == "acct1@inst0.social":
            raise KeyError("a bug")

    conn = Fake(gate=gate)
    store = LocalStore(tmp_path)
    with pytest.raises(KeyError):
        collect_shard(store, shard_of(4), lambda p: conn, NOW, concurrency=2)
    assert [cursor(store, f"acct{i}@inst0.social") is not None for i in range(4)] == [True, False, True, True]


def test_media_run_budget_is_shared_exactly_by_threads():
    from socialhub.media.capture import MediaCapture, MediaCaps, _SharedRun

    capture = MediaCapture(fetcher=None, caps=MediaCaps(run_bytes=100_000, account_bytes=10**9))  # type: ignore[arg-type]
    start = threading.Barrier(8, timeout=WAIT)

    def spend():
        budget = _SharedRun(10**9, capture)
        start.wait()
        for _ in range(1000):
            if budget.allows():
                budget.spend(10)

    def run_threads():
        threads = [threading.Thread(target=spend) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run_threads()
    # 8 x 1000 x 10 bytes spent of 100,000: no spend lost (a race would leave more than 20,000)
    assert capture.run_left == 20_000
    run_threads()
    # another 80,000 wanted, 20,000 left: the run budget is used up exactly, never below zero
    assert capture.run_left == 0
    assert not _SharedRun(10**9, capture).allows()


# -- the sliding window -----------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def most_in_any_window(times: list[float], span: float) -> int:
    """The most turns in any half-open span ``(t - span, t]``."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - span:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.parametrize("limit,window", [(1, 0.5), (3, 10.0), (270, 900.0)])
def test_sliding_window_never_exceeds_its_limit_over_any_window(limit, window):
    clock = Clock()
    paced = SlidingWindow(limit, window, clock=clock, sleep=clock.sleep)
    granted = []
    for i in range(5 * limit + 7):
        if i % (limit + 3) == 0:
            clock.sleep(window / 3)   # idle spells in between
        paced.acquire()
        granted.append(clock())
    assert most_in_any_window(granted, window) == limit          # the limit, used to the full
    # and it does not hold back more than it must: the long-run rate reaches the limit
    assert len(granted) / (granted[-1] - granted[0] + window) >= 0.75 * limit / window


def test_sliding_window_reservations_from_many_threads_keep_the_limit():
    clock = Clock()
    paced = SlidingWindow(4, 1.0, clock=clock, sleep=clock.sleep)
    due: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8, timeout=WAIT)

    def take():
        start.wait()
        for _ in range(50):
            wait = paced.reserve()    # the clock does not move: every thread reserves a future turn
            with lock:
                due.append(clock() + wait)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(due) == 400
    assert most_in_any_window(due, 1.0) == 4
    assert max(due) - min(due) == pytest.approx(99.0)     # 400 turns, 4 a second: no time wasted


def test_a_turn_further_than_max_wait_is_not_reserved():
    clock = Clock()
    paced = SlidingWindow(2, 60.0, clock=clock, sleep=clock.sleep)
    assert paced.reserve(30) == 0 and paced.reserve(30) == 0
    assert paced.reserve(30) is None          # the next turn is 60 s away
    clock.sleep(60)
    assert paced.reserve(30) == 0 and paced.taken == 3


def test_hold_pauses_the_window_until_the_reset():
    clock = Clock()
    paced = SlidingWindow(10, 1.0, clock=clock, sleep=clock.sleep)
    paced.acquire()
    paced.hold(5.0)                      # the platform said: window used up for 5 s
    assert paced.reserve() == pytest.approx(5.0)
    assert paced.reserve() == pytest.approx(5.0)   # then the slice as usual


# -- each shard's slice of the platform's limit ------------------------------------------------------

@pytest.mark.parametrize("shards,instances", [(4, 1), (4, 3), (2, 7), (1, 1)])
def test_shard_slices_sum_to_at_most_the_published_limit_per_scope(tmp_path, shards, instances):
    wl = parse_watchlist(watchlist(40, instances=instances))
    plan = plan_collection(wl, LocalStore(tmp_path), NOW, max_shards_per_platform=shards, budgets=False)
    limit = LIMITS["mastodon"]
    window = limit.window.total_seconds()
    totals: dict[str, int] = {}
    for shard in plan.shards:
        rate = shard["rate"]
        assert set(rate["scopes"]) == {scope_of("mastodon", a["account"]) for a in shard["accounts"]}
        for scope, r in rate["scopes"].items():
            assert r["window_seconds"] == window
            totals[scope] = totals.get(scope, 0) + r["requests"]
    assert set(totals) == {f"inst{i}.social" for i in range(instances)}
    for total in totals.values():
        # in any window all shards together stay within the pacing share of the published limit
        assert total <= PACE_SHARE * limit.requests
        assert total >= PACE_SHARE * limit.requests - 4        # and the slices use nearly all of it


def test_a_limit_smaller_than_the_shards_stretches_the_window():
    tiny = Limit("telegram", 2, timedelta(minutes=1), "ip", per_poll=1, source="test")
    requests, window = scope_slice(tiny, 4)
    assert requests == 1 and 4 * requests * 60 / window <= PACE_SHARE * 2 + 1e-9


def test_shards_of_unpaced_platforms_carry_no_rate():
    shards = [{"platform": "youtube", "index": 0, "accounts": [{"account": "@chan"}]},
              {"platform": "mastodon", "index": 0, "accounts": ["mastodon:a@b.social"]}]
    shard_rates(shards)
    assert shards[0]["rate"] is None
    assert set(shards[1]["rate"]["scopes"]) == {"b.social"}


def slice_of(requests: int, window: float, scope: str = "all") -> dict:
    return {"share": 0.9, "scopes": {scope: {"requests": requests, "window_seconds": window,
                                             "per_second": requests / window, "shards": 1, "limit": "x"}}}


def test_every_http_request_takes_a_turn_from_the_shards_window():
    clock = Clock()
    pacer = Pacer("mastodon", slice_of(2, 1.0, "inst0.social"), clock=clock, sleep=clock.sleep)
    sent: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(clock())
        return httpx.Response(200, json={"ok": True})

    config = ConnectorConfig(base_url="http://inst0.social")
    with pacing.use(pacer), HttpClient(config, platform="mastodon", account="acct0@inst0.social",
                                       transport=httpx.MockTransport(answer)) as http:
        for _ in range(5):
            http.get_json("/api/v1/x")
    assert sent == [1000.0, 1000.0, 1001.0, 1001.0, 1002.0]
    # without a pacer nothing waits
    with HttpClient(config, platform="mastodon", account="acct0@inst0.social",
                    transport=httpx.MockTransport(answer)) as http:
        http.get_json("/api/v1/x")
    assert sent[-1] == 1002.0


def test_a_turn_within_the_run_interval_is_waited_for_beyond_max_wait():
    # a 2-minute window: the planner plans the run's polls over 5 minutes, so the shard waits
    clock = Clock()
    pacer = Pacer("telegram", slice_of(1, 120.0), clock=clock, sleep=clock.sleep)
    config = ConnectorConfig(base_url="http://t.example", max_wait=30)
    with pacing.use(pacer), HttpClient(config, platform="telegram", account="chan",
                                       transport=httpx.MockTransport(lambda r: httpx.Response(200, json={}))) as http:
        http.get_json("/s/chan")
        http.get_json("/s/chan")
    assert clock() == 1120.0


def test_a_turn_beyond_the_run_interval_and_max_wait_stops_the_fetch_as_rate_limited():
    clock = Clock()
    pacer = Pacer("mastodon", slice_of(1, 3600.0), clock=clock, sleep=clock.sleep)
    config = ConnectorConfig(base_url="http://m.example", max_wait=30)
    with pacing.use(pacer), HttpClient(config, platform="mastodon", account="someone",
                                       transport=httpx.MockTransport(lambda r: httpx.Response(200, json={}))) as http:
        http.get_json("/api/v1/x")
        with pytest.raises(RateLimited, match="slice of the mastodon rate limit is used up"):
            http.get_json("/api/v1/x")
    assert clock() == 1000.0      # nothing was waited for


def test_a_429_holds_the_shard_so_its_other_threads_wait_for_the_reset():
    clock = Clock()
    pacer = Pacer("mastodon", slice_of(100, 1.0), clock=clock, sleep=clock.sleep)
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={})])
    config = ConnectorConfig(base_url="http://m.example")
    with pacing.use(pacer), HttpClient(config, platform="mastodon", account="someone",
                                       transport=httpx.MockTransport(lambda r: next(answers)),
                                       sleep=clock.sleep, reset_margin=1.0) as http:
        http.get_json("/api/v1/x")
    assert clock() == pytest.approx(1008.0)   # the retry waited for the reset (7 s + margin)
    found = pacer.window("someone")
    assert found is not None and found.taken == 2
