"""The `socialhub` command as a user runs it."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from socialhub.cli import main
from socialhub.replay.server import ReplayServer


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "socialhub.cli", *args], input=stdin, capture_output=True,
                          text=True, check=False, timeout=120)


def test_help_lists_every_command():
    out = run_cli("--help")
    assert out.returncode == 0
    for cmd in ("demo", "watchlist", "fetch", "classify", "replay"):
        assert cmd in out.stdout
    assert run_cli("fetch", "--help").returncode == 0


def test_fetch_prints_jsonl_and_keeps_the_cursor(tmp_path, capsys):
    state = tmp_path / "state.json"
    with ReplayServer().start() as replay:
        account = replay.accounts("mastodon")[0]
        args = ["fetch", "mastodon", account, "--base-url", replay.base_url("mastodon"), "--state", str(state)]
        assert main(args) == 0
        first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert first and all(p["platform"] == "mastodon" and p["raw_sha256"] for p in first)
        assert f"mastodon:{account}" in json.loads(state.read_text())
        assert main(args) == 0
        assert capsys.readouterr().out == ""  # nothing new
        replay.add_post("mastodon", account, {"text": "fresh post", "age": "1s"})
        assert main(args) == 0
        again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [p["text"] for p in again] == ["fresh post"]


def test_fetch_unknown_account_is_a_clear_error(capsys):
    with ReplayServer().start() as replay:
        code = main(["fetch", "mastodon", "nobody@social.hubdemo.example", "--base-url", replay.base_url("mastodon")])
    assert code == 1
    assert "nobody@social.hubdemo.example" in capsys.readouterr().err


def test_classify_reads_and_writes_jsonl(monkeypatch, capsys):
    lines = [{"text": "new shank just came 🔪 nobody's safe", "id": 1}, {"text": "lovely roast dinner", "id": 2}]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(json.dumps(x) for x in lines) + "\n"))
    assert main(["classify"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in out] == [1, 2]
    assert "weapon" in out[0]["labels"] and out[1]["labels"] == []
    assert out[0]["reasons"] and out[0]["classifier_version"]
    assert set(out[0]["scores"]) == {"violence_threat", "weapon", "gang_affiliation", "drug_supply"}


def test_classify_malformed_line_exits_nonzero_but_keeps_the_rest(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"text": "ok"}\nnot json\n{"no_text": 1}\n'))
    assert main(["classify"]) == 1
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert "line 2" in captured.err and "line 3" in captured.err


@pytest.mark.parametrize("argv", [[], ["watchlist"]])
def test_no_subcommand_prints_help(argv, capsys):
    assert main(argv) == 2
    assert "usage" in capsys.readouterr().out.lower()


def test_platform_team_is_told_when_a_task_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path))
    from socialhub_airflow.notifiers import notify_platform_team

    class TI:
        dag_id, task_id, map_index = "socialhub_process", "process", 3

    notify_platform_team({"ti": TI(), "run_id": "run-1", "exception": RuntimeError("quality gate failed: 9/10")})
    lines = (tmp_path / "outbox" / "outbox.jsonl").read_text().splitlines()
    assert len(lines) == 1
    index = json.loads(lines[0])
    assert index["channel"] == "#socialhub-platform"
    notice = (tmp_path / "outbox" / index["file"]).read_text()
    assert "socialhub_process.process[3]" in notice and "quality gate failed" in notice


def test_fetch_reads_a_real_platform_only_for_an_authorised_watchlist_account(tmp_path, monkeypatch, capsys):
    """Reading a platform is collection: an account off the watchlist, or whose authorisation has
    lapsed, is refused before any request (the base URL here is not loopback and never contacted)."""
    from socialhub.cli import _fetch_not_allowed

    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SOCIALHUB_STORE", raising=False)
    monkeypatch.delenv("SOCIALHUB_AUTHORISATIONS", raising=False)
    wl = tmp_path / "watchlist.yaml"
    entry = {"platform": "mastodon", "display_name": "A", "force": "met", "team": "gangs", "owner": "DS X",
             "authorisation_ref": "AUTH-1", "purpose": "Public threats between two named groups."}
    wl.write_text(json.dumps({"version": 1, "accounts": [
        {**entry, "account": "ok@x.social", "review_by": "2999-01-01"},
        {**entry, "account": "old@x.social", "review_by": "2000-01-01"}]}))
    remote = "https://x.social"
    assert _fetch_not_allowed("mastodon", "@OK@x.social", remote, str(wl)) == ""
    assert "authorisation AUTH-1 lapsed on 2000-01-01" in _fetch_not_allowed("mastodon", "old@x.social", remote, str(wl))
    assert main(["fetch", "mastodon", "someone@x.social", "--base-url", remote, "--watchlist", str(wl)]) == 2
    err = capsys.readouterr().err
    assert "not fetching mastodon:someone@x.social: it is not on the watchlist" in err
    # loopback (the replay server, a test double) is read freely
    assert _fetch_not_allowed("mastodon", "someone@x.social", "http://127.0.0.1:8080/mastodon", str(wl)) == ""
