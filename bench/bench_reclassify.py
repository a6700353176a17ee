"""``socialhub reclassify``: posts per second per core on a store of curated posts, against the bare
classifier on the same texts. Prints figures; asserts nothing.

    python bench/bench_reclassify.py             # 50,000 posts in 100 batches over 5 days
    python bench/bench_reclassify.py --quick     # 5,000 posts (or BENCH_QUICK=1)

The store is a local folder written directly at the keys ``socialhub.storage.layout`` gives: curated
rows (the post plus the classification the recorded packaged version gave it, as processing writes
them) and result records, for synthetic posts (``synthetic.post_rows``: everyday chatter, 5% threat /
weapon / drug text). Processing itself (quality suite) is not run: the bench measures re-classifying.

* baseline: bare ``classify_batch`` on the same texts, in chunks of the same size (no store);
* reclassify with the recorded version (``reclassify.reclassify``: streaming the curated objects,
  classifying, comparing each post exactly), which must find every post identical;
* reclassify with a candidate (violence_threat threshold 0.98 instead of 0.45, and 0.98 for the rules'
  own labels instead of 0.3: it drops alerts);

each as posts per second of this process's CPU time (one thread: per core; numpy pinned to one
thread), with the wall-clock rate and the ratio reclassify / bare (the reclassify overhead). The
target is 2,000 posts/s per core or more.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # one core
    os.environ.setdefault(var, "1")
import synthetic as syn  # noqa: E402

T0 = time.monotonic()
PLATFORMS = ("mastodon", "bluesky", "x")
FORCES = ("met", "gmp", "west-midlands")
TARGET = 2000.0


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def build_store(root: Path, n_posts: int, per_batch: int, clf: Any, version_id: str, days: list[str]) -> list[str]:
    """Curated objects and result records for ``n_posts`` posts; returns the texts in store order."""
    from socialhub.models import canonical_json
    from socialhub.process import result_key
    from socialhub.storage import layout

    rng = random.Random(3)
    rows = syn.post_rows(n_posts, flag_share=0.05)
    texts = []
    for b, start in enumerate(range(0, n_posts, per_batch)):
        part = rows[start:start + per_batch]
        platform, force, day = PLATFORMS[b % len(PLATFORMS)], rng.choice(FORCES), days[b % len(days)]
        batch_id = f"bench{b:06d}"
        results = clf.classify_batch([r["text"] for r in part])
        lines, flagged = [], 0
        for row, res in zip(part, results, strict=True):
            c = res.to_dict() | {"classifier_id": version_id}
            lines.append(json.dumps(dict(row, platform=platform, classification=c, batch_id=batch_id, force=force,
                                         team="bench", authorisation_ref="AUTH-B", display_name="Bench"),
                                    ensure_ascii=False, sort_keys=True))
            flagged += bool(res.labels)
            texts.append(row["text"])
        key = layout.stage_key("curated", platform, day, batch_id)
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        record = {"batch_id": batch_id, "platform": platform, "force": force, "valid": len(part), "posts": len(part),
                  "flagged": flagged, "outputs": {"curated": key}, "status": "processed", "classifier_id": version_id}
        (root / result_key(batch_id)).parent.mkdir(parents=True, exist_ok=True)
        (root / result_key(batch_id)).write_bytes(canonical_json(record))
    return texts


def timed(fn: Any) -> tuple[Any, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5,000 posts (also BENCH_QUICK=1)")
    ap.add_argument("--posts", type=int, help="posts in the store (default 50,000; quick 5,000)")
    args = ap.parse_args(argv)
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    n = args.posts or (5_000 if quick else 50_000)
    per_batch = 500
    from socialhub.classify import versions
    from socialhub.classify.lexicon import DEFAULT_THRESHOLDS_PATH
    from socialhub.reclassify import CHUNK, curated_objects, period_days, reclassify
    from socialhub.storage import LocalStore

    days = period_days("2026-11-20", "2026-11-24")
    with tempfile.TemporaryDirectory(prefix="bench-reclassify-") as tmp:
        os.environ["SOCIALHUB_CACHE_DIR"] = str(Path(tmp) / "cache")
        store = LocalStore(Path(tmp) / "store")
        live, clf = versions.register(store)
        say(f"building a store of {n:,} curated posts in {-(-n // per_batch)} batches over {len(days)} days "
            f"(classified by {live.id})")
        texts = build_store(store.root, n, per_batch, clf, live.id, days)
        thr = (DEFAULT_THRESHOLDS_PATH.read_text(encoding="utf-8")
               .replace("  violence_threat: 0.45", "  violence_threat: 0.98", 1)    # the model's
               .replace("  violence_threat: 0.3", "  violence_threat: 0.98", 1))   # the rules' own
        (Path(tmp) / "thresholds.yaml").write_text(thr.replace('version: "', 'version: "bench-', 1), encoding="utf-8")
        cand, cand_clf = versions.resolve(store, None, thresholds=Path(tmp) / "thresholds.yaml")
        objects = curated_objects(store, days)
        say(f"{len(objects)} curated objects; candidate {cand.id} (violence_threat 0.98, rules too)")
        clf.classify_batch(texts[:200])                       # warm caches
        cand_clf.classify_batch(texts[:200])

        def bare() -> None:
            for i in range(0, len(texts), CHUNK):
                clf.classify_batch(texts[i:i + CHUNK])

        _, b_cpu, b_wall = timed(bare)
        same, s_cpu, s_wall = timed(lambda: reclassify(store, clf, objects))
        other, c_cpu, c_wall = timed(lambda: reclassify(store, cand_clf, objects))
        base_rate = n / b_cpu
        print(f"\n{'run':44s} {'posts':>7} {'posts/s/core':>13} {'(wall)':>8} {'vs bare':>8}   result")
        print(f"{'baseline: bare classify_batch (same texts)':44s} {n:7,d} {base_rate:13,.0f} {n / b_wall:8,.0f} "
              f"{'1.00x':>8}")
        for name, cmp, cpu, wall in (("reclassify, recorded version", same, s_cpu, s_wall),
                                     ("reclassify, candidate (vt 0.98)", other, c_cpu, c_wall)):
            rate = cmp.posts / cpu
            result = (f"identical {cmp.identical:,}/{cmp.posts:,}" if cmp is same else
                      f"alerts {cmp.recorded_alerts:,} -> {cmp.new_alerts:,} (+{cmp.added_posts:,} "
                      f"-{cmp.dropped_posts:,}), labels changed on {cmp.labels_changed:,} posts")
            print(f"{name:44s} {cmp.posts:7,d} {rate:13,.0f} {cmp.posts / wall:8,.0f} {rate / base_rate:7.2f}x   "
                  f"{result}")
        worst = min(same.posts / s_cpu, other.posts / c_cpu)
        print(f"\ntarget >= {TARGET:,.0f} posts/s per core: {'met' if worst >= TARGET else 'NOT met'} "
              f"(slowest reclassify run {worst:,.0f}/s; overhead over the bare classifier "
              f"{(b_cpu and (max(s_cpu, c_cpu) / b_cpu - 1)):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
