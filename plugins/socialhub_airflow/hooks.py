"""Hooks: one per external system, configured only from Airflow Connections.

| connection id            | type  | what for                                                       |
|--------------------------|-------|----------------------------------------------------------------|
| ``socialhub_<platform>`` | http  | platform API: host/base_url, password = token or API key       |
| ``socialhub_storage``    | aws   | S3 store: extra ``bucket``, ``prefix``, ``endpoint_url``       |
| ``socialhub_slack``      | slack | Slack bot token (password) and optional extra ``base_url``     |

A missing platform connection means "public endpoint, no token"; a missing storage
connection means the local folder; a missing Slack connection means the local outbox.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseHook

log = logging.getLogger(__name__)

PUBLIC_BASE_URLS = {
    "mastodon": "https://mastodon.social",
    "bluesky": "https://public.api.bsky.app",
    "youtube": "https://www.googleapis.com/youtube/v3",
    "x": "https://api.x.com",
    "reddit": "https://www.reddit.com",
    "telegram": "https://t.me",
    "rss": "",
}


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
        from socialhub.sources.base import ConnectorConfig

        conn = _get_connection(self.conn_id)
        extra: dict[str, Any] = dict(conn.extra_dejson) if conn else {}
        base_url = extra.pop("base_url", None)
        if not base_url and conn and conn.host:
            host = conn.host if "://" in conn.host else f"{conn.schema or 'https'}://{conn.host}"
            base_url = f"{host}:{conn.port}" if conn.port and f":{conn.port}" not in host else host
        base_url = base_url or PUBLIC_BASE_URLS.get(self.platform, "")
        return ConnectorConfig(
            base_url=str(base_url).rstrip("/"),
            token=(conn.password or None) if conn else None,
            lookback=timedelta(days=int(extra.pop("lookback_days", lookback_days))),
            max_pages=int(extra.pop("max_pages", max_pages)),
            extra=extra,
        )


class SocialhubStorageHook(BaseHook):
    """The object store: S3 (through the amazon provider's S3Hook) or the local folder."""

    conn_name_attr = "conn_id"
    default_conn_name = "socialhub_storage"
    conn_type = "aws"
    hook_name = "socialhub object store"

    def __init__(self, conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.conn_id = conn_id

    def get_store(self, local_root: Any) -> Any:
        from socialhub.storage import LocalStore

        conn = _get_connection(self.conn_id)
        if conn is None or conn.conn_type not in ("aws", "s3"):
            return LocalStore(local_root)
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from socialhub.storage.s3 import S3Store

        extra = conn.extra_dejson
        bucket = extra.get("bucket") or extra.get("bucket_name")
        if not bucket:
            from socialhub.errors import ConfigError

            raise ConfigError(f"connection {self.conn_id} has no `bucket` in its extra",
                              hint='add {"bucket": "socialhub-evidence"} to the connection extra')
        client = S3Hook(aws_conn_id=self.conn_id).get_conn()
        return S3Store(bucket, extra.get("prefix", ""), client=client,
                       object_lock_days=extra.get("object_lock_days"))


def get_alert_sink(outbox_dir: Any, conn_id: str = "socialhub_slack") -> Any:
    """Slack through the slack provider's SlackHook when its connection exists, else the local outbox."""
    from socialhub.alerts.sinks import OutboxSink, SlackSink

    conn = _get_connection(conn_id)
    if conn is None:
        return OutboxSink(outbox_dir)
    from airflow.providers.slack.hooks.slack import SlackHook

    return SlackSink(SlackHook(slack_conn_id=conn_id).client)
