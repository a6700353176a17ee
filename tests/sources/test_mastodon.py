"""Mastodon: normalisation (fixtures) and the connector end to end against the replay server."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any, Callable

import httpx
import pytest
from sources_support import TOKEN, FakeClock, load_fixture

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError, MalformedResponse, RateLimited
from socialhub.models import raw_sha256
from socialhub.replay import ReplayServer
from socialhub.sources.base import Connector, ConnectorConfig
from socialhub.sources.mastodon import MastodonConnector, html_to_text, id_newer, normalise_status

INSTANCE = "social.hubdemo.example"
GY = f"ghost_yardz@{INSTANCE}"          # 9 demo posts, one older than the 7-day look-back
CHEF = f"chef_marta@{INSTANCE}"         # 7 demo posts incl. a boost and two malformed items


# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------

class TestNormalise:
    statuses = load_fixture("mastodon_statuses.json")

    def test_plain_status(self) -> None:
        status = self.statuses[0]
        post = normalise_status(status, "alice@fixture.example", "2026-03-02T00:00:00Z")
        assert post.platform == "mastodon" and post.account == "alice@fixture.example"
        assert post.post_id == "113000000000000300"
        assert post.url == "https://fixture.example/@alice/113000000000000300"
        assert post.author == "alice"
        assert post.text == ("Fish & chips <3 tonight, it's Friday\n"
                             "see https://news.fixture.example/long/path/story\n\nsecond para #friday")
        assert post.created_at == "2026-03-01T12:30:45Z"
        assert post.collected_at == "2026-03-02T00:00:00Z"
        assert post.media == ["https://fixture.example/media/original/a.jpg", "https://remote.fixture.example/b.png"]
        assert post.reply_to == "113000000000000100" and post.repost_of is None
        assert post.raw_sha256 == raw_sha256(status)

    def test_boost_takes_content_from_the_reblog(self) -> None:
        post = normalise_status(self.statuses[1], "alice", "2026-03-02T00:00:00Z")
        assert post.post_id == "113000000000000200"            # the boost's own id...
        assert post.created_at == "2026-03-01T11:00:00Z"       # ...and time
        assert post.repost_of == "112999999999999999"
        assert post.text == "Original post by bob"
        assert post.author == "bob@other.fixture.example"
        assert post.url == "https://other.fixture.example/@bob/112999999999999999"
        assert post.media == ["https://other.fixture.example/media/v.mp4"]
        assert post.reply_to == "112999999999999000"

    def test_content_warning_is_kept_and_offsets_become_utc(self) -> None:
        post = normalise_status(self.statuses[2], "alice", "x")
        assert post.text == "weapons mention\n\nBehind the content warning"
        assert post.created_at == "2026-03-01T09:00:00Z"

    def test_missing_fields_become_empty_strings(self) -> None:
        post = normalise_status(self.statuses[3], "alice", "x")
        assert (post.post_id, post.url, post.author, post.created_at) == ("113000000000000140", "", "", "")
        assert post.text == "No account, no time, no url: still a post" and post.media == []

    def test_non_object_item_still_becomes_a_post(self) -> None:
        post = normalise_status("garbage", "alice", "x")
        assert post.post_id == "" and post.raw_sha256 == raw_sha256("garbage")

    def test_unparseable_time_is_kept_verbatim_for_the_quality_stage(self) -> None:
        assert normalise_status({"id": "1", "created_at": "yesterday"}, "a", "x").created_at == "yesterday"

    @pytest.mark.parametrize("html, text", [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("<p>line1<br>line2<br/>line3</p>", "line1\nline2\nline3"),
        ("<p>&lt;b&gt;not bold&lt;/b&gt; &amp; &#x1F52A;</p>", "<b>not bold</b> & 🔪"),
        ("", ""),
        ("plain", "plain"),
    ])
    def test_html_to_text(self, html: str, text: str) -> None:
        assert html_to_text(html) == text

    def test_ids_compare_numerically(self) -> None:
        assert id_newer("100", "99") and not id_newer("99", "100") and not id_newer("5", "5")


# --------------------------------------------------------------------------------------------
# connector against the replay server
# --------------------------------------------------------------------------------------------

def statuses_requests(server: ReplayServer) -> list[str]:
    return [p for p in server.paths("mastodon") if "/statuses" in p]


def test_first_run_uses_lookback_and_follows_link_pages(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    result = connect("mastodon", page_size=2).fetch(GY, None)
    texts = [p.text for p in result.posts]
    assert len(result.posts) == 8 and "summer vibes at the park with the fam ☀️" not in texts   # 12 days old
    assert texts[0] == "gonna wet him up when we catch him, he knows what he did"           # newest first
    assert result.pages == 5 and result.notes[0].startswith("reached look-back horizon")
    lookups = [p for p in server.paths("mastodon") if "/accounts/lookup" in p]
    assert lookups == [f"/mastodon/api/v1/accounts/lookup?acct=ghost_yardz%40{INSTANCE}"]
    pages = statuses_requests(server)
    assert pages[0].endswith("/statuses?limit=2") and all("max_id=" in p for p in pages[1:])
    assert result.cursor == {"account_id": result.cursor["account_id"], "since_id": result.posts[0].post_id}
    assert result.raw_items[0]["id"] == result.posts[0].post_id and len(result.raw_items) == 8


def test_incremental_run_returns_only_new_posts(server: ReplayServer, connect: Callable[..., Connector],
                                                clock: FakeClock) -> None:
    connector = connect("mastodon", page_size=2)
    first = connector.fetch(GY, None)
    clock.t += timedelta(minutes=5)
    added = [server.add_post("mastodon", "ghost_yardz", {"text": f"fresh {i}", "age": f"{3 - i}m"}) for i in range(3)]
    server.clear_log()

    second = connector.fetch(GY, first.cursor)
    assert [p.text for p in second.posts] == ["fresh 2", "fresh 1", "fresh 0"]
    assert [p.post_id for p in second.posts] == [a["id"] for a in reversed(added)]
    assert second.cursor == {"account_id": first.cursor["account_id"], "since_id": added[-1]["id"]}
    assert second.notes == ["reached the newest status"]
    assert not any("lookup" in p for p in server.paths("mastodon"))       # account id came from the cursor
    pages = statuses_requests(server)
    assert pages[0].endswith(f"min_id={first.cursor['since_id']}")      # forward from the cursor
    assert len(pages) == 2 and f"min_id={added[1]['id']}" in pages[1]     # then rel="prev"; a short page ends it

    third = connector.fetch(GY, second.cursor)
    assert third.posts == [] and third.cursor == second.cursor
    assert third.notes == [f"no statuses newer than since_id {second.cursor['since_id']}"]


def test_never_re_emits_posts_at_or_below_since_id(clock: FakeClock) -> None:
    """Even if a server ignores ``since_id`` and returns older statuses, they are not emitted."""
    page = [{"id": i, "created_at": "2026-01-01T00:00:00Z", "content": f"<p>{i}</p>"} for i in
            ("1000", "999", "998", "100")]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=page))
    connector = MastodonConnector(ConnectorConfig(base_url="https://m.fixture.example"), now=clock.now,
                                  sleep=clock.sleep, transport=transport)
    result = connector.fetch("alice", {"account_id": "7", "since_id": "998"})
    assert [p.post_id for p in result.posts] == ["1000", "999"]
    assert result.cursor["since_id"] == "1000"


def test_max_pages_stops_and_is_noted(connect: Callable[..., Connector]) -> None:
    result = connect("mastodon", page_size=1, max_pages=2).fetch(GY, None)
    assert len(result.posts) == 2 and result.pages == 2
    assert "max_pages=2" in result.notes[0]
    assert result.cursor["since_id"] == result.posts[0].post_id


def test_more_new_statuses_than_max_pages_are_collected_over_runs_without_a_gap(
        server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    """The gap this closes: walking newest first, a run limited to 2 pages of 2 would take the 4
    newest of 9 new statuses and move the cursor above the 5 it never saw. Walking forward from
    the cursor, each run takes the next 4 in order and the cursor only reaches what was taken."""
    connector = connect("mastodon", page_size=2, max_pages=2)
    cursor = connect("mastodon").fetch(GY, None).cursor
    clock.t += timedelta(minutes=30)
    added = [server.add_post("mastodon", "ghost_yardz", {"text": f"burst {i}", "age": f"{20 - i}m"})["id"]
             for i in range(9)]
    runs = []
    for _ in range(4):
        result = connector.fetch(GY, cursor)
        runs.append(result)
        cursor = result.cursor
    emitted = [p.post_id for r in runs for p in r.posts]
    assert sorted(emitted, key=int) == added and len(set(emitted)) == 9       # all, once, none lost
    assert [len(r.posts) for r in runs] == [4, 4, 1, 0]
    assert "newer statuses remain" in runs[0].notes[0] and runs[0].cursor["since_id"] == added[3]
    assert runs[2].notes == ["reached the newest status"]
    assert runs[3].notes == [f"no statuses newer than since_id {added[-1]}"]


def test_slows_down_before_the_rate_limit(server: ReplayServer, connect: Callable[..., Connector],
                                          clock: FakeClock) -> None:
    server.set_rate_limit("mastodon", remaining=2, reset_in=20)
    result = connect("mastodon").fetch(GY, None)        # lookup leaves 1 request: wait for the reset
    assert len(result.posts) == 8
    assert clock.sleeps == [pytest.approx(21.0)]
    assert len(server.paths("mastodon")) == 2             # lookup + one page: no 429, no retry


def test_429_then_success(server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    server.inject_fault("mastodon", 429, reset_in=5, match="/statuses")   # Mastodon's shape: ISO reset, no Retry-After
    result = connect("mastodon").fetch(GY, None)
    assert len(result.posts) == 8 and clock.sleeps == [pytest.approx(6.0)]
    assert len(statuses_requests(server)) == 2


def test_rate_limited_when_reset_is_too_far_and_cursor_is_untouched(
        server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    connector = connect("mastodon")
    cursor = connector.fetch(GY, None).cursor
    kept = copy.deepcopy(cursor)
    server.add_post("mastodon", "ghost_yardz", {"text": "after the first run"})
    server.inject_fault("mastodon", 429, reset_in=3600)
    with pytest.raises(RateLimited) as info:
        connector.fetch(GY, cursor)
    assert info.value.retry_at == pytest.approx(clock.now() + timedelta(seconds=3600), abs=timedelta(seconds=1))
    assert clock.sleeps == [] and cursor == kept
    # later, with the cursor the caller still has, the post is collected
    assert [p.text for p in connector.fetch(GY, cursor).posts] == ["after the first run"]


def test_budget_exhausted_with_far_reset_raises_before_the_next_request(
        server: ReplayServer, connect: Callable[..., Connector]) -> None:
    server.set_rate_limit("mastodon", remaining=1, reset_in=900)
    with pytest.raises(RateLimited) as info:
        connect("mastodon").fetch(GY, None)
    assert info.value.status is None and "max_wait" in str(info.value)
    assert len(server.paths("mastodon")) == 1               # only the lookup went out


def test_server_errors_are_retried(server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    server.inject_fault("mastodon", 500, count=2, match="/statuses")
    assert len(connect("mastodon").fetch(GY, None).posts) == 8
    assert clock.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("fault", [
    {"status": 200, "body": '[{"id": "1", "conte'},
    {"status": 200, "truncate": True},
])
def test_malformed_body_raises(server: ReplayServer, connect: Callable[..., Connector], fault: dict[str, Any]) -> None:
    server.inject_fault("mastodon", match="/statuses", **fault)
    with pytest.raises(MalformedResponse, match=r"/statuses: invalid JSON"):
        connect("mastodon").fetch(GY, None)


def test_truncated_second_page_raises(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    server.inject_fault("mastodon", 200, truncate=True, match="max_id=")
    with pytest.raises(MalformedResponse):
        connect("mastodon", page_size=2).fetch(GY, None)


def test_page_that_is_not_a_list_raises(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    server.inject_fault("mastodon", 200, body={"unexpected": "object"}, match="/statuses")
    with pytest.raises(MalformedResponse, match="expected a JSON list of statuses, got dict"):
        connect("mastodon").fetch(GY, None)


@pytest.mark.parametrize("handle", [f"nobody@{INSTANCE}", "ghost_yardz@other-instance.example"])
def test_unknown_account_is_unavailable(connect: Callable[..., Connector], handle: str) -> None:
    with pytest.raises(AccountUnavailable, match="Record not found"):
        connect("mastodon").fetch(handle, None)


def test_cached_account_id_that_vanished_is_unavailable(connect: Callable[..., Connector]) -> None:
    with pytest.raises(AccountUnavailable):
        connect("mastodon").fetch(GY, {"account_id": "424242", "since_id": "1"})


@pytest.mark.parametrize("handle", [f"@ghost_yardz@{INSTANCE}", "ghost_yardz", " ghost_yardz "])
def test_handle_forms(connect: Callable[..., Connector], handle: str) -> None:
    assert len(connect("mastodon").fetch(handle, None).posts) == 8


def test_empty_handle_is_a_connector_error(connect: Callable[..., Connector]) -> None:
    with pytest.raises(ConnectorError, match="empty account handle"):
        connect("mastodon").fetch("  ", None)


def test_token_is_sent_and_never_leaks(server: ReplayServer, connect: Callable[..., Connector]) -> None:
    server.require_token("mastodon", TOKEN)
    assert len(connect("mastodon", token=TOKEN).fetch(GY, None).posts) == 8
    wrong = "wrong-" + TOKEN
    connector = connect("mastodon", token=wrong)
    with pytest.raises(AuthError) as info:
        connector.fetch(GY, None)
    assert info.value.status == 401 and "access token is invalid" in str(info.value)
    for text in (str(info.value), repr(info.value), repr(connector.config), info.value.hint):
        assert wrong not in text and TOKEN not in text


def test_malformed_and_boosted_demo_items_are_emitted(connect: Callable[..., Connector]) -> None:
    result = connect("mastodon").fetch(CHEF, None)
    assert len(result.posts) == 7
    by_text = {p.text.split(":")[0]: p for p in result.posts}
    assert by_text["Prep list for Saturday's pop-up"].created_at == ""          # missing created_at
    assert by_text["Recipe"].url == "not a url"
    boost = next(p for p in result.posts if p.repost_of)
    assert boost.author == "riverside_news" and "Blades Down" in boost.text and boost.media
    reply = next(p for p in result.posts if p.reply_to)
    assert reply.text.startswith("Answering questions") and reply.reply_to == result.posts[0].post_id
    json.dumps([p.to_dict() for p in result.posts])        # everything is plain JSON
