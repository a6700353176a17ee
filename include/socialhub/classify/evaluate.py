"""Evaluate the detection layer: ``socialhub eval [FILE] [--suite [SUITE]] [--real [DIR]]``.

    python -m socialhub.classify.evaluate data/labelled/test.jsonl [--rules-only] [--max-errors N] [--json OUT]
    python -m socialhub.classify.evaluate --suite [data/functional/suite.jsonl]
    python -m socialhub.classify.evaluate --real [../shared/datasets] [--part heldout|calibration|all]

Three sources, any combination in one run, each printed as its own section:

Labelled file (``FILE``, e.g. ``data/labelled/test.jsonl``), for the classifier's labels against
the file's labels:

* precision, recall, F1, support and counts per category, then micro- and macro-averaged,
  and the same for "any label" (flagged or not, which is what puts a post in the queue);
* the confusion between categories (defined below);
* the false-positive rate per ``group`` of posts with no true label (news, music,
  benign_slang, ...), which is how benign slang and music promotion are checked;
* the errors: every post with a missed or a wrong label, with its scores and evidence.

Functional suite (``--suite``, see ``suite.py``): pass rate per functionality, overall per kind,
whether every threat functionality reaches 0.90 and every contrast functionality 0.95, the
false-positive rate of contrast cases per tag, and the failing cases.

Real posts (``--real``, see ``realdata.py``): on the HELD-OUT part of the Davidson et al. (2017)
tweets by default, the false-positive rate on everyday tweets (``neither``) overall and per
dialect slice (``slices.py``) with a 95% Wilson interval, the flagged ones, the share of
offensive / hate tweets flagged (reported, not scored), what was flagged per category, and the
share of the real (unlabelled) posts in the recorded platform responses that get flagged.

Then the FAIRNESS figure over every benign slice of the run (real data, suite tags, labelled
groups): each slice's raw false-positive rate, and the worst-to-best ratio of add-one smoothed
rates ``(flagged + 1) / (n + 2)`` (so a slice with no false positive does not make it infinite),
over slices with at least ``MIN_REAL_SLICE`` (50) real posts or ``MIN_SUITE_SLICE`` (25) suite
cases / labelled posts.

A result with an ``error`` (the classifier could not classify the text) counts as "not labelled"
and is counted separately as an error in every section.

Exit status: 0 when the evaluation ran (whatever the figures); 2 when a file or folder is missing
(the message says what to pass or set) or a file has no posts; 1 when a file is malformed (the
message names the line). Nothing is printed to ``out`` unless every input could be read.

Confusion between categories, for a post with true labels G and predicted labels P: each
category in both counts once on the diagonal (t, t); each missed true category t counts once
against every wrongly predicted category p as (t, p), or as (t, none) when nothing wrong was
predicted; each wrongly predicted p with no missed category counts as (none, p); a post with
neither labels nor predictions counts as (none, none). Off-diagonal cells therefore show which
category a post of one category was mistaken for.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from socialhub.classify import realdata, slices
from socialhub.classify import suite as suite_mod
from socialhub.classify.dataset import DatasetError, Example, read_labelled
from socialhub.classify.slices import MIN_REAL_SLICE, MIN_SUITE_SLICE, SliceRate
from socialhub.errors import SocialhubError
from socialhub.models import CATEGORIES

__all__ = ["Metrics", "classify_all", "compute_metrics", "format_report", "main", "predicted_labels", "run_eval",
           "run_evaluation"]

NONE = "none"


@dataclass(frozen=True)
class Metrics:
    per_category: dict[str, dict[str, float]]
    micro: dict[str, float]
    macro: dict[str, float]
    any_label: dict[str, float]
    confusion: dict[str, dict[str, int]]
    groups: dict[str, dict[str, float]]
    n_posts: int
    n_labelled: int

    def to_dict(self) -> dict[str, Any]:
        return {"posts": self.n_posts, "posts_with_labels": self.n_labelled, "per_category": self.per_category,
                "micro": self.micro, "macro": self.macro, "any_label": self.any_label,
                "confusion": self.confusion, "false_positive_rate_by_group": self.groups}


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn, "support": tp + fn}


def compute_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                    groups: Sequence[str | None] | None = None) -> Metrics:
    """Multi-label metrics for true label sets ``gold`` and predicted ``pred`` (same order)."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    groups = list(groups) if groups is not None else [None] * len(gold)
    counts: dict[str, Counter[str]] = {c: Counter() for c in CATEGORIES}
    axis = [*CATEGORIES, NONE]
    confusion = {t: dict.fromkeys(axis, 0) for t in axis}
    any_counts: Counter[str] = Counter()
    grp: dict[str, Counter[str]] = {}
    for g, p, group in zip(gold, pred, groups, strict=True):
        gs, ps = set(g), set(p)
        for c in CATEGORIES:
            if c in gs and c in ps:
                counts[c]["tp"] += 1
            elif c in ps:
                counts[c]["fp"] += 1
            elif c in gs:
                counts[c]["fn"] += 1
        missed, wrong = [c for c in CATEGORIES if c in gs - ps], [c for c in CATEGORIES if c in ps - gs]
        for c in CATEGORIES:
            if c in gs and c in ps:
                confusion[c][c] += 1
        for t in missed:
            for q in wrong or [NONE]:
                confusion[t][q] += 1
        if not missed:
            for q in wrong:
                confusion[NONE][q] += 1
        if not gs and not ps:
            confusion[NONE][NONE] += 1
        any_counts["tp" if gs and ps else "fp" if ps else "fn" if gs else "tn"] += 1
        if not gs:
            key = group or "(no group)"
            grp.setdefault(key, Counter())
            grp[key]["posts"] += 1
            grp[key]["flagged"] += bool(ps)
    per = {c: _prf(counts[c]["tp"], counts[c]["fp"], counts[c]["fn"]) for c in CATEGORIES}
    micro = _prf(*(sum(counts[c][k] for c in CATEGORIES) for k in ("tp", "fp", "fn")))
    macro = {k: sum(per[c][k] for c in CATEGORIES) / len(CATEGORIES) for k in ("precision", "recall", "f1")}
    any_label = _prf(any_counts["tp"], any_counts["fp"], any_counts["fn"])
    n_neg = any_counts["fp"] + any_counts["tn"]
    any_label["false_positive_rate"] = any_counts["fp"] / n_neg if n_neg else 0.0
    groups_out = {k: {"posts": v["posts"], "flagged": v["flagged"], "false_positive_rate": v["flagged"] / v["posts"]}
                  for k, v in sorted(grp.items())}
    return Metrics(per, micro, macro, any_label, confusion, groups_out, len(gold), sum(1 for g in gold if g))


