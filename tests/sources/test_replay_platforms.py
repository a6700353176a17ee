"""The replay server's five newer platforms: demo data, determinism, pagination, limits, faults."""

from __future__ import annotations

from datetime import timedelta
from typing import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from sources_support import FakeClock

from socialhub.models import CATEGORIES
from socialhub.replay import DEMO_DATA, ReplayServer
from socialhub.replay.youtube import channel_id

NEW = ("youtube", "x", "reddit", "telegram", "rss")
SECTION = {"youtube": "channels", "x": "accounts", "reddit": "accounts", "telegram": "channels", "rss": "feeds"}


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


# --------------------------------------------------------------------------------------------
# demo data
# --------------------------------------------------------------------------------------------

def test_new_platforms_have_a_couple_of_fictional_mixed_accounts() -> None:
    spec = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))
    flagged: set[str] = set()
    for platform in NEW:
        accounts = spec[platform][SECTION[platform]]
        assert len(accounts) == 2, platform
        posts = [p for a in accounts for p in a["posts"]]
        assert any(p.get("expect") for p in posts) and any(not p.get("expect") for p in posts), platform
        for account in accounts:
            assert 5 <= len(account["posts"]) <= 10
            assert any(str(p.get("age", "")).endswith("d") and int(str(p["age"])[:-1]) > 7 for p in account["posts"])
        flagged |= {c for p in posts for c in p.get("expect", [])}
    assert flagged == set(CATEGORIES)
    for feed in spec["rss"]["feeds"]:
        assert urlsplit(feed["url"]).hostname.endswith(".example")          # reserved, never real


@pytest.mark.parametrize("platform", NEW)
def test_same_clock_same_ids_after_a_restart(platform: str, http: httpx.Client) -> None:
    clock = FakeClock()
    bodies = []
    for _ in range(2):
        with ReplayServer(now=clock.now) as server:
            account = server.accounts(platform)[0]
            bodies.append(first_page(server, platform, account, http))
    assert bodies[0] == bodies[1] and len(bodies[0]) > 500


def first_page(server: ReplayServer, platform: str, account: str, http: httpx.Client) -> str:
    base = server.base_url(platform)
    if platform == "youtube":
        return http.get(f"{base}/feeds/videos.xml", params={"channel_id": channel_id(account)}).text
    if platform == "x":
        from socialhub.replay.x import user_id
        return http.get(f"{base}/2/users/{user_id(account)}/tweets", params={"tweet.fields": "created_at"}).text
    if platform == "reddit":
        return http.get(f"{base}/user/{account}/overview.json").text
    if platform == "telegram":
        return http.get(f"{base}/s/{account}").text
    parts = urlsplit(account)
    return http.get(f"{base}/{parts.netloc}{parts.path}").text


# --------------------------------------------------------------------------------------------
# X
# --------------------------------------------------------------------------------------------

def test_x_next_token_walk_bounds_and_validation(server: ReplayServer, http: httpx.Client) -> None:
    from socialhub.replay.x import user_id
    url = f"{server.base_url('x')}/2/users/{user_id('eastgate_smoke')}/tweets"
    seen, token = [], None
    for _ in range(10):
        body = http.get(url, params={"max_results": 5, **({"pagination_token": token} if token else {})}).json()
        seen += [t["id"] for t in body["data"]]
        assert set(body["data"][0]) == {"id", "text", "edit_history_tweet_ids"}      # only requested fields
        token = body["meta"].get("next_token")
        if not token:
            break
    assert len(seen) == 7 and seen == sorted(seen, key=int, reverse=True)
    bounded = http.get(url, params={"since_id": seen[4], "until_id": seen[0]}).json()
    assert [t["id"] for t in bounded["data"]] == seen[1:4]
    assert http.get(url, params={"since_id": seen[0]}).json() == {"meta": {"result_count": 0}}
    bad = http.get(url, params={"max_results": 500})
    assert bad.status_code == 400 and bad.json()["title"] == "Invalid Request"
    assert int(bad.headers["x-rate-limit-reset"]) > 1_000_000_000


