"""``LineageGraph``: the lineage DAG over ``networkx.DiGraph``, and the snapshot file it lives in.

Edges point from upstream to downstream. A node's id is the id the PostHog API uses (the dashed
UUID of a saved query or warehouse table, the name of a PostHog table); its attributes follow the
``lineage-snapshot/1`` format (:data:`SNAPSHOT_FORMAT`; the JSON :meth:`LineageGraph.to_json` writes).

>>> g = LineageGraph(host="https://us.posthog.com", project="1")
>>> g.add_node("events", name="events", kind="table", table_kind="posthog")
>>> g.add_node("0190-...", name="orders_daily", kind="matview", is_materialized=True)
>>> g.add_edge("events", "0190-...")
>>> g.downstream("events")
{'0190-...': 1}
"""

from __future__ import annotations

import difflib
import gc
import html
import json
import math
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

import networkx as nx

from lineage.errors import InputError, LineageError, RenderError, SelectorError, SnapshotError
from lineage.fastjson import dumps_indented_utf8, dumps_items, dumps_list
from lineage.io import csv_cell, csv_columns_text, read_json, write_atomic
from lineage.posthog import CONSUMER_KINDS

__all__ = ["CONSUMER_KINDS", "KINDS", "NODE_KINDS", "SNAPSHOT_FORMAT", "LineageGraph", "load"]

SNAPSHOT_FORMAT = "lineage-snapshot/1"
# Consumers read views from outside the warehouse: insights, dashboards, notebooks, endpoints, alerts.
KINDS = ("view", "matview", "table", "unknown")
NODE_KINDS = (*KINDS, *CONSUMER_KINDS)  # every kind a node may have

#: Set by the command line (a short-lived process): after a snapshot is loaded, every object is moved
#: out of the cyclic collector's sight (``gc.freeze``), so that its passes do not traverse the
#: snapshot again and again. Off in the library, where a long-lived process may drop graphs.
FREEZE_AFTER_LOAD = False

_FORMAT_RE = re.compile(r"lineage-snapshot/(\d+)")
# Keys written first, in this order, so snapshots read well and diff cleanly; the rest sorted.
_GRAPH_KEY_ORDER = ("format", "host", "project", "crawled_at", "strategy", "requests", "seconds")
_NODE_KEY_ORDER = ("id", "name", "kind")
_CSV_NODE_COLUMNS = (
    "id",
    "name",
    "kind",
    "table_kind",
    "status",
    "is_materialized",
    "sync_frequency",
    "folder",
    "last_run_at",
    "latest_error",
    "upstream_count",
    "downstream_count",
)


