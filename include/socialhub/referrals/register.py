"""The referral register: one durable record per referral to a platform, and what became of it.

Layout in the store (every object write-once, so a crash or a second writer loses nothing)::

    referrals/register/<referral_id>/record.json          the referral, as made (never changes)
    referrals/register/<referral_id>/events/<seq>.json    its status history, one event per object
    referrals/register/<referral_id>/escalated.json       the one escalation, if any
    referrals/register/<referral_id>/audited/<seq>.json   "this event is in the audit log" (see below)

The referral id is derived from the post alone (``ref-`` + 16 hex digits of
SHA-256("referral:<platform>:<post_id>")), so the same platform post can only ever have one
referral: a second "Refer" of it finds ``record.json`` and gets the existing referral back,
with a note saying so (:class:`Registered`). A retried review task makes the same id and finds
its own record.

The status is the last event's. An event is added by a conditional create of the next number:
two writers racing for a number cannot both win; the loser reads the history again, checks its
change against the new status and takes the next number (or is refused). An event may carry an
idempotency ``key`` (the re-check DAG passes its run and task): an event with the same key is
returned instead of being added again, so a retried task records its result once.

Statuses and the allowed changes (:data:`TRANSITIONS`; anything else raises
:class:`IllegalTransition` naming what is allowed)::

    open          the notice is made (the referral package and this record); no answer yet
    acknowledged  the platform confirmed it received the notice
    removed       the post is taken down (by the platform, or a check found it removed)
    restricted    the platform limited it (geo-blocked, age-gated, reach reduced), still reachable
    rejected      the platform decided it breaks no rule or law it acts on
    still_online  a check (or an officer) found the post still up
    unavailable   a check found it gone without a removal notice (deleted by its author, account gone)
    closed        the referral is finished (final: nothing can follow it)

A post re-instated after removal (``removed -> still_online``) is allowed and clears the removal
time. A check that finds a *rejected* or *restricted* post still up, or a *removed* post gone,
confirms that status rather than replacing it (it is what those words mean: ``CONFIRMS``). Repeating the current status is allowed (a
check confirming it, a reply adding a ticket number), except after ``closed``.

Every change is an audit event (``referral_update``): an officer's reply, a status change found
by a check, a close and the escalation; a check that only confirms the current status, or was
inconclusive, is kept in the register but not audited. The register event is written before the
audit event: a crash in between, retried with the same key, audits it then (at least once; the
audit event names the register event's number, so a reader can tell a repeat); a marker
(``audited/<seq>.json``) written after the audit event keeps an ordinary retry from auditing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from socialhub.errors import ImmutableObjectError, SocialhubError
from socialhub.models import canonical_json, parse_iso, sha256_hex, utc_iso
from socialhub.storage.base import ObjectStore

PREFIX = "referrals/register/"
SCHEMA = 1

STATUSES = ("open", "acknowledged", "removed", "restricted", "rejected", "still_online", "unavailable", "closed")
#: status -> the statuses it may change to (staying the same is allowed too, except when closed)
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"acknowledged", "removed", "restricted", "rejected", "still_online", "unavailable", "closed"}),
    "acknowledged": frozenset({"removed", "restricted", "rejected", "still_online", "unavailable", "closed"}),
    "still_online": frozenset({"acknowledged", "removed", "restricted", "rejected", "unavailable", "closed"}),
    "rejected": frozenset({"removed", "restricted", "still_online", "unavailable", "closed"}),
    "restricted": frozenset({"removed", "still_online", "unavailable", "closed"}),
    "unavailable": frozenset({"removed", "restricted", "still_online", "closed"}),
    "removed": frozenset({"still_online", "closed"}),
    "closed": frozenset(),
}
FINAL = frozenset({"closed"})
#: what a status check can observe (the platform's own answers come from officers' replies)
CHECK_STATUSES = ("still_online", "removed", "restricted", "unavailable")
#: (current status, what a check observed) -> the observation confirms the status rather than replacing it
CONFIRMS = frozenset({("rejected", "still_online"), ("restricted", "still_online"), ("removed", "unavailable")})
#: outcomes (``Referral.outcome``): the statuses that are an outcome, plus these two
PENDING, NO_OUTCOME = "pending", "no_outcome"
OUTCOMES = ("removed", "restricted", "rejected", "still_online", "unavailable", PENDING, NO_OUTCOME)
#: still reachable at the URL referred
STILL_ONLINE = frozenset({"still_online", "rejected"})

GOOD_FAITH = ("I confirm, on behalf of the notifying unit, that I believe in good faith that the information and "
              "allegations in this notice are accurate and complete.")


class ReferralError(SocialhubError):
    """A referral that cannot be found or changed as asked."""


class IllegalTransition(ReferralError):
    """A status change the register does not allow (see ``TRANSITIONS``)."""


def referral_id_for(platform: str, post_id: str) -> str:
    """The one referral id a platform post can have."""
    return "ref-" + sha256_hex(f"referral:{platform}:{post_id}".encode())[:16]


def is_referral_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == 20 and value.startswith("ref-") \
        and all(c in "0123456789abcdef" for c in value[4:])


def record_key(referral_id: str) -> str:
    return f"{PREFIX}{_checked(referral_id)}/record.json"


def event_key(referral_id: str, seq: int) -> str:
    return f"{PREFIX}{_checked(referral_id)}/events/{seq:06d}.json"


def escalation_key(referral_id: str) -> str:
    return f"{PREFIX}{_checked(referral_id)}/escalated.json"


def _checked(referral_id: str) -> str:
    if not is_referral_id(referral_id):
        raise ReferralError(f"{referral_id!r} is not a referral id (ref- and 16 hex digits)",
                            hint="list them with `socialhub referral list`")
    return referral_id


def check_transition(current: str, new: str) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> new`` is allowed."""
    if new not in STATUSES:
        raise ReferralError(f"unknown referral status {new!r}; statuses are {', '.join(STATUSES)}")
    if current in FINAL:
        raise IllegalTransition(f"the referral is {current}: nothing can be recorded after that",
                                hint="a closed referral is final")
    if new != current and new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing"
        raise IllegalTransition(f"a referral that is {current} cannot become {new} (from {current}: {allowed})")


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_iso(str(value))
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------ the referral


