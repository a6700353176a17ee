"""The functional test suite (``data/functional/suite.jsonl``): reading it and scoring the classifier on it.

One JSON object per line::

    {"id": "...", "functionality": "threat_direct", "kind": "threat" | "contrast",
     "target": "violence_threat" | null, "labels": [...], "text": "...", "tags": ["aae", ...]}

Pass rule (``case_passes``): a ``threat`` case passes when its ``target`` is among the predicted
labels; a ``contrast`` case passes when NO label is predicted at all. A text the classifier could
not classify (its result carries an ``error``) counts as "not labelled" and is also counted
separately as an error, so the report says how many passes or failures came from errors.

``suite_report`` gives the pass rate per functionality, the overall rate per kind, the failing
cases, the false-positive rate of contrast cases per tag (``suite:TAG`` slices for the fairness
figure) and the share of threat cases detected per tag, and the targets: every threat
functionality at least ``THREAT_TARGET`` (0.90), every contrast functionality at least
``CONTRAST_TARGET`` (0.95).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import socialhub
from socialhub.classify.dataset import json_object
from socialhub.classify.slices import MIN_SUITE_SLICE, SliceRate
from socialhub.errors import SocialhubError
from socialhub.models import CATEGORIES

__all__ = [
    "CONTRAST_TARGET",
    "DEFAULT_SUITE",
    "KINDS",
    "THREAT_TARGET",
    "SuiteCase",
    "SuiteError",
    "SuiteMissing",
    "case_passes",
    "read_suite",
    "suite_report",
]

KINDS = ("threat", "contrast")
THREAT_TARGET = 0.90
CONTRAST_TARGET = 0.95
DEFAULT_SUITE = Path(socialhub.__file__).resolve().parents[2] / "data" / "functional" / "suite.jsonl"


class SuiteError(SocialhubError):
    """The suite file is malformed; the message names the file and line."""


class SuiteMissing(SuiteError):
    """The suite file does not exist."""


@dataclass(frozen=True, slots=True)
class SuiteCase:
    id: str
    functionality: str
    kind: str
    target: str | None
    labels: tuple[str, ...]
    text: str
    tags: tuple[str, ...]
    line: int = 0


def read_suite(path: str | Path) -> list[SuiteCase]:
    """Every case of the suite file; raises ``SuiteMissing`` or ``SuiteError`` (naming the line)."""
    p = Path(path)
    if not p.is_file():
        raise SuiteMissing(f"{p}: no such file",
                           hint="give the suite as --suite FILE; the default is data/functional/suite.jsonl in the project")
    cases: list[SuiteCase] = []
    seen: dict[str, int] = {}
    try:
        # split on "\n" only: str.splitlines would also split inside a text on U+2028, U+0085, ...
        lines = p.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        case = _case(line, f"{p}: line {n}", n)
        if case.id in seen:
            raise SuiteError(f"{p}: line {n}: id {case.id!r} already on line {seen[case.id]}")
        seen[case.id] = n
        cases.append(case)
    return cases


def _case(line: str, where: str, n: int) -> SuiteCase:
    obj = json_object(line, where, SuiteError)
    for key in ("id", "functionality", "text"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise SuiteError(f"{where}: `{key}` must be a non-empty string" + ("" if key in obj else " (missing)"))
    kind = obj.get("kind")
    if kind not in KINDS:
        raise SuiteError(f"{where}: `kind` must be one of {', '.join(KINDS)}, got {kind!r}")
    target = obj.get("target")
    if target is not None and target not in CATEGORIES:
        raise SuiteError(f"{where}: `target` must be a category or null, got {target!r} "
                         f"(known: {', '.join(CATEGORIES)})")
    if kind == "threat" and target is None:
        raise SuiteError(f"{where}: a threat case needs a `target` category")
    labels = obj.get("labels", [])
    if not isinstance(labels, list) or any(c not in CATEGORIES for c in labels):
        raise SuiteError(f"{where}: `labels` must be a list of categories (known: {', '.join(CATEGORIES)})")
    tags = obj.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise SuiteError(f"{where}: `tags` must be a list of strings")
    return SuiteCase(obj["id"], obj["functionality"], kind, target, tuple(labels), obj["text"], tuple(tags), n)


def case_passes(case: SuiteCase, predicted: Sequence[str]) -> bool:
    """Threat: the target is predicted. Contrast: nothing is predicted."""
    if case.kind == "threat":
        return case.target in predicted
    return not predicted


def _rate(passed: int, n: int) -> float:
    return passed / n if n else 0.0


def suite_report(cases: Sequence[SuiteCase], predicted: Sequence[Sequence[str]],
                 errors: Sequence[bool] | None = None, *, min_slice: int = MIN_SUITE_SLICE) -> dict[str, Any]:
    """Figures for ``cases`` given the predicted labels (an errored case must come with ``[]``).

    Returns a JSON-able dict: ``functionalities`` (threat first, then contrast, each by name),
    ``overall`` per kind, ``failures`` (every failing case, in file order), ``contrast_by_tag``
    (``SliceRate.to_dict()`` per tag), ``threat_by_tag`` and ``targets``.
    """
    if len(cases) != len(predicted):
        raise ValueError("cases and predicted differ in length")
    errs = list(errors) if errors is not None else [False] * len(cases)
    funcs: dict[tuple[str, str], dict[str, Any]] = {}
    overall: dict[str, dict[str, Any]] = {k: {"n": 0, "passed": 0, "errors": 0} for k in KINDS}
    failures: list[dict[str, Any]] = []
    contrast_tags: dict[str, SliceRate] = {}
    threat_tags: dict[str, dict[str, int]] = {}
    for case, pred, err in zip(cases, predicted, errs, strict=True):
        ok = case_passes(case, pred)
        f = funcs.setdefault((case.kind, case.functionality),
                             {"functionality": case.functionality, "kind": case.kind, "targets": set(),
                              "n": 0, "passed": 0, "errors": 0})
        f["n"] += 1
        f["passed"] += ok
        f["errors"] += bool(err)
        if case.target:
            f["targets"].add(case.target)
        o = overall[case.kind]
        o["n"] += 1
        o["passed"] += ok
        o["errors"] += bool(err)
        if not ok:
            failures.append({"id": case.id, "line": case.line, "functionality": case.functionality,
                             "kind": case.kind, "target": case.target, "predicted": list(pred),
                             "error": bool(err), "tags": list(case.tags), "text": case.text})
        for tag in case.tags:
            if case.kind == "contrast":
                contrast_tags.setdefault(tag, SliceRate(f"suite:{tag}", min_n=min_slice)).add(bool(pred), bool(err))
            else:
                t = threat_tags.setdefault(tag, {"n": 0, "detected": 0})
                t["n"] += 1
                t["detected"] += ok
    rows = []
    for _key, f in sorted(funcs.items(), key=lambda kv: (KINDS.index(kv[0][0]), kv[0][1])):
        targets = sorted(f.pop("targets"), key=CATEGORIES.index)
        rows.append(dict(f, target=",".join(targets) or None, rate=_rate(f["passed"], f["n"])))
    for o in overall.values():
        o["rate"] = _rate(o["passed"], o["n"])
    targets_out = {}
    for kind, goal in (("threat", THREAT_TARGET), ("contrast", CONTRAST_TARGET)):
        mine = [r for r in rows if r["kind"] == kind]
        worst = min(mine, key=lambda r: (r["rate"], r["functionality"])) if mine else None
        targets_out[kind] = {"goal": goal, "met": bool(mine) and all(r["rate"] >= goal for r in mine),
                             "worst": worst["functionality"] if worst else None,
                             "worst_rate": worst["rate"] if worst else None, "functionalities": len(mine)}
    return {
        "cases": len(cases),
        "errors": sum(bool(e) for e in errs),
        "functionalities": rows,
        "overall": overall,
        "failures": failures,
        "contrast_by_tag": {t: s.to_dict() for t, s in sorted(contrast_tags.items())},
        "threat_by_tag": {t: dict(v, rate=_rate(v["detected"], v["n"])) for t, v in sorted(threat_tags.items())},
        "targets": targets_out,
    }


def target_line(report: dict[str, Any], kind: str) -> str:
    """``every threat functionality >= 0.90: yes (worst: NAME 0.93)``."""
    t = report["targets"][kind]
    if not t["functionalities"]:
        return f"every {kind} functionality >= {t['goal']:.2f}: no ({kind} cases: none)"
    return (f"every {kind} functionality >= {t['goal']:.2f}: {'yes' if t['met'] else 'no'} "
            f"(worst: {t['worst']} {t['worst_rate']:.2f})")
