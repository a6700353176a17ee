"""Installing the browser is `make browser-deps`'s job alone, and it says what it installs first.

`make test` once ran `apt-get install chromium` as root from inside a test fixture, silently
upgrading about 131 packages. Now the fixture only looks for chromium (and skips, naming the
target); the Makefile target prints the command and apt-get's own list of changes before
installing. These tests run the real target with a fake apt-get on PATH, so nothing is installed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

TOOLS = ("grep", "sed", "true", "env", "cat")


def fake_bin(tmp_path: Path, *, uid: int) -> Path:
    """A PATH with the shell tools the recipe uses, a fake id and a fake apt-get that logs its calls;
    no chromium, no sudo."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    scripts = {
        "id": f"#!/bin/sh\necho {uid}\n",
        "apt-get": ("#!/bin/sh\necho \"$*\" >> \"$APT_LOG\"\n"
                    "case \"$*\" in *-s*) echo 'Inst chromium (1.0 Debian)'; echo 'Inst libfoo (2.0 Debian)';"
                    " echo '0 upgraded, 2 newly installed, 0 to remove and 0 not upgraded.';; esac\n"),
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def run_target(tmp_path: Path, uid: int) -> tuple[str, list[str]]:
    make = shutil.which("make")
    if not make:
        pytest.skip("make is not installed")
    log = tmp_path / "apt.log"
    env = {"PATH": str(fake_bin(tmp_path, uid=uid)), "APT_LOG": str(log), "HOME": str(tmp_path)}
    proc = subprocess.run([make, "-s", "-C", str(ROOT), "browser-deps"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, log.read_text().splitlines() if log.exists() else []


def test_as_root_it_says_what_it_installs_before_installing(tmp_path):
    out, calls = run_target(tmp_path, uid=0)
    assert "installing debian's chromium" in out.lower()
    assert "apt-get install -y --no-install-recommends chromium" in out            # the command, shown first
    assert "Inst chromium (1.0 Debian)" in out and "Inst libfoo (2.0 Debian)" in out  # apt-get's own list
    # update, then a simulation (what would change), then the install itself: never the install first
    assert [c.split()[0:2] for c in calls] == [["update", "-qq"], ["install", "-s"], ["install", "-y"]]


def test_without_root_it_installs_nothing_and_says_how(tmp_path):
    out, calls = run_target(tmp_path, uid=1000)
    assert calls == []
    assert "sudo make browser-deps" in out and "skipped" in out


def test_without_chromium_the_tests_skip_naming_the_target_and_install_nothing(monkeypatch):
    from tests.ui import conftest

    ran: list[object] = []
    monkeypatch.setattr(conftest, "find_chromium", lambda: None)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))        # any install attempt
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(os, "geteuid", lambda: 0)                                # even as root
    with pytest.raises(pytest.skip.Exception, match="make browser-deps"):
        conftest.chromium_or_skip()
    assert ran == []


def test_make_test_runs_browser_deps_first():
    makefile = (ROOT / "Makefile").read_text()
    test_rule = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert "browser-deps" in test_rule.split("##")[0]
    assert os.path.exists(ROOT / ".ci" / "run") and "make test" in (ROOT / ".ci" / "run").read_text()
