"""Text normalisation against keyword evasion, with an offset map back to the original text.

Why this exists: authors who want to slip past keyword filters write ``sh\u200bank`` (a
zero-width space inside the word), ``ѕhаnk`` (Cyrillic letters that look Latin), ``5h4nk``,
``k n i f e``, ``shaaaank`` or simply ``🔪``. Matching runs on a normalised form so that one
lexicon entry catches all of them. But the evidence an officer reviews must quote what the
author actually wrote, so every character of the normalised text remembers the ``[start, end)``
of the original characters it came from (``NormalisedText.to_original``).

The steps, in order (each one keeps the offset map):

1. per character: NFKC + casefold, combining marks stripped (``shànk`` -> ``shank``),
   invisible characters removed, common homoglyphs folded to Latin, curly quotes to ``'``,
   odd whitespace/control characters to a space, and meaningful emoji replaced by a token
   such as ``emoji_knife`` (surrounded by spaces so it is always a word of its own);
2. leetspeak (``0 1 3 4 5 7 @ $`` -> ``o i e a s t a s``) inside words only, so that ``4-0``,
   ``ak47``, ``mp5`` and ``@handles`` survive;
   then masked letters filled when exactly one word the hub looks for fits (``st*bbed`` ->
   ``stabbed``, ``h#sh`` -> ``hash``; ``f*ck`` stays), one character for one;
3. letter-spacing (``k n i f e``, ``k.n.i.f.e``) joined into one word;
4. elongation: a letter repeated 3+ times is collapsed to two in ``text`` and to one in the
   ``squeezed`` variant (``shaaaank`` -> ``shaank`` / ``shank``, ``opppps`` -> ``opps`` / ``ops``),
   so matching both views is tolerant either way. ``squeezed`` is only built when needed.

Speed: pure-ASCII posts (the bulk) take a ``str.translate`` fast path with an identity offset
map (``range`` objects, nothing allocated per character); every later step is a precompiled
regex that is skipped when a cheap pre-check finds nothing to do. Per-character work in
Python happens only for posts with characters whose mapping changes the length (emoji,
zero-width characters, ligatures).
"""

# The lookalike letters below are the point of this module, not typos.
# ruff: noqa: RUF001, RUF002, RUF003

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "CONFUSABLES",
    "EMOJI_TOKENS",
    "INVISIBLE_CHARS",
    "LEET",
    "NormalisedText",
    "normalise",
]

# --------------------------------------------------------------------------- data tables

#: Emoji whose meaning matters to the hub, mapped to a token the lexicon can match. The
#: tokens are deliberately not English words (``emoji_leaf``, not ``weed``): 🌿 is mostly
#: gardening and ❄️ mostly weather, so how much each one counts is the lexicon's decision,
#: not the normaliser's. Lexicon patterns may use the emoji itself; it is normalised the same way.
EMOJI_TOKENS: dict[str, str] = {
    "\U0001F52A": "emoji_knife",      # 🔪 hocho
    "\U0001F5E1": "emoji_dagger",     # 🗡 dagger
    "\u2694": "emoji_swords",         # ⚔ crossed swords
    "\U0001F52B": "emoji_gun",        # 🔫 pistol (a water pistol on some platforms)
    "\U0001F4A3": "emoji_bomb",       # 💣
    "\U0001F4A5": "emoji_explosion",  # 💥
    "\U0001F9E8": "emoji_explosion",  # 🧨 firecracker
    "\U0001F33F": "emoji_leaf",       # 🌿 herb
    "\U0001F343": "emoji_leaf",       # 🍃 leaf fluttering in wind
    "\U0001F341": "emoji_leaf",       # 🍁 maple leaf
    "\U0001F966": "emoji_leaf",       # 🥦 broccoli
    "\U0001F48A": "emoji_pill",       # 💊
    "\u2744": "emoji_snow",           # ❄ snowflake (the U+FE0F selector is dropped as invisible)
    "\u2603": "emoji_snow",           # ☃ snowman
    "\u26C4": "emoji_snow",           # ⛄ snowman without snow
    "\U0001F3B1": "emoji_snow",       # 🎱 8-ball (an eighth of cocaine)
    "\U0001F36B": "emoji_chocolate",  # 🍫 (hash in some areas; the lexicon gives it no weight yet)
    "\U0001F50C": "emoji_plug",       # 🔌 "the plug" = supplier
    "\U0001F4B0": "emoji_money",      # 💰
    "\U0001F4B5": "emoji_money",      # 💵
    "\U0001F4B7": "emoji_money",      # 💷
    "\U0001F4B8": "emoji_money",      # 💸
    "\U0001FA78": "emoji_blood",      # 🩸
    "\u26B0": "emoji_coffin",         # ⚰
    "\U0001F691": "emoji_ambulance",  # 🚑
    "\U0001F977": "emoji_ninja",      # 🥷 (balaclava imagery in drill)
    "\U0001F480": "emoji_skull",      # 💀 (mostly "I'm dead" laughter)
    "\U0001FAA6": "emoji_coffin",     # 🪦 headstone
    "\U0001F3AF": "emoji_target",     # 🎯 direct hit
    "\u26BD": "emoji_football",       # ⚽ (a sport context cue)
    "\U0001F3AE": "emoji_videogame",  # 🎮 (a gaming context cue)
}

