"""The demo does not expire with the calendar (issue 13, point 10).

``make demo`` runs the demo watchlist (``include/watchlist.yaml``) against the replay server, whose
posts are dated relative to its clock (``include/socialhub/replay/demo_data.yaml``: ``age``), while
Airflow's tasks use the wall clock. Here the same stages the demo's DAGs run (plan with the
review-by check, collect through the real connectors over HTTP, the quality suite, the classifier,
the alert ledger and outbox) run on one injected clock: today, a year ahead and five years ahead.
Every run must collect, reject, flag and alert exactly the same, and only the deliberately lapsed
entry may be left out. A review-by date or a post date that runs out within five years fails this
test now, not on the day it runs out.

The clock positions are relative to the day the test runs (at a fixed time of day, so the YouTube
quota pacing is the same), never a fixed date: the test means the same thing in any year.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from socialhub.alerting import alert_batches
from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink
from socialhub.classify import load_classifier
from socialhub.collect import collect_shard, plan_collection, summarise_collection
from socialhub.process import pending_batches, process_batches, summarise_processing
from socialhub.replay.server import ReplayServer
from socialhub.sources.base import ConnectorConfig
from socialhub.storage import LocalStore
from socialhub.watchlist import load_watchlist

ROOT = Path(__file__).resolve().parents[2]
DEMO_WATCHLIST = ROOT / "include" / "watchlist.yaml"
ROUTING = ROOT / "include" / "socialhub" / "alerts" / "routing.yaml"
#: The one demo entry whose authorisation has lapsed on purpose, to show it is not collected.
LAPSED = "AUTH-2025-0099"


def clock_at(years: int) -> datetime:
    """Today at 12:00 UTC, ``years`` years on (365 days each)."""
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return today + timedelta(days=365 * years)


def run_demo_stages(root: Path, now: datetime) -> dict[str, Any]:
    """What one demo cycle does (socialhub_collect then socialhub_process), on the clock ``now``."""
    store = LocalStore(root / "store")
    watchlist = load_watchlist(DEMO_WATCHLIST)
    with ReplayServer(now=lambda: now).start() as replay:
        plan = plan_collection(watchlist, store, now, max_shards_per_platform=1, force_all=True)

        def factory(platform: str) -> Any:
            from socialhub.sources.registry import get_connector

            return get_connector(platform, ConnectorConfig(base_url=replay.base_url(platform), token=None,
                                                           lookback=timedelta(days=7), max_pages=10, extra={}),
                                 now=lambda: now, sleep=lambda s: None)

        outcomes = [o for shard in plan.shards for o in collect_shard(store, shard, factory, now)]
    collected = summarise_collection(outcomes, {"lapsed": plan.lapsed})
    ids = pending_batches(store)
    records = process_batches(store, ids, classifier=load_classifier())
    processed = summarise_processing(records)
    alerts = alert_batches(store, ids, sink=OutboxSink(root / "outbox", now=lambda: now),
                           routing=Routing.load(ROUTING), now=now)
    return {"watchlist": watchlist, "collected": collected, "processed": processed, "alerts": alerts,
            "outcomes": outcomes}


@pytest.fixture(scope="module")
def today(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_demo_stages(tmp_path_factory.mktemp("today"), clock_at(0))


def test_demo_today_collects_flags_and_alerts(today: dict[str, Any]) -> None:
    watchlist, collected, processed = today["watchlist"], today["collected"], today["processed"]
    assert [lapse["authorisation_ref"] for lapse in collected["accounts_lapsed"]] == [LAPSED]
    assert collected["accounts_polled"] == collected["accounts_ok"] == len(watchlist.accounts) - 1
    assert collected["accounts_failed"] == []
    assert all(o["posts"] > 0 for o in today["outcomes"]), "a demo account yielded nothing"
    assert processed["quarantined"] > 0, "the demo data exercises the quarantine"
    assert processed["flagged"] > 0     # what exactly is the classifier's business; here: the same every year
    assert today["alerts"]["delivered"] == processed["flagged"]


@pytest.mark.parametrize("years", [1, 5])
def test_demo_the_same_with_the_clock_years_ahead(years: int, today: dict[str, Any], tmp_path: Path) -> None:
    later = run_demo_stages(tmp_path, clock_at(years))
    assert [lapse["authorisation_ref"] for lapse in later["collected"]["accounts_lapsed"]] == [LAPSED]
    for key in ("accounts_polled", "accounts_ok", "accounts_failed", "posts_collected"):
        assert later["collected"][key] == today["collected"][key], key
    assert later["processed"] == today["processed"]
    assert later["alerts"]["delivered"] == today["alerts"]["delivered"] > 0
    assert sorted((o["platform"], o["account"], o["posts"]) for o in later["outcomes"]) == \
        sorted((o["platform"], o["account"], o["posts"]) for o in today["outcomes"])
