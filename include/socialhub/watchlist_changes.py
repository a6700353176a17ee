"""Record every watchlist change (add, renew, remove, modify) in the audit log, with who and why.

Each collection run compares the watchlist with the snapshot the previous run recorded in the
store and writes one audit event per changed entry. This works wherever the pipeline runs (an
image without ``.git``, a mounted folder), because nothing is read from version control to find
*what* changed; the snapshot survives restarts and is shared by every worker.

Each event records:

* the change (``added``, ``removed``, ``renewed``, ``modified``) and, for a modification, every
  changed field as ``[before, after]``;
* the SHA-256 of the watchlist file now and in the previous snapshot;
* where the run's code came from: the DAG bundle's name and version (``bundle_version``: a git
  bundle's commit; ``None`` for an unversioned local bundle) and the DAG run;
* who and why, from the first of:

  1. the file's own ``changed_by`` / ``change_ticket`` / ``change_reason`` fields. If the
     entries changed but these three did not since the last recorded change, the event says the
     attribution may be stale (``attribution_stale``): someone edited the list without
     updating them;
  2. the last git commit touching the file, when a ``.git`` is at hand (a bonus: a checkout, a
     git DAG bundle's clone);
  3. otherwise ``changed_by`` says it is unknown, and the hashes, bundle version and diff are the
     record.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from socialhub.audit.chain import Auditor, record
from socialhub.models import canonical_json, sha256_hex
from socialhub.storage.base import ObjectStore
from socialhub.watchlist import CHANGE_FIELDS, Watchlist

SNAPSHOT_KEY = "state/watchlist/snapshot.json"
UNKNOWN = "unknown: the watchlist file names no changed_by and no version-control history is available"


def file_history(path: Path) -> dict[str, str]:
    """The last commit that touched ``path``: author and message (empty if not under git)."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%H%x1f%an <%ae>%x1f%s", "--", path.name],
                             cwd=path.parent, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return {}
    parts = out.stdout.strip().split("\x1f")
    if out.returncode or len(parts) != 3:
        return {}
    return {"commit": parts[0], "author": parts[1], "message": parts[2]}


#: fields added to watchlist entries after snapshots were first recorded, with the value an entry
#: without them had: an older snapshot lacking one is not a change of every entry
FIELD_DEFAULTS: dict[str, Any] = {"subject": "unknown"}


def diff_watchlists(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Added, removed, renewed and modified entries. A field an older snapshot lacks counts as its
    default (``FIELD_DEFAULTS``): a ``subject`` set to victim shows as ``subject: unknown -> victim``."""
    before = {k: {**FIELD_DEFAULTS, **v} for k, v in before.items()}
    after = {k: {**FIELD_DEFAULTS, **v} for k, v in after.items()}
    changes = []
    for key in sorted(after.keys() - before.keys()):
        changes.append({"key": key, "change": "added", "entry": after[key]})
    for key in sorted(before.keys() - after.keys()):
        changes.append({"key": key, "change": "removed", "entry": before[key]})
    for key in sorted(before.keys() & after.keys()):
        old, new = before[key], after[key]
        fields = sorted(f for f in set(old) | set(new) if old.get(f) != new.get(f))
        if not fields:
            continue
        kind = "renewed" if fields == ["review_by"] and str(new["review_by"]) > str(old["review_by"]) else "modified"
        changes.append({"key": key, "change": kind, "fields": {f: [old.get(f), new.get(f)] for f in fields},
                        "entry": new})
    return changes


def attribution(watchlist: Watchlist, previous: dict[str, Any] | None, path: Path) -> dict[str, Any]:
    """Who made the change and why: the file's own fields, else git, else unknown (see the module docstring)."""
    declared = watchlist.change
    if declared.get("changed_by"):
        stale = previous is not None and all(previous.get(f) == declared.get(f) for f in CHANGE_FIELDS)
        return {"changed_by": declared["changed_by"], "change_ticket": declared.get("change_ticket"),
                "reason": declared.get("change_reason"), "attributed_from": "watchlist file",
                "attribution_stale": stale}
    history = file_history(path)
    if history:
        return {"changed_by": history["author"], "change_ticket": declared.get("change_ticket"),
                "reason": declared.get("change_reason") or history["message"], "attributed_from": "git",
                "commit": history["commit"], "attribution_stale": False}
    return {"changed_by": UNKNOWN, "change_ticket": declared.get("change_ticket"),
            "reason": declared.get("change_reason"), "attributed_from": "none", "attribution_stale": False}


def record_watchlist_changes(store: ObjectStore, watchlist: Watchlist, path: Path, auditor: Auditor | None,
                             source: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Compare with the last snapshot, record one audit event per change, save the new snapshot.

    ``source`` says where the running code came from: ``bundle_name``, ``bundle_version`` and
    ``dag_run`` (see ``socialhub_airflow.runtime.run_source``); recorded with each event.
    """
    current = {e.key: e.model_dump(mode="json") for e in watchlist.accounts}
    raw = store.get_or_none(SNAPSHOT_KEY)
    previous = json.loads(raw) if raw else None
    before = previous["entries"] if previous else {}
    changes = diff_watchlists(before, current)
    if not changes:
        return []
    who = attribution(watchlist, previous, path)
    file_hash = sha256_hex(path.read_bytes()) if path.exists() else ""
    src = {k: (source or {}).get(k) for k in ("bundle_name", "bundle_version", "dag_run")}
    justification = who["reason"] or (f"change ticket {who['change_ticket']}" if who["change_ticket"] else
                                      "watchlist file changed (no reason recorded in the file or version control)")
    hashes = {"watchlist_file": file_hash}
    if previous and previous.get("file_sha256"):
        hashes["previous_watchlist_file"] = previous["file_sha256"]
    for ch in changes:
        entry = ch["entry"]
        record(auditor, "watchlist_change", ch["key"], force=entry.get("force"), justification=justification,
               hashes=hashes,
               details={"change": ch["change"], "fields": ch.get("fields", {}), **who, **src,
                        "authorisation_ref": entry.get("authorisation_ref"), "review_by": entry.get("review_by"),
                        "purpose": entry.get("purpose"), "subject": entry.get("subject"),
                        "first_snapshot": previous is None})
    store.put_state(SNAPSHOT_KEY, canonical_json({"entries": current, "file_sha256": file_hash, **watchlist.change,
                                                  **src}))
    return changes
