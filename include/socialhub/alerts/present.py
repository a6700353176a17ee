"""What an on-duty officer reads in an alert, in plain words (unescaped: callers escape).

* ``why_flagged``: the post's own words, quoted, and what they are (``threat: “I'll wet him”``,
  ``drug price: “£20 a bag”``), for the labelled categories. No regular expressions, character
  offsets, weights or effect names: those stay in the stored classification (the referral
  package's ``classification.json``, the audit record, ``socialhub explain``).
* ``account_label``: the account once, with the display name only when it adds something
  (not ``t0pboy_ends (t0pboy_ends (demo))``).
* ``local_and_utc``: a time in the hub's local time zone (``SOCIALHUB_TIMEZONE``, default
  ``Europe/London``) and in UTC: ``Thu 3 Dec 2026 14:48 BST (13:48 UTC)``.
* ``subject_text``: the account's subject category in a few words (``victim — safeguarding, not
  enforcement``; ``not recorded`` for an alert from before the category existed).
* ``NO_REVIEW_LINK``: what an alert says instead of a Review button when no public Airflow
  address is configured (``socialhub.alerts.links``).

Every string here is data or our own words; the rendering modules (``blocks``, ``fallback``)
escape them for where they go, as they do every other value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

#: What each category is called in an officer's message.
CATEGORY_NAMES: Mapping[str, str] = {
    "violence_threat": "threat",
    "weapon": "weapon",
    "gang_affiliation": "gang",
    "drug_supply": "drug supply",
    "known_content": "known content",
}
_PREFIX_CATEGORY = {"vt": "violence_threat", "wp": "weapon", "ga": "gang_affiliation", "ds": "drug_supply"}
#: What a structure (``classify/structures.py``) found, in a few words; an unknown one uses its label.
STRUCTURE_NAMES: Mapping[str, str] = {
    "wp.grammar.carry": "weapon carried",
    "wp.grammar.trade": "weapon bought or sold",
    "wp.grammar.display": "weapon shown off",
    "ds.grammar.price": "drug price",
    "ds.grammar.offer": "drug offered",
    "ds.grammar.recruit": "recruiting for drug work",
    "ds.grammar.ask": "drug offered",
    "ds.grammar.line": "dealing line",
    "ga.grammar.ours": "claims territory",
    "ga.grammar.taunt": "taunts rivals",
    "ga.grammar.fled": "mocks rivals",
    "ga.grammar.mock_victim": "mocks a rival's injury",
}
#: Context rules named in words (others: the id, ``ctx.fiction_lyrics`` -> ``fiction lyrics``).
_CONTEXT_NAMES = {"news": "news report", "prevention": "prevention or safeguarding", "fiction_lyrics": "fiction or lyrics",
                  "legit_use": "legitimate use", "community": "community pride"}
_NOT_COUNTED = {"negated": "negated", "reported": "reported, quoted or condemned"}
#: Model words shown for a category that has no rule evidence to quote.
MODEL_WORDS_SHOWN = 3

NO_REVIEW_LINK = ("No Review link: no public Airflow address is configured (SOCIALHUB_AIRFLOW_PUBLIC_URL). "
                  "In Airflow, open Browse → Required Actions and search for alert {alert_id}.")

#: The same, once at the top of a digest in which some item has no Review link; the item says NO_REVIEW_LINK_ITEM.
NO_REVIEW_LINK_DIGEST = ("No Review links: no public Airflow address is configured (SOCIALHUB_AIRFLOW_PUBLIC_URL). "
                         "In Airflow, open Browse → Required Actions and search for an item's alert id.")
NO_REVIEW_LINK_ITEM = "No Review link: see the note at the top"

DEFAULT_TIMEZONE = "Europe/London"


def category_name(category: str) -> str:
    return CATEGORY_NAMES.get(category, category.replace("_", " "))


def _words(rule_id: str) -> str:
    return " ".join(w for w in rule_id.replace(".", " ").replace("_", " ").replace("-", " ").split() if w)


def _plain(term: object) -> str:
    """``term`` if it reads as words (no regex syntax), else ``""``."""
    if not isinstance(term, str):
        return ""
    text = " ".join(term.split())
    return "" if any(ch in "\\()[]{}|*+?^$" for ch in text) else text


def _contained(words: str, quote: str) -> bool:
    """True if every word of ``words`` is in ``quote`` (the detail would only repeat the quote)."""
    have = set(quote.casefold().replace("'", " ").split())
    return all(w in have or w in quote.casefold() for w in words.casefold().split())


def _kind(reason: Mapping[str, Any]) -> tuple[str, str, int]:
    """(what the words are, a detail or "", priority: lower wins on the same words) of a rule match."""
    rule = str(reason.get("rule") or "")
    category = str(reason.get("category") or "")
    noun = category_name(category) if category else "evidence"
    head, _, rest = rule.partition(".")
    if rule in STRUCTURE_NAMES:
        return STRUCTURE_NAMES[rule], "", 0
    if head in _PREFIX_CATEGORY and rest.startswith("grammar."):
        return noun, "", 0          # the threat grammar: the quote is the threat
    if rule == "wp.in_threat":
        return noun, "named in a threat", 1
    if head == "anchor":
        return noun, "", 3
    if head in _PREFIX_CATEGORY and rest:
        return noun, _words(rest), 2      # a lexicon entry: its id in words
    return noun, _plain(reason.get("term")), 2


def _span(reason: Mapping[str, Any]) -> tuple[int, int] | None:
    if reason.get("source") == "text_in_media":   # a span of the image's OCR text, not of the post's
        return None
    start, end = reason.get("start"), reason.get("end")
    if isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool) and not isinstance(end, bool):
        return start, end
    return None


def _quote(text: str) -> str:
    return f"“{' '.join(text.split())}”"


def _weight(reason: Mapping[str, Any]) -> float:
    w = reason.get("weight")
    return float(w) if isinstance(w, (int, float)) and not isinstance(w, bool) else 0.0


def _known_content_line(r: Mapping[str, Any]) -> str:
    """One hash-list match in words: which entry, where it came from, how close."""
    entry = str(r.get("entry_id") or "?")[:12]
    label = _plain(r.get("term"))
    origin = (f"referral {r['referral_id']}" if r.get("referral_id") else
              f"post {r['post_key']}" if r.get("post_key") else f"list {r.get('list') or '?'}")
    how = " (mirrored or rotated)" if r.get("how") == "mirrored or rotated" else ""
    return (f"image matches hash-list entry {entry}" + (f" [{label}]" if label else "")
            + f" from {origin}, list {r.get('list') or '?'}: PDQ distance {int(_weight(r))} of 256{how}")


def _category_lines(category: str, reasons: Sequence[Mapping[str, Any]]) -> list[str]:
    if category == "known_content":
        return [_known_content_line(r) for r in reasons if r.get("rule") == "media.pdq_match"]
    matches, model, context, not_counted = [], [], [], []
    for r in reasons:
        rule = str(r.get("rule") or "")
        effect = str(r.get("effect") or "")
        if rule == "model.ngrams" or effect == "model":
            model.append(r)
        elif rule.startswith("ctx.") and rule[4:] in _NOT_COUNTED:
            not_counted.append(r)
        elif rule.startswith("ctx.") or effect == "context":
            context.append(r)
        else:
            matches.append(r)
    lines: list[tuple[int, str]] = []
    # Rule matches: the most specific reading of the same words wins (a structure over the lexicon
    # entry on the same span). The word a model label rests on (an anchor) only when no rule
    # quotes anything of the category: then it is the evidence.
    if any(_kind(r)[2] != 3 for r in matches):
        matches = [r for r in matches if _kind(r)[2] != 3]
    ranked = sorted(matches, key=lambda r: (_kind(r)[2], (_span(r) or (0, 0))[0]))
    taken: list[tuple[int, int]] = []
    seen: set[str] = set()
    for r in ranked:
        text = " ".join(str(r.get("text") or "").split())
        if not text:
            continue
        span = _span(r)
        if span and any(a <= span[0] and span[1] <= b for a, b in taken):
            continue
        if not span and text.casefold() in seen:
            continue
        kind, detail, _ = _kind(r)
        line = f"{kind}: {_quote(text)}"
        if detail and not _contained(detail, text):
            line += f" ({detail})"
        if r.get("source") == "text_in_media":
            line += " (text read in an image)"
        lines.append(((span or (10**9, 0))[0], line))
        seen.add(text.casefold())
        if span:
            taken.append(span)
    lines.sort(key=lambda x: x[0])
    out = [line for _, line in lines]
    # A label the rules do not quote rests on the model: show the words it weighed most.
    if all(_kind(r)[2] == 3 for r in matches):
        raised = sorted((r for r in model if _weight(r) > 0 and str(r.get("text") or "").strip()),
                        key=lambda r: -_weight(r))
        quotes = list(dict.fromkeys(_quote(str(r.get("text"))) for r in raised))[:MODEL_WORDS_SHOWN]
        if quotes:
            out.append(f"{category_name(category)}, words the model weighed: {', '.join(quotes)}")
    for r in context:
        text = str(r.get("text") or "").strip()
        rest = str(r.get("rule") or "").removeprefix("ctx.")
        what = _CONTEXT_NAMES.get(rest) or _words(rest) or "context"
        out.append(f"{category_name(category)} lowered, {what} context" + (f": {_quote(text)}" if text else ""))
    for r in not_counted:
        text = str(r.get("text") or "").strip()
        why = _NOT_COUNTED[str(r.get("rule"))[4:]]
        out.append(f"not counted as {category_name(category)} ({why})" + (f": {_quote(text)}" if text else ""))
    return out


def why_flagged(classification: Mapping[str, Any]) -> list[str]:
    """Plain lines for "why flagged": the labelled categories' evidence, highest score first.

    An alert without labels shows the evidence of every category. Reasons that are not
    mappings are skipped (a stored reason is data).
    """
    reasons = [r for r in classification.get("reasons") or [] if isinstance(r, Mapping)]
    scores = classification.get("scores") or {}
    labels = [str(x) for x in classification.get("labels") or []]
    categories = labels or list(dict.fromkeys(str(r.get("category") or "") for r in reasons))

    def score(c: str) -> float:
        s = scores.get(c) if isinstance(scores, Mapping) else None
        return float(s) if isinstance(s, (int, float)) and not isinstance(s, bool) else 0.0

    out: list[str] = []
    for category in sorted(categories, key=lambda c: -score(c)):
        out += _category_lines(category, [r for r in reasons if str(r.get("category") or "") == category])
    return out


def account_label(account: object, display_name: object) -> str:
    """The account once: ``handle``, ``handle (Display Name)``, or the display name alone when it
    already contains the handle exactly (``t0pboy_ends (demo)``, not ``t0pboy_ends (t0pboy_ends (demo))``)."""
    handle = " ".join(str(account or "").split())
    name = " ".join(str(display_name or "").split())
    if not name or name.casefold() == handle.casefold():
        return handle
    if handle and handle in name:
        return name
    return f"{handle} ({name})" if handle else name


def subject_text(subject: object) -> str:
    """The account's subject category for an officer (``socialhub.subjects.describe``)."""
    from socialhub.subjects import describe

    return describe(subject)


def timezone_name() -> str:
    return os.environ.get("SOCIALHUB_TIMEZONE", "").strip() or DEFAULT_TIMEZONE


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE) if name != DEFAULT_TIMEZONE else None


def _parse(value: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def local_and_utc(value: object, zone: str | None = None) -> str:
    """``Thu 3 Dec 2026 14:48 BST (13:48 UTC)`` for an ISO time; the UTC part names its own date
    when it differs. A value that is not an ISO time is returned as it is (it is data)."""
    raw = str(value or "")
    when = _parse(raw)
    if when is None:
        return raw
    utc = when.astimezone(UTC)
    tz = _zone(zone or timezone_name())
    if tz is None:
        return f"{utc.strftime('%a')} {utc.day} {utc.strftime('%b %Y %H:%M')} UTC"
    local = utc.astimezone(tz)
    head = f"{local.strftime('%a')} {local.day} {local.strftime('%b %Y %H:%M')} {local.tzname()}"
    tail = utc.strftime("%H:%M UTC") if utc.date() == local.date() else \
        f"{utc.strftime('%a')} {utc.day} {utc.strftime('%b %H:%M')} UTC"
    return f"{head} ({tail})"
