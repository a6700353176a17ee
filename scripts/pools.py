"""The Airflow pools socialhub's DAGs use, as an ``airflow pools import`` file.

    python scripts/pools.py > pools.json && airflow pools import pools.json

* ``socialhub_<platform>``, one per platform: every collect shard of that platform runs in it, so
  however many Celery workers there are, at most ``slots`` shards call the platform's API at once
  (the rate limits are per API key, not per worker).
* ``socialhub_process``: validation and classification chunks (CPU and memory heavy).
* ``socialhub_alerts``: Slack delivery, one at a time (Slack's per-channel rate limit).

Slots come from the environment, so a deployment tunes them without editing code:
``SOCIALHUB_POOL_SLOTS_<NAME>`` (e.g. ``SOCIALHUB_POOL_SLOTS_MASTODON=3``,
``SOCIALHUB_POOL_SLOTS_PROCESS=4``), else ``SOCIALHUB_POOL_SLOTS_PLATFORM`` for every platform.
Used by the compose stack's ``airflow-init`` (``scripts/airflow_init.sh``); the defaults match
``socialhub demo``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))

DEFAULT_PLATFORM_SLOTS = 2
DEFAULT_PROCESS_SLOTS = 2
DEFAULT_ALERT_SLOTS = 1


def _slots(name: str, default: int, env: dict[str, str]) -> int:
    raw = env.get(f"SOCIALHUB_POOL_SLOTS_{name.upper()}", "").strip()
    value = int(raw) if raw else default
    if value < 1:
        raise ValueError(f"SOCIALHUB_POOL_SLOTS_{name.upper()}={value}: a pool needs at least one slot")
    return value


def pools(env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    from socialhub.models import PLATFORMS

    env = dict(os.environ if env is None else env)
    platform_default = _slots("platform", DEFAULT_PLATFORM_SLOTS, env)
    out: dict[str, dict[str, Any]] = {}
    for platform in PLATFORMS:
        out[f"socialhub_{platform}"] = {"slots": _slots(platform, platform_default, env),
                                        "description": f"{platform} API calls (rate limits, all workers)",
                                        "include_deferred": False}
    out["socialhub_process"] = {"slots": _slots("process", DEFAULT_PROCESS_SLOTS, env),
                                "description": "validation and classification", "include_deferred": False}
    out["socialhub_alerts"] = {"slots": _slots("alerts", DEFAULT_ALERT_SLOTS, env),
                               "description": "Slack delivery (one at a time)", "include_deferred": False}
    return out


def main() -> int:
    json.dump(pools(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
