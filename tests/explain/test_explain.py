"""``socialhub explain``: every verdict, every way to name a post, the audit event, --json."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from socialhub.alerts.model import alert_id_for
from socialhub.audit.chain import AuditLog, verify_chain
from socialhub.cli import main
from socialhub.models import parse_iso
from tests.ui.scenario import COUNTY, MET, REFER_JUSTIFICATION


def run(world, capsys, target: str, *extra: str) -> tuple[int, str, str]:
    code = main(["explain", target, "--store", str(world.store.root), "--watchlist", str(world.watchlist_file),
                 "--by", "Auditor A", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def report(world, capsys, target: str, *extra: str) -> dict:
    code, out, err = run(world, capsys, target, "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def verdict(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("VERDICT: "))


# --- why not alerted ---------------------------------------------------------------------------

def test_below_threshold_says_which_category_and_by_how_much(world, capsys):
    r = report(world, capsys, "mastodon:2")
    assert r["outcome"] == "below_threshold" and r["alert"] is None
    assert "alert_id" not in r["post"]          # no alert: no alert id that would read as one sent
    m = re.fullmatch(r"not alerted: (\w+) scored (\d\.\d\d), (\d\.\d\d) below its threshold (\d\.\d\d) "
                     r"\(\d+% of it: the nearest of 4 categories\)", r["verdict"])
    assert m, r["verdict"]
    cat, score, gap, threshold = m.group(1), *map(float, m.groups()[1:])
    judged = r["classification"]["scores"]
    assert judged[cat]["threshold"] == pytest.approx(threshold, abs=0.005)
    assert judged[cat]["score"] == pytest.approx(score, abs=0.005)
    assert gap == pytest.approx(threshold - score, abs=0.011)
    # the named category came nearest its threshold, relative to it (thresholds differ a lot)
    assert max(judged, key=lambda c: (judged[c]["score"] / judged[c]["threshold"], c)) == cat
    assert r["classification"]["labels"] == [] and r["quality"]["status"] == "passed"


def test_quarantined_says_the_reason(world, capsys):
    code, out, _ = run(world, capsys, "mastodon:3bad")
    assert code == 0
    assert verdict(out) == "VERDICT: not alerted: quarantined (expect_column_values_to_match_regex(url))"
    assert "not classified: quarantined posts are not classified" in out
    r = report(world, capsys, "mastodon:3bad")
    assert r["quality"]["status"] == "quarantined" and r["classification"] is None


def test_account_not_due_for_a_post_newer_than_the_last_poll(world, capsys):
    now = world.scenario.now
    newer = int((now + timedelta(minutes=1)).timestamp() * 1000) << 16      # a Mastodon id made at that time
    r = report(world, capsys, f"https://social.example/@ghost_yardz/{newer}")
    assert r["outcome"] == "not_due", r["verdict"]
    last, due = now.strftime("%Y-%m-%dT%H:%M:%SZ"), (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert r["verdict"] == (f"not collected yet: account not due: mastodon:ghost_yardz@social.example last polled "
                            f"at {last}, next due at {due} (priority normal, every 1 h)")
    assert r["not_collected"]["posted_at_from_id"] > last and r["collection"] is None


def test_authorisation_lapsed_so_not_collected(world, capsys):
    lapsed_on = (world.scenario.now.date() - timedelta(days=3)).isoformat()
    code, out, _ = run(world, capsys, "https://social.example/@oldcase/110000000000000001")
    assert code == 0
    assert verdict(out) == (f"VERDICT: never collected: authorisation AUTH-CTY-OLD of mastodon:oldcase@social.example "
                            f"lapsed on {lapsed_on}, so not collected (owner DC B. Example must renew it)")


@pytest.mark.parametrize("target, expected", [
    ("https://social.example/@nobody/1", "never collected: mastodon:nobody@social.example is not on the watchlist"),
    ("https://x.com/someone_else/status/1790000000000000001", "never collected: x:someone_else is not on the watchlist"),
    ("https://t.me/some_channel/42", "never collected: telegram:some_channel is not on the watchlist"),
    ("https://youtu.be/dQw4w9WgXcQ", "never collected: youtube:dQw4w9WgXcQ is in no stored batch, and the youtube "
                                     "account cannot be read from this URL"),
    ("https://news.example/2026/11/item.html", "never collected: https://news.example/2026/11/item.html is in no "
                                               "stored batch, and an RSS item link"),
])
def test_never_collected(world, capsys, target, expected):
    r = report(world, capsys, target)
    assert r["verdict"].startswith(expected), r["verdict"]
    assert all(r[k] is None for k in ("watchlist", "collection", "quality", "classification", "alert"))


# --- an alerted post: review and referral ---------------------------------------------------------

def test_alerted_post_with_review_and_referral(world, capsys):
    aid = world.scenario.answered
    r = report(world, capsys, aid)
    assert r["outcome"] == "alerted"
    assert r["verdict"].startswith("alerted: violence_threat ") and f"alert {aid} to #on-duty (single, outbox)" \
        in r["verdict"]
    w = r["watchlist"]
    assert (w["account"], w["force"], w["authorisation_ref"]) == ("mastodon:ghost_yardz@social.example", MET,
                                                                  "AUTH-MET-1")
    assert w["last_change_before_collection"]["change"] == "added" and w["authorised_when_collected"] is True
    assert "watchlist change history" in w["source"]
    # the scenario's watchlist sets no subject category: recorded as unknown, and so it is now
    assert w["subject"] == w["now"]["subject"] == "unknown (not set on the watchlist)"
    c = r["collection"]
    assert c["run_id"] == "scheduled__scenario-collect" and len(c["raw_item_sha256"]) == 64
    assert c["cursor_before"] == "none (the account's first collection)" and c["cursor_after"] == {"since_id": 3}
    cl = r["classification"]
    assert cl["labels"] == ["violence_threat"] and cl["scores"]["violence_threat"]["label"] is True
    assert any(e["category"] == "violence_threat" and e["text"] for e in cl["evidence"])
    assert cl["classifier_version"] and "classifier_id" in cl
    a = r["alert"]
    assert (a["alert_id"], a["channel"], a["sink"], a["delivery"], a["fallback"]) == (
        aid, "#on-duty", "outbox", "single", "none")
    rv = r["review"]
    assert (rv["decision"], rv["decided_by"], rv["justification"]) == ("Refer to platform", "PC Jones",
                                                                      REFER_JUSTIFICATION)
    assert r["referral"]["decision"] == "Refer to platform" and r["referral"]["evidence_verified"] is True
    assert any(f.startswith("raw_item.json sha256 ") for f in r["referral"]["files"])
    ret = r["retention"]
    assert ret["batch_kind"] == "flagged" and ret["legal_holds"] == [] and ret["subject"] == "unknown"
    assert parse_iso(ret["erase_after"]) - parse_iso(c["captured_at"]) == timedelta(days=365)


def test_escalated_on_timeout_is_shown(world, capsys):
    other = next(a for a in world.scenario.alert_ids if a != world.scenario.answered)
    r = report(world, capsys, other)
    assert r["force"] == COUNTY and r["review"]["timed_out"] is True
    assert r["review"]["decided_by"] == "no response (automatic escalation)"
    assert r["review"]["escalations"] and r["review"]["escalations"][0]["channel"] == "#esc"
    assert r["referral"] is None


def test_legal_hold_is_shown(world, capsys, tmp_path):
    from socialhub.retention import add_hold

    r = report(world, capsys, "mastodon:8")
    add_hold(world.store, "batch", r["collection"]["batch_id"], reason="Case 77 disclosure", by="DS Hold",
             now=world.scenario.now)
    try:
        held = report(world, capsys, "mastodon:8")["retention"]
        assert held["legal_holds"][0]["reason"] == "Case 77 disclosure" and held["status"].startswith("kept: under")
    finally:
        from socialhub.retention import remove_hold

        remove_hold(world.store, "batch", r["collection"]["batch_id"], reason="test over", by="DS Hold")


# --- the ways to name a post ------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["https://social.example/@a/1", "http://www.social.example/@a/1/",
                                    "mastodon:1", alert_id_for("mastodon", "1")])
def test_lookup_by_url_post_key_or_alert_id_finds_the_same_post(world, capsys, target):
    r = report(world, capsys, target)
    assert (r["post"]["platform"], r["post"]["post_id"], r["outcome"]) == ("mastodon", "1", "alerted")


def test_text_report_has_every_section_in_order(world, capsys):
    code, out, _ = run(world, capsys, "mastodon:1")
    assert code == 0
    positions = [out.index(title) for title in ("VERDICT:", "1. Watchlist", "2. Collection", "3. Quality",
                                                 "4. Classification", "5. Alert", "6. Review", "7. Referral",
                                                 "8. Retention")]
    assert positions == sorted(positions)
    assert "evidence (what raised a score: the post's words, text read in its images, hash-list matches):" in out and "run id: scheduled__scenario-collect" in out


def test_json_has_the_same_content(world, capsys):
    r = report(world, capsys, "mastodon:1")
    assert list(r)[:8] == ["target", "target_kind", "store", "generated_at", "verdict", "outcome", "post", "force"]
    for key in ("watchlist", "collection", "quality", "classification", "alert", "review", "referral", "retention"):
        assert r[key], key
    _, text, _ = run(world, capsys, "mastodon:1")
    assert f"VERDICT: {r['verdict']}" in text and r["collection"]["batch_id"] in text


# --- viewing is an audit event ------------------------------------------------------------------------

def test_every_view_is_an_access_event(world, capsys):
    log = AuditLog(world.store)
    before = len(list(log.events()))
    code, _, _ = run(world, capsys, "mastodon:2", "--why", "complaint ref 2026-114")
    assert code == 0
    events = list(log.events())
    assert len(events) == before + 1
    ev = events[-1]
    assert ev["action"] == "access" and ev["object"] == "explain:mastodon:2"
    assert ev["actor"] == {"kind": "person", "name": "Auditor A", "via": "socialhub explain"}
    assert ev["justification"] == "complaint ref 2026-114" and ev["force"] == MET
    assert ev["details"]["post"] == "mastodon:2" and ev["details"]["outcome"] == "below_threshold"
    assert verify_chain(world.store).ok


def test_by_defaults_to_the_login_name(world, capsys, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "login-name")
    assert main(["explain", "mastodon:2", "--store", str(world.store.root)]) == 0
    capsys.readouterr()
    assert list(AuditLog(world.store).events())[-1]["actor"]["name"] == "login-name"


def test_a_view_that_cannot_be_recorded_is_not_shown(world, capsys, monkeypatch):
    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("socialhub.audit.chain.AuditLog.append", broken)
    code, out, err = run(world, capsys, "mastodon:2")
    assert code == 1 and out == "" and "could not be recorded in the audit log" in err


# --- errors ---------------------------------------------------------------------------------------------

def test_a_target_not_understood_exits_2_saying_what_is_accepted(world, capsys):
    code, out, err = run(world, capsys, "not-a-target")
    assert code == 2 and out == ""
    assert "is not a target" in err and "PLATFORM:POST_ID" in err and "alert id" in err


def test_a_missing_store_is_named(tmp_path, capsys):
    missing = tmp_path / "no-such-store"
    assert main(["explain", "mastodon:1", "--store", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"there is no store at {missing}: it does not exist" in err
    assert not missing.exists()                               # never created


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "socialhub explain https://x.com/" in out and "--why" in out


def test_a_near_miss_names_its_category_and_margin(tmp_path, capsys):
    """A threat-like post just under its threshold: the verdict gives the score, the gap and the threshold."""
    from socialhub.alerts.sinks import OutboxSink
    from socialhub.storage import LocalStore
    from tests.review._pipeline import populate

    store = LocalStore(tmp_path / "store")
    populate(store, OutboxSink(tmp_path / "outbox"), texts={"1": "he better watch himself round here",
                                                     "2": "gonna stab him when we catch him lacking"})
    assert main(["explain", "https://x.social/@acct/1", "--store", str(store.root), "--json", "--by", "t"]) == 0
    r = json.loads(capsys.readouterr().out)
    v = r["classification"]["scores"]["violence_threat"]
    assert 0 < v["score"] < v["threshold"] and r["outcome"] == "below_threshold"
    assert r["verdict"] == (f"not alerted: violence_threat scored {v['score']:.2f}, {v['threshold'] - v['score']:.2f} "
                            f"below its threshold {v['threshold']:.2f} ({v['score'] / v['threshold']:.0%} of it: "
                            "the nearest of 4 categories)")


def test_authorisation_cancelled_in_the_register_so_not_collected(world, capsys, tmp_path):
    """An entry whose authorisation was cancelled in the register is never collected from that day,
    and explain says so with the register's reason (on a copy of the shared store)."""
    import shutil

    store = tmp_path / "store"
    shutil.copytree(world.store.root, store)
    assert main(["authorisations", "cancel", "AUTH-MET-1", "--store", str(store), "--officer", "R. Example",
                 "--rank", "Superintendent", "--why", "Operation closed: charges laid.",
                 "--on", world.scenario.now.date().isoformat(), "--by", "Registry clerk 42"]) == 0
    capsys.readouterr()
    newer = int((world.scenario.now + timedelta(minutes=1)).timestamp() * 1000) << 16
    code = main(["explain", f"https://social.example/@ghost_yardz/{newer}", "--store", str(store), "--watchlist",
                 str(world.watchlist_file), "--by", "Auditor A", "--json"])
    r = json.loads(capsys.readouterr().out)
    assert code == 0 and r["outcome"] == "authorisation_lapsed", r["verdict"]
    assert r["verdict"] == (f"never collected: authorisation AUTH-MET-1 was cancelled on {world.scenario.now.date()} "
                            "by Superintendent R. Example: Operation closed: charges laid., so "
                            "mastodon:ghost_yardz@social.example is not collected")
