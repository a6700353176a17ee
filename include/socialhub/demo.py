"""``socialhub demo``: the whole pipeline on one laptop, run by Airflow itself.

Embedded defaults: Airflow on SQLite in ``.demo/airflow``, the local-folder store in
``.demo/data/store``, a local replay of the platforms' public APIs on 127.0.0.1, and
alerts to ``.demo/data/outbox`` unless a Slack connection (``AIRFLOW_CONN_SOCIALHUB_SLACK``)
is configured. State is kept between runs, so running it again collects nothing new and
alerts nothing twice; ``--fresh`` starts over.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def airflow_env(project: Path, home: Path, data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every Airflow command of the demo (and the tests) runs with."""
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(project / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        or f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
        "SOCIALHUB_DATA_DIR": str(data_dir),
        # one machine: a missing storage/Slack connection means the local store/outbox (production: never)
        "SOCIALHUB_LOCAL_DEFAULTS": env.get("SOCIALHUB_LOCAL_DEFAULTS") or "1",
        # `airflow dags test` in Airflow 3.3.2 crashes on a DAG with deadline alerts (socialhub.dag_defaults)
        "SOCIALHUB_DEADLINE_ALERTS": env.get("SOCIALHUB_DEADLINE_ALERTS") or "0",
        "SOCIALHUB_WATCHLIST": env.get("SOCIALHUB_WATCHLIST") or str(project / "include" / "watchlist.yaml"),
        "GX_ANALYTICS_ENABLED": "False",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": os.pathsep.join([str(project / "include"), str(project / "plugins"),
                                       env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })
    env.update(extra or {})
    return env


def _airflow_bin() -> str:
    cand = Path(sys.executable).with_name("airflow")
    return str(cand) if cand.exists() else "airflow"


#: Python warnings every ``airflow`` command of the demo printed that say nothing about socialhub: an
#: optional graphviz import of ``airflow dags test``, Airflow's own use of a deprecated module of its own,
#: and a deprecation inside FastAPI's test client. PYTHONWARNINGS syntax (action:message-start:category).
ROUTINE_WARNINGS = (
    "ignore:Could not import graphviz:UserWarning",
    "ignore:The airflow.security.permissions module is deprecated:UserWarning",
    "ignore:Using `httpx` with `starlette.testclient` is deprecated",
)

#: A line of the task SDK's API client logged when a task iterates the results of a mapped task: Airflow's
#: lazy sequence reads item after item until the API says 404 for the one after the last (offset = count),
#: and logs that 404 as an error. It is the end of a loop, not a missing result: a task that indexes past
#: the end gets an IndexError, which fails the task and is logged as such. Only this form is left out.
_XCOM_END_OF_SEQUENCE = re.compile(
    r"\[error\s*\] XCom not found\s.*\[airflow\.sdk\.api\.client\].*\boffset=\d+.*\bstatus_code=404\b")


