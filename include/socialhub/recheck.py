"""Re-check open referrals: is the referred post still up? (the ``socialhub_recheck`` DAG)

A referral asks a platform to take a post down. The hub follows it to an outcome by checking the
post through the platform's connector (``Connector.check_post``) on a backoff after the referral:
**1 h, 4 h, 24 h, then daily until 30 days**. A run checks each open referral whose next check
time has passed (a run that was missed is made up by one check, not several), records what it
found in the referral register (``socialhub.referrals.register.record_check``) and then:

* a post found **removed** closes the referral, with its time to removal (measured to the check
  that found it gone: an upper bound, the removal happened after the check before it);
* a post **still online past its team's target** for its category (``SOCIALHUB_REFERRAL_TARGETS``,
  default ``violence_threat=24h, weapon=48h, gang_affiliation=72h, drug_supply=72h``) is
  escalated **once** in the team's on-duty channel: what was referred, when, the last check, and
  what to do;
* a check that could not tell (5xx, timeout, rate limit, credentials: ``status="error"``) changes
  nothing and counts as no check: the next run tries again.

Nothing is lost or done twice when a run crashes: each result is written to the register with an
idempotency key (the run and the referral), so a retried run records it once; the escalation's
intent is stored before the message is sent, and a retry that finds the intent looks the message
up (outbox file, Slack history) before sending again; ``mark_escalated`` is write-once. A closed
referral is never checked again (``list_open_referrals``). Checks run in the platform's pool, so
they share its rate budget with collection.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from socialhub.models import canonical_json, parse_iso, utc_iso
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

#: when a referral is checked, counted from the referral
SCHEDULE: tuple[timedelta, ...] = (timedelta(hours=1), timedelta(hours=4),
                                   *(timedelta(days=d) for d in range(1, 31)))
DEFAULT_TARGETS: dict[str, timedelta] = {"violence_threat": timedelta(hours=24), "weapon": timedelta(hours=48),
                                         "gang_affiliation": timedelta(hours=72), "drug_supply": timedelta(hours=72)}
#: a category with no target of its own
DEFAULT_TARGET = timedelta(hours=72)
#: what a connector's post status means for the register (``error``: the check could not tell)
OBSERVED = {"online": "still_online", "removed": "removed", "unavailable": "unavailable",
            "restricted": "restricted", "error": None}
ACTOR = {"kind": "system", "name": "referral re-check"}
INTENT_PREFIX = "referrals/recheck/escalation-intent/"

_DURATION = re.compile(r"^\s*(\d+)\s*([hd])\s*$")


def parse_targets(text: str | None) -> dict[str, timedelta]:
    """``violence_threat=24h, weapon=2d`` -> targets (the defaults for categories not named)."""
    from socialhub.errors import ConfigError

    targets = dict(DEFAULT_TARGETS)
    for part in (text or "").split(","):
        if not part.strip():
            continue
        cat, sep, value = part.partition("=")
        match = _DURATION.match(value)
        if not sep or not cat.strip() or not match:
            raise ConfigError(f"SOCIALHUB_REFERRAL_TARGETS: {part.strip()!r} is not CATEGORY=DURATION "
                              "(e.g. violence_threat=24h, weapon=2d)")
        n, unit = int(match.group(1)), match.group(2)
        targets[cat.strip()] = timedelta(hours=n) if unit == "h" else timedelta(days=n)
    return targets


def _checks(ref: Any) -> list[datetime]:
    """When the post was checked with a conclusive answer."""
    return [parse_iso(e["at"]) for e in ref.events if e.get("kind") == "check" and e.get("observed") != "inconclusive"]


def next_check(ref: Any) -> datetime | None:
    """The next check time of ``ref`` (``None``: the schedule is over, 30 days after the referral)."""
    referred = parse_iso(ref.referred_at)
    done = _checks(ref)
    last = max(done) if done else None
    for offset in SCHEDULE:
        at = referred + offset
        if last is None or last < at:
            return at
    return None


def is_due(ref: Any, now: datetime) -> bool:
    at = next_check(ref)
    return ref.is_open and at is not None and at <= now


def target_for(ref: Any, targets: Mapping[str, timedelta]) -> timedelta:
    return targets.get(str(ref.record.get("category") or ""), DEFAULT_TARGET)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.1f} days"


def escalation_text(ref: Any, now: datetime, target: timedelta) -> str:
    """The message for the team's channel: what was referred, how long ago, the last check, what to do."""
    rec = ref.record
    last = ref.last_check or {}
    reply = ref.platform_reply or {}
    age = now - parse_iso(ref.referred_at)
    ticket = f"ticket {reply['ticket']}" if reply.get("ticket") else "no platform ticket recorded"
    return (f"Referral {ref.referral_id} is still online {_hours(age)} after it was referred to "
            f"{rec.get('platform')} ({rec.get('category')}; alert {rec.get('alert_id')}; {rec.get('force')} / "
            f"{rec.get('team')}): past the team's {_hours(target)} target for {rec.get('category')}.\n"
            f"Last check: {last.get('at', 'none')}: {last.get('observed', 'not checked')}"
            + (f" (HTTP {last['http_status']})" if last.get("http_status") else "") + f"; {ticket}.\n"
            f"Post: {rec.get('url')}\n"
            "Follow it up with the platform's trusted-flagger contact, then record its reply: "
            f"socialhub referral update {ref.referral_id} --status ... --why ...")


