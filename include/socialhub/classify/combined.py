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
from typing import cast

import numpy as np

from socialhub.classify.anchors import find_anchors, only_negated
from socialhub.classify.base import Classification, Reason
from socialhub.classify.model import RULE_FEATURES, LinearModel, ModelOutput
from socialhub.classify.normalise import NormalisedText, normalise
from socialhub.classify.rules import RuleClassifier
from socialhub.classify.sanitise import sanitise
from socialhub.classify.structures import weapon_named
from socialhub.errors import ConfigError
from socialhub.models import CATEGORIES

__all__ = ["CombinedClassifier", "EXPLAIN_FRACTION", "WINDOW", "windows"]

log = logging.getLogger("socialhub.classify")

#: The model's words are explained for categories scoring at least this fraction of their
#: threshold (1.0: the labels only; explanations are the costly part of a flagged post).
EXPLAIN_FRACTION = 1.0


#: Texts longer than this are scored in windows of about this many characters (overlapping by
#: ``OVERLAP``), so the statistical model weighs a threat against its sentence, not against
#: pages of filler (its features are length-normalised; the rules are not affected by length).
WINDOW = 280
OVERLAP = 80

#: Categories whose model score is set aside when every anchor is negated or reported
#: (``anchors.only_negated``): "no one's getting hurt", "I refuse to carry a blade".
NEGATABLE = ("violence_threat", "weapon")

_ZEROS = [0.0] * len(CATEGORIES)        # a shared row: never modified in place
_ZERO_SCORES = dict.fromkeys(CATEGORIES, 0.0)
_NO_RULES = [0.0] * len(RULE_FEATURES)    # the model's rule features of a post without rule evidence


