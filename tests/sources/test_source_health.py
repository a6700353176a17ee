"""Source health: each state per platform from a real poll of the replay server, change
detection firing once per change, crash safety of the record (the cursor still moves only after
its batch is stored), and ``socialhub sources``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sources_support import FakeClock

from socialhub.collect import collect_account, load_cursor_state
from socialhub.errors import AccountUnavailable, AuthError, ConfigError, ConnectorError, RateLimited, StorageError
from socialhub.sources.health import (
    HealthSettings,
    SourceHealth,
    assess,
    classify_failure,
    health_changes,
    health_key,
    load_health,
    update_health,
)
from socialhub.storage import LocalStore
from socialhub.watchlist import parse_watchlist

T0 = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)   # any fixed time: nothing here reads today's date


def entry_for(platform: str, account: str) -> Any:
    text = f"""
version: 1
accounts:
  - platform: {platform}
    account: "{account}"
    display_name: Watched account
    force: met
    team: gangs
    owner: DS Example
    priority: normal
    authorisation_ref: AUTH-H1
    purpose: Public threats between two named groups.
    review_by: 2099-01-01
"""
    return parse_watchlist(text).accounts[0]


def post(pid: str, when: datetime) -> dict[str, str]:
    return {"post_id": pid, "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


# --------------------------------------------------------------------------------------------
# pure functions
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("error", "kind"), [
    (AccountUnavailable("x", "a", "account suspended: User has been suspended: [a]."), "suspended"),
    (AccountUnavailable("x", "a", "protected account, posts are not public: Sorry"), "private"),
    (AccountUnavailable("x", "a", "account not found (deleted or renamed): Could not find user"), "not_found"),
    (AccountUnavailable("mastodon", "a", "whatever", reason="moved", moved_to="b@c"), "moved"),
    (AccountUnavailable("bluesky", "a", "whatever", reason="renamed"), "renamed"),
    (AccountUnavailable("bluesky", "a", "getAuthorFeed: HTTP 400: AccountDeactivated"), "deleted"),
    (AccountUnavailable("youtube", "a", "channel terminated"), "suspended"),
    (AuthError("x", "a", "HTTP 401"), "authentication"),
    (RateLimited("x", "a", "HTTP 429"), "rate_limited"),
    (ConnectorError("x", "a", "HTTP 503 3 times"), "other"),
])
def test_classify_failure(error: Exception, kind: str) -> None:
    assert classify_failure(error) == kind
    # the same from a stored outcome (error_type and the message with its hint)
    assert classify_failure(error_type=type(error).__name__, message=str(error)) == (
        kind if not getattr(error, "reason", None) else classify_failure(error_type="AccountUnavailable",
                                                                         message=str(error)))


def test_the_default_hint_does_not_make_every_unavailable_account_suspended() -> None:
    exc = AccountUnavailable("reddit", "a", "GET /user/a/submitted.json: HTTP 404: Not Found")
    assert "suspended" in str(exc)   # the class hint lists every possibility
    assert classify_failure(exc) == "not_found"
    assert classify_failure(error_type="AccountUnavailable", message=str(exc)) == "not_found"


def test_account_states_are_immediate_transient_ones_after_n_failures() -> None:
    s = HealthSettings(failures_to_report=3)
    rec = update_health(None, "x", "a", T0, ok=True, posts=[post("1", T0)], settings=s)
    assert rec.state == "ok" and rec.last_post_id == "1"
    for i in range(1, 3):
        rec = update_health(rec, "x", "a", T0 + timedelta(hours=i), ok=False, error=RateLimited("x", "a", "429"),
                            settings=s)
        assert rec.state == "ok" and rec.consecutive_failures == i and rec.failure_kind == "rate_limited"
    rec = update_health(rec, "x", "a", T0 + timedelta(hours=3), ok=False, error=RateLimited("x", "a", "429"),
                        settings=s)
    assert rec.state == "rate_limited" and rec.since == "2031-03-01T13:00:00Z"   # since the first failure
    gone = update_health(None, "x", "a", T0, ok=False, error=AccountUnavailable("x", "a", "account suspended"),
                         settings=s)
    assert gone.state == "suspended" and gone.consecutive_failures == 1


def test_silence_and_review_authorisation() -> None:
    s = HealthSettings(silent_days=14, review_days=30)
    rec = update_health(None, "rss", "f", T0, ok=True, posts=[post("1", T0)], settings=s)
    assert rec.state == "ok"
    rec = update_health(rec, "rss", "f", T0 + timedelta(days=13), ok=True, settings=s)
    assert rec.state == "ok"
    rec = update_health(rec, "rss", "f", T0 + timedelta(days=14), ok=True, settings=s)
    assert rec.state == "silent" and rec.since == "2031-03-15T12:00:00Z" and not rec.review_authorisation
    rec = update_health(rec, "rss", "f", T0 + timedelta(days=29), ok=True, settings=s)
    assert not rec.review_authorisation
    rec = update_health(rec, "rss", "f", T0 + timedelta(days=30), ok=True, settings=s)
    assert rec.review_authorisation and "no post for 30 days" in rec.review_reason
    rec = update_health(rec, "rss", "f", T0 + timedelta(days=31), ok=True, posts=[post("2", T0 + timedelta(days=31))],
                        settings=s)
    assert rec.state == "ok" and not rec.review_authorisation


def test_an_account_that_never_posted_is_silent_from_its_first_success() -> None:
    rec = update_health(None, "x", "a", T0, ok=True)
    assert assess(rec, T0 + timedelta(days=13), HealthSettings()).state == "ok"
    assert assess(rec, T0 + timedelta(days=14), HealthSettings()).state == "silent"


def test_gone_for_review_days_flags_the_authorisation() -> None:
    s = HealthSettings(review_days=30)
    rec = update_health(None, "x", "a", T0, ok=False, error=AccountUnavailable("x", "a", "account suspended"),
                        settings=s)
    assert not assess(rec, T0 + timedelta(days=29), s).review_authorisation
    later = assess(rec, T0 + timedelta(days=30), s)
    assert later.review_authorisation and later.review_reason == "suspended for 30 days"


def test_changes_fire_once_per_change() -> None:
    s = HealthSettings()
    rec0 = update_health(None, "mastodon", "a@b", T0, ok=True, posts=[post("1", T0)], settings=s)
    assert health_changes(None, rec0, s) == []                         # a new account that is fine: not news
    moved = AccountUnavailable("mastodon", "a@b", "account moved to @c@d (Account.moved)", reason="moved",
                               moved_to="c@d")
    rec1 = update_health(rec0, "mastodon", "a@b", T0 + timedelta(hours=1), ok=False, error=moved, settings=s)
    changes = health_changes(rec0, rec1, s)
    assert [(c.change, c.before, c.after) for c in changes] == [("state", "ok", "moved")]
    text = changes[0].message
    assert "mastodon account a@b" in text and "c@d" in text and "What to do" in text and "watchlist" in text
    rec2 = update_health(rec1, "mastodon", "a@b", T0 + timedelta(hours=2), ok=False, error=moved, settings=s)
    assert health_changes(rec1, rec2, s) == []                         # still moved: said once
    rec3 = update_health(rec2, "mastodon", "a@b", T0 + timedelta(days=31), ok=False, error=moved, settings=s)
    review = health_changes(rec2, rec3, s)
    assert [c.change for c in review] == ["review_authorisation"] and "REVIEW AUTHORISATION" in review[0].message
    rec4 = update_health(rec3, "mastodon", "a@b", T0 + timedelta(days=32), ok=False, error=moved, settings=s)
    assert health_changes(rec3, rec4, s) == []
    back = update_health(rec4, "mastodon", "a@b", T0 + timedelta(days=33), ok=True, posts=[post("9", T0 + timedelta(days=33))],
                         settings=s)
    again = health_changes(rec4, back, s)
    assert [(c.before, c.after) for c in again] == [("moved", "ok")] and "collected again" in again[0].message
    # dicts work too (records as stored)
    assert health_changes(rec0.to_dict(), rec1.to_dict(), s)[0].after == "moved"


def test_settings_from_env() -> None:
    assert HealthSettings.from_env({}) == HealthSettings(14, 30, 3)
    assert HealthSettings.from_env({"SOCIALHUB_SILENT_DAYS": "7", "SOCIALHUB_REVIEW_AFTER_DAYS": "60",
                                    "SOCIALHUB_HEALTH_FAILURES": "1"}) == HealthSettings(7, 60, 1)
    with pytest.raises(ConfigError):
        HealthSettings.from_env({"SOCIALHUB_SILENT_DAYS": "two weeks"})


# --------------------------------------------------------------------------------------------
# each state per platform, from real polls of the replay server
# --------------------------------------------------------------------------------------------

def poll(store: LocalStore, connect: Any, clock: FakeClock, platform: str, account: str, **config: Any) -> Any:
    conn = connect(platform, **config)
    out = collect_account(store, entry_for(platform, account), conn, clock.now())
    return out, load_health(store, platform, account)


TOKENS = {"x": "replay-key", "youtube": "replay-key"}


def first_account(server: Any, connect: Any, platform: str) -> str:
    conn = connect(platform, token=TOKENS.get(platform))
    for account in server.accounts(platform):
        try:
            conn.fetch(account, None)
            return account
        except ConnectorError:
            continue
    raise AssertionError(platform)


STATE_CASES = [
    # platform, what happens between the first (good) poll and the second, the state the second gives
    ("mastodon", lambda srv, a: srv.suspend_account("mastodon", a), "suspended"),
    ("mastodon", lambda srv, a: srv.move_account("mastodon", a, "newhome@elsewhere.example"), "moved"),
    ("mastodon", lambda srv, a: srv.inject_fault("mastodon", 410, match="/api/v1/accounts/", count=5), "deleted"),
    ("bluesky", lambda srv, a: srv.rename_account("bluesky", a, "renamed-one.bsky.social"), "renamed"),
    ("bluesky", lambda srv, a: srv.suspend_account("bluesky", a), "suspended"),
    ("x", lambda srv, a: srv.suspend_account("x", a), "suspended"),
    ("youtube", lambda srv, a: srv.suspend_account("youtube", a), "not_found"),
    ("reddit", lambda srv, a: srv.suspend_account("reddit", a), "suspended"),
    ("telegram", lambda srv, a: srv.rename_account("telegram", a, "someothername"), "not_found"),
    ("rss", lambda srv, a: srv.rename_account("rss", a, "https://moved.hubdemo.example/feed.xml"), "moved"),
    ("rss", lambda srv, a: srv.suspend_account("rss", a), "deleted"),
]


@pytest.mark.parametrize(("platform", "event", "state"), STATE_CASES,
                         ids=[f"{p}-{s}" for p, _, s in STATE_CASES])
def test_state_after_an_account_event(tmp_path: Any, server: Any, connect: Any, clock: FakeClock,
                                      platform: str, event: Any, state: str) -> None:
    store = LocalStore(tmp_path)
    account = first_account(server, connect, platform)
    out, rec = poll(store, connect, clock, platform, account, token=TOKENS.get(platform))
    assert out.status == "ok" and rec.state == "ok" and rec.last_success and out.health_changes == []
    event(server, account)
    clock.sleep(3600)
    out, rec = poll(store, connect, clock, platform, account, token=TOKENS.get(platform))
    assert out.status == "error" and rec.state == state, (out.error, rec)
    assert rec.consecutive_failures == 1 and rec.last_success < rec.last_polled
    assert [c["after"] for c in out.health_changes] == [state]
    if state in ("renamed", "moved") and platform != "rss":
        assert rec.moved_to
    clock.sleep(3600)
    out, _ = poll(store, connect, clock, platform, account, token=TOKENS.get(platform))
    assert out.health_changes == []                                    # told once


def test_private_and_not_found(tmp_path: Any, server: Any, connect: Any, clock: FakeClock) -> None:
    store = LocalStore(tmp_path)
    server.add_post("x", server.accounts("x")[0], {"text": "x"})
    _, rec = poll(store, connect, clock, "x", "nobody_here_123", token="replay-key")
    assert rec.state == "not_found"
    _, rec = poll(store, connect, clock, "bluesky", "nobody.bsky.social")
    assert rec.state == "not_found"
    _, rec = poll(store, connect, clock, "mastodon", "nobody@social.hubdemo.example")
    assert rec.state == "not_found"
    data = {"x": {"accounts": [{"username": "locked_acct", "protected": True, "posts": [{"text": "p", "age": "1h"}]}]}}
    from socialhub.replay import ReplayServer

    with ReplayServer(data, now=clock.now) as srv:
        from socialhub.sources.base import ConnectorConfig
        from socialhub.sources.x import XConnector

        conn = XConnector(ConnectorConfig(base_url=srv.base_url("x"), token="k"), now=clock.now, sleep=clock.sleep)
        collect_account(store, entry_for("x", "locked_acct"), conn, clock.now())
    rec = load_health(store, "x", "locked_acct")
    assert rec is not None and rec.state == "private"


def test_authentication_is_reported_only_at_the_third_failure(tmp_path: Any, server: Any, connect: Any,
                                                              clock: FakeClock) -> None:
    store = LocalStore(tmp_path)
    account = server.accounts("mastodon")[0]
    poll(store, connect, clock, "mastodon", account)
    server.require_token("mastodon", "right")
    seen = []
    for _ in range(3):
        clock.sleep(600)
        out, rec = poll(store, connect, clock, "mastodon", account, token="wrong")
        seen.append((rec.state, [c["after"] for c in out.health_changes]))
    assert seen == [("ok", []), ("ok", []), ("authentication", ["authentication"])]


def test_silent_account(tmp_path: Any, server: Any, connect: Any, clock: FakeClock) -> None:
    store = LocalStore(tmp_path)
    account = server.accounts("mastodon")[0]
    poll(store, connect, clock, "mastodon", account)
    clock.sleep(15 * 86400)
    out, rec = poll(store, connect, clock, "mastodon", account)
    assert out.status == "ok" and rec.state == "silent"
    assert [c["after"] for c in out.health_changes] == ["silent"] and "has not posted" in out.health_changes[0]["message"]
    server.add_post("mastodon", account, {"text": "back again"})
    clock.sleep(60)
    out, rec = poll(store, connect, clock, "mastodon", account)
    assert rec.state == "ok" and [c["after"] for c in out.health_changes] == ["ok"]


def test_each_change_is_an_audit_event(tmp_path: Any, server: Any, connect: Any, clock: FakeClock) -> None:
    from socialhub.audit.chain import AuditLog, Auditor

    store = LocalStore(tmp_path)
    auditor = Auditor(AuditLog(store), actor="collector")
    account = server.accounts("mastodon")[0]
    ent = entry_for("mastodon", account)
    collect_account(store, ent, connect("mastodon"), clock.now(), auditor)
    server.suspend_account("mastodon", account)
    for _ in range(2):
        clock.sleep(600)
        collect_account(store, ent, connect("mastodon"), clock.now(), auditor)
    events = [json.loads(store.get(k)) for k in store.list("audit/") if k.rsplit("/", 1)[-1][0].isdigit()]
    health = [e for e in events if e["action"] == "source_health"]
    assert len(health) == 1 and health[0]["details"]["after"] == "suspended"
    assert health[0]["object"] == ent.key and "suspended" in health[0]["justification"]
    assert health[0]["details"]["subject"] == "unknown" and health[0]["details"]["authorisation_ref"] == "AUTH-H1"


# --------------------------------------------------------------------------------------------
# crash safety: the record never blocks collection, and a crash never leaves it wrong for long
# --------------------------------------------------------------------------------------------

class FailingStore(LocalStore):
    def __init__(self, root: Any, fail_prefix: str) -> None:
        super().__init__(root)
        self.fail_prefix = fail_prefix

    def put_state(self, key: str, data: bytes) -> Any:
        # a cursor state carrying a ``writing`` intent is written before the batch: the crash is at the move
        if self.fail_prefix and key.startswith(self.fail_prefix) and b'"writing"' not in data:
            raise StorageError(f"injected crash on put_state {key}")
        return super().put_state(key, data)


def test_a_health_write_failure_never_fails_the_account_nor_holds_the_cursor(tmp_path: Any, server: Any,
                                                                            connect: Any, clock: FakeClock) -> None:
    store = FailingStore(tmp_path, "state/health/")
    account = server.accounts("mastodon")[0]
    out = collect_account(store, entry_for("mastodon", account), connect("mastodon"), clock.now())
    assert out.status == "ok" and out.posts > 0 and out.health_changes == []
    assert load_cursor_state(store, "mastodon", account).get("cursor")
    assert store.get_or_none(health_key("mastodon", account)) is None


def test_a_crash_before_the_cursor_moves_keeps_the_health_record_right(tmp_path: Any, server: Any, connect: Any,
                                                                      clock: FakeClock) -> None:
    account = server.accounts("mastodon")[0]
    store = FailingStore(tmp_path, "state/cursors/")
    with pytest.raises(StorageError):
        collect_account(store, entry_for("mastodon", account), connect("mastodon"), clock.now())
    rec = load_health(store, "mastodon", account)
    assert rec is not None and rec.last_post_at    # the batch is stored, and so is its newest post time
    assert "cursor" not in load_cursor_state(store, "mastodon", account)   # the cursor did not move
    store.fail_prefix = ""
    clock.sleep(60)
    out = collect_account(store, entry_for("mastodon", account), connect("mastodon"), clock.now())
    assert out.status == "ok" and out.recovered and out.posts == 0      # rolled forward, nothing stored twice
    again = load_health(store, "mastodon", account)
    assert again is not None and again.last_post_at == rec.last_post_at and again.state == "ok"


def test_an_unreadable_record_is_rebuilt(tmp_path: Any, server: Any, connect: Any, clock: FakeClock) -> None:
    store = LocalStore(tmp_path)
    account = server.accounts("mastodon")[0]
    store.put_state(health_key("mastodon", account), b"{not json")
    out, rec = poll(store, connect, clock, "mastodon", account)
    assert out.status == "ok" and rec.state == "ok"


# --------------------------------------------------------------------------------------------
# socialhub sources
# --------------------------------------------------------------------------------------------

def test_sources_command(tmp_path: Any, capsys: Any, monkeypatch: Any) -> None:
    from socialhub.cli import main
    from socialhub.models import canonical_json

    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text("""
