"""The pieces of the CeleryExecutor test that need no Airflow start-up: installing Redis is `make
redis-deps`'s job alone (announced first; the test fixture never installs), the private redis-server
helper, and the workers' Celery configuration (lazy, so the plugin manager's import of every file
under plugins/ costs nothing).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

import redis_server  # noqa: E402


def test_make_test_runs_redis_deps_first_and_the_target_says_what_it_does() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("test:", "test-postgres:"):
        line = next(li for li in makefile.splitlines() if li.startswith(target))
        assert "redis-deps" in line.split("##")[0], target
    out = subprocess.run(["make", "-s", "redis-deps"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0
    # either it is there ("nothing to do", naming it), or the install is announced before it runs,
    # or it says why it cannot install (no apt-get, no root)
    assert ("redis-deps: redis-server is installed" in out.stdout or "Installing Debian's redis-server" in out.stdout
            or "needs root" in out.stdout or "no apt-get here" in out.stdout), out.stdout


def test_a_missing_redis_server_is_reported_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    monkeypatch.setattr(redis_server, "CANDIDATES", ())
    with pytest.raises(redis_server.RedisUnavailable, match="make redis-deps"):
        redis_server.RedisServer.start_new()


def test_the_private_redis_server_needs_its_password_keeps_nothing_and_is_removed() -> None:
    try:
        redis_server.find_redis_server()
    except redis_server.RedisUnavailable as exc:
        pytest.skip(f"redis-server is not installed (run `make redis-deps`): {exc}")
    redis = pytest.importorskip("redis")
    with redis_server.RedisServer.start_new() as server:
        assert server.ping()
        client = redis.Redis.from_url(server.url(1))
        client.set("k", "v")
        assert client.get("k") == b"v"
        assert client.config_get("save") == {"save": ""} and client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=server.port, password="wrong").ping()
        with pytest.raises(redis.AuthenticationError, match="required"):
            redis.Redis(host="127.0.0.1", port=server.port).ping()
        # the password is not on the command line (ps shows it to every user)
        cmdline = Path(f"/proc/{server.proc.pid}/cmdline").read_bytes() if server.proc else b""
        assert server.password.encode() not in cmdline
        base = server.base
    assert not base.exists()
    assert server.proc is not None and server.proc.poll() is not None


def test_the_celery_configuration_is_lazy_and_preloads_the_task_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    sys.modules.pop("socialhub_airflow.celery_config", None)
    sys.modules.pop("airflow.providers.celery.executors.default_celery", None)
    module = importlib.import_module("socialhub_airflow.celery_config")
    assert "airflow.providers.celery.executors.default_celery" not in sys.modules, \
        "importing the plugin file must not build Celery's configuration"
    assert "great_expectations" in module.DEFAULT_PRELOAD and "airflow.sdk.execution_time.task_runner" in module.DEFAULT_PRELOAD
    assert module.preload_modules("a.b, c ,") == ("a.b", "c")
    assert module.preload_modules("") == ()
    monkeypatch.delenv("SOCIALHUB_CELERY_PRELOAD", raising=False)
    assert module.preload_modules() == module.DEFAULT_PRELOAD
    config = module.CELERY_CONFIG
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    assert config["imports"] == module.DEFAULT_PRELOAD
    assert {k: v for k, v in config.items() if k != "imports"} == {
        k: v for k, v in DEFAULT_CELERY_CONFIG.items() if k != "imports"}
    with pytest.raises(AttributeError):
        module.NOT_A_SETTING  # noqa: B018
    sys.modules.pop("socialhub_airflow.celery_config", None)
