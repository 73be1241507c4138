"""What reads the warehouse: insights, dashboards, notebooks, endpoints and alerts (REST lists, and
the detail routes that carry a dashboard's tiles and a notebook's content)."""

from __future__ import annotations

from lineage.api.consumer_models import Alert, Dashboard, Endpoint, Insight, Notebook
from lineage.api.resources.base import PROJECT, Resource, collect, segment

__all__ = ["Consumers"]


class Consumers(Resource):
    """The endpoint methods of the consumer objects, each list across all pages."""

    async def list_insights(self) -> list[Insight]:
        """Every saved, live insight with its ``query`` (needs ``insight:read``), all pages."""
        return await collect(self._iter(Insight.from_api, PROJECT + "insights/"))

    async def list_dashboards(self) -> list[Dashboard]:
        """Every live dashboard (needs ``dashboard:read``); the list carries no tiles."""
        return await collect(self._iter(Dashboard.from_api, PROJECT + "dashboards/"))

    async def get_dashboard(self, dashboard_id: int) -> Dashboard:
        """One dashboard with its tiles (their insight ids)."""
        ident = segment(str(dashboard_id), "dashboard_id")
        return await self._get_one(Dashboard.from_api, PROJECT + "dashboards/{id}/", ident, "dashboard")

    async def list_notebooks(self) -> list[Notebook]:
        """Every live notebook (needs ``notebook:read``); the list carries no ``content``."""
        return await collect(self._iter(Notebook.from_api, PROJECT + "notebooks/"))

    async def get_notebook(self, short_id: str) -> Notebook:
        """One notebook with its ProseMirror ``content``."""
        ident = segment(short_id, "short_id")
        return await self._get_one(Notebook.from_api, PROJECT + "notebooks/{id}/", ident, "notebook")

    async def list_endpoints(self) -> list[Endpoint]:
        """Every live endpoint with its versions' queries (needs ``endpoint:read``)."""
        return await collect(self._iter(Endpoint.from_api, PROJECT + "endpoints/"))

    async def list_alerts(self) -> list[Alert]:
        """Every alert with the insight it watches (needs ``alert:read``)."""
        return await collect(self._iter(Alert.from_api, PROJECT + "alerts/"))
