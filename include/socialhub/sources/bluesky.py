"""Bluesky: one account's public feed via ``app.bsky.feed.getAuthorFeed`` (XRPC).

The feed is newest first and pages with an opaque ``cursor`` that is passed back unchanged;
there is no "since" parameter, so the connector walks backwards until it meets something it
already has. The cursor it returns remembers the newest item (``newest_uri``, ``newest_time``)
and the ids of the most recent items (``known_uris``): paging stops at the first item whose id
is known or whose time is older than ``newest_time``, at the look-back horizon on a first run,
at the end of the feed, or at ``max_pages`` (see ``FetchResult.notes``).

An item's time is the repost time for reposts (``reason.indexedAt``), else ``post.indexedAt``
(falling back to ``record.createdAt``): that is close to how the AppView orders the feed, and
``indexedAt`` cannot be back-dated by a client the way ``createdAt`` can.

The public AppView (``https://public.api.bsky.app``) needs no token; one is sent when configured.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError, MalformedResponse, RateLimited
from socialhub.models import Post, parse_iso, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult, capture_errors, utcnow
from socialhub.sources.common import pagination_stalled
from socialhub.sources.http import HttpClient
from socialhub.sources.status import PostRef, PostStatus

FEED_PATH = "/xrpc/app.bsky.feed.getAuthorFeed"
MAX_LIMIT = 100          # getAuthorFeed accepts limit 1..100
KNOWN_URIS_KEPT = 50     # how many recent ids the cursor remembers

_AUTH_ERRORS = {"AuthenticationRequired", "AuthMissing", "ExpiredToken", "InvalidToken"}
_UNAVAILABLE_ERRORS = {"AccountTakedown", "AccountDeactivated", "BlockedActor", "BlockedByActor",
                       "ActorNotFound", "NotFound", "RepoNotFound", "RepoTakendown", "RepoDeactivated"}
_UNAVAILABLE_MESSAGES = ("profile not found", "actor not found", "could not find", "unable to resolve")


THREAD_PATH = "/xrpc/app.bsky.feed.getPostThread"
PROFILE_PATH = "/xrpc/app.bsky.actor.getProfile"


def xrpc_reason(error: str, message: str) -> str | None:
    """An XRPC error about an account -> ``AccountUnavailable.reason``."""
    text = message.lower()
    if error in ("AccountTakedown", "RepoTakendown") or "takedown" in text or "taken down" in text:
        return "suspended"
    if error in ("AccountDeactivated", "RepoDeactivated") or "deactivated" in text:
        return "deleted"
    if error in ("BlockedActor", "BlockedByActor"):
        return "private"
    if error in ("ActorNotFound", "NotFound", "RepoNotFound") or any(m in text for m in _UNAVAILABLE_MESSAGES):
        return "not_found"
    return None


def own_did(items: list[Any], actor: str) -> str:
    """The watched account's DID, read from its own (not reposted) posts in a feed page."""
    for item in items:
        author = _d(_d(_d(item).get("post")).get("author"))
        if not is_repost(item) and (_str(author.get("handle")).lower() == actor.lower() or _str(author.get("did")) == actor):
            return _str(author.get("did"))
    return ""


def xrpc_error_class(status: int, body: Any) -> type[ConnectorError] | None:
    """Map XRPC error bodies ``{"error": name, "message": text}`` to our exceptions.

    Needed because the AppView answers 400 ``InvalidRequest: Profile not found`` for a missing
    account and 400 ``ExpiredToken`` for a stale session, which plain status mapping gets wrong.
    """
    if not isinstance(body, dict):
        return None
    name = str(body.get("error") or "")
    message = str(body.get("message") or "").lower()
    if name in _AUTH_ERRORS:
        return AuthError
    if name in _UNAVAILABLE_ERRORS:
        return AccountUnavailable
    if name == "InvalidRequest" and any(m in message for m in _UNAVAILABLE_MESSAGES):
        return AccountUnavailable
    if name == "RateLimitExceeded":
        return RateLimited
    return None


# --------------------------------------------------------------------------------------------
# Normalisation (pure functions)
# --------------------------------------------------------------------------------------------

def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _reason_type(item: dict[str, Any]) -> str:
    return _str(_d(item.get("reason")).get("$type"))


def is_repost(item: Any) -> bool:
    return _reason_type(_d(item)).endswith("#reasonRepost")


def is_pin(item: Any) -> bool:
    return _reason_type(_d(item)).endswith("#reasonPin")


