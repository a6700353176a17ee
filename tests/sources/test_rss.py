"""RSS/Atom: safe XML, feed parsing (project fixtures) and the connector against the replay server."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any, Callable

import httpx
import pytest
from sources_support import FIXTURES, TOKEN, FakeClock

from socialhub.errors import AccountUnavailable, ConnectorError, MalformedResponse, RateLimited
from socialhub.models import raw_sha256
from socialhub.replay import ReplayServer
from socialhub.sources import feeds
from socialhub.sources.base import Connector, ConnectorConfig
from socialhub.sources.feeds import FeedError, parse_feed, parse_xml
from socialhub.sources.rss import RssConnector, normalise_entry

GAZETTE = "https://riverside-gazette.hubdemo.example/feed.xml"   # RSS 2.0, 4 per page, 7 items, 1 undated
BLOG = "https://blog.zone2-records.hubdemo.example/atom.xml"       # Atom, 5 entries, a reply

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rss version="2.0"><channel><title>&lol2;</title></channel></rss>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&xxe;</title></channel></rss>"""


# --------------------------------------------------------------------------------------------
# XML safety and parsing
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("use_defusedxml", [True, False])
@pytest.mark.parametrize("document", [BOMB, XXE], ids=["billion-laughs", "external-entity"])
def test_entity_declarations_are_refused(monkeypatch: pytest.MonkeyPatch, use_defusedxml: bool,
                                         document: bytes) -> None:
    if not use_defusedxml:
        monkeypatch.setattr(feeds, "_defused", None)
    with pytest.raises(FeedError, match="entity declaration"):
        parse_xml(document)


def test_external_doctype_is_harmless_and_allowed() -> None:
    doc = (b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
           b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t</title>'
           b'</channel></rss>')
    assert parse_feed(doc).title == "t"


