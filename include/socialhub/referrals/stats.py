"""Outcome figures of referrals to platforms, from the referral register.

Shared by the auditor's report (``socialhub.audit.report``: its referral tables and summary) and
``socialhub referral stats`` (and its ``--public`` transparency export), so they cannot disagree.

Definitions (one place):

* a referral counts in a period when the officer's "Refer to platform" decision (``referred_at``)
  falls in it;
* **outcome** (``Referral.outcome``): removed, restricted, rejected, still_online, unavailable,
  pending (no outcome yet) or no_outcome (closed without one);
* **removal rate**: removed / referrals;
* **time to removal**: removed_at - referred_at, over the removed referrals; the median and the
  90th percentile (nearest-rank: the smallest value with at least 90% of the values at or below it);
* **still online**: outcome still_online or rejected (the post was up when last seen);
* **music or drill**: the referred post's text had a music or drill cue (``music_markers`` in
  ``socialhub.classify.slices``), recorded when the referral was made;
* **platform acted**: removed or restricted (the platform agreed with the officer's referral).

The public export carries counts only, per platform, force, category and outcome: no URL,
account, handle, post text, officer, referral or alert id. Counts from 1 to 4 are shown as
``<5`` (primary suppression); zero is shown. Rates, shares and times are given only for groups
of at least 5 referrals (times: at least 5 removals), else ``suppressed``. Totals are exact, so a
suppressed cell can sometimes be narrowed down by difference within its row; the counts are of
posts referred, not of people.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from socialhub.models import parse_iso
from socialhub.referrals.register import NO_OUTCOME, PENDING, Referral

OUTCOME_COLUMNS = ("removed", "restricted", "rejected", "still_online", "unavailable", PENDING, NO_OUTCOME)
ACTED = frozenset({"removed", "restricted"})
SMALL = 5
SUPPRESSED = "suppressed"


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0-100) of ``values``; ``None`` when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def in_period(referrals: Iterable[Referral], start: datetime, end: datetime, force: str | None = None
              ) -> list[Referral]:
    out = []
    for r in referrals:
        try:
            at = parse_iso(r.referred_at)
        except ValueError:
            continue
        if start <= at < end and (force is None or r.record.get("force") == force):
            out.append(r)
    return out


def figures(refs: Sequence[Referral]) -> dict[str, Any]:
    """Counts and times for one group of referrals (raw, unsuppressed)."""
    n = len(refs)
    counts = {k: 0 for k in OUTCOME_COLUMNS}
    for r in refs:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    times = [t for t in (r.time_to_removal for r in refs) if t is not None]
    music = sum(1 for r in refs if r.record.get("music_or_drill"))
    return {"referrals": n, **counts, "still_online_now": sum(1 for r in refs if r.still_online),
            "acted": sum(counts[k] for k in ACTED), "removal_rate": counts["removed"] / n if n else None,
            "median_seconds": statistics.median(times) if times else None,
            "p90_seconds": percentile(times, 90), "removals_timed": len(times), "music_or_drill": music,
            "music_share": music / n if n else None, "escalated": sum(1 for r in refs if r.escalated)}


def grouped(refs: Sequence[Referral], key: Callable[[Referral], tuple[str, ...]]
            ) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[Referral]] = {}
    for r in refs:
        groups.setdefault(key(r), []).append(r)
    return [(k, figures(v)) for k, v in sorted(groups.items())]


def _field(r: Referral, name: str) -> str:
    return str(r.record.get(name) or "unknown")


# ------------------------------------------------------------------------------------------ public export

DIMENSIONS = ("all", "platform", "force", "category")


def _count(n: int) -> int | str:
    return n if n == 0 or n >= SMALL else f"<{SMALL}"


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def public_rows(refs: Sequence[Referral]) -> list[dict[str, Any]]:
    """The transparency rows: one per dimension value, counts suppressed as the module doc says."""
    rows = []
    for dim in DIMENSIONS:
        groups: list[tuple[tuple[str, ...], dict[str, Any]]]
        if dim == "all":
            groups = [(("all",), figures(refs))]
        else:
            groups = grouped(refs, lambda r, d=dim: (_field(r, d),))  # type: ignore[misc]
        for key, f in groups:
            value = key[0]
            big = f["referrals"] >= SMALL
            timed = f["removals_timed"] >= SMALL
            rows.append({
                "dimension": dim, "value": value, "referrals": _count(f["referrals"]),
                **{k: _count(f[k]) for k in OUTCOME_COLUMNS},
                "removal_rate": round(f["removal_rate"], 3) if big and f["removal_rate"] is not None else
                (SUPPRESSED if f["referrals"] else None),
                "median_hours_to_removal": _hours(f["median_seconds"]) if timed else
                (SUPPRESSED if f["removals_timed"] else None),
                "p90_hours_to_removal": _hours(f["p90_seconds"]) if timed else
                (SUPPRESSED if f["removals_timed"] else None),
                "music_or_drill": _count(f["music_or_drill"]),
                "music_or_drill_share": round(f["music_share"], 3) if big and f["music_share"] is not None else
                (SUPPRESSED if f["referrals"] else None),
            })
    return rows


PUBLIC_COLUMNS = ("dimension", "value", "referrals", *OUTCOME_COLUMNS, "removal_rate", "median_hours_to_removal",
                  "p90_hours_to_removal", "music_or_drill", "music_or_drill_share")

PUBLIC_NOTES = [
    "Referrals of public social media posts to the platforms that host them, made by police officers after "
    "reviewing an alert; counted in the period of the officer's decision.",
    "Outcome: removed, restricted (limited but reachable), rejected (the platform declined), still_online (a check "
    "found it up), unavailable (gone without a removal notice), pending (no outcome yet), no_outcome (closed "
    "without one).",
    "Time to removal: from the officer's decision to the removal; median and 90th percentile (nearest rank), hours.",
    f"Small numbers: counts from 1 to {SMALL - 1} are shown as '<{SMALL}'; rates, shares and times are given only "
    f"for groups of at least {SMALL} referrals (times: at least {SMALL} removals), otherwise 'suppressed'. Totals "
    "are exact, so a suppressed count can sometimes be narrowed down by difference within its row.",
    "No personal data: no post addresses, accounts, post text, officers, or referral and alert ids.",
    "music_or_drill: referrals whose post had a music or drill cue (a measuring device, not a judgement about "
    "the post).",
]


def public_export(refs: Sequence[Referral], *, start: str, end: str, generated_at: str) -> dict[str, bytes]:
    """``referral_stats.csv`` and ``referral_stats.json``: the aggregate transparency export."""
    rows = public_rows(refs)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(PUBLIC_COLUMNS)
    for row in rows:
        w.writerow(["" if row.get(c) is None else row.get(c) for c in PUBLIC_COLUMNS])
    doc = {"title": "Referrals to platforms: outcomes", "period": {"from": start, "to": end},
           "generated_at": generated_at, "suppression": {"small_count": SMALL, "shown_as": f"<{SMALL}",
                                                         "rates_and_times_need": SMALL},
           "notes": PUBLIC_NOTES, "columns": list(PUBLIC_COLUMNS), "rows": rows}
    return {"referral_stats.csv": buf.getvalue().encode("utf-8"),
            "referral_stats.json": (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")}


__all__ = ["ACTED", "DIMENSIONS", "OUTCOME_COLUMNS", "PUBLIC_COLUMNS", "SMALL", "figures", "grouped", "in_period",
           "percentile", "public_export", "public_rows"]
