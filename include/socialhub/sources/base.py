"""The interface every platform connector implements.

A connector turns one watched account's public posts, newer than a stored cursor, into
``Post`` records plus the raw API items they came from (kept as evidence). It never
stores anything and never moves a cursor itself: it *returns* the cursor that the caller
persists only after the batch is durably stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from socialhub.models import Post


@dataclass(slots=True)
class FetchResult:
    posts: list[Post]
    raw_items: list[Any]          # parallel to ``posts``: the item each post was normalised from
    cursor: dict[str, Any]        # the new cursor, to persist after the batch is stored
    pages: int = 0
    notes: list[str] = field(default_factory=list)   # e.g. "stopped at max_pages", "reached look-back horizon"
    units: int = 0                # API quota units spent (YouTube Data API); 0 where there is no unit quota


@dataclass(slots=True)
class ConnectorConfig:
    base_url: str
    token: str | None = field(default=None, repr=False)   # never in reprs/logs
    # an OAuth app's client credentials (Reddit): exchanged for short-lived access tokens
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    lookback: timedelta = timedelta(days=7)
    max_pages: int = 10
    page_size: int = 40
    timeout: float = 10.0
    max_wait: float = 30.0        # longest in-run sleep for a rate-limit reset; longer -> RateLimited
    extra: dict[str, Any] = field(default_factory=dict)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Connector:
    """Base class. Subclasses set ``platform`` and implement ``fetch``."""

    platform: ClassVar[str] = ""

    def __init__(self, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.config = config
        self.now = now
        self.sleep = sleep

    def fetch(self, account: str, cursor: dict[str, Any] | None) -> FetchResult:  # pragma: no cover - interface
        raise NotImplementedError
