"""Hash lists (issue 16): CSV in the ThreatExchange format, write-once entries, withdrawal, the CLI."""

from __future__ import annotations

import argparse
import csv
import io
import json

import numpy as np
import pytest

from socialhub.audit.chain import AuditLog
from socialhub.errors import ConfigError
from socialhub.media.hashlist import CSV_COLUMNS, HashEntry, HashLists, check_list_name, read_csv, write_csv
from socialhub.media.hashlist_cli import register
from socialhub.storage.local import LocalStore

WHEN = "2026-01-02T03:04:05Z"


def rand_hash(rng: np.random.Generator) -> str:
    return rng.bytes(32).hex()


def flip(h: str, k: int, rng: np.random.Generator) -> str:
    value = int(h, 16)
    for b in rng.choice(256, size=k, replace=False):
        value ^= 1 << int(b)
    return f"{value:064x}"


def entry(h: str, source: str = "hub:referral:ref-abc123", **kw: str) -> HashEntry:
    return HashEntry(signal_type="pdq", hash=h, label=kw.pop("label", "weapon"), source=source,
                     added_at=kw.pop("added_at", WHEN), **kw)


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "store")


# -- entries and CSV ----------------------------------------------------------------------------------
def test_entry_id_is_stable_and_ignores_label_and_list():
    h = "a" * 64
    e1, e2 = entry(h, label="weapon"), entry(h, label="known_content", added_at="2027-01-01T00:00:00Z")
    assert e1.entry_id == e2.entry_id and len(e1.entry_id) == 24
    assert entry(h, source="import:x.csv").entry_id != e1.entry_id
    with pytest.raises(ValueError):
        entry("A" * 64)
    with pytest.raises(ValueError):
        HashEntry("md5", "a" * 64, "", "s", WHEN)


def test_csv_round_trip_keeps_every_field():
    rng = np.random.default_rng(1)
    items = [entry(rand_hash(rng), post_key="x:12345", referral_id="ref-abc123", media_sha256="b" * 64,
                   note='has, a "comma"'),
             entry(rand_hash(rng), source="import:partner.csv", label="known content")]
    text = write_csv([("hub", items[0]), ("partner", items[1])])
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    back, problems = read_csv(text, default_source="import:unused")
    assert problems == [] and back == items


def test_export_is_readable_by_a_reference_format_reader():
    """What python-threatexchange's `dataset --csv` writes is read by name: the extra columns are ignored."""
    h = "c" * 64
    rows = list(csv.DictReader(io.StringIO(write_csv([entry(h, label="weapon")], collab="hub"))))
    assert {k: rows[0][k] for k in ("collab", "signal_type", "signal_str", "category", "tags")} == {
        "collab": "hub", "signal_type": "pdq", "signal_str": h, "category": "POSITIVE_CLASS", "tags": "weapon"}


def test_reading_the_reference_format():
    """The header and columns of `threatexchange dataset -P --csv` (python-threatexchange dataset_cmd.py)."""
    h1, h2, h3 = "1" * 64, "2" * 64, "3" * 64
    text = ("collab,signal_type,signal_str,category,tags\n"
            f"Sample Data,pdq,{h1},POSITIVE_CLASS,weapon knife\n"
            f"Sample Data,pdq,{h2.upper()},POSITIVE_CLASS,\n"
            f"Sample Data,video_md5,{'d' * 32},POSITIVE_CLASS,\n"
            f"Sample Data,pdq,{h3},NEGATIVE_CLASS,\n")
    got, problems = read_csv(text, default_source="import:te.csv", default_label="known_content",
                             added_at=WHEN)
    assert [(e.hash, e.label, e.source, e.note) for e in got] == [
        (h1, "weapon knife", "import:te.csv", "collab: Sample Data"),
        (h2, "known_content", "import:te.csv", "collab: Sample Data")]
    assert len(problems) == 2
    assert problems[0].startswith("line 4: signal type 'video_md5' is not PDQ")
    assert problems[1].startswith("line 5: category NEGATIVE_CLASS")


