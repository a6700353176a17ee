"""Train the detection layer's statistical model from a labelled set (and officers' feedback).

    python -m socialhub.classify.train data/labelled/train.jsonl \\
        --dev data/labelled/dev.jsonl [--feedback decisions.jsonl ...] \\
        [--out include/socialhub/classify/model] [--seed 0] [--write-thresholds]

Reproducible: the same data, seed, lexicon and library versions give a byte-identical
``model.json`` (no timestamps; solver with a fixed seed; weights rounded to float32), and
``manifest.json`` records the sha256 of every input, so anyone can check which data made a
model. scikit-learn is imported here only; inference (``model.py``) needs numpy alone.

What is fitted, per category (one-vs-rest; a post may have several labels):

1. features: char n-grams (1..4) of the normalised text, IDF-weighted and L2-normalised
   (``features.py``), kept when they occur in >= ``min_df`` training posts and are not only
   whitespace;
2. stage 1: an L2-regularised logistic regression on the n-grams (liblinear,
   ``class_weight="balanced"``), fitted on all training posts; and the same fitted in 5 folds
   grouped by phrasing template (the ``source`` field), giving each post an out-of-fold
   n-gram score from a model that never saw its phrasing;
3. stage 2 (stacking, which is also the calibration): a logistic regression of the label on
   [out-of-fold n-gram score, rule scores before/after context (``model.RULE_FEATURES``)].
   It learns how far n-grams can be trusted on new phrasings and how much the rules add, and
   its output is the calibrated probability. The whole model stays linear in the features:
   ``p = sigmoid(a * (w.x + b) + u.rules + d)``. ``a`` is never negative: if the fit wants
   it so (too little data), the n-grams get weight 0 and the rules alone decide;
4. with ``--dev``: per-category thresholds chosen on the dev set (violence_threat: the highest
   threshold keeping recall >= ``--vt-recall``; the others: best F1), printed, stored in the
   manifest and, with ``--write-thresholds``, written into ``thresholds.yaml`` (values only;
   comments are kept).

Feedback (``dataset.py``): each officer decision becomes a training example (weight 2) whose
labels are the confirmed ones (true positive), none (false positive) or ``corrected_labels``;
a feedback text replaces a training post with the same text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from socialhub.classify.dataset import (
    DatasetError,
    Example,
    feedback_examples,
    merge_feedback,
    read_feedback,
    read_labelled,
)
from socialhub.classify.features import feature_text, ngram_hash, ngram_hashes
from socialhub.classify.lexicon import DEFAULT_THRESHOLDS_PATH
from socialhub.classify.model import (
    DEFAULT_MODEL_DIR,
    MANIFEST_FILE,
    MODEL_FILE,
    MODEL_FORMAT,
    RULE_FEATURES,
    LinearModel,
    encode_array,
)
from socialhub.classify.normalise import normalise
from socialhub.classify.rules import RuleClassifier
from socialhub.errors import ConfigError, SocialhubError
from socialhub.models import CATEGORIES

__all__ = ["TrainConfig", "choose_thresholds", "main", "run_train", "write_thresholds"]

DEFAULTS: dict[str, Any] = {"ngram_min": 1, "ngram_max": 4, "min_df": 2, "C": 16.0, "stack_C": 1.0, "cv_folds": 5,
                            "feedback_weight": 2.0, "vt_recall": None, "real_weight": 1.0, "max_real_fpr": 0.005,
                            "max_group_fpr": 0.05}

#: Within the Davidson ``calibration`` part (buckets 0-69 of ``realdata.split_part``), buckets
#: below this train the model as real negatives; the rest (50-69) only choose thresholds.
REAL_TRAIN_BUCKETS = 50


class TrainConfig(dict):  # a plain dict with the defaults filled in (stored in the manifest)
    def __init__(self, **overrides: Any) -> None:
        unknown = set(overrides) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown training options: {', '.join(sorted(unknown))}")
        super().__init__({**DEFAULTS, **{k: v for k, v in overrides.items() if v is not None}})


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rule_features(rules: RuleClassifier, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Normalised texts and the rule features (``RULE_FEATURES`` order) for ``texts``."""
    k = len(CATEGORIES)
    feats = np.zeros((len(texts), len(RULE_FEATURES)))
    normed = []
    for i, t in enumerate(texts):
        norm = normalise(t)
        normed.append(norm.text)
        res, raw = rules.score_normalised(t, norm)
        feats[i, :k] = [res.scores[c] for c in CATEGORIES]
        feats[i, k:] = [raw[c] for c in CATEGORIES]
    return normed, feats


