"""Conformance: run the connectors on REAL recorded API traffic (optional).

Skipped unless ``SOCIALHUB_CONFORMANCE_FIXTURES`` points at the shared recordings directory
(``mastodon/extracted``, ``bluesky/extracted``, ...; see its PROVENANCE.md). The recordings are
replayed in place through a local HTTP server, never copied into the project:

    SOCIALHUB_CONFORMANCE_FIXTURES=/work/shared/fixtures \\
        PYTHONPATH=include .venv/bin/python -m pytest tests/conformance -q
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from conformance_replay import Clock, Recording, RecordingServer, load_recordings

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError
from socialhub.models import parse_iso, raw_sha256
from socialhub.sources.base import ConnectorConfig
from socialhub.sources.bluesky import BlueskyConnector, item_time, xrpc_error_class
from socialhub.sources.http import HttpClient, parse_link_header, parse_rate_limit
from socialhub.sources.mastodon import MastodonConnector, id_newer, normalise_status

ROOT = os.environ.get("SOCIALHUB_CONFORMANCE_FIXTURES")
pytestmark = pytest.mark.skipif(not ROOT, reason="set SOCIALHUB_CONFORMANCE_FIXTURES to the shared recordings")


def recordings(platform: str) -> list[Recording]:
    directory = Path(ROOT or "") / platform / "extracted"
    if not directory.is_dir():
        pytest.fail(f"{directory} is missing: SOCIALHUB_CONFORMANCE_FIXTURES must point at the shared fixtures root")
    return load_recordings(directory)


@pytest.fixture
def mastodon() -> Iterator[RecordingServer]:
    with RecordingServer(recordings("mastodon")) as server:
        yield server


@pytest.fixture
def bluesky() -> Iterator[RecordingServer]:
    with RecordingServer(recordings("bluesky")) as server:
        yield server


def recorded(server: RecordingServer, name: str) -> Recording:
    return next(r for r in server.recordings if r.name == name)


# --------------------------------------------------------------------------------------------
# Mastodon (a real Mastodon dev server, recorded 2026-08-01 by Mastodon.py's test suite)
# --------------------------------------------------------------------------------------------

MASTODON_NOW = datetime(2026, 8, 1, 14, 0, tzinfo=timezone.utc)


def mastodon_connector(server: RecordingServer, **config: object) -> tuple[MastodonConnector, Clock]:
    clock = Clock(MASTODON_NOW)
    cfg = ConnectorConfig(base_url=server.base_url, page_size=5, **config)  # type: ignore[arg-type]
    return MastodonConnector(cfg, now=clock.now, sleep=clock.sleep), clock


def test_mastodon_lookup_then_link_paginated_statuses(mastodon: RecordingServer) -> None:
    connector, clock = mastodon_connector(mastodon, max_pages=2)
    result = connector.fetch("mastodonpy_test", None)
    page1, page2 = recorded(mastodon, "fetch_next_previous.11").json(), recorded(mastodon, "fetch_next_previous.12").json()
    raw = page1 + page2
    assert [p.post_id for p in result.posts] == [s["id"] for s in raw]
    assert all(id_newer(a.post_id, b.post_id) for a, b in zip(result.posts, result.posts[1:]))
    assert [p.raw_sha256 for p in result.posts] == [raw_sha256(s) for s in raw]
    assert result.pages == 2 and "max_pages=2" in result.notes[0]
    assert result.cursor == {"account_id": "117020565966271181", "since_id": raw[0]["id"]}
    assert mastodon.requests[0] == "/api/v1/accounts/lookup?acct=mastodonpy_test"
    assert "max_id=117020580489281910" in mastodon.requests[2]          # followed the recorded Link rel="next"
    for post, status in zip(result.posts, raw):
        assert post.author == "mastodonpy_test" and post.url == status["url"]
        assert post.text and "<" not in post.text
        assert parse_iso(post.created_at) == parse_iso(status["created_at"]).replace(microsecond=0)
    assert clock.sleeps == []                                            # 299 of 300 left: no slow-down


def test_mastodon_handle_with_instance_suffix(mastodon: RecordingServer) -> None:
    connector, _ = mastodon_connector(mastodon, max_pages=1)
    result = connector.fetch("mastodonpy_test@localhost:3000", None)
    assert len(result.posts) == 5 and result.cursor["account_id"] == "117020565966271181"


def test_mastodon_incremental_run_pages_forward_with_min_id(mastodon: RecordingServer) -> None:
    """Recording .13 is Mastodon answering ``min_id=<page 2's newest>``: the five statuses
    immediately newer, i.e. page 1. That is exactly the connector's incremental request."""
    page1, page2 = recorded(mastodon, "fetch_next_previous.11").json(), recorded(mastodon, "fetch_next_previous.12").json()
    connector, _ = mastodon_connector(mastodon, max_pages=1)
    result = connector.fetch("mastodonpy_test", {"account_id": "117020565966271181", "since_id": page2[0]["id"]})
    assert mastodon.requests == [f"/api/v1/accounts/117020565966271181/statuses?limit=5&min_id={page2[0]['id']}"]
    assert [p.post_id for p in result.posts] == [s["id"] for s in page1]
    assert result.cursor["since_id"] == page1[0]["id"] and "newer statuses remain" in result.notes[0]


