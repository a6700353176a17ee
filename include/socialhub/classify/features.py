"""Character n-gram features for the statistical model, computed for a whole batch at once in numpy.

Why this design: the model must add little to the rule classifier's cost per post (the whole
layer's target is 5,000 short posts/s per core) and the same code must produce the features at
training and at inference time, or the model silently scores something other than what it
learned. So there is exactly one featuriser, this one, used by ``train.py`` and ``model.py``.

How: every post's normalised text (``normalise.normalise``, so evasions such as ``5h4nk`` or
``sh\\u200bank`` already read ``shank``) is padded with a space at each end, whitespace is
made a plain space (one character for one, so positions still map back), and the batch is
joined with NUL separators into ONE array of code points. The polynomial hash of every
character n-gram (``n_min..n_max``) is then computed for all positions with a few whole-array
operations, n-grams that straddle two posts are dropped, and each hash is looked up in the
model's sorted vocabulary of hashes with ``np.searchsorted``. No Python loop runs per n-gram.

The hash is a 64-bit polynomial hash of the code points (wrapping arithmetic, identical in
numpy and in ``ngram_hash`` below). Two different n-grams of at most ~8 characters sharing a
hash is astronomically unlikely, and the vocabulary stores each n-gram's text next to its hash,
so training checks there is no collision among the features it keeps.

Feature values: each OCCURRENCE of a vocabulary n-gram adds its IDF, and the post's vector is
divided by sqrt(sum over its occurrences of IDF^2), an L2 normalisation in which every occurrence
counts once. In short posts n-grams rarely repeat, so this is nearly binary TF-IDF with L2
normalisation; scoring it needs no per-post deduplication (no sort), which keeps the model cheap.
Positions are only computed for the few posts whose score is explained (``present_features``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["HASH_MULT", "NgramBatch", "VocabIndex", "feature_text", "ngram_hash", "ngram_hashes", "occurrences",
           "present_features"]

#: Multiplier of the polynomial hash (odd, so multiplication is a bijection mod 2**64).
HASH_MULT = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
_U_MULT = np.uint64(HASH_MULT)

# Every whitespace character -> one space (1:1, so offsets are unchanged); NUL is reserved as the
# post separator and becomes a space too.
_WS = {ord(c): " " for c in "\t\n\r\x0b\x0c\x00\x85\u2028\u2029"}


# @mentions and links: the model must not learn that a particular account or site means a label
# (that would be profiling, and it would not generalise); they become "@" / "http" plus spaces.
_MASK = re.compile(r"(?<![\w@])@[\w.]+|https?://\S+|www\.\S+")


def _mask(m: re.Match[str]) -> str:
    s = m.group(0)
    keep = "@" if s.startswith("@") else "http"
    return keep + " " * (len(s) - len(keep))


def feature_text(normalised: str) -> str:
    """The string n-grams are taken from: `` <normalised text, whitespace as spaces> ``.

    @mentions and links are masked (``@tallz_07`` -> ``@`` and spaces) so no account name or
    URL becomes a feature. Character ``i`` of the normalised text is character ``i + 1`` here.
    """
    t = normalised.translate(_WS)
    if "@" in t or "http" in t or "www." in t:
        t = _MASK.sub(_mask, t)
    return " " + t + " "


def ngram_hash(ngram: str) -> int:
    """The hash of one n-gram, exactly as ``ngram_hashes`` computes it (for vocabularies, tests)."""
    h = 0
    for ch in ngram:
        h = (h * HASH_MULT + ord(ch)) & _MASK64
    # Mix in the length so "ab" and a longer n-gram hashing alike by accident stay apart.
    return (h * HASH_MULT + len(ngram)) & _MASK64


def ngram_hashes(texts: Sequence[str], n_min: int, n_max: int, *, positions: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of every character n-gram of every text, vectorised over the whole batch.

    ``texts`` are feature texts (``feature_text``). Returns ``(post, start, length, hash)``:
    for each n-gram occurrence the index of its post, its start inside that post's feature text,
    its length and its hash (``uint64``). Occurrences are not deduplicated. With
    ``positions=False`` ``start`` and ``length`` are empty (scoring does not need them).
    """
    if not 1 <= n_min <= n_max:
        raise ValueError(f"bad n-gram range {n_min}..{n_max}")
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint64))
    if not texts:
        return empty
    joined = "\x00".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    size = codes.size
    sep = codes == 0
    # seps_before[k] = separators in codes[:k]; the post of position i is seps_before[i].
    seps_before = np.zeros(size + 1, np.int64)
    np.cumsum(sep, out=seps_before[1:])
    # Start offset of each post in the joined string, to turn positions into in-post offsets.
    post_starts = np.concatenate(([0], np.flatnonzero(sep) + 1))

    posts, starts, lengths, hashes = [], [], [], []
    h = np.zeros(size, np.uint64)
    with np.errstate(over="ignore"):
        for n in range(1, n_max + 1):
            m = size - n + 1
            if m <= 0:
                break
            h = h[:m] * _U_MULT + codes[n - 1:n - 1 + m]
            if n < n_min:
                continue
            ok = seps_before[n:n + m] == seps_before[:m]
            idx = np.flatnonzero(ok)
            post = seps_before[idx]
            posts.append(post)
            if positions:
                starts.append(idx - post_starts[post])
                lengths.append(np.full(idx.size, n, np.int64))
            hashes.append(h[idx] * _U_MULT + np.uint64(n))
    if not hashes:
        return empty
    if not positions:
        return np.concatenate(posts), empty[1], empty[2], np.concatenate(hashes)
    return np.concatenate(posts), np.concatenate(starts), np.concatenate(lengths), np.concatenate(hashes)


