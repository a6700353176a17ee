"""The review run's own summary counts decisions as the audit does: officers' answers only.

A review nobody answered in time is escalated automatically; it is a timeout and an escalation,
not a decision (``socialhub.audit.outcomes``). The figures here are compared with
``review_outcomes`` over the audit events the same actions wrote.
"""

from __future__ import annotations

from socialhub.audit.chain import AuditLog
from socialhub.audit.outcomes import review_outcomes
from socialhub.review.actions import act_on_decision
from socialhub.review.model import ESCALATE, NO_ACTION, REFER, Decision
from socialhub.review.store import claim
from socialhub_airflow.review import review_counts
from tests.review._pipeline import NOW

TASK = {"dag_id": "socialhub_review", "run_id": "manual__1", "task_id": "review", "map_index": 0}
OFFICER = {"id": "officer1", "name": "PC Officer One"}


def _decide(alert_id: str, option: str, *, timed_out: bool = False) -> Decision:
    return Decision(alert_id=alert_id, option=option, justification="Explicit threat to a named rival; review.",
                    responded_at="2026-11-25T12:07:00Z", timed_out=timed_out, response_seconds=1800,
                    responded_by=None if timed_out else OFFICER, review_task=TASK)


def test_timeouts_are_not_decisions_and_the_figures_match_the_audit(store, alerted_outbox, outbox, routing):
    refer, officer_escalates, nobody = (alerted_outbox[k] for k in ("2", "3", "5"))
    results = []
    for i, (aid, option, timed_out) in enumerate(((refer, REFER, False), (officer_escalates, ESCALATE, False),
                                                  (nobody, ESCALATE, True))):
        assert claim(store, aid, dict(TASK, map_index=i))[0]
        results.append(act_on_decision(store, _decide(aid, option, timed_out=timed_out), sink=outbox,
                                       routing=routing, now=NOW))
    results.append({"alert_id": "x", "skipped": True, "claimed_by": {}})     # claimed by another run
    results.append(None)                                                      # a failed mapped task

    counts = review_counts(results)
    assert counts["by_decision"] == {ESCALATE: 1, REFER: 1}          # the timeout's Escalate is not an answer
    assert counts["decisions"] == 2 and counts["timed_out"] == 1
    assert counts["escalations"] == 2 and counts["escalations_automatic"] == 1 and counts["escalations_by_officer"] == 1
    assert len(counts["referrals"]) == 1 and counts["reviews"] == 4 and counts["skipped"] == 1

    audit = review_outcomes(AuditLog(store).events())
    assert counts["by_decision"] == audit.decisions_by_option()
    assert (counts["decisions"], counts["timed_out"], counts["escalations"], len(counts["referrals"])) == \
        (len(audit.decisions), len(audit.timeouts), len(audit.escalations), len(audit.referrals))
    assert (counts["escalations_automatic"], counts["escalations_by_officer"]) == \
        (audit.automatic_escalations, audit.officer_escalations)

    # an officer who chooses "No action" is a decision too; only timeouts are left out
    assert review_counts([{"option": NO_ACTION, "timed_out": False}, {"option": ESCALATE, "timed_out": True,
                                                                       "escalated": {}}])["by_decision"] == {NO_ACTION: 1}