@pytest.mark.parametrize("body, message", [
    (b"<rss><channel><item>", "not well-formed"),
    (b"<html><body>not a feed</body></html>", "neither RSS"),
    (b"<rss version='2.0'></rss>", "without a <channel>"),
])
def test_structure_errors(body: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_feed(body)


class TestRss2:
    feed = parse_feed((FIXTURES / "rss2_feed.xml").read_bytes())

    def test_channel_and_next_link(self) -> None:
        assert self.feed.kind == "rss" and self.feed.title == "Fixture Gazette"
        assert self.feed.next_url == "https://gazette.fixture.example/feed.xml?page=2"

    def test_full_item(self) -> None:
        entry = self.feed.entries[0]
        post = normalise_entry(entry, "https://gazette.fixture.example/feed.xml", "2026-03-02T00:00:00Z")
        assert post.post_id == "gazette-a" and post.url == "https://gazette.fixture.example/a"
        assert post.text == "Headline & more\n\nSummary with HTML\n\nsecond paragraph"
        assert post.created_at == "2026-03-01T11:00:00Z" and post.author == "Reporter One"
        assert post.media == ["https://gazette.fixture.example/photo.jpg", "https://gazette.fixture.example/thumb.jpg"]
        assert post.raw_sha256 == raw_sha256(entry.raw) and "<guid" in entry.raw

    def test_content_encoded_and_unparseable_date_kept_verbatim(self) -> None:
        post = normalise_entry(self.feed.entries[1], "f", "x", "Fixture Gazette")
        assert post.text == "Content encoded wins\n\nThe full text" and post.created_at == "not a date"
        assert post.author == "Fixture Gazette" and post.post_id == "https://gazette.fixture.example/b"

    def test_item_without_ids_still_gets_one(self) -> None:
        post = normalise_entry(self.feed.entries[2], "f", "x")
        assert post.post_id == "No guid, no link, no date|" and post.url == "" and post.created_at == ""


class TestAtom:
    feed = parse_feed((FIXTURES / "atom_feed.xml").read_bytes())

    def test_reply_with_enclosure(self) -> None:
        post = normalise_entry(self.feed.entries[0], "f", "x")
        assert post.post_id == "tag:blog.fixture.example,2026:2" and post.reply_to == "tag:blog.fixture.example,2026:1"
        assert post.text == "Reply post\n\nBody of the reply" and post.media == ["https://blog.fixture.example/clip.mp4"]
        assert post.created_at == "2026-03-02T10:00:00Z" and post.author == "Blogger"

    def test_published_wins_over_updated_and_link_without_rel(self) -> None:
        post = normalise_entry(self.feed.entries[1], "f", "x")
        assert post.created_at == "2026-03-01T07:30:00Z" and post.url == "https://blog.fixture.example/1"
        assert post.text == "First post\n\nPlain summary"


# --------------------------------------------------------------------------------------------
# connector against the replay server (base_url = the replay's /rss gateway)
# --------------------------------------------------------------------------------------------

def test_first_run_follows_feed_pages_to_the_lookback(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    result = connect("rss").fetch(GAZETTE, None)
    titles = [p.text.split("\n")[0] for p in result.posts]
    assert len(result.posts) == 6 and "Spring fair a success" not in titles
    assert result.pages == 2 and result.notes == [f"reached look-back horizon {result.notes[0].split()[-1]}"]
    assert server.paths("rss") == ["/rss/riverside-gazette.hubdemo.example/feed.xml",
                                   "/rss/riverside-gazette.hubdemo.example/feed.xml?page=2"]
    undated = next(p for p in result.posts if p.text.startswith("Letters"))
    assert undated.created_at == ""                                     # kept for the quality stage
    assert result.cursor["etag"] and len(result.cursor["known"]) == 6


def test_incremental_run_uses_conditional_get_and_emits_only_new_items(
        server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    connector = connect("rss")
    first = connector.fetch(GAZETTE, None)
    assert connector.fetch(GAZETTE, first.cursor).notes == ["not modified since the last run (HTTP 304)"]
    clock.t += timedelta(minutes=5)
    server.add_post("rss", GAZETTE, {"title": "Breaking: bridge reopens", "text": "Early."})
    second = connector.fetch(GAZETTE, first.cursor)
    assert [p.text.split("\n")[0] for p in second.posts] == ["Breaking: bridge reopens"]
    assert second.pages == 1 and second.notes == ["reached an already collected item"]
    no_validators = {k: v for k, v in second.cursor.items() if k not in ("etag", "last_modified")}
    third = connector.fetch(GAZETTE, no_validators)                     # parsed again, nothing new
    assert third.posts == [] and third.notes == ["reached an already collected item"]


def test_backdated_item_below_known_ones_is_still_found(server: ReplayServer, connect: Callable[..., Connector],
                                                        clock: FakeClock) -> None:
    connector = connect("rss")
    first = connector.fetch(BLOG, None)
    server.add_post("rss", BLOG, {"title": "Back-dated announcement", "age": "1d"})
    second = connector.fetch(BLOG, first.cursor)
    assert [p.text for p in second.posts] == ["Back-dated announcement"]


def test_atom_feed_with_reply(connect: Callable[..., Connector]) -> None:
    result = connect("rss").fetch(BLOG, None)
    assert len(result.posts) == 4
    reply = next(p for p in result.posts if p.reply_to)
    assert reply.reply_to in {p.post_id for p in result.posts} and reply.text.startswith("Re: New single")


def test_429_retry_after_then_success(server: ReplayServer, connect: Callable[..., Connector],
                                      clock: FakeClock) -> None:
    server.inject_fault("rss", 429, retry_after=3)
    assert len(connect("rss").fetch(GAZETTE, None).posts) == 6 and clock.sleeps == [pytest.approx(4.0)]


def test_429_with_a_long_wait_keeps_the_cursor(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    connector = connect("rss")
    cursor = connector.fetch(GAZETTE, None).cursor
    kept = copy.deepcopy(cursor)
    server.inject_fault("rss", 429, retry_after=3600)
    with pytest.raises(RateLimited):
        connector.fetch(GAZETTE, cursor)
    assert cursor == kept


@pytest.mark.parametrize("fault, message", [
    ({"status": 200, "body": "<rss><channel><item><title>cut"}, "not well-formed"),
    ({"status": 200, "truncate": True}, "not well-formed"),
    ({"status": 200, "body": BOMB.decode()}, "entity declaration"),
])
def test_malformed_feeds_raise(server: ReplayServer, connect: Callable[..., Connector], fault: dict[str, Any],
                               message: str) -> None:
    server.inject_fault("rss", **fault)
    with pytest.raises(MalformedResponse, match=message):
        connect("rss").fetch(GAZETTE, None)


def test_oversized_body_is_refused_before_parsing(connect: Callable[..., Connector]) -> None:
    with pytest.raises(MalformedResponse, match="exceeds the 500-byte limit"):
        connect("rss", extra={"max_body_bytes": 500}).fetch(GAZETTE, None)


def test_unknown_feed_is_unavailable(connect: Callable[..., Connector]) -> None:
    with pytest.raises(AccountUnavailable) as info:
        connect("rss").fetch("https://gone.hubdemo.example/feed.xml", None)
    assert info.value.status == 404 and "rss:https://gone.hubdemo.example/feed.xml" in str(info.value)


@pytest.mark.parametrize("account", ["riverside-gazette.hubdemo.example/feed.xml", "ftp://x.example/feed", "feed"])
def test_account_must_be_a_feed_url(connect: Callable[..., Connector], account: str) -> None:
    with pytest.raises(ConnectorError, match="feed's http"):
        connect("rss").fetch(account, None)


def test_direct_mode_fetches_the_feed_host_and_never_sends_a_token(clock: FakeClock) -> None:
    seen: list[httpx.Request] = []
    body = (FIXTURES / "atom_feed.xml").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"Content-Type": "application/atom+xml"})

    connector = RssConnector(ConnectorConfig(base_url="", token=TOKEN, lookback=timedelta(days=3650)),
                             now=clock.now, sleep=clock.sleep, transport=httpx.MockTransport(handler))
    result = connector.fetch("https://blog.fixture.example/feed.atom?lang=en", None)
    assert len(result.posts) == 2
    assert str(seen[0].url) == "https://blog.fixture.example/feed.atom?lang=en"
    assert "authorization" not in seen[0].headers and TOKEN not in str(seen[0].url)
