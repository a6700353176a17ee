"""socialhub demo --watchlist FILE --data DIR: checked before anything starts, and the ones used.

No Airflow is started here: the demo's Airflow commands are replaced by a recorder that stops the
run at the first DAG. The full demo path (packaged inputs) is covered by tests/e2e.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import socialhub.demo as demo
from socialhub.cli import main
from socialhub.demo import DemoInputs, demo_inputs
from socialhub.errors import ConfigError, WatchlistError

WATCHLIST = """
accounts:
  - platform: mastodon
    account: own_test@social.team.example
    display_name: Our test account
    force: met
    team: gangs
    owner: DS Example
    authorisation_ref: AUTH-TEST-1
    purpose: Platform team's own test account for trying socialhub.
    review_by: 2099-01-01
"""

REPLAY = """
_about: our own test data
mastodon:
  instance: social.team.example
  accounts:
    - username: own_test
      display_name: Our test account
      posts:
        - text: "hello from our test account"
"""


@pytest.fixture
def inputs_dir(tmp_path: Path) -> tuple[Path, Path]:
    wl = tmp_path / "watchlist.yaml"
    wl.write_text(WATCHLIST, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "replay.yaml").write_text(REPLAY, encoding="utf-8")
    return wl, data


@pytest.fixture
def no_demo_run(monkeypatch: pytest.MonkeyPatch) -> list:
    calls: list = []
    monkeypatch.setattr(demo, "run_demo", lambda **kw: calls.append(kw) or 0)
    return calls


def test_valid_inputs_are_resolved(inputs_dir: tuple[Path, Path]) -> None:
    wl, data = inputs_dir
    got = demo_inputs(wl, data)
    assert got == DemoInputs(watchlist=wl.resolve(), data=(data / "replay.yaml").resolve())
    assert demo_inputs(None, data / "replay.yaml").data == (data / "replay.yaml").resolve()   # the file itself
    assert demo_inputs() == DemoInputs()                                                        # packaged ones


@pytest.mark.parametrize(("case", "message"), [
    ("no watchlist file", "--watchlist .*no such file"),
    ("bad watchlist", "problem"),
    ("empty watchlist", "no accounts"),
    ("no data folder", "--data .*no such folder or file"),
    ("folder without replay.yaml", "holds none of replay.yaml"),
    ("not YAML", "not valid YAML"),
    ("unknown platform", "unknown platform"),
    ("no platform", "serves no platform"),
])
def test_bad_inputs_are_clear_errors_before_anything_starts(case: str, message: str, tmp_path: Path,
                                                            inputs_dir: tuple[Path, Path], no_demo_run: list,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    wl, data = inputs_dir
    args: list[str]
    if case == "no watchlist file":
        args = ["--watchlist", str(tmp_path / "missing.yaml")]
    elif case == "bad watchlist":
        wl.write_text(WATCHLIST.replace("    force: met\n", ""), encoding="utf-8")
        args = ["--watchlist", str(wl)]
    elif case == "empty watchlist":
        wl.write_text("accounts: []\n", encoding="utf-8")
        args = ["--watchlist", str(wl)]
    elif case == "no data folder":
        args = ["--data", str(tmp_path / "nowhere")]
    elif case == "folder without replay.yaml":
        (data / "replay.yaml").rename(data / "other.yaml")
        args = ["--data", str(data)]
    elif case == "not YAML":
        (data / "replay.yaml").write_text("mastodon: [unclosed\n", encoding="utf-8")
        args = ["--data", str(data)]
    elif case == "unknown platform":
        (data / "replay.yaml").write_text("myspace: {}\n", encoding="utf-8")
        args = ["--data", str(data)]
    else:
        (data / "replay.yaml").write_text("_about: nothing\n", encoding="utf-8")
        args = ["--data", str(data)]
    assert main(["demo", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("socialhub: error: demo: ")
    import re

    assert re.search(message, err), err
    assert no_demo_run == []                                  # nothing started


def test_a_bad_watchlist_names_every_problem(tmp_path: Path) -> None:
    wl = tmp_path / "w.yaml"
    wl.write_text(WATCHLIST.replace("    force: met\n", "").replace("    team: gangs\n", ""), encoding="utf-8")
    with pytest.raises(WatchlistError) as exc:
        demo_inputs(wl)
    assert len(exc.value.problems) == 2


def test_a_watchlist_platform_the_data_does_not_serve_is_a_note(inputs_dir: tuple[Path, Path]) -> None:
    wl, data = inputs_dir
    wl.write_text(WATCHLIST.replace("platform: mastodon", "platform: bluesky").replace(
        "own_test@social.team.example", "own-test.bsky.social"), encoding="utf-8")
    assert demo_inputs(wl, data).notes == ("the replay data serves no bluesky: those watchlist accounts will fail",)
    assert demo_inputs(None, data).notes and "packaged watchlist" in demo_inputs(None, data).notes[0]
    with pytest.raises(ConfigError):
        demo_inputs(wl, data / "missing.yaml")


def test_the_cli_passes_the_checked_inputs(inputs_dir: tuple[Path, Path], no_demo_run: list) -> None:
    wl, data = inputs_dir
    assert main(["demo", "--watchlist", str(wl), "--data", str(data), "--no-review"]) == 0
    assert no_demo_run[0]["inputs"] == demo_inputs(wl, data) and no_demo_run[0]["review"] is False


def test_the_demo_polls_the_chosen_watchlist_and_serves_the_chosen_data(
        inputs_dir: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """run_demo up to its first DAG: the Airflow environment names our watchlist, and the replay server
    serves our data (only its platforms get a connection, and it answers for our account)."""
    wl, data = inputs_dir
    project = tmp_path / "project"
    (project / "dags").mkdir(parents=True)
    seen: dict = {}

    def fake_airflow(args, env, log_file):
        import json
        import urllib.error
        import urllib.request

        seen["args"], seen["env"] = args, env
        base = json.loads(env["AIRFLOW_CONN_SOCIALHUB_MASTODON"])["extra"]["base_url"]
        try:
            with urllib.request.urlopen(f"{base}/api/v1/accounts/lookup?acct=own_test", timeout=10) as resp:
                seen["account"] = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            seen["account"] = exc.code
        return subprocess.CompletedProcess(args, 1)          # stop here: no Airflow in this test

    monkeypatch.setattr(demo, "init_airflow", lambda home, env, log_file: None)
    monkeypatch.setattr(demo, "run_airflow", fake_airflow)
    monkeypatch.delenv("SOCIALHUB_WATCHLIST", raising=False)
    before = dict(os.environ)
    rc = demo.run_demo(project_dir=project, review=False, inputs=demo_inputs(wl, data))
    assert rc == 1 and seen["args"] == ["dags", "test", "socialhub_collect"]
    # the demo's audit key, anchor and cache go to the Airflow commands it runs, and leave the caller's
    # environment as it was (they once stayed, and later tests in the process signed with the demo key)
    assert seen["env"]["SOCIALHUB_AUDIT_ANCHOR"] == str(project / ".demo" / "audit-anchors.jsonl")
    assert seen["env"]["SOCIALHUB_AUDIT_KEYS"].startswith("demo:")
    assert dict(os.environ) == before
    assert seen["env"]["SOCIALHUB_WATCHLIST"] == str(wl.resolve())
    conns = sorted(k for k in seen["env"] if k.startswith("AIRFLOW_CONN_SOCIALHUB_"))
    assert conns == ["AIRFLOW_CONN_SOCIALHUB_MASTODON"]          # our data has mastodon only
    assert seen["account"]["username"] == "own_test"
    out = capsys.readouterr().out
    assert seen["env"]["SOCIALHUB_AUDIT_KEYS"].removeprefix("demo:") not in out   # the key is never printed
    assert f"watchlist {wl.resolve()}" in out and str((data / "replay.yaml").resolve()) in out

    # a second run with the packaged inputs on the same .demo/ says the state mixes both
    rc = demo.run_demo(project_dir=project, review=False, inputs=DemoInputs())
    assert "used another watchlist or replay data" in capsys.readouterr().out
    assert seen["env"]["SOCIALHUB_WATCHLIST"] == str(project / "include" / "watchlist.yaml")
    assert seen["account"] == 404 and len([k for k in seen["env"] if k.startswith("AIRFLOW_CONN_SOCIALHUB_")]) == 7
