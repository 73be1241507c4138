"""The PostHog API client: every saved-query, folder, job, activity and warehouse-table endpoint,
and HogQL through the query API (:meth:`AsyncPostHogClient.hogql`, :meth:`~AsyncPostHogClient.iter_hogql`).

:class:`AsyncPostHogClient` has one method per endpoint; what they share (transport, limits, retries,
pagination) is its :class:`~lineage.api.transport.Sender`. Its blocking twin,
:class:`~lineage.api.blocking.PostHogClient`, offers the same methods synchronously.

>>> from lineage.config import Settings
>>> settings = Settings.resolve(host="http://127.0.0.1:8000", project="1", api_key="phx_x", env={})
>>> async with AsyncPostHogClient(settings) as client:   # doctest: +SKIP
...     views = await client.list_views()
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Final, ParamSpec, TypeVar, Unpack
from urllib.parse import quote

from lineage.api.consumer_models import Alert, Dashboard, Endpoint, Insight, Notebook
from lineage.api.limits import SlidingWindowLimiter
from lineage.api.models import (
    ActivityRow,
    DatabaseNameCheck,
    Dependencies,
    Folder,
    HealthIssue,
    Job,
    RunHistoryEntry,
    SavedQuery,
    Table,
    ViewActivity,
)
from lineage.api.options import ClientKeywords, ClientOptions, resolve_options
from lineage.api.query import (
    QueryResult,
    check_limit,
    check_query_text,
    with_limit,
)
from lineage.api.transport import PROJECT_PATH, Sender, aware
from lineage.config import Settings, redact
from lineage.errors import BadRequestError, PaymentRequiredError, ProtocolError, ServerError, param
from lineage.posthog import SYNC_FREQUENCY_WRITE

__all__ = ["SYNC_FREQUENCIES", "UNSET", "AsyncPostHogClient"]


T = TypeVar("T")
P = ParamSpec("P")

SYNC_FREQUENCIES: Final = SYNC_FREQUENCY_WRITE
_PROJECT = PROJECT_PATH
_SAVED_QUERIES = _PROJECT + "warehouse_saved_queries/"
_SAVED_QUERY = _SAVED_QUERIES + "{id}/"
_FOLDERS = _PROJECT + "warehouse_saved_query_folders/"
_JOBS = _PROJECT + "data_modeling_jobs/"
_DATA_WAREHOUSE = _PROJECT + "data_warehouse/"
_TABLES = _PROJECT + "warehouse_tables/"
_QUERY = _PROJECT + "query/"
_QUERY_ID = _QUERY + "{id}/"


# an id in a lineage answer longer than this is not a UUID or a table name
MAX_ID_CHARS: Final = 1000


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks an optional PATCH field as "leave unchanged" where ``None`` means "clear it"."""


