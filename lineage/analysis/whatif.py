"""What-if impact: what a proposed change to a view's HogQL does to the view and to everything below it.

:func:`whatif` compares a view's current HogQL with a proposed one:

* its output columns: removed, added, renamed (same expression under a new alias) and changed (another
  expression, another type where one can be told, or other rows because FROM/WHERE/GROUP BY changed),
  read and compared by :mod:`lineage.analysis.outputs`;
* the tables it reads: edges that will appear or vanish;
* for every node downstream a verdict, with the columns that decide it:

  - ``breaks``: it uses a removed column, or depends on a node that breaks;
  - ``changes``: it uses a changed column, or passes a changed or removed column through with ``*``;
  - ``unknown``: it could not be read (no SQL, SQL that does not parse, a consumer whose query is not in
    the snapshot) while something it reads changes -- never called safe;
  - ``unaffected``: it reads none of what changes.

Downstream views are walked scope by scope with the same machinery as ``lineage impact --column``
(:mod:`lineage.analysis.columns`), so CTEs, subqueries, aliases and set operations are followed.
Consumers (insights, notebooks, endpoints) are read from their ``hogql`` attribute (a list of HogQL
strings) when the snapshot has it; dashboards and alerts take the worst verdict of the insights they show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from lineage.analysis.columns import Taint, _ViewWalk
from lineage.analysis.health import node_name
from lineage.analysis.impact import ImpactReport, impact
from lineage.analysis.outputs import ColumnChanges, OutputColumn, diff_columns, output_columns
from lineage.errors import HogQLError, InputError, param
from lineage.graph import as_digraph
from lineage.hogql import extract_tables, to_sqlglot
from lineage.posthog import POSTHOG_TABLES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "VERDICTS",
    "ColumnChanges",
    "OutputColumn",
    "Verdict",
    "WhatIfReport",
    "diff_columns",
    "name_clash_warnings",
    "output_columns",
    "whatif",
]

#: Verdicts from worst to best; a node that depends on several parents takes the worst.
VERDICTS = ("breaks", "unknown", "changes", "unaffected")
_RANK = {v: i for i, v in enumerate(VERDICTS)}
_VIEW_KINDS = frozenset({"view", "matview"})
_QUERY_CONSUMERS = frozenset({"insight", "notebook", "endpoint"})
_INHERITING_CONSUMERS = frozenset({"dashboard", "alert"})


@dataclass(frozen=True)
class Verdict:
    """What a change does to one downstream node, and which columns ("view.column") decide it."""

    verdict: str
    columns: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class WhatIfReport:
    """Result of :func:`whatif`. ``impact`` is None for a view that does not exist yet."""

    target: str
    target_id: str | None
    columns: ColumnChanges
    tables_added: tuple[str, ...]
    tables_removed: tuple[str, ...]
    verdicts: Mapping[str, Verdict]
    impact: ImpactReport | None
    warnings: tuple[str, ...] = ()
    new_sql: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def breaks(self) -> tuple[str, ...]:
        """Names of the downstream nodes that break, sorted."""
        return tuple(sorted(self.name_of(n) for n, v in self.verdicts.items() if v.verdict == "breaks"))

    def name_of(self, node_id: str) -> str:
        if self.impact is not None:
            for n in self.impact.affected:
                if n.id == node_id:
                    return n.name
        return node_id

    def to_frame(self) -> pd.DataFrame:
        """One row per downstream node: id, name, kind, depth, verdict, columns, reason."""
        import pandas as pd

        cols = ["id", "name", "kind", "depth", "verdict", "columns", "reason"]
        rows = []
        for n in self.impact.affected if self.impact is not None else ():
            v = self.verdicts.get(n.id, Verdict("unaffected"))
            rows.append([n.id, n.name, n.kind, n.depth, v.verdict, ", ".join(v.columns), v.reason])
        return pd.DataFrame(rows, columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``lineage impact VIEW --sql NEW.sql``: the impact object plus the what-if fields."""
        if self.impact is not None:
            out = self.impact.to_dict()
        else:
            out = {
                "target": {
                    "id": None,
                    "name": self.target,
                    "kind": "view",
                    "depth": 0,
                    "path": [self.target],
                },
                "affected": [],
                "summary": {"affected": 0},
                "max_depth": None,
                "snapshot": {},
            }
        for entry in out["affected"]:
            v = self.verdicts.get(entry["id"], Verdict("unaffected"))
            entry["verdict"] = v.verdict
            entry["verdict_columns"] = list(v.columns)
            entry["verdict_reason"] = v.reason
        out["new_view"] = self.impact is None
        out["columns"] = self.columns.to_dict()
        out["tables"] = {"added": list(self.tables_added), "removed": list(self.tables_removed)}
        out["verdicts"] = {k: self.counts.get(k, 0) for k in VERDICTS}
        out["warnings"] = list(self.warnings)
        return out


