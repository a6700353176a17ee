"""The whole pipeline on a production-shaped Airflow: PostgreSQL metadata, LocalExecutor, the real
scheduler, dag-processor and api-server as separate processes (the docker-compose stack without
Celery). Nothing calls ``airflow dags test`` here: the scheduler runs ``socialhub_collect``, and
``socialhub_process`` starts only because the ``x-socialhub://batches`` asset was updated.

Slow (about 3-4 minutes on a 2-core runner, most of it Airflow start-up and task process start-up),
hence the ``e2e`` marker. The store is the local folder and alerts go to the local outbox.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from socialhub.models import from_jsonl
from socialhub.replay.server import ReplayServer
from socialhub.storage import LocalStore
from tests.e2e.conftest import write_watchlist
from tests.e2e_postgres.conftest import connections

pytestmark = pytest.mark.e2e

RUN_ID = "e2e_postgres_manual"
#: bounded waits (seconds); generous because CI machines are shared, but a hang still fails the test
START_TIMEOUT = 240
RUN_TIMEOUT = 420


def _rows(store: LocalStore, prefix: str) -> list[dict]:
    rows: list[dict] = []
    for key in store.list(prefix):
        rows += from_jsonl(store.get(key))
    return rows


def _outbox_deliveries(outbox: Path) -> tuple[list[str], list[dict]]:
    """(alert ids delivered, one entry per alert or digest; notices returned apart)."""
    alert_ids: list[str] = []
    notices: list[dict] = []
    index = outbox / "outbox.jsonl"
    for raw in index.read_text().splitlines() if index.exists() else []:
        line = json.loads(raw)
        if line["key"].startswith("notice"):
            notices.append(line)
        else:
            alert_ids += line.get("alert_ids") or [line["key"]]
    return alert_ids, notices


def test_scheduler_runs_the_pipeline_on_postgres_with_the_local_executor(make_stack, postgres, tmp_path):
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    with ReplayServer().start() as replay:
        watchlist = write_watchlist(tmp_path / "watchlist.yaml", replay)
        stack = make_stack({
            "SOCIALHUB_POLL_ALL": "true",
            "SOCIALHUB_WATCHLIST": str(watchlist),
            "SOCIALHUB_MAX_SHARDS": "2",
            "SOCIALHUB_MEDIA_GATEWAY": replay.media_gateway,   # media through the replay: loopback only
            **connections(replay),
        })
        timings["db migrate + pools"] = time.monotonic() - t0
        stack.start(timeout=START_TIMEOUT)
        stack.wait_for_dags("socialhub_collect", "socialhub_process", timeout=START_TIMEOUT)
        timings["stack up"] = time.monotonic() - t0

        # the metadata database really is PostgreSQL, and Airflow's pools are there
        assert "PostgreSQL" in stack.query("SELECT version() AS v")[0]["v"]
        pools = {r["pool"]: r["slots"] for r in stack.query("SELECT pool, slots FROM slot_pool")}
        assert pools.get("socialhub_mastodon") and pools.get("socialhub_process")
        assert stack.health()["metadatabase"]["status"] == "healthy"

        # trigger while paused, then unpause: unpausing a */5 DAG also creates the run of the latest
        # cron tick, so two collect runs are queued (one runs at a time: max_active_runs=1); the
        # first to finish is the one followed through processing and alerting
        stack.trigger("socialhub_collect", RUN_ID)
        stack.unpause("socialhub_process")
        stack.unpause("socialhub_collect")
        collect = stack.wait_for_run("socialhub_collect", lambda r: r["state"] == "success", timeout=RUN_TIMEOUT)
        timings["first collect run done"] = time.monotonic() - t0
        # the other queued collect run would only compete for the 2 CPUs with processing: pause
        stack.pause("socialhub_collect")
        # socialhub_process is asset-scheduled: the run started by that collect run's x-socialhub://batches
        # event processes and alerts every batch the collect run stored
        process = stack.wait_for_run(
            "socialhub_process", lambda r: r["state"] == "success", timeout=RUN_TIMEOUT,
            runs_of=lambda: stack.runs_triggered_by("socialhub_process", "socialhub_collect", collect["run_id"]))
        timings["process run done"] = time.monotonic() - t0

        collect_tis = stack.task_states("socialhub_collect", collect["run_id"])
        process_tis = stack.task_states("socialhub_process", process["run_id"])
        events = stack.query("SELECT a.uri, e.source_dag_id, e.source_run_id FROM asset_event e "
                             "JOIN asset a ON a.id = e.asset_id")
        stack.stop()
        stack.close()
    print("\ntimings (s since start): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))

    # -- what Airflow did -----------------------------------------------------------------------
    assert process["run_type"] == "asset_triggered"
    assert any(e["uri"].rstrip("/") == "x-socialhub://batches" and e["source_run_id"] == collect["run_id"]
               for e in events), events
    by_task: dict[str, list[dict]] = {}
    for ti in collect_tis:
        by_task.setdefault(ti["task_id"], []).append(ti)
    for platform in replay.platforms():
        shards = by_task[f"collect_{platform}"]
        # tasks grow with shards (SOCIALHUB_MAX_SHARDS=2), not with accounts
        assert 1 <= len(shards) <= 2
        assert all(t["state"] == "success" and t["pool"] == f"socialhub_{platform}" for t in shards)
    assert all(t["state"] in ("success", "skipped") for t in collect_tis), collect_tis
    assert {t["task_id"] for t in process_tis} >= {"find_pending", "process", "alert", "report"}
    assert all(t["state"] in ("success", "skipped") for t in process_tis), process_tis
    assert all(t["pool"] == "socialhub_process" for t in process_tis if t["task_id"] == "process")

    # -- what the pipeline stored ---------------------------------------------------------------
    store = LocalStore(tmp_path / "data" / "store")
    posts = _rows(store, "posts/")
    curated = _rows(store, "curated/")
    quarantined = _rows(store, "quarantine/")
    flagged = _rows(store, "flagged/")
    assert store.list("raw/") and posts
    assert {p["platform"] for p in posts} == set(replay.platforms())
    assert len({(p["platform"], p["post_id"]) for p in posts}) == len(posts), "a post was stored twice"
    assert len(curated) + len(quarantined) == len(posts)
    assert quarantined and all(r["quarantine_reasons"] for r in quarantined)
    assert flagged and all(r["classification"]["labels"] for r in flagged)
    assert store.list("reports/collect/") and store.list("reports/process/")
    assert not store.list("queue/pending/"), "every batch was processed and alerted"
    # the lapsed authorisation was never requested from the platform
    assert not any("lapsed_" in p for p in replay.paths())

    # -- what officers received: every flagged post exactly once, in the outbox ---------------------
    alert_ids, notices = _outbox_deliveries(tmp_path / "data" / "outbox")
    assert notices == [], f"the platform team was notified of a failure: {notices}"
    assert len(alert_ids) == len(set(alert_ids)), "an item was alerted twice"
    assert len(alert_ids) == len(flagged)
    assert len(store.list("alerts/ledger/")) == len(flagged)
