"""The Dockerfile the compose stack builds, validated structurally (no Docker engine here)."""

from __future__ import annotations

import re
import shlex
import tomllib

import pytest

from tests.deploy.compose import DOCKERFILE, ROOT


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        op, _, args = buf.partition(" ")
        out.append((op.upper(), args.strip()))
        buf = ""
    assert not buf, "Dockerfile ends inside a continued line"
    return out


def pinned(name: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.lower().startswith(f"{name}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{name} is not pinned in requirements.txt")


def test_known_instructions_only():
    known = {"FROM", "ARG", "ENV", "USER", "COPY", "RUN", "WORKDIR", "LABEL", "EXPOSE", "ENTRYPOINT", "CMD"}
    ops = [op for op, _ in instructions()]
    assert set(ops) <= known, set(ops) - known
    assert ops[0] == "FROM" and ops.count("FROM") == 1


def test_base_image_is_the_official_airflow_matching_the_pins_and_python():
    image = dict(instructions())["FROM"]
    assert image == f"apache/airflow:{pinned('apache-airflow')}-python3.11"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=3.11"
    args = [a for op, a in instructions() if op == "ARG"]
    assert f"AIRFLOW_VERSION={pinned('apache-airflow')}" in args


def test_installs_the_pinned_requirements_without_moving_airflow_and_then_the_package():
    runs = " ".join(a for op, a in instructions() if op == "RUN")
    assert '"apache-airflow==${AIRFLOW_VERSION}" -r /tmp/requirements-runtime.txt' in runs
    # the runtime subset (tests/deploy/test_requirements_split.py), never the full development set
    assert "requirements-runtime.txt" in runs
    assert not re.search(r"(?<![-\w])requirements\.txt", runs), "the image must not install the development set"
    copies = [a for op, a in instructions() if op == "COPY"]
    assert any(a.split()[-2:-1] == ["requirements-runtime.txt"] for a in copies)
    assert not any(" requirements.txt " in f" {a} " for a in copies)
    assert re.search(r"pip install --no-cache-dir --no-deps /tmp/socialhub\b", runs)


def test_copied_sources_exist():
    for op, args in instructions():
        if op != "COPY":
            continue
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        for src in parts[:-1]:
            assert (ROOT / src).exists(), f"COPY source {src} does not exist"


def test_runs_as_the_airflow_user_and_sets_the_project_environment():
    users = [a for op, a in instructions() if op == "USER"]
    assert users and users[-1] == "airflow", "the image must not end as root"
    env = " ".join(a for op, a in instructions() if op == "ENV")
    for setting in ("PYTHONPATH=/opt/airflow/include", "GX_ANALYTICS_ENABLED=False",
                    "SOCIALHUB_WATCHLIST=/opt/airflow/include/watchlist.yaml"):
        assert setting in env
    copies = [a for op, a in instructions() if op == "COPY"]
    for folder in ("dags", "plugins", "include"):
        assert any(a.endswith(f"{folder} /opt/airflow/{folder}") for a in copies), folder


@pytest.mark.parametrize("name", ["great-expectations", "apache-airflow-providers-amazon",
                                  "apache-airflow-providers-slack", "boto3", "pydantic"])
def test_runtime_needs_are_in_the_requirements_the_image_installs(name):
    assert pinned(name)
    assert any(line.lower().startswith(f"{name}=={pinned(name)}")
               for line in (ROOT / "requirements-runtime.txt").read_text().splitlines())


def test_the_image_has_what_media_capture_needs():
    """OCR and video keyframes (docs/media.md) need Debian's tesseract-ocr and ffmpeg in the image,
    installed as root before the image drops back to the airflow user."""
    ops = instructions()
    runs = " ".join(a for op, a in ops if op == "RUN")
    for package in ("tesseract-ocr", "tesseract-ocr-eng", "ffmpeg"):
        assert re.search(rf"apt-get install [^&]*\b{package}\b", runs), package
    assert pinned("pdqhash") and pinned("pillow")
