"""What each DAG task does, in one line each: resolve Connections, call into ``socialhub``.

DAG files import this module only inside task bodies, so parsing a DAG file stays cheap.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from typing import Any

from socialhub.config import Settings
from socialhub.models import canonical_json, utc_iso
from socialhub.storage import layout

log = logging.getLogger(__name__)


def settings() -> Settings:
    return Settings.from_env()


def store() -> Any:
    from socialhub_airflow.hooks import SocialhubStorageHook

    return SocialhubStorageHook().get_store(settings().data_dir / "store")


#: the optional Connection holding the audit log's MAC key (password = secret; login or extra ``key_id`` = id;
#: extra ``old_keys`` = verify-only keys ``{"id": "secret"}``)
AUDIT_KEY_CONN = "socialhub_audit_key"


def audit_keys() -> Any:
    """The audit log's keys: the ``socialhub_audit_key`` Connection if it exists, else ``SOCIALHUB_AUDIT_KEYS``
    (else ``None``: the log is unkeyed). The secret is never logged."""
    from socialhub.audit.keys import keys_from_connection, keys_from_env

    conn = None
    try:
        from socialhub_airflow.hooks import _get_connection

        conn = _get_connection(AUDIT_KEY_CONN)
    except ImportError:  # outside Airflow (CLI, plain unit tests): the environment only
        conn = None
    except Exception as exc:  # noqa: BLE001 - e.g. no metadata DB here: the environment; unkeyed events after
        # keyed ones are a finding of `socialhub audit verify` (mac_missing), so this cannot pass unnoticed
        log.warning("could not read connection %s (%s): audit keys from SOCIALHUB_AUDIT_KEYS only",
                    AUDIT_KEY_CONN, type(exc).__name__)
    keys = keys_from_connection(conn) if conn is not None else None
    return keys if keys is not None else keys_from_env()


def audit_log(st: Any = None) -> Any:
    """The audit log in the store, signed with ``audit_keys()`` and anchored as ``SOCIALHUB_AUDIT_ANCHOR`` says.
    Inside a task: the task's own segment (``task_audit_log``), so parallel tasks do not contend."""
    from socialhub.audit.chain import AuditLog

    st = st if st is not None else store()
    ident = _task_identity()
    if ident is not None:
        return task_audit_log(st, ident)
    return AuditLog(st, keys=audit_keys())


def _task_identity() -> tuple[Any, ...] | None:
    """(dag, task, run, map index, try) of the running task, or None outside a task."""
    try:
        from airflow.sdk import get_current_context

        ctx = get_current_context()
        ti = ctx["ti"]
        return (ti.dag_id, ti.task_id, ctx["run_id"], ti.map_index, getattr(ti, "try_number", None))
    except Exception:  # noqa: BLE001 - outside a task (CLI, tests, the API server)
        return None


#: the running task's segmented audit log: (task identity, store uri, AuditLog)
_TASK_LOG: list[tuple[tuple[Any, ...], str, Any]] = []
_TASK_LOG_LOCK = threading.Lock()
_ATEXIT: list[bool] = []


def task_audit_log(st: Any, ident: tuple[Any, ...]) -> Any:
    """One segmented AuditLog per task attempt (per store): its events go to the task's own segment,
    sealed on the global chain when the task ends (``close_task_audit``, called by the plugin's listener);
    a segment its task never sealed (killed) is sealed by housekeeping after the grace period."""
    import atexit

    from socialhub.audit.chain import AuditLog

    uri = st.uri("audit/head.json")   # which store (each call to store() builds a new object)
    with _TASK_LOG_LOCK:
        for cur_ident, cur_uri, cur in _TASK_LOG:
            if cur_ident == ident and cur_uri == uri:
                return cur
        if _TASK_LOG and _TASK_LOG[0][0] != ident:   # `airflow dags test` runs tasks one after another in a process
            _close_all()
        if not _ATEXIT:   # a process that ends without the listener (no finalize): seal on the way out
            atexit.register(close_task_audit)
            _ATEXIT.append(True)
        dag_id, task_id, _run, map_index, _try = ident
        label = ".".join(str(p) for p in (dag_id, task_id, map_index if map_index not in (None, -1) else None) if p
                         is not None)
        new = AuditLog(st, keys=audit_keys(), segmented=True, segment_label=label)
        _TASK_LOG.append((ident, uri, new))
        return new


