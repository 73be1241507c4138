"""Simulator throughput and latency over loopback on the dbt_gitlab fixture (~3000 views).

Prints requests/s for ``ancestors`` level=1, median/p95 latency of ``ancestors`` and ``descendants``
at levels 1, 3 and all (target: median < 50 ms), and peak RSS.

    .venv/bin/python benchmarks/sim_serve.py [--graph PATH] [--requests N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from lineage.devdata import real_graphs_dir
from lineage.sim.generate import fixture_from_graph
from lineage.sim.server import serve_in_thread

DEFAULT_GRAPH = real_graphs_dir() / "dbt_gitlab.json"
TARGET_MS = 50.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--graph", type=Path, default=DEFAULT_GRAPH)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    graph = json.loads(args.graph.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    fixture = fixture_from_graph(graph, seed=args.seed, break_cycles=True)
    t_fixture = time.perf_counter() - t0
    key = fixture["api_keys"][0]["key"]
    view_ids = [v["id"] for v in fixture["views"]]
    print(
        f"fixture: {len(fixture['views'])} views, {len(fixture.get('tables', []))} tables"
        f" in {t_fixture:.1f} s"
    )

    t0 = time.perf_counter()
    with serve_in_thread(fixture, era="e2", rate_limit=False) as server:
        print(f"server ready in {time.perf_counter() - t0:.2f} s at {server.url}")
        headers = {"Authorization": f"Bearer {key}"}
        base = f"{server.url}/api/projects/@current/warehouse_saved_queries"
        rng = random.Random(args.seed)
        with httpx.Client(headers=headers, timeout=30) as client:
            # warm up connection and caches
            for view_id in view_ids[:20]:
                client.post(f"{base}/{view_id}/ancestors/", json={"level": 1}).raise_for_status()

            picks = [rng.choice(view_ids) for _ in range(args.requests)]
            for label in ("first pass", "second pass"):
                start = time.perf_counter()
                for view_id in picks:
                    client.post(f"{base}/{view_id}/ancestors/", json={"level": 1}).raise_for_status()
                elapsed = time.perf_counter() - start
                print(f"ancestors level=1, {label}: {args.requests / elapsed:,.0f} requests/s (one client)")

            worst = 0.0
            for direction in ("ancestors", "descendants"):
                for level in (1, 3, None):
                    body: dict[str, Any] = {} if level is None else {"level": level}
                    samples = []
                    for view_id in [rng.choice(view_ids) for _ in range(200)]:
                        t = time.perf_counter()
                        client.post(f"{base}/{view_id}/{direction}/", json=body).raise_for_status()
                        samples.append((time.perf_counter() - t) * 1000)
                    samples.sort()
                    median = statistics.median(samples)
                    worst = max(worst, median)
                    p95 = samples[int(len(samples) * 0.95) - 1]
                    label = "all" if level is None else str(level)
                    print(
                        f"{direction:<11} level={label:<3} median {median:6.2f} ms  p95 {p95:6.2f} ms  "
                        f"max {samples[-1]:7.2f} ms  (median/target {median / TARGET_MS:.2f})"
                    )
        stats = server.stats()
    print(f"requests served: {stats['total']}")
    print(f"peak RSS: {_peak_rss_mb():.0f} MB (this process: fixture + warehouse + server + client)")
    ok = worst < TARGET_MS
    print(f"worst median {worst:.2f} ms vs target {TARGET_MS:.0f} ms: {'OK' if ok else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
