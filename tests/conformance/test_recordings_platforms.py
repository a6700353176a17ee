"""Conformance for X, Reddit, Telegram and YouTube (Data API + RSS) on REAL recorded traffic.

Skipped unless ``SOCIALHUB_CONFORMANCE_FIXTURES`` points at the shared recordings (see
PROVENANCE.md there). Every file in that directory is accounted for in ``INVENTORY`` (a new
file fails ``test_every_shared_file_is_exercised`` until a test reads it), every cassette is
parsed and checked against its extracted interactions, and every response the connectors can
meet is replayed through a local HTTP server with its recorded status, headers and pagination.
The recordings were made by other clients asking for other fields, so the servers here match
only the parameters that select the page (``significant``).
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from conformance_replay import Clock, Recording, RecordingServer, body_recording, load_cassette, load_recordings

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError, MalformedResponse, RateLimited
from socialhub.models import raw_sha256
from socialhub.sources.base import ConnectorConfig
from socialhub.sources.common import Page, walk
from socialhub.sources.feeds import parse_feed
from socialhub.sources.http import HttpClient, parse_rate_limit
from socialhub.sources.reddit import RedditConnector, normalise_thing, reddit_error
from socialhub.sources.telegram import TelegramConnector, parse_preview
from socialhub.sources.x import Includes, XConnector, normalise_tweet, problem_error
from socialhub.sources.youtube import YouTubeConnector, normalise_video, youtube_error

ROOT = os.environ.get("SOCIALHUB_CONFORMANCE_FIXTURES")
pytestmark = pytest.mark.skipif(not ROOT, reason="set SOCIALHUB_CONFORMANCE_FIXTURES to the shared recordings")


def root() -> Path:
    path = Path(ROOT or "")
    if not (path / "PROVENANCE.md").is_file():
        pytest.fail(f"{path} is not the shared fixtures root (no PROVENANCE.md)")
    return path


def extracted(platform: str) -> list[Recording]:
    return load_recordings(root() / platform / "extracted")


def by_name(recordings: list[Recording], name: str) -> Recording:
    return next(r for r in recordings if r.name == name)


#: every shared file -> how it is exercised here or in test_recordings.py
INVENTORY: dict[str, str] = {
    "PROVENANCE.md": "documentation", "RULES.md": "documentation",
    **{f"{p}/cassettes/{n}": "cassette, parsed and compared with its extracts" for p, names in {
        "bluesky": ["bskyr_f_autfeed.yml", "bskyr_f_timeline.yml", "bskyr_r_post_errors.yml",
                    "bskyr_repo_auth_cache.yml"],
        "mastodon": ["test_account_lookup.yaml", "test_fetch_next_previous.yaml", "test_fetch_remaining.yaml",
                     "test_home_tl_anonymous_throws.yaml", "test_status_missing.yaml", "test_timeline_link_fails.yaml"],
        "reddit": ["TestListingGenerator.test_exhaust_items_with_before.json",
                   "TestRedditor.test_trophies__user_not_exist.json", "TestRedditorListings.test_overview__new.json",
                   "TestRedditorListings.test_submissions__new.json",
                   "TestRedditorListings.test_upvoted__other_user.json"],
        "x": ["test_asyncclient_get_users_tweets.yaml", "test_client_get_home_timeline.yaml",
              "test_client_get_users_tweets.yaml", "test_client_search_all_tweets.yaml",
              "test_client_search_recent_tweets.yaml"]}.items() for n in names},
    **{f"x/httptest_r/{n}": "httptest mock, parsed and compared with its extract" for n in [
        "tweets_search_all-90b063_401.R", "tweets_search_all-92adbd_400.R", "users-208538_400.R",
        "users_1085578910853746688_tweets-d24b15.R", "users_460255655_tweets-87f62e.R",
        "users_460255655_tweets-d24b15.R"]},
    "reddit/observed/simonw_til_reddit_429_body.json": "429 body -> RateLimited",
    "telegram/html/any2feed_full_topwar_official_before_71009.html": "preview page through the connector",
    "x/raw/pytwitter_timeline_tweets.json": "timeline body through the connector",
    "youtube/raw/pyyoutube_channels_info.json": "channels.list without contentDetails",
    "youtube/raw/pyyoutube_error_permission_resp.json": "403 PERMISSION_DENIED -> AuthError",
    "youtube/raw/pyyoutube_playlist_items_playlist_items_paged_1.json": "playlistItems page 1",
    "youtube/raw/pyyoutube_playlist_items_playlist_items_paged_2.json": "playlistItems page 2",
    "youtube/raw/pyyoutube_search_search_by_keywords_p1.json": "search.list body (never called: 100 units)",
    "youtube/raw/pyyoutube_search_search_by_keywords_p2.json": "search.list body (never called: 100 units)",
    "youtube/raw/pyyoutube_search_search_videos_by_channel.json": "search.list body (never called: 100 units)",
    "youtube/raw/pyyoutube_videos_videos_info_multi.json": "videos.list",
    "youtube/rss/akirk_friends_youtube_channel_feed.xml": "channel feed, RSS-first path",
}


# --------------------------------------------------------------------------------------------
# every file, every cassette
# --------------------------------------------------------------------------------------------

def test_every_shared_file_is_exercised() -> None:
    base = root()
    files = {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()}
    files = {f for f in files if "/extracted/" not in f}            # extracts are read by the servers below
    assert files == set(INVENTORY), f"unaccounted: {sorted(files - set(INVENTORY))}, " \
                                    f"missing: {sorted(set(INVENTORY) - files)}"


def _r_mock(path: Path) -> tuple[str, int, bytes]:
    """(url, status, body) of an R httptest ``structure(list(url = ..., status_code = ...L, content = charToRaw(...)))``."""
    text = path.read_text(encoding="utf-8")
    url = re.search(r'url = "([^"]+)"', text)
    status = re.search(r"status_code = (\d+)L", text)
    content = re.search(r'content = charToRaw\("((?:[^"\\]|\\.)*)"\)', text, re.S)
    assert url and status and content, path.name
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    body = re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), "\\" + m.group(1)), content.group(1))
    return url.group(1), int(status.group(1)), body.encode("utf-8")


def _json_or_bytes(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


@pytest.mark.parametrize("platform", ["mastodon", "bluesky", "x", "reddit"])
def test_every_extract_matches_its_source_recording(platform: str) -> None:
    """Parses every cassette and R mock, and checks each extract against the interaction it came from."""
    base = root() / platform
    checked = 0
    for meta_path in sorted((base / "extracted").glob("*.meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        body = (meta_path.with_name(meta_path.name.replace(".meta.json", ".body.json"))).read_bytes()
        if "source_file" in meta:
            url, status, source_body = _r_mock(base / meta["source_file"])
            assert url == meta["url"] and status == meta["status_code"]
        else:
            cassette = base / "cassettes" / Path(meta["source_cassette"]).name
            rec = load_cassette(cassette)[meta["interaction_index"]]
            status, source_body = rec.status, rec.body
            uri = urlsplit(meta["uri"])
            assert (rec.method, rec.path, rec.query) == (meta["method"], uri.path, dict(parse_qsl(uri.query)))
            recorded = meta["status"]
            assert status == (recorded["code"] if isinstance(recorded, dict) else recorded)
        assert _json_or_bytes(source_body) == _json_or_bytes(body), meta_path.name
        checked += 1
    cassettes = sorted((base / "cassettes").glob("*"))
    for cassette in cassettes:                                # whole cassettes, extracted or not
        for rec in load_cassette(cassette):
            assert 100 <= rec.status < 600 and rec.path.startswith("/")
            if any(k.lower() == "content-type" and "json" in v for k, v in rec.headers) and rec.body:
                json.loads(rec.body)
    assert checked > 0 and cassettes


# --------------------------------------------------------------------------------------------
# X
# --------------------------------------------------------------------------------------------

ACADEMIC_NOW = datetime(2021, 6, 22, 13, 20, tzinfo=timezone.utc)


def x_connector(server: RecordingServer, now: datetime, **config: Any) -> tuple[XConnector, Clock]:
    clock = Clock(now)
    cfg = ConnectorConfig(base_url=server.base_url, token="REDACTED", page_size=100, **config)
    return XConnector(cfg, now=clock.now, sleep=clock.sleep), clock


@pytest.fixture
def x_server() -> Iterator[RecordingServer]:
    with RecordingServer(extracted("x"), significant={"pagination_token"}) as server:
        yield server


def test_x_timeline_follows_the_recorded_next_token(x_server: RecordingServer) -> None:
    connector, clock = x_connector(x_server, ACADEMIC_NOW, lookback=timedelta(days=30), max_pages=2)
    result = connector.fetch("id:460255655", None)
    page1 = by_name(x_server.recordings, "academictwitteR_user_tweets_page1").json()
    page2 = by_name(x_server.recordings, "academictwitteR_user_tweets_page2").json()
    raw = page1["data"] + page2["data"]
    assert [p.post_id for p in result.posts] == [t["id"] for t in raw] and len(result.posts) == 196
    assert x_server.requests[1].endswith(f"pagination_token={page1['meta']['next_token']}")
    assert result.cursor["since_id"] == page1["meta"]["newest_id"]
    assert result.cursor["gaps"] == [{"start_time": result.cursor["gaps"][0]["start_time"],
                                      "until_id": page2["meta"]["oldest_id"]}]      # page 3 was not recorded
    retweets = [p for p in result.posts if p.repost_of]
    assert retweets and all(not p.text.startswith("RT @") for p in retweets if p.author)   # full original text
    assert all(p.url.startswith("https://x.com/") and p.created_at.endswith("Z") for p in result.posts)
    assert [p.raw_sha256 for p in result.posts] == [raw_sha256(r) for r in result.raw_items]
    assert clock.sleeps == []                                 # 1489 of 1500 left


def test_x_short_last_page_completes(x_server: RecordingServer) -> None:
    connector, _ = x_connector(x_server, ACADEMIC_NOW, lookback=timedelta(days=30))
    result = connector.fetch("id:1085578910853746688", None)
    assert len(result.posts) == 13 and "gaps" not in result.cursor
    assert result.notes[0].startswith("collected every post since the look-back")


@pytest.mark.parametrize("name", ["client_get_users_tweets.00", "asyncclient_get_users_tweets.00"])
def test_x_tweepy_recordings_record_a_gap_when_page_two_is_missing(name: str) -> None:
    with RecordingServer([by_name(extracted("x"), name)], significant={"pagination_token"}) as server:
        connector, _ = x_connector(server, datetime(2022, 10, 7, 22, 43, tzinfo=timezone.utc), max_pages=1,
                                   lookback=timedelta(days=3650))
        result = connector.fetch("id:783214", None)
    body = by_name(extracted("x"), name).json()
    assert [p.post_id for p in result.posts] == [t["id"] for t in body["data"]]
    assert result.cursor["gaps"][0]["until_id"] == body["meta"]["oldest_id"] and "gap recorded" in result.notes[0]
    assert result.posts[0].text.startswith("whoa, it works")


def test_x_body_only_timeline_and_other_v2_bodies_normalise() -> None:
    """Bodies of the same v2 shape (saved timeline, home timeline, searches) normalise cleanly."""
    raw_body = json.loads((root() / "x/raw/pytwitter_timeline_tweets.json").read_text(encoding="utf-8"))
    recordings = [body_recording("pytwitter", root() / "x/raw/pytwitter_timeline_tweets.json", "/2/users/2244994945/tweets")]
    with RecordingServer(recordings, significant={"pagination_token"}) as server:
        connector, _ = x_connector(server, datetime(2021, 2, 24, tzinfo=timezone.utc), max_pages=1,
                                   lookback=timedelta(days=3650))
        result = connector.fetch("id:2244994945", None)
    assert [p.post_id for p in result.posts] == [t["id"] for t in raw_body["data"]]
    for name in ("client_get_home_timeline.00", "client_search_all_tweets.00", "client_search_recent_tweets.00"):
        body = by_name(extracted("x"), name).json()
        includes = Includes()
        includes.add(body.get("includes"))
        posts = [normalise_tweet(includes.evidence(t), "acct", "2022-10-08T00:00:00Z") for t in body["data"]]
        assert len(posts) == len(body["data"]) > 0 and all(p.post_id and p.text for p in posts)


@pytest.mark.parametrize("name, error, status, text", [
    ("academictwitteR_search_all_401", AuthError, 401, "Unauthorized"),
    ("academictwitteR_search_all_400", ConnectorError, 400, "Invalid Request"),
    ("academictwitteR_users_lookup_400", ConnectorError, 400, "Invalid Request"),
])
def test_x_error_recordings_map_to_exceptions(x_server: RecordingServer, name: str, error: type, status: int,
                                              text: str) -> None:
    rec = by_name(x_server.recordings, name)
    clock = Clock(datetime(2021, 7, 4, 13, 0, tzinfo=timezone.utc))
    with RecordingServer([rec], significant=set()) as server, \
            HttpClient(ConnectorConfig(base_url=server.base_url, token="REDACTED"), platform="x", account="a",
                       now=clock.now, sleep=clock.sleep) as http:
        with pytest.raises(error, match=text) as info:
            http.get_json(rec.path)
    assert type(info.value) is error and info.value.status == status and "REDACTED" not in str(info.value)


def test_x_partial_errors_about_includes_do_not_fail_the_account() -> None:
    body = by_name(extracted("x"), "academictwitteR_user_tweets_page1").json()
    assert body["errors"] and all(e["section"] == "includes" for e in body["errors"])
    assert problem_error(body["errors"]) is None


# --------------------------------------------------------------------------------------------
# Reddit
# --------------------------------------------------------------------------------------------

def reddit_connector(server: RecordingServer, now: datetime, listings: list[str], **config: Any) -> RedditConnector:
    clock = Clock(now)
    cfg = ConnectorConfig(base_url=server.base_url, token="REDACTED", page_size=100,
                          extra={"reddit_listings": listings}, **config)
    return RedditConnector(cfg, now=clock.now, sleep=clock.sleep)


@pytest.mark.parametrize("name, listing, now, kinds", [
    ("user_submitted_new.01", "submitted", datetime(2016, 3, 12, tzinfo=timezone.utc), {"t3"}),
    ("user_overview_new.01", "overview", datetime(2026, 6, 8, tzinfo=timezone.utc), {"t1", "t3"}),
])
def test_reddit_listing_first_page_then_gap(name: str, listing: str, now: datetime, kinds: set[str]) -> None:
    rec = by_name(extracted("reddit"), name)
    with RecordingServer([rec], significant={"after"}) as server:
        result = reddit_connector(server, now, [listing], max_pages=1, lookback=timedelta(days=20 * 365)).fetch(
            "spez", None)
        requested = server.requests
    children = rec.json()["data"]["children"]
    assert [p.post_id for p in result.posts] == [c["data"]["name"] for c in children] and len(children) == 100
    assert {p.post_id[:2] for p in result.posts} == kinds
    assert requested[0].startswith(f"/user/spez/{listing}?") and "raw_json=1" in requested[0]
    assert result.cursor[listing]["gaps"][0]["after"] == rec.json()["data"]["after"]
    assert all(p.url.startswith("https://www.reddit.com/r/") and p.author == "spez" for p in result.posts)
    comments = [p for p in result.posts if p.post_id.startswith("t1_")]
    assert all(p.reply_to and p.reply_to[:3] in ("t1_", "t3_") for p in comments)
    if listing == "overview":                                    # images pasted into comments are media
        assert any(p.media and p.media[0].startswith("https://preview.redd.it/") for p in comments)
        rl = parse_rate_limit(dict(rec.headers), now)
        assert rl is not None and rl.scheme == "reddit" and rl.remaining == 997.0


def test_reddit_walks_all_sixteen_recorded_pages_to_the_end() -> None:
    """The whole praw cassette: 16 pages of ``/user/spez/`` joined by ``after``, the last with
    ``after: null``. Walked with the connector's pager and normaliser."""
    cassette = root() / "reddit/cassettes/TestListingGenerator.test_exhaust_items_with_before.json"
    recordings = [r for r in load_cassette(cassette) if r.method == "GET"]
    clock = Clock(datetime(2018, 1, 24, tzinfo=timezone.utc))
    with RecordingServer(recordings, significant={"after"}) as server, \
            HttpClient(ConnectorConfig(base_url=server.base_url, token="REDACTED"), platform="reddit", account="spez",
                       now=clock.now, sleep=clock.sleep, error_hook=reddit_error(True)) as http:

        def fetch(after: str | None) -> Page[str]:
            body = http.get_json("/user/spez/", {"sort": "top", "limit": 100, **({"after": after} if after else {})})
            return Page(items=body["data"]["children"], next=body["data"]["after"])

        result = walk(fetch, None, key=lambda c: c["data"]["name"], stop_at=lambda c: None, max_pages=50,
                      end_note="end of listing")
        requests = list(server.requests)
    assert result.pages == 16 and result.complete and result.stop == "end of listing"
    assert len(result.items) == 1523 == len({c["data"]["name"] for c in result.items})
    posts = [normalise_thing(c, "spez", "2018-01-24T00:00:00Z") for c in result.items]
    assert all(p.post_id and p.created_at.endswith("Z") and p.url.startswith("https://www.reddit.com/") for p in posts)
    assert len(requests) == 16 and all("after=" in r for r in requests[1:])


