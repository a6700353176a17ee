"""Small pieces every connector needs: lenient field access, times, and a newest-first pager.

Why a shared pager: X, Reddit, YouTube, Telegram (backwards) and paged feeds all list items
newest first and page with an opaque continuation. The rules that make collection complete
and never re-emit are the same everywhere and easy to get subtly wrong per platform:

* stop at the first item the caller says is "already had" (a stop marker: a known id, an item
  at or below the cursor, an item older than the look-back horizon), except pinned items,
  which sit on top out of order and must never stop paging;
* never return the same id twice in one run;
* stop at ``max_pages`` and say where the next page would have started, so the connector can
  store that continuation in its cursor (a "gap") and finish the job on the next run instead of
  silently losing what lies between;
* fail if the continuation does not advance: a platform bug (or a proxy serving a cached page)
  must not loop forever, and stopping there and moving the cursor would skip every older item,
  so the account fails with ``MalformedResponse`` and its cursor stays where it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from socialhub.models import parse_iso, utc_iso

S = TypeVar("S")


def d(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else ``{}`` (platform items are untrusted JSON)."""
    return value if isinstance(value, dict) else {}


def s(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def opt_s(value: Any) -> str | None:
    return None if value in (None, "") else s(value)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 string -> aware UTC datetime; anything unparseable -> None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def epoch_time(value: Any) -> datetime | None:
    """Unix seconds (int, float or numeric string) -> aware UTC datetime; else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso_or_raw(value: Any) -> str:
    """Normalised UTC time; an unparseable value is kept verbatim for the quality stage to judge."""
    if not isinstance(value, str) or not value.strip():
        return ""
    t = parse_time(value)
    return utc_iso(t) if t else value


def precise(dt: datetime) -> str:
    """Cursor times keep microseconds: second precision would blur items a few ms apart."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def recent_ids(new: Iterable[str], old: Iterable[Any], keep: int) -> list[str]:
    """``new`` ids (newest first) in front of the ``old`` list, deduplicated, at most ``keep``."""
    merged = [i for i in new if i] + [i for i in old if isinstance(i, str) and i]
    return list(dict.fromkeys(merged))[:keep]


def numeric_newer(a: str, b: str) -> bool:
    """True when numeric id ``a`` is newer (bigger) than ``b``; non-numeric ids compare as text."""
    if a.isdigit() and b.isdigit():
        return int(a) > int(b)
    return (len(a), a) > (len(b), b)


# --------------------------------------------------------------------------------------------
# newest-first pager
# --------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Page(Generic[S]):
    items: list[Any]
    next: S | None            # the continuation for the following (older) page; None at the end


@dataclass(slots=True)
class Walk(Generic[S]):
    items: list[Any] = field(default_factory=list)
    pages: int = 0
    complete: bool = True     # False only when max_pages stopped it: ``resume`` continues from there
    stop: str = ""
    resume: S | None = None


def walk(fetch: Callable[[S | None], Page[S]], start: S | None, *, key: Callable[[Any], str],
         stop_at: Callable[[Any], str | None], max_pages: int, seen: set[str] | None = None,
         pinned: Callable[[Any], bool] | None = None, end_note: str = "end of timeline",
         who: tuple[str, str] = ("", "")) -> Walk[S]:
    """Page newest first from ``start`` until a stop marker, the end, or ``max_pages``.

    ``stop_at(item)`` returns why paging stops at ``item`` (it is not collected), or None.
    ``seen`` (shared between walks of one run) suppresses duplicates. ``who`` is the
    (platform, account) named by the error raised when the continuation does not advance.
    """
    result: Walk[S] = Walk()
    seen = seen if seen is not None else set()
    state: S | None = start
    while True:
        if result.pages >= max_pages:
            result.complete, result.stop, result.resume = False, f"stopped at max_pages={max_pages}", state
            return result
        page = fetch(state)
        result.pages += 1
        for item in page.items:
            is_pinned = pinned(item) if pinned else False
            reason = stop_at(item)
            if reason and not is_pinned:
                result.stop = reason
                return result
            k = key(item)
            if reason or (k and k in seen):
                continue
            if k:
                seen.add(k)
            result.items.append(item)
        if not page.items or page.next is None:
            result.stop = end_note
            return result
        if page.next == state:
            raise pagination_stalled(*who, f"continuation {str(state)[:80]!r}")
        state = page.next


def pagination_stalled(platform: str, account: str, where: str) -> Exception:
    """The error for a "next page" that is the page just fetched (see the module doc)."""
    from socialhub.errors import MalformedResponse

    return MalformedResponse(
        platform, account, f"pagination did not advance: the next page is the one just fetched ({where})",
        hint="nothing from this run was stored and the cursor was not moved (stopping and moving it would "
             "skip every older post); the account is retried on the next run. If it persists, the platform "
             "or a caching proxy is serving the same page again: fetch it with `socialhub fetch`")
