"""The replay server answering like real platforms (issue 19): latency with jitter, and the
platforms' published rate limits enforced with their own 429s."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sources_support import FakeClock

from socialhub.errors import RateLimited
from socialhub.replay import ReplayServer
from socialhub.replay.server import LATENCY_ENV, parse_latency
from socialhub.sources.base import Connector
from socialhub.sources.limits import LIMITS

INSTANCE = "social.hubdemo.example"
GY = f"ghost_yardz@{INSTANCE}"
LOOKUP = f"/mastodon/api/v1/accounts/lookup?acct={GY}"


def get(server: ReplayServer, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{server.port}{path}", timeout=10)


# --------------------------------------------------------------------------------------------
# latency
# --------------------------------------------------------------------------------------------

def test_no_latency_by_default(server: ReplayServer) -> None:
    assert all(server.latency(p) == (0.0, 0.0) for p in [*server.platforms(), "cdn"])
    server.handle("GET", LOOKUP, {})
    assert server.delays("mastodon") == [0.0]
    assert server.stats()["mastodon"]["latency_max"] == 0.0


def test_latency_is_applied_to_every_request() -> None:
    with ReplayServer(latency=0.05, jitter=0.01, seed=7) as server:
        started = time.monotonic()
        for _ in range(4):
            assert get(server, LOOKUP).status_code == 200
        elapsed = time.monotonic() - started
        delays = server.delays("mastodon")
        assert len(delays) == 4 and all(0.04 <= d <= 0.06 for d in delays)
        assert elapsed >= sum(delays) * 0.95 >= 4 * 0.04 * 0.95
        stats = server.stats()["mastodon"]
        assert stats["requests"] == 4 and stats["status_429"] == 0
        assert stats["latency_mean"] == pytest.approx(sum(delays) / 4)
        assert stats["latency_max"] == max(delays)


def test_media_gateway_answers_are_delayed_too() -> None:
    with ReplayServer(latency=0.03, seed=1) as server:
        url = server.media_urls()[0]
        started = time.monotonic()
        response = httpx.get(server.media_gateway + "/" + url.split("://", 1)[1], timeout=30)
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.03 * 0.95
        assert server.delays("cdn") == [0.03] and server.stats()["cdn"]["requests"] == 1


def test_per_platform_latency_and_off_again(server: ReplayServer) -> None:
    server.set_latency("bluesky", 0.2, 0.1)
    assert server.latency("bluesky") == (0.2, 0.1) and server.latency("mastodon") == (0.0, 0.0)
    server.set_latency(None, 0.3)
    assert all(server.latency(p) == (0.3, 0.0) for p in [*server.platforms(), "cdn"])
    server.set_latency(None, 0)
    server.handle("GET", LOOKUP, {})
    assert server.delays("mastodon") == [0.0]
    with pytest.raises(KeyError, match="not served"):
        server.set_latency("myspace", 0.1)
    with pytest.raises(ValueError, match="not negative"):
        server.set_latency("mastodon", -0.1)


def test_jitter_never_makes_a_negative_delay(server: ReplayServer) -> None:
    server.set_latency("mastodon", 0.0001, 0.0001)
    for _ in range(50):
        server._latency["mastodon"].draw()
    assert all(0.0 <= d <= 0.0002 for d in server.delays("mastodon"))


def _drawn(seed: int | None, n: int = 20) -> dict[str, list[float]]:
    server = ReplayServer(latency=0.2, jitter=0.1, seed=seed)
    out = {}
    for platform in ("mastodon", "x"):
        lat = server._latency[platform]
        lat.mean, lat.jitter = 0.2, 0.1
        out[platform] = [lat.draw() for _ in range(n)]
    return out


def test_seeded_delays_are_reproducible() -> None:
    first, again, other = _drawn(42), _drawn(42), _drawn(43)
    assert first == again
    assert first != other
    assert first["mastodon"] != first["x"]                 # one generator per platform
    assert len(set(first["mastodon"])) == 20 and all(0.1 <= d <= 0.3 for d in first["mastodon"])


def test_seeded_delays_over_http_do_not_depend_on_other_platforms_traffic() -> None:
    def run(extra_bluesky: int) -> list[float]:
        server = ReplayServer(latency=0.001, jitter=0.001, seed=5)
        with server:
            for i in range(6):
                server.handle("GET", LOOKUP, {})
                for _ in range(extra_bluesky if i % 2 else 0):
                    server.handle("GET", "/bluesky/xrpc/app.bsky.actor.getProfile?actor=nobody", {})
        return server.delays("mastodon")

    assert run(0) == run(3)


def test_concurrent_requests_overlap() -> None:
    with ReplayServer(latency=0.2, seed=3) as server:
        with ThreadPoolExecutor(max_workers=8) as pool:
            started = time.monotonic()
            statuses = list(pool.map(lambda _: get(server, LOOKUP).status_code, range(8)))
            elapsed = time.monotonic() - started
        assert statuses == [200] * 8
        assert elapsed >= 0.2 * 0.95
        assert elapsed < 8 * 0.2 * 0.75, f"8 requests of 0.2 s took {elapsed:.2f} s: they did not overlap"
        assert server.stats()["mastodon"]["requests"] == 8


def test_latency_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LATENCY_ENV, "0.2,0.05")
    assert ReplayServer().latency("reddit") == (0.2, 0.05)
    assert ReplayServer(latency=0.1).latency("reddit") == (0.1, 0.0)     # explicit values win
    monkeypatch.setenv(LATENCY_ENV, "0.3")
    assert ReplayServer().latency("cdn") == (0.3, 0.0)
    monkeypatch.setenv(LATENCY_ENV, "fast")
    with pytest.raises(ValueError, match=LATENCY_ENV):
        ReplayServer()


@pytest.mark.parametrize("text", ["", "a", "0.1,b", "-1", "0.1,-0.1", "1,2,3", "nan", "inf"])
def test_bad_latency_settings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_latency(text)


def test_cli_passes_latency_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from socialhub.cli import build_parser

    seen: list[list[str]] = []
    monkeypatch.setattr("socialhub.replay.__main__.main", lambda argv: seen.append(argv) or 0)
    args = build_parser().parse_args(["replay", "--latency", "0.2", "--jitter", "0.05", "--published-limits"])
    assert args.func(args) == 0
    assert seen == [["--port", "0", "--latency", "0.2", "--jitter", "0.05", "--published-limits"]]

    from socialhub.replay.__main__ import build_parser as replay_parser
    parsed = replay_parser().parse_args(seen[0])
    assert (parsed.latency, parsed.jitter, parsed.seed, parsed.published_limits) == (0.2, 0.05, None, True)


# --------------------------------------------------------------------------------------------
# enforced published limits
# --------------------------------------------------------------------------------------------

def test_defaults_are_unchanged(server: ReplayServer) -> None:
    window = server._platform("mastodon").window
    assert (window.limit, window.window) == (300, 300.0)


def test_enforce_published_limits_sets_every_window(server: ReplayServer) -> None:
    applied = server.enforce_published_limits(scale=0.01)
    assert set(applied) == set(server.platforms())
    for name, (requests, seconds) in applied.items():
        window = server._platform(name).window
        assert requests == LIMITS[name].requests == window.limit == window.remaining
        assert seconds == pytest.approx(LIMITS[name].window.total_seconds() * 0.01) == window.window
    assert applied["mastodon"] == (300, pytest.approx(9.0))
    with pytest.raises(ValueError):
        server.enforce_published_limits(scale=0)
    with pytest.raises(KeyError):
        server.enforce_published_limits("myspace")


def test_mastodon_answers_429_with_its_headers_after_the_budget_and_refills(
        server: ReplayServer, clock: FakeClock) -> None:
    server.enforce_published_limits("mastodon", scale=0.01)           # 300 requests per 9 s
    for i in range(300):
        response = server.handle("GET", LOOKUP, {})
        assert response.status == 200, i
    assert response.headers["X-RateLimit-Remaining"] == "0"
    refused = server.handle("GET", LOOKUP, {})
    assert refused.status == 429
    assert json.loads(refused.body) == {"error": "Too many requests"}
    assert refused.headers["X-RateLimit-Limit"] == "300" and refused.headers["X-RateLimit-Remaining"] == "0"
    reset = refused.headers["X-RateLimit-Reset"]
    assert reset == (clock.now() + timedelta(seconds=9)).isoformat(timespec="microseconds").replace("+00:00", "Z")
    stats = server.stats()["mastodon"]
    assert (stats["requests"], stats["status_429"], stats["exhausted"]) == (301, 1, 1)

    clock.sleep(8.9)
    assert server.handle("GET", LOOKUP, {}).status == 429              # not yet
    clock.sleep(0.2)
    again = server.handle("GET", LOOKUP, {})                           # the window refilled
    assert again.status == 200 and again.headers["X-RateLimit-Remaining"] == "299"


@pytest.mark.parametrize("platform,path,header", [
    ("x", "/x/2/users/by/username/nobody", "x-rate-limit-reset"),
    ("bluesky", "/bluesky/xrpc/app.bsky.actor.getProfile?actor=nobody", "RateLimit-Reset"),
    ("reddit", "/reddit/user/nobody/about.json", "X-Ratelimit-Reset"),
    ("telegram", "/telegram/s/nobody", "Retry-After"),
])
def test_each_platform_refuses_in_its_own_shape(server: ReplayServer, platform: str, path: str,
                                                header: str) -> None:
    server.enforce_published_limits(platform)
    server.set_rate_limit(platform, remaining=0)                      # the budget, already spent
    refused = server.handle("GET", path, {})
    assert refused.status == 429 and header in refused.headers
    assert server.stats()[platform]["status_429"] == 1


def test_youtube_quota_is_its_403(server: ReplayServer) -> None:
    server.enforce_published_limits("youtube")
    server.set_rate_limit("youtube", remaining=0)
    refused = server.handle("GET", "/youtube/channels?forHandle=@nobody&part=id", {})
    assert refused.status == 403 and b"quotaExceeded" in refused.body
    stats = server.stats()["youtube"]
    assert (stats["status_429"], stats["exhausted"]) == (0, 1)


def _spend(server: ReplayServer, platform: str = "mastodon") -> None:
    window = server._platform(platform).window
    for _ in range(window.remaining):
        assert server.handle("GET", LOOKUP, {}).status == 200


def test_mastodon_connector_raises_rate_limited_on_the_enforced_limit(
        server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    server.enforce_published_limits("mastodon")                      # 300 per 15 minutes
    _spend(server)
    with pytest.raises(RateLimited) as info:
        connect("mastodon").fetch(GY, None)
    assert info.value.retry_at == pytest.approx(clock.now() + timedelta(minutes=15), abs=timedelta(seconds=1))
    assert clock.sleeps == []
    assert server.stats()["mastodon"]["status_429"] == 1


def test_mastodon_connector_waits_out_a_short_enforced_window(
        server: ReplayServer, connect: Callable[..., Connector], clock: FakeClock) -> None:
    server.enforce_published_limits("mastodon", scale=0.01)          # 300 per 9 s: within max_wait
    _spend(server)
    result = connect("mastodon").fetch(GY, None)
    assert len(result.posts) == 8
    assert len(clock.sleeps) == 1 and 8.0 <= clock.sleeps[0] <= 11.0
    assert server.stats()["mastodon"]["status_429"] == 1


def test_reset_stats(server: ReplayServer) -> None:
    server.handle("GET", LOOKUP, {})
    server.reset_stats()
    assert server.stats()["mastodon"]["requests"] == 0 and server.delays("mastodon") == []
