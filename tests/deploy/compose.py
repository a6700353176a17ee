"""Helpers for validating docker-compose.yml without a Docker engine.

``interpolate`` implements Compose's variable substitution (``$VAR``, ``${VAR}``, ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``$$`` for a literal ``$``), so the tests can
resolve the file the way ``docker compose config`` would, with the values of ``.env.example``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"

_VAR = re.compile(r"""
    \$(?:
        (?P<escaped>\$)                                   # $$ -> $
      | \{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)
          (?:(?P<op>:?[-?+])(?P<arg>(?:[^{}]|\{[^{}]*\})*))?\}
      | (?P<bare>[A-Za-z_][A-Za-z0-9_]*)
    )""", re.X)


class InterpolationError(ValueError):
    pass


def variables(text: str) -> set[str]:
    """Every variable name the text refers to (``$$`` escapes excluded)."""
    names = set()
    for m in _VAR.finditer(text):
        name = m.group("braced") or m.group("bare")
        if name:
            names.add(name)
        if m.group("arg"):
            names |= variables(m.group("arg"))
    return names


def required_variables(text: str) -> set[str]:
    return {m.group("braced") for m in _VAR.finditer(text) if m.group("op") in (":?", "?")}


def strings(obj: Any) -> list[str]:
    """Every string (keys and values) of a parsed YAML document: what Compose interpolates
    (comments are not)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (*strings(k), *strings(v))]
    if isinstance(obj, list):
        return [s for item in obj for s in strings(item)]
    return []


def interpolate(text: str, env: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        value = env.get(name)
        if op is None:
            return value or ""
        unset_or_empty = value is None or value == ""
        missing = unset_or_empty if op.startswith(":") else value is None
        if op.endswith("-"):
            return interpolate(arg, env) if missing else value  # type: ignore[return-value]
        if op.endswith("?"):
            if missing:
                raise InterpolationError(f"required variable {name} is missing: {arg}")
            return value  # type: ignore[return-value]
        return "" if missing else interpolate(arg, env)  # ":+" / "+"

    return _VAR.sub(sub, text)


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=VALUE lines of a Compose .env file (comments and blank lines skipped, quotes removed)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def load(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose model: raw (env None) or interpolated with ``env``."""
    text = COMPOSE.read_text()
    if env is not None:
        text = interpolate(text, env)
    return yaml.safe_load(text)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def volume_specs(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each short-syntax volume."""
    out = []
    for spec in service.get("volumes") or []:
        if isinstance(spec, dict):
            out.append((str(spec.get("source", "")), str(spec["target"]), "ro" if spec.get("read_only") else "rw"))
            continue
        parts = str(spec).split(":")
        out.append((parts[0], parts[1] if len(parts) > 1 else parts[0], parts[2] if len(parts) > 2 else "rw"))
    return out
