"""What "safe to post" means, checked on a rendered payload independently of the renderer."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterator

from socialhub.alerts.blocks import slack_len

BROADCASTS = ("@channel", "@here", "@everyone", "@group")
_ENTITY = re.compile(r"&(amp|lt|gt);")
# The only markdown the renderer itself writes in mrkdwn objects.
_OUR_MARKUP = re.compile(r"^\*Why flagged\*$|^• \*[^*\n]+\*", re.MULTILINE)
_KEPT_FORMAT = set("\u200c\u200d\u200e\u200f\u061c")


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def folded(text: str) -> str:
    """The text as a mention filter should see it: marks/format removed, NFKC, case-folded."""
    stripped = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))
    return unicodedata.normalize("NFKC", stripped).casefold()


def problems_in(text: str) -> list[str]:
    found = []
    if "<!" in text or "<@" in text or "<#" in text:
        found.append("Slack control sequence")
    if "<" in text or ">" in text:
        found.append("unescaped < or >")
    if "&" in _ENTITY.sub("", text):
        found.append("bare &")
    # Entities are decoded for display only: "&lt;@U1&gt;" shows as text, it is not parsed.
    f = folded(_ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text))
    for word in BROADCASTS:
        if word in f:
            found.append(f"broadcast mention {word}")
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cs":
            found.append("lone surrogate")
            break
        if cat == "Cc" and ch not in "\n\t":
            found.append(f"control character U+{ord(ch):04X}")
            break
        if cat == "Cf" and ch not in _KEPT_FORMAT:
            found.append(f"invisible format character U+{ord(ch):04X}")
            break
    return found


def markdown_problems(text: str) -> list[str]:
    """Formatting that could only have come from untrusted text (ours is removed first)."""
    rest = _OUR_MARKUP.sub("", text)
    found = [f"markdown {c!r}" for c in "*`~" if c in rest]
    if re.search(r"(?m)^\s*(&gt;|>)", rest):
        found.append("block quote")
    for i, ch in enumerate(rest):
        if ch == "_":
            before = rest[i - 1] if i else ""
            after = rest[i + 1] if i + 1 < len(rest) else ""
            if not (before.isalnum() and after.isalnum()):
                found.append("word-boundary underscore")
                break
    return found


def assert_safe_payload(payload: dict[str, Any]) -> None:
    """Every text in the payload is free of pings, links, markup and invisible tricks."""
    fallback = payload.get("text")
    assert isinstance(fallback, str) and fallback
    assert problems_in(fallback) + markdown_problems(fallback) == [], fallback
    for obj in text_objects(payload["blocks"]):
        assert problems_in(obj["text"]) == [], obj
        if obj["type"] == "plain_text":
            assert obj.get("emoji") is False, obj
        else:
            assert obj.get("verbatim") is True, obj
            assert markdown_problems(obj["text"]) == [], obj
        assert slack_len(obj["text"]) <= 3000
