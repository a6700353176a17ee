"""Classifier versions as records in the store: what made each decision, kept so it can be re-run.

A classifier version is what decides a post's scores and labels:

* the lexicon (``lexicon.yaml``), the thresholds (``thresholds.yaml``, with any overrides in
  effect) and the statistical model (``model/model.json`` and its ``manifest.json``; none when
  the rules run alone) -- these files are copied into the store, with their SHA-256;
* the code that reads them (the modules of ``socialhub.classify`` that score a post), recorded
  as a fingerprint only. Python code cannot be re-run from a store, so a version recorded under
  other code is re-run under today's code, and every tool that does so says so
  (``VersionRecord.code_matches``).

Its id is ``<thresholds version>-<12 hex digits>``, the digits being SHA-256 over all of the
above: the same files and code always give the same id, and any change gives a new one.

Store layout (write-once except ``live.json``)::

    classifiers/versions/<id>/record.json           the record: files, hashes, versions, code fingerprint
    classifiers/versions/<id>/files/<name>          lexicon.yaml, thresholds.yaml, model.json, manifest.json
    classifiers/live.json                           which version processing uses (``socialhub classifier promote``)
    classifiers/promotions/<stamp>-<id>.json        each promotion: who, why, evaluation and shadow figures
    classifiers/evaluations/<id>-<sha>.json         the evaluation file attached to a promotion

Processing registers the version it runs (idempotent: one GET when it is already recorded) and
names its id in each batch's result record (``classifier_id``). With no ``live.json`` the live
version is the one shipped with the code; once a version is promoted, processing loads it from
the store, whatever the code ships, until another is promoted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from socialhub.errors import ConfigError
from socialhub.models import canonical_json, utc_iso

log = logging.getLogger("socialhub.classify")

PREFIX = "classifiers/"
VERSIONS = "classifiers/versions/"
LIVE_KEY = "classifiers/live.json"
PROMOTIONS = "classifiers/promotions/"
RECORD_FORMAT = "socialhub-classifier-version/1"

#: modules of socialhub.classify that do not take part in scoring a post (tooling): left out of
#: the code fingerprint, so editing them does not make a new version
_TOOLING = frozenset({"evaluate.py", "train.py", "dataset.py", "realdata.py", "suite.py", "slices.py",
                      "versions.py", "versions_cli.py", "describe.py"})

#: the files of a version, by their name in the store
LEXICON, THRESHOLDS, MODEL, MANIFEST = "lexicon.yaml", "thresholds.yaml", "model.json", "manifest.json"


def _pkg_dir() -> Path:
    return Path(__file__).resolve().parent


_code_fp: str | None = None


def code_fingerprint() -> str:
    """SHA-256 (16 hex digits) over the scoring modules of ``socialhub.classify``, by name and content."""
    global _code_fp
    if _code_fp is None:
        h = hashlib.sha256()
        for path in sorted(_pkg_dir().glob("*.py")):
            if path.name in _TOOLING:
                continue
            h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        _code_fp = h.hexdigest()[:16]
    return _code_fp


@dataclass(frozen=True)
class ClassifierSpec:
    """Where a classifier's files are: ``model_dir`` None means the rules alone."""

    lexicon: Path
    thresholds: Path
    model_dir: Path | None
    overrides: tuple[tuple[str, float], ...] = ()
    origin: str = "packaged"

    @classmethod
    def packaged(cls) -> ClassifierSpec:
        from socialhub.classify.lexicon import DEFAULT_LEXICON_PATH, DEFAULT_THRESHOLDS_PATH
        from socialhub.classify.model import DEFAULT_MODEL_DIR

        model = DEFAULT_MODEL_DIR if (DEFAULT_MODEL_DIR / MODEL).is_file() else None
        return cls(DEFAULT_LEXICON_PATH, DEFAULT_THRESHOLDS_PATH, model, origin="packaged")

    def with_files(self, *, lexicon: str | Path | None = None, thresholds: str | Path | None = None,
                   rules_only: bool = False) -> ClassifierSpec:
        """This spec with a lexicon and/or thresholds file swapped in (``--lexicon``, ``--thresholds``)."""
        changes = []
        lex = Path(lexicon).resolve() if lexicon else self.lexicon
        thr = Path(thresholds).resolve() if thresholds else self.thresholds
        for given, name in ((lexicon, "lexicon"), (thresholds, "thresholds")):
            if given:
                if not Path(given).is_file():
                    raise ConfigError(f"--{name} {given}: no such file")
                changes.append(f"{name} {given}")
        if rules_only:
            changes.append("rules only")
        if not changes:
            return self
        return ClassifierSpec(lex, thr, None if rules_only else self.model_dir, self.overrides,
                              origin=f"{self.origin} + " + ", ".join(changes))

    def files(self) -> dict[str, Path]:
        out = {LEXICON: self.lexicon, THRESHOLDS: self.thresholds}
        if self.model_dir is not None:
            out[MODEL] = self.model_dir / MODEL
            out[MANIFEST] = self.model_dir / MANIFEST
        return out

    def build(self) -> Any:
        """The classifier these files make (the shared default when they are the packaged ones)."""
        from socialhub.classify import load_classifier
        from socialhub.classify.lexicon import DEFAULT_LEXICON_PATH, DEFAULT_THRESHOLDS_PATH
        from socialhub.classify.model import DEFAULT_MODEL_DIR

        packaged = (self.lexicon == DEFAULT_LEXICON_PATH and self.thresholds == DEFAULT_THRESHOLDS_PATH
                    and self.model_dir == DEFAULT_MODEL_DIR and not self.overrides)
        if packaged:
            return load_classifier()
        return load_classifier(self.lexicon, self.thresholds, thresholds=dict(self.overrides) or None,
                               model_dir=self.model_dir if self.model_dir is not None else False)