def test_retention_follows_the_subject_category_and_old_manifests_say_not_recorded(tmp_path):
    from socialhub.explain.report import _retention_section, _watchlist_section
    from socialhub.retention import Policy
    from socialhub.storage import LocalStore
    from socialhub.watchlist import parse_watchlist

    policy = Policy.model_validate({"rules": [
        {"id": "flagged", "applies_to": "flagged", "days": 365},
        {"id": "flagged-victim", "applies_to": "flagged", "days": 90, "subject": ["victim", "witness"]}]})
    (entry,) = parse_watchlist("""accounts:
  - platform: mastodon
    account: a@x.social
    display_name: A
    force: met
    team: gangs
    owner: DS Example
    authorisation_ref: AUTH-1
    purpose: Public threats made against this person by a named group.
    review_by: 2030-01-01
    subject: victim
""").accounts
    store = LocalStore(tmp_path / "store")
    manifest = {"batch_id": "b1", "platform": "mastodon", "account": "a@x.social",
                "collected_at": "2026-01-01T00:00:00Z", "posts": {"key": "posts/b1.jsonl"}}   # no subject: older
    result = {"status": "processed", "flagged": 1}
    now = datetime(2026, 2, 1, tzinfo=UTC)
    ret = _retention_section(store, manifest, result, now, policy, [entry])
    assert ret["subject"] == "victim"          # the watchlist now says victim: the victim's rule applies
    assert ret["rule"] == "flagged-victim: flagged batches of victim accounts kept 90 day(s)"
    assert ret["erase_after"] == "2026-04-01T00:00:00Z"
    ret = _retention_section(store, manifest, result, now, policy, [])
    assert (ret["subject"], ret["rule"]) == ("unknown", "flagged: flagged batches kept 365 day(s)")

    class NoEvents:
        def audit_events(self, *_a, **_k):
            return []

    w = _watchlist_section(NoEvents(), manifest, [entry], "a test watchlist")   # type: ignore[arg-type]
    assert w["subject"] == "not recorded" and w["now"]["subject"] == "victim — safeguarding, not enforcement"
