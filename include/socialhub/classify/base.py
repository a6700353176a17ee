"""What every classifier returns, and the interface a classifier implements.

Why a separate module: the rule classifier is the first of several (a learned model comes
next, then perhaps an ensemble). Downstream stages (storage, alerts, the review UI) depend only
on ``Classification`` and ``Classifier``, never on how a score was produced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, cast, runtime_checkable

from socialhub.models import CATEGORIES

__all__ = ["Classification", "Classifier", "Reason"]


class Reason(TypedDict):
    """One piece of evidence behind a score, quoting the ORIGINAL post text.

    ``effect`` is ``"match"`` for a lexicon hit (``weight`` is the entry's weight) or
    ``"context"`` for a context cue that lowered this category (``weight`` is its multiplier).
    ``text == post_text[start:end]`` always holds.
    """

    category: str
    rule: str
    term: str
    start: int
    end: int
    text: str
    weight: float
    effect: Literal["match", "context"]


@dataclass(slots=True)
class Classification:
    """Scores for every category, the labels at or above threshold, and the evidence.

    Scores are advisory: they order the officers' review queue, they decide nothing.
    """

    scores: dict[str, float]
    labels: list[str]
    reasons: list[Reason]
    classifier_version: str
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (copies, so the caller may mutate it freely)."""
        return {
            "classifier_version": self.classifier_version,
            "scores": {c: self.scores[c] for c in CATEGORIES if c in self.scores},
            "labels": list(self.labels),
            "thresholds": dict(self.thresholds),
            "reasons": [dict(r) for r in self.reasons],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Classification:
        """Inverse of ``to_dict`` (for stages that read stored classifications back)."""
        return cls(
            scores=dict(d["scores"]),
            labels=list(d["labels"]),
            reasons=[cast(Reason, dict(r)) for r in d.get("reasons", [])],
            classifier_version=d["classifier_version"],
            thresholds=dict(d.get("thresholds", {})),
        )


@runtime_checkable
class Classifier(Protocol):
    """Anything that turns post text into a ``Classification``."""

    @property
    def version(self) -> str: ...

    def classify(self, text: str) -> Classification: ...

    def classify_batch(self, texts: Sequence[str]) -> list[Classification]: ...
