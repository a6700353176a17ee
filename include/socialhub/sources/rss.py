"""RSS/Atom: any public feed; the watched "account" is the feed URL.

Feeds carry the latest N items with no ordering guarantee and no "since" parameter, so
identity decides what is new: an item's ``guid``/``id`` (else its link) is remembered in the
cursor (``known``, the most recent ``KNOWN_KEPT``). Every item of a page is checked (a
back-dated item added below known ones is still found); an unknown item is new unless it is
older than the look-back window behind the newest known item (a guard against feeds that
rewrite ids of old items, which would otherwise re-emit them). RFC 5005 paged feeds
(``<link rel="next">``) are followed until a page contains a known item or an item older than
the horizon.

Politeness: conditional GET with the stored ``ETag`` / ``Last-Modified`` (a 304 costs the
server nothing and means "nothing new"), ``Retry-After`` on 429/503 via ``HttpClient``.

Safety: a feed may live on any host, so the connection's token is never sent (``auth="none"``),
bodies are size-capped by the client, and XML is parsed without entity expansion
(``feeds.parse_xml``). When ``base_url`` is set it is a fetch gateway: the feed
``https://host/path?q`` is fetched from ``{base_url}/host/path?q`` (an egress proxy, or the
replay server in tests and the demo); empty (the default) means fetch the feed directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from socialhub.errors import AccountUnavailable, ConnectorError, MalformedResponse
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult, capture_errors, utcnow
from socialhub.sources.common import parse_time, precise, recent_ids
from socialhub.sources.feeds import FeedEntry, FeedError, parse_feed
from socialhub.sources.http import HttpClient
from socialhub.sources.mastodon import html_to_text
from socialhub.sources.status import PostRef, PostStatus

KNOWN_KEPT = 500
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"


def entry_key(entry: FeedEntry) -> str:
    """guid/id, else link, else title+date (a feed item without any id still needs one)."""
    return entry.id or entry.link or (f"{entry.title}|{entry.published_raw}" if entry.title else "")


def normalise_entry(entry: FeedEntry, account: str, collected_at: str, feed_title: str = "") -> Post:
    """One feed entry -> Post: text = title + the summary/content as plain text (HTML removed)."""
    body = html_to_text(entry.text) if "<" in entry.text else entry.text.strip()
    title = entry.title.strip()
    text = "\n\n".join([title] * bool(title) + [body] * bool(body and body != title))
    return Post(
        platform="rss",
        account=account,
        post_id=entry_key(entry),
        url=entry.link,
        author=entry.author or feed_title,
        text=text,
        created_at=utc_iso(entry.published) if entry.published else entry.published_raw,
        collected_at=collected_at,
        media=list(entry.media),
        raw_sha256=raw_sha256(entry.raw),
        reply_to=entry.reply_to,
        repost_of=None,
    )


class RssConnector(Connector):
    """Collect new items of one RSS/Atom feed.

    Cursor: ``{"known": [item ids, newest first], "newest_time": ISO, "etag", "last_modified"}``.
    """

    platform = "rss"

    def __init__(self, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config, now=now, sleep=sleep)
        self.transport = transport

    def _route(self, account: str, url: str) -> tuple[str, str]:
        """(origin the client is bound to, path+query to request) for a feed URL."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectorError(self.platform, account, "the account of an rss entry must be the feed's http(s) URL",
                                 hint="put the full feed URL (https://...) in the watchlist entry")
        tail = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if self.config.base_url:
            return self.config.base_url.rstrip("/"), f"/{parts.netloc}{tail}"
        return f"{parts.scheme}://{parts.netloc}", tail

    def _check_post(self, ref: PostRef) -> PostStatus:
        return _check_rss_post(self, ref)

    def fetch(self, account: str, cursor: dict[str, Any] | None) -> FetchResult:
        feed_url = account.strip()
        origin, first_path = self._route(account, feed_url)
        cursor = dict(cursor or {})
        known = {k for k in cursor.get("known") or [] if isinstance(k, str)}
        newest_time = parse_time(cursor.get("newest_time"))
        first_run = not known and newest_time is None
        horizon = self.now() - self.config.lookback if first_run else (
            newest_time - self.config.lookback if newest_time else None)
        config = dataclasses.replace(self.config, base_url=origin, token=None)
        validators: dict[str, str] = {}
        feed_title = ""
        entries: list[FeedEntry] = []
        seen: set[str] = set()
        pages = 0
        note = "end of feed"
        with HttpClient(config, platform=self.platform, account=account, now=self.now, sleep=self.sleep,
                        transport=self.transport, auth="none") as http:
            path, page_url = first_path, feed_url
            while True:
                if pages >= max(1, self.config.max_pages):
                    note = f"stopped at max_pages={self.config.max_pages}; older pages of the feed were not read"
                    break
                headers = {}
                if pages == 0 and cursor.get("etag"):
                    headers["If-None-Match"] = str(cursor["etag"])
                if pages == 0 and cursor.get("last_modified"):
                    headers["If-Modified-Since"] = str(cursor["last_modified"])
                try:
                    response = http.get(path, accept=ACCEPT, headers=headers, allow_not_modified=pages == 0)
                except AccountUnavailable as exc:
                    raise AccountUnavailable(self.platform, account, f"the feed is gone: {exc.message}",
                                             status=exc.status,
                                             reason="deleted" if exc.status == 410 else "not_found") from None
                except ConnectorError as exc:
                    if pages == 0 and exc.status in (301, 308):
                        raise AccountUnavailable(self.platform, account, f"the feed moved permanently: {exc.message}",
                                                 status=exc.status, reason="moved",
                                                 hint="update the watchlist entry to the feed's new URL") from None
                    raise
                pages += 1
                if response.status_code == 304:
                    note = "not modified since the last run (HTTP 304)"
                    break
                if pages == 1:
                    for name, key in (("etag", "etag"), ("last-modified", "last_modified")):
                        if response.headers.get(name):
                            validators[key] = response.headers[name]
                try:
                    feed = parse_feed(response.content)
                except FeedError as exc:
                    raise MalformedResponse(
                        self.platform, account, f"GET {urlsplit(page_url).path}: {exc}",
                        hint="XML allows no repair: one byte that is not UTF-8, a control character, an entity "
                             "declaration or a cut-off body makes the whole feed unreadable. Nothing was stored "
                             "and the cursor was not moved; the feed is retried on every run, so ask its "
                             "publisher to fix it if it persists") from None
                feed_title = feed_title or feed.title
                stop = None
                for entry in _newest_first(feed.entries):
                    key = entry_key(entry)
                    if key in known:
                        stop = stop or "reached an already collected item"
                        continue
                    if horizon is not None and entry.published is not None and entry.published < horizon:
                        stop = stop or (f"reached look-back horizon {utc_iso(horizon)}" if first_run else
                                        "reached items older than the look-back behind the newest known item")
                        continue
                    if key and key in seen:
                        continue
                    seen.add(key)
                    entries.append(entry)
                if stop:
                    note = stop
                    break
                if not feed.next_url:
                    break
                absolute = urljoin(page_url, feed.next_url)
                if urlsplit(absolute).netloc != urlsplit(feed_url).netloc or absolute == page_url:
                    note = "end of feed (next page link ignored: other host or same page)"
                    break
                (_, path), page_url = self._route(account, absolute), absolute
        collected_at = utc_iso(self.now())
        posts = [normalise_entry(e, account, collected_at, feed_title) for e in entries]
        new_cursor: dict[str, Any] = {k: cursor[k] for k in ("known", "newest_time", "etag", "last_modified")
                                      if cursor.get(k)}
        merged = recent_ids([entry_key(e) for e in entries], cursor.get("known") or [], KNOWN_KEPT)
        if merged:
            new_cursor["known"] = merged
        times = [e.published for e in entries if e.published is not None]
        if times and (newest_time is None or max(times) > newest_time):
            new_cursor["newest_time"] = precise(max(times))
        new_cursor.update(validators)
        return FetchResult(posts=posts, raw_items=[e.raw for e in entries], cursor=new_cursor, pages=pages,
                           notes=[note])


