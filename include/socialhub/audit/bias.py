"""The bias audit: officers' "No action (false positive)" rate by slice of the posts they reviewed.

An officer who answers a review with "No action (false positive)" says the classifier was wrong
about that post. If one kind of post (one platform, one force's posts, one category, one
classifier version, posts written with dialect or slang markers, music and drill posts) gets that
answer much more often than the others of its kind, the classifier may be putting that kind of
ordinary post in front of officers more than it should. This module counts it, per slice, from
the hub's own records; the auditor's report shows it as the ``bias_audit`` table.

What is counted
===============

* A **decision** is an officer's answer to a review (``socialhub.audit.outcomes``: a
  ``review_response`` event by a person that did not time out) recorded in the period. A review
  nobody answered in time is not a decision: it is left out of every rate and counted on its own
  ("timed out, not counted"), per slice too.
* The **false-positive rate** of a slice is the share of its decisions that were
  "No action (false positive)" (``socialhub.review.model.NO_ACTION``); every other option
  (Refer to platform, Escalate, Keep monitoring, ...) counts as "not a false positive". The
  report gives its Wilson 95% interval: with few decisions the interval is wide.
* The **slices** describe posts, never people. Each decision is put in one slice of each
  dimension, except categories: a post flagged for two categories counts in both.

  - ``platform``: the post's platform;
  - ``force``: the force whose watchlist the account is on;
  - ``category``: the categories the alert was raised for (the ``alert`` audit event's labels,
    else the flagged post's classification);
  - ``classifier``: the recorded classifier version that classified the post (its
    ``classifier_id``; the classifier's own version name when no id was recorded);
  - ``dialect``: "yes" when the post's text has at least one African-American English or
    Multicultural London English marker (``socialhub.classify.slices.aae_markers`` /
    ``mle_markers``, which include common slang such as "no cap", "deadass", "peng", "bare ...");
    "no" otherwise. The classifier has no separate detector of benign slang (its lexicon's
    slang words are the evidence that flagged the post, so they cannot measure anything here);
  - ``music``: "yes" when the text has a music or drill cue
    (``socialhub.classify.slices.music_markers``), "no" otherwise.

  The last two need the post's text. Once the retention policy has erased a batch's content
  (its manifest and result record stay), the text is gone: such a decision is counted under
  "text erased" in those two dimensions, never guessed; "post not found" when even the batch's
  result record is missing.

The flag rule
=============

For each dimension, the **median** is the median false-positive rate of its slices that have at
least ``MIN_DECISIONS`` decisions ("enough to judge"); slices with fewer, and the "text erased",
"post not found" and "not recorded" rows (gaps in the records, not kinds of post), do not enter
it. A slice with enough decisions is **flagged** when its rate is more than ``FLAG_FACTOR``
(1.5) times that median. When the median is 0 (at least half of the judged slices had no false
positive at all), any judged slice with a false positive is flagged (its rate is above 1.5 x 0);
the ratio is then shown as "median is 0". A slice with fewer than ``MIN_DECISIONS`` decisions is
shown as "too few to judge", never flagged or cleared silently; a dimension with only one slice
with enough decisions has nothing to compare it with ("only slice with enough decisions").

A flag asks a person to look (read the decisions behind it, compare with the evaluation's
fairness figures, ``socialhub eval``); it is not proof of bias. A flagged slice whose Wilson
interval reaches below the 1.5 x median line could be chance, and the judgement says so.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from socialhub.audit.outcomes import decision_option, review_outcomes
from socialhub.classify.slices import aae_markers, mle_markers, music_markers, wilson_interval
from socialhub.review.model import NO_ACTION
from socialhub.storage.base import ObjectStore

#: The option that says the classifier was wrong: "No action (false positive)".
FALSE_POSITIVE = NO_ACTION
#: Fewer decisions than this in a slice: "too few to judge", and not in its dimension's median.
MIN_DECISIONS = 5
#: A judged slice is flagged when its rate is more than this many times its dimension's median.
FLAG_FACTOR = 1.5

#: (key, what the slice is by), in report order.
DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("platform", "Platform"),
    ("force", "Force"),
    ("category", "Category"),
    ("classifier", "Classifier version"),
    ("dialect", "Dialect or slang markers in the text"),
    ("music", "Music or drill in the text"),
)
TEXT_ERASED = "text erased"
NOT_FOUND = "post not found"
NOT_RECORDED = "not recorded"
#: Slice values that are gaps in the records, not kinds of post: shown, never judged, not in the median.
GAPS = frozenset({TEXT_ERASED, NOT_FOUND, NOT_RECORDED})

FLAGGED = "FLAGGED"
NOT_FLAGGED = "not flagged"
TOO_FEW = f"too few to judge (fewer than {MIN_DECISIONS} decisions)"
NO_DECISIONS = "no decisions (timed out only)"
ONLY_ONE = "nothing to compare: the only slice of its kind with enough decisions"


# --------------------------------------------------------------------------------------------- posts


@dataclass(frozen=True)
class ReviewedPost:
    """One review in the period and the post it was about (what the slices need, nothing more)."""

    alert_id: str
    option: str                   # the officer's option (or the default a timeout applied)
    timed_out: bool               # nobody answered: not a decision
    platform: str
    force: str
    categories: tuple[str, ...]
    classifier: str
    text: str | None              # None when it cannot be read (see ``text_gap``)
    text_gap: str = ""            # TEXT_ERASED or NOT_FOUND when ``text`` is None

    @property
    def false_positive(self) -> bool:
        return self.option == FALSE_POSITIVE


def has_dialect_markers(text: str) -> bool:
    """True if ``text`` has at least one AAE or MLE marker (``slices.aae_markers`` / ``mle_markers``)."""
    return bool(aae_markers(text) or mle_markers(text))


def has_music_markers(text: str) -> bool:
    """True if ``text`` has at least one music or drill cue (``slices.music_markers``)."""
    return bool(music_markers(text))


def slice_values(post: ReviewedPost) -> dict[str, list[str]]:
    """The slice of each dimension the post falls in (categories: one per category flagged)."""
    if post.text is None:
        text_dims = {"dialect": [post.text_gap or NOT_FOUND], "music": [post.text_gap or NOT_FOUND]}
    else:
        text_dims = {"dialect": ["yes" if has_dialect_markers(post.text) else "no"],
                     "music": ["yes" if has_music_markers(post.text) else "no"]}
    return {"platform": [post.platform or NOT_RECORDED], "force": [post.force or NOT_RECORDED],
            "category": sorted(set(post.categories)) or [NOT_RECORDED],
            "classifier": [post.classifier or NOT_RECORDED], **text_dims}


def _json(store: ObjectStore, key: str) -> dict[str, Any] | None:
    raw = store.get_or_none(key) if key else None
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _Batches:
    """Result records and flagged rows read once per batch."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.results: dict[str, dict[str, Any] | None] = {}
        self.rows: dict[str, dict[str, dict[str, Any]] | None] = {}

    def result(self, batch_id: str) -> dict[str, Any] | None:
        if batch_id not in self.results:
            from socialhub.process import result_key

            self.results[batch_id] = _json(self.store, result_key(batch_id)) if batch_id else None
        return self.results[batch_id]

    def flagged(self, batch_id: str) -> dict[str, dict[str, Any]] | None:
        """alert id -> flagged row of the batch; None when the flagged posts are not in the store."""
        if batch_id not in self.rows:
            from socialhub.alerts.model import alert_id_for
            from socialhub.models import from_jsonl

            key = ((self.result(batch_id) or {}).get("outputs") or {}).get("flagged") or ""
            raw = self.store.get_or_none(key) if key else None
            try:
                self.rows[batch_id] = None if raw is None else {
                    alert_id_for(str(r.get("platform", "")), str(r.get("post_id", ""))): r for r in from_jsonl(raw)}
            except (ValueError, AttributeError):   # unreadable: its posts are "not found", the report goes on
                self.rows[batch_id] = {}
        return self.rows[batch_id]


