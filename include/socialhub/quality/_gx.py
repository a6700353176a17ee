"""Great Expectations runtime: one ephemeral context and one suite per frame, built once per process.

Everything GX lives here and is imported lazily: ``import great_expectations`` takes 10-15 s on
the CI runner (it pulls in scipy, sqlalchemy, altair...), which Airflow's DAG parser must never pay.
The first :func:`run` in a process pays it once; later batches reuse the cached context.

No network: analytics are disabled by environment *and* context config, the context is ephemeral
with in-memory stores (nothing is written to disk), and progress bars are off (they spam task logs).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from socialhub.quality.rules import FRAMES, RULES, SUITE_NAME, SUITE_VERSION, Frame, Rule, rules_fingerprint

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: COMPLETE is what returns ``unexpected_index_list`` in full (other formats truncate to 20);
#: the index query string is pandas code we do not need.
RESULT_FORMAT: dict[str, Any] = {"result_format": "COMPLETE", "return_unexpected_index_query": False}


class SuiteExecutionError(RuntimeError):
    """An expectation raised instead of evaluating: a bug in the suite or frames, never bad data.

    Raised rather than treating the rows as valid (silently passing) or as bad (quarantining a
    whole batch for our own bug).
    """


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What GX reported for one rule: overall success and the failing row positions of its frame."""

    rule: Rule
    success: bool
    unexpected_index: list[int]


@dataclass(slots=True)
class _Runtime:
    context: Any
    batch_definitions: dict[Frame, Any]
    suites: dict[Frame, Any]


_LOCK = threading.Lock()
_RUNTIME: _Runtime | None = None


def _build() -> _Runtime:
    # Set before the import so nothing GX does at import time can phone home.
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    datasource = context.data_sources.add_pandas(name="socialhub")
    batch_definitions: dict[Frame, Any] = {}
    suites: dict[Frame, Any] = {}
    meta = {"socialhub_suite": SUITE_NAME, "version": SUITE_VERSION, "fingerprint": rules_fingerprint()}
    for frame in FRAMES:
        asset = datasource.add_dataframe_asset(name=frame)
        batch_definitions[frame] = asset.add_batch_definition_whole_dataframe(name=f"{frame}_batch")
        expectations = [
            ExpectationConfiguration(
                type=rule.expectation, kwargs=dict(rule.kwargs), meta={"rule": rule.label}, notes=rule.why
            ).to_domain_obj()
            for rule in RULES
            if rule.frame == frame
        ]
        suite = gx.ExpectationSuite(name=f"{SUITE_NAME}.{frame}", expectations=expectations, meta=meta)
        suites[frame] = context.suites.add(suite)
    return _Runtime(context=context, batch_definitions=batch_definitions, suites=suites)


def runtime() -> _Runtime:
    """The process-wide GX runtime, built on first use (thread-safe)."""
    global _RUNTIME
    if _RUNTIME is None:
        with _LOCK:
            if _RUNTIME is None:
                _RUNTIME = _build()
    return _RUNTIME


def run(frame: Frame, df: pd.DataFrame, parameters: dict[str, Any]) -> list[RuleOutcome]:
    """Validate ``df`` (RangeIndex) with the suite for ``frame``; one outcome per rule, in RULES order."""
    rt = runtime()
    by_label = {rule.label: rule for rule in RULES if rule.frame == frame}
    with _LOCK:  # a GX context is not documented as thread-safe; validations are short
        batch = rt.batch_definitions[frame].get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(rt.suites[frame], result_format=RESULT_FORMAT, expectation_parameters=parameters)
    outcomes: dict[str, RuleOutcome] = {}
    for r in result.results:
        label = (r.expectation_config.meta or {}).get("rule")
        rule = by_label.get(label) if label else None
        if rule is None:
            raise SuiteExecutionError(f"GX returned a result for an unknown expectation: {r.expectation_config}")
        error = _exception_message(r.exception_info)
        if error is not None:
            raise SuiteExecutionError(f"{label} raised in GX: {error}")
        indexes = r.result.get("unexpected_index_list") or []
        if not r.success and not indexes:
            raise SuiteExecutionError(f"{label} failed without naming rows: {dict(r.result)}")
        outcomes[rule.label] = RuleOutcome(rule=rule, success=bool(r.success), unexpected_index=[int(i) for i in indexes])
    missing = set(by_label) - set(outcomes)
    if missing:
        raise SuiteExecutionError(f"GX did not evaluate: {sorted(missing)}")
    return [outcomes[label] for label in by_label]


def _exception_message(info: Any) -> str | None:
    """GX 1.x reports exceptions either flat (``{"raised_exception": True, ...}``) or, when a metric
    failed, as one such dict per metric id; return the first message, or None if nothing raised."""
    if not isinstance(info, Mapping):
        return None
    candidates = [info, *(v for v in info.values() if isinstance(v, Mapping))]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            return str(candidate.get("exception_message") or "unknown error")
    return None

