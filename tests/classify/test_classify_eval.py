"""``socialhub eval``: exact figures on a hand-computed file, malformed files named by line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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


# --- slices, rates and the fairness ratio ------------------------------------------------------------

from socialhub.classify.evaluate import classify_all, run_evaluation  # noqa: E402
from socialhub.classify.slices import (  # noqa: E402
    SliceRate,
    aae_markers,
    explain,
    fairness,
    mle_markers,
    real_slice_names,
    smoothed_rate,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("we finna go to the park", ["finna"]),
        ("ion know what time it starts", ["ion (I don't)"]),
        ("he be working every weekend", ["habitual be"]),
        ("they always be trippin bout nothing", ["habitual be"]),
        ("bout to eat, y\u2019all want some", ["bout to", "y'all"]),       # typographic apostrophe
        ("that ain't it bruh", ["ain't", "bruh"]),
        ("lil sis got her results, deadass proud", ["lil", "deadass"]),
    ],
)
def test_aae_markers(text: str, names: list[str]) -> None:
    assert [m.name for m in aae_markers(text)] == names


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("wagwan fam", ["wagwan", "fam"]),
        ("it's peng innit", ["peng", "innit"]),
        ("bare people at the shop, allow it bruv", ["bare (very/lots)", "allow it", "bruv"]),
        ("back round my ends later blud", ["ends", "blud"]),
        ("that's peak, wallahi", ["peak", "wallahi"]),
        ("mandem are outside, proper wasteman ting", ["mandem", "wasteman", "ting"]),
    ],
)
def test_mle_markers(text: str, names: list[str]) -> None:
    assert [m.name for m in mle_markers(text)] == names


@pytest.mark.parametrize(
    "text",
    ["the ion channel opens", "could you be working late", "the bare minimum with bare hands",
     "the ends justify the means", "allow it to cool down", "peak season starts now",
     "It is all gone", "Yo man, good game", "a fair trial for all"],
)
def test_ordinary_english_is_not_a_marker(text: str) -> None:
    assert aae_markers(text) == [] and mle_markers(text) == []


def test_real_slices_come_with_their_explanation() -> None:
    names, aae, mle = real_slice_names("Tryna get home, innit")
    assert names == ["real:all", "real:aae", "real:mle"]
    assert explain(aae + mle) == 'tryna ("Tryna"), innit ("innit")'
    assert aae[0].start == 0 and aae[0].end == 5
    assert real_slice_names("Lovely weather for the match")[0] == ["real:all", "real:no_aae", "real:no_marker"]
    assert real_slice_names("wagwan")[0] == ["real:all", "real:no_aae", "real:mle"]


def test_wilson_interval_hand_computed() -> None:
    # 0 of 10: upper = (z^2/n) / (1 + z^2/n) = 0.38415 / 1.38415
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.27753, abs=1e-5)
    lo, hi = wilson_interval(5, 10)                       # symmetric about 0.5
    assert (lo, hi) == (pytest.approx(0.23659, abs=1e-5), pytest.approx(0.76341, abs=1e-5))
    lo, hi = wilson_interval(10, 10)
    assert lo == pytest.approx(0.72247, abs=1e-5) and hi == 1.0       # exact bounds at k = 0 and k = n
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_smoothed_ratio_hand_computed() -> None:
    assert smoothed_rate(0, 48) == 1 / 50
    a = SliceRate("real:aae", n=98, flagged=3, min_n=50)        # FPR 0.0306, smoothed 4/100 = 0.04
    b = SliceRate("real:no_aae", n=498, flagged=9, min_n=50)    # smoothed 10/500 = 0.02
    small = SliceRate("suite:music", n=10, flagged=9, min_n=25)  # too small: left out
    overall = SliceRate("real:all", n=596, flagged=12, min_n=50, in_ratio=False)
    f = fairness([a, b, small, overall])
    assert f["ratio"] == pytest.approx(2.0) and (f["worst"], f["best"]) == ("real:aae", "real:no_aae")
    assert f["too_small"] == ["suite:music"] and "real:all" not in f["eligible"]
    zero = SliceRate("suite:news", n=48, flagged=0, min_n=25)    # a zero rate still gives a finite ratio
    assert fairness([a, zero])["ratio"] == pytest.approx(0.04 / 0.02)
    assert fairness([a, small])["ratio"] is None
    assert a.fpr == pytest.approx(3 / 98)


def test_batches_and_progress() -> None:
    seen: list[int] = []

    class Counting:
        def classify_batch(self, texts: list[str]) -> list[object]:
            seen.append(len(texts))
            return [SimpleNamespace(labels=[], error=None) for _ in texts]

    err = io.StringIO()
    assert len(classify_all(Counting(), [str(i) for i in range(10)], what="things", err=err, batch_size=3,
                            progress_every=4)) == 10
    assert seen == [3, 3, 3, 1]
    assert err.getvalue().splitlines() == ["socialhub eval: classified 6/10 things",
                                           "socialhub eval: classified 9/10 things",
                                           "socialhub eval: classified 10/10 things"]
    quiet = io.StringIO()
    classify_all(Counting(), ["a", "b"], err=quiet, batch_size=1000, progress_every=2000)
    assert quiet.getvalue() == ""


# --- --real on a fake datasets folder ---------------------------------------------------------------

class _TextStub:
    version = "stub-real"

    def __init__(self, flagged: dict[str, list[str]]) -> None:
        self.flagged = flagged

    def classify_batch(self, texts: list[str]) -> list[SimpleNamespace]:
        return [SimpleNamespace(labels=list(self.flagged.get(t, [])),
                                scores={c: float(c in self.flagged.get(t, [])) for c in CATEGORIES},
                                reasons=[], error=None, lexicon_version="L", model_version="M") for t in texts]


def _fake_datasets(tmp_path: Path) -> Path:
    """60 everyday posts with an AAE marker (6 flagged), 60 without (3 flagged), 10 offensive (5 flagged)."""
    rows = []
    for i in range(60):
        rows.append({"id": f"a{i}", "text": f"we finna go out {i}", "davidson_class": "neither"})
        rows.append({"id": f"n{i}", "text": f"lovely weather today {i}", "davidson_class": "neither"})
    for i in range(10):
        rows.append({"id": f"o{i}", "text": f"rude words {i}", "davidson_class": "offensive_language"})
    path = tmp_path / "datasets" / "davidson2017" / "train.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return tmp_path / "datasets"


def test_real_report_on_fake_tweets(tmp_path: Path) -> None:
    folder = _fake_datasets(tmp_path)
    flagged = {f"we finna go out {i}": [VT] for i in range(6)} | {f"lovely weather today {i}": [WP] for i in range(3)}
    flagged |= {f"rude words {i}": [VT] for i in range(5)}
    out, err = io.StringIO(), io.StringIO()
    code = run_evaluation(real=folder, part="all", platform=False, classifier=_TextStub(flagged), out=out, err=err,
                          max_errors=2, json_out=tmp_path / "r.json")
    assert code == 0, err.getvalue()
    text = out.getvalue()
    lines = text.splitlines()
    # Wilson 95%: 9/120 -> [0.0400, 0.1364]; 6/60 -> [0.0466, 0.2015]; 3/60 -> [0.0171, 0.1370]; 5/10 -> [0.2366, 0.7634]
    assert "  real:all                  120        9   0.075   [0.040, 0.136]       0" in lines
    assert "  real:aae                   60        6   0.100   [0.047, 0.201]       0" in lines
    assert "  real:no_marker             60        3   0.050   [0.017, 0.137]       0" in lines
    assert "  offensive_language         10        5   0.500   [0.237, 0.763]" in lines
    assert "flagged everyday tweets: 9 of 120" in text and "... and 7 more (use --max-errors)" in text
    assert 'markers: finna ("finna")' in text
    # smoothed: aae 7/62 = 0.1129, no_aae and no_marker 4/62 = 0.0645: ratio 1.75
    assert "worst-to-best benign slice ratio (smoothed; real slices >= 50 posts): 1.75" in text
    assert "real platform posts: skipped (--no-platform)" in text
    payload = json.loads((tmp_path / "r.json").read_text())
    real = payload["real"]
    assert real["neither_by_slice"]["real:aae"]["flagged"] == 6
    assert real["flagged_by_category"][VT] == {"neither": 6, "offensive_language": 5}
    assert real["offensive_and_hate"]["offensive_language"]["flagged"] == 5
    assert payload["fairness"]["ratio"] == pytest.approx((7 / 62) / (4 / 62))
    assert "we finna" not in (tmp_path / "r.json").read_text()          # ids only, never the texts


def test_real_heldout_is_the_default_part(tmp_path: Path) -> None:
    from socialhub.classify.realdata import split_part

    folder = _fake_datasets(tmp_path)
    out = io.StringIO()
    assert run_evaluation(real=folder, platform=False, classifier=_TextStub({}), out=out, err=io.StringIO(),
                          json_out=tmp_path / "h.json") == 0
    ids = [f"a{i}" for i in range(60)] + [f"n{i}" for i in range(60)]
    held = sum(split_part(i) == "heldout" for i in ids)
    assert json.loads((tmp_path / "h.json").read_text())["real"]["neither_by_slice"]["real:all"]["n"] == held
    assert "(part: heldout)" in out.getvalue()


def test_combined_fairness_covers_every_source(tmp_path: Path) -> None:
    folder = _fake_datasets(tmp_path)
    suite = tmp_path / "suite.jsonl"
    suite.write_text("".join(json.dumps({"id": f"c{i}", "functionality": "news", "kind": "contrast", "target": None,
                                         "labels": [], "text": f"news item {i}", "tags": ["news"]}) + "\n"
                             for i in range(30)), encoding="utf-8")
    out = io.StringIO()
    code = run_evaluation(_file(tmp_path, ROWS), suite=suite, real=folder, part="all", platform=False,
                          classifier=_TextStub({}), out=out, err=io.StringIO(), fairness_only=True)
    assert code == 0
    text = out.getvalue()
    for name in ("real:aae", "suite:news", "group:music", "group:benign_slang"):
        assert f"  {name} " in text
    assert "group slices >= 25 posts, real slices >= 50 posts, suite slices >= 25 posts" in text
    assert "socialhub eval --suite" not in text                         # --fairness-only: the sections are not printed


def test_real_missing_folder_exit_2_says_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from socialhub.cli import main

    monkeypatch.setenv("SOCIALHUB_DATASETS", str(tmp_path / "not-here"))
    assert main(["eval", "--real"]) == 2
    msg = capsys.readouterr().err
    assert str(tmp_path / "not-here") in msg and "SOCIALHUB_DATASETS" in msg and "--real DIR" in msg
    assert main(["eval", "--real", str(tmp_path / "other")]) == 2
    assert str(tmp_path / "other") in capsys.readouterr().err
    bad = _fake_datasets(tmp_path)
    (bad / "davidson2017" / "train.jsonl").write_text('{"id": "1", "text": "x", "davidson_class": "neither"}\n{\n')
    assert main(["eval", "--real", str(bad)]) == 1
    assert "line 2: not valid JSON" in capsys.readouterr().err
    assert main(["eval"]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err


def test_real_cli_entry_point_missing_folder(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "socialhub.cli", "eval", "--real", str(tmp_path / "gone")],
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "include")}, timeout=60)
    assert proc.returncode == 2 and "SOCIALHUB_DATASETS" in proc.stderr and proc.stdout == ""
    proc = subprocess.run([sys.executable, "-m", "socialhub.cli", "eval", "--help"], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT / "include")}, timeout=60)
    assert proc.returncode == 0
    for words in ("--suite", "--real", "--part", "--fixtures", "SOCIALHUB_DATASETS", "Davidson", "smoothed",
                  "exit status"):
        assert words in proc.stdout


def test_real_platform_posts_are_reported_unlabelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _fake_datasets(tmp_path)
    fx = tmp_path / "fixtures"
    for platform, texts in (("reddit", ["garden news one", "garden news two", "garden news three"]),
                            ("x", ["bus is late again", "match tonight"])):
        (fx / platform).mkdir(parents=True)
        (fx / platform / "page.body.json").write_text(json.dumps({"data": [{"text": t} for t in texts]}))
    flagged = {"garden news one": [VT], "garden news two": [VT], "bus is late again": [WP]}
    out = io.StringIO()
    assert run_evaluation(real=folder, part="all", fixtures=fx, classifier=_TextStub(flagged), out=out,
                          err=io.StringIO(), max_errors=2, json_out=tmp_path / "p.json") == 0
    text = out.getvalue()
    assert "real platform posts (unlabelled): 5 distinct texts from the recorded API responses (reddit 3, x 2)" in text
    assert "flagged: 3 (0.600); caveat: these posts carry no labels" in text
    assert "by platform: reddit 2/3, x 1/2" in text
    shown = [ln for ln in text.splitlines() if ln.startswith("  reddit/") or ln.startswith("  x/")]
    assert [ln.split("/")[0].strip() for ln in shown] == ["reddit", "x"]      # one from each platform first
    plat = json.loads((tmp_path / "p.json").read_text())["real"]["platform_posts"]
    assert plat["by_platform"] == {"reddit": {"posts": 3, "flagged": 2}, "x": {"posts": 2, "flagged": 1}}
    # an explicit --fixtures that is missing is an error; the default one missing only skips the slice
    err = io.StringIO()
    assert run_evaluation(real=folder, fixtures=tmp_path / "nope", classifier=_TextStub({}), out=io.StringIO(),
                          err=err) == 2
    assert "SOCIALHUB_CONFORMANCE_FIXTURES" in err.getvalue()
    monkeypatch.setenv("SOCIALHUB_CONFORMANCE_FIXTURES", str(tmp_path / "nope"))
    out = io.StringIO()
    assert run_evaluation(real=folder, classifier=_TextStub({}), out=out, err=io.StringIO()) == 0
    assert "real platform posts: skipped (recordings folder" in out.getvalue()


def test_ratio_notes_say_when_worst_is_worst_only_by_smoothing_and_whether_it_is_significant() -> None:
    from socialhub.classify.slices import ratio_notes

    small_zero = SliceRate("real:aae", n=104, flagged=0, min_n=50)
    big = SliceRate("real:no_aae", n=2815, flagged=10, min_n=50)
    notes = ratio_notes(small_zero, big)
    assert "only after smoothing" in notes[0] and "0/104" in notes[0]
    assert "not significant" in notes[1]
    high = SliceRate("suite:mle", n=400, flagged=80, min_n=25)
    low = SliceRate("suite:aae", n=400, flagged=2, min_n=25)
    assert ratio_notes(high, low) == ["the difference is significant at 95%: the two slices' Wilson intervals do not overlap"]


def test_ratio_notes_say_when_no_slice_has_a_false_positive() -> None:
    from socialhub.classify.slices import ratio_notes

    notes = ratio_notes(SliceRate("group:gaming", n=39, flagged=0), SliceRate("group:everyday", n=158, flagged=0))
    assert "no slice in the ratio has a false positive" in notes[0]
