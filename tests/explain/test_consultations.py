"""Issue 18 point 5: every consultation and disclosure is logged with who, what and why (DPA 2018 s.62).

For each path (socialhub explain, socialhub audit report, socialhub bundle fetch, the Auditors page's
report, explain view and CSV downloads) the audit event exists with the actor, the object and the
reason; a consultation without a reason is recorded as such and the auditor's report flags it; with
SOCIALHUB_REQUIRE_WHY on, a consultation without a reason is refused and shows nothing.
(socialhub reclassify and socialhub shadow report: tests/reclassify/test_consultation_reasons.py.)
"""

from __future__ import annotations

import csv
import shutil
from datetime import timedelta
from typing import Any

import pytest

from socialhub.audit.chain import AuditLog, verify_chain
from socialhub.audit.consult import NOT_GIVEN, reason_of, without_reason
from socialhub.audit.report import build_report
from socialhub.cli import main
from socialhub.models import sha256_hex
from socialhub.storage import LocalStore
from tests.explain.test_auditors_route import client_for
from tests.ui.scenario import MET


@pytest.fixture(autouse=True)
def _no_reason_env(monkeypatch):
    for var in ("SOCIALHUB_WHY", "SOCIALHUB_REQUIRE_WHY", "SOCIALHUB_ACTOR"):
        monkeypatch.delenv(var, raising=False)


def events(store) -> list[dict[str, Any]]:
    return list(AuditLog(store).events())


def new_since(store, before: int) -> list[dict[str, Any]]:
    return events(store)[before:]


def explain(world, capsys, *extra: str) -> tuple[int, str, str, list[dict[str, Any]]]:
    before = len(events(world.store))
    code = main(["explain", "mastodon:2", "--store", str(world.store.root), "--watchlist",
                 str(world.watchlist_file), *extra])
    cap = capsys.readouterr()
    return code, cap.out, cap.err, new_since(world.store, before)


# --- socialhub explain --------------------------------------------------------------------------------

def test_explain_records_who_what_and_why(world, capsys):
    code, out, err, new = explain(world, capsys, "--by", "PC Jones", "--why", "complaint ref 2026-114")
    assert code == 0 and "VERDICT" in out and "no reason given" not in err
    (ev,) = new
    assert ev["action"] == "access" and ev["object"] == "explain:mastodon:2" and ev["force"] == MET
    assert ev["actor"] == {"kind": "person", "name": "PC Jones", "via": "socialhub explain"}
    assert ev["justification"] == "complaint ref 2026-114"
    assert (ev["details"]["who_from"], ev["details"]["why_given"], ev["details"]["why_from"]) == ("--by", True, "--why")