def _segment(value: str | uuid.UUID, what: str) -> str:
    """One path segment from an id; refuses values that would change the path's meaning."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str) or not value.strip() or value.strip() in {".", ".."}:
        raise ValueError(f"{what} must be a non-empty id string, got {value!r}")
    return quote(value.strip(), safe="")


def check_level(level: Any) -> int | None:
    if level is None:
        return None
    if isinstance(level, bool) or not isinstance(level, int):
        raise ValueError(f"level must be a whole number >= 1 or None (meaning all), got {level!r}")
    if level < 1:
        raise ValueError(
            f"level must be >= 1 or None (meaning all), got {level}: PostHog answers [] for 0 and "
            "slices oddly for negative levels"
        )
    return level


class AsyncPostHogClient:
    """Async client for one PostHog project; one instance per project and key.

    Its options (retries, waits, budgets, deadlines, caps, the HogQL limit) are those of
    :class:`~lineage.api.options.ClientOptions`, given as keywords or as ``options=``.
    """

    def __init__(
        self, settings: Settings, *, options: ClientOptions | None = None, **keywords: Unpack[ClientKeywords]
    ) -> None:
        settings.require_api()
        self.options = resolve_options(options, keywords)
        self._sender = Sender(settings, self.options)
        self.settings = settings
        self.project = self._sender.project
        self.stats = self._sender.stats

    @property
    def on_throttle(self) -> Callable[[float, float, float], None] | None:
        """Called as ``on_throttle(wait, spent, budget)`` each time a 429 closes (or extends) the gate."""
        return self._sender.on_throttle

    @on_throttle.setter
    def on_throttle(self, hook: Callable[[float, float, float], None] | None) -> None:
        self._sender.on_throttle = hook

    @property
    def _view_limiters(self) -> dict[tuple[str, str], SlidingWindowLimiter]:
        """The sender's per-view limiters (``run``, ``materialize``), as tests inspect them."""
        return self._sender.view_limiters

    def server_now(self) -> datetime | None:
        """The server's clock (from the last ``Date`` header, plus time since), or None before any answer.

        Job windows and staleness are measured on it, so a skewed local clock does not distort them.
        """
        return self._sender.server_now()

    def seed_server_time(self, moment: datetime) -> None:
        """Take ``moment`` as the server's clock now, unless an answer has told it already.

        A resumed crawl seeds it from its journal, so one that has nothing left to ask still
        measures job windows and staleness on the server's clock, as the interrupted crawl did.
        """
        self._sender.seed_server_time(moment)

    def __repr__(self) -> str:
        return f"AsyncPostHogClient(host={self.settings.host!r}, project={self.project!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._sender.aclose()

    async def __aenter__(self) -> AsyncPostHogClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _parse(self, parser: Callable[[Any], T], body: Any, display: str) -> T:
        try:
            return parser(body)
        except ProtocolError as exc:
            message = exc.message
        # raised outside the ``except`` so the error prints alone, without a chained twin
        raise ProtocolError(f"{display}: {message}", path=display, body=None)

    # ------------------------------------------------------------------ saved queries

    async def iter_views(self, search: str | None = None) -> AsyncGenerator[SavedQuery, None]:
        """Every saved query (listing shape: no SQL), across all pages, newest first."""
        display = self._sender.display("GET", self._sender.url(_SAVED_QUERIES))
        async for raw in self._sender.iter(_SAVED_QUERIES, {"search": search}):
            yield self._parse(SavedQuery.from_api, raw, display)

    async def list_views(self, search: str | None = None) -> list[SavedQuery]:
        """All saved queries (``search`` filters names, case-insensitively); ``sql`` is not included."""
        return [v async for v in self.iter_views(search)]

    async def get_view(self, view_id: str | uuid.UUID) -> SavedQuery:
        """One saved query with its SQL; NotFoundError if it is deleted or not in this project."""
        vid = _segment(view_id, "view_id")
        url = self._sender.url(_SAVED_QUERY, id=vid)
        body = await self._sender.request("GET", _SAVED_QUERY, url, read_only=True, what=f"saved query {vid}")
        return self._parse(SavedQuery.from_api, body, self._sender.display("GET", url))

    async def create_view(
        self,
        name: str,
        sql: str,
        *,
        folder_id: str | None = None,
        types: list[tuple[str, str]] | None = None,
        soft_update: bool | None = None,
    ) -> SavedQuery:
        """Create a saved query; PostHog upserts by name (an existing view of that name is updated)."""
        if not isinstance(name, str) or not name or not isinstance(sql, str) or not sql.strip():
            raise ValueError("create_view needs a non-empty name and SQL text")
        payload: dict[str, Any] = {"name": name, "query": {"kind": "HogQLQuery", "query": sql}}
        if folder_id is not None:
            payload["folder_id"] = folder_id
        if types is not None:
            payload["types"] = [list(t) for t in types]
        if soft_update is not None:
            payload["soft_update"] = soft_update
        url = self._sender.url(_SAVED_QUERIES)
        body = await self._sender.request("POST", _SAVED_QUERIES, url, body=payload, read_only=False)
        return self._parse(SavedQuery.from_api, body, self._sender.display("POST", url))

    async def update_view(
        self,
        view_id: str | uuid.UUID,
        *,
        name: str | None = None,
        sql: str | None = None,
        sync_frequency: str | None = None,
        folder_id: str | _Unset | None = UNSET,
        description: str | None = None,
        edited_history_id: int | str | None = None,
        soft_update: bool | None = None,
    ) -> SavedQuery:
        """PATCH a saved query. Changing ``sql`` needs ``edited_history_id`` (the view's
        ``latest_history_id``: a UUID string in the newest PostHog, an integer in older ones, sent back
        as given) unless ``soft_update``; ``folder_id=None`` removes it from its folder. PostHog
        stores a ``sync_frequency`` of ``1min`` or ``5min`` as ``15min``: read the answer's."""
        vid = _segment(view_id, "view_id")
        payload: dict[str, Any] = {}
        if name is not None:
            payload["name"] = name
        if sql is not None:
            payload["query"] = {"kind": "HogQLQuery", "query": sql}
        if sync_frequency is not None:
            if sync_frequency not in SYNC_FREQUENCIES:
                raise ValueError(
                    f"sync_frequency must be one of {', '.join(sorted(SYNC_FREQUENCIES))}, "
                    f"got {sync_frequency!r}"
                )
            payload["sync_frequency"] = sync_frequency
        if folder_id is not UNSET:
            payload["folder_id"] = folder_id
        if description is not None:
            payload["description"] = description
        if edited_history_id is not None:
            payload["edited_history_id"] = edited_history_id
        if soft_update is not None:
            payload["soft_update"] = soft_update
        if not payload:
            raise ValueError("update_view needs at least one field to change")
        url = self._sender.url(_SAVED_QUERY, id=vid)
        body = await self._sender.request(
            "PATCH", _SAVED_QUERY, url, body=payload, read_only=False, what=f"saved query {vid}"
        )
        return self._parse(SavedQuery.from_api, body, self._sender.display("PATCH", url))

    async def delete_view(self, view_id: str | uuid.UUID) -> None:
        """Soft-delete a saved query (PostHog refuses while other views depend on it)."""
        vid = _segment(view_id, "view_id")
        await self._sender.request(
            "DELETE",
            _SAVED_QUERY,
            self._sender.url(_SAVED_QUERY, id=vid),
            read_only=False,
            what=f"saved query {vid}",
        )

    async def _lineage(self, direction: str, view_id: str | uuid.UUID, level: int | None) -> list[str]:
        lvl = check_level(level)
        vid = _segment(view_id, "view_id")
        template = _SAVED_QUERY + direction + "/"
        url = self._sender.url(template, id=vid)
        payload = {} if lvl is None else {"level": lvl}
        # ancestors/descendants are POSTs that change nothing: safe to retry
        body = await self._sender.request(
            "POST", template, url, body=payload, read_only=True, what=f"saved query {vid}"
        )
        display = self._sender.display("POST", url)
        ids = body.get(direction) if isinstance(body, Mapping) else None
        if isinstance(ids, list) and any(isinstance(i, str) and len(i) > MAX_ID_CHARS for i in ids):
            raise ProtocolError(
                f"{display}: an id of more than {MAX_ID_CHARS} characters in the answer; PostHog names "
                f"views and tables by UUIDs and short names: check {param('host')} / POSTHOG_HOST points at "
                "PostHog",
                path=display,
            )
        if not isinstance(ids, list) or not all(
            isinstance(i, str | int) and not isinstance(i, bool) for i in ids
        ):
            raise ProtocolError(
                f"{display}: expected {{{direction!r}: [ids...]}}; the API answered in an undocumented shape",
                path=display,
            )
        return sorted({str(i) for i in ids})

    async def ancestors(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        """Ids upstream of the view within ``level`` hops (None = all), sorted and deduplicated.

        Ids mix view UUIDs, warehouse-table UUIDs and PostHog table names (dotted ones split in parts).
        """
        return await self._lineage("ancestors", view_id, level)

    async def descendants(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        """Ids downstream of the view within ``level`` hops (None = all), sorted and deduplicated."""
        return await self._lineage("descendants", view_id, level)

    async def dependencies(self, view_id: str | uuid.UUID) -> Dependencies:
        """Counts of distinct direct parents and children."""
        vid = _segment(view_id, "view_id")
        template = _SAVED_QUERY + "dependencies/"
        body = await self._sender.get(template, what=f"saved query {vid}", id=vid)
        return self._parse(
            Dependencies.from_api, body, self._sender.display("GET", self._sender.url(template, id=vid))
        )

    async def _action(
        self,
        action: str,
        view_id: str | uuid.UUID,
        limit_kind: str | None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        vid = _segment(view_id, "view_id")
        template = _SAVED_QUERY + action + "/"
        await self._sender.request(
            "POST",
            template,
            self._sender.url(template, id=vid),
            body=dict(body or {}),
            read_only=False,
            view_limit=(limit_kind, vid) if limit_kind else None,
            what=f"saved query {vid}",
        )

    async def run(self, view_id: str | uuid.UUID, *, full_refresh: bool | None = None) -> None:
        """Start a run of the view (at most 10 per minute per view, kept client-side).

        ``full_refresh`` (the newest PostHog's ``{"full_refresh": bool}``) rebuilds an incremental
        view from scratch; None sends no body field, as older PostHog expects."""
        if full_refresh is not None and not isinstance(full_refresh, bool):
            raise ValueError(f"full_refresh must be True, False or None, got {full_refresh!r}")
        body = {} if full_refresh is None else {"full_refresh": full_refresh}
        await self._action("run", view_id, "run", body)

    async def materialize(self, view_id: str | uuid.UUID, *, sync_frequency: str | None = None) -> None:
        """Materialize the view, daily by default (at most 5 per hour per view with reverts).

        ``sync_frequency`` (newest PostHog) picks the cadence; PostHog refuses one outside the
        view's ``sync_frequency_bounds``."""
        if sync_frequency is not None and sync_frequency not in SYNC_FREQUENCIES:
            raise ValueError(
                f"sync_frequency must be one of {', '.join(SYNC_FREQUENCIES)}, got {sync_frequency!r}"
            )
        body = {} if sync_frequency is None else {"sync_frequency": sync_frequency}
        await self._action("materialize", view_id, "materialize", body)

    async def resume(self, view_id: str | uuid.UUID) -> None:
        """Un-suspend one view PostHog suspended after repeated failures (newest PostHog's ``resume``)."""
        await self._action("resume", view_id, None)

    async def revert_materialization(self, view_id: str | uuid.UUID) -> None:
        """Turn a materialized view back into a plain view (shares materialize's 5/hour)."""
        await self._action("revert_materialization", view_id, "materialize")

    async def cancel(self, view_id: str | uuid.UUID) -> None:
        """Cancel a running materialization (BadRequestError if nothing runs)."""
        await self._action("cancel", view_id, None)

    async def run_history(self, view_id: str | uuid.UUID) -> list[RunHistoryEntry]:
        """The (at most five) newest runs of the view, newest first."""
        vid = _segment(view_id, "view_id")
        template = _SAVED_QUERY + "run_history/"
        body = await self._sender.get(template, what=f"saved query {vid}", id=vid)
        display = self._sender.display("GET", self._sender.url(template, id=vid))
        entries = body.get("run_history") if isinstance(body, Mapping) else None
        if not isinstance(entries, list):
            raise ProtocolError(f"{display}: expected {{'run_history': [...]}}", path=display)
        return [self._parse(RunHistoryEntry.from_api, e, display) for e in entries]

    async def resume_schedules(self, view_ids: Iterable[str | uuid.UUID]) -> None:
        """Resume the sync schedules of these views (unknown ids are ignored by PostHog)."""
        if isinstance(view_ids, str):
            raise ValueError("resume_schedules takes a list of view ids, not one string")
        ids = sorted({_segment(v, "view_id") for v in view_ids})
        if not ids:
            raise ValueError("resume_schedules needs at least one view id")
        template = _SAVED_QUERIES + "resume_schedules/"
        await self._sender.request(
            "POST", template, self._sender.url(template), body={"view_ids": ids}, read_only=False
        )

    # ------------------------------------------------------------------ folders

    async def list_folders(self) -> list[Folder]:
        """Every saved-query folder, by name."""
        display = self._sender.display("GET", self._sender.url(_FOLDERS))
        return [self._parse(Folder.from_api, raw, display) async for raw in self._sender.iter(_FOLDERS)]

    async def get_folder(self, folder_id: str | uuid.UUID) -> Folder:
        fid = _segment(folder_id, "folder_id")
        template = _FOLDERS + "{id}/"
        body = await self._sender.get(template, what=f"folder {fid}", id=fid)
        return self._parse(
            Folder.from_api, body, self._sender.display("GET", self._sender.url(template, id=fid))
        )

    async def create_folder(self, name: str) -> Folder:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a folder needs a non-empty name")
        url = self._sender.url(_FOLDERS)
        body = await self._sender.request("POST", _FOLDERS, url, body={"name": name}, read_only=False)
        return self._parse(Folder.from_api, body, self._sender.display("POST", url))

    async def update_folder(self, folder_id: str | uuid.UUID, *, name: str) -> Folder:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a folder needs a non-empty name")
        fid = _segment(folder_id, "folder_id")
        template = _FOLDERS + "{id}/"
        url = self._sender.url(template, id=fid)
        body = await self._sender.request(
            "PATCH", template, url, body={"name": name}, read_only=False, what=f"folder {fid}"
        )
        return self._parse(Folder.from_api, body, self._sender.display("PATCH", url))

    async def delete_folder(self, folder_id: str | uuid.UUID) -> None:
        """Delete a folder and every view in it (PostHog refuses if outside views depend on them)."""
        fid = _segment(folder_id, "folder_id")
        template = _FOLDERS + "{id}/"
        await self._sender.request(
            "DELETE", template, self._sender.url(template, id=fid), read_only=False, what=f"folder {fid}"
        )

    # ------------------------------------------------------------------ data modeling jobs

    async def iter_jobs(
        self,
        saved_query_id: str | uuid.UUID | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        *,
        page_size: int | None = None,
        status: str | None = None,
    ) -> AsyncGenerator[Job, None]:
        """Jobs newest first (by ``created_at``); stops at the first job created before ``since``
        and after ``limit`` jobs. ``page_size`` defaults to ``limit`` (up to 1000) or PostHog's 100.

        A naive ``since`` is read as UTC, the zone PostHog stamps jobs in (not local time)."""
        for name, value in (("limit", limit), ("page_size", page_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number >= 1 or None, got {value!r}")
        if since is not None and not isinstance(since, datetime):
            raise ValueError(f"since must be a datetime or None, got {since!r}")
        cutoff = aware(since) if since is not None else None
        size = page_size or (min(limit, 1000) if limit else None)
        params: dict[str, Any] = {"limit": size}
        if saved_query_id is not None:
            if not isinstance(saved_query_id, str | uuid.UUID) or not str(saved_query_id).strip():
                raise ValueError(f"saved_query_id must be a view id, got {saved_query_id!r}")
            params["saved_query_id"] = str(saved_query_id).strip()
        if status is not None:
            # the newest PostHog filters server-side; older ones ignore the parameter, so the
            # status is checked again on every job below
            params["status"] = status
        display = self._sender.display("GET", self._sender.url(_JOBS))
        count = 0
        async for raw in self._sender.iter(_JOBS, params):
            job = self._parse(Job.from_api, raw, display)
            if cutoff is not None and job.created_at is not None and job.created_at < cutoff:
                return
            if status is not None and job.status != status:
                continue
            yield job
            count += 1
            if limit is not None and count >= limit:
                return

    async def list_jobs(
        self,
        saved_query_id: str | uuid.UUID | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        """Jobs (of one view, created at or after ``since``, at most ``limit`` if given), newest first."""
        return [j async for j in self.iter_jobs(saved_query_id, since, limit)]

    async def get_job(self, job_id: str | uuid.UUID) -> Job:
        jid = _segment(job_id, "job_id")
        template = _JOBS + "{id}/"
        body = await self._sender.get(template, what=f"data modeling job {jid}", id=jid)
        return self._parse(
            Job.from_api, body, self._sender.display("GET", self._sender.url(template, id=jid))
        )

    async def _job_array(self, suffix: str) -> list[Job]:
        template = _JOBS + suffix
        display = self._sender.display("GET", self._sender.url(template))
        return [self._parse(Job.from_api, raw, display) async for raw in self._sender.iter(template)]

    async def recent_jobs(self) -> list[Job]:
        """Per view, its newest finished materialization job (PostHog may refuse personal keys)."""
        return await self._job_array("recent/")

    async def running_jobs(self) -> list[Job]:
        """Materialization jobs running now (PostHog may refuse personal keys)."""
        return await self._job_array("running/")

    # ------------------------------------------------------------------ data_warehouse

    async def iter_completed_activity(
        self, *, limit: int = 20, cutoff_days: int = 30, max_items: int | None = None
    ) -> AsyncGenerator[ActivityRow, None]:
        """Completed syncs and materializations of the last ``cutoff_days``, newest first.

        ``limit`` is the page size, 1..50 (0 would make PostHog link to the same page forever).
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
            raise ValueError(f"limit must be a whole number from 1 to 50, got {limit!r}")
        if isinstance(cutoff_days, bool) or not isinstance(cutoff_days, int) or cutoff_days < 1:
            raise ValueError(f"cutoff_days must be a whole number >= 1, got {cutoff_days!r}")
        template = _DATA_WAREHOUSE + "completed_activity/"
        display = self._sender.display("GET", self._sender.url(template))
        count = 0
        params = {"limit": limit, "offset": 0, "cutoff_days": cutoff_days}
        async for raw in self._sender.iter(template, params, stop_on_empty=True):
            if max_items is not None and count >= max_items:
                return
            yield self._parse(ActivityRow.from_api, raw, display)
            count += 1

    async def completed_activity(
        self, *, limit: int = 20, cutoff_days: int = 30, max_items: int | None = None
    ) -> list[ActivityRow]:
        """All rows of :meth:`iter_completed_activity` as a list."""
        return [
            r
            async for r in self.iter_completed_activity(
                limit=limit, cutoff_days=cutoff_days, max_items=max_items
            )
        ]

    # ------------------------------------------------------------------ newest PostHog (issue 19)

    async def view_activity(
        self, view_id: str | uuid.UUID, *, max_items: int | None = None
    ) -> list[ViewActivity]:
        """The view's activity log, newest first: who created or changed it, and what (its SQL's
        before and after). Needs the scope ``activity_log:read``; pages follow ``next``."""
        vid = _segment(view_id, "view_id")
        template = _SAVED_QUERY + "activity/"
        display = self._sender.display("GET", self._sender.url(template, id=vid))
        out: list[ViewActivity] = []
        async for raw in self._sender.iter(template, {"limit": 100}, stop_on_empty=True, id=vid):
            if max_items is not None and len(out) >= max_items:
                break
            out.append(self._parse(ViewActivity.from_api, raw, display))
        return out

    async def data_health_issues(self) -> list[HealthIssue]:
        """Failing materializations and syncs in one request (``data_warehouse/data_health_issues``)."""
        template = _DATA_WAREHOUSE + "data_health_issues/"
        body = await self._sender.get(template)
        display = self._sender.display("GET", self._sender.url(template))
        rows = body.get("results") if isinstance(body, Mapping) else body
        if not isinstance(rows, list):
            raise ProtocolError(f"{display}: expected a list of issues", path=display)
        return [self._parse(HealthIssue.from_api, r, display) for r in rows]

    async def failed_activity(
        self, *, kind: str | None = None, cutoff_days: int = 30, limit: int = 50
    ) -> list[ActivityRow]:
        """The newest PostHog's ``completed_activity?outcome=failed`` (``kind``: ``sync`` or
        ``materialization``): failed runs in one listing."""
        if kind not in (None, "sync", "materialization"):
            raise ValueError(f"kind must be 'sync' or 'materialization', got {kind!r}")
        if isinstance(cutoff_days, bool) or not isinstance(cutoff_days, int) or cutoff_days < 1:
            raise ValueError(f"cutoff_days must be a whole number >= 1, got {cutoff_days!r}")
        template = _DATA_WAREHOUSE + "completed_activity/"
        display = self._sender.display("GET", self._sender.url(template))
        params: dict[str, Any] = {
            "limit": limit,
            "offset": 0,
            "cutoff_days": cutoff_days,
            "outcome": "failed",
        }
        if kind is not None:
            params["kind"] = kind
        return [
            self._parse(ActivityRow.from_api, raw, display)
            async for raw in self._sender.iter(template, params, stop_on_empty=True)
        ]

    async def check_incremental(self, view_id: str | uuid.UUID, sql: str | None = None) -> dict[str, Any]:
        """The newest PostHog's ``check_incremental`` action: whether the view can run incrementally."""
        vid = _segment(view_id, "view_id")
        template = _SAVED_QUERY + "check_incremental/"
        payload: dict[str, Any] = {}
        if sql is not None:
            payload["query"] = {"kind": "HogQLQuery", "query": sql}
        body = await self._sender.request(
            "POST",
            template,
            self._sender.url(template, id=vid),
            body=payload,
            read_only=True,
            what=f"saved query {vid}",
        )
        return dict(body) if isinstance(body, Mapping) else {}

    async def check_database_name(self, name: str) -> DatabaseNameCheck:
        """Whether a managed-warehouse database name is free (a beta feature; may answer 403)."""
        if not isinstance(name, str) or not name:
            raise ValueError("check_database_name needs a name")
        template = _DATA_WAREHOUSE + "check-database-name/"
        body = await self._sender.get(template, params={"name": name})
        display = self._sender.display("GET", self._sender.url(template))
        return self._parse(lambda b: DatabaseNameCheck.from_api(b, asked=name), body, display)

    # ------------------------------------------------------------------ warehouse tables

    async def iter_tables(self, search: str | None = None) -> AsyncGenerator[Table, None]:
        """Every warehouse table (needs ``warehouse_table:read``), across all pages."""
        display = self._sender.display("GET", self._sender.url(_TABLES))
        async for raw in self._sender.iter(_TABLES, {"search": search}):
            yield self._parse(Table.from_api, raw, display)

    async def list_tables(self, search: str | None = None) -> list[Table]:
        return [t async for t in self.iter_tables(search)]

    async def get_table(self, table_id: str | uuid.UUID) -> Table:
        tid = _segment(table_id, "table_id")
        template = _TABLES + "{id}/"
        body = await self._sender.get(template, what=f"warehouse table {tid}", id=tid)
        return self._parse(
            Table.from_api, body, self._sender.display("GET", self._sender.url(template, id=tid))
        )

    # ------------------------------------------------------------------ consumers

    async def _consumer_list(self, path: str, parser: Callable[[Any], T]) -> list[T]:
        template = _PROJECT + path
        display = self._sender.display("GET", self._sender.url(template))
        return [self._parse(parser, raw, display) async for raw in self._sender.iter(template)]

    async def list_insights(self) -> list[Insight]:
        """Every saved, live insight with its ``query`` (needs ``insight:read``), all pages."""
        return await self._consumer_list("insights/", Insight.from_api)

    async def list_dashboards(self) -> list[Dashboard]:
        """Every live dashboard (needs ``dashboard:read``); the list carries no tiles."""
        return await self._consumer_list("dashboards/", Dashboard.from_api)

    async def get_dashboard(self, dashboard_id: int) -> Dashboard:
        """One dashboard with its tiles (their insight ids)."""
        template = _PROJECT + "dashboards/{id}/"
        ident = _segment(str(dashboard_id), "dashboard_id")
        body = await self._sender.get(template, what=f"dashboard {ident}", id=ident)
        return self._parse(
            Dashboard.from_api, body, self._sender.display("GET", self._sender.url(template, id=ident))
        )

    async def list_notebooks(self) -> list[Notebook]:
        """Every live notebook (needs ``notebook:read``); the list carries no ``content``."""
        return await self._consumer_list("notebooks/", Notebook.from_api)

    async def get_notebook(self, short_id: str) -> Notebook:
        """One notebook with its ProseMirror ``content``."""
        template = _PROJECT + "notebooks/{id}/"
        ident = _segment(short_id, "short_id")
        body = await self._sender.get(template, what=f"notebook {ident}", id=ident)
        return self._parse(
            Notebook.from_api, body, self._sender.display("GET", self._sender.url(template, id=ident))
        )

    async def list_endpoints(self) -> list[Endpoint]:
        """Every live endpoint with its versions' queries (needs ``endpoint:read``)."""
        return await self._consumer_list("endpoints/", Endpoint.from_api)

    async def list_alerts(self) -> list[Alert]:
        """Every alert with the insight it watches (needs ``alert:read``)."""
        return await self._consumer_list("alerts/", Alert.from_api)

    # ------------------------------------------------------------------ query API (HogQL)

    async def hogql(
        self,
        query: str,
        *,
        values: Mapping[str, Any] | None = None,
        limit: int | None = None,
        refresh: str = "blocking",
    ) -> QueryResult:
        """Run one HogQL query (needs ``query:read``); ``{name}`` placeholders take ``values``.

        ``limit`` (1..50000) appends ``LIMIT n``; without it PostHog applies 100. ``refresh="async"``
        asks PostHog to queue the query; the answer is polled until complete either way.
        Raises MissingScopeError (``query:read``), TableAccessError, PaymentRequiredError (quota),
        BadRequestError (HogQL errors) and RateLimitedError (120 queries/hour per key by default).
        """
        sql = check_query_text(query)
        if limit is not None:
            sql = with_limit(sql, check_limit(limit, "limit"))
        return await self._run_query(sql, values, refresh=refresh)

    async def iter_hogql(
        self,
        query: str,
        *,
        values: Mapping[str, Any] | None = None,
        page_size: int = 10000,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Every row of a HogQL query as ``{column: value}``, paging with LIMIT/OFFSET.

        The query must not have its own top-level LIMIT/OFFSET, and should ORDER BY a unique key so
        that pages neither repeat nor skip rows. Each page is one request against the HogQL limit.
        """
        sql = check_query_text(query)
        size = check_limit(page_size, "page_size")
        with_limit(sql, size)  # refuses a query with its own LIMIT before any request
        offset = 0
        while True:
            page = await self._run_query(with_limit(sql, size, offset), values, refresh="blocking")
            for row in page.rows():
                yield row
            # a full page may hide more rows even when hasMore is missing (older PostHog versions)
            if not page.results or (not page.has_more and len(page.results) < size):
                return
            offset += len(page.results)

    async def _run_query(self, sql: str, values: Mapping[str, Any] | None, *, refresh: str) -> QueryResult:
        if refresh not in ("blocking", "async", "force_blocking", "force_async"):
            raise ValueError(f"refresh must be 'blocking' or 'async', got {refresh!r}")
        inner: dict[str, Any] = {"kind": "HogQLQuery", "query": sql}
        if values is not None:
            if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
                raise ValueError("values must map placeholder names to values")
            try:
                json.dumps(dict(values), allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"values must be JSON data (text, numbers, booleans, lists): {exc}"
                ) from None
            inner["values"] = dict(values)
        payload = {"query": inner, "refresh": refresh}
        url = self._sender.url(_QUERY)
        display = self._sender.display("POST", url)
        body: Any = None
        quota: PaymentRequiredError | None = None
        try:
            # a query changes nothing, so a failed attempt is safe to repeat
            body = await self._sender.request(
                "POST", _QUERY, url, body=payload, read_only=True, limiter=self._sender.hogql_limiter
            )
        except PaymentRequiredError as exc:
            quota = PaymentRequiredError(
                f"{display}: PostHog refused the HogQL query because the organization is over its query "
                f"quota (HTTP 402: {exc.body.get('detail') if isinstance(exc.body, dict) else 'quota'}); "
                "wait for the quota to reset or raise the billing limit, then try again",
                status=exc.status,
                method=exc.method,
                path=exc.path,
                body=exc.body,
            )
        if quota is not None:
            raise quota  # outside the ``except``: one error in the printed chain, not two
        if isinstance(body, Mapping) and "query_status" in body and "results" not in body:
            body = await self._poll_query(body["query_status"], display)
        return self._parse(QueryResult.from_api, body, display)

    async def _poll_query(self, status: Any, display: str) -> Any:
        """Poll ``query/<id>/`` with growing pauses until complete; its results, or an error."""
        waited = 0.0
        delay = 0.5
        while True:
            if not isinstance(status, Mapping) or not isinstance(status.get("id"), str):
                raise ProtocolError(f"{display}: an asynchronous query answer without a query_status id")
            if status.get("error"):
                message = redact(str(status.get("error_message") or "no reason given"))[:500]
                raise BadRequestError(
                    f"{display}: the asynchronous HogQL query failed ({message}); fix the query and retry",
                    path=display,
                )
            if status.get("complete"):
                return status.get("results")
            if waited >= self.options.query_timeout:
                raise ServerError(
                    f"{display}: the asynchronous HogQL query did not complete within "
                    f"{self.options.query_timeout:g} s; try again later or narrow the query",
                    path=display,
                )
            await self._sender.wait(delay)
            waited += delay
            delay = min(delay * 2, 10.0)
            qid = _segment(status["id"], "query id")
            body = await self._sender.get(_QUERY_ID, what=f"query {qid}", id=qid)
            status = body.get("query_status") if isinstance(body, Mapping) else None
