"""Retention: erase what policy says must go, log each erasure, never touch evidence under hold.

Run daily by the ``socialhub_housekeeping`` DAG and by ``socialhub retention apply``. The
decision for each batch is a pure function (``decide``) so it can be shown before it is done
(``--dry-run``).

An erasure is recorded (``deletion``) only once the store found no version of the object left:
on a versioned S3 bucket every version and delete marker is removed by its version id and the
versions are listed again. A version still under Object Lock (retention not expired, or a legal
hold) cannot be removed: it is recorded as ``erasure_pending`` with its retain-until date (once
per status, not every day), the batch is not counted as erased, and each later run tries again
until the versions are gone.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from socialhub.audit.chain import Auditor, record
from socialhub.errors import ConfigError, SocialhubError
from socialhub.models import canonical_json, parse_iso, sha256_hex, utc_iso
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore, key_segment
from socialhub.subjects import SUBJECTS, Subject, normalise

log = logging.getLogger(__name__)

DEFAULT_POLICY = Path(__file__).resolve().parent / "retention.yaml"
HOLDS_PREFIX = "holds/"


class Rule(BaseModel):
    """One retention rule: batches of a kind (``applies_to``) are kept ``days`` days.

    ``subject`` (optional: one category or a list) narrows the rule to accounts of those subject
    categories (``socialhub.subjects``), so a force can keep, say, a victim's account data for
    less time than a suspect's. For a batch, a rule naming its account's category wins over the
    rule of the same kind that names none.
    """

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    description: str = ""
    applies_to: Literal["flagged", "not_flagged", "held"]
    days: int = Field(ge=1)
    subject: list[Subject] | None = None

    @field_validator("subject", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [v]
        if isinstance(v, list) and not v:
            raise ValueError("is an empty list: name at least one category, or leave `subject` out for every account")
        return v

    @field_validator("subject")
    @classmethod
    def _no_repeats(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError(f"names a category twice ({', '.join(v)})")
        return v


class Operational(BaseModel):
    """How long housekeeping keeps operational records (not collected content) the pipeline writes."""

    model_config = ConfigDict(extra="forbid")
    #: a collection run's rate-budget record, ``state/budget/runs/<run>/`` (``prune_budget_runs``)
    budget_runs_days: int = Field(default=30, ge=1)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    rules: list[Rule]
    operational: Operational = Field(default_factory=Operational)

    @model_validator(mode="after")
    def _unambiguous(self) -> Policy:
        """Every (kind, subject category) is decided by at most one rule, and rule ids are unique."""
        problems: list[str] = []
        seen_ids: set[str] = set()
        for r in self.rules:
            if r.id in seen_ids:
                problems.append(f"rule id {r.id!r} is used twice")
            seen_ids.add(r.id)
        for kind in ("flagged", "not_flagged", "held"):
            generic = [r.id for r in self.rules if r.applies_to == kind and r.subject is None]
            if len(generic) > 1:
                problems.append(f"rules {', '.join(generic)} all apply to {kind} batches of every account "
                                "(keep one, or give the others a `subject`)")
            for cat in SUBJECTS:
                named = [r.id for r in self.rules if r.applies_to == kind and r.subject and cat in r.subject]
                if len(named) > 1:
                    problems.append(f"rules {', '.join(named)} all apply to {kind} batches of {cat} accounts "
                                    "(one rule per kind and subject category)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def rule_for(self, kind: str, subject: str | None = None) -> Rule | None:
        """The rule for a batch of ``kind`` whose account has the ``subject`` category: the rule naming
        that category, else the kind's rule naming none (``subject=None``: only that one)."""
        if subject is not None:
            named = next((r for r in self.rules if r.applies_to == kind and r.subject and subject in r.subject), None)
            if named is not None:
                return named
        return next((r for r in self.rules if r.applies_to == kind and r.subject is None), None)


def load_policy(path: str | Path | None = None) -> Policy:
    p = Path(path) if path else DEFAULT_POLICY
    try:
        return Policy.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read retention policy {p}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigError(f"retention policy {p} is invalid: {problems}") from None


