"""What the on-duty officer reads (issue 14): severity that follows the evidence, why flagged in
plain words, a way to review in every alert, the account once, times in local time and UTC.

Real classifications come from the real classifier; the severity bands are checked against the
classifier's own thresholds file and against the table in docs/review.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from socialhub.alerts.blocks import render_alert, render_digest_parts
from socialhub.alerts.fallback import alert_document, render_alert_email
from socialhub.alerts.links import alert_review_url, public_url
from socialhub.alerts.present import NO_REVIEW_LINK_DIGEST, account_label, local_and_utc, why_flagged
from socialhub.alerts.severity import HIGH_AT, THRESHOLDS_PATH, category_band, label_thresholds, severity_of
from socialhub.classify import load_classifier
from socialhub.classify.describe import looks_like_pattern

from ._factory import make_alert, texts_in

ROOT = Path(__file__).resolve().parents[2]
MODEL_VERSION = "rules-1.19.0+model-lr1-52fae7310cc6"
FILE = yaml.safe_load(THRESHOLDS_PATH.read_text(encoding="utf-8"))


def _block(payload: dict, block_id: str) -> dict:
    return next(b for b in payload["blocks"] if b.get("block_id") == block_id)


_texts = texts_in


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


def _alert_for(classifier, text: str, **kw):
    c = classifier.classify(text).to_dict()
    return make_alert(text=text, labels=c["labels"], scores=c["scores"], reasons=c["reasons"],
                      classifier_version=c["classifier_version"], thresholds=c["thresholds"], **kw)


# --- 1. severity follows the calibrated score and the category ---------------------------------------

@pytest.mark.parametrize("text", [
    "Mario Kart night at the youth club on Friday, come and smash your mates 🏎️",
    "Tonight's peace walk starts 7pm at Eastgate Library. Every step is for the families who lost someone "
    "to knife crime. 🕊️",
    "Boxing tutorial: how to throw a knockout punch, we kill it in the ring every Saturday",
])
def test_a_threat_label_scored_low_is_not_high(text: str) -> None:
    """The issue's false alarms, as the classifier that labelled them scored them: violence_threat 0.10."""
    alert = make_alert(text=text, labels=["violence_threat"], scores={"violence_threat": 0.10, "weapon": 0.0},
                       classifier_version=MODEL_VERSION, thresholds=FILE["thresholds"])
    assert alert.severity == "low"
    payload = render_alert(alert)
    assert _block(payload, "header")["text"]["text"].startswith("⚪ low · ")
    assert "HIGH" not in payload["text"] and payload["text"].startswith("socialhub LOW alert")
    fields = [f["text"] for f in _block(payload, "facts")["fields"]]
    threshold = FILE["thresholds"]["violence_threat"]
    assert f"Severity\nlow: threat 0.10 (below its label threshold {threshold:.2f})" in fields


def test_without_recorded_thresholds_the_classifiers_file_applies() -> None:
    """An alert stored before thresholds were kept: the model's thresholds, or the rules-only ones."""
    model = {"labels": ["violence_threat"], "scores": {"violence_threat": 0.40}, "classifier_version": MODEL_VERSION}
    rules = {**model, "classifier_version": "rules-1.19.0"}
    assert label_thresholds(model) == FILE["thresholds"] and severity_of(model) == "low"       # 0.40 < 0.45
    assert label_thresholds(rules) == FILE["rules_only"] and severity_of(rules) == "normal"    # 0.40 >= 0.3


@pytest.mark.parametrize("category", sorted(FILE["thresholds"]))
def test_bands_per_category_sit_on_the_classifiers_thresholds(category: str) -> None:
    threshold, high = FILE["thresholds"][category], HIGH_AT[category]
    assert category_band(category, threshold - 0.01, threshold) == "low"
    assert category_band(category, threshold, threshold) == "normal"
    if high is None:                        # gang, drug supply: never HIGH on their own
        assert category in ("gang_affiliation", "drug_supply")
        assert category_band(category, 1.0, threshold) == "normal"
        return
    assert threshold < high <= 1.0          # a HIGH band above the label threshold
    assert category_band(category, high - 0.001, threshold) == "normal"
    assert category_band(category, high, threshold) == "high"


