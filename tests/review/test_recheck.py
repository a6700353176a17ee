"""The referral re-check (issue 17.2): the backoff schedule, removal closes with the time to removal,
an inconclusive check changes nothing, one escalation past the target, never a closed referral
again, and a crash anywhere in a run loses nothing and sends nothing twice. The platform's answers
come from a scripted connector here (each connector's check_post is tested on documented API
shapes in tests/sources)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from socialhub.audit.chain import AuditLog
from socialhub.errors import StorageError
from socialhub.models import parse_iso
from socialhub.recheck import SCHEDULE, escalation_text, is_due, next_check, parse_targets, recheck_referrals
from socialhub.referrals import register as reg
from socialhub.review.actions import act_on_decision
from socialhub.review.model import REFER
from socialhub.sources.status import PostStatus
from tests.review.test_actions import decide

REFERRED = parse_iso("2026-11-25T12:07:00Z")


class Platform:
    """check_post answers from a script: one status per call (the last one repeats)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls = 0

    def check_post(self, post):
        status = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return PostStatus(platform=post["platform"], post_id=post["post_id"], status=status,
                          reason=f"scripted {status}", checked_at="", http_status=200 if status == "online" else 404)


@pytest.fixture
def referral(store, alerted_outbox, outbox, routing):
    out = act_on_decision(store, decide(alerted_outbox["2"], REFER), sink=outbox, routing=routing,
                          now=REFERRED)
    return out["referral_id"]


def run(store, platform, at, outbox=None, routing=None, key="run", **kw):
    return recheck_referrals(store, lambda name: platform, at, sink=outbox, routing=routing, run_key=key, **kw)


def test_the_schedule_is_1h_4h_24h_then_daily_for_30_days(store, referral):
    ref = reg.get_referral(store, referral)
    assert next_check(ref) == REFERRED + timedelta(hours=1)
    assert not is_due(ref, REFERRED + timedelta(minutes=59)) and is_due(ref, REFERRED + timedelta(hours=1))
    assert [s.total_seconds() / 3600 for s in SCHEDULE[:4]] == [1, 4, 24, 48] and SCHEDULE[-1] == timedelta(days=30)
    platform = Platform("online")
    run(store, platform, REFERRED + timedelta(hours=1, minutes=5))
    assert next_check(reg.get_referral(store, referral)) == REFERRED + timedelta(hours=4)
    # a missed day is made up by one check, not several
    assert len(run(store, platform, REFERRED + timedelta(days=3, minutes=1), key="r2")) == 1
    assert next_check(reg.get_referral(store, referral)) == REFERRED + timedelta(days=4)
    assert run(store, platform, REFERRED + timedelta(days=3, hours=2), key="r3") == []      # not due
    run(store, platform, REFERRED + timedelta(days=30, hours=1), key="r4")
    assert next_check(reg.get_referral(store, referral)) is None                            # schedule over


def test_a_removed_post_closes_the_referral_with_its_time_to_removal(store, referral):
    platform = Platform("online", "removed")
    run(store, platform, REFERRED + timedelta(hours=1))
    (res,) = run(store, platform, REFERRED + timedelta(hours=4), key="r2")
    assert res.closed and res.status == "closed" and res.time_to_removal_seconds == 4 * 3600
    ref = reg.get_referral(store, referral)
    assert ref.outcome == "removed" and ref.removed_at == "2026-11-25T16:07:00Z" and not ref.is_open
    # never checked again
    assert run(store, platform, REFERRED + timedelta(days=2), key="r3") == [] and platform.calls == 2
    changes = [e["details"]["to"] for e in AuditLog(store).events() if e["action"] == "referral_update"]
    assert changes == ["still_online", "removed", "closed"]


def test_an_inconclusive_check_changes_nothing_and_is_tried_again(store, referral):
    platform = Platform("error", "online")
    (res,) = run(store, platform, REFERRED + timedelta(hours=1))
    assert res.observed is None and res.status == "open"
    assert is_due(reg.get_referral(store, referral), REFERRED + timedelta(hours=1, minutes=1))
    (res,) = run(store, platform, REFERRED + timedelta(hours=2), key="r2")
    assert res.status == "still_online"


