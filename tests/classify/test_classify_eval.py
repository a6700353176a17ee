"""``socialhub eval``: exact figures on a hand-computed file, malformed files named by line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from socialhub.classify.base import Classification
from socialhub.classify.evaluate import compute_metrics, run_eval
from socialhub.models import CATEGORIES

VT, WP, GA, DS = CATEGORIES
ROOT = Path(__file__).resolve().parents[2]

# (text, gold, predicted, group). Hand-computed below.
ROWS = [
    ("a", [VT], [VT], None),
    ("b", [VT, WP], [VT], None),
    ("c", [WP], [GA], None),
    ("d", [], [DS], "music"),
    ("e", [], [], "benign_slang"),
    ("f", [DS], [DS, WP], None),
]


class _Stub:
    """A classifier that returns fixed labels per text."""

    version = "stub-1"
    thresholds = dict.fromkeys(CATEGORIES, 0.5)

    def __init__(self, rows: list[tuple]) -> None:
        self.pred = {t: p for t, _, p, _ in rows}

    def classify_batch(self, texts: list[str]) -> list[Classification]:
        return [Classification(scores={c: float(c in self.pred[t]) for c in CATEGORIES}, labels=list(self.pred[t]),
                               reasons=[], classifier_version=self.version, lexicon_version="L", model_version="M")
                for t in texts]


def _file(tmp_path: Path, rows: list[tuple]) -> Path:
    path = tmp_path / "labelled.jsonl"
    lines = []
    for t, gold, _, group in rows:
        d = {"text": t, "labels": gold}
        if group:
            d["group"] = group
        lines.append(json.dumps(d))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_metrics_are_exact() -> None:
    m = compute_metrics([r[1] for r in ROWS], [r[2] for r in ROWS], [r[3] for r in ROWS])
    pc = m.per_category
    assert (pc[VT]["tp"], pc[VT]["fp"], pc[VT]["fn"]) == (2, 0, 0) and pc[VT]["f1"] == 1.0
    assert (pc[WP]["tp"], pc[WP]["fp"], pc[WP]["fn"]) == (0, 1, 2) and pc[WP]["f1"] == 0.0
    assert (pc[GA]["tp"], pc[GA]["fp"], pc[GA]["fn"]) == (0, 1, 0) and pc[GA]["recall"] == 0.0
    assert (pc[DS]["precision"], pc[DS]["recall"]) == (0.5, 1.0) and pc[DS]["f1"] == pytest.approx(2 / 3)
    assert (m.micro["tp"], m.micro["fp"], m.micro["fn"]) == (3, 3, 2)
    assert m.micro["precision"] == 0.5 and m.micro["recall"] == 0.6 and m.micro["f1"] == pytest.approx(6 / 11)
    assert m.macro["f1"] == pytest.approx((1 + 0 + 0 + 2 / 3) / 4)
    assert (m.any_label["tp"], m.any_label["fp"], m.any_label["fn"]) == (4, 1, 0)
    assert m.any_label["false_positive_rate"] == 0.5
    expected = {(VT, VT): 2, (WP, "none"): 1, (WP, GA): 1, ("none", DS): 1, ("none", "none"): 1, (DS, DS): 1,
                ("none", WP): 1}
    got = {(t, p): n for t, row in m.confusion.items() for p, n in row.items() if n}
    assert got == expected
    assert m.groups == {"benign_slang": {"posts": 1, "flagged": 0, "false_positive_rate": 0.0},
                        "music": {"posts": 1, "flagged": 1, "false_positive_rate": 1.0}}


def test_report_prints_the_exact_figures(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_eval(_file(tmp_path, ROWS), classifier=_Stub(ROWS), out=out) == 0
    text = out.getvalue()
    lines = text.splitlines()
    assert "violence_threat        1.000   1.000  1.000        2     2     0     0      0.50" in lines
    assert "weapon                 0.000   0.000  0.000        2     0     1     2      0.50" in lines
    assert "drug_supply            0.500   1.000  0.667        1     1     1     0      0.50" in lines
    assert "micro-average          0.500   0.600  0.545        5     3     3     2" in lines
    assert "music                   1        1    1.000" in lines
    assert "benign_slang            1        0    0.000" in lines
    assert "errors: 4 post(s) (2 with a missed label, 3 with a wrong label)" in text
    assert "line 3: missed weapon; wrong gang" in text
    assert "posts: 6 (4 with at least one label, 2 with none)" in text


def test_json_output(tmp_path: Path) -> None:
    out_json = tmp_path / "m.json"
    assert run_eval(_file(tmp_path, ROWS), classifier=_Stub(ROWS), out=io.StringIO(), json_out=out_json) == 0
    payload = json.loads(out_json.read_text())
    assert payload["micro"]["tp"] == 3 and payload["false_positive_rate_by_group"]["music"]["flagged"] == 1


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "line 3: not valid JSON"),
        ('["a list"]', "line 3: expected a JSON object"),
        ('{"labels": []}', "line 3: `text` must be a string (missing)"),
        ('{"text": 5, "labels": []}', "line 3: `text` must be a string"),
        ('{"text": "x"}', "line 3: `labels` is missing"),
        ('{"text": "x", "labels": "weapon"}', "line 3: `labels` must be a list"),
        ('{"text": "x", "labels": ["knives"]}', "line 3: unknown category 'knives'"),
        ('{"text": "x", "labels": ["weapon", "weapon"]}', "line 3: `labels` lists a category twice"),
        ('{"text": "x", "labels": [], "group": 3}', "line 3: `group` must be a string"),
    ],
)
def test_malformed_file_exits_non_zero_naming_the_line(tmp_path: Path, bad_line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "labels": []}\n\n' + bad_line + '\n{"text": "ok", "labels": []}\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run_eval(path, classifier=_Stub([("ok", [], [], None)]), out=out, err=err) == 1
    assert message in err.getvalue() and str(path) in err.getvalue()
    assert out.getvalue() == ""


def test_missing_and_empty_files(tmp_path: Path) -> None:
    err = io.StringIO()
    assert run_eval(tmp_path / "nope.jsonl", out=io.StringIO(), err=err) == 2
    assert "no such file" in err.getvalue() and "nope.jsonl" in err.getvalue()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert run_eval(empty, out=io.StringIO(), err=io.StringIO()) == 2


def test_command_line_entry_points(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "labels": []}\n{"text": "y"}\n', encoding="utf-8")
    env_path = str(ROOT / "include")
    run = [sys.executable, "-m", "socialhub.classify.evaluate", str(bad)]
    proc = subprocess.run(run, capture_output=True, text=True, env={"PYTHONPATH": env_path}, timeout=60)
    assert proc.returncode == 1 and "line 2" in proc.stderr
    for module in ("socialhub.classify.evaluate", "socialhub.classify.train"):
        proc = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                              env={"PYTHONPATH": env_path}, timeout=60)
        assert proc.returncode == 0 and "usage:" in proc.stdout


def test_shipped_labelled_files_are_well_formed() -> None:
    from socialhub.classify.dataset import read_labelled

    for split in ("train", "dev", "test"):
        examples = read_labelled(ROOT / "data" / "labelled" / f"{split}.jsonl")
        assert len(examples) > 500
        for cat in CATEGORIES:
            assert sum(cat in e.labels for e in examples) >= 90, (split, cat)
        assert sum(not e.labels for e in examples) >= 400
    train = {e.text for e in read_labelled(ROOT / "data" / "labelled" / "train.jsonl")}
    test = {e.text for e in read_labelled(ROOT / "data" / "labelled" / "test.jsonl")}
    assert not train & test
