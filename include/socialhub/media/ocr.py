"""Text in images (OCR), through Debian's ``tesseract`` in a subprocess with a time limit.

Threats are often posted as pictures of text so that text classifiers miss them; the OCR text goes to the
same classifier as the post's text. OCR never raises: a missing tesseract, a failure or a timeout is an
``OcrResult`` with ``error`` set and empty text, so one image can never stop a batch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

#: images whose shorter side is below this are upscaled before OCR (tesseract reads small text poorly).
#: Only small images: upscaling a normal-sized photo enlarges its noise and grain into blobs that
#: tesseract's binarisation takes for text (measured: a 640x480 meme read perfectly at 1x, garbage at 1.5x).
OCR_MIN_SIDE = 300
#: by at most this factor
OCR_MAX_UPSCALE = 4.0
#: and never beyond this longest side (bounds the temp file and tesseract's work)
OCR_MAX_SIDE = 4000
#: how much stderr is kept in an error message
_ERR_CHARS = 300


@dataclass
class OcrResult:
    """``text`` with whitespace collapsed to single spaces; ``error`` is None on success."""

    text: str
    seconds: float
    error: str | None = None


@lru_cache(maxsize=1)
def tesseract_available() -> bool:
    """Whether ``tesseract`` is on PATH (``make media-deps`` installs it)."""
    return shutil.which("tesseract") is not None


def _prepare(image: Image.Image) -> Image.Image:
    """Grayscale; small pictures upscaled towards :data:`OCR_MIN_SIDE` px; nothing over :data:`OCR_MAX_SIDE`."""
    from PIL import Image

    gray = image.convert("L")
    w, h = gray.size
    scale = min(OCR_MAX_UPSCALE, max(1.0, OCR_MIN_SIDE / max(1, min(w, h))))
    scale = min(scale, OCR_MAX_SIDE / max(1, max(w, h)))
    if abs(scale - 1.0) > 0.05:
        gray = gray.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BICUBIC)
    return gray


def ocr_image(image: Image.Image, *, timeout: float = 10.0, lang: str = "eng") -> OcrResult:
    """The text tesseract reads in ``image``; never raises.

    Bounds: one tesseract process on a temporary grayscale PNG (at most :data:`OCR_MAX_SIDE` px on its
    longest side), killed after ``timeout`` seconds (error ``"timeout after Ns"``). ``OMP_THREAD_LIMIT=1``
    is set in its environment so one image uses one core: tesseract's OpenMP threads otherwise compete
    with the other images and tasks of the worker, and are slower overall for small images.
    """
    started = time.monotonic()

    def result(text: str = "", error: str | None = None) -> OcrResult:
        return OcrResult(text=" ".join(text.split()), seconds=round(time.monotonic() - started, 3), error=error)

    if not tesseract_available():
        return result(error="tesseract not installed (make media-deps)")
    try:
        with tempfile.TemporaryDirectory(prefix="socialhub-ocr-") as tmp:
            png = os.path.join(tmp, "page.png")
            _prepare(image).save(png, format="PNG")
            env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
            try:
                proc = subprocess.run(
                    ["tesseract", png, "stdout", "-l", lang, "--psm", "3"],
                    stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, env=env, check=False,
                )
            except subprocess.TimeoutExpired:
                # subprocess.run has killed tesseract before re-raising
                return result(error=f"timeout after {timeout:g}s")
            if proc.returncode != 0:
                detail = proc.stderr.decode("utf-8", "replace").strip()[-_ERR_CHARS:]
                return result(error=f"tesseract failed (exit status {proc.returncode}): {detail}")
            return result(proc.stdout.decode("utf-8", "replace"))
    except Exception as e:  # noqa: BLE001 - OCR is best effort and must never stop a batch
        return result(error=f"OCR failed: {type(e).__name__}: {e}")
