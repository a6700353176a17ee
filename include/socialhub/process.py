"""Processing: each queued batch is validated (Great Expectations), classified and stored.

Idempotent per batch: a batch whose result record exists is not processed again, and
every output is written once under a key derived from the batch id, so a retried or
re-run task produces the same objects and no duplicates.

Built to scale (figures in docs/production.md, "Scale"):

* **Small batches are validated together.** One GX run costs ~0.45 s whatever its size, and a
  collection of 10,000 accounts queues up to 10,000 small batches. :func:`process_batches` groups
  a chunk's batches by collection time (the future-date bound is judged against it) and packs them
  into GX runs of up to ``slice_posts`` posts. Every rule but "unique per batch" looks at one row,
  so only that one needs care: it is re-judged per batch here (:func:`_unique_in_batch`), exactly
  as GX judges it (first copy valid, rows with a missing key ignored).
* **Large batches are streamed.** A batch of more than ``slice_posts`` posts is validated slice by
  slice (a key seen in an earlier slice is a duplicate, as for the whole batch), and, once the
  batch-wide quality gate is known, classified and written slice by slice. Memory grows with the
  slice, not the batch; only the serialised outputs are held whole.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any, BinaryIO

from socialhub.audit.chain import record as audit
from socialhub.errors import ImmutableObjectError
from socialhub.models import canonical_json, from_jsonl, parse_iso, utc_iso
from socialhub.storage import layout
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

RESULT_PREFIX = "results/"


def result_key(batch_id: str) -> str:
    return f"{RESULT_PREFIX}{batch_id}.json"


def pending_batches(store: ObjectStore, limit: int | None = None) -> list[str]:
    """Batch ids waiting for processing, oldest first: in collection order (the manifest key, which
    starts with the collection run's time stamp; then the batch id), as the queue entries name them.

    With a ``limit`` and a backlog larger than it, only the ``2 x limit`` entries queued earliest
    (the listing's times: one listing, no read) are read and ordered, not the whole backlog (10,000
    queued batches used to cost 10,000 reads on every processing run). A batch queued late by a
    roll-forward after a crash may then wait for a later run. The reads go 8 at a time."""
    prefix = "queue/pending/"
    listed = [(modified, key) for key, modified in store.list_modified(prefix) if key.endswith(".json")]
    if limit and len(listed) > limit:
        listed = sorted(listed)[: 2 * limit]

    def marker(key: str) -> tuple[str, str] | None:
        raw = store.get_or_none(key)
        if raw is None:          # processed (or held) since the listing
            return None
        doc = json.loads(raw)
        return str(doc["manifest"]).rsplit("/", 1)[-1], str(doc["batch_id"])

    keys = [key for _, key in listed]
    if len(keys) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="pending") as pool:
            found = list(pool.map(marker, keys))
    else:
        found = [marker(k) for k in keys]
    ids = [b for _, b in sorted(f for f in found if f is not None)]
    return ids[:limit] if limit else ids


def chunks(ids: list[str], max_chunks: int) -> list[list[str]]:
    """Split into at most ``max_chunks`` round-robin chunks (bounded mapped tasks)."""
    if not ids:
        return []
    n = max(1, min(max_chunks, len(ids)))
    return [ids[i::n] for i in range(n)]


def load_manifest(store: ObjectStore, batch_id: str) -> dict[str, Any]:
    for state in ("pending", "done", "held"):
        marker = store.get_or_none(layout.queue_key(state, batch_id))
        if marker:
            return json.loads(store.get(json.loads(marker)["manifest"]))
    raise KeyError(f"batch {batch_id} is not queued")


#: posts per Great Expectations run and per streamed slice (SOCIALHUB_PROCESS_SLICE_POSTS)
SLICE_POSTS = 10_000


def process_batch(store: ObjectStore, batch_id: str, *, classifier: Any, max_bad_fraction: float = 0.5,
                  now: datetime | None = None, auditor: Any = None, slice_posts: int = SLICE_POSTS,
                  classifier_id: str | None = None, shadow: Shadow | None = None,
                  media_judge: Any = None) -> dict[str, Any]:
    """Validate, classify and store one batch. Returns its result record (also stored)."""
    return process_batches(store, [batch_id], classifier=classifier, max_bad_fraction=max_bad_fraction, now=now,
                           auditor=auditor, slice_posts=slice_posts, classifier_id=classifier_id, shadow=shadow,
                           media_judge=media_judge)[0]


def process_batches(store: ObjectStore, batch_ids: list[str], *, classifier: Any, max_bad_fraction: float = 0.5,
                    now: datetime | None = None, auditor: Any = None, slice_posts: int = SLICE_POSTS,
                    progress: Callable[[int, int], None] | None = None, classifier_id: str | None = None,
                    shadow: Shadow | None = None, media_judge: Any = None,
                    concurrency: int | None = None) -> list[dict[str, Any]]:
    """Validate, classify and store several batches; their result records, in the order given.

    Same records and outputs as processing each batch alone; see the module doc for how.
    ``classifier_id``: the recorded version of ``classifier`` (``socialhub.classify.versions``),
    named in each result record and audit event so a decision can be traced to its files.
    ``shadow``: a second classifier version whose results are stored beside the live ones
    (``layout.shadow_key``) and never alerted; see :class:`Shadow`.
    ``media_judge``: a ``socialhub.media.judge.MediaJudge``: each post's captured media add their
    evidence (hash-list matches as ``known_content``, OCR text as ``text_in_media``).
    ``concurrency``: how many batches' reads (result record, queue marker, manifest, posts) and
    writes (outputs, result record) are in flight at once (None: ``SOCIALHUB_PROCESS_CONCURRENCY``,
    default 8; 1: one after another). Validation and classification stay one call per pack; the
    outputs of the batches of a pack are written by a bounded thread pool (one after another when a
    shadow classifier or a media judge takes part); audit events are recorded one at a time."""
    if slice_posts < 1:
        raise ValueError(f"slice_posts must be at least 1, got {slice_posts}")
    if concurrency is None:
        from socialhub.config import Settings

        concurrency = Settings.from_env().process_concurrency
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    import threading
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="process") if concurrency > 1 else None

    def each(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``fn`` over ``items``, in their order, ``concurrency`` at once."""
        return list(pool.map(fn, items)) if pool is not None and len(items) > 1 else [fn(i) for i in items]

    if pool is not None and auditor is not None:
        from socialhub.audit.chain import SerialAuditor

        auditor = SerialAuditor(auditor)
    lock = threading.Lock()
    records: dict[str, dict[str, Any]] = {}
    runs: dict[str, _BatchRun] = {}
    unique = list(dict.fromkeys(batch_ids))

    def look(batch_id: str) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
        existing = store.get_or_none(result_key(batch_id))
        if existing:
            return batch_id, json.loads(existing), None
        return batch_id, None, load_manifest(store, batch_id)

    try:
        for batch_id, record, manifest in each(look, unique):
            if record is not None:
                records[batch_id] = record
            else:
                runs[batch_id] = _BatchRun(store, batch_id, manifest or {}, max_bad_fraction, auditor, classifier_id,
                                           shadow, media_judge)
        by_time: dict[str, list[_BatchRun]] = {}
        for run in runs.values():
            by_time.setdefault(run.manifest["collected_at"], []).append(run)
        done = 0

        def finished(run: _BatchRun, record: dict[str, Any]) -> None:
            nonlocal done
            with lock:
                records[run.batch_id] = record
                done += 1
                if progress:
                    progress(done, len(runs))

        redo: dict[str, str] = {}     # batch id -> the version that started it (see _StartedByAnother)

        def finish(run: _BatchRun, clf: Any, checked_at: datetime,
                   slices: Callable[[], Iterator[list[dict[str, Any]]]]) -> None:
            try:
                finished(run, run.finish(clf, checked_at, slices))
            except _StartedByAnother as other:
                with lock:
                    redo[run.batch_id] = other.version_id

        finish_all = (partial(_finish_pack, each) if shadow is None and media_judge is None
                      else partial(_finish_pack, lambda fn, items: [fn(i) for i in items]))

        def count_of(run: _BatchRun) -> int:
            count = run.manifest.get("count")
            if not isinstance(count, int):
                with store.open_read(run.manifest["posts"]["key"]) as fh:
                    count = sum(1 for line in fh if line.strip())
            return count

        def read_rows(run: _BatchRun) -> list[dict[str, Any]]:
            return from_jsonl(store.get(run.manifest["posts"]["key"]))

        def flush(pack: list[_BatchRun], checked_at: datetime) -> None:
            if pack:
                _process_pack(list(zip(pack, each(read_rows, pack), strict=True)), classifier, checked_at,
                              partial(finish_all, finish))

        for collected_at in sorted(by_time):
            # sanity is judged against the collection time, so a rerun judges the same way
            checked_at = now or parse_iso(collected_at)
            group = by_time[collected_at]
            pack: list[_BatchRun] = []
            packed = 0
            for run, count in zip(group, each(count_of, group), strict=True):
                posts_key = run.manifest["posts"]["key"]
                if count > slice_posts:  # a large batch: streamed on its own
                    flush(pack, checked_at)
                    pack, packed = [], 0
                    for rows in _slices(store, posts_key, slice_posts):
                        started = time.perf_counter()
                        run.judge(rows, _row_reasons(rows, checked_at))
                        run.note_validation(time.perf_counter() - started, 1)
                    finish(run, classifier, checked_at, partial(_slices, store, posts_key, slice_posts))
                    continue
                if pack and packed + count > slice_posts:
                    flush(pack, checked_at)
                    pack, packed = [], 0
                pack.append(run)
                packed += count
            flush(pack, checked_at)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    for batch_id, version_id in redo.items():
        # An earlier attempt stored this batch's outputs with another classifier version, then stopped
        # before its result record (a crash, then a promotion): the batch is finished by that version,
        # so its outputs stay as stored and nothing is decided twice.
        from socialhub.classify import versions

        log.warning("batch %s was started by classifier %s before a crash; finishing it with that version, "
                    "not %s", batch_id, version_id, classifier_id)
        _rec, started_by = versions.load_version(store, version_id)
        records[batch_id] = process_batches(
            store, [batch_id], classifier=started_by, max_bad_fraction=max_bad_fraction, now=now, auditor=auditor,
            slice_posts=slice_posts, classifier_id=version_id, shadow=shadow, media_judge=media_judge,
            concurrency=concurrency)[0]
    return [records[b] for b in batch_ids]


def _finish_pack(each: Callable[[Callable[[Any], Any], list[Any]], list[Any]],
                 finish: Callable[..., None], jobs: list[tuple[Any, ...]]) -> None:
    """Finish a pack's batches (their outputs and result records), through ``each``."""
    each(lambda job: finish(*job), jobs)


def _process_pack(pack: list[tuple[_BatchRun, list[dict[str, Any]]]], classifier: Any, checked_at: datetime,
                  finish_all: Callable[[list[tuple[Any, ...]]], None]) -> None:
    """Validate small batches in one GX run, classify them in one call, then finish each
    (``finish_all`` takes the ``(run, classifier, checked_at, slices)`` of every batch)."""
    if not pack:
        return
    started = time.perf_counter()
    verdicts = _row_reasons([row for _, rows in pack for row in rows], checked_at)
    seconds = time.perf_counter() - started
    start = 0
    for run, rows in pack:
        run.judge(rows, verdicts[start:start + len(rows)])
        run.note_validation(seconds, len(pack))
        start += len(rows)
    # one classifier call for the whole pack (its per-call cost is like GX's, only smaller)
    texts: list[str] = []
    spans = []
    for run, rows in pack:
        start = len(texts)
        if run.gate_passed():
            texts.extend(p.get("text") or "" for i, p in enumerate(rows, run.rows - len(rows)) if i not in run.bad)
        spans.append((start, len(texts)))
    results = classifier.classify_batch(texts) if texts else []
    finish_all([(run, _Precomputed(results[start:end]), checked_at, partial(iter, [rows]))
                for (run, rows), (start, end) in zip(pack, spans, strict=True)])


class _Precomputed:
    """A stand-in classifier handing out results already computed for exactly these texts."""

    def __init__(self, results: list[Any]) -> None:
        self.results = results

    def classify_batch(self, texts: list[str]) -> list[Any]:
        if len(texts) != len(self.results):
            raise RuntimeError(f"precomputed {len(self.results)} classifications for {len(texts)} posts")
        return self.results


def _slices(store: ObjectStore, key: str, size: int) -> Iterator[list[dict[str, Any]]]:
    """The JSONL rows of a stored object, ``size`` at a time, read and parsed lazily."""
    rows: list[dict[str, Any]] = []
    with store.open_read(key) as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
                if len(rows) == size:
                    yield rows
                    rows = []
    if rows:
        yield rows


def _spool() -> BinaryIO:
    """An output being built: in memory while small, on local disk beyond 16 MiB."""
    return tempfile.SpooledTemporaryFile(max_size=16 << 20)  # type: ignore[return-value]


def _row_reasons(rows: list[dict[str, Any]], checked_at: datetime) -> list[list[str]]:
    from socialhub.quality.suite import row_reasons

    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"posts[{i}] is {type(row).__name__}, expected a dict (Post.to_dict())")
    return row_reasons(rows, now=checked_at, checked=True)[0]


