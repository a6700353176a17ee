"""Alerting: turn a flagged post into a Slack message for the on-duty team, safely.

Nothing here decides anything about a person: an alert tells officers that a public post
matched the classifier and why; the officers decide. Importable without Airflow.

    model.py    Alert record, stable alert_id, severity
    blocks.py   Block Kit rendering that hostile post text cannot subvert
    sinks.py    SlackSink (chat.postMessage with retries) and OutboxSink (local files)
    fallback.py FallbackSink (Slack, then a webhook or email when Slack fails), WebhookSink, EmailSink
    routing.py  force/team -> channel, from routing.yaml
    ledger.py   (lead) what was delivered, to avoid re-sending
"""

from socialhub.alerts.blocks import escape_mrkdwn, escape_plain, neutralise, render_alert, render_digest_parts
from socialhub.alerts.fallback import EmailSink, FallbackEvent, FallbackSink, WebhookSink
from socialhub.alerts.model import Alert, alert_id_for, severity_of
from socialhub.alerts.routing import RouteDecision, Routing
from socialhub.alerts.sinks import (
    AlertSink,
    Delivery,
    OutboxSink,
    SlackDeliveryError,
    SlackSink,
    send_digest,
    send_digest_part,
)

__all__ = [
    "Alert", "AlertSink", "Delivery", "EmailSink", "FallbackEvent", "FallbackSink", "OutboxSink", "RouteDecision",
    "Routing", "SlackDeliveryError", "SlackSink", "WebhookSink", "alert_id_for", "escape_mrkdwn", "escape_plain",
    "neutralise", "render_alert", "render_digest_parts", "send_digest", "send_digest_part",
    "severity_of",
]