class LineageGraph:
    """The lineage DAG: nodes are views and tables, edges run upstream → downstream.

    ``.nx`` is the underlying ``networkx.DiGraph``; graph attributes (``host``, ``project``,
    ``crawled_at``...) live in ``.nx.graph``.
    """

    def __init__(self, graph: nx.DiGraph | None = None, **graph_attrs: Any) -> None:
        self.nx: nx.DiGraph = graph if graph is not None else nx.DiGraph()
        # No format key is added here: wrapping a graph must not change it; save() writes the format.
        self.nx.graph.update(graph_attrs)

    # -- building -------------------------------------------------------------------------------

    def add_node(
        self, node_id: str, *, name: str | None = None, kind: str | None = None, **attrs: Any
    ) -> None:
        """Add a node, or update the attributes of an existing one.

        ``name`` defaults to the id and ``kind`` to ``"unknown"`` for a new node.
        """
        if not isinstance(node_id, str) or not node_id:
            raise InputError(f"node id must be a non-empty string, got {node_id!r}")
        if kind is not None and kind not in NODE_KINDS:
            raise InputError(f"node {node_id!r}: kind {kind!r} is not one of {', '.join(NODE_KINDS)}")
        existing = self.nx.nodes[node_id] if node_id in self.nx else None
        values: dict[str, Any] = dict(attrs)
        if name is not None:
            values["name"] = name
        elif existing is None:
            values["name"] = node_id
        if kind is not None:
            values["kind"] = kind
        elif existing is None:
            values["kind"] = "unknown"
        self.nx.add_node(node_id, **values)

    def add_edge(self, upstream: str, downstream: str, **attrs: Any) -> None:
        """Add an edge upstream → downstream; an endpoint not yet known is added as ``unknown``."""
        for end in (upstream, downstream):
            if end not in self.nx:
                self.add_node(end)
        self.nx.add_edge(upstream, downstream, **attrs)

    # -- reading --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.nx.number_of_nodes())

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nx

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes())

    def __repr__(self) -> str:
        return f"<LineageGraph {len(self)} nodes, {self.nx.number_of_edges()} edges>"

    @property
    def attrs(self) -> dict[str, Any]:
        """The graph attributes (``format``, ``host``, ``project``, ``crawled_at``...)."""
        return self.nx.graph  # type: ignore[no-any-return]

    def nodes(self) -> list[str]:
        """Every node id, sorted."""
        return sorted(self.nx.nodes)

    def edges(self) -> list[tuple[str, str]]:
        """Every edge (upstream, downstream), sorted."""
        return sorted(self.nx.edges)

    def node(self, node_id: str) -> dict[str, Any]:
        """The attribute dict of a node (the live one: changes show in the graph)."""
        if node_id not in self.nx:
            raise InputError(f"no node with id {node_id!r} in the graph")
        return self.nx.nodes[node_id]  # type: ignore[no-any-return]

    def name_of(self, node_id: str) -> str:
        """A node's name, falling back to its id."""
        return str(self.nx.nodes[node_id].get("name") or node_id)

    def names(self) -> dict[str, list[str]]:
        """Name → sorted ids carrying that name (a deleted view may share a name with its successor)."""
        # Built on each call (about 1 ms per 4,000 nodes): a cache would go stale when callers edit
        # node attributes through .nx or node().
        index: dict[str, list[str]] = {}
        for node_id, data in self.nx.nodes(data=True):
            index.setdefault(str(data.get("name") or node_id), []).append(node_id)
        # A sourced warehouse table is also named by what SQL calls it (``hubspot.contacts``).
        for node_id, data in self.nx.nodes(data=True):
            alias = data.get("hogql_name")
            if isinstance(alias, str) and alias and alias not in index:
                index[alias] = [node_id]
        for ids in index.values():
            ids.sort()
        return index

    def lookup(self, name_or_id: str) -> list[str]:
        """Ids that ``name_or_id`` names: the node with that id, else every node with that name."""
        if name_or_id in self.nx:
            return [name_or_id]
        # UUIDs are case-insensitive; the API writes them lower-case.
        lowered = name_or_id.lower()
        if lowered != name_or_id and lowered in self.nx:
            return [lowered]
        ids = list(self.names().get(name_or_id, []))
        # An insight or dashboard is often named after the view it shows: a name means the view.
        views = [i for i in ids if not self.is_consumer(i)]
        return views if views else ids

    def suggest(self, text: str, *, limit: int = 3) -> list[str]:
        """Names close to ``text``, best first (for "did you mean" hints)."""
        return difflib.get_close_matches(text, sorted(self.names()), n=limit, cutoff=0.6)

    def resolve(self, name_or_id: str) -> str:
        """The id of the node named ``name_or_id`` (a name or an id); unknown or ambiguous → SelectorError."""
        ids = self.lookup(name_or_id)
        if len(ids) == 1:
            return ids[0]
        if ids:
            raise SelectorError(
                f"name {name_or_id!r} is ambiguous: it names {len(ids)} nodes ({', '.join(ids)}); "
                "use one of these ids instead"
            )
        raise SelectorError(f"unknown view or table {name_or_id!r}; {hint(self.suggest(name_or_id))}")

    def upstream(self, node_id: str, depth: int | None = None) -> dict[str, int]:
        """Ancestors of a node (name or id) → fewest hops, up to ``depth``; the node itself excluded."""
        start = self.resolve(node_id)
        found = bfs(self.nx.predecessors, [start], depth)
        del found[start]
        return found

    def downstream(self, node_id: str, depth: int | None = None) -> dict[str, int]:
        """Descendants of a node (name or id) → fewest hops, up to ``depth``; the node itself excluded."""
        start = self.resolve(node_id)
        found = bfs(self.nx.successors, [start], depth)
        del found[start]
        return found

    def subgraph(self, ids: Iterable[str]) -> LineageGraph:
        """A new graph of these nodes and the edges between them (attributes copied)."""
        keep = [i for i in ids if i in self.nx]
        return LineageGraph(self.nx.subgraph(keep).copy())

    def roots(self) -> list[str]:
        """Nodes with no upstream, sorted."""
        return sorted(n for n, d in self.nx.in_degree() if d == 0)

    def leaves(self) -> list[str]:
        """Nodes with no downstream, sorted."""
        return sorted(n for n, d in self.nx.out_degree() if d == 0)

    def topological_order(self) -> list[str]:
        """Every id, upstream before downstream, ties broken by id; a cycle is an InputError naming it."""
        try:
            return list(nx.lexicographical_topological_sort(self.nx))
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(self.nx)
            names = [self.name_of(u) for u, _ in cycle] + [self.name_of(cycle[0][0])]
            raise InputError(
                f"the lineage graph has a cycle ({' -> '.join(names)}), so it has no upstream-first "
                "order; break the cycle in one of these views"
            ) from None

    # -- consumers (insights, dashboards, notebooks, endpoints, alerts) ----------------------------

    def is_consumer(self, node_id: str) -> bool:
        """True when the node is an insight, dashboard, notebook, endpoint or alert."""
        return node_id in self.nx and self.nx.nodes[node_id].get("kind") in CONSUMER_KINDS

    def consumers_of(self, view: str) -> dict[str, int]:
        """Every consumer downstream of ``view`` (name or id), directly or through views -> fewest hops
        (deleted consumers read nothing and are left out)."""
        from lineage.consumer_nodes import consumers_of

        return dict(consumers_of(self.nx, self.resolve(view)))

    @property
    def consumers_not_read(self) -> list[str] | None:
        """Consumer kinds the crawl could not read (``[]``: all read; None: an older snapshot that
        did not crawl consumers, so nothing is known about them)."""
        from lineage.consumer_nodes import consumers_not_read

        return consumers_not_read(self.nx)

    # -- snapshot files -------------------------------------------------------------------------

    def to_json_data(self) -> dict[str, Any]:
        """The snapshot as a JSON-ready dict: sorted nodes and edges, stable key order."""
        nodes = self.nodes()
        return {
            "directed": True,
            "multigraph": False,
            "graph": self._graph_record(),
            "nodes": self._node_records(nodes),
            "edges": self._edge_records(nodes),
        }

    def _graph_record(self) -> dict[str, Any]:
        graph_attrs = dict(self.nx.graph)
        graph_attrs["format"] = SNAPSHOT_FORMAT
        return _ordered(graph_attrs, _GRAPH_KEY_ORDER)

    def _node_records(self, nodes: list[str]) -> list[dict[str, Any]]:
        node_map = self.nx._node
        return [_node_record(n, node_map[n]) for n in nodes]

    def _edge_records(self, nodes: list[str]) -> list[dict[str, Any]]:
        """The edges out of ``nodes`` in the order of self.edges(): by upstream, then downstream."""
        succ = self.nx._succ
        edges = []
        for u in nodes:
            out = succ[u]
            for v in sorted(out):
                attrs = out[v]
                if attrs:
                    attrs = {k: val for k, val in attrs.items() if k not in ("source", "target")}
                    edges.append({"source": u, "target": v, **_ordered(attrs, ())})
                else:  # most edges: no attributes
                    edges.append({"source": u, "target": v})
        return edges

    def to_json(self) -> str:
        """The snapshot file's text."""
        return b"".join(self._snapshot_chunks()).decode("utf-8")

    def save(self, path: str | Path) -> Path:
        """Write the snapshot atomically (a crash mid-write leaves any old file whole)."""
        return write_atomic(path, self._snapshot_chunks())

    def _snapshot_chunks(self) -> Iterator[bytes]:
        """The file's text as UTF-8, a few hundred nodes (or edges) at a time: a 20,000-view
        snapshot's records, its text and that text re-indented would otherwise all stand in memory
        at once (150 MB beside the graph). The bytes are ``json.dumps(self.to_json_data(), indent=1,
        ensure_ascii=False, allow_nan=False) + "\n"``'s."""
        try:
            # _canonical made every non-finite float None, so orjson may write it (same bytes as json).
            head = {"directed": True, "multigraph": False, "graph": self._graph_record()}
            text = dumps_indented_utf8(head, indent=1, allow_nan=False, finite=True)
            text = text if isinstance(text, bytes) else text.encode("utf-8")
            yield text[:-2]  # the closing b"\n}"
            nodes = self.nodes()
            for key, records in (("nodes", self._node_records), ("edges", self._edge_records)):
                yield f',\n "{key}": ['.encode()
                if not nodes or (key == "edges" and not self.nx.number_of_edges()):
                    yield b"]"
                    continue
                first = True
                for at in range(0, len(nodes), _WRITE_BATCH):
                    batch = records(nodes[at : at + _WRITE_BATCH])
                    if batch:
                        yield (b"" if first else b",") + dumps_items(batch, depth=1)
                        first = False
                yield b"\n ]"
            yield b"\n}\n"
        except (TypeError, ValueError) as exc:
            raise InputError(f"the graph holds a value a snapshot cannot store: {exc}") from None

    @classmethod
    def from_json_data(cls, data: Any, *, source: str = "snapshot", adopt: bool = False) -> LineageGraph:
        """Build a graph from parsed snapshot JSON; refuses other and newer formats (SnapshotError).

        ``adopt=True`` lets the graph take the node and edge dicts of ``data`` as its attribute dicts
        (``data`` is changed): what :meth:`load` does with the JSON it parsed and nobody else holds.
        """
        _check_format(data, source)
        graph = nx.DiGraph()
        graph.graph.update(data.get("graph") or {})
        # The node, successor and predecessor dicts are filled directly, as DiGraph.add_node and
        # add_edge fill them (a duplicate id or edge updates the attributes of the first): at 20,000
        # views the per-call overhead of those methods is a third of the load.
        node_map, succ, pred = graph._node, graph._succ, graph._pred
        kinds = frozenset(NODE_KINDS)
        for record in data["nodes"]:
            node_id = record.get("id") if isinstance(record, dict) else None
            if not isinstance(node_id, str) or not node_id:
                raise SnapshotError(
                    f"{source} has a node without a string id ({_short(record)}); "
                    "the file is damaged: crawl again"
                )
            attrs = record if adopt else dict(record)
            del attrs["id"]
            if "name" not in attrs:
                attrs["name"] = node_id
            kind = attrs.setdefault("kind", "unknown")
            if not isinstance(kind, str) or kind not in kinds:
                raise SnapshotError(
                    f"{source}: node {node_id!r} has kind {kind!r}, not one of {', '.join(NODE_KINDS)}"
                )
            if node_id in node_map:
                node_map[node_id].update(attrs)
            else:
                succ[node_id] = {}
                pred[node_id] = {}
                node_map[node_id] = attrs
        for record in data["edges"]:
            if not isinstance(record, dict) or "source" not in record or "target" not in record:
                raise SnapshotError(
                    f"{source} has an edge without source and target ({_short(record)}); crawl again"
                )
            u, v = record["source"], record["target"]
            if not (isinstance(u, str) and u in node_map and isinstance(v, str) and v in node_map):
                raise SnapshotError(
                    f"{source} has an edge {u!r} -> {v!r} to a node that is not in the file; crawl again"
                )
            attrs = record if adopt else dict(record)
            del attrs["source"], attrs["target"]
            existing = succ[u].get(v)
            if existing is not None:
                existing.update(attrs)
            else:
                succ[u][v] = pred[v][u] = attrs
        return cls(graph)

    @classmethod
    def load(cls, path: str | Path, *, low_memory: bool = False) -> LineageGraph:
        """Read a ``lineage-snapshot/1`` file; anything else is a SnapshotError saying what to do.

        ``low_memory=True`` parses with the standard library's json: slower, but its peak is about
        100 MB lower at 20,000 views (see :func:`lineage.io.read_json`).
        """
        source = f"snapshot {str(path)!r}"
        # The cyclic garbage collector would otherwise run full passes over the growing heap while
        # a snapshot of 20,000 views (two million objects, none of them garbage) is built, and again
        # over the new objects once it is back on: a third of `lineage impact`'s time. Reference
        # counting still frees what it always freed.
        collecting = gc.isenabled()
        if collecting and FREEZE_AFTER_LOAD:
            gc.collect()  # what is garbage now is not frozen below
        gc.disable()
        try:
            data = read_json(
                path,
                what=source,
                missing_hint="run 'lineage crawl' to make one, or pass --snapshot PATH",
                invalid_hint="run 'lineage crawl' again",
                error=SnapshotError,
                low_memory=low_memory,
            )
            graph = cls.from_json_data(data, source=source, adopt=True)
            if FREEZE_AFTER_LOAD:
                gc.freeze()
            return graph
        finally:
            if collecting:
                gc.enable()

    # -- other file formats ---------------------------------------------------------------------

    def to_graphml(self, path: str | Path) -> Path:
        """Write GraphML (for Gephi, yEd...); nested attributes become ``jobs.runs``, lists JSON text."""
        flat = nx.DiGraph()
        flat.graph.update(_unify([_flatten(self.nx.graph)])[0])
        nodes = self.nodes()
        for node_id, row in zip(nodes, _unify([_flatten(self.nx.nodes[n]) for n in nodes]), strict=True):
            flat.add_node(node_id, **row)
        edges = self.edges()
        for (u, v), row in zip(edges, _unify([_flatten(self.nx.edges[e]) for e in edges]), strict=True):
            flat.add_edge(u, v, **row)
        text = "\n".join(nx.generate_graphml(flat)) + "\n"
        return write_atomic(path, text)

    def to_csv(self, nodes_path: str | Path, edges_path: str | Path) -> tuple[Path, Path]:
        """Write a nodes CSV and an edges CSV (cells defused against spreadsheet formula injection)."""
        nodes = self.nodes()
        node_map, succ = self.nx._node, self.nx._succ
        header, columns = _node_cells(nodes, node_map)
        nodes_text = csv_columns_text(header, columns)
        # Each node's id and name defused once, not once per edge (50,000 edges at 20,000 views).
        ids = dict(zip(nodes, _scalar_cells(nodes), strict=True))
        names = {n: csv_cell(str(node_map[n].get("name") or n)) for n in nodes}  # name_of(n)
        # the order of self.edges(): by upstream, then downstream
        ups = [u for u in nodes for _ in succ[u]]
        downs = [v for u in nodes for v in sorted(succ[u])]
        edges_text = csv_columns_text(
            ("source", "target", "source_name", "target_name"),
            [
                list(map(ids.__getitem__, ups)),
                list(map(ids.__getitem__, downs)),
                list(map(names.__getitem__, ups)),
                list(map(names.__getitem__, downs)),
            ],
        )
        return write_atomic(nodes_path, nodes_text), write_atomic(edges_path, edges_text)

    # -- notebooks ------------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        kinds: dict[str, int] = {}
        for _, kind in self.nx.nodes(data="kind"):
            kinds[str(kind)] = kinds.get(str(kind), 0) + 1
        rows = [
            ("nodes", str(len(self))),
            ("edges", str(self.nx.number_of_edges())),
            *((f"kind: {k}", str(kinds[k])) for k in sorted(kinds)),
            *(
                (key, str(self.nx.graph[key]))
                for key in ("host", "project", "crawled_at", "strategy")
                if self.nx.graph.get(key) is not None
            ),
        ]
        body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<table><caption>LineageGraph</caption>{body}</table>"

    def _repr_svg_(self) -> str | None:
        try:
            from lineage.render import to_svg  # type: ignore[attr-defined,unused-ignore]

            return str(to_svg(self))
        except (ImportError, RenderError):
            return None


