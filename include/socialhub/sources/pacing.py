"""Pacing: each collect shard's slice of a platform's published request limit, never exceeded.

The planner (``socialhub.collect.plan_collection``) splits a platform's due accounts into at most
``SOCIALHUB_MAX_SHARDS`` shards; each shard is one Airflow task, run by whichever worker process
or host picks it up. To keep a platform's limit across all of them *without a lock server*, every
shard gets a fixed slice of each scope's limit when it is planned (``shard_rates``, written into
the shard as ``shard["rate"]``) and keeps its own requests within it:

* per scope (``limits.scope_of``: a Mastodon instance, an RSS feed host, else the hub's one token,
  app or IP), the ``n`` shards holding an account of that scope share ``pace_share`` (default
  0.95) of the published limit ``L`` per window ``W`` equally: each may send
  ``floor(share x L / n)`` requests in any span of ``W`` (when that is below one, one request per
  a longer span);
* a shard enforces its slice with a *sliding window* (``SlidingWindow``): a request is sent only
  when fewer than its slice were sent in the ``W`` before it. So in **any** span of ``W``
  (wherever the platform's own fixed or sliding window starts) all ``n`` shards together send at
  most ``share x L``: never above the limit, and the long-run rate reaches ``share`` of it. A
  token bucket with the same guarantee in any window would have to give up either the burst a
  5-minute run needs (a slow platform such as an RSS host, 1 request a minute, would park a
  thread for a minute per request) or half the rate (burst + rate x W <= L);
* it is thread-safe: the threads of one shard (``SOCIALHUB_COLLECT_CONCURRENCY``) take turns; a
  turn is *reserved* under the lock and waited outside it. A turn within the slice's window (up
  to one run interval, 5 minutes) is waited for: the planner plans a run's polls over a horizon of
  at least one run interval, so spreading them over it is the plan. A turn further away than that
  and than the connection's ``max_wait`` (30 s by default) is not waited for: the account's fetch
  stops with ``PacedOut`` (a ``RateLimited``), so a worker slot is never parked for longer than a
  run interval. The account is *deferred* to the next run, not failed: ``collect_account`` reports
  it with status ``deferred`` and the reason, moves no cursor, leaves its source health alone (the
  shard's own pacing is not the source's fault) and counts no poll in the budget ledger unless a
  request had already been sent. When the turn is that far away because the *platform* said its
  window is used up (a 429 or an exhausted-window header seen by the shard: ``hold``), the fetch
  stops with a plain ``RateLimited``, reported as an error like any platform 429.

Across runs the planner's ledger (``socialhub.sources.budget``) keeps the polls per horizon within
``share`` (0.5) of the budget, and the collect DAG has one active run at a time; a new run's shards
start with empty windows, so a run that pages heavily right after another can still meet the
platform's own counter: the HTTP client's header-driven backoff (429, ``Retry-After``,
``x-rate-limit-remaining``) stays as the safety net, and a 429 or an exhausted window also holds
the shard's window until the reset (``hold``), so its other threads do not run into the same wall.

YouTube is not paced here (its binding limit is the daily unit quota, ``sources/quota.py``), nor
is any platform without an entry in ``limits.LIMITS``.

The pacer reaches the HTTP client through the thread that does the work: ``collect_shard`` wraps
each account in ``use(pacer)``, and ``HttpClient`` calls ``before_request`` before every request
it sends (retries included). Outside a shard there is no pacer and nothing waits.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from socialhub.sources.limits import LIMITS, Limit, scope_of

#: the share of a published rate the shards of one run may spend together (the rest absorbs clock
#: skew, a window counted differently by the platform, and other users of the same token)
PACE_SHARE = 0.95
#: platforms paced elsewhere (YouTube: daily unit quota)
NOT_PACED = frozenset({"youtube"})


class SlidingWindow:
    """At most ``limit`` turns in any span of ``window`` seconds; thread-safe.

    ``acquire()`` takes a turn, waiting (through ``sleep``) until one is free: turn times are
    reserved in order under the lock (each at least ``window`` after the turn ``limit`` before it)
    and slept outside it, so concurrent callers never oversend. ``clock`` and ``sleep`` are
    injectable (tests never wait).
    """

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1 request, got {limit!r}")
        if not window > 0 or not math.isfinite(window):
            raise ValueError(f"window must be a positive number of seconds, got {window!r}")
        self.limit, self.window = int(limit), float(window)
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._turns: deque[float] = deque(maxlen=self.limit)   # the latest ``limit`` turn times
        self._not_before = -math.inf
        self.waited = 0.0          # seconds callers were told to wait, in all
        self.taken = 0

    @property
    def per_second(self) -> float:
        return self.limit / self.window

    def reserve(self, max_wait: float | None = None) -> float | None:
        """Reserve the next free turn; seconds until it comes. None (nothing reserved) when it is
        further away than ``max_wait``."""
        with self._lock:
            now = self.clock()
            at = self._next_at(now)
            wait = at - now
            if max_wait is not None and wait > max_wait:
                return None
            self._turns.append(at)
            self.taken += 1
            self.waited += wait
            return wait

    def next_turn_in(self) -> float:
        """Seconds until the next free turn (nothing reserved)."""
        with self._lock:
            now = self.clock()
            return self._next_at(now) - now

    def _next_at(self, now: float) -> float:
        """The next free turn's time (the caller holds the lock)."""
        at = max(now, self._not_before)
        if self._turns:
            at = max(at, self._turns[-1])
            if len(self._turns) == self.limit:
                at = max(at, self._turns[0] + self.window)
        return at

    def held_for(self) -> float:
        """Seconds the window is still held by ``hold`` (the platform's own reset), 0 when not held."""
        with self._lock:
            return max(0.0, self._not_before - self.clock())

    def acquire(self, max_wait: float | None = None) -> float | None:
        """Wait for a turn; the seconds waited, or None when it is further away than ``max_wait``."""
        wait = self.reserve(max_wait)
        if wait:
            self.sleep(wait)
        return wait

    def hold(self, seconds: float) -> None:
        """No new turn before ``seconds`` from now (the platform said its window is used up);
        turns already reserved keep their time."""
        if seconds > 0:
            with self._lock:
                self._not_before = max(self._not_before, self.clock() + seconds)


