"""Hostile input (issue 8): what platforms, watchlists and connections can throw at socialhub.

* **Bytes and characters** served over loopback by the replay server (its responses rewritten on
  the way out, so bytes its own encoders would never produce reach the connectors) through the
  real collect path (``plan_collection`` + ``collect_shard`` into a ``LocalStore``) on all seven
  platforms: invalid UTF-8, UTF-8-encoded surrogates, lone ``\\ud83d`` escapes, NUL, C0/C1
  controls, bidi and zero-width characters, character references, in post text and author names.
  Every case ends either in a clear per-account error (the cursor not moved, nothing stored
  touched, the post collected once the platform serves it cleanly) or in the post stored with its
  text kept as decided in docs/connectors.md ("Hostile input"). The other account of the shard
  is always collected.
* **Size**: a 20,000-item page, a 5 MB post, a 50 MB body, a body without ``Content-Length`` and
  a gzip bomb: read at most ``max_body_bytes`` (``SOCIALHUB_MAX_RESPONSE_BYTES``).
* **Connections** (``socialhub_<platform>``): wrong types, bad URLs and schemes, missing keys,
  invalid JSON: one ``InvalidConnection`` naming every bad field, never the secret; once through
  the Airflow hook with an ``AIRFLOW_CONN_*`` variable (opt-in: ``SOCIALHUB_AIRFLOW_TESTS=1``).
* **Properties** (hypothesis, derandomized): arbitrary text through every connector's parser,
  path-like account names through the watchlist, the storage layout and every connector's
  request paths, arbitrary extras through the connection validator, wrong types and YAML tags
  through the watchlist.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialhub.collect import collect_shard, load_cursor_state, plan_collection
from socialhub.config import Settings
from socialhub.errors import (
    ConfigError,
    ConnectorError,
    InvalidConnection,
    MalformedResponse,
    ResponseTooLarge,
    WatchlistError,
)
from socialhub.models import from_jsonl, raw_sha256, to_jsonl
from socialhub.replay.server import ReplayServer
from socialhub.sources.base import ConnectorConfig
from socialhub.sources.connection import EXTRAS, connector_config_from_connection
from socialhub.sources.http import MAX_BODY_BYTES, HttpClient, default_max_body_bytes
from socialhub.sources.registry import CONNECTORS, get_connector
from socialhub.storage import LocalStore, layout, safe_key
from socialhub.watchlist import Watchlist, WatchlistEntry, parse_watchlist

REPO = Path(__file__).resolve().parents[2]
EPOCH = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MARK = "QHOSTILEQ"
TOKEN = "tok-HOSTILE-7f3a-SECRET-never-shown"
PLATFORMS = ("mastodon", "bluesky", "youtube", "x", "reddit", "telegram", "rss")
JSON_PLATFORMS = ("mastodon", "bluesky", "youtube", "x", "reddit")
HTML_TEXT = ("mastodon", "telegram")          # post text arrives as HTML: character references are decoded
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
PROPERTY = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def entry(platform: str, account: str) -> WatchlistEntry:
    return WatchlistEntry(platform=platform, account=account, display_name=account[:40], force="met", team="gangs",
                          owner="DS Test", authorisation_ref="AUTH-H", purpose="Hostile input test entry.",
                          review_by="2099-01-01")


def snapshot(root: Path) -> dict[str, str]:
    """Every stored object -> its SHA-256."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def cursor_moved_not(after: dict[str, Any], before: dict[str, Any]) -> bool:
    """A failed poll left the cursor state as it was but for its own poll, the newest in its rate-budget
    ledger (older polls may have aged out of the ledger meanwhile)."""
    from socialhub.sources.budget import LEDGER_FIELD

    rest = {k: v for k, v in after.items() if k != LEDGER_FIELD}
    polls, earlier = after.get(LEDGER_FIELD) or [], before.get(LEDGER_FIELD) or []
    return rest == {k: v for k, v in before.items() if k != LEDGER_FIELD} and bool(polls) and \
        all(polls[-1] > p for p in earlier) and set(polls[:-1]) <= set(earlier)


def stored_posts(store: LocalStore, platform: str, account: str) -> list[dict[str, Any]]:
    rows = []
    for key in store.list(f"posts/{layout._p(platform)}/"):
        if f"/account={layout.key_segment(account)}/" in key:
            rows.extend(from_jsonl(store.get(key)))
    return rows


class Hostile:
    """A loopback replay server whose response bodies pass through ``rewrite`` on the way out,
    a local store, and a two-account watchlist of one platform (the victim and a bystander)."""

    def __init__(self, tmp_path: Path, platform: str) -> None:
        self.platform = platform
        self.server = ReplayServer(now=lambda: EPOCH)
        self.rewrite: Callable[[str, bytes], bytes] | None = None
        handle = self.server.handle

        def rewriting(method: str, raw_path: str, headers: Any) -> Any:
            response = handle(method, raw_path, headers)
            if self.rewrite is not None:
                response.body = self.rewrite(raw_path, response.body)
            return response

        self.server.handle = rewriting  # type: ignore[method-assign]
        self.server.start()
        self.root = tmp_path / "store"
        self.store = LocalStore(self.root)
        self.victim, self.bystander = self.server.accounts(platform)[:2]
        self.watchlist = Watchlist(accounts=[entry(platform, self.victim), entry(platform, self.bystander)])

    def factory(self, platform: str) -> Any:
        config = ConnectorConfig(base_url=self.server.base_url(platform), token=TOKEN, max_wait=5.0)
        return get_connector(platform, config, now=lambda: EPOCH, sleep=lambda s: None)

    def run(self, now: datetime) -> dict[str, dict[str, Any]]:
        """One collection through the real path: plan (one shard), collect; outcomes by account."""
        plan = plan_collection(self.watchlist, self.store, now, max_shards_per_platform=1, force_all=True)
        assert len(plan.shards) == 1
        return {o["account"]: o for o in collect_shard(self.store, plan.shards[0], self.factory, now)}

    def post(self, account: str, text: str) -> None:
        extra = {"title": f"t {text}"} if self.platform in ("youtube", "reddit", "rss") else {}
        self.server.add_post(self.platform, account, {"text": text, **extra})

    def close(self) -> None:
        self.server.stop()


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Callable[[str], Hostile]]:
    made: list[Hostile] = []

    def make(platform: str) -> Hostile:
        made.append(Hostile(tmp_path / platform, platform))
        return made[-1]

    yield make
    for h in made:
        h.close()