@pytest.mark.parametrize("text", [
    "{h}\n",                                   # bare hash
    "{h},weapon\n",                            # hash, label
    "pdq,{h},weapon\n",                        # type, hash, label
    "pdq {h}\n",                               # python-threatexchange file exchange: "TYPE SIGNAL"
    "\ufeffsignal_type,signal_value\npdq,{h}\n",  # HMA's field names, BOM
    "hash,label\n{h},weapon\n",
    "pdq_hash\n{h}\n",
    "# a comment\n\nHASH_PDQ,{h}\n",             # ThreatExchange's old indicator type
])
def test_tolerant_variants(text):
    h = "9f" * 32
    got, problems = read_csv(text.format(h=h), default_source="import:v.csv")
    assert problems == [] and [e.hash for e in got] == [h]
    assert got[0].source == "import:v.csv"


def test_bad_rows_are_skipped_with_line_numbers():
    good = "e" * 64
    text = ("signal_type,signal_str,label,added_at\n"
            f"pdq,{good},weapon,2026-03-01\n"
            "pdq,not-a-hash,weapon,\n"
            f"pdq,{'e' * 63},weapon,\n"
            f"pdq,{'f' * 64},weapon,yesterday\n"
            "\n"
            f"pdq,{good},weapon,\n")  # the same entry again: dropped silently
    got, problems = read_csv(text, default_source="import:bad.csv")
    assert [e.hash for e in got] == [good] and got[0].added_at == "2026-03-01T00:00:00Z"
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5"]
    assert "not a PDQ hash" in problems[0] and "skipped" in problems[0]
    assert "ISO 8601" in problems[2]


def test_header_without_hash_column_is_reported():
    got, problems = read_csv("label,source\nweapon,x\n", default_source="s")
    assert got == [] and "no hash column" in problems[0]


# -- the lists in the store ---------------------------------------------------------------------------
def test_add_is_write_once_and_idempotent(store):
    hl = HashLists(store)
    e = entry("a" * 64)
    assert hl.add(e) is True
    assert hl.add(e) is False
    assert hl.add(entry("a" * 64, label="other")) is False  # same hash and source: first copy kept
    assert hl.get("hub", e.entry_id) == e
    assert store.exists(f"hashlists/hub/{e.entry_id}.json")
    assert hl.add(e, "partner") is True
    assert hl.lists() == {"hub": 1, "partner": 1}
    assert [n for n, _ in hl.entries()] == ["hub", "partner"]


def test_list_names_are_checked(store):
    for bad in ("", "Hub", "-x", "a/b", "..", "x" * 65):
        with pytest.raises(ConfigError):
            check_list_name(bad)
    with pytest.raises(ConfigError):
        HashLists(store).add(entry("a" * 64), "Bad Name")


def test_match_and_withdraw(store):
    rng = np.random.default_rng(2)
    hl = HashLists(store)
    original = rand_hash(rng)
    near, far = flip(original, 10, rng), flip(original, 40, rng)
    e_near = entry(near, post_key="x:1", referral_id="ref-1")
    e_far = entry(far, source="import:p.csv")
    hl.add(e_near)
    hl.add(e_far, "partner")
    for _ in range(50):
        hl.add(entry(rand_hash(rng), source=f"import:{_}"))
    hits = hl.match(original)
    assert [(h["list"], h["entry_id"], h["distance"]) for h in hits] == [("hub", e_near.entry_id, 10)]
    assert hits[0] | {} == {"list": "hub", "entry_id": e_near.entry_id, "distance": 10, "label": "weapon",
                            "source": "hub:referral:ref-abc123", "post_key": "x:1", "referral_id": "ref-1",
                            "hash": near}
    assert [h["distance"] for h in hl.match(original, 40)] == [10, 40]
    # withdraw: kept, never matched again
    assert hl.withdraw("hub", e_near.entry_id, who="officer", why="false match") is True
    assert hl.withdraw("hub", e_near.entry_id, who="officer", why="again") is False
    assert hl.match(original) == []
    assert hl.lists() == {"hub": 50, "partner": 1}
    assert [w.entry_id for w in hl.withdrawals()] == [e_near.entry_id]
    assert e_near not in [e for _, e in hl.entries()]
    assert e_near in [e for _, e in hl.entries(include_withdrawn=True)]
    idx, by_id = hl.index()
    assert len(idx) == 51 and all(not k.startswith(f"hub/{e_near.entry_id}") for k in by_id)
    with pytest.raises(KeyError):
        hl.withdraw("hub", "0" * 24, who="x", why="y")


