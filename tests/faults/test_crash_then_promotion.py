"""A crash between a batch's outputs and its result record, then a promotion of another classifier
version: the rerun finishes the batch with the version that started it, so no stored decision is
contradicted and the batch is not stuck on its write-once outputs."""

from __future__ import annotations

import json

import pytest

from socialhub.classify import versions
from socialhub.errors import StorageError
from socialhub.models import from_jsonl
from socialhub.process import process_batches, result_key
from tests.core.test_process_and_alert import NOW, TEXTS, collect
from tests.core.test_shadow import MORE, lenient
from tests.faults.test_fault_matrix import FlakyStore


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_CACHE_DIR", str(tmp_path / "cache"))


def test_the_version_that_started_a_batch_finishes_it(tmp_path, caplog):
    store = FlakyStore(tmp_path / "store", prefix="results/", method="put")
    old, old_clf = versions.register(store)
    new, new_clf = versions.resolve(store, str(lenient(tmp_path)))
    batch = collect(store, TEXTS | MORE)
    with pytest.raises(StorageError, match="injected failure"):      # outputs stored, result record not
        process_batches(store, [batch], classifier=old_clf, now=NOW, classifier_id=old.id)
    assert store.fired == 1 and store.get_or_none(result_key(batch)) is None
    stored = {k: store.get(k) for k in store.list("curated/") + store.list("flagged/")}
    assert stored
    versions.promote(store, new.id, by="PS Jones", why="trial over")
    [rec] = process_batches(store, [batch], classifier=new_clf, now=NOW, classifier_id=new.id)
    assert rec["status"] == "processed" and rec["classifier_id"] == old.id
    assert {k: store.get(k) for k in store.list("curated/") + store.list("flagged/")} == stored
    assert f"started by classifier {old.id}" in caplog.text
    rows = from_jsonl(store.get(rec["outputs"]["curated"]))
    assert {r["classification"]["classifier_id"] for r in rows} == {old.id}
    assert json.loads(store.get(result_key(batch)))["flagged"] == rec["flagged"]
    # a batch that no attempt started is decided by the new live version
    batch2 = collect(store, {"7": "i swear i'll batter him next time"})
    [rec2] = process_batches(store, [batch2], classifier=new_clf, now=NOW, classifier_id=new.id)
    assert rec2["classifier_id"] == new.id
