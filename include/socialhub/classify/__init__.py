"""Classification of post text into the hub's categories, with evidence an officer can check.

Entry points::

    from socialhub.classify import load_classifier
    clf = load_classifier()                  # cached default: lexicon.yaml + thresholds.yaml
    result = clf.classify("post text")       # -> Classification
    result.to_dict()                         # JSON-able, stored beside the post

``CLASSIFIER_VERSION`` is the default classifier's version string (``rules-<lexicon version>``);
it is computed on first access, so importing this package reads no files.

Why a package: the rule classifier is the first; a learned model will implement the same
``Classifier`` protocol (``base.py``) and may reuse ``normalise`` and the lexicon hits
(``RuleClassifier.hits``) as features.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from socialhub.classify.base import Classification, Classifier, Reason
from socialhub.classify.lexicon import load_lexicon, load_thresholds
from socialhub.classify.normalise import NormalisedText, normalise
from socialhub.classify.rules import Hit, RuleClassifier

__all__ = [
    "CLASSIFIER_VERSION",
    "Classification",
    "Classifier",
    "Hit",
    "NormalisedText",
    "Reason",
    "RuleClassifier",
    "load_classifier",
    "load_lexicon",
    "load_thresholds",
    "normalise",
]

CLASSIFIER_VERSION: str  # provided lazily by __getattr__ below


@lru_cache(maxsize=1)
def _default_classifier() -> RuleClassifier:
    return RuleClassifier.from_files()


def load_classifier(lexicon_path: str | Path | None = None, thresholds_path: str | Path | None = None,
                    *, thresholds: dict[str, float] | None = None) -> RuleClassifier:
    """The rule classifier for the given files (defaults: the ones shipped beside this package).

    With no arguments the classifier is built once per process and shared (it is read-only and
    thread-safe); with a path or ``thresholds`` overrides, a new one is built each call, so an
    edited lexicon is picked up. A bad file raises ``ConfigError`` naming each bad entry.
    """
    if lexicon_path is None and thresholds_path is None and not thresholds:
        return _default_classifier()
    return RuleClassifier.from_files(lexicon_path, thresholds_path, thresholds=thresholds)


load_classifier.cache_clear = _default_classifier.cache_clear  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    if name == "CLASSIFIER_VERSION":
        return _default_classifier().version
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
