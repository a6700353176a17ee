"""Decisions, escalations and referrals are counted the same way on every screen.

The demo used to say "decisions: Escalate 4, Refer to platform 1" while the report said
"Decisions recorded 1, Referrals 5", listing timeout escalations as officers' referrals. Now
one function (``socialhub.audit.outcomes.review_outcomes``) defines them, and this test reads
the three screens (the demo's summary, the auditor's report, the Airflow auditors' page) built
from one event log, reviewed by the real review code, and checks they show the same figures.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from tests.ui.scenario import COUNTY, MET, Scenario, populate

from socialhub.audit.chain import AuditLog
from socialhub.audit.outcomes import is_decision, is_timeout, referral_kind, review_outcomes
from socialhub.audit.report import build_report, render_html
from socialhub.demo import with_review_outcomes
from socialhub.review.demo import format_review_summary
from socialhub.storage import LocalStore

ESCALATIONS = re.compile(r"(\d+) automatically on review timeout, (\d+) by an officer")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, Scenario, Path]:
    tmp = tmp_path_factory.mktemp("counts")
    store = LocalStore(tmp / "store")
    return store, populate(store, tmp), tmp


def _figures_from_text(text: str) -> dict[str, int]:
    """The figures as a person reads them off a screen (demo text, or the page's tiles as text)."""
    def num(pattern: str) -> int:
        m = re.search(pattern, text)
        assert m, (pattern, text)
        return int(m.group(1))

    auto, officer = (int(x) for x in ESCALATIONS.search(text).groups())  # type: ignore[union-attr]
    return {"decisions": num(r"[Oo]fficer decisions:?\s+(\d+)"), "escalations": num(r"(?i)\bescalations:?\s+(\d+)"),
            "automatic": auto, "by_officer": officer, "referrals": num(r"[Rr]eferrals to a platform:?\s+(\d+)")}


def _tiles_text(html: str) -> str:
    tiles = re.findall(r'<div class="l">(.*?)</div><div class="v">(.*?)</div>\s*(?:<div class="h">(.*?)</div>)?',
                       html, re.S)
    assert tiles, "no summary tiles on the page"
    return "\n".join(f"{unescape(label)} {unescape(value)} ({unescape(hint)})" for label, value, hint in tiles)


def demo_screen(events: list[dict[str, Any]], store_root: Path) -> str:
    """The demo's review summary, as `socialhub demo` prints it (the review run's own report gives the
    old by-option counts, which the demo now replaces)."""
    result = {"run_id": "scheduled__r", "state": "success", "outbox": "/nonexistent",
              "summary": {"reviews": 2, "by_decision": {"Escalate": 1, "Refer to platform": 1}, "timed_out": 1}}
    return with_review_outcomes(format_review_summary(result, store_root), events)


def report_screen(store: LocalStore, sc: Scenario) -> tuple[str, Any]:
    day = sc.now.date()
    rep = build_report(store, start=day - timedelta(days=1), end=day + timedelta(days=1), now=sc.now,
                       watchlist=sc.watchlist)
    return _tiles_text(render_html(rep)), rep


def page_screen(store: LocalStore, sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> str:
    from fastapi.testclient import TestClient

    from socialhub_airflow.auditors import create_app

    class User:
        def get_name(self) -> str:
            return "alice"

    async def signed_in(request: Any) -> User:
        return User()

    monkeypatch.setenv("SOCIALHUB_AUDITOR_USERS", "alice")
    app = create_app(store_factory=lambda: store, watchlist_factory=lambda: sc.watchlist,
                     runs_factory=lambda s, e: (None, "not asked"), user_resolver=signed_in, clock=lambda: sc.now)
    day = sc.now.date()
    r = TestClient(app).get("/", params={"from": str(day - timedelta(days=1)), "to": str(day + timedelta(days=1))},
                            headers={"accept": "text/html"})
    assert r.status_code == 200, r.text[:500]
    return _tiles_text(r.text)


def test_demo_report_and_page_count_the_same(world, monkeypatch):
    store, sc, tmp = world
    events = list(AuditLog(store).events())
    expected = {"decisions": 1, "escalations": 1, "automatic": 1, "by_officer": 0, "referrals": 1}

    demo = demo_screen(events, store.root)
    assert "decisions: Escalate" not in demo and "escalated on timeout:" not in demo   # the old, other counts
    report_text, rep = report_screen(store, sc)
    page = page_screen(store, sc, monkeypatch)
    screens = {"demo": _figures_from_text(demo), "report": _figures_from_text(report_text),
               "page": _figures_from_text(page)}
    assert screens == {"demo": expected, "report": expected, "page": expected}, screens

    # the report's tables list what the tiles count, labelled the same way
    assert len(rep.table("referrals").rows) == 1 and rep.table("referrals").rows[0]["force"] == MET
    (esc,) = rep.table("escalations").rows
    assert esc["force"] == COUNTY and esc["how"] == "automatically on review timeout"
    assert sum(r["count"] for r in rep.table("decisions").rows) == 1


def test_definitions_on_the_events_the_review_code_writes(world):
    store, _, _ = world
    events = list(AuditLog(store).events())
    responses = [e for e in events if e["action"] == "review_response"]
    referrals = [e for e in events if e["action"] == "referral"]
    # one officer answer (a decision) and one timeout (no decision)
    assert sorted(is_decision(e) for e in responses) == [False, True]
    assert sorted(is_timeout(e) for e in responses) == [False, True]
    # the review code writes both escalations and platform referrals as "referral" events
    assert sorted(referral_kind(e) for e in referrals) == ["escalation", "platform"]


def test_officer_escalation_and_legacy_referral():
    def ev(action: str, actor: dict[str, Any], **details: Any) -> dict[str, Any]:
        return {"action": action, "actor": actor, "force": "f", "details": details}

    officer = {"kind": "person", "name": "PC A"}
    system = {"kind": "system", "name": "review timeout"}
    task = {"kind": "task", "dag_id": "d"}
    out = review_outcomes([
        ev("review_response", officer, outcome="Escalate", timed_out=False),
        ev("referral", officer, kind="escalation", timed_out=False),
        ev("review_response", system, outcome="Escalate", timed_out=True),
        ev("referral", system, kind="escalation", timed_out=True),
        ev("review_response", officer, outcome="Keep monitoring"),
        ev("review_response", task, outcome="auto"),               # a task is not an officer
        ev("referral", officer, to="CID"),                         # from before referral kinds: a referral
    ])
    assert out.counts() == {"decisions": 2, "escalations": 2, "escalations_automatic": 1,
                            "escalations_by_officer": 1, "referrals": 1, "timeouts": 1}
    assert out.decisions_by_option() == {"Escalate": 1, "Keep monitoring": 1}
    assert out.escalations_hint() == "1 automatically on review timeout, 1 by an officer"
    assert review_outcomes([ev("review_response", officer, outcome="x")], force="other").counts()["decisions"] == 0
