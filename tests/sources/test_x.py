"""X API v2: normalisation (project fixture) and the connector against the replay server."""

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
from socialhub.sources.x import Includes, XConnector, normalise_tweet, problem_error

SMOKE = "eastgate_smoke"          # 7 demo posts, one older than the 7-day look-back, a reply and a retweet


# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------

class TestNormalise:
    body = load_fixture("x_user_tweets.json")

    def raw(self, index: int) -> dict[str, Any]:
        includes = Includes()
        includes.add(self.body["includes"])
        return includes.evidence(self.body["data"][index])

    def test_retweet_takes_full_text_media_and_author_from_the_original(self) -> None:
        post = normalise_tweet(self.raw(0), "alice_fixture", "2026-03-02T00:00:00Z")
        assert post.post_id == "1800000000000000500" and post.created_at == "2026-03-01T12:00:00Z"
        assert post.repost_of == "1799999999999999000"
        assert post.text.endswith("truncated by X.") and post.author == "bob_fixture"
        assert post.url == "https://x.com/bob_fixture/status/1799999999999999000"
        assert post.media == ["https://pbs.fixture.example/media/original.jpg"]

    def test_reply_with_photo_and_best_video_variant(self) -> None:
        post = normalise_tweet(self.raw(1), "alice_fixture", "x")
        assert post.reply_to == "1799999999999998000" and post.repost_of is None
        assert post.media == ["https://pbs.fixture.example/media/photo1.jpg", "https://video.fixture.example/high.mp4"]
        assert post.url == "https://x.com/alice_fixture/status/1800000000000000400" and post.author == "alice_fixture"

    def test_note_tweet_carries_the_full_text(self) -> None:
        assert normalise_tweet(self.raw(2), "a", "x").text.endswith("carries every character.")

    def test_quote_keeps_its_own_text_and_offsets_become_utc(self) -> None:
        post = normalise_tweet(self.raw(3), "a", "x")
        assert post.text == "quoting someone else" and post.repost_of is None and post.reply_to is None
        assert post.created_at == "2026-03-01T08:00:00Z"

    def test_evidence_is_self_contained_and_hashed(self) -> None:
        raw = self.raw(0)
        assert raw["data"]["id"] == "1800000000000000500"
        assert [t["id"] for t in raw["includes"]["tweets"]] == ["1799999999999999000"]
        assert [u["username"] for u in raw["includes"]["users"]] == ["alice_fixture", "bob_fixture"]
        assert normalise_tweet(raw, "a", "x").raw_sha256 == raw_sha256(raw)

    def test_bare_tweet_without_includes_uses_the_fallback_username(self) -> None:
        post = normalise_tweet({"id": "5", "text": "hi"}, "a", "x", "alice")
        assert post.url == "https://x.com/alice/status/5" and post.media == [] and post.created_at == ""

    @pytest.mark.parametrize("errors, cls, text", [
        ([{"type": "https://api.twitter.com/2/problems/resource-not-found", "detail": "Could not find user"}],
         AccountUnavailable, "not found"),
        ([{"type": "https://api.twitter.com/2/problems/resource-not-found", "title": "Forbidden",
           "detail": "User has been suspended: [x]."}], AccountUnavailable, "suspended"),
        ([{"type": "https://api.twitter.com/2/problems/not-authorized-for-resource", "detail": "Sorry"}],
         AccountUnavailable, "protected"),
    ])
    def test_problem_mapping(self, errors: list[dict[str, str]], cls: type, text: str) -> None:
        mapped = problem_error(errors)
        assert mapped is not None and mapped[0] is cls and text in mapped[1]

    def test_problems_about_includes_are_not_about_the_account(self) -> None:
        assert problem_error([{"section": "includes", "type": "x/not-authorized-for-resource"}]) is None
        assert problem_error("garbage") is None


# --------------------------------------------------------------------------------------------
# connector against the replay server
# --------------------------------------------------------------------------------------------

def timeline_requests(server: ReplayServer) -> list[str]:
    return [p for p in server.paths("x") if p.split("?")[0].endswith("/tweets")]


