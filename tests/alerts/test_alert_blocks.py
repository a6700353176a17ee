from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient

from socialhub.alerts.blocks import (
    DIGEST_TEXT_BUDGET,
    MAX_BLOCKS,
    TRUNCATED,
    render_alert,
    render_digest_parts,
    safe_url,
    slack_len,
)
from tests.servers.slack_api import SlackAPIServer, blocks_text_len

from ._factory import make_alert
from ._invariants import assert_safe_payload


def _block(payload: dict, block_id: str) -> dict:
    return next(b for b in payload["blocks"] if b.get("block_id") == block_id)


def test_render_alert_layout() -> None:
    alert = make_alert(review_url="https://hub.example/review/1", media=["https://cdn/a.jpg", "https://cdn/b.jpg"])
    payload = render_alert(alert)

    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "section", "context", "actions"]
    assert _block(payload, "header")["text"] == {"type": "plain_text", "text": "🟡 normal · weapon", "emoji": False}
    assert [f["text"] for f in _block(payload, "facts")["fields"]] == [
        "Categories\nweapon 0.72",
        "Severity\nnormal: weapon 0.72 (HIGH from 0.90)",
        "Platform\nx",
        "Account\nexample_account (Example Display)",
        "Subject\nsuspect",
        "Author\nExample Author",
        "Force / team\nexample-constabulary / gangs",
        "Authorisation\nAUTH-2024-0042",
        "Posted at\nWed 1 May 2024 13:00 BST (12:00 UTC)",
        "Collected at\nWed 1 May 2024 13:05 BST (12:05 UTC)",
    ]
    assert all(f["type"] == "plain_text" for f in _block(payload, "facts")["fields"])
    assert _block(payload, "post_text")["text"] == {
        "type": "plain_text", "text": "meet at the park at 9, bring the blade", "emoji": False}
    assert _block(payload, "reasons")["text"] == {
        "type": "mrkdwn", "verbatim": True,
        "text": "*Why flagged*\n• weapon: “the blade”"}
    assert [e["text"] for e in _block(payload, "meta")["elements"]] == [
        "Classifier rules-2024.05.1", f"Alert {alert.alert_id}", "Media: 2 item(s), not captured: open the post to view"]
    post_button, review_button = _block(payload, "actions")["elements"]
    assert post_button == {"type": "button", "text": {"type": "plain_text", "text": "Post link", "emoji": False},
                           "url": "https://x.com/example_account/status/1790000000000000001",
                           "action_id": "open_post", "value": alert.alert_id}
    assert review_button["url"] == "https://hub.example/review/1"
    assert review_button["action_id"] == "open_review"
    # The notification text identifies the alert but never repeats the post.
    assert payload["text"] == ("socialhub NORMAL alert: weapon 0.72 · x example_account · "
                               "example-constabulary / gangs")
    assert "blade" not in payload["text"]


def test_the_recorded_classifier_version_is_named_first() -> None:
    alert = make_alert()
    classification = dict(alert.classification, classifier_id="4.22.0-6a4a22b66fba")
    from socialhub.alerts.model import Alert

    with_id = Alert.from_post(alert.post, classification, force=alert.force, team=alert.team,
                              authorisation_ref=alert.authorisation_ref)
    assert with_id.classification["classifier_id"] == "4.22.0-6a4a22b66fba"
    meta = _block(render_alert(with_id), "meta")["elements"][0]["text"]
    assert meta == "Classifier 4.22.0-6a4a22b66fba (rules-2024.05.1)"


def test_high_severity_is_marked_in_header_and_fallback() -> None:
    payload = render_alert(make_alert(labels=["violence_threat", "weapon"],
                                      scores={"violence_threat": 0.41, "weapon": 0.93}))
    assert _block(payload, "header")["text"]["text"] == "🔴 HIGH · weapon, violence_threat"
    assert payload["text"].startswith("socialhub HIGH alert: weapon 0.93, violence_threat 0.41")
    assert _block(payload, "facts")["fields"][0]["text"] == "Categories\nweapon 0.93 · violence_threat 0.41"


