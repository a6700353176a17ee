"""HttpClient: header parsing per platform, error mapping, retries and rate-limit waits.

Uses httpx.MockTransport (no sockets) and a fake clock, so every requested sleep is asserted
exactly and nothing really waits.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

import httpx
import pytest
from sources_support import TOKEN, FakeClock

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError, MalformedResponse, RateLimited
from socialhub.sources.base import ConnectorConfig
from socialhub.sources.http import (
    USER_AGENT,
    HttpClient,
    parse_link_header,
    parse_rate_limit,
    parse_retry_after,
)

NOW = datetime(2026, 8, 1, 13, 50, 0, tzinfo=timezone.utc)
BASE = "https://api.fixture.example/prefix"


def client(handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock, **kw) -> HttpClient:
    config = ConnectorConfig(base_url=BASE, token=kw.pop("token", TOKEN), max_wait=kw.pop("max_wait", 30.0),
                             timeout=3.0, extra=kw.pop("extra", {}))
    return HttpClient(config, platform="mastodon", account="alice", now=clock.now, sleep=clock.sleep,
                      transport=httpx.MockTransport(handler), **kw)


def sequence(*responses: httpx.Response) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    """A handler answering with ``responses`` in order, and the list of requests it saw."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler, seen


def ok(body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else [], headers=headers)


# --------------------------------------------------------------------------------------------
# header parsing
# --------------------------------------------------------------------------------------------

class TestRateLimitHeaders:
    def test_mastodon_iso_reset(self) -> None:
        rl = parse_rate_limit({"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299",
                               "X-RateLimit-Reset": "2026-08-01T13:55:00.484477Z"}, NOW)
        assert rl is not None and rl.scheme == "mastodon"
        assert (rl.limit, rl.remaining) == (300, 299)
        assert rl.reset_at == datetime(2026, 8, 1, 13, 55, 0, 484477, tzinfo=timezone.utc)

    def test_x_epoch_reset(self) -> None:
        rl = parse_rate_limit({"x-rate-limit-limit": "1500", "x-rate-limit-remaining": "1498",
                               "x-rate-limit-reset": "1665183228"}, NOW)
        assert rl is not None and rl.scheme == "x"
        assert (rl.limit, rl.remaining) == (1500, 1498)
        assert rl.reset_at == datetime.fromtimestamp(1665183228, tz=timezone.utc)

    def test_bluesky_epoch_reset_and_policy(self) -> None:
        rl = parse_rate_limit({"RateLimit-Limit": "3000", "RateLimit-Remaining": "2994",
                               "RateLimit-Reset": "1747676784", "RateLimit-Policy": "3000;w=300"}, NOW)
        assert rl is not None and rl.scheme == "ietf"
        assert (rl.limit, rl.remaining, rl.window) == (3000, 2994, 300)
        assert rl.reset_at == datetime.fromtimestamp(1747676784, tz=timezone.utc)

    def test_bluesky_policy_supplies_a_missing_limit(self) -> None:
        rl = parse_rate_limit({"ratelimit-remaining": "7", "ratelimit-reset": "1748016454",
                               "ratelimit-policy": "10;w=86400"}, NOW)
        assert rl is not None and (rl.limit, rl.remaining, rl.window) == (10, 7, 86400)

    def test_reddit_seconds_from_now_as_float(self) -> None:
        rl = parse_rate_limit({"x-ratelimit-used": "3", "x-ratelimit-remaining": "997.0",
                               "x-ratelimit-reset": "247.5"}, NOW)
        assert rl is not None and rl.scheme == "reddit"
        assert (rl.limit, rl.remaining) == (1000, 997)
        assert rl.reset_at == NOW + timedelta(seconds=247.5)

    def test_combined_ietf_header(self) -> None:
        rl = parse_rate_limit({"RateLimit": "limit=100, remaining=0, reset=30"}, NOW)
        assert rl is not None and (rl.limit, rl.remaining, rl.reset_at) == (100, 0, NOW + timedelta(seconds=30))

    def test_no_rate_limit_headers(self) -> None:
        assert parse_rate_limit({"Content-Type": "application/json"}, NOW) is None

    @pytest.mark.parametrize("value, expected", [
        ("120", NOW + timedelta(seconds=120)),
        ("Sat, 01 Aug 2026 13:52:00 GMT", datetime(2026, 8, 1, 13, 52, tzinfo=timezone.utc)),
        ("soon", None),
        (None, None),
    ])
    def test_retry_after(self, value: str | None, expected: datetime | None) -> None:
        assert parse_retry_after(value, NOW) == expected

    def test_link_header(self) -> None:
        links = parse_link_header('<https://h/api?limit=5&max_id=1>; rel="next", <https://h/api?min_id=9>; rel="prev"')
        assert links == {"next": "https://h/api?limit=5&max_id=1", "prev": "https://h/api?min_id=9"}
        assert parse_link_header(None) == {}


