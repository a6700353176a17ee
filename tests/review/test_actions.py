"""Acting on decisions: claims, the referral package, escalation, Slack threads, the audit trail."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import timedelta

import pytest

from socialhub.audit.chain import AuditLog, verify_chain
from socialhub.models import from_jsonl, sha256_hex
from socialhub.review.actions import act_on_decision, post_review_request
from socialhub.review.bundle import build_referral, describe_bundle
from socialhub.review.model import ESCALATE, MONITOR, NO_ACTION, REFER, Decision
from socialhub.review.store import (
    ReviewError,
    claim,
    load_alert_context,
    record_decision,
    referral_prefix,
    unclaimed_alerts,
)
from tests.review._pipeline import NOW

TASK = {"dag_id": "socialhub_review", "run_id": "manual__1", "task_id": "review", "map_index": 0}
OFFICER = {"id": "officer1", "name": "PC Officer One"}


def decide(alert_id: str, option: str, *, timed_out: bool = False, who=OFFICER,
           why: str = "Explicit threat to stab a named rival; platform should review.") -> Decision:
    return Decision(alert_id=alert_id, option=option, justification=why, responded_at="2026-11-25T12:07:00Z",
                    timed_out=timed_out, response_seconds=1800, responded_by=None if timed_out else who,
                    review_task=TASK, review_url="http://127.0.0.1:8080/dags/socialhub_review/runs/manual__1/"
                                                 "tasks/review/required_actions?map_index=0")


def events(store):
    return list(AuditLog(store).events())


# --- which alerts need a review ---------------------------------------------------------------

def test_unclaimed_alerts_are_offered_once_oldest_first_and_bounded(store, alerted_outbox):
    ids = sorted(alerted_outbox.values())
    offered, stats = unclaimed_alerts(store, now=NOW, limit=2, max_age=timedelta(days=7))
    assert len(offered) == 2 and stats == {"ledger": 3, "claimed": 0, "too_old": 0, "offered": 2, "waiting": 1}
    first = offered[0]["alert_id"]
    assert claim(store, first, TASK)[0] is True
    assert claim(store, first, TASK)[0] is True                                   # a retry of the same task
    other_run = dict(TASK, run_id="manual__2")
    ours, owner = claim(store, first, other_run)
    assert ours is False and owner["run_id"] == "manual__1"                      # never asked twice
    offered, stats = unclaimed_alerts(store, now=NOW, limit=10, max_age=timedelta(days=7))
    assert sorted(o["alert_id"] for o in offered) == sorted(set(ids) - {first}) and stats["claimed"] == 1
    offered, stats = unclaimed_alerts(store, now=NOW + timedelta(days=8), limit=10, max_age=timedelta(days=7))
    assert offered == [] and stats["too_old"] == 2


def test_a_decision_is_final(store, alerted_outbox):
    aid = alerted_outbox["2"]
    record_decision(store, decide(aid, MONITOR).to_dict())
    record_decision(store, decide(aid, MONITOR).to_dict())                          # identical: idempotent
    with pytest.raises(ReviewError, match="already decided"):
        record_decision(store, decide(aid, REFER).to_dict())


# --- the referral package -----------------------------------------------------------------------

def test_referral_package_holds_verified_evidence_and_an_escaped_report(store, alerted_outbox):
    aid = alerted_outbox["5"]
    ctx = load_alert_context(store, aid)
    bundle = build_referral(store, ctx, decide(aid, REFER), now=NOW)
    listing = dict(describe_bundle(store, aid))
    names = sorted(k.removeprefix(referral_prefix(aid)) for k in listing)
    assert names == ["classification.json", "manifest.json", "post.json", "raw_item.json", "report.html",
                     "review.json"]
    m = bundle.manifest
    assert m["permalink"] == "https://x.social/@acct/5" and m["captured_at"] == "2026-11-25T12:00:00Z"
    assert m["raw_sha256"] == ctx.row["raw_sha256"]
    raw = store.get(referral_prefix(aid) + "raw_item.json")
    assert sha256_hex(raw) == m["raw_sha256"]                  # checkable with sha256sum
    assert json.loads(raw)["content"] == ctx.row["text"]     # the item exactly as the platform sent it
    for f in m["files"]:
        assert sha256_hex(store.get(f["key"])) == f["sha256"] and f["size"] == listing[f["key"]]
    assert m["source_evidence"]["verified"] and m["decision"]["justification"].startswith("Explicit threat")
    reasons = json.loads(store.get(referral_prefix(aid) + "classification.json"))["reasons"]
    assert reasons and reasons == ctx.alert.classification["reasons"]
    review = json.loads(store.get(referral_prefix(aid) + "review.json"))
    assert review["responded_by"] == OFFICER and review["decision"] == REFER

    html = store.get(referral_prefix(aid) + "report.html").decode()
    assert "default-src 'none'" in html                                      # loads nothing
    assert "<script" not in html and "<img" not in html and " src=" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\u202e" not in html and "invisible or control character(s) were removed" in html
    assert re.findall(r'<a href="([^"]+)"', html) == ["https://x.social/@acct/5"]
    assert "Account &lt;b&gt;bold&lt;/b&gt;" in html and "PC Officer One" in html
    assert "#on-duty" not in html                                            # no internal routing
    # building again changes nothing
    before = {k: store.get(k) for k, _ in describe_bundle(store, aid)}
    assert build_referral(store, ctx, decide(aid, REFER), now=NOW + timedelta(hours=1)).manifest == m
    assert {k: store.get(k) for k, _ in describe_bundle(store, aid)} == before


def test_no_package_from_altered_evidence(store, alerted_outbox):
    aid = alerted_outbox["2"]
    ctx = load_alert_context(store, aid)
    raw_key = ctx.manifest["raw"]["key"]
    path = store.root / raw_key
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    lines = from_jsonl(path.read_bytes())
    lines[0]["item"]["content"] = "edited"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with pytest.raises(ReviewError, match="altered"):
        build_referral(store, ctx, decide(aid, REFER), now=NOW)
    assert store.list(referral_prefix(aid)) == []


def test_referral_package_on_s3_is_write_once(s3_client, bucket, alerted_outbox, store):
    from socialhub.errors import ImmutableObjectError
    from socialhub.storage.s3 import S3Store

    s3 = S3Store(bucket, "hub", client=s3_client)
    for key in store.list(""):                         # the same evidence, in S3
        s3.put(key, store.get(key)) if not key.startswith(("state/", "audit/head")) else s3.put_state(key, store.get(key))
    aid = alerted_outbox["3"]
    bundle = build_referral(s3, load_alert_context(s3, aid), decide(aid, REFER), now=NOW)
    assert bundle.uri == f"s3://{bucket}/hub/referrals/{aid}/"
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket, Prefix=f"hub/referrals/{aid}/")["Contents"]]
    assert len(keys) == 6
    with pytest.raises(ImmutableObjectError):
        s3.put(f"referrals/{aid}/report.html", b"<p>replaced</p>")


# --- acting: Slack threads, escalation, audit ------------------------------------------------------

def test_refer_posts_the_package_location_in_the_alert_thread(store, alerted_slack, slack, slack_sink, routing):
    aid = alerted_slack["2"]
    alert_msg = next(m for m in slack.messages if aid in json.dumps(m.blocks))
    post_review_request(store, aid, sink=slack_sink, routing=routing, now=NOW, review_task=TASK,
                        response_seconds=1800, review_url=decide(aid, REFER).review_url)
    out = act_on_decision(store, decide(aid, REFER), sink=slack_sink, routing=routing, now=NOW)
    assert slack.errors == []
    replies = [m for m in slack.messages if m.params.get("thread_ts") == alert_msg.ts]
    assert len(replies) == 3 and all(m.channel == "C0ONDUTY01" for m in replies)   # Slack's id for the channel
    request, referral, note = replies
    assert request.blocks[1]["elements"][0]["url"].endswith("required_actions?map_index=0")
    assert out["referral"] in referral.text or out["referral"] in json.dumps(referral.blocks)
    assert "report.html" in json.dumps(referral.blocks) and "PC Officer One" in json.dumps(note.blocks)
    evs = events(store)
    response = [e for e in evs if e["action"] == "review_response"]
    referral_ev = [e for e in evs if e["action"] == "referral"]
    assert len(response) == 1 and response[0]["actor"]["kind"] == "person"
    assert response[0]["actor"]["id"] == "officer1" and response[0]["details"]["outcome"] == REFER
    assert response[0]["details"]["review_request_delivery"]["sink"] == "slack"
    assert response[0]["justification"].startswith("Explicit threat") and response[0]["details"]["alert_id"] == aid
    assert len(referral_ev) == 1 and referral_ev[0]["details"]["kind"] == "platform"
    assert referral_ev[0]["details"]["location"] == out["referral"] and "manifest" in referral_ev[0]["hashes"]
    assert verify_chain(store).ok
    # a retry of the task repeats nothing
    n_msgs, n_events = len(slack.messages), len(events(store))
    act_on_decision(store, decide(aid, REFER), sink=slack_sink, routing=routing, now=NOW)
    post_review_request(store, aid, sink=slack_sink, routing=routing, now=NOW, review_task=TASK,
                        response_seconds=1800, review_url=None)
    assert (len(slack.messages), len(events(store))) == (n_msgs, n_events)


def test_timeout_escalates_to_the_escalation_channel_and_records_the_system_as_actor(
        store, alerted_slack, slack, slack_sink, routing):
    aid = alerted_slack["5"]
    alert_msg = next(m for m in slack.messages if aid in json.dumps(m.blocks))
    out = act_on_decision(store, decide(aid, ESCALATE, timed_out=True, why="No response within 30 min"),
                          sink=slack_sink, routing=routing, now=NOW)
    assert slack.errors == []
    esc = [m for m in slack.messages if m.channel == "#escalation"]
    assert len(esc) == 1 and "thread_ts" not in esc[0].params and out["escalated"]["channel"] == "#escalation"
    blocks = json.dumps(esc[0].blocks)
    assert "ESCALATED automatically" in blocks and aid in blocks and "@here" not in blocks
    assert esc[0].params.get("unfurl_links") in (False, "false", "0", 0)
    note = [m for m in slack.messages if m.params.get("thread_ts") == alert_msg.ts]
    assert len(note) == 1 and "escalated automatically" in json.dumps(note[0].blocks)
    evs = events(store)
    response = next(e for e in evs if e["action"] == "review_response")
    assert response["actor"]["kind"] == "system" and "no response within 1800s" in response["actor"]["reason"]
    assert response["details"]["timed_out"] is True and response["details"]["outcome"] == ESCALATE
    esc_ev = next(e for e in evs if e["action"] == "referral")
    assert esc_ev["details"]["kind"] == "escalation" and esc_ev["details"]["delivery"]["channel"] == "#escalation"


def test_an_officer_can_escalate_and_others_only_leave_a_note(store, alerted_slack, slack, slack_sink, routing):
    act_on_decision(store, decide(alerted_slack["2"], ESCALATE), sink=slack_sink, routing=routing, now=NOW)
    act_on_decision(store, decide(alerted_slack["3"], NO_ACTION, why="Song lyrics quoted, not a threat."),
                    sink=slack_sink, routing=routing, now=NOW)
    esc = [m for m in slack.messages if m.channel == "#escalation"]
    assert len(esc) == 1 and "ESCALATED by PC Officer One" in json.dumps(esc[0].blocks)
    assert store.list("referrals/") == []
    outcomes = [e["details"]["outcome"] for e in events(store) if e["action"] == "review_response"]
    assert outcomes == [ESCALATE, NO_ACTION]


@pytest.mark.parametrize("fixture", ["alerted_slack", "alerted_outbox"])
def test_a_crash_between_posting_the_escalation_and_recording_it_posts_it_once(
        request, store, routing, fixture):
    """The review task dies after the escalation reached Slack (or the outbox) but before its state
    was written; the retry finds the message by its key instead of posting it a second time, and
    the escalation is audited once."""
    alerted = request.getfixturevalue(fixture)
    sink = request.getfixturevalue("slack_sink" if fixture == "alerted_slack" else "outbox")
    aid = alerted["5"]

    class CrashAfterSending:
        """The sink, but the process 'dies' right after the escalation went out."""

        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def send_payload(self, payload, channel, *, key, record=None):
            delivery = self.inner.send_payload(payload, channel, key=key, record=record)
            if (record or {}).get("kind") == "escalation":
                raise KeyboardInterrupt("killed after sending")
            return delivery

    decision = decide(aid, ESCALATE, timed_out=True, why="No response within 30 min")
    with pytest.raises(KeyboardInterrupt):
        act_on_decision(store, decision, sink=CrashAfterSending(sink), routing=routing, now=NOW)
    out = act_on_decision(store, decision, sink=sink, routing=routing, now=NOW)
    assert out["escalated"]["channel"] == "#escalation"
    if fixture == "alerted_slack":
        slack = request.getfixturevalue("slack")
        assert len([m for m in slack.messages if m.channel == "#escalation"]) == 1
    else:
        index = [json.loads(line) for line in (sink.directory / "outbox.jsonl").read_text().splitlines()]
        assert len([line for line in index if line["channel"] == "#escalation"]) == 1
    escalations = [e for e in events(store) if e["action"] == "referral" and e["details"]["kind"] == "escalation"]
    assert len(escalations) == 1


def test_thread_replies_survive_a_rate_limit(store, alerted_slack, slack, slack_sink, routing):
    aid = alerted_slack["3"]
    slack.rate_limit_next(1, retry_after=1)
    slack.fail_next(1, status=503, error="service_unavailable")
    delivery = post_review_request(store, aid, sink=slack_sink, routing=routing, now=NOW, review_task=TASK,
                                   response_seconds=60, review_url=None)
    assert delivery["sink"] == "slack"
    assert [c.status for c in slack.calls][-3:] == [429, 503, 200]
    reply = slack.messages[-1]
    assert reply.params.get("thread_ts") and "Required Actions" in json.dumps(reply.blocks)


def test_outbox_replies_name_their_thread(store, alerted_outbox, outbox, routing):
    aid = alerted_outbox["2"]
    post_review_request(store, aid, sink=outbox, routing=routing, now=NOW, review_task=TASK, response_seconds=60,
                        review_url="http://127.0.0.1:8080/x")
    act_on_decision(store, decide(aid, REFER), sink=outbox, routing=routing, now=NOW)
    docs = [json.loads(p.read_text()) for p in outbox.directory.glob("notice-*.json")]
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["referral", "review_outcome", "review_request"]
    assert all(d["thread_of"] == aid and d["channel"] == "#on-duty" for d in docs)
