"""The statistical model: a calibrated linear model over character n-grams and the rule scores.

Why linear: every score decomposes exactly into per-feature contributions, so an alert can
say which words raised it; it trains in seconds on a few thousand posts, and inference is a
sparse dot product (``features.py`` computes the features for a whole batch in numpy).
scikit-learn is used only to TRAIN (``train.py``); this module needs numpy alone, so importing
it in an Airflow task costs no sklearn import.

For category ``c`` and post ``x``::

    s_c(x)  = sum_f w[f, c] * x_f  +  b_c                                    (n-gram logistic regression)
    p_c(x)  = sigmoid(a_c * s_c(x)  +  sum_r u[r, c] * rule_r(x)  +  d_c)    (stacked with the rules)

``x_f`` are the IDF-weighted, L2-normalised n-gram features (``features.py``); ``rule_r`` are the rule
classifier's per-category scores, before and after context rules (so an analyst's lexicon edit
moves the model's score too, without retraining). ``p_c`` is a calibrated probability on the
training distribution (synthetic; see docs/detection.md): read it as a ranking score.

The artifact is a directory with ``model.json`` (weights as base64 little-endian arrays, the
vocabulary as text) and ``manifest.json`` (version, sha256 of ``model.json``, training data
digests, metrics). Loading checks the digest and takes a few tens of milliseconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from socialhub.classify.base import Reason
from socialhub.classify.features import VocabIndex, feature_text, occurrences, present_features
from socialhub.errors import ConfigError
from socialhub.models import CATEGORIES

__all__ = [
    "DEFAULT_MODEL_DIR",
    "MODEL_FILE",
    "MODEL_FORMAT",
    "MANIFEST_FILE",
    "LinearModel",
    "ModelOutput",
    "RULE_FEATURES",
    "decode_array",
    "encode_array",
]

DEFAULT_MODEL_DIR = Path(__file__).with_name("model")
MODEL_FILE = "model.json"
MANIFEST_FILE = "manifest.json"
MODEL_FORMAT = "socialhub-linear-ngram/1"

#: Names of the rule features, in order: the rule score per category after context rules,
#: then before them.
RULE_FEATURES: tuple[str, ...] = tuple(f"rules:{c}" for c in CATEGORIES) + tuple(f"rules_raw:{c}" for c in CATEGORIES)

# Words (maximal runs of non-spaces) in a feature text, for widening an n-gram to whole words.
_MAX_MODEL_REASONS = 3
# N-grams considered per explanation (the largest contributions; the rest are small change).
_TOP_NGRAMS = 30
# A word is shown as model evidence only if it added at least this much log-odds (filler words
# such as "the" pick up a little weight from many n-grams and would only confuse a reader).
_MIN_WORD_WEIGHT = 0.15


def encode_array(a: np.ndarray, dtype: str) -> dict[str, Any]:
    """A numpy array as JSON: little-endian bytes in base64, with dtype and shape."""
    arr = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def decode_array(d: dict[str, Any]) -> np.ndarray:
    arr = np.frombuffer(base64.b64decode(d["b64"]), dtype=np.dtype(d["dtype"]).newbyteorder("<"))
    return arr.reshape(d["shape"]).astype(np.dtype(d["dtype"]))


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """Per-post model results for a batch: probabilities and the parts of the log-odds."""

    prob: np.ndarray          # (n, C) calibrated probabilities
    ngram_logit: np.ndarray   # (n, C) log-odds contributed by the n-grams
    rule_logit: np.ndarray    # (n, C) log-odds contributed by the rule scores
    bias: np.ndarray          # (C,)  intercept
    inv_norm: np.ndarray      # (n,)  1 / L2 norm of each post's n-gram vector (0 if none)


class LinearModel:
    """A loaded model artifact. Read-only after construction, so one instance serves all threads."""

    def __init__(self, data: dict[str, Any], *, version: str, manifest: dict[str, Any] | None = None) -> None:
        if data.get("format") != MODEL_FORMAT:
            raise ConfigError(f"model: unsupported format {data.get('format')!r} (expected {MODEL_FORMAT!r})")
        if list(data["categories"]) != list(CATEGORIES):
            raise ConfigError(f"model: categories {data['categories']} do not match {list(CATEGORIES)}")
        if list(data["rule_features"]) != list(RULE_FEATURES):
            raise ConfigError("model: rule features do not match this version of socialhub; retrain")
        self.version = version
        self.manifest = manifest or {}
        self.lexicon_version: str | None = data.get("lexicon_version")
        self.n_min, self.n_max = (int(v) for v in data["ngram_range"])
        self.vocabulary: list[str] = list(data["vocabulary"])
        self.hashes = decode_array(data["hashes"]).astype(np.uint64)
        self.idf = decode_array(data["idf"]).astype(np.float64)
        coef = decode_array(data["coef"]).astype(np.float64)            # (V, C)
        rule_coef = decode_array(data["rule_coef"]).astype(np.float64)  # (R, C)
        intercept = np.asarray(data["intercept"], np.float64)
        cal = np.asarray(data["calibration"], np.float64)               # (C, 2): a, d
        v = len(self.vocabulary)
        if not (self.hashes.shape == (v,) and self.idf.shape == (v,) and coef.shape == (v, len(CATEGORIES))
                and rule_coef.shape == (len(RULE_FEATURES), len(CATEGORIES)) and cal.shape == (len(CATEGORIES), 2)):
            raise ConfigError("model: array shapes are inconsistent; the artifact is damaged")
        if v > 1 and not bool(np.all(self.hashes[1:] > self.hashes[:-1])):
            raise ConfigError("model: vocabulary hashes are not sorted; the artifact is damaged")
        self.index = VocabIndex(self.hashes)
        a, d = cal[:, 0], cal[:, 1]
        # Fold the stage-2 scale into the n-gram weights: everything below is in final log-odds.
        self.coef = coef * a
        self.rule_coef = rule_coef
        self.bias = intercept * a + d
        self.coef_idf = self.coef * self.idf[:, None]     # weight x idf: one gather per occurrence

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, directory: str | Path | None = None) -> LinearModel:
        """Load ``model.json`` from ``directory``, checking it against ``manifest.json``.

        Raises ``FileNotFoundError`` when there is no model there (the caller may fall back to
        the rules) and ``ConfigError`` when one is there but damaged or not the one the manifest
        describes (a deployment error that must not pass silently).
        """
        d = Path(directory) if directory is not None else DEFAULT_MODEL_DIR
        model_path, manifest_path = d / MODEL_FILE, d / MANIFEST_FILE
        if not model_path.is_file():
            raise FileNotFoundError(f"no model at {model_path}")
        raw = model_path.read_bytes()
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{manifest_path}: missing; a model is only loaded with its manifest") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{manifest_path}: unreadable: {exc}") from None
        digest = hashlib.sha256(raw).hexdigest()
        expected = (manifest.get("files") or {}).get(MODEL_FILE, {}).get("sha256")
        if digest != expected:
            raise ConfigError(f"{model_path}: sha256 {digest[:12]}... does not match the manifest "
                              f"({str(expected)[:12]}...); the artifact was changed or damaged")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{model_path}: not valid JSON: {exc}") from None
        version = manifest.get("model_version") or f"unversioned-{digest[:12]}"
        return cls(data, version=str(version), manifest=manifest)

    # ------------------------------------------------------------------ scoring

    def predict(self, normalised_texts: Sequence[str], rule_features: np.ndarray) -> ModelOutput:
        """Score a batch. ``rule_features`` is ``(n, len(RULE_FEATURES))``, in that order."""
        n = len(normalised_texts)
        texts = [feature_text(t) for t in normalised_texts]
        post, feat = occurrences(texts, self.index, self.n_min, self.n_max)
        vals = self.idf[feat]
        norm2 = np.bincount(post, weights=vals * vals, minlength=n)
        inv = np.zeros(n)
        np.divide(1.0, np.sqrt(norm2), out=inv, where=norm2 > 0)
        ngram = np.empty((n, len(CATEGORIES)))
        w = self.coef_idf[feat]
        for c in range(len(CATEGORIES)):
            ngram[:, c] = np.bincount(post, weights=w[:, c], minlength=n)
        ngram *= inv[:, None]
        rules = np.asarray(rule_features, np.float64).reshape(n, len(RULE_FEATURES)) @ self.rule_coef
        z = ngram + rules + self.bias
        prob = 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))
        return ModelOutput(prob, ngram, rules, self.bias, inv)

    # ------------------------------------------------------------------ explaining

    def feature_contributions(self, out: ModelOutput, i: int, c: int, normalised: str, *, top: int | None = None
                              ) -> list[tuple[str, float, int, int]]:
        """The n-grams of post ``i`` (normalised text ``normalised``) with their contribution to
        category ``c``'s log-odds, all occurrences together.

        ``(ngram, contribution, start, length)`` with ``start`` its first occurrence in the
        post's feature text, largest contribution first; only the ``top`` largest when given.
        """
        batch = present_features([feature_text(normalised)], self.index, self.n_min, self.n_max)
        feats = batch.feature
        contrib = batch.count * self.coef_idf[feats, c] * out.inv_norm[i]
        if top is not None and top < contrib.size:
            order = np.argpartition(-contrib, top)[:top]
            order = order[np.argsort(-contrib[order], kind="stable")]
        else:
            order = np.argsort(-contrib, kind="stable")
        first, length = batch.first, batch.length
        return [(self.vocabulary[feats[k]], float(contrib[k]), int(first[k]), int(length[k])) for k in order.tolist()]

    def explain(self, out: ModelOutput, requests: Sequence[tuple[int, int]], texts: Sequence[str],
                norms: Sequence[Any], *, limit: int = _MAX_MODEL_REASONS) -> dict[tuple[int, int], list[Reason]]:
        """Reasons for each ``(post, category)`` in ``requests``: the words that raised it most.

        The n-grams of all requested posts are found in ONE vectorised pass. For each request the
        ``_TOP_NGRAMS`` n-grams with the largest contribution are attributed to the words they
        overlap (an n-gram spanning two words counts half for each); the ``limit`` words with the
        largest positive sum (at least ``_MIN_WORD_WEIGHT``) are reported, adjacent ones merged into one span, with ``weight`` =
        summed contribution in log-odds. ``norms[i]`` is post ``i``'s ``NormalisedText``; spans
        are mapped back to ``texts[i]`` through it. Masked @mentions and links are never reported.
        """
        posts = sorted({i for i, _ in requests})
        if not posts:
            return {}
        ftexts = [feature_text(norms[i].text) for i in posts]
        batch = present_features(ftexts, self.index, self.n_min, self.n_max)
        slot = {i: k for k, i in enumerate(posts)}
        bounds = batch.bounds.tolist()
        first_at, length_at = batch.first.tolist(), batch.length.tolist()
        words_of: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}
        result: dict[tuple[int, int], list[Reason]] = {}
        for i, c in requests:
            k = slot[i]
            a, b = bounds[k], bounds[k + 1]
            if a == b:
                result[(i, c)] = []
                continue
            feats = batch.feature[a:b]
            contrib = batch.count[a:b] * self.coef_idf[feats, c] * out.inv_norm[i]
            top = _TOP_NGRAMS if contrib.size > _TOP_NGRAMS else contrib.size
            order = np.argpartition(-contrib, top - 1)[:top] if top < contrib.size else np.arange(contrib.size)
            order = order[contrib[order] > 0].tolist()
            if i not in words_of:
                words_of[i] = _words(ftexts[k])
            words, word_of = words_of[i]
            cl = contrib.tolist()
            score = [0.0] * len(words)
            for j in order:
                s0 = first_at[a + j]
                # the words the n-gram overlaps: every word from the first to the last it touches
                touched = [w for w in word_of[s0:s0 + length_at[a + j]] if w >= 0]
                if touched:
                    lo, hi = touched[0], touched[-1]
                    share = cl[j] / (hi - lo + 1)
                    for w in range(lo, hi + 1):
                        score[w] += share
            ft = ftexts[k]
            best = sorted((w for w in range(len(words)) if score[w] > _MIN_WORD_WEIGHT and ft[words[w][0]:words[w][1]] not in ("@", "http")),
                          key=lambda w: -score[w])[:limit]
            reasons: list[Reason] = []
            for group in _adjacent_groups(sorted(best)):
                a_ft, b_ft = words[group[0]][0], words[group[-1]][1]
                start, end = norms[i].to_original(a_ft - 1, b_ft - 1)
                if end <= start:
                    continue
                reasons.append(Reason(category=CATEGORIES[c], rule="model.ngrams", term=ft[a_ft:b_ft], start=start,
                                      end=end, text=texts[i][start:end], weight=round(sum(score[w] for w in group), 3),
                                      effect="model"))
            result[(i, c)] = reasons
        return result

    def reasons(self, out: ModelOutput, i: int, c: int, text: str, norm: Any, *,
                limit: int = _MAX_MODEL_REASONS) -> list[Reason]:
        """``explain`` for one post ``i`` (text ``text``, ``NormalisedText`` ``norm``) and category ``c``."""
        texts: dict[int, str] = {i: text}
        norms: dict[int, Any] = {i: norm}
        return self.explain(out, [(i, c)], texts, norms, limit=limit)[(i, c)]  # type: ignore[arg-type]

    def top_features(self, c: int, k: int = 20) -> list[tuple[str, float]]:
        """The ``k`` n-grams with the largest weight for category ``c`` (for reports and model cards)."""
        w = self.coef[:, c] * self.idf
        order = np.argsort(-w, kind="stable")[:k]
        return [(self.vocabulary[j], round(float(w[j]), 3)) for j in order]


def _words(ftext: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Word spans of a feature text, and for each character its word's index (-1 for a space)."""
    spans = _word_spans(ftext)
    word_of = [-1] * len(ftext)
    for k, (a, b) in enumerate(spans):
        word_of[a:b] = [k] * (b - a)
    return spans, word_of


_WORD = re.compile(r"[^ ]+")


def _word_spans(ftext: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each maximal run of characters other than a space."""
    return [m.span() for m in _WORD.finditer(ftext)]


def _adjacent_groups(indices: list[int]) -> list[list[int]]:
    groups: list[list[int]] = []
    for k in indices:
        if groups and k == groups[-1][-1] + 1:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))
