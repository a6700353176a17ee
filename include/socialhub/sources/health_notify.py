"""Tell a watched account's team, once per change, that its source health changed.

``collect_account`` records each account's health (``socialhub.sources.health``) and returns the
changes of state (renamed, moved, suspended, deleted, private, not found, silent, back to ok, and
"review the authorisation" when it has been gone or silent for long). Each change is one message
in the owning team's on-duty channel (the routing file's route for the entry's force and team),
naming the owner. The message key is derived from the change, so a retried task finds the message
it already sent (outbox file, Slack history) instead of sending it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def notice_key(change: Mapping[str, Any]) -> str:
    from socialhub.review.messages import message_key

    return message_key("source_health", "|".join(str(change.get(k)) for k in
                                                 ("platform", "account", "change", "after", "at")))


def notice_text(change: Mapping[str, Any], entry: Any) -> str:
    owner = f" Owner: {entry.owner} ({entry.force} / {entry.team}); authorisation {entry.authorisation_ref}." \
        if entry is not None else ""
    return f"Source health: {change.get('message')}{owner}"


def notify_health_changes(changes: Iterable[Mapping[str, Any]], entries: Mapping[str, Any], *, sink: Any,
                          routing: Any) -> list[str]:
    """Send one message per change (skipping any already sent); the keys sent now."""
    from socialhub.review.messages import _section

    sent = []
    for ch in changes:
        key_ = f"{ch.get('platform')}:{ch.get('account')}"
        entry = entries.get(key_)
        route = routing.route_for(entry.force, entry.team)[0] if entry is not None else routing.route_for("", "")[0]
        key = notice_key(ch)
        finder = getattr(sink, "find_payload", None)
        if finder is not None and finder(key, route.on_duty) is not None:
            continue
        text = notice_text(ch, entry)
        sink.send_payload({"text": f"socialhub: source health of {key_}: {ch.get('after')}",
                           "blocks": [_section("source_health", text)]}, route.on_duty, key=key)
        sent.append(key)
    return sent
