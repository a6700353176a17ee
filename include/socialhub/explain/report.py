"""The explain report: everything the hub did with one post, and a one-line verdict on top.

``explain(store, target, index=...)`` returns a plain JSON-able dict (``--json`` prints it as is);
``render_text`` and ``render_html`` show the same content for an officer or auditor. Sections,
in order: watchlist (the entry and authorisation when the post was collected), collection,
quality, classification, alert, review, referral, retention.

The verdict of a post that was never alerted says why, e.g. ``not alerted: violence_threat scored
0.31, 0.14 below its threshold 0.45``; quarantined (with the reasons); held by the quality gate;
not processed yet; or, for a post that is not in the store: account not due (last polled at T,
next due at T+interval), authorisation lapsed (on DATE, so not collected), never collected (the
account is not on the watchlist, or cannot be read from the target).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from socialhub.alerts.model import alert_id_for
from socialhub.audit.chain import event_id
from socialhub.explain.index import ExplainIndex, PostRow, store_location
from socialhub.explain.urls import Target, posted_at
from socialhub.models import parse_iso, utc_iso
from socialhub.storage.base import ObjectStore
from socialhub.subjects import describe as subject_words
from socialhub.watchlist import WatchlistEntry, identity

SECTIONS: tuple[tuple[str, str], ...] = (
    ("watchlist", "1. Watchlist entry and authorisation (when collected)"),
    ("collection", "2. Collection"),
    ("quality", "3. Quality"),
    ("classification", "4. Classification"),
    ("alert", "5. Alert"),
    ("review", "6. Review"),
    ("referral", "7. Referral"),
    ("retention", "8. Retention"),
)
NOT_RECORDED = "not recorded"


# --- the current watchlist ----------------------------------------------------------------------

def current_watchlist(store: ObjectStore, path: str | None = None) -> tuple[list[WatchlistEntry], str]:
    """The watchlist to judge "never collected" by, and where it came from, in words: ``path`` if
    given, else the snapshot the last collection run recorded in the store
    (``state/watchlist/snapshot.json``), else the configured watchlist file."""
    from pathlib import Path

    from socialhub.watchlist import load_watchlist

    if path:
        return list(load_watchlist(path).accounts), f"the watchlist file {path}"
    from socialhub.watchlist_changes import SNAPSHOT_KEY

    raw = store.get_or_none(SNAPSHOT_KEY)
    if raw:
        entries = [WatchlistEntry.model_validate(e) for e in (json.loads(raw).get("entries") or {}).values()]
        return entries, "the watchlist snapshot the last collection run recorded in the store"
    from socialhub.config import Settings

    default = Path(Settings.from_env().watchlist)
    if default.exists():
        return list(load_watchlist(default).accounts), f"the configured watchlist file {default}"
    return [], "no watchlist (none given, no snapshot in the store, no watchlist file)"


def _identity(platform: str, account: str) -> str:
    return identity(cast(WatchlistEntry, SimpleNamespace(platform=platform, account=account)))


def _entry_for(entries: list[WatchlistEntry], platform: str, account: str) -> WatchlistEntry | None:
    want = _identity(platform, account)
    return next((e for e in entries if e.platform == platform and identity(e) == want), None)


# --- reading the store ----------------------------------------------------------------------------

def _json(store: ObjectStore, key: str | None) -> dict[str, Any] | None:
    raw = store.get_or_none(key) if key else None
    return json.loads(raw) if raw else None


def _row_in(store: ObjectStore, key: str | None, post_id: str) -> dict[str, Any] | None:
    """The JSONL row of ``post_id`` in a stored object (a batch's posts, curated or quarantine rows)."""
    if not key:
        return None
    try:
        fh = store.open_read(key)
    except KeyError:
        return None
    needle = json.dumps(post_id, ensure_ascii=False).encode("utf-8")
    with fh:
        for line in fh:
            if needle in line:
                row = json.loads(line)
                if str(row.get("post_id")) == post_id:
                    return cast(dict[str, Any], row)
    return None


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def _date(value: str | None) -> date | None:
    try:
        return parse_iso(value).date() if value else None
    except ValueError:
        return None


# --- sections --------------------------------------------------------------------------------------

def _watchlist_section(index: ExplainIndex, manifest: dict[str, Any], entries: list[WatchlistEntry],
                       source: str) -> dict[str, Any]:
    platform, account = str(manifest.get("platform")), str(manifest.get("account"))
    key = f"{platform}:{account}"
    collected = str(manifest.get("collected_at") or "")
    changes = [e for e in index.audit_events(key, ["watchlist_change"]) if str(e.get("time") or "") <= collected]
    current = _entry_for(entries, platform, account)
    out: dict[str, Any] = {"account": key}
    for field in ("display_name", "force", "team", "authorisation_ref", "purpose"):
        out[field] = manifest.get(field)
    # who the account holder is to the police, as recorded at collection (older manifests: not recorded)
    out["subject"] = subject_words(manifest.get("subject"))
    out["source"] = "the batch manifest (recorded at collection)"
    review_by = None
    if changes:
        last = changes[-1]
        d = last.get("details") or {}
        review_by = d.get("review_by")
        out["review_by"] = review_by
        out["last_change_before_collection"] = {
            "time": last.get("time"), "change": d.get("change"), "changed_by": d.get("changed_by"),
            "reason": last.get("justification"), "authorisation_ref": d.get("authorisation_ref"),
            "audit_event": event_id(last)}
        out["source"] += "; review-by date from the watchlist change history (audit log)"
    else:
        out["last_change_before_collection"] = None
        if current is not None:
            review_by = current.review_by.isoformat()
            out["review_by"] = review_by
            out["source"] += (f"; review-by date from {source}: only the current watchlist is known, no change "
                              "before this collection is recorded")
        else:
            out["review_by"] = NOT_RECORDED
    day = _date(collected)
    rb = date.fromisoformat(review_by) if isinstance(review_by, str) and review_by[:4].isdigit() else None
    out["authorised_when_collected"] = (day <= rb) if day and rb else NOT_RECORDED
    if current is not None:
        out["now"] = {"on_watchlist": True, "owner": current.owner, "priority": current.priority,
                      "subject": subject_words(current.subject),
                      "authorisation_ref": current.authorisation_ref, "review_by": current.review_by.isoformat(),
                      "source": source}
    else:
        out["now"] = {"on_watchlist": False, "source": source}
    return out


def _collection_section(index: ExplainIndex, row: PostRow, manifest: dict[str, Any], manifest_key: str,
                        post: dict[str, Any] | None, copies: list[str]) -> dict[str, Any]:
    events = index.audit_events(f"batch:{row.batch_id}", ["collect"])
    actor = (events[0].get("actor") or {}) if events else {}
    run = actor.get("run_id")
    platform = manifest.get("platform")
    out = {
        "run_id": run or NOT_RECORDED,
        "run": (f"{actor.get('dag_id')}.{actor.get('task_id')}" if actor.get("dag_id") else NOT_RECORDED),
        "batch_id": row.batch_id,
        "batch_manifest": manifest_key,
        "connector": manifest.get("connector") or f"{platform} (socialhub.sources.{platform}; the manifest "
                                                   "names the platform, not the connector version)",
        "raw_item_sha256": (post or {}).get("raw_sha256") or NOT_RECORDED,
        "raw_object": (manifest.get("raw") or {}).get("key") or NOT_RECORDED,
        "raw_object_sha256": (manifest.get("raw") or {}).get("sha256") or NOT_RECORDED,
        "posts_object_sha256": (manifest.get("posts") or {}).get("sha256") or NOT_RECORDED,
        "posted_at": (post or {}).get("created_at") or NOT_RECORDED,
        "captured_at": (post or {}).get("collected_at") or manifest.get("collected_at") or NOT_RECORDED,
        "cursor_before": manifest["cursor_before"] if manifest.get("cursor_before") is not None
        else ("none (the account's first collection)" if "cursor_before" in manifest else NOT_RECORDED),
        "cursor_after": manifest["cursor_after"] if manifest.get("cursor_after") is not None else NOT_RECORDED,
        "pages": manifest.get("pages", NOT_RECORDED),
        "posts_in_batch": manifest.get("count", NOT_RECORDED),
        "connector_notes": manifest.get("notes") or [],
    }
    if len(copies) > 1:
        out["also_in_batches"] = copies[1:]
    if post is None:
        out["note"] = "the normalised post is no longer stored (erased under the retention policy?)"
    return out


def _classification_section(result: dict[str, Any] | None, curated: dict[str, Any] | None) -> dict[str, Any] | None:
    if curated is None:
        return None

    c = curated.get("classification") or {}
    scores = {k: float(v) for k, v in (c.get("scores") or {}).items()}
    thresholds = {k: float(v) for k, v in (c.get("thresholds") or {}).items()}
    out: dict[str, Any] = {
        "classifier_version": c.get("classifier_version") or (result or {}).get("classifier_version"),
        "classifier_id": c.get("classifier_id") or (result or {}).get("classifier_id") or NOT_RECORDED,
        "lexicon_version": c.get("lexicon_version") or NOT_RECORDED,
        "model_version": c.get("model_version") or NOT_RECORDED,
        "labels": list(c.get("labels") or []),
        "scores": {cat: {"score": round(s, 4), "threshold": thresholds.get(cat),
                         "margin": round(s - thresholds[cat], 4) if cat in thresholds else None,
                         "label": cat in (c.get("labels") or [])}
                   for cat, s in scores.items()},
        "evidence": [_evidence(r) for r in (c.get("reasons") or [])],
    }
    media = curated.get("media_captured") or []
    if media:   # the stored copies of the post's media (docs/media.md), never the platform's URL to fetch
        out["media"] = [{k: m.get(k) for k in ("status", "sha256", "mime", "size", "width", "height", "reason")
                         if m.get(k) is not None} for m in media]
    for t in c.get("text_in_media") or []:
        out.setdefault("text_in_media", []).append({"image sha256": t.get("media_sha256"),
                                                    "text": str(t.get("text") or "")[:300],
                                                    "labels": t.get("labels") or []})
    if c.get("error"):
        out["error"] = c["error"]
    return out


def _evidence(r: dict[str, Any]) -> dict[str, Any]:
    from socialhub.review.model import evidence_words

    if r.get("rule") == "media.pdq_match":   # an image matching a hash list: which entry, how close
        origin = (f"referral {r['referral_id']}" if r.get("referral_id") else f"post {r.get('post_key') or '?'}")
        return {"category": r.get("category"), "rule": r.get("rule"), "source": "media",
                "what": (f"image {str(r.get('media_sha256'))[:12]} matches list {r.get('list')} entry "
                         f"{r.get('entry_id')} ({r.get('term') or 'no label'}, from {origin}): PDQ distance "
                         f"{r.get('distance')} of 256, {r.get('how') or 'as posted'}")}
    out = {"category": r.get("category"), "what": evidence_words(r), "text": r.get("text"),
           "start": r.get("start"), "end": r.get("end"), "rule": r.get("rule")}
    if r.get("source") == "text_in_media":   # quoting the OCR text of an image, not the post
        out.update(source="text_in_media", media_sha256=r.get("media_sha256"))
    return out


def _alert_section(store: ObjectStore, alert_id: str) -> dict[str, Any] | None:
    from socialhub.alerts.ledger import AlertLedger, _intent_key

    entry = AlertLedger(store).delivered(alert_id)
    if entry is None:
        intent = _json(store, _intent_key(alert_id))
        if intent:
            return {"alert_id": alert_id, "status": "delivery intended but not confirmed",
                    "channel": intent.get("channel"), "intended_at": intent.get("at")}
        return None
    d = entry.get("delivery") or {}
    key = str(d.get("key") or "")
    return {"alert_id": alert_id, "status": "delivered", "channel": d.get("channel"),
            "sent_at": d.get("sent_at") or NOT_RECORDED, "recorded_at": entry.get("recorded_at"),
            "sink": d.get("sink"), "location": d.get("location"), "message_id": d.get("message_id"),
            "fallback": d.get("fallback_reason") or "none",
            "delivery": "digest" if key.startswith("digest-") else "single",
            "attempts": d.get("attempts", NOT_RECORDED)}


def _review_section(store: ObjectStore, index: ExplainIndex, alert_id: str) -> dict[str, Any] | None:
    from socialhub.review.store import claim_key, get_decision, get_state

    decision = get_decision(store, alert_id)
    state = get_state(store, alert_id)
    claim = _json(store, claim_key(alert_id))
    if decision is None and claim is None and len(state) <= 1 \
            and not index.audit_events(f"alert:{alert_id}", ["review_response"]):
        return None
    out: dict[str, Any] = {}
    if claim:
        out["review_task"] = {k: claim.get(k) for k in ("dag_id", "run_id", "task_id", "map_index")}
    request = state.get("request") or {}
    if request:
        out["requested_at"], out["due_at"] = request.get("requested_at"), request.get("due_at")
    if decision:
        by = decision.get("responded_by") or {}
        out.update({"decision": decision.get("option"),
                    "decided_by": "no response (automatic escalation)" if decision.get("timed_out") or not by
                    else (by.get("name") or by.get("id")),
                    "decided_at": decision.get("responded_at"), "timed_out": bool(decision.get("timed_out")),
                    "justification": decision.get("justification")})
    else:
        responses = index.audit_events(f"alert:{alert_id}", ["review_response"])
        if responses:   # the decision as the audit log recorded it (the review task acts on it there)
            ev = responses[-1]
            d, actor = ev.get("details") or {}, ev.get("actor") or {}
            out.update({"decision": d.get("outcome"),
                        "decided_by": "no response (automatic escalation)" if d.get("timed_out")
                        else actor.get("name") or actor.get("id"),
                        "decided_at": d.get("responded_at") or ev.get("time"), "timed_out": bool(d.get("timed_out")),
                        "justification": ev.get("justification"), "recorded_in": f"audit event {ev.get('seq')}"})
        else:
            out["decision"] = "none yet (waiting for an officer)"
    escalations = []
    for ev in index.audit_events(f"alert:{alert_id}", ["referral"]):
        d = ev.get("details") or {}
        if d.get("kind") == "escalation":
            escalations.append({"time": ev.get("time"), "channel": d.get("channel"),
                                "timed_out": d.get("timed_out"), "by": (ev.get("actor") or {}).get("name")})
    if not escalations and state.get("escalated"):
        where = state["escalated"]
        escalations.append({"time": where.get("sent_at"), "channel": where.get("channel")})
    out["escalations"] = escalations
    return out


def _referral_section(store: ObjectStore, alert_id: str) -> dict[str, Any] | None:
    from socialhub.review.bundle import existing_bundle

    bundle = existing_bundle(store, alert_id)
    if bundle is None:
        return None
    m = bundle.manifest
    return {"location": bundle.uri, "manifest": bundle.manifest_key, "created_at": m.get("created_at"),
            "decision": (m.get("decision") or {}).get("option"),
            "by": ((m.get("decision") or {}).get("responded_by") or {}).get("name"),
            "files": [f"{f.get('name')} sha256 {f.get('sha256')}" for f in m.get("files", [])],
            "evidence_verified": (m.get("source_evidence") or {}).get("verified", False)}


def _retention_section(store: ObjectStore, manifest: dict[str, Any], result: dict[str, Any] | None,
                       now: datetime, policy: Any, entries: list[WatchlistEntry] | None = None) -> dict[str, Any]:
    from socialhub.retention import hold_key, load_policy

    policy = policy or load_policy()
    kind = ("held" if result and result.get("status") == "held" else
            "flagged" if result and result.get("flagged") else "not_flagged")
    from socialhub.retention import subject_of_batch

    subject = subject_of_batch(manifest, {f"{e.platform}:{e.account}": e.subject for e in entries or []})
    rule = policy.rule_for(kind, subject)
    out: dict[str, Any] = {"batch_kind": kind, "subject": subject}
    holds = []
    for scope, value in (("batch", manifest.get("batch_id")), ("account",
                                                                f"{manifest.get('platform')}:{manifest.get('account')}")):
        h = _json(store, hold_key(scope, str(value)))
        if h:
            holds.append({"scope": scope, "value": value, "by": h.get("by"), "since": h.get("since"),
                          "reason": h.get("reason")})
    out["legal_holds"] = holds
    posts_key = (manifest.get("posts") or {}).get("key")
    erased = bool(posts_key) and not store.exists(str(posts_key))
    if rule is None:
        out["rule"], out["erase_after"] = NOT_RECORDED, f"never (no rule for {kind} batches)"
    else:
        due = parse_iso(str(manifest["collected_at"])) + timedelta(days=rule.days)
        whose = f" of {subject} accounts" if rule.subject else ""
        out["rule"] = f"{rule.id}: {kind} batches{whose} kept {rule.days} day(s)"
        out["erase_after"] = utc_iso(due)
    if result is None and not erased:
        out["note"] = "the batch is not processed yet: retention waits for it"
    if erased:
        out["status"] = "content erased (the manifest and result record stay)"
    elif holds:
        out["status"] = "kept: under legal hold (no rule erases it while the hold stands)"
    elif rule is not None:
        out["status"] = "kept until the date above" if parse_iso(out["erase_after"]) > now else \
            "due for erasure at the next housekeeping run"
    else:
        out["status"] = "kept"
    return out


# --- the verdict ----------------------------------------------------------------------------------

def _below_threshold(classification: dict[str, Any]) -> str:
    scores = classification.get("scores") or {}
    judged = [(cat, v["score"], v["threshold"]) for cat, v in scores.items() if v.get("threshold") is not None]
    if not judged:
        return "not alerted: no category has a threshold recorded with its score"
    # nearest relative to its threshold: thresholds differ (weapon 0.12, gang 0.55), so the smallest
    # gap would nearly always name the lowest threshold, not the score that came nearest to a label
    cat, score, threshold = max(judged, key=lambda t: (t[1] / t[2] if t[2] > 0 else 0.0, t[0]))
    share = score / threshold if threshold > 0 else 0.0
    return (f"not alerted: {cat} scored {_fmt(score)}, {_fmt(threshold - score)} below its threshold "
            f"{_fmt(threshold)} ({share:.0%} of it: the nearest of {len(judged)} categories)")


def _verdict(report: dict[str, Any]) -> tuple[str, str]:
    alert, quality = report.get("alert"), report.get("quality") or {}
    classification = report.get("classification")
    if alert and alert.get("status") == "delivered":
        labels = ", ".join(f"{c} {_fmt(classification['scores'][c]['score'])} (threshold "
                           f"{_fmt(classification['scores'][c]['threshold'])})"
                           for c in classification["labels"]
                           if (classification["scores"].get(c) or {}).get("threshold") is not None) \
            if classification else ""
        return "alerted", (f"alerted: {labels or 'flagged'}; alert {alert['alert_id']} to {alert['channel']} "
                           f"({alert['delivery']}, {alert['sink']}) at {alert['sent_at']}")
    if quality.get("status") == "quarantined":
        return "quarantined", f"not alerted: quarantined ({', '.join(quality.get('reasons') or ['no reason recorded'])})"
    if quality.get("status") == "held":
        return "held", f"not alerted: the batch was held by the quality gate ({quality.get('gate')})"
    if quality.get("status") == "not processed":
        return "not_processed", f"not alerted yet: batch {report['collection']['batch_id']} is not processed yet"
    if classification is None:
        return "erased", "not alerted as far as the store shows: the post's classification is no longer stored"
    if classification.get("labels"):
        pending = alert.get("status") if alert else "waiting for the alert stage"
        return "flagged_not_alerted", (f"flagged ({', '.join(classification['labels'])}) but not alerted yet: "
                                       f"{pending}")
    return "below_threshold", _below_threshold(classification)


# --- a post that is not in the store ---------------------------------------------------------------

def _register_cover(store: ObjectStore, entry: WatchlistEntry, now: datetime) -> str:
    """Why the authorisation register does not cover ``entry`` on ``now`` (empty if it does, or there is none)."""
    from socialhub.config import Settings
    from socialhub.errors import SocialhubError
    from socialhub.governance.authorisations import load_register

    try:
        register = load_register(store, Settings.from_env().authorisations)
    except SocialhubError as exc:
        return f"the authorisation register cannot be read ({exc})"
    if register is None:
        return ""
    cover = register.cover(entry.authorisation_ref, entry.key, now.date())
    return "" if cover.ok else cover.reason


def _not_collected(store: ObjectStore, index: ExplainIndex, target: Target, entries: list[WatchlistEntry],
                   source: str, now: datetime) -> tuple[str, str, dict[str, Any]]:
    from socialhub.collect import load_cursor_state

    facts: dict[str, Any] = {"watchlist_source": source}
    platform, account = target.platform, target.account
    if target.kind == "alert":
        return "unknown_alert", (f"unknown alert: {target.alert_id} is not in this store's alert ledger, and no "
                                 "stored post has that alert id"), facts
    what = target.post_key or target.url or target.raw
    if platform is None:
        hosts = [e.account for e in entries if e.platform == "rss" and target.url_norm
                 and target.url_norm.split("/", 1)[0] in e.account.lower()]
        facts["rss_feeds_on_this_host"] = hosts
        more = (f"; watched feed(s) on this host: {', '.join(hosts)} (not polled since it appeared, or the feed "
                "did not list it)") if hosts else "; no watched feed is on this host"
        return "never_collected", (f"never collected: {what} is in no stored batch, and an RSS item link (or an "
                                   f"unknown site) does not say which feed it belongs to{more}"), facts
    if not account:
        how = ("this URL, so the watchlist cannot be checked" if target.kind == "url" else
               "a post id: give the post URL to check the watchlist")
        watched = sorted(e.key for e in entries if e.platform == platform)
        facts[f"watched_{platform}_accounts"] = watched
        return "never_collected", (f"never collected: {what} is in no stored batch, and the {platform} account "
                                   f"cannot be read from {how} ({len(watched)} {platform} account(s) watched)"), facts
    facts["account"] = f"{platform}:{account}"
    entry = _entry_for(entries, platform, account)
    if entry is None:
        return "not_on_watchlist", (f"never collected: {platform}:{account} is not on the watchlist "
                                    f"(checked {source})"), facts
    facts.update({"watchlist_entry": entry.key, "authorisation_ref": entry.authorisation_ref,
                  "review_by": entry.review_by.isoformat(), "priority": entry.priority, "force": entry.force})
    if not entry.is_authorised(now.date()):
        return "authorisation_lapsed", (f"never collected: authorisation {entry.authorisation_ref} of {entry.key} "
                                        f"lapsed on {entry.review_by.isoformat()}, so not collected (owner "
                                        f"{entry.owner} must renew it)"), facts
    cover = _register_cover(store, entry, now)
    if cover:
        return "authorisation_lapsed", f"never collected: {cover}, so {entry.key} is not collected", facts
    state = load_cursor_state(store, entry.platform, entry.account)
    last = state.get("last_polled")
    if not last:
        return "never_polled", (f"not collected yet: {entry.key} is on the watchlist but has not been polled "
                                "yet"), facts
    last_dt = parse_iso(last)
    due = last_dt + entry.interval
    facts.update({"last_polled": utc_iso(last_dt), "next_due": utc_iso(due),
                  "interval_minutes": int(entry.interval.total_seconds() // 60)})
    when = posted_at(target)
    if when is not None:
        facts["posted_at_from_id"] = utc_iso(when)
    if when is not None and when <= last_dt:
        return "missed", (f"not collected: posted at {utc_iso(when)}, before the last poll of {entry.key} at "
                          f"{utc_iso(last_dt)}, but in no stored batch: the platform did not return it (deleted, "
                          "private, or older than the first-run look-back)"), facts
    every = f"(priority {entry.priority}, every {_minutes(entry.interval)})"
    if due <= now:
        return "due", (f"not collected yet: {entry.key} last polled at {utc_iso(last_dt)}, due again since "
                       f"{utc_iso(due)} {every}: waiting for the next collection run"), facts
    return "not_due", (f"not collected yet: account not due: {entry.key} last polled at {utc_iso(last_dt)}, next "
                       f"due at {utc_iso(due)} {every}"), facts


def _minutes(interval: timedelta) -> str:
    m = int(interval.total_seconds() // 60)
    return f"{m // 60} h" if m >= 60 and m % 60 == 0 else f"{m} min"


# --- the report -----------------------------------------------------------------------------------

def explain(store: ObjectStore, target: Target, *, index: ExplainIndex, entries: list[WatchlistEntry] | None = None,
            watchlist_source: str = "", now: datetime | None = None, policy: Any = None) -> dict[str, Any]:
    """Everything the hub did with the target's post (see the module doc). ``index`` is updated first."""
    now = now or datetime.now(UTC)
    if entries is None:
        entries, watchlist_source = current_watchlist(store)
    index.update()
    report: dict[str, Any] = {"target": target.raw, "target_kind": target.kind, "store": store_location(store),
                              "generated_at": utc_iso(now), "verdict": "", "outcome": "", "post": None,
                              "force": None}
    rows = index.find(target)
    if not rows:
        outcome, verdict, facts = _not_collected(store, index, target, entries, watchlist_source, now)
        report.update(outcome=outcome, verdict=verdict, force=facts.get("force"), not_collected=facts)
        report["post"] = {k: v for k, v in (("platform", target.platform), ("post_id", target.post_id),
                                            ("account", target.account), ("url", target.url)) if v}
        for key, _ in SECTIONS:
            report[key] = None
        if target.kind == "alert" and target.alert_id:
            report["alert"] = _alert_section(store, target.alert_id)
        return report
    row = rows[0]
    batch = index.batch(row.batch_id) or {}
    manifest_key = str(batch.get("manifest_key") or "")
    manifest = _json(store, manifest_key) or {}
    post = _row_in(store, (manifest.get("posts") or {}).get("key"), row.post_id)
    from socialhub.process import result_key

    result = _json(store, result_key(row.batch_id))
    outputs = (result or {}).get("outputs") or {}
    quarantined = _row_in(store, outputs.get("quarantine"), row.post_id)
    curated = _row_in(store, outputs.get("curated"), row.post_id) if quarantined is None else None
    alert_id = alert_id_for(row.platform, row.post_id)
    report["force"] = manifest.get("force")
    src = post or curated or quarantined or {}
    report["post"] = {"platform": row.platform, "post_id": row.post_id, "alert_id": alert_id,
                      "account": manifest.get("account"), "author": src.get("author"), "url": src.get("url"),
                      "posted_at": src.get("created_at"), "text": src.get("text")}
    report["watchlist"] = _watchlist_section(index, manifest, entries, watchlist_source)
    report["collection"] = _collection_section(index, row, manifest, manifest_key, post, [r.batch_id for r in rows])
    if result is None:
        quality: dict[str, Any] = {"status": "not processed",
                                   "note": "the batch is queued; the processing stage has not run on it"}
    else:
        q = result.get("quality") or {}
        quality = {"suite": f"{q.get('suite')} {q.get('version')}", "batch_rows": result.get("posts"),
                   "batch_quarantined": result.get("quarantined"), "processed_at": result.get("processed_at")}
        if quarantined is not None:
            from socialhub.quality.rules import RULES
            from socialhub.quality.suite import REASONS_KEY

            why = {rule.label: rule.why for rule in RULES}
            reasons = list(quarantined.get(REASONS_KEY) or [])
            quality.update(status="quarantined", reasons=reasons,
                           why_the_rules_exist=[f"{r}: {why.get(r, 'a rule of an older suite version')}" for r in reasons])
        elif result.get("status") == "held":
            quality.update(status="held", gate=result.get("error"))
        else:
            quality["status"] = "passed"
    report["quality"] = quality
    report["classification"] = _classification_section(result, curated)
    report["alert"] = _alert_section(store, alert_id)
    report["review"] = _review_section(store, index, alert_id) if report["alert"] else None
    report["referral"] = _referral_section(store, alert_id) if report["alert"] else None
    if not report["alert"]:
        report["post"].pop("alert_id")   # no alert: an id would read as one that was sent
    report["retention"] = _retention_section(store, manifest, result, now, policy, entries)
    report["outcome"], report["verdict"] = _verdict(report)
    return report


# --- rendering ------------------------------------------------------------------------------------

def _clean(value: Any, limit: int = 400) -> str:
    from socialhub.review.model import one_line

    return one_line(value, limit)


def _lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            label = str(k).replace("_", " ")
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{label}:")
                out.extend(_lines(v, indent + 1))
            else:
                out.append(f"{pad}{label}: {_scalar(v)}")
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                inner = _lines(item, indent + 1)
                out.append(f"{pad}- " + inner[0].lstrip() if inner else f"{pad}-")
                out.extend(inner[1:])
            else:
                out.append(f"{pad}- {_scalar(item)}")
        return out
    return [f"{pad}{_scalar(value)}"]


def _scalar(v: Any) -> str:
    if v is None:
        return NOT_RECORDED
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, dict)):
        return "none" if not v else _clean(json.dumps(v, ensure_ascii=False, sort_keys=True))
    if isinstance(v, (int, float)):
        return str(v)
    return _clean(v) if str(v).strip() else "(empty)"


def _score_lines(classification: dict[str, Any]) -> list[str]:
    out = []
    for cat, v in (classification.get("scores") or {}).items():
        t = v.get("threshold")
        if t is None:
            out.append(f"    {cat}: {_fmt(v['score'])} (no threshold recorded)")
            continue
        rel = "LABEL" if v.get("label") else "below"
        out.append(f"    {cat}: {_fmt(v['score'])} vs threshold {_fmt(t)} ({'+' if v['margin'] >= 0 else ''}"
                   f"{_fmt(v['margin'])}, {rel})")
    return out


def _evidence_line(r: dict[str, Any]) -> str:
    if r.get("source") == "media":
        return f"{_clean(r.get('category'), 40)}: {_clean(r.get('what'), 300)}"
    if r.get("source") == "text_in_media":
        return (f"{_clean(r.get('category'), 40)}: \u201c{_clean(r.get('text'), 200)}\u201d read in image "
                f"{_clean(str(r.get('media_sha256'))[:12], 12)} ({_clean(r.get('what'), 120)}; rule "
                f"{_clean(r.get('rule'), 60)})")
    span = f"[{r.get('start')}-{r.get('end')}]" if r.get("start") is not None else ""
    return (f"{_clean(r.get('category'), 40)}: \u201c{_clean(r.get('text'), 200)}\u201d {span} "
            f"({_clean(r.get('what'), 120)}; rule {_clean(r.get('rule'), 60)})")


def _empty_section(key: str, report: dict[str, Any]) -> str:
    outcome = report.get("outcome")
    if key == "alert":
        return "no alert was sent"
    if key in ("review", "referral"):
        return "none (no alert)" if not report.get("alert") else ("none" if key == "referral" else "none yet")
    if key == "classification":
        return {"quarantined": "not classified: quarantined posts are not classified",
                "held": "not classified: the batch was held by the quality gate",
                "not_processed": "not classified yet"}.get(str(outcome), "not available")
    return "not collected" if not report.get("collection") else "not available"


def render_text(report: dict[str, Any]) -> str:
    """The report as plain text for a terminal (untrusted text cleaned of control characters)."""
    lines = [f"socialhub explain {_clean(report['target'])}", "",
             f"VERDICT: {_clean(report['verdict'], 600)}", ""]
    post = report.get("post") or {}
    if post:
        lines.append("Post: " + "; ".join(f"{k.replace('_', ' ')} {_clean(v, 200)}" for k, v in post.items()
                                          if v and k != "text"))
        if post.get("text"):
            lines.append(f"Text: {_clean(post['text'], 300)}")
    lines.append(f"Store: {_clean(report['store'])} (report generated {report['generated_at']})")
    if report.get("not_collected"):
        lines.append("")
        lines.append("Why it is not in the store:")
        lines.extend(_lines(report["not_collected"], 1))
    for key, title in SECTIONS:
        lines += ["", title, *_section_lines(key, report)]
    return "\n".join(lines) + "\n"


def _section_lines(key: str, report: dict[str, Any]) -> list[str]:
    """One section's lines, indented by two spaces (the terminal and the auditors' page show the same)."""
    value = report.get(key)
    if not value:
        return [f"  {_empty_section(key, report)}"]
    if key != "classification":
        return _lines(value, 1)
    rest = {k: v for k, v in value.items() if k != "scores"}
    lines = _lines({k: rest[k] for k in list(rest)[:5]}, 1)
    lines.append("  scores (score vs threshold, margin):")
    lines.extend(_score_lines(value))
    lines.append("  evidence (what raised a score: the post's words, text read in its images, hash-list matches):"
                 if value.get("evidence")
                 else "  evidence: none")
    lines.extend(f"    - {_evidence_line(r)}" for r in value.get("evidence") or [])
    lines.extend(_lines({k: rest[k] for k in list(rest)[5:] if k != "evidence"}, 1))
    return lines


def render_html(report: dict[str, Any]) -> str:
    """The report as an HTML fragment: every value escaped, no links (a post URL is shown as text)."""
    e = html.escape
    parts = [f"<p class='verdict'><b>Verdict:</b> {e(_clean(report['verdict'], 600))}</p>"]
    post = report.get("post") or {}
    if post:
        parts.append("<table class='post'>" + "".join(
            f"<tr><th>{e(k.replace('_', ' '))}</th><td>{e(_clean(v, 500))}</td></tr>" for k, v in post.items() if v)
            + "</table>")
    if report.get("not_collected"):
        parts.append("<h2>Why it is not in the store</h2><pre>" + e("\n".join(_lines(report["not_collected"], 0)))
                     + "</pre>")
    for key, title in SECTIONS:
        body = "\n".join(line[2:] if line.startswith("  ") else line for line in _section_lines(key, report))
        parts.append(f"<h2>{e(title)}</h2><pre>{e(body)}</pre>")
    return "\n".join(parts)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n"


__all__ = ["SECTIONS", "current_watchlist", "explain", "render_html", "render_text", "to_json"]
