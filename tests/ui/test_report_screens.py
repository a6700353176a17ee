"""The auditor's report file (report.html), read in a real headless Chromium at 1280 and 800 px.

What was wrong before: at 1280 px the Alerts table cut off its Categories, Severity, Delivered
to, First response and Decision columns and each row was about five lines of mostly blank space;
the referral details were raw JSON with local file paths; one commit message was repeated as the
reason of every watchlist change. The screenshots are saved (see the ``screenshots`` fixture)
and their paths printed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from socialhub.audit.report import build_report, write_report
from socialhub.storage import LocalStore
from tests.ui.cdp import Browser
from tests.ui.layout import check_readable
from tests.ui.scenario import populate


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("report-screens")
    store = LocalStore(tmp / "store")
    sc = populate(store, tmp)
    day = sc.now.date()
    rep = build_report(store, start=day - timedelta(days=1), end=day + timedelta(days=1), now=sc.now,
                       watchlist=sc.watchlist)
    write_report(rep, tmp / "out")
    return tmp / "out" / "report.html", tmp


@pytest.mark.parametrize("width", [1280, 800])
def test_report_tables_are_readable(plain_browser: Browser, report_file, screenshots, width):
    html, tmp = report_file
    page = plain_browser.new_page()
    try:
        page.set_viewport(width)
        page.goto(html.as_uri())
        page.wait_for("document.readyState === 'complete' && !!document.querySelector('table[data-table=alerts]')",
                      what="the report")
        facts = check_readable(page, width, screenshots / f"report-{width}.png")
        body = page.eval("document.body.innerText")
        headings = page.eval("[...document.querySelectorAll('table[data-table=alerts] th')].map(th => th.innerText)")
    finally:
        page.close()
    assert facts["tables"]["alerts"]["rows"] and len(facts["tables"]["alerts"]["rows"]) == 2
    for column in ("Categories", "Severity", "Delivered to", "First officer response", "Decision"):
        assert column in headings
    # no local paths (the outbox and the referral package live under tmp), except the store's own name in
    # the "where these figures come from" list, which says which store the report vouches for
    assert f"Store read: {tmp / 'store'}" in body
    rest = "\n".join(line for line in body.splitlines() if not line.startswith("Store read:"))
    assert str(tmp) not in rest and "file://" not in body
    assert "Escalate (automatically on review timeout)" in body


@pytest.mark.parametrize("width", [1280, 800])
def test_tables_grouped_by_subject_category_are_readable(plain_browser: Browser, tmp_path, screenshots, width):
    """One table per subject category (suspects apart from victims and witnesses) still reads at both widths."""
    from tests.audit.test_report_subjects import NOW, _fill, _watchlist

    store = LocalStore(tmp_path / "store")
    _fill(store)
    rep = build_report(store, start=NOW.date() - timedelta(days=1), end=NOW.date(), now=NOW, watchlist=_watchlist())
    write_report(rep, tmp_path / "out")
    page = plain_browser.new_page()
    try:
        page.set_viewport(width)
        page.goto((tmp_path / "out" / "report.html").as_uri())
        page.wait_for("document.readyState === 'complete' && !!document.querySelector('table[data-group=victim]')",
                      what="the report")
        check_readable(page, width, screenshots / f"report-subjects-{width}.png")
        groups = page.eval("[...document.querySelectorAll('table[data-table=posts_per_account]')]"
                           ".map(t => t.dataset.group)")
    finally:
        page.close()
    assert groups == ["suspect", "victim", "witness"]