@pytest.mark.parametrize("name, error", [
    ("trophies_user_not_exist.01", AccountUnavailable), ("upvoted_other_user_403.01", AuthError)])
def test_reddit_error_recordings_map_to_exceptions(name: str, error: type) -> None:
    rec = by_name(extracted("reddit"), name)
    clock = Clock(datetime(2018, 9, 15, tzinfo=timezone.utc))
    with RecordingServer([rec], significant=set()) as server, \
            HttpClient(ConnectorConfig(base_url=server.base_url, token="REDACTED"), platform="reddit",
                       account="someone", now=clock.now, sleep=clock.sleep, error_hook=reddit_error(True)) as http:
        with pytest.raises(error) as info:
            http.get_json(rec.path)
    assert type(info.value) is error and info.value.status == rec.status


def test_reddit_recorded_429_body_is_rate_limited() -> None:
    rec = body_recording("429", root() / "reddit/observed/simonw_til_reddit_429_body.json",
                         "/user/x_user/submitted.json", status=429)
    clock = Clock(datetime(2024, 1, 1, tzinfo=timezone.utc))
    with RecordingServer([rec], significant=set()) as server:
        connector = RedditConnector(ConnectorConfig(base_url=server.base_url, extra={"reddit_listings": ["submitted"]}),
                                    now=clock.now, sleep=clock.sleep)
        with pytest.raises(RateLimited, match="Too Many Requests") as info:
            connector.fetch("x_user", None)
    assert info.value.retry_at is not None and clock.sleeps == []     # no reset header: 60 s default > max_wait


