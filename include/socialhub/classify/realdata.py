"""Real posts for measuring the classifier: Davidson et al. (2017) tweets and recorded platform responses.

Nothing here is copied into the project: the data stay in a folder outside it and are read where
they are.

Davidson tweets
===============

``davidson(datasets_dir, part)`` reads ``davidson2017/train.jsonl`` from the datasets folder:
real English tweets labelled by CrowdFlower annotators (Davidson, Warmsley, Macy and Weber,
"Automated Hate Speech Detection and the Problem of Offensive Language", ICWSM 2017; MIT
licence, Copyright (c) 2017 Tom Davidson). One JSON object per line with at least ``id``,
``text`` and ``davidson_class`` (``hate_speech``, ``offensive_language`` or ``neither``).

* ``neither`` tweets are real everyday posts: none should get one of the hub's labels, so the
  share flagged is a false-positive rate.
* ``offensive_language`` and ``hate_speech`` are not the hub's categories: they are insults and
  profanity, a few of which may be real threats, so the share flagged is REPORTED, not scored.

The folder: the ``datasets_dir`` argument (``socialhub eval --real DIR``), else the environment
variable ``SOCIALHUB_DATASETS``, else ``../shared/datasets`` beside the project root.

Deterministic split: a tweet is in the ``calibration`` part (70%) when the first 8 hex digits of
``sha256(id)``, as an integer, mod 100 is below 70, else in the ``heldout`` part (30%). The split
depends on the id alone: it never changes with the file's order, size or the date. Calibration
posts may be used as training negatives and to choose thresholds; held-out posts must never be
tuned on, only reported.

Recorded platform posts
=======================

``platform_posts(fixtures_dir)`` pulls the text of real public posts out of the recorded platform
API responses (``SOCIALHUB_CONFORMANCE_FIXTURES``, default ``../shared/fixtures``): every
``*.json`` body (not ``*.meta.json``, not the whole ``cassettes/`` from which the bodies were
extracted) is walked for the fields ``text``, ``content`` (HTML stripped), ``selftext``,
``title``, ``body``, ``textDisplay``, ``textOriginal`` and ``description``, skipping error objects
and X's ``context_annotations`` (topic names, not posts); RSS/Atom ``*.xml`` feeds give their
``title``, ``description`` and ``summary``. Texts are de-duplicated. They are UNLABELLED: the
report shows the share flagged and lists the flagged posts for a reader to judge.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

import socialhub
from socialhub.classify.dataset import json_object
from socialhub.errors import SocialhubError

__all__ = [
    "CALIBRATION_PERCENT",
    "DATASETS_ENV",
    "DAVIDSON_CLASSES",
    "DAVIDSON_FILE",
    "FIXTURES_ENV",
    "PARTS",
    "PlatformPost",
    "RealDataError",
    "RealDataMalformed",
    "RealDataMissing",
    "RealPost",
    "davidson",
    "one_line",
    "datasets_dir",
    "fixtures_dir",
    "platform_posts",
    "split_part",
    "strip_html",
]

DATASETS_ENV = "SOCIALHUB_DATASETS"
FIXTURES_ENV = "SOCIALHUB_CONFORMANCE_FIXTURES"
DAVIDSON_FILE = Path("davidson2017") / "train.jsonl"
DAVIDSON_CLASSES = ("neither", "offensive_language", "hate_speech")
PARTS = ("calibration", "heldout", "all")
CALIBRATION_PERCENT = 70

Part = Literal["calibration", "heldout", "all"]


class RealDataError(SocialhubError):
    """The real data cannot be used; the message names the path."""


class RealDataMissing(RealDataError):
    """The folder or file is not there; the hint says which setting points at it."""


class RealDataMalformed(RealDataError):
    """A line of the file is not what it should be; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class RealPost:
    """One Davidson tweet. ``part`` is ``calibration`` or ``heldout`` (``split_part(id)``)."""

    id: str
    text: str
    davidson_class: str
    part: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class PlatformPost:
    """One text pulled from a recorded platform response (unlabelled)."""

    platform: str
    source: str      # path of the recording, relative to the fixtures folder
    field: str       # the JSON field or XML element it came from
    text: str


def _project_root() -> Path:
    return Path(socialhub.__file__).resolve().parents[2]


def datasets_dir(explicit: str | Path | None = None) -> Path:
    """The datasets folder: ``explicit``, else ``$SOCIALHUB_DATASETS``, else ``../shared/datasets``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(DATASETS_ENV)
    return Path(env) if env else _project_root().parent / "shared" / "datasets"


def fixtures_dir(explicit: str | Path | None = None) -> Path:
    """The recorded responses: ``explicit``, else ``$SOCIALHUB_CONFORMANCE_FIXTURES``, else ``../shared/fixtures``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(FIXTURES_ENV)
    return Path(env) if env else _project_root().parent / "shared" / "fixtures"


