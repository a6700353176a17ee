"""Serve recorded HTTP interactions (``extracted/*.meta.json`` + ``*.body.json``) on 127.0.0.1.

The recordings live outside the project (``SOCIALHUB_CONFORMANCE_FIXTURES``) and are read in
place, never copied. Each response is served with its recorded status, headers and body; the
recorded origin inside ``Link`` headers is rewritten to this server so pagination links stay
followable. Matching is by path and query; a query parameter the recording does not have is
tolerated only for ``limit`` and ``since_id`` (then the replay behaves like a server that
ignores it). Anything unmatched gets 418 with the request in the body, so a test fails loudly.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOLERATED = {"limit", "since_id"}
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


class RecordingServer:
    def __init__(self, recordings: list[Recording]) -> None:
        self.recordings = recordings
        self.requests: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> "RecordingServer":
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.recordings = self  # type: ignore[attr-defined]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
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
            if any(rec.query.get(k) != query.get(k) for k in keys if not (k in TOLERATED and k not in rec.query)):
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
