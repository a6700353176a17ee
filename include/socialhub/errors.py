"""Every error socialhub raises on purpose.

    SocialhubError                 base: carries a message and a ``hint`` (what to do)
    ├── ConfigError                a configuration file or connection is wrong
    │   ├── WatchlistError         the watchlist does not validate (one line per bad entry)
    │   ├── InvalidConnection      a platform's Airflow Connection is malformed (one line per bad field)
    │   └── MissingConnection      a required Airflow Connection (store, Slack) does not exist
    ├── ConnectorError             one account could not be collected (per account, never fatal to a run)
    │   ├── AccountUnavailable     deleted, suspended, private or renamed (404/410)
    │   ├── AuthError              401/403: the connection's credentials are wrong or lack access
    │   ├── MalformedResponse      the platform answered something we cannot parse
    │   │   └── ResponseTooLarge   the body is over the size limit (not read further)
    │   └── RateLimited            429 or quota exhausted; ``retry_at`` says when to come back
    │       └── PacedOut           the collect shard's own pacing stopped the fetch (deferred, not failed)
    ├── StorageError               object storage failed
    │   ├── UnsafeKeyError         a key would escape its prefix (``../``, absolute, encoded)
    │   └── ImmutableObjectError   an evidence object exists with different content
    ├── QualityGateFailed          a batch is mostly bad; quarantined rows are kept
    └── AlertDeliveryError         an alert could not be delivered
"""

from __future__ import annotations

from datetime import datetime


class SocialhubError(Exception):
    """Base class. ``hint`` tells the user what to do about it."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(SocialhubError):
    hint = "check the configuration file or Airflow Connection named in the message"


class WatchlistError(ConfigError):
    """Raised with every problem found, so one run of ``watchlist validate`` shows them all."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(
            f"{path}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems),
            hint="fix each entry listed, then run `socialhub watchlist validate` again",
        )


class InvalidConnection(ConfigError):
    """Every problem of one connection at once, naming the field; secrets are never part of it."""

    def __init__(self, conn_id: str, problems: list[str]) -> None:
        self.conn_id = conn_id
        self.problems = problems
        env = "AIRFLOW_CONN_" + conn_id.upper()
        super().__init__(
            f"Airflow Connection {conn_id}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems),
            hint=f"fix the field(s) listed in Admin > Connections > {conn_id} (or the {env} variable); "
                 f"see docs/connectors.md for the extras each platform understands")


class MissingConnection(ConfigError):
    """A connection the pipeline cannot run without is missing, and no local default is allowed.

    ``purpose`` says what it is for; ``local`` names the ``SOCIALHUB_LOCAL_DEFAULTS`` value and the
    folder that a single-machine set-up (demo, tests) may use instead.
    """

    def __init__(self, conn_id: str, purpose: str, *, example: str, local: str, local_path: str) -> None:
        self.conn_id = conn_id
        env = "AIRFLOW_CONN_" + conn_id.upper()
        super().__init__(
            f"Airflow Connection {conn_id} does not exist (or this worker cannot see it): it is {purpose}, "
            f"and socialhub does not fall back to a local folder outside the demo and the tests",
            hint=f"create it (Admin > Connections, the {env} variable, a secrets backend, or "
                 f"`airflow connections add {conn_id} {example}`); only on one machine, where a local "
                 f"folder is read by someone, set SOCIALHUB_LOCAL_DEFAULTS={local} to use {local_path}")


class ConnectorError(SocialhubError):
    def __init__(
        self, platform: str, account: str, message: str, *, hint: str | None = None, status: int | None = None
    ) -> None:
        self.platform = platform
        self.account = account
        self.status = status
        super().__init__(f"{platform}:{account}: {message}", hint=hint)


class AccountUnavailable(ConnectorError):
    """``reason`` says which, when the connector could tell (one of ``ACCOUNT_REASONS``);
    ``moved_to`` names the new handle of a renamed or moved account."""

    hint = "the account may be deleted, suspended, private or renamed: review the watchlist entry"

    def __init__(self, platform: str, account: str, message: str, *, hint: str | None = None,
                 status: int | None = None, reason: str | None = None, moved_to: str | None = None) -> None:
        self.reason = reason if reason in ACCOUNT_REASONS else None
        self.moved_to = moved_to
        super().__init__(platform, account, message, hint=hint, status=status)


#: what ``AccountUnavailable.reason`` may say
ACCOUNT_REASONS = frozenset({"renamed", "moved", "suspended", "deleted", "private", "not_found"})


class AuthError(ConnectorError):
    hint = "check the platform's Airflow Connection (token or key) and its access level"


class MalformedResponse(ConnectorError):
    hint = "the platform changed its format or the response was truncated; the cursor was not moved"


class ResponseTooLarge(MalformedResponse):
    """A response body over the configured limit: reading stopped at the limit, nothing parsed."""

    def __init__(self, platform: str, account: str, message: str, *, limit: int, hint: str | None = None,
                 status: int | None = None) -> None:
        self.limit = limit
        super().__init__(platform, account, message, hint=hint or (
            f"nothing was stored and the cursor was not moved. If the platform really serves pages this big, "
            f"raise the limit (now {limit} bytes) with extra max_body_bytes in the Airflow Connection "
            f"socialhub_{platform} or SOCIALHUB_MAX_RESPONSE_BYTES, or lower extra page_size"), status=status)


class RateLimited(ConnectorError):
    hint = "the account will be collected after the reset; the cursor was not moved"

    def __init__(self, platform: str, account: str, message: str, *, retry_at: datetime | None = None,
                 status: int | None = 429) -> None:
        self.retry_at = retry_at
        super().__init__(platform, account, message, status=status)


class PacedOut(RateLimited):
    """The collect shard's *own* pacing (``sources/pacing.py``) stopped the fetch: its slice of the
    platform's published limit for ``scope`` has no turn within the wait a run allows. No platform
    said no: the account is deferred to the next run (``collect_account`` status ``deferred``), not
    failed, and is no mark against its source's health. ``requests_sent``: requests the fetch had
    already sent (pages before the one that was paced out); they count in the rate-budget ledger."""

    hint = "the account is collected on the next run (deferred by pacing, not failed); the cursor was not moved"

    def __init__(self, platform: str, account: str, message: str, *, scope: str, retry_at: datetime | None = None,
                 requests_sent: int = 0) -> None:
        self.scope = scope
        self.requests_sent = requests_sent
        super().__init__(platform, account, message, retry_at=retry_at, status=None)


class StorageError(SocialhubError):
    hint = "check the storage connection (bucket, endpoint, credentials) or the local folder's permissions"


class UnsafeKeyError(StorageError):
    hint = "object keys are built from validated segments; an account name must not look like a path"


class ImmutableObjectError(StorageError):
    hint = "evidence is write-once: a different object already exists under this key"


class QualityGateFailed(SocialhubError):
    hint = "most of the batch failed the data-quality suite: look at the quarantine objects for the reasons"


class AlertDeliveryError(SocialhubError):
    hint = "check the Slack connection (token, channel) or the outbox folder"
