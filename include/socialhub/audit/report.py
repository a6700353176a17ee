"""The auditor's report: what the hub did in a period, from its own records, for a person to check.

An auditor (or an oversight body) asks "what did you collect, about whom, under which
authorisation, what did you alert on, who acted on it, what did you delete, and can we trust
these records?". This module answers from what the pipeline itself wrote:

* the hash-chained audit log (``audit/events/`` and the tasks' ``audit/segments/``): every collection, quality rejection,
  classification, alert, review response, referral, deletion, legal hold, watchlist change,
  report and page access, each with its actor, force and time;
* the per-run summaries in ``reports/collect/`` and ``reports/process/`` (runs from before the
  audit log existed, and run totals);
* optionally Airflow's own run history (the REST API ``/api/v2/dags/{dag_id}/dagRuns``, or the
  metadata database when running inside the API server) for each run's final state;
* the watchlist, for each entry's authorisation status (expired / due for review / ok).

``build_report`` computes a :class:`Report` (pure: it reads, never writes); ``write_report``
renders one HTML page and one CSV per table; ``record_report_event`` records that the report
was produced (it is an export, so it is audited like one, with the SHA-256 of each file).
``run_report_cli`` is ``socialhub audit report``.

Per-force reports show only that force's rows: an event whose ``force`` is another force, or
none, is left out entirely. Runs are shared by all forces, so a run is listed with the counts
of the chosen force only.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from socialhub import subjects as subj
from socialhub.audit import bias as _bias
from socialhub.audit.chain import AuditLog, VerifyResult, verify_chain
from socialhub.audit.outcomes import AUTOMATIC, BY_OFFICER, decision_option, is_timeout, review_outcomes
from socialhub.models import parse_iso, sha256_hex, utc_iso
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
HTML_NAME = "report.html"
DEFAULT_DUE_DAYS = 14
NO_RESPONSES = "no review responses recorded in this period"
#: DAG ids whose runs the report lists when it asks Airflow (and how ``reports/<kind>/`` map to DAGs).
DEFAULT_DAG_IDS = ("socialhub_collect", "socialhub_process", "socialhub_housekeeping")
REPORT_KIND_DAG = {"collect": "socialhub_collect", "process": "socialhub_process"}
#: Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TIME_KEYS = frozenset({"time", "started", "finished", "last", "first_response", "checked_at"})
_WIDE_KEYS = frozenset({"outcome", "reasons", "justification", "purpose", "details", "fields", "reason", "held",
                        "problem", "judgement"})


# --------------------------------------------------------------------------------------------- model


@dataclass
class Column:
    key: str
    heading: str
    numeric: bool = False
    html: bool = True          # False: in the CSV only (technical detail a reader of the page does not need)
    csv: bool = True           # False: on the page only (several CSV columns shown together, to fit the screen)


@dataclass
class Table:
    """One section of the report and one CSV file (``<name>.csv``)."""

    name: str
    title: str
    intro: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    empty: str
    notes: list[str] = field(default_factory=list)
    #: a row key holding a subject category (``socialhub.subjects``): the page shows one table per
    #: category, so victims, witnesses and people at risk are never listed among suspects
    group: str | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    def row_groups(self) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """(category, heading, rows) per subject category present, suspects first; ``[("", "", rows)]``
        for a table that is not grouped."""
        if not self.group:
            return [("", "", self.rows)]
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in self.rows:
            groups.setdefault(subj.normalise(row.get(self.group)), []).append(row)
        return [(k, subj.group_title(k), rows) for k, rows in sorted(groups.items(), key=lambda kv: subj.rank(kv[0]))]


@dataclass
class SummaryItem:
    label: str
    value: str
    hint: str = ""
    attention: bool = False


@dataclass
class Report:
    start: datetime            # inclusive, UTC
    end: datetime              # exclusive, UTC
    force: str | None
    generated_at: datetime
    chain: VerifyResult
    summary: list[SummaryItem]
    tables: list[Table]
    sources: list[str]
    warnings: list[str]
    due_days: int = DEFAULT_DUE_DAYS
    forces: list[str] = field(default_factory=list)   # every force seen (for the page's chooser)

    @property
    def period_label(self) -> str:
        last = self.end - timedelta(seconds=1)
        if self.start.time() == time(0) and self.end.time() == time(0):
            return f"{self.start.date().isoformat()} to {last.date().isoformat()} (UTC, both days included)"
        return f"{utc_iso(self.start)} to {utc_iso(self.end)}"

    @property
    def scope_label(self) -> str:
        return f"force {self.force} only" if self.force else "all forces"

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)


# --------------------------------------------------------------------------------------------- helpers


def period_bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """Dates are whole UTC days, both included; datetimes are taken as given (end exclusive)."""
    def as_dt(v: date | datetime, *, is_end: bool) -> datetime:
        if isinstance(v, datetime):
            return v if v.tzinfo else v.replace(tzinfo=UTC)
        d = v + timedelta(days=1) if is_end else v
        return datetime.combine(d, time(0), tzinfo=UTC)

    s, e = as_dt(start, is_end=False), as_dt(end, is_end=True)
    if e <= s:
        raise ValueError(f"the period is empty: {s.isoformat()} is not before {e.isoformat()}")
    return s, e


def _t(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parse_iso(str(value))
    except ValueError:
        return None


def _fmt_time(value: Any) -> str:
    dt = _t(value)
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else ""


def fmt_duration(seconds: float | None) -> str:
    """``3 d 4 h``, ``2 h 05 min``, ``7 min``, ``40 s``: readable, and sortable within a unit."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 0:
        return f"{s} s"
    if s < 60:
        return f"{s} s"
    m = s // 60
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m:02d} min"
    d, h = divmod(h, 24)
    return f"{d} d {h} h"


_CHECK_WORDS = {
    "expect_column_values_to_not_be_null": "missing",
    "expect_column_values_to_match_regex": "wrong format",
    "expect_column_values_to_match_strftime_format": "not a real date and time",
    "expect_column_values_to_be_between": "out of range (in the future or too old)",
    "expect_column_values_to_be_in_set": "unknown value",
    "expect_compound_columns_to_be_unique": "the same post twice",
    "expect_column_pair_values_a_to_be_greater_than_b": "in the wrong order",
    "expect_column_values_to_be_of_type": "wrong type",
}


def describe_check(label: str) -> str:
    """``expect_column_values_to_match_regex(url)`` -> ``url: wrong format`` (unknown labels unchanged)."""
    name, _, cols = label.partition("(")
    words = _CHECK_WORDS.get(name)
    if not words or not cols.endswith(")"):
        return label
    cols = cols[:-1].replace("_epoch", "").replace(",", " and ")
    return f"{cols}: {words}"


def describe_actor(actor: Mapping[str, Any] | None) -> str:
    """Who did it, in words: a person's name, or the Airflow task (DAG, task, run) that did it."""
    if not actor:
        return "unknown"
    kind = actor.get("kind")
    if kind == "task":
        where = ".".join(str(actor[k]) for k in ("dag_id", "task_id") if actor.get(k))
        return f"Airflow task {where}" + (f" (run {actor['run_id']})" if actor.get("run_id") else "")
    name = actor.get("name") or actor.get("username") or actor.get("id") or "unknown"
    via = f" via {actor['via']}" if actor.get("via") else ""
    if kind == "person":
        return f"{name}{via}"
    return f"{name} ({kind}){via}" if kind else f"{name}{via}"


def _post_id(post_key: str) -> str:
    """``youtube:abc`` -> ``abc`` (the platform is in the account beside it)."""
    return str(post_key).partition(":")[2] or str(post_key)


def _middle(text: str, limit: int) -> str:
    """Long ids shortened in the middle for the page (the CSV keeps them whole)."""
    return text if len(text) <= limit else f"{text[:limit - 13]}…{text[-12:]}"


def _name(actor: Mapping[str, Any] | None) -> str:
    """Just who (a person's name, or the task), without the "via" that the CSV keeps."""
    return describe_actor({k: v for k, v in (actor or {}).items() if k != "via"})


def _compact(d: Mapping[str, Any] | None, skip: Iterable[str] = ()) -> str:
    if not d:
        return ""
    skip = set(skip)
    parts = []
    for k, v in d.items():
        if k in skip or v in (None, "", [], {}):
            continue
        if isinstance(v, (dict, list)):
            v = json.dumps(v, ensure_ascii=False, sort_keys=True)
        parts.append(f"{k}: {v}")
    return "; ".join(parts)


def referral_details(d: Mapping[str, Any]) -> str:
    """A referral event's details in words: the public post, the package in the store and its files.

    No local file paths: a ``file://`` location is shown as the package's key in the store.
    """
    parts = []
    if d.get("permalink"):
        parts.append(f"public post {d['permalink']}")
    location = str(d.get("location") or "")
    if location.startswith("s3://"):
        parts.append(f"package {location}")
    elif d.get("manifest"):
        parts.append(f"package {str(d['manifest']).rsplit('/', 1)[0]}/ in the store")
    files = [str(f) for f in d.get("files") or []]
    if files:
        parts.append(f"{len(files)} file(s): {', '.join(files)}")
    skip = {"kind", "alert_id", "post", "location", "manifest", "files", "permalink", "referral_id", "channel"}
    for k, v in d.items():
        if k in skip or v in (None, "", [], {}) or isinstance(v, (dict, list)):
            continue
        text = str(v)
        if text.startswith(("file:", "/")):
            continue
        parts.append(f"{k.replace('_', ' ')}: {text}")
    return "; ".join(parts)