def _short(c: str) -> str:
    return {"violence_threat": "violence", "gang_affiliation": "gang", "drug_supply": "drug"}.get(c, c)


def format_report(m: Metrics, *, title: str, thresholds: dict[str, float] | None = None) -> str:
    lines = [title, f"posts: {m.n_posts} ({m.n_labelled} with at least one label, {m.n_posts - m.n_labelled} with none)", ""]
    head = f"{'category':<18} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8} {'TP':>5} {'FP':>5} {'FN':>5}"
    if thresholds:
        head += f" {'threshold':>9}"
    lines.append(head)
    for c in CATEGORIES:
        r = m.per_category[c]
        row = (f"{c:<18} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['f1']:>6.3f} {r['support']:>8d} "
               f"{r['tp']:>5d} {r['fp']:>5d} {r['fn']:>5d}")
        if thresholds:
            row += f" {thresholds.get(c, float('nan')):>9.2f}"
        lines.append(row)
    mi = m.micro
    lines.append(f"{'micro-average':<18} {mi['precision']:>9.3f} {mi['recall']:>7.3f} {mi['f1']:>6.3f} {mi['support']:>8d} "
                 f"{mi['tp']:>5d} {mi['fp']:>5d} {mi['fn']:>5d}")
    ma = m.macro
    lines.append(f"{'macro-average':<18} {ma['precision']:>9.3f} {ma['recall']:>7.3f} {ma['f1']:>6.3f}")
    a = m.any_label
    lines.append(f"{'any label (queue)':<18} {a['precision']:>9.3f} {a['recall']:>7.3f} {a['f1']:>6.3f} {a['support']:>8d} "
                 f"{a['tp']:>5d} {a['fp']:>5d} {a['fn']:>5d}   false-positive rate {a['false_positive_rate']:.3f}")
    lines += ["", "confusion between categories (rows: true, columns: predicted; 'none' = no label or nothing else):"]
    axis = [*CATEGORIES, NONE]
    lines.append(f"{'':<10}" + "".join(f"{_short(c):>10}" for c in axis))
    for t in axis:
        lines.append(f"{_short(t):<10}" + "".join(f"{m.confusion[t][p]:>10d}" for p in axis))
    lines += ["", "false-positive rate on posts with no true label, by group:"]
    if m.groups:
        lines.append(f"{'group':<18} {'posts':>6} {'flagged':>8} {'FP rate':>8}")
        for g, r in m.groups.items():
            lines.append(f"{g:<18} {r['posts']:>6d} {r['flagged']:>8d} {r['false_positive_rate']:>8.3f}")
    else:
        lines.append("(no posts without labels)")
    return "\n".join(lines)


