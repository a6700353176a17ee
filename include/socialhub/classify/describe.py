"""Plain words for one piece of evidence: what an officer reads instead of a rule's regex.

A reason (``base.Reason``) carries the rule that fired (``rule``, an id such as ``wp.blade``),
the ORIGINAL words of the post it matched (``text``) and the rule's ``term``. For lexicon regex
entries and context rules the term is the raw pattern (``blades?(?!\\s*(?:runner|…))``), which
means nothing to an officer reading an alert at night. Every officer-facing view (the Slack
alert and digest, the fallback email and webhook text, the review page, the referral report)
shows the quoted ``text`` and the label from :func:`rule_label` or :func:`describe_reason`
instead, never a pattern.

Labels, by rule:

* a lexicon entry (``vt.*``, ``wp.*``, ``ga.*``, ``ds.*`` in ``lexicon.yaml``): its category and
  its id in words, ``wp.blade`` -> ``weapon word: blade``, ``vt.intent_with_target`` ->
  ``threat phrase: intent with target``;
* a structure (``wp.grammar.*``, ``ds.grammar.*``, ``ga.grammar.*``): the structure's own label,
  ``a drug with a price or a dealing quantity``;
* the threat grammar (``vt.grammar.*``, and a structure this version does not list) and a
  weapon in a threat (``wp.in_threat``): the term, which already reads as words
  (``announced intent to attack a person: cut``);
* a context rule (``ctx.<id>``): ``context: sport``; a negated or reported match:
  ``negated, not counted`` / ``reported, quoted or condemned, not counted``;
* the statistical model (``model.ngrams``): ``model words, raised the score`` (or lowered);
  the word a model label rests on (``anchor.<category>``): ``weapon word behind the model's label``.

The labels are our words built from rule ids, never from a pattern; they still go through the
same escaping as every other value where they are shown (a stored reason is data). The lexicon
is read once through ``lexicon.load_lexicon``; if it cannot be read, labels come from the id
alone, because rendering an alert must never fail.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["CATEGORY_NOUNS", "describe_reason", "looks_like_pattern", "plain_term", "rule_label"]

log = logging.getLogger("socialhub.classify.describe")

#: What each category is called in a label.
CATEGORY_NOUNS = {
    "violence_threat": "threat",
    "weapon": "weapon",
    "gang_affiliation": "gang",
    "drug_supply": "drug-supply",
}
_PREFIX_CATEGORY = {"vt": "violence_threat", "wp": "weapon", "ga": "gang_affiliation", "ds": "drug_supply"}
#: A lexicon entry's label starts with its category's kind of evidence.
_ENTRY_KIND = {
    "violence_threat": "threat phrase",
    "weapon": "weapon word",
    "gang_affiliation": "gang word",
    "drug_supply": "drug-supply word",
}
#: Context rules (``ctx.<id>`` in lexicon.yaml) whose id reads badly as words.
_CONTEXT_NAMES = {
    "news": "news report",
    "prevention": "prevention or safeguarding",
    "fiction_lyrics": "fiction or lyrics",
    "legit_use": "legitimate use",
    "community": "community pride",
}
#: Matches that did not count (``rules._suppressed_why``, ``grammar``, ``anchors.only_negated``).
_SUPPRESSED = {
    "negated": "negated, not counted",
    "reported": "reported, quoted or condemned, not counted",
}
#: Characters that make a term a pattern rather than words (regex syntax).
_PATTERN_CHARS = frozenset("\\()[]{}|*+?^$")
_ID_WORDS = re.compile(r"[._\-]+")
_LABEL_MAX = 120


def looks_like_pattern(term: str) -> bool:
    """True if ``term`` contains regex syntax (``\\s``, ``(?:``, ``|``, ``[…]``, ``?``…)."""
    return any(ch in _PATTERN_CHARS for ch in term)


def plain_term(term: object) -> str | None:
    """``term`` as one line if it reads as words, ``None`` if it is empty or looks like a regex."""
    if not isinstance(term, str):
        return None
    text = " ".join(term.split())
    return text if text and not looks_like_pattern(text) else None


def _words(rule_id: str) -> str:
    """``intent_with_target`` -> ``intent with target``."""
    return " ".join(w for w in _ID_WORDS.split(rule_id) if w)


@lru_cache(maxsize=1)
def _lexicon_ids() -> tuple[dict[str, str], frozenset[str]]:
    """(lexicon entry id -> category, context rule ids) of the default lexicon; empty if unreadable."""
    try:
        from socialhub.classify.lexicon import load_lexicon

        lexicon = load_lexicon()
    except Exception as exc:  # noqa: BLE001 - a label must never stop an alert
        log.warning("lexicon not readable, evidence labels come from rule ids alone: %s", exc)
        return {}, frozenset()
    return {e.id: e.category for e in lexicon.entries}, frozenset(c.id for c in lexicon.context_rules)


@lru_cache(maxsize=1)
def _structure_labels() -> dict[str, str]:
    try:
        from socialhub.classify.structures import STRUCTURE_RULES
    except Exception:  # noqa: BLE001 - pragma: no cover - the module is part of this package
        return {}
    return {r.id: r.label for r in STRUCTURE_RULES}


def _cut(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= _LABEL_MAX else label[: _LABEL_MAX - 1].rstrip() + "…"


def rule_label(reason: Mapping[str, Any]) -> str | None:
    """A short plain label for the rule behind ``reason``, or ``None`` for a rule we do not know.

    Never returns a pattern. See the module docstring for the label of each kind of rule.
    """
    rule = reason.get("rule")
    if not isinstance(rule, str) or not rule.strip():
        return None
    rule = rule.strip()
    term = plain_term(reason.get("term"))
    entries, contexts = _lexicon_ids()
    head, _, rest = rule.partition(".")

    if rule == "model.ngrams":
        weight = reason.get("weight")
        lowered = isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight < 0
        return "model words, lowered the score" if lowered else "model words, raised the score"
    if head == "anchor" and rest:
        noun = CATEGORY_NOUNS.get(rest) or _words(rest)
        if not noun or looks_like_pattern(noun):
            return None
        return _cut(f"{noun} word behind the model's label")
    if head == "ctx" and rest:
        if rest in _SUPPRESSED:
            return _SUPPRESSED[rest]
        words = _CONTEXT_NAMES.get(rest) or _words(rest)
        if rest not in contexts and (not words or looks_like_pattern(words)):
            return None
        return _cut(f"context: {words}")
    structure = _structure_labels().get(rule)
    if structure:
        return _cut(structure)
    if rule == "wp.in_threat":
        return _cut(term) if term else "weapon in a threat"
    if head in _PREFIX_CATEGORY and rest.startswith("grammar."):
        return _cut(term) if term else f"{CATEGORY_NOUNS[_PREFIX_CATEGORY[head]]} structure"
    if rule in entries or (head in _PREFIX_CATEGORY and rest):
        words = _words(rest if head in _PREFIX_CATEGORY else rule)
        if not words or looks_like_pattern(words):
            return None
        category = entries.get(rule) or _PREFIX_CATEGORY[head]
        return _cut(f"{_ENTRY_KIND[category]}: {words}")
    return None


def describe_reason(reason: Mapping[str, Any]) -> str:
    """A plain label for any reason: ``rule_label``, else the term if it reads as words, else the
    rule id in words (``kw.weapon.v3`` -> ``kw weapon v3``), else ``evidence``."""
    label = rule_label(reason)
    if label:
        return label
    term = plain_term(reason.get("term"))
    if term:
        return _cut(term)
    rule = reason.get("rule")
    words = _words(rule) if isinstance(rule, str) else ""
    return _cut(words) if words and not looks_like_pattern(words) else "evidence"
