"""What a blob of media really is, from its first bytes only.

A post's file name, URL extension and ``Content-Type`` header are chosen by whoever posted or serves
it, so they are never trusted: :func:`sniff` looks only at magic bytes, and the decoders use what it
says. It reads at most the first :data:`SNIFF_BYTES` bytes, so it is cheap on any input.
"""

from __future__ import annotations

import re

#: how much of the input sniff() ever looks at (an SVG may start with a long comment or doctype)
SNIFF_BYTES = 4096

OCTET_STREAM = "application/octet-stream"

IMAGE_TYPES = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff", "image/avif", "image/heic",
})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
SVG_TYPE = "image/svg+xml"

# BITMAPCOREHEADER, OS/2 2.x, BITMAPINFOHEADER, V2, V3, V4, V5: "BM" alone starts too much ordinary text
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

# Leading junk an XML document may carry before its root element: whitespace, the XML declaration,
# comments, processing instructions and a doctype (without an internal subset, which SVGs do not need).
_XML_PROLOGUE = re.compile(
    rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)*", re.DOTALL | re.IGNORECASE
)


def sniff(data: bytes) -> str:
    """The MIME type of ``data`` from its magic bytes, ``application/octet-stream`` if unknown or empty.

    Bounded: looks at no more than the first :data:`SNIFF_BYTES` bytes.
    """
    head = bytes(data[:SNIFF_BYTES])
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:2] == b"BM" and len(head) >= 26 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if head[4:8] == b"ftyp" and len(head) >= 12:
        return _ftyp(head)
    if _looks_like_svg(head):
        return SVG_TYPE
    return OCTET_STREAM


def _ftyp(head: bytes) -> str:
    """ISO base media file (MP4, QuickTime, HEIF, AVIF): decided by the major and compatible brands."""
    size = int.from_bytes(head[:4], "big")
    end = min(max(size, 16), len(head))
    brands = {head[8:12]} | {head[i:i + 4] for i in range(16, end - 3, 4)}
    major = head[8:12]
    if major in _AVIF_BRANDS or (major not in _HEIC_BRANDS and brands & _AVIF_BRANDS):
        return "image/avif"
    if major in _HEIC_BRANDS or brands & {b"heic", b"heix"}:
        return "image/heic"
    if major == b"qt  ":
        return "video/quicktime"
    return "video/mp4"


def _looks_like_svg(head: bytes) -> bool:
    text = head
    for bom in (b"\xef\xbb\xbf",):
        if text.startswith(bom):
            text = text[len(bom):]
    match = _XML_PROLOGUE.match(text)
    rest = text[match.end():] if match else text
    return rest[:4].lower() == b"<svg" and (len(rest) == 4 or rest[4:5] in b" \t\r\n>/")


#: names that servers and clients use for the same types
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
           "image/x-ms-bmp": "image/bmp", "image/x-bmp": "image/bmp", "image/svg": SVG_TYPE}


def normalise_type(mime: str | None) -> str:
    """A declared MIME type lower-cased, without parameters, with common aliases resolved ("" if none)."""
    base = (mime or "").split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def kind_of(mime: str) -> str:
    """``"image"``, ``"video"``, ``"svg"`` or ``"other"`` for a MIME type that :func:`sniff` returns."""
    mime = normalise_type(mime)
    if mime == SVG_TYPE:
        return "svg"
    if mime in IMAGE_TYPES:
        return "image"
    if mime in VIDEO_TYPES:
        return "video"
    return "other"
