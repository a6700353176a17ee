"""The storage interface and the key rules every backend shares.

Evidence is write-once: ``put`` of an existing key succeeds only if the content is
identical (so retries are idempotent) and raises ``ImmutableObjectError`` otherwise.
Mutable state (cursors, markers) goes through ``put_state``.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import re
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from socialhub.errors import UnsafeKeyError
from socialhub.models import sha256_hex


def key_segment(value: str) -> str:
    """Turn any string (an account handle, a post id) into ONE safe key segment.

    Everything but letters, digits and ``._-~@=+`` is percent-encoded, including ``/``, ``\\``,
    ``%`` and ``:``, and leading dots are encoded too. So ``../etc`` becomes ``%2E.%2Fetc``:
    it can never climb out of its prefix, and distinct inputs stay distinct.
    """
    if not value:
        raise UnsafeKeyError("empty key segment (an account name or id is missing)")
    seg = urllib.parse.quote(value, safe="@=+")
    stripped = seg.lstrip(".")
    return "%2E" * (len(seg) - len(stripped)) + stripped


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_key(key: str) -> str:
    """Validate a full object key: relative, ``/``-separated, no empty, ``.`` or ``..`` segments
    (also not once percent-decoded), no backslashes or control characters.
    Raises ``UnsafeKeyError`` otherwise."""
    if not key or key.startswith("/") or "\\" in key or _CONTROL.search(key):
        raise UnsafeKeyError(f"unsafe object key {key!r}")
    for seg in key.split("/"):
        decoded = urllib.parse.unquote(seg)
        if seg in ("", ".", "..") or decoded in (".", ".."):
            raise UnsafeKeyError(f"unsafe object key {key!r} (segment {seg!r})")
    return key


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    uri: str
    created: bool  # False when an identical object was already there (idempotent retry)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What ``ObjectStore.erase`` did. ``erased`` is True only once a check after the deletes found
    no version of the key left (no old version, no delete marker); otherwise ``remaining`` versions
    are still stored, and ``locked_until`` / ``legal_hold`` say what keeps them (S3 Object Lock)."""

    key: str
    erased: bool
    versions_deleted: int = 0
    remaining: int = 0
    locked_until: datetime | None = None
    legal_hold: bool = False
    reason: str = ""


