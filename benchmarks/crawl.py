"""Crawl benchmark: requests against the lower bound, wall time against the latency bound, and a
naive crawler measured in the same run.

For each fixture (made from shared/data/real_graphs by ``fixture_from_graph``) the simulator runs on
loopback with ``--latency-ms`` of injected latency and no server-side throttles; the client's own
limiter is lifted (``max_rpm``) so that the numbers measure the crawl, not PostHog's 480/min.

* lower bound = views + list pages (1,000 per page) + table pages + job pages;
* latency bound = requests x latency / concurrency;
* naive = one ``ancestors(level=1)``, one ``descendants(level=1)`` and one ``dependencies`` per view
  (a level-1 BFS both ways), the obvious crawler.

    .venv/bin/python benchmarks/crawl.py [--graphs dbt_gitlab,dbt_tuva] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from lineage.api import AsyncPostHogClient
from lineage.config import Settings
from lineage.crawl import CrawlOptions, crawl_async
from lineage.devdata import real_graphs_dir
from lineage.sim.generate import fixture_from_graph, graph_of_fixture

REAL = real_graphs_dir()
KEY = "phx_demo_read"


async def naive(settings: Settings, concurrency: int) -> tuple[int, set[tuple[str, str]]]:
    """Level-1 BFS both ways from every view, plus dependencies per view."""
    edges: set[tuple[str, str]] = set()
    async with AsyncPostHogClient(settings, concurrency=concurrency) as client:
        views = await client.list_views()
        sem = asyncio.Semaphore(concurrency)

        async def one(view_id: str) -> None:
            async with sem:
                parents = await client.ancestors(view_id, level=1)
                children = await client.descendants(view_id, level=1)
                await client.dependencies(view_id)
            edges.update((p, view_id) for p in parents)
            edges.update((view_id, c) for c in children)

        await asyncio.gather(*(one(v.id) for v in views))
        return client.stats.snapshot().total_requests, edges


@contextmanager
def simulator(fixture: dict[str, object], tmp: Path, latency_ms: float) -> Iterator[str]:
    """The simulator in its own process (as users run it), so client and server do not share a GIL."""
    path = tmp / "fixture.json"
    path.write_text(json.dumps(fixture))
    cmd = [
        sys.executable,
        "-m",
        "lineage",
        "sim",
        "serve",
        "--fixture",
        str(path),
        "--port",
        "0",
        "--latency-ms",
        str(latency_ms),
        "--no-rate-limit",
        "--era",
        "e2",  # the api-edge crawl measured here needs lineage endpoints that E3 refuses to personal keys
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("Listening on "):
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield line.removeprefix("Listening on ")
    finally:
        proc.terminate()
        proc.wait(10)


def bench(name: str, latency_ms: float, concurrency: int) -> dict[str, object]:
    graph = json.loads((REAL / f"{name}.json").read_text())
    fixture = fixture_from_graph(graph, seed=1, break_cycles=True)
    truth = graph_of_fixture(fixture)
    views = sum(1 for v in fixture["views"] if not v.get("deleted"))
    tables = sum(1 for t in fixture["tables"] if t.get("kind") == "warehouse")
    jobs = len(fixture.get("jobs", []))
    lower = views + math.ceil(views / 1000) + max(1, math.ceil(tables / 100)) + max(1, math.ceil(jobs / 1000))
    with tempfile.TemporaryDirectory() as tmp, simulator(fixture, Path(tmp), latency_ms) as url:
        settings = Settings.resolve(host=url, project="1", api_key=KEY, max_rpm=1_000_000, env={})
        started = time.perf_counter()
        result = asyncio.run(
            # the view crawl against its lower bound: consumers (five more requests) are left out
            crawl_async(
                settings, CrawlOptions(strategy="all", edges="api", concurrency=concurrency, consumers=False)
            )
        )
        wall = time.perf_counter() - started
        throttled = httpx.get(f"{url}/_sim/stats").json()["throttled"]
        started = time.perf_counter()
        naive_requests, naive_edges = asyncio.run(naive(settings, concurrency))
        naive_wall = time.perf_counter() - started
    got = set(result.graph.nx.edges)
    want = {(u, v) for u, v in truth.edges}
    bound_s = result.requests * latency_ms / 1000 / concurrency
    return {
        "graph": name,
        "views": views,
        "requests": result.requests,
        "lower_bound": lower,
        "req_ratio": result.requests / lower,
        "req_limit": 1.02 * lower + 5,
        "wall_s": wall,
        "latency_bound_s": bound_s,
        "time_ratio": wall / bound_s if bound_s else float("nan"),
        "exact": got == want,
        "throttled": throttled,
        "naive_requests": naive_requests,
        "naive_wall_s": naive_wall,
        "naive_exact": naive_edges >= {e for e in want if e[1] in {v["id"] for v in fixture["views"]}},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--graphs", default="dbt_gitlab,dbt_tuva")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    rows = [bench(name, args.latency_ms, args.concurrency) for name in args.graphs.split(",")]
    header = (
        f"{'graph':<12} {'views':>6} {'requests':>8} {'bound':>6} {'ratio':>6} {'wall s':>7} "
        f"{'lat. bound s':>12} {'ratio':>6} {'exact':>5} {'naive req':>9} {'naive s':>8}"
    )
    print(header)
    ok = True
    for r in rows:
        print(
            f"{r['graph']:<12} {r['views']:>6} {r['requests']:>8} {r['lower_bound']:>6} "
            f"{r['req_ratio']:>6.3f} "
            f"{r['wall_s']:>7.2f} {r['latency_bound_s']:>12.2f} {r['time_ratio']:>6.2f} {r['exact']!s:>5} "
            f"{r['naive_requests']:>9} {r['naive_wall_s']:>8.2f}"
        )
        ok &= bool(r["exact"]) and r["requests"] <= r["req_limit"] and r["time_ratio"] <= 1.5  # type: ignore[operator]
        ok &= r["throttled"] == 0
    print(
        "targets: requests <= 1.02 x bound + 5, wall <= 1.5 x latency bound, exact graph:",
        "met" if ok else "MISSED",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
