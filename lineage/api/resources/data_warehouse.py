"""The ``data_warehouse/`` routes: completed (and failed) syncs and materializations, data health
issues, and whether a managed-warehouse database name is free."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

from lineage.api.models import ActivityRow, DatabaseNameCheck, HealthIssue
from lineage.api.resources.base import DATA_WAREHOUSE, Resource, collect
from lineage.errors import ProtocolError

__all__ = ["DataWarehouse"]

_COMPLETED_ACTIVITY = DATA_WAREHOUSE + "completed_activity/"


def _check_cutoff_days(cutoff_days: int) -> None:
    if isinstance(cutoff_days, bool) or not isinstance(cutoff_days, int) or cutoff_days < 1:
        raise ValueError(f"cutoff_days must be a whole number >= 1, got {cutoff_days!r}")


class DataWarehouse(Resource):
    """The endpoint methods of ``data_warehouse/``."""

    async def iter_completed_activity(
        self, *, limit: int = 20, cutoff_days: int = 30, max_items: int | None = None
    ) -> AsyncGenerator[ActivityRow, None]:
        """Completed syncs and materializations of the last ``cutoff_days``, newest first.

        ``limit`` is the page size, 1..50 (0 would make PostHog link to the same page forever).
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
            raise ValueError(f"limit must be a whole number from 1 to 50, got {limit!r}")
        _check_cutoff_days(cutoff_days)
        params = {"limit": limit, "offset": 0, "cutoff_days": cutoff_days}
        rows = self._iter(
            ActivityRow.from_api, _COMPLETED_ACTIVITY, params, stop_on_empty=True, max_items=max_items
        )
        async for row in rows:
            yield row

    async def completed_activity(
        self, *, limit: int = 20, cutoff_days: int = 30, max_items: int | None = None
    ) -> list[ActivityRow]:
        """All rows of :meth:`iter_completed_activity` as a list."""
        return await collect(
            self.iter_completed_activity(limit=limit, cutoff_days=cutoff_days, max_items=max_items)
        )

    async def failed_activity(
        self, *, kind: str | None = None, cutoff_days: int = 30, limit: int = 50
    ) -> list[ActivityRow]:
        """The newest PostHog's ``completed_activity?outcome=failed`` (``kind``: ``sync`` or
        ``materialization``): failed runs in one listing."""
        if kind not in (None, "sync", "materialization"):
            raise ValueError(f"kind must be 'sync' or 'materialization', got {kind!r}")
        _check_cutoff_days(cutoff_days)
        params: dict[str, Any] = {
            "limit": limit,
            "offset": 0,
            "cutoff_days": cutoff_days,
            "outcome": "failed",
        }
        if kind is not None:
            params["kind"] = kind
        return await collect(
            self._iter(ActivityRow.from_api, _COMPLETED_ACTIVITY, params, stop_on_empty=True)
        )

    async def data_health_issues(self) -> list[HealthIssue]:
        """Failing materializations and syncs in one request (``data_warehouse/data_health_issues``)."""
        template = DATA_WAREHOUSE + "data_health_issues/"
        body = await self._sender.get(template)
        display = self._sender.display("GET", self._sender.url(template))
        rows = body.get("results") if isinstance(body, Mapping) else body
        if not isinstance(rows, list):
            raise ProtocolError(f"{display}: expected a list of issues", path=display)
        return [self._parse(HealthIssue.from_api, r, display) for r in rows]

    async def check_database_name(self, name: str) -> DatabaseNameCheck:
        """Whether a managed-warehouse database name is free (a beta feature; may answer 403)."""
        if not isinstance(name, str) or not name:
            raise ValueError("check_database_name needs a name")
        template = DATA_WAREHOUSE + "check-database-name/"
        body = await self._sender.get(template, params={"name": name})
        display = self._sender.display("GET", self._sender.url(template))
        return self._parse(lambda b: DatabaseNameCheck.from_api(b, asked=name), body, display)
