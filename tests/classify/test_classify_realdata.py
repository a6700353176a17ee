"""Real-data loading for ``socialhub eval --real``: the deterministic split, clear errors, platform texts.

Every test but the last writes tiny fake files in the Davidson format in ``tmp_path``; the last one
reads the real folder (``SOCIALHUB_DATASETS`` or ../shared/datasets) and is skipped when it is absent.
No real post is quoted here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from socialhub.classify import realdata
from socialhub.classify.realdata import (
    RealDataMalformed,
    RealDataMissing,
    davidson,
    platform_posts,
    split_part,
    strip_html,
)


def _write_davidson(root: Path, rows: list[dict] | list[str]) -> Path:
    path = root / "davidson2017" / "train.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _rows(n: int) -> list[dict]:
    classes = ("neither", "offensive_language", "hate_speech")
    return [{"id": f"fake-{i}", "text": f"post number {i}", "davidson_class": classes[i % 3], "annotators": 3,
             "votes": {}} for i in range(n)]


def test_split_is_the_documented_hash_rule() -> None:
    for ident in ("fake-0", "fake-1", "davidson2017-12345", "x"):
        bucket = int(hashlib.sha256(ident.encode()).hexdigest()[:8], 16) % 100
        assert split_part(ident) == ("calibration" if bucket < 70 else "heldout")
    # pinned: a change of the rule would silently move tweets between the parts
    # sha256("fake-0") starts 4bc905b3 = 1271465395, mod 100 = 95; "fake-1": 7935d2f7 -> 51
    assert split_part("fake-0") == "heldout"
    assert split_part("fake-1") == "calibration"


def test_split_is_about_70_30_over_many_ids() -> None:
    parts = [split_part(f"id-{i}") for i in range(5000)]
    share = parts.count("calibration") / len(parts)
    assert 0.67 < share < 0.73
    assert set(parts) == {"calibration", "heldout"}


def test_parts_are_disjoint_cover_everything_and_ignore_file_order(tmp_path: Path) -> None:
    rows = _rows(300)
    _write_davidson(tmp_path / "a", rows)
    _write_davidson(tmp_path / "b", list(reversed(rows)))
    cal = {p.id for p in davidson(tmp_path / "a", "calibration")}
    held = {p.id for p in davidson(tmp_path / "a", "heldout")}
    every = davidson(tmp_path / "a", "all")
    assert not cal & held
    assert cal | held == {p.id for p in every} == {r["id"] for r in rows}
    assert 0.6 < len(cal) / 300 < 0.8
    assert {p.id for p in davidson(tmp_path / "b", "heldout")} == held   # order of the file does not matter
    assert all(p.part == split_part(p.id) for p in every)
    first = every[0]
    assert (first.id, first.text, first.davidson_class, first.line) == ("fake-0", "post number 0", "neither", 1)


def test_folder_from_argument_then_environment_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(realdata.DATASETS_ENV, raising=False)
    root = Path(realdata.__file__).resolve().parents[3]
    assert realdata.datasets_dir() == root.parent / "shared" / "datasets"
    monkeypatch.setenv(realdata.DATASETS_ENV, str(tmp_path / "env"))
    assert realdata.datasets_dir() == tmp_path / "env"
    assert realdata.datasets_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.setenv(realdata.FIXTURES_ENV, str(tmp_path / "fx"))
    assert realdata.fixtures_dir() == tmp_path / "fx"


def test_missing_folder_or_file_names_the_path_and_the_setting(tmp_path: Path) -> None:
    with pytest.raises(RealDataMissing) as exc:
        davidson(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(exc.value) and "SOCIALHUB_DATASETS" in str(exc.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RealDataMissing) as exc:
        davidson(tmp_path / "empty")
    assert "davidson2017/train.jsonl" in str(exc.value) and "SOCIALHUB_DATASETS" in str(exc.value)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{oops", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ('{"id": "z", "davidson_class": "neither"}', "line 2: `text` must be a string (missing)"),
        ('{"text": "t", "davidson_class": "neither"}', "line 2: `id` must be"),
        ('{"id": "z", "text": "t", "davidson_class": "rude"}', "line 2: `davidson_class` must be one of"),
        ('{"id": "fake-0", "text": "t", "davidson_class": "neither"}', "line 2: id 'fake-0' already on line 1"),
    ],
)
def test_malformed_line_is_named(tmp_path: Path, bad: str, message: str) -> None:
    path = _write_davidson(tmp_path, [json.dumps(_rows(1)[0]), bad])
    with pytest.raises(RealDataMalformed) as exc:
        davidson(tmp_path, "all")
    assert message in str(exc.value) and str(path) in str(exc.value)


def test_unknown_part_is_refused(tmp_path: Path) -> None:
    _write_davidson(tmp_path, _rows(3))
    with pytest.raises(ValueError, match="part must be one of"):
        davidson(tmp_path, "test")


def test_strip_html() -> None:
    assert strip_html("<p>Hello <a href='x'>world</a></p><p>again&amp; more</p>") == "Hello world again& more"
    assert strip_html("one<br>two") == "one two"


def test_platform_posts_pull_post_texts_and_skip_the_rest(tmp_path: Path) -> None:
    fx = tmp_path / "fixtures"
    (fx / "mastodon" / "extracted").mkdir(parents=True)
    (fx / "mastodon" / "extracted" / "page.body.json").write_text(json.dumps(
        [{"id": "1", "content": "<p>Morning all, <b>coffee</b> time</p>"},
         {"id": "2", "content": "<p>Morning all, coffee time</p>"}]))            # same text twice: kept once
    (fx / "mastodon" / "extracted" / "page.meta.json").write_text(json.dumps({"text": "a header, not a post"}))
    (fx / "x" / "extracted").mkdir(parents=True)
    (fx / "x" / "extracted" / "tweets.body.json").write_text(json.dumps(
        {"data": [{"text": "Match day at the park", "context_annotations": [{"domain": {"description": "Sport"}}]}],
         "errors": [{"title": "Not Found Error"}]}))
    (fx / "x" / "cassettes").mkdir()
    (fx / "x" / "cassettes" / "whole.json").write_text(json.dumps({"text": "inside a cassette"}))
    (fx / "reddit").mkdir()
    (fx / "reddit" / "listing.json").write_text(json.dumps(
        {"data": {"children": [{"data": {"title": "Garden update", "selftext": "Tomatoes are in &amp; growing",
                                         "body": ""}}]}}))
    (fx / "youtube").mkdir()
    (fx / "youtube" / "feed.xml").write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>Choir rehearsal</title>'
        "</entry></feed>")
    (fx / "youtube" / "broken.json").write_text("{not json")
    got = {(p.platform, p.field, p.text) for p in platform_posts(fx)}
    assert got == {
        ("mastodon", "content", "Morning all, coffee time"),
        ("x", "text", "Match day at the park"),
        ("reddit", "title", "Garden update"),
        ("reddit", "selftext", "Tomatoes are in & growing"),
        ("youtube", "title", "Choir rehearsal"),
    }
    with pytest.raises(RealDataMissing, match="SOCIALHUB_CONFORMANCE_FIXTURES"):
        platform_posts(tmp_path / "no-fixtures")


REAL = realdata.datasets_dir()


@pytest.mark.skipif(not (REAL / realdata.DAVIDSON_FILE).is_file(),
                    reason=f"real tweets not found at {REAL} (set SOCIALHUB_DATASETS)")
def test_the_real_file_reads_and_splits_about_70_30() -> None:
    every = davidson(REAL, "all")
    held = davidson(REAL, "heldout")
    assert len(every) > 1000
    assert 0.26 < len(held) / len(every) < 0.34
    assert {p.davidson_class for p in every} == set(realdata.DAVIDSON_CLASSES)
    assert sum(p.davidson_class == "neither" for p in held) > 300
