"""The review loop, end to end, on a real local Airflow: api-server, scheduler, dag-processor.

``LocalAirflow`` runs the three components as local processes (LocalExecutor, SQLite or whatever
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` says) with SimpleAuthManager users whose passwords it
sets, and talks to Airflow's public REST API with a JWT from ``POST /auth/token``, as an
officer's script or another system would. The review tests use it too.

``run_review_demo`` (called by ``socialhub demo`` after the pipeline has alerted):

1. starts Airflow and triggers ``socialhub_review`` over the demo store;
2. waits until the review tasks are waiting for input (``awaiting_input``) and shows the first one;
3. answers the first through the REST API as the officer ``demo-officer``: *Refer to platform*,
   with a justification;
4. leaves the others unanswered: after the (short, demo) response time the scheduler applies the
   default and they are escalated;
5. prints the referral package's listing and where the messages went; stops Airflow.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from socialhub.airflow_processes import AirflowProcesses, airflow_bin, free_port  # noqa: F401 - re-exported

#: log lines that say nothing about a stall: the test's own polling, the dag-processor's rescans
_ROUTINE_LOG = re.compile(r"\[http\.access\]|Refreshing bundle|Searching for files in|Found \d+ files for bundle")


class AirflowAPIError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:1000]}")
        self.status = status
        self.body = body


@dataclass
class LocalAirflow(AirflowProcesses):
    """Airflow's three long-running components as local processes, stopped by ``stop()``."""

    env: dict[str, str]
    workdir: Path
    users: dict[str, tuple[str, str]]                   # username -> (role, password)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)
    _parked_since: dict[tuple[str, str, str, int], float] = field(default_factory=dict)

    @classmethod
    def configure(cls, base_env: dict[str, str], workdir: Path, *, users: dict[str, tuple[str, str]],
                  port: int | None = None, parallelism: int = 2, extra: dict[str, str] | None = None
                  ) -> LocalAirflow:
        workdir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        passwords = workdir / "simple_auth_manager_passwords.json"
        passwords.write_text(json.dumps({u: pw for u, (_, pw) in users.items()}))
        passwords.chmod(0o600)
        env = dict(base_env)
        env.update({
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, (r, _) in users.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            # the scheduler's sweep that applies HITL defaults on timeout runs at this interval
            "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "2",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        })
        env.update(extra or {})
        return cls(env=env, workdir=workdir, users=users)

    def start(self, timeout: float = 240) -> None:
        self.spawn()
        self.wait_healthy(timeout)

    # -- the public REST API, as a named user --------------------------------------------------------

    def token(self, user: str) -> str:
        if user not in self._tokens:
            body = json.dumps({"username": user, "password": self.users[user][1]}).encode()
            req = urllib.request.Request(f"{self.api_url}/auth/token", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as resp:
                self._tokens[user] = json.loads(resp.read())["access_token"]
        return self._tokens[user]

    def api(self, method: str, path: str, body: Any = None, *, user: str, timeout: float = 120) -> Any:
        """One REST call as ``user``. GETs are retried on a timeout (a busy single-worker api-server)."""
        for attempt in range(3 if method == "GET" else 1):
            req = urllib.request.Request(f"{self.api_url}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self.token(user)}",
                                                  "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    raw = resp.read()
                return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                raise AirflowAPIError(method, path, exc.code, exc.read().decode(errors="replace")) from None
            except TimeoutError:
                if attempt == 2 or method != "GET":
                    raise
        return None

    def wait_for_dag(self, dag_id: str, *, user: str, timeout: float = 180) -> None:
        self.wait(lambda: self._dag_known(dag_id, user), timeout, f"the dag-processor to register {dag_id}")

    def _dag_known(self, dag_id: str, user: str) -> bool:
        try:
            self.api("GET", f"/api/v2/dags/{dag_id}", user=user)
            return True
        except AirflowAPIError as exc:
            if exc.status == 404:
                return False
            raise

    def trigger(self, dag_id: str, run_id: str, *, user: str) -> dict[str, Any]:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False}, user=user)
        return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "dag_run_id": run_id},
                        user=user)

    def run_state(self, dag_id: str, run_id: str, *, user: str) -> str:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", user=user)["state"]

    def active_runs(self, dag_id: str, *, user: str) -> list[str]:
        runs = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?state=queued&state=running&limit=100",
                        user=user)["dag_runs"]
        return [r["dag_run_id"] for r in runs]

    def task_instances(self, dag_id: str, run_id: str, *, user: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000",
                        user=user)["task_instances"]

    def hitl_details(self, dag_id: str, run_id: str, *, user: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/hitlDetails?limit=1000",
                        user=user)["hitl_details"]

    def parked_reviews(self, dag_id: str, run_id: str, *, user: str, settle: float = 15.0) -> list[dict[str, Any]]:
        """HITL requests of the run that have been waiting for an answer for at least ``settle`` seconds.

        Why wait: in Airflow 3.3.2 an answer that lands before the scheduler has handled the
        executor's "finished" event of the attempt that parked (usually well under a second, more
        on a loaded machine) makes the scheduler think the task was killed externally; it retries
        and asks again. People never answer that fast; scripts must not either. 5 s was once too
        short: the parked attempt's process took 5 s to exit and the answer came 0.4 s later, so the
        retry asked again and the answer was lost to a timeout (15 s now, with a 30 s response time).
        """
        now = time.monotonic()
        out = []
        for d in self.hitl_details(dag_id, run_id, user=user):
            ti = d["task_instance"]
            key = (dag_id, run_id, ti["task_id"], ti["map_index"])
            if ti["state"] == "awaiting_input" and not d["response_received"]:
                if now - self._parked_since.setdefault(key, now) >= settle:
                    out.append(d)
            else:
                self._parked_since.pop(key, None)
        return out

    def respond(self, dag_id: str, run_id: str, task_id: str, map_index: int, *, option: str,
                params: dict[str, Any], user: str) -> dict[str, Any]:
        """Answer a review as ``user``: what an officer's "Respond" in the UI sends."""
        self._parked_since.pop((dag_id, run_id, task_id, map_index), None)
        return self.api("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}"
                                 "/hitlDetails", {"chosen_options": [option], "params_input": params}, user=user)

    def wait(self, done: Callable[[], Any], timeout: float, what: str, poll: float = 0.5,
             describe: Callable[[], str] | None = None) -> Any:
        """Poll ``done`` until it returns something true; on timeout, say what was awaited and, with
        ``describe``, what the deployment looked like then (task states, the components' last log lines)."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            result = done()
            if result:
                return result
            if time.monotonic() > deadline:
                detail = ""
                if describe is not None:
                    try:
                        detail = "\n" + describe()
                    except Exception as exc:  # noqa: BLE001 - a diagnosis must not hide the timeout
                        detail = f"\n(could not describe the deployment: {exc!r})"
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
            time.sleep(poll)

    def describe_run(self, dag_id: str, run_id: str, *, user: str, log_lines: int = 25) -> str:
        """Task instance states and HITL requests of a run, and the end of each component's log:
        what a timeout message needs for its cause to be found afterwards (e.g. in CI)."""
        lines = [f"run {run_id}: {self.run_state(dag_id, run_id, user=user)}"]
        for ti in self.task_instances(dag_id, run_id, user=user):
            lines.append(f"  {ti['task_id']}[{ti.get('map_index')}] {ti['state']} try {ti.get('try_number')} "
                         f"start {ti.get('start_date')} end {ti.get('end_date')}")
        for d in self.hitl_details(dag_id, run_id, user=user):
            ti = d["task_instance"]
            lines.append(f"  hitl {ti['task_id']}[{ti['map_index']}] state {ti['state']} "
                         f"response_received {d['response_received']} chosen {d.get('chosen_options')}")
        for name in self.procs:
            path = self.log_path(name)
            if path.is_file():
                tail = [ln for ln in path.read_text(errors="replace").splitlines()
                        if not _ROUTINE_LOG.search(ln)][-log_lines:]
                lines.append(f"--- {path.name} (last {len(tail)} lines)")
                lines.extend(tail)
        return "\n".join(lines)


DEMO_OFFICER = "demo-officer"
#: Airflow settings of the demo's review step. No scheduled runs: unpausing socialhub_review (catchup=False,
#: an hourly drain) would make the scheduler start the latest scheduled run at once, and that run could
#: claim the alerts before the demo's own triggered run, which then had nothing to answer. Runs queued by
#: the alerts asset still run (the demo waits for them).
REVIEW_DEMO_AIRFLOW: dict[str, str] = {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
#: The demo officer's scripted justification for a referral, by the category the item is about
#: (its highest-scored label): a drug-supply advert must not be referred as "an explicit threat".
DEMO_JUSTIFICATIONS: dict[str, str] = {
    "violence_threat": ("Explicit threat of violence against an identifiable person; refer to the platform for "
                        "removal under its violent-threats policy."),
    "weapon": ("Shows off or offers a weapon (a knife or a firearm); refer to the platform under its weapons "
               "policy."),
    "drug_supply": ("Advertises drug supply (a menu, delivery or runners wanted); refer to the platform under its "
                    "illegal-goods and drug-sales policy."),
    "gang_affiliation": ("Taunts a rival group and claims territory in a way that risks retaliation; refer to the "
                         "platform under its violent-organisations policy."),
}
DEMO_JUSTIFICATION_OTHER = ("Flagged content that appears to break the platform's rules; refer to the platform for "
                            "its own review.")
#: kept for callers of the previous single justification (a threat)
DEMO_JUSTIFICATION = DEMO_JUSTIFICATIONS["violence_threat"]


def demo_justification(classification: dict[str, Any]) -> str:
    """The scripted justification matching the item: that of its highest-scored labelled category."""
    scores = classification.get("scores") or {}
    labels = [str(c) for c in classification.get("labels") or [] if str(c) in DEMO_JUSTIFICATIONS]

    def score(c: str) -> float:
        s = scores.get(c)
        return float(s) if isinstance(s, (int, float)) and not isinstance(s, bool) else 0.0

    if not labels:
        return DEMO_JUSTIFICATION_OTHER
    return DEMO_JUSTIFICATIONS[max(labels, key=lambda c: (score(c), -labels.index(c)))]


#: how many reviews the demo opens at most so that one of them is of a post with a captured image
MAX_REVIEWS_FOR_AN_IMAGE = 12


def run_review_demo(project: Path, home: Path, data_dir: Path, env: dict[str, str], *,
                    step: Callable[[str], None] = print, response_seconds: int = 30, max_reviews: int = 5,
                    timeout: float = 600) -> dict[str, Any]:
    """The review loop over the demo's store (see the module docstring). Returns what happened.

    ``env`` is the demo's Airflow environment (``socialhub.demo.airflow_env``), whose metadata
    database must already be initialised (``init_airflow``). Airflow runs only while this runs,
    and not at all when every alert has been reviewed already. ``project`` is not used beyond
    ``env`` (kept for the caller's symmetry).
    """
    from datetime import timedelta

    from socialhub.clock import now
    from socialhub.review.bundle import describe_bundle
    from socialhub.review.store import unclaimed_alerts
    from socialhub.storage import LocalStore

    store = LocalStore(data_dir / "store")
    run_id = f"demo_review__{int(time.time())}"
    result: dict[str, Any] = {"run_id": run_id, "outbox": str(data_dir / "outbox")}
    offered, _ = unclaimed_alerts(store, now=now(demo=True), limit=10**6, max_age=timedelta(days=7))
    # the officer refers a post with a captured image (its hash goes on the hub's list and the follow-up's
    # re-upload is caught): the oldest alerts are offered first, so open as many reviews as it takes for
    # one of them to have an image (alerts sent in the same second are in alert-id order: by chance)
    first_image = next((i for i, e in enumerate(offered) if _has_image(store, str(e.get("alert_id")))), None)
    if first_image is not None and max_reviews <= first_image < MAX_REVIEWS_FOR_AN_IMAGE:
        max_reviews = first_image + 1
    todo = offered[:max_reviews]
    if not todo:
        step("every alert has been reviewed already: nothing for officers to do")
        result["state"] = "nothing to review"
        return result
    password = secrets.token_urlsafe(12)
    users = {DEMO_OFFICER: ("user", password)}
    # The demo's api-server stops when the demo ends: links to its port would be dead by the time
    # anyone reads the outbox, so the messages say where to look instead, unless a public address
    # of an Airflow UI that stays up is configured (socialhub.alerts.links).
    public = env.get("SOCIALHUB_AIRFLOW_PUBLIC_URL") or os.environ.get("SOCIALHUB_AIRFLOW_PUBLIC_URL") or "none"
    af = LocalAirflow.configure(env, home / "review-demo", users=users,
                                extra={"SOCIALHUB_REVIEW_RESPONSE_SECONDS": str(response_seconds),
                                       "SOCIALHUB_REVIEW_MAX_PER_RUN": str(max_reviews),
                                       "SOCIALHUB_AIRFLOW_PUBLIC_URL": public, **REVIEW_DEMO_AIRFLOW})
    step(f"starting Airflow (api-server, scheduler, dag-processor) at {af.api_url}; logs in {af.workdir}")
    with af:
        af.start()
        af.wait_for_dag("socialhub_review", user=DEMO_OFFICER)
        af.trigger("socialhub_review", run_id, user=DEMO_OFFICER)
        step(f"triggered socialhub_review ({run_id}); waiting for review tasks to wait for an officer")

        def parked() -> list[dict[str, Any]] | None:
            if af.run_state("socialhub_review", run_id, user=DEMO_OFFICER) in ("success", "failed"):
                return [{}]
            return af.parked_reviews("socialhub_review", run_id, user=DEMO_OFFICER) or None

        waiting = [d for d in af.wait(parked, timeout, "a review task") if d]
        # the officer answers a post with a captured image (issue 16: its hash goes on the hub list and the
        # follow-up's re-upload is then caught): the reviews park a few seconds apart, so wait a little for
        # one, well inside the response time (a review that timed out can no longer be answered)
        deadline = time.monotonic() + min(10, response_seconds / 3)
        while waiting and not any(_has_image(store, d["subject"].split()[2]) for d in waiting) \
                and time.monotonic() < deadline:
            time.sleep(2)
            waiting = [d for d in (parked() or []) if d] or waiting
        result["reviews_waiting"] = len(waiting)
        tried: set[str] = set()
        while waiting:
            ordered = sorted(waiting, key=lambda d: d["task_instance"]["map_index"])
            first = next((d for d in ordered if _has_image(store, d["subject"].split()[2])), ordered[0])
            ti = first["task_instance"]
            referred = first["subject"].split()[2]
            tried.add(referred)
            step(f"{len(waiting)} review(s) waiting in Airflow; answering: {first['subject']}")
            why = _justification_for(store, referred)
            try:
                af.respond("socialhub_review", run_id, ti["task_id"], ti["map_index"], option="Refer to platform",
                           params={"justification": why}, user=DEMO_OFFICER)
            except AirflowAPIError as exc:
                if exc.status != 409:
                    raise
                # answered meanwhile (it timed out and escalated): answer another one still waiting, if any
                step(f"that review was closed meanwhile (it timed out); {exc.status}")
                waiting = [d for d in (parked() or []) if d and d["subject"].split()[2] not in tried]
                continue
            result["referred"] = referred
            result["justification"] = why
            step(f"answered through the REST API as {DEMO_OFFICER}: Refer to platform; the other(s) are left "
                 f"unanswered and escalate after {response_seconds}s")
            break
        state = af.wait(lambda: (s := af.run_state("socialhub_review", run_id, user=DEMO_OFFICER))
                        in ("success", "failed") and s, timeout, "the review run to finish", poll=1)
        result["state"] = state
        # a run the x-socialhub://alerts asset queued (the process DAG's alert task ran meanwhile) must
        # finish too: stopping Airflow in the middle would leave its alerts claimed but never decided
        af.wait(lambda: not af.active_runs("socialhub_review", user=DEMO_OFFICER), timeout,
                "other review runs to finish", poll=2)
    step(f"review run {state}; Airflow stopped")
    report = store.get_or_none(f"reports/review/{run_id}.json")
    result["summary"] = json.loads(report) if report else None
    if result.get("referred"):
        result["referral"] = describe_bundle(store, result["referred"])
    return result


def _justification_for(store: Any, alert_id: str) -> str:
    """``demo_justification`` of the stored alert (the generic one if it cannot be read)."""
    from socialhub.review.store import ReviewError, load_alert_context

    try:
        return demo_justification(load_alert_context(store, alert_id).alert.classification)
    except (ReviewError, OSError, ValueError, KeyError):
        return DEMO_JUSTIFICATION_OTHER


def format_review_summary(result: dict[str, Any], store_root: Path,
                          events: Iterable[Mapping[str, Any]] | None = None) -> str:
    """The review part of the demo's summary. Its figures are ``review_outcomes(events).lines()``
    (``socialhub.audit.outcomes``): decisions, escalations and referrals counted from the audit events of
    this demo run exactly as the auditor's report and the Airflow auditors' page count them. Without
    ``events`` no figures are printed (the caller adds them)."""
    from socialhub.audit.outcomes import review_outcomes

    lines = ["", "officer review (socialhub_review)", "=" * 33]
    lines.append(f"review run:             {result.get('run_id')} ({result.get('state')})")
    if events is not None:
        lines += review_outcomes(events).lines()
    kinds: dict[str, int] = {}
    for path in Path(result.get("outbox") or "/nonexistent").glob("notice-*.json"):
        try:
            kind = json.loads(path.read_text(encoding="utf-8")).get("kind", "")
        except (OSError, ValueError):
            continue
        if kind in ("review_request", "review_outcome", "referral", "escalation"):
            kinds[kind] = kinds.get(kind, 0) + 1
    if kinds:
        lines.append("messages in the outbox: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    if result.get("referral"):
        lines.append(f"referral package (answered as {DEMO_OFFICER} through the REST API):")
        if result.get("justification"):
            lines.append(f"  justification: {result['justification']}")
    for key, size in result.get("referral") or []:
        lines.append(f"  {size:>7} B  {store_root / key}")
    return "\n".join(lines)


def _has_image(store: Any, alert_id: str) -> bool:
    """True if the alert's post has a captured image (its hash can go on the hub's list)."""
    try:
        from socialhub.review.store import load_alert_context

        row = load_alert_context(store, alert_id).row
    except Exception:  # noqa: BLE001 - only a preference: any review will do
        return False
    # not YouTube: its thumbnails are made from the video, so the demo's re-upload of the image is not one
    return row.get("platform") != "youtube" and any(
        str(i.get("mime", "")).startswith("image/") for i in row.get("media_captured") or [])
