"""socialhub shadow report: agreement, added and dropped alerts, and the shadow's precision on the live
alerts officers decided (review records written with the real review store code)."""

from __future__ import annotations

import csv
import json
import re

import pytest

from socialhub.alerts.model import alert_id_for
from socialhub.classify import versions
from socialhub.classify.slices import wilson_interval
from socialhub.cli import main
from socialhub.process import Shadow
from socialhub.reclassify.shadow import shadow_summary, summary_key
from socialhub.review.model import ESCALATE, NO_ACTION, REFER, Decision
from socialhub.review.store import record_decision
from socialhub.storage import layout
from tests.reclassify.conftest import D1, D2, build, candidate_thresholds

OFFICER = {"id": "u7", "name": "PC Example"}


def decide(store, post_id, option, *, timed_out=False):
    record_decision(store, Decision(
        alert_id=alert_id_for("mastodon", post_id), option=option, justification="Reviewed against the post text.",
        responded_at="2026-11-26T12:07:00Z", timed_out=timed_out, response_seconds=1800,
        responded_by=None if timed_out else OFFICER).to_dict())


@pytest.fixture()
def shadowed(store, tmp_path):
    """Two days processed with a shadow that raises violence_threat to 0.8, rules too (drops posts 10, 11)
    and lowers weapon to 0.0015 (adds post 12), and officers' decisions on four live alerts."""
    thr = candidate_thresholds(tmp_path, violence_threat=0.8, weapon=0.0015, name="shadow.yaml", rules_violence=0.8)
    cand, cand_clf = versions.resolve(store, str(thr))
    build(store, shadow=Shadow(cand.id, cand_clf))
    decide(store, "2", REFER)          # confirmed; the shadow flags it too
    decide(store, "11", ESCALATE)      # confirmed; the shadow drops it
    decide(store, "10", NO_ACTION)     # a false positive the shadow drops
    decide(store, "8", NO_ACTION)      # a false positive the shadow keeps
    decide(store, "3", ESCALATE, timed_out=True)   # nobody answered: no officer's decision
    return cand


def rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_shadow_summary_counts_agreement_added_dropped_and_precision_on_reviews(store, shadowed):
    s = shadow_summary(store, shadowed.id, D1, D2)
    assert (s["version"], s["from"], s["to"], s["batches"], s["posts"]) == (shadowed.id, D1, D2, 2, 12)
    assert (s["live_alerts"], s["shadow_alerts"], s["added"], s["dropped"]) == (6, 5, 1, 2)
    assert s["same_labels"] == 9 and s["agreement"] == 0.75
    assert s["agreement_by_category"] == {"violence_threat": round(10 / 12, 4), "weapon": round(11 / 12, 4),
                                          "gang_affiliation": 1.0, "drug_supply": 1.0}
    assert s["added_by_category"]["weapon"] == 1 and s["dropped_by_category"]["violence_threat"] == 2
    assert s["alerts_per_day"] == {D1: [3, 3], D2: [3, 2]}
    r = s["reviews"]
    assert r["reviewed_alerts"] == 4 and r["timed_out_not_counted"] == 1
    assert r["by_option"] == {ESCALATE: 1, NO_ACTION: 2, REFER: 1}
    assert (r["confirmed"], r["confirmed_also_flagged"], r["rejected"], r["rejected_dropped"]) == (2, 1, 2, 1)
    lo, hi = wilson_interval(1, 2)
    assert r["shadow_precision"] == 0.5 and r["shadow_precision_rests_on"] == 2
    assert r["shadow_precision_wilson95"] == [round(lo, 4), round(hi, 4)]
    assert r["live_precision"] == 0.5
    assert "rests on 2 officer decisions only" in r["caveat"] and "too few" in r["caveat"]
    json.dumps(s)                                            # JSON-able, for the promotion record