def quiet_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the routine warnings of ``ROUTINE_WARNINGS`` ignored (added to any PYTHONWARNINGS)."""
    mine = ",".join(ROUTINE_WARNINGS)
    return {**env, "PYTHONWARNINGS": f"{env['PYTHONWARNINGS']},{mine}" if env.get("PYTHONWARNINGS") else mine}


def routine_line(line: str) -> bool:
    """True for a log line that is routine noise (see ``_XCOM_END_OF_SEQUENCE``), never for anything else."""
    return bool(_XCOM_END_OF_SEQUENCE.search(line))


def run_airflow(args: list[str], env: dict[str, str], log_file: Path) -> subprocess.CompletedProcess[str]:
    """``airflow ARGS`` with its output appended to ``log_file``, less the routine lines (``routine_line``),
    whose number is written after the command's output."""
    left_out = 0
    with log_file.open("a", encoding="utf-8") as log:
        log.write(f"\n$ airflow {' '.join(args)}\n")
        log.flush()
        with subprocess.Popen([_airflow_bin(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace") as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                if routine_line(line):
                    left_out += 1
                else:
                    log.write(line)
        if left_out:
            log.write(f"[socialhub demo] {left_out} routine 'XCom not found' line(s) left out: the end of reading "
                      "a mapped task's results (Airflow reads one item past the last)\n")
    return subprocess.CompletedProcess([_airflow_bin(), *args], proc.returncode)


def init_airflow(home: Path, env: dict[str, str], log_file: Path) -> None:
    """Create the metadata database and the pools (once)."""
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".socialhub-initialised"
    if marker.exists():
        return
    if run_airflow(["db", "migrate"], env, log_file).returncode:
        raise RuntimeError(f"`airflow db migrate` failed: see {log_file}")
    pools = {f"socialhub_{p}": {"slots": 2, "description": f"{p} API calls (rate limits)", "include_deferred": False}
             for p in ("mastodon", "bluesky", "youtube", "x", "reddit", "telegram", "rss")}
    pools["socialhub_process"] = {"slots": 2, "description": "validation and classification", "include_deferred": False}
    pools["socialhub_alerts"] = {"slots": 1, "description": "Slack delivery (one at a time)", "include_deferred": False}
    pools_file = home / "pools.json"
    pools_file.write_text(json.dumps(pools, indent=2))
    if run_airflow(["pools", "import", str(pools_file)], env, log_file).returncode:
        raise RuntimeError(f"`airflow pools import` failed: see {log_file}")
    marker.write_text("ok\n")


def latest_report(store: Any, kind: str, after: str, before: str | None = None) -> dict[str, Any] | None:
    """The newest run report of ``kind`` finished from ``after`` (to ``before``: the follow-up stage's
    runs are dated two hours ahead, and must not pass for a later demo run's own)."""
    best = None
    for key in store.list(f"reports/{kind}/"):
        rep = json.loads(store.get(key))
        at = rep.get("finished_at", "")
        if at >= after and (before is None or at <= before) and (best is None or at > best["finished_at"]):
            best = rep
    return best


def format_summary(collect: dict[str, Any] | None, process: dict[str, Any] | None, store_root: Path,
                   outbox: Path, slack: bool) -> str:
    lines = ["", "socialhub demo: what happened", "=" * 30]
    if collect:
        lines.append(f"accounts polled:        {collect['accounts_polled']} "
                     f"({collect['accounts_ok']} ok, {len(collect['accounts_failed'])} failed)")
        for f in collect["accounts_failed"]:
            lines.append(f"  failed: {f}")
        from socialhub.collect import lapse_reason
        from socialhub.subjects import name, rank

        # one subject category after another (a victim's account never listed among suspects)
        for lapse in sorted(collect["accounts_lapsed"], key=lambda x: rank(x.get("subject"))):
            lines.append(f"  not collected:        {lapse['key']} [{name(lapse.get('subject'))}]: {lapse_reason(lapse)}")
        lines.append(f"posts collected:        {collect['posts_collected']} in {len(collect['batches'])} batch(es)")
        media = collect.get("media") or {}
        if media:
            lines.append(f"media captured:         {media.get('captured', 0)} item(s), {media.get('bytes', 0):,} bytes; "
                         f"{media.get('failed', 0) + media.get('deferred', 0)} to retry, {media.get('gave_up', 0)} "
                         f"given up; text read in {media.get('ocr_texts', 0)} image(s)")
    else:
        lines.append("collection: no report found (see the log)")
    if process:
        lines.append(f"posts checked:          {process['posts']} ({process['valid']} valid)")
        lines.append(f"rejected by quality:    {process['quarantined']} (quarantined with reasons)")
        cats = ", ".join(f"{c} {n}" for c, n in process["flagged_by_category"].items()) or "none"
        lines.append(f"posts flagged:          {process['flagged']} ({cats})")
        al = process.get("alerts") or {}
        lines.append(f"alerts delivered:       {al.get('delivered', 0)} new, "
                     f"{al.get('already_alerted', 0)} already alerted before (not sent again)")
        where = sorted({f"{d['sink']}:{d['channel']}" for d in al.get("deliveries", [])})
        if where:
            lines.append(f"  delivered to:         {', '.join(where)}")
        lines.append(f"  alert destination:    {'Slack (connection socialhub_slack)' if slack else outbox}")
        ids = process.get("classifier_ids") or []
        if ids:
            lines.append(f"classifier (live):      {', '.join(ids)}")
        for vid, sh in (process.get("shadow") or {}).items():
            cats = ", ".join(f"{c} {n}" for c, n in sh["flagged_by_category"].items()) or "none"
            lines.append(f"classifier (shadow):    {vid}: {sh['posts']} posts, would have flagged {sh['flagged']} "
                         f"({cats}); never alerted" + (f"; failed on {sh['failed_batches']} batch(es)"
                                                      if sh["failed_batches"] else ""))
    else:
        lines.append("processing: no report found (see the log)")
    lines.append(f"stored outputs:         {store_root}")
    for sub in ("raw", "posts", "curated", "quarantine", "flagged"):
        lines.append(f"  {sub + '/':<12}          {store_root / sub}")
    return "\n".join(lines)


def with_review_outcomes(review_text: str, events: list[dict[str, Any]]) -> str:
    """``review_text`` (``format_review_summary`` without events) with the figures of ``review_outcomes``
    after its "review run:" line. Kept for callers that format the two parts apart; the demo passes its
    events to ``format_review_summary`` itself."""
    from socialhub.audit.outcomes import review_outcomes

    lines = review_text.split("\n")
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("review run:")), len(lines))
    lines[at:at] = review_outcomes(events).lines()
    return "\n".join(lines)


def socialhub_command() -> str:
    """How to run this very ``socialhub`` (the venv's script when the demo runs from the venv)."""
    cand = Path(sys.executable).with_name("socialhub")
    return str(cand) if cand.exists() else "socialhub"


def demo_audit_protection(base: Path) -> dict[str, str]:
    """The demo's audit-log key and anchor (docs/auditors.md): a random key made once per ``.demo/``
    and kept in ``.demo/audit-key`` (mode 0600; never printed), and an append-only anchor file
    ``.demo/audit-anchors.jsonl`` written on every event. Production keeps its key in the
    ``socialhub_audit_key`` connection and anchors to a bucket under Object Lock."""
    import secrets

    key_file = base / "audit-key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(f"demo:{secrets.token_hex(32)}", encoding="utf-8")
    return {"SOCIALHUB_AUDIT_KEYS": key_file.read_text(encoding="utf-8").strip(),
            "SOCIALHUB_AUDIT_ANCHOR": str(base / "audit-anchors.jsonl"),
            "SOCIALHUB_AUDIT_ANCHOR_EVERY": "1"}


def audit_hint(store_root: Path, first_day: str, last_day: str) -> str:
    """The exact commands that point the audit tools at the demo's store (not the default store).
    The days are wall-clock UTC days: audit events carry the wall-clock time, whatever SOCIALHUB_NOW says."""
    from shlex import quote

    cmd, root = quote(socialhub_command()), quote(str(store_root))
    base = store_root.parent.parent
    keyed = (f'SOCIALHUB_AUDIT_KEYS="$(cat {quote(str(base / "audit-key"))})" '
             if (base / "audit-key").exists() else "")
    if (base / "audit-anchors.jsonl").exists():
        keyed += f"SOCIALHUB_AUDIT_ANCHOR={quote(str(base / 'audit-anchors.jsonl'))} "
    return (f"check the audit log:    {keyed}{cmd} audit verify --store {root}\n"
            f"auditor's report:       {keyed}{cmd} audit report --store {root} --from {first_day} --to {last_day} "
            f"--out {quote(str(store_root.parent.parent / 'audit-report'))} --why {quote('demo: reading the audit report')}")


#: what ``--data DIR`` may hold as the replay data, first found wins
DATA_FILES = ("replay.yaml", "replay.yml", "replay.json", "demo_data.yaml")


@dataclass(frozen=True)
class DemoInputs:
    """The watchlist and replay data a demo run uses (``None``: the packaged ones)."""

    watchlist: Path | None = None
    data: Path | None = None
    notes: tuple[str, ...] = ()


def demo_inputs(watchlist: str | Path | None = None, data: str | Path | None = None) -> DemoInputs:
    """Check ``socialhub demo --watchlist FILE --data DIR`` before anything starts.

    The watchlist must validate (every problem is listed, as ``socialhub watchlist validate`` does);
    ``data`` is a folder holding one of ``DATA_FILES`` (or that file itself), replay data for the
    platforms' public APIs in the format of ``include/socialhub/replay/demo_data.yaml``. A platform
    of the watchlist that the replay data does not serve is a note, not an error (its accounts fail,
    as a platform that is down would). Raises ``ConfigError`` with what to fix.
    """
    from socialhub.errors import ConfigError

    notes: list[str] = []
    wl_path = data_path = None
    wl = None
    if watchlist is not None:
        wl_path = Path(watchlist).expanduser().resolve()
        if not wl_path.is_file():
            raise ConfigError(f"--watchlist {watchlist}: no such file",
                              hint="give a watchlist YAML file, e.g. a copy of include/watchlist.yaml")
        from socialhub.watchlist import load_watchlist

        wl = load_watchlist(wl_path)      # WatchlistError lists every bad entry
        if not wl.accounts:
            raise ConfigError(f"--watchlist {watchlist}: no accounts", hint="add at least one account to watch")
    if data is not None:
        given = Path(data).expanduser().resolve()
        if given.is_dir():
            found = next((given / n for n in DATA_FILES if (given / n).is_file()), None)
            if found is None:
                raise ConfigError(f"--data {data}: the folder holds none of {', '.join(DATA_FILES)}",
                                  hint="put the replay data in DIR/replay.yaml (the format of "
                                       "include/socialhub/replay/demo_data.yaml)")
            data_path = found
        elif given.is_file():
            data_path = given
        else:
            raise ConfigError(f"--data {data}: no such folder or file",
                              hint="give a folder holding replay.yaml")
        from socialhub.replay.server import load_data

        try:
            spec = load_data(data_path)
        except ValueError as exc:
            raise ConfigError(f"--data {data}: {exc}", hint="see include/socialhub/replay/demo_data.yaml "
                                                           "for the format") from None
        if not spec:
            raise ConfigError(f"--data {data}: {data_path.name} serves no platform",
                              hint="add a section per platform (mastodon:, bluesky:, ...)")
        if wl is None and watchlist is None:
            notes.append("--data without --watchlist: the packaged watchlist's accounts are polled; "
                         "accounts your data does not serve will fail")
        platforms = set(spec)
        if wl is not None:
            missing = sorted({a.platform for a in wl.accounts} - platforms)
            if missing:
                notes.append(f"the replay data serves no {', '.join(missing)}: those watchlist accounts will fail")
    return DemoInputs(watchlist=wl_path, data=data_path, notes=tuple(notes))


def _inputs_changed(base: Path, inputs: DemoInputs) -> bool:
    """True if the last run of this .demo/ used other inputs (its state then mixes both); records these."""
    record = base / "inputs.json"
    now = {"watchlist": str(inputs.watchlist or ""), "data": str(inputs.data or "")}
    try:
        before = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = None
    record.write_text(json.dumps(now), encoding="utf-8")
    return before is not None and before != now


def _replay_clock(base: Path) -> Any:
    """A clock for the replay server that starts where the first demo run started.

    The replay derives post ids and times from its start time; pinning that to the first
    run keeps every demo post's id stable, so later runs see the same posts (and nothing new).
    """
    from datetime import datetime

    epoch_file = base / "replay-epoch"
    if epoch_file.exists():
        epoch = datetime.fromisoformat(epoch_file.read_text().strip())
    else:
        from socialhub.clock import now

        epoch = now(demo=True).replace(microsecond=0)   # SOCIALHUB_NOW (e.g. +365d) runs the demo on another day
        epoch_file.write_text(epoch.isoformat())
    started = time.monotonic()
    # whole seconds: the first calls (which fix every demo post's id) return exactly the epoch
    return lambda: epoch + __import__("datetime").timedelta(seconds=int(time.monotonic() - started))


#: the demo's shadow candidate: these thresholds instead of the packaged ones (a trial meant to catch
#: more possible threats and fewer drug false alarms, the kind of change tried in shadow first; on the
#: demo data it catches no new post and drops one drug advert, which the shadow report shows)
TRIAL_THRESHOLDS: dict[str, float] = {"violence_threat": 0.10, "drug_supply": 0.90}


def demo_candidate(base: Path) -> Path:
    """The demo's shadow candidate: a folder holding the packaged thresholds file with
    ``TRIAL_THRESHOLDS`` in place and the version ``<packaged>-trial``. Written afresh each run,
    so it follows the packaged file."""
    import re

    from socialhub.classify.lexicon import DEFAULT_THRESHOLDS_PATH, load_thresholds

    packaged = load_thresholds(DEFAULT_THRESHOLDS_PATH)
    text = DEFAULT_THRESHOLDS_PATH.read_text(encoding="utf-8")
    head, sep, rest = text.partition("\nthresholds:\n")
    for cat, value in TRIAL_THRESHOLDS.items():
        rest = re.sub(rf"(?m)^(  {cat}: )[0-9.]+$", rf"\g<1>{value}", rest, count=1)
    head = re.sub(r'(?m)^version: "([^"]+)"$', r'version: "\1-trial"', head, count=1)
    current: dict[str, float] = {str(c): float(t) for c, t in packaged.thresholds.items()}
    changes = ", ".join(f"{c} {current[c]:g} -> {v:g}" for c, v in TRIAL_THRESHOLDS.items())
    folder = base / "candidate"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "thresholds.yaml").write_text(
        f"# socialhub demo: the shadow candidate ({changes}); written by `socialhub demo`\n" + head + sep + rest,
        encoding="utf-8")
    return folder


