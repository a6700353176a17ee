"""The audit log's MAC keys: where they come from, and the MACs they make.

A key is a secret held outside the store (an environment variable, or in Airflow the
``socialhub_audit_key`` Connection), never in the store, the code or a log line. Each key has
an id, written into every event it signs, so keys can be rotated: the first key signs, every
key listed verifies.

    SOCIALHUB_AUDIT_KEYS=k2026b:<secret>,k2026a:<old secret>

A secret is hex (an even number of 0-9a-f) or base64, at least 16 bytes once decoded.
``AuditKeys.__repr__`` never shows a secret, and no error message quotes one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from socialhub.errors import ConfigError

#: the environment variable holding the keys (``--key-env`` names another)
KEYS_ENV = "SOCIALHUB_AUDIT_KEYS"
MIN_SECRET_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


def decode_secret(text: str, key_id: str) -> bytes:
    """Hex or base64 to bytes; too short or undecodable is a ``ConfigError`` (which never quotes the secret)."""
    text = text.strip()
    if _HEX.fullmatch(text):
        raw = bytes.fromhex(text)
    else:
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if not raw:
            try:
                raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            except (binascii.Error, ValueError):
                raw = b""
    if not raw:
        raise ConfigError(f"audit key {key_id!r}: the secret is neither hex nor base64",
                          hint="generate one with: python -c 'import secrets; print(secrets.token_hex(32))'")
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigError(f"audit key {key_id!r}: the secret is {len(raw)} bytes; at least {MIN_SECRET_BYTES} "
                          "are needed", hint="generate one with: python -c 'import secrets; print(secrets.token_hex(32))'")
    return raw


def _check_id(key_id: str) -> str:
    key_id = key_id.strip()
    if not _KEY_ID.fullmatch(key_id):
        raise ConfigError(f"audit key id {key_id[:64]!r} is not valid: use letters, digits, '.', '_' or '-'",
                          hint="e.g. SOCIALHUB_AUDIT_KEYS=k2026b:<secret>,k2026a:<old secret>")
    return key_id


@dataclass(frozen=True)
class AuditKeys:
    """The signing key (the first one given) and every key that verifies (all of them)."""

    signing_id: str
    _secrets: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if self.signing_id not in self._secrets:
            raise ValueError("the signing key must be one of the keys")

    def __repr__(self) -> str:
        return f"AuditKeys(signing={self.signing_id!r}, verify={sorted(self._secrets)!r})"

    @property
    def ids(self) -> list[str]:
        return list(self._secrets)

    def has(self, key_id: str | None) -> bool:
        return key_id is not None and key_id in self._secrets

    def mac(self, key_id: str, message: str) -> str:
        return hmac.new(self._secrets[key_id], message.encode(), hashlib.sha256).hexdigest()

    def check(self, key_id: str, message: str, mac: object) -> bool:
        return isinstance(mac, str) and hmac.compare_digest(self.mac(key_id, message), mac)

    @classmethod
    def parse(cls, text: str, *, where: str = KEYS_ENV) -> AuditKeys | None:
        """``id:secret,id:secret`` (first signs); empty text is no keys (``None``)."""
        pairs: list[tuple[str, bytes]] = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key_id, sep, secret = part.partition(":")
            if not sep or not secret.strip():
                raise ConfigError(f"{where}: each key is ID:SECRET (entry {len(pairs) + 1} is not)",
                                  hint="e.g. k2026b:<hex or base64 secret>,k2026a:<old secret>")
            key_id = _check_id(key_id)
            pairs.append((key_id, decode_secret(secret, key_id)))
        if not pairs:
            return None
        ids = [k for k, _ in pairs]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{where}: a key id is listed twice", hint="give each key its own id")
        return cls(ids[0], dict(pairs))

    @classmethod
    def from_parts(cls, key_id: str, secret: str, old: Mapping[str, str] | None = None) -> AuditKeys:
        pairs = {_check_id(key_id): decode_secret(secret, key_id)}
        for old_id, old_secret in (old or {}).items():
            pairs.setdefault(_check_id(old_id), decode_secret(old_secret, old_id))
        return cls(_check_id(key_id), pairs)


def keys_from_env(var: str = KEYS_ENV, env: Mapping[str, str] | None = None) -> AuditKeys | None:
    env = os.environ if env is None else env
    return AuditKeys.parse(env.get(var, ""), where=var)


def keys_from_connection(conn: Any) -> AuditKeys | None:
    """An Airflow Connection: password = secret; login or extra ``key_id`` = id; extra ``old_keys``
    (``{"id": "secret"}`` or ``"id:secret,id:secret"``) verify only."""
    if conn is None or not getattr(conn, "password", None):
        return None
    raw_extra = getattr(conn, "extra", None)
    try:
        extra = json.loads(raw_extra) if raw_extra else {}
    except ValueError:
        raise ConfigError("connection socialhub_audit_key: the extra is not valid JSON",
                          hint='e.g. {"key_id": "k2026b", "old_keys": {"k2026a": "<old secret>"}}') from None
    key_id = str(extra.get("key_id") or getattr(conn, "login", None) or "")
    if not key_id:
        raise ConfigError("connection socialhub_audit_key has no key id",
                          hint='put the id in the login, or {"key_id": "k2026b"} in the extra')
    old = extra.get("old_keys") or {}
    if isinstance(old, str):
        parsed = AuditKeys.parse(old, where="connection socialhub_audit_key extra old_keys")
        merged = dict(AuditKeys.from_parts(key_id, str(conn.password))._secrets)
        for k in parsed.ids if parsed is not None else []:
            merged.setdefault(k, parsed._secrets[k])  # type: ignore[union-attr]
        return AuditKeys(_check_id(key_id), merged)
    if not isinstance(old, Mapping):
        raise ConfigError("connection socialhub_audit_key: extra old_keys must be an object or ID:SECRET,… text")
    return AuditKeys.from_parts(key_id, str(conn.password), {str(k): str(v) for k, v in old.items()})


__all__ = ["KEYS_ENV", "AuditKeys", "decode_secret", "keys_from_connection", "keys_from_env"]
