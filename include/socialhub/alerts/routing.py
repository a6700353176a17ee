"""Which Slack channel an alert goes to, per force and team, from ``routing.yaml``.

Every route names two channels: ``on_duty`` (the team that triages) and ``escalation`` (a
supervisors' channel). By default **every** alert, high severity included, goes to ``on_duty``:
the on-duty officers are the ones who decide, and a high-severity alert that skipped them would
reach people who are not watching for it. High severity is instead *marked* in the message
header. A deployment that wants supervisors to receive high-severity alerts directly sets
``high_to_escalation: true`` globally or on a single force default or team route (the most
specific setting wins).

A route may also name its ``reviewers``: the Airflow users who may answer the officer review of
its alerts (the review task's ``assigned_users``); a team without its own inherits its force
default's, then the top-level default's; none anywhere means anyone with the officer role.

Lookup order: ``forces.<force>.teams.<team>``, then ``forces.<force>.default``, then the
top-level ``default``. Force and team names are matched case-insensitively with surrounding
whitespace ignored, because they come from a hand-edited watchlist; two keys that match the
same way are a configuration error rather than a silent overwrite. An unknown force or team
never drops an alert: it goes to the default route, and ``RouteDecision.matched`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from socialhub.alerts.model import Alert
from socialhub.errors import ConfigError

#: A Slack channel: an id (``C…``/``G…`` public/private, ``D…`` DM) or ``#name`` as Slack allows
#: names (lowercase letters, digits, ``-``, ``_``; at most 80).
CHANNEL_PATTERN = r"^(?:[CGD][A-Z0-9]{8,}|#[a-z0-9][a-z0-9_-]{0,79})$"
Channel = Annotated[str, Field(pattern=CHANNEL_PATTERN)]

DEFAULT_ROUTING_PATH = Path(__file__).with_name("routing.yaml")


def _norm(name: str) -> str:
    return name.strip().casefold()


class Reviewer(BaseModel):
    """An Airflow user who may answer this route's reviews: ``id`` as the auth manager knows the user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=256)
    name: str | None = Field(default=None, min_length=1, max_length=256)


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    on_duty: Channel
    escalation: Channel
    high_to_escalation: bool | None = None   # None: inherit from the force default / top level
    response_minutes: float | None = Field(default=None, gt=0)  # review response time; None: top level
    #: who may answer the reviews of this route's alerts (Airflow HITL ``assigned_users``);
    #: None: inherit from the force default, then the top-level default; [] : anyone the review DAG allows
    reviewers: tuple[Reviewer, ...] | None = None


class ForceRoutes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Route | None = None
    teams: dict[str, Route] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_teams(self) -> ForceRoutes:
        _check_unique(self.teams, "team")
        return self


class RoutingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    high_to_escalation: bool = False
    response_minutes: float | None = Field(default=None, gt=0)  # officer review: escalate after this; None: 30
    default: Route
    platform_team: Channel | None = None     # pipeline failures (not alerts); see Routing.platform_channel
    forces: dict[str, ForceRoutes] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_forces(self) -> RoutingConfig:
        _check_unique(self.forces, "force")
        return self


def _check_unique(mapping: dict[str, Any], what: str) -> None:
    seen: dict[str, str] = {}
    for key in mapping:
        if not key.strip():
            raise ValueError(f"empty {what} name")
        n = _norm(key)
        if n in seen:
            raise ValueError(f"{what} names {seen[n]!r} and {key!r} are the same ignoring case/spaces")
        seen[n] = key


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where an alert goes and why: ``matched`` is ``"team"``, ``"force"`` or ``"default"``."""

    channel: str
    kind: Literal["on_duty", "escalation"]
    matched: Literal["team", "force", "default"]
    severity: str


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two duplicate keys; for routing that is a silent misroute."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        keys.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class Routing:
    """Validated routing table. Build with ``Routing.load(path)`` or ``Routing.from_dict``."""

    def __init__(self, config: RoutingConfig, source: str = "<routing>") -> None:
        self.config = config
        self.source = source
        self._forces = {_norm(k): v for k, v in config.forces.items()}
        self._teams = {f: {_norm(t): r for t, r in fr.teams.items()} for f, fr in self._forces.items()}

    @classmethod
    def load(cls, path: Path | str = DEFAULT_ROUTING_PATH) -> Routing:
        """Read and validate a routing file; every problem is reported as one ``ConfigError``."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read routing file: {exc.strerror or exc}") from None
        try:
            data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<routing>") -> Routing:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: routing must be a mapping with at least a 'default' route")
        try:
            config = RoutingConfig.model_validate(data)
        except ValidationError as exc:
            problems = "\n".join(
                f"  - {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{source}: {exc.error_count()} problem(s):\n{problems}",
                              hint="channels are Slack ids (C0123ABCD) or #lowercase-names; "
                                   "see include/socialhub/alerts/routing.yaml") from None
        return cls(config, source=source)

    @property
    def platform_channel(self) -> str:
        """Where pipeline failures are reported: ``platform_team``, else the default on-duty channel.

        The fallback is deliberate: if collection or alerting breaks, the officers relying on
        alerts must learn that alerts have stopped, rather than assume a quiet shift.
        """
        return self.config.platform_team or self.config.default.on_duty

    def route_for(self, force: str, team: str) -> tuple[Route, Literal["team", "force", "default"], bool]:
        """The route for a force/team, how it matched, and the effective ``high_to_escalation``."""
        high = self.config.high_to_escalation
        force_routes = self._forces.get(_norm(force))
        if force_routes is not None and force_routes.default is not None \
                and force_routes.default.high_to_escalation is not None:
            high = force_routes.default.high_to_escalation
        team_route = self._teams.get(_norm(force), {}).get(_norm(team))
        if team_route is not None:
            route, matched = team_route, "team"
        elif force_routes is not None and force_routes.default is not None:
            route, matched = force_routes.default, "force"
        else:
            route, matched = self.config.default, "default"
            high = self.config.high_to_escalation if route.high_to_escalation is None else route.high_to_escalation
        if matched != "default" and route.high_to_escalation is not None:
            high = route.high_to_escalation
        return route, matched, high  # type: ignore[return-value]

    def reviewers_for(self, force: str, team: str) -> list[Reviewer]:
        """Who may answer a review for ``force``/``team``: the team route's ``reviewers``, else the
        force default's, else the top-level default's; empty means anyone the review DAG's
        access control allows (the ``socialhub_officer`` role)."""
        force_routes = self._forces.get(_norm(force))
        chain = [self._teams.get(_norm(force), {}).get(_norm(team)),
                 force_routes.default if force_routes is not None else None, self.config.default]
        for route in chain:
            if route is not None and route.reviewers is not None:
                return list(route.reviewers)
        return []

    def decide(self, alert: Alert) -> RouteDecision:
        route, matched, high_to_escalation = self.route_for(alert.force, alert.team)
        severity = alert.severity
        if severity == "high" and high_to_escalation:
            return RouteDecision(route.escalation, "escalation", matched, severity)
        return RouteDecision(route.on_duty, "on_duty", matched, severity)

    def channel_for(self, alert: Alert) -> str:
        """The channel to post ``alert`` to (see the module docstring for the rules)."""
        return self.decide(alert).channel
