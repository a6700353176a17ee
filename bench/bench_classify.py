"""Throughput of the detection layer on ~20k synthetic short posts (prints figures; asserts nothing).

Why: the classifier runs inside an Airflow task over every collected post, so its cost per post
decides how large a batch one worker can handle. The target is >= 5,000 short posts/s per core
for the whole layer (rules + model). Everything runs in ONE process and thread (one core); numpy
is pinned to one thread. Timed per mix, in batches of 1,000 posts as the pipeline does:

* normalise only;
* the rules alone (``load_rule_classifier``);
* the whole layer, rules + model (``load_classifier``), which is what the pipeline runs;
* the held-out test split (real-length labelled posts), if present;

and, as the baseline in the same run, a naive keyword list (one word-bounded regex of the
lexicon's plain terms over the lower-cased text, no normalisation, no context), with the ratio
naive / layer: how many times slower than the simplest possible matcher the whole layer is.

Three synthetic mixes, because cost depends on the text: plain ASCII chatter takes the fast
path, emoji/homoglyphs take the per-character path, and dense slang makes many hits (and
context scans and model explanations).

    python bench/bench_classify.py [N]
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # one core
    os.environ.setdefault(var, "1")

from socialhub.classify import load_classifier, load_rule_classifier  # noqa: E402
from socialhub.classify.normalise import normalise  # noqa: E402

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


def rate(fn: Callable[[list[str]], object], posts: list[str], batch: int = 1000) -> float:
    """Posts per second of CPU time of this process (one thread, so: per core).

    CPU time rather than wall-clock so that other jobs on a shared machine do not distort the
    figure; ``main`` prints the wall-clock rate of the whole layer too.
    """
    fn(posts[:200])                                    # warm caches
    t = time.process_time()
    for i in range(0, len(posts), batch):
        fn(posts[i:i + batch])
    return len(posts) / (time.process_time() - t)


def wall_rate(fn: Callable[[list[str]], object], posts: list[str], batch: int = 1000) -> float:
    t = time.perf_counter()
    for i in range(0, len(posts), batch):
        fn(posts[i:i + batch])
    return len(posts) / (time.perf_counter() - t)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    t = time.perf_counter()
    rules = load_rule_classifier()
    t_rules = time.perf_counter() - t
    load_classifier.cache_clear()
    t = time.perf_counter()
    layer = load_classifier()
    t_layer = time.perf_counter() - t
    print(f"rules {rules.version}: loaded and compiled in {t_rules:.2f}s")
    print(f"layer {layer.version}: loaded in {t_layer:.2f}s (model + lexicon)")
    mixes = make_posts(n)
    test = ROOT / "data" / "labelled" / "test.jsonl"
    if test.is_file():
        texts = [json.loads(line)["text"] for line in test.read_text(encoding="utf-8").splitlines() if line.strip()]
        mixes["held-out test split (x repeated)"] = (texts * (n // max(len(texts), 1) + 1))[:n]
    import re

    terms = sorted({e.pattern.lower() for e in rules.lexicon.entries if not e.regex}, key=len, reverse=True)
    naive_rx = re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\b")
    print(f"baseline: a naive keyword list of the lexicon's {len(terms)} plain terms")
    print(f"{'mix':42s} {'n':>6} {'chars':>6} {'normalise':>10} {'rules':>9} {'rules+model':>12} {'(wall)':>8} "
          f"{'labelled':>9} {'naive kw':>9} {'naive/layer':>11}   posts/s per core (CPU time)")
    for name, posts in mixes.items():
        avg = sum(map(len, posts)) / len(posts)
        norm = rate(lambda ps: [normalise(p) for p in ps], posts)
        r = rate(rules.classify_batch, posts)
        full = rate(layer.classify_batch, posts)
        wall = wall_rate(layer.classify_batch, posts)
        labelled = sum(1 for res in layer.classify_batch(posts) if res.labels)
        naive = rate(lambda ps: [naive_rx.search(p.lower()) for p in ps], posts)
        print(f"{name:42s} {len(posts):6d} {avg:6.1f} {norm:10.0f} {r:9.0f} {full:12.0f} {wall:8.0f} "
              f"{labelled / len(posts):9.1%} {naive:9.0f} {naive / full:10.1f}x")


if __name__ == "__main__":
    main()