# --------------------------------------------------------------------------------------------
# bytes and characters, through the real collect path
# --------------------------------------------------------------------------------------------

Expect = tuple[str, str]   # ("error", regex on the message) or ("text", substring the stored text must contain)
NOT_UTF8 = ("error", r"GET http://127\.0\.0\.1:\d+/\S+: the body is not valid UTF-8 \(invalid (start|continuation) "
                     r"byte: b'\\x(ff|ed)[^']*' at byte \d+ of \d+\); nothing was parsed")
NOT_XML = ("error", r"GET /feed\.xml: not well-formed XML")

#: case -> (payload replacing the marker in every body, expectation per platform kind)
TEXT_CASES: dict[str, tuple[bytes, dict[str, Expect]]] = {
    # one byte that is not UTF-8: JSON and XML must be UTF-8 (error, retried next run); an HTML
    # page is decoded the way a browser does (U+FFFD)
    "invalid-utf8": (b"\xff\xfe\xc3(", {"json": NOT_UTF8, "telegram": ("text", "hello \ufffd\ufffd\ufffd( world"),
                                        "rss": NOT_XML}),
    # a surrogate encoded as UTF-8 (CESU-8/WTF-8): not UTF-8 either
    "utf8-encoded-surrogate": (b"\xed\xa0\x80", {"json": NOT_UTF8, "telegram": ("text", "hello \ufffd"),
                                                 "rss": NOT_XML}),
    # half an emoji (a platform truncating UTF-16): cannot be stored as UTF-8, kept as U+FFFD
    "json-lone-surrogate": (b"\\ud83d", {"json": ("text", "hello \ufffd world"),
                                         "telegram": ("text", "hello \\ud83d world"),
                                         "rss": ("text", "hello \\ud83d world")}),
    # escaped NUL, C0 and C1 controls, an ANSI colour, bidi overrides: kept verbatim
    "json-escaped-controls": (b"\\u0000\\u0001\\u001b[31m\\u0085\\u009b\\u202e\\u2066",
                              {"json": ("text", "hello \x00\x01\x1b[31m\x85\x9b\u202e\u2066 world"),
                               "telegram": ("text", "\\u0000\\u0001"), "rss": ("text", "\\u0000\\u0001")}),
    # raw control bytes: invalid inside a JSON string and in XML; an HTML page keeps them
    "raw-controls": (b"\x00\x01\x1b[31m\x7f", {
        "json": ("error", r"GET /\S+: invalid JSON \(Invalid control character at char \d+ of \d+\)"),
        "telegram": ("text", "hello \x00\x01\x1b[31m\x7f world"), "rss": NOT_XML}),
    # C1, bidi, zero-width and BOM characters as proper UTF-8: kept everywhere
    "utf8-c1-bidi-zero-width": ("\u0085\u009b\u202e\u2066\u200b\ufeff".encode(), {
        "json": ("text", "\x85\x9b\u202e\u2066\u200b\ufeff"), "telegram": ("text", "\x9b\u202e\u2066\u200b\ufeff"),
        "rss": ("text", "\x85\x9b\u202e\u2066\u200b\ufeff")}),
    # character references: decoded where the text is HTML (NUL and surrogates -> U+FFFD), literal
    # in plain-text APIs, fatal in XML (which forbids them)
    "character-references": (b"&#0;&#xD800;&#x202E;", {
        "json": ("text", "&#0;&#xD800;&#x202E;"), "html": ("text", "hello \ufffd\ufffd\u202e world"),
        "rss": ("error", r"reference to invalid character number")}),
}


def expectation(case: dict[str, Expect], platform: str) -> Expect:
    if platform in HTML_TEXT and "html" in case:
        return case["html"]
    return case.get(platform) or case["json"]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_hostile_bytes_in_post_text(hostile: Callable[[str], Hostile], platform: str, case: str) -> None:
    payload, expected = TEXT_CASES[case]
    if platform == "mastodon" and case == "json-escaped-controls":   # Mastodon text is HTML: escape it as such
        payload = payload.replace(b"[", b"&#91;")
    kind, want = expectation(expected, platform)
    h = hostile(platform)
    first = h.run(EPOCH)
    assert {o["status"] for o in first.values()} == {"ok"}, first
    before = snapshot(h.root)
    cursor_before = load_cursor_state(h.store, platform, h.victim)

    h.post(h.victim, f"hello {MARK} world")
    h.post(h.bystander, "an ordinary post from the other account")
    h.rewrite = lambda path, body: body.replace(MARK.encode(), payload)
    out = h.run(EPOCH + timedelta(hours=1))
    after = snapshot(h.root)

    # the other account of the shard is never harmed by the victim's bytes
    assert out[h.bystander]["status"] == "ok" and out[h.bystander]["posts"] == 1, out[h.bystander]
    # nothing already stored changed (only cursors are mutable, and only on success)
    assert {k: v for k, v in before.items() if not k.startswith("state/")} == \
        {k: after[k] for k in before if not k.startswith("state/")}
    victim = out[h.victim]
    if kind == "error":
        assert victim["status"] == "error" and victim["error_type"] == "MalformedResponse", victim
        message = victim["error"]
        assert message.startswith(f"{platform}:{h.victim}: GET "), message
        assert re.search(want, message), message
        assert "the cursor was not moved" in message and TOKEN not in message and "key=" not in message
        message.encode("utf-8")   # storable in logs, reports and the audit log
        assert cursor_moved_not(load_cursor_state(h.store, platform, h.victim), cursor_before)
        assert not stored_posts(h.store, platform, h.victim) or all(
            "hello" not in p["text"] for p in stored_posts(h.store, platform, h.victim))
        # once the platform serves it cleanly, the post is collected: the cursor skipped nothing
        h.rewrite = None
        again = h.run(EPOCH + timedelta(hours=2))
        assert again[h.victim]["status"] == "ok", again[h.victim]
        assert [p["text"] for p in stored_posts(h.store, platform, h.victim) if MARK in p["text"]], \
            "the post the platform could not serve cleanly was lost"
        return
    assert victim["status"] == "ok" and victim["posts"] >= 1, victim
    texts = [p["text"] for p in stored_posts(h.store, platform, h.victim) if "hello" in p["text"]]
    assert len(texts) == 1 and want in texts[0], (texts, want)
    _check_evidence(h.store, platform)


