"""The shared newest-first pager: stop markers, pinned items, duplicates, max_pages, stuck cursors."""

from __future__ import annotations

from typing import Any

import pytest

from socialhub.errors import MalformedResponse
from socialhub.sources.common import Page, epoch_time, numeric_newer, recent_ids, walk


def pages(*chunks: list[int], loop: bool = False) -> tuple[Any, list[Any]]:
    """A fetch over ``chunks`` (newest first); continuation = index of the next chunk."""
    asked: list[Any] = []

    def fetch(state: Any) -> Page[int]:
        asked.append(state)
        index = state or 0
        nxt = (index if loop else index + 1) if index + 1 < len(chunks) or loop else None
        return Page(items=[{"id": i} for i in chunks[index]], next=nxt)

    return fetch, asked


def key(item: Any) -> str:
    return str(item["id"])


def below(limit: int) -> Any:
    return lambda item: f"reached {limit}" if item["id"] <= limit else None


def test_walks_until_the_stop_marker() -> None:
    fetch, asked = pages([9, 8, 7], [6, 5, 4], [3, 2, 1])
    result = walk(fetch, None, key=key, stop_at=below(5), max_pages=10)
    assert [i["id"] for i in result.items] == [9, 8, 7, 6] and result.complete and result.stop == "reached 5"
    assert result.pages == 2 and asked == [None, 1]


def test_end_of_data_and_max_pages_with_resume() -> None:
    fetch, _ = pages([9, 8], [7, 6], [5])
    done = walk(fetch, None, key=key, stop_at=below(0), max_pages=10, end_note="the end")
    assert done.complete and done.stop == "the end" and len(done.items) == 5
    cut = walk(fetch, None, key=key, stop_at=below(0), max_pages=2)
    assert not cut.complete and cut.resume == 2 and cut.stop == "stopped at max_pages=2"
    rest = walk(fetch, cut.resume, key=key, stop_at=below(0), max_pages=2)
    assert [i["id"] for i in cut.items + rest.items] == [9, 8, 7, 6, 5]


def test_pinned_items_never_stop_paging_and_duplicates_are_dropped() -> None:
    fetch, _ = pages([1, 9, 8], [8, 7, 2])
    result = walk(fetch, None, key=key, stop_at=below(2), max_pages=10, pinned=lambda item: item["id"] == 1)
    assert [i["id"] for i in result.items] == [9, 8, 7] and result.stop == "reached 2"


def test_a_cursor_that_does_not_advance_fails_the_account_instead_of_looping_or_skipping() -> None:
    """Stopping there and moving the cursor would skip every older item: a clear error instead."""
    fetch, asked = pages([3], [2], loop=True)
    with pytest.raises(MalformedResponse, match=r"^x:acct: pagination did not advance") as info:
        walk(fetch, None, key=key, stop_at=below(0), max_pages=10, who=("x", "acct"))
    assert len(asked) == 2 and "cursor was not moved" in str(info.value)


@pytest.mark.parametrize("a, b, newer", [("100", "99", True), ("99", "100", False), ("5", "5", False),
                                         ("b", "a", True), ("aa", "b", True)])
def test_numeric_newer(a: str, b: str, newer: bool) -> None:
    assert numeric_newer(a, b) is newer


def test_recent_ids_and_epoch_time() -> None:
    assert recent_ids(["c", "b", ""], ["b", "a", 7], 3) == ["c", "b", "a"]
    assert epoch_time("1772366400.0").isoformat() == "2026-03-01T12:00:00+00:00"  # type: ignore[union-attr]
    assert epoch_time("soon") is None and epoch_time(None) is None
