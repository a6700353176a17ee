"""The auditors' page in a real browser, in a real Airflow API server, reached by really logging in.

A person types a user name and password into Airflow's login page, lands on the auditors'
page and reads it; the same page inside Airflow's own UI (the nav link's iframe); a signed-in
Airflow admin who is not an auditor is turned away. Screenshots of each are saved (see the
``screenshots`` fixture) for a person to look at.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from socialhub.audit.chain import AuditLog
from socialhub.storage import LocalStore
from tests.ui.cdp import Browser, Page
from tests.ui.conftest import USERS, ApiServer
from tests.ui.layout import check_readable
from tests.ui.scenario import COUNTY

DOM_FACTS = """JSON.stringify({
  title: document.title,
  chain: (document.getElementById('chain') || {}).innerText || '',
  user: (document.getElementById('signed-in-user') || {}).innerText || '',
  scope: (document.querySelector('p.meta') || {}).innerText || '',
  tables: Object.fromEntries([...document.querySelectorAll('table[data-table]')]
                             .map(t => [t.dataset.table, t.tBodies[0].rows.length])),
  headings: [...document.querySelectorAll('section h2')].map(h => h.innerText),
  statuses: [...document.querySelectorAll('table[data-table=watchlist] tbody td:first-child')].map(td => td.innerText),
  from: (document.getElementById('from') || {}).value || '',
  body: document.body.innerText,
})"""


def login(page: Page, server: ApiServer, user: str, target: str) -> None:
    """Open ``target`` signed out, get sent to Airflow's login page, sign in like a person."""
    page.clear_cookies()
    page.goto(target)
    page.wait_for("location.pathname.endsWith('/auth/login') && !!document.querySelector('input[name=username]')",
                  timeout=60, what="Airflow's login form")
    assert "next=" in page.url()
    page.type_into("input[name=username]", user)
    page.type_into("input[name=password]", USERS[user][1])
    page.wait_for("!document.querySelector('button[type=submit]').disabled", what="the Sign in button")
    page.eval("document.querySelector('button[type=submit]').click()")


def facts(page: Page) -> dict[str, Any]:
    import json

    return json.loads(page.eval(DOM_FACTS))


@pytest.fixture(scope="module")
def period(api_server: ApiServer) -> dict[str, str]:
    day = api_server.scenario.now.date()  # type: ignore[attr-defined]
    return {"from": str(day - timedelta(days=6)), "to": str(day)}


def test_auditor_logs_in_and_reads_the_report(browser: Browser, api_server: ApiServer, screenshots, period):
    page = browser.new_page()
    try:
        target = f"{api_server.base_url}/socialhub-audit/?{urlencode(period)}"
        login(page, api_server, "alice", target)
        page.wait_for("location.pathname === '/socialhub-audit/' && !!document.getElementById('chain')",
                      timeout=60, what="the auditors' page after signing in")
        f = facts(page)
        shot = page.screenshot(screenshots / "auditor-report.png")
        assert f["title"].startswith("Auditor's report")
        assert f["chain"].startswith("✔ Audit log intact.") and f["user"] == "alice"
        assert f["from"] == period["from"]                         # came back to the period asked for
        assert f["tables"]["posts_per_account"] == 4 and f["tables"]["alerts"] == 2
        assert f["tables"]["quality_rejections"] == 1 and f["tables"]["runs"] >= 2
        assert f["statuses"][:2] == ["expired", "due for review"]
        assert "Time to first officer response: median 42 min" in f["body"]
        assert "Who looked at or exported these records" in f["headings"]
        assert "alice via Airflow auditors' page" in f["body"]     # this very view, recorded first
        # run states were asked from Airflow's real metadata database (no runs in this fresh one)
        assert "Airflow run history: 0 run(s) from Airflow's metadata database" in f["body"]
        assert shot.stat().st_size > 20_000

        # choose one force with the page's own form (a GET: the page changes nothing)
        page.eval(f"document.getElementById('force').value = {COUNTY!r}; document.querySelector('form.period').submit()")
        page.wait_for(f"location.search.includes('force={COUNTY}') && document.readyState === 'complete' "
                      "&& !!document.getElementById('chain')", what="the per-force report")
        f = facts(page)
        assert f"force {COUNTY} only" in f["scope"] and "ghost_yardz" not in f["body"]
        page.screenshot(screenshots / "auditor-report-one-force.png")

        # the same page inside Airflow's UI, where the nav link leads
        page.goto(f"{api_server.base_url}/plugin/socialhub-audit")
        page.wait_for("(() => { const f = document.querySelector('iframe[src*=\"/socialhub-audit/\"]');"
                      " return f && f.contentDocument && !!f.contentDocument.getElementById('chain'); })()",
                      timeout=60, what="the auditors' page inside Airflow's UI")
        nav = page.eval("[...document.querySelectorAll('a, button')].filter(e => !e.closest('iframe'))"
                        ".map(e => e.textContent.trim()).filter(t => t.startsWith('Auditors')).join('|')")
        page.screenshot(screenshots / "auditor-in-airflow-ui.png", max_height=1000)
        assert nav.startswith("Auditors"), nav        # Airflow's own nav bar links to the page
    finally:
        page.close()
    events = [e for e in AuditLog(LocalStore(api_server.store_path)).events() if e["action"] == "access"]
    granted = [e for e in events if e["actor"]["name"] == "alice" and e["details"]["granted"]]
    assert len(granted) >= 3 and granted[0]["details"]["from"] == period["from"]
    assert any(e["force"] == COUNTY for e in granted)


