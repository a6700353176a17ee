"""Source health: is each watched account still being collected, and if not, why?

One record per watched account, ``state/health/accounts/<platform>/<account>.json`` (next to the
staleness check's ``state/health/collect/``), written atomically
(``put_state``) by ``collect_account`` after every poll. It keeps the last successful poll, the
last post seen, the number of consecutive failures, the kind of failure and since when the
account has been in its current state.

States:

    ok              polled successfully, posting
    silent          polled successfully, but no post for ``silent_days`` (SOCIALHUB_SILENT_DAYS, 14)
    renamed         the handle changed (Bluesky: same DID, another handle; Telegram: the name
                    now serves another channel)
    moved           the account moved (Mastodon ``Account.moved``; a feed's permanent redirect)
    suspended       suspended or taken down by the platform
    deleted         deleted or deactivated
    private         protected / private / blocked: the posts are not public
    not_found       the platform says no such account (deleted or renamed, it cannot tell)
    authentication  the hub's own credentials were refused (not the account's fault)
    rate_limited    the hub was rate limited (not the account's fault)
    other           any other failure (network, 5xx, an answer that could not be read)

The account states (renamed ... not_found) are set by the first failure that says so. The
transient ones (authentication, rate_limited, other) only after ``failures_to_report``
consecutive failures (SOCIALHUB_HEALTH_FAILURES, 3): one bad poll is not worth an officer's time.

An account gone (renamed ... not_found) or silent for ``review_days`` (SOCIALHUB_REVIEW_AFTER_DAYS,
30) is flagged ``review_authorisation``: its authorisation may no longer be necessary or may not
cover what the account has become.

``health_changes(previous, current)`` is pure: it lists what changed (state, or the review flag),
each with a message written for the officer who owns the watchlist entry; ``record_poll`` stores
the new record and writes one ``source_health`` audit event per change. A change is reported once:
the next poll compares against the record that already holds the new state.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from socialhub.errors import AccountUnavailable, AuthError, ConfigError, RateLimited
from socialhub.models import parse_iso, utc_iso

ACCOUNT_STATES = ("renamed", "moved", "suspended", "deleted", "private", "not_found")
TRANSIENT_STATES = ("authentication", "rate_limited", "other")
FAILURE_KINDS = ACCOUNT_STATES + TRANSIENT_STATES
STATES = ("ok", "silent") + FAILURE_KINDS

SILENT_DAYS_ENV = "SOCIALHUB_SILENT_DAYS"
REVIEW_DAYS_ENV = "SOCIALHUB_REVIEW_AFTER_DAYS"
FAILURES_ENV = "SOCIALHUB_HEALTH_FAILURES"

#: what each state means, in an officer's words, and what to do about it
STATE_WORDS: dict[str, tuple[str, str]] = {
    "ok": ("is being collected normally", "nothing to do"),
    "silent": ("has not posted for {days} days", "check the account is still in use and still relevant"),
    "renamed": ("changed its name{to}", "review the watchlist entry (new handle) and whether the authorisation "
                                        "still covers the account"),
    "moved": ("moved to another account or address{to}", "review the watchlist entry and whether the authorisation "
                                                         "covers the new account"),
    "suspended": ("was suspended or taken down by the platform", "review the watchlist entry and the authorisation"),
    "deleted": ("was deleted or deactivated", "review the watchlist entry and the authorisation"),
    "private": ("is now private or protected: its posts are no longer public",
                "review the watchlist entry; the hub collects public posts only"),
    "not_found": ("can no longer be found on the platform (deleted, or renamed)",
                  "check the handle and review the watchlist entry"),
    "authentication": ("cannot be collected: the platform refused the hub's credentials",
                       "ask the hub's administrator to check the platform connection (not the account's fault)"),
    "rate_limited": ("cannot be collected: the platform keeps rate limiting the hub",
                     "nothing to do unless it persists; the administrator may lower the polling frequency"),
    "other": ("cannot be collected: the platform keeps failing or answering something unreadable",
              "ask the hub's administrator to look at the collection logs"),
}


@dataclass(frozen=True, slots=True)
class HealthSettings:
    silent_days: int = 14
    review_days: int = 30
    failures_to_report: int = 3

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HealthSettings:
        env = os.environ if env is None else env

        def number(name: str, default: int) -> int:
            raw = str(env.get(name, "") or "").strip()
            if not raw:
                return default
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigError(f"{name}={raw[:20]!r} is not a positive whole number",
                                  hint=f"unset it for the default ({default})")
            return int(raw)

        return cls(number(SILENT_DAYS_ENV, 14), number(REVIEW_DAYS_ENV, 30), number(FAILURES_ENV, 3))


def health_key(platform: str, account: str) -> str:
    from socialhub.storage.layout import key_segment

    return f"state/health/accounts/{key_segment(platform)}/{key_segment(account)}.json"


# --------------------------------------------------------------------------------------------
# classifying a failure
# --------------------------------------------------------------------------------------------

_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("moved", ("moved to", "moved permanently", "account moved")),
    ("renamed", ("handle changed", "was renamed", "renamed to")),
    ("suspended", ("suspended", "takedown", "taken down", "terminated")),
    ("deleted", ("deactivated", "deleted account", "account deleted")),
    ("private", ("protected", "not public", "private account", "blocked")),
)


def classify_failure(error: BaseException | None = None, *, error_type: str = "", message: str = "") -> str:
    """The failure kind (``FAILURE_KINDS``) of a connector error, or of a stored outcome's
    ``error_type`` and ``error`` text. ``AccountUnavailable.reason`` decides when the connector
    knew; otherwise the platform's words in the message do (X "suspended", "protected", ...)."""
    if error is not None:
        error_type, message = type(error).__name__, str(getattr(error, "message", "") or error)
        if isinstance(error, AccountUnavailable) and error.reason:
            return error.reason
        if isinstance(error, AuthError):
            return "authentication"
        if isinstance(error, RateLimited):
            return "rate_limited"
        if not isinstance(error, AccountUnavailable):
            return "other"
    if error_type == "AuthError":
        return "authentication"
    if error_type == "RateLimited":
        return "rate_limited"
    if error_type != "AccountUnavailable":
        return "other"
    text = message.replace(AccountUnavailable.hint, "").lower()   # stored outcomes carry the default hint
    for kind, words in _KEYWORDS:
        if any(w in text for w in words):
            return kind
    return "not_found"


