"""Who looked at stored data, at what, and why: one rule for every consultation and disclosure.

DPA 2018 Part 3 s.62 asks for logs of consultation and disclosure that say who did it, when,
and why. Every path by which a person reads or takes away stored data (``socialhub explain``,
``socialhub audit report``, ``socialhub shadow report``, ``socialhub reclassify``,
``socialhub bundle fetch``, the Auditors page's report, explain view and CSV downloads, and the
full view of a captured image, ``media_reveal``)
records an audit event through the helpers here, so the three answers are found the same way:

* **who**: on the command line ``--by NAME``, else ``$SOCIALHUB_ACTOR``, else the login name;
  the event's ``details.who_from`` says which (a bare login name on a shared account is weak);
  on the Auditors page, the signed-in Airflow user.
* **what**: the event's ``object`` (``explain:TARGET``, ``audit-report:FROM..TO``,
  ``referral-bundle:ALERT_ID``, ...) and its details.
* **why**: ``--why TEXT``, else ``$SOCIALHUB_WHY``; on the page, the ``why`` field. When none is
  given the event's ``justification`` is empty and ``details.why_given`` is false: the
  consultation is still allowed and recorded, and the auditor's report flags it ("NOT GIVEN",
  and a count on the summary). With ``SOCIALHUB_REQUIRE_WHY=true`` (``[socialhub] require_why``
  on the Airflow side) a consultation without a reason is refused instead: nothing is shown.

Events written before this rule gave a description of the view as its "justification"
(``"auditors' page viewed"``, ``"auditor's report"``, ...). Those are not reasons, so the report
counts them as not given too (:data:`PLACEHOLDER_REASONS`).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: what the report shows in place of a reason nobody gave
NOT_GIVEN = "NOT GIVEN"
#: the most of a reason kept (a reason is a sentence or a reference, not a document)
MAX_WHY = 500
#: actions that are a person consulting or disclosing stored data
CONSULTATION_ACTIONS = frozenset({"access", "report", "export", "reclassify", "media_reveal"})
#: "justifications" older code recorded when the person gave none: descriptions, not reasons
PLACEHOLDER_REASONS = frozenset({
    "auditors' page viewed", "auditor's report", "explain: why was this post alerted, or not",
    "re-classification of past days (a comparison; nothing alerted or changed)",
    "shadow classifier report (reads the live and shadow results and the officers' decisions)",
})
_TRUE = frozenset({"1", "true", "yes", "on"})


class ReasonRequired(Exception):
    """A consultation without a reason while ``SOCIALHUB_REQUIRE_WHY`` is on."""


def require_why() -> bool:
    """``SOCIALHUB_REQUIRE_WHY`` (true/yes/1/on): refuse consultations that give no reason."""
    return (os.environ.get("SOCIALHUB_REQUIRE_WHY") or "").strip().lower() in _TRUE


def clean_why(text: str | None) -> str | None:
    """A reason as recorded: stripped, at most :data:`MAX_WHY` characters; ``None`` when empty."""
    text = " ".join((text or "").split())[:MAX_WHY]
    return text or None


@dataclass(frozen=True)
class Consultation:
    """Who is looking and why, as one command-line call found them."""

    name: str
    who_from: str            # "--by", "$SOCIALHUB_ACTOR" or "login name" (or "Airflow sign-in")
    why: str | None
    why_from: str            # "--why", "$SOCIALHUB_WHY", "the page's reason field" or "not given"
    via: str

    @property
    def actor(self) -> dict[str, Any]:
        return {"kind": "person", "name": self.name, "via": self.via}

    @property
    def details(self) -> dict[str, Any]:
        """What goes into the event's details beside the view's own fields."""
        return {"who_from": self.who_from, "why_given": self.why is not None, "why_from": self.why_from}

    def warning(self) -> str | None:
        """The line a person is shown when they gave no reason (``None`` when they did)."""
        if self.why is not None:
            return None
        return ("socialhub: note: no reason given (--why TEXT or $SOCIALHUB_WHY): this consultation is recorded in "
                "the audit log as made without a reason, and the auditor's report flags it")


def from_cli(by: str | None, why: str | None, via: str) -> Consultation:
    """Who and why for a command: ``--by`` / ``$SOCIALHUB_ACTOR`` / login name, ``--why`` / ``$SOCIALHUB_WHY``.

    Raises :class:`ReasonRequired` when no reason is given and ``SOCIALHUB_REQUIRE_WHY`` is on."""
    if by:
        name, who_from = by, "--by"
    elif os.environ.get("SOCIALHUB_ACTOR"):
        name, who_from = os.environ["SOCIALHUB_ACTOR"], "$SOCIALHUB_ACTOR"
    else:
        name, who_from = getpass.getuser(), "login name"
    reason, why_from = clean_why(why), "--why"
    if reason is None:
        reason, why_from = clean_why(os.environ.get("SOCIALHUB_WHY")), "$SOCIALHUB_WHY"
    if reason is None:
        why_from = "not given"
        if require_why():
            raise ReasonRequired("a reason is required (SOCIALHUB_REQUIRE_WHY is on): give --why TEXT (a case or "
                                 "request reference and its purpose) or set $SOCIALHUB_WHY; nothing was shown")
    return Consultation(name, who_from, reason, why_from, via)


def warn_if_no_reason(c: Consultation) -> None:
    msg = c.warning()
    if msg:
        print(msg, file=sys.stderr)


def is_consultation(event: Mapping[str, Any]) -> bool:
    """A person consulting or disclosing data (a refused attempt is not: nothing was shown)."""
    d = event.get("details") or {}
    return event.get("action") in CONSULTATION_ACTIONS and d.get("granted") is not False


def reason_of(event: Mapping[str, Any]) -> str | None:
    """The reason a consultation event records, or ``None`` when none was given (or only a placeholder)."""
    d = event.get("details") or {}
    if d.get("why_given") is False:
        return None
    why = (event.get("justification") or "").strip()
    return None if not why or why in PLACEHOLDER_REASONS else why


def without_reason(event: Mapping[str, Any]) -> bool:
    return is_consultation(event) and reason_of(event) is None


__all__ = ["NOT_GIVEN", "Consultation", "ReasonRequired", "from_cli", "require_why", "clean_why",
           "warn_if_no_reason", "is_consultation", "reason_of", "without_reason", "PLACEHOLDER_REASONS"]
