"""Health and consistency findings over a snapshot (``lineage check``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import networkx as nx

from lineage.analysis.health import (
    NodeHealth,
    as_digraph,
    cadence_seconds,
    graph_health,
    node_name,
    reference_time,
)
from lineage.errors import HogQLError, InputError
from lineage.hogql import extract_tables as hogql_extract_tables
from lineage.posthog import cadence_words

if TYPE_CHECKING:
    import pandas as pd

#: Every rule, with the severity its findings carry, in report order.
RULES: dict[str, str] = {
    "cycle": "error",
    "failing": "error",
    "stale": "warning",
    "downstream-of-broken": "warning",
    "cadence-inversion": "warning",
    "sql-mismatch": "warning",
    "ghost": "warning",
    "unused-matview": "info",
}
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
_RULE_RANK = {rule: i for i, rule in enumerate(RULES)}
_LIST_LIMIT = 5


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, how bad, where, and what to do about it."""

    rule: str
    severity: str
    node_id: str
    node: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        # Scalar fields are returned as they are; asdict's deep copy of each one cost more than the
        # whole rest of `check --format json` at 20,000 views. A field of another type goes through asdict.
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if all(v is None or isinstance(v, str | int | float) for v in values.values()):
            return values
        return asdict(self)


@dataclass(frozen=True)
class CheckReport:
    """All findings, sorted by severity, rule, node name, node id, message."""

    findings: tuple[Finding, ...]
    now: str
    nodes: int
    edges: int

    def counts(self) -> dict[str, int]:
        """Findings per rule (every rule listed, zero included)."""
        out = dict.fromkeys(RULES, 0)
        for f in self.findings:
            out[f.rule] += 1
        return out

    def matching(self, rules: Iterable[str]) -> tuple[Finding, ...]:
        """The findings of the given rules."""
        wanted = set(rules)
        return tuple(f for f in self.findings if f.rule in wanted)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``lineage check --format json``."""
        return {
            "now": self.now,
            "nodes": self.nodes,
            "edges": self.edges,
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per finding."""
        import pandas as pd

        return pd.DataFrame([f.to_dict() for f in self.findings], columns=list(Finding.__dataclass_fields__))


def parse_rules(text: str) -> frozenset[str]:
    """``--fail-on``: a comma list of rule ids, or ``any``; an unknown id is an InputError."""
    items = {part.strip() for part in text.split(",") if part.strip()}
    if not items:
        raise InputError(f"--fail-on {text!r} names no rule; use `any` or some of: {', '.join(RULES)}")
    if "any" in items:
        return frozenset(RULES)
    unknown = sorted(items - set(RULES))
    if unknown:
        raise InputError(
            f"--fail-on names unknown rule(s) {', '.join(map(repr, unknown))}; known: any, {', '.join(RULES)}"
        )
    return frozenset(items)


def _names(g: nx.DiGraph, nodes: Iterable[Any], cache: dict[Any, str] | None = None) -> str:
    names = sorted(cache[n] if cache is not None else node_name(g, n) for n in nodes)
    more = f" and {len(names) - _LIST_LIMIT} more" if len(names) > _LIST_LIMIT else ""
    return ", ".join(names[:_LIST_LIMIT]) + more


def _is_materialized(attrs: dict[str, Any]) -> bool:
    return bool(attrs.get("is_materialized")) or attrs.get("kind") == "matview"


def _is_ghost(attrs: dict[str, Any]) -> bool:
    return bool(attrs.get("ghost")) or str(attrs.get("name", "")).startswith("POSTHOG_DELETED_")