def _error_lines(examples: list[Example], results: list[Any], max_errors: int | None) -> list[str]:
    labels = [predicted_labels(r) for r in results]
    errors = [(ex, res, got) for ex, res, got in zip(examples, results, labels, strict=True)
              if set(ex.labels) != set(got)]
    n_fn = sum(1 for ex, _, got in errors if set(ex.labels) - set(got))
    n_fp = sum(1 for ex, _, got in errors if set(got) - set(ex.labels))
    lines = ["", f"errors: {len(errors)} post(s) ({n_fn} with a missed label, {n_fp} with a wrong label)"]
    shown = errors if max_errors is None else errors[:max_errors]
    for ex, res, got in shown:
        missed = [c for c in CATEGORIES if c in set(ex.labels) - set(got)]
        wrong = [c for c in CATEGORIES if c in set(got) - set(ex.labels)]
        kinds = ([f"missed {','.join(map(_short, missed))}"] if missed else []) + (
            [f"wrong {','.join(map(_short, wrong))}"] if wrong else [])
        scores = " ".join(f"{_short(c)}={res.scores.get(c, 0):.2f}" for c in CATEGORIES)
        if result_error(res):
            scores = f"classifier error: {result_error(res)}"
        where = f"line {ex.line}" + (f" [{ex.group}]" if ex.group else "")
        lines.append(f"{where}: {'; '.join(kinds)} | {scores} | {_quote(ex.text, None)}")
        ev = [f"{r['rule']}:{_quote(r['text'], None)}({r['effect']})"
              for r in (res.reasons or [])][:6]
        if ev:
            lines.append(f"    evidence: {', '.join(ev)}")
    if len(shown) < len(errors):
        lines.append(f"... and {len(errors) - len(shown)} more (use --max-errors)")
    return lines


# --- running the classifier ----------------------------------------------------------------------

BATCH_SIZE = 1000
PROGRESS_EVERY = 2000
TEXT_WIDTH = 160


def result_error(result: Any) -> str | None:
    """The result's ``error`` (a text the classifier could not classify), or None."""
    err = getattr(result, "error", None)
    return str(err) if err else None


def predicted_labels(result: Any) -> list[str]:
    """The labels of a result; none for a result with an ``error`` (counted separately)."""
    return [] if result_error(result) else list(result.labels)


def classify_all(classifier: Any, texts: Sequence[str], *, what: str = "posts", err: TextIO | None = None,
                 batch_size: int = BATCH_SIZE, progress_every: int = PROGRESS_EVERY) -> list[Any]:
    """``classifier.classify_batch`` over ``texts`` in batches, with progress on ``err`` for long runs."""
    err = err or sys.stderr
    results: list[Any] = []
    total = len(texts)
    next_report = progress_every
    for start in range(0, total, batch_size):
        chunk = list(texts[start:start + batch_size])
        got = list(classifier.classify_batch(chunk))
        if len(got) != len(chunk):
            raise RuntimeError(f"the classifier returned {len(got)} results for {len(chunk)} texts")
        results.extend(got)
        if total > progress_every and (len(results) >= next_report or len(results) == total):
            print(f"socialhub eval: classified {len(results):,}/{total:,} {what}", file=err, flush=True)
            while next_report <= len(results):
                next_report += progress_every
    return results


def _load_default_classifier() -> Any:
    from socialhub.classify import load_classifier

    return load_classifier()


def _classifier_line(classifier: Any, results: Sequence[Any]) -> str:
    first = results[0] if results else None
    lex = getattr(first, "lexicon_version", None)
    model = getattr(first, "model_version", None)
    return (f"classifier {getattr(classifier, 'version', '?')} (lexicon {lex or '?'}, "
            f"model {model or 'none: rules only'})")


def _quote(text: str, width: int | None = TEXT_WIDTH) -> str:
    """``text`` as a JSON string, on one line cut to ``width`` (None: whole), escaped where not valid UTF-8."""
    if width is not None:
        text = realdata.one_line(text, width)
    quoted = json.dumps(text, ensure_ascii=False)
    try:
        quoted.encode("utf-8")
    except UnicodeEncodeError:          # a lone surrogate: print it escaped rather than crash the report
        quoted = json.dumps(text)
    return quoted


def _top_scores(res: Any) -> str:
    if result_error(res):
        return f"classifier error: {result_error(res)}"
    return " ".join(f"{_short(c)}={res.scores.get(c, 0):.2f}" for c in CATEGORIES)


def _slice_table(rows: Sequence[SliceRate], *, smoothed: bool = False) -> list[str]:
    head = f"  {'slice':<22} {'posts':>6} {'flagged':>8} {'FPR':>7} {'95% Wilson':>16}"
    if smoothed:
        head += f" {'smoothed':>9} {'in ratio':>9}"
    head += f" {'errors':>7}"
    lines = [head]
    for s in rows:
        lo, hi = s.interval
        row = f"  {s.name:<22} {s.n:>6d} {s.flagged:>8d} {s.fpr:>7.3f} {f'[{lo:.3f}, {hi:.3f}]':>16}"
        if smoothed:
            ratio = "overall" if not s.in_ratio else "yes" if s.n >= s.min_n else f"no (<{s.min_n})"
            row += f" {s.smoothed:>9.3f} {ratio:>9}"
        row += f" {s.errors:>7d}"
        lines.append(row)
    return lines


# --- labelled file ------------------------------------------------------------------------------------


