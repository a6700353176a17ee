"""Time the PDQ hash-list lookup (issue 16: under 10 ms at 1,000,000 hashes) against a full scan.

Run: ``PYTHONPATH=include .venv/bin/python bench/bench_media_index.py`` (``BENCH_QUICK=1``: 100,000
hashes instead of 1,000,000). Prints only; nothing asserts on time.

Figures: building the index (parsing the hex and the chunk tables), its memory (array bytes per
entry, and what tracemalloc saw while building), then 1,000 lookups at the default distance 31, half
of them near a planted variant (0..31 bits away) and half random, timed by ``PDQIndex.search``
(median, p99, max) and by ``PDQIndex.brute_force`` (a vectorised scan of every hash: the baseline,
median over a sample of the same queries), and whether every answer agreed.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))

from socialhub.media.index import PDQIndex, to_hex  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
N = 100_000 if QUICK else 1_000_000
QUERIES = 1_000
BRUTE_SAMPLE = 100 if QUICK else 200


def flip_words(words: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    out = words.copy()
    for b in rng.choice(256, size=k, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(63 - b % 64)
    return out


def main() -> None:
    rng = np.random.default_rng(20261204)
    words = rng.integers(0, np.iinfo(np.uint64).max, size=(N, 4), dtype=np.uint64, endpoint=True)
    hexes = [to_hex(w) for w in words] if N <= 100_000 else None
    ids = [f"e{i}" for i in range(N)]
    print(f"{N:,} random PDQ hashes; {QUERIES:,} queries at max_distance 31 (half near a planted entry)")

    tracemalloc.start()
    t0 = time.perf_counter()
    idx = PDQIndex()
    if hexes is not None:
        idx.add_many(hexes, ids)          # from hex strings, as a CSV import would
        what = "parse hex + build"
    else:
        sample = [to_hex(w) for w in words[:100_000]]
        t_hex = time.perf_counter()
        PDQIndex().add_many(sample, ids[:100_000])
        hex_per_100k = time.perf_counter() - t_hex
        idx.add_words(words, ids)
        what = "build"
    idx.build()
    build_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    fixed = 16 * 65537 * 8
    print(f"index {what}:                {build_s:8.3f} s")
    if hexes is None:
        print(f"  (parsing 100,000 hex strings: {hex_per_100k:.3f} s, so ~{hex_per_100k * N / 100_000:.2f} s more "
              f"for {N:,} from text)")
    print(f"memory: arrays {idx.nbytes / 2**20:7.1f} MiB = {(idx.nbytes - fixed) / N:.0f} bytes/entry + "
          f"{fixed / 2**20:.1f} MiB fixed offset tables; tracemalloc peak while building {peak / 2**20:.1f} MiB "
          f"(ids not counted: a Python list of str)")

    queries: list[str] = []
    planted: list[int] = []
    for i in range(QUERIES):
        if i % 2 == 0:
            j = int(rng.integers(N))
            k = int(rng.integers(0, 32))
            queries.append(to_hex(flip_words(words[j], k, rng)))
            planted.append(j)
        else:
            queries.append(rng.bytes(32).hex())
            planted.append(-1)

    idx.search(queries[0])  # first call: caches the flip masks
    times, answers = [], []
    for q in queries:
        t = time.perf_counter()
        answers.append(idx.search(q))
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1000
    found = sum(1 for j, a in zip(planted, answers, strict=True) if j >= 0 and f"e{j}" in {i for i, _ in a})
    print(f"search (multi-index):       median {np.median(ms):6.3f} ms, p99 {np.percentile(ms, 99):6.3f} ms, "
          f"max {ms.max():6.3f} ms over {QUERIES:,} queries")
    print(f"planted neighbours found:   {found} of {sum(1 for j in planted if j >= 0)}")

    step = max(1, QUERIES // BRUTE_SAMPLE)
    bt, agree, compared = [], 0, 0
    for qi in range(0, QUERIES, step):
        t = time.perf_counter()
        expected = idx.brute_force(queries[qi])
        bt.append(time.perf_counter() - t)
        compared += 1
        agree += expected == answers[qi]
    bms = np.array(bt) * 1000
    print(f"brute force (full scan):    median {np.median(bms):6.3f} ms, p99 {np.percentile(bms, 99):6.3f} ms "
          f"over {compared} of the same queries")
    print(f"ratio brute/index (median): {np.median(bms) / np.median(ms):6.1f}x")
    print(f"answers agreed:             {agree} of {compared}" + ("" if agree == compared else "  <-- MISMATCH"))
    for d in (0, 15, 47, 48, 63, 64):
        dt = []
        for q in queries[:200]:
            t = time.perf_counter()
            idx.search(q, d)
            dt.append(time.perf_counter() - t)
        print(f"  max_distance {d:>2}: search median {np.median(dt) * 1000:6.3f} ms")


if __name__ == "__main__":
    main()
