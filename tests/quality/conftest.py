"""Data-quality tests: a network guard around every test (factories live in ``quality_helpers``).

The guard makes any outbound connection (or DNS lookup) raise, so GX phoning home (analytics,
version check) would fail a test instead of hanging or silently leaking from a police network.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest


class NetworkAttempt(AssertionError):
    """Not an OSError, so no library can swallow it as an ordinary connection failure."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise NetworkAttempt(f"network access attempted during a quality test: {args[1:] or args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
