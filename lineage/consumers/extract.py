"""What a consumer reads, as PostHog's own insight lineage extracts it. Pure: no HTTP.

An insight's ``query`` JSON is walked whole, recursively (PostHog's own
``products/product_analytics/backend/insight_lineage.py`` does the same: its tests read views inside
``DataVisualizationNode.source``, ``DataWarehouseNode.table_name`` series, ``math_hogql``, HogQL
property filters and HogQL breakdowns):

* every ``{"kind": "HogQLQuery", "query": SQL}``: the tables the SQL reads (CTE names excluded,
  subqueries followed, by :func:`lineage.hogql.extract_tables`); ``{filters}``-style placeholders,
  which insights may carry and views may not, are read as a constant first;
* every ``table_name`` (a ``DataWarehouseNode`` series names a view or warehouse table by name; an
  older node without ``table_name`` names it by ``id``; legacy ``filters`` entities of
  ``type: "data_warehouse"`` likewise);
* HogQL expressions: ``math_hogql``, property filters with ``type == "hogql"`` (their ``key``),
  breakdowns with ``breakdown_type == "hogql"`` (and ``breakdowns`` items of ``type: "hogql"``):
  the tables of their subqueries are reads; their bare identifiers are *candidates*, reads only
  when they name a view (the caller knows the views);
* ``{"kind": "SavedInsightNode", "shortId": ...}`` embeds an insight (notebooks).

Notebooks are ProseMirror documents: every node's ``content`` is walked; ``ph-query`` nodes carry a
query JSON in ``attrs.query``, ``ph-hogql-sql`` nodes HogQL text in ``attrs.code``, and the older
``ph-insight`` nodes embed an insight by ``attrs.id``. Endpoints serve their current version's query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from lineage.errors import HogQLError
from lineage.hogql import extract_tables
from lineage.hogql.lexer import OP, QIDENT, WORD, tokenize
from lineage.hogql.placeholders import placeholders_in

__all__ = [
    "CONSUMER_KINDS",
    "Reads",
    "endpoint_reads",
    "hogql_reads",
    "insight_reads",
    "notebook_reads",
    "query_reads",
    "without_placeholders",
]

CONSUMER_KINDS: Final = ("insight", "dashboard", "notebook", "endpoint", "alert")
_MAX_DEPTH: Final = 100  # query JSON deeper than this is not walked further (hostile input)
# Words that are HogQL syntax or constants, never table names, when seen bare in an expression.
_NOT_NAMES: Final = frozenset(
    {
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE", "AS",
        "CASE", "WHEN", "THEN", "ELSE", "END", "LIKE", "ILIKE", "BETWEEN", "INTERVAL", "DISTINCT",
        "JOIN", "ON", "GROUP", "BY", "ORDER", "HAVING", "LIMIT", "ASC", "DESC",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Reads:
    """What one consumer reads.

    ``tables``: names read for certain (FROM/JOIN targets, ``table_name``s), as written (dotted).
    ``candidates``: bare identifiers of HogQL expressions; a read only where one names a view.
    ``hogql``: the HogQL queries it runs (placeholders read as ``1``), for column impact.
    ``insights``: short ids of embedded insights. ``errors``: HogQL that could not be parsed.
    """

    tables: frozenset[str] = frozenset()
    candidates: frozenset[str] = frozenset()
    hogql: tuple[str, ...] = ()
    insights: frozenset[str] = frozenset()
    errors: tuple[str, ...] = ()

    def names(self, views: Iterable[str] = ()) -> list[str]:
        """Sorted names read: ``tables`` plus the candidates that are among ``views``."""
        wanted = set(views)
        return sorted(self.tables | {c for c in self.candidates if c in wanted})

    def __or__(self, other: Reads) -> Reads:
        return Reads(
            self.tables | other.tables,
            self.candidates | other.candidates,
            tuple(sorted(set(self.hogql) | set(other.hogql))),
            self.insights | other.insights,
            tuple(sorted(set(self.errors) | set(other.errors))),
        )


@dataclass
class _Acc:
    tables: set[str] = field(default_factory=set)
    candidates: set[str] = field(default_factory=set)
    hogql: set[str] = field(default_factory=set)
    insights: set[str] = field(default_factory=set)
    errors: set[str] = field(default_factory=set)

    def done(self) -> Reads:
        return Reads(
            frozenset(self.tables),
            frozenset(self.candidates - self.tables),
            tuple(sorted(self.hogql)),
            frozenset(self.insights),
            tuple(sorted(self.errors)),
        )


def without_placeholders(sql: str) -> str:
    """``sql`` with every ``{...}`` placeholder replaced by the constant ``1`` (PostHog fills
    ``{filters}``, ``{variables.x}`` at run time; none of them names a table)."""
    tokens = tokenize(sql)
    found = placeholders_in(sql, tokens)
    if not found:
        return sql
    spans: list[tuple[int, int]] = []
    starts = {t.start: i for i, t in enumerate(tokens)}
    for pos, _name in found:
        index = starts.get(pos)
        if index is None:
            continue
        depth = 0
        for tok in tokens[index:]:
            if tok.kind == OP and tok.value == "{":
                depth += 1
            elif tok.kind == OP and tok.value == "}":
                depth -= 1
                if depth == 0:
                    spans.append((pos, tok.end))
                    break
    out: list[str] = []
    last = 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(sql[last:start])
        out.append("1")
        last = end
    out.append(sql[last:])
    return "".join(out)


def _add_sql(acc: _Acc, sql: str) -> None:
    if not sql.strip():
        return
    try:
        text = without_placeholders(sql)
        acc.tables.update(extract_tables(text))
    except HogQLError:
        acc.errors.add(sql)
        return
    acc.hogql.add(text)


def _add_expression(acc: _Acc, expr: str) -> None:
    """A HogQL expression: its subqueries' tables are reads, its bare identifiers candidates."""
    if not expr.strip():
        return
    try:
        text = without_placeholders(expr)
        acc.tables.update(extract_tables(f"SELECT {text}"))
        tokens = tokenize(text)
    except HogQLError:
        acc.errors.add(expr)
        return
    for i, tok in enumerate(tokens):
        if tok.kind not in (WORD, QIDENT):
            continue
        if tok.kind == WORD and tok.value.upper() in _NOT_NAMES:
            continue
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        before = tokens[i - 1] if i > 0 else None
        if after is not None and after.kind == OP and after.value in ("(", "."):
            continue  # a function call, or the first part of a field chain
        if before is not None and before.kind == OP and before.value == ".":
            continue
        acc.candidates.add(tok.value)


