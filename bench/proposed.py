"""The two scale fixes the benchmarks found, as patches applied ONLY in the bench's "proposed" variant.

They are measured here so the report can show what they buy; the real change belongs in the
project code (see docs/production.md, "Scale"). Nothing under dags/ or include/ imports this.

1. ``LocalStore._list`` without the parent-folder walk. ``list("raw/.../account=A/")`` for an
   account that has no folder yet walked the whole parent (every other account's files), so a
   collection run cost O(accounts^2) directory entries. Here a prefix ending in ``/`` lists only
   that folder (nothing if it is missing), and a partial name scans only matching entries.
2. ``process_chunk``: one Great Expectations validation per group of batches instead of one per
   batch. GX costs ~0.5 s per call whatever the size (1 row or 10,000), so a chunk of 2,500
   small batches spent ~20 min in fixed overhead. Batches are grouped by their collection time
   (the suite's "not in the future" bound is judged against it, as before), at most
   ``GROUP_POSTS`` posts per group so memory stays bounded, post ids are prefixed with the
   batch's position so the "unique per batch" rule keeps its per-batch meaning, and the
   per-batch results are handed to the unchanged ``process_batch``, so outputs, quarantine
   reasons and the per-batch quality gate are exactly what they were.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

GROUP_POSTS = 20_000


def _fast_list(self: Any, prefix: str) -> Iterator[str]:
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


def apply_local_list_fix() -> None:
    from socialhub.storage.local import LocalStore

    LocalStore._list = _fast_list  # type: ignore[method-assign]


def _split_quality(combined_result: Any, rows_by_batch: list[tuple[str, list[dict[str, Any]]]],
                   prefixed: list[dict[str, Any]], max_bad_fraction: float) -> dict[str, Any]:
    """Per-batch QualityResults from one validation of all their rows (in input order)."""
    from socialhub.quality.suite import REASONS_KEY, QualityResult

    valid_ids = {id(r) for r in combined_result.valid}
    q_iter = iter(combined_result.quarantined)
    out: dict[str, Any] = {}
    i = 0
    for batch_id, rows in rows_by_batch:
        valid, quarantined = [], []
        failures: dict[str, int] = dict.fromkeys(combined_result.stats["failures"], 0)
        for row in rows:
            if id(prefixed[i]) in valid_ids:
                valid.append(row)
            else:
                reasons = next(q_iter)[REASONS_KEY]
                quarantined.append({**row, REASONS_KEY: reasons})
                for reason in reasons:
                    failures[reason] = failures.get(reason, 0) + 1
            i += 1
        n = len(rows)
        bad = len(quarantined) / n if n else 0.0
        stats = {"rows": n, "valid": len(valid), "quarantined": len(quarantined), "bad_fraction": bad,
                 "max_bad_fraction": max_bad_fraction, "failures": failures,
                 "duration_seconds": combined_result.stats.get("duration_seconds", 0.0),
                 "validated_with_batches": len(rows_by_batch)}
        out[batch_id] = QualityResult(valid=valid, quarantined=quarantined, stats=stats,
                                      suite_name=combined_result.suite_name,
                                      suite_version=combined_result.suite_version,
                                      gx_success=not quarantined, gate_passed=bad <= max_bad_fraction)
    return out


def _key(posts: Any) -> tuple[Any, ...]:
    return tuple((p.get("platform"), p.get("post_id"), p.get("raw_sha256")) for p in posts)


def process_chunk(batch_ids: list[str]) -> list[dict[str, Any]]:
    """Drop-in for ``socialhub_airflow.runtime.process``: it IS that function, with the validations
    of the chunk's batches done up front, a group at a time; each batch's own result is then
    returned when ``process_batch`` asks for it."""
    import socialhub.quality.suite as suite
    from socialhub.models import from_jsonl, parse_iso
    from socialhub.process import load_manifest, result_key
    from socialhub_airflow import runtime

    cfg, st = runtime.settings(), runtime.store()
    todo = [b for b in batch_ids if st.get_or_none(result_key(b)) is None]
    manifests = {b: load_manifest(st, b) for b in todo}
    groups: dict[str, list[str]] = {}
    for b in todo:
        groups.setdefault(manifests[b]["collected_at"], []).append(b)
    precomputed: dict[tuple[Any, ...], Any] = {}
    real_validate = suite.validate_batch
    for collected_at, ids in sorted(groups.items()):
        start = 0
        while start < len(ids):
            rows_by_batch: list[tuple[str, list[dict[str, Any]]]] = []
            total = 0
            while start < len(ids) and (not rows_by_batch or total < GROUP_POSTS):
                rows = from_jsonl(st.get(manifests[ids[start]]["posts"]["key"]))
                rows_by_batch.append((ids[start], rows))
                total += len(rows)
                start += 1
            prefixed = [{**r, "post_id": f"{k}\x1f{r['post_id']}"} if isinstance(r.get("post_id"), str) else dict(r)
                        for k, (_, rows) in enumerate(rows_by_batch) for r in rows]
            combined = real_validate(prefixed, now=parse_iso(collected_at), max_bad_fraction=cfg.max_bad_fraction)
            split = _split_quality(combined, rows_by_batch, prefixed, cfg.max_bad_fraction)
            for batch_id, rows in rows_by_batch:
                precomputed[_key(rows)] = split[batch_id]

    def validate_from_group(posts: Any, *, now: Any, max_bad_fraction: float = 0.5) -> Any:
        result = precomputed.get(_key(posts))
        if result is None or result.stats["max_bad_fraction"] != max_bad_fraction:
            return real_validate(posts, now=now, max_bad_fraction=max_bad_fraction)
        return result

    suite.validate_batch = validate_from_group
    try:
        return runtime.process(batch_ids)
    finally:
        suite.validate_batch = real_validate


def summary() -> str:
    return json.dumps({"group_posts": GROUP_POSTS})
