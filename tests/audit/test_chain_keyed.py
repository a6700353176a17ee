"""A keyed, anchored audit log names what an attacker who can write the store did.

The attacker here can read and write everything in the store (delete events, write new ones,
rewrite ``audit/head.json``, re-hash the chain with the public code), but has neither the key
(``SOCIALHUB_AUDIT_KEYS``) nor write access to the anchor beyond adding to it. Each tamper case
must be detected by name; and without a key the re-hashed rewrite is *not* detected, which is
said plainly.
"""

from __future__ import annotations

import json
import os
import stat
from types import SimpleNamespace

import pytest

from socialhub.audit.anchor import AnchorPolicy, FileAnchor, StoreAnchor, open_anchor
from socialhub.audit.chain import HEAD, PREFIX, AuditLog, event_hash, event_key, verify_chain
from socialhub.audit.keys import AuditKeys, keys_from_connection
from socialhub.cli import main
from socialhub.errors import ConfigError, ImmutableObjectError
from socialhub.storage import LocalStore

ACTOR = {"kind": "task", "dag_id": "d", "task_id": "t", "run_id": "r"}
SECRET_A = "a1" * 32
SECRET_B = "b2" * 32
KEYS_A = f"k2026a:{SECRET_A}"
KEYS_BA = f"k2026b:{SECRET_B},k2026a:{SECRET_A}"


def keys(text: str = KEYS_A) -> AuditKeys:
    parsed = AuditKeys.parse(text)
    assert parsed is not None
    return parsed


@pytest.fixture()
def store(tmp_path):
    return LocalStore(tmp_path / "store")


@pytest.fixture()
def anchor(tmp_path):
    return FileAnchor(tmp_path / "anchor" / "audit-anchors.jsonl")


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch):
    for var in ("SOCIALHUB_AUDIT_KEYS", "SOCIALHUB_AUDIT_ANCHOR", "SOCIALHUB_AUDIT_ANCHOR_EVERY"):
        monkeypatch.delenv(var, raising=False)


def fill(store, n=6, k=None, anchor=None, every=1):
    log = AuditLog(store, keys=k, anchor=anchor, anchor_policy=AnchorPolicy(every_events=every))
    for i in range(n):
        log.append("collect", actor=ACTOR, obj=f"mastodon:acct{i}", force="met", hashes={"raw": f"{i:064x}"})
    return log


# --- the attacker: full write access to the store, the public code, no key


def stored(store):
    return [json.loads(store.get(key)) for key in store.list(PREFIX)]


def overwrite(store, events):
    """Replace the whole audit folder with ``events``, re-hashed into one valid chain, and rewrite head.json.
    MAC fields are carried over as they were: without the key they cannot be recomputed."""
    for key in store.list(PREFIX):
        path = store.root / key
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        path.unlink()
    prev = "0" * 64
    for seq, event in enumerate(events):
        event = {**event, "seq": seq, "prev": prev}
        event["hash"] = event_hash(event)
        (store.root / event_key(seq)).write_text(json.dumps(event))
        prev = event["hash"]
    head = store.root / HEAD
    if head.exists():
        os.chmod(head, stat.S_IRUSR | stat.S_IWUSR)
    head.write_text(json.dumps({"seq": len(events) - 1, "hash": prev}))


def cli(store, anchor, capsys, monkeypatch, key_text: str | None = KEYS_A) -> tuple[int, str]:
    if key_text:
        monkeypatch.setenv("AUDIT_KEYS_FOR_TEST", key_text)
    args = ["audit", "verify", "--store", str(store.root), "--key-env", "AUDIT_KEYS_FOR_TEST"]
    if anchor is not None:
        args += ["--anchor", str(anchor.path)]
    code = main(args)
    return code, capsys.readouterr().out


# --- the tamper cases


def test_an_intact_keyed_anchored_chain_verifies_without_warnings(store, anchor, capsys, monkeypatch):
    fill(store, k=keys(), anchor=anchor)
    result = verify_chain(store, keys=keys(), anchor=anchor)
    assert result.ok and result.events == 6 and result.keyed == 6 and result.findings == []
    assert result.anchored_seq == 5
    code, out = cli(store, anchor, capsys, monkeypatch)
    assert code == 0 and "audit chain OK: 6 event(s)" in out and "warning" not in out
    assert SECRET_A not in out


def test_cutting_off_the_newest_events_and_rewriting_head_is_truncated(store, anchor, capsys, monkeypatch):
    fill(store, k=keys(), anchor=anchor)
    overwrite(store, stored(store)[:4])                  # events 4 and 5 gone, head.json says 3
    result = verify_chain(store, keys=keys(), anchor=anchor)
    assert not result.ok and result.kinds[0] == "truncated" and result.first_bad == 4
    assert "events 4..5 were removed" in result.problem
    code, out = cli(store, anchor, capsys, monkeypatch)
    assert code == 1 and "truncated" in out


