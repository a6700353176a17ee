"""Emulated Reddit user listings (public ``.json`` and OAuth paths) for the replay server.

* ``GET /user/:name/submitted``, ``/comments``, ``/overview`` (with or without ``.json``) ->
  ``{"kind": "Listing", "data": {"after", "before", "dist", "children": [{"kind", "data"}]}}``,
  newest first (``sort=new``), ``limit`` default 25 / max 100, ``after=<fullname>`` (older) and
  ``before=<fullname>`` (newer); like Reddit, an anchor that no longer exists (deleted) yields an
  empty listing. ``raw_json=1`` turns off the HTML-escaping of ``&`` in URLs and text.
* ``GET /user/:name/about`` -> ``{"kind": "t2", "data": {...}}``
* ``GET /api/info?id=t3_…,t1_…`` -> a Listing of those things; a removed one stays there with
  ``removed_by_category`` and ``[deleted]``/``[removed]`` (``remove_post``)
* unknown user -> 404 ``{"message": "Not Found", "error": 404}``; a suspended account -> 403
  ``{"reason": "suspended", "message": "Forbidden", "error": 403}``
* ``POST /api/v1/access_token`` (HTTP Basic auth = client id and secret, form
  ``grant_type=client_credentials``) -> ``{"access_token", "token_type": "bearer", "expires_in",
  "scope": "*"}``, for the apps listed under ``oauth_clients`` in the data or registered with
  ``register_client``; a wrong id or secret -> 401, another grant type -> 200
  ``{"error": "unsupported_grant_type"}`` (as Reddit answers). A listing request with a bearer
  token that was issued here but has expired -> 401; with ``required`` every listing request needs
  a live token (the public ``.json`` listings too).
* headers ``X-Ratelimit-Used`` / ``-Remaining`` (float) / ``-Reset`` (seconds until the window
  ends; the window is 10 minutes); 429 ``{"message": "Too Many Requests", "error": 429}``.

Ids are base-36 numbers growing with the post time (from the server clock) plus a sequence.
"""

from __future__ import annotations

import base64
import binascii
import copy
import html
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from socialhub.replay.api import (
    PlatformAPI,
    RateWindow,
    Request,
    Response,
    apply_malformations,
    b32,
    base36,
    check_post_keys,
    digest,
    header,
    json_response,
    parse_age,
)
from socialhub.replay.media import thumbnail_spec

REDDIT_EPOCH = datetime.fromisoformat("2005-06-23T00:00:00+00:00")
ACCOUNT_CREATED = datetime.fromisoformat("2021-09-01T00:00:00+00:00")
SITE = "https://www.reddit.com"
IMAGE_HOST = "https://i.hubdemo.example"
PREVIEW_HOST = "https://preview.hubdemo.example"
VIDEO_HOST = "https://v.hubdemo.example"
_VIDEO_EXT = (".mp4", ".mov", ".webm")
TOKEN_PATH = "/api/v1/access_token"