def _vocabulary(ftexts: list[str], n_min: int, n_max: int, min_df: int):
    """Hashes (sorted), texts and document frequencies of n-grams in >= ``min_df`` posts, and
    the (post, vocabulary index) of every occurrence of a kept n-gram."""
    post_all, start_all, length_all, hashes_all = ngram_hashes(ftexts, n_min, n_max)
    # distinct (post, hash) pairs -> document frequency per hash
    order = np.lexsort((start_all, hashes_all, post_all))
    post, start, length, hashes = post_all[order], start_all[order], length_all[order], hashes_all[order]
    first = np.ones(hashes.size, bool)
    first[1:] = (hashes[1:] != hashes[:-1]) | (post[1:] != post[:-1])
    post, start, length, hashes = post[first], start[first], length[first], hashes[first]
    uniq, inverse, df = np.unique(hashes, return_inverse=True, return_counts=True)
    keep = df >= min_df
    vocab_hashes = uniq[keep]
    # the text of each kept n-gram, from its first occurrence; every post's must agree
    first_occ = np.full(uniq.size, -1, np.int64)
    idx = np.arange(hashes.size)[::-1]
    first_occ[inverse[idx]] = idx
    # Whitespace-only n-grams carry no evidence (and would give an empty post a full vector).
    for h_i in np.flatnonzero(keep):
        j = first_occ[h_i]
        if not ftexts[post[j]][start[j]:start[j] + length[j]].strip():
            keep[h_i] = False
    vocab_hashes = uniq[keep]
    texts = []
    for h_i in np.flatnonzero(keep):
        j = first_occ[h_i]
        texts.append(ftexts[post[j]][start[j]:start[j] + length[j]])
    occ = np.flatnonzero(keep[inverse])
    col = np.searchsorted(vocab_hashes, hashes[occ])
    for p_, s_, n_, c_ in zip(post[occ].tolist(), start[occ].tolist(), length[occ].tolist(), col.tolist(), strict=True):
        if ftexts[p_][s_:s_ + n_] != texts[c_]:
            raise RuntimeError("n-gram hash collision in the training vocabulary; change HASH_MULT")
    for t, h in zip(texts, vocab_hashes.tolist(), strict=True):
        if ngram_hash(t) != h:
            raise RuntimeError(f"numpy and Python n-gram hashes disagree on {t!r}")
    # every occurrence (not deduplicated) of a kept n-gram, as inference scores them
    pos = np.searchsorted(vocab_hashes, hashes_all)
    pos[pos == vocab_hashes.size] = 0
    hit = vocab_hashes[pos] == hashes_all
    return vocab_hashes, texts, df[keep], post_all[hit], pos[hit]


def _design(n_posts: int, rows: np.ndarray, cols: np.ndarray, idf: np.ndarray):
    from scipy import sparse  # type: ignore[import-untyped]

    # rows/cols list every OCCURRENCE: duplicates are summed by the sparse constructor, and the
    # norm counts each occurrence once, exactly as model.LinearModel.predict scores posts.
    vals = idf[cols]
    norm2 = np.bincount(rows, weights=vals * vals, minlength=n_posts)
    inv = np.zeros(n_posts)
    np.divide(1.0, np.sqrt(norm2), out=inv, where=norm2 > 0)
    x = sparse.csr_matrix((vals * inv[rows], (rows, cols)), shape=(n_posts, idf.size))
    x.sum_duplicates()
    return x


