"""Reddit OAuth with an app's client credentials, against the replay server's token endpoint.

App tokens expire after about an hour: the connector caches one per process, renews it five
minutes before it expires and once more on a 401; the secret and the tokens are never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sources_support import FakeClock

from socialhub.errors import AuthError, InvalidConnection
from socialhub.replay import ReplayServer
from socialhub.sources import reddit
from socialhub.sources.base import ConnectorConfig
from socialhub.sources.connection import connector_config_from_connection
from socialhub.sources.reddit import OAUTH_BASE, TOKEN_URL, RedditConnector, forget_app_tokens

TB = "t0pboy_ends"
CLIENT_ID = "hub-app-id-7"
SECRET = "s3cr3t-client-secret-do-not-log"


@pytest.fixture(autouse=True)
def fresh_token_cache() -> Iterator[None]:
    forget_app_tokens()
    yield
    forget_app_tokens()


def app(server: ReplayServer, clock: FakeClock, secret: str = SECRET) -> RedditConnector:
    config = ConnectorConfig(base_url=server.base_url("reddit"), client_id=CLIENT_ID, client_secret=secret,
                             timeout=5.0)
    return RedditConnector(config, now=clock.now, sleep=clock.sleep)


def token_requests(server: ReplayServer) -> list[tuple[str, str]]:
    return [(m, p) for m, p in server.request_log if p.endswith("/api/v1/access_token")]


def cached_tokens() -> list[str]:
    return [token for token, _ in reddit._TOKENS.values()]


def test_client_credentials_token_is_fetched_once_and_used_on_oauth_paths(server: ReplayServer,
                                                                          clock: FakeClock) -> None:
    server.require_app_token("reddit", CLIENT_ID, SECRET)
    connector = app(server, clock)
    assert len(connector.fetch(TB, None).posts) == 5
    assert len(connector.fetch(TB, None).posts) == 5                  # same process: the cached token
    assert token_requests(server) == [("POST", "/reddit/api/v1/access_token")]
    listings = [p for p in server.paths("reddit") if "/user/" in p]
    assert listings and all(".json" not in p for p in listings)


def test_token_is_renewed_before_it_expires(server: ReplayServer, clock: FakeClock) -> None:
    server.require_app_token("reddit", CLIENT_ID, SECRET, lifetime=3600)
    connector = app(server, clock)
    connector.fetch(TB, None)
    clock.t += timedelta(minutes=50)                                   # 10 min left: still used
    connector.fetch(TB, None)
    assert len(token_requests(server)) == 1
    clock.t += timedelta(minutes=6)                                    # 4 min left: renewed first
    assert len(connector.fetch(TB, None).posts) == 5
    assert len(token_requests(server)) == 2
    clock.t += timedelta(hours=3)                                      # long expired: renewed, no 401
    assert len(connector.fetch(TB, None).posts) == 5 and len(token_requests(server)) == 3


def test_a_rejected_token_is_renewed_once_on_401(server: ReplayServer, clock: FakeClock) -> None:
    server.require_app_token("reddit", CLIENT_ID, SECRET)
    connector = app(server, clock)
    connector.fetch(TB, None)
    key = next(iter(reddit._TOKENS))
    reddit._TOKENS[key] = ("revoked-token", clock.now() + timedelta(hours=1))   # e.g. revoked on Reddit
    assert len(connector.fetch(TB, None).posts) == 5
    assert len(token_requests(server)) == 2 and "revoked-token" not in cached_tokens()


def test_wrong_secret_is_an_auth_error_that_names_the_connection_not_the_secret(
        server: ReplayServer, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    server.require_app_token("reddit", CLIENT_ID, SECRET)
    caplog.set_level(logging.DEBUG)
    connector = app(server, clock, secret="wrong-" + SECRET)
    with pytest.raises(AuthError) as info:
        connector.fetch(TB, None)
    assert info.value.status == 401 and "socialhub_reddit" in (info.value.hint or "")
    assert [p for p in server.paths("reddit") if "/user/" in p] == []           # no listing without a token
    for text in (str(info.value), repr(info.value), info.value.hint or "", repr(connector.config), caplog.text):
        assert SECRET not in text


def test_secret_and_tokens_are_never_logged(server: ReplayServer, clock: FakeClock,
                                           caplog: pytest.LogCaptureFixture) -> None:
    server.require_app_token("reddit", CLIENT_ID, SECRET)
    caplog.set_level(logging.DEBUG)
    server.inject_fault("reddit", 503, match="/submitted")              # a retry is logged too
    app(server, clock).fetch(TB, None)
    [token] = cached_tokens()
    assert "obtained an app token" in caplog.text
    for secret in (SECRET, token, CLIENT_ID):
        assert secret not in caplog.text


def test_without_a_token_the_replay_refuses_listings_when_required(server: ReplayServer, clock: FakeClock) -> None:
    server.require_app_token("reddit", CLIENT_ID, SECRET)
    public = RedditConnector(ConnectorConfig(base_url=server.base_url("reddit")), now=clock.now, sleep=clock.sleep)
    with pytest.raises(AuthError):
        public.fetch(TB, None)


def test_replay_token_endpoint_shapes(server: ReplayServer) -> None:
    server.require_app_token("reddit", CLIENT_ID, SECRET)
    url = server.base_url("reddit") + "/api/v1/access_token"
    with httpx.Client() as http:
        ok = http.post(url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, SECRET))
        grant = http.post(url, data={"grant_type": "password"}, auth=(CLIENT_ID, SECRET))
        bad = http.post(url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "nope"))
        other = http.post(server.base_url("mastodon") + "/api/v1/accounts/lookup", data={"a": "b"})
    assert ok.status_code == 200 and ok.json()["token_type"] == "bearer" and ok.json()["expires_in"] == 3600
    assert grant.json() == {"error": "unsupported_grant_type"}
    assert bad.status_code == 401 and other.status_code == 405


def test_on_the_public_reddit_host_the_app_uses_oauth_reddit_com() -> None:
    connector = RedditConnector(ConnectorConfig(base_url="https://www.reddit.com", client_id=CLIENT_ID,
                                                client_secret=SECRET))
    assert connector.api_config.base_url == OAUTH_BASE and connector.token_url == TOKEN_URL
    custom = RedditConnector(ConnectorConfig(base_url="https://proxy.example/reddit", client_id=CLIENT_ID,
                                             client_secret=SECRET, extra={"token_url": "https://auth.example/t"}))
    assert custom.api_config.base_url == "https://proxy.example/reddit" and custom.token_url == "https://auth.example/t"


def test_connection_login_is_the_client_id_and_password_the_secret() -> None:
    config = connector_config_from_connection("reddit", login=CLIENT_ID, password=SECRET,
                                              extra=json.dumps({"token_url": "https://www.reddit.com/api/v1/access_token"}))
    assert (config.client_id, config.client_secret, config.token) == (CLIENT_ID, SECRET, None)
    assert SECRET not in repr(config) and CLIENT_ID not in repr(config)
    assert connector_config_from_connection("reddit", password="bearer-only").token == "bearer-only"
    assert connector_config_from_connection("mastodon", login="ignored", password="tok").client_id is None
    with pytest.raises(InvalidConnection, match="client secret is missing"):
        connector_config_from_connection("reddit", login=CLIENT_ID)
