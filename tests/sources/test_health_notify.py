"""A source-health change reaches the owning team's channel once, even when the task is retried."""

from __future__ import annotations

from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink
from socialhub.sources.health_notify import notify_health_changes
from socialhub.watchlist import parse_watchlist

WL = parse_watchlist("""
accounts:
  - platform: bluesky
    account: rico.example
    display_name: Rico
    force: county
    team: lines
    owner: DC B. Example
    authorisation_ref: AUTH-7
    purpose: Public adverts for drug supply.
    review_by: 2099-12-31
""")
ROUTING = Routing.from_dict({"version": 1, "default": {"on_duty": "#on-duty", "escalation": "#esc"},
                             "platform_team": "#platform",
                             "forces": {"county": {"teams": {"lines": {"on_duty": "#county-lines",
                                                                        "escalation": "#county-esc"}}}}})
CHANGE = {"platform": "bluesky", "account": "rico.example", "change": "state", "before": "ok", "after": "renamed",
          "at": "2026-11-25T12:00:00Z", "message": "bluesky rico.example was renamed to rico2.example."}


def test_one_message_per_change_in_the_teams_channel_and_none_on_a_retry(tmp_path):
    sink = OutboxSink(tmp_path / "outbox")
    entries = {e.key: e for e in WL.accounts}
    assert len(notify_health_changes([CHANGE], entries, sink=sink, routing=ROUTING)) == 1
    assert notify_health_changes([CHANGE], entries, sink=sink, routing=ROUTING) == []       # retried task
    (sent,) = list((tmp_path / "outbox").glob("notice-*.json"))
    text = sent.read_text()
    assert '"channel": "#county-lines"' in text and "renamed to rico2.example" in text and "DC B. Example" in text
    later = {**CHANGE, "before": "renamed", "after": "ok", "at": "2026-11-26T12:00:00Z"}
    assert len(notify_health_changes([later], entries, sink=sink, routing=ROUTING)) == 1   # a new change: told