@dataclass
class Referral:
    """A referral read back: its record, its events in order and its escalation (if any)."""

    record: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    escalation: dict[str, Any] | None = None

    def __getitem__(self, key: str) -> Any:
        return self.record[key]

    @property
    def referral_id(self) -> str:
        return str(self.record["referral_id"])

    @property
    def referred_at(self) -> str:
        return str(self.record["referred_at"])

    @property
    def status(self) -> str:
        return str(self.events[-1]["status"]) if self.events else "open"

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL

    def _fold(self) -> tuple[str | None, str | None, str]:
        """(removed_at, closed_at, the status before closing)."""
        status, removed_at, closed_at, before = "open", None, None, "open"
        for ev in self.events:
            new = str(ev["status"])
            if new == "removed" and status != "removed":
                removed_at = ev.get("removed_at") or ev.get("at")
            elif new == "still_online" and status == "removed":
                removed_at = None                 # re-instated
            if ev.get("removed_at"):
                removed_at = ev["removed_at"]
            if new == "closed":
                closed_at, before = ev.get("at"), status
            status = new
        return removed_at, closed_at, before if status == "closed" else status

    @property
    def removed_at(self) -> str | None:
        return self._fold()[0]

    @property
    def closed_at(self) -> str | None:
        return self._fold()[1]

    @property
    def time_to_removal(self) -> float | None:
        """Seconds from the referral (the officer's decision) to the post's removal, if removed."""
        removed, referred = _dt(self.removed_at), _dt(self.referred_at)
        if removed is None or referred is None:
            return None
        return (removed - referred).total_seconds()

    @property
    def outcome(self) -> str:
        """removed, restricted, rejected, still_online, unavailable; ``pending`` (no outcome yet) or
        ``no_outcome`` (closed without one)."""
        removed_at, _closed, last = self._fold()
        if removed_at:
            return "removed"
        if last in ("open", "acknowledged"):
            return NO_OUTCOME if self.status == "closed" else PENDING
        return last

    @property
    def still_online(self) -> bool:
        return self.outcome in STILL_ONLINE

    @property
    def last_check(self) -> dict[str, Any] | None:
        return next((e for e in reversed(self.events) if e.get("kind") == "check"), None)

    @property
    def platform_reply(self) -> dict[str, Any] | None:
        return next((e for e in reversed(self.events) if e.get("kind") == "reply"), None)

    @property
    def escalated(self) -> bool:
        return self.escalation is not None

    def history(self) -> list[dict[str, Any]]:
        """The status history, the creation first, in order (the escalation where it happened)."""
        first = {"seq": 0, "kind": "registered", "status": "open", "at": self.referred_at,
                 "recorded_at": self.record.get("created_at"), "by": self.record.get("referred_by")}
        items = [first, *self.events]
        if self.escalation:
            items.append({"seq": None, "kind": "escalation", "status": None, **self.escalation})
            items.sort(key=lambda e: (str(e.get("recorded_at") or e.get("at") or ""), e.get("seq") is None))
        return items

    def to_dict(self) -> dict[str, Any]:
        return {**self.record, "status": self.status, "outcome": self.outcome, "removed_at": self.removed_at,
                "closed_at": self.closed_at, "time_to_removal_seconds": self.time_to_removal,
                "escalated": self.escalation, "history": self.history()}


