"""Media captured late: an item that failed (or was deferred) when its batch was collected and was
captured on a later run, after the batch had been processed and alerted.

``capture`` leaves a marker ``media/followup/<id>.json`` for such a post. The processing run picks
the markers up as pseudo-batches (ids ``mf-…``): each post is judged again with its recorded
classification plus what its media now add (``socialhub.media.judge``). A post its media newly
flag is written as a flagged row under the follow-up's own result record, so the alert stage
alerts it like any other (and never twice: the ledger is keyed by the post). Crash-safe: the
result record is written before the marker is removed, and a follow-up whose result exists is
not judged again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from socialhub.models import canonical_json, from_jsonl, sha256_hex, to_jsonl, utc_iso
from socialhub.process import result_key
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

PREFIX = "media/followup/"
ID_PREFIX = "mf-"


def followup_id(batch_id: str, post_id: str, captured_at: str) -> str:
    return ID_PREFIX + sha256_hex(f"{batch_id}|{post_id}|{captured_at}".encode())[:21]


def mark_followup(store: ObjectStore, *, batch_id: str, platform: str, post_id: str, at: datetime) -> str | None:
    """Leave a marker if the post's batch was already processed (else processing will see the media)."""
    raw = store.get_or_none(result_key(batch_id))
    if raw is None or json.loads(raw).get("status") != "processed":
        return None
    fid = followup_id(batch_id, post_id, utc_iso(at))
    store.put_state(f"{PREFIX}{fid}.json", canonical_json({
        "id": fid, "batch_id": batch_id, "platform": platform, "post_id": post_id, "captured_at": utc_iso(at)}))
    return fid


def pending_followups(store: ObjectStore) -> list[str]:
    return sorted(k[len(PREFIX):-len(".json")] for k in store.list(PREFIX) if k.endswith(".json"))


def is_followup(batch_id: str) -> bool:
    return batch_id.startswith(ID_PREFIX)


def process_followups(store: ObjectStore, ids: list[str], *, judge: Any, now: datetime,
                      auditor: Any = None) -> list[dict[str, Any]]:
    """Judge each follow-up's post again with its media; returns the follow-ups' result records."""
    from socialhub.audit.chain import record as audit

    records = []
    for fid in ids:
        existing = store.get_or_none(result_key(fid))
        marker_key = f"{PREFIX}{fid}.json"
        if existing is not None:
            records.append(json.loads(existing))
            store.delete(marker_key)
            continue
        raw = store.get_or_none(marker_key)
        if raw is None:
            continue
        marker = json.loads(raw)
        batch = json.loads(store.get(result_key(marker["batch_id"])))
        curated_key = (batch.get("outputs") or {}).get("curated")
        rows = [r for r in from_jsonl(store.get(curated_key)) if r.get("post_id") == marker["post_id"]] \
            if curated_key else []
        record: dict[str, Any] = {
            "batch_id": fid, "kind": "media_followup", "of_batch": marker["batch_id"],
            "platform": batch.get("platform"), "account": batch.get("account"), "force": batch.get("force"),
            "team": batch.get("team"), "posts": 0, "valid": 0, "quarantined": 0, "flagged": 0,
            "flagged_by_category": {}, "outputs": {}, "status": "processed", "processed_at": utc_iso(now)}
        if rows:
            row = rows[0]
            before = set((row.get("classification") or {}).get("labels") or [])
            base = {k: v for k, v in (row.get("classification") or {}).items()
                    if k not in ("text_in_media", "known_content")}
            base["labels"] = [c for c in base.get("labels") or [] if c != "known_content"]
            base["reasons"] = [r for r in base.get("reasons") or []
                               if r.get("source") not in ("text_in_media", "media")]
            extra = judge.judge([row], [base])[0]
            new = [c for c in extra["classification"].get("labels") or [] if c not in before]
            if new:
                out = dict(row, **extra)
                day = now.strftime("%Y-%m-%d")
                obj = store.put(layout.stage_key("flagged", str(batch.get("platform")), day, fid), to_jsonl([out]),
                                content_type="application/x-ndjson")
                record.update(flagged=1, flagged_by_category={c: 1 for c in new}, outputs={"flagged": obj.key})
                audit(auditor, "classify", f"batch:{fid}", force=batch.get("force"), hashes={"flagged": obj.sha256},
                      details={"media_followup_of": marker["batch_id"], "post": marker["post_id"],
                               "new_labels": new})
                log.info("media captured late flagged %s:%s (%s)", batch.get("platform"), marker["post_id"],
                         ", ".join(new))
        store.put(result_key(fid), canonical_json(record), content_type="application/json")
        store.delete(marker_key)
        records.append(record)
    return records


__all__ = ["ID_PREFIX", "is_followup", "mark_followup", "pending_followups", "process_followups"]
