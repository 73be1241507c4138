"""How long drawing takes at 100, 500 and 2,000 nodes (connected subgraphs of the real GitLab dbt graph).

    .venv/bin/python benchmarks/render.py [--sizes 100 500 2000] [--graph PATH] [--timeout 600]

Prints one row per size: nodes, edges, seconds to build DOT text (pure Python), to lay out SVG with
Graphviz (the dominant cost), to lay out SVG with the built-in Python layout (used when Graphviz is
missing), to build Mermaid and the full HTML page, and the output sizes. The budget line states the
bound the default node limit (500) is meant to keep: an interactive wait; the Python layout must stay
under it at every size and under the Graphviz time at the largest.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lineage.devdata import real_graphs_dir  # noqa: E402
from lineage.render import to_dot, to_html, to_mermaid, to_svg  # noqa: E402
from lineage.render.graphviz_run import run_dot  # noqa: E402

DEFAULT_GRAPH = real_graphs_dir() / "dbt_gitlab.json"
INTERACTIVE_BUDGET_S = 10.0
STATUSES = ("Completed", "Completed", "Completed", "Failed", "Running", None)


def load(path: Path) -> nx.DiGraph:
    data = json.loads(path.read_text(encoding="utf-8"))
    g = nx.DiGraph(host="https://us.posthog.com", project=1)
    for i, node in enumerate(sorted(data["nodes"], key=lambda n: n["name"])):
        parts = str(node.get("path", "")).split("/")
        folder = parts[1] if len(parts) > 2 and node["kind"] == "view" else None
        attrs: dict[str, object] = {"name": node["name"], "kind": node["kind"], "folder": folder}
        status = STATUSES[i % len(STATUSES)]
        if node["kind"] == "view" and status is not None:
            attrs["jobs"] = {"last_status": status, "runs": 5, "failures": int(status == "Failed")}
        g.add_node(node["name"], **attrs)
    g.add_edges_from((u, v) for u, v in data["edges"])
    return g


def connected_sample(g: nx.DiGraph, size: int) -> nx.DiGraph:
    """The first ``size`` nodes of a breadth-first walk (ignoring direction) from the biggest hub."""
    start = max(sorted(g.nodes), key=lambda n: g.degree(n))
    seen = {start}
    queue = deque([start])
    undirected = g.to_undirected(as_view=True)
    while queue and len(seen) < size:
        for m in sorted(undirected.neighbors(queue.popleft())):
            if m not in seen and len(seen) < size:
                seen.add(m)
                queue.append(m)
    return g.subgraph(seen).copy()


def timed(func: object, *args: object, **kwargs: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = func(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--graph", type=Path, default=DEFAULT_GRAPH)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    full = load(args.graph)
    print(f"graph: {args.graph.name} ({full.number_of_nodes()} nodes, {full.number_of_edges()} edges)")
    header = (
        f"{'nodes':>6} {'edges':>6} {'dot text s':>10} {'layout svg s':>12} {'python svg s':>12} "
        f"{'mermaid s':>9} {'html s':>8} {'svg MB':>7} {'py svg MB':>9}"
    )
    print(header)
    print("-" * len(header))
    missed: list[str] = []
    for size in args.sizes:
        sub = connected_sample(full, size)
        t_dot, dot_text = timed(to_dot, sub, max_nodes=None)
        t_svg, svg = timed(run_dot, dot_text, "svg", timeout=args.timeout)
        t_py, py_svg = timed(to_svg, sub, engine="python", max_nodes=None)
        t_mmd, _ = timed(to_mermaid, sub, max_nodes=None)
        t_html, _ = timed(to_html, sub, max_nodes=None, timeout=args.timeout)
        assert isinstance(svg, bytes) and isinstance(py_svg, str)
        print(
            f"{sub.number_of_nodes():>6} {sub.number_of_edges():>6} {t_dot:>10.3f} {t_svg:>12.2f} "
            f"{t_py:>12.2f} {t_mmd:>9.3f} {t_html:>8.2f} {len(svg) / 1e6:>7.2f} "
            f"{len(py_svg.encode()) / 1e6:>9.2f}"
        )
        sys.stdout.flush()
        if t_py > INTERACTIVE_BUDGET_S:
            missed.append(f"python layout of {size} nodes took {t_py:.1f} s")
        if size == max(args.sizes) and t_py >= t_svg:
            missed.append(
                f"python layout of {size} nodes ({t_py:.1f} s) is not faster than Graphviz ({t_svg:.1f} s)"
            )
    print(f"budget: layout at the default limit (500 nodes) should stay under {INTERACTIVE_BUDGET_S:g} s")
    for line in missed:
        print(f"MISSED: {line}")
    if missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