def explain_targets(store: Any) -> tuple[str | None, str | None]:
    """Two posts to explain at the end of the demo: an alerted one (a referred one if an officer
    referred any, so the review and referral show too) and the not-alerted post that came closest
    to a threshold (the verdict then says by how much it stayed below)."""
    from socialhub.alerts.model import alert_id_for, is_alert_id
    from socialhub.models import from_jsonl

    referred = sorted(k.split("/")[1] for k in store.list("referrals/")
                      if k.count("/") >= 2 and is_alert_id(k.split("/")[1]))   # not referrals/register/
    alerted: str | None = referred[0] if referred else None
    closest: tuple[float, str] | None = None
    for key in sorted(store.list("curated/")):
        for row in from_jsonl(store.get(key)):
            c = row.get("classification") or {}
            target = row.get("url") or f"{row['platform']}:{row['post_id']}"   # as an officer would paste it
            if c.get("labels"):
                if alerted is None and store.exists(f"alerts/ledger/{alert_id_for(row['platform'], row['post_id'])}.json"):
                    alerted = target
                continue
            thresholds = c.get("thresholds") or {}
            ratio = max((score / thresholds[cat] for cat, score in (c.get("scores") or {}).items()
                         if thresholds.get(cat)), default=0.0)
            if closest is None or ratio > closest[0]:
                closest = (ratio, target)
    return alerted, closest[1] if closest else None


