"""Where media lives in the object store, and the per-post capture record.

* ``media/objects/<aa>/<sha256>``: the bytes as fetched, write-once, content-addressed (the same
  image posted twice is stored once; a retry writes the same bytes to the same key).
* ``media/info/<aa>/<sha256>.json``: what was found in them (sniffed type, size, dimensions, PDQ
  hashes, OCR text, notes and errors), write-once.
* ``media/previews/<aa>/<sha256>.jpg``: the small blurred preview reviewers see, write-once.
* ``media/posts/<platform>/<post id>.json``: the capture record of one post (state, rewritten as
  retries progress): each media URL with its status (``captured``, ``failed``, ``deferred``,
  ``gave_up``), attempts, and the stored copy it points at.
* ``media/pending/<batch id>.json``: a batch whose media is not all captured yet (state): written
  before the batch's cursor moves, removed once every item is captured or given up.

``<aa>`` is the first two hex digits of the hash, so no prefix grows past 1/256 of the objects.
"""

from __future__ import annotations

import json
import re
from typing import Any

from socialhub.storage.base import ObjectStore, key_segment

_SHA = re.compile(r"[0-9a-f]{64}")
#: where the posts' capture records live (retention reads them all to see which files are shared)
MEDIA_RECORDS = "media/posts/"
#: the sniffed types a reviewer's browser is ever shown (raster images, with their file extension);
#: anything else (SVG, video, unknown) is only offered as an opaque download
RASTER_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
                "image/bmp": "bmp"}


def _check(sha: str) -> str:
    if not _SHA.fullmatch(sha):
        raise ValueError(f"not a SHA-256 hex digest: {sha[:80]!r}")
    return sha


def object_key(sha: str) -> str:
    return f"media/objects/{_check(sha)[:2]}/{sha}"


def info_key(sha: str) -> str:
    return f"media/info/{_check(sha)[:2]}/{sha}.json"


def preview_key(sha: str) -> str:
    return f"media/previews/{_check(sha)[:2]}/{sha}.jpg"


def record_key(platform: str, post_id: str) -> str:
    return f"media/posts/{key_segment(platform)}/{key_segment(post_id)}.json"


def pending_key(batch_id: str) -> str:
    return f"media/pending/{key_segment(batch_id)}.json"


def load_record(store: ObjectStore, platform: str, post_id: str) -> dict[str, Any] | None:
    raw = store.get_or_none(record_key(platform, post_id))
    return json.loads(raw) if raw else None


def load_info(store: ObjectStore, sha: str) -> dict[str, Any] | None:
    raw = store.get_or_none(info_key(sha))
    return json.loads(raw) if raw else None


def captured_items(store: ObjectStore, post: dict[str, Any]) -> list[dict[str, Any]]:
    """The post's media items as its capture record has them (empty if none was made)."""
    record = load_record(store, str(post.get("platform") or ""), str(post.get("post_id") or ""))
    return list((record or {}).get("items") or [])


__all__ = ["RASTER_TYPES", "object_key", "info_key", "preview_key", "record_key", "pending_key", "load_record", "load_info",
           "captured_items"]
