"""What a post's captured media adds to its classification (the process stage).

* **Known content.** Each captured image's PDQ hash (and its 8 dihedral variants, so a mirrored
  or rotated re-upload is caught) is looked up in the hash lists (``socialhub.media.hashlist``).
  A match within ``max_distance`` bits labels the post ``known_content``, naming the list entry
  and the referral it came from, whatever the post's text says. Its score is the similarity
  ``1 - distance/256``; the label threshold is ``1 - max_distance/256``.
* **Text in media.** OCR text of the post's images is classified by the same classifier as the
  post's text. A category it labels is added (scores only ever rise), and its evidence is kept
  with ``source: "text_in_media"`` and the image's SHA-256, quoting the OCR text.

The curated row gains ``media_captured``: the stored copy of each media item (hash, type, size,
dimensions, preview), which is what alerts, the review page and referral packages point at.
"""

from __future__ import annotations

import logging
from typing import Any

from socialhub.media import store as mstore
from socialhub.storage.base import ObjectStore

log = logging.getLogger(__name__)

KNOWN_CONTENT = "known_content"
TEXT_IN_MEDIA = "text_in_media"
#: fields of a capture-record item copied into the curated row (no platform URL fetched by a client later)
ITEM_FIELDS = ("url", "status", "reason", "sha256", "mime", "kind", "size", "width", "height", "preview_key")


def similarity(distance: int) -> float:
    return round(1.0 - distance / 256.0, 4)


