"""The interface every platform connector implements.

A connector turns one watched account's public posts, newer than a stored cursor, into
``Post`` records plus the raw API items they came from (kept as evidence). It never
stores anything and never moves a cursor itself: it *returns* the cursor that the caller
persists only after the batch is durably stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from socialhub.errors import AuthError, ConnectorError, RateLimited
from socialhub.models import Post, utc_iso
from socialhub.sources.status import PostRef, PostStatus


@dataclass(slots=True)
class FetchResult:
    posts: list[Post]
    raw_items: list[Any]          # parallel to ``posts``: the item each post was normalised from
    cursor: dict[str, Any]        # the new cursor, to persist after the batch is stored
    pages: int = 0
    notes: list[str] = field(default_factory=list)   # e.g. "stopped at max_pages", "reached look-back horizon"
    units: int = 0                # API quota units spent (YouTube Data API); 0 where there is no unit quota
    # the account's handle as this poll saw it, when it differs from the watched one (a rename the
    # platform follows by id, so collection goes on): "" = seen and unchanged, None = not seen
    renamed_to: str | None = None


@dataclass(slots=True)
class ConnectorConfig:
    base_url: str
    token: str | None = field(default=None, repr=False)   # never in reprs/logs
    # an OAuth app's client credentials (Reddit): exchanged for short-lived access tokens
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    lookback: timedelta = timedelta(days=7)
    max_pages: int = 10
    page_size: int = 40
    timeout: float = 10.0
    max_wait: float = 30.0        # longest in-run sleep for a rate-limit reset; longer -> RateLimited
    extra: dict[str, Any] = field(default_factory=dict)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Connector:
    """Base class. Subclasses set ``platform`` and implement ``fetch``."""

    platform: ClassVar[str] = ""

    def __init__(self, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.config = config
        self.now = now
        self.sleep = sleep

    def fetch(self, account: str, cursor: dict[str, Any] | None) -> FetchResult:  # pragma: no cover - interface
        raise NotImplementedError

    # -- post status checks (see socialhub.sources.status) -------------------------------------

    def check_post(self, post: Mapping[str, Any] | str | PostRef, *, account: str = "") -> PostStatus:
        """Is this post still up? ``post`` is a stored post (``Post.to_dict()``: ``post_id``,
        ``account``, ``url``), a ``PostRef`` or a bare post id (then pass ``account``).

        Never raises for a platform's answer: every failure of the check itself (5xx, timeout,
        429, credentials, an unreadable answer) is ``status="error"``, never ``removed``."""
        ref = PostRef.of(post, account)
        if not ref.post_id:
            return self.post_status(ref, "error", "no post id to check")
        try:
            return self._check_post(ref)
        except RateLimited as exc:
            return self.post_status(ref, "error", f"rate limited, not checked: {exc.message}", http_status=exc.status,
                                    error_type="RateLimited",
                                    retry_at=utc_iso(exc.retry_at) if exc.retry_at else None)
        except AuthError as exc:
            return self.post_status(ref, "error", f"credentials refused, not checked: {exc.message}",
                                    http_status=exc.status, error_type="AuthError")
        except ConnectorError as exc:
            return self.post_status(ref, "error", f"check failed, status unknown: {exc.message}",
                                    http_status=exc.status, error_type=type(exc).__name__)

    def _check_post(self, ref: PostRef) -> PostStatus:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} has no post status check")

    def post_status(self, ref: PostRef, status: str, reason: str, *, http_status: int | None = None,
                    **evidence: Any) -> PostStatus:
        """A ``PostStatus`` for ``ref`` checked now; ``evidence`` keeps only the values that are set."""
        return PostStatus(self.platform, ref.post_id, status, reason, utc_iso(self.now()), http_status,
                          {k: v for k, v in evidence.items() if v is not None})


class ErrorCapture:
    """Remembers the status and parsed body of the last 4xx an ``HttpClient`` mapped to an error,
    so a post check can tell the platform's "not found" (the post is gone) from everything else.
    Install with ``capture_errors(http)``; the client's own error mapping still applies."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.body: Any = None

    def clear(self) -> None:
        self.status, self.body = None, None

    def gone(self) -> bool:
        return self.status in (404, 410)

    def field(self, name: str) -> str:
        return str(self.body.get(name) or "") if isinstance(self.body, dict) else ""


def capture_errors(http: Any) -> ErrorCapture:
    capture = ErrorCapture()
    inner = http.error_hook

    def hook(status: int, body: Any) -> Any:
        capture.status, capture.body = status, body
        return inner(status, body) if inner else None

    http.error_hook = hook
    return capture