def as_digraph(graph: Any, *, error: type[LineageError] = InputError, doing: str = "use") -> nx.DiGraph:
    """The ``nx.DiGraph`` behind a ``LineageGraph`` (its ``.nx``), or a bare ``nx.DiGraph`` itself.

    Anything else raises ``error`` ("cannot <doing> a <type>: pass a LineageGraph or ..."). A multigraph
    is refused only for drawing (``doing="draw"``), where parallel edges have no picture.
    """
    inner = getattr(graph, "nx", graph)
    if isinstance(inner, nx.DiGraph) and not (doing == "draw" and inner.is_multigraph()):
        return inner
    raise error(
        f"cannot {doing} a {type(graph).__name__}: pass a LineageGraph or a networkx.DiGraph "
        "(load a snapshot with lineage.graph.load(path))"
    )


def load(path: str | Path) -> LineageGraph:
    """Read a snapshot file (``lineage-snapshot/1``) into a LineageGraph."""
    return LineageGraph.load(path)


def bfs(
    neighbours: Callable[[str], Iterable[str]], starts: Iterable[str], depth: int | None
) -> dict[str, int]:
    """Multi-source breadth-first search: node → fewest hops from any start (starts at 0)."""
    found = {s: 0 for s in starts}
    queue = deque(found)
    while queue:
        node = queue.popleft()
        hops = found[node]
        if depth is not None and hops >= depth:
            continue
        for nxt in neighbours(node):
            if nxt not in found:
                found[nxt] = hops + 1
                queue.append(nxt)
    return found


