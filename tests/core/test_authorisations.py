"""The authorisation register (issue 18.1): records of their own, with policy checks; expiry and
cancellation stop collection the same day; renewal; the register outlives the data it covered;
every change audited. Dates are fixed (never today's)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml
from tests.review._pipeline import ListConnector

from socialhub.audit.chain import AuditLog
from socialhub.cli import main
from socialhub.errors import ConfigError
from socialhub.governance.authorisations import (
    Authorisation,
    Policy,
    add_months,
    load_register,
    parse_file,
    rank_level,
)
from socialhub.retention import Policy as RetentionPolicy
from socialhub.retention import Rule, apply_retention
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import parse_watchlist
from socialhub_airflow import runtime

GRANTED = date(2026, 9, 1)
POLICY = Policy()


def _auth(**over):
    base = {"reference": "DS-2026-0007", "type": "directed_surveillance",
            "necessity": "Repeated public threats between two named groups; less intrusive means tried.",
            "authorising_officer": {"name": "Jane Example", "rank": "Superintendent"},
            "granted_on": GRANTED.isoformat(), "operation": "Op Example",
            "accounts": ["mastodon:a@x.social", "mastodon:b@x.social"]}
    return {**base, **over}


def _file(tmp_path, *records, policy=None):
    p = tmp_path / "authorisations.yaml"
    doc = {"version": 1, "authorisations": list(records)}
    if policy:
        doc["policy"] = policy
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


def _entry(account, ref="DS-2026-0007", **over):
    return {"platform": "mastodon", "account": account, "display_name": account, "force": "met", "team": "gangs",
            "owner": "DS Owner", "priority": "critical", "authorisation_ref": ref,
            "purpose": "Public threats between two named groups.", "review_by": "2099-12-31", **over}


# -- the record and its policy ---------------------------------------------------------------------
def test_directed_surveillance_lasts_three_months_by_default_and_at_most():
    auth = Authorisation.model_validate(_auth())
    assert auth.expiry(POLICY) == date(2026, 12, 1)
    assert auth.check(POLICY) == []
    too_long = Authorisation.model_validate(_auth(expires_on="2026-12-02"))
    assert "more than 3 month(s) after the grant" in too_long.check(POLICY)[0]
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)          # no 30 February


def test_directed_surveillance_needs_a_superintendent_and_ranks_have_aliases():
    assert rank_level("Supt") == rank_level("superintendent") > rank_level("DCI") > rank_level("DS")
    low = Authorisation.model_validate(_auth(authorising_officer={"name": "Sam Example", "rank": "DCI"}))
    assert any("below the rank that may authorise" in p for p in low.check(POLICY))
    odd = Authorisation.model_validate(_auth(authorising_officer={"name": "Sam Example", "rank": "Captain"}))
    assert any("not one this register knows" in p for p in odd.check(POLICY))
    overt = Authorisation.model_validate(_auth(type="overt_open_source",
                                               authorising_officer={"name": "Sam Example", "rank": "Inspector"}))
    assert overt.check(POLICY) == [] and overt.expiry(POLICY) == date(2027, 9, 1)


def test_a_file_with_problems_is_refused_naming_each(tmp_path):
    bad = _file(tmp_path, _auth(), _auth(), _auth(reference="DS-2", necessity="short", accounts=[]))
    with pytest.raises(ConfigError) as err:
        load_register(None, bad)
    text = str(err.value)
    assert "DS-2026-0007 is listed twice" in text and "necessity" in text and "accounts" in text
    with pytest.raises(ConfigError, match="keep_years_after_end"):
        parse_file(yaml.safe_dump({"authorisations": [], "policy": {"keep_years_after_end": 2}}), "x.yaml")


def test_statuses_through_the_life_of_an_authorisation():
    auth = Authorisation.model_validate(_auth(reviews=[{"on": "2026-09-25", "outcome": "continue",
                                                        "notes": "still necessary",
                                                        "reviewer": {"name": "Jane Example", "rank": "Supt"}}]))
    assert auth.status(date(2026, 8, 31), POLICY) == "not_yet_in_force"
    assert auth.status(date(2026, 10, 1), POLICY) == "active"
    assert auth.next_review(POLICY) == date(2026, 10, 23)
    assert auth.status(date(2026, 10, 23), POLICY) == "review_due"
    assert auth.status(date(2026, 12, 1), POLICY) == "expired"
    assert auth.keep_until(POLICY) == date(2029, 12, 1)


# -- collection stops the same day -------------------------------------------------------------------
def _watchlist(tmp_path, register_path, store, *entries):
    wl = parse_watchlist(yaml.safe_dump({"version": 1, "accounts": list(entries)}))
    return wl.with_register(load_register(store, register_path))


def test_expiry_stops_collection_on_its_day(tmp_path):
    store = LocalStore(tmp_path / "store")
    wl = _watchlist(tmp_path, _file(tmp_path, _auth()), store, _entry("a@x.social"))
    ok, lapsed = wl.authorised(date(2026, 11, 30))
    assert [e.key for e in ok] == ["mastodon:a@x.social"] and not lapsed
    ok, lapsed = wl.authorised(date(2026, 12, 1))
    assert not ok and [e.key for e in lapsed] == ["mastodon:a@x.social"]
    assert "DS-2026-0007 expired: no cover from 2026-12-01" in wl.why_not(lapsed[0], date(2026, 12, 1))


def test_unregistered_and_uncovered_accounts_are_not_collected(tmp_path):
    store = LocalStore(tmp_path / "store")
    wl = _watchlist(tmp_path, _file(tmp_path, _auth()), store, _entry("a@x.social"),
                    _entry("c@x.social"), _entry("d@x.social", ref="NOPE-1"))
    day = date(2026, 10, 1)
    assert [e.key for e in wl.authorised(day)[0]] == ["mastodon:a@x.social"]
    reasons = {i["key"]: i["reason"] for i in wl.lapse_info(day)}
    assert "does not cover mastodon:c@x.social" in reasons["mastodon:c@x.social"]
    assert "NOPE-1 is not in the authorisation register" in reasons["mastodon:d@x.social"]
    # handles compare as the watchlist compares them (case, leading @)
    wl2 = _watchlist(tmp_path, _file(tmp_path, _auth(accounts=["mastodon:@A@X.social"])), store,
                     _entry("a@x.social"))
    assert wl2.authorised(day)[0]


def test_no_register_means_review_by_alone(tmp_path):
    store = LocalStore(tmp_path / "store")
    wl = _watchlist(tmp_path, None, store, _entry("a@x.social", ref="ANY"))
    assert wl.register is None and wl.authorised(date(2026, 10, 1))[0]


@pytest.fixture
def pipeline(tmp_path, monkeypatch):
    """The collection DAG's task functions (called directly) on a register kept in the store only."""
    wl = tmp_path / "watchlist.yaml"
    wl.write_text(yaml.safe_dump({"version": 1, "accounts": [_entry("a@x.social"), _entry("b@x.social")]}))
    st = LocalStore(tmp_path / "store")
    clock = {"now": datetime(2026, 10, 5, 9, 0, tzinfo=UTC)}
    monkeypatch.setenv("SOCIALHUB_WATCHLIST", str(wl))
    monkeypatch.setenv("SOCIALHUB_POLL_ALL", "1")
    monkeypatch.delenv("SOCIALHUB_AUTHORISATIONS", raising=False)
    monkeypatch.delenv("SOCIALHUB_AUDIT_KEYS", raising=False)
    monkeypatch.delenv("SOCIALHUB_AUDIT_ANCHOR", raising=False)
    monkeypatch.setattr(runtime, "store", lambda: st)
    monkeypatch.setattr(runtime, "now", lambda: clock["now"])
    monkeypatch.setattr(runtime, "connector_factory", lambda cfg: (lambda platform: ListConnector({"1": "hello"})))
    return st, clock


