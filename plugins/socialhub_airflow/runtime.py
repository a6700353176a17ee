"""What each DAG task does, in one line each: resolve Connections, call into ``socialhub``.

DAG files import this module only inside task bodies, so parsing a DAG file stays cheap.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
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


def now() -> datetime:
    return datetime.now(timezone.utc)


def connector_factory(cfg: Settings) -> Any:
    from socialhub.sources.registry import get_connector
    from socialhub_airflow.hooks import SocialhubPlatformHook

    def make(platform: str) -> Any:
        config = SocialhubPlatformHook(platform).get_connector_config(lookback_days=cfg.lookback_days,
                                                                     max_pages=cfg.max_pages)
        return get_connector(platform, config)

    return make


def _plan(platform: str | None = None) -> Any:
    from socialhub.collect import plan_collection
    from socialhub.watchlist import Watchlist, load_watchlist

    cfg = settings()
    wl = load_watchlist(cfg.watchlist)
    if platform:
        wl = Watchlist(version=wl.version, accounts=[e for e in wl.accounts if e.platform == platform])
    return plan_collection(wl, store(), now(), max_shards_per_platform=cfg.max_shards_per_platform,
                           force_all=cfg.poll_all)


def plan(platform: str) -> list[dict[str, Any]]:
    """The shards of one platform's due, authorised accounts (lapsed ones are logged, not collected)."""
    plan = _plan(platform)
    for line in plan.describe():
        (log.warning if line.startswith("NOT COLLECTED") else log.info)(line)
    return plan.shards


def collect(shard: dict[str, Any]) -> list[dict[str, Any]]:
    from socialhub.collect import collect_shard

    cfg = settings()
    return collect_shard(store(), shard, connector_factory(cfg), now())


def finish_collection(outcome_lists: list[Any], run_id: str) -> dict[str, Any]:
    from socialhub.collect import summarise_collection

    outcomes = [o for lst in outcome_lists for group in (lst or []) for o in (group or [])]
    from socialhub.watchlist import load_watchlist

    lapsed = load_watchlist(settings().watchlist).authorised(now().date())[1]
    summary = summarise_collection(outcomes, {"lapsed": [
        {"key": e.key, "authorisation_ref": e.authorisation_ref, "review_by": e.review_by.isoformat(),
         "owner": e.owner, "force": e.force} for e in lapsed]})
    summary.update(run_id=run_id, finished_at=utc_iso(now()), outcomes=outcomes)
    store().put_state(layout.report_key("collect", run_id), canonical_json(summary))
    log.info("collected %d post(s) from %d account(s); %d failed; %d lapsed", summary["posts_collected"],
             summary["accounts_polled"], len(summary["accounts_failed"]), len(summary["accounts_lapsed"]))
    return {k: v for k, v in summary.items() if k != "outcomes"}


def find_pending() -> list[list[str]]:
    from socialhub.process import chunks, pending_batches

    cfg = settings()
    ids = pending_batches(store(), cfg.max_batches_per_run)
    log.info("%d batch(es) pending", len(ids))
    return chunks(ids, cfg.max_shards_per_platform)


def process(batch_ids: list[str]) -> list[dict[str, Any]]:
    from socialhub.classify import load_classifier
    from socialhub.errors import QualityGateFailed
    from socialhub.process import process_batch

    cfg, st, clf = settings(), store(), load_classifier()
    records = [process_batch(st, b, classifier=clf, max_bad_fraction=cfg.max_bad_fraction) for b in batch_ids]
    held = [r for r in records if r["status"] == "held"]
    if held:
        raise QualityGateFailed("; ".join(f"batch {r['batch_id']} ({r['platform']}:{r['account']}): {r['error']}"
                                          for r in held))
    return [{k: r[k] for k in ("batch_id", "status", "posts", "quarantined", "flagged")} for r in records]


def alert(chunks: list[list[str]]) -> dict[str, Any]:
    from socialhub.alerting import alert_batches
    from socialhub.alerts.routing import Routing
    from socialhub_airflow.hooks import get_alert_sink

    cfg = settings()
    ids = [b for c in chunks or [] for b in c]
    return alert_batches(store(), ids, sink=get_alert_sink(cfg.data_dir / "outbox"),
                         routing=Routing.load(cfg.routing), now=now())


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
