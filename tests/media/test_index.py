"""PDQIndex (issue 16): multi-index search is exact, i.e. equal to a full scan, at every distance."""

from __future__ import annotations

import numpy as np
import pytest

from socialhub.media.index import PDQIndex, parse_hex, parse_hex_many, to_hex


def rand_hashes(rng: np.random.Generator, n: int) -> list[str]:
    return [rng.bytes(32).hex() for _ in range(n)]


def flip(h: str, k: int, rng: np.random.Generator) -> str:
    """``h`` with exactly ``k`` distinct bits flipped (so at distance exactly ``k``)."""
    value = int(h, 16)
    for b in rng.choice(256, size=k, replace=False):
        value ^= 1 << int(b)
    return f"{value:064x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def test_planted_neighbours_are_found_exactly():
    rng = np.random.default_rng(16)
    base = rand_hashes(rng, 5000)
    query = rand_hashes(rng, 1)[0]
    planted = {f"at{k}": flip(query, k, rng) for k in (0, 1, 15, 31, 32, 40)}
    idx = PDQIndex()
    idx.add_many(base, [f"r{i}" for i in range(len(base))])
    idx.add_many(list(planted.values()), list(planted))
    assert len(idx) == 5006
    for pid, h in planted.items():
        assert hamming(h, query) == int(pid[2:])
    got = idx.search(query)  # default 31
    assert got == [("at0", 0), ("at1", 1), ("at15", 15), ("at31", 31)]
    assert got == idx.brute_force(query)
    assert idx.search(query, 32) == [("at0", 0), ("at1", 1), ("at15", 15), ("at31", 31), ("at32", 32)]
    assert [i for i, _ in idx.search(query, 40)][-1] == "at40"
    assert idx.search(query, 0) == [("at0", 0)]
    assert idx.search(query, 14) == [("at0", 0), ("at1", 1)]


@pytest.mark.parametrize("max_distance", [0, 1, 8, 15, 16, 31, 47, 64])
def test_index_equals_brute_force_on_many_queries(max_distance):
    rng = np.random.default_rng(1000 + max_distance)
    base = rand_hashes(rng, 3000)
    # clustered data, so every distance has answers: variants of a few hundred "originals"
    originals = rand_hashes(rng, 300)
    variants = [flip(originals[int(rng.integers(300))], int(rng.integers(0, 70)), rng) for _ in range(3000)]
    # max_probes high enough that large distances still go through the chunk tables, not the scan
    idx = PDQIndex(max_probes=1 << 20)
    idx.add_many(base + variants, [f"e{i}" for i in range(6000)])
    default = PDQIndex()
    default.add_many(base + variants, [f"e{i}" for i in range(6000)])
    nonempty = 0
    for _ in range(150):
        q = flip(originals[int(rng.integers(300))], int(rng.integers(0, 40)), rng)
        expected = idx.brute_force(q, max_distance)
        assert idx.search(q, max_distance) == expected
        assert default.search(q, max_distance) == expected
        assert expected == sorted(((f"e{i}", hamming(h, q)) for i, h in enumerate(base + variants)
                                   if hamming(h, q) <= max_distance), key=lambda t: (t[1], t[0]))
        nonempty += bool(expected)
    assert nonempty > (0 if max_distance < 8 else 5)


def test_every_distance_0_to_256_is_exact_on_a_small_index():
    rng = np.random.default_rng(7)
    q = rand_hashes(rng, 1)[0]
    hashes = [flip(q, k, rng) for k in range(0, 257, 3)] + rand_hashes(rng, 200)
    idx = PDQIndex()
    idx.add_many(hashes, [str(i) for i in range(len(hashes))])
    for d in range(0, 257):
        assert idx.search(q, d) == idx.brute_force(q, d), d


def test_duplicate_hashes_with_different_ids_are_all_returned():
    h = "f" * 64
    idx = PDQIndex()
    idx.add(h, "b")
    idx.add(h, "a")
    idx.add(flip(h, 3, np.random.default_rng(0)), "c")
    assert idx.search(h) == [("a", 0), ("b", 0), ("c", 3)]


def test_empty_index_and_adds_after_a_search():
    idx = PDQIndex()
    q = "0" * 64
    assert len(idx) == 0
    assert idx.search(q) == [] and idx.brute_force(q) == []
    idx.add_many([], [])
    assert idx.search(q) == []
    idx.add("0" * 63 + "1", "one")
    assert idx.search(q) == [("one", 1)]
    idx.add("0" * 63 + "3", "two")  # tables rebuilt lazily on the next search
    assert idx.search(q) == [("one", 1), ("two", 2)]


def test_uppercase_hex_is_accepted():
    idx = PDQIndex()
    idx.add("AB" * 32, "x")
    assert idx.search("ab" * 32) == [("x", 0)]


@pytest.mark.parametrize("bad", ["", "0" * 63, "0" * 65, "g" + "0" * 63, "0" * 31 + " " + "0" * 32,
                                 "0x" + "0" * 62, None, 12])
def test_bad_hashes_are_refused_naming_the_value(bad):
    idx = PDQIndex()
    with pytest.raises(ValueError, match="not a PDQ hash"):
        idx.add_many(["0" * 64, bad], ["ok", "bad"])  # type: ignore[list-item]
    assert len(idx) == 0
    with pytest.raises(ValueError, match="not a PDQ hash"):
        idx.search(bad)  # type: ignore[arg-type]


def test_mismatched_lengths_and_bad_distance():
    idx = PDQIndex()
    with pytest.raises(ValueError, match="one id per hash"):
        idx.add_many(["0" * 64], [])
    idx.add("0" * 64, "z")
    for d in (-1, 257, 1.5, True):
        with pytest.raises(ValueError, match="max_distance"):
            idx.search("0" * 64, d)  # type: ignore[arg-type]


def test_parse_and_back():
    rng = np.random.default_rng(3)
    hs = rand_hashes(rng, 10)
    words = parse_hex_many(hs)
    assert words.shape == (10, 4) and words.dtype == np.uint64
    assert [to_hex(w) for w in words] == hs
    assert to_hex(parse_hex(hs[0].upper())) == hs[0]
    assert parse_hex("8" + "0" * 63)[0] == np.uint64(1 << 63)  # the first hex digit is the top bit


def test_memory_per_entry_is_about_96_bytes():
    rng = np.random.default_rng(5)
    idx = PDQIndex()
    idx.add_words(rng.integers(0, 2**63, size=(20000, 4), dtype=np.uint64), [str(i) for i in range(20000)])
    fixed = 16 * 65537 * 8
    assert (idx.nbytes - fixed) / 20000 == 96


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

if given is not None:
    _IDX_RNG = np.random.default_rng(99)
    _ORIG = rand_hashes(_IDX_RNG, 50)
    _HASHES = [flip(_ORIG[i % 50], int(_IDX_RNG.integers(0, 80)), _IDX_RNG) for i in range(2000)]
    _INDEX = PDQIndex(max_probes=1 << 20)
    _INDEX.add_many(_HASHES, [f"h{i}" for i in range(len(_HASHES))])

    @settings(max_examples=150, deadline=None)
    @given(which=st.integers(0, 49), seed=st.integers(0, 2**32 - 1), k=st.integers(0, 64),
           d=st.sampled_from([0, 8, 31, 64]))
    def test_property_index_equals_brute_force(which, seed, k, d):
        q = flip(_ORIG[which], k, np.random.default_rng(seed))
        assert _INDEX.search(q, d) == _INDEX.brute_force(q, d)
