"""Validate a batch of collected posts with Great Expectations; split it into valid and quarantined.

Why quarantine rather than fail or drop: a post that breaks the contract (no id, a future date, a
``javascript:`` URL) must not reach classification or alerting, but it is still collected public
data that someone may need to inspect, so it is kept with its reasons. Only when *most* of a batch
is bad (a connector or platform format change) does the gate fail the task, loudly, after the
caller has stored the quarantine.

GX reports failing rows per expectation (``unexpected_index_list`` with result format COMPLETE);
this module turns them into per-row reasons. Nothing here imports GX or pandas at module level.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from socialhub.errors import QualityGateFailed
from socialhub.quality.rules import (
    CLOCK_SKEW_SECONDS,
    ISO_UTC_STRFTIME,
    MAX_EPOCH_PARAM,
    MEDIA_ITEM_COLUMN,
    RULES,
    STRING_COLUMNS,
    SUITE_NAME,
    SUITE_VERSION,
    TIMESTAMP_COLUMNS,
    Frame,
    rules_fingerprint,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from socialhub.quality._gx import RuleOutcome

REASONS_KEY = "quarantine_reasons"


@dataclass(frozen=True, slots=True)
class QualityResult:
    """Outcome of validating one batch.

    ``valid`` holds the input rows (unchanged) that passed every rule; ``quarantined`` holds copies
    of the others with ``quarantine_reasons``. Both keep input order and together contain every
    input row exactly once. ``gx_success`` is GX's own verdict over the whole batch (``False`` as
    soon as one rule saw one bad value, including a duplicate whose first copy was kept valid);
    ``gate_passed`` is the pipeline's decision based on the quarantined fraction.
    """

    valid: list[dict[str, Any]]
    quarantined: list[dict[str, Any]]
    stats: dict[str, Any]
    suite_name: str
    suite_version: str
    gx_success: bool
    gate_passed: bool
    suite_fingerprint: str = field(default_factory=rules_fingerprint)


def validate_batch(
    posts: Sequence[Mapping[str, Any]], *, now: datetime, max_bad_fraction: float = 0.5
) -> QualityResult:
    """Run the suite over the whole batch in one GX validation per frame.

    ``now`` (timezone-aware) bounds timestamps: nothing may be later than ``now`` plus clock skew.
    It is a parameter, not ``datetime.now()``, so a replayed batch is judged as it was at the time.
    The gate fails when ``quarantined / rows > max_bad_fraction``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (a naive datetime would shift the future-date bound)")
    if not 0.0 <= max_bad_fraction <= 1.0:
        raise ValueError(f"max_bad_fraction must be within [0, 1], got {max_bad_fraction!r}")
    for i, row in enumerate(posts):
        if not isinstance(row, Mapping):
            raise TypeError(f"posts[{i}] is {type(row).__name__}, expected a dict (Post.to_dict())")

    started = time.perf_counter()
    n = len(posts)
    reasons, failures, gx_success = row_reasons(posts, now=now, checked=True)

    valid: list[dict[str, Any]] = []
    quarantined: list[dict[str, Any]] = []
    for row, labels in zip(posts, reasons, strict=True):
        if labels:
            quarantined.append({**row, REASONS_KEY: labels})
        elif REASONS_KEY in row:  # a replayed row that now passes must not carry stale reasons
            valid.append({k: v for k, v in row.items() if k != REASONS_KEY})
        else:
            valid.append(row)  # type: ignore[arg-type]  # the caller's dict, returned as is

    bad_fraction = len(quarantined) / n if n else 0.0
    stats: dict[str, Any] = {
        "rows": n,
        "valid": len(valid),
        "quarantined": len(quarantined),
        "bad_fraction": bad_fraction,
        "max_bad_fraction": max_bad_fraction,
        "failures": failures,
        "duration_seconds": round(time.perf_counter() - started, 3),
    }
    return QualityResult(
        valid=valid,
        quarantined=quarantined,
        stats=stats,
        suite_name=SUITE_NAME,
        suite_version=SUITE_VERSION,
        gx_success=gx_success,
        gate_passed=bad_fraction <= max_bad_fraction,
    )


