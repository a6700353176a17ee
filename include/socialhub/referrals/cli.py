"""``socialhub referral list|show|update|stats``: the referral register on the command line.

* ``list`` / ``show`` read the register (a consultation: recorded as an ``access`` audit event with
  who and why, like ``socialhub explain``);
* ``update`` records a platform's reply (ticket id, decision, date, note) or what the officer found,
  as a new status: every change is a ``referral_update`` audit event with ``--by`` and ``--why``;
  ``--status closed`` closes the referral (``--removed-on`` gives the removal date when the register
  does not know it yet);
* ``stats`` prints the outcome figures of the referrals made in a period; ``--public --out DIR``
  writes the aggregate transparency export (``referral_stats.csv`` and ``.json``; no personal data,
  small counts suppressed: see ``socialhub.referrals.stats``), recorded as an ``export`` event.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from socialhub.errors import ConfigError

STORE_HELP = ("store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store; "
              "after `make demo`: .demo/data/store)")
LIST_COLUMNS = (("referral_id", "referral"), ("referred", "referred"), ("platform", "platform"),
                ("force", "force"), ("category", "category"), ("status", "status"), ("outcome", "outcome"),
                ("channel", "channel"))


def _when(value: str | None, *, what: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO instant; default: now (the pipeline's clock)."""
    from socialhub.clock import now

    if not value:
        return now()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{what} {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _consult(args: argparse.Namespace, via: str) -> Any:
    from socialhub.audit.consult import ReasonRequired, from_cli

    try:
        return from_cli(args.by, args.why, via)
    except ReasonRequired as exc:
        raise ConfigError(str(exc)) from None


def _record_access(store: Any, who: Any, obj: str, details: dict[str, Any], force: str | None = None) -> None:
    from socialhub.audit.chain import AuditLog
    from socialhub.audit.consult import warn_if_no_reason

    AuditLog(store).append("access", actor=who.actor, obj=obj, force=force, justification=who.why,
                           details={**details, **who.details})
    warn_if_no_reason(who)


def _row(ref: Any) -> dict[str, str]:
    rec = ref.record
    return {"referral_id": ref.referral_id, "referred": str(ref.referred_at)[:16].replace("T", " "),
            "platform": str(rec.get("platform") or ""), "force": str(rec.get("force") or ""),
            "category": str(rec.get("category") or ""), "status": ref.status, "outcome": ref.outcome,
            "channel": str(rec.get("channel") or "")}


def cmd_list(args: argparse.Namespace) -> int:
    from socialhub.cli import _open_store
    from socialhub.referrals.register import all_referrals

    who = _consult(args, "socialhub referral list")
    store = _open_store(args.store)
    refs = all_referrals(store)
    if args.open:
        refs = [r for r in refs if r.is_open]
    if args.status:
        refs = [r for r in refs if r.status == args.status]
    _record_access(store, who, "referral-register", {"view": "referral list", "status": args.status,
                                                      "open_only": bool(args.open), "rows": len(refs)})
    if args.json:
        print(json.dumps([r.to_dict() for r in refs], indent=2, ensure_ascii=False))
        return 0
    if not refs:
        print("no referral in the register" + (" matches" if args.status or args.open else ""))
        return 0
    rows = [_row(r) for r in refs]
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in LIST_COLUMNS]
    print("  ".join(h.ljust(w) for (_, h), w in zip(LIST_COLUMNS, widths, strict=True)).rstrip())
    for r in rows:
        print("  ".join(r[k].ljust(w) for (k, _), w in zip(LIST_COLUMNS, widths, strict=True)).rstrip())
    return 0


