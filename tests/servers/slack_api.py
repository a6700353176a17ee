"""A local stand-in for the Slack Web API, strict about what it accepts.

Tests point ``slack_sdk.WebClient(base_url=server.base_url)`` (or an Airflow ``slack``
Connection whose extra ``base_url`` is that URL) at it. It implements ``auth.test``,
``chat.postMessage`` (with message ``metadata``), ``conversations.list`` and
``conversations.history`` (served from the messages it accepted, newest first, paginated with
cursors, metadata only with ``include_all_metadata``, channel *ids* only, thread replies left
out) the way Slack answers them, and validates messages the way Slack does:
a payload this server accepts should be one Slack accepts. Where Slack's exact rule is not
documented the check is *stricter* (lengths counted in UTF-16 code units, unknown keys and
lone surrogates rejected), so a test passing here is not a false comfort.

It binds 127.0.0.1 on a free port, needs no network, and records what it accepted
(``.messages``), what it refused (``.errors``) and every call (``.calls``). Faults are injected
with ``fail_next`` (HTTP 5xx) and ``rate_limit_next`` (HTTP 429 with ``Retry-After``); ``fail_all``
makes every request fail until ``reset``.

    with SlackAPIServer(token="xoxb-test") as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="#alerts", text="hi")
        assert slack.messages[0].text == "hi"
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.servers.loopback import LoopbackServer

MAX_BLOCKS = 50
TEXT_OBJECT_MAX = 3000
HEADER_TEXT_MAX = 150
SECTION_TEXT_MAX = 3000
FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
BUTTON_URL_MAX = 3000
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
BLOCK_ID_MAX = 255
MESSAGE_TEXT_MAX = 40000
#: Slack refuses a message whose blocks hold more text than this in all (``msg_blocks_too_long``).
#: Undocumented: reported at about 12,000-13,000 characters (slackapi/bolt-js#2509, #2867); the
#: lower figure is used, counted over every text object (button labels included).
BLOCKS_TEXT_MAX = 12000
HISTORY_LIMIT_MAX = 999
LIST_LIMIT_MAX = 999
CHANNEL_TYPES = {"public_channel", "private_channel", "mpim", "im"}
BOT_ID = "B0TEST0001"
_EVENT_TYPE_RE = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_TS_RE = re.compile(r"^\d{1,10}(\.\d{1,6})?$")


class InvalidBlocks(ValueError):
    """One reason a payload would be refused with ``invalid_blocks``."""


@dataclass
class Message:
    channel: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    ts: str
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None


@dataclass
class Call:
    method: str
    status: int
    error: str | None


def u16len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _check_keys(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = set(obj) - allowed
    if extra:
        raise InvalidBlocks(f"{where}: unknown field(s) {sorted(extra)}")


def check_text_object(obj: Any, where: str, *, max_len: int = TEXT_OBJECT_MAX,
                      plain_only: bool = False) -> None:
    if not isinstance(obj, dict):
        raise InvalidBlocks(f"{where}: text object must be an object")
    kind = obj.get("type")
    if kind not in ("plain_text", "mrkdwn") or (plain_only and kind != "plain_text"):
        raise InvalidBlocks(f"{where}: type must be {'plain_text' if plain_only else 'plain_text or mrkdwn'}")
    _check_keys(obj, {"type", "text", "emoji"} if kind == "plain_text" else {"type", "text", "verbatim"}, where)
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise InvalidBlocks(f"{where}: text must be a non-empty string")
    if u16len(text) > max_len:
        raise InvalidBlocks(f"{where}: text longer than {max_len}")
    if _has_lone_surrogate(text):
        raise InvalidBlocks(f"{where}: text contains a lone surrogate")
    for flag in ("emoji", "verbatim"):
        if flag in obj and not isinstance(obj[flag], bool):
            raise InvalidBlocks(f"{where}: {flag} must be a boolean")


def _check_url(url: Any, where: str) -> None:
    if not isinstance(url, str) or not url or u16len(url) > BUTTON_URL_MAX:
        raise InvalidBlocks(f"{where}: url must be a string of at most {BUTTON_URL_MAX}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidBlocks(f"{where}: url must be an absolute http(s) URL")


def check_button(el: Any, where: str) -> None:
    if not isinstance(el, dict) or el.get("type") != "button":
        raise InvalidBlocks(f"{where}: only buttons are supported here")
    _check_keys(el, {"type", "text", "action_id", "url", "value", "style", "accessibility_label"}, where)
    check_text_object(el.get("text"), f"{where}.text", max_len=BUTTON_TEXT_MAX, plain_only=True)
    if "url" in el:
        _check_url(el["url"], f"{where}.url")
    if "action_id" in el and (not isinstance(el["action_id"], str) or not el["action_id"]
                              or len(el["action_id"]) > ACTION_ID_MAX):
        raise InvalidBlocks(f"{where}.action_id: must be a non-empty string of at most {ACTION_ID_MAX}")
    if "value" in el and (not isinstance(el["value"], str) or len(el["value"]) > BUTTON_VALUE_MAX):
        raise InvalidBlocks(f"{where}.value: must be a string of at most {BUTTON_VALUE_MAX}")
    if "style" in el and el["style"] not in ("primary", "danger"):
        raise InvalidBlocks(f"{where}.style: must be primary or danger")


def check_block(block: Any, where: str) -> None:
    if not isinstance(block, dict):
        raise InvalidBlocks(f"{where}: block must be an object")
    kind = block.get("type")
    if "block_id" in block and (not isinstance(block["block_id"], str) or not block["block_id"]
                                or len(block["block_id"]) > BLOCK_ID_MAX):
        raise InvalidBlocks(f"{where}.block_id: must be a non-empty string of at most {BLOCK_ID_MAX}")
    if kind == "divider":
        _check_keys(block, {"type", "block_id"}, where)
    elif kind == "header":
        _check_keys(block, {"type", "block_id", "text"}, where)
        check_text_object(block.get("text"), f"{where}.text", max_len=HEADER_TEXT_MAX, plain_only=True)
    elif kind == "section":
        _check_keys(block, {"type", "block_id", "text", "fields", "accessory", "expand"}, where)
        if "text" not in block and "fields" not in block:
            raise InvalidBlocks(f"{where}: section needs text or fields")
        if "text" in block:
            check_text_object(block["text"], f"{where}.text", max_len=SECTION_TEXT_MAX)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not fields or len(fields) > FIELDS_MAX:
                raise InvalidBlocks(f"{where}.fields: 1 to {FIELDS_MAX} text objects")
            for i, f in enumerate(fields):
                check_text_object(f, f"{where}.fields[{i}]", max_len=FIELD_TEXT_MAX)
        if "accessory" in block:
            check_button(block["accessory"], f"{where}.accessory")
    elif kind == "context":
        _check_keys(block, {"type", "block_id", "elements"}, where)
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements or len(elements) > CONTEXT_ELEMENTS_MAX:
            raise InvalidBlocks(f"{where}.elements: 1 to {CONTEXT_ELEMENTS_MAX} elements")
        for i, el in enumerate(elements):
            check_text_object(el, f"{where}.elements[{i}]")
    elif kind == "actions":
        _check_keys(block, {"type", "block_id", "elements"}, where)
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements or len(elements) > ACTIONS_ELEMENTS_MAX:
            raise InvalidBlocks(f"{where}.elements: 1 to {ACTIONS_ELEMENTS_MAX} elements")
        ids = [el.get("action_id") for el in elements if isinstance(el, dict) and "action_id" in el]
        if len(ids) != len(set(ids)):
            raise InvalidBlocks(f"{where}: action_id values must be unique in a block")
        for i, el in enumerate(elements):
            check_button(el, f"{where}.elements[{i}]")
    else:
        raise InvalidBlocks(f"{where}: unsupported block type {kind!r}")


class InvalidArguments(ValueError):
    """A request parameter Slack would refuse; ``error`` is Slack's error code."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error


