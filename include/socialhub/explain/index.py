"""The explain index: a local SQLite cache that finds a post, its batch and its alert without a scan.

It is a cache only. Everything in it is read from the store (batch manifests, normalised posts,
the alert ledger and the audit log) and nothing is written back: deleting the file loses nothing,
the next ``socialhub explain`` rebuilds it. It lives at
``<cache>/explain-<sha256 of the store location>.sqlite``, one file per store, where ``<cache>`` is
``$SOCIALHUB_CACHE_DIR`` if set, else ``<data dir>/cache`` (``$SOCIALHUB_DATA_DIR``, else
``$SOCIALHUB_HOME/socialhub-data``).

Built incrementally: each call lists ``batches/`` and ``alerts/ledger/`` and reads only the keys
not indexed yet (the keys done are in the ``objects`` table), and reads audit events only after the
last sequence number indexed. A batch's posts are indexed from its ``posts/`` object (post id,
URL, Bluesky rkey, alert id, line), or from the manifest's ``post_ids`` when that object was
erased. The lookup is then by indexed columns: ``(platform, post_id)``, the normalised URL,
``(platform, rkey)`` or the alert id. What changes after collection (result records, the ledger
entry's content, reviews, referrals, holds) is read live from the store for the one post asked
about, so the report is never stale.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socialhub.alerts.model import alert_id_for
from socialhub.audit.chain import HEAD, SEGMENTS, _is_segment_event_key, event_key
from socialhub.explain.urls import Target, normalise_url
from socialhub.storage.base import ObjectStore

SCHEMA_VERSION = "1"
#: from this many new objects on, progress is printed (stderr)
PROGRESS_AT = 200
#: audit actions kept in the index (others, such as ``access``, are read past)
AUDIT_KEPT = frozenset({"collect", "classify", "quality_reject", "quality_hold", "alert", "review_response",
                        "referral", "watchlist_change", "deletion", "erasure_pending", "legal_hold",
                        "authorisation_lapsed"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE IF NOT EXISTS objects(key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS batches(batch_id TEXT PRIMARY KEY, platform TEXT, account TEXT, manifest_key TEXT,
                                   collected_at TEXT);
CREATE TABLE IF NOT EXISTS posts(platform TEXT, post_id TEXT, batch_id TEXT, url_norm TEXT, ref TEXT,
                                 alert_id TEXT, line INTEGER, account TEXT, collected_at TEXT);
CREATE INDEX IF NOT EXISTS posts_pid ON posts(platform, post_id);
CREATE INDEX IF NOT EXISTS posts_url ON posts(url_norm);
CREATE INDEX IF NOT EXISTS posts_ref ON posts(platform, ref);
CREATE INDEX IF NOT EXISTS posts_alert ON posts(alert_id);
CREATE TABLE IF NOT EXISTS alerts(alert_id TEXT PRIMARY KEY, post TEXT, batch_id TEXT, recorded_at TEXT,
                                  ledger_key TEXT);
CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY, ref TEXT, action TEXT, time TEXT, event TEXT);
CREATE INDEX IF NOT EXISTS audit_ref ON audit(ref, seq);
"""


#: a random id written once into a store, telling apart two stores at the same location over time
STORE_ID_KEY = "state/store-id.json"


def store_location(store: ObjectStore) -> str:
    from socialhub.audit.where import store_label

    return store_label(store)


def default_index_path(store: ObjectStore) -> Path:
    """``$SOCIALHUB_CACHE_DIR`` (the local cache folder, shared with the classifier versions) if set,
    else ``<data dir>/cache``; one file per store: ``explain-<sha256 of the store location>.sqlite``."""
    import os

    from socialhub.config import Settings

    digest = hashlib.sha256(store_location(store).encode("utf-8")).hexdigest()[:16]
    folder = Path(os.environ["SOCIALHUB_CACHE_DIR"]) if os.environ.get("SOCIALHUB_CACHE_DIR") \
        else Settings.from_env().data_dir / "cache"
    return folder / f"explain-{digest}.sqlite"