def _walk(acc: _Acc, node: Any, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for item in node:
            _walk(acc, item, depth + 1)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("kind")
    if kind == "HogQLQuery" and isinstance(node.get("query"), str):
        _add_sql(acc, node["query"])
    if kind == "SavedInsightNode" and isinstance(node.get("shortId"), str) and node["shortId"]:
        acc.insights.add(node["shortId"])
    table_name = node.get("table_name")
    if isinstance(table_name, str) and table_name.strip():
        acc.tables.add(table_name.strip())
    elif (
        (kind == "DataWarehouseNode" or node.get("type") == "data_warehouse")
        and isinstance(node.get("id"), str)
        and node["id"].strip()
    ):
        acc.tables.add(node["id"].strip())
    if isinstance(node.get("math_hogql"), str):
        _add_expression(acc, node["math_hogql"])
    if node.get("type") == "hogql":
        for key in ("key", "property"):
            if isinstance(node.get(key), str):
                _add_expression(acc, node[key])
    if node.get("breakdown_type") == "hogql":
        breakdown = node.get("breakdown")
        for expr in breakdown if isinstance(breakdown, list) else [breakdown]:
            if isinstance(expr, str):
                _add_expression(acc, expr)
    for key, value in node.items():
        if isinstance(value, Mapping | list) and key != "results":
            _walk(acc, value, depth + 1)


def query_reads(query: Any) -> Reads:
    """What a query JSON (an insight's ``query``, a notebook's ``ph-query``) reads."""
    acc = _Acc()
    _walk(acc, query)
    return acc.done()


def hogql_reads(sql: str) -> Reads:
    """What HogQL text reads (a notebook's ``ph-hogql-sql`` node)."""
    acc = _Acc()
    _add_sql(acc, sql)
    return acc.done()


def insight_reads(query: Any, filters: Any = None) -> Reads:
    """An insight's reads: its ``query`` and its legacy ``filters`` (both walked whole)."""
    acc = _Acc()
    _walk(acc, query)
    _walk(acc, filters)
    return acc.done()


def notebook_reads(content: Any) -> Reads:
    """A notebook's reads from its ProseMirror ``content``."""
    acc = _Acc()
    _walk_doc(acc, content, 0)
    return acc.done()


def _walk_doc(acc: _Acc, node: Any, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for item in node:
            _walk_doc(acc, item, depth + 1)
        return
    if not isinstance(node, Mapping):
        return
    attrs = node.get("attrs") if isinstance(node.get("attrs"), Mapping) else {}
    assert isinstance(attrs, Mapping)
    kind = node.get("type")
    if kind == "ph-query":
        query = attrs.get("query")
        _walk(acc, query)
    elif kind == "ph-hogql-sql" and isinstance(attrs.get("code"), str):
        _add_sql(acc, attrs["code"])
    elif kind == "ph-insight" and isinstance(attrs.get("id"), str) and attrs["id"]:
        acc.insights.add(attrs["id"])
    _walk_doc(acc, node.get("content"), depth + 1)


def active_version(versions: Iterable[Mapping[str, Any]], current: Any = None) -> Mapping[str, Any] | None:
    """The version an endpoint serves: ``current`` where given and present, else the newest active
    version, else the newest."""
    rows = [v for v in versions if isinstance(v, Mapping)]
    if not rows:
        return None

    def number(v: Mapping[str, Any]) -> int:
        raw = v.get("version")
        return raw if isinstance(raw, int) and not isinstance(raw, bool) else -1

    if isinstance(current, int):
        for v in rows:
            if number(v) == current:
                return v
    active = [v for v in rows if v.get("is_active") is not False]
    return max(active or rows, key=number)


def endpoint_reads(versions: Iterable[Mapping[str, Any]], current: Any = None) -> Reads:
    """What an endpoint reads: its served version's query (see :func:`active_version`)."""
    chosen = active_version(versions, current)
    return query_reads(chosen.get("query")) if chosen is not None else Reads()
