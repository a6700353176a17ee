"""The scale fixes the benchmarks measure (bench/proposed.py) change speed, never results.

They are proposals for the project code (docs/production.md, "Scale"); until adopted they only run
in the bench's ``proposed`` variant, and these tests keep the figures honest: same listing, same
records, same stored outputs as the code they would replace.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from socialhub.storage import LocalStore

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import proposed  # noqa: E402


def _listing_store(root: Path) -> LocalStore:
    store = LocalStore(root)
    for key in ("raw/platform=x/date=2026-01-01/account=a/b1.jsonl",
                "raw/platform=x/date=2026-01-01/account=ab/b2.jsonl",
                "raw/platform=x/date=2026-01-02/account=a/b3.jsonl",
                "batches/platform=x/account=a/20260101T000000-b1.json",
                "queue/pending/b1.json", "top.json"):
        store.put(key, b"{}")
    (root / "raw" / "platform=x" / "date=2026-01-01" / "account=a" / ".tmp-half").write_bytes(b"")
    return store


@pytest.mark.parametrize("prefix", ["", "raw/", "raw/platform=x/", "raw/platform=x/date=2026-01-01/account=a/",
                                    "raw/platform=x/date=2026-01-01/account=a", "raw/platform=x/date=2026-01-01/acc",
                                    "raw/platform=x/date=2026-01-01/account=zz/", "raw/platform=y/", "nothing/",
                                    "batches/platform=x/account=a/2026", "queue/pending/b1", "top", "t"])
def test_fast_local_list_lists_exactly_the_keys_under_the_prefix(tmp_path, prefix):
    """Same answer as S3 (string prefix); same as the current LocalStore for the folder prefixes
    (ending in "/") every caller uses. (The current one differs from S3 for a prefix naming an
    existing folder without the "/": it then lists only that folder.)"""
    store = _listing_store(tmp_path / "store")
    every_key = sorted(LocalStore._list(store, ""))
    assert ".tmp-half" not in " ".join(every_key)
    expected = [k for k in every_key if k.startswith(prefix)]
    assert sorted(proposed._fast_list(store, prefix)) == expected
    if prefix == "" or prefix.endswith("/"):
        assert sorted(LocalStore._list(store, prefix)) == expected


@pytest.mark.e2e
def test_grouped_validation_gives_the_same_records_and_outputs(tmp_path, monkeypatch):
    """Collect the demo accounts (with their deliberately malformed posts) once, then process the
    same batches with runtime.process and with proposed.process_chunk: identical results."""
    import json
    import shutil

    from socialhub.collect import collect_shard, plan_collection
    from socialhub.process import pending_batches
    from socialhub.replay.server import ReplayServer
    from socialhub.sources.base import ConnectorConfig
    from socialhub.sources.registry import get_connector
    from socialhub.watchlist import load_watchlist
    from socialhub_airflow import runtime
    from tests.e2e.conftest import write_watchlist

    with ReplayServer().start() as replay:
        watchlist = load_watchlist(write_watchlist(tmp_path / "watchlist.yaml", replay, lapsed=False))
        store = LocalStore(tmp_path / "a" / "store")
        now = datetime.now(UTC)
        plan = plan_collection(watchlist, store, now, max_shards_per_platform=1, force_all=True)

        def factory(platform: str):
            return get_connector(platform, ConnectorConfig(base_url=replay.base_url(platform), token=None,
                                                           lookback=timedelta(days=7), max_pages=10, extra={}))

        for shard in plan.shards:
            collect_shard(store, shard, factory, now)
    ids = pending_batches(store)
    assert len(ids) > 5
    shutil.copytree(tmp_path / "a", tmp_path / "b")

    def run(folder: str, fn):
        monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path / folder))
        try:
            return fn(ids)
        except Exception as exc:  # noqa: BLE001 - a held batch raises; both must raise the same
            return f"{type(exc).__name__}: {exc}"

    assert run("a", runtime.process) == run("b", proposed.process_chunk)

    def outputs(folder: str) -> dict[str, object]:
        root = tmp_path / folder / "store"
        out: dict[str, object] = {}
        for kind in ("curated", "quarantine", "flagged"):
            for path in sorted((root / kind).rglob("*.jsonl")):
                out[str(path.relative_to(root))] = path.read_text()
        for path in sorted((root / "results").glob("*.json")):
            record = json.loads(path.read_text())
            for key in ("duration_seconds", "validated_with_batches"):
                record["quality"]["stats"].pop(key, None)
            out[str(path.relative_to(root))] = record
        return out

    a, b = outputs("a"), outputs("b")
    assert any(k.startswith("quarantine/") for k in a), "the demo data exercises the quarantine"
    assert a == b
