"""Consumer nodes and edges in a snapshot graph. Pure: no HTTP.

:class:`ConsumerData` holds what a crawl read (``None`` for a kind it could not read);
:func:`add_consumers` resolves every name a consumer reads against the graph's views and tables and
adds the consumers that read anything of the warehouse, with edges from what is read to the reader.

Node ids: ``insight:<short_id>``, ``dashboard:<id>``, ``notebook:<short_id>``, ``endpoint:<name>``,
``alert:<id>``. Attributes: ``kind``, ``name``, ``url`` (the PostHog page), ``owner`` (the creator's
name or email where known), ``short_id`` (insights, notebooks), ``deleted`` (insights) and
``hogql`` (a sorted list of the HogQL queries it runs, where it runs any).

A name that resolves to nothing becomes an ``unknown`` node (``unresolved: true``) rather than being
dropped. A consumer that reads only PostHog's own tables (``events``...) is left out: it reads
nothing of the warehouse, and a real project has thousands of those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from lineage.api.consumer_models import Alert, Dashboard, Endpoint, Insight, Notebook
from lineage.consumers.extract import (
    Reads,
    endpoint_reads,
    insight_reads,
    notebook_reads,
)
from lineage.graph import LineageGraph
from lineage.posthog import POSTHOG_TABLES

__all__ = ["ConsumerData", "add_consumers", "consumer_url", "is_posthog_table"]


@dataclass
class ConsumerData:
    """What a crawl read of each consumer kind; ``None``: that kind could not be read."""

    insights: list[Insight] | None = None
    dashboards: list[Dashboard] | None = None
    # (dashboard id, insight id) of live tiles; None: read from the insights' ``dashboards`` instead
    tiles: list[tuple[int, int]] | None = None
    notebooks: list[Notebook] | None = None
    endpoints: list[Endpoint] | None = None
    alerts: list[Alert] | None = None
    users: dict[int, str] = field(default_factory=dict)  # created_by_id → name, for system rows

    def not_read(self) -> list[str]:
        """The consumer kinds that could not be read, sorted."""
        missing = {
            "insight": self.insights is None,
            "dashboard": self.dashboards is None,
            "notebook": self.notebooks is None,
            "endpoint": self.endpoints is None,
            "alert": self.alerts is None,
        }
        return sorted(k for k, gone in missing.items() if gone)


def is_posthog_table(name: str) -> bool:
    """One of PostHog's own tables, or a name in one of its namespaces (``posthog.*``, ``system.*``)."""
    return name in POSTHOG_TABLES or name.split(".", 1)[0] in {"posthog", "system"}


def consumer_url(host: str, project: str, kind: str, ident: str) -> str:
    """PostHog's page of a consumer (``<host>/project/<id>/insights/<short id>``...); alerts link to
    their insight."""
    base = f"{host.rstrip('/')}/project/{quote(str(project), safe='')}"
    path = {
        "insight": "insights",
        "dashboard": "dashboard",
        "notebook": "notebooks",
        "endpoint": "endpoints",
    }[kind]
    return f"{base}/{path}/{quote(ident, safe='')}"


class _Resolver:
    """Names as SQL writes them → graph node ids (views, ghosts, warehouse and PostHog tables)."""

    def __init__(
        self,
        graph: LineageGraph,
        deleted_by_name: Mapping[str, str],
        tables: Mapping[str, tuple[str, dict[str, Any]]],
    ) -> None:
        self.graph = graph
        self.known_tables = tables
        self.views: dict[str, str] = {}
        self.tables: dict[str, str] = {}
        for node_id, attrs in graph.nx.nodes(data=True):
            kind = attrs.get("kind")
            name = str(attrs.get("name") or node_id)
            if kind in ("view", "matview"):
                self.views[name] = node_id
            elif kind == "table":
                self.tables[name] = node_id
                hogql_name = attrs.get("hogql_name")
                if isinstance(hogql_name, str) and hogql_name:
                    self.tables[hogql_name] = node_id
        self.ghosts = {n: i for n, i in deleted_by_name.items() if n not in self.views}

    def view_names(self) -> set[str]:
        return set(self.views) | set(self.ghosts)

    def resolve(self, name: str) -> tuple[str, bool, dict[str, Any] | None]:
        """(node id, warehouse?, attributes of a node to add) for a name as SQL writes it."""
        if name in self.views:
            return self.views[name], True, None
        if name in self.tables:
            node = self.tables[name]
            return node, self.graph.nx.nodes[node].get("table_kind") != "posthog", None
        if name in self.known_tables:
            # a warehouse table no view reads: the crawl knows it, the graph does not yet
            node, attrs = self.known_tables[name]
            return node, True, None if node in self.graph else {"name": name, "kind": "table", **attrs}
        if name in self.ghosts:
            ghost = self.ghosts[name]
            new = None if ghost in self.graph else {"name": name, "kind": "unknown", "ghost": True}
            return ghost, True, new
        if is_posthog_table(name):
            return name, False, None
        new = None if name in self.graph else {"name": name, "kind": "unknown", "unresolved": True}
        return name, True, new

    def sources(self, reads: Reads) -> tuple[list[str], bool, dict[str, dict[str, Any]]]:
        """Node ids read (PostHog tables only where already in the graph), whether any is the
        warehouse's, and the unknown nodes to add if the consumer is kept."""
        out: set[str] = set()
        warehouse = False
        pending: dict[str, dict[str, Any]] = {}
        for name in reads.names(self.view_names()):
            node, ours, new = self.resolve(name)
            warehouse = warehouse or ours
            if new is not None:
                pending[node] = new
            if ours or node in self.graph:
                out.add(node)
        return sorted(out), warehouse, pending

    def commit(self, pending: Mapping[str, Mapping[str, Any]]) -> None:
        for node, attrs in sorted(pending.items()):
            if node not in self.graph:
                self.graph.add_node(node, **attrs)


