"""The registry: platform name -> connector, default endpoints, and helpful errors for unknown names."""

from __future__ import annotations

import pytest

from socialhub.errors import ConfigError
from socialhub.models import PLATFORMS
from socialhub.sources.base import ConnectorConfig
from socialhub.sources.bluesky import BlueskyConnector
from socialhub.sources.mastodon import MastodonConnector
from socialhub.sources.reddit import RedditConnector
from socialhub.sources.registry import CONNECTORS, PUBLIC_BASE_URLS, default_base_url, get_connector
from socialhub.sources.rss import RssConnector
from socialhub.sources.telegram import TelegramConnector
from socialhub.sources.x import XConnector
from socialhub.sources.youtube import YouTubeConnector


@pytest.mark.parametrize("platform, cls", [
    ("mastodon", MastodonConnector), ("bluesky", BlueskyConnector), ("youtube", YouTubeConnector),
    ("x", XConnector), ("reddit", RedditConnector), ("telegram", TelegramConnector), ("rss", RssConnector)])
def test_builds_the_platform_connector_with_injected_time(platform: str, cls: type) -> None:
    def sleep(_: float) -> None:
        return None

    connector = get_connector(platform, ConnectorConfig(base_url="https://x.example"), sleep=sleep)
    assert type(connector) is cls and connector.platform == platform and connector.sleep is sleep


def test_unknown_platform_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        get_connector("myspace", ConnectorConfig(base_url="https://x.example"))
    assert "'myspace'" in str(info.value) and "bluesky, mastodon, reddit, rss, telegram, x, youtube" in str(info.value)


def test_every_platform_is_registered_once_under_its_own_name() -> None:
    assert set(CONNECTORS) == set(PLATFORMS) == set(PUBLIC_BASE_URLS)
    assert all(cls.platform == name for name, cls in CONNECTORS.items())


@pytest.mark.parametrize("platform, url", [
    ("youtube", "https://www.googleapis.com/youtube/v3"), ("x", "https://api.x.com"),
    ("reddit", "https://www.reddit.com"), ("telegram", "https://t.me"), ("rss", ""),
    ("mastodon", "https://mastodon.social"), ("bluesky", "https://public.api.bsky.app")])
def test_default_base_urls_are_the_public_endpoints(platform: str, url: str) -> None:
    assert default_base_url(platform) == url


def test_default_base_url_of_an_unknown_platform() -> None:
    with pytest.raises(ConfigError, match="no default base URL for platform 'myspace'"):
        default_base_url("myspace")