class _Checker:
    def __init__(self, g: nx.DiGraph, health: dict[Any, NodeHealth]) -> None:
        self.g = g
        self.health = health
        self.findings: list[Finding] = []
        self.name = {n: node_name(g, n) for n in g.nodes}
        self._through_cache: dict[Any, frozenset[Any]] = {}
        self._is_dag: bool | None = None

    def is_dag(self) -> bool:
        """Whether the graph has no cycle (computed once: two rules ask)."""
        if self._is_dag is None:
            self._is_dag = nx.is_directed_acyclic_graph(self.g)
        return self._is_dag

    def add(self, rule: str, node: Any, message: str) -> None:
        self.findings.append(Finding(rule, RULES[rule], str(node), self.name[node], message))

    def health_rules(self) -> None:
        for n, h in self.health.items():
            if h.failing:
                error = self.g.nodes[n].get("latest_error")
                detail = f": {error}" if error else ""
                self.add(
                    "failing",
                    n,
                    f"{h.failure_streak} failed run(s) in a row{detail}; fix the query and rerun it",
                )
            if h.stale:
                freq = self.g.nodes[n].get("sync_frequency")
                seen = f"last success {h.last_success_at}" if h.last_success_at else "never succeeded"
                self.add(
                    "stale", n, f"{seen}, but it is scheduled every {cadence_words(freq)}; check its runs"
                )

    def downstream_of_broken(self) -> None:
        broken = {n for n, h in self.health.items() if h.failing or h.stale}
        if not broken:
            return
        # nearest: broken ancestors reached without passing another broken node (what the message names);
        # total: every broken ancestor (counted). One pass in topological order when the graph is a DAG.
        if self.is_dag():
            self._downstream_of_broken_dag(broken)
            return
        total: dict[Any, set[Any]] = {}
        for b in broken:
            for d in nx.descendants(self.g, b):
                total.setdefault(d, set()).add(b)
        nearest = total
        for n, sources in total.items():
            named = _names(self.g, nearest[n] or sources, self.name)
            more = len(sources) - len(nearest[n])
            extra = f" ({more} more further up)" if nearest[n] and more > 0 else ""
            self.add(
                "downstream-of-broken",
                n,
                f"reads from broken upstream {named}{extra}; its data may be wrong or old",
            )

    def _downstream_of_broken_dag(self, broken: set[Any]) -> None:
        """downstream_of_broken on a DAG, with sets of broken nodes as bitmasks (ints).

        Bit i stands for the i-th broken node in (name, id) order, so a set's lowest bits are its
        first names; a union is one big-integer OR instead of a Python set union, which at 20,000
        views made this rule quadratic in practice (every node carried every broken ancestor).
        Findings and messages are those of the set-based pass.
        """
        order = sorted(broken, key=lambda b: (self.name[b], str(b)))
        bit = {b: 1 << i for i, b in enumerate(order)}
        nearest: dict[Any, int] = {}
        total: dict[Any, int] = {}
        pred = self.g.pred
        for n in nx.topological_sort(self.g):
            near = acc = 0
            for p in pred[n]:
                own = bit.get(p)
                if own is not None:
                    near |= own
                    acc |= own
                else:
                    near |= nearest.get(p, 0)
                acc |= total.get(p, 0)
            if acc:
                nearest[n], total[n] = near, acc
        for n, sources in total.items():
            near = nearest[n]
            shown = near or sources
            first: list[str] = []
            rest = shown
            while rest and len(first) < _LIST_LIMIT:
                low = rest & -rest
                first.append(self.name[order[low.bit_length() - 1]])
                rest ^= low
            count = shown.bit_count()
            named = ", ".join(first) + (f" and {count - _LIST_LIMIT} more" if count > _LIST_LIMIT else "")
            more = sources.bit_count() - near.bit_count()
            extra = f" ({more} more further up)" if near and more > 0 else ""
            self.add(
                "downstream-of-broken",
                n,
                f"reads from broken upstream {named}{extra}; its data may be wrong or old",
            )

    def _materialized_inputs(self, n: Any) -> set[Any]:
        """Nearest materialized ancestors, looking through plain views (computed live on read)."""
        found: set[Any] = set()
        for p in self.g.predecessors(n):
            found |= self._through(p)
        return found

    def _through(self, start: Any) -> frozenset[Any]:
        """Materialized nodes feeding ``start`` (itself if materialized); memoised and iterative."""
        cache = self._through_cache
        visiting: set[Any] = set()
        stack: list[tuple[Any, bool]] = [(start, False)]
        while stack:
            p, done = stack.pop()
            if p in cache:
                continue
            attrs = self.g.nodes[p]
            if _is_materialized(attrs):
                cache[p] = frozenset({p})
            elif attrs.get("kind") != "view":
                cache[p] = frozenset()
            elif done:
                acc: set[Any] = set()
                for q in self.g.predecessors(p):
                    acc |= cache.get(q, frozenset())
                cache[p] = frozenset(acc)
            elif p not in visiting:  # a cycle revisits a node in progress: leave it to its first visit
                visiting.add(p)
                stack.append((p, True))
                stack.extend((q, False) for q in self.g.predecessors(p) if q not in cache)
        return cache[start]

    def cadence_inversion(self) -> None:
        cadence = {n: cadence_seconds(a.get("sync_frequency")) for n, a in self.g.nodes(data=True)}
        for n, attrs in self.g.nodes(data=True):
            mine = cadence[n]
            if mine is None or not _is_materialized(attrs):
                continue
            slower = []
            for p in self._materialized_inputs(n):
                theirs = cadence[p]
                if theirs is not None and theirs > mine:
                    slower.append(p)
            if slower:
                detail = ", ".join(
                    f"{node_name(self.g, p)} ({self.g.nodes[p].get('sync_frequency')})"
                    for p in sorted(slower, key=lambda p: node_name(self.g, p))
                )
                self.add(
                    "cadence-inversion",
                    n,
                    f"refreshes every {attrs.get('sync_frequency')} but reads {detail}, refreshed less often;"
                    " slow it down or speed them up",
                )

    def unused_matviews(self) -> None:
        for n, attrs in self.g.nodes(data=True):
            if _is_materialized(attrs) and self.g.out_degree(n) == 0 and not attrs.get("downstream_count"):
                self.add(
                    "unused-matview",
                    n,
                    "materialized but nothing reads it; consider reverting materialization",
                )

    def ghosts(self) -> None:
        for n, attrs in self.g.nodes(data=True):
            if _is_ghost(attrs):
                readers = list(self.g.successors(n))
                who = f"; named by {_names(self.g, readers)}" if readers else ""
                self.add(
                    "ghost", n, f"lineage names a deleted view{who}; re-save the views that still read it"
                )

    def sql_mismatch(self, extract: Callable[[str], list[str]]) -> None:
        index: dict[str, set[Any]] = {}
        for n in self.g.nodes:
            key = node_name(self.g, n).casefold()
            index.setdefault(key, set()).add(n)
            index.setdefault(key.replace(".", "_"), set()).add(n)
        for n, attrs in self.g.nodes(data=True):
            sql = attrs.get("sql")
            if not isinstance(sql, str) or not sql.strip():
                continue
            try:
                tables = extract(sql)
            except HogQLError as exc:
                self.add(
                    "sql-mismatch", n, f"its SQL does not parse ({exc}), so its lineage cannot be verified"
                )
                continue
            parents = set(self.g.predecessors(n))
            read: set[Any] = set()
            missing: list[str] = []
            for t in sorted(set(tables)):
                key = t.replace("`", "").casefold()
                hits = index.get(key) or index.get(key.replace(".", "_")) or set()
                if hits & parents:
                    read |= hits & parents
                else:
                    missing.append(t)
            extra = parents - read
            parts = []
            if missing:
                parts.append(f"SQL reads {', '.join(sorted(missing))} with no lineage edge")
            if extra:
                parts.append(f"lineage has edges from {_names(self.g, extra)} that its SQL does not read")
            if parts:
                self.add(
                    "sql-mismatch", n, "; ".join(parts) + "; recrawl with --edges sql or re-save the view"
                )

    def cycles(self) -> None:
        if self.is_dag():  # no cycle, and no self-loop (a self-loop is a cycle to networkx too)
            return
        for comp in nx.strongly_connected_components(self.g):
            if len(comp) > 1 or any(self.g.has_edge(n, n) for n in comp):
                first = min(comp, key=lambda n: (node_name(self.g, n), str(n)))
                self.add(
                    "cycle", first, f"lineage cycle through {_names(self.g, comp)}; a view cannot read itself"
                )


