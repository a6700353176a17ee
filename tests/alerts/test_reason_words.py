"""An officer reads plain words for "why flagged", never a lexicon or context rule's regex.

A lexicon regex entry's (and a context rule's) ``term`` is its raw pattern. Every view an
officer or a platform reads (the Slack alert, the digest, the fallback webhook and email, the
review page, the escalation, the referral report) shows the post's own words, quoted, and the
rule in words (``weapon word: blade``, ``context: sport``), and no regex syntax.
"""

from __future__ import annotations

import json
import re

import pytest

from socialhub.alerts.blocks import render_alert, render_digest_parts
from socialhub.alerts.fallback import alert_document, render_alert_email
from socialhub.classify import load_rule_classifier
from socialhub.classify.describe import describe_reason, looks_like_pattern, rule_label
from socialhub.classify.lexicon import load_lexicon
from socialhub.classify.structures import STRUCTURE_RULES
from socialhub.review.messages import escalation_payload
from socialhub.review.model import ESCALATE, Decision, review_question
from socialhub.review.report import render_report
from tests.alerts._factory import make_alert, texts_in

#: Regex syntax that must never reach an officer.
REGEX_NOISE = re.compile(r"\(\?[:!=<]|\\[sSwWdDb]|\[\\W_\]|\(\?:|\|\w+\|")

POSTS = {
    # wp.carrying (a regex entry) on "bring the blade"
    "carry": "meet at the park at 9, bring the blade",
    # vt.killed_target and wp.blade (regex entries), ctx.sport (a regex context rule) on "4-0"
    "sport": "we killed them 4-0 at the match, blades out lol",
}


def _regex_entries() -> dict[str, str]:
    lexicon = load_lexicon()
    regexes = {e.id: e.pattern for e in lexicon.entries if e.regex}
    regexes.update({c.id: p for c in lexicon.context_rules if c.regex for p in c.patterns})
    return regexes


def _classified_alert(text: str):
    classification = load_rule_classifier().classify(text).to_dict()
    reasons = classification["reasons"]
    regexes = _regex_entries()
    raw = [r for r in reasons if r["rule"] in regexes or r["rule"].removeprefix("ctx.") in regexes]
    # the precondition of this test: the stored reasons DO carry raw regexes as terms
    assert raw and any(REGEX_NOISE.search(r["term"]) for r in raw), reasons
    labels = classification["labels"] or ["weapon"]
    alert = make_alert(text=text, reasons=reasons, labels=labels, scores=classification["scores"],
                       review_url="https://hub.example/review/1")
    return alert, raw


_texts = texts_in


def _every_view(alert) -> dict[str, str]:
    decision = Decision(alert_id=alert.alert_id, option=ESCALATE, justification="Needs a supervisor now.",
                        responded_at="2026-11-25T12:07:00Z", timed_out=True, response_seconds=1800)
    question = review_question(alert, response_seconds=1800, escalation_channel="#esc")
    subject, html, text = render_alert_email(alert, "#alerts")
    doc = alert_document(alert, "#alerts")
    return {
        "alert": "\n".join(_texts(render_alert(alert))),
        "digest": "\n".join(t for p in render_digest_parts([alert, make_alert(post_id="2")], "gangs")
                            for t in _texts(p.payload)),
        "review body": question["body"],
        "review subject": question["subject"],
        "escalation": "\n".join(_texts(escalation_payload(alert, decision))),
        "webhook text": doc["text"],
        "email": "\n".join((subject, html, text)),
        "referral report": render_report({"permalink": alert.post.get("url"), "text": alert.post.get("text"),
                                          "platform": "x", "account": "acct", "alert_id": alert.alert_id},
                                         classification=alert.classification, decision=decision, files=[]),
    }


@pytest.mark.parametrize("name", sorted(POSTS))
def test_no_regex_reaches_any_view_and_the_words_do(name: str) -> None:
    alert, raw = _classified_alert(POSTS[name])
    views = _every_view(alert)
    for view, text in views.items():
        assert not REGEX_NOISE.search(text), (view, REGEX_NOISE.search(text), text)
        for r in raw:
            assert r["term"][:25] not in text, (view, r["rule"])
    # the post's own words, quoted, in every view that explains why (the subject names no post words);
    # the alert views (Slack, digest, escalation, webhook, email) explain the labelled categories only
    officer = ("alert", "digest", "escalation", "webhook text", "email")
    for view in officer + ("review body", "referral report"):
        for r in raw:
            if view in officer and r["category"] not in alert.labels:
                continue
            if view == "digest" and r is not next(x for x in raw if x["category"] in alert.labels):
                continue        # a digest item shows its first three reasons only
            words = r["text"].replace("-", "\\-") if view == "review body" else r["text"]
            assert f"“{words}”" in views[view], (view, r["text"])


