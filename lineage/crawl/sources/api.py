"""The ``api`` edge source: PostHog's lineage endpoints. One ``ancestors(level=1)`` per view gives
its edges exactly; a focused crawl asks ``ancestors``/``descendants`` once per seed and direction for
the closure, and ``dependencies`` at its downstream edge for the "+k more" beyond it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from lineage.crawl.focus import Seed, boundaries, drop_dotted_prefixes
from lineage.crawl.resolve import dotted_labels, full_dotted_name
from lineage.crawl.sources.listed import ListedSource
from lineage.errors import ApiError

__all__ = ["HIDDEN_ROUNDS", "ApiSource"]

HIDDEN_ROUNDS = 20  # hidden views reading hidden views: rounds of probing before giving up


class ApiSource(ListedSource):
    name = "api"
    whole_graph = False

    async def read_parents(self, view_id: str) -> None:
        """One view's parents, as ``ancestors(level=1)`` names them."""
        s = self.session
        got = await s.or_gone(f"anc1:{view_id}", lambda: s.client.ancestors(view_id, level=1), list, view_id)
        if got is not None:
            s.state.parents[view_id] = sorted(got)

    async def read_edges(self, view_ids: list[str]) -> None:
        await self._read_edges(view_ids)

    async def read_listed_edges(self) -> None:
        """The edges of the views listed so far at once, and of the rest as its pages arrive: a
        view's ``ancestors`` answer does not depend on any other view's name."""
        s = self.session
        first = sorted(s.state.views)

        async def rest() -> list[str]:
            await s.views_listed()
            seen = set(first)
            return sorted(v for v in s.state.views if v not in seen)

        await self._read_edges(first, more=rest())

    async def _read_edges(self, view_ids: list[str], *, more: Awaitable[list[str]] | None = None) -> None:
        state = self.session.state
        todo = [v for v in view_ids if v not in state.parents]

        async def more_todo() -> list[str]:
            assert more is not None
            return [v for v in await more if v not in state.parents]

        await self.session.gather(
            "lineage", todo, self.read_parents, more=None if more is None else more_todo()
        )
        renames = await self.full_dotted_names()
        if renames:
            for v, ps in state.parents.items():
                state.parents[v] = sorted({renames.get(p, p) for p in ps})

    async def full_dotted_names(self) -> dict[str, str]:
        """Level-1 answers name a dotted PostHog table (``posthog.ai_events``) by its last label.

        One consumer's HogQL per distinct label tells the full name; that is a handful of requests.
        """
        s = self.session
        renames: dict[str, str] = {}
        for label, consumer in sorted(dotted_labels(s.state.parents).items()):
            if consumer not in s.state.sql:
                try:
                    await s.fetch_sql(consumer)
                except ApiError:
                    continue
            sql = s.state.sql.get(consumer)
            if not sql:
                continue
            full = full_dotted_name(sql, label, s.state.by_name)
            if full is not None:
                renames[label] = full
        return renames

    async def resolve_names(self) -> None:
        """As for every listed source, and round after round: a hidden view's own parents are asked
        too, until nothing is new."""
        self.session.forget_gone()
        for _round in range(HIDDEN_ROUNDS):
            found = await self.session.name_unknown()
            if not found:
                return
            await self.session.gather("lineage", found, self.read_parents)

    async def read_select(self, seeds: list[Seed]) -> None:
        s = self.session
        state = s.state
        closure: set[str] = set()

        async def expand(seed: Seed) -> None:
            view_id, up, down = seed
            if up != 0:
                level = up if up is not None else None
                key = f"anc{level or 'all'}:{view_id}"
                got = await s.once(key, lambda: s.client.ancestors(view_id, level=level), list)
                closure.update(got)
            if down != 0:
                level = down if down is not None else None
                key = f"desc{level or 'all'}:{view_id}"
                got = await s.once(key, lambda: s.client.descendants(view_id, level=level), list)
                closure.update(got)

        await asyncio.gather(*(expand(seed) for seed in seeds))
        members = {view_id for view_id, _, _ in seeds}
        await self.read_edges(sorted({m for m in closure | members if m in state.views}))
        await self.resolve_names()
        state.focus = drop_dotted_prefixes(state.parents, closure | members)
        state.boundary = boundaries(state, seeds, state.focus)
        member_ids = sorted(v for v in state.focus if v in state.views)
        await asyncio.gather(s.read_jobs(member_ids), self.read_consumers())
        if s.opts.with_sql:
            await s.gather("sql", [v for v in member_ids if v not in state.sql], s.fetch_sql)

    async def downstream_counts(self) -> None:
        """ "+k more" below the focus's downstream edge: ``dependencies`` tells each such view's
        downstream count, less the children inside the focus."""
        state = self.session.state
        todo = sorted(state.boundary)
        focus = state.focus or set()
        await self.session.read_dependencies("boundary", todo)
        for view_id in todo:
            known = sum(1 for c, ps in state.parents.items() if view_id in ps and c in focus)
            beyond = int(state.deps[view_id].get("downstream_count") or 0) - known
            if beyond > 0:
                state.more_downstream[view_id] = beyond

    async def spot_check(self) -> None:
        """Nothing to check: the edges are the lineage endpoints' own answers."""
