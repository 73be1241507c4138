"""The warehouse's rows behind HogQL's ``system.*`` tables (views, jobs, warehouse tables, sources).

The query API (:mod:`lineage.sim.query`) reads them through :meth:`Warehouse.system_records
<lineage.sim.state.Warehouse.system_records>`, which holds the lock; the consumers' tables
(insights, dashboards, ...) come from :class:`lineage.sim.consumers.ConsumerStore`. Values are Python
objects; JSON columns are JSON text as PostHog stores them.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from lineage.sim.records import View, source_id

if TYPE_CHECKING:
    from lineage.sim.state import Warehouse

__all__ = ["CELLS", "JOB_COLUMNS", "ROWS", "VIEW_COLUMNS"]


def _views(wh: Warehouse) -> list[dict[str, Any]]:
    return [dict(zip(VIEW_COLUMNS, cells, strict=True)) for cells in _view_cells(wh)]


def _view_cells(wh: Warehouse) -> list[tuple[Any, ...]]:
    """Every view's cells in :data:`VIEW_COLUMNS` order (see :func:`_kept`)."""
    return _kept(wh, "views", _view_cells_now)


def _view_cells_now(wh: Warehouse) -> list[tuple[Any, ...]]:
    fields = json.dumps(wh.rules.column_fields(), sort_keys=True)
    return [_view_row(wh, v, fields) for v in sorted(wh._views.values(), key=lambda v: v.id)]


# The JSON columns of a view's row, kept by what they are made of: every query of the views' table
# wrote 20,000 views' columns and queries as JSON again (a third of its time).
_TEXT_CACHE_SIZE: Final = 1 << 16


@lru_cache(maxsize=_TEXT_CACHE_SIZE)
def _query_json(sql: str) -> str:
    return json.dumps({"kind": "HogQLQuery", "query": sql})


_COLUMNS_JSON: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}


def _columns_json(wh: Warehouse, view: View, fields: str) -> str:
    key = (fields, tuple((name, typ) for name, typ in view.columns))
    text = _COLUMNS_JSON.get(key)
    if text is None:
        if len(_COLUMNS_JSON) >= _TEXT_CACHE_SIZE:
            _COLUMNS_JSON.clear()
        text = _COLUMNS_JSON[key] = json.dumps(wh._columns(view.columns), sort_keys=True)
    return text


#: The columns of a view's row, in system.data_modeling_views' order (lineage.sim.hogql_sqlite).
VIEW_COLUMNS: Final = (
    "id", "name", "status", "columns", "query", "last_run_at", "is_materialized", "deleted",
    "deleted_at", "created_at", "updated_at", "sync_frequency", "latest_error", "folder_id",
    "created_by_id", "origin", "deleted_name", "description", "is_incremental", "suspended", "is_test",
)  # fmt: skip


def _view_row(wh: Warehouse, view: View, fields: str) -> tuple[Any, ...]:
    """A view's cells in :data:`VIEW_COLUMNS` order."""
    return (
        view.id,
        view.name,
        view.status,
        _columns_json(wh, view, fields),
        _query_json(view.sql),
        view.last_run_at,
        view.is_materialized,
        view.deleted,
        view.deleted_at,
        view.created_at,
        # rows that predate the column (fixtures without updated_at) read as their creation
        view.updated_at or view.created_at,
        view.sync_frequency,
        view.latest_error,
        view.folder_id,
        view.created_by,
        view.origin,
        view.deleted_name,
        view.description,
        view.is_incremental,
        view.suspended,
        view.is_test,
    )


#: The columns of a job's row, in system.data_modeling_jobs' order (lineage.sim.hogql_sqlite).
JOB_COLUMNS: Final = (
    "id", "saved_query_id", "status", "rows_materialized", "error", "created_at", "last_run_at",
    "workflow_id", "rows_expected", "workflow_run_id", "run_mode", "updated_at", "data_modeling_view_id",
)  # fmt: skip


def _jobs(wh: Warehouse) -> list[dict[str, Any]]:
    return [dict(zip(JOB_COLUMNS, cells, strict=True)) for cells in _job_cells(wh)]


def _job_cells(wh: Warehouse) -> list[tuple[Any, ...]]:
    """Every job's cells in :data:`JOB_COLUMNS` order (see :func:`_kept`)."""
    return _kept(wh, "jobs", _job_cells_now)


def _kept(
    wh: Warehouse, table: str, make: Callable[[Warehouse], list[tuple[Any, ...]]]
) -> list[tuple[Any, ...]]:
    """``make(wh)``, the same list while ``wh.version`` stays: a crawl pages through 70,000 jobs, and
    the query engine then sees a table's rows unchanged at once instead of building and comparing
    them on every query."""
    made = _MADE.setdefault(wh, {})
    found = made.get(table)
    if found is not None and found[0] == wh.version:
        return found[1]
    cells = make(wh)
    made[table] = (wh.version, cells)
    return cells


_MADE: weakref.WeakKeyDictionary[Warehouse, dict[str, tuple[int, list[tuple[Any, ...]]]]]
_MADE = weakref.WeakKeyDictionary()


def _job_cells_now(wh: Warehouse) -> list[tuple[Any, ...]]:
    return [
        (
            j.id,
            j.view_id,
            j.status,
            j.rows_materialized,
            j.error,
            j.created_at,
            j.last_run_at,
            j.workflow_id,
            j.rows_expected,
            j.workflow_run_id,
            j.run_mode,
            j.updated_at or j.last_run_at or j.created_at,
            j.view_id,
        )
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
#: The large tables' rows as tuples of cells in their columns' order: what the query engine loads and
#: compares on every query (building 70,000 tuples costs a fraction of building 70,000 dicts).
CELLS: Final[dict[str, tuple[tuple[str, ...], Callable[[Warehouse], list[tuple[Any, ...]]]]]] = {
    "data_modeling_views": (VIEW_COLUMNS, _view_cells),
    "data_modeling_jobs": (JOB_COLUMNS, _job_cells),
}

ROWS: Final[dict[str, Callable[[Warehouse], list[dict[str, Any]]]]] = {
    "data_modeling_views": _views,
    "data_modeling_jobs": _jobs,
    "data_warehouse_tables": _tables,
    "data_warehouse_sources": _sources,
}