def spec_from_path(path: str | Path) -> ClassifierSpec:
    """A classifier from a folder: its ``lexicon.yaml``, ``thresholds.yaml`` and ``model/`` (or
    ``model.json`` + ``manifest.json`` directly in it), each falling back to the packaged one when
    absent; a file ``rules-only`` in the folder means no model. A single YAML file is taken as a
    thresholds file when it has ``thresholds:``, else as a lexicon."""
    p = Path(path).expanduser().resolve()
    base = ClassifierSpec.packaged()
    if p.is_file():
        text = p.read_text(encoding="utf-8")
        is_thr = any(line.startswith("thresholds:") for line in text.splitlines())
        spec = base.with_files(thresholds=p) if is_thr else base.with_files(lexicon=p)
        return ClassifierSpec(spec.lexicon, spec.thresholds, spec.model_dir, origin=str(p))
    if not p.is_dir():
        raise ConfigError(f"classifier {path}: no such folder, file or recorded version",
                          hint="give a version id (socialhub classifier list), 'live', 'packaged', or a folder "
                               "holding lexicon.yaml / thresholds.yaml / model/")
    model: Path | None = base.model_dir
    for cand in (p / "model", p):
        if (cand / MODEL).is_file():
            model = cand
            break
    if (p / "rules-only").exists():
        model = None
    lex = p / LEXICON if (p / LEXICON).is_file() else base.lexicon
    thr = p / THRESHOLDS if (p / THRESHOLDS).is_file() else base.thresholds
    return ClassifierSpec(lex, thr, model, origin=str(p))


