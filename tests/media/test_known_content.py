"""From capture to alert without Airflow: text read in an image flags a harmless post; an officer's
referral puts its image on the hub list; a resized, recompressed, slightly cropped or mirrored
re-upload under a harmless caption is alerted as known_content naming the referral; a real crop is
not caught (PDQ's limit, documented in docs/media.md)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image, ImageDraw, ImageFont

from socialhub.alerting import alert_batches
from socialhub.alerts.routing import Routing
from socialhub.alerts.sinks import OutboxSink
from socialhub.classify import load_classifier
from socialhub.collect import collect_account
from socialhub.media.grow import add_decision_media
from socialhub.media.hashlist import HashLists
from socialhub.media.judge import MediaJudge
from socialhub.media.ocr import tesseract_available
from socialhub.models import from_jsonl
from socialhub.process import pending_batches, process_batches
from socialhub.storage import LocalStore
from tests.media._images import encode, photo
from tests.media.test_capture import CDN, WL, MediaPosts, _capture, _serve

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def _threat_note() -> Image.Image:
    im = photo(11, text=None)
    draw = ImageDraw.Draw(im)
    draw.rectangle((20, 150, 620, 330), fill=(255, 255, 255))
    font = ImageFont.load_default(size=44)
    draw.text((40, 170), "WE KNOW WHERE YOU LIVE.", fill=(0, 0, 0), font=font)
    draw.text((40, 250), "YOU'RE NEXT", fill=(0, 0, 0), font=font)
    return im


def _variant(im: Image.Image, *, scale: float = 1.0, crop: float = 0.0, quality: int = 90,
             mirror: bool = False) -> bytes:
    w, h = im.size
    dx, dy = int(w * crop), int(h * crop)
    out = im.crop((dx, dy, w - dx, h - dy))
    out = out.resize((max(1, int(out.width * scale)), max(1, int(out.height * scale))))
    if mirror:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return encode(out, "JPEG", quality=quality)


@pytest.fixture(scope="module")
def served():
    knife = photo(7)
    routes = {
        "/knife.jpg": (200, encode(knife, "JPEG", quality=92), {"Content-Type": "image/jpeg"}),
        "/note.jpg": (200, encode(_threat_note(), "JPEG", quality=92), {"Content-Type": "image/jpeg"}),
        "/tb-resized.jpg": (200, _variant(knife, scale=0.6, crop=0.01, quality=40), {"Content-Type": "image/jpeg"}),
        "/tb-mirror.jpg": (200, _variant(knife, mirror=True, quality=70), {"Content-Type": "image/jpeg"}),
        "/tb-cropped.jpg": (200, _variant(knife, crop=0.05), {"Content-Type": "image/jpeg"}),
        "/other.jpg": (200, encode(photo(8), "JPEG"), {"Content-Type": "image/jpeg"}),
    }
    server = _serve(routes, {})
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _run(st, conn, at, base, clf):
    collect_account(st, WL.accounts[0], conn, at, media=_capture(base))
    ids = pending_batches(st)
    return process_batches(st, ids, classifier=clf, media_judge=MediaJudge(st, clf, max_distance=31), now=at), ids


def _flagged(st, records):
    rows = {}
    for r in records:
        key = r["outputs"].get("flagged")
        for row in from_jsonl(st.get(key)) if key else []:
            rows[row["post_id"]] = row
    return rows


def test_text_in_media_and_known_content_from_an_officers_referral(tmp_path, served):
    st = LocalStore(tmp_path / "store")
    clf = load_classifier()
    first = MediaPosts({"1": [f"{CDN}/knife.jpg"], "2": [f"{CDN}/note.jpg"], "3": [f"{CDN}/other.jpg"]})
    records, _ = _run(st, first, NOW, served, clf)
    flagged = _flagged(st, records)
    # the posts' texts ("post 1", "post 2", ...) are harmless: only what the images show can flag them
    if tesseract_available():
        row = flagged["2"]
        cls = row["classification"]
        assert "violence_threat" in cls["labels"]
        media_reasons = [r for r in cls["reasons"] if r.get("source") == "text_in_media"]
        assert media_reasons and all(r["media_sha256"] == row["media_captured"][0]["sha256"] for r in media_reasons)
        assert "WHERE YOU LIVE" in cls["text_in_media"][0]["text"].upper()
    assert "1" not in flagged and "3" not in flagged          # nothing listed yet: no known content
    curated = {r["post_id"]: r for rec in records for r in from_jsonl(st.get(rec["outputs"]["curated"]))}
    knife_item = curated["1"]["media_captured"][0]
    assert knife_item["status"] == "captured" and knife_item["mime"] == "image/jpeg"

    # an officer refers post 1: its image goes on the hub list, naming the referral
    added = add_decision_media(st, post=curated["1"], labels=["weapon"], decision="refer",
                               alert_id="a" * 24, referral_id="ref-test0001", now=NOW)
    assert len(added) == 1 and HashLists(st).lists() == {"hub": 1}
    assert add_decision_media(st, post=curated["1"], labels=["weapon"], decision="refer",
                              alert_id="a" * 24, referral_id="ref-test0001", now=NOW) == []   # once

    # later: re-uploads under harmless captions
    later = MediaPosts({"1": [f"{CDN}/knife.jpg"], "2": [f"{CDN}/note.jpg"], "3": [f"{CDN}/other.jpg"],
                        "4": [f"{CDN}/tb-resized.jpg"], "5": [f"{CDN}/tb-mirror.jpg"],
                        "6": [f"{CDN}/tb-cropped.jpg"]})
    at = NOW + timedelta(hours=2)
    records, ids = _run(st, later, at, served, clf)
    flagged = _flagged(st, records)
    for pid, how in (("4", "as posted"), ("5", "mirrored or rotated")):
        cls = flagged[pid]["classification"]
        assert cls["labels"] == ["known_content"], pid
        match = cls["known_content"][0]
        assert match["referral_id"] == "ref-test0001" and match["list"] == "hub" and match["how"] == how
        assert match["distance"] <= 31
        assert cls["scores"]["known_content"] >= cls["thresholds"]["known_content"]
    assert "6" not in flagged          # a 5% crop defeats PDQ (docs/media.md): not caught, and we say so

    # the alert names the entry and the referral, and carries no media URL
    routing = Routing.from_dict({"version": 1, "default": {"on_duty": "#on-duty", "escalation": "#esc"},
                                 "platform_team": "#platform"})
    outbox = tmp_path / "outbox"
    summary = alert_batches(st, ids, sink=OutboxSink(outbox), routing=routing, now=at)
    assert summary["delivered"] >= 2
    texts = {}
    for f in outbox.rglob("*.json"):
        payload = json.loads(f.read_text())
        texts[f.name] = json.dumps(payload["payload"], ensure_ascii=False)   # what Slack would be sent
    known = [t for t in texts.values() if "known content" in t]
    assert known and all("ref-test0001" in t and "PDQ distance" in t for t in known)
    assert not any(f"{CDN}/" in t for t in texts.values())     # never a media URL in a message
    assert all("captured as evidence" in t for t in known)


def test_media_captured_late_is_judged_and_alerted_once(tmp_path, served_late):
    """The image fails when the batch is collected (503), the batch is processed and alerted on its
    text (nothing), the next run captures the image: the follow-up flags and alerts the post once."""
    from socialhub.media.followup import pending_followups, process_followups

    base, routing = served_late
    st = LocalStore(tmp_path / "store")
    clf = load_classifier()
    conn = MediaPosts({"1": [f"{CDN}/late-knife.jpg"]})
    records, ids = _run(st, conn, NOW, base, clf)
    assert records[0]["flagged"] == 0 and not pending_followups(st)
    HashLists(st).add(_entry_for(photo(9)), "hub")               # the picture is on a list already
    alert_batches(st, ids, sink=OutboxSink(tmp_path / "outbox"), routing=routing, now=NOW)
    at = NOW + timedelta(hours=1)
    collect_account(st, WL.accounts[0], conn, at, media=_capture(base))   # the retry captures it
    late = pending_followups(st)
    assert len(late) == 1
    judge = MediaJudge(st, clf, max_distance=31)
    recs = process_followups(st, late, judge=judge, now=at)
    assert recs[0]["flagged"] == 1 and recs[0]["flagged_by_category"] == {"known_content": 1}
    assert not pending_followups(st)
    assert process_followups(st, late, judge=judge, now=at) == recs   # a rerun: the stored record, not judged again
    first = alert_batches(st, late, sink=OutboxSink(tmp_path / "outbox"), routing=routing, now=at)
    again = alert_batches(st, late, sink=OutboxSink(tmp_path / "outbox"), routing=routing, now=at)
    assert first["delivered"] == 1 and again["delivered"] == 0 and again["already_alerted"] == 1


def _entry_for(im):
    from socialhub.media.hashlist import HashEntry
    from socialhub.media.pdq import pdq_hash

    return HashEntry(signal_type="pdq", hash=pdq_hash(im)[0], label="weapon", source="import:test.csv",
                     added_at="2026-11-01T00:00:00Z")


@pytest.fixture(scope="module")
def served_late():
    routes = {"/late-knife.jpg": (200, encode(photo(9), "JPEG", quality=90),
                                  {"Content-Type": "image/jpeg", "x-fail-first": "1"})}
    server = _serve(routes, {})
    yield (f"http://127.0.0.1:{server.server_address[1]}",
           Routing.from_dict({"version": 1, "default": {"on_duty": "#on-duty", "escalation": "#esc"},
                              "platform_team": "#platform"}))
    server.shutdown()


def test_explain_names_the_hash_list_entry_and_the_image_text_not_an_empty_quote():
    from socialhub.explain.report import _evidence, _evidence_line

    match = {"category": "known_content", "rule": "media.pdq_match", "term": "weapon", "start": 0, "end": 0,
             "text": "", "weight": 16.0, "effect": "match", "source": "media", "list": "hub",
             "entry_id": "da3ca8a2f3ce0899a06fa8d9", "distance": 16, "referral_id": "ref-db0cb27a2c09ae8b",
             "post_key": "x:1", "media_sha256": "d8" * 32, "how": "as posted"}
    line = _evidence_line(_evidence(match))
    assert "matches list hub entry da3ca8a2f3ce0899a06fa8d9" in line and "ref-db0cb27a2c09ae8b" in line
    assert "PDQ distance 16 of 256" in line and "“”" not in line
    ocr = {"category": "violence_threat", "rule": "vt.grammar.threat", "term": "x", "start": 0, "end": 11,
           "text": "YOU'RE NEXT", "weight": 1.0, "effect": "match", "source": "text_in_media",
           "media_sha256": "ab" * 32}
    assert "“YOU'RE NEXT” read in image abababababab" in _evidence_line(_evidence(ocr))
