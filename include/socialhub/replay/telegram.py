"""Emulated Telegram public channel preview (``t.me/s/<channel>``) for the replay server.

The markup follows a real saved page (``tgme_channel_history``, ``tgme_widget_message`` with
``data-post``, ``tgme_widget_message_text``, ``time[datetime]``, photo wraps with a
``background-image``, ``tgme_widget_message_reply``, ``tgme_widget_message_forwarded_from_name``):

* ``GET /s/:channel`` -> the newest ``page_size`` (default 20) messages, oldest first
* ``GET /s/:channel/:id`` -> the page around message ``id`` (half older and it, half newer)
* ``?before=<id>`` -> the newest page of messages older than ``id``; ``?after=<id>`` -> the
  oldest page of messages newer than ``id``
* ``<link rel="prev" href="/s/ch?before=N">`` and ``a.tme_messages_more[data-before]`` when older
  messages exist, ``<link rel="next" href="/s/ch?after=N">`` when newer ones exist
* an unknown channel -> 302 to ``https://t.me/<name>`` (Telegram's redirect to the contact
  page); a name with ``preview: false`` (a user or a private channel) -> 200 page without a
  message history
* no rate-limit headers; 429 with ``Retry-After`` when the window is used up.

Message ids count up per channel in posting order, from a base derived from the channel name,
so they depend only on the data and the server clock.
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
    b32,
    check_post_keys,
    digest,
    parse_age,
    retry_after_seconds,
    text_response,
)
from socialhub.replay.media import thumbnail_spec

CDN = "https://cdn.hubdemo.example/file"
HTML = "text/html; charset=utf-8"
_VIDEO_EXT = (".mp4", ".mov", ".webm")


def _e(value: str) -> str:
    return html.escape(value, quote=True)


class TelegramAPI(PlatformAPI):
    platform = "telegram"
    default_limit = 60        # undocumented: the connector must throttle conservatively
    default_window = 60.0
    content_type = HTML

    def __init__(self, spec: Mapping[str, Any], *, now: Any) -> None:
        super().__init__(spec, now=now)
        self.page_size = int(spec.get("page_size") or 20)
        self._channels: dict[str, dict[str, Any]] = {}    # name (lower) -> {name, title, description, preview}
        self._messages: dict[str, list[dict[str, Any]]] = {}   # name (lower) -> messages, ascending ids
        self._labels: dict[str, dict[str, Any]] = {}
        for entry in spec.get("channels") or []:
            name = str(entry["name"])
            self._channels[name.lower()] = {"name": name, "title": str(entry.get("title") or name),
                                            "description": str(entry.get("description") or ""),
                                            "preview": entry.get("preview", True) is not False}
            self._messages[name.lower()] = []
            posts = list(entry.get("posts") or [])
            for index, post in enumerate(posts):
                check_post_keys(post, f"telegram channel {name} post #{index + 1}")
            # ids count up in posting order: add the oldest first (labels must still be defined first)
            order = sorted(range(len(posts)), key=lambda i: (-parse_age(posts[i].get("age")).total_seconds(), i))
            pending = [posts[i] for i in order]
            for post in pending:
                self.add_post(name, post)

    # -- data ---------------------------------------------------------------------------------

    def add_post(self, account: str, post: Mapping[str, Any]) -> dict[str, Any]:
        check_post_keys(post, f"telegram post for {account}")
        key = account.strip().lstrip("@").lower()
        channel = self._channels.get(key)
        if channel is None:
            raise KeyError(f"unknown telegram channel {account!r}; known: {', '.join(self.accounts())}")
        if post.get("reply_to") and str(post["reply_to"]) not in self._labels:
            raise ValueError(f"reply_to unknown label {post['reply_to']!r}; labels must be defined before use")
        messages = self._messages[key]
        base = 100 + int.from_bytes(digest("tg", key)[:2], "big") % 9000
        mid = (messages[-1]["id"] + 1) if messages else base
        created = self.now() - parse_age(post.get("age"))
        message = {"id": mid, "channel": channel["name"], "created": created, "post": dict(post)}
        if post.get("label"):
            self._labels[str(post["label"])] = message
        messages.append(message)
        self.note_removed(post, f"{channel['name']}/{mid}")
        return {"id": mid, "data_post": f"{channel['name']}/{mid}", "html": self._render(message)}

    def accounts(self) -> list[str]:
        return [c["name"] for c in self._channels.values()]

    # -- states -----------------------------------------------------------------------------------

    def remove_post(self, post_id: str) -> None:
        """``channel/id``: the message is deleted (its id is never reused, so pages show a gap)."""
        name, _, number = post_id.rpartition("/")
        messages = self._messages.get(name.lower(), [])
        for message in messages:
            if str(message["id"]) == number:
                messages.remove(message)
                return
        raise KeyError(f"no telegram message {post_id!r}")

    def _known(self, account: str) -> str:
        key = account.strip().lstrip("@").lower()
        if key not in self._channels:
            raise KeyError(f"unknown telegram channel {account!r}; known: {', '.join(self.accounts())}")
        return key

    def suspend_account(self, account: str) -> None:
        """A blocked channel: the preview has no message history any more (observed, undocumented)."""
        self._channels[self._known(account)]["preview"] = False

    def rename_account(self, account: str, new_name: str) -> None:
        """A new public name: the old one redirects to ``t.me/<old>``, the messages move with the channel."""
        key = self._known(account)
        new = new_name.strip().lstrip("@")
        channel = self._channels.pop(key)
        channel["name"] = new
        self._channels[new.lower()] = channel
        self._messages[new.lower()] = self._messages.pop(key)
        for message in self._messages[new.lower()]:
            message["channel"] = new

    # -- rendering ----------------------------------------------------------------------------

    def _render(self, message: dict[str, Any]) -> str:
        post: dict[str, Any] = message["post"]
        drop = set(post.get("drop") or [])
        channel = self._channels[message["channel"].lower()]
        name, mid = message["channel"], message["id"]
        url = f"https://t.me/{name}/{mid}"
        parts = [f'<div class="tgme_widget_message_wrap js-widget_message_wrap">'
                 f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
                 f'data-post="{_e(name)}/{mid}" data-view="{b32(digest(name, str(mid)))[:24]}">',
                 '<div class="tgme_widget_message_bubble">',
                 f'<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" '
                 f'href="https://t.me/{_e(name)}"><span dir="auto">{_e(channel["title"])}</span></a></div>']
        repost = post.get("repost")
        if repost:
            source = str(repost.get("author") or "somewhere_else")
            ref = int.from_bytes(digest("fwd", source, str(mid))[:2], "big")
            parts.append(f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from&nbsp;'
                         f'<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/{_e(source)}/{ref}">'
                         f'<span dir="auto">{_e(source)}</span></a></div>')
        if post.get("reply_to"):
            parent = self._labels[str(post["reply_to"])]
            parent_text = str(parent["post"].get("text") or "")[:60]
            parts.append(f'<a class="tgme_widget_message_reply" href="https://t.me/{_e(name)}/{parent["id"]}">'
                         f'<div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_'
                         f'author_name" dir="auto">{_e(channel["title"])}</span></div>'
                         f'<div class="tgme_widget_message_metatext js-message_reply_text" dir="auto">'
                         f'{_e(parent_text)}</div></a>')
        for index, item in enumerate(post.get("media") or []):
            file = str(item.get("file") if isinstance(item, dict) else item)
            token = b32(digest(name, str(mid), file, str(index)))[:40]
            still = self.media_url(f"{CDN}/{token}.jpg", thumbnail_spec(item))
            if file.lower().endswith(_VIDEO_EXT):
                self.media_url(f"{CDN}/{token}.mp4", item)
                parts.append(f'<a class="tgme_widget_message_video_player js-message_video_player" href="{url}">'
                             f'<i class="tgme_widget_message_video_thumb" '
                             f"style=\"background-image:url('{still}')\"></i>"
                             f'<div class="tgme_widget_message_video_wrap"><video src="{CDN}/{token}.mp4" '
                             f'class="tgme_widget_message_video js-message_video" width="100%" height="100%">'
                             f'</video></div></a>')
            else:
                parts.append(f'<a class="tgme_widget_message_photo_wrap" href="{url}" '
                             f"style=\"width:800px;background-image:url('{still}')\">"
                             f'<div class="tgme_widget_message_photo" style="padding-top:75%"></div></a>')
        if "text" not in drop and post.get("text"):
            body = "<br/>".join(_e(line) for line in str(post["text"]).split("\n"))
            parts.append(f'<div class="tgme_widget_message_text js-message_text" dir="auto">{body}</div>')
        link = post.get("link")
        if link:
            link = link if isinstance(link, dict) else {"url": link}
            parts.append(f'<a class="tgme_widget_message_link_preview" href="{_e(link["url"])}">'
                         f'<div class="link_preview_site_name accent_color" dir="auto">'
                         f'{_e(link["url"].split("/")[2])}</div>'
                         f'<div class="link_preview_title" dir="auto">{_e(str(link.get("title", "")))}</div>'
                         f'<div class="link_preview_description" dir="auto">'
                         f'{_e(str(link.get("description", "")))}</div></a>')
        stamp = message["created"].isoformat(timespec="seconds")
        time_html = "" if "time" in drop else f'<time datetime="{stamp}" class="time">{stamp[11:16]}</time>'
        parts.append('<div class="tgme_widget_message_footer compact js-message_footer">'
                     '<div class="tgme_widget_message_info short js-message_info">'
                     '<span class="tgme_widget_message_views">1.2K</span><span class="copyonly"> views</span>'
                     f'<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="{url}">'
                     f'{time_html}</a></span></div></div>')
        parts.append("</div></div></div>")
        return "\n".join(parts)

    def _page_html(self, channel: dict[str, Any], page: list[dict[str, Any]], older: bool, newer: bool,
                   canonical: str) -> str:
        name = _e(channel["name"])
        head = [f'<link rel="canonical" href="/s/{name}{canonical}">']
        more = ""
        if page and older:
            head.append(f'<link rel="prev" href="/s/{name}?before={page[0]["id"]}">')
            more = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/{name}?before='
                    f'{page[0]["id"]}" class="tme_messages_more js-messages_more" data-before="{page[0]["id"]}">'
                    f'</a></div>')
        if page and newer:
            head.append(f'<link rel="next" href="/s/{name}?after={page[-1]["id"]}">')
        messages = "\n".join(self._render(m) for m in page)
        return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
                f"<title>{_e(channel['title'])} – Telegram</title>\n"
                f'<meta property="og:title" content="{_e(channel["title"])}">\n' + "\n".join(head) + "\n</head>\n"
                '<body class="widget_frame_base tgme_webpreview emoji_image thin_box_shadow tme_mode no_transitions">\n'
                '<header class="tgme_header search_collapsed"><div class="tgme_header_info">'
                f'<div class="tgme_header_title">{_e(channel["title"])}</div></div></header>\n'
                f'<main class="tgme_main" data-url="/{name}"><div class="tgme_container">\n'
                '<section class="tgme_channel_history js-message_history">\n'
                f"{more}\n{messages}\n</section>\n</div></main>\n"
                '<div class="tgme_channel_info"><div class="tgme_channel_info_header">'
                f'<div class="tgme_channel_info_header_title"><span dir="auto">{_e(channel["title"])}</span></div>'
                f'<div class="tgme_channel_info_header_username"><a href="https://t.me/{name}">@{name}</a></div>'
                f'</div><div class="tgme_channel_info_description">{_e(channel["description"])}</div></div>\n'
                "</body>\n</html>\n")

    def _contact_page(self, name: str) -> str:
        return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Telegram: Contact @" + _e(name)
                + "</title></head><body class=\"tgme_page_wrap\"><div class=\"tgme_page\">"
                  "<div class=\"tgme_page_title\"><span dir=\"auto\">" + _e(name) + "</span></div>"
                  "<div class=\"tgme_page_description\">If you have <strong>Telegram</strong>, you can contact "
                  "<a class=\"tgme_username_link\" href=\"tg://resolve?domain=" + _e(name) + "\">@" + _e(name)
                + "</a> right away.</div></div></body></html>\n")

    # -- HTTP ---------------------------------------------------------------------------------

    def rate_headers(self, window: RateWindow, *, remaining: int | None = None,
                     reset_at: datetime | None = None) -> dict[str, str]:
        return {}

    def error(self, status: int, message: str) -> Response:
        return text_response(status, f"<!DOCTYPE html><html><body><h1>{status}</h1><p>{_e(message)}</p></body></html>",
                             HTML)

    def too_many_requests(self) -> Response:
        return self.error(429, "Too Many Requests: retry later")

    def exhausted(self, window: RateWindow) -> Response:
        response = self.too_many_requests()
        response.headers["Retry-After"] = retry_after_seconds(window, self.now())
        return response

    def handle(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p]
        around: int | None = None
        if len(parts) == 3 and parts[0] == "s" and parts[2].isdigit():   # t.me/s/<channel>/<id>
            around, parts = int(parts[2]), parts[:2]
        if len(parts) != 2 or parts[0] != "s":
            return self.error(404, "Not Found")
        name = parts[1]
        channel = self._channels.get(name.lower())
        if channel is None:
            return Response(302, b"", {"Location": f"https://t.me/{name}", "Content-Type": HTML})
        if not channel["preview"]:
            return text_response(200, self._contact_page(channel["name"]), HTML)
        messages = self._messages[name.lower()]
        q = req.query
        size = self.page_size
        if around is not None:   # the page around a message: half older (and it), half newer
            half = max(1, size // 2)
            page = [m for m in messages if m["id"] <= around][-half:] + [m for m in messages if m["id"] > around][:half]
            canonical = f"/{around}"
        elif q.get("before", "").isdigit():
            before = int(q["before"])
            older_than = [m for m in messages if m["id"] < before]
            page = older_than[-size:]
            canonical = f"?before={before}"
        elif q.get("after", "").isdigit():
            after = int(q["after"])
            page = [m for m in messages if m["id"] > after][:size]
            canonical = f"?after={after}"
        else:
            page = messages[-size:]
            canonical = ""
        older = bool(page) and page[0]["id"] > messages[0]["id"]   # (page non-empty: so are the messages)
        newer = bool(page) and page[-1]["id"] < messages[-1]["id"]
        return text_response(200, self._page_html(channel, copy.copy(page), older, newer, canonical), HTML,
                             {"Cache-Control": "no-store"})


__all__ = ["TelegramAPI"]