def _close_all() -> None:
    while _TASK_LOG:
        _, _, lg = _TASK_LOG.pop()
        try:
            lg.close()
        except Exception as exc:  # noqa: BLE001 - the events are stored; housekeeping seals the segment later
            log.warning("could not seal the task's audit segment %s (%s): housekeeping seals it after the grace "
                        "period", lg.segment, type(exc).__name__)


def close_task_audit() -> None:
    """Seal the running task's audit segment(s) (the task ended). Safe to call more than once."""
    with _TASK_LOG_LOCK:
        _close_all()


def auditor(st: Any = None) -> Any:
    """An audit logger whose actor is the running task (dag, task, run, map index)."""
    from socialhub.audit.chain import Auditor

    actor: dict[str, Any] = {"kind": "task"}
    try:
        from airflow.sdk import get_current_context

        ctx = get_current_context()
        ti = ctx["ti"]
        actor.update(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ctx["run_id"], map_index=ti.map_index,
                     try_number=getattr(ti, "try_number", None))
    except Exception:  # noqa: BLE001 - outside a task (CLI, tests): still audited, as "cli"
        actor = {"kind": "process", "name": "socialhub"}
    return Auditor(audit_log(st), actor)


def now() -> datetime:
    """The wall clock, or the demo's/tests' clock when ``SOCIALHUB_NOW`` moves it (``socialhub.clock``)."""
    from socialhub.clock import now as clock_now

    return clock_now()


def connector_factory(cfg: Settings) -> Any:
    from socialhub.sources.registry import get_connector
    from socialhub_airflow.hooks import SocialhubPlatformHook

    def make(platform: str) -> Any:
        config = SocialhubPlatformHook(platform).get_connector_config(lookback_days=cfg.lookback_days,
                                                                     max_pages=cfg.max_pages)
        return get_connector(platform, config, now=now)    # look-back and rate limits on the same clock

    return make


def watchlist(st: Any = None) -> Any:
    """The watchlist, judged against the authorisation register (the file ``SOCIALHUB_AUTHORISATIONS``
    and the store's records) when there is one; with none, its review-by dates alone decide."""
    from socialhub.governance.authorisations import governed_watchlist

    return governed_watchlist(st if st is not None else store())


def _plan(platform: str | None = None) -> Any:
    from socialhub.collect import plan_collection
    from socialhub.watchlist import Watchlist

    cfg = settings()
    wl = watchlist()
    if wl.register is None:
        log.warning("no authorisation register (SOCIALHUB_AUTHORISATIONS unset and none in the store): each "
                    "watchlist entry's review_by date alone decides whether it is collected")
    if platform:
        wl = Watchlist(version=wl.version, accounts=[e for e in wl.accounts if e.platform == platform]
                       ).with_register(wl.register)
    # index: one GET per platform (the due index, socialhub.due_index) instead of one per account; collect_shard
    # writes the deltas it merges
    return plan_collection(wl, store(), now(), max_shards_per_platform=cfg.max_shards_per_platform,
                           force_all=cfg.poll_all, index=True, share=cfg.budget_share)


def run_source() -> dict[str, Any]:
    """Where the running task's code came from: its DAG bundle's name and version, and the DAG run.

    ``bundle_version`` is the version the run was pinned to (a git bundle's commit), else the
    bundle's current version, else ``None`` (an unversioned local bundle, as in a plain image).
    Outside a task: all ``None``.
    """
    out: dict[str, Any] = {"bundle_name": None, "bundle_version": None, "dag_run": None}
    try:
        from airflow.sdk import get_current_context

        ctx = get_current_context()
    except Exception:  # noqa: BLE001 - outside a task (CLI, tests)
        return out
    out["dag_run"] = ctx.get("run_id")
    bundle = getattr(ctx.get("ti"), "bundle_instance", None)
    if bundle is not None:
        out["bundle_name"] = getattr(bundle, "name", None)
        version = getattr(bundle, "version", None)
        if version is None:
            try:
                version = bundle.get_current_version()
            except Exception:  # noqa: BLE001 - an unversioned bundle may not say
                version = None
        version = getattr(version, "version", version)        # a BundleVersion, or a plain string
        out["bundle_version"] = str(version) if version is not None else None
    return out


