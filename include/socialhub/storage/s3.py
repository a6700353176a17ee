"""S3 backend through boto3 (AWS or any S3-compatible server such as MinIO).

The client normally comes from the amazon provider's ``S3Hook`` (credentials and
endpoint from an Airflow Connection); outside Airflow, boto3's own environment lookup.
Evidence objects are written with ``If-None-Match: *`` where the server supports it,
so two writers can never replace each other's evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from socialhub.errors import StorageError
from socialhub.storage.base import ObjectStore, safe_key


class S3Store(ObjectStore):
    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None, endpoint_url: str | None = None,
                 object_lock_days: int | None = None) -> None:
        if not bucket:
            raise StorageError("S3 store needs a bucket name", hint="use s3://BUCKET/PREFIX")
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.object_lock_days = object_lock_days

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
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                from socialhub.errors import ImmutableObjectError

                raise ImmutableObjectError(f"evidence object {self.uri(key)} was written concurrently") from None
            raise StorageError(f"cannot write {self.uri(key)}: {code}") from exc
        except Exception as exc:
            raise StorageError(f"cannot write {self.uri(key)}: {type(exc).__name__}") from exc

    def _delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:
            raise StorageError(f"cannot delete {self.uri(key)}: {type(exc).__name__}") from exc

    def _list(self, prefix: str) -> Iterator[str]:
        full = self._k(prefix) if prefix else (self.prefix + "/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    yield obj["Key"][strip:]
        except Exception as exc:
            raise StorageError(f"cannot list s3://{self.bucket}/{full}: {type(exc).__name__}") from exc
