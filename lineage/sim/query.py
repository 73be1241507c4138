"""PostHog's query API in the simulator: HogQL over ``system.*`` tables, executed for real by SQLite.

``POST /api/projects/:id/query/`` with ``{"query": {"kind": "HogQLQuery", "query": sql, "values": {...}}}``
(spec posthog-api-2.md sections 1-2). The HogQL is read by :func:`lineage.hogql.to_sqlglot`, checked
(SELECT only, known system tables, the key owner's table access), rewritten for SQLite (ClickHouse
functions, ``{name}`` placeholders as bound parameters, DateTime comparisons) and run on an in-memory
database whose tables are refilled from the :class:`~lineage.sim.state.Warehouse` before every query,
so every write through the API shows at once.

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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import SqlglotError

from lineage.errors import HogQLError
from lineage.hogql import to_sqlglot
from lineage.hogql.lexer import FSTRING, TAG, tokenize
from lineage.hogql.placeholders import placeholders_in
from lineage.sim.errors import HogError, invalid, not_found
from lineage.sim.sqlite_functions import (
    TS_RE,
    from_ts,
    register_functions,
    to_ts,
)
from lineage.sim.state import KeyInfo, Warehouse, render_time

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 50000
DT: Final = "DateTime64(6, 'UTC')"
NDT: Final = f"Nullable({DT})"

# (column, ClickHouse type). Columns after PostHog's documented set are simulator columns.
SYSTEM_TABLES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "system.data_modeling_views": (
        ("id", "UUID"),
        ("name", "String"),
        ("status", "Nullable(String)"),
        ("columns", "String"),
        ("query", "String"),
        ("last_run_at", NDT),
        ("is_materialized", "Bool"),
        ("deleted", "Bool"),
        ("deleted_at", NDT),
        ("created_at", DT),
        ("updated_at", DT),
        # simulator columns
        ("sync_frequency", "Nullable(String)"),
        ("latest_error", "Nullable(String)"),
        ("folder_id", "Nullable(UUID)"),
        ("created_by_id", "Nullable(Int64)"),
        ("origin", "Nullable(String)"),
        ("deleted_name", "Nullable(String)"),
        ("description", "Nullable(String)"),
        ("is_incremental", "Bool"),
        ("suspended", "Bool"),
        ("is_test", "Bool"),
    ),
    "system.data_modeling_jobs": (
        ("id", "UUID"),
        ("saved_query_id", "Nullable(UUID)"),
        ("status", "String"),
        ("rows_materialized", "Int64"),
        ("error", "Nullable(String)"),
        ("created_at", DT),
        ("last_run_at", NDT),
        ("workflow_id", "Nullable(String)"),
        # simulator columns
        ("rows_expected", "Nullable(Int64)"),
        ("workflow_run_id", "Nullable(String)"),
        ("run_mode", "Nullable(String)"),
        ("updated_at", NDT),
        # PostHog's own name of the view column in this system table
        ("data_modeling_view_id", "Nullable(UUID)"),
    ),
    "system.data_warehouse_tables": (
        ("id", "UUID"),
        ("name", "String"),
        ("format", "String"),
        ("deleted", "Bool"),
        ("created_at", DT),
        # simulator columns
        ("url_pattern", "String"),
        ("columns", "String"),
        ("created_by_id", "Nullable(Int64)"),
        ("external_data_source_id", "Nullable(UUID)"),
        ("source_type", "Nullable(String)"),
    ),
    # Sources of synced tables; a table's hogql_name is built from its source's type and prefix
    # (PostHog's system.data_warehouse_sources; data_warehouse_tables joins it by
    # external_data_source_id).
    "system.data_warehouse_sources": (
        ("id", "UUID"),
        ("source_type", "String"),
        ("prefix", "Nullable(String)"),
        ("status", "String"),
        ("deleted", "Bool"),
        ("created_at", DT),
    ),
    # Consumers (interfaces.md section 6), filled from the fixture's optional consumer lists and
    # whatever the REST API created since; columns of posthog-api-3.md section 1.
    "system.insights": (
        ("id", "Int64"),
        ("short_id", "String"),
        ("name", "Nullable(String)"),
        ("query", "Nullable(String)"),
        ("filters", "String"),
        ("deleted", "Bool"),
        ("saved", "Bool"),
        ("last_modified_at", NDT),
        ("updated_at", NDT),
        ("created_by_id", "Nullable(Int64)"),
    ),
    "system.dashboards": (
        ("id", "Int64"),
        ("name", "Nullable(String)"),
        ("deleted", "Bool"),
        # simulator column
        ("created_by_id", "Nullable(Int64)"),
    ),
    "system.notebooks": (
        ("id", "UUID"),
        ("short_id", "String"),
        ("title", "Nullable(String)"),
        ("content", "Nullable(String)"),
        ("text_content", "Nullable(String)"),
        ("deleted", "Bool"),
        # simulator column
        ("created_by_id", "Nullable(Int64)"),
    ),
    "system.data_modeling_endpoints": (
        ("id", "UUID"),
        ("name", "String"),
        ("is_active", "Bool"),
        ("current_version", "Nullable(Int64)"),
        ("deleted", "Bool"),
        # simulator column
        ("created_by_id", "Nullable(Int64)"),
    ),
    "system.data_modeling_endpoint_versions": (
        ("endpoint_id", "UUID"),
        ("version", "Int64"),
        ("query", "Nullable(String)"),
        ("is_active", "Bool"),
    ),
    "system.alerts": (
        ("id", "UUID"),
        ("name", "Nullable(String)"),
        ("insight_id", "Int64"),
        ("state", "String"),
        ("enabled", "Bool"),
    ),
    "system.dashboard_tiles": (
        ("id", "Int64"),
        ("dashboard_id", "Int64"),
        ("insight_id", "Nullable(Int64)"),
        ("text_id", "Nullable(Int64)"),
        ("deleted", "Nullable(Bool)"),
    ),
}

_ASYNC_REFRESH: Final = frozenset({"async", "force_async", "lazy_async"})
_SYNC_REFRESH: Final = frozenset({"blocking", "force_blocking", "force_cache"})
_MARKER: Final = "__lineage_value_{}__"
_MARKER_RE: Final = re.compile(r"^__lineage_value_(\d+)__$")
_VALUE_NAME_RE: Final = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")
# The canonical text of a DateTime inside SQLite: fixed width, so text order is time order.
_DT_FUNCS: Final = frozenset({"now", "todatetime", "parsedatetimebesteffort", "_ch_dt_add", "todatetime64"})
_ADD_FUNCS: Final = {
    f"{verb}{unit}s": (sign, unit.upper())
    for verb, sign in (("add", 1), ("subtract", -1))
    for unit in ("Second", "Minute", "Hour", "Day", "Week", "Month", "Year")
}
_TIME_BUDGET_S: Final = 5.0


def hogql_error(detail: str) -> HogError:
    """PostHog's answer to a query it cannot run: 400 validation_error with the reason."""
    return invalid(detail)


