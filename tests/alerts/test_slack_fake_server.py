"""The fake Slack API must refuse what Slack refuses, or "accepted by the server" proves nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.servers.slack_api import SlackAPIServer

from ._factory import TOKEN


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _button(text: str = "Open", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": _plain(text), "url": "https://example.org/", **extra}


VALID = [
    {"type": "header", "text": _plain("h" * 150)},
    {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3000, "verbatim": True}},
    # 10 fields, one of the longest: ten of them would pass each field's limit but not the message's
    {"type": "section", "fields": [_plain("f" * 2000)] + [_plain("f")] * 9, "accessory": _button()},
    {"type": "context", "elements": [_plain("c")] * 10},
    {"type": "actions", "elements": [_button("b" * 75, action_id="a"), _button(action_id="b", style="danger")]},
    {"type": "divider"},
]


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "header", "text": _plain("h" * 151)},
        {"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}},
        {"type": "section", "text": _plain("s" * 3001)},
        {"type": "section", "text": _plain("😀" * 1501)},                 # 3002 UTF-16 units
        {"type": "section", "text": _plain("")},
        {"type": "section", "text": {"type": "html", "text": "x"}},
        {"type": "section", "text": {"type": "plain_text", "text": "x", "verbatim": True}},
        {"type": "section", "fields": [_plain("f")] * 11},
        {"type": "section", "fields": [_plain("f" * 2001)]},
        {"type": "section"},
        {"type": "section", "text": _plain("x"), "colour": "red"},
        {"type": "context", "elements": [_plain("c")] * 11},
        {"type": "context", "elements": []},
        {"type": "actions", "elements": [_button("b" * 76)]},
        {"type": "actions", "elements": [{**_button(), "url": "https://e.org/" + "u" * 3000}]},
        {"type": "actions", "elements": [{**_button(), "url": "javascript:alert(1)"}]},
        {"type": "actions", "elements": [_button(action_id="same"), _button(action_id="same")]},
        {"type": "actions", "elements": [_button(style="loud")]},
        {"type": "video"},
        {"type": "divider", "text": _plain("x")},
        {"type": "section", "text": _plain("lone \ud800 surrogate")},
    ],
)
def test_invalid_blocks_are_refused(bad: dict, client: WebClient, slack: SlackAPIServer) -> None:
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="#c", text="t", blocks=[bad])
    assert info.value.response["error"] == "invalid_blocks"
    assert slack.messages == [] and slack.errors[0]["error"] == "invalid_blocks"


def test_limits_themselves_are_accepted(client: WebClient, slack: SlackAPIServer) -> None:
    client.chat_postMessage(channel="#c", text="t", blocks=VALID)
    assert slack.messages[0].blocks == VALID


def test_too_much_text_in_all_is_msg_blocks_too_long(client: WebClient, slack: SlackAPIServer) -> None:
    """Slack refuses a message whose blocks carry more than about 12,000 characters of text in all,
    even when every block is within its own limit (undocumented; slackapi/bolt-js#2509, #2867)."""
    blocks = [{"type": "section", "text": _plain("x" * 3000)} for _ in range(4)]
    client.chat_postMessage(channel="#c", text="t", blocks=blocks)                    # 12,000: accepted
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="#c", text="t", blocks=[*blocks, {"type": "context",
                                                                         "elements": [_plain("x")]}])
    assert info.value.response["error"] == "msg_blocks_too_long" and len(slack.messages) == 1


def test_block_count_and_duplicate_block_ids(client: WebClient, slack: SlackAPIServer) -> None:
    client.chat_postMessage(channel="#c", text="t", blocks=[{"type": "divider"}] * 50)
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postMessage(channel="#c", text="t", blocks=[{"type": "divider"}] * 51)
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postMessage(channel="#c", text="t", blocks=[{"type": "divider", "block_id": "x"}] * 2)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"channel": "", "text": "x"}, "channel_not_found"), ({"channel": "#c"}, "no_text"),
     ({"channel": "#c", "text": "x" * 40001}, "msg_too_long")],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_message_level_checks(kwargs: dict, error: str, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(**kwargs)
    assert info.value.response["error"] == error


def test_form_encoded_post_with_token_in_body(slack: SlackAPIServer) -> None:
    body = "&".join([f"token={TOKEN}", "channel=%23c", "text=hi",
                     "blocks=" + urllib.request.quote(json.dumps([{"type": "divider"}]))]).encode()
    request = urllib.request.Request(slack.base_url + "chat.postMessage", data=body,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["ok"] is True
    assert slack.messages[0].text == "hi" and slack.messages[0].blocks == [{"type": "divider"}]


def test_auth(slack: SlackAPIServer) -> None:
    assert WebClient(token=TOKEN, base_url=slack.base_url).auth_test()["team"] == "socialhub-test"
    with pytest.raises(SlackApiError) as info:
        WebClient(token="xoxb-wrong", base_url=slack.base_url).auth_test()
    assert info.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as info:
        WebClient(base_url=slack.base_url).chat_postMessage(channel="#c", text="x")
    assert info.value.response["error"] == "not_authed"


def test_fault_injection_and_distinct_timestamps(client: WebClient, slack: SlackAPIServer) -> None:
    slack.rate_limit_next(1, retry_after=9)
    slack.fail_next(1, status=502)
    request = urllib.request.Request(slack.base_url + "auth.test", data=b"", method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 429 and info.value.headers["Retry-After"] == "9"
    with pytest.raises(SlackApiError) as api_info:
        client.chat_postMessage(channel="#c", text="x")
    assert api_info.value.response.status_code == 502
    ts = {client.chat_postMessage(channel="#c", text="x")["ts"] for _ in range(3)}
    assert len(ts) == 3
    assert [c.status for c in slack.calls] == [429, 502, 200, 200, 200]
    assert [e["error"] for e in slack.errors] == ["ratelimited", "internal_error"]


def test_start_is_idempotent_and_stop_stops() -> None:
    server = SlackAPIServer(token=TOKEN)
    with server.start() as same:
        assert same is server
        port = server.port
        assert WebClient(token=TOKEN, base_url=server.base_url).auth_test()["ok"]
        assert server.port == port
    with pytest.raises(RuntimeError):
        server.base_url