def test_x_includes_follow_expansions(server: ReplayServer, http: httpx.Client) -> None:
    from socialhub.replay.x import user_id
    url = f"{server.base_url('x')}/2/users/{user_id('eastgate_smoke')}/tweets"
    body = http.get(url, params={"expansions": "attachments.media_keys,referenced_tweets.id,author_id",
                                 "media.fields": "url", "tweet.fields": "referenced_tweets"}).json()
    assert {"media", "tweets", "users"} <= set(body["includes"])
    assert all("url" in m for m in body["includes"]["media"] if m["type"] == "photo")
    assert "includes" not in http.get(url).json()


# --------------------------------------------------------------------------------------------
# Reddit
# --------------------------------------------------------------------------------------------

def test_reddit_after_before_and_a_vanished_anchor(server: ReplayServer, http: httpx.Client) -> None:
    url = f"{server.base_url('reddit')}/user/t0pboy_ends/overview.json"
    first = http.get(url, params={"limit": 2}).json()["data"]
    assert first["dist"] == 2 and first["after"] == first["children"][-1]["data"]["name"] and first["before"] is None
    second = http.get(url, params={"limit": 2, "after": first["after"]}).json()["data"]
    back = http.get(url, params={"limit": 2, "before": second["children"][0]["data"]["name"]}).json()["data"]
    assert [c["data"]["name"] for c in back["children"]] == [c["data"]["name"] for c in first["children"]]
    gone = http.get(url, params={"after": "t1_deleted"}).json()["data"]
    assert gone["children"] == [] and gone["after"] is None


def test_reddit_escapes_unless_raw_json_and_sends_its_headers(server: ReplayServer, http: httpx.Client,
                                                              clock: FakeClock) -> None:
    url = f"{server.base_url('reddit')}/user/riverside_gardener/submitted.json"
    escaped = http.get(url)
    raw = http.get(url, params={"raw_json": 1})
    assert "&amp;format=pjpg" in escaped.text and "&format=pjpg" in raw.text
    assert escaped.headers["X-Ratelimit-Remaining"] == "99.0" and raw.headers["X-Ratelimit-Used"] == "2"
    assert 0 < int(raw.headers["X-Ratelimit-Reset"]) <= 600
    assert http.get(f"{server.base_url('reddit')}/user/nobody_x/submitted.json").json() == \
        {"message": "Not Found", "error": 404}


# --------------------------------------------------------------------------------------------
# Telegram
# --------------------------------------------------------------------------------------------

def test_telegram_before_after_pages_and_links(clock: FakeClock, http: httpx.Client) -> None:
    from socialhub.replay.server import load_data
    data = load_data()
    data["telegram"] = {**data["telegram"], "page_size": 2}
    with ReplayServer(data, now=clock.now) as server:
        base = server.base_url("telegram")
        newest = http.get(f"{base}/s/riverside_updates")
        older = http.get(f"{base}/s/riverside_updates", params={"before": 960})
        newer = http.get(f"{base}/s/riverside_updates", params={"after": 957})
        unknown = http.get(f"{base}/s/nobody_channel")
    assert newest.headers["content-type"].startswith("text/html")
    assert newest.text.count('data-post="riverside_updates/') == 2 and 'rel="next"' not in newest.text
    assert 'rel="prev" href="/s/riverside_updates?before=960"' in newest.text and 'data-before="960"' in newest.text
    assert 'data-post="riverside_updates/959"' in older.text and 'data-post="riverside_updates/958"' in older.text
    assert 'data-post="riverside_updates/958"' in newer.text and 'rel="next" href="/s/riverside_updates?after=959"' \
        in newer.text
    assert unknown.status_code == 302 and unknown.headers["location"] == "https://t.me/nobody_channel"


# --------------------------------------------------------------------------------------------
# RSS
# --------------------------------------------------------------------------------------------

