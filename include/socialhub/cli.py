"""The socialhub command: monitor the public posts of watched accounts, alert officers, record their reviews.

    socialhub demo                       run the whole pipeline locally and print what happened
    socialhub watchlist validate [FILE]  check a watchlist file; non-zero exit per bad entry
    socialhub fetch PLATFORM ACCOUNT     print an account's new posts as JSON Lines
    socialhub classify                   classify JSON Lines posts from stdin
    socialhub eval LABELLED.jsonl        precision, recall, F1, confusion and errors of the classifier
    socialhub train TRAIN.jsonl          retrain the model (reproducible; merges officers' feedback)
    socialhub replay                     serve the local replay of the platform APIs
    socialhub audit verify               prove the audit log was not altered (keys and anchors if configured;
                                         --incremental from a --checkpoint)
    socialhub audit anchor               record the audit chain's head in the anchor now
    socialhub audit report --from D --to D --out DIR   the auditor's report (HTML + CSV)
    socialhub retention apply            erase what the retention policy says must go
    socialhub hold add|remove            legal holds on a batch or an account
    socialhub bundle fetch ALERT_ID --out DIR   copy a referral package out of the store (audited)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

from socialhub import __version__
from socialhub.errors import SocialhubError

#: The platforms ``socialhub fetch`` takes, by the name it takes and as people call them (the connectors are
#: in socialhub.sources.registry.CONNECTORS; a test checks every registered one is named here).
PLATFORM_NAMES: dict[str, str] = {
    "youtube": "YouTube", "x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon", "reddit": "Reddit",
    "telegram": "Telegram public channels", "rss": "RSS/Atom feeds",
}

_RST_ROLE = re.compile(r":[a-z]+:`([^`]*)`")
_DOUBLE_BACKTICKS = re.compile(r"``([^`]*)``")
_BACKTICKS = re.compile(r"`([^`]*)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def plain(text: str | None) -> str | None:
    """Help text without markup: RST roles and ``literals`` become their words, `code` is quoted,
    **bold** loses its stars. --help is read in a terminal, where markup is only noise."""
    if not text:
        return text
    text = _RST_ROLE.sub(r"\1", text)
    text = _DOUBLE_BACKTICKS.sub(r"\1", text)
    text = _BACKTICKS.sub(r"'\1'", text)
    return _BOLD.sub(r"\1", text)


def _plain_help(parser: argparse.ArgumentParser) -> None:
    """``plain`` over every text of ``parser`` and its subcommands (some come from other modules)."""
    parser.description = plain(parser.description)
    parser.epilog = plain(parser.epilog)
    for action in parser._actions:
        if isinstance(action.help, str):
            action.help = plain(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = plain(choice.help)
            for sub in dict.fromkeys(action.choices.values()):
                _plain_help(sub)


def _err(msg: str) -> None:
    print(f"socialhub: error: {msg}", file=sys.stderr)


def cmd_watchlist_validate(args: argparse.Namespace) -> int:
    from socialhub.watchlist import DEFAULT_PATH, load_watchlist

    path = Path(args.file) if args.file else DEFAULT_PATH
    wl = load_watchlist(path)  # raises WatchlistError listing every problem
    from datetime import date

    ok, lapsed = wl.authorised(date.today())
    print(f"{path}: {len(wl.accounts)} entr{'y' if len(wl.accounts) == 1 else 'ies'} valid "
          f"({len(ok)} authorised, {len(lapsed)} past review-by date)")
    from socialhub import subjects

    counts = {s: sum(1 for e in wl.accounts if e.subject == s) for s in subjects.SUBJECTS}
    print("  subjects: " + ", ".join(f"{subjects.name(s)} {n}" for s, n in counts.items() if n))
    # one category after another: a victim's or witness's entry is never listed among suspects
    for e in sorted(lapsed, key=lambda e: (subjects.rank(e.subject), e.key)):
        print(f"  lapsed: {e.key} [{subjects.name(e.subject)}] (authorisation {e.authorisation_ref}, "
              f"review by {e.review_by}, owner {e.owner})")
    note = subjects.reminder(wl.accounts)
    if note:
        print(f"  reminder: {note}")
    return 0


def _fetch_not_allowed(platform: str, account: str, base_url: str, watchlist_path: str | None) -> str:
    """Why ``socialhub fetch`` may not read this account (empty when it may).

    Reading a real platform is collection: only an account on the watchlist whose authorisation is
    in force today (the register too, when one is in use) may be read. A loopback address (the
    local replay server, a test double) serves no real person's posts and is always allowed.
    """
    from ipaddress import ip_address
    from urllib.parse import urlsplit

    host = (urlsplit(base_url).hostname or "").lower()
    try:
        if host == "localhost" or ip_address(host).is_loopback:
            return ""
    except ValueError:
        pass
    from socialhub.clock import now
    from socialhub.config import Settings
    from socialhub.governance.authorisations import governed_watchlist
    from socialhub.watchlist import WatchlistEntry, identity

    cfg = Settings.from_env()
    path = Path(watchlist_path) if watchlist_path else cfg.watchlist
    store_root = os.environ.get("SOCIALHUB_STORE") or str(cfg.data_dir / "store")
    store = _open_store(store_root) if "://" in store_root or Path(store_root).is_dir() else None
    wl = governed_watchlist(store, path)
    wanted = identity(WatchlistEntry.model_construct(platform=platform, account=account))
    today = now().date()
    for entry in wl.accounts:
        if identity(entry) == wanted:
            why = wl.why_not(entry, today)
            return f"not fetching {entry.key}: {why}" if why else ""
    return (f"not fetching {platform}:{account}: it is not on the watchlist ({path}). Reading a platform is "
            "collection, allowed only for watchlist accounts under an authorisation in force; the local replay "
            "server (--base-url http://127.0.0.1:PORT/...) can be read freely")


def cmd_fetch(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from socialhub.models import canonical_json
    from socialhub.sources.base import ConnectorConfig
    from socialhub.sources.registry import get_connector

    token = os.environ.get(f"SOCIALHUB_{args.platform.upper()}_TOKEN")
    base_url = args.base_url or os.environ.get(f"SOCIALHUB_{args.platform.upper()}_BASE_URL")
    if not base_url:
        from socialhub.sources.registry import default_base_url

        base_url = default_base_url(args.platform)
    problem = _fetch_not_allowed(args.platform, args.account, base_url, args.watchlist)
    if problem:
        _err(problem)
        return 2
    config = ConnectorConfig(base_url=base_url.rstrip("/"), token=token, max_pages=args.max_pages,
                             lookback=timedelta(days=args.lookback_days))
    connector = get_connector(args.platform, config)
    state: dict[str, Any] = {}
    state_path = Path(args.state) if args.state else None
    if state_path and state_path.exists():
        try:
            state = json.loads(state_path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            _err(f"state file {state_path} is not JSON ({exc}); fix or delete it")
            return 2
    key = f"{args.platform}:{args.account}"
    result = connector.fetch(args.account, state.get(key))
    out = sys.stdout
    for post in result.posts:
        out.write(json.dumps(post.to_dict(), ensure_ascii=False) + "\n")
    out.flush()
    if state_path:
        state[key] = result.cursor
        tmp = state_path.with_suffix(state_path.suffix + ".tmp")
        tmp.write_bytes(canonical_json(state))
        os.replace(tmp, state_path)  # cursor saved only after every post was written out
    print(f"{len(result.posts)} post(s) from {key} in {result.pages} page(s)"
          + (f"; {'; '.join(result.notes)}" if result.notes else ""), file=sys.stderr)
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from socialhub.classify import load_classifier

    clf = load_classifier(args.lexicon, args.thresholds, model_dir=False if args.rules_only else args.model)
    bad = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        results = clf.classify_batch([p["text"] if isinstance(p.get("text"), str) else str(p.get("text") or "")
                                      for p in batch])
        for post, res in zip(batch, results, strict=True):
            d = res.to_dict()
            post.update(scores=d["scores"], labels=d["labels"], reasons=d["reasons"],
                        classifier_version=d["classifier_version"], lexicon_version=d["lexicon_version"],
                        model_version=d["model_version"], components=d["components"])
            if res.error:
                post["error"] = res.error
                _err(f"a post could not be classified ({res.error}); it is written with an `error` field")
            line = json.dumps(post, ensure_ascii=False)
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:      # a lone surrogate in the original: keep it, escaped
                line = json.dumps(post, ensure_ascii=True)
            sys.stdout.write(line + "\n")
        batch.clear()

    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            post = json.loads(line)
            if not isinstance(post, dict) or "text" not in post:
                raise ValueError("each line must be a JSON object with a `text` field")
        except ValueError as exc:
            _err(f"stdin line {n}: {exc}")
            bad += 1
            continue
        batch.append(post)
        if len(batch) >= 1000:
            flush()
    flush()
    return 1 if bad else 0


def _open_store(url: str | None) -> Any:
    from socialhub.config import Settings
    from socialhub.storage import open_store

    return open_store(url or os.environ.get("SOCIALHUB_STORE") or str(Settings.from_env().data_dir / "store"))


def _audit_keys_and_anchor(args: argparse.Namespace) -> tuple[Any, Any]:
    """The keys (from the variable --key-env names) and the anchor (--anchor, else $SOCIALHUB_AUDIT_ANCHOR)."""
    from socialhub.audit.anchor import anchor_from_env, open_anchor
    from socialhub.audit.keys import keys_from_env

    keys = keys_from_env(args.key_env)
    anchor = open_anchor(args.anchor) if args.anchor else anchor_from_env()
    return keys, anchor


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Say which store, refuse a missing or empty one (unless --allow-empty), then re-walk the chain
    against the keys and the anchors, naming every finding."""
    from socialhub.audit.chain import verify_chain
    from socialhub.audit.where import EXIT_NO_STORE, choose_store, open_for_audit

    choice = choose_store(args.store)
    print(choice.describe(), flush=True)
    try:
        keys, anchor = _audit_keys_and_anchor(args)
    except SocialhubError as exc:
        _err(str(exc))
        return EXIT_NO_STORE
    print(f"keys: key id(s) {', '.join(keys.ids)} from ${args.key_env}" if keys else
          f"keys: none (${args.key_env} is not set): the log is checked unkeyed")
    print(f"anchor: {anchor.label if anchor is not None else 'none (give --anchor or $SOCIALHUB_AUDIT_ANCHOR)'}",
          flush=True)
    store, problem = open_for_audit(choice, allow_empty=args.allow_empty)
    if problem:
        _err(problem)
        return EXIT_NO_STORE
    if store is None:
        print(f"audit chain: nothing to check: there is no store at {choice.label} (accepted with --allow-empty; "
              "nothing was created)")
        return 0
    result = verify_chain(store, keys=keys, anchor=anchor, since_checkpoint=args.incremental,
                          trust_unkeyed_checkpoint=args.trust_unkeyed_checkpoint)
    if result.ok and not result.events and not result.segment_events and not result.segments_skipped:
        print("audit chain OK: 0 event(s): this store's audit log is empty (accepted with --allow-empty)")
    else:
        print(result.describe())
    if not result.ok:
        return 1
    if args.checkpoint and result.events:
        from socialhub.audit.checkpoint import write_checkpoint

        try:
            cp = write_checkpoint(store, result, keys, anchor, by=args.by)
        except Exception as exc:  # noqa: BLE001 - the verify passed; say why no checkpoint was written
            _err(f"verified, but no checkpoint was written: {exc}")
            return 1
        print(f"checkpoint: event {cp['seq']} (hash {cp['hash']}) recorded at audit/checkpoints/, "
              + (f"signed with key id {cp['key_id']}" if cp.get("key_id") else
                 "UNSIGNED (no key): usable only with --trust-unkeyed-checkpoint"))
    return 0