def show_explained(store: Any, step: Any) -> None:
    """``socialhub explain`` on one alerted and one not-alerted post (each view is an audit event)."""
    from socialhub.cli import main as cli

    alerted, quiet = explain_targets(store)
    for what, target in (("an alerted post", alerted), ("a post that was not alerted", quiet)):
        if target is None:
            continue
        step(f"why was this alerted, or not? socialhub explain {target}  ({what})")
        sys.stdout.flush()
        cli(["explain", target, "--store", str(store.root), "--by", "socialhub demo",
             "--why", f"demo: explain {what}"])
        sys.stdout.flush()


def run_demo(*, fresh: bool = False, project_dir: Path | None = None, review: bool = True,
             inputs: DemoInputs | None = None) -> int:
    """Run the demo (see the module doc). The settings it gives its own process (the audit key and
    anchor, the cache folder) are undone when it returns, so a caller's environment (e.g. the tests')
    is left as it was."""
    saved = dict(os.environ)
    try:
        return _run_demo(fresh=fresh, project_dir=project_dir, review=review, inputs=inputs)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def demo_register(store: Any, watchlist_path: Path) -> list[str]:
    """Record the demo's authorisation register in its store the first time (see governance/demo.py)."""
    from socialhub.audit.chain import AuditLog, Auditor
    from socialhub.clock import now
    from socialhub.governance.demo import seed_demo_register
    from socialhub.watchlist import load_watchlist

    auditor = Auditor(AuditLog(store), {"kind": "person", "name": "socialhub demo", "via": "socialhub demo"})
    return seed_demo_register(store, load_watchlist(watchlist_path), now(demo=True).date(), auditor)


