"""YouTube: normalisation, RSS-first collection, unit accounting and errors against the replay server."""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import httpx
import pytest
from sources_support import TOKEN, FakeClock, load_fixture

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError, MalformedResponse, RateLimited
from socialhub.models import raw_sha256
from socialhub.replay import ReplayServer
from socialhub.replay.youtube import channel_id
from socialhub.sources.base import Connector, ConnectorConfig
from socialhub.sources.youtube import (
    DEFAULT_RSS_URL,
    YouTubeConnector,
    normalise_video,
    rss_endpoint,
    youtube_error,
)

DRILL = "@eastside_drillz_tv"        # 6 demo uploads, one older than the 7-day look-back


# --------------------------------------------------------------------------------------------
# pure parts
# --------------------------------------------------------------------------------------------

def test_normalise_video() -> None:
    videos = load_fixture("youtube_videos.json")["items"]
    post = normalise_video(videos[0], "@fixture", "2026-03-02T00:00:00Z")
    assert post.post_id == "vid_fixt_01" and post.url == "https://www.youtube.com/watch?v=vid_fixt_01"
    assert post.text == "First video\n\nLine one\nLine two" and post.author == "Fixture Channel"
    assert post.media == ["https://i.ytimg.com/vi/vid_fixt_01/hqdefault.jpg"]        # best size available
    assert post.created_at == "2026-03-01T12:00:00Z" and post.raw_sha256 == raw_sha256(videos[0])
    bare = normalise_video(videos[1], "@fixture", "x")
    assert bare.text == "No description" and bare.media == []


@pytest.mark.parametrize("account, expected", [
    ("UC_x5XG1OV2P6uZZ5FSM9Ttw", {"id": "UC_x5XG1OV2P6uZZ5FSM9Ttw"}),
    ("@GoogleDevelopers", {"forHandle": "@GoogleDevelopers"}),
    ("GoogleDevelopers", {"forHandle": "@GoogleDevelopers"}),
    ("https://www.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw", {"id": "UC_x5XG1OV2P6uZZ5FSM9Ttw"}),
    ("https://www.youtube.com/@GoogleDevelopers", {"forHandle": "@GoogleDevelopers"}),
    ("https://www.youtube.com/user/GoogleDevelopers", {"forUsername": "GoogleDevelopers"}),
    ("user:GoogleDevelopers", {"forUsername": "GoogleDevelopers"}),
    ("not a channel!", {}),
])
def test_account_forms(account: str, expected: dict[str, str]) -> None:
    assert YouTubeConnector.parse_account(account) == expected


def test_rss_endpoint_never_mixes_a_local_api_with_the_live_site() -> None:
    assert rss_endpoint(ConnectorConfig(base_url="https://www.googleapis.com/youtube/v3")) == DEFAULT_RSS_URL
    assert rss_endpoint(ConnectorConfig(base_url="http://127.0.0.1:9/youtube")) == \
        "http://127.0.0.1:9/youtube/feeds/videos.xml"
    assert rss_endpoint(ConnectorConfig(base_url="x", extra={"rss_base_url": "https://rss.example/f.xml"})) == \
        "https://rss.example/f.xml"