def test_the_page_is_readable_at_1280_and_800_px(browser: Browser, api_server: ApiServer, screenshots, period):
    """The auditors' page, signed in as a person would, laid out at 1280 and 800 px: no column cut
    off, no row of mostly blank lines, the same review figures as the report (see
    tests/audit/test_review_counts.py); screenshots saved and their paths printed."""
    page = browser.new_page()
    try:
        login(page, api_server, "alice", f"{api_server.base_url}/socialhub-audit/?{urlencode(period)}")
        page.wait_for("location.pathname === '/socialhub-audit/' && !!document.querySelector('table[data-table=alerts]')",
                      timeout=60, what="the auditors' page after signing in")
        wide = check_readable(page, 1280, screenshots / "auditors-page-1280.png")
        narrow = check_readable(page, 800, screenshots / "auditors-page-800.png")
        body = page.eval("document.body.innerText")
    finally:
        page.close()
    assert len(wide["tables"]["alerts"]["rows"]) == len(narrow["tables"]["alerts"]["rows"]) == 2
    assert "Escalations" in body and "automatically on review timeout" in body
    assert f"Store read: {api_server.store_path}" in body                    # which store the page vouches for
    rest = "\n".join(line for line in body.splitlines() if not line.startswith("Store read:"))
    assert str(api_server.store_path) not in rest and "file://" not in body   # and no other local paths


def test_airflow_admin_who_is_not_an_auditor_is_turned_away(browser: Browser, api_server: ApiServer,
                                                              screenshots, period):
    page = browser.new_page()
    try:
        login(page, api_server, "bob", f"{api_server.base_url}/socialhub-audit/?{urlencode(period)}")
        page.wait_for("location.pathname === '/socialhub-audit/' && document.title === 'Not an auditor'",
                      timeout=60, what="the refusal page")
        f = facts(page)
        page.screenshot(screenshots / "non-auditor-refused.png", max_height=800)
        assert "You are signed in to Airflow as bob, who is not an auditor." in f["body"]
        assert f["tables"] == {} and "ghost_yardz" not in f["body"] and not f["chain"]
        # the refusal is a real HTTP 403 for bob's real session cookie, not just words on a page
        import httpx

        cookies = {c["name"]: c["value"] for c in page.send("Network.getCookies")["cookies"]}
        assert "_token" in cookies
        r = httpx.get(page.url(), cookies={"_token": cookies["_token"]}, timeout=30)
        assert r.status_code == 403 and "not an auditor" in r.text
    finally:
        page.close()
    refused = [e for e in AuditLog(LocalStore(api_server.store_path)).events()
               if e["action"] == "access" and e["actor"]["name"] == "bob"]
    assert refused and not any(e["details"]["granted"] for e in refused)
    assert refused[0]["actor"]["airflow_role"] == "admin"


def test_why_was_this_alerted_from_the_report_page(browser: Browser, api_server: ApiServer, screenshots, period):
    """An auditor asks about one alert with the form at the end of the report page: the explain view
    opens (verdict first, then the eight sections), fits 1280 and 800 px, and the view is recorded."""
    from tests.ui.layout import layout

    store = LocalStore(api_server.store_path)
    referred = next(e for e in AuditLog(store).events()
                    if e["action"] == "referral" and e["details"].get("kind") == "platform")
    alert_id = referred["object"].removeprefix("alert:")
    page = browser.new_page()
    try:
        login(page, api_server, "alice", f"{api_server.base_url}/socialhub-audit/?{urlencode(period)}")
        page.wait_for("!!document.querySelector('form.explain input[name=target]')", timeout=60,
                      what="the explain form on the auditors' page")
        page.eval(f"const f = document.querySelector('form.explain'); f.target.value = {alert_id!r}; "
                  "f.why.value = 'checking a referral for the quarterly audit'; f.submit()")
        page.wait_for("location.pathname.endsWith('/explain') && document.readyState === 'complete'",
                      timeout=60, what="the explain view")
        body = page.eval("document.body.innerText")
        shapes = {}
        for width in (1280, 800):
            page.set_viewport(width)
            __import__("time").sleep(0.3)
            shapes[width] = layout(page)
            page.screenshot(screenshots / f"auditor-explain-{width}.png", width=width)
    finally:
        page.close()
    assert "Why was this post alerted, or not?" in body and "alerted:" in body
    for section in ("Watchlist entry and authorisation", "Collection", "Quality", "Classification", "Alert",
                    "Review", "Referral", "Retention"):
        assert section in body, section
    assert body.index("alerted:") < body.index("Collection")            # the verdict comes first
    assert "Refer to platform" in body
    for width, f in shapes.items():
        assert f["page_overflow"] <= 0, (width, f["page_overflow"])    # nothing wider than the window
    views = [e for e in AuditLog(store).events() if e["action"] == "access"
             and e["actor"].get("name") == "alice" and alert_id in str(e.get("object", "")) + str(e.get("details"))]
    assert views and "quarterly audit" in str(views[-1])
