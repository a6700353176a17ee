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


def _operator_class():
    import importlib.util

    spec = importlib.util.spec_from_file_location("socialhub_review_dag", ROOT / "dags" / "socialhub_review.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.AlertReviewOperator


@pytest.fixture
def review_env(store, tmp_path, monkeypatch):
    """The review task's runtime on the test store, with a routing file naming the gangs team's reviewers."""
    import json

    from socialhub_airflow import runtime
    from tests.review._pipeline import ROUTING

    routing = dict(ROUTING, forces={"met": {"teams": {"gangs": {
        "on_duty": "#on-duty", "escalation": "#escalation",
        "reviewers": [{"id": "officer1", "name": "DS One"}, {"id": "officer2"}]}}}})
    path = tmp_path / "routing.yaml"
    path.write_text(json.dumps(routing))
    monkeypatch.setenv("SOCIALHUB_ROUTING", str(path))
    monkeypatch.setattr(runtime, "store", lambda: store)
    return path


def test_operator_asks_the_four_options_with_a_required_justification(store, alerted_outbox, review_env):
    from socialhub_airflow.review import prepare_question

    alert = load_alert_context(store, alerted_outbox["5"]).alert
    req = build_request(alert, response_seconds=1800)
    op = _operator_class()(task_id="review", review=req)
    assert op.options == list(OPTIONS) and op.defaults == [DEFAULT_OPTION] and op.multiple is False
    assert op.response_timeout == timedelta(minutes=30)
    schema = op.serialized_params["justification"]["schema"]
    assert schema["minLength"] >= 10 and "string" in schema["type"]
    assert op.template_fields == ()                      # post text is never rendered as a Jinja template
    assert [type(n).__name__ for n in op.notifiers] == ["ReviewLinkNotifier"]
    # the page is built from the stored alert when the task runs, not carried in the mapped argument
    assert alert.post["text"][:20] not in op.subject + str(op.body)
    prepare_question(op)
    from socialhub.review.model import md_inline

    assert alert.alert_id in op.subject and "{{ 7*7 }}" in op.body and md_inline(alert.post["account"]) in op.body
    # who may answer: the routing file's reviewers of the alert's team (HITL assigned_users)
    assert op.assigned_users == [{"id": "officer1", "name": "DS One"}, {"id": "officer2", "name": "officer2"}]


def test_find_reviews_passes_alert_ids_only(store, alerted_outbox, review_env, monkeypatch):
    """find_reviews' return value is the XCom that maps the review tasks: alert ids and response times."""
    import json

    from socialhub.review.model import REQUEST_KEYS
    from socialhub_airflow import review

    monkeypatch.setenv("SOCIALHUB_REVIEW_MAX_AGE_DAYS", "100000")      # the fixture's alerts are dated
    requests = review.find_reviews()
    assert sorted(r["alert_id"] for r in requests) == sorted(alerted_outbox.values())
    assert all(tuple(r) == REQUEST_KEYS for r in requests)
    text = json.dumps(requests)
    for aid in alerted_outbox.values():
        post = load_alert_context(store, aid).alert.post
        assert post["text"][:20] not in text and post["account"] not in text


def test_a_team_without_reviewers_is_open_to_the_officer_role(store, alerted_outbox, review_env, monkeypatch):
    from socialhub.alerts.routing import Routing
    from socialhub_airflow.review import prepare_question

    assert Routing.load(review_env).reviewers_for("met", "public-order") == []
    monkeypatch.setenv("SOCIALHUB_ROUTING", str(ROOT / "include" / "socialhub" / "alerts" / "routing.yaml"))
    op = _operator_class()(task_id="review", review=build_request(
        load_alert_context(store, alerted_outbox["2"]).alert, response_seconds=60))
    prepare_question(op)
    assert op.assigned_users is None


def test_alert_review_url_searches_airflow_required_actions(monkeypatch):
    from socialhub_airflow.review import alert_review_url

    monkeypatch.delenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", raising=False)      # not set: [api] base_url is used
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.police.uk/")
    assert alert_review_url("0123456789abcdef01234567") == \
        "https://airflow.example.police.uk/required_actions?subject_search=0123456789abcdef01234567"


def test_the_public_airflow_url_wins_over_api_base_url(monkeypatch):
    """Links use the address officers reach (SOCIALHUB_AIRFLOW_PUBLIC_URL), not the api-server's own."""
    from socialhub_airflow.review import alert_review_url, base_url

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:40123")
    monkeypatch.setenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", "https://airflow.hub.example.police.uk/")
    assert base_url() == "https://airflow.hub.example.police.uk"
    assert alert_review_url("0123456789abcdef01234567") == \
        "https://airflow.hub.example.police.uk/required_actions?subject_search=0123456789abcdef01234567"
    monkeypatch.setenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", "none")      # the demo: its api-server port dies
    assert base_url() is None and alert_review_url("0123456789abcdef01234567") is None