def reviewed_posts(store: ObjectStore, events: Iterable[Mapping[str, Any]],
                   all_events: Iterable[Mapping[str, Any]] | None = None) -> list[ReviewedPost]:
    """The reviews among ``events`` (audit events already chosen by period and force), with their posts.

    ``all_events`` (default: ``events``) is searched for each alert's ``alert`` event, which may be
    older than the period. The post is found through the alert ledger and the batch's result record
    (``results/``) and flagged posts; whatever is missing is "not recorded", and a missing text is
    "text erased" (the batch's result record is there, its flagged posts are not) or "post not found".
    """
    events = list(events)
    alerts: dict[str, Mapping[str, Any]] = {}
    for ev in (events if all_events is None else all_events):
        if ev.get("action") == "alert":
            alerts.setdefault(str(ev.get("object", "")).removeprefix("alert:"), ev)
    outcomes = review_outcomes(events)
    batches = _Batches(store)
    posts = []
    for ev, timed_out in [(e, False) for e in outcomes.decisions] + [(e, True) for e in outcomes.timeouts]:
        d = ev.get("details") or {}
        aid = str(d.get("alert_id") or str(ev.get("object", "")).removeprefix("alert:"))
        alert_d = (alerts.get(aid) or {}).get("details") or {}
        batch_id = str(alert_d.get("batch_id") or "")
        if not batch_id:
            from socialhub.storage.layout import ledger_key

            batch_id = str((_json(store, ledger_key(aid)) or {}).get("batch_id") or "")
        result = batches.result(batch_id) or {}
        rows = batches.flagged(batch_id) if result else None
        row = (rows or {}).get(aid) or {}
        classification = row.get("classification") or {}
        labels = alert_d.get("labels") or classification.get("labels") or []
        post_key = str(d.get("post") or alert_d.get("post") or "")
        if row:
            text, gap = str(row.get("text") or ""), ""
        else:
            text, gap = None, (TEXT_ERASED if result and rows is None else NOT_FOUND)
        posts.append(ReviewedPost(
            alert_id=aid, option=decision_option(ev), timed_out=timed_out,
            platform=str(row.get("platform") or result.get("platform")
                         or (post_key.partition(":")[0] if ":" in post_key else "")),
            force=str(ev.get("force") or row.get("force") or result.get("force") or ""),
            categories=tuple(str(c) for c in labels),
            classifier=str(classification.get("classifier_id") or result.get("classifier_id")
                           or classification.get("classifier_version") or result.get("classifier_version") or ""),
            text=text, text_gap=gap))
    return posts


