"""The statistical model: featuriser parity, deterministic training, artifact round-trip, feedback.

Training runs on a tiny hand-written set (a few seconds); the shipped model is only loaded.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from socialhub.classify import RuleClassifier, load_classifier, load_rule_classifier
from socialhub.classify.combined import CombinedClassifier
from socialhub.classify.dataset import DatasetError, feedback_examples, merge_feedback, read_feedback, read_labelled
from socialhub.classify.features import VocabIndex, feature_text, ngram_hash, ngram_hashes, present_features
from socialhub.classify.model import DEFAULT_MODEL_DIR, MANIFEST_FILE, MODEL_FILE, RULE_FEATURES, LinearModel
from socialhub.classify.normalise import normalise
from socialhub.classify.train import choose_thresholds, run_train, write_thresholds
from socialhub.errors import ConfigError
from socialhub.models import CATEGORIES

VT, WP, GA, DS = CATEGORIES

TINY = [
    ("im gonna stab u when i see u", [VT]), ("ur getting wetted tonight", [VT]), ("gonna shank that rat", [VT, WP]),
    ("we know where u live, watch ur back", [VT]), ("on sight for him, no talking", [VT]),
    ("new bora just came in the post", [WP]), ("got the strap in my waistband", [WP]),
    ("selling a glock, dm me", [WP]), ("zombie knife on me at all times", [WP]),
    ("fuck the opps, we run this block", [GA]), ("opp block is empty lol", [GA]),
    ("our ends, no opps allowed", [GA]), ("rest in piss to ur boy", [GA]),
    ("dm for zoots, fast delivery", [DS]), ("runners wanted, good money", [DS]),
    ("new pack just landed, hit my line", [DS]), ("bud and white available, snap me", [DS]),
    ("sharpen your chef's knife for the roast", []), ("we killed them 4-0 today", []),
    ("got 12 kills in warzone", []), ("new single out friday, link in bio", []),
    ("police said a man was stabbed last night", []), ("thanks bud, see you later", []),
    ("snow day, schools closed", []), ("my mum is gonna kill me lol", []), ("what time is the match on?", []),
]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_train(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tiny")
    return _write_jsonl(d / "train.jsonl", [{"text": t, "labels": labels} for t, labels in TINY])


@pytest.fixture(scope="module")
def tiny_model(tiny_train: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("model_a")
    manifest = run_train(tiny_train, out_dir=out, seed=3, min_df=1, cv_folds=3, out=open("/dev/null", "w"))  # noqa: SIM115
    return out, manifest


# ---------------------------------------------------------------- featuriser

def test_numpy_and_python_hashes_agree_including_non_ascii() -> None:
    rng = random.Random(1)
    alphabet = "ab z'\u00e9\u0436\U0001F52A_@1"
    texts = [feature_text("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))) for _ in range(50)]
    post, start, length, hashes = ngram_hashes(texts, 1, 4)
    for p, s, n, h in zip(post.tolist(), start.tolist(), length.tolist(), hashes.tolist(), strict=True):
        assert ngram_hash(texts[p][s:s + n]) == h
    # every n-gram of every text is listed exactly once per occurrence, and none straddles two posts
    expected = sum(max(0, len(t) - n + 1) for t in texts for n in range(1, 5))
    assert hashes.size == expected


def test_mentions_and_links_are_masked_one_for_one() -> None:
    text = "yo @tallz_07 see https://x.example/a ok"
    ft = feature_text(text)
    assert len(ft) == len(text) + 2
    assert "tallz" not in ft and "example" not in ft
    assert ft.startswith(" yo @ ") and "http " in ft


def test_vocab_index_matches_binary_search() -> None:
    rng = np.random.default_rng(0)
    vocab = np.unique(rng.integers(0, 2**63, 5000, dtype=np.int64).astype(np.uint64))
    queries = np.concatenate([vocab[::3], rng.integers(0, 2**63, 3000, dtype=np.int64).astype(np.uint64)])
    pos, found = VocabIndex(vocab, bits=10).lookup(queries)      # few bits: many shared slots
    ref = np.searchsorted(vocab, queries)
    ref_found = (ref < vocab.size) & (vocab[np.minimum(ref, vocab.size - 1)] == queries)
    assert np.array_equal(found, ref_found)
    assert np.array_equal(pos[found], ref[ref_found])


def test_model_score_equals_a_direct_computation(tiny_model: tuple[Path, dict]) -> None:
    """The vectorised scoring equals the formula written out with Python strings."""
    model = LinearModel.load(tiny_model[0])
    text = "gonna sh\u200bank u, new bora 🔪 lol"
    norm = normalise(text).text
    rules = np.array([[0.5, 0.2, 0.0, 0.0, 0.6, 0.2, 0.0, 0.1]])
    out = model.predict([norm], rules)
    ft = feature_text(norm)
    vocab = {g: i for i, g in enumerate(model.vocabulary)}
    occ = [vocab[ft[i:i + n]] for n in range(model.n_min, model.n_max + 1) for i in range(len(ft) - n + 1)
           if ft[i:i + n] in vocab]
    norm2 = sum(model.idf[f] ** 2 for f in occ)
    for c in range(len(CATEGORIES)):
        z = sum(model.idf[f] * model.coef[f, c] for f in occ) / np.sqrt(norm2) + rules[0] @ model.rule_coef[:, c]
        z += model.bias[c]
        assert out.prob[0, c] == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-9)
    batch = present_features([ft], model.index, model.n_min, model.n_max)
    assert int(batch.count.sum()) == len(occ)


# ---------------------------------------------------------------- training

def test_training_is_deterministic(tiny_train: Path, tiny_model: tuple[Path, dict], tmp_path: Path) -> None:
    first_dir, first = tiny_model
    again = run_train(tiny_train, out_dir=tmp_path, seed=3, min_df=1, cv_folds=3, out=open("/dev/null", "w"))  # noqa: SIM115
    assert (tmp_path / MODEL_FILE).read_bytes() == (first_dir / MODEL_FILE).read_bytes()
    assert again["model_version"] == first["model_version"]
    assert (tmp_path / MANIFEST_FILE).read_text() == (first_dir / MANIFEST_FILE).read_text()


def test_manifest_records_inputs_and_versions(tiny_train: Path, tiny_model: tuple[Path, dict]) -> None:
    out, manifest = tiny_model
    on_disk = json.loads((out / MANIFEST_FILE).read_text())
    assert on_disk == manifest
    assert manifest["model_version"].startswith("lr1-")
    assert manifest["lexicon_version"] == load_rule_classifier().lexicon.version
    data = manifest["training"]["data"][0]
    assert data["examples"] == len(TINY) and len(data["sha256"]) == 64
    assert manifest["training"]["seed"] == 3
    assert set(manifest["top_features"]) == set(CATEGORIES)


def test_artifact_round_trip_and_integrity(tiny_model: tuple[Path, dict], tmp_path: Path) -> None:
    src, manifest = tiny_model
    model = LinearModel.load(src)
    assert model.version == manifest["model_version"]
    data = json.loads((src / MODEL_FILE).read_text())
    rebuilt = LinearModel(data, version="x")
    texts = [normalise(t).text for t, _ in TINY]
    feats = np.zeros((len(texts), len(RULE_FEATURES)))
    assert np.array_equal(model.predict(texts, feats).prob, rebuilt.predict(texts, feats).prob)

    damaged = tmp_path / "damaged"
    shutil.copytree(src, damaged)
    raw = bytearray((damaged / MODEL_FILE).read_bytes())
    raw[len(raw) // 2] ^= 1
    (damaged / MODEL_FILE).write_bytes(bytes(raw))
    with pytest.raises(ConfigError, match="sha256"):
        LinearModel.load(damaged)
    (src / MANIFEST_FILE).rename(tmp_path / "m.json")
    try:
        with pytest.raises(ConfigError, match="manifest"):
            LinearModel.load(src)
    finally:
        (tmp_path / "m.json").rename(src / MANIFEST_FILE)


def test_missing_model_falls_back_to_rules_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="socialhub.classify"):
        clf = load_classifier(model_dir=tmp_path / "nowhere")
    assert isinstance(clf, RuleClassifier)
    assert "using the rules alone" in caplog.text
    assert clf.thresholds == load_rule_classifier().thresholds


def test_trained_model_ranks_the_tiny_set(tiny_model: tuple[Path, dict]) -> None:
    """Sanity: on its own training posts, every category scores its positives above its negatives on average."""
    clf = CombinedClassifier(load_rule_classifier(), LinearModel.load(tiny_model[0]), dict.fromkeys(CATEGORIES, 0.5))
    results = clf.classify_batch([t for t, _ in TINY])
    for cat in CATEGORIES:
        pos = [r.scores[cat] for r, (_, labels) in zip(results, TINY, strict=True) if cat in labels]
        neg = [r.scores[cat] for r, (_, labels) in zip(results, TINY, strict=True) if cat not in labels]
        assert sum(pos) / len(pos) > sum(neg) / len(neg) + 0.05, cat
    calibration = json.loads((tiny_model[0] / MODEL_FILE).read_text())["calibration"]
    assert all(a >= 0 for a, _ in calibration)        # n-gram evidence is never turned upside down


def test_feedback_is_merged_and_recorded(tiny_train: Path, tmp_path: Path) -> None:
    fb = _write_jsonl(tmp_path / "feedback.jsonl", [
        {"text": "thanks bud, see you later", "labels": ["drug_supply"], "decision": "false_positive",
         "alert_id": "a1"},
        {"text": "bring the ting to the park later", "labels": ["weapon"], "decision": "true_positive"},
        {"text": "bando party tonight", "labels": ["drug_supply"], "decision": "true_positive",
         "corrected_labels": []},
    ])
    records = read_feedback(fb)
    assert [r["final_labels"] for r in records] == [[], ["weapon"], []]
    examples = feedback_examples(records)
    merged = merge_feedback(read_labelled(tiny_train), examples)
    assert len(merged) == len(TINY) + 2                         # one feedback text replaces a training post
    assert [e for e in merged if e.text == "thanks bud, see you later"][0].group == "feedback"
    manifest = run_train(tiny_train, out_dir=tmp_path / "m", feedback=fb, min_df=1, cv_folds=3,
                         out=open("/dev/null", "w"))  # noqa: SIM115
    assert manifest["training"]["feedback_examples"] == 3
    assert manifest["training"]["data"][1]["kind"] == "feedback"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"text": "x", "labels": [], "decision": "maybe"}, "line 2: `decision` must be one of"),
        ({"text": "x", "labels": ["weapons"], "decision": "true_positive"}, "line 2: unknown category 'weapons'"),
        ({"labels": [], "decision": "true_positive"}, "line 2: `text` must be a string"),
    ],
)
def test_malformed_feedback_names_the_line(tmp_path: Path, line: dict, message: str) -> None:
    ok = {"text": "ok", "labels": [], "decision": "false_positive"}
    path = _write_jsonl(tmp_path / "fb.jsonl", [ok, line])
    with pytest.raises(DatasetError, match=message):
        read_feedback(path)


# ---------------------------------------------------------------- thresholds

def test_choose_thresholds_keeps_violence_recall_and_maximises_f1_elsewhere() -> None:
    gold = [(VT,), (VT,), (VT,), (VT,), (), (), (WP,), (WP,), (), ()]
    scores = np.zeros((10, 4))
    scores[:, 0] = [0.9, 0.8, 0.3, 0.12, 0.5, 0.1, 0, 0, 0, 0]
    scores[:, 1] = [0, 0, 0, 0, 0.6, 0.2, 0.7, 0.55, 0.3, 0.1]
    t = choose_thresholds(gold, scores, vt_recall=0.95)
    assert t[VT] == 0.12                                        # highest keeping all 4 threats
    assert t[WP] == 0.55                                        # best F1: 2 TP, 1 FP (0.6)
    assert choose_thresholds(gold, scores, vt_recall=0.75)[VT] == 0.3


def test_choose_thresholds_takes_the_highest_on_the_f1_plateau() -> None:
    # F1 is 0.857 at 0.3 (3 TP, 1 FP) and 0.8 at 0.8 (2 TP, 1 FN): within a tolerance of 0.06
    # the higher threshold wins, within 0.01 the best F1 does.
    gold = [(VT,), (VT,), (VT,), ()]
    scores = np.zeros((4, 4))
    scores[:, 0] = [0.9, 0.8, 0.3, 0.35]
    assert choose_thresholds(gold, scores, f1_tolerance=0.01)[VT] == 0.3
    assert choose_thresholds(gold, scores, f1_tolerance=0.06)[VT] == 0.8


def test_write_thresholds_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("# keep me\nversion: '1'\nthresholds:\n  violence_threat: 0.3  # why\n  weapon: 0.4\n"
                    "  gang_affiliation: 0.45\n  drug_supply: 0.45\nrules_only:\n  violence_threat: 0.3\n"
                    "  weapon: 0.4\n  gang_affiliation: 0.45\n  drug_supply: 0.45\n", encoding="utf-8")
    write_thresholds(path, {VT: 0.11, WP: 0.22, GA: 0.33, DS: 0.44}, "lr1-abc")
    text = path.read_text()
    assert "# keep me" in text and "violence_threat: 0.11  # why" in text
    assert text.count("violence_threat: 0.3") == 1               # rules_only untouched
    assert 'model_version: "lr1-abc"' in text
    from socialhub.classify.lexicon import load_thresholds

    thr = load_thresholds(path)
    assert thr.thresholds[DS] == 0.44 and thr.for_rules()[DS] == 0.45 and thr.model_version == "lr1-abc"


def test_shipped_model_is_small_and_matches_the_thresholds_file() -> None:
    assert (DEFAULT_MODEL_DIR / MODEL_FILE).stat().st_size < 5_000_000
    from socialhub.classify.lexicon import load_thresholds

    manifest = json.loads((DEFAULT_MODEL_DIR / MANIFEST_FILE).read_text())
    assert load_thresholds().model_version == manifest["model_version"]
    assert manifest["lexicon_version"] == load_rule_classifier().lexicon.version


def test_thresholds_are_raised_until_no_benign_group_is_over_flagged() -> None:
    from socialhub.classify.train import cap_group_fpr

    # 20 cooking posts: 3 score 0.5 (15%), the rest 0.05; 20 everyday posts all at 0.05
    gold: list[tuple[str, ...]] = [()] * 40
    groups: list[str | None] = ["cooking"] * 20 + ["everyday"] * 20
    scores = np.full((40, 4), 0.05)
    scores[:3, 1] = 0.5
    t = cap_group_fpr(dict.fromkeys(CATEGORIES, 0.1), gold, groups, scores, 0.05)
    assert t[WP] == 0.51 and t[VT] == 0.1        # weapon raised past the kitchen knives, others kept
    # a group under the minimum size does not count
    assert cap_group_fpr(dict.fromkeys(CATEGORIES, 0.1), gold, groups, scores, 0.05, min_posts=21)[WP] == 0.1


def test_an_ambiguous_weapon_word_anchors_unless_it_is_in_an_everyday_phrase() -> None:
    from socialhub.classify.anchors import find_anchors
    from socialhub.classify.normalise import normalise

    assert "weapon" not in find_anchors(normalise("my girl is the best ting in my life"))
    assert "weapon" not in find_anchors(normalise("Where's the ting for the telly? the remote innit"))
    assert "weapon" in find_anchors(normalise("say hello to the new ting, fully loaded"))
    # an everyday phrase still anchors when the post also has a word of violence
    assert "weapon" in find_anchors(normalise("best ting is, he gets stabbed tonight"))
