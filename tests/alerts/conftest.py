"""Fixtures for the alerting tests: the fake Slack API shared by the session, reset per test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest
from slack_sdk import WebClient

from ._factory import TOKEN

try:
    from tests.servers.slack_api import SlackAPIServer
except ImportError:  # run as `pytest` rather than `python -m pytest`: the repo root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.servers.slack_api import SlackAPIServer


@pytest.fixture(scope="session")
def slack_session() -> Iterator[SlackAPIServer]:
    with SlackAPIServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def slack(slack_session: SlackAPIServer) -> SlackAPIServer:
    """The shared fake Slack server, with its records and pending faults cleared."""
    slack_session.reset()
    return slack_session


@pytest.fixture
def client(slack: SlackAPIServer) -> WebClient:
    # No retry handlers: the sink owns retries, and the default connection-error handler
    # would add its own sleeps.
    return WebClient(token=TOKEN, base_url=slack.base_url, timeout=5, retry_handlers=[])