def _labelled_section(path: str | Path, examples: list[Example], classifier: Any, err: TextIO,
                      max_errors: int | None) -> tuple[list[str], dict[str, Any], list[SliceRate]]:
    results = classify_all(classifier, [e.text for e in examples], what="labelled posts", err=err)
    pred = [predicted_labels(r) for r in results]
    m = compute_metrics([e.labels for e in examples], pred, [e.group for e in examples])
    title = f"socialhub eval {path}\n{_classifier_line(classifier, results)}"
    lines = [format_report(m, title=title, thresholds=getattr(classifier, "thresholds", None))]
    n_err = sum(1 for r in results if result_error(r))
    if n_err:
        lines.append(f"\nclassifier errors: {n_err} post(s) could not be classified (counted as not labelled)")
    lines.append("\n".join(_error_lines(examples, results, max_errors)))
    payload = {"file": str(path), "classifier_version": getattr(classifier, "version", None),
               "classifier_errors": n_err, **m.to_dict()}
    groups = []
    for name, g in m.groups.items():
        if name == "(no group)":
            continue
        s = SliceRate(f"group:{name}", min_n=MIN_SUITE_SLICE)
        s.n, s.flagged = int(g["posts"]), int(g["flagged"])
        groups.append(s)
    return lines, payload, groups


# --- functional suite ---------------------------------------------------------------------------------


def _suite_section(path: Path, cases: list[suite_mod.SuiteCase], classifier: Any, err: TextIO,
                   max_errors: int | None) -> tuple[list[str], dict[str, Any], list[SliceRate]]:
    results = classify_all(classifier, [c.text for c in cases], what="suite cases", err=err)
    pred = [predicted_labels(r) for r in results]
    errs = [result_error(r) is not None for r in results]
    rep = suite_mod.suite_report(cases, pred, errs)
    kinds = Counter(c.kind for c in cases)
    lines = [f"socialhub eval --suite {path}",
             _classifier_line(classifier, results),
             f"cases: {len(cases)} ({kinds['threat']} threat: pass when the target category is predicted; "
             f"{kinds['contrast']} contrast: pass when no label at all is predicted)", ""]
    lines.append(f"  {'functionality':<34} {'kind':<9} {'target':<18} {'n':>5} {'passed':>7} {'rate':>6}"
                 f" {'errors':>7}")
    for r in rep["functionalities"]:
        lines.append(f"  {r['functionality']:<34} {r['kind']:<9} {r['target'] or '-':<18} {r['n']:>5d} "
                     f"{r['passed']:>7d} {r['rate']:>6.3f} {r['errors']:>7d}")
    lines.append("")
    for kind in suite_mod.KINDS:
        o = rep["overall"][kind]
        lines.append(f"overall {kind} pass rate: {o['passed']}/{o['n']} = {o['rate']:.3f}"
                     + (f" ({o['errors']} classifier error(s), counted as not labelled)" if o["errors"] else ""))
    lines += [suite_mod.target_line(rep, "threat"), suite_mod.target_line(rep, "contrast"), ""]
    lines.append("false-positive rate of contrast cases by tag (a contrast case flagged with any label):")
    tag_slices = [SliceRate(d["slice"], d["n"], d["flagged"], d["errors"], min_n=MIN_SUITE_SLICE)
                  for d in rep["contrast_by_tag"].values()]
    lines += _slice_table(tag_slices) if tag_slices else ["  (no tagged contrast cases)"]
    if rep["threat_by_tag"]:
        lines += ["", "threat cases detected (target predicted) by tag:",
                  f"  {'tag':<22} {'cases':>6} {'detected':>9} {'rate':>7}"]
        for tag, d in rep["threat_by_tag"].items():
            lines.append(f"  {tag:<22} {d['n']:>6d} {d['detected']:>9d} {d['rate']:>7.3f}")
    by_id = {c.id: res for c, res in zip(cases, results, strict=True)}
    for kind, title in (("threat", "missed threat cases"), ("contrast", "flagged contrast cases")):
        failures = [f for f in rep["failures"] if f["kind"] == kind]
        shown = failures if max_errors is None else failures[:max_errors]
        lines += ["", f"failing {kind} cases ({title}): {len(failures)}"]
        for f in shown:
            what = (f"missed {f['target']}" if kind == "threat" else "flagged") + \
                f" (predicted: {','.join(f['predicted']) or 'none'})"
            tags = f" tags={','.join(f['tags'])}" if f["tags"] else ""
            lines.append(f"  line {f['line']} [{f['functionality']}] {what}{tags} | {_top_scores(by_id[f['id']])} | "
                         f"{_quote(f['text'])}")
        if len(shown) < len(failures):
            lines.append(f"  ... and {len(failures) - len(shown)} more (use --max-errors)")
    benign = [s for s in tag_slices if s.name.removeprefix("suite:") in slices.SUITE_BENIGN_TAGS]
    return lines, {"file": str(path), **rep}, benign


# --- real posts ------------------------------------------------------------------------------------------


