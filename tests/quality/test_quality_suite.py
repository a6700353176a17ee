"""validate_batch against real Great Expectations: every rule catches its row, good rows stay valid.

GX validation has a fixed cost of ~0.4 s per call, so the per-rule cases share one batch
(validated once per module) and the property test runs only a handful of examples.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quality_helpers import NOW, good_post

from socialhub.errors import QualityGateFailed
from socialhub.quality import REASONS_KEY, SUITE_NAME, SUITE_VERSION, QualityResult, raise_if_gate_failed, validate_batch
from socialhub.quality import _gx
from socialhub.quality.rules import RULES

NULL = "expect_column_values_to_not_be_null"
REGEX = "expect_column_values_to_match_regex"
STRFTIME = "expect_column_values_to_match_strftime_format"
BETWEEN = "expect_column_values_to_be_between"
TYPE = "expect_column_values_to_be_of_type"
IN_SET = "expect_column_values_to_be_in_set"
UNIQUE = "expect_compound_columns_to_be_unique(platform,post_id)"
COLLECTED_AFTER_CREATED = "expect_column_pair_values_a_to_be_greater_than_b(collected_at_epoch,created_at_epoch)"

# (case name, changes to a good post, the exact reasons expected, in rule order)
BAD_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("platform missing", {"platform": ...}, [f"{NULL}(platform)"]),
    ("platform unknown", {"platform": "myspace"}, [f"{IN_SET}(platform)"]),
    ("platform wrong case", {"platform": "Mastodon"}, [f"{IN_SET}(platform)"]),
    ("account empty", {"account": ""}, [f"{REGEX}(account)"]),
    ("account blank", {"account": "   "}, [f"{REGEX}(account)"]),
    ("account null", {"account": None}, [f"{NULL}(account)"]),
    ("post_id null", {"post_id": None}, [f"{NULL}(post_id)"]),
    ("post_id empty", {"post_id": ""}, [f"{REGEX}(post_id)"]),
    ("post_id int", {"post_id": 987654}, [f"{TYPE}(post_id)"]),
    ("url null", {"url": None}, [f"{NULL}(url)"]),
    ("url ftp", {"url": "ftp://example.org/x"}, [f"{REGEX}(url)"]),
    ("url javascript", {"url": "javascript:alert(1)"}, [f"{REGEX}(url)"]),
    ("url userinfo", {"url": "https://police.example@evil.example/x"}, [f"{REGEX}(url)"]),
    ("url with space", {"url": "https://example.org/a b"}, [f"{REGEX}(url)"]),
    ("url trailing newline", {"url": "https://example.org/x\n"}, [f"{REGEX}(url)"]),
    ("created_at null", {"created_at": None}, [f"{NULL}(created_at)"]),
    ("created_at offset", {"created_at": "2025-11-25T10:00:00+00:00"},
     [f"{REGEX}(created_at)", f"{STRFTIME}(created_at)"]),
    ("created_at empty", {"created_at": ""}, [f"{REGEX}(created_at)", f"{STRFTIME}(created_at)"]),
    ("created_at Feb 30", {"created_at": "2024-02-30T10:00:00Z"}, [f"{STRFTIME}(created_at)"]),
    ("created_at datetime object", {"created_at": NOW},
     [f"{REGEX}(created_at)", f"{STRFTIME}(created_at)", f"{TYPE}(created_at)"]),
    ("created_at beyond skew", {"created_at": "2025-11-25T12:05:01Z", "collected_at": "2025-11-25T12:05:01Z"},
     [f"{BETWEEN}(created_at_epoch)", f"{BETWEEN}(collected_at_epoch)"]),
    ("created_at far future", {"created_at": "2031-01-01T00:00:00Z"},
     [f"{BETWEEN}(created_at_epoch)", COLLECTED_AFTER_CREATED]),
    ("created_at before 2004", {"created_at": "2003-12-31T23:59:59Z"}, [f"{BETWEEN}(created_at_epoch)"]),
    ("collected before created", {"collected_at": "2025-11-25T09:59:59Z"}, [COLLECTED_AFTER_CREATED]),
    ("collected_at null", {"collected_at": None}, [f"{NULL}(collected_at)"]),
    ("collected_at garbage", {"collected_at": "yesterday"}, [f"{REGEX}(collected_at)", f"{STRFTIME}(collected_at)"]),
    ("sha missing", {"raw_sha256": ...}, [f"{NULL}(raw_sha256)"]),
    ("sha upper case", {"raw_sha256": "A" * 64}, [f"{REGEX}(raw_sha256)"]),
    ("sha short", {"raw_sha256": "a" * 63}, [f"{REGEX}(raw_sha256)"]),
    ("media bad url", {"media": ["https://files.example/a.jpg", "file:///etc/passwd"]}, [f"{REGEX}(media_item)"]),
    ("media null entry", {"media": [None]}, [f"{NULL}(media_item)"]),
    ("media int entry", {"media": [42]}, [f"{TYPE}(media_item)", f"{REGEX}(media_item)"]),
    ("media is a string", {"media": "https://files.example/a.jpg"}, [f"{TYPE}(media)"]),
    ("reply_to int", {"reply_to": 5}, [f"{TYPE}(reply_to)"]),
    ("text is a dict", {"text": {"html": "<p>x</p>"}}, [f"{TYPE}(text)"]),
]

GOOD_CASES: list[tuple[str, dict[str, Any]]] = [
    ("plain", {}),
    ("media-only post, no text or author", {"text": "", "author": "", "media": ["https://files.example/v.mp4"]}),
    ("optional fields absent", {"text": ..., "author": ..., "media": ..., "reply_to": ..., "repost_of": ...}),
    ("media empty", {"media": []}),
    ("reply and repost set", {"reply_to": "110001", "repost_of": "110002"}),
    ("created_at within skew", {"created_at": "2025-11-25T12:05:00Z", "collected_at": "2025-11-25T12:05:00Z"}),
    ("created_at exactly 2004", {"created_at": "2004-01-01T00:00:00Z"}),
    ("collected at creation second", {"collected_at": "2025-11-25T10:00:00Z"}),
    ("other platform", {"platform": "bluesky", "url": "https://bsky.app/profile/a.example/post/3k"}),
    ("extra keys kept", {"_note": "connectors may add fields"}),
]


@pytest.fixture(scope="module")
def mixed() -> tuple[list[dict[str, Any]], list[dict[str, Any]], QualityResult]:
    rows = [good_post(i, **changes, _case=name) for i, (name, changes) in enumerate(GOOD_CASES)]
    rows += [good_post(100 + i, **changes, _case=name) for i, (name, changes, _) in enumerate(BAD_CASES)]
    original = copy.deepcopy(rows)
    return rows, original, validate_batch(rows, now=NOW, max_bad_fraction=1.0)


def _by_case(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["_case"]: r for r in rows}


@pytest.mark.parametrize(("case", "changes", "reasons"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_each_rule_quarantines_its_row_with_the_exact_reasons(mixed, case, changes, reasons) -> None:
    _, _, result = mixed
    quarantined = _by_case(result.quarantined)
    assert case in quarantined, f"{case} was not quarantined"
    assert quarantined[case][REASONS_KEY] == reasons


@pytest.mark.parametrize(("case", "changes"), GOOD_CASES, ids=[c[0] for c in GOOD_CASES])
def test_good_rows_in_a_mixed_batch_stay_valid(mixed, case, changes) -> None:
    _, _, result = mixed
    assert case in _by_case(result.valid)


def test_mixed_batch_keeps_order_counts_and_does_not_touch_the_input(mixed) -> None:
    rows, original, result = mixed
    assert rows == original, "validate_batch must not mutate its input"
    assert [r["_case"] for r in result.valid] == [c[0] for c in GOOD_CASES]
    assert [r["_case"] for r in result.quarantined] == [c[0] for c in BAD_CASES]
    for q in result.quarantined:  # quarantined = the original row + reasons, nothing else changed
        assert {k: v for k, v in q.items() if k != REASONS_KEY} == _by_case(original)[q["_case"]]
    counted = Counter(reason for q in result.quarantined for reason in q[REASONS_KEY])
    assert {k: v for k, v in result.stats["failures"].items() if v} == dict(counted)
    assert set(result.stats["failures"]) == {r.label for r in RULES}
    assert result.stats["rows"] == len(rows)
    assert (result.stats["valid"], result.stats["quarantined"]) == (len(GOOD_CASES), len(BAD_CASES))
    assert not result.gx_success
    assert result.gate_passed  # max_bad_fraction=1.0
    json.dumps(result.stats)  # stored in the batch's result record


def test_a_clean_batch_passes_untouched() -> None:
    rows = [good_post(i) for i in range(25)]
    result = validate_batch(rows, now=NOW)
    assert result.quarantined == []
    assert all(out is row for out, row in zip(result.valid, rows, strict=True))
    assert result.gx_success and result.gate_passed
    assert (result.suite_name, result.suite_version) == (SUITE_NAME, SUITE_VERSION)
    assert not any(result.stats["failures"].values())
    assert result.stats["bad_fraction"] == 0.0


def test_duplicates_keep_the_first_copy_and_quarantine_every_later_one() -> None:
    rows = [
        good_post(1, text="first"),
        good_post(2),
        good_post(1, text="edited later"),
        good_post(1, platform="bluesky", url="https://bsky.app/x/1"),  # same id, other platform: distinct
        good_post(1, text="third copy"),
        good_post(3, post_id=None),
        good_post(4, post_id=None),  # null ids are missing, not duplicates of each other
    ]
    result = validate_batch(rows, now=NOW, max_bad_fraction=1.0)
    assert result.valid == [rows[0], rows[1], rows[3]]
    assert [(q["text"], q[REASONS_KEY]) for q in result.quarantined] == [
        ("edited later", [UNIQUE]),
        ("third copy", [UNIQUE]),
        ("post number 3", [f"{NULL}(post_id)"]),
        ("post number 4", [f"{NULL}(post_id)"]),
    ]
    assert result.stats["failures"][UNIQUE] == 2


def test_a_first_copy_that_is_bad_for_another_reason_is_still_the_first() -> None:
    """Documented policy: first occurrence in batch order wins, whatever else is wrong with it."""
    rows = [good_post(1, url="ftp://x.example/1"), good_post(1)]
    result = validate_batch(rows, now=NOW, max_bad_fraction=1.0)
    assert result.valid == []
    assert [q[REASONS_KEY] for q in result.quarantined] == [[f"{REGEX}(url)"], [UNIQUE]]


def test_a_replayed_row_that_now_passes_loses_its_old_reasons() -> None:
    row = good_post(1, **{REASONS_KEY: ["expect_column_values_to_match_regex(url)"]})
    result = validate_batch([row], now=NOW)
    assert result.valid == [good_post(1)]


def test_future_bound_moves_with_now() -> None:
    row = good_post(1, created_at="2025-11-25T13:00:00Z", collected_at="2025-11-25T13:00:00Z")
    assert validate_batch([row], now=NOW).quarantined  # an hour ahead of NOW
    later = NOW.replace(hour=13)
    assert validate_batch([row], now=later).valid == [row]  # same suite, new parameter


def test_mostly_bad_batch_fails_the_gate_and_raise_reports_counts_and_top_reasons() -> None:
    rows = [good_post(i) for i in range(4)]
    rows += [good_post(10 + i, url="ftp://example.org/x") for i in range(4)]
    rows += [good_post(20 + i, raw_sha256="nope") for i in range(2)]
    result = validate_batch(rows, now=NOW)
    assert (len(result.valid), len(result.quarantined)) == (4, 6)
    assert not result.gate_passed
    with pytest.raises(QualityGateFailed) as err:
        raise_if_gate_failed(result, "mastodon-police-20251125T1200")
    message = str(err.value)
    assert "batch mastodon-police-20251125T1200: 6 of 10 rows quarantined (60% > 50% allowed)" in message
    assert f"{REGEX}(url) x4; {REGEX}(raw_sha256) x2" in message
    assert f"{SUITE_NAME} v{SUITE_VERSION}" in message
    assert "quarantine objects" in message  # the error's hint


def test_gate_boundary_exactly_at_the_limit_passes_and_raise_is_a_no_op() -> None:
    rows = [good_post(i) for i in range(5)] + [good_post(10 + i, url="bad") for i in range(5)]
    result = validate_batch(rows, now=NOW, max_bad_fraction=0.5)
    assert result.stats["bad_fraction"] == 0.5 and result.gate_passed
    assert raise_if_gate_failed(result, "b") is None
    strict = validate_batch(rows[:6], now=NOW, max_bad_fraction=0.0)  # one bad row of six
    assert not strict.gate_passed


def test_empty_batch_is_valid_and_passes_the_gate() -> None:
    result = validate_batch([], now=NOW)
    assert (result.valid, result.quarantined) == ([], [])
    assert result.gx_success and result.gate_passed
    assert result.stats["rows"] == 0 and result.stats["bad_fraction"] == 0.0
    raise_if_gate_failed(result, "empty")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"now": datetime(2025, 11, 25, 12)}, ValueError),  # naive
        ({"now": NOW, "max_bad_fraction": 1.5}, ValueError),
        ({"now": NOW, "max_bad_fraction": -0.1}, ValueError),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        validate_batch([good_post(1)], **kwargs)


def test_a_row_that_is_not_a_dict_is_a_caller_bug() -> None:
    with pytest.raises(TypeError, match=r"posts\[1\]"):
        validate_batch([good_post(1), "not a row"], now=NOW)  # type: ignore[list-item]


def test_context_is_built_once_offline_and_reused() -> None:
    validate_batch([good_post(1)], now=NOW)
    rt = _gx.runtime()
    validate_batch([good_post(2)], now=NOW)
    assert _gx.runtime() is rt
    assert rt.context.config.analytics_enabled is False
    assert type(rt.context).__name__ == "EphemeralDataContext"
    assert {s.name for s in rt.suites.values()} == {f"{SUITE_NAME}.{f}" for f in ("posts", "types", "media")}


def test_an_expectation_that_raises_is_an_error_not_a_pass() -> None:
    import pandas as pd

    with pytest.raises(_gx.SuiteExecutionError, match="raised in GX"):
        _gx.run("media", pd.DataFrame({"not_media_item": ["x"]}), {})


# Mutations for the property test: a mix of good, bad and duplicate-making rows.
_MUTATIONS = [{}] * 4 + [changes for _, changes, _ in BAD_CASES[::3]]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(_MUTATIONS)), max_size=25))
def test_property_every_row_comes_out_exactly_once(spec: list[tuple[int, dict[str, Any]]]) -> None:
    rows = [good_post(pid, **changes, _seq=seq) for seq, (pid, changes) in enumerate(spec)]
    result = validate_batch(rows, now=NOW)
    out = [(r["_seq"], r) for r in result.valid] + [(q["_seq"], q) for q in result.quarantined]
    assert sorted(seq for seq, _ in out) == list(range(len(rows)))
    for seq, r in out:
        assert {k: v for k, v in r.items() if k != REASONS_KEY} == rows[seq]
    assert all(q[REASONS_KEY] for q in result.quarantined)
    keys = [(r["platform"], r["post_id"]) for r in result.valid]
    assert len(keys) == len(set(keys)), "a duplicate post slipped into the valid rows"
    assert result.gate_passed == (not rows or len(result.quarantined) / len(rows) <= 0.5)