def _cli(st, *args):
    return main(["authorisations", *args, "--store", str(st.root)])


def _grant(st, on="2026-09-01"):
    return _cli(st, "grant", "DS-2026-0007", "--type", "directed_surveillance", "--officer", "Jane Example",
                "--rank", "Superintendent", "--operation", "Op Example", "--account", "mastodon:a@x.social",
                "--account", "mastodon:b@x.social", "--necessity", _auth()["necessity"], "--on", on,
                "--by", "Registry clerk 42")


def _collected(st):
    return sorted(k for k in st.list("manifests/"))


def test_cancellation_through_the_cli_stops_collection_the_same_day(pipeline, capsys):
    st, clock = pipeline
    assert _grant(st) == 0
    shards = runtime.plan("mastodon")
    assert sorted(k for s in shards for k in s["accounts"]) == ["mastodon:a@x.social", "mastodon:b@x.social"]
    assert len([o for s in shards for o in runtime.collect(s)]) == 2
    # cancelled the morning of 6 October: that day's runs collect nothing, and a shard planned before
    # the cancellation is refused too
    clock["now"] = datetime(2026, 10, 6, 8, 0, tzinfo=UTC)
    shards = runtime.plan("mastodon")
    assert _cli(st, "cancel", "DS-2026-0007", "--officer", "Jane Example", "--rank", "Supt", "--why",
                "Operation closed: charges laid.", "--on", "2026-10-06", "--by", "Registry clerk 42") == 0
    assert [o for s in shards for o in runtime.collect(s)] == []
    assert runtime.plan("mastodon") == []
    summary = runtime.finish_collection([], "run-2")
    assert summary["accounts_lapsed"] == ["mastodon:a@x.social", "mastodon:b@x.social"]
    report = json.loads(st.get("reports/collect/run-2.json"))
    assert "cancelled on 2026-10-06 by Supt Jane Example: Operation closed: charges laid." in \
        report["accounts_lapsed"][0]["reason"]
    events = [e for e in AuditLog(st).events() if e["action"] in ("authorisation", "authorisation_lapsed")]
    changes = [e for e in events if e["action"] == "authorisation"]
    assert [e["details"]["op"] for e in changes] == ["grant", "cancel"]
    assert changes[1]["actor"]["name"] == "Registry clerk 42"
    assert changes[1]["justification"] == "Operation closed: charges laid."
    assert any("cancelled on 2026-10-06" in e["justification"] for e in events
               if e["action"] == "authorisation_lapsed")
    # a cancelled authorisation cannot be cancelled or renewed again
    assert _cli(st, "renew", "DS-2026-0007", "--officer", "Jane Example", "--rank", "Supt", "--why",
                "still necessary for the case", "--on", "2026-10-07") == 1
    assert "already cancelled" in capsys.readouterr().err