# --------------------------------------------------------------------------------------------
# the record
# --------------------------------------------------------------------------------------------

@dataclass(slots=True)
class SourceHealth:
    platform: str
    account: str
    state: str = "ok"
    since: str = ""                          # when the account entered ``state``
    last_polled: str = ""
    last_success: str = ""
    first_success: str = ""
    last_post_at: str = ""                   # newest post time seen (``created_at``)
    last_post_id: str = ""
    consecutive_failures: int = 0
    failure_kind: str = ""                   # of the last failure (even while ``state`` is still ok)
    failure_detail: str = ""
    failure_since: str = ""                  # the first of the current run of failures
    moved_to: str = ""
    review_authorisation: bool = False
    review_reason: str = ""
    subject: str = ""                        # the watchlist entry's subject category (socialhub.subjects)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.account}"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceHealth:
        known = set(cls.__slots__)  # type: ignore[attr-defined]
        return cls(**{k: v for k, v in data.items() if k in known})


def _t(value: str) -> datetime | None:
    try:
        return parse_iso(value) if value else None
    except ValueError:
        return None


def newest_post(posts: Iterable[Any]) -> tuple[datetime | None, str]:
    """(time, id) of the newest of ``posts`` (``Post`` objects or dicts) with a parseable time."""
    best: tuple[datetime | None, str] = (None, "")
    for post in posts:
        created = post.get("created_at") if isinstance(post, Mapping) else getattr(post, "created_at", "")
        pid = post.get("post_id") if isinstance(post, Mapping) else getattr(post, "post_id", "")
        t = _t(str(created or ""))
        if t is not None and (best[0] is None or t > best[0]):
            best = (t, str(pid or ""))
    return best


def assess(record: SourceHealth, now: datetime, settings: HealthSettings) -> SourceHealth:
    """Re-derive the time-dependent parts (silence, the review flag) at ``now``. Pure: returns a copy."""
    rec = SourceHealth.from_dict(record.to_dict())
    if rec.state in ("ok", "silent") and rec.last_success:
        reference = _t(rec.last_post_at) or _t(rec.first_success)
        silent_for = (now - reference) if reference else timedelta(0)
        if silent_for >= timedelta(days=settings.silent_days):
            if rec.state != "silent":
                rec.state = "silent"
                assert reference is not None
                rec.since = utc_iso(reference + timedelta(days=settings.silent_days))
        elif rec.state == "silent":
            rec.state, rec.since = "ok", utc_iso(now)
    rec.review_authorisation, rec.review_reason = False, ""
    started = _t(rec.since)
    if rec.state in ACCOUNT_STATES and started and now - started >= timedelta(days=settings.review_days):
        rec.review_authorisation = True
        rec.review_reason = f"{rec.state} for {(now - started).days} days"
    elif rec.state == "silent":
        reference = _t(rec.last_post_at) or _t(rec.first_success)
        if reference and now - reference >= timedelta(days=settings.review_days):
            rec.review_authorisation = True
            rec.review_reason = f"no post for {(now - reference).days} days"
    return rec