# --------------------------------------------------------------------------------------------
# Telegram
# --------------------------------------------------------------------------------------------

TELEGRAM_PAGE = "telegram/html/any2feed_full_topwar_official_before_71009.html"


def telegram_server() -> RecordingServer:
    rec = body_recording("topwar", root() / TELEGRAM_PAGE, "/s/topwar_official",
                         content_type="text/html; charset=utf-8")
    return RecordingServer([rec], significant=set())


def test_telegram_recorded_page_through_the_connector() -> None:
    clock = Clock(datetime(2023, 2, 28, 14, 0, tzinfo=timezone.utc))
    with telegram_server() as server:
        connector = TelegramConnector(ConnectorConfig(base_url=server.base_url, lookback=timedelta(days=1),
                                                      max_pages=1), now=clock.now, sleep=clock.sleep)
        first = connector.fetch("topwar_official", None)
        forward = connector.fetch("topwar_official", {"last_id": 70999})
    ids = [int(p.post_id.split("/")[1]) for p in first.posts]
    assert ids == [71008, 71007, 71006, 71000, 70999, 70998, 70997, 70996, 70995, 70992, 70990, 70989]
    assert "max_pages=1" in first.notes[0] and first.cursor == {"last_id": 71008}
    assert all(p.text and p.created_at.startswith("2023-02-28T") and p.url.endswith(p.post_id.split("/")[1])
               for p in first.posts)
    assert {p.repost_of for p in first.posts if p.repost_of} == {
        "yaremshooter/1066", "Belarus_VPO/34301", "vysokygovorit/10899", "dimsmirnov175/44655", "ImpNavigator/4580"}
    album = next(p for p in first.posts if p.post_id.endswith("/71000"))
    assert len(album.media) == 6 and all(u.startswith("https://cdn4.telegram-cdn.org/") for u in album.media)
    assert [p.post_id for p in forward.posts] == [f"topwar_official/{i}" for i in (71008, 71007, 71006, 71000)]
    assert forward.notes == ["reached the newest message"] and forward.cursor == {"last_id": 71008}