def scope_slice(limit: Limit, shards: int, share: float = PACE_SHARE) -> tuple[int, float]:
    """(requests, window seconds) one of ``shards`` shards may send to one scope of ``limit``."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    window = limit.window.total_seconds()
    allowed = share * limit.requests / shards
    if allowed >= 1:
        return math.floor(allowed), window
    return 1, window / allowed   # fewer than one request per window each: one per a longer span


def shard_rates(shards: Sequence[dict[str, Any]], *, share: float = PACE_SHARE,
                limits: Mapping[str, Limit] | None = None) -> None:
    """Write each shard's slice of its platform's rate, per scope, as ``shard["rate"]``:
    ``{"share": share, "scopes": {scope: {"per_second", "shards", "limit"}}}`` (None: not paced).

    A scope's rate is shared by the shards that hold at least one of its accounts."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be above 0 and at most 1, got {share}")
    table = LIMITS if limits is None else limits
    holders: dict[tuple[str, str], int] = {}
    scopes_of: list[set[str]] = []
    for shard in shards:
        scopes = {scope_of(shard["platform"], _account(a)) for a in shard["accounts"]}
        scopes_of.append(scopes)
        for s in scopes:
            holders[(shard["platform"], s)] = holders.get((shard["platform"], s), 0) + 1
    for shard, scopes in zip(shards, scopes_of, strict=True):
        platform = shard["platform"]
        limit = table.get(platform)
        if limit is None or platform in NOT_PACED:
            shard["rate"] = None
            continue
        from socialhub.sources.budget import describe_limit

        scoped = {}
        for s in sorted(scopes):
            requests, window = scope_slice(limit, holders[(platform, s)], share)
            scoped[s] = {"requests": requests, "window_seconds": window, "per_second": requests / window,
                         "shards": holders[(platform, s)], "limit": describe_limit(limit)}
        shard["rate"] = {"share": share, "scopes": scoped}


def _account(entry: Any) -> str:
    """A shard's account: a watchlist entry dict, or a ``platform:account`` key (as XCom carries it)."""
    if isinstance(entry, Mapping):
        return str(entry["account"])
    return str(entry).split(":", 1)[1] if ":" in str(entry) else str(entry)


def describe_rate(rate: Mapping[str, Any] | None) -> str:
    """One line for logs and the run report."""
    if not rate:
        return "not paced"
    parts = [f"{'' if s == 'all' else s + ': '}{v['requests']} per {v['window_seconds']:g}s (1/{v['shards']} of "
             f"{float(rate['share']):.0%} of {v['limit']})" for s, v in sorted(rate["scopes"].items())[:3]]
    more = len(rate["scopes"]) - 3
    return "; ".join(parts) + (f"; and {more} more scope(s)" if more > 0 else "")


