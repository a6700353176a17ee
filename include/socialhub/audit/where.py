"""Which store an audit command reads, said out loud, and refused when there is nothing to vouch for.

``socialhub audit verify`` and ``socialhub audit report`` must never certify the wrong store:
an auditor who runs them without ``--store`` gets the default store (``$SOCIALHUB_STORE``,
else ``$SOCIALHUB_DATA_DIR/store``), which may be an empty folder nobody uses. So both
commands

* print the store they read (a folder, or ``s3://bucket/prefix``; never credentials) and where
  that choice came from (``--store``, ``$SOCIALHUB_STORE`` or the default);
* fail (exit 2) on a store that does not exist or whose audit log has no events, saying what to
  do, unless the caller passes ``--allow-empty``;
* never create the store's folder (opening a local store creates it, so a missing folder is
  detected before anything is opened).

``socialhub audit anchor`` and ``socialhub audit seal`` refuse such a store the same way, but they
have no ``--allow-empty`` (they write to the log, so they need one): their message does not offer it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from socialhub.audit.chain import PREFIX, SEGMENTS

#: exit status of an audit command that found no store, or a store with no audit events
EXIT_NO_STORE = 2


@dataclass(frozen=True)
class StoreChoice:
    """The store an audit command will read."""

    url: str                 # what open_store is given
    origin: str              # where the choice came from, in words
    local: Path | None       # the folder, for a local store

    @property
    def label(self) -> str:
        """The store in words: the folder, or ``s3://bucket/prefix`` (any user:password@ removed)."""
        if self.local is not None:
            return str(self.local)
        parts = urlsplit(self.url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return f"{parts.scheme}://{host}{parts.path}".rstrip("/")

    def describe(self) -> str:
        return f"store: {self.label} ({self.origin})"


def store_label(store: Any) -> str:
    """An open store in words: its folder, or ``s3://bucket/prefix`` (no credentials)."""
    if getattr(store, "root", None) is not None:
        return str(store.root)
    if getattr(store, "bucket", None):
        prefix = str(getattr(store, "prefix", "") or "")
        return f"s3://{store.bucket}" + (f"/{prefix}" if prefix else "")
    return type(store).__name__


def choose_store(arg: str | None, env: Mapping[str, str] | None = None) -> StoreChoice:
    """``--store`` if given, else ``$SOCIALHUB_STORE``, else ``$SOCIALHUB_DATA_DIR/store`` (the default)."""
    env = os.environ if env is None else env
    if arg:
        url, origin = arg, "given by --store"
    elif env.get("SOCIALHUB_STORE"):
        url, origin = env["SOCIALHUB_STORE"], "from $SOCIALHUB_STORE; use --store to choose another"
    else:
        from socialhub.config import Settings

        url = str(Settings.from_env().data_dir / "store")
        origin = ("the default, $SOCIALHUB_DATA_DIR/store, as neither --store nor $SOCIALHUB_STORE is set"
                  if env.get("SOCIALHUB_DATA_DIR") else
                  "the default data folder's store, as neither --store, $SOCIALHUB_STORE nor "
                  "$SOCIALHUB_DATA_DIR is set")
    if url.startswith("s3://"):
        return StoreChoice(url, origin, None)
    path = url[len("file://"):] if url.startswith("file://") else url
    return StoreChoice(url, origin, Path(path).expanduser().resolve())


#: the audit commands that have ``--allow-empty`` (anchor and seal write to the log: they need events)
ALLOW_EMPTY_COMMANDS = frozenset({"audit verify", "audit report"})


def _what_to_do(choice: StoreChoice, command: str = "audit verify") -> str:
    where = ("Give the store the pipeline writes with --store (a folder or s3://BUCKET/PREFIX; after `make demo`: "
             "--store .demo/data/store)")
    if command in ALLOW_EMPTY_COMMANDS:
        return f"{where}, or pass --allow-empty if an empty store is what you expect."
    return f"{where}: `socialhub {command}` works only on a store whose audit log has events."


def open_for_audit(choice: StoreChoice, *, allow_empty: bool,
                   command: str = "audit verify") -> tuple[Any | None, str | None]:
    """``(store, None)`` to go ahead, or ``(None, message)`` when there is nothing to vouch for.

    A missing local folder is never created: with ``allow_empty`` the answer is ``(None, None)``
    (go ahead with nothing), otherwise a message. An existing store with no audit events is a
    message unless ``allow_empty``. ``command`` (``audit verify``, ``audit report``, ``audit anchor``,
    ``audit seal``) words the message: only the commands that have ``--allow-empty`` suggest it.
    """
    from socialhub.storage import open_store

    if choice.local is not None and not choice.local.is_dir():
        if allow_empty:
            return None, None
        what = "is not a folder" if choice.local.exists() else "does not exist"
        return None, (f"there is no store at {choice.label}: it {what} ({choice.origin}), so there is no audit "
                      f"log to check. {_what_to_do(choice, command)}")
    store = open_store(choice.url)
    if not allow_empty and not store.list(PREFIX) and not store.list(SEGMENTS):
        return None, (f"the store at {choice.label} ({choice.origin}) has no audit events, so there is nothing "
                      f"to vouch for: is it the store the pipeline writes? {_what_to_do(choice, command)}")
    return store, None


__all__ = ["ALLOW_EMPTY_COMMANDS", "EXIT_NO_STORE", "StoreChoice", "choose_store", "open_for_audit", "store_label"]
