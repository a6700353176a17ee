"""Each platform's published rate limits, and how many accounts fit them (``socialhub capacity``).

The figures are the platforms' own documentation as stored in the project's research notes
(verify against the live docs before relying on them: tiers and instances differ). Each limit is
a number of requests (YouTube: quota units) per window for one *scope*: a token, an app (OAuth
client id or project), an IP address, or one Mastodon instance. The planning cost of one poll is
the requests an account's poll makes when nothing much is new (one page); a poll that pages costs
more, so ``share`` (default 0.5) keeps half of every budget for pages, retries, re-checks of
referred posts and other users of the same token.

``capacity(...)`` turns that into how many accounts of a platform fit at each polling interval
(critical 5 min, high 15 min, normal 1 h, low 6 h), per scope: per instance for Mastodon, per
host for RSS feeds, per token or app for the others. ``socialhub.sources.budget`` keeps every
collection run within the same budgets (the planner defers what does not fit, with the reason).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class Limit:
    platform: str
    requests: int                 # per window (YouTube: quota units)
    window: timedelta
    scope: str                    # "token", "app", "ip", "instance", "host", "project"
    per_poll: float               # requests (units) of one ordinary poll
    source: str                   # where the figure is published, or why it is assumed
    note: str = ""
    published: bool = True        # False: no published limit; the figure is socialhub's own caution

    def per_hour(self) -> float:
        return self.requests * timedelta(hours=1) / self.window


#: the binding published limit per platform for what collection does (reading public timelines)
LIMITS: dict[str, Limit] = {
    "mastodon": Limit("mastodon", 300, timedelta(minutes=15), "instance",
                      per_poll=1, source="docs.joinmastodon.org/api/rate-limits; rack_attack.rb: paging requests "
                      "(min_id, since_id, max_id) 300 per 15 min per user or IP",
                      note="per instance: each instance counts its own; the general /api/* limit is 300 per 5 min"),
    "bluesky": Limit("bluesky", 3000, timedelta(minutes=5), "ip", per_poll=1,
                     source="docs.bsky.app/docs/advanced-guides/rate-limits: 3000 per 5 min per IP (Bluesky PDS)",
                     note="the public AppView's limits are 'generous' and unpublished; the PDS figure is the floor"),
    "youtube": Limit("youtube", 10_000, timedelta(days=1), "project", per_poll=0.5,
                     source="developers.google.com/youtube/v3/getting-started#quota: 10,000 units a day per project",
                     note="a poll reads the channel's RSS feed first (no units); only a poll that finds new videos "
                          "spends 2 units (quota.UNITS_PER_API_POLL); planned here as 1 in 4 polls"),
    "x": Limit("x", 1500, timedelta(minutes=15), "app", per_poll=1,
               source="docs.x.com/fundamentals/rate-limits: GET /2/users/:id/tweets 1500 per 15 min per app",
               note="paid tiers differ: check the developer console; the user id is cached after the first poll"),
    "reddit": Limit("reddit", 1000, timedelta(minutes=10), "app", per_poll=1,
                    source="reddit Data API (2023-07-01): 100 queries per minute per OAuth client id, over a "
                           "10-minute window (10 per minute without OAuth)"),
    "telegram": Limit("telegram", 20, timedelta(minutes=1), "ip", per_poll=1, published=False,
                      source="no published limit for the t.me/s web preview: socialhub assumes 20 per minute "
                             "per IP"),
    "rss": Limit("rss", 60, timedelta(hours=1), "host", per_poll=1, published=False,
                 source="no published limit: socialhub assumes 1 request per minute per host (polite crawling)"),
}

#: the polling intervals of the watchlist's priorities
INTERVALS: dict[str, timedelta] = {"critical": timedelta(minutes=5), "high": timedelta(minutes=15),
                                   "normal": timedelta(hours=1), "low": timedelta(hours=6)}
DEFAULT_SHARE = 0.5


def accounts_that_fit(limit: Limit, interval: timedelta, share: float = DEFAULT_SHARE) -> int:
    """How many accounts polled every ``interval`` fit within ``share`` of one scope's budget."""
    polls_allowed = limit.requests * share * (interval / limit.window)
    return math.floor(polls_allowed / limit.per_poll) if limit.per_poll > 0 else 0


def scope_of(platform: str, account: str) -> str:
    """Which budget an account's polls count against: its instance (Mastodon), its host (RSS), else one
    budget for the platform (the hub's token, app or IP)."""
    if platform == "mastodon" and "@" in account.lstrip("@"):
        return account.lstrip("@").split("@", 1)[1].lower()
    if platform == "rss":
        rest = account.split("://", 1)[-1]
        return rest.split("/", 1)[0].lower()
    return "all"