def test_the_cli_writes_the_report_and_stores_the_summary_promotion_attaches(store, shadowed, tmp_path, capsys):
    before = {k: store.get(k) for k in store.list("")}
    code = main(["shadow", "report", "--from", D1, "--to", D2, "--store", str(store.root),
                 "--out", str(tmp_path / "out")])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    out = cap.out
    assert f"shadow {shadowed.id}, {D1}..{D2}: 12 posts in 2 batch(es)" in out
    assert "agreement:          75.0% same label set" in out
    assert "alerts:             live 6, shadow 5 (+1 added, -2 dropped)" in out
    # the posts themselves, by URL, with the score of the label added or dropped
    listed = [line.split(":", 1)[0].strip() for line in out.splitlines() if line.startswith("    would ")]
    assert listed == ["would add", "would drop", "would drop"]
    assert re.search(r"would add:\s+\S+/12 \(weapon \d\.\d+\)", out), out
    assert "confirmed:        shadow also flags 1 of 2" in out and "false positives:  shadow drops 1 of 2" in out
    assert "precision:        shadow 50% (95% CI" in out and "n=2" in out
    folder = tmp_path / "out"
    assert (folder / "shadow.html").is_file()
    added = rows(folder / "added.csv")
    assert [(r["Post id"], r["Shadow labels"], r["Live labels"]) for r in added] == [("12", "weapon", "")]
    assert sorted(r["Post id"] for r in rows(folder / "dropped.csv")) == ["10", "11"]
    (rev,) = rows(folder / "reviews.csv")
    assert (rev["Reviewed alerts"], rev["Confirmed"], rev["Confirmed, shadow flags too"], rev["Rejected"],
            rev["Rejected, shadow drops"], rev["Timed out (not counted)"], rev["Shadow precision"]) == (
        "4", "2", "1", "2", "1", "1", "0.5")
    reviewed = {r["Post id"]: (r["Officer's decision"], r["Shadow flags it"]) for r in rows(folder / "reviewed.csv")}
    assert reviewed == {"2": (REFER, "yes"), "11": (ESCALATE, "no"), "10": (NO_ACTION, "no"),
                        "8": (NO_ACTION, "yes")}
    # the summary is stored where `socialhub classifier promote` finds it; nothing else but the audit event
    key = summary_key(shadowed.id, D1, D2)
    assert key == f"reports/shadow/{shadowed.id}-{D1}-{D2}.json"
    stored = json.loads(store.get(key))
    assert stored["written_at"] and stored["reviews"]["shadow_precision"] == 0.5 and stored["added"] == 1
    from socialhub.classify.versions_cli import _latest_shadow

    assert _latest_shadow(store, shadowed.id)["key"] == key
    after = {k: store.get(k) for k in store.list("")}
    assert {k for k in before if after[k] != before[k]} <= {"audit/head.json"}
    assert all(k == key or k.startswith("audit/") for k in set(after) - set(before))
    events = [json.loads(store.get(k)) for k in sorted(store.list("audit/events/")) if k not in before]
    assert [e["action"] for e in events] == ["report"] and events[0]["details"]["kind"] == "shadow"


def test_a_named_version_and_no_shadow_results(store, shadowed, tmp_path, capsys):
    code = main(["shadow", "report", "--from", D1, "--to", D1, "--version", shadowed.id[:12], "--store",
                 str(store.root), "--out", str(tmp_path / "one")])
    assert code == 0 and "1 batch(es)" in capsys.readouterr().out
    code = main(["shadow", "report", "--from", "2020-01-01", "--to", "2020-01-02", "--store", str(store.root),
                 "--out", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2 and "no shadow results stored for 2020-01-01 to 2020-01-02" in err
    assert "SOCIALHUB_SHADOW_CLASSIFIER" in err
    code = main(["shadow", "report", "--from", D2, "--to", D1, "--store", str(store.root), "--out", str(tmp_path)])
    assert code == 2 and "before --from" in capsys.readouterr().err


def test_live_posts_without_a_shadow_row_are_left_out_and_said(store, shadowed, tmp_path):
    key = next(k for k in store.list("shadow/") if f"date={D2}" in k)
    lines = store.get(key).splitlines(keepends=True)
    (store.root / key).write_bytes(b"".join(lines[:-1]))    # lose the last post's shadow row
    s = shadow_summary(store, shadowed.id, D1, D2)
    assert s["posts"] == 11 and s["live_posts_without_shadow"] == 1
    assert layout.shadow_key(shadowed.id, "mastodon", D2, key.rsplit("/", 1)[1][:-6]) == key