class _SQLiteBackticks(SQLite):
    """SQLite with `backtick` identifiers: a "double-quoted" name SQLite cannot resolve silently
    becomes a string literal, so a misspelt column would answer its own name instead of an error."""

    class Tokenizer(SQLite.Tokenizer):
        IDENTIFIERS = ["`"]


# --- HogQL -> SQLite ----------------------------------------------------------------------------------


@dataclass
class Compiled:
    """A HogQL query ready for SQLite."""

    sql: str
    params: dict[str, Any]
    tables: list[str]
    limit: int
    offset: int
    types_by_name: dict[str, str]
    projections: list[exp.Expression]
    star: bool
    names: list[str]


def _lookup(values: Mapping[str, Any], name: str) -> Any:
    node: Any = values
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            available = ", ".join(sorted(str(k) for k in values)) or "none"
            raise hogql_error(
                f"Placeholder {{{name}}} is not available in this context; pass it in query.values "
                f"(values given: {available})"
            )
        node = node[part]
    return node


def substitute_placeholders(sql: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """``sql`` with every ``{name}`` replaced by a marker identifier, and the marker values in order."""
    try:
        tokens = tokenize(sql)
        found = placeholders_in(sql, tokens)
    except HogQLError as err:
        raise hogql_error(f"Syntax error: {err.message}") from None
    if not found:
        return sql, []
    for tok in tokens:
        nested = tok.kind in (FSTRING, TAG) and any(not isinstance(p, str) for p in tok.parts)
        if nested and any(tok.start <= pos < tok.end for pos, _ in found):
            raise hogql_error("Placeholders inside f-strings and HogQLX tags are not supported here")
    spans: list[tuple[int, int, str]] = []
    for pos, name in found:
        if not _VALUE_NAME_RE.match(name):
            raise hogql_error(
                f"Placeholder {{{name}}} is an expression; only names of query.values are supported"
            )
        index = next(i for i, t in enumerate(tokens) if t.start == pos)
        depth = 0
        for tok in tokens[index:]:
            if tok.is_op("{"):
                depth += 1
            elif tok.is_op("}"):
                depth -= 1
                if depth == 0:
                    spans.append((pos, tok.end, name))
                    break
    out: list[str] = []
    bound: list[Any] = []
    last = 0
    for start, end, name in spans:
        out.append(sql[last:start])
        out.append(_MARKER.format(len(bound)))
        bound.append(_lookup(values, name))
        last = end
    out.append(sql[last:])
    return "".join(out), bound


def _marker_index(node: exp.Expression) -> int | None:
    if isinstance(node, exp.Column) and not node.table:
        match = _MARKER_RE.match(node.name)
        if match:
            return int(match.group(1))
    return None


def _int_of(node: exp.Expression | None, bound: list[Any], clause: str) -> int | None:
    if node is None:
        return None
    target = node.args.get("expression") if isinstance(node, exp.Limit | exp.Offset) else node
    if target is None:
        return None
    index = _marker_index(target)
    value: Any
    if index is not None:
        value = bound[index]
    elif isinstance(target, exp.Literal) and not target.is_string:
        value = target.this
    else:
        raise hogql_error(f"{clause} must be a whole number (or a placeholder holding one)")
    try:
        number = int(str(value))
    except ValueError:
        raise hogql_error(f"{clause} must be a whole number, got {value!r}") from None
    if number < 0:
        raise hogql_error(f"{clause} must not be negative, got {number}")
    return number


class _Rewriter:
    def __init__(self, bound: list[Any], dt_columns: frozenset[str]) -> None:
        self.bound = bound
        self.params: dict[str, Any] = {}
        self.dt_columns = dt_columns

    def param(self, index: int, value: Any) -> exp.Expression:
        if isinstance(value, bool | int | float | str) or value is None:
            name = f"v{index}_{len(self.params)}"
            self.params[name] = int(value) if isinstance(value, bool) else value
            return exp.Placeholder(this=name)
        if isinstance(value, list | tuple):
            return exp.Tuple(expressions=[self.param(index, v) for v in value])
        raise hogql_error(
            f"query.values: placeholder {index + 1} holds a {type(value).__name__}; "
            "use text, numbers, booleans, null or lists of them"
        )

    def value_node(self, index: int) -> exp.Expression:
        return self.param(index, self.bound[index])

    def first_pass(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.In):
            field = node.args.get("field")
            index = _marker_index(field) if field is not None else None
            if index is not None:
                value = self.bound[index]
                items = list(value) if isinstance(value, list | tuple) else [value]
                return exp.In(this=node.this, expressions=[self.param(index, v) for v in items])
        index = _marker_index(node)
        if index is not None:
            return self.value_node(index)
        if isinstance(node, exp.Count) and node.this is None:
            return exp.Count(this=exp.Star())
        if isinstance(node, exp.ApproxDistinct):
            return exp.Count(this=exp.Distinct(expressions=[node.this]))
        if isinstance(node, exp.JSONExtractScalar):
            path = node.expression
            keys: list[exp.Expression] = []
            if isinstance(path, exp.JSONPath):
                for part in path.expressions:
                    if isinstance(part, exp.JSONPathKey):
                        keys.append(exp.Literal.string(str(part.this)))
                    elif isinstance(part, exp.JSONPathSubscript):
                        keys.append(exp.Literal.number(int(str(part.this))))
            return exp.Anonymous(this="_ch_json_extract_string", expressions=[node.this, *keys])
        if isinstance(node, exp.Add | exp.Sub) and isinstance(node.expression, exp.Interval):
            interval = node.expression
            unit = interval.args.get("unit")
            amount = _interval_amount(interval.this)
            sign = -1 if isinstance(node, exp.Sub) else 1
            return exp.Anonymous(
                this="_ch_dt_add",
                expressions=[
                    node.this,
                    exp.Literal.number(sign * amount),
                    exp.Literal.string(unit.name if unit is not None else "DAY"),
                ],
            )
        if isinstance(node, exp.Anonymous) and str(node.this) in _ADD_FUNCS and len(node.expressions) == 2:
            sign, unit_name = _ADD_FUNCS[str(node.this)]
            base, amount_node = node.expressions
            amount_expr: exp.Expression = amount_node if sign > 0 else exp.Neg(this=amount_node)
            return exp.Anonymous(
                this="_ch_dt_add", expressions=[base, amount_expr, exp.Literal.string(unit_name)]
            )
        if isinstance(node, exp.CurrentTimestamp):
            return exp.Anonymous(this="now")
        return node

    def is_datetime(self, node: exp.Expression) -> bool:
        if isinstance(node, exp.Column):
            return node.name in self.dt_columns
        if isinstance(node, exp.Anonymous):
            return str(node.this).lower() in _DT_FUNCS
        return isinstance(node, exp.Paren) and self.is_datetime(node.this)

    def wrap_ts(self, node: exp.Expression) -> exp.Expression:
        if (isinstance(node, exp.Literal) and node.is_string) or isinstance(node, exp.Placeholder):
            return exp.Anonymous(this="_ch_ts", expressions=[node])
        if isinstance(node, exp.Tuple):
            return exp.Tuple(expressions=[self.wrap_ts(e) for e in node.expressions])
        return node

    def second_pass(self, node: exp.Expression) -> exp.Expression:
        """ClickHouse compares a DateTime with text by parsing the text: normalize it the same way."""
        if isinstance(node, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
            left, right = node.this, node.expression
            if self.is_datetime(left):
                node.set("expression", self.wrap_ts(right))
            elif self.is_datetime(right):
                node.set("this", self.wrap_ts(left))
        elif isinstance(node, exp.Between) and self.is_datetime(node.this):
            node.set("low", self.wrap_ts(node.args["low"]))
            node.set("high", self.wrap_ts(node.args["high"]))
        elif isinstance(node, exp.In) and self.is_datetime(node.this):
            node.set("expressions", [self.wrap_ts(e) for e in node.expressions])
        return node


def _interval_amount(node: exp.Expression | None) -> int:
    text = node.name if isinstance(node, exp.Literal) else None
    try:
        return int(str(text))
    except ValueError:
        raise hogql_error("INTERVAL needs a whole number, e.g. INTERVAL 7 DAY") from None


def compile_hogql(sql: str, values: Mapping[str, Any], *, denied: frozenset[str] = frozenset()) -> Compiled:
    """Check and translate HogQL for SQLite; raises HogError (400) with PostHog-like details."""
    text, bound = substitute_placeholders(sql, values)
    try:
        tree = to_sqlglot(text)
    except HogQLError as err:
        raise hogql_error(f"Syntax error: {err.message}") from None
    if isinstance(tree, exp.SetOperation):
        tree = exp.select("*").from_(
            exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("_q")))
        )
    if not isinstance(tree, exp.Select):
        raise hogql_error("Only SELECT queries can run through the query API")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    tables: list[str] = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise hogql_error("Table functions are not available on system tables")
        name = table.name
        if name in ctes and not table.db:
            continue
        if name not in SYSTEM_TABLES:
            raise hogql_error(
                f'Unknown table "{name}". The query API here serves only: {", ".join(sorted(SYSTEM_TABLES))}'
            )
        if name in denied:
            raise hogql_error(f"You don't have access to table `{name}`.")
        if name not in tables:
            tables.append(name)
    types_by_name: dict[str, str] = {}
    for name in tables:
        for col, typ in SYSTEM_TABLES[name]:
            types_by_name.setdefault(col, typ)
    limit = _int_of(tree.args.get("limit"), bound, "LIMIT")
    offset = _int_of(tree.args.get("offset"), bound, "OFFSET") or 0
    effective = min(DEFAULT_LIMIT if limit is None else limit, MAX_LIMIT)
    tree.set("limit", None)
    tree.set("offset", None)
    original = [p.copy() for p in tree.expressions]
    dt_cols = frozenset(c for c, t in types_by_name.items() if "DateTime" in t)
    rewriter = _Rewriter(bound, dt_cols)
    try:
        tree = tree.transform(rewriter.first_pass)
        tree = tree.transform(rewriter.second_pass)
    except SqlglotError as err:
        raise hogql_error(f"Unsupported query: {err}") from None
    assert isinstance(tree, exp.Select)
    names = [_column_name(p) for p in original]
    tree.set("limit", exp.Limit(expression=exp.Literal.number(effective + 1)))
    if offset:
        tree.set("offset", exp.Offset(expression=exp.Literal.number(offset)))
    projections = list(tree.expressions)
    star = any(
        isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
        for p in projections
    )
    try:
        out = tree.sql(dialect=_SQLiteBackticks)
    except SqlglotError as err:
        raise hogql_error(f"Unsupported query: {err}") from None
    return Compiled(out, rewriter.params, tables, effective, offset, types_by_name, projections, star, names)


