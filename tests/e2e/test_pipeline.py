"""The whole pipeline, run by Airflow, against real protocol servers on loopback."""

from __future__ import annotations

import json

import boto3
import pytest

from socialhub.models import from_jsonl
from socialhub.replay.server import ReplayServer
from tests.e2e.conftest import conn, write_watchlist
from tests.servers.slack_api import SlackAPIServer

pytestmark = pytest.mark.e2e

SLACK_TOKEN = "xoxb-e2e-SECRET-slack-token-4711"
S3_SECRET = "e2e-SECRET-aws-key-0815"
PLATFORM_TOKEN = "e2e-SECRET-mastodon-token-1234"


def _objects(s3, bucket, prefix):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def _rows(s3, bucket, keys):
    rows = []
    for k in keys:
        rows += from_jsonl(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
    return rows


def _rows_json(s3, bucket, keys):
    return [json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys]


def _asset_events(runner, name: str) -> list[dict]:
    """The extra of every event of asset ``name`` in Airflow's metadata database, oldest first."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(runner.env()["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    try:
        with engine.connect() as c:
            rows = c.execute(sqlalchemy.text("SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                                             "WHERE a.name = :name ORDER BY e.id"), {"name": name}).all()
    finally:
        engine.dispose()
    return [json.loads(x) if isinstance(x, str) else (x or {}) for (x,) in rows]


def _xcom_rows(runner) -> list[tuple[str, str, str, str]]:
    """(dag_id, task_id, key, value) of every XCom row in Airflow's metadata database."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(runner.env()["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    try:
        with engine.connect() as c:
            rows = c.execute(sqlalchemy.text("SELECT dag_id, task_id, key, value FROM xcom")).all()
    finally:
        engine.dispose()
    return [(d, t, k, v if isinstance(v, str) else json.dumps(v)) for d, t, k, v in rows]


def test_pipeline_on_s3_and_slack_alerts_each_item_once(runner, moto_endpoint, bucket, tmp_path):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key=S3_SECRET)
    with ReplayServer().start() as replay, SlackAPIServer(token=SLACK_TOKEN).start() as slack:
        watchlist = write_watchlist(tmp_path / "watchlist.yaml", replay)
        replay.require_token("mastodon", PLATFORM_TOKEN)  # the token must come from the Connection
        from tests.core.test_shadow import lenient

        runner.extra_env.update({
            "SOCIALHUB_WATCHLIST": str(watchlist),
            # a candidate that flags more, in shadow: its results are stored and must never alert
            "SOCIALHUB_SHADOW_CLASSIFIER": str(lenient(tmp_path)),
            # the posts' media through the replay server (the capture gateway): loopback only
            "SOCIALHUB_MEDIA_GATEWAY": replay.media_gateway,
            "AIRFLOW_CONN_SOCIALHUB_STORAGE": conn({
                "conn_type": "aws", "login": "testing", "password": S3_SECRET,
                "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1", "bucket": bucket,
                          "prefix": "hub"}}),
            "AIRFLOW_CONN_SOCIALHUB_SLACK": conn({"conn_type": "slack", "password": SLACK_TOKEN,
                                                 "extra": {"base_url": slack.base_url}}),
            **{f"AIRFLOW_CONN_SOCIALHUB_{p.upper()}": conn({"conn_type": "http", "password": PLATFORM_TOKEN,
                                                           "extra": {"base_url": replay.base_url(p)}})
               for p in replay.platforms()},
        })
        batches_before, alerts_before = (len(_asset_events(runner, n)) for n in ("socialhub_batches", "socialhub_alerts"))
        runner.cycle()
        # each asset event says what is new: the batches collected, the alerts delivered
        (first_batches,) = _asset_events(runner, "socialhub_batches")[batches_before:]
        assert first_batches["batches"] == len(first_batches["batch_ids"]) > 0 and first_batches["posts"] > 0
        (first_alerts,) = _asset_events(runner, "socialhub_alerts")[alerts_before:]
        assert first_alerts["alerts"] > 0

        # evidence, results, quarantine and flagged items are apart, in S3 over HTTP
        raw = _objects(s3, bucket, "hub/raw/")
        posts = _rows(s3, bucket, _objects(s3, bucket, "hub/posts/"))
        curated = _rows(s3, bucket, _objects(s3, bucket, "hub/curated/"))
        quarantined = _rows(s3, bucket, _objects(s3, bucket, "hub/quarantine/"))
        flagged = _rows(s3, bucket, _objects(s3, bucket, "hub/flagged/"))
        assert raw and posts
        assert len(curated) + len(quarantined) == len(posts)
        assert quarantined and all(r["quarantine_reasons"] for r in quarantined)
        assert flagged and all(r["classification"]["labels"] for r in flagged)
        assert {p["platform"] for p in posts} == set(replay.platforms())
        # the lapsed authorisation was never requested from the platform
        assert not any("lapsed_" in p for p in replay.paths())

        # one Slack message per flagged item, accepted by the payload-checking server
        assert slack.errors == []
        assert len(slack.messages) == len(flagged)

        # each decision names the recorded classifier version; the shadow's results are stored beside
        # the live ones, flag more, and alerted nobody (the message count above is the live one)
        versions = {json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read())["id"]
                    for k in _objects(s3, bucket, "hub/classifiers/versions/") if k.endswith("/record.json")}
        live_ids = {r["classification"]["classifier_id"] for r in curated}
        shadow_rows = _rows(s3, bucket, _objects(s3, bucket, "hub/shadow/"))
        shadow_ids = {r["classification"].get("classifier_id") for r in shadow_rows}
        assert len(live_ids) == 1 and live_ids < versions and shadow_ids == {None}
        assert len(shadow_rows) == len(curated)
        assert sum(1 for r in shadow_rows if r["classification"]["labels"]) > len(flagged)
        assert {k.split("/")[2] for k in _objects(s3, bucket, "hub/shadow/")} <= versions - live_ids
        texts = json.dumps([m.blocks for m in slack.messages])
        for row in flagged:
            assert row["url"] in texts

        # media captured as evidence in S3, write-once by hash, with a blurred preview; the rows point at
        # the stored copies, and no Slack message carries a media URL (Slack would fetch it)
        records = _rows_json(s3, bucket, _objects(s3, bucket, "hub/media/posts/"))
        captured = [i for r in records for i in r["items"] if i["status"] == "captured"]
        assert captured and all(i["key"] == f"media/objects/{i['sha256'][:2]}/{i['sha256']}" for i in captured)
        stored = set(_objects(s3, bucket, "hub/media/objects/"))
        assert {f"hub/{i['key']}" for i in captured} <= stored
        assert any(k.endswith(".jpg") for k in _objects(s3, bucket, "hub/media/previews/"))
        assert any(r.get("media_captured") for r in curated)
        assert not any(i["url"] in texts for r in records for i in r["items"])

        # second run: nothing new collected, nothing alerted twice
        runner.cycle()
        assert len(_rows(s3, bucket, _objects(s3, bucket, "hub/posts/"))) == len(posts)
        assert len(slack.messages) == len(flagged)
        # planning read each platform's due index; the first run's shard deltas were merged into it and deleted,
        # only the last run's wait for the next plan (socialhub.due_index)
        index_keys = _objects(s3, bucket, "hub/state/index/")
        assert set(replay.platforms()) <= {k.split("/")[3] for k in index_keys if k.endswith("/due.json")}
        delta_runs = {json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read())["run_id"]
                      for k in index_keys if "/deltas/" in k}
        assert len(delta_runs) == 1 and None not in delta_runs
        # ... and no asset event: an idle run schedules no processing or review run
        assert len(_asset_events(runner, "socialhub_batches")) == batches_before + 1
        assert len(_asset_events(runner, "socialhub_alerts")) == alerts_before + 1

        # a new threatening post arrives: exactly one new alert
        platform = replay.platforms()[0]
        account = replay.accounts(platform)[0]
        replay.add_post(platform, account, {"text": "we're coming for you tonight, you're dead bro 🔪",
                                            "age": "1m"})
        runner.cycle()
        assert len(_rows(s3, bucket, _objects(s3, bucket, "hub/posts/"))) == len(posts) + 1
        assert len(slack.messages) == len(flagged) + 1
        assert [e["batches"] for e in _asset_events(runner, "socialhub_batches")[batches_before:]] == [
            first_batches["batches"], 1]
        assert [e["alerts"] for e in _asset_events(runner, "socialhub_alerts")[alerts_before:]] == [
            first_alerts["alerts"], 1]

        # the audit log recorded every step, chained, in S3
        from socialhub.audit.chain import AuditLog, verify_chain
        from socialhub.storage.s3 import S3Store

        audit_store = S3Store(bucket, "hub", client=s3)
        verified = verify_chain(audit_store)
        assert verified.ok, verified.describe()
        # each task wrote its own segment and sealed it when it ended (the plugin's listener): none left open
        assert verified.segments and verified.segment_events and verified.open_segments == [], verified.describe()
        events = list(AuditLog(audit_store).events())
        actions = {e["action"] for e in events}
        assert {"watchlist_change", "authorisation_lapsed", "collect", "quality_reject", "classify",
                "alert", "media_capture"} <= actions
        alert_events = [e for e in events if e["action"] == "alert"]
        assert len(alert_events) == len(slack.messages)
        assert all(e["actor"]["kind"] == "task" and e["actor"]["dag_id"] for e in events)

        # who changed the watchlist, without git: the diff, the file's hash, the run and its DAG bundle
        # (`airflow dags test` runs tasks without a bundle, so name and version are None here; a worker
        # has them: tests/audit/test_watchlist_changes.py), and an honest "unknown" for who
        changes = [e for e in events if e["action"] == "watchlist_change"]
        assert changes and all(e["details"]["dag_run"] and {"bundle_name", "bundle_version"} <= set(e["details"])
                               and e["details"]["attributed_from"] == "none" and e["hashes"]["watchlist_file"]
                               for e in changes)

        # XCom (Airflow's metadata database) carries keys and counts, never a watchlist entry's purpose,
        # authorisation, owner or review date, and no task writes one row per dict key (multiple_outputs)
        xcoms = [r for r in _xcom_rows(runner) if r[0] in ("socialhub_collect", "socialhub_process")]
        assert {r[1] for r in xcoms} >= {"check_watchlist", "plan_mastodon", "collect_mastodon", "finish", "alert"}
        assert {r[2] for r in xcoms} == {"return_value"}
        private = ("End-to-end test of the pipeline", "DS Test", "AUTH-T-", "AUTH-LAPSED", "2099-01-01")
        assert [(r[1], p) for r in xcoms for p in private if p in r[3]] == []
        plan = next(json.loads(r[3]) for r in xcoms if r[1] == "plan_mastodon" and r[3] not in ("[]", "null"))
        assert set(plan[0]) == {"platform", "index", "of", "accounts", "rate"} and plan[0]["accounts"][0].startswith("mastodon:")

        # after a referral (an officer's decision, made here in-process): the platform removes the post, and
        # the re-check DAG, run by Airflow as if two hours later, finds it removed and closes the referral
        # with its time to removal (shares this test's Airflow set-up)
        from datetime import UTC, datetime

        from socialhub.alerts.routing import Routing
        from socialhub.alerts.sinks import OutboxSink
        from socialhub.models import utc_iso
        from socialhub.referrals import register as reg
        from socialhub.review.actions import act_on_decision
        from socialhub.review.model import REFER, Decision

        alert_id = next(e["object"].removeprefix("alert:") for e in alert_events
                        if e["details"].get("post", "").startswith("mastodon:"))
        decided = Decision(alert_id=alert_id, option=REFER, justification="Threat to a named rival; refer.",
                           responded_at=utc_iso(datetime.now(UTC)), timed_out=False, response_seconds=60,
                           responded_by={"id": "pc-e2e", "name": "PC E2E"}, review_task={})
        out = act_on_decision(audit_store, decided, sink=OutboxSink(tmp_path / "outbox"),
                              routing=Routing.from_dict({"version": 1, "platform_team": "#platform", "default": {
                                  "on_duty": "#on-duty", "escalation": "#escalation"}}), now=datetime.now(UTC))
        referral = reg.get_referral(audit_store, out["referral_id"])
        replay.remove_post("mastodon", str(referral.record["post_id"]))
        runner.extra_env["SOCIALHUB_NOW"] = "+2h"
        try:
            proc = runner.dags_test("socialhub_recheck")
        finally:
            del runner.extra_env["SOCIALHUB_NOW"]
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
        referral = reg.get_referral(audit_store, out["referral_id"])
        assert referral.outcome == "removed" and not referral.is_open, referral.to_dict()
        assert 2 * 3600 - 60 <= (referral.time_to_removal or 0) <= 2 * 3600 + 600
        assert [e["kind"] for e in referral.events] == ["check", "close"]
        assert referral.events[0]["http_status"] == 404

        # credentials never reach the logs, task output, alerts or stored objects
        secrets = (SLACK_TOKEN, S3_SECRET, PLATFORM_TOKEN)
        outputs = {"airflow logs and task output": runner.log_file.read_text(),
                   "slack messages": json.dumps([[m.text, m.blocks] for m in slack.messages])}
        for key in _objects(s3, bucket, ""):
            outputs[f"s3://{bucket}/{key}"] = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8",
                                                                                                          "replace")
        task_logs = list(runner.home.rglob("*.log"))
        outputs.update({str(p): p.read_text(errors="replace") for p in task_logs})
        leaks = [(where, s) for where, text in outputs.items() for s in secrets if s in text]
        assert leaks == []
        assert len(outputs) > 20
