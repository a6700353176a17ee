"""The rule classifier on the shipped lexicon: what it flags, what it doesn't, and its evidence."""

from __future__ import annotations

import json

import pytest

import socialhub.classify as classify_pkg
from socialhub.classify import Classification, Classifier, Reason, RuleClassifier, load_classifier, load_rule_classifier
from socialhub.classify.lexicon import load_lexicon
from socialhub.errors import ConfigError
from socialhub.models import CATEGORIES


@pytest.fixture(scope="module")
def clf() -> RuleClassifier:
    return load_rule_classifier()


def _reasons(result: Classification, *, category: str | None = None, effect: str | None = None) -> list[Reason]:
    return [r for r in result.reasons
            if (category is None or r["category"] == category) and (effect is None or r["effect"] == effect)]


# ---------------------------------------------------------------- clear examples

@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I'm gonna stab you when I see you", "violence_threat"),
        ("you're dead, watch your back", "violence_threat"),
        ("we'll catch you lacking on your ends", "violence_threat"),
        ("gonna wet him up tonight", "violence_threat"),
        ("i know where you live", "violence_threat"),
        ("got the bora on me at all times", "weapon"),
        ("new skeng just landed", "weapon"),
        ("ting in my waist, bring the ting", "weapon"),
        ("zombie knife collection growing", "weapon"),
        ("fuck the opps, pussy opps", "gang_affiliation"),
        ("opp block gets no peace", "gang_affiliation"),
        ("dm for zoots, fast delivery", "drug_supply"),
        ("runners wanted, good money, county lines", "drug_supply"),
        ("shotting food on the line all week", "drug_supply"),
        ("new pack just landed, hit my line", "drug_supply"),
    ],
)
def test_flags_clear_examples(clf: RuleClassifier, text: str, category: str) -> None:
    result = clf.classify(text)
    assert category in result.labels, result.to_dict()
    for r in _reasons(result, category=category, effect="match"):
        assert text[r["start"]:r["end"]] == r["text"]


# ---------------------------------------------------------------- benign examples

@pytest.mark.parametrize(
    ("text", "context_rule"),
    [
        ("A 19-year-old was sentenced to 14 years at Snaresbrook Crown Court for stabbing a "
         "teenager with a zombie knife, police said.", "ctx.news"),
        ("Knife crime destroys families. Drop your blade in a knife amnesty bin this week "
         "#LivesNotKnives \U0001F52A\u274C", "ctx.prevention"),
        ("A sharp blade, a sharp chef's knife: dice the onions, then fry gently in butter. Recipe below",
         "ctx.cooking"),
        ("We destroyed them 4-0 today, killed them in the second half \u26BD", "ctx.sport"),
        ("I killed him in Fortnite last night \U0001F602 20 kill game", "ctx.gaming"),
        ("New drill tune 'Opp Block' out Friday on all platforms \U0001F525 link in bio",
         "ctx.fiction_lyrics"),
    ],
)
def test_benign_posts_are_not_flagged_because_of_their_context(
        clf: RuleClassifier, text: str, context_rule: str) -> None:
    result = clf.classify(text)
    assert result.labels == [], result.to_dict()
    # Each of these has a lexicon hit that WOULD be a label on its own: the context is what
    # keeps it below threshold, so this test fails if the context rule stops working.
    assert any(r["rule"] == context_rule for r in _reasons(result, effect="context")), result.to_dict()
    no_context = RuleClassifier(clf.lexicon.model_copy(update={"context_rules": []}), clf.thresholds)
    assert no_context.classify(text).labels != []


@pytest.mark.parametrize(
    "text",
    [
        "Ravi Shankar concert tonight",            # word boundaries: "shank" inside a name
        "we're up early today",                     # "re up" inside a contraction
        "thanks bud, have a great weekend",         # one ambiguous word stays below threshold
        "oops sorry, opps typo",                    # a lone ambiguous "opps"
        "slide into my dms",                        # "slide" only counts "on" the opps
        "you're dead funny mate",                   # UK "dead" as an intensifier
        "white and brown trainers for sale",        # colours, weak alone
        "",
    ],
)
def test_everyday_language_is_not_flagged(clf: RuleClassifier, text: str) -> None:
    assert clf.classify(text).labels == []


def test_music_release_without_slang_has_no_evidence(clf: RuleClassifier) -> None:
    result = clf.classify("New single 'Southside' out Friday on all platforms, link in bio")
    assert result.reasons == [] and set(result.scores.values()) == {0.0}


# ---------------------------------------------------------------- evasion

@pytest.mark.parametrize(
    ("evading", "category"),
    [
        ("sh\u200bank", "weapon"),
        ("\u0455h\u0430nk", "weapon"),
        ("5h4nk", "weapon"),
        ("k n i f e on me", "weapon"),            # a bare "knife" is not a label by itself
        ("k.n.i.f.e on me", "weapon"),
        ("\U0001F52A", "weapon"),
        ("shaaaank", "weapon"),
        ("0pp bl0ck", "gang_affiliation"),
        ("w3t h1m up", "violence_threat"),
        ("d\u200bm f\u200bor z\u043e\u043ets", "drug_supply"),
    ],
)
def test_evasion_is_flagged_with_evidence_quoting_the_original(
        clf: RuleClassifier, evading: str, category: str) -> None:
    text = f"yo {evading} lol"
    result = clf.classify(text)
    assert category in result.labels, result.to_dict()
    spans = [(r["start"], r["end"], r["text"]) for r in _reasons(result, category=category, effect="match")]
    start, end = text.index(evading), text.index(evading) + len(evading)
    assert (start, end, evading) in spans
    assert text[start:end] == evading


# ---------------------------------------------------------------- scoring

