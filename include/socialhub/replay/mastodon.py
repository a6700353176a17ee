"""Emulated Mastodon instance (public read API) for the replay server.

Serves what the connector and a curious human need, shaped like a real Mastodon 4.x server:

* ``GET /api/v1/accounts/lookup?acct=user[@instance]``  -> Account, or 404 ``Record not found``
* ``GET /api/v1/accounts/:id``                           -> Account
* ``GET /api/v1/accounts/:id/statuses``                  -> [Status], newest first, with
  ``limit`` (default 20, max 40), ``max_id`` / ``since_id`` / ``min_id``, ``exclude_replies``,
  ``exclude_reblogs``, ``only_media``, and a ``Link`` header: ``rel="next"`` (older, ``max_id``)
  only when the page is full, ``rel="prev"`` (newer, ``min_id``) when the page is not empty,
  as Mastodon's controllers do
* ``GET /api/v1/instance``                               -> a small Instance object
* ``GET /api/v1/statuses/:id``                           -> Status, or 404 ``Record not found`` (removed,
  or its account suspended); ``suspend_account`` sets ``Account.suspended``, ``move_account``
  ``Account.moved``

Ids are snowflakes (milliseconds << 16 | sequence), so they sort like real ones and a post
added later always gets a bigger id.
"""

from __future__ import annotations

import copy
import html
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from socialhub.replay.api import (
    PlatformAPI,
    RateWindow,
    Request,
    Response,
    apply_malformations,
    check_post_keys,
    iso_ms,
    json_response,
    parse_age,
)
from socialhub.replay.media import thumbnail_spec

DEFAULT_INSTANCE = "social.hubdemo.example"
ACCOUNT_CREATED = datetime.fromisoformat("2024-01-15T09:00:00+00:00")
_TRUE = {"1", "true", "yes", "on"}
_VIDEO_EXT = (".mp4", ".mov", ".webm")


