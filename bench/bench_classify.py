"""Throughput of the rule classifier on ~20k synthetic short posts (prints figures; asserts nothing).

Why: the classifier runs inside an Airflow task over every collected post, in pure Python, so
its cost per post decides how large a batch one worker can handle. Three mixes are timed,
because cost depends on the text: plain ASCII chatter takes the fast path, emoji/homoglyphs
take the per-character path, and dense slang makes many hits (and context scans).

    python bench/bench_classify.py [N]
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from socialhub.classify import load_classifier
from socialhub.classify.normalise import normalise

CHATTER = ("the a and to of i you he she it we they my your lol just going out today tonight tomorrow "
           "with on in at for new good bad love hate music game match pizza food friends family work "
           "school london bus train man bro fam innit mate really cant wait see this that what when "
           "why how weekend party birthday congrats thanks happy sad tired funny").split()
DECOR = ["\U0001F602", "\U0001F525", "\u2764\ufe0f", "\U0001F64F", "\u2019s", "caf\u00e9", "\U0001F44D"]
SLANG = ("shank opps ends bud white knife dm for zoots wet him up bora runners wanted county lines "
         "bando pack landed catch you lacking ting on me \U0001F52A \U0001F52B \U0001F33F \u2744\ufe0f "
         "killed him fortnite 4-0 police said recipe \u0455h\u0430nk 5h4nk shaaaank sh\u200bank k.n.i.f.e").split()


def _post(rng: random.Random, vocab: list[str], lo: int = 5, hi: int = 25) -> str:
    return " ".join(rng.choice(vocab) for _ in range(rng.randint(lo, hi)))


def make_posts(n: int, seed: int = 42) -> dict[str, list[str]]:
    rng = random.Random(seed)
    mixed = []
    for _ in range(n):
        r = rng.random()
        if r < 0.70:                                   # plain chatter
            mixed.append(_post(rng, CHATTER))
        elif r < 0.90:                                 # chatter with emoji / accents
            mixed.append(_post(rng, CHATTER + DECOR))
        else:                                          # slang, evasion, context cues
            mixed.append(_post(rng, CHATTER + SLANG))
    return {
        "mixed (70% plain, 20% emoji, 10% slang)": mixed,
        "plain ASCII chatter": [_post(rng, CHATTER) for _ in range(n)],
        "slang-dense / adversarial": [_post(rng, SLANG + CHATTER[:10]) for _ in range(n)],
    }


def rate(fn: Callable[[list[str]], object], posts: list[str]) -> float:
    fn(posts[:200])                                    # warm caches
    t = time.perf_counter()
    fn(posts)
    return len(posts) / (time.perf_counter() - t)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    t = time.perf_counter()
    clf = load_classifier()
    print(f"classifier {clf.version}: loaded and compiled in {time.perf_counter() - t:.2f}s")
    for name, posts in make_posts(n).items():
        avg = sum(map(len, posts)) / len(posts)
        norm = rate(lambda ps: [normalise(p) for p in ps], posts)
        full = rate(clf.classify_batch, posts)
        labelled = sum(1 for r in clf.classify_batch(posts) if r.labels)
        print(f"{name:42s} n={len(posts):6d} avg {avg:5.1f} chars  "
              f"normalise {norm:8.0f} posts/s  classify {full:7.0f} posts/s  labelled {labelled / len(posts):5.1%}")


if __name__ == "__main__":
    main()
