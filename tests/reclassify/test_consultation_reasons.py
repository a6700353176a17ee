"""socialhub reclassify and socialhub shadow report record who and why (issue 18 point 5): the reason
given (--why, else $SOCIALHUB_WHY), or none, recorded as such (never a made-up description) and
flagged by the auditor's report; refused without one when $SOCIALHUB_REQUIRE_WHY is on."""

from __future__ import annotations

import json

from socialhub.audit.consult import without_reason
from socialhub.cli import main
from tests.reclassify.conftest import D1, D2, build
from tests.reclassify.test_shadow_report import shadowed  # noqa: F401 - the fixture


def new_events(store, before):
    return [json.loads(store.get(k)) for k in sorted(store.list("audit/events/")) if k not in before]


def reclassify(store, out, *extra):
    return main(["reclassify", "--from", D1, "--to", D2, "--store", str(store.root), "--out", str(out), "--quiet",
                 *extra])


def test_reclassify_records_the_reason_given(store, tmp_path, capsys):
    build(store)
    before = set(store.list("audit/events/"))
    assert reclassify(store, tmp_path / "o", "--why", "complaint 2026-114: would the new lexicon have alerted?") == 0
    assert "no reason given" not in capsys.readouterr().err
    (ev,) = [e for e in new_events(store, before) if e["action"] == "reclassify"]
    assert ev["actor"] == {"kind": "person", "name": "DS Test", "via": "socialhub reclassify"}
    assert ev["object"] == f"reclassify:{D1}..{D2}"
    assert ev["justification"] == "complaint 2026-114: would the new lexicon have alerted?"
    assert (ev["details"]["who_from"], ev["details"]["why_given"]) == ("$SOCIALHUB_ACTOR", True)


def test_reclassify_without_a_reason_is_recorded_as_such_or_refused(store, tmp_path, capsys, monkeypatch):
    build(store)
    monkeypatch.delenv("SOCIALHUB_WHY", raising=False)
    before = set(store.list("audit/events/"))
    assert reclassify(store, tmp_path / "o") == 0
    assert "no reason given" in capsys.readouterr().err
    (ev,) = [e for e in new_events(store, before) if e["action"] == "reclassify"]
    assert ev["justification"] is None and without_reason(ev)
    monkeypatch.setenv("SOCIALHUB_REQUIRE_WHY", "true")
    before = set(store.list("audit/events/"))
    assert reclassify(store, tmp_path / "p") == 2
    assert "a reason is required" in capsys.readouterr().err
    assert new_events(store, before) == [] and not (tmp_path / "p").exists()


def test_shadow_report_records_the_reason_or_its_absence(store, shadowed, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.delenv("SOCIALHUB_WHY", raising=False)
    argv = ["shadow", "report", "--from", D1, "--to", D2, "--store", str(store.root)]
    before = set(store.list("audit/events/"))
    assert main([*argv, "--out", str(tmp_path / "a"), "--why", "promotion review CR-12"]) == 0
    assert main([*argv, "--out", str(tmp_path / "b"), "--by", "DS Other"]) == 0
    assert "no reason given" in capsys.readouterr().err
    given, missing = new_events(store, before)
    assert given["action"] == missing["action"] == "report"
    assert given["object"] == f"shadow-report:{D1}..{D2}" and given["justification"] == "promotion review CR-12"
    assert given["actor"]["name"] == "DS Test" and missing["actor"]["name"] == "DS Other"
    assert missing["justification"] is None and without_reason(missing) and not without_reason(given)
    monkeypatch.setenv("SOCIALHUB_REQUIRE_WHY", "on")
    assert main([*argv, "--out", str(tmp_path / "c")]) == 2
    assert "a reason is required" in capsys.readouterr().err
