"""``socialhub explain TARGET``: why was this post alerted, or not? (registered by ``register(sub)``)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

DESCRIPTION = """\
Why was this post alerted, or not? One report of everything the hub did with a post: the
watchlist entry and authorisation when it was collected, the collection (run, batch, raw item
hash, cursors), the quality result, the classification (scores against thresholds and the
evidence spans), the alert, the officer's review, any referral, and when retention will erase
it. A one-line verdict on top says why a post was NOT alerted: below which threshold by how
much, quarantined (with the reason), account not due, authorisation lapsed, or never collected.

TARGET is a post URL (X, Bluesky, Mastodon, Reddit, Telegram, YouTube, or an RSS item's link),
PLATFORM:POST_ID, or an alert id. Looking is recorded in the audit log (an `access` event: who,
what, why): give why with --why (or $SOCIALHUB_WHY); without one the view is recorded as made
without a reason and the auditor's report flags it (refused when $SOCIALHUB_REQUIRE_WHY is on). Lookups use a local index, a cache in $SOCIALHUB_CACHE_DIR (else
$SOCIALHUB_DATA_DIR/cache/) that deleting loses nothing from, updated on each call with only
the batches stored since the last one."""

EPILOG = """\
examples:
  socialhub explain https://x.com/eastgate_smoke/status/1790000000000000001
  socialhub explain mastodon:109876543210987654 --store .demo/data/store
  socialhub explain 3f9c2a7d1e0b4c5a6d7e8f90 --json --by "PC Jones" --why "complaint ref 2026-114"
  socialhub explain https://t.me/southside_plug_menu/42 --watchlist include/watchlist.yaml

exit status: 0 report shown; 2 the target is not understood, the store does not exist, or no
reason was given while $SOCIALHUB_REQUIRE_WHY is on; 1 the view could not be recorded in the
audit log (nothing is shown)."""


def register(sub: Any) -> None:
    """Add ``explain`` to the ``socialhub`` subcommands."""
    p = sub.add_parser("explain", help="why was this post alerted, or not? (everything the hub did with it)",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="TARGET", help="a post URL, PLATFORM:POST_ID, or an alert id (24 hex digits)")
    p.add_argument("--store", metavar="URL|DIR",
                   help="store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store); "
                        "after `make demo`: --store .demo/data/store")
    p.add_argument("--json", action="store_true", help="print the report as JSON (the same content)")
    p.add_argument("--watchlist", metavar="FILE",
                   help="the watchlist to judge a post that was never collected by (default: the snapshot the "
                        "last collection run recorded in the store, else the configured watchlist)")
    p.add_argument("--by", metavar="NAME", help="your name for the audit log (default: $SOCIALHUB_ACTOR, else the "
                                                "login name)")
    p.add_argument("--why", metavar="TEXT", help="why you are looking: a case or request reference and its purpose "
                                                 "(recorded in the audit log; default: $SOCIALHUB_WHY)")
    p.add_argument("--index", metavar="FILE", help=argparse.SUPPRESS)   # tests and the bench: the cache file
    p.set_defaults(func=cmd_explain)


def _err(msg: str) -> None:
    print(f"socialhub: error: {msg}", file=sys.stderr)


def record_view(store: Any, report: dict[str, Any], *, by: str, why: str | None, via: str,
                extra_actor: dict[str, Any] | None = None, who_from: str | None = None,
                why_from: str | None = None) -> dict[str, Any]:
    """The ``access`` audit event of one explain view (before anything is shown). ``why`` ``None``
    records a view made without a reason (``details.why_given`` false), which the report flags."""
    from socialhub.audit.chain import AuditLog
    from socialhub.audit.consult import clean_why

    post = report.get("post") or {}
    why = clean_why(why)
    return AuditLog(store).append(
        "access", actor={"kind": "person", "name": by, "via": via, **(extra_actor or {})},
        obj=f"explain:{report['target']}", force=report.get("force"), justification=why,
        details={"view": "explain", "target": report["target"], "target_kind": report.get("target_kind"),
                 "post": f"{post['platform']}:{post['post_id']}" if post.get("platform") and post.get("post_id")
                 else None, "outcome": report.get("outcome"), "granted": True,
                 **({"who_from": who_from} if who_from else {}), "why_given": why is not None,
                 "why_from": why_from or ("given" if why else "not given")})


def cmd_explain(args: argparse.Namespace) -> int:
    from socialhub.audit.consult import ReasonRequired, from_cli, warn_if_no_reason
    from socialhub.audit.where import choose_store
    from socialhub.explain.index import ExplainIndex
    from socialhub.explain.report import current_watchlist, explain, render_text, to_json
    from socialhub.explain.urls import TargetError, parse_target
    from socialhub.storage import open_store

    try:
        target = parse_target(args.target)
    except TargetError as exc:
        _err(str(exc))
        return 2
    try:
        who = from_cli(args.by, args.why, "socialhub explain")
    except ReasonRequired as exc:
        _err(str(exc))
        return 2
    choice = choose_store(args.store)
    if choice.local is not None and not choice.local.is_dir():
        what = "is not a folder" if choice.local.exists() else "does not exist"
        _err(f"there is no store at {choice.label}: it {what} ({choice.origin}); give the store the pipeline "
             "writes with --store (a folder or s3://BUCKET/PREFIX; after `make demo`: --store .demo/data/store)")
        return 2
    store = open_store(choice.url)
    entries, source = current_watchlist(store, args.watchlist)
    from pathlib import Path

    index = ExplainIndex(store, Path(args.index) if args.index else None)
    try:
        report = explain(store, target, index=index, entries=entries, watchlist_source=source,
                         now=datetime.now(UTC))
    finally:
        index.close()
    try:
        record_view(store, report, by=who.name, why=who.why, via=who.via, who_from=who.who_from,
                    why_from=who.why_from)
    except Exception as exc:  # noqa: BLE001 - no unaudited view
        _err(f"the view could not be recorded in the audit log ({type(exc).__name__}: {exc}), so the report is "
             "not shown")
        return 1
    warn_if_no_reason(who)
    sys.stdout.write(to_json(report) if args.json else render_text(report))
    return 0


__all__ = ["register", "cmd_explain", "record_view"]