def test_renewal_before_expiry_extends_cover_and_after_it_is_refused(pipeline, capsys):
    st, clock = pipeline
    assert _grant(st) == 0
    clock["now"] = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)                 # the expiry day
    assert runtime.plan("mastodon") == []
    assert _cli(st, "renew", "DS-2026-0007", "--officer", "Jane Example", "--rank", "Supt", "--why",
                "still necessary for the case", "--on", "2026-12-01") == 1
    assert "cannot be renewed, grant a new one" in capsys.readouterr().err
    assert _cli(st, "renew", "DS-2026-0007", "--officer", "Jane Example", "--rank", "Supt", "--why",
                "Threats continue; reviewed evidence supports continuing.", "--on", "2026-11-28") == 0
    assert "no cover from 2027-03-01" in capsys.readouterr().out
    assert runtime.plan("mastodon")                                          # collected again
    # a renewal by a rank that may not authorise is refused and stores nothing
    before = st.list("governance/")
    assert _cli(st, "renew", "DS-2026-0007", "--officer", "Sam Example", "--rank", "DCI", "--why",
                "another three months please", "--on", "2027-02-20") == 1
    assert "below the rank" in capsys.readouterr().err and st.list("governance/") == before


def test_review_due_and_the_printed_register(pipeline, capsys):
    st, _ = pipeline
    assert _grant(st) == 0
    assert _cli(st, "due", "--on", "2026-09-20") == 0
    assert "no authorisation due" in capsys.readouterr().out
    assert _cli(st, "due", "--on", "2026-09-29") == 0
    assert "DS-2026-0007 (Op Example; authorised by Superintendent Jane Example): review overdue since 2026-09-29" \
        in capsys.readouterr().out
    assert _cli(st, "review", "DS-2026-0007", "--officer", "Jane Example", "--rank", "Supt", "--outcome",
                "continue", "--notes", "Still necessary: threats continue.", "--on", "2026-09-30") == 0
    capsys.readouterr()
    assert _cli(st, "list", "--on", "2026-10-01") == 0
    out = capsys.readouterr().out
    assert "DS-2026-0007" in out and "in force" in out and "2026-10-28" in out and "2026-12-01" in out
    assert _cli(st, "show", "DS-2026-0007", "--on", "2026-10-01") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["reviews"][0]["reviewer"]["name"] == "Jane Example" and shown["source"] == "store"


def test_the_register_outlives_the_data_it_covered(pipeline):
    st, clock = pipeline
    assert _grant(st) == 0
    assert len([o for s in runtime.plan("mastodon") for o in runtime.collect(s)]) == 2
    assert _cli(st, "cancel", "DS-2026-0007", "--officer", "Jane Example", "--rank", "Supt", "--why",
                "Operation closed: charges laid.", "--on", "2026-10-06") == 0
    assert st.list(layout.manifest_prefix("mastodon", "a@x.social"))
    # a year later retention erases every batch it covered (taken off the processing queue here,
    # as processing would, so that retention treats them as unflagged batches) ...
    for key in st.list("queue/pending/"):
        st.delete(key)
    later = datetime(2027, 10, 6, tzinfo=UTC)
    policy = RetentionPolicy(rules=[Rule(id="nf", applies_to="not_flagged", days=30),
                                    Rule(id="f", applies_to="flagged", days=30)])
    summary = apply_retention(st, policy, later)
    assert len(summary["erased"]) == 2
    # ... and the register still holds the authorisation, to be kept three years after it ended
    register = load_register(st, None)
    auth = register.get("DS-2026-0007")
    assert auth is not None and auth.cancellation is not None
    assert auth.keep_until(register.policy) == date(2029, 10, 6)
    assert register.rows(later.date())[0]["keep_until"] == "2029-10-06"


