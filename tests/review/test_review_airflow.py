"""The whole review loop on a real Airflow: api-server, scheduler and dag-processor as processes.

The store (S3, served by moto_server) holds three delivered alerts, made by the pipeline's own
functions and posted to the Slack-API-shaped server. Airflow runs ``socialhub_review``; the test
answers as an officer through Airflow's REST API (JWT from ``POST /auth/token``) exactly as the
Required Actions page does, and leaves one review unanswered until the scheduler's timeout sweep
applies the default. Nothing is patched inside Airflow.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

import pytest
from slack_sdk import WebClient

from socialhub.alerts.sinks import SlackSink
from socialhub.audit.chain import AuditLog, verify_chain
from socialhub.demo import airflow_env
from socialhub.models import sha256_hex
from socialhub.review.demo import AirflowAPIError, LocalAirflow, free_port
from socialhub.review.model import ESCALATE, NO_ACTION, REFER
from socialhub.storage.s3 import S3Store
from tests.review._pipeline import populate
from tests.servers.slack_api import SlackAPIServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-review-e2e-SECRET-4711"
RESPONSE_SECONDS = 60
DAG = "socialhub_review"


def _conn(d: dict) -> str:
    return json.dumps(d)


def test_review_loop_refer_reask_and_timeout_escalation(tmp_path, moto_endpoint, bucket, s3_client):
    officer_pw, viewer_pw = secrets.token_urlsafe(10), secrets.token_urlsafe(10)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with SlackAPIServer(token=TOKEN, channel_ids={"#on-duty": "C0ONDUTY01", "#escalation": "C0ESCAL001"}) as slack:
        store = S3Store(bucket, "hub", client=s3_client)
        sink = SlackSink(WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[]), sleep=lambda s: None)
        alerts = populate(store, sink, review_url=lambda aid: f"{base}/required_actions?subject_search={aid}")
        refer_id, reask_id, timeout_id = alerts["2"], alerts["3"], alerts["5"]
        alert_ts = {aid: next(m.ts for m in slack.messages if aid in json.dumps(m.blocks)) for aid in alerts.values()}
        routing = tmp_path / "routing.yaml"
        routing.write_text(json.dumps({"version": 1, "default": {
            "on_duty": "#on-duty", "escalation": "#escalation",
            "reviewers": [{"id": "officer1", "name": "Officer One"}]},      # HITL assigned_users
            "platform_team": "#platform"}))
        home = tmp_path / "airflow"
        dags = tmp_path / "dags"           # only the review DAG: less parsing on a busy machine
        dags.mkdir()
        shutil.copy(ROOT / "dags" / "socialhub_review.py", dags / "socialhub_review.py")
        env = airflow_env(ROOT, home, tmp_path / "data", {
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "SOCIALHUB_ROUTING": str(routing),
            "SOCIALHUB_REVIEW_RESPONSE_SECONDS": str(RESPONSE_SECONDS),
            "SOCIALHUB_REVIEW_MAX_AGE_DAYS": "100000",     # the fixture's alerts are dated 2026-11-25
            # no scheduled runs: unpausing the DAG (catchup=False) makes the scheduler start the latest
            # hourly drain at once, and that run raced ours for the same alerts (seen in a fresh clone)
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW_CONN_SOCIALHUB_STORAGE": _conn({
                "conn_type": "aws", "login": "testing", "password": "testing",
                "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1", "bucket": bucket,
                          "prefix": "hub"}}),
            "AIRFLOW_CONN_SOCIALHUB_SLACK": _conn({"conn_type": "slack", "password": TOKEN,
                                                  "extra": {"base_url": slack.base_url}}),
        })
        af = LocalAirflow.configure(env, tmp_path / "stack", port=port,
                                    users={"officer1": ("user", officer_pw), "viewer1": ("viewer", viewer_pw)})
        af.cli("db", "migrate")
        run_id = "review_e2e"
        with af:
            af.start()
            af.wait_for_dag(DAG, user="officer1")
            af.trigger(DAG, run_id, user="officer1")

            def waiting(aid: str):
                """The run's parked reviews (by alert id) once ``aid``'s is among them."""
                if af.run_state(DAG, run_id, user="officer1") == "failed":
                    raise AssertionError(f"review run failed: {af.task_instances(DAG, run_id, user='officer1')}")
                parked = {aid_of(d): d for d in af.parked_reviews(DAG, run_id, user="officer1")}
                return parked if aid in parked else None

            def describe() -> str:
                return af.describe_run(DAG, run_id, user="officer1")

            def aid_of(d: dict) -> str:
                return re.search(r"[0-9a-f]{24}", d["subject"]).group(0)

            def answer(d: dict, option: str, why: str | None, user: str = "officer1"):
                ti = d["task_instance"]
                return af.respond(DAG, run_id, ti["task_id"], ti["map_index"], option=option,
                                  params={"justification": why}, user=user)

            # answer each review as soon as it waits (the third is never answered)
            todo = [(refer_id, REFER, None), (reask_id, NO_ACTION, "ok"),   # "ok": too short, asked again
                    (reask_id, NO_ACTION, "Drill lyrics quoted from a released track; not a threat.")]
            for aid, option, why in todo:
                parked = af.wait(lambda aid=aid: waiting(aid), 300,
                                 f"the review of {aid} waiting for input (to answer {option!r}, {why!r})",
                                 describe=describe)
                if aid == refer_id:
                    with pytest.raises(AirflowAPIError) as denied:     # a viewer may look, not decide
                        answer(parked[aid], REFER, "I am not allowed to decide this one.", user="viewer1")
                    assert denied.value.status == 403
                    why = "Explicit threat to stab an identifiable rival; refer for removal."
                elif why != "ok":
                    assert parked[aid]["responded_by_user"] is None     # the rejected answer was cleared
                answer(parked[aid], option, why)
            af.wait(lambda: af.run_state(DAG, run_id, user="officer1") in ("success", "failed"),
                    RESPONSE_SECONDS + 300, "the review run to finish", poll=1, describe=describe)
            tis = af.task_instances(DAG, run_id, user="officer1")
            assert af.run_state(DAG, run_id, user="officer1") == "success", tis
            final = {re.search(r"[0-9a-f]{24}", d["subject"]).group(0): d
                     for d in af.hitl_details(DAG, run_id, user="officer1")}
            # another run (the next alert batch): every alert is already reviewed, nothing is asked again
            af.trigger(DAG, "review_e2e_again", user="officer1")
            af.wait(lambda: af.run_state(DAG, "review_e2e_again", user="officer1") in ("success", "failed"), 180,
                    "the second review run", poll=1)
            assert af.run_state(DAG, "review_e2e_again", user="officer1") == "success"
            assert af.hitl_details(DAG, "review_e2e_again", user="officer1") == []
        hostile = final[timeout_id]
        assert hostile["options"] == [REFER, ESCALATE, "Keep monitoring", NO_ACTION]
        assert hostile["defaults"] == [ESCALATE] and hostile["multiple"] is False
        assert "justification" in hostile["params"]
        # Jinja never rendered: both template constructs are there verbatim, side by side (not a search
        # for "49": the body quotes version ids such as model hashes, which may contain it)
        assert "{{ 7*7 }} {% raw %}" in hostile["body"]
        assert hostile["chosen_options"] == [ESCALATE] and hostile["responded_by_user"] is None
        assert final[refer_id]["responded_by_user"]["id"] == "officer1"
        # only the team's reviewers may answer (routing.yaml reviewers -> assigned_users), asked again too
        assert all(d["assigned_users"] == [{"id": "officer1", "name": "Officer One"}] for d in final.values())
        # the listed subject quotes no post and names no account; the page body has what the officer needs
        assert all("stab" not in d["subject"] and "acct" not in d["subject"] for d in final.values())
        assert "gonna stab him" in hostile["body"]
        # the mapped argument (find_reviews' XCom) is the alert id and the response time, no post text
        import sqlalchemy

        engine = sqlalchemy.create_engine(f"sqlite:///{home / 'airflow.db'}")
        with engine.connect() as c:
            xcom = c.execute(sqlalchemy.text("SELECT value FROM xcom WHERE dag_id = :d AND task_id = 'find_reviews'"),
                             {"d": DAG}).scalars().all()
        engine.dispose()
        assert xcom and all("stab" not in str(v) and "acct@x.social" not in str(v) for v in xcom)
        requests = [r for v in xcom for r in (json.loads(v) if isinstance(v, str) else v)]
        assert requests and all(set(r) == {"alert_id", "response_seconds"} for r in requests)

        # the referral package, in S3
        prefix = f"hub/referrals/{refer_id}/"
        objs = {o["Key"].removeprefix(prefix): o["Size"]
                for o in s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]}
        assert sorted(objs) == ["classification.json", "manifest.json", "post.json", "raw_item.json",
                                "report.html", "review.json"]
        manifest = json.loads(store.get(f"referrals/{refer_id}/manifest.json"))
        assert manifest["decision"]["responded_by"] == {"id": "officer1", "name": "officer1"}
        assert manifest["decision"]["justification"].startswith("Explicit threat")
        assert sha256_hex(store.get(f"referrals/{refer_id}/raw_item.json")) == manifest["raw_sha256"]
        assert store.list(f"referrals/{reask_id}/") == [] and store.list(f"referrals/{timeout_id}/") == []

        # Slack: the alert's Review button, then the review link, the package and the outcome in its thread
        assert slack.errors == []
        alert_msg = next(m for m in slack.messages if m.ts == alert_ts[refer_id])
        review_btn = [e for b in alert_msg.blocks if b["type"] == "actions" for e in b["elements"]
                      if e["action_id"] == "open_review"]
        assert review_btn[0]["url"] == f"{base}/required_actions?subject_search={refer_id}"
        thread = [m for m in slack.messages if m.params.get("thread_ts") == alert_ts[refer_id]]
        texts = [json.dumps(m.blocks) for m in thread]
        assert len(thread) == 3
        assert f"{base}/dags/{DAG}/runs/{run_id}/tasks/review/required_actions?map_index=" in texts[0]
        assert f"s3://{bucket}/hub/referrals/{refer_id}/" in texts[1]
        assert "Reviewed by officer1: Refer to platform" in texts[2]
        escalations = [m for m in slack.messages if m.channel == "#escalation"]
        assert len(escalations) == 1 and timeout_id in json.dumps(escalations[0].blocks)
        assert "ESCALATED automatically" in json.dumps(escalations[0].blocks)
        timeout_thread = [json.dumps(m.blocks) for m in slack.messages if m.params.get("thread_ts") == alert_ts[timeout_id]]
        assert any("escalated automatically" in t for t in timeout_thread)

        # the audit trail: who decided what and when, and every referral
        assert verify_chain(store).ok
        events = list(AuditLog(store).events())
        responses = {e["details"]["alert_id"]: e for e in events if e["action"] == "review_response"}
        assert len([e for e in events if e["action"] == "review_response"]) == 3   # the rejected answer is not one
        assert responses[refer_id]["actor"]["kind"] == "person" and responses[refer_id]["actor"]["id"] == "officer1"
        assert responses[reask_id]["details"]["outcome"] == NO_ACTION
        assert responses[reask_id]["justification"].startswith("Drill lyrics")
        assert responses[timeout_id]["actor"]["kind"] == "system" and responses[timeout_id]["details"]["timed_out"]
        referrals = {e["details"]["kind"]: e for e in events if e["action"] == "referral"}
        assert referrals["platform"]["details"]["alert_id"] == refer_id
        assert referrals["escalation"]["details"]["alert_id"] == timeout_id
        summary = json.loads(store.get(f"reports/review/{run_id}.json"))
        # decisions are officers' answers; the timeout is an automatic escalation (socialhub.audit.outcomes)
        assert summary["by_decision"] == {NO_ACTION: 1, REFER: 1} and summary["decisions"] == 2
        assert summary["timed_out"] == 1 and summary["escalations_automatic"] == 1
        assert json.loads(store.get("reports/review/review_e2e_again.json"))["reviews"] == 0

    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "stack").glob("*.log"))
    assert TOKEN not in logs and officer_pw not in logs