def _problem(err: Any) -> str:
    loc = ".".join(map(str, err["loc"]))
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err.get("type") == "literal_error" and "subject" in err["loc"]:
        msg = f"{err.get('input')!r} is not a subject category (use one of: {', '.join(SUBJECTS)})"
    return f"{loc}: {msg}" if loc else msg


def watchlist_subjects(watchlist: Any) -> dict[str, str]:
    """``platform:account`` -> subject category of every watchlist entry (what ``apply_retention`` takes)."""
    return {e.key: e.subject for e in getattr(watchlist, "accounts", watchlist)}


def current_subjects(path: str | Path | None = None) -> dict[str, str]:
    """``watchlist_subjects`` of the watchlist file at ``path`` (default: the configured one). A
    watchlist that cannot be read is logged, and each batch's category then comes from its manifest."""
    from socialhub.errors import SocialhubError
    from socialhub.watchlist import load_watchlist

    try:
        return watchlist_subjects(load_watchlist(path))
    except SocialhubError as exc:
        log.warning("retention: cannot read the watchlist (%s); each batch's subject category comes from its "
                    "manifest", exc)
        return {}


def subject_of_batch(manifest: dict[str, Any], subjects: Mapping[str, str] | None = None) -> str:
    """The subject category retention applies to a batch: the account's category on the watchlist
    now (a correction, say from unknown to victim, reaches the batches already stored), else the one
    its manifest recorded, else ``unknown`` (a manifest from before the category existed)."""
    key = f"{manifest.get('platform')}:{manifest.get('account')}"
    return normalise((subjects or {}).get(key) or manifest.get("subject"))


def hold_key(scope: str, value: str) -> str:
    assert scope in ("batch", "account")
    return f"{HOLDS_PREFIX}{scope}/{key_segment(value)}.json"


def add_hold(store: ObjectStore, scope: str, value: str, *, reason: str, by: str, now: datetime,
             auditor: Auditor | None = None) -> None:
    """Put a batch or an account (``platform:account``) under legal hold."""
    if not reason.strip() or not by.strip():
        raise ConfigError("a legal hold needs a reason and the name of who placed it")
    store.put_state(hold_key(scope, value), canonical_json({"scope": scope, "value": value, "reason": reason,
                                                            "by": by, "since": utc_iso(now)}))
    record(auditor, "legal_hold", f"{scope}:{value}", justification=reason, details={"op": "add", "by": by})


def remove_hold(store: ObjectStore, scope: str, value: str, *, reason: str, by: str,
                auditor: Auditor | None = None) -> None:
    store.delete(hold_key(scope, value))
    record(auditor, "legal_hold", f"{scope}:{value}", justification=reason, details={"op": "remove", "by": by})


@dataclass
class Decision:
    batch_id: str
    action: Literal["keep", "erase", "hold"]
    rule: str | None
    why: str
    keys: list[str]
    subject: str = "unknown"


def media_references(store: ObjectStore) -> dict[str, set[str]]:
    """Captured media SHA-256 -> the post capture records that point at it (one file can be posted
    by several accounts: it is erased only with the last post that references it)."""
    from socialhub.media.store import MEDIA_RECORDS

    refs: dict[str, set[str]] = {}
    for key in store.list(MEDIA_RECORDS):
        raw = store.get_or_none(key)
        for item in (json.loads(raw).get("items") or []) if raw else []:
            if item.get("sha256"):
                refs.setdefault(item["sha256"], set()).add(key)
    return refs


def _media_keys(store: ObjectStore, manifest: dict[str, Any], refs: dict[str, set[str]] | None) -> list[str]:
    """The batch's posts' media capture records, and the media only they reference (bytes, analysis, preview)."""
    from socialhub.media import store as mstore

    records = {mstore.record_key(manifest["platform"], str(pid)) for pid in manifest.get("post_ids") or []}
    keys: list[str] = []
    for rk in sorted(records):
        raw = store.get_or_none(rk)
        if raw is None:
            continue
        keys.append(rk)
        for item in json.loads(raw).get("items") or []:
            sha = item.get("sha256")
            if not sha or (refs is not None and (refs.get(sha, set()) - records)):
                continue            # another post still points at this file: kept with it
            keys += [mstore.object_key(sha), mstore.info_key(sha), mstore.preview_key(sha)]
    return list(dict.fromkeys(keys))