# ----------------------------------------------------------------------------------- downstream


class _RefWalk(_ViewWalk):
    """A view walk that also records every explicit reference to a tracked column, in any clause."""

    def __init__(self, parents: Mapping[str, Taint]) -> None:
        super().__init__(parents)
        self.refs: set[str] = set()

    def walk_select(self, scope: Scope, select: exp.Select) -> None:
        super().walk_select(scope, select)
        aliases = {
            p.alias: p
            for p in select.selects
            if isinstance(p, exp.Alias) and not (isinstance(p.this, exp.Column) and p.this.name == p.alias)
        }
        for used in scope.columns:
            parts = [p.name for p in used.parts]
            owner = aliases.get(parts[0]) if len(parts) == 1 else None
            if owner is not None and not _inside(used, owner):
                continue  # `ORDER BY mrr` naming this SELECT's own alias; `sum(mrr) AS mrr` reads the source
            self.refs |= self.resolve(scope, used, {})
        for join in select.args.get("joins") or []:
            for ident in join.args.get("using") or []:
                for _alias, (_node, source) in sorted(scope.selected_sources.items()):
                    self.refs |= self.source_taint(source).get(ident.name, frozenset())


def _inside(node: exp.Expr, ancestor: exp.Expr) -> bool:
    cur: exp.Expr | None = node
    while cur is not None:
        if cur is ancestor:
            return True
        cur = cur.parent
    return False


@dataclass
class _Effect:
    """What one node passes to its readers: columns gone from its output and columns whose values change."""

    removed: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    added: set[str] = field(default_factory=set)  # new columns a `*` reader passes on
    all_rows_change: bool = False  # a changed column filters, joins or groups: every column changes
    opaque: bool = False  # an unreadable node: what it passes on is unknown


def _worst(verdicts: Sequence[Verdict]) -> Verdict:
    if not verdicts:
        return Verdict("unaffected")
    worst = min(verdicts, key=lambda v: _RANK[v.verdict])
    cols = sorted({c for v in verdicts if v.verdict == worst.verdict for c in v.columns})
    reasons = [v.reason for v in verdicts if v.verdict == worst.verdict and v.reason]
    return Verdict(worst.verdict, tuple(cols), reasons[0] if reasons else "")