# --------------------------------------------------------------------------------------------
# requests and error mapping
# --------------------------------------------------------------------------------------------

def test_sends_user_agent_token_and_joins_base_path(clock: FakeClock) -> None:
    handler, seen = sequence(ok({"id": "1"}))
    with client(handler, clock) as http:
        assert http.get_json("/api/v1/accounts/lookup", {"acct": "alice"}) == {"id": "1"}
    assert str(seen[0].url) == f"{BASE}/api/v1/accounts/lookup?acct=alice"
    assert seen[0].headers["User-Agent"] == USER_AGENT
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["Accept"] == "application/json"


def test_timeout_comes_from_config(clock: FakeClock) -> None:
    handler, seen = sequence(ok())
    with client(handler, clock) as http:
        http.get_json("/x")
    assert seen[0].extensions["timeout"] == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}


def test_get_text_and_last_headers(clock: FakeClock) -> None:
    handler, seen = sequence(httpx.Response(200, text="<rss/>", headers={"Content-Type": "application/rss+xml",
                                                                          "X-RateLimit-Remaining": "5"}))
    with client(handler, clock) as http:
        assert http.get_text("/feed") == "<rss/>"
        assert seen[0].headers["Accept"] == "*/*"
        assert http.last_headers["content-type"] == "application/rss+xml"
        assert http.last_rate_limit is not None and http.last_rate_limit.remaining == 5


@pytest.mark.parametrize("status, error", [(401, AuthError), (403, AuthError), (404, AccountUnavailable),
                                           (410, AccountUnavailable)])
def test_status_mapping(clock: FakeClock, status: int, error: type[Exception]) -> None:
    handler, seen = sequence(httpx.Response(status, json={"error": "Record not found"}))
    with client(handler, clock) as http, pytest.raises(error) as info:
        http.get_json("/api/v1/accounts/lookup")
    assert info.value.status == status and type(info.value) is error
    assert "/api/v1/accounts/lookup" in str(info.value) and "Record not found" in str(info.value)
    assert len(seen) == 1 and clock.sleeps == []   # never retried


def test_other_4xx_is_a_plain_connector_error_with_status(clock: FakeClock) -> None:
    handler, seen = sequence(httpx.Response(422, json={"error": "Validation failed"}))
    with client(handler, clock) as http, pytest.raises(ConnectorError) as info:
        http.get_json("/x")
    assert type(info.value) is ConnectorError and info.value.status == 422 and len(seen) == 1


def test_invalid_json_is_malformed_with_path_and_short_excerpt(clock: FakeClock) -> None:
    body = '[{"id": "1", "content": "' + "x" * 500
    handler, _ = sequence(httpx.Response(200, text=body, headers={"Content-Type": "application/json"}))
    with client(handler, clock) as http, pytest.raises(MalformedResponse) as info:
        http.get_json("/api/v1/accounts/1/statuses", {"limit": 5})
    message = str(info.value)
    assert "/api/v1/accounts/1/statuses" in message and "invalid JSON" in message
    excerpt = message.split(": ", 3)[-1]
    assert '[{"id": "1"' in excerpt and "x" * 201 not in message


def test_html_when_json_expected_is_malformed(clock: FakeClock) -> None:
    handler, _ = sequence(httpx.Response(200, text="<html><body>Maintenance</body></html>",
                                         headers={"Content-Type": "text/html; charset=utf-8"}))
    with client(handler, clock) as http, pytest.raises(MalformedResponse, match="expected JSON but got text/html"):
        http.get_json("/x")


def test_5xx_is_retried_with_exponential_backoff_then_fails(clock: FakeClock) -> None:
    handler, seen = sequence(httpx.Response(503, text="busy"))
    with client(handler, clock) as http, pytest.raises(ConnectorError) as info:
        http.get_json("/x")
    assert len(seen) == 3 and clock.sleeps == [0.5, 1.0]
    assert info.value.status == 503 and "HTTP 503" in str(info.value)


def test_5xx_then_success(clock: FakeClock) -> None:
    handler, seen = sequence(httpx.Response(500), ok([1]))
    with client(handler, clock) as http:
        assert http.get_json("/x") == [1]
    assert len(seen) == 2 and clock.sleeps == [0.5]


def test_transport_errors_are_retried_then_reported(clock: FakeClock) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    with client(handler, clock) as http, pytest.raises(ConnectorError, match="ReadTimeout") as info:
        http.get_json("/x")
    assert len(calls) == 3 and clock.sleeps == [0.5, 1.0] and info.value.status is None


# --------------------------------------------------------------------------------------------
# rate limits
# --------------------------------------------------------------------------------------------

