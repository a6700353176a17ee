"""Data-quality stage: Great Expectations validation, quarantine and the batch gate.

Importing this package is cheap (no ``great_expectations``, no ``pandas``): Airflow DAG files
import it at parse time. GX is loaded and its context built on the first ``validate_batch``.
"""

from socialhub.quality.rules import SUITE_NAME, SUITE_VERSION, rules_fingerprint
from socialhub.quality.suite import REASONS_KEY, QualityResult, raise_if_gate_failed, validate_batch

__all__ = [
    "REASONS_KEY",
    "SUITE_NAME",
    "SUITE_VERSION",
    "QualityResult",
    "raise_if_gate_failed",
    "rules_fingerprint",
    "validate_batch",
]
