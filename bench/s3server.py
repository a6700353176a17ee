"""A throw-away ``moto_server`` (S3 over HTTP on loopback) for the benchmarks: one launcher for all.

Not a ``bench_*.py`` file, so ``bench/run.py`` does not run it; the benchmarks import it from their
own folder (a script's folder is first on ``sys.path``).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


def installed() -> bool:
    return Path(sys.executable).with_name("moto_server").exists()


def start(tries: int = 200) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``moto_server`` on a free loopback port and wait until it accepts connections:
    ``(process, endpoint URL)``. The caller terminates the process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("moto_server did not start")


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate ``moto_server``, killing it if it has not gone within ``timeout`` (with a large
    bucket in memory it can take longer than that to exit)."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
