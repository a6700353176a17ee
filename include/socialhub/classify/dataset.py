"""Labelled posts and officers' feedback as JSON Lines: reading, validating, merging.

Why one module: ``socialhub eval`` and the training command must agree on what a labelled
file is, and both must refuse a malformed file naming the line, rather than evaluate or train
on half of it.

Labelled file (``data/labelled/*.jsonl``), one JSON object per line::

    {"text": "...", "labels": ["weapon", ...]}        # labels: a list of categories, [] for none

Optional fields are kept and ignored by the metrics, except ``group`` (a string such as
``music`` or ``benign_slang``), which the evaluation uses to report false-positive rates per
kind of content, and ``id``. Blank lines are skipped.

Feedback file (exported officers' review decisions), one JSON object per line::

    {"text": "...", "labels": ["weapon"], "decision": "true_positive" | "false_positive",
     "corrected_labels": [...],                        # optional: the officer's full answer
     "alert_id": "...", "reviewed_at": "...", "classifier_version": "..."}   # optional, kept

``labels`` are the categories the alert was raised for. Without ``corrected_labels`` a
``true_positive`` confirms them and a ``false_positive`` means the post deserved no label at
all; ``corrected_labels`` (e.g. "right to flag, wrong category") overrides both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socialhub.models import CATEGORIES

__all__ = [
    "DECISIONS",
    "DatasetError",
    "Example",
    "feedback_examples",
    "json_object",
    "merge_feedback",
    "read_feedback",
    "read_labelled",
]

DECISIONS = ("true_positive", "false_positive")


class DatasetError(ValueError):
    """A labelled or feedback file is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled post. ``line`` is its 1-based line number in ``source``."""

    text: str
    labels: tuple[str, ...]
    group: str | None = None
    id: str | None = None
    source: str = ""
    line: int = 0
    weight: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as fh:
            yield from enumerate(fh, 1)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _labels(value: Any, where: str, name: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise DatasetError(f"{where}: `{name}` must be a list of categories (use [] for none), "
                           f"got {type(value).__name__}")
    bad = [v for v in value if not isinstance(v, str) or v not in CATEGORIES]
    if bad:
        raise DatasetError(f"{where}: unknown categor{'y' if len(bad) == 1 else 'ies'} "
                           f"{', '.join(repr(b) for b in bad)} in `{name}` (known: {', '.join(CATEGORIES)})")
    if len(set(value)) != len(value):
        raise DatasetError(f"{where}: `{name}` lists a category twice")
    return tuple(c for c in CATEGORIES if c in value)     # canonical order


def json_object(line: str, where: str, error: type[Exception] = ValueError) -> dict[str, Any]:
    """One JSON Lines record as a dict, or ``error`` naming ``where`` (file and line).

    Shared by every reader of labelled data (this module, the functional suite, the real
    tweets) so that they all refuse a bad line with the same words.
    """
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise error(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise error(f"{where}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _object(line: str, where: str) -> dict[str, Any]:
    obj = json_object(line, where, DatasetError)
    text = obj.get("text")
    if not isinstance(text, str):
        raise DatasetError(f"{where}: `text` must be a string" + ("" if "text" in obj else " (missing)"))
    return obj


def read_labelled(path: str | Path) -> list[Example]:
    """Every example in a labelled JSONL file; the first malformed line raises ``DatasetError``."""
    p = Path(path)
    out: list[Example] = []
    for n, line in _lines(p):
        if not line.strip():
            continue
        where = f"{p}: line {n}"
        obj = _object(line, where)
        if "labels" not in obj:
            raise DatasetError(f"{where}: `labels` is missing (use [] for a post with no label)")
        labels = _labels(obj["labels"], where, "labels")
        group = obj.get("group")
        if group is not None and not isinstance(group, str):
            raise DatasetError(f"{where}: `group` must be a string")
        ident = obj.get("id")
        extra = {k: v for k, v in obj.items() if k not in ("text", "labels", "group", "id")}
        out.append(Example(obj["text"], labels, group, None if ident is None else str(ident), str(p), n, 1.0, extra))
    return out


def read_feedback(path: str | Path) -> list[dict[str, Any]]:
    """Officers' decisions, validated; each dict gains ``final_labels`` (the labels to train on)."""
    p = Path(path)
    out: list[dict[str, Any]] = []
    for n, line in _lines(p):
        if not line.strip():
            continue
        where = f"{p}: line {n}"
        obj = _object(line, where)
        decision = obj.get("decision")
        if decision not in DECISIONS:
            raise DatasetError(f"{where}: `decision` must be one of {', '.join(DECISIONS)}, got {decision!r}")
        flagged = _labels(obj.get("labels", []), where, "labels")
        if "corrected_labels" in obj and obj["corrected_labels"] is not None:
            final = _labels(obj["corrected_labels"], where, "corrected_labels")
        else:
            final = flagged if decision == "true_positive" else ()
        out.append(dict(obj, final_labels=list(final), line=n, source=str(p)))
    return out


def feedback_examples(records: Iterable[dict[str, Any]], *, weight: float = 2.0) -> list[Example]:
    """Feedback records as training examples (weighted up: they are real posts, reviewed)."""
    return [Example(r["text"], tuple(r["final_labels"]), "feedback", r.get("alert_id"), r["source"], r["line"], weight)
            for r in records]


def merge_feedback(train: list[Example], feedback: list[Example]) -> list[Example]:
    """Training examples plus feedback; where a text appears in both, the latest feedback wins."""
    def key(text: str) -> str:
        return " ".join(text.casefold().split())

    latest: dict[str, Example] = {}
    for ex in feedback:
        latest[key(ex.text)] = ex
    kept = [ex for ex in train if key(ex.text) not in latest]
    return kept + list(latest.values())
