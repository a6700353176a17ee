"""A store with delivered alerts, made by the real pipeline functions (collect, process, alert)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from socialhub.alerting import alert_batches
from socialhub.alerts.model import alert_id_for
from socialhub.alerts.routing import Routing
from socialhub.classify import load_classifier
from socialhub.collect import collect_account
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.process import process_batch
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.watchlist import parse_watchlist

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

#: post id -> text. "2" and "3" are flagged; "5" is flagged and hostile to every renderer.
TEXTS = {
    "1": "lovely roast dinner today with the family",
    "2": "gonna stab him when we catch him lacking",
    "3": "bando open 24/7, runners wanted, link on snap",
    "5": ("gonna stab him when we catch him lacking @here <!channel> <https://evil.example|Review> "
          "{{ 7*7 }} {% raw %} <script>alert(1)</script> ![x](https://tracker.example/p.png) "
          "[click](javascript:alert(1)) ``` ~~~ \u202eevil\u202c zero\u200bwidth"),
}

ROUTING = {"version": 1, "default": {"on_duty": "#on-duty", "escalation": "#escalation"},
           "platform_team": "#platform"}


def watchlist_entry(force: str = "met", team: str = "gangs"):
    return parse_watchlist(f"""
accounts:
  - platform: mastodon
    account: acct@x.social
    display_name: "Account <b>bold</b>"
    force: {force}
    team: {team}
    owner: DS Example
    authorisation_ref: AUTH-9
    purpose: Public threats between two named groups.
    review_by: 2099-01-01
""").accounts[0]


class ListConnector(Connector):
    platform = "mastodon"

    def __init__(self, texts: dict[str, str], at: datetime = NOW):
        super().__init__(ConnectorConfig(base_url="http://fake"))
        self.texts, self.at = dict(texts), at

    def fetch(self, account, cursor):
        since = int((cursor or {}).get("since_id", 0))
        new = sorted((k for k in self.texts if int(k) > since), key=int)
        items = [{"id": k, "content": self.texts[k], "account": {"acct": account}} for k in new]
        posts = [Post("mastodon", account, k, f"https://x.social/@acct/{k}", "acct", self.texts[k],
                      utc_iso(self.at - timedelta(minutes=10)), utc_iso(self.at), [], raw_sha256(it))
                 for k, it in zip(new, items, strict=True)]
        return FetchResult(posts, items, {"since_id": max(map(int, new), default=since)})


def populate(store, sink, *, texts: dict[str, str] = TEXTS, now: datetime = NOW, routing: dict | None = None,
             review_url=None, entry=None) -> dict[str, str]:
    """Collect, process and alert ``texts``; returns post id -> alert id of the flagged posts."""
    out = collect_account(store, entry or watchlist_entry(), ListConnector(texts, now), now)
    assert out.status == "ok", out.error
    rec = process_batch(store, out.batch_id, classifier=load_classifier())
    alert_batches(store, [out.batch_id], sink=sink, routing=Routing.from_dict(routing or ROUTING), now=now,
                  review_url=review_url)
    from socialhub.models import from_jsonl

    flagged = from_jsonl(store.get(rec["outputs"]["flagged"]))
    return {r["post_id"]: alert_id_for("mastodon", r["post_id"]) for r in flagged}