def _sha(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


@dataclass
class VersionRecord:
    """One classifier version, as recorded in the store (``record.json``)."""

    id: str
    classifier_version: str
    lexicon_version: str | None
    model_version: str | None
    thresholds_version: str
    thresholds: dict[str, float]
    files: dict[str, dict[str, Any]]
    code: str
    created_at: str = ""
    origin: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT, "id": self.id, "classifier_version": self.classifier_version,
                "lexicon_version": self.lexicon_version, "model_version": self.model_version,
                "thresholds_version": self.thresholds_version, "thresholds": self.thresholds,
                "files": self.files, "code": self.code, "created_at": self.created_at, "origin": self.origin}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VersionRecord:
        return cls(id=d["id"], classifier_version=d["classifier_version"], lexicon_version=d.get("lexicon_version"),
                   model_version=d.get("model_version"), thresholds_version=d["thresholds_version"],
                   thresholds=dict(d["thresholds"]), files=dict(d["files"]), code=d["code"],
                   created_at=d.get("created_at", ""), origin=d.get("origin", ""))

    @property
    def code_matches(self) -> bool:
        """True when this process runs the classifier code the version was recorded with."""
        return self.code == code_fingerprint()

    def code_note(self) -> str | None:
        """What to tell a reader when re-running this version under other code (None: same code)."""
        if self.code_matches:
            return None
        return (f"version {self.id} was recorded with classifier code {self.code}; this run uses code "
                f"{code_fingerprint()}, so its scores may differ from the recorded ones")

    def describe(self) -> str:
        thr = ", ".join(f"{c} {t:g}" for c, t in self.thresholds.items())
        return (f"{self.id}: {self.classifier_version}, thresholds {self.thresholds_version} ({thr}); "
                f"code {self.code}{'' if self.code_matches else ' (not the running code)'}")


def _describe_spec(spec: ClassifierSpec) -> tuple[str, dict[str, dict[str, Any]], Any]:
    """The id, the file table and the built classifier of a spec."""
    clf = spec.build()
    files = {}
    h = hashlib.sha256()
    for name, path in spec.files().items():
        if not path.is_file():
            raise ConfigError(f"classifier file {path} is missing")
        digest, size = _sha(path)
        files[name] = {"sha256": digest, "bytes": size}
        h.update(f"{name}\0{digest}\n".encode())
    thresholds = {c: float(t) for c, t in clf.thresholds.items()}
    h.update(canonical_json(thresholds) + b"\n" + code_fingerprint().encode())
    from socialhub.classify.lexicon import load_thresholds

    thr_version = load_thresholds(spec.thresholds).version
    return f"{thr_version}-{h.hexdigest()[:12]}", files, clf


def _record_key(version_id: str) -> str:
    from socialhub.storage.base import key_segment

    return f"{VERSIONS}{key_segment(version_id)}/record.json"


def _file_key(version_id: str, name: str) -> str:
    from socialhub.storage.base import key_segment

    return f"{VERSIONS}{key_segment(version_id)}/files/{name}"


_lock = threading.Lock()
#: spec -> (id, file table, classifier): what the files make, which does not depend on a store
_described: dict[tuple[Any, ...], tuple[str, dict[str, dict[str, Any]], Any]] = {}


def _where(store: Any) -> str:
    """The store's location, for the per-process caches (not ``id(store)``: a new store object can
    reuse a dead one's id, and would then be taken for a store the version is recorded in)."""
    from socialhub.audit.where import store_label

    return f"{type(store).__name__}:{store_label(store)}"


