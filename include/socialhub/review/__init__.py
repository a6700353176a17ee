"""Officer review of alerts: the question, the decision, the referral package, escalation.

Importable without Airflow; the Airflow side is ``socialhub_airflow.review`` and
``dags/socialhub_review.py``. See docs/review.md.

    model.py     options, the review request (alert id only) and page (subject/body, escaped), Decision, response times
    store.py     claims, decisions and state in the object store; an alert's evidence read back
    bundle.py    the referral package (write-once, hash-verified) under referrals/<alert_id>/
    report.py    the package's human-readable HTML report (escaped, loads nothing)
    messages.py  Slack/outbox payloads: review link and outcome in the alert's thread, escalations
    actions.py   act on a decision once: audit events, referral, escalation, thread notes
    demo.py      the review loop on a real local Airflow (api-server, scheduler, dag-processor)
"""

from socialhub.review.model import (
    CODES,
    DEFAULT_OPTION,
    ESCALATE,
    MONITOR,
    NO_ACTION,
    OPTIONS,
    REFER,
    Decision,
    build_request,
    check_justification,
    response_seconds,
)

__all__ = ["CODES", "DEFAULT_OPTION", "ESCALATE", "MONITOR", "NO_ACTION", "OPTIONS", "REFER", "Decision",
           "build_request", "check_justification", "response_seconds"]