def check_metadata(metadata: Any) -> dict[str, Any]:
    """The message metadata as Slack accepts it, or ``InvalidArguments``.

    ``{"event_type": <alphanumeric/underscore>, "event_payload": {<key>: scalar | object of
    scalars | list of objects of scalars}}`` and nothing else (the Slack SDK's types).
    """
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            raise InvalidArguments("invalid_metadata_format", "metadata is not JSON") from None
    if not isinstance(metadata, dict) or set(metadata) != {"event_type", "event_payload"}:
        raise InvalidArguments("invalid_metadata_format", "metadata needs exactly event_type and event_payload")
    if not isinstance(metadata["event_type"], str) or not _EVENT_TYPE_RE.match(metadata["event_type"]):
        raise InvalidArguments("invalid_metadata_schema", "event_type must be alphanumeric")
    payload = metadata["event_payload"]
    if not isinstance(payload, dict):
        raise InvalidArguments("invalid_metadata_schema", "event_payload must be an object")

    def scalar(value: Any) -> bool:
        return isinstance(value, (str, int, float, bool)) and not (isinstance(value, str) and
                                                                   _has_lone_surrogate(value))

    def flat(value: Any) -> bool:
        return isinstance(value, dict) and all(isinstance(k, str) and scalar(v) for k, v in value.items())

    for key, value in payload.items():
        if not (scalar(value) or flat(value) or (isinstance(value, list) and all(flat(v) for v in value))):
            raise InvalidArguments("invalid_metadata_schema", f"event_payload.{key}: unsupported value")
    return metadata