class ObjectStore(ABC):
    """Backends implement the small primitives; the write-once rule lives here."""

    @abstractmethod
    def uri(self, key: str) -> str: ...

    @abstractmethod
    def _read(self, key: str) -> bytes | None: ...

    @abstractmethod
    def _write(self, key: str, data: bytes, *, immutable: bool, content_type: str) -> None: ...

    @abstractmethod
    def _delete(self, key: str) -> None: ...

    @abstractmethod
    def _list(self, prefix: str) -> Iterator[str]: ...

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> StoredObject:
        """Write-once put: identical content is a no-op, different content is refused."""
        safe_key(key)
        digest = sha256_hex(data)
        created = self._write_once(key, digest, lambda: self._write(key, data, immutable=True,
                                                                     content_type=content_type))
        return StoredObject(key, digest, len(data), self.uri(key), created=created)

    def put_file(self, key: str, fileobj: BinaryIO, *,
                 content_type: str = "application/octet-stream") -> StoredObject:
        """Write-once put of a seekable file's content (from its start), streamed where the backend
        can: the processing stage writes outputs larger than memory should hold this way."""
        safe_key(key)
        fileobj.seek(0)
        digest, size = hashlib.sha256(), 0
        for chunk in iter(lambda: fileobj.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
        sha = digest.hexdigest()
        fileobj.seek(0)
        created = self._write_once(key, sha, lambda: self._write_file(key, fileobj, content_type=content_type),
                                   look_first=True)
        return StoredObject(key, sha, size, self.uri(key), created=created)

    def _write_once(self, key: str, sha: str, write: Callable[[], None], *, look_first: bool = False) -> bool:
        """The write-once rule: True after ``write()`` created the key; False if the key already holds
        content with this sha256 (an idempotent retry); ``ImmutableObjectError`` if it holds other
        content. Here: read the key first (``look_first``: check that it exists before reading it
        whole). Backends whose writes are conditional override this with write-first."""
        existing = self._read(key) if not look_first or self._exists(key) else None
        if existing is not None:
            if sha256_hex(existing) == sha:
                return False
            from socialhub.errors import ImmutableObjectError

            raise ImmutableObjectError(f"refusing to overwrite evidence object {self.uri(key)}")
        write()
        return True

    def _write_file(self, key: str, fileobj: BinaryIO, *, content_type: str) -> None:
        """Backends override this to stream; the default reads the file into memory."""
        self._write(key, fileobj.read(), immutable=True, content_type=content_type)

    def open_read(self, key: str) -> BinaryIO:
        """The object's content as a binary file (read it line by line for JSONL); ``KeyError`` if
        missing. Backends override this to avoid holding the object in memory."""
        return io.BytesIO(self.get(key))

    def put_state(self, key: str, data: bytes) -> StoredObject:
        """Overwrite a mutable state object (cursors, markers); the write is atomic."""
        safe_key(key)
        self._write(key, data, immutable=False, content_type="application/json")
        return StoredObject(key, sha256_hex(data), len(data), self.uri(key), created=True)

    def put_hint(self, key: str, data: bytes) -> None:
        """Overwrite a hint that is rebuilt when missing or stale (the audit log's head): atomic,
        but a backend may skip the flush to disk that state and evidence get."""
        safe_key(key)
        self._write_hint(key, data)

    def _write_hint(self, key: str, data: bytes) -> None:
        self._write(key, data, immutable=False, content_type="application/json")

    def get(self, key: str) -> bytes:
        safe_key(key)
        data = self._read(key)
        if data is None:
            raise KeyError(key)
        return data

    def get_or_none(self, key: str) -> bytes | None:
        safe_key(key)
        return self._read(key)

    def exists(self, key: str) -> bool:
        safe_key(key)
        return self._exists(key)

    def _exists(self, key: str) -> bool:
        """Backends override this with a cheaper check than reading the object."""
        return self._read(key) is not None

    def delete(self, key: str) -> None:
        """Remove the key from view (on a versioned bucket: a delete marker; old versions stay).
        For erasure use ``erase``."""
        safe_key(key)
        self._delete(key)

    def erase(self, key: str) -> Erasure:
        """Erase every stored version of ``key``, then check that none is left. A version the
        backend may not delete yet (S3 Object Lock retention or legal hold) is left in place and
        reported, never raised: the caller records the erasure as pending and tries again later."""
        safe_key(key)
        return self._erase(key)

    def _erase(self, key: str) -> Erasure:
        """Unversioned backends: one delete, then check."""
        self._delete(key)
        if self._exists(key):
            return Erasure(key, False, 0, 1, reason="still present after delete")
        return Erasure(key, True, 1, 0)

    def stored(self, key: str) -> bool:
        """True while any version of ``key`` is kept, even one hidden behind a delete marker
        (``exists`` only sees the current version)."""
        safe_key(key)
        return self._stored(key)

    def _stored(self, key: str) -> bool:
        return self._exists(key)

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix``, sorted."""
        if prefix:
            safe_key(prefix.rstrip("/"))
        return sorted(self._list(prefix))

    def list_modified(self, prefix: str = "") -> builtins.list[tuple[str, float]]:
        """Keys under ``prefix`` with the time each was last written (POSIX seconds; S3: the
        listing's ``LastModified``, to the second on most servers), sorted by key: one listing, no
        read of any object."""
        if prefix:
            safe_key(prefix.rstrip("/"))
        return sorted(self._list_modified(prefix))

    def _list_modified(self, prefix: str) -> Iterator[tuple[str, float]]:
        """Backends override this with their listing's times; here every time is 0 (key order)."""
        return ((k, 0.0) for k in self._list(prefix))
