"""One crawl, start to end (what a crawl is, its strategies and edge sources: :mod:`lineage.crawl`).

:func:`crawl_async` checks and locks where the snapshot and the journal go before any request is
spent, opens the journal (resuming it if asked) and the client, and runs a :class:`_Crawler`:

1. :func:`~lineage.crawl.sources.choose_source` reads the views and picks the edge source, once;
2. the strategy runs over it: :meth:`~lineage.crawl.sources.EdgeStrategy.read_all` for ``all``;
   for ``select`` the selector's seeds, then ``read_select`` and ``downstream_counts``;
3. the activity logs, if asked;
4. the graph is built from the crawl's state (:mod:`lineage.crawl.build`), consumers added
   (:mod:`lineage.consumers.build`) and saved; then the journal goes.

:func:`crawl` is the same for code without an event loop (or inside Jupyter's).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lineage.aio import run_sync
from lineage.api import AsyncPostHogClient
from lineage.config import Settings
from lineage.consumers.build import add_consumers
from lineage.crawl.build import build_graph
from lineage.crawl.focus import parse_seeds
from lineage.crawl.journal import Journal
from lineage.crawl.options import CrawlOptions, CrawlResult
from lineage.crawl.session import CrawlSession
from lineage.crawl.sources import EdgeStrategy, choose_source
from lineage.crawl.state import iso
from lineage.errors import InputError, NotFoundError, PermissionDeniedError, SelectorError, param
from lineage.graph import LineageGraph
from lineage.io import FileLock, check_writable

if TYPE_CHECKING:
    import httpx  # only the transport's type: HTTP itself stays in lineage.api

__all__ = ["crawl", "crawl_async"]


class _Crawler:
    def __init__(self, client: AsyncPostHogClient, options: CrawlOptions, journal: Journal) -> None:
        self.session = CrawlSession(client, options, journal)
        self.opts = options

    async def run(self) -> EdgeStrategy:
        """The options' strategy over the edge source chosen for them; returns that source."""
        if self.opts.strategy == "all":
            source = await choose_source(self.session, complete_list=False)
            await source.read_all()
            return source
        if not self.opts.select:
            example = param("select", "'+mrr_by_month+'")
            raise SelectorError(f"crawl {param('select')} needs a selector, e.g. {example}")
        source = await choose_source(self.session, complete_list=True)
        views = self.session.state.views
        seeds = parse_seeds(
            self.opts.select, views, upstream=self.opts.upstream, downstream=self.opts.downstream
        )
        await source.read_select(seeds)
        await source.downstream_counts()
        return source

    # -- edit history (the newest PostHog's activity log) -------------------------------------------

    async def read_activity(self) -> None:
        """Who last changed each view's SQL, and when: one ``activity`` request per view."""
        state = self.session.state
        client = self.session.client
        focus = state.focus
        ids = sorted(v for v in state.views if focus is None or v in focus)
        refused: list[str] = []

        async def one(view_id: str) -> None:
            if refused:
                return
            try:
                entries = await client.view_activity(view_id, max_items=50)
            except PermissionDeniedError as exc:
                refused.append(str(exc))
                return
            except NotFoundError:
                return
            for entry in entries:
                if entry.changes_sql:
                    state.edits[view_id] = (entry.who or "unknown", iso(entry.created_at))
                    break

        await self.session.gather("activity", ids, one)
        if refused:
            state.notes.append(
                f"the views' activity logs are not readable with this key ({refused[0]}); "
                "add the scope activity_log:read to see who changed a view"
            )

    def apply_activity(self, graph: LineageGraph) -> None:
        for view_id, (who, when) in sorted(self.session.state.edits.items()):
            if view_id in graph.nx:
                graph.nx.nodes[view_id]["last_editor"] = who
                graph.nx.nodes[view_id]["last_edited_at"] = when

    # -- building ----------------------------------------------------------------------------------

    def build(
        self, settings: Settings, source: EdgeStrategy, *, strategy: str
    ) -> tuple[LineageGraph, list[str]]:
        self.session.forget_gone()
        state = self.session.state
        focus = state.focus
        graph, mismatches = build_graph(
            state,
            settings,
            strategy=strategy,
            crawled_at=self.session.now(),
            focus=focus,
            known_ghost_names=state.ghost_names,
            verify=self.opts.verify,
            whole_graph_known=source.whole_graph,
        )
        data = state.consumers
        if data is not None:
            state.notes += add_consumers(
                graph,
                data,
                host=settings.host,
                project=str(settings.project),
                deleted_by_name=state.deleted_by_name,
                tables={
                    t.name: (t.id, {"table_kind": "warehouse", "source_type": t.source_type})
                    for t in (state.tables or {}).values()
                },
                focus=set(graph.nx.nodes) if focus is not None else None,
            )
        return graph, mismatches + state.sample_mismatches


