"""A store filled by the real pipeline functions, for the auditor's-report tests (unit, app and browser).

Two forces, four watched accounts (one collected with a threat, a drug-supply post and a
malformed post; one whose platform fails; one due for review; one whose authorisation has
lapsed), processed by the real Great Expectations suite and classifier, alerted to the local
outbox, reviewed by the real review code (an officer refers one alert to the platform, the
other is escalated automatically when nobody answers in time), then a deletion is appended. One event lies outside the
period so that period filtering is tested too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from socialhub.alerting import alert_batches
from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink
from socialhub.audit.chain import AuditLog, Auditor
from socialhub.classify import load_classifier
from socialhub.collect import collect_account
from socialhub.errors import ConnectorError
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.process import process_batch
from socialhub.review.actions import act_on_decision
from socialhub.review.model import ESCALATE, REFER, TIMEOUT_JUSTIFICATION, Decision
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.storage.base import ObjectStore
from socialhub.watchlist import Watchlist, parse_watchlist
from socialhub.watchlist_changes import record_watchlist_changes

MET, COUNTY = "demo-metropolitan", "demo-county"
COLLECT_RUN = "scheduled__scenario-collect"
PROCESS_RUN = "scheduled__scenario-process"
#: A text that would be a spreadsheet formula if written to a CSV unguarded.
REFER_JUSTIFICATION = "explicit threat to stab a named rival: refer for removal"
FORMULA_ACCOUNT = "=HYPERLINK(\"http://evil.example\",\"x\")"


def _yaml_str(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def watchlist_text(today: date) -> str:
    return f"""
accounts:
  - platform: mastodon
    account: ghost_yardz@social.example
    display_name: Ghost Yardz
    force: {MET}
    team: gangs-north
    owner: DS A. Example
    authorisation_ref: AUTH-MET-1
    purpose: Public threats between two named groups.
    review_by: {today + timedelta(days=200)}
  - platform: mastodon
    account: {_yaml_str(FORMULA_ACCOUNT)}
    display_name: "@formula account"
    force: {MET}
    team: gangs-north
    owner: "=SUM(A1:A9)"
    authorisation_ref: AUTH-MET-2
    purpose: "+44 7700 900123 is the platform contact; its platform is failing (test)."
    review_by: {today + timedelta(days=10)}
  - platform: mastodon
    account: corner_shop@social.example
    display_name: Café Corner Shop
    force: {COUNTY}
    team: county-lines
    owner: DC B. Example
    authorisation_ref: AUTH-CTY-7
    purpose: Suspected drug supply advertising in public posts.
    review_by: {today + timedelta(days=90)}
  - platform: mastodon
    account: oldcase@social.example
    display_name: Old Case
    force: {COUNTY}
    team: county-lines
    owner: DC B. Example
    authorisation_ref: AUTH-CTY-OLD
    purpose: Closed investigation, authorisation not renewed.
    review_by: {today - timedelta(days=3)}
