"""Post status checks (``Connector.check_post``): every status per platform from documented
response shapes (fixtures/status/*.json), transient failures never reported as removed, and the
replay server's remove/suspend controls end to end for all seven platforms."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sources_support import FIXTURES, FakeClock

from socialhub.sources.base import ConnectorConfig
from socialhub.sources.bluesky import BlueskyConnector
from socialhub.sources.mastodon import MastodonConnector
from socialhub.sources.reddit import RedditConnector
from socialhub.sources.status import POST_STATUSES, PostRef, PostStatus
from socialhub.sources.x import XConnector
from socialhub.sources.youtube import YouTubeConnector

CLASSES = {"mastodon": MastodonConnector, "bluesky": BlueskyConnector, "x": XConnector,
           "youtube": YouTubeConnector, "reddit": RedditConnector}
REFS = {
    "mastodon": PostRef("109", "alice@m.example"),
    "bluesky": PostRef("at://did:plc:abc/app.bsky.feed.post/3k2", "alice.bsky.social"),
    "x": PostRef("1460323737035677698", "alice"),
    "youtube": PostRef("Ks-_Mh1QhMc", "UCuAXFkgsw1L7xaCfnd5JJOw"),
    "reddit": PostRef("t3_1abcde", "alice"),
}
BASES = {"mastodon": "https://m.example", "bluesky": "https://appview.example", "x": "https://x-api.example",
         "youtube": "https://yt-api.example/youtube/v3", "reddit": "https://reddit.example"}


def cases() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for platform in CLASSES:
        for name, case in json.loads((FIXTURES / "status" / f"{platform}.json").read_text()).items():
            out.append((platform, name, case))
    return out


def connector(platform: str, handler: Any, clock: FakeClock, **config: Any) -> Any:
    config.setdefault("token", "test-token")
    cfg = ConnectorConfig(base_url=BASES[platform], timeout=2.0, max_wait=5.0, **config)
    return CLASSES[platform](cfg, now=clock.now, sleep=clock.sleep, transport=httpx.MockTransport(handler))


def routed(routes: dict[str, dict[str, Any]]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        for fragment, answer in routes.items():
            if fragment in request.url.path:
                return httpx.Response(answer["status"], json=answer["body"])
        return httpx.Response(404, json={"error": "Not Found"})
    return handler


@pytest.mark.parametrize(("platform", "name", "case"), cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_documented_status(platform: str, name: str, case: dict[str, Any]) -> None:
    clock = FakeClock()
    ref = REFS[platform]
    if case.get("post_id"):
        ref = PostRef(case["post_id"], ref.account)
    result = connector(platform, routed(case["routes"]), clock).check_post(ref)
    assert isinstance(result, PostStatus) and result.platform == platform and result.post_id == ref.post_id
    assert result.status == case["expect"], result
    if "field" in case:
        assert result.evidence.get("field") == case["field"], result.evidence
    if "http_status" in case:
        assert result.http_status == case["http_status"]
    assert result.reason and result.checked_at == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert json.loads(json.dumps(result.to_dict()))["status"] == case["expect"]


def test_every_platform_has_each_decided_status_covered() -> None:
    seen: dict[str, set[str]] = {}
    for platform, _, case in cases():
        seen.setdefault(platform, set()).add(case["expect"])
    for platform, statuses in seen.items():
        assert {"online", "removed"} <= statuses, platform
    assert set().union(*seen.values()) == set(POST_STATUSES) - {"error"}


TRANSIENT = {
    "500": lambda request: httpx.Response(500, json={"error": "Internal Server Error"}),
    "503": lambda request: httpx.Response(503, text="<html>Service Unavailable</html>"),
    "502 empty": lambda request: httpx.Response(502),
    "429 long reset": lambda request: httpx.Response(429, headers={"Retry-After": "3600"},
                                                     json={"error": "Too many requests"}),
    "timeout": None,   # the transport raises ReadTimeout
    "401": lambda request: httpx.Response(401, json={"error": "The access token is invalid"}),
    "truncated JSON": lambda request: httpx.Response(200, content=b'{"data": {"id": "14603',
                                                     headers={"Content-Type": "application/json"}),
}


@pytest.mark.parametrize("platform", sorted(CLASSES))
@pytest.mark.parametrize("failure", sorted(TRANSIENT))
def test_transient_failures_are_errors_never_removed(platform: str, failure: str) -> None:
    clock = FakeClock()
    answer = TRANSIENT[failure]

    def handler(request: httpx.Request) -> httpx.Response:
        if answer is None:
            raise httpx.ReadTimeout("timed out", request=request)
        return answer(request)

    result = connector(platform, handler, clock).check_post(REFS[platform])
    assert result.status == "error", (platform, failure, result)
    assert result.transient and "error_type" in result.evidence
    if failure == "429 long reset":
        assert result.evidence["error_type"] == "RateLimited" and result.evidence.get("retry_at")


def test_a_429_within_max_wait_is_waited_out_then_decided() -> None:
    clock = FakeClock()
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "Too many requests"})
        return httpx.Response(404, json={"error": "Record not found"})

    result = connector("mastodon", handler, clock).check_post(PostRef("109"))
    assert result.status == "removed" and clock.sleeps and clock.sleeps[0] >= 2


def test_bad_ids_are_errors_without_a_request() -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - must not be called
        raise AssertionError("no request expected")

    assert connector("x", handler, clock).check_post("not-a-number").status == "error"
    assert connector("reddit", handler, clock).check_post("abc").status == "error"
    assert connector("mastodon", handler, clock).check_post({"post_id": ""}).status == "error"


def test_a_stored_post_dict_is_accepted() -> None:
    clock = FakeClock()
    post = {"platform": "mastodon", "account": "alice@m.example", "post_id": "109", "url": "https://m.example/@alice/109"}
    case = json.loads((FIXTURES / "status" / "mastodon.json").read_text())["online"]
    assert connector("mastodon", routed(case["routes"]), clock).check_post(post).status == "online"


# --------------------------------------------------------------------------------------------
# end to end against the replay server: collect, then remove / suspend
# --------------------------------------------------------------------------------------------

#: what a post of a suspended account looks like per platform (Reddit keeps a suspended user's
#: posts up; a withdrawn RSS feed leaves its item pages up)
AFTER_SUSPENSION = {"mastodon": "unavailable", "bluesky": "unavailable", "x": "unavailable",
                    "youtube": "unavailable", "reddit": "online", "telegram": "unavailable", "rss": "online"}


def first_original(connect: Any, server: Any, platform: str) -> tuple[Any, dict[str, Any]]:
    conn = connect(platform, token="replay-key" if platform in ("x", "youtube") else None)
    for account in server.accounts(platform):
        try:
            result = conn.fetch(account, None)
        except Exception:   # noqa: BLE001 - demo accounts that are protected/suspended on purpose
            continue
        for post in result.posts:
            if not post.repost_of:
                return conn, post.to_dict()
    raise AssertionError(f"no original post on {platform}")


@pytest.mark.parametrize("platform", sorted(AFTER_SUSPENSION))
def test_replay_online_then_removed(connect: Any, server: Any, platform: str) -> None:
    conn, post = first_original(connect, server, platform)
    assert conn.check_post(post).status == "online"
    server.remove_post(platform, post["post_id"])
    result = conn.check_post(post)
    assert result.status == "removed", result
    assert post["post_id"] not in {p.post_id for p in conn.fetch(post["account"], None).posts}


@pytest.mark.parametrize("platform", sorted(AFTER_SUSPENSION))
def test_replay_suspended_account(connect: Any, server: Any, platform: str) -> None:
    conn, post = first_original(connect, server, platform)
    server.suspend_account(platform, post["account"])
    result = conn.check_post(post)
    assert result.status == AFTER_SUSPENSION[platform], result


def test_replay_restricted_x_post_from_withheld_override(server: Any, connect: Any) -> None:
    conn = connect("x", token="replay-key")
    account = next(a for a in server.accounts("x") if a)
    item = server.add_post("x", account, {"text": "hello", "override": {"withheld": {"country_codes": ["GB"]}}})
    result = conn.check_post(PostRef(item["id"], account))
    assert result.status == "restricted" and result.evidence["value"] == {"country_codes": ["GB"]}


def test_demo_data_marks_posts_removed_and_accounts_suspended() -> None:
    from socialhub.replay import ReplayServer

    data = {"mastodon": {"accounts": [
        {"username": "kept", "posts": [{"text": "a", "age": "1h"}, {"text": "b", "age": "2h", "removed": True}]},
        {"username": "gone", "suspended": True, "posts": [{"text": "c", "age": "1h"}]}]}}
    clock = FakeClock()
    with ReplayServer(data, now=clock.now) as srv:
        conn = MastodonConnector(ConnectorConfig(base_url=srv.base_url("mastodon")), now=clock.now, sleep=clock.sleep)
        texts = [p.text for p in conn.fetch(srv.accounts("mastodon")[0], None).posts]
        assert texts == ["a"]
        from socialhub.errors import AccountUnavailable

        with pytest.raises(AccountUnavailable) as info:
            conn.fetch(srv.accounts("mastodon")[1], None)
        assert info.value.reason == "suspended"


def test_check_posts_one_connector_per_platform_and_never_raises(connect: Any, server: Any) -> None:
    from socialhub.sources.status import check_posts

    conn, post = first_original(connect, server, "mastodon")
    built: list[str] = []

    def connector_for(platform: str) -> Any:
        built.append(platform)
        if platform == "nowhere":
            raise KeyError("no connector for nowhere")
        return conn

    posts = [post, {**post}, {"platform": "nowhere", "post_id": "1"}, {"platform": "nowhere", "post_id": "2"}]
    results = check_posts(posts, connector_for)
    assert [r.status for r in results] == ["online", "online", "error", "error"]
    assert built == ["mastodon", "nowhere", "nowhere"] and results[2].evidence["error_type"] == "KeyError"


def test_check_posts_pauses_a_rate_limited_platform() -> None:
    from socialhub.sources.status import check_posts

    clock = FakeClock()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={"error": "Too many requests"})

    conn = connector("mastodon", handler, clock)
    posts = [{"platform": "mastodon", "post_id": str(i), "account": "a@m.example"} for i in range(5)]
    results = check_posts(posts, lambda platform: conn)
    assert [r.status for r in results] == ["error"] * 5 and len(calls) == 1
    assert all(r.evidence["error_type"] == "RateLimited" and r.evidence.get("retry_at") for r in results)


def test_every_connector_has_a_post_check() -> None:
    from socialhub.sources.base import Connector
    from socialhub.sources.registry import CONNECTORS

    for platform, cls in CONNECTORS.items():
        assert cls._check_post is not Connector._check_post, platform