def test_without_an_anchor_the_cut_is_not_detected_and_that_is_said(store, anchor):
    fill(store, k=keys())
    overwrite(store, stored(store)[:4])
    result = verify_chain(store, keys=keys(), anchor=None)
    assert result.ok and result.kinds == ["unanchored"]


def test_an_inserted_event_with_the_chain_rehashed_is_inserted(store, anchor, capsys, monkeypatch):
    fill(store, k=keys(), anchor=anchor)
    events = stored(store)
    forged = {**events[1], "object": "mastodon:planted"}   # MAC fields copied: the best the attacker can do
    overwrite(store, events[:2] + [forged] + events[2:])
    result = verify_chain(store, keys=keys(), anchor=anchor)
    assert not result.ok and result.kinds[0] == "inserted" and result.first_bad == 2
    assert "rewritten" not in result.kinds and "removed" not in result.kinds
    assert "event 3 was written as event 2" in result.problem
    code, out = cli(store, anchor, capsys, monkeypatch)
    assert code == 1 and "inserted" in out


def test_an_inserted_event_without_mac_fields_is_inserted_too(store, anchor):
    fill(store, k=keys(), anchor=anchor)
    events = stored(store)
    forged = {k: v for k, v in events[1].items() if k not in ("key_id", "mac", "body_mac")}
    overwrite(store, events[:3] + [{**forged, "object": "mastodon:planted"}] + events[3:])
    result = verify_chain(store, keys=keys(), anchor=anchor)
    assert not result.ok and result.kinds[0] == "inserted" and result.first_bad == 3
    assert "mac_missing" not in result.kinds and "rewritten" not in result.kinds


def test_a_rewritten_event_with_the_chain_rehashed_is_rewritten(store, anchor, capsys, monkeypatch):
    fill(store, k=keys(), anchor=anchor)
    events = stored(store)
    events[2] = {**events[2], "justification": "forged"}
    overwrite(store, events)
    result = verify_chain(store, keys=keys(), anchor=anchor)
    assert not result.ok and result.kinds[0] == "rewritten" and result.first_bad == 2
    assert "inserted" not in result.kinds and "rehashed" in result.kinds   # events 3..5 keep content, relinked
    code, out = cli(store, anchor, capsys, monkeypatch)
    assert code == 1 and "rewritten" in out and "event 2" in out


def test_a_removed_middle_event_with_the_chain_renumbered_is_removed(store, anchor):
    fill(store, k=keys(), anchor=anchor)
    events = stored(store)
    overwrite(store, events[:2] + events[3:])
    result = verify_chain(store, keys=keys(), anchor=anchor)
    assert not result.ok and result.kinds[0] == "removed" and result.first_bad == 2
    assert "truncated" in result.kinds    # the anchor remembers event 5


def test_without_a_key_the_rehashed_rewrite_is_not_detected_and_the_log_says_so(store, capsys, monkeypatch):
    """The honest limit: a plain hash chain only proves the store is self-consistent."""
    fill(store)
    events = stored(store)
    events[2] = {**events[2], "justification": "forged"}
    overwrite(store, events)
    result = verify_chain(store, keys=None, anchor=None)
    assert result.ok and result.kinds == ["unkeyed", "unanchored"]
    code, out = cli(store, None, capsys, monkeypatch, key_text=None)
    assert code == 0 and "audit chain OK" in out and "unkeyed" in out and "cannot detect" in out


def test_without_a_key_an_anchor_still_catches_a_rewrite_before_it(store, anchor):
    fill(store, anchor=anchor)
    events = stored(store)
    events[2] = {**events[2], "justification": "forged"}
    overwrite(store, events)
    result = verify_chain(store, keys=None, anchor=anchor)
    assert not result.ok and result.kinds[0] == "rewritten" and "unkeyed" in result.kinds


def test_an_existing_unkeyed_store_still_verifies_with_keys_given(store, anchor):
    fill(store)
    result = verify_chain(store, keys=keys(), anchor=None)
    assert result.ok and "unkeyed" in result.kinds and result.keyed == 0


def test_keyed_events_then_unkeyed_ones_are_a_finding(store):
    fill(store, 3, k=keys())
    fill(store, 2)                                        # a writer without the key
    result = verify_chain(store, keys=keys(), anchor=None)
    assert not result.ok and result.kinds[0] == "mac_missing" and result.first_bad == 3
    assert not verify_chain(store, keys=None, anchor=None).ok   # visible even without the key


def test_unkeyed_events_before_keyed_ones_are_legacy_and_said(store):
    fill(store, 2)
    fill(store, 3, k=keys())
    result = verify_chain(store, keys=keys(), anchor=None)
    assert result.ok and result.keyed == 3
    assert any(f.kind == "unkeyed" and "0..1" in f.message for f in result.findings)


