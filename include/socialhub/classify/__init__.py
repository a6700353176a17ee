"""Classification of post text into the hub's categories, with evidence an officer can check.

Entry points::

    from socialhub.classify import load_classifier
    clf = load_classifier()                  # cached default: rules + model (rules alone if no model)
    results = clf.classify_batch(texts)      # -> list[Classification]
    results[0].to_dict()                     # JSON-able, stored beside the post

The default is the detection layer of ``combined.py``: the rule classifier (``rules.py`` over
``lexicon.yaml``) and the statistical model (``model.py``, artifact in ``model/``) scored
together, with the thresholds of ``thresholds.yaml``. If the model artifact is missing, the
rules alone are used (with their own ``rules_only`` thresholds) and a warning is logged.
Training and evaluation: ``train.py`` and ``evaluate.py`` (both runnable with ``python -m``);
how it all works and how good it is: ``docs/detection.md``.

``CLASSIFIER_VERSION`` is the default classifier's version string; it is computed on first
access, so importing this package reads no files (and imports no numpy).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialhub.classify.base import Classification, Classifier, Reason
from socialhub.classify.lexicon import load_lexicon, load_thresholds
from socialhub.classify.normalise import NormalisedText, normalise

if TYPE_CHECKING:
    from socialhub.classify.combined import CombinedClassifier
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
    "load_rule_classifier",
    "load_thresholds",
    "normalise",
]

log = logging.getLogger("socialhub.classify")

CLASSIFIER_VERSION: str  # provided lazily by __getattr__ below

#: ``model_dir`` value meaning "the rules alone, do not look for a model".
NO_MODEL = False


def _build(lexicon_path: str | Path | None, thresholds_path: str | Path | None,
           thresholds: dict[str, float] | None, model_dir: str | Path | bool | None,
           ) -> RuleClassifier | CombinedClassifier:
    from socialhub.classify.rules import RuleClassifier

    lexicon = load_lexicon(lexicon_path)
    thr = load_thresholds(thresholds_path)
    if model_dir is False:
        return RuleClassifier(lexicon, thr, overrides=thresholds)
    from socialhub.classify.model import DEFAULT_MODEL_DIR, LinearModel

    where = Path(model_dir) if isinstance(model_dir, (str, Path)) else DEFAULT_MODEL_DIR
    try:
        model = LinearModel.load(where)
    except FileNotFoundError:
        log.warning("no classifier model at %s: using the rules alone (rules_only thresholds); "
                    "train one with `python -m socialhub.classify.train`", where)
        return RuleClassifier(lexicon, thr, overrides=thresholds)
    from socialhub.classify.combined import CombinedClassifier

    rules = RuleClassifier(lexicon, thr)
    merged = dict(thr.thresholds) | dict(thresholds or {})
    return CombinedClassifier(rules, model, merged, thresholds_model_version=thr.model_version)


@lru_cache(maxsize=1)
def _default_classifier() -> RuleClassifier | CombinedClassifier:
    return _build(None, None, None, None)


def load_classifier(lexicon_path: str | Path | None = None, thresholds_path: str | Path | None = None,
                    *, thresholds: dict[str, float] | None = None,
                    model_dir: str | Path | bool | None = None) -> RuleClassifier | CombinedClassifier:
    """The detection layer for the given files (defaults: the ones shipped beside this package).

    ``model_dir``: a model artifact directory (default: ``model/`` beside this package), or
    ``False`` for the rules alone. A missing model falls back to the rules with a logged
    warning; a damaged one (checksum mismatch) raises ``ConfigError``.

    With no arguments the classifier is built once per process and shared (it is read-only and
    thread-safe); with any argument a new one is built each call, so edited files are picked up.
    A bad file raises ``ConfigError`` naming each bad entry.
    """
    if lexicon_path is None and thresholds_path is None and not thresholds and model_dir is None:
        return _default_classifier()
    return _build(lexicon_path, thresholds_path, thresholds, model_dir)


def load_rule_classifier(lexicon_path: str | Path | None = None, thresholds_path: str | Path | None = None,
                         *, thresholds: dict[str, float] | None = None) -> RuleClassifier:
    """The rule classifier alone (``rules_only`` thresholds), e.g. to compare it with the full layer."""
    from socialhub.classify.rules import RuleClassifier

    clf = _build(lexicon_path, thresholds_path, thresholds, NO_MODEL)
    assert isinstance(clf, RuleClassifier)
    return clf


load_classifier.cache_clear = _default_classifier.cache_clear  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    if name == "CLASSIFIER_VERSION":
        return _default_classifier().version
    if name in ("Hit", "RuleClassifier"):   # imported on first use: the rules compile their patterns (~2 s)
        from socialhub.classify import rules

        return getattr(rules, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
