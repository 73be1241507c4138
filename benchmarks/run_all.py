"""Run every benchmark in turn (``make bench``); each prints its own table and targets.

Benchmarks are not tests: they measure request counts, ratios to stated bounds and times on this
machine. The exit status is non-zero when a benchmark says it missed its target.

    .venv/bin/python benchmarks/run_all.py [--only crawl,system]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "sim_serve",
    "crawl",
    "system",
    "analysis",
    "consumers",
    "render",
    "hogql_coverage",
    "whatif",
    "scale",
]


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--only", default=",".join(ORDER), help="comma-separated benchmark names")
    args = parser.parse_args()
    failed = []
    for name in args.only.split(","):
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        print(f"--- {name}: exit {code}, {time.perf_counter() - started:.1f} s", flush=True)
        if code != 0:
            failed.append(name)
    print("\nall benchmarks met their targets" if not failed else f"\nmissed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