def hint(suggestions: list[str]) -> str:
    """The "what to do" tail of an unknown-name message."""
    if suggestions:
        return "did you mean " + ", ".join(repr(s) for s in suggestions) + "?"
    return "run \"lineage ls --select '*'\" to list the names in the snapshot"


def _check_format(data: Any, source: str) -> None:
    if not isinstance(data, dict):
        raise SnapshotError(
            f"{source} is not a lineage snapshot (a JSON {type(data).__name__}, not an object); "
            "pass a file written by 'lineage crawl'"
        )
    graph = data.get("graph")
    found = graph.get("format") if isinstance(graph, dict) else None
    if found != SNAPSHOT_FORMAT:
        match = _FORMAT_RE.fullmatch(found) if isinstance(found, str) else None
        if match and int(match.group(1)) > 1:
            raise SnapshotError(
                f"{source} has format {found!r}, newer than this lineage reads ({SNAPSHOT_FORMAT!r}); "
                "upgrade lineage, or crawl again with this version"
            )
        what = f"has format {found!r}" if found is not None else "has no graph.format marker"
        raise SnapshotError(
            f"{source} {what}, not {SNAPSHOT_FORMAT!r}; pass a snapshot written by 'lineage crawl'"
        )
    if data.get("directed") is not True or data.get("multigraph", False) is not False:
        raise SnapshotError(f"{source} must be a directed, non-multi graph; crawl again")
    for key in ("nodes", "edges"):
        if not isinstance(data.get(key), list):
            raise SnapshotError(f"{source} has no {key!r} list; the file is damaged: crawl again")


