"""PDQ perceptual hashes of images and of video keyframes.

PDQ (Meta's open perceptual hash, used by ThreatExchange, Hasher-Matcher-Actioner and the industry hash
lists) gives 256 bits per image; two copies of one picture (resized, recompressed, slightly cropped) are
within Hamming distance 31, the threshold ThreatExchange calls a confident match. Mirrors and rotations
change the hash, so :func:`pdq_dihedral` also gives the hashes of the 8 dihedral transforms.

Hex convention (so our hashes compare with hash lists from ThreatExchange / HMA): the canonical text of a
PDQ hash is the C++ ``Hash256::format()``: its sixteen 16-bit words from ``w[15]`` down to ``w[0]``, each as
4 lowercase hex digits, where bit ``k`` (``k = 16*i + j`` for DCT coefficient ``[i][j]`` above the median)
is bit ``k % 16`` of word ``k // 16``. ``pdqhash.compute`` returns the bits as a vector already in that
order, most significant (bit 255) first, so the hex is that vector read as one 256-bit big-endian binary
number, exactly as python-threatexchange's ``pdq_hasher._pdq_from_numpy_array`` does
(``"%0*X" % (64, int("".join(bits), 2))``, lower-cased). ``tests/media/test_pdq_matching.py`` checks this
against the float DCT output and the word layout.

Video: :func:`video_keyframes` takes at most ``max_frames`` keyframes through ffmpeg in a subprocess with
a time limit; :func:`video_hashes` hashes each with PDQ.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialhub.media.image import MediaError

if TYPE_CHECKING:
    from PIL import Image

#: PDQ bits and hex digits
PDQ_BITS = 256
PDQ_HEX_LEN = 64
#: ThreatExchange's "confident match" threshold (distance <= 31)
PDQ_MATCH_THRESHOLD = 31
#: longest side of a keyframe as ffmpeg hands it over (PDQ works on a 64x64 downsample anyway)
KEYFRAME_PX = 512

#: order of pdqhash.compute_dihedral's results
DIHEDRAL_ORDER = ("original", "rotate90", "rotate180", "rotate270", "flip_x", "flip_y", "flip_plus1",
                  "flip_minus1")


def _bits_to_hex(bits: Any) -> str:
    """The canonical PDQ hex of a pdqhash bit vector (bit 255 first, see the module docstring)."""
    value = 0
    for bit in bits:
        value = (value << 1) | (1 if bit else 0)
    return f"{value:064x}"


def _rgb_array(image: Image.Image) -> Any:
    import numpy as np

    rgb = image.convert("RGB") if image.mode != "RGB" else image
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def pdq_hash(image: Image.Image) -> tuple[str, int]:
    """``(hex, quality)``: the canonical 64-hex-digit PDQ hash of ``image`` and its quality (0..100).

    Quality below about 50 means a flat or featureless picture whose hash matches too easily; callers
    should not alert on matches of such hashes. PDQ reduces the image to 64x64 internally, so work is
    linear in the pixels given (at most ``Limits.max_pixels`` after :func:`decode_image`).
    """
    import pdqhash

    bits, quality = pdqhash.compute(_rgb_array(image))
    return _bits_to_hex(bits), int(quality)


def pdq_dihedral(image: Image.Image) -> list[str]:
    """The 8 dihedral PDQ hashes of ``image`` (same hex convention), in :data:`DIHEDRAL_ORDER`, original first.

    Match a hash from a list against all eight to catch mirrored or rotated copies (plain PDQ does not).
    """
    import pdqhash

    vectors, _quality = pdqhash.compute_dihedral(_rgb_array(image))
    return [_bits_to_hex(v) for v in vectors]


def hamming(a: str, b: str) -> int:
    """Bits that differ between two 256-bit PDQ hashes given as hex (ValueError if either is not one)."""
    if len(a) != PDQ_HEX_LEN or len(b) != PDQ_HEX_LEN:
        raise ValueError(f"PDQ hashes are {PDQ_HEX_LEN} hex digits; got {len(a)} and {len(b)}")
    return (int(a, 16) ^ int(b, 16)).bit_count()


@lru_cache(maxsize=1)
def ffmpeg_available() -> bool:
    """Whether ``ffmpeg`` is on PATH (``make media-deps`` installs it)."""
    return shutil.which("ffmpeg") is not None


def video_keyframes(path: str, *, max_frames: int = 16, timeout: float = 60.0,
                    max_pixels: int = 40_000_000) -> list[tuple[float, Image.Image]]:
    """Up to ``max_frames`` keyframes of the video at ``path``, as ``(index, RGB image)`` pairs.

    The first value is the keyframe's index (0, 1, 2, ...), not a timestamp: asking ffprobe for the
    timestamps would be a second pass over a hostile file for little gain (keyframe order is enough to
    report where in the video a match is).

    Bounds: one ``ffmpeg`` process, killed after ``timeout`` seconds (MediaError ``"timeout"``); only
    keyframes are decoded (``-skip_frame nokey``), at most ``max_frames`` of them, each scaled down to at
    most :data:`KEYFRAME_PX` px on its longest side before it is written; ``-protocol_whitelist file`` so a
    playlist or reference file inside the video cannot make ffmpeg open a network URL; ``-nostdin``;
    ``-max_pixels`` makes the decoder itself refuse frames over ``max_pixels`` (MediaError ``"bomb"``)
    before allocating them. A file ffmpeg cannot read gives MediaError ``"corrupt"`` (or ``"unsupported"``
    if ffmpeg is missing). Memory of the ffmpeg process is not capped otherwise.
    """
    from PIL import Image

    if not ffmpeg_available():
        raise MediaError("unsupported", "ffmpeg is not installed, so video keyframes cannot be read",
                         hint="run `make media-deps`; the video itself and the post's record are kept")
    src = Path(path)
    if not src.is_file():
        raise MediaError("corrupt", f"the video {path} is not a readable file")
    scale = (f"scale='min({KEYFRAME_PX},iw)':'min({KEYFRAME_PX},ih)':force_original_aspect_ratio=decrease,"
             f"scale=trunc(iw/2)*2:trunc(ih/2)*2")
    with tempfile.TemporaryDirectory(prefix="socialhub-keyframes-") as tmp:
        cmd = [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
            "-protocol_whitelist", "file",
            "-max_pixels", str(int(max_pixels)), "-skip_frame", "nokey", "-i", str(src.resolve()),
            "-map", "0:v:0", "-an", "-sn", "-dn",
            "-vf", scale, "-fps_mode", "passthrough",
            "-frames:v", str(max(1, int(max_frames))),
            "-f", "image2", os.path.join(tmp, "k%05d.png"),
        ]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as e:
            # subprocess.run kills the child on timeout before re-raising
            raise MediaError("timeout", f"ffmpeg did not finish reading keyframes of {src.name} within "
                                        f"{timeout:g}s and was stopped") from e
        frames = sorted(Path(tmp).glob("k*.png"))
        if proc.returncode != 0 and not frames:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            if any("exceeds specified max pixel count" in line for line in detail):
                raise MediaError("bomb", f"the video {src.name} has frames over the limit of {max_pixels} "
                                         f"pixels: not decoded")
            last = detail[-1][:300] if detail else f"exit status {proc.returncode}"
            raise MediaError("corrupt", f"ffmpeg could not read the video {src.name}: {last}")
        if not frames:
            raise MediaError("corrupt", f"the video {src.name} has no decodable keyframe")
        out: list[tuple[float, Image.Image]] = []
        for index, frame_path in enumerate(frames[:max_frames]):
            with Image.open(frame_path, formats=["PNG"]) as im:
                out.append((float(index), im.convert("RGB")))
        return out


def video_hashes(path: str, **kw: Any) -> list[dict[str, Any]]:
    """PDQ of each keyframe: ``[{"at": keyframe index, "pdq": hex, "quality": q}, ...]``.

    Keyword arguments go to :func:`video_keyframes` (same bounds and errors). Per-keyframe PDQ, not vPDQ:
    vPDQ (Meta's video PDQ) hashes every frame at a fixed rate and needs its own native library and
    matcher; keyframe PDQ reuses the image hash lists and index, costs a handful of frames per video, and
    still finds a known image or scene inside a video. Whole-video matching against vPDQ lists is not done.
    """
    results = []
    for at, image in video_keyframes(path, **kw):
        hex_hash, quality = pdq_hash(image)
        results.append({"at": at, "pdq": hex_hash, "quality": quality})
    return results