def _column_name(proj: exp.Expression) -> str:
    """ClickHouse's name for a result column: the alias, the column, else the expression's text."""
    if isinstance(proj, exp.Alias):
        return proj.alias
    if isinstance(proj, exp.Column):
        return proj.name
    for ident in proj.find_all(exp.Identifier):
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident.name):
            ident.set("quoted", False)
    text = proj.sql(dialect="clickhouse")
    return re.sub(r"__lineage_value_(\d+)__", lambda m: f"{{value {int(m.group(1)) + 1}}}", text)


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
        if value[0] != "0":
            # render_time(from_ts(value)) by string surgery: strptime cost more than the query itself
            # on a 20,000-view system table (same text: UTC in, ``T``, microseconds only when non-zero).
            micro = value[20:]
            return f"{value[:10]}T{value[11:19]}{'' if micro == '000000' else '.' + micro}Z"
        return render_time(from_ts(value))
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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
        for name, cols in SYSTEM_TABLES.items():
            spec = ", ".join(f'"{c}" {_sqlite_type(t)}' for c, t in cols)
            self._conn.execute(f'CREATE TABLE "{name}" ({spec})')
        self._async: dict[str, _AsyncQuery] = {}
        self._counter = 0

    def _refill(self, name: str) -> None:
        cols = [c for c, _ in SYSTEM_TABLES[name]]
        rows = self.warehouse.system_records(name.removeprefix("system."))
        # ``name`` is a key of SYSTEM_TABLES, never user text
        self._conn.execute(f'DELETE FROM "{name}"')  # noqa: S608
        marks = ", ".join("?" for _ in cols)
        self._conn.executemany(
            f'INSERT INTO "{name}" VALUES ({marks})',  # noqa: S608
            [[_cell(r.get(c)) for c in cols] for r in rows],
        )

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
        results = [[_output(v, types[i]) for i, v in enumerate(row)] for row in rows]
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