def _content_keys(store: ObjectStore, manifest: dict[str, Any], media_refs: dict[str, set[str]] | None = None
                  ) -> tuple[list[str], str, dict[str, Any] | None]:
    from socialhub.process import result_key

    keys = [manifest["raw"]["key"], manifest["posts"]["key"], *_media_keys(store, manifest, media_refs)]
    raw = store.get_or_none(result_key(manifest["batch_id"]))
    result = json.loads(raw) if raw else None
    if result:
        keys += list(result.get("outputs", {}).values())
        if (result.get("shadow") or {}).get("key"):     # a shadow classifier's results on the same posts
            keys.append(result["shadow"]["key"])
        kind = "held" if result["status"] == "held" else ("flagged" if result.get("flagged") else "not_flagged")
    else:
        kind = "not_flagged"  # never processed: treated as unflagged content (it is still pending)
    return keys, kind, result


def decide(store: ObjectStore, manifest: dict[str, Any], policy: Policy, now: datetime,
           subjects: Mapping[str, str] | None = None, media_refs: dict[str, set[str]] | None = None) -> Decision:
    """What to do with one batch. ``subjects`` (``watchlist_subjects``) gives each account's
    subject category now; without it (or for an account no longer listed) the manifest's is used."""
    bid = manifest["batch_id"]
    subject = subject_of_batch(manifest, subjects)
    keys, kind, result = _content_keys(store, manifest, media_refs)
    keys = [k for k in keys if store.stored(k)]  # any version left, even behind a delete marker
    if not keys:
        return Decision(bid, "keep", None, "already erased", [], subject)
    account = f"{manifest['platform']}:{manifest['account']}"
    for scope, value in (("batch", bid), ("account", account)):
        hold = store.get_or_none(hold_key(scope, value))
        if hold:
            h = json.loads(hold)
            return Decision(bid, "hold", None, f"legal hold on {scope} {value} by {h['by']}: {h['reason']}", keys,
                            subject)
    if result is None and store.exists(layout.queue_key("pending", bid)):
        return Decision(bid, "keep", None, "not processed yet", keys, subject)
    rule = policy.rule_for(kind, subject)
    if rule is None:
        return Decision(bid, "keep", None, f"no rule for {kind} batches", keys, subject)
    whose = f" ({subject} account)" if rule.subject else ""
    age = now - parse_iso(manifest["collected_at"])
    if age <= timedelta(days=rule.days):
        return Decision(bid, "keep", rule.id, f"{kind}{whose}, {age.days} day(s) old, kept {rule.days}", keys,
                        subject)
    return Decision(bid, "erase", rule.id, f"{kind} batch{whose} collected {manifest['collected_at']} is older "
                                           f"than {rule.days} day(s) (rule {rule.id})", keys, subject)


