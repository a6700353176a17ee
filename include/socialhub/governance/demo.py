"""The demo's authorisation register: one record per demo watchlist entry, dated from the demo's today.

Written into the demo's store the first time ``make demo`` runs (``make demo-reset`` forgets it),
through the same checked, audited path as ``socialhub authorisations grant|cancel``:

* the benign control accounts are overt open-source monitoring (an inspector's recorded necessity);
* the others are directed surveillance granted by a superintendent; all were granted 12 days ago,
  except one (``REVIEW_DUE``), granted 30 days ago and never reviewed: its review is overdue;
* the lapsed demo entry's authorisation expired long ago;
* one control account's authorisation (``CANCELLED``) is cancelled on the demo's first day, before
  its collection: that account is not collected from then on, and the summary says why.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from socialhub.governance.authorisations import load_register, record_change

REVIEW_DUE = "AUTH-2026-0141"
CANCELLED = "AUTH-2026-0212"
SUPT = {"name": "R. Example (demo)", "rank": "Superintendent"}
INSPECTOR = {"name": "C. Example (demo)", "rank": "Inspector"}


def _is_control(entry: Any) -> bool:
    return "control" in entry.purpose.lower()


def seed_demo_register(store: Any, watchlist: Any, today: date, auditor: Any = None) -> list[str]:
    """Record the demo's authorisations if the store holds none yet; what was done, one line each."""
    register = load_register(store, None)
    if register is not None:
        return []
    done = []
    for entry in watchlist.accounts:
        ref = entry.authorisation_ref
        register = load_register(store, None)
        if register is not None and register.get(ref) is not None:
            continue
        overt = _is_control(entry)
        granted = (date(2025, 3, 31) if entry.review_by < today else
                   today - timedelta(days=30 if ref == REVIEW_DUE else 12))
        body = {"reference": ref, "type": "overt_open_source" if overt else "directed_surveillance",
                "necessity": f"{entry.purpose} Public posts only; less intrusive means considered (demo).",
                "authorising_officer": INSPECTOR if overt else SUPT, "granted_on": granted.isoformat(),
                "operation": f"Demo operation {entry.team}", "accounts": [entry.key]}
        record_change(store, register, ref, "grant", body, auditor=auditor, actor_name="socialhub demo")
        done.append(f"granted {ref} ({body['type']}) for {entry.key}")
    register = load_register(store, None)
    if register is not None and register.get(CANCELLED) is not None:
        record_change(store, register, CANCELLED, "cancel",
                      {"on": today.isoformat(), "by": SUPT,
                       "why": "Benign control no longer needed for the classifier's checks (demo)."},
                      auditor=auditor, actor_name="socialhub demo")
        done.append(f"cancelled {CANCELLED} on {today}")
    return done
