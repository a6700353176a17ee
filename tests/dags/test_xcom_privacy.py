"""What the DAGs pass between tasks (XCom, kept in Airflow's metadata database) carries no watchlist
fields: keys, shard indices and counts only. Issue 13.4.

The task functions are called directly (no Airflow run); tests/e2e/test_pipeline.py checks the
XCom rows of a real run as well.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml
from tests.review._pipeline import ListConnector

from socialhub.storage import LocalStore
from socialhub_airflow import runtime

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
#: values that must never reach XCom: purpose, authorisation, owner, review date, display name
SECRET_FIELDS = ("Purpose-XCOM-CANARY", "AUTH-XCOM-CANARY", "DS Xcom Canary", "2099-02-03", "Display Canary")


def _entry(account: str, **over) -> dict:
    entry = {"platform": "mastodon", "account": account, "display_name": "Display Canary", "force": "met",
             "team": "gangs", "owner": "DS Xcom Canary", "priority": "critical",
             "authorisation_ref": f"AUTH-XCOM-CANARY-{account[:1]}",
             "purpose": "Purpose-XCOM-CANARY: public threats between two named groups.", "review_by": "2099-02-03"}
    return dict(entry, **over)


def _write(path, entries) -> None:
    path.write_text(yaml.safe_dump({"version": 1, "accounts": entries}))


def _leaks(value) -> list[str]:
    text = json.dumps(value, default=str)
    return [s for s in SECRET_FIELDS if s in text]


@pytest.fixture
def pipeline(tmp_path, monkeypatch):
    wl = tmp_path / "watchlist.yaml"
    _write(wl, [_entry("a@x.social"), _entry("b@x.social"),
                _entry("old@x.social", review_by="2020-01-01")])       # lapsed relative to NOW
    st = LocalStore(tmp_path / "store")
    monkeypatch.setenv("SOCIALHUB_WATCHLIST", str(wl))
    monkeypatch.setenv("SOCIALHUB_POLL_ALL", "1")
    monkeypatch.setattr(runtime, "store", lambda: st)
    monkeypatch.setattr(runtime, "now", lambda: NOW)
    monkeypatch.setattr(runtime, "connector_factory", lambda cfg: (lambda platform: ListConnector({"1": "hello"})))
    return wl, st


def test_plan_passes_shard_keys_only_and_collect_reads_the_entries_itself(pipeline):
    wl, st = pipeline
    shards = runtime.plan("mastodon")
    assert _leaks(shards) == []
    assert all(set(s) == {"platform", "index", "of", "rate", "accounts"} for s in shards)
    # the shard's slice of the platform's rate limit: figures per scope (the instance), no watchlist field
    assert all(set(v) == {"requests", "window_seconds", "per_second", "shards", "limit"}
               for s in shards for v in s["rate"]["scopes"].values())
    assert sorted(k for s in shards for k in s["accounts"]) == ["mastodon:a@x.social", "mastodon:b@x.social"]

    outcomes = [o for s in shards for o in runtime.collect(s)]
    assert sorted((o["account"], o["status"], o["posts"]) for o in outcomes) == [
        ("a@x.social", "ok", 1), ("b@x.social", "ok", 1)]
    assert _leaks(outcomes) == []
    # the collection itself still knew the authorisation and purpose (the audit log has them)
    from socialhub.audit.chain import AuditLog

    collected = [e for e in AuditLog(st).events() if e["action"] == "collect"]
    assert {e["details"]["authorisation_ref"] for e in collected} == {"AUTH-XCOM-CANARY-a", "AUTH-XCOM-CANARY-b"}


def test_an_entry_removed_or_lapsed_after_the_plan_is_not_collected(pipeline, monkeypatch):
    wl, _ = pipeline
    shards = runtime.plan("mastodon")
    _write(wl, [_entry("a@x.social"), _entry("b@x.social", review_by="2026-11-24")])   # b lapsed since
    (shard,) = [s for s in shards if "mastodon:b@x.social" in s["accounts"]]
    assert all(o["account"] != "b@x.social" for o in runtime.collect(shard))
    _write(wl, [_entry("b@x.social")])                                                  # a removed
    (shard,) = [s for s in shards if "mastodon:a@x.social" in s["accounts"]]
    assert all(o["account"] != "a@x.social" for o in runtime.collect(shard))


def test_check_watchlist_and_finish_return_counts_and_keys(pipeline):
    _, st = pipeline
    checked = runtime.check_watchlist()
    assert checked == {"entries": 3, "authorised": 2, "lapsed": 1, "changes": 3} and _leaks(checked) == []
    summary = runtime.finish_collection([], "run-1")
    assert summary["accounts_lapsed"] == ["mastodon:old@x.social"] and _leaks(summary) == []
    # the stored run report keeps what the platform team needs: who must renew which authorisation
    report = json.loads(st.get("reports/collect/run-1.json"))
    assert report["accounts_lapsed"][0]["authorisation_ref"] == "AUTH-XCOM-CANARY-o"


def test_finish_reports_rate_budget_deferrals_with_reasons_but_xcom_keys_only(pipeline, monkeypatch, tmp_path):
    """Issue 19.4: the run report keeps each deferral's reason; XCom only keys and counts; the platform
    team is told once per run (a retried finish sends nothing twice)."""
    from socialhub.alerts.sinks import OutboxSink
    from socialhub.storage import layout
    from socialhub_airflow import hooks

    _, st = pipeline
    outbox = OutboxSink(tmp_path / "outbox")
    monkeypatch.setattr(hooks, "get_alert_sink", lambda *a, **k: outbox)
    deferral = {"key": "mastodon:a@x.social", "platform": "mastodon", "priority": "critical", "scope": "x.social",
                "budget": 150, "used": 150, "due": 2, "fit": 0, "horizon_seconds": 900, "share": 0.5,
                "limit": "300 per 15m per instance", "last_polled": "2026-11-25T11:30:00Z", "interval_seconds": 300,
                "overdue_seconds": 1500, "past_interval": True}
    st.put_state(layout.budget_deferred_key("run-2", "mastodon"), json.dumps({"deferred": [deferral]}).encode())
    for _ in range(2):                     # a retried finish
        summary = runtime.finish_collection([], "run-2")
        assert _leaks(summary) == []
        assert summary["accounts_deferred"] == {"count": 1, "keys": ["mastodon:a@x.social"],
                                                "overdue": ["mastodon:a@x.social"]}
    report = json.loads(st.get("reports/collect/run-2.json"))
    assert report["accounts_deferred"][0]["scope"] == "x.social" and report["platform_team_told_overdue"]
    notices = list((tmp_path / "outbox").glob("notice-*.json"))
    assert len(notices) == 1 and "mastodon:a@x.social" in notices[0].read_text()


def test_plan_records_the_shards_rate_and_finish_reports_paced_out_accounts_as_deferred(pipeline, monkeypatch):
    """Issue 19 leftovers: an account its shard's own pacing stopped is in the run report's deferred
    section with the reason, not among the failures; the report has each platform's pacing figures."""
    from socialhub.sources.pacing import describe_rate

    _, st = pipeline
    monkeypatch.setattr(runtime, "_run_id", lambda: "run-3")
    shards = runtime.plan("mastodon")
    rates = [s["rate"] for s in shards]
    assert rates and all(rates)
    paced = {"platform": "mastodon", "account": "b@x.social", "force": "met", "status": "deferred", "posts": 0,
             "batch_id": None, "error": None, "error_type": "PacedOut", "recovered": False, "notes": [],
             "health_changes": [], "media": None,
             "deferred": {"scope": "x.social", "paced": True, "retry_at": "2026-11-25T13:00:00Z", "requests_sent": 0,
                          "reason": "paced: this shard's slice of the mastodon x.social rate limit was used up; "
                                    "retried next run", "overdue_seconds": None, "past_interval": False}}
    summary = runtime.finish_collection([[[paced]]], "run-3")
    assert _leaks(summary) == []
    assert summary["accounts_failed"] == [] and summary["accounts_polled"] == 0
    assert summary["accounts_deferred"] == {"count": 1, "keys": ["mastodon:b@x.social"], "overdue": []}
    assert summary["pacing"]["mastodon"]["paced_out"] == 1
    report = json.loads(st.get("reports/collect/run-3.json"))
    (row,) = report["accounts_deferred"]
    assert row["key"] == "mastodon:b@x.social" and row["reason"].startswith("paced: this shard's slice")
    assert [s["slice"] for s in report["pacing"]["mastodon"]["slices"]] == [describe_rate(r) for r in rates]
    assert report["platform_team_told_overdue"] is False
