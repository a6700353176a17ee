"""Retention erases exactly what policy says, logs each erasure, never touches a legal hold."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink
from socialhub.audit.chain import AuditLog, Auditor, verify_chain
from socialhub.classify import load_classifier
from socialhub.cli import main
from socialhub.collect import collect_account
from socialhub.errors import ConfigError
from socialhub.models import sha256_hex
from socialhub.process import process_batch, result_key
from socialhub.retention import Policy, add_hold, apply_retention, load_policy, send_reminders
from socialhub.storage import LocalStore
from socialhub.watchlist import parse_watchlist
from tests.core.test_process_and_alert import ENTRY, ListConnector

T0 = datetime(2026, 1, 10, 12, tzinfo=timezone.utc)
POLICY = Policy.model_validate({"rules": [
    {"id": "plain", "applies_to": "not_flagged", "days": 30},
    {"id": "flagged", "applies_to": "flagged", "days": 365},
    {"id": "held", "applies_to": "held", "days": 30},
]})


def make_batch(store, texts, at, bad=frozenset()):
    entry = ENTRY.model_copy(update={"account": f"acct{at.day}{len(texts)}@x.social"})
    conn = ListConnector(texts, bad, at)
    out = collect_account(store, entry, conn, at)
    process_batch(store, out.batch_id, classifier=load_classifier())
    return out.batch_id


def content_keys(store, batch_id):
    from socialhub.process import load_manifest

    m = load_manifest(store, batch_id)
    rec = json.loads(store.get(result_key(batch_id)))
    return [m["raw"]["key"], m["posts"]["key"], *rec["outputs"].values()]


@pytest.fixture()
def setup(tmp_path):
    store = LocalStore(tmp_path / "store")
    plain = make_batch(store, {"1": "lovely roast dinner", "2": "great match today"}, T0)
    flagged = make_batch(store, {"1": "gonna stab him when we catch him lacking"}, T0)
    held_q = make_batch(store, {"1": "a", "2": "b", "3": "c"}, T0, bad={"1", "2", "3"})
    recent = make_batch(store, {"1": "nice weather", "2": "new album out friday", "3": "x"},
                        T0 + timedelta(days=40))
    return store, {"plain": plain, "flagged": flagged, "held_q": held_q, "recent": recent}


def test_erases_exactly_what_policy_says_and_logs_each(setup):
    store, b = setup
    auditor = Auditor(AuditLog(store), {"kind": "task", "task_id": "apply_retention"})
    before = {name: {k: sha256_hex(store.get(k)) for k in content_keys(store, bid)} for name, bid in b.items()}
    now = T0 + timedelta(days=45)
    summary = apply_retention(store, POLICY, now, auditor=auditor)
    erased = {e["batch_id"] for e in summary["erased"]}
    assert erased == {b["plain"], b["held_q"]}
    for name in ("plain", "held_q"):
        assert not any(store.exists(k) for k in before[name])
    for name in ("flagged", "recent"):
        assert all(store.exists(k) for k in before[name])
    deletions = [e for e in AuditLog(store).events() if e["action"] == "deletion"]
    assert {e["object"]: e["hashes"]["erased"] for e in deletions} == {**before["plain"], **before["held_q"]}
    assert {e["details"]["rule"] for e in deletions} == {"plain", "held"}
    assert all("older than 30 day(s)" in e["justification"] for e in deletions)
    assert verify_chain(store).ok
    # manifests and result records (no post text) remain for the auditors
    assert store.exists(result_key(b["plain"]))
    # idempotent: a second run erases nothing more
    assert apply_retention(store, POLICY, now, auditor=auditor)["erased_objects"] == 0


def test_legal_hold_is_never_erased(setup):
    store, b = setup
    add_hold(store, "batch", b["plain"], reason="Op Example disclosure", by="DS Example", now=T0)
    add_hold(store, "account", f"mastodon:acct{T0.day}3@x.social", reason="court order", by="DI Example", now=T0)
    summary = apply_retention(store, POLICY, T0 + timedelta(days=400))
    erased = {e["batch_id"] for e in summary["erased"]}
    assert b["plain"] not in erased and b["held_q"] not in erased and b["flagged"] in erased
    assert summary["held"] == 2
    assert all(store.exists(k) for k in content_keys(store, b["plain"]))


def test_dry_run_erases_nothing(setup, capsys):
    store, b = setup
    assert main(["retention", "apply", "--dry-run", "--store", str(store.root)]) == 0
    assert "batch(es) seen" in capsys.readouterr().out
    assert all(store.exists(k) for k in content_keys(store, b["plain"]))
    summary = apply_retention(store, POLICY, T0 + timedelta(days=45), dry_run=True)
    assert len(summary["erased"]) == 2 and summary["erased_objects"] == 0
    assert all(store.exists(k) for k in content_keys(store, b["plain"]))


def test_hold_cli_records_who_and_why(setup, capsys):
    store, b = setup
    assert main(["hold", "add", "--batch", b["plain"], "--reason", "disclosure request 42", "--by", "DS Example",
                 "--store", str(store.root)]) == 0
    ev = [e for e in AuditLog(store).events() if e["action"] == "legal_hold"][-1]
    assert ev["actor"]["kind"] == "person" and ev["actor"]["name"] == "DS Example"
    assert ev["justification"] == "disclosure request 42"


def test_policy_file_is_validated(tmp_path):
    assert load_policy().rule_for("flagged").days == 365
    bad = tmp_path / "p.yaml"
    bad.write_text("rules:\n  - id: x\n    applies_to: everything\n    days: 0\n")
    with pytest.raises(ConfigError, match="applies_to"):
        load_policy(bad)


def test_owners_are_reminded_once_before_review(tmp_path):
    store = LocalStore(tmp_path / "store")
    wl = parse_watchlist("""
