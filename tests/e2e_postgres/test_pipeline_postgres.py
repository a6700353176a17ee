"""The whole pipeline on the production stack's executor: PostgreSQL metadata, the CeleryExecutor
with Redis as broker and result backend, the real scheduler, dag-processor and api-server, and
``airflow celery worker`` processes, all separate processes on loopback (``scripts/celery_cycle.py``).
Nothing calls ``airflow dags test``: the scheduler queues ``socialhub_collect``'s tasks on Redis, a
worker runs them, and ``socialhub_process`` starts only because the ``x-socialhub://batches`` asset
was updated.

Two cycles on one Airflow start-up: the first with one worker (``worker-1``), then a second worker
(``worker-2``) joins, one new post is published per platform, and the second cycle collects,
processes and alerts exactly those. The workers run with the environment docker-compose.yml gives
them: no metadata database (an unreachable URL), no JWT secret.

Slow (about 7 minutes on a loaded 2-core runner: Airflow start-up, then two cycles), hence the ``e2e`` marker.
The store is the local folder and alerts go to the local outbox. ``pytest -s`` shows the summary.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from socialhub.replay.server import ReplayServer
from socialhub.storage import LocalStore
from tests.e2e.conftest import write_watchlist
from tests.e2e_postgres.conftest import ROOT

if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from airflow_stack import NO_DATABASE, WORKER_WITHHELD  # noqa: E402
from celery_cycle import COLLECT, PROCESS, CycleReport, outbox_alert_ids, run_cycles, summary  # noqa: E402

pytestmark = pytest.mark.e2e

WORKERS = {"worker-1", "worker-2"}


def _rows(store: LocalStore, prefix: str) -> list[dict]:
    from socialhub.models import from_jsonl

    return [row for key in store.list(prefix) for row in from_jsonl(store.get(key))]


def _manifests(store: LocalStore) -> list[dict]:
    return [json.loads(store.get(k)) for k in store.list("batches/")]


def test_celery_workers_run_the_pipeline_twice_on_postgres(postgres, redis, tmp_path):
    t0 = time.monotonic()
    with ReplayServer().start() as replay:
        watchlist = write_watchlist(tmp_path / "watchlist.yaml", replay)
        report: CycleReport = run_cycles(workdir=tmp_path, sqlalchemy_url=postgres.sqlalchemy_url,
                                         broker_url=redis.url(0), result_backend=redis.url(1),
                                         replay=replay, watchlist=watchlist)
        platforms = replay.platforms()
        lapsed_requested = any("lapsed_" in p for p in replay.paths())
    print(f"\n{summary(report)}\ntest total {time.monotonic() - t0:.0f} s")
    one, two = report.cycles

    # -- what Airflow and Celery did ----------------------------------------------------------------
    for cycle in report.cycles:
        if cycle.manual_run_id:
            assert cycle.manual_run_id in {r["run_id"] for r in cycle.collect_runs}
        assert cycle.collect_runs and all(r["state"] == "success" for r in cycle.collect_runs + cycle.process_runs), cycle
        assert cycle.process_runs and all(r["run_type"] in ("asset_triggered", "scheduled")
                                          for r in cycle.process_runs)
        assert any(r["run_type"] == "asset_triggered" for r in cycle.process_runs)
        tis = cycle.all_tis()
        assert all(t["state"] in ("success", "skipped") for t in tis), tis
        # every task that ran was run by one of this cycle's Celery workers (the name each worker
        # reports as its hostname; the scheduler, dag-processor and api-server never run a task)
        ran = [t for t in tis if t["state"] == "success"]
        assert ran and {t["hostname"] for t in ran} <= set(cycle.workers), cycle.ran_by()
        for (dag_id, _run_id), run_tis in cycle.tis.items():
            by_task = {t["task_id"] for t in run_tis}
            if dag_id == COLLECT:
                for platform in platforms:
                    shards = [t for t in run_tis if t["task_id"] == f"collect_{platform}"]
                    # tasks grow with shards (SOCIALHUB_MAX_SHARDS=2), not with accounts
                    assert 1 <= len(shards) <= 2
                    assert all(t["state"] == "success" and t["pool"] == f"socialhub_{platform}" for t in shards)
            else:
                assert dag_id == PROCESS and by_task >= {"find_pending", "process", "alert", "report"}
    # cycle 1 had one worker: it ran everything
    assert set(one.ran_by()) == {"worker-1"}
    # cycle 2: the scheduler queues up to 4 task instances at once (parallelism) and a worker holds at
    # most 2 (concurrency 2, prefetch 1, late acks), so a collect run's mapped tasks, queued together,
    # cannot all go to one worker: both take work
    assert set(two.ran_by()) == WORKERS, two.ran_by()

    # workers ran without the metadata database or the execution API's signing secret (compose's split)
    for name, keys in report.worker_env_keys.items():
        assert "AIRFLOW__API_AUTH__JWT_SECRET" not in keys and "AIRFLOW__CORE__FERNET_KEY" not in keys, name
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in WORKER_WITHHELD and ":1/" in NO_DATABASE

    # -- what the pipeline stored ---------------------------------------------------------------
    store = LocalStore(report.data_dir / "store")
    posts = _rows(store, "posts/")
    curated, quarantined, flagged = _rows(store, "curated/"), _rows(store, "quarantine/"), _rows(store, "flagged/")
    assert {p["platform"] for p in posts} == set(platforms)
    assert len({(p["platform"], p["post_id"]) for p in posts}) == len(posts), "a post was stored twice"
    assert len(curated) + len(quarantined) == len(posts)
    assert flagged and all(r["classification"]["labels"] for r in flagged)
    assert not store.list("queue/pending/"), "every batch was processed and alerted"
    assert not lapsed_requested, "the lapsed authorisation was requested from the platform"

    # cycle 2 collected exactly the posts published after cycle 1, each once: for each account that
    # got one, one new batch whose cursor starts where cycle 1's batch ended (the cursor moved once)
    manifests = _manifests(store)
    cycle_two_posts: set[tuple[str, str]] = set()
    for platform, new in report.new_posts.items():
        mine = sorted((m for m in manifests if m["platform"] == platform and m["account"] == new["watched_account"]),
                      key=lambda m: m["collected_at"])
        assert len(mine) == 2, f"{platform}/{new['watched_account']}: {len(mine)} batches, expected cycle 1's and cycle 2's"
        first, second = mine
        assert second["cursor_before"] == first["cursor_after"] and second["cursor_after"] != first["cursor_after"]
        assert len(second["post_ids"]) == 1, second["post_ids"]
        assert not set(second["post_ids"]) & set(first["post_ids"])
        cycle_two_posts.add((platform, second["post_ids"][0]))
    accounts_with_new = {(p, n["watched_account"]) for p, n in report.new_posts.items()}
    assert all(len([m for m in manifests if (m["platform"], m["account"]) == key]) == 1
               for key in {(m["platform"], m["account"]) for m in manifests} - accounts_with_new), \
        "an account without new posts got a second batch"
    assert cycle_two_posts <= {(p["platform"], p["post_id"]) for p in flagged}, "a new post with a threat was not flagged"

    # -- what officers received: every flagged post exactly once, across both cycles ----------------
    alert_ids = outbox_alert_ids(report.data_dir / "outbox")
    index = report.data_dir / "outbox" / "outbox.jsonl"
    notices = [line for line in index.read_text().splitlines() if json.loads(line)["key"].startswith("notice")]
    assert notices == [], f"the platform team was notified of a failure: {notices}"
    assert len(alert_ids) == len(set(alert_ids)), "an item was alerted twice"
    assert len(alert_ids) == len(flagged)
    assert len(store.list("alerts/ledger/")) == len(flagged)
