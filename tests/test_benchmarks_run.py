"""The benchmarks still run: each at a tiny size, end to end (simulator, crawl, commands).

Their numbers are not asserted (a loaded machine is not slow code); what is asserted is that they
finish and print their table, so a change to a helper they share (the simulator launcher of
benchmarks/crawl.py) cannot silently break `make bench`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    # exit 1 says a target was missed (a result); a crash is a traceback and no table
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.stdout


def test_scale_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    out = _bench(
        "benchmarks/scale.py", "--views", "120", "--tables", "12", "--repeat", "1", "--reuse", str(tmp_path)
    )
    for row in ("crawl --all --edges system (cold)", "floor", "impact ROOT --format json", "diff SNAP SNAP"):
        assert row in out
    assert (tmp_path / "snap-120.json").exists()


@pytest.mark.parametrize("bench", ["crawl.py", "system.py"])
def test_crawl_benchmarks_run_on_the_smallest_real_graph(bench: str) -> None:
    args = ["--graphs", "dbt_jaffle_shop", "--latency-ms", "0"]
    if bench == "crawl.py":
        args += ["--repeat", "1", "--no-naive"]
    out = _bench(f"benchmarks/{bench}", *args)
    assert "dbt_jaffle_shop" in out
