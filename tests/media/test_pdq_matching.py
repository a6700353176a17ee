"""PDQ: the hex convention, which edits of a picture still match, and keyframe hashes of videos.

Distances measured on ``photo()`` (640x480, seed 1) when this was written, threshold 31:

    resized to 50% (Lanczos)         8    match
    JPEG quality 30                  2    match
    cropped 1% off each side        24    match
    cropped 1.5% off each side      32    no match  (PDQ stops matching between 1% and 2%)
    cropped 2% off each side        40    no match
    cropped 5% off each side        74    no match
    cropped 10% off each side      108    no match
    mirrored, plain PDQ            128    no match
    mirrored, best dihedral          4    match (the "flip_y" hash)
    rotated 90, best dihedral        4    match (the "rotate270" hash)
    unrelated picture (seed 2)     134    no match

The asserts below use the threshold, not these exact numbers, so a rebuilt pdqhash may move them a bit.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageOps

from socialhub.media.image import MediaError, decode_image
from socialhub.media.pdq import (
    DIHEDRAL_ORDER,
    PDQ_MATCH_THRESHOLD,
    _rgb_array,
    ffmpeg_available,
    hamming,
    pdq_dihedral,
    pdq_hash,
    video_hashes,
    video_keyframes,
)
from socialhub.media.sniff import sniff
from tests.media._images import encode, photo

needs_ffmpeg = pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg is not installed: run `make media-deps`")


@pytest.fixture(scope="module")
def original() -> tuple[Image.Image, str]:
    im = photo()
    hex_hash, quality = pdq_hash(im)
    assert quality > 50
    return im, hex_hash


def _crop(im: Image.Image, fraction: float) -> Image.Image:
    w, h = im.size
    return im.crop((int(w * fraction), int(h * fraction), int(w * (1 - fraction)), int(h * (1 - fraction))))


def _distance(base: str, im: Image.Image) -> int:
    return hamming(base, pdq_hash(im)[0])


# ---------------------------------------------------------------- hex convention

def test_hex_is_the_canonical_threatexchange_text(original: tuple[Image.Image, str]) -> None:
    """Rebuild the canonical text from PDQ's float DCT output, as the C++ reference does.

    The reference sets bit ``k = 16*i + j`` when DCT coefficient ``[i][j]`` is above the median, stores bit
    ``k`` as bit ``k % 16`` of word ``w[k // 16]``, and ``Hash256::format()`` prints ``w[15]`` ... ``w[0]`` as
    4 hex digits each. pdqhash's ``compute_float`` returns the 16x16 coefficients flattened and reversed.
    """
    im, ours = original
    floats, _ = pdqhash.compute_float(_rgb_array(im))
    coeffs = np.asarray(floats)[::-1]
    bits = coeffs > np.median(coeffs)
    words = [sum(int(bits[16 * w + b]) << b for b in range(16)) for w in range(16)]
    canonical = "".join(f"{words[w]:04x}" for w in range(15, -1, -1))
    assert ours == canonical
    assert len(ours) == 64 and ours == ours.lower()
    # and it is python-threatexchange's pdq_hasher conversion (binary string of the vector, MSB first)
    vector, _ = pdqhash.compute(_rgb_array(im))
    assert ours == "%0*x" % (64, int("".join(str(int(b)) for b in vector), 2))  # noqa: UP031 - as upstream
    # the test tells the conventions apart: the reversed bit order is a different text
    assert ours != f"{int(''.join(str(int(b)) for b in vector[::-1]), 2):064x}"


def test_hamming() -> None:
    zero, ones = "0" * 64, "f" * 64
    assert hamming(zero, ones) == 256 and hamming(ones, ones) == 0
    assert hamming(zero, "0" * 63 + "3") == 2
    with pytest.raises(ValueError, match="64 hex digits"):
        hamming(zero, "abc")


# ---------------------------------------------------------------- what still matches

def test_resized_and_recompressed_copies_match(original: tuple[Image.Image, str]) -> None:
    im, base = original
    half = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
    assert _distance(base, half) <= PDQ_MATCH_THRESHOLD
    jpeg30 = decode_image(encode(im, "JPEG", quality=30)).image
    assert _distance(base, jpeg30) <= PDQ_MATCH_THRESHOLD


def test_small_crops_match_and_larger_ones_do_not(original: tuple[Image.Image, str]) -> None:
    """PDQ is sensitive to crops: 1% off each side still matches, 2% and more do not (measured)."""
    im, base = original
    assert _distance(base, _crop(im, 0.01)) <= PDQ_MATCH_THRESHOLD
    assert _distance(base, _crop(im, 0.02)) > PDQ_MATCH_THRESHOLD
    assert _distance(base, _crop(im, 0.10)) > PDQ_MATCH_THRESHOLD


def test_a_mirror_is_missed_by_plain_pdq_but_caught_by_the_dihedral_hashes(
        original: tuple[Image.Image, str]) -> None:
    im, base = original
    mirror = ImageOps.mirror(im)
    assert _distance(base, mirror) > PDQ_MATCH_THRESHOLD
    dihedral = pdq_dihedral(mirror)
    assert len(dihedral) == len(DIHEDRAL_ORDER) == 8
    assert dihedral[0] == pdq_hash(mirror)[0]
    distances = [hamming(base, h) for h in dihedral]
    assert min(distances) <= 10, distances
    assert DIHEDRAL_ORDER[distances.index(min(distances))] == "flip_y"
    # and a rotated copy is caught the same way
    rotated = im.rotate(90, expand=True)
    assert min(hamming(base, h) for h in pdq_dihedral(rotated)) <= PDQ_MATCH_THRESHOLD


def test_an_unrelated_picture_is_far(original: tuple[Image.Image, str]) -> None:
    _, base = original
    other, quality = pdq_hash(photo(seed=2))
    assert quality > 50
    assert hamming(base, other) > 80


def test_a_flat_picture_has_low_quality() -> None:
    _, quality = pdq_hash(Image.new("RGB", (200, 200), (90, 120, 200)))
    assert quality < 50


# ---------------------------------------------------------------- video

@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed: run `make media-deps`")
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=10",
         "-g", "10", "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )
    return path


@needs_ffmpeg
def test_video_keyframes_and_hashes(video: Path) -> None:
    assert sniff(video.read_bytes()[:64]) == "video/mp4"
    frames = video_keyframes(str(video))
    assert [at for at, _ in frames] == [0.0, 1.0, 2.0]
    assert all(im.mode == "RGB" and im.size == (320, 240) for _, im in frames)
    hashes = video_hashes(str(video), max_frames=2)
    assert [h["at"] for h in hashes] == [0.0, 1.0]
    assert all(len(h["pdq"]) == 64 and 0 <= h["quality"] <= 100 for h in hashes)
    # a still taken from the video matches its keyframe
    assert hamming(hashes[0]["pdq"], pdq_hash(frames[0][1])[0]) == 0


@needs_ffmpeg
def test_truncated_and_garbage_video_are_clean_errors(video: Path, tmp_path: Path) -> None:
    data = video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(9).bytes(50_000))
    for path in (cut, garbage):
        with pytest.raises(MediaError) as caught:
            video_keyframes(str(path), timeout=20)
        assert caught.value.reason == "corrupt", str(caught.value)
        assert "ffmpeg could not read the video" in str(caught.value)
    with pytest.raises(MediaError) as caught:
        video_keyframes(str(tmp_path / "missing.mp4"))
    assert caught.value.reason == "corrupt"


@needs_ffmpeg
def test_video_frames_over_the_pixel_cap_are_refused_by_the_decoder(video: Path) -> None:
    with pytest.raises(MediaError) as caught:
        video_keyframes(str(video), max_pixels=320 * 240 - 1)
    assert caught.value.reason == "bomb"


@needs_ffmpeg
def test_video_timeout_is_enforced(video: Path) -> None:
    with pytest.raises(MediaError) as caught:
        video_keyframes(str(video), timeout=0.001)
    assert caught.value.reason == "timeout"
    assert "within 0.001s and was stopped" in str(caught.value)


@needs_ffmpeg
def test_no_network_protocols(tmp_path: Path) -> None:
    """A playlist pointing at a URL is not fetched: only local files may be opened."""
    playlist = tmp_path / "list.m3u8"
    playlist.write_text("#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n")
    with pytest.raises(MediaError) as caught:
        video_keyframes(str(playlist), timeout=20)
    assert caught.value.reason == "corrupt"


def test_keyframe_still_is_a_normal_image(original: tuple[Image.Image, str]) -> None:
    im, base = original
    png = encode(im, "PNG")
    assert pdq_hash(Image.open(io.BytesIO(png)))[0] == base