#: The types :func:`_canonical` returns as they are, tested without a call (a crawl's snapshot holds
#: a few million values, most of them in each view's job history).
_PLAIN: Final = frozenset({str, int, bool, type(None)})


def _canonical(value: Any) -> Any:
    """JSON-ready, deterministic: dict keys sorted, sets sorted, dates ISO, non-finite floats None."""
    kind = type(value)
    if kind in _PLAIN:  # most values: nothing to do
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        keys = tuple(value)
        if not set(map(type, keys)) - _STR_KEYS:  # string keys: sorted once per layout
            order = _sorted_keys(keys)
            values = list(map(value.__getitem__, order))
            if set(map(type, values)) <= _PLAIN:
                return dict(zip(order, values, strict=True))
            return dict(zip(order, [v if type(v) in _PLAIN else _canonical(v) for v in values], strict=True))
        return {
            str(k): v if type(v) in _PLAIN else _canonical(v)
            for k in sorted(value, key=str)
            for v in (value[k],)
        }
    if kind is list:
        if value and type(value[0]) is dict and set(map(type, value)) == _DICT:
            # run records (72,000 at 20,000 views): flat, copied by calls that run in C
            layouts = set(map(tuple, value))
            if not set(map(type, chain.from_iterable(layouts))) - _STR_KEYS and _plain_values(
                chain.from_iterable(map(dict.values, value))
            ):
                orders = list(map(_sorted_keys, layouts))
                if orders == list(layouts):  # keys in order already, as a snapshot holds them
                    return list(map(dict, value))
                if len(orders) == 1:  # one layout, as the crawl writes it: reordered
                    return list(map(dict, map(zip, repeat(orders[0]), map(itemgetter(*orders[0]), value))))
                return [{k: record[k] for k in _sorted_keys(tuple(record))} for record in value]
        return [v if type(v) in _PLAIN else _canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return [_canonical(v) for v in sorted(value, key=str)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain_values(values: Iterable[Any]) -> bool:
    """Whether every value is one :func:`_canonical` returns as it is: a string, an int, a bool, None,
    a finite float."""
    values = list(values)
    kinds = set(map(type, values))
    if kinds <= _PLAIN:
        return True
    return kinds <= _PLAIN_OR_FLOAT and all(map(math.isfinite, (v for v in values if type(v) is float)))


def _sorted_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """``keys`` (plain strings) sorted, once per layout: a crawl's snapshot holds 90,000 dicts of a few."""
    order = _KEY_ORDERS.get(keys)
    if order is None:
        if len(_KEY_ORDERS) >= 256:
            _KEY_ORDERS.clear()
        order = _KEY_ORDERS[keys] = tuple(sorted(keys))
    return order


_KEY_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _node_record(node_id: Any, attrs: dict[Any, Any]) -> dict[str, Any]:
    """``_ordered({"id": node_id, **attrs}, _NODE_KEY_ORDER)``: a node's record in a snapshot."""
    keys = tuple(attrs)
    if set(map(type, keys)) - _STR_KEYS or "id" in attrs:
        return _ordered({"id": node_id, **attrs}, _NODE_KEY_ORDER)
    order = _NODE_ORDERS.get(keys)
    if order is None:
        if len(_NODE_ORDERS) >= 256:
            _NODE_ORDERS.clear()
        first = tuple(k for k in _NODE_KEY_ORDER if k in attrs)
        order = _NODE_ORDERS[keys] = first + tuple(sorted(k for k in keys if k not in first))
    record = {"id": node_id if type(node_id) in _PLAIN else _canonical(node_id)}
    record.update(
        zip(
            order,
            [v if type(v) in _PLAIN else _canonical(v) for v in map(attrs.__getitem__, order)],
            strict=True,
        )
    )
    return record


_NODE_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}
_WRITE_BATCH = 500  # nodes (or their edges) per piece of a snapshot's text


def _ordered(record: Mapping[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    out = {k: _canonical(record[k]) for k in first if k in record}
    out.update((k, _canonical(record[k])) for k in sorted(record) if k not in out)
    return out


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts → dotted keys; None dropped; lists → JSON text (GraphML and CSV hold scalars only)."""
    out: dict[str, Any] = {}
    for key, name in _names(record, prefix):
        value = record[key]
        kind = type(value)
        if kind is str or kind is int or kind is float or kind is bool:  # most values, without ABC checks
            out[name] = value
        elif kind is dict or isinstance(value, Mapping):
            out.update(_flatten(value, prefix=f"{name}."))
        elif value is None:
            continue
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        elif kind is list:
            out[name] = _list_text(value)
        else:
            out[name] = _ENCODER.encode(_canonical(value))
    return out


def _node_cells(nodes: list[Any], attrs: Mapping[Any, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The nodes CSV's header and its columns, one cell per node in each: a node's cells are what
    :func:`csv_cell` makes of the values of ``_flatten({"id": node, **attrs[node]})``, each in its
    column, empty where it has none.

    At 20,000 views that is 460,000 values: they are taken a column at a time (one attribute of
    every node, see :func:`_cell_columns`), which turns most of the per-value work into calls that
    run in C; what that does not cover goes through the general path, a row at a time.
    """
    records = [attrs[n] for n in nodes]
    columns: dict[str, list[str]] = {"id": _scalar_cells(nodes)}
    if (
        set(map(type, records)) - _DICT
        or any(map(dict.__contains__, records, repeat("id")))
        or not _cell_columns(records, "", columns)
    ):
        rows = [{k: csv_cell(v) for k, v in _flatten({"id": n, **attrs[n]}).items()} for n in nodes]
        columns = {}
        for name in {name for row in rows for name in row}:
            columns[name] = [row.get(name, "") for row in rows]
    header = [*_CSV_NODE_COLUMNS, *sorted(columns.keys() - set(_CSV_NODE_COLUMNS))]
    blank = [""] * len(nodes)
    return header, [columns.get(name, blank) for name in header]


def _cell_columns(records: list[dict[str, Any]], prefix: str, columns: dict[str, list[str]]) -> bool:
    """Add to ``columns`` the cells of ``_flatten(record, prefix)`` for every record, a name at a time
    (a column's list has one cell per record, empty where it has no value); False where a record
    needs the general path (a key that is not a plain string, a value of a type this does not
    take, a column mixing a dict with other values)."""
    if set(map(type, records)) - _DICT:
        return False
    keys = set(chain.from_iterable(records))
    if set(map(type, keys)) - _STR_KEYS:
        return False
    for key in sorted(keys):
        name = prefix + key
        # a missing key reads as None: both leave the cell empty and add no column
        values = list(map(dict.get, records, repeat(key)))
        kinds = set(map(type, values))
        kinds.discard(type(None))
        if not kinds:
            continue
        if kinds <= _SCALARS:
            cells = _scalar_cells(values)
        elif kinds == _DICT:
            nested = [_NO_ATTRS if v is None else v for v in values]
            if not _cell_columns(nested, f"{name}.", columns):
                return False
            continue
        elif kinds == _LIST:
            cells = ["" if v is None else csv_cell(_list_text(v)) for v in values]
        else:
            return False
        earlier = columns.get(name)
        if earlier is None:
            columns[name] = cells
        else:  # two keys flatten to one name ("a.b" beside "a": {"b": ...}): the later key wins
            for i, value in enumerate(values):
                if value is not None:
                    earlier[i] = cells[i]
    return True


def _scalar_cells(values: list[Any]) -> list[str]:
    """``[csv_cell(v) for v in values]`` (strings, numbers, booleans, None), through calls that run in C
    for a column of one kind: strings that need no defusing (none printable-unsafe, none starting a
    formula, checked in two passes over the column), numbers, booleans, each with None."""
    kinds = set(map(type, values))
    if kinds <= _STR_OR_NONE:
        texts = [v for v in values if v is not None] if type(None) in kinds else values
        if "".join(texts).isprintable() and _FORMULA_FIRST.isdisjoint(map(_first_char, texts)):
            return values if type(None) not in kinds else list(map(_NONE_EMPTY.get, values, values))
    elif kinds <= _NUMBER_OR_NONE:  # repr(v) is csv_cell's text of an int and of a float
        return list(map(_NONE_EMPTY.get, values, map(repr, values)))
    elif kinds <= _BOOL_OR_NONE:
        return list(map(_BOOL_CELLS.__getitem__, values))
    return list(map(csv_cell, values))


_DICT: Final = frozenset({dict})
_LIST: Final = frozenset({list})
_PLAIN_OR_DICT: Final = _PLAIN | _DICT
_PLAIN_OR_FLOAT: Final = _PLAIN | {float}
_STR_OR_NONE: Final = frozenset({str, type(None)})
_NUMBER_OR_NONE: Final = frozenset({int, float, type(None)})
_BOOL_OR_NONE: Final = frozenset({bool, type(None)})
_NONE_EMPTY: Final[dict[Any, str]] = {None: ""}
_BOOL_CELLS: Final[dict[Any, str]] = {None: "", True: "true", False: "false"}
_SCALARS: Final = frozenset({str, int, float, bool})
_NO_ATTRS: Final[dict[str, Any]] = {}
# csv_cell puts a quote before a cell starting with one of these (or with a tab or a line break,
# which are not printable)
_FORMULA_FIRST: Final = frozenset("=+-@")
_first_char = itemgetter(slice(0, 1))


def _list_text(items: list[Any]) -> str:
    """``json.dumps(_canonical(items), ensure_ascii=False, sort_keys=True)``: a list's cell. Columns and
    run records are written without _canonical's copy (they need none)."""
    text = dumps_list(items)
    if text is None:
        text = _ENCODER.encode(items if _plain(items) else _canonical(items))
    return text


def _names(record: Mapping[Any, Any], prefix: str) -> list[tuple[Any, str]]:
    """``(key, prefix + key)`` for each key of ``record``, sorted by the key's text.

    A 20,000-view export flattens 40,000 dicts of a few layouts: a layout of string keys is sorted
    once (``sorted(key=str)`` is a third of the flattening) and its names built once.
    """
    keys = tuple(record)
    if set(map(type, keys)) <= _STR_KEYS:  # exact str: sorted as they are, named as they are
        names = _LAYOUTS.get((prefix, keys))
        if names is None:
            if len(_LAYOUTS) >= 256:
                _LAYOUTS.clear()
            names = _LAYOUTS[prefix, keys] = [(k, prefix + k) for k in sorted(keys)]
        return names
    return [(k, f"{prefix}{k}") for k in sorted(record, key=str)]


_STR_KEYS: Final = frozenset({str})
_LAYOUTS: dict[tuple[str, tuple[str, ...]], list[tuple[Any, str]]] = {}

# json.dumps(value, ensure_ascii=False, sort_keys=True), without building an encoder for each of the
# 40,000 lists a 20,000-view export writes.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def _plain(items: list[Any]) -> bool:
    """Whether ``items`` holds only scalars and flat dicts of scalars with string keys (finite floats
    included): values that :func:`_canonical` returns unchanged, as ``json.dumps(sort_keys=True)``
    writes them."""
    kinds = set(map(type, items))
    if kinds <= _PLAIN:
        return True
    if kinds <= _PLAIN_OR_DICT:
        # run records, checked by calls that run in C (72,000 at 20,000 views); floats are looked at below
        dicts = items if len(kinds) == 1 else [item for item in items if type(item) is dict]
        if not set(map(type, chain.from_iterable(dicts))) - _STR_KEYS and not (
            set(map(type, chain.from_iterable(map(dict.values, dicts)))) - _PLAIN
        ):
            return True
    for item in items:
        kind = type(item)
        if kind in _PLAIN:
            continue
        if kind is dict:
            for key, value in item.items():
                if type(key) is not str:
                    return False
                vkind = type(value)
                if vkind not in _PLAIN and not (vkind is float and math.isfinite(value)):
                    return False
        elif not (kind is float and math.isfinite(item)):
            return False
    return True


def _unify(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each key one type across rows (GraphML declares a type per key): int+float → float, else str."""
    types: dict[str, set[type]] = {}
    for row in rows:
        for key, value in row.items():
            types.setdefault(key, set()).add(type(value))
    target: dict[str, type] = {}
    for key, seen in types.items():
        if len(seen) == 1:
            target[key] = seen.pop()
        elif seen <= {int, float}:
            target[key] = float
        else:
            target[key] = str
    return [{k: _convert(v, target[k]) for k, v in row.items()} for row in rows]


def _convert(value: Any, to: type) -> Any:
    if type(value) is to:
        return value
    if to is float:
        return float(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
