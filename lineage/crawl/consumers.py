"""Reading consumers in a crawl: over PostHog's system tables in five HogQL queries when the key has
``query:read``, else over the REST lists its scopes allow.

A kind the key may not read (a missing scope, or its owner's access level ``none`` for that object
type, which PostHog answers with an error, never an empty table) is left ``None`` in
:class:`~lineage.consumers.build.ConsumerData`, and so lands in ``graph.consumers_not_read``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from lineage.api import AsyncPostHogClient
from lineage.api.consumer_models import Alert, Dashboard, Endpoint, Insight, Notebook, json_value
from lineage.consumers.build import ConsumerData
from lineage.errors import BadRequestError, NotFoundError, PermissionDeniedError

__all__ = [
    "SYSTEM_ALERTS",
    "SYSTEM_DASHBOARDS",
    "SYSTEM_ENDPOINTS",
    "SYSTEM_INSIGHTS",
    "SYSTEM_NOTEBOOKS",
    "read_rest",
    "read_system",
]

T = TypeVar("T")
Once = Callable[[str, Callable[[], Awaitable[Any]], Callable[[Any], Any]], Awaitable[Any]]
Rows = Callable[[str, str], Awaitable[list[dict[str, Any]]]]

# One query per access scope: a refused scope costs only its own kinds. Deleted and unsaved
# insights read nothing anyone relies on, so they are not fetched.
# ``SELECT *`` on one table takes whatever columns this PostHog has (created_by_id where it exists),
# so an older or newer PostHog costs no failed query; joins name documented columns only.
SYSTEM_INSIGHTS = "SELECT * FROM system.insights WHERE deleted = false AND saved = true ORDER BY id"
SYSTEM_DASHBOARDS = (
    "SELECT d.id AS id, d.name AS name, t.insight_id AS insight_id, t.id AS tile_id "
    "FROM system.dashboards AS d LEFT JOIN system.dashboard_tiles AS t ON t.dashboard_id = d.id "
    "AND t.insight_id IS NOT NULL AND (t.deleted IS NULL OR t.deleted = false) "
    "WHERE d.deleted = false ORDER BY d.id, t.id"
)
SYSTEM_NOTEBOOKS = "SELECT * FROM system.notebooks WHERE deleted = false ORDER BY id"
SYSTEM_ENDPOINTS = (
    "SELECT e.id AS id, e.name AS name, e.is_active AS is_active, e.current_version AS current_version, "
    "v.version AS version, v.query AS query, v.is_active AS version_active "
    "FROM system.data_modeling_endpoints AS e "
    "LEFT JOIN system.data_modeling_endpoint_versions AS v ON v.endpoint_id = e.id "
    "WHERE e.deleted = false ORDER BY e.id, v.version"
)
SYSTEM_ALERTS = "SELECT id, name, insight_id, state, enabled FROM system.alerts ORDER BY id"

_REFUSED = (PermissionDeniedError, BadRequestError, NotFoundError)


async def _refused_is_none(call: Callable[[], Awaitable[T]], notes: list[str], what: str) -> T | None:
    try:
        return await call()
    except _REFUSED as exc:
        notes.append(f"{what}: not visible to this key ({exc})")
        return None


D = TypeVar("D")


async def _each_kind(
    notes: list[str],
    insights: Callable[[], Awaitable[list[Insight]]],
    dashboards: Callable[[], Awaitable[D]],
    notebooks: Callable[[], Awaitable[list[Notebook]]],
    endpoints: Callable[[], Awaitable[list[Endpoint]]],
    alerts: Callable[[], Awaitable[list[Alert]]],
) -> tuple[list[Insight] | None, D | None, list[Notebook] | None, list[Endpoint] | None, list[Alert] | None]:
    """The five kinds read side by side; a kind the key may not read is None (and a note)."""
    return await asyncio.gather(
        _refused_is_none(insights, notes, "insights"),
        _refused_is_none(dashboards, notes, "dashboards"),
        _refused_is_none(notebooks, notes, "notebooks"),
        _refused_is_none(endpoints, notes, "endpoints"),
        _refused_is_none(alerts, notes, "alerts"),
    )


async def read_system(rows: Rows, notes: list[str], users: Mapping[int, str]) -> ConsumerData:
    """Every consumer in five HogQL queries (one per access scope), side by side."""

    async def insights() -> list[Insight]:
        return [Insight.from_api(r) for r in await rows("cons:sys:insights", SYSTEM_INSIGHTS)]

    async def dashboards() -> tuple[list[Dashboard], list[tuple[int, int]]]:
        got = await rows("cons:sys:dashboards", SYSTEM_DASHBOARDS)
        boards: dict[int, Dashboard] = {}
        tiles: set[tuple[int, int]] = set()
        for r in got:
            board = Dashboard.from_api({"id": r.get("id"), "name": r.get("name")})
            boards.setdefault(board.id, board)
            insight = r.get("insight_id")
            if isinstance(insight, int) and not isinstance(insight, bool):
                tiles.add((board.id, insight))
        return sorted(boards.values(), key=lambda b: b.id), sorted(tiles)

    async def notebooks() -> list[Notebook]:
        return [Notebook.from_api(r) for r in await rows("cons:sys:notebooks", SYSTEM_NOTEBOOKS)]

    async def endpoints() -> list[Endpoint]:
        got = await rows("cons:sys:endpoints", SYSTEM_ENDPOINTS)
        grouped: dict[str, dict[str, Any]] = {}
        for r in got:
            entry = grouped.setdefault(
                str(r.get("id")),
                {
                    "id": r.get("id"),
                    "name": r.get("name"),
                    "is_active": r.get("is_active"),
                    "current_version": r.get("current_version"),
                    "versions": [],
                },
            )
            if r.get("version") is not None:
                entry["versions"].append(
                    {
                        "version": r.get("version"),
                        "query": json_value(r.get("query")),
                        "is_active": r.get("version_active"),
                    }
                )
        return [Endpoint.from_api(e) for _, e in sorted(grouped.items())]

    async def alerts() -> list[Alert]:
        return [Alert.from_api(r) for r in await rows("cons:sys:alerts", SYSTEM_ALERTS)]

    got_i, got_d, got_n, got_e, got_a = await _each_kind(
        notes, insights, dashboards, notebooks, endpoints, alerts
    )
    return ConsumerData(
        insights=got_i,
        dashboards=got_d[0] if got_d is not None else None,
        tiles=got_d[1] if got_d is not None else None,
        notebooks=got_n,
        endpoints=got_e,
        alerts=got_a,
        users=dict(users),
    )


async def read_rest(
    client: AsyncPostHogClient, once: Once, notes: list[str], concurrency: int
) -> ConsumerData:
    """The REST lists the key's scopes allow; a notebook's content needs one GET per notebook."""

    def raws(items: list[Any]) -> list[dict[str, Any]]:
        return [dict(x.raw) for x in items]

    def listed(
        key: str, call: Callable[[], Awaitable[list[Any]]], model: Callable[[Any], T]
    ) -> Callable[[], Awaitable[list[T]]]:
        """A reader of one REST list, journaled under ``cons:<key>``, as ``model`` objects."""

        async def read() -> list[T]:
            return [model(r) for r in await once(f"cons:{key}", call, raws)]

        return read

    insights = listed("insights", client.list_insights, Insight.from_api)
    dashboards = listed("dashboards", client.list_dashboards, Dashboard.from_api)
    endpoints = listed("endpoints", client.list_endpoints, Endpoint.from_api)
    alerts = listed("alerts", client.list_alerts, Alert.from_api)

    async def notebooks() -> list[Notebook]:
        entries = await listed("notebooks", client.list_notebooks, Notebook.from_api)()
        sem = asyncio.Semaphore(max(1, concurrency))

        async def full(n: Notebook) -> Notebook | None:
            if n.content is not None:
                return n
            async with sem:
                try:
                    raw = await once(
                        f"cons:notebook:{n.short_id}",
                        lambda: client.get_notebook(n.short_id),
                        lambda x: dict(x.raw),
                    )
                except NotFoundError:
                    return None  # deleted between the list and the GET
            return Notebook.from_api(raw)

        found = await asyncio.gather(*(full(n) for n in entries))
        return [n for n in found if n is not None]

    got_i, got_d, got_n, got_e, got_a = await _each_kind(
        notes, insights, dashboards, notebooks, endpoints, alerts
    )
    return ConsumerData(insights=got_i, dashboards=got_d, notebooks=got_n, endpoints=got_e, alerts=got_a)
