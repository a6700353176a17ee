"""Who may answer a review (HITL assigned_users) comes from routing.yaml, inherited like the channels."""

from __future__ import annotations

import pytest

from socialhub.alerts.routing import Routing
from socialhub.errors import ConfigError

ROUTE = {"on_duty": "#on-duty", "escalation": "#escalation"}


def test_team_then_force_default_then_top_level_and_an_explicit_empty_list_opens_it():
    routing = Routing.from_dict({
        "default": dict(ROUTE, reviewers=[{"id": "duty.sgt"}]),
        "forces": {
            "met": {"default": dict(ROUTE, reviewers=[{"id": "met.insp", "name": "Insp Met"}]),
                    "teams": {"gangs": dict(ROUTE, reviewers=[{"id": "g1"}, {"id": "g2", "name": "DS G2"}]),
                              "open": dict(ROUTE, reviewers=[]),
                              "inherits": ROUTE}},
            "county": {"teams": {"lines": ROUTE}}}})
    ids = lambda force, team: [r.id for r in routing.reviewers_for(force, team)]  # noqa: E731
    assert ids("met", "gangs") == ["g1", "g2"]
    assert ids(" MET ", "Gangs") == ["g1", "g2"]              # names match as the channels do
    assert ids("met", "inherits") == ["met.insp"]             # the force default's
    assert ids("met", "open") == []                           # explicitly anyone with the officer role
    assert ids("county", "lines") == ["duty.sgt"]             # the top-level default's
    assert ids("unknown", "x") == ["duty.sgt"]


def test_the_shipped_routing_file_is_valid_and_a_reviewer_needs_an_id():
    Routing.load()
    with pytest.raises(ConfigError, match="reviewers"):
        Routing.from_dict({"default": dict(ROUTE, reviewers=[{"name": "no id"}])})
