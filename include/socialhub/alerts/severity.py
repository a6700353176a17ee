"""How urgent an alert is: bands from the calibrated score and the category, in one place.

Severity does not decide anything (officers review every alert, whatever its severity); it
orders digests, marks the message, and with ``high_to_escalation`` in ``routing.yaml`` sends
HIGH alerts to the escalation channel. It must therefore follow the evidence: a label alone is
not enough, because a label can stand on weak evidence (a rule phrase the model did not
confirm), and a youth club's "Mario Kart night", a peace walk against knife crime or a boxing
tutorial scored 0.10 must not wake anyone up as HIGH.

The bands, for each **labelled** category (scores of unlabelled categories never count):

==========  ======================================================================================
band        when
==========  ======================================================================================
``high``    score >= the category's ``high_at`` (``HIGH_AT`` below; ``None``: never HIGH)
``normal``  the category's label threshold <= score < ``high_at``
``low``     score < the category's label threshold: the label stands on rule evidence that the
            calibrated score does not back (a listed phrase the model rated low), so it is
            still reviewed, but read the reasons first
==========  ======================================================================================

An alert's severity is its highest band over its labels; an alert without labels (not produced
by the pipeline) or with malformed scores is ``low``: a broken classification may under-, never
over-, escalate.

**The label threshold** is the classifier's own per-category threshold
(``include/socialhub/classify/thresholds.yaml``), as recorded with the classification
(``classification["thresholds"]``); an alert stored without them (older alerts) uses the file's
current values, ``thresholds`` for the combined rules + model layer (scores are calibrated
probabilities) or ``rules_only`` when the classifier version has no ``+model`` part.

**``high_at`` per category** (calibrated probability; the same cut-offs apply to the rules-only
scale, which is cruder). HIGH means "someone may be hurt soon: interrupt the on-duty officer",
so the category decides whether a post can be HIGH at all, and the score decides whether it is.
Checked on the dev and test splits (``data/labelled``) with the 4.16 classifier: among correctly
labelled posts about 64% of threats and 56% of weapon posts score at or above these values,
against 32% and 16% of the false alarms.

* ``violence_threat`` **0.80**: a threat to a person is the most urgent category, so it is
  HIGH at the lowest cut-off; its label threshold (0.45) is deliberately low for recall, so
  between the two it is ``normal``.
* ``weapon`` **0.90**: a weapon carried, shown off or offered; a bare mention with some
  context scores lower.
* ``gang_affiliation`` and ``drug_supply`` **never** HIGH on their own (at most ``normal``):
  a taunt or a drug menu is intelligence to review in the shift, not an emergency, and their
  slang overlaps everyday speech. A post that also threatens or shows a weapon is HIGH through
  that label.

Change the values here (and the table in docs/review.md, section *Severity*); the tests in
``tests/alerts/test_severity.py`` pin them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Severity = Literal["high", "normal", "low"]

#: Highest first: the order of digests and of ``max``.
SEVERITY_ORDER: tuple[Severity, ...] = ("high", "normal", "low")

#: Score at or above which a labelled category makes an alert HIGH (see the module docstring);
#: ``None``: the category is never HIGH on its own.
HIGH_AT: Mapping[str, float | None] = {
    "violence_threat": 0.80,
    "weapon": 0.90,
    "gang_affiliation": None,
    "drug_supply": None,
    # a re-upload of content an officer already referred or escalated: act on it, but the match
    # says nothing about imminent harm on its own (socialhub.media.judge)
    "known_content": None,
}
#: ``high_at`` of a category this table does not know (a future category): only near-certain scores.
HIGH_AT_UNKNOWN = 0.95

#: How each band is marked in a message, and said in words.
MARKERS: Mapping[str, str] = {"high": "\U0001f534 HIGH", "normal": "\U0001f7e1 normal", "low": "\u26aa low"}

THRESHOLDS_PATH = Path(__file__).resolve().parents[1] / "classify" / "thresholds.yaml"


@lru_cache(maxsize=1)
def _file_thresholds() -> dict[str, dict[str, float]]:
    """``{"thresholds": …, "rules_only": …}`` of the classifier's thresholds file; empty if unreadable."""
    try:
        import yaml

        data = yaml.safe_load(THRESHOLDS_PATH.read_text(encoding="utf-8")) or {}
        return {k: {str(c): float(v) for c, v in (data.get(k) or {}).items()} for k in ("thresholds", "rules_only")}
    except Exception as exc:  # noqa: BLE001 - severity must never stop an alert
        log.warning("cannot read %s (%s): alerts without recorded thresholds are banded by high_at only",
                    THRESHOLDS_PATH, exc)
        return {"thresholds": {}, "rules_only": {}}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def label_thresholds(classification: Mapping[str, Any]) -> dict[str, float]:
    """The per-category label thresholds that applied to ``classification`` (see the docstring)."""
    recorded = classification.get("thresholds")
    if isinstance(recorded, Mapping) and recorded:
        out = {str(c): n for c, v in recorded.items() if (n := _number(v)) is not None}
        if out:
            return out
    version = str(classification.get("classifier_version") or "")
    file = _file_thresholds()
    return dict(file["thresholds"] if "+model" in version else file["rules_only"])