def blocks_text_len(node: Any) -> int:
    """UTF-16 units of every text object's text in ``node``."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            return u16len(node["text"])
        return sum(blocks_text_len(v) for v in node.values())
    if isinstance(node, list):
        return sum(blocks_text_len(v) for v in node)
    return 0


def check_blocks(blocks: Any) -> None:
    """Raise ``InvalidBlocks`` unless ``blocks`` is a message Slack would accept."""
    if not isinstance(blocks, list):
        raise InvalidBlocks("blocks must be a list")
    if len(blocks) > MAX_BLOCKS:
        raise InvalidBlocks(f"at most {MAX_BLOCKS} blocks")
    ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and "block_id" in b]
    if len(ids) != len(set(ids)):
        raise InvalidBlocks("block_id values must be unique in a message")
    for i, block in enumerate(blocks):
        check_block(block, f"blocks[{i}]")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        pass

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        method = parts.path[len("/api/"):] if parts.path.startswith("/api/") else ""
        if method not in READ_METHODS:   # writes are POST only (a GET must never post a message)
            self._reply(405, {"ok": False, "error": "method_not_allowed"}, method=self.path)
            return
        fault = self.server.api._take_fault()
        if fault is not None:
            status, headers, payload = fault
            self._reply(status, payload, method=method, headers=headers)
            return
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self._dispatch(method, params)

    def do_POST(self) -> None:  # noqa: N802
        api = self.server.api
        path = urlsplit(self.path).path
        if not path.startswith("/api/"):
            self._reply(404, {"ok": False, "error": "not_found"}, method=path)
            return
        method = path[len("/api/"):]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""

        fault = api._take_fault()
        if fault is not None:
            status, headers, payload = fault
            self._reply(status, payload, method=method, headers=headers)
            return

        try:
            params = self._parse(body)
        except ValueError:
            self._reply(200, {"ok": False, "error": "invalid_json"}, method=method)
            return
        self._dispatch(method, params)

    def _dispatch(self, method: str, params: dict[str, Any]) -> None:
        api = self.server.api
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else params.pop("token", None)
        if not token:
            self._reply(200, {"ok": False, "error": "not_authed"}, method=method)
            return
        if token != api.token:
            self._reply(200, {"ok": False, "error": "invalid_auth"}, method=method)
            return

        if method == "auth.test":
            self._reply(200, {"ok": True, "url": "https://socialhub-test.slack.invalid/", "team": "socialhub-test",
                              "user": "socialhub-bot", "team_id": "T0TEST0001", "user_id": "U0TEST0001",
                              "bot_id": "B0TEST0001"}, method=method)
        elif method == "chat.postMessage":
            self._post_message(params)
        elif method == "conversations.list":
            self._list_channels(params)
        elif method == "conversations.history":
            self._history(params)
        else:
            self._reply(200, {"ok": False, "error": "unknown_method"}, method=method)

    def _parse(self, body: bytes) -> dict[str, Any]:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
            data = json.loads(body.decode("utf-8", "surrogatepass") or "{}")
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            return data
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        params: dict[str, Any] = {k: v[-1] for k, v in form.items()}
        if isinstance(params.get("blocks"), str):
            params["blocks"] = json.loads(params["blocks"])   # form-encoded blocks are a JSON string
        return params

    def _post_message(self, params: dict[str, Any]) -> None:
        api = self.server.api
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel or (api.channels is not None and channel not in api.channels):
            self._reply(200, {"ok": False, "error": "channel_not_found"}, method="chat.postMessage")
            return
        text, blocks = params.get("text"), params.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                blocks = None
                self._reply(200, {"ok": False, "error": "invalid_blocks_format"}, method="chat.postMessage")
                return
        if not text and not blocks:
            self._reply(200, {"ok": False, "error": "no_text"}, method="chat.postMessage")
            return
        if text is not None and (not isinstance(text, str) or u16len(text) > MESSAGE_TEXT_MAX):
            self._reply(200, {"ok": False, "error": "msg_too_long"}, method="chat.postMessage")
            return
        if isinstance(text, str) and _has_lone_surrogate(text):
            self._reply(200, {"ok": False, "error": "invalid_arguments"}, method="chat.postMessage",
                        detail="text contains a lone surrogate")
            return
        if blocks is not None:
            try:
                check_blocks(blocks)
            except InvalidBlocks as exc:
                self._reply(200, {"ok": False, "error": "invalid_blocks", "errors": [str(exc)]},
                            method="chat.postMessage", detail=str(exc))
                return
            if blocks_text_len(blocks) > BLOCKS_TEXT_MAX:
                self._reply(200, {"ok": False, "error": "msg_blocks_too_long"}, method="chat.postMessage",
                            detail=f"blocks hold {blocks_text_len(blocks)} characters of text (> {BLOCKS_TEXT_MAX})")
                return
        metadata = None
        if params.get("metadata") is not None:
            try:
                metadata = check_metadata(params["metadata"])
            except InvalidArguments as exc:
                self._reply(200, {"ok": False, "error": exc.error}, method="chat.postMessage", detail=str(exc))
                return
        ts = api._next_ts()
        resolved = api.channel_id(channel)
        with api._lock:
            api.messages.append(Message(channel=channel, text=text, blocks=blocks, ts=ts, metadata=metadata,
                                        params={k: v for k, v in params.items()
                                                if k not in ("text", "blocks", "metadata")}))
        self._reply(200, {"ok": True, "channel": resolved, "ts": ts,
                          "message": {"type": "message", "text": text or "", "ts": ts}}, method="chat.postMessage")

    # -- reading ------------------------------------------------------------------------------
    def _int_param(self, params: dict[str, Any], name: str, default: int, maximum: int) -> int:
        raw = params.get(name, default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise InvalidArguments("invalid_arguments", f"{name} must be an integer") from None
        if not 1 <= value <= maximum:   # Slack clamps some; refusing is stricter
            raise InvalidArguments("invalid_limit", f"{name} must be 1..{maximum}")
        return value

    @staticmethod
    def _bool_param(params: dict[str, Any], name: str) -> bool:
        raw = params.get(name, False)
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("1", "true"):
            return True
        if str(raw).lower() in ("", "0", "false"):
            return False
        raise InvalidArguments("invalid_arguments", f"{name} must be a boolean")

    @staticmethod
    def _cursor(params: dict[str, Any]) -> int:
        raw = params.get("cursor") or ""
        if not raw:
            return 0
        try:
            kind, offset = base64.b64decode(str(raw), validate=True).decode().split(":")
            if kind != "next":
                raise ValueError(kind)
            return int(offset)
        except (ValueError, UnicodeDecodeError):
            raise InvalidArguments("invalid_cursor", "cursor was not issued by this server") from None

    @staticmethod
    def _next_cursor(offset: int) -> str:
        return base64.b64encode(f"next:{offset}".encode()).decode()

    def _list_channels(self, params: dict[str, Any]) -> None:
        api = self.server.api
        try:
            types = {t.strip() for t in str(params.get("types") or "public_channel").split(",")}
            if not types <= CHANNEL_TYPES:
                raise InvalidArguments("invalid_types", f"unknown types {sorted(types - CHANNEL_TYPES)}")
            limit = self._int_param(params, "limit", 100, LIST_LIMIT_MAX)
            start = self._cursor(params)
            self._bool_param(params, "exclude_archived")
        except InvalidArguments as exc:
            self._reply(200, {"ok": False, "error": exc.error}, method="conversations.list", detail=str(exc))
            return
        names = api.channel_names()
        page = names[start:start + limit]
        more = start + limit < len(names)
        channels = [{"id": api.channel_id(n), "name": n[1:] if n.startswith("#") else n, "is_channel": True,
                     "is_private": False, "is_archived": False, "is_member": True} for n in page]
        self._reply(200, {"ok": True, "channels": channels,
                          "response_metadata": {"next_cursor": self._next_cursor(start + limit) if more else ""}},
                    method="conversations.list")

    def _history(self, params: dict[str, Any]) -> None:
        api = self.server.api
        channel = params.get("channel")
        ids = {api.channel_id(n) for n in api.channel_names()}
        # Slack takes a channel *id* here; "#name" is channel_not_found (unless this server answered
        # that name as the id in the first place, for channels it was given no id for).
        if not isinstance(channel, str) or channel not in ids:
            self._reply(200, {"ok": False, "error": "channel_not_found"}, method="conversations.history",
                        detail=f"not a channel id: {channel!r}")
            return
        try:
            limit = self._int_param(params, "limit", 100, HISTORY_LIMIT_MAX)
            start = self._cursor(params)
            with_metadata = self._bool_param(params, "include_all_metadata")
            inclusive = self._bool_param(params, "inclusive")
            bounds = {}
            for name in ("oldest", "latest"):
                if params.get(name) not in (None, ""):
                    if not _TS_RE.match(str(params[name])):
                        raise InvalidArguments("invalid_ts_" + name, f"{name} must be a Slack timestamp")
                    bounds[name] = float(params[name])
        except InvalidArguments as exc:
            self._reply(200, {"ok": False, "error": exc.error}, method="conversations.history", detail=str(exc))
            return

        def within(ts: float) -> bool:
            if "oldest" in bounds and (ts < bounds["oldest"] or (ts == bounds["oldest"] and not inclusive)):
                return False
            return "latest" not in bounds or ts < bounds["latest"] or (ts == bounds["latest"] and inclusive)

        with api._lock:
            found = [m for m in api.messages
                     if api.channel_id(m.channel) == channel and within(float(m.ts))
                     and (not m.params.get("thread_ts") or m.params.get("reply_broadcast") in (True, "true", "1"))]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        page = found[start:start + limit]
        more = start + limit < len(found)
        out = []
        for m in page:
            item: dict[str, Any] = {"type": "message", "user": "U0TEST0001", "bot_id": BOT_ID,
                                    "app_id": "A0TEST0001", "text": m.text or "", "ts": m.ts}
            if m.blocks:
                item["blocks"] = m.blocks
            if with_metadata and m.metadata is not None:
                item["metadata"] = m.metadata
            out.append(item)
        self._reply(200, {"ok": True, "messages": out, "has_more": more, "pin_count": 0,
                          "response_metadata": {"next_cursor": self._next_cursor(start + limit) if more else ""}},
                    method="conversations.history")

    def _reply(self, status: int, payload: dict[str, Any], *, method: str,
               headers: dict[str, str] | None = None, detail: str | None = None) -> None:
        api = self.server.api
        error = None if payload.get("ok") else payload.get("error")
        with api._lock:
            api.calls.append(Call(method=method, status=status, error=error))
            if error:
                api.errors.append({"method": method, "status": status, "error": error, "detail": detail})
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


#: Methods that read: accepted as GET (how slack_sdk sends them) or POST.
READ_METHODS = frozenset({"auth.test", "conversations.list", "conversations.history"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: SlackAPIServer


class SlackAPIServer(LoopbackServer):
    """The fake Slack Web API. Use as a context manager; ``base_url`` ends in ``/api/``.

    ``channels``: if given, only these channel names/ids exist (others get
    ``channel_not_found``); ``channel_ids`` maps a ``#name`` to the id answered back.
    """

    server_class = _Server
    handler_class = _Handler
    owner_attr = "api"
    thread_name = "fake-slack-api"

    def __init__(self, token: str = "xoxb-socialhub-test-token", *, channels: set[str] | None = None,
                 channel_ids: dict[str, str] | None = None) -> None:
        self.token = token
        self.channels = channels
        self.channel_ids = dict(channel_ids or {})
        self.messages: list[Message] = []
        self.errors: list[dict[str, Any]] = []
        self.calls: list[Call] = []
        self._faults: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self._down: tuple[int, dict[str, str], dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self._ts = 1_700_000_000_000_000

    def reset(self) -> None:
        """Forget recorded messages, errors, calls and pending faults; all channels exist again."""
        with self._lock:
            self.messages.clear()
            self.errors.clear()
            self.calls.clear()
            self._faults.clear()
            self._down = None
            self.channels = None

    def channel_id(self, name: str) -> str:
        """The id this server answers for a channel: ``channel_ids[name]``, else the name itself."""
        return self.channel_ids.get(name, name)

    def channel_names(self) -> list[str]:
        """Every channel this server knows: given ids, allowed channels, and those posted to."""
        with self._lock:
            names = set(self.channel_ids) | set(self.channels or ()) | {m.channel for m in self.messages}
        return sorted(names)

    def forget(self, ts: str) -> None:
        """Delete one message (as if it had never been posted)."""
        with self._lock:
            self.messages[:] = [m for m in self.messages if m.ts != ts]

    # -- fault injection -------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 500, error: str = "internal_error") -> None:
        """The next ``n`` requests (any method) get HTTP ``status`` with ``{"ok": false}``."""
        with self._lock:
            self._faults.extend([(status, {}, {"ok": False, "error": error})] * n)

    def rate_limit_next(self, n: int = 1, retry_after: int = 1) -> None:
        """The next ``n`` requests get HTTP 429, ``Retry-After: retry_after``, ``ratelimited``."""
        with self._lock:
            self._faults.extend([(429, {"Retry-After": str(retry_after)}, {"ok": False, "error": "ratelimited"})] * n)

    def fail_all(self, status: int = 500, error: str = "internal_error", *,
                 headers: dict[str, str] | None = None) -> None:
        """Every request fails with HTTP ``status`` (and ``headers``) until ``reset``: Slack is down."""
        with self._lock:
            self._down = (status, dict(headers or {}), {"ok": False, "error": error})

    def _take_fault(self) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        with self._lock:
            if self._faults:
                return self._faults.pop(0)
            return self._down

    def _next_ts(self) -> str:
        with self._lock:
            self._ts += 100
            return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    # -- lifecycle (start/stop/port: LoopbackServer) ------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"




