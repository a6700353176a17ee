"""``socialhub hashlist list|import|export|match|withdraw``: the hash lists of known content (issue 16).

* ``list``: each list, its entries in force and its withdrawn entries;
* ``import FILE --list NAME``: hashes from a CSV in the ThreatExchange / HMA format (or its variants,
  see ``socialhub.media.hashlist``); prints how many were added, how many the list already had and
  every skipped row with its line number. Recorded as a ``hashlist_change`` audit event (who, why, the
  file's SHA-256, the counts);
* ``export [--list NAME] [--out FILE]``: the entries in force as CSV (stdout or a file); writing a
  file is recorded as an ``export`` event (it discloses the list);
* ``match HEX``: the entries within ``--max-distance`` bits (default 31) of a PDQ hash, nearest first;
* ``withdraw ENTRY_ID --list NAME --why TEXT``: withdraw an entry (a false match, a wrong referral):
  a write-once tombstone, never a deletion; recorded as a ``hashlist_change`` event.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from socialhub.errors import ConfigError

STORE_HELP = ("store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store; "
              "after `make demo`: .demo/data/store)")
BY_HELP = "your name for the audit log (default: $SOCIALHUB_ACTOR, else the login name)"


def _who(args: argparse.Namespace, via: str) -> Any:
    from socialhub.audit.consult import ReasonRequired, from_cli

    try:
        return from_cli(getattr(args, "by", None), getattr(args, "why", None), via)
    except ReasonRequired as exc:
        raise ConfigError(str(exc)) from None


def _lists(args: argparse.Namespace) -> tuple[Any, Any]:
    from socialhub.cli import _open_store
    from socialhub.media.hashlist import HashLists

    store = _open_store(args.store)
    return store, HashLists(store)


def cmd_list(args: argparse.Namespace) -> int:
    _, hl = _lists(args)
    counts = hl.lists()
    withdrawn: dict[str, int] = {}
    for w in hl.withdrawals():
        withdrawn[w.list_name] = withdrawn.get(w.list_name, 0) + 1
    if args.json:
        print(json.dumps({n: {"in_force": c, "withdrawn": withdrawn.get(n, 0)} for n, c in counts.items()},
                         indent=2))
        return 0
    if not counts:
        print("no hash list yet (add one with: socialhub hashlist import FILE --list NAME)")
        return 0
    width = max(len("list"), *(len(n) for n in counts))
    print(f"{'list'.ljust(width)}  {'in force':>8}  {'withdrawn':>9}")
    for name, count in counts.items():
        print(f"{name.ljust(width)}  {count:>8}  {withdrawn.get(name, 0):>9}")
    if args.withdrawn:
        for w in hl.withdrawals():
            print(f"withdrawn {w.list_name}/{w.entry_id} at {w.at} by {w.who}: {w.why}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from socialhub.audit.chain import AuditLog
    from socialhub.audit.consult import warn_if_no_reason
    from socialhub.media.hashlist import check_list_name, read_csv
    from socialhub.models import sha256_hex

    check_list_name(args.list)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: save it as UTF-8 CSV and try again") from None
    source = args.source or f"import:{path.name}"
    entries, problems = read_csv(text, default_source=source, default_label=args.label or "")
    who = _who(args, "socialhub hashlist import")
    store, hl = _lists(args)
    added, present = hl.add_many(entries, args.list)
    AuditLog(store).append("hashlist_change", actor=who.actor, obj=f"hashlist:{args.list}",
                           justification=who.why, hashes={path.name: sha256_hex(data)},
                           details={"change": "import", "list": args.list, "file": path.name, "source": source,
                                    "rows_read": len(entries), "added": added, "already_present": present,
                                    "problems": len(problems), **who.details})
    print(f"{path.name} -> hash list {args.list!r}: {added} imported, {present} already present, "
          f"{len(problems)} row(s) skipped")
    for p in problems:
        print(f"  {p}")
    warn_if_no_reason(who)
    return 1 if problems and not entries else 0


def cmd_export(args: argparse.Namespace) -> int:
    from socialhub.media.hashlist import write_csv
    from socialhub.models import sha256_hex

    store, hl = _lists(args)
    items = hl.entries(args.list)
    text = write_csv(items)
    if not args.out:
        print(text, end="")
        return 0
    from socialhub.audit.chain import AuditLog
    from socialhub.audit.consult import warn_if_no_reason

    who = _who(args, "socialhub hashlist export")
    out = Path(args.out)
    data = text.encode()
    AuditLog(store).append("export", actor=who.actor, obj=f"hashlist:{args.list or '*'}", justification=who.why,
                           hashes={out.name: sha256_hex(data)},
                           details={"kind": "hash list CSV", "list": args.list, "entries": len(items),
                                    **who.details})
    out.write_bytes(data)
    print(f"{len(items)} entr{'y' if len(items) == 1 else 'ies'} written to {out}")
    warn_if_no_reason(who)
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from socialhub.media.index import is_pdq_hex

    value = args.hash.strip().lower()
    if not is_pdq_hex(value):
        raise ConfigError(f"{args.hash!r} is not a PDQ hash (64 hexadecimal characters)")
    if not 0 <= args.max_distance <= 256:
        raise ConfigError("--max-distance is a number of bits, 0 to 256")
    _, hl = _lists(args)
    hits = hl.match(value, args.max_distance)
    if args.list:
        hits = [h for h in hits if h["list"] == args.list]
    if args.json:
        print(json.dumps(hits, indent=2))
        return 0
    if not hits:
        print(f"no entry within {args.max_distance} bits")
        return 0
    for h in hits:
        extra = ", ".join(f"{k} {h[k]}" for k in ("post_key", "referral_id") if h[k])
        print(f"{h['distance']:>3} bits  {h['list']}/{h['entry_id']}  {h['label'] or '-'}  from {h['source']}"
              + (f" ({extra})" if extra else ""))
    return 0


def cmd_withdraw(args: argparse.Namespace) -> int:
    from socialhub.audit.chain import AuditLog
    from socialhub.media.hashlist import check_list_name

    check_list_name(args.list)
    if not (args.why or "").strip():
        raise ConfigError("--why is required: a withdrawal is kept with the list and in the audit log")
    who = _who(args, "socialhub hashlist withdraw")
    store, hl = _lists(args)
    entry = hl.get(args.list, args.entry_id)
    if entry is None:
        raise ConfigError(f"no entry {args.entry_id} in hash list {args.list!r} (see: socialhub hashlist export "
                          f"--list {args.list})")
    done = hl.withdraw(args.list, args.entry_id, who=who.name, why=args.why)
    if not done:
        print(f"{args.list}/{args.entry_id} was already withdrawn")
        return 0
    AuditLog(store).append("hashlist_change", actor=who.actor, obj=f"hashlist:{args.list}/{args.entry_id}",
                           justification=who.why,
                           details={"change": "withdraw", "list": args.list, "entry_id": args.entry_id,
                                    "hash": entry.hash, "label": entry.label, "source": entry.source,
                                    **who.details})
    print(f"{args.list}/{args.entry_id} withdrawn: it no longer matches; recorded in the audit log")
    return 0


def register(sub: Any) -> None:
    h = sub.add_parser("hashlist", help="hash lists of known content: list, import, export, match, withdraw",
                       description="PDQ hashes of media referred or escalated by officers, or imported from a "
                                   "partner (CSV in the ThreatExchange / Hasher-Matcher-Actioner format), each "
                                   "with a label and a source. A newly captured image within the distance of an "
                                   "entry raises a known_content alert. Imports and withdrawals are audited.")
    hsub = h.add_subparsers(dest="hashlist_cmd", required=True)

    ls = hsub.add_parser("list", help="each list with its entries in force and withdrawn")
    ls.add_argument("--store", help=STORE_HELP)
    ls.add_argument("--withdrawn", action="store_true", help="also print every withdrawn entry: who, when, why")
    ls.add_argument("--json", action="store_true", help="the counts as JSON")
    ls.set_defaults(func=cmd_list)

    im = hsub.add_parser("import", help="add the hashes of a CSV file to a list (audited)",
                         description="Read a CSV of PDQ hashes (header collab,signal_type,signal_str,category,tags"
                                     "[,label,source,...]; or signal_value/hash columns; or no header: HASH,LABEL or"
                                     " 'pdq HASH' lines) and add each to the list. Hashes the list already has from"
                                     " the same source are left as they are; bad rows are skipped and listed.")
    im.add_argument("file", metavar="FILE", help="the CSV file (UTF-8)")
    im.add_argument("--list", required=True, metavar="NAME",
                    help="the list to add to (lowercase letters, digits, '_' or '-'; created if new)")
    im.add_argument("--source", metavar="S", help="where the hashes come from, for rows without a source column "
                                                  "(default: import:FILE_NAME)")
    im.add_argument("--label", metavar="L", help="label for rows without a label or tags (e.g. weapon)")
    im.add_argument("--store", help=STORE_HELP)
    im.add_argument("--by", metavar="NAME", help=BY_HELP)
    im.add_argument("--why", metavar="TEXT", help="why you import this file (recorded; default: $SOCIALHUB_WHY)")
    im.set_defaults(func=cmd_import)

    ex = hsub.add_parser("export", help="the entries in force as CSV (ThreatExchange / HMA format)")
    ex.add_argument("--list", metavar="NAME", help="only this list (default: every list; the list is the "
                                                   "collab column)")
    ex.add_argument("--out", metavar="FILE", help="write to this file (recorded as an export) instead of stdout")
    ex.add_argument("--store", help=STORE_HELP)
    ex.add_argument("--by", metavar="NAME", help=BY_HELP + "; with --out")
    ex.add_argument("--why", metavar="TEXT", help="why you export (recorded with --out; default: $SOCIALHUB_WHY)")
    ex.set_defaults(func=cmd_export)

    ma = hsub.add_parser("match", help="the entries near a PDQ hash, nearest first")
    ma.add_argument("hash", metavar="HEX", help="a PDQ hash, 64 hexadecimal characters")
    ma.add_argument("--max-distance", type=int, default=31, metavar="BITS",
                    help="largest Hamming distance that counts as a match (default: 31 of 256 bits, the "
                         "ThreatExchange recommendation)")
    ma.add_argument("--list", metavar="NAME", help="only matches in this list")
    ma.add_argument("--json", action="store_true", help="the matches as JSON")
    ma.add_argument("--store", help=STORE_HELP)
    ma.set_defaults(func=cmd_match)

    wd = hsub.add_parser("withdraw", help="withdraw an entry (a false match, a wrong referral; audited)",
                         description="Withdraw an entry: it is kept, with who withdrew it, when and why, but never "
                                     "matched again. Nothing is deleted.")
    wd.add_argument("entry_id", metavar="ENTRY_ID", help="the entry's id (24 hex characters; see export or match)")
    wd.add_argument("--list", required=True, metavar="NAME", help="the list the entry is in")
    wd.add_argument("--why", required=True, metavar="TEXT", help="why it is withdrawn (kept and audited)")
    wd.add_argument("--by", metavar="NAME", help=BY_HELP)
    wd.add_argument("--store", help=STORE_HELP)
    wd.set_defaults(func=cmd_withdraw)


__all__ = ["register"]
