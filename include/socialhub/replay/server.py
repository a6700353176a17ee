"""A local replay server for platform APIs: demos and tests without touching the internet.

Why: connectors must be exercised end to end (HTTP, pagination, rate limits, faults) in CI and
in the demo, but real platforms are off limits there. The server binds to 127.0.0.1 only, on an
ephemeral port by default, and serves each platform under its own prefix::

    http://127.0.0.1:PORT/mastodon/api/v1/accounts/lookup?acct=...
    http://127.0.0.1:PORT/bluesky/xrpc/app.bsky.feed.getAuthorFeed?actor=...

so a connector's ``base_url`` is simply ``server.base_url("mastodon")``. All seven platforms are
served: ``/mastodon``, ``/bluesky``, ``/youtube`` (Data API + ``/youtube/feeds/videos.xml``),
``/x``, ``/reddit``, ``/telegram`` (``/telegram/s/<channel>``) and ``/rss`` (a fetch gateway:
the feed ``https://host/path`` is served at ``/rss/host/path``).

Each platform has a rate-limit window (headers on every response, 429 when exhausted), an
optional required token (Reddit also serves its OAuth token endpoint, ``POST
/reddit/api/v1/access_token``, and can require the tokens it issues: ``require_app_token``), and
a fault queue: ``inject_fault`` makes the next N matching requests
fail (429 with Retry-After or reset headers, 5xx, a malformed or truncated body). Data comes
from ``demo_data.yaml`` (fictional accounts; post ages relative to server start) or a dict,
and ``add_post`` adds posts while running, to show incremental collection.

    with ReplayServer() as server:
        config = ConnectorConfig(base_url=server.base_url("mastodon"))
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from socialhub.media.gateway import GatewayError, gateway_target
from socialhub.replay.api import Clock, PlatformAPI, RateWindow, Request, Response, json_response
from socialhub.replay.bluesky import BlueskyAPI
from socialhub.replay.mastodon import MastodonAPI
from socialhub.replay.media import MediaUnavailable, media_key, render_media
from socialhub.replay.reddit import RedditAPI
from socialhub.replay.rss import RssAPI
from socialhub.replay.telegram import TelegramAPI
from socialhub.replay.x import XAPI
from socialhub.replay.youtube import YouTubeAPI
from socialhub.sources.base import utcnow

log = logging.getLogger(__name__)

#: platform name (= URL prefix) -> emulation. Add a platform by adding a PlatformAPI subclass here.
PLATFORM_APIS: dict[str, type[PlatformAPI]] = {
    MastodonAPI.platform: MastodonAPI,
    BlueskyAPI.platform: BlueskyAPI,
    YouTubeAPI.platform: YouTubeAPI,
    XAPI.platform: XAPI,
    RedditAPI.platform: RedditAPI,
    TelegramAPI.platform: TelegramAPI,
    RssAPI.platform: RssAPI,
}

DEMO_DATA = Path(__file__).with_name("demo_data.yaml")
MAX_POST_BYTES = 64 * 1024   # a token request is a few dozen bytes
_SECRET_PARAM = re.compile(r"(?i)\b(key|api_key|access_token|token)=[^&\s\"]+")
HOST = "127.0.0.1"
CDN_PREFIX = "/cdn"   # the capture gateway: /cdn/<host>/<path>?<query> serves https://<host>/<path>?<query>


@functools.lru_cache(maxsize=8)
def _parse_yaml(path: str, mtime_ns: int) -> Any:
    """Parsed once per file version: tests start many servers on the same demo file."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader


def load_data(data: Mapping[str, Any] | str | Path | None = None) -> dict[str, Any]:
    """The demo data (default), a YAML/JSON file, or a dict. Keys starting with ``_`` are comments."""
    if data is None:
        data = DEMO_DATA
    if isinstance(data, (str, Path)):
        path = Path(data)
        try:
            loaded = copy.deepcopy(_parse_yaml(str(path.resolve()), path.stat().st_mtime_ns))
        except OSError as exc:
            raise ValueError(f"cannot read replay data {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of platform -> data at the top level")
        data = loaded
    spec = {k: v for k, v in dict(data).items() if not str(k).startswith("_")}
    unknown = sorted(set(spec) - set(PLATFORM_APIS))
    if unknown:
        raise ValueError(f"replay data has unknown platform(s) {unknown}; known: {sorted(PLATFORM_APIS)}")
    return spec