def update_health(previous: SourceHealth | None, platform: str, account: str, now: datetime, *,
                  ok: bool, posts: Iterable[Any] = (), error: BaseException | None = None, error_type: str = "",
                  message: str = "", renamed_to: str | None = None,
                  settings: HealthSettings | None = None) -> SourceHealth:
    """The record after one poll (pure). ``ok`` with the posts stored, or the failure.
    ``renamed_to`` is ``FetchResult.renamed_to``: a successful poll that saw the account under
    another handle (X follows it by id) is ``renamed`` until a poll sees the watched handle again."""
    settings = settings or HealthSettings()
    rec = SourceHealth.from_dict(previous.to_dict()) if previous else SourceHealth(platform, account)
    stamp = utc_iso(now)
    rec.last_polled = stamp
    if ok:
        when, pid = newest_post(posts)
        known = _t(rec.last_post_at)
        if when is not None and (known is None or when > known):
            rec.last_post_at, rec.last_post_id = utc_iso(when), pid
        rec.last_success = stamp
        rec.first_success = rec.first_success or stamp
        rec.consecutive_failures, rec.failure_kind, rec.failure_detail, rec.failure_since = 0, "", "", ""
        by_poll = bool(rec.extra.get("renamed_by_poll"))
        if renamed_to or (renamed_to is None and by_poll and rec.state == "renamed"):
            if renamed_to:
                rec.moved_to = renamed_to
            if rec.state != "renamed":
                rec.state, rec.since = "renamed", stamp
            rec.extra = {**rec.extra, "renamed_by_poll": True}
            return assess(rec, now, settings)
        rec.extra = {k: v for k, v in rec.extra.items() if k != "renamed_by_poll"}
        rec.moved_to = ""
        if rec.state not in ("ok", "silent"):
            rec.state, rec.since = "ok", stamp
        rec.since = rec.since or stamp
        return assess(rec, now, settings)
    kind = classify_failure(error, error_type=error_type, message=message)
    rec.consecutive_failures += 1
    rec.failure_kind = kind
    detail = str(getattr(error, "message", "") or error) if error is not None else message
    rec.failure_detail = detail.removeprefix(f"{platform}:{account}: ")[:500]
    rec.failure_since = rec.failure_since or stamp
    moved_to = getattr(error, "moved_to", None)
    if moved_to:
        rec.moved_to = str(moved_to)
    reportable = kind in ACCOUNT_STATES or rec.consecutive_failures >= settings.failures_to_report
    if reportable and rec.state != kind:
        rec.state, rec.since = kind, rec.failure_since if kind in TRANSIENT_STATES else stamp
    rec.since = rec.since or stamp
    return assess(rec, now, settings)


# --------------------------------------------------------------------------------------------
# changes, for the owner
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class HealthChange:
    platform: str
    account: str
    change: str                 # "state" or "review_authorisation"
    before: str
    after: str
    at: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "account": self.account, "change": self.change, "before": self.before,
                "after": self.after, "at": self.at, "message": self.message}


def describe(record: SourceHealth, settings: HealthSettings | None = None) -> str:
    """One paragraph for an officer: what happened, to which account, what to do."""
    settings = settings or HealthSettings()
    what, todo = STATE_WORDS.get(record.state, STATE_WORDS["other"])
    days = settings.silent_days
    reference = _t(record.last_post_at) or _t(record.first_success)
    last = _t(record.last_polled)
    if record.state == "silent" and reference and last:
        days = max(days, (last - reference).days)
    what = what.format(days=days, to=f" (now {record.moved_to})" if record.moved_to else "")
    day = record.since[:10]
    text = f"The watched {record.platform} account {record.account} {what}"
    if record.state == "silent" and day:
        text += f" (silent since {day})."
    elif record.state not in ("ok", "silent") and day:
        text += f". Noticed on {day}."
    else:
        text += "."
    text += f" What to do: {todo}."
    if record.state not in ("ok", "silent") and record.failure_detail:
        text += f" The platform said: {record.failure_detail[:200]}"
    return text


