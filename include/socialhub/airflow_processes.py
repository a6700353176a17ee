"""Airflow's long-running components as local processes: what the demo's officer review, the
PostgreSQL end-to-end test and the benchmarks share (``socialhub.review.demo.LocalAirflow``,
``scripts/airflow_stack.py``).

Every component starts in its own session and is stopped (TERM, then KILL) by its process group,
so no task process the LocalExecutor forked survives. Nothing here imports Airflow: it runs the
``airflow`` command next to this Python.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Self

COMPONENTS = ("api-server", "scheduler", "dag-processor")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def airflow_bin() -> str:
    cand = Path(sys.executable).with_name("airflow")
    return str(cand) if cand.exists() else "airflow"


class AirflowProcesses:
    """Subclasses (dataclasses) provide ``env``, ``workdir`` and ``procs``."""

    env: dict[str, str]
    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]]

    @property
    def api_url(self) -> str:
        return self.env["AIRFLOW__API__BASE_URL"]

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name.replace(' ', '-')}.log"

    def cli(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``airflow <args>`` with this deployment's environment; output appended to ``cli.log``."""
        proc = subprocess.run([airflow_bin(), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        with self.log_path("cli").open("a") as fh:
            fh.write(f"\n$ airflow {' '.join(args)}  (exit {proc.returncode})\n{proc.stdout}\n{proc.stderr}\n")
        if check and proc.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed (exit {proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def spawn(self, components: Iterable[str] = COMPONENTS) -> None:
        """Start each component (e.g. ``"api-server"``, ``"celery worker"``), logging to its own file."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in components:
            cmd = [airflow_bin(), *name.split()]
            if name == "api-server":
                cmd += ["--host", "127.0.0.1", "--port", self.env["AIRFLOW__API__PORT"], "--workers", "1"]
            with self.log_path(name).open("ab") as log:
                self.procs[name] = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_healthy(self, timeout: float) -> None:
        """Until the api-server answers its health check (if one was started); fails fast if a
        component exits meanwhile, with the end of its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if "api-server" not in self.procs or self._api_ok():
                return
            time.sleep(0.5)
        raise TimeoutError(f"Airflow api-server not healthy after {timeout:.0f}s; see {self.log_path('api-server')}")

    def _api_ok(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = self.log_path(name).read_text(errors="replace")[-4000:]
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}:\n{tail}")

    def stop(self, grace: float = 20) -> None:
        """TERM, then KILL, each component's whole process group (the task processes included)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