def test_severity_takes_the_highest_band_and_ignores_unlabelled_scores() -> None:
    thr = FILE["thresholds"]
    both = {"labels": ["drug_supply", "violence_threat"], "scores": {"drug_supply": 0.6, "violence_threat": 0.85},
            "thresholds": thr}
    assert severity_of(both) == "high"
    # a near-certain drug advert is not HIGH (never on its own), nor is an unlabelled threat score
    drugs = {"labels": ["drug_supply"], "scores": {"drug_supply": 1.0, "violence_threat": 0.99}, "thresholds": thr}
    assert severity_of(drugs) == "normal"
    threat = {"labels": ["violence_threat"], "scores": {"violence_threat": 0.94}, "thresholds": thr}
    assert severity_of(threat) == "high"


def test_real_classifications_get_the_band_their_evidence_earns(classifier) -> None:
    threat = _alert_for(classifier, "I'll wet him up when I see him, he knows what he did")
    assert "violence_threat" in threat.labels and threat.severity == "high"
    menu = _alert_for(classifier, "runners wanted, good pay, tap in on snap 📦")
    assert menu.labels == ["drug_supply"] and menu.severity != "high"      # never HIGH on its own
    strap = _alert_for(classifier, "no cap, the strap stays on me 🔫")
    assert "weapon" in strap.labels
    assert strap.severity == ("high" if strap.classification["scores"]["weapon"] >= HIGH_AT["weapon"] else "normal")


