"""Warehouse tables of the simulated team, the whole-graph DAG endpoint and the database-name check."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from typing import Any, Final

from lineage.sim.errors import AdHocError, not_found
from lineage.sim.pagination import ShapedRows
from lineage.sim.records import Table, canon_uuid, render_time, source_id
from lineage.sim.team import TeamState
from lineage.sim.validate import search_terms

__all__ = ["TableEngine"]

_DB_NAME_RE: Final = re.compile(r"^[a-z](?:[a-z0-9-]{1,61}[a-z0-9])$")


class TableEngine(TeamState):
    """The warehouse tables of one team (PostHog's own tables are nodes only, never listed)."""

    # ------------------------------------------------------------------ the managed warehouse's database name
    def check_database_name(self, name: str | None) -> dict[str, Any]:
        """``{"name", "available"}``; ad-hoc 400/403 errors as PostHog's proxy endpoint gives them."""
        with self.lock:
            if not name:
                raise AdHocError(400, "name query parameter is required")
            if not _DB_NAME_RE.match(name):
                raise AdHocError(
                    400,
                    "name must be 3-63 characters, start with a lowercase letter, end with a letter or "
                    "digit, and contain only lowercase letters, digits and hyphens",
                )
            if "provision-managed-warehouse-beta" not in self.flags:
                raise AdHocError(403, "This feature is not enabled")
            taken = {v.name.lower() for v in self._views.values()} | {"posthog", "default", "admin"}
            digest = hashlib.sha256(name.encode()).digest()[0]
            return {"name": name, "available": name not in taken and digest % 5 != 0}

    # ------------------------------------------------------------------ warehouse tables
    def _table_shape(self, table: Table) -> dict[str, Any]:
        source = None
        if table.source_type:
            source = {
                "id": source_id(table),
                "source_type": table.source_type,
                "status": "Completed",
                "prefix": table.prefix,
                "revenue_analytics_config": None,
            }
        shape = {
            "id": table.id,
            "deleted": False,
            "name": table.name,
            "format": table.format,
            "created_by": self._user(table.created_by),
            "created_at": render_time(table.created_at),
            "url_pattern": f"https://bucket.s3.amazonaws.com/{table.name}/*.parquet",
            "credential": None,
            "columns": self._columns(table.columns),
            "external_data_source": source,
            "external_schema": None,
        }
        shape.update(self.rules.table_fields(table))
        return shape

    def list_tables(self, *, search: str | None = None, lazy: bool = False) -> Sequence[dict[str, Any]]:
        """Warehouse tables (not PostHog tables), ``-created_at``; ``search`` icontains on name.
        ``lazy``: the rows as :class:`~lineage.sim.pagination.ShapedRows`, shaped as a page reads them."""
        with self.lock:
            terms = [t.lower() for t in search_terms(search)]
            tables = [
                t
                for t in self._tables.values()
                if t.kind == "warehouse" and all(term in t.name.lower() for term in terms)
            ]
            tables.sort(key=lambda t: (t.created_at, t.id), reverse=True)
            if lazy:
                return ShapedRows(tables, self._table_shape, self.lock)
            return [self._table_shape(t) for t in tables]

    def get_table(self, table_id: str) -> dict[str, Any]:
        with self.lock:
            tid = canon_uuid(table_id)
            table = self._tables.get(tid) if tid else None
            if table is None or table.kind != "warehouse":
                raise not_found()
            return self._table_shape(table)

    def warehouse_dag(self) -> dict[str, Any]:
        """The INTERNAL whole-graph endpoint: raw labels from the path store, sorted."""
        with self.lock:
            edges, labels = self._index.edges_and_nodes()
            view_hex = {uuid.UUID(v).hex for v in self._views}
            table_hex = {uuid.UUID(t.id).hex for t in self._tables.values() if t.kind == "warehouse"}

            def kind(label: str) -> str:
                if label in view_hex:
                    return "SavedQuery"
                return "Table" if label in table_hex else "PostHog"

            return {
                "edges": [list(e) for e in sorted(edges)],
                "nodes": [[lab, kind(lab)] for lab in sorted(labels)],
            }
