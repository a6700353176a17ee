"""Decode a post's image safely, and make the blurred preview reviewers see.

Media comes from strangers and some of it is built to hurt the pipeline: decompression bombs, truncated or
corrupt files, SVGs with scripts, GIFs with thousands of frames, files that lie about their type. Every
such case ends in a :class:`MediaError` with a ``reason`` an operator can act on, or in a ``note`` on the
result; nothing here crashes a task or runs away with memory or time:

* bytes are capped (``Limits.max_bytes``) before anything is parsed;
* the type is sniffed from magic bytes (:mod:`.sniff`), never taken from a name or header, and the
  decoder is restricted to that one format;
* the declared dimensions are checked against ``Limits.max_pixels`` before any pixel is decoded, and
  Pillow's own decompression-bomb warning is an error inside :func:`decode_image` only;
* only the first frame is ever decoded; frames are counted up to ``Limits.max_frames_counted``;
* SVG is never rendered (it is a program, not a picture);
* truncated files are refused, not padded with grey (``LOAD_TRUNCATED_IMAGES`` is never set).

Decoding time is bounded by these caps (at most ``max_pixels`` pixels of one frame); there is no
wall-clock timeout here because decoding runs in-process. The ``"timeout"`` reason is used by the
subprocess-based steps (video keyframes).
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from socialhub.errors import SocialhubError
from socialhub.media.sniff import OCTET_STREAM, kind_of, normalise_type, sniff

if TYPE_CHECKING:
    from PIL import Image

#: what ``MediaError.reason`` may say
MEDIA_REASONS = frozenset({
    "empty", "too_large", "bomb", "truncated", "svg", "too_many_frames", "unsupported", "timeout", "corrupt",
})

_HINTS = {
    "empty": "the media was fetched as zero bytes; the post's record is kept without this media",
    "too_large": "nothing of this media was decoded; the post's record (and the raw bytes, if stored) are kept. "
                 "Raise Limits.max_bytes only if such files are expected",
    "bomb": "the file declares more pixels than the limit and was not decoded (a decompression bomb, or a "
            "genuinely huge image); the raw bytes and the post's record are kept, without hash or preview",
    "truncated": "the file ends early (an interrupted download or a cut file); it was not decoded. "
                 "Fetching it again may help; the raw bytes and the post's record are kept",
    "svg": "SVG is a program (it can carry scripts and external references) and is never rendered; "
           "the raw bytes and the post's record are kept, without hash or preview",
    "too_many_frames": "the animation has more frames than the limit; only the raw bytes are kept",
    "unsupported": "this type is not decoded here; the raw bytes and the post's record are kept",
    "timeout": "the external tool was stopped at its time limit; the raw bytes and the post's record are kept",
    "corrupt": "the decoder could not read the file; the raw bytes and the post's record are kept",
}

# Pillow plugin names for the sniffed types; the decoder is told to try only this one.
_PIL_FORMATS = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP",
    "image/bmp": "BMP", "image/tiff": "TIFF", "image/avif": "AVIF",
}


class MediaError(SocialhubError):
    """A piece of media could not be used; ``reason`` says why (one of :data:`MEDIA_REASONS`).

    The message says what happened; the hint says what was kept and what, if anything, to do.
    """

    def __init__(self, reason: str, message: str | None = None, *, hint: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or f"media refused: {reason}", hint=hint or _HINTS.get(reason))


@dataclass(frozen=True)
class Limits:
    """Caps that bound the work done on one piece of media.

    ``max_pixels`` (40 megapixels) fits any real camera photo and keeps one decoded RGB frame near 120 MB;
    ``max_frames_counted`` bounds how far an animation's frames are counted (never decoded);
    ``preview_px`` is the longest side of the blurred preview.
    """

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_frames_counted: int = 1000
    preview_px: int = 128


@dataclass
class Decoded:
    """The first frame of an image, as RGB with its EXIF orientation applied, and what was noticed."""

    mime: str
    width: int
    height: int
    frames: int
    image: Image.Image
    frames_capped: bool = False
    notes: list[str] = field(default_factory=list)


def decode_image(data: bytes, *, declared_type: str | None = None, limits: Limits = Limits()) -> Decoded:
    """Decode the first frame of ``data`` into RGB, refusing anything hostile with a :class:`MediaError`.

    Bounds: ``limits.max_bytes`` of input; the declared size is checked against ``limits.max_pixels``
    before pixels are decoded (and Pillow's decompression-bomb warning is raised as an error, in this call
    only); one frame decoded; frames counted up to ``limits.max_frames_counted`` by reading frame headers.
    ``declared_type`` (the header or extension) is only compared with the sniffed type and noted if it lies.
    """
    from PIL import Image, ImageOps

    if not data:
        raise MediaError("empty", "the media is empty (0 bytes)")
    mime = sniff(data)
    notes: list[str] = []
    declared = normalise_type(declared_type)
    if declared and declared != mime:
        notes.append(f"declared type {declared} but the bytes are {mime}: decoded as {mime}")
    kind = kind_of(mime)
    if kind == "svg":
        raise MediaError("svg", f"the bytes are an SVG document ({len(data)} bytes): not rendered")
    if kind != "image" or mime not in _PIL_FORMATS:
        what = "not a recognised media type" if mime == OCTET_STREAM else mime
        raise MediaError("unsupported", f"the bytes are {what}, not an image that is decoded here")
    if len(data) > limits.max_bytes:
        raise MediaError("too_large", f"the {mime} is {len(data)} bytes, over the limit of {limits.max_bytes}")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[mime]])
            width, height = im.size
            _check_pixels(mime, width, height, limits)
            frames, capped = _count_frames(im, data, mime, limits.max_frames_counted)
            im.seek(0)
            im.load()
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise MediaError("bomb", f"the {mime} declares too many pixels ({e}): not decoded") from e
    except Image.UnidentifiedImageError as e:
        raise MediaError("corrupt", f"the bytes start like {mime} but the decoder cannot read them") from e
    except (EOFError, OSError, SyntaxError, ValueError, struct.error, zlib.error, IndexError, TypeError) as e:
        if _is_truncation(e):
            raise MediaError("truncated", f"the {mime} ({len(data)} bytes) is truncated: {e}") from e
        raise MediaError("corrupt", f"the {mime} ({len(data)} bytes) could not be decoded: {e}") from e

    if frames > 1:
        count = f"{frames}+" if capped else str(frames)
        notes.append(f"animated: {count} frames, only the first frame used")
    oriented: Image.Image = im
    orientation = _orientation(im)
    if orientation not in (None, 1):
        try:
            oriented = ImageOps.exif_transpose(im)
            notes.append(f"EXIF orientation {orientation} applied")
        except Exception as e:  # noqa: BLE001 - a malformed EXIF block must not lose the picture
            notes.append(f"EXIF orientation {orientation} could not be applied ({type(e).__name__}): "
                         f"image used as stored")
    try:
        rgb = _to_rgb(oriented)
    except (OSError, ValueError) as e:
        raise MediaError("unsupported", f"the {mime} has pixel mode {im.mode}, which cannot be converted "
                                        f"to RGB: {e}") from e
    return Decoded(mime=mime, width=rgb.width, height=rgb.height, frames=frames, image=rgb,
                   frames_capped=capped, notes=notes)


def _check_pixels(mime: str, width: int, height: int, limits: Limits) -> None:
    if width <= 0 or height <= 0:
        raise MediaError("corrupt", f"the {mime} declares an empty size {width}x{height}")
    if width * height > limits.max_pixels:
        raise MediaError("bomb", f"the {mime} declares {width}x{height} = {width * height} pixels, over the "
                                 f"limit of {limits.max_pixels}: not decoded")


def _is_truncation(e: BaseException) -> bool:
    text = str(e).lower()
    return isinstance(e, EOFError) or "truncated" in text or "broken data stream" in text or "end of file" in text


def _orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - only for the note
        return None
    return value if isinstance(value, int) else None


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB, with transparency composited onto white (what a viewer shows), so nothing hides in alpha."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        im = im.convert("I").point(lambda v: v / 256).convert("L") if im.mode != "F" else im.convert("L")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB") if im.mode != "RGB" else im.copy()


def _count_frames(im: Image.Image, data: bytes, mime: str, cap: int) -> tuple[int, bool]:
    """Frames in the file, counted up to ``cap`` without decoding any (``(count, capped)``)."""
    if mime == "image/gif":
        n = _gif_frames(data, cap + 1)
    elif mime == "image/tiff":
        n = 1
        try:
            while n <= cap:
                im.seek(n)
                n += 1
        except EOFError:
            pass
    else:
        declared = getattr(im, "n_frames", 1)
        n = declared if isinstance(declared, int) and declared > 0 else 1
    return (cap, True) if n > cap else (n, False)


def _gif_frames(data: bytes, stop: int) -> int:
    """Image descriptors in a GIF, read from its block structure (no LZW decoding), stopping at ``stop``.

    A malformed block structure ends the count where it breaks: the first frame is decoded by Pillow,
    which reports any real corruption.
    """
    if len(data) < 13:
        return 1
    flags = data[10]
    pos = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    frames = 0
    size = len(data)
    while pos < size and frames < stop:
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor
            frames += 1
            if pos + 10 > size:
                break
            local = data[pos + 9]
            pos += 10 + (3 * (2 << (local & 7)) if local & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1)  # LZW minimum code size, then data sub-blocks
        else:
            break
    return max(frames, 1)


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    size = len(data)
    while pos < size:
        length = data[pos]
        pos += 1 + length
        if length == 0:
            break
    return pos


def blurred_preview(image: Image.Image, *, size: int = 128) -> bytes:
    """A small, strongly blurred JPEG of ``image`` for reviewers: shapes and colours, no detail.

    The picture is averaged down to at most 16 px on its longest side (so text, faces and fine detail are
    gone, not just softened), scaled back up to ``size`` px on its longest side and blurred again so the
    blocks do not read as a pixel-art copy. The JPEG carries no EXIF or other metadata, and the same input
    always gives the same bytes (fixed quality, subsampling, no optimisation passes).
    """
    from PIL import Image, ImageFilter

    rgb = image.convert("RGB") if image.mode != "RGB" else image
    w, h = rgb.size
    longest = max(w, h, 1)
    tiny_scale = min(1.0, 16 / longest)
    tiny = rgb.resize((max(1, round(w * tiny_scale)), max(1, round(h * tiny_scale))), Image.Resampling.BOX,
                      reducing_gap=2.0)
    out_scale = size / max(tiny.size)
    out = tiny.resize((max(1, round(tiny.width * out_scale)), max(1, round(tiny.height * out_scale))),
                      Image.Resampling.BILINEAR)
    out = out.filter(ImageFilter.GaussianBlur(radius=max(1.0, size / 24)))
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=75, subsampling=2, optimize=False, progressive=False)
    return buf.getvalue()


def image_info(decoded: Decoded) -> dict[str, Any]:
    """What is recorded about a decoded image (JSON-able): type, size, frames and notes."""
    return {
        "mime": decoded.mime,
        "width": decoded.width,
        "height": decoded.height,
        "frames": decoded.frames,
        "frames_capped": decoded.frames_capped,
        "notes": list(decoded.notes),
    }
