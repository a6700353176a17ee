"""Lexicon and thresholds files: a bad edit is refused with every problem named; the shipped data is sane."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from socialhub.classify import load_rule_classifier
from socialhub.classify.lexicon import DEFAULT_LEXICON_PATH, load_lexicon, load_thresholds
from socialhub.errors import ConfigError
from socialhub.models import CATEGORIES

GOOD_ENTRY = {"id": "wp.test", "category": "weapon", "pattern": "shank", "weight": 0.5}


def _write(tmp_path: Path, data: object, name: str = "lexicon.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _lexicon(*entries: dict, context_rules: list[dict] | None = None, **top: object) -> dict:
    data: dict = {"version": "t1", "entries": list(entries) or [GOOD_ENTRY]}
    if context_rules is not None:
        data["context_rules"] = context_rules
    data.update(top)
    return data


@pytest.mark.parametrize(
    ("bad_entry", "expected"),
    [
        ({**GOOD_ENTRY, "id": "bad.weight", "weight": 1.5}, r"entries\[1\] \(id 'bad.weight'\)\.weight"),
        ({**GOOD_ENTRY, "id": "bad.category", "category": "weapons"}, r"\(id 'bad.category'\)\.category"),
        ({**GOOD_ENTRY, "id": "bad.group", "regex": True, "pattern": "(knife|blade)"},
         r"\(id 'bad.group'\).*non-capturing"),
        ({**GOOD_ENTRY, "id": "bad.regex", "regex": True, "pattern": "kni[fe"}, r"\(id 'bad.regex'\).*invalid regex"),
        ({**GOOD_ENTRY, "id": "bad.empty", "regex": True, "pattern": "x?"}, r"\(id 'bad.empty'\).*empty string"),
        ({**GOOD_ENTRY, "id": "bad.flags", "regex": True, "pattern": "(?i)knife"}, r"\(id 'bad.flags'\).*inline flags"),
        ({**GOOD_ENTRY, "id": "bad.extra", "wieght": 0.5}, r"\(id 'bad.extra'\)\.wieght"),
        ({**GOOD_ENTRY, "id": "bad.term", "pattern": "- -"}, r"\(id 'bad.term'\).*letter, digit or emoji"),
        ({k: v for k, v in GOOD_ENTRY.items() if k != "pattern"} | {"id": "bad.missing"},
         r"\(id 'bad.missing'\)\.pattern"),
    ],
)
def test_malformed_entry_raises_config_error_naming_it(tmp_path: Path, bad_entry: dict, expected: str) -> None:
    path = _write(tmp_path, _lexicon(GOOD_ENTRY, bad_entry))
    with pytest.raises(ConfigError, match=expected) as info:
        load_rule_classifier(lexicon_path=path)
    assert str(path) in str(info.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    entries = ({**GOOD_ENTRY, "id": "one", "weight": -1}, {**GOOD_ENTRY, "id": "two", "weight": 2})
    path = _write(tmp_path, _lexicon(*entries))
    with pytest.raises(ConfigError, match="2 problem") as info:
        load_lexicon(path)
    assert "'one'" in str(info.value) and "'two'" in str(info.value)


def test_context_rule_problems_are_named(tmp_path: Path) -> None:
    rules = [{"id": "ctx.raise", "patterns": ["recipe"], "multiplier": 1.5},
             {"id": "ctx.badre", "patterns": ["ok", "(bad"], "regex": True, "multiplier": 0.5}]
    path = _write(tmp_path, _lexicon(context_rules=rules))
    with pytest.raises(ConfigError) as info:
        load_lexicon(path)
    msg = str(info.value)
    assert "context_rules[0] (id 'ctx.raise').multiplier" in msg
    assert "context_rules[1] (id 'ctx.badre')" in msg and "patterns[1]" in msg


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_lexicon(GOOD_ENTRY, GOOD_ENTRY), "duplicate ids: wp.test"),
        ({"entries": [GOOD_ENTRY]}, r"version: Field required"),
        ({"version": "x", "entries": []}, r"entries: List should have at least 1 item"),
        ("entries: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_malformed_file_raises_config_error(tmp_path: Path, data: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_lexicon(_write(tmp_path, data))


def test_missing_file_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_lexicon(tmp_path / "nope.yaml")


def test_thresholds_file_must_cover_every_category(tmp_path: Path) -> None:
    path = _write(tmp_path, {"version": "1", "thresholds": {"weapon": 0.4}}, "thresholds.yaml")
    with pytest.raises(ConfigError, match="missing categories: violence_threat"):
        load_thresholds(path)


def test_numeric_version_is_kept_as_text(tmp_path: Path) -> None:
    text = "version: 2.0\nentries:\n  - {id: a, category: weapon, pattern: bora, weight: 0.5}\n"
    clf = load_rule_classifier(lexicon_path=_write(tmp_path, text))
    assert clf.version == "rules-2.0"


def test_a_minimal_custom_lexicon_works(tmp_path: Path) -> None:
    data = _lexicon({"id": "wp.emoji", "category": "weapon", "pattern": "\U0001F52A", "weight": 0.9},
                    context_rules=[{"id": "ctx.kitchen", "patterns": ["chopping board"], "multiplier": 0.1,
                                    "categories": ["weapon"]}])
    clf = load_rule_classifier(lexicon_path=_write(tmp_path, data))
    assert clf.classify("\U0001F52A\U0001F52A").scores["weapon"] == 0.9
    assert clf.classify("\U0001F52A on the chopping-board").scores["weapon"] == 0.09


# ---------------------------------------------------------------- the shipped data

def test_shipped_lexicon_covers_every_category_and_documents_its_sources() -> None:
    lex = load_lexicon()
    assert {e.category for e in lex.entries} == set(CATEGORIES)
    assert all(e.source for e in lex.entries)
    assert {r.id for r in lex.context_rules} >= {
        "ctx.news", "ctx.prevention", "ctx.fiction_lyrics", "ctx.sport", "ctx.cooking", "ctx.gaming"}
    assert all(r.multiplier < 1 for r in lex.context_rules)
    header = DEFAULT_LEXICON_PATH.read_text(encoding="utf-8")[:3000]
    assert "Sources:" in header


def test_every_plain_term_matches_itself() -> None:
    """Catches a term that normalisation or boundaries make unmatchable (e.g. a typo'd separator)."""
    clf = load_rule_classifier()
    for entry in clf.lexicon.entries:
        if entry.regex:
            continue
        hits = clf.hits(f"x {entry.pattern} x", context=False)
        assert any(h.category == entry.category for h in hits), entry.id
