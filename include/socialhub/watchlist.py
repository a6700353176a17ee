"""The watchlist: which public accounts are monitored, by whom, under which authorisation.

Governance is data: every entry names its authorisation reference, purpose, owner, force,
team and review-by date, and an entry past its review-by date is never collected.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from socialhub.errors import WatchlistError
from socialhub.models import PLATFORMS

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "watchlist.yaml"

PRIORITY_INTERVALS: dict[str, timedelta] = {
    "critical": timedelta(minutes=5),
    "high": timedelta(minutes=15),
    "normal": timedelta(hours=1),
    "low": timedelta(hours=6),
}

_HANDLE_BAD = re.compile(r"[\x00-\x1f\x7f\s]")


class WatchlistEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: Literal["mastodon", "bluesky", "youtube", "x", "reddit", "telegram", "rss"]
    account: str = Field(min_length=1, max_length=512, description="handle, id or (rss) feed URL")
    display_name: str = Field(min_length=1, max_length=200)
    force: str = Field(min_length=1, max_length=100)
    team: str = Field(min_length=1, max_length=100)
    owner: str = Field(min_length=1, max_length=200)
    priority: Literal["critical", "high", "normal", "low"] = "normal"
    authorisation_ref: str = Field(min_length=1, max_length=100)
    purpose: str = Field(min_length=10, max_length=1000)
    review_by: date

    @field_validator("account")
    @classmethod
    def _account_is_plain(cls, v: str) -> str:
        if _HANDLE_BAD.search(v):
            raise ValueError("must not contain whitespace or control characters")
        return v

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.account}"

    @property
    def interval(self) -> timedelta:
        return PRIORITY_INTERVALS[self.priority]

    def is_authorised(self, today: date) -> bool:
        """Collection is lawful up to and including the review-by date."""
        return today <= self.review_by


class Watchlist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    accounts: list[WatchlistEntry]

    def authorised(self, today: date) -> tuple[list[WatchlistEntry], list[WatchlistEntry]]:
        """Split into (authorised, lapsed) for ``today``."""
        ok = [e for e in self.accounts if e.is_authorised(today)]
        lapsed = [e for e in self.accounts if not e.is_authorised(today)]
        return ok, lapsed


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent override would hide an edit)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _describe(entry: Any, index: int) -> str:
    if isinstance(entry, dict):
        return f"accounts[{index}] ({entry.get('platform', '?')}:{entry.get('account', '?')})"
    return f"accounts[{index}]"


def parse_watchlist(text: str, source: str = "<watchlist>") -> Watchlist:
    """Parse and validate; raises ``WatchlistError`` listing every problem found."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise WatchlistError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        raise WatchlistError(source, ["top level must be a mapping with an `accounts:` list"])
    problems: list[str] = []
    entries: list[WatchlistEntry] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data["accounts"]):
        where = _describe(raw, i)
        try:
            entry = WatchlistEntry.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"]) or "entry"
                problems.append(f"{where}: {loc}: {err['msg']}")
            continue
        if entry.key in seen:
            problems.append(f"{where}: duplicate of accounts[{seen[entry.key]}] ({entry.key})")
            continue
        seen[entry.key] = i
        entries.append(entry)
    extra = set(data) - {"version", "accounts"}
    if extra:
        problems.append(f"unknown top-level key(s): {', '.join(sorted(map(str, extra)))}")
    if problems:
        raise WatchlistError(source, problems)
    return Watchlist(version=int(data.get("version", 1)), accounts=entries)


def load_watchlist(path: str | Path | None = None) -> Watchlist:
    p = Path(path) if path else DEFAULT_PATH
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise WatchlistError(str(p), [f"cannot read file: {exc.strerror}"]) from None
    return parse_watchlist(text, str(p))


def is_due(entry: WatchlistEntry, last_polled: datetime | None, now: datetime) -> bool:
    """An account is due when its priority interval has passed since the last successful poll."""
    if last_polled is None:
        return True
    if last_polled.tzinfo is None:
        last_polled = last_polled.replace(tzinfo=UTC)
    return now - last_polled >= entry.interval - timedelta(seconds=30)


__all__ = ["PLATFORMS", "PRIORITY_INTERVALS", "Watchlist", "WatchlistEntry", "is_due", "load_watchlist",
           "parse_watchlist", "DEFAULT_PATH"]
