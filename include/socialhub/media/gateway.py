"""Where media is fetched from: the platform's own host, or a capture gateway.

``SOCIALHUB_MEDIA_GATEWAY`` names an HTTP(S) gateway that fetches on the hub's behalf: media URL
``https://pbs.twimg.com/media/abc.jpg?x=1`` is fetched as
``<gateway>/pbs.twimg.com/media/abc.jpg?x=1``. In production this is the force's controlled,
non-attributable egress for evidence capture; in the demo and the tests it is the replay server's
``/cdn`` route (``ReplayServer.media_gateway``), which serves the demo posts' media on loopback
so nothing reaches the internet. Without a gateway media is fetched from the URL itself, and only
over HTTPS.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["GatewayError", "via_gateway", "gateway_target"]


class GatewayError(ValueError):
    """A media URL that cannot be fetched at all (not http(s), no host, credentials in it)."""


def _parts(url: str) -> tuple[str, str, str, str]:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise GatewayError(f"not a URL: {url[:200]!r} ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise GatewayError(f"media URL scheme {parts.scheme or '(none)'!r} is not fetched (only https)")
    if not parts.hostname:
        raise GatewayError(f"media URL has no host: {url[:200]!r}")
    if parts.username or parts.password:
        raise GatewayError("media URL carries credentials: not fetched")
    host = parts.hostname.lower()
    if parts.port:
        host = f"{host}:{parts.port}"
    return parts.scheme, host, parts.path or "/", parts.query


def via_gateway(url: str, gateway: str | None) -> str:
    """The URL to request for ``url``: itself (HTTPS only) without a gateway, else through it."""
    scheme, host, path, query = _parts(url)
    if not gateway:
        if scheme != "https":
            raise GatewayError(f"media URL is plain http ({url[:200]!r}): only https is fetched directly; "
                               "set SOCIALHUB_MEDIA_GATEWAY to fetch through a capture gateway")
        return url
    return f"{gateway.rstrip('/')}/{host}{path}" + (f"?{query}" if query else "")


def gateway_target(path_and_query: str) -> str:
    """The inverse, for a gateway: ``/<host>/<path>?<query>`` (after the gateway's own prefix) ->
    ``https://<host>/<path>?<query>``."""
    rest = path_and_query.lstrip("/")
    host, _, tail = rest.partition("/")
    if not host:
        raise GatewayError("gateway path names no host")
    return f"https://{host}/{tail}"
