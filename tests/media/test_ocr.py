"""OCR of threats posted as pictures of text: found, timed, and never an exception."""

from __future__ import annotations

import os
from unittest import mock

import pytest
from PIL import Image, ImageDraw, ImageFont

from socialhub.media import ocr
from socialhub.media.ocr import OcrResult, ocr_image, tesseract_available
from tests.media._images import photo

needs_tesseract = pytest.mark.skipif(not tesseract_available(),
                                     reason="tesseract is not installed: run `make media-deps`")

THREAT = "I WILL STAB YOU TONIGHT"


def _threat_picture() -> Image.Image:
    """The threat in big light letters on a dark band across a photo-like scene (a typical meme)."""
    im = photo(seed=4, text=None)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 190, 640, 270), fill=(20, 20, 30))
    draw.text((12, 200), THREAT, fill=(255, 255, 255), font=ImageFont.load_default(size=48))
    return im


@needs_tesseract
def test_ocr_finds_the_threat_words() -> None:
    result = ocr_image(_threat_picture())
    assert result.error is None, result.error
    words = result.text.upper().split()
    for word in ("WILL", "STAB", "YOU", "TONIGHT"):
        assert word in words, result.text
    assert "  " not in result.text and "\n" not in result.text
    assert 0 < result.seconds < 10
    print(f"OCR of a 640x480 threat picture: {result.seconds:.2f}s: {result.text!r}")


@needs_tesseract
def test_ocr_reads_small_text_in_a_thumbnail() -> None:
    """A 220x40 crop with 14 px text: upscaled before OCR."""
    im = Image.new("RGB", (220, 40), (255, 255, 255))
    ImageDraw.Draw(im).text((4, 10), "STAB YOU TONIGHT", fill=(0, 0, 0), font=ImageFont.load_default(size=14))
    result = ocr_image(im)
    assert result.error is None and "STAB YOU TONIGHT" in result.text.upper(), result.text
    print(f"OCR of a 220x40 thumbnail: {result.seconds:.2f}s: {result.text!r}")


@needs_tesseract
def test_ocr_of_a_picture_without_text_is_empty_not_an_error() -> None:
    result = ocr_image(Image.new("RGB", (300, 200), (200, 210, 220)))
    assert result.error is None and result.text == ""


@needs_tesseract
def test_ocr_timeout_returns_an_error_and_does_not_raise() -> None:
    result = ocr_image(_threat_picture(), timeout=0.001)
    assert result == OcrResult(text="", seconds=result.seconds, error="timeout after 0.001s")
    assert result.seconds < 5


@needs_tesseract
def test_ocr_failure_is_an_error_not_an_exception() -> None:
    result = ocr_image(_threat_picture(), lang="xx-no-such-language")
    assert result.text == "" and result.error and result.error.startswith("tesseract failed (exit status")


def test_missing_tesseract_is_reported() -> None:
    with mock.patch.object(ocr, "tesseract_available", return_value=False):
        result = ocr_image(Image.new("RGB", (10, 10)))
    assert result.error == "tesseract not installed (make media-deps)" and result.text == ""


def test_tesseract_runs_on_one_core_with_an_upscaled_grey_picture() -> None:
    seen: dict[str, object] = {}

    def fake_run(cmd: list[str], **kw: object) -> object:
        seen["env"] = kw["env"]
        seen["image"] = Image.open(cmd[1]).copy()
        return mock.Mock(returncode=0, stdout=b"  HELLO\n\n  world \x0c", stderr=b"")

    with mock.patch.object(ocr, "tesseract_available", return_value=True), \
            mock.patch.object(ocr.subprocess, "run", side_effect=fake_run):
        result = ocr_image(Image.new("RGB", (200, 100), (255, 255, 255)))
    assert result.text == "HELLO world" and result.error is None
    env = seen["env"]
    assert isinstance(env, dict) and env["OMP_THREAD_LIMIT"] == "1" and env.get("PATH") == os.environ.get("PATH")
    image = seen["image"]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (600, 300)
