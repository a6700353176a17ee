"""Re-classify stored posts with any classifier version and compare with what was decided.

``socialhub reclassify`` (``cli.py``) reads the curated posts of a period
(``curated/platform=P/date=D/<batch>.jsonl``: each row is the post plus the ``classification``
it got), classifies their text again with a classifier version (``versions.resolve``: 'live',
'packaged', a recorded id, or a folder / YAML file), and compares, post by post:

* which posts the version would newly flag, and which it would no longer flag (an alert is a
  post with at least one label), and posts still flagged but for other categories;
* how far each category's score moved (mean / median / max absolute shift) and how many posts
  crossed the threshold either way;
* the alerts per day each version would have sent, and per slice (platform, force, category):
  flagged before, flagged now, added, dropped.

Nothing here alerts or writes to the store: the functions read and return a :class:`Comparison`.
The command then writes the report to a local folder and records one ``reclassify`` audit event.
Re-running the recorded version under the code it was recorded with reproduces the stored
scores, labels and reasons exactly (``Comparison.identical == Comparison.posts``).

Memory stays bounded: the curated objects are streamed (``store.open_read``) and classified in
chunks of ``CHUNK`` posts; only the per-category score shifts (8 bytes a post and category) and
the rows of posts whose alert changed are kept.

``shadow.py`` compares stored shadow results with the live ones (``socialhub shadow report``).
"""

from __future__ import annotations

import json
import statistics
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from socialhub.errors import SocialhubError
from socialhub.models import ALERT_CATEGORIES as CATEGORIES

#: posts per classify_batch call
CHUNK = 2000
#: longest period one run takes (days)
MAX_DAYS = 366


class PeriodError(SocialhubError):
    """A period that cannot be re-classified (bad dates, nothing stored): the CLI exits 2."""


def parse_day(value: str, what: str = "--from") -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise PeriodError(f"{what} {value!r} is not a date",
                          hint="give a day as YYYY-MM-DD, e.g. --from 2026-11-24 --to 2026-11-30") from None


def period_days(day_from: date | str, day_to: date | str) -> list[str]:
    """Every day from ``day_from`` to ``day_to``, both included, as YYYY-MM-DD (the ``date=`` partitions)."""
    start = day_from if isinstance(day_from, date) else parse_day(day_from, "--from")
    end = day_to if isinstance(day_to, date) else parse_day(day_to, "--to")
    if end < start:
        raise PeriodError(f"--to {end} is before --from {start}", hint="swap them: --from is the first day")
    n = (end - start).days + 1
    if n > MAX_DAYS:
        raise PeriodError(f"{n} days is more than one run takes ({MAX_DAYS})", hint="split the period into years")
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def known_platforms() -> list[str]:
    from socialhub.cli import PLATFORM_NAMES

    return sorted(PLATFORM_NAMES)


@dataclass(frozen=True)
class StoredBatch:
    """One curated object of the period."""

    platform: str
    day: str
    batch_id: str
    key: str


def curated_objects(store: Any, days: Iterable[str], platform: str | None = None) -> list[StoredBatch]:
    """The curated objects of these days (and platform), by day, platform and key."""
    from socialhub.storage import layout

    out = []
    for day in days:
        for p in [platform] if platform else known_platforms():
            prefix = layout.stage_key("curated", p, day, "x").rsplit("/", 1)[0] + "/"
            for key in store.list(prefix):
                if key.endswith(".jsonl"):
                    out.append(StoredBatch(p, day, key.rsplit("/", 1)[1].removesuffix(".jsonl"), key))
    return sorted(out, key=lambda b: (b.day, b.platform, b.key))


def stored_days(store: Any, platform: str | None = None, limit: int = 400) -> list[str]:
    """The days that hold curated posts (for an error message: which days there are)."""
    from socialhub.storage import layout

    found: set[str] = set()
    for p in [platform] if platform else known_platforms():
        prefix = layout.stage_key("curated", p, "D", "x").split("date=")[0]
        for key in store.list(prefix):
            part = key[len(prefix):]
            if part.startswith("date="):
                found.add(part[5:15])
            if len(found) >= limit:
                break
    return sorted(found)


