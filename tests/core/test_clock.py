"""SOCIALHUB_NOW moves the pipeline's clock for the demo and the tests, and only there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from socialhub.clock import now, parse_now
from socialhub.errors import ConfigError

WALL = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("+365d", WALL + timedelta(days=365)), ("-2d", WALL - timedelta(days=2)), ("+12h", WALL + timedelta(hours=12)),
    (" +30m ", WALL + timedelta(minutes=30)), ("2031-05-04T09:00:00Z", datetime(2031, 5, 4, 9, tzinfo=UTC)),
    ("2031-05-04T10:00:00+01:00", datetime(2031, 5, 4, 9, tzinfo=UTC)),
])
def test_parse_now(value: str, expected: datetime) -> None:
    assert parse_now(value, WALL) == expected


@pytest.mark.parametrize("value", ["365d", "+1y", "tomorrow", "2031-05-04T09:00:00", "2031-05-04"])
def test_a_bad_value_names_the_setting(value: str) -> None:
    with pytest.raises(ConfigError, match="SOCIALHUB_NOW"):
        parse_now(value, WALL)


def test_now_is_the_wall_clock_unless_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIALHUB_NOW", raising=False)
    assert abs(now() - datetime.now(UTC)) < timedelta(seconds=5)
    monkeypatch.setenv("SOCIALHUB_LOCAL_DEFAULTS", "1")
    monkeypatch.setenv("SOCIALHUB_NOW", "+365d")
    assert abs(now() - (datetime.now(UTC) + timedelta(days=365))) < timedelta(seconds=5)


@pytest.mark.parametrize("local", ["", "0", "off"])
def test_refused_outside_the_demo_and_the_tests(local: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALHUB_LOCAL_DEFAULTS", local)
    monkeypatch.setenv("SOCIALHUB_NOW", "+365d")
    with pytest.raises(ConfigError, match="SOCIALHUB_NOW is set"):
        now()
    assert now(demo=True) > datetime.now(UTC) + timedelta(days=364)     # the demo process itself is local


def test_the_tasks_and_the_demo_replay_use_it(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from socialhub.demo import _replay_clock
    from socialhub_airflow import runtime

    monkeypatch.setenv("SOCIALHUB_NOW", "2031-05-04T09:00:00Z")
    monkeypatch.delenv("SOCIALHUB_LOCAL_DEFAULTS", raising=False)   # the demo command sets it only for Airflow's commands
    assert _replay_clock(tmp_path)() == datetime(2031, 5, 4, 9, tzinfo=UTC)
    monkeypatch.setenv("SOCIALHUB_LOCAL_DEFAULTS", "1")
    assert runtime.now() == datetime(2031, 5, 4, 9, tzinfo=UTC)
    assert _replay_clock(tmp_path)() == datetime(2031, 5, 4, 9, tzinfo=UTC)   # the demo's posts are dated from it
    assert (tmp_path / "replay-epoch").read_text() == "2031-05-04T09:00:00+00:00"
