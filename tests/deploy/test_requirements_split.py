"""The image's runtime requirements (requirements-runtime.txt) against the full pinned set.

requirements.txt is what `make install` gives the development venv; requirements-runtime.txt, generated
by scripts/runtime_requirements.py, is what the Dockerfile installs. The closure of the runtime roots is
recomputed here from the installed metadata, so adding a runtime dependency without regenerating the
file fails this test.
"""

from __future__ import annotations

import importlib.util

import pytest
from packaging.utils import canonicalize_name

from tests.deploy.compose import ROOT

spec = importlib.util.spec_from_file_location("runtime_requirements", ROOT / "scripts" / "runtime_requirements.py")
assert spec and spec.loader
rr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rr)

RUNTIME = ROOT / "requirements-runtime.txt"


@pytest.fixture(scope="module")
def runtime():
    return rr.pins(RUNTIME)


@pytest.fixture(scope="module")
def full():
    return rr.pins(ROOT / "requirements.txt")


def test_runtime_is_a_subset_of_requirements_with_the_same_pins(runtime, full):
    assert runtime, "requirements-runtime.txt is empty"
    for name, (_, version) in runtime.items():
        assert name in full, f"{name} is in requirements-runtime.txt but not in requirements.txt"
        assert full[name][1] == version, f"{name}: {version} in the runtime file, {full[name][1]} in requirements.txt"


@pytest.mark.parametrize("name", ["pytest", "hypothesis", "moto", "ruff", "mypy", "mypy-extensions",
                                  "types-pyyaml", "iniconfig", "flask-cors", "responses", "aws-xray-sdk",
                                  "cfn-lint", "docker", "scikit-learn", "pip", "setuptools", "uv"])
def test_no_development_or_training_only_distribution(runtime, name):
    assert canonicalize_name(name) not in runtime, f"{name} must not be in the image"


def test_contains_the_closure_of_the_runtime_roots(runtime):
    needed = {n for n in rr.closure() if not rr.is_dev_only(n)}
    missing = sorted(needed - set(runtime))
    assert not missing, f"runtime dependencies missing from requirements-runtime.txt (regenerate it): {missing}"
    extra = sorted(set(runtime) - needed)
    assert not extra, f"in requirements-runtime.txt but not needed at run time (regenerate it): {extra}"


@pytest.mark.parametrize("name", ["apache-airflow", "apache-airflow-providers-amazon", "apache-airflow-providers-slack",
                                  "apache-airflow-providers-standard", "apache-airflow-providers-common-io",
                                  "great-expectations", "boto3", "slack-sdk", "pydantic", "pydantic-settings",
                                  "pyyaml", "httpx", "tenacity", "beautifulsoup4", "defusedxml", "numpy",
                                  "pillow", "pdqhash", "psycopg2-binary", "pandas", "jinja2", "fastapi", "requests",
                                  # the production stack (docker-compose.yml): CeleryExecutor + Redis broker, FabAuthManager
                                  "apache-airflow-providers-celery", "celery", "redis",
                                  "apache-airflow-providers-fab", "flask-appbuilder"])
def test_what_the_pipeline_imports_is_there(runtime, name):
    assert canonicalize_name(name) in runtime, name


def test_the_file_is_what_the_script_writes():
    assert RUNTIME.read_text() == rr.render(), "stale: run .venv/bin/python scripts/runtime_requirements.py"


def test_pyproject_dependencies_are_runtime_roots():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["pipeline"]]
    roots = {canonicalize_name(r) for r in rr.RUNTIME_ROOTS}
    for spec_text in declared:
        from packaging.requirements import Requirement

        assert canonicalize_name(Requirement(spec_text).name) in roots, spec_text
