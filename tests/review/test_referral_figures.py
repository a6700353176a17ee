"""The referral register on the command line (list, show, update: audited) and its outcome figures
(the auditor's report tables, `socialhub referral stats`, the public export without personal data).
All dates are fixed."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from socialhub.audit.chain import AuditLog
from socialhub.audit.report import build_report, render_html
from socialhub.cli import main
from socialhub.referrals import register as reg
from socialhub.referrals.stats import percentile, public_export
from socialhub.review.actions import act_on_decision
from socialhub.review.model import REFER
from tests.review._pipeline import NOW
from tests.review.test_actions import decide

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ME = {"kind": "person", "name": "DC Register Keeper", "via": "test"}
OFFICERS = ["PC Alice Example", "PC Bob Example", "PC Carol Example"]


def _record(store, n: int, *, platform: str, force: str, category: str, at: datetime, officer: str,
            music: bool = False) -> str:
    rid = reg.referral_id_for(platform, f"post{n}")
    handle = f"handle_{n}@{platform}.example"
    store.put(reg.record_key(rid), json.dumps({
        "schema": 1, "referral_id": rid, "alert_id": f"{n:024x}", "platform": platform, "post_id": f"post{n}",
        "account": handle, "url": f"https://{platform}.example/{handle}/status/{n}", "category": category,
        "force": force, "team": "gangs", "referred_by": {"id": f"o{n}", "name": officer},
        "referred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "justification": f"threat number {n} against a rival",
        "music_or_drill": music, "channel": "email", "notice": f"see https://{platform}.example/{handle}"}).encode())
    return rid


@pytest.fixture
def figures_store(store):
    """Nine referrals in November 2026: six on x (met, threats) removed 1, 2, 3, 4, 5 and 10 hours after
    the referral; two on youtube (kent, weapons), one rejected and one found still online; one on reddit
    pending, about a drill track. One referral in December (outside the period)."""
    ids = []
    for i, hours in enumerate((1, 2, 3, 4, 5, 10)):
        rid = _record(store, i, platform="x", force="met", category="violence_threat", at=T0 + timedelta(days=i),
                      officer=OFFICERS[i % 2])
        reg.record_check(store, rid, status="removed", checked_at=T0 + timedelta(days=i, hours=hours),
                         http_status=404)
        reg.close_referral(store, rid, closed_at=T0 + timedelta(days=i, hours=hours + 1), by=ME, why="removed")
        ids.append(rid)
    rej = _record(store, 10, platform="youtube", force="kent", category="weapon", at=T0, officer=OFFICERS[2])
    reg.record_reply(store, rej, status="rejected", by=ME, why="platform email", at=T0 + timedelta(days=2),
                     ticket="YT-55", platform_decision="no violation of our guidelines")
    up = _record(store, 11, platform="youtube", force="kent", category="weapon", at=T0 + timedelta(days=1),
                 officer=OFFICERS[2])
    reg.record_check(store, up, status="still_online", checked_at=T0 + timedelta(days=3), http_status=200)
    pend = _record(store, 12, platform="reddit", force="met", category="gang_affiliation",
                   at=T0 + timedelta(days=4), officer=OFFICERS[0], music=True)
    late = _record(store, 13, platform="x", force="met", category="weapon", at=datetime(2026, 12, 2, tzinfo=UTC),
                   officer=OFFICERS[0])
    return {"removed": ids, "rejected": rej, "online": up, "pending": pend, "late": late}


def test_percentiles_are_nearest_rank():
    assert percentile([], 90) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([1, 2, 3, 4, 5, 10], 90) == 10 and percentile([1, 2, 3, 4, 5, 10], 50) == 3
    assert percentile(list(range(1, 11)), 90) == 9


def test_report_tables_of_outcomes(store, figures_store):
    rep = build_report(store, start=date(2026, 11, 1), end=date(2026, 11, 30), now=datetime(2026, 12, 1, tzinfo=UTC),
                       audit_keys=None, authorisations=None)
    rows = {(r["platform"], r["force"], r["category"]): r for r in rep.table("referral_outcomes").rows}
    x = rows[("x", "met", "violence_threat")]
    assert (x["referrals"], x["removed"], x["removal_rate"]) == (6, 6, "100%")
    assert x["median_seconds"] == 3.5 * 3600 and x["p90_seconds"] == 10 * 3600
    assert (x["median"], x["p90"]) == ("3 h 30 min", "10 h 00 min")
    yt = rows[("youtube", "kent", "weapon")]
    assert (yt["referrals"], yt["removed"], yt["rejected"], yt["still_online"], yt["removal_rate"]) == (2, 0, 1, 1, "0%")
    allrow = rows[("all", "all", "all")]
    assert (allrow["referrals"], allrow["removed"], allrow["pending"], allrow["music_or_drill"]) == (9, 6, 1, 1)
    assert any("1 of 9 referral(s) (11%)" in n for n in rep.table("referral_outcomes").notes)
    online = rep.table("referrals_still_online").rows
    assert [r["referral_id"] for r in online] == [figures_store["rejected"], figures_store["online"]]
    assert online[0]["status"] == "rejected" and online[0]["reply"] == "no violation of our guidelines"
    assert online[1]["last_check"] == "2026-11-05 09:00 UTC" and online[1]["days"] == 27.6
    officers = {r["officer"]: r for r in rep.table("referral_outcomes_by_officer").rows}
    assert officers["PC Carol Example"]["agreed"] == "0%" and officers["PC Carol Example"]["rejected"] == 1
    assert officers["PC Alice Example"]["acted"] == 3 and officers["PC Alice Example"]["pending"] == 1
    assert officers["PC Bob Example"]["agreed"] == "100%"
    summary = {s.label: s for s in rep.summary}
    assert summary["Referred posts removed"].value == "6 of 9"
    assert "median 3 h 30 min, 90th percentile 10 h 00 min" in summary["Referred posts removed"].hint
    assert summary["Referred posts still online"].value == "2" and summary["Referred posts still online"].attention
    html = render_html(rep)
    assert "Referrals to platforms: outcomes" in html and "Platforms&#39; decisions against the officers" in html
    # one force's report: only its referrals
    kent = build_report(store, start=date(2026, 11, 1), end=date(2026, 11, 30), force="kent",
                        now=datetime(2026, 12, 1, tzinfo=UTC), audit_keys=None, authorisations=None)
    assert {r["force"] for r in kent.table("referral_outcomes").rows} == {"kent"}


def test_public_export_has_no_personal_data_and_suppresses_small_counts(store, figures_store, tmp_path):
    code = main(["referral", "stats", "--from", "2026-11-01", "--to", "2026-11-30", "--public", "--out",
                 str(tmp_path / "pub"), "--store", str(store.root), "--by", "Analyst", "--why", "quarterly report"])
    assert code == 0
    text = {p.name: p.read_text() for p in (tmp_path / "pub").iterdir()}
    assert sorted(text) == ["referral_stats.csv", "referral_stats.json"]
    every = "\n".join(text.values())
    records = [reg.get_referral(store, rid).record for rid in reg.referral_ids(store)]
    personal = [*OFFICERS, ME["name"], "YT-55", "no violation"]
    for r in records:
        personal += [r["url"], r["account"], r["account"].split("@")[0], r["referral_id"], r["alert_id"],
                     r["post_id"], r["justification"]]
    leaked = [p for p in personal if p in every]
    assert leaked == []
    doc = json.loads(text["referral_stats.json"])
    rows = {(r["dimension"], r["value"]): r for r in doc["rows"]}
    a = rows[("all", "all")]
    assert (a["referrals"], a["removed"], a["removal_rate"]) == (9, 6, 0.667)
    assert (a["median_hours_to_removal"], a["p90_hours_to_removal"]) == (3.5, 10.0)
    assert (a["rejected"], a["still_online"], a["pending"], a["music_or_drill"]) == ("<5", "<5", "<5", "<5")
    yt = rows[("platform", "youtube")]
    assert (yt["referrals"], yt["removal_rate"], yt["median_hours_to_removal"]) == ("<5", "suppressed", None)
    assert rows[("platform", "x")]["referrals"] == 6 and ("platform", "x") in rows
    assert rows[("force", "met")]["referrals"] == 7 and rows[("category", "weapon")]["referrals"] == "<5"
    assert doc["suppression"]["small_count"] == 5 and any("<5" in n for n in doc["notes"])
    table = list(csv.DictReader(io.StringIO(text["referral_stats.csv"])))
    assert table[0]["dimension"] == "all" and table[0]["referrals"] == "9"
    ev = [e for e in AuditLog(store).events() if e["action"] == "export"][-1]
    assert ev["actor"]["name"] == "Analyst" and ev["justification"] == "quarterly report"
    assert set(ev["hashes"]) == set(text)
    # an empty period is an export of zeros, not an error
    files = public_export([], start="2025-01-01", end="2025-01-31", generated_at="2026-12-01T00:00:00Z")
    assert json.loads(files["referral_stats.json"])["rows"][0]["referrals"] == 0


def test_stats_command_needs_public_with_out(store, figures_store, tmp_path, capsys):
    assert main(["referral", "stats", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(tmp_path),
                 "--store", str(store.root)]) == 1
    assert "--public" in capsys.readouterr().err
    assert main(["referral", "stats", "--from", "2026-11-01", "--to", "2026-11-30", "--store", str(store.root),
                 "--why", "check"]) == 0
    out = capsys.readouterr().out
    assert "referrals made 2026-11-01 to 2026-11-30: 9" in out and "median 3 h 30 min, p90 10 h 00 min" in out


# --- the command line on a referral made by the real review path ---------------------------------------------

def test_update_records_the_platforms_reply_and_every_change_is_audited(store, alerted_outbox, outbox, routing,
                                                                           capsys):
    aid = alerted_outbox["2"]
    rid = act_on_decision(store, decide(aid, REFER), sink=outbox, routing=routing, now=NOW)["referral_id"]
    base = ["--store", str(store.root)]
    assert main(["referral", "update", rid, "--status", "acknowledged", "--ticket", "MSTDN-77", "--on",
                 "2026-11-25T15:00:00Z", "--why", "platform acknowledged by email", "--by", "PC Test", *base]) == 0
    assert "is now acknowledged" in capsys.readouterr().out
    assert main(["referral", "update", aid, "--note", "chased by phone", "--why", "no answer after 2 days",
                 "--by", "PC Test", "--on", "2026-11-27", *base]) == 0          # by alert id; status unchanged
    assert main(["referral", "update", "mastodon:2", "--status", "removed", "--decision", "removed: violent speech",
                 "--on", "2026-11-27T12:07:00Z", "--why", "platform email of 27 Nov", "--by", "PC Test", *base]) == 0
    assert "time to removal 48.0 h" in capsys.readouterr().out
    assert main(["referral", "update", rid, "--status", "acknowledged", "--why", "mistake", *base]) == 1
    assert "cannot become acknowledged" in capsys.readouterr().err
    assert main(["referral", "update", rid, "--status", "closed", "--why", "done", "--on", "2026-11-28", *base]) == 0
    assert main(["referral", "update", rid, "--note", "late note", "--why", "x", *base]) == 1
    assert "closed" in capsys.readouterr().err
    ref = reg.get_referral(store, rid)
    assert [e["status"] for e in ref.events] == ["acknowledged", "acknowledged", "removed", "closed"]
    assert ref.events[0]["ticket"] == "MSTDN-77" and ref.events[1]["note"] == "chased by phone"
    assert ref.time_to_removal == 48 * 3600 and ref.outcome == "removed"
    updates = [e for e in AuditLog(store).events() if e["action"] == "referral_update"]
    assert [(e["details"]["from"], e["details"]["to"]) for e in updates] == [
        ("open", "acknowledged"), ("acknowledged", "acknowledged"), ("acknowledged", "removed"),
        ("removed", "closed")]
    assert updates[0]["actor"]["name"] == "PC Test" and updates[0]["justification"] == "platform acknowledged by email"
    assert updates[0]["details"]["ticket"] == "MSTDN-77" and updates[0]["force"] == "met"
    assert updates[-1]["details"]["time_to_removal_seconds"] == 48 * 3600
    # reading is recorded too
    assert main(["referral", "show", "https://x.social/@acct/2", "--why", "case review", "--by", "DS Reader",
                 *base]) == 0
    shown = capsys.readouterr().out
    assert "removed: violent speech" in shown and "notice:" in shown and "MSTDN-77" in shown
    assert main(["referral", "list", "--json", *base]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["referral_id"] for r in listed] == [rid] and listed[0]["status"] == "closed"
    access = [e for e in AuditLog(store).events() if e["action"] == "access"]
    assert [e["object"] for e in access] == [f"referral:{rid}", "referral-register"]
    assert access[0]["actor"]["name"] == "DS Reader" and access[1]["details"]["why_given"] is False


def test_update_needs_a_reason_and_a_known_referral(store, capsys):
    assert main(["referral", "update", "ref-0000000000000000", "--why", "x", "--store", str(store.root)]) == 1
    assert "no referral ref-0000000000000000" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["referral", "update", "ref-0000000000000000", "--store", str(store.root)])   # --why is required
