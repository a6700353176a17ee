"""Shared factories for the data-quality tests: a fixed clock and a post that passes every rule."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from socialhub.models import raw_sha256

NOW = datetime(2025, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


def good_post(i: int, **changes: Any) -> dict[str, Any]:
    """A post that passes every rule; ``changes`` override (or with ``...``, remove) fields."""
    row: dict[str, Any] = {
        "platform": "mastodon",
        "account": "@police@example.social",
        "post_id": f"1100{i}",
        "url": f"https://example.social/@police/1100{i}",
        "author": "Example Police",
        "text": f"post number {i}",
        "created_at": "2025-11-25T10:00:00Z",
        "collected_at": "2025-11-25T11:00:00Z",
        "media": [f"https://files.example.social/media/{i}.jpg"],
        "raw_sha256": raw_sha256({"id": i}),
        "reply_to": None,
        "repost_of": None,
    }
    for key, value in changes.items():
        if value is ...:
            row.pop(key, None)
        else:
            row[key] = value
    return row
