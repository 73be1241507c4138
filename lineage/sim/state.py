"""The warehouse engine: one simulated PostHog team's views, tables, folders, jobs and lineage.

Every public method of :class:`Warehouse` returns the exact JSON shape PostHog sends and raises
:mod:`lineage.sim.errors` classes for PostHog's error answers; the HTTP layer (:mod:`lineage.sim.app`)
only routes. The team starts from a fixture (:mod:`lineage.sim.fixture` loads and checks it into the
records of :mod:`lineage.sim.records`). Where PostHog's generations differ - the *era*: E2 the older
PostHog, E3 the newest - the warehouse asks its ``rules`` (:mod:`lineage.sim.era`): E2's lineage
answers come from :class:`lineage.sim.paths.LineageIndex`, which equals PostHog's root-to-leaf path
store without enumerating it; E3 walks the current view graph instead.

>>> wh = Warehouse({"format": "lineage-sim-fixture/1", "now": "2026-01-01T00:00:00Z",
...                 "views": [{"name": "v", "query": "select event from events", "parents": ["events"]}]})
>>> wh.ancestors(wh.list_views()[0]["id"])
['events']
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from lineage.consumers.extract import insight_reads
from lineage.errors import HogQLError
from lineage.posthog import (
    VIEW_NAME_MAX_LENGTH,
)
from lineage.sim import schedule, system_tables
from lineage.sim.consumers import ConsumerStore
from lineage.sim.era import SUSPEND_AFTER, Era, era_named
from lineage.sim.errors import AdHocError, invalid, not_found, server_error
from lineage.sim.fixture import FIXTURE_FORMAT, LoadedTeam, table_cadences
from lineage.sim.fixture_values import parse_time
from lineage.sim.paths import MISSING, LineageCycleError
from lineage.sim.records import (
    JOB_STATUSES,
    Clock,
    ExternalJob,
    Folder,
    Job,
    KeyInfo,
    Table,
    User,
    View,
    canon_uuid,
    det_uuid,
    render_time,
    rows_for,
    source_id,
)
from lineage.sim.validate import (
    column_types,
    not_a_dict,
    query_text,
    search_terms,
    sync_write,
    too_long,
    view_name,
)

__all__ = ["FIXTURE_FORMAT", "MISSING", "SUSPEND_AFTER", "Clock", "KeyInfo", "Warehouse", "render_time"]

_FOLDER_BLOCKED: Final = (
    "Cannot delete this folder because these views still have dependencies outside the folder: "
)
_DB_NAME_RE: Final = re.compile(r"^[a-z](?:[a-z0-9-]{1,61}[a-z0-9])$")


class Warehouse:
    """One simulated PostHog team (fixture ``lineage-sim-fixture/1``), thread-safe through ``lock``."""

    def __init__(self, fixture: Mapping[str, Any], *, era: str = "e3", clock: Clock | None = None) -> None:
        #: What differs between the PostHog generations the simulator plays (lineage.sim.era).
        self.rules: Era = era_named(era)
        team = LoadedTeam(fixture)
        self.era = era
        self.lock = threading.RLock()
        self.team_id: int = team.team_id
        self.clock = clock if clock is not None else Clock(team.now)
        self.flags: frozenset[str] = team.flags
        self._counter = 0
        self._activity = 0
        self._activity_log: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[int, User] = team.users
        self._default_user = team.default_user
        self.api_keys: dict[str, KeyInfo] = team.api_keys
        self._tables: dict[str, Table] = team.tables
        self._folders: dict[str, Folder] = team.folders
        self._views: dict[str, View] = team.views
        self._index = team.index
        self._jobs: dict[str, Job] = {}
        self._jobs_by_view: dict[str, list[Job]] = {}
        self._pending: dict[str, Job] = {}
        for job in team.jobs:
            self._add_job(job)
        self._job_seq = len(team.jobs)
        self._external: list[ExternalJob] = team.external
        # Insights, dashboards, tiles, notebooks, endpoints and alerts.
        self.consumers = ConsumerStore(user=self._user, now=self.clock.now, render_time=render_time)
        self.consumers.load(fixture, default_user=self._default_user, parse_time=parse_time)
        # E3's scheduled runs (lineage.sim.schedule): when each view's next run is due, counted
        # from when the simulator started; tables' sync cadences (fixture key ``sync_frequency``)
        # set the floor of ``sync_frequency_bounds``.
        self._schedule_start = self.clock.now()
        self._schedule_next: dict[str, datetime] = {}
        self._schedule_scanned: datetime | None = None
        self._table_cadence: dict[str, str] = table_cadences(fixture, self._tables)

    # ------------------------------------------------------------------ helpers
    def _next(self, kind: str) -> str:
        self._counter += 1
        return det_uuid(kind, self.team_id, self._counter)

    def _user(self, user_id: int | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        user = self._users.get(user_id)
        return user.basic() if user else User(user_id, "", "", f"user{user_id}@example.com").basic()

    def _columns(self, cols: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        out = []
        for name, typ in cols:
            col: dict[str, Any] = {
                "key": name,
                "name": name,
                "type": typ,
                "schema_valid": True,
                "fields": None,
                "table": None,
                "chain": None,
            }
            col.update(self.rules.column_fields())
            out.append(col)
        return out

    def _live_children(self) -> dict[str, list[str]]:
        """Node id -> ids of the live views that read it."""
        children: dict[str, list[str]] = {}
        for view in self._views.values():
            if not view.deleted:
                for parent in view.parents:
                    children.setdefault(parent, []).append(view.id)
        return children

    def _visible(self, view: View) -> bool:
        return not view.deleted and (view.managed_kind is None or "managed-viewsets" in self.flags)

    def _view(self, view_id: str) -> View:
        vid = canon_uuid(view_id)
        view = self._views.get(vid) if vid else None
        if view is None or not self._visible(view):
            raise not_found()
        return view

    def _live_view_named(self, name: str) -> View | None:
        for view in self._views.values():
            if not view.deleted and view.name == name:
                return view
        return None

    def _resolve(self, name: str) -> str | None:
        view = self._live_view_named(name)
        if view is not None:
            return view.id
        for table in self._tables.values():
            # The newest PostHog resolves a sourced table by its hogql_name; the storage name is
            # accepted too, as older SQL (and fixtures) use it.
            if table.kind == "warehouse" and name in (table.name, table.sql_name):
                return table.id
        posthog = self._tables.get(name)
        if posthog is not None and posthog.kind == "posthog":
            return posthog.id
        return None

    def _name_taken(self, name: str, *, me: str | None) -> bool:
        if any(name in (t.name, t.sql_name) for t in self._tables.values()):
            return True
        view = self._live_view_named(name)
        return view is not None and view.id != me

    def _add_job(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._jobs_by_view.setdefault(job.view_id or "", []).append(job)
        if job.status == "Running" and job.finishes_at is not None:
            self._pending[job.id] = job

    def _refresh_jobs(self) -> None:
        """Finish simulated runs whose time has come (evaluated lazily on every read)."""
        self._finish_jobs()
        if schedule.tick(self):
            self._finish_jobs()

    def _scheduled_job(self, view: View, when: datetime, blocked: View | None) -> Job:
        """A job the view's schedule started at ``when``; ``Skipped`` below a failed ancestor."""
        self._job_seq += 1
        job = Job(
            id=self._next("job"),
            view_id=view.id,
            status="Skipped" if blocked is not None else "Running",
            rows_materialized=0,
            rows_expected=rows_for(view.id),
            error=None if blocked is None else f"Skipped because upstream {blocked.name} failed",
            created_at=when,
            last_run_at=when,
            workflow_id=f"materialize-view-{uuid.UUID(view.id).hex}-{self._job_seq}",
            workflow_run_id=self._next("workflow-run"),
            seq=self._job_seq,
            finishes_at=None if blocked is not None else when + timedelta(seconds=view.run_seconds),
            fail=view.fail_runs,
        )
        self._add_job(job)
        if blocked is None:
            view.status = "Running"
        return job

    def _finish_jobs(self) -> None:
        if not self._pending:
            return
        now = self.clock.now()
        for job in sorted(self._pending.values(), key=lambda j: j.seq):
            if job.finishes_at is None or job.finishes_at > now:
                continue
            del self._pending[job.id]
            job.last_run_at = job.finishes_at
            job.updated_at = job.finishes_at
            view = self._views.get(job.view_id or "")
            if job.cancelled:
                job.status = "Cancelled"
                continue
            if job.fail:
                job.status = "Failed"
                job.error = (view.latest_error if view else None) or "Simulated run failure"
            else:
                job.status = "Completed"
                job.rows_materialized = job.rows_expected or 0
            if view is not None and view.status == "Running":
                view.status = job.status
                view.latest_error = job.error
                view.last_run_at = job.finishes_at
            if view is not None and job.status == "Failed":
                self.rules.maybe_suspend(self, view)

    def _last_run_at(self, view: View) -> datetime | None:
        runs = [j for j in self._jobs_by_view.get(view.id, []) if j.last_run_at is not None]
        if runs:
            return max(runs, key=lambda j: (j.last_run_at, j.seq)).last_run_at
        return view.last_run_at

    def _minimal(self, view: View, *, include_columns: bool = True) -> dict[str, Any]:
        folder = self._folders.get(view.folder_id or "")
        return {
            "id": view.id,
            "deleted": view.deleted,
            "name": view.name,
            "created_by": self._user(view.created_by),
            "created_at": render_time(view.created_at),
            "description": view.description,
            "sync_frequency": view.sync_frequency,
            "columns": self._columns(view.columns) if include_columns else [],
            "status": view.status,
            "last_run_at": render_time(self._last_run_at(view)),
            "managed_viewset_kind": view.managed_kind,
            "folder_id": folder.id if folder else None,
            "folder_name": folder.name if folder else None,
            "latest_error": view.latest_error,
            "is_materialized": view.is_materialized,
            "origin": view.origin,
            "is_test": view.is_test,
            "expires_at": render_time(view.expires_at),
            "user_access_level": "editor",
            **self.rules.view_fields(view),
        }

    def _full(self, view: View) -> dict[str, Any]:
        base = self._minimal(view)
        out: dict[str, Any] = {}
        for key, value in base.items():
            out[key] = value
            if key == "name":
                out["query"] = {"kind": "HogQLQuery", "query": view.sql}
            if key == "latest_error":
                out["latest_history_id"] = view.activity_id
        return out

    # ------------------------------------------------------------------ saved queries
    def list_views(self, *, search: str | None = None, include_columns: bool = True) -> list[dict[str, Any]]:
        """Visible views in PostHog's Minimal shape, newest first; ``search`` terms are ANDed icontains."""
        with self.lock:
            self._refresh_jobs()
            terms = [t.lower() for t in search_terms(search)]
            views = [
                v
                for v in self._views.values()
                if self._visible(v) and v.origin != "endpoint" and all(t in v.name.lower() for t in terms)
            ]
            views.sort(key=lambda v: (v.created_at, v.id), reverse=True)
            cols = include_columns or not self.rules.honours_include_columns
            return [self._minimal(v, include_columns=cols) for v in views]

    def sync_frequency_bounds(self, view_id: str) -> dict[str, Any]:
        """E3's ``sync_frequency_bounds`` of a view (lineage.sim.schedule)."""
        with self.lock:
            return schedule.bounds_payload(self, self._view(view_id))

    def get_view(self, view_id: str) -> dict[str, Any]:
        """The retrieve shape (adds ``query`` and ``latest_history_id``)."""
        with self.lock:
            self._refresh_jobs()
            return self._full(self._view(view_id))

    def _validate_name(self, raw: Any, *, me: View | None) -> str:
        name = view_name(raw)
        if me is not None and me.name == name:
            return name
        if self._name_taken(name, me=me.id if me else None):
            raise invalid("A table with this name already exists.", "name")
        return name

    def _validate_query(self, raw: Any) -> tuple[str, list[str]]:
        sql, names = query_text(raw)
        parents: list[str] = []
        for name in names:
            node = self._resolve(name)
            if node is None:
                raise invalid(f'Invalid query: Unknown table "{name}".', "query")
            parents.append(node)
        return sql, parents

    def _infer_columns(self, sql: str, parents: Sequence[str]) -> list[tuple[str, str]] | None:
        """Output columns of a view's HogQL, as PostHog recomputes them when the query changes.

        Names come from the SELECT list (``*`` expands to the parents' columns); a type is taken from
        the parent column of the same name, else ``string``. None when the SQL cannot be read (the
        caller keeps what it had).
        """
        from sqlglot import exp

        from lineage.hogql import to_sqlglot

        try:
            tree = to_sqlglot(sql)
        except HogQLError:
            return None  # unreadable here: keep the old columns, as PostHog keeps them when inference fails
        if not isinstance(tree, exp.Query):
            return None
        names = list(tree.named_selects)
        known: list[tuple[str, str]] = []
        for parent in parents:
            if parent in self._views:
                known += self._views[parent].columns
            elif parent in self._tables:
                known += self._tables[parent].columns
        types = dict(known)
        out: list[tuple[str, str]] = []
        for name in names:
            if name == "*":
                out += [c for c in known if c[0] not in {n for n, _ in out}]
            elif name:
                out.append((name, types.get(name, "string")))
        return out

    def _folder_ref(self, raw: Any) -> str | None:
        if raw is None:
            return None
        fid = canon_uuid(raw)
        if fid is None or fid not in self._folders:
            raise invalid(f'Invalid pk "{raw}" - object does not exist.', "folder_id", code="does_not_exist")
        return fid

    def _log_query_change(
        self, view: View, *, user_id: int | None = None, before: str | None = None, created: bool = False
    ) -> None:
        self._activity += 1
        self._record_activity(view, user_id=user_id, before=before, created=created)
        view.activity_id = self.rules.activity_id(self.team_id, self._activity)

    def _set_lineage(self, view: View, parents: list[str]) -> None:
        """Recompute the view's paths from scratch; a failure leaves the view with no new paths."""
        view.parents = parents
        try:
            self._index.set_parents(view.id, parents)
        except LineageCycleError:
            self._index.drop_paths(view.id)

    def _would_cycle(self, view: View, parents: Iterable[str]) -> bool:
        down: set[str] = {view.id}
        queue = deque([view.id])
        children = self._live_children()
        while queue:
            for child in children.get(queue.popleft(), []):
                if child not in down:
                    down.add(child)
                    queue.append(child)
        return any(p in down for p in parents)

    def create_view(self, body: Any, *, user_id: int) -> tuple[dict[str, Any], bool]:
        """POST: upsert by name. Returns (retrieve shape, created?) - created means 201, else 200."""
        with self.lock:
            self._refresh_jobs()
            if not isinstance(body, dict):
                raise server_error()  # request.data.get on a non-dict body
            existing = next((v for v in self._views.values() if v.name == body.get("name")), None)
            if existing is not None:
                return self._update(existing, body, user_id=user_id), False
            if "name" not in body:
                raise invalid("This field is required.", "name", code="required")
            name = self._validate_name(body["name"], me=None)
            raw_query = body.get("query")
            if raw_query is None:
                raise invalid("Failed to retrieve types for view")
            sql, parents = self._validate_query(raw_query)
            # validated like any field, then dropped: cadence is set by materializing (E2 create)
            sync_write(body.get("sync_frequency"))
            folder_id = self._folder_ref(body.get("folder_id"))
            if body.get("is_test") and not self._users.get(user_id, User(0, "", "", "")).is_staff:
                raise invalid("Only staff users can create test views.", "is_test")
            soft = bool(body.get("soft_update"))
            types = None if soft else column_types(body.get("types"))
            if types is None and not soft:
                types = self._infer_columns(sql, parents)
            now = self.clock.now()
            view = View(
                id=self._next("view"),
                name=name,
                sql=sql,
                parents=parents,
                created_at=now,
                created_by=user_id,
                description=body.get("description") or None,
                columns=types or [],
                updated_at=now,
                folder_id=folder_id,
                is_test=bool(body.get("is_test", False)),
            )
            self._views[view.id] = view
            self._index.add_view(view.id, uuid.UUID(view.id).hex)
            self._set_lineage(view, parents)
            self._log_query_change(view, user_id=user_id, created=True)
            return self._full(view), True

    def update_view(self, view_id: str, body: Any, *, user_id: int | None = None) -> dict[str, Any]:
        """PATCH (partial update) with PostHog's conflict check, sync_frequency and lineage recompute."""
        with self.lock:
            self._refresh_jobs()
            view = self._view(view_id)
            if not isinstance(body, dict):
                raise not_a_dict(body)
            return self._update(view, body, user_id=user_id)

    def _update(self, view: View, body: dict[str, Any], *, user_id: int | None = None) -> dict[str, Any]:
        name = self._validate_name(body["name"], me=view) if "name" in body else view.name
        sql, parents = view.sql, view.parents
        query_given = body.get("query") is not None
        if query_given:
            sql, parents = self._validate_query(body["query"])
        freq = sync_write(body.get("sync_frequency"))
        types: list[tuple[str, str]] | None = None
        folder_id = self._folder_ref(body["folder_id"]) if "folder_id" in body else view.folder_id
        if view.managed_kind is not None:
            raise invalid("Cannot update a query from a managed viewset")
        soft = bool(body.get("soft_update"))
        if query_given and not soft and str(body.get("edited_history_id")) != str(view.activity_id):
            raise invalid("The query was modified by someone else.")
        if query_given:
            if self._would_cycle(view, parents):
                raise invalid("Model contains a cycle")
            types = column_types(body.get("types"))
        changed = query_given and sql != view.sql
        before_sql = view.sql
        view.name = name
        view.folder_id = folder_id
        if "description" in body:
            view.description = body["description"] or None
        if freq == "never":
            view.sync_frequency = None
            view.schedule_paused = True
        elif freq:
            view.sync_frequency = freq
        if query_given:
            if types is None and not soft and sql != view.sql:
                types = self._infer_columns(sql, parents)
            view.sql = sql
            if types is not None:
                view.columns = types
            view.status = "Modified"
        view.updated_at = self.clock.now()
        self._set_lineage(view, parents)
        if changed:
            self._log_query_change(view, user_id=user_id, before=before_sql)
        return self._full(view)

    def _dependents(self, view: View) -> list[View]:
        return [v for v in self._views.values() if not v.deleted and view.id in v.parents and v.id != view.id]

    def _delete(self, view: View) -> None:
        if view.managed_kind is not None:
            raise invalid(
                "Cannot delete a query from a managed viewset directly. Disable the managed viewset instead."
            )
        if self._dependents(view):
            raise _HasDependentsError(view.id)
        self._revert(view)
        view.deleted = True
        view.deleted_at = self.clock.now()
        # PostHog's soft delete is a plain save(): auto_now moves updated_at, so an incremental
        # crawl over system.data_modeling_views sees the deletion.
        view.updated_at = view.deleted_at
        view.deleted_name = view.name
        view.name = f"POSTHOG_DELETED_{uuid.UUID(self._next('deleted')).hex}"

    def delete_view(self, view_id: str) -> None:
        """Soft delete: rename, keep ``deleted_name``, drop the view's own paths (through-paths stay)."""
        with self.lock:
            view = self._view(view_id)
            self.rules.check_delete(self, view)
            try:
                self._delete(view)
            except _HasDependentsError:
                raise self.rules.has_dependents(view) from None

    def _insight_readers(self, view: View) -> list[str]:
        """``insight NAME`` for every live insight whose query or filters read ``view``."""
        out = []
        for name, query, filters in self.consumers.live_insights():
            if view.name in insight_reads(query, filters).names([view.name]):
                out.append(f"insight {name}")
        return out

    def _lineage(self, view_id: str, level: Any, *, up: bool) -> list[str]:
        with self.lock:
            return self.rules.lineage(self, self._view(view_id), level, up=up)

    def ancestors(self, view_id: str, level: Any = MISSING) -> list[str]:
        """POST ancestors: E2 slices the path store (quirks included); E3 validates and walks the DAG."""
        return self._lineage(view_id, level, up=True)

    def descendants(self, view_id: str, level: Any = MISSING) -> list[str]:
        """POST descendants: E2 slices the path store (quirks included); E3 validates and walks the DAG."""
        return self._lineage(view_id, level, up=False)

    def dependencies(self, view_id: str) -> dict[str, int]:
        """``{"upstream_count", "downstream_count"}``."""
        with self.lock:
            up, down = self.rules.dependencies(self, self._view(view_id))
            return {"upstream_count": up, "downstream_count": down}

    # ------------------------------------------------------------------ actions
    def run(self, view_id: str, body: Any) -> None:
        """Start a simulated run: a Running job that completes (or fails) after ``run_seconds``."""
        with self.lock:
            self._refresh_jobs()
            view = self._view(view_id)
            self.rules.check_run_body(body)
            now = self.clock.now()
            self._job_seq += 1
            job = Job(
                id=self._next("job"),
                view_id=view.id,
                status="Running",
                rows_materialized=0,
                rows_expected=rows_for(view.id),
                error=None,
                created_at=now,
                last_run_at=now,
                workflow_id=f"materialize-view-{uuid.UUID(view.id).hex}-{self._job_seq}",
                workflow_run_id=self._next("workflow-run"),
                seq=self._job_seq,
                finishes_at=now + timedelta(seconds=view.run_seconds),
                fail=view.fail_runs,
            )
            self.rules.set_run_mode(self, job, view, body)
            self._add_job(job)
            view.status = "Running"

    def materialize(self, view_id: str, body: Any) -> None:
        """Enable materialization (24hour, or E3's ``sync_frequency``) and set the view's paths up."""
        with self.lock:
            view = self._view(view_id)
            if view.managed_kind is not None:
                raise invalid("Cannot materialize a query from a managed viewset.")
            freq = self.rules.materialize_frequency(self, view, body)
            if freq == "never":
                view.sync_frequency = None
            else:
                view.sync_frequency = freq
            view.is_materialized = True
            view.schedule_paused = False
            if view.fail_materialize:
                # schedule_materialization failed and reset the flag; PostHog reports it by hand
                view.is_materialized = False
                raise AdHocError(500, "Materialization failed. Please try again or contact support.")
            self._set_lineage(view, view.parents)

    def _revert(self, view: View) -> None:
        view.sync_frequency = None
        view.last_run_at = None
        view.latest_error = None
        view.status = None
        view.is_materialized = False
        self._index.drop_paths(view.id)

    def revert_materialization(self, view_id: str) -> None:
        """Undo materialization; deletes the view's own ancestor paths (paths through it stay)."""
        with self.lock:
            view = self._view(view_id)
            if view.managed_kind is not None:
                raise invalid("Cannot revert materialization of a query from a managed viewset.")
            self._revert(view)

    def cancel(self, view_id: str) -> None:
        """Status -> Cancelled; E2 requires the view's status to be Running, E3 a running job."""
        with self.lock:
            self._refresh_jobs()
            view = self._view(view_id)
            running = [
                j for j in self._jobs_by_view.get(view.id, []) if j.status == "Running" and j.workflow_id
            ]
            if not self.rules.can_cancel(view, running):
                raise AdHocError(400, "Cannot cancel a query that is not running")
            if view.fail_cancel:
                raise AdHocError(500, "Failed to cancel workflow")
            for job in running:
                job.cancelled = True  # the workflow notices later; the endpoint leaves jobs alone
            view.status = "Cancelled"

    def run_history(self, view_id: str) -> dict[str, Any]:
        """``{"run_history": [...]}``: five newest jobs by ``last_run_at``."""
        with self.lock:
            self._refresh_jobs()
            view = self._view(view_id)
            jobs = list(self._jobs_by_view.get(view.id, []))
            # ORDER BY last_run_at DESC puts NULLs first in Postgres.
            jobs.sort(
                key=lambda j: (j.last_run_at is None, j.last_run_at or j.created_at, j.seq), reverse=True
            )
            return {
                "run_history": [
                    {"status": j.status, "timestamp": render_time(j.last_run_at)} for j in jobs[:5]
                ]
            }

    def resume_schedules(self, body: Any) -> None:
        """Unpause schedules of the listed views; unknown ids are ignored (202 on success)."""
        with self.lock:
            ids = self.rules.resume_ids(body)
            for vid in ids:
                view = self._views.get(vid)
                if view is not None:
                    view.schedule_paused = False

    def resume(self, view_id: str) -> None:
        """E3's ``POST /:id/resume/``: un-suspend one view and let its schedule run again."""
        with self.lock:
            self.rules.check_resume()
            view = self._view(view_id)
            view.suspended = False  # PostHog's resume action un-suspends the view
            view.schedule_paused = False

    # ------------------------------------------------------------------ folders
    def _folder_shape(self, folder: Folder) -> dict[str, Any]:
        count = sum(1 for v in self._views.values() if v.folder_id == folder.id and not v.deleted)
        return {
            "id": folder.id,
            "name": folder.name,
            "created_at": render_time(folder.created_at),
            "created_by": self._user(folder.created_by),
            "view_count": count,
            "user_access_level": "editor",
        }

    def _folder_name(self, raw: Any, *, me: str | None) -> str:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise invalid("Not a valid string.", "name")
        name = str(raw)
        if len(name) > VIEW_NAME_MAX_LENGTH:
            raise too_long("name", VIEW_NAME_MAX_LENGTH)
        name = name.strip()
        if not name:
            raise invalid("Folder name cannot be empty.", "name")
        if any(f.name == name and f.id != me for f in self._folders.values()):
            raise invalid("A folder with this name already exists.", "name")
        return name

    def list_folders(self) -> list[dict[str, Any]]:
        """Bare list ordered by name."""
        with self.lock:
            return [
                self._folder_shape(f) for f in sorted(self._folders.values(), key=lambda f: (f.name, f.id))
            ]

    def create_folder(self, body: Any, *, user_id: int) -> dict[str, Any]:
        """POST (201)."""
        with self.lock:
            if not isinstance(body, dict):
                raise not_a_dict(body)
            if "name" not in body or body["name"] is None:
                raise invalid("This field is required.", "name", code="required")
            name = self._folder_name(body["name"], me=None)
            folder = Folder(self._next("folder"), name, self.clock.now(), user_id)
            self._folders[folder.id] = folder
            return self._folder_shape(folder)

    def _folder(self, folder_id: str) -> Folder:
        fid = canon_uuid(folder_id)
        folder = self._folders.get(fid) if fid else None
        if folder is None:
            raise not_found()
        return folder

    def get_folder(self, folder_id: str) -> dict[str, Any]:
        with self.lock:
            return self._folder_shape(self._folder(folder_id))

    def update_folder(self, folder_id: str, body: Any) -> dict[str, Any]:
        """PATCH: rename."""
        with self.lock:
            folder = self._folder(folder_id)
            if not isinstance(body, dict):
                raise not_a_dict(body)
            if "name" in body:
                folder.name = self._folder_name(body["name"], me=folder.id)
            return self._folder_shape(folder)

    def delete_folder(self, folder_id: str) -> None:
        """Delete the folder's views (dependents first), then the folder; refuse outside dependents."""
        with self.lock:
            folder = self._folder(folder_id)
            remaining = {v.id: v for v in self._views.values() if v.folder_id == folder.id and not v.deleted}
            while remaining:
                done = []
                for vid, view in sorted(remaining.items(), key=lambda kv: kv[1].name):
                    try:
                        self._delete(view)
                    except _HasDependentsError:
                        continue
                    done.append(vid)
                if not done:
                    blocked = ", ".join(sorted(v.name for v in remaining.values()))
                    raise invalid(_FOLDER_BLOCKED + blocked)
                for vid in done:
                    remaining.pop(vid)
            for view in self._views.values():
                if view.folder_id == folder.id:
                    view.folder_id = None
            del self._folders[folder.id]

    # ------------------------------------------------------------------ jobs
    def _job_shape(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "saved_query_id": job.view_id,
            "status": job.status,
            "rows_materialized": job.rows_materialized,
            "error": job.error,
            "created_at": render_time(job.created_at),
            "last_run_at": render_time(job.last_run_at),
            "workflow_id": job.workflow_id,
            "workflow_run_id": job.workflow_run_id,
            "rows_expected": job.rows_expected,
            **self.rules.job_fields(job),
        }

    def _visible_jobs(self) -> list[Job]:
        self._refresh_jobs()
        jobs = [j for j in self._jobs.values() if j.engine != "duckgres" or "duckgres" in self.flags]
        jobs.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        return jobs

    def list_jobs(
        self, *, saved_query_id: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """All jobs, ``-created_at`` (ties ``-id``); ``saved_query_id`` as django-filter checks it;
        ``status`` (E3's filter, a choice of the job statuses)."""
        with self.lock:
            jobs = self._visible_jobs()
            if status is not None and status != "":
                if status not in JOB_STATUSES:
                    raise invalid(
                        f"Select a valid choice. {status} is not one of the available choices.",
                        "status",
                        code="invalid_choice",
                    )
                jobs = [j for j in jobs if j.status == status]
            if saved_query_id is not None and saved_query_id != "":
                vid = canon_uuid(saved_query_id)
                if vid is None or vid not in self._views:
                    raise invalid(
                        "Select a valid choice. That choice is not one of the available choices.",
                        "saved_query_id",
                        code="invalid_choice",
                    )
                if self._views[vid].deleted:
                    return []
                jobs = [j for j in jobs if j.view_id == vid]
            return [self._job_shape(j) for j in jobs]

    def get_job(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            jid = canon_uuid(job_id)
            job = next((j for j in self._visible_jobs() if j.id == jid), None)
            if job is None:
                raise not_found()
            return self._job_shape(job)

    def recent_jobs(self) -> list[dict[str, Any]]:
        """Per saved query the newest non-Running ``materialize*`` job, ordered by saved_query_id."""
        with self.lock:
            newest: dict[str, Job] = {}
            for job in self._visible_jobs():
                # the newest PostHog lists the DAG's Skipped rows too, whatever started them
                skipped = self.rules.lists_skipped_runs and job.status == "Skipped"
                if job.status == "Running" or not (
                    (job.workflow_id or "").startswith("materialize") or skipped
                ):
                    continue
                key = job.view_id or ""
                if key not in newest:
                    newest[key] = job
            return [self._job_shape(newest[k]) for k in sorted(newest)]

    def running_jobs(self) -> list[dict[str, Any]]:
        """Running jobs of v2 (``materialize*``) workflows."""
        with self.lock:
            return [
                self._job_shape(j)
                for j in self._visible_jobs()
                if j.status == "Running" and (j.workflow_id or "").startswith("materialize")
            ]

    # ------------------------------------------------------------------ data_warehouse endpoints
    def completed_activity(
        self, *, cutoff_days: int, kind: str | None = None, outcome: str | None = None
    ) -> list[dict[str, Any]]:
        """Completed import and materialization jobs since the cutoff, ``created_at`` DESC.

        E3 takes ``kind`` (``sync`` | ``materialization``) and ``outcome`` (``completed`` |
        ``failed``); there ``origin`` is null for a sync and the view's origin for a materialization.
        """
        with self.lock:
            self._refresh_jobs()
            cutoff = self.clock.now() - timedelta(days=cutoff_days)
            want, syncs, mats = self.rules.activity_filter(kind, outcome)
            rows: list[tuple[datetime, str, dict[str, Any]]] = []
            for ext in self._external if syncs else []:
                if ext.status == want and ext.created_at >= cutoff:
                    rows.append(
                        (
                            ext.created_at,
                            ext.id,
                            {
                                "id": ext.id,
                                "type": ext.source_type,
                                "name": ext.name,
                                "status": ext.status,
                                "rows": ext.rows_synced,
                                "created_at": render_time(ext.created_at),
                                "finished_at": render_time(ext.finished_at),
                                "latest_error": ext.latest_error,
                                "workflow_run_id": ext.workflow_run_id,
                                "origin": self.rules.activity_origin(None, sync=True),
                            },
                        )
                    )
            for job in self._jobs.values() if mats else []:
                if job.status != want or job.created_at < cutoff:
                    continue
                view = self._views.get(job.view_id or "")
                rows.append(
                    (
                        job.created_at,
                        job.id,
                        {
                            "id": job.id,
                            "type": "Materialized view",
                            "name": (view.deleted_name or view.name) if view else None,
                            "status": job.status,
                            "rows": job.rows_materialized,
                            "created_at": render_time(job.created_at),
                            "finished_at": render_time(job.last_run_at),
                            "latest_error": job.error,
                            "workflow_run_id": job.workflow_run_id,
                            "origin": self.rules.activity_origin(view, sync=False),
                        },
                    )
                )
            rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
            return [r[2] for r in rows]

    def check_database_name(self, name: str | None) -> dict[str, Any]:
        """``{"name", "available"}``; ad-hoc 400/403 errors as PostHog's proxy endpoint gives them."""
        with self.lock:
            if not name:
                raise AdHocError(400, "name query parameter is required")
            if not _DB_NAME_RE.match(name):
                raise AdHocError(
                    400,
                    "name must be 3-63 characters, start with a lowercase letter, end with a letter or "
                    "digit, and contain only lowercase letters, digits and hyphens",
                )
            if "provision-managed-warehouse-beta" not in self.flags:
                raise AdHocError(403, "This feature is not enabled")
            taken = {v.name.lower() for v in self._views.values()} | {"posthog", "default", "admin"}
            digest = hashlib.sha256(name.encode()).digest()[0]
            return {"name": name, "available": name not in taken and digest % 5 != 0}

    # ------------------------------------------------------------------ warehouse tables
    def _table_shape(self, table: Table) -> dict[str, Any]:
        source = None
        if table.source_type:
            source = {
                "id": source_id(table),
                "source_type": table.source_type,
                "status": "Completed",
                "prefix": table.prefix,
                "revenue_analytics_config": None,
            }
        shape = {
            "id": table.id,
            "deleted": False,
            "name": table.name,
            "format": table.format,
            "created_by": self._user(table.created_by),
            "created_at": render_time(table.created_at),
            "url_pattern": f"https://bucket.s3.amazonaws.com/{table.name}/*.parquet",
            "credential": None,
            "columns": self._columns(table.columns),
            "external_data_source": source,
            "external_schema": None,
        }
        shape.update(self.rules.table_fields(table))
        return shape

    def list_tables(self, *, search: str | None = None) -> list[dict[str, Any]]:
        """Warehouse tables (not PostHog tables), ``-created_at``; ``search`` icontains on name."""
        with self.lock:
            terms = [t.lower() for t in search_terms(search)]
            tables = [
                t
                for t in self._tables.values()
                if t.kind == "warehouse" and all(term in t.name.lower() for term in terms)
            ]
            tables.sort(key=lambda t: (t.created_at, t.id), reverse=True)
            return [self._table_shape(t) for t in tables]

    def get_table(self, table_id: str) -> dict[str, Any]:
        with self.lock:
            tid = canon_uuid(table_id)
            table = self._tables.get(tid) if tid else None
            if table is None or table.kind != "warehouse":
                raise not_found()
            return self._table_shape(table)

    def warehouse_dag(self) -> dict[str, Any]:
        """The INTERNAL whole-graph endpoint: raw labels from the path store, sorted."""
        with self.lock:
            edges, labels = self._index.edges_and_nodes()
            view_hex = {uuid.UUID(v).hex for v in self._views}
            table_hex = {uuid.UUID(t.id).hex for t in self._tables.values() if t.kind == "warehouse"}

            def kind(label: str) -> str:
                if label in view_hex:
                    return "SavedQuery"
                return "Table" if label in table_hex else "PostHog"

            return {
                "edges": [list(e) for e in sorted(edges)],
                "nodes": [[lab, kind(lab)] for lab in sorted(labels)],
            }

    def system_records(self, table: str) -> list[dict[str, Any]]:
        """Raw rows behind HogQL's ``system.<table>`` (deleted rows included), for the query API.

        Values are Python objects (``datetime``, ``bool``, ``int``, ``str``, ``None``); JSON columns
        are JSON text as PostHog stores them. ``table`` is the name without ``system.``.
        """
        with self.lock:
            self._refresh_jobs()
            rows = system_tables.ROWS.get(table)
            if rows is not None:
                return rows(self)
            return self.consumers.system_records(table) or []

    # ------------------------------------------------------------------ activity and health
    def _record_activity(self, view: View, *, user_id: int | None, before: str | None, created: bool) -> None:
        moment = self.clock.now()
        entry_id = det_uuid("activity", self.team_id, self._activity)
        self._activity_log.setdefault(view.id, []).append(
            {
                "id": entry_id,
                "user": self._user(user_id) if user_id is not None else None,
                "unread": False,
                "is_system": user_id is None,
                "activity": "created" if created else "updated",
                "item_id": view.id,
                "scope": "DataWarehouseSavedQuery",
                "detail": {
                    "id": view.id,
                    "changes": [
                        {
                            "type": "DataWarehouseSavedQuery",
                            "action": "created" if created else "changed",
                            "field": "query",
                            "before": None if created else {"kind": "HogQLQuery", "query": before},
                            "after": {"kind": "HogQLQuery", "query": view.sql},
                        }
                    ],
                    "merge": None,
                    "trigger": None,
                    "name": view.name,
                    "short_id": None,
                    "type": None,
                },
                "created_at": render_time(moment),
            }
        )

    def activity(self, view_id: str) -> list[dict[str, Any]]:
        """``GET .../:id/activity/``: the view's activity log, newest first (PostHog's load_activity)."""
        with self.lock:
            view = self._view(view_id)
            return list(reversed(self._activity_log.get(view.id, [])))

    def data_health_issues(self) -> list[dict[str, Any]]:
        """Failing materializations (and failed syncs), one row each, for the pipeline status panel."""
        with self.lock:
            self._refresh_jobs()
            rows: list[dict[str, Any]] = []
            for view in sorted(self._views.values(), key=lambda v: v.id):
                if not self._visible(view) or not view.is_materialized:
                    continue
                if view.status != "Failed" and not view.suspended:
                    continue
                rows.append(
                    {
                        "id": view.id,
                        "name": view.name,
                        "type": "materialized_view",
                        "status": "suspended" if view.suspended else "failed",
                        "error": view.latest_error,
                        "failed_at": render_time(self._last_run_at(view)),
                        "url": None,
                    }
                )
            for ext in sorted(self._external, key=lambda e: e.id):
                if ext.status == "Failed":
                    rows.append(
                        {
                            "id": ext.id,
                            "name": ext.name,
                            "type": "external_data_sync",
                            "status": "failed",
                            "error": ext.latest_error,
                            "failed_at": render_time(ext.finished_at or ext.created_at),
                            "url": None,
                        }
                    )
            return rows

    def check_incremental(self, view_id: str, body: Any) -> dict[str, Any]:
        """``check_incremental``: whether the view's SQL can run incrementally (E3 has the action)."""
        with self.lock:
            view = self._view(view_id)
            sql = view.sql
            if isinstance(body, dict) and isinstance(body.get("query"), dict):
                sql = str(body["query"].get("query") or sql)
            has_ts = bool(re.search(r"\b(timestamp|created_at|updated_at)\b", sql, re.IGNORECASE))
            aggregates = bool(re.search(r"\b(GROUP\s+BY|DISTINCT)\b", sql, re.IGNORECASE))
            ok = has_ts and not aggregates
            return {
                "is_incremental_compatible": ok,
                "reason": None if ok else "needs a time column and no aggregation to run incrementally",
            }

    def user_basic(self, user_id: int) -> dict[str, Any]:
        """PostHog's UserBasic shape."""
        with self.lock:
            shape = self._user(user_id)
            assert shape is not None
            return shape


class _HasDependentsError(Exception):
    """Internal: a view cannot be deleted while other live views read it."""
