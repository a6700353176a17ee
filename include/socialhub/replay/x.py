"""Emulated X API v2 (user lookup and user Posts timeline) for the replay server.

* ``GET /2/users/by/username/:username`` -> ``{"data": user}``; unknown -> HTTP 200 with a
  ``resource-not-found`` problem, suspended -> HTTP 200 with a "User has been suspended" problem
  (both as X answers them: no ``data``, an ``errors`` list)
* ``GET /2/users/:id/tweets`` -> newest first, ``max_results`` 5..100 (default 10, else 400
  invalid-request), ``since_id`` / ``until_id`` (exclusive), ``start_time`` / ``end_time``,
  ``pagination_token`` (opaque, keyset: it names the last post served; ``meta.next_token``
  only while more remain), only the 3,200 most recent posts reachable.
  Only the requested ``tweet.fields`` / ``media.fields`` / ``user.fields`` are returned (``id``,
  ``text`` and ``edit_history_tweet_ids`` always), and ``includes`` follow ``expansions``.
  A protected account -> HTTP 200 with a ``not-authorized-for-resource`` problem.
* ``GET /2/tweets/:id`` -> ``{"data": post}`` (``override: {withheld: ...}`` makes it withheld), or
  HTTP 200 problems: "Not Found Error" (removed), "Authorization Error" (protected author),
  "User has been suspended" (suspended author)
* headers ``x-rate-limit-limit`` / ``-remaining`` / ``-reset`` (epoch); 429 and 401 use the
  v2 problem shape ``{"title", "detail", "type", "status"}``.

Ids are snowflakes (milliseconds since the X epoch << 22 | sequence), derived from the
server clock, so a server restarted on the same clock serves the same ids.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
    iso_ms,
    json_response,
    parse_age,
)
from socialhub.replay.media import thumbnail_spec

X_EPOCH_MS = 1288834974657
ACCOUNT_CREATED = datetime.fromisoformat("2019-04-01T10:00:00+00:00")
MEDIA_HOST = "https://pbs.hubdemo.example"
VIDEO_HOST = "https://video.hubdemo.example"
REACHABLE = 3200
_VIDEO_EXT = (".mp4", ".mov", ".webm")
_PROBLEM = "https://api.twitter.com/2/problems/"
_ALWAYS = ("id", "text", "edit_history_tweet_ids")
_TOKEN_PREFIX = "7140dibdnow9c7btw"     # real tokens look like 7140dibdnow9c7btw3w4sp4d62kxfjas0dx...


def snowflake(when: datetime, seq: int) -> str:
    return str(((int(when.timestamp() * 1000) - X_EPOCH_MS) << 22) | (seq & 0x3FFFFF))


def user_id(username: str) -> str:
    """A stable numeric id per username (independent of load order)."""
    return str(int.from_bytes(digest("x-user", username.lower())[:7], "big"))


class XAPI(PlatformAPI):
    platform = "x"
    default_limit = 1500      # user Posts timeline, app-only: 1500 requests / 15 min
    default_window = 900.0

    def __init__(self, spec: Mapping[str, Any], *, now: Any) -> None:
        super().__init__(spec, now=now)
        self._seq = 0
        self._users: dict[str, dict[str, Any]] = {}          # id -> user
        self._flags: dict[str, dict[str, bool]] = {}         # id -> {"suspended", "protected"}
        self._timelines: dict[str, list[dict[str, Any]]] = {}  # id -> tweets, newest first
        self._tweets: dict[str, dict[str, Any]] = {}          # every tweet (for includes)
        self._media: dict[str, dict[str, Any]] = {}
        self._labels: dict[str, dict[str, Any]] = {}
        for entry in spec.get("accounts") or []:
            username = str(entry["username"])
            uid = self._add_user(username, str(entry.get("name") or username))
            self._flags[uid] = {"suspended": bool(entry.get("suspended")), "protected": bool(entry.get("protected"))}
            self._users[uid]["protected"] = bool(entry.get("protected"))
            for index, post in enumerate(entry.get("posts") or []):
                check_post_keys(post, f"x account {username} post #{index + 1}")
                self.add_post(username, post)

    # -- data ---------------------------------------------------------------------------------

    def _add_user(self, username: str, name: str) -> str:
        uid = user_id(username)
        self._users[uid] = {"id": uid, "username": username, "name": name, "protected": False,
                            "created_at": iso_ms(ACCOUNT_CREATED)}
        self._timelines.setdefault(uid, [])
        return uid

    def _uid(self, username: str) -> str | None:
        name = username.strip().lstrip("@").lower()
        return next((u for u, user in self._users.items() if user["username"].lower() == name
                     and u in self._timelines and u in self._flags), None)

    def _media_objects(self, names: list[Any], tid: str) -> list[str]:
        keys = []
        for index, item in enumerate(names):
            name = str(item.get("file") if isinstance(item, dict) else item)
            alt = str(item.get("description") or "") if isinstance(item, dict) else ""
            if name.lower().endswith(_VIDEO_EXT):
                key = f"7_{tid}{index}"
                self._media[key] = {"media_key": key, "type": "video", "alt_text": alt,
                                    "preview_image_url": self.media_url(
                                        f"{MEDIA_HOST}/ext_tw_video_thumb/{tid}/pu/img/{index}.jpg", thumbnail_spec(item)),
                                    "variants": [
                                        {"content_type": "application/x-mpegURL",
                                         "url": f"{VIDEO_HOST}/ext_tw_video/{tid}/pu/pl/{index}.m3u8"},
                                        {"bit_rate": 632000, "content_type": "video/mp4",
                                         "url": self.media_url(f"{VIDEO_HOST}/ext_tw_video/{tid}/pu/vid/480x270/{name}",
                                                               item)},
                                        {"bit_rate": 2176000, "content_type": "video/mp4",
                                         "url": self.media_url(f"{VIDEO_HOST}/ext_tw_video/{tid}/pu/vid/1280x720/{name}",
                                                               item)}]}
            else:
                key = f"3_{tid}{index}"
                self._media[key] = {"media_key": key, "type": "photo", "alt_text": alt,
                                    "url": self.media_url(f"{MEDIA_HOST}/media/{b32(digest(tid, name))[:15]}.jpg", item)}
            keys.append(key)
        return keys

    def _tweet(self, author_id: str, created: datetime, post: Mapping[str, Any]) -> dict[str, Any]:
        self._seq += 1
        tid = snowflake(created, self._seq)
        text = str(post.get("text") or "")
        link = post.get("link")
        if link:
            url = link["url"] if isinstance(link, dict) else str(link)
            short = f"https://t.co/{b32(digest('tco', url))[:10]}"
            text = f"{text} {short}".strip()
        tweet: dict[str, Any] = {"id": tid, "text": text, "edit_history_tweet_ids": [tid],
                                 "created_at": iso_ms(created), "author_id": author_id, "conversation_id": tid,
                                 "lang": "en", "possibly_sensitive": False,
                                 "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0,
                                                    "quote_count": 0}}
        if link:
            tweet["entities"] = {"urls": [{"start": len(text) - len(short), "end": len(text), "url": short,
                                           "expanded_url": url, "display_url": url.split("://", 1)[-1][:30]}]}
        if len(text) > 280:
            tweet["note_tweet"] = {"text": text}
            tweet["text"] = text[:279] + "…"
        media = list(post.get("media") or [])
        if media:
            tweet["attachments"] = {"media_keys": self._media_objects(media, tid)}
        if post.get("reply_to"):
            parent = self._labels[str(post["reply_to"])]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["conversation_id"] = parent["conversation_id"]
        self._tweets[tid] = tweet
        return tweet

    def add_post(self, account: str, post: Mapping[str, Any]) -> dict[str, Any]:
        check_post_keys(post, f"x post for {account}")
        uid = self._uid(account)
        if uid is None:
            raise KeyError(f"unknown x account {account!r}; known: {', '.join(self.accounts())}")
        if post.get("reply_to") and str(post["reply_to"]) not in self._labels:
            raise ValueError(f"reply_to unknown label {post['reply_to']!r}; labels must be defined before use")
        created = self.now() - parse_age(post.get("age"))
        if post.get("repost"):
            spec = post["repost"]
            if spec.get("of"):
                try:
                    original = self._labels[str(spec["of"])]
                except KeyError:
                    raise ValueError(f"repost of unknown label {spec['of']!r}") from None
            else:
                author = str(spec.get("author") or "someone_else")
                author_id = self._uid(author) or self._users.get(user_id(author), {}).get("id") or \
                    self._add_remote(author)
                original = self._tweet(author_id, created - parse_age(spec.get("age")), spec)
            who = self._users[original["author_id"]]["username"]
            tweet = self._tweet(uid, created, {"text": f"RT @{who}: {original['text']}"[:140]})
            if len(f"RT @{who}: {original['text']}") > 140:
                tweet["text"] = tweet["text"][:139] + "…"
            tweet["referenced_tweets"] = [{"type": "retweeted", "id": original["id"]}]
        else:
            tweet = self._tweet(uid, created, post)
        apply_malformations(tweet, post)
        self.note_removed(post, str(tweet.get("id") or ""))
        if post.get("label"):
            self._labels[str(post["label"])] = tweet
        timeline = self._timelines[uid]
        timeline.append(tweet)
        timeline.sort(key=lambda t: int(t["id"]) if str(t.get("id", "")).isdigit() else 0, reverse=True)
        return copy.deepcopy(tweet)

    def _add_remote(self, username: str) -> str:
        uid = user_id(username)
        self._users[uid] = {"id": uid, "username": username, "name": username, "protected": False,
                            "created_at": iso_ms(ACCOUNT_CREATED)}
        return uid

    def accounts(self) -> list[str]:
        return [self._users[uid]["username"] for uid in self._flags]

    # -- states -----------------------------------------------------------------------------------

    def remove_post(self, post_id: str) -> None:
        for _uid, timeline in self._timelines.items():
            for tweet in timeline:
                if str(tweet.get("id")) == post_id:
                    timeline.remove(tweet)
                    return
        raise KeyError(f"no x post {post_id!r}")

    def _known(self, account: str) -> str:
        uid = self._uid(account)
        if uid is None:
            raise KeyError(f"unknown x account {account!r}; known: {', '.join(self.accounts())}")
        return uid

    def suspend_account(self, account: str) -> None:
        self._flags[self._known(account)]["suspended"] = True

    def rename_account(self, account: str, new_name: str) -> None:
        """The username changes, the user id stays (the timeline by id keeps working)."""
        self._users[self._known(account)]["username"] = new_name.strip().lstrip("@")

    def _single(self, tweet_id: str, q: dict[str, str]) -> Response:
        """``GET /2/tweets/:id``: the Post, or a problem: "Not Found Error" for a deleted one,
        "Authorization Error" for a protected author's, "User has been suspended" for a suspended one's."""
        def problem(kind: str, title: str, detail: str) -> Response:
            return json_response(200, {"errors": [{"value": tweet_id, "detail": detail, "title": title,
                                                   "resource_type": "tweet", "parameter": "id",
                                                   "resource_id": tweet_id, "type": _PROBLEM + kind}]})
        for uid, timeline in self._timelines.items():
            tweet = next((t for t in timeline if str(t.get("id")) == tweet_id), None)
            if tweet is None:
                continue
            flags = self._flags.get(uid, {})
            if flags.get("suspended"):
                return problem("resource-not-found", "Forbidden", f"User has been suspended: [{uid}].")
            if flags.get("protected"):
                return problem("not-authorized-for-resource", "Authorization Error",
                               f"Sorry, you are not authorized to see the Tweet with id: [{tweet_id}].")
            fields = self._fields(q, "tweet.fields")
            view = {k: v for k, v in tweet.items() if k in ("id", "text", "edit_history_tweet_ids") or k in fields}
            return json_response(200, {"data": view})
        return problem("resource-not-found", "Not Found Error", f"Could not find tweet with id: [{tweet_id}].")

    # -- HTTP ---------------------------------------------------------------------------------

    def rate_headers(self, window: RateWindow, *, remaining: int | None = None,
                     reset_at: datetime | None = None) -> dict[str, str]:
        return {"x-rate-limit-limit": str(window.limit),
                "x-rate-limit-remaining": str(window.remaining if remaining is None else remaining),
                "x-rate-limit-reset": str(int((reset_at or window.reset_at).timestamp()))}

    def problem(self, status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
        return json_response(status, {"title": title, "detail": detail, "type": kind, "status": status})

    def error(self, status: int, message: str) -> Response:
        return self.problem(status, message, message)

    def too_many_requests(self) -> Response:
        return self.problem(429, "Too Many Requests", "Too Many Requests")

    def unauthorized(self) -> Response:
        return self.problem(401, "Unauthorized", "Unauthorized")

    def _invalid(self, parameter: str, value: str, message: str) -> Response:
        return json_response(400, {"errors": [{"parameters": {parameter: [value]}, "message": message}],
                                   "title": "Invalid Request",
                                   "detail": "One or more parameters to your request was invalid.",
                                   "type": _PROBLEM + "invalid-request"})

    @staticmethod
    def _user_problem(kind: str, parameter: str, value: str, detail: str, title: str) -> Response:
        return json_response(200, {"errors": [{"value": value, "detail": detail, "title": title,
                                               "resource_type": "user", "parameter": parameter,
                                               "resource_id": value, "type": _PROBLEM + kind}]})

    def handle(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p]
        if parts[:4] == ["2", "users", "by", "username"] and len(parts) == 5:
            return self._lookup(parts[4], req.query)
        if parts[:2] == ["2", "users"] and len(parts) == 4 and parts[3] == "tweets":
            return self._timeline(parts[2], req.query)
        if parts[:2] == ["2", "tweets"] and len(parts) == 3:
            return self._single(parts[2], req.query)
        return json_response(404, {"errors": [{"message": "The requested resource could not be found."}],
                                   "title": "Not Found Error", "detail": f"Cannot GET {req.path}",
                                   "type": _PROBLEM + "resource-not-found"})

    def _fields(self, query: dict[str, str], name: str) -> set[str]:
        return {f for f in query.get(name, "").split(",") if f}

    def _user_view(self, user: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        return {k: v for k, v in user.items() if k in ("id", "name", "username") or k in fields}

    def _lookup(self, username: str, query: dict[str, str]) -> Response:
        uid = self._uid(username)
        if uid is None:
            return self._user_problem("resource-not-found", "username", username,
                                      f"Could not find user with username: [{username}].", "Not Found Error")
        if self._flags[uid]["suspended"]:
            return self._user_problem("resource-not-found", "username", username,
                                      f"User has been suspended: [{username}].", "Forbidden")
        return json_response(200, {"data": self._user_view(self._users[uid], self._fields(query, "user.fields"))})

    def _timeline(self, uid: str, q: dict[str, str]) -> Response:
        if uid not in self._flags:
            return self._user_problem("resource-not-found", "id", uid, f"Could not find user with id: [{uid}].",
                                      "Not Found Error")
        if self._flags[uid]["suspended"]:
            return self._user_problem("resource-not-found", "id", uid, f"User has been suspended: [{uid}].",
                                      "Forbidden")
        if self._flags[uid]["protected"]:
            return json_response(200, {"errors": [{
                "resource_id": uid, "parameter": "id", "resource_type": "user", "section": "data",
                "title": "Authorization Error", "value": uid,
                "detail": f"Sorry, you are not authorized to see the user with id: [{uid}].",
                "type": _PROBLEM + "not-authorized-for-resource"}]})
        raw_max = q.get("max_results", "10")
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            return self._invalid("max_results", raw_max,
                                 f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100")
        limit = int(raw_max)
        for name in ("since_id", "until_id"):
            if name in q and not q[name].isdigit():
                return self._invalid(name, q[name], f"The `{name}` query parameter value [{q[name]}] does not "
                                                    f"match ^[0-9]{{1,19}}$")
        bounds: dict[str, datetime] = {}
        for name in ("start_time", "end_time"):
            if name in q:
                try:
                    bounds[name] = datetime.fromisoformat(q[name].replace("Z", "+00:00"))
                except ValueError:
                    return self._invalid(name, q[name], f"Invalid '{name}':'{q[name]}'")
        tweets = [t for t in self._timelines[uid] if str(t.get("id", "")).isdigit()][:REACHABLE]
        since, until = int(q.get("since_id", "0") or 0), int(q["until_id"]) if "until_id" in q else None

        def created(t: dict[str, Any]) -> datetime | None:
            value = t.get("created_at")
            return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None

        picked = [t for t in tweets
                  if int(t["id"]) > since and (until is None or int(t["id"]) < until)
                  and ("start_time" not in bounds or (created(t) or bounds["start_time"]) >= bounds["start_time"])
                  and ("end_time" not in bounds or (created(t) or bounds["end_time"]) <= bounds["end_time"])]
        token = q.get("pagination_token")
        if token:
            try:
                below = int(token.removeprefix(_TOKEN_PREFIX), 36)
            except ValueError:
                return self._invalid("pagination_token", token, f"The `pagination_token` query parameter value "
                                                                f"[{token}] is not valid")
            picked = [t for t in picked if int(t["id"]) < below]
        page = picked[:limit]
        if not page:
            return json_response(200, {"meta": {"result_count": 0}})
        fields = self._fields(q, "tweet.fields")
        expansions = self._fields(q, "expansions")
        data = [{k: v for k, v in t.items() if k in _ALWAYS or k in fields} for t in page]
        meta: dict[str, Any] = {"result_count": len(page), "newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if limit < len(picked):
            meta["next_token"] = _TOKEN_PREFIX + base36(int(page[-1]["id"]))
        body: dict[str, Any] = {"data": data}
        includes = self._includes(page, expansions, q)
        if includes:
            body["includes"] = includes
        body["meta"] = meta
        return json_response(200, body)

    def _includes(self, page: list[dict[str, Any]], expansions: set[str], q: dict[str, str]) -> dict[str, Any]:
        includes: dict[str, list[dict[str, Any]]] = {}
        referenced = [self._tweets[r["id"]] for t in page for r in t.get("referenced_tweets") or []
                      if r.get("id") in self._tweets]
        if "referenced_tweets.id" in expansions and referenced:
            fields = self._fields(q, "tweet.fields")
            includes["tweets"] = [{k: v for k, v in t.items() if k in _ALWAYS or k in fields} for t in referenced]
        if "attachments.media_keys" in expansions:
            sources = page + (referenced if "referenced_tweets.id" in expansions else [])
            keys = [k for t in sources for k in t.get("attachments", {}).get("media_keys", [])]
            media_fields = self._fields(q, "media.fields")
            media = [{k: v for k, v in self._media[key].items() if k in ("media_key", "type") or k in media_fields}
                     for key in dict.fromkeys(keys) if key in self._media]
            if media:
                includes["media"] = media
        authors: list[str] = []
        if "author_id" in expansions:
            authors += [t.get("author_id", "") for t in page]
        if "referenced_tweets.id.author_id" in expansions:
            authors += [t.get("author_id", "") for t in referenced]
        user_fields = self._fields(q, "user.fields")
        users = [self._user_view(self._users[a], user_fields) for a in dict.fromkeys(authors) if a in self._users]
        if users:
            includes["users"] = users
        return includes


__all__ = ["XAPI", "snowflake", "user_id"]
