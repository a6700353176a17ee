"""socialhub reclassify: exact reproduction of the recorded version, a candidate's differences, the
report's files, no stored result changed, and clear refusals."""

from __future__ import annotations

import csv
import json

import pytest

from socialhub.classify import versions
from socialhub.cli import main
from socialhub.models import from_jsonl
from socialhub.reclassify import curated_objects, period_days, reclassify, version_notes
from tests.reclassify.conftest import D1, D2, NEWLY, build, candidate_thresholds


def snapshot(store):
    return {k: store.get(k) for k in store.list("")}


def run(capsys, store, out, *extra):
    code = main(["reclassify", "--from", D1, "--to", D2, "--store", str(store.root), "--out", str(out), *extra])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def new_events(before, store):
    return [json.loads(store.get(k)) for k in sorted(store.list("audit/events/")) if k not in before]


def test_rerunning_the_recorded_version_reproduces_every_score_label_and_reason_exactly(store):
    live, records = build(store)
    rec, clf = versions.resolve(store, live.id)
    assert rec.id == live.id and rec.code_matches
    objects = curated_objects(store, period_days(D1, D2))
    assert [o.key for o in objects] == sorted(r["outputs"]["curated"] for r in records)
    cmp = reclassify(store, clf, objects, chunk=3)          # chunks cutting across batches
    assert cmp.posts == sum(r["valid"] for r in records) == 12
    assert (cmp.identical, cmp.scores_changed, cmp.labels_changed, cmp.reasons_changed) == (12, 0, 0, 0)
    assert cmp.newly_flagged == cmp.no_longer_flagged == cmp.label_changes == []
    assert cmp.recorded_alerts == cmp.new_alerts == sum(r["flagged"] for r in records) == 6
    assert all(r["moved"] == 0 and r["max_shift"] == 0.0 for r in cmp.shift_rows())
    # the same check written out: what is stored equals, exactly, what the version gives today
    for obj in objects:
        stored = from_jsonl(store.get(obj.key))
        again = clf.classify_batch([r["text"] for r in stored])
        for row, res in zip(stored, again, strict=True):
            new = json.loads(json.dumps(res.to_dict()))
            old = row["classification"]
            assert (old["scores"], old["labels"], old["reasons"]) == (new["scores"], new["labels"], new["reasons"])
    notes = version_notes(store, sorted(cmp.recorded), rec)
    assert notes == [{"version": live.id, "same_as_candidate": True, "code": live.code, "code_matches": True,
                      "note": f"recorded with the running classifier code ({live.code})"}]


def test_the_cli_says_exact_reproduction_and_writes_only_its_audit_event(store, tmp_path, capsys):
    live, _ = build(store)
    before = snapshot(store)
    code, out, err = run(capsys, store, tmp_path / "out", "--classifier", live.id)
    assert code == 0, err
    assert "reproduction:       EXACT" in out and "identical:          12 of 12 posts" in out
    assert "nothing was alerted and no stored result was changed" in out
    assert "reclassify: 12 / 12 (100%) posts" in err
    after = snapshot(store)
    changed = {k for k in before if after.get(k) != before[k]}
    assert changed <= {"audit/head.json"}                   # the audit log's head hint, nothing else
    added = set(after) - set(before)
    assert added and all(k.startswith("audit/events/") or k == "audit/head.json" for k in added)
    (event,) = new_events(before, store)
    assert event["action"] == "reclassify" and event["actor"]["name"] == "DS Test"
    d = event["details"]
    assert (d["from"], d["to"], d["candidate"], d["recorded"]) == (D1, D2, live.id, [live.id])
    assert d["posts"] == 12 and d["differences"] == 0 and d["code_mismatch"] == []
    assert set(event["hashes"]) == {p.name for p in (tmp_path / "out").iterdir()}
    html = (tmp_path / "out" / "reclassify.html").read_text()
    assert "Reproduced exactly" in html and "Classifier code differs" not in html


def test_a_candidate_with_a_lower_violence_threshold_shows_the_new_alerts_per_day_and_slice(store, tmp_path, capsys):
    live, _ = build(store)
    thr = candidate_thresholds(tmp_path, violence_threat=0.015)
    before = snapshot(store)
    code, out, err = run(capsys, store, tmp_path / "out", "--thresholds", str(thr))
    assert code == 0, err
    folder = tmp_path / "out"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["reclassify.html", "summary.csv", "versions.csv", "newly_flagged.csv", "no_longer_flagged.csv",
         "label_changes.csv", "score_shifts.csv", "alerts_per_day.csv", "slices.csv"])
    newly = rows(folder / "newly_flagged.csv")
    assert {(r["Post id"], r["Day"]) for r in newly} == set(NEWLY.items())
    assert {r["Category"] for r in newly} == {"violence_threat"}
    assert all(r["Platform"] == "mastodon" and r["Force"] == "met" and r["URL"].startswith("https://x.social/")
               for r in newly)
    assert all(0.015 <= float(r["Old score"]) == float(r["New score"]) < 0.45 for r in newly)
    assert {r["New threshold"] for r in newly} == {"0.015"} and {r["Old threshold"] for r in newly} == {"0.45"}
    assert rows(folder / "no_longer_flagged.csv") == []
    per_day = {r["Day"]: (r["Recorded"], r["Candidate"], r["Difference"]) for r in rows(folder / "alerts_per_day.csv")}
    assert per_day == {D1: ("3", "4", "1"), D2: ("3", "4", "1")}
    slices = {(r["Slice"], r["Value"]): (r["Old flagged"], r["New flagged"], r["Added"], r["Dropped"])
              for r in rows(folder / "slices.csv")}
    assert slices == {("platform", "mastodon"): ("6", "8", "2", "0"), ("force", "met"): ("6", "8", "2", "0"),
                      ("category", "violence_threat"): ("4", "6", "2", "0"),
                      ("category", "weapon"): ("1", "1", "0", "0"),
                      ("category", "drug_supply"): ("1", "1", "0", "0")}
    shifts = {r["Category"]: r for r in rows(folder / "score_shifts.csv")}
    assert shifts["violence_threat"]["Crossed up"] == "2" and shifts["violence_threat"]["Score changed"] == "0"
    assert "alerts:             recorded 6, candidate 8 (+2 newly flagged, -0 no longer flagged" in out
    # the candidate was recorded (so the audit event can name it); nothing else was written
    after = snapshot(store)
    assert {k for k in before if after.get(k) != before[k]} <= {"audit/head.json"}
    added = set(after) - set(before)
    assert {k.split("/")[0] for k in added} == {"audit", "classifiers"}
    assert all(k.startswith(("audit/events/", "classifiers/versions/")) or k == "audit/head.json" for k in added)
    assert not any(k.startswith(("curated/", "flagged/", "results/", "alerts/", "shadow/", "review/")) for k in added)
    actions = [e["action"] for e in new_events(before, store)]
    assert actions == ["classifier_register", "reclassify"]
    cand = versions.find(store, new_events(before, store)[-1]["details"]["candidate"])
    assert cand is not None and cand.thresholds["violence_threat"] == pytest.approx(0.015)


