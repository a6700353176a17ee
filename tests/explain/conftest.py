"""Stores for the explain tests, filled by the real pipeline functions (collect, process, alert, review)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from socialhub.storage import LocalStore
from tests.ui.scenario import Scenario, populate


@dataclass
class World:
    store: LocalStore
    scenario: Scenario
    tmp: Path

    @property
    def watchlist_file(self) -> Path:
        return self.tmp / "watchlist.yaml"


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The auditor-report scenario (tests/ui/scenario.py): two forces, an alert referred by an officer,
    one escalated on timeout, a quarantined post, posts below every threshold, a lapsed authorisation.
    Collected a few seconds "ahead" so the watchlist change recorded first is before the collection."""
    tmp = tmp_path_factory.mktemp("explain-world")
    store = LocalStore(tmp / "store")
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    return World(store, populate(store, tmp, now=now), tmp)


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    """The index cache (under $SOCIALHUB_DATA_DIR/cache) in each test's own folder."""
    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SOCIALHUB_CACHE_DIR", raising=False)
