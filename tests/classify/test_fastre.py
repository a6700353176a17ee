"""The trie-folded regexes (``socialhub.classify.fastre``) find what the originals find.

A folded prefilter must let through exactly the texts the original lets through, and a gated
rule must return exactly the original's matches: otherwise a speed-up would silently change
what is flagged. Checked on generated alternations and on every pattern the classifier folds,
over every written text we have (the functional suite and the labelled splits), normalised.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from socialhub.classify import anchors, grammar, rules, structures
from socialhub.classify.fastre import (
    FOLDED,
    Gated,
    NotFoldable,
    _expand,
    _push_lookbehinds,
    _unnamed,
    compile_folded,
    fold_all,
    split_top,
    trie,
)
from socialhub.classify.normalise import normalise

ROOT = Path(__file__).resolve().parents[2]
LEFT, RIGHT = r"(?<![^\W_])", r"(?![^\W_])"


def test_trie_groups_by_first_characters():
    assert trie("kill|kil|knife|stab|shoot|shot") == "k(?:i(?:ll|l)|nife)|s(?:tab|h(?:oot|ot))"
    # a quantified first character, an escape or a class is left as it is
    assert trie("a?b|\\d+x|[ab]c|abc|abd") == "a(?:bc|bd)|a?b|\\d+x|[ab]c"
    # whole groups are unwrapped, small leading groups distributed
    assert trie("(?:head|heads)|(?:you're|ur)\\s+on|hello") == "h(?:e(?:a(?:d|ds)|llo))|you're\\s+on|ur\\s+on"


def test_split_top_respects_groups_classes_and_escapes():
    assert split_top(r"a|(?:b|c)|[|]|\||d") == ["a", "(?:b|c)", "[|]", r"\|", "d"]


def test_order_dependent_constructs_are_not_folded():
    with pytest.raises(NotFoldable):
        fold_all(r"(a|b)\1")
    with pytest.raises(NotFoldable):
        fold_all(r"(?>ab|a)b")
    g = Gated(r"(a|b)\1")
    assert g.fast is g.rx and g.search("xbb").span() == (1, 3)


def _random_alternation(rng: random.Random) -> str:
    letters = "abcdk"
    words = set()
    for _ in range(rng.randint(3, 30)):
        w = "".join(rng.choice(letters) for _ in range(rng.randint(1, 5)))
        r = rng.random()
        if r < 0.15:
            w += "s?"
        elif r < 0.25:
            w = w[0] + "\\s+" + w[1:]
        elif r < 0.35:
            w = "(?:" + w + "|" + w[::-1] + ")" + rng.choice(["", "x", "s?"])
        words.add(w)
    return "|".join(sorted(words, key=lambda _: rng.random()))


def test_folded_alternations_match_where_the_originals_do():
    rng = random.Random(20261203)
    for _ in range(400):
        body = _random_alternation(rng)
        plain = re.compile(LEFT + "(?:" + body + ")" + RIGHT)
        fast = re.compile(LEFT + "(?:" + trie(body) + ")" + RIGHT)
        gated = Gated(LEFT + "(?:" + body + ")" + RIGHT)
        for _ in range(20):
            text = "".join(rng.choice("abcdkx s") for _ in range(rng.randint(0, 40)))
            m1, m2 = plain.search(text), fast.search(text)
            assert (m1 and m1.start()) == (m2 and m2.start()), (body, text)
            assert [m.span() for m in gated.finditer(text)] == [m.span() for m in plain.finditer(text)]


def _written_texts() -> list[str]:
    texts = []
    for path in [ROOT / "data" / "functional" / "suite.jsonl", *sorted((ROOT / "data" / "labelled").glob("*.jsonl"))]:
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    views = []
    for t in texts:
        views += [v.text for v in normalise(t).views()]
    return views


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    texts = _written_texts()
    assert len(texts) > 5000
    return texts


def test_every_folded_prefilter_passes_the_same_texts(corpus):
    # importing the modules registers every folded pattern
    assert grammar and structures and anchors and rules
    assert len(FOLDED) > 40
    for fast_src, plain_src in FOLDED.items():
        fast, plain = re.compile(fast_src), re.compile(plain_src)
        for t in corpus:
            m1, m2 = plain.search(t), fast.search(t)
            assert (m1 and m1.start()) == (m2 and m2.start()), (plain_src[:80], t)


def test_every_gated_rule_returns_the_originals_matches(corpus):
    gated = ([r.rx for r in grammar.GRAMMAR_RULES] + [r.rx for r in structures.STRUCTURE_RULES]
             + list(anchors._RX.values()))
    classifier = rules.RuleClassifier.from_files()
    gated += [a.combined for a in classifier._category_rx] + [classifier._context_rx.combined]
    assert all(g.fast is not g.rx for g in gated)           # every one of them is folded
    hits = 0
    for g in gated:
        for t in corpus:
            got = [(m.span(), m.groupdict()) for m in g.finditer(t)]
            assert got == [(m.span(), m.groupdict()) for m in g.rx.finditer(t)], (g.pattern[:80], t)
            hits += bool(got)
    assert hits > 1000                                       # the corpus does exercise the rules


def test_negation_and_report_prechecks_change_no_answer(corpus, monkeypatch):
    """``negated``/``reported`` skip a text with no negation or reporting cue anywhere; asked at
    every word of (a fifth of) the written texts, they answer exactly as without the precheck."""
    texts = corpus[::5] + ["he said 'i'll kill you' - disgusting", "no one's getting stabbed", "how i'll stab u can"]
    spans = [(t, m.start(), m.end()) for t in texts for m in re.finditer(r"\w+", t)]
    fast = [(grammar.negated(t, a), grammar.reported(t, a, b), grammar.reported(t, a, b, quoted_only=True))
            for t, a, b in spans]
    assert any(n for n, _, _ in fast) and any(r for _, r, _ in fast)
    monkeypatch.setattr(grammar, "_no_negation", lambda text: False)
    monkeypatch.setattr(grammar, "_no_report_cue", lambda text: False)
    slow = [(grammar.negated(t, a), grammar.reported(t, a, b), grammar.reported(t, a, b, quoted_only=True))
            for t, a, b in spans]
    assert fast == slow


def test_optional_groups_lookbehinds_and_named_groups_fold_to_the_same_positions():
    # "(?:a|b)?rest" is distributed as "a rest|b rest|rest"; "(?<!x\s)word" tests the lookbehind
    # one character later, after the word's first character; named groups become plain groups
    assert _expand(["(?:ab|cd)?ef", "(?:x|y)z"]) == ["abef", "cdef", "ef", "xz", "yz"]
    assert _push_lookbehinds(r"(?<!my\s)(?<=\s)shots?") == [r"s(?<!(?:my\s)s)(?<=(?:\s)s)hots?"]
    assert _push_lookbehinds(r"(?<!my\s)(?:shot|bud)s") == [r"s(?<!(?:my\s)s)hots", r"b(?<!(?:my\s)b)uds"]
    assert _push_lookbehinds(r"(?<!my\s)(?:shot)?s") is None and _push_lookbehinds("shot") is None
    assert _unnamed(r"(?P<verb>a|b)(?P<t>c)\(?P<x>") == r"(?:a|b)(?:c)\(?P<x>"
    rng = random.Random(20261204)
    for _ in range(300):
        body = _random_alternation(rng)
        alts = split_top(body)
        for k in range(len(alts)):                   # some alternatives get a lookbehind, some a group
            r = rng.random()
            if r < 0.2:
                alts[k] = "(?<!" + rng.choice(["a", "b\\s", "kd", "(?:ab|cd)"]) + ")" + alts[k]
            elif r < 0.35:
                alts[k] = "(?:" + alts[k] + "|" + rng.choice("abcdk") + ")?" + rng.choice(["a", "k", "\\s*d"])
            elif r < 0.45:
                alts[k] = "(?P<g" + str(k) + ">" + alts[k] + ")"
        body = "|".join(alts)
        plain = re.compile(LEFT + "(?:" + body + ")" + RIGHT)
        gated = Gated(LEFT + "(?:" + body + ")" + RIGHT)
        fast = compile_folded(LEFT, body, RIGHT)
        assert gated.fast is not gated.rx
        for _ in range(20):
            text = "".join(rng.choice("abcdkx s") for _ in range(rng.randint(0, 40)))
            m1, m2, m3 = plain.search(text), fast.search(text), gated.fast.search(text)
            assert (m1 and m1.start()) == (m2 and m2.start()) == (m3 and m3.start()), (body, text)
            assert ([(m.span(), m.groupdict()) for m in gated.finditer(text)]
                    == [(m.span(), m.groupdict()) for m in plain.finditer(text)])


def test_gated_finditer_hops_between_the_twins_matches_even_with_empty_matches():
    # the original is matched only where the twin finds something; an empty match hands the
    # rest to the original's own finditer (its rules for what follows an empty match)
    rng = random.Random(20261205)
    for src in (r"(?:ab|a|b(?:c|d)|k\s*d|(?=d))", r"(?<![^\W_])(?:ab|abc|b|cd|k|(?=x))(?![^\W_])",
                r"(?:a|b|c|d)(?:k|x|)", r"(?<![^\W_])(?:ab|ba|kk|dd)(?![^\W_])"):
        gated = Gated(src)
        assert gated.fast is not gated.rx
        for _ in range(300):
            text = "".join(rng.choice("abcdkx s") for _ in range(rng.randint(0, 40)))
            assert [m.span() for m in gated.finditer(text)] == [m.span() for m in gated.rx.finditer(text)], (src, text)