def test_mastodon_never_re_emits_when_a_server_ignores_min_id() -> None:
    """A server ignoring ``min_id`` answers with the newest page (recording .11): the connector
    itself must drop everything at or below the cursor and stop when nothing new arrives."""
    recordings = load_recordings(Path(ROOT or "") / "mastodon" / "extracted")
    with RecordingServer(recordings, tolerated={"limit", "min_id"}) as server:
        page1 = recorded(server, "fetch_next_previous.11").json()
        connector, _ = mastodon_connector(server)
        result = connector.fetch("mastodonpy_test", {"account_id": "117020565966271181", "since_id": page1[3]["id"]})
    assert [p.post_id for p in result.posts] == [s["id"] for s in page1[:3]]
    assert result.notes == ["reached the newest status"]


def test_mastodon_unknown_account_recording_is_unavailable(mastodon: RecordingServer) -> None:
    connector, _ = mastodon_connector(mastodon)
    with pytest.raises(AccountUnavailable, match="Record not found") as info:
        connector.fetch("kljadklajsdkljlkjlkjlkjasdasd", None)
    assert info.value.status == 404


@pytest.mark.parametrize("path, error, text", [
    ("/api/v1/timelines/home", AuthError, "The access token is invalid"),
    ("/api/v1/statuses/0", AccountUnavailable, "Not Found"),
])
def test_mastodon_error_recordings_map_to_exceptions(mastodon: RecordingServer, path: str, error: type,
                                                     text: str) -> None:
    clock = Clock(MASTODON_NOW)
    with HttpClient(ConnectorConfig(base_url=mastodon.base_url, token="__MASTODON_PY_TEST_ACCESS_TOKEN"),
                    platform="mastodon", account="x", now=clock.now, sleep=clock.sleep) as http:
        with pytest.raises(error, match=text) as info:
            http.get_json(path)
    assert "__MASTODON_PY_TEST_ACCESS_TOKEN" not in str(info.value)


def test_mastodon_link_walk_ends_where_the_recording_has_no_link(mastodon: RecordingServer) -> None:
    first = recorded(mastodon, "tag_tl_fetch_remaining.31")
    clock = Clock(MASTODON_NOW)
    seen = []
    with HttpClient(ConnectorConfig(base_url=mastodon.base_url), platform="mastodon", account="tag",
                    now=clock.now, sleep=clock.sleep) as http:
        url: str | None = first.path
        params: dict[str, object] | None = {"limit": 10}
        while url:
            page = http.get_json(url, params)
            seen += [normalise_status(s, "tag", "2026-08-01T14:00:00Z") for s in page]
            url, params = parse_link_header(http.last_headers.get("link")).get("next"), None
    assert len(seen) == 30 and len({p.post_id for p in seen}) == 30 and len(mastodon.requests) == 4
    assert all(p.created_at.endswith("Z") and p.url.startswith("http") for p in seen)


# --------------------------------------------------------------------------------------------
# Bluesky (bsky.social via bskyr's vcr cassettes, recorded 2025-05)
# --------------------------------------------------------------------------------------------

BLUESKY_NOW = datetime(2025, 5, 19, 18, 0, tzinfo=timezone.utc)
ACTOR = "chriskenny.bsky.social"


