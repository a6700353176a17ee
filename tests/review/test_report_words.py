"""The referral report names the account once and gives times in the hub's local zone and UTC."""

from __future__ import annotations

import re

from socialhub.review.model import REFER, Decision
from socialhub.review.report import render_report

AID = "0123456789abcdef01234567"


def _report(facts: dict, decision: Decision) -> str:
    base = {"alert_id": AID, "platform": "x", "permalink": "https://x.example/p/1", "text": "words"}
    return render_report({**base, **facts}, classification={"labels": [], "scores": {}, "reasons": []},
                         decision=decision, files=[])


def _row(html: str, label: str) -> str:
    m = re.search(rf"<tr><th>{re.escape(label)}</th><td>(.*?)</td></tr>", html, flags=re.S)
    assert m, label
    return m.group(1)


def test_report_account_once_and_local_time_with_utc(monkeypatch):
    monkeypatch.setenv("SOCIALHUB_TIMEZONE", "Europe/London")
    decision = Decision(alert_id=AID, option=REFER, justification="Clear threat to a named person.",
                        responded_at="2026-12-03T09:05:00Z", timed_out=False, response_seconds=1800,
                        responded_by={"id": "pc1", "name": "PC One"})
    html = _report({"account": "t0pboy_ends", "account_display_name": "t0pboy_ends (demo)",
                    "posted_at": "2026-07-01T13:48:00Z", "captured_at": "2026-07-01T23:30:00+00:00"}, decision)
    account = _row(html, "Account")
    assert account == "t0pboy_ends (demo)" and account.count("t0pboy_ends") == 1
    assert _row(html, "Posted at") == "Wed 1 Jul 2026 14:48 BST (13:48 UTC)"
    # the UTC part names its own date when it is another day than the local one
    assert _row(html, "Captured at") == "Thu 2 Jul 2026 00:30 BST (Wed 1 Jul 23:30 UTC)"
    assert _row(html, "Decided at") == "Thu 3 Dec 2026 09:05 GMT (09:05 UTC)"
    assert "(UTC)</th>" not in html

    # a display name that adds something is kept beside the handle; hostile text stays escaped
    html = _report({"account": "acct", "account_display_name": "Account <b>bold</b>"}, decision)
    assert _row(html, "Account") == "acct (Account &lt;b&gt;bold&lt;/b&gt;)"
    monkeypatch.setenv("SOCIALHUB_TIMEZONE", "America/New_York")
    html = _report({"account": "acct", "posted_at": "2026-12-03T09:05:00Z"}, decision)
    assert _row(html, "Posted at") == "Thu 3 Dec 2026 04:05 EST (09:05 UTC)"
