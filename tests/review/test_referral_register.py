"""The referral register: made by a real "Refer to platform" decision, once per post, its status
history (every transition allowed and refused), the re-check API and the audit trail."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from socialhub.audit.chain import AuditLog, verify_chain
from socialhub.errors import ConfigError
from socialhub.referrals import register as reg
from socialhub.referrals.policies import load_policies, parse_policies
from socialhub.review.actions import act_on_decision
from socialhub.review.bundle import existing_bundle
from socialhub.review.model import MONITOR, REFER
from socialhub.review.store import get_state, load_alert_context, put_state
from tests.review._pipeline import NOW
from tests.review.test_actions import OFFICER, decide

OFFICER2 = {"id": "officer2", "name": "PC Officer Two"}
ME = {"kind": "person", "name": "PC Officer One", "via": "test"}


def actions(store, action="referral_update"):
    return [e for e in AuditLog(store).events() if e["action"] == action]


def refer(store, outbox, routing, aid, **kw):
    return act_on_decision(store, decide(aid, REFER, **kw), sink=outbox, routing=routing, now=NOW)


# --- creation ---------------------------------------------------------------------------------------

def test_a_refer_decision_creates_one_register_record_with_the_notice(store, alerted_outbox, outbox, routing):
    aid = alerted_outbox["2"]
    out = refer(store, outbox, routing, aid)
    rid = out["referral_id"]
    assert rid == reg.referral_id_for("mastodon", "2") and out["referral_note"] == f"registered as {rid}"
    ref = reg.get_referral(store, rid)
    r = ref.record
    ctx = load_alert_context(store, aid)
    assert (r["platform"], r["post_id"], r["account"], r["url"]) == ("mastodon", "2", "acct@x.social",
                                                                     "https://x.social/@acct/2")
    assert r["content_sha256"] == ctx.row["raw_sha256"] and r["alert_id"] == aid
    assert r["category"] == "violence_threat" and r["force"] == "met" and r["team"] == "gangs"
    assert r["referred_by"] == OFFICER and r["referred_at"] == "2026-11-25T12:07:00Z"
    assert r["channel"] == "api" and "reports" in r["channel_address"]          # mastodon: the reports API
    assert r["policy"]["law"].startswith("Online Safety Act 2023 s.181")
    assert r["bundle"]["manifest"] == existing_bundle(store, aid).manifest_key  # type: ignore[union-attr]
    notice = r["notice"]
    for needed in ("https://x.social/@acct/2", r["content_sha256"], r["policy"]["policy"], r["policy"]["law"],
                   "Explicit threat to stab", "socialmedia-hub@met.example.police.uk", rid, "good faith"):
        assert needed in notice, needed
    assert OFFICER["name"] not in notice                      # the unit notifies, not the officer by name
    assert ref.status == "open" and ref.outcome == "pending" and ref.is_open
    assert [x.referral_id for x in reg.list_open_referrals(store)] == [rid]
    ev = actions(store, "referral")[-1]
    assert ev["details"]["referral_id"] == rid and ev["details"]["channel"] == "api"


def test_a_retried_task_neither_duplicates_nor_loses_the_referral(store, alerted_outbox, outbox, routing):
    aid = alerted_outbox["2"]
    refer(store, outbox, routing, aid)
    keys = sorted(store.list(reg.PREFIX))
    n_events = len(list(AuditLog(store).events()))
    out = refer(store, outbox, routing, aid)                                     # the task retried after success
    assert sorted(store.list(reg.PREFIX)) == keys and len(list(AuditLog(store).events())) == n_events
    assert out["referral_id"] == reg.referral_id_for("mastodon", "2")
    # a crash after the package and its audit event, before the register step was remembered
    state = get_state(store, aid)
    del state["register"]
    put_state(store, state)
    out = refer(store, outbox, routing, aid)
    assert "a retry" in out["referral_note"] and sorted(store.list(reg.PREFIX)) == keys
    # a referral made before the register existed: the retry registers it, audited once
    store.erase(reg.record_key(out["referral_id"]))
    assert reg.load_referral(store, out["referral_id"]) is None
    state = get_state(store, aid)
    del state["register"]
    put_state(store, state)
    out = refer(store, outbox, routing, aid)
    assert reg.load_referral(store, out["referral_id"]) is not None
    assert [e["details"]["change"] for e in actions(store)] == ["registered"]
    assert verify_chain(store, keys=None).ok


def test_the_same_post_referred_again_returns_the_existing_referral_and_says_so(store, alerted_outbox):
    aid = alerted_outbox["2"]
    ctx = load_alert_context(store, aid)
    from socialhub.review.bundle import build_referral

    first_decision = decide(aid, REFER)
    bundle = build_referral(store, ctx, first_decision, now=NOW)
    first = reg.register_referral(store, ctx, first_decision, bundle=bundle, now=NOW)
    assert first.created
    again = reg.register_referral(store, ctx, first_decision, bundle=bundle, now=NOW + timedelta(minutes=5))
    assert not again.created and "a retry" in again.note
    other = decide(aid, REFER, who=OFFICER2)
    other = type(other)(**{**other.to_dict(), "responded_at": "2026-11-26T09:00:00Z"})
    second = reg.register_referral(store, ctx, other, bundle=bundle, now=NOW + timedelta(days=1))
    assert not second.created and second.referral.referral_id == first.referral.referral_id
    assert "already referred" in second.note and "PC Officer One" in second.note
    assert second.referral.record == first.referral.record                     # the first stands unchanged
    assert len(reg.referral_ids(store)) == 1


def test_only_a_refer_decision_makes_a_referral(store, alerted_outbox, outbox, routing):
    act_on_decision(store, decide(alerted_outbox["3"], MONITOR), sink=outbox, routing=routing, now=NOW)
    assert reg.all_referrals(store) == []


# --- status transitions -----------------------------------------------------------------------------

ALL_PAIRS = [(a, b) for a in reg.STATUSES for b in reg.STATUSES]


@pytest.fixture
def one_referral(store, alerted_outbox, outbox, routing):
    return refer(store, outbox, routing, alerted_outbox["2"])["referral_id"]


@pytest.fixture
def bare_referral(store):
    """A register record written directly (the transition table needs no pipeline behind it)."""
    rid = reg.referral_id_for("x", "1")
    store.put(reg.record_key(rid), json.dumps({"referral_id": rid, "referred_at": "2026-11-25T12:07:00Z",
                                               "force": "met", "platform": "x"}).encode())
    return rid


def _force_status(store, rid, status):
    """Put a referral into ``status`` by writing its history directly (a path to it, then the status)."""
    path = {"open": [], "closed": ["closed"]}.get(status, [status])
    for seq, st in enumerate(path, 1):
        store.put(reg.event_key(rid, seq), json.dumps({"seq": seq, "kind": "reply", "status": st,
                                                       "previous": "open", "at": "2026-11-26T10:00:00Z"}).encode())


@pytest.mark.parametrize(("current", "new"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_transition_is_allowed_or_refused_as_the_table_says(store, bare_referral, current, new):
    one_referral = bare_referral
    _force_status(store, one_referral, current)
    assert reg.get_referral(store, one_referral).status == current
    allowed = current != "closed" and (new == current or new in reg.TRANSITIONS[current])
    at = NOW + timedelta(days=2)

    def change():
        if new == "closed":
            return reg.close_referral(store, one_referral, closed_at=at, by=ME, why="case closed")
        return reg.record_reply(store, one_referral, status=new, by=ME, why="platform replied", at=at)

    if allowed:
        assert change().status == new
    else:
        with pytest.raises(reg.IllegalTransition) as err:
            change()
        assert current in str(err.value)
        assert reg.get_referral(store, one_referral).status == current          # nothing written


def test_the_transition_table_is_what_the_docs_promise():
    assert set(reg.TRANSITIONS) == set(reg.STATUSES) and reg.TRANSITIONS["closed"] == frozenset()
    assert "acknowledged" not in reg.TRANSITIONS["removed"] and "open" not in set().union(*reg.TRANSITIONS.values())
    with pytest.raises(reg.ReferralError, match="unknown referral status"):
        reg.check_transition("open", "deleted")


# --- the re-check API ------------------------------------------------------------------------------

def test_checks_close_and_time_to_removal(store, one_referral):
    rid = one_referral
    t1 = NOW + timedelta(hours=6)
    ref = reg.record_check(store, rid, status="still_online", checked_at=t1, http_status=200, key="run1/check/0")
    assert ref.status == "still_online" and ref.last_check["http_status"] == 200
    again = reg.record_check(store, rid, status="still_online", checked_at=t1, http_status=200, key="run1/check/0")
    assert len(again.events) == 1                                                  # a retried task: once
    reg.record_check(store, rid, status=None, checked_at=t1 + timedelta(hours=1), http_status=503,
                     detail="server error", key="run2/check/0")
    assert reg.get_referral(store, rid).status == "still_online"                  # inconclusive: unchanged
    with pytest.raises(reg.ReferralError, match="a check can record"):
        reg.record_check(store, rid, status="rejected", checked_at=t1)
    removed_at = NOW + timedelta(hours=30)                                        # the officer decided 12:07
    reg.record_check(store, rid, status="removed", checked_at=removed_at, http_status=404, key="run3/check/0")
    ref = reg.close_referral(store, rid, closed_at=removed_at + timedelta(hours=1), by=reg.SYSTEM_CHECK,
                             why="removed by the platform", key="run3/close/0")
    assert ref.status == "closed" and ref.outcome == "removed" and not ref.is_open
    assert ref.time_to_removal == (removed_at - (NOW + timedelta(minutes=7))).total_seconds() == 107_580
    assert ref.events[-1]["time_to_removal_seconds"] == 107_580
    assert reg.list_open_referrals(store) == []
    with pytest.raises(reg.IllegalTransition, match="closed"):
        reg.record_check(store, rid, status="still_online", checked_at=removed_at + timedelta(days=1))
    changes = [(e["details"]["change"], e["details"]["from"], e["details"]["to"]) for e in actions(store)]
    assert changes == [("check", "open", "still_online"), ("check", "still_online", "removed"),
                       ("close", "removed", "closed")]                           # unchanged checks: not audited


def test_close_with_removed_at_and_reinstatement(store, one_referral):
    rid = one_referral
    reg.record_reply(store, rid, status="removed", by=ME, why="platform email", at=NOW + timedelta(days=1),
                     ticket="T-1", platform_decision="removed for violent speech")
    reg.record_reply(store, rid, status="still_online", by=ME, why="reinstated after appeal",
                     at=NOW + timedelta(days=3))
    ref = reg.get_referral(store, rid)
    assert ref.removed_at is None and ref.outcome == "still_online" and ref.still_online
    with pytest.raises(reg.ReferralError, match="before the referral"):
        reg.close_referral(store, rid, closed_at=NOW + timedelta(days=9), by=ME, why="x",
                           removed_at=NOW - timedelta(days=1))
    ref = reg.close_referral(store, rid, closed_at=NOW + timedelta(days=9), by=ME, why="taken down at last",
                             removed_at=NOW + timedelta(days=8, minutes=7))
    assert ref.outcome == "removed" and ref.time_to_removal == 8 * 86400


def test_a_rejected_post_found_online_stays_rejected(store, one_referral):
    reg.record_reply(store, one_referral, status="rejected", by=ME, why="platform: no violation",
                     at=NOW + timedelta(days=1), platform_decision="does not violate our rules")
    ref = reg.record_check(store, one_referral, status="still_online", checked_at=NOW + timedelta(days=2))
    assert ref.status == "rejected" and ref.still_online and ref.events[-1]["observed"] == "still_online"


def test_a_removed_post_found_gone_stays_removed(store, one_referral):
    reg.record_check(store, one_referral, status="removed", checked_at=NOW + timedelta(days=1), http_status=410)
    ref = reg.record_check(store, one_referral, status="unavailable", checked_at=NOW + timedelta(days=2),
                           http_status=404)
    assert ref.status == "removed" and ref.removed_at == "2026-11-26T12:00:00Z"


def test_escalated_once(store, one_referral):
    ref, first = reg.mark_escalated(store, one_referral, at=NOW + timedelta(days=7), by=reg.SYSTEM_CHECK,
                                    why="still online 7 days after the notice", to_whom="platform escalation")
    assert first and ref.escalated
    ref, again = reg.mark_escalated(store, one_referral, at=NOW + timedelta(days=8), by=reg.SYSTEM_CHECK,
                                    why="again")
    assert not again and ref.escalation["at"] == "2026-12-02T12:00:00Z"
    assert [e["details"]["change"] for e in actions(store)] == ["escalation"]
    assert any(h["kind"] == "escalation" for h in reg.get_referral(store, one_referral).history())


def test_concurrent_writers_lose_nothing(store, one_referral):
    """Two writers that read the same history: the second's number is taken, it re-reads and goes next."""
    real_get = reg.get_referral
    calls = {"n": 0}

    def stale_first_read(s, rid):
        ref = real_get(s, rid)
        calls["n"] += 1
        if calls["n"] == 1:   # meanwhile, another writer records a check at the same number
            s.put(reg.event_key(rid, 1), json.dumps({"seq": 1, "kind": "check", "status": "still_online",
                                                     "previous": "open", "at": "2026-11-25T18:00:00Z"}).encode())
        return ref

    reg_get, reg.get_referral = reg.get_referral, stale_first_read
    try:
        reg.record_reply(store, one_referral, status="acknowledged", by=ME, why="ack", at=NOW + timedelta(days=1))
    finally:
        reg.get_referral = reg_get
    ref = reg.get_referral(store, one_referral)
    assert [(e["seq"], e["status"]) for e in ref.events] == [(1, "still_online"), (2, "acknowledged")]


