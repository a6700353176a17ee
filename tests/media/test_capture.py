"""Media capture in the collection run, over real HTTP on loopback (a capture gateway serving
hostile media): every case is bounded and recorded, the post is stored and its cursor moves,
and a failure is tried again next run."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from socialhub.collect import collect_account
from socialhub.media import store as mstore
from socialhub.media.capture import MediaCapture, MediaCaps, MediaFetcher, mark_pending
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import parse_watchlist
from tests.media._images import encode, photo, png_bomb

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
CDN = "https://cdn.capture.example"


def _gif(frames: int) -> bytes:
    from tests.media.test_media_core import _gif_with_frames

    return _gif_with_frames(frames)


class Gateway(ThreadingHTTPServer):
    daemon_threads = True


def _serve(routes: dict[str, tuple[int, bytes, dict[str, str]]], hits: dict[str, int]):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def do_GET(self):  # noqa: N802
            path = self.path.split("/", 2)[2] if self.path.count("/") >= 2 else ""
            path = "/" + path
            hits[path] = hits.get(path, 0) + 1
            route = routes.get(path)
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, body, headers = route
            if headers.get("x-sleep"):
                time.sleep(float(headers["x-sleep"]))
            if headers.get("x-fail-first") and hits[path] == 1:
                status, body = 503, b"busy"
            self.send_response(status)
            for k, v in headers.items():
                if not k.startswith("x-"):
                    self.send_header(k, v)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass
            if "Content-Length" in headers:
                self.close_connection = True

    server = Gateway(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def gateway():
    scene = photo(3)
    jpeg = encode(scene, "JPEG", quality=90)
    routes = {
        "/ok.jpg": (200, jpeg, {"Content-Type": "image/jpeg"}),
        "/lying.png": (200, encode(photo(5), "JPEG"), {"Content-Type": "image/png"}),
        "/bomb.png": (200, png_bomb(), {"Content-Type": "image/png"}),
        "/truncated.jpg": (200, jpeg[: len(jpeg) // 2], {"Content-Type": "image/jpeg"}),
        "/evil.svg": (200, b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
                           b"</svg>", {"Content-Type": "image/svg+xml"}),
        "/frames.gif": (200, _gif(3000), {"Content-Type": "image/gif"}),
        "/huge.mp4": (200, b"\x00" * 4096, {"Content-Type": "video/mp4", "Content-Length": str(2 * 1024 ** 3)}),
        "/slow.jpg": (200, jpeg, {"Content-Type": "image/jpeg", "x-sleep": "2"}),
        "/flaky.jpg": (200, encode(photo(4), "JPEG"), {"Content-Type": "image/jpeg", "x-fail-first": "1"}),
        "/garbage.jpg": (200, bytes(range(256)) * 40, {"Content-Type": "image/jpeg"}),
    }
    hits: dict[str, int] = {}
    server = _serve(routes, hits)
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


WL = parse_watchlist("""
version: 1
accounts:
  - platform: mastodon
    account: media@x.social
    display_name: Media test
    force: met
    team: gangs
    owner: DS Example
    priority: high
    authorisation_ref: AUTH-1
    purpose: Public threats between two named groups.
    review_by: 2030-01-01
