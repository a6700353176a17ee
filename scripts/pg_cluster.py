"""A private, throw-away PostgreSQL cluster on loopback, for Airflow's metadata database.

Used by the Postgres-backed end-to-end test (``tests/e2e_postgres``) and the benchmarks. It never
touches the system cluster: ``initdb`` makes a new cluster in a temporary directory, ``pg_ctl``
starts it on 127.0.0.1 on a free port (Unix socket in the same directory), a database and a
password-protected role are created, and ``stop()`` shuts it down and deletes the directory.

The server binaries come from ``scripts/ensure_postgres.sh --no-install``: installing them is
``make postgres-deps``'s job (as root on Debian: ``apt-get install postgresql``, announced first). PostgreSQL refuses to run as root, so when
run as root the cluster belongs to the ``postgres`` system user (created by the Debian package) and
every server command runs as that user through ``runuser``.

    with PgCluster.start_new() as pg:
        print(pg.sqlalchemy_url)   # postgresql+psycopg2://socialhub:...@127.0.0.1:PORT/airflow

Command line (keeps running until Ctrl-C)::

    python scripts/pg_cluster.py [--port N]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENSURE_SCRIPT = HERE / "ensure_postgres.sh"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be installed or started here (the caller may skip, with this reason)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_bindir(install: bool = False) -> Path:
    """The directory holding initdb/pg_ctl; installs PostgreSQL first only if ``install`` (``make postgres-deps`` does it, saying so)."""
    cmd = ["bash", str(ENSURE_SCRIPT)] + ([] if install else ["--no-install"])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    out = proc.stdout.strip().splitlines()
    if proc.returncode or not out:
        raise PostgresUnavailable((proc.stderr.strip() or "PostgreSQL server binaries not found")[-2000:])
    return Path(out[-1])


@dataclass
class PgCluster:
    bindir: Path
    base: Path                      # holds data/, the socket and the log
    port: int
    database: str = "airflow"
    user: str = "socialhub"
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    _as_postgres: bool = False

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    def start_new(cls, *, port: int | None = None, database: str = "airflow", install: bool = False,
                  base: Path | None = None) -> PgCluster:
        bindir = find_bindir(install=install)
        as_postgres = os.geteuid() == 0
        if base is None:
            # not under pytest's tmp dirs: those are 0700 root-owned, the postgres user could not enter them
            base = Path(tempfile.mkdtemp(prefix="socialhub-pg-"))
        base.mkdir(parents=True, exist_ok=True)
        cluster = cls(bindir=bindir, base=base, port=port or free_port(), database=database,
                      _as_postgres=as_postgres)
        if as_postgres:
            shutil.chown(base, user="postgres", group="postgres")
            os.chmod(base, 0o700)
        try:
            cluster._initdb()
            cluster._start()
            cluster._create_database()
        except Exception:
            cluster.stop()
            raise
        return cluster

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "postgres.log"

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def celery_result_backend(self) -> str:
        return f"db+postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", "postgres", "--", *cmd] if self._as_postgres else cmd

    def _run(self, *args: str, input_text: str | None = None, timeout: float = 120) -> str:
        proc = subprocess.run(self._cmd(*args), input=input_text, capture_output=True, text=True,
                              cwd=str(self.base), check=False, timeout=timeout)
        if proc.returncode:
            raise PostgresUnavailable(f"{' '.join(args[:2])} failed (exit {proc.returncode}):\n"
                                      f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}{self._log_tail()}")
        return proc.stdout

    def _log_tail(self) -> str:
        try:
            return "\n--- postgres log ---\n" + self.log_file.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def _initdb(self) -> None:
        # local (socket) connections by the cluster owner are trusted; TCP needs the password
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# socialhub test cluster: loopback only, private socket, fast and throw-away\n"
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.base}'\n"
                "max_connections = 200\nshared_buffers = 64MB\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")

    def _start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start")

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run("psql", "-h", str(self.base), "-p", str(self.port), "-U", "postgres", "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql)

    def _create_database(self) -> None:
        self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")
        self.psql(f"CREATE DATABASE {self.database} OWNER {self.user} ENCODING 'UTF8' TEMPLATE template0")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise PostgresUnavailable(f"PostgreSQL not listening on 127.0.0.1:{self.port}{self._log_tail()}")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(self._cmd("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop"),
                           capture_output=True, cwd=str(self.base), check=False, timeout=90)
        shutil.rmtree(self.base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run a private PostgreSQL cluster on loopback until Ctrl-C.")
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--database", default="airflow")
    args = ap.parse_args(argv)
    try:
        pg = PgCluster.start_new(port=args.port, database=args.database)
    except PostgresUnavailable as exc:
        print(f"pg_cluster: {exc}", file=sys.stderr)
        return 1
    with pg:
        print(f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN={pg.sqlalchemy_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
