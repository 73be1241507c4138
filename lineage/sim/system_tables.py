"""The warehouse's rows behind HogQL's ``system.*`` tables (views, jobs, warehouse tables, sources).

The query API (:mod:`lineage.sim.query`) reads them through :meth:`Warehouse.system_records
<lineage.sim.state.Warehouse.system_records>`, which holds the lock; the consumers' tables
(insights, dashboards, ...) come from :class:`lineage.sim.consumers.ConsumerStore`. Values are Python
objects; JSON columns are JSON text as PostHog stores them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from lineage.sim.records import View, source_id

if TYPE_CHECKING:
    from lineage.sim.state import Warehouse

__all__ = ["ROWS"]


def _views(wh: Warehouse) -> list[dict[str, Any]]:
    return [_view_row(wh, v) for v in sorted(wh._views.values(), key=lambda v: v.id)]


def _view_row(wh: Warehouse, view: View) -> dict[str, Any]:
    return {
        "id": view.id,
        "name": view.name,
        "status": view.status,
        "columns": json.dumps(wh._columns(view.columns), sort_keys=True),
        "query": json.dumps({"kind": "HogQLQuery", "query": view.sql}),
        "last_run_at": view.last_run_at,
        "is_materialized": view.is_materialized,
        "deleted": view.deleted,
        "deleted_at": view.deleted_at,
        "created_at": view.created_at,
        # rows that predate the column (fixtures without updated_at) read as their creation
        "updated_at": view.updated_at or view.created_at,
        "sync_frequency": view.sync_frequency,
        "latest_error": view.latest_error,
        "folder_id": view.folder_id,
        "created_by_id": view.created_by,
        "origin": view.origin,
        "deleted_name": view.deleted_name,
        "description": view.description,
        "is_incremental": view.is_incremental,
        "suspended": view.suspended,
        "is_test": view.is_test,
    }


def _jobs(wh: Warehouse) -> list[dict[str, Any]]:
    return [
        {
            "id": j.id,
            "saved_query_id": j.view_id,
            "status": j.status,
            "rows_materialized": j.rows_materialized,
            "rows_expected": j.rows_expected,
            "error": j.error,
            "created_at": j.created_at,
            "last_run_at": j.last_run_at,
            "workflow_id": j.workflow_id,
            "workflow_run_id": j.workflow_run_id,
            "run_mode": j.run_mode,
            "updated_at": j.updated_at or j.last_run_at or j.created_at,
            "data_modeling_view_id": j.view_id,
        }
        for j in sorted(wh._jobs.values(), key=lambda j: j.id)
    ]


def _tables(wh: Warehouse) -> list[dict[str, Any]]:
    out = []
    for t in sorted(wh._tables.values(), key=lambda t: t.id):
        if t.kind != "warehouse":
            continue
        shape = wh._table_shape(t)
        source = shape["external_data_source"]
        out.append(
            {
                "id": t.id,
                "name": t.name,
                "format": t.format,
                "url_pattern": shape["url_pattern"],
                "columns": json.dumps(shape["columns"], sort_keys=True),
                "deleted": False,
                "created_at": t.created_at,
                "created_by_id": t.created_by,
                "external_data_source_id": source["id"] if source else None,
                "source_type": t.source_type,
            }
        )
    return out


def _sources(wh: Warehouse) -> list[dict[str, Any]]:
    sources: dict[str, dict[str, Any]] = {}
    for t in wh._tables.values():
        if t.kind == "warehouse" and t.source_type:
            sources.setdefault(
                source_id(t),
                {
                    "id": source_id(t),
                    "source_type": t.source_type,
                    "prefix": t.prefix,
                    "status": "Completed",
                    "deleted": False,
                    "created_at": t.created_at,
                },
            )
    return [sources[k] for k in sorted(sources)]


#: ``system.<name>`` -> its rows, for the tables the warehouse owns.
ROWS: Final[dict[str, Callable[[Warehouse], list[dict[str, Any]]]]] = {
    "data_modeling_views": _views,
    "data_modeling_jobs": _jobs,
    "data_warehouse_tables": _tables,
    "data_warehouse_sources": _sources,
}
