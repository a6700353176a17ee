"""The demo's review step: its summary counts with ``review_outcomes`` only, and its Airflow runs no
scheduled review run that could race the demo's own (no Airflow is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

import socialhub.review.demo as review_demo
from socialhub.audit.outcomes import review_outcomes
from socialhub.review.demo import format_review_summary

PERSON = {"kind": "person", "id": "demo-officer", "name": "demo-officer"}
SYSTEM = {"kind": "system", "name": "review timeout"}


def _events() -> list[dict]:
    return [
        {"action": "review_response", "actor": PERSON, "details": {"alert_id": "a", "outcome": "Refer to platform"}},
        {"action": "referral", "actor": PERSON, "details": {"alert_id": "a", "kind": "platform"}},
        {"action": "review_response", "actor": SYSTEM, "details": {"alert_id": "b", "outcome": "Escalate",
                                                                   "timed_out": True}},
        {"action": "referral", "actor": SYSTEM, "details": {"alert_id": "b", "kind": "escalation", "timed_out": True}},
    ]


def test_review_summary_prints_the_audit_figures_and_no_counts_of_its_own(tmp_path: Path) -> None:
    # the review run's own report says other things (older by-option counts): the summary must not repeat them
    result = {"run_id": "demo_review__1", "state": "success", "outbox": str(tmp_path),
              "summary": {"reviews": 2, "by_decision": {"Escalate": 1, "Refer to platform": 1}, "timed_out": 1}}
    text = format_review_summary(result, tmp_path / "store", _events())
    lines = text.splitlines()
    expected = review_outcomes(_events()).lines()
    at = next(i for i, line in enumerate(lines) if line.startswith("review run:"))
    assert lines[at + 1: at + 1 + len(expected)] == expected
    assert "officer decisions:      1 (Refer to platform 1)" in lines
    assert not any(line.startswith(("reviews:", "escalated on timeout:")) for line in lines), text
    assert "Escalate 1" not in text          # the timeout is no decision
    # without events: no figures at all (never the run report's own counts)
    bare = format_review_summary(result, tmp_path / "store")
    assert "decisions" not in bare and "Escalate" not in bare and "review run:" in bare


def test_the_demo_strips_no_lines_any_more() -> None:
    import inspect

    import socialhub.demo as demo

    assert not hasattr(demo, "_OTHER_COUNTS")
    assert "format_review_summary(reviewed, store.root, events)" in inspect.getsource(demo._run_demo)


def test_review_demo_airflow_starts_no_scheduled_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race: unpausing socialhub_review made the scheduler start the latest hourly run at once, which
    claimed the alerts before the demo's triggered run. The demo's Airflow must not schedule runs."""
    seen: dict = {}

    class Stop(Exception):
        pass

    def configure(base_env, workdir, *, users, extra=None, **kw):
        seen.update(base_env=base_env, extra=dict(extra or {}))
        raise Stop

    monkeypatch.setattr("socialhub.review.store.unclaimed_alerts",
                        lambda store, **kw: ([{"alert_id": "0123456789abcdef01234567"}], {}))
    monkeypatch.setattr(review_demo.LocalAirflow, "configure", classmethod(lambda cls, *a, **k: configure(*a, **k)))
    with pytest.raises(Stop):
        review_demo.run_review_demo(tmp_path, tmp_path / "airflow", tmp_path / "data", {"X": "1"}, step=lambda m: None)
    assert seen["extra"]["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"
    assert seen["extra"]["SOCIALHUB_REVIEW_RESPONSE_SECONDS"] == "30"


@pytest.mark.parametrize("image_at, expected", [(2, "5"), (6, "7"), (None, "5"), (30, "5")])
def test_the_demo_opens_enough_reviews_for_one_with_an_image(tmp_path, monkeypatch, image_at, expected):
    """The oldest alerts are offered first; the demo's officer refers one with a captured image (for the
    hash list and the follow-up's re-upload), so it opens reviews up to the first such alert (at most 12)."""
    seen: dict = {}

    class Stop(Exception):
        pass

    def configure(base_env, workdir, *, users, extra=None, **kw):
        seen.update(extra=dict(extra or {}))
        raise Stop

    ids = [f"{i:024x}" for i in range(40)]
    monkeypatch.setattr("socialhub.review.store.unclaimed_alerts",
                        lambda store, **kw: ([{"alert_id": a} for a in ids][: kw["limit"]], {}))
    monkeypatch.setattr(review_demo, "_has_image", lambda store, alert_id: image_at is not None
                        and alert_id == ids[image_at])
    monkeypatch.setattr(review_demo.LocalAirflow, "configure", classmethod(lambda cls, *a, **k: configure(*a, **k)))
    with pytest.raises(Stop):
        review_demo.run_review_demo(tmp_path, tmp_path / "airflow", tmp_path / "data", {"X": "1"}, step=lambda m: None)
    assert seen["extra"]["SOCIALHUB_REVIEW_MAX_PER_RUN"] == expected
