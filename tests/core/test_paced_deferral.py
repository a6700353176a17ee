"""An account stopped by its shard's own pacing is deferred, not failed (issue 19 leftovers).

The shard's pacer runs on an injected clock (nothing waits); each fetch sends one real request
through ``HttpClient`` to an ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from socialhub import due_index
from socialhub.audit.chain import AuditLog, Auditor
from socialhub.collect import collect_shard, load_cursor_state, pacing_lines, plan_collection, summarise_collection
from socialhub.errors import PacedOut, RateLimited, StorageError
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.sources import pacing
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.sources.budget import LEDGER_FIELD, overdue_notice, used_in
from socialhub.sources.health import health_key
from socialhub.sources.http import HttpClient
from socialhub.sources.pacing import Pacer, describe_rate
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import parse_watchlist
from tests.core.test_collect_concurrency import Clock

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(minutes=30)
ACCOUNTS = [f"acct{i}@inst0.social" for i in range(3)]


def slice_of(requests: int, window: float, scope: str = "inst0.social") -> dict:
    return {"share": 0.95, "scopes": {scope: {"requests": requests, "window_seconds": window,
                                              "per_second": requests / window, "shards": 1,
                                              "limit": "300 per 15m per instance"}}}


def shard(accounts=ACCOUNTS, rate=None) -> dict:
    return {"platform": "mastodon", "index": 0, "of": 1, "rate": rate,
            "accounts": [e.model_dump(mode="json") for e in watchlist(accounts).accounts]}


def watchlist(accounts=ACCOUNTS):
    return parse_watchlist("version: 1\naccounts:\n" + "".join(f"""
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
""" for i, a in enumerate(accounts)))


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
    """Every account collected once, half an hour before NOW, without pacing: cursors, ledgers and health exist."""
    store = LocalStore(tmp_path)
    outcomes = collect_shard(store, shard(), lambda p: OneRequest(ok), EARLIER, concurrency=1)
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
    # critical: polled every 5 minutes, last half an hour ago: 25 min late, more than one whole interval, so the
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


# -- failed polls count in the rate-budget ledger ----------------------------------------------------

def entries():
    return watchlist().accounts


def test_a_failed_poll_is_in_the_ledger_the_planner_reads_next_run_and_its_cursor_stays(tmp_path):
    store = first_run(tmp_path)
    due_index.load_states(store, "mastodon", entries(), EARLIER)   # the index built, the first run's delta merged
    key = layout.cursor_key("mastodon", ACCOUNTS[0])
    before = json.loads(store.get(key))

    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": "Record not found"})

    (o,) = collect_shard(store, shard(ACCOUNTS[:1]), lambda p: OneRequest(failing), NOW, concurrency=1)
    assert o["status"] == "error" and o["error_type"] == "AccountUnavailable"
    # only the ledger changed: one more poll, at NOW; cursor, last manifest and last poll as they were
    after = json.loads(store.get(key))
    assert after == dict(before, **{LEDGER_FIELD: [utc_iso(EARLIER), utc_iso(NOW)]})
    assert after["cursor"] == {"since_id": 1} and after["last_polled"] == utc_iso(EARLIER)
    later = NOW + timedelta(minutes=2)       # within a critical account's 5-minute interval of NOW
    # both views the planner reads count it: the cursor states (tools) and the due index + the shard's delta (DAG)
    by_state = {f"mastodon:{a}": load_cursor_state(store, "mastodon", a) for a in ACCOUNTS}
    by_index, info = due_index.load_states(store, "mastodon", entries(), later)
    assert info["deltas"] == 1 and info["cursor_reads"] == 0
    for states in (by_state, by_index):
        assert used_in(states.values(), later, timedelta(minutes=15)) == 1    # the failed poll, nothing else
        assert used_in(states.values(), later, timedelta(hours=1)) == 4       # and the first run's three
        assert states[f"mastodon:{ACCOUNTS[0]}"]["last_polled"] == utc_iso(EARLIER)
    plan = plan_collection(watchlist(), store, later, index=True)
    # still due (had the failure counted as a poll at NOW, it would not be due until NOW + 5 min)
    assert f"mastodon:{ACCOUNTS[0]}" not in plan.not_due and plan.due == 3


def test_a_failed_poll_whose_ledger_cannot_be_written_still_fails_only_itself(tmp_path):
    class NoCursorWrites(LocalStore):
        def put_state(self, key, data, **kw):
            if key.startswith("state/cursors/"):
                raise StorageError(f"injected failure writing {key}")
            return super().put_state(key, data, **kw)

    store = NoCursorWrites(tmp_path)
    (o,) = collect_shard(store, shard(ACCOUNTS[:1]), lambda p: OneRequest(lambda r: httpx.Response(404)), NOW,
                         concurrency=1)
    assert o["status"] == "error" and o["error_type"] == "AccountUnavailable"   # the fetch's error, not storage's
    assert store.get_or_none(layout.cursor_key("mastodon", ACCOUNTS[0])) is None


def test_a_paced_out_account_counts_only_the_requests_it_sent(tmp_path):
    store = first_run(tmp_path)
    before = {a: json.loads(store.get(layout.cursor_key("mastodon", a))) for a in ACCOUNTS}
    clock = Clock()
    # 3 requests an hour, 2 pages a fetch: acct0 takes 2, acct1 sends page 1 then is paced out, acct2 sends none
    pacer = Pacer("mastodon", slice_of(3, 3600.0), clock=clock, sleep=clock.sleep)
    outcomes = collect_shard(store, shard(), lambda p: OneRequest(ok, pages=2), NOW, concurrency=1, pacer=pacer)
    assert [o["status"] for o in outcomes] == ["ok", "deferred", "deferred"]
    assert [o["deferred"]["requests_sent"] for o in outcomes[1:]] == [1, 0]
    after = {a: json.loads(store.get(layout.cursor_key("mastodon", a))) for a in ACCOUNTS}
    # paced out on its second page: its first request counts; cursor and the rest as they were
    assert after[ACCOUNTS[1]] == dict(before[ACCOUNTS[1]], **{LEDGER_FIELD: [utc_iso(EARLIER), utc_iso(NOW)]})
    assert after[ACCOUNTS[2]] == before[ACCOUNTS[2]]        # sent nothing: not counted, nothing written
