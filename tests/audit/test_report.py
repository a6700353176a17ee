"""The auditor's report, built from a store the real pipeline functions filled.

Each test pins one promise the report makes to an auditor: every section is there and right,
the period and force filters leave nothing out and let nothing through, the CSV files cannot
run formulas in a spreadsheet, a broken audit log is impossible to miss, producing the report
is itself audited, and Airflow's run history is merged when asked for.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from tests.ui.scenario import (
    COLLECT_RUN,
    COUNTY,
    FORMULA_ACCOUNT,
    MET,
    PROCESS_RUN,
    REFER_JUSTIFICATION,
    Scenario,
    populate,
)

from socialhub.audit.chain import AuditLog, event_key, verify_chain
from socialhub.audit.report import (
    NO_RESPONSES,
    Report,
    airflow_runs,
    build_report,
    csv_safe,
    describe_check,
    fmt_duration,
    render_html,
    run_report_cli,
    table_csv,
    write_report,
)
from socialhub.models import canonical_json, sha256_hex
from socialhub.storage import LocalStore


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, Scenario, Path]:
    """One pipeline run for the whole module (the GE suite makes it the slow part)."""
    tmp = tmp_path_factory.mktemp("report")
    store = LocalStore(tmp / "store")
    return store, populate(store, tmp), tmp


def _copy(filled: tuple[LocalStore, Scenario, Path], tmp_path: Path) -> LocalStore:
    """A private copy of the filled store, for tests that append to or tamper with it."""
    import shutil

    src = filled[0].root
    shutil.copytree(src, tmp_path / "store")
    return LocalStore(tmp_path / "store")


def _report(filled: tuple[LocalStore, Scenario, Path], store: LocalStore | None = None, **kw: Any) -> Report:
    st, sc, _ = filled
    day = sc.now.date()
    kw.setdefault("start", day - timedelta(days=1))
    kw.setdefault("end", day + timedelta(days=1))
    kw.setdefault("now", sc.now)
    kw.setdefault("watchlist", sc.watchlist)
    return build_report(store or st, **kw)


def _rows(report: Report, name: str) -> list[dict[str, Any]]:
    return report.table(name).rows


def test_every_section_reports_what_the_pipeline_did(filled):
    rep = _report(filled)
    assert rep.chain.ok and rep.table("chain_verification").rows[0]["result"] == "intact"

    accounts = {r["account"]: r for r in _rows(rep, "posts_per_account")}
    assert accounts["mastodon:ghost_yardz@social.example"] | {"last": ""} == {
        "force": MET, "account": "mastodon:ghost_yardz@social.example", "display_name": "Ghost Yardz",
        "authorisation_ref": "AUTH-MET-1", "collections": 1, "posts": 3, "failed": 0, "lapsed": 0, "last": "",
        "subject": "unknown", "subject_group": "unknown"}       # the scenario's watchlist sets no subject
    assert accounts["mastodon:corner_shop@social.example"]["posts"] == 2
    assert accounts[f"mastodon:{FORMULA_ACCOUNT}"]["failed"] == 1
    assert accounts["mastodon:oldcase@social.example"]["lapsed"] == 1
    assert "mastodon:ancient@x" not in accounts                       # 60 days ago: outside the period

    (rej,) = _rows(rep, "quality_rejections")
    assert rej["account"] == "mastodon:ghost_yardz@social.example" and rej["rows"] == 1
    assert rej["reasons"] == "url: wrong format (1)" and rej["held"] == "no"

    alerts = {r["force"]: r for r in _rows(rep, "alerts")}
    assert set(alerts) == {MET, COUNTY}
    assert alerts[MET]["time_to_response"] == "42 min" and alerts[MET]["responded_by"].startswith("PC Jones via ")
    assert alerts[MET]["decision"] == "Refer to platform" and "violence_threat" in alerts[MET]["labels"]
    assert alerts[MET]["account"] == "mastodon:ghost_yardz@social.example"
    assert alerts[COUNTY]["time_to_response"] == "no response recorded"
    assert alerts[COUNTY]["decision"] == "Escalate (automatically on review timeout)"
    assert any("median 42 min" in n and "1 of 2" in n for n in rep.table("alerts").notes)

    # an officer's referral is a decision and a referral; the county timeout is an escalation, not a decision
    assert _rows(rep, "decisions") == [{"force": MET, "outcome": "Refer to platform", "count": 1, "share": "100%"}]
    (ref,) = _rows(rep, "referrals")
    assert ref["justification"] == REFER_JUSTIFICATION and ref["by"].startswith("PC Jones")
    (esc,) = _rows(rep, "escalations")
    assert (esc["force"], esc["how"], esc["by"], esc["channel"]) == (
        COUNTY, "automatically on review timeout", "nobody answered in time", "#esc")
    assert [(r["action"], r["force"]) for r in _rows(rep, "deletions")] == [("deleted", COUNTY)]
    assert {r["change"] for r in _rows(rep, "watchlist_changes")} == {"added"}

    status = {r["account"]: (r["status"], r["days_left"]) for r in _rows(rep, "watchlist")}
    assert status["mastodon:oldcase@social.example"] == ("expired", -3)
    assert status[f"mastodon:{FORMULA_ACCOUNT}"] == ("due for review", 10)
    assert status["mastodon:corner_shop@social.example"][0] == "ok"
    assert [r["status"] for r in _rows(rep, "watchlist")][:2] == ["expired", "due for review"]  # worst first

    runs = {r["run_id"]: r for r in _rows(rep, "runs")}
    assert "scheduled__long-ago" not in runs
    c, p = runs[COLLECT_RUN], runs[PROCESS_RUN]
    assert (c["accounts_ok"], c["accounts_failed"], c["accounts_lapsed"], c["posts"]) == (2, 1, 1, 5)
    assert "1 account(s) could not be collected" in c["outcome"] and c["state"] == "not asked"
    assert (p["batches"], p["rejected"], p["held"], p["alerts"]) == (2, 1, 0, 2)
    assert p["outcome"] == "no problems recorded"

    summary = {s.label: s.value for s in rep.summary}
    assert summary["Posts collected"] == "5" and summary["Alerts sent"] == "2"
    assert summary["Authorisations expired"] == "1" and summary["Due for review within 14 days"] == "1"


def test_period_is_whole_days_and_leaves_the_rest_out(filled):
    _, sc, _ = filled
    old = sc.old_event_time.date()
    rep = _report(filled, start=old, end=old)
    assert [r["account"] for r in _rows(rep, "posts_per_account")] == ["mastodon:ancient@x"]
    assert [r["run_id"] for r in _rows(rep, "runs")] == ["scheduled__long-ago"]
    assert _rows(rep, "alerts") == [] and _rows(rep, "referrals") == []
    assert rep.period_label.startswith(f"{old} to {old}")
    with pytest.raises(ValueError):
        _report(filled, start=old, end=old - timedelta(days=1))


def test_per_force_report_hides_other_forces_entirely(filled, tmp_path):
    rep = _report(filled, force=COUNTY)
    every_cell = json.dumps([t.rows for t in rep.tables], ensure_ascii=False)
    assert COUNTY in every_cell and "corner_shop" in every_cell
    for leak in (MET, "ghost_yardz", "AUTH-MET", "PC Jones", REFER_JUSTIFICATION, "HYPERLINK"):
        assert leak not in every_cell, leak
    # also in what is written out: the HTML and every CSV
    files = write_report(rep, tmp_path / "out")
    for f in files:
        text = f.read_text(encoding="utf-8")
        for leak in (MET, "ghost_yardz", "AUTH-MET", "PC Jones"):
            assert leak not in text, (f.name, leak)
    runs = {r["run_id"]: r for r in _rows(rep, "runs")}
    assert runs[COLLECT_RUN]["posts"] == 2 and runs[COLLECT_RUN]["accounts_failed"] == 0
    assert runs[PROCESS_RUN]["alerts"] == 1 and runs[PROCESS_RUN]["rejected"] == 0


def test_without_review_responses_the_sections_say_so(filled):
    rep = _report(filled, force=COUNTY)    # the county alert got no response
    assert rep.table("decisions").rows == [] and NO_RESPONSES in rep.table("decisions").empty
    assert any(NO_RESPONSES in n for n in rep.table("alerts").notes)
    html = render_html(rep)
    assert html.count(NO_RESPONSES) >= 2


def test_first_response_is_the_earliest_by_a_person(filled, tmp_path):
    st, sc, _ = filled
    store = _copy(filled, tmp_path)
    log = AuditLog(store)
    alert_time = next(datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in log.events()
                      if e["action"] == "alert" and e["force"] == MET)
    # a task touching the alert first is not an officer's response; a later second response is not the first
    log.append("review_response", actor={"kind": "task", "dag_id": "x", "task_id": "y", "run_id": "z"},
               obj=f"alert:{sc.answered}", force=MET, at=alert_time + timedelta(minutes=1),
               details={"alert_id": sc.answered, "outcome": "auto"})
    log.append("review_response", actor={"kind": "person", "name": "Sgt Early"}, obj=f"alert:{sc.answered}",
               force=MET, at=alert_time + timedelta(minutes=5), details={"alert_id": sc.answered, "outcome": "noted"})
    log.append("review_response", actor={"kind": "person", "name": "Insp Late"}, obj=f"alert:{sc.answered}",
               force=MET, at=alert_time + timedelta(hours=5), details={"alert_id": sc.answered, "outcome": "closed"})
    row = next(r for r in _rows(_report(filled, store), "alerts") if r["alert_id"] == sc.answered)
    assert (row["time_to_response"], row["responded_by"], row["decision"]) == ("5 min", "Sgt Early", "noted")
    decisions = {r["outcome"]: r["count"] for r in _rows(_report(filled, store), "decisions")}
    assert decisions == {"Refer to platform": 1, "noted": 1, "closed": 1}   # the task's "auto" is no decision


def test_csv_files_are_utf8_and_cannot_run_formulas(filled, tmp_path):
    rep = _report(filled)
    files = write_report(rep, tmp_path / "out")
    names = sorted(f.name for f in files)
    assert names == sorted(["report.html", "summary.csv", *(t.filename for t in rep.tables)])
    cells: list[str] = []
    for f in files:
        if f.suffix == ".csv":
            cells += [c for row in csv.reader(io.StringIO(f.read_bytes().decode("utf-8"))) for c in row]
    def is_number(c: str) -> bool:
        try:
            float(c)
        except ValueError:
            return False
        return True

    assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not is_number(c)]
    assert "'@formula account" in cells and "'=SUM(A1:A9)" in cells
    assert "'+44 7700 900123 is the platform contact; its platform is failing (test)." in cells
    assert "Café Corner Shop" in cells                            # UTF-8, not mangled
    wl = list(csv.DictReader(io.StringIO((tmp_path / "out" / "watchlist.csv").read_text(encoding="utf-8"))))
    assert {r["Status"] for r in wl} == {"expired", "due for review", "ok"} and "Days left" in wl[0]
    # numbers stay numbers (a negative day count is not text and not a formula)
    assert any(r["Days left"] == "-3" for r in wl)


def test_csv_safe_rules():
    assert [csv_safe(v) for v in ("=1+1", "+1", "-1", "@x", "\tx", "ok", "", 5, -3)] == \
        ["'=1+1", "'+1", "'-1", "'@x", "'\tx", "ok", "", 5, -3]


def test_html_is_escaped_and_names_the_chain_result(filled, tmp_path):
    store = _copy(filled, tmp_path)
    AuditLog(store).append("referral", actor={"kind": "person", "name": "<img src=x onerror=alert(1)>"},
                           obj="alert:1", force=MET, justification="<script>alert('x')</script>")
    html = render_html(_report(filled, store))
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html and "<img src=x" not in html
    assert "Audit log intact" in html and "AUDIT LOG BROKEN" not in html


def test_broken_chain_is_the_first_thing_the_report_says(filled, tmp_path):
    store = _copy(filled, tmp_path)
    path = store.root / event_key(3)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    ev = json.loads(path.read_text())
    ev["details"]["posts"] = 0                          # someone hides what was collected
    path.write_text(json.dumps(ev))
    rep = _report(filled, store)
    assert not rep.chain.ok and rep.chain.first_bad == 3
    html = render_html(rep)
    assert html.index("AUDIT LOG BROKEN at event 3") < html.index("At a glance")
    assert rep.warnings and rep.summary[0].value == "BROKEN" and rep.summary[0].attention


def test_cli_writes_the_files_and_audits_the_report(filled, tmp_path, capsys):
    store = _copy(filled, tmp_path)
    _, sc, tmp = filled
    before = len(list(AuditLog(store).events()))
    day = sc.now.date()
    code = run_report_cli(["--from", str(day - timedelta(days=7)), "--to", str(day), "--force", MET,
                           "--out", str(tmp_path / "out"), "--store", str(store.root),
                           "--watchlist", str(tmp / "watchlist.yaml"), "--actor", "A. Auditor"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "report.html" in out and "audit chain OK" in out and f"force {MET} only" in out
    events = list(AuditLog(store).events())
    assert len(events) == before + 1
    ev = events[-1]
    assert ev["action"] == "report" and ev["force"] == MET
    assert ev["actor"] == {"kind": "person", "name": "A. Auditor", "via": "cli"}
    assert ev["details"]["from"] == str(day - timedelta(days=7)) and ev["details"]["to"] == str(day)
    written = {p.name: sha256_hex(p.read_bytes()) for p in (tmp_path / "out").iterdir()}
    assert ev["hashes"] == written and len(written) == 23   # report.html, summary.csv and 21 tables (bias_audit, authorisation_register, authorisation_changes, source_health, the three referral tables included)
    assert verify_chain(store).ok


def test_cli_exit_codes(filled, tmp_path, capsys):
    store = _copy(filled, tmp_path)
    args = ["--out", str(tmp_path / "o"), "--store", str(store.root)]
    assert run_report_cli(["--from", "2026-02-01", "--to", "2026-01-01", *args]) == 2
    assert run_report_cli(["--from", "yesterday", "--to", "2026-01-01", *args]) == 2
    path = store.root / event_key(0)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    ev = json.loads(path.read_text())
    ev["justification"] = "rewritten later"
    path.write_text(json.dumps(ev))
    assert run_report_cli(["--from", "2026-01-01", "--to", "2026-01-02", *args]) == 1
    assert "BROKEN" in capsys.readouterr().out
    assert (tmp_path / "o" / "report.html").exists()          # written all the same, saying so


def test_runs_from_reports_written_before_the_audit_log(tmp_path):
    """Runs known only by their run summary still show, and a per-force view counts only its force."""
    store = LocalStore(tmp_path / "store")
    rep = {"run_id": "manual__old", "finished_at": "2026-03-02T10:00:00Z", "accounts_lapsed": [
        {"key": "mastodon:gone", "force": "a"}], "outcomes": [
        {"platform": "mastodon", "account": "x", "force": "a", "status": "ok", "posts": 4},
        {"platform": "mastodon", "account": "y", "force": "b", "status": "error", "posts": 0}]}
    store.put_state("reports/collect/manual__old.json", canonical_json(rep))
    store.put_state("reports/process/manual__p.json", canonical_json(
        {"run_id": "manual__p", "finished_at": "2026-03-02T10:05:00Z", "batches": 3, "quarantined": 2,
         "held_batches": ["h"], "alerts": {"delivered": 4}}))
    all_runs = {r["run_id"]: r for r in build_report(store, start=datetime(2026, 3, 2).date(),
                                                     end=datetime(2026, 3, 2).date()).table("runs").rows}
    assert (all_runs["manual__old"]["posts"], all_runs["manual__old"]["accounts_failed"]) == (4, 1)
    assert (all_runs["manual__p"]["batches"], all_runs["manual__p"]["held"], all_runs["manual__p"]["alerts"]) \
        == (3, 1, 4)
    report = build_report(store, start=datetime(2026, 3, 2).date(), end=datetime(2026, 3, 2).date())
    assert [(r["account"], r["posts"], r["failed"]) for r in report.table("posts_per_account").rows] == \
        [("mastodon:x", 4, 0), ("mastodon:y", 0, 1)]
    assert "not hash-chained" in report.table("posts_per_account").notes[0]
    assert report.summary[0].value == "empty" and report.summary[0].attention
    assert "Audit log empty." in render_html(report) and "Audit log intact" not in render_html(report)
    only_b = build_report(store, start=datetime(2026, 3, 2).date(), end=datetime(2026, 3, 2).date(),
                          force="b").table("runs").rows
    assert [(r["run_id"], r["posts"], r["accounts_failed"], r["accounts_lapsed"]) for r in only_b] == \
        [("manual__old", 0, 1, 0)]                              # the process run has no per-force figures


# ------------------------------------------------------------------------------- Airflow's REST API


class FakeAirflow:
    """A tiny stand-in for Airflow's API server: ``POST /auth/token`` and paginated dagRuns."""

    def __init__(self, runs: dict[str, list[dict[str, Any]]], user: str = "auditor", password: str = "pw"):
        self.runs, self.user, self.password = runs, user, password
        self.token = "jwt-for-" + user
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/auth/token" and body == {"username": fake.user, "password": fake.password}:
                    return self._send(201, {"access_token": fake.token})
                return self._send(401, {"detail": "Invalid credentials"})

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"detail": "Not authenticated"})
                url = urlparse(self.path)
                parts = url.path.split("/")
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if len(parts) != 6 or parts[-1] != "dagRuns" or parts[4] not in fake.runs:
                    return self._send(404, {"detail": "DAG not found"})
                assert "run_after_gte" in q and "run_after_lte" in q
                runs = fake.runs[parts[4]]
                off, lim = int(q.get("offset", 0)), min(int(q.get("limit", 100)), 2)   # force pagination
                return self._send(200, {"dag_runs": runs[off:off + lim], "total_entries": len(runs)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeAirflow:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def _api_run(dag_id: str, run_id: str, state: str, at: datetime) -> dict[str, Any]:
    return {"dag_id": dag_id, "dag_run_id": run_id, "state": state, "run_type": "scheduled",
            "start_date": at.isoformat(), "end_date": (at + timedelta(minutes=3)).isoformat(),
            "run_after": at.isoformat()}


@pytest.fixture()
def fake_airflow(filled) -> Iterator[FakeAirflow]:
    at = filled[1].now
    runs = {"socialhub_collect": [_api_run("socialhub_collect", COLLECT_RUN, "failed", at)] + [
        _api_run("socialhub_collect", f"scheduled__quiet-{i}", "success", at + timedelta(minutes=i)) for i in range(3)],
        "socialhub_process": [_api_run("socialhub_process", PROCESS_RUN, "success", at)]}
    with FakeAirflow(runs) as fake:
        yield fake


def test_airflow_runs_logs_in_and_pages_through(fake_airflow, filled):
    now = filled[1].now
    runs = airflow_runs(fake_airflow.url, start=now - timedelta(days=1), end=now + timedelta(days=1),
                        username="auditor", password="pw")
    assert sorted(r["dag_run_id"] for r in runs) == sorted(
        [COLLECT_RUN, PROCESS_RUN, *(f"scheduled__quiet-{i}" for i in range(3))])
    assert sum("socialhub_collect" in p for p in fake_airflow.requests) == 2        # 4 runs, 2 per page
    assert any("socialhub_housekeeping" in p for p in fake_airflow.requests)       # 404: skipped, not fatal
    import httpx

    with pytest.raises(httpx.HTTPStatusError):
        airflow_runs(fake_airflow.url, start=now, end=now, username="auditor", password="wrong")


def test_report_merges_airflow_states(fake_airflow, filled, tmp_path, monkeypatch, capsys):
    store = _copy(filled, tmp_path)
    _, sc, tmp = filled
    day = sc.now.date()
    monkeypatch.setenv("SOCIALHUB_AIRFLOW_USERNAME", "auditor")
    monkeypatch.setenv("SOCIALHUB_AIRFLOW_PASSWORD", "pw")
    monkeypatch.delenv("SOCIALHUB_AIRFLOW_TOKEN", raising=False)
    code = run_report_cli(["--from", str(day), "--to", str(day), "--out", str(tmp_path / "out"),
                           "--store", str(store.root), "--watchlist", str(tmp / "watchlist.yaml"),
                           "--airflow-url", fake_airflow.url])
    assert code == 0, capsys.readouterr()
    runs = {r["Run"]: r for r in csv.DictReader(io.StringIO((tmp_path / "out" / "runs.csv").read_text("utf-8")))}
    assert runs[COLLECT_RUN]["Airflow state"] == "failed" and "Airflow run failed" in runs[COLLECT_RUN]["Problems"]
    assert runs[COLLECT_RUN]["Recorded in"] == "Airflow, audit log"
    assert runs["scheduled__quiet-1"]["Airflow state"] == "success"              # a run that did nothing
    assert "5 run(s) from the REST API" in (tmp_path / "out" / "report.html").read_text("utf-8")
    # per force, Airflow-only runs (which touched no force) are not listed
    rep = _report(filled, store, force=COUNTY, runs=airflow_runs(
        fake_airflow.url, start=sc.now - timedelta(days=1), end=sc.now + timedelta(days=1), username="auditor",
        password="pw"))
    assert {r["run_id"] for r in _rows(rep, "runs")} == {COLLECT_RUN, PROCESS_RUN,
                                                          "scheduled__scenario-housekeeping"}


def test_unreachable_airflow_still_gives_a_report_that_says_so(filled, tmp_path, capsys):
    store = _copy(filled, tmp_path)
    day = filled[1].now.date()
    from tests.conftest import free_port

    code = run_report_cli(["--from", str(day), "--to", str(day), "--out", str(tmp_path / "out"),
                           "--store", str(store.root), "--airflow-url", f"http://127.0.0.1:{free_port()}"])
    assert code == 0
    assert "warning: Airflow run history: NOT available" in capsys.readouterr().err
    assert "Airflow run history: NOT available" in (tmp_path / "out" / "report.html").read_text("utf-8")


def test_small_formatters():
    assert [fmt_duration(s) for s in (None, 40, 420, 7500, 3 * 86400 + 4 * 3600)] == \
        ["", "40 s", "7 min", "2 h 05 min", "3 d 4 h"]
    assert describe_check("expect_column_values_to_be_between(created_at_epoch)") == \
        "created_at: out of range (in the future or too old)"
    assert describe_check("something_new(x)") == "something_new(x)"
    assert table_csv(_report_stub()).decode("utf-8").splitlines()[0] == "Figure,Value"


def _report_stub() -> Any:
    from socialhub.audit.report import Column, Table

    return Table("t", "T", "", [Column("a", "Figure"), Column("b", "Value")], [], "")


def test_report_event_hashes_match_the_bytes(filled, tmp_path):
    from socialhub.audit.report import record_report_event

    store = _copy(filled, tmp_path)
    rep = _report(filled, store)
    ev = record_report_event(store, rep, {"x.csv": b"a,b\r\n"}, actor={"kind": "person", "name": "n"},
                             action="export")
    assert ev["action"] == "export" and ev["hashes"] == {"x.csv": sha256_hex(b"a,b\r\n")}
    assert ev["details"]["from"] == str(rep.start.date()) and ev["force"] is None


def test_times_are_utc_in_the_html(filled):
    rep = _report(filled, now=datetime(2030, 1, 2, 3, 4, tzinfo=UTC))
    assert "Produced 2030-01-02 03:04 UTC" in render_html(rep)


def test_referral_details_are_words_without_local_paths(filled):
    _, _, tmp = filled
    rep = _report(filled)
    (ref,) = _rows(rep, "referrals")
    details = ref["details"]
    assert details.startswith("public post https://social.example/@a/1; package referrals/")
    assert details.endswith("/ in the store; 5 file(s): classification.json, post.json, raw_item.json, "
                            "report.html, review.json")
    assert "{" not in details and "file:" not in details and str(tmp) not in details
    html = render_html(rep)
    assert "file://" not in html                                   # no local path on the page but the store's
    assert html.replace(f"Store read: {tmp / 'store'}", "").count(str(tmp)) == 0


def test_watchlist_changes_say_what_changed_and_give_each_reason_once(filled, tmp_path):
    from html import escape

    from tests.ui.scenario import watchlist_text

    from socialhub.audit.chain import Auditor
    from socialhub.watchlist import load_watchlist
    from socialhub.watchlist_changes import record_watchlist_changes

    _, sc, _ = filled
    store = _copy(filled, tmp_path)
    # a second change of the file, with its own reason: one account renewed, one removed
    text = watchlist_text(sc.now.date())
    old_review = str(sc.now.date() + timedelta(days=90))
    new_review = str(sc.now.date() + timedelta(days=180))
    text = text.replace(f"review_by: {old_review}", f"review_by: {new_review}")
    text = text[:text.index("  - platform: mastodon\n    account: oldcase")]
    text = "changed_by: DI C. Example\nchange_reason: quarterly review of county lines authorisations\n" + text
    wl_file = tmp_path / "watchlist.yaml"
    wl_file.write_text(text, encoding="utf-8")
    record_watchlist_changes(store, load_watchlist(wl_file), wl_file,
                             Auditor(AuditLog(store), {"kind": "task", "dag_id": "d", "task_id": "t", "run_id": "r2"}))

    rep = _report(filled, store)
    t = rep.table("watchlist_changes")
    rows = {(r["account"], r["change_set"]): r for r in t.rows}
    assert len(t.rows) == 6 and {r["change_set"] for r in t.rows} == {1, 2}
    first = rows[("mastodon:oldcase@social.example", 1)]["fields"]
    assert first.startswith("on the watchlist when recording began: authorisation AUTH-CTY-OLD, review by ")
    assert rows[("mastodon:corner_shop@social.example", 2)]["fields"] == f"review by: {old_review} -> {new_review}"
    assert rows[("mastodon:corner_shop@social.example", 2)]["change"] == "renewed"
    assert rows[("mastodon:oldcase@social.example", 2)]["fields"].startswith("removed (was authorisation AUTH-CTY-OLD")
    first_reason = t.rows[0]["reason"]
    assert len(t.notes) == 2
    assert t.notes[0].startswith("Change set 1 (4 entries,") and t.notes[0].endswith(first_reason)
    assert t.notes[1].startswith("Change set 2 (2 entries,") and "by DI C. Example" in t.notes[1]
    assert t.notes[1].endswith("reason given: quarterly review of county lines authorisations")
    html = render_html(rep)
    for reason in (first_reason, "quarterly review of county lines authorisations"):
        assert html.count(escape(reason)) == 1, reason          # once per change set, not once per entry
    # the CSV still gives each row its reason, for filtering in a spreadsheet
    assert table_csv(t).decode().count("quarterly review of county lines authorisations") == 2