# --- the policies file ------------------------------------------------------------------------------

def test_policies_cite_per_platform_and_category_with_fallbacks():
    p = load_policies()
    x = p.cite("x", "drug_supply")
    assert x.channel == "trusted_flagger_portal" and "Illegal or certain regulated goods" in x.policy
    assert x.law.startswith("Misuse of Drugs Act 1971")                          # the default's law
    rss = p.cite("rss", "weapon")
    assert rss.channel == "email" and "offensive weapons" in rss.law
    assert p.notifier("met").email.endswith("met.example.police.uk") and p.notifier("kent").name


def test_a_bad_policies_file_is_refused_with_every_problem_named(tmp_path, monkeypatch):
    bad = """
version: 1
notifier: {default: {name: Hub, email: not-an-email}}
default: {channel: fax, address: somewhere}
platforms:
  myspace: {channel: email}
  x: {categories: {knitting: {policy: nope nope}}, colour: blue}
"""
    with pytest.raises(ConfigError) as err:
        parse_policies(bad, "bad.yaml")
    msg = str(err.value)
    for expected in ("notifier.default.email", "default.channel", "platforms.x.colour"):
        assert expected in msg, msg
    ok_shape = bad.replace("not-an-email", "a@b.uk").replace("fax", "email").replace(", colour: blue", "")
    with pytest.raises(ConfigError) as err:
        parse_policies(ok_shape, "bad.yaml")
    msg = str(err.value)
    assert "platforms.myspace: unknown platform" in msg and "platforms.x.categories.knitting: unknown category" in msg
    assert "default.categories.weapon: no law or platform rule given" in msg
    monkeypatch.setenv("SOCIALHUB_REFERRAL_POLICIES", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="cannot be read"):
        load_policies()
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_policies("a: [", "x.yaml")
