"""Hooks: one per external system, configured only from Airflow Connections.

| connection id            | type  | what for                                                       |
|--------------------------|-------|----------------------------------------------------------------|
| ``socialhub_<platform>`` | http  | platform API: host/base_url, password = token or API key;      |
|                          |       | Reddit: login = OAuth client id, password = client secret      |
| ``socialhub_storage``    | aws   | S3 store: extra ``bucket``, ``prefix``, ``endpoint_url``       |
| ``socialhub_slack``      | slack | Slack bot token (password) and optional extra ``base_url``     |

A missing platform connection means "public endpoint, no token". A missing storage or Slack
connection fails the task with ``MissingConnection`` (naming it and what to do), unless
``SOCIALHUB_LOCAL_DEFAULTS`` allows the local folder (``store``) or the local outbox (``outbox``):
the demo and the tests set it, production never should (on several workers or pods a local folder
splits evidence and cursors across machines, and alerts land in a folder nobody reads).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseHook

log = logging.getLogger(__name__)


def _local_allowed(kind: str, allow_local: bool | None) -> bool:
    """``allow_local`` if given, else whether ``SOCIALHUB_LOCAL_DEFAULTS`` names ``kind``."""
    if allow_local is not None:
        return allow_local
    from socialhub.config import Settings

    return kind in Settings.from_env().local_defaults


def _get_connection(conn_id: str) -> Any | None:
    from airflow.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    except Exception as exc:  # the SDK raises its own not-found type in task context
        if type(exc).__name__ in ("AirflowNotFoundException", "ConnectionNotFound"):
            return None
        raise


class SocialhubPlatformHook(BaseHook):
    """Endpoint and credentials of one platform API."""

    conn_name_attr = "conn_id"
    default_conn_name = "socialhub_{platform}"
    conn_type = "http"
    hook_name = "socialhub platform API"

    def __init__(self, platform: str, conn_id: str | None = None) -> None:
        super().__init__()
        self.platform = platform
        self.conn_id = conn_id or f"socialhub_{platform}"

    def get_connector_config(self, *, lookback_days: int = 7, max_pages: int = 10) -> Any:
        """The connection, validated by the pure core (``socialhub.sources.connection``): a
        malformed field raises ``InvalidConnection`` naming the connection and every bad field,
        never a secret. No connection: the public endpoint without a token."""
        from socialhub.sources.connection import connector_config_from_connection

        conn = _get_connection(self.conn_id)
        if conn is None:
            return connector_config_from_connection(self.platform, conn_id=self.conn_id, lookback_days=lookback_days,
                                                    max_pages=max_pages, exists=False)
        # the raw extra text, not extra_dejson: that one logs and returns {} for invalid JSON
        return connector_config_from_connection(
            self.platform, conn_id=self.conn_id, host=conn.host, schema=conn.schema, port=conn.port,
            login=conn.login, password=conn.password, extra=conn.extra if conn.extra is not None else None,
            lookback_days=lookback_days, max_pages=max_pages)


class SocialhubStorageHook(BaseHook):
    """The object store: S3 (through the amazon provider's S3Hook) or the local folder."""

    conn_name_attr = "conn_id"
    default_conn_name = "socialhub_storage"
    conn_type = "aws"
    hook_name = "socialhub object store"

    def __init__(self, conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.conn_id = conn_id

    def get_store(self, local_root: Any, *, allow_local: bool | None = None) -> Any:
        """The S3 store of the connection. Missing: ``MissingConnection``, unless local defaults are
        allowed (``allow_local``, else ``SOCIALHUB_LOCAL_DEFAULTS`` naming ``store``): the folder."""
        from socialhub.errors import ConfigError, MissingConnection
        from socialhub.storage import LocalStore

        conn = _get_connection(self.conn_id)
        if conn is None:
            if _local_allowed("store", allow_local):
                return LocalStore(local_root)
            raise MissingConnection(self.conn_id, "the evidence store (S3: raw items, posts, cursors, ledger, audit)",
                                    example="--conn-type aws --conn-extra '{\"bucket\": \"socialhub-evidence\"}'",
                                    local="store", local_path=str(local_root))
        if conn.conn_type not in ("aws", "s3"):
            raise ConfigError(f"connection {self.conn_id} has type {conn.conn_type!r}; the store needs an aws connection",
                              hint='set its type to aws with {"bucket": "socialhub-evidence"} in the extra')
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from socialhub.storage.s3 import S3Store

        extra = conn.extra_dejson
        bucket = extra.get("bucket") or extra.get("bucket_name")
        if not bucket:
            raise ConfigError(f"connection {self.conn_id} has no `bucket` in its extra",
                              hint='add {"bucket": "socialhub-evidence"} to the connection extra')
        client = S3Hook(aws_conn_id=self.conn_id).get_conn()
        conditional = extra.get("conditional_writes")   # None: probed once per store (storage/s3.py)
        if isinstance(conditional, str):
            conditional = conditional.strip().lower() in ("1", "true", "yes", "on")
        return S3Store(bucket, extra.get("prefix", ""), client=client,
                       object_lock_days=extra.get("object_lock_days"), conditional_writes=conditional)


def get_alert_sink(outbox_dir: Any, conn_id: str = "socialhub_slack", *,
                   webhook_conn_id: str = "socialhub_alert_webhook", smtp_conn_id: str = "socialhub_smtp",
                   allow_local: bool | None = None) -> Any:
    """Slack through the slack provider's SlackHook. No Slack connection: ``MissingConnection``,
    unless local defaults are allowed (``allow_local``, else ``SOCIALHUB_LOCAL_DEFAULTS`` naming
    ``outbox``): then the local outbox.

    With Slack and a fallback connection (``socialhub_alert_webhook``: http; ``socialhub_smtp``:
    smtp), Slack is wrapped in a ``FallbackSink``: what Slack will not take after its retries goes
    through the webhook (then email, if both exist) and says why. Credentials come only from the
    Connections and are never logged.
    """
    from socialhub.alerts.sinks import OutboxSink, SlackSink

    conn = _get_connection(conn_id)
    if conn is None:
        if _local_allowed("outbox", allow_local):
            return OutboxSink(outbox_dir)
        from socialhub.errors import MissingConnection

        raise MissingConnection(conn_id, "where alerts and platform-team notices are sent (Slack bot token)",
                                example="--conn-type slack --conn-password xoxb-…", local="outbox",
                                local_path=str(outbox_dir))
    from airflow.providers.slack.hooks.slack import SlackHook

    sink: Any = SlackSink(SlackHook(slack_conn_id=conn_id).client)
    from socialhub.errors import ConfigError

    fallbacks = []
    for build, fallback_id in ((get_webhook_sink, webhook_conn_id), (get_email_sink, smtp_conn_id)):
        try:
            fallback = build(fallback_id)
        except ConfigError as exc:
            # A broken fallback must not stop alerts while Slack works: say so loudly and go on without it.
            log.error("fallback connection %s ignored: %s", fallback_id, exc)
            continue
        if fallback is not None:
            fallbacks.append(fallback)
    if not fallbacks:
        return sink
    from socialhub.alerts.fallback import FallbackSink

    for fallback in fallbacks:
        sink = FallbackSink(sink, fallback, on_fallback=_log_fallback)
    return sink


def _log_fallback(event: Any) -> None:
    log.warning("alert message %s for %s went through the %s fallback (%s): %s", event.key, event.channel,
                event.fallback, event.location, event.reason)


def get_webhook_sink(conn_id: str = "socialhub_alert_webhook") -> Any | None:
    """The generic webhook fallback from an http Connection, or None if it does not exist.

    URL: extra ``url``, else ``schema://host:port`` + extra ``endpoint``; ``password`` is sent as
    ``Authorization: Bearer …`` (with ``login``: HTTP basic); extra ``headers`` are added; extras
    ``timeout``, ``max_attempts``, ``max_wait``. Sent through the http provider's ``HttpHook``
    (``HttpHookPoster``) with its tenacity retries.
    """
    conn = _get_connection(conn_id)
    if conn is None:
        return None
    from urllib.parse import urlsplit

    from socialhub.alerts.fallback import WebhookSink
    from socialhub.errors import ConfigError

    extra: dict[str, Any] = dict(conn.extra_dejson or {})
    url = str(extra.get("url") or "")
    if not url:
        host = str(conn.host or "")
        if not host:
            raise ConfigError(f"connection {conn_id} has neither a host nor an extra `url`",
                              hint='set the host (https://hooks.example.org) or {"url": "https://…"}')
        if "://" not in host:
            host = f"{conn.schema or 'https'}://{host}"
        parts = urlsplit(host)
        if conn.port and not parts.port:
            host = parts._replace(netloc=f"{parts.netloc}:{conn.port}").geturl()
        endpoint = str(extra.get("endpoint") or "")
        url = host.rstrip("/") + ("/" + endpoint.lstrip("/") if endpoint else "")
    headers = {str(k): str(v) for k, v in (extra.get("headers") or {}).items()}
    if conn.password and not conn.login:
        headers["Authorization"] = f"Bearer {conn.password}"   # with a login, HttpHook sends basic auth
    try:
        timeout = float(extra.get("timeout", 10))
        return WebhookSink(url, headers=headers, timeout=timeout, max_attempts=int(extra.get("max_attempts", 4)),
                           max_wait=float(extra.get("max_wait", 60)), post=HttpHookPoster(conn_id, url, timeout))
    except ValueError:
        raise ConfigError(f"connection {conn_id}: the webhook URL must be an absolute http(s) URL") from None


class _Redacting(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger that formats each message and replaces ``secrets`` in it before logging."""

    def __init__(self, logger: logging.Logger, secrets: list[str]) -> None:
        super().__init__(logger, {})
        self.secrets = secrets

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            for secret in self.secrets:
                text = text.replace(secret, "/<redacted>")
            kwargs.pop("exc_info", None)   # a traceback would repeat the URL
            self.logger.log(level, "%s", text, **kwargs)


class HttpHookPoster:
    """``WebhookPoster`` over the http provider's ``HttpHook``: the POST goes through
    ``run_with_advanced_retry`` with socialhub's tenacity policy (``WebhookSink.retry_args``), so
    the Connection's host, port, ``login``/``password`` (basic auth), proxies, ``verify`` and
    ``cert`` are read the provider's way. socialhub's own extras (``url``, ``endpoint``,
    ``headers``, ``max_attempts``, ``max_wait``) are not sent as HTTP headers, unlike any other
    extra of an http Connection; redirects are not followed. The hook logs the URL (and a
    connection error's text holds it), and a webhook's path is often its secret: the hook's log
    lines have the path and query replaced, and both are registered with Airflow's secrets masker."""

    OWN_EXTRAS = ("url", "endpoint", "headers", "max_attempts", "max_wait", "to")

    def __init__(self, conn_id: str, url: str, timeout: float) -> None:
        from urllib.parse import urlsplit

        import requests
        from airflow.providers.http.hooks.http import HttpHook

        own = self.OWN_EXTRAS
        parts = urlsplit(url)
        secrets = [p for p in (parts.path, parts.query) if len(p) > 1]
        quiet = _Redacting(logging.getLogger("socialhub_airflow.webhook"), secrets)

        class WebhookHttpHook(HttpHook):
            @property
            def log(self) -> Any:        # the hook logs the URL, and a connection error's text holds it
                return quiet

            def url_from_endpoint(self, endpoint: str | None) -> str:
                return url                   # the full URL (host + endpoint, or extra url), validated above

            def get_conn(self, headers: dict[Any, Any] | None = None,
                         extra_options: dict[str, Any] | None = None) -> Any:
                session = super().get_conn(None, extra_options)
                for name in own:
                    session.headers.pop(name, None)
                session.headers.update(headers or {})
                return session

        self.hook = WebhookHttpHook(method="POST", http_conn_id=conn_id)
        from airflow.sdk.log import mask_secret

        for secret in secrets:          # task logs too, whoever logs it
            mask_secret(secret)
        for noisy in ("urllib3", "requests"):   # urllib3 logs request lines (with the path) at DEBUG
            logging.getLogger(noisy).setLevel(logging.WARNING)
        self.timeout = timeout
        self.transport_errors: tuple[type[BaseException], ...] = (requests.exceptions.ConnectionError,
                                                                  requests.exceptions.Timeout)

    def __call__(self, body: bytes, headers: Any, retry_args: dict[str, Any]) -> Any:
        return self.hook.run_with_advanced_retry(
            retry_args, data=body, headers=dict(headers),
            extra_options={"check_response": False, "allow_redirects": False, "timeout": self.timeout})


def get_email_sink(conn_id: str = "socialhub_smtp") -> Any | None:
    """The email fallback through the smtp provider's SmtpHook, or None if the Connection does not exist.

    Recipients: the Connection's extra ``to`` (list or comma-separated), else
    ``SOCIALHUB_FALLBACK_EMAIL_TO``. The sender is the extra ``from_email`` (SmtpHook's own setting).
    Retries are SmtpHook's own: the extra ``retry_limit`` (default 5) bounds its reconnects after a
    dropped connection and its repeated ``sendmail``; a refused connection or a failed login is not
    retried within the task (the alert task fails and Airflow retries it).
    """
    conn = _get_connection(conn_id)
    if conn is None:
        return None
    import os

    from socialhub.alerts.fallback import EmailSink
    from socialhub.errors import ConfigError

    extra = dict(conn.extra_dejson or {})
    to = extra.get("to") or os.environ.get("SOCIALHUB_FALLBACK_EMAIL_TO", "")
    try:
        # no outer retry loop: SmtpHook retries by itself (extra ``retry_limit``, 5 by default)
        return EmailSink(SmtpSender(conn_id), to, max_attempts=1)
    except ValueError as exc:
        raise ConfigError(f"connection {conn_id}: {exc}",
                          hint='set the extra {"to": "platform@example.org"} or SOCIALHUB_FALLBACK_EMAIL_TO') from None


class SmtpSender:
    """``EmailSender`` over the smtp provider's ``SmtpHook`` (one SMTP session per message)."""

    def __init__(self, conn_id: str = "socialhub_smtp") -> None:
        self.conn_id = conn_id

    def __call__(self, *, subject: str, html: str, text: str, to: Any, headers: Any) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=self.conn_id) as hook:
            hook.send_email_smtp(to=list(to), subject=subject, html_content=html, custom_headers=dict(headers))
