"""A rate budget for every platform: which due accounts fit this collection run, and who waits.

``limits.LIMITS`` holds each platform's published limit per *scope* (a Mastodon instance, an RSS
feed host, else the hub's one token, app or IP per platform). The planner may spend ``share``
(default 0.5) of each scope's budget on planned polls; the rest is kept for pages, retries and
re-checks. Over a *horizon* of ``max(window, run interval)`` (the collect DAG runs every 5
minutes) a scope may be polled ``floor(requests * share * horizon / window / per_poll)`` times:
Mastodon 150 polls per 15 minutes per instance, an RSS host 30 per hour, Telegram 50 per run.

Usage is the polls already made in the horizon before now (a sliding window, so an aligned
window of the platform's own counter can never see more). It is kept per account, in the
account's cursor state (``polls``: the times of its recent polls, written by ``collect_account``
with the cursor; a failed poll is counted too, with the cursor as it was: ``collect.count_failed_poll``),
and summed at plan time: shards and workers never race on a shared ledger.

Within a scope the due accounts are chosen by priority first (critical, high, normal, low) and,
within a priority, the stalest first (never polled, then the oldest ``last_polled``); the rest are
*deferred* to a later run with the reason. A deferred account more than one interval past its
polling interval is *overdue*: the platform team hears of it once per run (``overdue_notice``).

YouTube is not budgeted here: its binding limit is the Data API's daily quota in units, which
``socialhub.sources.quota`` paces over the Pacific day (``collect._within_youtube_quota``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from socialhub.sources.limits import DEFAULT_SHARE, INTERVALS, LIMITS, Limit, scope_of

#: the collect DAG's schedule (dags/socialhub_collect.py: ``*/5 * * * *``)
RUN_INTERVAL = timedelta(minutes=5)
#: platforms whose budget is kept elsewhere (YouTube: the daily unit quota, ``sources/quota.py``)
OWN_BUDGET = frozenset({"youtube"})
#: the cursor-state field holding an account's recent poll times (ISO, UTC)
LEDGER_FIELD = "polls"
PRIORITY_ORDER = {"critical": 0, "high": 1, "normal": 2, "low": 3}


def horizon(limit: Limit, run_interval: timedelta = RUN_INTERVAL) -> timedelta:
    """The span a scope's budget and usage are counted over: its window, at least one run."""
    return max(limit.window, run_interval)


def polls_allowed(limit: Limit, share: float = DEFAULT_SHARE, run_interval: timedelta = RUN_INTERVAL) -> int:
    """Planned polls one scope may make per horizon (``share`` of the published limit)."""
    if limit.per_poll <= 0:
        return 0
    return math.floor(limit.requests * share * (horizon(limit, run_interval) / limit.window) / limit.per_poll)


def ledger_keep() -> timedelta:
    """How long poll times are kept in a cursor state: the longest horizon budgeted here."""
    return max(horizon(lim) for p, lim in LIMITS.items() if p not in OWN_BUDGET)


def record_poll(polls: Iterable[str], now: datetime, keep: timedelta | None = None) -> list[str]:
    """An account's poll ledger with ``now`` added and times older than ``keep`` dropped (pure)."""
    cutoff = now - (keep or ledger_keep())
    kept = [p for p in polls if (t := _parse(p)) is not None and t > cutoff]
    return [*kept, _iso(now)]


def used_in(states: Iterable[Mapping[str, Any]], now: datetime, span: timedelta) -> int:
    """Polls recorded in the states' ledgers in ``(now - span, now]``."""
    start = now - span
    return sum(1 for s in states for p in s.get(LEDGER_FIELD) or []
               if (t := _parse(p)) is not None and start < t <= now)


def last_polled(state: Mapping[str, Any]) -> datetime | None:
    return _parse(state.get("last_polled"))


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _iso(t: datetime) -> str:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _interval(entry: Any) -> timedelta:
    return INTERVALS.get(str(getattr(entry, "priority", "normal")), INTERVALS["normal"])


def staleness_key(entry: Any, state: Mapping[str, Any]) -> tuple[int, int, float, str]:
    """Priority first, then never polled, then the oldest ``last_polled``, then the key (stable)."""
    last = last_polled(state)
    return (PRIORITY_ORDER.get(str(getattr(entry, "priority", "normal")), 2), 0 if last is None else 1,
            last.timestamp() if last else 0.0, str(getattr(entry, "key", "")))


def deferral(entry: Any, state: Mapping[str, Any], now: datetime, **scope: Any) -> dict[str, Any]:
    """Why ``entry`` was not planned: its scope's figures plus how overdue it is.

    ``overdue_seconds``: how long past ``last_polled + interval`` (None: never polled, so unknown);
    ``past_interval``: overdue by more than one whole interval (the platform team is told)."""
    last = last_polled(state)
    interval = _interval(entry)
    overdue = (now - (last + interval)) if last is not None else None
    return {"key": str(entry.key), "platform": str(entry.platform), "priority": str(entry.priority),
            "last_polled": _iso(last) if last else None, "interval_seconds": int(interval.total_seconds()),
            "overdue_seconds": int(overdue.total_seconds()) if overdue is not None else None,
            "past_interval": bool(overdue is not None and overdue > interval), **scope}


