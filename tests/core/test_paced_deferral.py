"""An account stopped by its shard's own pacing is deferred, not failed (issue 19 leftovers).

The shard's pacer runs on an injected clock (nothing waits); each fetch sends one real request
through ``HttpClient`` to an ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from socialhub.audit.chain import AuditLog, Auditor
from socialhub.collect import collect_shard, pacing_lines, summarise_collection
from socialhub.errors import PacedOut, RateLimited
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.sources import pacing
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.sources.budget import overdue_notice
from socialhub.sources.health import health_key
from socialhub.sources.http import HttpClient
from socialhub.sources.pacing import Pacer, describe_rate
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import parse_watchlist

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ACCOUNTS = [f"acct{i}@inst0.social" for i in range(3)]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def slice_of(requests: int, window: float, scope: str = "inst0.social") -> dict:
    return {"share": 0.95, "scopes": {scope: {"requests": requests, "window_seconds": window,
                                              "per_second": requests / window, "shards": 1,
                                              "limit": "300 per 15m per instance"}}}


def shard(accounts=ACCOUNTS, rate=None) -> dict:
    wl = "version: 1\naccounts:\n" + "".join(f"""
  - platform: mastodon
    account: {a}
    display_name: Account {a}
    force: met
    team: gangs
    owner: DS Example
    priority: critical
    authorisation_ref: AUTH-{i}
    purpose: Public threats between two named groups.
    review_by: 2030-01-01
