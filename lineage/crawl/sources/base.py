"""The interface every edge source implements (:class:`EdgeStrategy`), with what most of them share:
the consumers over the REST lists, a focus as a closure over edges already read, "+k more" counted
from the whole graph, and the spot check of SQL-derived edges against the lineage endpoints."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal

from lineage.consumers.build import ConsumerData
from lineage.crawl import consumers
from lineage.crawl.focus import Seed, boundaries, closure_from_edges
from lineage.crawl.session import CrawlSession
from lineage.crawl.state import is_uuid
from lineage.errors import PermissionDeniedError, param, render_params

__all__ = ["EdgeStrategy", "SourceName"]

SourceName = Literal["api", "sql", "system"]


class EdgeStrategy(ABC):
    """One way of learning a warehouse's views and the edges between them.

    Chosen once per crawl (:func:`lineage.crawl.sources.choose_source`), after the views are read.
    The crawl's ``all`` strategy then runs :meth:`read_all`; its ``select`` strategy runs
    :meth:`read_select` and :meth:`downstream_counts`.
    """

    name: ClassVar[SourceName]
    """What the snapshot's ``edge_source`` says."""
    whole_graph: ClassVar[bool]
    """Every view's edges are read, whatever the selection: a focus is a closure over them, and the
    children beyond it are counted without asking."""

    def __init__(self, session: CrawlSession) -> None:
        self.session = session

    @abstractmethod
    async def read_edges(self, view_ids: list[str]) -> None:
        """Each view's parents into ``state.parents``."""

    @abstractmethod
    async def read_all(self) -> None:
        """Every view's edges, jobs and consumers (the ``all`` strategy)."""

    @abstractmethod
    async def read_select(self, seeds: list[Seed]) -> None:
        """The views within the seeds' depths, their edges, jobs and consumers; sets ``state.focus``
        and ``state.boundary`` (the ``select`` strategy)."""

    def focus_on(self, seeds: list[Seed]) -> None:
        """The focus as the closure of the seeds over the edges read, and its boundary."""
        state = self.session.state
        state.focus = closure_from_edges(state.parents, seeds)
        state.boundary = boundaries(state, seeds, state.focus)

    async def downstream_counts(self) -> None:
        """ "+k more" below the focus's downstream edge: the whole graph is known, so the children
        beyond the focus are counted without asking."""
        state = self.session.state
        focus = state.focus or set()
        for view_id in sorted(state.boundary):
            beyond = sum(1 for c, ps in state.parents.items() if view_id in ps and c not in focus)
            if beyond > 0:
                state.more_downstream[view_id] = beyond

    async def read_consumers(self) -> None:
        """Insights, dashboards, notebooks, endpoints and alerts, unless the options say not to."""
        session = self.session
        if not session.opts.consumers:
            return
        notes: list[str] = []
        session.state.consumers = await self.consumer_data(notes)
        session.state.notes.extend(sorted(notes))

    async def consumer_data(self, notes: list[str]) -> ConsumerData:
        """The consumers over the REST lists the key's scopes allow."""
        s = self.session
        return await consumers.read_rest(s.client, s.once_refusable, notes, s.opts.concurrency)

    async def spot_check(self) -> None:
        """Check ``verify_sample`` views' SQL-derived parents against ``ancestors(level=1)``."""
        session = self.session
        state = session.state
        count = session.opts.verify_sample
        ids = sorted(state.views)
        if not ids or count <= 0:
            return
        step = max(1, len(ids) // count)
        sample = ids[::step][:count]

        async def one(view_id: str) -> None:
            got = await session.once(
                f"anc1:{view_id}", lambda: session.client.ancestors(view_id, level=1), list
            )
            mine = {p if is_uuid(p) else p.split(".")[-1] for p in state.parents.get(view_id, [])}
            theirs = {p if is_uuid(p) else p.split(".")[-1] for p in got}
            if mine != theirs:
                name = state.views[view_id].name
                missing = sorted(theirs - mine)
                extra = sorted(mine - theirs)
                state.sample_mismatches.append(
                    f"{name}: ancestors(level=1) also names {missing or 'nothing'}; "
                    f"the SQL also names {extra or 'nothing'}"
                )

        try:
            await session.gather("verify", sample, one)
        except PermissionDeniedError as exc:
            state.notes.append(
                render_params(
                    f"{param('verify')}: the lineage endpoints refuse this key ({exc}); nothing checked"
                )
            )
