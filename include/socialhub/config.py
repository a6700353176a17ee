"""Settings from the environment, with defaults that work on a laptop.

Credentials never live here: tokens and keys come from Airflow Connections (or, outside
Airflow, from the environment variables named in the README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

INCLUDE_DIR = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        from socialhub.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} is not an integer") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        from socialhub.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} is not a number") from None


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        from socialhub.errors import ConfigError

        raise ConfigError(f"{name}={value} must be at least 1")
    return value


@dataclass(frozen=True)
class Settings:
    watchlist: Path
    data_dir: Path
    routing: Path
    max_shards_per_platform: int
    max_batches_per_run: int
    max_bad_fraction: float
    lookback_days: int
    max_pages: int
    poll_all: bool
    digest_threshold: int
    #: posts per Great Expectations run and per streamed slice of a large batch (memory ~ this)
    process_slice_posts: int = 5_000

    @classmethod
    def from_env(cls) -> Settings:
        home = os.environ.get("SOCIALHUB_HOME") or os.environ.get("AIRFLOW_HOME") or str(Path.home() / ".socialhub")
        return cls(
            watchlist=Path(os.environ.get("SOCIALHUB_WATCHLIST") or INCLUDE_DIR / "watchlist.yaml"),
            data_dir=Path(os.environ.get("SOCIALHUB_DATA_DIR") or Path(home) / "socialhub-data"),
            routing=Path(os.environ.get("SOCIALHUB_ROUTING") or INCLUDE_DIR / "socialhub" / "alerts" / "routing.yaml"),
            max_shards_per_platform=_int("SOCIALHUB_MAX_SHARDS", 4),
            max_batches_per_run=_int("SOCIALHUB_MAX_BATCHES_PER_RUN", 500),
            max_bad_fraction=_float("SOCIALHUB_MAX_BAD_FRACTION", 0.5),
            lookback_days=_int("SOCIALHUB_LOOKBACK_DAYS", 7),
            max_pages=_int("SOCIALHUB_MAX_PAGES", 10),
            poll_all=os.environ.get("SOCIALHUB_POLL_ALL", "").lower() in ("1", "true", "yes"),
            digest_threshold=_int("SOCIALHUB_DIGEST_THRESHOLD", 10),
            process_slice_posts=_positive("SOCIALHUB_PROCESS_SLICE_POSTS", 5_000),
        )
