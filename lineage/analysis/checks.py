"""Health and consistency findings over a snapshot (``lineage check``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import networkx as nx

from lineage.analysis.anomalies import (
    AnomalyLimits,
    completed_same_mode,
    duration_anomaly_of,
    rows_anomaly_of,
)
from lineage.analysis.anomalies import duration_anomaly as duration_anomaly  # re-exported: check's API
from lineage.analysis.anomalies import rows_anomaly as rows_anomaly
from lineage.analysis.choices import parse_choices
from lineage.analysis.health import (
    NodeHealth,
    cadence_seconds,
    graph_health,
    node_name,
    reference_time,
)
from lineage.consumer_nodes import consumers_not_read, is_consumer, live, plural
from lineage.errors import HogQLError, InputError, param
from lineage.graph import as_digraph
from lineage.posthog import cadence_words

if TYPE_CHECKING:
    import pandas as pd

#: Every rule, with the severity its findings carry, in report order.
RULES: dict[str, str] = {
    "cycle": "error",
    "failing": "error",
    "suspended": "error",
    "stale": "warning",
    "downstream-of-broken": "warning",
    "broken-dashboard": "warning",
    "broken-alert": "warning",
    "ghost-insight": "warning",
    "skipped": "warning",
    "cadence-inversion": "warning",
    "sql-mismatch": "warning",
    "ghost": "warning",
    "unused-matview": "info",
    "failure-streak": "error",
    "rows-anomaly": "warning",
    "duration-anomaly": "warning",
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
        # The instance dict holds the fields in order (no slots); copied in C, and plain strings (every
        # finding the checker makes) pass an exact type test: 24,000 findings at 20,000 views.
        values = dict(self.__dict__)
        for v in values.values():
            if type(v) is not str and not (v is None or isinstance(v, str | int | float)):
                return asdict(self)
        return values


@dataclass(frozen=True)
class CheckReport:
    """All findings, sorted by severity, rule, node name, node id, message."""

    findings: tuple[Finding, ...]
    now: str
    nodes: int
    edges: int
    #: consumer kinds the crawl could not read ([]: all read; None: the snapshot did not crawl them)
    consumers_not_read: tuple[str, ...] | None = None

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
            "consumers_not_read": (
                list(self.consumers_not_read) if self.consumers_not_read is not None else None
            ),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per finding."""
        import pandas as pd

        return pd.DataFrame([f.to_dict() for f in self.findings], columns=list(Finding.__dataclass_fields__))


def parse_rules(text: str) -> frozenset[str]:
    """``fail_on``: a comma list of rule ids, or ``any``; an unknown id is an InputError."""
    return parse_choices(text, list(RULES), one="rule", some="rule(s)")


def _names(g: nx.DiGraph, nodes: Iterable[Any], cache: dict[Any, str] | None = None) -> str:
    names = sorted(cache[n] if cache is not None else node_name(g, n) for n in nodes)
    more = f" and {len(names) - _LIST_LIMIT} more" if len(names) > _LIST_LIMIT else ""
    return ", ".join(names[:_LIST_LIMIT]) + more


def _first_of_mask(mask: int, label: Callable[[int], str]) -> str:
    """:func:`_names` of a set kept as a bitmask whose bit order is name order: the labels of its
    lowest :data:`_LIST_LIMIT` bits, then how many more, without taking every bit out."""
    first: list[str] = []
    rest = mask
    while rest and len(first) < _LIST_LIMIT:
        low = rest & -rest
        first.append(label(low.bit_length() - 1))
        rest ^= low
    count = mask.bit_count()
    return ", ".join(first) + (f" and {count - _LIST_LIMIT} more" if count > _LIST_LIMIT else "")


def _is_materialized(attrs: dict[str, Any]) -> bool:
    return bool(attrs.get("is_materialized")) or attrs.get("kind") == "matview"


def _is_ghost(attrs: dict[str, Any]) -> bool:
    return bool(attrs.get("ghost")) or str(attrs.get("name", "")).startswith("POSTHOG_DELETED_")


#: Consumers that get rules of their own instead of "downstream-of-broken".
_OWN_RULE_KINDS = frozenset({"dashboard", "alert"})


