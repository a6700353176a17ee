"""``socialhub classifier list|show|register|promote|history``: classifier versions as records.

See ``socialhub.classify.versions`` for what a version is and where it is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from socialhub.errors import ConfigError

STORE_HELP = ("store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store; "
              "after `make demo`: .demo/data/store)")


def _store(args: argparse.Namespace) -> Any:
    from socialhub.cli import _open_store

    return _open_store(args.store)


def _auditor(store: Any, who: str | None) -> Any:
    from socialhub.cli import _cli_auditor

    return _cli_auditor(store, who)


def cmd_list(args: argparse.Namespace) -> int:
    from socialhub.classify import versions

    store = _store(args)
    recs = versions.list_versions(store)
    live = versions.live_id(store)
    if not recs:
        print("no classifier version is recorded in this store yet: processing records the one it runs, "
              "or run `socialhub classifier register`")
        return 0
    print(f"{'':2}{'id':<28} {'recorded':<21} {'classifier':<40} thresholds")
    for r in recs:
        mark = "* " if r.id == live else "  "
        thr = " ".join(f"{c.split('_')[0]}={t:g}" for c, t in r.thresholds.items())
        print(f"{mark}{r.id:<28} {r.created_at[:19]:<21} {r.classifier_version:<40} {thr}"
              f"{'' if r.code_matches else '  [other code]'}")
    print("\n* live (promoted)" if live else "\nlive: the packaged classifier (none promoted); "
          f"this code's packaged version is recorded as {_packaged_id(store, recs)}")
    return 0


def _packaged_id(store: Any, recs: list[Any]) -> str:
    from socialhub.classify import versions

    vid, _files, _clf = versions._describe_spec(versions.ClassifierSpec.packaged())
    return vid if any(r.id == vid for r in recs) else f"{vid} (not yet recorded)"


def cmd_show(args: argparse.Namespace) -> int:
    from socialhub.classify import versions

    store = _store(args)
    rec = versions.find(store, args.version)
    if rec is None:
        raise ConfigError(f"no classifier version {args.version!r} is recorded in this store",
                          hint="list them with `socialhub classifier list`")
    out = rec.to_dict() | {"live": versions.live_id(store) == rec.id, "code_matches": rec.code_matches,
                           "promotions": [p for p in versions.promotions(store) if p["id"] == rec.id]}
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    from socialhub.classify import versions

    store = _store(args)
    rec, _clf = versions.resolve(store, args.classifier, lexicon=args.lexicon, thresholds=args.thresholds,
                                 auditor=_auditor(store, args.by))
    print(f"recorded: {rec.describe()}")
    return 0


def _evaluation(path: str | None) -> dict[str, Any]:
    """The figures of ``socialhub eval --json OUT`` to attach: the file's SHA-256 and its top-level
    numbers (the whole file is stored beside the promotion)."""
    if not path:
        return {}
    p = Path(path)
    try:
        data = p.read_bytes()
        figures = json.loads(data)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--evaluation {path}: {exc}",
                          hint="give the JSON that `socialhub eval ... --json OUT` wrote") from None

    def numbers(obj: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if isinstance(obj, dict) and depth < 3:
            for k, v in obj.items():
                name = f"{prefix}.{k}" if prefix else str(k)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out[name] = v
                elif isinstance(v, dict):
                    out |= numbers(v, name, depth + 1)
        return out

    headline = dict(list(numbers(figures).items())[:40])
    return {"file": p.name, "sha256": hashlib.sha256(data).hexdigest(), "figures": headline, "_raw": data}


def _latest_shadow(store: Any, version_id: str) -> dict[str, Any]:
    """The newest stored ``socialhub shadow report`` summary for this version (``reports/shadow/``)."""
    from socialhub.storage.base import key_segment

    best: dict[str, Any] = {}
    for key in store.list(f"reports/shadow/{key_segment(version_id)}-"):
        try:
            rep = json.loads(store.get(key))
        except ValueError:
            continue
        if (str(rep.get("written_at", "")), key) >= (str(best.get("written_at", "")), best.get("key", "")):
            best = rep | {"key": key}
    return best


def cmd_promote(args: argparse.Namespace) -> int:
    from socialhub.classify import versions

    store = _store(args)
    rec = versions.find(store, args.version)
    if rec is None:
        raise ConfigError(f"no classifier version {args.version!r} is recorded in this store",
                          hint="record it first: `socialhub classifier register PATH` (or run it as the "
                               "shadow), then promote its id")
    evaluation = _evaluation(args.evaluation)
    shadow = _latest_shadow(store, rec.id)
    if not shadow and not args.without_shadow:
        raise ConfigError(f"no shadow report is stored for {rec.id}",
                          hint="run it as SOCIALHUB_SHADOW_CLASSIFIER for a while and write "
                               "`socialhub shadow report`, or pass --without-shadow to promote it untried "
                               "(recorded as such)")
    if not evaluation and not args.without_evaluation:
        raise ConfigError("no evaluation attached",
                          hint="run `socialhub eval ... --json eval.json` with this version's files and pass "
                               "--evaluation eval.json, or pass --without-evaluation (recorded as such)")
    if not rec.code_matches:
        print(f"note: {rec.code_note()}")
    raw = evaluation.pop("_raw", None)
    if raw is not None:
        from socialhub.storage.base import key_segment

        obj = store.put(f"{versions.PREFIX}evaluations/{key_segment(rec.id)}-{evaluation['sha256'][:12]}.json",
                        raw, content_type="application/json")
        evaluation["key"] = obj.key
    promotion = versions.promote(store, rec.id, by=args.by or _login(), why=args.why,
                                 evaluation=evaluation or {"attached": False},
                                 shadow=shadow or {"attached": False}, auditor=_auditor(store, args.by))
    print(f"live classifier: {rec.describe()}")
    print(f"  promoted by {promotion['by']} at {promotion['promoted_at']} (previous: {promotion['previous']})")
    print(f"  why: {promotion['why']}")
    print(f"  evaluation: {evaluation.get('file', 'none attached')}; shadow report: "
          f"{shadow.get('key', 'none attached')}")
    print("Processing uses it from its next batch; `socialhub classifier history` lists every promotion.")
    return 0


def _login() -> str:
    import getpass

    return getpass.getuser()


def cmd_history(args: argparse.Namespace) -> int:
    from socialhub.classify import versions

    store = _store(args)
    rows = versions.promotions(store)
    if not rows:
        print("no promotion recorded: the packaged classifier has always been live")
        return 0
    for p in rows:
        print(f"{p['promoted_at']}  {p['id']}  by {p['by']}  (previous {p['previous']})\n    why: {p['why']}")
    return 0


def register(sub: Any) -> None:
    c = sub.add_parser("classifier", help="classifier versions: list, show, record, promote to live",
                       description="Classifier versions (lexicon, thresholds, model, with SHA-256 and the code "
                                   "fingerprint) are records in the store. Processing records the version it runs; "
                                   "promoting another to live is an audited event naming who, why, and the "
                                   "evaluation and shadow figures.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n"
                              "  socialhub classifier list --store .demo/data/store\n"
                              "  socialhub classifier register ./candidate   # a folder with thresholds.yaml ...\n"
                              "  socialhub classifier promote 4.22.0-abc123 --by 'PS Jones' "
                              "--why 'fewer false alarms on drill lyrics' --evaluation eval.json")
    csub = c.add_subparsers(dest="ccommand", metavar="SUBCOMMAND")
    ls = csub.add_parser("list", help="every recorded version; * marks the live one",
                         description="List the classifier versions recorded in the store, oldest first.")
    ls.add_argument("--store", help=STORE_HELP)
    ls.set_defaults(func=cmd_list)
    sh = csub.add_parser("show", help="one version's record as JSON (files, hashes, promotions)",
                         description="Print one recorded version (id, unique id prefix or classifier_version).")
    sh.add_argument("version", help="version id, a unique prefix of one, or its classifier_version string")
    sh.add_argument("--store", help=STORE_HELP)
    sh.set_defaults(func=cmd_show)
    rg = csub.add_parser("register", help="record a classifier (a folder, YAML file, 'packaged') in the store",
                         description="Record a classifier version in the store without making it live: its files "
                                     "are copied with their SHA-256. Then run it as the shadow "
                                     "(SOCIALHUB_SHADOW_CLASSIFIER) or compare it with `socialhub reclassify`.")
    rg.add_argument("classifier", nargs="?", default="packaged",
                    help="'packaged' (default), a folder holding lexicon.yaml / thresholds.yaml / model/ (missing "
                         "ones are the packaged files), or one YAML file")
    rg.add_argument("--lexicon", help="lexicon YAML to use instead")
    rg.add_argument("--thresholds", help="thresholds YAML to use instead")
    rg.add_argument("--by", help="your name for the audit log (default: the login name)")
    rg.add_argument("--store", help=STORE_HELP)
    rg.set_defaults(func=cmd_register)
    pr = csub.add_parser("promote", help="make a recorded version live (audited: who, why, figures)",
                         description="Make a recorded version the one processing uses. Needs who and why, the "
                                     "evaluation figures (`socialhub eval ... --json FILE`) and a stored shadow "
                                     "report for the version (`socialhub shadow report`), or an explicit "
                                     "--without-evaluation / --without-shadow, which the record keeps.")
    pr.add_argument("version", help="recorded version id (or a unique prefix)")
    pr.add_argument("--by", help="your name (default: the login name)")
    pr.add_argument("--why", required=True, help="why this version goes live (kept in the audit log)")
    pr.add_argument("--evaluation", metavar="FILE", help="the JSON of `socialhub eval ... --json FILE` for it")
    pr.add_argument("--without-evaluation", action="store_true", help="promote with no evaluation attached")
    pr.add_argument("--without-shadow", action="store_true", help="promote with no shadow report stored")
    pr.add_argument("--store", help=STORE_HELP)
    pr.set_defaults(func=cmd_promote)
    hi = csub.add_parser("history", help="every promotion, oldest first",
                         description="List every promotion: when, which version, by whom, why.")
    hi.add_argument("--store", help=STORE_HELP)
    hi.set_defaults(func=cmd_history)
    from socialhub.cli import _help_of

    c.set_defaults(func=_help_of(c))
