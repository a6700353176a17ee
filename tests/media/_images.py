"""Test pictures made in code (no binary fixtures): a photo-like scene PDQ can hash with good quality."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def photo(seed: int = 1, size: tuple[int, int] = (640, 480), text: str | None = "PARK ST 14") -> Image.Image:
    """A 640x480 'scene': sky and ground gradients, a few shapes, seeded noise and some text."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0.0, 1.0, h)[:, None]
    x = np.linspace(0.0, 1.0, w)[None, :]
    base = np.zeros((h, w, 3))
    hue = rng.uniform(0.2, 0.8, 3)
    base[..., 0] = 255 * (hue[0] * (1 - y) + 0.3 * x)
    base[..., 1] = 255 * (hue[1] * (1 - 0.5 * y) + 0.2 * (1 - x))
    base[..., 2] = 255 * (hue[2] * (0.5 + 0.5 * y))
    base = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    im = Image.fromarray(base, "RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(9):
        x0, y0 = int(rng.integers(0, w * 7 // 8)), int(rng.integers(0, h * 5 // 6))
        x1, y1 = x0 + int(rng.integers(w // 16, w * 2 // 5)), y0 + int(rng.integers(h // 12, h * 2 // 5))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    if text:
        draw.text((30, h - 90), text, fill=(250, 250, 240), font=ImageFont.load_default(size=40))
    return im


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid-looking PNG of a few hundred bytes that declares width x height 8-bit grey pixels.

    The IDAT holds only the first rows' zeros: the file is never decoded, so it need not be complete.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
