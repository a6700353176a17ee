"""A store of real processed batches on two days (collect -> process with the recorded live version),
built with the same connector and watchlist entry as tests/core, and a candidate thresholds file."""

from __future__ import annotations

from datetime import timedelta

import pytest

from socialhub.classify import versions
from socialhub.classify.lexicon import DEFAULT_THRESHOLDS_PATH
from socialhub.collect import collect_account
from socialhub.process import Shadow, process_batches
from socialhub.storage import LocalStore
from tests.core.test_process_and_alert import ENTRY, NOW, ListConnector

DAY1, DAY2 = NOW, NOW + timedelta(days=1)
D1, D2 = DAY1.date().isoformat(), DAY2.date().isoformat()

#: post id -> text; ids increase across days (the connector's cursor)
TEXTS1 = {
    "1": "lovely roast dinner today with the family",
    "2": "gonna stab him when we catch him lacking",             # violence_threat
    "3": "bando open 24/7, runners wanted, link on snap",         # drug_supply
    "4": "he's dead to me after what he said",                   # violence_threat 0.02: flagged at 0.015
    "5": "new shank just came",                                  # weapon
}
TEXTS2 = {
    "6": "great goal at the weekend, 3-0 win",
    "7": "gonna smash the exam tomorrow",                        # violence_threat 0.02: flagged at 0.015
    "8": "watch your back bro",                                  # violence_threat
    "9": "selling my old bike, dm me",
    "10": "we're coming for you tonight",                        # violence_threat 0.70
    "11": "ur finished when i see u",                            # violence_threat 0.75
    "12": "knife crime is rising in the city, police say",       # weapon 0.0019
}
#: what the candidate (violence_threat 0.015) newly flags
NEWLY = {"4": D1, "7": D2}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOCIALHUB_ACTOR", "DS Test")


@pytest.fixture()
def store(tmp_path):
    return LocalStore(tmp_path / "store")


def collect_on(store, texts, at):
    out = collect_account(store, ENTRY, ListConnector(texts, at=at), at)
    assert out.status == "ok", out.error
    return out.batch_id


def build(store, shadow=None):
    """Two days of processed batches, classified by the recorded packaged version; their records."""
    live, clf = versions.register(store)
    records = []
    for texts, at in ((TEXTS1, DAY1), (TEXTS2, DAY2)):
        batch = collect_on(store, texts, at)
        records += process_batches(store, [batch], classifier=clf, now=at, classifier_id=live.id, shadow=shadow)
    assert all(r["status"] == "processed" for r in records)
    return live, records


def candidate_thresholds(tmp_path, violence_threat=0.015, name="thresholds.yaml", weapon=None, rules_violence=None):
    """The packaged thresholds file with another violence_threat (and weapon, and the rules'
    violence_threat: the rules' own labels always stand) threshold, and its own version."""
    text = DEFAULT_THRESHOLDS_PATH.read_text(encoding="utf-8")
    head, rest = text.split("\nthresholds:\n", 1)
    block, tail = rest.split("\nrules_only:", 1)
    lines = [f"  violence_threat: {violence_threat}" if ln.strip().startswith("violence_threat:")
             else f"  weapon: {weapon}" if weapon is not None and ln.strip().startswith("weapon:") else ln
             for ln in block.splitlines()]
    head = head.replace('version: "', f'version: "{name.split(".")[0]}-', 1)
    if rules_violence is not None:
        tail = tail.replace("\n  violence_threat:", f"\n  violence_threat: {rules_violence} #", 1)
    path = tmp_path / name
    path.write_text(head + "\nthresholds:\n" + "\n".join(lines) + "\nrules_only:" + tail, encoding="utf-8")
    return path


__all__ = ["D1", "D2", "NEWLY", "Shadow", "build", "candidate_thresholds", "collect_on"]
