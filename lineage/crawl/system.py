"""The system-table crawl's fixed text: the HogQL queries over PostHog's ``system.*`` tables, the
request budget for the REST list beside them, and turning a ``system.data_modeling_views`` row into
the REST record :class:`~lineage.api.SavedQuery` reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lineage.api.fields import as_str
from lineage.fastjson import loads

__all__ = [
    "REST_FIELDS",
    "REST_LIST_PAGES",
    "SYSTEM_CHANGED",
    "SYSTEM_JOBS",
    "SYSTEM_LIGHT",
    "SYSTEM_PAGE",
    "SYSTEM_TABLES",
    "SYSTEM_TABLES_PLAIN",
    "SYSTEM_VIEWS",
    "str_or_none",
    "system_table_record",
    "system_view_record",
    "view_sql",
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
    # the newest PostHog's view flags (absent from older PostHog's list: nothing is copied then)
    "suspended",
    "is_incremental",
    "incremental",
    "is_test",
    "expires_at",
)
SYSTEM_PAGE = 50000  # PostHog's largest LIMIT: any warehouse under 50,000 views is one page
SYSTEM_VIEWS = "SELECT * FROM system.data_modeling_views ORDER BY id"
SYSTEM_CHANGED = "SELECT * FROM system.data_modeling_views WHERE updated_at >= {since} ORDER BY id"
SYSTEM_LIGHT = (
    "SELECT id, name, status, last_run_at, is_materialized FROM system.data_modeling_views "
    "WHERE deleted = false ORDER BY id"
)
# A sourced table's SQL name (``hubspot.contacts``) is built from its source's type and prefix:
# system.data_warehouse_tables has no such column but joins system.data_warehouse_sources by
# external_data_source_id (PostHog's posthog/hogql/database/schema/system.py). One query for both.
SYSTEM_TABLES = (
    "SELECT t.*, s.source_type AS src_type, s.prefix AS src_prefix FROM system.data_warehouse_tables AS t "
    "LEFT JOIN system.data_warehouse_sources AS s ON s.id = t.external_data_source_id ORDER BY t.id"
)
# Without access to the sources table (or on a PostHog without it): the tables alone.
SYSTEM_TABLES_PLAIN = "SELECT * FROM system.data_warehouse_tables ORDER BY id"
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
    record = dict(row)
    for key in ("query", "columns"):
        if key in record:
            record[key] = _json_value(record[key])
    record["id"] = str(row.get("id"))
    folder_id = str_or_none(row.get("folder_id"))
    if folder_id is not None:
        record["folder_name"] = folders.get(folder_id)
    record["deleted"] = bool(row.get("deleted"))
    return record


def view_sql(row: dict[str, Any]) -> str | None:
    """The SQL of a system.data_modeling_views row, as ``SavedQuery.from_api(system_view_record(row,
    ...)).sql`` reads it, without building the record (the crawl parses it before the record exists).
    The row's ``query`` column, when it holds a JSON object, is left parsed, so that
    :func:`system_view_record` does not parse it again."""
    query = _json_value(row.get("query"))
    if isinstance(query, Mapping):
        row["query"] = query
        query = query.get("query")
    return as_str(query)


def system_table_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A system.data_warehouse_tables row (joined with its source) in the REST shape Table reads."""
    record = {k: v for k, v in row.items() if k not in ("src_type", "src_prefix")}
    source_type = str_or_none(row.get("src_type")) or str_or_none(row.get("source_type"))
    if source_type and not isinstance(row.get("external_data_source"), Mapping):
        record["external_data_source"] = {
            "id": str_or_none(row.get("external_data_source_id")),
            "source_type": source_type,
            "prefix": str_or_none(row.get("src_prefix")),
        }
    return record
