"""The cursor state as the commit record: a poll that ended with its cursor move lets the next poll
skip listing the account's manifests and data prefixes; a poll interrupted after its intent record
is repaired (rolled forward, or its named objects removed); a state written before the record
existed is still searched for leftovers."""

from __future__ import annotations

import json
from datetime import timedelta

from socialhub.collect import RECENT, WRITING, collect_account
from socialhub.errors import StorageError
from socialhub.models import canonical_json, from_jsonl
from socialhub.storage import LocalStore, layout
from socialhub.watchlist import WatchlistEntry
from tests.core.test_collect_concurrency import NOW, Fake, shard_of

ACCOUNT = "acct0@inst0.social"


def entry() -> WatchlistEntry:
    return WatchlistEntry.model_validate(shard_of(1)["accounts"][0])


class Counting(LocalStore):
    """Counts listings and can fail the n-th write under a prefix (a crash mid-poll)."""

    def __init__(self, root, fail_prefix: str | None = None) -> None:
        super().__init__(root)
        self.listed: list[str] = []
        self.fail_prefix = fail_prefix

    def list(self, prefix):
        self.listed.append(prefix)
        return super().list(prefix)

    def put(self, key, data, **kw):
        if self.fail_prefix and key.startswith(self.fail_prefix):
            raise StorageError(f"injected failure writing {key}")
        return super().put(key, data, **kw)


def state(store) -> dict:
    return json.loads(store.get(layout.cursor_key("mastodon", ACCOUNT)))


def stored_posts(store) -> list[str]:
    return [p["post_id"] for k in store.list("posts/") for p in from_jsonl(store.get(k))]


def test_a_clean_poll_lets_the_next_one_skip_every_listing(tmp_path):
    store = Counting(tmp_path)
    assert collect_account(store, entry(), Fake(), NOW).posts == 2
    assert store.listed == []        # a first poll: no cursor state and no health record, so nothing to list
    first = state(store)
    assert WRITING not in first and [r["key"] for r in first[RECENT]] == [first["last_manifest"]]
    store.listed.clear()
    for i in range(1, 5):
        assert collect_account(store, entry(), Fake(), NOW + timedelta(minutes=5 * i)).posts == 2
    assert store.listed == []
    s = state(store)
    assert len(s[RECENT]) == 3 and s[RECENT][-1]["key"] == s["last_manifest"]
    assert len(stored_posts(store)) == len(set(stored_posts(store))) == 10


def test_posts_a_platform_repeats_are_dropped_from_the_recorded_batches(tmp_path):
    class Repeating(Fake):     # always serves the same two posts, whatever the cursor
        def fetch(self, account, cursor):
            return super().fetch(account, None)

    store = Counting(tmp_path)
    collect_account(store, entry(), Repeating(), NOW)
    again = collect_account(store, entry(), Repeating(), NOW + timedelta(minutes=5))
    assert again.posts == 0 and store.listed == []
    assert sorted(stored_posts(store)) == [f"{ACCOUNT}-1", f"{ACCOUNT}-2"]


def test_a_poll_interrupted_before_its_manifest_has_its_objects_removed_next_time(tmp_path):
    crashing = Counting(tmp_path, fail_prefix=layout.manifest_prefix("mastodon", ACCOUNT))
    try:
        collect_account(crashing, entry(), Fake(), NOW)
    except StorageError:
        pass
    intent = state(crashing)[WRITING]
    assert "cursor" not in state(crashing) and all(crashing.exists(k) for k in intent["keys"])
    store = Counting(tmp_path)
    out = collect_account(store, entry(), Fake(), NOW + timedelta(minutes=5))
    assert out.posts == 2 and not out.recovered
    assert layout.manifest_prefix("mastodon", ACCOUNT) in store.listed          # the intent made it look
    assert stored_posts(store) == [f"{ACCOUNT}-1", f"{ACCOUNT}-2"]            # once, under the new batch
    assert WRITING not in state(store)


def test_a_poll_interrupted_after_its_manifest_is_rolled_forward(tmp_path):
    class NoCursorMove(Counting):
        def put_state(self, key, data):
            if key.startswith("state/cursors/") and WRITING not in json.loads(data):
                raise StorageError("injected crash before the cursor move")
            return super().put_state(key, data)

    crashing = NoCursorMove(tmp_path)
    try:
        collect_account(crashing, entry(), Fake(), NOW)
    except StorageError:
        pass
    assert WRITING in state(crashing) and len(crashing.list("batches/")) == 1
    store = Counting(tmp_path)
    out = collect_account(store, entry(), Fake(), NOW + timedelta(minutes=5))
    assert out.recovered and out.posts == 2                    # from the adopted cursor: posts 3 and 4
    assert sorted(stored_posts(store)) == sorted(f"{ACCOUNT}-{i}" for i in range(1, 5))
    assert state(store)["cursor"] == {"since_id": 4} and WRITING not in state(store)


def test_a_state_from_before_the_intent_record_is_searched_for_leftovers(tmp_path):
    store = Counting(tmp_path)
    collect_account(store, entry(), Fake(), NOW)
    legacy = {k: v for k, v in state(store).items() if k != RECENT}       # as the previous version wrote it
    store.put_state(layout.cursor_key("mastodon", ACCOUNT), canonical_json(legacy))
    day = NOW.strftime("%Y-%m-%d")
    orphan = layout.posts_key("mastodon", day, ACCOUNT, "0" * 24)           # left by a crash, never committed
    store.put(orphan, b'{"post_id": "x"}\n')
    store.listed.clear()
    collect_account(store, entry(), Fake(), NOW + timedelta(minutes=5))
    assert not store.exists(orphan)
    assert any(p.startswith("posts/") for p in store.listed)
    assert RECENT in state(store)


def test_a_cursor_state_deleted_by_hand_is_recovered_from_the_stored_batches(tmp_path):
    """The account's source-health record shows it was polled before: its manifests are listed and
    the newest one's cursor adopted, so its posts are not stored again."""
    store = Counting(tmp_path)
    collect_account(store, entry(), Fake(), NOW)
    store.delete(layout.cursor_key("mastodon", ACCOUNT))
    store.listed.clear()
    out = collect_account(store, entry(), Fake(), NOW + timedelta(minutes=5))
    assert out.recovered and store.listed == [layout.manifest_prefix("mastodon", ACCOUNT)]
    assert sorted(stored_posts(store)) == sorted(f"{ACCOUNT}-{i}" for i in range(1, 5))
