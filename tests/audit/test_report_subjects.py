"""The auditor's report never lists victims or witnesses among suspects (issue 18 point 2).

The ICO's review of the Metropolitan Police's Gangs Matrix found victims were not told apart
from suspects. Every report table that lists watched accounts, or alerts, escalations and
referrals per account, names each row's subject category and lists one category after another:
on the page each category is a table of its own under its own heading, in the CSV the rows of a
category are together with a Subject column.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from socialhub.audit.chain import AuditLog
from socialhub.audit.report import build_report, render_html, table_csv
from socialhub.storage import LocalStore
from socialhub.watchlist import parse_watchlist

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
FORCE = "demo-met"
ENTRY = """  - platform: mastodon
    account: {account}
    display_name: {name}
    force: demo-met
    team: gangs
    owner: DS Example
    authorisation_ref: {ref}
    purpose: Public posts about a series of threats between two named groups.
    review_by: 2027-06-30
    subject: {subject}
"""
ACCOUNTS = {  # account -> (display name, authorisation, subject category)
    "threatener@x.social": ("Threatener", "AUTH-1", "suspect"),
    "threatened@x.social": ("Threatened", "AUTH-2", "victim"),
    "onlooker@x.social": ("Onlooker", "AUTH-3", "witness"),
    "rival@x.social": ("Rival", "AUTH-4", "suspect"),
}
GROUPED = ("posts_per_account", "alerts", "escalations", "referrals", "watchlist_changes", "watchlist")


def _fill(store: LocalStore) -> None:
    log = AuditLog(store)
    task = {"kind": "task", "dag_id": "socialhub_collect", "task_id": "collect", "run_id": "r1"}
    at = NOW - timedelta(hours=6)
    for i, (account, (_, ref, subject)) in enumerate(ACCOUNTS.items()):
        key, batch, aid = f"mastodon:{account}", f"batch{i:020d}", f"{i:024x}"
        log.append("watchlist_change", actor=task, obj=key, force=FORCE, justification="added (test)",
                   details={"change": "added", "fields": {}, "authorisation_ref": ref, "subject": subject},
                   at=at)
        log.append("collect", actor=task, obj=key, force=FORCE, justification="test",
                   details={"posts": 2, "batch_id": batch, "authorisation_ref": ref, "subject": subject},
                   at=at + timedelta(minutes=1))
        log.append("alert", actor=task | {"task_id": "alert"}, obj=f"alert:{aid}", force=FORCE,
                   details={"post": f"mastodon:{i}", "batch_id": batch, "team": "gangs", "labels": ["violence_threat"],
                            "severity": "high", "sink": "outbox", "channel": "#on-duty", "subject": subject},
                   at=at + timedelta(minutes=2))
        review = {"alert_id": aid, "post": f"mastodon:{i}", "kind": "escalation", "channel": "#esc"}
        officer = {"kind": "person", "name": "PC Jones", "via": "airflow"}
        log.append("referral", actor=officer, obj=f"alert:{aid}", force=FORCE, justification="needs a supervisor",
                   details=review, at=at + timedelta(minutes=20))
        log.append("referral", actor=officer, obj=f"alert:{aid}", force=FORCE, justification="breaks the rules",
                   details={"alert_id": aid, "post": f"mastodon:{i}"}, at=at + timedelta(minutes=30))


def _watchlist():
    return parse_watchlist("version: 1\naccounts:\n" + "".join(
        ENTRY.format(account=a, name=n, ref=r, subject=s) for a, (n, r, s) in ACCOUNTS.items()))


def _report(store, **kw):
    return build_report(store, start=NOW.date() - timedelta(days=1), end=NOW.date(), now=NOW, **kw)


def _account_tables(html: str, name: str) -> dict[str, set[str]]:
    """Each table of report section ``name`` on the page (by its subject group): the accounts or alerts in it."""
    section = html.split(f'<section id="{name}">', 1)[1].split("</section>", 1)[0]
    out = {}
    for group, body in re.findall(r'<table data-table="[a-z_]+" data-group="([a-z_]+)">(.*?)</table>', section, re.S):
        out[group] = {a for a in ACCOUNTS if a in body} | set(re.findall(r"mastodon:\d", body))
    return out


def test_victims_and_witnesses_are_never_in_the_same_group_as_suspects(tmp_path):
    store = LocalStore(tmp_path / "store")
    _fill(store)
    report = _report(store, watchlist=_watchlist())
    html = render_html(report)
    for name in GROUPED:
        table = report.table(name)
        groups = {group: rows for group, _, rows in table.row_groups()}
        assert list(groups) == ["suspect", "victim", "witness"], name          # suspects first, each apart
        assert all(r["subject"] == r["subject_group"] == g for g, rows in groups.items() for r in rows), name
        assert [r["subject_group"] for r in table.rows] == ["suspect", "suspect", "victim", "witness"], name
        # the CSV: a Subject column, and the rows of one category together
        rows = list(csv.DictReader(io.StringIO(table_csv(table).decode())))
        assert [r["Subject"] for r in rows] == ["suspect", "suspect", "victim", "witness"], name
        # the page: one table per category, under its own heading; the victim never in the suspects' table
        tables = _account_tables(html, name)
        assert list(tables) == ["suspect", "victim", "witness"], name
    page = _account_tables(html, "posts_per_account")
    assert page["suspect"] == {"threatener@x.social", "rival@x.social"}
    assert page["victim"] == {"threatened@x.social"} and page["witness"] == {"onlooker@x.social"}
    assert _account_tables(html, "alerts")["victim"] == {"threatened@x.social"}       # the victim's alert, alone
    assert _account_tables(html, "referrals")["victim"] == {"mastodon:1"}
    assert '<h3 class="group" id="watchlist-victim">Victims — safeguarding, not enforcement (1)</h3>' in html
    assert '<h3 class="group" id="alerts-suspect">Suspects (2)</h3>' in html


def test_the_watchlist_now_decides_and_old_records_read_as_not_recorded(tmp_path):
    store = LocalStore(tmp_path / "store")
    _fill(store)
    # corrected since: the "rival" is a victim after all; the recorded events still say suspect
    corrected = _watchlist()
    corrected.accounts[3] = corrected.accounts[3].model_copy(update={"subject": "victim"})
    report = _report(store, watchlist=corrected)
    rows = {r["account"]: r["subject"] for r in report.table("posts_per_account").rows}
    assert rows["mastodon:rival@x.social"] == "victim"
    # an account gone from the watchlist keeps the category recorded with its events ...
    gone = parse_watchlist("version: 1\naccounts:\n" + ENTRY.format(
        account="threatener@x.social", name="T", ref="AUTH-1", subject="suspect"))
    rows = {r["account"]: r["subject"] for r in _report(store, watchlist=gone).table("posts_per_account").rows}
    assert rows["mastodon:threatened@x.social"] == "victim"
    # ... and events from before the category existed (none recorded) say so, in the unknown group
    old = tmp_path / "old"
    log = AuditLog(LocalStore(old))
    log.append("collect", actor={"kind": "task"}, obj="mastodon:someone@x.social", force=FORCE,
               details={"posts": 1, "batch_id": "b1"}, at=NOW - timedelta(hours=2))
    (row,) = _report(LocalStore(old), watchlist=[]).table("posts_per_account").rows
    assert (row["subject"], row["subject_group"]) == ("not recorded", "unknown")
