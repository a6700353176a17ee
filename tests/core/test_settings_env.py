"""``Settings`` is read by pydantic-settings: the same variables, defaults and messages as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialhub.config import INCLUDE_DIR, Settings
from socialhub.errors import ConfigError

VARS = ("SOCIALHUB_WATCHLIST", "SOCIALHUB_DATA_DIR", "SOCIALHUB_ROUTING", "SOCIALHUB_MAX_SHARDS",
        "SOCIALHUB_MAX_BATCHES_PER_RUN", "SOCIALHUB_MAX_BAD_FRACTION", "SOCIALHUB_LOOKBACK_DAYS", "SOCIALHUB_MAX_PAGES",
        "SOCIALHUB_POLL_ALL", "SOCIALHUB_DIGEST_THRESHOLD", "SOCIALHUB_PROCESS_SLICE_POSTS", "SOCIALHUB_LOCAL_DEFAULTS",
        "SOCIALHUB_HOME", "AIRFLOW_HOME")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCIALHUB_HOME", str(tmp_path))
    s = Settings.from_env()
    assert s.watchlist == INCLUDE_DIR / "watchlist.yaml" and s.data_dir == tmp_path / "socialhub-data"
    assert s.routing == INCLUDE_DIR / "socialhub" / "alerts" / "routing.yaml"
    assert (s.max_shards_per_platform, s.max_batches_per_run, s.max_bad_fraction, s.lookback_days, s.max_pages,
            s.poll_all, s.digest_threshold, s.process_slice_posts, s.local_defaults) == \
        (4, 500, 0.5, 7, 10, False, 10, 10_000, frozenset())


def test_values_blank_is_unset_and_names_are_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALHUB_MAX_PAGES", "  25 ")
    monkeypatch.setenv("SOCIALHUB_LOOKBACK_DAYS", "   ")
    monkeypatch.setenv("socialhub_max_shards", "9")                # not the variable's name
    monkeypatch.setenv("SOCIALHUB_POLL_ALL", "maybe")
    monkeypatch.setenv("SOCIALHUB_LOCAL_DEFAULTS", "store, outbox")
    s = Settings.from_env()
    assert (s.max_pages, s.lookback_days, s.max_shards_per_platform, s.poll_all) == (25, 7, 4, False)
    assert s.local_defaults == frozenset({"store", "outbox"})
    monkeypatch.setenv("SOCIALHUB_POLL_ALL", "TRUE")
    assert Settings.from_env().poll_all is True


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SOCIALHUB_MAX_BAD_FRACTION", "1.5", "SOCIALHUB_MAX_BAD_FRACTION='1.5' is not a number from 0 to 1"),
    ("SOCIALHUB_MAX_BAD_FRACTION", "inf", "is not a number from 0 to 1"),
    ("SOCIALHUB_PROCESS_SLICE_POSTS", "0", "is not a whole number of at least 1"),
    ("SOCIALHUB_DIGEST_THRESHOLD", "\x1b[31m", "SOCIALHUB_DIGEST_THRESHOLD='\\\\x1b[31m' is not a whole number"),
    ("SOCIALHUB_LOCAL_DEFAULTS", "slack", "SOCIALHUB_LOCAL_DEFAULTS names slack"),
])
def test_bad_values_are_config_errors_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                         message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        Settings.from_env()
    assert message in str(info.value)


def test_settings_are_frozen_and_hashable() -> None:
    s = Settings.from_env()
    with pytest.raises(Exception):
        s.max_pages = 3  # type: ignore[misc]
    assert hash(s) == hash(Settings.from_env())
