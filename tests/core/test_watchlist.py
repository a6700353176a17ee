from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from socialhub.cli import main
from socialhub.errors import WatchlistError
from socialhub.watchlist import DEFAULT_PATH, is_due, load_watchlist, parse_watchlist

GOOD = """
version: 1
accounts:
  - platform: mastodon
    account: someone@example.social
    display_name: Someone
    force: met
    team: gangs
    owner: DS Example
    priority: high
    authorisation_ref: AUTH-1
    purpose: Public threats between two named groups.
    review_by: 2030-01-01
"""


def test_default_watchlist_is_valid():
    wl = load_watchlist(DEFAULT_PATH)
    assert len(wl.accounts) >= 5
    ok, lapsed = wl.authorised(date(2026, 11, 25))
    assert [e.account for e in lapsed] == ["oldcase@social.hubdemo.example"]


def test_every_problem_is_reported_at_once():
    text = GOOD + """
  - platform: myspace
    account: x
    display_name: X
    force: met
    team: gangs
    owner: o
    authorisation_ref: A
    purpose: too short
    review_by: not-a-date
  - platform: mastodon
    account: someone@example.social
    display_name: Someone
    force: met
    team: gangs
    owner: DS Example
    authorisation_ref: AUTH-1
    purpose: Public threats between two named groups.
    review_by: 2030-01-01
    colour: red
"""
    with pytest.raises(WatchlistError) as info:
        parse_watchlist(text, "w.yaml")
    problems = "\n".join(info.value.problems)
    assert "accounts[1] (myspace:x): platform" in problems
    assert "accounts[1] (myspace:x): purpose" in problems
    assert "accounts[1] (myspace:x): review_by" in problems
    assert "accounts[2] (mastodon:someone@example.social): colour: Extra inputs are not permitted" in problems


def test_duplicate_entries_and_yaml_keys():
    with pytest.raises(WatchlistError, match="duplicate of accounts"):
        parse_watchlist(GOOD + GOOD.split("accounts:\n", 1)[1], "w.yaml")
    with pytest.raises(WatchlistError, match="duplicate key"):
        parse_watchlist(GOOD.replace("    team: gangs\n", "    team: gangs\n    team: other\n"), "w.yaml")


@pytest.mark.parametrize("text", ["!!python/object/apply:os.system ['true']", "- just\n- a list", "accounts: 3",
                                  "{{{{"])
def test_hostile_or_wrong_shapes_are_refused(text):
    with pytest.raises(WatchlistError):
        parse_watchlist(text, "w.yaml")


@pytest.mark.parametrize("account", ["has space", "tab\tname", "new\nline"])
def test_account_with_whitespace_is_refused(account):
    with pytest.raises(WatchlistError, match="account"):
        parse_watchlist(GOOD.replace("someone@example.social", f'"{account}"'), "w.yaml")


def test_lapsed_entry_is_not_authorised():
    wl = parse_watchlist(GOOD.replace("2030-01-01", "2026-11-24"))
    assert wl.authorised(date(2026, 11, 24))[0]
    assert not wl.authorised(date(2026, 11, 25))[0]


def test_due_by_priority():
    e = parse_watchlist(GOOD).accounts[0]
    now = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    assert is_due(e, None, now)
    assert not is_due(e, now - timedelta(minutes=5), now)
    assert is_due(e, now - timedelta(minutes=15), now)


def test_cli_validate(tmp_path: Path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    assert main(["watchlist", "validate", str(good)]) == 0
    assert "1 entry valid" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("platform: mastodon", "platform: friendster"))
    assert main(["watchlist", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "accounts[0] (friendster:someone@example.social): platform" in err
    assert main(["watchlist", "validate", str(tmp_path / "missing.yaml")]) == 1
    assert "cannot read file" in capsys.readouterr().err


def test_subject_category_defaults_to_unknown_and_is_one_of_five():
    (entry,) = parse_watchlist(GOOD).accounts
    assert entry.subject == "unknown"
    for subject in ("suspect", "victim", "witness", "at_risk", "unknown"):
        text = GOOD + f"    subject: {subject}\n"
        assert parse_watchlist(text).accounts[0].subject == subject
    with pytest.raises(WatchlistError) as exc:
        parse_watchlist(GOOD + "    subject: gang member\n")
    assert "accounts[0] (mastodon:someone@example.social): subject: Input should be 'suspect', 'victim', " \
           "'witness', 'at_risk' or 'unknown'" in str(exc.value)


def test_validate_reminds_the_owner_of_entries_still_unknown(tmp_path: Path, capsys):
    path = tmp_path / "wl.yaml"
    path.write_text(GOOD + GOOD.split("accounts:\n", 1)[1].replace("someone@", "other@") + "    subject: victim\n")
    assert main(["watchlist", "validate", str(path)]) == 0     # a reminder, not a failure
    out = capsys.readouterr().out
    assert "subjects: victim 1, unknown 1" in out
    assert ("reminder: 1 entry with subject: unknown (mastodon:someone@example.social): set suspect, victim, "
            "witness or at_risk (owner: DS Example)") in out
    path.write_text(GOOD + "    subject: suspect\n")
    assert main(["watchlist", "validate", str(path)]) == 0
    assert "reminder" not in capsys.readouterr().out


def test_default_watchlist_sets_subjects_but_leaves_one_unknown():
    wl = load_watchlist(DEFAULT_PATH)
    subjects = {e.subject for e in wl.accounts}
    assert "suspect" in subjects and "unknown" in subjects and subjects & {"victim", "witness", "at_risk"}


def test_each_collection_plan_reminds_owners_of_unknown_subjects(tmp_path: Path):
    from socialhub.collect import plan_collection
    from socialhub.storage import LocalStore

    wl = parse_watchlist(GOOD + GOOD.split("accounts:\n", 1)[1].replace("someone@", "other@")
                         + "    subject: witness\n")
    plan = plan_collection(wl, LocalStore(tmp_path / "store"), datetime(2026, 11, 25, tzinfo=timezone.utc))
    assert plan.due == 2                                         # collected all the same
    (line,) = [x for x in plan.describe() if x.startswith("REMINDER")]
    assert line == ("REMINDER 1 watchlist entry has subject: unknown (mastodon:someone@example.social): owner "
                    "DS Example, set suspect, victim, witness or at_risk (collection goes on)")
