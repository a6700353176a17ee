"""Hash lists of known content (issue 16): PDQ hashes of media that officers referred to a platform or
escalated, or imported from a partner, each with a label and a source; matched against every newly
captured image (``known_content`` alerts).

Storage: one write-once JSON object per entry at ``hashlists/<list>/<entry_id>.json``; an entry is
withdrawn (a false match, a wrong referral) by a write-once tombstone at
``hashlists/<list>/withdrawn/<entry_id>.json`` (``{"who", "why", "at"}``). Nothing is overwritten or
deleted, so the list's history is its evidence. ``entry_id`` is derived from signal type, hash and
source (not the list name, not the label), so adding the same hash from the same source again is a
no-op.

CSV format (import and export)
------------------------------
The reference is the CSV that python-threatexchange's ``threatexchange dataset --print-signals --csv``
writes, the one CSV of signals in the ThreatExchange tooling (repository ``facebook/ThreatExchange``,
file ``python-threatexchange/threatexchange/cli/dataset_cmd.py``, ``DatasetCommand.execute_print_signals``
/ ``_print_csv``): a header row, then one row per signal with the columns

    collab,signal_type,signal_str,category,tags

``collab`` is the collaboration (the hub writes the list name), ``signal_type`` the signal type's
name (``pdq``), ``signal_str`` the hash (64 hex chars), ``category`` the aggregate opinion's
``SignalOpinionCategory`` name (``POSITIVE_CLASS`` for "this is the bad thing"; see
``python-threatexchange/threatexchange/exchanges/fetch_state.py``), ``tags`` the tags joined by spaces
(the hub writes the label). Hasher-Matcher-Actioner (same repository, ``hasher-matcher-actioner/``)
names the same two fields ``signal_type`` and ``signal_value`` in its bank and lookup API
(``hasher-matcher-actioner/src/OpenMediaMatch/blueprints/ui.py``, ``query_hash``,
``bank_find_content``) and stores hashes in banks fed by the same python-threatexchange exchanges.

The hub keeps the label and source per hash that the issue asks for as extra columns after the
reference ones, read by name, so a reader of the reference format (``csv.DictReader`` on those five
names) still accepts the file and ignores them::

    collab,signal_type,signal_str,category,tags,label,source,added_at,post_key,referral_id,media_sha256,note

Reading is tolerant of the obvious variants:

* header present or absent; columns found by name in any order; ``signal_value``, ``signal``, ``hash``,
  ``pdq``, ``pdq_hash`` or ``indicator`` for the hash; ``type`` or ``indicator_type`` for the type; no
  type column means ``pdq``; ``label`` else ``tags`` for the label; ``collab`` kept in the note (when there is no note column);
* ``pdq``, ``PDQ``, ``HASH_PDQ`` (ThreatExchange's old indicator type) and ``pdq_hash`` all mean PDQ;
* no header: ``HASH[,LABEL[,SOURCE]]`` or ``pdq,HASH[,LABEL[,SOURCE]]``, or the plain signal file of
  python-threatexchange's "file" exchange, ``pdq HASH`` per line
  (``python-threatexchange/threatexchange/exchanges/impl/file_api.py``, ``LocalFileSignalExchangeAPI``);
* blank lines and ``#`` comment lines are skipped; a BOM is dropped; hashes are lowercased.

A bad row (not a PDQ hash, another signal type, a ``NEGATIVE_CLASS`` opinion i.e. a known false
positive, an unreadable date) is skipped and reported with its line number and what to do; reading
never raises on a row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from socialhub.errors import ConfigError, ImmutableObjectError
from socialhub.media.index import DEFAULT_MAX_DISTANCE, PDQIndex, is_pdq_hex

PREFIX = "hashlists/"
DEFAULT_LIST = "hub"
SIGNAL_TYPE = "pdq"
LIST_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
ENTRY_ID_RE = re.compile(r"[0-9a-f]{24}")
_TYPE_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")

REFERENCE_COLUMNS = ("collab", "signal_type", "signal_str", "category", "tags")
EXTRA_COLUMNS = ("label", "source", "added_at", "post_key", "referral_id", "media_sha256", "note")
CSV_COLUMNS = REFERENCE_COLUMNS + EXTRA_COLUMNS
POSITIVE = "POSITIVE_CLASS"

_PDQ_NAMES = {"pdq", "hash_pdq", "pdq_hash"}
_HASH_COLS = ("signal_str", "signal_value", "signal", "hash", "pdq", "pdq_hash", "indicator")
_TYPE_COLS = ("signal_type", "type", "indicator_type")
_KNOWN_HEADER = set(_HASH_COLS) | set(_TYPE_COLS) | set(CSV_COLUMNS)


def utc_now_iso() -> str:
    from socialhub.clock import now

    return now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_time(value: str) -> str:
    """An ISO 8601 time (``Z`` or an offset; a bare date is midnight UTC) as ``YYYY-MM-DDTHH:MM:SSZ``.
    ``ValueError`` otherwise."""
    v = value.strip()
    dt = datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_list_name(name: str) -> str:
    if not isinstance(name, str) or not LIST_NAME_RE.fullmatch(name):
        raise ConfigError(f"bad hash list name {name!r}: use 1 to 64 lowercase letters, digits, '_' or '-', "
                          "starting with a letter or digit (e.g. hub, partner-x)")
    return name


@dataclass(frozen=True)
class HashEntry:
    """One hash in a list: what it is (``label``), where it came from (``source``) and when."""

    signal_type: str
    hash: str
    label: str
    source: str
    added_at: str
    post_key: str = ""
    referral_id: str = ""
    media_sha256: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.signal_type != SIGNAL_TYPE:
            raise ValueError(f"signal type {self.signal_type!r} is not supported (only {SIGNAL_TYPE!r})")
        if not is_pdq_hex(self.hash) or self.hash != self.hash.lower():
            raise ValueError(f"not a PDQ hash in lowercase hex: {self.hash!r}")
        if not self.source:
            raise ValueError("an entry needs a source (e.g. hub:referral:ref-..., import:FILE)")

    @property
    def entry_id(self) -> str:
        """Stable id from signal type, hash and source: the same hash from the same source is the
        same entry (so adding it again does nothing), in whichever list."""
        key = f"{self.signal_type}\n{self.hash}\n{self.source}".encode()
        return hashlib.sha256(key).hexdigest()[:24]

    def to_dict(self) -> dict[str, str]:
        return {**asdict(self), "entry_id": self.entry_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HashEntry:
        names = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in data.items() if k in names and v is not None})


# -- CSV ------------------------------------------------------------------------------------------
def _problem(line: int, what: str, todo: str) -> str:
    return f"line {line}: {what}; {todo}"


def _signal_type(raw: str) -> str | None:
    t = (raw or "").strip().lower()
    return SIGNAL_TYPE if (not t or t in _PDQ_NAMES) else None


def _row_entry(line: int, fields_: dict[str, str], *, default_source: str, default_label: str,
               added_at: str) -> tuple[HashEntry | None, str | None]:
    raw_type = fields_.get("signal_type", "")
    if _signal_type(raw_type) is None:
        return None, _problem(line, f"signal type {raw_type.strip()!r} is not PDQ",
                              "only PDQ hashes are matched here: the row was skipped (remove it or import it "
                              "into the tool that matches that type)")
    h = (fields_.get("hash") or "").strip()
    if not is_pdq_hex(h):
        shown = h if len(h) <= 70 else h[:67] + "..."
        return None, _problem(line, f"{shown!r} is not a PDQ hash (64 hexadecimal characters)",
                              "the row was skipped: correct the hash or remove the row")
    category = (fields_.get("category") or "").strip().upper()
    if category and category != POSITIVE:
        return None, _problem(line, f"category {category} is not {POSITIVE} (a negative or investigation "
                                    "opinion is not known bad content)",
                              "the row was skipped: only POSITIVE_CLASS hashes raise alerts")
    when = (fields_.get("added_at") or "").strip()
    try:
        when = normalise_time(when) if when else added_at
    except ValueError:
        return None, _problem(line, f"added_at {when!r} is not an ISO 8601 time",
                              "the row was skipped: write it as YYYY-MM-DDTHH:MM:SSZ or leave it empty")
    label = (fields_.get("label") or "").strip() or (fields_.get("tags") or "").strip() or default_label
    note = (fields_.get("note") or "").strip()
    collab = (fields_.get("collab") or "").strip()
    if collab and "note" not in fields_:  # a reference-format file: keep where it came from
        note = f"collab: {collab}"
    try:
        entry = HashEntry(signal_type=SIGNAL_TYPE, hash=h.lower(), label=label,
                          source=(fields_.get("source") or "").strip() or default_source, added_at=when,
                          post_key=(fields_.get("post_key") or "").strip(),
                          referral_id=(fields_.get("referral_id") or "").strip(),
                          media_sha256=(fields_.get("media_sha256") or "").strip().lower(), note=note)
    except ValueError as exc:  # pragma: no cover - the checks above come first
        return None, _problem(line, str(exc), "the row was skipped")
    return entry, None


def _header_map(row: list[str]) -> dict[str, int] | None:
    """Column positions by canonical name when ``row`` is a header row, else ``None``."""
    names = [c.strip().lower().lstrip("\ufeff") for c in row]
    if any(is_pdq_hex(c) for c in names) or not any(n in _KNOWN_HEADER for n in names):
        return None
    out: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in _HASH_COLS and "hash" not in out:
            out["hash"] = i
        elif n in _TYPE_COLS and "signal_type" not in out:
            out["signal_type"] = i
        elif n in CSV_COLUMNS and n not in out:
            out[n] = i
    return out


def _positional(row: list[str]) -> dict[str, str]:
    """A row without a header: ``HASH[,LABEL[,SOURCE]]``, ``TYPE,HASH[,LABEL[,SOURCE]]`` or ``TYPE HASH``."""
    cells = [c.strip() for c in row]
    if len(cells) == 1 and " " in cells[0]:
        cells = cells[0].split(None, 1)
    if len(cells) >= 2 and not is_pdq_hex(cells[0]) and _TYPE_NAME_RE.fullmatch(cells[0]):
        return {"signal_type": cells[0], "hash": cells[1],
                "label": cells[2] if len(cells) > 2 else "", "source": cells[3] if len(cells) > 3 else ""}
    return {"hash": cells[0] if cells else "", "label": cells[1] if len(cells) > 1 else "",
            "source": cells[2] if len(cells) > 2 else ""}


def read_csv(text: str, *, default_source: str, default_label: str = "",
             added_at: str | None = None) -> tuple[list[HashEntry], list[str]]:
    """Entries from a hash-list CSV (see the module docstring for the format and its variants), and
    one problem line per skipped row. Rows repeating an entry already read (same hash and source)
    are dropped silently. ``added_at`` (default: now) is used for rows without a time."""
    when = added_at or utc_now_iso()
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header: dict[str, int] | None = None
    first = True
    entries: list[HashEntry] = []
    problems: list[str] = []
    seen: set[str] = set()
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_problem(reader.line_num, f"unreadable CSV ({exc})", "the row was skipped"))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not row or not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if first:
            first = False
            header = _header_map(row)
            if header is not None:
                if "hash" not in header:
                    problems.append(_problem(line, "the header has no hash column (signal_str, signal_value, "
                                                   "hash or pdq)", "nothing was read: name the hash column"))
                    return [], problems
                continue
        if header is not None:
            cells = {name: (row[i] if i < len(row) else "") for name, i in header.items()}
        else:
            cells = _positional(row)
        entry, problem = _row_entry(line, cells, default_source=default_source, default_label=default_label,
                                    added_at=when)
        if problem:
            problems.append(problem)
        elif entry is not None and entry.entry_id not in seen:
            seen.add(entry.entry_id)
            entries.append(entry)
    return entries, problems


def write_csv(entries: Iterable[HashEntry | tuple[str, HashEntry]], *, collab: str = "") -> str:
    """The reference columns then the hub's (module docstring). Items may be ``(list_name, entry)``
    pairs, whose list name goes in ``collab``; bare entries get ``collab``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for item in entries:
        name, e = item if isinstance(item, tuple) else (collab, item)
        w.writerow([name, e.signal_type, e.hash, POSITIVE, " ".join(e.label.split()), e.label, e.source,
                    e.added_at, e.post_key, e.referral_id, e.media_sha256, e.note])
    return buf.getvalue()


