"""Telegram: preview parsing (project fixture) and the connector against the replay server."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any, Callable

import pytest
from sources_support import FIXTURES, TOKEN, FakeClock

from socialhub.errors import AccountUnavailable, ConnectorError, MalformedResponse, RateLimited
from socialhub.models import raw_sha256
from socialhub.replay import ReplayServer
from socialhub.sources.base import Connector, ConnectorConfig
from socialhub.sources.telegram import TelegramConnector, normalise_message, parse_html, parse_preview, text_of

MENU = "southside_plug_menu"      # 6 demo messages, one older than the look-back, a reply and a forward


# --------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------

class TestParse:
    source = (FIXTURES / "telegram_preview.html").read_text(encoding="utf-8")

    def test_page_continuations_and_service_messages(self) -> None:
        page = parse_preview(self.source)
        assert page.has_history and page.channel_title == "Fixture Channel"
        assert (page.before, page.after) == (501, 505)
        assert [m.id for m in page.messages] == [501, 503, 505]               # the service message is skipped

    def test_text_signature_photo_and_time(self) -> None:
        message = parse_preview(self.source).messages[0]
        post = normalise_message(message, "fixture_chan", "2026-03-02T00:00:00Z")
        assert post.post_id == "fixture_chan/501" and post.url == "https://t.me/fixture_chan/501"
        assert post.text == "Fish & chips\non Friday link" and post.author == "Ann Signature"
        assert post.media == ["https://cdn.fixture.example/p1.jpg"] and post.created_at == "2026-03-01T10:00:00Z"
        assert post.raw_sha256 == raw_sha256(message.html)
        assert message.html.startswith('<div class="tgme_widget_message js-widget_message" data-post="fixture_chan/501"')
        assert message.html.endswith("</div>") and "fixture_chan/503" not in message.html

    def test_reply_is_linked_and_its_quote_is_not_the_text(self) -> None:
        message = parse_preview(self.source).messages[1]
        assert message.reply_to == "fixture_chan/501" and message.text == "a reply with a video"
        assert message.media == ["https://cdn.fixture.example/v1.jpg", "https://cdn.fixture.example/v1.mp4"]

    def test_forward_is_a_repost_and_link_previews_are_not_media(self) -> None:
        message = parse_preview(self.source).messages[2]
        assert message.forwarded_from == "other_chan/77" and message.media == []
        assert message.author == ""

    def test_not_a_telegram_page(self) -> None:
        with pytest.raises(ValueError, match="no Telegram markup"):
            parse_preview("<html><body>hello</body></html>")

    def test_evidence_is_the_exact_source_of_each_message(self) -> None:
        for message in parse_preview(self.source).messages:
            start = self.source.index(f'<div class="tgme_widget_message js-widget_message" data-post="{message.post_id}"')
            assert self.source[start:start + len(message.html)] == message.html
            assert message.html.count("<div") == message.html.count("</div>")     # its own end tag, no more

    def test_evidence_of_an_unclosed_message_stops_at_the_next_tag(self) -> None:
        source = ('<section class="tgme_channel_history"><div class="tgme_widget_message" data-post="chan_x/1">'
                  '<div class="tgme_widget_message_text">one <b>open</section><p class="after">x</p>')
        [message] = parse_preview(source).messages
        assert message.text == "one open" and message.html.endswith("<b>open</section>")

    def test_tree_tolerates_broken_markup(self) -> None:
        root = parse_html("<div class='a'><p>one<br>two</div></span><div class='b'>three")
        assert text_of(root.find(class_="a")) == "one\ntwo" and text_of(root.find(class_="b")) == "three"


# --------------------------------------------------------------------------------------------
# connector against the replay server
# --------------------------------------------------------------------------------------------

def small_pages(clock: FakeClock, page_size: int = 2) -> ReplayServer:
    from socialhub.replay.server import load_data

    data = load_data()
    data["telegram"] = {**data["telegram"], "page_size": page_size}
    return ReplayServer(data, now=clock.now)


def connector_for(server: ReplayServer, clock: FakeClock, **config: Any) -> TelegramConnector:
    return TelegramConnector(ConnectorConfig(base_url=server.base_url("telegram"), **config), now=clock.now,
                             sleep=clock.sleep)


def test_first_run_walks_back_to_the_lookback(clock: FakeClock) -> None:
    with small_pages(clock) as server:
        result = connector_for(server, clock).fetch(MENU, None)
        requests = server.paths("telegram")
    texts = [p.text for p in result.posts]
    assert len(result.posts) == 5 and "new channel, follow for updates" not in texts
    assert texts[0].startswith("MENU UPDATED") and result.notes[0].startswith("reached look-back horizon")
    assert requests[0] == f"/telegram/s/{MENU}" and all("before=" in r for r in requests[1:])
    assert result.pages == 3 and result.cursor == {"last_id": int(result.posts[0].post_id.split("/")[1])}
    ids = [int(p.post_id.split("/")[1]) for p in result.posts]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
    assert next(p for p in result.posts if p.reply_to).reply_to in {p.post_id for p in result.posts}
    forwarded = next(p for p in result.posts if p.repost_of)
    assert forwarded.repost_of.startswith("eastside_drillz/") and forwarded.text.startswith("ES on top")  # type: ignore[union-attr]


def test_incremental_runs_page_forward_and_max_pages_loses_nothing(clock: FakeClock) -> None:
    with small_pages(clock) as server:
        connector = connector_for(server, clock, max_pages=2)
        first = connector.fetch(MENU, None)
        clock.t += timedelta(minutes=5)
        added = [server.add_post("telegram", MENU, {"text": f"fresh {i}"}) for i in range(5)]
        server.clear_log()
        second = connector.fetch(MENU, first.cursor)           # 2 pages of 2: four of five
        third = connector.fetch(MENU, second.cursor)
        fourth = connector.fetch(MENU, third.cursor)
        requests = server.paths("telegram")
    assert [p.text for p in second.posts] == ["fresh 3", "fresh 2", "fresh 1", "fresh 0"]
    assert "max_pages=2" in second.notes[0] and second.cursor["last_id"] == added[3]["id"]
    assert [p.text for p in third.posts] == ["fresh 4"] and third.notes == ["reached the newest message"]
    assert fourth.posts == [] and fourth.notes == [f"no messages newer than id {added[4]['id']}"]
    assert requests[0] == f"/telegram/s/{MENU}?after={first.cursor['last_id']}"
    assert all("after=" in r for r in requests)


def test_handle_forms(connect: Callable[..., Connector]) -> None:
    for handle in ("@southside_plug_menu", "https://t.me/s/southside_plug_menu", "t.me/southside_plug_menu"):
        assert len(connect("telegram").fetch(handle, None).posts) == 5


def test_429_with_retry_after_then_success(server: ReplayServer, connect: Callable[..., Connector],
                                           clock: FakeClock) -> None:
    server.inject_fault("telegram", 429, retry_after=4)
    result = connect("telegram").fetch(MENU, None)
    assert len(result.posts) == 5 and clock.sleeps == [pytest.approx(5.0)]


def test_rate_limited_when_telegram_asks_for_a_long_wait(server: ReplayServer, connect: Callable[..., Connector],
                                                         clock: FakeClock) -> None:
    connector = connect("telegram")
    cursor = connector.fetch(MENU, None).cursor
    kept = copy.deepcopy(cursor)
    server.inject_fault("telegram", 429, retry_after=300)
    with pytest.raises(RateLimited):
        connector.fetch(MENU, cursor)
    assert cursor == kept


def test_exhausted_window_answers_429_with_retry_after(server: ReplayServer, connect: Callable[..., Connector],
                                                       clock: FakeClock) -> None:
    server.set_rate_limit("telegram", remaining=0, reset_in=12)
    result = connect("telegram").fetch(MENU, None)
    assert len(result.posts) == 5 and len(clock.sleeps) == 1 and 12 <= clock.sleeps[0] <= 14


@pytest.mark.parametrize("body, message", [
    ("<html><body>gateway error page</body></html>", "not a channel preview page"),
    ('{"json": "instead"}', "no Telegram markup"),
])
def test_malformed_pages_raise(server: ReplayServer, connect: Callable[..., Connector], body: str, message: str) -> None:
    server.inject_fault("telegram", 200, body=body)
    with pytest.raises(MalformedResponse, match=message):
        connect("telegram").fetch(MENU, None)


def test_non_html_content_type_is_malformed(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    server.inject_fault("telegram", 200, body='{"a": 1}', headers={"Content-Type": "application/json"})
    with pytest.raises(MalformedResponse, match="expected HTML"):
        connect("telegram").fetch(MENU, None)


def test_unknown_channel_redirect_is_unavailable(connect: Callable[..., Connector]) -> None:
    with pytest.raises(AccountUnavailable, match="no public preview") as info:
        connect("telegram").fetch("no_such_channel", None)
    assert info.value.status == 302 and "telegram:no_such_channel" in str(info.value)


def test_name_without_preview_is_unavailable(clock: FakeClock) -> None:
    spec = {"telegram": {"channels": [{"name": "private_person", "preview": False}]}}
    with ReplayServer(spec, now=clock.now) as server:
        with pytest.raises(AccountUnavailable, match="not a public channel"):
            connector_for(server, clock).fetch("private_person", None)


def test_invalid_channel_name_is_rejected(connect: Callable[..., Connector]) -> None:
    with pytest.raises(ConnectorError, match="not a valid public channel name"):
        connect("telegram").fetch("no", None)


def test_a_token_is_never_sent_to_t_me(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    seen: list[dict[str, str]] = []
    original = server.handle

    def spy(method: str, raw_path: str, headers: Any) -> Any:
        seen.append(dict(headers))
        return original(method, raw_path, headers)

    server.handle = spy  # type: ignore[method-assign]
    connect("telegram", token=TOKEN).fetch(MENU, None)
    assert seen and all(TOKEN not in str(h) and "authorization" not in {k.lower() for k in h} for h in seen)
