"""Reddit: a user's submitted posts and comments, newest first, from the public listings.

Endpoints: ``/user/{name}/submitted`` and ``/user/{name}/comments`` with ``sort=new``,
``limit`` (max 100), ``raw_json=1`` (so text is not HTML-escaped) and ``after=<fullname>``
for the next (older) page; the end is ``data.after == null``. Without credentials the public
``www.reddit.com`` listings are used (``.json`` suffix, 10 queries/min); with OAuth
(``Authorization: Bearer``, base ``https://oauth.reddit.com``) the OAuth API (100 queries/min).

OAuth, the way Reddit means it for a server: an app's *client credentials* (the Airflow
Connection ``socialhub_reddit``: login = client id, password = client secret) are exchanged at
``https://www.reddit.com/api/v1/access_token`` (``extra.token_url``; on any other host
``<base_url>/api/v1/access_token``, as the replay server serves it) for an app token that expires
after about an hour. The token is cached per process, renewed five minutes before it expires,
and once more if the API answers 401 (revoked, or the clock was off). Neither the secret nor the
token is ever logged or put in a message. A connection with only a password is sent as a fixed
bearer token (it stops working when it expires).
Reddit throttles generic User-Agents: set ``extra.user_agent`` to
``<platform>:<app id>:<version> (by /u/<name>)`` as Reddit asks.

Each listing has its own cursor part: the newest time collected (``created_utc``), the
fullnames of the most recent items (ties within a second), and *gaps*: when ``max_pages``
stops a walk before it reached the cursor, the ``after`` continuation is stored and the next
run finishes it. ``before=`` (paging towards newer items) is deliberately not used: Reddit
returns an empty page when the anchor item has been deleted, which would silently hide every
newer post; walking newest first needs no anchor. A gap's ``after`` anchor has the same
weakness, so a gap that ends without meeting the cursor is reported in the notes. Listings
stop at about 1,000 items (documented horizon).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError, MalformedResponse
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult, utcnow
from socialhub.sources.common import Page, d, epoch_time, opt_s, parse_time, precise, recent_ids, s, walk
from socialhub.sources.http import ErrorMapping, HttpClient
from socialhub.sources.status import PostRef, PostStatus

MAX_LIMIT = 100
KNOWN_KEPT = 50
MAX_GAPS = 10
LISTINGS = ("submitted", "comments")
ALLOWED_LISTINGS = ("submitted", "comments", "overview")
SITE = "https://www.reddit.com"
OAUTH_BASE = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
TOKEN_PATH = "/api/v1/access_token"
RENEW_BEFORE = timedelta(minutes=5)        # renew an app token this long before it expires
DEFAULT_TOKEN_LIFETIME = 3600              # seconds, when the answer gives no usable expires_in
log = logging.getLogger(__name__)
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{3,20}$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def reddit_error(token_set: bool) -> Callable[[int, Any], ErrorMapping | None]:
    """Reddit's errors, per account.

    * 404 ``{"message": "Not Found", "error": 404}``: no such user (deleted, or never existed)
    * 400 ``reason: USER_DOESNT_EXIST``: the same, from newer endpoints
    * 403 with a JSON body and no token: the account is suspended or its profile is not public;
      with a token it is a permission problem; a 403 *HTML* page is Reddit's network block
      ("blocked by network security"), which is about us, not the account
    """

    def hook(status: int, body: Any) -> ErrorMapping | None:
        reason = s(d(body).get("reason")).upper()
        if status == 403 and reason == "SUSPENDED":   # with or without a token: the account, not us
            return ErrorMapping(AccountUnavailable, hint="the Reddit account is suspended: review the watchlist entry")
        if status == 404 or reason == "USER_DOESNT_EXIST":
            return ErrorMapping(AccountUnavailable, hint="no such Reddit user: deleted, or the name is misspelt; "
                                                         "review the watchlist entry")
        if status == 403 and not isinstance(body, dict):
            return ErrorMapping(AuthError, hint="Reddit blocked the request (network security page): use OAuth "
                                                "credentials and a descriptive extra.user_agent")
        if status == 403 and not token_set:
            return ErrorMapping(AccountUnavailable, hint="the account is suspended or its profile is not public; "
                                                         "review the watchlist entry")
        return None

    return hook


# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------

def _url(value: Any) -> str:
    """Listing URLs are HTML-escaped unless ``raw_json=1`` was honoured: undo ``&amp;``."""
    return html.unescape(s(value)).strip()


def thing_media(thing: dict[str, Any]) -> list[str]:
    """Images and videos of a post or comment: hosted video, gallery / inline images
    (``media_metadata``), the link itself when it is an image, else the preview image."""
    urls: list[str] = []
    video = d(d(thing.get("secure_media") or thing.get("media")).get("reddit_video"))
    if video.get("fallback_url"):
        urls.append(_url(video["fallback_url"]))
    gallery = [s(d(i).get("media_id")) for i in d(thing.get("gallery_data")).get("items") or []]
    metadata = d(thing.get("media_metadata"))
    for key in gallery or list(metadata):
        meta = d(metadata.get(key))
        source = d(meta.get("s"))
        url = source.get("u") or source.get("mp4") or source.get("gif")
        if url:
            urls.append(_url(url))
    link = _url(thing.get("url_overridden_by_dest") or thing.get("url"))
    if s(thing.get("post_hint")) == "image" or re.search(r"\.(jpe?g|png|gif|webp|mp4)(\?|$)", link, re.I):
        urls.append(link)
    if not urls:
        for image in d(thing.get("preview")).get("images") or []:
            url = d(d(image).get("source")).get("url")
            if url:
                urls.append(_url(url))
                break
    return list(dict.fromkeys(u for u in urls if u))


def normalise_thing(child: Any, account: str, collected_at: str) -> Post:
    """One listing child ``{"kind": "t3"|"t1", "data": {...}}`` -> Post.

    Submission (t3): text = title, self text and (for link posts) the link; ``repost_of`` = the
    crossposted submission. Comment (t1): text = body, ``reply_to`` = ``parent_id`` (a comment
    or the submission). ``post_id`` is the fullname (``t3_…``/``t1_…``), unique across kinds.
    """
    kind = s(d(child).get("kind"))
    thing = d(d(child).get("data"))
    fullname = s(thing.get("name")) or (f"{kind}_{s(thing.get('id'))}" if thing.get("id") and kind else "")
    permalink = s(thing.get("permalink"))
    url = f"{SITE}{permalink}" if permalink.startswith("/") else permalink
    created = epoch_time(thing.get("created_utc"))
    if kind == "t1":
        text = s(thing.get("body"))
        reply_to = opt_s(thing.get("parent_id"))
        repost_of = None
    else:
        parts = [s(thing.get("title")), s(thing.get("selftext"))]
        link = _url(thing.get("url_overridden_by_dest") or thing.get("url"))
        if link and not thing.get("is_self") and link != url:
            parts.append(link)
        text = "\n\n".join(p for p in parts if p.strip())
        reply_to = None
        repost_of = opt_s(thing.get("crosspost_parent"))
    return Post(
        platform="reddit",
        account=account,
        post_id=fullname,
        url=url,
        author=s(thing.get("author")),
        text=text,
        created_at=utc_iso(created) if created else "",
        collected_at=collected_at,
        media=thing_media(thing),
        raw_sha256=raw_sha256(child),
        reply_to=reply_to,
        repost_of=repost_of,
    )


def _name(child: Any) -> str:
    thing = d(d(child).get("data"))
    return s(thing.get("name")) or (f"{s(d(child).get('kind'))}_{s(thing.get('id'))}" if thing.get("id") else "")


def _time(child: Any) -> datetime | None:
    return epoch_time(d(d(child).get("data")).get("created_utc"))


def _pinned(child: Any) -> bool:
    thing = d(d(child).get("data"))
    return bool(thing.get("pinned") or thing.get("stickied"))


# --------------------------------------------------------------------------------------------
# OAuth app tokens (client credentials)
# --------------------------------------------------------------------------------------------

_TOKENS: dict[tuple[str, str, str], tuple[str, datetime]] = {}   # (token url, client id, secret hash) -> token
_TOKENS_LOCK = threading.Lock()


def forget_app_tokens() -> None:
    """Drop every cached app token (tests; a rotated secret needs nothing: it is part of the key)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