@dataclass(frozen=True)
class PostRow:
    platform: str
    post_id: str
    batch_id: str
    url_norm: str
    alert_id: str
    line: int
    account: str
    collected_at: str


@dataclass
class UpdateStats:
    batches: int = 0
    posts: int = 0
    alerts: int = 0
    audit_events: int = 0
    seconds: float = 0.0
    rebuilt: bool = False


def _ref_of(platform: str, post_id: str) -> str | None:
    if platform == "bluesky" and "/app.bsky.feed.post/" in post_id and "#" not in post_id:
        return post_id.rsplit("/", 1)[-1]
    return None


class ExplainIndex:
    """The cache for one store (see the module doc). ``update()`` then ``find(target)``."""

    def __init__(self, store: ObjectStore, path: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.path = Path(path) if path else default_index_path(store)
        self.progress = progress if progress is not None else (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rebuilt = False
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        for attempt in (1, 2):
            db = sqlite3.connect(self.path, timeout=30)
            try:
                db.executescript(_SCHEMA)
                row = db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
                loc = db.execute("SELECT v FROM meta WHERE k='store'").fetchone()
                ident = db.execute("SELECT v FROM meta WHERE k='identity'").fetchone()
                if row is None:
                    self.rebuilt = True
                    db.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
                    db.execute("INSERT OR REPLACE INTO meta VALUES('store', ?)", (store_location(self.store),))
                    db.execute("INSERT OR REPLACE INTO meta VALUES('identity', ?)", (self._identity(),))
                    db.commit()
                    return db
                # the same location can hold another store (deleted and started again, e.g. `make demo-reset`):
                # its identity tells them apart, and an index of the old one is thrown away
                if (row[0] == SCHEMA_VERSION and loc and loc[0] == store_location(self.store)
                        and ident and ident[0] == self._identity()):
                    return db
            except sqlite3.DatabaseError:
                if attempt == 2:
                    raise
            db.close()
            self.path.unlink(missing_ok=True)   # another schema or a damaged file: it is only a cache
        raise RuntimeError("unreachable")

    def _identity(self) -> str:
        """The store's identity: a random id written once into it (``state/store-id.json``) the first
        time an index opens it, so a store deleted and started again at the same place is told apart."""
        if getattr(self, "_ident", None) is None:
            import uuid

            from socialhub.errors import ImmutableObjectError

            raw = self.store.get_or_none(STORE_ID_KEY)
            if raw is None:
                try:
                    self.store.put(STORE_ID_KEY, json.dumps({"store_id": uuid.uuid4().hex}).encode(),
                                   content_type="application/json")
                except ImmutableObjectError:
                    pass      # another process wrote it first: theirs stands
                raw = self.store.get(STORE_ID_KEY)
            self._ident = hashlib.sha256(raw).hexdigest()
        return str(self._ident)

    def close(self) -> None:
        self.db.close()

    # --- building -----------------------------------------------------------------------------

    def _new_keys(self, prefix: str) -> list[str]:
        done = {r[0] for r in self.db.execute("SELECT key FROM objects WHERE key >= ? AND key < ?",
                                               (prefix, prefix + "\uffff"))}
        return [k for k in self.store.list(prefix) if k not in done]

    def update(self) -> UpdateStats:
        """Read what is new in the store since the last call (see the module doc)."""
        started = time.perf_counter()
        stats = UpdateStats(rebuilt=self.rebuilt)
        manifests = [k for k in self._new_keys("batches/") if k.endswith(".json")]
        ledger = [k for k in self._new_keys("alerts/ledger/") if k.endswith(".json")]
        row = self.db.execute("SELECT v FROM meta WHERE k='audit_seq'").fetchone()
        head_raw = self.store.get_or_none(HEAD)
        new_events = max(0, (int(json.loads(head_raw)["seq"]) if head_raw else -1) - (int(row[0]) if row else -1))
        # audit events are small and many: one in ten counts like a batch towards printing progress
        loud = len(manifests) + len(ledger) + new_events // 10 >= PROGRESS_AT
        if loud:
            self.progress(f"indexing {len(manifests):,} new batch(es), {len(ledger):,} alert(s) and about "
                          f"{new_events:,} audit event(s) of {store_location(self.store)} into {self.path} ...")
        with self.db:
            for key in manifests:
                stats.posts += self._index_manifest(key)
                stats.batches += 1
            for key in ledger:
                self._index_ledger(key)
                stats.alerts += 1
            stats.audit_events = self._index_audit()
        stats.seconds = time.perf_counter() - started
        if loud:
            self.progress(f"indexing {len(manifests):,} new batch(es) ({stats.posts:,} posts), "
                          f"{len(ledger):,} alert(s) and {stats.audit_events:,} audit event(s) ... "
                          f"done in {stats.seconds:.1f} s")
        self.rebuilt = False
        return stats

    def _index_manifest(self, key: str) -> int:
        manifest = json.loads(self.store.get(key))
        batch_id, platform = str(manifest["batch_id"]), str(manifest["platform"])
        account, collected_at = str(manifest.get("account", "")), str(manifest.get("collected_at", ""))
        self.db.execute("INSERT OR REPLACE INTO batches VALUES(?,?,?,?,?)",
                        (batch_id, platform, account, key, collected_at))
        rows: list[tuple[Any, ...]] = []
        posts_key = (manifest.get("posts") or {}).get("key")
        data = self.store.get_or_none(posts_key) if posts_key else None
        if data is not None:
            for line, raw in enumerate(data.split(b"\n")):
                if not raw.strip():
                    continue
                post = json.loads(raw)
                pid = str(post.get("post_id") or "")
                if pid:
                    rows.append(self._row(platform, pid, batch_id, str(post.get("url") or ""), line, account,
                                          collected_at))
        else:   # the posts were erased (retention): the ids are still in the manifest
            rows = [self._row(platform, str(pid), batch_id, "", -1, account, collected_at)
                    for pid in manifest.get("post_ids") or []]
        self.db.executemany("INSERT INTO posts VALUES(?,?,?,?,?,?,?,?,?)", rows)
        self.db.execute("INSERT OR IGNORE INTO objects VALUES(?)", (key,))
        return len(rows)

    @staticmethod
    def _row(platform: str, pid: str, batch_id: str, url: str, line: int, account: str,
             collected_at: str) -> tuple[Any, ...]:
        return (platform, pid, batch_id, normalise_url(url) if url else "", _ref_of(platform, pid),
                alert_id_for(platform, pid), line, account, collected_at)

    def _index_ledger(self, key: str) -> None:
        entry = json.loads(self.store.get(key))
        self.db.execute("INSERT OR REPLACE INTO alerts VALUES(?,?,?,?,?)",
                        (str(entry.get("alert_id")), str(entry.get("post") or ""), str(entry.get("batch_id") or ""),
                         str(entry.get("recorded_at") or ""), key))
        self.db.execute("INSERT OR IGNORE INTO objects VALUES(?)", (key,))

    def _index_audit(self) -> int:
        row = self.db.execute("SELECT v FROM meta WHERE k='audit_seq'").fetchone()
        seq = int(row[0]) if row else -1
        head_raw = self.store.get_or_none(HEAD)
        head = int(json.loads(head_raw)["seq"]) if head_raw else -1
        read = 0
        rows: list[tuple[Any, ...]] = []
        while True:
            raw = self.store.get_or_none(event_key(seq + 1))
            if raw is None:
                if seq + 1 <= head:   # a gap (the chain is broken): skip it, verify says the rest
                    seq += 1
                    continue
                break
            seq += 1
            read += 1
            event = json.loads(raw)
            if event.get("action") in AUDIT_KEPT:
                for ref in _audit_refs(event):
                    rows.append((None, ref, event["action"], event.get("time"), raw.decode("utf-8")))
        for key in self._new_keys(SEGMENTS):   # tasks' segments: each event object once
            if not _is_segment_event_key(key):
                continue
            raw = self.store.get(key)
            read += 1
            event = json.loads(raw)
            if event.get("action") in AUDIT_KEPT:
                for ref in _audit_refs(event):
                    rows.append((None, ref, event["action"], event.get("time"), raw.decode("utf-8")))
            self.db.execute("INSERT OR IGNORE INTO objects VALUES(?)", (key,))
        if rows:
            self.db.executemany("INSERT INTO audit(seq, ref, action, time, event) VALUES(?,?,?,?,?)", rows)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES('audit_seq', ?)", (str(seq),))
        return read

    # --- lookups --------------------------------------------------------------------------------

    def _posts(self, where: str, args: Iterable[Any]) -> list[PostRow]:
        sql = ("SELECT platform, post_id, batch_id, url_norm, alert_id, line, account, collected_at FROM posts "
               f"WHERE {where} ORDER BY collected_at, batch_id")
        return [PostRow(*r) for r in self.db.execute(sql, tuple(args))]

    def find(self, target: Target) -> list[PostRow]:
        """Every stored copy of the target's post (normally one), oldest collection first."""
        if target.kind == "alert" and target.alert_id:
            rows = self._posts("alert_id = ?", (target.alert_id,))
            if not rows:
                entry = self.alert(target.alert_id)
                if entry and ":" in entry["post"]:
                    platform, _, pid = entry["post"].partition(":")
                    rows = self._posts("platform = ? AND post_id = ?", (platform, pid))
            return rows
        if target.url_norm:
            rows = self._posts("url_norm = ?", (target.url_norm,))
            if rows:
                return rows
        candidates: list[PostRow] = []
        if target.platform and target.post_id:
            candidates = self._posts("platform = ? AND post_id = ?", (target.platform, target.post_id))
        if not candidates and target.platform and target.ref:
            candidates = self._posts("platform = ? AND ref = ?", (target.platform, target.ref))
        if target.kind == "url" and target.platform in PER_ACCOUNT_IDS:
            # a Mastodon status id is per instance and a Bluesky rkey per account: the URL's account must agree
            want = _same(target.platform, target.account) if target.account else None
            candidates = [r for r in candidates if want is not None and _same(r.platform, r.account) == want]
        return candidates

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        r = self.db.execute("SELECT alert_id, post, batch_id, recorded_at, ledger_key FROM alerts WHERE alert_id = ?",
                            (alert_id,)).fetchone()
        return dict(zip(("alert_id", "post", "batch_id", "recorded_at", "ledger_key"), r, strict=True)) if r else None

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        r = self.db.execute("SELECT batch_id, platform, account, manifest_key, collected_at FROM batches "
                            "WHERE batch_id = ?", (batch_id,)).fetchone()
        return dict(zip(("batch_id", "platform", "account", "manifest_key", "collected_at"), r, strict=True)) \
            if r else None

    def audit_events(self, ref: str, actions: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Indexed audit events about ``ref`` (``batch:<id>``, ``alert:<id>``, ``platform:account``), in order."""
        wanted = list(actions or [])
        sql = "SELECT event FROM audit WHERE ref = ?"
        if wanted:
            sql += f" AND action IN ({','.join('?' * len(wanted))})"
        return [json.loads(r[0]) for r in self.db.execute(sql + " ORDER BY time, seq", (ref, *wanted))]

    def counts(self) -> dict[str, int]:
        return {name: int(self.db.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0])  # noqa: S608
                for name in ("batches", "posts", "alerts")}


#: platforms whose post ids in a URL are unique only together with the account
PER_ACCOUNT_IDS = frozenset({"mastodon", "bluesky"})


def _same(platform: str, account: str | None) -> str:
    from types import SimpleNamespace
    from typing import cast

    from socialhub.watchlist import WatchlistEntry, identity

    return identity(cast(WatchlistEntry, SimpleNamespace(platform=platform, account=account or "")))


def _audit_refs(event: dict[str, Any]) -> list[str]:
    """The refs an audit event is found by: its object, and the batch it names."""
    refs = [str(event.get("object") or "")]
    details = event.get("details") or {}
    batch_id = details.get("batch_id")
    if batch_id:
        refs.append(f"batch:{batch_id}")
    return [r for r in dict.fromkeys(refs) if r]


__all__ = ["ExplainIndex", "PostRow", "UpdateStats", "default_index_path", "store_location"]
