"""Fixtures for the browser tests: a real headless Chromium and a real ``airflow api-server``.

The API server runs in its own AIRFLOW_HOME (SQLite, ``airflow db migrate``), on a free
loopback port, with SimpleAuthManager users and passwords from a file this fixture writes,
the project's plugins folder, and a socialhub store the real pipeline functions filled. It is
stopped (its whole process group) after the module. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.ui.cdp import Browser, find_chromium

USERS = {"alice": ("viewer", "alice-" + secrets.token_hex(6)),       # named auditor, Airflow viewer
         "bob": ("admin", "bob-" + secrets.token_hex(6))}             # Airflow admin, NOT an auditor


NO_CHROMIUM = ("chromium is not installed: run `make browser-deps` (it says what it will install before doing "
               "it), or install Chromium yourself")


def chromium_or_skip() -> str:
    """Debian's chromium, if installed. The tests never install anything: without it they skip and
    say how to get it (`make browser-deps`, which prints what it installs before doing it)."""
    found = find_chromium()
    if not found:
        pytest.skip(NO_CHROMIUM)
    return found


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    return chromium_or_skip()


@pytest.fixture(scope="module")
def plain_browser(chromium_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A browser for pages that need no API server (e.g. the written report file)."""
    b = Browser(chromium_binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def browser(chromium_binary: str, api_server: ApiServer, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Browser]:
    """Depends on the server only so that it closes first (its keep-alive connections would
    otherwise hold up the server's graceful shutdown)."""
    b = Browser(chromium_binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $SOCIALHUB_UI_SCREENSHOTS, else a pytest temporary folder."""
    d = Path(os.environ.get("SOCIALHUB_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass
class ApiServer:
    base_url: str
    store_path: Path
    scenario: object
    log: Path


def _env(home: Path, port: int, store: Path, watchlist: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "SOCIALHUB_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, (r, _) in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "SOCIALHUB_AUDITOR_USERS": "alice",
        "SOCIALHUB_STORE": str(store),
        "SOCIALHUB_WATCHLIST": str(watchlist),
        "GX_ANALYTICS_ENABLED": "False",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "plugins")]),
    })
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and its workers (its own process group), politely then firmly."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    from socialhub.storage import LocalStore
    from tests.ui.scenario import populate

    home = tmp_path_factory.mktemp("airflow-home")
    (home / "passwords.json").write_text(json.dumps({u: p for u, (_, p) in USERS.items()}))
    data = tmp_path_factory.mktemp("socialhub-data")
    port = free_port()
    env = _env(home, port, data / "store", data / "watchlist.yaml")
    airflow = str(Path(sys.executable).with_name("airflow"))
    log = home / "api-server.log"
    # the store is filled in a thread while Airflow migrates and starts (the server opens the
    # store per request, so it need not exist yet): the slow parts overlap
    filled: dict[str, object] = {}

    def fill() -> None:
        try:
            filled["scenario"] = populate(LocalStore(data / "store"), data)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            filled["error"] = exc

    filler = threading.Thread(target=fill, daemon=True)
    filler.start()
    with log.open("ab") as out:
        migrate = subprocess.run([airflow, "db", "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                 timeout=300, check=False)
    if migrate.returncode:
        pytest.fail(f"`airflow db migrate` failed; see {log}:\n{log.read_text()[-3000:]}")
    with log.open("ab") as out:
        proc = subprocess.Popen([airflow, "api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        import httpx

        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the API server exited ({proc.returncode}); see {log}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the API server did not answer within 180 s; see {log}")
            time.sleep(0.5)
        filler.join(timeout=300)
        if "scenario" not in filled:
            raise RuntimeError(f"filling the store failed: {filled.get('error', 'timed out')}")
        yield ApiServer(base, data / "store", filled["scenario"], log)
    finally:
        _stop(proc)