def high_at(category: str) -> float | None:
    return HIGH_AT[category] if category in HIGH_AT else HIGH_AT_UNKNOWN


def _high_text(category: str) -> str:
    cut = high_at(category)
    return f"HIGH from {cut:.2f}" if cut is not None else "never HIGH on its own"


def category_band(category: str, score: object, threshold: float | None) -> Severity:
    """The band of one labelled category with ``score`` (``None``/non-numeric counts as 0)."""
    value = _number(score) or 0.0
    cut = high_at(category)
    if cut is not None and value >= cut:
        return "high"
    if threshold is not None and value < threshold:
        return "low"
    if threshold is None and value <= 0.0:
        return "low"
    return "normal"


def category_bands(classification: Mapping[str, Any]) -> list[tuple[str, float | None, Severity]]:
    """(category, score, band) for every label, in label order."""
    scores = classification.get("scores") or {}
    thresholds = label_thresholds(classification)
    out = []
    for label in [str(x) for x in classification.get("labels") or []]:
        score = _number(scores.get(label)) if isinstance(scores, Mapping) else None
        out.append((label, score, category_band(label, score, thresholds.get(label))))
    return out


def severity_of(classification: Mapping[str, Any]) -> Severity:
    """The alert's band: the highest band over its labels; ``"low"`` without labels."""
    bands = {band for _, _, band in category_bands(classification)}
    return next((s for s in SEVERITY_ORDER if s in bands), "low")


def severity_rank(severity: str) -> int:
    """0 for high, 1 normal, 2 low, 3 anything else: for sorting, most urgent first."""
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)  # type: ignore[arg-type]


def marker(severity: str) -> str:
    return MARKERS.get(severity, MARKERS["normal"])


def why_severity(classification: Mapping[str, Any]) -> str:
    """One plain sentence on why the alert has its band, e.g. ``HIGH: threat 0.96 (HIGH from 0.80)``."""
    from socialhub.alerts.present import category_name

    bands = category_bands(classification)
    if not bands:
        return "low: no category labelled"
    severity = severity_of(classification)
    thresholds = label_thresholds(classification)
    deciding = [(c, s) for c, s, b in bands if b == severity]
    parts = []
    for category, score in deciding:
        shown = f"{score:.2f}" if score is not None else "no score"
        if severity == "low":
            thr = thresholds.get(category)
            below = f"below its label threshold {thr:.2f}" if thr is not None else "no score"
            parts.append(f"{category_name(category)} {shown} ({below})")
        else:
            parts.append(f"{category_name(category)} {shown} ({_high_text(category)})")
    head = {"high": "HIGH", "normal": "normal", "low": "low"}[severity]
    return f"{head}: " + ", ".join(parts)
