"""The rule definitions and the light-import contract; none of these tests load Great Expectations."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from socialhub.quality import SUITE_NAME, SUITE_VERSION, rules_fingerprint
from socialhub.quality.rules import HTTP_URL_REGEX, ISO_UTC_REGEX, RULES, SHA256_REGEX

ROOT = Path(__file__).resolve().parents[2]

#: One entry per released suite version. Changing a rule changes the fingerprint: bump
#: SUITE_VERSION and add the new pin here, so stored results always name the rules that judged them.
PINNED_FINGERPRINTS = {
    "1.0.0": "b92fdcd95d4e9f049f24236385851a8caad3dc41184f886b41b7f2b0bfc6c028",
}


def test_suite_is_named_and_versioned_and_rules_match_the_pinned_fingerprint() -> None:
    assert SUITE_NAME == "socialhub.posts"
    assert re.fullmatch(r"\d+\.\d+\.\d+", SUITE_VERSION)
    assert rules_fingerprint() == PINNED_FINGERPRINTS.get(SUITE_VERSION), (
        "the quality rules changed: bump SUITE_VERSION and pin the new fingerprint"
    )


def test_every_reason_label_is_unique_so_a_reason_names_exactly_one_rule() -> None:
    labels = [r.label for r in RULES]
    assert len(labels) == len(set(labels))
    assert all(r.why for r in RULES)


def test_rules_serialise_as_json_for_storing_alongside_results() -> None:
    json.dumps([[r.frame, r.expectation, r.kwargs] for r in RULES])


def _run_isolated(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT / "include"), "GX_ANALYTICS_ENABLED": "false", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_importing_quality_and_validating_an_empty_batch_load_neither_gx_nor_pandas() -> None:
    """DAG files import socialhub.quality at parse time; GX costs 10 s+ to import."""
    out = _run_isolated(
        "import sys\n"
        "from datetime import datetime, timezone\n"
        "import socialhub.quality as q\n"
        "r = q.validate_batch([], now=datetime(2025, 1, 1, tzinfo=timezone.utc))\n"
        "assert r.gate_passed and r.gx_success and r.valid == [] and r.quarantined == []\n"
        "print(sorted(m for m in ('great_expectations', 'pandas') if m in sys.modules))\n"
    )
    assert out == "[]"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.social/@a/1", True),
        ("http://example.org", True),
        ("https://example.org:8443/p?q=1#f", True),
        ("https://bücher.example/x", True),
        ("ftp://example.org/x", False),
        ("javascript:alert(1)", False),
        ("https://user@evil.example/x", False),
        ("https://example.org/a b", False),
        ("https://example.org/x\n", False),  # ``$`` would accept this; ``\Z`` does not
        ("https://localhost/x", False),
        ("//example.org/x", False),
        ("", False),
    ],
)
def test_url_regex(url: str, ok: bool) -> None:
    assert bool(re.search(HTTP_URL_REGEX, url)) is ok  # GX's pandas engine uses str.contains (search)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2025-11-25T10:00:00Z", True),
        ("2025-11-25T10:00:00+00:00", False),
        ("2025-11-25T10:00:00.123Z", False),
        ("2025-11-25 10:00:00Z", False),
        ("2025-1-5T10:00:00Z", False),
        ("2025-11-25T24:00:00Z", False),
        ("2025-11-25T10:00:00Z\n", False),
        ("٢٠٢٥-11-25T10:00:00Z", False),  # Arabic-Indic digits match \d, not [0-9]
    ],
)
def test_timestamp_regex(value: str, ok: bool) -> None:
    assert bool(re.search(ISO_UTC_REGEX, value)) is ok


def test_sha256_regex_wants_64_lowercase_hex() -> None:
    assert re.search(SHA256_REGEX, "a" * 64)
    assert not re.search(SHA256_REGEX, "A" * 64)
    assert not re.search(SHA256_REGEX, "a" * 63)
    assert not re.search(SHA256_REGEX, "a" * 65)


def test_the_network_guard_is_active_in_these_tests() -> None:
    """Otherwise "no test reached the internet" would prove nothing."""
    import socket

    with pytest.raises(AssertionError, match="network access attempted"):
        socket.create_connection(("pypi.org", 443), timeout=1)
    with pytest.raises(AssertionError, match="network access attempted"):
        socket.socket().connect(("127.0.0.1", 9))
