"""``socialhub shadow report``: a shadow classifier version's stored results against the live ones.

While ``SOCIALHUB_SHADOW_CLASSIFIER`` names a version, processing stores its results beside the
live ones, one object per batch (``layout.shadow_key``: ``shadow/<version>/platform=P/date=D/
<batch>.jsonl``, one row per curated post), and never alerts them. This module reads them back
with the live results (the batch's curated rows) and works out, over a period:

* agreement: the share of posts given the same label set, and per category the share given the
  same yes/no;
* the alerts the shadow would have added (it flags, live did not) and dropped (live flagged, it
  does not), listed, and the alerts per day each would have sent;
* against the officers' real decisions on the live alerts (``review/decisions/``; a review that
  timed out is no officer's decision): of the alerts an officer confirmed (referred, escalated or
  kept monitoring), how many the shadow would also have flagged; of those an officer called
  "No action (false positive)", how many it would have dropped; and from these, the shadow's
  precision on the reviewed alerts with a Wilson 95% interval -- an estimate resting on exactly
  those reviews, and only on alerts live also sent (the shadow's extra alerts were never reviewed).

:func:`shadow_summary` returns the figures as a JSON-able dict (the promotion command attaches the
stored one: ``reports/shadow/<version>-<from>-<to>.json``, written by :func:`store_summary`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from socialhub.models import ALERT_CATEGORIES as CATEGORIES
from socialhub.models import CATEGORIES as BASE_CATEGORIES
from socialhub.reclassify import _cat_order, iter_rows, known_platforms, period_days

SHADOW_PREFIX = "shadow/"
REPORT_PREFIX = "reports/shadow/"
#: fewer officer decisions than this and the precision estimate is called too few to judge by
FEW_REVIEWS = 30


def _seg(version_id: str) -> str:
    from socialhub.storage.base import key_segment

    return key_segment(version_id)


def summary_key(version_id: str, day_from: str, day_to: str) -> str:
    return f"{REPORT_PREFIX}{_seg(version_id)}-{day_from}-{day_to}.json"


def shadow_objects(store: Any, version_id: str, days: list[str]) -> list[tuple[str, str, str, str]]:
    """(platform, day, batch id, key) of the version's shadow objects in these days."""
    wanted = set(days)
    out = []
    for key in store.list(f"{SHADOW_PREFIX}{_seg(version_id)}/"):
        parts = key.split("/")
        if len(parts) != 5 or not parts[2].startswith("platform=") or not parts[3].startswith("date="):
            continue
        day = parts[3][5:]
        if day in wanted and parts[4].endswith(".jsonl"):
            from urllib.parse import unquote

            out.append((unquote(parts[2][9:]), day, parts[4].removesuffix(".jsonl"), key))
    return sorted(out, key=lambda t: (t[1], t[0], t[3]))


def shadow_versions(store: Any, days: list[str]) -> list[str]:
    """Every recorded classifier version with shadow results stored in these days."""
    from socialhub.classify import versions

    return [r.id for r in versions.list_versions(store) if shadow_objects(store, r.id, days)]


def review_decisions(store: Any) -> dict[str, dict[str, Any]]:
    """Alert id -> its stored review decision (an officer's, or a timeout's: see :func:`is_officers`)."""
    from socialhub.review.store import DECISIONS

    out = {}
    for key in store.list(DECISIONS):
        raw = store.get_or_none(key)
        if raw:
            d = json.loads(raw)
            out[str(d.get("alert_id"))] = d
    return out


def is_officers(decision: dict[str, Any]) -> bool:
    """A decision an officer made; a review that timed out is none (Airflow applied the default option)."""
    return not decision.get("timed_out") and bool(decision.get("responded_by"))


def wilson(k: int, n: int) -> tuple[float, float]:
    from socialhub.classify.slices import wilson_interval

    return wilson_interval(k, n)