def describe(ref: Any) -> list[str]:
    """One referral in words: the record, the notice and the history."""
    rec = ref.record
    tt = ref.time_to_removal
    lines = [f"referral {ref.referral_id}: {ref.status} (outcome {ref.outcome})",
             f"  post       {rec.get('platform')}:{rec.get('post_id')} {rec.get('url') or ''}".rstrip(),
             f"  account    {rec.get('account')}",
             f"  alert      {rec.get('alert_id')}",
             f"  category   {rec.get('category')} (labels: {', '.join(rec.get('categories') or [])})",
             f"  cites      {rec.get('policy', {}).get('policy')}; {rec.get('policy', {}).get('law')}",
             f"  channel    {rec.get('channel')}: {rec.get('channel_address')}",
             f"  referred   {rec.get('referred_at')} by {(rec.get('referred_by') or {}).get('name') or '?'} "
             f"({rec.get('force')}, {rec.get('team')})",
             f"  content    sha256 {rec.get('content_sha256')}",
             f"  package    {(rec.get('bundle') or {}).get('manifest')}"]
    if ref.removed_at:
        lines.append(f"  removed    {ref.removed_at}" + (f" ({tt / 3600:.1f} h after the referral)" if tt else ""))
    if ref.escalation:
        lines.append(f"  escalated  {ref.escalation.get('at')}: {ref.escalation.get('why')}")
    lines += ["", "history:"]
    for h in ref.history():
        who = (h.get("by") or {}).get("name") or ""
        extra = "; ".join(f"{k.replace('_', ' ')} {h[k]}" for k in ("ticket", "platform_decision", "http_status",
                                                                     "detail", "note", "why", "removed_at")
                          if h.get(k) not in (None, ""))
        lines.append(f"  {h.get('at')}  {h.get('kind'):<10} {h.get('status') or '':<13} {who}"
                     + (f"  ({extra})" if extra else ""))
    lines += ["", "notice:", *(f"  {line}" for line in str(rec.get("notice") or "").splitlines())]
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    from socialhub.cli import _open_store
    from socialhub.referrals.register import find_referral

    who = _consult(args, "socialhub referral show")
    store = _open_store(args.store)
    ref = find_referral(store, args.referral)
    _record_access(store, who, f"referral:{ref.referral_id}", {"view": "referral show"},
                   force=ref.record.get("force"))
    print(json.dumps(ref.to_dict(), indent=2, ensure_ascii=False) if args.json else "\n".join(describe(ref)))
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    import getpass

    from socialhub.cli import _open_store
    from socialhub.clock import now
    from socialhub.referrals.register import close_referral, find_referral, record_reply

    if not (args.why or "").strip():
        raise ConfigError("--why is required: every change to a referral is recorded with its reason")
    store = _open_store(args.store)
    ref = find_referral(store, args.referral)
    by = {"kind": "person", "name": args.by or getpass.getuser(), "via": "socialhub referral update"}
    at = _when(args.on, what="--on")
    status = args.status or ref.status
    if status == "closed":
        if args.ticket or args.decision or args.note:
            raise ConfigError("record the platform's reply first (without --status closed), then close")
        removed = _when(args.removed_on, what="--removed-on") if args.removed_on else None
        ref = close_referral(store, ref.referral_id, closed_at=at, by=by, why=args.why, removed_at=removed,
                             now=now())
    else:
        if args.removed_on:
            raise ConfigError("--removed-on goes with --status closed (for --status removed, --on is the date)")
        ref = record_reply(store, ref.referral_id, status=status, by=by, why=args.why, at=at, ticket=args.ticket,
                           platform_decision=args.decision, note=args.note, now=now())
    tt = ref.time_to_removal
    print(f"{ref.referral_id} is now {ref.status} (outcome {ref.outcome})"
          + (f"; time to removal {tt / 3600:.1f} h" if tt is not None and ref.outcome == "removed" else "")
          + "; recorded in the audit log")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from socialhub.audit.report import fmt_duration, period_bounds
    from socialhub.cli import _open_store
    from socialhub.clock import now
    from socialhub.models import sha256_hex, utc_iso
    from socialhub.referrals.register import all_referrals
    from socialhub.referrals.stats import figures, grouped, in_period, public_export

    if args.out and not args.public:
        raise ConfigError("--out writes the public export only: add --public (the internal figures, with the posts "
                          "and officers, are in the auditor's report: socialhub audit report)")
    if args.public and not args.out:
        raise ConfigError("--public needs --out DIR")
    try:
        start, end = period_bounds(date.fromisoformat(args.date_from), date.fromisoformat(args.date_to))
    except ValueError as exc:
        raise ConfigError(f"bad period: {exc}") from None
    who = _consult(args, "socialhub referral stats")
    store = _open_store(args.store)
    refs = in_period(all_referrals(store), start, end, args.force)
    period = {"from": args.date_from, "to": args.date_to}
    if args.public:
        files = public_export(refs, start=args.date_from, end=args.date_to, generated_at=utc_iso(now()))
        from socialhub.audit.chain import AuditLog
        from socialhub.audit.consult import warn_if_no_reason

        AuditLog(store).append("export", actor=who.actor, obj=f"referral-stats:{args.date_from}..{args.date_to}",
                               force=args.force, justification=who.why,
                               hashes={n: sha256_hex(d) for n, d in files.items()},
                               details={"kind": "public referral statistics", **period, "referrals": len(refs),
                                        "files": sorted(files), **who.details})
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out / name).write_bytes(data)
        print(f"public referral statistics for {args.date_from} to {args.date_to} ({len(refs)} referral(s)) written "
              f"to {out}: {', '.join(sorted(files))} (counts under 5 shown as <5)")
        warn_if_no_reason(who)
        return 0
    _record_access(store, who, f"referral-stats:{args.date_from}..{args.date_to}",
                   {"view": "referral stats", **period, "referrals": len(refs)}, force=args.force)
    total = figures(refs)
    print(f"referrals made {args.date_from} to {args.date_to}" + (f" by {args.force}" if args.force else "")
          + f": {total['referrals']}")
    for dim in ("platform", "force", "category"):
        for (value,), f in grouped(refs, lambda r, d=dim: (str(r.record.get(d) or "unknown"),)):  # type: ignore[misc]
            print(f"  {dim:<9} {value:<18} {f['referrals']:>4} referred, {f['removed']:>4} removed"
                  + (f" ({f['removal_rate']:.0%})" if f["removal_rate"] is not None else "")
                  + (f", median {fmt_duration(f['median_seconds'])}, p90 {fmt_duration(f['p90_seconds'])}"
                     if f["median_seconds"] is not None else "")
                  + f", {f['still_online_now']} still online")
    if refs:
        print(f"music or drill: {total['music_or_drill']} of {total['referrals']}; escalated: {total['escalated']}")
    return 0


