"""The media routes of the plugin's app: blurred previews for reviewers, and the full image only on a
deliberate, audited click (issue 16: spare the reviewers).

The app runs in-process with its seams (a signed-in user resolver, a local store); the stored media is
written as capture writes it (``media/objects``, ``media/info``, ``media/previews``), the JPEGs made
with Pillow.
"""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFilter

from socialhub.audit.chain import AuditLog
from socialhub.media import store as mstore
from socialhub.models import canonical_json, sha256_hex
from socialhub.storage import LocalStore

SVG = (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'>"
       b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>")


def _jpeg(size: tuple[int, int] = (320, 240), quality: int = 90) -> bytes:
    im = Image.new("RGB", size, (200, 30, 30))
    for x in range(0, size[0], 20):
        im.paste((20, 20, 220), (x, 0, x + 10, size[1]))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _preview(data: bytes) -> bytes:
    im = Image.open(io.BytesIO(data)).convert("RGB")
    im.thumbnail((96, 96))
    buf = io.BytesIO()
    im.filter(ImageFilter.GaussianBlur(6)).save(buf, "JPEG", quality=60)
    return buf.getvalue()


def put_media(store: LocalStore, data: bytes, *, mime: str, kind: str, preview: bool, **info: Any) -> str:
    """Store ``data`` as capture does: bytes, info and (for a decodable image) the blurred preview."""
    sha = sha256_hex(data)
    store.put(mstore.object_key(sha), data, content_type="application/octet-stream")
    record = {"sha256": sha, "size": len(data), "mime": mime, "kind": kind, "notes": [], **info}
    if preview:
        store.put(mstore.preview_key(sha), _preview(data), content_type="image/jpeg")
        record["preview"] = True
    store.put(mstore.info_key(sha), canonical_json(record), content_type="application/json")
    return sha


class User:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_name(self) -> str:
        return self.name


@pytest.fixture()
def world(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    monkeypatch.setenv("SOCIALHUB_AUDITOR_USERS", "alice")
    monkeypatch.setenv("SOCIALHUB_REVIEWER_USERS", "olivia, rita:demo-county")
    monkeypatch.delenv("SOCIALHUB_REQUIRE_WHY", raising=False)
    monkeypatch.delenv("SOCIALHUB_AUDIT_KEYS", raising=False)
    monkeypatch.delenv("SOCIALHUB_AUDIT_ANCHOR", raising=False)
    store = LocalStore(tmp_path / "store")
    jpeg = _jpeg()
    w = SimpleNamespace(store=store, jpeg=jpeg, who="olivia")
    w.jpg = put_media(store, jpeg, mime="image/jpeg", kind="image", preview=True, width=320, height=240)
    w.svg = put_media(store, SVG, mime="image/svg+xml", kind="svg", preview=False, reason="svg",
                      error="SVG is stored as evidence but never rendered (it can carry scripts)")
    return w


def client_for(w: SimpleNamespace, store: Any = None) -> TestClient:
    from socialhub_airflow.auditors import create_app

    async def signed_in(request: Any) -> User:
        return User(w.who)

    app = create_app(store_factory=lambda: store or w.store, watchlist_factory=lambda: None,
                     runs_factory=lambda s, e: (None, "not asked"), user_resolver=signed_in)
    return TestClient(app, follow_redirects=False)


def events(store: LocalStore) -> list[dict[str, Any]]:
    return list(AuditLog(store, keys=None, anchor=None).events())


def test_a_reviewer_sees_the_blurred_preview_from_the_store(world):
    r = client_for(world).get(f"/media/{world.jpg}/preview.jpg")
    assert r.status_code == 200, r.text
    assert r.content == world.store.get(mstore.preview_key(world.jpg)) and r.content != world.jpeg
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "private, max-age=300"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert Image.open(io.BytesIO(r.content)).size[0] <= 96          # small
    assert events(world.store) == []                                   # a blurred preview is not a reveal


def test_an_auditor_may_use_the_media_routes_too(world):
    world.who = "alice"
    assert client_for(world).get(f"/media/{world.jpg}/preview.jpg").status_code == 200


def test_no_preview_says_why(world):
    r = client_for(world).get(f"/media/{world.svg}/preview.jpg")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/plain")
    assert "SVG is never rendered" in r.text and "<svg" not in r.text
    r = client_for(world).get(f"/media/{'ab' * 32}/preview.jpg")
    assert r.status_code == 404 and "not in the store" in r.text


def test_an_unknown_user_is_refused_and_the_refusal_recorded(world):
    world.who = "mallory"
    c = client_for(world)
    for path in (f"/media/{world.jpg}/preview.jpg", f"/media/{world.jpg}/full?confirm=1&why=curious"):
        r = c.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 403 and world.jpeg not in r.content
        assert "SOCIALHUB_REVIEWER_USERS" in r.text
    evs = events(world.store)
    assert len(evs) == 2 and all(e["action"] == "access" and e["details"]["granted"] is False for e in evs)
    assert evs[0]["actor"]["name"] == "mallory" and "media" in evs[0]["object"]
    assert not [e for e in evs if e["action"] == "media_reveal"]


def test_bad_media_id_is_400(world):
    c = client_for(world)
    for bad in ("ABCD" * 16, "ab" * 31, "zz" * 32, "..%2F..%2Fetc%2Fpasswd"):
        assert c.get(f"/media/{bad}/preview.jpg").status_code in (400, 404)
        assert c.get(f"/media/{bad}/full").status_code in (400, 404)
    assert c.get(f"/media/{'AB' * 32}/preview.jpg").status_code == 400
    assert c.get(f"/media/{'a' * 63}/full?confirm=1").status_code == 400
    assert events(world.store) == []


def test_full_image_needs_a_confirmation_then_is_recorded_before_it_is_served(world):
    c = client_for(world)
    r = c.get(f"/media/{world.jpg}/full")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert world.jpeg not in r.content and events(world.store) == []          # nothing shown, nothing recorded
    page = r.text
    for said in ("image/jpeg", "320 × 240", "distressing", "recorded in the audit log", "name='confirm' value='1'",
                 "name='why'", "Show the full image"):
        assert said in page, said

    r = c.get(f"/media/{world.jpg}/full", params={"confirm": "1", "why": "case 24/1234: deciding alert"})
    assert r.status_code == 200
    assert r.content == world.jpeg                                             # the exact stored bytes
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; img-src 'self'; sandbox"
    assert r.headers["content-disposition"] == f'inline; filename="{world.jpg}.jpg"'
    (ev,) = events(world.store)
    assert ev["action"] == "media_reveal" and ev["object"] == f"media:{world.jpg}"
    assert ev["actor"]["name"] == "olivia" and ev["justification"] == "case 24/1234: deciding alert"
    d = ev["details"]
    assert (d["sha256"], d["mime"], d["size"], d["served"]) == (world.jpg, "image/jpeg", len(world.jpeg), "inline")
    assert d["why_given"] is True and d["via"]


def test_a_reveal_is_a_consultation_the_auditors_report_lists(world):
    from socialhub.audit.consult import is_consultation, without_reason

    client_for(world).get(f"/media/{world.jpg}/full?confirm=1")
    (ev,) = events(world.store)
    assert is_consultation(ev) and without_reason(ev)                       # no reason given: flagged


def test_a_reason_is_required_when_the_hub_requires_one(world, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_REQUIRE_WHY", "true")
    r = client_for(world).get(f"/media/{world.jpg}/full?confirm=1")
    assert r.status_code == 400 and world.jpeg not in r.content and "reason" in r.text.lower()
    assert events(world.store) == []


def test_svg_is_never_served_inline_only_as_an_audited_download(world):
    c = client_for(world)
    page = c.get(f"/media/{world.svg}/full").text
    assert "never shown in the browser" in page and "Download the file" in page and "<script>alert" not in page
    r = c.get(f"/media/{world.svg}/full?confirm=1&why=evidence%20copy")
    assert r.status_code == 200 and r.content == SVG
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff" and "sandbox" in r.headers["content-security-policy"]
    (ev,) = events(world.store)
    assert ev["action"] == "media_reveal" and ev["details"]["served"].startswith("download")
    assert ev["details"]["mime"] == "image/svg+xml"


def test_the_type_served_is_the_sniffed_one_never_the_platforms(world):
    """A PNG the platform called image/svg+xml (or anything) is served as what its bytes are."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, "PNG")
    sha = put_media(world.store, buf.getvalue(), mime="image/png", kind="image", preview=True, width=8, height=8,
                    declared_type="image/svg+xml")
    r = client_for(world).get(f"/media/{sha}/full?confirm=1")
    assert r.headers["content-type"] == "image/png" and r.content == buf.getvalue()


def test_no_reveal_without_an_audit_record(world):
    class ReadOnly(LocalStore):
        def put(self, *a: Any, **kw: Any) -> Any:
            raise PermissionError("read-only")

    r = client_for(world, ReadOnly(world.store.root)).get(f"/media/{world.jpg}/full?confirm=1&why=x")
    assert r.status_code == 503 and world.jpeg not in r.content and "could not be recorded" in r.text
    assert events(world.store) == []


def test_altered_stored_bytes_are_not_served(world):
    path = world.store.root / mstore.object_key(world.jpg)
    path.chmod(0o644)
    path.write_bytes(world.jpeg + b"x")
    r = client_for(world).get(f"/media/{world.jpg}/full?confirm=1&why=x")
    assert r.status_code == 500 and world.jpeg not in r.content
    assert events(world.store) == []


def test_media_of_an_alert_checks_the_alert_and_its_force(world, monkeypatch):
    """The review page's links name the alert: the media must be the alert's and its force granted;
    a reviewer limited to forces must come through such a link."""
    import socialhub.review.store as review_store

    alerts = {"a" * 24: SimpleNamespace(force="demo-county", post={"media_captured": [{"sha256": world.jpg}]}),
              "b" * 24: SimpleNamespace(force="demo-metropolitan", post={"media_captured": [{"sha256": world.jpg}]})}

    def load(store: Any, alert_id: str) -> Any:
        if alert_id not in alerts:
            raise review_store.ReviewError(f"alert {alert_id} is not in the alert ledger (never delivered)")
        return SimpleNamespace(alert=alerts[alert_id])

    monkeypatch.setattr(review_store, "load_alert_context", load)
    world.who = "rita"                                            # a reviewer for demo-county only
    c = client_for(world)
    assert c.get(f"/media/{world.jpg}/preview.jpg").status_code == 403          # no alert named
    assert c.get(f"/media/{world.jpg}/preview.jpg?alert={'a' * 24}").status_code == 200
    assert c.get(f"/media/{world.jpg}/preview.jpg?alert={'b' * 24}").status_code == 403   # not her force
    assert c.get(f"/media/{world.svg}/preview.jpg?alert={'a' * 24}").status_code == 404   # not that alert's
    assert c.get(f"/media/{world.jpg}/preview.jpg?alert={'c' * 24}").status_code == 404   # no such alert
    assert c.get(f"/media/{world.jpg}/preview.jpg?alert=nope").status_code == 400
    r = c.get(f"/media/{world.jpg}/full?confirm=1&why=deciding&alert={'a' * 24}")
    assert r.status_code == 200 and r.content == world.jpeg
    reveal = [e for e in events(world.store) if e["action"] == "media_reveal"]
    assert len(reveal) == 1 and reveal[0]["force"] == "demo-county" and reveal[0]["details"]["alert"] == "a" * 24
    refused = [e for e in events(world.store) if e["action"] == "access"]
    assert len(refused) == 2 and all(e["details"]["granted"] is False for e in refused)


def test_reviewer_list_syntax_and_auditors_are_reviewers(monkeypatch):
    from socialhub_airflow.auditors import configured_auditors, configured_reviewers

    monkeypatch.setenv("SOCIALHUB_AUDITOR_USERS", "alice, carol:a")
    monkeypatch.setenv("SOCIALHUB_REVIEWER_USERS", " olivia , carol:b, rita:c|d ")
    g = configured_reviewers()
    assert set(g) == {"alice", "carol", "olivia", "rita"}
    assert g["olivia"].forces is None and g["rita"].forces == frozenset({"c", "d"})
    assert g["carol"].forces == frozenset({"a", "b"})
    assert set(configured_auditors()) == {"alice", "carol"}                 # reviewers are not auditors


def test_a_reviewer_is_not_an_auditor(world):
    r = client_for(world).get("/", headers={"Accept": "text/html"})
    assert r.status_code == 403 and "not an auditor" in r.text
    assert json.loads(json.dumps(events(world.store)[-1]))["details"]["granted"] is False