def windows(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` windows covering ``text``: one for a short text, else overlapping ones
    that break at whitespace where they can (so a word is rarely cut in two)."""
    n = len(text)
    if n <= WINDOW + WINDOW // 2:
        return [(0, n)]
    out: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(n, start + WINDOW)
        if end < n:
            cut = text.rfind(" ", start + WINDOW // 2, end)
            end = cut if cut > start else end
        out.append((start, end))
        if end >= n:
            return out
        nxt = max(start + 1, end - OVERLAP)
        space = text.find(" ", nxt, end)
        start = space + 1 if space >= 0 else nxt


def _quote_originals(texts: Sequence[str], results: list[Classification]) -> list[Classification]:
    """Evidence quotes the ORIGINAL post (the sanitised copy has the same offsets)."""
    for t, res in zip(texts, results, strict=True):
        for r in res.reasons:
            r["text"] = t[r["start"]:r["end"]]
    return results


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
        """Classify many posts at once (faster per post than one by one).

        Each text is classified on a sanitised copy (``sanitise.py``: same offsets). A long text
        is scored in overlapping windows of about ``WINDOW`` characters and each category takes
        its best window, so filler around a threat cannot dilute it. If the batch fails, its
        texts are retried one by one and a text that still fails gets ``error`` set.
        """
        clean = [sanitise(t) for t in texts]
        try:
            return _quote_originals(texts, self._windowed(clean))
        except Exception:  # noqa: BLE001 - find the one text that broke it, keep the others
            log.exception("classifying a batch of %d failed; retrying its texts one by one", len(clean))
        out = []
        for t in clean:
            try:
                out.append(self._windowed([t])[0])
            except Exception as exc:  # noqa: BLE001
                out.append(Classification.failed(self.version, self.thresholds, f"{type(exc).__name__}: {exc}"))
        return _quote_originals(texts, out)

    def _windowed(self, texts: Sequence[str]) -> list[Classification]:
        spans = [windows(t) for t in texts]
        if all(len(s) == 1 for s in spans):
            return self._classify(texts)
        flat = [t[a:b] for t, sp in zip(texts, spans, strict=True) for a, b in sp]
        parts = self._classify(flat)
        out, k = [], 0
        for t, sp in zip(texts, spans, strict=True):
            chunk = parts[k:k + len(sp)]
            k += len(sp)
            out.append(chunk[0] if len(sp) == 1 else self._merge(t, sp, chunk))
        return out

    def _merge(self, text: str, spans: list[tuple[int, int]], parts: list[Classification]) -> Classification:
        """One result from a long text's windows: per category, the best window's score and parts."""
        scores: dict[str, float] = {}
        components: dict[str, dict[str, float]] = {}
        for c in CATEGORIES:
            best = max(range(len(parts)), key=lambda i: parts[i].scores[c])
            scores[c] = parts[best].scores[c]
            for name, comp in parts[best].components.items():
                components.setdefault(name, {})[c] = comp.get(c, 0.0)
        seen: set[tuple[str, str, int, int]] = set()
        reasons: list[Reason] = []
        for (a, _b), part in zip(spans, parts, strict=True):
            for r in part.reasons:
                start, end = r["start"] + a, r["end"] + a
                key = (r["category"], r["rule"], start, end)
                if key in seen:
                    continue
                seen.add(key)
                reasons.append(cast(Reason, dict(r, start=start, end=end, text=text[start:end])))
        reasons.sort(key=lambda r: (r["start"], r["end"], r["effect"] != "match", r["category"], r["rule"]))
        labels = [c for c in CATEGORIES if scores[c] >= self.thresholds[c]]
        first = parts[0]
        return Classification(scores=scores, labels=labels, reasons=reasons, classifier_version=first.classifier_version,
                              thresholds=dict(self.thresholds), lexicon_version=first.lexicon_version,
                              model_version=first.model_version, components=components)

    def _predict(self, norms: Sequence[NormalisedText], feats: np.ndarray, rows: np.ndarray) -> ModelOutput:
        """The model's output for every post, computed for ``rows`` only (the others: zeros)."""
        n, k = len(norms), len(CATEGORIES)
        if len(rows) == n:
            return self.model.predict([nm.text for nm in norms], feats)
        part = self.model.predict([norms[i].text for i in rows], feats[rows])
        prob, ngram, rule, inv = np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k)), np.zeros(n)
        prob[rows], ngram[rows], rule[rows], inv[rows] = part.prob, part.ngram_logit, part.rule_logit, part.inv_norm
        return ModelOutput(prob, ngram, rule, part.bias, inv)

    def _classify(self, texts: Sequence[str]) -> list[Classification]:
        n = len(texts)
        if n == 0:
            return []
        norms = [normalise(t) for t in texts]
        cats = CATEGORIES
        results: list[Classification | None] = [None] * n
        # Posts with an anchor of some category (anchors.py) are the only ones the model may score:
        # a label must rest on a word of its category, and most everyday posts have none. Those
        # are scored below; the others' results are their rules' (``_rules_only``).
        idx: list[int] = []                       # the batch index of each anchored post
        rule_results: list[Classification] = []
        feat_rows: list[list[float]] = []
        damp_rows: list[list[float]] = []
        gate_rows: list[list[float]] = []
        damp_reasons: list[list[Reason]] = []
        anchors = []
        for i, (t, norm) in enumerate(zip(texts, norms, strict=True)):
            found = find_anchors(norm)
            if not found:                 # no anchor: the model will not score it, so no dampers
                results[i] = self._rules_only(self.rules.score_normalised(t, norm)[0])
                continue
            res, raw, mult, why = self.rules.score_with_dampers(t, norm)
            idx.append(i)
            anchors.append(found)
            rule_results.append(res)
            scores = res.scores
            # all-zero rule scores leave the row at zero
            feat_rows.append([scores[c] for c in cats] + [raw[c] for c in cats] if res.reasons else _NO_RULES)
            damp_rows.append([mult[c] for c in cats])
            gate = [1.0 if c in found else 0.0 for c in cats]
            for j, c in enumerate(cats):
                if c in NEGATABLE and c in found and c not in res.labels:
                    neg = only_negated(norm, c)
                    if neg is not None:
                        gate[j] = 0.0
                        why.append(Reason(category=c, rule=f"ctx.{neg[0]}", term=f"every {c} word is {neg[0]}",
                                          start=neg[1], end=neg[2], text=t[neg[1]:neg[2]], weight=0.0,
                                          effect="context"))
            gate_rows.append(gate)
            damp_reasons.append(why)
        if not idx:
            return cast(list[Classification], results)
        m = len(idx)
        a_texts = [texts[i] for i in idx]
        a_norms = [norms[i] for i in idx]
        feats = np.array(feat_rows, dtype=float).reshape(m, len(RULE_FEATURES))
        damp, gates = np.array(damp_rows, dtype=float), np.array(gate_rows, dtype=float)
        # The model scores only the posts whose anchors are not all negated or reported.
        rows = np.flatnonzero(gates.any(axis=1))
        out = self._predict(a_norms, feats, rows)
        # The model's words cannot see negation, reporting or context: the same cues that lower
        # the rules lower its score (evidence in ``reasons``, effect "context").
        probs = np.round(out.prob * damp * gates, 4)
        labelled = probs >= self._thr
        explain: list[bool] = np.any(probs >= self._thr * EXPLAIN_FRACTION, axis=1).tolist()  # type: ignore[assignment]
        prob_rows = probs.tolist()
        word_rows = np.round(out.ngram_logit, 3).tolist()
        rule_rows = np.round(out.rule_logit, 3).tolist()
        lab_rows = labelled.tolist()
        model_prob = out.prob.tolist()
        requests = [(int(i), int(j)) for i, j in zip(*np.nonzero(probs >= self._thr * EXPLAIN_FRACTION), strict=True)]
        model_reasons = self.model.explain(out, requests, a_texts, a_norms)
        version, lex_v, model_v = self.version, self.rules.lexicon.version, self.model.version
        thresholds = self.thresholds
        for i in range(m):
            rule_res = rule_results[i]
            text = a_texts[i]
            # The rules' own labels always stand: the model may add labels, never remove the
            # evidence of a listed phrase or a threat's structure (it was trained mostly on
            # written templates and real tweets, so it under-rates threats worded otherwise).
            scores = {c: max(p, rule_res.scores[c]) if c in rule_res.labels else p
                      for c, p in zip(cats, prob_rows[i], strict=True)}
            labels = [c for c, on in zip(cats, lab_rows[i], strict=True) if on or c in rule_res.labels]
            reasons: list[Reason] = list(rule_res.reasons)
            armed = weapon_named(a_norms[i]) if ("violence_threat" in labels and "weapon" not in labels
                                                 and "weapon" in anchors[i]) else None
            if armed is not None:
                # A threat that names a weapon ("I'll stab you with my kitchen knife") is about a
                # weapon too, whatever the kitchen words around it say.
                labels = [c for c in cats if c in labels or c == "weapon"]
                scores["weapon"] = max(scores["weapon"], scores["violence_threat"])
                reasons.append(Reason(category="weapon", rule="wp.in_threat", term=f"weapon in a threat: {armed.term}",
                                      start=armed.start, end=armed.end, text=text[armed.start:armed.end],
                                      weight=scores["violence_threat"], effect="match"))
            if damp_reasons[i]:
                have = {(r["category"], r["rule"], r["start"]) for r in reasons}
                mp = model_prob[i]
                reasons += [r for r in damp_reasons[i] if (r["category"], r["rule"], r["start"]) not in have
                            and mp[cats.index(r["category"])] >= thresholds[r["category"]] * 0.5]
            if explain[i]:
                for j, c in enumerate(cats):
                    if (i, j) in model_reasons and c not in rule_res.labels:
                        a = anchors[i][c]          # the word of this category the label rests on
                        reasons.append(Reason(category=c, rule=f"anchor.{c}", term=a.term, start=a.start,
                                              end=a.end, text=text[a.start:a.end], weight=0.0,
                                              effect="match"))
                    reasons.extend(model_reasons.get((i, j), ()))
                reasons.sort(key=lambda r: (r["start"], r["end"], r["effect"] != "match", r["category"], r["rule"]))
            results[idx[i]] = Classification(
                scores=scores, labels=labels, reasons=reasons, classifier_version=version,
                thresholds=dict(thresholds), lexicon_version=lex_v, model_version=model_v,
                components={"rules": rule_res.scores, "model": dict(scores),
                            "model_words": dict(zip(cats, word_rows[i], strict=True)),
                            "model_rules": dict(zip(cats, rule_rows[i], strict=True)),
                            "anchor": dict(zip(cats, gate_rows[i], strict=True))},
            )
        return cast(list[Classification], results)

    def _rules_only(self, rule_res: Classification) -> Classification:
        """The result for a post without any anchor: the model does not score it (its score,
        parts and anchors are 0.0), so its scores, labels and evidence are the rules' own."""
        rule_scores, rule_labels = rule_res.scores, rule_res.labels
        if rule_labels:
            scores = {c: max(0.0, rule_scores[c]) if c in rule_labels else 0.0 for c in CATEGORIES}
        else:
            scores = dict(_ZERO_SCORES)
        return Classification(
            scores=scores, labels=[c for c in CATEGORIES if c in rule_labels], reasons=list(rule_res.reasons),
            classifier_version=self.version, thresholds=dict(self.thresholds),
            lexicon_version=self.rules.lexicon.version, model_version=self.model.version,
            components={"rules": rule_scores, "model": dict(scores), "model_words": dict(_ZERO_SCORES),
                        "model_rules": dict(_ZERO_SCORES), "anchor": dict(_ZERO_SCORES)})
