"""The public address of the Airflow UI, for the Review links in alerts (importable without Airflow).

An alert is read in Slack (or the outbox, an email) by officers on their own machines, often
long after the process that sent it has gone: a link must use the address those officers can
open, not the address the api-server happened to listen on. So the address is configured:

1. ``SOCIALHUB_AIRFLOW_PUBLIC_URL``: the Airflow UI as officers reach it
   (``https://airflow.hub.example.police.uk``). ``none`` (or ``off``) means: there is no such
   address, make no links (the local demo sets it, because its api-server stops when the demo ends);
2. inside Airflow, when the variable is not set: Airflow's own ``[api] base_url``
   (``socialhub_airflow.review.base_url``);
3. otherwise no link: the alert says so in plain words and tells the officer where to look
   (``socialhub.alerts.present.NO_REVIEW_LINK``) rather than showing a dead link.

Only an absolute ``http(s)`` URL is accepted (``blocks.safe_url``); anything else counts as
not configured, and a warning says so once per process.

The socialhub web app inside Airflow's API server (the Auditors page and the media routes,
``socialhub_airflow.auditors``) is mounted under :data:`APP_PREFIX`; it is defined here so that
core code (the review page's media links) can name it without importing the plugin.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from urllib.parse import urlencode

log = logging.getLogger(__name__)

ENV = "SOCIALHUB_AIRFLOW_PUBLIC_URL"
#: where the plugin's app (Auditors page, media previews and reveals) is mounted in Airflow's API server
APP_PREFIX = "/socialhub-audit"
_OFF = frozenset({"none", "off", "no", "false", "0", "-"})
_warned: set[str] = set()


def configured_public_url(env: Mapping[str, str] | None = None) -> tuple[bool, str | None]:
    """(whether ``SOCIALHUB_AIRFLOW_PUBLIC_URL`` decides, the URL or ``None``).

    ``(False, None)``: not set, the caller may fall back to Airflow's ``[api] base_url``;
    ``(True, None)``: set to ``none`` or to something that is not an http(s) URL: no links.
    """
    from socialhub.alerts.blocks import safe_url

    value = (os.environ if env is None else env).get(ENV, "").strip()
    if not value:
        return False, None
    if value.casefold() in _OFF:
        return True, None
    url = safe_url(value)
    if url is None:
        if value not in _warned:
            _warned.add(value)
            log.warning("%s=%r is not an absolute http(s) URL: alerts will carry no Review link", ENV, value[:200])
        return True, None
    return True, url.rstrip("/")


def public_url(env: Mapping[str, str] | None = None, fallback: str | None = None) -> str | None:
    """The Airflow UI's public address: ``SOCIALHUB_AIRFLOW_PUBLIC_URL``, else ``fallback``
    (Airflow's ``[api] base_url`` when the caller runs inside Airflow), else ``None``."""
    from socialhub.alerts.blocks import safe_url

    decided, url = configured_public_url(env)
    if decided:
        return url
    url = safe_url(fallback) if fallback else None
    return url.rstrip("/") if url else None


def alert_review_url(alert_id: str, base: str | None) -> str | None:
    """The alert's Review link: Airflow's Required Actions page filtered to this alert.

    The alert is sent before its review task exists, so the link searches by the alert id
    (which every review subject contains) instead of naming a task; the review DAG then posts
    the exact task link in the alert's thread.
    """
    return f"{base.rstrip('/')}/required_actions?{urlencode({'subject_search': alert_id})}" if base else None


def media_path(sha256: str, which: str, alert_id: str | None = None) -> str:
    """The path (under Airflow's address) of a stored media item's ``preview`` (blurred JPEG) or
    ``full`` (the deliberate, audited reveal). Served from the store, never the platform."""
    from socialhub.media.store import preview_key

    preview_key(sha256)  # raises ValueError unless a SHA-256 hex digest
    tail = {"preview": "preview.jpg", "full": "full"}[which]
    query = f"?{urlencode({'alert': alert_id})}" if alert_id else ""
    return f"{APP_PREFIX}/media/{sha256}/{tail}{query}"


def media_url(sha256: str, which: str, base: str | None, alert_id: str | None = None) -> str | None:
    """``media_path`` on the public Airflow address ``base``; ``None`` without one."""
    return f"{base.rstrip('/')}{media_path(sha256, which, alert_id)}" if base else None