def check_watchlist() -> dict[str, Any]:
    """Validate the watchlist and record its changes since the last run (who, why, which code) in the audit log."""
    from socialhub.watchlist_changes import record_watchlist_changes

    cfg, st = settings(), store()
    wl = watchlist(st)
    changes = record_watchlist_changes(st, wl, cfg.watchlist, auditor(st), source=run_source())
    ok, lapsed = wl.authorised(now().date())
    for ch in changes:
        log.info("watchlist %s: %s", ch["change"], ch["key"])
    return {"entries": len(wl.accounts), "authorised": len(ok), "lapsed": len(lapsed), "changes": len(changes)}


def plan(platform: str) -> list[dict[str, Any]]:
    """The shards of one platform's due, authorised accounts (lapsed ones are logged, not collected).

    What goes to XCom (and so into Airflow's metadata database, readable by anyone who may read
    the DAG's XComs) is only each shard's platform, index and account *keys*: never a watchlist
    entry's purpose, authorisation, owner or review date. ``collect`` reads the entries from the
    watchlist itself (``shard_entries``).
    """
    plan = _plan(platform)
    for line in plan.describe():
        (log.warning if line.startswith(("NOT COLLECTED", "REMINDER", "RATE BUDGET")) else log.info)(line)
    run_id = _run_id()
    if run_id:   # the run report (finish) names the accounts the rate budget deferred, with the reasons,
        # and each shard's slice of the platform's rate (sources/pacing.py)
        key = layout.budget_deferred_key(run_id, platform)
        rates = [s.get("rate") for s in plan.shards]
        if plan.deferred or any(rates) or store().exists(key):   # a retry that now defers nothing clears it
            store().put_state(key, canonical_json({"platform": platform, "deferred": plan.deferred, "pacing": rates,
                                                   "written": utc_iso(now())}))   # housekeeping deletes it later
    audit = auditor()
    for lapse in plan.lapsed:
        from socialhub.collect import lapse_reason

        audit.record("authorisation_lapsed", lapse["key"], force=lapse["force"],
                     justification=f"not collected: {lapse_reason(lapse)}", details=lapse)
    return [shard_keys(s) for s in plan.shards]


def shard_keys(shard: dict[str, Any]) -> dict[str, Any]:
    """A planned shard as XCom carries it: platform, index and the accounts' keys (``platform:account``)."""
    return {"platform": shard["platform"], "index": shard["index"], "of": shard.get("of", 1),
            "rate": shard.get("rate"),   # the shard's slice of the platform's request rate (sources/pacing.py)
            "accounts": [f"{a['platform']}:{a['account']}" for a in shard["accounts"]]}


def shard_entries(shard: dict[str, Any], watchlist: Any, today: Any) -> dict[str, Any]:
    """The shard ``collect_shard`` works on: the keys of ``shard`` looked up in the watchlist as it is now.

    A key no longer in the watchlist, or whose authorisation lapsed since the plan, is not
    collected (logged); nothing about an entry travels through XCom.
    """
    entries = {e.key: e for e in watchlist.authorised(today)[0]}
    accounts = []
    for key in shard["accounts"]:
        entry = entries.get(key)
        if entry is None:
            log.warning("NOT COLLECTED %s: no longer an authorised watchlist entry (changed since the plan)", key)
            continue
        accounts.append(entry.model_dump(mode="json"))
    return {"platform": shard["platform"], "index": shard["index"], "of": shard.get("of", 1),
            "rate": shard.get("rate"), "accounts": accounts}


