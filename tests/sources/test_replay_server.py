"""The replay server itself: demo data, pagination semantics, rate limits, faults, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml
from sources_support import FakeClock

from socialhub.models import CATEGORIES, parse_iso
from socialhub.replay import DEMO_DATA, ReplayServer, load_data
from socialhub.replay.__main__ import main

INCLUDE = Path(__file__).resolve().parents[2] / "include"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def statuses_url(server: ReplayServer, http: httpx.Client, username: str = "ghost_yardz") -> str:
    account = http.get(f"{server.base_url('mastodon')}/api/v1/accounts/lookup", params={"acct": username}).json()
    return f"{server.base_url('mastodon')}/api/v1/accounts/{account['id']}/statuses"


# --------------------------------------------------------------------------------------------
# demo data
# --------------------------------------------------------------------------------------------

def test_demo_data_is_small_fictional_and_labelled() -> None:
    spec = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))
    assert len(spec["mastodon"]["accounts"]) == 3 and len(spec["bluesky"]["accounts"]) == 2
    posts = [p for platform in ("mastodon", "bluesky") for a in spec[platform]["accounts"] for p in a["posts"]]
    for platform in ("mastodon", "bluesky"):
        for account in spec[platform]["accounts"]:
            assert 5 <= len(account["posts"]) <= 10, account
    expected = {c for p in posts for c in p.get("expect", [])}
    assert expected == set(CATEGORIES)                                   # every category is demonstrated
    assert sum(1 for p in posts if not p.get("expect")) > sum(1 for p in posts if p.get("expect"))  # mostly benign
    assert sum(1 for p in posts if "drop" in p or "override" in p) == 2
    hosts = [spec["mastodon"]["instance"]] + [a["handle"] for a in spec["bluesky"]["accounts"]]
    assert all(h.endswith(".example") for h in hosts)                    # reserved, never real


def test_post_ages_are_relative_to_server_start(clock: FakeClock, server: ReplayServer, http: httpx.Client) -> None:
    newest = http.get(statuses_url(server, http), params={"limit": 1}).json()[0]
    assert parse_iso(newest["created_at"]) == pytest.approx(clock.now() - timedelta(minutes=30),
                                                             abs=timedelta(milliseconds=2))


def test_bad_data_is_rejected_with_a_clear_message(tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match=r"unknown platform\(s\) \['myspace'\]"):
        load_data({"myspace": {}})
    with pytest.raises(ValueError, match="cannot read replay data"):
        load_data(tmp_path / "missing.yaml")
    bad_key = {"mastodon": {"accounts": [{"username": "a", "posts": [{"txt": "typo"}]}]}}
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['txt'\]"):
        ReplayServer(bad_key)
    with pytest.raises(ValueError, match="bad age"):
        ReplayServer({"bluesky": {"accounts": [{"handle": "a.example", "posts": [{"text": "x", "age": "2 fortnights"}]}]}})
    with ReplayServer(now=clock.now) as server, pytest.raises(KeyError, match="known: riverside_news"):
        server.add_post("mastodon", "nobody", {"text": "x"})


# --------------------------------------------------------------------------------------------
# Mastodon semantics
# --------------------------------------------------------------------------------------------

def test_mastodon_link_pagination_max_since_min(server: ReplayServer, http: httpx.Client) -> None:
    url = statuses_url(server, http)
    page1 = http.get(url, params={"limit": 3})
    ids1 = [s["id"] for s in page1.json()]
    assert len(ids1) == 3 and ids1 == sorted(ids1, key=int, reverse=True)
    assert set(page1.links) == {"next", "prev"}
    assert page1.links["next"]["url"].startswith(server.base_url("mastodon"))   # same origin as requested
    page2 = http.get(page1.links["next"]["url"])
    ids2 = [s["id"] for s in page2.json()]
    assert len(ids2) == 3 and int(ids2[0]) < int(ids1[-1])
    back = http.get(page2.links["prev"]["url"]).json()                        # min_id: immediately newer
    assert [s["id"] for s in back] == ids1
    since = http.get(url, params={"since_id": ids2[0], "limit": 2}).json()   # since_id: the newest above
    assert [s["id"] for s in since] == ids1[:2]
    last = http.get(url, params={"limit": 40})
    assert len(last.json()) == 9 and "next" not in last.links and "prev" in last.links   # short page: no next
    empty = http.get(url, params={"since_id": ids1[0]})
    assert empty.json() == [] and "link" not in empty.headers


def test_mastodon_rate_limit_headers_and_429(server: ReplayServer, clock: FakeClock, http: httpx.Client) -> None:
    url = f"{server.base_url('mastodon')}/api/v1/instance"
    server.set_rate_limit("mastodon", limit=3, remaining=3, reset_in=60)
    remaining = [http.get(url).headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = http.get(url)
    assert refused.status_code == 429 and refused.json() == {"error": "Too many requests"}
    assert "retry-after" not in refused.headers                                   # Mastodon sends none
    assert parse_iso(refused.headers["X-RateLimit-Reset"]) == clock.now() + timedelta(seconds=60)
    clock.sleep(60)
    assert http.get(url).status_code == 200


# --------------------------------------------------------------------------------------------
# Bluesky semantics
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [1, 2, 3, 100])
def test_bluesky_cursor_walks_every_item_exactly_once(server: ReplayServer, http: httpx.Client, limit: int) -> None:
    handle = "zone2-rico.hubdemo.example"
    for i in range(4):   # same instant on the fake clock: only the cursor's keyset tie-break keeps them apart
        server.add_post("bluesky", handle, {"text": f"same instant {i}"})
    url = f"{server.base_url('bluesky')}/xrpc/app.bsky.feed.getAuthorFeed"
    seen, cursor = [], None
    for _ in range(20):
        body = http.get(url, params={"actor": handle, "limit": limit, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["post"]["uri"] for item in body["feed"]]
        cursor = body.get("cursor")
        if not cursor:
            break
    assert len(seen) == 11 and len(set(seen)) == 11


@pytest.mark.parametrize("params, message", [
    ({"actor": "zone2-rico.hubdemo.example", "limit": 101}, "limit can not be greater than 100"),
    ({"actor": "zone2-rico.hubdemo.example", "cursor": "garbage"}, "Malformed cursor"),
    ({"actor": "nobody.example"}, "Profile not found"),
    ({}, 'must have the property "actor"'),
])
def test_bluesky_errors_use_the_xrpc_shape(server: ReplayServer, http: httpx.Client, params: dict, message: str) -> None:
    response = http.get(f"{server.base_url('bluesky')}/xrpc/app.bsky.feed.getAuthorFeed", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidRequest" and message in response.json()["message"]
    assert response.headers["RateLimit-Policy"] == "3000;w=300" and int(response.headers["RateLimit-Reset"]) > 0


# --------------------------------------------------------------------------------------------
# faults, auth, log, routing
# --------------------------------------------------------------------------------------------

def test_faults_hit_the_next_n_matching_requests_only(server: ReplayServer, http: httpx.Client) -> None:
    base = server.base_url("mastodon")
    server.inject_fault("mastodon", 500, count=2, match="/instance")
    assert http.get(f"{base}/api/v1/accounts/lookup", params={"acct": "chef_marta"}).status_code == 200
    assert [http.get(f"{base}/api/v1/instance").status_code for _ in range(3)] == [500, 500, 200]
    server.inject_fault("mastodon", 429, retry_after=7)
    limited = http.get(f"{base}/api/v1/instance")
    assert limited.headers["Retry-After"] == "7" and limited.headers["X-RateLimit-Remaining"] == "0"
    server.inject_fault("mastodon", 200, body=b'[{"id": "1", "con')
    assert http.get(f"{base}/api/v1/instance").content == b'[{"id": "1", "con'


def test_truncate_cuts_a_real_body(server: ReplayServer, http: httpx.Client) -> None:
    url = f"{server.base_url('bluesky')}/xrpc/app.bsky.feed.getAuthorFeed"
    full = http.get(url, params={"actor": "zone2-rico.hubdemo.example"}).content
    server.inject_fault("bluesky", 200, truncate=True)
    cut = http.get(url, params={"actor": "zone2-rico.hubdemo.example"}).content
    assert cut == full[: len(full) // 2]


def test_required_token_and_request_log(server: ReplayServer, http: httpx.Client) -> None:
    server.require_token("mastodon", "abc")
    url = f"{server.base_url('mastodon')}/api/v1/instance"
    denied = http.get(url)
    assert denied.status_code == 401 and denied.json() == {"error": "The access token is invalid"}
    assert http.get(url, headers={"Authorization": "Bearer abc"}).status_code == 200
    assert server.request_log[-2:] == [("GET", "/mastodon/api/v1/instance")] * 2


def test_unknown_prefix_and_writes_are_refused(server: ReplayServer, http: httpx.Client) -> None:
    response = http.get(f"http://127.0.0.1:{server.port}/myspace/api/posts")
    assert response.status_code == 404
    assert response.json()["served"] == ["/mastodon", "/bluesky", "/youtube", "/x", "/reddit", "/telegram", "/rss"]
    assert http.post(f"{server.base_url('mastodon')}/api/v1/statuses", json={"status": "x"}).status_code == 405


def test_binds_to_loopback_only(server: ReplayServer) -> None:
    assert server._httpd is not None and server._httpd.server_address[0] == "127.0.0.1"


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and "--port" in out and "--data" in out
    assert "fictional" in out.lower()


def test_cli_runs_in_the_foreground_and_prints_base_urls() -> None:
    env = {**os.environ, "PYTHONPATH": str(INCLUDE)}
    proc = subprocess.Popen([sys.executable, "-m", "socialhub.replay", "--port", "0"], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        mastodon_url = next(line.split("base_url=")[1].strip() for line in lines if "mastodon" in line and "base_url" in line)
        assert mastodon_url.startswith("http://127.0.0.1:") and mastodon_url.endswith("/mastodon")
        assert any("ghost_yardz@social.hubdemo.example" in line for line in lines)
        response = httpx.get(f"{mastodon_url}/api/v1/accounts/lookup", params={"acct": "chef_marta"}, timeout=5)
        assert response.json()["acct"] == "chef_marta"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
