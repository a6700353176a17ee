"""The registry: platform name -> connector, and a helpful error for unknown names."""

from __future__ import annotations

import pytest

from socialhub.errors import ConfigError
from socialhub.models import PLATFORMS
from socialhub.sources.base import ConnectorConfig
from socialhub.sources.bluesky import BlueskyConnector
from socialhub.sources.mastodon import MastodonConnector
from socialhub.sources.registry import CONNECTORS, get_connector


@pytest.mark.parametrize("platform, cls", [("mastodon", MastodonConnector), ("bluesky", BlueskyConnector)])
def test_builds_the_platform_connector_with_injected_time(platform: str, cls: type) -> None:
    def sleep(_: float) -> None:
        return None

    connector = get_connector(platform, ConnectorConfig(base_url="https://x.example"), sleep=sleep)
    assert type(connector) is cls and connector.platform == platform and connector.sleep is sleep


def test_unknown_platform_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        get_connector("myspace", ConnectorConfig(base_url="https://x.example"))
    assert "'myspace'" in str(info.value) and "bluesky, mastodon" in str(info.value)


def test_every_registered_platform_is_a_known_platform() -> None:
    assert set(CONNECTORS) <= set(PLATFORMS)
    assert all(cls.platform == name for name, cls in CONNECTORS.items())