def collect(shard: dict[str, Any]) -> list[dict[str, Any]]:
    from socialhub.collect import collect_shard

    cfg, st, at = settings(), store(), now()
    wl = watchlist(st)
    full = dict(shard_entries(shard, wl, at.date()), run_id=_run_id() or None)   # run_id: named in the due index delta
    from socialhub.media.capture import MediaCapture

    media = MediaCapture.from_settings(cfg, shards=int(shard.get("of") or 1))
    try:
        outcomes = collect_shard(st, full, connector_factory(cfg), at, auditor(st), media=media,
                                 concurrency=cfg.collect_concurrency)
    finally:
        if media is not None:
            media.close()
    changes = [ch for o in outcomes for ch in (o.get("health_changes") or [])]
    if changes:
        from socialhub.alerts.routing import Routing
        from socialhub.sources.health_notify import notify_health_changes
        from socialhub_airflow.hooks import get_alert_sink

        notify_health_changes(changes, {e.key: e for e in wl.accounts}, sink=get_alert_sink(cfg.data_dir / "outbox"),
                              routing=Routing.load(cfg.routing))
    # XCom: the changes' kinds only (their messages name the account: they went to the team's channel)
    for o in outcomes:
        o["health_changes"] = [{"change": ch.get("change"), "after": ch.get("after")}
                               for ch in o.get("health_changes") or []]
    return outcomes


def _run_id() -> str:
    """The running DAG run's id, else "" (outside a task)."""
    try:
        from airflow.sdk import get_current_context

        return str(get_current_context()["run_id"] or "")
    except Exception:  # noqa: BLE001 - outside a task
        return ""


def run_deferrals(st: Any, run_id: str) -> list[dict[str, Any]]:
    """The accounts this run's plan tasks deferred (rate budget or YouTube quota), with the reasons."""
    return run_budget(st, run_id)[0]


def run_budget(st: Any, run_id: str) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """What this run's plan tasks recorded (``state/budget/runs/<run>/``): the accounts they deferred
    (rate budget or YouTube quota) with the reasons, and per platform its shards' rate slices."""
    from socialhub.models import PLATFORMS

    deferred: list[dict[str, Any]] = []
    rates: dict[str, list[Any]] = {}
    for platform in PLATFORMS:
        raw = st.get_or_none(layout.budget_deferred_key(run_id, platform))
        if raw:
            doc = json.loads(raw)
            deferred += doc.get("deferred", [])
            if doc.get("pacing"):
                rates[platform] = list(doc["pacing"])
    return deferred, rates


def finish_collection(outcome_lists: list[Any], run_id: str) -> dict[str, Any]:
    from socialhub.collect import pacing_lines, summarise_collection
    from socialhub.sources.budget import xcom_view

    st = store()
    outcomes = [o for lst in outcome_lists for group in (lst or []) for o in (group or [])]
    planned, rates = run_budget(st, run_id)
    summary = summarise_collection(outcomes, {"lapsed": watchlist().lapse_info(now().date()), "deferred": planned,
                                              "pacing": rates})
    deferred = summary["accounts_deferred"]   # the plan's deferrals, then the accounts pacing stopped
    summary.update(run_id=run_id, finished_at=utc_iso(now()), outcomes=outcomes)
    if deferred:
        summary["platform_team_told_overdue"] = _tell_overdue(deferred, run_id)
    st.put_state(layout.report_key("collect", run_id), canonical_json(summary))
    log.info("collected %d post(s) from %d account(s); %d failed; %d lapsed; %d deferred (%d by the rate budget, "
             "%d paced out by their shard)", summary["posts_collected"], summary["accounts_polled"],
             len(summary["accounts_failed"]), len(summary["accounts_lapsed"]), len(deferred), len(planned),
             len(deferred) - len(planned))
    for line in pacing_lines(summary["pacing"]):
        log.info("%s", line)
    # XCom gets counts and keys: the lapsed entries' authorisation, owner and dates stay in the stored report,
    # and so do the deferrals' reasons
    xcom = {k: v for k, v in summary.items() if k != "outcomes"}
    xcom["accounts_lapsed"] = [lapse["key"] for lapse in summary["accounts_lapsed"]]
    xcom["accounts_deferred"] = xcom_view(deferred)
    return xcom


def _tell_overdue(deferred: list[dict[str, Any]], run_id: str) -> bool:
    """One platform-team notice per run naming the accounts the rate budget left overdue (keyed by the
    run: a retried ``finish`` sends nothing twice). True when sent (now or by an earlier try)."""
    from socialhub.alerts.routing import Routing
    from socialhub.sources.budget import notify_overdue, overdue
    from socialhub_airflow.hooks import get_alert_sink

    if not overdue(deferred):
        return False
    cfg = settings()
    try:
        notify_overdue(deferred, run_id, sink=get_alert_sink(cfg.data_dir / "outbox"),
                       channel=Routing.load(cfg.routing).platform_channel)
    except Exception:  # noqa: BLE001 - the run report matters more; the next run's plan defers them again
        log.exception("could not tell the platform team about the accounts the rate budget left overdue")
        return False
    return True


