"""Issue 14, officers: every alert has a working way to review, and the demo's scripted referral
justification matches what the item is about.

Alerts are made by the real pipeline (collect, process with the real classifier, alert_batches)
into the outbox; the review-request reply is built by the same code the review task runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from socialhub.alerts.model import Alert
from socialhub.review.demo import (
    DEMO_JUSTIFICATION_OTHER,
    DEMO_JUSTIFICATIONS,
    _justification_for,
    demo_justification,
)
from socialhub.review.messages import review_request_payload
from tests.review._pipeline import populate

PUBLIC = "https://airflow.hub.example.police.uk"


def _outbox_alerts(outbox_dir: Path) -> dict[str, dict]:
    out = {}
    for path in outbox_dir.glob("*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "alert" in doc:
            out[doc["alert"]["alert_id"]] = doc
    return out


def test_alerts_link_to_the_configured_public_airflow(store, outbox, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", PUBLIC + "/")
    alerted = populate(store, outbox)          # alert_batches without a review_url: the setting decides
    docs = _outbox_alerts(tmp_path / "outbox")
    assert set(docs) == set(alerted.values())
    for alert_id, doc in docs.items():
        url = f"{PUBLIC}/required_actions?subject_search={alert_id}"
        assert doc["alert"]["review_url"] == url
        buttons = [e for b in doc["payload"]["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [b["url"] for b in buttons if b["action_id"] == "open_review"] == [url]


def test_without_a_public_address_alerts_and_replies_say_where_to_review(store, outbox, tmp_path,
                                                                         monkeypatch) -> None:
    monkeypatch.setenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", "none")
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:40123")   # a port that will die: not used
    populate(store, outbox)
    for alert_id, doc in _outbox_alerts(tmp_path / "outbox").items():
        assert doc["alert"]["review_url"] is None
        text = json.dumps(doc["payload"], ensure_ascii=False)
        assert "127.0.0.1" not in text and "open_review" not in text
        assert f"search for alert {alert_id}" in text and "SOCIALHUB_AIRFLOW_PUBLIC_URL" in text
        reply = json.dumps(review_request_payload(Alert.from_dict(doc["alert"]), review_url=None, response_seconds=60,
                                                  due_at="2026-11-25T12:01:00Z", escalation_channel="#esc"),
                           ensure_ascii=False)
        assert "no public Airflow address is configured" in reply and alert_id in reply


def test_demo_justification_follows_the_category(store, alerted_outbox) -> None:
    threat, drugs = alerted_outbox["2"], alerted_outbox["3"]      # "gonna stab him…", "bando open 24/7, runners…"
    assert _justification_for(store, threat) == DEMO_JUSTIFICATIONS["violence_threat"]
    why = _justification_for(store, drugs)
    assert why == DEMO_JUSTIFICATIONS["drug_supply"] and "threat" not in why.lower()
    assert _justification_for(store, "0" * 24) == DEMO_JUSTIFICATION_OTHER     # not in the ledger


def test_demo_justification_takes_the_highest_scored_label() -> None:
    both = {"labels": ["gang_affiliation", "weapon"], "scores": {"gang_affiliation": 0.7, "weapon": 0.99}}
    assert demo_justification(both) == DEMO_JUSTIFICATIONS["weapon"]
    assert demo_justification({"labels": [], "scores": {}}) == DEMO_JUSTIFICATION_OTHER
    for category, text in DEMO_JUSTIFICATIONS.items():
        assert demo_justification({"labels": [category], "scores": {category: 0.9}}) == text
        assert len(text) >= 10        # the review's own rule for a justification
        if category != "violence_threat":
            assert "threat of violence" not in text