def _check_evidence(store: LocalStore, platform: str) -> None:
    """Every stored raw line is valid UTF-8 JSON whose hash is the one its post carries."""
    for key in store.list(f"raw/{layout._p(platform)}/"):
        for row in from_jsonl(store.get(key)):
            assert raw_sha256(row["item"]) == row["raw_sha256"]


AUTHOR_AT: dict[str, tuple[bytes, bytes]] = {   # where the author's name starts, and what to put in front of it
    "mastodon": (rb'("acct": ")', b"\\u202e\\ud800\\u0000"),
    "bluesky": (rb'("handle": ")', b"\\u202e\\ud800\\u0000"),
    "x": (rb'("username": ")', b"\\u202e\\ud800\\u0000"),
    "reddit": (rb'("author": ")', b"\\u202e\\ud800\\u0000"),
    "youtube": (rb'("channelTitle": ")', b"\\u202e\\ud800\\u0000"),
    "telegram": (rb'(tgme_widget_message_owner_name"[^>]*><span dir="auto">)', "\u202e\u2066".encode() + b"\x01"),
    "rss": (rb"(<dc:creator>|<author><name>)", "\u202e\u2066\u200b".encode()),
}
AUTHOR_STARTS = {"telegram": "\u202e\u2066\x01", "rss": "\u202e\u2066\u200b"}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hostile_author_names(hostile: Callable[[str], Hostile], platform: str) -> None:
    """Bidi overrides, a lone surrogate and NUL in the author's name: stored, never a crash."""
    h = hostile(platform)
    assert {o["status"] for o in h.run(EPOCH).values()} == {"ok"}
    pattern, payload = AUTHOR_AT[platform]
    h.post(h.victim, "a post whose author name is hostile")
    h.rewrite = lambda path, body: re.sub(pattern, lambda m: m.group(1) + payload, body)
    out = h.run(EPOCH + timedelta(hours=1))
    assert out[h.victim]["status"] == "ok" and out[h.victim]["posts"] >= 1, out[h.victim]
    (post,) = [p for p in stored_posts(h.store, platform, h.victim) if "author name is hostile" in p["text"]]
    assert post["author"].startswith(AUTHOR_STARTS.get(platform, "\u202e\ufffd\x00")), post["author"]
    _check_evidence(h.store, platform)


def test_slack_sequences_mentions_links_and_markdown_are_kept_as_text(hostile: Callable[[str], Hostile]) -> None:
    """What Slack would act on (``<!channel>``, ``<@U1>``, ``<url|label>``, markdown) is stored as
    the text the author wrote; the alert renderer neutralises it (tests/alerts)."""
    text = "<!channel> <@U024BE7LH> <https://evil.example|bank login> *bold* _it_ ~s~ `code` > quote &amp;"
    for platform in PLATFORMS:
        h = hostile(platform)
        h.run(EPOCH)
        h.post(h.victim, text)
        assert h.run(EPOCH + timedelta(hours=1))[h.victim]["status"] == "ok"
        stored = [p["text"] for p in stored_posts(h.store, platform, h.victim) if "<!channel>" in p["text"]]
        assert len(stored) == 1 and text in stored[0], (platform, stored)


# --------------------------------------------------------------------------------------------
# size
# --------------------------------------------------------------------------------------------

def _statuses(n: int, text: str = "post") -> list[dict[str, Any]]:
    return [{"id": str(117_600_000_000_000_000 + n - i), "created_at": "2026-11-25T11:00:00.000Z",
             "content": f"<p>{text} {i}</p>", "url": f"https://social.hubdemo.example/@big/{i}",
             "account": {"acct": "big"}, "media_attachments": []} for i in range(n)]


def test_a_page_of_20000_items_is_collected_and_stored(hostile: Callable[[str], Hostile]) -> None:
    h = hostile("mastodon")
    h.watchlist = Watchlist(accounts=[entry("mastodon", h.victim)])
    h.server.inject_fault("mastodon", 200, body=_statuses(20_000), match="/statuses")
    out = h.run(EPOCH)
    assert out[h.victim]["status"] == "ok" and out[h.victim]["posts"] == 20_000, out[h.victim]
    assert len(stored_posts(h.store, "mastodon", h.victim)) == 20_000
    assert load_cursor_state(h.store, "mastodon", h.victim)["cursor"]["since_id"] == str(117_600_000_000_020_000)