"""


class ScenarioConnector(Connector):
    """Serves fixed posts per account; ``failing`` accounts raise like a platform outage."""

    platform = "mastodon"

    def __init__(self, posts: dict[str, dict[str, str]], now: datetime, failing: set[str] = frozenset()):
        super().__init__(ConnectorConfig(base_url="http://fake"))
        self.posts, self.now, self.failing = posts, now, set(failing)

    def fetch(self, account: str, cursor: Any) -> FetchResult:
        if account in self.failing:
            raise ConnectorError("mastodon", account, "HTTP 503 from the platform")
        texts = self.posts.get(account, {})
        items = [{"id": k, "content": v} for k, v in sorted(texts.items())]
        posts = [Post("mastodon", account, it["id"], "not a url" if it["id"].endswith("bad")
                      else f"https://social.example/@a/{it['id']}", "author", it["content"],
                      utc_iso(self.now - timedelta(minutes=30)), utc_iso(self.now), [], raw_sha256(it))
                 for it in items]
        return FetchResult(posts, items, {"since_id": len(items)})


@dataclass
class Scenario:
    watchlist: Watchlist
    now: datetime
    alert_ids: list[str]
    answered: str                 # the alert an officer responded to
    old_event_time: datetime


def populate(store: ObjectStore, tmp: Path, now: datetime | None = None) -> Scenario:
    """Run collection, processing and alerting for real, then add the human steps."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    log = AuditLog(store)
    wl_file = tmp / "watchlist.yaml"
    wl_file.write_text(watchlist_text(now.date()), encoding="utf-8")
    from socialhub.watchlist import load_watchlist

    wl = load_watchlist(wl_file)
    parse_watchlist(wl_file.read_text())  # the same text parses standalone
    collect_actor = {"kind": "task", "dag_id": "socialhub_collect", "task_id": "collect", "run_id": COLLECT_RUN}
    process_actor = {"kind": "task", "dag_id": "socialhub_process", "task_id": "process", "run_id": PROCESS_RUN}
    record_watchlist_changes(store, wl, wl_file, Auditor(log, {**collect_actor, "task_id": "check_watchlist"}))
    # the authorisation register: one record per entry, through the checked and audited path
    from socialhub.governance.demo import seed_demo_register

    seed_demo_register(store, wl, now.date(), Auditor(log, {"kind": "person", "name": "Registry clerk 42",
                                                            "via": "socialhub cli"}))
    connector = ScenarioConnector({
        "ghost_yardz@social.example": {"1": "gonna stab him when we catch him lacking",
                                       "2": "lovely roast dinner today with the family",
                                       "3bad": "great goal at the weekend, 3-0 win"},
        "corner_shop@social.example": {"7": "bando open 24/7, runners wanted, link on snap",
                                       "8": "new bread in the bakery this morning"},
    }, now, failing={FORMULA_ACCOUNT})
    batches = []
    for entry in wl.accounts:
        out = collect_account(store, entry, connector, now, Auditor(log, collect_actor))
        if out.batch_id:
            batches.append(out.batch_id)
    clf = load_classifier()
    for b in batches:
        process_batch(store, b, classifier=clf, auditor=Auditor(log, process_actor))
    routing = Routing.from_dict({"version": 1, "default": {"on_duty": "#on-duty", "escalation": "#esc"},
                                 "platform_team": "#platform"})
    alert_batches(store, batches, sink=OutboxSink(tmp / "outbox"), routing=routing, now=now,
                  auditor=Auditor(log, {**process_actor, "task_id": "alert"}))
    alerts = [ev for ev in log.events() if ev["action"] == "alert"]
    met_alert = next(ev for ev in alerts if ev["force"] == MET)
    county_alert = next(ev for ev in alerts if ev["force"] == COUNTY)
    answered = met_alert["object"].removeprefix("alert:")
    # the review step, by the real review code: an officer refers the MET alert to the platform after
    # 42 minutes; nobody answers the county alert, which is escalated automatically after 30 minutes
    sink = OutboxSink(tmp / "outbox")
    task = {"dag_id": "socialhub_review", "task_id": "review", "run_id": "scheduled__scenario-review", "map_index": 0}
    for alert_ev, minutes, decision in (
            (met_alert, 42, dict(option=REFER, timed_out=False, justification=REFER_JUSTIFICATION,
                                 responded_by={"id": "pc-jones", "name": "PC Jones"})),
            (county_alert, 30, dict(option=ESCALATE, timed_out=True, responded_by=None,
                                    justification=TIMEOUT_JUSTIFICATION.format(duration="30 min")))):
        when = datetime.fromisoformat(alert_ev["time"].replace("Z", "+00:00")) + timedelta(minutes=minutes)

        def append(action: str, _when: datetime = when, **kw: Any) -> dict[str, Any]:
            return log.append(action, at=_when, **kw)

        act_on_decision(store, Decision(alert_id=alert_ev["object"].removeprefix("alert:"), responded_at=utc_iso(when),
                                        response_seconds=1800, review_task=task, **decision),  # type: ignore[arg-type]
                        sink=sink, routing=routing, now=when, organisation="Demo Police", audit=append)
    log.append("deletion", actor={"kind": "task", "dag_id": "socialhub_housekeeping", "task_id": "apply_retention",
                                  "run_id": "scheduled__scenario-housekeeping"},
               obj="posts/platform=mastodon/old.jsonl", force=COUNTY, justification="retention: 90 days passed")
    old = now - timedelta(days=60)
    log.append("collect", actor=collect_actor | {"run_id": "scheduled__long-ago"}, obj="mastodon:ancient@x",
               force=MET, at=old, details={"posts": 99, "batch_id": None})
    return Scenario(wl, now, [ev["object"].removeprefix("alert:") for ev in alerts], answered, old)