def apply_retention(store: ObjectStore, policy: Policy, now: datetime, *, auditor: Auditor | None = None,
                    dry_run: bool = False, subjects: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Erase expired batch content; one ``deletion`` audit event per object erased (what, hash, rule,
    why), written only after the store checked that no version of it is left; one
    ``erasure_pending`` event per object that a lock still keeps (retried on the next run).

    ``subjects`` maps ``platform:account`` to the account's subject category now
    (``watchlist_subjects(watchlist)``), for rules that name one; see ``decide``."""
    summary: dict[str, Any] = {"batches_seen": 0, "erased_batches": 0, "erased_objects": 0, "held": 0,
                               "pending_objects": 0, "pending": [], "failed": [], "dry_run": dry_run,
                               "erased": []}
    refs = media_references(store)
    for mkey in store.list("batches/"):
        manifest = json.loads(store.get(mkey))
        summary["batches_seen"] += 1
        d = decide(store, manifest, policy, now, subjects, refs)
        if d.action == "hold":
            summary["held"] += 1
            continue
        if d.action != "erase":
            continue
        summary["erased"].append({"batch_id": d.batch_id, "rule": d.rule, "why": d.why, "keys": d.keys,
                                  "subject": d.subject})
        if dry_run:
            continue
        account = f"{manifest['platform']}:{manifest['account']}"
        complete = True
        for key in d.keys:
            current = store.get_or_none(key)  # None once an earlier run hid locked versions behind a marker
            hashes = {"erased": sha256_hex(current)} if current is not None else {}
            try:
                result = store.erase(key)
            except Exception as exc:  # noqa: BLE001 - storage down, permissions: record and go on
                summary["failed"].append(f"{key}: {exc}")
                log.warning("cannot erase %s: %s", key, exc)
                complete = False
                continue
            details = {"rule": d.rule, "batch_id": d.batch_id, "account": account, "subject": d.subject,
                       "versions_deleted": result.versions_deleted}
            marker = _pending_key(key)
            if result.erased:
                summary["erased_objects"] += 1
                record(auditor, "deletion", key, force=manifest.get("force"), justification=d.why,
                       hashes=hashes, details=details)
                if store.exists(marker):
                    store.erase(marker)  # all its versions: a bare delete would leave a marker behind
                continue
            complete = False
            summary["pending_objects"] += 1
            until = result.locked_until
            status = ("erasure pending (legal hold)" if result.legal_hold
                      else f"erasure pending (locked until {until.isoformat()})" if until is not None
                      else "erasure pending")
            if until is not None and until <= now and not result.legal_hold:
                status += "; the lock date has passed but the store still refused"
            summary["pending"].append({"key": key, "batch_id": d.batch_id, "status": status,
                                       "locked_until": until.isoformat() if until else None,
                                       "remaining_versions": result.remaining, "reason": result.reason})
            if until is None and not result.legal_hold:  # refused without a lock: a fault, not a wait
                summary["failed"].append(f"{key}: {result.reason}")
            log.warning("%s: %s (%s)", key, status, result.reason)
            seen = store.get_or_none(marker)
            if seen is not None and json.loads(seen).get("status") == status:
                continue  # already on record; a daily event per locked object would flood the audit log
            record(auditor, "erasure_pending", key, force=manifest.get("force"), justification=d.why,
                   hashes=hashes, details={**details, "status": status, "reason": result.reason,
                                           "locked_until": until.isoformat() if until else None,
                                           "legal_hold": result.legal_hold,
                                           "remaining_versions": result.remaining})
            store.put_state(marker, canonical_json({"status": status, "since": utc_iso(now)}))
        if complete:
            summary["erased_batches"] += 1
        from socialhub.media.store import record_key

        gone = {record_key(manifest["platform"], str(pid)) for pid in manifest.get("post_ids") or []}
        for holders in refs.values():     # a file this batch shared is now the other posts' alone
            holders -= gone
    return summary


BUDGET_RUNS_PREFIX = "state/budget/runs/"
_RUN_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})(?:T(\d{2})[-:](\d{2})[-:](\d{2}))?")


def run_time(name: str) -> datetime | None:
    """When a run was scheduled, from its key name (``layout.report_key``'s name of an Airflow run id:
    ``scheduled__2026-11-25T12-05-00``, ``manual__2026-12-03T09-17-36.472879~959d2367``); None when
    the name holds no date (a run id chosen by hand)."""
    found = _RUN_TIME.search(name)
    if not found:
        return None
    day, hh, mm, ss = found.groups()
    try:
        return datetime.fromisoformat(f"{day}T{hh or '00'}:{mm or '00'}:{ss or '00'}+00:00")
    except ValueError:
        return None


def prune_budget_runs(store: ObjectStore, now: datetime, days: int, *, dry_run: bool = False) -> dict[str, Any]:
    """Delete the rate-budget records of collection runs older than ``days`` days
    (``state/budget/runs/<run>/<platform>.json``, ``layout.budget_deferred_key``).

    Each collect run's plan tasks write one per platform (the accounts deferred by the rate budget,
    with their priority and last poll, and the shards' rate slices) and only that run's ``finish``
    reads them, into the run report (``reports/collect/<run>.json``, which keeps them). Without this
    they would grow by one prefix per run (288 a day) forever. A run's age comes from the date in its
    name (Airflow run ids carry it: one listing, no reads); a name without one falls back to the
    record's ``written`` time, else the run report's ``finished_at``; a run with none of them is left
    and counted as ``undated``. A failed delete is reported and retried next time."""
    cutoff = now - timedelta(days=days)
    runs: dict[str, list[str]] = {}
    for key in store.list(BUDGET_RUNS_PREFIX):
        name = key[len(BUDGET_RUNS_PREFIX):].split("/", 1)[0]
        runs.setdefault(name, []).append(key)
    summary: dict[str, Any] = {"runs_seen": len(runs), "days": days, "deleted_runs": [], "deleted_objects": 0,
                               "undated": [], "failed": []}
    for name, keys in sorted(runs.items()):
        when = run_time(name) or _recorded_time(store, name, keys)
        if when is None:
            summary["undated"].append(name)
            continue
        if when >= cutoff:
            continue
        deleted = 0
        for key in keys:
            if dry_run:
                deleted += 1
                continue
            try:
                store.delete(key)
                deleted += 1
            except SocialhubError as exc:
                summary["failed"].append(f"{key}: {exc}")
        if deleted == len(keys):
            summary["deleted_runs"].append(name)
        summary["deleted_objects"] += deleted
    return summary


def _recorded_time(store: ObjectStore, name: str, keys: list[str]) -> datetime | None:
    """A run's time from its records (``written``) or its run report (``finished_at``), for a run whose
    name holds no date."""
    for key in [*keys, f"reports/collect/{name}.json"]:
        raw = store.get_or_none(key)
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            continue
        value = (doc.get("written") or doc.get("finished_at")) if isinstance(doc, dict) else None
        if value:
            try:
                return parse_iso(str(value))
            except ValueError:
                continue
    return None


def _pending_key(key: str) -> str:
    """State marker: the erasure of ``key`` is pending with the status last recorded in the audit log."""
    return f"state/erasure-pending/{key_segment(key)}.json"


def due_reminders(store: ObjectStore, watchlist: Any, now: datetime, days_before: int) -> list[Any]:
    """Entries whose authorisation lapses within ``days_before`` days and whose owner was not yet
    reminded for this review date."""
    out = []
    for e in watchlist.accounts:
        left = (e.review_by - now.date()).days
        if 0 <= left <= days_before and not store.exists(_reminder_key(e)):
            out.append(e)
    return out


def _reminder_key(entry: Any) -> str:
    return f"state/reminders/{key_segment(entry.key)}-{entry.review_by.isoformat()}.json"


def send_reminders(store: ObjectStore, watchlist: Any, now: datetime, *, days_before: int, sink: Any,
                   routing: Any, auditor: Auditor | None = None) -> list[str]:
    """Remind each owner once per review date, in their team's on-duty channel."""
    sent = []
    for e in due_reminders(store, watchlist, now, days_before):
        route, _, _ = routing.route_for(e.force, e.team)
        left = (e.review_by - now.date()).days
        text = (f"Authorisation {e.authorisation_ref} for {e.platform}:{e.account} ({e.display_name}) must be "
                f"reviewed by {e.review_by} ({left} day(s) left). Owner: {e.owner}. Collection stops after that "
                f"date unless the watchlist entry is renewed.")
        delivery = sink.send_text(route.on_duty, text)
        store.put_state(_reminder_key(e), canonical_json({"sent_at": utc_iso(now), "channel": route.on_duty}))
        record(auditor, "reminder", e.key, force=e.force, justification="authorisation review due",
               details={"owner": e.owner, "review_by": e.review_by.isoformat(), "channel": route.on_duty,
                        "authorisation_ref": e.authorisation_ref,
                        "location": getattr(delivery, "location", None)})
        sent.append(e.key)
    return sent