def test_a_forged_anchor_record_is_a_finding(store, anchor):
    fill(store, k=keys(), anchor=anchor)
    anchor.write({"seq": 2, "hash": "f" * 64, "time": "2026-12-04T00:00:00Z", "key_id": "k2026a", "mac": "0" * 64})
    result = verify_chain(store, keys=keys(), anchor=anchor)
    assert not result.ok and result.kinds == ["bad_anchor"]


# --- key rotation


def test_rotation_old_events_verify_with_the_old_key_listed_as_verify_only(store):
    fill(store, 3, k=keys(KEYS_A))
    fill(store, 3, k=keys(KEYS_BA))                       # k2026b signs now; k2026a still verifies
    events = stored(store)
    assert [e["key_id"] for e in events] == ["k2026a"] * 3 + ["k2026b"] * 3
    result = verify_chain(store, keys=keys(KEYS_BA), anchor=None)
    assert result.ok and result.keyed == 6 and result.kinds == ["unanchored"]


def test_rotation_without_the_old_key_those_events_are_unverifiable_and_named(store, capsys, monkeypatch):
    fill(store, 3, k=keys(KEYS_A))
    fill(store, 3, k=keys(KEYS_BA))
    result = verify_chain(store, keys=keys(f"k2026b:{SECRET_B}"), anchor=None)
    assert not result.ok and result.kinds[0] == "unknown_key" and result.first_bad == 0
    assert "events 0..2" in result.problem and "'k2026a'" in result.problem and "cannot be verified" in result.problem
    assert result.headline().startswith("audit chain NOT VERIFIED at event 0")
    code, out = cli(store, None, capsys, monkeypatch, key_text=f"k2026b:{SECRET_B}")
    assert code == 1 and "unknown_key" in out and SECRET_B not in out


def test_an_event_signed_with_an_unknown_key_id_is_a_finding(store):
    fill(store, 3, k=keys())
    events = stored(store)
    events.append({**events[-1], "object": "mastodon:planted", "key_id": "k-attacker", "mac": "0" * 64})
    overwrite(store, events)
    result = verify_chain(store, keys=keys(), anchor=None)
    assert not result.ok and result.kinds[0] == "unknown_key" and result.first_bad == 3


# --- keys, anchors and their configuration


def test_keys_parse_hex_and_base64_and_never_show_a_secret():
    import base64

    k = AuditKeys.parse(f"new:{base64.b64encode(b'x' * 32).decode()}, old:{SECRET_A}")
    assert k is not None and k.signing_id == "new" and k.ids == ["new", "old"]
    assert SECRET_A not in repr(k) and "x" * 8 not in repr(k)
    assert AuditKeys.parse("") is None
    for bad in ("nocolon", "k:short", "k:!!notbase64!!", f"a:{SECRET_A},a:{SECRET_B}", f"bad id:{SECRET_A}"):
        with pytest.raises(ConfigError) as info:
            AuditKeys.parse(bad)
        assert SECRET_A not in str(info.value) and SECRET_B not in str(info.value)


def test_keys_from_an_airflow_connection():
    conn = SimpleNamespace(login="k2026b", password=SECRET_B, extra=json.dumps({"old_keys": {"k2026a": SECRET_A}}))
    k = keys_from_connection(conn)
    assert k is not None and k.signing_id == "k2026b" and k.ids == ["k2026b", "k2026a"]
    conn = SimpleNamespace(login=None, password=SECRET_B, extra=json.dumps({"key_id": "kx", "old_keys": KEYS_A}))
    k = keys_from_connection(conn)
    assert k is not None and k.signing_id == "kx" and k.ids == ["kx", "k2026a"]
    assert keys_from_connection(SimpleNamespace(login="k", password=None, extra=None)) is None