def health_changes(previous: SourceHealth | Mapping[str, Any] | None, current: SourceHealth | Mapping[str, Any],
                   settings: HealthSettings | None = None) -> list[HealthChange]:
    """What changed between two records of one account (pure). A first record reports only a
    state other than ok (a new account that is fine is not news)."""
    prev = SourceHealth.from_dict(previous) if isinstance(previous, Mapping) else previous
    cur = SourceHealth.from_dict(current) if isinstance(current, Mapping) else current
    at = cur.last_polled or cur.since
    changes: list[HealthChange] = []
    before = prev.state if prev else "new"
    if (prev is None and cur.state != "ok") or (prev is not None and prev.state != cur.state):
        message = describe(cur, settings)
        if cur.state == "ok" and before not in ("new", "ok"):
            message = (f"The watched {cur.platform} account {cur.account} is being collected again "
                       f"(it was {before.replace('_', ' ')}). Nothing to do.")
        changes.append(HealthChange(cur.platform, cur.account, "state", before, cur.state, at, message))
    if cur.review_authorisation and not (prev and prev.review_authorisation):
        changes.append(HealthChange(
            cur.platform, cur.account, "review_authorisation", "no", "yes", at,
            f"REVIEW AUTHORISATION: the watched {cur.platform} account {cur.account} has been "
            f"{cur.review_reason}. Review the watchlist entry and whether its authorisation is still necessary "
            f"and proportionate; cancel it or record why it continues."))
    return changes


# --------------------------------------------------------------------------------------------
# storage
# --------------------------------------------------------------------------------------------

def load_health(store: Any, platform: str, account: str) -> SourceHealth | None:
    data = store.get_or_none(health_key(platform, account))
    if not data:
        return None
    try:
        return SourceHealth.from_dict(json.loads(data))
    except (ValueError, TypeError):
        return None   # an unreadable record is rebuilt by the next poll


def record_poll(store: Any, entry: Any, now: datetime, *, ok: bool, posts: Iterable[Any] = (),
                error: BaseException | None = None, renamed_to: str | None = None, auditor: Any = None,
                settings: HealthSettings | None = None) -> list[HealthChange]:
    """Update the account's record after a poll, store it atomically, audit each change and
    return the changes (for the notifier). ``entry`` is the ``WatchlistEntry``."""
    from socialhub.audit.chain import record
    from socialhub.models import canonical_json

    settings = settings or HealthSettings.from_env()
    previous = load_health(store, entry.platform, entry.account)
    current = update_health(previous, entry.platform, entry.account, now, ok=ok, posts=posts, error=error,
                            renamed_to=renamed_to, settings=settings)
    current.subject = str(getattr(entry, "subject", "") or "")
    store.put_state(health_key(entry.platform, entry.account), canonical_json(current.to_dict()))
    changes = health_changes(previous, current, settings)
    for change in changes:
        record(auditor, "source_health", entry.key, force=entry.force, justification=change.message,
               details={**change.to_dict(), "failure_kind": current.failure_kind,
                        "consecutive_failures": current.consecutive_failures,
                        "authorisation_ref": entry.authorisation_ref, "subject": current.subject or None})
    return changes


def health_table(store: Any, entries: Iterable[Any], now: datetime,
                 settings: HealthSettings | None = None) -> list[SourceHealth]:
    """One record per watchlist entry, assessed at ``now`` (never polled: state "never polled"),
    one subject category after another (suspects, then the safeguarding groups, then unknown:
    never mixed, as every list of accounts in the hub)."""
    from socialhub import subjects

    settings = settings or HealthSettings.from_env()
    rows = []
    for entry in entries:
        rec = load_health(store, entry.platform, entry.account)
        row = assess(rec, now, settings) if rec else SourceHealth(entry.platform, entry.account, state="never_polled")
        row.subject = subjects.normalise(getattr(entry, "subject", None))
        rows.append(row)
    return sorted(rows, key=lambda r: subjects.rank(r.subject))   # stable: watchlist order within a category


__all__ = ["ACCOUNT_STATES", "FAILURE_KINDS", "STATES", "HealthChange", "HealthSettings", "SourceHealth", "assess",
           "classify_failure", "describe", "health_changes", "health_key", "health_table", "load_health",
           "newest_post", "record_poll", "update_health"]