def test_a_5mb_post_is_kept_whole_and_a_lower_limit_refuses_it(hostile: Callable[[str], Hostile],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """No cap on a post's text (it is evidence: the raw item holds it anyway); the cap is on the body."""
    text = "drill " + "x" * 5_000_000 + " end"
    h = hostile("mastodon")
    h.server.add_post("mastodon", h.victim, {"text": text})
    monkeypatch.setenv("SOCIALHUB_MAX_RESPONSE_BYTES", str(1 << 20))
    before = snapshot(h.root)
    out = h.run(EPOCH)
    assert out[h.victim]["error_type"] == "ResponseTooLarge", out[h.victim]
    assert re.search(r"body of \d{7} bytes exceeds the 1048576-byte limit \(as declared by Content-Length; not "
                     r"read\) \(nothing was stored and the cursor was not moved\. .*raise the limit \(now 1048576 "
                     r"bytes\) with extra max_body_bytes in the Airflow Connection socialhub_mastodon or "
                     r"SOCIALHUB_MAX_RESPONSE_BYTES", out[h.victim]["error"]), out[h.victim]["error"]
    assert out[h.bystander]["status"] == "ok"
    assert cursor_moved_not(load_cursor_state(h.store, "mastodon", h.victim), {})
    # nothing of the victim's stored but its source-health record, which counts the failure, and its
    # cursor state, which counts the failed poll in the rate-budget ledger (no cursor)
    assert {k for k in snapshot(h.root) if h.victim.split("@")[0] in k and not k.startswith(
        ("state/health/", "state/cursors/"))} == {k for k in before if h.victim.split("@")[0] in k}
    monkeypatch.delenv("SOCIALHUB_MAX_RESPONSE_BYTES")
    out = h.run(EPOCH + timedelta(hours=1))
    assert out[h.victim]["status"] == "ok", out[h.victim]
    (big,) = [p for p in stored_posts(h.store, "mastodon", h.victim) if p["text"].startswith("drill ")]
    assert big["text"] == text


def test_a_50mb_body_is_refused_without_being_read(hostile: Callable[[str], Hostile],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    h = hostile("bluesky")
    h.run(EPOCH)
    before = snapshot(h.root)
    cursor_before = load_cursor_state(h.store, "bluesky", h.victim)
    # the one-shot fault matches any account's feed: fetch one account after another so the victim takes it
    monkeypatch.setenv("SOCIALHUB_COLLECT_CONCURRENCY", "1")
    h.server.add_post("bluesky", h.victim, {"text": "new"})
    h.server.inject_fault("bluesky", 200, body=b"{" + b" " * (50 << 20) + b"}", match="getAuthorFeed")
    out = h.run(EPOCH + timedelta(hours=1))
    victim = out[h.victim]
    assert victim["error_type"] == "ResponseTooLarge", victim
    assert f"body of {(50 << 20) + 2} bytes exceeds the {MAX_BODY_BYTES}-byte limit" in victim["error"]
    after = snapshot(h.root)
    assert {k: v for k, v in before.items() if not k.startswith("state/")} == \
        {k: after[k] for k in before if not k.startswith("state/")}
    assert cursor_moved_not(load_cursor_state(h.store, "bluesky", h.victim), cursor_before)
    assert out[h.bystander]["status"] == "ok"


def _client(handler: Callable[[httpx.Request], httpx.Response], **extra: Any) -> HttpClient:
    return HttpClient(ConnectorConfig(base_url="https://api.example.org/v1", token=TOKEN, extra=extra),
                      platform="mastodon", account="big", transport=httpx.MockTransport(handler))


def test_a_body_without_length_is_read_only_up_to_the_limit() -> None:
    served: list[int] = []

    def endless() -> Iterator[bytes]:
        for i in range(50):      # 50 MB if anyone read it all
            served.append(i)
            yield b" " * (1 << 20)

    with _client(lambda r: httpx.Response(200, stream=_Iter(endless())), max_body_bytes=3 << 20) as http, \
            pytest.raises(ResponseTooLarge) as info:
        http.get_json("/statuses")
    assert len(served) <= 4, f"read {len(served)} MB for a 3 MB limit"
    assert "body exceeds the 3145728-byte limit (stopped reading there; not parsed)" in str(info.value)
    assert info.value.limit == 3 << 20 and TOKEN not in str(info.value)


class _Iter(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks


def test_a_gzip_bomb_is_not_inflated_past_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20), 9)        # 64 KB that inflate to 64 MB
    assert len(bomb) < 100_000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
                              stream=httpx.ByteStream(bomb))

    import tracemalloc

    tracemalloc.start()
    try:
        with _client(handler, max_body_bytes=2 << 20) as http, pytest.raises(ResponseTooLarge):
            http.get_json("/statuses")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"peak {peak / 1e6:.0f} MB while refusing a 64 MB bomb with a 2 MB limit"
    with _client(lambda r: httpx.Response(200, headers={"Content-Encoding": "gzip"},
                                          stream=httpx.ByteStream(b"not gzip at all"))) as http:
        with pytest.raises(MalformedResponse, match="the body could not be decoded"):
            http.get_json("/statuses")