def plan_within_budgets(due_entries: Sequence[Any], states: Mapping[str, Mapping[str, Any]], now: datetime,
                        share: float = DEFAULT_SHARE, *, run_interval: timedelta = RUN_INTERVAL
                        ) -> tuple[list[Any], list[dict[str, Any]]]:
    """Split due watchlist entries into (allowed, deferred with reasons) per (platform, scope) budget.

    ``states``: cursor states by entry key, of *every* authorised account (not only the due ones:
    an account polled a minute ago still spent its scope's budget). Entries of platforms without a
    limit here (YouTube, unknown ones) are all allowed. ``allowed`` is in planning order (priority,
    then stalest first); each deferral is a ``deferral(...)`` dict naming the scope, its budget,
    the polls already used in it, how many were due and how many fit.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be above 0 and at most 1, got {share}")
    groups: dict[tuple[str, str], list[Any]] = {}
    allowed: list[Any] = []
    for e in due_entries:
        if e.platform in OWN_BUDGET or e.platform not in LIMITS:
            allowed.append(e)
        else:
            groups.setdefault((e.platform, scope_of(e.platform, e.account)), []).append(e)
    deferred: list[dict[str, Any]] = []
    for (platform, scope), entries in sorted(groups.items()):
        limit = LIMITS[platform]
        span = horizon(limit, run_interval)
        peers = [s for k, s in states.items()
                 if k.startswith(f"{platform}:") and scope_of(platform, k.split(":", 1)[1]) == scope]
        budget = polls_allowed(limit, share, run_interval)
        used = used_in(peers, now, span)
        fit = max(0, budget - used)
        ordered = sorted(entries, key=lambda e: staleness_key(e, states.get(e.key, {})))
        allowed.extend(ordered[:fit])
        info = {"scope": scope, "budget": budget, "used": used, "due": len(entries), "fit": min(fit, len(entries)),
                "horizon_seconds": int(span.total_seconds()), "limit": describe_limit(limit), "share": share}
        deferred.extend(deferral(e, states.get(e.key, {}), now, **info) for e in ordered[fit:])
    return allowed, deferred


def describe_limit(limit: Limit) -> str:
    from socialhub.sources.limits import _short

    return f"{limit.requests:,} per {_short(limit.window)} per {limit.scope}"


def _span(seconds: int) -> str:
    minutes = seconds // 60
    if minutes >= 120:
        return f"{minutes / 60:.0f} h" if minutes % 60 == 0 else f"{minutes / 60:.1f} h"
    return f"{minutes} min"


def scope_lines(deferred: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per budgeted scope with deferrals (the run report's words)."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for d in deferred:
        if d.get("budget") is not None:
            groups.setdefault((str(d["platform"]), str(d["scope"])), []).append(d)
    lines = []
    for (platform, scope), items in sorted(groups.items()):
        first = items[0]
        where = "" if scope == "all" else f" {scope}"
        overdue = sum(1 for d in items if d.get("past_interval"))
        lines.append(
            f"{platform}{where}: {first['due']} due, {first['fit']} fit this run's budget ({first['budget']} polls "
            f"per {_span(int(first['horizon_seconds']))}: {float(first['share']):.0%} of {first['limit']}; "
            f"{first['used']} already used); deferred, stalest first: " + ", ".join(_deferred_word(d) for d in items)
            + (f"; {overdue} past their polling interval by more than one interval" if overdue else ""))
    return lines


def _deferred_word(d: Mapping[str, Any]) -> str:
    if d.get("overdue_seconds") is None:
        return f"{d['key']} (never polled)"
    late = int(d["overdue_seconds"])
    return f"{d['key']} ({_span(late)} overdue)" if late > 0 else str(d["key"])


def overdue(deferred: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The deferred accounts more than one interval past their polling interval."""
    return [d for d in deferred if d.get("past_interval")]


def overdue_notice(deferred: Sequence[Mapping[str, Any]], run_id: str) -> str | None:
    """The platform-team notice for a run whose budget left accounts overdue, or None."""
    late = overdue(deferred)
    if not late:
        return None
    by_scope: dict[tuple[str, str], list[str]] = {}
    for d in late:
        by_scope.setdefault((str(d["platform"]), str(d.get("scope", "all"))), []).append(str(d["key"]))
    parts = [f"{p}{'' if s == 'all' else ' ' + s}: " + ", ".join(keys) for (p, s), keys in sorted(by_scope.items())]
    return (f"socialhub collection run {run_id}: {len(late)} account(s) could not be polled within their interval "
            f"(more than one interval overdue) because of the platform's rate budget. " + "; ".join(parts)
            + ". Add a token or app (or another project for YouTube), lower some priorities, or split the "
              "watchlist: `socialhub capacity` says how many accounts fit each scope.")


def notice_key(run_id: str) -> str:
    from socialhub.review.messages import message_key

    return message_key("rate_budget", run_id)


def notify_overdue(deferred: Sequence[Mapping[str, Any]], run_id: str, *, sink: Any, channel: str) -> str | None:
    """Send the run's overdue notice to ``channel`` once (a retried task finds it and sends nothing);
    the message key when sent now, else None."""
    text = overdue_notice(deferred, run_id)
    if text is None:
        return None
    key = notice_key(run_id)
    finder = getattr(sink, "find_payload", None)
    if finder is not None and finder(key, channel) is not None:
        return None
    from socialhub.review.messages import _section

    sink.send_payload({"text": f"socialhub: {len(overdue(deferred))} account(s) overdue (rate budget)",
                       "blocks": [_section("rate_budget", text)]}, channel, key=key)
    return key


def xcom_view(deferred: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What XCom may carry of the deferrals: keys and counts, no watchlist fields."""
    rows = list(deferred)
    return {"count": len(rows), "keys": [str(d["key"]) for d in rows],
            "overdue": [str(d["key"]) for d in overdue(rows)]}


__all__ = ["LEDGER_FIELD", "RUN_INTERVAL", "deferral", "horizon", "notify_overdue", "overdue", "overdue_notice",
           "plan_within_budgets", "polls_allowed", "record_poll", "scope_lines", "used_in", "xcom_view"]