# --------------------------------------------------------------------------------------------- rates


@dataclass
class SliceRate:
    """One row of the bias audit."""

    dimension: str
    value: str
    decisions: int = 0
    false_positives: int = 0
    timed_out: int = 0
    median: float | None = None       # of its dimension (None: no slice with enough decisions)
    judgement: str = ""
    flagged: bool = False

    @property
    def rate(self) -> float | None:
        return self.false_positives / self.decisions if self.decisions else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.false_positives, self.decisions) if self.decisions else None

    @property
    def judged(self) -> bool:
        """Enough decisions, and a kind of post (not a gap in the records): in the median, may be flagged."""
        return self.value not in GAPS and self.decisions >= MIN_DECISIONS

    @property
    def ratio(self) -> float | None:
        if self.rate is None or not self.median:
            return None
        return self.rate / self.median


@dataclass
class BiasAudit:
    slices: list[SliceRate]
    decisions: int                     # officers' decisions counted
    timed_out: int                     # reviews that timed out (not counted)
    text_erased: int                   # decisions whose post text was erased (dialect and music unknown)
    not_found: int                     # decisions whose post could not be found at all
    dimensions: dict[str, str] = field(default_factory=lambda: dict(DIMENSIONS))

    @property
    def flagged(self) -> list[SliceRate]:
        return [s for s in self.slices if s.flagged]


def judge(slices: Sequence[SliceRate]) -> None:
    """Set ``median``, ``judgement`` and ``flagged`` on the slices of ONE dimension (module doc: the flag rule)."""
    judged = [s for s in slices if s.judged]
    median = statistics.median([s.rate or 0.0 for s in judged]) if judged else None
    line = FLAG_FACTOR * median if median is not None else None
    for s in slices:
        s.median = median
        s.flagged = False
        if s.value in GAPS:
            s.judgement = f"not judged: {s.value}" + (" (no text to look for markers in)"
                                                      if s.value in (TEXT_ERASED, NOT_FOUND) else "")
        elif s.decisions == 0:
            s.judgement = NO_DECISIONS
        elif s.decisions < MIN_DECISIONS:
            s.judgement = TOO_FEW
        elif len(judged) < 2:
            s.judgement = ONLY_ONE
        elif line is not None and (s.rate or 0.0) > line:
            s.flagged = True
            lo = (s.interval or (0.0, 1.0))[0]
            s.judgement = (f"{FLAGGED}: above {FLAG_FACTOR:g} x the median"
                           + ("; its 95% interval reaches below that line, so it could be chance" if lo <= line
                              else "; its 95% interval is above that line too"))
        else:
            s.judgement = NOT_FLAGGED


def bias_audit(posts: Iterable[ReviewedPost]) -> BiasAudit:
    """Count decisions and false positives per slice of each dimension, and judge each dimension."""
    table: dict[tuple[str, str], SliceRate] = {}
    n_decisions = n_timed_out = n_erased = n_missing = 0
    for post in posts:
        if post.timed_out:
            n_timed_out += 1
        else:
            n_decisions += 1
            n_erased += post.text is None and post.text_gap == TEXT_ERASED
            n_missing += post.text is None and post.text_gap != TEXT_ERASED
        for dim, values in slice_values(post).items():
            for value in values:
                s = table.setdefault((dim, value), SliceRate(dim, value))
                if post.timed_out:
                    s.timed_out += 1
                else:
                    s.decisions += 1
                    s.false_positives += post.false_positive
    order = {dim: i for i, (dim, _) in enumerate(DIMENSIONS)}
    slices = sorted(table.values(), key=lambda s: (order[s.dimension], s.value in GAPS, s.value))
    for dim, _ in DIMENSIONS:
        judge([s for s in slices if s.dimension == dim])
    return BiasAudit(slices=slices, decisions=n_decisions, timed_out=n_timed_out, text_erased=n_erased,
                     not_found=n_missing)


