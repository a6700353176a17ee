"""A rate budget for every platform (issue 19.4): the planner fills each scope's budget by priority
then staleness, defers the rest with reasons, and tells the platform team once per run about
accounts the budget left overdue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from socialhub.alerts.sinks import OutboxSink
from socialhub.collect import collect_account, plan_collection
from socialhub.sources import budget
from socialhub.sources.budget import plan_within_budgets, polls_allowed, record_poll
from socialhub.sources.limits import LIMITS
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import load_watchlist, parse_watchlist

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
MASTODON_BUDGET = polls_allowed(LIMITS["mastodon"])          # 300 per 15 min, half planned: 150


def _entries(specs):
    """``specs``: (account, priority[, platform]) tuples -> watchlist entries."""
    accounts = [{"platform": s[2] if len(s) > 2 else "mastodon", "account": s[0], "display_name": "D",
                 "force": "met", "team": "gangs", "owner": "DS Example", "priority": s[1],
                 "authorisation_ref": f"AUTH-{i}", "purpose": "Public threats between two named groups.",
                 "review_by": "2030-01-01"} for i, s in enumerate(specs)]
    return parse_watchlist(yaml.safe_dump({"version": 1, "accounts": accounts}))


def _ago(minutes: float, at: datetime = NOW) -> str:
    return (at - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_mastodon_budget_is_150_polls_per_instance_per_15_minutes():
    assert MASTODON_BUDGET == 150
    assert polls_allowed(LIMITS["telegram"]) == 50          # 20/min, window shorter than the 5-minute run
    assert polls_allowed(LIMITS["rss"]) == 30


def test_an_instance_over_budget_plans_exactly_the_budget_by_priority_then_staleness():
    specs = [(f"n{i:03d}@a.example", "normal") for i in range(140)] + [(f"h{i}@a.example", "high") for i in range(20)]
    wl = _entries(specs)
    # the normal accounts were polled i minutes + 1 h ago: higher i = staler
    states = {e.key: {"last_polled": _ago(60 + int(e.account[1:4]))} for e in wl.accounts if e.priority == "normal"}
    allowed, deferred = plan_within_budgets(wl.accounts, states, NOW)
    assert len(allowed) == MASTODON_BUDGET and len(deferred) == 160 - MASTODON_BUDGET
    assert {e.priority for e in allowed[:20]} == {"high"}                  # never polled highs first
    kept_normals = sorted(int(e.account[1:4]) for e in allowed if e.priority == "normal")
    assert kept_normals == list(range(10, 140))                            # the 130 stalest normals
    assert [d["key"] for d in deferred] == [f"mastodon:n{i:03d}@a.example" for i in range(9, -1, -1)]
    d = deferred[0]
    assert (d["platform"], d["scope"], d["budget"], d["used"], d["due"], d["fit"]) == (
        "mastodon", "a.example", 150, 0, 160, 150)
    assert d["last_polled"] == _ago(69) and d["overdue_seconds"] == 9 * 60 and d["past_interval"] is False


def test_two_instances_are_budgeted_separately():
    wl = _entries([(f"u{i}@a.example", "normal") for i in range(160)] + [(f"u{i}@b.example", "normal")
                                                                         for i in range(10)])
    allowed, deferred = plan_within_budgets(wl.accounts, {}, NOW)
    assert sum(1 for e in allowed if e.account.endswith("@b.example")) == 10
    assert sum(1 for e in allowed if e.account.endswith("@a.example")) == MASTODON_BUDGET
    assert {d["scope"] for d in deferred} == {"a.example"}


def _spent(n: int, minutes_ago: float) -> dict[str, dict]:
    """Cursor states of ``n`` accounts on a.example (not due now) polled ``minutes_ago``."""
    return {f"mastodon:busy{i}@a.example": {"last_polled": _ago(minutes_ago), "polls": [_ago(minutes_ago)]}
            for i in range(n)}


def test_usage_already_spent_in_the_window_reduces_the_budget_and_the_window_refills():
    wl = _entries([(f"u{i}@a.example", "normal") for i in range(100)])
    states = _spent(120, minutes_ago=10)
    allowed, deferred = plan_within_budgets(wl.accounts, states, NOW)
    assert len(allowed) == MASTODON_BUDGET - 120 and deferred[0]["used"] == 120
    # 16 minutes later those polls have left the 15-minute window: the whole budget is back
    allowed, deferred = plan_within_budgets(wl.accounts, states, NOW + timedelta(minutes=6))
    assert len(allowed) == 100 and deferred == []
    # usage on another instance does not count
    other = {k.replace("a.example", "b.example"): v for k, v in states.items()}
    assert len(plan_within_budgets(wl.accounts, other, NOW)[0]) == 100


def test_critical_accounts_are_never_starved_by_lower_ones():
    specs = [(f"low{i}@a.example", "low") for i in range(100)] + [(f"crit{i}@a.example", "critical")
                                                                  for i in range(40)]
    wl = _entries(specs)
    # the low accounts are far staler (never polled); the critical ones were polled 5 minutes ago
    states = {**_spent(110, minutes_ago=3),
              **{e.key: {"last_polled": _ago(5)} for e in wl.accounts if e.priority == "critical"}}
    allowed, deferred = plan_within_budgets(wl.accounts, states, NOW)
    assert [e.priority for e in allowed] == ["critical"] * 40
    assert {d["priority"] for d in deferred} == {"low"}


def test_plan_collection_defers_with_reasons_and_describes_each_scope(tmp_path):
    wl = _entries([(f"u{i:03d}@a.example", "high") for i in range(160)] + [("x1", "low", "x")])
    st = LocalStore(tmp_path)
    for e in wl.accounts[:5]:   # polled 50 minutes ago: 35 min past a 15-minute interval (more than one interval)
        st.put_state(layout.cursor_key(e.platform, e.account), json.dumps({"last_polled": _ago(50)}).encode())
    plan = plan_collection(wl, st, NOW, force_all=True)
    assert plan.due == MASTODON_BUDGET + 1 and len(plan.deferred) == 10
    assert all(d["scope"] == "a.example" and d["budget"] == 150 for d in plan.deferred)
    # never polled counts as stalest: the five polled 50 minutes ago wait, then the last never-polled by key
    planned = {a["account"] for s in plan.shards for a in s["accounts"]}
    assert not any(e.account in planned for e in wl.accounts[:5])
    assert [d["key"] for d in plan.deferred][:5] == [f"mastodon:u{i}@a.example" for i in range(155, 160)]
    assert [d["past_interval"] for d in plan.deferred] == [False] * 5 + [True] * 5
    (line,) = [ln for ln in plan.describe() if ln.startswith("RATE BUDGET")]
    assert "mastodon a.example: 160 due, 150 fit this run's budget" in line
    assert "300 per 15m per instance" in line and "(never polled)" in line and "(35 min overdue)" in line
    assert line.endswith("5 past their polling interval by more than one interval")
    # budgets off: everything due is planned, as before
    assert plan_collection(wl, st, NOW, force_all=True, budgets=False).due == 161


def test_overdue_accounts_are_reported_and_the_notice_is_sent_once_per_run(tmp_path):
    wl = _entries([(f"u{i:03d}@a.example", "critical") for i in range(151)])
    states = {e.key: {"last_polled": _ago(30)} for e in wl.accounts}      # 25 min late: > one 5-minute interval
    states["mastodon:u000@a.example"] = {"last_polled": _ago(31)}
    _, deferred = plan_within_budgets(wl.accounts, states, NOW)
    assert [d["key"] for d in deferred] == ["mastodon:u150@a.example"] and deferred[0]["past_interval"]
    assert budget.scope_lines(deferred)[0].endswith("1 past their polling interval by more than one interval")
    sink = OutboxSink(tmp_path / "outbox")
    key = budget.notify_overdue(deferred, "scheduled__2026-11-25T12:00:00+00:00", sink=sink, channel="#platform")
    assert key is not None
    # a retried task (same run) sends nothing; the next run does
    assert budget.notify_overdue(deferred, "scheduled__2026-11-25T12:00:00+00:00", sink=sink,
                                 channel="#platform") is None
    assert budget.notify_overdue(deferred, "scheduled__2026-11-25T12:05:00+00:00", sink=sink,
                                 channel="#platform") is not None
    notices = [p for p in (tmp_path / "outbox").glob("notice-*.json")]
    assert len(notices) == 2
    text = json.loads(sink.find_payload(key, "#platform").location and Path(
        sink.find_payload(key, "#platform").location).read_text())
    body = json.dumps(text)
    assert "mastodon:u150@a.example" in body and "mastodon a.example" in body and "socialhub capacity" in body
    # nothing overdue (never polled, or only just late): no notice
    assert budget.notify_overdue([dict(deferred[0], past_interval=False)], "r3", sink=sink, channel="#p") is None


def test_collect_account_keeps_a_poll_ledger_in_the_cursor_state(tmp_path):
    from tests.review._pipeline import ListConnector

    wl = _entries([("a@a.example", "critical")])
    st = LocalStore(tmp_path)
    collect_account(st, wl.accounts[0], ListConnector({"1": "hello"}), NOW)
    state = json.loads(st.get(layout.cursor_key("mastodon", "a@a.example")))
    assert state["polls"] == [_ago(0)]
    assert record_poll(state["polls"] + [_ago(2 * 60)], NOW + timedelta(minutes=5)) == [_ago(0), _ago(-5)]


def test_the_demo_watchlist_defers_nothing_run_after_run(tmp_path):
    wl = load_watchlist(ROOT / "include" / "watchlist.yaml")
    st = LocalStore(tmp_path)
    authorised = wl.authorised(NOW.date())[0]
    for run in range(24):                              # two hours of 5-minute runs, polling everything
        at = NOW + timedelta(minutes=5 * run)
        plan = plan_collection(wl, st, at, force_all=True)
        assert plan.deferred == [] and plan.due == len(authorised), plan.describe()
        for shard in plan.shards:
            for a in shard["accounts"]:
                key = layout.cursor_key(a["platform"], a["account"])
                old = json.loads(st.get_or_none(key) or b"{}")
                new = dict(old, last_polled=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           polls=record_poll(old.get("polls", []), at))
                st.put_state(key, json.dumps(new).encode())