class Pacer:
    """The sliding windows of one shard, one per scope, built from ``shard["rate"]``."""

    def __init__(self, platform: str, rate: Mapping[str, Any] | None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.platform = platform
        self._lock = threading.Lock()
        self._slices = {s: (int(v["requests"]), float(v["window_seconds"]))
                        for s, v in ((rate or {}).get("scopes") or {}).items()}
        self._windows: dict[str, SlidingWindow] = {}
        self._clock, self._sleep = clock, sleep

    def window(self, account: str) -> SlidingWindow | None:
        """The window of ``account``'s scope (None: not paced)."""
        scope = scope_of(self.platform, account)
        piece = self._slices.get(scope)
        if piece is None:
            return None
        with self._lock:
            found = self._windows.get(scope)
            if found is None:
                found = self._windows[scope] = SlidingWindow(*piece, clock=self._clock, sleep=self._sleep)
            return found

    def before_request(self, account: str, max_wait: float | None = None) -> float | None:
        """Wait for ``account``'s scope's next turn. A turn within the slice's window, up to one run
        interval (5 minutes), is always waited for: the planner plans a run's polls against a horizon
        of at least one run interval, so spreading them over it is the plan. Beyond that, only up
        to ``max_wait`` (None: no bound)."""
        found = self.window(account)
        if found is None:
            return 0.0
        if max_wait is not None:
            from socialhub.sources.budget import RUN_INTERVAL

            max_wait = max(max_wait, min(found.window, RUN_INTERVAL.total_seconds()))
        waited = found.acquire(max_wait)
        if waited is None and max_wait is not None:   # say why, for the error this thread raises next
            _current.refusal = Refusal(self.platform, scope_of(self.platform, account), found.held_for() > max_wait,
                                       found.next_turn_in())
        return waited

    def hold(self, account: str, seconds: float) -> None:
        found = self.window(account)
        if found is not None:
            found.hold(seconds)

    def stats(self) -> dict[str, Any]:
        """Turns taken and seconds waited, over the shard's scopes."""
        with self._lock:
            return {"requests": sum(w.taken for w in self._windows.values()),
                    "waited_seconds": round(sum(w.waited for w in self._windows.values()), 3)}


@dataclass(frozen=True)
class Refusal:
    """Why a shard's pacer did not give a thread its turn (``refusal()``).

    ``held``: the window is held past the wait allowed because the *platform* said its window is
    used up (a 429 or ``x-rate-limit-remaining: 0`` seen by another request of the shard: ``hold``);
    otherwise the shard's own slice (``shard["rate"]``) is used up: the account is *paced out*,
    deferred to the next run (``errors.PacedOut``), not failed. ``wait_seconds``: until the turn."""

    platform: str
    scope: str
    held: bool
    wait_seconds: float


_current = threading.local()


def refusal() -> Refusal | None:
    """Why this thread's last ``before_request`` returned None (None: it did not)."""
    return getattr(_current, "refusal", None)


@contextmanager
def use(pacer: Pacer | None) -> Iterator[None]:
    """Pace this thread's requests with ``pacer`` inside the block."""
    before, sent = getattr(_current, "pacer", None), getattr(_current, "sent", 0)
    _current.pacer, _current.sent = pacer, 0
    try:
        yield
    finally:
        _current.pacer, _current.sent = before, sent


def requests_sent() -> int:
    """Requests this thread was given a turn for (so sent) inside the current ``use`` block."""
    return int(getattr(_current, "sent", 0))


def before_request(platform: str, account: str, max_wait: float | None = None) -> float | None:
    """Called by ``HttpClient`` before each request: wait for this thread's pacer, if any. None:
    the shard's next turn is further away than ``max_wait`` (nothing was reserved)."""
    _current.refusal = None
    pacer: Pacer | None = getattr(_current, "pacer", None)
    waited = 0.0 if pacer is None or pacer.platform != platform else pacer.before_request(account, max_wait)
    if waited is not None:
        _current.sent = getattr(_current, "sent", 0) + 1
    return waited


def hold(platform: str, account: str, seconds: float) -> None:
    """Called by ``HttpClient`` on a 429 or an exhausted window: pause this shard's bucket."""
    pacer: Pacer | None = getattr(_current, "pacer", None)
    if pacer is not None and pacer.platform == platform:
        pacer.hold(account, seconds)


__all__ = ["PACE_SHARE", "Pacer", "Refusal", "SlidingWindow", "before_request", "describe_rate", "hold", "refusal",
           "requests_sent", "scope_slice", "shard_rates", "use"]
