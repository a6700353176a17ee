"""Platform name -> connector class, so the pipeline never imports a platform module by name.

A new platform is one module with a ``Connector`` subclass plus one line in ``CONNECTORS``
and its public endpoint in ``PUBLIC_BASE_URLS``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from socialhub.errors import ConfigError
from socialhub.sources.base import Connector, ConnectorConfig, utcnow
from socialhub.sources.bluesky import BlueskyConnector
from socialhub.sources.mastodon import MastodonConnector
from socialhub.sources.reddit import RedditConnector
from socialhub.sources.rss import RssConnector
from socialhub.sources.telegram import TelegramConnector
from socialhub.sources.x import XConnector
from socialhub.sources.youtube import DEFAULT_API_BASE, YouTubeConnector

CONNECTORS: dict[str, type[Connector]] = {
    MastodonConnector.platform: MastodonConnector,
    BlueskyConnector.platform: BlueskyConnector,
    YouTubeConnector.platform: YouTubeConnector,
    XConnector.platform: XConnector,
    RedditConnector.platform: RedditConnector,
    TelegramConnector.platform: TelegramConnector,
    RssConnector.platform: RssConnector,
}

#: the public endpoint of each platform (a Connection's base_url overrides it). YouTube's RSS
#: feed lives elsewhere (https://www.youtube.com/feeds/videos.xml, extra ``rss_base_url``);
#: RSS has none: the watched account is the feed URL itself.
PUBLIC_BASE_URLS: dict[str, str] = {
    "mastodon": "https://mastodon.social",
    "bluesky": "https://public.api.bsky.app",
    "youtube": DEFAULT_API_BASE,
    "x": "https://api.x.com",
    "reddit": "https://www.reddit.com",
    "telegram": "https://t.me",
    "rss": "",
}


def default_base_url(platform: str) -> str:
    """The public API base URL of ``platform`` ("" for rss); unknown names raise ``ConfigError``."""
    try:
        return PUBLIC_BASE_URLS[platform]
    except KeyError:
        raise ConfigError(f"no default base URL for platform {platform!r}; known: {', '.join(sorted(PUBLIC_BASE_URLS))}",
                          hint="fix the platform name, or pass --base-url") from None


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
