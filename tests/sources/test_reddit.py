"""Reddit: normalisation (project fixture) and the connector against the replay server."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any, Callable

import pytest
from sources_support import TOKEN, FakeClock, load_fixture

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError, MalformedResponse, RateLimited
from socialhub.models import raw_sha256
from socialhub.replay import ReplayServer
from socialhub.sources.base import Connector, ConnectorConfig
from socialhub.sources.reddit import RedditConnector, normalise_thing, reddit_error

TB = "t0pboy_ends"        # 2 submissions + 3 comments in the look-back, one older submission


# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------

class TestNormalise:
    children = load_fixture("reddit_listing.json")["data"]["children"]

    def post(self, index: int):  # type: ignore[no-untyped-def]
        return normalise_thing(self.children[index], "alice_fx", "2026-03-02T00:00:00Z")

    def test_self_post(self) -> None:
        post = self.post(0)
        assert post.post_id == "t3_selfp1" and post.author == "alice_fx"
        assert post.url == "https://www.reddit.com/r/fixtures/comments/selfp1/a_self_post/"
        assert post.text == "A self post\n\nwith some body text" and post.media == []
        assert post.created_at == "2026-03-01T12:00:00Z" and post.raw_sha256 == raw_sha256(self.children[0])

    def test_image_link_is_media_and_escaped_urls_are_unescaped(self) -> None:
        assert self.post(1).media == ["https://i.redd.it/abc123.jpg"]

    def test_gallery_keeps_gallery_order(self) -> None:
        assert self.post(2).media == ["https://preview.redd.it/m2.jpg?width=800&s=2",
                                      "https://preview.redd.it/m1.jpg?width=800&s=1"]

    def test_hosted_video(self) -> None:
        assert self.post(3).media == ["https://v.redd.it/vid1/DASH_720.mp4?source=fallback"]

    def test_crosspost_is_a_repost(self) -> None:
        assert self.post(4).repost_of == "t3_origin9"

    def test_link_post_keeps_the_link_in_the_text(self) -> None:
        assert self.post(5).text == "A link\n\nhttps://news.fixture.example/story"

    def test_comment_replies_to_its_parent(self) -> None:
        post = self.post(6)
        assert post.post_id == "t1_c0mment2" and post.text == "a reply to a comment"
        assert post.reply_to == "t1_parent1" and post.repost_of is None
        assert post.url.endswith("/a_self_post/c0mment2/")

    def test_garbage_still_becomes_a_post(self) -> None:
        post = normalise_thing("garbage", "a", "x")
        assert (post.post_id, post.text, post.created_at) == ("", "", "")

    @pytest.mark.parametrize("status, body, token, expected", [
        (404, {"message": "Not Found", "error": 404}, False, AccountUnavailable),
        (400, {"reason": "USER_DOESNT_EXIST"}, True, AccountUnavailable),
        (403, {"reason": "suspended", "error": 403}, False, AccountUnavailable),
        (403, {"error": 403}, True, None),                                  # default: AuthError
        (403, "<html>blocked by network security</html>", False, AuthError),
        (500, None, False, None),
    ])
    def test_error_mapping(self, status: int, body: Any, token: bool, expected: type | None) -> None:
        mapped = reddit_error(token)(status, body)
        assert (mapped.cls if mapped else None) is expected


# --------------------------------------------------------------------------------------------
# connector against the replay server
# --------------------------------------------------------------------------------------------

def listing_requests(server: ReplayServer, listing: str) -> list[str]:
    return [p for p in server.paths("reddit") if f"/{listing}" in p]


def test_first_run_collects_both_listings_within_the_lookback(server: ReplayServer,
                                                              connect: Callable[..., Connector]) -> None:
    result = connect("reddit", page_size=2).fetch(TB, None)
    kinds = sorted(p.post_id[:2] for p in result.posts)
    assert kinds == ["t1", "t1", "t1", "t3", "t3"] and "old post" not in {p.text for p in result.posts}
    assert result.notes[0].startswith("submitted: reached look-back horizon")
    assert result.pages == 4                                       # 2 pages of each listing
    submitted = listing_requests(server, "submitted")
    assert submitted[0].startswith("/reddit/user/t0pboy_ends/submitted.json?") and "sort=new" in submitted[0]
    assert "raw_json=1" in submitted[0] and "after=t3_" in submitted[1]
    reply = next(p for p in result.posts if p.reply_to and p.reply_to.startswith("t3_"))
    assert reply.reply_to in {p.post_id for p in result.posts}
    assert set(result.cursor) == {"submitted", "comments"} and all("newest_time" in v for v in result.cursor.values())


def test_incremental_run_returns_only_new_items(server: ReplayServer, connect: Callable[..., Connector],
                                                clock: FakeClock) -> None:
    connector = connect("reddit")
    first = connector.fetch(TB, None)
    clock.t += timedelta(minutes=5)
    post = server.add_post("reddit", TB, {"title": "fresh post", "text": "body", "age": "1m"})
    comment = server.add_post("reddit", TB, {"kind": "comment", "text": "fresh comment"})
    second = connector.fetch(TB, first.cursor)
    assert sorted(p.post_id for p in second.posts) == sorted([post["data"]["name"], comment["data"]["name"]])
    third = connector.fetch(TB, second.cursor)
    assert third.posts == [] and third.notes == ["submitted: nothing new", "comments: nothing new"]


def test_same_second_items_are_not_lost_or_repeated(server: ReplayServer, connect: Callable[..., Connector],
                                                    clock: FakeClock) -> None:
    connector = connect("reddit", extra={"reddit_listings": ["comments"]})
    first = connector.fetch(TB, None)
    newest = server.add_post("reddit", TB, {"kind": "comment", "text": "a"})
    second = connector.fetch(TB, first.cursor)
    twin = server.add_post("reddit", TB, {"kind": "comment", "text": "b"})      # the same second as "a"
    third = connector.fetch(TB, second.cursor)
    assert [p.post_id for p in second.posts] == [newest["data"]["name"]]
    assert [p.post_id for p in third.posts] == [twin["data"]["name"]]


def test_max_pages_records_a_gap_that_the_next_run_closes(server: ReplayServer, connect: Callable[..., Connector],
                                                          clock: FakeClock) -> None:
    narrow = {"reddit_listings": ["comments"]}
    first = connect("reddit", page_size=1, max_pages=1, extra=narrow).fetch(TB, None)
    assert len(first.posts) == 1 and "gap recorded" in first.notes[0]
    gap = first.cursor["comments"]["gaps"][0]
    assert gap["after"] == first.posts[0].post_id
    second = connect("reddit", page_size=1, max_pages=5, extra=narrow).fetch(TB, first.cursor)
    all_comments = connect("reddit", extra=narrow).fetch(TB, None)
    emitted = [p.post_id for r in (first, second) for p in r.posts]
    assert len(emitted) == len(set(emitted)) and set(emitted) == {p.post_id for p in all_comments.posts}
    assert "gaps" not in second.cursor["comments"] and any("closed a gap" in n for n in second.notes)


def test_gap_whose_anchor_vanished_is_reported(clock: FakeClock) -> None:
    spec = {"reddit": {"accounts": [{"username": "solo_user", "posts": [{"kind": "comment", "text": "only"}]}]}}
    with ReplayServer(spec, now=clock.now) as server:
        connector = RedditConnector(ConnectorConfig(base_url=server.base_url("reddit"),
                                                    extra={"reddit_listings": ["comments"]}),
                                    now=clock.now, sleep=clock.sleep)
        cursor = {"comments": {"newest_time": "2020-01-01T00:00:00Z", "known": [],
                               "gaps": [{"after": "t1_deleted", "stop_time": "2019-01-01T00:00:00Z"}]}}
        result = connector.fetch("solo_user", cursor)
    assert [p.text for p in result.posts] == ["only"]
    assert any("ended at once" in n and "may be missing" in n for n in result.notes)
    assert "gaps" not in result.cursor["comments"]


def test_overview_listing_gets_both_kinds_in_one_walk(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    result = connect("reddit", extra={"reddit_listings": ["overview"]}).fetch(TB, None)
    assert sorted(p.post_id[:2] for p in result.posts) == ["t1", "t1", "t1", "t3", "t3"]
    assert list(result.cursor) == ["overview"] and result.pages == 1


def test_unknown_listing_name_is_a_config_problem(connect: Callable[..., Connector]) -> None:
    with pytest.raises(ConnectorError, match="unknown Reddit listing"):
        connect("reddit", extra={"reddit_listings": ["upvoted"]}).fetch(TB, None)


def test_429_waits_for_the_reddit_reset(server: ReplayServer, connect: Callable[..., Connector],
                                        clock: FakeClock) -> None:
    server.inject_fault("reddit", 429, reset_in=8, match="/comments")
    result = connect("reddit").fetch(TB, None)
    assert len(result.posts) == 5 and len(clock.sleeps) == 1 and 8 <= clock.sleeps[0] <= 10


def test_rate_limited_with_a_far_reset_keeps_the_cursor(server: ReplayServer, connect: Callable[..., Connector],
                                                        clock: FakeClock) -> None:
    connector = connect("reddit")
    cursor = connector.fetch(TB, None).cursor
    kept = copy.deepcopy(cursor)
    server.inject_fault("reddit", 429, reset_in=600)
    with pytest.raises(RateLimited) as info:
        connector.fetch(TB, cursor)
    assert info.value.retry_at is not None and cursor == kept


def test_slows_down_before_the_limit(server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    server.set_rate_limit("reddit", remaining=2, reset_in=30)
    connect("reddit").fetch(TB, None)
    assert len(clock.sleeps) == 1 and 30 <= clock.sleeps[0] <= 32


@pytest.mark.parametrize("fault, message", [
    ({"status": 200, "body": '{"kind": "Listing", "data": {"chil'}, "invalid JSON"),
    ({"status": 200, "body": {"kind": "t2", "data": {}}}, "expected a Listing"),
    ({"status": 200, "truncate": True}, "invalid JSON"),
])
def test_malformed_body_raises(server: ReplayServer, connect: Callable[..., Connector], fault: dict[str, Any],
                               message: str) -> None:
    server.inject_fault("reddit", match="/submitted", **fault)
    with pytest.raises(MalformedResponse, match=message):
        connect("reddit").fetch(TB, None)


def test_unknown_and_suspended_users_are_unavailable(clock: FakeClock) -> None:
    spec = {"reddit": {"accounts": [{"username": "banned_user", "suspended": True, "posts": []}]}}
    with ReplayServer(spec, now=clock.now) as server:
        connector = RedditConnector(ConnectorConfig(base_url=server.base_url("reddit")), now=clock.now,
                                    sleep=clock.sleep)
        with pytest.raises(AccountUnavailable, match="Not Found") as missing:
            connector.fetch("nobody_at_all", None)
        with pytest.raises(AccountUnavailable, match="suspended") as banned:
            connector.fetch("u/banned_user", None)
    assert missing.value.status == 404 and banned.value.status == 403
    assert "reddit:u/banned_user" in str(banned.value)


@pytest.mark.parametrize("handle", ["u/t0pboy_ends", "/u/t0pboy_ends", "/user/t0pboy_ends/", "T0PBOY_ENDS"])
def test_handle_forms(connect: Callable[..., Connector], handle: str) -> None:
    assert len(connect("reddit").fetch(handle, None).posts) == 5


def test_token_uses_oauth_paths_and_never_leaks(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    server.require_token("reddit", TOKEN)
    assert len(connect("reddit", token=TOKEN).fetch(TB, None).posts) == 5
    assert all(".json" not in p for p in server.paths("reddit"))       # oauth.reddit.com paths
    connector = connect("reddit", token="wrong-" + TOKEN)
    with pytest.raises(AuthError) as info:
        connector.fetch(TB, None)
    for text in (str(info.value), repr(info.value), repr(connector.config)):
        assert TOKEN not in text


def test_descriptive_user_agent_is_sent(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    seen: list[str] = []
    original = server.handle

    def spy(method: str, raw_path: str, headers: Any) -> Any:
        seen.append(next(v for k, v in headers.items() if k.lower() == "user-agent"))
        return original(method, raw_path, headers)

    server.handle = spy  # type: ignore[method-assign]
    connect("reddit", extra={"user_agent": "hub:socialhub:0.1 (by /u/hub_ops)"}).fetch(TB, None)
    assert seen and set(seen) == {"hub:socialhub:0.1 (by /u/hub_ops)"}
