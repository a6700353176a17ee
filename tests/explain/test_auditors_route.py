"""The auditors' page's explain view (``/explain``), in-process with FastAPI's TestClient.

Signed-in users come from the app's ``user_resolver`` seam (tests/ui/test_auditors_app.py shows the same
rule with real Airflow JWTs): the view is open only to named auditors, for their forces; the view is
recorded before the answer (503 if it cannot be); everything from a post is escaped.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from socialhub.alerts.sinks import OutboxSink
from socialhub.audit.chain import AuditLog
from socialhub.storage import LocalStore
from tests.ui.scenario import COUNTY, MET

AUDITORS = f"alice, carol:{COUNTY}"


class User:
    def __init__(self, name: str, role: str = "viewer") -> None:
        self.name, self.role = name, role

    def get_name(self) -> str:
        return self.name


async def resolve(request: Request) -> Any:
    name = request.headers.get("x-test-user")
    if not name:
        raise HTTPException(status_code=401, detail="not signed in")
    return User(name)


def client_for(store: Any, monkeypatch: pytest.MonkeyPatch, watchlist: Any = None) -> TestClient:
    from socialhub_airflow.auditors import create_app

    monkeypatch.setenv("SOCIALHUB_AUDITOR_USERS", AUDITORS)
    app = create_app(store_factory=lambda: store, watchlist_factory=lambda: watchlist,
                     runs_factory=lambda s, e: (None, "Airflow run history: not asked in this test"),
                     user_resolver=resolve)
    return TestClient(app, follow_redirects=False)


def events(store) -> list[dict[str, Any]]:
    return list(AuditLog(store).events())


def test_an_auditor_sees_the_explanation_and_the_view_is_recorded_first(world, monkeypatch):
    client = client_for(world.store, monkeypatch, world.scenario.watchlist)
    before = len(events(world.store))
    r = client.get("/explain", params={"target": world.scenario.answered, "why": "complaint 2026-114"},
                   headers={"x-test-user": "alice"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store" and "default-src 'none'" in r.headers["content-security-policy"]
    assert "Verdict:</b> alerted: violence_threat" in r.text and "Refer to platform" in r.text
    for title in ("1. Watchlist entry", "2. Collection", "4. Classification", "6. Review", "8. Retention"):
        assert title in r.text
    new = events(world.store)[before:]
    assert len(new) == 1
    ev = new[0]
    assert ev["action"] == "access" and ev["object"] == f"explain:{world.scenario.answered}"
    assert ev["actor"] == {"kind": "person", "name": "alice", "via": "Airflow auditors' page",
                           "airflow_role": "viewer"}
    assert ev["justification"] == "complaint 2026-114" and ev["force"] == MET


def test_not_signed_in_or_not_an_auditor_is_refused(world, monkeypatch):
    client = client_for(world.store, monkeypatch, world.scenario.watchlist)
    assert client.get("/explain", params={"target": "mastodon:1"}).status_code == 401
    before = len(events(world.store))
    r = client.get("/explain", params={"target": "mastodon:1"}, headers={"x-test-user": "bob"})
    assert r.status_code == 403 and "not an auditor" in r.text and "stab" not in r.text
    ev = events(world.store)[before:]
    assert len(ev) == 1 and ev[0]["details"]["granted"] is False and ev[0]["actor"]["name"] == "bob"


def test_an_auditor_of_another_force_is_refused(world, monkeypatch):
    client = client_for(world.store, monkeypatch, world.scenario.watchlist)
    r = client.get("/explain", params={"target": "mastodon:1"}, headers={"x-test-user": "carol"})   # a MET post
    assert r.status_code == 403 and "stab" not in r.text and "may audit only: demo-county" in r.text
    ev = events(world.store)[-1]
    assert ev["details"]["granted"] is False and ev["force"] == MET
    ok = client.get("/explain", params={"target": "mastodon:7"}, headers={"x-test-user": "carol"})  # a county post
    assert ok.status_code == 200 and "drug_supply" in ok.text


def test_a_target_not_understood_is_400(world, monkeypatch):
    client = client_for(world.store, monkeypatch, world.scenario.watchlist)
    r = client.get("/explain", params={"target": "<script>alert(1)</script>"}, headers={"x-test-user": "alice"})
    assert r.status_code == 400 and "<script>" not in r.text and "&lt;script&gt;" in r.text


def test_everything_is_escaped(tmp_path, monkeypatch):
    from tests.review._pipeline import populate

    store = LocalStore(tmp_path / "store")
    ids = populate(store, OutboxSink(tmp_path / "outbox"))              # post 5 is hostile to every renderer
    client = client_for(store, monkeypatch)
    r = client.get("/explain", params={"target": ids["5"]}, headers={"x-test-user": "alice"})
    assert r.status_code == 200, r.text
    assert "<script>" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<b>bold</b>" not in r.text and "Account &lt;b&gt;bold&lt;/b&gt;" in r.text
    assert "<a href='https://evil" not in r.text and 'href="javascript' not in r.text
    assert "\u202e" not in r.text                                       # bidi override removed for display


def test_a_view_that_cannot_be_recorded_is_refused_503(world, monkeypatch):
    client = client_for(world.store, monkeypatch, world.scenario.watchlist)

    def broken(*a, **k):
        raise OSError("audit log unavailable")

    monkeypatch.setattr("socialhub.audit.chain.AuditLog.append", broken)
    r = client.get("/explain", params={"target": "mastodon:1"}, headers={"x-test-user": "alice"})
    assert r.status_code == 503 and "could not be recorded" in r.text and "stab" not in r.text


def test_the_report_page_has_the_explain_form(world, monkeypatch):
    client = client_for(world.store, monkeypatch, world.scenario.watchlist)
    r = client.get("/", headers={"x-test-user": "alice"})
    assert r.status_code == 200
    assert "<form class='explain' method='get' action='/explain'" in r.text and "name='target'" in r.text
    assert r.text.index("<form class='explain'") < r.text.index("</body>")
