from __future__ import annotations

import pytest
from slack_sdk import WebClient

from socialhub.alerts.blocks import (
    MAX_BLOCKS,
    TRUNCATED,
    render_alert,
    render_digest,
    safe_url,
    slack_len,
)
from tests.servers.slack_api import SlackAPIServer

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
        "Platform\nx",
        "Account\nexample_account (Example Display)",
        "Author\nExample Author",
        "Force / team\nexample-constabulary / gangs",
        "Authorisation\nAUTH-2024-0042",
        "Posted at\n2024-05-01T12:00:00Z",
        "Collected at\n2024-05-01T12:05:00Z",
    ]
    assert all(f["type"] == "plain_text" for f in _block(payload, "facts")["fields"])
    assert _block(payload, "post_text")["text"] == {
        "type": "plain_text", "text": "meet at the park at 9, bring the blade", "emoji": False}
    assert _block(payload, "reasons")["text"] == {
        "type": "mrkdwn", "verbatim": True,
        "text": "*Why flagged*\n• *weapon* (kw.weapon.v3): “the blade” — term “blade”, chars 33–38, "
                "weight 0.70, effect +"}
    assert [e["text"] for e in _block(payload, "meta")["elements"]] == [
        "Classifier rules-2024.05.1", f"Alert {alert.alert_id}", "Media: 2 item(s), open the post to view"]
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
    assert 5 <= shown < 40
    assert text.endswith(f"…and {40 - shown} more")


def _many(n: int) -> list:
    out = []
    for i in range(n):
        high = i % 3 == 0
        out.append(make_alert(post_id=str(1000 + i), created_at=f"2024-05-01T12:{i % 60:02d}:00Z",
                              labels=["violence_threat"] if high else ["weapon"],
                              scores={"violence_threat": 0.9} if high else {"weapon": 0.5}))
    return out


def test_digest_counts_orders_and_caps(client: WebClient, slack: SlackAPIServer) -> None:
    alerts = _many(120)
    payload = render_digest(alerts, "gangs", max_items=100)
    assert len(payload["blocks"]) <= MAX_BLOCKS
    assert payload["blocks"][0]["text"]["text"] == "120 socialhub alert(s) · gangs"
    counts = [e["text"] for e in payload["blocks"][1]["elements"]]
    assert counts == ["weapon: 80 · violence_threat: 40", "high: 40 · normal: 80"]
    items = [b for b in payload["blocks"] if b.get("block_id", "").startswith("item_")]
    assert len(items) == 45
    assert all(b["text"]["text"].startswith("🔴 HIGH") for b in items[:40])
    assert items[40]["text"]["text"].startswith("🟡 normal")
    assert payload["blocks"][-1]["elements"][0]["text"] == "…and 75 more not shown"
    assert items[0]["accessory"]["url"].startswith("https://x.com/")
    assert payload["text"] == "120 socialhub alert(s) for gangs: high: 40 · normal: 80"
    assert_safe_payload(payload)
    client.chat_postMessage(channel="#alerts", **payload)
    assert len(slack.messages) == 1, slack.errors


def test_digest_of_a_few_lists_them_all() -> None:
    payload = render_digest(_many(3), "gangs")
    assert len([b for b in payload["blocks"] if b.get("block_id", "").startswith("item_")]) == 3
    assert payload["blocks"][-1]["block_id"] == "item_2"