def test_explain_without_a_reason_is_recorded_as_such_and_said(world, capsys, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_ACTOR", "DC Smith")
    code, out, err, new = explain(world, capsys)
    assert code == 0 and "VERDICT" in out
    assert "no reason given" in err and "the auditor's report flags it" in err
    (ev,) = new
    assert ev["actor"]["name"] == "DC Smith" and ev["details"]["who_from"] == "$SOCIALHUB_ACTOR"
    assert ev["justification"] is None and ev["details"]["why_given"] is False
    assert without_reason(ev) and reason_of(ev) is None


def test_explain_takes_the_reason_from_the_environment(world, capsys, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_WHY", "  disclosure request   DR-77  ")
    code, _, err, (ev,) = explain(world, capsys, "--by", "A")
    assert code == 0 and "no reason given" not in err
    assert ev["justification"] == "disclosure request DR-77" and ev["details"]["why_from"] == "$SOCIALHUB_WHY"


def test_explain_refuses_without_a_reason_when_one_is_required(world, capsys, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_REQUIRE_WHY", "true")
    code, out, err, new = explain(world, capsys, "--by", "A")
    assert code == 2 and out == "" and "a reason is required" in err and new == []
    code, out, _, new = explain(world, capsys, "--by", "A", "--why", "case 9")
    assert code == 0 and "VERDICT" in out and new[0]["justification"] == "case 9"


# --- socialhub audit report ---------------------------------------------------------------------------

def _report_argv(world, tmp_path, *extra: str) -> list[str]:
    day = world.scenario.now.date()
    return ["audit", "report", "--from", str(day - timedelta(days=1)), "--to", str(day), "--store",
            str(world.store.root), "--out", str(tmp_path / "report"), "--watchlist", str(world.watchlist_file), *extra]


def test_audit_report_records_who_and_why(world, tmp_path, capsys):
    before = len(events(world.store))
    assert main(_report_argv(world, tmp_path, "--by", "Auditor A", "--why", "ICO inspection 2026/3")) == 0
    capsys.readouterr()
    (ev,) = new_since(world.store, before)
    assert ev["action"] == "report" and ev["object"].startswith("audit-report:")
    assert ev["actor"] == {"kind": "person", "name": "Auditor A", "via": "cli"}
    assert ev["justification"] == "ICO inspection 2026/3" and ev["details"]["why_given"] is True
    assert ev["hashes"]["report.html"] == sha256_hex((tmp_path / "report" / "report.html").read_bytes())


def test_audit_report_without_a_reason_and_refused_when_required(world, tmp_path, capsys, monkeypatch):
    before = len(events(world.store))
    assert main(_report_argv(world, tmp_path, "--actor", "Auditor B")) == 0
    assert "no reason given" in capsys.readouterr().err
    (ev,) = new_since(world.store, before)
    assert ev["justification"] is None and without_reason(ev)
    monkeypatch.setenv("SOCIALHUB_REQUIRE_WHY", "1")
    assert main(_report_argv(world, tmp_path, "--actor", "Auditor B")) == 2
    assert "a reason is required" in capsys.readouterr().err
    assert len(events(world.store)) == before + 1


# --- socialhub bundle fetch ---------------------------------------------------------------------------

def fetch(store, capsys, alert_id: str, out, *extra: str) -> tuple[int, str, str]:
    code = main(["bundle", "fetch", alert_id, "--out", str(out), "--store", str(store.root), *extra])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_bundle_fetch_writes_the_checked_package_and_records_the_export(world, tmp_path, capsys):
    alert_id = world.scenario.answered
    before = len(events(world.store))
    code, out, err = fetch(world.store, capsys, alert_id, tmp_path, "--by", "PC Jones",
                           "--why", "trusted-flagger submission to the platform, case 2026-114")
    assert code == 0, err
    folder = tmp_path / alert_id
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["raw_item.json", "post.json", "classification.json", "review.json", "report.html",
                            "manifest.json"])
    for name in names:                                      # exactly the stored bytes
        assert (folder / name).read_bytes() == world.store.get(f"referrals/{alert_id}/{name}")
    (ev,) = new_since(world.store, before)
    assert ev["action"] == "export" and ev["object"] == f"referral-bundle:{alert_id}" and ev["force"] == MET
    assert ev["actor"] == {"kind": "person", "name": "PC Jones", "via": "socialhub bundle fetch"}
    assert ev["justification"] == "trusted-flagger submission to the platform, case 2026-114"
    assert ev["hashes"] == {n: sha256_hex((folder / n).read_bytes()) for n in names}
    assert ev["details"]["kind"] == "referral bundle" and ev["details"]["verified"] is True
    assert f"recorded as audit event {ev['seq']}" in out and verify_chain(world.store).ok


def test_bundle_fetch_without_a_reason_is_flagged_and_refused_when_required(world, tmp_path, capsys, monkeypatch):
    alert_id = world.scenario.answered
    before = len(events(world.store))
    code, _, err = fetch(world.store, capsys, alert_id, tmp_path / "a", "--by", "PC Jones")
    assert code == 0 and "no reason given" in err
    (ev,) = new_since(world.store, before)
    assert ev["justification"] is None and without_reason(ev)
    monkeypatch.setenv("SOCIALHUB_REQUIRE_WHY", "yes")
    code, _, err = fetch(world.store, capsys, alert_id, tmp_path / "b", "--by", "PC Jones")
    assert code == 2 and "a reason is required" in err and not (tmp_path / "b").exists()
    assert len(events(world.store)) == before + 1


def test_bundle_fetch_refuses_an_altered_package_a_missing_one_and_a_bad_id(world, tmp_path, capsys):
    shutil.copytree(world.store.root, tmp_path / "copy")
    store = LocalStore(tmp_path / "copy")
    alert_id = world.scenario.answered
    post = store.root / "referrals" / alert_id / "post.json"
    post.chmod(0o644)
    post.write_text(post.read_text().replace("stab", "hug"))
    before = len(events(store))
    code, _, err = fetch(store, capsys, alert_id, tmp_path / "out", "--why", "x")
    assert code == 1 and "post.json does not match the SHA-256" in err and not (tmp_path / "out").exists()
    other = next(a for a in world.scenario.alert_ids if a != alert_id)
    code, _, err = fetch(store, capsys, other, tmp_path / "out", "--why", "x")
    assert code == 2 and "no referral package for alert" in err
    code, _, err = fetch(store, capsys, "../../etc", tmp_path / "out", "--why", "x")
    assert code == 2 and "is not an alert id" in err
    assert len(events(store)) == before and not (tmp_path / "out").exists()


# --- the Auditors page --------------------------------------------------------------------------------

def _period(world) -> dict[str, str]:
    day = world.scenario.now.date()
    return {"from": str(day - timedelta(days=1)), "to": str(day)}


def test_page_view_csv_and_explain_record_the_reason_given(world, monkeypatch):
    client = client_for(world.store, monkeypatch, world.scenario.watchlist)
    alice = {"x-test-user": "alice"}
    before = len(events(world.store))
    r = client.get("/", params={**_period(world), "why": "quarterly audit Q4"}, headers=alice)
    assert r.status_code == 200 and "id=\"no-reason\"" not in r.text
    assert "why=quarterly+audit+Q4" in r.text                 # the CSV links carry the reason
    assert "value=\"quarterly audit Q4\"" in r.text
    r = client.get("/csv/alerts.csv", params={**_period(world), "why": "quarterly audit Q4"}, headers=alice)
    assert r.status_code == 200
    csv_bytes = r.content
    r = client.get("/explain", params={"target": world.scenario.answered, "why": "quarterly audit Q4"}, headers=alice)
    assert r.status_code == 200 and "with your reason: quarterly audit Q4" in r.text
    view, export, looked = new_since(world.store, before)
    assert (view["action"], export["action"], looked["action"]) == ("access", "export", "access")
    assert view["object"] == "auditors-page:/" and export["object"].startswith("audit-report:")
    assert export["details"]["table"] == "alerts" and export["hashes"] == {"alerts.csv": sha256_hex(csv_bytes)}
    assert looked["object"] == f"explain:{world.scenario.answered}"
    for ev in (view, export, looked):
        assert ev["actor"]["name"] == "alice" and ev["justification"] == "quarterly audit Q4"
        assert ev["details"]["why_given"] is True and not without_reason(ev)


def test_page_without_a_reason_records_not_given_and_says_so(world, monkeypatch):
    client = client_for(world.store, monkeypatch, world.scenario.watchlist)
    before = len(events(world.store))
    r = client.get("/", params=_period(world), headers={"x-test-user": "alice"})
    assert r.status_code == 200 and 'id="no-reason"' in r.text and "without a reason" in r.text
    r = client.get("/explain", params={"target": world.scenario.answered}, headers={"x-test-user": "alice"})
    assert r.status_code == 200 and "without a reason" in r.text
    new = new_since(world.store, before)
    assert len(new) == 2 and all(ev["justification"] is None and without_reason(ev) for ev in new)


def test_page_asks_for_a_reason_first_when_one_is_required(world, monkeypatch):
    client = client_for(world.store, monkeypatch, world.scenario.watchlist)
    monkeypatch.setenv("SOCIALHUB_REQUIRE_WHY", "true")
    alice = {"x-test-user": "alice"}
    before = len(events(world.store))
    r = client.get("/", params=_period(world), headers=alice)
    assert r.status_code == 200 and "Why are you looking?" in r.text and "name='why'" in r.text
    assert "ghost_yardz" not in r.text and "Audit log" not in r.text      # no records shown
    assert client.get("/csv/alerts.csv", params=_period(world), headers=alice).status_code == 400
    r = client.get("/explain", params={"target": world.scenario.answered}, headers=alice)
    assert r.status_code == 400 and "stab" not in r.text
    assert new_since(world.store, before) == []             # nothing shown, nothing to record
    r = client.get("/", params={**_period(world), "why": "ICO request"}, headers=alice)
    assert r.status_code == 200 and "ghost_yardz" in r.text
    assert new_since(world.store, before)[-1]["justification"] == "ICO request"


# --- the auditor's report shows who, what and why, and flags the rest ----------------------------------

def test_the_report_shows_who_what_why_and_flags_consultations_without_a_reason(world, tmp_path, capsys):
    shutil.copytree(world.store.root, tmp_path / "copy")
    store = LocalStore(tmp_path / "copy")
    log = AuditLog(store)
    actor = {"kind": "person", "name": "PC Jones", "via": "socialhub explain"}
    log.append("access", actor=actor, obj="explain:mastodon:1", force=MET, justification="case 2026-114",
               details={"granted": True, "why_given": True})
    log.append("access", actor=actor, obj="explain:mastodon:2", force=MET, justification=None,
               details={"granted": True, "why_given": False})
    # an event from before reasons were asked for: its "justification" only described the view
    log.append("access", actor={"kind": "person", "name": "old", "via": "Airflow auditors' page"},
               obj="auditors-page:/", justification="auditors' page viewed", details={"granted": True})
    # a refused attempt showed nothing: listed, never counted as a consultation without a reason
    log.append("access", actor={"kind": "person", "name": "bob"}, obj="auditors-page:/",
               justification="refused: not named in SOCIALHUB_AUDITOR_USERS", details={"granted": False})
    day = world.scenario.now.date()
    rep = build_report(store, start=day - timedelta(days=1), end=day + timedelta(days=1), watchlist=None,
                       now=world.scenario.now + timedelta(hours=1))
    rows = rep.table("access_and_exports").rows
    by_object = {(r["object"], r["by"]): r for r in rows}
    given = by_object[("explain:mastodon:1", "PC Jones via socialhub explain")]
    assert (given["why"], given["reason_given"], given["action"]) == ("case 2026-114", "yes", "access")
    missing = by_object[("explain:mastodon:2", "PC Jones via socialhub explain")]
    assert (missing["why"], missing["reason_given"]) == (NOT_GIVEN, "no")
    assert by_object[("auditors-page:/", "old via Airflow auditors' page")]["why"] == NOT_GIVEN
    refused = by_object[("auditors-page:/", "bob")]
    assert refused["action"] == "refused" and refused["reason_given"] == "n/a" and refused["why"].startswith("refused")
    flagged = sum(1 for r in rows if r["reason_given"] == "no")
    assert flagged >= 2
    summary = {s.label: s for s in rep.summary}
    tile = summary["Consultations without a reason"]
    assert tile.value == str(flagged) and tile.attention
    assert rep.table("access_and_exports").notes[0].startswith(f"{flagged} consultation(s)")
    from socialhub.audit.report import render_html, write_report

    html = render_html(rep)
    assert f'class="not-given"><b>{NOT_GIVEN}</b>' in html and "Consultations without a reason" in html
    paths = write_report(rep, tmp_path / "out")
    with open(next(p for p in paths if p.name == "access_and_exports.csv"), newline="", encoding="utf-8") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert {"Who", "Object", "Why (reason given)", "Reason given"} <= set(csv_rows[0])
    assert any(r["Object"] == "explain:mastodon:2" and r["Why (reason given)"] == NOT_GIVEN for r in csv_rows)