def describe_watchlist_change(d: Mapping[str, Any]) -> str:
    """What changed for one watchlist entry, in words."""
    change = d.get("change", "")
    fields = d.get("fields") or {}
    diffs = "; ".join(f"{k.replace('_', ' ')}: {v[0]} -> {v[1]}" for k, v in sorted(fields.items())
                      if isinstance(v, list) and len(v) == 2)
    if diffs:
        return diffs
    facts = ", ".join(x for x in (f"authorisation {d['authorisation_ref']}" if d.get("authorisation_ref") else "",
                                  f"review by {d['review_by']}" if d.get("review_by") else "") if x)
    if change == "added":
        start = "on the watchlist when recording began" if d.get("first_snapshot") else "added"
        return f"{start}{': ' + facts if facts else ''}"
    if change == "removed":
        return f"removed{' (was ' + facts + ')' if facts else ''}"
    return facts


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas: a text cell starting with = + - @ (or tab/CR) gets a leading '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def table_csv(table: Table) -> bytes:
    """The table as UTF-8 CSV with a heading row; every text cell made formula-safe."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    columns = [c for c in table.columns if c.csv]
    w.writerow([csv_safe(c.heading) for c in columns])
    for row in table.rows:
        w.writerow([csv_safe("" if row.get(c.key) is None else row.get(c.key)) for c in columns])
    return buf.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------- runs


def airflow_runs(base_url: str, *, start: datetime, end: datetime, token: str | None = None,
                 username: str | None = None, password: str | None = None,
                 dag_ids: Sequence[str] | None = None, client: Any = None, timeout: float = 20.0,
                 max_pages: int = 50) -> list[dict[str, Any]]:
    """Runs of the socialhub DAGs from Airflow's REST API (``/api/v2/dags/{dag_id}/dagRuns``).

    Authenticates with ``token`` (a JWT) or exchanges ``username``/``password`` at ``/auth/token``
    (the auth manager's token endpoint). A DAG Airflow does not know (404) is skipped, any other
    error raises ``httpx.HTTPError``: the caller decides whether the report goes on without it.
    """
    import httpx

    own = client is None
    http = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
    try:
        if not token and username:
            r = http.post("/auth/token", json={"username": username, "password": password or ""})
            r.raise_for_status()
            token = r.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        runs: list[dict[str, Any]] = []
        for dag_id in dag_ids or DEFAULT_DAG_IDS:
            offset = 0
            for _ in range(max_pages):
                r = http.get(f"/api/v2/dags/{dag_id}/dagRuns", headers=headers, params={
                    "run_after_gte": start.isoformat(), "run_after_lte": end.isoformat(),
                    "limit": 100, "offset": offset, "order_by": "run_after"})
                if r.status_code == 404:
                    break
                r.raise_for_status()
                body = r.json()
                page = list(body.get("dag_runs") or [])
                runs.extend({**run, "dag_id": run.get("dag_id") or dag_id} for run in page)
                offset += len(page)
                total = body.get("total_entries")
                if not page or (total is not None and offset >= total):
                    break
        return runs
    finally:
        if own:
            http.close()


def airflow_db_runs(start: datetime, end: datetime, dag_ids: Sequence[str] = DEFAULT_DAG_IDS
                    ) -> list[dict[str, Any]]:
    """The same run history read from Airflow's metadata database (inside the API server)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(DagRun).where(DagRun.dag_id.in_(list(dag_ids)),
                                                    DagRun.run_after >= start, DagRun.run_after < end)
                               .order_by(DagRun.run_after)).all()
        return [{"dag_id": r.dag_id, "dag_run_id": r.run_id, "state": str(r.state.value if hasattr(r.state, "value")
                                                                           else r.state),
                 "start_date": r.start_date.isoformat() if r.start_date else None,
                 "end_date": r.end_date.isoformat() if r.end_date else None,
                 "run_after": r.run_after.isoformat() if r.run_after else None,
                 "run_type": str(getattr(r.run_type, "value", r.run_type))} for r in rows]


# --------------------------------------------------------------------------------------------- build


@dataclass
class _Run:
    dag_id: str
    run_id: str
    started: datetime | None = None
    finished: datetime | None = None
    state: str = ""
    run_type: str = ""
    sources: set[str] = field(default_factory=set)
    ok: int = 0
    failed: int = 0
    lapsed: set[str] = field(default_factory=set)
    posts: int = 0
    batches: int = 0
    rejected: int = 0
    held: int = 0
    alerts: int = 0
    deleted: int = 0
    events: int = 0
    from_report: dict[str, Any] = field(default_factory=dict)

    def seen(self, at: datetime | None) -> None:
        if at is None:
            return
        self.started = at if self.started is None or at < self.started else self.started
        self.finished = at if self.finished is None or at > self.finished else self.finished


def _run_rows(store: ObjectStore, events: list[dict[str, Any]], runs: list[dict[str, Any]] | None,
              start: datetime, end: datetime, force: str | None, warnings: list[str]) -> list[dict[str, Any]]:
    table: dict[tuple[str, str], _Run] = {}

    def get(dag_id: str, run_id: str) -> _Run:
        return table.setdefault((dag_id, run_id), _Run(dag_id, run_id))

    for ev in events:   # already filtered by period and force
        actor = ev.get("actor") or {}
        if actor.get("kind") != "task" or not actor.get("run_id"):
            continue
        run = get(str(actor.get("dag_id") or "?"), str(actor["run_id"]))
        run.sources.add("audit log")
        run.events += 1
        run.seen(_t(ev.get("time")))
        details = ev.get("details") or {}
        action = ev["action"]
        if action == "collect":
            run.ok += 1
            run.posts += int(details.get("posts") or 0)
        elif action == "collect_failed":
            run.failed += 1
        elif action == "authorisation_lapsed":
            run.lapsed.add(ev.get("object", ""))
        elif action == "classify":
            run.batches += 1
        elif action == "quality_hold":
            run.held += 1
            run.batches += 1
        elif action == "quality_reject":
            run.rejected += int(details.get("rows") or 0)
        elif action == "alert":
            run.alerts += 1
        elif action == "deletion":
            run.deleted += 1

    for kind, dag_id in REPORT_KIND_DAG.items():
        for key in store.list(f"reports/{kind}/"):
            try:
                rep = json.loads(store.get(key))
            except (ValueError, KeyError):
                warnings.append(f"run summary {key} could not be read")
                continue
            finished = _t(rep.get("finished_at"))
            if finished is None or not (start <= finished < end):
                continue
            run_id = str(rep.get("run_id") or key.rsplit("/", 1)[-1].removesuffix(".json"))
            if force and (dag_id, run_id) not in table:
                # a per-force report lists a shared run only when it touched that force
                if kind != "collect" or not any(o.get("force") == force for o in rep.get("outcomes", [])):
                    continue
            run = get(dag_id, run_id)
            run.sources.add("run summary")
            run.from_report = rep
            run.finished = finished if run.finished is None or finished > run.finished else run.finished
            if run.started is None:
                run.started = finished

    for r in runs or []:
        dag_id, run_id = str(r.get("dag_id")), str(r.get("dag_run_id") or r.get("run_id"))
        at = _t(r.get("start_date")) or _t(r.get("run_after"))
        if at is not None and not (start <= at < end):
            continue
        if force and (dag_id, run_id) not in table:
            continue   # Airflow knows nothing about forces: only runs that touched this force are listed
        run = get(dag_id, run_id)
        run.sources.add("Airflow")
        run.state = str(r.get("state") or "")
        run.run_type = str(r.get("run_type") or "")
        run.started = _t(r.get("start_date")) or run.started
        run.finished = _t(r.get("end_date")) or run.finished

    rows = []
    for run in sorted(table.values(), key=lambda x: (x.started or x.finished or start, x.dag_id, x.run_id)):
        rep = run.from_report
        if rep and run.events == 0:   # a run from before the audit log: take its own summary
            if run.dag_id == REPORT_KIND_DAG["collect"]:
                outs = [o for o in rep.get("outcomes", []) if not force or o.get("force") == force]
                run.ok = sum(1 for o in outs if o.get("status") == "ok")
                run.failed = sum(1 for o in outs if o.get("status") == "error")
                run.posts = sum(int(o.get("posts") or 0) for o in outs)
                run.lapsed = {lp["key"] for lp in rep.get("accounts_lapsed", []) if not force or lp.get("force") == force}
            elif not force:
                run.batches = int(rep.get("batches") or 0)
                run.rejected = int(rep.get("quarantined") or 0)
                run.held = len(rep.get("held_batches") or [])
                run.alerts = int((rep.get("alerts") or {}).get("delivered") or 0)
        problems = []
        if run.failed:
            problems.append(f"{run.failed} account(s) could not be collected")
        if run.lapsed:
            problems.append(f"{len(run.lapsed)} account(s) not collected: authorisation lapsed")
        if run.held:
            problems.append(f"{run.held} batch(es) held by the quality gate")
        if run.state and run.state not in ("success", "running", "queued"):
            problems.insert(0, f"Airflow run {run.state}")
        rows.append({
            "dag_id": run.dag_id, "run_id": run.run_id, "started": _fmt_time(run.started),
            "finished": _fmt_time(run.finished), "state": run.state or "not asked",
            "outcome": "; ".join(problems) if problems else "no problems recorded",
            "accounts_ok": run.ok, "accounts_failed": run.failed, "accounts_lapsed": len(run.lapsed),
            "posts": run.posts, "batches": run.batches, "rejected": run.rejected, "held": run.held,
            "alerts": run.alerts, "sources": ", ".join(sorted(run.sources)),
            "run_html": f"{run.dag_id.removeprefix('socialhub_')}: {run.run_id}",
            "when_html": _span(run.started, run.finished),
            "accounts_html": f"{run.ok} / {run.failed} / {len(run.lapsed)}",
        })
    return rows


def _span(start: datetime | None, end: datetime | None) -> str:
    """``2026-12-03 09:17 to 09:40 UTC``: one readable cell for a run's start and end."""
    a, b = _fmt_time(start), _fmt_time(end)
    if not a or not b or a == b:
        return a or b
    if a[:10] == b[:10]:
        return f"{a.removesuffix(' UTC')} to {b[11:]}"
    return f"{a.removesuffix(' UTC')} to {b}"


def _collect_outcomes(store: ObjectStore, start: datetime, end: datetime) -> list[tuple[datetime, dict[str, Any]]]:
    """Per-account outcomes from the collection runs' summaries that finished in the period."""
    out = []
    for key in store.list("reports/collect/"):
        try:
            rep = json.loads(store.get(key))
        except (ValueError, KeyError):
            continue
        finished = _t(rep.get("finished_at"))
        if finished is not None and start <= finished < end:
            out += [(finished, o) for o in rep.get("outcomes", []) if isinstance(o, dict)]
    return out