def iter_rows(store: Any, key: str) -> Iterator[dict[str, Any]]:
    """The JSONL rows of a stored object, read and parsed lazily."""
    with store.open_read(key) as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _labels(c: dict[str, Any]) -> list[str]:
    return list(c.get("labels") or [])


def _jsonable(value: Any) -> Any:
    """As stored: a JSON round trip (tuples become lists), so a comparison is with what is on disk."""
    return json.loads(json.dumps(value, ensure_ascii=False))


@dataclass
class Shift:
    """One category's score shifts (absolute) and threshold crossings."""

    values: array = field(default_factory=lambda: array("d"))
    moved: int = 0          # posts whose score changed at all
    up: int = 0             # labelled now, not before
    down: int = 0           # labelled before, not now

    def row(self, category: str) -> dict[str, Any]:
        v = self.values
        return {"category": category, "posts": len(v), "moved": self.moved,
                "mean_shift": round(sum(v) / len(v), 6) if v else 0.0,
                "median_shift": round(statistics.median(v), 6) if v else 0.0,
                "max_shift": round(max(v), 6) if v else 0.0,
                "crossed_up": self.up, "crossed_down": self.down, "crossed": self.up + self.down}


@dataclass
class Slice:
    old: int = 0
    new: int = 0
    added: int = 0
    dropped: int = 0


