"""A loopback stand-in for a generic incoming webhook, strict about what socialhub may send it.

It accepts ``POST <path>`` with a JSON object, records it (``.received``) and checks, like a
careful receiver would, that:

* the body is a UTF-8 JSON object of ``schema`` 1 with a known ``type`` and the fields that type needs;
* ``Idempotency-Key`` is present, has the shape of a socialhub key and equals the document's ``key``;
* ``Authorization`` is ``Bearer <token>`` when a token is set (else 401);
* every string is plain-text-safe: no ``<``/``>``, no bare ``&``, no at-sign that is not wrapped
  as ``(@)``, no ``[``/``]``, ``*``, `````, ``~``, no control, invisible or bidi characters; links
  (``links``) are plain http(s) URLs.

A refused request is answered 400 and recorded in ``.errors`` (so a test can assert there are
none). Like a receiver that honours idempotency keys, a repeated key is answered 200 and counted
in ``.repeats`` but not recorded again (``dedupe=False`` records repeats too). Faults:
``fail_next(n, status)``, ``rate_limit_next(n, retry_after)``, ``fail_all(status)``.

    with WebhookServer(token="hook-secret") as hook:
        ...POST hook.url...
        assert [d["key"] for d in hook.documents] == [...]
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.servers.loopback import LoopbackServer

KEY_RE = re.compile(r"^(digest-|notice-)?[0-9a-f]{24}$")
TYPES = {"socialhub.alert", "socialhub.digest", "socialhub.notice"}
ALERT_FIELDS = {"schema", "type", "key", "alert_ids", "intended_channel", "fallback_reason", "severity",
                "categories", "force", "team", "authorisation_ref", "post", "reasons", "links",
                "classifier_version", "text", "sent_at"}
MESSAGE_FIELDS = {"schema", "type", "key", "alert_ids", "intended_channel", "fallback_reason", "links", "text",
                  "sent_at"}
_ENTITY = re.compile(r"&(amp|lt|gt);")
_KEPT_FORMAT = set("\u200c\u200d\u200e\u200f\u061c")
_AT_SIGNS = "@\uff20\ufe6b"


class Refused(ValueError):
    pass


def text_problems(text: str) -> list[str]:
    """Why ``text`` is not plain-text-safe (empty list: it is)."""
    found = []
    if "<" in text or ">" in text:
        found.append("unescaped < or >")
    if "&" in _ENTITY.sub("", text):
        found.append("bare &")
    for i, ch in enumerate(text):
        if ch in _AT_SIGNS and not (text[i - 1:i] == "(" and text[i + 1:i + 2] == ")"):
            found.append(f"raw at-sign at {i}")
            break
    for ch in "[]*`~":
        if ch in text:
            found.append(f"markup character {ch!r}")
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cs" or (cat == "Cc" and ch not in "\n\t") or (cat == "Cf" and ch not in _KEPT_FORMAT):
            found.append(f"invisible/control character U+{ord(ch):04X}")
            break
    return found


def _check_url(url: Any, where: str) -> None:
    if url is None:
        return
    if not isinstance(url, str):
        raise Refused(f"{where}: not a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc or \
            any(c.isspace() or c in "<>\"'" for c in url):
        raise Refused(f"{where}: not a plain http(s) URL")


def check_document(doc: Any, key: str | None) -> None:
    if not isinstance(doc, dict):
        raise Refused("body is not a JSON object")
    if doc.get("schema") != 1 or doc.get("type") not in TYPES:
        raise Refused("unknown schema or type")
    needed = ALERT_FIELDS if doc["type"] == "socialhub.alert" and "post" in doc else MESSAGE_FIELDS
    if set(doc) != needed:
        raise Refused(f"fields {sorted(set(doc) ^ needed)} missing or unexpected")
    if not key or not KEY_RE.match(key) or doc.get("key") != key:
        raise Refused("Idempotency-Key missing, malformed or not the document's key")
    if not isinstance(doc["alert_ids"], list) or not all(isinstance(i, str) and KEY_RE.match(i)
                                                         for i in doc["alert_ids"]):
        raise Refused("alert_ids must be a list of alert ids")
    if not isinstance(doc.get("text"), str) or not doc["text"]:
        raise Refused("text must be a non-empty string")
    links = [u for u in (doc["links"].values() if isinstance(doc["links"], dict) else doc["links"])]
    for i, url in enumerate(links):
        _check_url(url, f"links[{i}]")
    # The text may quote the links (entity-escaped like the rest); everything else in it must be inert.
    text = doc["text"]
    for url in links:
        if url:
            text = text.replace(url.replace("&", "&amp;"), "")
    problems = text_problems(text)
    if problems:
        raise Refused(f"$.text: {', '.join(problems)}")

    def walk(node: Any, where: str) -> None:
        if isinstance(node, str):
            problems = text_problems(node)
            if problems:
                raise Refused(f"{where}: {', '.join(problems)}")
        elif isinstance(node, dict):
            for k, v in node.items():
                if k not in ("links", "text") or where != "$":
                    walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(doc, "$")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    document: dict[str, Any]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._reply(405, {"error": "method not allowed"})

    def do_POST(self) -> None:  # noqa: N802
        hook = self.server.hook
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with hook._lock:
            hook.requests += 1
            fault = hook._faults.pop(0) if hook._faults else hook._down
        if fault is not None:
            status, headers = fault
            self._reply(status, {"error": "injected"}, headers)
            return
        if urlsplit(self.path).path != hook.path:
            self._refuse(404, "unknown path")
            return
        if hook.token is not None and self.headers.get("Authorization") != f"Bearer {hook.token}":
            self._refuse(401, "missing or wrong Authorization")
            return
        ctype = (self.headers.get("Content-Type") or "").lower().replace(" ", "")
        if ctype != "application/json;charset=utf-8":
            self._refuse(415, f"content type {ctype!r}")
            return
        key = self.headers.get("Idempotency-Key")
        try:
            document = json.loads(body.decode("utf-8"))
            check_document(document, key)
        except (ValueError, UnicodeDecodeError) as exc:
            self._refuse(400, str(exc))
            return
        with hook._lock:
            if hook.dedupe and key in hook._seen:
                hook.repeats.append(str(key))
            else:
                hook._seen.add(str(key))
                hook.received.append(Received(self.path, dict(self.headers.items()), document))
        self._reply(200, {"ok": True})

    def _refuse(self, status: int, why: str) -> None:
        with self.server.hook._lock:
            self.server.hook.errors.append({"status": status, "error": why})
        self._reply(status, {"error": why})

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hook: WebhookServer


class WebhookServer(LoopbackServer):
    server_class = _Server
    handler_class = _Handler
    owner_attr = "hook"
    thread_name = "fake-webhook"

    def __init__(self, *, token: str | None = None, path: str = "/hooks/socialhub/T0KENINPATH",
                 dedupe: bool = True) -> None:
        self.token = token
        self.path = path
        self.dedupe = dedupe
        self.received: list[Received] = []
        self.errors: list[dict[str, Any]] = []
        self.repeats: list[str] = []
        self.requests = 0
        self._seen: set[str] = set()
        self._faults: list[tuple[int, dict[str, str]]] = []
        self._down: tuple[int, dict[str, str]] | None = None
        self._lock = threading.Lock()

    @property
    def documents(self) -> list[dict[str, Any]]:
        return [r.document for r in self.received]

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.errors.clear()
            self.repeats.clear()
            self._seen.clear()
            self._faults.clear()
            self._down = None
            self.requests = 0

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        with self._lock:
            self._faults.extend([(status, {})] * n)

    def rate_limit_next(self, n: int = 1, retry_after: int = 1) -> None:
        with self._lock:
            self._faults.extend([(429, {"Retry-After": str(retry_after)})] * n)

    def fail_all(self, status: int = 503) -> None:
        with self._lock:
            self._down = (status, {})


    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"