@dataclass(frozen=True)
class Registered:
    """What ``register_referral`` did: ``created`` False means the post already had a referral."""

    referral: Referral
    created: bool
    note: str


# ------------------------------------------------------------------------------------------ reading


def load_referral(store: ObjectStore, referral_id: str) -> Referral | None:
    raw = store.get_or_none(record_key(referral_id))
    if raw is None:
        return None
    events = []
    for key in sorted(store.list(f"{PREFIX}{referral_id}/events/")):
        if key.endswith(".json"):
            events.append(json.loads(store.get(key)))
    events.sort(key=lambda e: int(e["seq"]))
    esc = store.get_or_none(escalation_key(referral_id))
    return Referral(json.loads(raw), events, json.loads(esc) if esc else None)


def get_referral(store: ObjectStore, referral_id: str) -> Referral:
    found = load_referral(store, referral_id)
    if found is None:
        raise ReferralError(f"there is no referral {referral_id} in the register",
                            hint="list them with `socialhub referral list`")
    return found


def referral_ids(store: ObjectStore) -> list[str]:
    ids = set()
    for key in store.list(PREFIX):
        rid = key[len(PREFIX):].split("/", 1)[0]
        if is_referral_id(rid):
            ids.add(rid)
    return sorted(ids)


def all_referrals(store: ObjectStore) -> list[Referral]:
    """Every referral in the register, oldest referral first."""
    out = [r for r in (load_referral(store, rid) for rid in referral_ids(store)) if r is not None]
    out.sort(key=lambda r: (r.referred_at, r.referral_id))
    return out


def list_open_referrals(store: ObjectStore) -> list[Referral]:
    """Every referral not yet closed (what the re-check DAG looks at), oldest first."""
    return [r for r in all_referrals(store) if r.is_open]


def find_referral(store: ObjectStore, ident: str) -> Referral:
    """A referral by its id, its alert id, its post's URL or ``platform:post_id``."""
    from socialhub.alerts.model import is_alert_id

    ident = ident.strip()
    if is_referral_id(ident.lower()):
        return get_referral(store, ident.lower())
    if is_alert_id(ident.lower()):
        for ref in all_referrals(store):
            if ref.record.get("alert_id") == ident.lower():
                return ref
        raise ReferralError(f"alert {ident} has no referral in the register")
    if ident.startswith(("http://", "https://")):
        for ref in all_referrals(store):
            if ref.record.get("url") == ident:
                return ref
        raise ReferralError(f"no referral in the register is about {ident}")
    platform, _, post_id = ident.partition(":")
    if platform and post_id:
        return get_referral(store, referral_id_for(platform, post_id))
    raise ReferralError(f"{ident!r} is not a referral id, an alert id, a post URL or platform:post_id")


# ------------------------------------------------------------------------------------------ writing

AuditFn = Callable[..., Any]


def _audit_fn(store: ObjectStore, audit: AuditFn | None) -> AuditFn:
    if audit is not None:
        return audit
    from socialhub.audit.chain import AuditLog

    return AuditLog(store).append


