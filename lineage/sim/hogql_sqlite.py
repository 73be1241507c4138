"""HogQL to SQLite for the simulator's query API: the ``system.*`` tables' columns and the compiler.

:func:`compile_hogql` reads HogQL with :func:`lineage.hogql.to_sqlglot`, checks it (SELECT only, known
system tables, the key owner's table access), and rewrites it for SQLite: ClickHouse functions
(:mod:`lineage.sim.sqlite_functions`), ``{name}`` placeholders as bound parameters, DateTime
comparisons, PostHog's default and maximum ``LIMIT``. Simulator columns (beyond PostHog's documented
ones) are marked in :data:`SYSTEM_TABLES`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import SqlglotError

from lineage.errors import HogQLError
from lineage.hogql import to_sqlglot
from lineage.hogql.lexer import FSTRING, TAG, tokenize
from lineage.hogql.placeholders import placeholders_in
from lineage.sim.errors import HogError, invalid

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
    # Consumers (insights, dashboards, notebooks, endpoints, alerts), filled from the fixture's optional
    # consumer lists and whatever the REST API created since; the columns of PostHog's system.* tables.
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
    _plain_order(tree, tables, types_by_name)
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


def _plain_order(tree: exp.Select, tables: list[str], types: Mapping[str, str]) -> None:
    """ClickHouse sorts NULLs last in either direction ("by default or with the NULLS LAST modifier:
    first the values, then NaN, then NULL", clickhouse.com/docs/sql-reference/statements/select/
    order-by, "Sorting of Special Values"), and SQLite's ascending order puts them first: the translation
    spells ``NULLS LAST``, which keeps SQLite from walking an index in order (it sorted 350,000 jobs
    again for every page of a 100,000-view warehouse's listing). A column of a type that cannot hold
    NULL (not ``Nullable(...)``) sorts the same either way: its key is left in SQLite's own order."""
    order = tree.args.get("order")
    source = tree.args.get("from_") or tree.args.get("from")
    plain = source is not None and isinstance(source.this, exp.Table)
    # a name from a subquery or a CTE may stand for a column that can hold NULL: left as it is
    if order is None or len(tables) != 1 or tree.args.get("joins") or not plain or tree.find(exp.CTE):
        return
    aliases = {p.alias for p in tree.expressions if isinstance(p, exp.Alias)}
    for key in order.expressions:
        column = key.this if isinstance(key, exp.Ordered) else None
        if not isinstance(column, exp.Column) or column.name in aliases:
            continue
        ch_type = types.get(column.name)
        if ch_type is not None and not ch_type.startswith("Nullable"):
            key.set("nulls_first", not key.args.get("desc"))


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
