"""Time impact() and check() on a 10,000-node random DAG with realistic attributes.

Run: .venv/bin/python benchmarks/analysis.py [--nodes N] [--seed S]
Targets: impact < 1 s (from a root, the widest blast radius), check < 5 s.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

import networkx as nx

from lineage.analysis import check, column_impact, impact

FREQS = [None, "5min", "1hour", "6hour", "24hour", "7day"]


def _time(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    g = build(args.nodes, args.seed)
    print(
        f"graph: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges, "
        f"built in {time.perf_counter() - start:.2f} s"
    )
    root = max((n for n in g if g.in_degree(n) == 0), key=lambda n: len(nx.descendants(g, n)))
    rows = []
    t, rep = _time(lambda: impact(g, root))
    rows.append(("impact (widest root)", f"{rep.summary.affected} affected", t, 1.0))
    t, rep = _time(lambda: check(g))
    rows.append(("check (all rules)", f"{len(rep.findings)} findings", t, 5.0))
    mid = sorted(g)[len(g) // 2]
    t, rep = _time(lambda: column_impact(g, mid, "a"), repeat=1)
    rows.append(("column_impact (a middle view)", f"{len(rep.derived)} derived", t, float("nan")))
    print(f"{'operation':<30} {'result':>20} {'seconds':>9} {'target':>7} {'ratio':>6}")
    for name, what, secs, target in rows:
        ratio = f"{secs / target:.2f}" if target == target else "-"
        tgt = f"{target:.1f}" if target == target else "-"
        print(f"{name:<30} {what:>20} {secs:>9.3f} {tgt:>7} {ratio:>6}")


def build(n: int, seed: int) -> nx.DiGraph:
    """A random DAG: each view reads 1-3 of the 400 nodes before it; 40% materialized, 5% failing."""
    rng = random.Random(seed)
    g = nx.DiGraph(host="https://us.posthog.com", project=1, crawled_at="2026-11-26T00:00:00Z")
    tables = max(10, n // 50)
    ids: list[str] = []
    names: list[str] = []
    for i in range(n):
        if i < tables:
            nid, name = f"table_{i}", f"table_{i}"
            g.add_node(nid, name=name, kind="table")
        else:
            nid, name = f"{i:08d}-0000-4000-8000-000000000000", f"view_{i}"
            mat = rng.random() < 0.4
            failing = rng.random() < 0.05
            parents = rng.sample(range(max(0, i - 400), i), k=min(i, rng.randint(1, 3)))
            from_clause = " JOIN ".join(
                f"{names[p]} AS p{k} ON p0.a = p{k}.a" if k else f"{names[p]} AS p0"
                for k, p in enumerate(parents)
            )
            g.add_node(
                nid,
                name=name,
                kind="matview" if mat else "view",
                is_materialized=mat,
                sync_frequency=rng.choice(FREQS) if mat else None,
                status="Failed" if failing else "Completed",
                latest_error="Code: 47" if failing else None,
                folder=f"folder_{i % 20}",
                created_by={"email": f"user{i % 30}@example.com"},
                sql=f"SELECT p0.a AS a, p0.b AS b FROM {from_clause} WHERE p0.a > 0",  # noqa: S608 - synthetic
                jobs={
                    "runs": 10,
                    "failures": 3 if failing else 0,
                    "last_status": "Failed" if failing else "Completed",
                    "failure_streak": 3 if failing else 0,
                    "last_success_at": f"2026-11-2{rng.randint(0, 5)}T00:00:00Z",
                    "median_duration_s": round(rng.uniform(1, 600), 1),
                    "rows_last": rng.randint(0, 10**6),
                },
            )
            for p in parents:
                g.add_edge(ids[p], nid)
        ids.append(nid)
        names.append(name)
    return g


if __name__ == "__main__":
    main()