def test_the_documented_bands_are_the_bands_in_the_code() -> None:
    doc = (ROOT / "docs" / "review.md").read_text(encoding="utf-8")
    section = doc.split("## Severity", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([0-9.]+|never) \|", section, flags=re.M))
    assert {c: None if v == "never" else float(v) for c, v in rows.items()} == dict(HIGH_AT)


# --- 2. why flagged in plain words -----------------------------------------------------------------

INTERNALS = re.compile(r"chars \d|weight \d|effect (match|model|context)|\(\?[:!=<]|\\[sw]|model\.ngrams|"
                       r"\b(vt|wp|ga|ds|ctx|anchor)\.[a-z_]+")


def _r(category, rule, text, start, weight=0.5, effect="match", term=r"(?:x|y)\s+z"):
    return {"category": category, "rule": rule, "term": term, "start": start, "end": start + len(text),
            "text": text, "weight": weight, "effect": effect}


#: Reasons as the classifier (4.16) emitted them for these posts: the wording must not depend on a retraining.
WORDED = [
    ("I'll wet him up when I see him", ["violence_threat"],
     [_r("violence_threat", "model.ngrams", "I'll", 0, 1.0, "model", "i'll"),
      _r("violence_threat", "vt.grammar.intent", "I'll wet him", 0, 0.85, term="announced intent to attack a person: wet"),
      _r("violence_threat", "vt.intent_with_target", "I'll wet him", 0, 0.85),
      _r("violence_threat", "model.ngrams", "him", 9, 4.42, "model", "him")],
     ["threat: “I'll wet him”"]),
    ("£20 a bag, dm me", ["drug_supply"],
     [_r("drug_supply", "model.ngrams", "£20", 0, 1.24, "model", "£20"),
      _r("drug_supply", "ds.price_per_gram", "£20 a bag", 0, 0.4),
      _r("drug_supply", "anchor.drug_supply", "dm", 11, 0.0, term="dm")],
     ["drug supply: “£20 a bag” (price per gram)"]),
    ("£20 a gram of white, tap in", ["drug_supply"],
     [_r("drug_supply", "ds.price_per_gram", "£20 a gram", 0, 0.4),
      _r("drug_supply", "ds.grammar.price", "£20 a gram of white", 0, 0.7,
         term="a drug with a price or a dealing quantity: £20 a gram of white")],
     ["drug price: “£20 a gram of white”"]),
    ("I'm gonna stab you with my kitchen knife", ["violence_threat", "weapon"],
     [_r("violence_threat", "vt.grammar.intent", "I'm gonna stab you", 0, 0.85,
         term="announced intent to attack a person: stab"),
      _r("violence_threat", "model.ngrams", "gonna stab", 4, 4.28, "model", "gonna stab"),
      _r("weapon", "ctx.cooking", "kitchen knife", 27, 0.1, "context"),
      _r("weapon", "wp.in_threat", "knife", 35, 1.0, term="weapon in a threat: knife"),
      _r("weapon", "wp.knife", "knife", 35, 0.35)],
     ["threat: “I'm gonna stab you”", "weapon: “knife” (named in a threat)",
      "weapon lowered, cooking context: “kitchen knife”"]),
    ("new strap came today, clean ting", ["weapon"],
     [_r("weapon", "anchor.weapon", "strap", 4, 0.0, term="strap"),
      _r("weapon", "model.ngrams", "strap", 4, 0.86, "model", "strap"),
      _r("weapon", "model.ngrams", "today, clean", 15, 2.12, "model", "today, clean"),
      _r("weapon", "model.ngrams", "ting", 28, -0.3, "model", "ting")],
     ["weapon: “strap”", "weapon, words the model weighed: “today, clean”, “strap”"]),
    ("he said he'd stab me, I would never", ["weapon"],
     [_r("violence_threat", "ctx.negated", "stab me", 15, 0.0, "context", "every violence_threat word is negated"),
      _r("weapon", "wp.blade", "blade", 0, 0.35)],
     ["weapon: “blade”"]),
]


@pytest.mark.parametrize(("text", "labels", "reasons", "expected"), WORDED, ids=[w[0][:20] for w in WORDED])
def test_why_flagged_quotes_the_words_and_says_what_they_are(text, labels, reasons, expected) -> None:
    classification = {"labels": labels, "scores": dict.fromkeys(labels, 0.9), "reasons": reasons}
    assert why_flagged(classification) == expected
    why = _block(render_alert(make_alert(text=text, **classification)), "reasons")["text"]["text"]
    assert why == "*Why flagged*\n" + "\n".join(f"• {line}" for line in expected)


def test_a_negated_match_of_a_labelled_category_says_it_did_not_count() -> None:
    reasons = [_r("violence_threat", "ctx.negated", "stab you", 10, 0.0, "context", "negated"),
               _r("violence_threat", "vt.gonna_stab", "gonna stab him", 30, 0.6)]
    lines = why_flagged({"labels": ["violence_threat"], "scores": {"violence_threat": 0.7}, "reasons": reasons})
    assert lines == ["threat: “gonna stab him”", "not counted as threat (negated): “stab you”"]


@pytest.mark.parametrize("text", [
    "ur boy got caught lacking on our ends, next time im gonna shank him",
    "runners wanted, good pay, tap in on snap 📦",
    "I'm gonna stab you with my kitchen knife",
])
def test_no_internals_in_any_officer_view(classifier, text: str) -> None:
    alert = _alert_for(classifier, text)
    assert any(looks_like_pattern(r["term"]) for r in alert.classification["reasons"])   # they are there...
    subject, html, plain = render_alert_email(alert, "#alerts")
    views = {"slack": _block(render_alert(alert), "reasons")["text"]["text"],
             "digest": "\n".join(_texts([p.payload for p in render_digest_parts([alert, make_alert()], "t")])),
             "webhook": alert_document(alert, "#alerts")["text"], "email html": html, "email text": plain}
    for view, text_ in views.items():                                                  # ...but never shown
        assert not INTERNALS.search(text_), (view, INTERNALS.search(text_))
        assert "“" in text_, view


# --- 3. a way to review in every alert --------------------------------------------------------------

def test_public_url_setting(monkeypatch) -> None:
    monkeypatch.delenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", raising=False)
    assert public_url() is None
    assert public_url(fallback="http://127.0.0.1:8080/") == "http://127.0.0.1:8080"     # Airflow's [api] base_url
    monkeypatch.setenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", "https://airflow.hub.example.police.uk/")
    assert public_url(fallback="http://127.0.0.1:8080") == "https://airflow.hub.example.police.uk"
    assert alert_review_url("0123456789abcdef01234567", public_url()) == \
        "https://airflow.hub.example.police.uk/required_actions?subject_search=0123456789abcdef01234567"
    for off in ("none", "javascript:alert(1)", "airflow.local"):
        monkeypatch.setenv("SOCIALHUB_AIRFLOW_PUBLIC_URL", off)
        assert public_url(fallback="http://127.0.0.1:8080") is None, off


def test_an_alert_without_a_link_says_where_to_review(monkeypatch) -> None:
    alert = make_alert(review_url=None)
    payload = render_alert(alert)
    note = _block(payload, "review_where")["elements"][0]["text"]
    assert "SOCIALHUB_AIRFLOW_PUBLIC_URL" in note and f"search for alert {alert.alert_id}" in note
    assert "open_review" not in json.dumps(payload)
    doc = alert_document(alert, "#alerts")
    assert f"search for alert {alert.alert_id}" in doc["text"] and "\nReview link: http" not in doc["text"]
    _, html, plain = render_alert_email(alert, "#alerts")
    assert f"search for alert {alert.alert_id}" in html and f"search for alert {alert.alert_id}" in plain

    linked = render_alert(make_alert(review_url="https://airflow.example/required_actions?subject_search=x"))
    assert "review_where" not in json.dumps(linked) and "open_review" in json.dumps(linked)


def test_every_digest_item_has_a_review_button_or_says_why_not() -> None:
    alerts = [make_alert(post_id=str(i), review_url=f"https://airflow.example/r/{i}" if i % 2 else None)
              for i in range(12)]
    (part,) = render_digest_parts(alerts, "gangs")
    blocks = part.payload["blocks"]
    assert NO_REVIEW_LINK_DIGEST in [e["text"] for e in blocks[1]["elements"]]
    for block in blocks:
        if block["type"] == "section" and block["block_id"].startswith("item_"):
            links = next(b for b in blocks if b.get("block_id") == block["block_id"] + "_links")
            review = [e for e in links["elements"] if e["action_id"].startswith("open_review")]
            alert_id = block["text"]["text"].rsplit("\nAlert ", 1)[1]
            alert = next(a for a in alerts if a.alert_id == alert_id)
            if alert.review_url:
                assert review[0]["url"] == alert.review_url
            else:
                assert not review and "No Review link: see the note at the top" in block["text"]["text"]


# --- 5. the account once, times in local time and UTC ---------------------------------------------

@pytest.mark.parametrize(("account", "display", "shown"), [
    ("t0pboy_ends", "t0pboy_ends (demo)", "t0pboy_ends (demo)"),
    ("t0pboy_ends", "t0pboy_ends", "t0pboy_ends"),
    ("t0pboy_ends", "T0PBOY_ENDS", "t0pboy_ends"),
    ("zone2-rico.hubdemo.example", "Zone2 Rico (demo)", "zone2-rico.hubdemo.example (Zone2 Rico (demo))"),
    ("acct", "", "acct"),
])
def test_account_is_shown_once(account: str, display: str, shown: str) -> None:
    assert account_label(account, display) == shown
    fields = [f["text"] for f in _block(render_alert(make_alert(account=account, account_display_name=display)),
                                        "facts")["fields"]]
    assert f"Account\n{shown}" in fields


@pytest.mark.parametrize(("iso", "shown"), [
    ("2026-12-03T13:48:13Z", "Thu 3 Dec 2026 13:48 GMT (13:48 UTC)"),
    ("2026-07-03T13:48:13Z", "Fri 3 Jul 2026 14:48 BST (13:48 UTC)"),
    ("2026-07-03T23:30:00+00:00", "Sat 4 Jul 2026 00:30 BST (Fri 3 Jul 23:30 UTC)"),
    ("2026-03-29T00:59:00Z", "Sun 29 Mar 2026 00:59 GMT (00:59 UTC)"),   # the clocks go forward at 01:00 UTC
    ("2026-03-29T01:00:00Z", "Sun 29 Mar 2026 02:00 BST (01:00 UTC)"),
    ("not a time", "not a time"),
    ("", ""),
])
def test_times_in_london_and_utc(iso: str, shown: str, monkeypatch) -> None:
    monkeypatch.delenv("SOCIALHUB_TIMEZONE", raising=False)
    assert local_and_utc(iso) == shown


def test_time_zone_is_configurable(monkeypatch) -> None:
    monkeypatch.setenv("SOCIALHUB_TIMEZONE", "Europe/Dublin")
    assert local_and_utc("2026-07-03T13:48:13Z") == "Fri 3 Jul 2026 14:48 IST (13:48 UTC)"
    monkeypatch.setenv("SOCIALHUB_TIMEZONE", "Not/AZone")
    assert local_and_utc("2026-07-03T13:48:13Z") == "Fri 3 Jul 2026 14:48 BST (13:48 UTC)"