def test_deeply_nested_json_is_a_malformed_response() -> None:
    body = b"[" * 200_000 + b"]" * 200_000
    with _client(lambda r: httpx.Response(200, content=body)) as http:
        with pytest.raises(MalformedResponse, match="JSON nested too deeply"):
            http.get_json("/statuses")
    with _client(lambda r: httpx.Response(404, content=body)) as http:   # an error body too
        with pytest.raises(ConnectorError, match="HTTP 404"):
            http.get_json("/statuses")


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1e9x"])
def test_a_bad_response_limit_variable_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SOCIALHUB_MAX_RESPONSE_BYTES", value)
    with pytest.raises(ConfigError, match="SOCIALHUB_MAX_RESPONSE_BYTES=.* is not a positive whole number of bytes"):
        default_max_body_bytes()
    monkeypatch.setenv("SOCIALHUB_MAX_RESPONSE_BYTES", "20971520")
    assert default_max_body_bytes() == 20 << 20


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SOCIALHUB_MAX_PAGES", "-3", "SOCIALHUB_MAX_PAGES='-3' is not a whole number from 1 to 10000"),
    ("SOCIALHUB_MAX_BAD_FRACTION", "nan", "is not a number from 0 to 1"),
    ("SOCIALHUB_LOOKBACK_DAYS", "seven", "is not a whole number from 0 to 3650"),
    ("SOCIALHUB_MAX_SHARDS", "0", "is not a whole number of at least 1"),
])
def test_bad_settings_are_config_errors(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.from_env()


# --------------------------------------------------------------------------------------------
# malformed connector configuration
# --------------------------------------------------------------------------------------------

BAD_CONNECTIONS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("mastodon", {"extra": {"page_size": "abc"}},
     ["extra.page_size: 'abc' is not a whole number; expected a whole number from 1 to 1000"]),
    ("mastodon", {"extra": '{"timeout": -1, "max_wait": "soon", "max_pages": 2.5, "lookback_days": true}'},
     ["extra.timeout: -1 is out of range; expected 0.1 to 600", "extra.max_wait: 'soon' is not a number",
      "extra.max_pages: 2.5 is not a whole number", "extra.lookback_days: true is not a whole number"]),
    ("mastodon", {"host": "file:///etc/passwd"}, ["host: scheme 'file' is not allowed; expected https://"]),
    ("mastodon", {"host": "javascript:alert(document.cookie)"}, ["host: 'javascript': is a URL scheme, not a host"]),
    ("bluesky", {"host": "../../etc/passwd"}, ["host: 'https://../../etc/passwd' has no valid host name"]),
    ("bluesky", {"extra": {"base_url": "https://api.example.org/xrpc/%2e%2e/%2e%2e/admin"}},
     ["extra.base_url: the path '/xrpc/%2e%2e/%2e%2e/admin' has . or .. segments"]),
    ("reddit", {"host": f"https://bot:{TOKEN}@oauth.example.org/api?access_token={TOKEN}"},
     ["host: must not contain user:password@ (shown without it: 'https://oauth.example.org/api')",
      "host: must not contain ?query or #fragment"]),
    ("reddit", {"host": "reddit.example.org", "schema": "gopher"}, ["schema: 'gopher' is not allowed as the scheme"]),
    ("reddit", {"host": "reddit.example.org", "port": 70000}, ["port: 70000 is not a port number (1-65535)"]),
    ("reddit", {"extra": {"reddit_listings": ["submitted", "saved"], "user_agent": "bot\r\nX-Injected: 1"}},
     ["extra.reddit_listings: '[\"submitted\", \"saved\"]' must be a list of submitted, comments, overview",
      "extra.user_agent: 'bot\\r\\nX-Injected: 1' must be printable text"]),
    ("telegram", {"password": f"{TOKEN}\r\nX-Evil: 1"}, ["password: contains whitespace or control characters"]),
    ("x", {}, ["password: the X API v2 needs an app bearer token and none is set"]),
    ("youtube", {"extra": {"max_units": -1}}, ["extra.max_units: -1 is out of range",
                                               "password: the YouTube Data API needs an API key"]),
    ("youtube", {"password": TOKEN, "extra": {"youtube_api": "no"}}, ["extra.youtube_api: 'no' is not true or false"]),
    ("rss", {"extra": '{"max_body_bytes": 1024,'}, ["extra: not valid JSON (Expecting property name enclosed in "
                                                    "double quotes at line 1 column"]),
    ("mastodon", {"password": TOKEN, "extra": {"user_agent": TOKEN + "\n", "base_url": TOKEN}},
     ["extra.user_agent: '<the password>\\n' must be printable text"]),
    ("rss", {"extra": "[1, 2]"}, ["extra: a JSON list is not allowed; expected a JSON object"]),
]


@pytest.mark.parametrize(("platform", "fields", "problems"), BAD_CONNECTIONS)
def test_malformed_connections_name_the_connection_and_every_bad_field(platform: str, fields: dict[str, Any],
                                                                       problems: list[str]) -> None:
    with pytest.raises(InvalidConnection) as info:
        connector_config_from_connection(platform, **fields)
    message = str(info.value)
    assert message.startswith(f"Airflow Connection socialhub_{platform}: ")
    assert f"AIRFLOW_CONN_SOCIALHUB_{platform.upper()}" in message
    for problem in problems:
        assert problem in message, (problem, message)
    assert len(info.value.problems) >= len(problems)
    assert TOKEN not in message and TOKEN not in repr(info.value.problems)


def test_a_good_connection_and_no_connection() -> None:
    config = connector_config_from_connection(
        "mastodon", host="mastodon.example.org", schema="https", port=8443, password=f"  {TOKEN}\n",
        extra='{"page_size": "20", "timeout": 5, "max_wait": 0, "lookback_days": 3, "rate_limit_reserve": 2, '
              '"typo_page_size": 1}', max_pages=4)
    assert config.base_url == "https://mastodon.example.org:8443" and config.token == TOKEN
    assert (config.page_size, config.timeout, config.max_wait, config.max_pages) == (20, 5.0, 0.0, 4)
    assert config.lookback == timedelta(days=3) and config.extra["rate_limit_reserve"] == 2
    assert TOKEN not in repr(config)
    public = connector_config_from_connection("bluesky", exists=False)
    assert public.base_url == "https://public.api.bsky.app" and public.token is None
    with pytest.raises(InvalidConnection, match="there is no connection socialhub_x yet: create one of type http"):
        connector_config_from_connection("x", exists=False)
    assert connector_config_from_connection("youtube", extra={"youtube_api": "false"}).extra["youtube_api"] is False
    with pytest.raises(ConfigError, match="no connector for platform 'myspace'"):
        connector_config_from_connection("myspace")