""" for i, a in enumerate(accounts))
    entries = parse_watchlist(wl).accounts
    return {"platform": "mastodon", "index": 0, "of": 1, "rate": rate,
            "accounts": [e.model_dump(mode="json") for e in entries]}


class OneRequest(Connector):
    """Each fetch sends one request through ``HttpClient`` (so through the shard's pacer), then returns
    one new post. ``answer(request)`` is the platform."""

    platform = "mastodon"

    def __init__(self, answer, *, pages: int = 1, now=lambda: NOW) -> None:
        super().__init__(ConnectorConfig(base_url="http://inst0.social", max_wait=30))
        self.answer, self.pages, self.clock = answer, pages, now

    def fetch(self, account, cursor):
        with HttpClient(self.config, platform="mastodon", account=account, now=self.clock, sleep=lambda s: None,
                        transport=httpx.MockTransport(self.answer)) as http:
            for _ in range(self.pages):
                http.get_json("/api/v1/accounts/x/statuses")
        since = int((cursor or {}).get("since_id", 0)) + 1
        item = {"id": str(since), "content": f"post {since} by {account}"}
        post = Post("mastodon", account, f"{account}-{since}", f"https://inst0.social/{account}/{since}", account,
                    item["content"], utc_iso(NOW - timedelta(minutes=5)), utc_iso(NOW), [], raw_sha256(item))
        return FetchResult([post], [item], {"since_id": since}, pages=self.pages)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=[])


def raw(store, key):
    return store.get_or_none(key)


def first_run(tmp_path) -> LocalStore:
    """Every account collected once, an hour before NOW, without pacing: cursors, ledgers and health exist."""
    store = LocalStore(tmp_path)
    outcomes = collect_shard(store, shard(), lambda p: OneRequest(ok), NOW - timedelta(hours=1), concurrency=1)
    assert [o["status"] for o in outcomes] == ["ok"] * 3
    return store


def test_a_paced_out_account_is_deferred_with_its_reason_and_nothing_of_it_moves(tmp_path):
    store = first_run(tmp_path)
    before = {a: (raw(store, layout.cursor_key("mastodon", a)), raw(store, health_key("mastodon", a)))
              for a in ACCOUNTS}
    clock = Clock()
    # one request per hour for this shard: the first account takes it, the others are paced out
    pacer = Pacer("mastodon", slice_of(1, 3600.0), clock=clock, sleep=clock.sleep)
    auditor = Auditor(AuditLog(store, keys=None, anchor=None), {"kind": "task", "task_id": "collect"})
    outcomes = collect_shard(store, shard(rate=slice_of(1, 3600.0)), lambda p: OneRequest(ok), NOW, auditor,
                             concurrency=1, pacer=pacer)
    assert [o["status"] for o in outcomes] == ["ok", "deferred", "deferred"]
    assert clock() == 1000.0                                   # nothing was waited for
    for o in outcomes[1:]:
        assert o["error"] is None and o["error_type"] == "PacedOut" and o["health_changes"] == []
        assert o["deferred"]["reason"] == ("paced: this shard's slice of the mastodon inst0.social rate limit "
                                           "was used up; retried next run")
        assert o["deferred"]["scope"] == "inst0.social" and o["deferred"]["requests_sent"] == 0
        # the turn is an hour after the first account's: that is when this shard could have sent it
        assert o["deferred"]["retry_at"] == utc_iso(NOW + timedelta(hours=1))
    # cursor state (cursor, ledger) and source health of the deferred accounts: byte for byte as before
    for a in ACCOUNTS[1:]:
        assert (raw(store, layout.cursor_key("mastodon", a)), raw(store, health_key("mastodon", a))) == before[a]
    assert raw(store, layout.cursor_key("mastodon", ACCOUNTS[0])) != before[ACCOUNTS[0]][0]   # it was polled
    events = [json.loads(store.get(k)) for k in store.list("audit/")
              if k.endswith(".json") and "/head" not in k and "sealed-" not in k]
    actions = sorted(e.get("action", "") for e in events if e.get("object", "").startswith("mastodon:"))
    assert "collect_failed" not in actions and actions.count("collect") == 1

    summary = summarise_collection(outcomes, {"deferred": [], "pacing": {"mastodon": [slice_of(1, 3600.0)]}})
    assert summary["accounts_failed"] == [] and summary["accounts_polled"] == 1 and summary["accounts_ok"] == 1
    assert [d["key"] for d in summary["accounts_deferred"]] == [f"mastodon:{a}" for a in ACCOUNTS[1:]]
    assert all(d["paced"] and d["reason"].startswith("paced: ") for d in summary["accounts_deferred"])
    row = summary["pacing"]["mastodon"]
    assert row["paced_out"] == 2 and row["paced_out_accounts"] == [f"mastodon:{a}" for a in ACCOUNTS[1:]]
    assert row["slices"] == [{"shard": 0, "slice": describe_rate(slice_of(1, 3600.0)),
                              "requests_per_second": round(1 / 3600, 6)}]
    (line,) = pacing_lines(summary["pacing"])
    assert line.startswith("PACING mastodon: shard 0: inst0.social: 1 per 3600s") and "2 account(s) paced out" in line
    # critical: polled every 5 minutes, last an hour ago: 55 min late, more than one whole interval, so the
    # platform team's overdue notice names them too
    assert all(d["past_interval"] for d in summary["accounts_deferred"])
    notice = overdue_notice(summary["accounts_deferred"], "run-1")
    assert notice is not None and f"mastodon inst0.social: mastodon:{ACCOUNTS[1]}" in notice


def test_a_deferred_account_is_collected_on_the_next_run_from_its_unmoved_cursor(tmp_path):
    store = first_run(tmp_path)
    clock = Clock()
    pacer = Pacer("mastodon", slice_of(1, 3600.0), clock=clock, sleep=clock.sleep)
    collect_shard(store, shard(), lambda p: OneRequest(ok), NOW, concurrency=1, pacer=pacer)
    again = collect_shard(store, shard(), lambda p: OneRequest(ok), NOW + timedelta(minutes=5), concurrency=1)
    assert [o["status"] for o in again] == ["ok"] * 3
    cursors = [json.loads(store.get(layout.cursor_key("mastodon", a)))["cursor"] for a in ACCOUNTS]
    assert cursors == [{"since_id": 3}, {"since_id": 2}, {"since_id": 2}]   # one batch each, none skipped


def test_a_platform_429_is_still_an_error_and_counts_against_the_source(tmp_path):
    store = first_run(tmp_path)

    def too_many(request: httpx.Request) -> httpx.Response:   # the reset is an hour away: beyond max_wait
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={"error": "Too many requests"})

    clock = Clock()
    pacer = Pacer("mastodon", slice_of(100, 1.0), clock=clock, sleep=clock.sleep)
    outcomes = collect_shard(store, shard(ACCOUNTS[:1]), lambda p: OneRequest(too_many), NOW, concurrency=1,
                             pacer=pacer)
    (o,) = outcomes
    assert o["status"] == "error" and o["error_type"] == "RateLimited" and o["deferred"] is None
    health = json.loads(store.get(health_key("mastodon", ACCOUNTS[0])))
    assert health["consecutive_failures"] == 1 and health["failure_kind"] == "rate_limited"
    summary = summarise_collection(outcomes)
    assert len(summary["accounts_failed"]) == 1 and summary["accounts_deferred"] == []
    assert summary["pacing"] == {}


def test_a_window_the_platform_held_stops_the_fetch_as_the_platforms_rate_limit_not_pacing():
    clock = Clock()
    pacer = Pacer("mastodon", slice_of(100, 1.0), clock=clock, sleep=clock.sleep)
    pacer.hold("someone@inst0.social", 600.0)     # a 429 or an exhausted-window header, seen by another thread
    config = ConnectorConfig(base_url="http://inst0.social", max_wait=30)
    with pacing.use(pacer), HttpClient(config, platform="mastodon", account="someone@inst0.social",
                                       transport=httpx.MockTransport(ok)) as http:
        with pytest.raises(RateLimited, match="the platform said so") as held:
            http.get_json("/api/v1/x")
    assert not isinstance(held.value, PacedOut)
    assert clock() == 1000.0


def test_paced_out_counts_the_requests_an_earlier_page_sent():
    clock = Clock()
    pacer = Pacer("mastodon", slice_of(2, 3600.0), clock=clock, sleep=clock.sleep)
    config = ConnectorConfig(base_url="http://inst0.social", max_wait=30)
    with pacing.use(pacer):
        with HttpClient(config, platform="mastodon", account="a@inst0.social",
                        transport=httpx.MockTransport(ok)) as http:
            http.get_json("/api/v1/lookup")
        with HttpClient(config, platform="mastodon", account="a@inst0.social",     # another client, same fetch
                        transport=httpx.MockTransport(ok)) as http:
            http.get_json("/api/v1/page1")
            with pytest.raises(PacedOut) as stopped:
                http.get_json("/api/v1/page2")
    assert stopped.value.requests_sent == 2 and stopped.value.scope == "inst0.social"
    with pacing.use(pacer), HttpClient(config, platform="mastodon", account="b@inst0.social",
                                       transport=httpx.MockTransport(ok)) as http:
        with pytest.raises(PacedOut) as fresh:   # a new account's block starts from zero
            http.get_json("/api/v1/x")
    assert fresh.value.requests_sent == 0
