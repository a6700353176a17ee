"""The review question: what the Airflow review page shows, escaped, and how long the team has."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from socialhub.review.model import (
    ESCALATE,
    JUSTIFICATION_MIN,
    OPTIONS,
    REFER,
    REQUEST_KEYS,
    Decision,
    build_request,
    check_justification,
    md_code_block,
    md_inline,
    response_seconds,
    review_question,
)
from socialhub.review.store import load_alert_context


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def test_request_names_the_alert_and_neutralises_hostile_post_text(store, alerted_outbox):
    alert = load_alert_context(store, alerted_outbox["5"]).alert
    req = review_question(alert, response_seconds=1800, escalation_channel="#escalation")
    assert alert.alert_id in req["subject"]          # the alert's Review link searches for it
    assert "\u202e" not in req["subject"] + req["body"] and "\u200b" not in req["body"]
    html = _html(req["body"])
    # nothing from the post becomes markup: no script, image, raw HTML or link other than the permalink
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert re.findall(r'<a href="([^"]+)"', html) == ["https://x.social/@acct/5"]
    pre = re.findall(r"<pre>.*?</pre>", html, flags=re.S)
    assert len(pre) == 1 and "&lt;script&gt;" in pre[0] and "{{ 7*7 }}" in pre[0]   # the post, verbatim, inert
    outside = html.replace(pre[0], "")
    assert "javascript:" not in outside and "@here" not in outside
    assert not re.search(r"(?<![0-9a-f])49(?![0-9a-f])", req["subject"])   # not rendered (ids are hex)


def test_request_is_the_alert_id_only_and_the_subject_quotes_no_post(store, alerted_outbox):
    """The mapped argument (an XCom row) carries no post text, account, author or authorisation; the
    subject, listed to everyone who may see the review DAG, names no account and quotes no post."""
    alert = load_alert_context(store, alerted_outbox["2"]).alert
    req = build_request(alert, response_seconds=1800)
    assert req == {"alert_id": alert.alert_id, "response_seconds": 1800} and tuple(req) == REQUEST_KEYS
    question = review_question(alert, response_seconds=1800, escalation_channel="#escalation")
    for private in (alert.post["text"], alert.post["account"], alert.post.get("author"), alert.authorisation_ref):
        assert private and private not in question["subject"]
    # the page itself still shows the officer what they need to decide
    for needed in (alert.post["text"], md_inline(alert.post["account"]), md_inline(alert.authorisation_ref),
                   "Why it was flagged"):
        assert needed in question["body"]


def test_code_fence_cannot_be_closed_from_inside():
    text = "before\n````\n# heading\n````\nafter"
    block = md_code_block(text)
    fence = block.splitlines()[0].removesuffix("text")
    assert len(fence) == 5
    html = _html(block)
    assert "<h1>" not in html and html.count("<pre>") == 1


def test_response_time_from_env_route_or_default(monkeypatch, routing):
    monkeypatch.delenv("SOCIALHUB_REVIEW_RESPONSE_SECONDS", raising=False)
    monkeypatch.delenv("SOCIALHUB_REVIEW_RESPONSE_MINUTES", raising=False)
    assert response_seconds(routing, "met", "gangs") == 1800
    monkeypatch.setenv("SOCIALHUB_REVIEW_RESPONSE_MINUTES", "5")
    assert response_seconds(routing, "met", "gangs") == 300

    class Route:
        response_minutes = 0.5
        escalation = "#e"

    class WithMinutes:
        def route_for(self, force, team):
            return Route(), "team", False

    assert response_seconds(WithMinutes(), "met", "gangs") == 30        # the team's own setting wins
    monkeypatch.setenv("SOCIALHUB_REVIEW_RESPONSE_SECONDS", "20")
    assert response_seconds(WithMinutes(), "met", "gangs") == 20        # demo/test override wins over all


def test_justification_is_required_from_a_person():
    assert check_justification(None) and check_justification("   ") and check_justification("too short")
    assert check_justification("x" * 5000)
    assert check_justification("Explicit threat naming a rival; refer.") is None
    assert len("too short") < JUSTIFICATION_MIN


def test_decision_from_a_person_and_from_the_timeout():
    aid = "0123456789abcdef01234567"
    person = Decision.from_hitl(aid, {"chosen_options": [REFER], "params_input": {"justification": "  Clear threat to a named person.  "},
                                      "responded_at": "2026-11-25T12:05:00Z",
                                      "responded_by_user": {"id": "officer1", "name": "PC One"}},
                                timed_out=False, response_seconds=1800,
                                review_task={"dag_id": "socialhub_review", "run_id": "r", "task_id": "review",
                                             "map_index": 0})
    assert person.code == "refer" and person.justification == "Clear threat to a named person."
    assert person.actor() == {"kind": "person", "id": "officer1", "name": "PC One",
                              "via": "Airflow review socialhub_review.review[0] run r"}
    timeout = Decision.from_hitl(aid, {"chosen_options": [ESCALATE], "params_input": {"justification": None},
                                       "responded_at": "2026-11-25T12:30:00Z", "responded_by_user": None},
                                 timed_out=True, response_seconds=1800)
    assert timeout.code == "escalate" and timeout.responded_by is None
    assert timeout.actor()["kind"] == "system" and "no response within 1800s" in timeout.actor()["reason"]
    assert "30 min" in timeout.justification
    assert Decision.from_dict(person.to_dict()) == person
    with pytest.raises(ValueError):
        Decision(aid, "Delete the account", "x" * 20, "2026-11-25T12:00:00Z", False, 60, {"id": "a", "name": "a"})
    with pytest.raises(ValueError):
        Decision(aid, REFER, "x" * 20, "2026-11-25T12:00:00Z", False, 60, None)   # a person's decision needs a person
    assert set(OPTIONS) == {"Refer to platform", "Escalate", "Keep monitoring", "No action (false positive)"}


def _with(alert, **changes):
    """``alert`` with some fields changed (the classification or the post), as the store would hold it."""
    from socialhub.alerts.model import Alert

    d = alert.to_dict()
    for key, value in changes.items():
        d[key] = {**d[key], **value} if isinstance(value, dict) else value
    return Alert.from_dict(d)


def test_review_page_says_the_band_in_words_the_account_once_and_local_time_with_utc(store, alerted_outbox,
                                                                                      monkeypatch):
    """What the officer reads when deciding: the same band words as the alert (a "low" alert is not
    "normal"), the account once, times in the hub's zone and UTC, why flagged in plain words."""
    from socialhub.alerts.severity import marker, why_severity

    monkeypatch.setenv("SOCIALHUB_TIMEZONE", "Europe/London")
    alert = load_alert_context(store, alerted_outbox["2"]).alert
    cls = dict(alert.classification)
    label = alert.labels[0]
    thresholds = {label: 0.5}

    def body(a):
        return review_question(a, response_seconds=1800, escalation_channel="#escalation")["body"]

    # the three bands, each said as the alert says it
    for score, band in ((0.3, "low"), (0.6, "normal"), (0.99, "high")):
        a = _with(alert, classification={"scores": {**cls.get("scores", {}), label: score}, "labels": [label],
                                         "thresholds": thresholds})
        assert a.severity == band
        first = body(a).splitlines()[0]
        assert md_inline(marker(band)) in first, (band, first)
        assert md_inline(why_severity(a.classification), 300) in body(a)
    low = _with(alert, classification={"scores": {label: 0.3}, "labels": [label], "thresholds": thresholds})
    assert "normal" not in body(low).splitlines()[0] and "low" in body(low).splitlines()[0]

    # the account once: a display name that already contains the handle is not repeated around it
    a = _with(alert, account_display_name=f"{alert.post['account']} (demo)")
    row = next(line for line in body(a).splitlines() if line.startswith("| Platform / account"))
    assert row.count(md_inline(alert.post["account"])) == 1 and md_inline("(demo)") in row

    # times: local (GMT in winter, BST in summer) and UTC, whatever today is
    a = _with(alert, post={"created_at": "2026-07-01T13:48:00Z", "collected_at": "2026-12-03T09:05:00Z"})
    text = body(a)
    assert md_inline("Wed 1 Jul 2026 14:48 BST (13:48 UTC)") in text
    assert md_inline("Thu 3 Dec 2026 09:05 GMT (09:05 UTC)") in text
    assert "2026-07-01T13:48:00Z" not in text

    # why flagged: the post's words and the rule in words, not the rule machinery
    a = _with(alert, classification={"labels": ["violence_threat"], "scores": {"violence_threat": 0.9},
                                     "reasons": [{"category": "violence_threat", "rule": "vt.wet_threat",
                                                  "term": r"(?:i'?ll|i\s+will)\s+wet", "text": "I'll wet him",
                                                  "start": 17, "end": 29, "weight": 0.85, "effect": "match"}]})
    why = body(a).split("**Why it was flagged**")[1].split("Classifier")[0]
    quote = md_inline("I'll wet him")
    assert f"“{quote}”" in why
    for internal in ("0.85", "0\\.85", "17", "i\\s", "i\\\\s", "(?:", "\\(?\\:", "effect"):
        assert internal not in why, internal


