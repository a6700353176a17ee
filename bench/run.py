"""Run every benchmark in bench/ (``make bench``): each prints its own figures and baseline ratios.

Nothing here asserts on time; figures are for reading and for docs/production.md's table.

    python bench/run.py                 # everything, full sizes (bench_cycle's 10,000 accounts: ~30 min)
    python bench/run.py --quick         # small sizes, a few minutes (same as BENCH_QUICK=1)
    python bench/run.py --only cycle,stages
    python bench/run.py --only scale    # S3 (moto_server) at 200 ms latency under the platforms' rate limits,
                                        # concurrent vs one account at a time (bench_scale.py; full: ~25 min)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the socialhub benchmarks (bench/bench_*.py).")
    ap.add_argument("--quick", action="store_true", help="small inputs (sets BENCH_QUICK=1 for every script)")
    ap.add_argument("--only", default="", help="comma-separated names, e.g. cycle,stages (bench_<name>.py)")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    if args.quick:
        env["BENCH_QUICK"] = "1"
    quick = env.get("BENCH_QUICK", "") not in ("", "0")
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    scripts = sorted(p for p in HERE.glob("bench_*.py")
                     if not wanted or p.stem.removeprefix("bench_") in wanted)
    print(f"socialhub benchmarks ({'quick' if quick else 'full'}): {', '.join(p.name for p in scripts)}; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.monotonic()
        code = subprocess.run([sys.executable, str(script)], env=env, check=False).returncode
        print(f"=== {script.name}: {'ok' if code == 0 else f'exit {code}'} in {time.monotonic() - started:.0f}s",
              flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