def _real_section(folder: Path, part: str, posts: list[realdata.RealPost],
                  platform: list[realdata.PlatformPost] | None, platform_note: str | None, classifier: Any,
                  err: TextIO, max_errors: int | None) -> tuple[list[str], dict[str, Any], list[SliceRate]]:
    results = classify_all(classifier, [p.text for p in posts], what=f"real tweets ({part})", err=err)
    pred = [predicted_labels(r) for r in results]
    by_class = Counter(p.davidson_class for p in posts)
    rates = {name: SliceRate(name, min_n=MIN_REAL_SLICE, in_ratio=name != "real:all") for name in slices.REAL_SLICES}
    marker_counts: Counter[str] = Counter()
    flagged_rows: list[tuple[realdata.RealPost, Any, list[str], list[str], str]] = []
    per_cat: dict[str, Counter[str]] = {c: Counter() for c in CATEGORIES}
    other = {cls: SliceRate(cls, min_n=MIN_REAL_SLICE) for cls in ("offensive_language", "hate_speech")}
    n_err = 0
    for post, res, labels in zip(posts, results, pred, strict=True):
        is_err = result_error(res) is not None
        n_err += is_err
        for c in labels:
            per_cat[c][post.davidson_class] += 1
        if post.davidson_class != "neither":
            other[post.davidson_class].add(bool(labels), is_err)
            continue
        names, aae, mle = slices.real_slice_names(post.text)
        marker_counts.update(m.name for m in aae + mle)
        for name in names:
            rates[name].add(bool(labels), is_err)
        if labels:
            flagged_rows.append((post, res, labels, names, slices.explain(aae + mle)))
    neither = rates["real:all"]
    lines = [f"socialhub eval --real {folder} (part: {part})",
             _classifier_line(classifier, results),
             f"data: Davidson et al. 2017 tweets (MIT licence), {realdata.DAVIDSON_FILE}; split by sha256(id): "
             f"calibration {realdata.CALIBRATION_PERCENT}% / heldout {100 - realdata.CALIBRATION_PERCENT}%"
             + ("; the held-out part is never tuned on" if part == "heldout" else ""),
             f"tweets: {len(posts):,} ({by_class['neither']:,} neither, {by_class['offensive_language']:,} "
             f"offensive_language, {by_class['hate_speech']:,} hate_speech)"
             + (f"; {n_err} could not be classified (counted as not labelled)" if n_err else ""),
             "content warning: the tweets quoted below may contain slurs and profanity", "",
             "false-positive rate on everyday tweets (davidson_class = neither; none should get a label), by slice",
             "(dialect slices by conservative marker words, see socialhub/classify/slices.py):"]
    lines += _slice_table(list(rates.values()))
    if marker_counts:
        lines.append("  markers that put everyday tweets in real:aae / real:mle: "
                     + ", ".join(f"{k} {v}" for k, v in marker_counts.most_common()))
    shown = flagged_rows if max_errors is None else flagged_rows[:max_errors]
    lines += ["", f"flagged everyday tweets: {len(flagged_rows)} of {neither.n}"]
    for post, res, labels, names, why in shown:
        dialect = [n for n in names if n in ("real:aae", "real:mle")]
        lines.append(f"  {post.id} [{','.join(dialect) or 'no marker'}] labels={','.join(labels)} | "
                     f"{_top_scores(res)} | {_quote(post.text)}")
        if why:
            lines.append(f"      markers: {why}")
    if len(shown) < len(flagged_rows):
        lines.append(f"  ... and {len(flagged_rows) - len(shown)} more (use --max-errors)")
    lines += ["", "offensive / hate tweets: insults and profanity, not the hub's categories; the share flagged is",
              "REPORTED, not scored (a few may be real threats):"]
    lines.append(f"  {'davidson_class':<22} {'posts':>6} {'flagged':>8} {'share':>7} {'95% Wilson':>16}")
    for s in other.values():
        lo, hi = s.interval
        lines.append(f"  {s.name:<22} {s.n:>6d} {s.flagged:>8d} {s.fpr:>7.3f} {f'[{lo:.3f}, {hi:.3f}]':>16}")
    plat_results: list[Any] = []
    if platform is not None:
        plat_results = classify_all(classifier, [p.text for p in platform], what="platform posts", err=err)
        for res in plat_results:
            for c in predicted_labels(res):
                per_cat[c]["platform"] += 1
    cols = ["neither", "offensive_language", "hate_speech"] + (["platform"] if platform is not None else [])
    lines += ["", "what was flagged, per category (posts with that label):",
              f"  {'category':<18}" + "".join(f" {c:>19}" for c in cols)]
    for c in CATEGORIES:
        lines.append(f"  {c:<18}" + "".join(f" {per_cat[c][k]:>19d}" for k in cols))
    plat_payload: dict[str, Any] = {"skipped": platform_note}
    if platform is not None:
        plat_labels = [predicted_labels(r) for r in plat_results]
        flagged_p = [(p, r, lab) for p, r, lab in zip(platform, plat_results, plat_labels, strict=True) if lab]
        by_platform = Counter(p.platform for p in platform)
        share = len(flagged_p) / len(platform) if platform else 0.0
        lines += ["", f"real platform posts (unlabelled): {len(platform)} distinct texts from the recorded API "
                      f"responses ({', '.join(f'{k} {v}' for k, v in sorted(by_platform.items()))})",
                  f"  flagged: {len(flagged_p)} ({share:.3f}); caveat: these posts carry no labels, so a flagged "
                  "one is not necessarily a false positive: read them"]
        flagged_by_platform = Counter(p.platform for p, _r, _l in flagged_p)
        lines.append("  by platform: " + ", ".join(f"{k} {flagged_by_platform[k]}/{v}"
                                                   for k, v in sorted(by_platform.items())))
        # examples taken in turn from each platform, so a capped list is not all from the first file
        queues: dict[str, list[tuple[realdata.PlatformPost, Any, list[str]]]] = {}
        for row in flagged_p:
            queues.setdefault(row[0].platform, []).append(row)
        mixed = [q[i] for i in range(max((len(q) for q in queues.values()), default=0))
                 for q in queues.values() if i < len(q)]
        shown_p = mixed if max_errors is None else mixed[:max_errors]
        for p, r, lab in shown_p:
            lines.append(f"  {p.source} ({p.field}) labels={','.join(lab)} | {_top_scores(r)} | "
                         f"{_quote(p.text)}")
        if len(shown_p) < len(flagged_p):
            lines.append(f"  ... and {len(flagged_p) - len(shown_p)} more (use --max-errors)")
        plat_payload = {"posts": len(platform), "flagged": len(flagged_p), "share_flagged": share,
                        "by_platform": {k: {"posts": v, "flagged": flagged_by_platform[k]}
                                        for k, v in sorted(by_platform.items())},
                        "errors": sum(1 for r in plat_results if result_error(r)),
                        "flagged_posts": [{"source": p.source, "field": p.field, "labels": lab}
                                          for p, _r, lab in flagged_p]}
    elif platform_note:
        lines += ["", f"real platform posts: skipped ({platform_note})"]
    payload = {
        "datasets_dir": str(folder), "file": str(realdata.DAVIDSON_FILE), "part": part,
        "classifier_version": getattr(classifier, "version", None),
        "tweets": dict(by_class), "classifier_errors": n_err,
        "neither_by_slice": {s.name: s.to_dict() for s in rates.values()},
        "markers": dict(marker_counts.most_common()),
        # ids only: the JSON never carries the texts of the real posts, so it may be kept anywhere
        "flagged_neither": [{"id": p.id, "labels": lab, "slices": names} for p, _r, lab, names, _w in flagged_rows],
        "offensive_and_hate": {s.name: s.to_dict() for s in other.values()},
        "flagged_by_category": {c: dict(per_cat[c]) for c in CATEGORIES},
        "platform_posts": plat_payload,
    }
    return lines, payload, list(rates.values())