def split_part(post_id: str) -> str:
    """``calibration`` (70%) or ``heldout`` (30%), from the first 8 hex digits of sha256(id) mod 100."""
    bucket = int(hashlib.sha256(post_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "calibration" if bucket < CALIBRATION_PERCENT else "heldout"


def davidson(where: str | Path | None = None, part: Part | str = "heldout") -> list[RealPost]:
    """The Davidson tweets of ``part`` (``calibration``, ``heldout`` or ``all``), in file order.

    ``where`` is the datasets folder (see ``datasets_dir``). Raises ``RealDataMissing`` when the
    folder or file is absent, ``RealDataMalformed`` naming the line for a bad line or a repeated id.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    folder = datasets_dir(where)
    how = (f"pass the folder (socialhub eval --real DIR) or set {DATASETS_ENV}; "
           "it should hold davidson2017/train.jsonl")
    if not folder.is_dir():
        raise RealDataMissing(f"datasets folder {folder} does not exist", hint=how)
    path = folder / DAVIDSON_FILE
    if not path.is_file():
        raise RealDataMissing(f"{path} does not exist", hint=how)
    out: list[RealPost] = []
    seen: dict[str, int] = {}
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                post = _davidson_line(line, f"{path}: line {n}", n)
                if post.id in seen:
                    raise RealDataMalformed(f"{path}: line {n}: id {post.id!r} already on line {seen[post.id]}")
                seen[post.id] = n
                if part == "all" or post.part == part:
                    out.append(post)
    except UnicodeDecodeError as exc:
        raise RealDataMalformed(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise RealDataMissing(f"{path}: cannot read: {exc.strerror or exc}") from None
    return out


def _davidson_line(line: str, where: str, n: int) -> RealPost:
    obj = json_object(line, where, RealDataMalformed)
    ident = obj.get("id")
    if isinstance(ident, bool) or not isinstance(ident, (str, int)) or ident == "":
        raise RealDataMalformed(f"{where}: `id` must be a non-empty string or an integer")
    text = obj.get("text")
    if not isinstance(text, str):
        raise RealDataMalformed(f"{where}: `text` must be a string" + ("" if "text" in obj else " (missing)"))
    cls = obj.get("davidson_class")
    if cls not in DAVIDSON_CLASSES:
        raise RealDataMalformed(f"{where}: `davidson_class` must be one of {', '.join(DAVIDSON_CLASSES)}, "
                                f"got {cls!r}")
    pid = str(ident)
    return RealPost(pid, text, cls, split_part(pid), n)


# --- recorded platform responses --------------------------------------------------------------------

TEXT_FIELDS = ("text", "content", "selftext", "title", "body", "textDisplay", "textOriginal", "description")
_HTML_FIELDS = frozenset({"content"})
# Sub-trees that hold no post text: API errors, X topic annotations, embedded players' HTML.
_SKIP_KEYS = frozenset({"context_annotations", "errors", "error", "media_embed", "secure_media_embed", "oembed"})
_XML_FIELDS = frozenset({"title", "description", "summary"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append(" ")

    handle_startendtag = handle_starttag


def strip_html(markup: str) -> str:
    """The text of an HTML fragment (tags removed, entities decoded, white space collapsed)."""
    p = _Text()
    p.feed(markup)
    p.close()
    return " ".join("".join(p.parts).split())


def _walk_json(obj: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in _SKIP_KEYS:
                continue
            if k in TEXT_FIELDS and isinstance(v, str):
                yield k, strip_html(v) if k in _HTML_FIELDS else html.unescape(v)
            else:
                yield from _walk_json(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk_json(v, key)


def _walk_xml(path: Path) -> Iterator[tuple[str, str]]:
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - a local recording chosen by the user
    except ET.ParseError:
        return
    for el in root.iter():
        name = el.tag.rsplit("}", 1)[-1]
        if name in _XML_FIELDS and el.text:
            yield name, strip_html(el.text)


def platform_posts(where: str | Path | None = None) -> list[PlatformPost]:
    """Every distinct text of at least 3 characters in the recorded responses under ``where``.

    Raises ``RealDataMissing`` when the folder is absent. A file that is not valid JSON / XML is
    skipped (the recordings are not ours to validate; the conformance tests do that).
    """
    root = fixtures_dir(where)
    if not root.is_dir():
        raise RealDataMissing(f"recordings folder {root} does not exist",
                              hint=f"pass --fixtures DIR or set {FIXTURES_ENV} (or use --no-platform)")
    seen: set[str] = set()
    out: list[PlatformPost] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or "cassettes" in rel.parts or path.name.endswith(".meta.json"):
            continue
        if path.suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
            found: Iterator[tuple[str, str]] = _walk_json(data)
        elif path.suffix in (".xml", ".atom", ".rss"):
            found = _walk_xml(path)
        else:
            continue
        for field_name, raw in found:
            text = " ".join(raw.split())
            key = text.casefold()
            if len(text) < 3 or key in seen:
                continue
            seen.add(key)
            out.append(PlatformPost(rel.parts[0], str(rel), field_name, text))
    return out


_WS = re.compile(r"\s+")


def one_line(text: str, limit: int = 160) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = _WS.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"