def test_no_review_button_without_review_url_and_no_actions_without_any_url() -> None:
    payload = render_alert(make_alert())
    assert [b["action_id"] for b in _block(payload, "actions")["elements"]] == ["open_post"]
    payload = render_alert(make_alert(url="javascript:alert(document.cookie)"))
    assert "actions" not in [b.get("block_id") for b in payload["blocks"]]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.com/a/status/1", "https://x.com/a/status/1"),
        ("http://example.org/p?q=1&r=<2>|x", "http://example.org/p?q=1&r=%3C2%3E%7Cx"),
        ("https://t.me/канал/5", "https://t.me/%D0%BA%D0%B0%D0%BD%D0%B0%D0%BB/5"),
        ("https://пример.рф:8443/a b", None),
        ("https://пример.рф:8443/путь", "https://xn--e1afmkfd.xn--p1ai:8443/%D0%BF%D1%83%D1%82%D1%8C"),
        ("HTTPS://Example.ORG/Path", "https://Example.ORG/Path"),
        ("https://example.org:99999/", None),
        ("javascript:alert(1)", None),
        ("file:///etc/passwd", None),
        ("/relative/path", None),
        ("https://police.example@evil.example/", None),
        ("https://exa mple.org/", None),
        ("https://example.org/\u202e", None),
        ("https://" + "a" * 3000 + ".org/", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: object, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_empty_text_and_missing_fields_still_render_valid_blocks(client: WebClient, slack: SlackAPIServer) -> None:
    alert = make_alert(text="", author="", account="", created_at="", url="", reasons=[], classifier_version="",
                       account_display_name="", labels=[], scores={})
    payload = render_alert(alert)
    assert _block(payload, "post_text")["text"]["text"] == "(no text)"
    assert "(no evidence spans recorded)" in _block(payload, "reasons")["text"]["text"]
    client.chat_postMessage(channel="#alerts", **payload)
    assert len(slack.messages) == 1


@pytest.mark.parametrize(
    "long_text",
    [
        "a" * 100_000,
        "&" * 100_000,                     # every char expands to 5 when escaped
        "😀" * 100_000,                    # every char is a surrogate pair in UTF-16
        "<@U0123ABCD> @here " * 6_000,
        "x" * 2_986 + "&&&",                # the cut (at 2988 units) would split "&amp;"
        "x" * 2_987 + "😀" * 7,              # ... or a surrogate pair
    ],
)
def test_very_long_text_is_truncated_safely_and_accepted(long_text: str, client: WebClient,
                                                         slack: SlackAPIServer) -> None:
    payload = render_alert(make_alert(text=long_text, author=long_text, account=long_text,
                                      account_display_name=long_text,
                                      reasons=[{"category": "weapon", "text": long_text, "rule": long_text}]))
    body = _block(payload, "post_text")["text"]["text"]
    assert body.endswith(TRUNCATED)
    assert 2_900 <= slack_len(body) <= 3_000
    kept = body[: -len(TRUNCATED)]
    if long_text.startswith("x" * 2_986):
        assert kept in ("x" * 2_986, "x" * 2_987)
    # Never half an entity or half a surrogate pair at the cut.
    assert not kept.endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))
    assert all(not 0xD800 <= ord(ch) <= 0xDFFF for ch in kept)
    assert_safe_payload(payload)
    client.chat_postMessage(channel="#alerts", **payload)
    assert len(slack.messages) == 1, slack.errors


def test_many_reasons_are_capped_with_a_count() -> None:
    reasons = [{"category": "weapon", "rule": f"r{i}", "text": "z" * 500, "start": i, "end": i + 1,
                "weight": 0.1, "effect": "+"} for i in range(40)]
    text = _block(render_alert(make_alert(reasons=reasons)), "reasons")["text"]["text"]
    assert slack_len(text) <= 3000
    shown = text.count("\n• ")
    assert 5 <= shown < 40 and "r1" not in text and "weight" not in text
    assert text.endswith(f"…and {40 - shown} more")