def print_register(store: Any) -> None:
    """The register as `socialhub authorisations list` prints it, with the reviews due and cancellations."""
    from socialhub.clock import now
    from socialhub.governance.authorisations import load_register
    from socialhub.governance.cli import format_register

    register = load_register(store, None)
    if register is None:
        return
    title = "authorisation register (socialhub authorisations list)"
    print(f"\n{title}\n{'=' * len(title)}")
    print("\n".join(format_register(register, now(demo=True).date())))


#: what the follow-up stage does on the replay: the platform removes what was referred, suspends one
#: account and renames another (``platform``, ``account``, ``new name``)
SUSPEND = ("x", "millbrook_fc")
RENAME = ("bluesky", "eastgate-voices.hubdemo.example", "eastgate-voices-2.hubdemo.example")
#: the follow-up runs this much later (``SOCIALHUB_NOW`` for its Airflow runs): the first re-check is due 1 h
#: after a referral
LATER = "+2h"


def followup(project: Path, home: Path, data_dir: Path, store: Any, inputs: Any, conns: dict[str, str], base: Path,
             log_file: Path, step: Any) -> None:
    """After the review: the platforms act (a referred post removed, an account suspended, one renamed),
    then two hours later a collection run and the referral re-check run (``airflow dags test``), and
    what they found: the referrals open, removed and escalated, and ``socialhub sources``."""
    from socialhub.referrals.register import all_referrals
    from socialhub.replay.server import ReplayServer

    referrals = [r for r in all_referrals(store) if r.is_open]
    with ReplayServer(inputs.data, now=_replay_clock(base)).start() as replay:
        removed = []
        for ref in referrals:
            try:
                replay.remove_post(str(ref.record.get("platform")), str(ref.record.get("post_id")))
                removed.append(ref.referral_id)
            except (KeyError, ValueError):
                continue                      # a post the replay does not serve (own demo data)
        done = []
        for platform, account, *rest in (SUSPEND, RENAME):
            try:
                (replay.rename_account(platform, account, rest[0]) if rest else
                 replay.suspend_account(platform, account))
                done.append(f"{platform}:{account} {'renamed to ' + rest[0] if rest else 'suspended'}")
            except (KeyError, ValueError):
                continue
        reuploads = reupload_referred_images(replay, referrals, store)
        step(f"the platforms act: {len(removed)} referred post(s) removed; " + "; ".join(done)
             + (f"; {len(reuploads)} referred image(s) re-uploaded, resized, recompressed and cropped, under a "
                "harmless caption" if reuploads else "")
             + f"; then, {LATER[1:]} later (SOCIALHUB_NOW={LATER}), collection, processing and the referral re-check")
        env = quiet_env(airflow_env(project, home, data_dir, {
            **conns, "SOCIALHUB_NOW": LATER, "SOCIALHUB_MEDIA_GATEWAY": replay.media_gateway,
            **{f"AIRFLOW_CONN_SOCIALHUB_{p.upper()}": json.dumps({"conn_type": "http",
                                                                   "extra": {"base_url": replay.base_url(p)}})
               for p in replay.platforms()}}))
        for dag_id in ("socialhub_collect", "socialhub_process", "socialhub_recheck"):
            step(f"running DAG {dag_id} (airflow dags test)")
            if run_airflow(["dags", "test", dag_id], env, log_file).returncode:
                step(f"DAG {dag_id} FAILED; see {log_file}")
                return
    print(format_followup(store))
    print(format_media(store))


