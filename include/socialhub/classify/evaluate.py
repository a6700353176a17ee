"""Evaluate the detection layer on a labelled JSON Lines file: ``socialhub eval LABELLED.jsonl``.

    python -m socialhub.classify.evaluate data/labelled/test.jsonl [--rules-only] [--max-errors N] [--json OUT]

Prints, for the classifier's labels against the file's labels:

* precision, recall, F1, support and counts per category, then micro- and macro-averaged,
  and the same for "any label" (flagged or not, which is what puts a post in the queue);
* the confusion between categories (defined below);
* the false-positive rate per ``group`` of posts with no true label (news, music,
  benign_slang, ...), which is how benign slang and music promotion are checked;
* the errors: every post with a missed or a wrong label, with its scores and evidence.

Exit status: 0 when the evaluation ran, 1 when the file is malformed (the message names the line;
nothing is printed to ``out``), 2 when the file has no posts.

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

from socialhub.classify.dataset import DatasetError, Example, read_labelled
from socialhub.errors import SocialhubError
from socialhub.models import CATEGORIES

__all__ = ["Metrics", "compute_metrics", "format_report", "main", "run_eval"]

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
    errors = [(ex, res) for ex, res in zip(examples, results, strict=True) if set(ex.labels) != set(res.labels)]
    n_fn = sum(1 for ex, res in errors if set(ex.labels) - set(res.labels))
    n_fp = sum(1 for ex, res in errors if set(res.labels) - set(ex.labels))
    lines = ["", f"errors: {len(errors)} post(s) ({n_fn} with a missed label, {n_fp} with a wrong label)"]
    shown = errors if max_errors is None else errors[:max_errors]
    for ex, res in shown:
        missed = [c for c in CATEGORIES if c in set(ex.labels) - set(res.labels)]
        wrong = [c for c in CATEGORIES if c in set(res.labels) - set(ex.labels)]
        kinds = ([f"missed {','.join(map(_short, missed))}"] if missed else []) + (
            [f"wrong {','.join(map(_short, wrong))}"] if wrong else [])
        scores = " ".join(f"{_short(c)}={res.scores.get(c, 0):.2f}" for c in CATEGORIES)
        where = f"line {ex.line}" + (f" [{ex.group}]" if ex.group else "")
        lines.append(f"{where}: {'; '.join(kinds)} | {scores} | {json.dumps(ex.text, ensure_ascii=False)}")
        ev = [f"{r['rule']}:{json.dumps(r['text'], ensure_ascii=False)}({r['effect']})" for r in res.reasons][:6]
        if ev:
            lines.append(f"    evidence: {', '.join(ev)}")
    if len(shown) < len(errors):
        lines.append(f"... and {len(errors) - len(shown)} more (use --max-errors)")
    return lines


def run_eval(path: str | Path, *, classifier: Any = None, out: TextIO | None = None, err: TextIO | None = None,
             max_errors: int | None = None, json_out: str | Path | None = None) -> int:
    """Evaluate ``classifier`` (default: ``load_classifier()``) on the labelled file ``path``.

    Returns the exit code: 0 done, 1 malformed file (message on ``err`` naming the line),
    2 no posts. The report goes to ``out``; ``json_out`` also writes the metrics as JSON.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        examples = read_labelled(path)
    except DatasetError as exc:
        print(f"socialhub eval: error: {exc}", file=err)
        return 1
    if not examples:
        print(f"socialhub eval: error: {path}: no posts", file=err)
        return 2
    if classifier is None:
        from socialhub.classify import load_classifier

        classifier = load_classifier()
    results = classifier.classify_batch([e.text for e in examples])
    m = compute_metrics([e.labels for e in examples], [r.labels for r in results], [e.group for e in examples])
    first = results[0]
    title = (f"socialhub eval {path}\nclassifier {classifier.version} (lexicon {first.lexicon_version}, "
             f"model {first.model_version or 'none: rules only'})")
    print(format_report(m, title=title, thresholds=getattr(classifier, "thresholds", None)), file=out)
    print("\n".join(_error_lines(examples, results, max_errors)), file=out)
    if json_out:
        payload = {"file": str(path), "classifier_version": classifier.version, **m.to_dict()}
        Path(json_out).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m socialhub.classify.evaluate",
        description="Evaluate the classifier on labelled JSON Lines ({\"text\": ..., \"labels\": [...]} per line): "
                    "precision/recall/F1 per category and micro-averaged, confusion between categories, "
                    "false-positive rates by group, and the errors. Exits 1 on a malformed file.")
    p.add_argument("file", help="labelled JSONL file")
    p.add_argument("--lexicon", help="lexicon YAML (default: the packaged one)")
    p.add_argument("--thresholds", help="thresholds YAML (default: the packaged one)")
    p.add_argument("--model", help="model artifact directory (default: the packaged model/)")
    p.add_argument("--rules-only", action="store_true", help="evaluate the rule classifier alone")
    p.add_argument("--max-errors", type=int, default=None, help="list at most N errors (default: all)")
    p.add_argument("--json", dest="json_out", metavar="OUT", help="also write the metrics as JSON to OUT")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from socialhub.classify import load_classifier

    try:
        model_dir: Any = False if args.rules_only else args.model
        clf = None
        if args.lexicon or args.thresholds or model_dir is not None:
            clf = load_classifier(args.lexicon, args.thresholds, model_dir=model_dir)
        return run_eval(args.file, classifier=clf, max_errors=args.max_errors, json_out=args.json_out)
    except SocialhubError as exc:
        print(f"socialhub eval: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
