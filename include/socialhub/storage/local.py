"""The embedded default backend: a local folder.

Evidence files are written atomically (temp file + rename) and then made read-only,
the local stand-in for S3 Object Lock.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from socialhub.errors import StorageError
from socialhub.storage.base import ObjectStore, safe_key


class LocalStore(ObjectStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        # Textual, no system calls (resolve() costs a stat per path component, per object): keys
        # already passed safe_key, and the normalised path must still lie under the root.
        root = str(self.root)
        path = os.path.normpath(os.path.join(root, key))
        if not path.startswith(root.rstrip(os.sep) + os.sep):
            from socialhub.errors import UnsafeKeyError

            raise UnsafeKeyError(f"key {key!r} resolves outside {self.root}")
        return Path(path)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def _read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def _write(self, key: str, data: bytes, *, immutable: bool, content_type: str) -> None:
        self._write_with(key, lambda fh: fh.write(data), immutable=immutable)

    def _write_hint(self, key: str, data: bytes) -> None:
        self._write_with(key, lambda fh: fh.write(data), immutable=False, sync=False)

    def _write_file(self, key: str, fileobj: BinaryIO, *, content_type: str) -> None:
        self._write_with(key, lambda fh: shutil.copyfileobj(fileobj, fh, 1 << 20), immutable=True)

    def open_read(self, key: str) -> BinaryIO:
        safe_key(key)
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise KeyError(key) from None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def _write_with(self, key: str, write: Callable[[BinaryIO], object], *, immutable: bool,
                    sync: bool = True) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    write(fh)
                    fh.flush()
                    if sync:
                        os.fsync(fh.fileno())
                if immutable:
                    os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
                    # link() fails if the key appeared meanwhile: write-once even under races
                    os.link(tmp, path)
                else:
                    os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except FileExistsError:
            from socialhub.errors import ImmutableObjectError

            raise ImmutableObjectError(f"evidence object {key} was written concurrently") from None
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}") from exc

    def _delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            pass

    def _exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _list(self, prefix: str) -> Iterator[str]:
        """Keys starting with ``prefix``, as S3 lists them. Only the folder the prefix names is
        walked (a prefix ending in ``/``), or only the matching entries of its parent folder (a
        partial name): never the whole parent, which made listing a new account's empty folder
        cost every other account's files (quadratic collection)."""
        base = str(self.root)

        def walk(folder: str) -> Iterator[str]:
            for dirpath, _dirs, files in os.walk(folder):
                rel_dir = os.path.relpath(dirpath, base).replace(os.sep, "/")
                rel_dir = "" if rel_dir == "." else rel_dir + "/"
                for name in files:
                    if not name.startswith(".tmp-"):
                        yield rel_dir + name

        if prefix == "" or prefix.endswith("/"):
            folder = os.path.join(base, prefix) if prefix else base
            if os.path.isdir(folder):
                yield from walk(folder)
            return
        parent_rel, _, stem = prefix.rpartition("/")
        parent = os.path.join(base, parent_rel) if parent_rel else base
        if not os.path.isdir(parent):
            return
        for entry in os.scandir(parent):
            if not entry.name.startswith(stem):
                continue
            if entry.is_dir():
                yield from walk(entry.path)
            elif not entry.name.startswith(".tmp-"):
                yield (parent_rel + "/" if parent_rel else "") + entry.name

    def _list_modified(self, prefix: str) -> Iterator[tuple[str, float]]:
        for key in self._list(prefix):
            try:
                yield key, os.stat(self._path(key)).st_mtime
            except FileNotFoundError:   # removed since it was listed
                continue
