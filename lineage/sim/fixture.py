"""Fixture loading: a ``lineage-sim-fixture/1`` document read, checked and turned into the team's records.

Every problem is a :class:`lineage.errors.FixtureError` naming the key at fault. The result,
:class:`LoadedTeam`, is what :class:`lineage.sim.state.Warehouse` starts from; writing fixtures is
:mod:`lineage.sim.generate`'s job.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import networkx as nx

from lineage.errors import FixtureError, HogQLError
from lineage.hogql import extract_tables
from lineage.posthog import POSTHOG_TABLES, SYNC_FREQUENCY_SECONDS, VIEW_NAME_RE
from lineage.sim.consumers import ACCESS_LEVELS, RESOURCE_TABLES
from lineage.sim.fixture_values import as_dict, as_list, opt_time, parse_time
from lineage.sim.paths import LineageIndex
from lineage.sim.records import (
    JOB_STATUSES,
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
    table_labels,
)

__all__ = ["FIXTURE_FORMAT", "LoadedTeam", "table_cadences"]

FIXTURE_FORMAT: Final = "lineage-sim-fixture/1"
DEFAULT_POSTHOG_TABLES: Final = tuple(sorted(POSTHOG_TABLES))
# The cadences a fixture's view may carry: every one PostHog reports.
_SYNC_READ: Final = tuple(SYNC_FREQUENCY_SECONDS)


def columns_from(raw: Any, where: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i, col in enumerate(as_list(raw, where)):
        if isinstance(col, str):
            out.append((col, "string"))
        elif isinstance(col, dict) and isinstance(col.get("name"), str):
            out.append((col["name"], str(col.get("type") or "string")))
        else:
            raise FixtureError(f"{where}[{i}]: a column is a name or {{'name', 'type'}}")
    return out


class LoadedTeam:
    """A fixture's team, checked: its users, API keys, tables, folders, views (with their lineage
    paths in ``index``), jobs and external syncs. ``now`` is the fixture's clock start."""

    def __init__(self, fixture: Mapping[str, Any]) -> None:
        if not isinstance(fixture, Mapping):
            raise FixtureError("a fixture is a JSON object with 'format': 'lineage-sim-fixture/1'")
        if fixture.get("format") != FIXTURE_FORMAT:
            raise FixtureError(
                f"fixture format is {fixture.get('format')!r}, expected {FIXTURE_FORMAT!r}; "
                "write the fixture with `lineage sim fixture`"
            )
        team = fixture.get("team_id", 1)
        if not isinstance(team, int) or isinstance(team, bool):
            raise FixtureError("team_id must be an integer")
        self.team_id: int = team
        now = parse_time(fixture.get("now", "2026-01-01T00:00:00Z"), "now")
        self.now = now
        self.flags: frozenset[str] = frozenset(str(f) for f in as_list(fixture.get("flags"), "flags"))
        self.users: dict[int, User] = {}
        self._load_users(fixture)
        self.api_keys: dict[str, KeyInfo] = {}
        self._load_keys(fixture)
        self.tables: dict[str, Table] = {}
        self._load_tables(fixture, now)
        self.folders: dict[str, Folder] = {}
        self._load_folders(fixture, now)
        self.views: dict[str, View] = {}
        self.index = LineageIndex()
        for table in self.tables.values():
            self.index.add_table(table.id, table_labels(table))
        self._load_views(fixture, now)
        self.jobs: list[Job] = []
        self._job_seq = 0
        self._load_jobs(fixture, now)
        self.external: list[ExternalJob] = []
        self._load_external(fixture, now)

    # ------------------------------------------------------------------ fixture loading
    def _load_users(self, fixture: Mapping[str, Any]) -> None:
        for i, raw in enumerate(as_list(fixture.get("users"), "users")):
            row = as_dict(raw, f"users[{i}]")
            uid = row.get("id", i + 1)
            if not isinstance(uid, int) or uid in self.users:
                raise FixtureError(f"users[{i}]: id must be a unique integer")
            self.users[uid] = User(
                uid,
                str(row.get("first_name", "")),
                str(row.get("last_name", "")),
                str(row.get("email", f"user{uid}@example.com")),
                bool(row.get("is_staff", False)),
            )
        if not self.users:
            self.users[1] = User(1, "Ada", "", "ada@example.com")
        self.default_user = min(self.users)

    def _load_keys(self, fixture: Mapping[str, Any]) -> None:
        for i, raw in enumerate(as_list(fixture.get("api_keys"), "api_keys")):
            row = as_dict(raw, f"api_keys[{i}]")
            key = row.get("key")
            if not isinstance(key, str) or not key:
                raise FixtureError(f"api_keys[{i}]: 'key' must be a non-empty string")
            projects = row.get("projects")
            no_access = _no_access(row.get("access"), f"api_keys[{i}].access")
            self.api_keys[key] = KeyInfo(
                key=key,
                scopes=frozenset(str(s) for s in as_list(row.get("scopes"), f"api_keys[{i}].scopes")),
                projects=None if projects is None else frozenset(int(p) for p in projects),
                user_id=int(row.get("user", self.default_user)),
                denied_tables=frozenset(
                    str(t) for t in as_list(row.get("denied_tables"), f"api_keys[{i}].denied_tables")
                )
                | frozenset(t for r in no_access for t in RESOURCE_TABLES[r]),
                over_quota=bool(row.get("over_quota", False)),
                no_access=no_access,
            )

    def _load_tables(self, fixture: Mapping[str, Any], now: datetime) -> None:
        # Built-in PostHog tables yield to fixture objects of the same name (real graphs have a
        # dbt model called "events"), so that any real graph loads.
        taken = {str(r.get("name")) for r in as_list(fixture.get("views"), "views") if isinstance(r, dict)}
        for builtin in DEFAULT_POSTHOG_TABLES:
            if builtin not in taken:
                self.tables[builtin] = Table(builtin, builtin, "posthog", now)
        seen: set[str] = set()
        for i, raw in enumerate(as_list(fixture.get("tables"), "tables")):
            row = as_dict(raw, f"tables[{i}]")
            name = row.get("name")
            if not isinstance(name, str) or not name:
                raise FixtureError(f"tables[{i}]: 'name' must be a non-empty string")
            if name in seen:
                raise FixtureError(f"duplicate name: table {name!r} appears twice; names must be unique")
            seen.add(name)
            kind = row.get("kind", "warehouse")
            if kind not in ("posthog", "warehouse"):
                raise FixtureError(f"table {name!r}: kind must be 'posthog' or 'warehouse'")
            created = parse_time(row.get("created_at", render_time(now)), f"table {name!r}.created_at")
            cols = columns_from(row.get("columns"), f"table {name!r}.columns")
            if kind == "posthog":
                self.tables[name] = Table(name, name, "posthog", created, columns=cols)
                continue
            tid = canon_uuid(row.get("id")) if row.get("id") is not None else det_uuid("table", name)
            if tid is None:
                raise FixtureError(f"table {name!r}: id {row.get('id')!r} is not a UUID")
            source_type, prefix, hogql = _sourced(row, name)
            self.tables[tid] = Table(
                tid,
                name,
                "warehouse",
                created,
                format=str(row.get("format", "Parquet")),
                source_type=source_type,
                columns=cols,
                created_by=row.get("created_by"),
                prefix=prefix,
                hogql_name=hogql,
            )

    def _load_folders(self, fixture: Mapping[str, Any], now: datetime) -> None:
        for i, raw in enumerate(as_list(fixture.get("folders"), "folders")):
            row = as_dict(raw, f"folders[{i}]")
            name = row.get("name")
            if not isinstance(name, str) or not name.strip():
                raise FixtureError(f"folders[{i}]: 'name' must be a non-empty string")
            if any(f.name == name for f in self.folders.values()):
                raise FixtureError(f"duplicate name: folder {name!r} appears twice")
            fid = canon_uuid(row["id"]) if row.get("id") is not None else det_uuid("folder", name)
            if fid is None:
                raise FixtureError(f"folder {name!r}: id is not a UUID")
            created = parse_time(row.get("created_at", render_time(now)), f"folder {name!r}.created_at")
            self.folders[fid] = Folder(fid, name, created, row.get("created_by", self.default_user))

    def _load_views(self, fixture: Mapping[str, Any], now: datetime) -> None:
        rows = [as_dict(r, f"views[{i}]") for i, r in enumerate(as_list(fixture.get("views"), "views"))]
        table_names = {t.name for t in self.tables.values()}
        live: dict[str, int] = {}
        gone: dict[str, int] = {}
        dupes: set[str] = set()
        for i, row in enumerate(rows):
            name = row.get("name")
            if not isinstance(name, str) or not name:
                raise FixtureError(f"views[{i}]: 'name' must be a non-empty string")
            if row.get("deleted"):
                # PostHog renames deleted views, so their old names may repeat.
                gone.setdefault(name, i)
                continue
            if name in live or name in table_names:
                dupes.add(name)
            live[name] = i
        if dupes:
            raise FixtureError(
                f"duplicate name: {', '.join(sorted(dupes))} (view names must be unique and not tables)"
            )
        ids: list[str] = []
        seen: set[str] = set()  # ``vid in ids`` made loading 20,000 views quadratic
        for row in rows:
            raw_id = row.get("id")
            key = f"deleted:{len(ids)}:{row['name']}" if row.get("deleted") else row["name"]
            vid = det_uuid("view", key) if raw_id is None else canon_uuid(raw_id)
            if vid is None or vid in seen:
                raise FixtureError(f"view {row['name']!r}: id {raw_id!r} is not a unique UUID")
            ids.append(vid)
            seen.add(vid)
        folder_by_name = {f.name: f.id for f in self.folders.values()}
        table_by_name = {t.name: t.id for t in self.tables.values() if t.kind == "warehouse"}
        table_by_name.update({t.sql_name: t.id for t in self.tables.values() if t.kind == "warehouse"})
        posthog = {t.name for t in self.tables.values() if t.kind == "posthog"}
        dangling: list[str] = []
        graph: nx.DiGraph[int] = nx.DiGraph()
        resolved: list[list[str]] = []
        for i, row in enumerate(rows):
            name = row["name"]
            sql = row.get("query", "")
            if isinstance(sql, dict):
                sql = sql.get("query", "")
            if not isinstance(sql, str):
                raise FixtureError(f"view {name!r}: 'query' must be SQL text")
            if "parents" in row:
                parent_names = [str(p) for p in as_list(row["parents"], f"view {name!r}.parents")]
            else:
                try:
                    parent_names = extract_tables(sql)
                except HogQLError as err:
                    raise FixtureError(f"view {name!r}: its query does not parse: {err}") from None
            out: list[str] = []
            graph.add_node(i)
            for parent in parent_names:
                # PostHog's order (live view, warehouse table, PostHog table); deleted views come
                # last because fixtures name them only to draw ghosts.
                if parent in live:
                    out.append(ids[live[parent]])
                    graph.add_edge(live[parent], i)
                elif parent in table_by_name:
                    out.append(table_by_name[parent])
                elif parent in posthog:
                    out.append(parent)
                elif parent in gone:
                    out.append(ids[gone[parent]])
                    graph.add_edge(gone[parent], i)
                else:
                    dangling.append(f"{name} -> {parent}")
            resolved.append(out)
        if dangling:
            raise FixtureError(
                "parents that name no view or table: "
                + ", ".join(sorted(dangling))
                + "; add them to 'tables'"
            )
        try:
            # find_cycle on an acyclic graph walks from every node (minutes at 20,000 views); a
            # topological sort says "no cycle" in one pass, and find_cycle then runs only on a cycle.
            cycle = [] if nx.is_directed_acyclic_graph(graph) else nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            cycle = []
        if cycle:
            members = sorted({rows[u]["name"] for u, _ in cycle})
            raise FixtureError(f"views form a cycle: {', '.join(members)}; remove one of these parents")
        for index in nx.lexicographical_topological_sort(graph):
            row = rows[index]
            name = row["name"]
            vid = ids[index]
            created = parse_time(row.get("created_at", now), f"view {name!r}.created_at")
            folder = row.get("folder")
            folder_id = None
            if folder is not None:
                folder_id = folder_by_name.get(str(folder)) or canon_uuid(folder)
                if folder_id not in self.folders:
                    raise FixtureError(f"view {name!r}: folder {folder!r} is not in 'folders'")
            deleted = bool(row.get("deleted", False))
            freq = row.get("sync_frequency")
            if freq == "never":
                freq = None
            if freq is not None and freq not in _SYNC_READ:
                raise FixtureError(
                    f"view {name!r}: sync_frequency {freq!r} is not one of {', '.join(_SYNC_READ)}"
                )
            sql = row.get("query", "")
            view = View(
                id=vid,
                name=f"POSTHOG_DELETED_{uuid.UUID(det_uuid('deleted', vid)).hex}" if deleted else name,
                sql=sql.get("query", "") if isinstance(sql, dict) else sql,
                parents=resolved[index],
                created_at=created,
                created_by=row.get("created_by", self.default_user),
                description=row.get("description"),
                origin=row.get("origin", "data_warehouse"),
                managed_kind=row.get("managed_viewset_kind"),
                columns=columns_from(row.get("columns"), f"view {name!r}.columns"),
                updated_at=opt_time(row.get("updated_at"), f"view {name!r}.updated_at"),
                deleted=deleted,
                deleted_at=opt_time(row.get("deleted_at"), f"view {name!r}.deleted_at") if deleted else None,
                deleted_name=name if deleted else None,
                status=row.get("status"),
                last_run_at=opt_time(row.get("last_run_at"), f"view {name!r}.last_run_at"),
                latest_error=row.get("latest_error"),
                is_materialized=bool(row.get("is_materialized", False)),
                sync_frequency=freq,
                folder_id=folder_id,
                is_test=bool(row.get("is_test", False)),
                run_seconds=float(row.get("run_seconds", 30)),
                fail_runs=bool(row.get("fail_runs", False)),
                fail_materialize=bool(row.get("fail_materialize", False)),
                fail_cancel=bool(row.get("fail_cancel", False)),
                is_incremental=bool(row.get("is_incremental", False)),
                incremental=as_dict(row["incremental"], f"view {name!r}.incremental")
                if row.get("incremental") is not None
                else None,
                suspended=bool(row.get("suspended", False)),
                expires_at=opt_time(row.get("expires_at"), f"view {name!r}.expires_at"),
            )
            if deleted and view.deleted_at is None:
                view.deleted_at = now
            self.views[vid] = view
            self.index.add_view(vid, uuid.UUID(vid).hex)
            self.index.set_parents(vid, view.parents)
        for view in self.views.values():
            if view.deleted:
                self.index.drop_paths(view.id)

    def _load_jobs(self, fixture: Mapping[str, Any], now: datetime) -> None:
        by_name = {v.deleted_name or v.name: v.id for v in self.views.values()}
        for i, raw in enumerate(as_list(fixture.get("jobs"), "jobs")):
            row = as_dict(raw, f"jobs[{i}]")
            view_ref = row.get("view")
            vid = None
            if view_ref is not None:
                vid = by_name.get(str(view_ref)) or canon_uuid(view_ref)
                if vid not in self.views:
                    raise FixtureError(f"jobs[{i}]: view {view_ref!r} names no view")
            jid = canon_uuid(row["id"]) if row.get("id") is not None else det_uuid("job", i, view_ref)
            if jid is None:
                raise FixtureError(f"jobs[{i}]: id is not a UUID")
            # Defaults are datetimes, which parse_time takes as they are: the text of render_time
            # parses back to the same moment, at a strftime per job (70,000 at 20,000 views).
            created = parse_time(row.get("created_at", now), f"jobs[{i}].created_at")
            status = str(row.get("status", "Running"))
            if status not in JOB_STATUSES:
                raise FixtureError(f"jobs[{i}]: status {status!r} is not a job status")
            self._job_seq += 1
            job = Job(
                id=jid,
                view_id=vid,
                status=status,
                rows_materialized=int(row.get("rows_materialized", 0) or 0),
                rows_expected=row.get("rows_expected"),
                error=row.get("error"),
                created_at=created,
                last_run_at=opt_time(row.get("last_run_at", created), f"jobs[{i}].last_run_at"),
                workflow_id=row.get("workflow_id"),
                workflow_run_id=row.get("workflow_run_id"),
                engine=str(row.get("engine", "clickhouse")),
                seq=self._job_seq,
                run_mode=row.get("run_mode"),
                full_refresh_reason=row.get("full_refresh_reason"),
            )
            # updated_at: when a finished job reached its final status (its last_run_at unless given)
            if status != "Running":
                job.updated_at = opt_time(row.get("updated_at", job.last_run_at), f"jobs[{i}].updated_at")
            self.jobs.append(job)

    def _load_external(self, fixture: Mapping[str, Any], now: datetime) -> None:
        for i, raw in enumerate(as_list(fixture.get("external_jobs"), "external_jobs")):
            row = as_dict(raw, f"external_jobs[{i}]")
            source = str(row.get("source_type", "Stripe"))
            self.external.append(
                ExternalJob(
                    id=canon_uuid(row.get("id")) or det_uuid("external", i),
                    source_type=source,
                    name=str(row.get("name", source)),
                    status=str(row.get("status", "Completed")),
                    rows_synced=int(row.get("rows_synced", 0) or 0),
                    created_at=parse_time(row.get("created_at", render_time(now)), f"external_jobs[{i}]"),
                    finished_at=opt_time(row.get("finished_at"), f"external_jobs[{i}].finished_at"),
                    latest_error=row.get("latest_error"),
                    workflow_run_id=row.get("workflow_run_id"),
                )
            )