@dataclass(frozen=True, slots=True)
class NgramBatch:
    """The distinct vocabulary features present in each post of a batch (sorted by post, feature).

    ``post[k]`` has feature ``feature[k]`` (an index into the vocabulary) ``count[k]`` times;
    ``first[k]`` is the start of its first occurrence in that post's feature text and
    ``length[k]`` its length. ``bounds[p]:bounds[p + 1]`` is post ``p``'s slice.
    """

    n_posts: int
    post: np.ndarray
    feature: np.ndarray
    first: np.ndarray
    length: np.ndarray
    bounds: np.ndarray
    count: np.ndarray


class VocabIndex:
    """Hash -> vocabulary index lookup for whole arrays: a direct-address table, then a check.

    The top ``bits`` bits of a hash pick a slot holding ``index + 1`` of the one vocabulary
    hash with those bits (0: none, -1: several, resolved by binary search). One gather and one
    comparison per n-gram instead of a binary search: about 4x faster than ``np.searchsorted``.
    """

    def __init__(self, vocab_hashes: np.ndarray, bits: int = 20) -> None:
        self.hashes = vocab_hashes
        self.shift = np.uint64(64 - bits)
        slots = (vocab_hashes >> self.shift).astype(np.int64)
        table = np.zeros(1 << bits, np.int32)
        table[slots] = np.arange(1, vocab_hashes.size + 1, dtype=np.int32)
        uniq, counts = np.unique(slots, return_counts=True)
        table[uniq[counts > 1]] = -1
        self.table = table

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(index, found)`` for each hash; ``index`` is meaningless where not ``found``."""
        v = self.hashes.size
        if not v or not hashes.size:
            return np.zeros(hashes.size, np.int64), np.zeros(hashes.size, bool)
        t = self.table[(hashes >> self.shift).astype(np.int64)]
        pos = t.astype(np.int64) - 1
        shared = t < 0
        if shared.any():
            p = np.searchsorted(self.hashes, hashes[shared])
            p[p == v] = 0
            pos[shared] = p
        np.maximum(pos, 0, out=pos)
        return pos, (t != 0) & (self.hashes[pos] == hashes)


def present_features(texts: Sequence[str], vocab: np.ndarray | VocabIndex, n_min: int, n_max: int) -> NgramBatch:
    """Look every n-gram of ``texts`` (feature texts) up in the vocabulary (sorted ``uint64`` hashes)."""
    post, start, length, hashes = ngram_hashes(texts, n_min, n_max)
    index = vocab if isinstance(vocab, VocabIndex) else VocabIndex(vocab)
    v = index.hashes.size
    pos, hit = index.lookup(hashes)
    post, start, length, feat = post[hit], start[hit], length[hit], pos[hit].astype(np.int64)
    # One entry per (post, feature). Occurrences of one n-gram in one post all have the same
    # length, and ngram_hashes lists them in increasing start order, so the first index that
    # np.unique returns for a key is the first occurrence.
    key = post * max(v, 1) + feat
    _, sel, count = np.unique(key, return_index=True, return_counts=True)
    post, feat, start, length = post[sel], feat[sel], start[sel], length[sel]
    bounds = np.searchsorted(post, np.arange(len(texts) + 1))
    return NgramBatch(len(texts), post, feat, start, length, bounds, count)


def occurrences(texts: Sequence[str], index: VocabIndex, n_min: int, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """``(post, feature)`` for every occurrence of a vocabulary n-gram in ``texts`` (for scoring)."""
    post, _, _, hashes = ngram_hashes(texts, n_min, n_max, positions=False)
    pos, hit = index.lookup(hashes)
    return post[hit], pos[hit]
