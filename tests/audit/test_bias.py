"""The bias audit: officers' "No action (false positive)" rate by slice, flagged above 1.5 x the median.

The store is made by the real pipeline (collect, process, alert), the reviews by the real review
code (``act_on_decision``), the erasure by the real retention code; the review events are dated
on a fixed day, so nothing here depends on today's date.

Two forces on one platform:

* force-a (10 officer decisions, 2 false positives, 20%): 5 posts with dialect markers (2 false
  positives: 40%) and 5 without (none: 0%); 2 of those 5 are music posts; one post is also a
  weapon post. Its batch is under legal hold, so its text survives retention;
* force-b (6 officer decisions, 5 false positives, 83%, plus 2 reviews that timed out): its batch
  is erased by retention after the reviews, so its text is gone.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from socialhub.alerting import alert_batches
from socialhub.alerts.model import alert_id_for
from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink
from socialhub.audit import bias
from socialhub.audit.bias import (
    FALSE_POSITIVE,
    MIN_DECISIONS,
    NOT_FLAGGED,
    ONLY_ONE,
    TEXT_ERASED,
    TOO_FEW,
    ReviewedPost,
    bias_audit,
)
from socialhub.audit.chain import AuditLog, Auditor
from socialhub.audit.report import build_report, render_html, write_report
from socialhub.classify import load_classifier
from socialhub.classify.slices import music_markers
from socialhub.collect import collect_account
from socialhub.models import Post, raw_sha256, utc_iso
from socialhub.process import process_batch
from socialhub.retention import Policy, Rule, add_hold, apply_retention
from socialhub.review.actions import act_on_decision
from socialhub.review.model import ESCALATE, MONITOR, NO_ACTION, REFER, TIMEOUT_JUSTIFICATION, Decision
from socialhub.sources.base import Connector, ConnectorConfig, FetchResult
from socialhub.storage import LocalStore
from socialhub.watchlist import parse_watchlist

#: A fixed day, far from today: the review events are dated on it and the report covers it alone.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
FORCE_A, FORCE_B = "force-a", "force-b"
ACCOUNT_A, ACCOUNT_B = "yard_talk@social.example", "corner@social.example"
THREAT, DRUGS, WEAPON = "violence_threat", "drug_supply", "weapon"

#: post id -> (text, option; None: nobody answered, the review timed out)
POSTS_A: dict[str, tuple[str, str | None]] = {
    # dialect markers (MLE / AAE): 2 of 5 dismissed as false positives
    "101": ("fam gonna stab him when we catch him lacking", NO_ACTION),
    "102": ("gonna stab him when we catch him lacking innit", NO_ACTION),
    "103": ("bruv gonna stab him when we catch him lacking", MONITOR),
    "104": ("ima pop yo ass on sight, you already know", ESCALATE),
    "105": ("man's getting wet on sight innit", MONITOR),
    # no dialect marker: none dismissed; 106 and 107 are music posts, 108 is a weapon post too
    "106": ("gonna stab him when we catch him lacking, drill track dropping friday", MONITOR),
    "107": ("uk drill: gonna stab him when we catch him lacking", MONITOR),
    "108": ("got a blade in my bag, catch him lacking", MONITOR),
    "109": ("gonna stab him when we catch him lacking", REFER),
    "110": ("gonna stab him when we catch him lacking tonight", MONITOR),
}
POSTS_B: dict[str, tuple[str, str | None]] = {
    "201": ("bando open 24/7, runners wanted, link on snap", NO_ACTION),
    "202": ("bando open 24/7, runners wanted, dm me", NO_ACTION),
    "203": ("bando open all night, runners wanted, link on snap", NO_ACTION),
    "204": ("gonna stab him when we catch him lacking", NO_ACTION),
    "205": ("gonna stab him when we catch him lacking later", NO_ACTION),
    "206": ("gonna stab him when we catch him lacking today", MONITOR),
    "207": ("gonna stab him when we catch him lacking soon", None),
    "208": ("gonna stab him when we catch him lacking again", None),
}


def _watchlist() -> Any:
    entries = "".join(f"""
  - platform: mastodon
    account: {account}
    display_name: Account {force}
    force: {force}
    team: gangs
    owner: DS Example
    authorisation_ref: AUTH-{force}
    purpose: Public threats between two named groups.
    review_by: 2099-01-01
