"""PostHog's query API in the simulator: HogQL over ``system.*`` tables, executed for real by SQLite.

``POST /api/projects/:id/query/`` with ``{"query": {"kind": "HogQLQuery", "query": sql, "values": {...}}}``.
The HogQL is compiled for SQLite (:mod:`lineage.sim.hogql_sqlite`: checked, ClickHouse functions,
placeholders as bound parameters) and run on an in-memory database whose tables are refilled from the
:class:`~lineage.sim.state.Warehouse` before every query, so every write through the API shows at once.

Answer: ``{results, columns, types, hogql, hasMore, limit, offset, is_cached, timings}``. PostHog's
default ``LIMIT`` is 100 and its maximum 50000; one extra row is read to set ``hasMore``.

Simulator columns (beyond PostHog's documented ones) are marked in :data:`SYSTEM_TABLES`. DateTimes are
returned as ``2026-01-01T00:00:00Z`` (microseconds when non-zero), booleans as JSON booleans, JSON
columns (``query``, ``columns``) as JSON text.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlglot import exp

from lineage.sim.errors import HogError, invalid, not_found
from lineage.sim.hogql_sqlite import DEFAULT_LIMIT as DEFAULT_LIMIT
from lineage.sim.hogql_sqlite import (
    DT,
    SYSTEM_TABLES,
    Compiled,
    compile_hogql,
    hogql_error,
)
from lineage.sim.hogql_sqlite import MAX_LIMIT as MAX_LIMIT
from lineage.sim.sqlite_functions import (
    TS_RE,
    from_ts,
    register_functions,
    to_ts,
)
from lineage.sim.state import KeyInfo, Warehouse, render_time

_ASYNC_REFRESH: Final = frozenset({"async", "force_async", "lazy_async"})
_SYNC_REFRESH: Final = frozenset({"blocking", "force_blocking", "force_cache"})
_TIME_BUDGET_S: Final = 5.0


# --- execution ----------------------------------------------------------------------------------------


def _sqlite_type(ch_type: str) -> str:
    if "Int" in ch_type or "Bool" in ch_type:
        return "INTEGER"
    return "TEXT"


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_ts(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def _utc_ts(value: datetime) -> Any:
    """:func:`to_ts` of a datetime, without its checks for the common case (aware UTC, year >= 1000)."""
    if value.tzinfo is UTC and value.year >= 1000:
        return value.isoformat(" ", "microseconds")[:26]  # drop "+00:00"
    return to_ts(value)


#: The SQLite value of a cell by its exact Python type (None: stored as it is); any other type goes
#: through :func:`_cell`. A system table holds a few hundred thousand cells at 20,000 views.
_CELL_BY_TYPE: Final[dict[type, Any]] = {
    str: None,
    int: None,
    float: None,
    type(None): None,
    bool: int,
    datetime: _utc_ts,
}


#: The order the crawl pages these tables in (``ORDER BY id``; the jobs newest first, then by id), kept
#: by an index: a page of 50,000 of 70,000 jobs is then read in order instead of sorting all of them.
_INDEXES: Final[dict[str, str]] = {
    "system.data_modeling_jobs": '"created_at" DESC, "id"',
    "system.data_modeling_views": '"id"',
}


def _inferred_type(values: list[Any]) -> str:
    sample = next((v for v in values if v is not None), None)
    nullable = any(v is None for v in values)
    if sample is None:
        return "Nullable(Nothing)"
    if isinstance(sample, int):
        base = "Int64"
    elif isinstance(sample, float):
        base = "Float64"
    elif isinstance(sample, str) and TS_RE.match(sample):
        base = DT
    else:
        base = "String"
    return f"Nullable({base})" if nullable else base


def _output(value: Any, ch_type: str) -> Any:
    if value is None:
        return None
    if "Bool" in ch_type:
        return bool(value)
    if "DateTime" in ch_type and isinstance(value, str) and TS_RE.match(value):
        return _render_ts(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _render_ts(value: str) -> str | None:
    """``render_time(from_ts(value))`` of a stored timestamp, by string surgery where it can be:
    strptime cost more than the query itself on a 20,000-view system table (same text: UTC in,
    ``T``, microseconds only when non-zero)."""
    if value[0] != "0":
        micro = value[20:]
        return f"{value[:10]}T{value[11:19]}{'' if micro == '000000' else '.' + micro}Z"
    return render_time(from_ts(value))


def _datetime_output(value: Any, ch_type: str) -> Any:
    """:func:`_output` of a DateTime column's non-null cell."""
    if value.__class__ is str and TS_RE.match(value):
        return _render_ts(value)
    return _output(value, ch_type)


