"""``socialhub authorisations list|due|show|grant|review|renew|cancel``: the authorisation register.

See ``socialhub.governance.authorisations`` for what a record holds and what it decides. Every
change is stored write-once and recorded in the audit log (``authorisation``) with who made it.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from socialhub.errors import ConfigError

STORE_HELP = ("store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store; "
              "after `make demo`: .demo/data/store)")
FILE_HELP = "the register file as well as the store's records (default: $SOCIALHUB_AUTHORISATIONS, if set)"

COLUMNS = [("reference", "reference"), ("type", "type"), ("status", "status"), ("authorising_officer", "authorised by"),
           ("granted_on", "granted"), ("expires_on", "no cover from"), ("next_review", "next review"),
           ("operation", "operation")]
TYPE_SHORT = {"directed_surveillance": "directed", "overt_open_source": "overt"}
STATUS_WORDS = {"review_due": "REVIEW DUE", "active": "in force", "expired": "EXPIRED", "cancelled": "CANCELLED",
                "not_yet_in_force": "not yet in force"}


def _today(args: argparse.Namespace) -> date:
    from socialhub.clock import now

    return date.fromisoformat(args.on) if getattr(args, "on", None) else now().date()


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from socialhub.cli import _open_store
    from socialhub.config import Settings
    from socialhub.governance.authorisations import load_register

    store = _open_store(args.store)
    path = args.file if args.file else Settings.from_env().authorisations
    return store, load_register(store, path)


def _officer(name: str | None, rank: str | None, what: str) -> dict[str, str]:
    if not name or not rank:
        raise ConfigError(f"{what} needs the officer's name and rank (--officer NAME --rank RANK)")
    return {"name": name, "rank": rank}


def format_register(register: Any, today: date) -> list[str]:
    """The register as a table an inspector can read, then the reviews due and the cancellations."""
    rows = register.rows(today)
    cells = [[TYPE_SHORT.get(str(r["type"]), str(r["type"])) if k == "type" else
              STATUS_WORDS.get(str(r["status"]), str(r["status"])) if k == "status" else
              str(r[k]) or "-" for k, _ in COLUMNS] for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, (_, h) in enumerate(COLUMNS)]
    widths[-1] = min(widths[-1], 40)
    lines = [f"authorisation register: {len(rows)} authorisation(s) as of {today}",
             "  ".join(h.ljust(widths[i]) for i, (_, h) in enumerate(COLUMNS))]
    for c in cells:
        lines.append("  ".join((v if len(v) <= widths[i] else v[:widths[i] - 1] + "…").ljust(widths[i])
                               for i, v in enumerate(c)).rstrip())
    for r in rows:
        if r["cancelled"]:
            lines.append(f"  {r['reference']} cancelled {r['cancelled']}")
    for auth, why in register.due(today):
        lines.append(f"  {auth.reference}: {why}")
    lines.append(f"records are kept {register.policy.keep_years_after_end} years after an authorisation ends "
                 "(never erased with the data they covered)")
    return lines


def cmd_list(args: argparse.Namespace) -> int:
    _store, register = _open(args)
    today = _today(args)
    if register is None:
        print("no authorisation register: no file (--file or SOCIALHUB_AUTHORISATIONS) and no record in the "
              "store; collection follows each watchlist entry's review_by date alone. Record one with "
              "`socialhub authorisations grant`.")
        return 0
    if args.json:
        print(json.dumps(register.rows(today), indent=2))
        return 0
    print("\n".join(format_register(register, today)))
    return 0


def cmd_due(args: argparse.Namespace) -> int:
    _store, register = _open(args)
    today = _today(args)
    due = register.due(today, args.within) if register is not None else []
    if not due:
        print(f"no authorisation due for review or expiring within {args.within} day(s) of {today}")
        return 0
    for auth, why in due:
        print(f"{auth.reference} ({auth.operation}; authorised by {auth.authorising_officer}): {why}")
    return 0


def _existing(register: Any, reference: str) -> Any:
    auth = register.get(reference) if register is not None else None
    if auth is None:
        raise ConfigError(f"authorisation {reference!r} is not in the register",
                          hint="list the references with `socialhub authorisations list`")
    return auth


def cmd_show(args: argparse.Namespace) -> int:
    _store, register = _open(args)
    auth = _existing(register, args.reference)
    today = _today(args)
    out = auth.model_dump(mode="json") | {
        "status": auth.status(today, register.policy), "expiry": auth.expiry(register.policy).isoformat(),
        "next_review": auth.next_review(register.policy).isoformat(),
        "keep_until": auth.keep_until(register.policy).isoformat(), "source": register.sources.get(auth.reference)}
    print(json.dumps(out, indent=2))
    return 0


def _change(args: argparse.Namespace, op: str, body: dict[str, Any]) -> int:
    from socialhub.cli import _cli_auditor
    from socialhub.governance.authorisations import Policy, record_change

    store, register = _open(args)
    auth = record_change(store, register, args.reference, op, body, auditor=_cli_auditor(store, args.by),
                         actor_name=args.by or "")
    policy = register.policy if register is not None else Policy()
    today = _today(args)
    print(f"{op} of {args.reference} recorded; it is now {STATUS_WORDS[auth.status(today, policy)]} "
          f"(no cover from {auth.expiry(policy)}"
          + (f", next review {auth.next_review(policy)}" if auth.in_force(today, policy) else "") + ")")
    return 0


def cmd_grant(args: argparse.Namespace) -> int:
    body = {"reference": args.reference, "type": args.type, "necessity": args.necessity,
            "authorising_officer": _officer(args.officer, args.rank, "a grant"),
            "granted_on": (args.on or _today(args).isoformat()), "operation": args.operation,
            "accounts": args.account}
    if args.expires_on:
        body["expires_on"] = args.expires_on
    return _change(args, "grant", body)


def cmd_review(args: argparse.Namespace) -> int:
    return _change(args, "review", {"on": _today(args).isoformat(), "outcome": args.outcome, "notes": args.notes,
                                    "reviewer": _officer(args.officer, args.rank, "a review")})


def cmd_renew(args: argparse.Namespace) -> int:
    from socialhub.governance.authorisations import add_months

    _store, register = _open(args)
    auth = _existing(register, args.reference)
    policy = register.policy
    expires = args.expires_on or add_months(auth.expiry(policy), auth.max_months(policy)).isoformat()
    return _change(args, "renew", {"on": _today(args).isoformat(), "expires_on": expires, "why": args.why,
                                   "by": _officer(args.officer, args.rank, "a renewal")})


def cmd_cancel(args: argparse.Namespace) -> int:
    return _change(args, "cancel", {"on": _today(args).isoformat(), "why": args.why,
                                    "by": _officer(args.officer, args.rank, "a cancellation")})


def register(sub: Any) -> None:
    a = sub.add_parser("authorisations", help="the authorisation register: list, due, show, grant, review, renew, "
                                              "cancel",
                       description="The register of authorisations to monitor watched accounts (RIPA directed "
                                   "surveillance, or overt monitoring of open sources with its necessity). A "
                                   "watchlist entry is collected only while the authorisation it names is in "
                                   "force and covers it. Every change is audited.")
    asub = a.add_subparsers(dest="authorisations_cmd", required=True)

    def common(p: argparse.ArgumentParser, *, change: bool = False) -> None:
        p.add_argument("--store", help=STORE_HELP)
        p.add_argument("--file", type=Path, help=FILE_HELP)
        p.add_argument("--on", metavar="DATE", help="the day (YYYY-MM-DD; default: today)")
        if change:
            p.add_argument("--by", help="who records this change (default: your user name); audited")

    ls = asub.add_parser("list", help="every authorisation with its status, expiry and next review")
    common(ls)
    ls.add_argument("--json", action="store_true", help="one JSON object per authorisation")
    ls.set_defaults(func=cmd_list)
    du = asub.add_parser("due", help="authorisations whose review is due, or that expire soon")
    common(du)
    du.add_argument("--within", type=int, default=7, help="days ahead to look (default 7)")
    du.set_defaults(func=cmd_due)
    sh = asub.add_parser("show", help="one authorisation in full, as JSON")
    common(sh)
    sh.add_argument("reference")
    sh.set_defaults(func=cmd_show)

    gr = asub.add_parser("grant", help="record a new authorisation")
    common(gr, change=True)
    gr.add_argument("reference")
    gr.add_argument("--type", required=True, choices=["directed_surveillance", "overt_open_source"])
    gr.add_argument("--officer", required=True, help="the authorising officer's name")
    gr.add_argument("--rank", required=True, help="the authorising officer's rank (directed surveillance: "
                                                  "superintendent or above by default)")
    gr.add_argument("--operation", required=True)
    gr.add_argument("--account", required=True, action="append", help="a covered account, platform:account "
                                                                       "(repeat for each)")
    gr.add_argument("--necessity", required=True, help="why this monitoring is necessary and proportionate")
    gr.add_argument("--expires-on", help="the first day without cover (default and most: 3 months after the grant "
                                         "for directed surveillance, 12 for overt monitoring)")
    gr.set_defaults(func=cmd_grant)
    rv = asub.add_parser("review", help="record a review")
    common(rv, change=True)
    rv.add_argument("reference")
    rv.add_argument("--officer", required=True, help="the reviewing officer's name")
    rv.add_argument("--rank", required=True, help="the reviewing officer's rank")
    rv.add_argument("--outcome", required=True, choices=["continue", "cancel_recommended", "amend"])
    rv.add_argument("--notes", required=True, help="what the review found")
    rv.set_defaults(func=cmd_review)
    rn = asub.add_parser("renew", help="renew before expiry (up to 3 months more for directed surveillance)")
    common(rn, change=True)
    rn.add_argument("reference")
    rn.add_argument("--officer", required=True, help="the authorising officer's name")
    rn.add_argument("--rank", required=True, help="the authorising officer's rank (directed surveillance: "
                                                  "superintendent or above by default)")
    rn.add_argument("--why", required=True, help="why monitoring is still necessary and proportionate")
    rn.add_argument("--expires-on", help="the new first day without cover (default: the most the policy allows)")
    rn.set_defaults(func=cmd_renew)
    ca = asub.add_parser("cancel", help="cancel: collection under it stops the same day")
    common(ca, change=True)
    ca.add_argument("reference")
    ca.add_argument("--officer", required=True, help="the cancelling officer's name")
    ca.add_argument("--rank", required=True, help="the cancelling officer's rank")
    ca.add_argument("--why", required=True, help="why the monitoring is no longer necessary or proportionate "
                                                 "(recorded in the register and the audit log)")
    ca.set_defaults(func=cmd_cancel)
