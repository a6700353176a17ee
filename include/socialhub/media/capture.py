"""Capture: every media item of a collected post is fetched in the same collection run, stored
write-once with its hash, and analysed (sniffed type, dimensions, PDQ, OCR, blurred preview).

Order inside ``collect_account`` (``socialhub.collect``):

1. the batch is stored (raw items, posts, manifest) as before;
2. ``mark_pending`` writes ``media/pending/<batch>`` listing its posts with media;
3. the cursor moves (a crash before it is rolled forward next run, and ``mark_pending`` is
   repeated for the rolled-forward batch, so no batch's media is forgotten);
4. ``capture_pending`` fetches what is pending for the account, this batch's and any earlier
   failures', within the caps. Each item's outcome is written to the post's capture record.

Media never blocks a post: a failure is recorded on the item (``failed`` with its reason) and
tried again next run, up to ``max_attempts``; an item over a byte budget is ``deferred`` to the
next run. Fetching is bounded: per item (``item_bytes``, ``video_bytes``), per account, per run
(per collection task: ``run_bytes`` split over the run's shards), a timeout per request, and the
type is sniffed from the bytes (never the URL's extension or the ``Content-Type`` header).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from socialhub.audit.chain import Auditor, record
from socialhub.errors import SocialhubError
from socialhub.media import store as mstore
from socialhub.media.gateway import GatewayError, via_gateway
from socialhub.models import canonical_json, sha256_hex, utc_iso
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

MiB = 1024 * 1024
#: the version of what ``analyse`` records (bump when the analysis changes meaning)
ANALYSIS_VERSION = "media-1"


@dataclass(frozen=True)
class MediaCaps:
    """The bounds of media capture (settings ``SOCIALHUB_MEDIA_*``; README "Configuration")."""

    item_bytes: int = 20 * MiB          # an image, or a video file's thumbnail
    video_bytes: int = 50 * MiB         # a video file (fetched only when ``fetch_video``)
    account_bytes: int = 200 * MiB      # one account in one run
    run_bytes: int = 1024 * MiB         # one collection run, split over its collection tasks
    timeout: float = 20.0               # seconds per request (connect, each read)
    max_items_per_post: int = 10
    max_attempts: int = 5
    fetch_video: bool = True
    ocr_timeout: float = 10.0           # seconds of OCR per image
    video_frames: int = 8               # keyframes hashed per video

    @classmethod
    def from_settings(cls, cfg: Any) -> MediaCaps:
        return cls(item_bytes=cfg.media_max_item_mb * MiB, video_bytes=cfg.media_max_video_mb * MiB,
                   account_bytes=cfg.media_max_account_mb * MiB, run_bytes=cfg.media_max_run_mb * MiB,
                   timeout=cfg.media_timeout, fetch_video=cfg.media_fetch_video, ocr_timeout=cfg.ocr_timeout)


class MediaFetchError(SocialhubError):
    """One media item could not be fetched; ``reason`` is a short code kept on the item."""

    def __init__(self, reason: str, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.reason, self.retry = reason, retry


@dataclass
class Fetched:
    data: bytes
    declared_type: str
    url: str            # what was requested (through the gateway, if any)
    status: int


#: names reserved never to resolve on the internet (RFC 2606, RFC 6761): refused without a DNS query
RESERVED_TLDS = (".example", ".test", ".invalid", ".localhost", ".local", ".internal")


def _refuse_private(host: str) -> None:
    """A direct fetch never goes to a loopback, private or link-local address (a hostile post's
    media URL must not reach the hub's own network): such media is fetched only through a gateway."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(RESERVED_TLDS):
        raise MediaFetchError("blocked_url", f"{host} is a reserved name: not fetched directly "
                                             "(set SOCIALHUB_MEDIA_GATEWAY)", retry=False)
    try:
        infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise MediaFetchError("network", f"cannot resolve {host}: {exc}") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global:
            raise MediaFetchError("blocked_url", f"{host} resolves to a non-public address ({addr}): not fetched "
                                                 "directly (set SOCIALHUB_MEDIA_GATEWAY)", retry=False)


class MediaFetcher:
    """Fetches one media URL with httpx, streaming, stopping at the byte cap.

    With ``gateway`` every request goes to the gateway (loopback in the demo and tests); without
    it, only HTTPS to public addresses, redirects followed only to HTTPS.
    """

    USER_AGENT = "socialhub-media-capture/1 (police social media hub; evidence capture)"

    def __init__(self, gateway: str | None = None, *, timeout: float = 20.0, client: Any = None) -> None:
        import httpx

        self.gateway = gateway
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=not gateway,
                                             max_redirects=3, headers={"User-Agent": self.USER_AGENT})

    def close(self) -> None:
        self.client.close()

    def fetch(self, url: str, *, cap: int, video_cap: int | None = None) -> Fetched:
        import httpx

        try:
            target = via_gateway(url, self.gateway)
        except GatewayError as exc:
            raise MediaFetchError("blocked_url", str(exc), retry=False) from None
        if not self.gateway:
            _refuse_private(urlsplit(target).hostname or "")
        try:
            with self.client.stream("GET", target) as response:
                if not self.gateway and urlsplit(str(response.url)).scheme != "https":
                    raise MediaFetchError("blocked_url", f"redirected to non-HTTPS {response.url}", retry=False)
                status = response.status_code
                if status in (404, 410):
                    raise MediaFetchError("gone", f"HTTP {status}: the platform no longer serves it")
                if status == 429 or status >= 500:
                    raise MediaFetchError("http_error", f"HTTP {status}")
                if status >= 400:
                    raise MediaFetchError("http_error", f"HTTP {status}")
                declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
                limit = video_cap if (video_cap and declared.startswith("video/")) else cap
                length = response.headers.get("content-length")
                if length and length.isdigit() and int(length) > limit:
                    raise MediaFetchError("too_large", f"{int(length):,} bytes declared, over the cap of {limit:,} "
                                                       "(not downloaded)", retry=False)
                chunks: list[bytes] = []
                got = 0
                for chunk in response.iter_raw(64 * 1024):
                    got += len(chunk)
                    if got > limit:
                        raise MediaFetchError("too_large", f"over the cap of {limit:,} bytes: download stopped",
                                              retry=False)
                    chunks.append(chunk)
                data = b"".join(chunks)
        except httpx.TimeoutException as exc:
            raise MediaFetchError("timeout", f"timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise MediaFetchError("network", f"{type(exc).__name__}: {exc}") from None
        if not data:
            raise MediaFetchError("empty", "the response had no body")
        return Fetched(data, declared, target, status)


def _is_video_url(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith((".mp4", ".m4v", ".mov", ".webm", ".m3u8"))


# -- analysis ------------------------------------------------------------------------------------

def analyse(data: bytes, declared_type: str, caps: MediaCaps) -> tuple[dict[str, Any], bytes | None]:
    """What the bytes are: (info record, blurred preview JPEG or None). Never raises for bad media:
    a hostile or broken file is recorded (``error``, ``reason``) and the post goes on."""
    from socialhub.media.image import Limits, MediaError, decode_image
    from socialhub.media.sniff import kind_of, sniff

    sha = sha256_hex(data)
    mime = sniff(data)
    kind = kind_of(mime)
    info: dict[str, Any] = {"sha256": sha, "size": len(data), "mime": mime, "kind": kind,
                            "declared_type": declared_type or None, "analysis": ANALYSIS_VERSION, "notes": []}
    if declared_type and declared_type != mime and not (mime == "application/octet-stream"):
        info["notes"].append(f"declared {declared_type}, the bytes are {mime}: treated as {mime}")
    preview = None
    started = time.perf_counter()
    try:
        if kind == "svg":
            info.update(error="SVG is stored as evidence but never rendered (it can carry scripts)",
                        reason="svg")
        elif kind == "image":
            decoded = decode_image(data, declared_type=declared_type or None,
                                   limits=Limits(max_bytes=max(caps.item_bytes, len(data))))
            info.update(width=decoded.width, height=decoded.height, frames=decoded.frames)
            info["notes"].extend(n for n in decoded.notes if n not in info["notes"])
            preview = _hash_and_read(decoded.image, info, caps)
        elif kind == "video":
            preview = _video(data, info, caps)
        else:
            info.update(error=f"not an image or video ({mime}): stored as evidence, not analysed",
                        reason="unsupported")
    except MediaError as exc:
        info.update(error=str(exc), reason=exc.reason)
    except Exception as exc:  # noqa: BLE001 - a decoder bug must not lose the post or the other media
        log.warning("media %s: analysis failed: %s: %s", sha[:12], type(exc).__name__, exc)
        info.update(error=f"analysis failed: {type(exc).__name__}: {exc}", reason="analysis_failed")
    info["seconds"] = round(time.perf_counter() - started, 3)
    return info, preview


def _hash_and_read(image: Any, info: dict[str, Any], caps: MediaCaps) -> bytes:
    from socialhub.media.image import blurred_preview
    from socialhub.media.ocr import ocr_image
    from socialhub.media.pdq import pdq_dihedral, pdq_hash

    pdq, quality = pdq_hash(image)
    info["pdq"] = [{"hash": pdq, "quality": quality, "frame": 0}]
    info["pdq_dihedral"] = pdq_dihedral(image)
    ocr = ocr_image(image, timeout=caps.ocr_timeout)
    info["ocr"] = {"text": ocr.text, "seconds": round(ocr.seconds, 3), "error": ocr.error}
    return blurred_preview(image)


def _video(data: bytes, info: dict[str, Any], caps: MediaCaps) -> bytes | None:
    from socialhub.media.image import blurred_preview
    from socialhub.media.pdq import ffmpeg_available, pdq_hash, video_keyframes

    if not ffmpeg_available():
        info.update(error="video stored; keyframes not hashed: ffmpeg is not installed (make media-deps)",
                    reason="ffmpeg_missing")
        return None
    with tempfile.NamedTemporaryFile(suffix=".video") as fh:
        fh.write(data)
        fh.flush()
        frames = video_keyframes(fh.name, max_frames=caps.video_frames, timeout=max(10.0, caps.timeout * 3))
    info["frames"] = len(frames)
    info["pdq"] = []
    for at, image in frames:
        h, q = pdq_hash(image)
        info["pdq"].append({"hash": h, "quality": q, "frame": at})
    if not frames:
        info.update(error="no keyframe could be decoded", reason="corrupt")
        return None
    first = frames[0][1]
    info["width"], info["height"] = first.size
    return blurred_preview(first)


# -- capture -------------------------------------------------------------------------------------

@dataclass
class Budget:
    """Bytes still allowed: this account, this collection task."""

    account: int
    run: int

    def allows(self) -> bool:
        return self.account > 0 and self.run > 0

    def spend(self, n: int) -> None:
        self.account -= n
        self.run -= n


@dataclass
class CaptureSummary:
    captured: int = 0
    failed: int = 0
    deferred: int = 0
    gave_up: int = 0
    bytes: int = 0
    ocr_texts: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: CaptureSummary) -> None:
        for name in ("captured", "failed", "deferred", "gave_up", "bytes", "ocr_texts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "errors"} | {"errors": self.errors[:20]}


def media_urls(post: dict[str, Any], caps: MediaCaps) -> list[str]:
    urls = [str(u) for u in (post.get("media") or []) if isinstance(u, str) and u]
    return list(dict.fromkeys(urls))[:caps.max_items_per_post]


def mark_pending(store: ObjectStore, manifest: dict[str, Any], posts: Iterable[dict[str, Any]]) -> bool:
    """Remember that this batch's media must be captured (before the cursor moves). False if no
    post of the batch has media."""
    with_media = [p["post_id"] for p in posts if p.get("media")]
    if not with_media:
        return False
    key = mstore.pending_key(manifest["batch_id"])
    if not store.exists(key):
        store.put_state(key, canonical_json({
            "batch_id": manifest["batch_id"], "platform": manifest["platform"], "account": manifest["account"],
            "posts_key": manifest["posts"]["key"], "post_ids": with_media, "since": manifest["collected_at"]}))
    return True


def pending_for(store: ObjectStore, platform: str, account: str) -> list[dict[str, Any]]:
    """The pending markers of one account, oldest first."""
    out = []
    for key in store.list("media/pending/"):
        raw = store.get_or_none(key)
        if not raw:
            continue
        marker = json.loads(raw)
        if marker.get("platform") == platform and marker.get("account") == account:
            out.append(marker)
    return sorted(out, key=lambda m: (m.get("since") or "", m["batch_id"]))


def capture_pending(store: ObjectStore, platform: str, account: str, *, fetcher: MediaFetcher, caps: MediaCaps,
                    budget: Budget, now: datetime, auditor: Auditor | None = None, force: str = "",
                    markers: list[dict[str, Any]] | None = None) -> CaptureSummary:
    """Capture what is pending for one account (this run's batch and earlier runs' leftovers)."""
    from socialhub.models import from_jsonl

    total = CaptureSummary()
    for marker in markers if markers is not None else pending_for(store, platform, account):
        posts_raw = store.get_or_none(marker["posts_key"])
        if posts_raw is None:   # erased by retention: nothing left to capture for
            store.delete(mstore.pending_key(marker["batch_id"]))
            continue
        wanted = set(marker.get("post_ids") or [])
        posts = [p for p in from_jsonl(posts_raw) if p.get("post_id") in wanted]
        summary = CaptureSummary()
        open_items = 0
        for post in posts:
            before = summary.captured
            open_items += _capture_post(store, post, fetcher=fetcher, caps=caps, budget=budget, now=now,
                                        summary=summary)
            if summary.captured > before:
                # captured after its batch was processed (a retry): judged again by the next processing run
                from socialhub.media.followup import mark_followup

                mark_followup(store, batch_id=marker["batch_id"], platform=platform, post_id=str(post["post_id"]),
                              at=now)
        if open_items == 0:
            store.delete(mstore.pending_key(marker["batch_id"]))
        total.add(summary)
        if summary.captured or summary.failed or summary.gave_up:
            record(auditor, "media_capture", f"batch:{marker['batch_id']}", force=force,
                   details={"platform": platform, "account": account, "captured": summary.captured,
                            "failed": summary.failed, "deferred": summary.deferred, "gave_up": summary.gave_up,
                            "bytes": summary.bytes, "still_pending": open_items})
    return total


def _capture_post(store: ObjectStore, post: dict[str, Any], *, fetcher: MediaFetcher, caps: MediaCaps,
                  budget: Budget, now: datetime, summary: CaptureSummary) -> int:
    """Capture one post's media; returns how many items are still open (to try next run)."""
    platform, post_id = str(post["platform"]), str(post["post_id"])
    rec = mstore.load_record(store, platform, post_id) or {
        "platform": platform, "post_id": post_id, "post_key": f"{platform}:{post_id}", "items": []}
    items = {i["url"]: i for i in rec["items"]}
    changed = False
    open_items = 0
    for url in media_urls(post, caps):
        item = items.setdefault(url, {"url": url, "status": "new", "attempts": 0})
        if item["status"] in ("captured", "gave_up"):
            continue
        if not budget.allows():
            if item["status"] != "deferred":
                item.update(status="deferred", reason="budget",
                            error="over this run's media byte budget: fetched next run")
                changed = True
            summary.deferred += 1
            open_items += 1
            continue
        item["attempts"] = int(item.get("attempts", 0)) + 1
        item["last_attempt"] = utc_iso(now)
        changed = True
        try:
            video = caps.fetch_video and _is_video_url(url)
            if _is_video_url(url) and not caps.fetch_video:
                raise MediaFetchError("video_skipped", "video files are not fetched (SOCIALHUB_MEDIA_FETCH_VIDEO)",
                                      retry=False)
            fetched = fetcher.fetch(url, cap=caps.video_bytes if video else caps.item_bytes,
                                    video_cap=caps.video_bytes if caps.fetch_video else None)
        except MediaFetchError as exc:
            budget.spend(0)
            final = not exc.retry or item["attempts"] >= caps.max_attempts
            item.update(status="gave_up" if final else "failed", reason=exc.reason, error=str(exc))
            summary.gave_up += final
            summary.failed += not final
            open_items += not final
            summary.errors.append(f"{platform}:{post_id} {url[:120]}: {exc}")
            log.warning("media %s of %s:%s: %s%s", url[:200], platform, post_id, exc,
                        "" if final else " (tried again next run)")
            continue
        budget.spend(len(fetched.data))
        info = _store_media(store, fetched, caps)
        item.update(status="captured", reason=None, error=info.get("error"), sha256=info["sha256"],
                    declared_type=fetched.declared_type or None,
                    key=mstore.object_key(info["sha256"]), size=info["size"], mime=info["mime"], kind=info["kind"],
                    width=info.get("width"), height=info.get("height"),
                    preview_key=mstore.preview_key(info["sha256"]) if info.get("preview") else None,
                    captured_at=utc_iso(now))
        summary.captured += 1
        summary.bytes += len(fetched.data)
        summary.ocr_texts += bool((info.get("ocr") or {}).get("text"))
    if changed:
        rec["items"] = list(items.values())
        rec["updated_at"] = utc_iso(now)
        store.put_state(mstore.record_key(platform, post_id), canonical_json(rec))
    return open_items


def _store_media(store: ObjectStore, fetched: Fetched, caps: MediaCaps) -> dict[str, Any]:
    """Store the bytes, their analysis and preview, write-once; the same bytes again reuse them."""
    sha = sha256_hex(fetched.data)
    existing = mstore.load_info(store, sha)
    obj = store.put(mstore.object_key(sha), fetched.data, content_type="application/octet-stream")
    if existing is not None:
        return existing
    info, preview = analyse(fetched.data, fetched.declared_type, caps)
    info["stored_sha256"] = obj.sha256
    if preview:
        store.put(mstore.preview_key(sha), preview, content_type="image/jpeg")
        info["preview"] = True
    store.put(mstore.info_key(sha), canonical_json(info), content_type="application/json")
    return info


class _SharedRun(Budget):
    """An account's budget whose run part is the collection task's, shared by the shard's threads:
    every check and spend of the run's bytes goes through the owner's lock."""

    def __init__(self, account: int, owner: MediaCapture) -> None:
        super().__init__(account=account, run=0)
        self._owner = owner

    def allows(self) -> bool:
        with self._owner._lock:
            return self.account > 0 and self._owner.run_left > 0

    def spend(self, n: int) -> None:
        self.account -= n
        with self._owner._lock:
            self._owner.run_left = max(0, self._owner.run_left - n)


class MediaCapture:
    """What one collection task needs to capture media: the fetcher, the caps and its share of
    the run's byte budget (``run_bytes`` split over the run's ``shards``). Thread-safe: the
    threads of a shard (``SOCIALHUB_COLLECT_CONCURRENCY``) share the run's bytes and the summary
    under one lock; each account keeps its own ``account_bytes``."""

    def __init__(self, fetcher: MediaFetcher, caps: MediaCaps, *, shards: int = 1) -> None:
        self.fetcher, self.caps = fetcher, caps
        self.run_left = caps.run_bytes // max(1, shards)
        self.summary = CaptureSummary()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, cfg: Any, *, shards: int = 1) -> MediaCapture | None:
        """None when media capture is switched off (``SOCIALHUB_MEDIA=false``)."""
        if not cfg.media:
            return None
        caps = MediaCaps.from_settings(cfg)
        return cls(MediaFetcher(cfg.media_gateway, timeout=caps.timeout), caps, shards=shards)

    def capture_account(self, store: ObjectStore, platform: str, account: str, now: datetime, *,
                        auditor: Auditor | None = None, force: str = "") -> CaptureSummary:
        budget = _SharedRun(self.caps.account_bytes, self)
        summary = capture_pending(store, platform, account, fetcher=self.fetcher, caps=self.caps, budget=budget,
                                  now=now, auditor=auditor, force=force)
        with self._lock:
            self.summary.add(summary)
        return summary

    def close(self) -> None:
        self.fetcher.close()


__all__ = ["ANALYSIS_VERSION", "Budget", "CaptureSummary", "MediaCaps", "MediaFetchError", "MediaFetcher", "analyse",
           "MediaCapture", "capture_pending", "mark_pending", "media_urls", "pending_for"]
