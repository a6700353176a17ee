"""Shadow classification: a second version classifies every batch beside the live one, is stored under
shadow/, and never reaches an alert; its failure never stops the live run."""

from __future__ import annotations

import json
import re

import pytest

from socialhub.alerting import alert_batches
from socialhub.alerts.ledger import AlertLedger
from socialhub.alerts.model import alert_id_for
from socialhub.alerts.sinks import OutboxSink
from socialhub.classify import versions
from socialhub.classify.lexicon import DEFAULT_THRESHOLDS_PATH
from socialhub.models import from_jsonl
from socialhub.process import Shadow, process_batch, process_batches, result_key, summarise_processing
from socialhub.storage import LocalStore, layout
from tests.core.test_process_and_alert import NOW, TEXTS, collect

MORE = {"5": "i swear down i'll batter him next time i see him", "6": "selling my old bike, dm me"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture()
def store(tmp_path):
    return LocalStore(tmp_path / "store")


@pytest.fixture()
def routing():
    from socialhub.alerts.routing import Routing

    return Routing.from_dict({"version": 1, "default": {"on_duty": "#on-duty", "escalation": "#esc"},
                              "platform_team": "#platform"})


def lenient(tmp_path):
    """A candidate that flags more: every model threshold at 0.05."""
    folder = tmp_path / "lenient"
    folder.mkdir()
    text = DEFAULT_THRESHOLDS_PATH.read_text(encoding="utf-8")
    block = text.split("\nthresholds:\n", 1)[1].split("\nrules_only:", 1)[0]
    text = text.replace(block, re.sub(r": [0-9.]+", ": 0.05", block))
    text = re.sub(r'(?m)^version: "[^"]+"$', 'version: "lenient-1"', text, count=1)
    (folder / "thresholds.yaml").write_text(text, encoding="utf-8")
    return folder


def test_shadow_results_are_stored_beside_the_live_ones_and_never_alerted(store, tmp_path, routing):
    live, clf = versions.register(store)
    cand, cand_clf = versions.resolve(store, str(lenient(tmp_path)))
    batch = collect(store, TEXTS | MORE)
    rec = process_batch(store, batch, classifier=clf, now=NOW, classifier_id=live.id,
                        shadow=Shadow(cand.id, cand_clf))
    assert rec["classifier_id"] == live.id
    sh = rec["shadow"]
    assert sh["id"] == cand.id and sh["posts"] == rec["valid"] == 6
    assert sh["flagged"] > rec["flagged"]          # the lenient version flags more
    day = rec["outputs"]["curated"].split("date=")[1].split("/")[0]
    assert sh["key"] == layout.shadow_key(cand.id, "mastodon", day, batch)
    rows = from_jsonl(store.get(sh["key"]))
    assert [r["post_id"] for r in rows] == sorted(TEXTS | MORE, key=int)
    assert all(r["classification"]["thresholds"]["violence_threat"] == pytest.approx(0.05) for r in rows)
    assert all(r["force"] == "met" and r["batch_id"] == batch for r in rows)
    # the live outputs are what the live classifier alone gives
    curated = from_jsonl(store.get(rec["outputs"]["curated"]))
    assert all(r["classification"]["thresholds"]["violence_threat"] != pytest.approx(0.05) for r in curated)
    flagged_ids = {r["post_id"] for r in from_jsonl(store.get(rec["outputs"]["flagged"]))}
    shadow_only = {r["post_id"] for r in rows if r["classification"]["labels"]} - flagged_ids
    assert shadow_only
    outbox = OutboxSink(tmp_path / "outbox")
    summary = alert_batches(store, [batch], sink=outbox, routing=routing, now=NOW)
    ledger = AlertLedger(store)
    assert summary["delivered"] == len(flagged_ids) >= 1
    assert all(ledger.delivered(alert_id_for("mastodon", k)) for k in flagged_ids)
    assert not any(ledger.delivered(alert_id_for("mastodon", k)) for k in shadow_only)
    totals = summarise_processing([rec])["shadow"][cand.id]
    assert totals["posts"] == 6 and totals["flagged"] == sh["flagged"] and totals["failed_batches"] == 0


class Broken:
    def classify_batch(self, texts):
        raise RuntimeError("model file unreadable")


def test_a_failing_shadow_is_recorded_and_the_live_run_goes_on(store, caplog):
    live, clf = versions.register(store)
    batch = collect(store, TEXTS)
    rec = process_batch(store, batch, classifier=clf, now=NOW, classifier_id=live.id,
                        shadow=Shadow("broken-1", Broken()))
    assert rec["status"] == "processed" and rec["flagged"] >= 1 and rec["outputs"]["curated"]
    assert rec["shadow"] == {"id": "broken-1", "error": "RuntimeError: model file unreadable"}
    assert not store.list("shadow/")
    assert "shadow classifier broken-1 failed" in caplog.text
    assert summarise_processing([rec])["shadow"]["broken-1"]["failed_batches"] == 1


def test_a_rerun_writes_no_second_shadow_copy(store, tmp_path):
    live, clf = versions.register(store)
    cand, cand_clf = versions.resolve(store, str(lenient(tmp_path)))
    batch = collect(store, TEXTS)
    first = process_batches(store, [batch], classifier=clf, now=NOW, classifier_id=live.id,
                            shadow=Shadow(cand.id, cand_clf))
    keys = sorted(store.list(""))
    again = process_batches(store, [batch], classifier=clf, now=NOW, classifier_id=live.id,
                            shadow=Shadow(cand.id, cand_clf))
    assert again == first and sorted(store.list("")) == keys
    assert json.loads(store.get(result_key(batch)))["shadow"]["key"] in keys