# --- fairness -------------------------------------------------------------------------------------------


def _fairness_section(benign: list[SliceRate]) -> tuple[list[str], dict[str, Any]]:
    f = slices.fairness(benign)
    mins = sorted({(s.name.split(":", 1)[0], s.min_n) for s in benign})
    rule = ", ".join(f"{src} slices >= {n} posts" for src, n in mins)
    payload = {**f, "smoothing": "(flagged + 1) / (posts + 2)",
               "min_posts": {src: n for src, n in mins}, "slices": [s.to_dict() for s in benign]}
    if not benign:
        return ["fairness: no benign slices in this run"], payload
    lines = ["fairness: false-positive rate on every benign slice of this run (raw FPR with 95% Wilson interval;",
             "the ratio uses add-one smoothed rates (flagged+1)/(n+2), so a slice with no false positive does not",
             f"make it infinite; only slices with enough posts enter it: {rule})"]
    lines += _slice_table(benign, smoothed=True)
    by_name = {s.name: s for s in benign}
    if f["ratio"] is None:
        lines.append(f"worst-to-best benign slice ratio (smoothed; {rule}): not computed "
                     f"({len(f['eligible'])} slice(s) large enough, 2 needed)")
    else:
        w, b = by_name[f["worst"]], by_name[f["best"]]
        lines.append(f"worst-to-best benign slice ratio (smoothed; {rule}): {f['ratio']:.2f} "
                     f"(worst {w.name}: FPR {w.fpr:.3f}, smoothed {w.smoothed:.3f}; "
                     f"best {b.name}: FPR {b.fpr:.3f}, smoothed {b.smoothed:.3f})")
        for note in slices.ratio_notes(w, b):
            lines.append(f"  {note}")
    sources = sorted({s.name.split(":", 1)[0] for s in benign})
    per_source: dict[str, Any] = {}
    if len(sources) > 1:
        lines.append("  the combined ratio compares slices of different sources (real tweets, written suite cases, "
                     "synthetic posts),")
        lines.append("  so it mixes dialect with source; within each source:")
        for src in sources:
            fs = slices.fairness([s for s in benign if s.name.startswith(src + ":")])
            per_source[src] = fs
            if fs["ratio"] is None:
                lines.append(f"    {src}: not computed ({len(fs['eligible'])} slice(s) large enough)")
            else:
                lines.append(f"    {src}: {fs['ratio']:.2f} (worst {fs['worst']} {by_name[fs['worst']].fpr:.3f}, "
                             f"best {fs['best']} {by_name[fs['best']].fpr:.3f})")
    payload["by_source"] = per_source
    if f["too_small"]:
        note = (" (the held-out part is 30% of the tweets; --part all gives more, calibration included)"
                if any(n.startswith("real:") for n in f["too_small"]) else "")
        lines.append(f"  too few posts for the ratio: {', '.join(f['too_small'])}{note}")
    if any(not s.in_ratio for s in benign):
        lines.append("  'overall' slices (real:all) lie between their own sub-slices: listed, not in the ratio")
    return lines, payload