def _analyse_query(
    sql: str, parents: Mapping[str, _Effect], parent_names: Mapping[str, str]
) -> tuple[Verdict, _Effect]:
    """Verdict and effect of one query reading ``parents`` (by node id) that carry effects."""
    taint: dict[str, Taint] = {}
    kinds: dict[str, str] = {}
    for pid, eff in parents.items():
        pname = parent_names[pid]
        cols: Taint = {}
        for c in eff.removed:
            label = f"{pname}.{c}"
            cols[c] = frozenset({label})
            kinds[label] = "removed"
        for c in eff.changed - eff.removed:
            label = f"{pname}.{c}"
            cols[c] = frozenset({label})
            kinds[label] = "changed"
        for c in eff.added - eff.removed - eff.changed:
            label = f"{pname}.{c}"
            cols[c] = frozenset({label})  # only a `*` can pick it up: no reader names it yet
            kinds[label] = "added"
        taint[pname] = cols
    try:
        tree = to_sqlglot(sql)
        walker = _RefWalk(taint)
        out, _usages = walker.run(tree)
    except HogQLError as exc:
        reason = exc.context.get("reason", exc)
        return Verdict("unknown", (), f"its SQL cannot be read: {reason}"), _Effect(opaque=True)
    except Exception as exc:  # sqlglot's scope walk on an odd tree
        return Verdict("unknown", (), f"its SQL cannot be analysed: {type(exc).__name__}"), _Effect(
            opaque=True
        )
    refs = walker.refs
    removed_refs = sorted(r for r in refs if kinds.get(r) == "removed")
    if removed_refs:
        return (
            Verdict("breaks", tuple(removed_refs), f"uses removed column(s) {', '.join(removed_refs)}"),
            _Effect(),
        )
    eff = _Effect()
    changed_cols: set[str] = set()
    for col, origin in out.items():
        if any(kinds.get(o) == "removed" for o in origin):
            eff.removed.add(col)  # passed through by `*`: gone from this view's output too
        if any(kinds.get(o) == "changed" for o in origin):
            eff.changed.add(col)
        if any(kinds.get(o) == "added" for o in origin):
            eff.added.add(col)
    changed_cols = {r for r in refs if kinds.get(r) == "changed"}
    for origin in out.values():
        changed_cols |= {o for o in origin if kinds.get(o) in ("changed", "removed", "added")}
    if changed_cols:
        # A changed column used to filter, join or group changes every row this query returns.
        used_in_clauses = {label for _clause, label in walker.usages if kinds.get(label) == "changed"}
        if used_in_clauses:
            eff.all_rows_change = True
        deciding = tuple(sorted(changed_cols))
        return Verdict("changes", deciding, f"reads changed column(s) {', '.join(deciding)}"), eff
    return Verdict("unaffected", (), "reads none of the changed columns"), eff


def _hogql_of(attrs: Mapping[str, Any]) -> list[str] | None:
    value = attrs.get("hogql")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _downstream_verdicts(
    g: nx.DiGraph, target: Any, effect: _Effect, columns_of: Mapping[str, Sequence[str]]
) -> dict[str, Verdict]:
    down = nx.descendants(g, target)
    sub = g.subgraph(down | {target})
    try:
        order = list(nx.lexicographical_topological_sort(sub, key=lambda n: (node_name(g, n), str(n))))
    except nx.NetworkXUnfeasible:
        raise InputError(
            f"the lineage below {node_name(g, target)!r} has a cycle; run `lineage check` to find it"
        ) from None
    effects: dict[Any, _Effect] = {target: effect}
    verdicts: dict[Any, Verdict] = {}
    names = {n: node_name(g, n) for n in sub}
    for n in order:
        if n == target:
            continue
        attrs = g.nodes[n]
        kind = str(attrs.get("kind") or "unknown")
        preds = sorted(sub.predecessors(n), key=lambda p: (names[p], str(p)))
        live = {p: effects[p] for p in preds if p in effects and _matters(effects[p])}
        broken = [p for p in preds if verdicts.get(p, Verdict("unaffected")).verdict == "breaks"]
        if not live and not broken:
            verdicts[n] = Verdict("unaffected", (), "reads nothing that changes")
            continue
        if kind in _INHERITING_CONSUMERS or (
            kind == "notebook"
            and _hogql_of(attrs) is None
            and all(g.nodes[p].get("kind") == "insight" for p in preds)
        ):
            parent_v = [verdicts[p] for p in preds if p in verdicts]
            inherited = _worst(parent_v)
            via = ", ".join(
                names[p] for p in preds if p in verdicts and verdicts[p].verdict == inherited.verdict
            )
            verdicts[n] = Verdict(inherited.verdict, inherited.columns, f"shows {via}" if via else "")
            effects[n] = _Effect(opaque=inherited.verdict in ("unknown", "changes"))
            continue
        if broken:
            # It fails when what it reads fails: no need to read its own SQL.
            verdicts[n] = Verdict(
                "breaks",
                tuple(sorted({c for p in broken for c in verdicts[p].columns})),
                f"depends on {', '.join(names[p] for p in broken)}, which break(s)",
            )
            effects[n] = _Effect()
            continue
        own: list[Verdict] = []
        blind = [p for p, e in live.items() if e.opaque and p not in broken]
        sqls: list[str] | None
        if kind in _VIEW_KINDS:
            sql = attrs.get("sql")
            sqls = [sql] if isinstance(sql, str) and sql.strip() else None
        elif kind in _QUERY_CONSUMERS:
            sqls = _hogql_of(attrs)
        else:
            sqls = None
        rows_changed = [p for p, e in live.items() if e.all_rows_change and p not in broken]
        if sqls is None and rows_changed:
            # Every row of what it reads changes (a new filter, join or grouping upstream): whatever
            # its query selects, what it shows changes, even though the query itself is not known.
            verdicts[n] = Verdict(
                "changes",
                tuple(sorted(f"{names[p]}.{c}" for p in rows_changed for c in live[p].changed)),
                f"reads {', '.join(names[p] for p in rows_changed)}, whose rows all change",
            )
            # A change of rows removes no column: what it passes on changes whole, and breaks nothing.
            effects[n] = _Effect(all_rows_change=True)
            continue
        if sqls is None:
            what = (
                "no SQL in the snapshot"
                if kind in _VIEW_KINDS
                else f"its query ({kind}) is not in the snapshot"
            )
            own.append(Verdict("unknown", (), f"cannot be read: {what}"))
            effects[n] = _Effect(opaque=True)
            verdicts[n] = _worst(own)
            continue
        if blind:
            own.append(
                Verdict("unknown", (), f"reads {', '.join(names[p] for p in blind)}, whose effect is unknown")
            )
        combined = _Effect()
        parent_names = {p: names[p] for p in live}
        for sql in sqls:
            v, eff = _analyse_query(sql, {p: e for p, e in live.items() if p not in blind}, parent_names)
            own.append(v)
            combined.removed |= eff.removed
            combined.changed |= eff.changed
            combined.added |= eff.added
            combined.all_rows_change |= eff.all_rows_change
            combined.opaque |= eff.opaque
        verdict = _worst(own)
        verdicts[n] = verdict
        if verdict.verdict == "unknown":
            combined.opaque = True
        if combined.all_rows_change:
            declared = _output_names(columns_of.get(names[n]), sqls, columns_of)
            if declared is None:
                combined.opaque = True  # every column changes, and which columns it has is unknown
            else:
                combined.changed |= set(declared)
        effects[n] = combined
    return {str(n): v for n, v in verdicts.items()}