@dataclass
class ShadowComparison:
    version_id: str
    day_from: str
    day_to: str
    batches: int = 0
    posts: int = 0                   # posts with both a live and a shadow result
    same_labels: int = 0
    live_only: int = 0               # curated posts with no shadow row (a shadow failure, or added later)
    shadow_only: int = 0             # shadow rows with no curated post
    live_alerts: int = 0
    shadow_alerts: int = 0
    category: dict[str, list[int]] = field(default_factory=dict)   # cat -> [agree, live, shadow, added, dropped]
    per_day: dict[str, list[int]] = field(default_factory=dict)    # day -> [live alerts, shadow alerts]
    added: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    reviewed: list[dict[str, Any]] = field(default_factory=list)
    timed_out_reviews: int = 0
    missing_live: list[str] = field(default_factory=list)           # batches whose curated object is gone

    def add(self, day: str, live_row: dict[str, Any], shadow: dict[str, Any], decision: dict[str, Any] | None
            ) -> None:
        lc = live_row.get("classification") or {}
        live, sh = set(lc.get("labels") or []), set(shadow.get("labels") or [])
        self.posts += 1
        self.same_labels += live == sh
        self.live_alerts += bool(live)
        self.shadow_alerts += bool(sh)
        counts = self.per_day.setdefault(day, [0, 0])
        counts[0] += bool(live)
        counts[1] += bool(sh)
        for cat in dict.fromkeys([*CATEGORIES, *live, *sh]):
            c = self.category.setdefault(cat, [0, 0, 0, 0, 0])
            c[0] += (cat in live) == (cat in sh)
            c[1] += cat in live
            c[2] += cat in sh
            c[3] += cat in sh and cat not in live
            c[4] += cat in live and cat not in sh
        row = {"day": day, "platform": live_row.get("platform"), "post_id": live_row.get("post_id"),
               "url": live_row.get("url"), "force": live_row.get("force"), "team": live_row.get("team"),
               "live_labels": " ".join(sorted(live, key=_cat_order)),
               "shadow_labels": " ".join(sorted(sh, key=_cat_order)),
               "live_scores": _scores(lc), "shadow_scores": _scores(shadow), "batch_id": live_row.get("batch_id")}
        if sh and not live:
            self.added.append(row)
        elif live and not sh:
            self.dropped.append(row)
        if live and decision is not None:
            option = str(decision.get("option"))
            self.reviewed.append(row | {"alert_id": decision.get("alert_id"), "officer_decision": option,
                                        "confirmed": option != _no_action(), "shadow_flags": bool(sh)})

    # ------------------------------------------------------------------ figures

    def review_figures(self) -> dict[str, Any]:
        confirmed = [r for r in self.reviewed if r["confirmed"]]
        rejected = [r for r in self.reviewed if not r["confirmed"]]
        kept = sum(1 for r in confirmed if r["shadow_flags"])
        dropped_fp = sum(1 for r in rejected if not r["shadow_flags"])
        tp, fp = kept, len(rejected) - dropped_fp
        n = tp + fp
        lo, hi = wilson(tp, n)
        live_lo, live_hi = wilson(len(confirmed), len(self.reviewed))
        by_option: dict[str, int] = {}
        for r in self.reviewed:
            by_option[r["officer_decision"]] = by_option.get(r["officer_decision"], 0) + 1
        return {"reviewed_alerts": len(self.reviewed), "by_option": dict(sorted(by_option.items())),
                "confirmed": len(confirmed), "confirmed_also_flagged": kept,
                "rejected": len(rejected), "rejected_dropped": dropped_fp,
                "timed_out_not_counted": self.timed_out_reviews,
                "shadow_precision": round(tp / n, 4) if n else None,
                "shadow_precision_wilson95": [round(lo, 4), round(hi, 4)] if n else None,
                "shadow_precision_rests_on": n,
                "live_precision": round(len(confirmed) / len(self.reviewed), 4) if self.reviewed else None,
                "live_precision_wilson95": [round(live_lo, 4), round(live_hi, 4)] if self.reviewed else None,
                "caveat": self.caveat(n)}

    def caveat(self, n: int) -> str:
        base = ("only alerts live sent were reviewed, so this says nothing of the alerts the shadow would add "
                f"({len(self.added)} in the period)")
        if n == 0:
            return "no officer decision on an alert the shadow also flags: no precision estimate; " + base
        if n < FEW_REVIEWS:
            return (f"rests on {n} officer decision{'s' if n != 1 else ''} only (fewer than {FEW_REVIEWS}): "
                    f"too few to judge by, the interval is wide; " + base)
        return f"rests on {n} officer decisions; " + base

    def category_rows(self) -> list[dict[str, Any]]:
        return [{"category": cat, "agreement": _share(c[0], self.posts), "live_flagged": c[1],
                 "shadow_flagged": c[2], "added": c[3], "dropped": c[4]}
                for cat in sorted(self.category, key=_cat_order) for c in [self.category[cat]]
                # known_content (counted over every post) is shown once either side labelled a post with it
                if cat in BASE_CATEGORIES or c[1] or c[2]]

    def day_rows(self) -> list[dict[str, Any]]:
        return [{"day": d, "live_alerts": v[0], "shadow_alerts": v[1], "difference": v[1] - v[0]}
                for d, v in sorted(self.per_day.items())]

    def summary(self) -> dict[str, Any]:
        return {"format": "socialhub-shadow-report/1", "version": self.version_id, "from": self.day_from,
                "to": self.day_to, "batches": self.batches, "posts": self.posts,
                "agreement": _share(self.same_labels, self.posts), "same_labels": self.same_labels,
                "agreement_by_category": {r["category"]: r["agreement"] for r in self.category_rows()},
                "live_alerts": self.live_alerts, "shadow_alerts": self.shadow_alerts,
                "added": len(self.added), "dropped": len(self.dropped),
                "added_by_category": {r["category"]: r["added"] for r in self.category_rows()},
                "dropped_by_category": {r["category"]: r["dropped"] for r in self.category_rows()},
                "alerts_per_day": {r["day"]: [r["live_alerts"], r["shadow_alerts"]] for r in self.day_rows()},
                "live_posts_without_shadow": self.live_only, "shadow_rows_without_live": self.shadow_only,
                "batches_without_live": len(self.missing_live),
                "reviews": self.review_figures()}