def _datetime_column(column: Sequence[Any], ch_type: str) -> list[Any]:
    """``_datetime_output`` of each non-null cell of a DateTime column, a stored timestamp straight
    through :func:`_render_ts` (a call less per cell on 150,000 cells of a page of jobs)."""
    match = TS_RE.match
    return [
        None
        if v is None
        else _render_ts(v)
        if v.__class__ is str and match(v)
        else _datetime_output(v, ch_type)
        for v in column
    ]


def _results(rows: list[tuple[Any, ...]], types: list[str]) -> list[list[Any]]:
    """Each row's cells as :func:`_output` gives them, a column at a time: a column that holds no
    booleans, DateTimes or floats passes as it is (50,000 rows of 13 columns per page of jobs)."""
    if not rows:
        return []
    columns: list[Any] = list(zip(*rows, strict=True))
    for i, (column, ch_type) in enumerate(zip(columns, types, strict=True)):
        if "DateTime" in ch_type:
            columns[i] = _datetime_column(column, ch_type)
        elif "Bool" in ch_type or float in set(map(type, column)):
            columns[i] = [_output(v, ch_type) for v in column]
    return [list(row) for row in zip(*columns, strict=True)]


@dataclass
class _AsyncQuery:
    id: str
    team_id: int
    response: dict[str, Any]
    start: datetime
    polls_left: int


