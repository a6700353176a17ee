"""A realistic alert to start each test from."""

from __future__ import annotations

from typing import Any

from socialhub.alerts.model import Alert

#: The fake Slack server's token. Distinctive so a leak into a message is easy to spot.
TOKEN = "xoxb-111-222-socialhubTESTtoken"


def make_alert(**overrides: Any) -> Alert:
    """A realistic alert; keyword arguments replace post fields, classification or routing."""
    post = {
        "platform": "x",
        "account": "example_account",
        "post_id": "1790000000000000001",
        "url": "https://x.com/example_account/status/1790000000000000001",
        "author": "Example Author",
        "text": "meet at the park at 9, bring the blade",
        "created_at": "2024-05-01T12:00:00Z",
        "collected_at": "2024-05-01T12:05:00Z",
        "media": [],
    }
    classification = {
        "scores": {"weapon": 0.72, "violence_threat": 0.31},
        "labels": ["weapon"],
        "reasons": [{"category": "weapon", "rule": "kw.weapon.v3", "term": "blade", "start": 33, "end": 38,
                     "text": "the blade", "weight": 0.7, "effect": "+"}],
        "classifier_version": "rules-2024.05.1",
    }
    if "thresholds" in overrides:      # the label thresholds the classifier applied (absent: older alerts)
        classification["thresholds"] = overrides.pop("thresholds")
    routing = {"force": "example-constabulary", "team": "gangs", "authorisation_ref": "AUTH-2024-0042",
               "account_display_name": "Example Display", "review_url": None, "subject": "suspect"}
    for key, value in overrides.items():
        if key in post:
            post[key] = value
        elif key in classification:
            classification[key] = value
        elif key in routing:
            routing[key] = value
        else:
            raise TypeError(f"unknown override {key}")
    return Alert.from_post(post, classification, **routing)


def texts_in(node) -> list[str]:
    """Every string anywhere in a JSON-like payload (Block Kit blocks, webhook bodies)."""
    if isinstance(node, dict):
        return [t for v in node.values() for t in texts_in(v)]
    if isinstance(node, list):
        return [t for v in node for t in texts_in(v)]
    return [node] if isinstance(node, str) else []
