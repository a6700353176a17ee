"""Bluesky: normalisation (fixtures), XRPC error mapping, and the connector against the replay server."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import httpx
import pytest
from sources_support import TOKEN, FakeClock, load_fixture

from socialhub.errors import AccountUnavailable, AuthError, MalformedResponse, RateLimited
from socialhub.models import raw_sha256
from socialhub.replay import ReplayServer
from socialhub.sources.base import Connector, ConnectorConfig
from socialhub.sources.bluesky import BlueskyConnector, is_pin, normalise_feed_item, xrpc_error_class

EAST = "eastgate-voices.hubdemo.example"    # 7 demo items (one repost, one older than the look-back)
RICO = "zone2-rico.hubdemo.example"
FEED = load_fixture("bluesky_feed.json")["feed"]
ALICE_DID = "did:plc:fixtureaaaaaaaaaaaaaaaaaa"


# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------

def norm(index: int) -> Any:
    return normalise_feed_item(FEED[index], "alice.fixture.example", "2025-06-02T00:00:00Z")


def test_reply_post() -> None:
    post = norm(1)
    assert post.platform == "bluesky" and post.account == "alice.fixture.example"
    assert post.post_id == f"at://{ALICE_DID}/app.bsky.feed.post/3m00reply"
    assert post.url == "https://bsky.app/profile/alice.fixture.example/post/3m00reply"
    assert post.reply_to == "at://did:plc:parentzzzzzzzzzzzzzzzzzz/app.bsky.feed.post/3mparent"
    assert (post.text, post.created_at, post.author) == ("replying to you", "2025-06-01T12:00:00Z",
                                                         "alice.fixture.example")
    assert post.repost_of is None and post.media == [] and post.raw_sha256 == raw_sha256(FEED[1])


def test_images_prefer_fullsize() -> None:
    assert norm(2).media == ["https://cdn.fixture.example/full/1@jpeg", "https://cdn.fixture.example/thumb/2@jpeg"]


def test_repost_gets_its_own_id_and_keeps_the_original_content() -> None:
    post = norm(3)
    original = "at://did:plc:otherbbbbbbbbbbbbbbbbbbb/app.bsky.feed.post/3m00reposted"
    assert post.post_id == f"{original}#repost-by-{ALICE_DID}" and post.repost_of == original
    assert post.author == "bob.fixture.example" and post.text == "bob's original"
    assert post.created_at == "2025-06-01T10:30:00Z"           # when it was reposted
    assert post.url == "https://bsky.app/profile/bob.fixture.example/post/3m00reposted"
    assert post.media == ["https://video.fixture.example/v/playlist.m3u8"]


def test_external_card_thumb_and_record_with_media() -> None:
    assert norm(4).media == ["https://cdn.fixture.example/card@jpeg"]
    quote_media = norm(5)
    assert quote_media.media == ["https://cdn.fixture.example/f3@jpeg"]
    assert quote_media.url == f"https://bsky.app/profile/{ALICE_DID}/post/3m00quotemedia"   # handle.invalid
    assert norm(6).media == []                                                 # a plain quote brings no media


def test_item_without_record_becomes_a_post_with_empty_fields() -> None:
    post = norm(7)
    assert post.post_id.endswith("/3m00norecord")
    assert (post.text, post.created_at, post.author, post.url) == ("", "", "", "")


@pytest.mark.parametrize("status, body, expected", [
    (400, {"error": "InvalidRequest", "message": "Profile not found"}, AccountUnavailable),
    (400, {"error": "AccountTakedown", "message": "Account has been suspended"}, AccountUnavailable),
    (400, {"error": "BlockedByActor", "message": "x"}, AccountUnavailable),
    (400, {"error": "ExpiredToken", "message": "Token has expired"}, AuthError),
    (400, {"error": "InvalidRequest", "message": "Error: limit can not be greater than 100"}, None),
    (500, "not json", None),
])
def test_xrpc_error_mapping(status: int, body: Any, expected: type | None) -> None:
    assert xrpc_error_class(status, body) is expected


# --------------------------------------------------------------------------------------------
# connector on the fixture (pinned posts)
# --------------------------------------------------------------------------------------------

def fixture_connector(clock: FakeClock, requests: list[httpx.Request]) -> BlueskyConnector:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if "cursor" in request.url.params:
            return httpx.Response(200, json={"feed": []})
        return httpx.Response(200, json={"feed": FEED, "cursor": "1748764800000::bafyreinorecord"})

    return BlueskyConnector(ConnectorConfig(base_url="https://appview.fixture.example"), now=clock.now,
                            sleep=clock.sleep, transport=httpx.MockTransport(handler))


def test_pinned_post_never_stops_paging_and_reruns_emit_nothing() -> None:
    clock = FakeClock(datetime(2025, 6, 2, tzinfo=timezone.utc))
    requests: list[httpx.Request] = []
    connector = fixture_connector(clock, requests)
    first = connector.fetch("alice.fixture.example", None)
    assert is_pin(FEED[0]) and FEED[0]["post"]["uri"] not in [p.post_id for p in first.posts]   # old pin skipped
    assert len(first.posts) == 7 and first.pages == 2 and first.notes == ["end of feed"]
    assert requests[1].url.params["cursor"] == "1748764800000::bafyreinorecord"               # passed back unchanged
    assert first.cursor["newest_uri"] == f"at://{ALICE_DID}/app.bsky.feed.post/3m00reply"
    assert first.cursor["newest_time"] == "2025-06-01T12:00:00.500000Z"
    assert len(first.cursor["known_uris"]) == 7

    again = connector.fetch("alice.fixture.example", first.cursor)
    assert again.posts == [] and again.notes == ["reached an already collected post"]
    assert again.cursor == first.cursor


# --------------------------------------------------------------------------------------------
# connector against the replay server
# --------------------------------------------------------------------------------------------

def feed_requests(server: ReplayServer) -> list[str]:
    return [p for p in server.paths("bluesky") if "getAuthorFeed" in p]


def test_first_run_lookback_and_cursor_pagination(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    result = connect("bluesky", page_size=2).fetch(EAST, None)
    assert len(result.posts) == 6 and result.pages == 4
    assert result.notes[0].startswith("reached look-back horizon")
    assert result.posts[0].text.startswith("Tonight's peace walk")
    requests = feed_requests(server)
    assert "cursor=" not in requests[0] and all("cursor=" in r for r in requests[1:])
    repost = next(p for p in result.posts if p.repost_of)
    raw = result.raw_items[result.posts.index(repost)]
    assert repost.post_id == f"{repost.repost_of}#repost-by-{raw['reason']['by']['did']}"
    assert raw["reason"]["by"]["handle"] == EAST
    assert repost.author == "eastgate-news.hubdemo.example"
    assert len({p.post_id for p in result.posts}) == 6
    assert result.cursor["newest_uri"] == result.posts[0].post_id


def test_incremental_run_returns_only_new_posts(server: ReplayServer, connect: Callable[..., Connector],
                                                clock: FakeClock) -> None:
    connector = connect("bluesky", page_size=2)
    first = connector.fetch(RICO, None)
    clock.t += timedelta(minutes=10)
    added = [server.add_post("bluesky", RICO, {"text": f"new {i}", "age": f"{5 - i}m"}) for i in range(3)]
    second = connector.fetch(RICO, first.cursor)
    assert [p.text for p in second.posts] == ["new 2", "new 1", "new 0"]
    assert [p.post_id for p in second.posts] == [a["post"]["uri"] for a in reversed(added)]
    assert second.notes == ["reached an already collected post"]
    assert second.cursor["newest_uri"] == added[-1]["post"]["uri"]
    assert second.cursor["known_uris"][:3] == [p.post_id for p in second.posts]
    assert set(first.cursor["known_uris"]) <= set(second.cursor["known_uris"])

    third = connector.fetch(RICO, second.cursor)
    assert third.posts == [] and third.pages == 1


def test_stops_on_time_when_the_known_post_was_deleted(connect: Callable[..., Connector]) -> None:
    connector = connect("bluesky")
    everything = connector.fetch(RICO, None).raw_items
    second_newest = datetime.fromisoformat(everything[1]["post"]["indexedAt"].replace("Z", "+00:00"))
    cursor = {"newest_uri": "at://did:plc:gone/app.bsky.feed.post/deleted", "known_uris": [],
              "newest_time": (second_newest + timedelta(milliseconds=1)).isoformat()}
    result = connector.fetch(RICO, cursor)
    assert [p.post_id for p in result.posts] == [everything[0]["post"]["uri"]]
    assert result.notes[0].startswith("reached posts older than the cursor")


def test_page_size_is_clamped_to_the_api_maximum(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    connect("bluesky", page_size=500).fetch(EAST, None)
    assert "limit=100" in feed_requests(server)[0]


def test_actor_may_be_a_did(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    did = server.add_post("bluesky", RICO, {"text": "x"})["post"]["author"]["did"]
    assert len(connect("bluesky").fetch(did, None).posts) == 7


def test_slows_down_before_the_rate_limit(server: ReplayServer, connect: Callable[..., Connector],
                                          clock: FakeClock) -> None:
    server.set_rate_limit("bluesky", remaining=2, reset_in=20)
    result = connect("bluesky", page_size=2).fetch(EAST, None)
    assert len(result.posts) == 6
    assert len(clock.sleeps) == 1 and 20.0 <= clock.sleeps[0] <= 21.0   # epoch reset has 1 s resolution


def test_429_then_success(server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    server.inject_fault("bluesky", 429, reset_in=5)
    assert len(connect("bluesky").fetch(EAST, None).posts) == 6
    assert len(clock.sleeps) == 1 and 5.0 <= clock.sleeps[0] <= 6.0


def test_429_with_retry_after(server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    server.inject_fault("bluesky", 429, retry_after=3)
    assert len(connect("bluesky").fetch(EAST, None).posts) == 6
    assert clock.sleeps == [4.0]


def test_rate_limited_when_reset_is_too_far(server: ReplayServer, connect: Callable[..., Connector],
                                            clock: FakeClock) -> None:
    connector = connect("bluesky")
    cursor = connector.fetch(EAST, None).cursor
    kept = copy.deepcopy(cursor)
    server.inject_fault("bluesky", 429, reset_in=3600)
    with pytest.raises(RateLimited) as info:
        connector.fetch(EAST, cursor)
    assert abs((info.value.retry_at - clock.now()).total_seconds() - 3600) <= 1
    assert cursor == kept and clock.sleeps == []


@pytest.mark.parametrize("fault, message", [
    ({"truncate": True}, "invalid JSON"),
    ({"body": "<html>gateway</html>", "headers": {"Content-Type": "text/html"}}, "expected JSON but got text/html"),
    ({"body": {"posts": []}}, "expected an object with a 'feed' list"),
])
def test_malformed_body_raises(server: ReplayServer, connect: Callable[..., Connector], fault: dict[str, Any],
                               message: str) -> None:
    server.inject_fault("bluesky", 200, **fault)
    with pytest.raises(MalformedResponse, match=message) as info:
        connect("bluesky").fetch(EAST, None)
    assert "/xrpc/app.bsky.feed.getAuthorFeed" in str(info.value)


def test_unknown_actor_is_unavailable(connect: Callable[..., Connector]) -> None:
    with pytest.raises(AccountUnavailable, match="Profile not found") as info:
        connect("bluesky").fetch("nobody.hubdemo.example", None)
    assert info.value.status == 400


def test_token_is_sent_and_never_leaks(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    server.require_token("bluesky", TOKEN)
    assert len(connect("bluesky", token=TOKEN).fetch(EAST, None).posts) == 6
    wrong = TOKEN[::-1]
    with pytest.raises(AuthError) as info:
        connect("bluesky", token=wrong).fetch(EAST, None)
    assert wrong not in str(info.value) and wrong not in repr(info.value)


def test_a_known_pinned_post_on_top_does_not_hide_new_posts(clock: FakeClock) -> None:
    def item(rkey: str, at: str, pinned: bool = False) -> dict[str, Any]:
        entry: dict[str, Any] = {"post": {"uri": f"at://{ALICE_DID}/app.bsky.feed.post/{rkey}", "indexedAt": at,
                                          "author": {"did": ALICE_DID, "handle": "alice.fixture.example"},
                                          "record": {"text": rkey, "createdAt": at}}}
        if pinned:
            entry["reason"] = {"$type": "app.bsky.feed.defs#reasonPin"}
        return entry

    pin, new, old = item("pin", "2025-01-01T00:00:00Z", True), item("new", "2025-06-02T00:00:00Z"), \
        item("old", "2025-06-01T00:00:00Z")
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"feed": [pin, new, old]}))
    connector = BlueskyConnector(ConnectorConfig(base_url="https://appview.fixture.example"), now=clock.now,
                                 sleep=clock.sleep, transport=transport)
    cursor = {"newest_uri": old["post"]["uri"], "newest_time": "2025-06-01T00:00:00Z",
              "known_uris": [old["post"]["uri"], pin["post"]["uri"]]}
    result = connector.fetch("alice.fixture.example", cursor)
    assert [p.text for p in result.posts] == ["new"]
    assert result.cursor["newest_uri"] == new["post"]["uri"]
