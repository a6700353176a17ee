"""An explainable rule-based classifier: lexicon hits on normalised text, scored per category.

Why rules first: officers must be able to see *why* a post is in their queue, and analysts must
be able to fix a false positive by editing data, not code. Every score is traceable to lexicon
entries (and context cues) with offsets into the original post.

How it works:

* the lexicon (``lexicon.yaml``) is validated once and compiled into ONE alternation regex per
  category, plus one for all context cues, applied to every view of the normalised text
  (``normalise.normalise``: elongations collapsed to two letters, and to one); the entry behind
  a hit is identified afterwards (``_Alternation``), and offsets are mapped back to the original;
* matching is word-boundary aware: a pattern never starts or ends inside a word, nor starts
  after an apostrophe inside a word (``we're up`` is not ``re up``);
* within one category, hits don't overlap and, at one position, the highest-weight entry is
  tried first (then the longer pattern): a phrase and the words inside it are one piece of
  evidence, not two, and it counts as the strongest entry that matches there;
* score(category) = (1 - prod(1 - weight) over DISTINCT matched entries) * prod(multiplier of
  every matched context rule that applies to the category). Repeating a word doesn't raise a
  score; independent pieces of evidence do;
* a category is a label when its (rounded) score is at least its threshold.

Term patterns are normalised like posts (so a term may be written ``🔪`` or with capitals),
then: whitespace, ``-``, ``_`` and ``.`` between words match any run of non-word characters or
nothing (``county lines`` matches ``county-lines`` and ``#countylines``), an apostrophe is
optional (``you're`` matches ``youre``), and other punctuation (``b&w``) may have spaces around
it. Regex patterns (``regex: true``) are used as written against the normalised text; the
matcher adds the word boundaries around them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from socialhub.classify import grammar, structures
from socialhub.classify.base import Classification, Reason
from socialhub.classify.fastre import Gated, compile_folded
from socialhub.classify.lexicon import Lexicon, Thresholds, load_lexicon, load_thresholds
from socialhub.classify.normalise import NormalisedText, normalise
from socialhub.classify.sanitise import sanitise
from socialhub.errors import ConfigError
from socialhub.models import CATEGORIES

__all__ = ["Hit", "RuleClassifier", "term_regex"]

# Not preceded by a letter/digit, nor by "<letter/digit>'" (the inside of a contraction).
_LEFT = r"(?<![^\W_])(?<![^\W_]')"
# Not followed by a letter/digit.
_RIGHT = r"(?![^\W_])"

#: Evidence spans kept per rule per post: enough to show a pattern repeats, without letting a
#: spam post of 500 knife emoji produce 500 reasons. Scores are unaffected.
MAX_EVIDENCE_PER_RULE = 10

#: How much a threat's words lower ``violence_threat`` when they are negated ("i would never
#: hurt him") or someone else's reported, quoted or condemned words. Not zero: an officer may
#: still find such a post through a strong score, but words alone no longer put it in the queue.
SUPPRESSED_MULTIPLIER = 0.02

#: A context cue lowers a category only within this many characters of that category's evidence
#: (about a long sentence or two; the windows the combined layer scores are 280 characters).
CONTEXT_REACH = 150


def term_regex(term: str) -> str:
    """The regex source (without boundaries) for a plain lexicon term; see the module docstring."""
    norm = normalise(term).text.strip()
    chunks = [c for c in re.split(r"[\s\-_.]+", norm) if c]
    if not chunks:
        raise ValueError("term is empty after normalisation")

    def chunk_re(chunk: str) -> str:
        out = []
        for ch in chunk:
            if ch == "'":
                out.append("'?")
            elif ch.isalnum():
                out.append(re.escape(ch))
            else:
                out.append(r"\s*" + re.escape(ch) + r"\s*")
        return "".join(out)

    return r"[\W_]*".join(chunk_re(c) for c in chunks)


@dataclass(frozen=True, slots=True)
class Hit:
    """One raw match, before scoring. ``start``/``end`` index the ORIGINAL text.

    ``kind`` is ``"match"`` for a lexicon entry (``category`` set) or ``"context"`` for a context
    rule (``category`` is None; the rule's own ``categories`` say what it lowers). Public so a
    learned model can use the same hits as features.
    """

    kind: str
    rule: str
    category: str | None
    term: str
    start: int
    end: int
    weight: float


@dataclass(frozen=True, slots=True)
class _Alt:
    rule: str
    category: str | None
    term: str
    weight: float


class _Alternation:
    """One combined, word-bounded regex over many alternatives, and which alternative matched.

    Why not a named group per alternative: a group in front of every alternative stops Python's
    regex engine from skipping alternatives by their first character, which made scanning about
    40% slower. Instead the combined regex finds the span, and only at a hit (most posts have
    none) the alternatives are retried at that position, in the same order, to name the one that
    the combined regex took.
    """

    def __init__(self, alts: Sequence[tuple[_Alt, str]]) -> None:
        self.alts = [a for a, _ in alts]
        self.sources = [src for _, src in alts]
        self.body = "|".join(f"(?:{src})" for _, src in alts)
        # with a trie-folded twin in front (``fastre``): most posts match no entry at all
        self.combined = Gated(f"{_LEFT}(?:{self.body}){_RIGHT}")
        self.singles = [re.compile(f"(?:{src}){_RIGHT}") for _, src in alts]
        self._which: re.Pattern[str] | None = None

    @property
    def which(self) -> re.Pattern[str]:
        """The alternatives again, each in a group, tried in the same order at one position: the
        group that matches names the first alternative the combined regex could take there. Lexicon
        patterns have no groups of their own (``lexicon.check_regex``). Compiled at the first hit."""
        if self._which is None:
            which = re.compile("(?:" + "|".join(f"({src})" for src in self.sources) + ")" + _RIGHT)
            # a pattern with groups of its own would shift the numbers: never the case, but then
            # a regex that matches nowhere sends every hit to the one-by-one search below
            self._which = which if which.groups == len(self.sources) else re.compile(r"(?!)")
        return self._which

    def finditer(self, text: str) -> Iterator[tuple[_Alt, int, int]]:
        for m in self.combined.finditer(text):
            a, b = m.span()
            # At a hit, ONE match of ``which`` finds the alternative (the first whose regex matches
            # here; so it ends where the combined match does) instead of trying them one by one.
            m2 = self.which.match(text, a)
            if m2 is not None and m2.end() == b and m2.lastindex is not None:
                yield self.alts[m2.lastindex - 1], a, b
                continue
            fallback: _Alt | None = None
            for alt, rx in zip(self.alts, self.singles, strict=True):
                m2 = rx.match(text, a)
                if m2 is None:
                    continue
                if m2.end() == b:
                    break
                fallback = fallback or alt
            else:
                if fallback is None:  # pragma: no cover - the combined regex matched, so one must
                    continue
                alt = fallback
            yield alt, a, b


class RuleClassifier:
    """Classifies post text with a lexicon; build it once and reuse it (compiling costs ~ms)."""

    def __init__(self, lexicon: Lexicon, thresholds: Thresholds | Mapping[str, float],
                 *, overrides: Mapping[str, float] | None = None) -> None:
        self.lexicon = lexicon
        given = thresholds.for_rules() if isinstance(thresholds, Thresholds) else thresholds
        base: dict[str, float] = {str(k): v for k, v in given.items()}
        base.update(overrides or {})
        problems = [f"unknown category {c!r}" for c in base if c not in CATEGORIES]
        problems += [f"missing threshold for {c}" for c in CATEGORIES if c not in base]
        problems += [f"{c}: threshold must be > 0 and <= 1, got {t!r}" for c, t in base.items()
                     if c in CATEGORIES and not (isinstance(t, (int, float)) and 0.0 < t <= 1.0)]
        if problems:
            raise ConfigError("thresholds: " + "; ".join(problems))
        self.thresholds: dict[str, float] = {c: float(base[c]) for c in CATEGORIES}
        self._category_rx: list[_Alternation] = self._compile_entries()
        # one folded search says whether any category's entry is in a text at all (most have none)
        self._any_entry = compile_folded(_LEFT, "|".join(a.body for a in self._category_rx), _RIGHT)
        self._context_rx: _Alternation | None = self._compile_context()
        self._context_categories = {r.id: r for r in lexicon.context_rules}

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_files(cls, lexicon_path: str | Path | None = None, thresholds_path: str | Path | None = None,
                   *, thresholds: Mapping[str, float] | None = None) -> RuleClassifier:
        """Load the lexicon and thresholds files (defaults: the ones beside this module)."""
        return cls(load_lexicon(lexicon_path), load_thresholds(thresholds_path), overrides=thresholds)

    @property
    def version(self) -> str:
        """``rules-<lexicon version>``: stored with every classification for reproducibility."""
        return f"rules-{self.lexicon.version}"

    def _source(self, rule_id: str, pattern: str, is_regex: bool) -> str:
        if is_regex:
            return pattern
        try:
            return term_regex(pattern)
        except ValueError as exc:
            raise ConfigError(f"lexicon {rule_id!r}: pattern {pattern!r}: {exc}") from None

    def _compile_entries(self) -> list[_Alternation]:
        compiled = []
        for category in CATEGORIES:
            alts = []
            for entry in self.lexicon.entries:
                if entry.category != category:
                    continue
                src = self._source(entry.id, entry.pattern, entry.regex)
                alts.append((-entry.weight, -len(src), entry.id,
                             _Alt(entry.id, category, entry.pattern, entry.weight), src))
            if alts:
                # At one position the strongest entry is tried first (then the longer pattern),
                # so "opp block" counts as ga.opp_territory, not as the weaker ga.block inside it.
                alts.sort(key=lambda a: a[:3])
                compiled.append(_Alternation([(alt, src) for *_, alt, src in alts]))
        return compiled

    def _compile_context(self) -> _Alternation | None:
        alts = []
        for rule in self.lexicon.context_rules:
            for pattern in rule.patterns:
                src = self._source(rule.id, pattern, rule.regex)
                alts.append((-len(src), rule.id, _Alt(rule.id, None, pattern, rule.multiplier), src))
        if not alts:
            return None
        alts.sort(key=lambda a: a[:2])
        return _Alternation([(alt, src) for *_, alt, src in alts])

    # ------------------------------------------------------------------ matching

    def hits(self, text: str, *, context: bool = True) -> list[Hit]:
        """Every lexicon (and, if ``context``, context) hit in ``text``, deduplicated, in text order."""
        norm = normalise(text)
        found = self._scan(norm, self._category_rx, structure=True)
        if context and self._context_rx is not None:
            found.update(self._scan(norm, [self._context_rx]))
        return sorted(found.values(), key=lambda h: (h.start, h.end, h.kind, h.rule))

    def _scan(self, norm: NormalisedText, rxs: Sequence[_Alternation], *, structure: bool = False,
              suppressed: list[Hit] | None = None) -> dict[tuple[str, int, int], Hit]:
        """Hits of ``rxs`` in every view of ``norm``, keyed by (rule, original span) to dedupe views.

        A ``violence_threat`` entry's hit is dropped when it is negated in its clause or is
        someone else's words being reported or condemned (``grammar``'s checks), exactly as a
        structural threat would be. With ``structure``, the threat grammar's hits are added.
        """
        found: dict[tuple[str, int, int], Hit] = {}
        for view in norm.views():
            vt = view.text
            for rx in (rxs if rxs is not self._category_rx or self._any_entry.search(vt) else ()):
                for alt, a, b in rx.finditer(vt):
                    start, end = view.to_original(a, b)
                    key = (alt.rule, start, end)
                    if key in found:
                        continue
                    if alt.category is not None:
                        why = _suppressed_why(alt.category, vt, a, b)
                        if why:
                            if suppressed is not None:
                                suppressed.append(Hit("context", f"ctx.{why}", alt.category, alt.term,
                                                      start, end, SUPPRESSED_MULTIPLIER))
                            continue
                    kind = "context" if alt.category is None else "match"
                    found[key] = Hit(kind, alt.rule, alt.category, alt.term, start, end, alt.weight)
            if structure:
                for sh in structures.scan(vt):
                    start, end = view.to_original(sh.start, sh.end)
                    key = (sh.rule, start, end)
                    if key in found:
                        continue
                    why = _suppressed_why(sh.category, vt, sh.start, sh.end)
                    if why:
                        if suppressed is not None:
                            suppressed.append(Hit("context", f"ctx.{why}", sh.category, sh.term, start, end,
                                                  SUPPRESSED_MULTIPLIER))
                        continue
                    found[key] = Hit("match", sh.rule, sh.category, sh.term, start, end, sh.weight)
                dropped: list[tuple[str, int, int]] = []
                for g in grammar.scan(vt, dropped):
                    start, end = view.to_original(g.start, g.end)
                    key = (g.rule, start, end)
                    if key not in found:
                        found[key] = Hit("match", g.rule, "violence_threat", g.term, start, end, g.weight)
                if suppressed is not None:
                    for why, a, b in dropped:
                        start, end = view.to_original(a, b)
                        suppressed.append(Hit("context", f"ctx.{why}", "violence_threat",
                                              "a threat's words, " + ("negated" if why == "negated" else
                                                                      "reported, quoted or condemned"),
                                              start, end, SUPPRESSED_MULTIPLIER))
        return found

    # ------------------------------------------------------------------ scoring

    def classify(self, text: str) -> Classification:
        """Score ``text`` in every category and explain each score with original-text evidence."""
        clean = sanitise(text)
        result = self.score_normalised(clean, normalise(clean))[0]
        for r in result.reasons:          # quote the original (same offsets as the sanitised copy)
            r["text"] = text[r["start"]:r["end"]]
        return result

    def score_normalised(self, text: str, norm: NormalisedText) -> tuple[Classification, dict[str, float]]:
        """``classify`` for an already normalised text, plus the scores BEFORE context rules.

        Public so the combined layer (``combined.py``) normalises each post once and can give
        the model both the raw and the context-lowered rule scores as features.
        """
        result, raw, _mult, _why = self._score(text, norm, dampers=False)
        return result, raw

    def score_with_dampers(self, text: str, norm: NormalisedText
                           ) -> tuple[Classification, dict[str, float], dict[str, float], list[Reason]]:
        """``score_normalised`` plus, per category, how much context lowers ANY score of this post.

        The dampers are the context rules' multipliers (news, prevention, fiction, sport,
        cooking, gaming) and, for ``violence_threat``, ``SUPPRESSED_MULTIPLIER`` when a threat's
        words are present but negated or reported and no threat survives (``ctx.negated`` /
        ``ctx.reported``), with their evidence. The combined layer applies them to the model's
        score, which cannot see negation or context on its own. One scan serves both.
        """
        return self._score(text, norm, dampers=True)

    def _score(self, text: str, norm: NormalisedText, *, dampers: bool
               ) -> tuple[Classification, dict[str, float], dict[str, float], list[Reason]]:
        suppressed: list[Hit] | None = [] if dampers else None
        matched: dict[str, dict[str, list[Hit]]] = {c: {} for c in CATEGORIES}
        found = self._scan(norm, self._category_rx, structure=True, suppressed=suppressed)
        for h in sorted(found.values(), key=lambda h: (h.start, h.end)):
            matched[h.category or ""].setdefault(h.rule, []).append(h)
        raw = {c: 1.0 - _prod(hs[0].weight for hs in matched[c].values()) if matched[c] else 0.0
               for c in CATEGORIES}
        mult = dict.fromkeys(CATEGORIES, 1.0)
        damp_reasons: list[Reason] = []
        if not any(raw.values()) and not dampers:
            # Most posts stop here: nothing matched, so no context scan and no evidence.
            zero = dict.fromkeys(CATEGORIES, 0.0)
            return (Classification(scores=zero, labels=[], reasons=[], classifier_version=self.version,
                                   thresholds=dict(self.thresholds), lexicon_version=self.lexicon.version,
                                   components={"rules": dict(zero)}),
                    dict(zero), mult, damp_reasons)

        context_hits: dict[str, list[Hit]] = {}
        if self._context_rx is not None:
            for h in sorted(self._scan(norm, [self._context_rx]).values(), key=lambda h: (h.start, h.end)):
                context_hits.setdefault(h.rule, []).append(h)

        reasons: list[Reason] = []
        scores: dict[str, float] = {}
        for c in CATEGORIES:
            score = raw[c]
            for rule_hits in matched[c].values():
                for h in rule_hits[:MAX_EVIDENCE_PER_RULE]:
                    reasons.append(_reason(text, c, h, "match"))
            spans = [h for hs in matched[c].values() for h in hs]
            for rule_id, occurrences in context_hits.items():
                if not self._context_categories[rule_id].applies_to(c):
                    continue
                # A context cue counts where the evidence is: a football emoji in 2,000 characters
                # of padding does not make the threat before it about football. With no evidence
                # of the category (the model's score alone), anywhere in the post counts.
                if rule_id in _FIGURATIVE_CONTEXTS and spans and all(_literal(m) for m in spans):
                    continue                    # "the ref ought to be stabbed": sport does not soften it
                near = [h for h in occurrences if not spans or any(_gap(h, m) <= CONTEXT_REACH for m in spans)]
                if near:
                    h = near[0]                 # the first nearby occurrence is the evidence
                    mult[c] *= h.weight
                    if score > 0.0:
                        reasons.append(_reason(text, c, h, "context"))
                    else:
                        damp_reasons.append(_reason(text, c, h, "context"))
            scores[c] = round(score * mult[c], 4)
        for c in CATEGORIES:
            gone = [h for h in suppressed or () if h.category == c]
            if gone and not matched[c]:
                h = min(gone, key=lambda h: h.start)
                mult[c] *= h.weight
                damp_reasons.append(_reason(text, c, h, "context"))
        reasons.sort(key=lambda r: (r["start"], r["end"], r["effect"] != "match", r["category"], r["rule"]))
        labels = [c for c in CATEGORIES if scores[c] > 0.0 and scores[c] >= self.thresholds[c]]
        return (Classification(scores=scores, labels=labels, reasons=reasons, classifier_version=self.version,
                               thresholds=dict(self.thresholds), lexicon_version=self.lexicon.version,
                               components={"rules": dict(scores)}),
                {c: round(v, 4) for c, v in raw.items()}, mult, damp_reasons)

    def classify_batch(self, texts: Sequence[str]) -> list[Classification]:
        """``classify`` each text; one list in, one list out, same order.

        A text that cannot be classified gets a result with ``error`` set; the others go through.
        """
        out = []
        for t in texts:
            try:
                out.append(self.classify(t))
            except TypeError:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad text must not lose the batch
                out.append(Classification.failed(self.version, self.thresholds, f"{type(exc).__name__}: {exc}"))
        return out


#: Contexts where violent words are usually figurative (banter, games, kitchens, tools).
_FIGURATIVE_CONTEXTS = frozenset({"ctx.sport", "ctx.gaming", "ctx.cooking", "ctx.legit_use"})


def _literal(h: Hit) -> bool:
    """A structural threat whose act is never figurative (``grammar.LITERAL_ACTS``)."""
    return h.rule.startswith("vt.grammar.") and grammar.LITERAL_ACTS.search(h.term.rsplit(": ", 1)[-1]) is not None


def _gap(a: Hit, b: Hit) -> int:
    """Characters between two spans (0 when they touch or overlap)."""
    return max(0, max(a.start, b.start) - min(a.end, b.end))


def _suppressed_why(category: str, text: str, a: int, b: int) -> str:
    """Why a lexicon hit of ``category`` at ``[a, b)`` does not count: ``"negated"`` ("i would
    never carry a knife"), ``"reported"`` (someone else's words, reported or condemned) or ``""``.
    Threats and weapons: negated or reported; gangs and drugs: only quoted and framed as reported
    or condemned ("flyer said 'tap in for bud', passed it to the PCSO"), since "my plug says new
    packs landed" is still an advert."""
    if category in ("violence_threat", "weapon"):
        return "negated" if grammar.negated(text, a) or grammar.answered_no(text, b) else "reported" if grammar.reported(text, a, b) else ""
    return "reported" if grammar.reported(text, a, b, quoted_only=True) else ""


def _prod(weights: Iterable[float]) -> float:
    """prod(1 - w): the chance that none of the independent pieces of evidence is right."""
    result = 1.0
    for w in weights:
        result *= 1.0 - w
    return result


def _reason(text: str, category: str, h: Hit, effect: str) -> Reason:
    return Reason(category=category, rule=h.rule, term=h.term, start=h.start, end=h.end,
                  text=text[h.start:h.end], weight=h.weight,
                  effect="match" if effect == "match" else "context")
