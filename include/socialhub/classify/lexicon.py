"""The lexicon and thresholds files: their schema, and loading them into validated objects.

Why a separate module: the lexicon is data that analysts edit (``lexicon.yaml``), and more
than one classifier reads it (the rule classifier now; a learned model later may use lexicon
hits as features). Validation happens here, once, and every problem is reported together with
the entry it belongs to, so a bad edit is fixed in one go instead of one error per deploy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from socialhub.errors import ConfigError
from socialhub.models import CATEGORIES

__all__ = [
    "DEFAULT_LEXICON_PATH",
    "DEFAULT_THRESHOLDS_PATH",
    "ContextRule",
    "Lexicon",
    "LexiconEntry",
    "Thresholds",
    "load_lexicon",
    "load_thresholds",
]

DEFAULT_LEXICON_PATH = Path(__file__).with_name("lexicon.yaml")
DEFAULT_THRESHOLDS_PATH = Path(__file__).with_name("thresholds.yaml")

Category = Literal["violence_threat", "weapon", "gang_affiliation", "drug_supply"]
if set(get_args(Category)) != set(CATEGORIES):  # pragma: no cover - guards against drift
    raise ImportError("classify.lexicon.Category must list exactly models.CATEGORIES")

_ID = r"^[a-z0-9][a-z0-9_.\-]*$"


def check_regex(pattern: str) -> str:
    """Reject a regex that would break the combined matcher, saying why.

    Capturing groups would shift the group numbers the matcher relies on, inline flags are
    not allowed mid-pattern, and a pattern matching the empty string would match everywhere.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex: {exc}") from None
    if compiled.groups:
        raise ValueError("use non-capturing groups (?:...) only")
    if re.search(r"\(\?[aiLmsux-]", pattern):
        raise ValueError("inline flags are not allowed (text is already case-folded)")
    if compiled.fullmatch(""):
        raise ValueError("pattern matches the empty string")
    return pattern


class LexiconEntry(BaseModel):
    """One term or phrase (or regex) that is evidence for one category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID)
    category: Category
    pattern: str = Field(min_length=1)
    regex: bool = False
    weight: float = Field(ge=0.0, le=1.0)
    notes: str | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _pattern_ok(self) -> LexiconEntry:
        if self.regex:
            check_regex(self.pattern)
        elif not any(ch.isalnum() or ord(ch) > 0x2000 for ch in self.pattern):
            raise ValueError("a term needs at least one letter, digit or emoji")
        return self


class ContextRule(BaseModel):
    """Cues that a post is reporting, campaigning, fiction, sport, cooking or gaming.

    A match multiplies the scores of ``categories`` (all when omitted) by ``multiplier``; a
    context can only lower a score, never raise one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID)
    patterns: list[str] = Field(min_length=1)
    regex: bool = False
    multiplier: float = Field(ge=0.0, le=1.0)
    categories: list[Category] | None = None
    notes: str | None = None
    source: str | None = None

    @field_validator("patterns")
    @classmethod
    def _patterns_ok(cls, value: list[str]) -> list[str]:
        for i, p in enumerate(value):
            if not p.strip():
                raise ValueError(f"patterns[{i}] is empty")
        return value

    @model_validator(mode="after")
    def _regexes_ok(self) -> ContextRule:
        if self.regex:
            for i, p in enumerate(self.patterns):
                try:
                    check_regex(p)
                except ValueError as exc:
                    raise ValueError(f"patterns[{i}]: {exc}") from None
        return self

    def applies_to(self, category: str) -> bool:
        return self.categories is None or category in self.categories


class Lexicon(BaseModel):
    """The whole lexicon file. ``version`` ends up in every classification it produced."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    entries: list[LexiconEntry] = Field(min_length=1)
    context_rules: list[ContextRule] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, value: Any) -> Any:
        # YAML reads ``version: 1.0`` as a float; accept it, but keep it a string.
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _unique_ids(self) -> Lexicon:
        seen: set[str] = set()
        dupes = []
        for rid in [e.id for e in self.entries] + [c.id for c in self.context_rules]:
            if rid in seen:
                dupes.append(rid)
            seen.add(rid)
        if dupes:
            raise ValueError(f"duplicate ids: {', '.join(sorted(set(dupes)))}")
        return self


def _check_thresholds(value: dict[str, float]) -> dict[str, float]:
    missing = [c for c in CATEGORIES if c not in value]
    if missing:
        raise ValueError(f"missing categories: {', '.join(missing)}")
    for c, t in value.items():
        if not 0.0 < t <= 1.0:
            raise ValueError(f"{c}: threshold must be > 0 and <= 1, got {t}")
    return value


class Thresholds(BaseModel):
    """Per-category score at or above which a category becomes a label.

    ``thresholds`` apply to the default detection layer (rules + model, ``combined.py``);
    ``rules_only`` to the rule classifier alone (used when the model artifact is missing, or
    when a ``RuleClassifier`` is built directly), because the two produce scores on different
    scales. ``model_version`` records which model the thresholds were chosen for: loading a
    different model logs a warning, since its scores need their own thresholds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    thresholds: dict[Category, float]
    rules_only: dict[Category, float] | None = None
    model_version: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("thresholds")
    @classmethod
    def _all_categories(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_thresholds(value)

    @field_validator("rules_only")
    @classmethod
    def _all_rule_categories(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        return None if value is None else _check_thresholds(value)

    def for_rules(self) -> dict[str, float]:
        """Thresholds for the rule classifier alone (``rules_only``, else ``thresholds``)."""
        chosen = self.rules_only if self.rules_only is not None else self.thresholds
        return {str(k): float(v) for k, v in chosen.items()}


# --------------------------------------------------------------------------- loading

def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # a safe loader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def _describe(raw: Any, loc: tuple[Any, ...]) -> str:
    """``entries[3] (id 'weapon.shank').weight`` for an error location, naming the entry."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            item = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
            if isinstance(item, dict) and "id" in item:
                label += f" (id {item['id']!r})"
            parts.append(label)
            node = item
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "file"


def _validation_error(path: Path, raw: Any, exc: ValidationError) -> ConfigError:
    problems = []
    for err in exc.errors():
        # Model-level validators report at the model's location; pydantic adds no field key.
        loc = tuple(k for k in err["loc"] if not (isinstance(k, str) and k.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"{_describe(raw, loc)}: {msg}")
    return ConfigError(
        f"{path}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems),
        hint="fix each entry listed; the classifier was not loaded",
    )


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Read and validate a lexicon file; every problem raises one ``ConfigError`` naming entries."""
    p = Path(path) if path is not None else DEFAULT_LEXICON_PATH
    raw = _read_yaml(p)
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping with version, entries and context_rules")
    try:
        return Lexicon.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(p, raw, exc) from None


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """Read and validate a thresholds file."""
    p = Path(path) if path is not None else DEFAULT_THRESHOLDS_PATH
    raw = _read_yaml(p)
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping with version and thresholds")
    try:
        return Thresholds.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(p, raw, exc) from None
