"""Safe parsing of RSS 2.0, RSS 1.0 (RDF) and Atom feeds into plain ``FeedEntry`` records.

Why not a feed library: the formats are small, the stdlib parses them, and a watched feed is
untrusted input. ``parse_xml`` refuses what makes XML dangerous before any parser sees it:
entity declarations (billion laughs / quadratic blow-up, and external entities: XXE).
``defusedxml`` is used when installed; without it the same rule is enforced by a pre-scan, and
the stdlib parser never fetches anything (an external DOCTYPE, as old RSS 0.91 feeds carry, is
harmless and allowed). Body size is capped earlier, by ``HttpClient``.

Parsing is lenient about *content* (a missing date or link becomes an empty field for the data
quality stage to judge, exactly like the JSON connectors) but strict about *structure*: a body
that is not XML, or XML that is neither RSS nor Atom, raises ``FeedError``.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from socialhub.sources.common import parse_time

try:  # optional hardening; the fallback below enforces the same rules
    import defusedxml.ElementTree as _defused  # type: ignore[import-untyped]
    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - depends on the environment
    _defused = None
    DefusedXmlException = ()  # type: ignore[assignment,misc]

ATOM = "http://www.w3.org/2005/Atom"
MEDIA = "http://search.yahoo.com/mrss/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS1 = "http://purl.org/rss/1.0/"
THREAD = "http://purl.org/syndication/thread/1.0"
YT = "http://www.youtube.com/xml/schemas/2015"

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


class FeedError(ValueError):
    """The body is not a feed we can read safely; the message says why."""


def parse_xml(data: bytes) -> ET.Element:
    """Parse untrusted XML: no entity declarations, nothing fetched."""
    if _ENTITY_DECL.search(data):
        raise FeedError("refusing XML with an entity declaration (<!ENTITY>): possible entity-expansion "
                        "bomb or external entity")
    try:
        if _defused is not None:
            return _defused.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
        return ET.fromstring(data, parser=ET.XMLParser())
    except ET.ParseError as exc:
        raise FeedError(f"not well-formed XML ({exc})") from None
    except DefusedXmlException as exc:  # type: ignore[misc]
        raise FeedError(f"refusing unsafe XML ({type(exc).__name__})") from None


@dataclass(slots=True)
class FeedEntry:
    """One item/entry. ``raw`` is the entry's own XML (the evidence kept next to the Post)."""

    id: str
    link: str
    title: str
    text: str                  # summary/description/content as HTML or text, as published
    published: datetime | None
    published_raw: str
    author: str
    media: list[str] = field(default_factory=list)
    reply_to: str | None = None
    video_id: str = ""         # YouTube feeds: yt:videoId
    raw: str = ""