#: Removed outright. Besides these, every character of Unicode category Cf (format) is removed.
INVISIBLE_CHARS: frozenset[str] = frozenset(
    "\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B\u180C\u180D\u180E\u180F"
    "\u200B\u200C\u200D\u200E\u200F\u202A\u202B\u202C\u202D\u202E"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206A\u206B\u206C\u206D\u206E\u206F"
    "\u3164\uFEFF\uFFA0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))        # variation selectors
    + "".join(chr(c) for c in range(0x1F3FB, 0x1F400))     # emoji skin-tone modifiers
    + "".join(chr(c) for c in range(0xE0000, 0xE0080))     # tag characters
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))     # variation selectors supplement
)

#: Lower-case lookalikes (after NFKC + casefold) folded to the Latin letter they imitate.
#: Cyrillic, Greek, Armenian and "small capitals" are what homoglyph generators use.
#: Consequence: genuine Russian or Greek text is mangled for matching purposes; the lexicon is
#: English/UK slang, so that only costs the odd spurious match, never a miss.
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "н": "h", "і": "i",
    "ї": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m", "п": "n", "о": "o", "р": "p", "ԛ": "q",
    "г": "r", "ѕ": "s", "т": "t", "у": "y", "ԝ": "w", "х": "x", "ь": "b", "ѵ": "v", "ү": "y",
    # Greek
    "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u",
    "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "ց": "g", "զ": "q",
    # Latin extensions and small capitals
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ɪ": "i", "ʟ": "l", "ᴀ": "a", "ʙ": "b",
    "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ᴊ": "j", "ᴋ": "k", "ᴍ": "m", "ɴ": "n",
    "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y",
    "ᴢ": "z", "ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t",
}

#: Leetspeak substitutions, applied only inside words (see ``_leet_pass``).
LEET: dict[str, str] = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}

# Apostrophe lookalikes; NFKC leaves most of them alone and ``´`` would even become a space.
_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201B": "'", "\u02BC": "'", "\u02B9": "'", "`": "'",
           "\u00B4": "'", "\u2032": "'", "\uFF07": "'"}

# --------------------------------------------------------------------------- character pass

# ASCII table for str.translate: upper -> lower, control characters (bar tab/newline/CR) -> space.
_ASCII_TABLE: dict[int, str] = {c: chr(c + 32) for c in range(ord("A"), ord("Z") + 1)}
_ASCII_TABLE.update({c: " " for c in range(32) if chr(c) not in "\t\n\r"})
_ASCII_TABLE[0x7F] = " "
_ASCII_TABLE[ord("`")] = "'"

# Lazily filled with every non-ASCII character seen: ord -> replacement (possibly "" or several
# characters). Shared by all calls; it can only grow to the size of Unicode, and entries are pure
# functions of the character, so concurrent filling from threads is harmless.
_CHAR_TABLE: dict[int, str] = dict(_ASCII_TABLE)


