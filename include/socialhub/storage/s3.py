"""S3 backend through boto3 (AWS or any S3-compatible server such as MinIO).

The client normally comes from the amazon provider's ``S3Hook`` (credentials and
endpoint from an Airflow Connection); outside Airflow, boto3's own environment lookup.
Evidence objects are written with ``If-None-Match: *`` where the server supports it,
so two writers can never replace each other's evidence. Where it does (AWS S3 since 2024, MinIO,
moto, Ceph RGW, ...) a write-once ``put`` is one request: the write itself, and only when the server
refuses it (the key exists) a read to tell an identical retry from a different object. A server that
ignores the header would silently overwrite, so there every evidence write reads the key first (two
requests). Which one applies is found out once per store (``honours_if_none_match``: two conditional
writes of a probe object, ``state/probe/if-none-match``), or set with the store connection's extra
``conditional_writes`` (true / false).

Erasure (``erase``) deletes every version of a key by its version id, delete markers included, and
then lists the versions again: on a versioned bucket a plain ``DELETE`` only adds a delete marker
and every old version stays readable. Versions under Object Lock (retention not yet expired, or a
legal hold) are left, hidden behind a delete marker, and reported with their retain-until date.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO

from socialhub.errors import ImmutableObjectError, StorageError
from socialhub.models import sha256_hex
from socialhub.storage.base import Erasure, ObjectStore, safe_key

log = logging.getLogger(__name__)

#: the object the ``If-None-Match`` probe writes (never evidence; overwritten only where the header is ignored)
PROBE_KEY = "state/probe/if-none-match"
_PRECONDITION = ("PreconditionFailed", "412", "ConditionalRequestConflict")


class S3Store(ObjectStore):
    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None, endpoint_url: str | None = None,
                 object_lock_days: int | None = None, conditional_writes: bool | None = None) -> None:
        if not bucket:
            raise StorageError("S3 store needs a bucket name", hint="use s3://BUCKET/PREFIX")
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.object_lock_days = object_lock_days
        #: does the server refuse a put with ``If-None-Match: *`` of an existing key? None: probe on first use
        self._conditional = conditional_writes
        self._probe_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _k(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._k(key)}"

    _MISSING: tuple[str, ...] = ("NoSuchKey", "404", "NotFound")

    def _call(self, verb: str, key: str, call: Callable[[], Any]) -> tuple[bool, Any]:
        """``(True, call())``, or ``(False, None)`` if the object does not exist; any other
        failure is a ``StorageError`` naming the object (never the credentials)."""
        from botocore.exceptions import ClientError

        try:
            return True, call()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in self._MISSING:
                return False, None
            raise StorageError(f"cannot {verb} {self.uri(key)}: {code}") from exc
        except Exception as exc:  # endpoint down, timeouts
            raise StorageError(f"cannot {verb} {self.uri(key)}: {type(exc).__name__}") from exc

    def _read(self, key: str) -> bytes | None:
        found, body = self._call("read", key, lambda: self.client.get_object(
            Bucket=self.bucket, Key=self._k(key))["Body"].read())
        return body if found else None

    def _exists(self, key: str) -> bool:
        found, _ = self._call("check", key, lambda: self.client.head_object(Bucket=self.bucket, Key=self._k(key)))
        return found

    def open_read(self, key: str) -> BinaryIO:
        """Streamed to a temporary file (in memory up to 8 MiB), never held whole in memory."""
        import tempfile

        safe_key(key)
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        try:
            found, _ = self._call("read", key, lambda: self.client.download_fileobj(self.bucket, self._k(key), spool))
        except BaseException:
            spool.close()
            raise
        if not found:
            spool.close()
            raise KeyError(key)
        spool.seek(0)
        return spool  # type: ignore[return-value]

    def _write_file(self, key: str, fileobj: BinaryIO, *, content_type: str) -> None:
        self._write(key, fileobj, immutable=True, content_type=content_type)  # put_object streams a file body

    def _write(self, key: str, data: bytes | BinaryIO, *, immutable: bool, content_type: str) -> None:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._k(key), "Body": data,
                                  "ContentType": content_type}
        if immutable:
            kwargs["IfNoneMatch"] = "*"
            if self.object_lock_days:
                import datetime as _dt

                kwargs["ObjectLockMode"] = "COMPLIANCE"
                kwargs["ObjectLockRetainUntilDate"] = (
                    _dt.datetime.now(_dt.UTC) + _dt.timedelta(days=self.object_lock_days)
                )
        try:
            self.client.put_object(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in _PRECONDITION:
                raise ImmutableObjectError(f"evidence object {self.uri(key)} was written concurrently") from None
            raise StorageError(f"cannot write {self.uri(key)}: {code}") from exc
        except Exception as exc:
            raise StorageError(f"cannot write {self.uri(key)}: {type(exc).__name__}") from exc

    def honours_if_none_match(self) -> bool:
        """Whether the server refuses ``If-None-Match: *`` puts of existing keys (probed once, then kept)."""
        if self._conditional is None:
            with self._probe_lock:
                if self._conditional is None:
                    self._conditional = self._probe()
        return self._conditional

    def _probe(self) -> bool:
        from botocore.exceptions import ClientError

        body = b"socialhub: does this server refuse a second put with If-None-Match: * ?\n"
        for _ in range(2):   # the first may create the probe; the second must then be refused
            try:
                self.client.put_object(Bucket=self.bucket, Key=self._k(PROBE_KEY), Body=body, IfNoneMatch="*",
                                       ContentType="text/plain")
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in _PRECONDITION:
                    log.info("%s honours If-None-Match: evidence writes are one conditional put", self.uri(""))
                    return True
                log.warning("%s: the If-None-Match probe failed (%s): every evidence write reads its key first",
                            self.uri(""), code)
                return False
            except Exception as exc:  # noqa: BLE001 - the store may be down: the first real call says so
                log.warning("%s: the If-None-Match probe failed (%s): every evidence write reads its key first",
                            self.uri(""), type(exc).__name__)
                return False
        log.warning("%s ignores If-None-Match (a second conditional put of %s succeeded): every evidence write "
                    "reads its key first", self.uri(""), PROBE_KEY)
        return False

    def _write_once(self, key: str, sha: str, write: Callable[[], None], *, look_first: bool = False) -> bool:
        """One conditional write where the server honours ``If-None-Match`` (the key is read only
        when the server refuses the write, to tell an identical retry from different content);
        else the base rule: read, then write."""
        if not self.honours_if_none_match():
            return super()._write_once(key, sha, write, look_first=look_first)
        try:
            write()
        except ImmutableObjectError:
            existing = self._read(key)
            if existing is not None and sha256_hex(existing) == sha:
                return False
            raise ImmutableObjectError(f"refusing to overwrite evidence object {self.uri(key)}") from None
        return True

    def _delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:
            raise StorageError(f"cannot delete {self.uri(key)}: {type(exc).__name__}") from exc

    def _versions(self, key: str) -> list[dict[str, Any]]:
        """Every stored version of exactly this key (objects and delete markers), newest first."""
        k = self._k(key)
        out: list[dict[str, Any]] = []
        try:
            for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=k):
                out += [{**v, "marker": False} for v in page.get("Versions", []) if v["Key"] == k]
                out += [{**m, "marker": True} for m in page.get("DeleteMarkers", []) if m["Key"] == k]
        except Exception as exc:
            raise StorageError(f"cannot list the versions of {self.uri(key)}: {_code(exc)}") from exc
        return out

    def _stored(self, key: str) -> bool:
        return bool(self._versions(key))

    def _lock_of(self, key: str, version_id: str) -> tuple[datetime | None, bool]:
        """(retain-until date, legal hold on) of one version; (None, False) if it cannot be read."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._k(key), VersionId=version_id)
        except Exception:  # noqa: BLE001 - only used to explain a refused delete
            return None, False
        until = head.get("ObjectLockRetainUntilDate")
        return (until if isinstance(until, datetime) else None), head.get("ObjectLockLegalHoldStatus") == "ON"

    def _erase(self, key: str) -> Erasure:
        from botocore.exceptions import ClientError

        k = self._k(key)
        versions = self._versions(key)
        deleted, refused = 0, 0
        until: datetime | None = None
        hold = False
        denied = ""
        for v in (v for v in versions if not v["marker"]):
            try:
                self.client.delete_object(Bucket=self.bucket, Key=k, VersionId=v["VersionId"])
                deleted += 1
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("NoSuchVersion", *self._MISSING):
                    continue
                if code != "AccessDenied":
                    raise StorageError(f"cannot delete {self.uri(key)} version {v['VersionId']}: {code}") from exc
                refused += 1
                denied = code
                v_until, v_hold = self._lock_of(key, v["VersionId"])
                hold = hold or v_hold
                if v_until is not None and (until is None or v_until > until):
                    until = v_until
            except Exception as exc:
                raise StorageError(f"cannot delete {self.uri(key)}: {type(exc).__name__}") from exc
        try:
            if not refused:
                for m in (v for v in versions if v["marker"]):
                    self.client.delete_object(Bucket=self.bucket, Key=k, VersionId=m["VersionId"])
                    deleted += 1
            elif self._exists(key):
                # locked versions wait, but no plain read may return them meanwhile
                self.client.delete_object(Bucket=self.bucket, Key=k)
        except Exception as exc:
            raise StorageError(f"cannot delete {self.uri(key)}: {_code(exc)}") from exc
        left = self._versions(key)  # the check: an erasure is only what the bucket no longer holds
        if not left:
            return Erasure(key, True, deleted, 0)
        if hold:
            reason = "legal hold (Object Lock) on a version"
        elif until is not None:
            reason = f"Object Lock retention until {until.isoformat()}"
        elif denied:
            reason = (f"delete refused ({denied}) and no Object Lock found: check s3:DeleteObjectVersion "
                      f"and s3:ListBucketVersions")
        else:
            reason = f"{len(left)} version(s) still listed after delete"
        return Erasure(key, False, deleted, len(left), locked_until=until, legal_hold=hold, reason=reason)

    def _list(self, prefix: str) -> Iterator[str]:
        return (key for key, _ in self._list_modified(prefix))

    def _list_modified(self, prefix: str) -> Iterator[tuple[str, float]]:
        full = self._k(prefix) if prefix else (self.prefix + "/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    modified = obj.get("LastModified")
                    yield obj["Key"][strip:], modified.timestamp() if modified is not None else 0.0
        except Exception as exc:
            raise StorageError(f"cannot list s3://{self.bucket}/{full}: {type(exc).__name__}") from exc


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code"))
    return type(exc).__name__