@dataclass
class Comparison:
    """Recorded vs re-run classifications of the posts of a period (filled by :meth:`add`)."""

    posts: int = 0
    batches: int = 0
    identical: int = 0             # scores, labels and reasons all exactly as stored
    scores_changed: int = 0
    labels_changed: int = 0
    reasons_changed: int = 0
    errors: int = 0                # posts the re-run could not classify (Classification.error)
    shifts: dict[str, Shift] = field(default_factory=dict)
    per_day: dict[str, list[int]] = field(default_factory=dict)          # day -> [recorded alerts, re-run alerts]
    slices: dict[tuple[str, str], Slice] = field(default_factory=dict)   # (platform|force|category, value)
    newly_flagged: list[dict[str, Any]] = field(default_factory=list)
    no_longer_flagged: list[dict[str, Any]] = field(default_factory=list)
    label_changes: list[dict[str, Any]] = field(default_factory=list)
    recorded: dict[str, dict[str, Any]] = field(default_factory=dict)    # recorded version id -> batches, posts
    seconds: float = 0.0

    def add(self, row: dict[str, Any], day: str, new: dict[str, Any]) -> None:
        """One post: its stored row (with ``classification``) and the re-run's ``Classification.to_dict()``."""
        old = row.get("classification") or {}
        self.posts += 1
        vid = str(old.get("classifier_id") or "unrecorded: " + str(old.get("classifier_version") or "unknown"))
        rec = self.recorded.setdefault(vid, {"posts": 0, "batches": set(),
                                             "classifier_version": old.get("classifier_version")})
        rec["posts"] += 1
        rec["batches"].add(row.get("batch_id"))
        if new.get("error"):
            self.errors += 1
        old_scores, new_scores = old.get("scores") or {}, new.get("scores") or {}
        old_labels, new_labels = _labels(old), _labels(new)
        same_scores = old_scores == new_scores
        same_labels = old_labels == new_labels
        same_reasons = (old.get("reasons") or []) == _jsonable(new.get("reasons") or [])
        self.scores_changed += not same_scores
        self.labels_changed += not same_labels
        self.reasons_changed += not same_reasons
        self.identical += same_scores and same_labels and same_reasons
        old_set, new_set = set(old_labels), set(new_labels)
        for cat in dict.fromkeys([*CATEGORIES, *old_scores, *new_scores]):
            if cat not in old_scores and cat not in new_scores:
                continue
            sh = self.shifts.setdefault(cat, Shift())
            a, b = float(old_scores.get(cat, 0.0)), float(new_scores.get(cat, 0.0))
            sh.values.append(abs(b - a))
            sh.moved += a != b
            sh.up += cat in new_set and cat not in old_set
            sh.down += cat in old_set and cat not in new_set
        was, now = bool(old_set), bool(new_set)
        counts = self.per_day.setdefault(day, [0, 0])
        counts[0] += was
        counts[1] += now
        for kind, value in (("platform", row.get("platform")), ("force", row.get("force"))):
            s = self.slices.setdefault((kind, str(value or "")), Slice())
            s.old += was
            s.new += now
            s.added += now and not was
            s.dropped += was and not now
        for cat in old_set | new_set:
            s = self.slices.setdefault(("category", cat), Slice())
            s.old += cat in old_set
            s.new += cat in new_set
            s.added += cat in new_set and cat not in old_set
            s.dropped += cat in old_set and cat not in new_set
        if old_set == new_set:
            return

        def entry(cat: str, change: str) -> dict[str, Any]:
            return {"day": day, "platform": row.get("platform"), "post_id": row.get("post_id"),
                    "url": row.get("url"), "force": row.get("force"), "team": row.get("team"),
                    "category": cat, "change": change, "old_score": old_scores.get(cat),
                    "new_score": new_scores.get(cat), "old_threshold": (old.get("thresholds") or {}).get(cat),
                    "new_threshold": (new.get("thresholds") or {}).get(cat), "old_labels": " ".join(old_labels),
                    "new_labels": " ".join(new_labels), "batch_id": row.get("batch_id")}

        if not was:
            self.newly_flagged.extend(entry(c, "added") for c in new_labels)
        elif not now:
            self.no_longer_flagged.extend(entry(c, "dropped") for c in old_labels)
        else:
            self.label_changes.extend([*(entry(c, "added") for c in new_labels if c not in old_set),
                                       *(entry(c, "dropped") for c in old_labels if c not in new_set)])

    # ------------------------------------------------------------------ figures

    @property
    def recorded_alerts(self) -> int:
        return sum(v[0] for v in self.per_day.values())

    @property
    def new_alerts(self) -> int:
        return sum(v[1] for v in self.per_day.values())

    @property
    def added_posts(self) -> int:
        return len({(r["platform"], r["post_id"]) for r in self.newly_flagged})

    @property
    def dropped_posts(self) -> int:
        return len({(r["platform"], r["post_id"]) for r in self.no_longer_flagged})

    @property
    def differences(self) -> int:
        return self.posts - self.identical

    def shift_rows(self) -> list[dict[str, Any]]:
        return [self.shifts[c].row(c) for c in sorted(self.shifts, key=_cat_order)]

    def day_rows(self) -> list[dict[str, Any]]:
        return [{"day": d, "recorded_alerts": v[0], "new_alerts": v[1], "difference": v[1] - v[0]}
                for d, v in sorted(self.per_day.items())]

    def slice_rows(self) -> list[dict[str, Any]]:
        order = {"platform": 0, "force": 1, "category": 2}
        keys = sorted(self.slices, key=lambda k: (order.get(k[0], 9), _cat_order(k[1]) if k[0] == "category"
                                                  else (0, k[1])))
        return [{"slice": kind, "value": value, "old_flagged": s.old, "new_flagged": s.new, "added": s.added,
                 "dropped": s.dropped} for kind, value in keys for s in [self.slices[(kind, value)]]]

    def counts(self) -> dict[str, Any]:
        return {"posts": self.posts, "batches": self.batches, "identical": self.identical,
                "differences": self.differences, "scores_changed": self.scores_changed,
                "labels_changed": self.labels_changed, "reasons_changed": self.reasons_changed,
                "errors": self.errors, "recorded_alerts": self.recorded_alerts, "new_alerts": self.new_alerts,
                "newly_flagged_posts": self.added_posts, "no_longer_flagged_posts": self.dropped_posts,
                "label_changes": len(self.label_changes)}