def test_the_rule_is_named_in_words() -> None:
    alert, _ = _classified_alert(POSTS["sport"])
    slack = "\n".join(_texts(render_alert(alert)))
    assert "• weapon: “blades”" in slack
    assert "• weapon lowered, sport context: “4-0”" in slack
    why = next(b for b in render_alert(alert)["blocks"] if b.get("block_id") == "reasons")["text"]["text"]
    assert "killed them" not in why            # the threat words were not labelled: not why it was flagged
    assert "wp.blade" not in slack and "term “" not in slack and "chars " not in slack and "weight" not in slack
    body = review_question(alert, response_seconds=1800, escalation_channel="#esc")["body"]
    assert "(weapon word\\: blade): “blades”" in body
    doc = alert_document(alert, "#alerts")
    assert {r["label"] for r in doc["reasons"]} >= {"weapon word: blade", "context: sport"}
    json.dumps(doc)


def test_every_lexicon_and_structure_rule_has_a_label_in_words() -> None:
    lexicon = load_lexicon()
    for e in lexicon.entries:
        label = rule_label({"rule": e.id, "term": e.pattern, "category": e.category})
        assert label and not looks_like_pattern(label), (e.id, label)
    for c in lexicon.context_rules:
        for p in c.patterns:
            label = rule_label({"rule": f"ctx.{c.id}", "term": p})
            assert label and label.startswith("context: ") and not looks_like_pattern(label), (c.id, label)
    for s in STRUCTURE_RULES:
        assert rule_label({"rule": s.id, "term": f"{s.label}: some words"}) == s.label
    negated = {"rule": "ctx.negated", "term": r"knife(?![\W_]*edge)", "category": "weapon"}
    assert rule_label(negated) == "negated, not counted"
    assert rule_label({"rule": "vt.grammar.intent", "term": "announced intent to attack a person: cut"}) == \
        "announced intent to attack a person: cut"
    assert rule_label({"rule": "model.ngrams", "term": "emoji_gun", "weight": -0.4}) == "model words, lowered the score"
    assert rule_label({"rule": "anchor.weapon", "term": "strapped"}) == "weapon word behind the model's label"
    # a rule this version does not know: its term if that is words, never a pattern
    assert rule_label({"rule": "kw.weapon.v3", "term": "blade"}) is None
    assert describe_reason({"rule": "kw.weapon.v3", "term": "blade"}) == "blade"
    assert describe_reason({"rule": "kw.weapon.v3", "term": r"blades?(?!\s*runner)"}) == "kw weapon v3"


def test_unknown_rule_shows_its_category_and_words_never_its_id_or_regex() -> None:
    reason = {"category": "weapon", "rule": "kw.weapon.v9", "term": r"blades?(?!\s*(?:runner|runners))",
              "start": 33, "end": 38, "text": "blade", "weight": 0.7, "effect": "match"}
    alert = make_alert(reasons=[reason])
    slack = "\n".join(_texts(render_alert(alert)))
    assert "• weapon: “blade”" in slack and "(?" not in slack and "term “" not in slack
    assert "kw.weapon" not in slack and "0.70" not in slack and "33" not in slack


def test_labels_from_hostile_rule_ids_stay_escaped() -> None:
    reasons = [{"category": "weapon", "rule": "wp.@here", "term": "x", "text": "@channel", "start": 0, "end": 1},
               {"category": "weapon", "rule": "ctx.<https://evil.example|Review>", "term": "x", "text": "y"}]
    alert = make_alert(reasons=reasons)
    views = _every_view(alert)
    for view in ("alert", "digest", "escalation"):
        assert "@here" not in views[view] and "(@)here" in views[view], view
        assert "<https://evil" not in views[view], view
    assert "@here" not in views["webhook text"] and "<https://evil" not in views["webhook text"]
    assert "<https://evil" not in views["referral report"]
