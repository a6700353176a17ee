"""A private, throw-away Redis server on loopback: Celery's broker for the CeleryExecutor tests.

Used by the PostgreSQL end-to-end test (``tests/e2e_postgres``) and ``scripts/celery_cycle.py``. It
never touches the system Redis (the Debian package's service, if it runs): ``redis-server`` is
started on 127.0.0.1 on a free port, in a temporary directory, with a random password, no
persistence (``--save '' --appendonly no``), and ``stop()`` shuts it down and deletes the directory.

The binary comes from Debian's ``redis-server``: installing it is ``make redis-deps``'s job (as root
on Debian: ``apt-get install redis-server``, announced first); this module never installs anything.

    with RedisServer.start_new() as redis:
        print(redis.url(0))   # redis://:PASSWORD@127.0.0.1:PORT/0

Command line (keeps running until Ctrl-C)::

    python scripts/redis_server.py [--port N]
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


class RedisUnavailable(RuntimeError):
    """redis-server is not installed or does not start (the caller may skip, with this reason)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: where Debian (and a source build) put the binary, if it is not on PATH
CANDIDATES = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")


def find_redis_server() -> str:
    path = shutil.which("redis-server") or next((p for p in CANDIDATES if Path(p).exists()), None)
    if not path:
        raise RedisUnavailable("redis-server not found (run `make redis-deps`, which installs Debian's redis-server)")
    return path


@dataclass
class RedisServer:
    binary: str
    base: Path
    port: int
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def start_new(cls, *, port: int | None = None, timeout: float = 20) -> RedisServer:
        server = cls(binary=find_redis_server(), base=Path(tempfile.mkdtemp(prefix="socialhub-redis-")),
                     port=port or free_port())
        server.start(timeout)
        return server

    @property
    def log_path(self) -> Path:
        return self.base / "redis.log"

    def url(self, db: int = 0) -> str:
        """``redis://:PASSWORD@127.0.0.1:PORT/DB`` (a secret: never print it)."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 20) -> None:
        # the password goes in through a config file read from stdin, so it never shows in `ps`
        conf = "\n".join([
            "bind 127.0.0.1", f"port {self.port}", f"dir {self.base}", f"logfile {self.log_path}",
            'save ""', "appendonly no", "daemonize no", "protected-mode yes",
            f"requirepass {self.password}", ""])
        self.proc = subprocess.Popen([self.binary, "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        assert self.proc.stdin is not None
        self.proc.stdin.write(conf.encode())
        self.proc.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
                self.stop()
                raise RedisUnavailable(f"redis-server exited with {self.proc.returncode}: {log}")
            if self.ping():
                return
            time.sleep(0.1)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer PING on 127.0.0.1:{self.port} within {timeout:.0f}s")

    def command(self, *args: str) -> str:
        """One command over RESP (AUTH first); the first line of the answer. No client library needed."""
        def resp(*parts: str) -> bytes:
            return f"*{len(parts)}\r\n".encode() + b"".join(
                f"${len(p.encode())}\r\n".encode() + p.encode() + b"\r\n" for p in parts)

        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(resp("AUTH", self.password) + resp(*args))
            data = b""
            while data.count(b"\r\n") < 2:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        lines = data.split(b"\r\n")
        if not lines[0].startswith(b"+OK"):
            raise RedisUnavailable(f"AUTH refused: {lines[0][:200]!r}")
        return lines[1].decode(errors="replace") if len(lines) > 1 else ""

    def ping(self) -> bool:
        try:
            return self.command("PING") == "+PONG"
        except (OSError, RedisUnavailable):
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    try:
        server = RedisServer.start_new(port=args.port)
    except RedisUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with server:
        url_file = server.base / "broker_url"
        url_file.touch(mode=0o600)
        url_file.write_text(server.url(0) + "\n")
        print(f"redis-server on 127.0.0.1:{server.port}; its URL (with the password) is in {url_file}; Ctrl-C stops it")
        try:
            while server.proc is not None and server.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