def _open_audit_log(args: argparse.Namespace, command: str) -> tuple[Any, Any, Any] | int:
    """Say which store, then open a non-empty audit log with its keys and anchor to write to it:
    ``(store, keys, anchor)``, or the exit code after saying what is wrong (``command``, e.g.
    ``audit anchor``, words it)."""
    from socialhub.audit.where import EXIT_NO_STORE, choose_store, open_for_audit

    choice = choose_store(args.store)
    print(choice.describe(), flush=True)
    try:
        keys, anchor = _audit_keys_and_anchor(args)
    except SocialhubError as exc:
        _err(str(exc))
        return EXIT_NO_STORE
    store, problem = open_for_audit(choice, allow_empty=False, command=command)
    if problem or store is None:
        _err(problem or "no store")
        return EXIT_NO_STORE
    return store, keys, anchor


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    """Verify the chain, then write its head to the anchor (refused if the chain fails verification)."""
    from socialhub.audit.chain import AuditLog, verify_chain
    from socialhub.audit.where import EXIT_NO_STORE

    opened = _open_audit_log(args, "audit anchor")
    if isinstance(opened, int):
        return opened
    store, keys, anchor = opened
    if anchor is None:
        _err("no anchor: give --anchor (s3://BUCKET/PREFIX, a folder or a .jsonl file) or set "
             "$SOCIALHUB_AUDIT_ANCHOR")
        return EXIT_NO_STORE
    result = verify_chain(store, keys=keys, anchor=anchor)
    if not result.ok:
        print(result.describe())
        _err("not anchored: the chain fails verification, and anchoring it would vouch for it")
        return 1
    record = AuditLog(store, keys=keys, anchor=anchor).anchor_now()
    if record is None:  # pragma: no cover - open_for_audit refused an empty log above
        return EXIT_NO_STORE
    print(f"anchored event {record['seq']} (hash {record['hash']}) at {anchor.label}"
          + (f", signed with key id {record['key_id']}" if keys else ", unsigned (no key)"))
    return 0


