"""Anchors: the chain's head written now and then where the pipeline's store credentials cannot rewrite it.

Anyone who can write the store can delete the newest events and rewrite ``audit/head.json``;
the chain that remains is intact, and a key does not help (every remaining MAC is genuine).
An anchor record ``{"seq", "hash", "time"}`` (plus ``key_id`` and ``mac`` when the log is keyed)
kept somewhere else, which the pipeline can only add to, says "at this time the chain had at
least ``seq + 1`` events and event ``seq`` had this hash": ``verify_chain`` checks every record.

Two backends:

* ``StoreAnchor``: write-once objects ``audit-anchors/<seq>-<time>-<rand>.json`` in a second
  ObjectStore. In production a second bucket (or prefix) under S3 Object Lock in *compliance*
  mode with a default retention, where the pipeline's credentials may only ``PutObject``
  (docs/production.md has the settings).
* ``FileAnchor``: one JSON line per record appended to a local file (the demo and the tests; on
  Linux ``chattr +a`` makes the file append-only even for its owner).

``SOCIALHUB_AUDIT_ANCHOR`` (or ``--anchor``) is ``s3://BUCKET/PREFIX`` for a ``StoreAnchor``, or
a local path: a file (``*.jsonl`` or an existing file) or a folder (its ``audit-anchors.jsonl``).

Events appended after the newest anchor are not protected against being cut off: anchor more
often (``SOCIALHUB_AUDIT_ANCHOR_EVERY``) to narrow that window.
"""

from __future__ import annotations

import json
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from socialhub.errors import ConfigError, ImmutableObjectError
from socialhub.models import canonical_json, utc_iso
from socialhub.storage.base import ObjectStore

ANCHOR_ENV = "SOCIALHUB_AUDIT_ANCHOR"
EVERY_ENV = "SOCIALHUB_AUDIT_ANCHOR_EVERY"
ANCHOR_PREFIX = "audit-anchors/"
FILE_NAME = "audit-anchors.jsonl"
#: anchor every this many events, or when this many seconds passed since this writer last anchored
DEFAULT_EVERY_EVENTS = 50
DEFAULT_EVERY_SECONDS = 600.0


def anchor_message(record: Mapping[str, Any]) -> str:
    return f"socialhub-audit-anchor-v1\n{record.get('seq')}\n{record.get('hash')}\n{record.get('time')}"


class Anchor(ABC):
    """Somewhere the chain's head is recorded, which the pipeline can add to but not rewrite."""

    label: str = "anchor"

    @abstractmethod
    def write(self, record: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def records(self) -> list[dict[str, Any]]:
        """Every record, oldest first (unreadable ones as ``{"unreadable": where}``)."""


class StoreAnchor(Anchor):
    """Write-once objects in a second ObjectStore (production: an Object Lock compliance-mode bucket)."""

    def __init__(self, store: ObjectStore, label: str | None = None) -> None:
        self.store = store
        from socialhub.audit.where import store_label

        self.label = label or store_label(store)

    def write(self, record: Mapping[str, Any]) -> None:
        stamp = str(record["time"]).replace(":", "").replace("-", "")
        for _ in range(5):
            key = f"{ANCHOR_PREFIX}{int(record['seq']):012d}-{stamp}-{secrets.token_hex(4)}.json"
            try:
                self.store.put(key, canonical_json(dict(record)), content_type="application/json")
                return
            except ImmutableObjectError:
                continue
        raise RuntimeError("could not write an anchor record")  # pragma: no cover - five random collisions

    def records(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key in self.store.list(ANCHOR_PREFIX):
            try:
                rec = json.loads(self.store.get(key))
                out.append(rec if isinstance(rec, dict) else {"unreadable": key})
            except ValueError:
                out.append({"unreadable": key})
        return out


class FileAnchor(Anchor):
    """One JSON line per record, appended (``O_APPEND``) to a local file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.label = str(self.path)

    def write(self, record: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(dict(record), sort_keys=True, separators=(",", ":")) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        out: list[dict[str, Any]] = []
        for n, line in enumerate(self.path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                out.append(rec if isinstance(rec, dict) else {"unreadable": f"line {n}"})
            except ValueError:
                out.append({"unreadable": f"line {n}"})
        return out


def open_anchor(url: str) -> Anchor:
    """``s3://BUCKET/PREFIX`` → StoreAnchor; a ``*.jsonl`` or existing file → FileAnchor; a folder → its
    ``audit-anchors.jsonl``."""
    url = url.strip()
    if url.startswith("s3://"):
        from socialhub.storage import open_store

        return StoreAnchor(open_store(url), url.rstrip("/"))
    path = Path(url[len("file://"):] if url.startswith("file://") else url).expanduser()
    if path.suffix == ".jsonl" or path.is_file():
        return FileAnchor(path)
    return FileAnchor(path / FILE_NAME)


def anchor_from_env(env: Mapping[str, str] | None = None) -> Anchor | None:
    env = os.environ if env is None else env
    url = env.get(ANCHOR_ENV, "").strip()
    return open_anchor(url) if url else None


@dataclass(frozen=True)
class AnchorPolicy:
    """When an appending writer anchors: when the event's number is a multiple of ``every_events``
    (exactly one writer appends that number), or when ``every_seconds`` passed since this writer
    last anchored (or was created). ``every_events=1`` anchors every append."""

    every_events: int = DEFAULT_EVERY_EVENTS
    every_seconds: float = DEFAULT_EVERY_SECONDS

    @classmethod
    def parse(cls, text: str) -> AnchorPolicy:
        """``N`` or ``N,M`` (events, seconds)."""
        events, _, seconds = text.partition(",")
        try:
            policy = cls(int(events) if events.strip() else DEFAULT_EVERY_EVENTS,
                         float(seconds) if seconds.strip() else DEFAULT_EVERY_SECONDS)
        except ValueError:
            raise ConfigError(f"{EVERY_ENV}={text!r}: expected N or N,SECONDS (e.g. 50,600)") from None
        if policy.every_events < 1 or policy.every_seconds <= 0:
            raise ConfigError(f"{EVERY_ENV}={text!r}: both numbers must be positive")
        return policy

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AnchorPolicy:
        env = os.environ if env is None else env
        text = env.get(EVERY_ENV, "").strip()
        return cls.parse(text) if text else cls()


def make_record(seq: int, event_hash: str, keys: Any = None, at: datetime | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"seq": seq, "hash": event_hash, "time": utc_iso(at or datetime.now(UTC))}
    if keys is not None:
        record["key_id"] = keys.signing_id
        record["mac"] = keys.mac(keys.signing_id, anchor_message(record))
    return record


__all__ = ["ANCHOR_ENV", "EVERY_ENV", "Anchor", "AnchorPolicy", "FileAnchor", "StoreAnchor", "anchor_from_env",
           "anchor_message", "make_record", "open_anchor"]