def test_telegram_recorded_continuations() -> None:
    page = parse_preview((root() / TELEGRAM_PAGE).read_text(encoding="utf-8"))
    assert page.before == 70989 and page.after is None and page.has_history
    assert all(m.html.count('data-post="') == 1 for m in page.messages)           # each message's own HTML only


# --------------------------------------------------------------------------------------------
# YouTube
# --------------------------------------------------------------------------------------------

RSS_FEED = "youtube/rss/akirk_friends_youtube_channel_feed.xml"
RSS_CHANNEL = "UCipwt-3-cptv9K6uhfZ61GA"


def youtube_server(*extra: Recording) -> RecordingServer:
    raw = root() / "youtube/raw"
    recordings = [
        body_recording("channels", raw / "pyyoutube_channels_info.json", "/channels"),
        body_recording("page1", raw / "pyyoutube_playlist_items_playlist_items_paged_1.json", "/playlistItems"),
        body_recording("page2", raw / "pyyoutube_playlist_items_playlist_items_paged_2.json", "/playlistItems",
                       query={"pageToken": "CAoQAA"}),
        body_recording("videos", raw / "pyyoutube_videos_videos_info_multi.json", "/videos"),
        body_recording("feed", root() / RSS_FEED, "/feeds/videos.xml", query={"channel_id": RSS_CHANNEL},
                       content_type="application/atom+xml"),
        *extra]
    return RecordingServer(recordings, significant={"pageToken", "channel_id"})


