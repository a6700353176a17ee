"""The auditor's report names the classifier versions that decided, the shadow ones, and each promotion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.core.test_process_and_alert import NOW, TEXTS, collect
from tests.core.test_shadow import lenient

from socialhub.audit.chain import AuditLog, Auditor
from socialhub.audit.report import build_report
from socialhub.classify import versions
from socialhub.process import Shadow, process_batch
from socialhub.storage import LocalStore


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_CACHE_DIR", str(tmp_path / "cache"))


def test_versions_used_shadow_and_promotions_are_reported(tmp_path):
    store = LocalStore(tmp_path / "store")
    auditor = Auditor(AuditLog(store), {"kind": "person", "name": "PS Jones"})
    live, clf = versions.register(store)
    cand, cand_clf = versions.resolve(store, str(lenient(tmp_path)))
    rec = process_batch(store, collect(store, TEXTS), classifier=clf, now=NOW, auditor=auditor,
                        classifier_id=live.id, shadow=Shadow(cand.id, cand_clf))
    versions.promote(store, cand.id, by="PS Jones", why="fewer misses on threats", auditor=auditor,
                     evaluation={"file": "eval.json", "sha256": "ab" * 32}, shadow={"agreement": 0.9})
    today = datetime.now(UTC).date()     # audit events carry the wall-clock time
    report = build_report(store, start=today - timedelta(days=1), end=today, watchlist=[])
    tables = {t.name: t for t in report.tables}
    rows = tables["classifier_versions"].rows
    by_role = {r["role"]: r for r in rows}
    assert by_role["live"]["id"] == live.id and by_role["live"]["posts"] == rec["valid"]
    assert by_role["live"]["flagged"] == rec["flagged"]
    assert f"violence_threat {live.thresholds['violence_threat']:g}" in by_role["live"]["thresholds"]
    shadow = by_role["shadow (never alerted)"]
    assert shadow["id"] == cand.id and shadow["flagged"] == rec["shadow"]["flagged"]
    assert "violence_threat 0.05" in shadow["thresholds"]
    [promo] = tables["classifier_promotions"].rows
    assert promo["id"] == cand.id and promo["previous"] == "packaged" and promo["why"] == "fewer misses on threats"
    assert promo["evaluation"].startswith("eval.json (SHA-256 abababab") and "agreement" in promo["shadow"]
