"""YouTube: a channel's uploads, RSS first, Data API v3 for details (API key as ``key=``).

Quota is the constraint (10,000 units a day per project, see ``quota.py``), so every poll
starts with the channel's RSS feed (``feeds/videos.xml?channel_id=``: the latest 15 uploads,
no quota) and the API is called only when the feed shows a video not collected yet:

1. ``channels.list`` (1 unit) once per channel, to resolve a handle and find the uploads
   playlist; both are cached in the cursor;
2. the RSS feed: nothing new -> done, **0 units**;
3. new videos, and the feed reaches back to the cursor -> ``videos.list`` for just those ids
   (1 unit per 50);
4. the feed does not reach back (more than 15 uploads since the last poll, a first run with a
   long look-back, or the feed failed) -> ``playlistItems.list`` on the uploads playlist (1
   unit per 50 items) newest first down to the cursor, then ``videos.list``.

``extra["max_units"]`` caps the units one fetch may spend (the planner's reservation); when a
cap or ``max_pages`` cuts a walk short, the cursor's time marker is *not* advanced, only the
collected ids are remembered, so the next run finishes the job without re-emitting anything.
``extra["youtube_api"] = false`` collects from the feed alone (no key, no units, at most the 15
latest uploads per poll).

Errors: ``quotaExceeded`` (403) is not retried: ``RateLimited`` with ``retry_at`` = next
midnight Pacific time. An unknown/terminated channel -> ``AccountUnavailable``; a bad key ->
``AuthError``. The key travels only as a query parameter to the API origin, never to the RSS
host, and is redacted from every message (``HttpClient``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError, MalformedResponse, RateLimited
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult, utcnow
from socialhub.sources.common import Page, d, iso_or_raw, parse_time, precise, recent_ids, s, walk
from socialhub.sources.feeds import Feed, FeedEntry, FeedError, parse_feed
from socialhub.sources.http import ErrorMapping, HttpClient
from socialhub.sources.quota import PAGE_SIZE, UNIT_COSTS, next_reset
from socialhub.sources.status import PostRef, PostStatus

DEFAULT_API_BASE = "https://www.googleapis.com/youtube/v3"
DEFAULT_RSS_URL = "https://www.youtube.com/feeds/videos.xml"
RSS_ENTRIES = 15              # the feed's fixed length: fewer means it holds the whole channel
KNOWN_KEPT = 200
UNAVAILABLE_RETRY = timedelta(hours=24)
_CHANNEL_ID_RE = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_HANDLE_RE = re.compile(r"^@[A-Za-z0-9._-]{3,30}$")
_QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
_TRANSIENT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
_AUTH_REASONS = {"keyInvalid", "keyExpired", "accessNotConfigured", "ipRefererBlocked", "forbidden",
                 "PERMISSION_DENIED", "API_KEY_INVALID", "SERVICE_DISABLED"}
_GONE_REASONS = {"channelNotFound", "playlistNotFound", "videoNotFound", "notFound", "channelClosed",
                 "channelSuspended", "accountClosed", "accountSuspended"}


def google_reasons(body: Any) -> set[str]:
    """``{"error": {"errors": [{"reason"}], "status"}}`` -> the set of reasons and status."""
    err = d(d(body).get("error"))
    reasons = {s(d(e).get("reason")) for e in err.get("errors") or []}
    if err.get("status"):
        reasons.add(s(err["status"]))
    for detail in err.get("details") or []:
        if d(detail).get("reason"):
            reasons.add(s(d(detail)["reason"]))
    return {r for r in reasons if r}


def youtube_error(now: Callable[[], datetime]) -> Callable[[int, Any], ErrorMapping | None]:
    def hook(status: int, body: Any) -> ErrorMapping | None:
        reasons = google_reasons(body)
        if reasons & _QUOTA_REASONS:
            return ErrorMapping(RateLimited, retry_at=next_reset(now()),
                                hint="the project's daily YouTube quota is spent; it resets at midnight Pacific "
                                     "time. The cursor was not moved; budget polls with socialhub.sources.quota")
        if reasons & _TRANSIENT_REASONS:
            return ErrorMapping(RateLimited, retry_at=now() + timedelta(minutes=1))
        if reasons & _GONE_REASONS or status == 404:
            return ErrorMapping(AccountUnavailable)
        if reasons & _AUTH_REASONS or status in (401, 403):
            return ErrorMapping(AuthError, hint="check the API key in the socialhub_youtube Connection (password) "
                                                "and that the YouTube Data API v3 is enabled for its project")
        return None
    return hook


# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------

def best_thumbnail(thumbnails: Any) -> str:
    for size in ("maxres", "standard", "high", "medium", "default"):
        url = d(d(thumbnails).get(size)).get("url")
        if url:
            return s(url)
    return ""


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}" if video_id else ""


def normalise_video(video: Any, account: str, collected_at: str) -> Post:
    """One ``videos.list`` item -> Post: text = title + description, media = best thumbnail."""
    item = d(video)
    snippet = d(item.get("snippet"))
    vid = s(item.get("id"))
    text = "\n\n".join(p for p in (s(snippet.get("title")).strip(), s(snippet.get("description")).strip()) if p)
    thumb = best_thumbnail(snippet.get("thumbnails"))
    return Post(platform="youtube", account=account, post_id=vid, url=watch_url(vid),
                author=s(snippet.get("channelTitle")), text=text, created_at=iso_or_raw(snippet.get("publishedAt")),
                collected_at=collected_at, media=[thumb] if thumb else [], raw_sha256=raw_sha256(video))


def normalise_feed_video(entry: FeedEntry, account: str, collected_at: str) -> Post:
    """One feed entry -> Post (RSS-only mode): the same fields, from ``media:group``."""
    text = "\n\n".join(p for p in (entry.title.strip(), entry.text.strip()) if p)
    return Post(platform="youtube", account=account, post_id=entry.video_id, url=entry.link or watch_url(entry.video_id),
                author=entry.author, text=text,
                created_at=utc_iso(entry.published) if entry.published else entry.published_raw,
                collected_at=collected_at, media=list(entry.media), raw_sha256=raw_sha256(entry.raw))


def rss_endpoint(config: ConnectorConfig) -> str:
    """``extra.rss_base_url``, else the public feed URL when the API is the public one, else
    ``{base_url}/feeds/videos.xml``: a proxied or replayed API never mixes with the live site."""
    explicit = s(config.extra.get("rss_base_url")).strip()
    if explicit:
        return explicit
    if config.base_url.rstrip("/") == DEFAULT_API_BASE:
        return DEFAULT_RSS_URL
    return config.base_url.rstrip("/") + "/feeds/videos.xml"


class _UnitCap(Exception):
    """Internal: the next call would exceed ``max_units``."""


# --------------------------------------------------------------------------------------------
# connector
# --------------------------------------------------------------------------------------------

class YouTubeConnector(Connector):
    """Collect one channel's public uploads newer than the cursor, spending as few units as possible.

    Cursor: ``{"channel_id", "uploads", "title", "floor": first-run horizon, "newest_time",
    "known": [video ids, newest first], "unavailable": {video id: when last checked}}``.
    """

    platform = "youtube"

    def __init__(self, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config, now=now, sleep=sleep)
        self.transport = transport

    def api_client(self, account: str) -> HttpClient:
        return HttpClient(self.config, platform=self.platform, account=account, now=self.now, sleep=self.sleep,
                          transport=self.transport, error_hook=youtube_error(self.now), auth="query", auth_param="key")

    def rss_client(self, account: str) -> tuple[HttpClient, str]:
        url = urlsplit(rss_endpoint(self.config))
        config = dataclasses.replace(self.config, base_url=f"{url.scheme}://{url.netloc}", token=None)
        client = HttpClient(config, platform=self.platform, account=account, now=self.now, sleep=self.sleep,
                            transport=self.transport, auth="none")
        return client, url.path or "/"

    def _check_post(self, ref: PostRef) -> PostStatus:
        """``videos.list?part=status,contentDetails&id=`` (1 quota unit; one more, ``channels.list``,
        when the video is missing and the channel id is known): no item is removed, or
        unavailable when the channel itself is gone; ``status.uploadStatus`` ``rejected``/``deleted``
        /``failed`` is removed, ``status.privacyStatus: private`` unavailable,
        ``contentDetails.regionRestriction`` or ``contentRating.ytRating: ytAgeRestricted``
        restricted. ``evidence["units"]`` says what the check spent."""
        if not self.config.token and self.config.base_url.rstrip("/") == DEFAULT_API_BASE:
            raise AuthError(self.platform, ref.account, "the YouTube Data API needs an API key and none is configured")
        with self.api_client(ref.account) as http:
            body = d(http.get_json("/videos", {"part": "status,contentDetails", "id": ref.post_id}))
            # Google leaves ``items`` out of a list response that matched nothing
            items = body.get("items", [] if s(body.get("kind")).endswith("ListResponse") or "pageInfo" in body
                             else None)
            if not isinstance(items, list):
                raise MalformedResponse(self.platform, ref.account, "GET /videos: no items list")
            if not items:
                wanted = self.parse_account(ref.account) if ref.account else {}
                if wanted:
                    found = d(http.get_json("/channels", {"part": "id", **wanted})).get("items")
                    if not found:
                        return self.post_status(ref, "unavailable", f"the channel {ref.account} is gone (channels.list "
                                                "found nothing): terminated, deleted or its handle changed",
                                                http_status=200, endpoint="/channels", field="items", value=[],
                                                units=2)
                return self.post_status(ref, "removed", "videos.list returned no item for the id (deleted, or made "
                                        "private: with an API key the two look the same)", http_status=200,
                                        endpoint="/videos", field="items", value=[], units=2 if wanted else 1)
        video = d(items[0])
        status, details = d(video.get("status")), d(video.get("contentDetails"))
        evidence = {"endpoint": "/videos", "units": 1}
        upload = s(status.get("uploadStatus"))
        if upload in ("rejected", "deleted", "failed"):
            why = s(status.get("rejectionReason") or status.get("failureReason"))
            return self.post_status(ref, "removed", f"uploadStatus is {upload}{f' ({why})' if why else ''}",
                                    http_status=200, field="status.uploadStatus", value=upload, detail=why or None,
                                    **evidence)
        if s(status.get("privacyStatus")) == "private":
            return self.post_status(ref, "unavailable", "the video was made private", http_status=200,
                                    field="status.privacyStatus", value="private", **evidence)
        region = d(details.get("regionRestriction"))
        if region:
            return self.post_status(ref, "restricted", "geo-restricted: " + "; ".join(
                f"{k} in {', '.join(map(s, v))}" for k, v in region.items() if isinstance(v, list)), http_status=200,
                field="contentDetails.regionRestriction", value=region, **evidence)
        if s(d(details.get("contentRating")).get("ytRating")) == "ytAgeRestricted":
            return self.post_status(ref, "restricted", "age-restricted", http_status=200,
                                    field="contentDetails.contentRating.ytRating", value="ytAgeRestricted", **evidence)
        return self.post_status(ref, "online", "the video is served", http_status=200, field="status.privacyStatus",
                                value=s(status.get("privacyStatus")) or None, **evidence)

    @staticmethod
    def parse_account(account: str) -> dict[str, str]:
        """Channel id ``UC…``, ``@handle``, ``user:legacyname`` or a channel URL -> the
        ``channels.list`` filter that resolves it."""
        value = account.strip()
        if "://" in value:
            path = unquote(urlsplit(value).path).strip("/")
            value = path.split("/", 1)[1] if path.startswith(("channel/", "user/")) else path
            if path.startswith("user/"):
                value = "user:" + value
        if _CHANNEL_ID_RE.match(value):
            return {"id": value}
        if value.startswith("user:") and len(value) > 5:
            return {"forUsername": value[5:]}
        handle = value if value.startswith("@") else f"@{value}"
        if _HANDLE_RE.match(handle):
            return {"forHandle": handle}
        return {}

    def fetch(self, account: str, cursor: dict[str, Any] | None) -> FetchResult:
        wanted = self.parse_account(account)
        if not wanted:
            raise ConnectorError(self.platform, account, "not a channel id (UC…), @handle or channel URL",
                                 hint="use the channel id (UC + 22 characters) or its @handle in the watchlist")
        cursor = dict(cursor or {})
        use_api = self.config.extra.get("youtube_api", True) is not False
        if use_api and not self.config.token and self.config.base_url.rstrip("/") == DEFAULT_API_BASE:
            raise AuthError(self.platform, account, "the YouTube Data API needs an API key and none is configured",
                            hint="set the password of socialhub_youtube to an API key, or extra youtube_api=false "
                                 "for RSS-only collection")
        run = _Run(self, account, cursor, use_api)
        return run.execute(wanted)


class _Run:
    """One fetch: state and unit accounting in one place (kept out of the connector's API)."""

    def __init__(self, connector: YouTubeConnector, account: str, cursor: dict[str, Any], use_api: bool) -> None:
        self.c = connector
        self.account = account
        self.cursor = cursor
        self.use_api = use_api
        self.units = 0
        self.pages = 0
        self.notes: list[str] = []
        cap = connector.config.extra.get("max_units")
        self.cap: int | None = int(cap) if cap is not None else None
        self.now = connector.now()
        self.known = [k for k in cursor.get("known") or [] if isinstance(k, str)]
        self.floor = parse_time(cursor.get("floor")) or self.now - connector.config.lookback
        self.newest = parse_time(cursor.get("newest_time"))
        self.marker = self.newest or self.floor
        self.unavailable = {k: v for k, v in d(cursor.get("unavailable")).items() if parse_time(v)}

    # -- accounting ---------------------------------------------------------------------------

    def spend(self, method: str) -> None:
        cost = UNIT_COSTS[method]
        if self.cap is not None and self.units + cost > self.cap:
            raise _UnitCap(method)
        self.units += cost

    def api_get(self, http: HttpClient, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.spend(method)
        self.pages += 1
        path = "/" + method.split(".")[0]
        body = http.get_json(path, params)
        if not isinstance(body, dict):
            raise MalformedResponse(self.c.platform, self.account,
                                    f"GET {path}: expected a JSON object, got {type(body).__name__}")
        return body

    # -- steps --------------------------------------------------------------------------------

    def resolve(self, http: HttpClient, wanted: dict[str, str]) -> tuple[str, str, str]:
        if s(self.cursor.get("channel_id")) and s(self.cursor.get("uploads")):
            return s(self.cursor["channel_id"]), s(self.cursor["uploads"]), s(self.cursor.get("title"))
        body = self.api_get(http, "channels.list", {"part": "snippet,contentDetails", **wanted})
        items = body.get("items")
        if not items:
            what = next(iter(wanted.values()))
            raise AccountUnavailable(self.c.platform, self.account,
                                     f"channels.list found no channel for {what!r}: deleted, terminated, or the "
                                     f"handle was changed", reason="not_found")
        channel = d(items[0] if isinstance(items, list) else None)
        uploads = s(d(d(channel.get("contentDetails")).get("relatedPlaylists")).get("uploads"))
        if not s(channel.get("id")) or not uploads:
            raise MalformedResponse(self.c.platform, self.account,
                                    "channels.list: channel without id or contentDetails.relatedPlaylists.uploads")
        return s(channel["id"]), uploads, s(d(channel.get("snippet")).get("title"))

    def rss(self, channel_id: str) -> Feed | None:
        client, path = self.c.rss_client(self.account)
        self.pages += 1
        with client:
            try:
                response = client.get(path, {"channel_id": channel_id},
                                      accept="application/atom+xml, application/xml;q=0.9, */*;q=0.1")
                return parse_feed(response.content)
            except RateLimited:
                raise
            except FeedError as exc:
                self.notes.append(f"RSS feed unreadable ({exc}); used the API")
            except ConnectorError as exc:
                self.notes.append(f"RSS feed failed ({exc.message}); used the API")
        return None

    def walk_uploads(self, http: HttpClient, uploads: str) -> tuple[list[tuple[str, datetime | None]], bool]:
        """(video id, published) newest first down to the marker; complete=False when cut short."""
        known = set(self.known)

        def fetch_page(token: str | None) -> Page[str]:
            params: dict[str, Any] = {"part": "snippet,contentDetails", "playlistId": uploads,
                                      "maxResults": min(PAGE_SIZE, max(1, self.c.config.page_size))}
            if token:
                params["pageToken"] = token
            body = self.api_get(http, "playlistItems.list", params)
            items = body.get("items")
            if not isinstance(items, list):
                raise MalformedResponse(self.c.platform, self.account, "GET /playlistItems: no items list")
            return Page(items=[i for i in items if _item_video(i)], next=s(body.get("nextPageToken")) or None)

        def stop_at(item: Any) -> str | None:
            vid, published = _item_video(item), _item_time(item)
            if vid in known:
                return "reached an already collected video"
            if published is not None and published < self.marker:
                return "reached the cursor" if self.newest else f"reached look-back horizon {utc_iso(self.floor)}"
            return None

        try:
            result = walk(fetch_page, None, key=_item_video, stop_at=stop_at,
                          max_pages=max(1, self.c.config.max_pages), end_note="end of uploads",
                          who=(self.c.platform, self.account))
        except _UnitCap:
            self.notes.append(f"unit cap max_units={self.cap} reached while listing uploads; the rest next run")
            return [], False
        self.notes.append(result.stop)
        return [(_item_video(i), _item_time(i)) for i in result.items if not _private(i)], result.complete

    def details(self, http: HttpClient, ids: list[str]) -> tuple[list[dict[str, Any]], bool]:
        videos: list[dict[str, Any]] = []
        for start in range(0, len(ids), PAGE_SIZE):
            chunk = ids[start:start + PAGE_SIZE]
            try:
                body = self.api_get(http, "videos.list", {"part": "snippet,contentDetails,status",
                                                          "id": ",".join(chunk), "maxResults": PAGE_SIZE})
            except _UnitCap:
                self.notes.append(f"unit cap max_units={self.cap} reached; {len(ids) - start} video(s) next run")
                return videos, False
            items = body.get("items")
            if not isinstance(items, list):
                raise MalformedResponse(self.c.platform, self.account, "GET /videos: no items list")
            returned = {s(d(v).get("id")): d(v) for v in items}
            for vid in chunk:
                video = returned.get(vid)
                if video is None or s(d(video.get("status")).get("privacyStatus")) == "private":
                    self.unavailable[vid] = precise(self.now)
                    continue
                self.unavailable.pop(vid, None)
                videos.append(video)
        return videos, True

    def execute(self, wanted: dict[str, str]) -> FetchResult:
        channel_id = s(self.cursor.get("channel_id")) or wanted.get("id", "")
        uploads = s(self.cursor.get("uploads"))
        title = s(self.cursor.get("title"))
        complete = True
        videos: list[dict[str, Any]] = []
        entries: list[FeedEntry] = []
        with self.c.api_client(self.account) as http:
            try:
                if self.use_api:
                    channel_id, uploads, title = self.resolve(http, wanted)
                elif not channel_id:
                    raise ConnectorError(self.c.platform, self.account, "RSS-only mode needs the channel id (UC…)",
                                         hint="use the channel id in the watchlist, or enable the API")
            except _UnitCap:
                return self.result([], channel_id, uploads, title, complete=False,
                                   note=f"unit cap max_units={self.cap} too small to resolve the channel")
            feed = self.rss(channel_id)
            if not self.use_api:
                if feed is None:
                    raise ConnectorError(self.c.platform, self.account, "RSS-only mode and the feed failed: "
                                         + "; ".join(self.notes))
                entries = [e for e in feed.entries if self._is_new(e.video_id, e.published)]
                if not self._feed_covers(feed):
                    self.notes.append("the feed's 15 entries do not reach the cursor: older uploads were missed "
                                      "(RSS-only mode)")
                self.notes.append(f"RSS-only: {len(entries)} new upload(s), 0 quota units")
                return self.result([], channel_id, uploads, title, entries=entries)
            if feed is not None and self._feed_covers(feed):
                ids = [e.video_id for e in feed.entries if self._is_new(e.video_id, e.published)]
                if not ids:
                    self.notes.append("RSS: no new uploads (no API call)")
                    return self.result([], channel_id, uploads, title)
                self.notes.append(f"RSS: {len(ids)} new upload(s)")
            else:
                listed, complete = self.walk_uploads(http, uploads)
                ids = [vid for vid, published in listed if self._is_new(vid, published, check_floor=False)]
            videos, fetched_all = self.details(http, ids)
            complete = complete and fetched_all
        return self.result(videos, channel_id, uploads, title, complete=complete)

    def _feed_covers(self, feed: Feed) -> bool:
        """True when the feed reaches back to the cursor, so it lists every new upload."""
        entries = [e for e in feed.entries if e.video_id]
        if len(entries) < RSS_ENTRIES or any(e.video_id in self.known for e in entries):
            return True
        times = [e.published for e in entries if e.published is not None]
        return bool(times) and min(times) <= self.marker

    def _is_new(self, vid: str, published: datetime | None, *, check_floor: bool = True) -> bool:
        """Not collected yet, not older than the first-run horizon (the uploads walk has already
        stopped at the cursor), and not found unavailable within the last day."""
        if not vid or vid in self.known:
            return False
        if check_floor and published is not None and published < self.floor:
            return False
        checked = parse_time(self.unavailable.get(vid))
        return checked is None or self.now - checked >= UNAVAILABLE_RETRY

    def result(self, videos: list[dict[str, Any]], channel_id: str, uploads: str, title: str, *,
               complete: bool = True, note: str | None = None, entries: list[FeedEntry] | None = None) -> FetchResult:
        collected_at = utc_iso(self.now)
        if entries is not None:
            posts = [normalise_feed_video(e, self.account, collected_at) for e in entries]
            raws: list[Any] = [e.raw for e in entries]
            times = [e.published for e in entries if e.published]
        else:
            posts = [normalise_video(v, self.account, collected_at) for v in videos]
            raws = list(videos)
            times = [t for t in (parse_time(d(v.get("snippet")).get("publishedAt")) for v in videos) if t]
        order = sorted(range(len(posts)), key=lambda i: posts[i].created_at, reverse=True)
        posts, raws = [posts[i] for i in order], [raws[i] for i in order]
        if note:
            self.notes.append(note)
        new_cursor: dict[str, Any] = {"channel_id": channel_id, "uploads": uploads, "title": title,
                                      "floor": precise(self.floor)}
        newest = self.newest
        if complete and times and (newest is None or max(times) > newest):
            newest = max(times)        # only a complete run may move the time marker
        elif not complete:
            self.notes.append("incomplete: the time marker was kept so the next run finishes the job")
        if newest is not None:
            new_cursor["newest_time"] = precise(newest)
        known = recent_ids([p.post_id for p in posts], self.known, KNOWN_KEPT)
        if known:
            new_cursor["known"] = known
        pending = {k: v for k, v in self.unavailable.items()
                   if (parse_time(v) or self.now) > self.now - timedelta(days=7)}
        if pending:
            new_cursor["unavailable"] = dict(sorted(pending.items())[-50:])
        self.notes.append(f"{self.units} quota unit(s) spent")
        return FetchResult(posts=posts, raw_items=raws, cursor=new_cursor, pages=self.pages, notes=self.notes,
                           units=self.units)


def _item_video(item: Any) -> str:
    return s(d(d(item).get("contentDetails")).get("videoId")) or s(d(d(d(item).get("snippet")).get("resourceId"))
                                                                   .get("videoId"))


def _item_time(item: Any) -> datetime | None:
    return (parse_time(d(d(item).get("contentDetails")).get("videoPublishedAt"))
            or parse_time(d(d(item).get("snippet")).get("publishedAt")))


def _private(item: Any) -> bool:
    """Private and deleted videos stay in the uploads playlist as placeholders without a
    ``videoPublishedAt`` and with the title "Private video" / "Deleted video"."""
    snippet = d(d(item).get("snippet"))
    return (not d(d(item).get("contentDetails")).get("videoPublishedAt")
            and s(snippet.get("title")) in ("Private video", "Deleted video"))


__all__ = ["DEFAULT_API_BASE", "DEFAULT_RSS_URL", "YouTubeConnector", "best_thumbnail", "google_reasons",
           "normalise_feed_video", "normalise_video", "rss_endpoint", "youtube_error"]
