"""docs/governance.md carries the retention schedule generated from the packaged configuration
(issue 18.6): it cannot drift from the policy the housekeeping DAG applies."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialhub.errors import ConfigError
from socialhub.governance.authorisations import Policy
from socialhub.governance.schedule import END, START, packaged_schedule, replace_block, schedule
from socialhub.retention import load_policy

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "governance.md"


def test_the_documented_schedule_is_the_packaged_configurations():
    text = DOC.read_text(encoding="utf-8")
    assert replace_block(text, packaged_schedule()) == text, (
        "docs/governance.md's retention schedule differs from the configuration: run "
        "`socialhub governance schedule --update docs/governance.md`")


def test_the_schedule_follows_the_configuration(tmp_path):
    policy = tmp_path / "retention.yaml"
    policy.write_text("version: 1\nrules:\n  - id: short\n    applies_to: not_flagged\n    days: 7\n")
    text = schedule(load_policy(policy), Policy(keep_years_after_end=6, review_every_days=14))
    assert "| `short` | a collected batch in which no post was flagged" in text and "| 7 days after collection |" in text
    assert "at least 6 years after the authorisation ends" in text and "reviews are due every 14 days" in text
    assert "flagged post |" not in text.split("| record |")[0]            # only the configured rules


def test_a_document_without_markers_is_refused():
    with pytest.raises(ConfigError, match="markers"):
        replace_block("no markers here", "x")
    assert replace_block(f"a {START}\nold\n{END} b", "new") == f"a {START}\nnew\n{END} b"
