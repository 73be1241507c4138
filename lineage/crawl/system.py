"""The system-table crawl's fixed text: the HogQL queries over PostHog's ``system.*`` tables, the
request budget for the REST list beside them, and turning a ``system.data_modeling_views`` row into
the REST record :class:`~lineage.api.SavedQuery` reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lineage.fastjson import loads

__all__ = [
    "REST_FIELDS",
    "REST_LIST_PAGES",
    "SYSTEM_CHANGED",
    "SYSTEM_JOBS",
    "SYSTEM_LIGHT",
    "SYSTEM_PAGE",
    "SYSTEM_TABLES",
    "SYSTEM_VIEWS",
    "str_or_none",
    "system_view_record",
]

REST_LIST_PAGES = 5  # views list pages a system crawl may spend on owners and folders
REST_FIELDS = (
    "created_by",
    "folder_id",
    "folder_name",
    "sync_frequency",
    "latest_error",
    "status",
    "last_run_at",
    "description",
)
SYSTEM_PAGE = 50000  # PostHog's largest LIMIT: any warehouse under 50,000 views is one page
SYSTEM_VIEWS = "SELECT * FROM system.data_modeling_views ORDER BY id"
SYSTEM_CHANGED = "SELECT * FROM system.data_modeling_views WHERE updated_at >= {since} ORDER BY id"
SYSTEM_LIGHT = (
    "SELECT id, name, status, last_run_at, is_materialized FROM system.data_modeling_views "
    "WHERE deleted = false ORDER BY id"
)
SYSTEM_TABLES = "SELECT * FROM system.data_warehouse_tables ORDER BY id"
SYSTEM_JOBS = (
    "SELECT * FROM system.data_modeling_jobs WHERE created_at >= {since} ORDER BY created_at DESC, id"
)


def str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _json_value(value: Any) -> Any:
    """System tables hold JSON columns as strings."""
    if isinstance(value, str):
        try:
            return loads(value)  # json.loads' result, through orjson (lineage.fastjson)
        except ValueError:
            return value
    return value


def system_view_record(row: Mapping[str, Any], folders: Mapping[str, str]) -> dict[str, Any]:
    """A system.data_modeling_views row in the REST shape SavedQuery.from_api reads."""
    record = {k: _json_value(v) if k in {"query", "columns"} else v for k, v in row.items()}
    record["id"] = str(row.get("id"))
    folder_id = str_or_none(row.get("folder_id"))
    if folder_id is not None:
        record["folder_name"] = folders.get(folder_id)
    record["deleted"] = bool(row.get("deleted"))
    return record
