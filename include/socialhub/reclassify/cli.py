"""``socialhub reclassify`` and ``socialhub shadow report`` (registered by ``register(sub)``)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

#: exit status for bad dates, an empty period, a missing store or no shadow results
EXIT_USAGE = 2

STORE_HELP = ("store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store); "
              "after `make demo`: --store .demo/data/store")

RECLASSIFY_DESCRIPTION = """\
Re-classify the stored posts of past days with any classifier version and compare with what was
recorded. Reads the curated posts of the days --from to --to (both included; the day a post's
batch was filed under), classifies their text again, and writes to --out: reclassify.html and one
CSV per table: posts newly flagged and no longer flagged (platform, post id, URL, force, category,
old and new score), score shifts per category (mean, median and max absolute shift, posts moved
across the threshold), the alerts per day each version would have sent, and per slice (platform,
force, category) old flagged, new flagged, added and dropped. A short summary goes to stdout and
progress (posts done / total, posts per second) to stderr.

It never alerts and never changes a stored result: the only store writes are the `reclassify`
audit event (who ran it, which versions, which days, the SHA-256 of each file written) and, for a
candidate given as files, its version record (so the event can name it). Re-running the recorded
version reproduces the recorded scores, labels and reasons exactly when the classifier code is
the code it was recorded with; when it is not, the report and summary say so prominently."""

RECLASSIFY_EPILOG = """\
--classifier takes: live (default: the version processing uses), packaged (the one shipped with
this code), a recorded version id (see `socialhub classifier list`; a unique prefix will do), or
a folder holding lexicon.yaml / thresholds.yaml / model/ (missing files are the packaged ones),
or one YAML file. --lexicon / --thresholds then swap that file in.

examples:
  socialhub reclassify --from 2026-11-24 --to 2026-11-30 --out /tmp/recheck --store .demo/data/store
      re-run the live version: is every recorded decision reproduced?
  socialhub reclassify --from 2026-11-01 --to 2026-11-30 --thresholds candidate/thresholds.yaml --out /tmp/cand
      what lower thresholds would have alerted on last month
  socialhub reclassify --from 2026-11-30 --to 2026-11-30 --classifier ./candidate --force met --out /tmp/met
  socialhub reclassify --from 2026-11-30 --to 2026-11-30 --lexicon new_lexicon.yaml --platform x --out /tmp/x

exit status: 0 report written; 2 bad dates, no curated posts in the period, no store, or no
reason while $SOCIALHUB_REQUIRE_WHY is on; 1 any other error (named)."""

SHADOW_DESCRIPTION = """\
Compare a shadow classifier's stored results (SOCIALHUB_SHADOW_CLASSIFIER: processing classifies
every batch with it too and stores its results under shadow/<version>/, never alerted) with the
live results of the same posts over a period: agreement (share of posts with the same labels,
per category too), the alerts it would have added and dropped (listed), alerts per day, and how
it agrees with the officers' real decisions on the live alerts: of the alerts an officer
confirmed (referred, escalated, kept monitoring), how many it would also flag; of those marked
"No action (false positive)", how many it would drop; and its precision on those reviewed alerts
with a Wilson 95% interval, saying how few reviews it rests on.

Writes shadow.html and one CSV per table to --out, and stores each version's figures as
reports/shadow/<version>-<from>-<to>.json, which `socialhub classifier promote` attaches."""

SHADOW_EPILOG = """\
examples:
  socialhub shadow report --from 2026-11-24 --to 2026-11-30 --out /tmp/shadow --store .demo/data/store
  socialhub shadow report --from 2026-11-01 --to 2026-11-30 --version 4.22.0-6a4a22b66fba --out /tmp/shadow

