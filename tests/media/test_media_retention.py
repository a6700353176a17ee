"""Retention erases captured media with the posts that captured them; a file two posts share is
kept until the last of them goes, and every erasure is a deletion audit event."""

from __future__ import annotations

from datetime import timedelta

from socialhub.audit.chain import AuditLog, Auditor
from socialhub.collect import collect_account
from socialhub.media import store as mstore
from socialhub.process import pending_batches, process_batches
from socialhub.retention import Policy, apply_retention
from socialhub.storage import LocalStore
from tests.media.test_capture import CDN, NOW, WL, MediaPosts, _capture, gateway  # noqa: F401 - fixture

POLICY = Policy.model_validate({"rules": [{"id": "plain", "applies_to": "not_flagged", "days": 30},
                                          {"id": "flagged", "applies_to": "flagged", "days": 365},
                                          {"id": "held", "applies_to": "held", "days": 30}]})


def test_media_goes_with_the_last_post_that_references_it(tmp_path, gateway):  # noqa: F811
    base, _ = gateway
    from socialhub.classify import load_classifier

    st = LocalStore(tmp_path / "store")
    first = WL.accounts[0]
    second = first.model_copy(update={"account": "other@x.social"})
    collect_account(st, first, MediaPosts({"1": [f"{CDN}/ok.jpg", f"{CDN}/frames.gif"]}), NOW, media=_capture(base))
    later = NOW + timedelta(days=20)
    collect_account(st, second, MediaPosts({"1": [f"{CDN}/ok.jpg"]}, offset=100), later, media=_capture(base))
    process_batches(st, pending_batches(st), classifier=load_classifier())
    shared = mstore.load_record(st, "mastodon", "1")["items"]
    ok_sha = next(i["sha256"] for i in shared if i["url"].endswith("ok.jpg"))
    gif_sha = next(i["sha256"] for i in shared if i["url"].endswith("frames.gif"))
    assert mstore.load_record(st, "mastodon", "101")["items"][0]["sha256"] == ok_sha   # the same file, twice
    assert st.exists(mstore.object_key(ok_sha)) and st.exists(mstore.object_key(gif_sha))

    log = AuditLog(st)
    auditor = Auditor(log, {"kind": "task", "dag_id": "socialhub_housekeeping"})
    # day 35: the first batch (30-day rule) goes; the second (20 days younger) stays
    out = apply_retention(st, POLICY, NOW + timedelta(days=35), auditor=auditor)
    assert out["erased_batches"] == 1
    erased = {e["object"] for e in log.events() if e["action"] == "deletion"}
    assert mstore.object_key(gif_sha) in erased and mstore.info_key(gif_sha) in erased
    assert not st.exists(mstore.object_key(gif_sha))
    # ok.jpg is still referenced by the second account's post: kept
    assert st.exists(mstore.object_key(ok_sha))
    # day 60: the second batch goes, and the shared file with it
    apply_retention(st, POLICY, NOW + timedelta(days=60), auditor=auditor)
    assert not st.exists(mstore.object_key(ok_sha)) and not st.list("media/objects/")
