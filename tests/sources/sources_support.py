"""Helpers shared by the source tests (a uniquely named module, so ``import`` cannot pick up
another directory's conftest)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

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