def test_connectors_refuse_a_non_http_base_url_even_without_validation() -> None:
    connector = get_connector("mastodon", ConnectorConfig(base_url="file:///etc", token=TOKEN))
    with pytest.raises(ConnectorError, match="base_url scheme 'file' is not http"):
        connector.fetch("someone@example.org", None)


AIRFLOW_SCRIPT = r"""
import json, sys
from socialhub.errors import InvalidConnection
from socialhub_airflow.hooks import SocialhubPlatformHook

out = {}
for platform in sys.argv[1:]:
    try:
        config = SocialhubPlatformHook(platform).get_connector_config(lookback_days=7, max_pages=3)
        out[platform] = {"base_url": config.base_url, "page_size": config.page_size, "token": bool(config.token)}
    except InvalidConnection as exc:
        out[platform] = {"error": str(exc), "problems": exc.problems}
print(json.dumps(out))
"""


@pytest.mark.skipif(os.environ.get("SOCIALHUB_AIRFLOW_TESTS") != "1",
                    reason="slow (imports Airflow): set SOCIALHUB_AIRFLOW_TESTS=1")
def test_the_airflow_hook_validates_a_connection_from_an_env_variable(tmp_path: Path) -> None:
    if importlib.util.find_spec("airflow") is None:
        pytest.fail("SOCIALHUB_AIRFLOW_TESTS=1 but Airflow is not installed")
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"),
           "PYTHONPATH": os.pathsep.join(str(REPO / p) for p in ("include", "plugins")),
           "AIRFLOW_CONN_SOCIALHUB_MASTODON": json.dumps({
               "conn_type": "http", "host": "file:///etc/passwd", "password": TOKEN,
               "extra": {"page_size": "abc", "timeout": -1}}),
           "AIRFLOW_CONN_SOCIALHUB_REDDIT": json.dumps({"conn_type": "http", "password": TOKEN,
                                                        "extra": "{not json"}),
           "AIRFLOW_CONN_SOCIALHUB_BLUESKY": json.dumps({
               "conn_type": "http", "host": "bsky.example.org", "schema": "https", "port": 8443,
               "password": TOKEN, "extra": {"page_size": "25"}})}
    env.pop("AIRFLOW_CONN_SOCIALHUB_X", None)
    result = subprocess.run([sys.executable, "-c", AIRFLOW_SCRIPT, "mastodon", "reddit", "bluesky", "x"], env=env,
                            capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert "Airflow Connection socialhub_mastodon: 3 problem(s)" in out["mastodon"]["error"]
    assert any(p.startswith("host: scheme 'file' is not allowed") for p in out["mastodon"]["problems"])
    assert any(p.startswith("extra.page_size: 'abc'") for p in out["mastodon"]["problems"])
    assert out["reddit"]["problems"][0].startswith("extra: not valid JSON")
    assert out["bluesky"] == {"base_url": "https://bsky.example.org:8443", "page_size": 25, "token": True}
    assert "there is no connection socialhub_x yet" in out["x"]["error"]
    assert TOKEN not in result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------

NASTY_CHARS = [chr(c) for c in (0x0, 0x1, 0x8, 0xB, 0x1B, 0x7F, 0x85, 0x9B, 0xA0, 0x200B, 0x200E, 0x202A, 0x202E,
                                0x2066, 0x2069, 0x2028, 0xFEFF, 0xFFFD, 0xFFFE, 0xFFFF, 0xD800, 0xDBFF, 0xDC00,
                                0xDFFF, 0x1F52A, 0xE0041, 0x10FFFF)]
HOSTILE_TEXT = st.lists(st.one_of(st.characters(), st.sampled_from(NASTY_CHARS),
                                  st.sampled_from(["<!here>", "<@U1>", "<https://x.example|y>", "&amp;", "&#0;",
                                                   "<script>", "]]>", "\\", '"', "\r\n", "*_~`", "\ud83d\ude00"])),
                        max_size=40).map("".join)


class InProcessReplay:
    """The replay's platform emulations without sockets (``httpx.MockTransport``): fast enough for
    hypothesis. The victim's newest post holds the marker; ``payload`` replaces it in every body."""

    def __init__(self) -> None:
        self.server = ReplayServer(now=lambda: EPOCH)
        self.payload: dict[str, bytes] = {}
        self.victims = {}
        for platform in PLATFORMS:
            self.server.set_rate_limit(platform, limit=10**9, remaining=10**9)
            self.victims[platform] = self.server.accounts(platform)[0]
            self.server.add_post(platform, self.victims[platform], {"text": f"zqstart {MARK} zqend"})

    def handler(self, request: httpx.Request) -> httpx.Response:
        headers = {**dict(request.headers), "Host": request.url.netloc.decode("ascii")}
        response = self.server.handle("GET", request.url.raw_path.decode("ascii"), headers)
        body = response.body.replace(MARK.encode(), self.payload.get(request.url.path.split("/")[1], MARK.encode()))
        return httpx.Response(response.status, headers=response.headers, content=body)

    def connector(self, platform: str) -> Any:
        return CONNECTORS[platform](ConnectorConfig(base_url=f"http://replay.invalid/{platform}", max_wait=5.0),
                                    now=lambda: EPOCH, sleep=lambda s: None,
                                    transport=httpx.MockTransport(self.handler))  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def inprocess() -> InProcessReplay:
    return InProcessReplay()


def _encode_for(platform: str, text: str) -> bytes:
    """``text`` written into the platform's body the way a (careless) platform would."""
    if platform in JSON_PLATFORMS:
        inner = html.escape(text, quote=False) if platform == "mastodon" else text
        return json.dumps(inner)[1:-1].encode("ascii")      # lone surrogates become \udxxx escapes
    return html.escape(text).encode("utf-8", "surrogatepass")   # HTML/XML: lone surrogates become invalid bytes


@pytest.mark.parametrize("platform", PLATFORMS)
@PROPERTY
@given(text=HOSTILE_TEXT)
def test_any_text_parses_into_storable_posts_or_a_documented_error(inprocess: InProcessReplay, platform: str,
                                                                   text: str) -> None:
    inprocess.payload[platform] = _encode_for(platform, text)
    try:
        result = inprocess.connector(platform).fetch(inprocess.victims[platform], None)
    except ConnectorError as exc:
        # only XML forbids characters outright; every message is storable and shows no secret
        assert platform == "rss" and isinstance(exc, MalformedResponse), repr(exc)
        str(exc).encode("utf-8")
        return
    for post, raw in zip(result.posts, result.raw_items, strict=True):
        to_jsonl([post.to_dict()])
        to_jsonl([{"raw_sha256": post.raw_sha256, "item": raw}])
        assert post.raw_sha256 == raw_sha256(raw)
    (mine,) = [p for p in result.posts if "zqstart" in p.text]
    expected = LONE_SURROGATE.sub("\ufffd", json.loads(json.dumps(text)))   # pairs joined, halves replaced
    if platform in ("bluesky", "x"):
        assert mine.text == f"zqstart {expected} zqend"
    elif platform in ("reddit", "youtube"):
        assert expected.strip() in mine.text


PATH_BITS = st.sampled_from(["..", ".", "/", "\\", "%2e", "%2E%2e", "%2f", "%2F", "%5c", "%00", "%25", "%", "~",
                             "@", ":", "C:", "//", "?", "#", "\x00", "\u202e", "\u2215", "\uff0e\uff0e", "a", "Z9",
                             "é", "📦", " ", "\n", "\ufeff", "-", "_"])
PATH_LIKE = st.lists(st.one_of(PATH_BITS, st.text(max_size=3)), min_size=1, max_size=14).map("".join)


@PROPERTY
@given(account=PATH_LIKE, platform=st.sampled_from(PLATFORMS))
def test_path_like_accounts_never_leave_their_storage_prefix(tmp_path_factory: pytest.TempPathFactory,
                                                             account: str, platform: str) -> None:
    """An account the watchlist accepts yields keys with exactly one account segment, safe, and
    files under its own prefix; one it refuses is a ``WatchlistError`` naming the entry."""
    document = {"version": 1, "accounts": [{"platform": platform, "account": account, "display_name": "d",
                                            "force": "f", "team": "t", "owner": "o", "authorisation_ref": "A",
                                            "purpose": "property test entry", "review_by": "2099-01-01"}]}
    try:
        text = yaml.safe_dump(document, allow_unicode=True)
    except yaml.YAMLError:
        return   # not even representable as YAML (e.g. a lone surrogate)
    try:
        parse_watchlist(text, "w.yaml")
    except WatchlistError as exc:
        assert "accounts[0]" in str(exc) or "not valid YAML" in str(exc)
        str(exc).encode("utf-8")
        return
    root = tmp_path_factory.mktemp("keys")
    store = LocalStore(root)
    day = "2026-11-25"
    keys = [layout.raw_key(platform, day, account, "b1"), layout.posts_key(platform, day, account, "b1"),
            layout.manifest_key(platform, account, "20261125T120000", "b1"), layout.cursor_key(platform, account)]
    prefixes = [f"raw/platform={platform}/date={day}/", f"posts/platform={platform}/date={day}/",
                f"batches/platform={platform}/", f"state/cursors/{platform}/"]
    for key, prefix in zip(keys, prefixes, strict=True):
        assert safe_key(key) == key and key.startswith(prefix)
        segment = key[len(prefix):].split("/")[0]
        assert unquote(segment.removeprefix("account=").removesuffix(".json")) == account
        assert len(key[len(prefix):].split("/")) == (1 if key.startswith("state/") else 2)
    for key in keys[:3]:
        store.put(key, b"x")
    store.put_state(keys[3], b"{}")
    written = [p for p in root.rglob("*") if p.is_file()]
    assert len(written) == 4
    for path, prefix in zip(sorted(written), sorted(prefixes), strict=True):
        assert (root / prefix).resolve() in path.resolve().parents


ACCOUNT_FOR_URL = {"rss": lambda a: "https://feeds.example.org/" + a}


@pytest.mark.parametrize("platform", PLATFORMS)
@PROPERTY
@given(account=PATH_LIKE)
def test_path_like_accounts_never_leave_the_platforms_base_path(platform: str, account: str) -> None:
    """Every request a connector makes for a hostile account stays under its base URL's path
    (``/<platform>/`` behind a gateway), with no ``..`` segment, raw or encoded."""
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(404, json={"error": "not found"})

    config = ConnectorConfig(base_url=f"https://gw.example.org/{platform}", token=TOKEN, max_wait=1.0)
    connector = CONNECTORS[platform](config, now=lambda: EPOCH, sleep=lambda s: None,  # type: ignore[call-arg]
                                     transport=httpx.MockTransport(handler))
    try:
        connector.fetch(ACCOUNT_FOR_URL.get(platform, lambda a: a)(account), None)
    except ConnectorError as exc:
        str(exc).encode("utf-8")
    for url in seen:
        path = url.raw_path.decode("ascii").split("?")[0]
        assert url.host == "gw.example.org" and path.startswith(f"/{platform}/"), url
        assert not any(part in (".", "..") for seg in path.split("/") for part in re.split(r"[/\\]", unquote(seg))), url


EXTRA_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                         st.sampled_from(["20", "-1", "1e3", "true", "false", "https://x.example", "file:///etc",
                                          "javascript:alert(1)", TOKEN]),
                         st.lists(st.sampled_from(["submitted", "comments", "saved", 3]), max_size=3),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@PROPERTY
@given(platform=st.sampled_from(PLATFORMS),
       extra=st.dictionaries(st.one_of(st.sampled_from(sorted(EXTRAS)), st.text(max_size=8)), EXTRA_VALUES,
                             max_size=6),
       host=st.one_of(st.none(), st.sampled_from(["api.example.org", "https://api.example.org/v1", "file:///x",
                                                  "javascript:x", "../..", "h:99999", "http://[::1]:8080"]),
                      PATH_LIKE),
       as_text=st.booleans())
def test_any_connection_is_valid_or_an_invalid_connection(platform: str, extra: dict[str, Any], host: str | None,
                                                          as_text: bool) -> None:
    try:
        config = connector_config_from_connection(platform, host=host, password=TOKEN,
                                                  extra=json.dumps(extra) if as_text else extra)
    except InvalidConnection as exc:
        assert exc.conn_id == f"socialhub_{platform}" and exc.problems
        assert TOKEN not in str(exc)
        str(exc).encode("utf-8")
        return
    assert config.token == TOKEN
    assert config.base_url == "" or config.base_url.split("://")[0] in ("http", "https")
    assert 1 <= config.page_size <= 1000 and 1 <= config.max_pages and 0.1 <= config.timeout <= 600
    assert 0 <= config.max_wait <= 3600 and config.lookback >= timedelta(0)


WATCHLIST_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                             st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                                  max_size=2),
                             st.dates().map(lambda d: d.isoformat()))
