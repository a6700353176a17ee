"""The append-only, hash-chained audit log. See ``chain.py``."""

from socialhub.audit.chain import AuditLog, Auditor, VerifyResult, verify_chain

__all__ = ["AuditLog", "Auditor", "VerifyResult", "verify_chain"]