version: 1
accounts:
""" + "".join(f"""
  - platform: mastodon
    account: "acct{i}@x.social"
    display_name: Account {i}
    force: met
    team: gangs
    owner: DS Example
    priority: normal
    authorisation_ref: AUTH-{i}
    purpose: Public threats between two named groups.
    review_by: 2099-01-01
    subject: {("victim", "suspect", "unknown")[i]}
""" for i in range(3)))
    store = LocalStore(tmp_path / "store")
    now = datetime.now(UTC)
    fine = update_health(None, "mastodon", "acct0@x.social", now, ok=True, posts=[post("1", now)])
    gone = update_health(None, "mastodon", "acct1@x.social", now - timedelta(days=40), ok=False,
                         error=AccountUnavailable("mastodon", "acct1@x.social", "moved", reason="moved",
                                                  moved_to="new@y.social"))
    for rec in (fine, gone):
        store.put_state(health_key(rec.platform, rec.account), canonical_json(rec.to_dict()))
    monkeypatch.delenv("SOCIALHUB_SILENT_DAYS", raising=False)
    assert main(["sources", "--store", str(tmp_path / "store"), "--watchlist", str(watchlist)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("source health: 3 watched account(s)")
    assert "state" in lines[1] and "last success" in lines[1] and "failures" in lines[1]
    # one subject category after another, under its heading: the suspect first, then the victim
    assert [line for line in lines if line.startswith("[")] == [
        "[Suspects]", "[Victims — safeguarding, not enforcement]", "[Subject category unknown or not recorded]"]
    assert lines[3].startswith("mastodon:acct1@x.social") and lines[5].startswith("mastodon:acct0@x.social")
    row = {line.split()[0]: line for line in lines[2:8] if not line.startswith("[")}
    assert " ok " in row["mastodon:acct0@x.social"]
    assert "MOVED" in row["mastodon:acct1@x.social"] and "REVIEW AUTHORISATION" in row["mastodon:acct1@x.social"]
    assert "never polled" in row["mastodon:acct2@x.social"]
    assert "new@y.social" in out and "What to do" in out
    assert main(["sources", "--store", str(tmp_path / "store"), "--watchlist", str(watchlist), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["subject"], r["state"]) for r in rows] == [("suspect", "moved"), ("victim", "ok"),
                                                          ("unknown", "never_polled")]
    assert rows[0]["review_authorisation"] is True and rows[0]["consecutive_failures"] == 1
    assert SourceHealth.from_dict(rows[0]).moved_to == "new@y.social"


def test_bluesky_handle_taken_by_another_account_is_never_collected(tmp_path: Any, server: Any, connect: Any,
                                                                  clock: FakeClock) -> None:
    """The watched account changes its handle and another account takes the old one: the feed
    of the old handle is someone else's. The DID remembered in the cursor catches it."""
    store = LocalStore(tmp_path)
    watched, other = server.accounts("bluesky")[:2]
    out, rec = poll(store, connect, clock, "bluesky", watched)
    assert out.status == "ok" and load_cursor_state(store, "bluesky", watched)["cursor"]["did"].startswith("did:")
    stored = sorted(store.list("posts/"))
    server.rename_account("bluesky", watched, "watched-new.bsky.social")
    server.rename_account("bluesky", other, watched)
    clock.sleep(3600)
    out, rec = poll(store, connect, clock, "bluesky", watched)
    assert out.status == "error" and rec.state == "renamed" and "now belongs to another account" in out.error
    assert sorted(store.list("posts/")) == stored                        # nothing of the other account stored


