"""The review DAG's wiring and the review operator's arguments (no scheduler needed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from socialhub.review.model import DEFAULT_OPTION, OPTIONS, build_request
from socialhub.review.store import load_alert_context

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "socialhub_review.py"))
    assert bag.import_errors == {}
    return bag.dags["socialhub_review"]


def test_scheduled_by_the_alerts_asset_and_mapped_per_alert(dag):
    assert "socialhub_alerts" in repr(dag.timetable.asset_condition)
    review = dag.get_task("review")
    assert any(c.__name__ == "MappedOperator" for c in type(review).__mro__)
    assert review.upstream_task_ids == {"find_reviews"} and review.downstream_task_ids == {"summarise"}
    assert dag.get_task("summarise").trigger_rule == "all_done"
    assert dag.max_active_runs > 1        # a run waiting for people must not hold back new alerts


def test_operator_asks_the_four_options_with_a_required_justification(store, alerted_outbox, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("socialhub_review_dag", ROOT / "dags" / "socialhub_review.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    alert = load_alert_context(store, alerted_outbox["5"]).alert
    req = build_request(alert, response_seconds=1800, escalation_channel="#escalation")
    op = mod.AlertReviewOperator(task_id="review", review=req)
    assert op.options == list(OPTIONS) and op.defaults == [DEFAULT_OPTION] and op.multiple is False
    assert op.response_timeout == timedelta(minutes=30)
    schema = op.serialized_params["justification"]["schema"]
    assert schema["minLength"] >= 10 and "string" in schema["type"]
    assert op.template_fields == ()                      # post text is never rendered as a Jinja template
    assert op.subject == req["subject"] and "{{ 7*7 }}" in op.body
    assert [type(n).__name__ for n in op.notifiers] == ["ReviewLinkNotifier"]


def test_alert_review_url_searches_airflow_required_actions(monkeypatch):
    from socialhub_airflow.review import alert_review_url

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.police.uk/")
    assert alert_review_url("0123456789abcdef01234567") == \
        "https://airflow.example.police.uk/required_actions?subject_search=0123456789abcdef01234567"
