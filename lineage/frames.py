"""pandas DataFrames of a LineageGraph, for notebooks (the only library module that imports pandas eagerly).

Columns come in a fixed order and rows are sorted, so frames compare and diff cleanly.

>>> nodes_frame(graph).query("kind == 'matview' and status == 'Failed'")
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lineage.graph import LineageGraph

__all__ = [
    "CONSUMER_COLUMNS",
    "EDGE_COLUMNS",
    "JOB_COLUMNS",
    "NODE_COLUMNS",
    "consumers_frame",
    "edges_frame",
    "jobs_frame",
    "nodes_frame",
]

NODE_COLUMNS = (
    "id",
    "name",
    "kind",
    "table_kind",
    "folder",
    "status",
    "is_materialized",
    "sync_frequency",
    "last_run_at",
    "latest_error",
    "upstream_count",
    "downstream_count",
    "in_degree",
    "out_degree",
    "ghost",
    "created_by",
    "created_at",
    "more_upstream",
    "more_downstream",
)
EDGE_COLUMNS = ("source", "target", "source_name", "target_name", "source_kind", "target_kind")
JOB_COLUMNS = (
    "id",
    "name",
    "runs",
    "failures",
    "last_status",
    "last_success_at",
    "median_duration_s",
    "rows_last",
    "failure_streak",
    "rows_trend",
)

CONSUMER_COLUMNS = ("view_id", "view", "view_kind", "id", "name", "kind", "via", "owner", "url")

# Nullable dtypes keep "not known" (None) apart from 0 and False.
_BOOL_COLUMNS = frozenset({"is_materialized", "ghost"})
_INT_COLUMNS = frozenset(
    {
        "upstream_count",
        "downstream_count",
        "in_degree",
        "out_degree",
        "more_upstream",
        "more_downstream",
        "runs",
        "failures",
        "rows_last",
        "failure_streak",
    }
)
_FLOAT_COLUMNS = frozenset({"median_duration_s"})


def nodes_frame(graph: LineageGraph) -> pd.DataFrame:
    """One row per node, sorted by id; ``in_degree``/``out_degree`` are counted in this graph."""
    rows = []
    for node_id in graph.nodes():
        data = graph.nx.nodes[node_id]
        row: dict[str, Any] = {col: data.get(col) for col in NODE_COLUMNS}
        row["id"] = node_id
        row["name"] = graph.name_of(node_id)
        row["in_degree"] = graph.nx.in_degree(node_id)
        row["out_degree"] = graph.nx.out_degree(node_id)
        if isinstance(row["created_by"], dict):
            # The API sends a user object; a table cell wants something printable.
            user = row["created_by"]
            row["created_by"] = user.get("email") or user.get("first_name") or user.get("id")
        rows.append(row)
    return _frame(rows, NODE_COLUMNS)


def edges_frame(graph: LineageGraph) -> pd.DataFrame:
    """One row per edge (upstream ``source`` → downstream ``target``), sorted."""
    rows = [
        {
            "source": u,
            "target": v,
            "source_name": graph.name_of(u),
            "target_name": graph.name_of(v),
            "source_kind": graph.nx.nodes[u].get("kind"),
            "target_kind": graph.nx.nodes[v].get("kind"),
        }
        for u, v in graph.edges()
    ]
    return _frame(rows, EDGE_COLUMNS)


def jobs_frame(graph: LineageGraph) -> pd.DataFrame:
    """One row per node with job data (materialization runs), sorted by id."""
    rows = []
    for node_id in graph.nodes():
        jobs = graph.nx.nodes[node_id].get("jobs")
        if not isinstance(jobs, dict):
            continue
        row: dict[str, Any] = {col: jobs.get(col) for col in JOB_COLUMNS}
        row["id"] = node_id
        row["name"] = graph.name_of(node_id)
        rows.append(row)
    return _frame(rows, JOB_COLUMNS)


def consumers_frame(graph: LineageGraph) -> pd.DataFrame:
    """Consumers per view: one row per (view, consumer) where the consumer reads the view directly
    or shows an insight that does (``via`` names that insight). Sorted by view, kind, name, id.

    Empty (with its columns) when the snapshot has no consumers.
    """
    from lineage.consumer_nodes import anchors, is_consumer, live, owner_of_consumer

    g = live(graph.nx)  # deleted consumers read nothing
    rows = []
    for node_id in sorted(g.nodes):
        attrs = g.nodes[node_id]
        if not is_consumer(attrs):
            continue
        reads: set[tuple[str, str | None]] = set()
        for p in g.predecessors(node_id):
            if is_consumer(g.nodes[p]):
                reads |= {(v, graph.name_of(p)) for v in anchors(g, p)}
            else:
                reads.add((p, None))
        url = attrs.get("url")
        for view, via in reads:
            rows.append(
                {
                    "view_id": view,
                    "view": graph.name_of(view),
                    "view_kind": g.nodes[view].get("kind"),
                    "id": node_id,
                    "name": graph.name_of(node_id),
                    "kind": attrs.get("kind"),
                    "via": via,
                    "owner": owner_of_consumer(attrs),
                    "url": url if isinstance(url, str) else None,
                }
            )
    rows.sort(key=lambda r: (r["view"], r["view_id"], r["kind"], r["name"], r["id"], r["via"] or ""))
    return _frame(rows, CONSUMER_COLUMNS)


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    for col in columns:
        if col in _BOOL_COLUMNS:
            frame[col] = frame[col].astype(pd.BooleanDtype())
        elif col in _INT_COLUMNS:
            frame[col] = frame[col].astype(pd.Int64Dtype())
        elif col in _FLOAT_COLUMNS:
            frame[col] = frame[col].astype(pd.Float64Dtype())
        else:
            # Text and mixed values stay Python objects: None stays None, not NaN.
            column = frame[col].astype(object)
            frame[col] = column.where(column.notna(), None)
    return frame.reset_index(drop=True)
