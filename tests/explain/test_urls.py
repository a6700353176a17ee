"""The target parser agrees with how each connector builds a post's url and post_id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from socialhub.explain.urls import TargetError, normalise_url, parse_target, posted_at
from socialhub.sources import bluesky, reddit, x, youtube
from socialhub.sources.rss import entry_key


def test_x_permalink_round_trips():
    url = x.permalink("eastgate_smoke", "1790000000000000001")
    t = parse_target(url)
    assert (t.platform, t.post_id, t.account) == ("x", "1790000000000000001", "eastgate_smoke")
    twitter = parse_target("https://mobile.twitter.com/eastgate_smoke/status/1790000000000000001?s=20")
    assert twitter.url_norm == t.url_norm == "x.com/eastgate_smoke/status/1790000000000000001"
    assert parse_target("https://x.com/i/web/status/17").account is None


def test_bluesky_post_url_gives_the_rkey_and_handle():
    uri = "at://did:plc:abc123/app.bsky.feed.post/3kq2xyzabcd2a"
    url = bluesky.post_url("zone2-rico.hubdemo.example", "did:plc:abc123", uri)
    t = parse_target(url)
    assert (t.platform, t.account, t.ref, t.post_id) == ("bluesky", "zone2-rico.hubdemo.example", "3kq2xyzabcd2a",
                                                         None)
    by_did = parse_target(bluesky.post_url("handle.invalid", "did:plc:abc123", uri))
    assert by_did.post_id == uri and by_did.account is None


def test_mastodon_urls():
    t = parse_target("https://social.example/@ghost_yardz/109876543210987654")
    assert (t.platform, t.post_id, t.account) == ("mastodon", "109876543210987654", "ghost_yardz@social.example")
    remote = parse_target("https://other.example/@ghost_yardz@social.example/1")
    assert remote.account == "ghost_yardz@social.example"
    assert parse_target("https://social.example/users/ghost_yardz/statuses/5").post_id == "5"


def test_reddit_permalinks_give_the_fullname():
    url = reddit.SITE + "/r/london/comments/1abcd2/some_title/"
    assert parse_target(url).post_id == "t3_1abcd2"
    assert parse_target(reddit.SITE + "/r/london/comments/1abcd2/some_title/kx9y8z/").post_id == "t1_kx9y8z"
    own = parse_target("https://old.reddit.com/user/t0pboy_ends/comments/1abcd2/x/")
    assert (own.post_id, own.account) == ("t3_1abcd2", "t0pboy_ends")
    assert normalise_url(url) == normalise_url("https://old.reddit.com/r/London/comments/1abcd2/some_title")


def test_telegram_and_youtube():
    t = parse_target("https://t.me/s/southside_plug_menu/42")
    assert (t.platform, t.post_id, t.account) == ("telegram", "southside_plug_menu/42", "southside_plug_menu")
    watch = youtube.watch_url("dQw4w9WgXcQ")
    for url in (watch, "https://youtu.be/dQw4w9WgXcQ?t=3", "https://www.youtube.com/shorts/dQw4w9WgXcQ",
                "https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ"):
        t = parse_target(url)
        assert (t.platform, t.post_id, t.url_norm) == ("youtube", "dQw4w9WgXcQ", normalise_url(watch)), url


def test_rss_item_link_is_a_url_only_target():
    t = parse_target("https://news.example/2026/11/item.html?ref=feed")
    assert (t.kind, t.platform, t.url_norm) == ("url", None, "news.example/2026/11/item.html?ref=feed")
    assert callable(entry_key)


def test_post_keys_and_alert_ids():
    assert parse_target("mastodon:123").post_key == "mastodon:123"
    assert parse_target("bluesky:at://did:plc:x/app.bsky.feed.post/3k").post_id == "at://did:plc:x/app.bsky.feed.post/3k"
    assert parse_target("3F05C8B4421C87169BE16D77").alert_id == "3f05c8b4421c87169be16d77"


@pytest.mark.parametrize("bad", ["", "nonsense", "myspace:123", "ftp://x.com/a/status/1", "x:"])
def test_not_understood(bad):
    with pytest.raises(TargetError, match="PLATFORM:POST_ID"):
        parse_target(bad)


def test_ids_that_carry_their_time():
    assert posted_at(parse_target("https://x.com/a/status/1790000000000000001")).year == 2024
    when = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    masto = int(when.timestamp() * 1000) << 16
    assert posted_at(parse_target(f"https://social.example/@a/{masto}")) == when
    assert posted_at(parse_target("https://t.me/chan_nel/5")) is None
