"""The one HTTP client every connector uses.

Why one client: the rules that keep a collector polite and safe must not be re-implemented
per platform. It

* turns HTTP outcomes into the ``socialhub.errors`` tree (401/403 -> ``AuthError``,
  404/410 -> ``AccountUnavailable``, unparseable bodies -> ``MalformedResponse``, ...), so the
  collection stage can decide per account what to do;
* retries what is transient (5xx, timeouts, connection errors) a few times with a short
  exponential backoff, and nothing else (tenacity does the retrying; what is transient, and how a
  429 is waited out, is decided here);
* reads every platform's rate-limit headers and slows down *before* the limit is hit; when the
  wait would be longer than ``ConnectorConfig.max_wait`` it raises ``RateLimited(retry_at=...)``
  instead, so a worker slot is never parked for minutes;
* keeps the token out of messages, logs and reprs, and only ever sends it to the configured
  origin (a pagination link pointing elsewhere is refused, not followed). A token is sent as
  ``Authorization: Bearer`` (default) or, for APIs keyed like YouTube's, as a query parameter
  (``auth="query"``); because a query key is part of every URL, the ``httpx``/``httpcore``
  loggers (which log URLs at INFO/DEBUG) are pinned to WARNING when this module is imported;
* reads at most ``config.extra["max_body_bytes"]`` of a body (default 10 MiB, or
  ``SOCIALHUB_MAX_RESPONSE_BYTES``): a bigger 2xx body raises ``ResponseTooLarge`` as soon as the
  ``Content-Length`` or the bytes read so far pass the limit, so a 50 MB page, an XML/HTML bomb
  or a decompression bomb never sits in memory whole nor reaches a parser;
* treats hostile text at the JSON boundary once for every JSON platform: a body that is not
  UTF-8 raises ``MalformedResponse`` (with the byte offset), JSON nested deeper than the
  parser's recursion limit too, and a lone UTF-16 surrogate (``"\ud800"``, e.g. an emoji cut in
  half by a platform's truncation) becomes U+FFFD, because it cannot be stored as UTF-8. NUL, C0
  and C1 controls and bidi overrides are kept verbatim (the alert renderer neutralises them).

Time is injectable (``now``, ``sleep``) so tests never really wait.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import json
import logging
import os
import re
import ssl
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from socialhub.errors import (
    AccountUnavailable,
    AuthError,
    ConfigError,
    ConnectorError,
    MalformedResponse,
    PacedOut,
    RateLimited,
    ResponseTooLarge,
)
from socialhub.models import parse_iso, utc_iso
from socialhub.sources import pacing
from socialhub.sources.base import ConnectorConfig, utcnow

log = logging.getLogger(__name__)



def quiet_http_client_logs() -> None:
    """httpx logs every request URL at INFO ("HTTP Request: GET https://...?key=..."), httpcore at
    DEBUG: with a query-string API key, or a webhook whose path is its secret, that is a credential
    leak, so both stay at WARNING in every module that makes requests."""
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


quiet_http_client_logs()

USER_AGENT = "socialhub/0.1"
EXCERPT_CHARS = 200
MAX_BODY_BYTES = 10 * 1024 * 1024   # default cap on one response body; SOCIALHUB_MAX_RESPONSE_BYTES overrides
MAX_BODY_ENV = "SOCIALHUB_MAX_RESPONSE_BYTES"
_EPOCH_THRESHOLD = 1_000_000_000  # a "reset" number above this is a Unix time, below it a delay in seconds
_SECRET_PARAM_RE = re.compile(r"(?i)\b(key|api_key|apikey|access_token|token|client_secret)=[^&\s\"'<>]+")


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")   # the only way a lone surrogate gets into parsed JSON
_NOT_UTF8_HINT = ("the platform (or a proxy in between) sent bytes that are not valid text; nothing was stored "
                  "and the cursor was not moved, so the account is retried on the next run. If it persists, "
                  "fetch the account with `socialhub fetch` and report the response to the platform")


def _dot_segments(path: str) -> bool:
    """True when ``path`` has a ``.``/``..`` segment, also once percent-decoded (``%2e%2e``,
    ``..%2f..``, ``..%5c``): a server that decodes before routing would climb out of its prefix."""
    return any(part in (".", "..") for seg in path.split("/") for part in re.split(r"[/\\]", unquote(seg)))


def _decoded_chunks(response: httpx.Response, room: int) -> Iterator[bytes]:
    """The body of a streamed response, decoded, in pieces of at most ``room`` bytes.

    gzip and deflate are inflated here with a bounded output per step, so a decompression bomb
    (a few KB that inflate to gigabytes) never expands past the body limit in memory; anything
    else (identity, or an encoding httpx decodes itself) is passed through httpx."""
    codings = [c.strip() for c in response.headers.get("content-encoding", "").lower().split(",")
               if c.strip() not in ("", "identity")]
    if response.is_stream_consumed or len(codings) != 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        # (consumed: an in-process transport built the response from bytes, already in memory)
        yield from response.iter_bytes()
        return
    gzip = codings[0] != "deflate"
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
    first = True
    try:
        for raw in response.iter_raw():
            if first and not gzip and raw:
                first = False
                try:   # "deflate" is zlib-wrapped by the RFC, raw deflate in practice often
                    zlib.decompressobj(zlib.MAX_WBITS).decompress(raw[:2])
                except zlib.error:
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            pending = raw
            while pending:
                out = inflater.decompress(pending, room)
                pending = inflater.unconsumed_tail
                if out:
                    yield out
        rest = inflater.flush()
        if rest:
            yield rest
    except zlib.error as exc:
        raise httpx.DecodingError(f"invalid {codings[0]} body ({exc})") from None


def _json_or_none(response: httpx.Response) -> Any:
    """An error body's JSON (lone surrogates replaced), or None when it is not JSON."""
    try:
        return replace_lone_surrogates(json.loads(response.content))[0]
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def default_max_body_bytes() -> int:
    """The body cap when a connection sets no ``max_body_bytes``: ``SOCIALHUB_MAX_RESPONSE_BYTES`` or 10 MiB."""
    raw = os.environ.get(MAX_BODY_ENV, "").strip()
    if not raw:
        return MAX_BODY_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{MAX_BODY_ENV}={raw[:40]!r} is not a positive whole number of bytes",
                          hint=f"e.g. {MAX_BODY_ENV}=20971520 for 20 MiB, or unset it for the 10 MiB default")
    return value


