"""``socialhub bundle fetch ALERT_ID``: copy a referral package out of the store, audited.

Until this command, the only way to get a referral package (``referrals/<alert_id>/``, written
when an officer chooses "Refer to platform"; see ``bundle.py``) was to read the store directly
(the location posted in the alert's thread), which leaves no record of who took it or why.
This command is the recorded way: it reads the package's manifest, checks every file against
the SHA-256 and size the manifest lists (an altered package is refused and nothing is written),
records an ``export`` audit event (who, which package, why, each file's SHA-256) and only then
writes the files to ``--out DIR/<alert_id>/``. It never builds or changes a package.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socialhub.models import sha256_hex

DESCRIPTION = """\
Copy the referral package of ALERT_ID (made when an officer chose "Refer to platform") out of
the store into --out DIR/ALERT_ID/: raw_item.json, post.json, classification.json, review.json,
report.html and manifest.json. Every file is checked against the SHA-256 and size in the
package's manifest first; an altered package is refused and nothing is written.

Taking a package is a disclosure, so it is recorded in the audit log before any file is written:
an `export` event naming who (--by, else $SOCIALHUB_ACTOR, else the login name), which package,
why (--why, else $SOCIALHUB_WHY) and each file's SHA-256. Without a reason the export is
recorded as made without one and the auditor's report flags it; with $SOCIALHUB_REQUIRE_WHY on
it is refused."""

EPILOG = """\
examples:
  socialhub bundle fetch 3f05c8b4421c87169be16d77 --out /tmp/referral --why "trusted-flagger submission, case 2026-114"
  socialhub bundle fetch 3f05c8b4421c87169be16d77 --out . --by "PC Jones" --why "..." --store .demo/data/store

exit status: 0 package written; 2 bad alert id, no store, no package for that alert, or no
reason while $SOCIALHUB_REQUIRE_WHY is on; 1 the package fails its hash check or the export could
not be recorded (nothing is written)."""

_ALERT_ID = re.compile(r"[0-9a-f]{24}")


class BundleError(Exception):
    """A package that cannot be fetched; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Fetched:
    folder: Path
    files: list[tuple[str, str, int]]     # (name, sha256, size)
    event: dict[str, Any]


def read_verified(store: Any, alert_id: str) -> tuple[Any, dict[str, bytes]]:
    """The package and its files' bytes (manifest.json included), each checked against the manifest."""
    from socialhub.review.bundle import existing_bundle

    bundle = existing_bundle(store, alert_id)
    if bundle is None:
        raise BundleError(f"there is no referral package for alert {alert_id} in this store: a package is made only "
                          "when an officer chooses 'Refer to platform' (socialhub explain ALERT_ID shows the review)",
                          2)
    out: dict[str, bytes] = {}
    for f in bundle.files:
        name = str(f.get("name") or "")
        if not name or "/" in name or name.startswith("."):
            raise BundleError(f"alert {alert_id}: the package manifest lists a file with an unsafe name {name!r}")
        data = store.get_or_none(str(f.get("key")))
        if data is None:
            raise BundleError(f"alert {alert_id}: {f.get('key')} is missing from the package (erased under the "
                              "retention policy? see the audit log); nothing was written")
        if sha256_hex(data) != f.get("sha256") or (f.get("size") is not None and len(data) != int(f["size"])):
            raise BundleError(f"alert {alert_id}: {name} does not match the SHA-256 in the package manifest: the "
                              "package was altered; nothing was written")
        out[name] = data
    out["manifest.json"] = store.get(bundle.manifest_key)
    return bundle, out


def fetch_bundle(store: Any, alert_id: str, out_dir: str | Path, *, who: Any) -> Fetched:
    """Check, record (an ``export`` event), then write the package to ``out_dir/<alert_id>/``."""
    from socialhub.audit.chain import AuditLog

    alert_id = alert_id.strip().lower()
    if not _ALERT_ID.fullmatch(alert_id):
        raise BundleError(f"{alert_id!r} is not an alert id (24 hex digits)", 2)
    bundle, files = read_verified(store, alert_id)
    m = bundle.manifest
    hashes = {name: sha256_hex(data) for name, data in files.items()}
    try:
        event = AuditLog(store).append(
            "export", actor=who.actor, obj=f"referral-bundle:{alert_id}", force=m.get("force"),
            justification=who.why, hashes=hashes,
            details={"kind": "referral bundle", "alert_id": alert_id, "post": m.get("post_key"),
                     "package": bundle.prefix, "files": sorted(files), "verified": True, **who.details})
    except Exception as exc:  # noqa: BLE001 - no unrecorded disclosure
        raise BundleError(f"the export could not be recorded in the audit log ({type(exc).__name__}: {exc}), so "
                          "nothing was written") from exc
    folder = Path(out_dir) / alert_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return Fetched(folder, [(n, hashes[n], len(d)) for n, d in files.items()], event)


def cmd_bundle_fetch(args: argparse.Namespace) -> int:
    from socialhub.audit.consult import ReasonRequired, from_cli, warn_if_no_reason
    from socialhub.audit.where import choose_store
    from socialhub.storage import open_store

    try:
        who = from_cli(args.by, args.why, "socialhub bundle fetch")
    except ReasonRequired as exc:
        _err(str(exc))
        return 2
    choice = choose_store(args.store)
    if choice.local is not None and not choice.local.is_dir():
        _err(f"there is no store at {choice.label} ({choice.origin}); give the store the pipeline writes with --store "
             "(after `make demo`: --store .demo/data/store)")
        return 2
    try:
        got = fetch_bundle(open_store(choice.url), args.alert_id, args.out, who=who)
    except BundleError as exc:
        _err(str(exc))
        return exc.code
    print(f"referral package of alert {args.alert_id.strip().lower()} written to {got.folder} "
          f"(recorded as audit event {got.event['seq']}):")
    for name, sha, size in got.files:
        print(f"  {name}  {size} B  sha256 {sha}")
    warn_if_no_reason(who)
    return 0


def _err(msg: str) -> None:
    print(f"socialhub: error: {msg}", file=sys.stderr)


def register(sub: Any) -> None:
    """Add ``bundle fetch`` to the ``socialhub`` subcommands."""
    raw = argparse.RawDescriptionHelpFormatter
    b = sub.add_parser("bundle", help="referral packages: fetch one out of the store (audited)",
                       description="Referral packages (made when an officer chooses 'Refer to platform').",
                       formatter_class=raw)
    bsub = b.add_subparsers(dest="bcommand", metavar="SUBCOMMAND")
    f = bsub.add_parser("fetch", help="copy a referral package into a folder, hash-checked (recorded: who, why)",
                        description=DESCRIPTION, epilog=EPILOG, formatter_class=raw)
    f.add_argument("alert_id", metavar="ALERT_ID", help="the alert whose package to fetch (24 hex digits)")
    f.add_argument("--out", required=True, metavar="DIR", help="folder to write ALERT_ID/ into")
    f.add_argument("--store", metavar="URL|DIR",
                   help="store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store)")
    f.add_argument("--by", metavar="NAME", help="your name for the audit log (default: $SOCIALHUB_ACTOR, else the "
                                                "login name)")
    f.add_argument("--why", metavar="TEXT", help="why you are taking the package: where it goes and the case or "
                                                 "request reference (recorded; default: $SOCIALHUB_WHY)")
    f.set_defaults(func=cmd_bundle_fetch)
    from socialhub.cli import _help_of

    b.set_defaults(func=_help_of(b))


__all__ = ["register", "fetch_bundle", "read_verified", "BundleError", "Fetched", "cmd_bundle_fetch"]