def test_a_lexicon_override_flags_what_its_new_entry_matches(store, tmp_path, capsys):
    from socialhub.classify.lexicon import DEFAULT_LEXICON_PATH

    build(store)
    lex = DEFAULT_LEXICON_PATH.read_text(encoding="utf-8")
    lex = lex.replace('\nentries:\n', '\nentries:\n  - id: vt.test_roast_dinner\n    category: violence_threat\n'
                                      '    pattern: roast dinner\n    weight: 0.95\n    source: general\n', 1)
    path = tmp_path / "lexicon.yaml"
    path.write_text(lex, encoding="utf-8")
    code, out, err = run(capsys, store, tmp_path / "out", "--lexicon", str(path), "--quiet")
    assert code == 0, err
    assert "posts/s" not in err                            # --quiet: no progress lines
    (row,) = rows(tmp_path / "out" / "newly_flagged.csv")
    assert (row["Post id"], row["Category"], float(row["Old score"]), float(row["New score"])) == (
        "1", "violence_threat", 0.0, 0.95)
    shifts = {r["Category"]: r for r in rows(tmp_path / "out" / "score_shifts.csv")}
    assert shifts["violence_threat"]["Score changed"] == "1" and float(shifts["violence_threat"]["Max shift"]) == 0.95


def test_filters_by_platform_and_force(store, tmp_path, capsys):
    build(store)
    code, out, err = run(capsys, store, tmp_path / "a", "--platform", "mastodon", "--force", "met", "--quiet")
    assert code == 0 and "12 posts" in out
    code, out, err = run(capsys, store, tmp_path / "b", "--force", "other-force")
    assert code == 2 and "no curated posts of force 'other-force'" in err
    code, out, err = run(capsys, store, tmp_path / "c", "--platform", "x")
    assert code == 2 and "on platform x" in err


@pytest.mark.parametrize(("start", "end", "says"), [
    ("2026-13-01", D2, "--from '2026-13-01' is not a date (give a day as YYYY-MM-DD"),
    (D1, "next week", "--to 'next week' is not a date"),
    (D2, D1, f"--to {D1} is before --from {D2} (swap them"),
])
def test_bad_dates_exit_2_saying_what_to_do(store, tmp_path, capsys, start, end, says):
    build(store)
    before = snapshot(store)
    code = main(["reclassify", "--from", start, "--to", end, "--store", str(store.root), "--out", str(tmp_path / "o")])
    assert code == 2 and says in capsys.readouterr().err
    assert snapshot(store) == before and not (tmp_path / "o").exists()


def test_an_empty_period_or_a_missing_store_exits_2_naming_the_days_there_are(store, tmp_path, capsys):
    build(store)
    before = snapshot(store)
    code = main(["reclassify", "--from", "2020-01-01", "--to", "2020-01-31", "--store", str(store.root),
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no curated posts stored for 2020-01-01 to 2020-01-31" in err
    assert f"curated posts are stored for 2 day(s), {D1} to {D2}" in err and "--from/--to" in err
    assert snapshot(store) == before
    code = main(["reclassify", "--from", D1, "--to", D2, "--store", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "o")])
    assert code == 2 and "there is no store at" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_a_version_recorded_under_other_code_is_flagged_prominently(store, tmp_path, capsys):
    live, _ = build(store)
    key = f"classifiers/versions/{live.id}/record.json"
    record = json.loads(store.get(key))
    record["code"] = "0123456789abcdef"           # as if recorded by an older release
    (store.root / key).write_text(json.dumps(record))
    versions._loaded.clear()
    code, out, err = run(capsys, store, tmp_path / "out", "--classifier", live.id, "--quiet")
    assert code == 0, err
    assert "WARNING: version" in out and "code 0123456789abcdef" in out and "not guaranteed" in out
    assert "reproduction:       EXACT" not in out
    html = (tmp_path / "out" / "reclassify.html").read_text()
    assert "Classifier code differs: exact reproduction is not guaranteed." in html
    (v,) = rows(tmp_path / "out" / "versions.csv")
    assert v["Running code matches"] == "no" and "0123456789abcdef" in v["Note"]


def test_help_texts(capsys):
    for argv in (["reclassify", "--help"], ["shadow", "report", "--help"], ["shadow", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        text = capsys.readouterr().out
        assert "examples:" in text and "--from" in text or argv == ["shadow", "--help"]
    assert main(["shadow"]) == 2