def _cat_order(cat: str) -> tuple[int, str]:
    return (CATEGORIES.index(cat) if cat in CATEGORIES else len(CATEGORIES), cat)


Progress = Callable[[int, int | None, float], None]


def expected_posts(store: Any, objects: list[StoredBatch]) -> int | None:
    """How many curated rows the objects hold, from their batches' result records (None if one is missing)."""
    from socialhub.process import result_key

    total = 0
    for b in objects:
        raw = store.get_or_none(result_key(b.batch_id))
        if not raw:
            return None
        rec = json.loads(raw)
        if (rec.get("outputs") or {}).get("curated") != b.key or not isinstance(rec.get("valid"), int):
            return None
        total += rec["valid"]
    return total


def reclassify(store: Any, classifier: Any, objects: list[StoredBatch], *, force: str | None = None,
               chunk: int = CHUNK, progress: Progress | None = None, every: float = 2.0,
               total: int | None = None, media_judge: Any = None) -> Comparison:
    """Classify the posts of ``objects`` again with ``classifier`` and compare (reads only).

    ``media_judge`` (``socialhub.media.judge.MediaJudge`` over the same classifier): the posts'
    captured media add their evidence as in processing (text read in images, and hash-list
    matches against the lists as they are *now*, which may have grown since)."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    cmp = Comparison()
    started = last = time.perf_counter()
    pending: list[tuple[dict[str, Any], str]] = []

    def flush() -> None:
        nonlocal last
        if not pending:
            return
        results = classifier.classify_batch([r.get("text") or "" for r, _ in pending])
        decided = [r.to_dict() for r in results]
        if media_judge is not None:
            decided = [e["classification"] for e in media_judge.judge([r for r, _ in pending], decided)]
        for (row, day), cls in zip(pending, decided, strict=True):
            cmp.add(row, day, cls)
        pending.clear()
        now = time.perf_counter()
        if progress and now - last >= every:
            last = now
            progress(cmp.posts, total, cmp.posts / max(now - started, 1e-9))

    for obj in objects:
        cmp.batches += 1
        for row in iter_rows(store, obj.key):
            if force is not None and row.get("force") != force:
                continue
            pending.append((row, obj.day))
            if len(pending) >= chunk:
                flush()
    flush()
    cmp.seconds = time.perf_counter() - started
    if progress:
        progress(cmp.posts, total, cmp.posts / max(cmp.seconds, 1e-9))
    return cmp


def version_notes(store: Any, recorded: Iterable[str], candidate: Any) -> list[dict[str, Any]]:
    """Per recorded version: what it is, whether the running code is the code it was recorded with,
    and whether it is the candidate (so the re-run should reproduce it exactly)."""
    from socialhub.classify import versions
    from socialhub.classify.versions import code_fingerprint

    out = []
    for vid in recorded:
        row: dict[str, Any] = {"version": vid, "same_as_candidate": vid == candidate.id}
        if vid.startswith("unrecorded: "):
            row |= {"code": "", "code_matches": None,
                    "note": "these batches name no recorded version (processed before versions were recorded): "
                            "the classifier and code that decided them are not known, so exact reproduction "
                            "cannot be checked"}
        else:
            try:
                rec = versions.get(store, vid)
            except SocialhubError:
                row |= {"code": "", "code_matches": None,
                        "note": f"version {vid} is not recorded in this store: its files and code are not known"}
            else:
                note = rec.code_note()
                row |= {"code": rec.code, "code_matches": rec.code_matches,
                        "note": note or f"recorded with the running classifier code ({code_fingerprint()})"}
        out.append(row)
    return out


__all__ = ["CHUNK", "Comparison", "PeriodError", "Shift", "Slice", "StoredBatch", "curated_objects",
           "expected_posts", "iter_rows", "known_platforms", "parse_day", "period_days", "reclassify",
           "stored_days", "version_notes"]
