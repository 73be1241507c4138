"""What a refresh base (an earlier snapshot, ``--refresh``) spares the next crawl: SQL of views that
show no sign of an edit, the jobs it already holds, the names of views deleted before it, and for a
system crawl the moment to read changes from and the merge of changed rows into its views."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from lineage.api import SavedQuery
from lineage.api.models import parse_datetime
from lineage.crawl.state import iso
from lineage.graph import LineageGraph

__all__ = ["known_ghost_names", "known_jobs", "merge_refresh", "reusable_sql", "system_since"]

SINCE_MARGIN_S = 60.0


def reusable_sql(base: LineageGraph | None, views: Mapping[str, SavedQuery], view_id: str) -> str | None:
    """SQL from the refresh base when the view's list entry shows no sign of an edit.

    The list carries no edit time, but an edit shows: PostHog recomputes the columns and sets the
    status to ``Modified`` until the next run, and a run moves ``last_run_at``. Any of those, or a
    rename, and the SQL is read again.
    """
    if base is None or view_id not in base.nx:
        return None
    attrs = base.nx.nodes[view_id]
    view = views[view_id]
    same = (
        attrs.get("sql") is not None
        and attrs.get("name") == view.name
        and attrs.get("columns") == [c.name for c in view.columns]
        and attrs.get("status") == view.status
        and view.status != "Modified"
        and attrs.get("last_run_at") == iso(view.last_run_at)
    )
    return str(attrs["sql"]) if same else None


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
    """When to read changes from: the start of the base's crawl (its crawl time less its duration)
    less a minute, so an edit made while the base was being crawled is read again, not missed.
    None unless the base came from the system tables (and so carries every view's SQL)."""
    if base is None or base.nx.graph.get("edge_source") != "system":
        return None
    crawled = parse_datetime(base.nx.graph.get("crawled_at"))
    if crawled is None:
        return None
    seconds = float(base.nx.graph.get("seconds") or 0.0)
    return iso(crawled - timedelta(seconds=seconds + SINCE_MARGIN_S))


def merge_refresh(
    base: LineageGraph, changed: list[dict[str, Any]], light: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for every live view: changed ones in full, the rest from the base plus fresh light columns;
    and the ids of live views that are neither changed nor in the base (the caller reads those)."""
    full = {str(r.get("id")): dict(r) for r in changed}
    rows: list[dict[str, Any]] = list(full.values())
    missing: list[str] = []
    for item in light:
        view_id = str(item.get("id"))
        if view_id in full:
            continue
        attrs = base.nx.nodes[view_id] if view_id in base.nx else None
        if attrs is None or attrs.get("sql") is None:
            missing.append(view_id)
            continue
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
    return rows, missing
