"""Time the analyses on a 10,000-view warehouse that 10,000 insights, 1,000 dashboards, 500 alerts,
200 notebooks and 100 endpoints read.

Run: .venv/bin/python benchmarks/consumers.py [--nodes N] [--insights N] [--seed S]
Targets: impact < 1.5 s (from the widest root), check < 10 s (analysis.py allows 5 s for half the
nodes), the folded drawing's scene of the whole graph < 5 s, consumers_frame < 5 s.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from analysis import _time, build

from lineage.analysis import check, impact
from lineage.graph import LineageGraph
from lineage.render.common import build_scene
from lineage.tables import consumers_frame


def add_consumers(g: nx.DiGraph, insights: int, seed: int) -> None:
    """Insights reading 1-2 random views; dashboards of 5 insights; alerts, notebooks, endpoints."""
    rng = random.Random(seed)
    views = sorted(n for n, k in g.nodes(data="kind") if k in ("view", "matview"))
    base = "https://us.posthog.com/project/1"
    ins = []
    for i in range(insights):
        node = f"insight:i{i}"
        g.add_node(
            node, name=f"chart {i}", kind="insight", url=f"{base}/insights/i{i}", owner=f"u{i % 40}@x.io"
        )
        for v in rng.sample(views, k=rng.randint(1, 2)):
            g.add_edge(v, node)
        ins.append(node)
    for d in range(insights // 10):
        node = f"dashboard:{d}"
        g.add_node(node, name=f"board {d}", kind="dashboard", url=f"{base}/dashboard/{d}")
        for i in rng.sample(ins, k=5):
            g.add_edge(i, node)
    for a in range(insights // 20):
        node = f"alert:{a}"
        g.add_node(node, name=f"alert {a}", kind="alert", url=f"{base}/insights/x/alerts?alert_id={a}")
        g.add_edge(rng.choice(ins), node)
    for b in range(insights // 50):
        node = f"notebook:n{b}"
        g.add_node(node, name=f"notebook {b}", kind="notebook", url=f"{base}/notebooks/n{b}")
        g.add_edge(rng.choice(views), node)
        g.add_edge(rng.choice(ins), node)
    for e in range(insights // 100):
        node = f"endpoint:e{e}"
        g.add_node(node, name=f"e{e}", kind="endpoint", url=f"{base}/endpoints/e{e}")
        g.add_edge(rng.choice(views), node)
    g.graph["consumers_not_read"] = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--insights", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    g = build(args.nodes, args.seed)
    add_consumers(g, args.insights, args.seed)
    print(f"graph: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges")
    root = max((n for n in g if g.in_degree(n) == 0), key=lambda n: len(nx.descendants(g, n)))
    rows = []
    t, rep = _time(lambda: impact(g, root))
    rows.append(("impact (widest root)", f"{rep.summary.affected} affected", t, 1.5))
    t, found = _time(lambda: check(g), repeat=1)
    rows.append(("check (all rules)", f"{len(found.findings)} findings", t, 10.0))
    t, scene = _time(lambda: build_scene(g, max_nodes=None), repeat=1)
    folds = sum(1 for sn in scene.nodes if sn.role == "consumers")
    rows.append(("scene, consumers folded", f"{folds} folds", t, 5.0))
    lg = LineageGraph(g)
    t, frame = _time(lambda: consumers_frame(lg), repeat=1)
    rows.append(("consumers_frame", f"{len(frame)} rows", t, 5.0))
    print(f"{'operation':<26} {'result':>20} {'seconds':>9} {'target':>7} {'ratio':>6}")
    missed = False
    for name, what, secs, target in rows:
        print(f"{name:<26} {what:>20} {secs:>9.3f} {target:>7.1f} {secs / target:>6.2f}")
        missed |= secs > target
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
