"""Installing PostgreSQL is `make postgres-deps`'s job alone, announced first; tests never install it.

`make test` depends on the target (so CI on a clean clone still runs the PostgreSQL end-to-end
test); the test's own fixture only looks for the server binaries (``--no-install``) and skips,
naming the target, when they are missing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import pg_cluster  # noqa: E402


def test_the_test_fixture_never_installs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(cmd, **kwargs):  # noqa: ANN001, ANN003
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "PostgreSQL server binaries not found (not installing: --no-install)")

    monkeypatch.setattr(pg_cluster.subprocess, "run", fake_run)
    with pytest.raises(pg_cluster.PostgresUnavailable, match="not installing"):
        pg_cluster.PgCluster.start_new()
    assert seen and seen[0][-1] == "--no-install"


def test_make_test_runs_postgres_deps_first_and_the_target_says_what_it_does() -> None:
    makefile = (ROOT / "Makefile").read_text()
    test_line = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert "postgres-deps" in test_line.split("##")[0]
    out = subprocess.run(["make", "-s", "postgres-deps"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0
    # either it is there ("nothing to do", naming the directory) or the install is announced before it runs
    assert "postgres-deps: PostgreSQL's server binaries are installed" in out.stdout or (
        "Installing Debian's postgresql" in out.stdout)
