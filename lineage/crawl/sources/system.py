"""The ``system`` edge source: views, SQL, tables and jobs in a handful of HogQL queries over PostHog's
system tables, edges parsed from each view's SQL, and consumers in five more queries. A refresh
reads only the views changed since its base was crawled (:mod:`lineage.crawl.refresh`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from lineage.aio import LoopTurns, sliced
from lineage.api import SavedQuery, Table
from lineage.consumers.build import ConsumerData
from lineage.crawl import consumers
from lineage.crawl import system as queries  # read through the module: a test may patch REST_LIST_PAGES
from lineage.crawl.build import base_view_attrs
from lineage.crawl.focus import Seed
from lineage.crawl.jobs import compact_row, job_summary
from lineage.crawl.refresh import known_ghost_names, merge_refresh, system_since
from lineage.crawl.sources.base import EdgeStrategy
from lineage.crawl.state import iso
from lineage.crawl.system import (
    REST_FIELDS,
    SYSTEM_CHANGED,
    SYSTEM_JOBS,
    SYSTEM_LIGHT,
    SYSTEM_PAGE,
    SYSTEM_TABLES,
    SYSTEM_VIEWS,
    str_or_none,
    system_table_record,
    system_view_record,
    view_sql,
)
from lineage.errors import (
    BadRequestError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitedError,
)
from lineage.hogql import cache, workers

__all__ = ["SYSTEM_REFUSED", "SystemSource"]

SYSTEM_REFUSED = (
    PermissionDeniedError,
    BadRequestError,
    PaymentRequiredError,
    NotFoundError,
    RateLimitedError,  # the 120-an-hour HogQL budget is spent: the REST API still answers
)
"""What :meth:`SystemSource.read_views` raises when the key may not use the query API."""


T = TypeVar("T")


class SystemSource(EdgeStrategy):
    name = "system"
    whole_graph = True

    async def _rows(
        self, key: str, query: str, values: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every row of ``query`` (from the journal when it has them)."""
        client = self.session.client

        async def fetch() -> list[dict[str, Any]]:
            return [row async for row in client.iter_hogql(query, values=values, page_size=SYSTEM_PAGE)]

        rows: list[dict[str, Any]] = await self.session.once(key, fetch, lambda r: r)
        return rows

    async def _kept_rows(
        self, key: str, query: str, values: Mapping[str, Any], keep: Callable[[dict[str, Any]], T]
    ) -> list[T]:
        """``keep(row)`` of every row of ``query``, made as the rows come while the next page is
        already asked for; the rows themselves are not kept (nor journaled: ``keep``'s results are,
        as JSON)."""
        client = self.session.client

        async def fetch() -> list[T]:
            kept = []
            turns = LoopTurns()  # the next page, asked for ahead, keeps coming meanwhile
            async for row in client.iter_hogql(query, values=values, page_size=SYSTEM_PAGE, prefetch=True):
                kept.append(keep(row))
                await turns.give()
            return kept

        result: list[T] = await self.session.once(key, fetch, lambda r: r)
        return result

    async def read_views(self) -> None:
        """Views, SQL, tables and jobs in a handful of HogQL queries over PostHog's system tables.

        ``SELECT *`` takes whatever columns this PostHog has (the documented ones, and more where
        they exist: sync_frequency, folder_id, latest_error, deleted_name...), so a newer or older
        PostHog costs no failed query. With a refresh base only views changed since its crawl are
        read in full; a light query of every live view catches deletions and status changes.
        Raises one of :data:`SYSTEM_REFUSED` when the key may not use the query API.

        The tables, jobs and folders are asked for as soon as the views have answered (the jobs'
        window is measured on the server's clock, which that answer gives), and this process parses
        the views' SQL and reads their rows while PostHog works on those: at 20,000 views the job
        listing is the slowest query, and the parsing the crawl's largest piece of work.
        """
        s = self.session
        state = s.state
        base = s.opts.refresh
        since = system_since(base)
        if base is not None and since is not None:
            # views deleted before the base was crawled are not among the changed rows: keep their names
            for node_id, name in known_ghost_names(base):
                state.deleted_by_name.setdefault(name, node_id)
                state.ghost_names.setdefault(node_id, name)
        view_rows = await self._view_rows(since)
        # The system table has no owner names and (documented) no folder or cadence: the REST list
        # has them, at one request per 1,000 views. Read it while it fits the request budget
        # (a full crawl stays at most 10 requests, a refresh at most 5); else the folders alone.
        live = sum(1 for r in view_rows if not r.get("deleted"))
        pages = 1 if since is not None else queries.REST_LIST_PAGES
        listed = live <= pages * 1000
        # Asked for in this order, which a server answering one query at a time keeps: the quick
        # ones first, so that the views are read while the job listing is worked on.
        tables = asyncio.ensure_future(self._tables())
        listing = asyncio.ensure_future(self._rest_list() if listed else self._folders())
        jobs = asyncio.ensure_future(self._job_listing())
        # Parsing every view's SQL begins: with much to parse, a worker process takes its share now
        # (lineage.hogql.workers), while this one reads the views; it then parses what is left.
        parsing = await workers.start(cache.shared(), [sql for sql in map(view_sql, view_rows) if sql])
        try:
            rest_views, folders = await listing
            if not listed:
                state.notes.append(
                    f"{live} views: owners are not read "
                    f"(the REST list would take {-(-live // 1000)} requests)"
                )
            endpoints = await self._take_views(view_rows, rest_views, folders)
            # Parse until the jobs are in, then summarise them while the worker parses on (with a
            # first crawl's parse, both cores are busy until it ends; the summaries would otherwise
            # wait until after it, with one core idle)
            await parsing.parse_some(until=jobs.done)
            if jobs.done() and parsing.front < parsing.back:
                await jobs
                await self._summarise_jobs()
            await parsing.finish()
            await tables  # the edges resolve names to tables
            await self.read_edges(sorted(state.views))
            if not jobs.done():
                await self._prepare_attrs()
            await jobs
        except BaseException:
            for task in (tables, jobs, listing):
                task.cancel()
            await asyncio.gather(tables, jobs, listing, return_exceptions=True)
            await parsing.aclose()
            raise
        # Endpoint views that something reads belong in the graph, as the lineage endpoints name them.
        todo = sorted({p for ps in state.parents.values() for p in ps if p in endpoints})
        while todo:
            view_id = todo.pop()
            if view_id in state.hidden_views:
                continue
            state.hidden_views[view_id] = endpoints[view_id]
            state.parents[view_id] = s.parents_from_sql(view_id)
            todo += [p for p in state.parents[view_id] if p in endpoints]
        for view_id in endpoints:
            if view_id not in state.hidden_views:
                state.sql.pop(view_id, None)
        for parents in state.parents.values():
            state.ghosts.update(p for p in parents if p in set(state.deleted_by_name.values()))

    async def _take_views(
        self,
        view_rows: list[dict[str, Any]],
        rest_views: Mapping[str, Mapping[str, Any]],
        folders: Mapping[str, str],
    ) -> dict[str, SavedQuery]:
        """The views of ``view_rows`` into the crawl's state, with their REST fields and folder names;
        returns the endpoint views (hidden from the list, but views SQL may read by name)."""
        state = self.session.state
        endpoints: dict[str, SavedQuery] = {}
        async for row in sliced(view_rows):
            record = system_view_record(row, folders)
            rest = rest_views.get(record["id"])
            if rest is not None:
                record.update({k: rest[k] for k in REST_FIELDS if k in rest})
            if record.get("deleted"):
                old = str_or_none(row.get("deleted_name"))
                if old:
                    state.deleted_by_name[old] = record["id"]
                    state.ghost_names[record["id"]] = old
                continue
            view = SavedQuery.from_api(record, keep_raw=False)  # the crawl reads the fields alone
            state.sql[view.id] = view.sql
            if record.get("origin") == "endpoint":
                # Hidden from the saved-query list, but still a saved query a view may read by name.
                endpoints[view.id] = view
                state.by_name.setdefault(view.name, view.id)
                continue
            state.views[view.id] = view
            state.by_name[view.name] = view.id
        return endpoints

    async def _summarise_jobs(self) -> None:
        """Group the jobs per view now and summarise them (the build takes the summaries)."""
        s = self.session
        await s.read_jobs(sorted(s.state.views))
        state = s.state
        if not state.jobs_read:
            return
        async for view_id in sliced(sorted(state.views)):
            state.job_summaries[view_id] = job_summary(state.jobs.get(view_id) or [])

    async def _prepare_attrs(self) -> None:
        """Each view's snapshot attributes but its jobs, made while the job listing is still on its
        way (the build adds the jobs and takes these as they are)."""
        state = self.session.state
        async for view_id, view in sliced(sorted(state.views.items())):
            state.ready_attrs[view_id] = base_view_attrs(view, state.sql.get(view_id))

    async def _view_rows(self, since: str | None) -> list[dict[str, Any]]:
        """Every view's row, or with a refresh base the changed ones merged into the base's."""
        state = self.session.state
        base = self.session.opts.refresh
        if since is None:
            return await self._rows("sys:views", SYSTEM_VIEWS)
        changed = await self._rows("sys:changed", SYSTEM_CHANGED, {"since": since})
        light = await self._rows("sys:light", SYSTEM_LIGHT)
        view_rows, missing = merge_refresh(base, changed, light) if base is not None else (changed, [])
        if missing:
            # The base lacks live views it should hold (a focused crawl, or views hidden then):
            # one full read keeps the snapshot complete.
            state.notes.append(f"the refresh base lacks {len(missing)} live views; read every view in full")
            view_rows = await self._rows("sys:views", SYSTEM_VIEWS)
        return view_rows

    async def read_edges(self, view_ids: list[str]) -> None:
        """Each view's parents from its SQL, which came with the views."""
        s = self.session
        for view_id in view_ids:
            s.state.parents[view_id] = s.parents_from_sql(view_id)

    async def _tables(self) -> None:
        # self.session.state is looked up when written, not before the awaits, as in every task
        # read_views runs side by side: what they write lands in the state of the moment.
        try:
            rows = await self._rows("sys:tables", SYSTEM_TABLES)
        except BadRequestError:
            # The sources table is refused or unknown: the tables alone (sourced tables then
            # resolve by storage name only).
            try:
                rows = await self._rows("sys:tables-plain", queries.SYSTEM_TABLES_PLAIN)
            except (PermissionDeniedError, BadRequestError) as exc:
                self.session.state.notes.append(
                    f"system.data_warehouse_tables is not readable ({exc}); tables stay unnamed"
                )
                rows = []
        except PermissionDeniedError as exc:
            self.session.state.notes.append(
                f"system.data_warehouse_tables is not readable ({exc}); tables stay unnamed"
            )
            rows = []
        tables = (Table.from_api(system_table_record(r)) for r in rows if not r.get("deleted"))
        self.session.state.tables = {t.id: t for t in tables if t is not None}

    async def _job_listing(self) -> None:
        s = self.session
        if not s.opts.jobs:
            return
        fetch_since = s.jobs_fetch_since()
        # Each row becomes its snapshot record as it comes, while PostHog works on the next page;
        # only the records are kept (at 20,000 views the 70,000 rows were 100 MB, the records 25).
        try:
            compacted = await self._kept_rows(
                "sys:jobs-compact",
                SYSTEM_JOBS,
                {"since": iso(fetch_since)},
                lambda row: compact_row(row),  # looked up when called (a test counts the calls)
            )
        except (PermissionDeniedError, BadRequestError) as exc:
            s.state.notes.append(f"system.data_modeling_jobs is not readable ({exc}); using run_history")
            s.state.job_listing, s.state.job_listing_read = None, True
            return
        # (a resumed crawl's journal gives each as a [view, record] list)
        s.state.job_listing, s.state.job_listing_read = [], True
        s.state.job_compacted = [p if type(p) is tuple else (p[0], p[1]) for p in compacted]

    async def _rest_list(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """The REST list's records by view id (owners, folders, cadence), and no folder names apart."""
        s = self.session
        raw = await s.once("views", lambda: s.client.list_views(), lambda vs: [dict(v.raw) for v in vs])
        return {str(item.get("id")): item for item in raw}, {}

    async def _folders(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """No REST records, and the folder names by folder id."""
        s = self.session
        try:
            raw = await s.once(
                "folders", lambda: s.client.list_folders(), lambda fs: [dict(f.raw) for f in fs]
            )
        except PermissionDeniedError as exc:
            s.state.notes.append(f"folders are not readable with this key ({exc}); views show no folder")
            raw = []
        return {}, {str(f.get("id")): str(f.get("name")) for f in raw if f.get("id")}

    async def read_all(self) -> None:
        await asyncio.gather(self.session.read_jobs(sorted(self.session.state.views)), self.read_consumers())
        await self.spot_check()

    async def read_select(self, seeds: list[Seed]) -> None:
        await asyncio.gather(self.session.read_jobs(sorted(self.session.state.views)), self.read_consumers())
        self.focus_on(seeds)

    async def consumer_data(self, notes: list[str]) -> ConsumerData:
        """The consumers in five HogQL queries over the system tables; owners named from the views."""
        s = self.session
        users = {
            v.created_by.id: v.created_by.display_name
            for v in [*s.state.views.values(), *s.state.hidden_views.values()]
            if v.created_by is not None and v.created_by.id is not None and v.created_by.display_name
        }
        client = s.client

        async def rows(key: str, query: str) -> list[dict[str, Any]]:
            async def fetch() -> list[dict[str, Any]]:
                return [row async for row in client.iter_hogql(query, page_size=SYSTEM_PAGE)]

            got: list[dict[str, Any]] = await s.once_refusable(key, fetch, lambda r: r)
            return got

        return await consumers.read_system(rows, notes, users)
