"""The watchlist: which public accounts are monitored, by whom, under which authorisation.

Governance is data: every entry names its authorisation reference, purpose, owner, force,
team and review-by date, and an entry past its review-by date is never collected. Each entry also
says who the account holder is to the police (``subject``: suspect, victim, witness, at_risk or
unknown, the default; see ``socialhub.subjects``).

The file may also say who made its latest change and under which change ticket (top-level
``changed_by``, ``change_ticket``, ``change_reason``): ``socialhub.watchlist_changes`` records
them with every change it finds, which works where no version-control history is at hand (an
image without ``.git``, a mounted folder).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from socialhub.errors import WatchlistError
from socialhub.models import PLATFORMS
from socialhub.storage.base import key_segment
from socialhub.subjects import Subject

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "watchlist.yaml"

PRIORITY_INTERVALS: dict[str, timedelta] = {
    "critical": timedelta(minutes=5),
    "high": timedelta(minutes=15),
    "normal": timedelta(hours=1),
    "low": timedelta(hours=6),
}

# whitespace, C0/C1 controls, zero-width and bidi controls, BOM: none is ever part of a handle or
# a feed URL, and each could make two entries look alike or reorder what an officer reads
#: the longest account once encoded as one storage key segment: a local store keeps it as a file
#: or folder name (``account=<seg>``, ``<seg>.json``), which most file systems cap at 255 bytes
MAX_ACCOUNT_SEGMENT = 240

_HANDLE_BAD = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\s\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2069\\ufeff]")


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
    #: who the account holder is to the police (socialhub.subjects); ``unknown`` until the owner sets it
    subject: Subject = "unknown"

    @field_validator("account")
    @classmethod
    def _account_is_plain(cls, v: str) -> str:
        if _HANDLE_BAD.search(v):
            raise ValueError("must not contain whitespace, control, zero-width or bidi characters")
        try:
            encoded = len(key_segment(v))
        except UnicodeEncodeError:
            raise ValueError("is not valid Unicode text (a lone surrogate)") from None
        if encoded > MAX_ACCOUNT_SEGMENT:
            raise ValueError(f"is {encoded} characters once percent-encoded as a storage key segment, more than "
                             f"the {MAX_ACCOUNT_SEGMENT} a file name can hold (a feed URL: drop tracking "
                             f"parameters or use a shorter URL of the same feed)")
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


#: the optional top-level fields naming the latest change of the file (who, which ticket, why)
CHANGE_FIELDS = ("changed_by", "change_ticket", "change_reason")


class Watchlist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    accounts: list[WatchlistEntry]
    #: who made the latest change to the file (name, collar number or user id)
    changed_by: str | None = Field(default=None, min_length=1, max_length=200)
    #: the change ticket or decision record that authorised it
    change_ticket: str | None = Field(default=None, min_length=1, max_length=100)
    #: why, in a sentence
    change_reason: str | None = Field(default=None, min_length=1, max_length=1000)

    @property
    def change(self) -> dict[str, str | None]:
        return {f: getattr(self, f) for f in CHANGE_FIELDS}

    #: the authorisation register (``socialhub.governance.authorisations.Register``) when one is in
    #: use: then an entry is collected only while its authorisation is in force and covers it
    _register: Any = PrivateAttr(default=None)

    def with_register(self, register: Any) -> Watchlist:
        """This watchlist, judged against ``register`` (``None``: the review-by dates alone)."""
        self._register = register
        return self

    @property
    def register(self) -> Any:
        return self._register

    def why_not(self, entry: WatchlistEntry, today: date) -> str:
        """Why ``entry`` may not be collected on ``today`` (empty when it may)."""
        if not entry.is_authorised(today):
            return (f"authorisation {entry.authorisation_ref} lapsed on {entry.review_by} (owner {entry.owner} "
                    "must renew it in the watchlist)")
        if self._register is not None:
            cover = self._register.cover(entry.authorisation_ref, entry.key, today)
            if not cover.ok:
                return cover.reason
        return ""

    def authorised(self, today: date) -> tuple[list[WatchlistEntry], list[WatchlistEntry]]:
        """Split into (authorised, lapsed) for ``today``."""
        why = {e.key: self.why_not(e, today) for e in self.accounts}
        ok = [e for e in self.accounts if not why[e.key]]
        lapsed = [e for e in self.accounts if why[e.key]]
        return ok, lapsed

    def lapse_info(self, today: date) -> list[dict[str, str]]:
        """The entries not collected on ``today``, each with its reason (for plans and reports)."""
        from socialhub.subjects import rank

        # one subject category after another: a victim's or witness's entry is never listed among suspects
        return [{"key": e.key, "authorisation_ref": e.authorisation_ref, "review_by": e.review_by.isoformat(),
                 "owner": e.owner, "force": e.force, "subject": e.subject, "reason": self.why_not(e, today)}
                for e in sorted(self.authorised(today)[1], key=lambda e: rank(e.subject))]


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


def _refuse_binary(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, "the YAML tag !!binary is not allowed in a watchlist (write the text itself)", node.start_mark)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:binary", _refuse_binary)   # bytes would pass as text


def identity(entry: WatchlistEntry) -> str:
    """What makes two entries the same account: handles compare case-insensitively and without
    their ``@`` / ``u/`` / ``t.me/`` decorations; YouTube channel ids and feed URL paths are
    case-sensitive (a feed's scheme and host are not)."""
    account = entry.account.strip()
    if entry.platform == "rss":
        scheme, sep, rest = account.partition("://")
        host, slash, path = rest.partition("/")
        return f"rss:{scheme.lower()}{sep}{host.lower()}{slash}{path}"
    if entry.platform == "youtube":
        return f"youtube:{account.lower() if account.startswith('@') else account}"
    if entry.platform == "reddit":
        account = re.sub(r"^/?(u|user)/", "", account, flags=re.I).strip("/")
    if entry.platform == "telegram":
        account = re.sub(r"^(https?://)?(www\.)?t\.me/(s/)?", "", account, flags=re.I).strip("/")
    return f"{entry.platform}:{account.lstrip('@').lower()}"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() or c == "\n" else c.encode("unicode_escape").decode("ascii") for c in text)