def _no_action() -> str:
    from socialhub.review.model import NO_ACTION

    return NO_ACTION


def _share(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def _scores(c: dict[str, Any]) -> str:
    return " ".join(f"{k}={float(v):.3f}" for k, v in (c.get("scores") or {}).items())


def _day(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def compare_shadow(store: Any, version_id: str, day_from: date | str, day_to: date | str,
                   decisions: dict[str, dict[str, Any]] | None = None) -> ShadowComparison:
    """Read the version's shadow objects of the period with the live rows of the same batches (reads only)."""
    from socialhub.alerts.model import alert_id_for
    from socialhub.storage import layout

    days = period_days(day_from, day_to)
    out = ShadowComparison(version_id, days[0], days[-1])
    by_alert = decisions if decisions is not None else review_decisions(store)
    for platform, day, batch_id, key in shadow_objects(store, version_id, days):
        out.batches += 1
        shadow = {str(r.get("post_id")): r.get("classification") or {} for r in iter_rows(store, key)}
        curated = layout.stage_key("curated", platform, day, batch_id)
        if not store.exists(curated):
            out.missing_live.append(batch_id)
            out.shadow_only += len(shadow)
            continue
        for row in iter_rows(store, curated):
            sc = shadow.pop(str(row.get("post_id")), None)
            if sc is None:
                out.live_only += 1
                continue
            decision = None
            if (row.get("classification") or {}).get("labels"):
                decision = by_alert.get(alert_id_for(str(row.get("platform")), str(row.get("post_id"))))
                if decision is not None and not is_officers(decision):
                    out.timed_out_reviews += 1
                    decision = None
            out.add(day, row, sc, decision)
        out.shadow_only += len(shadow)
    return out


def shadow_summary(store: Any, version_id: str, day_from: date | str, day_to: date | str) -> dict[str, Any]:
    """The shadow version's figures over the period, as a JSON-able dict (reads only; see the module doc)."""
    return compare_shadow(store, version_id, day_from, day_to).summary()


def store_summary(store: Any, summary: dict[str, Any], *, written_at: str, by: str | None = None) -> str:
    """Store ``summary`` at ``reports/shadow/<version>-<from>-<to>.json`` (overwritten by a later run of
    the same period); ``socialhub classifier promote`` attaches the newest one. Returns the key."""
    from socialhub.models import canonical_json

    key = summary_key(summary["version"], summary["from"], summary["to"])
    store.put_state(key, canonical_json(summary | {"written_at": written_at, "written_by": by}))
    return key


__all__ = ["ShadowComparison", "compare_shadow", "is_officers", "review_decisions", "shadow_objects", "shadow_summary",
           "shadow_versions", "store_summary", "summary_key", "known_platforms"]
