"""Watchlist changes are audited with who and why; removed accounts stop being collected."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest

from socialhub.audit.chain import AuditLog, Auditor, verify_chain
from socialhub.collect import plan_collection
from socialhub.errors import WatchlistError
from socialhub.storage import LocalStore
from socialhub.watchlist import load_watchlist, parse_watchlist
from socialhub.watchlist_changes import UNKNOWN, record_watchlist_changes

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
ENTRY = """  - platform: mastodon
    account: {acct}
    display_name: Someone
    force: met
    team: gangs
    owner: DS Example
    authorisation_ref: AUTH-{n}
    purpose: Public threats between two named groups.
    review_by: {review}
"""


def write(path, entries, header=""):
    path.write_text("version: 1\n" + header + "accounts:\n" + "".join(ENTRY.format(**e) for e in entries))


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "DS Example", "GIT_AUTHOR_EMAIL": "ds@example.police.uk",
                        "GIT_COMMITTER_NAME": "DS Example", "GIT_COMMITTER_EMAIL": "ds@example.police.uk",
                        "HOME": str(cwd), "PATH": "/usr/bin:/bin"})


def test_changes_are_recorded_with_who_and_why(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    wl_path = repo / "watchlist.yaml"
    a = {"acct": "a@x.social", "n": 1, "review": "2026-12-01"}
    b = {"acct": "b@x.social", "n": 2, "review": "2026-12-01"}
    write(wl_path, [a, b])
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "Add two accounts under AUTH-1 and AUTH-2")
    store = LocalStore(tmp_path / "store")
    auditor = Auditor(AuditLog(store), {"kind": "task", "task_id": "check_watchlist"})
    first = record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor)
    assert [c["change"] for c in first] == ["added", "added"]
    assert record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor) == []

    write(wl_path, [dict(a, review="2027-06-01")])  # renew a, remove b
    git(repo, "commit", "-qam", "Renew AUTH-1 after review; AUTH-2 withdrawn")
    changes = record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor)
    assert {c["key"]: c["change"] for c in changes} == {"mastodon:a@x.social": "renewed",
                                                        "mastodon:b@x.social": "removed"}
    events = [e for e in AuditLog(store).events() if e["action"] == "watchlist_change"]
    assert len(events) == 4
    last = events[-1]
    assert last["details"]["changed_by"] == "DS Example <ds@example.police.uk>"
    assert last["justification"] == "Renew AUTH-1 after review; AUTH-2 withdrawn"
    assert verify_chain(store).ok

    # collection stops within one run of removal: the next plan no longer contains b
    plan = plan_collection(load_watchlist(wl_path), store, NOW, max_shards_per_platform=4)
    assert {a["account"] for s in plan.shards for a in s["accounts"]} == {"a@x.social"}


def test_expired_authorisation_stops_collection_the_next_day(tmp_path):
    wl_path = tmp_path / "w.yaml"
    write(wl_path, [{"acct": "a@x.social", "n": 1, "review": "2026-11-25"}])
    store = LocalStore(tmp_path / "s")
    on_the_day = plan_collection(load_watchlist(wl_path), store, NOW)
    day_after = plan_collection(load_watchlist(wl_path), store, NOW.replace(day=26))
    assert on_the_day.due == 1 and not on_the_day.lapsed
    assert day_after.due == 0 and day_after.lapsed[0]["authorisation_ref"] == "AUTH-1"


def _events(store):
    return [e for e in AuditLog(store).events() if e["action"] == "watchlist_change"]


def test_without_git_the_file_fields_bundle_version_hashes_and_diff_say_who_and_what(tmp_path, monkeypatch):
    """In the image there is no .git (and no git at all): the change is still attributed and traceable.
    Issue 13.8."""
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))          # git cannot even be found
    wl_path = tmp_path / "watchlist.yaml"
    a = {"acct": "a@x.social", "n": 1, "review": "2026-12-01"}
    b = {"acct": "b@x.social", "n": 2, "review": "2026-12-01"}
    write(wl_path, [a], 'changed_by: "DS Example (1234)"\nchange_ticket: CHG-1\nchange_reason: Open AUTH-1\n')
    store = LocalStore(tmp_path / "store")
    auditor = Auditor(AuditLog(store), {"kind": "task", "task_id": "check_watchlist"})
    source = {"bundle_name": "socialhub-dags", "bundle_version": "3f2c9e1", "dag_run": "scheduled__1"}
    record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor, source=source)
    first_hash = _events(store)[-1]["hashes"]["watchlist_file"]

    write(wl_path, [dict(a, review="2027-06-01"), b],
          'changed_by: "DS Other (5678)"\nchange_ticket: CHG-2\nchange_reason: Renew AUTH-1, add AUTH-2\n')
    changes = record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor,
                                       source=dict(source, bundle_version="9a8b7c6", dag_run="scheduled__2"))
    assert {c["key"]: c["change"] for c in changes} == {"mastodon:a@x.social": "renewed",
                                                        "mastodon:b@x.social": "added"}
    renewed = next(e for e in _events(store) if e["details"]["change"] == "renewed")
    d = renewed["details"]
    assert (d["changed_by"], d["change_ticket"], d["attributed_from"], d["attribution_stale"]) == (
        "DS Other (5678)", "CHG-2", "watchlist file", False)
    assert renewed["justification"] == "Renew AUTH-1, add AUTH-2"
    assert (d["bundle_name"], d["bundle_version"], d["dag_run"]) == ("socialhub-dags", "9a8b7c6", "scheduled__2")
    assert d["fields"] == {"review_by": ["2026-12-01", "2027-06-01"]}                 # the diff itself
    assert renewed["hashes"]["previous_watchlist_file"] == first_hash != renewed["hashes"]["watchlist_file"]
    assert verify_chain(store).ok

    # an edit that did not update the file's change fields: recorded, and flagged as possibly stale
    write(wl_path, [dict(a, review="2027-06-01")],
          'changed_by: "DS Other (5678)"\nchange_ticket: CHG-2\nchange_reason: Renew AUTH-1, add AUTH-2\n')
    record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor, source=source)
    removed = _events(store)[-1]
    assert removed["details"]["change"] == "removed" and removed["details"]["attribution_stale"] is True

    # no fields, no git: still recorded, with the hashes and bundle version, and "unknown" said plainly
    write(wl_path, [dict(a, review="2027-07-01")])
    record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor, source=source)
    last = _events(store)[-1]
    assert last["details"]["changed_by"] == UNKNOWN and last["details"]["attributed_from"] == "none"
    assert last["details"]["bundle_version"] == "3f2c9e1" and last["hashes"]["watchlist_file"]


def test_change_fields_are_validated():
    body = "accounts: []\n"
    assert parse_watchlist("changed_by: DS Example\nchange_ticket: CHG-9\n" + body).change == {
        "changed_by": "DS Example", "change_ticket": "CHG-9", "change_reason": None}
    with pytest.raises(WatchlistError, match="changed_by"):
        parse_watchlist("changed_by: [1, 2]\n" + body)
    with pytest.raises(WatchlistError, match="unknown top-level"):
        parse_watchlist("changed_bye: DS Example\n" + body)


def test_run_source_reads_the_dag_bundle_version_of_the_running_task(monkeypatch):
    import airflow.sdk

    from socialhub_airflow import runtime

    class Pinned:
        name, version = "socialhub-git", "c0ffee1"

    class Unpinned:
        name, version = "dags-folder", None

        def get_current_version(self):
            return None                      # a local bundle: unversioned

    class TI:
        bundle_instance = Pinned()

    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: {"run_id": "manual__1", "ti": TI()})
    assert runtime.run_source() == {"bundle_name": "socialhub-git", "bundle_version": "c0ffee1",
                                    "dag_run": "manual__1"}
    TI.bundle_instance = Unpinned()
    assert runtime.run_source() == {"bundle_name": "dags-folder", "bundle_version": None, "dag_run": "manual__1"}


def test_a_subject_category_change_is_a_modification_and_an_older_snapshot_is_no_change(tmp_path):
    import json

    from socialhub.watchlist_changes import SNAPSHOT_KEY

    wl_path = tmp_path / "watchlist.yaml"
    a = {"acct": "a@x.social", "n": 1, "review": "2027-12-01"}
    write(wl_path, [a], header="changed_by: DS Example\nchange_reason: first list\n")
    store = LocalStore(tmp_path / "store")
    auditor = Auditor(AuditLog(store), {"kind": "task", "task_id": "check_watchlist"})
    record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor)
    # a snapshot written before entries had a subject category: no change for the entry that still has none
    snap = json.loads(store.get(SNAPSHOT_KEY))
    for entry in snap["entries"].values():
        entry.pop("subject")
    store.put_state(SNAPSHOT_KEY, json.dumps(snap).encode())
    assert record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor) == []

    wl_path.write_text(wl_path.read_text().replace("review_by: 2027-12-01", "review_by: 2027-12-01\n    subject: victim")
                       .replace("first list", "victim, not suspect"))
    (change,) = record_watchlist_changes(store, load_watchlist(wl_path), wl_path, auditor)
    assert change["change"] == "modified" and change["fields"] == {"subject": ["unknown", "victim"]}
    ev = [e for e in AuditLog(store).events() if e["action"] == "watchlist_change"][-1]
    assert ev["details"]["fields"] == {"subject": ["unknown", "victim"]}