def bluesky_connector(server: RecordingServer, **config: object) -> BlueskyConnector:
    clock = Clock(BLUESKY_NOW)
    return BlueskyConnector(ConnectorConfig(base_url=server.base_url, page_size=50, **config),  # type: ignore[arg-type]
                            now=clock.now, sleep=clock.sleep)


def test_bluesky_author_feed_until_the_lookback_horizon(bluesky: RecordingServer) -> None:
    feed = recorded(bluesky, "bskyr_getAuthorFeed.00").json()["feed"]
    horizon = BLUESKY_NOW - timedelta(days=60)
    expected = []
    for item in feed:                       # newest first: everything before the first older item
        if item_time(item) < horizon:
            break
        expected.append(item)
    assert 10 < len(expected) < len(feed)

    result = bluesky_connector(bluesky, lookback=timedelta(days=60)).fetch(ACTOR, None)
    assert result.raw_items == expected and result.pages == 1
    assert result.notes[0].startswith("reached look-back horizon")
    ids = [p.post_id for p in result.posts]
    assert len(set(ids)) == len(ids)
    for post, item in zip(result.posts, expected):
        assert re.fullmatch(r"https://bsky\.app/profile/[^/]+/post/[a-z0-9]+", post.url)
        assert post.text == item["post"]["record"]["text"]
        if "reason" in item:
            assert post.repost_of == item["post"]["uri"] and post.post_id != post.repost_of
            assert post.post_id.endswith("#repost-by-did:plc:wpe35pganb6d4pg4ekmfy6u5")
        if "reply" in item["post"]["record"]:
            assert post.reply_to == item["post"]["record"]["reply"]["parent"]["uri"]
        if item["post"].get("embed", {}).get("$type") in ("app.bsky.embed.images#view",
                                                          "app.bsky.embed.recordWithMedia#view"):
            assert post.media and all(u.startswith("https://cdn.bsky.app/") for u in post.media)
    assert any(p.repost_of for p in result.posts) and any(p.reply_to for p in result.posts)


def test_bluesky_max_pages_then_incremental_run_emits_nothing(bluesky: RecordingServer) -> None:
    connector = bluesky_connector(bluesky, lookback=timedelta(days=3650), max_pages=1)
    first = connector.fetch(ACTOR, None)
    assert len(first.posts) == 50 and "max_pages=1" in first.notes[0]
    again = connector.fetch(ACTOR, first.cursor)
    assert again.posts == [] and again.notes == ["reached an already collected post"]
    assert all("cursor=" not in r for r in bluesky.requests)           # never asked for an unrecorded page


@pytest.mark.parametrize("path, error, status", [
    ("/xrpc/com.atproto.server.createSession", AuthError, 401),   # recorded as POST; status/body are what matter
    ("/xrpc/com.atproto.repo.createRecord", ConnectorError, 400),
])
def test_bluesky_error_recordings_map_to_exceptions(bluesky: RecordingServer, path: str, error: type,
                                                    status: int) -> None:
    clock = Clock(BLUESKY_NOW)
    with HttpClient(ConnectorConfig(base_url=bluesky.base_url), platform="bluesky", account=ACTOR,
                    now=clock.now, sleep=clock.sleep, error_hook=xrpc_error_class) as http:
        with pytest.raises(error) as info:
            http.get_json(path)
    assert type(info.value) is error and info.value.status == status


# --------------------------------------------------------------------------------------------
# rate-limit headers of every recording
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("platform, scheme", [("mastodon", "mastodon"), ("bluesky", "ietf"), ("x", "x"),
                                              ("reddit", "reddit")])
def test_recorded_rate_limit_headers_parse(platform: str, scheme: str) -> None:
    parsed = 0
    for rec in recordings(platform):
        headers = dict(rec.headers)
        rl = parse_rate_limit(headers, BLUESKY_NOW)
        if rl is None:
            assert not any("rate" in k.lower() for k in headers), rec.name
            continue
        parsed += 1
        assert rl.scheme == scheme and rl.remaining is not None and rl.reset_at is not None, rec.name
        if scheme == "mastodon":
            assert rl.limit == 300 and rl.reset_at.year == 2026
        elif scheme in ("ietf", "x"):
            assert rl.limit and 2020 <= rl.reset_at.year <= 2025     # epoch seconds, not a delay
        else:
            assert rl.reset_at - BLUESKY_NOW < timedelta(minutes=10)   # seconds from now
    assert parsed > 0
