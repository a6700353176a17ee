"""Housekeeping deletes the rate-budget records of old collection runs (``state/budget/runs/<run>/``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml

from socialhub.errors import ConfigError
from socialhub.models import canonical_json
from socialhub.retention import DEFAULT_POLICY, load_policy, prune_budget_runs, run_time
from socialhub.storage import LocalStore, layout

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def record(store, run_id: str, platform: str = "mastodon", **extra) -> str:
    key = layout.budget_deferred_key(run_id, platform)
    store.put_state(key, canonical_json({"platform": platform, "deferred": [], "pacing": [], **extra}))
    return key


def test_runs_older_than_the_period_are_deleted_and_recent_or_undated_ones_kept(tmp_path):
    store = LocalStore(tmp_path)
    old = [record(store, "scheduled__2026-10-01T12:00:00+00:00"), record(store, "scheduled__2026-10-01T12:00:00+00:00",
                                                                         "bluesky"),
           record(store, "manual__2026-10-02T09:17:36.472879+00:00"),
           record(store, "hand-picked", written="2026-10-20T00:00:00Z")]       # no date in the name: its record's
    store.put_state(layout.report_key("collect", "reported"), canonical_json({"finished_at": "2026-09-01T00:00:00Z"}))
    old.append(record(store, "reported"))                                       # ... else its run report's
    kept = [record(store, "scheduled__2026-10-26T12:05:00+00:00"),              # 30 days less 5 minutes ago
            record(store, "scheduled__2026-11-25T11:55:00+00:00"),
            record(store, "no-date-anywhere")]
    summary = prune_budget_runs(store, NOW, 30)
    assert sorted(store.list("state/budget/runs/")) == sorted(kept)
    assert all(store.get_or_none(k) is None for k in old)
    assert summary["runs_seen"] == 7 and summary["deleted_objects"] == 5 and summary["failed"] == []
    assert len(summary["deleted_runs"]) == 4 and summary["undated"] == ["no-date-anywhere"]
    assert store.get_or_none(layout.report_key("collect", "reported")) is not None   # the report is not touched
    again = prune_budget_runs(store, NOW, 30)
    assert again["deleted_objects"] == 0 and again["runs_seen"] == 3


def test_a_dry_run_deletes_nothing(tmp_path):
    store = LocalStore(tmp_path)
    key = record(store, "scheduled__2026-01-01T00:00:00+00:00")
    summary = prune_budget_runs(store, NOW, 30, dry_run=True)
    assert summary["deleted_objects"] == 1 and store.get_or_none(key) is not None


def test_run_time_reads_the_date_in_the_runs_key_name():
    name = layout.budget_deferred_key("manual__2026-12-03T09:17:36.472879+00:00", "x").split("/")[3]
    assert run_time(name) == datetime(2026, 12, 3, 9, 17, 36, tzinfo=UTC)
    assert run_time("asset_triggered__2026-12-03") == datetime(2026, 12, 3, tzinfo=UTC)
    assert run_time("hand-picked") is None


def test_the_period_is_policy_with_a_30_day_default(tmp_path):
    assert load_policy().operational.budget_runs_days == 30
    policy = yaml.safe_load(DEFAULT_POLICY.read_text())
    policy["operational"] = {"budget_runs_days": 0}
    path = tmp_path / "retention.yaml"
    path.write_text(yaml.safe_dump(policy))
    with pytest.raises(ConfigError, match="budget_runs_days"):
        load_policy(path)
    del policy["operational"]
    path.write_text(yaml.safe_dump(policy))
    assert load_policy(path).operational.budget_runs_days == 30     # a force's older policy file still loads


def test_housekeeping_applies_it(tmp_path, monkeypatch):
    from socialhub_airflow import runtime

    store = LocalStore(tmp_path / "store")
    old, recent = record(store, "scheduled__2026-09-01T00:00:00+00:00"), record(store, "scheduled__2026-11-24T00:00:00")
    policy = yaml.safe_load(DEFAULT_POLICY.read_text())
    policy["operational"] = {"budget_runs_days": 7}
    (tmp_path / "retention.yaml").write_text(yaml.safe_dump(policy))
    (tmp_path / "watchlist.yaml").write_text(yaml.safe_dump({"version": 1, "accounts": []}))
    monkeypatch.setenv("SOCIALHUB_RETENTION", str(tmp_path / "retention.yaml"))
    monkeypatch.setenv("SOCIALHUB_WATCHLIST", str(tmp_path / "watchlist.yaml"))
    monkeypatch.setattr(runtime, "store", lambda: store)
    monkeypatch.setattr(runtime, "now", lambda: NOW)
    out = runtime.apply_retention()
    assert out["budget_runs"] == {"seen": 2, "deleted": 1, "deleted_objects": 1, "undated": 0, "failed": 0}
    assert store.get_or_none(old) is None and json.loads(store.get(recent))["platform"] == "mastodon"
