"""One crawl's requests and what they taught it.

:class:`CrawlSession` sends every request through the journal (an answer the journal holds is not asked
for again, so a resumed crawl repeats nothing it finished) and a fixed pool of workers, keeps what
the crawl learns in a :class:`~lineage.crawl.state.CrawlState`, and holds the reads that more than
one edge source needs: the REST list of views, the warehouse tables, a view's SQL, the job listing
and run history, ``dependencies`` counts, and the naming of UUIDs that no listing explains. The
edge sources (:mod:`lineage.crawl.sources`) build on it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from lineage.api import AsyncPostHogClient, SavedQuery, Table
from lineage.crawl.jobs import group_jobs, jobs_fetch_since, list_jobs, run_history_jobs
from lineage.crawl.journal import Journal
from lineage.crawl.options import CrawlOptions
from lineage.crawl.refresh import known_jobs, reusable_sql
from lineage.crawl.resolve import parents_from_sql
from lineage.crawl.state import CrawlState, is_uuid
from lineage.errors import ApiError, BadRequestError, NotFoundError, PermissionDeniedError

__all__ = ["VIEWS_PER_PAGE", "CrawlSession"]

VIEWS_PER_PAGE = 1000  # PostHog's saved-query page size

T = TypeVar("T")


class CrawlSession:
    """The client, the options, the journal and the state of one crawl, and the requests it spends."""

    def __init__(self, client: AsyncPostHogClient, options: CrawlOptions, journal: Journal) -> None:
        self.client = client
        self.opts = options
        self.journal = journal
        self.state = CrawlState()
        self._sem = asyncio.Semaphore(max(1, options.concurrency))
        self._tables_lock = asyncio.Lock()
        self._listing: asyncio.Future[None] | None = None

    def restart(self, note: str) -> None:
        """Forget what was learnt (a source that failed half-way), saying why in ``note``. The names
        of the refresh base's ghosts stay: they were read from the base, not from PostHog."""
        self.state = CrawlState(notes=[note], ghost_names=self.state.ghost_names)

    # -- plumbing ----------------------------------------------------------------------------------

    async def once(self, key: str, call: Callable[[], Awaitable[T]], encode: Callable[[T], Any]) -> Any:
        """Run a request unless the journal has its answer; journal what it returns."""
        found, value = self.journal.get(key)
        if found:
            return value
        async with self._sem:
            result = await call()
        value = encode(result)
        self.put(key, value)
        return value

    def put(self, key: str, value: Any) -> None:
        """Journal an answer with the server's clock, so a resume measures time as this crawl did."""
        self.journal.put(key, value, server_time=self.client.server_now())

    async def once_refusable(
        self, key: str, call: Callable[[], Awaitable[T]], encode: Callable[[T], Any]
    ) -> Any:
        """:meth:`once`, journaling a refusal too, so a resumed crawl does not ask again."""
        found, value = self.journal.get(key)
        if found and isinstance(value, dict) and "refused" in value:
            error = {"NotFoundError": NotFoundError, "BadRequestError": BadRequestError}.get(
                str(value.get("error")), PermissionDeniedError
            )
            raise error(str(value["refused"]))
        try:
            return await self.once(key, call, encode)
        except (PermissionDeniedError, BadRequestError, NotFoundError) as exc:
            kind = "NotFoundError" if isinstance(exc, NotFoundError) else type(exc).__name__
            if isinstance(exc, BadRequestError):
                kind = "BadRequestError"
            self.journal.put(key, {"refused": str(exc), "error": kind})
            raise

    async def or_gone(
        self, key: str, call: Callable[[], Awaitable[T]], encode: Callable[[T], Any], view_id: str
    ) -> Any:
        """A view deleted while the crawl runs answers 404: remember it as gone (journaled, so a
        resumed crawl does not stumble on it again) instead of failing the whole crawl."""
        try:
            value = await self.once(key, call, encode)
        except NotFoundError:
            self.put(key, None)
            value = None
        if value is None:
            self.state.gone.add(view_id)
        return value

    def forget_gone(self) -> None:
        """Drop views deleted during the crawl; readers that still name them become ghosts."""
        state = self.state
        for view_id in sorted(state.gone):
            view = state.views.pop(view_id, None)
            state.parents.pop(view_id, None)
            state.sql.pop(view_id, None)
            if view is not None and state.by_name.get(view.name) == view_id:
                del state.by_name[view.name]
                state.notes.append(f"view {view.name!r} was deleted while the crawl ran; left out")
        state.gone.clear()

    async def gather(
        self,
        label: str,
        items: list[str],
        work: Callable[[str], Awaitable[None]],
        *,
        more: Awaitable[list[str]] | None = None,
    ) -> None:
        """Run ``work`` on every item, telling progress under ``label``.

        ``more`` is a second batch still being read (the rest of a listing): the workers start on
        ``items`` at once and take its items as soon as it delivers, without draining in between.
        """
        pending = deque(items)
        total = len(items)
        done = 0
        progress = self.opts.progress
        awaiting = more is not None
        arrived = asyncio.Event()

        async def one(item: str) -> None:
            nonlocal done
            await work(item)
            done += 1
            if progress is not None:
                progress(label, done, total)

        if progress is not None:
            progress(label, 0, total)

        # A fixed pool of workers pulling from one queue: requests in flight stay at the
        # concurrency until the last item (batches would drain at every batch's tail), and a
        # 50,000-view crawl never holds 50,000 coroutines. The first failure stops the pool.
        async def worker() -> None:
            while True:
                if pending:
                    await one(pending.popleft())
                elif awaiting:
                    await arrived.wait()
                else:
                    return

        async def feed() -> None:
            nonlocal awaiting, total
            assert more is not None
            try:
                extra = await more
            finally:
                awaiting = False
                arrived.set()
            pending.extend(extra)
            total += len(extra)
            if progress is not None:
                progress(label, done, total)

        size = max(1, self.opts.concurrency)
        tasks = [asyncio.ensure_future(worker()) for _ in range(size if awaiting else min(total, size))]
        if more is not None:
            tasks.append(asyncio.ensure_future(feed()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    def now(self) -> datetime:
        """The server's time where it said (Date header), else ours."""
        return self.client.server_now() or datetime.now(UTC)

    # -- views and tables --------------------------------------------------------------------------

    def _encode_views(self, views: list[SavedQuery]) -> list[dict[str, Any]]:
        return [dict(v.raw) for v in views]

    async def _views(self, key: str) -> list[SavedQuery]:
        """The REST list of views, as the client parsed it; from the journal (parsed here) on resume.

        Not :meth:`once`: that hands back the journaled form, and parsing 1,000s of views again
        from it cost as much as the client's own parse, at the start of the crawl, before any edge.
        """
        journaled = self._journaled_views(key)
        if journaled is not None:
            return journaled
        async with self._sem:
            views = await self.client.list_views()
        self.put(key, self._encode_views(views))
        return views

    def _journaled_views(self, key: str) -> list[SavedQuery] | None:
        """The list of views a resumed crawl journaled under ``key``, parsed; None when not there."""
        found, raw = self.journal.get(key)
        return [SavedQuery.from_api(item) for item in raw] if found else None

    async def list_views(self) -> None:
        """Read the REST list of views into ``state.views``; return once its first page is in.

        The pages after it are read behind (:meth:`views_listed` waits for them), so the edges of
        the first 1,000 views are asked for while the rest of the list is still coming, instead of
        after one page after another (each a round trip and a parse of 1,000 views).
        """
        journaled = self._journaled_views("views")
        if journaled is not None:
            self._add_views(journaled)
            return
        first_page = asyncio.Event()

        async def read() -> None:
            views: list[SavedQuery] = []
            try:
                async with self._sem:
                    async for view in self.client.iter_views():
                        views.append(view)
                        self._add_views([view])
                        if len(views) == VIEWS_PER_PAGE:
                            first_page.set()
            finally:
                first_page.set()
            self.put("views", self._encode_views(views))

        listing = asyncio.ensure_future(read())
        # a crawl that fails elsewhere first leaves the listing's own failure unread: not a warning
        listing.add_done_callback(lambda task: task.cancelled() or task.exception())
        self._listing = listing
        waiter = asyncio.ensure_future(first_page.wait())
        try:
            await asyncio.wait([listing, waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if listing.done():
            listing.result()  # the first page's failure is the crawl's

    async def views_listed(self) -> None:
        """Wait until every page of the REST list of views is in (raises what reading it raised)."""
        if self._listing is not None:
            await asyncio.shield(self._listing)

    def stop_listing(self) -> None:
        """Stop reading the list of views (the crawl failed before it needed the rest)."""
        if self._listing is not None and not self._listing.done():
            self._listing.cancel()

    async def relist_views(self) -> list[str]:
        """Page-number pages shift when a view is deleted between two of them: the first view of the
        next page slides back and is never listed. A second pass lists it; the union holds every live
        view (a deleted one answers 404 later and is left out). One request per 1,000 views, only when
        there is more than one page; returns the ids the second pass found."""
        await self.views_listed()
        if len(self.state.views) <= VIEWS_PER_PAGE:
            return []
        new = [view for view in await self._views("views:again") if view.id not in self.state.views]
        self._add_views(new)
        return sorted(view.id for view in new)

    def _add_views(self, views: list[SavedQuery]) -> None:
        for view in views:
            self.state.views[view.id] = view
            self.state.by_name[view.name] = view.id

    async def list_tables(self) -> None:
        async with self._tables_lock:  # read_all and the sql edge source may both ask at once
            if self.state.tables is None:
                await self._list_tables()

    async def _list_tables(self) -> None:
        try:
            raw = await self.once(
                "tables",
                lambda: self.client.list_tables(),
                lambda tables: [dict(t.raw) for t in tables],
            )
        except PermissionDeniedError as exc:
            self.state.notes.append(
                f"warehouse tables are not readable with this key ({exc}); table UUIDs stay unnamed "
                "(add the warehouse_table:read scope to name them)"
            )
            self.state.tables = {}
            self.state.tables_unreadable = True
            return
        tables = (Table.from_api(item) for item in raw)
        self.state.tables = {t.id: t for t in tables if t is not None}

    async def fetch_sql(self, view_id: str) -> None:
        old = reusable_sql(self.opts.refresh, self.state.views, view_id)
        if old is not None:
            self.state.sql[view_id] = old
            return
        raw = await self.or_gone(
            f"get:{view_id}", lambda: self.client.get_view(view_id), lambda v: dict(v.raw), view_id
        )
        self.state.sql[view_id] = SavedQuery.from_api(raw).sql if raw is not None else None

    def parents_from_sql(self, view_id: str) -> list[str]:
        return parents_from_sql(self.state, view_id, deleted_by_name=self.state.deleted_by_name)

    async def name_unknown(self) -> list[str]:
        """Probe the UUIDs lineage names that no listing explains; return the hidden views found.

        A hidden view (an endpoint's, or a managed one without the flag) is still read by lineage;
        a UUID that answers 404 is a ghost (a deleted view)."""
        state = self.state
        named = set(state.views) | set(state.hidden_views) | state.ghosts
        unknown = sorted({p for ps in state.parents.values() for p in ps if is_uuid(p) and p not in named})
        if not unknown:
            return []
        await self.list_tables()
        tables = state.tables or {}
        missing = [u for u in unknown if u not in tables and u not in state.probed]
        state.probed.update(missing)
        before = set(state.hidden_views)

        async def probe(view_id: str) -> None:
            try:
                raw = await self.once(
                    f"get:{view_id}", lambda: self.client.get_view(view_id), lambda v: dict(v.raw)
                )
            except NotFoundError:
                self.put(f"get:{view_id}", None)
                raw = None
            view = SavedQuery.from_api(raw) if raw is not None else None
            if view is None:
                # Without the table list a 404 cannot tell a deleted view from a warehouse table:
                # leave it 'unknown' rather than call a table a ghost.
                if not state.tables_unreadable:
                    state.ghosts.add(view_id)
            else:
                state.hidden_views[view_id] = view

        await self.gather("naming", missing, probe)
        return sorted(set(state.hidden_views) - before)

    async def read_dependencies(self, label: str, view_ids: list[str]) -> None:
        """Each view's ``dependencies`` counts (upstream and downstream) into ``state.deps``."""

        async def one(view_id: str) -> None:
            raw = await self.once(
                f"deps:{view_id}", lambda: self.client.dependencies(view_id), lambda d: dict(d.raw)
            )
            self.state.deps[view_id] = raw

        await self.gather(label, view_ids, one)

    # -- jobs --------------------------------------------------------------------------------------

    def jobs_fetch_since(self) -> datetime:
        """The window's start, or the newest job a refresh base already knows, whichever is later."""
        base = self.opts.refresh
        # A focused base holds the jobs of its views only: the others need the whole window.
        whole = base is not None and base.nx.graph.get("strategy") != "all"
        known = [] if whole else [job for _, job in known_jobs(base)]
        return jobs_fetch_since(self.now(), self.opts.jobs_since, known)

    async def fetch_jobs(self) -> None:
        """Read the job listing once, newest first, down to the window (or the newest job a refresh knows)."""
        if not self.opts.jobs:
            return
        fetch_since = self.jobs_fetch_since()
        try:
            listing = await self.once(
                "jobs",
                lambda: list_jobs(self.client, since=fetch_since),
                lambda jobs: [dict(j.raw) for j in jobs],
            )
        except PermissionDeniedError as exc:
            self.state.notes.append(
                f"data modeling jobs are not readable with this key ({exc}); using run_history"
            )
            listing = None
        self.state.job_listing, self.state.job_listing_read = listing, True

    async def read_jobs(self, view_ids: list[str]) -> None:
        """Group the job listing (plus what a refresh base knew) per view; run_history as the fallback.
        Once per crawl: a source that grouped them early (the system source does, while it waits for
        the views' SQL to be parsed) is not grouped again."""
        if not self.opts.jobs or self.state.jobs_read:
            return
        if not self.state.job_listing_read:
            await self.fetch_jobs()
        if self.state.job_listing is None:
            await self.read_run_history(view_ids)
            return
        since = self.now() - self.opts.jobs_since
        self.state.jobs = group_jobs(
            self.state.job_listing,
            known_jobs(self.opts.refresh),
            wanted=set(view_ids),
            since=since,
            compacted=self.state.job_compacted,
        )
        self.state.jobs_read = True

    async def read_run_history(self, view_ids: list[str]) -> None:
        materialized = [v for v in view_ids if v in self.state.views and self.state.views[v].is_materialized]

        async def one(view_id: str) -> None:
            try:
                entries = await self.once(
                    f"runs:{view_id}",
                    lambda: self.client.run_history(view_id),
                    lambda rs: [dict(r.raw) for r in rs],
                )
            except ApiError:
                return
            self.state.jobs[view_id] = run_history_jobs(entries)

        await self.gather("run history", materialized, one)
        self.state.jobs_read = True
