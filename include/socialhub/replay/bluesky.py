"""Emulated Bluesky AppView (public XRPC read API) for the replay server.

* ``GET /xrpc/app.bsky.feed.getAuthorFeed?actor=&limit=&cursor=&filter=`` -> ``{feed, cursor?}``,
  newest first (by repost time for reposts, else ``min(createdAt, indexedAt)`` like the AppView's
  ``sortAt``); ``limit`` 1..100 (default 50, out of range -> 400 ``InvalidRequest``); an opaque
  cursor returned whenever the page is not empty (so the last call returns ``{"feed": []}``);
  filters ``posts_with_replies`` (default), ``posts_no_replies``, ``posts_with_media``,
  ``posts_and_author_threads``; unknown actor -> 400 ``InvalidRequest: Profile not found``
* ``GET /xrpc/app.bsky.actor.getProfile?actor=`` and ``/xrpc/com.atproto.identity.resolveHandle?handle=``
* ``GET /xrpc/app.bsky.feed.getPostThread?uri=`` -> ``#threadViewPost``, or 400 ``NotFound`` (removed);
  a suspended account answers 400 ``AccountTakedown`` everywhere; a renamed one keeps its DID
* anything else under ``/xrpc/`` -> 501 ``MethodNotImplemented``

Record keys are real-looking TIDs and CIDs are fake but well-formed, so ``at://`` uris look right.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from socialhub.replay.api import (
    PlatformAPI,
    RateWindow,
    Request,
    Response,
    apply_malformations,
    b32,
    check_post_keys,
    digest,
    iso_ms,
    json_response,
    parse_age,
)
from socialhub.replay.media import thumbnail_spec

MEDIA_HOST = "https://cdn.hubdemo.example"
VIDEO_HOST = "https://video.hubdemo.example"
ACCOUNT_CREATED = datetime.fromisoformat("2024-02-01T12:00:00+00:00")
_B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
_VIDEO_EXT = (".mp4", ".mov", ".webm")


def tid(when: datetime, clock_id: int) -> str:
    """An atproto TID: microseconds since the epoch << 10 | clock id, base32-sortable, 13 chars."""
    n = (int(when.timestamp() * 1_000_000) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_B32_SORTABLE[n & 31])
        n >>= 5
    return "".join(reversed(chars))


def fake_cid(*parts: str) -> str:
    return "bafyrei" + b32(digest(*parts))[:52]


def fake_did(handle: str) -> str:
    return "did:plc:" + b32(digest("did", handle.lower()))[:24]



class BlueskyAPI(PlatformAPI):
    platform = "bluesky"
    default_limit = 3000      # bsky.social: 3000 requests / 5 min per IP (RateLimit-Policy: 3000;w=300)
    default_window = 300.0

    def __init__(self, spec: Mapping[str, Any], *, now: Any) -> None:
        super().__init__(spec, now=now)
        self._seq = 0
        self._profiles: dict[str, dict[str, Any]] = {}          # handle (lower) -> profile
        self._feeds: dict[str, list[tuple[datetime, str, dict[str, Any]]]] = {}   # handle -> (sortAt, cid, item)
        self._labels: dict[str, dict[str, Any]] = {}            # label -> post view
        self._takedowns: set[str] = set()                       # DIDs of suspended accounts
        for entry in spec.get("accounts") or []:
            handle = str(entry["handle"])
            self._add_profile(handle, str(entry.get("display_name") or handle), str(entry.get("description") or ""))
            for index, post in enumerate(entry.get("posts") or []):
                check_post_keys(post, f"bluesky account {handle} post #{index + 1}")
                self.add_post(handle, post)

    # -- data ---------------------------------------------------------------------------------

    def _add_profile(self, handle: str, display_name: str, description: str = "") -> dict[str, Any]:
        did = fake_did(handle)
        profile = {"did": did, "handle": handle, "displayName": display_name,
                   "avatar": f"{MEDIA_HOST}/img/avatar/plain/{did}/{fake_cid('avatar', did)}@jpeg",
                   "associated": {"chat": {"allowIncoming": "following"}}, "labels": [],
                   "createdAt": iso_ms(ACCOUNT_CREATED)}
        self._profiles[handle.lower()] = profile
        self._feeds[handle.lower()] = []
        if description:
            profile["description"] = description
        return profile

    def _profile(self, actor: str) -> dict[str, Any] | None:
        actor = actor.strip().lstrip("@").lower()
        if actor.startswith("did:"):
            return next((p for p in self._profiles.values() if p["did"] == actor), None)
        return self._profiles.get(actor)

    def _embed(self, did: str, post: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(record embed, embed view) for media files or a link card."""
        media = list(post.get("media") or [])
        names = [m.get("file") if isinstance(m, dict) else m for m in media]
        alts = [(m.get("description") or "") if isinstance(m, dict) else "" for m in media]
        if names and str(names[0]).lower().endswith(_VIDEO_EXT):
            cid = fake_cid("video", did, str(names[0]))
            return ({"$type": "app.bsky.embed.video", "alt": alts[0],
                     "video": {"$type": "blob", "ref": {"$link": cid}, "mimeType": "video/mp4", "size": 2_400_000}},
                    {"$type": "app.bsky.embed.video#view", "cid": cid, "alt": alts[0],
                     "playlist": f"{VIDEO_HOST}/watch/{did}/{cid}/playlist.m3u8",
                     "thumbnail": self.media_url(f"{VIDEO_HOST}/watch/{did}/{cid}/thumbnail.jpg",
                                                 thumbnail_spec(media[0]))})
        if names:
            cids = [fake_cid("img", did, str(n), str(i)) for i, n in enumerate(names)]
            return ({"$type": "app.bsky.embed.images",
                     "images": [{"alt": a, "image": {"$type": "blob", "ref": {"$link": c}, "mimeType": "image/jpeg",
                                                     "size": 180_000}} for a, c in zip(alts, cids, strict=False)]},
                    {"$type": "app.bsky.embed.images#view",
                     "images": [{"thumb": self.media_url(f"{MEDIA_HOST}/img/feed_thumbnail/plain/{did}/{c}@jpeg",
                                                         thumbnail_spec(m, size=(320, 240))),
                                 "fullsize": self.media_url(f"{MEDIA_HOST}/img/feed_fullsize/plain/{did}/{c}@jpeg",
                                                            thumbnail_spec(m)), "alt": a}
                                for a, c, m in zip(alts, cids, media, strict=False)]})
        link = post.get("link")
        if link:
            link = link if isinstance(link, dict) else {"url": link}
            external = {"uri": link["url"], "title": link.get("title", ""), "description": link.get("description", "")}
            thumb = fake_cid("thumb", did, link["url"])
            return ({"$type": "app.bsky.embed.external", "external": {**external, "thumb": {
                        "$type": "blob", "ref": {"$link": thumb}, "mimeType": "image/jpeg", "size": 40_000}}},
                    {"$type": "app.bsky.embed.external#view",
                     "external": {**external, "thumb": self.media_url(
                         f"{MEDIA_HOST}/img/feed_thumbnail/plain/{did}/{thumb}@jpeg",
                         {"file": "card.jpg", "scene": link["url"], "size": [320, 240]})}})
        return None, None

    def _post_view(self, profile: dict[str, Any], created: datetime, post: Mapping[str, Any]) -> dict[str, Any]:
        self._seq += 1
        indexed = created
        record_created = created - timedelta(milliseconds=180)   # the client stamps a moment before indexing
        uri = f"at://{profile['did']}/app.bsky.feed.post/{tid(record_created, self._seq)}"
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": iso_ms(record_created),
                                  "langs": ["en"], "text": str(post.get("text") or "")}
        if post.get("reply_to"):
            parent = self._labels[str(post["reply_to"])]
            parent_ref = {"uri": parent["uri"], "cid": parent["cid"]}
            root_ref = parent["record"].get("reply", {}).get("root", parent_ref)
            record["reply"] = {"root": root_ref, "parent": parent_ref}
        record_embed, view_embed = self._embed(profile["did"], post)
        if record_embed:
            record["embed"] = record_embed
        view: dict[str, Any] = {"uri": uri, "cid": fake_cid(uri), "author": profile, "record": record}
        if view_embed:
            view["embed"] = view_embed
        view.update({"replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
                     "indexedAt": iso_ms(indexed), "viewer": {"threadMuted": False, "embeddingDisabled": False},
                     "labels": []})
        return view

    def add_post(self, account: str, post: Mapping[str, Any]) -> dict[str, Any]:
        check_post_keys(post, f"bluesky post for {account}")
        profile = self._profile(account)
        if profile is None:
            raise KeyError(f"unknown bluesky account {account!r}; known: {', '.join(self.accounts())}")
        if post.get("reply_to") and str(post["reply_to"]) not in self._labels:
            raise ValueError(f"reply_to unknown label {post['reply_to']!r}; labels must be defined before use")
        created = self.now() - parse_age(post.get("age"))
        item: dict[str, Any]
        if post.get("repost"):
            spec = post["repost"]
            if spec.get("of"):
                try:
                    original = self._labels[str(spec["of"])]
                except KeyError:
                    raise ValueError(f"repost of unknown label {spec['of']!r}") from None
            else:
                author = str(spec.get("author") or "someone.elsewhere.example")
                author_profile = self._profile(author) or {
                    "did": fake_did(author), "handle": author, "displayName": author, "labels": [],
                    "createdAt": iso_ms(ACCOUNT_CREATED)}
                original = self._post_view(author_profile, created - parse_age(spec.get("age")), spec)
            self._seq += 1
            repost_uri = f"at://{profile['did']}/app.bsky.feed.repost/{tid(created, self._seq)}"
            item = {"post": original, "reason": {"$type": "app.bsky.feed.defs#reasonRepost",
                                                 "by": profile, "uri": repost_uri, "cid": fake_cid(repost_uri),
                                                 "indexedAt": iso_ms(created)}}
            sort_at = created
        else:
            view = self._post_view(profile, created, post)
            item = {"post": view}
            if "reply" in view["record"]:
                parent = self._labels[str(post["reply_to"])]
                root_uri = view["record"]["reply"]["root"]["uri"]
                root = next((v for v in self._labels.values() if v["uri"] == root_uri), parent)
                item["reply"] = {"root": root, "parent": parent}
            sort_at = min(datetime.fromisoformat(view["record"]["createdAt"].replace("Z", "+00:00")), created)
            if post.get("label"):
                self._labels[str(post["label"])] = view
        apply_malformations(item["post"], post)
        self.note_removed(post, str(item["post"].get("uri") or ""))
        feed = self._feeds[profile["handle"].lower()]
        cid = str(item.get("reason", {}).get("cid") or item["post"].get("cid") or "")
        feed.append((sort_at, cid, item))
        feed.sort(key=lambda entry: (_ms(entry[0]), entry[1]), reverse=True)   # the cursor's keyset order
        return copy.deepcopy(item)

    def accounts(self) -> list[str]:
        return [p["handle"] for p in self._profiles.values()]

    # -- states -----------------------------------------------------------------------------------

    def remove_post(self, post_id: str) -> None:
        """Delete the record: the post leaves every feed (reposts of it too) and getPostThread
        answers 400 ``NotFound``."""
        uri = post_id.split("#", 1)[0]
        found = False
        for handle, feed in self._feeds.items():
            keep = [e for e in feed if e[2]["post"].get("uri") != uri]
            found = found or len(keep) != len(feed)
            self._feeds[handle] = keep
        if not found:
            raise KeyError(f"no bluesky post {uri!r}")

    def _known(self, account: str) -> dict[str, Any]:
        profile = self._profile(account)
        if profile is None:
            raise KeyError(f"unknown bluesky account {account!r}; known: {', '.join(self.accounts())}")
        return profile

    def suspend_account(self, account: str) -> None:
        """A moderation takedown: getProfile, getAuthorFeed and getPostThread answer 400 ``AccountTakedown``."""
        self._takedowns.add(self._known(account)["did"])

    def rename_account(self, account: str, new_name: str) -> None:
        """A handle change: the DID stays, the old handle stops resolving ("Profile not found")."""
        profile = self._known(account)
        old = profile["handle"].lower()
        new = new_name.strip().lstrip("@")
        profile["handle"] = new
        self._profiles[new.lower()] = self._profiles.pop(old)
        self._feeds[new.lower()] = self._feeds.pop(old)

    def _takedown(self, profile: dict[str, Any] | None) -> Response | None:
        if profile is not None and profile["did"] in self._takedowns:
            return self.error(400, "Account has been suspended (Takedown)", "AccountTakedown")
        return None

    def _thread(self, q: dict[str, str]) -> Response:
        uri = q.get("uri", "")
        for handle, feed in self._feeds.items():
            for _, _, item in feed:
                view = item["post"]
                if view.get("uri") == uri and "reason" not in item:
                    blocked = self._takedown(self._profiles.get(handle))
                    if blocked is not None:
                        return blocked
                    return json_response(200, {"thread": {"$type": "app.bsky.feed.defs#threadViewPost",
                                                          "post": view, "replies": []}})
        return self.error(400, f"Post not found: {uri}", "NotFound")

    # -- HTTP ---------------------------------------------------------------------------------

    def rate_headers(self, window: RateWindow, *, remaining: int | None = None,
                     reset_at: datetime | None = None) -> dict[str, str]:
        return {"RateLimit-Limit": str(window.limit),
                "RateLimit-Remaining": str(window.remaining if remaining is None else remaining),
                "RateLimit-Reset": str(int((reset_at or window.reset_at).timestamp())),
                "RateLimit-Policy": f"{window.limit};w={int(window.window)}"}

    def error(self, status: int, message: str, name: str | None = None) -> Response:
        default = {400: "InvalidRequest", 401: "AuthenticationRequired", 404: "NotFound",
                   429: "RateLimitExceeded", 501: "MethodNotImplemented"}.get(status, "InternalServerError")
        return json_response(status, {"error": name or default, "message": message})

    def too_many_requests(self) -> Response:
        return self.error(429, "Rate Limit Exceeded")

    def unauthorized(self) -> Response:
        return self.error(401, "Authentication Required")

    def handle(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if not path.startswith("/xrpc/"):
            return self.error(404, f"Cannot GET {req.path}", "NotFound")
        method = path[len("/xrpc/"):]
        if method == "app.bsky.feed.getAuthorFeed":
            return self._takedown(self._profile(req.query.get("actor", ""))) or self._author_feed(req.query)
        if method == "app.bsky.feed.getPostThread":
            return self._thread(req.query)
        if method == "app.bsky.actor.getProfile":
            profile = self._profile(req.query.get("actor", ""))
            if profile is None:
                return self.error(400, "Profile not found")
            blocked = self._takedown(profile)
            if blocked is not None:
                return blocked
            handle = profile["handle"].lower()
            return json_response(200, {**profile, "postsCount": len(self._feeds[handle]),
                                       "followersCount": 0, "followsCount": 0})
        if method == "com.atproto.identity.resolveHandle":
            profile = self._profile(req.query.get("handle", ""))
            if profile is None:
                return self.error(400, "Unable to resolve handle")
            return json_response(200, {"did": profile["did"]})
        return self.error(501, "Method Not Implemented")

    def _author_feed(self, q: dict[str, str]) -> Response:
        if "actor" not in q:
            return self.error(400, 'Error: Params must have the property "actor"')
        profile = self._profile(q["actor"])
        if profile is None:
            return self.error(400, "Profile not found")
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            return self.error(400, "Error: limit must be an integer")
        if limit > 100:
            return self.error(400, "Error: limit can not be greater than 100")
        if limit < 1:
            return self.error(400, "Error: limit can not be less than 1")
        entries = self._feeds[profile["handle"].lower()]
        cursor = q.get("cursor")
        if cursor:
            match = re.fullmatch(r"(\d+)::(.*)", cursor)
            if not match:
                return self.error(400, "Malformed cursor")
            after = (int(match.group(1)), match.group(2))
            entries = [e for e in entries if (_ms(e[0]), e[1]) < after]
        feed_filter = q.get("filter", "posts_with_replies")
        if feed_filter == "posts_no_replies":
            entries = [e for e in entries if "reason" in e[2] or "reply" not in e[2]["post"].get("record", {})]
        elif feed_filter == "posts_with_media":
            entries = [e for e in entries if "reason" not in e[2] and e[2]["post"].get("embed")]
        page = entries[:limit]
        body: dict[str, Any] = {"feed": [item for _, _, item in page]}
        if page:
            body["cursor"] = f"{_ms(page[-1][0])}::{page[-1][1]}"
        return json_response(200, body)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)
