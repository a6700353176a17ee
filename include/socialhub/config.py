"""Settings from the environment, with defaults that work on a laptop.

Read by pydantic-settings: each field names its ``SOCIALHUB_*`` variable; an empty variable is
the default; a value out of range is a ``ConfigError`` naming the variable, the value and the
accepted range. Credentials never live here: tokens and keys come from Airflow Connections (or,
outside Airflow, from the environment variables named in the README).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

INCLUDE_DIR = Path(__file__).resolve().parent.parent

#: what ``SOCIALHUB_LOCAL_DEFAULTS`` may name: the local-folder store and the local alert outbox
LOCAL_DEFAULTS = ("store", "outbox")


def _home() -> Path:
    return Path(os.environ.get("SOCIALHUB_HOME") or os.environ.get("AIRFLOW_HOME") or Path.home() / ".socialhub")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, frozen=True, extra="ignore",
                                      allow_inf_nan=False)

    watchlist: Path = Field(default_factory=lambda: INCLUDE_DIR / "watchlist.yaml",
                            validation_alias="SOCIALHUB_WATCHLIST")
    data_dir: Path = Field(default_factory=lambda: _home() / "socialhub-data", validation_alias="SOCIALHUB_DATA_DIR")
    routing: Path = Field(default_factory=lambda: INCLUDE_DIR / "socialhub" / "alerts" / "routing.yaml",
                          validation_alias="SOCIALHUB_ROUTING")
    #: the authorisation register file (governance/authorisations.py); the store's register is read too
    authorisations: Path | None = Field(default=None, validation_alias="SOCIALHUB_AUTHORISATIONS")
    max_shards_per_platform: int = Field(default=4, ge=1, validation_alias="SOCIALHUB_MAX_SHARDS")
    #: accounts one collect shard fetches at once (a bounded thread pool; 1 = one after another)
    collect_concurrency: int = Field(default=8, ge=1, le=64, validation_alias="SOCIALHUB_COLLECT_CONCURRENCY")
    #: the fraction of each platform's rate budget the planner fills with polls (the rest: pages, retries, re-checks)
    budget_share: float = Field(default=0.5, ge=0.05, le=0.95, validation_alias="SOCIALHUB_BUDGET_SHARE")
    #: batches one process task reads and writes at once (the S3 round trips overlap; 1 = one after another)
    process_concurrency: int = Field(default=8, ge=1, le=64, validation_alias="SOCIALHUB_PROCESS_CONCURRENCY")
    max_batches_per_run: int = Field(default=500, ge=1, validation_alias="SOCIALHUB_MAX_BATCHES_PER_RUN")
    max_bad_fraction: float = Field(default=0.5, ge=0.0, le=1.0, validation_alias="SOCIALHUB_MAX_BAD_FRACTION")
    lookback_days: int = Field(default=7, ge=0, le=3650, validation_alias="SOCIALHUB_LOOKBACK_DAYS")
    max_pages: int = Field(default=10, ge=1, le=10_000, validation_alias="SOCIALHUB_MAX_PAGES")
    #: poll every account each run: only ``1``/``true``/``yes`` switch it on
    poll_all: bool = Field(default=False, validation_alias="SOCIALHUB_POLL_ALL")
    digest_threshold: int = Field(default=10, ge=0, validation_alias="SOCIALHUB_DIGEST_THRESHOLD")
    #: posts per Great Expectations run and per streamed slice of a large batch (memory ~ this)
    process_slice_posts: int = Field(default=10_000, ge=1, validation_alias="SOCIALHUB_PROCESS_SLICE_POSTS")
    #: a second classifier run beside the live one on every batch, stored under shadow/ and never
    #: alerted: a recorded version id, ``packaged``, or a folder / YAML file (classify/versions.py)
    shadow_classifier: str | None = Field(default=None, validation_alias="SOCIALHUB_SHADOW_CLASSIFIER")
    #: media capture (issue 16): fetch, store and analyse every media item of a collected post
    media: bool = Field(default=True, validation_alias="SOCIALHUB_MEDIA")
    #: fetch media through this capture gateway (``<gateway>/<host>/<path>``) instead of directly over HTTPS
    media_gateway: str | None = Field(default=None, validation_alias="SOCIALHUB_MEDIA_GATEWAY")
    media_max_item_mb: int = Field(default=20, ge=1, le=1024, validation_alias="SOCIALHUB_MEDIA_MAX_ITEM_MB")
    media_max_video_mb: int = Field(default=50, ge=1, le=4096, validation_alias="SOCIALHUB_MEDIA_MAX_VIDEO_MB")
    media_max_account_mb: int = Field(default=200, ge=1, le=100_000, validation_alias="SOCIALHUB_MEDIA_MAX_ACCOUNT_MB")
    media_max_run_mb: int = Field(default=1024, ge=1, le=1_000_000, validation_alias="SOCIALHUB_MEDIA_MAX_RUN_MB")
    media_timeout: float = Field(default=20.0, gt=0, le=600, validation_alias="SOCIALHUB_MEDIA_TIMEOUT")
    media_fetch_video: bool = Field(default=True, validation_alias="SOCIALHUB_MEDIA_FETCH_VIDEO")
    ocr_timeout: float = Field(default=10.0, gt=0, le=300, validation_alias="SOCIALHUB_OCR_TIMEOUT")
    #: a captured image within this PDQ Hamming distance (of 256 bits) of a hash-list entry is ``known_content``
    pdq_max_distance: int = Field(default=31, ge=0, le=128, validation_alias="SOCIALHUB_PDQ_MAX_DISTANCE")
    #: missing connections allowed to fall back to a local folder ("store", "outbox"); empty in production
    local_defaults: Annotated[frozenset[str], NoDecode] = Field(default=frozenset(),
                                                                validation_alias="SOCIALHUB_LOCAL_DEFAULTS")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise PydanticUseDefault()
        return value

    @field_validator("poll_all", mode="before")
    @classmethod
    def _poll_all(cls, value: Any) -> Any:
        return str(value).strip().lower() in ("1", "true", "yes") if isinstance(value, str) else value

    @field_validator("local_defaults", mode="before")
    @classmethod
    def _local_defaults(cls, value: Any) -> Any:
        """Empty (the default): none, a missing ``socialhub_storage`` or ``socialhub_slack``
        connection fails the task. ``1``/``true``/``yes``/``all``: both (the demo and the tests set
        it). ``store``, ``outbox`` or ``store,outbox``: only those."""
        if not isinstance(value, str):
            return value
        raw = value.strip().lower()
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

    @classmethod
    def from_env(cls) -> Settings:
        """The settings from ``SOCIALHUB_*``; a bad value raises ``ConfigError`` naming it."""
        try:
            return cls()
        except ValidationError as exc:
            raise _config_error(cls, exc) from None


def _config_error(cls: type[Settings], exc: ValidationError) -> Exception:
    from socialhub.errors import ConfigError

    error = exc.errors()[0]
    if isinstance((error.get("ctx") or {}).get("error"), ConfigError):
        return error["ctx"]["error"]
    name = str(error["loc"][0]) if error.get("loc") else "?"
    field = next((f for f in cls.model_fields.values() if f.validation_alias == name), None)
    raw = str(error.get("input", ""))
    low = next((m.ge for m in (field.metadata if field else []) if isinstance(m, Ge)), None)
    high = next((m.le for m in (field.metadata if field else []) if isinstance(m, Le)), None)
    kind = "a whole number" if field is not None and field.annotation in (int, "int") else "a number"
    bounds = (f" from {low:g} to {high:g}" if low is not None and high is not None else
              f" of at least {low:g}" if low is not None else "")
    shown = raw if len(raw) <= 40 and raw.isprintable() else raw[:40].encode("unicode_escape").decode("ascii")
    default = field.default if field is not None else "?"
    return ConfigError(f"{name}={shown!r} is not {kind}{bounds}",
                       hint=f"set {name} to {kind}{bounds}, or unset it for the default ({default:g})")