#: the re-upload the follow-up posts: the referred post's first image, resized to 60%, cropped 0.5% each
#: side and recompressed at JPEG quality 40. PDQ still matches (distance 12-26 on the demo's pictures);
#: from about 1% cropped off each side it may not, and from 2% it does not (docs/media.md)
REUPLOAD_TEXT = "throwback to this one 📸 #tb"
REUPLOAD_DERIVE: dict[str, Any] = {"scale": 0.6, "crop": 0.005, "quality": 40}


def reupload_referred_images(replay: Any, referrals: list[Any], store: Any) -> list[str]:
    """The referred post's image comes back: the same account posts a resized, cropped and
    recompressed copy with a harmless caption (what the hash list is for)."""
    from socialhub.media.store import load_record
    from socialhub.replay.media import media_key

    out = []
    for ref in referrals:
        platform, account = str(ref.record.get("platform")), str(ref.record.get("account") or "")
        record = load_record(store, platform, str(ref.record.get("post_id"))) or {}
        specs = [replay._media.get(media_key(i["url"])) for i in record.get("items") or []
                 if i.get("status") == "captured" and str(i.get("mime", "")).startswith("image/")]
        images = [(sp.get("file") if isinstance(sp, dict) else sp, sp) for sp in specs]
        name, original = next(((n, sp) for n, sp in images
                               if isinstance(n, str) and n.endswith((".jpg", ".jpeg", ".png"))), (None, None))
        if not (account and name) or platform == "youtube":   # YouTube's thumbnails come from the video
            continue
        try:   # the whole original (with any caption drawn on it), resized, cropped and recompressed
            replay.add_post(platform, account, {"text": REUPLOAD_TEXT, "media": [
                {"file": f"tb-{Path(str(name)).stem}.jpg", "derive": {"from": original, **REUPLOAD_DERIVE}}]})
        except (KeyError, ValueError):
            continue
        out.append(f"{platform}:{account}")
    return out


