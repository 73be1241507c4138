"""What a refresh base (an earlier snapshot, ``--refresh``) spares the next crawl: SQL of views that
show no sign of an edit, the jobs it already holds, the names of views deleted before it, and for a
system crawl the moment to read changes from and the merge of changed rows into its views."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lineage.api import SavedQuery
from lineage.graph import LineageGraph

__all__ = ["known_ghost_names", "known_jobs", "merge_refresh", "reusable_sql", "system_since"]


def reusable_sql(base: LineageGraph | None, views: Mapping[str, SavedQuery], view_id: str) -> str | None:
    """SQL from the refresh base when the view's list entry shows no sign of an edit."""
    if base is None or view_id not in base.nx:
        return None
    attrs = base.nx.nodes[view_id]
    view = views[view_id]
    columns = [c.name for c in view.columns]
    if attrs.get("sql") is None or attrs.get("name") != view.name or attrs.get("columns") != columns:
        return None
    return str(attrs["sql"])


def known_jobs(base: LineageGraph | None) -> list[tuple[str, dict[str, Any]]]:
    """Every job the refresh base holds, with the node it ran for."""
    if base is None:
        return []
    return [
        (node_id, dict(job))
        for node_id, attrs in base.nx.nodes(data=True)
        for job in ((attrs.get("jobs") or {}).get("history") or [])
    ]


def known_ghost_names(base: LineageGraph) -> Iterator[tuple[str, str]]:
    """``(node id, old name)`` of the base's deleted views whose name it learnt."""
    for node_id, attrs in base.nx.nodes(data=True):
        if attrs.get("ghost") and attrs.get("name") and attrs["name"] != node_id:
            yield str(node_id), str(attrs["name"])


def system_since(base: LineageGraph | None) -> str | None:
    """The refresh base's crawl time, when it came from the system tables and carries SQL."""
    if base is None or base.nx.graph.get("edge_source") != "system":
        return None
    crawled = base.nx.graph.get("crawled_at")
    return str(crawled) if crawled else None


def merge_refresh(
    base: LineageGraph, changed: list[dict[str, Any]], light: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows for every live view: changed ones in full, the rest from the base plus fresh light columns."""
    full = {str(r.get("id")): dict(r) for r in changed}
    rows: list[dict[str, Any]] = list(full.values())
    for item in light:
        view_id = str(item.get("id"))
        if view_id in full:
            continue
        attrs = base.nx.nodes[view_id] if view_id in base.nx else None
        if attrs is None or attrs.get("sql") is None:
            continue  # new without a bumped updated_at (should not happen): caught by the count check
        rows.append(
            {
                **{k: attrs.get(k) for k in ("name", "sync_frequency", "latest_error", "description")},
                "folder_name": attrs.get("folder"),
                # owners never change: keep the base's (a display name) where no REST list is read
                "created_by": {"first_name": attrs["created_by"]} if attrs.get("created_by") else None,
                "created_at": attrs.get("created_at"),
                "columns": [{"name": c} for c in attrs.get("columns") or []],
                "query": {"kind": "HogQLQuery", "query": attrs.get("sql")},
                **item,
                "deleted": False,
            }
        )
    return rows