@pytest.mark.parametrize("status, reason, expected", [
    (403, "quotaExceeded", RateLimited), (403, "dailyLimitExceeded", RateLimited),
    (403, "rateLimitExceeded", RateLimited), (400, "keyInvalid", AuthError), (403, "forbidden", AuthError),
    (404, "playlistNotFound", AccountUnavailable), (403, "channelClosed", AccountUnavailable),
    (400, "invalidParameter", None),
])
def test_error_mapping(status: int, reason: str, expected: type | None) -> None:
    now = datetime(2026, 7, 1, 20, 0, tzinfo=timezone.utc)           # 13:00 PDT
    mapped = youtube_error(lambda: now)(status, {"error": {"code": status, "errors": [{"reason": reason}]}})
    assert (mapped.cls if mapped else None) is expected
    if reason == "quotaExceeded":
        assert mapped is not None and mapped.retry_at == datetime(2026, 7, 2, 7, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------------------------
# connector against the replay server
# --------------------------------------------------------------------------------------------

def api_calls(server: ReplayServer) -> list[str]:
    return [p for p in server.paths("youtube") if "/feeds/" not in p]


def test_first_run_resolves_once_and_uses_the_feed(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    result = connect("youtube", token=TOKEN).fetch(DRILL, None)
    assert len(result.posts) == 5 and "Channel trailer" not in {p.text.split("\n")[0] for p in result.posts}
    assert result.posts[0].text.startswith("ES - Opps Get Smoked") and result.posts[0].author == "Eastside Drillz TV (demo)"
    assert result.units == 2                                    # channels.list + one videos.list
    calls = [c.split("?")[0] for c in api_calls(server)]
    assert calls == ["/youtube/channels", "/youtube/videos"]
    assert result.cursor["channel_id"] == channel_id(DRILL) and result.cursor["uploads"].startswith("UU")
    assert len(result.cursor["known"]) == 5 and "newest_time" in result.cursor


def test_rss_first_costs_zero_units_when_nothing_is_new(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    connector = connect("youtube", token=TOKEN)
    cursor = connector.fetch(DRILL, None).cursor
    server.clear_log()
    again = connector.fetch(DRILL, cursor)
    assert again.posts == [] and again.units == 0 and api_calls(server) == []
    assert [p.split("?")[0] for p in server.paths("youtube")] == ["/youtube/feeds/videos.xml"]
    assert again.cursor == cursor


def test_new_upload_costs_one_unit(server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    connector = connect("youtube", token=TOKEN)
    cursor = connector.fetch(DRILL, None).cursor
    clock.t += timedelta(minutes=10)
    video = server.add_post("youtube", DRILL, {"title": "Fresh upload", "text": "hello"})
    result = connector.fetch(DRILL, cursor)
    assert [p.post_id for p in result.posts] == [video["id"]] and result.units == 1
    assert connector.fetch(DRILL, result.cursor).posts == []


def test_more_uploads_than_the_feed_holds_walks_the_playlist(server: ReplayServer, connect: Callable[..., Connector],
                                                             clock: FakeClock) -> None:
    connector = connect("youtube", token=TOKEN, page_size=10)
    cursor = connector.fetch(DRILL, None).cursor
    clock.t += timedelta(hours=1)
    added = [server.add_post("youtube", DRILL, {"title": f"burst {i}", "age": f"{40 - i}m"}) for i in range(18)]
    server.clear_log()
    result = connector.fetch(DRILL, cursor)
    assert sorted(p.post_id for p in result.posts) == sorted(v["id"] for v in added)
    calls = [c.split("?")[0] for c in api_calls(server)]
    assert calls == ["/youtube/playlistItems", "/youtube/playlistItems", "/youtube/videos"]
    assert result.units == 3 and "reached an already collected video" in result.notes


def test_unit_cap_keeps_the_marker_and_the_next_run_finishes(server: ReplayServer,
                                                             connect: Callable[..., Connector],
                                                             clock: FakeClock) -> None:
    cursor = connect("youtube", token=TOKEN).fetch(DRILL, None).cursor
    clock.t += timedelta(hours=1)
    added = [server.add_post("youtube", DRILL, {"title": f"burst {i}", "age": f"{40 - i}m"}) for i in range(18)]
    capped = connect("youtube", token=TOKEN, page_size=10, extra={"max_units": 1})
    first = capped.fetch(DRILL, cursor)
    assert first.units == 1 and first.posts == [] and any("unit cap" in n for n in first.notes)
    assert first.cursor["newest_time"] == cursor["newest_time"]
    second = connect("youtube", token=TOKEN, page_size=10).fetch(DRILL, first.cursor)
    assert sorted(p.post_id for p in second.posts) == sorted(v["id"] for v in added)


def test_private_videos_are_skipped_on_both_paths(clock: FakeClock) -> None:
    spec = {"youtube": {"channels": [{"handle": "@mixed_channel", "posts": [
        {"title": "public one", "age": "1h"},
        {"title": "secret", "age": "2h", "override": {"status": {"privacyStatus": "private"}}},
        {"title": "public two", "age": "3h"}]}]}}
    with ReplayServer(spec, now=clock.now) as server:
        connector = YouTubeConnector(ConnectorConfig(base_url=server.base_url("youtube")), now=clock.now,
                                     sleep=clock.sleep)
        via_feed = connector.fetch("@mixed_channel", None)
        server.inject_fault("youtube", 404, count=1, match="/feeds/")       # feed gone: walk the playlist
        via_playlist = connector.fetch("@mixed_channel", None)
        playlist_calls = [p for p in server.paths("youtube") if "/playlistItems" in p]
    assert [p.text for p in via_feed.posts] == ["public one", "public two"]
    assert [p.text for p in via_playlist.posts] == ["public one", "public two"] and len(playlist_calls) == 1
    assert "unavailable" not in via_playlist.cursor          # the placeholder was never asked for details


def test_feed_failure_falls_back_to_the_playlist(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    server.inject_fault("youtube", 500, count=3, match="/feeds/")
    result = connect("youtube", token=TOKEN).fetch(DRILL, None)
    assert len(result.posts) == 5 and any("RSS feed failed" in n for n in result.notes)
    assert "/youtube/playlistItems" in [c.split("?")[0] for c in api_calls(server)]


def test_rss_only_mode_needs_no_key_and_spends_nothing(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    cid = channel_id(DRILL)
    result = connect("youtube", extra={"youtube_api": False}).fetch(cid, None)
    assert len(result.posts) == 5 and result.units == 0 and api_calls(server) == []
    assert all(p.url.startswith("https://www.youtube.com/watch?v=") for p in result.posts)
    with pytest.raises(ConnectorError, match="needs the channel id"):
        connect("youtube", extra={"youtube_api": False}).fetch(DRILL, None)


def test_quota_exceeded_is_not_retried_and_waits_for_pacific_midnight(
        server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    connector = connect("youtube", token=TOKEN)
    cursor = connector.fetch(DRILL, None).cursor
    kept = copy.deepcopy(cursor)
    server.add_post("youtube", DRILL, {"title": "new"})
    server.set_rate_limit("youtube", remaining=0, reset_in=3600)
    server.clear_log()
    with pytest.raises(RateLimited, match="quotaExceeded") as info:
        connector.fetch(DRILL, cursor)
    assert info.value.status == 403 and clock.sleeps == [] and cursor == kept
    assert len(api_calls(server)) == 1                          # one attempt, no retry
    from socialhub.sources.quota import next_reset
    assert info.value.retry_at == next_reset(clock.now()) and "midnight Pacific" in str(info.value)


def test_transient_429_is_waited_out(server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    server.inject_fault("youtube", 429, retry_after=2, match="/channels")
    assert len(connect("youtube", token=TOKEN).fetch(DRILL, None).posts) == 5 and clock.sleeps == [pytest.approx(3.0)]


@pytest.mark.parametrize("fault, error, text", [
    ({"status": 200, "body": '{"items": [', "match": "/videos?"}, MalformedResponse, "invalid JSON"),
    ({"status": 200, "body": {"kind": "x"}, "match": "/videos?"}, MalformedResponse, "no items list"),
    ({"status": 200, "body": {"items": [{"id": "UCx"}]}, "match": "/channels"}, MalformedResponse, "uploads"),
    ({"status": 200, "body": "<feed><entry>", "match": "/feeds/", "headers": {"Content-Type": "application/xml"}},
     None, "RSS feed unreadable"),
])
def test_malformed_responses(server: ReplayServer, connect: Callable[..., Connector], fault: dict[str, Any],
                             error: type | None, text: str) -> None:
    server.inject_fault("youtube", **fault)
    connector = connect("youtube", token=TOKEN)
    if error is None:                                           # a broken feed only costs the API fallback
        assert any(text in n for n in connector.fetch(DRILL, None).notes)
        return
    with pytest.raises(error, match=text):
        connector.fetch(DRILL, None)


def test_unknown_channel_is_unavailable(connect: Callable[..., Connector]) -> None:
    with pytest.raises(AccountUnavailable, match="deleted, terminated, or the handle was changed") as info:
        connect("youtube", token=TOKEN).fetch("@nobody_here", None)
    assert "youtube:@nobody_here" in str(info.value)


def test_the_key_travels_as_a_query_parameter_and_never_leaks(server: ReplayServer, connect: Callable[..., Connector],
                                                              caplog: pytest.LogCaptureFixture) -> None:
    server.require_token("youtube", TOKEN)
    caplog.set_level(logging.DEBUG)
    connector = connect("youtube", token=TOKEN)
    connector.fetch(DRILL, None)
    api = api_calls(server)
    assert api and all(f"key={TOKEN}" in p for p in api)
    assert all("key=" not in p for p in server.paths("youtube") if "/feeds/" in p)     # never sent to the feed host
    assert TOKEN not in caplog.text                                # httpx/httpcore loggers stay quiet
    wrong = connect("youtube", token="wrong-" + TOKEN)
    with pytest.raises(AuthError) as info:
        wrong.fetch(DRILL, None)
    assert "API key not valid" in str(info.value)
    for text in (str(info.value), repr(info.value), repr(wrong.config), info.value.hint):
        assert TOKEN not in text


def test_key_is_redacted_even_if_an_error_echoes_it(clock: FakeClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"code": 400, "message": f"bad request {request.url}",
                                                   "errors": [{"reason": "badRequest"}]}})

    connector = YouTubeConnector(ConnectorConfig(base_url="https://www.googleapis.com/youtube/v3", token=TOKEN),
                                 now=clock.now, sleep=clock.sleep, transport=httpx.MockTransport(handler))
    with pytest.raises(ConnectorError) as info:
        connector.fetch("@someone_here", None)
    assert TOKEN not in str(info.value) and "key=<redacted>" in str(info.value)


def test_public_api_without_a_key_fails_fast() -> None:
    with pytest.raises(AuthError, match="needs an API key"):
        YouTubeConnector(ConnectorConfig(base_url="https://www.googleapis.com/youtube/v3")).fetch(DRILL, None)