def test_context_lowers_score_by_its_multiplier(clf: RuleClassifier) -> None:
    plain = clf.classify("he pulled out a zombie knife")
    news = clf.classify("he pulled out a zombie knife, police said")
    multiplier = next(r.multiplier for r in clf.lexicon.context_rules if r.id == "ctx.news")
    assert plain.scores["weapon"] > news.scores["weapon"] > 0
    assert news.scores["weapon"] == pytest.approx(plain.scores["weapon"] * multiplier, abs=1e-4)
    assert "weapon" in plain.labels and "weapon" not in news.labels
    ctx = _reasons(news, category="weapon", effect="context")
    assert [(r["rule"], r["text"], r["weight"]) for r in ctx] == [("ctx.news", "police said", multiplier)]


def test_context_restricted_to_categories_leaves_others_alone(clf: RuleClassifier) -> None:
    # Cooking applies to weapon only: drug slang borrows kitchen words, so it must not be lowered.
    text = "recipe for success: dm for zoots"
    assert clf.classify(text).scores["drug_supply"] == clf.classify("dm for zoots").scores["drug_supply"]


def test_multi_label_post(clf: RuleClassifier) -> None:
    result = clf.classify("Fuck the opps, wet them up \U0001F52A\U0001F52A dm for zoots, runners wanted")
    assert result.labels == list(CATEGORIES)
    assert {r["category"] for r in result.reasons} == set(CATEGORIES)


def test_score_combines_distinct_entries_and_ignores_repeats(clf: RuleClassifier) -> None:
    w = {e.id: e.weight for e in clf.lexicon.entries}
    once = clf.classify("bando")
    repeated = clf.classify("bando bando bando")
    both = clf.classify("bando and zoots")
    assert once.scores["drug_supply"] == round(w["ds.bando"], 4)
    assert repeated.scores["drug_supply"] == once.scores["drug_supply"]
    assert len(_reasons(repeated, category="drug_supply")) == 3          # every occurrence is evidence
    expected = 1 - (1 - w["ds.bando"]) * (1 - w["ds.zoots"])
    assert both.scores["drug_supply"] == round(expected, 4)


def test_phrase_counts_once_as_its_strongest_entry(clf: RuleClassifier) -> None:
    result = clf.classify("opp block")
    rules = [r["rule"] for r in _reasons(result, category="gang_affiliation")]
    assert rules == ["ga.opp_territory"]


def test_result_shape_and_serialisation(clf: RuleClassifier) -> None:
    result = clf.classify("yo 5h4nk lol")
    d = result.to_dict()
    assert set(d) == {"classifier_version", "lexicon_version", "model_version", "scores", "labels", "thresholds",
                      "components", "reasons"}
    assert d["lexicon_version"] == clf.lexicon.version and d["model_version"] is None
    assert d["components"] == {"rules": d["scores"]}
    assert list(d["scores"]) == list(CATEGORIES)
    assert all(round(v, 4) == v for v in d["scores"].values())
    assert d["reasons"][0] == {
        "category": "weapon", "rule": "wp.shank", "term": "shank", "start": 3, "end": 8,
        "text": "5h4nk", "weight": 0.6, "effect": "match",
    }
    assert Classification.from_dict(json.loads(json.dumps(d))) == result
    d["labels"].append("mutated")
    assert "mutated" not in result.labels


def test_version_and_protocol(clf: RuleClassifier) -> None:
    version = load_lexicon().version
    assert clf.version == f"rules-{version}"
    assert classify_pkg.CLASSIFIER_VERSION.startswith(f"rules-{version}+model-")   # the default layer
    assert clf.classify("x").classifier_version == clf.version
    assert isinstance(clf, Classifier)


def test_batch_matches_single(clf: RuleClassifier) -> None:
    texts = ["dm for zoots", "", "hello", "gonna sh\u200bank you"]
    assert clf.classify_batch(texts) == [clf.classify(t) for t in texts]


def test_thresholds_override(clf: RuleClassifier) -> None:
    strict = load_rule_classifier(thresholds={"weapon": 0.99})
    assert strict is not clf
    assert strict.thresholds["weapon"] == 0.99 and strict.thresholds["drug_supply"] == clf.thresholds["drug_supply"]
    assert "weapon" in clf.classify("bora").labels
    assert "weapon" not in strict.classify("bora").labels
    with pytest.raises(ConfigError, match="unknown category 'weapons'"):
        load_rule_classifier(thresholds={"weapons": 0.5})
    with pytest.raises(ConfigError, match="weapon: threshold"):
        load_rule_classifier(thresholds={"weapon": 0})


def test_violence_threshold_is_lowest_for_the_rules() -> None:
    # The rules alone: a missed threat costs most, so its bar is the lowest. (The combined
    # layer's thresholds are chosen on dev and real data by train.choose_thresholds instead.)
    t = load_rule_classifier().thresholds
    assert t["violence_threat"] == min(t.values())


def test_default_classifier_is_cached() -> None:
    assert load_classifier() is load_classifier()


def test_non_string_input_is_a_type_error(clf: RuleClassifier) -> None:
    with pytest.raises(TypeError):
        clf.classify(None)  # type: ignore[arg-type]


def test_hits_expose_raw_matches_for_feature_use(clf: RuleClassifier) -> None:
    text = "he pulled out a zombie knife, police said"
    hits = clf.hits(text)
    assert [(h.kind, h.rule, text[h.start:h.end]) for h in hits] == [
        ("match", "wp.zombie_knife", "zombie knife"),
        ("context", "ctx.news", "police said"),
    ]
    assert [h.rule for h in clf.hits(text, context=False)] == ["wp.zombie_knife"]
