"""Telegram: a public channel's posts from its web preview, ``https://t.me/s/<channel>``.

There is no official read API for public channels without a Telegram account (MTProto needs a
phone-number login), so the web preview is read. It is undocumented; the behaviour relied on is
observed (see RULES.md and the recorded page in the shared fixtures):

* a page holds about 20 messages, oldest first, each a ``div.tgme_widget_message`` with
  ``data-post="<channel>/<id>"``; ids grow by one per message in a channel;
* ``?before=<id>`` gives the page of messages older than ``id`` (exclusive), the id to continue
  with is in ``a.tme_messages_more[data-before]`` or ``<link rel="prev">``;
* ``?after=<id>`` gives the messages newer than ``id``, oldest first, with ``<link rel="next">``
  while there are more;
* a channel without a public preview (private, deleted, renamed, or a user/bot name) is
  redirected to ``https://t.me/<name>`` or served without a message history.

First run: newest page, then ``before=`` pages back to the look-back horizon. Later runs page
*forward* from the cursor with ``after=`` (oldest first), so a run cut short by ``max_pages``
loses nothing: the cursor only advances to the newest message actually collected.

Parsing uses BeautifulSoup over the stdlib ``html.parser``; each message's exact source HTML
(cut from the page at the element's offsets) is kept as its raw evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from bs4 import BeautifulSoup, NavigableString, Tag

from socialhub.errors import AccountUnavailable, ConnectorError, MalformedResponse
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult, utcnow
from socialhub.sources.common import Page, iso_or_raw, parse_time, walk
from socialhub.sources.http import HttpClient
from socialhub.sources.status import PostRef, PostStatus

_CHANNEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_BG_URL_RE = re.compile(r"background-image:\s*url\(['\"]?([^'\")]+)['\"]?\)")


# --------------------------------------------------------------------------------------------
# the page, parsed by BeautifulSoup
# --------------------------------------------------------------------------------------------

class ParsedPage(BeautifulSoup):
    """A page parsed by BeautifulSoup over the stdlib ``html.parser`` (forgiving with broken
    markup, and it keeps NUL and control characters verbatim, as the hostile-input tests expect),
    with each tag's position in the source, so a message's raw evidence is its exact source text."""

    def __init__(self, source: str) -> None:
        super().__init__(source, "html.parser", store_line_numbers=True)
        self.source = source
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def offset(self, tag: Tag) -> int:
        """Where ``tag``'s start tag begins in the source."""
        return self._line_starts[(tag.sourceline or 1) - 1] + (tag.sourcepos or 0)

    def outer_source(self, tag: Tag) -> str:
        """``tag``'s exact source text, from its start tag to its own end tag. The end tag is the
        one that balances the tags of the same name inside it (the parser gives no end offsets);
        if it is missing (broken markup), the text runs to the next tag after the element."""
        start = self.offset(tag)
        closes = re.compile(rf"</{re.escape(tag.name)}\s*>", re.I).finditer(self.source, start)
        wanted = len(tag.find_all(tag.name)) + 1
        close = next((m for i, m in enumerate(closes, 1) if i == wanted), None)
        following = tag.find_next(lambda t: tag not in t.parents)
        limit = self.offset(following) if isinstance(following, Tag) else len(self.source)
        return self.source[start:close.end() if close is not None and close.end() <= limit else limit]


def parse_html(source: str) -> ParsedPage:
    return ParsedPage(source)


def _find(node: Tag, cls: str, tag: str | None = None) -> Tag | None:
    found = node.find(tag or True, class_=cls)
    return found if isinstance(found, Tag) else None


def _find_all(node: Tag, cls: str, tag: str | None = None) -> list[Tag]:
    return [t for t in node.find_all(tag or True, class_=cls) if isinstance(t, Tag)]


def _inside(node: Tag, cls: str, stop: Tag) -> bool:
    """Whether an ancestor of ``node`` below ``stop`` has the class ``cls``."""
    for parent in node.parents:
        if parent is stop:
            return False
        if cls in (parent.get("class") or ()):
            return True
    return False


def _attr(node: Tag, name: str) -> str:
    value = node.get(name)
    return " ".join(value) if isinstance(value, list) else value or ""