def yt_connector(server: RecordingServer, now: datetime, **config: Any) -> tuple[YouTubeConnector, Clock]:
    clock = Clock(now)
    cfg = ConnectorConfig(base_url=server.base_url, token="REDACTED-KEY", page_size=50, **config)
    return YouTubeConnector(cfg, now=clock.now, sleep=clock.sleep), clock


def feed_ids() -> list[str]:
    return [e.video_id for e in parse_feed((root() / RSS_FEED).read_bytes()).entries]


def test_youtube_recorded_feed_costs_zero_units_when_nothing_is_new() -> None:
    ids = feed_ids()
    cursor = {"channel_id": RSS_CHANNEL, "uploads": "UU" + RSS_CHANNEL[2:], "known": ids,
              "newest_time": "2025-04-16T17:50:36.000000Z", "floor": "2025-01-01T00:00:00.000000Z"}
    with youtube_server() as server:
        connector, _ = yt_connector(server, datetime(2025, 4, 17, 8, 0, tzinfo=timezone.utc))
        result = connector.fetch(RSS_CHANNEL, cursor)
        requests = list(server.requests)
    assert len(ids) == 15 and result.posts == [] and result.units == 0
    assert requests == [f"/feeds/videos.xml?channel_id={RSS_CHANNEL}"]       # no key, no API call


