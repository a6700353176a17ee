"""Watchlist changes are audited with who and why; removed accounts stop being collected."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone

from socialhub.audit.chain import AuditLog, Auditor, verify_chain
from socialhub.collect import plan_collection
from socialhub.storage import LocalStore
from socialhub.watchlist import load_watchlist
from socialhub.watchlist_changes import record_watchlist_changes

NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
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


def write(path, entries):
    path.write_text("version: 1\naccounts:\n" + "".join(ENTRY.format(**e) for e in entries))


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
