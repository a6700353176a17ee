"""What ``socialhub explain TARGET`` was given: a post URL, ``platform:post_id`` or an alert id.

The URL parser knows how each connector in ``socialhub.sources`` builds a post's ``url`` and
``post_id`` (``socialhub.models.Post``), so a URL found in the wild leads to the same identity:

    x          https://x.com/<user>/status/<id> (twitter.com, mobile.*)   post_id <id>, account <user>
    bluesky    https://bsky.app/profile/<handle>/post/<rkey>             post_id at://<did>/app.bsky.feed.post/<rkey>
                                                                         (the DID is not in the URL: found by rkey)
    mastodon   https://<instance>/@<user>/<id> (or /@user@origin/<id>)   post_id <id>, account user@instance
    reddit     https://www.reddit.com/r/<sub>/comments/<id>/<slug>/[<c>] post_id t3_<id> (t1_<c> for a comment);
                                                                         the account only from /user/<name>/...
    telegram   https://t.me/[s/]<channel>/<id>                            post_id <channel>/<id>, account <channel>
    youtube    https://www.youtube.com/watch?v=<id>, youtu.be/<id>, /shorts/<id>   post_id <id> (channel unknown)
    rss        the item link (any other URL): found by URL only; the feed cannot be read from it

URLs are compared in a normal form (:func:`normalise_url`): scheme and ``www.``/``mobile.``
dropped, host lower-cased, ``twitter.com`` as ``x.com``, a YouTube link as ``youtube.com/watch?v=``,
no fragment and no trailing slash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from socialhub.models import PLATFORMS

ACCEPTED = ("a post URL (e.g. https://x.com/user/status/1790000000000000001, "
            "https://bsky.app/profile/handle/post/3kabc..., https://instance.social/@user/1123..., "
            "https://www.reddit.com/r/sub/comments/abc123/title/, https://t.me/channel/42, "
            "https://youtu.be/VIDEOID, or an RSS item's link), PLATFORM:POST_ID (e.g. mastodon:1123, "
            f"platforms: {', '.join(PLATFORMS)}) or an alert id (24 hex digits)")

_ALERT_ID = re.compile(r"[0-9a-f]{24}")
_TG_CHANNEL = r"[A-Za-z][A-Za-z0-9_]{3,31}"


class TargetError(ValueError):
    """The target is none of the accepted forms."""


@dataclass(frozen=True)
class Target:
    """A parsed target. ``kind`` is ``url``, ``post`` or ``alert``; the rest is what could be read."""

    raw: str
    kind: str
    platform: str | None = None
    post_id: str | None = None
    account: str | None = None
    url: str | None = None
    url_norm: str | None = None
    ref: str | None = None          # Bluesky: the post's rkey (the DID of post_id is not in the URL)
    alert_id: str | None = None

    @property
    def post_key(self) -> str | None:
        return f"{self.platform}:{self.post_id}" if self.platform and self.post_id else None


def normalise_url(url: str) -> str:
    """A URL in the form used to compare stored post URLs with a target (see the module doc)."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url if "://" in url else "https://" + url)
    host = (parts.hostname or "").lower()
    for prefix in ("www.", "mobile.", "m.", "old."):
        if host.startswith(prefix):
            host = host[len(prefix):]
            break
    if host == "twitter.com":
        host = "x.com"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    query = parts.query
    if host == "youtu.be":
        host, query, path = "youtube.com", "v=" + path.strip("/").split("/")[0], "/watch"
    elif host == "youtube.com" and path.startswith("/shorts/"):
        query, path = "v=" + path.split("/")[2], "/watch"
    elif host == "youtube.com" and path == "/watch":
        vid = (parse_qs(query).get("v") or [""])[0]
        query = f"v={vid}"
    elif host in ("x.com", "bsky.app", "reddit.com", "t.me") or re.match(r"^/@[^/]+/\d+$", path):
        query = ""
    if host == "t.me" and path.startswith("/s/"):
        path = path[2:]
    if host == "reddit.com":
        path = path.lower()
    return f"{host}{path}" + (f"?{query}" if query else "")


