"""A platform's Airflow Connection (``socialhub_<platform>``) -> a validated ``ConnectorConfig``.

Pure (no Airflow import): the hook passes the connection's fields in, so every rule is testable
without Airflow. A connection is typed in by hand (UI, ``AIRFLOW_CONN_*`` JSON, a secrets
backend), so everything is checked before the first request and **every** problem is reported
at once as ``InvalidConnection`` (a ``ConfigError``), one line per field, saying what is wrong
and what is expected. Secrets are never echoed: the password is only ever described, a URL is
shown without its user info and query, and unknown extras are named without their values.

Fields:

* ``host`` (+ ``schema`` as the scheme, ``port``) or extra ``base_url``: an ``http(s)`` URL with
  a host name, no ``user:password@``, no query or fragment, no ``.``/``..`` path segments (also
  percent-encoded). ``file:``, ``javascript:`` and friends are refused. Missing: the platform's
  public endpoint (rss: none, the feed URL is fetched directly).
* ``password``: the token or API key; surrounding whitespace is dropped, inner whitespace or
  control characters are refused (a header-injection risk). Required for X against
  ``api.x.com`` and for YouTube against the public Data API unless ``youtube_api`` is false.
* extras: see ``EXTRAS``; numbers may be JSON numbers or numeric strings, booleans real JSON
  booleans or ``"true"``/``"false"``. Unknown extras are logged (by name) and ignored.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from socialhub.errors import ConfigError, InvalidConnection
from socialhub.sources.base import ConnectorConfig
from socialhub.sources.http import printable

log = logging.getLogger(__name__)

_HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                      r"[A-Za-z0-9])?)*\.?$")
_SCHEME_ONLY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!\d)")   # "javascript:...", "file:..." (not "host:8080")
_BAD_TOKEN = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Extra:
    kind: str                    # "int", "float", "bool", "str", "url", "listings"
    low: float | None = None
    high: float | None = None
    platforms: tuple[str, ...] = ()   # empty: every platform
    what: str = ""


#: every extra a platform connection understands (anything else is logged and ignored)
EXTRAS: dict[str, Extra] = {
    "base_url": Extra("url", what="the API base URL (instead of host)"),
    "lookback_days": Extra("int", 0, 3650, what="days a first run looks back"),
    "max_pages": Extra("int", 1, 10_000, what="pages per account per run"),
    "page_size": Extra("int", 1, 1_000, what="items per page (each platform caps it)"),
    "timeout": Extra("float", 0.1, 600, what="seconds per HTTP read"),
    "max_wait": Extra("float", 0, 3_600, what="longest in-run wait for a rate-limit reset, seconds"),
    "rate_limit_reserve": Extra("int", 0, 100_000, what="requests kept in hand before a reset"),
    "max_body_bytes": Extra("int", 1, 2**31, what="largest response body read, bytes"),
    "user_agent": Extra("str", 1, 256, what="the User-Agent header"),
    "reddit_listings": Extra("listings", platforms=("reddit",), what="Reddit listings to read"),
    "token_url": Extra("url", platforms=("reddit",), what="the OAuth token endpoint (client credentials)"),
    "youtube_api": Extra("bool", platforms=("youtube",), what="use the Data API (false: RSS feed only)"),
    "max_units": Extra("int", 0, 1_000_000, platforms=("youtube",), what="YouTube API units one fetch may spend"),
    "rss_base_url": Extra("url", platforms=("youtube",), what="the YouTube feed endpoint"),
}

_CONFIG_FIELDS = ("lookback_days", "max_pages", "page_size", "timeout", "max_wait")   # -> ConnectorConfig


def _show(value: Any, limit: int = 60) -> str:
    """A value for a message: JSON literals as JSON, text printable, short and quoted."""
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    text = printable(value if isinstance(value, str) else json.dumps(value, default=str))
    return "'" + (text if len(text) <= limit else text[: limit - 1] + "…") + "'"


def show_url(url: str) -> str:
    """``url`` without user info, query and fragment (where credentials hide), printable and short."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return _show(url.split("?")[0].split("@")[-1])
    shown = f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme or host else parts.path
    return _show(shown, 120)


