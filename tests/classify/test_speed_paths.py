"""The shortcuts taken for speed answer exactly as the long way round.

``normalise``: a cheap scan for a spaced-out letter skips the spacing pass, and ASCII text is
tested for elongation with an ASCII-only regex. ``rules._Alternation``: the entry behind a hit is
named by one match of numbered groups instead of trying the entries one by one. ``combined``: a
post without anchors takes its rules' result directly (the model never scores it).
"""

from __future__ import annotations

import importlib
import random

from socialhub.classify import load_classifier
from socialhub.classify.anchors import find_anchors
from socialhub.classify.normalise import normalise
from socialhub.models import CATEGORIES

normalise_module = importlib.import_module("socialhub.classify.normalise")
_CHARS = "abckx iI.-_*|/+~,:\t\u00b7\u00e9\u0430"


def _texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    words = ["k n i f e", "k.n.i.f.e", "s-t-a-b", "a b c", "i a", "shaaank", "ooops", "b  r  o", "x", "a", "hello"]
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            out.append("".join(rng.choice(_CHARS) for _ in range(rng.randint(0, 30))))
        else:
            out.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))))
    return out


def test_spacing_precheck_and_ascii_elongation_answer_as_the_full_regexes():
    spaced = 0
    for t in _texts(11, 3000):
        full = [m.span() for m in normalise_module._SPACED.finditer(t)]
        spaced += bool(full)
        if normalise_module._SPACED_MAYBE.search(t) is None:
            assert full == [], t
        if t.isascii():
            assert bool(normalise_module._ELONGATED_ASCII.search(t)) == bool(normalise_module._ELONGATED.search(t))
    assert spaced > 100


def test_the_entry_behind_a_hit_is_the_one_the_entries_tried_in_order_name():
    rules = load_classifier(model_dir=False)
    texts = ["shank him, opps on sight, county lines, dm for zoots", "bora bora 🔪 wet him up", "k.n.i.f.e and a ting on me"]
    checked = 0
    for alternation in [*rules._category_rx, rules._context_rx]:
        for t in texts:
            vt = normalise(t).text
            for alt, a, b in alternation.finditer(vt):
                first = next(x for x, rx in zip(alternation.alts, alternation.singles, strict=True)
                             if (m := rx.match(vt, a)) is not None and m.end() == b)
                assert alt == first
                checked += 1
    assert checked > 5


def test_a_post_without_anchors_gets_its_rules_result_and_zero_model_parts():
    layer = load_classifier()
    texts = ["lovely weather at the seaside today", "off to the shop", "gang gang lol", "free the mandem"]
    checked = 0
    for t, res in zip(texts, layer.classify_batch(texts), strict=True):
        if find_anchors(normalise(t)):
            continue
        checked += 1
        rule = layer.rules.classify(t)
        assert res.labels == rule.labels
        assert res.components["rules"] == rule.scores
        for part in ("model_words", "model_rules", "anchor"):
            assert res.components[part] == dict.fromkeys(CATEGORIES, 0.0)
        assert res.scores == {c: (rule.scores[c] if c in rule.labels else 0.0) for c in CATEGORIES}
        assert [r["rule"] for r in res.reasons] == [r["rule"] for r in rule.reasons]
    assert checked >= 2
