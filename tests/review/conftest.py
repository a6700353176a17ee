"""Fixtures for the review tests: a store with delivered alerts, the fake Slack API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink, SlackSink
from socialhub.storage import LocalStore
from tests.review._pipeline import ROUTING, populate
from tests.servers.slack_api import SlackAPIServer

TOKEN = "xoxb-review-test-token"


@pytest.fixture(scope="session")
def slack_server() -> Iterator[SlackAPIServer]:
    with SlackAPIServer(token=TOKEN, channel_ids={"#on-duty": "C0ONDUTY01", "#escalation": "C0ESCAL001"}) as s:
        yield s


@pytest.fixture
def slack(slack_server: SlackAPIServer) -> SlackAPIServer:
    slack_server.reset()
    return slack_server


@pytest.fixture
def slack_sink(slack: SlackAPIServer) -> SlackSink:
    client = WebClient(token=TOKEN, base_url=slack.base_url, timeout=5, retry_handlers=[])
    return SlackSink(client, sleep=lambda s: None)


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture
def routing() -> Routing:
    return Routing.from_dict(ROUTING)


@pytest.fixture
def outbox(tmp_path) -> OutboxSink:
    return OutboxSink(tmp_path / "outbox")


@pytest.fixture
def alerted_outbox(store, outbox) -> dict[str, str]:
    return populate(store, outbox)


@pytest.fixture
def alerted_slack(store, slack_sink) -> dict[str, str]:
    return populate(store, slack_sink)