def _in_scope(ev: Mapping[str, Any], force: str | None) -> bool:
    return force is None or ev.get("force") == force


def _batch_accounts(store: ObjectStore, events: list[dict[str, Any]]) -> dict[str, str]:
    """batch id -> ``platform:account``, from collect events (then results/ for older batches)."""
    out: dict[str, str] = {}
    for ev in events:
        if ev["action"] == "collect" and (ev.get("details") or {}).get("batch_id"):
            out[ev["details"]["batch_id"]] = ev.get("object", "")
    return out


def _account_of(store: ObjectStore, batch_id: str, known: dict[str, str]) -> str:
    if batch_id in known:
        return known[batch_id]
    from socialhub.process import result_key

    raw = store.get_or_none(result_key(batch_id)) if batch_id else None
    if raw:
        rec = json.loads(raw)
        known[batch_id] = f"{rec.get('platform')}:{rec.get('account')}"
        return known[batch_id]
    return ""


def _classifier_rows(store: ObjectStore, events: list[dict[str, Any]], by_action: Mapping[str, list[dict[str, Any]]]
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of the classifier-version tables: versions used (live, from ``classify`` events; shadow,
    from the result records of those batches) and promotions (``classifier_promote`` events)."""
    from socialhub.process import result_key

    used: dict[tuple[str, str], dict[str, Any]] = {}

    def note(role: str, vid: str, name: str, at: str, posts: int, flagged: int) -> None:
        row = used.setdefault((role, vid or name), {"role": role, "id": vid or "not recorded", "classifier_version": name,
                                                    "batches": 0, "posts": 0, "flagged": 0, "first_used": at,
                                                    "last_used": at})
        row["batches"] += 1
        row["posts"] += posts
        row["flagged"] += flagged
        row["first_used"], row["last_used"] = min(row["first_used"], at), max(row["last_used"], at)

    for ev in by_action.get("classify", []):
        d = ev.get("details") or {}
        at = _fmt_time(ev.get("time"))
        note("live", str(d.get("classifier_id") or ""), str(d.get("classifier_version") or ""), at,
             int(d.get("valid") or 0), int(d.get("flagged") or 0))
        batch = str(ev.get("object", "")).removeprefix("batch:")
        raw = store.get_or_none(result_key(batch)) if batch else None
        shadow = (json.loads(raw).get("shadow") if raw else None) or {}
        if shadow.get("id"):
            note("shadow (never alerted)" if not shadow.get("error") else "shadow (failed)", str(shadow["id"]), "",
                 at, int(shadow.get("posts") or 0), int(shadow.get("flagged") or 0))
    records: dict[str, dict[str, Any]] = {}
    for key in store.list("classifiers/versions/"):
        if key.endswith("/record.json"):
            try:
                rec = json.loads(store.get(key))
                records[rec["id"]] = rec
            except (ValueError, KeyError):
                continue
    rows = []
    for row in used.values():
        rec = records.get(row["id"])
        if rec:
            row["classifier_version"] = row["classifier_version"] or rec.get("classifier_version", "")
            row["thresholds"] = ", ".join(f"{c} {t:g}" for c, t in (rec.get("thresholds") or {}).items())
        else:
            row["thresholds"] = "not recorded"
        rows.append(row)
    rows.sort(key=lambda r: (r["role"] != "live", r["first_used"], r["id"]))
    promotions = []
    for ev in by_action.get("classifier_promote", []):
        d = ev.get("details") or {}
        ev_att, sh_att = d.get("evaluation") or {}, d.get("shadow") or {}
        promotions.append({
            "time": _fmt_time(ev.get("time")), "id": str(ev.get("object", "")).removeprefix("classifier:"),
            "previous": d.get("previous", ""), "by": describe_actor(ev.get("actor")),
            "why": ev.get("justification") or "",
            "evaluation": (f"{ev_att.get('file', '')} (SHA-256 {str(ev_att.get('sha256', ''))[:12]})"
                           if ev_att.get("sha256") else "none"),
            "shadow": _compact({k: v for k, v in sh_att.items() if not isinstance(v, (dict, list))})
            if sh_att and sh_att.get("attached") is not False else "none"})
    return rows, promotions


#: said under each table grouped by subject category
GROUPED_INTRO = (" Listed by subject category (suspects; victims, witnesses and people at risk, each apart; then "
                 "unknown or not recorded): a victim or witness is never shown among suspects.")


def _subject_cells(value: object) -> dict[str, str]:
    """The row cells of a subject category: in words (CSV and page) and the group it is listed in."""
    return {"subject": subj.name(value), "subject_group": subj.normalise(value)}


def _by_subject(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` one subject category after another (stable: each category keeps the rows' order)."""
    return sorted(rows, key=lambda r: subj.rank(r.get("subject_group")))


def _watchlist_entries(store: ObjectStore, watchlist: Any, sources: list[str]) -> list[dict[str, Any]] | None:
    if watchlist is not None:
        sources.append("Watchlist: the watchlist file given to the report")
        return [e.model_dump(mode="json") if hasattr(e, "model_dump") else dict(e)
                for e in getattr(watchlist, "accounts", watchlist)]
    raw = store.get_or_none("state/watchlist/snapshot.json")
    if raw:
        sources.append("Watchlist: the snapshot taken by the last collection run (no watchlist file given)")
        return list(json.loads(raw).get("entries", {}).values())
    return None


def _source_health_table(store: ObjectStore, wl_entries: list[dict[str, Any]] | None, force: str | None,
                         now: datetime, by_action: Mapping[str, list[dict[str, Any]]]) -> Table:
    """Each watched account's source health now (``socialhub sources``), and its changes in the period."""
    from types import SimpleNamespace

    from socialhub.sources.health import HealthSettings, describe, health_table

    settings = HealthSettings.from_env()
    entries = [SimpleNamespace(platform=e.get("platform"), account=e.get("account"), subject=e.get("subject"))
               for e in wl_entries or [] if not force or e.get("force") == force]
    changes: dict[str, int] = {}
    for ev in by_action.get("source_health", []):
        changes[str(ev.get("object", ""))] = changes.get(str(ev.get("object", "")), 0) + 1
    rows = []
    for rec in health_table(store, entries, now, settings):
        rows.append({"account": rec.key, "state": rec.state.replace("_", " "), "since": _fmt_time(rec.since),
                     "last_success": _fmt_time(rec.last_success), "last_post": _fmt_time(rec.last_post_at),
                     "failures": rec.consecutive_failures,
                     "review": "review authorisation" if rec.review_authorisation else "",
                     "changes": changes.get(rec.key, 0),
                     "what_to_do": "" if rec.state in ("ok", "never_polled") and not rec.review_authorisation
                     else describe(rec, settings), **_subject_cells(rec.subject)})
    return Table(
        "source_health", "Source health of the watched accounts",
        "Each watched account's state as collection last found it (ok, silent, renamed, moved, suspended, deleted, "
        f"private, not found, failing), since when, its last successful poll and post, and the state changes in the "
        f"period (each told once to the owning team). 'Review authorisation': gone or silent for "
        f"{settings.review_days} days or more." + GROUPED_INTRO,
        [Column("account", "Account"), Column("subject", "Subject", html=False), Column("state", "State"),
         Column("since", "Since"), Column("last_success", "Last success"), Column("last_post", "Last post"),
         Column("failures", "Failures", True), Column("changes", "Changes in period", True),
         Column("review", "Review"), Column("what_to_do", "What to do", html=False)],
        _by_subject(rows), "No watchlist was available to the report." if wl_entries is None
        else "No watched account in this scope.", group="subject_group")


def _register_tables(store: ObjectStore, register: Any, by_action: Mapping[str, list[dict[str, Any]]],
                     wl_entries: list[dict[str, Any]] | None, force: str | None, today: date,
                     warnings: list[str], sources: list[str]) -> list[Table]:
    """The authorisation register as it stands on ``today``, and its changes in the period."""
    from socialhub.errors import SocialhubError
    from socialhub.governance.authorisations import load_register

    if register == "env":
        from socialhub.config import Settings

        try:
            register = load_register(store, Settings.from_env().authorisations)
        except SocialhubError as exc:
            warnings.append(f"The authorisation register could not be read: {exc}")
            register = None
    rows: list[dict[str, Any]] = []
    if register is not None:
        sources.append("Authorisation register: governance/authorisations/ in the store"
                       + (" and the register file" if "file" in register.sources.values() else ""))
        refs = {str(e.get("authorisation_ref")) for e in wl_entries or [] if not force or e.get("force") == force}
        for row in register.rows(today):
            if force and row["reference"] not in refs:
                continue
            row["status"] = {"review_due": "review due", "not_yet_in_force": "not yet in force",
                             "active": "in force"}.get(str(row["status"]), row["status"])
            row["type"] = {"directed_surveillance": "directed surveillance (RIPA)",
                           "overt_open_source": "overt open source"}.get(str(row["type"]), row["type"])
            rows.append(row)
    keep = register.policy.keep_years_after_end if register is not None else 3
    register_table = Table(
        "authorisation_register", "Authorisation register",
        f"Every authorisation in the register as of {today.isoformat()}: who granted it (name and rank), for which "
        "operation and accounts, its expiry (the first day without cover), reviews, renewals and cancellation. "
        "A watchlist entry is collected only while the authorisation it names is in force and covers it. "
        f"Records are kept {keep} years after an authorisation ends, even after the data it covered is erased.",
        [Column("reference", "Reference"), Column("type", "Type"), Column("status", "Status"),
         Column("operation", "Operation"), Column("authorising_officer", "Authorised by"),
         Column("granted_on", "Granted"), Column("expires_on", "No cover from"),
         Column("next_review", "Next review"), Column("reviews", "Reviews", True, html=False),
         Column("last_review", "Last review"), Column("renewals", "Renewals", True, html=False),
         Column("cancelled", "Cancelled"), Column("accounts", "Accounts covered"),
         Column("necessity", "Necessity", html=False), Column("keep_until", "Keep record until")],
        rows, "No authorisation register is in use: each watchlist entry's review-by date alone decides whether it "
              "is collected (set SOCIALHUB_AUTHORISATIONS or record authorisations with `socialhub authorisations "
              "grant`)." if register is None else "No authorisation in the register for this scope.")
    ch_rows = []
    for ev in by_action.get("authorisation", []):
        d = ev.get("details") or {}
        body = d.get("body") or {}
        officer = body.get("authorising_officer") or body.get("by") or body.get("reviewer") or {}
        ch_rows.append({"time": _fmt_time(ev.get("time")), "reference": d.get("reference", ""),
                        "change": d.get("op", ""), "effective": body.get("on") or body.get("granted_on") or "",
                        "officer": f"{officer.get('rank', '')} {officer.get('name', '')}".strip(),
                        "recorded_by": _name(ev.get("actor")), "why": ev.get("justification") or "",
                        "status_after": d.get("status_after", "")})
    changes_table = Table(
        "authorisation_changes", "Authorisation changes",
        "Each grant, review, renewal and cancellation recorded in the period: the officer who made the decision, "
        "who recorded it, and why.",
        [Column("time", "Recorded"), Column("reference", "Reference"), Column("change", "Change"),
         Column("effective", "Effective"), Column("officer", "Officer"), Column("recorded_by", "Recorded by"),
         Column("why", "Why"), Column("status_after", "Status after")],
        ch_rows, "No authorisation was granted, reviewed, renewed or cancelled in this period.")
    return [register_table, changes_table]


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.0%}"