def _map_char(c: str) -> str:
    """Normalised replacement for one non-ASCII character (see module docstring, step 1)."""
    token = EMOJI_TOKENS.get(c)
    if token is not None:
        return f" {token} "
    if c in INVISIBLE_CHARS:
        return ""
    if c in _QUOTES:
        return _QUOTES[c]
    cat = unicodedata.category(c)
    if cat == "Cf":
        return ""
    if cat in ("Zs", "Zl", "Zp", "Cc") or c == "\u2800":   # odd spaces; braille blank is a filler
        return " " if c not in "\n\t\r\x85\u2028\u2029" else "\n"
    decomposed = unicodedata.normalize("NFKD", c)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Me"))
    folded = unicodedata.normalize("NFKC", stripped).casefold()
    return "".join(CONFUSABLES.get(ch, _QUOTES.get(ch, ch)) for ch in folded)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _char_pass(text: str) -> tuple[str, Sequence[int], Sequence[int]]:
    """Step 1 for every character, via ``str.translate``; offsets are computed only if they shift."""
    n = len(text)
    if text.isascii():
        return text.translate(_ASCII_TABLE), range(n), range(1, n + 1)
    table = _CHAR_TABLE
    for c in set(text):
        o = ord(c)
        if o > 0x7F and o not in table:
            table[o] = _map_char(c)
    out = text.translate(table)
    if len(out) == n and all(len(table[ord(c)]) == 1 for c in _NON_ASCII.findall(text)):
        return out, range(n), range(1, n + 1)
    # Only characters whose replacement is not exactly one character shift the offsets; copy
    # the runs between them as ranges.
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _NON_ASCII.finditer(text):
        i = m.start()
        k = len(table[ord(text[i])])
        if k == 1:
            continue
        starts.extend(range(pos, i))
        ends.extend(range(pos + 1, i + 1))
        if k:
            starts.extend([i] * k)
            ends.extend([i + 1] * k)
        pos = i + 1
    starts.extend(range(pos, n))
    ends.extend(range(pos + 1, n + 1))
    return out, starts, ends


# --------------------------------------------------------------------------- regex passes

_LEET_PRESENT = re.compile(r"[013457@$]")
_LEET_TABLE = str.maketrans(LEET)
_DIGITS = "0123456789"
_NON_LEET_DIGITS = frozenset("2689")
# A number with a unit or ordinal ("10g", "5pm", "1st", "4k") is not leetspeak.
_NUMBER_WITH_UNIT = re.compile(
    r"\d+(?:g|kg|mg|ml|l|k|m|mm|cm|km|pm|am|st|nd|rd|th|p|x|s|oz|lb|lbs|yo|yrs|hr|hrs|min|mins|mph|gb|mb|v)"
)

# Single letters separated by one repeated separator: "k n i f e", "k.n.i.f.e", "k - n - i".
_SPACED = re.compile(
    r"(?<![^\W_])[^\W\d_](?P<sep>[ \t]+|[ \t]*[.\-_*\u00B7\u2022|/+~,:][ \t]*)[^\W\d_]"
    r"(?:(?P=sep)[^\W\d_])+(?![^\W_])"
)
# Standalone English words of one letter; a space-separated run starting with one is read as
# "a k n i f e" = "a knife", not "aknife".
_ONE_LETTER_WORDS = frozenset("aiu")
# With plain spaces, three letters are too often real words ("u r a"), so ask for four.
_MIN_SPACED_LETTERS_WS = 4

_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
# In ASCII text the letters are [A-Za-z]: the same test, about twice as fast (no Unicode category).
_ELONGATED_ASCII = re.compile(r"([A-Za-z])\1\1")
# Every spaced-out run (``_SPACED``) has a letter with a separator character on each side (its
# second letter): a text without one has none, and this is one fast scan for the separators.
_SPACED_MAYBE = re.compile(r"[ \t.\-_*\u00B7\u2022|/+~,:][^\W\d_][ \t.\-_*\u00B7\u2022|/+~,:]")


def _splice(text: str, starts: Sequence[int], ends: Sequence[int],
            edits: Iterable[tuple[int, int, str, list[int], list[int]]]
            ) -> tuple[str, list[int], list[int]]:
    """Apply non-overlapping, ordered edits ``(a, b, replacement, new_starts, new_ends)``."""
    out: list[str] = []
    new_s: list[int] = []
    new_e: list[int] = []
    pos = 0
    for a, b, rep, rs, re_ in edits:
        out.append(text[pos:a])
        new_s.extend(starts[pos:a])
        new_e.extend(ends[pos:a])
        out.append(rep)
        new_s.extend(rs)
        new_e.extend(re_)
        pos = b
    out.append(text[pos:])
    new_s.extend(starts[pos:])
    new_e.extend(ends[pos:])
    return "".join(out), new_s, new_e


def _is_run_char(ch: str) -> bool:
    return (ch.isalnum() and ch != "_") or ch in "@$"