def row_reasons(
    posts: Sequence[Mapping[str, Any]], *, now: datetime, checked: bool = False
) -> tuple[list[list[str]], dict[str, int], bool]:
    """The suite's verdict per row, without building the valid/quarantined copies.

    Returns ``(reasons, failures, gx_success)``: for each input row the labels of the rules it
    breaks (in rule order; empty when valid), the count per rule, and GX's own verdict. Used by
    :func:`validate_batch` and by the processing stage, which validates several batches (or slices
    of one) in one GX run. ``checked`` skips the argument checks the caller already made.
    """
    if not checked:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware (a naive datetime would shift the future-date bound)")
        for i, row in enumerate(posts):
            if not isinstance(row, Mapping):
                raise TypeError(f"posts[{i}] is {type(row).__name__}, expected a dict (Post.to_dict())")
    n = len(posts)
    reasons: list[list[str]] = [[] for _ in range(n)]
    failures: dict[str, int] = {rule.label: 0 for rule in RULES}
    gx_success = True
    if n:
        from socialhub.quality import _gx

        frames, media_owner = _build_frames(posts)
        params = {MAX_EPOCH_PARAM: (now + timedelta(seconds=CLOCK_SKEW_SECONDS)).timestamp()}
        for frame_name, df in frames.items():
            if df.empty:  # no media at all in this batch: nothing for the media rules to see
                continue
            outcomes = _gx.run(frame_name, df, params)
            owner = media_owner if frame_name == "media" else None
            gx_success &= all(o.success for o in outcomes)
            _collect(outcomes, frames["posts"], owner, reasons, failures)
    return reasons, failures, gx_success


def raise_if_gate_failed(result: QualityResult, batch_id: str, *, top: int = 3) -> None:
    """Raise :class:`QualityGateFailed` if the gate failed; call it *after* storing the quarantine.

    The message carries the counts and the most frequent reasons so the Airflow task log alone
    says whether a connector broke (one reason on every row) or the data is just noisy.
    """
    if result.gate_passed:
        return
    s = result.stats
    top_reasons = sorted(((c, r) for r, c in s["failures"].items() if c), key=lambda cr: (-cr[0], cr[1]))[:top]
    reasons = "; ".join(f"{r} x{c}" for c, r in top_reasons) or "none recorded"
    raise QualityGateFailed(
        f"batch {batch_id}: {s['quarantined']} of {s['rows']} rows quarantined "
        f"({s['bad_fraction']:.0%} > {s['max_bad_fraction']:.0%} allowed) by suite "
        f"{result.suite_name} v{result.suite_version}; top reasons: {reasons}"
    )


def _as_text(value: Any) -> str | None:
    """Normalise for string expectations: ``str`` and ``None`` pass through, anything else is
    rendered as text so regex/strftime checks see it (and fail it) instead of raising; the
    ``types`` frame reports the wrong type separately."""
    if value is None or isinstance(value, str):
        return value
    return repr(value)


def _epoch_seconds(texts: pd.Series) -> pd.Series:
    import pandas as pd

    parsed = pd.to_datetime(texts, format=ISO_UTC_STRFTIME, errors="coerce", utc=True)
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype("float64")


def _build_frames(posts: Sequence[Mapping[str, Any]]) -> tuple[dict[Frame, pd.DataFrame], list[int]]:
    """The three frames the rules run on (see :mod:`socialhub.quality.rules`), all with a RangeIndex
    so GX's unexpected indexes are row positions. Also returns, per media row, its post's position."""
    import pandas as pd

    columns = {col: [row.get(col) for row in posts] for col in STRING_COLUMNS}
    # dtype=object everywhere: pandas 3 would otherwise infer its ``str`` dtype and turn None into NaN
    # or coerce values, and the types frame must see the Python objects exactly as given.
    posts_df = pd.DataFrame(
        {col: pd.Series([_as_text(v) for v in values], dtype=object) for col, values in columns.items()}
    )
    for col in TIMESTAMP_COLUMNS:
        posts_df[f"{col}_epoch"] = _epoch_seconds(posts_df[col])

    raw_media = [row.get("media") for row in posts]
    types_df = pd.DataFrame({col: pd.Series(values, dtype=object) for col, values in columns.items()})
    types_df["media"] = pd.Series(raw_media, dtype=object)

    items: list[Any] = []
    owner: list[int] = []
    for i, media in enumerate(raw_media):
        if isinstance(media, list):  # anything else is reported by the types frame
            items.extend(media)
            owner.extend([i] * len(media))
    media_df = pd.DataFrame({MEDIA_ITEM_COLUMN: pd.Series(items, dtype=object)})
    return {"posts": posts_df, "types": types_df, "media": media_df}, owner


def _collect(
    outcomes: list[RuleOutcome],
    posts_df: pd.DataFrame,
    media_owner: list[int] | None,
    reasons: list[list[str]],
    failures: dict[str, int],
) -> None:
    """Turn GX's unexpected indexes into per-post reasons (one reason per rule per post)."""
    for outcome in outcomes:
        rule = outcome.rule
        positions = sorted(outcome.unexpected_index)
        if rule.keep_first:
            # GX flags every copy of a duplicated key; the first copy in batch order stays valid.
            keys = posts_df.loc[positions, list(rule.columns)].itertuples(index=False, name=None)
            seen: set[tuple[Any, ...]] = set()
            later: list[int] = []
            for pos, key in zip(positions, keys, strict=True):
                if key in seen:
                    later.append(pos)
                seen.add(key)
            positions = later
        rows = sorted({media_owner[p] for p in positions}) if media_owner is not None else positions
        for row in rows:
            reasons[row].append(rule.label)
        failures[rule.label] += len(rows)