# --------------------------------------------------------------------------------------------
# connector
# --------------------------------------------------------------------------------------------

class RedditConnector(Connector):
    """Collect one Reddit user's submissions and comments newer than the cursor.

    Cursor: ``{"<listing>": {"newest_time": ISO, "known": [fullnames, newest first],
    "gaps": [{"after", "stop_time", "stop_known"}]}}`` for each listing in
    ``extra.reddit_listings`` (default ``["submitted", "comments"]``; ``["overview"]`` gets both
    kinds in half the requests).
    """

    platform = "reddit"

    def __init__(self, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config, now=now, sleep=sleep)
        self.transport = transport
        self.app = bool(config.client_id and config.client_secret)
        self.oauth = self.app or bool(config.token)
        # an app token is only good on oauth.reddit.com, not on the public www.reddit.com
        self.api_config = (dataclasses.replace(config, base_url=OAUTH_BASE)
                           if self.app and _host(config.base_url) in ("www.reddit.com", "reddit.com") else config)

    def client(self, account: str) -> HttpClient:
        return HttpClient(self.api_config, platform=self.platform, account=account, now=self.now, sleep=self.sleep,
                          transport=self.transport, error_hook=reddit_error(self.oauth))

    # -- OAuth ---------------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        configured = self.config.extra.get("token_url")
        if configured:
            return str(configured)
        if _host(self.config.base_url).endswith("reddit.com"):
            return TOKEN_URL
        return self.config.base_url.rstrip("/") + TOKEN_PATH

    def _token_key(self) -> tuple[str, str, str]:
        secret = hashlib.sha256((self.config.client_secret or "").encode()).hexdigest()[:16]
        return self.token_url, self.config.client_id or "", secret

    def app_token(self, account: str, *, renew: bool = False) -> str:
        """A live app token: the cached one unless it expires within ``RENEW_BEFORE`` (or
        ``renew``), else a new one from the token endpoint."""
        key = self._token_key()
        now = self.now()
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
            if cached is not None and not renew and cached[1] - RENEW_BEFORE > now:
                return cached[0]
        token, lifetime = self._request_token(account)
        with _TOKENS_LOCK:
            _TOKENS[key] = (token, now + timedelta(seconds=lifetime))
        log.info("reddit: obtained an app token (valid %ds)", lifetime)
        return token

    def _request_token(self, account: str) -> tuple[str, int]:
        url = self.token_url
        config = ConnectorConfig(base_url=url, timeout=self.config.timeout, max_wait=self.config.max_wait,
                                 extra={k: v for k, v in self.config.extra.items()
                                        if k in ("user_agent", "max_body_bytes")})
        with HttpClient(config, platform=self.platform, account=account, now=self.now, sleep=self.sleep,
                        transport=self.transport, auth="none") as http:
            try:
                body = http.post_form(url, {"grant_type": "client_credentials"},
                                      basic_auth=(self.config.client_id or "", self.config.client_secret or ""))
            except AuthError as exc:
                exc.hint = ("Reddit rejected the app's client credentials: check the client id (login) and the "
                            "secret (password) of the connection socialhub_reddit")
                raise
        token = s(d(body).get("access_token"))
        if not token or s(d(body).get("token_type")).lower() not in ("", "bearer"):
            problem = s(d(body).get("error")) or "no bearer access_token"
            raise AuthError(self.platform, account, f"the Reddit token endpoint gave no app token ({problem[:80]})",
                            hint="the connection socialhub_reddit must hold a script or web app's client id "
                                 "(login) and secret (password)")
        lifetime = d(body).get("expires_in")
        seconds = int(lifetime) if isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool) else 0
        return token, min(max(seconds, 60), 86_400) if seconds else DEFAULT_TOKEN_LIFETIME

    def _get_listing(self, http: HttpClient, account: str, path: str, params: dict[str, Any]) -> Any:
        """GET a listing page; with an app, under a live token, renewed once on a 401."""
        if not self.app:
            return http.get_json(path, params)
        http.set_token(self.app_token(account))
        try:
            return http.get_json(path, params)
        except AuthError as exc:
            if exc.status != 401:
                raise
            log.info("reddit: 401 with the cached app token; renewing it once")
            http.set_token(self.app_token(account, renew=True))
            return http.get_json(path, params)

    def _check_post(self, ref: PostRef) -> PostStatus:
        """``/api/info?id=<fullname>`` (``.json`` without OAuth): no child is removed; a child with
        ``removed_by_category`` set (``deleted`` = by its author; ``moderator``, ``reddit``,
        ``anti_evil_ops``, ``copyright_takedown``, ... = by the platform) or a body of
        ``[removed]``/``[deleted]`` is removed; ``quarantine: true`` restricted."""
        fullname = ref.post_id.strip()
        if not re.fullmatch(r"t[13]_[a-z0-9]+", fullname):
            return self.post_status(ref, "error", "not a Reddit fullname (t3_… or t1_…)")
        path = "/api/info" + ("" if self.oauth else ".json")
        with self.client(ref.account) as http:
            body = self._get_listing(http, ref.account, path, {"id": fullname, "raw_json": 1})
        data = d(body).get("data") if d(body).get("kind") == "Listing" else None
        children = d(data).get("children")
        if not isinstance(children, list):
            raise MalformedResponse(self.platform, ref.account, f"GET {path}: expected a Listing")
        evidence: dict[str, Any] = {"endpoint": path}
        thing = next((d(d(c).get("data")) for c in children if _name(c) == fullname), None)
        if thing is None:
            return self.post_status(ref, "removed", "api/info returned nothing for the id", http_status=200,
                                    field="data.children", value=[], **evidence)
        category = s(thing.get("removed_by_category"))
        if category:
            by = "its author" if category in ("deleted", "author") else f"Reddit ({category})"
            return self.post_status(ref, "removed", f"removed by {by}", http_status=200,
                                    field="removed_by_category", value=category, **evidence)
        for key in ("selftext", "body"):
            if s(thing.get(key)) in ("[removed]", "[deleted]"):
                return self.post_status(ref, "removed", f"{key} is {thing[key]}", http_status=200, field=key,
                                        value=thing[key], **evidence)
        if thing.get("quarantine") is True:
            return self.post_status(ref, "restricted", "the subreddit is quarantined", http_status=200,
                                    field="quarantine", value=True, **evidence)
        return self.post_status(ref, "online", "the item is served", http_status=200, field="removed_by_category",
                                value=None, author=s(thing.get("author")) or None, **evidence)

    def listings(self, account: str) -> tuple[str, ...]:
        wanted = tuple(self.config.extra.get("reddit_listings") or LISTINGS)
        bad = [w for w in wanted if w not in ALLOWED_LISTINGS]
        if bad:
            raise ConnectorError(self.platform, account, f"unknown Reddit listing(s) {bad}",
                                 hint=f"extra.reddit_listings may contain {', '.join(ALLOWED_LISTINGS)}")
        return wanted

    @staticmethod
    def username(account: str) -> str:
        """``u/name``, ``/u/name``, ``/user/name``, ``name`` -> ``name``."""
        return re.sub(r"^/?(u|user)/", "", account.strip(), flags=re.I).strip("/")

    def fetch(self, account: str, cursor: dict[str, Any] | None) -> FetchResult:
        name = self.username(account)
        if not _NAME_RE.match(name):
            raise ConnectorError(self.platform, account, "not a valid Reddit username",
                                 hint="use the name without u/ (3-20 letters, digits, _ or -)")
        cursor = dict(cursor or {})
        new_cursor: dict[str, Any] = {}
        items: list[Any] = []
        notes: list[str] = []
        seen: set[str] = set()
        pages = 0
        with self.client(account) as http:
            for listing in self.listings(account):
                part, got, used, listing_notes = self._listing(http, account, name, listing, d(cursor.get(listing)),
                                                               seen)
                new_cursor[listing] = part
                items.extend(got)
                pages += used
                notes.extend(f"{listing}: {n}" for n in listing_notes)
        collected_at = utc_iso(self.now())
        posts = [normalise_thing(child, account, collected_at) for child in items]
        return FetchResult(posts=posts, raw_items=items, cursor=new_cursor, pages=pages, notes=notes)

    def _listing(self, http: HttpClient, account: str, name: str, listing: str, part: dict[str, Any],
                 seen: set[str]) -> tuple[dict[str, Any], list[Any], int, list[str]]:
        path = f"/user/{name}/{listing}" + ("" if self.oauth else ".json")
        limit = max(1, min(self.config.page_size, MAX_LIMIT))

        def fetch_page(after: str | None) -> Page[str]:
            params: dict[str, Any] = {"sort": "new", "limit": limit, "raw_json": 1}
            if after:
                params["after"] = after
            body = self._get_listing(http, account, path, params)
            data = d(body).get("data") if d(body).get("kind") == "Listing" else None
            children = d(data).get("children")
            if not isinstance(children, list):
                raise MalformedResponse(self.platform, account,
                                        f"GET {path}: expected a Listing with data.children, got "
                                        f"{type(body).__name__}{' of kind ' + s(d(body).get('kind')) if isinstance(body, dict) else ''}")
            return Page(items=children, next=opt_s(d(data).get("after")))

        def stop_at(stop_time: datetime | None, known: set[str], why: str) -> Callable[[Any], str | None]:
            def check(child: Any) -> str | None:
                if _name(child) in known:
                    return "reached an already collected item"
                t = _time(child)
                if stop_time is not None and t is not None and t < stop_time:
                    return why
                return None
            return check

        newest_time = parse_time(part.get("newest_time"))
        known = {k for k in part.get("known") or [] if isinstance(k, str)}
        first_run = newest_time is None and not known
        lower = self.now() - self.config.lookback if first_run else newest_time
        why = f"reached look-back horizon {utc_iso(lower)}" if first_run and lower else "reached the cursor"
        pages_left = max(1, self.config.max_pages)
        notes: list[str] = []
        collected: list[Any] = []
        head = walk(fetch_page, None, key=_name, stop_at=stop_at(lower, known, why), max_pages=pages_left,
                    seen=seen, pinned=_pinned, end_note="end of listing",
                    who=(self.platform, account))
        pages_left -= head.pages
        collected.extend(head.items)
        gaps: list[dict[str, Any]] = []
        if head.complete:
            notes.append(head.stop if head.items or head.stop != "reached an already collected item"
                         else "nothing new")
        else:
            gaps.append({"after": head.resume, "stop_time": precise(lower) if lower else None,
                         "stop_known": sorted(known)[:KNOWN_KEPT]})
            notes.append(f"{head.stop}; the rest down to the cursor will be collected on the next run (gap recorded)")
        for gap in (d(g) for g in part.get("gaps") or []):
            if not gap.get("after"):
                continue
            if pages_left <= 0:
                gaps.append(gap)
                continue
            gap_known = {k for k in gap.get("stop_known") or [] if isinstance(k, str)}
            result = walk(fetch_page, s(gap["after"]), key=_name,
                          stop_at=stop_at(parse_time(gap.get("stop_time")), gap_known, "reached the cursor"),
                          max_pages=pages_left, seen=seen, pinned=_pinned, end_note="end of listing",
                          who=(self.platform, account))
            pages_left -= result.pages
            collected.extend(result.items)
            if not result.complete:
                gaps.append({**gap, "after": result.resume})
            elif result.stop == "end of listing" and not result.items:
                notes.append(f"a gap after {gap['after']} ended at once: nothing older exists, or that item was "
                             f"deleted (Reddit then lists nothing after it), so items in between may be missing")
            else:
                where = " at the end of the listing" if result.stop == "end of listing" else ""
                notes.append(f"closed a gap after {gap['after']}{where} ({len(result.items)} item(s))")
        if len(gaps) > MAX_GAPS:
            notes.append(f"dropped {len(gaps) - MAX_GAPS} unfinished range(s); raise max_pages")
            gaps = gaps[:MAX_GAPS]

        new_part: dict[str, Any] = {}
        tops = [t for t in (newest_time, max((t for t in map(_time, collected) if t), default=None)) if t]
        if tops:
            new_part["newest_time"] = precise(max(tops))
        fresh = [_name(c) for c in sorted(collected, key=lambda c: _time(c) or EPOCH, reverse=True)]
        merged = recent_ids(fresh, part.get("known") or [], KNOWN_KEPT)
        if merged:
            new_part["known"] = merged
        if gaps:
            new_part["gaps"] = gaps
        return new_part, collected, max(1, self.config.max_pages) - pages_left, notes


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


__all__ = ["LISTINGS", "RedditConnector", "forget_app_tokens", "normalise_thing", "reddit_error", "thing_media"]
