"""The referral package: what an officer's "Refer to platform" produces, in object storage.

``referrals/<alert_id>/`` holds, each object write-once:

    raw_item.json (or .txt)   the platform's item exactly as collected; its SHA-256 is the post's raw_sha256
    post.json                 the normalised post as collected (from posts/…)
    classification.json       the classifier's scores, labels, reasons (evidence spans) and version
    review.json               the decision: option, justification, officer, when, the review task
    report.html               a short human-readable report for a platform's trusted-flagger channel
    manifest.json             written last: every file with its SHA-256 and size, the permalink, capture
                              time, hashes, and where the source evidence lives (the package's commit record)

Before anything is written, the raw item is re-hashed and compared with the hash recorded at
collection, and the batch files with the hashes in the batch manifest: a package is only ever
built from evidence that is provably unchanged. Building again is idempotent (the same bytes,
or the existing manifest when the package is complete).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from socialhub.errors import ImmutableObjectError
from socialhub.models import canonical_json, from_jsonl, raw_sha256, sha256_hex, utc_iso
from socialhub.review.model import Decision
from socialhub.review.report import render_report
from socialhub.review.store import AlertContext, ReviewError, referral_prefix
from socialhub.storage.base import ObjectStore

BUNDLE_VERSION = 1


def _pretty(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


@dataclass(frozen=True)
class ReferralBundle:
    prefix: str
    uri: str                   # where it is (s3://… or file://…)
    manifest_key: str
    manifest: dict[str, Any]

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("files", []))


def _verified_source(store: ObjectStore, ctx: AlertContext, kind: str) -> tuple[str, bytes]:
    ref = ctx.manifest.get(kind) or {}
    key = ref.get("key")
    if not key:
        raise ReviewError(f"alert {ctx.alert.alert_id}: the batch manifest names no {kind} file")
    data = store.get_or_none(key)
    if data is None:
        raise ReviewError(f"alert {ctx.alert.alert_id}: the {kind} evidence {key} is missing",
                          hint="it may have been erased under the retention policy; check the audit log")
    if ref.get("sha256") and sha256_hex(data) != ref["sha256"]:
        raise ReviewError(f"alert {ctx.alert.alert_id}: {key} does not match the hash in its batch manifest "
                          f"({ref['sha256'][:12]}…): the evidence was altered; no referral is built")
    return key, data


def _raw_item(store: ObjectStore, ctx: AlertContext) -> tuple[Any, str, str]:
    """The raw item, its recorded hash, and the raw batch file key (hash-verified)."""
    key, data = _verified_source(store, ctx, "raw")
    expected = ctx.row.get("raw_sha256") or ""
    for line in from_jsonl(data):
        if line.get("raw_sha256") == expected:
            item = line.get("item")
            if raw_sha256(item) != expected:
                raise ReviewError(f"alert {ctx.alert.alert_id}: the raw item no longer hashes to {expected[:12]}…")
            return item, expected, key
    raise ReviewError(f"alert {ctx.alert.alert_id}: no raw item with hash {expected[:12]}… in {key}")


def _post(store: ObjectStore, ctx: AlertContext) -> tuple[dict[str, Any], str]:
    key, data = _verified_source(store, ctx, "posts")
    post_id = str(ctx.row.get("post_id"))
    for row in from_jsonl(data):
        if str(row.get("post_id")) == post_id:
            return row, key
    raise ReviewError(f"alert {ctx.alert.alert_id}: post {post_id} is not in {key}")


def existing_bundle(store: ObjectStore, alert_id: str) -> ReferralBundle | None:
    prefix = referral_prefix(alert_id)
    raw = store.get_or_none(prefix + "manifest.json")
    if raw is None:
        return None
    return ReferralBundle(prefix, store.uri(prefix), prefix + "manifest.json", json.loads(raw))


def build_referral(store: ObjectStore, ctx: AlertContext, decision: Decision, *, now: datetime,
                   organisation: str = "") -> ReferralBundle:
    """Write the referral package for ``decision`` (which must be "Refer to platform")."""
    if decision.code != "refer":
        raise ValueError(f"a referral package is only built for {decision.option!r} decisions")
    alert_id = ctx.alert.alert_id
    done = existing_bundle(store, alert_id)
    if done is not None:
        return done
    prefix = referral_prefix(alert_id)
    item, raw_hash, raw_key = _raw_item(store, ctx)
    post, posts_key = _post(store, ctx)

    files: list[dict[str, Any]] = []

    def put(name: str, data: bytes, content_type: str) -> dict[str, Any]:
        obj = store.put(prefix + name, data, content_type=content_type)
        entry = {"name": name, "key": obj.key, "sha256": obj.sha256, "size": obj.size,
                 "content_type": content_type}
        files.append(entry)
        return entry

    # The raw item's bytes are exactly what its recorded hash covers (canonical JSON, or the
    # string's UTF-8), so anyone can check raw_item.* against raw_sha256 with sha256sum.
    if isinstance(item, str):
        raw_entry = put("raw_item.txt", item.encode("utf-8"), "text/plain; charset=utf-8")
    else:
        raw_entry = put("raw_item.json", canonical_json(item), "application/json")
    if raw_entry["sha256"] != raw_hash:   # cannot happen unless the hashing rules changed
        raise ReviewError(f"alert {alert_id}: raw item file hash {raw_entry['sha256']} != recorded {raw_hash}")
    put("post.json", _pretty(post), "application/json")
    c = ctx.alert.classification
    put("classification.json", _pretty({"labels": c.get("labels"), "scores": c.get("scores"),
                                        "reasons": c.get("reasons"),
                                        "classifier_version": c.get("classifier_version"),
                                        "severity": ctx.alert.severity}), "application/json")
    review = {"alert_id": alert_id, "decision": decision.option, "justification": decision.justification,
              "responded_by": decision.responded_by, "responded_at": decision.responded_at,
              "timed_out": decision.timed_out, "review_task": decision.review_task,
              "alerted": {k: ctx.delivery.get(k) for k in ("sink", "channel", "sent_at")},
              "alerted_recorded_at": ctx.ledger.get("recorded_at")}
    put("review.json", _pretty(review), "application/json")
    # the captured media, as stored (issue 16): the platform's copies die when the post is removed
    from socialhub.media.store import load_info, object_key

    for item in ctx.row.get("media_captured") or []:
        sha = str(item.get("sha256") or "") if isinstance(item, dict) else ""
        data = store.get_or_none(object_key(sha)) if sha else None
        if data is None:
            continue
        mime = str((load_info(store, sha) or {}).get("mime") or "application/octet-stream")
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
               "video/mp4": "mp4", "video/webm": "webm"}.get(mime, "bin")
        entry = put(f"media/{sha}.{ext}", data, mime if ext != "bin" else "application/octet-stream")
        if entry["sha256"] != sha:   # the stored copy no longer has the hash it was stored under
            raise ReviewError(f"alert {alert_id}: media {sha} in the store has hash {entry['sha256']}")
        entry["source_url"] = item.get("url")

    facts = {
        "alert_id": alert_id, "platform": post.get("platform"), "account": post.get("account"),
        "account_display_name": ctx.row.get("display_name") or "", "author": post.get("author"),
        "post_id": post.get("post_id"), "permalink": post.get("url"), "posted_at": post.get("created_at"),
        "captured_at": post.get("collected_at"), "text": post.get("text"), "media": post.get("media") or [],
        "raw_sha256": raw_hash, "authorisation_ref": ctx.row.get("authorisation_ref"),
        "force": ctx.alert.force, "team": ctx.alert.team, "organisation": organisation,
    }
    html = render_report(facts, classification=c, decision=decision, files=list(files))
    put("report.html", html.encode("utf-8"), "text/html; charset=utf-8")

    manifest = {
        "bundle_version": BUNDLE_VERSION, "kind": "socialhub referral package", **{
            k: facts[k] for k in ("alert_id", "platform", "account", "post_id", "permalink", "posted_at",
                                  "captured_at", "raw_sha256", "authorisation_ref", "force", "team")},
        "post_key": ctx.alert.post_key,
        "decision": {"option": decision.option, "justification": decision.justification,
                     "responded_by": decision.responded_by, "responded_at": decision.responded_at},
        "files": files,
        "source_evidence": {
            "batch_id": ctx.ledger.get("batch_id"), "batch_manifest": ctx.manifest_key,
            "raw": {"key": raw_key, "sha256": ctx.manifest.get("raw", {}).get("sha256")},
            "posts": {"key": posts_key, "sha256": ctx.manifest.get("posts", {}).get("sha256")},
            "verified": True,
        },
        "created_at": utc_iso(now),
    }
    key = prefix + "manifest.json"
    try:
        store.put(key, _pretty(manifest), content_type="application/json")
    except ImmutableObjectError:   # another attempt finished first: its package stands
        pass
    found = existing_bundle(store, alert_id)
    assert found is not None
    return found


def describe_bundle(store: ObjectStore, alert_id: str) -> list[tuple[str, int]]:
    """(key, size) of every object under the package's prefix, for listings and the demo."""
    prefix = referral_prefix(alert_id)
    return [(k, len(store.get(k))) for k in store.list(prefix)]