def _fit_category(x, r: np.ndarray, y: np.ndarray, w: np.ndarray, groups: np.ndarray, cfg: TrainConfig, seed: int):
    """Stage 1: n-gram logistic regression. Stage 2: stack its out-of-fold score with the rules.

    Returns (n-gram weights, n-gram intercept, stage-2 coefficients [a, u_1..u_R, d]).
    """
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.model_selection import StratifiedGroupKFold  # type: ignore[import-untyped]

    def lr() -> LogisticRegression:
        return LogisticRegression(C=cfg["C"], solver="liblinear", class_weight="balanced", random_state=seed,
                                  max_iter=1000, tol=1e-4)

    # Out-of-fold n-gram scores. Folds are grouped by phrasing template (``source``), so each
    # post is scored by a model that never saw its phrasing: stage 2 then learns how far the
    # n-grams can be trusted on NEW phrasings, and how much the rule scores add.
    folds = min(cfg["cv_folds"], len(set(groups[y == 1].tolist())), len(set(groups[y == 0].tolist())))
    oof = np.zeros(y.size)
    model = lr().fit(x, y, sample_weight=w)
    if folds >= 2:
        cv = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
        for tr, te in cv.split(np.zeros(y.size), y, groups):
            if len(set(y[tr].tolist())) < 2:
                oof[te] = model.decision_function(x[te])
                continue
            m = lr().fit(x[tr], y[tr], sample_weight=w[tr])
            oof[te] = m.decision_function(x[te])
    else:
        oof = model.decision_function(x)
    z = np.column_stack([oof, r])
    stack = LogisticRegression(C=cfg["stack_C"], solver="lbfgs", max_iter=2000).fit(z, y, sample_weight=w)
    a, u, d = float(stack.coef_[0, 0]), stack.coef_[0, 1:].astype(np.float64), float(stack.intercept_[0])
    if a < 0:
        # Out of fold, the n-grams anti-correlate with the label (too little data): a negative
        # weight would turn their evidence upside down, so they get none and the rules decide.
        stack = LogisticRegression(C=cfg["stack_C"], solver="lbfgs", max_iter=2000).fit(r, y, sample_weight=w)
        a, u, d = 0.0, stack.coef_[0].astype(np.float64), float(stack.intercept_[0])
    return model.coef_[0].astype(np.float64), float(model.intercept_[0]), (a, u, d)


def _f32(v: float) -> float:
    return float(np.float32(v))


def _bucket(post_id: str) -> int:
    return int(hashlib.sha256(post_id.encode("utf-8")).hexdigest()[:8], 16) % 100


def real_negatives(where: str | Path | None, rules: RuleClassifier, *, weight: float = 1.0
                   ) -> tuple[list[Example], list[Example], dict[str, Any]]:
    """Real everyday tweets as negatives: (for training, for choosing thresholds, provenance).

    Only the Davidson ``calibration`` part is read (the ``heldout`` part is never trained or tuned
    on). ``neither`` tweets are real everyday posts. ``offensive_language``/``hate_speech`` tweets
    (insults, profanity) are negatives too, EXCEPT those in which the rules or the threat grammar
    find any evidence of the hub's categories: a few of those are real threats, and nobody has
    labelled them for our categories, so they are left out rather than taught as harmless.
    """
    from socialhub.classify.realdata import datasets_dir, davidson

    posts = davidson(where, "calibration")
    train: list[Example] = []
    calib: list[Example] = []
    skipped = 0
    for p in posts:
        if p.davidson_class != "neither":
            res, _raw = rules.score_normalised(p.text, normalise(p.text))
            if any(v > 0 for v in res.scores.values()):
                skipped += 1
                continue
        ex = Example(text=p.text, labels=(), group=f"real_{p.davidson_class}", id=p.id, source="davidson2017",
                     weight=weight, extra={"source": f"real:{p.id}"})
        (train if _bucket(p.id) < REAL_TRAIN_BUCKETS else calib).append(ex)
    path = datasets_dir(where) / "davidson2017" / "train.jsonl"
    info = {"path": "davidson2017/train.jsonl (SOCIALHUB_DATASETS)", "sha256": _sha256(path),
            "part": "calibration", "train_negatives": len(train), "threshold_negatives": len(calib),
            "left_out_with_rule_evidence": skipped}
    return train, calib, info


