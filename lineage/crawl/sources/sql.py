"""The ``sql`` edge source: GET every view and parse its HogQL, for keys the lineage endpoints refuse
(personal keys on the newest PostHog). The whole graph is read even for a focused crawl: without the
lineage endpoints only the whole SQL graph tells a view's descendants."""

from __future__ import annotations

import asyncio

from lineage.crawl.focus import Seed
from lineage.crawl.sources.listed import ListedSource

__all__ = ["SqlSource"]


class SqlSource(ListedSource):
    name = "sql"
    whole_graph = True

    async def read_edges(self, view_ids: list[str]) -> None:
        s = self.session
        await s.list_tables()
        await s.gather("sql", [v for v in view_ids if v not in s.state.sql], s.fetch_sql)
        for v in view_ids:
            s.state.parents[v] = s.parents_from_sql(v)

    async def read_select(self, seeds: list[Seed]) -> None:
        s = self.session
        ids = sorted(s.state.views)
        await self.read_edges(ids)
        await self.resolve_names()
        await asyncio.gather(s.read_jobs(ids), self.read_consumers())
        self.focus_on(seeds)