YAML_TAGS = st.sampled_from(["", "!!binary ", "!!set ", "!!timestamp ", "!!python/object:os.system ", "!!str ",
                             "!!int ", "!foo ", "!!omap ", "&a ", "*a "])
FIELDS = ("platform", "account", "display_name", "force", "team", "owner", "priority", "authorisation_ref",
          "purpose", "review_by", "version", "colour")


@PROPERTY
@given(changes=st.dictionaries(st.sampled_from(FIELDS), st.tuples(YAML_TAGS, WATCHLIST_VALUES), max_size=4),
       duplicate=st.sampled_from(["", "same", "case"]))
def test_any_watchlist_is_valid_or_a_watchlist_error(changes: dict[str, tuple[str, Any]], duplicate: str) -> None:
    base = {"platform": "mastodon", "account": "someone@example.social", "display_name": "Someone", "force": "met",
            "team": "gangs", "owner": "DS Example", "priority": "high", "authorisation_ref": "AUTH-1",
            "purpose": "Public threats between two named groups.", "review_by": "2030-01-01"}
    lines = ["version: 1", "accounts:", "  - " + "\n    ".join(f"{k}: {json.dumps(v)}" for k, v in base.items())]
    for field, (tag, value) in changes.items():
        line = f"{field}: {tag}{json.dumps(value, default=str)}"
        if field == "version":
            lines[0] = line
        else:
            lines[2] += "\n    " + line
    if duplicate:
        account = base["account"] if duplicate == "same" else "@SomeOne@Example.Social"
        lines.append("  - " + "\n    ".join(f"{k}: {json.dumps(account if k == 'account' else v)}"
                                           for k, v in base.items()))
    try:
        watchlist = parse_watchlist("\n".join(lines) + "\n", "w.yaml")
    except WatchlistError as exc:
        assert exc.problems and str(exc).startswith("w.yaml: ")
        str(exc).encode("utf-8")
        return
    assert not duplicate or "account" in changes
    for e in watchlist.accounts:
        assert isinstance(e.account, str) and e.account