# -- the lists in the object store ------------------------------------------------------------------
def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Withdrawal:
    list_name: str
    entry_id: str
    who: str
    why: str
    at: str


class HashLists:
    """The hash lists in an ``ObjectStore`` (write-once objects; see the module docstring)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._cache: tuple[tuple[str, ...], PDQIndex, dict[str, tuple[str, HashEntry]]] | None = None

    @staticmethod
    def entry_key(list_name: str, entry_id: str) -> str:
        return f"{PREFIX}{check_list_name(list_name)}/{entry_id}.json"

    @staticmethod
    def withdrawn_key(list_name: str, entry_id: str) -> str:
        return f"{PREFIX}{check_list_name(list_name)}/withdrawn/{entry_id}.json"

    def _keys(self, list_name: str | None = None) -> list[str]:
        prefix = PREFIX if list_name is None else f"{PREFIX}{check_list_name(list_name)}/"
        return [k for k in self.store.list(prefix) if k.endswith(".json")]

    @staticmethod
    def _split(key: str) -> tuple[str, str, bool] | None:
        """``(list, entry_id, is_tombstone)`` for a key of ours, else ``None``."""
        parts = key[len(PREFIX):].split("/")
        if len(parts) == 2 and ENTRY_ID_RE.fullmatch(parts[1][:-5] or "-"):
            return parts[0], parts[1][:-5], False
        if len(parts) == 3 and parts[1] == "withdrawn" and ENTRY_ID_RE.fullmatch(parts[2][:-5] or "-"):
            return parts[0], parts[2][:-5], True
        return None

    def add(self, entry: HashEntry, list_name: str = DEFAULT_LIST) -> bool:
        """Store the entry; ``False`` when the list already has it (same hash and source; the first
        stored copy is kept as it was)."""
        key = self.entry_key(list_name, entry.entry_id)
        if self.store.exists(key):
            return False
        try:
            return bool(self.store.put(key, _json(entry.to_dict()), content_type="application/json").created)
        except ImmutableObjectError:  # another writer stored it (with another label or time) meanwhile
            return False

    def add_many(self, entries: Iterable[HashEntry], list_name: str = DEFAULT_LIST) -> tuple[int, int]:
        """``(added, already_present)``."""
        added = present = 0
        for e in entries:
            if self.add(e, list_name):
                added += 1
            else:
                present += 1
        return added, present

    def get(self, list_name: str, entry_id: str) -> HashEntry | None:
        raw = self.store.get_or_none(self.entry_key(list_name, entry_id))
        return HashEntry.from_dict(json.loads(raw)) if raw is not None else None

    def withdraw(self, list_name: str, entry_id: str, *, who: str, why: str, at: str | None = None) -> bool:
        """Withdraw an entry (kept, never matched again); ``False`` if it already was.
        ``KeyError`` when the list has no such entry."""
        if not (why or "").strip():
            raise ConfigError("a withdrawal needs a reason (why): it is kept with the list")
        if self.get(list_name, entry_id) is None:
            raise KeyError(f"no entry {entry_id} in hash list {list_name!r}")
        key = self.withdrawn_key(list_name, entry_id)
        if self.store.exists(key):
            return False
        body = {"who": who, "why": why.strip(), "at": normalise_time(at) if at else utc_now_iso(),
                "entry_id": entry_id, "list": list_name}
        try:
            return bool(self.store.put(key, _json(body), content_type="application/json").created)
        except ImmutableObjectError:
            return False

    def withdrawals(self, list_name: str | None = None) -> list[Withdrawal]:
        out = []
        for key in self._keys(list_name):
            parsed = self._split(key)
            if parsed and parsed[2]:
                d = json.loads(self.store.get(key))
                out.append(Withdrawal(parsed[0], parsed[1], str(d.get("who", "")), str(d.get("why", "")),
                                      str(d.get("at", ""))))
        return out

    def entries(self, list_name: str | None = None, *,
                include_withdrawn: bool = False) -> list[tuple[str, HashEntry]]:
        """``(list, entry)`` of every entry (by default not the withdrawn ones), by list then key."""
        keys = self._keys(list_name)
        gone = set()
        for key in keys:
            parsed = self._split(key)
            if parsed and parsed[2]:
                gone.add((parsed[0], parsed[1]))
        out = []
        for key in keys:
            parsed = self._split(key)
            if not parsed or parsed[2] or (not include_withdrawn and (parsed[0], parsed[1]) in gone):
                continue
            out.append((parsed[0], HashEntry.from_dict(json.loads(self.store.get(key)))))
        return out

    def lists(self) -> dict[str, int]:
        """Each list's number of entries in force (withdrawn ones not counted)."""
        counts: dict[str, int] = {}
        gone: dict[str, int] = {}
        for key in self._keys():
            parsed = self._split(key)
            if parsed:
                d = gone if parsed[2] else counts
                d[parsed[0]] = d.get(parsed[0], 0) + 1
        return {n: counts.get(n, 0) - gone.get(n, 0) for n in sorted(set(counts) | set(gone))}

    def index(self) -> tuple[PDQIndex, dict[str, tuple[str, HashEntry]]]:
        """A ``PDQIndex`` of every entry in force in every list, and its ids -> ``(list, entry)``.
        Rebuilt only when the stored keys changed since the last call."""
        keys = tuple(self._keys())
        if self._cache is not None and self._cache[0] == keys:
            return self._cache[1], self._cache[2]
        by_id: dict[str, tuple[str, HashEntry]] = {}
        for name, e in self.entries():
            by_id[f"{name}/{e.entry_id}"] = (name, e)
        idx = PDQIndex()
        idx.add_many([e.hash for _, e in by_id.values()], list(by_id))
        self._cache = (keys, idx, by_id)
        return idx, by_id

    def match(self, hash_hex: str, max_distance: int = DEFAULT_MAX_DISTANCE) -> list[dict[str, Any]]:
        """Entries in force within ``max_distance`` of the hash, nearest first."""
        idx, by_id = self.index()
        out = []
        for iid, dist in idx.search(hash_hex.strip().lower(), max_distance):
            name, e = by_id[iid]
            out.append({"list": name, "entry_id": e.entry_id, "distance": dist, "label": e.label,
                        "source": e.source, "post_key": e.post_key, "referral_id": e.referral_id,
                        "hash": e.hash})
        return out


__all__ = ["HashEntry", "HashLists", "Withdrawal", "read_csv", "write_csv", "check_list_name", "CSV_COLUMNS",
           "DEFAULT_LIST"]
