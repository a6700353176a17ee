"""``socialhub eval --suite``: the pass rule, the figures per functionality and tag, the targets, bad files.

A stub classifier whose labels the test sets decides every outcome; the suite is a small file in
``tmp_path`` in the format of ``data/functional/suite.jsonl``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from socialhub.classify.evaluate import run_evaluation
from socialhub.classify.suite import SuiteCase, SuiteError, SuiteMissing, case_passes, read_suite, suite_report
from socialhub.models import CATEGORIES

VT, WP, GA, DS = CATEGORIES

# (id, functionality, kind, target, tags, predicted labels by the stub)
CASES = [
    ("t1", "threat_direct", "threat", VT, [], [VT]),
    ("t2", "threat_direct", "threat", VT, ["aae"], [WP]),           # a label, but not the target: fails
    ("t3", "threat_direct", "threat", VT, [], [VT, WP]),
    ("t4", "weapon_offer", "threat", WP, ["mle"], [WP]),
    ("c1", "music_lyrics", "contrast", VT, ["music"], []),
    ("c2", "music_lyrics", "contrast", VT, ["music", "slang"], [DS]),  # any label fails a contrast case
    ("c3", "news_report", "contrast", None, ["news"], []),
    ("c4", "news_report", "contrast", WP, ["news"], []),
]


class Stub:
    version = "stub-suite"

    def __init__(self, table: dict[str, list[str]], errors: frozenset[str] = frozenset()) -> None:
        self.table, self.errors, self.calls = table, errors, 0

    def classify_batch(self, texts: list[str]) -> list[SimpleNamespace]:
        self.calls += 1
        return [SimpleNamespace(labels=list(self.table[t]), scores={c: float(c in self.table[t]) for c in CATEGORIES},
                                reasons=[], error="could not parse" if t in self.errors else None,
                                lexicon_version="L", model_version=None)
                for t in texts]


def _suite_file(tmp_path: Path, cases: list[tuple] = CASES) -> tuple[Path, Stub]:
    lines, table = [], {}
    for cid, func, kind, target, tags, pred in cases:
        text = f"case {cid} text"
        table[text] = pred
        lines.append(json.dumps({"id": cid, "functionality": func, "kind": kind, "target": target,
                                 "labels": [target] if kind == "threat" else [], "text": text, "tags": tags}))
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, Stub(table)


def _case(kind: str, target: str | None) -> SuiteCase:
    return SuiteCase("x", "f", kind, target, (), "t", ())


def test_pass_rule() -> None:
    assert case_passes(_case("threat", VT), [VT])
    assert case_passes(_case("threat", VT), [WP, VT])
    assert not case_passes(_case("threat", VT), [WP])
    assert not case_passes(_case("threat", VT), [])
    assert case_passes(_case("contrast", VT), [])
    assert not case_passes(_case("contrast", VT), [DS])      # contrast: no label at all, whatever the target
    assert not case_passes(_case("contrast", None), [VT])


def test_report_figures(tmp_path: Path) -> None:
    path, stub = _suite_file(tmp_path)
    cases = read_suite(path)
    rep = suite_report(cases, [stub.table[c.text] for c in cases])
    rows = {r["functionality"]: r for r in rep["functionalities"]}
    assert [r["functionality"] for r in rep["functionalities"]] == [
        "threat_direct", "weapon_offer", "music_lyrics", "news_report"]              # threat first, then contrast
    assert (rows["threat_direct"]["n"], rows["threat_direct"]["passed"]) == (3, 2)
    assert rows["threat_direct"]["rate"] == pytest.approx(2 / 3) and rows["threat_direct"]["target"] == VT
    assert (rows["music_lyrics"]["passed"], rows["music_lyrics"]["rate"]) == (1, 0.5)
    assert rows["news_report"]["rate"] == 1.0
    assert rep["overall"]["threat"] == {"n": 4, "passed": 3, "errors": 0, "rate": 0.75}
    assert rep["overall"]["contrast"] == {"n": 4, "passed": 3, "errors": 0, "rate": 0.75}
    assert rep["targets"]["threat"]["met"] is False and rep["targets"]["threat"]["worst"] == "threat_direct"
    assert rep["targets"]["contrast"]["worst"] == "music_lyrics" and rep["targets"]["contrast"]["worst_rate"] == 0.5
    assert [f["id"] for f in rep["failures"]] == ["t2", "c2"]
    tags = rep["contrast_by_tag"]
    assert (tags["music"]["n"], tags["music"]["flagged"]) == (2, 1)
    assert (tags["news"]["n"], tags["news"]["flagged"], tags["news"]["false_positive_rate"]) == (2, 0, 0.0)
    assert tags["slang"]["flagged"] == 1
    assert "aae" not in tags                                                    # only threat cases carry aae here
    assert rep["threat_by_tag"]["aae"] == {"n": 1, "detected": 0, "rate": 0.0}


def test_printed_report_and_target_lines(tmp_path: Path) -> None:
    path, stub = _suite_file(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert run_evaluation(suite=path, classifier=stub, out=out, err=err, max_errors=1,
                          json_out=tmp_path / "s.json") == 0
    capped = io.StringIO()
    assert run_evaluation(suite=path, classifier=stub, out=capped, err=err, max_errors=0) == 0
    assert capped.getvalue().count("... and 1 more (use --max-errors)") == 2
    text = out.getvalue()
    assert "every threat functionality >= 0.90: no (worst: threat_direct 0.67)" in text
    assert "every contrast functionality >= 0.95: no (worst: music_lyrics 0.50)" in text
    assert "overall threat pass rate: 3/4 = 0.750" in text
    assert "failing threat cases (missed threat cases): 1" in text
    assert "failing contrast cases (flagged contrast cases): 1" in text
    assert "line 2 [threat_direct] missed violence_threat (predicted: weapon) tags=aae" in text
    assert "line 6 [music_lyrics] flagged (predicted: drug_supply) tags=music,slang" in text
    payload = json.loads((tmp_path / "s.json").read_text())
    assert payload["suite"]["overall"]["contrast"]["passed"] == 3
    assert payload["fairness"]["ratio"] is None                 # slices of 2 cases are below the minimum of 25


def test_odd_texts_are_printed_not_crashed_on(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({"id": "o1", "functionality": "evasion", "kind": "threat", "target": VT,
                                "labels": [VT], "text": "broken \ud800 and a\u2028separator", "tags": ["evasion"]})
                    + "\n", encoding="utf-8")
    cases = read_suite(path)
    assert len(cases) == 1 and "\u2028" in cases[0].text        # U+2028 inside a text does not split the line
    out = io.StringIO()
    assert run_evaluation(suite=path, classifier=Stub({cases[0].text: []}), out=out, err=io.StringIO(),
                          json_out=tmp_path / "o.json") == 0
    out.getvalue().encode("utf-8")                                # the report is valid UTF-8
    assert '"broken \\ud800 and a separator"' in out.getvalue()         # one line: U+2028 is white space
    json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))


def test_targets_met(tmp_path: Path) -> None:
    good = [("t1", "threat_direct", "threat", VT, [], [VT]), ("c1", "news_report", "contrast", None, ["news"], [])]
    path, stub = _suite_file(tmp_path, good)
    out = io.StringIO()
    assert run_evaluation(suite=path, classifier=stub, out=out, err=io.StringIO()) == 0
    assert "every threat functionality >= 0.90: yes (worst: threat_direct 1.00)" in out.getvalue()
    assert "every contrast functionality >= 0.95: yes (worst: news_report 1.00)" in out.getvalue()


def test_classifier_errors_count_as_not_labelled_and_are_counted(tmp_path: Path) -> None:
    path, stub = _suite_file(tmp_path)
    stub.errors = frozenset({"case t1 text", "case c2 text"})
    out = io.StringIO()
    assert run_evaluation(suite=path, classifier=stub, out=out, err=io.StringIO(), json_out=tmp_path / "e.json") == 0
    rep = json.loads((tmp_path / "e.json").read_text())["suite"]
    assert rep["errors"] == 2
    assert rep["overall"]["threat"]["passed"] == 2 and rep["overall"]["threat"]["errors"] == 1   # t1 now missed
    assert rep["overall"]["contrast"]["passed"] == 4 and rep["overall"]["contrast"]["errors"] == 1
    assert "classifier error: could not parse" in out.getvalue()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{nope", "line 2: not valid JSON"),
        ('{"id": "b", "functionality": "f", "kind": "maybe", "text": "t"}', "line 2: `kind` must be one of"),
        ('{"id": "b", "functionality": "f", "kind": "threat", "target": null, "text": "t"}',
         "line 2: a threat case needs a `target`"),
        ('{"id": "b", "functionality": "f", "kind": "threat", "target": "knives", "text": "t"}',
         "line 2: `target` must be a category or null"),
        ('{"id": "b", "functionality": "f", "kind": "contrast", "text": "t", "tags": "news"}',
         "line 2: `tags` must be a list"),
        ('{"id": "b", "kind": "contrast", "text": "t"}', "line 2: `functionality` must be a non-empty string (missing)"),
        ('{"id": "t1", "functionality": "f", "kind": "contrast", "text": "t"}', "line 2: id 't1' already on line 1"),
    ],
)
def test_malformed_suite_exits_1_naming_the_line(tmp_path: Path, bad: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "t1", "functionality": "f", "kind": "contrast", "target": None, "labels": [],
                                "text": "ok", "tags": []}) + "\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="line 2"):
        read_suite(path)
    out, err = io.StringIO(), io.StringIO()
    assert run_evaluation(suite=path, classifier=Stub({}), out=out, err=err) == 1
    assert message in err.getvalue() and str(path) in err.getvalue() and out.getvalue() == ""


def test_missing_suite_exits_2(tmp_path: Path) -> None:
    with pytest.raises(SuiteMissing):
        read_suite(tmp_path / "none.jsonl")
    err = io.StringIO()
    assert run_evaluation(suite=tmp_path / "none.jsonl", classifier=Stub({}), out=io.StringIO(), err=err) == 2
    assert "none.jsonl: no such file" in err.getvalue() and "--suite FILE" in err.getvalue()
