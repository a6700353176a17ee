"""X (Twitter) API v2: one account's posts via ``GET /2/users/:id/tweets`` (bearer token).

Flow: ``GET /2/users/by/username/:username`` once (id cached in the cursor), then the user Posts
timeline newest first, ``max_results`` up to 100, paged with ``pagination_token`` =
``meta.next_token`` until no ``next_token`` is returned. Incremental runs pass ``since_id`` (the
newest id collected); a first run passes ``start_time`` = now - look-back.

Completeness: when ``max_pages`` stops a walk before it reached the cursor, what lies between is
not dropped: the cursor records a *gap* ``{since_id | start_time, until_id}`` (both bounds are
exclusive in the API) and the next run walks the new head first, then the gaps, with the pages
left. Pagination tokens are not stored: ``until_id`` is a stable bound, tokens are not
documented to be. Only the 3,200 most recent posts are reachable at all (documented horizon).

X answers "not found", "suspended" and "protected" with HTTP 200 and a problem list
(``errors[]``, no ``data``); those become ``AccountUnavailable`` with the platform's own wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from socialhub.errors import AccountUnavailable, AuthError, ConnectorError, MalformedResponse
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult, capture_errors, utcnow
from socialhub.sources.common import Page, Walk, d, iso_or_raw, numeric_newer, opt_s, parse_time, s, walk
from socialhub.sources.http import HttpClient
from socialhub.sources.status import PostRef, PostStatus

MAX_RESULTS = 100            # /2/users/:id/tweets accepts max_results 5..100
MIN_RESULTS = 5
MAX_GAPS = 20                # unfinished ranges remembered in the cursor
PUBLIC_HOSTS = ("api.x.com", "api.twitter.com")
TWEET_FIELDS = "created_at,author_id,conversation_id,referenced_tweets,attachments,entities,note_tweet,in_reply_to_user_id"
EXPANSIONS = "author_id,attachments.media_keys,referenced_tweets.id,referenced_tweets.id.author_id"
MEDIA_FIELDS = "url,preview_image_url,type,variants"
USER_FIELDS = "username,name,protected"
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


# --------------------------------------------------------------------------------------------
# problems (HTTP 200 with errors[] and no data)
# --------------------------------------------------------------------------------------------

def problem_error(errors: Any) -> tuple[type[ConnectorError], str] | None:
    """Map the v2 problem list about the *requested* user to an exception class and message.

    ``resource-not-found`` -> deleted/renamed (or suspended: X reports that as "Forbidden" with
    the same type), ``not-authorized-for-resource`` -> protected account. Partial errors about
    *included* objects (``section: includes``) are not about the account and are ignored.
    """
    if not isinstance(errors, list):
        return None
    for problem in errors:
        p = d(problem)
        if s(p.get("section")) == "includes":
            continue
        kind = s(p.get("type")).rsplit("/", 1)[-1]
        detail = s(p.get("detail")) or s(p.get("title")) or kind
        if "suspended" in detail.lower():
            return AccountUnavailable, f"account suspended: {detail}"
        if kind == "resource-not-found":
            return AccountUnavailable, f"account not found (deleted or renamed): {detail}"
        if kind == "not-authorized-for-resource":
            return AccountUnavailable, f"protected account, posts are not public: {detail}"
        if kind in ("client-forbidden", "unsupported-authentication"):
            return AuthError, detail
    return None


# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------

class Includes:
    """The ``includes`` of every page seen, by id, so a post can be normalised on its own."""

    def __init__(self) -> None:
        self.tweets: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}

    def add(self, includes: Any) -> None:
        inc = d(includes)
        for name, key, target in (("tweets", "id", self.tweets), ("users", "id", self.users),
                                  ("media", "media_key", self.media)):
            for obj in inc.get(name) or []:
                if isinstance(obj, dict) and s(obj.get(key)):
                    target[s(obj[key])] = obj

    def evidence(self, tweet: dict[str, Any]) -> dict[str, Any]:
        """``{"data": tweet, "includes": {...}}`` with only what this post refers to: the shape of a
        single-post lookup, kept as the raw item so evidence is self-contained."""
        refs = [s(r.get("id")) for r in (d(x) for x in tweet.get("referenced_tweets") or [])]
        tweets = [self.tweets[i] for i in refs if i in self.tweets]
        keys = [s(k) for t in [tweet, *tweets] for k in d(t.get("attachments")).get("media_keys") or []]
        users = {s(t.get("author_id")) for t in [tweet, *tweets]}
        includes = {"tweets": tweets, "media": [self.media[k] for k in dict.fromkeys(keys) if k in self.media],
                    "users": [self.users[u] for u in sorted(users) if u in self.users]}
        return {"data": tweet, "includes": {k: v for k, v in includes.items() if v}}


def _media_url(media: dict[str, Any]) -> str:
    """Photo URL; for video/GIF the highest-bitrate MP4 variant, else its preview image."""
    if media.get("url"):
        return s(media["url"])
    mp4 = [v for v in (d(x) for x in media.get("variants") or []) if s(v.get("content_type")) == "video/mp4"]
    if mp4:
        best = max(mp4, key=lambda v: int(v["bit_rate"]) if isinstance(v.get("bit_rate"), int) else -1)
        if best.get("url"):
            return s(best["url"])
    return s(media.get("preview_image_url"))


def _full_text(tweet: dict[str, Any]) -> str:
    """Long posts carry their full text in ``note_tweet.text``; ``text`` is then truncated."""
    return s(d(tweet.get("note_tweet")).get("text")) or s(tweet.get("text"))


def permalink(username: str, tweet_id: str) -> str:
    if not tweet_id:
        return ""
    return f"https://x.com/{username}/status/{tweet_id}" if username else f"https://x.com/i/web/status/{tweet_id}"


def normalise_tweet(raw: Any, account: str, collected_at: str, fallback_username: str = "") -> Post:
    """One evidence item ``{"data": tweet, "includes": {...}}`` (or a bare tweet) -> Post.

    A repost (``referenced_tweets`` type ``retweeted``) is its own post (its id and time) whose
    text, media, url and author come from the original when the original was included, because
    the "RT @x: ..." text is truncated; ``repost_of`` is the original's id. A quote keeps its own
    text only. ``reply_to`` is the replied-to post id.
    """
    item = d(raw)
    tweet = d(item.get("data")) if "data" in item else item
    includes = d(item.get("includes"))
    users = {s(u.get("id")): u for u in (d(x) for x in includes.get("users") or [])}
    tweets = {s(t.get("id")): t for t in (d(x) for x in includes.get("tweets") or [])}
    media = {s(m.get("media_key")): m for m in (d(x) for x in includes.get("media") or [])}
    refs = {s(d(r).get("type")): s(d(r).get("id")) for r in tweet.get("referenced_tweets") or []}
    original = tweets.get(refs.get("retweeted", ""))
    content = original or tweet

    def username_of(t: dict[str, Any]) -> str:
        return s(d(users.get(s(t.get("author_id")))).get("username"))

    own_name = username_of(tweet) or fallback_username
    content_name = username_of(content) if original else own_name
    keys = d(content.get("attachments")).get("media_keys") or []
    return Post(
        platform="x",
        account=account,
        post_id=s(tweet.get("id")),
        url=permalink(content_name, s(content.get("id"))),
        author=content_name,
        text=_full_text(content),
        created_at=iso_or_raw(tweet.get("created_at")),
        collected_at=collected_at,
        media=[u for u in (_media_url(media[s(k)]) for k in keys if s(k) in media) if u],
        raw_sha256=raw_sha256(raw),
        reply_to=opt_s(refs.get("replied_to")),
        repost_of=opt_s(refs.get("retweeted")),
    )


# --------------------------------------------------------------------------------------------
# connector
# --------------------------------------------------------------------------------------------

class XConnector(Connector):
    """Collect one X account's public posts newer than the cursor.

    Cursor: ``{"user_id", "username", "since_id": newest id collected,
    "gaps": [{"until_id", "since_id" | "start_time"}]}``.
    """

    platform = "x"

    def __init__(self, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config, now=now, sleep=sleep)
        self.transport = transport

    def client(self, account: str) -> HttpClient:
        return HttpClient(self.config, platform=self.platform, account=account, now=self.now,
                          sleep=self.sleep, transport=self.transport)

    @staticmethod
    def parse_account(account: str) -> tuple[str | None, str | None]:
        """``@name`` / ``name`` -> (None, name); ``id:123`` -> ("123", None)."""
        handle = account.strip().lstrip("@")
        if handle.lower().startswith("id:") and handle[3:].isdigit():
            return handle[3:], None
        return None, handle

    def lookup(self, http: HttpClient, account: str, username: str) -> tuple[str, str]:
        data = http.get_json(f"/2/users/by/username/{quote(username, safe='')}", {"user.fields": USER_FIELDS})
        body = d(data)
        if not body.get("data"):
            mapped = problem_error(body.get("errors"))
            if mapped:
                cls, message = mapped
                raise cls(self.platform, account, message)
            raise MalformedResponse(self.platform, account,
                                    f"GET /2/users/by/username: expected a user object, got "
                                    f"{type(data).__name__} without data")
        user = d(body["data"])
        if not s(user.get("id")):
            raise MalformedResponse(self.platform, account, "GET /2/users/by/username: user object has no id")
        if user.get("protected") is True:
            raise AccountUnavailable(self.platform, account,
                                     f"@{s(user.get('username')) or username} is protected: its posts are not public")
        return s(user["id"]), s(user.get("username")) or username

    def _check_post(self, ref: PostRef) -> PostStatus:
        """``GET /2/tweets/:id?tweet.fields=withheld``: ``data`` is online, or restricted when it
        carries ``withheld`` (``country_codes``, ``copyright``); a problem "Not Found Error"
        (``resource-not-found``) is removed; "Authorization Error" (``not-authorized-for-resource``,
        a protected author) or a suspended author is unavailable."""
        self._check_credentials(ref.account)
        if not ref.post_id.isdigit():
            return self.post_status(ref, "error", "not an X post id (digits)")
        path = f"/2/tweets/{ref.post_id}"
        with self.client(ref.account) as http:
            capture = capture_errors(http)
            try:
                data = http.get_json(path, {"tweet.fields": "withheld,author_id,created_at",
                                            "expansions": "author_id", "user.fields": "username,protected,withheld"})
            except AccountUnavailable:
                if not capture.gone():
                    raise
                return self.post_status(ref, "removed", f"HTTP {capture.status} on the post",
                                        http_status=capture.status, endpoint=path, field="status", value=capture.status)
        body = d(data)
        tweet = d(body.get("data"))
        if not tweet:
            for problem in body.get("errors") or []:
                p = d(problem)
                title, kind = s(p.get("title")), s(p.get("type")).rsplit("/", 1)[-1]
                detail = s(p.get("detail")) or title
                evidence = {"endpoint": path, "field": "errors[].title", "value": title or kind, "detail": detail}
                if "suspended" in detail.lower():
                    return self.post_status(ref, "unavailable", f"the author is suspended: {detail}",
                                            http_status=200, **evidence)
                if kind == "not-authorized-for-resource" or title == "Authorization Error":
                    return self.post_status(ref, "unavailable", f"not public (protected author): {detail}",
                                            http_status=200, **evidence)
                if kind == "resource-not-found" or title == "Not Found Error":
                    return self.post_status(ref, "removed", f"deleted: {detail}", http_status=200, **evidence)
            raise MalformedResponse(self.platform, ref.account, f"GET {path}: neither data nor a known problem")
        withheld = d(tweet.get("withheld"))
        if withheld:
            countries = [s(c) for c in withheld.get("country_codes") or []]
            why = "copyright" if withheld.get("copyright") else f"in {', '.join(countries) or 'some countries'}"
            return self.post_status(ref, "restricted", f"withheld {why}", http_status=200, endpoint=path,
                                    field="data.withheld", value=withheld)
        return self.post_status(ref, "online", "the post is served", http_status=200, endpoint=path, field="data.id",
                                value=s(tweet.get("id")))

    def _check_credentials(self, account: str) -> None:
        host = (urlsplit(self.config.base_url).hostname or "").lower()
        if not self.config.token and host in PUBLIC_HOSTS:
            raise AuthError(self.platform, account, "the X API v2 needs a bearer token and none is configured",
                            hint="set the password of the Airflow Connection socialhub_x to an app bearer token")

    def fetch(self, account: str, cursor: dict[str, Any] | None) -> FetchResult:
        cursor = dict(cursor or {})
        user_id, username = self.parse_account(account)
        if user_id is None and (not username or not _USERNAME_RE.match(username)):
            raise ConnectorError(self.platform, account, "not a valid X username",
                                 hint="use the handle (letters, digits, _; at most 15) or id:<numeric id>")
        self._check_credentials(account)
        since_id = opt_s(cursor.get("since_id"))
        horizon = None if since_id else self.now() - self.config.lookback
        gaps = [d(g) for g in cursor.get("gaps") or [] if d(g).get("until_id")]
        includes = Includes()
        seen: set[str] = set()
        notes: list[str] = []
        collected: list[dict[str, Any]] = []
        pages_left = max(1, self.config.max_pages)
        pages = 0
        with self.client(account) as http:
            if s(cursor.get("user_id")):
                user_id, username = s(cursor["user_id"]), s(cursor.get("username")) or username
            elif user_id is None:
                user_id, username = self.lookup(http, account, username or "")

            def timeline(bounds: dict[str, str]) -> Callable[[str | None], Page[str]]:
                def fetch_page(token: str | None) -> Page[str]:
                    params: dict[str, Any] = {
                        "max_results": max(MIN_RESULTS, min(self.config.page_size, MAX_RESULTS)),
                        "tweet.fields": TWEET_FIELDS, "expansions": EXPANSIONS,
                        "media.fields": MEDIA_FIELDS, "user.fields": USER_FIELDS, **bounds}
                    if token:
                        params["pagination_token"] = token
                    return self._page(http, account, str(user_id), params, includes)
                return fetch_page

            def stop_at(lower_id: str | None, lower_time: datetime | None) -> Callable[[Any], str | None]:
                def check(tweet: Any) -> str | None:
                    tid = s(d(tweet).get("id"))
                    if lower_id and tid and not numeric_newer(tid, lower_id):
                        return f"reached since_id {lower_id}"
                    t = parse_time(d(tweet).get("created_at"))
                    if lower_time is not None and t is not None and t < lower_time:
                        return f"reached look-back horizon {utc_iso(lower_time)}"
                    return None
                return check

            def run(bounds: dict[str, str], lower_id: str | None, lower_time: datetime | None) -> Walk[str]:
                nonlocal pages_left, pages
                result = walk(timeline(bounds), None, key=lambda t: s(d(t).get("id")),
                              stop_at=stop_at(lower_id, lower_time), max_pages=pages_left, seen=seen,
                              who=(self.platform, account))
                pages_left -= result.pages
                pages += result.pages
                collected.extend(result.items)
                return result

            head_bounds = {"since_id": since_id} if since_id else {"start_time": utc_iso(horizon)}  # type: ignore[arg-type]
            head = run(head_bounds, since_id, horizon)
            new_gaps: list[dict[str, Any]] = []
            if head.complete and head.stop == "end of timeline":   # the API applied the bound itself
                notes.append(f"no posts newer than since_id {since_id}" if since_id and not head.items else
                             f"collected every post newer than since_id {since_id}" if since_id else
                             f"collected every post since the look-back horizon {utc_iso(horizon)}")  # type: ignore[arg-type]
            elif head.complete:
                notes.append(head.stop)
            else:
                oldest = _oldest_id(head.items)
                target = f"since_id {since_id}" if since_id else "the look-back horizon"
                if oldest:
                    new_gaps.append({**({"since_id": since_id} if since_id else {"start_time": utc_iso(horizon)}),  # type: ignore[arg-type]
                                     "until_id": oldest})
                    notes.append(f"{head.stop}; older posts down to {target} will be collected on the next run "
                                 f"(gap recorded)")
                else:
                    notes.append(f"{head.stop} before any post arrived; posts down to {target} may be missing")
            for gap in gaps:
                if pages_left <= 0:
                    new_gaps.append(gap)
                    continue
                lower_id = opt_s(gap.get("since_id"))
                lower_time = parse_time(gap.get("start_time"))
                bounds = {"until_id": s(gap["until_id"]),
                          **({"since_id": lower_id} if lower_id else
                             {"start_time": utc_iso(lower_time)} if lower_time else {})}
                result = run(bounds, lower_id, lower_time)
                if result.complete:
                    notes.append(f"closed a gap below {gap['until_id']} ({len(result.items)} post(s))")
                else:
                    new_gaps.append({**gap, "until_id": _oldest_id(result.items) or s(gap["until_id"])})
            if len(new_gaps) > MAX_GAPS:
                notes.append(f"more than {MAX_GAPS} unfinished ranges: the oldest {len(new_gaps) - MAX_GAPS} were "
                             f"dropped and their posts may be missing; raise max_pages")
                new_gaps = new_gaps[:MAX_GAPS]

        collected_at = utc_iso(self.now())
        raw_items = [includes.evidence(t) for t in collected]
        posts = [normalise_tweet(raw, account, collected_at, username or "") for raw in raw_items]
        newest = since_id
        for post in posts:
            if post.post_id.isdigit() and (newest is None or numeric_newer(post.post_id, newest)):
                newest = post.post_id
        new_cursor: dict[str, Any] = {"user_id": user_id, "username": username, "since_id": newest}
        if new_gaps:
            new_cursor["gaps"] = new_gaps
        return FetchResult(posts=posts, raw_items=raw_items, cursor=new_cursor, pages=pages, notes=notes,
                           renamed_to=self._renamed_to(account, includes.users.get(str(user_id))))

    def _renamed_to(self, account: str, user: dict[str, Any] | None) -> str | None:
        """The timeline is read by the cached user id, so a renamed account keeps being collected;
        its current ``username`` (in ``includes.users``) tells the watchlist's handle is stale."""
        _, watched = self.parse_account(account)
        current = s(d(user).get("username"))
        if not watched or not current:
            return None
        return "" if current.lower() == watched.lower() else current

    def _page(self, http: HttpClient, account: str, user_id: str, params: dict[str, Any],
              includes: Includes) -> Page[str]:
        path = f"/2/users/{quote(user_id, safe='')}/tweets"
        body = http.get_json(path, params)
        if not isinstance(body, dict):
            raise MalformedResponse(self.platform, account,
                                    f"GET {path}: expected a JSON object, got {type(body).__name__}")
        data = body.get("data")
        if data is None:
            mapped = problem_error(body.get("errors"))
            if mapped:
                cls, message = mapped
                raise cls(self.platform, account, message)
            if "meta" not in body:
                raise MalformedResponse(self.platform, account, f"GET {path}: neither data nor meta in the response")
            data = []
        if not isinstance(data, list):
            raise MalformedResponse(self.platform, account,
                                    f"GET {path}: expected 'data' to be a list, got {type(data).__name__}")
        includes.add(body.get("includes"))
        token = s(d(body.get("meta")).get("next_token")) or None
        return Page(items=data, next=token)


def _oldest_id(tweets: list[Any]) -> str | None:
    ids = [s(d(t).get("id")) for t in tweets if s(d(t).get("id")).isdigit()]
    return min(ids, key=int) if ids else None


__all__ = ["Includes", "XConnector", "normalise_tweet", "permalink", "problem_error"]