def register(store: Any, spec: ClassifierSpec | None = None, *, now: datetime | None = None,
             auditor: Any = None) -> tuple[VersionRecord, Any]:
    """Record ``spec`` (default: the packaged classifier) in ``store``; its record and classifier.

    Idempotent: an id already recorded is only read. Files are written before the record, so a
    record always has its files (a crash in between leaves unreferenced files, rewritten next time)."""
    spec = spec or ClassifierSpec.packaged()
    stamp = (spec, tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in spec.files().values()
                         if p.is_file()))
    with _lock:
        described = _described.get(stamp)
    if described is None:       # first use of these files as they are now on disk
        described = _describe_spec(spec)
        with _lock:
            _described[stamp] = described
    vid, files, clf = described
    raw = store.get_or_none(_record_key(vid))      # one GET: the store is asked every time, never a cache
    if raw:
        rec = VersionRecord.from_dict(json.loads(raw))
    else:
        from socialhub.classify.lexicon import load_thresholds
        from socialhub.clock import now as clock_now

        for name, path in spec.files().items():
            key = _file_key(vid, name)
            if not store.exists(key):
                store.put(key, path.read_bytes(), content_type="application/yaml" if name.endswith(".yaml")
                          else "application/json")
        probe = clf.classify_batch([""])[0]
        rec = VersionRecord(id=vid, classifier_version=clf.version, lexicon_version=probe.lexicon_version,
                            model_version=probe.model_version,
                            thresholds_version=load_thresholds(spec.thresholds).version,
                            thresholds={c: float(t) for c, t in clf.thresholds.items()}, files=files,
                            code=code_fingerprint(), created_at=utc_iso(now or clock_now()), origin=spec.origin)
        store.put(_record_key(vid), canonical_json(rec.to_dict()), content_type="application/json")
        from socialhub.audit.chain import record as audit

        audit(auditor, "classifier_register", f"classifier:{vid}",
              details={"classifier_version": rec.classifier_version, "thresholds": rec.thresholds,
                       "files": files, "code": rec.code, "origin": spec.origin})
    return rec, clf


def get(store: Any, version_id: str) -> VersionRecord:
    raw = store.get_or_none(_record_key(version_id))
    if raw is None:
        raise ConfigError(f"no classifier version {version_id!r} is recorded in this store",
                          hint="list them with `socialhub classifier list`")
    return VersionRecord.from_dict(json.loads(raw))


def list_versions(store: Any) -> list[VersionRecord]:
    """Every recorded version, oldest first."""
    out = [VersionRecord.from_dict(json.loads(store.get(k))) for k in store.list(VERSIONS)
           if k.endswith("/record.json")]
    return sorted(out, key=lambda r: (r.created_at, r.id))


def _cache_root() -> Path:
    from socialhub.config import _home

    return Path(os.environ.get("SOCIALHUB_CACHE_DIR") or _home() / "cache") / "classifiers"


def materialise(store: Any, rec: VersionRecord, cache_dir: Path | None = None) -> ClassifierSpec:
    """The version's files in a local folder (checked against their SHA-256), as a spec to build."""
    where = (cache_dir or _cache_root()) / rec.id
    model_dir = where / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    for name, meta in rec.files.items():
        path = (model_dir if name in (MODEL, MANIFEST) else where) / name
        if path.is_file() and _sha(path)[0] == meta["sha256"]:
            continue
        data = store.get(_file_key(rec.id, name))
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise ConfigError(f"classifier version {rec.id}: stored {name} does not match its recorded SHA-256",
                              hint="the store copy was altered; use another version")
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    overrides = tuple(sorted(rec.thresholds.items()))
    return ClassifierSpec(where / LEXICON, where / THRESHOLDS, model_dir if MODEL in rec.files else None,
                          overrides, origin=f"recorded version {rec.id}")


_loaded: dict[tuple[str, str], Any] = {}


def load_version(store: Any, version_id: str) -> tuple[VersionRecord, Any]:
    """A recorded version and its classifier (built once per process). Logs when its code differs."""
    rec = get(store, version_id)
    with _lock:
        hit = _loaded.get((_where(store), rec.id))
    if hit is not None:
        return rec, hit
    note = rec.code_note()
    if note:
        log.warning("%s", note)
    clf = materialise(store, rec).build()
    with _lock:
        _loaded[(_where(store), rec.id)] = clf
    return rec, clf


def live_id(store: Any) -> str | None:
    """The promoted version's id, or None when the packaged classifier is live (never promoted)."""
    raw = store.get_or_none(LIVE_KEY)
    return json.loads(raw)["id"] if raw else None


def live(store: Any, *, auditor: Any = None) -> tuple[VersionRecord, Any]:
    """The version processing uses: the promoted one, else the packaged one (recorded on first use)."""
    vid = live_id(store)
    if vid:
        return load_version(store, vid)
    return register(store, auditor=auditor)