def test_first_run_uses_start_time_and_paginates(server: ReplayServer, connect: Callable[..., Connector],
                                                 clock: FakeClock) -> None:
    result = connect("x", page_size=5).fetch(SMOKE, None)
    texts = [p.text for p in result.posts]
    assert len(result.posts) == 6 and "quiet one today" not in texts                 # 10 days old
    assert texts[0].startswith("shop open 24/7")
    assert result.pages == 2 and result.notes[0].startswith("collected every post since the look-back")
    pages = timeline_requests(server)
    assert "start_time=" in pages[0] and "pagination_token=" in pages[1] and "since_id" not in pages[0]
    assert result.cursor["since_id"] == result.posts[0].post_id and "gaps" not in result.cursor
    assert len({p.post_id for p in result.posts}) == 6
    retweet = next(p for p in result.posts if p.repost_of)
    assert retweet.author == "millbrook_fc" and retweet.text.startswith("Millbrook FC 3-0")
    reply = next(p for p in result.posts if p.reply_to)
    assert reply.reply_to in {p.post_id for p in result.posts}
    assert any(p.media for p in result.posts)


def test_incremental_run_returns_only_new_posts_and_never_re_emits(
        server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    connector = connect("x")
    first = connector.fetch(SMOKE, None)
    clock.t += timedelta(minutes=5)
    added = [server.add_post("x", SMOKE, {"text": f"fresh {i}", "age": f"{3 - i}m"}) for i in range(3)]
    server.clear_log()
    second = connector.fetch(SMOKE, first.cursor)
    assert [p.text for p in second.posts] == ["fresh 2", "fresh 1", "fresh 0"]
    assert second.cursor["since_id"] == added[-1]["id"]
    assert f"since_id={first.cursor['since_id']}" in timeline_requests(server)[0]
    assert not any("/users/by/username" in p for p in server.paths("x"))        # user id came from the cursor
    third = connector.fetch(SMOKE, second.cursor)
    assert third.posts == [] and third.notes == [f"no posts newer than since_id {second.cursor['since_id']}"]


def test_max_pages_records_a_gap_that_the_next_run_closes(
        server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    connector = connect("x", page_size=5, max_pages=1)
    first = connector.fetch(SMOKE, None)              # first run, 6 posts in the look-back, 1 page of 5
    full = connect("x").fetch(SMOKE, None)
    assert len(first.posts) == 5 and "gap recorded" in first.notes[0]
    gap = first.cursor["gaps"][0]
    assert gap["until_id"] == first.posts[-1].post_id and "start_time" in gap
    clock.t += timedelta(minutes=1)
    new = server.add_post("x", SMOKE, {"text": "newest"})
    second = connector.fetch(SMOKE, first.cursor)
    assert [p.post_id for p in second.posts] == [new["id"]]            # head first; the gap waits for pages
    assert second.cursor["gaps"] == first.cursor["gaps"]
    third = connect("x", page_size=5, max_pages=2).fetch(SMOKE, second.cursor)
    emitted = [p.post_id for r in (first, second, third) for p in r.posts]
    assert len(emitted) == len(set(emitted))                             # nothing twice
    assert set(emitted) == {p.post_id for p in full.posts} | {new["id"]}  # nothing lost
    assert "gaps" not in third.cursor and any("closed a gap" in n for n in third.notes)
    assert any("until_id=" in p for p in timeline_requests(server))


def test_429_waits_for_the_x_reset_then_succeeds(server: ReplayServer, connect: Callable[..., Connector],
                                                 clock: FakeClock) -> None:
    server.inject_fault("x", 429, reset_in=5, match="/tweets")
    result = connect("x").fetch(SMOKE, None)
    assert len(result.posts) == 6 and len(clock.sleeps) == 1 and 5 <= clock.sleeps[0] <= 7


def test_rate_limited_with_a_far_reset_keeps_the_cursor(server: ReplayServer, connect: Callable[..., Connector],
                                                        clock: FakeClock) -> None:
    connector = connect("x")
    cursor = connector.fetch(SMOKE, None).cursor
    kept = copy.deepcopy(cursor)
    server.inject_fault("x", 429, reset_in=900)
    with pytest.raises(RateLimited) as info:
        connector.fetch(SMOKE, cursor)
    assert info.value.retry_at is not None and info.value.retry_at > clock.now() + timedelta(seconds=800)
    assert cursor == kept and clock.sleeps == []


def test_slows_down_before_the_limit(server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    server.set_rate_limit("x", remaining=2, reset_in=20)
    assert len(connect("x").fetch(SMOKE, None).posts) == 6
    assert len(clock.sleeps) == 1 and 20 <= clock.sleeps[0] <= 22


@pytest.mark.parametrize("body, message", [
    ('{"data": [{"id": "1", "te', "invalid JSON"),
    ({"data": {"not": "a list"}, "meta": {}}, "expected 'data' to be a list"),
    ({"unexpected": True}, "neither data nor meta"),
])
def test_malformed_body_raises(server: ReplayServer, connect: Callable[..., Connector], body: Any, message: str) -> None:
    server.inject_fault("x", 200, body=body, match="/tweets")
    with pytest.raises(MalformedResponse, match=message):
        connect("x").fetch(SMOKE, None)


def accounts_spec() -> dict[str, Any]:
    return {"x": {"accounts": [
        {"username": "gone_user", "suspended": True, "posts": [{"text": "x"}]},
        {"username": "locked_user", "protected": True, "posts": [{"text": "y"}]},
        {"username": "open_user", "posts": [{"text": "z"}]}]}}


@pytest.mark.parametrize("handle, text", [
    ("nobody_here", "account not found"), ("gone_user", "suspended"), ("locked_user", "protected")])
def test_unavailable_accounts(clock: FakeClock, handle: str, text: str) -> None:
    with ReplayServer(accounts_spec(), now=clock.now) as server:
        connector = XConnector(ConnectorConfig(base_url=server.base_url("x")), now=clock.now, sleep=clock.sleep)
        with pytest.raises(AccountUnavailable, match=text) as info:
            connector.fetch(handle, None)
        assert f"x:{handle}" in str(info.value)


def test_protected_after_lookup_is_unavailable(clock: FakeClock) -> None:
    """A cached user id whose account became protected: the timeline answers with a problem."""
    with ReplayServer(accounts_spec(), now=clock.now) as server:
        connector = XConnector(ConnectorConfig(base_url=server.base_url("x")), now=clock.now, sleep=clock.sleep)
        from socialhub.replay.x import user_id
        with pytest.raises(AccountUnavailable, match="protected"):
            connector.fetch("locked_user", {"user_id": user_id("locked_user"), "since_id": "1"})


@pytest.mark.parametrize("handle", ["@eastgate_smoke", " eastgate_smoke", "EASTGATE_SMOKE"])
def test_handle_forms(connect: Callable[..., Connector], handle: str) -> None:
    assert len(connect("x").fetch(handle, None).posts) == 6


def test_invalid_handle_is_rejected_before_any_request(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    with pytest.raises(ConnectorError, match="not a valid X username"):
        connect("x").fetch("not a handle!", None)
    assert server.paths("x") == []


def test_token_is_sent_and_never_leaks(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    server.require_token("x", TOKEN)
    assert len(connect("x", token=TOKEN).fetch(SMOKE, None).posts) == 6
    connector = connect("x", token="wrong-" + TOKEN)
    with pytest.raises(AuthError) as info:
        connector.fetch(SMOKE, None)
    assert info.value.status == 401 and "Unauthorized" in str(info.value)
    for text in (str(info.value), repr(info.value), repr(connector.config)):
        assert TOKEN not in text


def test_public_endpoint_without_a_token_fails_fast() -> None:
    connector = XConnector(ConnectorConfig(base_url="https://api.x.com"))
    with pytest.raises(AuthError, match="bearer token"):
        connector.fetch("someone", None)