def printable(text: str) -> str:
    """``text`` with every non-printable character (C0/C1 controls, bidi overrides, lone
    surrogates, ...) shown as an escape, so a platform's error text cannot forge log lines or
    recolour a terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def replace_lone_surrogates(data: Any) -> tuple[Any, int]:
    """Parsed JSON with every lone UTF-16 surrogate (in keys and values, at any depth) replaced
    by U+FFFD, and how many were replaced. Iterative: hostile nesting cannot overflow the stack."""
    count = 0

    def fix(value: str) -> str:
        nonlocal count
        new, n = _SURROGATE.subn("\ufffd", value)
        count += n
        return new

    if isinstance(data, str):
        return fix(data), count
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    node[i] = fix(value)
                elif isinstance(value, (list, dict)):
                    stack.append(value)
        elif isinstance(node, dict):
            if any(_SURROGATE.search(k) for k in node if isinstance(k, str)):
                items = list(node.items())
                node.clear()
                node.update((fix(k) if isinstance(k, str) else k, v) for k, v in items)
            for key, value in node.items():
                if isinstance(value, str):
                    node[key] = fix(value)
                elif isinstance(value, (list, dict)):
                    stack.append(value)
    return data, count


@dataclass(frozen=True, slots=True)
class ErrorMapping:
    """What an ``error_hook`` may return instead of a bare class: the class plus, for
    ``RateLimited``, when to come back (e.g. YouTube's daily quota: next midnight Pacific) and
    an optional hint replacing the class default."""

    cls: type[ConnectorError]
    retry_at: datetime | None = None
    hint: str | None = None


ErrorHook = Callable[[int, Any], "type[ConnectorError] | ErrorMapping | None"]


# --------------------------------------------------------------------------------------------
# Rate-limit headers
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RateLimit:
    """What the last response said about the caller's request budget.

    ``scheme`` names the header family it was read from: ``mastodon`` (X-RateLimit-*, ISO reset),
    ``reddit`` (X-Ratelimit-Used/Remaining/Reset, reset in seconds), ``x`` (x-rate-limit-*, epoch),
    ``ietf`` (RateLimit-* as sent by Bluesky, epoch reset; or the combined ``RateLimit`` header).
    """

    scheme: str
    limit: float | None
    remaining: float | None
    reset_at: datetime | None
    window: float | None = None   # seconds, from RateLimit-Policy ``w=`` when present


def _num(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip().split(",")[0])
    except ValueError:
        return None


def _reset_from_number(value: float, now: datetime) -> datetime:
    """Numbers above ~2001-09-09 are epoch seconds, smaller ones a delay from ``now``."""
    if value >= _EPOCH_THRESHOLD:
        return datetime.fromtimestamp(value, tz=UTC)
    return now + timedelta(seconds=value)


def _reset_any(value: str | None, now: datetime) -> datetime | None:
    if value is None or not value.strip():
        return None
    number = _num(value)
    if number is not None:
        return _reset_from_number(number, now)
    try:
        return parse_iso(value)
    except ValueError:
        return None


def _policy(value: str | None) -> tuple[float | None, float | None]:
    """``RateLimit-Policy: 3000;w=300`` (first policy if several) -> (3000, 300)."""
    if not value:
        return None, None
    first = value.split(",")[0]
    parts = [p.strip() for p in first.split(";")]
    limit = _num(parts[0]) if parts and "=" not in parts[0] else None
    window = None
    for p in parts[1:]:
        key, _, val = p.partition("=")
        if key.strip() in ("w", "window"):
            window = _num(val)
        elif key.strip() == "q" and limit is None:   # draft-08+: "default";q=100;w=60
            limit = _num(val)
    return limit, window


def _combined(value: str, now: datetime) -> RateLimit | None:
    """The combined IETF header: ``limit=100, remaining=50, reset=30`` or ``"default";r=50;t=30``."""
    fields: dict[str, str] = {}
    for part in re.split(r"[;,]", value):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key.strip().lower()] = val.strip()
    remaining = _num(fields.get("remaining", fields.get("r")))
    reset = _num(fields.get("reset", fields.get("t")))
    if remaining is None and reset is None:
        return None
    return RateLimit("ietf", _num(fields.get("limit")), remaining,
                     _reset_from_number(reset, now) if reset is not None else None)


def parse_rate_limit(headers: Mapping[str, str], now: datetime) -> RateLimit | None:
    """Read whichever rate-limit header family is present (names are case-insensitive)."""
    h = {k.lower(): v for k, v in headers.items()}
    if "x-rate-limit-remaining" in h or "x-rate-limit-reset" in h:                       # X / Twitter
        epoch = _num(h.get("x-rate-limit-reset"))
        return RateLimit("x", _num(h.get("x-rate-limit-limit")), _num(h.get("x-rate-limit-remaining")),
                         _reset_from_number(epoch, now) if epoch is not None else None)
    if "x-ratelimit-remaining" in h or "x-ratelimit-reset" in h or "x-ratelimit-used" in h:
        raw_reset = h.get("x-ratelimit-reset")
        reset = _reset_any(raw_reset, now)
        remaining = _num(h.get("x-ratelimit-remaining"))
        used = _num(h.get("x-ratelimit-used"))
        if "x-ratelimit-used" in h or (raw_reset is not None and _num(raw_reset) is not None):   # Reddit
            limit = (remaining + used) if remaining is not None and used is not None else None
            return RateLimit("reddit", limit, remaining, reset)
        return RateLimit("mastodon", _num(h.get("x-ratelimit-limit")), remaining, reset)   # ISO reset
    if any(k in h for k in ("ratelimit-remaining", "ratelimit-reset", "ratelimit-limit", "ratelimit-policy")):
        policy_limit, window = _policy(h.get("ratelimit-policy"))
        limit = _num(h.get("ratelimit-limit"))
        return RateLimit("ietf", limit if limit is not None else policy_limit, _num(h.get("ratelimit-remaining")),
                         _reset_any(h.get("ratelimit-reset"), now), window)
    if "ratelimit" in h:
        return _combined(h["ratelimit"], now)
    return None


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """``Retry-After`` is either delay-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    number = _num(value)
    if number is not None:
        return now + timedelta(seconds=max(number, 0.0))
    try:
        dt = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


_LINK_RE = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')


def parse_link_header(value: str | None) -> dict[str, str]:
    """RFC 8288 ``Link`` header -> {rel: url}; the first link wins for a repeated rel."""
    links: dict[str, str] = {}
    if not value:
        return links
    for match in _LINK_RE.finditer(value):
        url, params = match.group(1).strip(), match.group(2)
        for param in params.split(";"):
            key, _, val = param.strip().partition("=")
            if key.strip().lower() == "rel":
                for rel in val.strip().strip('"').split():
                    links.setdefault(rel.lower(), url)
    return links


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """Loading the CA bundle costs ~40 ms; one verifying context is shared by all clients."""
    return httpx.create_ssl_context()


class _Transient(Exception):
    """A failure worth retrying: a transport error (``response`` None) or a 5xx."""

    def __init__(self, problem: str, response: httpx.Response | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.response = response


class _WaitFor429(Exception):
    """A 429 whose wait (``delay`` seconds, margin included) is allowed: sleep, then ask again."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"429, waiting {delay:.1f}s")
        self.delay = delay


def _exception(state: RetryCallState) -> Any:
    """The exception of the attempt a tenacity callback is deciding about."""
    return state.outcome.exception() if state.outcome else None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


class HttpClient:
    """GET JSON or text from one platform on behalf of one watched account.

    Create one per ``Connector.fetch`` call (it is cheap) and close it, or use it as a context
    manager. ``last_headers`` and ``last_rate_limit`` describe the most recent response.

    ``error_hook(status, parsed_body)`` lets a connector refine 4xx mapping (e.g. Bluesky
    answers 400 ``{"error": "InvalidRequest", "message": "Profile not found"}`` for a missing
    account); it returns an exception class, an ``ErrorMapping`` or ``None`` for the default.
    The parsed body is JSON when the body was JSON, else the raw text.

    ``auth``: ``"bearer"`` (default) sends the token as ``Authorization: Bearer``; ``"query"``
    adds it as the query parameter ``auth_param`` (YouTube's ``key=``); ``"none"`` never sends it
    (e.g. RSS feeds on arbitrary hosts).
    """

    def __init__(
        self,
        config: ConnectorConfig,
        *,
        platform: str,
        account: str = "",
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        error_hook: ErrorHook | None = None,
        max_tries: int = 3,
        backoff: float = 0.5,
        max_429_retries: int = 2,
        default_429_wait: float = 60.0,
        reset_margin: float = 1.0,
        reserve: int | None = None,
        auth: str = "bearer",
        auth_param: str = "key",
    ) -> None:
        if not config.base_url:
            raise ConnectorError(platform, account, "no base_url configured",
                                 hint=f"set base_url in the Airflow Connection socialhub_{platform}")
        scheme = urlsplit(config.base_url).scheme.lower()
        if scheme not in ("http", "https"):
            raise ConnectorError(platform, account, f"base_url scheme {printable(scheme[:20])!r} is not http(s)",
                                 hint=f"set an https:// base_url in the Airflow Connection socialhub_{platform}")
        self.config = config
        self.platform = platform
        self.account = account
        self.now = now
        self.sleep: Callable[[float], None] = sleep or time.sleep
        self.error_hook = error_hook
        self.max_tries = max(1, max_tries)
        self.backoff = backoff
        self.max_429_retries = max_429_retries
        self.default_429_wait = default_429_wait
        self.reset_margin = reset_margin
        # the number of requests kept in hand: at or below it we wait for the reset
        self.reserve = int(reserve if reserve is not None else config.extra.get("rate_limit_reserve", 1))
        self.base_url = config.base_url.rstrip("/") + "/"
        self._origin = _origin(self.base_url)
        if auth not in ("bearer", "query", "none"):
            raise ValueError(f"auth must be 'bearer', 'query' or 'none', not {auth!r}")
        self._token = config.token or None
        self._auth = {"Authorization": f"Bearer {self._token}"} if self._token and auth == "bearer" else {}
        self._auth_params = {auth_param: self._token} if self._token and auth == "query" else {}
        cap = config.extra.get("max_body_bytes")
        self.max_body_bytes = int(cap) if cap is not None else default_max_body_bytes()
        self.user_agent = str(config.extra.get("user_agent") or USER_AGENT)
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.timeout),
            verify=_tls_context(),
            headers={"User-Agent": self.user_agent},
            transport=transport,
            follow_redirects=False,
        )
        self.last_headers: httpx.Headers = httpx.Headers()
        self.last_status: int | None = None
        self.last_rate_limit: RateLimit | None = None
        self.requests_made = 0
        self._verb = "GET"

    # -- public API ---------------------------------------------------------------------------

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and parse JSON. Non-JSON or invalid JSON raises ``MalformedResponse``."""
        response, path = self._get(path_or_url, params, accept="application/json")
        return self._json(response, path)

    def post_form(self, path_or_url: str, form: Mapping[str, str], *,
                  basic_auth: tuple[str, str] | None = None) -> Any:
        """POST a form (e.g. an OAuth token request, with ``basic_auth`` = client id and secret)
        and parse the JSON answer, with the same caps, retries and error mapping as a GET."""
        response, path = self._get(path_or_url, None, accept="application/json", method="POST", form=form,
                                   basic_auth=basic_auth)
        return self._json(response, path)

    def set_token(self, token: str | None) -> None:
        """Send ``token`` as the bearer from now on (a refreshed OAuth access token)."""
        self._token = token or None
        self._auth = {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _json(self, response: httpx.Response, path: str) -> Any:
        ctype = response.headers.get("content-type", "").lower()
        if ctype and "json" not in ctype and any(t in ctype for t in ("html", "xml")):
            raise MalformedResponse(self.platform, self.account,
                                    f"{self._verb} {path}: expected JSON but got {ctype.split(';')[0]}: "
                                    f"{self._excerpt(response.text)!r}")
        content = response.content
        encoding = json.detect_encoding(content)
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError as exc:
            raise MalformedResponse(
                self.platform, self.account,
                f"{self._verb} {self._where(response)}: the body is not valid {encoding.upper().removesuffix('-SIG')} "
                f"({exc.reason}: {exc.object[exc.start:exc.start + 4]!r} at byte {exc.start} of {len(content)}); "
                f"nothing was parsed", hint=_NOT_UTF8_HINT) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedResponse(self.platform, self.account,
                                    f"{self._verb} {path}: invalid JSON ({exc.msg.removesuffix(' at')} at char {exc.pos} "
                                    f"of {len(content)}): {self._excerpt(response.text)!r}") from None
        except RecursionError:
            raise MalformedResponse(self.platform, self.account,
                                    f"{self._verb} {path}: JSON nested too deeply to parse ({len(content)} bytes)") from None
        if _SURROGATE_ESCAPE.search(text):
            data, replaced = replace_lone_surrogates(data)
            if replaced:
                log.warning("%s:%s: %s %s: %d lone UTF-16 surrogate(s) in the JSON replaced by U+FFFD",
                            self.platform, self.account, self._verb, path, replaced)
        return data

    def get_text(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> str:
        """GET a text body (HTML, RSS, ...) with the same error, retry and rate-limit handling."""
        response, _ = self._get(path_or_url, params, accept="*/*")
        return response.text

    def get(self, path_or_url: str, params: Mapping[str, Any] | None = None, *, accept: str = "*/*",
            headers: Mapping[str, str] | None = None, allow_not_modified: bool = False) -> httpx.Response:
        """GET and return the response itself (for XML parsed from bytes, validators such as
        ``ETag``, content types). With ``allow_not_modified`` a 304 to a conditional request
        (``If-None-Match`` / ``If-Modified-Since`` in ``headers``) is returned, not raised."""
        response, _ = self._get(path_or_url, params, accept=accept, headers=headers,
                                allow_not_modified=allow_not_modified)
        return response

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"HttpClient(platform={self.platform!r}, account={self.account!r}, base_url={self.base_url!r}, "
                f"token={'<set>' if self._token else None})")

    # -- internals ----------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "<redacted>")
        text = _SECRET_PARAM_RE.sub(r"\1=<redacted>", text)
        return re.sub(r"(?i)(bearer\s+)\S+", r"\1<redacted>", text)

    def _excerpt(self, text: str) -> str:
        flat = " ".join(self._redact(text).split())
        return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"

    def _where(self, response: httpx.Response) -> str:
        """The request URL for a message: scheme, host and path; never the query (a key may be there)."""
        url = urlsplit(str(response.request.url))
        return self._redact(f"{url.scheme}://{url.hostname or ''}{f':{url.port}' if url.port else ''}{url.path}")

    def _resolve(self, path_or_url: str) -> str:
        if re.match(r"(?i)^[a-z][a-z0-9+.-]*://", path_or_url):
            if _origin(path_or_url) != self._origin:
                raise ConnectorError(
                    self.platform, self.account,
                    f"refusing to follow a link to another origin ({urlsplit(path_or_url).netloc})",
                    hint="the platform's pagination link left the configured base_url; check base_url "
                         "(the token is only ever sent to that origin)")
            return path_or_url
        url = urljoin(self.base_url, path_or_url.lstrip("/"))
        if not url.startswith(self.base_url) or _dot_segments(urlsplit(path_or_url).path):
            raise ConnectorError(
                self.platform, self.account,
                f"refusing a request path that would leave base_url: {printable(path_or_url[:120])!r}",
                hint="an account name or an id the platform returned looks like a path (../, %2e%2e, %2f); "
                     "check the watchlist entry")
        return url

    def _seconds_until(self, when: datetime) -> float:
        return (when - self.now()).total_seconds()

    def _respect_budget(self, path: str) -> None:
        """Before a request: if the last response left ``reserve`` or fewer, wait for the reset."""
        rl = self.last_rate_limit
        if rl is None or rl.remaining is None or rl.remaining > self.reserve or rl.reset_at is None:
            return
        wait = self._seconds_until(rl.reset_at)
        if wait > self.config.max_wait:
            raise RateLimited(
                self.platform, self.account,
                f"only {rl.remaining:g} request(s) left before {utc_iso(rl.reset_at)} "
                f"({wait:.0f}s away, longer than max_wait={self.config.max_wait:g}s); stopped before {self._verb} {path}",
                retry_at=rl.reset_at, status=None)
        if wait > 0:
            pause = wait + self.reset_margin
            pacing.hold(self.platform, self.account, pause)   # the shard's other threads wait for the reset too
            log.info("%s:%s: %g request(s) left, sleeping %.1fs until the rate-limit reset",
                     self.platform, self.account, rl.remaining, pause)
            self.sleep(pause)
        self.last_rate_limit = None   # a fresh window: the next response tells us the new budget

    def _get(self, path_or_url: str, params: Mapping[str, Any] | None, accept: str,
             headers: Mapping[str, str] | None = None, allow_not_modified: bool = False, *,
             method: str = "GET", form: Mapping[str, str] | None = None,
             basic_auth: tuple[str, str] | None = None) -> tuple[httpx.Response, str]:
        """One GET with the client's whole policy. Two tenacity loops: the outer one waits out a
        429 for as long as the platform asks (``Retry-After`` or its reset header, never longer
        than ``max_wait``), the inner one (``_send_retrying``) retries transient failures with an
        exponential backoff. Both sleep through the injectable ``sleep``."""
        self._verb = method   # for messages
        url = self._resolve(path_or_url)
        path = urlsplit(url).path or "/"
        self._respect_budget(path)
        if self._auth_params:
            params = {**dict(params or {}), **self._auth_params}

        def waited_429(state: RetryCallState) -> None:
            log.info("%s:%s: 429 on %s %s, waiting %.1fs (retry %d/%d)", self.platform, self.account, self._verb, path,
                     state.upcoming_sleep, state.attempt_number, self.max_429_retries)
            self.last_rate_limit = None

        rate_limited = Retrying(
            retry=retry_if_exception_type(_WaitFor429), stop=stop_after_attempt(self.max_429_retries + 1),
            wait=lambda state: _exception(state).delay, sleep=self.sleep, before_sleep=waited_429, reraise=True)
        for attempt in rate_limited:
            with attempt:
                response = self._send_retrying(url, path, params, accept, headers, form, basic_auth)
                if response.status_code == 429:
                    self._raise_429(response, path, attempt.retry_state.attempt_number - 1)
        return self._check(response, path, allow_not_modified), path

    def _send_retrying(self, url: str, path: str, params: Mapping[str, Any] | None, accept: str,
                       headers: Mapping[str, str] | None, form: Mapping[str, str] | None = None,
                       basic_auth: tuple[str, str] | None = None) -> httpx.Response:
        """Send the GET; a transport error or a 5xx is retried ``max_tries`` times in all, after
        ``backoff``, 2x``backoff``, ... seconds, then raised as ``ConnectorError``."""
        def before_retry(state: RetryCallState) -> None:
            log.warning("%s:%s: %s %s failed (%s); retry %d/%d in %.1fs", self.platform, self.account, self._verb, path,
                        _exception(state).problem, state.attempt_number, self.max_tries - 1, state.upcoming_sleep)

        transient = Retrying(
            retry=retry_if_exception_type(_Transient), stop=stop_after_attempt(self.max_tries),
            wait=wait_exponential(multiplier=self.backoff), sleep=self.sleep, before_sleep=before_retry,
            reraise=True)
        try:
            return transient(self._send_once, url, params, accept, headers, form, basic_auth)
        except _Transient as exc:
            if exc.response is None:
                raise ConnectorError(self.platform, self.account,
                                     f"{self._verb} {path} failed {self.max_tries} times ({exc.problem})",
                                     hint="network problem or the platform is down; the account will be "
                                          "collected on a later run") from None
            status = exc.response.status_code
            raise ConnectorError(self.platform, self.account,
                                 f"{self._verb} {path}: HTTP {status} {self.max_tries} times: {self._detail(exc.response)}",
                                 hint="the platform is failing; the account will be collected on a later run",
                                 status=status) from None
        except httpx.DecodingError as exc:   # a corrupt gzip/deflate body
            raise MalformedResponse(self.platform, self.account,
                                    f"{self._verb} {path}: the body could not be decoded ({self._excerpt(str(exc))})",
                                    hint=_NOT_UTF8_HINT) from None
        except httpx.InvalidURL as exc:
            raise ConnectorError(self.platform, self.account,
                                 f"{self._verb} {printable(path)}: not a valid request URL ({self._excerpt(str(exc))})",
                                 hint="check base_url and the watchlist entry's account") from None

    def _send_once(self, url: str, params: Mapping[str, Any] | None, accept: str,
                   headers: Mapping[str, str] | None, form: Mapping[str, str] | None = None,
                   basic_auth: tuple[str, str] | None = None) -> httpx.Response:
        """One request, its body read under the cap (``_oversize`` set on the response), its
        rate-limit headers recorded. Raises ``_Transient`` for what is worth retrying."""
        # the shard's slice of the platform's limit (sources/pacing.py); a turn too far away stops here
        if pacing.before_request(self.platform, self.account, self.config.max_wait) is None:
            why = pacing.refusal()
            wait = why.wait_seconds if why is not None else self.config.max_wait
            if why is not None and why.held:   # the platform's own reset (a 429 or header held the shard)
                raise RateLimited(self.platform, self.account,
                                  f"the {self.platform} rate limit is used up (the platform said so to this collect "
                                  f"shard) for {wait:.0f}s, longer than this run may wait; not sent: "
                                  f"{self._verb} {urlsplit(url).path}",
                                  retry_at=self.now() + timedelta(seconds=wait), status=None)
            raise PacedOut(self.platform, self.account,
                           f"this collect shard's slice of the {self.platform} rate limit is used up for longer "
                           f"than this run may wait; not sent: {self._verb} {urlsplit(url).path}",
                           scope=why.scope if why is not None else "all",
                           retry_at=self.now() + timedelta(seconds=wait), requests_sent=pacing.requests_sent())
        self.requests_made += 1
        sent = {"Accept": accept, **dict(headers or {}), **self._auth}
        if basic_auth is not None:   # the client secret goes only in this header, never in a message
            sent["Authorization"] = "Basic " + base64.b64encode(":".join(basic_auth).encode()).decode("ascii")
        request = self._http.build_request(self._verb, url, params=params, data=form, headers=sent)
        try:
            response = self._http.send(request, stream=True)
            try:
                oversize = self._read_capped(response)
            finally:
                response.close()
        except httpx.TransportError as exc:   # timeouts, refused connections, broken streams
            raise _Transient(f"{type(exc).__name__}: {self._excerpt(str(exc)) or 'no detail'}") from None
        response.extensions["socialhub_oversize"] = oversize
        self.last_status = response.status_code
        self.last_headers = response.headers
        self.last_rate_limit = parse_rate_limit(response.headers, self.now())
        if response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}", response)
        return response

    def _raise_429(self, response: httpx.Response, path: str, waits_so_far: int) -> None:
        """A 429: ``_WaitFor429`` when the wait is allowed (the retry loop sleeps it), else ``RateLimited``."""
        now = self.now()
        retry_at = parse_retry_after(response.headers.get("retry-after"), now)
        if retry_at is None and self.last_rate_limit is not None:
            retry_at = self.last_rate_limit.reset_at
        if retry_at is None:
            retry_at = now + timedelta(seconds=self.default_429_wait)
        wait = max((retry_at - now).total_seconds(), 0.0)
        if waits_so_far < self.max_429_retries and wait <= self.config.max_wait:
            pacing.hold(self.platform, self.account, wait + self.reset_margin)   # the shard's other threads too
            raise _WaitFor429(wait + self.reset_margin)
        why = ("still rate limited after retrying" if waits_so_far else
               f"reset is {wait:.0f}s away, longer than max_wait={self.config.max_wait:g}s")
        raise RateLimited(self.platform, self.account,
                          f"HTTP 429 on {self._verb} {path} ({why}); retry at {utc_iso(retry_at)}: "
                          f"{self._detail(response)}", retry_at=retry_at)

    def _check(self, response: httpx.Response, path: str, allow_not_modified: bool) -> httpx.Response:
        """A final (non-5xx, non-429) response: raise what a 3xx/4xx or an oversize body means."""
        status = response.status_code
        if status >= 400:
            raise self._client_error(response, path)
        if status == 304 and allow_not_modified:
            return response
        if status >= 300:
            location = urlsplit(response.headers.get("location", ""))
            where = self._redact(f"{location.netloc}{location.path}") or "?"
            raise ConnectorError(self.platform, self.account,
                                 f"{self._verb} {path}: unexpected redirect (HTTP {status}) to {where}",
                                 hint="check base_url (scheme and host) in the platform's Connection",
                                 status=status)
        oversize = response.extensions.get("socialhub_oversize")
        if oversize is not None:
            size, how = ((f"body of {oversize} bytes", "as declared by Content-Length; not read") if oversize > 0
                         else ("body", "stopped reading there; not parsed"))
            raise ResponseTooLarge(self.platform, self.account,
                                   f"{self._verb} {self._where(response)}: {size} exceeds the {self.max_body_bytes}-byte "
                                   f"limit ({how})", limit=self.max_body_bytes, status=status)
        return response

    def _read_capped(self, response: httpx.Response) -> int | None:
        """Read the body of a streamed response, never more than ``max_body_bytes`` into memory.

        Returns None when the whole body was read; otherwise the body is cut at the limit (enough
        for an error excerpt) and the result is the declared ``Content-Length`` (> 0) or -1 when
        there was none. A 2xx whose ``Content-Length`` is over the limit is not read at all."""
        limit = self.max_body_bytes
        try:
            declared: int | None = int(response.headers.get("content-length", ""))
        except ValueError:
            declared = None
        if declared is not None and declared > limit and 200 <= response.status_code < 300:
            response._content = b""
            return declared
        chunks: list[bytes] = []
        total = 0
        for chunk in _decoded_chunks(response, min(limit + 1, 1 << 20)):
            if total + len(chunk) > limit:
                chunks.append(chunk[: limit - total])
                response._content = b"".join(chunks)
                return declared if declared is not None and declared > limit else -1
            chunks.append(chunk)
            total += len(chunk)
        response._content = b"".join(chunks)
        return None

    def _detail(self, response: httpx.Response) -> str:
        """The platform's own error text when it sent one, else a body excerpt."""
        body = _json_or_none(response)
        if isinstance(body, dict):
            nested = body.get("error")
            if isinstance(nested, dict):   # Google: {"error": {"code", "message", "errors": [{"reason"}]}}
                reasons = [str(e.get("reason")) for e in nested.get("errors") or []
                           if isinstance(e, dict) and e.get("reason")]
                body = {"message": nested.get("message"), "reason": ", ".join(dict.fromkeys(reasons)) or None}
            parts = [str(body[k]) for k in ("error", "reason", "message", "explanation", "detail", "title",
                                            "error_description")
                     if isinstance(body.get(k), (str, int)) and str(body[k])]
            if parts:
                return printable(self._excerpt(": ".join(dict.fromkeys(parts))))
        return repr(self._excerpt(response.text)) if response.text else "(empty body)"

    def _client_error(self, response: httpx.Response, path: str) -> ConnectorError:
        status = response.status_code
        body: Any = _json_or_none(response)
        if body is None:
            body = response.text if response.content else None
        mapped = self.error_hook(status, body) if self.error_hook else None
        mapping = mapped if isinstance(mapped, ErrorMapping) else ErrorMapping(mapped) if mapped else None
        cls: type[ConnectorError] = mapping.cls if mapping else (
            AuthError if status in (401, 403) else AccountUnavailable if status in (404, 410) else ConnectorError)
        message = f"{self._verb} {path}: HTTP {status}: {self._detail(response)}"
        if issubclass(cls, RateLimited):
            error: ConnectorError = cls(self.platform, self.account, message,
                                        retry_at=mapping.retry_at if mapping else None, status=status)
            if mapping and mapping.hint:
                error.hint = mapping.hint
            return error
        hint = mapping.hint if mapping and mapping.hint else (
            "the platform rejected the request; check the account handle and the connector version"
            if cls is ConnectorError else None)
        return cls(self.platform, self.account, message, status=status, hint=hint)
