"""Platform name -> connector class, so the pipeline never imports a platform module by name.

A new platform is one module with a ``Connector`` subclass plus one line in ``CONNECTORS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from socialhub.errors import ConfigError
from socialhub.sources.base import Connector, ConnectorConfig, utcnow
from socialhub.sources.bluesky import BlueskyConnector
from socialhub.sources.mastodon import MastodonConnector

CONNECTORS: dict[str, type[Connector]] = {
    MastodonConnector.platform: MastodonConnector,
    BlueskyConnector.platform: BlueskyConnector,
}


def get_connector(platform: str, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                  sleep: Callable[[float], None] | None = None) -> Connector:
    """Build the connector for ``platform``; unknown names raise ``ConfigError`` listing the known ones."""
    try:
        cls = CONNECTORS[platform]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise ConfigError(f"no connector for platform {platform!r}; known: {known}",
                          hint="fix the platform in the watchlist, or implement the connector and "
                               "register it in socialhub/sources/registry.py") from None
    return cls(config, now=now, sleep=sleep)