accounts:
  - platform: mastodon
    account: soon@x.social
    display_name: Soon
    force: met
    team: gangs
    owner: DS Soon
    authorisation_ref: AUTH-S
    purpose: Public threats between two named groups.
    review_by: 2026-01-20
  - platform: mastodon
    account: later@x.social
    display_name: Later
    force: met
    team: gangs
    owner: DS Later
    authorisation_ref: AUTH-L
    purpose: Public threats between two named groups.
    review_by: 2026-06-20
""")
    routing = Routing.from_dict({"version": 1, "default": {"on_duty": "#duty", "escalation": "#esc"}})
    outbox = OutboxSink(tmp_path / "outbox")
    sent = send_reminders(store, wl, T0, days_before=14, sink=outbox, routing=routing)
    assert sent == ["mastodon:soon@x.social"]
    assert send_reminders(store, wl, T0 + timedelta(days=1), days_before=14, sink=outbox, routing=routing) == []
    lines = (tmp_path / "outbox" / "outbox.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["channel"] == "#duty"


def test_a_shadow_classifiers_results_are_erased_with_their_batch(tmp_path):
    """Shadow results name the posts and carry the words that raised their scores: they go when the
    batch's content goes, not never."""
    from socialhub.process import Shadow

    store = LocalStore(tmp_path / "store")
    entry = ENTRY.model_copy(update={"account": "shadowed@x.social"})
    out = collect_account(store, entry, ListConnector({"1": "lovely roast dinner"}, frozenset(), T0), T0)
    process_batch(store, out.batch_id, classifier=load_classifier(), shadow=Shadow("trial-1", load_classifier()))
    key = json.loads(store.get(result_key(out.batch_id)))["shadow"]["key"]
    assert store.exists(key)
    summary = apply_retention(store, POLICY, T0 + timedelta(days=45))
    assert [e["batch_id"] for e in summary["erased"]] == [out.batch_id]
    assert not store.exists(key) and not store.stored(key)
# --- per subject category ------------------------------------------------------------------------

SUBJECT_POLICY = Policy.model_validate({"rules": [
    {"id": "plain", "applies_to": "not_flagged", "days": 30},
    {"id": "plain-safeguarding", "applies_to": "not_flagged", "days": 7, "subject": ["victim", "witness", "at_risk"]},
    {"id": "flagged", "applies_to": "flagged", "days": 365},
    {"id": "flagged-victim", "applies_to": "flagged", "days": 90, "subject": "victim"},
    {"id": "held", "applies_to": "held", "days": 30},
]})


def _subject_batch(store, account, subject, texts, at=T0):
    entry = ENTRY.model_copy(update={"account": account, "subject": subject})
    out = collect_account(store, entry, ListConnector(texts, frozenset(), at), at)
    process_batch(store, out.batch_id, classifier=load_classifier())
    return out.batch_id


