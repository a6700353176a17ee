"""Time the data-quality stage: GX cold start, then 1,000- and 10,000-row batches (prints only).

Run: ``PYTHONPATH=include .venv/bin/python bench/bench_quality.py``

Why a separate cold-start figure: ``import great_expectations`` plus building the context is paid
once per worker process and dominates small batches; the per-batch figures are what scale.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))

from socialhub.models import raw_sha256  # noqa: E402

NOW = datetime(2025, 11, 25, 12, 0, 0, tzinfo=UTC)


def make_rows(n: int, bad_every: int = 10) -> list[dict[str, Any]]:
    """``n`` posts; every ``bad_every``-th breaks one rule (rotating) so the quarantine path runs too."""
    breakers = [
        {"post_id": None},
        {"url": "ftp://example.org/x"},
        {"created_at": "2099-01-01T00:00:00Z"},
        {"media": ["javascript:alert(1)"]},
        {"raw_sha256": "xyz"},
        {"post_id": "1"},  # duplicate of row 1
    ]
    rows = []
    for i in range(n):
        row: dict[str, Any] = {
            "platform": "mastodon", "account": "@police@example.social", "post_id": str(i),
            "url": f"https://example.social/@police/{i}", "author": "Example", "text": f"post {i}",
            "created_at": "2025-11-25T10:00:00Z", "collected_at": "2025-11-25T11:00:00Z",
            "media": [f"https://files.example.social/{i}.jpg"] if i % 3 == 0 else [],
            "raw_sha256": raw_sha256({"id": i}), "reply_to": None, "repost_of": None,
        }
        if i and i % bad_every == 0:
            row.update(breakers[(i // bad_every) % len(breakers)])
        rows.append(row)
    return rows


def main() -> None:
    t0 = time.perf_counter()
    from socialhub.quality import validate_batch

    t1 = time.perf_counter()
    print(f"import socialhub.quality:            {t1 - t0:7.3f} s  (great_expectations loaded: "
          f"{'great_expectations' in sys.modules})")
    validate_batch(make_rows(10), now=NOW)
    t2 = time.perf_counter()
    print(f"cold start (GX import + context, 10 rows): {t2 - t1:7.3f} s")
    for n in (1_000, 10_000):
        rows = make_rows(n)
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            result = validate_batch(rows, now=NOW)
            timings.append(time.perf_counter() - start)
        print(f"{n:>6} rows: best {min(timings):6.3f} s, worst {max(timings):6.3f} s of 3 "
              f"({n / min(timings):8.0f} rows/s); valid {len(result.valid)}, quarantined {len(result.quarantined)}")


if __name__ == "__main__":
    main()
