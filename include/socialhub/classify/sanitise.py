"""Any text can be classified: a sanitised copy for the classifier, the original kept untouched.

Why: a post is evidence, so the stored text is never altered; but the classifier's code (regexes,
numpy's UTF-32 view of the text) cannot take every string Python can hold. A lone UTF-16
surrogate (``"\\ud800"`` from a JSON escape), NUL and other control characters, or a megabyte of
text must neither crash a batch nor lose a post. ``sanitise`` replaces each offending character
with ONE character, so every offset into the copy is the same offset into the original and the
evidence spans still point at the original post.
"""

from __future__ import annotations

import re

__all__ = ["REPLACEMENT", "sanitise"]

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls except tab/newline/carriage return, DEL and the C1 controls: one space each.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def sanitise(text: object) -> str:
    """A copy of ``text`` that every classifier stage accepts, with the same length and offsets.

    Lone surrogates become U+FFFD and control characters a space. A non-string (``None``
    included) is a caller's bug and raises ``TypeError`` rather than being guessed at.
    """
    if not isinstance(text, str):
        raise TypeError(f"classify() needs str, got {type(text).__name__}")
    if text.isascii() and text.isprintable():
        return text
    return _CONTROL.sub(" ", _SURROGATE.sub(REPLACEMENT, text))