class QueryEngine:
    """Runs HogQL for one :class:`Warehouse`; thread-safe. ``async_polls``: incomplete status answers."""

    def __init__(self, warehouse: Warehouse, *, async_polls: int = 1) -> None:
        self.warehouse = warehouse
        self.async_polls = async_polls
        self._lock = threading.Lock()
        self._now = ""
        self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        register_functions(self._conn, lambda: self._now)
        # ORDER BY over 70,000 jobs spilled the sorter to temporary files
        self._conn.execute("PRAGMA temp_store = MEMORY")
        for name, cols in SYSTEM_TABLES.items():
            spec = ", ".join(f'"{c}" {_sqlite_type(t)}' for c, t in cols)
            self._conn.execute(f'CREATE TABLE "{name}" ({spec})')
        self._async: dict[str, _AsyncQuery] = {}
        self._counter = 0
        #: The warehouse rows each SQLite table holds now (see :meth:`_refill`).
        self._loaded: dict[str, list[Any]] = {}
        # Loaded now, as PostHog's tables are there before anyone asks: the first query of a
        # 20,000-view warehouse's jobs then compares rows instead of loading them (~0.5 s).
        with self._lock:
            for name in SYSTEM_TABLES:
                self._refill(name)

    def _refill(self, name: str) -> None:
        """Make the SQLite table ``name`` hold the warehouse's rows of the moment.

        The rows are compared with those last loaded, and the table is reloaded only when they differ:
        a crawl pages through 70,000 jobs and reads each table once more per crawl, and reloading a
        20,000-view warehouse's tables on every query cost more than the queries. The comparison
        needs no hook in the warehouse and sees every change, clock-driven job state included (the
        one blind spot, a number turning into an equal number of another type, 1 -> 1.0, never
        happens in these tables: their numbers are counts). The jobs' cells come as the very same
        list while nothing changed them (``Warehouse.version``), and so do the views': that
        comparison is at once.
        """
        cols = [c for c, _ in SYSTEM_TABLES[name]]
        table = name.removeprefix("system.")
        given = self.warehouse.system_cells(table)
        # the large tables come as tuples of cells in the columns' order, compared as they are
        tuples = given is not None and list(given[0]) == cols
        rows: list[Any] = given[1] if given is not None and tuples else self.warehouse.system_records(table)
        loaded = self._loaded.get(name)
        if loaded is not None and loaded == rows:
            return
        self._loaded.pop(name, None)
        values: Iterable[Iterable[Any]] = rows if tuples else (map(r.get, cols) for r in rows)
        convert = _CELL_BY_TYPE.get
        plain = True  # every cell a scalar: ``rows`` cannot change under our feet, so it may be kept
        cells: list[list[Any]] = []
        for cells_in in values:
            row = []
            for v in cells_in:
                f = convert(v.__class__, _cell)
                if f is None:
                    row.append(v)
                else:
                    if f is _cell:
                        plain = False
                    row.append(f(v))
            cells.append(row)
        # ``name`` is a key of SYSTEM_TABLES, never user text
        self._conn.execute(f'DROP INDEX IF EXISTS "{name}.order"')
        self._conn.execute(f'DELETE FROM "{name}"')  # noqa: S608
        marks = ", ".join("?" for _ in cols)
        self._conn.executemany(f'INSERT INTO "{name}" VALUES ({marks})', cells)  # noqa: S608
        if name in _INDEXES:  # built once over the rows: cheaper than kept up row by row
            self._conn.execute(f'CREATE INDEX "{name}.order" ON "{name}" ({_INDEXES[name]})')
        if plain:
            self._loaded[name] = rows

    def execute(self, sql: str, values: Mapping[str, Any], *, key: KeyInfo | None) -> dict[str, Any]:
        """Run HogQL; the query API's response body. Raises HogError for what PostHog refuses."""
        started = time.perf_counter()
        compiled = compile_hogql(sql, values, denied=key.denied_tables if key else frozenset())
        with self._lock:
            self._now = to_ts(self.warehouse.clock.now())
            for name in compiled.tables:
                self._refill(name)
            deadline = time.monotonic() + _TIME_BUDGET_S
            self._conn.set_authorizer(_read_only)
            self._conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10000)
            try:
                cursor = self._conn.execute(compiled.sql, compiled.params)
                raw = cursor.fetchall()
                names = [d[0] for d in cursor.description or []]
                if not compiled.star and len(names) == len(compiled.names):
                    names = compiled.names
            except sqlite3.OperationalError as err:
                if "interrupted" in str(err):
                    raise hogql_error(
                        f"The query ran longer than {_TIME_BUDGET_S:g} s; add filters or a smaller LIMIT"
                    ) from None
                raise hogql_error(f"Query failed: {_clean(str(err))}") from None
            except (sqlite3.Error, OverflowError, ValueError) as err:
                raise hogql_error(f"Query failed: {_clean(str(err))}") from None
            finally:
                self._conn.set_authorizer(None)
                self._conn.set_progress_handler(None, 0)
        has_more = len(raw) > compiled.limit
        rows = raw[: compiled.limit]
        types = self._types(compiled, names, rows)
        results = _results(rows, types)
        hogql = sql.rstrip()
        if not re.search(r"\bLIMIT\b", sql, re.IGNORECASE):
            hogql += f"\nLIMIT {compiled.limit}"
        return {
            "results": results,
            "columns": names,
            "types": [[n, t] for n, t in zip(names, types, strict=True)],
            "hogql": hogql,
            "hasMore": has_more,
            "limit": compiled.limit,
            "offset": compiled.offset,
            "is_cached": False,
            "timings": [{"k": "./execute", "t": round(time.perf_counter() - started, 6)}],
            "error": None,
            "modifiers": {},
        }

    @staticmethod
    def _types(compiled: Compiled, names: list[str], rows: list[tuple[Any, ...]]) -> list[str]:
        out = []
        for i, name in enumerate(names):
            declared = None
            if compiled.star:
                declared = compiled.types_by_name.get(name)
            elif i < len(compiled.projections):
                proj = compiled.projections[i]
                inner = proj.this if isinstance(proj, exp.Alias) else proj
                if isinstance(inner, exp.Column):
                    declared = compiled.types_by_name.get(inner.name)
                elif isinstance(inner, exp.Count):
                    declared = "UInt64"
            out.append(declared or _inferred_type([r[i] for r in rows]))
        return out

    # --- async ----------------------------------------------------------------------------------------

    def submit(
        self, sql: str, values: Mapping[str, Any], *, key: KeyInfo | None, team_id: int
    ) -> dict[str, Any]:
        """``refresh: "async"``: run now, answer incomplete for ``async_polls`` status polls."""
        response = self.execute(sql, values, key=key)
        with self._lock:
            self._counter += 1
            qid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"lineage-sim-query:{team_id}:{self._counter}"))
            job = _AsyncQuery(qid, team_id, response, self.warehouse.clock.now(), self.async_polls)
            self._async[qid] = job
        return self._status(job, complete=False)

    def status(self, query_id: str) -> dict[str, Any]:
        """``GET query/<id>/``: ``{"query_status": {...}}``, with the results once complete."""
        with self._lock:
            job = self._async.get(query_id)
            if job is None:
                raise not_found()
            complete = job.polls_left <= 0
            job.polls_left -= 1
        return self._status(job, complete=complete)

    def cancel(self, query_id: str) -> None:
        with self._lock:
            if self._async.pop(query_id, None) is None:
                raise not_found()

    def _status(self, job: _AsyncQuery, *, complete: bool) -> dict[str, Any]:
        return {
            "query_status": {
                "id": job.id,
                "team_id": job.team_id,
                "query_async": True,
                "complete": complete,
                "error": False,
                "error_message": None,
                "results": job.response if complete else None,
                "start_time": render_time(job.start),
                "end_time": render_time(self.warehouse.clock.now()) if complete else None,
                "expiration_time": render_time(job.start + timedelta(minutes=20)),
                "query_progress": None,
            }
        }