@dataclass(slots=True)
class Feed:
    kind: str                  # "rss", "rdf" or "atom"
    title: str
    link: str
    entries: list[FeedEntry]
    next_url: str | None = None   # RFC 5005 paged feed: <link rel="next">


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _text(el: ET.Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _first_text(parent: ET.Element, *paths: str) -> str:
    for path in paths:
        value = _text(parent.find(path))
        if value:
            return value
    return ""


def parse_feed_time(value: str) -> datetime | None:
    """RFC 822 (RSS ``pubDate``) or ISO 8601 (Atom, ``dc:date``) -> aware UTC, else None."""
    value = value.strip()
    if not value:
        return None
    iso = parse_time(value)
    if iso is not None:
        return iso
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _media_urls(el: ET.Element) -> list[str]:
    """Enclosures (image/video/audio), Media RSS content and thumbnails; first occurrence wins."""
    urls: list[str] = []
    for enc in el.findall("enclosure"):
        if enc.get("url"):
            urls.append(enc.get("url", ""))
    for link in el.findall(_q(ATOM, "link")):
        if link.get("rel") == "enclosure" and link.get("href"):
            urls.append(link.get("href", ""))
    for node in el.iter():
        if node.tag in (_q(MEDIA, "content"), _q(MEDIA, "thumbnail")) and node.get("url"):
            url = node.get("url", "")
            if "x-shockwave-flash" in (node.get("type") or ""):   # YouTube's dead Flash player URL
                continue
            urls.append(url)
    return list(dict.fromkeys(u.strip() for u in urls if u.strip()))


def _raw(el: ET.Element) -> str:
    return ET.tostring(el, encoding="unicode")


def _atom_link(el: ET.Element, rel: str = "alternate") -> str:
    for link in el.findall(_q(ATOM, "link")):
        if (link.get("rel") or "alternate") == rel and link.get("href"):
            return link.get("href", "").strip()
    return ""


def _atom_entry(el: ET.Element) -> FeedEntry:
    content = el.find(_q(ATOM, "content"))
    summary = el.find(_q(ATOM, "summary"))
    media_description = el.find(f"{_q(MEDIA, 'group')}/{_q(MEDIA, 'description')}")
    text = _text(content) or _text(summary) or _text(media_description)
    published_raw = _first_text(el, _q(ATOM, "published"), _q(ATOM, "updated"))
    link = _atom_link(el)
    reply = el.find(_q(THREAD, "in-reply-to"))
    return FeedEntry(
        id=_text(el.find(_q(ATOM, "id"))) or link,
        link=link,
        title=_text(el.find(_q(ATOM, "title"))),
        text=text,
        published=parse_feed_time(published_raw),
        published_raw=published_raw,
        author=_first_text(el, f"{_q(ATOM, 'author')}/{_q(ATOM, 'name')}"),
        media=_media_urls(el),
        reply_to=(reply.get("ref") or reply.get("href")) if reply is not None else None,
        video_id=_text(el.find(_q(YT, "videoId"))),
        raw=_raw(el),
    )


def _rss_item(el: ET.Element, ns: str = "") -> FeedEntry:
    def tag(name: str) -> str:
        return _q(ns, name) if ns else name

    guid = _text(el.find(tag("guid")))
    link = _text(el.find(tag("link"))) or (el.get(_q(RDF, "about")) or "")
    published_raw = _first_text(el, tag("pubDate"), _q(DC, "date"))
    text = _first_text(el, _q(CONTENT, "encoded"), tag("description"))
    return FeedEntry(
        id=guid or link,
        link=link,
        title=_text(el.find(tag("title"))),
        text=text,
        published=parse_feed_time(published_raw),
        published_raw=published_raw,
        author=_first_text(el, _q(DC, "creator"), tag("author")),
        media=_media_urls(el),
        raw=_raw(el),
    )


def parse_feed(data: bytes) -> Feed:
    """Bytes of an RSS 2.0 / RSS 1.0 / Atom document -> ``Feed``; anything else raises ``FeedError``."""
    root = parse_xml(data)
    if root.tag == _q(ATOM, "feed"):
        return Feed("atom", _text(root.find(_q(ATOM, "title"))), _atom_link(root),
                    [_atom_entry(e) for e in root.findall(_q(ATOM, "entry"))],
                    _atom_link(root, "next") or None)
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise FeedError("RSS document without a <channel>")
        return Feed("rss", _text(channel.find("title")), _text(channel.find("link")),
                    [_rss_item(i) for i in channel.findall("item")], _atom_link(channel, "next") or None)
    if root.tag == _q(RDF, "RDF"):
        channel = root.find(_q(RSS1, "channel"))
        return Feed("rdf", _text(channel.find(_q(RSS1, "title"))) if channel is not None else "",
                    _text(channel.find(_q(RSS1, "link"))) if channel is not None else "",
                    [_rss_item(i, RSS1) for i in root.findall(_q(RSS1, "item"))])
    local = root.tag.rsplit("}", 1)[-1]
    raise FeedError(f"XML root <{local}> is neither RSS (<rss>, <rdf:RDF>) nor Atom (<feed>)")


def entry_as_dict(entry: FeedEntry) -> dict[str, Any]:
    """The parsed fields without ``raw`` (for logs and tests)."""
    return {k: getattr(entry, k) for k in ("id", "link", "title", "published_raw", "author", "media", "reply_to")}


__all__ = ["Feed", "FeedEntry", "FeedError", "entry_as_dict", "parse_feed", "parse_feed_time", "parse_xml"]
