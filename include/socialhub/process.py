"""Processing: each queued batch is validated (Great Expectations), classified and stored.

Idempotent per batch: a batch whose result record exists is not processed again, and
every output is written once under a key derived from the batch id, so a retried or
re-run task produces the same objects and no duplicates.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from socialhub.audit.chain import record as audit
from socialhub.models import canonical_json, from_jsonl, parse_iso, sha256_hex, to_jsonl, utc_iso
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

RESULT_PREFIX = "results/"


def result_key(batch_id: str) -> str:
    return f"{RESULT_PREFIX}{batch_id}.json"


def pending_batches(store: ObjectStore, limit: int | None = None) -> list[str]:
    """Batch ids waiting for processing, oldest first (by manifest key, which starts with a time stamp)."""
    items = []
    for key in store.list("queue/pending/"):
        marker = json.loads(store.get(key))
        items.append((marker["manifest"].rsplit("/", 1)[-1], marker["batch_id"]))
    items.sort()
    ids = [b for _, b in items]
    return ids[:limit] if limit else ids


def chunks(ids: list[str], max_chunks: int) -> list[list[str]]:
    """Split into at most ``max_chunks`` round-robin chunks (bounded mapped tasks)."""
    if not ids:
        return []
    n = max(1, min(max_chunks, len(ids)))
    return [ids[i::n] for i in range(n)]


def load_manifest(store: ObjectStore, batch_id: str) -> dict[str, Any]:
    for state in ("pending", "done", "held"):
        marker = store.get_or_none(layout.queue_key(state, batch_id))
        if marker:
            return json.loads(store.get(json.loads(marker)["manifest"]))
    raise KeyError(f"batch {batch_id} is not queued")


def process_batch(store: ObjectStore, batch_id: str, *, classifier: Any, max_bad_fraction: float = 0.5,
                  now: datetime | None = None, auditor: Any = None) -> dict[str, Any]:
    """Validate, classify and store one batch. Returns its result record (also stored)."""
    existing = store.get_or_none(result_key(batch_id))
    if existing:
        return json.loads(existing)
    from socialhub.quality.suite import validate_batch

    manifest = load_manifest(store, batch_id)
    posts = from_jsonl(store.get(manifest["posts"]["key"]))
    # sanity is judged against the collection time, so a rerun judges the same way
    checked_at = now or parse_iso(manifest["collected_at"])
    qr = validate_batch(posts, now=checked_at, max_bad_fraction=max_bad_fraction)
    platform, day = manifest["platform"], manifest["day"]
    record: dict[str, Any] = {
        "batch_id": batch_id, "platform": platform, "account": manifest["account"], "force": manifest["force"],
        "team": manifest["team"], "posts": len(posts), "valid": len(qr.valid), "quarantined": len(qr.quarantined),
        "quality": {"suite": qr.suite_name, "version": qr.suite_version, "stats": qr.stats},
        "flagged": 0, "flagged_by_category": {}, "outputs": {}, "status": "processed",
    }
    obj_name = f"batch:{batch_id}"
    record["quality"]["fingerprint"] = getattr(qr, "suite_fingerprint", None)
    if qr.quarantined:
        obj = store.put(layout.stage_key("quarantine", platform, day, batch_id), to_jsonl(qr.quarantined),
                        content_type="application/x-ndjson")
        record["outputs"]["quarantine"] = obj.key
        reasons: dict[str, int] = {}
        for row in qr.quarantined:
            for reason in row.get("quarantine_reasons", []):
                reasons[reason] = reasons.get(reason, 0) + 1
        audit(auditor, "quality_reject", obj_name, force=manifest["force"], hashes={"quarantine": obj.sha256},
              details={"rows": len(qr.quarantined), "reasons": reasons, "suite": qr.suite_name,
                       "suite_version": qr.suite_version, "key": obj.key})
    if not qr.gate_passed:
        record["status"] = "held"
        record["error"] = (f"quality gate failed: {len(qr.quarantined)}/{len(posts)} rows quarantined "
                           f"(limit {max_bad_fraction:.0%})")
        store.put(result_key(batch_id), canonical_json(record), content_type="application/json")
        store.put(layout.queue_key("held", batch_id), canonical_json(
            {"batch_id": batch_id, "manifest": _manifest_key(store, batch_id), "reason": record["error"]}),
            content_type="application/json")
        store.delete(layout.queue_key("pending", batch_id))
        audit(auditor, "quality_hold", obj_name, force=manifest["force"], justification=record["error"])
        return record
    results = classifier.classify_batch([p.get("text") or "" for p in qr.valid])
    curated, flagged = [], []
    by_cat: dict[str, int] = {}
    context = {k: manifest[k] for k in ("force", "team", "authorisation_ref", "display_name")}
    for post, result in zip(qr.valid, results, strict=True):
        row = dict(post, classification=result.to_dict(), batch_id=batch_id, **context)
        curated.append(row)
        if result.labels:
            flagged.append(row)
            for cat in result.labels:
                by_cat[cat] = by_cat.get(cat, 0) + 1
    if curated:
        record["outputs"]["curated"] = store.put(layout.stage_key("curated", platform, day, batch_id),
                                                 to_jsonl(curated), content_type="application/x-ndjson").key
    if flagged:
        record["outputs"]["flagged"] = store.put(layout.stage_key("flagged", platform, day, batch_id),
                                                 to_jsonl(flagged), content_type="application/x-ndjson").key
    record["flagged"], record["flagged_by_category"] = len(flagged), by_cat
    record["classifier_version"] = results[0].classifier_version if results else None
    record["processed_at"] = utc_iso(checked_at)
    store.put(result_key(batch_id), canonical_json(record), content_type="application/json")
    audit(auditor, "classify", obj_name, force=manifest["force"],
          hashes={k: sha256_hex(store.get(v)) for k, v in record["outputs"].items() if k != "quarantine"},
          details={"valid": len(qr.valid), "flagged": len(flagged), "flagged_by_category": by_cat,
                   "classifier_version": record["classifier_version"]})
    return record


def _manifest_key(store: ObjectStore, batch_id: str) -> str:
    marker = store.get_or_none(layout.queue_key("pending", batch_id))
    return json.loads(marker)["manifest"] if marker else ""


def summarise_processing(records: list[dict[str, Any]]) -> dict[str, Any]:
    by_cat: dict[str, int] = {}
    for r in records:
        for cat, n in r.get("flagged_by_category", {}).items():
            by_cat[cat] = by_cat.get(cat, 0) + n
    return {
        "batches": len(records),
        "posts": sum(r["posts"] for r in records),
        "valid": sum(r["valid"] for r in records),
        "quarantined": sum(r["quarantined"] for r in records),
        "held_batches": [r["batch_id"] for r in records if r["status"] == "held"],
        "flagged": sum(r["flagged"] for r in records),
        "flagged_by_category": dict(sorted(by_cat.items())),
    }
