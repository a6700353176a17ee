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

from socialhub.errors import ConnectorError, MalformedResponse
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult, utcnow
from socialhub.sources.common import parse_time, precise, recent_ids
from socialhub.sources.feeds import FeedEntry, FeedError, parse_feed
from socialhub.sources.http import HttpClient
from socialhub.sources.mastodon import html_to_text

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
                response = http.get(path, accept=ACCEPT, headers=headers, allow_not_modified=pages == 0)
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


def _newest_first(entries: list[FeedEntry]) -> list[FeedEntry]:
    """Feeds are usually newest first but not always: sort dated entries by time (undated ones
    keep their place at the end), so the stop rules see the newest first."""
    dated = sorted((e for e in entries if e.published), key=lambda e: e.published, reverse=True)  # type: ignore[arg-type,return-value]
    return dated + [e for e in entries if not e.published]


__all__ = ["RssConnector", "entry_key", "normalise_entry"]
