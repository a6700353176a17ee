"""Media capture throughput per core, stage by stage, and peak memory over 10,000 images (issue 16).
Prints figures and ratios against baselines measured in the same run; asserts nothing.

    python bench/bench_media.py            # full (~5-10 min on 2 cores)
    python bench/bench_media.py --quick    # smaller inputs (or BENCH_QUICK=1)

Images are photo-like 640x480 JPEGs made in code (gradients, shapes, seeded noise; every other one
with a line of text for OCR), served by a loopback ``ThreadingHTTPServer`` in a *separate process*
(its CPU is not counted) that the fetcher reaches as its gateway, as in production.

Every figure is measured single-process, one image at a time:

* images/s per core = images / CPU seconds, where CPU = ``time.process_time`` of this process plus
  ``getrusage(RUSAGE_CHILDREN)`` (tesseract runs in a child process); wall time is shown as well;
* fetch + store: ``MediaFetcher.fetch`` over loopback + ``LocalStore.put`` (write-once, fsync), no analysis;
* PDQ: ``pdq_hash`` and ``pdq_dihedral`` on decoded images (baseline: SHA-256 of the same JPEG bytes);
* OCR: ``ocr_image`` per image (one tesseract process, ``OMP_THREAD_LIMIT=1``) (baseline: PDQ);
* capture end to end: ``mark_pending`` + ``capture_pending`` (fetch, store, sniff, decode, PDQ,
  8 dihedral PDQ, OCR, blurred preview, info and record writes), with OCR and with OCR disabled
  (``socialhub.media.ocr.tesseract_available`` patched to False: what a host without tesseract does);
* memory: ``capture_pending`` over 10,000 distinct images (1,000 quick) in a fresh process, OCR
  disabled to keep it to minutes; peak RSS (``ru_maxrss``) before and after, current RSS after 10%,
  50% and 100% of the images, and the tracemalloc peak (Python and numpy allocations; Pillow's and
  pdqhash's C buffers are in RSS only). The 10,000 images are 200 base scenes, each copy made unique
  by changing a few pixels before JPEG encoding: the bytes (so the SHA-256) differ and the decode,
  PDQ and preview work is real.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "include"))

T0 = time.monotonic()
ROWS: list[tuple[str, str, str]] = []   # (figure, value, note) for the summary table
CDN = "https://cdn.bench.example"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BASE_SCENES = 200
TEXTS = ("MEET AT PARK ST 14", "NO SNITCHES", "BLOCK 7 TONIGHT", "WE KNOW WHERE", "CALL 0700 900 123",
         "SOUTH SIDE", "PAY UP OR ELSE", "FRIDAY 9PM")


def say(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def record(name: str, value: str, note: str = "") -> None:
    ROWS.append((name, value, note))
    say(f"{name}: {value}{'  (' + note + ')' if note else ''}")


# -- images ---------------------------------------------------------------------------------------

def text_for(seed: int) -> str | None:
    """Every other scene carries a line of text (what OCR should read)."""
    return TEXTS[(seed // 2) % len(TEXTS)] if seed % 2 == 0 else None


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A photo-like RGB scene: sky and ground gradients, a few shapes, seeded noise, maybe text
    (the idea of tests/media/_images.py ``photo``, copied: benchmarks do not import tests)."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    base = np.zeros((h, w, 3), dtype=np.float32)
    hue = rng.uniform(0.2, 0.8, 3)
    base[..., 0] = 255 * (hue[0] * (1 - y) + 0.3 * x)
    base[..., 1] = 255 * (hue[1] * (1 - 0.5 * y) + 0.2 * (1 - x))
    base[..., 2] = 255 * (hue[2] * (0.5 + 0.5 * y))
    base = np.clip(base + rng.normal(0, 8, base.shape).astype(np.float32), 0, 255).astype(np.uint8)
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
    text = text_for(seed)
    if text:
        draw.rectangle((20, h - 100, 30 + 26 * len(text), h - 40), fill=(30, 30, 35))
        draw.text((30, h - 90), text, fill=(250, 250, 240), font=ImageFont.load_default(size=40))
    return np.asarray(im)


def jpeg(pixels: np.ndarray, variant: int = 0) -> bytes:
    """JPEG bytes of ``pixels``; ``variant`` > 0 changes a few pixels first (unique bytes, same picture)."""
    from PIL import Image

    if variant:
        pixels = pixels.copy()
        rng = np.random.default_rng(variant)
        h, w = pixels.shape[:2]
        for _ in range(6):
            pixels[int(rng.integers(h)), int(rng.integers(w))] = rng.integers(0, 256, 3)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def url_of(seed: int, variant: int = 0) -> str:
    """``/s<seed>-v<variant>.jpg``: scene ``seed % BASE_SCENES`` ... served by :func:`serve`."""
    return f"{CDN}/img/s{seed}-v{variant}.jpg"


# -- the loopback server (another process) --------------------------------------------------------

def serve() -> None:
    """Serve ``/<host>/img/s<seed>-v<variant>.jpg`` (the gateway's path for ``https://<host>/img/...``),
    making each JPEG on request; print the port, stop when stdin closes."""
    import threading

    cache: dict[int, np.ndarray] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body are two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per image
        disable_nagle_algorithm = True

        def log_message(self, *a: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802
            name = self.path.rsplit("/", 1)[-1]
            try:
                s, v = name.removesuffix(".jpg").split("-")
                seed, variant = int(s[1:]), int(v[1:])
            except ValueError:
                self.send_error(404)
                return
            with lock:
                pixels = cache.get(seed)
            if pixels is None:
                pixels = scene(seed)
                with lock:
                    cache[seed] = pixels
            body = jpeg(pixels, variant)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    for seed in range(BASE_SCENES):  # made before serving, so no request waits for a new scene
        cache[seed] = scene(seed)
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())  # type: ignore[union-attr]
    return proc, f"http://127.0.0.1:{port}"


# -- timing ---------------------------------------------------------------------------------------

def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class Timer:
    """Wall, CPU of this process, CPU of finished children (tesseract)."""

    def __init__(self) -> None:
        self.wall = self.cpu = self.child = 0.0

    def __enter__(self) -> Timer:
        self._w, self._c, self._k = time.perf_counter(), time.process_time(), _children_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c
        self.child += _children_cpu() - self._k

    @property
    def total_cpu(self) -> float:
        return self.cpu + self.child


def per_core(n: int, t: Timer) -> float:
    return n / t.total_cpu if t.total_cpu > 0 else float("inf")


def record_rate(name: str, n: int, t: Timer, note: str = "") -> float:
    rate = per_core(n, t)
    child = f" + {t.child:.2f} s tesseract" if t.child > 0.005 else ""
    detail = (f"{n} images; CPU {t.cpu:.2f} s{child}, {1000 * t.total_cpu / n:.3g} ms CPU/image; "
              f"wall {n / t.wall:,.1f} images/s, {1000 * t.wall / n:.3g} ms/image")
    record(name, f"{rate:,.1f} images/s per core", detail + (f"; {note}" if note else ""))
    return rate


# -- the stages -----------------------------------------------------------------------------------

def bench_fetch_store(gateway: str, n: int) -> float:
    from socialhub.media import store as mstore
    from socialhub.media.capture import MediaCaps, MediaFetcher
    from socialhub.models import sha256_hex
    from socialhub.storage import LocalStore

    caps = MediaCaps()
    work = Path(tempfile.mkdtemp(prefix="socialhub-bench-media-fetch-"))
    store = LocalStore(work / "store")
    fetcher = MediaFetcher(gateway, timeout=caps.timeout)
    fetcher.fetch(url_of(1, 999_999), cap=caps.item_bytes)   # connection and server warm-up
    fetch_t, store_t, both = Timer(), Timer(), Timer()
    size = 0
    for i in range(n):
        with both:
            with fetch_t:
                got = fetcher.fetch(url_of(i % BASE_SCENES, 500_000 + i), cap=caps.item_bytes)
            with store_t:
                store.put(mstore.object_key(sha256_hex(got.data)), got.data, content_type="application/octet-stream")
        size += len(got.data)
    fetcher.close()
    shutil.rmtree(work, ignore_errors=True)
    rate = record_rate("capture: fetch + store only (no analysis)", n, both,
                       f"mean {size / n / 1024:.0f} KiB per JPEG")
    record_rate("  of which fetch (httpx over loopback)", n, fetch_t)
    record_rate("  of which store (SHA-256 + write-once put, fsync)", n, store_t)
    return rate


def bench_pdq(n: int) -> tuple[float, float]:
    from socialhub.media.image import decode_image
    from socialhub.media.pdq import pdq_dihedral, pdq_hash

    say(f"PDQ: making {n} distinct JPEGs (not timed)")
    blobs = [jpeg(scene(10_000 + i)) for i in range(n)]
    sha_t, dec_t, pdq_t, dih_t = Timer(), Timer(), Timer(), Timer()
    with sha_t:
        for _ in range(10):
            for b in blobs:
                hashlib.sha256(b).hexdigest()
    sha_t.wall /= 10
    sha_t.cpu /= 10
    images = []
    with dec_t:
        for b in blobs:
            images.append(decode_image(b, declared_type="image/jpeg").image)
    pdq_hash(images[0])  # first call: imports
    qualities = []
    with pdq_t:
        for im in images:
            qualities.append(pdq_hash(im)[1])
    with dih_t:
        for im in images:
            pdq_dihedral(im)
    record_rate("baseline: SHA-256 of the JPEG bytes", n, sha_t, "mean of 10 passes")
    record_rate("decode (decode_image: sniff, bounds, RGB)", n, dec_t)
    pdq = record_rate("PDQ (pdq_hash, one hash)", n, pdq_t, f"quality median {int(np.median(qualities))}")
    record_rate("PDQ dihedral (pdq_dihedral, 8 hashes)", n, dih_t)
    both = Timer()
    both.cpu, both.wall = pdq_t.cpu + dih_t.cpu, pdq_t.wall + dih_t.wall
    pdq_all = record_rate("PDQ as capture does it (pdq_hash + pdq_dihedral)", n, both)
    record("ratio SHA-256 / PDQ (per core)", f"{per_core(n, sha_t) / pdq:,.0f}x",
           "how much dearer a perceptual hash is than a cryptographic one of the same image")
    return pdq, pdq_all


def bench_ocr(n: int, pdq_rate: float) -> float:
    from socialhub.media.image import decode_image
    from socialhub.media.ocr import ocr_image, tesseract_available

    if not tesseract_available():
        record("OCR (ocr_image)", "SKIPPED", "tesseract not on PATH (make media-deps)")
        return 0.0
    say(f"OCR: making {n} JPEGs, half with a line of text (not timed)")
    seeds = [20_000 + i for i in range(n)]
    images = [decode_image(jpeg(scene(s)), declared_type="image/jpeg").image for s in seeds]
    ocr_image(images[0])  # first call: page cache for tesseract and its language data
    t = Timer()
    read = errors = false_text = 0
    with t:
        results = [ocr_image(im) for im in images]
    for s, r in zip(seeds, results, strict=True):
        errors += r.error is not None
        want = text_for(s)
        if want:
            read += want.lower() in r.text.lower()
        else:
            false_text += bool(r.text.strip())
    with_text = sum(1 for s in seeds if text_for(s))
    rate = record_rate("OCR (ocr_image: PNG temp file + one tesseract process)", n, t,
                       f"text read exactly in {read} of {with_text}; {false_text} of {n - with_text} without "
                       f"text gave some text; {errors} errors")
    if pdq_rate:
        record("ratio PDQ / OCR (per core)", f"{pdq_rate / rate:,.0f}x", "OCR is the dear stage")
    return rate


def _posts(gateway_seeds: list[tuple[int, int]], prefix: str) -> list[dict[str, Any]]:
    return [{"platform": "mastodon", "account": "bench@bench.example", "post_id": f"{prefix}{i}",
             "text": "bench", "media": [url_of(seed, variant)]} for i, (seed, variant) in enumerate(gateway_seeds)]


def capture_batch(store: Any, fetcher: Any, caps: Any, posts: list[dict[str, Any]], batch_id: str) -> Any:
    """Store ``posts`` as one batch, mark it pending and capture it (what collect_account does after
    storing a batch)."""
    from socialhub.media.capture import Budget, capture_pending, mark_pending
    from socialhub.models import to_jsonl

    key = f"posts/mastodon/2026-12-01/{batch_id}.jsonl"
    store.put(key, to_jsonl(posts), content_type="application/x-ndjson")
    manifest = {"batch_id": batch_id, "platform": "mastodon", "account": "bench@bench.example",
                "posts": {"key": key}, "collected_at": "2026-12-01T12:00:00Z"}
    mark_pending(store, manifest, posts)
    budget = Budget(account=caps.account_bytes, run=caps.run_bytes)
    return capture_pending(store, "mastodon", "bench@bench.example", fetcher=fetcher, caps=caps, budget=budget,
                           now=NOW)


def bench_capture(gateway: str, n: int, *, ocr: bool, base_seed: int) -> float:
    import socialhub.media.ocr as ocr_mod
    from socialhub.media.capture import MediaCaps, MediaFetcher
    from socialhub.storage import LocalStore

    caps = MediaCaps()
    work = Path(tempfile.mkdtemp(prefix="socialhub-bench-media-capture-"))
    store = LocalStore(work / "store")
    fetcher = MediaFetcher(gateway, timeout=caps.timeout)
    real = ocr_mod.tesseract_available
    if not ocr:
        ocr_mod.tesseract_available = lambda: False  # type: ignore[assignment]
    try:
        capture_batch(store, fetcher, caps, _posts([(1, base_seed + 999_999)], "warm"), "warmup")
        posts = _posts([(i % BASE_SCENES, base_seed + i) for i in range(n)], "p")
        t = Timer()
        with t:
            summary = capture_batch(store, fetcher, caps, posts, f"bench{base_seed}")
    finally:
        ocr_mod.tesseract_available = real
        fetcher.close()
    shutil.rmtree(work, ignore_errors=True)
    label = "with OCR" if ocr else "OCR disabled"
    return record_rate(f"capture end to end ({label}: mark_pending + capture_pending)", n, t,
                       f"{summary.captured} captured, {summary.failed + summary.gave_up} failed, "
                       f"{summary.ocr_texts} with OCR text")


# -- memory (a fresh process) ---------------------------------------------------------------------

def _status_mib(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mib() -> float:
    return _status_mib("VmRSS")


def _maxrss_mib() -> float:
    """Peak RSS of this process: VmHWM. ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used for the
    figure: across subprocess's vfork + exec Linux carries the *parent's* peak into it (measured: the
    fresh process reported the parent bench's 143 MiB while its own RSS was 62 MiB); it is printed
    alongside for reference."""
    return _status_mib("VmHWM")


def _ru_maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_pass(gateway: str, n: int) -> None:
    """In a fresh process: capture ``n`` distinct images in 10 batches; print JSON."""
    import socialhub.media.ocr as ocr_mod
    from socialhub.media.capture import MediaCaps, MediaFetcher
    from socialhub.storage import LocalStore

    ocr_mod.tesseract_available = lambda: False  # type: ignore[assignment]
    caps = MediaCaps()
    work = Path(tempfile.mkdtemp(prefix="socialhub-bench-media-mem-"))
    store = LocalStore(work / "store")
    fetcher = MediaFetcher(gateway, timeout=caps.timeout)
    capture_batch(store, fetcher, caps, _posts([(1, 1)], "warm"), "warmup")  # imports, warm-up
    out: dict[str, Any] = {"n": n, "rss_start": _rss_mib(), "maxrss_start": _maxrss_mib(),
                           "ru_maxrss_start": _ru_maxrss_mib(), "checkpoints": []}
    tracemalloc.start()
    t = Timer()
    step = n // 10
    captured = 0
    for b in range(10):
        posts = _posts([(i % BASE_SCENES, 1_000_000 + i) for i in range(b * step, (b + 1) * step)], f"b{b}-")
        with t:
            captured += capture_batch(store, fetcher, caps, posts, f"mem{b:04d}").captured
        if b in (0, 4, 9):
            out["checkpoints"].append({"done": (b + 1) * step, "rss": _rss_mib(), "maxrss": _maxrss_mib(),
                                       "traced": tracemalloc.get_traced_memory()[0] / 2**20})
    _, peak = tracemalloc.get_traced_memory()
    # taken before counting the store's files below (that walk allocates more than the capture did)
    out.update(rss_end=_rss_mib(), maxrss_end=_maxrss_mib(), ru_maxrss_end=_ru_maxrss_mib())
    tracemalloc.stop()
    fetcher.close()
    stored = sum(p.stat().st_size for p in (work / "store").rglob("*") if p.is_file())
    shutil.rmtree(work, ignore_errors=True)
    out.update(captured=captured, traced_peak=peak / 2**20,
               cpu=t.cpu, wall=t.wall, stored_mib=stored / 2**20)
    print(json.dumps(out), flush=True)


def bench_memory(gateway: str, n: int) -> None:
    say(f"memory: capture_pending over {n:,} distinct images in a fresh process, OCR disabled "
        f"(to keep it to minutes), tracemalloc on")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--memory-pass", str(n),
                           "--gateway", gateway], capture_output=True, text=True, timeout=3600)
    if proc.returncode:
        record(f"peak memory, {n:,} images", "FAILED", proc.stderr[-500:])
        return
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    grew = out["maxrss_end"] - out["maxrss_start"]
    record(f"peak RSS, capture of {n:,} images (OCR disabled)", f"{out['maxrss_end']:,.0f} MiB",
           f"{out['maxrss_start']:,.0f} MiB after imports and one warm-up image; +{grew:,.1f} MiB over "
           f"{n:,} images = {grew * 1024 / n:.2f} KiB/image; {out['captured']:,} captured, "
           f"{out['stored_mib']:,.0f} MiB written to the store; VmHWM (ru_maxrss said {out['ru_maxrss_start']:,.0f} "
           f"-> {out['ru_maxrss_end']:,.0f} MiB, which includes the parent's peak inherited through vfork+exec)")
    for c in out["checkpoints"]:
        record(f"  RSS after {c['done']:,} images ({100 * c['done'] // n}%)", f"{c['rss']:,.0f} MiB",
               f"peak so far {c['maxrss']:,.0f} MiB; tracemalloc current {c['traced']:.1f} MiB")
    record(f"tracemalloc peak, capture of {n:,} images", f"{out['traced_peak']:,.1f} MiB",
           "Python and numpy allocations; Pillow/pdqhash C buffers show in RSS only")
    first, last = out["checkpoints"][0], out["checkpoints"][-1]
    flat = last["maxrss"] - first["maxrss"] < max(20.0, 0.1 * first["maxrss"])
    record("memory flat over the run?", "yes" if flat else "NO",
           f"peak RSS {first['maxrss']:,.0f} MiB after 10%, {last['maxrss']:,.0f} MiB after 100%: images are "
           "fetched, analysed and stored one at a time; nothing is kept per image")
    record("  memory pass speed (tracemalloc on)", f"{n / out['cpu']:,.1f} images/s per core",
           f"wall {out['wall']:.0f} s; tracemalloc slows Python allocations, so lower than the figure above")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0"))
    ap.add_argument("--parts", default="fetch,pdq,ocr,capture,memory", help="which figures (comma-separated)")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--memory-pass", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--gateway", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve()
        return 0
    if args.memory_pass:
        memory_pass(args.gateway, args.memory_pass)
        return 0
    parts = set(args.parts.split(","))
    n_fetch, n_pdq, n_ocr, n_cap, n_cap_ocr, n_mem = ((60, 60, 20, 60, 20, 1_000) if args.quick
                                                      else (300, 300, 100, 300, 100, 10_000))
    print(f"bench_media: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
          f"{' (quick)' if args.quick else ''}; 640x480 JPEGs, single process, one image at a time", flush=True)
    server, gateway = start_server()
    rates: dict[str, float] = {}
    try:
        if "fetch" in parts:
            rates["fetch"] = bench_fetch_store(gateway, n_fetch)
        if "pdq" in parts:
            rates["pdq"], rates["pdq_all"] = bench_pdq(n_pdq)
        if "ocr" in parts:
            rates["ocr"] = bench_ocr(n_ocr, rates.get("pdq_all", 0.0))
        if "capture" in parts:
            rates["cap_no_ocr"] = bench_capture(gateway, n_cap, ocr=False, base_seed=30_000)
            rates["cap_ocr"] = bench_capture(gateway, n_cap_ocr, ocr=True, base_seed=40_000)
            if rates["cap_ocr"]:
                record("ratio capture without OCR / with OCR (per core)",
                       f"{rates['cap_no_ocr'] / rates['cap_ocr']:.1f}x", "what OCR costs in the whole capture")
        if "memory" in parts:
            bench_memory(gateway, n_mem)
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=10)
    print("\n| figure | value | note |\n|---|---:|---|")
    for name, value, note in ROWS:
        print(f"| {name} | {value} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
