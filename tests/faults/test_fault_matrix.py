"""Fault injection across the pipeline: after each fault and a rerun, every post the platforms
served is stored exactly once, no alert is sent twice, none is lost, no cursor skipped anything.

Runs the real stages (connectors over HTTP against the replay server, the GE suite, the
classifier, the store, the alert sinks) without Airflow, so many scenarios stay fast; the
Airflow-run end-to-end tests cover the wiring. Prints the fault table (``pytest -s``).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from socialhub.alerting import alert_batches
from socialhub.alerts.ledger import AlertLedger
from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink, SlackSink
from socialhub.classify import load_classifier
from socialhub.collect import collect_account
from socialhub.errors import SocialhubError, StorageError
from socialhub.models import from_jsonl
from socialhub.process import pending_batches, process_batch
from socialhub.replay.server import ReplayServer
from socialhub.sources.base import ConnectorConfig
from socialhub.sources.registry import get_connector
from socialhub.storage import LocalStore
from socialhub.watchlist import WatchlistEntry
from tests.servers.slack_api import SlackAPIServer

EPOCH = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
ROUTING = Routing.from_dict({"version": 1, "default": {"on_duty": "#on-duty", "escalation": "#esc"}})
TABLE: list[tuple] = []


def clock():
    return EPOCH


def entries(replay):
    return [WatchlistEntry(platform=p, account=a, display_name=a, force="met", team="gangs", owner="DS X",
                           authorisation_ref="AUTH-F", purpose="Fault injection test entry.",
                           review_by="2099-01-01")
            for p in replay.platforms() for a in replay.accounts(p)]


class FlakyStore(LocalStore):
    """A store that fails the n-th write whose key starts with a prefix (S3 failing mid-batch,
    or a worker killed between two writes)."""

    def __init__(self, root, prefix: str | None = None, nth: int = 1, method: str = "put"):
        super().__init__(root)
        self.prefix, self.nth, self.method, self.seen, self.fired = prefix, nth, method, 0, 0

    def _check(self, method, key):
        if self.prefix and method == self.method and key.startswith(self.prefix):
            self.seen += 1
            if self.seen == self.nth:
                self.fired += 1
                raise StorageError(f"injected failure writing {key}")

    def put(self, key, data, **kw):
        self._check("put", key)
        return super().put(key, data, **kw)

    def put_file(self, key, fileobj, **kw):  # processing outputs are streamed: the same fault as put
        self._check("put", key)
        return super().put_file(key, fileobj, **kw)

    def put_state(self, key, data):
        self._check("put_state", key)
        return super().put_state(key, data)


def run_cycle(store, replay, sink, *, digest_threshold=10):
    """One collection-to-alert cycle over every account; storage failures abort it as a crash would."""
    errors = 0
    for e in entries(replay):
        cfg = ConnectorConfig(base_url=replay.base_url(e.platform), max_wait=5.0, page_size=3,  # several pages
                              timeout=1.0)
        conn = get_connector(e.platform, cfg, now=clock, sleep=lambda s: None)
        out = collect_account(store, e, conn, EPOCH)
        errors += out.status == "error"
    clf = load_classifier()
    ids = pending_batches(store)
    for b in ids:
        process_batch(store, b, classifier=clf)
    alert_batches(store, ids, sink=sink, routing=ROUTING, now=EPOCH, digest_threshold=digest_threshold)
    return errors


def stored_post_keys(store):
    keys = []
    for k in store.list("posts/"):
        keys += [f"{p['platform']}:{p['post_id']}" for p in from_jsonl(store.get(k))]
    return keys


def until_stable(store, replay, sink, tries=4, **kw):
    for _ in range(tries):
        try:
            if run_cycle(store, replay, sink, **kw) == 0:
                return
        except SocialhubError:
            continue


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    """Ground truth: what a fault-free run collects from the replay server."""
    root = tmp_path_factory.mktemp("truth")
    with ReplayServer(now=clock).start() as replay:
        store = LocalStore(root / "store")
        assert run_cycle(store, replay, OutboxSink(root / "outbox")) == 0
        posts = stored_post_keys(store)
        alerts = ledger_ids(store)
    assert len(posts) == len(set(posts)) and posts and alerts
    return set(posts), alerts


def ledger_ids(store):
    """Alert ids delivered (one ledger entry per alerted item, whether alone or in a digest)."""
    return {k.rsplit("/", 1)[-1].removesuffix(".json") for k in store.list("alerts/ledger/")}


SCENARIOS = {
    "no fault": [],
    "429 with short Retry-After": [("mastodon", dict(status=429, retry_after=1, count=2))],
    "429 with reset beyond max_wait": [("bluesky", dict(status=429, reset_in=3600, count=1))],
    "5xx twice then ok": [("mastodon", dict(status=503, count=2))],
    "5xx persisting": [("bluesky", dict(status=500, count=6))],
    "truncated JSON body": [("mastodon", dict(status=200, truncate=True, count=1, match="/statuses"))],
    "malformed body": [("bluesky", dict(status=200, body="<html>oops</html>", count=1))],
    "second page fails": [("mastodon", dict(status=500, count=5, match="max_id="))],
    "read timeouts": [("mastodon", dict(status=200, delay=1.5, count=2, match="/statuses"))],
    "pagination loops (page 2 = page 1)": [("mastodon", dict(status=200, repeat=True, count=3, match="max_id="))],
    "pagination repeats items": [("bluesky", dict(status=200, repeat=True, count=2, match="cursor="))],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_platform_faults(name, expected, tmp_path):
    truth, truth_alerts = expected
    with ReplayServer(now=clock).start() as replay:
        injected = 0
        for platform, kw in SCENARIOS[name]:
            replay.inject_fault(platform, **kw)
            injected += kw.get("count", 1)
        store = LocalStore(tmp_path / "store")
        sink = OutboxSink(tmp_path / "outbox")
        until_stable(store, replay, sink)
        unfired = sum(f.count for p in replay.platforms() for f in replay._platforms[p].faults)
    assert unfired == 0, f"{name}: {unfired} injected fault(s) never reached the connector"
    check(name, injected, store, tmp_path / "outbox", truth, truth_alerts)


STORE_FAULTS = {
    "store fails writing raw": ("raw/", 2, "put"),
    "store fails writing posts (mid-batch)": ("posts/", 3, "put"),
    "killed before manifest": ("batches/", 2, "put"),
    "killed after storing, before cursor": ("state/cursors/", 3, "put_state"),
    "store fails writing curated": ("curated/", 1, "put"),
    "killed between alert send and ledger": ("alerts/ledger/", 2, "put"),
}


@pytest.mark.parametrize("name", list(STORE_FAULTS))
def test_storage_and_crash_faults(name, expected, tmp_path):
    truth, truth_alerts = expected
    prefix, nth, method = STORE_FAULTS[name]
    with ReplayServer(now=clock).start() as replay:
        store = FlakyStore(tmp_path / "store", prefix, nth, method)
        sink = OutboxSink(tmp_path / "outbox")
        with pytest.raises(StorageError, match="injected"):
            run_cycle(store, replay, sink)
        assert store.fired == 1
        replay.add_post(replay.platforms()[0], replay.accounts(replay.platforms()[0])[0],
                        {"text": "posted while we were down", "age": "0s"})
        until_stable(store, replay, sink)
    truth = truth | {k for k in stored_post_keys(store) if k not in truth}  # plus the one new post
    assert len(truth) == len(expected[0]) + 1
    check(name, 1, store, tmp_path / "outbox", truth, truth_alerts)


def test_slack_failures_lose_no_alert_and_send_none_twice(expected, tmp_path):
    truth, truth_alerts = expected
    with ReplayServer(now=clock).start() as replay, SlackAPIServer(token="xoxb-fault").start() as slack:
        from slack_sdk import WebClient

        sink = SlackSink(WebClient(token="xoxb-fault", base_url=slack.base_url), sleep=lambda s: None,
                         max_attempts=3)
        store = LocalStore(tmp_path / "store")
        slack.fail_next(3, status=500)          # the first alert exhausts its retries: the run fails
        with pytest.raises(SocialhubError):
            run_cycle(store, replay, sink, digest_threshold=1000)  # one message per alert, to count them
        slack.rate_limit_next(2, retry_after=1)  # then rate limiting, honoured
        until_stable(store, replay, sink, digest_threshold=1000)
        keys = [m.blocks[-1]["elements"][0]["value"] for m in slack.messages]
        assert len(keys) == len(set(keys))          # none sent twice
        assert set(keys) == truth_alerts            # none lost
        ledger = AlertLedger(store)
        assert all(ledger.delivered(k) for k in keys)
    posts = stored_post_keys(store)
    TABLE.append(("Slack 5xx then 429", 5, len(truth), len(set(posts)), len(posts) - len(set(posts)),
                  len(truth - set(posts)), len(truth_alerts), len(set(keys)), len(keys) - len(set(keys))))


def check(name, injected, store, outbox: Path, truth, truth_alerts):
    posts = stored_post_keys(store)
    counts = Counter(posts)
    dup = sum(c - 1 for c in counts.values())
    lost = truth - set(counts)
    lines = (outbox / "outbox.jsonl").read_text().splitlines() if (outbox / "outbox.jsonl").exists() else []
    messages = [json.loads(line)["key"] for line in lines]   # one per alert, or one per digest
    delivered = ledger_ids(store)
    TABLE.append((name, injected, len(truth), len(counts), dup, len(lost), len(truth_alerts), len(delivered),
                  len(messages) - len(set(messages))))
    assert dup == 0, f"{name}: {dup} post(s) stored twice"
    assert not lost, f"{name}: lost {sorted(lost)[:5]}"
    assert set(counts) == truth
    assert len(messages) == len(set(messages)), f"{name}: a message was sent twice"
    assert truth_alerts <= delivered, f"{name}: alerts lost: {sorted(truth_alerts - delivered)[:3]}"
    assert pending_batches(store) == []


def teardown_module(module):  # noqa: ARG001
    if not TABLE:
        return
    head = ("scenario", "faults", "posts expected", "stored", "duplicated", "lost", "alerts expected",
            "alerted", "messages duplicated")
    widths = [max(len(str(r[i])) for r in [head, *TABLE]) for i in range(len(head))]
    print("\n\nFault table")
    for row in [head, *TABLE]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