def _read_only(action: int, *_args: Any) -> int:
    allowed = (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE)
    return sqlite3.SQLITE_OK if action in allowed else sqlite3.SQLITE_DENY


def _clean(message: str) -> str:
    # SQLite names our internal helpers; say what the user wrote instead
    message = message.replace("_ch_json_extract_string", "JSONExtractString").replace(
        "_ch_dt_add", "INTERVAL"
    )
    return message.replace("_ch_ts", "toDateTime")


def parse_query_body(body: Any) -> tuple[str, dict[str, Any], bool]:
    """(HogQL, values, async?) from a query API body, or the 400 PostHog gives."""
    if not isinstance(body, dict):
        raise invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
    query = body.get("query")
    if not isinstance(query, dict):
        raise invalid("This field is required.", "query", code="required")
    kind = query.get("kind")
    if kind != "HogQLQuery":
        raise invalid(f"Query kind {kind!r} is not supported by the simulator; use HogQLQuery", "query")
    sql = query.get("query")
    if not isinstance(sql, str) or not sql.strip():
        raise invalid("HogQLQuery needs a non-empty 'query' string", "query")
    values = query.get("values") or {}
    if not isinstance(values, dict):
        raise invalid("query.values must be an object of placeholder values", "query")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise invalid("Not a valid string.", "name")
    refresh = body.get("refresh", "blocking")
    if refresh in (None, True, False) or refresh in _SYNC_REFRESH:
        return sql, values, False
    if refresh in _ASYNC_REFRESH:
        return sql, values, True
    raise invalid(f'"{refresh}" is not a valid choice.', "refresh", code="invalid_choice")


def query_kind(body: Any) -> str:
    """The ``query.kind`` of a body for throttling ("" when absent)."""
    if isinstance(body, dict) and isinstance(body.get("query"), dict):
        kind = body["query"].get("kind")
        return kind if isinstance(kind, str) else ""
    return ""


def over_quota() -> HogError:
    return HogError(
        402,
        "invalid_request",
        "payment_required",
        "Your organization is over its query quota for this billing period. "
        "Queries will work again when the quota resets or the billing limit is raised.",
    )