def _append(store: ObjectStore, referral_id: str, make: Callable[[Referral], dict[str, Any]], *,
            key: str | None, max_tries: int = 100) -> tuple[Referral, dict[str, Any], bool]:
    """Add the event ``make(current referral)`` as the next number (see the module docstring).

    Returns (the referral after it, the event, whether it was added now: False when an event with
    ``key`` already existed)."""
    for _ in range(max_tries):
        ref = get_referral(store, referral_id)
        if key:
            done = next((e for e in ref.events if e.get("key") == key), None)
            if done is not None:
                return ref, done, False
        body = make(ref)                       # validates against the current status (may raise)
        seq = (int(ref.events[-1]["seq"]) if ref.events else 0) + 1
        event = {"seq": seq, **body, "key": key}
        try:
            store.put(event_key(referral_id, seq), canonical_json(event), content_type="application/json")
        except ImmutableObjectError:
            continue                           # another writer took the number: read again, check again
        ref.events.append(event)
        return ref, event, True
    raise ReferralError(f"could not record the change to {referral_id}: too much contention")


def audited_key(referral_id: str, seq: int | str) -> str:
    return f"{PREFIX}{_checked(referral_id)}/audited/{seq}.json"


def _audit_change(store: ObjectStore, audit: AuditFn, ref: Referral, event: Mapping[str, Any], *, previous: str,
                  actor: Mapping[str, Any], why: str | None) -> None:
    """Audit one register event once: a marker written after the audit event tells a retry it is done
    (a crash between the two audits it again: at least once)."""
    seq = event.get("seq")
    marker = audited_key(ref.referral_id, seq if isinstance(seq, int) else "escalation")
    if store.exists(marker):
        return
    audited = audit("referral_update", actor=dict(actor), obj=f"referral:{ref.referral_id}", force=ref.record.get("force"),
          justification=why,
          details={"referral_id": ref.referral_id, "alert_id": ref.record.get("alert_id"),
                   "platform": ref.record.get("platform"), "change": event.get("kind"), "seq": event.get("seq"),
                   "from": previous, "to": event.get("status"), "at": event.get("at"),
                   **{k: event[k] for k in ("ticket", "platform_decision", "http_status", "removed_at",
                                            "time_to_removal_seconds", "to_whom")
                      if event.get(k) not in (None, "")}})
    store.put(marker, canonical_json({"audit_seq": audited.get("seq") if isinstance(audited, dict) else None}),
              content_type="application/json")


SYSTEM_CHECK = {"kind": "system", "name": "referral re-check"}


def record_check(store: ObjectStore, referral_id: str, *, status: str | None, checked_at: datetime,
                 http_status: int | None = None, detail: str = "", actor: Mapping[str, Any] | None = None,
                 key: str | None = None, now: datetime | None = None, audit: AuditFn | None = None) -> Referral:
    """Record what a check of the post found: ``status`` one of ``CHECK_STATUSES``, or ``None`` when
    the check could not tell (an error, a timeout: recorded, status unchanged).

    ``key`` (e.g. ``"<dag_id>/<run_id>/<task_id>/<map_index>"``) makes a retried task record once."""
    if status is not None and status not in CHECK_STATUSES:
        raise ReferralError(f"a check can record {', '.join(CHECK_STATUSES)} (or nothing when it could not tell), "
                            f"not {status!r}")
    who = dict(actor or SYSTEM_CHECK)

    def make(ref: Referral) -> dict[str, Any]:
        current = ref.status
        new = current if status is None or (current, status) in CONFIRMS else status
        check_transition(current, new)
        return {"kind": "check", "status": new, "previous": current, "observed": status or "inconclusive",
                "at": utc_iso(checked_at), "recorded_at": utc_iso(now or checked_at), "by": who,
                "http_status": http_status, "detail": str(detail or "")[:500]}

    ref, event, added = _append(store, referral_id, make, key=key)
    if event["status"] != event["previous"]:
        _audit_change(store, _audit_fn(store, audit), ref, event, previous=event["previous"], actor=who,
                      why=f"status check: {event['observed']}" + (f" (HTTP {http_status})" if http_status else ""))
    return ref