def check_url(url: str, field: str, problems: list[str]) -> None:
    """Append to ``problems`` what is wrong with ``url`` as an API base (nothing when it is fine)."""
    if _BAD_TOKEN.search(url):
        problems.append(f"{field}: contains whitespace or control characters; expected a URL like https://api.example.org")
        return
    scheme = _SCHEME_ONLY.match(url)
    if scheme and "://" not in url:
        problems.append(f"{field}: {scheme.group(1).lower()!r}: is a URL scheme, not a web address; "
                        f"expected https://host[:port][/path]")
        return
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        problems.append(f"{field}: {show_url(url)} is not a valid URL ({exc})")
        return
    if parts.scheme.lower() not in ("http", "https"):
        problems.append(f"{field}: scheme {parts.scheme.lower() or '(none)'!r} is not allowed; expected "
                        f"https://host[:port][/path] (http:// only for a local replay or proxy)")
        return
    if "@" in parts.netloc:
        problems.append(f"{field}: must not contain user:password@ (shown without it: {show_url(url)}); "
                        f"put the token in the connection's password")
    host = parts.hostname or ""
    if not host or not (_HOST_RE.match(host) or _is_ip(host)) or host.strip(".") in ("", ".."):
        problems.append(f"{field}: {show_url(url)} has no valid host name")
    if port == 0:
        problems.append(f"{field}: port 0 is not a port")
    if parts.query or parts.fragment:
        problems.append(f"{field}: must not contain ?query or #fragment (shown without it: {show_url(url)}); "
                        f"a key belongs in the connection's password")
    if any(part in (".", "..") for seg in parts.path.split("/") for part in re.split(r"[/\\]", unquote(seg))):
        problems.append(f"{field}: the path {_show(parts.path)} has . or .. segments (also percent-encoded); "
                        f"give the API's real base path")


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _number(name: str, spec: Extra, value: Any, problems: list[str]) -> float | int | None:
    want = "a whole number" if spec.kind == "int" else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.append(f"extra.{name}: {_show(value)} is not {want}; "
                        f"expected {want} from {spec.low:g} to {spec.high:g} ({spec.what})")
        return None
    try:
        number: float | int = int(value) if spec.kind == "int" and not isinstance(value, float) else float(value)
    except ValueError:
        problems.append(f"extra.{name}: {_show(value)} is not {want}; expected {want} from "
                        f"{spec.low:g} to {spec.high:g} ({spec.what})")
        return None
    if spec.kind == "int" and isinstance(number, float):
        if not number.is_integer():
            problems.append(f"extra.{name}: {value!r} is not a whole number ({spec.what})")
            return None
        number = int(number)
    if number != number or (spec.low is not None and number < spec.low) or (
            spec.high is not None and number > spec.high):
        problems.append(f"extra.{name}: {_show(value)} is out of range; expected {spec.low:g} to {spec.high:g} "
                        f"({spec.what})")
        return None
    return number


def _extra_value(platform: str, name: str, spec: Extra, value: Any, problems: list[str]) -> Any:
    if spec.kind in ("int", "float"):
        return _number(name, spec, value, problems)
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        problems.append(f"extra.{name}: {_show(value)} is not true or false ({spec.what})")
        return None
    if spec.kind == "str":
        if not isinstance(value, str) or not value.strip() or not value.isprintable() or len(value) > (spec.high or 256):
            problems.append(f"extra.{name}: {_show(value)} must be printable text of 1 to {spec.high:g} characters, "
                            f"without line breaks ({spec.what})")
            return None
        return value
    if spec.kind == "url":
        if not isinstance(value, str):
            problems.append(f"extra.{name}: {_show(value)} ({type(value).__name__}) is not a URL ({spec.what})")
            return None
        if value.strip():
            check_url(value.strip(), f"extra.{name}", problems)
        return value.strip()
    if spec.kind == "listings":
        from socialhub.sources.reddit import ALLOWED_LISTINGS

        if isinstance(value, str):
            value = [value]
        if (not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value)
                or set(value) - set(ALLOWED_LISTINGS)):
            problems.append(f"extra.{name}: {_show(value)} must be a list of {', '.join(ALLOWED_LISTINGS)} "
                            f"({spec.what})")
            return None
        return list(value)
    raise AssertionError(spec.kind)  # pragma: no cover