def register(sub: Any) -> None:
    r = sub.add_parser("referral", help="the referral register: list, show, update (a platform's reply), stats",
                       description="Referrals to platforms made by officers' 'Refer to platform' decisions: one "
                                   "record per post, its status history and outcome. Reading it is recorded (who, "
                                   "why); every change is audited.")
    rsub = r.add_subparsers(dest="referral_cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", help=STORE_HELP)
        p.add_argument("--by", metavar="NAME", help="your name for the audit log (default: $SOCIALHUB_ACTOR, else "
                                                    "the login name)")

    from socialhub.referrals.register import STATUSES

    ls = rsub.add_parser("list", help="every referral with its status and outcome (recorded: who, why)")
    common(ls)
    ls.add_argument("--why", metavar="TEXT", help="why you are looking (recorded; default: $SOCIALHUB_WHY)")
    ls.add_argument("--status", choices=STATUSES, help="only referrals with this status")
    ls.add_argument("--open", action="store_true", help="only referrals not yet closed")
    ls.add_argument("--json", action="store_true", help="the records in full, as JSON")
    ls.set_defaults(func=cmd_list)
    sh = rsub.add_parser("show", help="one referral: record, notice and status history (recorded: who, why)")
    common(sh)
    sh.add_argument("referral", metavar="ID", help="referral id (ref-...), alert id, post URL, or platform:post_id")
    sh.add_argument("--why", metavar="TEXT", help="why you are looking (recorded; default: $SOCIALHUB_WHY)")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)
    up = rsub.add_parser("update", help="record a platform's reply or a new status (audited)",
                         description="Record what the platform replied (its ticket id and decision) or what you "
                                     "found, as the referral's new status; --status closed closes it. Allowed "
                                     "changes: open -> acknowledged/removed/restricted/rejected/still_online/"
                                     "unavailable/closed, ...; closed is final (see docs/review.md).")
    common(up)
    up.add_argument("referral", metavar="ID", help="referral id (ref-...), alert id, post URL, or platform:post_id")
    up.add_argument("--status", choices=STATUSES, help="the new status (default: unchanged: a ticket or note only)")
    up.add_argument("--ticket", help="the platform's ticket or case id")
    up.add_argument("--decision", metavar="TEXT", help="the platform's decision, in its words")
    up.add_argument("--on", metavar="D", help="when it happened (YYYY-MM-DD or ISO time; default: now); for "
                                              "--status removed this is the removal time")
    up.add_argument("--note", metavar="TEXT", help="anything else worth keeping")
    up.add_argument("--removed-on", metavar="D", help="with --status closed: when the post was removed, if the "
                                                      "register does not know yet (sets the time to removal)")
    up.add_argument("--why", metavar="TEXT", required=True, help="why you record this (audited)")
    up.set_defaults(func=cmd_update)
    st = rsub.add_parser("stats", help="outcome figures of the referrals made in a period; --public: the "
                                       "aggregate transparency export")
    common(st)
    st.add_argument("--from", dest="date_from", required=True, metavar="D", help="first day (YYYY-MM-DD, UTC)")
    st.add_argument("--to", dest="date_to", required=True, metavar="D", help="last day, included")
    st.add_argument("--force", help="only this force's referrals")
    st.add_argument("--public", action="store_true", help="write the public export (counts only; no URLs, "
                                                          "accounts, text or names; counts under 5 shown as <5)")
    st.add_argument("--out", metavar="DIR", help="folder for referral_stats.csv and referral_stats.json (--public)")
    st.add_argument("--why", metavar="TEXT", help="why (recorded; default: $SOCIALHUB_WHY)")
    st.set_defaults(func=cmd_stats)


__all__ = ["register", "describe"]