def record_reply(store: ObjectStore, referral_id: str, *, status: str, by: Mapping[str, Any], why: str,
                 at: datetime, ticket: str | None = None, platform_decision: str | None = None,
                 note: str | None = None, now: datetime | None = None, key: str | None = None,
                 audit: AuditFn | None = None) -> Referral:
    """An officer records the platform's reply (or what they found): new ``status``, the platform's
    ticket id and decision in its own words, the date it applies from (``at``), a note. Audited."""
    if not why or not why.strip():
        raise ReferralError("a reason is required for every change to a referral (--why)")

    def make(ref: Referral) -> dict[str, Any]:
        check_transition(ref.status, status)
        if status == "closed":
            raise ReferralError("a referral is closed with close_referral (`socialhub referral update ID --status "
                                "closed`), which records the time to removal")
        return {"kind": "reply", "status": status, "previous": ref.status, "at": utc_iso(at),
                "recorded_at": utc_iso(now or at), "by": dict(by), "why": why.strip(),
                "ticket": ticket or None, "platform_decision": platform_decision or None, "note": note or None}

    ref, event, _added = _append(store, referral_id, make, key=key)
    _audit_change(store, _audit_fn(store, audit), ref, event, previous=event["previous"], actor=by, why=why.strip())
    return ref


def close_referral(store: ObjectStore, referral_id: str, *, closed_at: datetime, by: Mapping[str, Any], why: str,
                   removed_at: datetime | None = None, now: datetime | None = None, key: str | None = None,
                   audit: AuditFn | None = None) -> Referral:
    """Close a referral. ``removed_at`` (when the post was removed, if it was and the register does
    not know yet) sets the time to removal = removed_at - referred_at. Audited."""
    if not why or not why.strip():
        raise ReferralError("a reason is required to close a referral")

    def make(ref: Referral) -> dict[str, Any]:
        check_transition(ref.status, "closed")
        referred = _dt(ref.referred_at)
        if removed_at is not None and referred is not None and removed_at < referred:
            raise ReferralError(f"removed_at {utc_iso(removed_at)} is before the referral ({ref.referred_at})")
        body: dict[str, Any] = {"kind": "close", "status": "closed", "previous": ref.status, "at": utc_iso(closed_at),
                "recorded_at": utc_iso(now or closed_at), "by": dict(by), "why": why.strip(),
                "removed_at": utc_iso(removed_at) if removed_at else None}
        gone = _dt(body["removed_at"] or ref.removed_at)
        body["time_to_removal_seconds"] = (gone - referred).total_seconds() if gone and referred else None
        return body

    ref, event, _added = _append(store, referral_id, make, key=key)
    _audit_change(store, _audit_fn(store, audit), ref, event, previous=event["previous"], actor=by, why=why.strip())
    return ref


def mark_escalated(store: ObjectStore, referral_id: str, *, at: datetime, by: Mapping[str, Any], why: str,
                   to_whom: str = "", audit: AuditFn | None = None) -> tuple[Referral, bool]:
    """Mark the referral escalated (e.g. still online N days after the notice), once ever:
    returns (referral, True) the first time, (referral, False) if it already was (nothing written)."""
    ref = get_referral(store, referral_id)
    if ref.escalation is not None:
        return ref, False
    if not ref.is_open:
        raise IllegalTransition(f"referral {referral_id} is {ref.status}: it cannot be escalated")
    body = {"at": utc_iso(at), "recorded_at": utc_iso(at), "by": dict(by), "why": why, "to_whom": to_whom,
            "status_then": ref.status}
    try:
        store.put(escalation_key(referral_id), canonical_json(body), content_type="application/json")
    except ImmutableObjectError:
        return get_referral(store, referral_id), False   # another writer escalated it first
    ref.escalation = body
    _audit_change(store, _audit_fn(store, audit), ref, {"kind": "escalation", "status": ref.status, "at": body["at"],
                                                 "to_whom": to_whom or None},
                  previous=ref.status, actor=by, why=why)
    return ref, True


# ------------------------------------------------------------------------------------------ creating


def _primary_category(classification: Mapping[str, Any], labels: Iterable[str]) -> str:
    scores = classification.get("scores") or {}
    labels = list(labels)
    if not labels:
        return "unknown"
    return max(labels, key=lambda c: (float(scores.get(c) or 0.0), -labels.index(c)))