def test_x_rename_is_reported_while_collection_goes_on_by_id(tmp_path: Any, server: Any, connect: Any,
                                                              clock: FakeClock) -> None:
    store = LocalStore(tmp_path)
    account = first_account(server, connect, "x")
    out, rec = poll(store, connect, clock, "x", account, token="replay-key")
    assert rec.state == "ok"
    server.rename_account("x", account, "fresh_handle")
    server.add_post("x", "fresh_handle", {"text": "still here under a new name"})
    clock.sleep(600)
    out, rec = poll(store, connect, clock, "x", account, token="replay-key")
    assert out.status == "ok" and out.posts == 1                           # collected by the cached user id
    assert rec.state == "renamed" and rec.moved_to == "fresh_handle"
    assert [c["after"] for c in out.health_changes] == ["renamed"] and "fresh_handle" in out.health_changes[0]["message"]
    clock.sleep(600)
    out, rec = poll(store, connect, clock, "x", account, token="replay-key")   # nothing new: no evidence either way
    assert rec.state == "renamed" and out.health_changes == []
    server.rename_account("x", "fresh_handle", account)
    server.add_post("x", account, {"text": "back to the old name"})
    clock.sleep(600)
    out, rec = poll(store, connect, clock, "x", account, token="replay-key")
    assert rec.state == "ok" and [c["after"] for c in out.health_changes] == ["ok"]


