"""Record every watchlist change (add, renew, remove, modify) in the audit log, with who and why.

The watchlist is a versioned file; each collection run compares it with the snapshot taken
by the previous run and records one audit event per changed entry. Who and why come from the
file's version-control history (the last commit touching it) when there is one; the snapshot
itself is kept in the store so the comparison survives restarts.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from socialhub.audit.chain import Auditor, record
from socialhub.models import canonical_json, sha256_hex
from socialhub.storage.base import ObjectStore
from socialhub.watchlist import Watchlist

SNAPSHOT_KEY = "state/watchlist/snapshot.json"


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


def diff_watchlists(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
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


def record_watchlist_changes(store: ObjectStore, watchlist: Watchlist, path: Path,
                             auditor: Auditor | None) -> list[dict[str, Any]]:
    """Compare with the last snapshot, record one audit event per change, save the new snapshot."""
    current = {e.key: e.model_dump(mode="json") for e in watchlist.accounts}
    raw = store.get_or_none(SNAPSHOT_KEY)
    before = json.loads(raw)["entries"] if raw else {}
    changes = diff_watchlists(before, current)
    if not changes:
        return []
    history = file_history(path)
    file_hash = sha256_hex(path.read_bytes()) if path.exists() else ""
    for ch in changes:
        entry = ch["entry"]
        record(auditor, "watchlist_change", ch["key"], force=entry.get("force"),
               justification=history.get("message") or "watchlist file changed (no version-control message)",
               hashes={"watchlist_file": file_hash},
               details={"change": ch["change"], "fields": ch.get("fields", {}),
                        "changed_by": history.get("author", "unknown: file not under version control"),
                        "commit": history.get("commit"), "authorisation_ref": entry.get("authorisation_ref"),
                        "review_by": entry.get("review_by"), "purpose": entry.get("purpose"),
                        "first_snapshot": raw is None})
    store.put_state(SNAPSHOT_KEY, canonical_json({"entries": current, "file_sha256": file_hash}))
    return changes