def _output_names(
    declared: Sequence[str] | None, sqls: Sequence[str], columns_of: Mapping[str, Sequence[str]]
) -> Sequence[str] | None:
    """A node's column names: from the snapshot, else from its (single) query when that can tell."""
    if declared is not None:
        return declared
    if len(sqls) != 1:
        return None
    try:
        cols, _rows = output_columns(sqls[0], columns_of)
    except HogQLError:
        return None
    return None if cols is None else [c.name for c in cols]


def _matters(e: _Effect) -> bool:
    return bool(e.removed or e.changed or e.added or e.opaque)


# ----------------------------------------------------------------------------------- names


def name_clash_warnings(
    graph: Any, name: str, *, check_remote: Callable[[str], bool | None] | None = None
) -> list[str]:
    """Warnings for a view name that is not in the snapshot yet: a clash with an existing view or table
    (case-insensitively, as PostHog compares saved-query names), a PostHog table, or -- when
    ``check_remote`` is given -- the answer of the seed's ``check-database-name`` endpoint."""
    g = as_digraph(graph)
    out: list[str] = []
    folded = name.casefold()
    for n, attrs in sorted(g.nodes(data=True), key=lambda x: str(x[0])):
        other = str(attrs.get("name") or n)
        if other.casefold() == folded:
            out.append(f"the name {name!r} clashes with the existing {attrs.get('kind', 'node')} {other!r}")
    if not out and folded in {t.casefold() for t in POSTHOG_TABLES}:
        out.append(f"the name {name!r} is one of PostHog's own tables; HogQL would read the view instead")
    if check_remote is not None:
        available = check_remote(name)
        if available is False:
            out.append(f"PostHog's check-database-name says {name!r} is not available")
    return out