def item_id(item: Any, account: str) -> str:
    """The post's at:// uri; a repost gets its own id so it never collides with the original."""
    item = _d(item)
    uri = _str(_d(item.get("post")).get("uri"))
    if is_repost(item) and uri:
        by = _d(_d(item.get("reason")).get("by"))
        return f"{uri}#repost-by-{_str(by.get('did')) or account}"
    return uri


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def item_time(item: Any) -> datetime | None:
    """Repost time for reposts, else indexedAt, else record.createdAt (see module docstring)."""
    item = _d(item)
    post = _d(item.get("post"))
    if is_repost(item):
        t = _parse_time(_d(item.get("reason")).get("indexedAt"))
        if t is not None:
            return t
    return _parse_time(post.get("indexedAt")) or _parse_time(_d(post.get("record")).get("createdAt"))


def embed_media(embed: Any) -> list[str]:
    """Media URLs of an embed *view*: image fullsize (or thumb), video playlist (or thumbnail),
    external-link card thumb, and the media half of recordWithMedia. Quoted posts are someone
    else's content and contribute nothing."""
    embed = _d(embed)
    kind = _str(embed.get("$type")).split("#")[0]
    urls: list[str] = []
    if kind == "app.bsky.embed.images":
        for img in embed.get("images") or []:
            url = _d(img).get("fullsize") or _d(img).get("thumb")
            if isinstance(url, str) and url:
                urls.append(url)
    elif kind == "app.bsky.embed.video":
        url = embed.get("playlist") or embed.get("thumbnail")
        if isinstance(url, str) and url:
            urls.append(url)
    elif kind == "app.bsky.embed.external":
        thumb = _d(embed.get("external")).get("thumb")
        if isinstance(thumb, str) and thumb:
            urls.append(thumb)
    elif kind == "app.bsky.embed.recordWithMedia":
        urls.extend(embed_media(embed.get("media")))
    return urls


