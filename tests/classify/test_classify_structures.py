"""Drug supply and gang rivalry found from their structure (classify/structures.py)."""

from __future__ import annotations

import pytest

from socialhub.classify import load_classifier
from socialhub.classify.normalise import normalise
from socialhub.classify.structures import scan


@pytest.mark.parametrize(("text", "rule"), [
    ("Hash £25 an 8th, proper Moroccan, hmu", "ds.grammar.price"),
    ("Cali deliveries until midnight, snap me", "ds.grammar.offer"),
    ("text for the green, quick ting", "ds.grammar.offer"),
    ("Looking for workers to hold the line, 12 hour shifts, cash daily", "ds.grammar.recruit"),
    ("Jay line active, call me", "ds.grammar.line"),
    ("Hollow Lane is ours", "ga.grammar.ours"),
    ("Northside gang owns these streets, write it down", "ga.grammar.ours"),
    ("Keep ducking, T-Block. We know you're scared.", "ga.grammar.taunt"),
    ("lmao their man's in a wheelchair now, bet he can't run from us no more", "ga.grammar.mock_victim"),
    ("Always tooled up when I'm in Westbrook", "wp.grammar.carry"),
    ("I'm never without my rambo, not after what happened", "wp.grammar.carry"),
    ("Swapping my PS5 for a strap, serious offers", "wp.grammar.trade"),
    ("Polished up the 9 mil for the pics, looks mean", "wp.grammar.display"),
    ("want money? need kids on bikes to run parcels for me", "ds.grammar.recruit"),
    ("any of the lot tryna go county? slots open", "ds.grammar.recruit"),
    ("runner is on his way with your food, have it ready", "ds.grammar.line"),
    ("anyone round Eastfield after some mandy? driving round now", "ds.grammar.ask"),
    ("one of their youngers hid in a shop lmao", "ga.grammar.fled"),
    ("our youngers run Eastfield now", "ga.grammar.ours"),
    ("Millbrook is our market, only from us", "ga.grammar.ours"),
    ("we dont go there, that side's full of snakes", "ga.grammar.ours"),
    ("nobody shots in our ends without us knowing", "ga.grammar.ours"),
    ("who wants to go halves on a bucky", "wp.grammar.trade"),
    ("need a 10 inch for tonight, who can sort me", "wp.grammar.trade"),
    ("12 machetes in my room lol", "wp.grammar.display"),
    ("the new glock is so light, I forget its even on me", "wp.grammar.carry"),
])
def test_structures_are_found(text: str, rule: str) -> None:
    assert rule in {h.rule for h in scan(normalise(text).text)}


@pytest.mark.parametrize("text", [
    "Selling my old bike, £50, collection only",
    "Runners wanted for the Sunday running club, all paces, free",
    "thanks bud, have a great weekend",
    "I have work at 9 and a deadline at 5",
    "This book belongs to me",
    "RIP to their brother, fly high, thinking of the family",
    "Oh wait, I look like that everyday.",
    "Fran has pre-1800s white Anglo-Saxon beliefs",
    "Josh Smith dropped a killer trash talk line on Kenneth",
    "Selling my old cricket bat, barely used",
    "Strapped the kids into the car seats and off we go",
    "anyone want some coke? driving to the shop now",
    "their whole team ran out of steam in the second half lol",
    "the kids cried at the end of the film lol",
    "runner on his way to the finish line, what a race",
    "our team runs the Sunday parkrun",
    "need a piece of cake after that",
    "need a knife to cut the bread",
    "the other side is full of tourists",
])
def test_everyday_lookalikes_are_not(text: str) -> None:
    assert scan(normalise(text).text) == []
    assert load_classifier().classify(text).labels == []


def test_a_quoted_advert_reported_to_police_is_not_an_advert() -> None:
    res = load_classifier().classify("Flyer through the door said 'tap in for bud' with a number on it. Passed it to the PCSO.")
    assert res.labels == []


def test_the_prefilter_never_hides_a_structure(monkeypatch: pytest.MonkeyPatch) -> None:
    """``structures._NEEDS`` only skips texts no rule can match: on every written case (suite,
    labelled posts) the same hits are found with and without it."""
    import json
    import re
    from pathlib import Path

    from socialhub.classify import structures

    root = Path(__file__).resolve().parents[2] / "data"
    texts = [json.loads(line)["text"] for f in [root / "functional" / "suite.jsonl", *sorted((root / "labelled").glob("*.jsonl"))]
             for line in f.read_text(encoding="utf-8").split("\n") if line.strip()]
    views = [v.text for t in texts for v in normalise(t).views()]
    with_filter = [scan(v) for v in views]
    monkeypatch.setattr(structures, "_NEEDS", {c: re.compile("") for c in structures._NEEDS})
    without = [scan(v) for v in views]
    missed = [(v, w) for v, f, w in zip(views, with_filter, without, strict=True) if f != w]
    assert not missed, missed[:5]
    assert sum(1 for w in without if w) > 300


def test_a_threat_naming_a_weapon_is_a_weapon_post_too() -> None:
    res = load_classifier().classify("I'm going to stab you with my kitchen knife, watch")
    assert {"violence_threat", "weapon"} <= set(res.labels)
    named = [r for r in res.reasons if r["rule"] == "wp.in_threat"]
    assert named and named[0]["text"] == "knife"
    # the labelling guide: a decorative knife emoji or the act alone leaves it a threat only
    assert "weapon" not in load_classifier().classify("u lot r getting chinged and thats on everything i love").labels
