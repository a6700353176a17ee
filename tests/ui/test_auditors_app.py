"""The auditors' page app in-process, with real Airflow JWTs from Airflow's SimpleAuthManager.

The tokens are minted and checked by Airflow's own code (``generate_jwt``, ``get_user``), so
these tests show what Airflow's API server will do: no token or a bad one is "sign in first",
a valid token of someone who is not a named auditor (even an Airflow admin) is refused and
the refusal audited, and an auditor's view is recorded before the report is shown.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from socialhub.audit.chain import AuditLog, verify_chain
from socialhub.models import sha256_hex
from socialhub.storage import LocalStore
from tests.ui.scenario import COUNTY, MET, Scenario, populate

AUDITORS = f"alice, carol:{COUNTY}"


@pytest.fixture(scope="module")
def airflow_auth() -> Iterator[Any]:
    """Airflow's SimpleAuthManager, initialised as the API server does, with the one table token
    checks need (``revoked_token``) created in the test session's SQLite database."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW__CORE__AUTH_MANAGER",
              "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager")
    mp.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "socialhub-test-secret-" + "x" * 48)
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    from airflow import settings
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.models.revoked_token import RevokedToken

    RevokedToken.__table__.create(settings.engine, checkfirst=True)
    yield init_auth_manager()
    mp.undo()


def token(am: Any, user: str, role: str | None, **kw: Any) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return am.generate_jwt(SimpleAuthManagerUser(username=user, role=role), **kw)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, Scenario]:
    tmp = tmp_path_factory.mktemp("app")
    store = LocalStore(tmp / "store")
    return store, populate(store, tmp)


@pytest.fixture()
def client(airflow_auth: Any, world: tuple[LocalStore, Scenario], monkeypatch: pytest.MonkeyPatch
           ) -> TestClient:
    from socialhub_airflow.auditors import create_app

    store, sc = world
    monkeypatch.setenv("SOCIALHUB_AUDITOR_USERS", AUDITORS)
    app = create_app(store_factory=lambda: store, watchlist_factory=lambda: sc.watchlist,
                     runs_factory=lambda s, e: (None, "Airflow run history: not asked in this test"),
                     clock=lambda: sc.now)
    return TestClient(app, follow_redirects=False)


def last_event(store: LocalStore) -> dict[str, Any]:
    return list(AuditLog(store).events())[-1]