def _jsonl_line(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"  # as models.to_jsonl


class _BatchRun:
    """One batch on its way through validation (possibly in parts) to its outputs."""

    def __init__(self, store: ObjectStore, batch_id: str, manifest: dict[str, Any], max_bad_fraction: float,
                 auditor: Any, classifier_id: str | None = None, shadow: Shadow | None = None,
                 media_judge: Any = None) -> None:
        from socialhub.quality.rules import RULES

        self.media_judge = media_judge
        self.store, self.batch_id, self.manifest = store, batch_id, manifest
        self.classifier_id, self.shadow = classifier_id, shadow
        self.max_bad_fraction, self.auditor = max_bad_fraction, auditor
        self.rows = 0
        self.bad: set[int] = set()
        self.failures: dict[str, int] = {rule.label: 0 for rule in RULES}
        self.quarantine = _spool()
        self.seen: set[tuple[Any, ...]] = set()
        self.seconds = 0.0
        self.validated_with = 1

    def note_validation(self, seconds: float, batches: int) -> None:
        self.seconds += seconds
        self.validated_with = max(self.validated_with, batches)

    def judge(self, rows: list[dict[str, Any]], verdicts: list[list[str]]) -> None:
        """Take the suite's per-row reasons for the next ``rows`` of this batch."""
        from socialhub.quality.suite import REASONS_KEY

        for row, reasons in zip(rows, _unique_in_batch(rows, verdicts, self.seen), strict=True):
            if reasons:
                self.bad.add(self.rows)
                for reason in reasons:
                    self.failures[reason] += 1
                self.quarantine.write(_jsonl_line({**row, REASONS_KEY: reasons}))
            self.rows += 1

    def bad_fraction(self) -> float:
        return len(self.bad) / self.rows if self.rows else 0.0

    def gate_passed(self) -> bool:
        return self.bad_fraction() <= self.max_bad_fraction

    def finish(self, classifier: Any, checked_at: datetime,
               slices: Callable[[], Iterator[list[dict[str, Any]]]]) -> dict[str, Any]:
        """Store the quarantine, apply the gate, classify the valid rows (read again from ``slices``)."""
        from socialhub.quality.rules import SUITE_NAME, SUITE_VERSION, rules_fingerprint
        from socialhub.quality.suite import REASONS_KEY

        store, manifest, batch_id = self.store, self.manifest, self.batch_id
        n, quarantined = self.rows, len(self.bad)
        bad_fraction = self.bad_fraction()
        platform, day = manifest["platform"], manifest["day"]
        stats = {"rows": n, "valid": n - quarantined, "quarantined": quarantined, "bad_fraction": bad_fraction,
                 "max_bad_fraction": self.max_bad_fraction, "failures": self.failures,
                 "duration_seconds": round(self.seconds, 3), "validated_with_batches": self.validated_with}
        record: dict[str, Any] = {
            "batch_id": batch_id, "platform": platform, "account": manifest["account"], "force": manifest["force"],
            "team": manifest["team"], **({"subject": manifest["subject"]} if "subject" in manifest else {}),
            "posts": n, "valid": n - quarantined, "quarantined": quarantined,
            "quality": {"suite": SUITE_NAME, "version": SUITE_VERSION, "stats": stats,
                        "fingerprint": rules_fingerprint()},
            "flagged": 0, "flagged_by_category": {}, "outputs": {}, "status": "processed",
        }
        obj_name = f"batch:{batch_id}"
        if quarantined:
            obj = store.put_file(layout.stage_key("quarantine", platform, day, batch_id), self.quarantine,
                                 content_type="application/x-ndjson")
            record["outputs"]["quarantine"] = obj.key
            reasons = {label: count for label, count in self.failures.items() if count}
            audit(self.auditor, "quality_reject", obj_name, force=manifest["force"], hashes={"quarantine": obj.sha256},
                  details={"rows": quarantined, "reasons": reasons, "suite": SUITE_NAME,
                           "suite_version": SUITE_VERSION, "key": obj.key})
        self.quarantine.close()
        if not self.gate_passed():
            record["status"] = "held"
            record["error"] = (f"quality gate failed: {quarantined}/{n} rows quarantined "
                               f"(limit {self.max_bad_fraction:.0%})")
            store.put(result_key(batch_id), canonical_json(record), content_type="application/json")
            store.put(layout.queue_key("held", batch_id), canonical_json(
                {"batch_id": batch_id, "manifest": _manifest_key(store, batch_id), "reason": record["error"]}),
                content_type="application/json")
            store.delete(layout.queue_key("pending", batch_id))
            audit(self.auditor, "quality_hold", obj_name, force=manifest["force"], justification=record["error"])
            return record
        curated, flagged = _spool(), _spool()
        by_cat: dict[str, int] = {}
        n_curated = n_flagged = 0
        version = None
        context = {k: manifest[k] for k in ("force", "team", "authorisation_ref", "display_name")}
        if "subject" in manifest:   # manifests from before the subject category have none: "not recorded"
            context["subject"] = manifest["subject"]
        shadow = (_ShadowRun(self.shadow, manifest, batch_id,
                             self.media_judge.for_classifier(self.shadow.classifier) if self.media_judge else None)
                  if self.shadow else None)
        index = 0
        for rows in slices():
            valid = []
            for row in rows:
                if index not in self.bad:
                    valid.append({k: v for k, v in row.items() if k != REASONS_KEY} if REASONS_KEY in row else row)
                index += 1
            results = classifier.classify_batch([p.get("text") or "" for p in valid])
            if shadow:
                shadow.add(valid)
            decided_all = []
            for result in results:
                decided = result.to_dict()
                if self.classifier_id:
                    decided["classifier_id"] = self.classifier_id   # the recorded version (classify/versions.py)
                decided_all.append(decided)
                version = version or result.classifier_version
            # the media's own evidence: known content (hash lists) and text in images (socialhub.media.judge)
            extras = (self.media_judge.judge(valid, decided_all) if self.media_judge is not None
                      else [{"classification": d} for d in decided_all])
            for post, extra in zip(valid, extras, strict=True):
                line = _jsonl_line(dict(post, **extra, batch_id=batch_id, **context))
                curated.write(line)
                n_curated += 1
                labels = extra["classification"].get("labels") or []
                if labels:
                    flagged.write(line)
                    n_flagged += 1
                    for cat in labels:
                        by_cat[cat] = by_cat.get(cat, 0) + 1
        hashes = {}
        for kind, buf, count in (("curated", curated, n_curated), ("flagged", flagged, n_flagged)):
            if count:
                key = layout.stage_key(kind, platform, day, batch_id)
                try:
                    obj = store.put_file(key, buf, content_type="application/x-ndjson")
                except ImmutableObjectError:
                    started = _stored_classifier_id(store, key)
                    if started and started != self.classifier_id:
                        curated.close()
                        flagged.close()
                        raise _StartedByAnother(started) from None
                    raise
                record["outputs"][kind], hashes[kind] = obj.key, obj.sha256
            buf.close()
        if shadow:   # stored before the result record, which commits the batch
            record["shadow"] = shadow.store(store, platform, day)
        record["flagged"], record["flagged_by_category"] = n_flagged, dict(sorted(by_cat.items()))
        record["classifier_version"] = version
        if self.classifier_id:
            record["classifier_id"] = self.classifier_id
        record["processed_at"] = utc_iso(checked_at)
        store.put(result_key(batch_id), canonical_json(record), content_type="application/json")
        audit(self.auditor, "classify", obj_name, force=manifest["force"], hashes=hashes,
              details={"valid": n - quarantined, "flagged": n_flagged, "flagged_by_category": by_cat,
                       "classifier_version": version, **({"classifier_id": self.classifier_id}
                                                         if self.classifier_id else {})})
        return record


class _StartedByAnother(Exception):
    """This batch's outputs were stored by another classifier version (an attempt that crashed
    before its result record); ``process_batches`` finishes it with that version."""

    def __init__(self, version_id: str) -> None:
        super().__init__(version_id)
        self.version_id = version_id


def _stored_classifier_id(store: ObjectStore, key: str) -> str | None:
    """The ``classifier_id`` of the first row of a stored curated/flagged object, if it names one."""
    with store.open_read(key) as fh:
        for line in fh:
            if line.strip():
                return (json.loads(line).get("classification") or {}).get("classifier_id")
    return None


class Shadow:
    """A shadow classifier: a recorded version (``version_id``) classifying every batch beside the
    live one. Its results go to ``layout.shadow_key`` only: nothing reads them for alerts."""

    def __init__(self, version_id: str, classifier: Any) -> None:
        self.version_id, self.classifier = version_id, classifier


class _ShadowRun:
    """One batch's shadow results. A failure of the shadow classifier is recorded in the batch's
    result record and logged, and never stops or changes the live processing."""

    FIELDS = ("platform", "post_id", "url", "account")

    def __init__(self, shadow: Shadow, manifest: dict[str, Any], batch_id: str, media_judge: Any = None) -> None:
        self.shadow, self.batch_id = shadow, batch_id
        self.media_judge = media_judge   # the shadow judges the media too (its own classifier reads the OCR text)
        self.context = {k: manifest.get(k) for k in ("force", "team")}
        self.buf = _spool()
        self.rows = self.flagged = 0
        self.by_cat: dict[str, int] = {}
        self.error: str | None = None

    def add(self, posts: list[dict[str, Any]]) -> None:
        if self.error:
            return
        try:
            results = self.shadow.classifier.classify_batch([p.get("text") or "" for p in posts])
        except Exception as exc:  # noqa: BLE001 - the shadow must never break the live run
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("shadow classifier %s failed on batch %s: %s", self.shadow.version_id, self.batch_id,
                        self.error)
            return
        decided = [r.to_dict() for r in results]
        if self.media_judge is not None:
            try:
                decided = [e["classification"] for e in self.media_judge.judge(posts, decided)]
            except Exception as exc:  # noqa: BLE001 - as above: the shadow never breaks the live run
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("shadow media judgement failed on batch %s: %s", self.batch_id, self.error)
                return
        for post, cls in zip(posts, decided, strict=True):
            row = {k: post.get(k) for k in self.FIELDS} | self.context | {
                "batch_id": self.batch_id, "classification": cls}
            self.buf.write(_jsonl_line(row))
            self.rows += 1
            labels = cls.get("labels") or []
            if labels:
                self.flagged += 1
                for cat in labels:
                    self.by_cat[cat] = self.by_cat.get(cat, 0) + 1

    def store(self, store: ObjectStore, platform: str, day: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.shadow.version_id}
        try:
            if self.error is None and self.rows:
                obj = store.put_file(layout.shadow_key(self.shadow.version_id, platform, day, self.batch_id),
                                     self.buf, content_type="application/x-ndjson")
                out.update(key=obj.key, sha256=obj.sha256)
        except Exception as exc:  # noqa: BLE001 - as above: recorded, never fatal
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("shadow results of batch %s not stored: %s", self.batch_id, self.error)
        finally:
            self.buf.close()
        if self.error:
            return out | {"error": self.error}
        return out | {"posts": self.rows, "flagged": self.flagged, "flagged_by_category": dict(sorted(self.by_cat.items()))}


def _unique_in_batch(rows: list[dict[str, Any]], verdicts: list[list[str]],
                     seen: set[tuple[Any, ...]]) -> list[list[str]]:
    """Re-judge the suite's "unique per batch" rules for rows of ONE batch, continuing from ``seen``
    (the keys of its earlier rows): as GX does for a whole batch, the first copy of a key stays
    valid and a row with a missing key value is ignored. Other reasons are kept, in rule order."""
    from socialhub.quality.rules import RULES
    from socialhub.quality.suite import _as_text

    unique = [rule for rule in RULES if rule.keep_first]
    order = {rule.label: i for i, rule in enumerate(RULES)}
    labels = {rule.label for rule in unique}
    out = []
    for row, reasons in zip(rows, verdicts, strict=True):
        kept = [r for r in reasons if r not in labels]
        for rule in unique:
            key = (rule.label, *(_as_text(row.get(col)) for col in rule.columns))
            if any(v is None for v in key[1:]):
                continue
            if key in seen:
                kept.append(rule.label)
            else:
                seen.add(key)
        if len(kept) > 1:
            kept.sort(key=order.__getitem__)
        out.append(kept)
    return out


def _manifest_key(store: ObjectStore, batch_id: str) -> str:
    marker = store.get_or_none(layout.queue_key("pending", batch_id))
    return json.loads(marker)["manifest"] if marker else ""


def summarise_processing(records: list[dict[str, Any]]) -> dict[str, Any]:
    by_cat: dict[str, int] = {}
    for r in records:
        for cat, n in r.get("flagged_by_category", {}).items():
            by_cat[cat] = by_cat.get(cat, 0) + n
    return {
        "batches": len(records),
        "posts": sum(r["posts"] for r in records),
        "valid": sum(r["valid"] for r in records),
        "quarantined": sum(r["quarantined"] for r in records),
        "held_batches": [r["batch_id"] for r in records if r["status"] == "held"],
        "flagged": sum(r["flagged"] for r in records),
        "flagged_by_category": dict(sorted(by_cat.items())),
        "classifier_ids": sorted({r["classifier_id"] for r in records if r.get("classifier_id")}),
        "shadow": _shadow_totals(records),
    }


def _shadow_totals(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per shadow version: batches, posts and flagged posts it classified, and batches it failed on."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        sh = r.get("shadow")
        if not sh:
            continue
        t = out.setdefault(sh["id"], {"batches": 0, "posts": 0, "flagged": 0, "flagged_by_category": {},
                                      "failed_batches": 0})
        t["batches"] += 1
        if sh.get("error"):
            t["failed_batches"] += 1
            continue
        t["posts"] += sh.get("posts", 0)
        t["flagged"] += sh.get("flagged", 0)
        for cat, n in sh.get("flagged_by_category", {}).items():
            t["flagged_by_category"][cat] = t["flagged_by_category"].get(cat, 0) + n
    return out