def format_media(store: Any) -> str:
    """Media captured over the demo, and what they added: known content matched, text read in images."""
    from socialhub.media.hashlist import HashLists
    from socialhub.models import from_jsonl

    records = [json.loads(store.get(k)) for k in store.list("media/posts/")]
    items = [i for r in records for i in r.get("items") or []]
    captured = [i for i in items if i.get("status") == "captured"]
    failed = [i for i in items if i.get("status") in ("failed", "deferred", "gave_up")]
    known, ocr = [], []
    for key in store.list("flagged/"):
        for row in from_jsonl(store.get(key)):
            cls = row.get("classification") or {}
            if "known_content" in (cls.get("labels") or []):
                known.append((row, cls))
            for t in cls.get("text_in_media") or []:
                if t.get("labels"):
                    ocr.append((row, t))
    from socialhub.media.store import load_info

    ocr_read = sum(1 for i in captured if i.get("sha256") and
                   ((load_info(store, i["sha256"]) or {}).get("ocr") or {}).get("text"))
    lists = ", ".join(f"{n}: {c} hash(es)" for n, c in HashLists(store).lists().items()) or "none"
    title = "media (captured as evidence, hash lists, text in images)"
    lines = ["", title, "=" * len(title),
             f"media captured:         {len(captured)} of {len(items)} item(s), "
             f"{sum(int(i.get('size') or 0) for i in captured):,} bytes, write-once by SHA-256"
             + (f"; {len(failed)} not captured (tried again next run or given up, with reasons)" if failed else ""),
             f"text read (OCR):        {ocr_read} image(s) with text; {len(ocr)} post(s) flagged for it (text_in_media)",
             f"hash lists:             {lists}"]
    for row, t in ocr:
        lines.append(f"  text in image:        {row['platform']}:{row['post_id']} {', '.join(t['labels'])}: "
                     f"“{' '.join(t['text'].split())[:80]}”")
    for row, cls in known:
        m = (cls.get("known_content") or [{}])[0]
        lines.append(f"  known content:        {row['platform']}:{row['post_id']} “{row.get('text', '')[:40]}” "
                     f"matches {m.get('list')} entry {str(m.get('entry_id'))[:12]} from referral "
                     f"{m.get('referral_id') or '?'}: PDQ distance {m.get('distance')} of 256")
    if not known:
        lines.append("  known content:        none matched")
    return "\n".join(lines)


