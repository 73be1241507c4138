"""The consumers' rows behind HogQL's ``system.*`` tables: one builder per table, in one registry.

:meth:`ConsumerStore.system_records <lineage.sim.consumers.ConsumerStore.system_records>` looks a
table up in :data:`ROWS` (the warehouse's own tables are in :mod:`lineage.sim.system_tables`).
Rows come sorted by id, deleted ones included; values are Python objects and JSON columns JSON text,
as PostHog stores them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from lineage.sim.consumer_records import text_of

if TYPE_CHECKING:
    from lineage.sim.consumers import ConsumerStore

__all__ = ["ROWS"]


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _insights(store: ConsumerStore) -> list[dict[str, Any]]:
    return [
        {
            "id": x.id,
            "short_id": x.short_id,
            "name": x.name,
            "query": _json_text(x.query),
            "filters": json.dumps(x.filters or {}),
            "deleted": x.deleted,
            "saved": x.saved,
            "last_modified_at": x.last_modified_at,
            "updated_at": x.last_modified_at,
            "created_by_id": x.created_by,
        }
        for x in sorted(store.insights.values(), key=lambda x: x.id)
    ]


def _dashboards(store: ConsumerStore) -> list[dict[str, Any]]:
    return [
        {"id": d.id, "name": d.name, "deleted": d.deleted, "created_by_id": d.created_by}
        for d in sorted(store.dashboards.values(), key=lambda d: d.id)
    ]


def _dashboard_tiles(store: ConsumerStore) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "dashboard_id": t.dashboard_id,
            "insight_id": t.insight_id,
            "text_id": t.text_id,
            "deleted": t.deleted,
        }
        for t in sorted(store.tiles.values(), key=lambda t: t.id)
    ]


def _notebooks(store: ConsumerStore) -> list[dict[str, Any]]:
    return [
        {
            "id": n.id,
            "short_id": n.short_id,
            "title": n.title,
            "content": _json_text(n.content),
            "text_content": text_of(n.content),
            "deleted": n.deleted,
            "created_by_id": n.created_by,
        }
        for n in sorted(store.notebooks.values(), key=lambda n: n.id)
    ]


def _endpoints(store: ConsumerStore) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "name": e.name,
            "is_active": e.is_active,
            "current_version": e.current_version,
            "deleted": e.deleted,
            "created_by_id": e.created_by,
        }
        for e in sorted(store.endpoints.values(), key=lambda e: e.id)
    ]


def _endpoint_versions(store: ConsumerStore) -> list[dict[str, Any]]:
    return [
        {
            "endpoint_id": e.id,
            "version": v.version,
            "query": _json_text(v.query),
            "is_active": v.is_active,
        }
        for e in sorted(store.endpoints.values(), key=lambda e: e.id)
        for v in e.versions
    ]


def _alerts(store: ConsumerStore) -> list[dict[str, Any]]:
    return [
        {"id": a.id, "name": a.name, "insight_id": a.insight_id, "state": a.state, "enabled": a.enabled}
        for a in sorted(store.alerts.values(), key=lambda a: a.id)
    ]


#: ``system.<name>`` -> its rows, for the consumers' tables.
ROWS: Final[dict[str, Callable[[ConsumerStore], list[dict[str, Any]]]]] = {
    "insights": _insights,
    "dashboards": _dashboards,
    "dashboard_tiles": _dashboard_tiles,
    "notebooks": _notebooks,
    "data_modeling_endpoints": _endpoints,
    "data_modeling_endpoint_versions": _endpoint_versions,
    "alerts": _alerts,
}
