"""Mastodon: public statuses of one account, newest first, via the REST API.

Flow: ``GET /api/v1/accounts/lookup?acct=`` once (the id is cached in the cursor), then
``GET /api/v1/accounts/{id}/statuses?limit=N``, following the ``Link`` header (documented:
follow it rather than computing ids):

* first run: newest first, ``rel="next"`` (``max_id``) pages back to the look-back horizon;
* later runs: **forward** from the cursor, ``min_id=<since_id>`` ("the statuses immediately
  newer than"), then ``rel="prev"`` pages, oldest page first, until a page is short or empty.
  Walking newest first with ``since_id`` would, when there are more new statuses than
  ``max_pages`` can hold, collect the newest and lose everything between them and the cursor;
  walking forward, a run cut short at ``max_pages`` has collected a contiguous range starting
  at the cursor, and the cursor advances only to its newest status, so the next run continues
  exactly there. A short page means nothing newer existed at that moment; stopping there can
  only delay a status to the next run, never skip it.

Each reason for stopping is recorded in ``FetchResult.notes``; posts are returned newest first.

Most instances serve public statuses without a token; a token (Bearer) is sent when configured,
for instances in limited-federation or authorized-fetch mode.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from socialhub.errors import AccountUnavailable, ConnectorError, MalformedResponse
from socialhub.models import Post, parse_iso, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult, capture_errors, utcnow
from socialhub.sources.common import pagination_stalled
from socialhub.sources.http import HttpClient, parse_link_header
from socialhub.sources.status import PostRef, PostStatus

log = logging.getLogger(__name__)
MAX_LIMIT = 40   # /api/v1/accounts/:id/statuses caps ``limit`` at 40


# --------------------------------------------------------------------------------------------
# Normalisation (pure functions: unit-testable without a server)
# --------------------------------------------------------------------------------------------

class _TextExtractor(HTMLParser):
    _PARA = None   # a paragraph boundary: not a character, so no character of the post can fake one

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)   # unescapes &amp; &#39; ... in text
        self.parts: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("p", "blockquote", "li", "pre"):
            self.parts.append(self._PARA)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "blockquote", "li", "pre"):
            self.parts.append(self._PARA)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def text(self) -> str:
        # the boundary is written as a character absent from the text (a NUL in a post stays a NUL)
        used = {c for p in self.parts if p is not None for c in p}
        mark = next(c for c in map(chr, range(0xE000, 0x110000)) if c not in used)
        raw = "".join(mark if p is None else p for p in self.parts)
        m = re.escape(mark)
        raw = re.sub(rf"[ \t]*{m}[{m}\s]*", "\n\n", raw)   # any run of boundaries = one blank line
        return raw.strip()


def html_to_text(content: str | None) -> str:
    """Mastodon's status HTML -> plain text: ``<br>`` = newline, paragraphs = blank line,
    other tags stripped (a link keeps its full text, including the "invisible" spans), entities
    unescaped."""
    if not content:
        return ""
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    return parser.text()


def _str(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "") else _str(value)


def _iso_or_raw(value: Any) -> str:
    """Normalised UTC time; an unparseable value is kept verbatim for the quality stage to judge."""
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        return utc_iso(parse_iso(value))
    except ValueError:
        return value


def _media_urls(status: dict[str, Any]) -> list[str]:
    urls: list[str] = []
    for att in status.get("media_attachments") or []:
        if isinstance(att, dict):
            url = att.get("url") or att.get("remote_url") or att.get("preview_url")
            if isinstance(url, str) and url:
                urls.append(url)
    return urls


def normalise_status(status: Any, account: str, collected_at: str) -> Post:
    """One Mastodon Status -> Post.

    For a boost (``reblog`` set) the post is the boost itself (``post_id`` = the boost's id,
    ``created_at`` = when it was boosted, ``repost_of`` = the original's id) while text, media,
    url, author and reply_to come from the boosted status, because that is the content shown.
    A content warning (``spoiler_text``) is kept as the first paragraph of ``text``.
    Missing fields become empty strings; nothing is dropped here.
    """
    item: dict[str, Any] = status if isinstance(status, dict) else {}
    reblog = item.get("reblog") if isinstance(item.get("reblog"), dict) else None
    content: dict[str, Any] = reblog or item
    author: dict[str, Any] = content["account"] if isinstance(content.get("account"), dict) else {}
    body = html_to_text(_str(content.get("content")))
    spoiler = _str(content.get("spoiler_text")).strip()
    text = f"{spoiler}\n\n{body}" if spoiler and body else spoiler or body
    return Post(
        platform="mastodon",
        account=account,
        post_id=_str(item.get("id")),
        url=_str(content.get("url") or content.get("uri") or item.get("url") or item.get("uri")),
        author=_str(author.get("acct")),
        text=text,
        created_at=_iso_or_raw(item.get("created_at")),
        collected_at=collected_at,
        media=_media_urls(content),
        raw_sha256=raw_sha256(status),
        reply_to=_opt_str(content.get("in_reply_to_id")),
        repost_of=_opt_str(reblog.get("id")) if reblog else None,
    )


def id_key(value: str) -> tuple[int, int | str]:
    """Sort key for status ids: numeric ids compare as integers (Mastodon snowflakes), other
    ids (e.g. Pleroma's fixed-width flake ids) as strings."""
    return (0, int(value)) if value.isdigit() else (1, value)


def id_newer(a: str, b: str) -> bool:
    """True when id ``a`` is newer than id ``b``."""
    ka, kb = id_key(a), id_key(b)
    if ka[0] != kb[0]:   # mixed kinds cannot be ordered meaningfully; compare as text
        return (len(a), a) > (len(b), b)
    return ka > kb


# --------------------------------------------------------------------------------------------
# Connector
# --------------------------------------------------------------------------------------------

class MastodonConnector(Connector):
    """Collect one Mastodon account's public statuses newer than the cursor.

    Cursor: ``{"account_id": "<id>", "since_id": "<newest status id collected>"}``.
    """

    platform = "mastodon"

    def __init__(self, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config, now=now, sleep=sleep)
        self.transport = transport

    def client(self, account: str) -> HttpClient:
        return HttpClient(self.config, platform=self.platform, account=account, now=self.now,
                          sleep=self.sleep, transport=self.transport)

    @staticmethod
    def acct(account: str) -> str:
        """``@user@instance`` / ``user@instance`` / ``user`` -> the ``acct`` the lookup expects."""
        return account.strip().lstrip("@")

    def lookup(self, http: HttpClient, account: str) -> str:
        capture = capture_errors(http)
        try:
            data = http.get_json("/api/v1/accounts/lookup", {"acct": self.acct(account)})
        except AccountUnavailable as exc:
            if capture.gone():
                raise AccountUnavailable(self.platform, account, exc.message, status=exc.status,
                                         reason="deleted" if capture.status == 410 else "not_found") from None
            raise
        if not isinstance(data, dict) or not _str(data.get("id")):
            raise MalformedResponse(self.platform, account,
                                    f"GET /api/v1/accounts/lookup: expected an Account object with an id, "
                                    f"got {type(data).__name__}")
        self.check_account(data, account)
        return _str(data["id"])

    def account_state(self, http: HttpClient, account: str, account_id: str) -> dict[str, Any]:
        """``GET /api/v1/accounts/:id`` (the id cached in the cursor): a suspended or moved account
        raises ``AccountUnavailable`` with that reason; a deleted one answers 404/410."""
        capture = capture_errors(http)
        try:
            data = http.get_json(f"/api/v1/accounts/{quote(account_id, safe='')}")
        except AccountUnavailable as exc:
            if capture.gone():
                raise AccountUnavailable(self.platform, account, f"account deleted: {exc.message}",
                                         status=exc.status, reason="deleted") from None
            raise
        except ConnectorError as exc:   # an extra signal only: the statuses request decides the poll
            log.info("mastodon:%s: account state not read (%s); collecting anyway", account, exc.message)
            return {}
        if not isinstance(data, dict):   # no account state to read; the statuses request decides
            return {}
        self.check_account(data, account)
        return data

    def check_account(self, data: dict[str, Any], account: str) -> None:
        """The documented Account attributes that mean no more posts: ``suspended: true`` and
        ``moved`` (the Account it moved to)."""
        if data.get("suspended") is True:
            raise AccountUnavailable(self.platform, account, "account suspended (Account.suspended is true)",
                                     reason="suspended")
        moved = data.get("moved")
        if isinstance(moved, dict) and _str(moved.get("acct")):
            target = _str(moved.get("acct"))
            raise AccountUnavailable(self.platform, account, f"account moved to @{target} (Account.moved)",
                                     reason="moved", moved_to=target,
                                     hint=f"the account now posts as @{target}: review the watchlist entry and "
                                          f"whether the authorisation covers the new account")

    def _check_post(self, ref: PostRef) -> PostStatus:
        """``GET /api/v1/statuses/:id``: 200 = online; 404/410 = removed, unless the account is
        suspended, deleted or gone (then unavailable)."""
        path = f"/api/v1/statuses/{quote(ref.post_id, safe='')}"
        with self.client(ref.account) as http:
            capture = capture_errors(http)
            try:
                data = http.get_json(path)
            except AccountUnavailable:
                if not capture.gone():
                    raise
                status, error = capture.status, capture.field("error")
                if ref.account:
                    capture.clear()
                    try:
                        self.lookup(http, ref.account)
                    except AccountUnavailable as exc:
                        return self.post_status(ref, "unavailable", f"the account is unavailable: {exc.message}",
                                                http_status=status, endpoint=path, field="account",
                                                value=exc.reason or "not_found")
                return self.post_status(ref, "removed", f"the status answers HTTP {status} ({error or 'no detail'})",
                                        http_status=status, endpoint=path, field="error", value=error or None)
        if not isinstance(data, dict) or not _str(data.get("id")):
            raise MalformedResponse(self.platform, ref.account, f"GET {path}: expected a Status object")
        owner: dict[str, Any] = data["account"] if isinstance(data.get("account"), dict) else {}
        if owner.get("suspended") is True:
            return self.post_status(ref, "unavailable", "the author's account is suspended", http_status=200,
                                    endpoint=path, field="account.suspended", value=True)
        return self.post_status(ref, "online", "the status is served", http_status=200, endpoint=path,
                                field="visibility", value=data.get("visibility"))

    def fetch(self, account: str, cursor: dict[str, Any] | None) -> FetchResult:
        if not self.acct(account):
            raise ConnectorError(self.platform, account, "empty account handle",
                                 hint="fix the watchlist entry: use user@instance")
        cursor = cursor or {}
        since_id = _opt_str(cursor.get("since_id"))
        with self.client(account) as http:
            cached_id = _opt_str(cursor.get("account_id"))
            account_id = cached_id or self.lookup(http, account)
            url = f"/api/v1/accounts/{quote(account_id, safe='')}/statuses"
            limit = max(1, min(self.config.page_size, MAX_LIMIT))
            try:
                if since_id:
                    items, pages, stop = self._forward(http, account, url, limit, since_id)
                else:
                    items, pages, stop = self._backward(http, account, url, limit)
            except AccountUnavailable:
                if cached_id:   # why: deleted (404/410), suspended or moved
                    self.account_state(http, account, cached_id)
                raise
            if cached_id and not items:
                # nothing new: a suspended account serves no statuses and a moved one posts no more,
                # so only then is the Account read (no extra request while the account is posting)
                self.account_state(http, account, cached_id)
        items.sort(key=lambda item: id_key(_str(item.get("id")) if isinstance(item, dict) else ""), reverse=True)
        collected_at = utc_iso(self.now())
        posts = [normalise_status(item, account, collected_at) for item in items]
        newest = since_id
        for post in posts:
            if post.post_id and (newest is None or id_newer(post.post_id, newest)):
                newest = post.post_id
        new_cursor: dict[str, Any] = {"account_id": account_id, "since_id": newest}
        return FetchResult(posts=posts, raw_items=items, cursor=new_cursor, pages=pages, notes=[stop])

    def _statuses(self, http: HttpClient, account: str, url: str, params: dict[str, Any] | None) -> list[Any]:
        page = http.get_json(url, params)
        if not isinstance(page, list):
            raise MalformedResponse(self.platform, account,
                                    f"GET {urlsplit(url).path}: expected a JSON list of statuses, "
                                    f"got {type(page).__name__}")
        return page

    def _backward(self, http: HttpClient, account: str, url: str, limit: int) -> tuple[list[Any], int, str]:
        """First run: newest first (``rel="next"``) down to the look-back horizon."""
        horizon = self.now() - self.config.lookback
        items: list[Any] = []
        seen: set[str] = set()
        pages = 0
        params: dict[str, Any] | None = {"limit": limit}
        current: str | None = url
        while current is not None:
            if pages >= self.config.max_pages:
                return items, pages, (f"stopped at max_pages={self.config.max_pages}; older statuses within the "
                                      f"look-back were not collected")
            page = self._statuses(http, account, current, params)
            pages += 1
            for item in page:
                if isinstance(item, dict) and _before(item.get("created_at"), horizon):
                    return items, pages, f"reached look-back horizon {utc_iso(horizon)}"
                sid = _str(item.get("id")) if isinstance(item, dict) else ""
                if sid and sid in seen:   # never emit the same status twice in one run
                    continue
                seen.add(sid)
                items.append(item)
            next_url = parse_link_header(http.last_headers.get("link")).get("next")
            if not page or not next_url:
                return items, pages, "end of timeline"
            if next_url == current:
                raise pagination_stalled(self.platform, account, f"Link rel=next {next_url[:120]!r}")
            current, params = next_url, None
        return items, pages, "end of timeline"  # pragma: no cover - the loop always returns

    def _forward(self, http: HttpClient, account: str, url: str, limit: int,
                 since_id: str) -> tuple[list[Any], int, str]:
        """Later runs: ``min_id`` = the cursor, then ``rel="prev"`` pages (each newer than the last)."""
        items: list[Any] = []
        seen: set[str] = set()
        floor = since_id
        pages = 0
        params: dict[str, Any] | None = {"limit": limit, "min_id": since_id}
        current = url
        while True:
            if pages >= self.config.max_pages:
                return items, pages, (f"stopped at max_pages={self.config.max_pages}; newer statuses remain and "
                                      f"will be collected from since_id {floor} on the next run")
            page = self._statuses(http, account, current, params)
            pages += 1
            fresh = []
            for item in page:
                sid = _str(item.get("id")) if isinstance(item, dict) else ""
                # a server ignoring min_id could send older statuses: never re-emit at or below the cursor
                if not sid or not id_newer(sid, since_id) or sid in seen:
                    continue
                seen.add(sid)
                fresh.append(item)
            items.extend(fresh)
            if not fresh:
                return items, pages, (f"no statuses newer than since_id {since_id}" if not items
                                      else "reached the newest status")
            floor = max((_str(i["id"]) for i in fresh), key=id_key)
            prev_url = parse_link_header(http.last_headers.get("link")).get("prev")
            if len(page) < limit or not prev_url:
                return items, pages, "reached the newest status"
            if prev_url == current:
                raise pagination_stalled(self.platform, account, f"Link rel=prev {prev_url[:120]!r}")
            current, params = prev_url, None


def _before(value: Any, horizon: datetime) -> bool:
    """True when ``value`` is a parseable time older than ``horizon`` (unparseable: not before)."""
    if not isinstance(value, str):
        return False
    try:
        return parse_iso(value) < horizon
    except ValueError:
        return False


__all__ = ["MAX_LIMIT", "MastodonConnector", "html_to_text", "id_key", "id_newer", "normalise_status"]
