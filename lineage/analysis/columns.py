"""Column-level impact: which downstream columns derive from one column, and which views filter or join on it.

Each downstream view's HogQL is parsed with :func:`lineage.hogql.to_sqlglot` and walked scope by scope
(CTEs, derived tables and set operations first), tracking which output names carry the column. A view whose
SQL is missing or does not parse is reported as *impact unknown*, never as safe, and so is everything that
reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from lineage.analysis.health import node_name, resolve_node
from lineage.consumer_nodes import consumers_not_read, hogql_texts, is_consumer, live
from lineage.errors import HogQLError, InputError
from lineage.graph import as_digraph
from lineage.hogql import to_sqlglot

if TYPE_CHECKING:
    import pandas as pd

# Clauses whose use of a column changes which rows a view returns, as the report names them.
_CLAUSES = {"joins": "JOIN", "where": "WHERE", "prewhere": "WHERE", "having": "HAVING", "group": "GROUP BY"}

Taint = dict[str, frozenset[str]]  # output column -> upstream "view.column" it derives from


@dataclass(frozen=True)
class DerivedColumn:
    """A downstream column computed from the changed column (``sources`` are its direct upstream columns)."""

    view_id: str
    view: str
    column: str
    depth: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ColumnUsage:
    """A view that uses an affected column to join, filter or group."""

    view_id: str
    view: str
    clause: str
    column: str


@dataclass(frozen=True)
class UnknownImpact:
    """A view whose use of the column could not be determined; treat it as affected."""

    view_id: str
    view: str
    reason: str


@dataclass(frozen=True)
class ConsumerColumnUse:
    """A consumer (insight, dashboard...) that reads the column, or may: ``verdict`` is ``uses`` or
    ``unknown`` (its HogQL is not in the snapshot or does not parse; never read as safe)."""

    id: str
    name: str
    kind: str
    verdict: str
    detail: str


@dataclass(frozen=True)
class ColumnImpact:
    """Result of :func:`column_impact`; every tuple is sorted."""

    target_id: str
    target: str
    column: str
    derived: tuple[DerivedColumn, ...]
    usages: tuple[ColumnUsage, ...]
    unknown: tuple[UnknownImpact, ...]
    unaffected: tuple[str, ...]
    consumers: tuple[ConsumerColumnUse, ...] = ()
    consumers_not_read: tuple[str, ...] | None = None

    @property
    def affected_views(self) -> tuple[str, ...]:
        """Names of views that derive or use the column (not counting unknown ones)."""
        return tuple(sorted({d.view for d in self.derived} | {u.view for u in self.usages}))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "target": {"id": self.target_id, "name": self.target, "column": self.column},
            "derived": [asdict(d) | {"sources": list(d.sources)} for d in self.derived],
            "usages": [asdict(u) for u in self.usages],
            "unknown": [asdict(u) for u in self.unknown],
            "unaffected": list(self.unaffected),
            "consumers": [asdict(c) for c in self.consumers],
            "consumers_not_read": (
                list(self.consumers_not_read) if self.consumers_not_read is not None else None
            ),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per derived column, usage or unknown view, with an ``effect`` column."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        rows += [
            {"effect": "derived", "view": d.view, "column": d.column, "detail": ", ".join(d.sources)}
            for d in self.derived
        ]
        rows += [
            {"effect": "used", "view": u.view, "column": u.column, "detail": u.clause} for u in self.usages
        ]
        rows += [
            {"effect": "unknown", "view": u.view, "column": None, "detail": u.reason} for u in self.unknown
        ]
        rows += [
            {"effect": f"{c.kind} {c.verdict}", "view": c.name, "column": None, "detail": c.detail}
            for c in self.consumers
        ]
        return pd.DataFrame(rows, columns=["effect", "view", "column", "detail"])


def parse_hogql(sql: str) -> exp.Expr:
    """HogQL to a sqlglot tree via :mod:`lineage.hogql`; HogQLError when it does not parse."""
    tree: exp.Expr = to_sqlglot(sql)
    return tree


def _norm(name: str) -> str:
    return name.casefold().replace("`", "")


def _table_name(table: exp.Table) -> str:
    return ".".join(part.name for part in table.parts)


def _unwrap(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Subquery):
        node = node.this
    return node


class _ViewWalk:
    """Walks one view's scopes and records tainted outputs and clause usages."""

    def __init__(self, parents: Mapping[str, Taint]) -> None:
        self.parents = {_norm(k): v for k, v in parents.items()}
        self.parents_seen: set[str] = set()
        self.by_expr: dict[int, Scope] = {}
        self.taint: dict[int, Taint] = {}
        self.outputs: dict[int, list[str]] = {}
        self.usages: set[tuple[str, str]] = set()

    def source_taint(self, source: Any) -> Taint:
        if isinstance(source, Scope):
            return self.taint.get(id(source), {})
        if isinstance(source, exp.Table):
            name = _norm(_table_name(source))
            for key in (name, name.replace(".", "_")):
                if key in self.parents:
                    self.parents_seen.add(key)
                    return self.parents[key]
        return {}

    def resolve(self, scope: Scope, column: exp.Column, aliases: Taint) -> frozenset[str]:
        parts = [p.name for p in column.parts]
        sources = scope.selected_sources
        if len(parts) >= 2 and parts[0] in sources:
            return self.source_taint(sources[parts[0]][1]).get(parts[1], frozenset())
        name = parts[0]  # unqualified, or a field chain such as properties.$browser
        if name in aliases:
            return aliases[name]
        found: frozenset[str] = frozenset()
        for _alias, (_node, source) in sorted(sources.items()):
            found |= self.source_taint(source).get(name, frozenset())
        return found

    def walk_select(self, scope: Scope, select: exp.Select) -> None:
        aliases: Taint = {}
        out: Taint = {}
        names: list[str] = []
        projections = list(select.selects)
        # Two passes: ClickHouse lets a projection read an alias defined later in the same SELECT.
        for _ in range(2):
            for proj in projections:
                star = (
                    proj
                    if isinstance(proj, exp.Star)
                    else proj.this
                    if isinstance(proj, exp.Column)
                    else None
                )
                if isinstance(star, exp.Star):
                    qual = proj.table if isinstance(proj, exp.Column) else ""
                    for alias, (_node, source) in sorted(scope.selected_sources.items()):
                        if not qual or alias == qual:
                            for col, origin in self.source_taint(source).items():
                                out[col] = out.get(col, frozenset()) | origin
                    continue
                name = proj.alias_or_name or proj.sql()
                inner = proj.this if isinstance(proj, exp.Alias) else proj
                found: frozenset[str] = frozenset()
                for ref in inner.find_all(exp.Column):
                    if ref.parts and ref.parts[0].name == name and isinstance(inner, exp.Column):
                        # ``x AS x`` reads the source column, not itself
                        found |= self.resolve(scope, ref, {})
                    else:
                        found |= self.resolve(scope, ref, aliases)
                if found:
                    aliases[name] = found
                    out[name] = out.get(name, frozenset()) | found
        names = [p.alias_or_name or p.sql() for p in projections]
        for used in scope.columns:
            clause = self._clause_of(used, select)
            if clause is not None:
                for label in self.resolve(scope, used, aliases):
                    self.usages.add((clause, label))
        for join in select.args.get("joins") or []:
            for ident in join.args.get("using") or []:
                for _alias, (_node, source) in sorted(scope.selected_sources.items()):
                    for label in self.source_taint(source).get(ident.name, frozenset()):
                        self.usages.add(("JOIN", label))
        self.taint[id(scope)] = out
        self.outputs[id(scope)] = names

    @staticmethod
    def _clause_of(column: exp.Expr, select: exp.Select) -> str | None:
        node: exp.Expr | None = column
        while node is not None and node.parent is not select:
            node = node.parent
        return _CLAUSES.get(str(node.arg_key)) if node is not None else None

    def walk_setop(self, scope: Scope, setop: exp.SetOperation) -> None:
        branches = [self.by_expr.get(id(_unwrap(b))) for b in (setop.left, setop.right)]
        names = self.outputs.get(id(branches[0]), []) if branches[0] is not None else []
        out: Taint = {}
        for branch in branches:
            if branch is None:
                continue
            btaint = self.taint.get(id(branch), {})
            bnames = self.outputs.get(id(branch), [])
            for i, bname in enumerate(bnames):
                if bname in btaint:
                    target = names[i] if i < len(names) else bname
                    out[target] = out.get(target, frozenset()) | btaint[bname]
            for col, origin in btaint.items():  # star branches: no positions, keep names
                if col not in bnames:
                    out[col] = out.get(col, frozenset()) | origin
        self.taint[id(scope)] = out
        self.outputs[id(scope)] = names

    def run(self, tree: exp.Expr) -> tuple[Taint, set[tuple[str, str]]]:
        root: Scope | None = None
        for scope in traverse_scope(tree):
            self.by_expr[id(scope.expression)] = scope
            if isinstance(scope.expression, exp.Select):
                self.walk_select(scope, scope.expression)
            elif isinstance(scope.expression, exp.SetOperation):
                self.walk_setop(scope, scope.expression)
            root = scope
        return (self.taint.get(id(root), {}) if root is not None else {}), self.usages