def parse_extra(extra: str | Mapping[str, Any] | None, problems: list[str]) -> dict[str, Any]:
    """The connection's extra as a dict: a JSON object (text or already parsed); else a problem."""
    if extra is None or extra == "":
        return {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError as exc:   # the message has positions only, never the content
            problems.append(f"extra: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                            f'expected a JSON object such as {{"page_size": 40}}')
            return {}
        except RecursionError:
            problems.append("extra: JSON nested too deeply")
            return {}
    if not isinstance(extra, Mapping):
        problems.append(f"extra: a JSON {type(extra).__name__} is not allowed; expected a JSON object such as "
                        f'{{"page_size": 40}}')
        return {}
    return dict(extra)


def connector_config_from_connection(
    platform: str,
    *,
    conn_id: str | None = None,
    host: str | None = None,
    schema: str | None = None,
    port: Any = None,
    login: str | None = None,
    password: str | None = None,
    extra: str | Mapping[str, Any] | None = None,
    lookback_days: int = 7,
    max_pages: int = 10,
    exists: bool = True,
) -> ConnectorConfig:
    """Validate one connection's fields and build the ``ConnectorConfig``.

    All arguments but ``platform`` are the connection's fields (``None`` when there is no
    connection: the public endpoint without a token, and ``exists=False`` so a message can say
    so). Reddit: with a ``login`` the connection holds an OAuth app's client credentials (login =
    client id, password = client secret), exchanged for hour-long app tokens; without one the
    password is a bearer token. ``lookback_days``/``max_pages`` are the run's defaults, which the connection's extras
    override. Raises ``InvalidConnection`` listing
    every problem, or ``ConfigError`` for an unknown platform.
    """
    from socialhub.sources.registry import PUBLIC_BASE_URLS

    if platform not in PUBLIC_BASE_URLS:
        raise ConfigError(f"no connector for platform {platform!r}; known: {', '.join(sorted(PUBLIC_BASE_URLS))}",
                          hint="fix the platform name")
    conn_id = conn_id or f"socialhub_{platform}"
    problems: list[str] = []
    values = parse_extra(extra, problems)

    # -- the endpoint ---------------------------------------------------------------------------
    base_url = values.pop("base_url", None)
    if base_url is not None and not isinstance(base_url, str):
        problems.append(f"extra.base_url: {_show(base_url)} ({type(base_url).__name__}) is not a URL")
        base_url = None
    base_url = (base_url or "").strip()
    if base_url:
        check_url(base_url, "extra.base_url", problems)
    elif host is not None and str(host).strip():
        base_url = _url_from_host(str(host).strip(), schema, port, problems)
    base_url = base_url.rstrip("/") if base_url else PUBLIC_BASE_URLS[platform]

    # -- the token ------------------------------------------------------------------------------
    token = None
    if password is not None and not isinstance(password, str):
        problems.append("password: not text (the value is not shown)")
    elif password and password.strip():
        token = password.strip()
        if _BAD_TOKEN.search(token):
            problems.append("password: contains whitespace or control characters inside the token (the value is "
                            "not shown); paste the token alone")
            token = None

    client_id = client_secret = None
    if platform == "reddit" and isinstance(login, str) and login.strip():
        client_id, client_secret, token = login.strip(), token, None
        if _BAD_TOKEN.search(client_id):
            problems.append("login: the Reddit client id contains whitespace or control characters")
        if not client_secret:
            problems.append("password: the Reddit app's client secret is missing (login holds the client id); put "
                            "the secret in the connection's password")

    # -- extras ---------------------------------------------------------------------------------
    settings: dict[str, Any] = {}
    unknown: list[str] = []
    for name in list(values):
        spec = EXTRAS.get(name) if isinstance(name, str) else None
        if spec is None or (spec.platforms and platform not in spec.platforms):
            unknown.append(str(name))
            continue
        value = _extra_value(platform, name, spec, values.pop(name), problems)
        if value is not None:
            settings[name] = value
    if unknown:
        log.warning("Airflow Connection %s: ignoring unknown extra(s) %s (known for %s: %s)", conn_id,
                    ", ".join(_show(u, 40) for u in sorted(unknown)), platform,
                    ", ".join(k for k, v in EXTRAS.items() if not v.platforms or platform in v.platforms))

    before = len(problems)
    _check_credentials(platform, base_url, token or client_secret, settings, problems)
    if len(problems) > before and not exists:
        problems[-1] += f" (there is no connection {conn_id} yet: create one of type http)"
    if problems:
        secret = password.strip() if isinstance(password, str) else ""
        if len(secret) >= 4:   # a token pasted into the wrong field must not be echoed from there either
            problems = [p.replace(secret, "<the password>") for p in problems]
        raise InvalidConnection(conn_id, problems)

    config_fields = {k: settings.pop(k) for k in _CONFIG_FIELDS if k in settings}
    days = config_fields.pop("lookback_days", lookback_days)
    return ConnectorConfig(
        base_url=base_url,
        token=token,
        client_id=client_id,
        client_secret=client_secret,
        lookback=timedelta(days=days),
        max_pages=int(config_fields.pop("max_pages", max_pages)),
        **config_fields,
        extra={**values, **settings},   # unknown extras are kept (ignored by the connectors)
    )


def _url_from_host(host: str, schema: str | None, port: Any, problems: list[str]) -> str:
    """Airflow's split form (host, schema = scheme, port) -> a URL, checked."""
    if "://" in host:
        url = host
    else:
        scheme = _SCHEME_ONLY.match(host)
        if scheme:
            problems.append(f"host: {scheme.group(1).lower()!r}: is a URL scheme, not a host; expected a host name "
                            f"such as api.example.org (or a full https:// URL)")
            return ""
        scheme_name = (schema or "").strip().lower() or "https"
        if scheme_name not in ("http", "https"):
            problems.append(f"schema: {_show(scheme_name)} is not allowed as the scheme; expected https (or http "
                            f"for a local replay or proxy)")
            return ""
        url = f"{scheme_name}://{host}"
    if port not in (None, ""):
        if isinstance(port, bool) or not str(port).isdigit() or not 0 < int(port) < 65536:
            problems.append(f"port: {_show(port)} is not a port number (1-65535)")
            return ""
        try:
            has_port = urlsplit(url).port is not None
        except ValueError:
            has_port = True   # reported by check_url below
        if not has_port:
            parts = urlsplit(url)
            url = parts._replace(netloc=f"{parts.netloc}:{int(port)}").geturl()
    check_url(url, "host", problems)
    return url


def _check_credentials(platform: str, base_url: str, token: str | None, settings: dict[str, Any],
                       problems: list[str]) -> None:
    """Platforms that cannot work at all without a credential on their public endpoint."""
    if token:
        return
    host = (urlsplit(base_url).hostname or "").lower()
    if platform == "x":
        from socialhub.sources.x import PUBLIC_HOSTS

        if host in PUBLIC_HOSTS:
            problems.append("password: the X API v2 needs an app bearer token and none is set; put the token in "
                            "the connection's password")
    elif platform == "youtube":
        from socialhub.sources.youtube import DEFAULT_API_BASE

        if base_url.rstrip("/") == DEFAULT_API_BASE and settings.get("youtube_api", True) is not False:
            problems.append("password: the YouTube Data API needs an API key and none is set; put the key in the "
                            "connection's password, or set extra youtube_api to false for RSS-only collection")


__all__ = ["EXTRAS", "check_url", "connector_config_from_connection", "parse_extra", "show_url"]
