"""``socialhub sources [--store URL] [--watchlist F] [--json]``: the health of every watched account.

One row per watchlist entry: its state (ok, silent, suspended, renamed, ...; see
``socialhub.sources.health``), the last successful poll, the last post seen, consecutive failures
and since when it has been in that state, plus the accounts to review the authorisation of.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from socialhub.sources.health import HealthSettings, SourceHealth, describe, health_table

COLUMNS = [("account", "account"), ("state", "state"), ("since", "since"), ("last_success", "last success"),
           ("last_post_at", "last post"), ("consecutive_failures", "failures"), ("review", "review")]


def _cell(rec: SourceHealth, key: str) -> str:
    if key == "account":
        return rec.key
    if key == "review":
        return "REVIEW AUTHORISATION" if rec.review_authorisation else "-"
    if key == "consecutive_failures":
        return str(rec.consecutive_failures)
    value = str(getattr(rec, key) or "")
    if key in ("since", "last_success", "last_post_at"):
        return value[:16].replace("T", " ") or "-"
    return value.replace("_", " ").upper() if key == "state" and value not in ("ok", "never_polled") else (
        value.replace("_", " ") or "-")


def format_health(rows: list[SourceHealth], settings: HealthSettings,
                  not_collected: dict[str, str] | None = None) -> list[str]:
    """The table; ``not_collected`` (key -> why) marks the entries collection skips today (an
    authorisation lapsed, expired or cancelled), whose "never polled" or old state says nothing."""
    not_collected = not_collected or {}
    cells = [[("NOT COLLECTED" if k == "state" and r.key in not_collected else _cell(r, k)) for k, _ in COLUMNS]
             for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, (_, h) in enumerate(COLUMNS)]
    widths[0] = min(widths[0], 48)
    from socialhub import subjects

    lines = [f"source health: {len(rows)} watched account(s); silent after {settings.silent_days} days, "
             f"review authorisation after {settings.review_days} days gone or silent",
             "  ".join(h.ljust(widths[i]) for i, (_, h) in enumerate(COLUMNS)).rstrip()]
    group = None
    for rec, c in zip(rows, cells, strict=True):   # one subject category after another, under its heading
        if rec.subject != group:
            group = rec.subject
            lines.append(f"[{subjects.group_title(group)}]")
        lines.append("  ".join((v if len(v) <= widths[i] else v[:widths[i] - 1] + "…").ljust(widths[i])
                               for i, v in enumerate(c)).rstrip())
    attention = [r for r in rows if r.state not in ("ok", "never_polled") or r.review_authorisation
                 or r.key in not_collected]
    for rec in attention:
        lines.append(f"  {rec.key}: " + (f"not collected: {not_collected[rec.key]}" if rec.key in not_collected
                                         else describe(rec, settings)))
    if not attention:
        lines.append("every account is being collected normally")
    return lines


def cmd_sources(args: argparse.Namespace) -> int:
    from socialhub.cli import _open_store
    from socialhub.clock import now
    from socialhub.governance.authorisations import governed_watchlist

    store = _open_store(args.store)
    wl = governed_watchlist(store, Path(args.watchlist) if args.watchlist else None)
    entries = wl.accounts
    settings = HealthSettings.from_env()
    at = now()
    rows = health_table(store, entries, at, settings)
    skipped = {e.key: wl.why_not(e, at.date()) for e in wl.authorised(at.date())[1]}
    if args.json:
        for rec in rows:
            print(json.dumps({**rec.to_dict(), "message": describe(rec, settings),
                              "not_collected": skipped.get(rec.key)}, ensure_ascii=False, sort_keys=True))
        return 0
    print("\n".join(format_health(rows, settings, skipped)))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("sources", help="the health of every watched account: state, last success, last post, "
                                       "failures, since when",
                       description="One row per watchlist account from the source-health records collection "
                                   "keeps (state/health/accounts/): ok, silent, renamed, moved, suspended, deleted, private, "
                                   "not found, authentication, rate limited or other, and which accounts need their "
                                   "authorisation reviewed (SOCIALHUB_SILENT_DAYS, SOCIALHUB_REVIEW_AFTER_DAYS).")
    p.add_argument("--store", help="store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store)")
    p.add_argument("--watchlist", metavar="FILE", help="the watchlist (default: the configured one)")
    p.add_argument("--json", action="store_true", help="one JSON object per account")
    p.set_defaults(func=cmd_sources)


__all__ = ["cmd_sources", "format_health", "register"]
