"""What the two edge sources over the REST list of views (``api`` and ``sql``) share: the ``all``
strategy, with tables, jobs and the list's second pass read beside the edges."""

from __future__ import annotations

import asyncio

from lineage.crawl.sources.base import EdgeStrategy

__all__ = ["ListedSource"]


class ListedSource(EdgeStrategy):
    """An edge source for views read from the REST list (``state.views`` holds them already)."""

    async def resolve_names(self) -> None:
        """Drop views deleted mid-crawl; name the UUIDs the edges give that no listing explains."""
        self.session.forget_gone()
        await self.session.name_unknown()

    async def read_listed_edges(self) -> None:
        """Every listed view's edges, once the whole list is in (an edge source that names parents
        by name needs every view's name first)."""
        await self.session.views_listed()
        await self.read_edges(sorted(self.session.state.views))

    async def read_all(self) -> None:
        s = self.session
        # Tables, jobs and the list's second pass do not depend on the edges: fetch them alongside,
        # off the critical path; views only the second pass found get their edges after.
        try:
            _, _, _, found = await asyncio.gather(
                self.read_listed_edges(), s.list_tables(), s.fetch_jobs(), s.relist_views()
            )
        finally:
            s.stop_listing()
        ids = sorted(s.state.views)
        if found:
            await self.read_edges(found)
            ids = sorted(s.state.views)
        await self.resolve_names()
        await asyncio.gather(s.read_jobs(ids), self.read_consumers())
        if s.opts.with_sql:
            await s.gather("sql", [v for v in ids if v not in s.state.sql], s.fetch_sql)
        if s.opts.verify:
            await s.read_dependencies("verify", ids)
        await self.spot_check()
