"""The subject category of a watched account: who the account holder is to the police.

Every watchlist entry says whether its account belongs to a ``suspect``, a ``victim``, a
``witness``, someone ``at_risk``, or ``unknown`` (the default, which the hub reminds the owner
to set). The category travels with the account's data (batch manifests, results, alerts) so
that alerts, review pages and reports can say it, retention can differ by it, and no report or
list ever shows victims or witnesses among suspects (the ICO's 2018 review of the Metropolitan
Police's Gangs Matrix found victims were not told apart from suspects).

Data written before the category existed has none: it reads as ``unknown`` wherever a decision
rests on it (retention, grouping) and is shown as "not recorded".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

Subject = Literal["suspect", "victim", "witness", "at_risk", "unknown"]

#: every category, in the order reports group them (suspects, then the safeguarding groups, then unknown)
SUBJECTS: tuple[str, ...] = ("suspect", "victim", "witness", "at_risk", "unknown")
#: the categories whose accounts are watched to protect the person, not to enforce against them
SAFEGUARDING: frozenset[str] = frozenset({"victim", "witness", "at_risk"})
DEFAULT = "unknown"
#: what a record written before the category existed shows
NOT_RECORDED = "not recorded"

_NAMES = {"suspect": "suspect", "victim": "victim", "witness": "witness", "at_risk": "at risk", "unknown": "unknown"}
_GROUP_TITLES = {"suspect": "Suspects", "victim": "Victims — safeguarding, not enforcement",
                 "witness": "Witnesses — safeguarding, not enforcement",
                 "at_risk": "People at risk — safeguarding, not enforcement",
                 "unknown": "Subject category unknown or not recorded"}


def normalise(value: object) -> str:
    """The category of a stored value: one of ``SUBJECTS``; anything else (absent, old, mangled) is ``unknown``."""
    return value if isinstance(value, str) and value in SUBJECTS else DEFAULT


def recorded(value: object) -> bool:
    """True when a stored record names a category (records from before it existed do not)."""
    return isinstance(value, str) and value in SUBJECTS


def of(record: Mapping[str, Any] | None) -> str:
    """The category a manifest, result record, curated row or alert dict carries (``unknown`` if none)."""
    return normalise((record or {}).get("subject"))


def name(value: object) -> str:
    """The category in words: ``at risk``; "not recorded" for a record without one."""
    return _NAMES[value] if isinstance(value, str) and value in _NAMES else NOT_RECORDED


def describe(value: object) -> str:
    """One short phrase for an officer: ``victim — safeguarding, not enforcement``, ``suspect``,
    ``unknown (not set on the watchlist)``, or ``not recorded`` (data from before the category)."""
    if not recorded(value):
        return NOT_RECORDED
    assert isinstance(value, str)
    if value in SAFEGUARDING:
        return f"{_NAMES[value]} — safeguarding, not enforcement"
    if value == DEFAULT:
        return "unknown (not set on the watchlist)"
    return _NAMES[value]


def group_title(value: object) -> str:
    """The heading of a report group: ``Suspects``, ``Victims — safeguarding, not enforcement``..."""
    return _GROUP_TITLES[normalise(value)]


def rank(value: object) -> int:
    """Sort key: reports list one category after another, never interleaved."""
    return SUBJECTS.index(normalise(value))


def unset(entries: Iterable[Any]) -> list[Any]:
    """The watchlist entries whose category is still ``unknown`` (their owners should set it)."""
    return [e for e in entries if getattr(e, "subject", DEFAULT) == DEFAULT]


def reminder(entries: Iterable[Any]) -> str | None:
    """One line reminding owners to set the category of entries still ``unknown``; ``None`` if none is."""
    left = unset(entries)
    if not left:
        return None
    owners = sorted({str(getattr(e, "owner", "")) for e in left if getattr(e, "owner", "")})
    keys = ", ".join(str(getattr(e, "key", "?")) for e in left)
    return (f"{len(left)} entr{'y' if len(left) == 1 else 'ies'} with subject: unknown ({keys}): set suspect, "
            f"victim, witness or at_risk" + (f" (owner{'s' if len(owners) > 1 else ''}: {', '.join(owners)})"
                                             if owners else ""))


__all__ = ["DEFAULT", "NOT_RECORDED", "SAFEGUARDING", "SUBJECTS", "Subject", "describe", "group_title", "name",
           "normalise", "of", "rank", "recorded", "reminder", "unset"]
