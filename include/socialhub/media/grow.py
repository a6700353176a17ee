"""The hub's own hash list grows from officers' decisions.

When an officer refers a post to the platform or escalates it (a person's decision: an
escalation by timeout adds nothing), the PDQ hashes of the post's captured images and video
keyframes go on the ``hub`` list, each naming the referral (or alert), the post, the stored
image and the category. A later re-upload of the same picture, resized, recompressed, slightly
cropped or mirrored, is then alerted as ``known_content`` (``socialhub.media.judge``) even when
its text is harmless. Hashes of low PDQ quality (flat or tiny images) are left out: they match
too much.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from socialhub.media import store as mstore
from socialhub.models import utc_iso
from socialhub.storage.base import ObjectStore

#: PDQ quality below which a hash is not listed (PDQ's own guidance: below 50 hashes are unreliable)
MIN_QUALITY = 50
HUB_LIST = "hub"


def add_decision_media(store: ObjectStore, *, post: Mapping[str, Any], labels: list[str], decision: str,
                       alert_id: str, referral_id: str = "", now: datetime) -> list[dict[str, Any]]:
    """List the PDQ hashes of a decided post's captured media; returns what was added (idempotent)."""
    from socialhub.media.hashlist import HashEntry, HashLists

    lists = HashLists(store)
    source = f"hub:referral:{referral_id}" if referral_id else f"hub:{decision}:{alert_id}"
    label = next((c for c in labels if c != "known_content"), labels[0] if labels else "referred")
    post_key = f"{post.get('platform')}:{post.get('post_id')}"
    added = []
    for item in post.get("media_captured") or []:
        sha = item.get("sha256") if isinstance(item, Mapping) else None
        info = mstore.load_info(store, sha) if sha else None
        for h in (info or {}).get("pdq") or []:
            if int(h.get("quality") or 0) < MIN_QUALITY:
                continue
            entry = HashEntry(signal_type="pdq", hash=h["hash"], label=label, source=source,
                              added_at=utc_iso(now), post_key=post_key, referral_id=referral_id,
                              media_sha256=str(sha), note=f"{decision} by an officer, alert {alert_id}")
            if lists.add(entry, HUB_LIST):
                added.append({"entry_id": entry.entry_id, "hash": entry.hash, "media_sha256": sha})
    return added


__all__ = ["HUB_LIST", "MIN_QUALITY", "add_decision_media"]
