"""Shared fixtures: a fake clock (so nothing really sleeps) and a replay server on that clock."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from sources_support import FakeClock

from socialhub.replay import ReplayServer
from socialhub.sources.base import Connector, ConnectorConfig
from socialhub.sources.registry import get_connector


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[ReplayServer]:
    with ReplayServer(now=clock.now) as srv:
        yield srv


@pytest.fixture
def connect(server: ReplayServer, clock: FakeClock) -> Callable[..., Connector]:
    """``connect("mastodon", page_size=2, token=...)`` -> a connector aimed at the replay server."""

    def make(platform: str, **config: Any) -> Connector:
        config.setdefault("timeout", 5.0)
        return get_connector(platform, ConnectorConfig(base_url=server.base_url(platform), **config),
                             now=clock.now, sleep=clock.sleep)

    return make
