"""Properties over arbitrary text: never raise, evidence always quotes the original in bounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from socialhub.classify import load_classifier
from socialhub.classify.normalise import normalise
from socialhub.models import CATEGORIES

# Pieces that make hits, evasions and context likely, mixed with arbitrary Unicode.
_PIECES = [
    "shank", "sh\u200bank", "\u0455h\u0430nk", "5h4nk", "k n i f e", "k.n.i.f.e", "shaaaank", "opps",
    "wet him up", "dm for zoots", "county lines", "\U0001F52A", "\u2744\ufe0f", "\U0001F33F", "4-0",
    "police said", "recipe", "fortnite", "i'll", "you're dead", "@", "$", "0", "1", "3", "ß", "\ufb01",
    "\u0301", "\u200d", "\ufeff", "\u00ad", " ", " ", ".", "-", "'", "\u2019", "\n", "aaaa", "a", "u r",
]
_text = st.one_of(
    st.text(max_size=120),
    st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=25).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(_text)
def test_classify_never_raises_and_evidence_is_in_bounds(text: str) -> None:
    result = load_classifier().classify(text)
    assert list(result.scores) == list(CATEGORIES)
    assert all(0.0 <= s <= 1.0 for s in result.scores.values())
    assert set(result.labels) <= set(CATEGORIES)
    for r in result.reasons:
        assert 0 <= r["start"] < r["end"] <= len(text)
        assert text[r["start"]:r["end"]] == r["text"]
        assert r["effect"] in ("match", "context", "model")


@settings(max_examples=300, deadline=None)
@given(_text)
def test_offset_map_is_monotonic_and_in_bounds(text: str) -> None:
    norm = normalise(text)
    for view in norm.views():
        assert len(view.starts) == len(view.ends) == len(view.text)
        prev_start = 0
        for s, e in zip(view.starts, view.ends, strict=True):
            assert 0 <= s < e <= len(text)
            assert s >= prev_start
            prev_start = s
