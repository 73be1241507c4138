"""Saved queries (views) of the simulated warehouse: list, create, update, delete and lineage.

A view's HogQL is validated as PostHog validates it (every table it reads must resolve to a view,
a warehouse table or a PostHog table), its output columns are inferred when the query changes, and
its lineage is kept in the path store (:class:`lineage.sim.paths.LineageIndex`); the era
(:mod:`lineage.sim.era`) decides how ``ancestors``/``descendants``/``dependencies`` answer.
"""

from __future__ import annotations

import re
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from lineage.consumers.extract import insight_reads
from lineage.errors import HogQLError
from lineage.sim.activity import ActivityLog
from lineage.sim.errors import invalid, server_error
from lineage.sim.jobs import JobEngine
from lineage.sim.pagination import ShapedRows
from lineage.sim.paths import MISSING
from lineage.sim.records import User, View, canon_uuid, render_time
from lineage.sim.validate import column_types, not_a_dict, query_text, search_terms, sync_write, view_name

__all__ = ["HasDependentsError", "ViewEngine"]


class HasDependentsError(Exception):
    """A view cannot be deleted while other live views read it (each caller answers in its own words)."""


class ViewEngine(JobEngine, ActivityLog):
    """The saved queries of one team; builds on the jobs (a view shows its last run, deleting it
    reverts its materialization) and on the activity log (query changes are logged)."""

    # ------------------------------------------------------------------ lookups and shapes
    def _live_view_named(self, name: str) -> View | None:
        """The live (not deleted) view called ``name``, if any."""
        for view in self._views.values():
            if not view.deleted and view.name == name:
                return view
        return None

    def _resolve(self, name: str) -> str | None:
        """The node id a table name in a view's HogQL reads: a live view, a warehouse table or a
        PostHog table (in that order); None when PostHog would answer 'Unknown table'."""
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
        """Whether a table, or a live view other than ``me``, already has ``name``."""
        if any(name in (t.name, t.sql_name) for t in self._tables.values()):
            return True
        view = self._live_view_named(name)
        return view is not None and view.id != me

    def _minimal(self, view: View, *, include_columns: bool = True) -> dict[str, Any]:
        """The view as PostHog's list answers it (its ``DataWarehouseSavedQueryMinimalSerializer``)."""
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
        """The view as a retrieve, create or update answers it: the minimal shape plus ``query`` (after
        ``name``) and ``latest_history_id`` (after ``latest_error``), in PostHog's key order."""
        base = self._minimal(view)
        out: dict[str, Any] = {}
        for key, value in base.items():
            out[key] = value
            if key == "name":
                out["query"] = {"kind": "HogQLQuery", "query": view.sql}
            if key == "latest_error":
                out["latest_history_id"] = view.activity_id
        return out

    # ------------------------------------------------------------------ reads
    def list_views(
        self, *, search: str | None = None, include_columns: bool = True, lazy: bool = False
    ) -> Sequence[dict[str, Any]]:
        """Visible views in PostHog's Minimal shape, newest first; ``search`` terms are ANDed icontains.
        ``lazy``: the rows as :class:`~lineage.sim.pagination.ShapedRows`, shaped as a page reads them."""
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
            if lazy:
                return ShapedRows(views, lambda v: self._minimal(v, include_columns=cols), self.lock)
            return [self._minimal(v, include_columns=cols) for v in views]

    def get_view(self, view_id: str) -> dict[str, Any]:
        """The retrieve shape (adds ``query`` and ``latest_history_id``)."""
        with self.lock:
            self._refresh_jobs()
            return self._full(self._view(view_id))

    # ------------------------------------------------------------------ writes
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
        with self._changing():
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
        with self._changing():
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
            raise HasDependentsError(view.id)
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
        with self._changing():
            view = self._view(view_id)
            self.rules.check_delete(self, view)
            try:
                self._delete(view)
            except HasDependentsError:
                raise self.rules.has_dependents(view) from None

    def _insight_readers(self, view: View) -> list[str]:
        """``insight NAME`` for every live insight whose query or filters read ``view``."""
        out = []
        for name, query, filters in self.consumers.live_insights():
            if view.name in insight_reads(query, filters).names([view.name]):
                out.append(f"insight {name}")
        return out

    # ------------------------------------------------------------------ lineage
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
