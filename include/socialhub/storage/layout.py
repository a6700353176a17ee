"""Where everything lives in the store. One module, so the layout is written down once.

    raw/platform=P/date=D/account=A/<batch>.jsonl        raw API items (evidence, write-once)
    posts/platform=P/date=D/account=A/<batch>.jsonl      normalised posts (write-once)
    batches/platform=P/account=A/<stamp>-<batch>.json    batch manifest: the commit record of a collection
    curated/platform=P/date=D/<batch>.jsonl              valid posts with their classification
    quarantine/platform=P/date=D/<batch>.jsonl           rows that failed the quality suite, with reasons
    flagged/platform=P/date=D/<batch>.jsonl              posts over a category threshold
    shadow/<version>/platform=P/date=D/<batch>.jsonl     a shadow classifier's results (never alerted)
    queue/pending/<batch>.json, queue/done/<batch>.json, queue/held/<batch>.json
    state/cursors/P/A.json                               mutable cursor per account (the truth)
    state/index/P/due.json                               due index: what planning reads of every cursor (a hint)
    state/index/P/deltas/<stamp>-<shard>-<rand>.json     accounts one shard run polled, until the next plan merges them
    state/health/accounts/P/A.json                       source health per account (socialhub.sources.health)
    state/health/collect/P.json                          last successful collection per platform
    state/health/watchdog.json                           the staleness check's own state (notices sent)
    alerts/ledger/<alert_id>.json                        one per alert delivered (never twice)
    reports/collect/<run>.json, reports/process/<run>.json   per-run summaries
"""

from __future__ import annotations

from socialhub.storage.base import key_segment


def _p(platform: str) -> str:
    return f"platform={key_segment(platform)}"


def raw_key(platform: str, day: str, account: str, batch_id: str) -> str:
    return f"raw/{_p(platform)}/date={day}/account={key_segment(account)}/{batch_id}.jsonl"


def posts_key(platform: str, day: str, account: str, batch_id: str) -> str:
    return f"posts/{_p(platform)}/date={day}/account={key_segment(account)}/{batch_id}.jsonl"


def manifest_prefix(platform: str, account: str) -> str:
    return f"batches/{_p(platform)}/account={key_segment(account)}/"


def manifest_key(platform: str, account: str, stamp: str, batch_id: str) -> str:
    return f"{manifest_prefix(platform, account)}{stamp}-{batch_id}.json"


def stage_key(stage: str, platform: str, day: str, batch_id: str) -> str:
    assert stage in ("curated", "quarantine", "flagged")
    return f"{stage}/{_p(platform)}/date={day}/{batch_id}.jsonl"


def shadow_key(version_id: str, platform: str, day: str, batch_id: str) -> str:
    """A shadow classifier version's results for one batch (``process.Shadow``)."""
    return f"shadow/{key_segment(version_id)}/{_p(platform)}/date={day}/{batch_id}.jsonl"


def queue_key(state: str, batch_id: str) -> str:
    assert state in ("pending", "done", "held")
    return f"queue/{state}/{key_segment(batch_id)}.json"


def cursor_key(platform: str, account: str) -> str:
    return f"state/cursors/{key_segment(platform)}/{key_segment(account)}.json"


def due_index_key(platform: str) -> str:
    """One platform's due index (``socialhub.due_index``): rebuilt from the cursor states if lost."""
    return f"state/index/{key_segment(platform)}/due.json"


def due_delta_prefix(platform: str) -> str:
    return f"state/index/{key_segment(platform)}/deltas/"


def due_delta_key(platform: str, name: str) -> str:
    """One collection shard run's polls, merged into the due index by the next plan, then deleted."""
    return f"{due_delta_prefix(platform)}{key_segment(name)}.json"


def ledger_key(alert_id: str) -> str:
    return f"alerts/ledger/{key_segment(alert_id)}.json"


def report_key(kind: str, run_id: str) -> str:
    """``reports/<kind>/<run>.json`` with a readable, safe and unique file name for the run.

    Airflow's run ids are timestamps (``manual__2026-12-03T09:17:36.472879+00:00``), which
    percent-encoding made unreadable (``%3A``). Here a final ``+00:00`` (UTC) is left out and ':'
    and '+' become '-'; as that could make two run ids look alike, a name where anything was
    changed ends with ``~`` and 8 hex digits of the run id's SHA-256 (a '~' in a run id itself is
    percent-encoded, so only these names carry one):
    ``manual__2026-12-03T09-17-36.472879~959d2367.json``. The run id itself is inside the file.
    """
    readable = run_id.removesuffix("+00:00").replace(":", "-").replace("+", "-")
    name = key_segment(readable).replace("~", "%7E")
    if readable != run_id:
        import hashlib

        name += "~" + hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:8]
    return f"reports/{key_segment(kind)}/{name}.json"


def budget_deferred_key(run_id: str, platform: str) -> str:
    """``state/budget/runs/<run>/<platform>.json``: a collection run's plan deferrals (rate budget) of one
    platform, written by its plan task and read into the run report by ``finish``."""
    name = report_key("x", run_id).rsplit("/", 1)[1].removesuffix(".json")
    return f"state/budget/runs/{name}/{key_segment(platform)}.json"


def collect_health_key(platform: str) -> str:
    return f"state/health/collect/{key_segment(platform)}.json"


WATCHDOG_STATE_KEY = "state/health/watchdog.json"