def test_the_log_takes_its_key_and_anchor_from_the_environment(store, tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_AUDIT_KEYS", KEYS_BA)
    monkeypatch.setenv("SOCIALHUB_AUDIT_ANCHOR", str(tmp_path / "anchors"))
    monkeypatch.setenv("SOCIALHUB_AUDIT_ANCHOR_EVERY", "2")
    fill(store, 5, k="env", anchor="env", every=2)   # the explicit policy wins over the environment's
    log = AuditLog(store)
    assert log.anchor_policy == AnchorPolicy(2, 600.0)
    assert {e["key_id"] for e in stored(store)} == {"k2026b"}
    records = open_anchor(str(tmp_path / "anchors")).records()
    assert [r["seq"] for r in records] == [1, 3]
    result = verify_chain(store)                        # keys and anchor from the environment
    assert result.ok and result.keyed == 5 and result.anchored_seq == 3 and result.findings == []


def test_anchoring_every_n_events(store, anchor):
    fill(store, 7, k=keys(), anchor=anchor, every=3)
    assert [r["seq"] for r in anchor.records()] == [2, 5]


def test_a_failing_anchor_does_not_lose_the_event_and_is_retried(store, anchor, monkeypatch):
    log = AuditLog(store, keys=keys(), anchor=anchor, anchor_policy=AnchorPolicy(every_events=1))
    real = anchor.write
    monkeypatch.setattr(anchor, "write", lambda rec: (_ for _ in ()).throw(OSError("down")))
    log.append("collect", actor=ACTOR, obj="a")
    monkeypatch.setattr(anchor, "write", real)
    log.append("collect", actor=ACTOR, obj="b")
    assert [r["seq"] for r in anchor.records()] == [1]
    assert verify_chain(store, keys=keys(), anchor=anchor).ok


def test_store_anchor_is_write_once(tmp_path, store):
    second = LocalStore(tmp_path / "anchor-store")
    anchor = StoreAnchor(second)
    fill(store, 3, k=keys(), anchor=anchor)
    keys_written = second.list("audit-anchors/")
    assert len(keys_written) == 3
    with pytest.raises(ImmutableObjectError):
        second.put(keys_written[0], b"{}")
    assert verify_chain(store, keys=keys(), anchor=anchor).anchored_seq == 2


def test_store_anchor_on_s3(s3_client, bucket, store):
    from socialhub.storage.s3 import S3Store

    anchor = StoreAnchor(S3Store(bucket, "anchors", client=s3_client))
    fill(store, 4, k=keys(), anchor=anchor, every=2)
    assert [r["seq"] for r in anchor.records()] == [1, 3]
    overwrite(store, stored(store)[:3])
    assert verify_chain(store, keys=keys(), anchor=anchor).kinds[0] == "truncated"


def test_cli_audit_anchor_anchors_now_and_refuses_a_broken_chain(store, anchor, capsys, monkeypatch):
    fill(store, 4, k=keys())
    monkeypatch.setenv("SOCIALHUB_AUDIT_KEYS", KEYS_A)
    assert main(["audit", "anchor", "--store", str(store.root), "--anchor", str(anchor.path)]) == 0
    out = capsys.readouterr().out
    assert "anchored event 3" in out and "k2026a" in out and SECRET_A not in out
    assert [r["seq"] for r in anchor.records()] == [3]
    events = stored(store)
    events[1] = {**events[1], "object": "x"}
    overwrite(store, events)
    assert main(["audit", "anchor", "--store", str(store.root), "--anchor", str(anchor.path)]) == 1
    assert "not anchored" in capsys.readouterr().err
    assert len(anchor.records()) == 1
    assert main(["audit", "anchor", "--store", str(store.root)]) == 2   # no anchor configured


def test_airflow_runtime_reads_the_key_connection(monkeypatch):
    pytest.importorskip("airflow")
    from socialhub_airflow import hooks, runtime

    conn = SimpleNamespace(login="k2026b", password=SECRET_B, extra=json.dumps({"old_keys": {"k2026a": SECRET_A}}))
    monkeypatch.setattr(hooks, "_get_connection", lambda conn_id: conn if conn_id == "socialhub_audit_key" else None)
    k = runtime.audit_keys()
    assert k.signing_id == "k2026b" and k.ids == ["k2026b", "k2026a"]
    monkeypatch.setattr(hooks, "_get_connection", lambda conn_id: None)
    monkeypatch.setenv("SOCIALHUB_AUDIT_KEYS", KEYS_A)
    assert runtime.audit_keys().ids == ["k2026a"]


def test_the_auditors_report_says_which_protection_applied_and_names_findings(store):
    from datetime import date

    from socialhub.audit.report import build_report, render_html

    fill(store, 4)
    rep = build_report(store, start=date(2020, 1, 1), end=date(2030, 1, 1))
    row = rep.table("chain_verification").rows[0]
    assert row["result"] == "intact" and row["protection"].startswith("unkeyed") and "unkeyed" in row["findings"].split(", ")
    assert "unkeyed:" in row["findings_detail"]
    assert "Limit (unkeyed)" in render_html(rep)

    keyed_store = LocalStore(store.root.parent / "keyed")
    fill(keyed_store, 4, k=keys())
    events = stored(keyed_store)
    events[1] = {**events[1], "justification": "forged"}
    overwrite(keyed_store, events)
    rep = build_report(keyed_store, start=date(2020, 1, 1), end=date(2030, 1, 1), audit_keys=keys())
    row = rep.table("chain_verification").rows[0]
    assert row["result"] == "BROKEN" and row["findings"].startswith("rewritten") and row["first_bad"] == 1
    assert row["findings_detail"].startswith("rewritten:")
    assert "AUDIT LOG BROKEN at event 1 (rewritten)" in render_html(rep)
