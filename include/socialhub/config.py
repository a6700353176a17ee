"""Settings from the environment, with defaults that work on a laptop.

Credentials never live here: tokens and keys come from Airflow Connections (or, outside
Airflow, from the environment variables named in the README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INCLUDE_DIR = Path(__file__).resolve().parent.parent


def _int(name: str, default: int, low: int | None = None, high: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    return _in_range(name, raw, value, default, low, high, "a whole number")


def _float(name: str, default: float, low: float | None = None, high: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value: float | None = float(raw)
    except ValueError:
        value = None
    if value is not None and value != value:   # NaN
        value = None
    return _in_range(name, raw, value, default, low, high, "a number")


def _in_range(name: str, raw: str, value: Any, default: Any, low: Any, high: Any, kind: str) -> Any:
    """``value`` if it is a number within [low, high]; else a ``ConfigError`` naming the variable."""
    if value is not None and (low is None or value >= low) and (high is None or value <= high):
        return value
    from socialhub.errors import ConfigError

    bounds = (f" from {low:g} to {high:g}" if low is not None and high is not None else
              f" of at least {low:g}" if low is not None else "")
    shown = raw if len(raw) <= 40 and raw.isprintable() else raw[:40].encode("unicode_escape").decode("ascii")
    raise ConfigError(f"{name}={shown!r} is not {kind}{bounds}",
                      hint=f"set {name} to {kind}{bounds}, or unset it for the default ({default:g})")


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        from socialhub.errors import ConfigError

        raise ConfigError(f"{name}={value} must be at least 1")
    return value


#: what ``SOCIALHUB_LOCAL_DEFAULTS`` may name: the local-folder store and the local alert outbox
LOCAL_DEFAULTS = ("store", "outbox")


def _local_defaults() -> frozenset[str]:
    """``SOCIALHUB_LOCAL_DEFAULTS``: which missing connections may fall back to a local folder.

    Empty (the default): none, a missing ``socialhub_storage`` or ``socialhub_slack`` connection
    fails the task. ``1``/``true``/``yes``/``all``: both (the demo and the tests set it).
    ``store``, ``outbox`` or ``store,outbox``: only those.
    """
    raw = os.environ.get("SOCIALHUB_LOCAL_DEFAULTS", "").strip().lower()
    if raw in ("", "0", "false", "no", "off", "none"):
        return frozenset()
    if raw in ("1", "true", "yes", "on", "all"):
        return frozenset(LOCAL_DEFAULTS)
    names = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = sorted(names - set(LOCAL_DEFAULTS))
    if unknown:
        from socialhub.errors import ConfigError

        raise ConfigError(f"SOCIALHUB_LOCAL_DEFAULTS names {', '.join(unknown)}, which is not a local default",
                          hint="set it to 1 (all), store, outbox or store,outbox; or unset it")
    return frozenset(names)


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
    process_slice_posts: int = 10_000
    #: missing connections allowed to fall back to a local folder ("store", "outbox"); empty in production
    local_defaults: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls) -> Settings:
        home = os.environ.get("SOCIALHUB_HOME") or os.environ.get("AIRFLOW_HOME") or str(Path.home() / ".socialhub")
        return cls(
            watchlist=Path(os.environ.get("SOCIALHUB_WATCHLIST") or INCLUDE_DIR / "watchlist.yaml"),
            data_dir=Path(os.environ.get("SOCIALHUB_DATA_DIR") or Path(home) / "socialhub-data"),
            routing=Path(os.environ.get("SOCIALHUB_ROUTING") or INCLUDE_DIR / "socialhub" / "alerts" / "routing.yaml"),
            max_shards_per_platform=_int("SOCIALHUB_MAX_SHARDS", 4, 1),
            max_batches_per_run=_int("SOCIALHUB_MAX_BATCHES_PER_RUN", 500, 1),
            max_bad_fraction=_float("SOCIALHUB_MAX_BAD_FRACTION", 0.5, 0.0, 1.0),
            lookback_days=_int("SOCIALHUB_LOOKBACK_DAYS", 7, 0, 3650),
            max_pages=_int("SOCIALHUB_MAX_PAGES", 10, 1, 10_000),
            poll_all=os.environ.get("SOCIALHUB_POLL_ALL", "").lower() in ("1", "true", "yes"),
            digest_threshold=_int("SOCIALHUB_DIGEST_THRESHOLD", 10, 0),
            process_slice_posts=_positive("SOCIALHUB_PROCESS_SLICE_POSTS", 10_000),
            local_defaults=_local_defaults(),
        )