def find_pending() -> list[list[str]]:
    from socialhub.media.followup import pending_followups
    from socialhub.process import chunks, pending_batches

    cfg = settings()
    st = store()
    ids = pending_batches(st, cfg.max_batches_per_run)
    late = pending_followups(st) if cfg.media else []
    log.info("%d batch(es) pending%s", len(ids), f"; {len(late)} post(s) with media captured late" if late else "")
    return chunks(ids + late, cfg.max_shards_per_platform)


def process(batch_ids: list[str]) -> list[dict[str, Any]]:
    from socialhub.classify import versions
    from socialhub.errors import QualityGateFailed
    from socialhub.process import process_batches

    cfg, st = settings(), store()
    version, clf = versions.live(st, auditor=auditor(st))   # the promoted version, else the packaged one
    log.info("classifier %s", version.describe())
    shadow = None
    if cfg.shadow_classifier:
        from socialhub.process import Shadow

        shadow_version, shadow_clf = versions.resolve(st, cfg.shadow_classifier, auditor=auditor(st))
        if shadow_version.id == version.id:
            log.warning("SOCIALHUB_SHADOW_CLASSIFIER names the live version %s: no shadow run", version.id)
        else:
            log.info("shadow classifier (stored under shadow/, never alerted): %s", shadow_version.describe())
            shadow = Shadow(shadow_version.id, shadow_clf)
    step = max(1, len(batch_ids) // 10)

    def progress(done: int, total: int) -> None:
        if done == total or done % step == 0:
            log.info("processed %d of %d batch(es)", done, total)

    judge = None
    if cfg.media:
        from socialhub.media.judge import MediaJudge

        judge = MediaJudge(st, clf, max_distance=cfg.pdq_max_distance)
    from socialhub.media.followup import is_followup, process_followups

    late = [b for b in batch_ids if is_followup(b)]
    batch_ids = [b for b in batch_ids if not is_followup(b)]
    records = process_batches(st, batch_ids, classifier=clf, max_bad_fraction=cfg.max_bad_fraction,
                              auditor=auditor(st), slice_posts=cfg.process_slice_posts, progress=progress,
                              classifier_id=version.id, shadow=shadow, media_judge=judge)
    if late and judge is not None:
        records += process_followups(st, late, judge=judge, now=now(), auditor=auditor(st))
    held = [r for r in records if r["status"] == "held"]
    if held:
        raise QualityGateFailed("; ".join(f"batch {r['batch_id']} ({r['platform']}:{r['account']}): {r['error']}"
                                          for r in held))
    return [{k: r[k] for k in ("batch_id", "status", "posts", "quarantined", "flagged")} for r in records]


def alert(chunks: list[list[str]]) -> dict[str, Any]:
    from socialhub.alerting import alert_batches
    from socialhub.alerts.routing import Routing
    from socialhub_airflow.hooks import get_alert_sink
    from socialhub_airflow.review import alert_review_url

    cfg, st = settings(), store()
    ids = [b for c in chunks or [] for b in c]
    sink = get_alert_sink(cfg.data_dir / "outbox")
    summary = alert_batches(st, ids, sink=sink, routing=Routing.load(cfg.routing),
                            now=now(), review_url=alert_review_url, auditor=auditor(st),
                            digest_threshold=cfg.digest_threshold)
    if summary.get("fallback_used"):
        # Slack failed and the fallback carried alerts: the platform team must know (one notice per run).
        from socialhub.alerts.fallback import platform_notice
        from socialhub_airflow.notifiers import tell_platform_team

        text = platform_notice(summary["fallback_used"], summary["fallback_reasons"],
                               sinks=[d["sink"] for d in summary["deliveries"] if d.get("fallback_reason")])
        log.warning("%s", text)
        summary["platform_team_told"] = tell_platform_team(text, sink=sink) is not None
    return summary


def report_processing(chunks: list[list[str]], alert_summary: dict[str, Any] | None, run_id: str
                      ) -> dict[str, Any]:
    from socialhub.process import result_key, summarise_processing

    st = store()
    records = []
    for b in [b for c in chunks or [] for b in c]:
        raw = st.get_or_none(result_key(b))
        if raw:
            records.append(json.loads(raw))
    summary = summarise_processing(records)
    summary.update(run_id=run_id, finished_at=utc_iso(now()), alerts=alert_summary or {},
                   outputs=sorted({v for r in records for v in r.get("outputs", {}).values()}))
    st.put_state(layout.report_key("process", run_id), canonical_json(summary))
    return summary


def apply_retention() -> dict[str, Any]:
    import os

    from socialhub.retention import apply_retention as apply
    from socialhub.retention import current_subjects, load_policy, prune_budget_runs

    st = store()
    policy = load_policy(os.environ.get("SOCIALHUB_RETENTION"))
    summary = apply(st, policy, now(), auditor=auditor(st), subjects=current_subjects(settings().watchlist))
    log.info("retention: %d batch(es) seen, %d erased (%d objects), %d under legal hold, %d erasure(s) pending "
             "under Object Lock (retried next run), %d failed", summary["batches_seen"], summary["erased_batches"],
             summary["erased_objects"], summary["held"], summary["pending_objects"], len(summary["failed"]))
    runs = prune_budget_runs(st, now(), policy.operational.budget_runs_days)
    log.info("rate-budget records of collection runs (state/budget/runs/): %d run(s) seen, %d older than %d days "
             "deleted (%d objects), %d without a date (kept), %d delete(s) failed (retried next run)",
             runs["runs_seen"], len(runs["deleted_runs"]), runs["days"], runs["deleted_objects"], len(runs["undated"]),
             len(runs["failed"]))
    for failure in runs["failed"]:
        log.warning("could not delete %s", failure)
    out = {k: v for k, v in summary.items() if k not in ("erased", "pending")}
    out["budget_runs"] = {"seen": runs["runs_seen"], "deleted": len(runs["deleted_runs"]),
                          "deleted_objects": runs["deleted_objects"], "undated": len(runs["undated"]),
                          "failed": len(runs["failed"])}
    return out


def remind_owners() -> list[str]:
    import os

    from socialhub.alerts.routing import Routing
    from socialhub.retention import send_reminders
    from socialhub.watchlist import load_watchlist
    from socialhub_airflow.hooks import get_alert_sink

    cfg, st = settings(), store()
    days = int(os.environ.get("SOCIALHUB_REVIEW_REMINDER_DAYS", "14"))
    return send_reminders(st, load_watchlist(cfg.watchlist), now(), days_before=days,
                          sink=get_alert_sink(cfg.data_dir / "outbox"), routing=Routing.load(cfg.routing),
                          auditor=auditor(st))


def _run_key() -> str:
    """``dag/run/task/map_index`` of the running task (a retry makes the same key), else ""."""
    try:
        from airflow.sdk import get_current_context

        ctx = get_current_context()
        ti = ctx["ti"]
        return f"{ti.dag_id}/{ctx['run_id']}/{ti.task_id}/{ti.map_index}"
    except Exception:  # noqa: BLE001 - outside a task
        return ""


def recheck(platform: str) -> dict[str, Any]:
    """Re-check the due open referrals of one platform (``socialhub.recheck``); counts and ids to XCom."""
    import os

    from socialhub.alerts.routing import Routing
    from socialhub.recheck import parse_targets, recheck_referrals, summarise
    from socialhub_airflow.hooks import get_alert_sink

    cfg, st = settings(), store()
    results = recheck_referrals(st, connector_factory(cfg), now(), platform=platform,
                                sink=get_alert_sink(cfg.data_dir / "outbox"), routing=Routing.load(cfg.routing),
                                targets=parse_targets(os.environ.get("SOCIALHUB_REFERRAL_TARGETS")),
                                run_key=_run_key(), audit=audit_log(st).append)
    summary = summarise(results, st)
    # XCom: counts and referral ids only (no post URL, account or officer)
    return {"platform": platform, **{k: v for k, v in summary.items() if k != "results"},
            "referrals": [r.referral_id for r in results]}


def finish_recheck(summaries: list[Any], run_id: str) -> dict[str, Any]:
    """The re-check run's report in the store (``reports/recheck/<run>.json``) and its counts."""
    done = [s for s in summaries if s]
    total = {k: sum(int(s.get(k, 0)) for s in done) for k in ("checked", "inconclusive", "closed_removed", "escalated")}
    from socialhub.referrals.register import all_referrals

    refs = all_referrals(store())            # the register after every platform's task
    report = {"run_id": run_id, "finished_at": utc_iso(now()), **total,
              "open": sum(1 for r in refs if r.is_open), "removed": sum(1 for r in refs if r.outcome == "removed"),
              "escalated_total": sum(1 for r in refs if r.escalated),
              "platforms": {s["platform"]: {k: s.get(k) for k in ("checked", "closed_removed", "escalated",
                                                                   "referrals")} for s in done}}
    store().put_state(layout.report_key("recheck", run_id), canonical_json(report))
    log.info("re-checked %d referral(s): %d removed and closed, %d escalated, %d inconclusive; %d open",
             total["checked"], total["closed_removed"], total["escalated"], total["inconclusive"], report["open"])
    return {k: v for k, v in report.items() if k != "platforms"}


def verify_audit() -> dict[str, Any]:
    from socialhub.audit.chain import AuditLog, verify_chain
    from socialhub.audit.segments import close_stale_segments

    st = store()
    log_ = AuditLog(st, keys=audit_keys())   # the global chain: this task's checks write seals, not a segment
    # the wall clock, not now(): a segment's age is how long ago its writer last wrote (see segments._newest)
    sealed = close_stale_segments(st, log_._keys, log_._anchor, actor={
        "kind": "task", "dag_id": "socialhub_housekeeping", "task_id": "verify_audit"})
    # incremental from the newest valid checkpoint (a keyed one: unkeyed checkpoints are never trusted
    # here); a full re-walk when there is none or the past no longer matches it
    result = verify_chain(st, keys=log_._keys, anchor=log_._anchor, since_checkpoint=True)
    if not result.ok:
        raise RuntimeError(result.describe())
    log.info(result.describe())
    if log_._anchor is not None:  # the housekeeping run anchors the verified head, so a cut is caught next time
        log_.anchor_now()
    checkpoint = None
    if log_._keys is not None and result.events:  # an unkeyed checkpoint would never be used without a person's say
        from socialhub.audit.checkpoint import write_checkpoint

        checkpoint = write_checkpoint(st, result, log_._keys, log_._anchor,
                                      by="airflow:socialhub_housekeeping.verify_audit")["seq"]
    return {"ok": True, "events": result.events, "head": result.last_hash,
            "warnings": [f.kind for f in result.warnings], "mode": result.mode,
            "verified": [result.verified_from, result.verified_to], "checkpoint": checkpoint,
            "segments": result.segments, "segments_sealed_late": [ev["details"]["segment"] for ev in sealed]}


def check_staleness() -> dict[str, Any]:
    """Tell the platform team about every platform with no successful collection for 3x its interval.

    Runs in ``socialhub_watchdog``, independent of ``socialhub_collect``, so it speaks even while a
    collection run hangs. A notice that cannot be delivered fails the task (its state is not saved,
    so the next run tries again).
    """
    from socialhub import staleness
    from socialhub_airflow.notifiers import tell_platform_team

    st, at = store(), now()
    authorised = watchlist(st).authorised(at.date())[0]
    intervals = staleness.platform_intervals(authorised)
    result = staleness.check_staleness(intervals, staleness.last_successes(st, intervals), at,
                                       staleness.load_state(st))
    undelivered = []
    for text in result.notices:
        log.warning("%s", text)
        if tell_platform_team(text) is None:
            undelivered.append(text)
    if undelivered:
        raise RuntimeError(f"{len(undelivered)} staleness notice(s) could not be sent to the platform team "
                           f"(see the log above): {undelivered[0]}")
    staleness.save_state(st, result.state)
    for h in result.platforms:
        log.info("%s: %s (interval %s, last success %s)", h.platform, "STALE" if h.stale else "ok", h.interval,
                 h.last_success)
    return {"stale": result.stale, "notices": len(result.notices),
            "platforms": [h.to_dict(at) for h in result.platforms]}