def _shown(value: Any) -> str:
    """A field for a message: text or a number only (a YAML alias bomb must never be rendered),
    printable, short."""
    if isinstance(value, (int, float)):
        return repr(value)
    if not isinstance(value, str):
        return "?" if value is None else f"<{type(value).__name__}>"
    return _printable(value[:80]) + ("…" if len(value) > 80 else "")


def _describe(entry: Any, index: int) -> str:
    if isinstance(entry, dict):
        return f"accounts[{index}] ({_shown(entry.get('platform'))}:{_shown(entry.get('account'))})"
    return f"accounts[{index}]"


def parse_watchlist(text: str, source: str = "<watchlist>") -> Watchlist:
    """Parse and validate; raises ``WatchlistError`` listing every problem found."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise WatchlistError(source, [f"not valid YAML: {_printable(str(exc))}"]) from None
    except RecursionError:
        raise WatchlistError(source, ["not valid YAML: nested too deeply"]) from None
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        raise WatchlistError(source, ["top level must be a mapping with an `accounts:` list"])
    problems: list[str] = []
    entries: list[WatchlistEntry] = []
    seen: dict[str, int] = {}          # identity -> position in ``entries``
    indexes: list[int] = []            # position in ``entries`` -> index in the file
    for i, raw in enumerate(data["accounts"]):
        where = _describe(raw, i)
        try:
            entry = WatchlistEntry.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(_shown(p) for p in err["loc"]) or "entry"
                problems.append(f"{where}: {loc}: {err['msg']}")
            continue
        same = identity(entry)
        if same in seen:
            first = entries[seen[same]]
            why = "" if first.key == entry.key else ": the same account (handles ignore case, @ and u/)"
            problems.append(f"{where}: duplicate of accounts[{indexes[seen[same]]}] ({_shown(first.key)}){why}")
            continue
        seen[same] = len(entries)
        indexes.append(i)
        entries.append(entry)
    extra = set(data) - {"version", "accounts", *CHANGE_FIELDS}
    if extra:
        problems.append(f"unknown top-level key(s): {', '.join(sorted(_shown(str(k)) for k in extra))}")
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append(f"version: {_shown(version)} is not a positive whole number (use `version: 1`)")
    change = {f: data[f] for f in CHANGE_FIELDS if data.get(f) is not None}
    for f, value in change.items():
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{f}: {_shown(value)} is not text (who, which ticket or why, in words)")
    if problems:
        raise WatchlistError(source, problems)
    try:
        return Watchlist(version=version, accounts=entries, **change)
    except ValidationError as exc:
        raise WatchlistError(source, [f"{'.'.join(_shown(p) for p in err['loc'])}: {err['msg']}"
                                      for err in exc.errors()]) from None


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


__all__ = ["CHANGE_FIELDS", "PLATFORMS", "PRIORITY_INTERVALS", "Watchlist", "WatchlistEntry", "is_due", "load_watchlist",
           "parse_watchlist", "DEFAULT_PATH"]
