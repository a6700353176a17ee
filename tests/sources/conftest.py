"""Shared fixtures: a fake clock (so nothing really sleeps) and a replay server on that clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from socialhub.replay import ReplayServer
from socialhub.sources.base import Connector, ConnectorConfig
from socialhub.sources.registry import get_connector

FIXTURES = Path(__file__).with_name("fixtures")
TOKEN = "tok-3f9a-SECRET-do-not-leak"


class FakeClock:
    """``now`` and ``sleep`` for both the connector and the replay server: sleeping advances time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.t = start or datetime.now(timezone.utc)
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


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