def _hogql(reads: Reads) -> dict[str, Any]:
    return {"hogql": list(reads.hogql)} if reads.hogql else {}


def add_consumers(
    graph: LineageGraph,
    data: ConsumerData,
    *,
    host: str,
    project: str,
    deleted_by_name: Mapping[str, str] | None = None,
    tables: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
    focus: Iterable[str] | None = None,
) -> list[str]:
    """Add consumer nodes and edges to ``graph`` and set ``graph.consumers_not_read``.

    ``deleted_by_name``: old name → node id of deleted views; ``tables``: warehouse table name →
    (node id, attributes) of every table the crawl listed; ``focus``: node ids of a focused crawl,
    then only consumers reading one of them are added. Returns notes for the crawl's output: the
    consumers whose HogQL could not be parsed (what they read is unknown).
    """
    notes: list[str] = []

    def unparsed(kind: str, name: str, reads: Reads) -> None:
        if reads.errors:
            notes.append(
                f"{kind} {name!r}: {len(reads.errors)} HogQL text(s) could not be parsed; "
                "what they read is unknown"
            )

    resolver = _Resolver(graph, deleted_by_name or {}, tables or {})
    wanted = set(focus) if focus is not None else None

    def keep(sources: list[str], warehouse: bool) -> bool:
        if wanted is not None:
            # a focused crawl keeps the consumers of its warehouse nodes (not of events & co.)
            return any(s in wanted and graph.nx.nodes[s].get("table_kind") != "posthog" for s in sources)
        return warehouse

    def add_reader(
        kind: str, ident: str, name: str, reads: Reads, embeds: Sequence[str] = (), **attrs: Any
    ) -> str | None:
        """Add the consumer ``<kind>:<ident>``, with ``attrs`` after its name, kind and url, and edges
        from what it reads and the insights it ``embeds``, if it is kept; its node id, or None."""
        unparsed(kind, name, reads)
        sources, warehouse, pending = resolver.sources(reads)
        if not embeds and not keep(sources, warehouse):
            return None
        resolver.commit(pending)
        node = f"{kind}:{ident}"
        url = consumer_url(host, project, kind, ident)
        graph.add_node(node, name=name, kind=kind, url=url, **attrs, **_hogql(reads))
        for s in [*sources, *embeds]:
            graph.add_edge(s, node)
        return node

    insight_nodes: dict[int, str] = {}
    by_short: dict[str, str] = {}
    for x in sorted(data.insights or [], key=lambda x: x.id):
        if x.deleted:
            continue
        reads = insight_reads(x.query, x.filters)
        owner = x.owner or _owner(data, x.raw)
        added = add_reader(
            "insight",
            x.short_id,
            x.name or x.short_id,
            reads,
            short_id=x.short_id,
            owner=owner,
            deleted=False,
        )
        if added is not None:
            insight_nodes[x.id] = by_short[x.short_id] = added
    if data.dashboards is not None:
        tiles = data.tiles
        if tiles is None:
            tiles = [(d, x.id) for x in data.insights or [] if not x.deleted for d in x.dashboards]
            tiles += [(d.id, i) for d in data.dashboards for i in d.insight_ids or ()]
        holds: dict[int, set[str]] = {}
        for dash, insight in tiles:
            if insight in insight_nodes:
                holds.setdefault(dash, set()).add(insight_nodes[insight])
        for d in sorted(data.dashboards, key=lambda d: d.id):
            if d.deleted or d.id not in holds:
                continue
            node = f"dashboard:{d.id}"
            graph.add_node(
                node,
                name=d.name or f"dashboard {d.id}",
                kind="dashboard",
                url=consumer_url(host, project, "dashboard", str(d.id)),
                owner=d.owner or _owner(data, d.raw),
            )
            for insight_node in sorted(holds[d.id]):
                graph.add_edge(insight_node, node)
    for a in sorted(data.alerts or [], key=lambda a: a.id):
        if a.insight_id not in insight_nodes:
            continue
        insight_node = insight_nodes[a.insight_id]
        node = f"alert:{a.id}"
        graph.add_node(
            node,
            name=a.name or f"alert {a.id}",
            kind="alert",
            url=graph.nx.nodes[insight_node]["url"],
        )
        graph.add_edge(insight_node, node)
    for n in sorted(data.notebooks or [], key=lambda n: n.short_id):
        if n.deleted:
            continue
        reads = notebook_reads(n.content)
        embedded = sorted(by_short[s] for s in reads.insights if s in by_short)
        owner = n.owner or _owner(data, n.raw)
        add_reader(
            "notebook", n.short_id, n.title or n.short_id, reads, embedded, short_id=n.short_id, owner=owner
        )
    for e in sorted(data.endpoints or [], key=lambda e: e.name):
        if not e.deleted:
            reads = endpoint_reads(e.versions, e.current_version)
            add_reader("endpoint", e.name, e.name, reads, owner=e.owner or _owner(data, e.raw))
    graph.nx.graph["consumers_not_read"] = data.not_read()
    return sorted(notes)


def _owner(data: ConsumerData, raw: Mapping[str, Any]) -> str | None:
    ident = raw.get("created_by_id")
    return data.users.get(ident) if isinstance(ident, int) and not isinstance(ident, bool) else None
