"""The detection layer: the rule classifier and the statistical model, scored together per batch.

Why both: the rules (``rules.py``, ``lexicon.yaml``) are exact, explainable and editable by
analysts, but only know the phrasings someone wrote down; the model (``model.py``) generalises
from labelled posts to phrasings nobody listed, and learns which rule hits are usually benign.
The model takes the rule scores as features, so its score is one calibrated number per category
that already weighs the rules; a lexicon edit moves it without retraining.

Per batch: each post is normalised ONCE (``normalise``), the rules run on it (pure Python,
regexes), then the model scores the whole batch in numpy. Explanations (the words the model
weighed) are computed only for the labels, i.e. for the posts that reach the review queue.

Every result carries ``scores`` (the model's calibrated probability per category), ``labels``
(scores at or above the thresholds in ``thresholds.yaml``), ``reasons`` (rule evidence spans,
context cues and the model's top words, all quoting the original text), ``components`` (the
rules' and the model's scores side by side, and the model's log-odds split into what the words
(``model_words``) and the rule scores (``model_rules``) contributed) and the lexicon and model
versions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from socialhub.classify.base import Classification, Reason
from socialhub.classify.model import RULE_FEATURES, LinearModel
from socialhub.classify.normalise import normalise
from socialhub.classify.rules import RuleClassifier
from socialhub.errors import ConfigError
from socialhub.models import CATEGORIES

__all__ = ["CombinedClassifier", "EXPLAIN_FRACTION"]

log = logging.getLogger("socialhub.classify")

#: The model's words are explained for categories scoring at least this fraction of their
#: threshold (1.0: the labels only; explanations are the costly part of a flagged post).
EXPLAIN_FRACTION = 1.0


class CombinedClassifier:
    """Rules + model. Build once and reuse; read-only and thread-safe after construction."""

    def __init__(self, rules: RuleClassifier, model: LinearModel, thresholds: Mapping[str, float],
                 *, thresholds_model_version: str | None = None) -> None:
        self.rules = rules
        self.model = model
        problems = [f"missing threshold for {c}" for c in CATEGORIES if c not in thresholds]
        problems += [f"unknown category {c!r}" for c in thresholds if c not in CATEGORIES]
        problems += [f"{c}: threshold must be > 0 and <= 1, got {t!r}" for c, t in thresholds.items()
                     if c in CATEGORIES and not (isinstance(t, (int, float)) and 0.0 < t <= 1.0)]
        if problems:
            raise ConfigError("thresholds: " + "; ".join(problems))
        self.thresholds: dict[str, float] = {c: float(thresholds[c]) for c in CATEGORIES}
        self._thr = np.array([self.thresholds[c] for c in CATEGORIES])
        if model.lexicon_version and model.lexicon_version != rules.lexicon.version:
            log.warning("model %s was trained with lexicon %s but lexicon %s is loaded; its rule features "
                        "still work, but retrain and re-check thresholds", model.version,
                        model.lexicon_version, rules.lexicon.version)
        if thresholds_model_version and thresholds_model_version != model.version:
            log.warning("thresholds were chosen for model %s but model %s is loaded; re-run the "
                        "training command with --dev to get thresholds for this model",
                        thresholds_model_version, model.version)

    @property
    def version(self) -> str:
        """``rules-<lexicon version>+model-<model version>``, stored with every classification."""
        return f"{self.rules.version}+model-{self.model.version}"

    @property
    def lexicon(self):  # noqa: ANN201 - the rule classifier's Lexicon
        return self.rules.lexicon

    def classify(self, text: str) -> Classification:
        return self.classify_batch([text])[0]

    def classify_batch(self, texts: Sequence[str]) -> list[Classification]:
        """Classify many posts at once (faster per post than one by one)."""
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"classify() needs str, got {type(t).__name__}")
        n = len(texts)
        if n == 0:
            return []
        norms = [normalise(t) for t in texts]
        rule_results = []
        feats = np.zeros((n, len(RULE_FEATURES)))
        k = len(CATEGORIES)
        for i, (t, norm) in enumerate(zip(texts, norms, strict=True)):
            res, raw = self.rules.score_normalised(t, norm)
            rule_results.append(res)
            if res.reasons:               # all-zero rule scores leave the row at zero
                feats[i, :k] = [res.scores[c] for c in CATEGORIES]
                feats[i, k:] = [raw[c] for c in CATEGORIES]
        out = self.model.predict([nm.text for nm in norms], feats)
        probs = np.round(out.prob, 4)
        labelled = probs >= self._thr
        explain: list[bool] = np.any(probs >= self._thr * EXPLAIN_FRACTION, axis=1).tolist()  # type: ignore[assignment]
        prob_rows = probs.tolist()
        word_rows = np.round(out.ngram_logit, 3).tolist()
        rule_rows = np.round(out.rule_logit, 3).tolist()
        lab_rows = labelled.tolist()
        requests = [(int(i), int(j)) for i, j in zip(*np.nonzero(probs >= self._thr * EXPLAIN_FRACTION), strict=True)]
        model_reasons = self.model.explain(out, requests, texts, norms)
        results = []
        version, lex_v, model_v = self.version, self.rules.lexicon.version, self.model.version
        cats = CATEGORIES
        for i in range(n):
            scores = dict(zip(cats, prob_rows[i], strict=True))
            labels = [c for c, on in zip(cats, lab_rows[i], strict=True) if on]
            rule_res = rule_results[i]
            reasons: list[Reason] = list(rule_res.reasons)
            if explain[i]:
                for j in range(len(cats)):
                    reasons.extend(model_reasons.get((i, j), ()))
                reasons.sort(key=lambda r: (r["start"], r["end"], r["effect"] != "match", r["category"], r["rule"]))
            results.append(Classification(
                scores=scores, labels=labels, reasons=reasons, classifier_version=version,
                thresholds=dict(self.thresholds), lexicon_version=lex_v, model_version=model_v,
                components={"rules": rule_res.scores, "model": dict(scores),
                            "model_words": dict(zip(cats, word_rows[i], strict=True)),
                            "model_rules": dict(zip(cats, rule_rows[i], strict=True))},
            ))
        return results