def _iso_or_raw(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        return ""
    t = _parse_time(value)
    return utc_iso(t) if t else value


def post_url(handle: str, did: str, uri: str) -> str:
    """``https://bsky.app/profile/{handle}/post/{rkey}`` (the DID when the handle is invalid)."""
    if not uri.startswith("at://") or "/app.bsky.feed.post/" not in uri:
        return ""
    who = handle if handle and handle != "handle.invalid" else did
    return f"https://bsky.app/profile/{who}/post/{uri.rsplit('/', 1)[-1]}" if who else ""


def normalise_feed_item(item: Any, account: str, collected_at: str) -> Post:
    """One ``feedViewPost`` -> Post. A repost keeps the original's text, media, url and author;
    ``created_at`` is the repost time and ``repost_of`` the original's uri."""
    item_d = _d(item)
    post = _d(item_d.get("post"))
    record = _d(post.get("record"))
    author = _d(post.get("author"))
    uri = _str(post.get("uri"))
    repost = is_repost(item_d)
    created = _d(item_d.get("reason")).get("indexedAt") if repost else record.get("createdAt")
    parent = _d(_d(record.get("reply")).get("parent")).get("uri")
    return Post(
        platform="bluesky",
        account=account,
        post_id=item_id(item_d, account),
        url=post_url(_str(author.get("handle")), _str(author.get("did")), uri),
        author=_str(author.get("handle")),
        text=_str(record.get("text")),
        created_at=_iso_or_raw(created),
        collected_at=collected_at,
        media=embed_media(post.get("embed")),
        raw_sha256=raw_sha256(item),
        reply_to=_str(parent) or None,
        repost_of=(uri or None) if repost else None,
    )


def _precise(dt: datetime) -> str:
    """Cursor times keep microseconds: second precision would blur items a few ms apart."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------
# Connector
# --------------------------------------------------------------------------------------------

class BlueskyConnector(Connector):
    """Collect one Bluesky account's feed items (posts, replies, reposts) newer than the cursor.

    Cursor: ``{"newest_uri": id, "newest_time": ISO, "known_uris": [recent ids, newest first]}``.
    """

    platform = "bluesky"

    def __init__(self, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config, now=now, sleep=sleep)
        self.transport = transport

    def client(self, account: str) -> HttpClient:
        return HttpClient(self.config, platform=self.platform, account=account, now=self.now,
                          sleep=self.sleep, transport=self.transport, error_hook=xrpc_error_class)

    def fetch(self, account: str, cursor: dict[str, Any] | None) -> FetchResult:
        actor = account.strip().lstrip("@")
        if not actor:
            raise ConnectorError(self.platform, account, "empty account handle",
                                 hint="fix the watchlist entry: use a handle (name.bsky.social) or a DID")
        cursor = cursor or {}
        newest_uri = _str(cursor.get("newest_uri")) or None
        stored_time = _parse_time(cursor.get("newest_time"))
        known = {u for u in (cursor.get("known_uris") or []) if isinstance(u, str)}
        if newest_uri:
            known.add(newest_uri)
        first_run = not known and stored_time is None
        horizon = self.now() - self.config.lookback if first_run else None

        params: dict[str, Any] = {"actor": actor, "limit": max(1, min(self.config.page_size, MAX_LIMIT))}
        items: list[Any] = []
        ids: list[str] = []
        times: list[datetime | None] = []
        pages = 0
        stop: str | None = None
        with self.client(account) as http:
            capture = capture_errors(http)
            while True:
                if pages >= self.config.max_pages:
                    stop = (f"stopped at max_pages={self.config.max_pages}; older items "
                            + ("since the previous run were NOT collected" if not first_run
                               else "within the look-back were not collected"))
                    break
                try:
                    data = http.get_json(FEED_PATH, params)
                except AccountUnavailable as exc:
                    raise self.diagnose(http, account, actor, _str(cursor.get("did")), exc, capture.field("error")) \
                        from None
                pages += 1
                feed = data.get("feed") if isinstance(data, dict) else None
                if not isinstance(feed, list):
                    raise MalformedResponse(self.platform, account,
                                            f"GET {FEED_PATH}: expected an object with a 'feed' list, got "
                                            f"{type(data).__name__}{' without feed' if isinstance(data, dict) else ''}")
                known_did = _str(cursor.get("did"))
                page_did = own_did(feed, actor) if pages == 1 and known_did else ""
                if page_did and page_did != known_did:
                    # the handle now belongs to another account: collecting it would watch someone else
                    raise AccountUnavailable(
                        self.platform, account, f"the handle @{actor} now belongs to another account ({page_did}); "
                        f"the watched account was {known_did}", reason="renamed",
                        hint="nothing was stored: the watched account changed its handle and another account took "
                             "the old one. Find the watched account's new handle (its DID is in the message) and "
                             "review the watchlist entry")
                for item in feed:
                    pid = item_id(item, account)
                    t = item_time(item)
                    pinned = is_pin(item)   # a pinned post sits on top out of order: never a stop marker
                    if pid and pid in known:
                        if pinned:
                            continue
                        stop = "reached an already collected post"
                        break
                    if stored_time is not None and t is not None and t < stored_time:
                        if pinned:
                            continue
                        stop = f"reached posts older than the cursor ({_precise(stored_time)})"
                        break
                    if horizon is not None and t is not None and t < horizon:
                        if pinned:
                            continue
                        stop = f"reached look-back horizon {utc_iso(horizon)}"
                        break
                    if pid and pid in ids:
                        continue
                    items.append(item)
                    ids.append(pid)
                    times.append(t)
                if stop:
                    break
                next_cursor = data.get("cursor")
                if not feed or not isinstance(next_cursor, str) or not next_cursor:
                    stop = "end of feed"
                    break
                if next_cursor == params.get("cursor"):
                    raise pagination_stalled(self.platform, account, f"feed cursor {next_cursor[:80]!r}")
                params = {**params, "cursor": next_cursor}

        collected_at = utc_iso(self.now())
        posts = [normalise_feed_item(item, account, collected_at) for item in items]
        next_cursor = self._next_cursor(cursor, ids, times)
        did = own_did(items, actor) or _str(cursor.get("did"))
        if did:
            next_cursor["did"] = did   # the account's permanent id: tells a handle change from a deletion
        return FetchResult(posts=posts, raw_items=items, cursor=next_cursor, pages=pages,
                           notes=[stop or "end of feed"])

    def diagnose(self, http: HttpClient, account: str, actor: str, did: str, exc: AccountUnavailable,
                 error: str) -> AccountUnavailable:
        """Why the feed of ``actor`` is gone. With the DID remembered from earlier polls,
        ``app.bsky.actor.getProfile?actor=<did>`` tells a handle change (same DID, another handle:
        renamed) from a takedown (suspended) or a deactivation (deleted)."""
        reason = xrpc_reason(error, exc.message)
        if did and not actor.startswith("did:"):
            capture = capture_errors(http)
            try:
                profile = http.get_json(PROFILE_PATH, {"actor": did})
            except AccountUnavailable as again:
                reason = xrpc_reason(capture.field("error"), again.message) or reason
            else:
                handle = _str(_d(profile).get("handle"))
                if handle and handle != "handle.invalid" and handle.lower() != actor.lower():
                    return AccountUnavailable(
                        self.platform, account, f"handle changed to @{handle} (same DID {did})", status=exc.status,
                        reason="renamed", moved_to=handle,
                        hint=f"the account now posts as @{handle}: update the watchlist entry (its authorisation "
                             f"still concerns the same account, {did})")
        return AccountUnavailable(self.platform, account, exc.message, status=exc.status, reason=reason or "not_found")

    def _check_post(self, ref: PostRef) -> PostStatus:
        """``app.bsky.feed.getPostThread?uri=&depth=0&parentHeight=0``: a ``threadViewPost`` is online
        (unless labelled ``!no-unauthenticated``: restricted; ``!takedown``: removed), ``notFoundPost``
        or the XRPC error ``NotFound`` is removed, ``blockedPost`` restricted; an author whose account
        is taken down or deactivated makes it unavailable."""
        uri = ref.post_id.split("#", 1)[0]   # a repost's id is the original's uri + "#repost-by-..."
        with self.client(ref.account) as http:
            capture = capture_errors(http)
            try:
                data = http.get_json(THREAD_PATH, {"uri": uri, "depth": 0, "parentHeight": 0})
            except ConnectorError as exc:
                error = capture.field("error")
                if capture.status is None or isinstance(exc, (AuthError, RateLimited)):
                    raise
                reason = xrpc_reason(error, capture.field("message"))
                detail = f"getPostThread: {error}: {capture.field('message')}".rstrip(": ")
                if reason in ("suspended", "deleted", "private"):
                    return self.post_status(ref, "unavailable", f"the author's account is unavailable ({detail})",
                                            http_status=capture.status, endpoint=THREAD_PATH, field="error", value=error)
                if error == "NotFound":
                    return self.post_status(ref, "removed", f"the post is gone ({detail})",
                                            http_status=capture.status, endpoint=THREAD_PATH, field="error", value=error)
                if error in _UNAVAILABLE_ERRORS or reason == "not_found":
                    return self.post_status(ref, "unavailable", f"the author's account is unavailable ({detail})",
                                            http_status=capture.status, endpoint=THREAD_PATH, field="error", value=error)
                raise
        thread = _d(_d(data).get("thread"))
        kind = _str(thread.get("$type"))
        if kind.endswith("#notFoundPost") or thread.get("notFound") is True:
            return self.post_status(ref, "removed", "getPostThread answered notFoundPost", http_status=200,
                                    endpoint=THREAD_PATH, field="thread.$type", value=kind or "notFound")
        if kind.endswith("#blockedPost") or thread.get("blocked") is True:
            return self.post_status(ref, "restricted", "getPostThread answered blockedPost", http_status=200,
                                    endpoint=THREAD_PATH, field="thread.$type", value=kind or "blocked")
        post = _d(thread.get("post"))
        if not post:
            raise MalformedResponse(self.platform, ref.account, f"GET {THREAD_PATH}: no thread.post")
        labels = {_str(_d(label).get("val")) for label in post.get("labels") or []}
        if "!takedown" in labels:
            return self.post_status(ref, "removed", "the post carries the moderation label !takedown", http_status=200,
                                    endpoint=THREAD_PATH, field="post.labels", value="!takedown")
        if "!no-unauthenticated" in labels:
            return self.post_status(ref, "restricted", "the author limits the post to logged-in users "
                                    "(label !no-unauthenticated)", http_status=200, endpoint=THREAD_PATH,
                                    field="post.labels", value="!no-unauthenticated")
        return self.post_status(ref, "online", "the post is served", http_status=200, endpoint=THREAD_PATH,
                                field="thread.$type", value=kind or "threadViewPost")

    @staticmethod
    def _next_cursor(old: dict[str, Any], ids: list[str], times: list[datetime | None]) -> dict[str, Any]:
        """Newest item by time (not feed position, so a pinned post cannot fake it) plus recent ids;
        items without a usable time are still remembered through ``known_uris``."""
        new: dict[str, Any] = {k: old[k] for k in ("newest_uri", "newest_time", "known_uris") if k in old}
        stored = _parse_time(old.get("newest_time"))
        best: tuple[datetime, int] | None = None
        for index, t in enumerate(times):
            if t is not None and ids[index] and (best is None or t > best[0]):
                best = (t, index)
        if best is not None and (stored is None or best[0] >= stored):
            new["newest_uri"] = ids[best[1]]
            new["newest_time"] = _precise(best[0])
        previous = [u for u in (old.get("known_uris") or []) if isinstance(u, str)]
        merged = list(dict.fromkeys([i for i in ids if i] + previous))[:KNOWN_URIS_KEPT]
        if merged:
            new["known_uris"] = merged
        return new