def test_not_signed_in_goes_to_login_or_gets_401(client):
    r = client.get("/?from=2026-01-01&to=2026-01-31", headers={"Accept": "text/html"})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/auth/login?next=")
    assert "from%3D2026-01-01" in r.headers["location"]            # comes back to the same period
    r = client.get("/", headers={"Accept": "application/json"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_expired_or_forged_tokens_are_not_signed_in(client, airflow_auth):
    expired = token(airflow_auth, "alice", "viewer", expiration_time_in_seconds=-60)
    assert client.get("/", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    # bob's real token, edited to say "alice": the signature no longer matches
    head, body, sig = token(airflow_auth, "bob", "admin").split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "alice"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = client.get("/", headers={"Cookie": f"_token={head}.{forged_body}.{sig}"})
    assert r.status_code == 401


def test_an_airflow_admin_is_not_an_auditor(client, airflow_auth, world):
    store, _ = world
    r = client.get("/", headers={"Cookie": f"_token={token(airflow_auth, 'bob', 'admin')}",
                                 "Accept": "text/html"})
    assert r.status_code == 403
    assert "signed in to Airflow as <b>bob</b>, who is not an auditor" in r.text
    assert "Audit log" not in r.text and "ghost_yardz" not in r.text
    ev = last_event(store)
    assert ev["action"] == "access" and ev["actor"]["name"] == "bob" and ev["details"]["granted"] is False


def test_an_auditor_sees_the_report_and_the_view_is_audited(client, airflow_auth, world):
    store, sc = world
    day = sc.now.date()
    before = len(list(AuditLog(store).events()))
    r = client.get(f"/?from={day - timedelta(days=2)}&to={day}",
                   headers={"Cookie": f"_token={token(airflow_auth, 'alice', 'viewer')}"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store" and "frame-ancestors 'self'" in r.headers["content-security-policy"]
    html = unescape(r.text)
    assert "Audit log intact" in html and 'id="signed-in-user">alice<' in html
    for title in ("Pipeline runs and their outcomes", "Posts collected per account", "Alerts and time to first",
                  "Officers' decisions by outcome", "Escalations", "Referrals to a platform", "Deletions and legal holds",
                  "Watchlist entries and their authorisation status", "Audit-log verification"):
        assert title in html
    assert "ghost_yardz@social.example" in html and "corner_shop@social.example" in html
    events = list(AuditLog(store).events())
    assert len(events) == before + 1
    ev = events[-1]
    assert ev["action"] == "access" and ev["force"] is None and ev["details"]["granted"] is True
    assert (ev["details"]["from"], ev["details"]["to"]) == (str(day - timedelta(days=2)), str(day))
    assert ev["actor"] == {"kind": "person", "name": "alice", "via": "Airflow auditors' page",
                           "airflow_role": "viewer"}
    # the view was recorded first, so the report already lists it
    assert "alice via Airflow auditors' page" in html
    assert verify_chain(store).ok


def test_bearer_header_works_like_the_cookie(client, airflow_auth):
    r = client.get("/", headers={"Authorization": f"Bearer {token(airflow_auth, 'alice', 'viewer')}"})
    assert r.status_code == 200 and "Auditor's report" in r.text


def test_a_force_auditor_sees_only_that_force(client, airflow_auth, world):
    store, _ = world
    cookie = {"Cookie": f"_token={token(airflow_auth, 'carol', 'viewer')}"}
    r = client.get("/", headers=cookie)
    assert r.status_code == 200
    assert f"force {COUNTY} only" in r.text and "corner_shop" in r.text
    assert MET not in r.text and "ghost_yardz" not in r.text and "All forces" not in r.text
    assert last_event(store)["force"] == COUNTY
    r = client.get(f"/?force={MET}", headers=cookie)
    assert r.status_code == 403 and "may audit only: demo-county" in r.text
    ev = last_event(store)
    assert ev["details"]["granted"] is False and ev["force"] == MET


def test_csv_download_is_an_audited_export(client, airflow_auth, world):
    store, sc = world
    day = sc.now.date()
    r = client.get(f"/csv/watchlist.csv?from={day}&to={day}&force={COUNTY}",
                   headers={"Cookie": f"_token={token(airflow_auth, 'alice', 'viewer')}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f'filename="socialhub-watchlist-{day}-{day}-{COUNTY}.csv"' in r.headers["content-disposition"]
    assert "oldcase@social.example" in r.text and "ghost_yardz" not in r.text
    ev = last_event(store)
    assert ev["action"] == "export" and ev["hashes"] == {"watchlist.csv": sha256_hex(r.content)}
    assert client.get("/csv/nope.csv", headers={
        "Cookie": f"_token={token(airflow_auth, 'alice', 'viewer')}"}).status_code == 404


def test_the_page_is_read_only_and_checks_its_input(client, airflow_auth):
    from starlette.routing import Route

    cookie = {"Cookie": f"_token={token(airflow_auth, 'alice', 'viewer')}"}
    methods = {m for route in client.app.routes if isinstance(route, Route) for m in route.methods or ()}
    assert methods <= {"GET", "HEAD"}
    assert client.post("/", headers=cookie).status_code == 405
    assert client.get("/?from=2026-02-01&to=2026-01-01", headers=cookie).status_code == 400
    assert client.get("/?from=last-week", headers=cookie).status_code == 400


def test_no_report_without_an_audit_record(airflow_auth, world, monkeypatch):
    """If the view cannot be recorded (store read-only, S3 down) the report is not shown."""
    from socialhub_airflow.auditors import create_app

    store, sc = world

    class ReadOnly(LocalStore):
        def put(self, *a: Any, **kw: Any) -> Any:
            raise PermissionError("read-only")

    monkeypatch.setenv("SOCIALHUB_AUDITOR_USERS", "alice")
    ro = ReadOnly(store.root)
    app = create_app(store_factory=lambda: ro, watchlist_factory=lambda: None,
                     runs_factory=lambda s, e: (None, "x"), clock=lambda: sc.now)
    r = TestClient(app).get("/", headers={"Cookie": f"_token={token(airflow_auth, 'alice', 'viewer')}"})
    assert r.status_code == 503 and "could not be recorded" in r.text and "ghost_yardz" not in r.text


def test_nobody_is_an_auditor_unless_named(client, airflow_auth, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_AUDITOR_USERS", "")
    r = client.get("/", headers={"Cookie": f"_token={token(airflow_auth, 'alice', 'viewer')}"})
    assert r.status_code == 403


def test_auditor_list_syntax():
    from socialhub_airflow.auditors import parse_auditors

    g = parse_auditors(" alice , carol:a|b ,, dave: ")
    assert set(g) == {"alice", "carol", "dave"}
    assert g["alice"].forces is None and g["dave"].forces is None
    assert g["carol"].forces == frozenset({"a", "b"})
    assert g["carol"].may_see("a") and not g["carol"].may_see("c") and not g["carol"].may_see(None)


def test_plugin_registers_the_app_and_a_nav_link_airflow_accepts():
    """The plugin's entries pass Airflow's own checks: the prefix is not reserved and the nav
    entry validates against the model the UI is served from."""
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    from socialhub_plugin import SocialhubPlugin

    (app,) = SocialhubPlugin.fastapi_apps
    assert not any(app["url_prefix"].startswith(p) for p in RESERVED_URL_PREFIXES)
    (view,) = SocialhubPlugin.external_views
    v = ExternalViewResponse.model_validate(view)
    assert v.href == app["url_prefix"] + "/" and v.url_route == "socialhub-audit" and v.destination == "nav"
    assert Path(__file__).resolve().parents[2].joinpath("plugins", "socialhub_plugin.py").exists()