def _referral_tables(store: ObjectStore, start: datetime, end: datetime, force: str | None, now: datetime,
                     sources: list[str]) -> tuple[list[Table], dict[str, Any]]:
    """What became of the referrals made in the period (the referral register; see referrals/stats.py)."""
    from socialhub.referrals.register import all_referrals
    from socialhub.referrals.stats import figures, grouped, in_period

    refs = in_period(all_referrals(store), start, end, force)
    if refs:
        sources.append("Referral register: referrals/register/ in the store (each referral and its status history)")
    total = figures(refs)
    rows: list[dict[str, Any]] = []
    for (platform, frc, category), f in grouped(refs, lambda r: (str(r.record.get("platform") or ""),
                                                                 str(r.record.get("force") or ""),
                                                                 str(r.record.get("category") or ""))):
        rows.append({"platform": platform, "force": frc, "category": category,
                     "group_html": f"{platform} · {frc} · {category}", **_outcome_cells(f)})
    if len(rows) > 1:
        rows.append({"platform": "all", "force": "all", "category": "all", "group_html": "all referrals",
                     **_outcome_cells(total)})
    notes = []
    if refs:
        notes.append(f"{total['music_or_drill']} of {total['referrals']} referral(s) ({_pct(total['music_share'])}) "
                     "were about a post with a music or drill cue (music_markers on the referred post's text).")
        if total["median_seconds"] is not None:
            notes.append(f"Time to removal over all {total['removals_timed']} removal(s): median "
                         f"{fmt_duration(total['median_seconds'])}, 90th percentile {fmt_duration(total['p90_seconds'])}.")
    outcomes_table = Table(
        "referral_outcomes", "Referrals to platforms: outcomes",
        "Referrals made in the period by platform, force and category, and what the platform did, from the referral "
        "register: removed; restricted (limited but reachable); rejected (the platform declined); still online (a "
        "check found it up); unavailable (gone without a removal notice); pending (no outcome yet). The removal rate "
        "is removed / referrals; the time to removal runs from the officer's decision to the removal (median and "
        "90th percentile, nearest rank).",
        [Column("platform", "Platform", html=False), Column("force", "Force", html=False),
         Column("category", "Category", html=False), Column("group_html", "Platform · force · category", csv=False),
         Column("referrals", "Referrals", True), Column("removed", "Removed", True),
         Column("removal_rate", "Removal rate"), Column("median", "Median time to removal"),
         Column("p90", "90th percentile"), Column("restricted", "Restricted", True),
         Column("rejected", "Rejected", True), Column("still_online", "Still online", True),
         Column("unavailable", "Unavailable", True, html=False), Column("pending", "Pending", True),
         Column("no_outcome", "Closed without outcome", True, html=False),
         Column("median_seconds", "Median time to removal (s)", True, html=False),
         Column("p90_seconds", "90th percentile (s)", True, html=False),
         Column("music_or_drill", "Music or drill", True), Column("escalated", "Escalated", True, html=False)],
        rows, "No referral to a platform was made in this period.", notes)

    online_rows = []
    for r in refs:
        if not r.still_online:
            continue
        rec = r.record
        check = r.last_check or {}
        since = _t(r.referred_at)
        online_rows.append({
            "referred": _fmt_time(r.referred_at), "referral_id": r.referral_id, "platform": rec.get("platform", ""),
            "force": rec.get("force", ""), "team": rec.get("team", ""), "category": rec.get("category", ""),
            "url": rec.get("url") or "", "account": rec.get("account") or "", "status": r.status.replace("_", " "),
            "last_check": _fmt_time(check.get("at")) if check else "never checked",
            "days": round((now - since).total_seconds() / 86400, 1) if since else "",
            "escalated": _fmt_time((r.escalation or {}).get("at")) if r.escalated else "no",
            "referred_by": ((rec.get("referred_by") or {}).get("name") or ""),
            "reply": (r.platform_reply or {}).get("platform_decision") or ""})
    online_table = Table(
        "referrals_still_online", "Referred posts still online",
        "Referrals made in the period whose post was still up when last seen (a check found it, or the platform "
        "rejected the referral), oldest first: what the re-check and escalation work on.",
        [Column("referred", "Referred"), Column("referral_id", "Referral"), Column("platform", "Platform"),
         Column("force", "Force", html=False), Column("team", "Team", html=False), Column("category", "Category"),
         Column("url", "Post"), Column("account", "Account", html=False), Column("status", "Status"),
         Column("last_check", "Last checked"), Column("days", "Days since referral", True),
         Column("escalated", "Escalated"), Column("referred_by", "Referred by", html=False),
         Column("reply", "Platform's decision", html=False)],
        online_rows, "No post referred in this period is known to be still online.")

    officer_rows = []
    for (name,), f in grouped(refs, lambda r: (str((r.record.get("referred_by") or {}).get("name") or "unknown"),)):
        decided = f["acted"] + f["rejected"]
        officer_rows.append({"officer": name, "referrals": f["referrals"], "acted": f["acted"],
                             "rejected": f["rejected"], "still_online": f["still_online"],
                             "unavailable": f["unavailable"], "pending": f["pending"] + f["no_outcome"],
                             "agreed": _pct(f["acted"] / decided) if decided else "no platform decision yet"})
    officer_table = Table(
        "referral_outcomes_by_officer", "Platforms' decisions against the officers' referrals",
        "For each officer who referred posts in the period: how often the platform acted (removed or restricted "
        "the post), rejected the referral, or has not decided. 'Platform agreed' is acted / (acted + rejected). A "
        "low figure is a question for the referral criteria, not proof that the officer was wrong: platforms apply "
        "their own rules.",
        [Column("officer", "Referring officer"), Column("referrals", "Referrals", True),
         Column("acted", "Platform acted", True), Column("rejected", "Rejected", True),
         Column("still_online", "Still online, no decision", True), Column("unavailable", "Unavailable", True),
         Column("pending", "No outcome yet", True), Column("agreed", "Platform agreed")],
        officer_rows, "No referral to a platform was made in this period.")
    return [outcomes_table, online_table, officer_table], {"figures": total, "still_online": len(online_rows)}


def _removal_summary(f: Mapping[str, Any]) -> SummaryItem:
    if not f["referrals"]:
        return SummaryItem("Referred posts removed", "0", "no referral made in this period")
    hint = f"removal rate {_pct(f['removal_rate'])}"
    if f["median_seconds"] is not None:
        hint += (f"; time to removal: median {fmt_duration(f['median_seconds'])}, 90th percentile "
                 f"{fmt_duration(f['p90_seconds'])}")
    return SummaryItem("Referred posts removed", f"{f['removed']} of {f['referrals']}", hint)


def _outcome_cells(f: Mapping[str, Any]) -> dict[str, Any]:
    return {**{k: f[k] for k in ("referrals", "removed", "restricted", "rejected", "still_online", "unavailable",
                                 "music_or_drill", "escalated")},
            "pending": f["pending"], "no_outcome": f["no_outcome"],
            "removal_rate": _pct(f["removal_rate"]), "median": fmt_duration(f["median_seconds"]),
            "p90": fmt_duration(f["p90_seconds"]), "median_seconds": f["median_seconds"],
            "p90_seconds": f["p90_seconds"]}