def _fit(examples: list[Example], rules: RuleClassifier, cfg: TrainConfig, seed: int) -> dict[str, Any]:
    texts = [e.text for e in examples]
    normed, rfeats = rule_features(rules, texts)
    ftexts = [feature_text(t) for t in normed]
    hashes, vocab, df, rows, cols = _vocabulary(ftexts, cfg["ngram_min"], cfg["ngram_max"], cfg["min_df"])
    n = len(examples)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    idf = idf.astype(np.float32).astype(np.float64)
    x = _design(n, rows, cols, idf)
    w = np.array([e.weight for e in examples])
    # CV groups: the template a post was generated from, else the post itself.
    groups = np.array([str(e.extra.get("source") or "") if str(e.extra.get("source") or "").startswith("template:")
                       else f"post:{i}" for i, e in enumerate(examples)])
    coef = np.zeros((len(vocab), len(CATEGORIES)))
    rule_coef = np.zeros((len(RULE_FEATURES), len(CATEGORIES)))
    intercept, calibration = [], []
    for c, cat in enumerate(CATEGORIES):
        y = np.array([1 if cat in e.labels else 0 for e in examples])
        if y.sum() == 0 or y.sum() == n:
            raise DatasetError(f"training data needs posts with and without {cat!r}")
        beta, b, (a, u, d) = _fit_category(x, rfeats, y, w, groups, cfg, seed)
        coef[:, c] = beta
        rule_coef[:, c] = u
        intercept.append(_f32(b))
        calibration.append([_f32(a), _f32(d)])
    return {
        "format": MODEL_FORMAT,
        "categories": list(CATEGORIES),
        "rule_features": list(RULE_FEATURES),
        "lexicon_version": rules.lexicon.version,
        "ngram_range": [cfg["ngram_min"], cfg["ngram_max"]],
        "vocabulary": vocab,
        "hashes": encode_array(hashes, "uint64"),
        "idf": encode_array(idf, "float32"),
        "coef": encode_array(coef, "float32"),
        "rule_coef": encode_array(rule_coef, "float32"),
        "intercept": intercept,
        "calibration": calibration,
    }


# --------------------------------------------------------------------------- thresholds

def cap_real_fpr(thresholds: dict[str, float], real_scores: np.ndarray, max_fpr: float) -> dict[str, float]:
    """Raise a threshold until at most ``max_fpr`` of the real everyday posts (``real_scores``) pass it.

    Real negatives outnumber the written dev posts' negatives and are what production looks like,
    so they bound how low a threshold may go; the dev recall it costs is printed by the caller.
    """
    out = dict(thresholds)
    if real_scores.size == 0:
        return out
    n = real_scores.shape[0]
    for c, cat in enumerate(CATEGORIES):
        t = out[cat]
        while t < 0.99 and float(np.sum(real_scores[:, c] >= t)) / n > max_fpr:
            t = round(t + 0.01, 2)
        out[cat] = t
    return out


#: Benign dev groups smaller than this do not cap thresholds (too few posts for a rate).
MIN_GROUP_POSTS = 20

#: Thresholds: the highest whose dev F1 is within this of the best (see ``choose_thresholds``).
F1_TOLERANCE = 0.01


def cap_group_fpr(thresholds: dict[str, float], gold: list[tuple[str, ...]], groups: list[str | None],
                  scores: np.ndarray, max_fpr: float, *, min_posts: int = MIN_GROUP_POSTS) -> dict[str, float]:
    """Raise a threshold until, in EVERY benign group of the dev set with at least ``min_posts``
    posts (cooking, sport, gaming, music, news, benign slang, everyday), at most ``max_fpr`` of the
    posts pass it.

    Why: F1 on dev barely notices a few kitchen knives or FIFA posts flagged, but the officers
    (and the people who write that way) do; and the fairness figure is the worst benign slice, not
    the average. The groups are the dev set's own near-miss posts, never the test split or the suite.
    """
    out = dict(thresholds)
    benign = [i for i, g in enumerate(gold) if not g]
    by_group: dict[str, list[int]] = {}
    for i in benign:
        if groups[i]:
            by_group.setdefault(str(groups[i]), []).append(i)
    slices = [np.array(ix) for ix in by_group.values() if len(ix) >= min_posts]
    for c, cat in enumerate(CATEGORIES):
        t = out[cat]
        while t < 0.99 and any(float(np.mean(scores[ix, c] >= t)) > max_fpr for ix in slices):
            t = round(t + 0.01, 2)
        out[cat] = t
    return out