def cmd_audit_close_segments(args: argparse.Namespace) -> int:
    """Seal the audit segments crashed writers left open past the grace period (housekeeping does it daily)."""
    import getpass
    from datetime import timedelta

    from socialhub.audit.segments import close_stale_segments
    from socialhub.audit.where import EXIT_NO_STORE

    opened = _open_audit_log(args, "audit seal")
    if isinstance(opened, int):
        return opened
    store, keys, anchor = opened
    if args.grace_hours <= 0:
        _err("--grace-hours must be positive: a segment younger than that may still be written by its task")
        return EXIT_NO_STORE
    seals = close_stale_segments(store, keys, anchor, grace=timedelta(hours=args.grace_hours),
                                 actor={"kind": "person", "name": args.by or getpass.getuser(),
                                        "via": "socialhub audit seal"})
    for ev in seals:
        d = ev["details"]
        print(f"sealed segment {d['segment']}: {d['count']} event(s), newest {d['last_time']} (global event "
              f"{ev['seq']})" + (f"; {d['note']}" if d.get("note") else ""))
    print(f"{len(seals)} segment(s) sealed" if seals else
          f"no segment left open for more than {args.grace_hours:g} hour(s)")
    return 0


def _cli_auditor(store: Any, who: str | None) -> Any:
    import getpass

    from socialhub.audit.chain import AuditLog, Auditor

    return Auditor(AuditLog(store), {"kind": "person", "name": who or getpass.getuser(), "via": "socialhub cli"})