def _check_rss_post(connector: RssConnector, ref: PostRef) -> PostStatus:
    """The item is online while the feed still lists it; once it has left the feed (feeds keep
    only their latest items) its link decides: 404/410 removed, 2xx online."""
    feed_url, link = ref.account.strip(), ref.url.strip()
    in_feed: bool | None = None
    if feed_url:
        origin, path = connector._route(feed_url, feed_url)
        config = dataclasses.replace(connector.config, base_url=origin, token=None)
        with HttpClient(config, platform=connector.platform, account=feed_url, now=connector.now,
                        sleep=connector.sleep, transport=connector.transport, auth="none") as http:
            try:
                feed = parse_feed(http.get(path, accept=ACCEPT).content)
                in_feed = any(entry_key(e) == ref.post_id or (link and e.link == link) for e in feed.entries)
            except AccountUnavailable:
                in_feed = None   # the feed itself is gone: the link still decides
            except FeedError as exc:
                raise MalformedResponse(connector.platform, feed_url, f"the feed is unreadable: {exc}") from None
        if in_feed:
            return connector.post_status(ref, "online", "the item is still in the feed", http_status=200,
                                         endpoint=urlsplit(feed_url).path or "/", field="guid", value=ref.post_id)
    if not link:
        return connector.post_status(ref, "error", "the item left the feed and has no link to check")
    origin, path = connector._route(feed_url or link, link)
    config = dataclasses.replace(connector.config, base_url=origin, token=None)
    with HttpClient(config, platform=connector.platform, account=feed_url or link, now=connector.now,
                    sleep=connector.sleep, transport=connector.transport, auth="none") as http:
        capture = capture_errors(http)
        try:
            http.get(path, accept="*/*")
        except AccountUnavailable:
            if not capture.gone():
                raise
            return connector.post_status(ref, "removed", f"the item left the feed and its link answers HTTP "
                                         f"{capture.status}", http_status=capture.status, endpoint=urlsplit(link).path,
                                         field="status", value=capture.status, in_feed=in_feed)
    return connector.post_status(ref, "online", "the item left the feed but its link is still served",
                                 http_status=200, endpoint=urlsplit(link).path, field="status", value=200,
                                 in_feed=in_feed)


def _newest_first(entries: list[FeedEntry]) -> list[FeedEntry]:
    """Feeds are usually newest first but not always: sort dated entries by time (undated ones
    keep their place at the end), so the stop rules see the newest first."""
    dated = sorted((e for e in entries if e.published), key=lambda e: e.published, reverse=True)  # type: ignore[arg-type,return-value]
    return dated + [e for e in entries if not e.published]


__all__ = ["RssConnector", "entry_key", "normalise_entry"]