class _Checker:
    def __init__(
        self, g: nx.DiGraph, health: dict[Any, NodeHealth], not_read: list[str] | None = None
    ) -> None:
        self.g = g
        self.health = health
        self.not_read = not_read
        self._broken_cache: dict[Any, set[Any]] | None = None
        self.findings: list[Finding] = []
        self.name = {n: node_name(g, n) for n in g.nodes}
        self._through_cache: dict[Any, int] = {}
        self._bit_of: dict[Any, int] = {}  # a materialized node's bit in cadence_inversion's masks

    def is_dag(self) -> bool:
        """Whether the graph has no cycle (computed once: two rules ask)."""
        return self.order is not None

    @functools.cached_property
    def order(self) -> list[Any] | None:
        """The nodes in a topological order, or None when the graph has a cycle (a self-loop is one);
        one pass (Kahn's), computed once: networkx's cycle test and sort were two passes, each
        0.4 s at 100,000 views."""
        pred, succ = self.g.pred, self.g.succ
        waiting = {n: len(pred[n]) for n in pred}
        ready = [n for n, count in waiting.items() if not count]
        order: list[Any] = []
        while ready:
            n = ready.pop()
            order.append(n)
            for s in succ[n]:
                waiting[s] -= 1
                if not waiting[s]:
                    ready.append(s)
        return order if len(order) == len(waiting) else None

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

    def suspension(self) -> None:
        """The newest PostHog suspends a view after repeated failed materializations: its schedule
        and what depends on it stop refreshing until ``resume``."""
        for n, attrs in self.g.nodes(data=True):
            if attrs.get("suspended"):
                below = len(nx.descendants(self.g, n))
                tail = f"; {below} node(s) downstream wait on it" if below else ""
                self.add(
                    "suspended",
                    n,
                    f"PostHog suspended it after repeated failed runs{tail}; fix it, then `lineage resume`",
                )

    def skipped(self) -> None:
        """A DAG run skipped the view (status ``Skipped``) because something upstream failed."""
        for n, attrs in self.g.nodes(data=True):
            jobs = attrs.get("jobs")
            last = jobs.get("last_status") if isinstance(jobs, dict) else None
            if last == "Skipped" or (last is None and attrs.get("status") == "Skipped"):
                self.add(
                    "skipped",
                    n,
                    "its newest run was skipped because something upstream failed; fix that first",
                )

    def downstream_of_broken(self) -> None:
        broken = {n for n, h in self.health.items() if h.failing or h.stale}
        broken |= {n for n, a in self.g.nodes(data=True) if a.get("suspended")}
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
            if self.g.nodes[n].get("kind") in _OWN_RULE_KINDS:
                continue  # broken-dashboard and broken-alert say it in words that fit them
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
        for n in self.order or ():
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
            if self.g.nodes[n].get("kind") in _OWN_RULE_KINDS:
                continue  # broken-dashboard and broken-alert say it in words that fit them
            near = nearest[n]
            named = _first_of_mask(near or sources, lambda i: self.name[order[i]])
            more = sources.bit_count() - near.bit_count()
            extra = f" ({more} more further up)" if near and more > 0 else ""
            self.add(
                "downstream-of-broken",
                n,
                f"reads from broken upstream {named}{extra}; its data may be wrong or old",
            )

    def _materialized_inputs(self, n: Any) -> int:
        """Nearest materialized ancestors, looking through plain views (computed live on read), as a
        bitmask of :attr:`_bit_of`."""
        found = 0
        for p in self.g.predecessors(n):
            found |= self._through(p)
        return found

    def _through(self, start: Any) -> int:
        """Materialized nodes feeding ``start`` (itself if materialized); memoised and iterative.

        Sets of nodes are bitmasks (ints, bit ``_bit_of[node]``): a plain view's set is the union of its
        parents', one big-integer OR instead of a frozenset union (330,000 set members at 20,000 views).
        """
        cache = self._through_cache
        visiting: set[Any] = set()
        stack: list[tuple[Any, bool]] = [(start, False)]
        while stack:
            p, done = stack.pop()
            if p in cache:
                continue
            attrs = self.g.nodes[p]
            if _is_materialized(attrs):
                cache[p] = 1 << self._bit_of[p]
            elif attrs.get("kind") != "view":
                cache[p] = 0
            elif done:
                acc = 0
                for q in self.g.predecessors(p):
                    acc |= cache.get(q, 0)
                cache[p] = acc
            elif p not in visiting:  # a cycle revisits a node in progress: leave it to its first visit
                visiting.add(p)
                stack.append((p, True))
                stack.extend((q, False) for q in self.g.predecessors(p) if q not in cache)
        return cache[start]

    def cadence_inversion(self) -> None:
        cadence = {n: cadence_seconds(a.get("sync_frequency")) for n, a in self.g.nodes(data=True)}
        # Bit i is the i-th materialized node in (name, id) order, so that a set's lowest bits are its
        # first names: a message names the first few and counts the rest without taking every bit out.
        materialized = sorted(
            (n for n, a in self.g.nodes(data=True) if _is_materialized(a)),
            key=lambda n: (self.name[n], str(n)),
        )
        self._bit_of = {n: i for i, n in enumerate(materialized)}
        # per cadence: the materialized nodes refreshed less often, as one mask, written as binary
        # text (bit i the i-th character from the right) and read in one step: OR-ing bit after bit
        # into a growing integer was quadratic in the number of materialized views
        slower_than: dict[int, int] = {}
        for every in {c for c in cadence.values() if c is not None}:
            digits = [
                "1" if (theirs := cadence[p]) is not None and theirs > every else "0" for p in materialized
            ]
            slower_than[every] = int("".join(reversed(digits)) or "0", 2)

        def labelled(i: int) -> str:  # the i-th materialized node and its cadence
            p = materialized[i]
            return f"{self.name[p]} ({self.g.nodes[p].get('sync_frequency')})"

        for n, attrs in self.g.nodes(data=True):
            mine = cadence[n]
            if mine is None or not _is_materialized(attrs):
                continue
            slower = self._materialized_inputs(n) & slower_than[mine]
            if not slower:
                continue
            detail = _first_of_mask(slower, labelled)
            self.add(
                "cadence-inversion",
                n,
                f"refreshes every {attrs.get('sync_frequency')} but reads {detail}, refreshed less often;"
                " slow it down or speed them up",
            )

    def unused_matviews(self) -> None:
        # Consumers are out-edges too: a materialized view that only an insight reads is used.
        doubt = ""
        # Only insights, notebooks and endpoints read views themselves; dashboards and alerts read insights.
        readers = [k for k in self.not_read or () if plural(k, 1) in ("insight", "notebook", "endpoint")]
        if readers:
            kinds = ", ".join(plural(k) for k in readers)
            doubt = f" (but {kinds} are not visible to this key, so one of them may read it)"
        for n, attrs in self.g.nodes(data=True):
            if _is_materialized(attrs) and self.g.out_degree(n) == 0 and not attrs.get("downstream_count"):
                if doubt:
                    message = f"materialized but no view or consumer the crawl could see reads it{doubt}"
                    message += "; check before reverting materialization"
                else:
                    message = "materialized but nothing reads it; consider reverting materialization"
                self.add("unused-matview", n, message)

    def _broken_up(self) -> dict[Any, set[Any]]:
        """Node -> the nearest failing or stale nodes at or above it (views only; computed once):
        itself when broken, else those of what it reads, without passing another broken node."""
        if self._broken_cache is not None:
            return self._broken_cache
        broken = {n for n, h in self.health.items() if h.failing or h.stale}
        out: dict[Any, set[Any]] = {}
        if broken:
            views = self.g.subgraph(n for n in self.g if not is_consumer(self.g.nodes[n]))
            if nx.is_directed_acyclic_graph(views):
                for n in nx.topological_sort(views):
                    if n in broken:
                        out[n] = {n}
                        continue
                    acc: set[Any] = set()
                    for p in views.predecessors(n):
                        acc |= out.get(p, set())
                    if acc:
                        out[n] = acc
            else:
                for b in broken:
                    for d in {b} | nx.descendants(views, b):
                        out.setdefault(d, set()).add(b)
        self._broken_cache = out
        return out

    def _broken_reads(self, insight: Any) -> list[str]:
        """What makes an insight's data wrong: the nearest failing or stale views it reads (directly
        or through other views), and deleted views it reads directly."""
        broken: set[Any] = set()
        ghosts: set[Any] = set()
        up = self._broken_up()
        for p in self.g.predecessors(insight):
            if is_consumer(self.g.nodes[p]):
                continue
            if _is_ghost(self.g.nodes[p]):
                ghosts.add(p)
            broken |= up.get(p, set())
        ranked = sorted(broken, key=lambda q: (self.name[q], str(q)))
        reasons = [
            f"{self.name[q]} ({'failing' if self.health[q].failing else 'stale'})"
            for q in ranked[:_LIST_LIMIT]
        ]
        if len(ranked) > _LIST_LIMIT:
            reasons.append(f"{len(ranked) - _LIST_LIMIT} more broken views")
        if ghosts:
            reasons.append(f"deleted view {_names(self.g, ghosts, self.name)}")
        return reasons

    def consumer_rules(self, wanted: set[str]) -> None:
        """broken-dashboard, broken-alert and ghost-insight."""
        memo: dict[Any, list[str]] = {}

        def reasons(insight: Any) -> list[str]:
            if insight not in memo:
                memo[insight] = self._broken_reads(insight)
            return memo[insight]

        for n, attrs in self.g.nodes(data=True):
            kind = attrs.get("kind")
            if kind == "insight" and "ghost-insight" in wanted:
                ghosts = [p for p in self.g.predecessors(n) if _is_ghost(self.g.nodes[p])]
                if ghosts:
                    self.add(
                        "ghost-insight",
                        n,
                        f"reads deleted view {_names(self.g, ghosts, self.name)}, so it shows an error; "
                        "point it at the view that replaced it",
                    )
            if kind not in _OWN_RULE_KINDS:
                continue
            rule = "broken-dashboard" if kind == "dashboard" else "broken-alert"
            if rule not in wanted:
                continue
            bad = []
            for p in sorted(self.g.predecessors(n), key=lambda p: (self.name[p], str(p))):
                if self.g.nodes[p].get("kind") == "insight" and reasons(p):
                    bad.append(f"{self.name[p]}, which reads {', '.join(reasons(p))}")
            if not bad:
                continue
            if kind == "dashboard":
                self.add(
                    rule,
                    n,
                    f"shows insight {'; '.join(bad[:_LIST_LIMIT])}"
                    + (f"; and {len(bad) - _LIST_LIMIT} more" if len(bad) > _LIST_LIMIT else "")
                    + "; its charts may be wrong, old or broken: fix those views first",
                )
            else:
                self.add(
                    rule,
                    n,
                    f"watches insight {'; '.join(bad)}; it may fire on bad data or never fire",
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
        for n, name in self.name.items():  # node_name of every node of self.g, computed once
            key = name.casefold()
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
                parts.append(
                    f"lineage has edges from {_names(self.g, extra, self.name)} that its SQL does not read"
                )
            if parts:
                self.add(
                    "sql-mismatch",
                    n,
                    "; ".join(parts) + f"; recrawl with {param('edges', 'sql')} or re-save the view",
                )

    def job_anomalies(self, wanted: set[str], limits: AnomalyLimits) -> None:
        """Failure streaks at the threshold, and a newest run far off its recent median (rows, duration)."""
        for n, attrs in self.g.nodes(data=True):
            jobs = attrs.get("jobs")
            if not isinstance(jobs, dict):
                continue
            if "failure-streak" in wanted:
                streak = self.health[n].failure_streak if n in self.health else 0
                if streak >= limits.failure_streak:
                    self.add(
                        "failure-streak",
                        n,
                        f"failed {streak} times in a row (threshold {limits.failure_streak}); PostHog may "
                        "suspend its schedule: fix the query, then rerun it",
                    )
            history = jobs.get("history")
            if not isinstance(history, list):
                continue
            # sorted once for both rules (40,000 sorts at 20,000 views otherwise)
            completed = completed_same_mode(history)
            if "rows-anomaly" in wanted:
                found = rows_anomaly_of(completed, limits)
                if found is not None:
                    last, median = found
                    share = 100 * last / median
                    self.add(
                        "rows-anomaly",
                        n,
                        f"its newest run materialized {last:,} rows, {share:.0f}% of its recent median "
                        f"{median:,.0f}; check its sources for missing data",
                    )
            if "duration-anomaly" in wanted:
                took = duration_anomaly_of(completed, limits)
                if took is not None:
                    last_s, median_s = took
                    self.add(
                        "duration-anomaly",
                        n,
                        f"its newest run took {last_s:,.0f} s, {last_s / median_s:.1f}x its recent median "
                        f"{median_s:,.0f} s; check the query plan and its sources' size",
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
    anomaly_limits: AnomalyLimits | None = None,
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
    not_read = consumers_not_read(g)
    # Deleted insights, dashboards... read nothing: a view only they read is unused, and they break nothing.
    checker = _Checker(live(g), graph_health(graph, now=ref), not_read)
    if wanted & {"failing", "stale"}:
        checker.health_rules()
    if "suspended" in wanted:
        checker.suspension()
    if "skipped" in wanted:
        checker.skipped()
    if "downstream-of-broken" in wanted:
        checker.downstream_of_broken()
    if "cadence-inversion" in wanted:
        checker.cadence_inversion()
    if "unused-matview" in wanted:
        checker.unused_matviews()
    if wanted & {"broken-dashboard", "broken-alert", "ghost-insight"}:
        checker.consumer_rules(wanted)
    if "ghost" in wanted:
        checker.ghosts()
    if "sql-mismatch" in wanted:
        # imported here: every command that imports lineage.analysis (impact, diff) imports this
        # module, and the HogQL reader is only needed by this rule
        from lineage.hogql import extract_tables as hogql_extract_tables

        checker.sql_mismatch(extract_tables or hogql_extract_tables)
    if "cycle" in wanted:
        checker.cycles()
    if wanted & {"failure-streak", "rows-anomaly", "duration-anomaly"}:
        checker.job_anomalies(wanted, anomaly_limits or AnomalyLimits())
    findings = sorted(
        (f for f in checker.findings if f.rule in wanted),
        key=lambda f: (_SEVERITY_RANK[f.severity], _RULE_RANK[f.rule], f.node, f.node_id, f.message),
    )
    return CheckReport(
        findings=tuple(findings),
        now=ref.isoformat().replace("+00:00", "Z"),
        nodes=g.number_of_nodes(),
        edges=g.number_of_edges(),
        consumers_not_read=tuple(not_read) if not_read is not None else None,
    )
