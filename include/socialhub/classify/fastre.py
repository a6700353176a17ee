"""Faster regexes for "is any of these words here?": alternations folded into a trie.

Why: Python's regex engine tries the alternatives of ``(?:kill|murder|stab|...)`` one after the
other at every position it reaches. With hundreds of words (the grammar's prefilters, the
anchors, the lexicon) that is most of the classifier's cost on everyday posts, which match
none of them. Folding the words into a trie by their first characters,
``(?:k(?:ill|nife)|m(?:urder)|s(?:tab|hoot))``, lets the engine drop every word that does not
start with the character in front of it after one comparison.

``fold_all(src)`` rewrites every group of a regex SOURCE (``trie`` one alternation). Only the
order in which alternatives are tried changes, so a search finds a match exactly where the
original finds one; the matched TEXT may differ (another alternative that also matches there
may be taken first). Hence two uses: alone, where only "where, or none" is asked
(``compile_folded``, ``folded``, ``union``), and as a twin in front of the original regex
(``Gated``), which then runs only from where the twin matched.
``tests/classify/test_fastre.py`` checks the equivalence on every written case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_QUANT = set("?*+{")
#: Characters a distributed leading group may copy (``_expand``), in a twin (``Gated``, ``folded``)
#: and in a prefilter (``compile_folded``, ``union``), which runs on every post. Larger: faster
#: searches, but longer patterns to compile when the package is imported (measured: 1,000 and
#: 3,000 cost about as much to load as 300 did; beyond that, loading grows faster than searching gains).
_COPY_LIMIT = 1000
_PREFILTER_COPY_LIMIT = 3000


def split_top(src: str) -> list[str]:
    """The top-level alternatives of a regex source (``|`` outside groups and classes)."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    in_class = False
    i = 0
    while i < len(src):
        ch = src[i]
        if ch == "\\":
            cur.append(src[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if src[i + 1:i + 2] == "]":        # "[]...]": a literal "]" first
                cur.append("[]")
                i += 2
                continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _unwrap(alt: str) -> list[str] | None:
    """``(?:a|b)`` as a whole (no quantifier after it): its alternatives; else None."""
    if not alt.startswith("(?:") or not alt.endswith(")"):
        return None
    toks = list(_tokens(alt))
    depth = 0
    for i, ch in enumerate(toks):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != len(toks) - 1:
                return None                     # "(?:a)(?:b)": two groups, not one
    return split_top(alt[3:-1])


def _tokens(src: str) -> Iterator[str]:
    """Characters of ``src`` with escapes and classes as single tokens (parens stay visible)."""
    i = 0
    while i < len(src):
        if src[i] == "\\":
            yield src[i:i + 2]
            i += 2
        elif src[i] == "[":
            j = i + 2 if src[i + 1:i + 2] == "]" else i + 1
            while j < len(src) and src[j] != "]":
                j += 2 if src[j] == "\\" else 1
            yield src[i:j + 1]
            i = j + 1
        else:
            yield src[i]
            i += 1


def _flatten(alts: list[str]) -> list[str]:
    out: list[str] = []
    for a in alts:
        inner = _unwrap(a)
        out.extend(_flatten(inner) if inner is not None else [a])
    return out


def trie(src: str, depth: int = 3) -> str:
    """``src`` (an alternation) with alternatives grouped by their first ``depth`` literal characters."""
    return _trie(_flatten(split_top(src)), depth)


def _group_end(alt: str) -> int:
    """Where the group that opens ``alt`` ends (just after its ")"); -1 if it never closes."""
    depth = 0
    i = 0
    for tok in _tokens(alt):
        i += len(tok)
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _lead_group(alt: str) -> tuple[list[str], str] | None:
    """``(?:a|b)rest`` (no quantifier on the group, no named group in ``rest``): ``([a, b], rest)``."""
    if not alt.startswith("(?:"):
        return None
    i = _group_end(alt)
    if i < 0:
        return None
    rest = alt[i:]
    if "(?P<" in rest:
        return None
    if rest[:1] == "?" and rest[1:2] not in ("?", "+"):
        # "(?:a|b)?rest" is "(?:a|b|)rest": the group, then nothing, in the same order
        return [*split_top(alt[3:i - 1]), ""], rest[1:]
    if rest[:1] in _QUANT:
        return None
    return split_top(alt[3:i - 1]), rest


def _expand(alts: list[str], limit: int = _COPY_LIMIT, budget: int | None = None) -> list[str]:
    r"""Alternatives that start with a small group, distributed: ``(?:you're|ur)\s+on`` becomes
    ``you're\s+on|ur\s+on``, so that they can be folded by their first characters too."""
    if budget is None:
        budget = 2 * limit
    out: list[str] = []
    for a in alts:
        pushed = _push_lookbehinds(a, limit)
        if pushed is not None and len(out) + len(pushed) <= budget:
            out.extend(pushed)
            continue
        lead = _lead_group(a)
        # only where copying the rest stays cheap: the folded regex must not grow much
        if lead is None or len(lead[1]) * (len(lead[0]) - 1) > limit or len(out) + len(lead[0]) > budget:
            out.append(a)
            continue
        out.extend(_expand([x + lead[1] for x in lead[0]], limit, budget - len(out)))
    return out


def _leading_lookbehinds(alt: str) -> tuple[list[tuple[str, str]], str]:
    """``(?<!a)(?<=b)rest``: ``([("!", "a"), ("=", "b")], "rest")``."""
    found: list[tuple[str, str]] = []
    while alt.startswith(("(?<!", "(?<=")):
        i = _group_end(alt)
        if i < 0:
            break
        found.append((alt[3], alt[4:i - 1]))
        alt = alt[i:]
    return found, alt


def _push_lookbehinds(alt: str, limit: int = _COPY_LIMIT) -> list[str] | None:
    r"""An alternative that starts with lookbehinds, its first character moved in front of them:
    ``(?<!my\s)shots?`` becomes ``s(?<!(?:my\s)s)hots?`` (the same test, one character later), so
    that it is folded by its first character like the others. A leading group after the
    lookbehinds is distributed first (``_expand``). None if there is nothing to move."""
    behinds, rest = _leading_lookbehinds(alt)
    if not behinds:
        return None
    if rest[:1].isalnum() or rest[:1] in ("'", "_"):
        if rest[1:2] in _QUANT:
            return None
        ch = rest[0]
        return [ch + "".join(f"(?<{kind}(?:{src}){re.escape(ch)})" for kind, src in behinds) + rest[1:]]
    lead = _lead_group(rest)
    if lead is None or len(lead[1]) * (len(lead[0]) - 1) > limit or "" in lead[0]:
        return None
    prefix = alt[:len(alt) - len(rest)]
    out: list[str] = []
    for x in lead[0]:
        moved = _push_lookbehinds(prefix + x + lead[1], limit)
        if moved is None:
            return None
        out.extend(moved)
    return out


def _trie(alts: list[str], depth: int, limit: int = _COPY_LIMIT) -> str:
    if depth == 0 or len(alts) < 3:
        return "|".join(alts)
    alts = _expand(alts, limit)
    groups: dict[str, list[str]] = {}
    rest: list[str] = []
    for a in alts:
        if a and (a[0].isalnum() or a[0] in "'_") and (len(a) == 1 or a[1] not in _QUANT):
            groups.setdefault(a[0], []).append(a[1:])
        else:
            rest.append(a)
    parts = []
    for ch, tails in groups.items():
        if len(tails) == 1:
            parts.append(ch + tails[0])
        else:
            parts.append(ch + "(?:" + _trie(_flatten(tails), depth - 1, limit) + ")")
    return "|".join(parts + rest)


class NotFoldable(ValueError):
    """A construct whose meaning depends on the order of alternatives (backreferences, atomic
    groups, conditionals, inline flags): such a pattern is used unfolded."""


def fold_all(src: str, depth: int = 3, limit: int = _COPY_LIMIT) -> str:
    """``src`` with EVERY group's alternation folded into a trie (see the module docstring)."""
    toks = list(_tokens(src))
    for t in toks:
        if len(t) == 2 and t[0] == "\\" and t[1].isdigit():
            raise NotFoldable(f"backreference {t}")
    pos = 0

    def opener() -> str:
        nonlocal pos
        pos += 1                                           # the "("
        if pos >= len(toks) or toks[pos] != "?":
            return "("
        nxt = "".join(toks[pos + 1:pos + 3])
        if nxt[:1] in (":", "=", "!"):
            pos += 2
            return "(?" + nxt[0]
        if nxt in ("<=", "<!"):
            pos += 3
            return "(?" + nxt
        if nxt == "P<":
            end = toks.index(">", pos)
            out = "(" + "".join(toks[pos:end + 1])
            pos = end + 1
            return out
        raise NotFoldable(f"group (?{nxt}")

    def alternation() -> list[str]:
        nonlocal pos
        alts: list[str] = []
        cur: list[str] = []
        while pos < len(toks) and toks[pos] != ")":
            t = toks[pos]
            if t == "|":
                alts.append("".join(cur))
                cur = []
                pos += 1
            elif t == "(":
                head = opener()
                inner = alternation()
                if pos >= len(toks):
                    raise NotFoldable("unbalanced parentheses")
                pos += 1                                   # the ")"
                cur.append(head + _trie(_flatten(inner), depth, limit) + ")")
            else:
                cur.append(t)
                pos += 1
        alts.append("".join(cur))
        return alts

    top = alternation()
    if pos != len(toks):
        raise NotFoldable("unbalanced parentheses")
    return _trie(_flatten(top), depth, limit)


#: every folded regex made here: its pattern -> the unfolded original's (the tests compare them)
FOLDED: dict[str, str] = {}

_BOUNDARY = r"(?<![^\W_])"


def _unnamed(src: str) -> str:
    """``src`` with its named groups made plain ``(?:...)``: a folded regex is only asked where it
    matches, never for a group, and a named group cannot be copied (``_expand``)."""
    toks = list(_tokens(src))
    out: list[str] = []
    i = 0
    while i < len(toks):
        if toks[i] == "(" and toks[i + 1:i + 4] == ["?", "P", "<"]:
            j = toks.index(">", i)
            out.append("(?:")
            i = j + 1
            continue
        out.append(toks[i])
        i += 1
    return "".join(out)


def _fold(src: str, flags: int = 0, limit: int = _COPY_LIMIT) -> re.Pattern[str] | None:
    """``src`` compiled with every group folded, or None if that could change what it matches."""
    try:
        fast = re.compile(fold_all(_unnamed(src), limit=limit), flags)
    except NotFoldable:
        return None
    FOLDED[fast.pattern] = src
    return fast


def compile_folded(left: str, body: str, right: str = "", flags: int = 0) -> re.Pattern[str]:
    """``left + (?: body ) + right``, folded: for prefilters, whose answer is only "a match or
    none" (the matched text may differ from the original's, the position does not)."""
    src = left + "(?:" + body + ")" + right
    return _fold(src, flags, _PREFILTER_COPY_LIMIT) or re.compile(src, flags)


def folded(rx: re.Pattern[str]) -> re.Pattern[str]:
    """``rx`` folded, for a regex used only for WHERE it matches (``search``, ``match``, a match's
    ``start()``), never for what it matched; ``rx`` itself if not foldable."""
    return _fold(rx.pattern, rx.flags) or rx


def union(patterns: list[str]) -> re.Pattern[str]:
    """One folded regex that matches where ANY of ``patterns`` does (a gate in front of several
    rules). Named groups become plain ones; a left boundary they all start with is put in front."""
    srcs = [re.sub(r"\(\?P<\w+>", "(?:", p) for p in patterns]
    left = _BOUNDARY if all(p.startswith(_BOUNDARY) for p in srcs) else ""
    return compile_folded(left, "|".join("(?:" + p[len(left):] + ")" for p in srcs))


class Gated:
    """A compiled regex with a folded twin in front: ``search`` and ``finditer`` over a whole text
    run the original only where the twin finds something, so the results are the original's.
    Most posts match none of a rule's words, and the twin says so several times faster.
    """

    __slots__ = ("fast", "rx")

    def __init__(self, src: str, flags: int = 0) -> None:
        self.rx = re.compile(src, flags)
        self.fast = folded(self.rx)

    @property
    def pattern(self) -> str:
        return self.rx.pattern

    def search(self, text: str) -> re.Match[str] | None:
        m = self.fast.search(text)
        return None if m is None else self.rx.search(text, m.start())

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        m = self.fast.search(text)
        if m is None:
            return iter(())
        if self.fast is self.rx:
            return self.rx.finditer(text, m.start())
        return self._hops(text, m.start())

    def _hops(self, text: str, pos: int) -> Iterator[re.Match[str]]:
        """``rx.finditer(text, pos)`` where ``pos`` is where the twin found the first match: the
        original is matched only AT the places the twin finds (the twin and the original match at
        the same places), instead of being run over every position in between. An empty match
        (or, which cannot happen, no match where the twin found one) hands the rest of the text
        to ``rx.finditer``, so even those cases come out exactly as the original's."""
        fast_search, rx_match = self.fast.search, self.rx.match
        while True:
            m = rx_match(text, pos)
            if m is None or m.end() == pos:
                yield from self.rx.finditer(text, pos)
                return
            yield m
            f = fast_search(text, m.end())
            if f is None:
                return
            pos = f.start()

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.rx.fullmatch(text)

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self.rx.match(text, pos)