def choose_thresholds(gold: list[tuple[str, ...]], scores: np.ndarray, *, vt_recall: float | None = None,
                      f1_tolerance: float = F1_TOLERANCE) -> dict[str, float]:
    """Per-category thresholds from dev scores (``scores[i, c]``; ``gold[i]`` the true labels).

    Each category: the HIGHEST threshold whose F1 is within ``f1_tolerance`` of the best F1.
    Why not the best F1 itself: on the grouped dev split F1 is flat over a wide range (0.67 to
    0.71 for violence_threat between 0.03 and 0.3), and the low end of that plateau flags
    kitchen knives and FIFA banter that dev does not contain; among equally good thresholds the
    one that sends officers fewer posts is chosen. With ``vt_recall`` (the old rule, kept for
    comparison) violence_threat takes the highest threshold whose recall is >= it instead.
    Thresholds are rounded down to 0.01 and kept in [0.01, 0.99].
    """
    out: dict[str, float] = {}
    for c, cat in enumerate(CATEGORIES):
        y = np.array([cat in g for g in gold])
        s = scores[:, c]
        cands = np.unique(np.floor(s * 100) / 100)
        cands = cands[(cands >= 0.01) & (cands <= 0.99)]
        if cands.size == 0 or not y.any():
            out[cat] = 0.5
            continue
        f1s, recalls = [], []
        for t in cands:
            pred = s >= t
            tp = float(np.sum(pred & y))
            fp = float(np.sum(pred & ~y))
            fn = float(np.sum(~pred & y))
            recalls.append(tp / (tp + fn) if tp + fn else 0.0)
            f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        if cat == "violence_threat" and vt_recall is not None:
            ok = [float(t) for t, r in zip(cands, recalls, strict=True) if r >= vt_recall]
            best_t = ok[-1] if ok else float(cands[0])
        else:
            top = max(f1s)
            best_t = max(float(t) for t, f in zip(cands, f1s, strict=True) if f >= top - f1_tolerance)
        out[cat] = round(max(0.01, min(0.99, best_t)), 2)
    return out


_THRESH_LINE = re.compile(r"^(\s+)(violence_threat|weapon|gang_affiliation|drug_supply):\s*[0-9.]+(.*)$")