def find(store: Any, ref: str) -> VersionRecord | None:
    """A recorded version by id, unique id prefix, or unique ``classifier_version`` string."""
    recs = list_versions(store)
    for test in (lambda r: r.id == ref, lambda r: r.id.startswith(ref), lambda r: r.classifier_version == ref):
        hits = [r for r in recs if test(r)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise ConfigError(f"classifier {ref!r} names {len(hits)} recorded versions: "
                              f"{', '.join(r.id for r in hits)}", hint="give the full id")
    return None


def resolve(store: Any, ref: str | None, *, lexicon: str | Path | None = None, thresholds: str | Path | None = None,
            auditor: Any = None) -> tuple[VersionRecord, Any]:
    """A classifier named on a command line, recorded in ``store`` (so what it decides can be traced):

    ``None`` or ``live``: the live version; ``packaged``: the one shipped with the code; a recorded
    version's id (or a unique prefix, or its ``classifier_version``); a folder or YAML file
    (``spec_from_path``). ``lexicon``/``thresholds`` then swap in those files, making a new version."""
    if ref in (None, "", "live"):
        rec, clf = live(store, auditor=auditor)
        spec = materialise(store, rec) if live_id(store) else ClassifierSpec.packaged()
    elif ref == "packaged":
        rec, clf = register(store, auditor=auditor)
        spec = ClassifierSpec.packaged()
    else:
        found = find(store, ref)
        if found is not None:
            rec, clf = load_version(store, found.id)
            spec = materialise(store, rec)
        else:
            spec = spec_from_path(ref)
            rec, clf = register(store, spec, auditor=auditor)
    if lexicon or thresholds:
        changed = spec.with_files(lexicon=lexicon, thresholds=thresholds)
        if thresholds:   # a new thresholds file replaces the recorded values too
            changed = ClassifierSpec(changed.lexicon, changed.thresholds, changed.model_dir, (), changed.origin)
        rec, clf = register(store, changed, auditor=auditor)
    return rec, clf


def promote(store: Any, version_id: str, *, by: str, why: str, evaluation: dict[str, Any] | None = None,
            shadow: dict[str, Any] | None = None, now: datetime | None = None, auditor: Any = None
            ) -> dict[str, Any]:
    """Make a recorded version live: a write-once promotion record, then ``live.json``, then the audit
    event (who, why, the evaluation and shadow figures). Refuses an unrecorded version or no reason."""
    from socialhub.clock import now as clock_now

    if not (by or "").strip() or not (why or "").strip():
        raise ConfigError("a promotion needs who (--by) and why (--why)")
    rec = get(store, version_id)
    before = live_id(store)
    at = utc_iso(now or clock_now())
    promotion = {"id": rec.id, "classifier_version": rec.classifier_version, "promoted_at": at, "by": by,
                 "why": why, "previous": before or "packaged", "evaluation": evaluation or {},
                 "shadow": shadow or {}, "code": rec.code, "code_matches": rec.code_matches}
    stamp = at.replace(":", "").replace("-", "")
    from socialhub.storage.base import key_segment

    store.put(f"{PROMOTIONS}{stamp}-{key_segment(rec.id)}.json", canonical_json(promotion),
              content_type="application/json")
    store.put_state(LIVE_KEY, canonical_json(promotion))
    from socialhub.audit.chain import record as audit

    audit(auditor, "classifier_promote", f"classifier:{rec.id}", justification=why,
          details={k: promotion[k] for k in ("classifier_version", "previous", "evaluation", "shadow", "code")})
    return promotion


def promotions(store: Any) -> list[dict[str, Any]]:
    """Every promotion, oldest first."""
    return [json.loads(store.get(k)) for k in sorted(store.list(PROMOTIONS))]


def names(records: Iterable[VersionRecord]) -> dict[str, str]:
    """``classifier_version`` string -> id, for versions whose string is unique among ``records``."""
    seen: dict[str, list[str]] = {}
    for r in records:
        seen.setdefault(r.classifier_version, []).append(r.id)
    return {name: ids[0] for name, ids in seen.items() if len(ids) == 1}
