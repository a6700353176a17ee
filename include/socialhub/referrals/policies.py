"""What a referral cites and where it goes: ``policies.yaml``, validated.

``load_policies()`` reads ``SOCIALHUB_REFERRAL_POLICIES`` (a path) or the packaged
``policies.yaml``; every problem in the file is named in one ``ConfigError``. ``Policies.cite``
answers, for one platform and category, the channel, the address, the platform rule and the law,
falling back per field to the ``default`` section; ``Policies.notifier`` the unit that notifies
and its mailbox (per force, else the default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from socialhub.errors import ConfigError
from socialhub.models import CATEGORIES, PLATFORMS

ENV = "SOCIALHUB_REFERRAL_POLICIES"
DEFAULT_PATH = Path(__file__).resolve().parent / "policies.yaml"
Channel = Literal["trusted_flagger_portal", "email", "api"]
CHANNEL_WORDS = {"trusted_flagger_portal": "trusted-flagger portal", "email": "email", "api": "API"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Citation(_Strict):
    policy: str | None = Field(default=None, min_length=3)
    law: str | None = Field(default=None, min_length=3)


class Route(_Strict):
    channel: Channel | None = None
    address: str | None = Field(default=None, min_length=3)
    categories: dict[str, Citation] = Field(default_factory=dict)


class DefaultRoute(Route):
    channel: Channel = "email"
    address: str = Field(min_length=3)


class Contact(_Strict):
    name: str = Field(min_length=3)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Notifier(_Strict):
    default: Contact
    forces: dict[str, Contact] = Field(default_factory=dict)


class PoliciesFile(_Strict):
    version: Literal[1] = 1
    notifier: Notifier
    default: DefaultRoute
    platforms: dict[str, Route] = Field(default_factory=dict)


@dataclass(frozen=True)
class Cited:
    """What one referral cites: the platform rule and the law, where the notice goes, who sends it."""

    platform: str
    category: str
    channel: str
    address: str
    policy: str
    law: str

    def to_dict(self) -> dict[str, str]:
        return {"platform": self.platform, "category": self.category, "channel": self.channel,
                "address": self.address, "policy": self.policy, "law": self.law}


@dataclass(frozen=True)
class Policies:
    config: PoliciesFile
    source: str

    def cite(self, platform: str, category: str) -> Cited:
        route = self.config.platforms.get(platform) or Route()
        default = self.config.default
        mine = route.categories.get(category) or Citation()
        fallback = default.categories.get(category) or Citation()
        return Cited(platform=platform, category=category, channel=route.channel or default.channel,
                     address=route.address or default.address,
                     policy=mine.policy or fallback.policy or "the platform's terms of service",
                     law=mine.law or fallback.law or "not stated (a platform-rule referral)")

    def notifier(self, force: str) -> Contact:
        return self.config.notifier.forces.get(force) or self.config.notifier.default


def _problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()]


def parse_policies(text: str, source: str) -> Policies:
    """Validate the text of a policies file; every problem is named in one ``ConfigError``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"referral policies {source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"referral policies {source}: the top level must be a mapping with `notifier:`, "
                          "`default:` and `platforms:`")
    try:
        config = PoliciesFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"referral policies {source} is invalid:\n  " + "\n  ".join(_problems(exc)),
                          hint=f"fix each line listed (the file is {source})") from None
    problems = [f"platforms.{p}: unknown platform (known: {', '.join(PLATFORMS)})"
                for p in config.platforms if p not in PLATFORMS]
    for where, route in [("default", config.default), *((f"platforms.{p}", r) for p, r in config.platforms.items())]:
        problems += [f"{where}.categories.{c}: unknown category (known: {', '.join(CATEGORIES)})"
                     for c in route.categories if c not in CATEGORIES]
    problems += [f"default.categories.{c}: no law or platform rule given" for c in CATEGORIES
                 if not (config.default.categories.get(c) or Citation()).law
                 and not (config.default.categories.get(c) or Citation()).policy]
    if problems:
        raise ConfigError(f"referral policies {source} is invalid:\n  " + "\n  ".join(problems),
                          hint=f"fix each line listed (the file is {source})")
    return Policies(config, source)


def load_policies(path: str | os.PathLike[str] | None = None) -> Policies:
    """The policies file: ``path``, else ``$SOCIALHUB_REFERRAL_POLICIES``, else the packaged one."""
    chosen = Path(path) if path else Path(os.environ[ENV]) if os.environ.get(ENV, "").strip() else DEFAULT_PATH
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"referral policies {chosen} cannot be read: {exc.strerror or exc}",
                          hint=f"set {ENV} to the policies file, or unset it for the packaged one") from None
    return parse_policies(text, str(chosen))


__all__ = ["Cited", "Policies", "load_policies", "parse_policies", "CHANNEL_WORDS", "ENV"]
