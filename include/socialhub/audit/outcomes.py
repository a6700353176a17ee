"""Decisions, escalations and referrals: what each word means, defined once, for every screen.

The demo's summary, the auditor's report (HTML and CSV) and the Airflow auditors' page all
count review outcomes with :func:`review_outcomes`, from the same audit events, so they
cannot disagree:

* a **decision** is an option an *officer* chose when reviewing an alert: a
  ``review_response`` event whose actor is a person and which did not time out. A review
  nobody answered in time is not a decision: Airflow applied the default option;
* an **escalation** is an alert posted to the escalation channel (supervisors): a ``referral``
  event with ``details.kind == "escalation"``. It is either *chosen by an officer* (the
  officer's decision was "Escalate") or *automatic on review timeout* (nobody answered);
* a **referral to a platform** is a referral package made for a platform's trusted-flagger
  team: a ``referral`` event with ``details.kind == "platform"`` (or, in logs from before the
  kinds existed, no kind at all). It follows an officer's "Refer to platform" decision.

So an officer who refers a post makes one decision and one referral; a review that times out
makes no decision and one escalation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The label a timeout escalation carries wherever it is shown.
AUTOMATIC = "automatically on review timeout"
BY_OFFICER = "by an officer"


def is_timeout(event: Mapping[str, Any]) -> bool:
    """A ``review_response`` or ``referral`` event made because nobody answered the review in time."""
    details = event.get("details") or {}
    actor = event.get("actor") or {}
    return bool(details.get("timed_out")) or (actor.get("kind") == "system" and actor.get("name") == "review timeout")


def is_decision(event: Mapping[str, Any]) -> bool:
    """An officer's answer to a review (see the module docstring)."""
    return (event.get("action") == "review_response" and (event.get("actor") or {}).get("kind") == "person"
            and not is_timeout(event))


def referral_kind(event: Mapping[str, Any]) -> str:
    """``escalation`` or ``platform`` for a ``referral`` event (no kind recorded: ``platform``)."""
    return "escalation" if (event.get("details") or {}).get("kind") == "escalation" else "platform"


def decision_option(event: Mapping[str, Any]) -> str:
    return str((event.get("details") or {}).get("outcome") or "not stated")


@dataclass
class ReviewOutcomes:
    """The events of each kind, in log order; every count is the length of one of these lists."""

    decisions: list[dict[str, Any]] = field(default_factory=list)     # officers' answers
    timeouts: list[dict[str, Any]] = field(default_factory=list)      # reviews nobody answered in time
    escalations: list[dict[str, Any]] = field(default_factory=list)   # posted to the escalation channel
    referrals: list[dict[str, Any]] = field(default_factory=list)     # referral packages for a platform

    def decisions_by_option(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ev in self.decisions:
            out[decision_option(ev)] = out.get(decision_option(ev), 0) + 1
        return dict(sorted(out.items()))

    @property
    def automatic_escalations(self) -> int:
        return sum(1 for ev in self.escalations if is_timeout(ev))

    @property
    def officer_escalations(self) -> int:
        return len(self.escalations) - self.automatic_escalations

    def counts(self) -> dict[str, int]:
        """The figures every screen shows, by name."""
        return {"decisions": len(self.decisions), "escalations": len(self.escalations),
                "escalations_automatic": self.automatic_escalations,
                "escalations_by_officer": self.officer_escalations, "referrals": len(self.referrals),
                "timeouts": len(self.timeouts)}

    def decisions_hint(self) -> str:
        by = self.decisions_by_option()
        return ", ".join(f"{o} {n}" for o, n in by.items()) if by else "none"

    def escalations_hint(self) -> str:
        return f"{self.automatic_escalations} {AUTOMATIC}, {self.officer_escalations} {BY_OFFICER}"

    def lines(self) -> list[str]:
        """The three figures as text lines (the demo's summary)."""
        return [f"reviews decided:        {len(self.decisions) + len(self.timeouts)} ({len(self.decisions)} answered by "
                f"an officer, {len(self.timeouts)} not answered in time)",
                f"officer decisions:      {len(self.decisions)} ({self.decisions_hint()})",
                f"escalations:            {len(self.escalations)} ({self.escalations_hint()})",
                f"referrals to a platform: {len(self.referrals)}"]


def review_outcomes(events: Iterable[Mapping[str, Any]], *, force: str | None = None) -> ReviewOutcomes:
    """Sort audit events into decisions, timeouts, escalations and platform referrals.

    ``events`` are audit-log events already chosen by period; ``force`` keeps only that force's.
    """
    out = ReviewOutcomes()
    for ev in events:
        if force is not None and ev.get("force") != force:
            continue
        action = ev.get("action")
        if action == "review_response":
            if is_decision(ev):
                out.decisions.append(dict(ev))
            elif is_timeout(ev):
                out.timeouts.append(dict(ev))
        elif action == "referral":
            (out.escalations if referral_kind(ev) == "escalation" else out.referrals).append(dict(ev))
    return out


__all__ = ["AUTOMATIC", "BY_OFFICER", "ReviewOutcomes", "decision_option", "is_decision", "is_timeout",
           "referral_kind", "review_outcomes"]