exit status: 0 report written; 2 bad dates, no shadow results in the period, no store, or no
reason while $SOCIALHUB_REQUIRE_WHY is on; 1 any other error (named)."""


WHY_HELP = ("why you are looking at these posts: a case or request reference and its purpose (recorded in the audit "
            "log; default: $SOCIALHUB_WHY; without one the run is recorded as made without a reason and the auditor's "
            "report flags it, or refused when $SOCIALHUB_REQUIRE_WHY is on)")


def _err(msg: str) -> None:
    print(f"socialhub: error: {msg}", file=sys.stderr)


def _open(store_arg: str | None) -> tuple[Any, str] | None:
    """The store and its label; None (after saying why) when a local store does not exist."""
    from socialhub.audit.where import choose_store
    from socialhub.storage import open_store

    choice = choose_store(store_arg)
    if choice.local is not None and not choice.local.is_dir():
        what = "is not a folder" if choice.local.exists() else "does not exist"
        _err(f"there is no store at {choice.label}: it {what} ({choice.origin}); give the store the pipeline "
             "writes with --store (a folder or s3://BUCKET/PREFIX; after `make demo`: --store .demo/data/store)")
        return None
    return open_store(choice.url), choice.label


def _who(args: argparse.Namespace, via: str) -> Any:
    """Who and why (``--by``/``$SOCIALHUB_ACTOR``/login name, ``--why``/``$SOCIALHUB_WHY``): a
    :class:`~socialhub.audit.consult.Consultation`, or ``None`` (after saying why) when a reason is
    required and none was given."""
    from socialhub.audit.consult import ReasonRequired, from_cli

    try:
        return from_cli(args.by, args.why, via)
    except ReasonRequired as exc:
        _err(str(exc))
        return None


def _progress(done: int, total: int | None, rate: float) -> None:
    of = f" / {total:,} ({done / total:.0%})" if total else ""
    print(f"reclassify: {done:,}{of} posts, {rate:,.0f} posts/s", file=sys.stderr, flush=True)


def cmd_reclassify(args: argparse.Namespace) -> int:
    from socialhub.audit.consult import warn_if_no_reason
    from socialhub.classify import versions
    from socialhub.models import sha256_hex
    from socialhub.reclassify import (
        PeriodError,
        curated_objects,
        expected_posts,
        period_days,
        reclassify,
        stored_days,
        version_notes,
    )
    from socialhub.reclassify.report import ReclassifyRun, reclassify_lines, reclassify_page, write_page

    try:
        days = period_days(args.start, args.end)
    except PeriodError as exc:
        _err(str(exc))
        return EXIT_USAGE
    who = _who(args, "socialhub reclassify")
    if who is None:
        return EXIT_USAGE
    opened = _open(args.store)
    if opened is None:
        return EXIT_USAGE
    store, label = opened
    objects = curated_objects(store, days, args.platform)
    if not objects:
        have = stored_days(store, args.platform)
        where = (f"curated posts are stored for {len(have)} day(s), {have[0]} to {have[-1]}" if have
                 else "this store holds no curated posts at all (has the pipeline processed anything here?)")
        _err(f"no curated posts stored for {days[0]} to {days[-1]}"
             f"{' on platform ' + args.platform if args.platform else ''} in {label}: {where}; "
             "choose days with posts (--from/--to) or the store the pipeline writes (--store)")
        return EXIT_USAGE
    from socialhub.audit.chain import AuditLog, Auditor

    actor = who.actor
    auditor = Auditor(AuditLog(store), actor)
    candidate, clf = versions.resolve(store, args.classifier, lexicon=args.lexicon, thresholds=args.thresholds,
                                      auditor=auditor)
    total = expected_posts(store, objects) if args.force is None else None
    print(f"reclassify: {len(objects)} stored batch(es), {f'{total:,} posts' if total else 'posts'} "
          f"from {days[0]} to {days[-1]} with {candidate.id}", file=sys.stderr, flush=True)
    from socialhub.config import Settings
    from socialhub.media.judge import MediaJudge

    cfg = Settings.from_env()
    judge = MediaJudge(store, clf, max_distance=cfg.pdq_max_distance) if cfg.media else None
    cmp = reclassify(store, clf, objects, force=args.force, chunk=args.chunk, total=total,
                     progress=None if args.quiet else _progress, media_judge=judge)
    if cmp.posts == 0:
        _err(f"no curated posts of force {args.force!r} from {days[0]} to {days[-1]}: check --force")
        return EXIT_USAGE
    run = ReclassifyRun(days[0], days[-1], candidate, cmp, version_notes(store, sorted(cmp.recorded), candidate),
                        store_label=label, platform=args.platform, force=args.force)
    paths = write_page(reclassify_page(run), args.out, "reclassify.html")
    AuditLog(store).append(
        "reclassify", actor=actor, obj=f"reclassify:{days[0]}..{days[-1]}", force=args.force,
        justification=who.why, hashes={p.name: sha256_hex(p.read_bytes()) for p in paths},
        details={"from": days[0], "to": days[-1], "platform": args.platform, "force": args.force,
                 "candidate": candidate.id, "candidate_origin": candidate.origin,
                 "recorded": sorted(cmp.recorded), "code_mismatch": [m["version"] for m in run.mismatches],
                 **cmp.counts(), **who.details})
    print("\n".join(reclassify_lines(run, paths)))
    warn_if_no_reason(who)
    return 0


def cmd_shadow_report(args: argparse.Namespace) -> int:
    from socialhub.audit.chain import AuditLog
    from socialhub.audit.consult import warn_if_no_reason
    from socialhub.models import sha256_hex, utc_iso
    from socialhub.reclassify import PeriodError, period_days
    from socialhub.reclassify.report import shadow_lines, shadow_page, write_page
    from socialhub.reclassify.shadow import compare_shadow, review_decisions, shadow_versions, store_summary

    try:
        days = period_days(args.start, args.end)
    except PeriodError as exc:
        _err(str(exc))
        return EXIT_USAGE
    who = _who(args, "socialhub shadow report")
    if who is None:
        return EXIT_USAGE
    opened = _open(args.store)
    if opened is None:
        return EXIT_USAGE
    store, label = opened
    if args.version:
        from socialhub.classify import versions

        found = versions.find(store, args.version)
        ids = [found.id if found else args.version]
    else:
        ids = shadow_versions(store, days)
    if not ids:
        _err(f"no shadow results stored for {days[0]} to {days[-1]} in {label}: set SOCIALHUB_SHADOW_CLASSIFIER "
             "to the candidate (a folder or a recorded id) so processing stores them, then report on days after "
             "that; or choose other days (--from/--to)")
        return EXIT_USAGE
    decisions = review_decisions(store)
    comparisons = [compare_shadow(store, vid, days[0], days[-1], decisions) for vid in ids]
    empty = [c.version_id for c in comparisons if c.posts == 0]
    if len(empty) == len(comparisons):
        _err(f"no shadow results of {', '.join(empty)} stored for {days[0]} to {days[-1]} in {label}: "
             "was it the shadow (SOCIALHUB_SHADOW_CLASSIFIER) on those days? `socialhub classifier list` names "
             "the recorded versions; choose other days (--from/--to)")
        return EXIT_USAGE
    comparisons = [c for c in comparisons if c.posts]
    actor = who.actor
    at = utc_iso(datetime.now(UTC))
    stored = {c.version_id: store_summary(store, c.summary(), written_at=at, by=actor["name"]) for c in comparisons}
    paths = write_page(shadow_page(comparisons, days[0], days[-1], label, stored), args.out, "shadow.html")
    AuditLog(store).append(
        "report", actor=actor, obj=f"shadow-report:{days[0]}..{days[-1]}",
        justification=who.why, hashes={p.name: sha256_hex(p.read_bytes()) for p in paths},
        details={"kind": "shadow", "from": days[0], "to": days[-1], "versions": [c.version_id for c in comparisons],
                 "stored": sorted(stored.values()), **who.details})
    print("\n".join(shadow_lines(comparisons, paths, stored)))
    warn_if_no_reason(who)
    return 0


def _add_period(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day (YYYY-MM-DD, UTC)")
    p.add_argument("--to", dest="end", required=True, metavar="DATE", help="last day, included (YYYY-MM-DD, UTC)")


def register(sub: Any) -> None:
    """Add ``reclassify`` and ``shadow report`` to the ``socialhub`` subcommands."""
    raw = argparse.RawDescriptionHelpFormatter
    r = sub.add_parser("reclassify", help="re-classify past days with any classifier version and compare "
                                          "(report; never alerts, changes nothing)",
                       description=RECLASSIFY_DESCRIPTION, epilog=RECLASSIFY_EPILOG, formatter_class=raw)
    _add_period(r)
    r.add_argument("--classifier", metavar="VERSION|PATH", default="live",
                   help="live (default), packaged, a recorded version id, or a folder / YAML file")
    r.add_argument("--lexicon", metavar="FILE", help="lexicon YAML to swap into the classifier")
    r.add_argument("--thresholds", metavar="FILE", help="thresholds YAML to swap into the classifier")
    r.add_argument("--store", metavar="URL|DIR", help=STORE_HELP)
    r.add_argument("--platform", metavar="P", help="only this platform's posts (default: all)")
    r.add_argument("--force", metavar="F", help="only this force's posts (default: all)")
    r.add_argument("--out", required=True, metavar="DIR", help="folder to write reclassify.html and the CSV files into")
    r.add_argument("--by", metavar="NAME", help="your name for the audit log (default: $SOCIALHUB_ACTOR, else the "
                                                "login name)")
    r.add_argument("--why", metavar="TEXT", help=WHY_HELP)
    r.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    r.add_argument("--chunk", type=int, default=2000, help=argparse.SUPPRESS)   # posts per classify_batch call
    r.set_defaults(func=cmd_reclassify)

    s = sub.add_parser("shadow", help="shadow classifier results: report against live and officers' decisions",
                       description="A shadow classifier (SOCIALHUB_SHADOW_CLASSIFIER) classifies every batch beside "
                                   "the live one; its results are stored, never alerted. `socialhub shadow report` "
                                   "compares them with the live results.",
                       formatter_class=raw, epilog=SHADOW_EPILOG)
    ssub = s.add_subparsers(dest="scommand", metavar="SUBCOMMAND")
    sr = ssub.add_parser("report", help="compare stored shadow results with live ones and the officers' decisions",
                         description=SHADOW_DESCRIPTION, epilog=SHADOW_EPILOG, formatter_class=raw)
    _add_period(sr)
    sr.add_argument("--version", metavar="ID", help="only this shadow version (default: every one with results in "
                                                    "the period)")
    sr.add_argument("--store", metavar="URL|DIR", help=STORE_HELP)
    sr.add_argument("--out", required=True, metavar="DIR", help="folder to write shadow.html and the CSV files into")
    sr.add_argument("--by", metavar="NAME", help="your name for the audit log and the stored summary (default: "
                                                 "$SOCIALHUB_ACTOR, else the login name)")
    sr.add_argument("--why", metavar="TEXT", help=WHY_HELP)
    sr.set_defaults(func=cmd_shadow_report)
    from socialhub.cli import _help_of

    s.set_defaults(func=_help_of(s))


__all__ = ["register", "cmd_reclassify", "cmd_shadow_report", "EXIT_USAGE"]