async def crawl_async(
    settings: Settings,
    options: CrawlOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    client: AsyncPostHogClient | None = None,
) -> CrawlResult:
    """Crawl with an async client (made from ``settings`` unless given)."""
    with _collector_paused():
        return await _crawl(settings, options, transport=transport, client=client)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the crawl, as it was after.

    A crawl builds a few hundred thousand objects that live until it ends (rows, views, jobs, the
    graph) and little cyclic garbage: at 20,000 views the collector's passes over them were a fifth
    of the crawl's CPU time. Reference counting still frees everything else at once.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _crawl(
    settings: Settings,
    options: CrawlOptions,
    *,
    transport: httpx.AsyncBaseTransport | None,
    client: AsyncPostHogClient | None,
) -> CrawlResult:
    started = time.monotonic()
    base = options.refresh
    if base is not None:
        theirs = (base.nx.graph.get("host"), str(base.nx.graph.get("project")))
        if theirs != (settings.host, str(settings.project)):
            raise InputError(
                f"{param('refresh')}: that snapshot was crawled from {theirs[0]} project {theirs[1]}, not "
                f"{settings.host} project {settings.project}; refresh from a snapshot of the same project"
            )
    identity = {
        "host": settings.host,
        "project": settings.project,
        "strategy": options.strategy,
        "select": options.select,
        "upstream": options.upstream,
        "downstream": options.downstream,
        "edges": options.edges,
        "jobs": options.jobs,
        "jobs_since_s": options.jobs_since.total_seconds(),
        "with_sql": options.with_sql,
        "consumers": options.consumers,
    }
    # Where the snapshot and the journal go is checked, and locked, before any request is spent.
    if options.out is not None:
        check_writable(options.out, what=param("out"))
    if options.journal is not None:
        check_writable(options.journal, what="the crawl journal")
    out_lock = FileLock(options.out, what=param("out")).acquire() if options.out is not None else None
    try:
        journal = Journal(options.journal, resume=options.resume, identity=identity)
    except BaseException:
        if out_lock is not None:
            out_lock.release()
        raise
    own = client is None
    try:
        api = client or AsyncPostHogClient(settings, transport=transport, concurrency=options.concurrency)
    except BaseException:
        journal.close(remove=False)
        if out_lock is not None:
            out_lock.release()
        raise
    if journal.server_time is not None:
        api.seed_server_time(journal.server_time)
    if options.on_throttle is not None:
        api.on_throttle = options.on_throttle
    elif options.progress is not None:
        progress = options.progress
        api.on_throttle = lambda wait, spent, budget: progress("429 wait (s)", int(spent), int(budget))
    before = api.stats.snapshot()
    crawler = _Crawler(api, options, journal)
    completed = False
    try:
        source = await crawler.run()
        if options.activity:
            await crawler.read_activity()
        strategy = options.strategy if options.strategy == "all" else f"select {options.select}"
        graph, mismatches = crawler.build(settings, source, strategy=strategy)
        crawler.apply_activity(graph)
        after = api.stats.snapshot()
        requests = sum(after.requests.values()) - sum(before.requests.values())
        seconds = time.monotonic() - started
        graph.nx.graph["requests"] = requests
        graph.nx.graph["seconds"] = round(seconds, 3)
        graph.nx.graph["edge_source"] = source.name
        if options.out is not None:
            graph.save(options.out)  # before the journal goes: a failed write loses no requests
        completed = True
    finally:
        try:
            journal.close(remove=completed)
            if own:
                await api.aclose()
        finally:
            if out_lock is not None:
                out_lock.release()
    if journal.resumed:
        crawler.session.state.notes.append(
            f"resumed: {journal.resumed} finished requests taken from the journal"
        )
    elif journal.missing:
        crawler.session.state.notes.append(
            f"nothing to resume: no journal at {options.journal}; crawled from the start"
        )
    return CrawlResult(
        graph=graph,
        requests=requests,
        seconds=seconds,
        waited_seconds=after.waited_s - before.waited_s,
        retries=after.retries - before.retries,
        edge_source=source.name,
        notes=tuple(crawler.session.state.notes),
        verify_mismatches=tuple(mismatches),
    )


def crawl(
    settings: Settings,
    options: CrawlOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CrawlResult:
    """Synchronous :func:`crawl_async`; safe to call from inside a running event loop (Jupyter)."""
    coro = crawl_async(settings, options, transport=transport)
    return run_sync(coro)
