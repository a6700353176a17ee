"""Serve recorded HTTP interactions on 127.0.0.1, read in place from the shared fixtures.

Sources: ``extracted/*.meta.json`` + ``*.body.json`` pairs, whole cassettes (vcrpy YAML, R vcr
YAML, praw's betamax JSON) and bodies saved without their request (``body_recording``). The
recordings live outside the project (``SOCIALHUB_CONFORMANCE_FIXTURES``) and are never copied.
Each response is served with its recorded status, headers and body; the recorded origin inside
``Link`` headers is rewritten to this server so pagination links stay followable.

Matching is by path and query. By default every recorded parameter must match and a parameter
the recording lacks is tolerated only if listed in ``tolerated`` (then the replay behaves like
a server that ignores it). Recordings made by other clients ask for other fields, so a server
can instead compare only the ``significant`` parameters, the ones that select *which page* is
served (``pagination_token``, ``after``, ``pageToken``, ``min_id`` ...). Anything unmatched gets
418 with the request in the body, so a test fails loudly instead of reading the wrong page.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOLERATED = {"limit", "since_id"}


class Clock:
    """A fake clock for connectors under test: sleeping advances time, nothing really waits."""

    def __init__(self, at: datetime) -> None:
        self.t = at
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)
HOP_BY_HOP = {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}


@dataclass
class Recording:
    name: str
    method: str
    origin: str                 # scheme://host[:port] of the recorded request
    path: str
    query: dict[str, str]
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


def load_recordings(directory: Path) -> list[Recording]:
    recordings = []
    for meta_path in sorted(directory.glob("*.meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        body_path = meta_path.with_name(meta_path.name.replace(".meta.json", ".body.json"))
        url = urlsplit(meta.get("uri") or meta.get("url") or "")   # vcr extracts say uri, httptest ones url
        raw_status = meta.get("status", meta.get("status_code"))
        status = int(raw_status["code"] if isinstance(raw_status, dict) else raw_status)
        headers = []
        for key, value in meta.get("headers", {}).items():
            for v in value if isinstance(value, list) else [value]:
                if key.lower() not in HOP_BY_HOP:
                    headers.append((key, str(v)))
        recordings.append(Recording(
            name=meta_path.name.removesuffix(".meta.json"), method=meta.get("method", "GET").upper(),
            origin=f"{url.scheme}://{url.netloc}", path=url.path, query=dict(parse_qsl(url.query)),
            status=status, headers=headers, body=body_path.read_bytes() if body_path.exists() else b""))
    return recordings


def _headers(raw: Any) -> list[tuple[str, str]]:
    out = []
    for key, value in (raw or {}).items():
        for v in value if isinstance(value, list) else [value]:
            if key.lower() not in HOP_BY_HOP:
                out.append((key, str(v)))
    return out


def _body(raw: Any) -> bytes:
    """A cassette body: ``{"string": str | bytes}`` (vcr; ``!!binary`` may be gzip) or
    ``{"base64_string": ...}`` (betamax)."""
    if isinstance(raw, dict):
        value = raw.get("string", raw.get("base64_string")) or ""
        data = base64.b64decode(value) if "base64_string" in raw and "string" not in raw else value
    else:
        data = raw or ""
    data = data if isinstance(data, bytes) else str(data).encode("utf-8")
    if data[:2] == b"\x1f\x8b":      # gzip magic: vcrpy keeps gzip-encoded bodies as recorded
        data = gzip.decompress(data)
    return data


def load_cassette(path: Path) -> list[Recording]:
    """Every interaction of a vcrpy / R vcr YAML or betamax JSON cassette, in order."""
    return list(_load_cassette(str(path)))


@functools.lru_cache(maxsize=32)
def _load_cassette(path_text: str) -> tuple[Recording, ...]:
    path = Path(path_text)
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
    else:
        import yaml

        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    interactions = data.get("interactions") or data.get("http_interactions") or []
    recordings = []
    for index, interaction in enumerate(interactions):
        request, response = interaction["request"], interaction["response"]
        url = urlsplit(request["uri"])
        raw_status: Any = response.get("status")
        status = int(raw_status.get("code") or raw_status["status_code"] if isinstance(raw_status, dict)
                     else raw_status)
        recordings.append(Recording(
            name=f"{path.stem}#{index}", method=str(request.get("method", "GET")).upper(),
            origin=f"{url.scheme}://{url.netloc}", path=url.path, query=dict(parse_qsl(url.query)),
            status=status, headers=_headers(response.get("headers")),
            body=_body(response.get("body"))))
    return tuple(recordings)


def body_recording(name: str, body_path: Path, path: str, *, query: dict[str, str] | None = None,
                   status: int = 200, content_type: str = "application/json; charset=utf-8",
                   headers: list[tuple[str, str]] | None = None) -> Recording:
    """A body saved without its request or headers, served at ``path``/``query``."""
    return Recording(name=name, method="GET", origin="https://recorded.invalid", path=path, query=query or {},
                     status=status, headers=[("Content-Type", content_type), *(headers or [])],
                     body=body_path.read_bytes())


class RecordingServer:
    def __init__(self, recordings: list[Recording], *, tolerated: set[str] | None = None,
                 significant: set[str] | None = None) -> None:
        self.recordings = recordings
        self.tolerated = TOLERATED if tolerated is None else tolerated
        self.significant = significant
        self.requests: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> "RecordingServer":
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.recordings = self  # type: ignore[attr-defined]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> "RecordingServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def match(self, path: str, query: dict[str, str]) -> Recording | None:
        best: tuple[int, Recording] | None = None
        for rec in self.recordings:
            if rec.path != path:
                continue
            keys = set(rec.query) | set(query)
            if self.significant is not None:
                keys &= self.significant
            if any(rec.query.get(k) != query.get(k) for k in keys
                   if not (k in self.tolerated and k not in rec.query)):
                continue
            score = sum(1 for k in query if rec.query.get(k) == query[k])
            if best is None or score > best[0]:
                best = (score, rec)
        return best[1] if best else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        server: RecordingServer = self.server.recordings  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        server.requests.append(self.path)
        rec = server.match(url.path, dict(parse_qsl(url.query)))
        if rec is None:
            body = json.dumps({"error": "not recorded", "path": self.path}).encode()
            status, headers = 418, [("Content-Type", "application/json")]
        else:
            body, status = rec.body, rec.status
            headers = [(k, v.replace(rec.origin, server.base_url) if k.lower() == "link" else v)
                       for k, v in rec.headers]
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None