def test_still_online_past_the_target_is_escalated_once_in_the_teams_channel(store, referral, outbox, routing):
    platform = Platform("online")
    targets = parse_targets("violence_threat=24h")
    (res,) = run(store, platform, REFERRED + timedelta(hours=4), outbox, routing, targets=targets)
    assert not res.escalated                                                   # 4 h: within the target
    (res,) = run(store, platform, REFERRED + timedelta(days=1, minutes=1), outbox, routing, key="r2", targets=targets)
    assert res.escalated
    sent = [p for p in outbox.directory.glob("notice-*.json")
            if "still online" in p.read_text() and "referral" in p.read_text()]
    assert len(sent) == 1
    text = escalation_text(reg.get_referral(store, referral), REFERRED + timedelta(days=1, minutes=1),
                           targets["violence_threat"])
    assert text.startswith(f"Referral {referral} is still online 24 h after it was referred to mastodon "
                           "(violence_threat; alert ")
    assert "past the team's 24 h target for violence_threat" in text and "socialhub referral update" in text
    for day in (2, 3):
        (res,) = run(store, platform, REFERRED + timedelta(days=day, minutes=1), outbox, routing, key=f"d{day}",
                     targets=targets)
        assert not res.escalated
    assert len([p for p in outbox.directory.glob("notice-*.json") if "still online" in p.read_text()]) == 1
    assert len([e for e in AuditLog(store).events() if e["action"] == "referral_update"
                and e["details"]["change"] == "escalation"]) == 1


class CrashOnce:
    """A sink that dies once after the message is written (before the task could mark it)."""

    def __init__(self, inner) -> None:
        self.inner, self.crashed = inner, False
        self.name = getattr(inner, "name", "outbox")

    def send_payload(self, payload, channel, *, key, record=None):
        delivery = self.inner.send_payload(payload, channel, key=key, record=record)
        if not self.crashed:
            self.crashed = True
            raise SystemExit("worker killed after the send")
        return delivery

    def find_payload(self, key, channel):
        return self.inner.find_payload(key, channel)


def test_a_crash_after_the_escalation_was_sent_does_not_send_it_twice(store, referral, outbox, routing):
    platform = Platform("online")
    sink = CrashOnce(outbox)
    at = REFERRED + timedelta(days=1, minutes=1)
    with pytest.raises(SystemExit):
        run(store, platform, at, sink, routing, targets=parse_targets("violence_threat=24h"))
    assert not reg.get_referral(store, referral).escalated
    (res,) = run(store, platform, at, sink, routing, targets=parse_targets("violence_threat=24h"))   # the retry
    assert res.escalated and reg.get_referral(store, referral).escalated
    assert len([p for p in outbox.directory.glob("notice-*.json") if "still online" in p.read_text()]) == 1
    # the retry recorded the check once (same run key)
    assert len([e for e in reg.get_referral(store, referral).events if e.get("kind") == "check"]) == 1


def test_a_crash_between_the_check_and_the_close_loses_nothing(store, referral, monkeypatch):
    platform = Platform("removed")
    at = REFERRED + timedelta(hours=1)
    real_close = reg.close_referral

    def crash(*args, **kwargs):
        raise StorageError("store unreachable while closing")

    monkeypatch.setattr(reg, "close_referral", crash)
    with pytest.raises(StorageError):
        run(store, platform, at)
    assert reg.get_referral(store, referral).status == "removed"          # the finding is kept
    monkeypatch.setattr(reg, "close_referral", real_close)
    (res,) = run(store, platform, at)                                     # the retry
    assert res.closed
    ref = reg.get_referral(store, referral)
    assert [e["kind"] for e in ref.events] == ["check", "close"] and ref.time_to_removal == 3600
