"""How long drawing takes at 100, 500 and 2,000 nodes (connected subgraphs of the real GitLab dbt graph).

    .venv/bin/python benchmarks/render.py [--sizes 100 500 2000] [--graph PATH] [--timeout 600]
        [--skip-explorer]

Prints one row per size: nodes, edges, seconds to build DOT text (pure Python), to lay out SVG with
Graphviz (the dominant cost), to lay out SVG with the built-in Python layout (used when Graphviz is
missing), to build Mermaid and the full HTML page, and the output sizes. The budget line states the
bound the default node limit (500) is meant to keep: an interactive wait; the Python layout must stay
under it at every size and under the Graphviz time at the largest.

Then the explorer: the whole dbt_gitlab workspace (4,099 nodes) as one HTML page must build in under
10 s into under 12 MB, and in headless Chromium (when installed) a focused neighbourhood of about
300 nodes must be laid out and drawn in under a second (the page's own measurement, ``drawMs``).
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

from lineage.devdata import real_graphs_dir, real_lineage_graph  # noqa: E402
from lineage.render import to_dot, to_html, to_mermaid, to_svg  # noqa: E402
from lineage.render.graphviz_run import run_dot  # noqa: E402

DEFAULT_GRAPH = real_graphs_dir() / "dbt_gitlab.json"
INTERACTIVE_BUDGET_S = 10.0
EXPLORER_BUILD_BUDGET_S = 10.0
EXPLORER_MAX_BYTES = 12_000_000
EXPLORER_DRAW_BUDGET_MS = 1000
EXPLORER_DRAW_NODES = 300
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
    parser.add_argument("--skip-explorer", action="store_true", help="only the static formats")
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
    if not args.skip_explorer:
        missed += explorer()
    for line in missed:
        print(f"MISSED: {line}")
    if missed:
        sys.exit(1)


def big_neighbourhood(g: nx.DiGraph, target: int) -> tuple[str, int, int, int]:
    """A (node, up, down) whose focus draws close to ``target`` nodes, without going over it."""
    best: tuple[str, int, int, int] = ("", 0, 0, 0)
    for node in sorted(g.nodes, key=lambda n: -g.degree(n))[:40]:
        for up in range(4):
            for down in range(4):
                above = nx.single_source_shortest_path_length(g.reverse(copy=False), node, cutoff=up)
                below = nx.single_source_shortest_path_length(g, node, cutoff=down)
                size = len(set(above) | set(below))
                if best[3] < size <= target:
                    best = (node, up, down, size)
    return best


def explorer() -> list[str]:
    """The whole workspace as one page, and one big neighbourhood drawn in headless Chromium."""
    import html
    import re
    import shutil
    import subprocess
    import tempfile
    from urllib.parse import quote

    missed: list[str] = []
    graph = real_lineage_graph("dbt_gitlab")
    t_html, page = timed(to_html, graph)
    assert isinstance(page, str)
    size = len(page.encode("utf-8"))
    print(
        f"explorer: whole dbt_gitlab ({len(graph)} nodes) -> html in {t_html:.2f} s, {size / 1e6:.2f} MB "
        f"(budget {EXPLORER_BUILD_BUDGET_S:g} s, {EXPLORER_MAX_BYTES / 1e6:g} MB)"
    )
    if t_html > EXPLORER_BUILD_BUDGET_S:
        missed.append(f"explorer page took {t_html:.1f} s")
    if size > EXPLORER_MAX_BYTES:
        missed.append(f"explorer page is {size / 1e6:.1f} MB")
    exe = shutil.which("chromium")
    if exe is None:
        print("explorer: chromium not installed, in-browser drawing time not measured")
        return missed
    node, up, down, count = big_neighbourhood(graph.nx, EXPLORER_DRAW_NODES)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gitlab.html"
        path.write_text(page, encoding="utf-8")
        url = f"{path.as_uri()}#focus={quote(node, safe='')}&up={up}&down={down}"
        cmd = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp}/profile",
            "--proxy-server=http://127.0.0.1:9", "--window-size=1280,800", "--dump-dom", url,
        ]  # fmt: skip
        started = time.perf_counter()
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
        wall = time.perf_counter() - started
    found = re.search(r'<pre id="lineage-test">(.*?)</pre>', dom, re.S)
    state = json.loads(html.unescape(found.group(1))) if found else {}
    draw_ms = state.get("drawMs", 10**9)
    print(
        f"explorer: focus {graph.name_of(node)} up {up} down {down}: {len(state.get('drawn', []))} nodes "
        f"(+ {state.get('boxes', 0) - len(state.get('drawn', []))} stubs) drawn in {draw_ms} ms "
        f"(budget {EXPLORER_DRAW_BUDGET_MS} ms); chromium start to DOM dump {wall:.1f} s"
    )
    if len(state.get("drawn", [])) != count:
        missed.append(f"explorer drew {len(state.get('drawn', []))} nodes, expected {count}")
    if draw_ms > EXPLORER_DRAW_BUDGET_MS:
        missed.append(f"explorer drew {count} nodes in {draw_ms} ms")
    return missed


if __name__ == "__main__":
    main()
