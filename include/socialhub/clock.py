"""The pipeline's clock: the wall clock, or one moved by ``SOCIALHUB_NOW`` for the demo and tests.

``SOCIALHUB_NOW`` lets the demo (and a test) run as if on another day, so that a date that will
run out (a review-by date, the replay's post dates, a look-back window) can be tried today:

* ``+365d``, ``-2d``, ``+12h``, ``+30m``: the wall clock moved by that much (it keeps ticking);
* ``2027-12-03T12:00:00Z`` (an ISO 8601 instant with its offset): that instant, frozen.

It is honoured only where ``SOCIALHUB_LOCAL_DEFAULTS`` is set (the demo and the tests set it); in
production, where that is unset, a ``SOCIALHUB_NOW`` is refused with an error naming it rather
than silently putting every authorisation check and timestamp on a made-up day.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

from socialhub.errors import ConfigError

ENV = "SOCIALHUB_NOW"
_OFFSET = re.compile(r"([+-])(\d+)([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_now(value: str, wall: datetime) -> datetime:
    """The time ``value`` (an offset like ``+365d`` or an ISO instant) stands for at ``wall``."""
    raw = value.strip()
    match = _OFFSET.fullmatch(raw)
    if match:
        sign, amount, unit = match.groups()
        delta = timedelta(**{_UNITS[unit]: int(amount)})
        return wall + delta if sign == "+" else wall - delta
    try:
        instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ConfigError(f"{ENV}={value!r} is neither an offset nor an instant with a time zone",
                          hint="e.g. SOCIALHUB_NOW=+365d or SOCIALHUB_NOW=2027-12-03T12:00:00Z")
    return instant.astimezone(UTC)


def _local() -> bool:
    return os.environ.get("SOCIALHUB_LOCAL_DEFAULTS", "").strip().lower() not in ("", "0", "false", "no", "off",
                                                                                   "none")


def now(*, demo: bool = False) -> datetime:
    """The current time for the pipeline (UTC): the wall clock unless ``SOCIALHUB_NOW`` moves it.

    ``demo=True`` is for the ``socialhub demo`` process itself, which is local by definition (it
    sets ``SOCIALHUB_LOCAL_DEFAULTS`` for the Airflow commands it starts, not for itself).
    """
    wall = datetime.now(UTC)
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return wall
    if not (demo or _local()):
        raise ConfigError(f"{ENV} is set ({raw!r}) outside the demo and the tests",
                          hint="unset it: it is honoured only with SOCIALHUB_LOCAL_DEFAULTS (demo, tests)")
    return parse_now(raw, wall)