def cmd_retention_apply(args: argparse.Namespace) -> int:
    from datetime import datetime

    from socialhub.config import Settings
    from socialhub.retention import apply_retention, current_subjects, load_policy

    store = _open_store(args.store)
    policy = load_policy(args.policy)
    subjects = current_subjects(args.watchlist or Settings.from_env().watchlist)
    summary = apply_retention(store, policy, datetime.now(UTC), auditor=_cli_auditor(store, args.by),
                              dry_run=args.dry_run, subjects=subjects)
    for e in summary["erased"]:
        print(f"{'would erase' if args.dry_run else 'erased'} batch {e['batch_id']}: {e['why']}")
    print(f"{summary['batches_seen']} batch(es) seen; {len(summary['erased'])} "
          f"{'to erase' if args.dry_run else 'erased'} ({summary['erased_objects']} object(s)); "
          f"{summary['held']} under legal hold; {summary['pending_objects']} erasure(s) pending; "
          f"{len(summary['failed'])} failed")
    for pend in summary["pending"]:
        print(f"  {pend['key']}: {pend['status']}")
    for f in summary["failed"]:
        print(f"  failed: {f}", file=sys.stderr)
    from socialhub.retention import prune_budget_runs

    runs = prune_budget_runs(store, datetime.now(UTC), policy.operational.budget_runs_days, dry_run=args.dry_run)
    print(f"rate-budget records of collection runs (state/budget/runs/): {runs['runs_seen']} run(s) seen; "
          f"{len(runs['deleted_runs'])} older than {runs['days']} days {'to delete' if args.dry_run else 'deleted'} "
          f"({runs['deleted_objects']} object(s)); {len(runs['undated'])} without a date (kept); "
          f"{len(runs['failed'])} failed")
    for f in runs["failed"]:
        print(f"  failed: {f}", file=sys.stderr)
    return 1 if summary["failed"] or runs["failed"] else 0