def table_cadences(fixture: Mapping[str, Any], tables: Mapping[str, Table]) -> dict[str, str]:
    """Table id -> the sync cadence the fixture gives its table (key ``sync_frequency``)."""
    out: dict[str, str] = {}
    for i, raw in enumerate(as_list(fixture.get("tables"), "tables")):
        row = as_dict(raw, f"tables[{i}]")
        cadence = row.get("sync_frequency")
        if cadence is not None:
            if cadence not in SYNC_FREQUENCY_SECONDS:
                raise FixtureError(f"table {row.get('name')!r}: sync_frequency {cadence!r} is unknown")
            found = [t.id for t in tables.values() if t.name == row.get("name")]
            out.update((tid, str(cadence)) for tid in found)
    return out


def _no_access(raw: Any, where: str) -> frozenset[str]:
    """The fixture's per-key object access, ``{"dashboard": "none", ...}``: the resources set to none."""
    if raw is None:
        return frozenset()
    if not isinstance(raw, dict):
        raise FixtureError(f'{where}: expected an object such as {{"dashboard": "none"}}')
    out = set()
    for resource, level in raw.items():
        if resource not in RESOURCE_TABLES:
            raise FixtureError(
                f"{where}: unknown resource {resource!r}; use one of {', '.join(RESOURCE_TABLES)}"
            )
        if level not in ACCESS_LEVELS:
            raise FixtureError(
                f"{where}.{resource}: level {level!r} is not one of {', '.join(ACCESS_LEVELS)}"
            )
        if level == "none":
            out.add(resource)
    return frozenset(out)


