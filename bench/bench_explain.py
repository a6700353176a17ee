"""``socialhub explain``: the index's cold build and the lookup time on a store of 100,000 posts, against a
naive full scan of ``curated/`` for the same targets. Prints figures; asserts nothing.

    python bench/bench_explain.py            # 100,000 posts in 2,000 batches (~1 min)
    python bench/bench_explain.py --quick    # 10,000 posts in 200 batches (or BENCH_QUICK=1)

The store is a local folder written directly at the keys ``socialhub.storage.layout`` gives (batch
manifests, posts, curated and flagged rows, result records, ledger entries), in the shapes the
collect, process and alert stages write, with synthetic classifications: the bench measures finding
and reading, not classifying. Files are written without the store's per-object fsync, to build it fast.

* cold build: ``ExplainIndex.update()`` on a new index file (reads every manifest, posts object and
  ledger entry once);
* lookup: ``explain()`` end to end for one target (the incremental update, which lists ``batches/`` and
  ``alerts/ledger/`` and finds nothing new, then the indexed lookup and reading the post's own batch
  objects, ledger entry, review, referral and holds), over 50 targets: a third each by
  ``platform:post_id``, URL and alert id;
* baseline: a naive scan, listing ``curated/`` and reading every object until the post is found (the
  same targets, fewer of them: it is slow).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synthetic as syn  # noqa: E402

T0 = time.monotonic()
THRESHOLDS = {"violence_threat": 0.45, "weapon": 0.12, "gang_affiliation": 0.55, "drug_supply": 0.51}


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def _write(root: Path, key: str, data: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def build_store(root: Path, n_posts: int, per_batch: int, *, seed: int = 5) -> list[dict[str, Any]]:
    """Write the store; returns one dict per post (platform, post_id, url, alert id) for choosing targets."""
    from socialhub.alerts.model import alert_id_for
    from socialhub.models import canonical_json, raw_sha256, sha256_hex, to_jsonl
    from socialhub.process import result_key
    from socialhub.storage import layout

    rng = random.Random(seed)
    posts_out: list[dict[str, Any]] = []
    n_batches = n_posts // per_batch
    n_accounts = max(1, n_batches // 4)
    day = "2026-11-25"
    for b in range(n_batches):
        acct = f"bench_m{b % n_accounts:05d}@bench.example"
        stamp = f"20261125T{(b // 3600) % 24:02d}{(b // 60) % 60:02d}{b % 60:02d}"
        batch_id = sha256_hex(f"batch-{b}".encode())[:24]
        collected_at = f"{day}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
        rows = []
        for i in range(per_batch):
            pid = str(10 ** 17 + b * per_batch + i)
            flagged = rng.random() < 0.05
            text = syn._text(rng, 1.0 if flagged else 0.0)
            rows.append({"platform": "mastodon", "account": acct, "post_id": pid,
                         "url": f"https://bench.example/@{acct.split('@')[0]}/{pid}", "author": acct.split("@")[0],
                         "text": text, "created_at": collected_at, "collected_at": collected_at, "media": [],
                         "raw_sha256": raw_sha256({"id": pid, "content": text}), "reply_to": None,
                         "repost_of": None})
        raw = to_jsonl([{"raw_sha256": r["raw_sha256"], "item": {"id": r["post_id"], "content": r["text"]}}
                        for r in rows])
        posts = to_jsonl(rows)
        raw_key = layout.raw_key("mastodon", day, acct, batch_id)
        posts_key = layout.posts_key("mastodon", day, acct, batch_id)
        _write(root, raw_key, raw)
        _write(root, posts_key, posts)
        manifest = {"batch_id": batch_id, "platform": "mastodon", "account": acct, "display_name": acct,
                    "force": "bench-force", "team": "bench-team", "authorisation_ref": "AUTH-BENCH",
                    "purpose": "Benchmark of socialhub explain.", "collected_at": collected_at, "day": day,
                    "count": len(rows), "raw": {"key": raw_key, "sha256": sha256_hex(raw)},
                    "posts": {"key": posts_key, "sha256": sha256_hex(posts)},
                    "post_ids": [r["post_id"] for r in rows], "cursor_before": {"since_id": str(b)},
                    "cursor_after": {"since_id": rows[-1]["post_id"]}, "pages": 1, "notes": []}
        mkey = layout.manifest_key("mastodon", acct, stamp, batch_id)
        _write(root, mkey, canonical_json(manifest))
        curated, flagged = [], []
        for r in rows:
            hot = any(r["text"] == f for f in syn.FLAGGED)
            scores = {c: (0.9 if hot and c == "violence_threat" else round(rng.random() * 0.1, 4)) for c in THRESHOLDS}
            labels = [c for c, s in scores.items() if s >= THRESHOLDS[c]]
            line = dict(r, classification={"classifier_version": "bench-1", "scores": scores, "labels": labels,
                                           "thresholds": THRESHOLDS, "reasons": [], "components": {}},
                        batch_id=batch_id, force="bench-force", team="bench-team", authorisation_ref="AUTH-BENCH",
                        display_name=acct)
            curated.append(line)
            if labels:
                flagged.append(line)
        outputs = {"curated": layout.stage_key("curated", "mastodon", day, batch_id)}
        _write(root, outputs["curated"], to_jsonl(curated))
        if flagged:
            outputs["flagged"] = layout.stage_key("flagged", "mastodon", day, batch_id)
            _write(root, outputs["flagged"], to_jsonl(flagged))
        result = {"batch_id": batch_id, "platform": "mastodon", "account": acct, "force": "bench-force",
                  "team": "bench-team", "posts": len(rows), "valid": len(rows), "quarantined": 0,
                  "quality": {"suite": "socialhub.posts", "version": "1.0.0"}, "flagged": len(flagged),
                  "flagged_by_category": {}, "outputs": outputs, "status": "processed",
                  "classifier_version": "bench-1", "processed_at": collected_at}
        _write(root, result_key(batch_id), canonical_json(result))
        for line in flagged:
            aid = alert_id_for("mastodon", line["post_id"])
            entry = {"alert_id": aid, "post": f"mastodon:{line['post_id']}", "batch_id": batch_id,
                     "recorded_at": collected_at,
                     "delivery": {"sink": "outbox", "channel": "#on-duty", "message_id": aid, "location": f"/o/{aid}",
                                  "sent_at": collected_at, "key": aid, "attempts": 1, "fallback_reason": None}}
            _write(root, layout.ledger_key(aid), canonical_json(entry))
        for r in rows:
            posts_out.append({"platform": "mastodon", "post_id": r["post_id"], "url": r["url"],
                              "alert_id": alert_id_for("mastodon", r["post_id"]), "batch_day": day})
    return posts_out


def naive_scan(store: Any, post_id: str) -> dict[str, Any] | None:
    """The baseline: list curated/ and read every object until the post is found."""
    needle = json.dumps(post_id).encode()
    for key in store.list("curated/"):
        for line in store.get(key).split(b"\n"):
            if needle in line:
                row = json.loads(line)
                if row.get("post_id") == post_id:
                    return dict(row)
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10,000 posts (also BENCH_QUICK=1)")
    args = ap.parse_args(argv)
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    n_posts, per_batch = (10_000, 50) if quick else (100_000, 50)
    from socialhub.explain.index import ExplainIndex
    from socialhub.explain.report import explain
    from socialhub.explain.urls import parse_target
    from socialhub.storage import LocalStore

    with tempfile.TemporaryDirectory(prefix="socialhub-bench-explain-") as tmp:
        root = Path(tmp) / "store"
        say(f"writing a store of {n_posts:,} posts in {n_posts // per_batch:,} batches ...")
        started = time.perf_counter()
        posts = build_store(root, n_posts, per_batch)
        say(f"store written in {time.perf_counter() - started:.1f} s "
            f"({sum(1 for _ in root.rglob('*.json*')):,} objects)")
        store = LocalStore(root)
        index_path = Path(tmp) / "explain.sqlite"
        index = ExplainIndex(store, index_path, progress=lambda m: say(f"  {m}"))
        started = time.perf_counter()
        stats = index.update()
        cold = time.perf_counter() - started
        say(f"cold index build: {cold:.2f} s for {stats.batches:,} batches, {stats.posts:,} posts, "
            f"{stats.alerts:,} alerts ({index_path.stat().st_size / 1e6:.1f} MB)")
        started = time.perf_counter()
        index.update()
        say(f"incremental update, nothing new: {(time.perf_counter() - started) * 1000:.1f} ms")

        rng = random.Random(3)
        chosen = rng.sample(posts, 50)
        targets = [(["mastodon:" + p["post_id"], p["url"], p["alert_id"]][i % 3], p["post_id"])
                   for i, p in enumerate(chosen)]
        times: list[float] = []
        for target, pid in targets:
            started = time.perf_counter()
            r = explain(store, parse_target(target), index=index, entries=[], watchlist_source="bench")
            times.append(time.perf_counter() - started)
            assert r["post"]["post_id"] == pid, (target, r["verdict"])
        started = time.perf_counter()
        miss = explain(store, parse_target("mastodon:1"), index=index, entries=[], watchlist_source="bench")
        miss_time = time.perf_counter() - started
        index.close()
        say(f"explain lookup ({len(times)} targets: post key, URL, alert id): median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms")

        scans: list[float] = []
        for target, pid in targets[: 5 if not quick else 10]:
            started = time.perf_counter()
            assert naive_scan(store, pid) is not None, target
            scans.append(time.perf_counter() - started)
        say(f"baseline naive scan of curated/ ({len(scans)} targets): median {statistics.median(scans) * 1000:.1f} ms, "
            f"max {max(scans) * 1000:.1f} ms")
        say(f"lookup vs scan (medians): {statistics.median(scans) / statistics.median(times):.1f}x faster")
        started = time.perf_counter()
        assert naive_scan(store, "1") is None
        say(f"a post not in the store ({miss['outcome']}): explain {miss_time * 1000:.1f} ms, naive scan of all "
            f"curated/ {(time.perf_counter() - started) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