def test_review_page_says_the_accounts_subject_category(store, alerted_outbox):
    """The officer deciding sees who the account holder is to the police; the page title (listed to
    everyone who may see the review DAG) does not."""
    alert = load_alert_context(store, alerted_outbox["2"]).alert
    for subject, shown in (("victim", "victim — safeguarding, not enforcement"), ("suspect", "suspect"),
                           ("unknown", "unknown (not set on the watchlist)"), ("", "not recorded")):
        req = review_question(_with(alert, subject=subject), response_seconds=1800, escalation_channel="#esc")
        (row,) = [line for line in req["body"].splitlines() if line.startswith("| Subject |")]
        assert row == f"| Subject | {md_inline(shown)} |"
        assert "victim" not in req["subject"] and "suspect" not in req["subject"]
    # the review store's alert (from the curated row) carries what the watchlist entry said at collection
    assert alert.subject == "unknown"


def test_review_page_lists_captured_media_with_links_to_the_hubs_copies_only(store, alerted_outbox, monkeypatch):
    """Issue 16: the officer sees each captured item's type, size and dimensions, a link to its blurred
    preview and one to the audited full view, both served by the hub from its store; never a platform
    media URL (the browser would fetch the platform's copy, unblurred). Items not captured say why."""
    from socialhub.alerts.links import APP_PREFIX

    alert = load_alert_context(store, alerted_outbox["2"]).alert
    jpg, svg = "a1" * 32, "b2" * 32
    platform_urls = ["https://cdn.x.social/media/knife.jpg", "https://cdn.x.social/media/x.svg",
                     "https://cdn.x.social/media/gone.jpg", "https://cdn.x.social/media/later.jpg"]
    a = _with(alert, post={"media": platform_urls, "media_captured": [
        {"sha256": jpg, "mime": "image/jpeg", "kind": "image", "size": 123_456, "width": 800, "height": 600,
         "preview_key": f"media/previews/a1/{jpg}.jpg", "status": "captured"},
        {"sha256": svg, "mime": "image/svg+xml", "kind": "svg", "size": 300, "status": "captured", "reason": "svg"},
        {"status": "gave_up", "reason": "gone"}]})
    assert a.post["media_captured"][0]["sha256"] == jpg

    base = "https://airflow.hub.example.police.uk"
    body = review_question(a, response_seconds=1800, escalation_channel="#e", airflow_url=base)["body"]
    html = _html(body)
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', html)
    q = f"?alert={a.alert_id}"
    assert (f"{base}{APP_PREFIX}/media/{jpg}/preview.jpg{q}", "Blurred preview") in links
    assert (f"{base}{APP_PREFIX}/media/{jpg}/full{q}", "Show full image (recorded in the audit log)") in links
    assert (f"{base}{APP_PREFIX}/media/{svg}/full{q}",
            "Download the stored file, not shown (recorded in the audit log)") in links
    assert not any(f"/media/{svg}/preview.jpg" in href for href, _ in links)       # SVG: no preview link
    media = body.split("**Media**")[1].split("Classifier")[0]
    assert md_inline("image/jpeg, 120.6 KiB, 800 × 600 px") in media
    assert "no preview (SVG is never rendered)" in html and "image/svg+xml, 300 bytes, dimensions unknown" in html
    assert "not captured (gone)" in media and "1 more item(s) not captured" in media
    for url in platform_urls:                                     # never a platform media URL, in any form
        assert "cdn" not in body and url not in html and md_inline(url) not in body
    assert "<img" not in html

    # no public Airflow address: no links, the paths to open on Airflow's own address instead
    monkeypatch.delenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", raising=False)
    body = review_question(a, response_seconds=1800, escalation_channel="#e")["body"]
    html = _html(body)
    assert all("/media/" not in h for h in re.findall(r'<a href="([^"]+)"', html))
    assert "SOCIALHUB\\_AIRFLOW\\_PUBLIC\\_URL" in body and f"`{APP_PREFIX}/media/{jpg}/full{q}`" in body
    # no media: no section
    plain = review_question(alert, response_seconds=1800, escalation_channel="#e", airflow_url=base)["body"]
    assert ("**Media**" in plain) == bool(alert.post.get("media"))