# --- the whole run ---------------------------------------------------------------------------------------


def run_evaluation(file: str | Path | None = None, *, suite: bool | str | Path = False,
                   real: bool | str | Path = False, part: str = "heldout", fixtures: str | Path | None = None,
                   platform: bool = True, classifier: Any = None, out: TextIO | None = None,
                   err: TextIO | None = None, max_errors: int | None = None, json_out: str | Path | None = None,
                   fairness_only: bool = False) -> int:
    """Evaluate on a labelled ``file``, the functional ``suite`` and/or the ``real`` data; print the report.

    ``suite``/``real``: False to skip, True for the default location, or a path. ``fixtures``:
    the recorded platform responses for the unlabelled real-post slice (default: the setting; when
    not given and absent, the slice is skipped with a note). Returns the exit code (module doc).
    """
    out = out or sys.stdout
    err = err or sys.stderr

    def fail(code: int, msg: str) -> int:
        print(f"socialhub eval: error: {msg}", file=err)
        return code

    if file is None and not suite and not real:
        return fail(2, "nothing to evaluate: give a labelled FILE, --suite [FILE] and/or --real [DIR]")
    # 1. read every input first: a missing or malformed one stops the run before anything is printed
    examples: list[Example] = []
    if file is not None:
        if not Path(file).exists():
            return fail(2, f"{file}: no such file")
        try:
            examples = read_labelled(file)
        except DatasetError as exc:
            return fail(1, str(exc))
        if not examples:
            return fail(2, f"{file}: no posts")
    suite_path: Path | None = None
    cases: list[suite_mod.SuiteCase] = []
    if suite:
        suite_path = suite_mod.DEFAULT_SUITE if suite is True else Path(suite)
        try:
            cases = suite_mod.read_suite(suite_path)
        except suite_mod.SuiteMissing as exc:
            return fail(2, str(exc))
        except suite_mod.SuiteError as exc:
            return fail(1, str(exc))
        if not cases:
            return fail(2, f"{suite_path}: no cases")
    folder: Path | None = None
    posts: list[realdata.RealPost] = []
    plat: list[realdata.PlatformPost] | None = None
    plat_note: str | None = None
    if real:
        folder = realdata.datasets_dir(None if real is True else real)
        try:
            posts = realdata.davidson(folder, part)
        except realdata.RealDataMissing as exc:
            return fail(2, str(exc))
        except realdata.RealDataMalformed as exc:
            return fail(1, str(exc))
        if not posts:
            return fail(2, f"{folder / realdata.DAVIDSON_FILE}: no tweets in the {part} part")
        if not platform:
            plat_note = "--no-platform"
        else:
            try:
                plat = realdata.platform_posts(fixtures)
            except realdata.RealDataMissing as exc:
                if fixtures:
                    return fail(2, str(exc))
                plat_note = f"{exc}"
    # 2. classify and report
    classifier = classifier if classifier is not None else _load_default_classifier()
    sections: list[list[str]] = []
    payload: dict[str, Any] = {}
    benign: list[SliceRate] = []
    if examples:
        lines, data, groups = _labelled_section(file or "", examples, classifier, err, max_errors)
        sections.append(lines)
        payload.update(data)
        benign += groups
    if suite_path is not None:
        lines, data, tags = _suite_section(suite_path, cases, classifier, err, max_errors)
        sections.append(lines)
        payload["suite"] = data
        benign += tags
    if folder is not None:
        lines, data, real_slices = _real_section(folder, part, posts, plat, plat_note, classifier, err, max_errors)
        sections.append(lines)
        payload["real"] = data
        benign = real_slices + benign
    fair_lines, fair_payload = _fairness_section(benign)
    payload["fairness"] = fair_payload
    if not fairness_only:
        for lines in sections:
            print("\n".join(lines), file=out)
            print("", file=out)
    print("\n".join(fair_lines), file=out)
    if json_out:
        Path(json_out).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


def run_eval(path: str | Path, *, classifier: Any = None, out: TextIO | None = None, err: TextIO | None = None,
             max_errors: int | None = None, json_out: str | Path | None = None) -> int:
    """Evaluate ``classifier`` (default: ``load_classifier()``) on the labelled file ``path``.

    Returns the exit code: 0 done, 1 malformed file (message on ``err`` naming the line),
    2 missing file or no posts. The report goes to ``out``; ``json_out`` also writes the metrics as JSON.
    """
    return run_evaluation(path, classifier=classifier, out=out, err=err, max_errors=max_errors, json_out=json_out)


