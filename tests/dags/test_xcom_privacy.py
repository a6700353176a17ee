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
    assert all(set(s) == {"platform", "index", "of", "accounts"} for s in shards)
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
