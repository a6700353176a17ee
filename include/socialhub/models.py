"""The one Post schema every connector returns and every stage consumes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

PLATFORMS = ("mastodon", "bluesky", "youtube", "x", "reddit", "telegram", "rss")
CATEGORIES = ("violence_threat", "weapon", "gang_affiliation", "drug_supply")
#: what an alert can be about: the classifier's categories, and an image matching a hash list (socialhub.media.judge)
ALERT_CATEGORIES = (*CATEGORIES, "known_content")


def canonical_json(obj: Any) -> bytes:
    """Stable bytes for hashing: sorted keys, no whitespace, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def raw_sha256(item: Any) -> str:
    """Hash of a raw API item (canonical JSON; strings such as HTML/XML fragments are hashed as UTF-8)."""
    if isinstance(item, (bytes, bytearray)):
        return sha256_hex(bytes(item))
    if isinstance(item, str):
        return sha256_hex(item.encode("utf-8"))
    return sha256_hex(canonical_json(item))


def utc_iso(dt: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, second precision."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse ISO 8601 (``Z`` or offset); naive values are taken as UTC."""
    v = value.strip()
    if v.endswith("Z") or v.endswith("z"):
        v = v[:-1] + "+00:00"
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


@dataclass(slots=True)
class Post:
    """A normalised public post. Nothing downstream knows the platform except by reading ``platform``.

    Fields may be empty when the platform's item lacked them: the data-quality suite, not the
    connector, decides whether such a post is quarantined, so nothing is dropped silently.
    """

    platform: str
    account: str
    post_id: str
    url: str
    author: str
    text: str
    created_at: str
    collected_at: str
    media: list[str] = field(default_factory=list)
    raw_sha256: str = ""
    reply_to: str | None = None
    repost_of: str | None = None

    @property
    def key(self) -> str:
        """Identity of a post across the whole pipeline."""
        return f"{self.platform}:{self.post_id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Post:
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: d[k] for k in names if k in d})


def to_jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n" for r in rows)


def from_jsonl(data: bytes) -> list[dict[str, Any]]:
    # split on "\n" only: str.splitlines() also splits at U+0085, U+2028, U+2029, \x0b, \x0c and
    # \x1c-\x1e, which json.dumps(ensure_ascii=False) leaves raw inside a post's text
    return [json.loads(line) for line in data.decode("utf-8").split("\n") if line.strip()]
