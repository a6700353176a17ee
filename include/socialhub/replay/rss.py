"""Emulated RSS 2.0 / Atom feeds on fictional hosts, behind a fetch gateway.

The watched account of an rss entry is the feed URL itself (``https://gazette.hubdemo.example
/feed.xml``). The replay serves that feed at ``/rss/<host>/<path>``, which is exactly how the
connector maps a feed URL onto a non-empty ``base_url`` (see ``sources/rss.py``), so watchlist
entries keep their real-looking URLs while the bytes come from 127.0.0.1.

* ``format: rss`` (RSS 2.0 with ``dc:creator``, ``enclosure``, ``media:thumbnail`` and an
  ``atom:link rel="self"``) or ``format: atom`` (with ``thr:in-reply-to`` for replies)
* ``page_size`` items per document (default 10), newest first; older items on ``?page=2``...,
  announced RFC 5005 style with ``<link rel="next">`` (``atom:link`` in RSS)
* ``ETag`` and ``Last-Modified``; a matching ``If-None-Match`` / ``If-Modified-Since`` -> 304
* unknown feed -> 404 HTML page; no rate-limit headers; 429 with ``Retry-After``.
* an item's link (``/<host>/posts/<slug>``) -> a small HTML page while the item is published, 404
  once removed; a suspended (withdrawn) feed -> 410, a renamed one -> 301 to its new URL

Post keys ``drop: [date]`` / ``[link]`` / ``[guid]`` omit that element (deliberately incomplete items).
Item ids (guid / atom:id) derive from the feed URL, the post time and a sequence number.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from socialhub.replay.api import (
    PlatformAPI,
    RateWindow,
    Request,
    Response,
    b32,
    check_post_keys,
    digest,
    header,
    parse_age,
    retry_after_seconds,
    text_response,
)

MEDIA_HOST = "https://media.hubdemo.example"
_VIDEO_EXT = (".mp4", ".mov", ".webm")


def _x(value: str) -> str:
    return html.escape(value, quote=True)


class RssAPI(PlatformAPI):
    platform = "rss"
    default_limit = 120
    default_window = 60.0
    content_type = "application/xml; charset=utf-8"

    def __init__(self, spec: Mapping[str, Any], *, now: Any) -> None:
        super().__init__(spec, now=now)
        self._seq = 0
        self._feeds: dict[str, dict[str, Any]] = {}      # "host/path" -> feed
        self._labels: dict[str, dict[str, Any]] = {}
        for entry in spec.get("feeds") or []:
            url = str(entry["url"])
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"rss feed url {url!r} must be an absolute http(s) URL")
            fmt = str(entry.get("format") or "rss")
            if fmt not in ("rss", "atom"):
                raise ValueError(f"rss feed {url}: format must be rss or atom, not {fmt!r}")
            self._feeds[self._key(url)] = {"url": url, "format": fmt, "title": str(entry.get("title") or url),
                                           "page_size": int(entry.get("page_size") or 10), "items": []}
            for index, post in enumerate(entry.get("posts") or []):
                check_post_keys(post, f"rss feed {url} post #{index + 1}")
                self.add_post(url, post)

    @staticmethod
    def _key(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.netloc.lower()}{parts.path or '/'}"

    # -- data ---------------------------------------------------------------------------------

    def add_post(self, account: str, post: Mapping[str, Any]) -> dict[str, Any]:
        check_post_keys(post, f"rss item for {account}")
        feed = self._feeds.get(self._key(account))
        if feed is None:
            raise KeyError(f"unknown rss feed {account!r}; known: {', '.join(self.accounts())}")
        if post.get("reply_to") and str(post["reply_to"]) not in self._labels:
            raise ValueError(f"reply_to unknown label {post['reply_to']!r}; labels must be defined before use")
        self._seq += 1
        created = self.now() - parse_age(post.get("age"))
        parts = urlsplit(feed["url"])
        slug = b32(digest(feed["url"], created.isoformat(), str(self._seq)))[:10]
        item = {"id": f"tag:{parts.netloc},{created.year}:post-{slug}",
                "link": f"{parts.scheme}://{parts.netloc}/posts/{slug}", "created": created, "post": dict(post)}
        if post.get("label"):
            self._labels[str(post["label"])] = item
        feed["items"].append(item)
        feed["items"].sort(key=lambda i: i["created"], reverse=True)
        self.note_removed(post, str(item["id"]))
        return {"id": item["id"], "link": item["link"]}

    def accounts(self) -> list[str]:
        return [f["url"] for f in self._feeds.values() if not f.get("gone") and not f.get("moved_to")]

    # -- states -----------------------------------------------------------------------------------

    def remove_post(self, post_id: str) -> None:
        """The item (guid/id or link) leaves the feed and its page answers 404."""
        for feed in self._feeds.values():
            for item in feed["items"]:
                if post_id in (item["id"], item["link"]):
                    feed["items"].remove(item)
                    return
        raise KeyError(f"no rss item {post_id!r}")

    def _known(self, account: str) -> dict[str, Any]:
        feed = self._feeds.get(self._key(account))
        if feed is None:
            raise KeyError(f"unknown rss feed {account!r}; known: {', '.join(self.accounts())}")
        return feed

    def suspend_account(self, account: str) -> None:
        """The publisher withdraws the feed: 410 Gone (item pages keep answering)."""
        self._known(account)["gone"] = True

    def rename_account(self, account: str, new_name: str) -> None:
        """The feed moves to the URL ``new_name``: the old URL answers 301 with ``Location``."""
        feed = self._known(account)
        moved = dict(feed, url=new_name)
        self._feeds[self._key(new_name)] = moved
        feed["moved_to"] = new_name

    def _item_page(self, path: str) -> Response | None:
        """``/<host>/posts/<slug>``: a small HTML page for an item still published, else None."""
        for feed in self._feeds.values():
            for item in feed["items"]:
                if self._key(item["link"]) == path.lower():
                    title = html.escape(str(item["post"].get("title") or item["post"].get("text") or "")[:80])
                    return text_response(200, f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
                                              f"<article>{title}</article></body></html>", "text/html; charset=utf-8")
        return None

    # -- rendering ----------------------------------------------------------------------------

    def _media_xml(self, post: dict[str, Any], fmt: str) -> str:
        out = []
        for item in post.get("media") or []:
            file = str(item.get("file") if isinstance(item, dict) else item)
            url = self.media_url(f"{MEDIA_HOST}/{b32(digest(file))[:12]}/{file}", item)
            kind = "video/mp4" if file.lower().endswith(_VIDEO_EXT) else "image/jpeg"
            if fmt == "rss":
                out.append(f'<enclosure url="{_x(url)}" length="120000" type="{kind}"/>')
            else:
                out.append(f'<link rel="enclosure" type="{kind}" href="{_x(url)}"/>')
            if kind.startswith("image"):
                out.append(f'<media:thumbnail url="{_x(url)}"/>')
        return "".join(out)

    def _item_xml(self, feed: dict[str, Any], item: dict[str, Any]) -> str:
        post: dict[str, Any] = item["post"]
        drop = set(post.get("drop") or [])
        title = str(post.get("title") or str(post.get("text") or "").split("\n")[0][:80])
        body = "".join(f"<p>{html.escape(p)}</p>" for p in str(post.get("text") or "").split("\n\n") if p.strip())
        if post.get("link"):
            link = post["link"] if isinstance(post["link"], dict) else {"url": post["link"]}
            body += f'<p><a href="{_x(link["url"])}">{html.escape(str(link.get("title") or link["url"]))}</a></p>'
        author = str(feed.get("title"))
        if feed["format"] == "rss":
            parts = [f"<item><title>{_x(title)}</title>"]
            if "link" not in drop:
                parts.append(f"<link>{_x(item['link'])}</link>")
            if "guid" not in drop:
                parts.append(f'<guid isPermaLink="false">{_x(item["id"])}</guid>')
            if "date" not in drop:
                parts.append(f"<pubDate>{email.utils.format_datetime(item['created'])}</pubDate>")
            parts.append(f"<dc:creator>{_x(author)}</dc:creator><description>{_x(body)}</description>")
            parts.append(self._media_xml(post, "rss") + "</item>")
            return "".join(parts)
        parts = [f"<entry><title>{_x(title)}</title>"]
        if "guid" not in drop:
            parts.append(f"<id>{_x(item['id'])}</id>")
        if "link" not in drop:
            parts.append(f'<link rel="alternate" type="text/html" href="{_x(item["link"])}"/>')
        if "date" not in drop:
            stamp = item["created"].isoformat(timespec="seconds")
            parts.append(f"<published>{stamp}</published><updated>{stamp}</updated>")
        parts.append(f"<author><name>{_x(author)}</name></author><summary type=\"html\">{_x(body)}</summary>")
        if post.get("reply_to"):
            parent = self._labels[str(post["reply_to"])]
            parts.append(f'<thr:in-reply-to ref="{_x(parent["id"])}" href="{_x(parent["link"])}"/>')
        parts.append(self._media_xml(post, "atom") + "</entry>")
        return "".join(parts)

    def _document(self, feed: dict[str, Any], page: int) -> tuple[str, datetime | None]:
        size = feed["page_size"]
        items = feed["items"][(page - 1) * size:page * size]
        more = page * size < len(feed["items"])
        url = feed["url"]
        next_url = f"{url}?page={page + 1}" if more else None
        self_url = url if page == 1 else f"{url}?page={page}"
        body = "".join(self._item_xml(feed, i) for i in items)
        newest = feed["items"][0]["created"] if feed["items"] else None
        if feed["format"] == "rss":
            nxt = f'<atom:link rel="next" href="{_x(next_url)}"/>' if next_url else ""
            doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
                   'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">'
                   f"<channel><title>{_x(feed['title'])}</title><link>{_x(url.rsplit('/', 1)[0])}/</link>"
                   f"<description>FICTIONAL demo feed</description>"
                   f'<atom:link rel="self" type="application/rss+xml" href="{_x(self_url)}"/>{nxt}'
                   + (f"<lastBuildDate>{email.utils.format_datetime(newest)}</lastBuildDate>" if newest else "")
                   + f"{body}</channel></rss>\n")
        else:
            nxt = f'<link rel="next" href="{_x(next_url)}"/>' if next_url else ""
            doc = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
                   'xmlns:thr="http://purl.org/syndication/thread/1.0" xmlns:media="http://search.yahoo.com/mrss/">'
                   f"<title>{_x(feed['title'])}</title><id>{_x(url)}</id>"
                   f'<link rel="self" href="{_x(self_url)}"/>{nxt}'
                   f'<link rel="alternate" href="{_x(url.rsplit("/", 1)[0])}/"/>'
                   + (f"<updated>{newest.isoformat(timespec='seconds')}</updated>" if newest else "")
                   + f"{body}</feed>\n")
        return doc, newest

    # -- HTTP ---------------------------------------------------------------------------------

    def rate_headers(self, window: RateWindow, *, remaining: int | None = None,
                     reset_at: datetime | None = None) -> dict[str, str]:
        return {}

    def error(self, status: int, message: str) -> Response:
        return text_response(status, f"<html><body><h1>{status} {html.escape(message)}</h1></body></html>",
                             "text/html; charset=utf-8")

    def too_many_requests(self) -> Response:
        return self.error(429, "Too Many Requests")

    def exhausted(self, window: RateWindow) -> Response:
        response = self.too_many_requests()
        response.headers["Retry-After"] = retry_after_seconds(window, self.now())
        return response

    def handle(self, req: Request) -> Response:
        feed = self._feeds.get(req.path.lstrip("/").lower()) or self._feeds.get(req.path.lstrip("/"))
        if feed is None:
            return self._item_page(req.path.lstrip("/")) or self.error(404, "Not Found")
        if feed.get("moved_to"):
            return Response(301, b"", {"Location": str(feed["moved_to"]), "Content-Type": "text/html; charset=utf-8"})
        if feed.get("gone"):
            return self.error(410, "Gone")
        page_param = req.query.get("page", "1")
        page = int(page_param) if page_param.isdigit() and int(page_param) >= 1 else 1
        doc, newest = self._document(feed, page)
        etag = '"' + hashlib.sha256(doc.encode("utf-8")).hexdigest()[:16] + '"'
        headers = {"ETag": etag}
        if newest is not None:
            headers["Last-Modified"] = email.utils.format_datetime(newest.replace(microsecond=0), usegmt=True)
        if_none_match, if_modified_since = header(req, "If-None-Match"), header(req, "If-Modified-Since")
        if if_none_match == etag or (if_none_match is None and if_modified_since
                                     and if_modified_since == headers.get("Last-Modified")):
            return Response(304, b"", headers)
        content_type = "application/rss+xml; charset=utf-8" if feed["format"] == "rss" else \
            "application/atom+xml; charset=utf-8"
        return text_response(200, doc, content_type, headers)


__all__ = ["RssAPI"]
