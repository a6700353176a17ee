"""Object storage: one interface, two backends (local folder, S3)."""

from socialhub.storage.base import Erasure, ObjectStore, StoredObject, key_segment, safe_key
from socialhub.storage.local import LocalStore

__all__ = ["Erasure", "ObjectStore", "StoredObject", "LocalStore", "key_segment", "safe_key", "open_store"]


def open_store(url: str, **s3_options: object) -> ObjectStore:
    """Open a store from a URL: ``file:///path`` or a plain path for the local folder, ``s3://bucket/prefix`` for S3.

    For S3, ``client`` (a boto3 S3 client, e.g. from the amazon provider's S3Hook) may be passed.
    """
    if url.startswith("s3://"):
        from socialhub.storage.s3 import S3Store

        rest = url[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        return S3Store(bucket, prefix, **s3_options)  # type: ignore[arg-type]
    if url.startswith("file://"):
        url = url[len("file://"):]
    return LocalStore(url)
