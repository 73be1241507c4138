"""Crawl PostHog's saved-query API into a :class:`~lineage.graph.LineageGraph`.

Strategies
----------
``all``     list the views (1 request per 1,000), list the warehouse tables (to name table UUIDs), then
            one ``ancestors(level=1)`` per view: every edge exactly, in views + list pages requests.
``select``  a focused crawl around views chosen by a selector: one ``ancestors``/``descendants`` call
            per seed and direction gives the closure within the depth, then one ``ancestors(level=1)``
            per member gives the exact edges; boundary nodes record "+k more".

Edge sources (``edges``)
------------------------
``api``     the lineage endpoints, as above.
``sql``     GET every view and parse its HogQL (for keys the lineage endpoints refuse, as in E3).
``auto``    ``api``, falling back to ``sql`` by itself when the endpoints refuse personal keys.

Every finished request is journaled (``<out>.journal.jsonl``, append-only, one JSON object a line) so
that a crawl killed at any point continues with ``resume=True`` without repeating what it finished.

>>> opts = CrawlOptions(strategy="all")          # doctest: +SKIP
>>> graph = crawl(settings, opts)                # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from lineage.aio import run_sync
from lineage.analysis.health import node_health
from lineage.api import AsyncPostHogClient, Job, SavedQuery, Table
from lineage.api.models import parse_datetime
from lineage.config import Settings
from lineage.errors import (
    ApiError,
    BadRequestError,
    HogQLError,
    InputError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    SelectorError,
)
from lineage.graph import SNAPSHOT_FORMAT, LineageGraph
from lineage.posthog import POSTHOG_TABLES
from lineage.select import Intersection as SelectorIntersection
from lineage.select import Union as SelectorUnion
from lineage.select import evaluate as evaluate_selector
from lineage.select import parse as parse_selector

if TYPE_CHECKING:
    import httpx  # only the transport's type: HTTP itself stays in lineage.api

__all__ = [
    "CrawlOptions",
    "CrawlResult",
    "Journal",
    "crawl",
    "crawl_async",
    "default_journal",
    "job_summary",
    "parse_since",
]

T = TypeVar("T")

Strategy = Literal["all", "select"]
EdgeSource = Literal["api", "sql", "system", "auto"]

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
JOB_HISTORY_KEPT = 50


def is_uuid(text: str) -> bool:
    return bool(_UUID_RE.match(text))


def parse_since(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or ``2w`` as a timedelta; a clear error otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text or "")
    if not match:
        raise InputError(f"--jobs-since {text!r}: give a number and a unit m, h, d or w, such as 30d")
    n, unit = int(match.group(1)), match.group(2)
    if n > {"m": 60 * 24 * 3660, "h": 24 * 3660, "d": 3660, "w": 523}[unit]:
        raise InputError(f"--jobs-since {text!r} reaches back more than ten years; give a shorter window")
    return {
        "m": timedelta(minutes=n),
        "h": timedelta(hours=n),
        "d": timedelta(days=n),
        "w": timedelta(weeks=n),
    }[unit]


@dataclass(frozen=True)
class CrawlOptions:
    """What to crawl and how. ``upstream``/``downstream`` ``None`` means unlimited."""

    strategy: Strategy = "all"
    select: str | None = None
    upstream: int | None = None
    downstream: int | None = None
    edges: EdgeSource = "auto"
    jobs: bool = True
    jobs_since: timedelta = timedelta(days=30)
    verify: bool = False
    verify_sample: int = 0
    with_sql: bool = False
    concurrency: int = 8
    journal: Path | None = None
    out: Path | None = None
    resume: bool = False
    refresh: LineageGraph | None = field(default=None, repr=False)
    progress: Callable[[str, int, int], None] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CrawlResult:
    graph: LineageGraph
    requests: int
    seconds: float
    waited_seconds: float
    retries: int
    edge_source: str
    notes: tuple[str, ...] = ()
    verify_mismatches: tuple[str, ...] = ()

    def summary(self) -> str:
        g = self.graph.nx
        return (
            f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges, {self.requests} requests, "
            f"{self.seconds:.1f} s, {self.waited_seconds:.1f} s waiting on rate limits "
            f"(edges from {self.edge_source})"
        )


class Journal:
    """Append-only record of finished requests: ``{"k": key, "v": value}`` per line.

    A line cut short by a kill is ignored on reading; every write is flushed so at most the request
    in flight is lost.
    """

    def __init__(self, path: Path | None, *, resume: bool) -> None:
        self.path = path
        self._done: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._fh: Any = None
        self._loaded = 0
        if path is None:
            return
        if resume and path.exists():
            with path.open("r", encoding="utf-8") as fh:
                for line in fh:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue  # the line a kill cut short
                    if isinstance(record, dict) and "k" in record:
                        self._done[str(record["k"])] = record.get("v")
        self._loaded = len(self._done)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a" if resume else "w", encoding="utf-8")

    @property
    def resumed(self) -> int:
        """How many finished requests the journal held when the crawl started."""
        return self._loaded

    def get(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            if key in self._done:
                return True, self._done[key]
        return False, None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._done[key] = value
            if self._fh is not None:
                self._fh.write(json.dumps({"k": key, "v": value}, sort_keys=True) + "\n")
                self._fh.flush()

    def close(self, *, remove: bool) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if remove and self.path is not None:
            self.path.unlink(missing_ok=True)


@dataclass
class _State:
    views: dict[str, SavedQuery] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    tables: dict[str, Table] | None = None
    parents: dict[str, list[str]] = field(default_factory=dict)
    sql: dict[str, str | None] = field(default_factory=dict)
    hidden_views: dict[str, SavedQuery] = field(default_factory=dict)
    ghosts: set[str] = field(default_factory=set)
    jobs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    jobs_read: bool = False
    more_upstream: dict[str, int] = field(default_factory=dict)
    more_downstream: dict[str, int] = field(default_factory=dict)
    deps: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Crawler:
    def __init__(self, client: AsyncPostHogClient, options: CrawlOptions, journal: Journal) -> None:
        self.client = client
        self.opts = options
        self.journal = journal
        self.state = _State()
        self._sem = asyncio.Semaphore(max(1, options.concurrency))
        self.edge_source = "api"
        self._jobs_raw: list[dict[str, Any]] | None
        self._deleted_by_name: dict[str, str] = {}
        self._ghost_known_names: dict[str, str] = {}
        self._folder_names: dict[str, str] = {}
        self._rest_views: dict[str, dict[str, Any]] = {}
        self._sample_mismatches: list[str] = []
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
        self.journal.put(key, value)
        return value

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

    async def list_views(self) -> None:
        raw = await self._once(
            "views",
            lambda: self.client.list_views(),
            lambda views: [dict(v.raw) for v in views],
        )
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
            return
        tables = (Table.from_api(item) for item in raw)
        self.state.tables = {t.id: t for t in tables if t is not None}

    # -- edges -------------------------------------------------------------------------------------

    async def parents_api(self, view_id: str) -> None:
        self.state.parents[view_id] = sorted(
            await self._once(f"anc1:{view_id}", lambda: self.client.ancestors(view_id, level=1), list)
        )

    async def fetch_sql(self, view_id: str) -> None:
        old = self._reusable_sql(view_id)
        if old is not None:
            self.state.sql[view_id] = old
            return
        raw = await self._once(f"get:{view_id}", lambda: self.client.get_view(view_id), lambda v: dict(v.raw))
        view = SavedQuery.from_api(raw)
        self.state.sql[view_id] = view.sql if view is not None else None

    def _reusable_sql(self, view_id: str) -> str | None:
        """SQL from the refresh base when the view's list entry shows no sign of an edit."""
        old = self.opts.refresh
        if old is None or view_id not in old.nx:
            return None
        attrs = old.nx.nodes[view_id]
        view = self.state.views[view_id]
        columns = [c.name for c in view.columns]
        if attrs.get("sql") is None or attrs.get("name") != view.name or attrs.get("columns") != columns:
            return None
        return str(attrs["sql"])

    def parents_from_sql(self, view_id: str) -> list[str]:
        from lineage.hogql import extract_tables

        sql = self.state.sql.get(view_id)
        if not sql:
            return []
        try:
            chains = extract_tables(sql)
        except HogQLError as exc:
            name = self.state.views[view_id].name
            self.state.notes.append(
                f"view {name!r}: HogQL not parsed ({exc}); its upstream edges are missing"
            )
            return []
        tables_by_name = {t.name: t.id for t in (self.state.tables or {}).values()}
        out = []
        for chain in chains:
            # PostHog resolves a FROM target as a view by name first, then a warehouse table,
            # then one of its own tables.
            if chain in self.state.by_name:
                out.append(self.state.by_name[chain])
            elif chain in tables_by_name:
                out.append(tables_by_name[chain])
            elif chain in self._deleted_by_name:
                # PostHog's stale paths still name a deleted view by its UUID
                out.append(self._deleted_by_name[chain])
            else:
                out.append(chain)
        return sorted(set(out))

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
        """Name table UUIDs, find views hidden from the list, and mark ghosts (deleted views)."""
        named: set[str] = set(self.state.views)
        unknown = sorted(
            {p for ps in self.state.parents.values() for p in ps if is_uuid(p) and p not in named}
        )
        if not unknown:
            return
        await self.list_tables()
        tables = self.state.tables or {}
        missing = [u for u in unknown if u not in tables]

        async def probe(view_id: str) -> None:
            try:
                raw = await self._once(
                    f"get:{view_id}", lambda: self.client.get_view(view_id), lambda v: dict(v.raw)
                )
            except NotFoundError:
                self.journal.put(f"get:{view_id}", None)
                raw = None
            view = SavedQuery.from_api(raw) if raw is not None else None
            if view is None:
                self.state.ghosts.add(view_id)
            else:
                self.state.hidden_views[view_id] = view

        await self._gather("naming", missing, probe)

    async def full_dotted_names(self) -> dict[str, str]:
        """Level-1 answers name a dotted PostHog table (``posthog.ai_events``) by its last label.

        One consumer's HogQL per distinct label tells the full name; that is a handful of requests.
        """
        labels: dict[str, str] = {}
        for view_id, parents in sorted(self.state.parents.items()):
            for p in parents:
                if not is_uuid(p) and p not in labels and p not in POSTHOG_TABLES:
                    labels[p] = view_id
        renames: dict[str, str] = {}
        for label, consumer in sorted(labels.items()):
            if consumer not in self.state.sql:
                try:
                    await self.fetch_sql(consumer)
                except ApiError:
                    continue
            sql = self.state.sql.get(consumer)
            if not sql:
                continue
            from lineage.hogql import extract_tables

            try:
                chains = extract_tables(sql)
            except HogQLError:
                continue
            full = [
                c for c in chains if c.split(".")[-1] == label and c != label and c not in self.state.by_name
            ]
            if len(full) == 1:
                renames[label] = full[0]
        return renames

    # -- jobs --------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The server's time where it said (Date header), else ours."""
        return self.client.server_now() or datetime.now(UTC)

    def _known_jobs(self) -> list[tuple[str, dict[str, Any]]]:
        base = self.opts.refresh
        if base is None:
            return []
        return [
            (node_id, dict(job))
            for node_id, attrs in base.nx.nodes(data=True)
            for job in ((attrs.get("jobs") or {}).get("history") or [])
        ]

    def _jobs_fetch_since(self) -> datetime:
        """The window's start, or the newest job a refresh base already knows, whichever is later."""
        since = self.now() - self.opts.jobs_since
        known = [parse_datetime(job.get("created_at")) for _, job in self._known_jobs()]
        newest_known = max((k for k in known if k is not None), default=None)
        return max(since, newest_known) if newest_known is not None else since

    async def fetch_jobs(self) -> None:
        """Read the job listing once, newest first, down to the window (or the newest job a refresh knows)."""
        if not self.opts.jobs:
            return
        fetch_since = self._jobs_fetch_since()
        try:
            self._jobs_raw = await self._once(
                "jobs",
                lambda: _list_jobs(self.client, since=fetch_since),
                lambda jobs: [dict(j.raw) for j in jobs],
            )
        except PermissionDeniedError as exc:
            self.state.notes.append(
                f"data modeling jobs are not readable with this key ({exc}); using run_history"
            )
            self._jobs_raw = None

    async def read_jobs(self, view_ids: list[str]) -> None:
        """Group the job listing (plus what a refresh base knew) per view; run_history as the fallback."""
        if not self.opts.jobs:
            return
        if not hasattr(self, "_jobs_raw"):
            await self.fetch_jobs()
        if self._jobs_raw is None:
            await self.read_run_history(view_ids)
            return
        since = self.now() - self.opts.jobs_since
        wanted = set(view_ids)
        merged: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for node_id, job in self._known_jobs():
            moment = parse_datetime(job.get("created_at"))
            if node_id in wanted and moment is not None and moment >= since:
                merged[node_id][str(job.get("id"))] = job
        for item in self._jobs_raw:
            record = Job.from_api(item)
            if record is not None and record.saved_query_id in wanted:
                merged[record.saved_query_id][record.id] = _compact_job(record)
        self.state.jobs = {k: list(v.values()) for k, v in merged.items()}
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
            self.state.jobs[view_id] = [
                {
                    "id": f"run-{i}",
                    "status": e.get("status"),
                    "created_at": None,
                    "last_run_at": e.get("timestamp"),
                }
                for i, e in enumerate(entries)
            ]

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
        since = _system_since(base)
        if base is not None and since is not None:
            # views deleted before the base was crawled are not among the changed rows: keep their names
            for node_id, attrs in base.nx.nodes(data=True):
                if attrs.get("ghost") and attrs.get("name") and attrs["name"] != node_id:
                    self._deleted_by_name.setdefault(str(attrs["name"]), str(node_id))
                    self._ghost_known_names.setdefault(str(node_id), str(attrs["name"]))
        if since is None:
            view_rows = await self._rows("sys:views", SYSTEM_VIEWS)
        else:
            changed = await self._rows("sys:changed", SYSTEM_CHANGED, {"since": since})
            light = await self._rows("sys:light", SYSTEM_LIGHT)
            view_rows = _merge_refresh(base, changed, light) if base is not None else changed
        self.edge_source = "system"
        # The system table has no owner names and (documented) no folder or cadence: the REST list
        # has them, at one request per 1,000 views. Read it while it fits the request budget
        # (a full crawl stays at most 10 requests, a refresh at most 5); else the folders alone.
        live = sum(1 for r in view_rows if not r.get("deleted"))
        pages = 1 if since is not None else REST_LIST_PAGES
        listed = live <= pages * 1000
        await asyncio.gather(
            self._system_tables(), self.fetch_jobs_system(), self._rest_list() if listed else self._folders()
        )
        if not listed:
            self.state.notes.append(
                f"{live} views: owners are not read (the REST list would take {-(-live // 1000)} requests)"
            )
        folders = self._folder_names
        for row in view_rows:
            record = _system_view_record(row, folders)
            rest = self._rest_views.get(record["id"])
            if rest is not None:
                record.update({k: rest[k] for k in REST_FIELDS if k in rest})
            if record.get("deleted"):
                old = _str_or_none(row.get("deleted_name"))
                if old:
                    self._deleted_by_name[old] = record["id"]
                    self._ghost_known_names[record["id"]] = old
                continue
            if record.get("origin") == "endpoint":
                continue  # hidden from the saved-query list, as PostHog's REST list hides them
            view = SavedQuery.from_api(record)
            self.state.views[view.id] = view
            self.state.by_name[view.name] = view.id
            self.state.sql[view.id] = view.sql
        for view_id in sorted(self.state.views):
            self.state.parents[view_id] = self.parents_from_sql(view_id)
        for parents in self.state.parents.values():
            self.state.ghosts.update(p for p in parents if p in set(self._deleted_by_name.values()))

    async def _system_tables(self) -> None:
        try:
            rows = await self._rows("sys:tables", SYSTEM_TABLES)
        except (PermissionDeniedError, BadRequestError) as exc:
            self.state.notes.append(
                f"system.data_warehouse_tables is not readable ({exc}); tables stay unnamed"
            )
            rows = []
        tables = (Table.from_api(r) for r in rows if not r.get("deleted"))
        self.state.tables = {t.id: t for t in tables if t is not None}

    async def fetch_jobs_system(self) -> None:
        if not self.opts.jobs:
            return
        fetch_since = self._jobs_fetch_since()
        try:
            self._jobs_raw = await self._rows("sys:jobs", SYSTEM_JOBS, {"since": _iso(fetch_since)})
        except (PermissionDeniedError, BadRequestError) as exc:
            self.state.notes.append(f"system.data_modeling_jobs is not readable ({exc}); using run_history")
            self._jobs_raw = None

    async def _rest_list(self) -> None:
        raw = await self._once(
            "views", lambda: self.client.list_views(), lambda vs: [dict(v.raw) for v in vs]
        )
        self._rest_views = {str(item.get("id")): item for item in raw}

    async def _folders(self) -> None:
        try:
            raw = await self._once(
                "folders", lambda: self.client.list_folders(), lambda fs: [dict(f.raw) for f in fs]
            )
        except PermissionDeniedError as exc:
            self.state.notes.append(f"folders are not readable with this key ({exc}); views show no folder")
            raw = []
        self._folder_names = {str(f.get("id")): str(f.get("name")) for f in raw if f.get("id")}

    async def try_system(self) -> bool:
        """Run the system-table crawl; with ``auto`` fall back (and say so) when the key may not."""
        if self.opts.edges not in ("system", "auto"):
            return False
        try:
            await self.run_system()
            return True
        except (PermissionDeniedError, BadRequestError, PaymentRequiredError, NotFoundError) as exc:
            if self.opts.edges == "system":
                raise
            self.state = _State(
                notes=[f"the query API is not usable with this key ({exc}); using the REST API"]
            )
            self._deleted_by_name = {}
            if hasattr(self, "_jobs_raw"):
                del self._jobs_raw
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
                self._sample_mismatches.append(
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
            await self.read_jobs(sorted(self.state.views))
            await self.verify_sample(self.opts.verify_sample)
            return
        await self.list_views()
        await self.choose_edge_source()
        ids = sorted(self.state.views)
        # Tables and jobs do not depend on the edges: fetch them alongside, off the critical path.
        await asyncio.gather(self.edges_for(ids), self.list_tables(), self.fetch_jobs())
        await self.resolve_names()
        await self.read_jobs(ids)
        if self.opts.with_sql:
            await self._gather("sql", [v for v in ids if v not in self.state.sql], self.fetch_sql)
        if self.opts.verify:
            await self.verify(ids)
        if self.edge_source == "sql":
            await self.verify_sample(self.opts.verify_sample)

    async def run_select(self) -> None:
        if not self.opts.select:
            raise SelectorError("crawl --select needs a selector, e.g. --select '+orders_daily+'")
        if await self.try_system():
            seeds = self._seeds(self.opts.select)
            await self.read_jobs(sorted(self.state.views))
            self._focus = self._closure_from_edges(seeds)
            self._boundaries(seeds, self._focus)
            return
        await self.list_views()
        await self.choose_edge_source()
        seeds = self._seeds(self.opts.select)
        if self.edge_source == "sql":
            # Without the lineage endpoints only the whole SQL graph tells descendants.
            ids = sorted(self.state.views)
            await self.edges_for(ids)
            await self.resolve_names()
            await self.read_jobs(ids)
            self._focus = self._closure_from_edges(seeds)
            self._boundaries(seeds, self._focus)
            return
        members: dict[str, tuple[int | None, int | None]] = {}
        closure: set[str] = set()

        async def expand(seed: tuple[str, int | None, int | None]) -> None:
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
        in_closure = closure | set(members)
        # Prefix labels of dotted PostHog tables come back from deep ancestor calls: drop them.
        dotted_prefixes = {
            part for ps in self.state.parents.values() for p in ps if "." in p for part in p.split(".")[:-1]
        }
        in_closure -= dotted_prefixes
        renamed = {p.split(".")[-1]: p for ps in self.state.parents.values() for p in ps if "." in p}
        in_closure = {renamed.get(m, m) for m in in_closure}
        self._focus = self._boundaries(seeds, in_closure)
        member_ids = sorted(v for v in self._focus if v in self.state.views)
        await self.read_jobs(member_ids)
        if self.opts.with_sql:
            await self._gather("sql", [v for v in member_ids if v not in self.state.sql], self.fetch_sql)

    def _seeds(self, selector: str) -> list[tuple[str, int | None, int | None]]:
        """Seeds and their depths from a selector, in the grammar of ``lineage ls`` (one parser).

        Names, globs and methods are matched against the views list; graph operators give the
        depths (``2+name+1``); a term without operators takes --upstream/--downstream. In a crawl
        ``@name`` walks both ways fully; ``lineage ls`` applies dbt's exact ``@`` on the snapshot.
        """
        tree = parse_selector(selector, label="--select selector")
        listed = LineageGraph()
        for vid, view in self.state.views.items():
            listed.add_node(
                vid,
                name=view.name,
                kind="matview" if view.is_materialized else "view",
                folder=view.folder_name,
                status=view.status,
                is_materialized=view.is_materialized,
            )
        out: dict[str, tuple[int | None, int | None]] = {}
        for part in tree.parts:
            bare = tuple(replace(a, at=False, parents=False, children=False) for a in part.atoms)
            hits = evaluate_selector(
                listed, SelectorUnion((SelectorIntersection(bare),), tree.text, tree.label)
            )
            up: int | None = 0
            down: int | None = 0
            if any(a.at for a in part.atoms):
                up, down = None, None
            elif any(a.parents or a.children for a in part.atoms):
                ups = [a.parents_depth for a in part.atoms if a.parents]
                downs = [a.children_depth for a in part.atoms if a.children]
                up = (None if None in ups else max(d for d in ups if d is not None)) if ups else 0
                down = (None if None in downs else max(d for d in downs if d is not None)) if downs else 0
            else:
                up, down = self.opts.upstream, self.opts.downstream
            for h in sorted(hits):
                out[h] = (up, down)
        return [(k, *v) for k, v in sorted(out.items())]

    def _closure_from_edges(self, seeds: list[tuple[str, int | None, int | None]]) -> set[str]:
        import networkx as nx

        g = nx.DiGraph()
        for child, ps in self.state.parents.items():
            g.add_node(child)
            for p in ps:
                g.add_edge(p, child)
        keep: set[str] = set()
        for view_id, up, down in seeds:
            keep.add(view_id)
            if up != 0:
                keep |= set(nx.single_source_shortest_path_length(g.reverse(copy=False), view_id, cutoff=up))
            if down != 0:
                keep |= set(nx.single_source_shortest_path_length(g, view_id, cutoff=down))
        return keep

    def _boundaries(self, seeds: list[tuple[str, int | None, int | None]], members: set[str]) -> set[str]:
        """Record "+k more" where the closure stops: parents left out, and children beyond the depth."""
        for child in sorted(members):
            outside = [p for p in self.state.parents.get(child, []) if p not in members]
            if outside:
                self.state.more_upstream[child] = len(outside)
        self._downstream_edge_nodes = set()
        import networkx as nx

        g = nx.DiGraph()
        for child, ps in self.state.parents.items():
            for p in ps:
                if p in members and child in members:
                    g.add_edge(p, child)
        for view_id, _, down in seeds:
            if down is None or down == 0:
                continue
            if view_id not in g:
                continue
            dist = nx.single_source_shortest_path_length(g, view_id, cutoff=down)
            self._downstream_edge_nodes |= {n for n, d in dist.items() if d == down and n in self.state.views}
        return members

    async def downstream_counts(self) -> None:
        todo = sorted(getattr(self, "_downstream_edge_nodes", set()))
        if self.edge_source in ("system", "sql"):
            # The whole graph is known: count the children beyond the focus without asking.
            for view_id in todo:
                beyond = sum(
                    1 for c, ps in self.state.parents.items() if view_id in ps and c not in self._focus
                )
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
            known = sum(1 for c, ps in self.state.parents.items() if view_id in ps and c in self._focus)
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

    # -- building ----------------------------------------------------------------------------------

    def _ghost_names(self) -> dict[str, str]:
        """Name deleted views from their readers' HogQL, where the SQL was read.

        A deleted view is renamed, so a reader's FROM target that names nothing alive is the old
        name. Only a reader with exactly one ghost parent and one such target is trusted, and all
        such readers must agree.
        """
        from lineage.hogql import extract_tables

        st = self.state
        tables = {t.name for t in (st.tables or {}).values()}
        candidates: dict[str, set[str]] = defaultdict(set)
        for child, parents in st.parents.items():
            ghosts = [p for p in parents if p in st.ghosts]
            sql = st.sql.get(child)
            if len(ghosts) != 1 or not sql:
                continue
            try:
                chains = extract_tables(sql)
            except HogQLError:
                continue
            labels = {p for p in parents if not is_uuid(p)}
            dangling = [c for c in chains if c not in st.by_name and c not in tables and c not in labels]
            if len(dangling) == 1:
                candidates[ghosts[0]].add(dangling[0])
        return {g: next(iter(names)) for g, names in candidates.items() if len(names) == 1}

    def build(self, settings: Settings, *, strategy: str, started: float) -> tuple[LineageGraph, list[str]]:
        focus: set[str] | None = getattr(self, "_focus", None)
        st = self.state
        crawled_at = self.now()
        graph = LineageGraph(
            format=SNAPSHOT_FORMAT,
            host=settings.host,
            project=settings.project,
            crawled_at=_iso(crawled_at),
            strategy=strategy,
        )
        children: dict[str, list[str]] = defaultdict(list)
        for child, ps in st.parents.items():
            for p in ps:
                children[p].append(child)
        view_ids = set(st.views) | set(st.hidden_views)
        if focus is not None:
            view_ids &= focus
        for view_id in sorted(view_ids):
            view = st.views.get(view_id) or st.hidden_views[view_id]
            graph.add_node(
                view_id, **_view_attrs(view, st.sql.get(view_id), st.jobs.get(view_id), st.jobs_read)
            )
        tables = st.tables or {}
        endpoints = {p for ps in st.parents.values() for p in ps}
        if focus is not None:
            endpoints &= focus
        ghost_names = {**self._ghost_names(), **self._ghost_known_names}
        for node_id in sorted(endpoints - view_ids):
            if node_id in st.ghosts:
                graph.add_node(node_id, name=ghost_names.get(node_id, node_id), kind="unknown", ghost=True)
            elif node_id in tables:
                table = tables[node_id]
                graph.add_node(
                    node_id,
                    name=table.name,
                    kind="table",
                    table_kind="warehouse",
                    source_type=table.source_type,
                )
            elif is_uuid(node_id):
                graph.add_node(node_id, name=node_id, kind="unknown")
            else:
                graph.add_node(node_id, name=node_id, kind="table", table_kind="posthog")
        for child, ps in sorted(st.parents.items()):
            if child not in graph:
                continue
            for p in ps:
                if p in graph:
                    graph.add_edge(p, child)
        g = graph.nx
        for node_id in g.nodes:
            attrs = g.nodes[node_id]
            if attrs.get("kind") in {"view", "matview"}:
                attrs["upstream_count"] = len(st.parents.get(node_id, []))
                if focus is None:
                    attrs["downstream_count"] = len(children.get(node_id, []))
                elif node_id in st.deps:
                    attrs["downstream_count"] = int(st.deps[node_id].get("downstream_count") or 0)
                else:
                    attrs["downstream_count"] = (
                        g.out_degree(node_id) if node_id not in st.more_downstream else None
                    )
            if attrs.get("kind") in {"view", "matview"}:
                # Health at crawl time, so a snapshot answers "what is broken" without the analysis layer;
                # `lineage check` recomputes it against any other moment.
                health = node_health(attrs, now=crawled_at)
                attrs["health"] = health.label
                attrs["stale"] = health.stale
            if node_id in st.more_upstream:
                attrs["more_upstream"] = st.more_upstream[node_id]
            if node_id in st.more_downstream:
                attrs["more_downstream"] = st.more_downstream[node_id]
        mismatches = []
        if self.opts.verify:
            for view_id, deps in sorted(st.deps.items()):
                if view_id not in g:
                    continue
                # PostHog counts raw path labels: a dotted table counts by its last label.
                up = len({p.split(".")[-1] if not is_uuid(p) else p for p in st.parents.get(view_id, [])})
                down = len(children.get(view_id, []))
                if deps.get("upstream_count") != up or deps.get("downstream_count") != down:
                    name = g.nodes[view_id].get("name", view_id)
                    mismatches.append(
                        f"{name}: crawled upstream {up}, downstream {down}; dependencies says "
                        f"upstream {deps.get('upstream_count')}, downstream {deps.get('downstream_count')}"
                    )
        return graph, mismatches + self._sample_mismatches


REST_LIST_PAGES = 5  # views list pages a system crawl may spend on owners and folders
REST_FIELDS = (
    "created_by",
    "folder_id",
    "folder_name",
    "sync_frequency",
    "latest_error",
    "status",
    "last_run_at",
    "description",
)
SYSTEM_PAGE = 50000  # PostHog's largest LIMIT: any warehouse under 50,000 views is one page
SYSTEM_VIEWS = "SELECT * FROM system.data_modeling_views ORDER BY id"
SYSTEM_CHANGED = "SELECT * FROM system.data_modeling_views WHERE updated_at >= {since} ORDER BY id"
SYSTEM_LIGHT = (
    "SELECT id, name, status, last_run_at, is_materialized FROM system.data_modeling_views "
    "WHERE deleted = false ORDER BY id"
)
SYSTEM_TABLES = "SELECT * FROM system.data_warehouse_tables ORDER BY id"
SYSTEM_JOBS = (
    "SELECT * FROM system.data_modeling_jobs WHERE created_at >= {since} ORDER BY created_at DESC, id"
)


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _json_value(value: Any) -> Any:
    """System tables hold JSON columns as strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _system_view_record(row: Mapping[str, Any], folders: Mapping[str, str]) -> dict[str, Any]:
    """A system.data_modeling_views row in the REST shape SavedQuery.from_api reads."""
    record = {k: _json_value(v) if k in {"query", "columns"} else v for k, v in row.items()}
    record["id"] = str(row.get("id"))
    folder_id = _str_or_none(row.get("folder_id"))
    if folder_id is not None:
        record["folder_name"] = folders.get(folder_id)
    record["deleted"] = bool(row.get("deleted"))
    return record


def _system_since(base: LineageGraph | None) -> str | None:
    """The refresh base's crawl time, when it came from the system tables and carries SQL."""
    if base is None or base.nx.graph.get("edge_source") != "system":
        return None
    crawled = base.nx.graph.get("crawled_at")
    return str(crawled) if crawled else None


def _merge_refresh(
    base: LineageGraph, changed: list[dict[str, Any]], light: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows for every live view: changed ones in full, the rest from the base plus fresh light columns."""
    full = {str(r.get("id")): dict(r) for r in changed}
    rows: list[dict[str, Any]] = list(full.values())
    for item in light:
        view_id = str(item.get("id"))
        if view_id in full:
            continue
        attrs = base.nx.nodes[view_id] if view_id in base.nx else None
        if attrs is None or attrs.get("sql") is None:
            continue  # new without a bumped updated_at (should not happen): caught by the count check
        rows.append(
            {
                **{k: attrs.get(k) for k in ("name", "sync_frequency", "latest_error", "description")},
                "folder_name": attrs.get("folder"),
                # owners never change: keep the base's (a display name) where no REST list is read
                "created_by": {"first_name": attrs["created_by"]} if attrs.get("created_by") else None,
                "created_at": attrs.get("created_at"),
                "columns": [{"name": c} for c in attrs.get("columns") or []],
                "query": {"kind": "HogQLQuery", "query": attrs.get("sql")},
                **item,
                "deleted": False,
            }
        )
    return rows


async def _list_jobs(client: AsyncPostHogClient, *, since: datetime) -> list[Job]:
    return [j async for j in client.iter_jobs(since=since, page_size=1000)]


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _compact_job(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "created_at": _iso(job.created_at),
        "last_run_at": _iso(job.last_run_at),
        "rows": job.rows_materialized,
        "error": job.error,
    }


def job_summary(history: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Runs, failures, newest status, failure streak, last success, median duration, rows trend."""
    jobs = sorted(
        history,
        key=lambda j: (str(j.get("created_at") or j.get("last_run_at") or ""), str(j.get("id"))),
        reverse=True,
    )
    statuses = [j.get("status") for j in jobs]
    streak = 0
    for status in statuses:
        if status == "Failed":
            streak += 1
        elif status in {"Completed"}:
            break
    durations = []
    for j in jobs:
        start, end = parse_datetime(j.get("created_at")), parse_datetime(j.get("last_run_at"))
        if start is not None and end is not None and j.get("status") in {"Completed", "Failed"}:
            durations.append(max(0.0, (end - start).total_seconds()))
    completed = [j for j in jobs if j.get("status") == "Completed"]
    rows: list[int] = [int(j["rows"]) for j in completed if isinstance(j.get("rows"), int)]
    trend = None
    if len(rows) >= 2:
        newest, oldest = rows[0], rows[-1]
        trend = "up" if newest > oldest else "down" if newest < oldest else "flat"
    return {
        "runs": len(jobs),
        "failures": statuses.count("Failed"),
        "last_status": statuses[0] if statuses else None,
        "last_success_at": (completed[0].get("last_run_at") if completed else None),
        "median_duration_s": round(statistics.median(durations), 3) if durations else None,
        "rows_last": rows[0] if rows else None,
        "rows_trend": trend,
        "failure_streak": streak,
        "history": jobs[:JOB_HISTORY_KEPT],
    }


def _view_attrs(
    view: SavedQuery, sql: str | None, jobs: list[dict[str, Any]] | None, jobs_read: bool
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "name": view.name,
        "kind": "matview" if view.is_materialized else "view",
        "status": view.status,
        "is_materialized": view.is_materialized,
        "sync_frequency": view.sync_frequency,
        "last_run_at": _iso(view.last_run_at),
        "latest_error": view.latest_error,
        "folder": view.folder_name,
        "created_at": _iso(view.created_at),
        "created_by": view.created_by.display_name if view.created_by is not None else None,
        "columns": [c.name for c in view.columns],
    }
    if view.description:
        attrs["description"] = view.description
    if sql is not None:
        attrs["sql"] = sql
    if jobs_read:
        attrs["jobs"] = job_summary(jobs or [])
    return attrs


async def crawl_async(
    settings: Settings,
    options: CrawlOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    client: AsyncPostHogClient | None = None,
) -> CrawlResult:
    """Crawl with an async client (made from ``settings`` unless given)."""
    started = time.monotonic()
    journal = Journal(options.journal, resume=options.resume)
    own = client is None
    api = client or AsyncPostHogClient(settings, transport=transport, concurrency=options.concurrency)
    before = api.stats.snapshot()
    crawler = _Crawler(api, options, journal)
    completed = False
    try:
        if options.strategy == "all":
            await crawler.run_all()
        else:
            await crawler.run_select()
            await crawler.downstream_counts()
        strategy = options.strategy if options.strategy == "all" else f"select {options.select}"
        graph, mismatches = crawler.build(settings, strategy=strategy, started=started)
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
        journal.close(remove=completed)
        if own:
            await api.aclose()
    if journal.resumed:
        crawler.state.notes.append(f"resumed: {journal.resumed} finished requests taken from the journal")
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


def default_journal(out: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(out)}.journal.jsonl")