# ----------------------------------------------------------------------------------- entry point


def _columns_of(g: nx.DiGraph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n, attrs in g.nodes(data=True):
        cols = attrs.get("columns")
        if isinstance(cols, list | tuple):
            names = [
                c if isinstance(c, str) else str(c.get("name")) for c in cols if isinstance(c, str | dict)
            ]
            out[str(attrs.get("name") or n)] = names
    return out


def whatif(
    graph: Any,
    view: str,
    new_sql: str,
    *,
    check_remote: Callable[[str], bool | None] | None = None,
) -> WhatIfReport:
    """Compare ``view``'s current HogQL with ``new_sql`` and judge everything downstream.

    A ``view`` not in the snapshot is a view about to be created: every column and table is new, and
    the report warns when its name clashes (see :func:`name_clash_warnings`). The proposed SQL must
    parse (InputError otherwise); the current SQL may not, then only column names are compared.
    """
    g = as_digraph(graph)
    parent_columns = _columns_of(g)
    try:
        new_cols, new_rows = output_columns(new_sql, parent_columns)
        new_tables = extract_tables(new_sql)
    except HogQLError as exc:
        raise InputError(f"the proposed SQL does not parse: {exc}") from None
    try:
        from lineage.analysis.health import resolve_node

        target = resolve_node(graph, view)
    except InputError:
        target = None
    if target is not None and g.nodes[target].get("kind") not in _VIEW_KINDS:
        target = None  # a table's name: only a new view could take it (and it clashes)
    if target is None:
        clashes = name_clash_warnings(graph, view, check_remote=check_remote)
        cols = ColumnChanges(added=tuple(sorted(c.name for c in new_cols or [])))
        return WhatIfReport(
            target=view,
            target_id=None,
            columns=cols,
            tables_added=tuple(new_tables),
            tables_removed=(),
            verdicts={},
            impact=None,
            warnings=tuple(clashes),
            new_sql=new_sql,
            counts={},
        )
    attrs = g.nodes[target]
    warnings: list[str] = []
    old_sql = attrs.get("sql") if isinstance(attrs.get("sql"), str) else None
    old_cols: list[OutputColumn] | None = None
    old_rows: str | None = None
    old_tables: list[str] = []
    if old_sql:
        try:
            old_cols, old_rows = output_columns(old_sql, parent_columns)
            old_tables = extract_tables(old_sql)
        except HogQLError as exc:
            warnings.append(
                f"the current SQL of {node_name(g, target)!r} does not parse ({exc}); "
                "columns are compared by name only"
            )
            old_sql = None
    declared = parent_columns.get(node_name(g, target))
    if old_cols is None:
        if declared is None:
            raise InputError(
                f"{node_name(g, target)!r} has neither readable SQL nor a column list in the snapshot; "
                f"recrawl it with {param('edges', 'sql')}"
            )
        old_cols = [OutputColumn(c, None) for c in declared]
        if old_sql is None:
            old_tables = sorted({node_name(g, p) for p in g.predecessors(target)})
    if new_cols is None:
        raise InputError(
            "the proposed SQL selects `*` from something whose columns the snapshot does not know; "
            "name the columns"
        )
    rows_change = old_rows is not None and old_rows != new_rows
    changes = diff_columns(old_cols, new_cols, rows_change=rows_change)
    effect = _Effect(
        removed=set(changes.removed) | {a for a, _ in changes.renamed},
        changed=set(changes.changed),
        added=set(changes.added) | {b for _, b in changes.renamed},
    )
    verdicts = _downstream_verdicts(g, target, effect, parent_columns)
    counts = {k: 0 for k in VERDICTS}
    for v in verdicts.values():
        counts[v.verdict] += 1
    return WhatIfReport(
        target=node_name(g, target),
        target_id=str(target),
        columns=changes,
        tables_added=tuple(sorted(set(new_tables) - set(old_tables))),
        tables_removed=tuple(sorted(set(old_tables) - set(new_tables))),
        verdicts=verdicts,
        impact=impact(graph, view),
        warnings=tuple(warnings),
        new_sql=new_sql,
        counts=counts,
    )
