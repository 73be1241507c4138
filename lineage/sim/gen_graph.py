"""Reading a graph in the ``shared/data/real_graphs`` format, and finding and breaking its cycles."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import networkx as nx

from lineage.errors import FixtureError

#: Cycle-closing edges that shared/data/real_graphs/README.md names for bigquery_etl (README names
#: them without the GCP project, so they match the end of the full name).
KNOWN_CYCLE_EDGES: Final = (
    ("firefox_ios.firefox_ios_clients", "firefox_ios_derived.clients_activation_v1"),
    (
        "telemetry_derived.clients_histogram_aggregates_v2",
        "telemetry_derived.clients_histogram_aggregates_new_v1",
    ),
)
#: What ``fixture_from_graph`` reads, for error messages.
ACCEPTED: Final = (
    'give a real_graphs graph ({"nodes": [{"name", "kind": "view"|"table"}], "edges": '
    "[[up, down]]}) or a lineage-snapshot/1 file written by `lineage crawl`"
)


def read_graph(graph: Any) -> tuple[dict[str, dict[str, Any]], nx.DiGraph]:
    if not isinstance(graph, Mapping):
        raise FixtureError(f"graph: expected a JSON object, got a JSON {type(graph).__name__}; {ACCEPTED}")
    nodes, edges = graph.get("nodes"), graph.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise FixtureError(f"graph: 'nodes' and 'edges' must both be lists; {ACCEPTED}")
    by_name: dict[str, dict[str, Any]] = {}
    for i, node in enumerate(nodes):
        if not isinstance(node, Mapping) or not isinstance(node.get("name"), str) or not node["name"]:
            raise FixtureError(f"graph: node #{i} has no 'name' string; every node needs one")
        name = node["name"]
        if node.get("kind") not in ("view", "table"):
            raise FixtureError(f"graph: node {name!r} has kind {node.get('kind')!r}; use 'view' or 'table'")
        if name in by_name:
            raise FixtureError(f"graph: node {name!r} appears twice; node names must be unique")
        by_name[name] = dict(node)
    g = nx.DiGraph()
    g.add_nodes_from(by_name)
    for i, edge in enumerate(edges):
        if not (isinstance(edge, Sequence) and not isinstance(edge, str) and len(edge) == 2):
            raise FixtureError(f"graph: edge #{i} is {edge!r}; expected [upstream, downstream]")
        up, down = edge
        for end in (up, down):
            if end not in by_name:
                raise FixtureError(f"graph: edge #{i} {[up, down]!r} names {end!r}, which is not a node")
        g.add_edge(up, down)
    return by_name, g


def graph_cycles(g: nx.DiGraph) -> list[list[str]]:
    """One concrete cycle per non-trivial strongly connected component, sorted."""
    found: list[list[str]] = []
    for comp in nx.strongly_connected_components(g):
        if len(comp) == 1:
            (only,) = comp
            if not g.has_edge(only, only):
                continue
        sub = g.subgraph(comp)
        start = min(comp)
        cycle = [u for u, _ in nx.find_cycle(sub, source=start)]
        pivot = cycle.index(min(cycle))
        found.append(cycle[pivot:] + cycle[:pivot])
    return sorted(found)


def _matches(full: str, short: str) -> bool:
    return full == short or full.endswith("." + short)


def cycle_closing_edges(g: nx.DiGraph) -> list[tuple[str, str, str]]:
    """Edges to drop so that ``g`` becomes a DAG, each with the rule that chose it.

    First the edges shared/data/real_graphs/README.md names; then, for any cycle left, the back edges
    of a depth-first search that visits roots and successors in sorted name order.
    """
    dropped: list[tuple[str, str, str]] = []
    cyclic_nodes = {n for c in graph_cycles(g) for n in c}
    for u, v in sorted(g.edges):
        if (
            u in cyclic_nodes
            and v in cyclic_nodes
            and any(_matches(u, a) and _matches(v, b) for a, b in KNOWN_CYCLE_EDGES)
        ):
            dropped.append((u, v, "named as cycle-closing in real_graphs/README.md"))
    h = g.copy()
    h.remove_edges_from((u, v) for u, v, _ in dropped)
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = finished
    for root in sorted(h.nodes):
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(h.successors(root))))]
        while stack:
            node, succ = stack[-1]
            nxt = next(succ, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                dropped.append((node, nxt, "back edge of a depth-first search in sorted name order"))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(h.successors(nxt)))))
    return dropped
