"""The data-quality rules for collected posts, as plain data (no Great Expectations import).

Why plain data rather than GX objects or a JSON file:

* ``socialhub.quality`` is imported by Airflow DAG files, which must parse in well under a second;
  importing ``great_expectations`` costs 10 s or more, so the GX suite is only *built* from these
  specs, lazily, in :mod:`socialhub.quality._gx`.
* The rules are typed and reviewed in code next to their reasons, and :func:`rules_fingerprint`
  hashes them so a test forces a :data:`SUITE_VERSION` bump whenever a rule changes. Every
  quality result carries suite name, version and fingerprint: for evidence handling we must be
  able to say which rules quarantined (or passed) a post.

Each rule validates one of three frames built from the batch (see ``suite._build_frames``):

``posts``  one row per post; string fields normalised to ``str``/``None`` (so string-only
           expectations cannot crash on a stray int or dict) plus derived epoch columns, because GX
           has no "timestamp string is before X" expectation.
``types``  one row per post with the *raw* values, only for type checks (``int`` ids, a string
           where a list belongs, ...) which the normalised frame can no longer see.
``media``  one row per media entry (the ``media`` list exploded), so each URL is checked by GX.

Map expectations skip nulls, so "required" is expressed only by the not-null rules and each bad
value produces one precise reason rather than a cascade.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from socialhub.models import PLATFORMS

SUITE_NAME = "socialhub.posts"
#: Bump on any change to :data:`RULES` (a test pins :func:`rules_fingerprint` per version).
SUITE_VERSION = "1.0.0"

Frame = Literal["posts", "types", "media"]
FRAMES: tuple[Frame, ...] = ("posts", "types", "media")

#: Timestamps may run ahead of our clock by this much (platform clocks and ours are not in step).
CLOCK_SKEW_SECONDS = 300
#: Nothing we collect predates 2004 (the oldest supported platforms); earlier dates are parse bugs.
MIN_TIMESTAMP = datetime(2004, 1, 1, tzinfo=UTC)
#: Suite parameter filled per validation with ``now + CLOCK_SKEW_SECONDS`` (epoch seconds), so the
#: suite itself is built once per process and the bound still moves with time.
MAX_EPOCH_PARAM = "max_timestamp_epoch"

#: Columns every post must have. ``author`` and ``text`` may be empty (media-only posts,
#: channels without a display name); connectors leave a field empty rather than invent it.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "platform", "account", "post_id", "url", "created_at", "collected_at", "raw_sha256",
)
#: All string fields of :class:`socialhub.models.Post` (type-checked when present).
STRING_COLUMNS: tuple[str, ...] = (
    "platform", "account", "post_id", "url", "author", "text", "created_at", "collected_at",
    "raw_sha256", "reply_to", "repost_of",
)
TIMESTAMP_COLUMNS: tuple[str, ...] = ("created_at", "collected_at")
MEDIA_ITEM_COLUMN = "media_item"

#: ``\A``/``\Z`` rather than ``^``/``$``: GX's pandas regex uses ``str.contains`` (search), and
#: ``$`` would also accept a trailing newline. ``[0-9]`` because ``\d`` matches any Unicode digit.
#: Non-capturing groups only: pandas warns (once per validation) about capture groups in contains().
ISO_UTC_REGEX = (
    r"\A[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z\Z"
)
ISO_UTC_STRFTIME = "%Y-%m-%dT%H:%M:%SZ"
#: http(s) only, a dotted host, optional port, no userinfo (``http://good@evil``), no whitespace
#: or control characters anywhere.
HTTP_URL_REGEX = r"\Ahttps?://(?:[\w-]+\.)+[\w-]+(?::[0-9]{1,5})?(?:[/?#][^\s\x00-\x1f\x7f]*)?\Z"
#: Lower-case as produced by ``models.raw_sha256``: one canonical spelling keeps hash lookups exact.
SHA256_REGEX = r"\A[0-9a-f]{64}\Z"
NON_BLANK_REGEX = r"\S"


@dataclass(frozen=True, slots=True)
class Rule:
    """One GX expectation: which frame it runs on, its GX type and kwargs, and why it exists.

    ``keep_first``: for uniqueness rules, the first occurrence of a value is kept valid and only
    the later ones are quarantined (GX itself reports every occurrence as unexpected).
    """

    frame: Frame
    expectation: str
    kwargs: dict[str, Any]
    why: str
    keep_first: bool = False
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        kw = self.kwargs
        if "column" in kw:
            cols: tuple[str, ...] = (kw["column"],)
        elif "column_list" in kw:
            cols = tuple(kw["column_list"])
        elif "column_A" in kw:
            cols = (kw["column_A"], kw["column_B"])
        else:  # pragma: no cover - guarded by a test over RULES
            raise ValueError(f"rule {self.expectation} names no column")
        object.__setattr__(self, "columns", cols)

    @property
    def label(self) -> str:
        """The quarantine reason, e.g. ``expect_column_values_to_not_be_null(post_id)``."""
        return f"{self.expectation}({','.join(self.columns)})"


def _epoch(dt: datetime) -> float:
    return dt.timestamp()


def _rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for col in REQUIRED_COLUMNS:
        rules.append(Rule("posts", "expect_column_values_to_not_be_null", {"column": col},
                          f"{col} is required to identify, link or date the post"))
    for col in ("account", "post_id"):
        # The other required columns have a format rule that already rejects "".
        rules.append(Rule("posts", "expect_column_values_to_match_regex",
                          {"column": col, "regex": NON_BLANK_REGEX},
                          f"an empty {col} cannot identify the post"))
    rules.append(Rule("posts", "expect_column_values_to_be_in_set",
                      {"column": "platform", "value_set": list(PLATFORMS)},
                      "only platforms we have connectors for; anything else is a mislabelled row"))
    rules.append(Rule("posts", "expect_compound_columns_to_be_unique",
                      {"column_list": ["platform", "post_id"], "ignore_row_if": "any_value_is_missing"},
                      "Post.key is platform:post_id; a batch must not store the same post twice "
                      "(ids are only unique within a platform)",
                      keep_first=True))
    for col in TIMESTAMP_COLUMNS:
        rules.append(Rule("posts", "expect_column_values_to_match_regex",
                          {"column": col, "regex": ISO_UTC_REGEX},
                          f"{col} must be ISO 8601 UTC 'YYYY-MM-DDTHH:MM:SSZ' so it sorts and "
                          "compares as text everywhere downstream"))
        rules.append(Rule("posts", "expect_column_values_to_match_strftime_format",
                          {"column": col, "strftime_format": ISO_UTC_STRFTIME},
                          f"{col} must be a real calendar time (the regex allows e.g. Feb 30)"))
        rules.append(Rule("posts", "expect_column_values_to_be_between",
                          {"column": f"{col}_epoch", "min_value": _epoch(MIN_TIMESTAMP),
                           "max_value": {"$PARAMETER": MAX_EPOCH_PARAM}},
                          f"{col} in the future (beyond clock skew) or before 2004 is a parsing "
                          "or timezone bug, not a real post"))
    rules.append(Rule("posts", "expect_column_pair_values_a_to_be_greater_than_b",
                      {"column_A": "collected_at_epoch", "column_B": "created_at_epoch",
                       "or_equal": True, "ignore_row_if": "either_value_is_missing"},
                      "a post cannot be collected before it was created"))
    rules.append(Rule("posts", "expect_column_values_to_match_regex",
                      {"column": "url", "regex": HTTP_URL_REGEX},
                      "the url is shown to officers and fetched for evidence: http(s) only"))
    rules.append(Rule("posts", "expect_column_values_to_match_regex",
                      {"column": "raw_sha256", "regex": SHA256_REGEX},
                      "raw_sha256 links the post to its stored raw evidence"))
    for col in STRING_COLUMNS:
        rules.append(Rule("types", "expect_column_values_to_be_of_type", {"column": col, "type_": "str"},
                          f"{col} is a string in the Post schema (e.g. Telegram ids arrive as ints)"))
    rules.append(Rule("types", "expect_column_values_to_be_of_type", {"column": "media", "type_": "list"},
                      "media is a list of URLs; a bare string would be iterated character by character"))
    rules.append(Rule("media", "expect_column_values_to_not_be_null", {"column": MEDIA_ITEM_COLUMN},
                      "a null inside the media list is a connector bug (map rules skip nulls)"))
    rules.append(Rule("media", "expect_column_values_to_be_of_type",
                      {"column": MEDIA_ITEM_COLUMN, "type_": "str"}, "each media entry is a URL string"))
    rules.append(Rule("media", "expect_column_values_to_match_regex",
                      {"column": MEDIA_ITEM_COLUMN, "regex": HTTP_URL_REGEX},
                      "media URLs are downloaded as evidence: http(s) only"))
    return tuple(rules)


RULES: tuple[Rule, ...] = _rules()


def rules_fingerprint() -> str:
    """SHA-256 of the canonical rule definitions (frame, type, kwargs, keep_first).

    ``why`` is excluded: rewording an explanation does not change what gets quarantined.
    """
    spec = [[r.frame, r.expectation, r.kwargs, r.keep_first] for r in RULES]
    data = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return hashlib.sha256(data).hexdigest()