@dataclass(slots=True)
class Fault:
    status: int
    headers: dict[str, str]
    body: bytes | None
    count: int
    truncate: bool = False
    match: str | None = None            # only requests whose path (with query) contains this
    reset_in: float | None = None       # 429: the platform's reset header, this many seconds ahead
    delay: float = 0.0                  # answer only after this many seconds (a client timeout)
    repeat: bool = False                # serve the previous answer again (pagination that loops)


@dataclass(slots=True)
class _Platform:
    api: PlatformAPI
    window: RateWindow
    token: str | None = None
    faults: list[Fault] = field(default_factory=list)
    last: Response | None = None        # the last normal answer, for ``repeat`` faults


@dataclass(slots=True)
class _Served:
    body: bytes
    content_type: str
    declared_length: int | None = None


class ReplayServer:
    """Serve emulated platform APIs on 127.0.0.1. See the module docstring."""

    def __init__(self, data: Mapping[str, Any] | str | Path | None = None, *, port: int = 0,
                 now: Clock | None = None) -> None:
        self.now: Clock = now or utcnow
        self.started_at = self.now()
        self._lock = threading.RLock()
        self._platforms: dict[str, _Platform] = {}
        # the capture gateway (``/cdn``): media URL key -> spec (registered by the emulations when they
        # emit a URL) and URL key -> body served verbatim (``serve_media``)
        self._media: dict[str, Any] = {}
        self._served: dict[str, _Served] = {}
        for name, section in load_data(data).items():
            api = PLATFORM_APIS[name](section or {}, now=self.now)
            api.apply_states(section or {})
            api.share_media_registry(self._media)
            self._platforms[name] = _Platform(api, RateWindow(api.limit, api.window_seconds, self.now()))
        self.request_log: list[tuple[str, str]] = []
        self._requested_port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> ReplayServer:
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer((HOST, self._requested_port), _Handler)
        httpd.daemon_threads = True
        httpd.replay = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"replay-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the replay server is not started: call start() first")
        return int(self._httpd.server_address[1])

    def base_url(self, platform: str) -> str:
        """The ``ConnectorConfig.base_url`` for ``platform`` on this server."""
        self._platform(platform)
        return f"http://{HOST}:{self.port}/{platform}"

    @property
    def media_gateway(self) -> str:
        """The capture gateway serving the demo posts' media (``SOCIALHUB_MEDIA_GATEWAY``): media URL
        ``https://host/path?q`` is fetched as ``<media_gateway>/host/path?q``
        (``socialhub.media.gateway.via_gateway``)."""
        return f"http://{HOST}:{self.port}{CDN_PREFIX}"

    # -- test and demo controls ---------------------------------------------------------------

    def serve_media(self, url: str, body: bytes, content_type: str, *, declared_length: int | None = None) -> None:
        """Serve ``body`` verbatim at media URL ``url`` through the gateway (hostile media for tests).
        ``declared_length`` larger than the body: the response advertises that ``Content-Length``
        (a "2 GB video"), sends the real body and closes the connection."""
        if declared_length is not None and declared_length < len(body):
            raise ValueError(f"declared_length {declared_length} is less than the body ({len(body)} bytes)")
        with self._lock:
            self._served[media_key(url)] = _Served(bytes(body), content_type, declared_length)

    def media_urls(self) -> list[str]:
        """The media URLs registered so far (as gateway keys: ``https://host/path?query``)."""
        with self._lock:
            return list(dict.fromkeys([*self._media, *self._served]))


    def platforms(self) -> list[str]:
        """The platforms this server serves (each under ``/<platform>``)."""
        return list(self._platforms)

    def accounts(self, platform: str) -> list[str]:
        """Handles to put in a watchlist / pass to ``Connector.fetch``."""
        return self._platform(platform).api.accounts()

    def add_post(self, platform: str, account: str, post: Mapping[str, Any]) -> dict[str, Any]:
        """Add a post now (``age`` defaults to 0); returns the API item as the platform will serve it."""
        with self._lock:
            return self._platform(platform).api.add_post(account, post)

    def remove_post(self, platform: str, post_id: str) -> None:
        """Delete a post (``post_id`` as the connector reports it): timelines stop listing it and the
        platform's single-item endpoint answers its documented "not found" shape."""
        with self._lock:
            self._platform(platform).api.remove_post(post_id)

    def suspend_account(self, platform: str, account: str) -> None:
        """Suspend ``account`` in the platform's documented shape (Mastodon ``suspended: true``,
        Bluesky ``AccountTakedown``, X "User has been suspended", YouTube no channel, Reddit
        ``is_suspended``, Telegram no preview, RSS 410)."""
        with self._lock:
            self._platform(platform).api.suspend_account(account)

    def rename_account(self, platform: str, account: str, new_name: str) -> None:
        """Change ``account``'s handle to ``new_name`` (Bluesky: same DID; X/Reddit/YouTube/Telegram:
        the old name stops resolving; RSS: the feed answers 301 to the new URL; Mastodon: the
        account moves, see ``move_account``)."""
        with self._lock:
            self._platform(platform).api.rename_account(account, new_name)

    def move_account(self, platform: str, account: str, target: str) -> None:
        """Mastodon: the account moved to ``target`` (``Account.moved``)."""
        with self._lock:
            self._platform(platform).api.move_account(account, target)

    def inject_fault(self, platform: str, status: int = 429, *, headers: Mapping[str, str] | None = None,
                     body: bytes | str | dict[str, Any] | list[Any] | None = None, count: int = 1,
                     retry_after: float | None = None, reset_in: float | None = None,
                     truncate: bool = False, match: str | None = None, delay: float = 0.0,
                     repeat: bool = False) -> None:
        """Make the next ``count`` requests to ``platform`` fail (only those whose path and query
        contain ``match``, e.g. ``"/statuses"`` or ``"max_id="``, when given).

        * ``status``: 429, 500, 503, 401, 404, ... or 200 together with a bad ``body``
        * ``retry_after``: adds ``Retry-After: <seconds>``
        * ``reset_in``: a 429 carries the platform's own reset header this many seconds ahead
          (Mastodon: ISO ``X-RateLimit-Reset``, Bluesky/X: epoch, Reddit: seconds), remaining 0;
          platforms without such headers (YouTube, Telegram, RSS) get ``Retry-After`` instead
        * ``body``: bytes/str verbatim (e.g. ``'[{"id": "1", "con'``), dict/list as JSON;
          default is the platform's own error body
        * ``truncate``: serve the real response but cut its body in half (valid HTTP, broken JSON)
        * ``delay``: answer normally, but only after this many seconds (longer than the client's
          timeout: a read timeout)
        * ``repeat``: answer with this platform's previous answer again, its items and its "next
          page" cursor included: pagination that loops or repeats items
        """
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = f"{retry_after:g}"
        with self._lock:
            self._platform(platform).faults.append(
                Fault(status, extra, body, max(1, count), truncate, match, reset_in, delay, repeat))

    def set_rate_limit(self, platform: str, *, limit: int | None = None, remaining: int | None = None,
                       reset_in: float | None = None, window: float | None = None) -> None:
        """Shape the platform's rate-limit window, e.g. ``remaining=2, reset_in=10``."""
        with self._lock:
            rw = self._platform(platform).window
            if limit is not None:
                rw.limit = limit
                rw.remaining = min(rw.remaining, limit)
            if window is not None:
                rw.window = window
            if remaining is not None:
                rw.remaining = remaining
            if reset_in is not None:
                rw.reset_at = self.now() + timedelta(seconds=reset_in)

    def require_token(self, platform: str, token: str | None) -> None:
        """Answer 401 (in the platform's shape) unless the token is sent the platform's way
        (``Authorization: Bearer <token>``; YouTube: ``key=<token>``)."""
        with self._lock:
            self._platform(platform).token = token

    def require_app_token(self, platform: str, client_id: str, client_secret: str, *,
                          lifetime: float = 3600.0) -> None:
        """Reddit: register an OAuth app and answer 401 to any listing request without a live
        access token issued to it by ``POST /reddit/api/v1/access_token`` (tokens expire after
        ``lifetime`` seconds of the server clock, like Reddit's app tokens after an hour)."""
        with self._lock:
            api = self._platform(platform).api
            if not hasattr(api, "register_client"):
                raise KeyError(f"{platform} has no OAuth token endpoint in the replay")
            api.register_client(client_id, client_secret, lifetime=lifetime, required=True)

    def clear_log(self) -> None:
        with self._lock:
            self.request_log.clear()

    def paths(self, platform: str | None = None) -> list[str]:
        """Logged request paths (with query), optionally only one platform's."""
        prefix = f"/{platform}/" if platform else "/"
        with self._lock:
            return [p for _, p in self.request_log if p.startswith(prefix)]

    # -- request handling (also callable without sockets) ----------------------------------------

    def _platform(self, platform: str) -> _Platform:
        try:
            return self._platforms[platform]
        except KeyError:
            raise KeyError(f"platform {platform!r} is not served; served: {', '.join(self._platforms)}") from None

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes = b"") -> Response:
        response, delay = self._handle(method, raw_path, headers, body)
        if delay:
            time.sleep(delay)   # outside the lock: other requests are served meanwhile
        return response

    def _handle(self, method: str, raw_path: str, headers: Mapping[str, str],
                body: bytes = b"") -> tuple[Response, float]:
        with self._lock:
            self.request_log.append((method, raw_path))
            parts = urlsplit(raw_path)
            prefix, _, rest = parts.path.lstrip("/").partition("/")
            if "/" + prefix == CDN_PREFIX:
                return self._media_response(method, rest, parts.query), 0.0
            platform = self._platforms.get(prefix)
            if platform is None:
                return json_response(404, {"error": f"no platform under /{prefix}",
                                           "served": [f"/{p}" for p in self._platforms]}), 0.0
            host = headers.get("Host") or f"{HOST}:{self.port}"
            req = Request(method, "/" + rest, dict(parse_qsl(parts.query, keep_blank_values=True)), headers,
                          f"http://{host}/{prefix}", body)
            api, window, now = platform.api, platform.window, self.now()
            if not api.accepts(req):
                return Response(405, b'{"error":"the replay server is read-only: GET only"}',
                                {"Content-Type": "application/json", "Allow": "GET"}), 0.0
            fault = self._take_fault(platform, raw_path)
            delay = fault.delay if fault is not None else 0.0
            if fault is not None and fault.repeat and platform.last is not None:
                return Response(platform.last.status, platform.last.body, dict(platform.last.headers)), delay
            if fault is not None and not (fault.truncate or fault.delay or fault.repeat):
                return self._fault_response(api, window, fault, now), delay
            if platform.token is not None and not api.public(req) and not api.authorized(req, platform.token):
                response = api.unauthorized()
            elif not api.public(req) and api.request_cost(req) and not window.take(now):
                response = api.exhausted(window)
            else:
                try:
                    response = api.handle(req)
                except Exception:   # a bug in an emulation must show up as a 500, not a hang
                    log.exception("replay: %s %s failed", method, raw_path)
                    response = api.error(500, "Internal Server Error")
            response.headers = {**api.rate_headers(window), **response.headers}
            if fault is not None and fault.truncate:
                response.body = response.body[: len(response.body) // 2]
            elif response.status == 200:
                platform.last = Response(response.status, response.body, dict(response.headers))
            return response, delay

    def _media_response(self, method: str, rest: str, query: str) -> Response:
        """``/cdn/<host>/<path>?<query>``: the registered media of ``https://<host>/<path>?<query>``."""
        if method != "GET":
            return Response(405, b'{"error":"the media gateway is read-only: GET only"}',
                            {"Content-Type": "application/json", "Allow": "GET"})
        try:
            url = gateway_target("/" + rest + (f"?{query}" if query else ""))
        except GatewayError as exc:
            return json_response(404, {"error": f"not a media gateway path: {exc}"})
        key = media_key(url)
        served = self._served.get(key)
        if served is not None:
            length = served.declared_length if served.declared_length is not None else len(served.body)
            return Response(200, served.body, {"Content-Type": served.content_type, "Content-Length": str(length)})
        spec = self._media.get(key)
        if spec is None:
            return json_response(404, {"error": f"no media is registered at {url}: only media URLs the replay "
                                                 "platforms emitted (or serve_media set) are served"})
        try:
            body, content_type = render_media(spec)
        except MediaUnavailable as exc:
            return json_response(404, {"error": str(exc), "url": url})
        except ValueError as exc:
            return json_response(404, {"error": f"cannot render the media registered at {url}: {exc}"})
        return Response(200, body, {"Content-Type": content_type, "Content-Length": str(len(body)),
                                    "Cache-Control": "public, max-age=31536000, immutable"})

    @staticmethod
    def _take_fault(platform: _Platform, path: str) -> Fault | None:
        for fault in platform.faults:
            if fault.match is None or fault.match in path:
                fault.count -= 1
                if fault.count <= 0:
                    platform.faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_response(api: PlatformAPI, window: RateWindow, fault: Fault, now: datetime) -> Response:
        if fault.status == 429:
            reset_at = now + timedelta(seconds=fault.reset_in) if fault.reset_in is not None else None
            default = api.too_many_requests()
            headers = api.rate_headers(window, remaining=0, reset_at=reset_at)
            if reset_at is not None and not headers:   # no reset header family: say it with Retry-After
                headers = {"Retry-After": str(max(1, int(fault.reset_in or 0)))}
        else:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            default = api.error(fault.status, phrase)
            headers = api.rate_headers(window)
        if fault.body is None:
            return Response(fault.status, default.body, {**headers, **default.headers, **fault.headers})
        return Response(fault.status, fault.body, {**headers, "Content-Type": api.content_type, **fault.headers})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "socialhub-replay/0.1"
    sys_version = ""
    timeout = 10   # a stuck keep-alive connection must not pin a thread forever

    def setup(self) -> None:
        super().setup()
        # headers and body are separate writes: without this, Nagle + delayed ACK add ~40 ms a request
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._answer("GET", b"")

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        """Only Reddit's token endpoint accepts a POST; every other path answers 405."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_POST_BYTES:
            self.close_connection = True   # the body is not read
            self.send_response(413)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._answer("POST", self.rfile.read(length) if length else b"")

    def _answer(self, method: str, body: bytes) -> None:
        replay: ReplayServer = self.server.replay  # type: ignore[attr-defined]
        headers = {k: v for k, v in self.headers.items()}
        # a GET is handed over without a body (tests wrap ``handle`` with the three-argument form)
        response = (replay.handle(method, self.path, headers, body) if method != "GET"
                    else replay.handle(method, self.path, headers))
        declared = response.headers.get("Content-Length")   # only the media gateway declares its own
        self.send_response(response.status)
        for key, value in response.headers.items():
            if key != "Content-Length":
                self.send_header(key, value)
        self.send_header("Content-Length", declared or str(len(response.body)))
        if declared is not None and declared != str(len(response.body)):
            self.close_connection = True   # fewer bytes than declared: the client sees the connection end
        self.end_headers()
        try:
            self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):   # the client stopped reading (a capped download)
            self.close_connection = True

    def _not_allowed(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"error":"the replay server is read-only: GET only"}'
        self.send_response(405)
        self.send_header("Allow", "GET")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_PATCH = do_DELETE = _not_allowed  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
        # request lines carry query strings, and YouTube's API key is one: never log it
        log.debug("replay %s - %s", self.address_string(), _SECRET_PARAM.sub(r"\1=<redacted>", format % args))