def test_rss_pages_and_conditional_get(server: ReplayServer, http: httpx.Client) -> None:
    url = f"{server.base_url('rss')}/riverside-gazette.hubdemo.example/feed.xml"
    first = http.get(url)
    assert first.headers["content-type"].startswith("application/rss+xml") and first.text.count("<item>") == 4
    assert '<atom:link rel="next" href="https://riverside-gazette.hubdemo.example/feed.xml?page=2"/>' in first.text
    second = http.get(url, params={"page": 2})
    assert second.text.count("<item>") == 3 and 'rel="next"' not in second.text
    assert http.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert http.get(url, headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304
    assert http.get(f"{server.base_url('rss')}/nowhere.example/feed.xml").status_code == 404


# --------------------------------------------------------------------------------------------
# YouTube
# --------------------------------------------------------------------------------------------

def test_youtube_page_tokens_walk_every_upload_once(server: ReplayServer, http: httpx.Client) -> None:
    cid = channel_id("@eastside_drillz_tv")
    url = f"{server.base_url('youtube')}/playlistItems"
    seen, token = [], None
    for _ in range(10):
        body = http.get(url, params={"part": "contentDetails", "playlistId": "UU" + cid[2:], "maxResults": 4,
                                     **({"pageToken": token} if token else {})}).json()
        seen += [i["contentDetails"]["videoId"] for i in body["items"]]
        assert "snippet" not in body["items"][0]                                 # only the requested parts
        token = body.get("nextPageToken")
        if not token:
            break
    assert len(seen) == 6 == len(set(seen)) and body["pageInfo"]["totalResults"] == 6
    none = http.get(f"{server.base_url('youtube')}/channels", params={"part": "id", "forHandle": "@nobody"}).json()
    assert "items" not in none and none["pageInfo"]["totalResults"] == 0


def test_youtube_key_quota_and_free_feed(server: ReplayServer, http: httpx.Client) -> None:
    base = server.base_url("youtube")
    cid = channel_id("@eastside_drillz_tv")
    server.require_token("youtube", "k1")
    server.set_rate_limit("youtube", limit=2, remaining=2, reset_in=3600)
    params = {"part": "snippet", "id": cid}
    bad = http.get(f"{base}/channels", params={**params, "key": "nope"})
    assert bad.status_code == 400 and "API_KEY_INVALID" in bad.text
    assert [http.get(f"{base}/channels", params={**params, "key": "k1"}).status_code for _ in range(2)] == [200, 200]
    for _ in range(3):                                                 # the feed costs nothing and needs no key
        assert http.get(f"{base}/feeds/videos.xml", params={"channel_id": cid}).status_code == 200
    spent = http.get(f"{base}/channels", params={**params, "key": "k1"})
    assert spent.status_code == 403 and spent.json()["error"]["errors"][0]["reason"] == "quotaExceeded"


def test_youtube_feed_is_a_real_looking_atom_feed(server: ReplayServer, http: httpx.Client, clock: FakeClock) -> None:
    from socialhub.sources.feeds import parse_feed
    cid = channel_id("@riverside_youth_boxing")
    feed = parse_feed(http.get(f"{server.base_url('youtube')}/feeds/videos.xml", params={"channel_id": cid}).content)
    assert feed.kind == "atom" and len(feed.entries) == 5
    newest = feed.entries[0]
    assert newest.video_id and newest.link.endswith(newest.video_id)
    assert newest.published == pytest.approx(clock.now() - timedelta(hours=5), abs=timedelta(seconds=1))
    assert newest.media == [f"https://i1.ytimg.com/vi/{newest.video_id}/hqdefault.jpg"]


@pytest.mark.parametrize("platform", ["youtube", "telegram", "rss"])
def test_platforms_without_rate_headers_use_retry_after_on_injected_429(
        server: ReplayServer, http: httpx.Client, platform: str) -> None:
    server.inject_fault(platform, 429, reset_in=30)
    response = http.get(f"{server.base_url(platform)}/anything")
    assert response.status_code == 429 and response.headers["retry-after"] == "30"
    assert not any(k.lower().startswith(("x-rate", "ratelimit")) for k in response.headers)
