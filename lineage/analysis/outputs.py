"""Output columns of a HogQL query, and how a view's columns differ between two versions of its query.

:func:`output_columns` reads a query's output columns (name, expression as sqlglot prints it, and a type
where the syntax alone tells it), expanding ``*`` from CTEs, subqueries and known parent columns, plus a
fingerprint of what decides which rows come out; :func:`diff_columns` compares two such lists. Used by
:func:`lineage.analysis.whatif.whatif`, which re-exports all four names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from lineage.hogql import to_sqlglot

__all__ = ["ColumnChanges", "OutputColumn", "diff_columns", "output_columns"]


@dataclass(frozen=True)
class OutputColumn:
    """One output column of a query: its expression as sqlglot prints it, and its type if it can tell."""

    name: str
    expression: str | None
    type: str | None = None


@dataclass(frozen=True)
class ColumnChanges:
    """How a view's output columns differ between its current and its proposed SQL (all sorted)."""

    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    changed: tuple[str, ...] = ()
    type_changes: tuple[tuple[str, str, str], ...] = ()
    rows_change: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "removed": list(self.removed),
            "added": list(self.added),
            "renamed": [{"from": a, "to": b} for a, b in self.renamed],
            "changed": list(self.changed),
            "type_changes": [{"column": c, "from": a, "to": b} for c, a, b in self.type_changes],
            "rows_change": self.rows_change,
        }


_TYPE_FUNCS = [
    (re.compile(r"^(tostring|lower|upper|concat|substring|trim|replaceall|replaceregexpall)$"), "String"),
    (re.compile(r"^touint(8|16|32|64)"), "UInt"),
    (re.compile(r"^toint(8|16|32|64|128|256)"), "Int"),
    (re.compile(r"^tofloat(32|64)"), "Float"),
    (re.compile(r"^todecimal"), "Decimal"),
    (re.compile(r"^(todate|tostartof(day|week|month|quarter|year)|today|yesterday)"), "Date"),
    (re.compile(r"^(todatetime|now|tostartof(hour|minute|second))"), "DateTime"),
    (re.compile(r"^(count|uniq|uniqexact|countif|uniqif)$"), "UInt64"),
]


def _type_of(node: exp.Expr) -> str | None:
    """The type of an expression where the syntax alone says it; None when it cannot tell."""
    if isinstance(node, exp.Cast):
        return node.to.sql("clickhouse")
    if isinstance(node, exp.Literal):
        return "String" if node.is_string else "Number"
    if isinstance(node, exp.Boolean | exp.Predicate | exp.Not | exp.And | exp.Or):
        return "Bool"
    if isinstance(node, exp.Count):
        return "UInt64"
    name = ""
    if isinstance(node, exp.Anonymous):
        name = str(node.name).lower()
    elif isinstance(node, exp.Func):
        name = node.sql_name().lower()
    if name:
        for pattern, kind in _TYPE_FUNCS:
            if pattern.search(name):
                return kind
    return None


def _unwrap(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Subquery) and isinstance(node.this, exp.Expr):
        node = node.this
    return node


def _top_selects(node: exp.Expr) -> list[exp.Select]:
    node = _unwrap(node)
    if isinstance(node, exp.SetOperation):
        return _top_selects(node.left) + _top_selects(node.right)
    return [node] if isinstance(node, exp.Select) else []


def _star_source_columns(
    select: exp.Select,
    qualifier: str,
    parent_columns: Mapping[str, Sequence[str]],
    ctes: Mapping[str, exp.Expr],
) -> list[OutputColumn] | None:
    sources: list[tuple[str, exp.Expr]] = []
    from_ = select.args.get("from")
    if from_ is not None:
        sources.append((from_.this.alias_or_name, from_.this))
    for join in select.args.get("joins") or []:
        sources.append((join.this.alias_or_name, join.this))
    out: list[OutputColumn] = []
    for alias, src in sources:
        if qualifier and alias != qualifier:
            continue
        if isinstance(src, exp.Table):
            name = ".".join(p.name for p in src.parts)
            if name in ctes:
                cols = _projections(ctes[name], parent_columns, ctes)
            else:
                known = parent_columns.get(name)
                cols = None if known is None else [OutputColumn(c, f"{name}.{c}") for c in known]
        elif isinstance(src, exp.Subquery):
            cols = _projections(src.this, parent_columns, ctes)
        else:
            cols = None
        if cols is None:
            return None
        out.extend(cols)
    return out


