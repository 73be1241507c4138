"""The simulated PostHog team: views, tables, folders, jobs and lineage, behaving like E2 (E3 as a switch).

Every public method of :class:`Warehouse` returns the exact JSON shape PostHog sends and raises
:mod:`lineage.sim.errors` classes for PostHog's error answers; the HTTP layer only routes.
Lineage answers (E1/E2) come from :class:`lineage.sim.paths.LineageIndex`, which equals PostHog's
root-to-leaf path store without enumerating it; E3 walks the current view graph instead.

>>> wh = Warehouse({"format": "lineage-sim-fixture/1", "now": "2026-01-01T00:00:00Z",
...                 "views": [{"name": "v", "query": "select event from events", "parents": ["events"]}]})
>>> wh.ancestors(wh.list_views()[0]["id"])
['events']
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import networkx as nx

from lineage.consumers.extract import insight_reads
from lineage.errors import FixtureError, HogQLError
from lineage.hogql import extract_tables, find_placeholders
from lineage.posthog import (
    POSTHOG_TABLES,
    SOURCE_ONLY_SYNC_FREQUENCIES,
    SYNC_FREQUENCY_SECONDS,
    VIEW_NAME_MAX_LENGTH,
    VIEW_NAME_RE,
    VIEW_SYNC_FREQUENCIES,
)
from lineage.sim import schedule
from lineage.sim.consumers import ACCESS_LEVELS, RESOURCE_TABLES, ConsumerStore
from lineage.sim.errors import AdHocError, SimError, invalid, not_found, server_error
from lineage.sim.paths import MISSING, LineageCycleError, LineageIndex

__all__ = ["MISSING", "Clock", "KeyInfo", "Warehouse", "render_time"]

FIXTURE_FORMAT: Final = "lineage-sim-fixture/1"
_NS: Final = uuid.UUID("6f1d3c5e-2b7a-4f0e-9c1d-5a8b7e6f4d21")
_QUERY_EXAMPLE: Final = (
    '{"kind": "HogQLQuery", "query": '
    '"SELECT * FROM events WHERE timestamp >= now() - INTERVAL 7 DAY LIMIT 100"}'
)
_HAS_DEPENDENTS: Final = (
    "Cannot delete this view because other views depend on it. Delete or update those views first."
)
_FOLDER_BLOCKED: Final = (
    "Cannot delete this folder because these views still have dependencies outside the folder: "
)
_NAME_RE: Final = VIEW_NAME_RE
_DB_NAME_RE: Final = re.compile(r"^[a-z](?:[a-z0-9-]{1,61}[a-z0-9])$")
_MAX_NAME: Final = VIEW_NAME_MAX_LENGTH
# Failed materializations in a row after which the newest PostHog suspends a view (simulator value).
SUSPEND_AFTER: Final = 3
DEFAULT_POSTHOG_TABLES: Final = tuple(sorted(POSTHOG_TABLES))
_SYNC_WRITE: Final = ("never", *VIEW_SYNC_FREQUENCIES)
_SYNC_READ: Final = tuple(SYNC_FREQUENCY_SECONDS)
_CH_TO_HOGQL: Final = {
    "String": "string",
    "FixedString": "string",
    "UUID": "string",
    "Bool": "boolean",
    "Boolean": "boolean",
    "Date": "date",
    "Date32": "date",
    "DateTime": "datetime",
    "DateTime64": "datetime",
    "Float32": "float",
    "Float64": "float",
    "Decimal": "float",
    "Array": "array",
    "Map": "json",
    "JSON": "json",
    "Tuple": "array",
}


def render_time(value: datetime | None) -> str | None:
    """PostHog's orjson ``OPT_UTC_Z`` rendering: ``...Z``, microseconds only when non-zero."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def _parse_time(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise FixtureError(
                f"{where}: {value!r} is not an ISO 8601 time; write e.g. 2026-01-01T00:00:00Z"
            ) from None
    else:
        raise FixtureError(f"{where}: expected an ISO 8601 time string, got {type(value).__name__}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _opt_time(value: Any, where: str) -> datetime | None:
    return None if value is None else _parse_time(value, where)


def _det_uuid(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "\x1f".join(str(p) for p in parts)))


