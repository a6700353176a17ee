"""Run-summary file names (``reports/<kind>/<run>.json``) are readable, safe and unique.

Airflow's run ids are timestamps; percent-encoding made them ``manual__2026-12-03T09%3A17%3A36…``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from socialhub.audit.report import build_report
from socialhub.models import canonical_json
from socialhub.storage import LocalStore
from socialhub.storage.base import safe_key
from socialhub.storage.layout import report_key

AIRFLOW_RUN_IDS = ["manual__2026-12-03T09:17:36.472879+00:00", "scheduled__2026-12-03T17:10:00+00:00",
                   "asset_triggered__2026-12-03T17:10:00.5+00:00", "backfill__2026-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("run_id", AIRFLOW_RUN_IDS)
def test_airflow_run_ids_give_readable_names(run_id):
    key = report_key("collect", run_id)
    name = key.rsplit("/", 1)[1]
    assert safe_key(key) == key and key.startswith("reports/collect/")
    assert "%" not in name and ":" not in name and "+" not in name
    stamp = run_id.split("__", 1)[1][:19].replace(":", "-")          # 2026-12-03T09-17-36
    assert name.startswith(run_id.split("__", 1)[0] + "__" + stamp)


def test_names_stay_unique_when_run_ids_look_alike():
    look_alike = ["manual__2026-12-03T09:17:36+00:00", "manual__2026-12-03T09-17-36+00:00",
                  "manual__2026-12-03T09-17-36-00-00", "manual__2026-12-03T09-17-36",
                  "manual__2026-12-03T09:17:36", "manual__2026-12-03T09+17+36", "x~0", "x%7E0", "x"]
    keys = [report_key("process", r) for r in look_alike]
    assert len(set(keys)) == len(look_alike), keys
    assert report_key("review", "demo_review__1796320150") == "reports/review/demo_review__1796320150.json"
    assert report_key("collect", "../../etc").startswith("reports/collect/%2E%2E%2F")   # still cannot climb out


def test_the_auditor_report_reads_summaries_under_the_new_names(tmp_path):
    store = LocalStore(tmp_path / "store")
    run_id = AIRFLOW_RUN_IDS[0]
    finished = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    store.put_state(report_key("collect", run_id), canonical_json({
        "run_id": run_id, "finished_at": finished.isoformat().replace("+00:00", "Z"),
        "outcomes": [{"platform": "mastodon", "account": "a", "force": "f", "status": "ok", "posts": 3}]}))
    rep = build_report(store, start=finished.date(), end=finished.date(), now=finished)
    (run,) = rep.table("runs").rows
    assert run["run_id"] == run_id and run["posts"] == 3                # the run id comes from inside the file
    assert json.loads(store.get(report_key("collect", run_id)))["run_id"] == run_id
