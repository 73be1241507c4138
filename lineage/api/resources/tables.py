"""Warehouse tables: the names (and sources) behind the table UUIDs that lineage answers carry."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

from lineage.api.models import Table
from lineage.api.resources.base import TABLES, Resource, collect, segment

__all__ = ["Tables"]


class Tables(Resource):
    """The endpoint methods of ``warehouse_tables`` (needs ``warehouse_table:read``)."""

    async def iter_tables(self, search: str | None = None) -> AsyncGenerator[Table, None]:
        """Every warehouse table (needs ``warehouse_table:read``), across all pages."""
        async for table in self._iter(Table.from_api, TABLES, {"search": search}):
            yield table

    async def list_tables(self, search: str | None = None) -> list[Table]:
        return await collect(self.iter_tables(search))

    async def get_table(self, table_id: str | uuid.UUID) -> Table:
        return await self._get_one(
            Table.from_api, TABLES + "{id}/", segment(table_id, "table_id"), "warehouse table"
        )
