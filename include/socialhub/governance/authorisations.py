"""The authorisation register: each authorisation to monitor accounts as a record of its own.

Watching the same accounts repeatedly is directed surveillance under RIPA 2000 Part II; the Home
Office code of practice expects a central record of each authorisation: who granted it (name and
rank), when, for which operation and subjects, its reviews, renewals and cancellation, kept for at
least three years after it ends. Monitoring open sources overtly, without that repetition, needs
no RIPA authorisation but still a recorded necessity. This module holds both kinds.

Where the register lives
========================

* **A file** (``SOCIALHUB_AUTHORISATIONS``, YAML): whole records, reviewed like code.
* **The store**, written by ``socialhub authorisations grant|review|renew|cancel``: one write-once
  object per change under ``governance/authorisations/<reference>/<n>.json``; every change is
  also an audit event (``authorisation``). Nothing in the pipeline deletes this prefix:
  retention erases batch content only, so the register outlives the data it covered.

The register is the file's records with the store's changes applied in order. A reference
granted in both is refused.

What it decides
===============

A watchlist entry names its authorisation (``authorisation_ref``). When a register is in use
(a file is configured or the store holds a record), an entry is collected on a day only if its
authorisation is in the register, covers that account, was granted on or before that day, has
not expired (``expires_on`` is the first day *without* cover) and was not cancelled on or before
that day; and the entry's own ``review_by`` has not passed. Expiry and cancellation therefore
stop collection the same day. An entry whose reference is not in the register is not collected.
With no register at all, the watchlist's ``review_by`` alone decides (and the plan says so).

Rules (``Policy``; the defaults follow the code of practice, a force may tighten them):

* directed surveillance lasts at most 3 months from grant (``expires_on`` at most the same day
  three months on; the default), and each renewal at most 3 months from the current expiry;
  a renewal must be recorded before the expiry (a lapsed authorisation is granted anew);
* the authorising officer of directed surveillance holds at least the rank of superintendent;
* overt monitoring of open sources records its necessity and lasts at most 12 months;
* a review is due every 28 days after the grant or the last review;
* a record is kept at least 3 years after the authorisation ends (cancellation or expiry).
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from socialhub.errors import ConfigError, ImmutableObjectError
from socialhub.models import canonical_json
from socialhub.storage.base import ObjectStore, key_segment

PREFIX = "governance/authorisations/"
DIRECTED = "directed_surveillance"
OVERT = "overt_open_source"
TYPES = (DIRECTED, OVERT)

#: police ranks, lowest first (England and Wales; the Met's titles sit beside their equivalents)
RANKS = ["constable", "sergeant", "inspector", "chief inspector", "superintendent", "chief superintendent",
         "assistant chief constable", "deputy chief constable", "chief constable"]
_RANK_ALIASES = {
    "pc": "constable", "dc": "constable", "detective constable": "constable", "police constable": "constable",
    "ps": "sergeant", "ds": "sergeant", "detective sergeant": "sergeant",
    "insp": "inspector", "di": "inspector", "detective inspector": "inspector",
    "ch insp": "chief inspector", "dci": "chief inspector", "detective chief inspector": "chief inspector",
    "supt": "superintendent", "dsupt": "superintendent", "detective superintendent": "superintendent",
    "ch supt": "chief superintendent", "det ch supt": "chief superintendent",
    "detective chief superintendent": "chief superintendent",
    "commander": "assistant chief constable", "acc": "assistant chief constable",
    "deputy assistant commissioner": "deputy chief constable", "dcc": "deputy chief constable",
    "assistant commissioner": "chief constable", "cc": "chief constable",
}


def rank_level(rank: str) -> int:
    """The position of ``rank`` in ``RANKS`` (aliases such as "Supt" or "DCI" accepted); -1 if unknown."""
    name = " ".join(rank.lower().replace(".", " ").split())
    name = _RANK_ALIASES.get(name, name)
    return RANKS.index(name) if name in RANKS else -1


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    directed_max_months: int = Field(default=3, ge=1, le=3)
    overt_max_months: int = Field(default=12, ge=1, le=36)
    directed_min_rank: str = "superintendent"
    review_every_days: int = Field(default=28, ge=1, le=92)
    keep_years_after_end: int = Field(default=3, ge=3, le=100)

    @field_validator("directed_min_rank")
    @classmethod
    def _known_rank(cls, v: str) -> str:
        if rank_level(v) < 0:
            raise ValueError(f"{v!r} is not a police rank this register knows ({', '.join(RANKS)})")
        return v


class Officer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=2, max_length=200)
    rank: str = Field(min_length=2, max_length=100)

    def __str__(self) -> str:
        return f"{self.rank} {self.name}"


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    on: date
    reviewer: Officer
    outcome: Literal["continue", "cancel_recommended", "amend"]
    notes: str = Field(min_length=5, max_length=2000)


class Renewal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    on: date
    by: Officer
    expires_on: date
    why: str = Field(min_length=10, max_length=2000)


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    on: date
    by: Officer
    why: str = Field(min_length=10, max_length=2000)


Status = Literal["active", "review_due", "expired", "cancelled", "not_yet_in_force"]


class Authorisation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reference: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    type: Literal["directed_surveillance", "overt_open_source"]
    #: why monitoring these accounts is necessary and proportionate (required for both kinds)
    necessity: str = Field(min_length=20, max_length=4000)
    authorising_officer: Officer
    granted_on: date
    #: the first day without cover; at most ``directed_max_months`` (or ``overt_max_months``) after grant
    expires_on: date | None = None
    operation: str = Field(min_length=3, max_length=300)
    #: the watchlist keys covered (``platform:account``)
    accounts: list[str] = Field(min_length=1)
    reviews: list[Review] = Field(default_factory=list)
    renewals: list[Renewal] = Field(default_factory=list)
    cancellation: Cancellation | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Authorisation:
        if self.expires_on is not None and self.expires_on <= self.granted_on:
            raise ValueError(f"expires_on {self.expires_on} is not after granted_on {self.granted_on}")
        for r in self.reviews:
            if r.on < self.granted_on:
                raise ValueError(f"a review on {r.on} is before the grant ({self.granted_on})")
        if self.cancellation is not None and self.cancellation.on < self.granted_on:
            raise ValueError(f"cancelled on {self.cancellation.on}, before the grant ({self.granted_on})")
        return self

    # -- derived -------------------------------------------------------------------------------
    def max_months(self, policy: Policy) -> int:
        return policy.directed_max_months if self.type == DIRECTED else policy.overt_max_months

    def original_expiry(self, policy: Policy) -> date:
        return self.expires_on or add_months(self.granted_on, self.max_months(policy))

    def expiry(self, policy: Policy) -> date:
        """The first day without cover, after every renewal."""
        return self.renewals[-1].expires_on if self.renewals else self.original_expiry(policy)

    def ended_on(self, policy: Policy) -> date:
        end = self.expiry(policy)
        return min(end, self.cancellation.on) if self.cancellation else end

    def keep_until(self, policy: Policy) -> date:
        end = self.ended_on(policy)
        return add_months(end, 12 * policy.keep_years_after_end)

    def next_review(self, policy: Policy) -> date:
        last = max([self.granted_on, *(r.on for r in self.reviews), *(r.on for r in self.renewals)])
        return last + timedelta(days=policy.review_every_days)

    def status(self, today: date, policy: Policy) -> Status:
        if self.cancellation is not None and today >= self.cancellation.on:
            return "cancelled"
        if today < self.granted_on:
            return "not_yet_in_force"
        if today >= self.expiry(policy):
            return "expired"
        return "review_due" if today >= self.next_review(policy) else "active"

    def in_force(self, today: date, policy: Policy) -> bool:
        return self.status(today, policy) in ("active", "review_due")

    def check(self, policy: Policy) -> list[str]:
        """What breaks the policy (empty when the record is sound)."""
        problems = []
        limit = add_months(self.granted_on, self.max_months(policy))
        if self.original_expiry(policy) > limit:
            problems.append(f"expires_on {self.original_expiry(policy)} is more than {self.max_months(policy)} "
                            f"month(s) after the grant ({self.granted_on}); the most is {limit}")
        if self.type == DIRECTED:
            need = rank_level(policy.directed_min_rank)
            for who, what in [(self.authorising_officer, "authorising officer"),
                              *((r.by, f"renewal on {r.on}") for r in self.renewals)]:
                level = rank_level(who.rank)
                if level < 0:
                    problems.append(f"{what}: rank {who.rank!r} is not one this register knows ({', '.join(RANKS)})")
                elif level < need:
                    problems.append(f"{what}: {who} is below the rank that may authorise directed surveillance "
                                    f"({policy.directed_min_rank})")
        current = self.original_expiry(policy)
        for r in self.renewals:
            if r.on >= current:
                problems.append(f"renewal on {r.on} came on or after the expiry ({current}): a lapsed "
                                "authorisation must be granted anew")
            most = add_months(current, self.max_months(policy))
            if r.expires_on <= current or r.expires_on > most:
                problems.append(f"renewal on {r.on}: new expiry {r.expires_on} must be after {current} and no "
                                f"later than {most}")
            current = r.expires_on
        return problems


def _account_identity(key: str) -> str:
    from socialhub.watchlist import WatchlistEntry, identity

    platform, _, account = key.partition(":")
    try:
        entry = WatchlistEntry.model_construct(platform=platform, account=account)
        return identity(entry)
    except Exception:  # noqa: BLE001 - an odd key simply compares as written
        return key.lower()


@dataclass(frozen=True)
class Cover:
    """Whether an authorisation lets ``key`` be collected on a day, and why not."""
    ok: bool
    reason: str
    status: str


class Register:
    def __init__(self, records: dict[str, Authorisation], policy: Policy | None = None,
                 sources: dict[str, str] | None = None) -> None:
        self.records = records
        self.policy = policy or Policy()
        self.sources = sources or {}
        self._identities: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def get(self, reference: str) -> Authorisation | None:
        return self.records.get(reference)

    def _covered(self, auth: Authorisation) -> frozenset[str]:
        """The identities of the accounts ``auth`` covers, worked out once per register (the plan asks
        for every watchlist entry, on every run)."""
        found = self._identities.get(auth.reference)
        if found is None:
            found = self._identities[auth.reference] = frozenset(_account_identity(a) for a in auth.accounts)
        return found

    def cover(self, reference: str, key: str, today: date) -> Cover:
        auth = self.records.get(reference)
        if auth is None:
            return Cover(False, f"authorisation {reference} is not in the authorisation register", "unregistered")
        status = auth.status(today, self.policy)
        if status == "cancelled":
            assert auth.cancellation is not None
            c = auth.cancellation
            return Cover(False, f"authorisation {reference} was cancelled on {c.on} by {c.by}: {c.why}", status)
        if status == "expired":
            return Cover(False, f"authorisation {reference} expired: no cover from {auth.expiry(self.policy)} "
                                "(renew it before expiry, or grant a new one)", status)
        if status == "not_yet_in_force":
            return Cover(False, f"authorisation {reference} is granted from {auth.granted_on} only", status)
        if _account_identity(key) not in self._covered(auth):
            return Cover(False, f"authorisation {reference} does not cover {key} (it names "
                                f"{len(auth.accounts)} other account(s))", "not_covered")
        return Cover(True, "", status)

    def due(self, today: date, within_days: int = 7) -> list[tuple[Authorisation, str]]:
        """Authorisations in force whose review is due or whose expiry comes within ``within_days``."""
        out = []
        for auth in sorted(self.records.values(), key=lambda a: a.reference):
            if not auth.in_force(today, self.policy):
                continue
            review, expiry = auth.next_review(self.policy), auth.expiry(self.policy)
            if review <= today:
                out.append((auth, f"review overdue since {review}"))
            elif (review - today).days <= within_days:
                out.append((auth, f"review due on {review}"))
            elif (expiry - today).days <= within_days:
                out.append((auth, f"expires on {expiry} (renew before then)"))
        return out

    def rows(self, today: date) -> list[dict[str, Any]]:
        """One row per authorisation, for the register's printouts and the auditor's report."""
        rows = []
        order = {"review_due": 0, "active": 1, "not_yet_in_force": 2, "expired": 3, "cancelled": 4}
        for auth in self.records.values():
            p = self.policy
            last_review = auth.reviews[-1] if auth.reviews else None
            c = auth.cancellation
            rows.append({
                "reference": auth.reference, "type": auth.type, "operation": auth.operation,
                "status": auth.status(today, p), "authorising_officer": str(auth.authorising_officer),
                "granted_on": auth.granted_on.isoformat(), "expires_on": auth.expiry(p).isoformat(),
                "next_review": auth.next_review(p).isoformat() if auth.in_force(today, p) else "",
                "reviews": len(auth.reviews),
                "last_review": (f"{last_review.on} {last_review.reviewer}: {last_review.outcome}"
                                if last_review else ""),
                "renewals": len(auth.renewals),
                "cancelled": f"{c.on} by {c.by}: {c.why}" if c else "",
                "accounts": " ".join(auth.accounts), "necessity": auth.necessity,
                "keep_until": auth.keep_until(p).isoformat() if not auth.in_force(today, p) else
                f"{p.keep_years_after_end} years after it ends",
                "source": self.sources.get(auth.reference, ""),
            })
        rows.sort(key=lambda r: (order.get(str(r["status"]), 9), r["reference"]))
        return rows


# -- loading ---------------------------------------------------------------------------------------
def _problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()]


def parse_file(text: str, source: str) -> tuple[dict[str, Authorisation], Policy]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"authorisation register {source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("authorisations"), list):
        raise ConfigError(f"authorisation register {source}: the top level must be a mapping with an "
                          "`authorisations:` list (and optionally `policy:`)")
    extra = set(data) - {"version", "policy", "authorisations"}
    if extra:
        raise ConfigError(f"authorisation register {source}: unknown top-level key(s) {', '.join(sorted(map(str, extra)))}")
    try:
        policy = Policy.model_validate(data.get("policy") or {})
    except ValidationError as exc:
        raise ConfigError(f"authorisation register {source}: policy: {'; '.join(_problems(exc))}") from None
    records: dict[str, Authorisation] = {}
    problems: list[str] = []
    for i, raw in enumerate(data["authorisations"]):
        try:
            auth = Authorisation.model_validate(raw)
        except ValidationError as exc:
            problems += [f"authorisations[{i}]: {p}" for p in _problems(exc)]
            continue
        if auth.reference in records:
            problems.append(f"authorisations[{i}]: {auth.reference} is listed twice")
            continue
        problems += [f"{auth.reference}: {p}" for p in auth.check(policy)]
        records[auth.reference] = auth
    if problems:
        raise ConfigError(f"authorisation register {source} is invalid:\n  " + "\n  ".join(problems))
    return records, policy


def change_prefix(reference: str) -> str:
    return f"{PREFIX}{key_segment(reference)}/"


def _changes(store: ObjectStore) -> list[dict[str, Any]]:
    out = []
    for key in store.list(PREFIX):
        if key.endswith(".json"):
            out.append(json.loads(store.get(key)))
    out.sort(key=lambda c: (c["reference"], c["n"]))
    return out


def apply_change(records: dict[str, Authorisation], change: dict[str, Any]) -> None:
    """Apply one stored change (``grant``, ``review``, ``renew``, ``cancel``) to ``records``."""
    ref, op, body = change["reference"], change["op"], change["body"]
    if op == "grant":
        records[ref] = Authorisation.model_validate(body)
        return
    current = records.get(ref)
    if current is None:
        raise ConfigError(f"authorisation register: a {op} of {ref}, which was never granted")
    data = current.model_dump(mode="json")
    if op == "review":
        data["reviews"] = [*data["reviews"], body]
    elif op == "renew":
        data["renewals"] = [*data["renewals"], body]
    elif op == "cancel":
        data["cancellation"] = body
    else:
        raise ConfigError(f"authorisation register: unknown change {op!r} to {ref}")
    records[ref] = Authorisation.model_validate(data)


def load_register(store: ObjectStore | None, path: str | Path | None) -> Register | None:
    """The register from the file at ``path`` and the store's changes; ``None`` if neither holds any."""
    records: dict[str, Authorisation] = {}
    policy = Policy()
    sources: dict[str, str] = {}
    if path:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the authorisation register {p} (SOCIALHUB_AUTHORISATIONS): "
                              f"{exc.strerror}") from None
        records, policy = parse_file(text, str(p))
        sources = {ref: "file" for ref in records}
    changes = _changes(store) if store is not None else []
    for ch in changes:
        if ch["op"] == "grant" and ch["reference"] in records:
            raise ConfigError(f"authorisation {ch['reference']} is granted both in {path} and in the store: "
                              "keep it in one place")
        apply_change(records, ch)
        sources[ch["reference"]] = sources.get(ch["reference"], "store")
    if not records and not path:
        return None
    return Register(records, policy, sources)