""" for account, force in ((ACCOUNT_A, FORCE_A), (ACCOUNT_B, FORCE_B)))
    return parse_watchlist("accounts:" + entries)


class Connector_(Connector):
    platform = "mastodon"

    def __init__(self, posts: dict[str, dict[str, tuple[str, str | None]]]):
        super().__init__(ConnectorConfig(base_url="http://fake"))
        self.posts = posts

    def fetch(self, account: str, cursor: Any) -> FetchResult:
        items = [{"id": k, "content": text} for k, (text, _) in sorted(self.posts[account].items())]
        posts = [Post("mastodon", account, it["id"], f"https://social.example/@a/{it['id']}", "author", it["content"],
                      utc_iso(NOW - timedelta(minutes=30)), utc_iso(NOW), [], raw_sha256(it)) for it in items]
        return FetchResult(posts, items, {"since_id": len(items)})


@dataclass
class World:
    store: LocalStore
    tmp: Path
    batches: dict[str, str]       # force -> batch id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    tmp = tmp_path_factory.mktemp("bias")
    store = LocalStore(tmp / "store")
    log = AuditLog(store)
    task = {"kind": "task", "dag_id": "socialhub_process", "task_id": "process", "run_id": "scheduled__bias"}
    connector = Connector_({ACCOUNT_A: POSTS_A, ACCOUNT_B: POSTS_B})
    batches = {}
    for entry in _watchlist().accounts:
        out = collect_account(store, entry, connector, NOW, Auditor(log, {**task, "task_id": "collect"}))
        assert out.status == "ok", out.error
        batches[entry.force] = out.batch_id
    clf = load_classifier()
    for b in batches.values():
        process_batch(store, b, classifier=clf, auditor=Auditor(log, task))
    routing = Routing.from_dict({"version": 1, "default": {"on_duty": "#on-duty", "escalation": "#esc"},
                                 "platform_team": "#platform"})
    sink = OutboxSink(tmp / "outbox")
    alert_batches(store, list(batches.values()), sink=sink, routing=routing, now=NOW,
                  auditor=Auditor(log, {**task, "task_id": "alert"}))
    alerted = {ev["object"].removeprefix("alert:") for ev in log.events() if ev["action"] == "alert"}
    review_task = {"dag_id": "socialhub_review", "task_id": "review", "run_id": "scheduled__bias", "map_index": 0}
    for i, (post_id, (_, option)) in enumerate(sorted({**POSTS_A, **POSTS_B}.items())):
        alert_id = alert_id_for("mastodon", post_id)
        assert alert_id in alerted, f"post {post_id} was not flagged: the test's texts no longer fit the classifier"
        when = NOW + timedelta(minutes=10 + i)

        def append(action: str, _when: datetime = when, **kw: Any) -> dict[str, Any]:
            return log.append(action, at=_when, **kw)

        decision = (dict(option=option, timed_out=False, justification="looked at the post and its context",
                         responded_by={"id": "pc-1", "name": "PC One"}) if option else
                    dict(option=ESCALATE, timed_out=True, responded_by=None,
                         justification=TIMEOUT_JUSTIFICATION.format(duration="30 min")))
        act_on_decision(store, Decision(alert_id=alert_id, responded_at=utc_iso(when), response_seconds=1800,
                                        review_task=review_task, **decision),  # type: ignore[arg-type]
                        sink=sink, routing=routing, now=when, organisation="Test Police", audit=append)
    # retention later erases force-b's batch; force-a's is under legal hold
    later = NOW + timedelta(days=40)
    add_hold(store, "batch", batches[FORCE_A], reason="bias audit test: keep", by="DS Example", now=later)
    summary = apply_retention(store, Policy(rules=[Rule(id="short", applies_to="flagged", days=30)]), later,
                              auditor=Auditor(log, {**task, "dag_id": "socialhub_housekeeping"}))
    assert summary["erased_batches"] == 1 and summary["held"] == 1, summary
    return World(store, tmp, batches)


def _report(world: World, **kw: Any) -> Any:
    return build_report(world.store, start=NOW.date(), end=NOW.date(), now=NOW + timedelta(days=41), **kw)


def _rows(report: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["dimension"], r["slice"]): r for r in report.table("bias_audit").rows}


def test_rates_median_and_flags_per_force(world):
    rows = _rows(_report(world))
    a, b = rows[("Force", FORCE_A)], rows[("Force", FORCE_B)]
    assert (a["decisions"], a["false_positives"], a["rate"], a["timed_out"]) == (10, 2, "20.0%", 0)
    assert (b["decisions"], b["false_positives"], b["rate"], b["timed_out"]) == (6, 5, "83.3%", 2)
    # median of the two forces (20% and 83.3%) is 51.7%; 1.5 x that is 77.5%: force-b is above it
    assert a["median"] == b["median"] == "51.7%"
    assert a["judgement"] == NOT_FLAGGED and a["ratio"] == "0.39"
    assert b["judgement"].startswith("FLAGGED") and b["ratio"] == "1.61"
    # 6 decisions: the Wilson interval (43.6% to 97.0%) reaches below the line, and the judgement says so
    assert b["interval"] == "43.6% to 97.0%" and "could be chance" in b["judgement"]
    assert (b["rate_fraction"], b["low_fraction"], b["high_fraction"]) == (0.8333, 0.4365, 0.9699)


def test_timed_out_reviews_are_not_decisions(world):
    rep = _report(world)
    rows = _rows(rep)
    # 16 officer decisions in every dimension that puts each post in one slice; the 2 timeouts apart
    for dim in ("Force", "Platform", "Classifier version", "Dialect or slang markers in the text"):
        slices = [r for (d, _), r in rows.items() if d == dim]
        assert sum(r["decisions"] for r in slices) == 16, dim
        assert sum(r["timed_out"] for r in slices) == 2, dim
    assert any("2 review(s) timed out with no officer decision" in n for n in rep.table("bias_audit").notes)
    assert sum(r["count"] for r in rep.table("decisions").rows) == 16     # the same decisions as that table


def test_dialect_slices_and_erased_text(world):
    rows = _rows(_report(world))
    dim = "Dialect or slang markers in the text"
    yes, no, erased = rows[(dim, "yes")], rows[(dim, "no")], rows[(dim, TEXT_ERASED)]
    assert (yes["decisions"], yes["false_positives"], no["decisions"], no["false_positives"]) == (5, 2, 5, 0)
    # median of 40% and 0% is 20%; 40% is above 30%: flagged. The erased row is not in the median
    assert yes["median"] == no["median"] == "20.0%"
    assert yes["judgement"].startswith("FLAGGED") and no["judgement"] == NOT_FLAGGED
    assert (erased["decisions"], erased["false_positives"], erased["timed_out"]) == (6, 5, 2)
    assert erased["judgement"].startswith("not judged: text erased") and erased["median"] == "20.0%"
    assert erased["ratio"] == ""


def test_small_slices_are_shown_as_too_few(world):
    rows = _rows(_report(world))
    music = {s: r for (d, s), r in rows.items() if d == "Music or drill in the text"}
    assert (music["yes"]["decisions"], music["yes"]["judgement"]) == (2, TOO_FEW)
    # the only music slice with enough decisions has nothing to be compared with
    assert (music["no"]["decisions"], music["no"]["judgement"]) == (8, ONLY_ONE)
    cats = {s: r for (d, s), r in rows.items() if d == "Category"}
    assert cats[WEAPON]["decisions"] == 1 and cats[WEAPON]["judgement"] == TOO_FEW   # counted in both its categories
    assert cats[DRUGS]["decisions"] == 3 and cats[DRUGS]["judgement"] == TOO_FEW
    assert cats[THREAT]["decisions"] == 13 and cats[THREAT]["judgement"] == ONLY_ONE
    # the classifier version recorded for the batches (kept after erasure) and the platform
    (version,) = [s for (d, s) in rows if d == "Classifier version"]
    assert version.startswith("rules-") and rows[("Platform", "mastodon")]["decisions"] == 16


def test_per_force_report_counts_only_that_force(world):
    rows = _rows(_report(world, force=FORCE_A))
    assert [s for (d, s) in rows if d == "Force"] == [FORCE_A]
    assert rows[("Force", FORCE_A)]["judgement"] == ONLY_ONE
    assert ("Dialect or slang markers in the text", TEXT_ERASED) not in rows


def test_report_csv_html_and_summary(world, tmp_path):
    rep = _report(world)
    files = {p.name: p for p in write_report(rep, tmp_path / "out")}
    table = list(csv.reader(io.StringIO(files["bias_audit.csv"].read_bytes().decode("utf-8"))))
    assert table[0][:5] == ["Slices by", "Slice", "Officer decisions", "No action (false positive)",
                            "False-positive rate"]
    assert "Rate (fraction)" in table[0] and ["Force", FORCE_B, "6", "5", "83.3%"] == table[[r[1] for r in table]
                                                                                           .index(FORCE_B)][:5]
    html = files["report.html"].read_text(encoding="utf-8")
    assert 'id="bias_audit"' in html and 'data-table="bias_audit"' in html
    assert "not proof of bias" in html and "too few to judge" in html
    assert html.count('class="problem wide">FLAGGED') == 2          # the flagged rows stand out
    flags = next(s for s in rep.summary if s.label == "Bias-audit flags")
    assert flags.value == "2" and flags.attention     # force-b, and posts with dialect markers
    # the slices describe posts: no account, author or officer appears in the table
    cells = " ".join(c for row in table for c in row)
    assert ACCOUNT_A not in cells and ACCOUNT_B not in cells and "PC One" not in cells and "author" not in cells
    assert render_html(rep).count('id="bias_audit"') == 1


def test_the_auditors_page_shows_the_table(world, monkeypatch):
    from fastapi.testclient import TestClient

    from socialhub_airflow.auditors import create_app

    class User:
        def get_name(self) -> str:
            return "alice"

    async def signed_in(request: Any) -> User:
        return User()

    monkeypatch.setenv("SOCIALHUB_AUDITOR_USERS", "alice")
    app = create_app(store_factory=lambda: world.store, watchlist_factory=lambda: _watchlist(),
                     runs_factory=lambda s, e: (None, "not asked"), user_resolver=signed_in,
                     clock=lambda: NOW + timedelta(days=41))
    client = TestClient(app)
    params = {"from": str(NOW.date()), "to": str(NOW.date())}
    page = client.get("/", params=params, headers={"accept": "text/html"})
    assert page.status_code == 200 and 'id="bias_audit"' in page.text and "csv/bias_audit.csv" in page.text
    got = client.get("/csv/bias_audit.csv", params=params)
    assert got.status_code == 200 and FORCE_B in got.text


# --------------------------------------------------------------------------------------------- the rule alone


def _posts(force: str, decisions: int, false_positives: int, timed_out: int = 0,
           text: str | None = "plain words") -> list[ReviewedPost]:
    def one(i: int, option: str, timeout: bool) -> ReviewedPost:
        return ReviewedPost(alert_id=f"{force}-{i}", option=option, timed_out=timeout, platform="x", force=force,
                            categories=(THREAT,), classifier="v1", text=text,
                            text_gap="" if text is not None else TEXT_ERASED)

    return ([one(i, FALSE_POSITIVE if i < false_positives else MONITOR, False) for i in range(decisions)]
            + [one(decisions + i, ESCALATE, True) for i in range(timed_out)])


def _forces(*spec: tuple[str, int, int]) -> dict[str, Any]:
    audit = bias_audit([p for force, n, k in spec for p in _posts(force, n, k)])
    return {s.value: s for s in audit.slices if s.dimension == "force"}


def test_flag_is_strictly_above_one_and_a_half_times_the_median():
    f = _forces(("a", 10, 1), ("b", 10, 2), ("c", 10, 5), ("d", 20, 6))
    # rates 10%, 20%, 50%, 30%: median 25%, line 37.5%
    assert f["a"].median == pytest.approx(0.25)
    assert [name for name, s in f.items() if s.flagged] == ["c"]
    assert f["c"].ratio == pytest.approx(2.0)
    g = _forces(("a", 20, 4), ("b", 20, 4), ("c", 20, 6))      # 30% is exactly 1.5 x 20%: not above it
    assert not any(s.flagged for s in g.values()) and g["c"].judgement == NOT_FLAGGED


def test_median_zero_flags_any_judged_slice_with_a_false_positive():
    f = _forces(("a", 10, 0), ("b", 10, 0), ("c", 10, 1), ("d", 3, 0))
    assert f["a"].median == 0 and f["c"].flagged and f["c"].ratio is None
    assert not f["a"].flagged and not f["b"].flagged and f["d"].judgement == TOO_FEW
    words = {r["slice"]: r for r in bias.rows(bias_audit(_posts("a", 10, 0) + _posts("b", 10, 0) + _posts("c", 10, 1)))
             if r["dimension"] == "Force"}
    assert words["c"]["ratio"] == "median is 0" and words["c"]["median"] == "0.0%"
    assert words["c"]["judgement"].startswith("FLAGGED")
    none = _forces(("a", 10, 0), ("b", 10, 0))
    assert not any(s.flagged for s in none.values())


def test_small_slices_stay_out_of_the_median_and_are_never_flagged():
    f = _forces(("a", 10, 1), ("b", 10, 1), ("tiny", MIN_DECISIONS - 1, MIN_DECISIONS - 1))
    assert f["a"].median == pytest.approx(0.1)            # the 4-of-4 slice does not pull the median up
    assert f["tiny"].judgement == TOO_FEW and not f["tiny"].flagged and f["tiny"].rate == 1.0
    only_timeouts = bias_audit(_posts("a", 10, 1) + _posts("b", 0, 0, timed_out=3))
    b = next(s for s in only_timeouts.slices if s.value == "b")
    assert (b.decisions, b.timed_out, b.judgement, b.rate) == (0, 3, "no decisions (timed out only)", None)
    assert only_timeouts.decisions == 10 and only_timeouts.timed_out == 3


def test_erased_text_is_counted_not_guessed():
    audit = bias_audit(_posts("a", 6, 1) + _posts("b", 6, 6, text=None))
    dialect = {s.value: s for s in audit.slices if s.dimension == "dialect"}
    assert set(dialect) == {"no", TEXT_ERASED} and dialect[TEXT_ERASED].decisions == 6
    assert not dialect[TEXT_ERASED].flagged and dialect["no"].judgement == ONLY_ONE
    assert audit.text_erased == 6 and any("retention policy has erased" in n for n in bias.notes(audit))


@pytest.mark.parametrize("text, names", [
    ("New drill video out now, link in bio 🔥", ["drill (music)"]),
    ("uk drill: gonna stab him when we catch him lacking", ["drill (music)"]),
    ("Album drops at midnight, pre-save now", ["music words", "release"]),
    ("new track out now on all platforms", ["release", "release"]),
    ("these lyrics are not real", ["lyrics"]),
    ("This beat is hard, 140 bpm", ["music words"]),
    ("Fire drill at 3pm, everyone out", []),
    ("the drill bit snapped", []),
    ("we'll track him down", []),
    ("bando open 24/7, runners wanted, link in bio", []),
])
def test_music_markers_match_what_the_docstring_says(text, names):
    assert [m.name for m in music_markers(text)] == names


def test_false_positive_is_the_review_option():
    assert FALSE_POSITIVE == NO_ACTION == "No action (false positive)"