def parse_url(url: str) -> Target:
    """A post URL -> what it says about the post (platform, post_id, account where readable)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise TargetError(f"{url!r} is not an http(s) URL")
    norm = normalise_url(url)
    host = norm.split("/", 1)[0].split("?", 1)[0]
    segs = [s for s in parts.path.split("/") if s]
    base = {"raw": url, "kind": "url", "url": url, "url_norm": norm}
    if host == "x.com":
        if len(segs) >= 3 and segs[1] == "status" and segs[2].isdigit():
            user = None if segs[0] == "i" else segs[0]
            return Target(**base, platform="x", post_id=segs[2], account=user)
        if len(segs) >= 4 and segs[:3] == ["i", "web", "status"] and segs[3].isdigit():
            return Target(**base, platform="x", post_id=segs[3])
        return Target(**base, platform="x")
    if host == "bsky.app":
        if len(segs) >= 4 and segs[0] == "profile" and segs[2] == "post":
            who = segs[1]
            return Target(**base, platform="bluesky", account=None if who.startswith("did:") else who,
                          post_id=f"at://{who}/app.bsky.feed.post/{segs[3]}" if who.startswith("did:") else None,
                          ref=segs[3])
        return Target(**base, platform="bluesky")
    if host in ("reddit.com", "redd.it"):
        if host == "redd.it" and segs:
            return Target(**base, platform="reddit", post_id=f"t3_{segs[0].lower()}")
        account = segs[1] if len(segs) >= 2 and segs[0].lower() in ("u", "user") else None
        if "comments" in segs:
            i = segs.index("comments")
            rest = segs[i + 1:]
            if rest:
                post_id = f"t1_{rest[2].lower()}" if len(rest) >= 3 else f"t3_{rest[0].lower()}"
                return Target(**base, platform="reddit", post_id=post_id, account=account)
        return Target(**base, platform="reddit", account=account)
    if host == "t.me":
        if segs and segs[0] == "s":
            segs = segs[1:]
        if len(segs) >= 2 and re.fullmatch(_TG_CHANNEL, segs[0]) and segs[1].isdigit():
            return Target(**base, platform="telegram", post_id=f"{segs[0]}/{segs[1]}", account=segs[0])
        return Target(**base, platform="telegram", account=segs[0] if segs else None)
    if host in ("youtube.com", "youtu.be"):
        vid = norm.partition("?v=")[2]
        return Target(**base, platform="youtube", post_id=vid or None)
    # Mastodon (any instance): /@user/<id>, /@user@origin/<id>, /users/<user>/statuses/<id>
    m = re.fullmatch(r"/@([^/@]+)(?:@([^/]+))?/(\d+)/?", parts.path)
    if m:
        account = f"{m.group(1)}@{m.group(2) or host}"
        return Target(**base, platform="mastodon", post_id=m.group(3), account=account)
    m = re.fullmatch(r"/users/([^/]+)/statuses/(\d+)/?", parts.path)
    if m:
        return Target(**base, platform="mastodon", post_id=m.group(2), account=f"{m.group(1)}@{host}")
    return Target(**base)   # an RSS item's link (or a platform this parser does not know): by URL only


def parse_target(value: str) -> Target:
    """``value`` as a Target; ``TargetError`` (naming the accepted forms) if it is none of them."""
    raw = (value or "").strip()
    if not raw:
        raise TargetError(f"no target given: give {ACCEPTED}")
    if _ALERT_ID.fullmatch(raw.lower()):
        return Target(raw=raw, kind="alert", alert_id=raw.lower())
    if re.match(r"^https?://", raw, re.I):
        return parse_url(raw)
    platform, sep, post_id = raw.partition(":")
    if sep and platform.lower() in PLATFORMS and post_id.strip():
        return Target(raw=raw, kind="post", platform=platform.lower(), post_id=post_id.strip())
    raise TargetError(f"{raw!r} is not a target socialhub explain understands: give {ACCEPTED}")


# --- when was it posted? (ids that carry their own time) ----------------------------------------

_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"


def posted_at(target: Target) -> datetime | None:
    """The post time an id carries, where it carries one (X and Mastodon snowflakes, Bluesky TIDs)."""
    try:
        when = None
        if target.platform == "x" and target.post_id and target.post_id.isdigit():
            when = datetime.fromtimestamp(((int(target.post_id) >> 22) + 1288834974657) / 1000, UTC)
        elif target.platform == "mastodon" and target.post_id and target.post_id.isdigit() \
                and int(target.post_id) > 10 ** 15:
            when = datetime.fromtimestamp((int(target.post_id) >> 16) / 1000, UTC)
        elif target.platform == "bluesky" and target.ref and len(target.ref) == 13 \
                and all(c in _TID_CHARS for c in target.ref):
            n = 0
            for c in target.ref:
                n = n * 32 + _TID_CHARS.index(c)
            when = datetime.fromtimestamp((n >> 10) / 1_000_000, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    if when is None or not datetime(2006, 3, 1, tzinfo=UTC) <= when <= datetime(2100, 1, 1, tzinfo=UTC):
        return None
    return when


__all__ = ["ACCEPTED", "Target", "TargetError", "normalise_url", "parse_target", "parse_url", "posted_at"]