def _sourced(row: Mapping[str, Any], name: str) -> tuple[str | None, str | None, str | None]:
    """(source_type, prefix, hogql_name) of a fixture's warehouse table (README: fixture keys).

    A ``hogql_name`` fixes the source type and prefix it spells when the fixture gives none; a table
    with a source but no ``hogql_name`` gets the one PostHog derives (source type, prefix, name).
    """
    from lineage.posthog import hogql_table_name, split_hogql_table_name

    raw = row.get("hogql_name")
    if raw is not None and (not isinstance(raw, str) or not VIEW_NAME_RE.match(raw)):
        raise FixtureError(f"table {name!r}: hogql_name {raw!r} is not a dotted table name")
    source_type = row.get("source_type")
    prefix = row.get("prefix")
    if raw is not None and "." in raw:
        derived_source, derived_prefix = split_hogql_table_name(raw)
        source_type = source_type or derived_source
        prefix = prefix if prefix is not None else derived_prefix
    if source_type is not None and not isinstance(source_type, str):
        raise FixtureError(f"table {name!r}: source_type must be a string")
    if prefix is not None and not isinstance(prefix, str):
        raise FixtureError(f"table {name!r}: prefix must be a string")
    hogql = raw if raw is not None else (hogql_table_name(name, source_type, prefix) if source_type else None)
    return source_type, prefix, (hogql if hogql != name else None)