def build_report(store: ObjectStore, *, start: date | datetime, end: date | datetime, force: str | None = None,
                 watchlist: Any = None, runs: list[dict[str, Any]] | None = None, now: datetime | None = None,
                 due_days: int = DEFAULT_DUE_DAYS, runs_note: str | None = None,
                 store_label: str | None = None, audit_keys: Any = "env", authorisations: Any = "env") -> Report:
    """Compute the report for ``[start, end]`` (dates: whole UTC days, both included).

    ``force`` restricts every row to that force. ``watchlist`` (a ``Watchlist`` or a list of
    entries) gives the authorisation status table; without it the store's last watchlist
    snapshot is used. ``runs`` are Airflow run records (REST API or DB shape) merged into the
    run table; ``runs_note`` says where they came from (or why they are missing); ``store_label``
    names the store read (default: from the store itself). ``authorisations`` is the authorisation
    register (``"env"``: the file ``SOCIALHUB_AUTHORISATIONS`` names, if any, and the store's records).
    """
    now = now or datetime.now(UTC)
    start_dt, end_dt = period_bounds(start, end)
    from socialhub.audit.where import store_label as _label

    where = store_label or _label(store)
    sources = [f"Store read: {where}",
               "Audit log: the hash-chained, append-only event log in the store (audit/events/)",
               "Run summaries: reports/collect/ and reports/process/ in the store"]
    if runs_note:
        sources.append(runs_note)
    warnings: list[str] = []
    chain = verify_chain(store, keys=audit_keys)  # keys: the environment's unless given (Airflow: the Connection's)
    if not chain.ok:
        warnings.append("The audit log failed verification: the figures below come from a log that was altered "
                        "or cut short, so they cannot be relied on until the break is explained.")
    all_events = list(AuditLog(store).events())
    forces = sorted({str(ev["force"]) for ev in all_events if ev.get("force")})

    def in_period(ev: Mapping[str, Any]) -> bool:
        at = _t(ev.get("time"))
        return at is not None and start_dt <= at < end_dt

    events = [ev for ev in all_events if in_period(ev) and _in_scope(ev, force)]
    by_action: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        by_action.setdefault(ev["action"], []).append(ev)
    batch_account = _batch_accounts(store, all_events)

    tables: list[Table] = []

    # --- runs
    run_rows = _run_rows(store, events, runs, start_dt, end_dt, force, warnings)
    tables.append(Table(
        "runs", "Pipeline runs and their outcomes",
        "Each run of the collection, processing and housekeeping DAGs in the period: when it ran, what it did"
        + (f" for {force}" if force else "") + " and any problem it recorded. 'Airflow state' is the run's final "
        "state in Airflow ('not asked' when the report was made without access to Airflow).",
        [Column("dag_id", "DAG", html=False), Column("run_id", "Run", html=False),
         Column("run_html", "DAG: run", csv=False), Column("started", "Started", html=False),
         Column("finished", "Finished", html=False), Column("when_html", "When", csv=False),
         Column("state", "Airflow state"), Column("outcome", "Problems"),
         Column("accounts_ok", "Accounts collected", True, html=False),
         Column("accounts_failed", "Accounts failed", True, html=False),
         Column("accounts_lapsed", "Not collected (lapsed)", True, html=False),
         Column("accounts_html", "Accounts collected / failed / lapsed", True, csv=False),
         Column("posts", "Posts collected", True),
         Column("batches", "Batches processed", True), Column("rejected", "Posts rejected", True),
         Column("held", "Batches held", True), Column("alerts", "Alerts sent", True),
         Column("sources", "Recorded in")],
        run_rows, "No pipeline runs recorded in this period."))

    # --- posts per account
    wl_entries = _watchlist_entries(store, watchlist, sources)
    wl_by_key = {f"{e['platform']}:{e['account']}": e for e in wl_entries or []}

    def subject_of(account: str, recorded: object = None) -> object:
        """An account's subject category: the watchlist's now, else the one recorded with the event,
        else ``None`` (not recorded: an account gone from the watchlist, data from before the category)."""
        value = (wl_by_key.get(account) or {}).get("subject")
        return value if subj.recorded(value) else (recorded if subj.recorded(recorded) else None)

    acc: dict[str, dict[str, Any]] = {}
    for ev in events:
        if ev["action"] not in ("collect", "collect_failed", "authorisation_lapsed"):
            continue
        key = ev.get("object", "")
        details = ev.get("details") or {}
        entry = wl_by_key.get(key, {})
        row = acc.setdefault(key, {"force": ev.get("force") or "", "account": key,
                                   "display_name": entry.get("display_name", ""),
                                   "authorisation_ref": details.get("authorisation_ref")
                                   or entry.get("authorisation_ref", ""),
                                   "collections": 0, "posts": 0, "failed": 0, "lapsed": 0, "last": None,
                                   "_lapsed_runs": set()})
        if subj.recorded(details.get("subject")):
            row["_recorded_subject"] = details["subject"]
        at = _t(ev.get("time"))
        if ev["action"] == "collect":
            row["collections"] += 1
            row["posts"] += int(details.get("posts") or 0)
            row["last"] = max(row["last"], at) if row["last"] and at else (at or row["last"])
        elif ev["action"] == "collect_failed":
            row["failed"] += 1
        else:
            run_key = (ev.get("actor") or {}).get("run_id") or ev.get("time")
            if run_key not in row["_lapsed_runs"]:
                row["_lapsed_runs"].add(run_key)
                row["lapsed"] += 1
    acc_notes: list[str] = []
    if not acc:   # no collection events in the period: a store from before the audit log
        for finished, out in _collect_outcomes(store, start_dt, end_dt):
            if force and out.get("force") != force:
                continue
            key = f"{out.get('platform')}:{out.get('account')}"
            entry = wl_by_key.get(key, {})
            row = acc.setdefault(key, {"force": out.get("force") or "", "account": key,
                                       "display_name": entry.get("display_name", ""),
                                       "authorisation_ref": entry.get("authorisation_ref", ""), "collections": 0,
                                       "posts": 0, "failed": 0, "lapsed": 0, "last": None,
                                       "_lapsed_runs": set()})
            if out.get("status") == "ok":
                row["collections"] += 1
                row["posts"] += int(out.get("posts") or 0)
                row["last"] = max(row["last"], finished) if row["last"] else finished
            elif out.get("status") == "error":
                row["failed"] += 1
        if acc:
            acc_notes.append("No collection events in the audit log for this period: these figures come from the "
                             "runs' own summaries (reports/collect/), which are not hash-chained.")
    acc_rows = []
    for row in sorted(acc.values(), key=lambda r: (r["force"], r["account"])):
        row.pop("_lapsed_runs")
        row["last"] = _fmt_time(row["last"])
        row.update(_subject_cells(subject_of(row["account"], row.pop("_recorded_subject", None))))
        acc_rows.append(row)
    acc_rows = _by_subject(acc_rows)
    tables.append(Table(
        "posts_per_account", "Posts collected per account",
        "Every watched account the hub tried to collect in the period, under which authorisation, how many "
        "public posts were stored, how often collection failed, and how often it was refused because the "
        "authorisation had lapsed." + GROUPED_INTRO,
        [Column("force", "Force"), Column("account", "Account"), Column("display_name", "Name"),
         Column("subject", "Subject", html=False),
         Column("authorisation_ref", "Authorisation"), Column("collections", "Collections", True),
         Column("posts", "Posts stored", True), Column("failed", "Failed attempts", True),
         Column("lapsed", "Refused (authorisation lapsed)", True), Column("last", "Last collected")],
        acc_rows, "No account was collected in this period.", acc_notes, group="subject_group"))

    # --- quality rejections
    held = {ev.get("object"): ev for ev in by_action.get("quality_hold", [])}
    q_rows: list[dict[str, Any]] = []
    for ev in by_action.get("quality_reject", []):
        d = ev.get("details") or {}
        batch = str(ev.get("object", "")).removeprefix("batch:")
        reasons = d.get("reasons") or {}
        hold = held.get(ev.get("object"))
        q_account = _account_of(store, batch, batch_account)
        q_rows.append({"time": _fmt_time(ev.get("time")), "force": ev.get("force") or "",
                       "account": q_account, "batch": batch, **_subject_cells(subject_of(q_account)),
                       "rows": int(d.get("rows") or 0),
                       "reasons": "; ".join(f"{describe_check(r)} ({n})" for r, n in sorted(reasons.items())),
                       "checks": "; ".join(sorted(reasons)),
                       "held": "yes: " + (hold.get("justification") or "") if hold else "no",
                       "suite": f"{d.get('suite', '')} {d.get('suite_version', '')}".strip()})
    tables.append(Table(
        "quality_rejections", "Posts rejected by the data-quality checks",
        "Posts that failed validation are not classified or alerted on; they are kept apart (quarantined) "
        "with the reasons. A batch with too many bad posts is held whole for a person to look at." + GROUPED_INTRO,
        [Column("time", "When"), Column("force", "Force"), Column("account", "Account"),
         Column("subject", "Subject", html=False), Column("batch", "Batch"),
         Column("rows", "Posts rejected", True), Column("reasons", "Reasons (count)"),
         Column("held", "Batch held"), Column("checks", "Checks failed", html=False),
         Column("suite", "Suite, version", html=False)],
        _by_subject(q_rows), "No post was rejected by the quality checks in this period.", group="subject_group"))

    # --- alerts and first officer response
    outcomes = review_outcomes(events)            # decisions, escalations, referrals: defined once (outcomes.py)
    responses: dict[str, list[dict[str, Any]]] = {}
    timeouts: dict[str, dict[str, Any]] = {}
    for ev in all_events:   # a response may come after the period: it still answers the alert
        if ev["action"] != "review_response" or not _in_scope(ev, force):
            continue
        aid = str((ev.get("details") or {}).get("alert_id") or "")
        if not aid:
            continue
        if (ev.get("actor") or {}).get("kind") == "person" and not is_timeout(ev):
            responses.setdefault(aid, []).append(ev)
        elif is_timeout(ev):
            timeouts.setdefault(aid, ev)
    # each alert's subject category (escalations and referrals name the alert, not the account)
    alert_subject: dict[str, object] = {}
    for ev in all_events:
        if ev["action"] == "alert":
            d = ev.get("details") or {}
            aid = str(ev.get("object", "")).removeprefix("alert:")
            account = _account_of(store, str(d.get("batch_id") or ""), batch_account) if d.get("batch_id") else ""
            alert_subject[aid] = subject_of(account, d.get("subject"))
    a_rows: list[dict[str, Any]] = []
    waits: list[float] = []
    for ev in by_action.get("alert", []):
        d = ev.get("details") or {}
        aid = str(ev.get("object", "")).removeprefix("alert:")
        at = _t(ev.get("time"))
        first = min(responses.get(aid, []), key=lambda r: r.get("time", ""), default=None)
        wait = None
        if first is not None and at is not None and _t(first.get("time")) is not None:
            wait = (_t(first["time"]) - at).total_seconds()  # type: ignore[operator]
            waits.append(wait)
        account = _account_of(store, str(d.get("batch_id") or ""), batch_account) if d.get("batch_id") else ""
        if first is not None:
            outcome = decision_option(first)
        elif aid in timeouts:
            outcome = f"{decision_option(timeouts[aid])} ({AUTOMATIC})"
        else:
            outcome = "no review recorded"
        first_at = _fmt_time(first.get("time")) if first else ""
        by = describe_actor(first.get("actor")) if first else ""
        a_rows.append({
            "time": _fmt_time(at), "force": ev.get("force") or "", "team": d.get("team", ""),
            "force_team": ", ".join(x for x in (ev.get("force") or "", d.get("team", "")) if x),
            "alert_id": aid, "account": account, "post": d.get("post", ""),
            **_subject_cells(subject_of(account, d.get("subject"))),
            "post_html": " ".join(x for x in (account, f"(post {_middle(_post_id(d.get('post', '')), 28)})"
                                              if d.get("post") else "") if x),
            "labels": ", ".join(d.get("labels") or []),
            "severity": d.get("severity", ""), "delivered_to": f"{d.get('sink', '')} {d.get('channel', '')}".strip()
            + (" (digest)" if d.get("digest") else ""),
            "first_response": first_at,
            "time_to_response": fmt_duration(wait) if wait is not None else "no response recorded",
            "responded_by": by,
            "response_html": (f"{first_at}, after {fmt_duration(wait)}, by {_name(first.get('actor'))}"
                              if first and wait is not None else
                              f"{first_at} by {_name(first.get('actor'))}" if first else "no officer response recorded"),
            "decision": outcome,
        })
    alert_notes = []
    if not responses:
        alert_notes.append(f"Time to first officer response: {NO_RESPONSES}.")
    elif waits:
        alert_notes.append(f"Time to first officer response: median {fmt_duration(statistics.median(waits))}, "
                           f"longest {fmt_duration(max(waits))}; {len(a_rows) - len(waits)} of {len(a_rows)} "
                           "alert(s) without a recorded response.")
    tables.append(Table(
        "alerts", "Alerts and time to first officer response",
        "Every alert sent to an on-duty team in the period, and when an officer first recorded a response "
        f"to it. Alerts inform officers; every decision is a person's. A review nobody answered in time is "
        f"escalated {AUTOMATIC} (marked so under Decision)." + GROUPED_INTRO,
        [Column("time", "Alerted"), Column("force", "Force", html=False), Column("team", "Team", html=False),
         Column("force_team", "Force, team", csv=False), Column("alert_id", "Alert", html=False),
         Column("account", "Account", html=False), Column("subject", "Subject", html=False),
         Column("post", "Post", html=False),
         Column("post_html", "Account and post", csv=False), Column("labels", "Categories"),
         Column("severity", "Severity"), Column("delivered_to", "Delivered to"),
         Column("first_response", "First response", html=False),
         Column("time_to_response", "Time to first response", html=False),
         Column("responded_by", "Responded by", html=False),
         Column("response_html", "First officer response", csv=False), Column("decision", "Decision")],
        _by_subject(a_rows), "No alert was sent in this period.", alert_notes, group="subject_group"))

    # --- decisions by outcome (officers only: a review that timed out is no decision)
    decisions: dict[tuple[str, str], int] = {}
    for ev in outcomes.decisions:
        k = (ev.get("force") or "", decision_option(ev))
        decisions[k] = decisions.get(k, 0) + 1
    total_decisions = len(outcomes.decisions)
    d_rows = [{"force": f, "outcome": o, "count": n, "share": f"{n / total_decisions:.0%}"}
              for (f, o), n in sorted(decisions.items())]
    tables.append(Table(
        "decisions", "Officers' decisions by outcome",
        "The options officers chose when reviewing alerts in the period, counted by outcome. A review that "
        f"nobody answered in time is not a decision: it is escalated {AUTOMATIC} and listed under Escalations.",
        [Column("force", "Force"), Column("outcome", "Decision"), Column("count", "Decisions", True),
         Column("share", "Share")],
        d_rows, f"No decisions: {NO_RESPONSES}."))

    # --- bias audit: officers' "No action (false positive)" rate by slice of the posts (audit/bias.py)
    bias = _bias.audit_store(store, events, all_events)
    tables.append(Table(
        "bias_audit", "Bias audit: officers' false-positive rate by slice", _bias.INTRO,
        [Column("dimension", "Slices by"), Column("slice", "Slice"), Column("decisions", "Officer decisions", True),
         Column("false_positives", "No action (false positive)", True), Column("rate", "False-positive rate"),
         Column("interval", "95% interval"), Column("median", "Median rate of its kind"),
         Column("ratio", "Times the median"), Column("judgement", "Judgement"),
         Column("timed_out", "Timed out (not counted)", True),
         Column("rate_fraction", "Rate (fraction)", True, html=False),
         Column("low_fraction", "95% interval low (fraction)", True, html=False),
         Column("high_fraction", "95% interval high (fraction)", True, html=False),
         Column("median_fraction", "Median (fraction)", True, html=False)],
        _bias.rows(bias), f"No review was answered or timed out in this period: {NO_RESPONSES}.", _bias.notes(bias)))

    # --- escalations (by an officer, or automatically on review timeout)
    e_rows = []
    for ev in outcomes.escalations:
        d = ev.get("details") or {}
        auto = is_timeout(ev)
        e_rows.append({"time": _fmt_time(ev.get("time")), "force": ev.get("force") or "",
                       "alert_id": str(d.get("alert_id") or str(ev.get("object", "")).removeprefix("alert:")),
                       "post": d.get("post", ""), "how": AUTOMATIC if auto else BY_OFFICER,
                       **_subject_cells(alert_subject.get(str(d.get("alert_id") or
                                                              str(ev.get("object", "")).removeprefix("alert:")))),
                       "by": "nobody answered in time" if auto else describe_actor(ev.get("actor")),
                       "channel": d.get("channel", ""), "justification": ev.get("justification") or ""})
    tables.append(Table(
        "escalations", "Escalations",
        "Alerts posted to the escalation channel for supervisors: either an officer chose 'Escalate', or "
        f"nobody answered the review within the team's response time and it was escalated {AUTOMATIC}."
        + GROUPED_INTRO,
        [Column("time", "When"), Column("force", "Force"), Column("alert_id", "Alert", html=False),
         Column("subject", "Subject", html=False),
         Column("post", "Post"), Column("how", "Escalated"), Column("by", "By"),
         Column("channel", "Escalation channel"), Column("justification", "Reason")],
        _by_subject(e_rows), "No alert was escalated in this period.", group="subject_group"))

    # --- referrals to a platform
    r_rows = []
    for ev in outcomes.referrals:
        d = ev.get("details") or {}
        r_rows.append({"time": _fmt_time(ev.get("time")), "force": ev.get("force") or "",
                       "alert_id": str(d.get("alert_id") or str(ev.get("object", "")).removeprefix("alert:")),
                       "post": d.get("post", ""), "by": describe_actor(ev.get("actor")),
                       **_subject_cells(alert_subject.get(str(d.get("alert_id") or
                                                              str(ev.get("object", "")).removeprefix("alert:")))),
                       "justification": ev.get("justification") or "", "details": referral_details(d),
                       "referral_id": d.get("referral_id") or "", "channel": d.get("channel") or ""})
    tables.append(Table(
        "referrals", "Referrals to a platform",
        "Posts an officer decided to refer to the platform (its trusted-flagger team), with the officer's "
        "reason and the referral package kept in the store." + GROUPED_INTRO,
        [Column("time", "When"), Column("force", "Force"), Column("alert_id", "Alert", html=False),
         Column("subject", "Subject", html=False),
         Column("post", "Post"), Column("by", "Referred by"), Column("justification", "Reason"),
         Column("details", "Package"), Column("referral_id", "Referral (register)", html=False),
         Column("channel", "Channel", html=False)],
        _by_subject(r_rows), "No referral to a platform was recorded in this period.", group="subject_group"))
    ref_tables, ref_summary = _referral_tables(store, start_dt, end_dt, force, now, sources)
    tables += ref_tables

    # --- deletions and legal holds
    del_rows = [{"time": _fmt_time(ev.get("time")),
                 "action": "deleted" if ev["action"] == "deletion"
                 else str((ev.get("details") or {}).get("status") or "erasure pending")
                 if ev["action"] == "erasure_pending"
                 else "legal hold " + str((ev.get("details") or {}).get("op", "")).strip(),
                 "force": ev.get("force") or "", "object": ev.get("object", ""), "by": describe_actor(ev.get("actor")),
                 "justification": ev.get("justification") or "", "details": _compact(ev.get("details"), ("op",))}
                for ev in events if ev["action"] in ("deletion", "erasure_pending", "legal_hold")]
    tables.append(Table(
        "deletions", "Deletions and legal holds",
        "Stored items erased under the retention policy (or on request; every stored version removed and "
        "checked), erasures still pending because S3 Object Lock keeps a version (retried daily), and legal "
        "holds placed or lifted, which stop erasure.",
        [Column("time", "When"), Column("action", "What"), Column("force", "Force"), Column("object", "Item"),
         Column("by", "By"), Column("justification", "Reason"), Column("details", "Details")],
        del_rows, "No deletion or legal hold was recorded in this period.",
        ["Legal holds are not tied to a force in the audit log, so a per-force report does not list them."]
        if force else []))

    # --- watchlist changes: what changed per entry; the reason once per change set (one file change)
    wc_rows = []
    sets: dict[tuple[str, ...], dict[str, Any]] = {}
    for ev in by_action.get("watchlist_change", []):
        d = ev.get("details") or {}
        reason = ev.get("justification") or ""
        set_key = (reason, str(d.get("changed_by") or ""), str(d.get("commit") or ""), str(d.get("change_ticket") or ""),
                   str(d.get("dag_run") or ""), str((ev.get("hashes") or {}).get("watchlist_file") or ""))
        cs = sets.setdefault(set_key, {"n": len(sets) + 1, "entries": 0, "time": ev.get("time"), "details": d,
                                       "reason": reason})
        cs["entries"] += 1
        wc_rows.append({"time": _fmt_time(ev.get("time")), "force": ev.get("force") or "",
                        "account": ev.get("object", ""), "change": d.get("change", ""),
                        **_subject_cells(subject_of(str(ev.get("object", "")), d.get("subject"))),
                        "fields": describe_watchlist_change(d), "changed_by": d.get("changed_by", ""),
                        "change_set": cs["n"], "reason": reason,
                        "authorisation_ref": d.get("authorisation_ref", ""), "review_by": d.get("review_by", "")})
    wc_notes = []
    for cs in sets.values():
        d = cs["details"]
        where = ", ".join(x for x in (
            f"by {d['changed_by']}" if d.get("changed_by") else "",
            f"git commit {str(d['commit'])[:12]}" if d.get("commit") else "",
            f"change ticket {d['change_ticket']}" if d.get("change_ticket") else "") if x)
        wc_notes.append(f"Change set {cs['n']} ({cs['entries']} entr{'y' if cs['entries'] == 1 else 'ies'}, "
                        f"{_fmt_time(cs['time'])}{', ' + where if where else ''}): reason given: {cs['reason'] or 'none'}")
    tables.append(Table(
        "watchlist_changes", "Watchlist changes",
        "Accounts added to, renewed on, changed on or removed from the watchlist in the period: what changed "
        "for each account, and (once per change set, i.e. one change of the watchlist file) who made it and "
        "the reason they gave." + GROUPED_INTRO,
        [Column("time", "Seen"), Column("force", "Force"), Column("account", "Account"),
         Column("subject", "Subject", html=False), Column("change", "Change"),
         Column("fields", "What changed"), Column("changed_by", "Changed by"),
         Column("change_set", "Change set", True), Column("reason", "Reason given", html=False),
         Column("authorisation_ref", "Authorisation", html=False), Column("review_by", "Review by", html=False)],
        _by_subject(wc_rows), "The watchlist did not change in this period.", wc_notes, group="subject_group"))

    # --- watchlist status
    today = now.date()
    w_rows = []
    for e in wl_entries or []:
        if force and e.get("force") != force:
            continue
        review_by = date.fromisoformat(str(e["review_by"]))
        left = (review_by - today).days
        status = "expired" if left < 0 else ("due for review" if left <= due_days else "ok")
        w_rows.append({"status": status, "force": e.get("force", ""), "account": f"{e['platform']}:{e['account']}",
                       "display_name": e.get("display_name", ""), "owner": e.get("owner", ""),
                       "team": e.get("team", ""), "authorisation_ref": e.get("authorisation_ref", ""),
                       "purpose": e.get("purpose", ""), "review_by": review_by.isoformat(),
                       "days_left": left, **_subject_cells(e.get("subject"))})
    order = {"expired": 0, "due for review": 1, "ok": 2}
    w_rows.sort(key=lambda r: (subj.rank(r["subject_group"]), order[r["status"]], r["review_by"], r["account"]))
    tables.append(Table(
        "watchlist", "Watchlist entries and their authorisation status",
        f"Every account on the watchlist as of {today.isoformat()}: 'expired' means the review-by date has "
        f"passed and the account is no longer collected; 'due for review' means it passes within {due_days} "
        "days and the owner must renew or remove it." + GROUPED_INTRO,
        [Column("status", "Status"), Column("force", "Force"), Column("account", "Account"),
         Column("display_name", "Name"), Column("subject", "Subject", html=False), Column("owner", "Owner"),
         Column("team", "Team"),
         Column("authorisation_ref", "Authorisation"), Column("purpose", "Purpose"),
         Column("review_by", "Review by"), Column("days_left", "Days left", True)],
        w_rows, "No watchlist was available to the report." if wl_entries is None
        else "No watchlist entry for this scope.", group="subject_group"))
    tables += _register_tables(store, authorisations, by_action, wl_entries, force, today, warnings, sources)
    tables.append(_source_health_table(store, wl_entries, force, now, by_action))

    # --- classifier versions
    c_rows, p_rows = _classifier_rows(store, events, by_action)
    tables.append(Table(
        "classifier_versions", "Classifier versions that made the decisions",
        "Each classifier version that classified posts in the period: its id names the lexicon, thresholds and "
        "model files kept in the store with their SHA-256 (socialhub classifier show ID), so any decision can be "
        "traced to them and re-run (socialhub reclassify). 'Shadow' versions classified the same posts for "
        "comparison only and never alerted anyone.",
        [Column("role", "Role"), Column("id", "Version"), Column("classifier_version", "Lexicon and model"),
         Column("thresholds", "Thresholds"), Column("batches", "Batches", True), Column("posts", "Posts", True),
         Column("flagged", "Posts flagged", True), Column("first_used", "First used"),
         Column("last_used", "Last used")],
        c_rows, "No post was classified in this period."))
    tables.append(Table(
        "classifier_promotions", "Classifier promotions (changes of the live version)",
        "Each time a classifier version was made live in the period: who, why, and the evaluation and shadow "
        "figures attached when it was promoted.",
        [Column("time", "When"), Column("id", "Version made live"), Column("previous", "Previous version"),
         Column("by", "By"), Column("why", "Why"), Column("evaluation", "Evaluation attached"),
         Column("shadow", "Shadow figures attached")],
        p_rows, "The live classifier version did not change in this period."))

    # --- access and exports: every consultation and disclosure, with who, what and why
    from socialhub.audit.consult import CONSULTATION_ACTIONS, NOT_GIVEN, is_consultation, reason_of

    x_rows = []
    for ev in events:
        if ev["action"] not in CONSULTATION_ACTIONS:
            continue
        d = ev.get("details") or {}
        period = f"{d.get('from', '')} to {d.get('to', '')}" if d.get("from") else ""
        consulted = is_consultation(ev)
        why = reason_of(ev) if consulted else (ev.get("justification") or "refused")
        x_rows.append({"time": _fmt_time(ev.get("time")), "action": ev["action"] if consulted else "refused",
                       "force": ev.get("force") or "", "by": describe_actor(ev.get("actor")),
                       "what": str(ev.get("object") or "") + (f" ({period})" if period else ""),
                       "object": ev.get("object") or "", "period": period,
                       "why": why if why is not None else NOT_GIVEN,
                       "reason_given": "n/a" if not consulted else ("yes" if why is not None else "no"),
                       "details": _compact(d, ("from", "to", "force", "granted", "why_given", "why_from", "who_from",
                                               "query", "scope", "chain_ok", "chain_events"))
                       + (f"; files: {', '.join(sorted(ev.get('hashes') or {}))}" if ev.get("hashes") else "")})
    no_reason = sum(1 for r in x_rows if r["reason_given"] == "no")
    tables.append(Table(
        "access_and_exports", "Who looked at or exported these records",
        "Every consultation and disclosure of the hub's records in the period (DPA 2018 s.62): views of the "
        "auditors' page and its explain view, `socialhub explain`, reports produced (the auditor's report, shadow "
        "reports, re-classifications), CSV downloads, referral packages fetched and captured images shown in "
        f"full (media_reveal); who, what and the reason they gave. '{NOT_GIVEN}' means no reason was given: "
        "ask the person why. Refused attempts are listed too (nothing was shown).",
        [Column("time", "When"), Column("action", "What was done"), Column("force", "Force"), Column("by", "Who"),
         Column("what", "What", csv=False), Column("object", "Object", html=False),
         Column("period", "Period covered", html=False), Column("why", "Why (reason given)"),
         Column("reason_given", "Reason given", html=False), Column("details", "Details")],
        x_rows, "Nobody viewed or exported these records in this period.",
        notes=[f"{no_reason} consultation(s) in this period were made without a reason ({NOT_GIVEN} below)."]
        if no_reason else []))

    # --- chain
    protection = (f"keyed ({', '.join(chain.key_ids)}; {chain.keyed} events MAC-checked)" if chain.keyed
                  else "unkeyed")
    protection += ("; anchored up to event " + str(chain.anchored_seq) if chain.anchored_seq is not None
                   else "; no matching anchor")
    tables.append(Table(
        "chain_verification", "Audit-log verification",
        "The audit log is a hash chain: each event carries the hash of the one before, so an event altered, "
        "removed or reordered on its own is detected. Someone who can write the store could still rewrite an "
        "event and re-hash every event after it, or cut off the newest events: the first is detected only when "
        "the events carry MACs made with the audit key (held outside the store), the second only against an "
        "anchor (the chain's head kept where the pipeline cannot rewrite it). 'Protection' says which applied; "
        "'Findings' names everything found, limits included. The whole log was re-checked when this report was "
        "made.",
        [Column("result", "Result"), Column("events", "Events checked", True), Column("first_bad", "First bad event"),
         Column("problem", "Problem"), Column("protection", "Protection"), Column("findings", "Findings"),
         Column("findings_detail", "Findings in full", html=False),
         Column("head", "Hash of the last event"), Column("checked_at", "Checked at")],
        [{"result": "intact" if chain.ok else chain.headline().split(" at event")[0].removeprefix("audit chain "),
          # the global chain's events (seals included) and the tasks' segments' events
          "events": chain.events + chain.segment_events,
          "first_bad": "" if chain.first_bad is None else (
              f"{chain.first_bad_segment}/{chain.first_bad}" if chain.first_bad_segment else chain.first_bad),
          "problem": chain.problem or "", "protection": protection,
          # the finding names in the row (a row stays a few lines high); each one in full below the table
          "findings": ", ".join(dict.fromkeys(f.kind for f in chain.findings)) or "none",
          "findings_detail": "; ".join(f"{f.kind}: {f.message}" for f in chain.findings),
          "head": chain.last_hash or "", "checked_at": _fmt_time(now)}], "",
        notes=[f"{f.kind}: {f.message}" for f in chain.findings]))

    checked = chain.events + chain.segment_events
    posts = sum(r["posts"] for r in acc_rows)
    n_resp = sum(1 for r in a_rows if r["first_response"])
    expired = sum(1 for r in w_rows if r["status"] == "expired")
    due = sum(1 for r in w_rows if r["status"] == "due for review")
    summary = [
        SummaryItem("Audit log", ("intact" if checked else "empty") if chain.ok else "BROKEN",
                    f"{checked} events checked" if chain.ok else (chain.problem or ""),
                    attention=not chain.ok or checked == 0),
        SummaryItem("Runs", str(len(run_rows)),
                    f"{sum(1 for r in run_rows if r['outcome'] != 'no problems recorded')} with problems"),
        SummaryItem("Posts collected", str(posts), f"from {sum(1 for r in acc_rows if r['posts'])} account(s)"),
        SummaryItem("Posts rejected by quality checks", str(sum(r["rows"] for r in q_rows)),
                    f"{sum(1 for r in q_rows if r['held'] != 'no')} batch(es) held"),
        SummaryItem("Alerts sent", str(len(a_rows)), (f"{n_resp} with an officer response"
                    + (f"; first response after {fmt_duration(statistics.median(waits))} (median)" if waits else ""))
                    if responses else NO_RESPONSES),
        SummaryItem("Officer decisions", str(len(outcomes.decisions)), outcomes.decisions_hint()),
        SummaryItem("Bias-audit flags", str(len(bias.flagged)),
                    "slices whose false-positive rate is over 1.5 x the median of their kind: look at them"
                    if bias.flagged else f"none (slices with at least {_bias.MIN_DECISIONS} decisions compared)",
                    attention=bool(bias.flagged)),
        SummaryItem("Escalations", str(len(outcomes.escalations)), outcomes.escalations_hint()),
        SummaryItem("Referrals to a platform", str(len(outcomes.referrals))),
        _removal_summary(ref_summary["figures"]),
        SummaryItem("Referred posts still online", str(ref_summary["still_online"]),
                    "see 'Referred posts still online'" if ref_summary["still_online"] else "none known",
                    attention=ref_summary["still_online"] > 0),
        SummaryItem("Deletions", str(sum(1 for r in del_rows if r["action"] == "deleted"))),
        SummaryItem("Authorisations expired", str(expired), "accounts no longer collected", attention=expired > 0),
        SummaryItem(f"Due for review within {due_days} days", str(due), "owners must renew or remove",
                    attention=due > 0),
        SummaryItem("Consultations without a reason", str(no_reason),
                    f"of {sum(1 for r in x_rows if r['reason_given'] != 'n/a')} views, reports and exports",
                    attention=no_reason > 0),
    ]
    if runs is None and not runs_note:
        sources.append("Airflow run history: not asked (runs come from the audit log and run summaries)")
    return Report(start=start_dt, end=end_dt, force=force, generated_at=now, chain=chain, summary=summary,
                  tables=tables, sources=sources, warnings=warnings, due_days=due_days, forces=forces)


