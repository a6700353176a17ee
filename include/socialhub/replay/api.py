"""What every emulated platform API in the replay server shares.

A platform is one ``PlatformAPI`` subclass (``mastodon.py``, ``bluesky.py``, ``youtube.py``,
``x.py``, ``reddit.py``, ``telegram.py``, ``rss.py``) registered in ``server.PLATFORM_APIS``; the
server gives it its own path prefix (``/<platform>``), its own rate-limit window and its own
fault queue. A platform decides how a request is authorised (``authorized``: Bearer header by
default, YouTube's ``key=``), what it costs against the window (``request_cost``: YouTube's RSS
feed is free) and what an exhausted window answers (``exhausted``: YouTube's quotaExceeded 403).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from socialhub.replay.media import media_key

Clock = Callable[[], datetime]

# Keys a post entry (demo YAML or ``add_post``) may carry. Unknown keys are an error, so a typo
# in the demo data fails loudly instead of silently producing a different post.
POST_KEYS = frozenset({
    "text", "age", "media", "link", "label", "reply_to", "repost", "cw",
    "title",                     # YouTube video / Reddit submission / feed item title
    "kind",                      # Reddit: "post" (default) or "comment"
    "subreddit",                 # Reddit: where a post or comment was made (default: the user's profile)
    "drop", "override",          # deliberately malformed items for the data-quality stage
    "removed",                   # the post was deleted after collection could have seen it: never served again
    "expect", "note",            # documentation only: expected classifier categories / why the post exists
})


@dataclass(slots=True)
class Request:
    method: str
    path: str                       # inside the platform prefix, e.g. ``/api/v1/accounts/lookup``
    query: dict[str, str]           # last value wins
    headers: Mapping[str, str]
    base_url: str                   # ``http://host:port/<platform>`` as the client addressed it
    body: bytes = b""               # a POST's body (Reddit's token endpoint is the only POST served)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def header(req: Request, name: str) -> str | None:
    """A request header, whatever the case the client sent its name in."""
    lower = name.lower()
    return next((v for k, v in req.headers.items() if k.lower() == lower), None)


def json_response(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return Response(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


class RateWindow:
    """A fixed window of ``limit`` requests that refills ``window`` seconds after it started."""

    def __init__(self, limit: int, window: float, now: datetime) -> None:
        self.limit = limit
        self.window = window
        self.remaining = limit
        self.reset_at = now + timedelta(seconds=window)

    def refresh(self, now: datetime) -> None:
        if now >= self.reset_at:
            self.remaining = self.limit
            self.reset_at = now + timedelta(seconds=self.window)

    def take(self, now: datetime) -> bool:
        """Consume one request; False when the window is exhausted (the caller answers 429)."""
        self.refresh(now)
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


class PlatformAPI:
    """Base class of an emulated platform. Subclasses implement the public read API."""

    platform: ClassVar[str] = ""
    default_limit: ClassVar[int] = 300
    default_window: ClassVar[float] = 300.0
    content_type: ClassVar[str] = "application/json; charset=utf-8"   # of injected fault bodies

    def __init__(self, spec: Mapping[str, Any], *, now: Clock) -> None:
        self.now = now
        self.limit = self.default_limit              # the server's rate window for this platform
        self.window_seconds = self.default_window
        self._removed_at_load: list[str] = []        # posts the data marks ``removed: true``
        # media URL (``media.media_key``) -> media spec, for the server's capture gateway (``/cdn``);
        # the server replaces it with one registry shared by all platforms (``share_media_registry``)
        self.media_registry: dict[str, Any] = {}

    def media_url(self, url: str, spec: Any) -> str:
        """Register ``url`` as serving ``spec`` (a demo ``media`` item: file name or ``{file, ...}``,
        see ``replay.media``) through the server's capture gateway, and return ``url`` unchanged.
        Every media URL an emulation emits goes through here when it is made."""
        self.media_registry[media_key(url)] = spec
        return url

    def share_media_registry(self, registry: dict[str, Any]) -> None:
        """Use ``registry`` (the server's, shared by all platforms) from now on, keeping what was
        registered while the demo posts were loaded."""
        registry.update(self.media_registry)
        self.media_registry = registry

    def handle(self, req: Request) -> Response:  # pragma: no cover - interface
        raise NotImplementedError

    def add_post(self, account: str, post: Mapping[str, Any]) -> dict[str, Any]:  # pragma: no cover
        """Add a post (same keys as the demo YAML) and return the API item as served."""
        raise NotImplementedError

    def accounts(self) -> list[str]:  # pragma: no cover - interface
        """The handles a connector would be configured with."""
        raise NotImplementedError

    # -- account and post states (post status checks and source health) -----------------------

    def remove_post(self, post_id: str) -> None:  # pragma: no cover - interface
        """Delete a post: timelines stop listing it and its single-item endpoint answers the
        platform's "not found" shape. ``KeyError`` for an unknown id."""
        raise NotImplementedError(f"{self.platform}: remove_post is not emulated")

    def suspend_account(self, account: str) -> None:  # pragma: no cover - interface
        """Suspend an account the way the platform shows it (each platform's documented shape)."""
        raise NotImplementedError(f"{self.platform}: suspend_account is not emulated")

    def rename_account(self, account: str, new_name: str) -> None:  # pragma: no cover - interface
        """Change an account's handle: the old one stops resolving, the new one serves the posts."""
        raise NotImplementedError(f"{self.platform}: rename_account is not emulated")

    def move_account(self, account: str, target: str) -> None:  # pragma: no cover - interface
        """Mastodon only: the account moved to ``target`` (``Account.moved``)."""
        raise NotImplementedError(f"{self.platform}: account moves are Mastodon's (Account.moved)")

    def apply_states(self, spec: Mapping[str, Any]) -> None:
        """Demo data: ``removed: true`` on a post, ``suspended: true`` / ``renamed_to: NAME`` on an
        account (``moved_to: ACCT`` on Mastodon). Applied after every post is loaded."""
        for post_id in self._removed_at_load:
            self.remove_post(post_id)
        self._removed_at_load.clear()
        for group in ("accounts", "channels", "feeds"):
            for entry in spec.get(group) or []:
                if not isinstance(entry, Mapping):
                    continue
                name = next((str(entry[k]) for k in ("username", "handle", "name", "url", "id") if entry.get(k)), "")
                if entry.get("suspended"):
                    self.suspend_account(name)
                if entry.get("moved_to"):
                    self.move_account(name, str(entry["moved_to"]))
                if entry.get("renamed_to"):
                    self.rename_account(name, str(entry["renamed_to"]))

    def note_removed(self, post: Mapping[str, Any], post_id: str) -> None:
        """``add_post`` calls this: a post marked ``removed: true`` is removed once loading ends."""
        if post.get("removed"):
            self._removed_at_load.append(post_id)

    def rate_headers(self, window: RateWindow, *, remaining: int | None = None,
                     reset_at: datetime | None = None) -> dict[str, str]:  # pragma: no cover
        raise NotImplementedError

    def accepts(self, req: Request) -> bool:
        """Whether the method is served for ``req`` (read-only APIs: GET only)."""
        return req.method == "GET"

    def public(self, req: Request) -> bool:
        """True for an endpoint that needs no token and costs no rate limit (an OAuth token endpoint)."""
        return False

    def authorized(self, req: Request, token: str) -> bool:
        """True when ``req`` carries ``token`` the way the platform expects (Bearer by default)."""
        return req.headers.get("Authorization") == f"Bearer {token}"

    def request_cost(self, req: Request) -> int:
        """How much of the rate-limit window ``req`` uses (0 = free)."""
        return 1

    def exhausted(self, window: RateWindow) -> Response:
        """The answer when the window is used up."""
        return self.too_many_requests()

    def error(self, status: int, message: str) -> Response:
        return json_response(status, {"error": message})

    def too_many_requests(self) -> Response:
        return self.error(429, "Too many requests")

    def unauthorized(self) -> Response:
        return self.error(401, "The access token is invalid")


# --------------------------------------------------------------------------------------------
# Helpers for building realistic data
# --------------------------------------------------------------------------------------------

_AGE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.I)
_UNIT = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_age(value: Any) -> timedelta:
    """``"2h"``, ``"1d12h"``, ``"90s"``, ``"now"`` or a number of seconds -> timedelta."""
    if value is None or value == "now":
        return timedelta(0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    text = str(value).strip().replace(" ", "")
    if text in ("", "0"):
        return timedelta(0)
    if not re.fullmatch(r"(?:\d+(?:\.\d+)?[wdhms])+", text, re.I):
        raise ValueError(f"bad age {value!r}: use e.g. 30m, 2h, 1d12h, 90s or now")
    return timedelta(seconds=sum(float(n) * _UNIT[u.lower()] for n, u in _AGE_RE.findall(text)))


def check_post_keys(post: Mapping[str, Any], where: str) -> None:
    unknown = set(post) - POST_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(POST_KEYS)}")


def apply_malformations(obj: dict[str, Any], post: Mapping[str, Any]) -> None:
    """``drop: [field, ...]`` removes top-level fields, ``override: {field: value}`` replaces them."""
    for key in post.get("drop") or []:
        obj.pop(key, None)
    obj.update(dict(post.get("override") or {}))


def iso_ms(dt: datetime) -> str:
    """``2026-08-01T13:52:34.108Z``, the way both platforms print times."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def text_response(status: int, body: str, content_type: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, body.encode("utf-8"), {"Content-Type": content_type, **(headers or {})})


def b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()


def b64id(length: int, *parts: str) -> str:
    """A URL-safe base64 id of ``length`` characters derived from ``parts`` (YouTube-style)."""
    return base64.urlsafe_b64encode(digest(*parts)).decode("ascii")[:length]


def base36(number: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = chars[rem] + out
        if not number:
            return out


def retry_after_seconds(window: RateWindow, now: datetime) -> str:
    """Whole seconds until the window resets, at least 1 (for Retry-After)."""
    return str(max(1, int((window.reset_at - now).total_seconds() + 0.999)))
