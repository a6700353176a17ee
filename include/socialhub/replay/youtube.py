"""Emulated YouTube Data API v3 (the read calls socialhub uses) and channel RSS feeds.

* ``GET /channels?part=snippet,contentDetails&id=|forHandle=|forUsername=`` -> channel list
  (``items`` absent when nothing matched, as Google does)
* ``GET /playlistItems?part=&playlistId=&maxResults=&pageToken=`` -> the uploads playlist,
  newest first, ``maxResults`` 0..50 (default 5), positional page tokens
  (``nextPageToken`` / ``prevPageToken``); private videos stay as "Private video" placeholders
  without ``videoPublishedAt``; unknown playlist -> 404 ``playlistNotFound``
* ``GET /videos?part=&id=a,b,...`` -> the public videos among the ids (at most 50)
* ``GET /feeds/videos.xml?channel_id=UC...`` -> the channel's Atom feed, 15 newest public
  uploads (``yt:videoId``, ``media:group``); unknown channel -> 404; free (no quota, no key)

Every API call costs 1 unit of a daily window (default 10,000 units, ``quota:`` in the data);
when it is used up the answer is Google's 403 ``quotaExceeded``. The API key travels as
``key=`` (``require_token`` checks that parameter; a wrong key is 400 ``API_KEY_INVALID``).
No rate-limit headers exist. Channel ids derive from the handle, video ids from the channel,
the upload time (server clock) and a sequence number.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from socialhub.replay.api import (
    PlatformAPI,
    RateWindow,
    Request,
    Response,
    b64id,
    base36,
    check_post_keys,
    iso_ms,
    json_response,
    parse_age,
    text_response,
)

ACCOUNT_CREATED = datetime.fromisoformat("2020-05-04T16:00:00+00:00")
THUMBS = "https://i.ytimg.com/vi"
FEED_THUMBS = "https://i1.ytimg.com/vi"     # the RSS feed's media:thumbnail host
FEED_ENTRIES = 15
_SIZES = (("default", 120, 90), ("medium", 320, 180), ("high", 480, 360), ("standard", 640, 480),
          ("maxres", 1280, 720))


def channel_id(handle: str) -> str:
    return "UC" + b64id(22, "yt-channel", handle.lower().lstrip("@"))


def google_error(status: int, message: str, reason: str, domain: str = "global",
                 extra: Mapping[str, Any] | None = None) -> Response:
    code_status = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                   429: "RESOURCE_EXHAUSTED"}.get(status)
    error: dict[str, Any] = {"code": status, "message": message,
                             "errors": [{"message": message, "domain": domain, "reason": reason}]}
    if code_status:
        error["status"] = code_status
    error.update(extra or {})
    return json_response(status, {"error": error})


class YouTubeAPI(PlatformAPI):
    platform = "youtube"
    default_limit = 10_000    # units per day; every call used here costs 1
    default_window = 86_400.0

    def __init__(self, spec: Mapping[str, Any], *, now: Any) -> None:
        super().__init__(spec, now=now)
        self.limit = int(spec.get("quota") or YouTubeAPI.default_limit)
        self._seq = 0
        self._channels: dict[str, dict[str, Any]] = {}       # channel id -> channel resource
        self._videos: dict[str, list[dict[str, Any]]] = {}   # channel id -> videos, newest first
        for entry in spec.get("channels") or []:
            handle = str(entry["handle"])
            if not handle.startswith("@"):
                raise ValueError(f"youtube channel handle {handle!r} must start with @")
            cid = channel_id(handle)
            self._channels[cid] = {
                "kind": "youtube#channel", "etag": b64id(27, "etag", cid), "id": cid,
                "snippet": {"title": str(entry.get("title") or handle), "description": str(entry.get("description") or ""),
                            "customUrl": handle.lower(), "publishedAt": iso_ms(ACCOUNT_CREATED)[:19] + "Z",
                            "thumbnails": {"default": {"url": f"https://yt3.hubdemo.example/{cid}=s88", "width": 88,
                                                       "height": 88}},
                            "country": "GB"},
                "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + cid[2:]}},
            }
            self._videos[cid] = []
            for index, post in enumerate(entry.get("posts") or []):
                check_post_keys(post, f"youtube channel {handle} post #{index + 1}")
                self.add_post(handle, post)

    # -- data ---------------------------------------------------------------------------------

    def _channel(self, account: str) -> dict[str, Any] | None:
        value = account.strip()
        if value in self._channels:
            return self._channels[value]
        handle = ("@" + value.lstrip("@")).lower()
        return next((c for c in self._channels.values() if c["snippet"]["customUrl"] == handle), None)

    def add_post(self, account: str, post: Mapping[str, Any]) -> dict[str, Any]:
        check_post_keys(post, f"youtube post for {account}")
        channel = self._channel(account)
        if channel is None:
            raise KeyError(f"unknown youtube channel {account!r}; known: {', '.join(self.accounts())}")
        self._seq += 1
        created = self.now() - parse_age(post.get("age"))
        cid = channel["id"]
        vid = b64id(11, "yt-video", cid, created.isoformat(), str(self._seq))
        # the feed's thumbnail (rendered per request) is registered now, with the Data API's below
        self.media_url(f"{FEED_THUMBS}/{vid}/hqdefault.jpg", {"file": "hqdefault.jpg", "scene": vid, "size": [480, 360]})
        text = str(post.get("text") or "")
        title = str(post.get("title") or text.split("\n")[0][:100] or "Untitled")
        description = text if post.get("title") else "\n".join(text.split("\n")[1:])
        if post.get("link"):
            link = post["link"] if isinstance(post["link"], dict) else {"url": post["link"]}
            description = f"{description}\n\n{link['url']}".strip()
        video: dict[str, Any] = {
            "kind": "youtube#video", "etag": b64id(27, "etag", vid), "id": vid,
            "snippet": {"publishedAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "channelId": cid, "title": title,
                        "description": description,
                        "thumbnails": {name: {"url": self.media_url(f"{THUMBS}/{vid}/{name}.jpg",
                                                                    {"file": f"{name}.jpg", "scene": vid, "size": [w, h]}),
                                              "width": w, "height": h}
                                       for name, w, h in _SIZES},
                        "channelTitle": channel["snippet"]["title"], "categoryId": "22",
                        "liveBroadcastContent": "none", "localized": {"title": title, "description": description}},
            "contentDetails": {"duration": "PT3M12S", "dimension": "2d", "definition": "hd", "caption": "false"},
            "status": {"uploadStatus": "processed", "privacyStatus": "public", "license": "youtube",
                       "embeddable": True, "publicStatsViewable": True, "madeForKids": False},
        }
        for key in post.get("drop") or []:
            video["snippet"].pop(key, None)
        video.update(dict(post.get("override") or {}))
        self.note_removed(post, vid)
        videos = self._videos[cid]
        videos.append(video)
        videos.sort(key=lambda v: (v["snippet"].get("publishedAt") or "", v["id"]), reverse=True)
        return copy.deepcopy(video)

    def accounts(self) -> list[str]:
        return [c["snippet"]["customUrl"] for c in self._channels.values()]

    # -- states -----------------------------------------------------------------------------------

    def remove_post(self, post_id: str) -> None:
        """The video is deleted: videos.list leaves it out, the feed and the playlist too."""
        for videos in self._videos.values():
            for video in videos:
                if video["id"] == post_id:
                    videos.remove(video)
                    return
        raise KeyError(f"no youtube video {post_id!r}")

    def _known(self, account: str) -> dict[str, Any]:
        channel = self._channel(account)
        if channel is None:
            raise KeyError(f"unknown youtube channel {account!r}; known: {', '.join(self.accounts())}")
        return channel

    def suspend_account(self, account: str) -> None:
        """A terminated channel: channels.list finds nothing, its feed and uploads playlist are 404,
        videos.list leaves its videos out (the Data API shows no more than that)."""
        cid = self._known(account)["id"]
        self._channels.pop(cid)
        self._videos.pop(cid)

    def rename_account(self, account: str, new_name: str) -> None:
        """A new @handle: the channel id stays, ``forHandle=<old>`` finds nothing."""
        handle = new_name.strip()
        self._known(account)["snippet"]["customUrl"] = ("@" + handle.lstrip("@")).lower()

    @staticmethod
    def _public(video: dict[str, Any]) -> bool:
        return video.get("status", {}).get("privacyStatus") == "public"

    # -- HTTP ---------------------------------------------------------------------------------

    def authorized(self, req: Request, token: str) -> bool:
        return req.path.startswith("/feeds/") or req.query.get("key") == token

    def request_cost(self, req: Request) -> int:
        return 0 if req.path.startswith("/feeds/") else 1

    def rate_headers(self, window: RateWindow, *, remaining: int | None = None,
                     reset_at: datetime | None = None) -> dict[str, str]:
        return {}

    def error(self, status: int, message: str) -> Response:
        reason = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "notFound",
                  429: "rateLimitExceeded"}.get(status, "backendError")
        return google_error(status, message, reason)

    def too_many_requests(self) -> Response:
        return google_error(429, "Resource has been exhausted (e.g. check quota).", "rateLimitExceeded")

    def exhausted(self, window: RateWindow) -> Response:
        return google_error(403, 'The request cannot be completed because you have exceeded your '
                                 '<a href="/youtube/v3/getting-started#quota">quota</a>.', "quotaExceeded",
                            "youtube.quota")

    def unauthorized(self) -> Response:
        return google_error(400, "API key not valid. Please pass a valid API key.", "badRequest",
                            extra={"details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]})

    def handle(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if path == "/feeds/videos.xml":
            return self._feed(req.query.get("channel_id", ""))
        if path in ("/channels", "/playlistItems", "/videos") and not req.query.get("part"):
            return google_error(400, "No filter selected. Expected one of: ...", "missingRequiredParameter",
                                "youtube.parameter")
        if path == "/channels":
            return self._channels_list(req.query)
        if path == "/playlistItems":
            return self._playlist_items(req.query)
        if path == "/videos":
            return self._videos_list(req.query)
        return self.error(404, "Not Found")

    @staticmethod
    def _parts(resource: dict[str, Any], q: dict[str, str]) -> dict[str, Any]:
        wanted = {p.strip() for p in q.get("part", "").split(",") if p.strip()}
        return {k: v for k, v in resource.items() if k in ("kind", "etag", "id") or k in wanted}

    def _list(self, kind: str, items: list[dict[str, Any]], per_page: int, *, total: int | None = None,
              **tokens: str) -> Response:
        body: dict[str, Any] = {"kind": f"youtube#{kind}ListResponse", "etag": b64id(27, kind, str(len(items))),
                                **tokens, "pageInfo": {"totalResults": len(items) if total is None else total,
                                                       "resultsPerPage": per_page}}
        if items:
            body["items"] = items
        return json_response(200, body)

    def _channels_list(self, q: dict[str, str]) -> Response:
        if q.get("id"):
            found = [self._channels[i] for i in q["id"].split(",") if i in self._channels]
        elif q.get("forHandle"):
            found = [c for c in [self._channel(q["forHandle"])] if c]
        elif q.get("forUsername"):
            found = [c for c in [self._channel(q["forUsername"])] if c]
        else:
            return google_error(400, "No filter selected. Expected one of: forUsername, managedByMe, myRecentSubscribers,"
                                     " mySubscribers, id, mine, forHandle, categoryId", "missingRequiredParameter",
                                "youtube.parameter")
        return self._list("channel", [self._parts(c, q) for c in found], 5)

    def _playlist_items(self, q: dict[str, str]) -> Response:
        playlist = q.get("playlistId", "")
        cid = "UC" + playlist[2:] if playlist.startswith("UU") else ""
        if cid not in self._channels:
            return google_error(404, "The playlist identified with the request's <code>playlistId</code> parameter "
                                     "cannot be found.", "playlistNotFound", "youtube.playlistItem")
        raw = q.get("maxResults", "5")
        if not raw.isdigit() or int(raw) > 50:
            return google_error(400, f"Invalid value '{raw}'. Values must be within the range: [0, 50]",
                                "invalidParameter", "youtube.parameter")
        size = int(raw)
        token = q.get("pageToken", "")
        offset = 0
        if token:
            if not (token.startswith("CA") and token[-3:] in ("QAA", "QAQ")):
                return google_error(400, "The request specifies an invalid page token.", "invalidPageToken",
                                    "youtube.parameter")
            offset = int(token[2:-3], 36)
        videos = self._videos[cid]
        page = videos[offset:offset + size]
        channel = self._channels[cid]["snippet"]["title"]
        items = []
        for position, video in enumerate(page, start=offset):
            private = not self._public(video)
            snippet = {"publishedAt": video["snippet"].get("publishedAt"), "channelId": cid,
                       "title": "Private video" if private else video["snippet"].get("title"),
                       "description": "This video is private." if private else video["snippet"].get("description"),
                       "thumbnails": {} if private else video["snippet"].get("thumbnails"),
                       "channelTitle": channel, "playlistId": playlist, "position": position,
                       "resourceId": {"kind": "youtube#video", "videoId": video["id"]}}
            if not private:
                snippet.update({"videoOwnerChannelTitle": channel, "videoOwnerChannelId": cid})
            details: dict[str, Any] = {"videoId": video["id"]}
            if not private and video["snippet"].get("publishedAt"):
                details["videoPublishedAt"] = video["snippet"]["publishedAt"]
            item = {"kind": "youtube#playlistItem", "etag": b64id(27, "pi", video["id"]),
                    "id": b64id(40, playlist, video["id"]), "snippet": snippet, "contentDetails": details,
                    "status": {"privacyStatus": "private" if private else "public"}}
            items.append(self._parts(item, q))
        tokens: dict[str, str] = {}
        if offset + size < len(videos) and size:
            tokens["nextPageToken"] = f"CA{base36(offset + size)}QAA"
        if offset:
            tokens["prevPageToken"] = f"CA{base36(max(0, offset - size))}QAQ"
        return self._list("playlistItem", items, size, total=len(videos), **tokens)

    def _videos_list(self, q: dict[str, str]) -> Response:
        ids = [i for i in q.get("id", "").split(",") if i]
        if len(ids) > 50:
            return google_error(400, "The request specifies too many video ids.", "invalidFilters",
                                "youtube.parameter")
        by_id = {v["id"]: v for videos in self._videos.values() for v in videos if self._public(v)}
        return self._list("video", [self._parts(by_id[i], q) for i in ids if i in by_id], len(ids))

    def _feed(self, cid: str) -> Response:
        channel = self._channels.get(cid)
        if channel is None:
            return text_response(404, "<!DOCTYPE html><html><body>Not Found</body></html>", "text/html; charset=utf-8")
        title = html.escape(channel["snippet"]["title"])
        url = f"https://www.youtube.com/channel/{cid}"
        entries = []
        for video in [v for v in self._videos[cid] if self._public(v)][:FEED_ENTRIES]:
            vid = video["id"]
            published = (video["snippet"].get("publishedAt") or "").replace("Z", "+00:00")
            entries.append(
                f"<entry><id>yt:video:{vid}</id><yt:videoId>{vid}</yt:videoId><yt:channelId>{cid}</yt:channelId>"
                f"<title>{html.escape(video['snippet'].get('title', ''))}</title>"
                f'<link rel="alternate" href="https://www.youtube.com/watch?v={vid}"/>'
                f"<author><name>{title}</name><uri>{url}</uri></author>"
                f"<published>{published}</published><updated>{published}</updated>"
                f"<media:group><media:title>{html.escape(video['snippet'].get('title', ''))}</media:title>"
                f'<media:content url="https://www.youtube.com/v/{vid}?version=3" type="application/x-shockwave-flash"'
                f' width="640" height="390"/>'
                f'<media:thumbnail url="{FEED_THUMBS}/{vid}/hqdefault.jpg" width="480" height="360"/>'
                f"<media:description>{html.escape(video['snippet'].get('description', ''))}</media:description>"
                f"</media:group></entry>")
        doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
               'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">'
               f'<link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id={cid}"/>'
               f"<id>yt:channel:{cid[2:]}</id><yt:channelId>{cid[2:]}</yt:channelId><title>{title}</title>"
               f'<link rel="alternate" href="{url}"/><author><name>{title}</name><uri>{url}</uri></author>'
               f"<published>{channel['snippet']['publishedAt'].replace('Z', '+00:00')}</published>"
               + "".join(entries) + "</feed>\n")
        return text_response(200, doc, "application/atom+xml; charset=UTF-8")


__all__ = ["YouTubeAPI", "channel_id", "google_error"]