@dataclass
class Usage:
    platform: str
    scope: str
    accounts: int
    requests_per_hour: float       # planned, at the accounts' intervals
    budget_per_hour: float         # share x the published limit
    fits: bool


def watchlist_usage(entries: Iterable[Any], share: float = DEFAULT_SHARE) -> list[Usage]:
    """The planned load of a watchlist per platform and scope against ``share`` of each budget."""
    load: dict[tuple[str, str], float] = {}
    count: Counter[tuple[str, str]] = Counter()
    for e in entries:
        limit = LIMITS[e.platform]
        key = (e.platform, scope_of(e.platform, e.account))
        load[key] = load.get(key, 0.0) + limit.per_poll * (timedelta(hours=1) / INTERVALS[e.priority])
        count[key] += 1
    out = []
    for (platform, scope), per_hour in sorted(load.items()):
        budget = LIMITS[platform].per_hour() * share
        out.append(Usage(platform, scope, count[(platform, scope)], per_hour, budget, per_hour <= budget))
    return out


def capacity_lines(entries: Iterable[Any] | None = None, share: float = DEFAULT_SHARE) -> list[str]:
    """The capacity table (accounts per scope at each interval) and, given a watchlist, its load."""
    heads = ["platform", "limit (published)", "scope", *(f"@{p} {_short(i)}" for p, i in INTERVALS.items())]
    rows = []
    for name, limit in LIMITS.items():
        window = _short(limit.window)
        unit = "units" if name == "youtube" else "req"
        rows.append([name, f"{limit.requests:,} {unit}/{window}" + ("" if limit.published else " (assumed)"),
                     limit.scope, *(f"{accounts_that_fit(limit, i, share):,}" for i in INTERVALS.values())])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    lines = [f"accounts that fit {share:.0%} of each platform's budget, per scope, polled at each priority's interval",
             "  ".join(h.ljust(widths[i]) for i, h in enumerate(heads)).rstrip()]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.append("scope: instance = per Mastodon instance, host = per feed host, app = per OAuth client id or "
                 "bearer app, project = per Google Cloud project, ip = per outgoing address")
    if entries is not None:
        usage = watchlist_usage(entries, share)
        lines.append("")
        lines.append("this watchlist's planned load (requests per hour, against the budget above):")
        for u in usage:
            where = "" if u.scope == "all" else f" [{u.scope}]"
            lines.append(f"  {u.platform}{where}: {u.accounts} account(s), {u.requests_per_hour:,.1f}/h of "
                         f"{u.budget_per_hour:,.1f}/h" + ("" if u.fits else "  OVER BUDGET: lower priorities, "
                                                          "add tokens or split the watchlist"))
    lines.append("where the figures come from (verify against the live docs: tiers and instances differ):")
    lines += [f"  {n}: {lim.source}" + (f" ({lim.note})" if lim.note else "") for n, lim in LIMITS.items()]
    return lines


def _short(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def cmd_capacity(args: Any) -> int:
    from pathlib import Path

    from socialhub.config import Settings
    from socialhub.errors import ConfigError
    from socialhub.watchlist import load_watchlist

    share = Settings.from_env().budget_share if args.share is None else args.share
    if not 0 < share <= 1:
        raise ConfigError(f"--share {share} must be above 0 and at most 1 (the fraction of each budget to plan)")
    entries = None
    if not args.no_watchlist:
        path = Path(args.watchlist) if args.watchlist else Settings.from_env().watchlist
        entries = load_watchlist(path).accounts
    print("\n".join(capacity_lines(entries, share)))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("capacity", help="how many accounts fit each platform's published rate limits at each "
                                        "polling interval, and this watchlist's planned load",
                       description="Each platform's published rate limit (per token, app, IP or Mastodon "
                                   "instance), how many accounts fit a share of it at each priority's polling "
                                   "interval, and the watchlist's planned load against it.")
    p.add_argument("--share", type=float, default=None,
                   help=f"fraction of each budget to plan for polls (default: $SOCIALHUB_BUDGET_SHARE, as the "
                        f"collect DAG plans, else {DEFAULT_SHARE}: the rest is kept for pages, retries and re-checks)")
    p.add_argument("--watchlist", help="the watchlist to measure (default: $SOCIALHUB_WATCHLIST or include/watchlist.yaml)")
    p.add_argument("--no-watchlist", action="store_true", help="print the table only")
    p.set_defaults(func=cmd_capacity)