""")


class MediaPosts(Connector):
    platform = "mastodon"

    def __init__(self, media: dict[str, list[str]], offset: int = 0) -> None:
        super().__init__(ConnectorConfig(base_url="http://fake"))
        self.media = {str(int(k) + offset): v for k, v in media.items()}
        self.offset = offset

    def fetch(self, account, cursor):
        since = int((cursor or {}).get("since_id", 0))
        ids = [i for i in range(self.offset + 1, self.offset + len(self.media) + 1) if i > since]
        items = [{"id": str(i)} for i in ids]
        posts = [Post("mastodon", account, str(i), f"https://x.social/@{account}/{i}", account, f"post {i}",
                      utc_iso(NOW - timedelta(minutes=5)), utc_iso(NOW), self.media[str(i)], raw_sha256(it))
                 for i, it in zip(ids, items)]
        return FetchResult(posts, items, {"since_id": max(ids, default=since)}, pages=1)


def _capture(base: str, **caps) -> MediaCapture:
    c = MediaCaps(**{"timeout": 1.0, "item_bytes": 5 * 1024 * 1024, "video_bytes": 8 * 1024 * 1024, **caps})
    return MediaCapture(MediaFetcher(base, timeout=c.timeout), c)


def _items(st, post_id: str) -> dict[str, dict]:
    rec = mstore.load_record(st, "mastodon", post_id)
    return {i["url"].rsplit("/", 1)[-1]: i for i in rec["items"]}


def test_hostile_media_is_bounded_recorded_and_the_post_still_stored(tmp_path, gateway):
    base, hits = gateway
    names = ["ok.jpg", "lying.png", "bomb.png", "truncated.jpg", "evil.svg", "frames.gif", "huge.mp4",
             "slow.jpg", "garbage.jpg"]
    conn = MediaPosts({"1": [f"{CDN}/{n}" for n in names], "2": ["file:///etc/passwd", "ftp://x/y.jpg"]})
    st = LocalStore(tmp_path)
    media = _capture(base)
    started = time.monotonic()
    out = collect_account(st, WL.accounts[0], conn, NOW, media=media)
    elapsed = time.monotonic() - started
    assert out.status == "ok" and out.posts == 2                   # the posts are stored whatever the media did
    cursor = json.loads(st.get(layout.cursor_key("mastodon", "media@x.social")))
    assert cursor["cursor"] == {"since_id": 2}
    assert elapsed < 30                                             # bounded (the 2 GB video was never read)
    items = _items(st, "1")
    ok = items["ok.jpg"]
    assert ok["status"] == "captured" and ok["mime"] == "image/jpeg" and (ok["width"], ok["height"]) == (640, 480)
    assert st.get(ok["key"]) and mstore.object_key(ok["sha256"]) == ok["key"]
    info = mstore.load_info(st, ok["sha256"])
    assert len(info["pdq"][0]["hash"]) == 64 and len(info["pdq_dihedral"]) == 8
    assert st.get(ok["preview_key"])[:3] == b"\xff\xd8\xff"          # a blurred JPEG preview, from the store
    # a type that lies: decoded as what the bytes are, the lie noted
    lying = mstore.load_info(st, items["lying.png"]["sha256"])
    assert lying["mime"] == "image/jpeg" and any("image/png" in n for n in lying["notes"])
    assert items["lying.png"]["declared_type"] == "image/png" and items["lying.png"]["mime"] == "image/jpeg"
    # decompression bomb: stored as evidence, never decoded, no preview
    bomb = mstore.load_info(st, items["bomb.png"]["sha256"])
    assert bomb["reason"] == "bomb" and "pdq" not in bomb and not items["bomb.png"].get("preview_key")
    assert mstore.load_info(st, items["truncated.jpg"]["sha256"])["reason"] in ("truncated", "corrupt")
    svg = mstore.load_info(st, items["evil.svg"]["sha256"])
    assert svg["reason"] == "svg" and svg["kind"] == "svg" and not items["evil.svg"].get("preview_key")
    gif = mstore.load_info(st, items["frames.gif"]["sha256"])
    assert gif["frames"] >= 1000 and "pdq" in gif                   # first frame hashed, frame count capped
    # 2 GB declared: refused from the header, not downloaded, not retried
    assert items["huge.mp4"]["status"] == "gave_up" and items["huge.mp4"]["reason"] == "too_large"
    assert items["slow.jpg"]["status"] == "failed" and items["slow.jpg"]["reason"] == "timeout"
    garbage = mstore.load_info(st, items["garbage.jpg"]["sha256"])
    assert garbage["mime"] == "application/octet-stream" and garbage["reason"] == "unsupported"
    refused = _items(st, "2")
    assert {i["reason"] for i in refused.values()} == {"blocked_url"} and all(
        i["status"] == "gave_up" for i in refused.values())
    assert out.media["captured"] == 7 and out.media["failed"] == 1 and out.media["gave_up"] == 3
    # the batch is still pending (the slow item is open) and the next run tries only that one again
    assert st.list("media/pending/")
    before = dict(hits)
    media2 = _capture(base, timeout=5.0)
    collect_account(st, WL.accounts[0], conn, NOW + timedelta(hours=1), media=media2)
    assert {k: v - before.get(k, 0) for k, v in hits.items() if v != before.get(k, 0)} == {"/slow.jpg": 1}
    assert _items(st, "1")["slow.jpg"]["status"] == "captured"
    assert not st.list("media/pending/")                           # everything captured or given up


def test_a_failure_is_retried_next_run_and_a_crash_before_capture_loses_nothing(tmp_path, gateway):
    base, hits = gateway
    conn = MediaPosts({"1": [f"{CDN}/flaky.jpg"]})
    st = LocalStore(tmp_path)

    class Crash(BaseException):   # a kill: nothing in the collection code may catch it
        pass

    class Dying(MediaCapture):
        def capture_account(self, *a, **kw):
            raise Crash("killed after the cursor moved, before media capture")

    with pytest.raises(Crash):
        collect_account(st, WL.accounts[0], conn, NOW, media=Dying(MediaFetcher(base), MediaCaps()))
    assert st.list("media/pending/")                                # remembered before the cursor moved
    out = collect_account(st, WL.accounts[0], conn, NOW + timedelta(minutes=30), media=_capture(base))
    assert out.posts == 0                                           # nothing new to fetch, nothing stored twice
    assert _items(st, "1")["flaky.jpg"]["status"] == "failed"       # the gateway answered 503 first
    collect_account(st, WL.accounts[0], conn, NOW + timedelta(hours=1), media=_capture(base))
    item = _items(st, "1")["flaky.jpg"]
    assert item["status"] == "captured" and item["attempts"] == 2
    assert not st.list("media/pending/")


def test_byte_budget_defers_to_the_next_run(tmp_path, gateway):
    base, _ = gateway
    conn = MediaPosts({"1": [f"{CDN}/ok.jpg"], "2": [f"{CDN}/flaky.jpg"]})
    st = LocalStore(tmp_path)
    media = _capture(base, account_bytes=10)       # the first image spends the whole budget
    collect_account(st, WL.accounts[0], conn, NOW, media=media)
    assert _items(st, "1")["ok.jpg"]["status"] == "captured"
    assert _items(st, "2")["flaky.jpg"]["status"] == "deferred"


def test_without_a_gateway_only_public_https_is_fetched(tmp_path):
    fetcher = MediaFetcher(None, timeout=1.0)
    from socialhub.media.capture import MediaFetchError

    for url in ("http://cdn.example/a.jpg", "https://127.0.0.1/a.jpg", "https://localhost/a.jpg",
                "https://user:pw@cdn.example/a.jpg"):
        with pytest.raises(MediaFetchError) as err:
            fetcher.fetch(url, cap=1000)
        assert err.value.reason == "blocked_url", url        # refused before any network traffic
    fetcher.close()


def test_mark_pending_only_for_batches_with_media(tmp_path):
    st = LocalStore(tmp_path)
    manifest = {"batch_id": "b1", "platform": "x", "account": "a", "posts": {"key": "k"}, "collected_at": "t"}
    assert mark_pending(st, manifest, [{"post_id": "1", "media": []}]) is False
    assert mark_pending(st, manifest, [{"post_id": "1", "media": ["https://x/y.jpg"]}]) is True
    assert json.loads(st.get(mstore.pending_key("b1")))["post_ids"] == ["1"]
