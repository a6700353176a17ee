"""Exact radius search over PDQ hashes (issue 16): "which list entries are within Hamming distance d
of this image's hash?", answered in well under 10 ms at 1,000,000 hashes.

Exact, never approximate: a missed neighbour would be a missed re-upload of known content. The
method is multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with
Multi-Index Hashing", CVPR 2012):

* the 256 bits are cut into ``m = 16`` chunks of 16 bits;
* pigeonhole: if two hashes differ in at most ``d`` bits, at least one of the 16 chunks differs in
  at most ``r = d // 16`` bits (otherwise all 16 would differ in ``r + 1`` or more, ``16 (r + 1) > d``);
* so for each chunk the index looks up every 16-bit value within ``r`` bits of the query's chunk
  (for the default ``d = 31``: ``r = 1``, the value and its 16 one-bit flips, 17 buckets per chunk,
  272 in all), takes the union of the entries found there, and checks each candidate's exact
  distance (XOR and ``np.bitwise_count`` over four 64-bit words). Every true neighbour is a
  candidate, and only candidates within ``d`` are returned: the answer is exact for any ``d`` in
  0..256.
* When the buckets to visit would hold an eighth of the list or more (large ``d``: from ``d = 48``,
  ``r = 3`` and 697 values per chunk), gathering them at random costs more than reading everything
  in order, so the index scans everything instead (as ``brute_force``).

Per chunk the entries are kept sorted by that chunk's value (a stable radix ``argsort`` of uint16,
``uint32`` positions) with a 65,537-entry offset table per chunk (counting sort), so a bucket is
``order[c, start[c, v]:start[c, v + 1]]`` and all 272 buckets are gathered in one vectorised step.

Memory per entry: 32 bytes of hash (4 x uint64) + 16 chunks x 4 bytes of sorted position = 96
bytes, plus a fixed 8.4 MB of offset tables (16 x 65,537 x 8 bytes), plus the id strings (a Python
list: about 60-80 bytes each for short ids). At 1,000,000 hashes: about 100 MiB of arrays.
``PDQIndex.nbytes`` reports the arrays' size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

HEX_LEN = 64
CHUNK_BITS = 16
N_CHUNKS = 256 // CHUNK_BITS          # 16
N_VALUES = 1 << CHUNK_BITS            # 65,536 values per chunk
WORDS = 4                             # 4 x 64-bit words per hash
DEFAULT_MAX_DISTANCE = 31
# Above this many bucket probes (16 chunks x the values within r bits) the expected candidates
# reach an eighth of the list (each bucket holds n / 65,536 entries on average), and gathering them
# at random costs more than scanning everything in order (measured: bench/bench_media_index.py;
# d <= 47 probes at most 2,192 buckets, d = 48..63 probe 11,152 and scan).
DEFAULT_MAX_PROBES = N_VALUES // 8

_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")


def is_pdq_hex(value: object) -> bool:
    """True for a PDQ hash written as 64 hexadecimal characters (either case)."""
    return isinstance(value, str) and _HEX_RE.fullmatch(value) is not None


def _bad_hash_message(value: object) -> str:
    shown = repr(value) if not isinstance(value, str) or len(value) <= 80 else repr(value[:77] + "...")
    return (f"not a PDQ hash: {shown} (expected 64 hexadecimal characters, the ThreatExchange way of "
            "writing the 256 bits)")


def parse_hex(h: str) -> np.ndarray:
    """One PDQ hash (64 hex chars) as 4 uint64 words, most significant first. ``ValueError`` naming
    the value otherwise."""
    if not is_pdq_hex(h):
        raise ValueError(_bad_hash_message(h))
    return np.frombuffer(bytes.fromhex(h), dtype=">u8").astype(np.uint64)


def parse_hex_many(hashes: Sequence[str]) -> np.ndarray:
    """Many PDQ hashes as an ``(n, 4)`` uint64 array, vectorised (one ``bytes.fromhex`` for all).
    ``ValueError`` naming the first bad value."""
    n = len(hashes)
    if n == 0:
        return np.empty((0, WORDS), dtype=np.uint64)
    try:
        joined = "".join(hashes)
        raw = bytes.fromhex(joined) if len(joined) == HEX_LEN * n else b""
    except (TypeError, ValueError):
        raw = b""
    # bytes.fromhex skips whitespace, so the byte count catches " " inside a value as well
    if len(raw) != 32 * n or any(len(h) != HEX_LEN for h in hashes):
        for h in hashes:
            if not is_pdq_hex(h):
                raise ValueError(_bad_hash_message(h))
        raise ValueError("not PDQ hashes (expected 64 hexadecimal characters each)")  # pragma: no cover
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(n, WORDS)


def to_hex(words: np.ndarray) -> str:
    """Back from 4 uint64 words to 64 lowercase hex chars."""
    return np.asarray(words, dtype=np.uint64).astype(">u8").tobytes().hex()


def hamming_words(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.bitwise_count(np.bitwise_xor(a, b)).sum())


@lru_cache(maxsize=32)
def _flip_masks(radius: int) -> np.ndarray:
    """Every 16-bit mask with at most ``radius`` bits set (XOR a chunk value with these to get the
    values within ``radius`` bits of it)."""
    allv = np.arange(N_VALUES, dtype=np.uint32)
    masks = allv[np.bitwise_count(allv) <= radius]
    masks.setflags(write=False)
    return masks


def _chunks(words: np.ndarray) -> np.ndarray:
    """``(n, 4)`` uint64 -> ``(16, n)`` uint16 chunk values, chunk c = bits 16c..16c+15 from the top."""
    n = words.shape[0]
    out = np.empty((N_CHUNKS, n), dtype=np.uint16)
    for c in range(N_CHUNKS):
        shift = np.uint64(48 - CHUNK_BITS * (c % 4))
        out[c] = ((words[:, c // 4] >> shift) & np.uint64(0xFFFF)).astype(np.uint16)
    return out


class PDQIndex:
    """Exact Hamming-radius search over PDQ hashes. Ids are any strings (several entries may share
    a hash, and ids need not be unique). Add with ``add``/``add_many``; the chunk tables are (re)built
    lazily on the first search after adds."""

    def __init__(self, *, max_probes: int = DEFAULT_MAX_PROBES) -> None:
        self._words = np.empty((0, WORDS), dtype=np.uint64)
        self._pending: list[np.ndarray] = []
        self._ids: list[str] = []
        self._order: np.ndarray | None = None       # (16, n) uint32: positions sorted by chunk value
        self._starts: np.ndarray | None = None      # (16, 65537) int64: bucket offsets per chunk
        self.max_probes = max_probes

    # -- building -------------------------------------------------------------------------------
    def add_many(self, hashes: Sequence[str], ids: Sequence[str]) -> None:
        if len(hashes) != len(ids):
            raise ValueError(f"{len(hashes)} hashes but {len(ids)} ids: give one id per hash")
        words = parse_hex_many(hashes)
        if not len(words):
            return
        self._pending.append(words)
        self._ids.extend(str(i) for i in ids)
        self._order = self._starts = None

    def add(self, hash_hex: str, id: str) -> None:  # noqa: A002 - the natural name
        self.add_many([hash_hex], [id])

    def add_words(self, words: np.ndarray, ids: Sequence[str]) -> None:
        """Add already parsed ``(n, 4)`` uint64 hashes (the benchmark's 1,000,000 random ones)."""
        words = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1, WORDS)
        if len(words) != len(ids):
            raise ValueError(f"{len(words)} hashes but {len(ids)} ids: give one id per hash")
        self._pending.append(words)
        self._ids.extend(str(i) for i in ids)
        self._order = self._starts = None

    def __len__(self) -> int:
        return len(self._ids)

    def _flush(self) -> np.ndarray:
        if self._pending:
            self._words = np.concatenate([self._words, *self._pending])
            self._pending = []
        return self._words

    def build(self) -> None:
        """Build the chunk tables now (otherwise done by the first search)."""
        words = self._flush()
        n = len(words)
        chunks = _chunks(words)
        order = np.empty((N_CHUNKS, n), dtype=np.uint32)
        starts = np.zeros((N_CHUNKS, N_VALUES + 1), dtype=np.int64)
        for c in range(N_CHUNKS):
            order[c] = np.argsort(chunks[c], kind="stable")  # radix sort for uint16
            np.cumsum(np.bincount(chunks[c], minlength=N_VALUES), out=starts[c, 1:])
        self._order, self._starts = order, starts

    @property
    def nbytes(self) -> int:
        """Bytes held in arrays (hashes, sorted positions, offset tables); ids not included."""
        self._ensure()
        assert self._order is not None and self._starts is not None
        return int(self._words.nbytes + self._order.nbytes + self._starts.nbytes)

    def _ensure(self) -> None:
        if self._order is None or self._pending:
            self.build()

    # -- searching ------------------------------------------------------------------------------
    @staticmethod
    def _check_distance(max_distance: int) -> int:
        if isinstance(max_distance, bool) or not isinstance(max_distance, (int, np.integer)):
            raise ValueError(f"max_distance must be an integer 0..256, not {max_distance!r}")
        d = int(max_distance)
        if d < 0 or d > 256:
            raise ValueError(f"max_distance must be 0..256 (bits of a PDQ hash), not {d}")
        return d

    def _answer(self, cand: np.ndarray | None, q: np.ndarray, d: int) -> list[tuple[str, int]]:
        """Exact distances of the candidates (``None``: every entry), those within ``d``, sorted."""
        words = self._words if cand is None else self._words[cand]
        dist = np.bitwise_count(words ^ q).sum(axis=1, dtype=np.int64)
        keep = np.flatnonzero(dist <= d)
        pos, near = (keep, dist[keep]) if cand is None else (cand[keep], dist[keep])
        if cand is not None and len(pos) > 1:
            # an entry close in several chunks is a candidate several times: dedupe the hits only
            # (few), not the candidates (thousands)
            pos, first = np.unique(pos, return_index=True)
            near = near[first]
        hits = [(self._ids[i], int(x)) for i, x in zip(pos.tolist(), near.tolist(), strict=True)]
        hits.sort(key=lambda t: (t[1], t[0]))
        return hits

    def brute_force(self, hash_hex: str, max_distance: int = DEFAULT_MAX_DISTANCE) -> list[tuple[str, int]]:
        """The same answer as ``search`` by scanning every entry (the baseline and the exactness check)."""
        q = parse_hex(hash_hex)
        d = self._check_distance(max_distance)
        words = self._flush()
        if not len(words):
            return []
        return self._answer(None, q, d)

    def candidates(self, q: np.ndarray, d: int) -> np.ndarray | None:
        """Positions of the entries sharing a chunk within ``d // 16`` bits with ``q`` (an entry
        close in several chunks appears several times), or ``None`` when a full scan is cheaper."""
        self._ensure()
        assert self._order is not None and self._starts is not None
        n = len(self._words)
        masks = _flip_masks(d // N_CHUNKS)
        if N_CHUNKS * len(masks) > self.max_probes:
            return None
        qchunks = _chunks(q.reshape(1, WORDS))[:, 0].astype(np.uint32)         # (16,)
        values = (qchunks[:, None] ^ masks[None, :]).astype(np.int64)            # (16, V)
        rows = np.arange(N_CHUNKS)[:, None]
        lo = self._starts[rows, values].ravel()
        hi = self._starts[rows, values + 1].ravel()
        lengths = hi - lo
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        base = (np.repeat(np.arange(N_CHUNKS, dtype=np.int64), values.shape[1]) * n) + lo
        # ranges -> flat indices without a Python loop: each range's start repeated over its length,
        # plus 0..len-1 within it
        ends = np.cumsum(lengths)
        flat = np.repeat(base - (ends - lengths), lengths) + np.arange(total, dtype=np.int64)
        return self._order.ravel()[flat].astype(np.int64)

    def search(self, hash_hex: str, max_distance: int = DEFAULT_MAX_DISTANCE) -> list[tuple[str, int]]:
        """``(id, distance)`` of every entry within ``max_distance`` bits, nearest first (then by id)."""
        q = parse_hex(hash_hex)
        d = self._check_distance(max_distance)
        if not len(self):
            return []
        cand = self.candidates(q, d)
        if cand is None:
            return self._answer(None, q, d)
        if not len(cand):
            return []
        return self._answer(cand, q, d)

    def search_many(self, hashes: Iterable[str],
                    max_distance: int = DEFAULT_MAX_DISTANCE) -> list[list[tuple[str, int]]]:
        return [self.search(h, max_distance) for h in hashes]


__all__ = ["PDQIndex", "parse_hex", "parse_hex_many", "to_hex", "is_pdq_hex", "DEFAULT_MAX_DISTANCE"]