def _leet_pass(text: str) -> str:
    """Decode leetspeak inside words. One character for one, so the offset map is unchanged.

    A run (letters, digits, ``@``, ``$``) qualifies when it has a letter, and, after dropping
    a leading ``@`` (a mention) and trailing digits (``ak47``, ``mp5``, ``covid19``; but one leet
    digit after three or more characters is a letter: ``knif3``, ``l1n3``), holds no
    digit that isn't leet (``g2g`` stays). A run with no letter at all (``4-0``, ``$100``) and
    a number with a unit (``10g``, ``5pm``, ``1st``) are left alone. Only runs around a leet
    character are looked at, so text without one costs a single regex search.
    """
    pieces: list[str] = []
    pos = 0
    n = len(text)
    for m in _LEET_PRESENT.finditer(text):
        i = m.start()
        if i < pos:
            continue                      # inside a run already handled
        a = i
        while a > 0 and _is_run_char(text[a - 1]):
            a -= 1
        b = i + 1
        while b < n and _is_run_char(text[b]):
            b += 1
        run = text[a:b]
        pieces.append(text[pos:a])
        pos = b
        if _NUMBER_WITH_UNIT.fullmatch(run):
            pieces.append(run)
            continue
        lead = len(run) - len(run.lstrip("@"))
        core = run[lead:].rstrip(_DIGITS)
        tail = run[lead + len(core):]
        if len(tail) == 1 and tail in LEET and len(core) >= 3 and sum(ch.isalpha() for ch in core) >= 2:
            core += tail                  # "knif3", "l1n3": one leet letter at the end of a word
        if (not core or not any(ch.isalpha() for ch in core) or not any(ch in LEET for ch in core)
                or any(ch in _NON_LEET_DIGITS for ch in core)):
            pieces.append(run)
            continue
        pieces.append(run[:lead] + core.translate(_LEET_TABLE) + run[lead + len(core):])
    if not pieces:
        return text
    pieces.append(text[pos:])
    return "".join(pieces)


def _spacing_pass(text: str, starts: Sequence[int], ends: Sequence[int]
                  ) -> tuple[str, Sequence[int], Sequence[int]]:
    """Join single letters spaced out with one repeated separator, keeping each letter's offsets."""
    if _SPACED_MAYBE.search(text) is None:
        return text, starts, ends
    edits = []
    for m in _SPACED.finditer(text):
        sep = m.group("sep")
        a, b = m.start(), m.end()
        letters = list(range(a, b, len(sep) + 1))
        if not sep.strip():
            if text[a] in _ONE_LETTER_WORDS and len(letters) - 1 >= _MIN_SPACED_LETTERS_WS:
                letters = letters[1:]
                a = letters[0]
            if len(letters) < _MIN_SPACED_LETTERS_WS:
                continue
        rep = "".join(text[i] for i in letters)
        edits.append((a, b, rep, [starts[i] for i in letters], [ends[i] for i in letters]))
    if not edits:
        return text, starts, ends
    return _splice(text, starts, ends, edits)


def _elongation_pass(text: str, starts: Sequence[int], ends: Sequence[int], keep: int
                     ) -> tuple[str, Sequence[int], Sequence[int]]:
    """Collapse runs of 3+ identical letters to ``keep`` (1 or 2) letters.

    The last kept letter's span covers the rest of the run, so evidence quotes the whole
    elongated word.
    """
    edits = []
    for m in _ELONGATED.finditer(text):
        a, b = m.start(), m.end()
        rs = [starts[a + j] for j in range(keep)]
        re_ = [ends[a + j] for j in range(keep - 1)] + [ends[b - 1]]
        edits.append((a, b, m.group(1) * keep, rs, re_))
    if not edits:
        return text, starts, ends
    return _splice(text, starts, ends, edits)


# --------------------------------------------------------------------------- public API