@pytest.mark.parametrize(("text", "problem"), [
    ("version: abc\naccounts: []\n", "version: abc is not a positive whole number"),
    ("accounts: " + "[" * 1500 + "]" * 1500 + "\n", "nested too deeply"),
    ("accounts:\n  - platform: mastodon\n    account: !!binary aGVsbG8=\n", "the YAML tag !!binary is not allowed"),
    ("".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9 if i else ['x'] * 9)}]\n" for i in range(9))
     + "accounts:\n  - platform: *l8\n    account: *l8\n", "accounts[0] (<list>:<list>): platform"),
])
def test_watchlist_shapes_that_used_to_crash_or_hang(text: str, problem: str) -> None:
    with pytest.raises(WatchlistError) as info:
        parse_watchlist(text, "w.yaml")
    assert problem in str(info.value)


@pytest.mark.parametrize("account", ['"some\\u202eone@example.social"', '"some\\u200bone@example.social"',
                                     '"someone@example.social\\x85"',
                                     '"https://news.example.org/' + "section/" * 30 + 'feed.xml"'])
def test_watchlist_refuses_accounts_that_look_alike_or_cannot_be_stored(account: str) -> None:
    text = ("accounts:\n  - platform: mastodon\n    account: " + account + "\n    display_name: d\n    force: f\n"
            "    team: t\n    owner: o\n    authorisation_ref: A\n    purpose: property test entry\n"
            "    review_by: 2099-01-01\n")
    with pytest.raises(WatchlistError, match=r"accounts\[0\] \(mastodon:.*\): account: Value error, (must not "
                                             r"contain whitespace, control, zero-width or bidi|is \d+ characters "
                                             r"once percent-encoded)"):
        parse_watchlist(text, "w.yaml")
