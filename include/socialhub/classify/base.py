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

    ``effect`` is ``"match"`` for a lexicon hit (``weight`` is the entry's weight),
    ``"context"`` for a context cue that lowered this category (``weight`` is its multiplier), or
    ``"model"`` for words the statistical model weighed (``rule`` is ``model.ngrams``, ``term``
    the normalised words, ``weight`` their contribution to the category's log-odds: positive
    raised the score, negative lowered it). ``text == post_text[start:end]`` always holds.
    """

    category: str
    rule: str
    term: str
    start: int
    end: int
    text: str
    weight: float
    effect: Literal["match", "context", "model"]


@dataclass(slots=True)
class Classification:
    """Scores for every category, the labels at or above threshold, and the evidence.

    Scores are advisory: they order the officers' review queue, they decide nothing.

    ``lexicon_version`` and ``model_version`` (None for the rules alone) say exactly which data
    produced the result; ``components`` holds the per-part scores behind ``scores`` (``rules``
    and, with the model, ``model``), so a reviewer can see which part raised a post.
    """

    scores: dict[str, float]
    labels: list[str]
    reasons: list[Reason]
    classifier_version: str
    thresholds: dict[str, float] = field(default_factory=dict)
    lexicon_version: str | None = None
    model_version: str | None = None
    components: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Set (and everything else empty) when this one text could not be classified at all; the
    #: other texts of its batch are unaffected. Never set for a normal result.
    error: str | None = None

    @classmethod
    def failed(cls, classifier_version: str, thresholds: dict[str, float], error: str) -> Classification:
        """The result for a text that could not be classified: no labels, zero scores, the error."""
        return cls(scores=dict.fromkeys(CATEGORIES, 0.0), labels=[], reasons=[],
                   classifier_version=classifier_version, thresholds=dict(thresholds), error=error)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (copies, so the caller may mutate it freely)."""
        extra: dict[str, Any] = {"error": self.error} if self.error else {}
        return extra | {
            "classifier_version": self.classifier_version,
            "lexicon_version": self.lexicon_version,
            "model_version": self.model_version,
            "scores": {c: self.scores[c] for c in CATEGORIES if c in self.scores},
            "labels": list(self.labels),
            "thresholds": dict(self.thresholds),
            "components": {k: dict(v) for k, v in self.components.items()},
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
            lexicon_version=d.get("lexicon_version"),
            model_version=d.get("model_version"),
            components={k: dict(v) for k, v in (d.get("components") or {}).items()},
            error=d.get("error"),
        )


@runtime_checkable
class Classifier(Protocol):
    """Anything that turns post text into a ``Classification``."""

    @property
    def version(self) -> str: ...

    def classify(self, text: str) -> Classification: ...

    def classify_batch(self, texts: Sequence[str]) -> list[Classification]: ...
