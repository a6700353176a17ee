"""The replay server's account and post states, in each platform's shape (what the post checks
and source health are tested against)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from socialhub.replay import ReplayServer


def get(server: ReplayServer, path: str) -> tuple[int, Any, dict[str, str]]:
    response = server.handle("GET", path, {})
    try:
        body: Any = json.loads(response.body)
    except ValueError:
        body = response.body.decode("utf-8", "replace")
    return response.status, body, response.headers


def test_x_rename_keeps_the_user_id(server: ReplayServer) -> None:
    name = server.accounts("x")[0]
    _, before, _ = get(server, f"/x/2/users/by/username/{name}")
    uid = before["data"]["id"]
    server.rename_account("x", name, "brand_new_name")
    _, old, _ = get(server, f"/x/2/users/by/username/{name}")
    assert old["errors"][0]["title"] == "Not Found Error"
    _, new, _ = get(server, "/x/2/users/by/username/brand_new_name")
    assert new["data"]["id"] == uid
    status, timeline, _ = get(server, f"/x/2/users/{uid}/tweets?max_results=5")
    assert status == 200 and "data" in timeline


def test_youtube_rename_changes_the_handle_not_the_channel(server: ReplayServer) -> None:
    handle = server.accounts("youtube")[0]
    _, found, _ = get(server, f"/youtube/channels?part=id&forHandle={handle}")
    cid = found["items"][0]["id"]
    server.rename_account("youtube", handle, "@new_handle_tv")
    _, old, _ = get(server, f"/youtube/channels?part=id&forHandle={handle}")
    assert "items" not in old
    _, new, _ = get(server, "/youtube/channels?part=id&forHandle=@new_handle_tv")
    assert new["items"][0]["id"] == cid


def test_bluesky_rename_keeps_the_did_and_the_old_handle_stops_resolving(server: ReplayServer) -> None:
    handle = server.accounts("bluesky")[0]
    _, profile, _ = get(server, f"/bluesky/xrpc/app.bsky.actor.getProfile?actor={handle}")
    server.rename_account("bluesky", handle, "someone-new.bsky.social")
    status, body, _ = get(server, f"/bluesky/xrpc/app.bsky.actor.getProfile?actor={handle}")
    assert status == 400 and body["message"] == "Profile not found"
    _, by_did, _ = get(server, f"/bluesky/xrpc/app.bsky.actor.getProfile?actor={profile['did']}")
    assert by_did["handle"] == "someone-new.bsky.social"


def test_reddit_removal_stays_in_api_info_with_its_marker(server: ReplayServer) -> None:
    name = server.accounts("reddit")[0]
    _, listing, _ = get(server, f"/reddit/user/{name}/submitted.json?raw_json=1")
    fullname = listing["data"]["children"][0]["data"]["name"]
    server.remove_post("reddit", fullname)
    _, info, _ = get(server, f"/reddit/api/info.json?id={fullname}")
    data = info["data"]["children"][0]["data"]
    assert data["removed_by_category"] == "deleted" and data["author"] == "[deleted]"
    _, after, _ = get(server, f"/reddit/user/{name}/submitted.json?raw_json=1")
    assert fullname not in [c["data"]["name"] for c in after["data"]["children"]]
    with pytest.raises(NotImplementedError, match="cannot be changed"):
        server.rename_account("reddit", name, "other")


def test_rss_states(server: ReplayServer) -> None:
    feed = server.accounts("rss")[0]
    path = "/rss/" + feed.split("://", 1)[1]
    server.rename_account("rss", feed, "https://new-home.hubdemo.example/feed.xml")
    status, _, headers = get(server, path)
    assert status == 301 and headers["Location"] == "https://new-home.hubdemo.example/feed.xml"
    assert get(server, "/rss/new-home.hubdemo.example/feed.xml")[0] == 200
    server.suspend_account("rss", "https://new-home.hubdemo.example/feed.xml")
    assert get(server, "/rss/new-home.hubdemo.example/feed.xml")[0] == 410


def test_unknown_ids_and_accounts_are_key_errors(server: ReplayServer) -> None:
    for platform in server.platforms():
        with pytest.raises(KeyError):
            server.remove_post(platform, "no-such-post/1")
    with pytest.raises(KeyError):
        server.suspend_account("mastodon", "nobody@social.hubdemo.example")
    with pytest.raises(NotImplementedError):
        server.move_account("x", server.accounts("x")[0], "elsewhere")