@dataclass
class Checked:
    referral_id: str
    platform: str
    observed: str | None
    status: str
    reason: str
    closed: bool = False
    escalated: bool = False
    time_to_removal_seconds: float | None = None


def _escalate(store: ObjectStore, ref: Any, now: datetime, target: timedelta, *, sink: Any, routing: Any,
              audit: Any) -> bool:
    """Escalate once: intent, then the message (looked up first on a retry), then the write-once mark."""
    from socialhub.referrals.register import mark_escalated
    from socialhub.review.messages import _section, message_key

    route = routing.route_for(str(ref.record.get("force") or ""), str(ref.record.get("team") or ""))[0]
    channel = route.on_duty
    key = message_key("referral_escalation", ref.referral_id)      # the same on every retry
    intent = f"{INTENT_PREFIX}{ref.referral_id}.json"
    text = escalation_text(ref, now, target)
    found = None
    if store.exists(intent):
        finder = getattr(sink, "find_payload", None)
        found = finder(key, channel) if finder else None
    else:
        store.put_state(intent, canonical_json({"at": utc_iso(now), "channel": channel}))
    if found is None:
        payload = {"text": f"socialhub: referral {ref.referral_id} still online past its target",
                   "blocks": [_section("referral_escalation", text)]}
        sink.send_payload(payload, channel, key=key)
    _ref, first = mark_escalated(store, ref.referral_id, at=now, by=ACTOR, to_whom=channel, audit=audit,
                                 why=f"still online {_hours(now - parse_iso(ref.referred_at))} after the referral, "
                                     f"past the {_hours(target)} target for {ref.record.get('category')}")
    return first


def recheck_referrals(store: ObjectStore, connector_for: Callable[[str], Any], now: datetime, *,
                      platform: str | None = None, sink: Any = None, routing: Any = None,
                      targets: Mapping[str, timedelta] | None = None, run_key: str = "",
                      audit: Any = None) -> list[Checked]:
    """Check every due open referral (of ``platform``, if given); see the module docstring."""
    from socialhub.referrals.register import close_referral, list_open_referrals, record_check

    targets = targets or DEFAULT_TARGETS
    out: list[Checked] = []
    mine = [r for r in list_open_referrals(store) if platform is None or r.record.get("platform") == platform]
    connectors: dict[str, Any] = {}
    key = run_key or utc_iso(now)
    for ref in sorted(mine, key=lambda r: r.referred_at):
        plat = str(ref.record.get("platform"))
        item = None
        if is_due(ref, now):
            try:
                conn = connectors.get(plat) or connectors.setdefault(plat, connector_for(plat))
                status = conn.check_post({"platform": plat, "post_id": ref.record.get("post_id"),
                                          "account": ref.record.get("account"), "url": ref.record.get("url")})
                found, reason, http = status.status, status.reason, status.http_status
            except Exception as exc:  # noqa: BLE001 - one referral's failure never stops the others
                found, reason, http = "error", f"{type(exc).__name__}: {exc}", None
            observed = OBSERVED.get(found)
            ref = record_check(store, ref.referral_id, status=observed, checked_at=now, http_status=http,
                               detail=reason, actor=ACTOR, key=f"{key}/{ref.referral_id}", audit=audit)
            item = Checked(ref.referral_id, plat, observed, ref.status, reason)
        # then what the register now says: also what a run that crashed before finishing left to do
        if ref.status == "removed":
            last = ref.last_check or {}
            ref = close_referral(store, ref.referral_id, closed_at=now, by=ACTOR, audit=audit,
                                 key=f"{key}/{ref.referral_id}/close",
                                 why=f"the re-check found the post removed ({last.get('detail') or 'see the register'})")
            item = item or Checked(ref.referral_id, plat, None, ref.status, "closing a removal found earlier")
            item.closed, item.status, item.time_to_removal_seconds = True, ref.status, ref.time_to_removal
        elif ref.still_online and not ref.escalated and sink is not None and routing is not None:
            target = target_for(ref, targets)
            if now - parse_iso(ref.referred_at) > target:
                item = item or Checked(ref.referral_id, plat, None, ref.status, "still online at the last check")
                item.escalated = _escalate(store, ref, now, target, sink=sink, routing=routing, audit=audit)
        if item is not None:
            log.info("referral %s (%s): %s -> %s%s%s", ref.referral_id, plat, item.observed or "not checked now",
                     item.status, " (closed)" if item.closed else "", " (escalated)" if item.escalated else "")
            out.append(item)
    return out


def summarise(results: Iterable[Checked], store: ObjectStore) -> dict[str, Any]:
    """Counts for the run report and the demo: checked, removed, escalated, and the register's open ones."""
    from socialhub.referrals.register import all_referrals

    results = list(results)
    refs = all_referrals(store)
    return {"checked": len(results), "inconclusive": sum(1 for r in results if r.observed is None),
            "closed_removed": sum(1 for r in results if r.closed), "escalated": sum(1 for r in results if r.escalated),
            "open": sum(1 for r in refs if r.is_open), "removed": sum(1 for r in refs if r.outcome == "removed"),
            "escalated_total": sum(1 for r in refs if r.escalated), "results": [asdict(r) for r in results]}