def test_a_reference_granted_in_the_file_and_the_store_is_refused(pipeline, tmp_path):
    st, _ = pipeline
    assert _grant(st) == 0
    with pytest.raises(ConfigError, match="granted both in"):
        load_register(st, _file(tmp_path, _auth()))


def test_the_plan_says_why_an_entry_is_not_collected(tmp_path):
    from socialhub.collect import plan_collection

    store = LocalStore(tmp_path / "store")
    wl = _watchlist(tmp_path, _file(tmp_path, _auth()), store, _entry("a@x.social"))
    plan = plan_collection(wl, store, datetime(2026, 12, 1, tzinfo=UTC) + timedelta(hours=1))
    assert plan.due == 0
    (line,) = [x for x in plan.describe() if x.startswith("NOT COLLECTED")]
    assert line == ("NOT COLLECTED mastodon:a@x.social [unknown]: authorisation DS-2026-0007 expired: no "
                    "cover from 2026-12-01 (renew it before expiry, or grant a new one)")


def test_the_auditors_report_has_the_register_and_its_changes(pipeline, tmp_path):
    from socialhub.audit.report import build_report, write_report

    st, _ = pipeline
    assert _grant(st) == 0
    assert _cli(st, "cancel", "DS-2026-0007", "--officer", "Jane Example", "--rank", "Supt", "--why",
                "Operation closed: charges laid.", "--on", "2026-10-06", "--by", "Registry clerk 42") == 0
    at = datetime.now(UTC)
    report = build_report(st, start=at.date(), end=at.date(), now=datetime(2026, 10, 7, tzinfo=UTC), audit_keys=None)
    tables = {t.name: t for t in report.tables}
    (row,) = tables["authorisation_register"].rows
    assert row["status"] == "cancelled" and row["authorising_officer"] == "Superintendent Jane Example"
    assert row["cancelled"] == "2026-10-06 by Supt Jane Example: Operation closed: charges laid."
    assert row["keep_until"] == "2029-10-06" and row["type"] == "directed surveillance (RIPA)"
    changes = tables["authorisation_changes"].rows
    assert [(c["change"], c["officer"], c["recorded_by"]) for c in changes] == [
        ("grant", "Superintendent Jane Example", "Registry clerk 42"),
        ("cancel", "Supt Jane Example", "Registry clerk 42")]
    write_report(report, tmp_path / "out")
    assert "DS-2026-0007" in (tmp_path / "out" / "authorisation_register.csv").read_text()
    assert "Authorisation register" in (tmp_path / "out" / "report.html").read_text()


def test_without_a_register_the_report_says_what_decides(tmp_path, monkeypatch):
    from socialhub.audit.report import build_report

    monkeypatch.delenv("SOCIALHUB_AUTHORISATIONS", raising=False)
    st = LocalStore(tmp_path / "store")
    report = build_report(st, start=date(2026, 10, 1), end=date(2026, 10, 1), now=datetime(2026, 10, 2, tzinfo=UTC),
                          audit_keys=None)
    table = next(t for t in report.tables if t.name == "authorisation_register")
    assert table.rows == [] and "review-by date alone decides" in table.empty


def test_socialhub_sources_says_which_accounts_are_not_collected_and_why(pipeline, capsys):
    st, clock = pipeline
    assert _grant(st) == 0
    assert len([o for s in runtime.plan("mastodon") for o in runtime.collect(s)]) == 2
    assert _cli(st, "cancel", "DS-2026-0007", "--officer", "Jane Example", "--rank", "Supt", "--why",
                "Operation closed: charges laid.", "--on", "2026-10-05") == 0
    capsys.readouterr()
    from socialhub import clock as clock_mod

    clock_mod_now = clock_mod.now
    try:
        clock_mod.now = lambda demo=False: clock["now"]            # the CLI's clock, on the test's day
        assert main(["sources", "--store", str(st.root)]) == 0
    finally:
        clock_mod.now = clock_mod_now
    out = capsys.readouterr().out
    assert "mastodon:a@x.social" in out and "NOT COLLECTED" in out
    assert ("mastodon:a@x.social: not collected: authorisation DS-2026-0007 was cancelled on 2026-10-05 by Supt "
            "Jane Example: Operation closed: charges laid.") in out
