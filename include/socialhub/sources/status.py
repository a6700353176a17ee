"""Is a collected post still up? The answer a re-check gives, with the evidence that decided it.

Every connector has ``check_post(post) -> PostStatus`` (see ``Connector.check_post``). It asks the
platform's documented single-item endpoint about one post and answers one of:

    online       the platform serves the post to the public
    removed      deleted by the platform or by its author: 404/410 on the item, or the
                 platform's documented "deleted" marker (Reddit ``removed_by_category``,
                 YouTube ``uploadStatus: rejected|deleted``, Bluesky ``notFoundPost``, ...)
    unavailable  the post cannot be seen because its account is suspended, deleted or
                 private (X "Authorization Error", Mastodon ``suspended``, Bluesky
                 ``AccountTakedown``, a YouTube private video, a Telegram channel gone)
    restricted   the platform serves it only to some: geo-withheld (X ``withheld``, YouTube
                 ``regionRestriction``), age-gated (YouTube ``ytAgeRestricted``), quarantined
                 (Reddit), shown to logged-in users only (Bluesky ``!no-unauthenticated``)
    error        the check itself failed (5xx, timeout, 429, bad credentials, an answer that
                 could not be read): nothing is known, and it is NEVER reported as removed

``evidence`` names what decided (``http_status``, ``field`` and ``value``, the endpoint), so an
officer can put it in a referral file; ``checked_at`` is the connector's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

POST_STATUSES = ("online", "removed", "unavailable", "restricted", "error")


@dataclass(frozen=True, slots=True)
class PostRef:
    """What a check needs to find a post: its platform id, the watched account and its URL."""

    post_id: str
    account: str = ""
    url: str = ""

    @classmethod
    def of(cls, post: Mapping[str, Any] | str | PostRef, account: str = "") -> PostRef:
        """A stored post (``Post.to_dict()``), a ``PostRef`` or a bare post id."""
        if isinstance(post, PostRef):
            return post
        if isinstance(post, str):
            return cls(post.strip(), account)
        return cls(str(post.get("post_id") or ""), str(post.get("account") or account), str(post.get("url") or ""))


@dataclass(frozen=True, slots=True)
class PostStatus:
    platform: str
    post_id: str
    status: str                       # one of POST_STATUSES
    reason: str                       # one line, for an officer
    checked_at: str
    http_status: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)   # {"endpoint", "field", "value", ...}

    def __post_init__(self) -> None:
        if self.status not in POST_STATUSES:
            raise ValueError(f"unknown post status {self.status!r}; known: {', '.join(POST_STATUSES)}")

    @property
    def transient(self) -> bool:
        """True when nothing is known (retry later); never true for a decided status."""
        return self.status == "error"

    def to_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "post_id": self.post_id, "status": self.status, "reason": self.reason,
                "checked_at": self.checked_at, "http_status": self.http_status, "evidence": dict(self.evidence)}


def check_posts(posts: Iterable[Mapping[str, Any]], connector_for: Callable[[str], Any], *,
                checked_at: str = "") -> list[PostStatus]:
    """Check stored posts (dicts with ``platform``, ``post_id``, ``account``, ``url``) in order, one
    connector per platform from ``connector_for(platform)`` (e.g. the collection DAG's factory).
    Never raises for one post: a platform whose connector cannot be built, or a check that
    raises anything unexpected, gives ``error`` for that post and the others are still checked.
    Once a platform answers ``RateLimited`` (beyond what the client may wait), its remaining posts
    are ``error`` without a request: checks are not worth hammering a limit for."""
    connectors: dict[str, Any] = {}
    paused: dict[str, PostStatus] = {}      # platform -> the rate-limited answer that paused it
    results: list[PostStatus] = []
    for post in posts:
        platform = str(post.get("platform") or "")
        ref = PostRef.of(post)
        if platform in paused:   # rate limited: the rest of this platform waits for the next run
            first = paused[platform]
            results.append(PostStatus(platform, ref.post_id, "error", "not checked: the platform rate limited this "
                                      "run", first.checked_at, None, {"error_type": "RateLimited",
                                                                      **{k: v for k, v in first.evidence.items()
                                                                         if k == "retry_at"}}))
            continue
        try:
            if platform not in connectors:
                connectors[platform] = connector_for(platform)
            result = connectors[platform].check_post(post)
            results.append(result)
            if result.evidence.get("error_type") == "RateLimited":
                paused[platform] = result
        except Exception as exc:  # noqa: BLE001 - one post's trouble never stops a re-check run
            results.append(PostStatus(platform or "?", ref.post_id or "?", "error",
                                      f"not checked: {type(exc).__name__}: {str(exc)[:200]}", checked_at, None,
                                      {"error_type": type(exc).__name__}))
    return results


__all__ = ["POST_STATUSES", "PostRef", "PostStatus", "check_posts"]