# -- CLI -----------------------------------------------------------------------------------------------
def run(*argv: str) -> int:
    p = argparse.ArgumentParser(prog="socialhub")
    register(p.add_subparsers(dest="cmd", required=True))
    args = p.parse_args(list(argv))
    return int(args.func(args) or 0)


def test_cli_import_export_list_match_withdraw(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_ACTOR", "analyst1")
    monkeypatch.delenv("SOCIALHUB_REQUIRE_WHY", raising=False)
    st = str(tmp_path / "store")
    rng = np.random.default_rng(3)
    h1, h2 = rand_hash(rng), rand_hash(rng)
    src = tmp_path / "partner.csv"
    src.write_text("collab,signal_type,signal_str,category,tags\n"
                   f"partner,pdq,{h1},POSITIVE_CLASS,weapon\n"
                   "partner,pdq,zzz,POSITIVE_CLASS,weapon\n"
                   f"partner,pdq,{h2},POSITIVE_CLASS,\n")
    assert run("hashlist", "import", str(src), "--list", "partner", "--label", "known_content",
               "--store", st, "--why", "case 42") == 0
    out = capsys.readouterr().out
    assert "2 imported, 0 already present, 1 row(s) skipped" in out and "line 3:" in out
    assert run("hashlist", "import", str(src), "--list", "partner", "--store", st, "--why", "again") == 0
    assert "0 imported, 2 already present" in capsys.readouterr().out

    assert run("hashlist", "list", "--store", st) == 0
    assert "partner" in capsys.readouterr().out

    assert run("hashlist", "match", flip(h1, 5, rng), "--store", st, "--json") == 0
    hits = json.loads(capsys.readouterr().out)
    assert [(h["distance"], h["label"], h["source"]) for h in hits] == [(5, "weapon", "import:partner.csv")]
    entry_id = hits[0]["entry_id"]

    assert run("hashlist", "export", "--store", st) == 0
    exported, problems = read_csv(capsys.readouterr().out, default_source="x")
    assert problems == [] and sorted(e.hash for e in exported) == sorted([h1, h2])
    assert {e.label for e in exported} == {"weapon", "known_content"}

    out_file = tmp_path / "out.csv"
    assert run("hashlist", "export", "--list", "partner", "--out", str(out_file), "--store", st,
               "--why", "sharing with partner") == 0
    assert "2 entries written" in capsys.readouterr().out
    assert read_csv(out_file.read_text(), default_source="x")[0] == exported

    with pytest.raises(SystemExit):  # --why is required
        run("hashlist", "withdraw", entry_id, "--list", "partner", "--store", st)
    capsys.readouterr()
    assert run("hashlist", "withdraw", entry_id, "--list", "partner", "--why", "wrong referral",
               "--store", st) == 0
    assert "withdrawn" in capsys.readouterr().out
    assert run("hashlist", "match", h1, "--store", st) == 0
    assert "no entry within 31 bits" in capsys.readouterr().out
    assert run("hashlist", "list", "--store", st, "--withdrawn") == 0
    out = capsys.readouterr().out
    assert "wrong referral" in out and "analyst1" in out
    with pytest.raises(ConfigError):
        run("hashlist", "withdraw", "0" * 24, "--list", "partner", "--why", "x", "--store", st)
    with pytest.raises(ConfigError):
        run("hashlist", "match", "nothex", "--store", st)

    events = list(AuditLog(LocalStore(tmp_path / "store"), keys=None, anchor=None).events())
    changes = [(e["action"], e["details"].get("change"), e["actor"]["name"]) for e in events]
    assert changes == [("hashlist_change", "import", "analyst1"), ("hashlist_change", "import", "analyst1"),
                       ("export", None, "analyst1"), ("hashlist_change", "withdraw", "analyst1")]
    assert events[0]["justification"] == "case 42" and events[0]["details"]["added"] == 2
    assert events[3]["details"]["entry_id"] == entry_id


def test_cli_help_describes_every_option():
    p = argparse.ArgumentParser(prog="socialhub")
    sub = p.add_subparsers(dest="cmd")
    register(sub)
    hp = sub.choices["hashlist"]
    for name, sp in hp._subparsers._group_actions[0].choices.items():  # type: ignore[union-attr]
        for action in sp._actions:
            if action.dest != "help":
                assert action.help, f"hashlist {name} {action.option_strings or action.dest} has no help"