# --------------------------------------------------------------------------------------------- output


def _env() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
                              autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(report: Report, *, page: Mapping[str, Any] | None = None) -> str:
    """The report as one self-contained HTML page. ``page`` adds the period chooser and CSV links
    of the Airflow auditors' page (``base``, ``query``, ``user``, ``from``, ``to``)."""
    from socialhub.audit.consult import NOT_GIVEN

    return str(_env().get_template("report.html").render(report=report, page=page, no_responses=NO_RESPONSES,
                                                         time_keys=_TIME_KEYS, wide_keys=_WIDE_KEYS,
                                                         not_given=NOT_GIVEN))


def write_report(report: Report, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``report.html`` and one CSV per table into ``out_dir``; return the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    html = out / HTML_NAME
    html.write_text(render_html(report), encoding="utf-8")
    paths.append(html)
    summary = Table("summary", "Summary", "", [Column("label", "Figure"), Column("value", "Value"),
                                               Column("hint", "Note")],
                    [{"label": s.label, "value": s.value, "hint": s.hint} for s in report.summary], "")
    for table in [summary, *report.tables]:
        p = out / table.filename
        p.write_bytes(table_csv(table))
        paths.append(p)
    return paths


def record_report_event(store: ObjectStore, report: Report, files: Mapping[str, bytes] | Sequence[Path], *,
                        actor: dict[str, Any], action: str = "report", why: str | None = None,
                        extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Audit the report as the export it is: who, which period and force, each file's SHA-256, and
    why (``None``: made without a reason, ``details.why_given`` false, flagged by the report)."""
    from socialhub.audit.consult import clean_why

    why = clean_why(why)
    if isinstance(files, Mapping):
        hashes = {name: sha256_hex(data) for name, data in files.items()}
    else:
        hashes = {Path(p).name: sha256_hex(Path(p).read_bytes()) for p in files}
    last = report.end - timedelta(seconds=1)
    return AuditLog(store).append(
        action, actor=actor, obj=f"audit-report:{report.start.date()}..{last.date()}", force=report.force,
        justification=why, hashes=hashes,
        details={"from": report.start.date().isoformat(), "to": last.date().isoformat(), "force": report.force,
                 "scope": report.scope_label, "chain_ok": report.chain.ok, "chain_events": report.chain.events,
                 "why_given": why is not None, **(extra or {})})


# --------------------------------------------------------------------------------------------- CLI


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-30") from None


DESCRIPTION = ("Write the auditor's report for a period: report.html and one CSV per table. The report is "
               "recorded in the audit log (who, why, period, force, SHA-256 of each file). Exit 0 when written, 1 when "
               "written but the audit log failed verification, 2 on bad arguments or when the store does not exist "
               "or holds no audit events (see --allow-empty); the store read is printed first.")


def build_parser(prog: str = "socialhub audit report") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_report_arguments(p)
    return p


def add_report_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``socialhub audit report``, for the main CLI's subparser too."""
    p.add_argument("--from", dest="start", required=True, type=_date, help="first day (YYYY-MM-DD, UTC)")
    p.add_argument("--to", dest="end", required=True, type=_date, help="last day, included (YYYY-MM-DD, UTC)")
    p.add_argument("--force", help="only this force's rows (default: all forces)")
    p.add_argument("--out", required=True, help="folder to write report.html and the CSV files into")
    p.add_argument("--store", help="store URL or folder (default: $SOCIALHUB_STORE, else $SOCIALHUB_DATA_DIR/store); "
                                   "the store read is always printed. After `make demo`: --store .demo/data/store")
    p.add_argument("--allow-empty", action="store_true",
                   help="accept a store with no audit events (without it, such a store is an error, exit 2)")
    p.add_argument("--watchlist", help="watchlist file (default: $SOCIALHUB_WATCHLIST or include/watchlist.yaml)")
    p.add_argument("--due-days", type=int, default=DEFAULT_DUE_DAYS,
                   help=f"'due for review' window in days (default: {DEFAULT_DUE_DAYS})")
    p.add_argument("--airflow-url", default=os.environ.get("SOCIALHUB_AIRFLOW_URL"),
                   help="also read run states from this Airflow API server (credentials: "
                        "$SOCIALHUB_AIRFLOW_TOKEN, or $SOCIALHUB_AIRFLOW_USERNAME and $SOCIALHUB_AIRFLOW_PASSWORD)")
    p.add_argument("--actor", "--by", dest="actor", metavar="NAME",
                   help="who is producing the report (default: $SOCIALHUB_ACTOR, else the login name)")
    p.add_argument("--why", metavar="TEXT",
                   help="why you are producing it: an audit reference or request and its purpose (recorded in the "
                        "audit log; default: $SOCIALHUB_WHY; without one the report is recorded as made without a "
                        "reason and flagged, or refused when $SOCIALHUB_REQUIRE_WHY is on)")
    return p


def run_report_cli(argv: Sequence[str] | None = None) -> int:
    """``socialhub audit report``: build, write and audit the report; print where it is."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return run_report(args)


def run_report(args: argparse.Namespace) -> int:
    """Run with options parsed by a parser that ``add_report_arguments`` set up."""
    if args.end < args.start:
        print("socialhub: error: --to is before --from", file=sys.stderr)
        return 2
    from socialhub.audit.consult import ReasonRequired, from_cli, warn_if_no_reason

    try:
        who = from_cli(args.actor, getattr(args, "why", None), "cli")
    except ReasonRequired as exc:
        print(f"socialhub: error: {exc}", file=sys.stderr)
        return 2
    from socialhub.audit.where import EXIT_NO_STORE, choose_store, open_for_audit
    from socialhub.config import Settings
    from socialhub.errors import SocialhubError
    from socialhub.watchlist import load_watchlist

    try:
        cfg = Settings.from_env()
        choice = choose_store(args.store)
        print(choice.describe(), flush=True)
        store, problem = open_for_audit(choice, allow_empty=args.allow_empty)
        if store is None:
            print("socialhub: error: " + (problem or f"there is no store at {choice.label}: a report needs an existing "
                                          "store, where it records that it was made (--allow-empty accepts an "
                                          "existing store with no audit events, not a missing one)"),
                  file=sys.stderr)
            return EXIT_NO_STORE
        wl_path = Path(args.watchlist) if args.watchlist else cfg.watchlist
        watchlist = load_watchlist(wl_path) if wl_path.exists() or args.watchlist else None
        start, end = period_bounds(args.start, args.end)
        runs, note = None, None
        if args.airflow_url:
            try:
                runs = airflow_runs(args.airflow_url, start=start, end=end,
                                    token=os.environ.get("SOCIALHUB_AIRFLOW_TOKEN"),
                                    username=os.environ.get("SOCIALHUB_AIRFLOW_USERNAME"),
                                    password=os.environ.get("SOCIALHUB_AIRFLOW_PASSWORD"))
                note = f"Airflow run history: {len(runs)} run(s) from the REST API at {args.airflow_url}"
            except Exception as exc:  # noqa: BLE001 - the report goes on, and says what is missing
                note = f"Airflow run history: NOT available from {args.airflow_url} ({type(exc).__name__}: {exc})"
                print(f"socialhub: warning: {note}", file=sys.stderr)
        report = build_report(store, start=args.start, end=args.end, force=args.force, watchlist=watchlist,
                              runs=runs, due_days=args.due_days, runs_note=note, store_label=choice.label)
        paths = write_report(report, args.out)
        record_report_event(store, report, paths, actor=who.actor, why=who.why,
                            extra={"who_from": who.who_from, "why_from": who.why_from})
    except (SocialhubError, ValueError) as exc:
        print(f"socialhub: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    print(f"auditor's report for {report.period_label}, {report.scope_label}:")
    for p in paths:
        print(f"  {p}")
    print(report.chain.describe())
    warn_if_no_reason(who)
    return 0 if report.chain.ok else 1


__all__ = ["Report", "Table", "Column", "SummaryItem", "build_report", "write_report", "render_html",
           "record_report_event", "run_report_cli", "run_report", "add_report_arguments", "airflow_runs", "airflow_db_runs", "csv_safe", "table_csv",
           "period_bounds", "fmt_duration", "describe_actor", "NO_RESPONSES", "DEFAULT_DUE_DAYS"]