def cmd_hold(args: argparse.Namespace) -> int:
    from datetime import datetime

    from socialhub.retention import add_hold, remove_hold

    store = _open_store(args.store)
    scope, value = ("batch", args.batch) if args.batch else ("account", args.account)
    if not value:
        _err("give --batch BATCH_ID or --account PLATFORM:ACCOUNT")
        return 2
    auditor = _cli_auditor(store, args.by)
    if args.hcommand == "add":
        add_hold(store, scope, value, reason=args.reason, by=auditor.actor["name"], now=datetime.now(UTC),
                 auditor=auditor)
    else:
        remove_hold(store, scope, value, reason=args.reason, by=auditor.actor["name"], auditor=auditor)
    print(f"legal hold {'placed on' if args.hcommand == 'add' else 'lifted from'} {scope} {value}")
    return 0


def cmd_audit_report(args: argparse.Namespace) -> int:
    from socialhub.audit.report import run_report

    return int(run_report(args))


def cmd_eval(args: argparse.Namespace) -> int:
    from socialhub.classify.evaluate import evaluate_from_args

    return evaluate_from_args(args)


def cmd_train(args: argparse.Namespace) -> int:
    from socialhub.classify.dataset import DatasetError
    from socialhub.classify.train import run_train

    if args.write_thresholds and not args.dev:
        _err("--write-thresholds needs --dev")
        return 2
    kwargs = {"out_dir": args.out} if args.out else {}
    try:
        run_train(args.train, feedback=args.feedback, seed=args.seed, dev=args.dev, lexicon_path=args.lexicon,
                  thresholds_path=args.thresholds, write_thresholds_file=args.write_thresholds, real=args.real,
                  max_real_fpr=args.max_real_fpr, **kwargs)
    except (DatasetError, SocialhubError) as exc:
        _err(str(exc))
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from socialhub.demo import demo_inputs, run_demo
    from socialhub.errors import ConfigError

    try:
        inputs = demo_inputs(args.watchlist, args.data)    # checked before Airflow or anything starts
    except ConfigError as exc:
        _err(f"demo: {exc}")
        return 2
    return run_demo(fresh=args.fresh, project_dir=Path(args.project_dir).resolve(), review=not args.no_review,
                    inputs=inputs)


def cmd_replay(args: argparse.Namespace) -> int:
    from socialhub.replay.__main__ import main as replay_main

    argv = ["--port", str(args.port)] + (["--data", args.data] if args.data else [])
    for option, value in (("--latency", args.latency), ("--jitter", args.jitter), ("--seed", args.seed)):
        if value is not None:
            argv += [option, str(value)]
    if args.published_limits:
        argv.append("--published-limits")
    return replay_main(argv) or 0