def analyse_view(sql: str, parents: Mapping[str, Taint]) -> tuple[Taint, set[tuple[str, str]], set[str]]:
    """Tainted outputs, (clause, origin) usages and parent names referenced, for one view's HogQL.

    ``parents`` maps an upstream name (as the SQL writes it) to its tainted columns and their origins.
    """
    tree = parse_hogql(sql)
    walker = _ViewWalk(parents)
    try:
        taint, usages = walker.run(tree)
    except sqlglot.errors.SqlglotError as exc:
        raise HogQLError(f"HogQL cannot be analysed: {exc}") from None
    return taint, usages, walker.parents_seen


def _declared_columns(attrs: Mapping[str, Any]) -> list[str] | None:
    cols = attrs.get("columns")
    if not isinstance(cols, list | tuple | Mapping):
        return None
    names: list[str] = []
    for item in cols:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and item.get("name") is not None:
            names.append(str(item["name"]))
        elif isinstance(item, list | tuple) and item:
            names.append(str(item[0]))
    return names or None


def column_impact(graph: Any, view: str, column: str) -> ColumnImpact:
    """Follow ``view.column`` downstream through views, CTEs, subqueries and aliases."""
    g = as_digraph(graph)
    target = resolve_node(graph, view)
    target_name = node_name(g, target)
    declared = _declared_columns(g.nodes[target])
    if declared is not None and column not in declared:
        raise InputError(
            f"{target_name!r} has no column {column!r}; its columns are: {', '.join(sorted(declared)[:20])}"
        )
    walk = live(g)  # deleted consumers read nothing
    down = nx.descendants(walk, target) if target in walk else nx.descendants(g, target)
    sub = g.subgraph(down | {target})
    try:
        order = list(nx.lexicographical_topological_sort(sub, key=lambda n: (node_name(g, n), str(n))))
    except nx.NetworkXUnfeasible:
        raise InputError(
            f"the lineage below {target_name!r} has a cycle; run `lineage check` to find it"
        ) from None
    depth = nx.single_source_shortest_path_length(sub, target)
    taint: dict[Any, Taint] = {target: {column: frozenset({f"{target_name}.{column}"})}}
    unknown: dict[Any, str] = {}
    derived: list[DerivedColumn] = []
    usages: set[ColumnUsage] = set()
    unaffected: list[str] = []
    consumers: dict[Any, ConsumerColumnUse] = {}
    for n in order:
        if n == target:
            continue
        name = node_name(g, n)
        if is_consumer(g.nodes[n]):
            verdict = _consumer_verdict(g, sub, n, taint, unknown, consumers)
            if verdict is None:
                unaffected.append(name)
            else:
                consumers[n] = verdict
            continue
        preds = sorted(sub.predecessors(n), key=lambda p: (node_name(g, p), str(p)))
        unknown_parents = [node_name(g, p) for p in preds if p in unknown]
        tainted_parents = {p: taint[p] for p in preds if taint.get(p)}
        if not tainted_parents and not unknown_parents:
            unaffected.append(name)
            continue
        sql = g.nodes[n].get("sql")
        if not isinstance(sql, str) or not sql.strip():
            unknown[n] = "no SQL in the snapshot"
            continue
        parents = {
            node_name(g, p): {c: frozenset({f"{node_name(g, p)}.{c}"}) for c in t}
            for p, t in tainted_parents.items()
        }
        # A sourced warehouse table is named in SQL by its hogql_name (``stripe.eu.charge``).
        aliases = {
            str(g.nodes[p]["hogql_name"]): node_name(g, p)
            for p in tainted_parents
            if isinstance(g.nodes[p].get("hogql_name"), str)
        }
        lookup = {**parents, **{alias: parents[name] for alias, name in aliases.items()}}
        try:
            out, used, seen = analyse_view(sql, lookup)
        except HogQLError as exc:
            unknown[n] = f"SQL does not parse: {exc}"
            continue
        seen_names = set(seen) | {_norm(name) for alias, name in aliases.items() if _norm(alias) in seen}
        missing = sorted(
            p for p in parents if _norm(p) not in seen_names and _norm(p).replace(".", "_") not in seen_names
        )
        if unknown_parents:
            unknown[n] = f"reads {', '.join(unknown_parents)}, whose impact is unknown"
        elif missing:
            unknown[n] = f"lineage says it reads {', '.join(missing)} but its SQL does not name it"
        taint[n] = out
        for col, origin in sorted(out.items()):
            derived.append(DerivedColumn(str(n), name, col, depth[n], tuple(sorted(origin))))
        for clause, label in used:
            usages.add(ColumnUsage(str(n), name, clause, label))
        if not out and not used and n not in unknown:
            unaffected.append(name)
    return ColumnImpact(
        target_id=str(target),
        target=target_name,
        column=column,
        derived=tuple(sorted(derived, key=lambda d: (d.depth, d.view, d.column, d.view_id))),
        usages=tuple(sorted(usages, key=lambda u: (u.view, u.clause, u.column, u.view_id))),
        unknown=tuple(
            sorted(
                (UnknownImpact(str(n), node_name(g, n), r) for n, r in unknown.items()),
                key=lambda u: (u.view, u.view_id),
            )
        ),
        unaffected=tuple(sorted(unaffected)),
        consumers=tuple(sorted(consumers.values(), key=lambda c: (c.kind, c.name, c.id))),
        consumers_not_read=tuple(not_read) if (not_read := consumers_not_read(g)) is not None else None,
    )