def notice_text(record: Mapping[str, Any]) -> str:
    """The notice a platform needs to act (EU DSA Art. 16(2) fields; UK trusted-flagger practice)."""
    n, c = record["notifier"], record["policy"]
    return "\n".join([
        f"Notice of illegal or rule-breaking content - reference {record['referral_id']}",
        "",
        f"Where: {record['url'] or '(no URL recorded)'} ({record['platform']} post {record['post_id']}, "
        f"account {record['account']})",
        f"Captured: {record.get('captured_at') or 'unknown'}; SHA-256 of the item as collected: "
        f"{record['content_sha256']}",
        "",
        f"Why: category {record['category']}. Platform rule: {c['policy']}. Law (England and Wales): {c['law']}.",
        f"Officer's assessment: {record['justification']}",
        "",
        f"Notified by: {n['name']} ({record['force']}, {record['team']}); contact {n['email']}, quoting "
        f"{record['referral_id']}.",
        GOOD_FAITH,
    ])


def register_referral(store: ObjectStore, ctx: Any, decision: Any, *, bundle: Any, now: datetime,
                      policies: Any = None, organisation: str = "") -> Registered:
    """Create the register record for a "Refer to platform" decision, once per platform post.

    ``ctx`` is the alert's ``AlertContext``, ``bundle`` its ``ReferralBundle``. A post that already
    has a referral gets it back (``created`` False) with a note: the same decision retried, or
    another decision about the same post (which then stands as a second decision, not a referral)."""
    from socialhub.classify.slices import music_markers
    from socialhub.referrals.policies import load_policies

    alert, row = ctx.alert, ctx.row
    post = alert.post
    platform, post_id = str(post.get("platform") or ""), str(post.get("post_id") or "")
    rid = referral_id_for(platform, post_id)
    existing = load_referral(store, rid)
    if existing is not None:
        return Registered(existing, False, _again(existing, alert.alert_id, decision))
    policies = policies or load_policies()
    category = _primary_category(alert.classification, alert.labels)
    cited = policies.cite(platform, category)
    notifier = policies.notifier(alert.force)
    markers = sorted({m.name for m in music_markers(str(post.get("text") or ""))})
    record: dict[str, Any] = {
        "schema": SCHEMA, "referral_id": rid, "alert_id": alert.alert_id, "post_key": f"{platform}:{post_id}",
        "platform": platform, "post_id": post_id, "account": post.get("account"), "url": post.get("url"),
        "captured_at": post.get("collected_at"), "content_sha256": row.get("raw_sha256") or "",
        "category": category, "categories": list(alert.labels), "severity": str(alert.severity),
        "policy": cited.to_dict(), "policies_file": policies.source.rsplit("/", 1)[-1],
        "channel": cited.channel, "channel_address": cited.address,
        "referred_by": dict(decision.responded_by or {}), "referred_at": decision.responded_at,
        "decision": decision.option, "justification": decision.justification,
        "force": alert.force, "team": alert.team, "organisation": organisation,
        "notifier": {"name": notifier.name, "email": notifier.email},
        "bundle": {"prefix": bundle.prefix, "manifest": bundle.manifest_key, "uri": bundle.uri},
        "music_or_drill": bool(markers), "music_markers": markers,
        "created_at": utc_iso(now),
    }
    record["notice"] = notice_text(record)
    try:
        store.put(record_key(rid), canonical_json(record), content_type="application/json")
    except ImmutableObjectError:                # another attempt (or writer) registered it first: it stands
        found = get_referral(store, rid)
        return Registered(found, False, _again(found, alert.alert_id, decision))
    return Registered(Referral(record), True, f"registered as {rid}")


def _again(existing: Referral, alert_id: str, decision: Any) -> str:
    r = existing.record
    if r.get("alert_id") == alert_id and r.get("referred_at") == decision.responded_at:
        return f"already registered as {existing.referral_id} for this decision (a retry): nothing new recorded"
    who = (r.get("referred_by") or {}).get("name") or "an officer"
    return (f"this post was already referred as {existing.referral_id} on {r.get('referred_at')} by {who} "
            f"(now {existing.status}): the existing referral stands, no second referral was made")


__all__ = [
    "CHECK_STATUSES", "FINAL", "IllegalTransition", "OUTCOMES", "Referral", "ReferralError", "Registered",
    "STATUSES", "STILL_ONLINE", "TRANSITIONS", "all_referrals", "check_transition", "close_referral",
    "find_referral", "get_referral", "is_referral_id", "list_open_referrals", "load_referral", "mark_escalated",
    "notice_text", "record_check", "record_reply", "referral_id_for", "register_referral",
]