HELP_EPILOG = f"""\
where the data come from:
  FILE       labelled JSON Lines written for the project ({{"text", "labels", "group"}} per line), e.g.
             data/labelled/test.jsonl (the held-out split: never trained or tuned on).
  --suite    the functional test suite, default data/functional/suite.jsonl: one case per line with
             "functionality", "kind" (threat|contrast), "target", "text", "tags". A threat case passes
             when its target is predicted, a contrast case when no label at all is predicted.
  --real     real tweets of Davidson et al. 2017 (MIT licence) in DIR/davidson2017/train.jsonl, read
             where they are (never copied): DIR, else ${realdata.DATASETS_ENV}, else ../shared/datasets
             beside the project. Split by sha256 of the tweet id: calibration 70% (may be tuned on),
             heldout 30% (default; never tuned on, only reported). "neither" tweets are everyday posts
             (a label is a false positive); offensive/hate tweets are reported separately.
             Also the real (unlabelled) posts in the recorded platform API responses: --fixtures DIR,
             else ${realdata.FIXTURES_ENV}, else ../shared/fixtures (skipped with a note if absent).
  fairness   printed last for every run: the false-positive rate of every benign slice (real:* dialect
             slices, suite:TAG contrast cases, group:NAME of the labelled file) and the worst-to-best
             ratio of add-one smoothed rates (flagged+1)/(n+2) over slices with >= {MIN_REAL_SLICE} real posts
             or >= {MIN_SUITE_SLICE} suite cases / labelled posts.

exit status: 0 the evaluation ran (whatever the figures); 2 a file or folder is missing (the message
says what to pass or set) or has no posts; 1 a file is malformed (the message names the line).
--json OUT carries ids, never the texts of the real posts. See docs/detection.md.
"""


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``socialhub eval`` and ``python -m socialhub.classify.evaluate`` (one definition)."""
    p.add_argument("file", nargs="?", help="labelled JSONL, e.g. data/labelled/test.jsonl (optional with "
                                           "--suite/--real)")
    p.add_argument("--suite", nargs="?", const=True, default=False, metavar="FILE",
                   help="also run the functional suite (default FILE: data/functional/suite.jsonl); "
                        "put FILE before the option or write --suite=FILE")
    p.add_argument("--real", nargs="?", const=True, default=False, metavar="DIR",
                   help=f"also measure on real tweets (default DIR: ${realdata.DATASETS_ENV}, else "
                        "../shared/datasets)")
    p.add_argument("--part", choices=realdata.PARTS, default="heldout",
                   help="which part of the real tweets (default: heldout; calibration may be tuned on)")
    p.add_argument("--fixtures", metavar="DIR",
                   help=f"recorded platform responses for the unlabelled real-post slice (default: "
                        f"${realdata.FIXTURES_ENV}, else ../shared/fixtures)")
    p.add_argument("--no-platform", action="store_true", help="skip the recorded platform posts")
    p.add_argument("--fairness-only", action="store_true",
                   help="print only the fairness section (all benign slices of the sources given)")
    p.add_argument("--lexicon", help="lexicon YAML (default: the packaged one)")
    p.add_argument("--thresholds", help="thresholds YAML (default: the packaged one)")
    p.add_argument("--model", help="model artifact directory (default: the packaged classify/model/)")
    p.add_argument("--rules-only", action="store_true", help="evaluate the rule classifier alone")
    p.add_argument("--max-errors", type=int, default=None, metavar="N",
                   help="list at most N errors / failing cases / flagged posts per list (default: all)")
    p.add_argument("--json", dest="json_out", metavar="OUT", help="also write every figure as JSON to OUT")


def evaluate_from_args(args: argparse.Namespace) -> int:
    """Run ``run_evaluation`` for parsed ``add_eval_arguments`` options (the classifier as the options say)."""
    from socialhub.classify import load_classifier

    try:
        model_dir: Any = False if args.rules_only else args.model
        clf = None
        if args.lexicon or args.thresholds or model_dir is not None:
            clf = load_classifier(args.lexicon, args.thresholds, model_dir=model_dir)
        return run_evaluation(args.file, suite=args.suite, real=args.real, part=args.part, fixtures=args.fixtures,
                              platform=not args.no_platform, classifier=clf, max_errors=args.max_errors,
                              json_out=args.json_out, fairness_only=args.fairness_only)
    except SocialhubError as exc:
        print(f"socialhub eval: error: {exc}", file=sys.stderr)
        return 1


DESCRIPTION = """\
Evaluate the classifier on a labelled JSONL file (precision/recall/F1 per category, confusion,
false-positive rates by group, the errors), on the functional suite (--suite: pass rate per
functionality) and/or on real tweets (--real: false-positive rate per dialect slice), then the
fairness figure over every benign slice. Any combination in one run.

examples:
  socialhub eval data/labelled/test.jsonl --max-errors 20
  socialhub eval --suite --max-errors 20
  socialhub eval --real ../shared/datasets --max-errors 20
  socialhub eval data/labelled/test.jsonl --suite --real --fairness-only
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m socialhub.classify.evaluate", description=DESCRIPTION,
                                epilog=HELP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_eval_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    return evaluate_from_args(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
