"""The default detection layer (rules + shipped model): key examples, evidence, versions."""

from __future__ import annotations

import json

import pytest

from socialhub.classify import Classification, Classifier, load_classifier
from socialhub.classify.combined import CombinedClassifier
from socialhub.classify.model import DEFAULT_MODEL_DIR, MANIFEST_FILE
from socialhub.models import CATEGORIES


@pytest.fixture(scope="module")
def clf() -> CombinedClassifier:
    c = load_classifier()
    assert isinstance(c, CombinedClassifier), "the shipped model artifact should be present"
    return c


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I'm gonna stab you when I see you", "violence_threat"),
        ("you're dead, watch your back", "violence_threat"),
        ("gonna wet him up tonight", "violence_threat"),
        ("gonna sh\u200bank you", "violence_threat"),
        ("got the bora on me at all times", "weapon"),
        ("new skeng just landed", "weapon"),
        ("yo 5h4nk lol", "weapon"),
        ("fuck the opps, pussy opps", "gang_affiliation"),
        ("opp block gets no peace", "gang_affiliation"),
        ("dm for zoots, fast delivery", "drug_supply"),
        ("runners wanted, good money, county lines", "drug_supply"),
        ("new pack just landed, hit my line", "drug_supply"),
    ],
)
def test_flags_key_examples(clf: CombinedClassifier, text: str, category: str) -> None:
    result = clf.classify(text)
    assert category in result.labels, result.to_dict()


@pytest.mark.parametrize(
    "text",
    [
        "A 19-year-old was sentenced to 14 years at Snaresbrook Crown Court for stabbing a teenager with a "
        "zombie knife, police said.",
        "Knife crime destroys families. Drop your blade in a knife amnesty bin this week #LivesNotKnives",
        "Use a sharp chef's knife to dice the onions, then fry gently in butter. Recipe below",
        "We destroyed them 4-0 today, killed them in the second half \u26BD",
        "I killed him in Fortnite last night \U0001F602 20 kill game",
        "New single 'Southside' out Friday on all platforms, link in bio",
        "you're dead funny mate",
        "thanks bud, have a great weekend",
        "my mum's gonna kill me, I'm so late",
        "Ravi Shankar concert tonight",
        "snow day, schools closed \u2744\ufe0f",
        "",
    ],
)
def test_does_not_flag_key_hard_negatives(clf: CombinedClassifier, text: str) -> None:
    assert clf.classify(text).labels == [], clf.classify(text).to_dict()


def test_result_carries_scores_evidence_and_versions(clf: CombinedClassifier) -> None:
    text = "gonna wet him up tonight \U0001F52A"
    result = clf.classify(text)
    d = json.loads(json.dumps(result.to_dict()))
    manifest = json.loads((DEFAULT_MODEL_DIR / MANIFEST_FILE).read_text())
    assert d["lexicon_version"] == clf.lexicon.version
    assert d["model_version"] == manifest["model_version"] == clf.model.version
    assert d["classifier_version"] == f"rules-{clf.lexicon.version}+model-{clf.model.version}"
    assert list(d["scores"]) == list(CATEGORIES) and d["thresholds"] == clf.thresholds
    assert set(d["components"]) == {"rules", "model", "model_words", "model_rules", "anchor"}
    rule_spans = [r for r in d["reasons"] if r["effect"] == "match" and r["category"] == "violence_threat"]
    assert rule_spans and all(r["rule"].startswith("vt.") and "wet him" in r["text"] for r in rule_spans)
    model_spans = [r for r in d["reasons"] if r["effect"] == "model" and r["category"] == "violence_threat"]
    assert model_spans and all(r["rule"] == "model.ngrams" and r["weight"] > 0 for r in model_spans)
    assert any("wet" in r["text"] or "him" in r["text"] for r in model_spans)
    for r in d["reasons"]:
        assert text[r["start"]:r["end"]] == r["text"]
    assert Classification.from_dict(d) == result


def test_model_evidence_quotes_the_original_evading_text(clf: CombinedClassifier) -> None:
    text = "new \u0455h\u0430nk just came \U0001F52A"
    result = clf.classify(text)
    assert "weapon" in result.labels
    model = [r for r in result.reasons if r["effect"] == "model" and r["category"] == "weapon"]
    assert any(r["text"] == "\u0455h\u0430nk" or "\u0455h\u0430nk" in r["text"] for r in model), model
    assert all(text[r["start"]:r["end"]] == r["text"] for r in result.reasons)


def test_components_explain_the_score(clf: CombinedClassifier) -> None:
    import math

    result = clf.classify("dm for zoots, fast delivery")
    c = result.components
    for j, cat in enumerate(CATEGORIES):
        z = c["model_words"][cat] + c["model_rules"][cat] + float(clf.model.bias[j])
        # no word of the category (anchors.py): the model may not score it at all
        expected = 1 / (1 + math.exp(-z)) if c["anchor"][cat] else 0.0
        assert expected == pytest.approx(result.scores[cat], abs=2e-3)
    assert c["anchor"]["drug_supply"] == 1.0 and c["anchor"]["weapon"] == 0.0
    assert c["rules"]["drug_supply"] > 0 and c["model"] == result.scores


def test_a_model_label_rests_on_a_word_of_its_category(clf: CombinedClassifier) -> None:
    # Posts the n-gram model once labelled with nothing of the category in them (real demo and
    # tweet false alarms): no anchor, no label.
    for text in ["Toot number 9!", "new trainers came, clean 👟", "nandos with the mandem tonight",
                 "anyone watching the match tonight?", "lucky monkey"]:
        assert clf.classify(text).labels == [], text
    text = "any opp we see in Abbotsway gets r\u0456pped, trust"      # a Cyrillic i; no rule matches it
    result = clf.classify(text)
    assert "violence_threat" in result.labels and result.components["rules"]["violence_threat"] == 0.0
    anchors = [r for r in result.reasons if r["rule"] == "anchor.violence_threat"]
    assert [(a["text"], a["effect"], a["weight"]) for a in anchors] == [("opp", "match", 0.0)]
    assert any(r["effect"] == "model" and r["category"] == "violence_threat" for r in result.reasons)


def test_batch_equals_single_and_protocol(clf: CombinedClassifier) -> None:
    texts = ["dm for zoots", "", "hello there", "gonna sh\u200bank you", "fuck the opps \U0001F52A"]
    assert clf.classify_batch(texts) == [clf.classify(t) for t in texts]
    assert clf.classify_batch([]) == []
    assert isinstance(clf, Classifier)
    with pytest.raises(TypeError):
        clf.classify_batch(["ok", None])  # type: ignore[list-item]


def test_threshold_overrides_and_default_is_cached(clf: CombinedClassifier) -> None:
    assert load_classifier() is clf
    strict = load_classifier(thresholds={"weapon": 0.999})
    assert isinstance(strict, CombinedClassifier) and strict is not clf
    assert strict.thresholds["weapon"] == 0.999
    # the model's weapon score no longer labels; only the rules' own evidence still does
    res = strict.classify("selling it cheap, fully working, dm me")
    assert "weapon" not in res.labels and res.scores["weapon"] < 0.999
    assert all(0.0 < t <= 1.0 for t in clf.thresholds.values())