def _many(n: int) -> list:
    out = []
    for i in range(n):
        high = i % 3 == 0
        out.append(make_alert(post_id=str(1000 + i), created_at=f"2024-05-01T12:{i % 60:02d}:00Z",
                              labels=["violence_threat"] if high else ["weapon"],
                              scores={"violence_threat": 0.9} if high else {"weapon": 0.5}))
    return out


def _items(payload: dict) -> list[dict]:
    return [b for b in payload["blocks"] if b["type"] == "section" and b.get("block_id", "").startswith("item_")]


def _shown_ids(payload: dict) -> list[str]:
    """Alert ids a digest message shows: each item's text names its alert, and its buttons carry it."""
    ids = []
    for block in _items(payload):
        alert_id = block["text"]["text"].rsplit("\nAlert ", 1)[1]
        links = next((b for b in payload["blocks"] if b.get("block_id") == block["block_id"] + "_links"), None)
        assert links is None or {e["value"] for e in links["elements"]} == {alert_id}
        ids.append(alert_id)
    return ids


@pytest.mark.parametrize("n", [25, 120])
def test_digest_shows_every_item_across_parts(n: int, client: WebClient, slack: SlackAPIServer) -> None:
    alerts = _many(n)
    parts = render_digest_parts(alerts, "gangs")
    shown = [i for p in parts for i in _shown_ids(p.payload)]
    assert sorted(shown) == sorted(a.alert_id for a in alerts) and len(shown) == n      # all, once each
    assert [i for p in parts for i in (a.alert_id for a in p.alerts)] == shown          # parts list what they show
    assert all(len(p.payload["blocks"]) <= MAX_BLOCKS for p in parts)
    assert all(blocks_text_len(p.payload["blocks"]) <= DIGEST_TEXT_BUDGET for p in parts)
    sizes = [len(p.alerts) for p in parts]
    assert max(sizes) - min(sizes) <= 1                     # about equal parts, not 24 + 1
    high = 40 if n == 120 else 9
    texts = [b["text"]["text"] for p in parts for b in _items(p.payload)]
    assert all(t.startswith("🔴 HIGH") for t in texts[:high]) and texts[high].startswith("🟡 normal")
    for p in parts:
        assert p.total == len(parts) and p.payload["blocks"][0]["text"]["text"] == (
            f"{n} socialhub alert(s) · gangs" + (f" ({p.index}/{len(parts)})" if len(parts) > 1 else ""))
        counts = [e["text"] for e in p.payload["blocks"][1]["elements"]]
        assert counts[:2] == [f"weapon: {n - high} · violence_threat: {high}", f"high: {high} · normal: {n - high}"]
        last = p.first_item + len(p.alerts) - 1
        assert counts[2] == f"Part {p.index} of {len(parts)}: items {p.first_item}–{last} of {n}"
        assert_safe_payload(p.payload)
        client.chat_postMessage(channel="#alerts", **p.payload)
    assert len(slack.messages) == len(parts) and slack.errors == []
    assert not any("more not shown" in json.dumps(m.blocks) for m in slack.messages)


