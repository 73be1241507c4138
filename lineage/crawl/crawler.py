"""The crawl itself: :class:`_Crawler` runs the strategies (``all`` and ``select``) over the edge
sources (``api``, ``sql``, ``system``), spending requests through the journal and a fixed pool of
workers; :func:`crawl_async` and :func:`crawl` run one crawl and hand back a :class:`CrawlResult`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from lineage.aio import run_sync
from lineage.api import AsyncPostHogClient, SavedQuery, Table
from lineage.config import Settings
from lineage.consumers.build import add_consumers
from lineage.crawl import consumers, system
from lineage.crawl.build import build_graph
from lineage.crawl.focus import Seed, boundaries, closure_from_edges, drop_dotted_prefixes, parse_seeds
from lineage.crawl.jobs import group_jobs, jobs_fetch_since, list_jobs, run_history_jobs
from lineage.crawl.journal import Journal
from lineage.crawl.options import CrawlOptions, CrawlResult
from lineage.crawl.refresh import known_ghost_names, known_jobs, merge_refresh, reusable_sql, system_since
from lineage.crawl.resolve import dotted_labels, full_dotted_name, parents_from_sql
from lineage.crawl.state import CrawlState, is_uuid, iso
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
)
from lineage.errors import (
    ApiError,
    BadRequestError,
    InputError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    SelectorError,
)
from lineage.graph import LineageGraph
from lineage.io import FileLock, check_writable

if TYPE_CHECKING:
    import httpx  # only the transport's type: HTTP itself stays in lineage.api

__all__ = ["crawl", "crawl_async"]

VIEWS_PER_PAGE = 1000  # PostHog's saved-query page size
HIDDEN_ROUNDS = 20  # hidden views reading hidden views: rounds of probing before giving up

T = TypeVar("T")


class _Crawler:
    def __init__(self, client: AsyncPostHogClient, options: CrawlOptions, journal: Journal) -> None:
        self.client = client
        self.opts = options
        self.journal = journal
        self.state = CrawlState()
        self._sem = asyncio.Semaphore(max(1, options.concurrency))
        self.edge_source = "api"
        self._tables_lock = asyncio.Lock()

    # -- plumbing ----------------------------------------------------------------------------------

    async def _once(self, key: str, call: Callable[[], Awaitable[T]], encode: Callable[[T], Any]) -> Any:
        """Run a request unless the journal has its answer; journal what it returns."""
        found, value = self.journal.get(key)
        if found:
            return value
        async with self._sem:
            result = await call()
        value = encode(result)
        self._put(key, value)
        return value

    def _put(self, key: str, value: Any) -> None:
        """Journal an answer with the server's clock, so a resume measures time as this crawl did."""
        self.journal.put(key, value, server_time=self.client.server_now())

    async def _gather(self, label: str, items: list[str], work: Callable[[str], Awaitable[None]]) -> None:
        total = len(items)
        done = 0
        progress = self.opts.progress

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
        queue = iter(items)

        async def worker() -> None:
            for item in queue:
                await one(item)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(total, max(1, self.opts.concurrency)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()

    # -- listing -----------------------------------------------------------------------------------

    def _encode_views(self, views: list[SavedQuery]) -> list[dict[str, Any]]:
        return [dict(v.raw) for v in views]

    async def list_views(self) -> None:
        raw = await self._once("views", lambda: self.client.list_views(), self._encode_views)
        self._add_views(raw)

    async def relist_views(self) -> list[str]:
        """Page-number pages shift when a view is deleted between two of them: the first view of the
        next page slides back and is never listed. A second pass lists it; the union holds every live
        view (a deleted one answers 404 later and is left out). One request per 1,000 views, only when
        there is more than one page; returns the ids the second pass found."""
        if len(self.state.views) <= VIEWS_PER_PAGE:
            return []
        again = await self._once("views:again", lambda: self.client.list_views(), self._encode_views)
        new = [item for item in again if str(item.get("id")) not in self.state.views]
        self._add_views(new)
        return sorted(str(item.get("id")) for item in new)

    def _add_views(self, raw: list[dict[str, Any]]) -> None:
        for item in raw:
            view = SavedQuery.from_api(item)
            self.state.views[view.id] = view
            self.state.by_name[view.name] = view.id

    async def list_tables(self) -> None:
        async with self._tables_lock:  # run_all and the sql edge source may both ask at once
            if self.state.tables is None:
                await self._list_tables()

    async def _list_tables(self) -> None:
        try:
            raw = await self._once(
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

    # -- edges -------------------------------------------------------------------------------------

    async def parents_api(self, view_id: str) -> None:
        got = await self._or_gone(
            f"anc1:{view_id}", lambda: self.client.ancestors(view_id, level=1), list, view_id
        )
        if got is not None:
            self.state.parents[view_id] = sorted(got)

    async def _or_gone(
        self, key: str, call: Callable[[], Awaitable[T]], encode: Callable[[T], Any], view_id: str
    ) -> Any:
        """A view deleted while the crawl runs answers 404: remember it as gone (journaled, so a
        resumed crawl does not stumble on it again) instead of failing the whole crawl."""
        try:
            value = await self._once(key, call, encode)
        except NotFoundError:
            self._put(key, None)
            value = None
        if value is None:
            self.state.gone.add(view_id)
        return value

    def _forget_gone(self) -> None:
        """Drop views deleted during the crawl; readers that still name them become ghosts."""
        for view_id in sorted(self.state.gone):
            view = self.state.views.pop(view_id, None)
            self.state.parents.pop(view_id, None)
            self.state.sql.pop(view_id, None)
            if view is not None and self.state.by_name.get(view.name) == view_id:
                del self.state.by_name[view.name]
                self.state.notes.append(f"view {view.name!r} was deleted while the crawl ran; left out")
        self.state.gone.clear()

    async def fetch_sql(self, view_id: str) -> None:
        old = reusable_sql(self.opts.refresh, self.state.views, view_id)
        if old is not None:
            self.state.sql[view_id] = old
            return
        raw = await self._or_gone(
            f"get:{view_id}", lambda: self.client.get_view(view_id), lambda v: dict(v.raw), view_id
        )
        self.state.sql[view_id] = SavedQuery.from_api(raw).sql if raw is not None else None

    def parents_from_sql(self, view_id: str) -> list[str]:
        return parents_from_sql(self.state, view_id, deleted_by_name=self.state.deleted_by_name)

    async def choose_edge_source(self) -> None:
        wanted = self.opts.edges
        if wanted != "auto":
            self.edge_source = wanted
            return
        probe = next(iter(sorted(self.state.views)), None)
        if probe is None:
            self.edge_source = "api"
            return
        try:
            await self.parents_api(probe)
            self.edge_source = "api"
        except PermissionDeniedError as exc:
            self.edge_source = "sql"
            self.state.notes.append(
                f"the lineage endpoints refuse this key ({exc}); "
                "rebuilt lineage from each view's HogQL instead"
            )

    async def resolve_names(self) -> None:
        """Name table UUIDs, find views hidden from the list, and mark ghosts (deleted views).

        A hidden view (an endpoint's, or a managed one without the flag) is still read by lineage:
        with api edges its own parents are asked too, round after round, until nothing is new.
        """
        self._forget_gone()
        for _round in range(HIDDEN_ROUNDS):
            found = await self._resolve_round()
            if not found or self.edge_source != "api":
                return
            await self._gather("lineage", found, self.parents_api)

    async def _resolve_round(self) -> list[str]:
        """Probe the UUIDs lineage names that no listing explains; return the hidden views found."""
        named = set(self.state.views) | set(self.state.hidden_views) | self.state.ghosts
        unknown = sorted(
            {p for ps in self.state.parents.values() for p in ps if is_uuid(p) and p not in named}
        )
        if not unknown:
            return []
        await self.list_tables()
        tables = self.state.tables or {}
        missing = [u for u in unknown if u not in tables and u not in self.state.probed]
        self.state.probed.update(missing)
        before = set(self.state.hidden_views)

        async def probe(view_id: str) -> None:
            try:
                raw = await self._once(
                    f"get:{view_id}", lambda: self.client.get_view(view_id), lambda v: dict(v.raw)
                )
            except NotFoundError:
                self._put(f"get:{view_id}", None)
                raw = None
            view = SavedQuery.from_api(raw) if raw is not None else None
            if view is None:
                # Without the table list a 404 cannot tell a deleted view from a warehouse table:
                # leave it 'unknown' rather than call a table a ghost.
                if not self.state.tables_unreadable:
                    self.state.ghosts.add(view_id)
            else:
                self.state.hidden_views[view_id] = view

        await self._gather("naming", missing, probe)
        return sorted(set(self.state.hidden_views) - before)

    async def full_dotted_names(self) -> dict[str, str]:
        """Level-1 answers name a dotted PostHog table (``posthog.ai_events``) by its last label.

        One consumer's HogQL per distinct label tells the full name; that is a handful of requests.
        """
        renames: dict[str, str] = {}
        for label, consumer in sorted(dotted_labels(self.state.parents).items()):
            if consumer not in self.state.sql:
                try:
                    await self.fetch_sql(consumer)
                except ApiError:
                    continue
            sql = self.state.sql.get(consumer)
            if not sql:
                continue
            full = full_dotted_name(sql, label, self.state.by_name)
            if full is not None:
                renames[label] = full
        return renames

    # -- jobs --------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The server's time where it said (Date header), else ours."""
        return self.client.server_now() or datetime.now(UTC)

    def _jobs_fetch_since(self) -> datetime:
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
        fetch_since = self._jobs_fetch_since()
        try:
            listing = await self._once(
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
        """Group the job listing (plus what a refresh base knew) per view; run_history as the fallback."""
        if not self.opts.jobs:
            return
        if not self.state.job_listing_read:
            await self.fetch_jobs()
        if self.state.job_listing is None:
            await self.read_run_history(view_ids)
            return
        since = self.now() - self.opts.jobs_since
        self.state.jobs = group_jobs(
            self.state.job_listing, known_jobs(self.opts.refresh), wanted=set(view_ids), since=since
        )
        self.state.jobs_read = True

    async def read_run_history(self, view_ids: list[str]) -> None:
        materialized = [v for v in view_ids if v in self.state.views and self.state.views[v].is_materialized]

        async def one(view_id: str) -> None:
            try:
                entries = await self._once(
                    f"runs:{view_id}",
                    lambda: self.client.run_history(view_id),
                    lambda rs: [dict(r.raw) for r in rs],
                )
            except ApiError:
                return
            self.state.jobs[view_id] = run_history_jobs(entries)

        await self._gather("run history", materialized, one)
        self.state.jobs_read = True

    # -- strategies --------------------------------------------------------------------------------

    async def edges_for(self, view_ids: list[str]) -> None:
        if self.edge_source == "api":
            todo = [v for v in view_ids if v not in self.state.parents]
            await self._gather("lineage", todo, self.parents_api)
            renames = await self.full_dotted_names()
            if renames:
                for v, ps in self.state.parents.items():
                    self.state.parents[v] = sorted({renames.get(p, p) for p in ps})
        else:
            await self.list_tables()
            await self._gather("sql", [v for v in view_ids if v not in self.state.sql], self.fetch_sql)
            for v in view_ids:
                self.state.parents[v] = self.parents_from_sql(v)

    # -- the query API (system tables) ------------------------------------------------------------

    async def _rows(
        self, key: str, query: str, values: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            return [row async for row in self.client.iter_hogql(query, values=values, page_size=SYSTEM_PAGE)]

        rows: list[dict[str, Any]] = await self._once(key, fetch, lambda r: r)
        return rows

    async def run_system(self) -> None:
        """Views, SQL, tables and jobs in a handful of HogQL queries over PostHog's system tables.

        ``SELECT *`` takes whatever columns this PostHog has (the documented ones, and more where
        they exist: sync_frequency, folder_id, latest_error, deleted_name...), so a newer or older
        PostHog costs no failed query. With a refresh base only views changed since its crawl are
        read in full; a light query of every live view catches deletions and status changes.
        """
        base = self.opts.refresh
        since = system_since(base)
        if base is not None and since is not None:
            # views deleted before the base was crawled are not among the changed rows: keep their names
            for node_id, name in known_ghost_names(base):
                self.state.deleted_by_name.setdefault(name, node_id)
                self.state.ghost_names.setdefault(node_id, name)
        if since is None:
            view_rows = await self._rows("sys:views", SYSTEM_VIEWS)
        else:
            changed = await self._rows("sys:changed", SYSTEM_CHANGED, {"since": since})
            light = await self._rows("sys:light", SYSTEM_LIGHT)
            view_rows, missing = merge_refresh(base, changed, light) if base is not None else (changed, [])
            if missing:
                # The base lacks live views it should hold (a focused crawl, or views hidden then):
                # one full read keeps the snapshot complete.
                self.state.notes.append(
                    f"the refresh base lacks {len(missing)} live views; read every view in full"
                )
                view_rows = await self._rows("sys:views", SYSTEM_VIEWS)
        self.edge_source = "system"
        # The system table has no owner names and (documented) no folder or cadence: the REST list
        # has them, at one request per 1,000 views. Read it while it fits the request budget
        # (a full crawl stays at most 10 requests, a refresh at most 5); else the folders alone.
        live = sum(1 for r in view_rows if not r.get("deleted"))
        # REST_LIST_PAGES is read through its module, where a test may patch it
        pages = 1 if since is not None else system.REST_LIST_PAGES
        listed = live <= pages * 1000
        _, _, (rest_views, folders) = await asyncio.gather(
            self._system_tables(), self.fetch_jobs_system(), self._rest_list() if listed else self._folders()
        )
        if not listed:
            self.state.notes.append(
                f"{live} views: owners are not read (the REST list would take {-(-live // 1000)} requests)"
            )
        endpoints: dict[str, SavedQuery] = {}
        for row in view_rows:
            record = system_view_record(row, folders)
            rest = rest_views.get(record["id"])
            if rest is not None:
                record.update({k: rest[k] for k in REST_FIELDS if k in rest})
            if record.get("deleted"):
                old = str_or_none(row.get("deleted_name"))
                if old:
                    self.state.deleted_by_name[old] = record["id"]
                    self.state.ghost_names[record["id"]] = old
                continue
            view = SavedQuery.from_api(record)
            self.state.sql[view.id] = view.sql
            if record.get("origin") == "endpoint":
                # Hidden from the saved-query list, but still a saved query a view may read by name.
                endpoints[view.id] = view
                self.state.by_name.setdefault(view.name, view.id)
                continue
            self.state.views[view.id] = view
            self.state.by_name[view.name] = view.id
        for view_id in sorted(self.state.views):
            self.state.parents[view_id] = self.parents_from_sql(view_id)
        # Endpoint views that something reads belong in the graph, as the lineage endpoints name them.
        todo = sorted({p for ps in self.state.parents.values() for p in ps if p in endpoints})
        while todo:
            view_id = todo.pop()
            if view_id in self.state.hidden_views:
                continue
            self.state.hidden_views[view_id] = endpoints[view_id]
            self.state.parents[view_id] = self.parents_from_sql(view_id)
            todo += [p for p in self.state.parents[view_id] if p in endpoints]
        for view_id in endpoints:
            if view_id not in self.state.hidden_views:
                self.state.sql.pop(view_id, None)
        for parents in self.state.parents.values():
            self.state.ghosts.update(p for p in parents if p in set(self.state.deleted_by_name.values()))

    async def _system_tables(self) -> None:
        try:
            rows = await self._rows("sys:tables", SYSTEM_TABLES)
        except BadRequestError:
            # The sources table is refused or unknown: the tables alone (sourced tables then
            # resolve by storage name only).
            try:
                rows = await self._rows("sys:tables-plain", system.SYSTEM_TABLES_PLAIN)
            except (PermissionDeniedError, BadRequestError) as exc:
                self.state.notes.append(
                    f"system.data_warehouse_tables is not readable ({exc}); tables stay unnamed"
                )
                rows = []
        except PermissionDeniedError as exc:
            self.state.notes.append(
                f"system.data_warehouse_tables is not readable ({exc}); tables stay unnamed"
            )
            rows = []
        tables = (Table.from_api(system_table_record(r)) for r in rows if not r.get("deleted"))
        self.state.tables = {t.id: t for t in tables if t is not None}

    async def fetch_jobs_system(self) -> None:
        if not self.opts.jobs:
            return
        fetch_since = self._jobs_fetch_since()
        try:
            listing = await self._rows("sys:jobs", SYSTEM_JOBS, {"since": iso(fetch_since)})
        except (PermissionDeniedError, BadRequestError) as exc:
            self.state.notes.append(f"system.data_modeling_jobs is not readable ({exc}); using run_history")
            listing = None
        self.state.job_listing, self.state.job_listing_read = listing, True

    async def _rest_list(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """The REST list's records by view id (owners, folders, cadence), and no folder names apart."""
        raw = await self._once(
            "views", lambda: self.client.list_views(), lambda vs: [dict(v.raw) for v in vs]
        )
        return {str(item.get("id")): item for item in raw}, {}

    async def _folders(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """No REST records, and the folder names by folder id."""
        try:
            raw = await self._once(
                "folders", lambda: self.client.list_folders(), lambda fs: [dict(f.raw) for f in fs]
            )
        except PermissionDeniedError as exc:
            self.state.notes.append(f"folders are not readable with this key ({exc}); views show no folder")
            raw = []
        return {}, {str(f.get("id")): str(f.get("name")) for f in raw if f.get("id")}

    async def try_system(self) -> bool:
        """Run the system-table crawl; with ``auto`` fall back (and say so) when the key may not."""
        if self.opts.edges not in ("system", "auto"):
            return False
        try:
            await self.run_system()
            return True
        except (
            PermissionDeniedError,
            BadRequestError,
            PaymentRequiredError,
            NotFoundError,
            RateLimitedError,  # the 120-an-hour HogQL budget is spent: the REST API still answers
        ) as exc:
            if self.opts.edges == "system":
                raise
            # Start again from nothing, but for the refresh base's ghost names, read before any request.
            self.state = CrawlState(
                notes=[f"the query API is not usable with this key ({exc}); using the REST API"],
                ghost_names=self.state.ghost_names,
            )
            return False

    async def verify_sample(self, count: int) -> None:
        """Spot-check ``count`` views' SQL-derived parents against ``ancestors(level=1)``."""
        ids = sorted(self.state.views)
        if not ids or count <= 0:
            return
        step = max(1, len(ids) // count)
        sample = ids[::step][:count]

        async def one(view_id: str) -> None:
            got = await self._once(f"anc1:{view_id}", lambda: self.client.ancestors(view_id, level=1), list)
            mine = {p if is_uuid(p) else p.split(".")[-1] for p in self.state.parents.get(view_id, [])}
            theirs = {p if is_uuid(p) else p.split(".")[-1] for p in got}
            if mine != theirs:
                name = self.state.views[view_id].name
                missing = sorted(theirs - mine)
                extra = sorted(mine - theirs)
                self.state.sample_mismatches.append(
                    f"{name}: ancestors(level=1) also names {missing or 'nothing'}; "
                    f"the SQL also names {extra or 'nothing'}"
                )

        try:
            await self._gather("verify", sample, one)
        except PermissionDeniedError as exc:
            self.state.notes.append(
                f"--verify: the lineage endpoints refuse this key ({exc}); nothing checked"
            )

    async def run_all(self) -> None:
        if await self.try_system():
            await asyncio.gather(self.read_jobs(sorted(self.state.views)), self.read_consumers())
            await self.verify_sample(self.opts.verify_sample)
            return
        await self.list_views()
        await self.choose_edge_source()
        ids = sorted(self.state.views)
        # Tables, jobs and the list's second pass do not depend on the edges: fetch them alongside,
        # off the critical path; views only the second pass found get their edges after.
        _, _, _, found = await asyncio.gather(
            self.edges_for(ids), self.list_tables(), self.fetch_jobs(), self.relist_views()
        )
        if found:
            await self.edges_for(found)
            ids = sorted(self.state.views)
        await self.resolve_names()
        await asyncio.gather(self.read_jobs(ids), self.read_consumers())
        if self.opts.with_sql:
            await self._gather("sql", [v for v in ids if v not in self.state.sql], self.fetch_sql)
        if self.opts.verify:
            await self.verify(ids)
        if self.edge_source == "sql":
            await self.verify_sample(self.opts.verify_sample)

    async def run_select(self) -> None:
        if not self.opts.select:
            raise SelectorError("crawl --select needs a selector, e.g. --select '+mrr_by_month+'")
        if await self.try_system():
            seeds = self._seeds(self.opts.select)
            await asyncio.gather(self.read_jobs(sorted(self.state.views)), self.read_consumers())
            self.state.focus = closure_from_edges(self.state.parents, seeds)
            self.state.boundary = boundaries(self.state, seeds, self.state.focus)
            return
        await self.list_views()
        await self.relist_views()
        await self.choose_edge_source()
        seeds = self._seeds(self.opts.select)
        if self.edge_source == "sql":
            # Without the lineage endpoints only the whole SQL graph tells descendants.
            ids = sorted(self.state.views)
            await self.edges_for(ids)
            await self.resolve_names()
            await asyncio.gather(self.read_jobs(ids), self.read_consumers())
            self.state.focus = closure_from_edges(self.state.parents, seeds)
            self.state.boundary = boundaries(self.state, seeds, self.state.focus)
            return
        members: dict[str, tuple[int | None, int | None]] = {}
        closure: set[str] = set()

        async def expand(seed: Seed) -> None:
            view_id, up, down = seed
            if up != 0:
                level = up if up is not None else None
                key = f"anc{level or 'all'}:{view_id}"
                got = await self._once(key, lambda: self.client.ancestors(view_id, level=level), list)
                closure.update(got)
            if down != 0:
                level = down if down is not None else None
                key = f"desc{level or 'all'}:{view_id}"
                got = await self._once(key, lambda: self.client.descendants(view_id, level=level), list)
                closure.update(got)

        await asyncio.gather(*(expand(s) for s in seeds))
        for view_id, up, down in seeds:
            members[view_id] = (up, down)
        member_views = sorted({m for m in closure | set(members) if m in self.state.views})
        await self.edges_for(member_views)
        await self.resolve_names()
        in_closure = drop_dotted_prefixes(self.state.parents, closure | set(members))
        self.state.boundary = boundaries(self.state, seeds, in_closure)
        self.state.focus = in_closure
        member_ids = sorted(v for v in self.state.focus if v in self.state.views)
        await asyncio.gather(self.read_jobs(member_ids), self.read_consumers())
        if self.opts.with_sql:
            await self._gather("sql", [v for v in member_ids if v not in self.state.sql], self.fetch_sql)

    def _seeds(self, selector: str) -> list[Seed]:
        return parse_seeds(
            selector, self.state.views, upstream=self.opts.upstream, downstream=self.opts.downstream
        )

    async def downstream_counts(self) -> None:
        todo = sorted(self.state.boundary)
        focus = self.state.focus or set()
        if self.edge_source in ("system", "sql"):
            # The whole graph is known: count the children beyond the focus without asking.
            for view_id in todo:
                beyond = sum(1 for c, ps in self.state.parents.items() if view_id in ps and c not in focus)
                if beyond > 0:
                    self.state.more_downstream[view_id] = beyond
            return

        async def one(view_id: str) -> None:
            raw = await self._once(
                f"deps:{view_id}", lambda: self.client.dependencies(view_id), lambda d: dict(d.raw)
            )
            self.state.deps[view_id] = raw

        await self._gather("boundary", todo, one)
        for view_id in todo:
            known = sum(1 for c, ps in self.state.parents.items() if view_id in ps and c in focus)
            beyond = int(self.state.deps[view_id].get("downstream_count") or 0) - known
            if beyond > 0:
                self.state.more_downstream[view_id] = beyond

    async def verify(self, ids: list[str]) -> None:
        async def one(view_id: str) -> None:
            raw = await self._once(
                f"deps:{view_id}", lambda: self.client.dependencies(view_id), lambda d: dict(d.raw)
            )
            self.state.deps[view_id] = raw

        await self._gather("verify", ids, one)

    # -- consumers ---------------------------------------------------------------------------------

    async def _once_refusable(
        self, key: str, call: Callable[[], Awaitable[T]], encode: Callable[[T], Any]
    ) -> Any:
        """:meth:`_once`, journaling a refusal too, so a resumed crawl does not ask again."""
        found, value = self.journal.get(key)
        if found and isinstance(value, dict) and "refused" in value:
            error = {"NotFoundError": NotFoundError, "BadRequestError": BadRequestError}.get(
                str(value.get("error")), PermissionDeniedError
            )
            raise error(str(value["refused"]))
        try:
            return await self._once(key, call, encode)
        except (PermissionDeniedError, BadRequestError, NotFoundError) as exc:
            kind = "NotFoundError" if isinstance(exc, NotFoundError) else type(exc).__name__
            if isinstance(exc, BadRequestError):
                kind = "BadRequestError"
            self.journal.put(key, {"refused": str(exc), "error": kind})
            raise

    async def _consumer_rows(self, key: str, query: str) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            return [row async for row in self.client.iter_hogql(query, page_size=SYSTEM_PAGE)]

        rows: list[dict[str, Any]] = await self._once_refusable(key, fetch, lambda r: r)
        return rows

    async def read_consumers(self) -> None:
        """Insights, dashboards, notebooks, endpoints and alerts: over the system tables when the
        crawl runs on them, else over the REST lists the key's scopes allow."""
        if not self.opts.consumers:
            return
        notes: list[str] = []
        if self.edge_source == "system":
            users = {
                v.created_by.id: v.created_by.display_name
                for v in [*self.state.views.values(), *self.state.hidden_views.values()]
                if v.created_by is not None and v.created_by.id is not None and v.created_by.display_name
            }
            self.state.consumers = await consumers.read_system(self._consumer_rows, notes, users)
        else:
            self.state.consumers = await consumers.read_rest(
                self.client, self._once_refusable, notes, self.opts.concurrency
            )
        self.state.notes.extend(sorted(notes))

    # -- edit history (the newest PostHog's activity log) -------------------------------------------

    async def read_activity(self) -> None:
        """Who last changed each view's SQL, and when: one ``activity`` request per view."""
        focus = self.state.focus
        ids = sorted(v for v in self.state.views if focus is None or v in focus)
        refused: list[str] = []

        async def one(view_id: str) -> None:
            if refused:
                return
            try:
                entries = await self.client.view_activity(view_id, max_items=50)
            except PermissionDeniedError as exc:
                refused.append(str(exc))
                return
            except NotFoundError:
                return
            for entry in entries:
                if entry.changes_sql:
                    self.state.edits[view_id] = (entry.who or "unknown", iso(entry.created_at))
                    break

        await self._gather("activity", ids, one)
        if refused:
            self.state.notes.append(
                f"the views' activity logs are not readable with this key ({refused[0]}); "
                "add the scope activity_log:read to see who changed a view"
            )

    def apply_activity(self, graph: LineageGraph) -> None:
        for view_id, (who, when) in sorted(self.state.edits.items()):
            if view_id in graph.nx:
                graph.nx.nodes[view_id]["last_editor"] = who
                graph.nx.nodes[view_id]["last_edited_at"] = when

    # -- building ----------------------------------------------------------------------------------

    def build(self, settings: Settings, *, strategy: str, started: float) -> tuple[LineageGraph, list[str]]:
        self._forget_gone()
        focus = self.state.focus
        graph, mismatches = build_graph(
            self.state,
            settings,
            strategy=strategy,
            crawled_at=self.now(),
            focus=focus,
            known_ghost_names=self.state.ghost_names,
            verify=self.opts.verify,
            whole_graph_known=self.edge_source in ("sql", "system"),
        )
        data = self.state.consumers
        if data is not None:
            self.state.notes += add_consumers(
                graph,
                data,
                host=settings.host,
                project=str(settings.project),
                deleted_by_name=self.state.deleted_by_name,
                tables={
                    t.name: (t.id, {"table_kind": "warehouse", "source_type": t.source_type})
                    for t in (self.state.tables or {}).values()
                },
                focus=set(graph.nx.nodes) if focus is not None else None,
            )
        return graph, mismatches + self.state.sample_mismatches


async def crawl_async(
    settings: Settings,
    options: CrawlOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    client: AsyncPostHogClient | None = None,
) -> CrawlResult:
    """Crawl with an async client (made from ``settings`` unless given)."""
    started = time.monotonic()
    base = options.refresh
    if base is not None:
        theirs = (base.nx.graph.get("host"), str(base.nx.graph.get("project")))
        if theirs != (settings.host, str(settings.project)):
            raise InputError(
                f"--refresh: that snapshot was crawled from {theirs[0]} project {theirs[1]}, not "
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
        check_writable(options.out, what="--out")
    if options.journal is not None:
        check_writable(options.journal, what="the crawl journal")
    out_lock = FileLock(options.out, what="--out").acquire() if options.out is not None else None
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
        if options.strategy == "all":
            await crawler.run_all()
        else:
            await crawler.run_select()
            await crawler.downstream_counts()
        if options.activity:
            await crawler.read_activity()
        strategy = options.strategy if options.strategy == "all" else f"select {options.select}"
        graph, mismatches = crawler.build(settings, strategy=strategy, started=started)
        crawler.apply_activity(graph)
        after = api.stats.snapshot()
        requests = sum(after.requests.values()) - sum(before.requests.values())
        seconds = time.monotonic() - started
        graph.nx.graph["requests"] = requests
        graph.nx.graph["seconds"] = round(seconds, 3)
        graph.nx.graph["edge_source"] = crawler.edge_source
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
        crawler.state.notes.append(f"resumed: {journal.resumed} finished requests taken from the journal")
    elif journal.missing:
        crawler.state.notes.append(
            f"nothing to resume: no journal at {options.journal}; crawled from the start"
        )
    return CrawlResult(
        graph=graph,
        requests=requests,
        seconds=seconds,
        waited_seconds=after.waited_s - before.waited_s,
        retries=after.retries - before.retries,
        edge_source=crawler.edge_source,
        notes=tuple(crawler.state.notes),
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