def check(
    graph: Any,
    *,
    now: datetime | str | None = None,
    rules: Iterable[str] | None = None,
    extract_tables: Callable[[str], list[str]] | None = None,
) -> CheckReport:
    """Run every rule (or just ``rules``) and return the sorted findings.

    ``now`` defaults to the snapshot's ``crawled_at``; ``extract_tables`` to lineage.hogql's.
    """
    g = as_digraph(graph)
    ref = reference_time(graph, now)
    wanted = set(RULES) if rules is None else set(rules)
    unknown = wanted - set(RULES)
    if unknown:
        raise InputError(f"unknown rule(s) {', '.join(sorted(unknown))}; known: {', '.join(RULES)}")
    checker = _Checker(g, graph_health(graph, now=ref))
    if wanted & {"failing", "stale"}:
        checker.health_rules()
    if "downstream-of-broken" in wanted:
        checker.downstream_of_broken()
    if "cadence-inversion" in wanted:
        checker.cadence_inversion()
    if "unused-matview" in wanted:
        checker.unused_matviews()
    if "ghost" in wanted:
        checker.ghosts()
    if "sql-mismatch" in wanted:
        checker.sql_mismatch(extract_tables or hogql_extract_tables)
    if "cycle" in wanted:
        checker.cycles()
    findings = sorted(
        (f for f in checker.findings if f.rule in wanted),
        key=lambda f: (_SEVERITY_RANK[f.severity], _RULE_RANK[f.rule], f.node, f.node_id, f.message),
    )
    return CheckReport(
        findings=tuple(findings),
        now=ref.isoformat().replace("+00:00", "Z"),
        nodes=g.number_of_nodes(),
        edges=g.number_of_edges(),
    )