def test_digest_item_has_what_a_single_alert_has() -> None:
    alert = make_alert(review_url="https://hub.example/review/1", author="Jo Bloggs", authorisation_ref="AUTH-9",
                       reasons=[{"category": "weapon", "rule": f"kw.r{i}", "text": f"span {i}"} for i in range(5)])
    (part,) = render_digest_parts([alert, make_alert(post_id="2")], "gangs")
    block = next(b for b in _items(part.payload) if b["text"]["text"].endswith(alert.alert_id))
    assert block["text"]["type"] == "plain_text"
    assert block["text"]["text"] == (
        "🟡 normal · weapon 0.72\n"
        "x · example_account (Example Display) · subject suspect · author Jo Bloggs\n"
        "Authorisation AUTH-9 · example-constabulary / gangs · posted Wed 1 May 2024 13:00 BST (12:00 UTC)\n"
        "“meet at the park at 9, bring the blade”\n"
        "Why flagged: weapon: “span 0”; weapon: “span 1”; weapon: “span 2”; +2 more (open Review)\n"
        f"Alert {alert.alert_id}")
    review, post = next(b for b in part.payload["blocks"] if b.get("block_id") == block["block_id"] + "_links")["elements"]
    assert (review["text"]["text"], review["url"], review["style"]) == ("Review", "https://hub.example/review/1",
                                                                        "primary")
    assert (post["text"]["text"], post["url"]) == ("Post link", alert.post["url"])


def test_digest_splits_by_text_size_too(client: WebClient, slack: SlackAPIServer) -> None:
    """Long posts and many reasons: parts stay under Slack's cumulative text limit, nothing is cut out."""
    reasons = [{"category": "weapon", "rule": "kw." + "r" * 70, "text": "s" * 500} for _ in range(10)]
    alerts = [make_alert(post_id=str(i), text="x" * 5000, author="a" * 400, account_display_name="d" * 400,
                         authorisation_ref="A" * 400, reasons=reasons, review_url=f"https://hub.example/r/{i}")
              for i in range(30)]
    parts = render_digest_parts(alerts, "t" * 500)
    assert len(parts) > 2 and all(len(p.payload["blocks"]) < MAX_BLOCKS for p in parts)
    assert sorted(i for p in parts for i in _shown_ids(p.payload)) == sorted(a.alert_id for a in alerts)
    for p in parts:
        assert blocks_text_len(p.payload["blocks"]) <= DIGEST_TEXT_BUDGET
        assert_safe_payload(p.payload)
        client.chat_postMessage(channel="#alerts", **p.payload)
    assert len(slack.messages) == len(parts) and slack.errors == []


def test_digest_of_a_few_lists_them_all() -> None:
    (part,) = render_digest_parts(_many(3), "gangs")
    assert len(_items(part.payload)) == 3 and part.index == part.total == 1
    assert part.payload["blocks"][1]["elements"][2]["text"] == "All 3 listed below"
    assert part.payload["blocks"][-1]["block_id"] == "item_2_links"
    assert render_digest_parts([], "gangs") == []


@pytest.mark.parametrize(("subject", "shown"), [
    ("victim", "victim — safeguarding, not enforcement"),
    ("witness", "witness — safeguarding, not enforcement"),
    ("at_risk", "at risk — safeguarding, not enforcement"),
    ("suspect", "suspect"),
    ("unknown", "unknown (not set on the watchlist)"),
    ("", "not recorded"),               # an alert from before the subject category existed
])
def test_the_subject_category_is_one_short_field(subject: str, shown: str) -> None:
    payload = render_alert(make_alert(subject=subject))
    fields = [f["text"] for f in _block(payload, "facts")["fields"]]
    assert fields[4] == f"Subject\n{shown}"
    assert len(fields) == 10                            # Slack's limit for one section
    assert shown not in payload["text"]                 # the lock-screen text does not say it
    (part,) = render_digest_parts([make_alert(subject=subject)], "gangs")
    assert f"· subject {shown} ·" in json.dumps(part.payload, ensure_ascii=False)
    assert_safe_payload(payload)


def test_the_fallback_webhook_and_email_say_the_subject_category_too() -> None:
    from socialhub.alerts.fallback import alert_document, render_alert_email

    alert = make_alert(subject="witness")
    assert "\nSubject: witness — safeguarding, not enforcement\n" in alert_document(alert, "#on-duty")["text"]
    _, html, text = render_alert_email(alert, "#on-duty")
    assert "Subject: witness — safeguarding, not enforcement" in text and "witness — safeguarding" in html