class MediaJudge:
    """Built once per processing task: the hash lists' index is loaded once."""

    def __init__(self, store: ObjectStore, classifier: Any, *, max_distance: int = 31) -> None:
        self.store, self.classifier, self.max_distance = store, classifier, max_distance
        self._index: Any = None
        self._meta: dict[str, Any] = {}
        self._infos: dict[str, dict[str, Any] | None] = {}

    def for_classifier(self, classifier: Any) -> MediaJudge:
        """The same store, lists and analyses, another classifier (the shadow's) for the OCR text."""
        other = MediaJudge(self.store, classifier, max_distance=self.max_distance)
        other._index, other._meta, other._infos = self._index, self._meta, self._infos
        if other._index is None:
            other._index, other._meta = self._lists()
        return other

    def _lists(self) -> tuple[Any, dict[str, Any]]:
        if self._index is None:
            from socialhub.media.hashlist import HashLists

            try:
                self._index, self._meta = HashLists(self.store).index()
            except Exception as exc:  # noqa: BLE001 - a broken list must not stop text classification
                log.error("hash lists could not be loaded (%s): no known-content matching this run", exc)
                from socialhub.media.index import PDQIndex

                self._index, self._meta = PDQIndex(), {}
        return self._index, self._meta

    def _info(self, sha: str) -> dict[str, Any] | None:
        if sha not in self._infos:
            self._infos[sha] = mstore.load_info(self.store, sha)
        return self._infos[sha]

    def items(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: item.get(k) for k in ITEM_FIELDS if item.get(k) is not None}
                for item in mstore.captured_items(self.store, post)]

    def matches(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Hash-list matches of the captured items, nearest first, one per (list entry, image)."""
        index, meta = self._lists()
        if not len(index):
            return []
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for item in items:
            sha = item.get("sha256")
            info = self._info(sha) if sha else None
            if not info:
                continue
            hashes = [h["hash"] for h in info.get("pdq") or [] if h.get("hash")]
            variants = [(h, "as posted") for h in hashes] + [(h, "mirrored or rotated")
                                                              for h in (info.get("pdq_dihedral") or [])[1:]]
            for query, how in variants:
                for entry_id, distance in index.search(query, self.max_distance):
                    list_name, entry = meta[entry_id]
                    key = (entry_id, str(sha))
                    if key in found and found[key]["distance"] <= distance:
                        continue
                    found[key] = {"list": list_name, "entry_id": entry.entry_id, "distance": distance,
                                  "label": entry.label, "source": entry.source, "referral_id": entry.referral_id,
                                  "post_key": entry.post_key, "media_sha256": sha, "how": how, "hash": query}
        return sorted(found.values(), key=lambda m: (m["distance"], m["entry_id"]))

    def ocr_texts(self, items: list[dict[str, Any]]) -> list[tuple[str, str]]:
        out = []
        for item in items:
            sha = item.get("sha256")
            info = self._info(sha) if sha else None
            text = ((info or {}).get("ocr") or {}).get("text") or ""
            if len(text.strip()) >= 3:
                out.append((str(sha), text))
        return out

    def judge(self, posts: list[dict[str, Any]], decided: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The posts' rows with ``media_captured`` and their classification merged with their media's."""
        rows_items = [self.items(p) if p.get("media") else [] for p in posts]
        ocr = [self.ocr_texts(items) for items in rows_items]
        texts = [t for group in ocr for _, t in group]
        results = self.classifier.classify_batch(texts) if texts else []
        at = 0
        out = []
        for items, group, cls in zip(rows_items, ocr, decided, strict=True):
            row_cls = dict(cls)
            for sha, text in group:
                row_cls = merge_text_in_media(row_cls, results[at].to_dict(), sha, text)
                at += 1
            if items:
                row_cls = merge_known_content(row_cls, self.matches(items), self.max_distance)
            out.append({"media_captured": items, "classification": row_cls} if items else {"classification": row_cls})
        return out


def merge_text_in_media(cls: dict[str, Any], ocr_cls: dict[str, Any], sha: str, text: str) -> dict[str, Any]:
    """Add what the classifier found in an image's OCR text to the post's classification."""
    out = dict(cls)
    scores = dict(out.get("scores") or {})
    labels = list(out.get("labels") or [])
    reasons = list(out.get("reasons") or [])
    for cat, score in (ocr_cls.get("scores") or {}).items():
        if score > scores.get(cat, 0.0):
            scores[cat] = score
    new = [c for c in ocr_cls.get("labels") or [] if c not in labels]
    labels.extend(new)
    for r in ocr_cls.get("reasons") or []:
        if r.get("category") in (ocr_cls.get("labels") or []):
            reasons.append({**r, "source": TEXT_IN_MEDIA, "media_sha256": sha})
    out.update(scores=scores, labels=labels, reasons=reasons)
    out.setdefault("text_in_media", []).append({"media_sha256": sha, "text": text[:2000],
                                                "labels": list(ocr_cls.get("labels") or [])})
    return out


def merge_known_content(cls: dict[str, Any], matches: list[dict[str, Any]], max_distance: int) -> dict[str, Any]:
    if not matches:
        return cls
    out = dict(cls)
    best = matches[0]
    scores = dict(out.get("scores") or {})
    scores[KNOWN_CONTENT] = similarity(best["distance"])
    thresholds = dict(out.get("thresholds") or {})
    thresholds[KNOWN_CONTENT] = similarity(max_distance)
    labels = list(out.get("labels") or [])
    if KNOWN_CONTENT not in labels:
        labels.append(KNOWN_CONTENT)
    reasons = list(out.get("reasons") or [])
    for m in matches[:5]:
        reasons.append({"category": KNOWN_CONTENT, "rule": "media.pdq_match", "term": m["label"] or "",
                        "start": 0, "end": 0, "text": "", "weight": float(m["distance"]), "effect": "match",
                        "source": "media", **{k: m[k] for k in ("list", "entry_id", "distance", "referral_id",
                                                                  "post_key", "media_sha256", "how")}})
    out.update(scores=scores, thresholds=thresholds, labels=labels, reasons=reasons, known_content=matches[:5])
    return out


__all__ = ["KNOWN_CONTENT", "TEXT_IN_MEDIA", "MediaJudge", "merge_known_content", "merge_text_in_media",
           "similarity"]