class RedditAPI(PlatformAPI):
    platform = "reddit"
    default_limit = 100       # 100 queries per minute per OAuth client, averaged over 10 minutes
    default_window = 600.0

    def __init__(self, spec: Mapping[str, Any], *, now: Any) -> None:
        super().__init__(spec, now=now)
        self._seq = 0
        self._users: dict[str, dict[str, Any]] = {}       # name (lower) -> {"name", "suspended", "id"}
        self._things: dict[str, list[dict[str, Any]]] = {}  # name (lower) -> children, newest first
        self._labels: dict[str, dict[str, Any]] = {}
        self._removed: dict[str, dict[str, Any]] = {}      # fullname -> a removed thing (still in /api/info)
        self._clients: dict[str, str] = {}                 # OAuth app: client id -> secret
        self._issued: dict[str, datetime] = {}             # access token -> expiry (server clock)
        self.token_lifetime = float(spec.get("token_lifetime") or 3600)
        self.app_token_required = False
        self.tokens_issued = 0
        for client in spec.get("oauth_clients") or []:
            self.register_client(str(client["client_id"]), str(client["client_secret"]))
        for entry in spec.get("accounts") or []:
            name = str(entry["username"])
            self._users[name.lower()] = {"name": name, "suspended": bool(entry.get("suspended")),
                                         "id": base36(int.from_bytes(digest("reddit-user", name.lower())[:5], "big"))}
            self._things[name.lower()] = []
            for index, post in enumerate(entry.get("posts") or []):
                check_post_keys(post, f"reddit account {name} post #{index + 1}")
                self.add_post(name, post)

    # -- data ---------------------------------------------------------------------------------

    def _id(self, when: datetime) -> str:
        self._seq += 1
        return base36(int((when - REDDIT_EPOCH).total_seconds() * 100) * 64 + (self._seq & 63))

    def _media_fields(self, thing_id: str, names: list[Any]) -> dict[str, Any]:
        if not names:
            return {}
        item = names[0]
        name = str(item.get("file") if isinstance(item, dict) else item)
        if name.lower().endswith(_VIDEO_EXT):
            return {"is_video": True, "post_hint": "hosted:video", "url": f"{VIDEO_HOST}/{thing_id}",
                    "secure_media": {"reddit_video": {
                        "fallback_url": self.media_url(f"{VIDEO_HOST}/{thing_id}/DASH_720.mp4?source=fallback", item),
                        "hls_url": f"{VIDEO_HOST}/{thing_id}/HLSPlaylist.m3u8?a=1&v=1", "duration": 14}}}
        key = b32(digest(thing_id, name))[:13]
        preview = f"{PREVIEW_HOST}/{key}.jpg?width=1080&format=pjpg&s=ab12"
        return {"post_hint": "image", "url": self.media_url(f"{IMAGE_HOST}/{key}.jpg", item), "domain": "i.hubdemo.example",
                "preview": {"images": [{"source": {"url": self.media_url(preview, thumbnail_spec(item, size=(1080, 1350))),
                                                   "width": 1080, "height": 1350}, "id": key}], "enabled": True}}

    def add_post(self, account: str, post: Mapping[str, Any]) -> dict[str, Any]:
        check_post_keys(post, f"reddit post for {account}")
        user = self._users.get(account.strip().lower().removeprefix("u/"))
        if user is None:
            raise KeyError(f"unknown reddit account {account!r}; known: {', '.join(self.accounts())}")
        if post.get("reply_to") and str(post["reply_to"]) not in self._labels:
            raise ValueError(f"reply_to unknown label {post['reply_to']!r}; labels must be defined before use")
        created = self.now() - parse_age(post.get("age"))
        tid = self._id(created)
        name = user["name"]
        subreddit = str(post.get("subreddit") or f"u_{name}")
        epoch = float(int(created.timestamp()))
        if str(post.get("kind") or "post") == "comment":
            parent = self._labels.get(str(post.get("reply_to") or ""))
            if parent is not None:
                link_id = parent["data"].get("link_id") or parent["data"]["name"]
                parent_id = parent["data"]["name"]
                subreddit = parent["data"]["subreddit"]
                link_title = parent["data"].get("link_title") or parent["data"].get("title", "")
            else:
                link_id = f"t3_{self._id(created - timedelta(hours=1))}"
                parent_id, link_title = link_id, "Discussion thread"
            slug = re.sub(r"[^a-z0-9]+", "_", link_title.lower()).strip("_")[:40] or "thread"
            link_permalink = f"/r/{subreddit}/comments/{link_id[3:]}/{slug}/"
            thing: dict[str, Any] = {"kind": "t1", "data": {
                "id": tid, "name": f"t1_{tid}", "author": name, "author_fullname": f"t2_{user['id']}",
                "body": str(post.get("text") or ""), "body_html": "", "parent_id": parent_id, "link_id": link_id,
                "link_title": link_title, "link_permalink": SITE + link_permalink, "subreddit": subreddit,
                "subreddit_name_prefixed": f"r/{subreddit}", "permalink": f"{link_permalink}{tid}/",
                "created": epoch, "created_utc": epoch, "score": 1, "stickied": False, "edited": False,
                "distinguished": None, "over_18": False}}
        else:
            title = str(post.get("title") or str(post.get("text") or "").split("\n")[0][:120] or "(untitled)")
            slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:40] or "post"
            permalink = f"/r/{subreddit}/comments/{tid}/{slug}/"
            link = post.get("link")
            link_url = (link["url"] if isinstance(link, dict) else str(link)) if link else None
            data: dict[str, Any] = {
                "id": tid, "name": f"t3_{tid}", "author": name, "author_fullname": f"t2_{user['id']}",
                "title": title, "selftext": str(post.get("text") or "") if post.get("title") else "",
                "is_self": not link_url and not post.get("media"), "subreddit": subreddit,
                "subreddit_name_prefixed": f"r/{subreddit}" if not subreddit.startswith("u_") else f"u/{name}",
                "permalink": permalink, "url": link_url or SITE + permalink,
                "domain": (link_url.split("/")[2] if link_url else f"self.{subreddit}"),
                "created": epoch, "created_utc": epoch, "num_comments": 0, "score": 1, "over_18": False,
                "stickied": False, "pinned": False, "is_video": False, "thumbnail": "self", "edited": False}
            data.update(self._media_fields(tid, list(post.get("media") or [])))
            if post.get("repost"):
                spec = post["repost"]
                original = self._labels.get(str(spec.get("of") or ""))
                if original is None:
                    raise ValueError(f"repost needs of: <label of a post defined before>, got {dict(spec)!r}")
                data["crosspost_parent"] = original["data"]["name"]
                data["crosspost_parent_list"] = [copy.deepcopy(original["data"])]
                data["title"] = original["data"]["title"]
                data["url"] = SITE + original["data"]["permalink"]
                data["is_self"] = False
            thing = {"kind": "t3", "data": data}
        apply_malformations(thing["data"], post)
        self.note_removed(post, str(thing["data"].get("name") or ""))
        if post.get("label"):
            self._labels[str(post["label"])] = thing
        things = self._things[name.lower()]
        things.append(thing)
        things.sort(key=lambda t: (t["data"].get("created_utc") or 0, t["data"].get("name", "")), reverse=True)
        return copy.deepcopy(thing)

    def accounts(self) -> list[str]:
        return [u["name"] for u in self._users.values()]

    # -- states -----------------------------------------------------------------------------------

    def remove_post(self, post_id: str, by: str = "deleted") -> None:
        """The author deletes the post (``by="deleted"``) or a moderator / Reddit removes it
        (``"moderator"``, ``"reddit"``, ...): it leaves the user's listings; ``/api/info`` still
        returns it, with ``removed_by_category`` and ``[deleted]``/``[removed]`` as its text."""
        for _name, things in self._things.items():
            for thing in things:
                if thing["data"].get("name") == post_id:
                    things.remove(thing)
                    marker = "[deleted]" if by == "deleted" else "[removed]"
                    data = thing["data"]
                    data["removed_by_category"] = by
                    data["selftext" if thing["kind"] == "t3" else "body"] = marker
                    if by == "deleted":
                        data["author"] = "[deleted]"
                    self._removed[post_id] = thing
                    return
        raise KeyError(f"no reddit post {post_id!r}")

    def suspend_account(self, account: str) -> None:
        user = self._users.get(account.strip().lower().removeprefix("u/"))
        if user is None:
            raise KeyError(f"unknown reddit account {account!r}; known: {', '.join(self.accounts())}")
        user["suspended"] = True

    def rename_account(self, account: str, new_name: str) -> None:
        raise NotImplementedError("reddit: a Reddit username cannot be changed (the account is deleted and a new "
                                  "one made instead: use suspend_account or a new watchlist entry)")

    def _info(self, q: dict[str, str]) -> Response:
        """``/api/info?id=t3_…,t1_…``: the things by fullname, removed ones included."""
        wanted = [i for i in q.get("id", "").split(",") if i]
        every = {t["data"].get("name"): t for things in self._things.values() for t in things}
        every.update(self._removed)
        return self._page([every[i] for i in wanted if i in every], None, None, q)

    # -- OAuth (client credentials) -------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str, *, lifetime: float | None = None,
                        required: bool = False) -> None:
        self._clients[client_id] = client_secret
        if lifetime is not None:
            self.token_lifetime = lifetime
        self.app_token_required = self.app_token_required or required

    def accepts(self, req: Request) -> bool:
        return req.method == "GET" or (req.method == "POST" and req.path == TOKEN_PATH)

    def public(self, req: Request) -> bool:
        return req.path == TOKEN_PATH

    def _issue_token(self, req: Request) -> Response:
        if req.method != "POST":
            return self.error(405, "Method Not Allowed")
        scheme, _, encoded = (header(req, "Authorization") or "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = ""
        if scheme.lower() != "basic" or not client_id or self._clients.get(client_id) != secret:
            return self.error(401, "Unauthorized")
        form = dict(parse_qsl(req.body.decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return json_response(200, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(24)
        self._issued[token] = self.now() + timedelta(seconds=self.token_lifetime)
        self.tokens_issued += 1
        return json_response(200, {"access_token": token, "token_type": "bearer",
                                   "expires_in": int(self.token_lifetime), "scope": "*"})

    def _token_problem(self, req: Request) -> Response | None:
        """401 for an expired (or, when required, a missing or unknown) app token."""
        scheme, _, token = (header(req, "Authorization") or "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
        expires = self._issued.get(bearer)
        if expires is not None and expires <= self.now():
            del self._issued[bearer]
            return self.error(401, "Unauthorized")
        if self.app_token_required and expires is None:
            return self.error(401, "Unauthorized")
        return None

    # -- HTTP ---------------------------------------------------------------------------------

    def rate_headers(self, window: RateWindow, *, remaining: int | None = None,
                     reset_at: datetime | None = None) -> dict[str, str]:
        left = window.remaining if remaining is None else remaining
        seconds = max(0, int(((reset_at or window.reset_at) - self.now()).total_seconds()))
        return {"X-Ratelimit-Used": str(window.limit - left), "X-Ratelimit-Remaining": f"{float(left):.1f}",
                "X-Ratelimit-Reset": str(seconds)}

    def error(self, status: int, message: str) -> Response:
        return json_response(status, {"message": message, "error": status})

    def too_many_requests(self) -> Response:
        return self.error(429, "Too Many Requests")

    def unauthorized(self) -> Response:
        return self.error(401, "Unauthorized")

    def handle(self, req: Request) -> Response:
        if req.path == TOKEN_PATH:
            return self._issue_token(req)
        problem = self._token_problem(req)
        if problem is not None:
            return problem
        if req.path.rstrip("/") in ("/api/info", "/api/info.json"):
            return self._info(req.query)
        match = re.fullmatch(r"/user/([^/]+)(?:/(submitted|comments|overview|about))?/?(?:\.json)?", req.path)
        if not match:
            return self.error(404, "Not Found")
        raw_name, listing = match.group(1).removesuffix(".json"), match.group(2) or "overview"
        user = self._users.get(raw_name.lower())
        if user is None:
            return self.error(404, "Not Found")
        if user["suspended"]:
            return json_response(403, {"reason": "suspended", "message": "Forbidden", "error": 403})
        if listing == "about":
            return json_response(200, {"kind": "t2", "data": {"name": user["name"], "id": user["id"],
                                                              "is_suspended": False}})
        return self._listing(raw_name.lower(), listing, req.query)

    def _listing(self, name: str, listing: str, q: dict[str, str]) -> Response:
        things = [t for t in self._things[name] if t["data"].get("name")]
        if listing == "submitted":
            things = [t for t in things if t["kind"] == "t3"]
        elif listing == "comments":
            things = [t for t in things if t["kind"] == "t1"]
        try:
            limit = max(1, min(int(q.get("limit", "25")), 100))
        except ValueError:
            limit = 25
        names = [t["data"]["name"] for t in things]
        if q.get("after"):
            if q["after"] not in names:
                return self._page([], None, None, q)      # Reddit: a vanished anchor -> nothing
            start = names.index(q["after"]) + 1
            page = things[start:start + limit]
            more_after = start + limit < len(things)
            more_before = True
        elif q.get("before"):
            if q["before"] not in names:
                return self._page([], None, None, q)
            end = names.index(q["before"])
            page = things[max(0, end - limit):end]
            more_after = True
            more_before = end - limit > 0
        else:
            page = things[:limit]
            more_after = limit < len(things)
            more_before = False
        return self._page(page, page[-1]["data"]["name"] if page and more_after else None,
                          page[0]["data"]["name"] if page and more_before else None, q)

    def _page(self, page: list[dict[str, Any]], after: str | None, before: str | None, q: dict[str, str]) -> Response:
        children = copy.deepcopy(page)
        if q.get("raw_json") != "1":   # without raw_json Reddit HTML-escapes text and URLs
            children = [_escape(c) for c in children]
        return json_response(200, {"kind": "Listing", "data": {"after": after, "dist": len(children),
                                                               "modhash": "", "geo_filter": "",
                                                               "children": children, "before": before}})


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


__all__ = ["RedditAPI"]