class MastodonAPI(PlatformAPI):
    platform = "mastodon"
    default_limit = 300       # documented default: 300 requests / 5 min per account or IP
    default_window = 300.0

    def __init__(self, spec: Mapping[str, Any], *, now: Any) -> None:
        super().__init__(spec, now=now)
        self.domain = str(spec.get("instance") or DEFAULT_INSTANCE).lower()
        self._seq = 0
        self._accounts: dict[str, dict[str, Any]] = {}      # username (lower) -> Account
        self._statuses: dict[str, list[dict[str, Any]]] = {}  # username -> Statuses, newest first
        self._labels: dict[str, dict[str, Any]] = {}
        for entry in spec.get("accounts") or []:
            username = str(entry["username"])
            self._add_account(username, str(entry.get("display_name") or username), str(entry.get("note") or ""))
            for index, post in enumerate(entry.get("posts") or []):
                check_post_keys(post, f"mastodon account {username} post #{index + 1}")
                self.add_post(username, post)

    # -- data ---------------------------------------------------------------------------------

    def _snowflake(self, when: datetime) -> str:
        self._seq += 1
        return str((int(when.timestamp() * 1000) << 16) | (self._seq & 0xFFFF))

    def _add_account(self, username: str, display_name: str, note: str) -> dict[str, Any]:
        aid = self._snowflake(ACCOUNT_CREATED)
        base = f"https://{self.domain}"
        account = {
            "id": aid, "username": username, "acct": username, "display_name": display_name,
            "locked": False, "bot": False, "discoverable": True, "group": False,
            "created_at": iso_ms(ACCOUNT_CREATED), "note": f"<p>{html.escape(note, quote=False)}</p>" if note else "",
            "url": f"{base}/@{username}", "uri": f"{base}/users/{username}",
            "avatar": f"{base}/system/accounts/avatars/{aid}/original/avatar.png",
            "avatar_static": f"{base}/system/accounts/avatars/{aid}/original/avatar.png",
            "header": f"{base}/headers/original/missing.png", "header_static": f"{base}/headers/original/missing.png",
            "followers_count": 0, "following_count": 0, "statuses_count": 0, "last_status_at": None,
            "emojis": [], "fields": [],
        }
        self._accounts[username.lower()] = account
        self._statuses[username.lower()] = []
        return account

    def _remote_account(self, acct: str) -> dict[str, Any]:
        """A fictional account on another (made-up) instance, for boosts of outside posts."""
        user, _, dom = acct.partition("@")
        dom = dom or "elsewhere.example"
        return {"id": self._snowflake(ACCOUNT_CREATED), "username": user, "acct": f"{user}@{dom}",
                "display_name": user, "url": f"https://{dom}/@{user}", "uri": f"https://{dom}/users/{user}",
                "bot": False, "locked": False, "group": False, "emojis": [], "fields": []}

    def _content_html(self, text: str) -> str:
        paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
        rendered = []
        for para in paragraphs:
            lines = [self._linkify(html.escape(line, quote=False)) for line in para.split("\n")]
            rendered.append("<p>" + "<br />".join(lines) + "</p>")
        return "".join(rendered)

    def _linkify(self, line: str) -> str:
        def url(match: re.Match[str]) -> str:
            full = match.group(0)
            scheme, rest = full.split("://", 1)
            return (f'<a href="{full}" target="_blank" rel="nofollow noopener noreferrer" translate="no">'
                    f'<span class="invisible">{scheme}://</span><span class="">{rest}</span>'
                    f'<span class="invisible"></span></a>')

        def tag(match: re.Match[str]) -> str:
            name = match.group(1)
            return (f'<a href="https://{self.domain}/tags/{name.lower()}" class="mention hashtag" rel="tag">'
                    f'#<span>{name}</span></a>')

        line = re.sub(r"https?://[^\s<]+", url, line)
        return re.sub(r"(?<![\w/#])#(\w+)", tag, line)

    def _media(self, names: list[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for item in names:
            name, description = (item.get("file"), item.get("description")) if isinstance(item, dict) else (item, None)
            mid = self._snowflake(self.now())
            kind = "video" if str(name).lower().endswith(_VIDEO_EXT) else "image"
            path = f"https://{self.domain}/system/media_attachments/files/{mid[:3]}/{mid[3:6]}/{mid[6:9]}"
            out.append({"id": mid, "type": kind, "url": self.media_url(f"{path}/original/{name}", item),
                        "preview_url": self.media_url(f"{path}/small/{name}", thumbnail_spec(item, size=(400, 300))),
                        "remote_url": None,
                        "description": description, "blurhash": None, "meta": {}})
        return out

    def _status(self, sid: str, created: datetime, account: dict[str, Any], post: Mapping[str, Any]) -> dict[str, Any]:
        base = f"https://{self.domain}"
        text = str(post.get("text") or "")
        parent = self._labels[post["reply_to"]] if post.get("reply_to") else None
        link = post.get("link")
        card = None
        if link:
            link = link if isinstance(link, dict) else {"url": link}
            card = {"url": link["url"], "title": link.get("title", ""), "description": link.get("description", ""),
                    "type": "link", "image": None}
        return {
            "id": sid, "created_at": iso_ms(created),
            "in_reply_to_id": parent["id"] if parent else None,
            "in_reply_to_account_id": parent["account"]["id"] if parent else None,
            "sensitive": bool(post.get("cw")), "spoiler_text": str(post.get("cw") or ""),
            "visibility": "public", "language": "en",
            "uri": f"{base}/users/{account['username']}/statuses/{sid}",
            "url": f"{base}/@{account['username']}/{sid}",
            "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "edited_at": None,
            "content": self._content_html(text), "reblog": None,
            "application": {"name": "Web", "website": None},
            "account": account, "media_attachments": self._media(list(post.get("media") or [])),
            "mentions": [], "tags": [{"name": t.lower(), "url": f"{base}/tags/{t.lower()}"}
                                     for t in re.findall(r"(?<![\w/#])#(\w+)", text)],
            "emojis": [], "card": card, "poll": None,
        }

    def _original_for_boost(self, spec: Mapping[str, Any], when: datetime) -> dict[str, Any]:
        if spec.get("of"):
            try:
                return self._labels[str(spec["of"])]
            except KeyError:
                raise ValueError(f"repost of unknown label {spec['of']!r}; labels must be defined before use") from None
        author = str(spec.get("author") or "someone@elsewhere.example")
        account = self._accounts.get(author.lower()) or self._remote_account(author)
        created = when - parse_age(spec.get("age"))
        return self._status(self._snowflake(created), created, account, spec)

    def add_post(self, account: str, post: Mapping[str, Any]) -> dict[str, Any]:
        check_post_keys(post, f"mastodon post for {account}")
        username = self._username(account)
        if username is None:
            raise KeyError(f"unknown mastodon account {account!r}; known: {', '.join(self.accounts())}")
        if post.get("reply_to") and post["reply_to"] not in self._labels:
            raise ValueError(f"reply_to unknown label {post['reply_to']!r}; labels must be defined before use")
        owner = self._accounts[username]
        created = self.now() - parse_age(post.get("age"))
        sid = self._snowflake(created)
        if post.get("repost"):
            original = self._original_for_boost(post["repost"], created)
            status = self._status(sid, created, owner, {})
            status.update({"uri": f"{status['uri']}/activity", "url": None, "content": "", "reblog": original,
                           "tags": [], "media_attachments": []})
        else:
            status = self._status(sid, created, owner, post)
        apply_malformations(status, post)
        self.note_removed(post, sid)
        if post.get("label"):
            self._labels[str(post["label"])] = status
        timeline = self._statuses[username]
        timeline.append(status)
        timeline.sort(key=lambda s: int(s["id"]), reverse=True)
        owner["statuses_count"] = len(timeline)
        owner["last_status_at"] = iso_ms(max(created, self._last_status_time(owner)))[:10]
        return copy.deepcopy(status)

    # -- states -----------------------------------------------------------------------------------

    def remove_post(self, post_id: str) -> None:
        for username, timeline in self._statuses.items():
            for status in timeline:
                if str(status.get("id")) == post_id:
                    timeline.remove(status)
                    self._accounts[username]["statuses_count"] = len(timeline)
                    return
        raise KeyError(f"no mastodon status {post_id!r}")

    def _known(self, account: str) -> str:
        username = self._username(account)
        if username is None:
            raise KeyError(f"unknown mastodon account {account!r}; known: {', '.join(self.accounts())}")
        return username

    def suspend_account(self, account: str) -> None:
        """Mastodon 3.3+: the Account answers with ``suspended: true``, its statuses are no longer
        served (timelines empty, ``GET /api/v1/statuses/:id`` 404)."""
        self._accounts[self._known(account)]["suspended"] = True

    def move_account(self, account: str, target: str) -> None:
        """``Account.moved``: the Account it moved to (a local one if it exists, else a remote one)."""
        username = self._known(account)
        local = self._username(target)
        self._accounts[username]["moved"] = copy.deepcopy(self._accounts[local]) if local else self._remote_account(
            target.lstrip("@"))

    def rename_account(self, account: str, new_name: str) -> None:
        """A Mastodon username cannot change: "renaming" is a move to a new (empty) local account."""
        user = new_name.lstrip("@").partition("@")[0]
        if user.lower() not in self._accounts:
            self._add_account(user, user, "")
        self.move_account(account, user)

    def _status_by_id(self, sid: str) -> tuple[str, dict[str, Any]] | None:
        for username, timeline in self._statuses.items():
            for status in timeline:
                if str(status.get("id")) == sid:
                    return username, status
        return None

    def _last_status_time(self, account: dict[str, Any]) -> datetime:
        last = account.get("last_status_at")
        return datetime.fromisoformat(f"{last}T00:00:00+00:00") if last else ACCOUNT_CREATED

    def _username(self, acct: str) -> str | None:
        user, _, dom = acct.strip().lstrip("@").partition("@")
        if dom and dom.lower() != self.domain:
            return None
        return user.lower() if user.lower() in self._accounts else None

    def accounts(self) -> list[str]:
        return [f"{a['username']}@{self.domain}" for a in self._accounts.values()]

    # -- HTTP ---------------------------------------------------------------------------------

    def rate_headers(self, window: RateWindow, *, remaining: int | None = None,
                     reset_at: datetime | None = None) -> dict[str, str]:
        reset = (reset_at or window.reset_at).isoformat(timespec="microseconds").replace("+00:00", "Z")
        return {"X-RateLimit-Limit": str(window.limit),
                "X-RateLimit-Remaining": str(window.remaining if remaining is None else remaining),
                "X-RateLimit-Reset": reset}

    def handle(self, req: Request) -> Response:
        headers = {"Vary": "Authorization, Origin", "Cache-Control": "private, no-store",
                   "X-Request-Id": str(uuid.uuid4())}
        path = req.path.rstrip("/")
        if path == "/api/v1/accounts/lookup":
            username = self._username(req.query.get("acct", ""))
            if username is None:
                return self.error(404, "Record not found")
            return json_response(200, self._accounts[username], headers)
        if path == "/api/v1/instance":
            return json_response(200, {"uri": self.domain, "title": "Hub Demo (fictional instance)",
                                       "short_description": "Replay server: every account and post is fictional.",
                                       "version": "4.3.0", "languages": ["en"]}, headers)
        single = re.fullmatch(r"/api/v1/statuses/([^/]+)", path)
        if single:
            found = self._status_by_id(single.group(1))
            if found is None or self._accounts[found[0]].get("suspended"):
                return self.error(404, "Record not found")
            return json_response(200, found[1], headers)
        match = re.fullmatch(r"/api/v1/accounts/([^/]+)(/statuses)?", path)
        if match:
            username = next((u for u, a in self._accounts.items() if a["id"] == match.group(1)), None)
            if username is None:
                return self.error(404, "Record not found")
            if not match.group(2):
                return json_response(200, self._accounts[username], headers)
            return self._statuses_page(req, username, headers)
        return self.error(404, "Not Found")

    def _statuses_page(self, req: Request, username: str, headers: dict[str, str]) -> Response:
        q = req.query
        try:
            limit = int(q.get("limit", "20"))
        except ValueError:
            limit = 20
        limit = max(1, min(limit, 40))

        def bound(name: str) -> int | None:
            value = q.get(name, "")
            return int(value) if value.isdigit() else None

        max_id, since_id, min_id = bound("max_id"), bound("since_id"), bound("min_id")
        statuses = [] if self._accounts[username].get("suspended") else [s for s in self._statuses[username] if "id" in s]
        if q.get("exclude_replies", "").lower() in _TRUE:
            statuses = [s for s in statuses if not s.get("in_reply_to_id")]
        if q.get("exclude_reblogs", "").lower() in _TRUE:
            statuses = [s for s in statuses if not s.get("reblog")]
        if q.get("only_media", "").lower() in _TRUE:
            statuses = [s for s in statuses if s.get("media_attachments")]
        picked = [s for s in statuses
                  if (max_id is None or int(s["id"]) < max_id)
                  and (since_id is None or int(s["id"]) > since_id)
                  and (min_id is None or int(s["id"]) > min_id)]
        # min_id pages forward: the statuses *immediately* newer than min_id; the rest: the newest
        page = picked[-limit:] if min_id is not None else picked[:limit]

        keep: dict[str, str] = {k: q[k] for k in ("exclude_replies", "exclude_reblogs", "only_media") if k in q}
        account_id = self._accounts[username]["id"]

        def link(**bounds: str) -> str:
            query: dict[str, str] = {"limit": str(limit), **keep, **bounds}
            params = "&".join(f"{k}={v}" for k, v in query.items())
            return f"{req.base_url}/api/v1/accounts/{account_id}/statuses?{params}"

        links = []
        if page and len(page) == limit:
            links.append(f'<{link(max_id=page[-1]["id"])}>; rel="next"')
        if page:
            links.append(f'<{link(min_id=page[0]["id"])}>; rel="prev"')
        if links:
            headers["Link"] = ", ".join(links)
        return Response(200, json.dumps(page, ensure_ascii=False).encode("utf-8"),
                        {"Content-Type": "application/json; charset=utf-8", **headers})


__all__ = ["DEFAULT_INSTANCE", "MastodonAPI"]
