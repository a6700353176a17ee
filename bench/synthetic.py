"""Synthetic watchlists and replay data for the benchmarks (not a benchmark itself: run.py only runs
``bench_*.py``). Everything is fictional and deterministic (seeded).

* ``replay_data(n)``: ``n`` accounts split between the Mastodon and Bluesky emulations of the replay
  server, ``posts`` recent posts each (inside the first-run look-back), about ``flag_share`` of
  them worded to be flagged, so the alert stage has work too.
* ``watchlist(replay, n)``: a valid watchlist for those accounts (priority critical: the 5-minute
  polling interval the targets refer to).
* ``post_rows(n)``: normalised post dicts (what a batch file holds) for the per-stage figures.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT / "include", ROOT / "plugins", ROOT / "scripts", ROOT):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

CHATTER = ("the a and to of we they my your lol just going out today tonight tomorrow with on in at for new "
           "good match pizza food friends family work school bus train man bro fam mate cant wait see this "
           "weekend party birthday congrats thanks happy tired funny road closure court news football").split()
FLAGGED = [
    "gonna wet him up when we catch him, he knows what he did",
    "new shank just came, nobody's safe 🔪",
    "zoots and bud, dm for prices, pack landed",
    "we're coming for you tonight, you're dead bro 🔪",
    "caught an opp lacking on the ends, he got bored",
]


def _text(rng: random.Random, flag_share: float) -> str:
    if rng.random() < flag_share:
        return rng.choice(FLAGGED)
    return " ".join(rng.choice(CHATTER) for _ in range(rng.randint(6, 24)))


def replay_data(n_accounts: int, *, posts: int = 2, flag_share: float = 0.05, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    n_mastodon = (n_accounts + 1) // 2
    mastodon, bluesky = [], []
    for i in range(n_accounts):
        items = [{"text": _text(rng, flag_share), "age": f"{5 + 17 * k + rng.randint(0, 15)}m"} for k in range(posts)]
        if i < n_mastodon:
            mastodon.append({"username": f"bench_m{i:05d}", "display_name": f"Bench M{i:05d}", "posts": items})
        else:
            bluesky.append({"handle": f"bench-b{i:05d}.bench.example", "display_name": f"Bench B{i:05d}",
                            "posts": items})
    data: dict[str, Any] = {"mastodon": {"instance": "bench.example", "accounts": mastodon}}
    if bluesky:
        data["bluesky"] = {"accounts": bluesky}
    return data


def start_replay(n_accounts: int, **kwargs: Any) -> Any:
    """A started ReplayServer for ``n_accounts`` with rate limits out of the way (the pipeline's
    own rate limiting is tested elsewhere; here it would only measure the replay's windows)."""
    from socialhub.replay.server import ReplayServer

    server = ReplayServer(data=replay_data(n_accounts, **kwargs)).start()
    for platform in server.platforms():
        server.set_rate_limit(platform, limit=10**9, remaining=10**9, window=3600)
    return server


def watchlist(replay: Any, path: Path) -> Path:
    accounts = []
    for platform in replay.platforms():
        for i, acct in enumerate(replay.accounts(platform)):
            accounts.append({
                "platform": platform, "account": acct, "display_name": f"{acct} (bench)",
                "force": f"force-{'abc'[i % 3]}", "team": f"team-{i % 4}", "owner": "DS Bench",
                "priority": "critical", "authorisation_ref": f"AUTH-BENCH-{platform}-{i:05d}",
                "purpose": "Synthetic benchmark account (fictional).", "review_by": "2099-01-01"})
    loader = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump({"version": 1, "accounts": accounts}, Dumper=loader, sort_keys=False))
    return path


def connections(replay: Any) -> dict[str, str]:
    import json

    return {f"AIRFLOW_CONN_SOCIALHUB_{p.upper()}": json.dumps({"conn_type": "http",
                                                               "extra": {"base_url": replay.base_url(p)}})
            for p in replay.platforms()}


def post_rows(n: int, *, flag_share: float = 0.05, seed: int = 11) -> list[dict[str, Any]]:
    """``n`` normalised posts as the collect stage stores them (Post.to_dict() shape)."""
    from socialhub.models import raw_sha256

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append({
            "platform": "mastodon", "account": "bench_m00001@bench.example", "post_id": f"{10**12 + i}",
            "url": f"https://bench.example/@bench_m00001/{10**12 + i}", "author": "Bench M00001",
            "text": _text(rng, flag_share), "created_at": "2026-01-01T10:00:00Z",
            "collected_at": "2026-01-01T11:00:00Z",
            "media": [f"https://files.bench.example/{i}.jpg"] if i % 7 == 0 else [],
            "raw_sha256": raw_sha256({"id": i}), "reply_to": None, "repost_of": None,
        })
    return rows