# Insight HogQL may hold placeholders that PostHog fills in when it runs the query (HogQLQueryRunner:
# ``{filters}`` through posthog/hogql/filters.py's replace_filters, ``{variables.name}`` through
# placeholders.py). Views may not hold them, so the view parser refuses them: stand-ins go there.
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][\w.]*)\s*\}")


def _fill_placeholders(sql: str) -> str:
    return _PLACEHOLDER.sub(lambda m: "true" if m.group(1) == "filters" else "NULL", sql)


def _consumer_verdict(
    g: nx.DiGraph,
    sub: nx.DiGraph,
    n: Any,
    taint: Mapping[Any, Taint],
    unknown: Mapping[Any, str],
    consumers: Mapping[Any, ConsumerColumnUse],
) -> ConsumerColumnUse | None:
    """Does consumer ``n`` read the column? None when it does not.

    A consumer reading tainted views is judged by its HogQL texts (node attribute ``hogql``): it
    uses the column when a text selects, derives or filters on it. Without HogQL (or when the
    HogQL does not name the view lineage says it reads) the verdict is ``unknown``, never safe.
    A consumer of consumers (a dashboard, an alert, a notebook embedding an insight) follows the
    insights it shows.
    """
    attrs = g.nodes[n]
    kind = str(attrs.get("kind"))
    name = node_name(g, n)
    preds = sorted(sub.predecessors(n), key=lambda p: (node_name(g, p), str(p)))
    via_uses = [node_name(g, p) for p in preds if p in consumers and consumers[p].verdict == "uses"]
    via_unknown = [node_name(g, p) for p in preds if p in consumers and consumers[p].verdict == "unknown"]
    unknown_views = [node_name(g, p) for p in preds if p in unknown]
    tainted = {p: taint[p] for p in preds if not is_consumer(g.nodes[p]) and taint.get(p)}
    uses: list[str] = []
    doubts: list[str] = []
    if tainted:
        texts = hogql_texts(attrs)
        if texts is None:
            doubts.append("its HogQL is not in the snapshot")
        else:
            parents = {
                node_name(g, p): {c: frozenset({f"{node_name(g, p)}.{c}"}) for c in t}
                for p, t in tainted.items()
            }
            seen_any: set[str] = set()
            labels: set[str] = set()
            for text in texts:
                try:
                    out, used, seen = analyse_view(_fill_placeholders(text), parents)
                except HogQLError as exc:
                    doubts.append(f"HogQL does not parse: {exc}")
                    continue
                seen_any |= seen
                labels |= {label for origin in out.values() for label in origin}
                labels |= {label for _clause, label in used}
            missing = sorted(
                p for p in parents if _norm(p) not in seen_any and _norm(p).replace(".", "_") not in seen_any
            )
            if labels:
                uses.append("its HogQL reads " + ", ".join(sorted(labels)))
            elif missing and not doubts:
                doubts.append(f"lineage says it reads {', '.join(missing)} but its HogQL does not name it")
    if via_uses:
        uses.append("via " + ", ".join(via_uses))
    if unknown_views:
        doubts.append(f"reads {', '.join(unknown_views)}, whose impact is unknown")
    if via_unknown:
        doubts.append(f"via {', '.join(via_unknown)}, whose impact is unknown")
    if uses:
        return ConsumerColumnUse(str(n), name, kind, "uses", "; ".join(uses))
    if doubts:
        return ConsumerColumnUse(str(n), name, kind, "unknown", "; ".join(doubts))
    return None
