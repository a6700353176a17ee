"""Build the synthetic labelled set: data/labelled/{train,dev,test}.jsonl (reproducible).

    python data/labelled/build.py [--seed 7] [--out data/labelled]

How the held-out splits are kept honest (details in docs/detection.md):

* every TEMPLATE (one phrasing with slots, ``templates.py``) goes to exactly one split, about
  60/20/20; so no test phrasing was seen in training, only the shared slang vocabulary. The
  split of each template and hand-written post is FROZEN in ``splits.json`` (first drawn at
  random within each group), so adding content never moves an existing phrasing between
  splits; a new one is split by a hash of its text;
* names, handles, places, "postcode" codes, teams and song titles come from pools that differ
  per split, so a name cannot stand in for a label;
* hand-written free-form posts are split one post to one split (frozen / by hash), and
  everyday chatter generated from a small grammar (``CHATTER``) at random, one post to one split;
* a template's variants must differ: one whose character 4-gram Jaccard similarity to an
  earlier variant of the same template is >= 0.8 (e.g. only the trailing emoji differ) is not
  kept, so counts are not inflated by trivial copies;
* finally every dev/test post whose character 4-gram Jaccard similarity to ANY training post
  (or test to any dev post) is >= 0.5 is dropped, which removes near-duplicates that different
  templates or shared slot values could still produce.

Variation: slots are filled at random; some posts get an evasion (leetspeak, zero-width
characters, Cyrillic lookalikes, spaced or elongated letters) on a slang word, and casing and
trailing emoji vary. Benign posts get the same styling noise so that styling is not a label.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from templates import CHATTER, CHATTER_POSTS, HANDWRITTEN, PER_SPLIT, SHARED, TEMPLATES  # noqa: E402

SPLITS = ("train", "dev", "test")
POSITIVE_VARIANTS = 11
NEGATIVE_VARIANTS = 11
NEAR_DUP_JACCARD = 0.5
#: Within one split, a post this similar to an earlier one is a trivial variant and is dropped.
WITHIN_SPLIT_JACCARD = 0.8

SLOT = re.compile(r"\{(\w+)\}")

# Words an author might disguise; only these get evasions in positive posts.
EVADABLE = {
    "stab", "stabbed", "shank", "shanked", "knife", "bora", "nank", "opps", "opp", "zoots", "dead", "kill", "strap",
    "glock", "wet", "wetted", "ting", "coke", "white", "runners", "plug", "blade", "machete", "gun", "bullets",
    "splash", "splashed", "ching", "skeng", "burner", "shotty", "pumpy", "food", "ket", "weed", "line", "trap",
    "bando", "cunch", "youngers", "grass", "snitched", "shoot", "shot", "bury", "murder", "smoke", "rip", "box",
    "shirt", "lacking", "slipping", "violated", "pussy", "wasteman", "territory", "block", "scoreboard",
}
HOMOGLYPHS = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "c": "\u0441", "p": "\u0440", "s": "\u0455", "i": "\u0456"}
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def evade(word: str, rng: random.Random) -> str:
    """One evasion trick applied to ``word``."""
    kind = rng.choice(["leet", "zw", "homoglyph", "spaced", "dotted", "elongate", "star"])
    if kind == "leet":
        out = "".join(LEET.get(c, c) if rng.random() < 0.6 else c for c in word)
        return out if out != word else word.replace(word[-1], LEET.get(word[-1], word[-1]))
    if kind == "zw":
        k = rng.randint(1, len(word) - 1) if len(word) > 1 else 1
        return word[:k] + rng.choice(["\u200b", "\u200c", "\u2060", "\u00ad"]) + word[k:]
    if kind == "homoglyph":
        return "".join(HOMOGLYPHS.get(c, c) if rng.random() < 0.7 else c for c in word)
    if kind == "spaced" and len(word) >= 4:
        return " ".join(word)
    if kind == "dotted":
        return ".".join(word)
    if kind == "star" and len(word) >= 4:
        k = rng.randint(1, len(word) - 2)
        return word[:k] + "*" + word[k + 1:]
    vowels = [i for i, c in enumerate(word) if c in "aeiou"]
    if vowels:
        i = rng.choice(vowels)
        return word[:i] + word[i] * rng.randint(3, 6) + word[i + 1:]
    return word + word[-1] * 3


def fill(template: str, split: str, rng: random.Random, depth: int = 0) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        pool = PER_SPLIT[name][split] if name in PER_SPLIT else SHARED[name]
        value = rng.choice(pool)
        return fill(value, split, rng, depth + 1) if "{" in value and depth < 3 else value

    return SLOT.sub(repl, template)


def style(text: str, rng: random.Random, *, positive: bool, group: str) -> str:
    """Evasion and casing noise. Formal groups (news, campaigns) keep their casing."""
    words = text.split(" ")
    evadable = [i for i, w in enumerate(words) if w.lower().strip(",.!?:'") in EVADABLE]
    if positive and evadable and rng.random() < 0.3:
        i = rng.choice(evadable)
        w = words[i]
        core = w.strip(",.!?:'")
        words[i] = w.replace(core, evade(core.lower(), rng))
    elif not positive and group in ("benign_slang", "everyday", "music", "gaming", "sport") and rng.random() < 0.15:
        i = rng.randrange(len(words))
        if words[i].isalpha() and len(words[i]) > 3:
            words[i] = evade(words[i].lower(), rng)
    text = " ".join(words)
    if group not in ("news", "campaign"):
        r = rng.random()
        if r < 0.35:
            text = text.lower()
        elif r < 0.42:
            text = text.upper()
        elif r < 0.6:
            text = text[:1].upper() + text[1:]
    return re.sub(r"\s+([,.!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()


def _shingles(text: str) -> frozenset[str]:
    t = " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())
    return frozenset(t[i:i + 4] for i in range(max(1, len(t) - 3)))


def _hash_split(text: str) -> str:
    """A stable 60/20/20 split for a new template or post, from a hash of its text."""
    k = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if k < 60 else "dev" if k < 80 else "test"


def _frozen() -> dict[str, dict[str, str]]:
    path = HERE / "splits.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"templates": {}, "handwritten": {}}


def _assign_templates() -> dict[int, str]:
    """Template index -> split: the frozen split (``splits.json``) if listed, else by hash."""
    frozen = _frozen()["templates"]
    return {i: frozen.get(t) or _hash_split(t) for i, (_, _, t) in enumerate(TEMPLATES)}


def build(seed: int) -> tuple[dict[str, list[dict]], dict[str, int]]:
    rng = random.Random(seed)
    split_of = _assign_templates()
    frozen_hw = _frozen()["handwritten"]
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    seen: set[str] = set()
    for i, (labels, group, template) in enumerate(TEMPLATES):
        split = split_of[i]
        target = POSITIVE_VARIANTS if labels else NEGATIVE_VARIANTS
        made = 0
        kept_sh: list[frozenset[str]] = []
        for _ in range(target * 10):
            if made >= target:
                break
            text = style(fill(template, split, rng), rng, positive=bool(labels), group=group)
            key = text.lower()
            if key in seen:
                continue
            sh = _shingles(text)
            if any(len(sh & o) / len(sh | o) >= WITHIN_SPLIT_JACCARD for o in kept_sh):
                continue                  # a trivial variant of one already made
            seen.add(key)
            kept_sh.append(sh)
            rows[split].append({"text": text, "labels": labels, "group": group, "source": f"template:{i:03d}"})
            made += 1
    for j, (labels, group, text) in enumerate(HANDWRITTEN):
        split = frozen_hw.get(text) or _hash_split(text)
        text = fill(text, split, rng)
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        rows[split].append({"text": text, "labels": labels, "group": group, "source": f"handwritten:{j:03d}"})

    dropped = Counter()
    # Everyday chatter from a small grammar, one post to one split.
    for j in range(CHATTER_POSTS):
        g = CHATTER
        if rng.random() < 0.25:
            text = rng.choice(g["opener"]) + rng.choice(g["question"])
        else:
            text = (rng.choice(g["opener"]) + rng.choice(g["subject"]) + " " + rng.choice(g["vp"]) + rng.choice(g["time"])
                    + rng.choice(g["tail"]))
            if rng.random() < 0.3:
                text += ". " + rng.choice(g["question"])
        text = style(text, rng, positive=False, group="everyday")
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        r = rng.random()
        split = "train" if r < 0.6 else "dev" if r < 0.8 else "test"
        rows[split].append({"text": text, "labels": [], "group": "everyday", "source": f"chatter:{j:03d}"})

    # Near-duplicates across splits: drop from the later split.
    train_sh = [_shingles(r["text"]) for r in rows["train"]]
    for split, against in (("dev", ["train"]), ("test", ["train", "dev"])):
        ref = train_sh + ([_shingles(r["text"]) for r in rows["dev"]] if "dev" in against else [])
        kept = []
        for row in rows[split]:
            sh = _shingles(row["text"])
            if any(len(sh & o) / len(sh | o) >= NEAR_DUP_JACCARD for o in ref if o):
                dropped[split] += 1
                continue
            kept.append(row)
        rows[split] = kept
    for split in SPLITS:
        rng.shuffle(rows[split])
        for k, row in enumerate(rows[split], 1):
            row["id"] = f"{split}-{k:05d}"
    return rows, dict(dropped)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(HERE))
    args = ap.parse_args(argv)
    rows, dropped = build(args.seed)
    out = Path(args.out)
    for split in SPLITS:
        with (out / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows[split]:
                ordered = {"id": row["id"], "text": row["text"], "labels": row["labels"], "group": row["group"],
                           "source": row["source"]}
                fh.write(json.dumps(ordered, ensure_ascii=False) + "\n")
        cats = Counter(c for r in rows[split] for c in r["labels"])
        neg = sum(1 for r in rows[split] if not r["labels"])
        print(f"{split}: {len(rows[split])} posts, {neg} with no label; per category {dict(sorted(cats.items()))}; "
              f"dropped as near-duplicates of another split: {dropped.get(split, 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
