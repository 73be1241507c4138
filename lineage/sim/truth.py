"""The ground truth of a simulator fixture: its lineage graph, with node ids as the API names them.

Tests and benchmarks compare what a crawl found against :func:`graph_of_fixture`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from lineage.consumers.extract import endpoint_reads, insight_reads, notebook_reads
from lineage.errors import FixtureError, HogQLError
from lineage.hogql import extract_tables
from lineage.posthog import POSTHOG_TABLES as POSTHOG_HOGQL_TABLES

__all__ = ["graph_of_fixture"]


def graph_of_fixture(fixture: Mapping[str, Any], *, consumers: bool = False) -> nx.DiGraph:
    """Ground-truth lineage of a fixture, with node ids as the API names them.

    Saved queries and warehouse tables are their dashed UUIDs, PostHog tables their names. Nodes
    carry ``name``, ``kind`` (``view``, ``matview``, ``table``), ``table_kind`` for tables and
    ``deleted`` for views; edges point upstream → downstream. Deleted views stay (their children's
    paths still run through them). A view without ``parents`` gets the FROM/JOIN targets of its
    ``query``, as PostHog reads them. Views and warehouse tables need explicit ``id`` s.
    """
    g = nx.DiGraph()
    ids: dict[str, str] = {}
    for table in fixture.get("tables", []):
        kind = table.get("kind", "warehouse")
        node_id = table["name"] if kind == "posthog" else _explicit_id(table, "table")
        ids[table["name"]] = node_id
        if isinstance(table.get("hogql_name"), str):
            ids.setdefault(table["hogql_name"], node_id)  # a sourced table, as SQL names it
        g.add_node(node_id, name=table["name"], kind="table", table_kind=kind)
    views = list(fixture.get("views", []))
    for view in views:
        ids[view["name"]] = _explicit_id(view, "view")  # a view wins over a table, as PostHog resolves
        kind = "matview" if view.get("is_materialized") else "view"
        g.add_node(view["id"], name=view["name"], kind=kind, deleted=bool(view.get("deleted", False)))
    for view in views:
        parents = view.get("parents")
        if parents is None:
            parents = _parents_from_query(view)
        for parent in parents:
            if parent not in ids:
                raise FixtureError(
                    f"fixture view {view['name']!r} names parent {parent!r}, which is neither a view nor "
                    "a table of the fixture; add it under 'tables' or fix the view"
                )
            g.add_edge(ids[parent], view["id"])
    if consumers:
        _add_fixture_consumers(g, fixture, ids)
    return g


def _add_fixture_consumers(g: nx.DiGraph, fixture: Mapping[str, Any], ids: Mapping[str, str]) -> None:
    """The fixture's consumers as PostHog reads them (``consumers=True`` of :func:`graph_of_fixture`):
    live ones that read something of the warehouse, ids as in a snapshot (``insight:<short_id>``...)."""
    live_views = {v["name"] for v in fixture.get("views", []) if not v.get("deleted")}
    deleted = {v["name"]: v["id"] for v in fixture.get("views", []) if v.get("deleted")}

    def sources(names: list[str]) -> tuple[list[str], bool]:
        out, ours = [], False
        for name in names:
            if name in ids and (name in live_views or g.nodes[ids[name]].get("table_kind") == "warehouse"):
                out.append(ids[name])
                ours = True
            elif name in ids and name not in deleted:
                if ids[name] in g:
                    out.append(ids[name])
            elif name in deleted:
                out.append(deleted[name])
                ours = True
            elif name in POSTHOG_HOGQL_TABLES or name.split(".", 1)[0] in ("posthog", "system"):
                continue
            else:
                g.add_node(name, name=name, kind="unknown")
                out.append(name)
                ours = True
        return out, ours

    view_names = live_views | set(deleted)
    by_id: dict[int, str] = {}
    by_short: dict[str, str] = {}
    for x in fixture.get("insights", []):
        if x.get("deleted"):
            continue
        read, ours = sources(insight_reads(x.get("query"), x.get("filters")).names(view_names))
        if not ours:
            continue
        node = f"insight:{x['short_id']}"
        g.add_node(node, name=x.get("name"), kind="insight")
        g.add_edges_from((s, node) for s in read)
        by_id[x["id"]] = node
        by_short[x["short_id"]] = node
    boards = {d["id"]: d for d in fixture.get("dashboards", []) if not d.get("deleted")}
    for t in fixture.get("dashboard_tiles", []):
        if t.get("deleted") or t.get("dashboard_id") not in boards or t.get("insight_id") not in by_id:
            continue
        node = f"dashboard:{t['dashboard_id']}"
        g.add_node(node, name=boards[t["dashboard_id"]].get("name"), kind="dashboard")
        g.add_edge(by_id[t["insight_id"]], node)
    for a in fixture.get("alerts", []):
        if a.get("insight_id") in by_id:
            node = f"alert:{a['id']}"
            g.add_node(node, name=a.get("name"), kind="alert")
            g.add_edge(by_id[a["insight_id"]], node)
    for n in fixture.get("notebooks", []):
        if n.get("deleted"):
            continue
        reads = notebook_reads(n.get("content"))
        read, ours = sources(reads.names(view_names))
        embedded = [by_short[s] for s in sorted(reads.insights) if s in by_short]
        if not ours and not embedded:
            continue
        node = f"notebook:{n['short_id']}"
        g.add_node(node, name=n.get("title"), kind="notebook")
        g.add_edges_from((s, node) for s in [*read, *embedded])
    for e in fixture.get("endpoints", []):
        if e.get("deleted"):
            continue
        read, ours = sources(
            endpoint_reads(e.get("versions", []), e.get("current_version")).names(view_names)
        )
        if ours:
            node = f"endpoint:{e['name']}"
            g.add_node(node, name=e["name"], kind="endpoint")
            g.add_edges_from((s, node) for s in read)


def _explicit_id(item: Mapping[str, Any], what: str) -> str:
    value = item.get("id")
    if not isinstance(value, str):
        raise FixtureError(
            f"fixture {what} {item.get('name')!r} has no 'id'; graph_of_fixture needs explicit ids "
            "(fixture_from_graph always writes them)"
        )
    return value


def _parents_from_query(view: Mapping[str, Any]) -> list[str]:
    query = view.get("query")
    if isinstance(query, Mapping):
        query = query.get("query")
    if not isinstance(query, str):
        raise FixtureError(f"fixture view {view.get('name')!r} has neither 'parents' nor a 'query' string")
    try:
        return extract_tables(query)
    except HogQLError as exc:
        raise FixtureError(f"fixture view {view.get('name')!r}: its query does not parse: {exc}") from None