def write_thresholds(path: Path, thresholds: dict[str, float], model_version: str) -> None:
    """Put ``thresholds`` under the ``thresholds:`` key of a thresholds YAML file, keeping comments.

    Also sets ``model_version`` (the model they were chosen for). Only the values change, so
    the file's documentation survives and the diff shows exactly what moved.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    out, section, seen_mv = [], None, False
    for line in lines:
        top = re.match(r"^([a-z_]+):", line)
        if top:
            section = top.group(1)
            if section == "model_version":
                line = f'model_version: "{model_version}"'
                seen_mv = True
        m = _THRESH_LINE.match(line)
        if m and section == "thresholds":
            line = f"{m.group(1)}{m.group(2)}: {thresholds[m.group(2)]}{m.group(3)}"
        out.append(line)
    if not seen_mv:
        out.append(f'model_version: "{model_version}"')
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- the command

def run_train(train_path: str | Path, *, out_dir: str | Path = DEFAULT_MODEL_DIR,
              feedback: str | Path | Sequence[str | Path] | None = None, seed: int = 0,
              dev: str | Path | None = None, lexicon_path: str | Path | None = None,
              thresholds_path: str | Path | None = None, write_thresholds_file: bool = False,
              real: str | Path | None = None, out: TextIO | None = None, **options: Any) -> dict[str, Any]:
    """Train a model from ``train_path`` (+ feedback files), write it to ``out_dir``; return the manifest.

    ``options`` override ``DEFAULTS`` (``C``, ``ngram_min``, ``ngram_max``, ``min_df``, ...).
    Raises ``DatasetError`` for a malformed input file (naming the line).
    """
    from socialhub.classify.combined import CombinedClassifier

    out = out or sys.stdout
    cfg = TrainConfig(**options)
    train_p = Path(train_path)
    examples = read_labelled(train_p)
    fb_paths = [Path(feedback)] if isinstance(feedback, (str, Path)) else [Path(f) for f in feedback or []]
    fb_examples: list[Example] = []
    for fp in fb_paths:
        fb_examples += feedback_examples(read_feedback(fp), weight=cfg["feedback_weight"])
    merged = merge_feedback(examples, fb_examples)
    rules = RuleClassifier.from_files(lexicon_path, thresholds_path)
    real_train: list[Example] = []
    real_calib: list[Example] = []
    real_info: dict[str, Any] | None = None
    if real is not None:
        real_train, real_calib, real_info = real_negatives(real, rules, weight=cfg["real_weight"])
        print(f"real negatives from {real}: {len(real_train)} for training, {len(real_calib)} for thresholds "
              f"({real_info['left_out_with_rule_evidence']} offensive tweets with rule evidence left out)", file=out)
        merged = merged + real_train
    data = _fit(merged, rules, cfg, seed)

    blob = (json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
    digest = hashlib.sha256(blob).hexdigest()
    model_version = f"lr1-{digest[:12]}"
    counts = {c: sum(1 for e in merged if c in e.labels) for c in CATEGORIES}
    manifest: dict[str, Any] = {
        "model_version": model_version,
        "format": MODEL_FORMAT,
        "files": {MODEL_FILE: {"sha256": digest, "bytes": len(blob)}},
        "lexicon_version": rules.lexicon.version,
        "training": {
            "command": "python -m socialhub.classify.train",
            "seed": seed,
            "config": dict(cfg),
            "data": [{"path": train_p.as_posix(), "sha256": _sha256(train_p), "examples": len(examples)}]
            + [{"path": fp.as_posix(), "sha256": _sha256(fp), "kind": "feedback"} for fp in fb_paths]
            + ([dict(real_info, kind="real negatives")] if real_info else []),
            "examples": len(merged),
            "feedback_examples": len(fb_examples),
            "positives": counts,
            "no_label": sum(1 for e in merged if not e.labels),
            "vocabulary": len(data["vocabulary"]),
            "versions": {"python": platform.python_version(), "numpy": np.__version__,
                         "scikit-learn": __import__("sklearn").__version__},
        },
    }
    out_p = Path(out_dir)
    out_p.mkdir(parents=True, exist_ok=True)
    model_path = out_p / MODEL_FILE
    model_path.write_bytes(blob)
    model = LinearModel(data, version=model_version)
    manifest["top_features"] = {c: [list(f) for f in model.top_features(i, 15)] for i, c in enumerate(CATEGORIES)}

    print(f"trained {model_version}: {len(merged)} posts ({len(fb_examples)} from feedback), "
          f"vocabulary {len(data['vocabulary'])} n-grams, {len(blob) / 1e6:.2f} MB", file=out)
    if dev is not None:
        dev_p = Path(dev)
        dev_ex = read_labelled(dev_p)
        combined = CombinedClassifier(rules, model, dict.fromkeys(CATEGORIES, 0.5))
        results = combined.classify_batch([e.text for e in dev_ex])
        scores = np.array([[r.scores[c] for c in CATEGORIES] for r in results])
        chosen = choose_thresholds([e.labels for e in dev_ex], scores, vt_recall=cfg["vt_recall"])
        rule = (f"violence_threat: highest with recall >= {cfg['vt_recall']}; others: " if cfg["vt_recall"] else
                "each: ") + f"the highest threshold whose F1 is within {F1_TOLERANCE} of the best"
        chosen = cap_group_fpr(chosen, [e.labels for e in dev_ex], [e.group for e in dev_ex], scores,
                               cfg["max_group_fpr"])
        rule += (f"; then raised until at most {cfg['max_group_fpr']} of every benign dev group "
                 f"(>= {MIN_GROUP_POSTS} posts) passes")
        if real_calib:
            real_res = combined.classify_batch([e.text for e in real_calib])
            real_scores = np.array([[r.scores[c] for c in CATEGORIES] for r in real_res])
            on_dev = chosen
            chosen = cap_real_fpr(on_dev, real_scores, cfg["max_real_fpr"])
            rule += f"; then raised until at most {cfg['max_real_fpr']} of {len(real_calib)} real everyday posts pass"
            for c, cat in enumerate(CATEGORIES):
                y = np.array([cat in e.labels for e in dev_ex])
                rec = float(np.sum((scores[:, c] >= chosen[cat]) & y)) / max(1, int(y.sum()))
                fpr = float(np.mean(real_scores[:, c] >= chosen[cat]))
                print(f"  {cat:16s} dev-chosen {on_dev[cat]:.2f} -> {chosen[cat]:.2f}: dev recall {rec:.3f}, "
                      f"real FPR {fpr:.4f}", file=out)
        manifest["thresholds"] = {"chosen_on": dev_p.as_posix(), "dev_sha256": _sha256(dev_p),
                                  "rule": rule, "values": chosen}
        print(f"thresholds chosen on {dev_p}: {json.dumps(chosen)}", file=out)
        if write_thresholds_file:
            tp = Path(thresholds_path) if thresholds_path else DEFAULT_THRESHOLDS_PATH
            write_thresholds(tp, chosen, model_version)
            print(f"wrote them to {tp} (check the diff, bump its version, commit)", file=out)
    (out_p / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    print(f"wrote {model_path} and {out_p / MANIFEST_FILE}", file=out)
    return manifest


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m socialhub.classify.train",
        description="Train the classifier's statistical model from labelled JSON Lines (+ officers' feedback) "
                    "and write a versioned artifact (model.json + manifest.json).",
        epilog="Example: python -m socialhub.classify.train data/labelled/train.jsonl --dev data/labelled/dev.jsonl "
               "--write-thresholds")
    p.add_argument("train", help="labelled JSONL: {\"text\": ..., \"labels\": [...]} per line")
    p.add_argument("--dev", help="labelled JSONL to choose thresholds on (never the test split)")
    p.add_argument("--feedback", action="append", default=[], metavar="FILE",
                   help="officers' decisions JSONL (repeatable); merged into the training data")
    p.add_argument("--out", default=str(DEFAULT_MODEL_DIR), help="artifact directory (default: the packaged model/)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--lexicon", help="lexicon YAML for the rule features (default: the packaged one)")
    p.add_argument("--thresholds", help="thresholds YAML (default: the packaged one)")
    p.add_argument("--write-thresholds", action="store_true",
                   help="write the thresholds chosen on --dev into the thresholds file (values only)")
    p.add_argument("--C", type=float, help=f"inverse regularisation strength (default: {DEFAULTS['C']})")
    p.add_argument("--min-df", type=int, help=f"keep n-grams in at least this many posts (default: {DEFAULTS['min_df']})")
    p.add_argument("--ngram-max", type=int, help=f"longest character n-gram (default: {DEFAULTS['ngram_max']})")
    p.add_argument("--real", metavar="DIR",
                   help="datasets folder with davidson2017/ (e.g. ../shared/datasets): its calibration part adds "
                        "real everyday posts as negatives and caps each threshold's false-positive rate on them")
    p.add_argument("--max-real-fpr", type=float,
                   help=f"highest share of real everyday posts a threshold may flag (default: {DEFAULTS['max_real_fpr']})")
    p.add_argument("--vt-recall", type=float,
                   help="instead of the F1 rule, violence_threat takes the highest threshold keeping this recall on --dev "
                        "(default: the F1 rule for every category)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.write_thresholds and not args.dev:
        print("error: --write-thresholds needs --dev", file=sys.stderr)
        return 2
    try:
        run_train(args.train, out_dir=args.out, feedback=args.feedback, seed=args.seed, dev=args.dev,
                  lexicon_path=args.lexicon, thresholds_path=args.thresholds,
                  write_thresholds_file=args.write_thresholds, C=args.C, min_df=args.min_df,
                  ngram_max=args.ngram_max, vt_recall=args.vt_recall, real=args.real,
                  max_real_fpr=args.max_real_fpr)
    except (DatasetError, ConfigError, SocialhubError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