def governed_watchlist(store: ObjectStore | None, watchlist_path: str | Path | None = None,
                       register_path: str | Path | None | Literal["env"] = "env") -> Any:
    """The watchlist (``watchlist_path``, default the configured one) judged against the register: the
    file ``register_path`` (``"env"``: ``SOCIALHUB_AUTHORISATIONS``) and the records in ``store``.
    Every place that decides whether an account may be read uses this one."""
    from socialhub.config import Settings
    from socialhub.watchlist import load_watchlist

    cfg = Settings.from_env()
    wl = load_watchlist(watchlist_path or cfg.watchlist)
    return wl.with_register(load_register(store, cfg.authorisations if register_path == "env" else register_path))


# -- changes through the CLI -------------------------------------------------------------------------
def record_change(store: ObjectStore, register: Register | None, reference: str, op: str, body: dict[str, Any],
                  *, auditor: Any = None, actor_name: str = "") -> Authorisation:
    """Check a change against the register and the policy, store it write-once, audit it."""
    records = dict(register.records) if register else {}
    policy = register.policy if register else Policy()
    if op == "grant" and reference in records:
        raise ConfigError(f"authorisation {reference} is already in the register (granted "
                          f"{records[reference].granted_on}); renew it instead")
    if op != "grant":
        current = records.get(reference)
        if current is None:
            raise ConfigError(f"authorisation {reference} is not in the register: `socialhub authorisations list` "
                              "shows the references")
        if current.cancellation is not None:
            raise ConfigError(f"authorisation {reference} was already cancelled on {current.cancellation.on}")
        if op == "renew" and date.fromisoformat(str(body["on"])) >= current.expiry(policy):
            raise ConfigError(f"authorisation {reference} expired on {current.expiry(policy)}: a lapsed "
                              "authorisation cannot be renewed, grant a new one")
    try:
        apply_change(records, {"reference": reference, "op": op, "body": body})
    except ValidationError as exc:
        raise ConfigError(f"{op} of {reference} refused: {'; '.join(_problems(exc))}") from None
    auth = records[reference]
    problems = auth.check(policy)
    if problems:
        raise ConfigError(f"{op} of {reference} refused: {'; '.join(problems)}")
    prefix = change_prefix(reference)
    n = len([k for k in store.list(prefix) if k.endswith(".json")]) + 1
    while True:
        change = {"reference": reference, "op": op, "n": n, "body": body}
        try:
            store.put(f"{prefix}{n:06d}.json", canonical_json(change), content_type="application/json")
            break
        except ImmutableObjectError:
            n += 1
    if auditor is not None:
        auditor.record("authorisation", f"authorisation:{reference}",
                       justification=str(body.get("why") or body.get("notes") or body.get("necessity") or op),
                       details={"op": op, "reference": reference, "change": n, "by": actor_name, "body": body,
                                "status_after": auth.status(date.fromisoformat(str(body.get("on")
                                                                                  or body.get("granted_on"))),
                                                            policy)})
    return auth


__all__ = ["Authorisation", "Cancellation", "Cover", "DIRECTED", "OVERT", "Officer", "Policy", "RANKS", "Register",
           "Renewal", "Review", "add_months", "governed_watchlist", "load_register", "parse_file", "rank_level",
           "record_change"]
