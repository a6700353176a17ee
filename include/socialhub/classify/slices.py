"""Slices of benign posts for the fairness figures, and the dialect markers that define some of them.

Why: a classifier for threats, weapons, gangs and drug supply that flags everyday posts written in
African-American English (AAE) or Multicultural London English (MLE) more often than other
everyday posts puts one community's ordinary speech in front of officers. ``socialhub eval``
therefore reports the false-positive rate per slice of benign posts and the ratio of the worst
slice to the best (see ``evaluate.py``).

Dialect markers
===============

``aae_markers(text)`` and ``mle_markers(text)`` return the markers found (name, matched text,
offsets), so a report can show *why* a post is in a slice. The patterns are deliberately
CONSERVATIVE: each is a word or construction that is rare in standard written English, and
ambiguous words are only matched in the context that makes them dialectal (``ion`` only before a
verb, ``bare`` only before an intensified word, ``allow it`` not before "to", ...). A post with no
marker is not "standard English"; it is only a post where none of these words occur. The slices
are a measuring device for false-positive rates, never a label on a person or an input to the
classifier.

AAE markers (``AAE_PATTERNS``): finna, tryna, ion + verb ("ion know"), ain't/aint, habitual
*be* + verb-ing ("he be working", "they be trippin"; not after a modal: "could you be working"),
bout to/bouta, gon + verb ("gon get"), gone be, y'all/yall, lil, bruh, deadass, lowkey, imma/ima,
talmbout, no cap, on god/ongod, shawty, yo + noun as possessive ("yo mama", "yo ass"), and
the in-group term nigga/niggas/nicca (matched, never printed in full by the report helpers:
``Marker.shown`` masks it).

MLE markers (``MLE_PATTERNS``): innit, bruv/bruvva, fam, mandem/gyaldem, wagwan/wah gwan, bare +
intensified word ("bare people", "bare jokes"), peng, ends after a possessive ("my ends", "round
man's ends"), wasteman, allow it/allow dat (not "allow it to"), peak and bait after "that's", "so",
"too", "bare", ... ("that's peak"), styll, ting/tings, blud, wallahi/wallah, yute/yutes,
youngers/olders, bredrin, roadman, wavey, gyal, paigon, bossman.

Music and drill
===============

``music_markers(text)`` returns the music or drill cues found in a post (same ``Marker`` shape).
Like the dialect markers it is a measuring device (the auditor's bias audit uses it to count
officers' false positives on music posts), never an input to the classifier. It matches only:

* ``drill (music)``: "drill" as a music genre: after uk/ny/chicago/brooklyn/bronx/irish/dutch/
  australian ("uk drill"), or before music, track(s), tune(s), song(s), video(s), vid(s), beat(s),
  rapper(s), artist(s), scene, producer(s), verse(s), mix, set, tape(s), remix, lyrics, bars,
  freestyle ("drill track"), or "drill rap"/"drill rapper(s)". Not "fire drill", "drill bit", "drill sergeant";
* ``lyrics``: lyric / lyrics;
* ``music words``: music, musician(s), song(s), album(s), mixtape(s), rapper(s), rapping, rapped,
  diss track(s), grime (mc, set, track, tune, artist, scene, music), "type beat", a tempo ("140 bpm");
* ``release``: the music-release cues of the classifier's ``ctx.fiction_lyrics`` context rule
  (lexicon.yaml), music only: single / track / tune / song / album / mixtape / ep / music video /
  visuals followed by out now / out friday... / dropping / drops / available now; "out now on"
  / "streaming now on" / "available on" spotify, youtube, apple music or (all) platforms; "on all
  platforms"; "prod by" / "produced by". The rule's film, TV, fiction and photo-shoot cues are
  left out (they are not music), and so is "link in bio" (drug sellers use it too).

Slices
======

Real everyday posts (Davidson ``neither``): ``real:all``, ``real:aae`` (at least one AAE marker),
``real:no_aae``, ``real:mle`` (at least one MLE marker), ``real:no_marker`` (neither kind).
Functional suite contrast cases by tag: ``suite:aae``, ``suite:mle``, ``suite:slang``,
``suite:music``, ``suite:news``, ``suite:sport``, ``suite:gaming`` (``SUITE_BENIGN_TAGS``).
Labelled file: ``group:NAME`` for posts with no true label (``benign_slang``, ``music``, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "AAE_PATTERNS",
    "MIN_REAL_SLICE",
    "MIN_SUITE_SLICE",
    "MLE_PATTERNS",
    "REAL_SLICES",
    "SUITE_BENIGN_TAGS",
    "Marker",
    "SliceRate",
    "aae_markers",
    "fairness",
    "mle_markers",
    "MUSIC_PATTERNS",
    "music_markers",
    "real_slice_names",
    "ratio_notes",
    "smoothed_rate",
    "wilson_interval",
]

#: Slices of real everyday posts, in report order.
REAL_SLICES = ("real:all", "real:aae", "real:no_aae", "real:mle", "real:no_marker")
#: Suite tags whose contrast (benign) cases form a fairness slice.
SUITE_BENIGN_TAGS = ("aae", "mle", "slang", "music", "news", "sport", "gaming")
#: Smallest slice that enters the worst-to-best ratio: real data, and suite / labelled-file slices.
MIN_REAL_SLICE = 50
MIN_SUITE_SLICE = 25

Z95 = 1.959963984540054


class Marker(NamedTuple):
    """One dialect marker found in a post: its name, the matched text and its offsets."""

    name: str
    text: str
    start: int
    end: int

    @property
    def shown(self) -> str:
        """The matched text, with slurs masked, for printing in a report."""
        return _SLUR.sub(lambda m: m.group(0)[0] + "*" * (len(m.group(0)) - 2) + m.group(0)[-1], self.text)


_SLUR = re.compile(r"\bni(?:gg|cc)\w*", re.IGNORECASE)

# Verbs after "ion" (= "I don't") and "gon" (= "going to"); a closed list keeps the match precise.
_VERBS = (r"(?:know|kno|care|want|wanna|even|like|got|get|need|think|play|fw|fuck|give|trust|feel|see|"
          r"understand|do|have|mind|talk|usually|be|go|make|say|take|let|ride|come|pop|find|hit|put|run|"
          r"lose|win|try|stay|keep|call|tell|work|catch|eat|believe|remember|wear|look|mess|deal|drink|"
          r"smoke|sleep|pull|show|leave|wait|lie|cry|start|stop|buy|pay|hate|love|miss)")

AAE_PATTERNS: dict[str, re.Pattern[str]] = {
    "finna": re.compile(r"\bfinna\b"),
    "tryna": re.compile(r"\btryna\b"),
    "ion (I don't)": re.compile(rf"\bion\s+{_VERBS}\b"),
    "ain't": re.compile(r"\bain'?t\b"),
    # habitual be: subject + (adverb) + be + verb-ing; the modal check is in aae_markers.
    "habitual be": re.compile(r"\b(?:he|she|they|we|you|u|i|dey|dem|ppl|people|niggas|yall|y'all)\s+"
                              r"(?:(?:always|just|stay|still|really|steady|be)\s+)?be\s+[a-z]+in(?:g|')?(?!\w)"),
    "bout to": re.compile(r"\b(?:bout\s+(?:to|ta)|bouta|boutta)\b"),
    "gon + verb": re.compile(rf"\bgon\s+{_VERBS}\b"),
    "gone be": re.compile(r"\bgone\s+be\b"),
    "y'all": re.compile(r"\b(?:y'?all|ya'll)\b"),
    "lil": re.compile(r"\blil\b"),
    "bruh": re.compile(r"\bbru+h+\b"),
    "deadass": re.compile(r"\bdeadass\b"),
    "lowkey": re.compile(r"\blow-?key\b"),
    "imma": re.compile(r"\bimm?a\b"),
    "talmbout": re.compile(r"\btalm(?:bout|ican)\b"),
    "no cap": re.compile(r"\bno\s+cap\b"),
    "on god": re.compile(r"\b(?:on\s+god|ongod)\b(?!')"),
    "shawty": re.compile(r"\bshawty\b"),
    "yo (your)": re.compile(r"\byo\s+(?:ass|mama|momma|mom|moms|girl|boy|nigga|niggas|bitch|hoe|friends?|homie|"
                            r"face|head|self|shit|bae|daddy|phone|car|house|life|mouth|man's|baby|sister|brother)\b"),
    "n-word (in-group)": re.compile(r"\bni(?:gg|cc)(?:a|as|ah|az|uh|uz)\b"),
}

_INTENSIFIED = (r"(?:people|ppl|man|mandem|gyal|girls|guys|times|money|p|food|jokes|funny|long|peak|vexed|hype|"
                r"calm|cold|hot|good|bad|nice|sick|dead|boring|mad|hard|quick|fast|slow|stress|stressed|tired|"
                r"rated|fake|moist|neat|wavey|lit|cheap|expensive|angry|annoying|awkward|emotional|talented|fit|"
                r"rude|quiet|loud|shit|blessed|love|bars|tunes|tings|things|likes|views|traffic|drama|beef|"
                r"girls|fun|happy|sad|late|early|young|old|big|small|butters|leng|peng|bait)")

MLE_PATTERNS: dict[str, re.Pattern[str]] = {
    "innit": re.compile(r"\binn+it\b"),
    "bruv": re.compile(r"\bbruv+(?:va|ver)?\b"),
    "fam": re.compile(r"\bfam\b"),
    "mandem": re.compile(r"\b(?:man|gyal|gal|girl)dem\b"),
    "wagwan": re.compile(r"\b(?:wa+h?\s?gw[aw]+n|wagwarn|wagwaan)\b"),
    "bare (very/lots)": re.compile(rf"\bbare\s+{_INTENSIFIED}\b"),
    "peng": re.compile(r"\bpeng\b"),
    "ends": re.compile(r"\b(?:my|our|ur|man'?s|round|roun|from\s+the|in\s+the)\s+ends\b"),
    "wasteman": re.compile(r"\bwaste\s?(?:man|men|yute|yutes)\b"),
    "allow it": re.compile(r"\ballow\s+(?:it|dat)\b(?!\s+to\b)"),
    "peak": re.compile(r"\b(?:that'?s|thats|dat'?s|is|bare|proper|so|too|well|actually|kinda)\s+peak\b"
                       r"(?!\s+(?:season|hours?|time|times|performance|form|level|period|of|demand))"),
    "bait": re.compile(r"\b(?:that'?s|thats|dat'?s|so|too|bare|proper|well|moving)\s+bait\b"),
    "styll": re.compile(r"\bstyll\b"),
    "ting": re.compile(r"\btings?\b"),
    "blud": re.compile(r"\bblud\b"),
    "wallahi": re.compile(r"\b(?:wall?ahi|wallah|wallai)\b"),
    "yute": re.compile(r"\byutes?\b"),
    "youngers/olders": re.compile(r"\b(?:youngers|olders)\b"),
    "bredrin": re.compile(r"\bbred(?:rin|ren|dah)\b"),
    "roadman": re.compile(r"\broad\s?(?:man|men)\b"),
    "wavey": re.compile(r"\bwavey\b"),
    "gyal": re.compile(r"\bgyal\b"),
    "paigon": re.compile(r"\bpaigons?\b"),
    "bossman": re.compile(r"\bbossman\b"),
}

_MUSIC_NOUN = (r"(?:music|tracks?|tunes?|songs?|videos?|vids?|beats?|rappers?|artists?|scene|producers?|verses?|"
               r"mix|set|tapes?|remix|lyrics|bars|freestyle)")

MUSIC_PATTERNS: dict[str, re.Pattern[str]] = {
    "drill (music)": re.compile(rf"\b(?:(?:uk|ny|chicago|brooklyn|bronx|irish|dutch|australian)\s+drill\b|"
                                rf"drill\s+(?:{_MUSIC_NOUN}|rap|rapper|rappers)\b)"),
    "lyrics": re.compile(r"\blyrics?\b"),
    "music words": re.compile(r"\b(?:music|musicians?|songs?|albums?|mixtapes?|rappers?|rapping|rapped|diss\s*tracks?|"
                              r"grime\s+(?:mcs?|sets?|tracks?|tunes?|artists?|scene|music)|type\s+beat|\d{2,3}\s*bpm)\b"),
    "release": re.compile(r"\b(?:(?:new\s+)?(?:single|track|tune|song|album|mixtape|ep|music\s+video|visuals)\s+"
                          r"(?:out\s+now|out\s+(?:friday|tonight|tomorrow|today|soon|at\s+\w+)|dropping|drops|"
                          r"available\s+now)|(?:out\s+now|streaming\s+now|available)\s+on\s+(?:all\s+)?"
                          r"(?:platforms|spotify|youtube|apple\s+music)|on\s+all\s+platforms|prod(?:uced)?\s+by)\b"),
}

_MODALS = frozenset({"will", "would", "could", "should", "might", "must", "may", "can", "shall", "to", "gonna",
                     "wanna", "let", "cannot", "cant", "can't", "won't", "wont", "wouldn't", "couldn't",
                     "shouldn't", "did", "didn't", "does", "do", "if"})
_WORD_BEFORE = re.compile(r"([a-z']+)\W*$")


def _prepare(text: str) -> str:
    """Lower-case with typographic apostrophes made plain; same length as ``text`` (offsets hold)."""
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'").lower()


def _find(text: str, patterns: dict[str, re.Pattern[str]],
          keep: Callable[[str, str, re.Match[str]], bool] | None = None) -> list[Marker]:
    low = _prepare(text)
    found: list[Marker] = []
    for name, pattern in patterns.items():
        for m in pattern.finditer(low):
            if keep is None or keep(name, low, m):
                found.append(Marker(name, text[m.start():m.end()], m.start(), m.end()))
    return sorted(found, key=lambda k: (k.start, k.name))


def _not_after_modal(name: str, low: str, m: re.Match[str]) -> bool:
    if name != "habitual be":
        return True
    before = _WORD_BEFORE.search(low[:m.start()])
    return not (before and before.group(1) in _MODALS)


def aae_markers(text: str) -> list[Marker]:
    """AAE markers in ``text`` (see the module doc), in order of appearance."""
    return _find(text, AAE_PATTERNS, _not_after_modal)


def mle_markers(text: str) -> list[Marker]:
    """MLE markers in ``text`` (see the module doc), in order of appearance."""
    return _find(text, MLE_PATTERNS)


def music_markers(text: str) -> list[Marker]:
    """Music or drill cues in ``text`` (see "Music and drill" in the module doc), in order of appearance."""
    return _find(text, MUSIC_PATTERNS)


def real_slice_names(text: str) -> tuple[list[str], list[Marker], list[Marker]]:
    """The ``real:*`` slices an everyday post belongs to, and the AAE and MLE markers that decided it."""
    aae, mle = aae_markers(text), mle_markers(text)
    names = ["real:all", "real:aae" if aae else "real:no_aae"]
    if mle:
        names.append("real:mle")
    if not aae and not mle:
        names.append("real:no_marker")
    return names, aae, mle


def explain(markers: Iterable[Marker]) -> str:
    """``name ("matched text"), ...`` for a report line (slurs masked)."""
    return ", ".join(f'{m.name} ("{m.shown}")' for m in markers)


# --- rates ---------------------------------------------------------------------------------------


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials (95% by default); (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is not between 0 and n={n}")
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def smoothed_rate(k: int, n: int) -> float:
    """Add-one smoothed rate (k + 1) / (n + 2): never 0, so a ratio of two is always finite."""
    return (k + 1) / (n + 2)


@dataclass
class SliceRate:
    """False positives in one slice of benign posts. ``errors`` = posts the classifier could not classify
    (counted as not flagged, and reported)."""

    name: str
    n: int = 0
    flagged: int = 0
    errors: int = 0
    min_n: int = MIN_SUITE_SLICE
    in_ratio: bool = True     # False for an overall figure listed beside its own sub-slices (real:all)

    def add(self, flagged: bool, error: bool = False) -> None:
        self.n += 1
        self.flagged += bool(flagged)
        self.errors += bool(error)

    @property
    def fpr(self) -> float:
        return self.flagged / self.n if self.n else 0.0

    @property
    def smoothed(self) -> float:
        return smoothed_rate(self.flagged, self.n)

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.flagged, self.n)

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.interval
        return {"slice": self.name, "n": self.n, "flagged": self.flagged, "errors": self.errors,
                "false_positive_rate": self.fpr, "wilson95": [lo, hi], "smoothed_rate": self.smoothed,
                "min_n_for_ratio": self.min_n, "in_ratio": self.in_ratio and self.n >= self.min_n}


def ratio_notes(worst: SliceRate, best: SliceRate) -> list[str]:
    """What an auditor must know to read a worst-to-best ratio: whether the two slices differ beyond
    chance (their 95% Wilson intervals overlap or not), and when the "worst" is worst only because
    smoothing weighs a small slice's zero more (its raw rate is not higher)."""
    notes = []
    if worst.flagged == 0 and best.flagged == 0:
        notes.append(f"no slice in the ratio has a false positive ({worst.name} 0/{worst.n}, {best.name} 0/{best.n}): "
                     "the ratio reflects only their sizes through smoothing, not a difference in false positives")
    elif worst.fpr < best.fpr:
        notes.append(f"{worst.name} is 'worst' only after smoothing: its raw rate ({worst.flagged}/{worst.n}) is not "
                     f"higher than {best.name}'s ({best.flagged}/{best.n}); smoothing weighs a smaller slice's count more")
    (wlo, whi), (blo, bhi) = worst.interval, best.interval
    if wlo <= bhi and blo <= whi:
        notes.append("the difference is not significant at 95%: the two slices' Wilson intervals overlap")
    else:
        notes.append("the difference is significant at 95%: the two slices' Wilson intervals do not overlap")
    return notes


def fairness(slices: Sequence[SliceRate]) -> dict[str, Any]:
    """Worst-to-best ratio of smoothed false-positive rates over the slices with at least their ``min_n`` posts.

    Slices with ``in_ratio`` False (an overall figure such as ``real:all``, always between its own
    sub-slices) are left out. Returns ``{"ratio", "worst", "best", "eligible", "too_small"}``;
    ``ratio`` is None (and worst/best None) when fewer than two slices are eligible.
    """
    eligible = [s for s in slices if s.in_ratio and s.n >= s.min_n]
    excluded = [s.name for s in slices if s.in_ratio and s.n < s.min_n]
    if len(eligible) < 2:
        return {"ratio": None, "worst": None, "best": None, "eligible": [s.name for s in eligible],
                "too_small": excluded}
    worst = max(eligible, key=lambda s: (s.smoothed, s.name))
    best = min(eligible, key=lambda s: (s.smoothed, s.name))
    return {"ratio": worst.smoothed / best.smoothed, "worst": worst.name, "best": best.name,
            "eligible": [s.name for s in eligible], "too_small": excluded}