def audit_store(store: ObjectStore, events: Iterable[Mapping[str, Any]],
                all_events: Iterable[Mapping[str, Any]] | None = None) -> BiasAudit:
    """``bias_audit`` of the reviews among ``events`` (see ``reviewed_posts``)."""
    return bias_audit(reviewed_posts(store, events, all_events))


# --------------------------------------------------------------------------------------------- words


def pct(value: float | None) -> str:
    """``12.5%`` (one decimal; empty for None)."""
    return "" if value is None else f"{100 * value:.1f}%"


def rows(audit: BiasAudit) -> list[dict[str, Any]]:
    """The report table's rows: words for the page, fractions for the CSV."""
    out = []
    for s in audit.slices:
        lo_hi = s.interval
        ratio = s.ratio
        compared = s.judgement == NOT_FLAGGED or s.flagged    # judged against the median of its kind
        out.append({
            "dimension": audit.dimensions.get(s.dimension, s.dimension), "slice": s.value,
            "decisions": s.decisions, "false_positives": s.false_positives, "timed_out": s.timed_out,
            "rate": pct(s.rate), "interval": f"{pct(lo_hi[0])} to {pct(lo_hi[1])}" if lo_hi else "",
            "median": pct(s.median),
            "ratio": (f"{ratio:.2f}" if ratio is not None and compared else
                      "median is 0" if compared and s.median == 0 else ""),
            "judgement": s.judgement,
            "rate_fraction": "" if s.rate is None else round(s.rate, 4),
            "low_fraction": "" if lo_hi is None else round(lo_hi[0], 4),
            "high_fraction": "" if lo_hi is None else round(lo_hi[1], 4),
            "median_fraction": "" if s.median is None else round(s.median, 4),
        })
    return out


INTRO = ("How often officers answered 'No action (false positive)', slice by slice, among the alerts they "
         "reviewed in the period. The rate is the share of a slice's officer decisions that said the "
         "classifier was wrong. A slice is flagged when its rate is more than 1.5 times the median rate of the "
         "slices of its kind (platforms with platforms, forces with forces, ...). The slices describe posts, "
         "never people.")


def notes(audit: BiasAudit) -> list[str]:
    """Plain words for the auditor who signs the report."""
    out = [
        f"{len(audit.flagged)} slice(s) flagged, from {audit.decisions} officer decision(s)."
        + (f" {audit.timed_out} review(s) timed out with no officer decision: they are not decisions, so they are "
           "left out of every rate and counted on their own ('Timed out (not counted)')." if audit.timed_out
           else ""),
        "What a flag means: officers dismissed this kind of post as a false positive noticeably more often than "
        "the others of its kind, so someone should look at the decisions behind it. It is not proof of bias: "
        "the posts in a slice can differ for good reasons, and small numbers move rates a lot. The 95% interval "
        "shows how far chance alone could move the rate; a flag whose interval reaches below the line could be "
        "chance.",
        f"Small numbers: a slice with fewer than {MIN_DECISIONS} decisions is marked 'too few to judge' and is "
        "neither flagged nor cleared. The median of a kind is taken over its slices with at least "
        f"{MIN_DECISIONS} decisions; when that median is 0 (half or more of them had no false positive), any "
        "of them with a false positive is flagged.",
        "A post flagged for two categories counts in both category slices. 'Dialect or slang markers' means at "
        "least one African-American English or Multicultural London English marker in the text (words such as "
        "'innit', 'fam', 'finna', 'no cap'); 'Music or drill' means a music or drill cue (a release, lyrics, "
        "'uk drill', 'drill track', ...). These describe the words of a post, never the person who wrote it.",
    ]
    if audit.text_erased or audit.not_found:
        gaps = " and ".join(x for x in (
            f"{audit.text_erased} decision(s) were about posts whose text the retention policy has erased"
            if audit.text_erased else "",
            f"{audit.not_found} decision(s) about posts not found in the store" if audit.not_found else "") if x)
        rows_named = " / ".join(f"'{v}'" for v, n in ((TEXT_ERASED, audit.text_erased), (NOT_FOUND, audit.not_found))
                                if n)
        out.append(f"{gaps}: their markers cannot be looked for, so they are counted under {rows_named} in the two "
                   "text slices, not guessed.")
    return out


__all__ = ["BiasAudit", "DIMENSIONS", "FALSE_POSITIVE", "FLAG_FACTOR", "INTRO", "MIN_DECISIONS", "NOT_FOUND",
           "NOT_RECORDED", "ReviewedPost", "SliceRate", "TEXT_ERASED", "audit_store", "bias_audit",
           "has_dialect_markers", "has_music_markers", "judge", "notes", "pct", "reviewed_posts", "rows",
           "slice_values"]