def test_youtube_recorded_feed_in_rss_only_mode() -> None:
    ids = feed_ids()
    with youtube_server() as server:
        connector, _ = yt_connector(server, datetime(2025, 4, 17, 8, 0, tzinfo=timezone.utc),
                                    extra={"youtube_api": False}, lookback=timedelta(days=365))
        first = connector.fetch(RSS_CHANNEL, {"known": ids[2:]})
    assert [p.post_id for p in first.posts] == ids[:2] and first.units == 0
    assert first.posts[0].url == f"https://www.youtube.com/watch?v={ids[0]}" and first.posts[0].author == "AeroNewsGermany"
    assert first.posts[0].media == [f"https://i2.ytimg.com/vi/{ids[0]}/hqdefault.jpg"]


def test_youtube_recorded_playlist_pages_and_unit_accounting() -> None:
    """No feed recording for this playlist: the feed fails (418), the connector walks the two
    recorded playlistItems pages (1 unit each) and asks videos.list for all 13 ids (1 unit).
    The recorded videos.list answer holds other videos, so all 13 are remembered as
    unavailable and retried after a day rather than on every poll."""
    playlist = "PLOU2XLYxmsIKpaV8h0AGE05so0fAwwfTw"
    cursor = {"channel_id": "UC_x5XG1OV2P6uZZ5FSM9Ttw", "uploads": playlist}
    with youtube_server() as server:
        connector, _ = yt_connector(server, datetime(2019, 12, 1, tzinfo=timezone.utc), lookback=timedelta(days=30))
        result = connector.fetch("UC_x5XG1OV2P6uZZ5FSM9Ttw", cursor)
        requests = list(server.requests)
    videos_call = next(r for r in requests if r.startswith("/videos"))
    assert result.units == 3 and result.posts == [] and any("RSS feed failed" in n for n in result.notes)
    assert [r.split("?")[0] for r in requests] == ["/feeds/videos.xml", "/playlistItems", "/playlistItems", "/videos"]
    asked = dict(parse_qsl(urlsplit(videos_call).query))["id"].split(",")
    assert "pageToken=CAoQAA" in requests[2] and len(asked) == 13 == len(set(asked))
    assert len(result.cursor["unavailable"]) == 13 and "newest_time" not in result.cursor


