from __future__ import annotations

from pathlib import Path

import pytest

from socialhub.alerts.routing import DEFAULT_ROUTING_PATH, RouteDecision, Routing
from socialhub.errors import ConfigError

from ._factory import make_alert

HIGH = {"labels": ["violence_threat"], "scores": {"violence_threat": 0.95}}
NORMAL = {"labels": ["weapon"], "scores": {"weapon": 0.5}}


@pytest.fixture(scope="module")
def routing() -> Routing:
    return Routing.load(DEFAULT_ROUTING_PATH)


@pytest.mark.parametrize(
    ("force", "team", "severity", "expected"),
    [
        ("example-constabulary", "gangs", NORMAL, RouteDecision("C0EXGANGS01", "on_duty", "team", "normal")),
        # High severity still goes to the on-duty team unless the route says otherwise.
        ("example-constabulary", "gangs", HIGH, RouteDecision("C0EXGANGS01", "on_duty", "team", "high")),
        ("example-constabulary", "public-order", HIGH,
         RouteDecision("#exc-duty-inspector", "escalation", "team", "high")),
        ("example-constabulary", "public-order", NORMAL,
         RouteDecision("#exc-public-order", "on_duty", "team", "normal")),
        ("Example-Constabulary ", " GANGS", NORMAL, RouteDecision("C0EXGANGS01", "on_duty", "team", "normal")),
        ("example-constabulary", "unknown-team", NORMAL,
         RouteDecision("#exc-social-monitoring", "on_duty", "force", "normal")),
        ("example-metropolitan", "violent-crime", HIGH,
         RouteDecision("#exm-violent-crime", "on_duty", "team", "high")),
        # A force with no default: unknown teams fall back to the top-level default.
        ("example-metropolitan", "other", NORMAL, RouteDecision("#socialhub-alerts", "on_duty", "default", "normal")),
        ("unknown-force", "gangs", HIGH, RouteDecision("#socialhub-alerts", "on_duty", "default", "high")),
    ],
)
def test_example_routing(routing: Routing, force: str, team: str, severity: dict, expected: RouteDecision) -> None:
    alert = make_alert(force=force, team=team, **severity)
    assert routing.decide(alert) == expected
    assert routing.channel_for(alert) == expected.channel


def _routing(**overrides) -> Routing:
    data = {
        "version": 1,
        "default": {"on_duty": "#duty", "escalation": "#esc"},
        "forces": {
            "f": {"default": {"on_duty": "#f-duty", "escalation": "#f-esc"},
                  "teams": {"t": {"on_duty": "#t-duty", "escalation": "#t-esc"}}},
        },
    }
    data.update(overrides)
    return Routing.from_dict(data)


def test_global_high_to_escalation_applies_everywhere_but_never_to_normal() -> None:
    routing = _routing(high_to_escalation=True)
    assert routing.channel_for(make_alert(force="f", team="t", **HIGH)) == "#t-esc"
    assert routing.channel_for(make_alert(force="f", team="x", **HIGH)) == "#f-esc"
    assert routing.channel_for(make_alert(force="g", team="x", **HIGH)) == "#esc"
    assert routing.channel_for(make_alert(force="f", team="t", **NORMAL)) == "#t-duty"


def test_most_specific_high_to_escalation_wins() -> None:
    routing = _routing(high_to_escalation=True, forces={
        "f": {"default": {"on_duty": "#f-duty", "escalation": "#f-esc", "high_to_escalation": False},
              "teams": {"t": {"on_duty": "#t-duty", "escalation": "#t-esc"},
                        "u": {"on_duty": "#u-duty", "escalation": "#u-esc", "high_to_escalation": True}}}})
    assert routing.channel_for(make_alert(force="f", team="t", **HIGH)) == "#t-duty"   # inherits force: False
    assert routing.channel_for(make_alert(force="f", team="u", **HIGH)) == "#u-esc"
    assert routing.channel_for(make_alert(force="other", team="t", **HIGH)) == "#esc"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("default: {on_duty: '#a', escalation: 'general'}", "default.escalation"),
        ("default: {on_duty: '#A-Caps', escalation: '#b'}", "default.on_duty"),
        ("default: {on_duty: '#a', escalation: '#b', extra: 1}", "default.extra"),
        ("forces: {}", "default"),
        ("version: 2\ndefault: {on_duty: '#a', escalation: '#b'}", "version"),
        ("default: {on_duty: '#a', escalation: '#b'}\nforces: {f: {teams: {t: {on_duty: '#c'}}}}",
         "forces.f.teams.t.escalation"),
        ("default: {on_duty: '#a', escalation: '#b'}\nforces: {F: {}, ' f ': {}}", "same ignoring case"),
        ("default: {on_duty: '#a', escalation: '#b'}\nforces:\n  f: {}\n  f: {}\n", "duplicate key 'f'"),
        ("default: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("", "must be a mapping"),
    ],
)
def test_bad_routing_files_raise_config_error_naming_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Routing.load(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_missing_routing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Routing.load(tmp_path / "nope.yaml")


def test_platform_channel(routing: Routing) -> None:
    assert routing.platform_channel == "#socialhub-platform"
    # Unset: pipeline failures reach the on-duty channel rather than nobody.
    assert _routing().platform_channel == "#duty"
    with pytest.raises(ConfigError, match="platform_team"):
        _routing(platform_team="not a channel")
