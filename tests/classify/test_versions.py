"""Classifier versions as records: recorded once, reloaded exactly, promoted with an audit trail."""

from __future__ import annotations

import json
import re

import pytest

from socialhub.audit.chain import AuditLog, Auditor
from socialhub.classify import load_classifier, versions
from socialhub.classify.lexicon import DEFAULT_THRESHOLDS_PATH
from socialhub.cli import main
from socialhub.errors import ConfigError
from socialhub.storage import LocalStore

TEXTS = ["i will stab you tomorrow outside the shop", "lovely roast dinner with the family",
         "shoot every looter on sight", "bando open 24/7, runners wanted", "got the 9 on me, pull up"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture()
def store(tmp_path):
    return LocalStore(tmp_path / "store")


def auditor(store):
    return Auditor(AuditLog(store), {"kind": "person", "name": "tester"})


def candidate(tmp_path, vt="0.30", version="4.22.0-cand"):
    folder = tmp_path / "candidate"
    folder.mkdir(exist_ok=True)
    text = DEFAULT_THRESHOLDS_PATH.read_text(encoding="utf-8")

    text = re.sub(r"(?m)^  violence_threat: [0-9.]+$", f"  violence_threat: {vt}", text, count=1)
    text = re.sub(r'(?m)^version: "[^"]+"$', f'version: "{version}"', text, count=1)
    (folder / "thresholds.yaml").write_text(text, encoding="utf-8")
    return folder


def test_register_is_idempotent_and_copies_files_with_hashes(store):
    rec, clf = versions.register(store, auditor=auditor(store))
    again = versions.get(store, rec.id)
    assert again.to_dict() == rec.to_dict()
    assert rec.classifier_version == load_classifier().version
    assert set(rec.files) == {"lexicon.yaml", "thresholds.yaml", "model.json", "manifest.json"}
    for name, meta in rec.files.items():
        data = store.get(f"classifiers/versions/{rec.id}/files/{name}")
        assert len(data) == meta["bytes"]
    assert rec.code_matches and rec.code_note() is None
    events = [e for e in AuditLog(store).events() if e["action"] == "classifier_register"]
    assert len(events) == 1 and events[0]["object"] == f"classifier:{rec.id}"
    # a second registration in a new process (cache cleared) reads the record and writes nothing
    versions._described.clear()
    before = sorted(store.list(""))
    rec2, _ = versions.register(store, auditor=auditor(store))
    assert rec2.id == rec.id and sorted(store.list("")) == before


def test_a_recorded_version_reloads_to_exactly_the_same_results(store):
    rec, clf = versions.register(store)
    versions._loaded.clear()
    rec2, clf2 = versions.load_version(store, rec.id)
    assert clf2 is not clf       # built from the store's copies, not the shared default
    assert [r.to_dict() for r in clf2.classify_batch(TEXTS)] == [r.to_dict() for r in clf.classify_batch(TEXTS)]


def test_another_thresholds_file_is_another_version(store, tmp_path):
    base, _ = versions.register(store)
    rec, clf = versions.resolve(store, str(candidate(tmp_path)))
    assert rec.id != base.id and rec.id.startswith("4.22.0-cand-")
    assert rec.thresholds["violence_threat"] == pytest.approx(0.30)
    assert clf.thresholds["violence_threat"] == pytest.approx(0.30)
    assert versions.find(store, rec.id[:14]).id == rec.id
    assert {r.id for r in versions.list_versions(store)} == {base.id, rec.id}


def test_a_stored_file_that_was_altered_is_refused(store, tmp_path):
    rec, _ = versions.register(store)
    key = f"classifiers/versions/{rec.id}/files/thresholds.yaml"
    (store.root / key).chmod(0o644)
    (store.root / key).write_text("version: x\nthresholds: {}\n")
    with pytest.raises(ConfigError, match="does not match its recorded SHA-256"):
        versions.materialise(store, rec, tmp_path / "fresh-cache")


def test_other_code_is_said_not_hidden(store, monkeypatch):
    rec, _ = versions.register(store)
    monkeypatch.setattr(versions, "_code_fp", "0" * 16)
    note = rec.code_note()
    assert note and rec.id in note and "may differ" in note


def test_promotion_needs_who_and_why_and_is_audited(store, tmp_path):
    base, _ = versions.register(store)
    rec, _ = versions.resolve(store, str(candidate(tmp_path)))
    assert versions.live(store)[0].id == base.id      # nothing promoted: the packaged one
    with pytest.raises(ConfigError):
        versions.promote(store, rec.id, by="", why="because")
    p = versions.promote(store, rec.id, by="PS Jones", why="fewer false alarms", auditor=auditor(store),
                         evaluation={"figures": {"f1": 0.9}}, shadow={"agreement": 0.98})
    assert p["previous"] == "packaged"
    assert versions.live_id(store) == rec.id
    versions._loaded.clear()
    live_rec, live_clf = versions.live(store)
    assert live_rec.id == rec.id and live_clf.thresholds["violence_threat"] == pytest.approx(0.30)
    events = [e for e in AuditLog(store).events() if e["action"] == "classifier_promote"]
    assert len(events) == 1
    ev = events[0]
    assert ev["object"] == f"classifier:{rec.id}" and ev["justification"] == "fewer false alarms"
    assert ev["details"]["evaluation"] == {"figures": {"f1": 0.9}} and ev["details"]["shadow"]["agreement"] == 0.98
    assert [x["id"] for x in versions.promotions(store)] == [rec.id]


def test_promote_command_refuses_without_figures_then_records_them(store, tmp_path, capsys):
    rec, _ = versions.resolve(store, str(candidate(tmp_path)))
    args = ["classifier", "promote", rec.id, "--store", str(store.root), "--by", "PS Jones", "--why", "trial"]
    assert main(args) == 1
    assert "no shadow report" in capsys.readouterr().err
    store.put_state(f"reports/shadow/{rec.id}-2026-11-01-2026-11-07.json",
                    json.dumps({"agreement": 0.97, "written_at": "2026-11-08T00:00:00Z"}).encode())
    assert main(args) == 1
    assert "no evaluation attached" in capsys.readouterr().err
    ev = tmp_path / "eval.json"
    ev.write_text(json.dumps({"suite": {"threat_recall": 0.97}, "real": {"fpr": 0.005}}))
    assert main([*args, "--evaluation", str(ev)]) == 0
    out = capsys.readouterr().out
    assert rec.id in out and "PS Jones" in out
    promo = versions.promotions(store)[0]
    assert promo["shadow"]["agreement"] == 0.97
    assert promo["evaluation"]["figures"] == {"suite.threat_recall": 0.97, "real.fpr": 0.005}
    assert store.get(promo["evaluation"]["key"]) == ev.read_bytes()
    assert main(["classifier", "list", "--store", str(store.root)]) == 0
    assert f"* {rec.id}" in capsys.readouterr().out
    assert main(["classifier", "history", "--store", str(store.root)]) == 0
    assert "why: trial" in capsys.readouterr().out


def test_register_command_and_unknown_version(store, tmp_path, capsys):
    assert main(["classifier", "register", "--store", str(store.root)]) == 0
    [rec] = versions.list_versions(store)
    assert f"recorded: {rec.id}" in capsys.readouterr().out
    assert main(["classifier", "show", "nope", "--store", str(store.root)]) == 1
    assert "classifier list" in capsys.readouterr().err