def test_youtube_recorded_videos_and_channel_bodies() -> None:
    videos = json.loads((root() / "youtube/raw/pyyoutube_videos_videos_info_multi.json").read_text(encoding="utf-8"))
    posts = [normalise_video(v, "UC_x5XG1OV2P6uZZ5FSM9Ttw", "2019-12-01T00:00:00Z") for v in videos["items"]]
    assert [p.post_id for p in posts] == ["D-lhorsDlUQ", "ovdbrdCIP7U"]
    assert posts[0].media == ["https://i.ytimg.com/vi/D-lhorsDlUQ/maxresdefault.jpg"]
    assert posts[0].text.startswith("What are Actions on Google") and posts[0].author == "Google Developers"
    with youtube_server() as server:                 # recorded with part=snippet only: no uploads playlist
        connector, _ = yt_connector(server, datetime(2019, 12, 1, tzinfo=timezone.utc))
        with pytest.raises(MalformedResponse, match="relatedPlaylists.uploads"):
            connector.fetch("UC_x5XG1OV2P6uZZ5FSM9Ttw", None)


def test_youtube_search_bodies_are_readable_but_never_requested() -> None:
    """search.list costs 100 units (or one of 100 daily calls): the connector never uses it."""
    for name in ("by_keywords_p1", "by_keywords_p2", "videos_by_channel"):
        body = json.loads((root() / f"youtube/raw/pyyoutube_search_search_{name}.json").read_text(encoding="utf-8"))
        assert all(item["id"]["videoId"] and item["snippet"]["publishedAt"] for item in body["items"])
    with youtube_server() as server:
        connector, _ = yt_connector(server, datetime(2025, 4, 17, 8, 0, tzinfo=timezone.utc))
        connector.fetch(RSS_CHANNEL, {"channel_id": RSS_CHANNEL, "uploads": "UU" + RSS_CHANNEL[2:], "known": feed_ids()})
        assert not any(r.startswith("/search") for r in server.requests)


def test_youtube_recorded_permission_error_is_an_auth_error() -> None:
    rec = body_recording("perm", root() / "youtube/raw/pyyoutube_error_permission_resp.json", "/channels", status=403)
    clock = Clock(datetime(2024, 1, 1, tzinfo=timezone.utc))
    with RecordingServer([rec], significant=set()) as server:
        connector = YouTubeConnector(ConnectorConfig(base_url=server.base_url, token="REDACTED-KEY"), now=clock.now,
                                     sleep=clock.sleep)
        with pytest.raises(AuthError, match="The caller does not have permission") as info:
            connector.fetch("@GoogleDevelopers", None)
    assert info.value.status == 403 and "REDACTED-KEY" not in str(info.value)
    assert youtube_error(clock.now)(403, rec.json()) is not None