def text_of(node: Tag, skip: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """Visible text: ``<br>`` = newline, block ends = newline, classes in ``skip`` left out."""
    parts: list[str] = []

    def visit(n: Tag) -> None:
        for child in n.children:
            if isinstance(child, Tag):
                if child.name == "br":
                    parts.append("\n")
                elif not (set(child.get("class") or ()) & skip) and child.name not in ("script", "style"):
                    visit(child)
                    if child.name in ("p", "div", "blockquote", "li"):
                        parts.append("\n")
            elif type(child) is NavigableString:   # not comments, doctypes, CDATA
                parts.append(re.sub(r"\s+", " ", str(child)))

    visit(node)
    lines = [line.strip() for line in "".join(parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------------------------
# a preview page
# --------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Message:
    channel: str
    id: int
    html: str                   # the message's own HTML: the raw evidence
    url: str
    author: str
    text: str
    time_raw: str
    media: list[str]
    reply_to: str | None
    forwarded_from: str | None

    @property
    def post_id(self) -> str:
        return f"{self.channel}/{self.id}"


@dataclass(slots=True)
class PreviewPage:
    channel_title: str
    messages: list[Message]     # oldest first, as served
    before: int | None          # continue to older messages with ?before=
    after: int | None           # continue to newer messages with ?after= (rel="next")
    has_history: bool


def _post_ref(href: str) -> str | None:
    """``https://t.me/chan/123`` (or ``?single``) -> ``chan/123``; other links -> None."""
    parts = urlsplit(href)
    match = re.fullmatch(r"/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})/(\d+)", parts.path)
    return f"{match.group(1)}/{match.group(2)}" if match else None


def _int_param(href: str, name: str) -> int | None:
    values = parse_qs(urlsplit(href).query).get(name)
    return int(values[0]) if values and values[0].isdigit() else None


def _media(node: Tag) -> list[str]:
    urls: list[str] = []
    for n in node.find_all(True):
        if _inside(n, "tgme_widget_message_reply", node) or _inside(n, "tgme_widget_message_link_preview", node):
            continue
        if set(n.get("class") or ()) & {"tgme_widget_message_photo_wrap", "tgme_widget_message_video_thumb",
                                        "tgme_widget_message_roundvideo_thumb"}:
            match = _BG_URL_RE.search(_attr(n, "style"))
            if match:
                urls.append(match.group(1))
        elif n.name == "video" and _attr(n, "src"):
            urls.append(_attr(n, "src"))
    return list(dict.fromkeys(urls))


def _message(node: Tag, page: ParsedPage) -> Message | None:
    channel, _, ident = _attr(node, "data-post").partition("/")
    if not channel or not ident.isdigit():
        return None
    text_node = next((n for n in _find_all(node, "tgme_widget_message_text")
                      if not _inside(n, "tgme_widget_message_reply", node)), None)
    date_link = _find(node, "tgme_widget_message_date", "a")
    time_node = date_link.find("time") if date_link else None
    signature = _find(node, "tgme_widget_message_from_author")
    owner = _find(node, "tgme_widget_message_owner_name")
    reply = _find(node, "tgme_widget_message_reply", "a")
    forwarded = _find(node, "tgme_widget_message_forwarded_from_name")
    return Message(
        channel=channel,
        id=int(ident),
        html=page.outer_source(node),
        url=_attr(date_link, "href") if date_link else f"https://t.me/{channel}/{ident}",
        author=text_of(signature) if signature else text_of(owner) if owner else "",
        text=text_of(text_node) if text_node else "",
        time_raw=_attr(time_node, "datetime") if isinstance(time_node, Tag) else "",
        media=_media(node),
        reply_to=_post_ref(_attr(reply, "href")) if reply else None,
        forwarded_from=(_post_ref(_attr(forwarded, "href")) or text_of(forwarded) or None) if forwarded else None,
    )


def parse_preview(source: str) -> PreviewPage:
    """A ``t.me/s/<channel>`` page -> its messages and continuations.

    Raises ``ValueError`` when the page is not a Telegram page at all (no ``tgme_`` markup).
    """
    if "tgme_" not in source:
        raise ValueError("no Telegram markup (tgme_*) in the page")
    root = parse_html(source)
    history = _find(root, "tgme_channel_history")
    messages = [m for m in (_message(n, root) for n in _find_all(root, "tgme_widget_message")
                            if _attr(n, "data-post") and "service_message" not in (n.get("class") or ())) if m]
    before = after = None
    for link in root.find_all("link"):
        rel, href = _attr(link, "rel"), _attr(link, "href")
        if rel == "prev":
            before = _int_param(href, "before")
        elif rel == "next":
            after = _int_param(href, "after")
    more = _find(root, "tme_messages_more")
    if more is not None and _attr(more, "data-before").isdigit():
        before = int(_attr(more, "data-before"))
    title = _find(root, "tgme_channel_info_header_title") or _find(root, "tgme_header_title")
    return PreviewPage(text_of(title) if title else "", messages, before, after, history is not None)


def normalise_message(message: Message, account: str, collected_at: str) -> Post:
    """One preview message -> Post. A forwarded message keeps its text (that is what the channel
    published) with ``repost_of`` = the source post (``channel/id``) or the source's name."""
    return Post(
        platform="telegram",
        account=account,
        post_id=message.post_id,
        url=message.url,
        author=message.author,
        text=message.text,
        created_at=iso_or_raw(message.time_raw),
        collected_at=collected_at,
        media=message.media,
        raw_sha256=raw_sha256(message.html),
        reply_to=message.reply_to,
        repost_of=message.forwarded_from,
    )


# --------------------------------------------------------------------------------------------
# connector
# --------------------------------------------------------------------------------------------

class TelegramConnector(Connector):
    """Collect one public Telegram channel's messages newer than the cursor.

    Cursor: ``{"last_id": <newest message id collected>}``.
    """

    platform = "telegram"

    def __init__(self, config: ConnectorConfig, *, now: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config, now=now, sleep=sleep)
        self.transport = transport

    def client(self, account: str) -> HttpClient:
        # the preview is public: a token is never sent to t.me
        return HttpClient(self.config, platform=self.platform, account=account, now=self.now, sleep=self.sleep,
                          transport=self.transport, auth="none")

    @staticmethod
    def channel(account: str) -> str:
        """``name``, ``@name``, ``t.me/name``, ``https://t.me/s/name`` -> ``name``."""
        value = re.sub(r"^(https?://)?(www\.)?t\.me/(s/)?", "", account.strip(), flags=re.I)
        return value.lstrip("@").strip("/")

    def _page(self, http: HttpClient, account: str, channel: str, params: dict[str, Any],
              message_id: int | None = None) -> PreviewPage:
        path = f"/s/{quote(channel, safe='')}" + (f"/{message_id}" if message_id is not None else "")
        try:
            response = http.get(path, params, accept="text/html")
        except ConnectorError as exc:
            if exc.status in (301, 302, 303, 307, 308):
                raise AccountUnavailable(self.platform, account,
                                         f"t.me has no public preview of {channel!r} (redirected): the channel is "
                                         f"private, deleted or renamed, or the name is a user or bot",
                                         status=exc.status, reason="not_found") from None
            raise
        ctype = response.headers.get("content-type", "").lower()
        if ctype and "html" not in ctype:
            raise MalformedResponse(self.platform, account, f"GET {path}: expected HTML, got {ctype.split(';')[0]}")
        try:
            page = parse_preview(response.text)
        except ValueError as exc:
            raise MalformedResponse(self.platform, account, f"GET {path}: not a channel preview page ({exc})") from None
        if not page.has_history:
            raise AccountUnavailable(self.platform, account,
                                     f"t.me/s/{channel} has no message history: not a public channel (private, "
                                     f"deleted or renamed, or a user or bot)", reason="not_found")
        foreign = {m.channel.lower() for m in page.messages} - {channel.lower()}
        if foreign:
            raise AccountUnavailable(self.platform, account,
                                     f"t.me/s/{channel} serves posts of {sorted(foreign)}: the channel was renamed "
                                     f"or the name now points elsewhere", reason="renamed",
                                     moved_to=sorted(foreign)[0] if len(foreign) == 1 else None)
        return page

    def _check_post(self, ref: PostRef) -> PostStatus:
        """The web preview around the message, ``t.me/s/<channel>/<id>``: the message in the page is
        online, missing from it removed; a channel without a public preview makes it unavailable.
        (Undocumented, observed behaviour, like the rest of this connector.)"""
        channel, _, number = ref.post_id.rpartition("/")
        channel = channel or self.channel(ref.account)
        if not _CHANNEL_RE.match(channel) or not number.isdigit():
            return self.post_status(ref, "error", "not a Telegram post id (<channel>/<number>)")
        path = f"/s/{channel}/{number}"
        with self.client(ref.account or channel) as http:
            try:
                page = self._page(http, ref.account or channel, channel, {}, int(number))
            except AccountUnavailable as exc:
                return self.post_status(ref, "unavailable", f"the channel is unavailable: {exc.message}",
                                        http_status=exc.status, endpoint=path, field="channel",
                                        value=exc.reason or "not_found")
        if any(m.id == int(number) and m.channel.lower() == channel.lower() for m in page.messages):
            return self.post_status(ref, "online", "the message is in the channel preview", http_status=200,
                                    endpoint=path, field="data-post", value=f"{channel}/{number}")
        return self.post_status(ref, "removed", "the message is missing from the channel preview around it",
                                http_status=200, endpoint=path, field="data-post", value=None,
                                messages_seen=len(page.messages))

    def fetch(self, account: str, cursor: dict[str, Any] | None) -> FetchResult:
        channel = self.channel(account)
        if not _CHANNEL_RE.match(channel):
            raise ConnectorError(self.platform, account, "not a valid public channel name",
                                 hint="use the channel's t.me name (5-32 letters, digits or _)")
        last_id = (cursor or {}).get("last_id")
        last = int(last_id) if isinstance(last_id, int) or (isinstance(last_id, str) and last_id.isdigit()) else None
        with self.client(account) as http:
            if last is None:
                messages, pages, note = self._backwards(http, account, channel)
            else:
                messages, pages, note = self._forwards(http, account, channel, last)
        messages.sort(key=lambda m: m.id, reverse=True)
        collected_at = utc_iso(self.now())
        posts = [normalise_message(m, account, collected_at) for m in messages]
        newest = max([m.id for m in messages] + ([last] if last is not None else []), default=None)
        return FetchResult(posts=posts, raw_items=[m.html for m in messages],
                           cursor={"last_id": newest} if newest is not None else {}, pages=pages, notes=[note])

    def _backwards(self, http: HttpClient, account: str, channel: str) -> tuple[list[Message], int, str]:
        """First run: newest page, then older pages until the look-back horizon."""
        horizon = self.now() - self.config.lookback

        def fetch_page(before: int | None) -> Page[int]:
            page = self._page(http, account, channel, {"before": before} if before else {})
            items = list(reversed(page.messages))                      # newest first for the walk
            oldest = min((m.id for m in page.messages), default=None)
            nxt = page.before if page.before is not None else oldest
            return Page(items=items, next=nxt if nxt and nxt > 1 and (before is None or nxt < before) else None)

        def stop_at(message: Message) -> str | None:
            t = parse_time(message.time_raw)
            return f"reached look-back horizon {utc_iso(horizon)}" if t is not None and t < horizon else None

        result = walk(fetch_page, None, key=lambda m: m.post_id, stop_at=stop_at,
                      max_pages=max(1, self.config.max_pages), end_note="reached the channel's first message",
                      who=(self.platform, account))
        note = result.stop if result.complete else (f"{result.stop}; older messages within the look-back were not "
                                                     f"collected")
        return result.items, result.pages, note

    def _forwards(self, http: HttpClient, account: str, channel: str, last: int) -> tuple[list[Message], int, str]:
        """Later runs: ``after=<last id>`` pages, oldest first, until the newest message."""
        collected: list[Message] = []
        floor = last
        pages = 0
        while True:
            if pages >= max(1, self.config.max_pages):
                return collected, pages, (f"stopped at max_pages={self.config.max_pages}; newer messages remain and "
                                          f"will be collected from id {floor} on the next run")
            page = self._page(http, account, channel, {"after": floor})
            pages += 1
            fresh = sorted((m for m in page.messages if m.id > floor), key=lambda m: m.id)
            collected.extend(fresh)
            if not fresh:
                return collected, pages, (f"no messages newer than id {last}" if not collected
                                          else "reached the newest message")
            floor = fresh[-1].id        # continue from what was collected, whatever the link says
            if page.after is None:
                return collected, pages, "reached the newest message"


__all__ = ["Message", "ParsedPage", "PreviewPage", "TelegramConnector", "normalise_message", "parse_html", "parse_preview",
           "text_of"]