def _projections(
    node: exp.Expr, parent_columns: Mapping[str, Sequence[str]], ctes: Mapping[str, exp.Expr]
) -> list[OutputColumn] | None:
    """Output columns of a query node; None when a `*` cannot be expanded."""
    node = _unwrap(node)
    if isinstance(node, exp.With) and node.this is not None:
        node = node.this
    local = dict(ctes)
    with_ = node.args.get("with") if isinstance(node, exp.Query) else None
    if with_ is not None:
        for cte in with_.expressions:
            local[cte.alias_or_name] = cte.this
    if isinstance(node, exp.SetOperation):
        left = _projections(node.left, parent_columns, local)
        right = _projections(node.right, parent_columns, local)
        if left is None or right is None:
            return None
        merged = []
        for i, col in enumerate(left):
            other = right[i] if i < len(right) else None
            expr = f"{col.expression} | {other.expression if other else ''}"
            same_type = other is not None and other.type == col.type
            merged.append(OutputColumn(col.name, expr, col.type if same_type else None))
        return merged
    if not isinstance(node, exp.Select):
        return None
    out: list[OutputColumn] = []
    for proj in node.selects:
        star = proj if isinstance(proj, exp.Star) else proj.this if isinstance(proj, exp.Column) else None
        if isinstance(star, exp.Star):
            qual = proj.table if isinstance(proj, exp.Column) else ""
            expanded = _star_source_columns(node, qual, parent_columns, local)
            if expanded is None:
                return None
            out.extend(expanded)
            continue
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        out.append(
            OutputColumn(
                proj.alias_or_name or proj.sql("clickhouse"), inner.sql("clickhouse"), _type_of(inner)
            )
        )
    return out


def _body_fingerprint(node: exp.Expr) -> str:
    """The query without its top-level column lists: what decides which rows come out."""
    copy = node.copy()
    for sel in _top_selects(copy):
        sel.set("expressions", [exp.Null()])
    return copy.sql("clickhouse")


def output_columns(
    sql: str, parent_columns: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[OutputColumn] | None, str]:
    """(output columns, row fingerprint) of a HogQL query; columns None when a `*` cannot be expanded.

    Raises HogQLError when the SQL does not parse.
    """
    tree = to_sqlglot(sql)
    return _projections(tree, parent_columns or {}, {}), _body_fingerprint(tree)


def diff_columns(
    old: Sequence[OutputColumn], new: Sequence[OutputColumn], *, rows_change: bool = False
) -> ColumnChanges:
    """Removed, added, renamed (same expression, new alias), changed (expression, type, or rows)."""
    old_by = {c.name: c for c in old}
    new_by = {c.name: c for c in new}
    gone = [c for c in old if c.name not in new_by]
    fresh = [c for c in new if c.name not in old_by]
    renamed: list[tuple[str, str]] = []
    used: set[str] = set()
    for c in gone:
        if c.expression is None:
            continue
        match = [n for n in fresh if n.expression == c.expression and n.name not in used]
        if len(match) == 1:
            renamed.append((c.name, match[0].name))
            used.add(match[0].name)
    renamed_from = {a for a, _ in renamed}
    changed: list[str] = []
    type_changes: list[tuple[str, str, str]] = []
    for name, c in old_by.items():
        if name not in new_by:
            continue
        n = new_by[name]
        if c.type and n.type and c.type != n.type:
            type_changes.append((name, c.type, n.type))
        if (
            rows_change
            or c.expression is None
            or n.expression is None
            or c.expression != n.expression
            or (c.type and n.type and c.type != n.type)
        ):
            changed.append(name)
    return ColumnChanges(
        removed=tuple(sorted(c.name for c in gone if c.name not in renamed_from)),
        added=tuple(sorted(c.name for c in fresh if c.name not in used)),
        renamed=tuple(sorted(renamed)),
        changed=tuple(sorted(set(changed))),
        type_changes=tuple(sorted(type_changes)),
        rows_change=rows_change,
    )