@dataclass(frozen=True, slots=True)
class NormalisedText:
    """A normalised view of ``original`` with a per-character map back into it.

    ``starts[i]``/``ends[i]`` are the original ``[start, end)`` that normalised character
    ``i`` came from; an emoji token's characters all point at the emoji. ``squeezed`` is the
    same text with elongations collapsed to one letter instead of two, present only when the
    text had an elongation (match both views; ``views()`` gives whichever exist).
    """

    original: str
    text: str
    starts: Sequence[int]
    ends: Sequence[int]
    squeezed: NormalisedText | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised ``[start, end)`` to the original text's ``[start, end)``.

        Removed characters (zero-width, separators) between the two ends are included, which
        is what an officer needs to see: ``sh\\u200bank`` is quoted whole.
        """
        n = len(self.text)
        start = max(0, min(start, n))
        end = max(start, min(end, n))
        if start == end:
            pos = self.starts[start] if start < n else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]

    def views(self) -> tuple[NormalisedText, ...]:
        return (self,) if self.squeezed is None else (self, self.squeezed)


#: Words a masked spelling is matched against ("st*bbed", "d*e", "h#sh"): only words the hub looks
#: for, so "f*ck" stays as written. A mask is replaced only when exactly one word fits it.
UNMASK_WORDS: frozenset[str] = frozenset("""
kill kills killed killing die dies died dead death stab stabs stabbed stabbing shoot shoots shot shooting murder
slit slits throat throats batter battered strangle strangled lynch lynched behead beheaded butcher butchered execute
executed torture tortured shanking knifed murk murked merked bodied bleed bleeding skull gas gassed
murdered murk merk shank urself yourself shanked knife knives blade blades gun guns bullet bullets hurt slit throat rape raped bomb
bombed hang hanged burn burned burnt beat beaten attack wet splash splashed ching chinged bury buried opps
weed bud hash coke crack pills ket mdma xans shrooms heroin cocaine kush zoots skunk spice plug trap bando food
""".split())
_MASKED = re.compile(r"(?<![^\W_])(?:(?=[a-z*#]*[a-z])[a-z]*[*#][a-z*#]*|[a-z]+!+[a-z]+)(?![^\W_])")


def _unmask_pass(text: str) -> str:
    """Fill masked letters from ``UNMASK_WORDS`` ("st*bbed" -> "stabbed"). Same length, so the
    offset map is unchanged; a cheap check skips texts without ``*`` or ``#``."""
    if "*" not in text and "#" not in text and "!" not in text:
        return text

    def fill(m: re.Match[str]) -> str:
        word = m.group(0)
        if not 3 <= len(word) <= 12 or sum(word.count(c) for c in "*#!") > len(word) // 2:
            return word
        rx = re.compile("".join("[a-z]" if ch in "*#!" else re.escape(ch) for ch in word))
        fits = [w for w in UNMASK_WORDS if len(w) == len(word) and rx.fullmatch(w)]
        return fits[0] if len(fits) == 1 else word

    return _MASKED.sub(fill, text)


_JOINED = re.compile(r"(?<![\w.\-/@])[a-z]+(?:[.\-_][a-z]+)+(?![\w/@]|\.[a-z])")
_PIPE_K = re.compile(r"(?<![^\W_])\|<(?=[a-z])|(?<=[a-z])\|<")


def _join_pass(text: str, starts: Sequence[int], ends: Sequence[int]
               ) -> tuple[str, Sequence[int], Sequence[int]]:
    """Undo a separator put inside one violent word ("sl.it your thr.oat", "st-ab") and the
    two-character ``|<`` for ``k`` ("|<ill"). A split word is joined only when the joined word is
    one of ``UNMASK_WORDS``, so "e.g", "well-known" and file names stay as they are."""
    if "." not in text and "-" not in text and "_" not in text and "|<" not in text:
        return text, starts, ends
    edits = []
    for m in _PIPE_K.finditer(text):
        a = m.start()
        edits.append((a, a + 2, "k", [starts[a]], [ends[a + 1]]))
    for m in _JOINED.finditer(text):
        word = re.sub(r"[.\-_]", "", m.group(0))
        if word not in UNMASK_WORDS:
            continue
        keep = [i for i in range(m.start(), m.end()) if text[i] not in ".-_"]
        edits.append((m.start(), m.end(), word, [starts[i] for i in keep], [ends[i] for i in keep]))
    if not edits:
        return text, starts, ends
    edits.sort(key=lambda e: e[0])
    return _splice(text, starts, ends, edits)


def normalise(text: str) -> NormalisedText:
    """Normalise ``text`` for matching (see the module docstring for the steps and why)."""
    t, starts, ends = _char_pass(text)
    t = _leet_pass(t)
    t = _unmask_pass(t)
    t, starts, ends = _join_pass(t, starts, ends)
    t, starts, ends = _spacing_pass(t, starts, ends)
    if (_ELONGATED_ASCII if t.isascii() else _ELONGATED).search(t) is None:
        return NormalisedText(text, t, starts, ends)
    t1, s1, e1 = _elongation_pass(t, starts, ends, keep=1)
    t2, s2, e2 = _elongation_pass(t, starts, ends, keep=2)
    return NormalisedText(text, t2, s2, e2, squeezed=NormalisedText(text, t1, s1, e1))