def test_429_waits_for_retry_after_then_succeeds(clock: FakeClock) -> None:
    handler, seen = sequence(httpx.Response(429, headers={"Retry-After": "7"}), ok([1]))
    with client(handler, clock) as http:
        assert http.get_json("/x") == [1]
    assert len(seen) == 2 and clock.sleeps == [8.0]   # 7 s + 1 s safety margin


def test_429_uses_mastodon_iso_reset_when_there_is_no_retry_after(clock: FakeClock) -> None:
    reset = (clock.now() + timedelta(seconds=12)).isoformat().replace("+00:00", "Z")
    handler, _ = sequence(httpx.Response(429, json={"error": "Too many requests"},
                                         headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}), ok())
    with client(handler, clock) as http:
        http.get_json("/x")
    assert clock.sleeps == [pytest.approx(13.0)]


def test_429_with_a_far_reset_raises_rate_limited_without_waiting(clock: FakeClock) -> None:
    reset = int((clock.now() + timedelta(hours=1)).timestamp())
    handler, seen = sequence(httpx.Response(429, json={"error": "RateLimitExceeded"},
                                            headers={"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}))
    with client(handler, clock) as http, pytest.raises(RateLimited) as info:
        http.get_json("/x")
    assert info.value.retry_at == datetime.fromtimestamp(reset, tz=timezone.utc)
    assert info.value.status == 429 and len(seen) == 1 and clock.sleeps == []


def test_429_is_retried_at_most_twice(clock: FakeClock) -> None:
    handler, seen = sequence(httpx.Response(429, headers={"Retry-After": "2"}))
    with client(handler, clock) as http, pytest.raises(RateLimited, match="still rate limited") as info:
        http.get_json("/x")
    assert len(seen) == 3 and clock.sleeps == [3.0, 3.0]
    assert info.value.retry_at == clock.now() + timedelta(seconds=2)


def test_429_without_any_hint_uses_the_default_wait(clock: FakeClock) -> None:
    handler, _ = sequence(httpx.Response(429))
    with client(handler, clock) as http, pytest.raises(RateLimited) as info:
        http.get_json("/x")
    assert info.value.retry_at == clock.now() + timedelta(seconds=60)


def test_slows_down_before_the_limit(clock: FakeClock) -> None:
    reset = (clock.now() + timedelta(seconds=20)).isoformat()
    handler, seen = sequence(ok([], {"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": reset}),
                             ok([], {"X-RateLimit-Remaining": "299", "X-RateLimit-Reset": reset}))
    with client(handler, clock) as http:
        http.get_json("/a")
        assert clock.sleeps == []           # no wait after the response itself...
        http.get_json("/b")
        assert clock.sleeps == [21.0]       # ...but before the next request
        http.get_json("/c")
    assert clock.sleeps == [21.0] and len(seen) == 3


def test_reserve_is_configurable(clock: FakeClock) -> None:
    reset = (clock.now() + timedelta(seconds=5)).isoformat()
    handler, _ = sequence(ok([], {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": reset}))
    with client(handler, clock, extra={"rate_limit_reserve": 3}) as http:
        http.get_json("/a")
        http.get_json("/b")
    assert clock.sleeps == [6.0]


def test_budget_exhausted_with_far_reset_raises_before_requesting(clock: FakeClock) -> None:
    reset = (clock.now() + timedelta(minutes=15)).isoformat()
    handler, seen = sequence(ok([], {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}))
    with client(handler, clock) as http:
        http.get_json("/a")
        with pytest.raises(RateLimited) as info:
            http.get_json("/b")
    assert len(seen) == 1 and clock.sleeps == []
    assert info.value.retry_at == clock.now() + timedelta(minutes=15) and info.value.status is None


# --------------------------------------------------------------------------------------------
# secrets and origins
# --------------------------------------------------------------------------------------------

def test_token_never_appears_in_errors_or_repr(clock: FakeClock) -> None:
    echo = {"error": f"invalid token {TOKEN}", "message": f"Authorization: Bearer {TOKEN}"}
    for response in (httpx.Response(401, json=echo), httpx.Response(400, json=echo),
                     httpx.Response(200, text=f"not json {TOKEN}"), httpx.Response(503, text=TOKEN)):
        handler, _ = sequence(response)
        with client(handler, clock) as http:
            with pytest.raises(ConnectorError) as info:
                http.get_json("/x")
            assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
            assert TOKEN not in repr(http) and TOKEN not in repr(http.config)


def test_refuses_to_follow_links_to_another_origin(clock: FakeClock) -> None:
    handler, seen = sequence(ok())
    with client(handler, clock) as http:
        http.get_json("https://api.fixture.example/prefix/api/v1/x?max_id=1")   # same origin: fine
        with pytest.raises(ConnectorError, match="another origin"):
            http.get_json("https://evil.example/steal")
    assert [r.url.host for r in seen] == ["api.fixture.example"]


def test_redirects_are_not_followed(clock: FakeClock) -> None:
    handler, _ = sequence(httpx.Response(301, headers={"Location": "https://elsewhere.example/x"}))
    with client(handler, clock) as http, pytest.raises(ConnectorError, match="redirect"):
        http.get_json("/x")


def test_no_token_means_no_authorization_header(clock: FakeClock) -> None:
    handler, seen = sequence(ok())
    with client(handler, clock, token=None) as http:
        http.get_json("/x")
    assert "Authorization" not in seen[0].headers


# --------------------------------------------------------------------------------------------
# query-string keys, richer error mapping, conditional GET, body cap (added with issue 3)
# --------------------------------------------------------------------------------------------

def test_query_auth_sends_the_key_as_a_parameter_not_a_header(clock: FakeClock) -> None:
    handler, seen = sequence(ok({"a": 1}))
    with client(handler, clock, auth="query", auth_param="key") as http:
        http.get_json("/things", {"part": "id"})
    assert seen[0].url.params["key"] == TOKEN and seen[0].url.params["part"] == "id"
    assert "authorization" not in seen[0].headers


def test_auth_none_never_sends_the_token(clock: FakeClock) -> None:
    handler, seen = sequence(ok())
    with client(handler, clock, auth="none") as http:
        http.get_json("/x")
    assert "authorization" not in seen[0].headers and TOKEN not in str(seen[0].url)
    with pytest.raises(ValueError, match="auth must be"):
        client(handler, clock, auth="cookie")


def test_secret_query_parameters_are_redacted_from_messages(clock: FakeClock) -> None:
    echo = httpx.Response(400, text="bad request for /v3/videos?id=1&key=AIzaOTHERKEY123&access_token=abc")
    with client(sequence(echo)[0], clock, auth="query") as http, pytest.raises(ConnectorError) as info:
        http.get_json("/videos")
    message = str(info.value)
    assert "AIzaOTHERKEY123" not in message and "access_token=<redacted>" in message and "key=<redacted>" in message


def test_httpx_and_httpcore_loggers_are_kept_at_warning() -> None:
    import logging

    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING


def test_error_hook_may_return_a_mapping_with_retry_at_and_hint(clock: FakeClock) -> None:
    from socialhub.sources.http import ErrorMapping

    when = NOW + timedelta(hours=5)

    def hook(status: int, body: object) -> ErrorMapping:
        assert body == {"error": {"errors": [{"reason": "quotaExceeded"}]}}
        return ErrorMapping(RateLimited, retry_at=when, hint="come back tomorrow")

    response = httpx.Response(403, json={"error": {"errors": [{"reason": "quotaExceeded"}]}})
    with client(sequence(response)[0], clock, error_hook=hook) as http, pytest.raises(RateLimited) as info:
        http.get_json("/videos")
    assert info.value.retry_at == when and info.value.status == 403 and info.value.hint == "come back tomorrow"
    assert "quotaExceeded" in str(info.value)                # Google's nested error envelope is read


def test_error_hook_sees_text_bodies_too(clock: FakeClock) -> None:
    bodies: list[object] = []

    def hook(status: int, body: object) -> None:
        bodies.append(body)

    with client(sequence(httpx.Response(403, text="<html>blocked</html>"))[0], clock, error_hook=hook) as http:
        with pytest.raises(AuthError):
            http.get_json("/x")
    assert bodies == ["<html>blocked</html>"]


def test_conditional_get_returns_304_only_when_allowed(clock: FakeClock) -> None:
    handler, seen = sequence(httpx.Response(304), httpx.Response(304))
    with client(handler, clock) as http:
        response = http.get("/feed.xml", headers={"If-None-Match": '"abc"'}, allow_not_modified=True)
        assert response.status_code == 304 and seen[0].headers["if-none-match"] == '"abc"'
        with pytest.raises(ConnectorError, match="unexpected redirect"):
            http.get("/feed.xml")


def test_bodies_over_the_limit_are_refused(clock: FakeClock) -> None:
    big = httpx.Response(200, content=b"x" * 2048)
    with client(sequence(big)[0], clock, extra={"max_body_bytes": 1024}) as http:
        with pytest.raises(MalformedResponse, match="2048 bytes exceeds the 1024-byte limit"):
            http.get_text("/big")


def test_user_agent_from_extra(clock: FakeClock) -> None:
    handler, seen = sequence(ok())
    with client(handler, clock, extra={"user_agent": "hub:socialhub:0.1 (by /u/ops)"}) as http:
        http.get_json("/x")
    assert seen[0].headers["user-agent"] == "hub:socialhub:0.1 (by /u/ops)"