def _help_of(parser: argparse.ArgumentParser) -> Any:
    """A command that only prints its parser's help (a group called without a subcommand)."""

    def show(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return show


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="socialhub", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Run `socialhub COMMAND --help` for each command's options.")
    p.add_argument("--version", action="version", version=f"socialhub {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="run the whole pipeline locally (Airflow, replay server, outbox)",
                       description="Run the pipeline end to end with Airflow on SQLite, a local folder store and "
                                   "a local replay of the platform APIs; print a summary. State is kept in "
                                   ".demo/, so a second run collects nothing new and alerts nothing twice.")
    d.add_argument("--fresh", action="store_true", help="delete .demo/ first and start from scratch")
    d.add_argument("--no-review", action="store_true",
                   help="skip the officer review (starts Airflow's api-server, scheduler and dag-processor, ~2 min)")
    d.add_argument("--project-dir", default=".", help="the socialhub checkout (default: current directory)")
    d.add_argument("--watchlist", metavar="FILE",
                   help="the watchlist to poll instead of include/watchlist.yaml; it must validate "
                        "(see socialhub watchlist validate)")
    d.add_argument("--data", metavar="DIR",
                   help="replay data to serve instead of the packaged demo data: a folder holding replay.yaml "
                        "(or that YAML file), in the format of include/socialhub/replay/demo_data.yaml; the "
                        "accounts of the watchlist must be in it. With other inputs than the last run, add "
                        "--fresh")
    d.set_defaults(func=cmd_demo)

    w = sub.add_parser("watchlist", help="watchlist tools")
    wsub = w.add_subparsers(dest="wcommand", metavar="SUBCOMMAND")
    wv = wsub.add_parser("validate", help="validate a watchlist file",
                         description="Check a watchlist YAML file against the schema; print one line per bad "
                                     "entry and exit 1 if any, else list lapsed authorisations and exit 0.")
    wv.add_argument("file", nargs="?", help="watchlist file (default: include/watchlist.yaml)")
    wv.set_defaults(func=cmd_watchlist_validate)
    w.set_defaults(func=_help_of(w))

    f = sub.add_parser("fetch", help="print an account's new public posts as JSON Lines",
                       description="Fetch new public posts of one account since the cursor in --state and print "
                                   "them as normalised JSON Lines. Tokens come from SOCIALHUB_<PLATFORM>_TOKEN. "
                                   "A real platform is read only for a watchlist account whose authorisation is "
                                   "in force today (and in the register, when one is in use); a loopback "
                                   "--base-url (the local replay server) is read freely.")
    f.add_argument("platform", help="one of: " + ", ".join(f"{k} ({v})" for k, v in PLATFORM_NAMES.items()))
    f.add_argument("account", help="handle or id, e.g. user@instance.social")
    f.add_argument("--base-url", help="API base URL (default: the platform's public endpoint)")
    f.add_argument("--state", help="JSON file holding cursors; read before and updated after the fetch")
    f.add_argument("--max-pages", type=int, default=10, help="page limit per run (default: 10)")
    f.add_argument("--lookback-days", type=int, default=7, help="first-run look-back in days (default: 7)")
    f.add_argument("--watchlist", help="the watchlist the account must be on (default: $SOCIALHUB_WATCHLIST or "
                                       "include/watchlist.yaml)")
    f.set_defaults(func=cmd_fetch)

    c = sub.add_parser("classify", help="classify JSON Lines posts from stdin",
                       description="Read posts as JSON Lines on stdin (each with at least `text`) and write them "
                                   "back with `scores`, `labels`, `reasons` and `classifier_version`.")
    c.add_argument("--lexicon", help="lexicon YAML (default: the packaged one)")
    c.add_argument("--thresholds", help="thresholds YAML (default: the packaged one)")
    c.add_argument("--model", help="model artifact directory (default: the packaged classify/model/)")
    c.add_argument("--rules-only", action="store_true", help="use the rule classifier alone (no model)")
    c.set_defaults(func=cmd_classify)

    from socialhub.classify.evaluate import DESCRIPTION as EVAL_DESCRIPTION
    from socialhub.classify.evaluate import HELP_EPILOG as EVAL_EPILOG
    from socialhub.classify.evaluate import add_eval_arguments

    e = sub.add_parser("eval", help="evaluate the classifier: labelled file, functional suite, real posts, fairness",
                       description=EVAL_DESCRIPTION, epilog=EVAL_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_eval_arguments(e)
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("train", help="train the classifier's model from labelled JSONL (+ officers' feedback)",
                       description="Train the statistical model (reproducibly) and write model.json + manifest.json. "
                                   "Same as `python -m socialhub.classify.train`; see docs/detection.md.")
    t.add_argument("train", help="labelled JSONL, e.g. data/labelled/train.jsonl")
    t.add_argument("--dev", help="labelled JSONL to choose thresholds on (never the test split)")
    t.add_argument("--feedback", action="append", default=[], metavar="FILE",
                   help="officers' decisions JSONL (repeatable), merged into the training data")
    t.add_argument("--out", help="artifact directory (default: the packaged classify/model/)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    t.add_argument("--lexicon", help="lexicon YAML for the rule features (default: the packaged one)")
    t.add_argument("--thresholds", help="thresholds YAML (default: the packaged one)")
    t.add_argument("--real", metavar="DIR",
                   help="datasets folder holding davidson2017/ (e.g. ../shared/datasets): its calibration part "
                        "adds real everyday tweets as negatives and caps each threshold's false-positive rate")
    t.add_argument("--max-real-fpr", type=float,
                   help="highest share of real everyday tweets a threshold may flag (default: 0.02)")
    t.add_argument("--write-thresholds", action="store_true",
                   help="write the thresholds chosen on --dev into the thresholds file")
    t.set_defaults(func=cmd_train)

    a = sub.add_parser("audit", help="audit trail tools")
    asub = a.add_subparsers(dest="acommand", metavar="SUBCOMMAND")
    av = asub.add_parser("verify", help="re-walk the hash chain of the audit log",
                         description="Re-walk the audit log's hash chain, check each event's MAC with the keys "
                                     "(--key-env) and the head against the anchors (--anchor), and exit 1 naming "
                                     "every finding (gap, broken_prev, bad_hash, truncated, inserted, rewritten, "
                                     "removed, unknown_key, ...); exit 0 if intact (warning when unkeyed or "
                                     "unanchored); exit 2 if the store does not exist or holds no audit events "
                                     "(see --allow-empty). With --checkpoint a clean verify is recorded as a "
                                     "checkpoint, and --incremental then re-walks only the events after the newest "
                                     "valid one. Each task's segment (audit/segments/) is checked on its own and "
                                     "against its seal on the global chain (segment_missing, segment_unsealed; "
                                     "segment_open and segment_closed_late are warnings).")
    av.add_argument("--store", help="store URL or folder: s3://BUCKET/PREFIX (boto3 credentials and "
                                    "AWS_ENDPOINT_URL from the environment) or a path (default: "
                                    "$SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store); the store read is "
                                    "always printed. After `make demo`: --store .demo/data/store")
    av.add_argument("--allow-empty", action="store_true",
                    help="accept a missing store or one with no audit events (exit 0); without it they exit 2, "
                         "so an auditor never certifies a store that holds nothing")
    key_env_help = ("the environment variable holding the audit keys, ID:SECRET,ID:SECRET (first signs, all verify; "
                    "default: SOCIALHUB_AUDIT_KEYS). Never put a key on the command line")
    anchor_help = ("where the chain's head is anchored: s3://BUCKET/PREFIX, a folder or a .jsonl file (default: "
                   "$SOCIALHUB_AUDIT_ANCHOR)")

    def keys_and_anchor(p: Any, *, store: bool = True) -> None:
        """The options every command that opens the audit log takes (verify words its --store its own way)."""
        if store:
            p.add_argument("--store", help="store URL or folder (default: $SOCIALHUB_STORE, else "
                                           "$SOCIALHUB_DATA_DIR/store)")
        p.add_argument("--key-env", default="SOCIALHUB_AUDIT_KEYS", metavar="VAR", help=key_env_help)
        p.add_argument("--anchor", metavar="URL", help=anchor_help)

    keys_and_anchor(av, store=False)
    av.add_argument("--incremental", action="store_true",
                    help="start from the newest valid checkpoint (its MAC verifies with the keys, the anchor holds "
                         "its head, and its event still has its hash) and re-walk only the events after it; with no "
                         "valid checkpoint, or if the events before it changed (checkpoint_mismatch), re-walk the "
                         "whole chain. A full verify (without this) still catches what a key holder did before a "
                         "checkpoint: run one weekly")
    av.add_argument("--checkpoint", action="store_true",
                    help="after a clean verify, record a checkpoint (audit/checkpoints/<seq>.json, write-once, MAC'd "
                         "with the signing key; with an anchor, the head is anchored first) for later --incremental "
                         "runs")
    av.add_argument("--trust-unkeyed-checkpoint", action="store_true",
                    help="with --incremental, also start from a checkpoint without a MAC (or whose MAC cannot be "
                         "checked): anyone who can write the store could have forged it, and the output says so")
    av.add_argument("--by", help="your name, recorded in a --checkpoint (default: the login name)")
    av.set_defaults(func=cmd_audit_verify)
    an = asub.add_parser("anchor", help="record the audit chain's head in the anchor now",
                         description="Verify the audit chain, then write its last event's number and hash (with a "
                                     "MAC when keyed) to the anchor, a place the pipeline can add to but not rewrite. "
                                     "Refused (exit 1) if the chain fails verification; exit 2 with no store, no "
                                     "audit events or no anchor.")
    keys_and_anchor(an)
    an.set_defaults(func=cmd_audit_anchor)
    cs = asub.add_parser("seal", help="seal audit segments left open by crashed tasks",
                         description="Every Airflow task writes its audit events to its own segment and seals it at "
                                     "the end. A task that crashed leaves its segment open; this seals each segment "
                                     "whose newest event is older than --grace-hours (its intact events, marked "
                                     "closed_by housekeeping), as the socialhub_housekeeping DAG does daily. "
                                     "`audit verify` then reports it as segment_closed_late (a warning).")
    keys_and_anchor(cs)
    cs.add_argument("--grace-hours", type=float, default=12.0,
                    help="seal only segments whose newest event is older than this (default: 12)")
    cs.add_argument("--by", help="your name, recorded as the seals' actor (default: the login name)")
    cs.set_defaults(func=cmd_audit_close_segments)
    from socialhub.audit.report import DESCRIPTION as REPORT_DESCRIPTION
    from socialhub.audit.report import add_report_arguments

    ar = asub.add_parser("report", help="write the auditor's report (HTML + one CSV per table) for a period",
                         description=REPORT_DESCRIPTION)
    add_report_arguments(ar)
    ar.set_defaults(func=cmd_audit_report)
    a.set_defaults(func=_help_of(a))

    store_help = "store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store)"
    rt = sub.add_parser("retention", help="apply the retention policy")
    rtsub = rt.add_subparsers(dest="rcommand", metavar="SUBCOMMAND")
    ra = rtsub.add_parser("apply", help="erase batch content past its retention period (never under legal hold)",
                          description="Apply the retention policy (include/socialhub/retention.yaml by default): "
                                      "erase expired batch content, record one audit event per erased object; "
                                      "then delete the rate-budget records of collection runs older than "
                                      "operational.budget_runs_days (state/budget/runs/).")
    ra.add_argument("--policy", help="retention policy YAML")
    ra.add_argument("--watchlist", help="watchlist file giving each account's subject category for rules that name "
                                        "one (default: $SOCIALHUB_WATCHLIST or include/watchlist.yaml)")
    ra.add_argument("--store", help=store_help)
    ra.add_argument("--dry-run", action="store_true", help="list what would be erased, erase nothing")
    ra.add_argument("--by", help="your name for the audit log (default: the login name)")
    ra.set_defaults(func=cmd_retention_apply)
    rt.set_defaults(func=_help_of(rt))

    h = sub.add_parser("hold", help="place or lift a legal hold on a batch or an account")
    hsub = h.add_subparsers(dest="hcommand", metavar="SUBCOMMAND")
    for name, what in (("add", "place a legal hold: retention never erases it"), ("remove", "lift a legal hold")):
        hp = hsub.add_parser(name, help=what, description=what)
        grp = hp.add_mutually_exclusive_group(required=True)
        grp.add_argument("--batch", help="batch id")
        grp.add_argument("--account", help="PLATFORM:ACCOUNT")
        hp.add_argument("--reason", required=True, help="why (recorded in the audit log)")
        hp.add_argument("--by", help="your name (default: the login name)")
        hp.add_argument("--store", help=store_help)
        hp.set_defaults(func=cmd_hold)
    h.set_defaults(func=_help_of(h))

    r = sub.add_parser("replay", help="serve the local replay of the platform APIs",
                       description="Serve the public APIs of all seven platforms for the demo accounts on "
                                   "127.0.0.1 (the same server `socialhub demo` and the tests use).")
    r.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    r.add_argument("--data", help="demo data YAML (default: the packaged demo_data.yaml)")
    r.add_argument("--latency", type=float, metavar="SECONDS",
                   help="delay every answer this many seconds on average, like a real platform's 0.1-0.5 s "
                        "(default: $SOCIALHUB_REPLAY_LATENCY, else 0)")
    r.add_argument("--jitter", type=float, metavar="SECONDS",
                   help="spread each delay uniformly up to this many seconds either side (default 0)")
    r.add_argument("--seed", type=int, help="seed of the drawn delays (reproducible runs)")
    r.add_argument("--published-limits", action="store_true",
                   help="enforce each platform's published rate limit (as `socialhub capacity` lists) with 429s")
    r.set_defaults(func=cmd_replay)
    # commands kept in their own modules (each has ``register(sub)``), added here one line each
    _register("socialhub.classify.versions_cli", sub)
    _register("socialhub.explain.cli", sub)
    _register("socialhub.reclassify.cli", sub)
    _register("socialhub.governance.cli", sub)
    _register("socialhub.governance.schedule", sub)
    _register("socialhub.sources.limits", sub)
    _register("socialhub.review.bundle_cli", sub)
    _register("socialhub.referrals.cli", sub)
    _register("socialhub.sources.health_cli", sub)
    _register("socialhub.media.hashlist_cli", sub)
    _plain_help(p)
    return p


def _register(module: str, sub: Any) -> None:
    """Add the subcommands of ``module`` (its ``register(sub)``); imported when the parser is built."""
    import importlib

    importlib.import_module(module).register(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SocialhubError as exc:
        _err(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
