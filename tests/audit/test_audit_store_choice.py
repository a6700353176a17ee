"""`socialhub audit verify` and `socialhub audit report` say which store they read and never vouch for nothing.

An auditor who forgets --store must not get "audit chain OK: 0 event(s)" for some empty default
folder: both commands print the store (and where the choice came from), exit 2 with what to do
on a missing or empty store unless --allow-empty, and never create the folder. After
`make demo`, the demo prints the exact command for its own store, and that command works.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from socialhub.audit.chain import AuditLog
from socialhub.audit.where import choose_store
from socialhub.cli import main
from socialhub.demo import audit_hint
from socialhub.storage import LocalStore

ACTOR = {"kind": "task", "dag_id": "d", "task_id": "t", "run_id": "r"}


@pytest.fixture()
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $SOCIALHUB_STORE; $SOCIALHUB_DATA_DIR points at a folder that does not exist."""
    monkeypatch.delenv("SOCIALHUB_STORE", raising=False)
    data = tmp_path / "default-data"
    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(data))
    return data


def filled(root: Path, n: int = 3) -> LocalStore:
    store = LocalStore(root)
    log = AuditLog(store)
    for i in range(n):
        log.append("collect", actor=ACTOR, obj=f"mastodon:acct{i}", force="met")
    return store


@pytest.mark.parametrize("command", [["audit", "verify"],
                                     ["audit", "report", "--from", "2026-01-01", "--to", "2026-01-02"]])
def test_missing_default_store_fails_names_it_and_is_not_created(command, no_env, tmp_path, capsys):
    extra = ["--out", str(tmp_path / "out")] if command[1] == "report" else []
    assert main([*command, *extra]) == 2
    out, err = capsys.readouterr()
    default = no_env / "store"
    assert out.startswith(f"store: {default} (the default, $SOCIALHUB_DATA_DIR/store")
    assert f"there is no store at {default}" in err and "--store" in err and "--allow-empty" in err
    assert ".demo/data/store" in err                     # what to do after `make demo`
    assert "audit chain OK" not in out
    assert not no_env.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["audit", "verify"],
                                     ["audit", "report", "--from", "2026-01-01", "--to", "2026-01-02"]])
def test_empty_store_fails_unless_allowed(command, no_env, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    extra = ["--out", str(tmp_path / "out")] if command[1] == "report" else []
    assert main([*command, "--store", str(empty), *extra]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"store: {empty} (given by --store)")
    assert "has no audit events" in err and "audit chain OK" not in out
    assert list(empty.iterdir()) == []                   # nothing written into it either

    assert main([*command, "--store", str(empty), "--allow-empty", *extra]) == 0
    out, _ = capsys.readouterr()
    assert f"store: {empty}" in out
    if command[1] == "verify":
        assert "0 event(s): this store's audit log is empty (accepted with --allow-empty)" in out


def test_missing_store_with_allow_empty_verifies_nothing_and_creates_nothing(no_env, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "store"
    assert main(["audit", "verify", "--store", str(missing), "--allow-empty"]) == 0
    out, _ = capsys.readouterr()
    assert f"there is no store at {missing}" in out and "nothing was created" in out
    assert not (tmp_path / "nowhere").exists()


def test_store_from_the_environment_is_named_as_such(no_env, tmp_path, monkeypatch, capsys):
    store = filled(tmp_path / "env-store", 4)
    monkeypatch.setenv("SOCIALHUB_STORE", str(store.root))
    assert main(["audit", "verify"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith(f"store: {store.root} (from $SOCIALHUB_STORE")
    assert "audit chain OK: 4 event(s)" in out


def test_s3_store_is_named_without_credentials(no_env):
    choice = choose_store("s3://AKIAEXAMPLE:s3cr3t@evidence-bucket/socialhub/prod")
    assert choice.label == "s3://evidence-bucket/socialhub/prod" and choice.local is None
    assert "s3cr3t" not in choice.describe() and "AKIA" not in choice.describe()
    assert choose_store("file:///srv/socialhub/store").label == "/srv/socialhub/store"


def test_the_demo_prints_the_command_for_its_own_store_and_it_works(no_env, tmp_path, capsys):
    demo_store = filled(tmp_path / ".demo" / "data" / "store", 5)
    hint = audit_hint(demo_store.root, "2026-01-01", "2026-01-02")
    verify_line, report_line = hint.splitlines()
    assert verify_line.startswith("check the audit log:")
    argv = shlex.split(verify_line.split(":", 1)[1])
    assert argv[0].endswith("socialhub") and argv[1:] == ["audit", "verify", "--store", str(demo_store.root)]
    assert main(argv[1:]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith(f"store: {demo_store.root} (given by --store)") and "audit chain OK: 5 event(s)" in out

    argv = shlex.split(report_line.split(":", 1)[1])
    assert argv[1:3] == ["audit", "report"] and "--store" in argv
    assert main(argv[1:]) == 0                          # the report command runs as printed
    out, _ = capsys.readouterr()
    assert f"store: {demo_store.root}" in out and "report.html" in out


def test_without_any_setting_the_default_is_named_and_left_alone(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("SOCIALHUB_STORE", raising=False)
    monkeypatch.delenv("SOCIALHUB_DATA_DIR", raising=False)
    monkeypatch.setenv("SOCIALHUB_HOME", str(tmp_path / "home"))
    from socialhub.config import Settings

    default = Settings.from_env().data_dir / "store"
    assert str(default).startswith(str(tmp_path / "home"))
    assert main(["audit", "verify"]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"store: {default} (the default data folder's store")
    assert f"there is no store at {default}" in err
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("command", [["audit", "anchor", "--anchor", "ANCHOR"], ["audit", "seal"]])
@pytest.mark.parametrize("empty", [False, True])
def test_anchor_and_seal_never_suggest_an_option_they_do_not_have(command, empty, no_env, tmp_path, capsys):
    """Only verify and report have --allow-empty: anchor and seal say what to do without it."""
    store = tmp_path / "store"
    if empty:
        store.mkdir()
    argv = [a.replace("ANCHOR", str(tmp_path / "anchor.jsonl")) for a in command]
    assert main([*argv, "--store", str(store)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"store: {store} (given by --store)")
    assert ("has no audit events" if empty else f"there is no store at {store}") in err
    assert "--allow-empty" not in err
    assert f"`socialhub {' '.join(command[:2])}` works only on a store whose audit log has events" in err
    assert "--store" in err and ".demo/data/store" in err
    assert store.exists() == empty                      # a missing folder is not created
    with pytest.raises(SystemExit):                     # and the option really does not exist there
        main([*argv, "--store", str(store), "--allow-empty"])