def test_a_victims_account_data_is_kept_for_less_time(tmp_path):
    store = LocalStore(tmp_path / "store")
    auditor = Auditor(AuditLog(store), {"kind": "task", "task_id": "apply_retention"})
    plain = {"1": "lovely roast dinner", "2": "great match today"}
    flagged = {"1": "gonna stab him when we catch him lacking"}
    b = {"victim_plain": _subject_batch(store, "v1@x.social", "victim", plain),
         "victim_flagged": _subject_batch(store, "v2@x.social", "victim", flagged),
         "witness_flagged": _subject_batch(store, "w@x.social", "witness", flagged),
         "suspect_plain": _subject_batch(store, "s1@x.social", "suspect", plain),
         "suspect_flagged": _subject_batch(store, "s2@x.social", "suspect", flagged)}
    erased = {e["batch_id"]: e for e in apply_retention(store, SUBJECT_POLICY, T0 + timedelta(days=10),
                                                        auditor=auditor)["erased"]}
    assert set(erased) == {b["victim_plain"]}                     # 7 days for a victim, 30 for a suspect
    assert erased[b["victim_plain"]]["rule"] == "plain-safeguarding"
    assert erased[b["victim_plain"]]["subject"] == "victim"
    assert "not_flagged batch (victim account) collected" in erased[b["victim_plain"]]["why"]
    deletion = [e for e in AuditLog(store).events() if e["action"] == "deletion"][0]
    assert deletion["details"]["subject"] == "victim" and deletion["details"]["rule"] == "plain-safeguarding"

    erased = {e["batch_id"]: e["rule"] for e in apply_retention(store, SUBJECT_POLICY, T0 + timedelta(days=100),
                                                                dry_run=True)["erased"]}
    # flagged: 90 days for a victim; a witness has no flagged rule of its own, so the general 365 applies
    assert erased == {b["victim_flagged"]: "flagged-victim", b["suspect_plain"]: "plain"}


def test_the_watchlist_now_decides_the_category_and_old_manifests_are_unknown(tmp_path):
    from socialhub.process import _manifest_key, load_manifest
    from socialhub.retention import watchlist_subjects

    store = LocalStore(tmp_path / "store")
    plain = {"1": "lovely roast dinner", "2": "great match today"}
    unknown = _subject_batch(store, "u@x.social", "unknown", plain)
    old = _subject_batch(store, "o@x.social", "victim", plain)
    manifest = load_manifest(store, old)          # a manifest written before the category existed
    del manifest["subject"]
    key = _manifest_key(store, old)
    store.delete(key)
    store.put(key, json.dumps(manifest).encode(), content_type="application/json")
    later = T0 + timedelta(days=10)
    assert apply_retention(store, SUBJECT_POLICY, later, dry_run=True)["erased"] == []   # both read as unknown
    # the owner has since set u@ to victim on the watchlist: its stored batches follow the victim's rule
    wl = parse_watchlist("""
accounts:
  - platform: mastodon
    account: u@x.social
    display_name: U
    force: met
    team: gangs
    owner: DS Example
    authorisation_ref: AUTH-9
    purpose: Public threats made against this person by a named group.
    review_by: 2030-01-01
    subject: victim
""")
    summary = apply_retention(store, SUBJECT_POLICY, later, dry_run=True, subjects=watchlist_subjects(wl))
    assert [(e["batch_id"], e["subject"]) for e in summary["erased"]] == [(unknown, "victim")]


@pytest.mark.parametrize(("rules", "message"), [
    ([{"id": "a", "applies_to": "flagged", "days": 9, "subject": "gang_member"}],
     "rules.0.subject.0: 'gang_member' is not a subject category (use one of: suspect, victim, witness, at_risk, "
     "unknown)"),
    ([{"id": "a", "applies_to": "flagged", "days": 9, "subject": []}],
     "rules.0.subject: is an empty list"),
    ([{"id": "a", "applies_to": "flagged", "days": 9, "subject": ["victim", "victim"]}],
     "rules.0.subject: names a category twice"),
    ([{"id": "a", "applies_to": "flagged", "days": 9, "subject": ["victim", "witness"]},
      {"id": "b", "applies_to": "flagged", "days": 5, "subject": "witness"}],
     "rules a, b all apply to flagged batches of witness accounts (one rule per kind and subject category)"),
    ([{"id": "a", "applies_to": "flagged", "days": 9}, {"id": "b", "applies_to": "flagged", "days": 5}],
     "rules a, b all apply to flagged batches of every account"),
    ([{"id": "a", "applies_to": "flagged", "days": 9}, {"id": "a", "applies_to": "held", "days": 5}],
     "rule id 'a' is used twice"),
    ([{"id": "a", "applies_to": "flagged", "days": 9, "subjects": "victim"}],
     "rules.0.subjects: Extra inputs are not permitted"),
])
def test_subject_rules_are_validated_with_clear_errors(tmp_path, rules, message):
    import yaml

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "rules": rules}))
    with pytest.raises(ConfigError) as exc:
        load_policy(path)
    assert message in str(exc.value)


def test_the_shipped_policy_keeps_safeguarding_accounts_for_less_time():
    policy = load_policy()
    for kind in ("flagged", "not_flagged"):
        general = policy.rule_for(kind)
        for subject in ("victim", "witness", "at_risk"):
            assert policy.rule_for(kind, subject).days < general.days
        assert policy.rule_for(kind, "suspect") is general and policy.rule_for(kind, "unknown") is general