def test_the_auditors_report_shows_each_accounts_source_health(tmp_path):
    """The auditors see what `socialhub sources` shows: a watched account gone from the platform,
    its state, since when and what to do, and the change counted in the period."""
    from datetime import UTC, datetime

    from socialhub.audit.chain import AuditLog, Auditor
    from socialhub.audit.report import build_report
    from socialhub.collect import collect_account
    from socialhub.storage import LocalStore
    from tests.core.test_collect import NOW, FakeMastodon, entry

    store = LocalStore(tmp_path / "store")
    gone, fine = entry(1), entry(2)
    auditor = Auditor(AuditLog(store), {"kind": "task", "task_id": "collect"})
    collect_account(store, fine, FakeMastodon({fine.account: [1]}), NOW, auditor)
    collect_account(store, gone, FakeMastodon({gone.account: [1]}), NOW, auditor)
    collect_account(store, gone, FakeMastodon({}, fail={gone.account}), NOW.replace(hour=13), auditor)
    day = datetime.now(UTC).date()          # the audit events carry the wall clock
    report = build_report(store, start=day, end=day, watchlist=[fine, gone], now=NOW.replace(hour=14),
                          audit_keys=None)
    table = next(t for t in report.tables if t.name == "source_health")
    rows = {r["account"]: r for r in table.rows}
    assert rows[fine.key]["state"] == "ok" and rows[fine.key]["what_to_do"] == ""
    assert rows[gone.key]["state"] == "not found" and rows[gone.key]["changes"] == 1
    assert "review the watchlist entry" in rows[gone.key]["what_to_do"]