def _canon_uuid(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return None


@dataclass(frozen=True)
class KeyInfo:
    """A personal API key of the fixture: its scopes, the team ids it may use (None = any), its owner."""

    key: str
    scopes: frozenset[str]
    projects: frozenset[int] | None
    user_id: int
    # The owner's RBAC for the query API: HogQL system tables this key's user may not read, and
    # whether the organization is over its query quota (402).
    denied_tables: frozenset[str] = frozenset()
    over_quota: bool = False
    # Consumer resources (insight, dashboard, notebook, endpoint, alert) whose access level is
    # "none" for the owner: their REST routes answer 403 and their system tables are denied.
    no_access: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"KeyInfo(key='[redacted]', scopes={sorted(self.scopes)}, user_id={self.user_id})"


class Clock:
    """Simulated UTC clock: starts at the fixture's ``now`` and runs at real speed, plus advances."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = (start or datetime(2026, 1, 1, tzinfo=UTC)).astimezone(UTC)
        self._t0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> datetime:
        """The simulated time (tz-aware UTC)."""
        return self._start + timedelta(seconds=time.monotonic() - self._t0 + self._offset)

    def advance(self, seconds: float) -> None:
        """Jump the clock forward (tests, demos)."""
        self._offset += seconds


@dataclass
class _User:
    id: int
    first_name: str
    last_name: str
    email: str
    is_staff: bool = False

    def basic(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uuid": _det_uuid("user", self.id),
            "distinct_id": _det_uuid("distinct", self.id),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "is_email_verified": True,
            "hedgehog_config": None,
            "role_at_organization": None,
        }


@dataclass
class _Table:
    id: str  # dashed UUID for warehouse tables, the name for PostHog tables
    name: str
    kind: str  # "posthog" | "warehouse"
    created_at: datetime
    format: str = "Parquet"
    source_type: str | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)
    created_by: int | None = None
    # A sourced table's source prefix and the name SQL uses (interfaces.md section 10).
    prefix: str | None = None
    hogql_name: str | None = None

    @property
    def sql_name(self) -> str:
        return self.hogql_name or self.name


@dataclass
class _View:
    id: str
    name: str
    sql: str
    parents: list[str]
    created_at: datetime
    created_by: int | None
    description: str | None = None
    origin: str | None = "data_warehouse"
    managed_kind: str | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)
    updated_at: datetime | None = None
    deleted: bool = False
    deleted_at: datetime | None = None
    deleted_name: str | None = None
    status: str | None = None
    last_run_at: datetime | None = None
    latest_error: str | None = None
    is_materialized: bool = False
    sync_frequency: str | None = None
    folder_id: str | None = None
    is_test: bool = False
    run_seconds: float = 30.0
    fail_runs: bool = False
    activity_id: int | str | None = None
    schedule_paused: bool = False
    # simulator hooks for PostHog's own failure answers (fixture keys of the same names)
    fail_materialize: bool = False
    fail_cancel: bool = False
    # newest PostHog (E3) fields
    is_incremental: bool = False
    incremental: dict[str, Any] | None = None
    suspended: bool = False
    expires_at: datetime | None = None


@dataclass
class _Folder:
    id: str
    name: str
    created_at: datetime
    created_by: int | None


@dataclass
class _Job:
    id: str
    view_id: str | None
    status: str
    rows_materialized: int
    rows_expected: int | None
    error: str | None
    created_at: datetime
    last_run_at: datetime | None
    workflow_id: str | None
    workflow_run_id: str | None
    engine: str = "clickhouse"
    seq: int = 0
    finishes_at: datetime | None = None
    cancelled: bool = False
    fail: bool = False
    run_mode: str | None = None
    full_refresh_reason: str | None = None
    updated_at: datetime | None = None


@dataclass
class _ExternalJob:
    id: str
    source_type: str
    name: str
    status: str
    rows_synced: int
    created_at: datetime
    finished_at: datetime | None
    latest_error: str | None
    workflow_run_id: str | None


def _as_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FixtureError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _as_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FixtureError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _clean_ch_type(raw: str) -> str:
    text = raw.strip()
    for wrapper in ("Nullable(", "LowCardinality("):
        while text.startswith(wrapper) and text.endswith(")"):
            text = text[len(wrapper) : -1].strip()
    return text.split("(", 1)[0].strip()


def _hogql_type(ch_type: str) -> str | None:
    base = _clean_ch_type(ch_type)
    if base in _CH_TO_HOGQL:
        return _CH_TO_HOGQL[base]
    if re.fullmatch(r"U?Int(8|16|32|64|128|256)", base):
        return "integer"
    return None


def _columns_from(raw: Any, where: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for i, col in enumerate(_as_list(raw, where)):
        if isinstance(col, str):
            out.append((col, "string"))
        elif isinstance(col, dict) and isinstance(col.get("name"), str):
            out.append((col["name"], str(col.get("type") or "string")))
        else:
            raise FixtureError(f"{where}[{i}]: a column is a name or {{'name', 'type'}}")
    return out


def _table_labels(table: _Table) -> tuple[str, ...]:
    if table.kind == "posthog":
        return tuple(table.name.split("."))
    return (uuid.UUID(table.id).hex,)


def extract_parent_names(sql: str) -> list[str]:
    """FROM/JOIN targets of ``sql``: sorted, unique, dotted (:func:`lineage.hogql.extract_tables`)."""
    return extract_tables(sql)


def placeholder_texts(sql: str) -> list[str]:
    """The text inside every ``{...}`` placeholder, trimmed (:func:`lineage.hogql.find_placeholders`)."""
    return [text.strip() for text in find_placeholders(sql)]


# Django's smart_split: runs of non-space text, where a quoted part keeps its spaces.
_SMART_SPLIT_RE = re.compile(
    r"""((?:[^\s'"]*(?:(?:"(?:[^"\\]|\\.)*" | '(?:[^'\\]|\\.)*')[^\s'"]*)+) | \S+)""", re.VERBOSE
)


def search_terms(search: str | None) -> list[str]:
    """DRF's ``SearchFilter`` terms (``search_smart_split``), each later matched with ``icontains``.

    Whitespace separates terms, a term wholly in quotes is kept as one phrase (quotes removed),
    any other term is split again on commas; NUL characters are dropped first.
    """
    text = (search or "").replace("\x00", "")
    out: list[str] = []
    for match in _SMART_SPLIT_RE.finditer(text):
        term = match.group(0).strip(",")
        if len(term) >= 2 and term[0] in "\"'" and term[0] == term[-1]:
            quote = term[0]
            out.append(term[1:-1].replace("\\" + quote, quote).replace("\\\\", "\\"))
            continue
        out.extend(part.strip() for part in term.split(",") if part)
    return [t for t in out if t]


_FIELD_RE = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")


class Warehouse:
    """One simulated PostHog team (fixture ``lineage-sim-fixture/1``), thread-safe through ``lock``."""

    def __init__(self, fixture: Mapping[str, Any], *, era: str = "e3", clock: Clock | None = None) -> None:
        if era not in ("e2", "e3"):
            raise FixtureError(f"unknown era {era!r}; use 'e2' or 'e3'")
        if not isinstance(fixture, Mapping):
            raise FixtureError("a fixture is a JSON object with 'format': 'lineage-sim-fixture/1'")
        if fixture.get("format") != FIXTURE_FORMAT:
            raise FixtureError(
                f"fixture format is {fixture.get('format')!r}, expected {FIXTURE_FORMAT!r}; "
                "write the fixture with `lineage sim fixture`"
            )
        self.era = era
        self.lock = threading.RLock()
        team = fixture.get("team_id", 1)
        if not isinstance(team, int) or isinstance(team, bool):
            raise FixtureError("team_id must be an integer")
        self.team_id: int = team
        now = _parse_time(fixture.get("now", "2026-01-01T00:00:00Z"), "now")
        self.clock = clock if clock is not None else Clock(now)
        self.flags: frozenset[str] = frozenset(str(f) for f in _as_list(fixture.get("flags"), "flags"))
        self._counter = 0
        self._activity = 0
        self._activity_log: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[int, _User] = {}
        self._load_users(fixture)
        self.api_keys: dict[str, KeyInfo] = {}
        self._load_keys(fixture)
        self._tables: dict[str, _Table] = {}
        self._load_tables(fixture, now)
        self._folders: dict[str, _Folder] = {}
        self._load_folders(fixture, now)
        self._views: dict[str, _View] = {}
        self._index = LineageIndex()
        for table in self._tables.values():
            self._index.add_table(table.id, _table_labels(table))
        self._load_views(fixture, now)
        self._jobs: dict[str, _Job] = {}
        self._jobs_by_view: dict[str, list[_Job]] = {}
        self._pending: dict[str, _Job] = {}
        self._job_seq = 0
        self._load_jobs(fixture, now)
        self._external: list[_ExternalJob] = []
        self._load_external(fixture, now)
        # Insights, dashboards, tiles, notebooks, endpoints and alerts (interfaces.md section 6).
        self.consumers = ConsumerStore(user=self._user, now=self.clock.now, render_time=render_time)
        self.consumers.load(fixture, default_user=self._default_user, parse_time=_parse_time)
        # E3's scheduled runs (lineage.sim.schedule): when each view's next run is due, counted
        # from when the simulator started; tables' sync cadences (fixture key ``sync_frequency``)
        # set the floor of ``sync_frequency_bounds``.
        self._schedule_start = self.clock.now()
        self._schedule_next: dict[str, datetime] = {}
        self._schedule_scanned: datetime | None = None
        self._table_cadence: dict[str, str] = {}
        for i, raw in enumerate(_as_list(fixture.get("tables"), "tables")):
            row = _as_dict(raw, f"tables[{i}]")
            cadence = row.get("sync_frequency")
            if cadence is not None:
                if cadence not in schedule.CADENCE_SECONDS:
                    raise FixtureError(f"table {row.get('name')!r}: sync_frequency {cadence!r} is unknown")
                found = [t.id for t in self._tables.values() if t.name == row.get("name")]
                self._table_cadence.update((tid, str(cadence)) for tid in found)

    # ------------------------------------------------------------------ fixture loading
    def _load_users(self, fixture: Mapping[str, Any]) -> None:
        for i, raw in enumerate(_as_list(fixture.get("users"), "users")):
            row = _as_dict(raw, f"users[{i}]")
            uid = row.get("id", i + 1)
            if not isinstance(uid, int) or uid in self._users:
                raise FixtureError(f"users[{i}]: id must be a unique integer")
            self._users[uid] = _User(
                uid,
                str(row.get("first_name", "")),
                str(row.get("last_name", "")),
                str(row.get("email", f"user{uid}@example.com")),
                bool(row.get("is_staff", False)),
            )
        if not self._users:
            self._users[1] = _User(1, "Ada", "", "ada@example.com")
        self._default_user = min(self._users)

    def _load_keys(self, fixture: Mapping[str, Any]) -> None:
        for i, raw in enumerate(_as_list(fixture.get("api_keys"), "api_keys")):
            row = _as_dict(raw, f"api_keys[{i}]")
            key = row.get("key")
            if not isinstance(key, str) or not key:
                raise FixtureError(f"api_keys[{i}]: 'key' must be a non-empty string")
            projects = row.get("projects")
            no_access = _no_access(row.get("access"), f"api_keys[{i}].access")
            self.api_keys[key] = KeyInfo(
                key=key,
                scopes=frozenset(str(s) for s in _as_list(row.get("scopes"), f"api_keys[{i}].scopes")),
                projects=None if projects is None else frozenset(int(p) for p in projects),
                user_id=int(row.get("user", self._default_user)),
                denied_tables=frozenset(
                    str(t) for t in _as_list(row.get("denied_tables"), f"api_keys[{i}].denied_tables")
                )
                | frozenset(t for r in no_access for t in RESOURCE_TABLES[r]),
                over_quota=bool(row.get("over_quota", False)),
                no_access=no_access,
            )

    def _load_tables(self, fixture: Mapping[str, Any], now: datetime) -> None:
        # Built-in PostHog tables yield to fixture objects of the same name (real graphs have a
        # dbt model called "events"), so that any real graph loads.
        taken = {str(r.get("name")) for r in _as_list(fixture.get("views"), "views") if isinstance(r, dict)}
        for builtin in DEFAULT_POSTHOG_TABLES:
            if builtin not in taken:
                self._tables[builtin] = _Table(builtin, builtin, "posthog", now)
        seen: set[str] = set()
        for i, raw in enumerate(_as_list(fixture.get("tables"), "tables")):
            row = _as_dict(raw, f"tables[{i}]")
            name = row.get("name")
            if not isinstance(name, str) or not name:
                raise FixtureError(f"tables[{i}]: 'name' must be a non-empty string")
            if name in seen:
                raise FixtureError(f"duplicate name: table {name!r} appears twice; names must be unique")
            seen.add(name)
            kind = row.get("kind", "warehouse")
            if kind not in ("posthog", "warehouse"):
                raise FixtureError(f"table {name!r}: kind must be 'posthog' or 'warehouse'")
            created = _parse_time(row.get("created_at", render_time(now)), f"table {name!r}.created_at")
            cols = _columns_from(row.get("columns"), f"table {name!r}.columns")
            if kind == "posthog":
                self._tables[name] = _Table(name, name, "posthog", created, columns=cols)
                continue
            tid = _canon_uuid(row.get("id")) if row.get("id") is not None else _det_uuid("table", name)
            if tid is None:
                raise FixtureError(f"table {name!r}: id {row.get('id')!r} is not a UUID")
            source_type, prefix, hogql = _sourced(row, name)
            self._tables[tid] = _Table(
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
        for i, raw in enumerate(_as_list(fixture.get("folders"), "folders")):
            row = _as_dict(raw, f"folders[{i}]")
            name = row.get("name")
            if not isinstance(name, str) or not name.strip():
                raise FixtureError(f"folders[{i}]: 'name' must be a non-empty string")
            if any(f.name == name for f in self._folders.values()):
                raise FixtureError(f"duplicate name: folder {name!r} appears twice")
            fid = _canon_uuid(row["id"]) if row.get("id") is not None else _det_uuid("folder", name)
            if fid is None:
                raise FixtureError(f"folder {name!r}: id is not a UUID")
            created = _parse_time(row.get("created_at", render_time(now)), f"folder {name!r}.created_at")
            self._folders[fid] = _Folder(fid, name, created, row.get("created_by", self._default_user))

    def _load_views(self, fixture: Mapping[str, Any], now: datetime) -> None:
        rows = [_as_dict(r, f"views[{i}]") for i, r in enumerate(_as_list(fixture.get("views"), "views"))]
        table_names = {t.name for t in self._tables.values()}
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
        for row in rows:
            raw_id = row.get("id")
            key = f"deleted:{len(ids)}:{row['name']}" if row.get("deleted") else row["name"]
            vid = _det_uuid("view", key) if raw_id is None else _canon_uuid(raw_id)
            if vid is None or vid in ids:
                raise FixtureError(f"view {row['name']!r}: id {raw_id!r} is not a unique UUID")
            ids.append(vid)
        folder_by_name = {f.name: f.id for f in self._folders.values()}
        table_by_name = {t.name: t.id for t in self._tables.values() if t.kind == "warehouse"}
        table_by_name.update({t.sql_name: t.id for t in self._tables.values() if t.kind == "warehouse"})
        posthog = {t.name for t in self._tables.values() if t.kind == "posthog"}
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
                parent_names = [str(p) for p in _as_list(row["parents"], f"view {name!r}.parents")]
            else:
                try:
                    parent_names = extract_parent_names(sql)
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
            created = _parse_time(row.get("created_at", render_time(now)), f"view {name!r}.created_at")
            folder = row.get("folder")
            folder_id = None
            if folder is not None:
                folder_id = folder_by_name.get(str(folder)) or _canon_uuid(folder)
                if folder_id not in self._folders:
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
            view = _View(
                id=vid,
                name=f"POSTHOG_DELETED_{uuid.UUID(_det_uuid('deleted', vid)).hex}" if deleted else name,
                sql=sql.get("query", "") if isinstance(sql, dict) else sql,
                parents=resolved[index],
                created_at=created,
                created_by=row.get("created_by", self._default_user),
                description=row.get("description"),
                origin=row.get("origin", "data_warehouse"),
                managed_kind=row.get("managed_viewset_kind"),
                columns=_columns_from(row.get("columns"), f"view {name!r}.columns"),
                updated_at=_opt_time(row.get("updated_at"), f"view {name!r}.updated_at"),
                deleted=deleted,
                deleted_at=_opt_time(row.get("deleted_at"), f"view {name!r}.deleted_at") if deleted else None,
                deleted_name=name if deleted else None,
                status=row.get("status"),
                last_run_at=_opt_time(row.get("last_run_at"), f"view {name!r}.last_run_at"),
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
                incremental=_as_dict(row["incremental"], f"view {name!r}.incremental")
                if row.get("incremental") is not None
                else None,
                suspended=bool(row.get("suspended", False)),
                expires_at=_opt_time(row.get("expires_at"), f"view {name!r}.expires_at"),
            )
            if deleted and view.deleted_at is None:
                view.deleted_at = now
            self._views[vid] = view
            self._index.add_view(vid, uuid.UUID(vid).hex)
            self._index.set_parents(vid, view.parents)
        for view in self._views.values():
            if view.deleted:
                self._index.drop_paths(view.id)

    def _load_jobs(self, fixture: Mapping[str, Any], now: datetime) -> None:
        by_name = {v.deleted_name or v.name: v.id for v in self._views.values()}
        for i, raw in enumerate(_as_list(fixture.get("jobs"), "jobs")):
            row = _as_dict(raw, f"jobs[{i}]")
            view_ref = row.get("view")
            vid = None
            if view_ref is not None:
                vid = by_name.get(str(view_ref)) or _canon_uuid(view_ref)
                if vid not in self._views:
                    raise FixtureError(f"jobs[{i}]: view {view_ref!r} names no view")
            jid = _canon_uuid(row["id"]) if row.get("id") is not None else _det_uuid("job", i, view_ref)
            if jid is None:
                raise FixtureError(f"jobs[{i}]: id is not a UUID")
            created = _parse_time(row.get("created_at", render_time(now)), f"jobs[{i}].created_at")
            status = str(row.get("status", "Running"))
            if status not in _JOB_STATUSES:
                raise FixtureError(f"jobs[{i}]: status {status!r} is not a job status")
            self._job_seq += 1
            job = _Job(
                id=jid,
                view_id=vid,
                status=status,
                rows_materialized=int(row.get("rows_materialized", 0) or 0),
                rows_expected=row.get("rows_expected"),
                error=row.get("error"),
                created_at=created,
                last_run_at=_opt_time(row.get("last_run_at", render_time(created)), f"jobs[{i}].last_run_at"),
                workflow_id=row.get("workflow_id"),
                workflow_run_id=row.get("workflow_run_id"),
                engine=str(row.get("engine", "clickhouse")),
                seq=self._job_seq,
                run_mode=row.get("run_mode"),
                full_refresh_reason=row.get("full_refresh_reason"),
            )
            # updated_at: when a finished job reached its final status (its last_run_at unless given)
            if status != "Running":
                job.updated_at = _opt_time(
                    row.get("updated_at", render_time(job.last_run_at)), f"jobs[{i}].updated_at"
                )
            self._add_job(job)

    def _load_external(self, fixture: Mapping[str, Any], now: datetime) -> None:
        for i, raw in enumerate(_as_list(fixture.get("external_jobs"), "external_jobs")):
            row = _as_dict(raw, f"external_jobs[{i}]")
            source = str(row.get("source_type", "Stripe"))
            self._external.append(
                _ExternalJob(
                    id=_canon_uuid(row.get("id")) or _det_uuid("external", i),
                    source_type=source,
                    name=str(row.get("name", source)),
                    status=str(row.get("status", "Completed")),
                    rows_synced=int(row.get("rows_synced", 0) or 0),
                    created_at=_parse_time(row.get("created_at", render_time(now)), f"external_jobs[{i}]"),
                    finished_at=_opt_time(row.get("finished_at"), f"external_jobs[{i}].finished_at"),
                    latest_error=row.get("latest_error"),
                    workflow_run_id=row.get("workflow_run_id"),
                )
            )

    # ------------------------------------------------------------------ helpers
    def _next(self, kind: str) -> str:
        self._counter += 1
        return _det_uuid(kind, self.team_id, self._counter)

    def _user(self, user_id: int | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        user = self._users.get(user_id)
        return user.basic() if user else _User(user_id, "", "", f"user{user_id}@example.com").basic()

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
            if self.era == "e3":
                col["description"] = None
            out.append(col)
        return out

    def _visible(self, view: _View) -> bool:
        return not view.deleted and (view.managed_kind is None or "managed-viewsets" in self.flags)

    def _view(self, view_id: str) -> _View:
        vid = _canon_uuid(view_id)
        view = self._views.get(vid) if vid else None
        if view is None or not self._visible(view):
            raise not_found()
        return view

    def _live_view_named(self, name: str) -> _View | None:
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

    def _add_job(self, job: _Job) -> None:
        self._jobs[job.id] = job
        self._jobs_by_view.setdefault(job.view_id or "", []).append(job)
        if job.status == "Running" and job.finishes_at is not None:
            self._pending[job.id] = job

    def _refresh_jobs(self) -> None:
        """Finish simulated runs whose time has come (evaluated lazily on every read)."""
        self._finish_jobs()
        if schedule.tick(self):
            self._finish_jobs()

    def _scheduled_job(self, view: _View, when: datetime, blocked: _View | None) -> _Job:
        """A job the view's schedule started at ``when``; ``Skipped`` below a failed ancestor."""
        self._job_seq += 1
        job = _Job(
            id=self._next("job"),
            view_id=view.id,
            status="Skipped" if blocked is not None else "Running",
            rows_materialized=0,
            rows_expected=_rows_for(view.id),
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
                self._maybe_suspend(view)

    def _last_run_at(self, view: _View) -> datetime | None:
        runs = [j for j in self._jobs_by_view.get(view.id, []) if j.last_run_at is not None]
        if runs:
            return max(runs, key=lambda j: (j.last_run_at, j.seq)).last_run_at
        return view.last_run_at

    def _minimal(self, view: _View, *, include_columns: bool = True) -> dict[str, Any]:
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
            **(self._e3_view_fields(view) if self.era == "e3" else {}),
        }

    def _full(self, view: _View) -> dict[str, Any]:
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
            cols = include_columns or self.era != "e3"
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

    def _validate_name(self, raw: Any, *, me: _View | None) -> str:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise invalid("Not a valid string.", "name")
        # DRF's CharField trims surrounding whitespace before any validator sees the name
        name = str(raw).strip()
        if name == "":
            raise invalid("This field may not be blank.", "name", code="blank")
        if len(name) > _MAX_NAME:
            raise invalid(
                f"Ensure this field has no more than {_MAX_NAME} characters.", "name", code="max_length"
            )
        if not _NAME_RE.match(name):
            raise invalid(
                f"{name} is not a valid view name. View names can only contain letters, numbers, '_', '.', "
                "or '$'. They must start with a letter, '_' or '$'.",
                "name",
                code="invalid_character",
            )
        if me is not None and me.name == name:
            return name
        if self._name_taken(name, me=me.id if me else None):
            raise invalid("A table with this name already exists.", "name")
        return name

    def _validate_query(self, raw: Any) -> tuple[str, list[str]]:
        if not isinstance(raw, dict):
            raise invalid(
                f'Query must be a JSON object with a "query" key, got {type(raw).__name__}. Example: '
                + _QUERY_EXAMPLE,
                "query",
            )
        sql = raw.get("query")
        if not isinstance(sql, str) or not sql.strip():
            raise invalid('Query object must contain a non-empty "query" key with the SQL string.', "query")
        try:
            holders = placeholder_texts(sql)
        except HogQLError as err:
            raise invalid(f"Invalid query: {err}", "query") from None
        fields = [h for h in holders if _FIELD_RE.match(h) and h.split(".")[0] != "filters"]
        if fields:
            raise invalid(f"Variables like {{{fields[0]}}} are not allowed in views", "query")
        if holders:
            raise invalid("Filters and placeholder expressions are not allowed in views", "query")
        try:
            names = extract_parent_names(sql)
        except HogQLError as err:
            raise invalid(f"Invalid query: {err}", "query") from None
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

        from lineage.errors import HogQLError
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

    def _types(self, raw: Any) -> list[tuple[str, str]] | None:
        if raw is None or raw == []:
            return None
        if not isinstance(raw, list):
            raise invalid("Failed to retrieve types for view")
        out = []
        for item in raw:
            if not isinstance(item, list | tuple) or len(item) < 2:
                raise invalid("Failed to retrieve types for view")
            hog = _hogql_type(str(item[1]))
            if hog is None:
                raise invalid("Failed to retrieve types for view")
            out.append((str(item[0]), hog))
        return out

    def _sync_write(self, raw: Any) -> str | None:
        if raw is None:
            return None
        if isinstance(raw, list | dict):
            # SyncFrequencyField tests ``data in {"1min", "5min"}``: unhashable -> TypeError -> 500
            raise server_error()
        value = "15min" if raw in SOURCE_ONLY_SYNC_FREQUENCIES else raw
        if not isinstance(value, str) or value not in _SYNC_WRITE:
            raise invalid(f'"{raw}" is not a valid choice.', "sync_frequency", code="invalid_choice")
        return value

    def _folder_ref(self, raw: Any) -> str | None:
        if raw is None:
            return None
        fid = _canon_uuid(raw)
        if fid is None or fid not in self._folders:
            raise invalid(f'Invalid pk "{raw}" - object does not exist.', "folder_id", code="does_not_exist")
        return fid

    def _log_query_change(
        self, view: _View, *, user_id: int | None = None, before: str | None = None, created: bool = False
    ) -> None:
        self._activity += 1
        self._record_activity(view, user_id=user_id, before=before, created=created)
        if self.era == "e3":
            # The newest PostHog's latest_history_id is the ActivityLog row's UUID (a string; the
            # serializer returns ``activity_log.id``), compared as a string on a PATCH.
            view.activity_id = _det_uuid("activity", self.team_id, self._activity)
        else:
            view.activity_id = self._activity

    def _set_lineage(self, view: _View, parents: list[str]) -> None:
        """Recompute the view's paths from scratch; a failure leaves the view with no new paths."""
        view.parents = parents
        try:
            self._index.set_parents(view.id, parents)
        except LineageCycleError:
            self._index.drop_paths(view.id)

    def _would_cycle(self, view: _View, parents: Iterable[str]) -> bool:
        down: set[str] = {view.id}
        queue = deque([view.id])
        children: dict[str, list[str]] = {}
        for other in self._views.values():
            if not other.deleted:
                for parent in other.parents:
                    children.setdefault(parent, []).append(other.id)
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
            self._sync_write(body.get("sync_frequency"))
            folder_id = self._folder_ref(body.get("folder_id"))
            if body.get("is_test") and not self._users.get(user_id, _User(0, "", "", "")).is_staff:
                raise invalid("Only staff users can create test views.", "is_test")
            soft = bool(body.get("soft_update"))
            types = None if soft else self._types(body.get("types"))
            if types is None and not soft:
                types = self._infer_columns(sql, parents)
            now = self.clock.now()
            view = _View(
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
                raise _not_a_dict(body)
            return self._update(view, body, user_id=user_id)

    def _update(self, view: _View, body: dict[str, Any], *, user_id: int | None = None) -> dict[str, Any]:
        name = self._validate_name(body["name"], me=view) if "name" in body else view.name
        sql, parents = view.sql, view.parents
        query_given = body.get("query") is not None
        if query_given:
            sql, parents = self._validate_query(body["query"])
        freq = self._sync_write(body.get("sync_frequency"))
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
            types = self._types(body.get("types"))
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

    def _dependents(self, view: _View) -> list[_View]:
        return [v for v in self._views.values() if not v.deleted and view.id in v.parents and v.id != view.id]

    def _delete(self, view: _View) -> None:
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
            if self.era == "e3" and view.managed_kind is None:
                # The newest PostHog also refuses while insights read the view, naming them all.
                insights = self._insight_readers(view)
                if insights:
                    views = [f"view {v.name}" for v in self._dependents(view)]
                    raise invalid(_e3_dependents_message(sorted(views + insights)), node_id=view.id)
            try:
                self._delete(view)
            except _HasDependentsError:
                message = _HAS_DEPENDENTS
                if self.era == "e3":
                    raise invalid(message, node_id=view.id) from None
                raise invalid(message) from None

    def _insight_readers(self, view: _View) -> list[str]:
        """``insight NAME`` for every live insight whose query or filters read ``view``."""
        out = []
        for name, query, filters in self.consumers.live_insights():
            if view.name in insight_reads(query, filters).names([view.name]):
                out.append(f"insight {name}")
        return out

    def _level_e3(self, level: Any) -> int | None:
        if level is MISSING or level is None:
            return None
        if isinstance(level, str) and len(level) > 1000:
            raise invalid("String value too large.", "level", code="max_string_length")
        try:
            value = int(re.sub(r"\.0*\s*$", "", str(level)))
        except (ValueError, TypeError):
            raise invalid("A valid integer is required.", "level") from None
        if value < 1:
            raise invalid("Ensure this value is greater than or equal to 1.", "level", code="min_value")
        return value

    def _e3_walk(self, view: _View, level: int | None, *, up: bool) -> list[str]:
        children: dict[str, list[str]] = {}
        if not up:
            for other in self._views.values():
                if not other.deleted:
                    for parent in other.parents:
                        children.setdefault(parent, []).append(other.id)
        seen = {view.id: 0}
        queue = deque([view.id])
        while queue:
            cur = queue.popleft()
            if level is not None and seen[cur] >= level:
                continue
            if up:
                cur_view = self._views.get(cur)
                nxt = cur_view.parents if cur_view is not None and not cur_view.deleted else []
                nxt = [p for p in nxt if p not in self._views or not self._views[p].deleted]
            else:
                nxt = children.get(cur, [])
            for node in nxt:
                if node not in seen:
                    seen[node] = seen[cur] + 1
                    queue.append(node)
        # views and warehouse tables by id, PostHog tables by (whole, dotted) name
        return sorted(n for n in seen if n != view.id)

    def _lineage(self, view_id: str, level: Any, *, up: bool) -> list[str]:
        with self.lock:
            view = self._view(view_id)
            if self.era == "e3":
                return self._e3_walk(view, self._level_e3(level), up=up)
            try:
                if up:
                    found = self._index.ancestors(view.id, level)
                else:
                    found = self._index.descendants(view.id, level)
            except (ValueError, TypeError, OverflowError):
                raise server_error() from None
            return sorted(found)

    def ancestors(self, view_id: str, level: Any = MISSING) -> list[str]:
        """POST ancestors: E2 slices the path store (quirks included); E3 validates and walks the DAG."""
        return self._lineage(view_id, level, up=True)

    def descendants(self, view_id: str, level: Any = MISSING) -> list[str]:
        """POST descendants: E2 slices the path store (quirks included); E3 validates and walks the DAG."""
        return self._lineage(view_id, level, up=False)

    def dependencies(self, view_id: str) -> dict[str, int]:
        """``{"upstream_count", "downstream_count"}``."""
        with self.lock:
            view = self._view(view_id)
            if self.era == "e3":
                up = len(self._e3_walk(view, 1, up=True))
                down = len(self._e3_walk(view, 1, up=False))
            else:
                up, down = self._index.dependencies(view.id)
            return {"upstream_count": up, "downstream_count": down}

    # ------------------------------------------------------------------ actions
    def run(self, view_id: str, body: Any) -> None:
        """Start a simulated run: a Running job that completes (or fails) after ``run_seconds``."""
        with self.lock:
            self._refresh_jobs()
            view = self._view(view_id)
            e3_body = self.era == "e3" and isinstance(body, dict)
            if e3_body and "full_refresh" in body and not isinstance(body["full_refresh"], bool):
                raise invalid("Must be a valid boolean.", "full_refresh")
            now = self.clock.now()
            self._job_seq += 1
            job = _Job(
                id=self._next("job"),
                view_id=view.id,
                status="Running",
                rows_materialized=0,
                rows_expected=_rows_for(view.id),
                error=None,
                created_at=now,
                last_run_at=now,
                workflow_id=f"materialize-view-{uuid.UUID(view.id).hex}-{self._job_seq}",
                workflow_run_id=self._next("workflow-run"),
                seq=self._job_seq,
                finishes_at=now + timedelta(seconds=view.run_seconds),
                fail=view.fail_runs,
            )
            self._set_run_mode(job, view, body)
            self._add_job(job)
            view.status = "Running"

    def materialize(self, view_id: str, body: Any) -> None:
        """Enable materialization (24hour, or E3's ``sync_frequency``) and set the view's paths up."""
        with self.lock:
            view = self._view(view_id)
            if view.managed_kind is not None:
                raise invalid("Cannot materialize a query from a managed viewset.")
            freq = "24hour"
            if self.era == "e3" and isinstance(body, dict) and body.get("sync_frequency") is not None:
                freq = self._sync_write(body["sync_frequency"]) or "24hour"
                refusal = schedule.check_cadence(self, view, freq)
                if refusal is not None:
                    raise invalid(refusal, "sync_frequency")
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

    def _revert(self, view: _View) -> None:
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
            ok = bool(running) if self.era == "e3" else view.status == "Running"
            if not ok:
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
            if self.era == "e3":
                ids = self._view_ids_e3(body)
            else:
                if not isinstance(body, dict):
                    raise server_error()
                raw = body.get("view_ids", [])
                if not raw:
                    raise AdHocError(400, "view_ids is required")
                if not isinstance(raw, list):
                    raise server_error()
                ids = []
                for item in raw:
                    vid = _canon_uuid(item)
                    if vid is None:
                        raise server_error()  # Django refuses the malformed UUID inside the query
                    ids.append(vid)
            for vid in ids:
                view = self._views.get(vid)
                if view is not None:
                    view.schedule_paused = False

    def resume(self, view_id: str) -> None:
        """E3's ``POST /:id/resume/``: un-suspend one view and let its schedule run again."""
        with self.lock:
            if self.era != "e3":
                raise not_found()
            view = self._view(view_id)
            view.suspended = False  # PostHog's resume action un-suspends the view
            view.schedule_paused = False

    def _view_ids_e3(self, body: Any) -> list[str]:
        if not isinstance(body, dict) or "view_ids" not in body:
            raise invalid("This field is required.", "view_ids", code="required")
        raw = body["view_ids"]
        if not isinstance(raw, list):
            raise invalid(
                f'Expected a list of items but got type "{type(raw).__name__}".',
                "view_ids",
                code="not_a_list",
            )
        if not raw:
            raise invalid("This list may not be empty.", "view_ids", code="empty")
        out = []
        for item in raw:
            vid = _canon_uuid(item)
            if vid is None:
                raise invalid("Must be a valid UUID.", "view_ids")
            out.append(vid)
        return out

    # ------------------------------------------------------------------ folders
    def _folder_shape(self, folder: _Folder) -> dict[str, Any]:
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
        if len(name) > _MAX_NAME:
            raise invalid(
                f"Ensure this field has no more than {_MAX_NAME} characters.", "name", code="max_length"
            )
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
                raise _not_a_dict(body)
            if "name" not in body or body["name"] is None:
                raise invalid("This field is required.", "name", code="required")
            name = self._folder_name(body["name"], me=None)
            folder = _Folder(self._next("folder"), name, self.clock.now(), user_id)
            self._folders[folder.id] = folder
            return self._folder_shape(folder)

    def _folder(self, folder_id: str) -> _Folder:
        fid = _canon_uuid(folder_id)
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
                raise _not_a_dict(body)
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
    def _job_shape(self, job: _Job) -> dict[str, Any]:
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
            **(
                {
                    "run_mode": job.run_mode,
                    "full_refresh_reason": job.full_refresh_reason,
                    "updated_at": render_time(job.updated_at),
                }
                if self.era == "e3"
                else {}
            ),
        }

    def _visible_jobs(self) -> list[_Job]:
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
                if status not in _JOB_STATUSES:
                    raise invalid(
                        f"Select a valid choice. {status} is not one of the available choices.",
                        "status",
                        code="invalid_choice",
                    )
                jobs = [j for j in jobs if j.status == status]
            if saved_query_id is not None and saved_query_id != "":
                vid = _canon_uuid(saved_query_id)
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
            jid = _canon_uuid(job_id)
            job = next((j for j in self._visible_jobs() if j.id == jid), None)
            if job is None:
                raise not_found()
            return self._job_shape(job)

    def recent_jobs(self) -> list[dict[str, Any]]:
        """Per saved query the newest non-Running ``materialize*`` job, ordered by saved_query_id."""
        with self.lock:
            newest: dict[str, _Job] = {}
            for job in self._visible_jobs():
                # the newest PostHog lists the DAG's Skipped rows too, whatever started them
                skipped = self.era == "e3" and job.status == "Skipped"
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
            e3 = self.era == "e3"
            want = "Failed" if e3 and outcome == "failed" else "Completed"
            syncs = not (e3 and kind == "materialization")
            mats = not (e3 and kind == "sync")
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
                                "origin": None if e3 else "external_data_job",
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
                            "origin": (view.origin if view else None) if e3 else "data_modeling_job",
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
    def _table_shape(self, table: _Table) -> dict[str, Any]:
        source = None
        if table.source_type:
            source = {
                "id": _source_id(table),
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
        if self.era == "e3":
            # The newest PostHog's table serializer names what SQL uses (posthog-api-3.md section 5).
            shape["hogql_name"] = table.sql_name
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
            tid = _canon_uuid(table_id)
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
            if table == "data_modeling_views":
                return [self._view_record(v) for v in sorted(self._views.values(), key=lambda v: v.id)]
            if table == "data_modeling_jobs":
                return [
                    {
                        "id": j.id,
                        "saved_query_id": j.view_id,
                        "status": j.status,
                        "rows_materialized": j.rows_materialized,
                        "rows_expected": j.rows_expected,
                        "error": j.error,
                        "created_at": j.created_at,
                        "last_run_at": j.last_run_at,
                        "workflow_id": j.workflow_id,
                        "workflow_run_id": j.workflow_run_id,
                        "run_mode": j.run_mode,
                        "updated_at": j.updated_at or j.last_run_at or j.created_at,
                        "data_modeling_view_id": j.view_id,
                    }
                    for j in sorted(self._jobs.values(), key=lambda j: j.id)
                ]
            if table == "data_warehouse_tables":
                out = []
                for t in sorted(self._tables.values(), key=lambda t: t.id):
                    if t.kind != "warehouse":
                        continue
                    shape = self._table_shape(t)
                    source = shape["external_data_source"]
                    out.append(
                        {
                            "id": t.id,
                            "name": t.name,
                            "format": t.format,
                            "url_pattern": shape["url_pattern"],
                            "columns": json.dumps(shape["columns"], sort_keys=True),
                            "deleted": False,
                            "created_at": t.created_at,
                            "created_by_id": t.created_by,
                            "external_data_source_id": source["id"] if source else None,
                            "source_type": t.source_type,
                        }
                    )
                return out
            if table == "data_warehouse_sources":
                sources: dict[str, dict[str, Any]] = {}
                for t in self._tables.values():
                    if t.kind == "warehouse" and t.source_type:
                        sources.setdefault(
                            _source_id(t),
                            {
                                "id": _source_id(t),
                                "source_type": t.source_type,
                                "prefix": t.prefix,
                                "status": "Completed",
                                "deleted": False,
                                "created_at": t.created_at,
                            },
                        )
                return [sources[k] for k in sorted(sources)]
            return self.consumers.system_records(table) or []

    def _view_record(self, view: _View) -> dict[str, Any]:
        return {
            "id": view.id,
            "name": view.name,
            "status": view.status,
            "columns": json.dumps(self._columns(view.columns), sort_keys=True),
            "query": json.dumps({"kind": "HogQLQuery", "query": view.sql}),
            "last_run_at": view.last_run_at,
            "is_materialized": view.is_materialized,
            "deleted": view.deleted,
            "deleted_at": view.deleted_at,
            "created_at": view.created_at,
            # rows that predate the column (fixtures without updated_at) read as their creation
            "updated_at": view.updated_at or view.created_at,
            "sync_frequency": view.sync_frequency,
            "latest_error": view.latest_error,
            "folder_id": view.folder_id,
            "created_by_id": view.created_by,
            "origin": view.origin,
            "deleted_name": view.deleted_name,
            "description": view.description,
            "is_incremental": view.is_incremental,
            "suspended": view.suspended,
            "is_test": view.is_test,
        }

    # ------------------------------------------------------------------ newest PostHog (issue 19)
    def _e3_view_fields(self, view: _View) -> dict[str, Any]:
        return {
            "updated_at": render_time(view.updated_at or view.created_at),
            "is_incremental": view.is_incremental,
            "incremental": view.incremental,
            "suspended": view.suspended,
        }

    def _set_run_mode(self, job: _Job, view: _View, body: Any) -> None:
        """The newest PostHog's ``run_mode``: an incremental view processes only new rows unless a
        full refresh is asked for (``{"full_refresh": true}``) or it has never completed a run."""
        if self.era != "e3":
            return
        if not view.is_incremental:
            job.run_mode = "full_refresh"
            return
        asked = isinstance(body, dict) and body.get("full_refresh") is True
        done = any(j.status == "Completed" for j in self._jobs_by_view.get(view.id, []))
        if asked or not done:
            job.run_mode = "full_refresh"
            job.full_refresh_reason = "requested" if asked else "first_run"
        else:
            job.run_mode = "incremental"
            # an increment reads only the rows added since the last run
            job.rows_expected = max(1, (job.rows_expected or 0) // 20)

    def _maybe_suspend(self, view: _View) -> None:
        """E3: after SUSPEND_AFTER failed materializations in a row PostHog suspends the view.

        The threshold is the simulator's (PostHog's constant was not found in the stored source);
        scheduled runs then skip the view and what depends on it until it is resumed.
        """
        if self.era != "e3" or not view.is_materialized:
            return
        jobs = sorted(self._jobs_by_view.get(view.id, []), key=lambda j: j.seq, reverse=True)
        streak = 0
        for job in jobs:
            if job.status == "Failed":
                streak += 1
            elif job.status in ("Completed", "Cancelled"):
                break
        if streak >= SUSPEND_AFTER:
            view.suspended = True

    def _record_activity(
        self, view: _View, *, user_id: int | None, before: str | None, created: bool
    ) -> None:
        moment = self.clock.now()
        entry_id = _det_uuid("activity", self.team_id, self._activity)
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


def _e3_dependents_message(readers: list[str]) -> str:
    return (
        "Cannot delete this view because other views or insights depend on it: "
        + ", ".join(readers)
        + ". Delete or update those first."
    )


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


def _source_id(table: _Table) -> str:
    """One simulated source per (source type, prefix); unprefixed ids are as before prefixes existed."""
    if table.prefix:
        return _det_uuid("source", table.source_type, table.prefix)
    return _det_uuid("source", table.source_type)


def _sourced(row: Mapping[str, Any], name: str) -> tuple[str | None, str | None, str | None]:
    """(source_type, prefix, hogql_name) of a fixture's warehouse table (interfaces.md section 10).

    A ``hogql_name`` fixes the source type and prefix it spells when the fixture gives none; a table
    with a source but no ``hogql_name`` gets the one PostHog derives (source type, prefix, name).
    """
    from lineage.posthog import hogql_table_name, split_hogql_table_name

    raw = row.get("hogql_name")
    if raw is not None and (not isinstance(raw, str) or not _NAME_RE.match(raw)):
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


class _HasDependentsError(Exception):
    """Internal: a view cannot be deleted while other live views read it."""


_JOB_STATUSES: Final = ("Running", "Completed", "Failed", "Cancelled", "Skipped")


def _rows_for(view_id: str) -> int:
    return 1000 + int(hashlib.sha256(view_id.encode()).hexdigest()[:4], 16) % 9000


def _not_a_dict(body: Any) -> SimError:
    return invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