def format_followup(store: Any) -> str:
    from socialhub.referrals.register import all_referrals

    refs = all_referrals(store)
    title = "after the referral (socialhub_recheck, socialhub sources)"
    lines = ["", title, "=" * len(title)]
    removed = [r for r in refs if r.outcome == "removed"]
    lines.append(f"referrals:              {len(refs)} ({sum(1 for r in refs if r.is_open)} open, {len(removed)} "
                 f"removed, {sum(1 for r in refs if r.escalated)} escalated)")
    for r in removed:
        ttr = r.time_to_removal
        lines.append(f"  removed:              {r.referral_id} ({r.record.get('platform')}, {r.record.get('category')}): "
                     f"found removed {r.removed_at}, "
                     f"{'time to removal ' + _duration(ttr) if ttr is not None else 'time to removal unknown'}")
    from socialhub.cli import main as cli

    sys.stdout.write("\n".join(lines) + "\n\nsocialhub sources (accounts that are not ok):\n")
    sys.stdout.flush()
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        cli(["sources", "--store", str(store.root)])
    keep: list[str] = []
    heading = ""
    for n, line in enumerate(buf.getvalue().splitlines()):
        if n < 2 or line.startswith("  "):                  # the title, the column names, the messages
            keep.append(line)
        elif line.startswith("["):                           # a subject category: shown with its rows only
            heading = line
        elif line and not re.search(r"\s{2}ok\s{2}", line):
            if heading:
                keep.append(heading)
                heading = ""
            keep.append(line)
    return "\n".join(keep)


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _run_demo(*, fresh: bool = False, project_dir: Path | None = None, review: bool = True,
             inputs: DemoInputs | None = None) -> int:
    from socialhub.models import utc_iso
    from socialhub.replay.server import ReplayServer
    from socialhub.storage import LocalStore

    project = (project_dir or Path.cwd()).resolve()
    if not (project / "dags").is_dir():
        print(f"socialhub demo: {project} is not a socialhub checkout (no dags/); use --project-dir", file=sys.stderr)
        return 2
    base = project / ".demo"
    if fresh and base.exists():
        shutil.rmtree(base)
    home, data_dir = base / "airflow", base / "data"
    logs = base / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / "demo.log"
    t0 = time.monotonic()
    from socialhub.clock import now

    started = utc_iso(now(demo=True))

    def step(msg: str) -> None:
        print(f"[{time.monotonic() - t0:5.1f}s] {msg}", flush=True)

    step(f"Airflow home {home} (SQLite); log: {log_file}")
    inputs = inputs or DemoInputs()
    if inputs.watchlist or inputs.data:
        step(f"watchlist {inputs.watchlist or '(packaged) ' + str(project / 'include' / 'watchlist.yaml')}; "
             f"replay data {inputs.data or '(packaged demo data)'}")
    for note in inputs.notes:
        step(f"note: {note}")
    if _inputs_changed(base, inputs):
        step("note: the last demo run here used another watchlist or replay data; its state is kept "
             "(use --fresh to start over)")
    os.environ.setdefault("SOCIALHUB_CACHE_DIR", str(base / "cache"))   # explain's index, for this process
    protection = demo_audit_protection(base)
    for name, value in protection.items():   # this process's own audit events (explain, shadow report) too
        os.environ.setdefault(name, value)
    from socialhub.audit.chain import AuditLog, event_id

    earlier = {event_id(e) for e in AuditLog(LocalStore(data_dir / "store"), keys=None, anchor=None).events()}
    from socialhub.watchlist import DEFAULT_PATH

    register_lines = demo_register(LocalStore(data_dir / "store"), inputs.watchlist or DEFAULT_PATH)
    if register_lines:
        step(f"authorisation register: {len(register_lines) - 1} authorisation(s) granted in the demo's store, "
             f"{register_lines[-1]} (socialhub authorisations grant / cancel)")
    wall_start = dt.datetime.now(dt.UTC).date().isoformat()
    with ReplayServer(inputs.data, now=_replay_clock(base)).start() as replay:
        conns: dict[str, str] = {"SOCIALHUB_POLL_ALL": "true",   # poll every account each demo run
                                 # a candidate classifier in shadow: stored beside the live results, never alerted
                                 "SOCIALHUB_SHADOW_CLASSIFIER": str(demo_candidate(base)),
                                 # recorded classifier versions and explain's index: in .demo/, reset with it
                                 "SOCIALHUB_CACHE_DIR": str(base / "cache"),
                                 # every audit event signed with the demo's key, the head anchored outside the store
                                 **protection}
        if inputs.watchlist:
            conns["SOCIALHUB_WATCHLIST"] = str(inputs.watchlist)
        conns_base = dict(conns)
        conns |= {f"AIRFLOW_CONN_SOCIALHUB_{p.upper()}": json.dumps({"conn_type": "http",
                                                                    "extra": {"base_url": replay.base_url(p)}})
                 for p in replay.platforms()}
        # the posts' media are fetched through the replay server, the demo's capture gateway (loopback only)
        conns["SOCIALHUB_MEDIA_GATEWAY"] = replay.media_gateway
        env = quiet_env(airflow_env(project, home, data_dir, conns))
        slack = bool(env.get("AIRFLOW_CONN_SOCIALHUB_SLACK"))
        step("initialising Airflow metadata and pools" if not (home / ".socialhub-initialised").exists()
             else "Airflow already initialised")
        init_airflow(home, env, log_file)
        step(f"replay server for {', '.join(replay.platforms())} at {replay.base_url('mastodon').rsplit('/', 1)[0]}")
        for dag_id in ("socialhub_collect", "socialhub_process"):
            step(f"running DAG {dag_id} (airflow dags test)")
            proc = run_airflow(["dags", "test", dag_id], env, log_file)
            if proc.returncode:
                step(f"DAG {dag_id} FAILED (exit {proc.returncode}); see {log_file}")
                return 1
    step("replay server stopped")
    store = LocalStore(data_dir / "store")
    until = utc_iso(now(demo=True) + dt.timedelta(minutes=5))
    collect = latest_report(store, "collect", started, until)
    process = latest_report(store, "process", started, until)
    print(format_summary(collect, process, store.root, data_dir / "outbox", slack))
    print_register(store)
    if review and process and (process.get("alerts") or {}).get("delivered"):  # nothing new: nothing to review
        from socialhub.review.demo import format_review_summary, run_review_demo

        step("officer review: Airflow api-server + scheduler + dag-processor; one answer by REST, the rest time out")
        reviewed = run_review_demo(project, home, data_dir, env, step=step)
        events = [e for e in AuditLog(store).events() if event_id(e) not in earlier]   # this run's
        print(format_review_summary(reviewed, store.root, events))
    followup(project, home, data_dir, store, inputs, conns_base, base, log_file, step)
    if process and process.get("shadow"):
        step("the shadow version against the live one and the officers' decisions: socialhub shadow report")
        sys.stdout.flush()
        from socialhub.cli import main as cli

        cli(["shadow", "report", "--from", started[:10], "--to", utc_iso(now(demo=True))[:10], "--store",
             str(store.root), "--out", str(base / "shadow-report"), "--by", "socialhub demo",
             "--why", "demo: the shadow version against the live one before promoting it"])
        sys.stdout.flush()
    show_explained(store, step)
    print("\n" + audit_hint(store.root, wall_start, dt.datetime.now(dt.UTC).date().isoformat()))
    print(f"\nDone in {time.monotonic() - t0:.0f}s. Run `make demo` again: nothing new is collected and no alert "
          f"is sent twice. `make demo-reset` starts over.")
    return 0
