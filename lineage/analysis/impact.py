"""Blast radius of a change to one view: everything downstream, how far, by which path, what to refresh."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import networkx as nx

from lineage.analysis.health import (
    node_health,
    node_name,
    owner_of,
    reference_time,
    resolve_node,
    ui_link,
)
from lineage.consumer_nodes import (
    REPORT_ORDER,
    consumer_url,
    consumers_not_read,
    is_consumer,
    is_deleted_consumer,
    live,
    owner_of_consumer,
)
from lineage.errors import InputError, param
from lineage.graph import as_digraph

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ImpactNode:
    """One node in the blast radius (the target has depth 0)."""

    id: str
    name: str
    kind: str
    depth: int
    path: tuple[str, ...]
    materialized: bool
    cadence: str | None
    status: str | None
    health: str
    last_status: str | None
    failure_streak: int
    last_success_at: str | None
    rows: int | None
    owner: str | None
    folder: str | None
    url: str | None
    median_duration_s: float | None
    # the newest PostHog: suspended after repeated failures; who last changed the SQL and when
    # (from the view's activity log, where the crawl read it: ``crawl --with-activity``)
    suspended: bool = False
    last_editor: str | None = None
    last_edited_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``path`` as a list)."""
        # Every field is a scalar or the path of strings: no need for asdict's deep copy (a second per
        # row at 20,000 rows). Same keys in the same order as asdict: those of the instance's __dict__
        # (in field order, as __init__ sets them) when it holds just the fields.
        out = dict(self.__dict__)
        if len(out) != len(_IMPACT_FIELDS) or tuple(out) != _IMPACT_FIELDS:
            out = {name: getattr(self, name) for name in _IMPACT_FIELDS}
        out["path"] = list(self.path)
        return out


_IMPACT_FIELDS = tuple(ImpactNode.__dataclass_fields__)


@dataclass(frozen=True)
class BrokenNode:
    """A failing or stale node inside the blast radius."""

    id: str
    name: str
    health: str
    reason: str | None


@dataclass(frozen=True)
class ImpactSummary:
    """Totals for an impact report."""

    affected: int
    max_depth: int
    by_kind: Mapping[str, int]
    refresh_order: tuple[str, ...]
    critical_path: tuple[str, ...]
    estimated_refresh_s: float
    unknown_durations: tuple[str, ...]
    broken: tuple[BrokenNode, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "affected": self.affected,
            "max_depth": self.max_depth,
            "by_kind": dict(sorted(self.by_kind.items())),
            "refresh_order": list(self.refresh_order),
            "critical_path": list(self.critical_path),
            "estimated_refresh_s": self.estimated_refresh_s,
            "unknown_durations": list(self.unknown_durations),
            "broken": [asdict(b) for b in self.broken],
        }


@dataclass(frozen=True)
class Contact:
    """Someone to tell: the owner of affected insights or dashboards, and which ones."""

    owner: str
    items: tuple[str, ...]  # "dashboard Finance", "insight MRR", sorted

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"owner": self.owner, "items": list(self.items)}


#: Consumer kinds whose owners an impact report lists under "who to tell".
TELL_KINDS = ("dashboard", "insight")


@dataclass(frozen=True)
class ImpactReport:
    """What is affected downstream of ``target``; ``affected`` is sorted by (depth, name, id).

    ``consumers_not_read`` is the snapshot's list of consumer kinds the crawl could not read (None
    for a snapshot that did not crawl consumers): reports name them rather than imply there are none.
    """

    target: ImpactNode
    affected: tuple[ImpactNode, ...]
    summary: ImpactSummary
    max_depth: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    consumers_not_read: tuple[str, ...] | None = None

    @property
    def consumers(self) -> dict[str, tuple[ImpactNode, ...]]:
        """Affected consumers grouped by kind, kinds in report order (dashboards first)."""
        groups: dict[str, list[ImpactNode]] = {}
        for n in self.affected:
            if n.kind in REPORT_ORDER:
                groups.setdefault(n.kind, []).append(n)
        return {
            k: tuple(sorted(groups[k], key=lambda x: (x.name, x.id))) for k in REPORT_ORDER if k in groups
        }

    @property
    def who_to_tell(self) -> tuple[Contact, ...]:
        """Owners of the affected insights and dashboards, each with what they own, sorted by owner."""
        owned: dict[str, set[str]] = {}
        for n in self.affected:
            if n.kind in TELL_KINDS and n.owner:
                owned.setdefault(n.owner, set()).add(f"{n.kind} {n.name}")
        return tuple(Contact(o, tuple(sorted(owned[o]))) for o in sorted(owned))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``lineage impact --format json``."""
        return {
            "target": self.target.to_dict(),
            "affected": [n.to_dict() for n in self.affected],
            "summary": self.summary.to_dict(),
            "max_depth": self.max_depth,
            "snapshot": dict(sorted(self.meta.items())),
            "consumers_not_read": (
                list(self.consumers_not_read) if self.consumers_not_read is not None else None
            ),
            "who_to_tell": [c.to_dict() for c in self.who_to_tell],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per affected node."""
        import pandas as pd

        rows = [n.to_dict() for n in self.affected]
        for row in rows:
            row["path"] = " > ".join(row["path"])
        columns = list(ImpactNode.__dataclass_fields__)
        return pd.DataFrame(rows, columns=columns)


def shortest_paths(
    g: nx.DiGraph, source: Any, *, max_depth: int | None = None
) -> dict[Any, tuple[int, list[Any]]]:
    """Breadth-first search downstream: node -> (depth, path of ids from ``source``).

    Among shortest paths the one whose sequence of (name, id) is smallest wins, so output is stable. The
    trick: a path's order is decided by its parent's path (same last element), so ranking each BFS level
    by (parent rank, name, id) ranks whole paths without comparing them.
    """
    order, depth, parent, _ = _bfs_tree(g, source, max_depth)
    paths: dict[Any, list[Any]] = {source: [source]}
    for v in order[1:]:  # a parent comes before its children: each path extends its parent's
        paths[v] = [*paths[parent[v]], v]
    return {n: (depth[n], paths[n]) for n in order}


def _bfs_tree(
    g: nx.DiGraph, source: Any, max_depth: int | None
) -> tuple[list[Any], dict[Any, int], dict[Any, Any], dict[Any, str]]:
    """The tree of :func:`shortest_paths`: the nodes reached in (depth, rank) order (``source``
    first), each one's depth and parent, and the display name of every node reached but ``source``."""
    names: dict[Any, str] = {}  # for the nodes reached only, each computed once
    # networkx's own node and successor mappings (filtered ones on a restricted view): the public
    # views build a wrapper on every lookup, a tenth of the analysis at 20,000 views.
    attrs = g._node
    succ = g._succ

    def sort_key(v: Any) -> tuple[int, str, str]:
        name = attrs[v].get("name")
        name = names[v] = str(name) if name not in (None, "") else str(v)
        return rank[best[v]], name, str(v)

    depth: dict[Any, int] = {source: 0}
    parent: dict[Any, Any] = {}
    rank: dict[Any, int] = {source: 0}
    order = [source]
    level = [source]
    d = 0
    while level and (max_depth is None or d < max_depth):
        d += 1
        best: dict[Any, Any] = {}
        for u in level:  # level is in rank order, so the first parent seen is the best one
            for v in succ[u]:
                if v not in depth and v not in best:
                    best[v] = u
        level = sorted(best, key=sort_key)
        for i, v in enumerate(level):
            depth[v] = d
            rank[v] = i
        parent.update(best)
        order += level
    return order, depth, parent, names


def _rows(jobs: Mapping[str, Any]) -> int | None:
    value = jobs.get("rows_last")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _duration(jobs: Mapping[str, Any]) -> float | None:
    value = jobs.get("median_duration_s")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _node(g: nx.DiGraph, n: Any, depth: int, path: tuple[str, ...], now: datetime) -> ImpactNode:
    attrs = g._node[n]
    jobs = attrs.get("jobs")
    if type(jobs) is not dict and not isinstance(jobs, Mapping):
        jobs = {}
    health = node_health(attrs, now=now)
    folder = attrs.get("folder")
    if type(folder) is not str and isinstance(folder, Mapping):
        folder = folder.get("name")
    consumer = is_consumer(attrs)
    name = attrs.get("name")
    kind = attrs.get("kind")
    cadence = attrs.get("sync_frequency")
    status = attrs.get("status")
    editor = attrs.get("last_editor")
    edited = attrs.get("last_edited_at")
    # The instance is made as the frozen dataclass's __init__ makes it (the same __dict__, in field
    # order), without its twenty object.__setattr__ calls: a fifth of the analysis at 20,000 views.
    node: ImpactNode = _new(ImpactNode)
    node.__dict__.update(
        id=str(n),
        name=str(name) if name not in (None, "") else str(n),
        kind=str(kind or "unknown"),
        depth=depth,
        path=path,
        materialized=bool(attrs.get("is_materialized")) or kind == "matview",
        cadence=str(cadence) if cadence is not None else None,
        status=str(status) if status is not None else None,
        health=health.label,
        last_status=health.last_status,
        failure_streak=health.failure_streak,
        last_success_at=health.last_success_at,
        rows=_rows(jobs),
        owner=owner_of_consumer(attrs) if consumer else owner_of(attrs),
        folder=str(folder) if folder not in (None, "") else None,
        url=consumer_url(attrs) if consumer else ui_link(g, n),
        median_duration_s=_duration(jobs),
        suspended=bool(attrs.get("suspended")),
        last_editor=str(editor) if editor else None,
        last_edited_at=str(edited) if edited else None,
    )
    return node


_new = object.__new__


def _rebuild_plan(
    g: nx.DiGraph, nodes: dict[Any, ImpactNode]
) -> tuple[tuple[str, ...], tuple[str, ...], float, tuple[str, ...]]:
    """Materialized views in topological order, plus the critical path of median durations."""
    by_id = {n: nodes[n] for n in nodes if n in g}
    order = _topological(g, by_id)
    if order is None:  # a cycle: fall back to distance from the target
        order = sorted(by_id, key=lambda n: (by_id[n].depth, by_id[n].name, str(n)))
    mats = [n for n in order if by_id[n].materialized]
    finish: dict[Any, float] = {}
    via: dict[Any, Any] = {}
    pred = g._pred  # networkx's own mapping: the public view wraps each lookup
    finished = finish.get
    for n in order:
        node = by_id[n]
        own = (node.median_duration_s or 0.0) if node.materialized else 0.0
        start, best = 0.0, None
        # Only nodes of the plan are in finish; the winner does not depend on the predecessors' order.
        for p in pred[n]:
            f = finished(p)
            if f is not None and (f > start or (f == start and best is not None and str(p) < str(best))):
                start, best = f, p
        finish[n] = start + own
        if best is not None:
            via[n] = best
    if not finish:
        return (), (), 0.0, ()
    position = {n: i for i, n in enumerate(order)}
    end = max(order, key=lambda n: (finish[n], -position[n]))
    chain = [end]
    while chain[-1] in via:
        chain.append(via[chain[-1]])
    critical = tuple(by_id[n].name for n in reversed(chain) if by_id[n].materialized)
    unknown = tuple(sorted(by_id[n].name for n in mats if by_id[n].median_duration_s is None))
    return tuple(by_id[n].name for n in mats), critical, round(finish[end], 3), unknown


def _topological(g: nx.DiGraph, by_id: Mapping[Any, ImpactNode]) -> list[Any] | None:
    """The nodes of ``by_id``, upstream first, ties by (name, id); None on a cycle.

    The order of ``nx.lexicographical_topological_sort`` on ``g.subgraph(by_id)`` with that key (the
    key is unique per node, so no other tie-break applies), without the cost of a subgraph view.
    """
    succ = g._succ  # networkx's own mapping: the public view wraps each lookup
    # Each node's place in (name, id) order, found by one sort: the heap then compares small ints,
    # not tuples of strings.
    ranked = sorted(by_id, key=lambda n: (by_id[n].name, str(n)))
    rank = {n: i for i, n in enumerate(ranked)}
    children = {n: [c for c in succ[n] if c in by_id] for n in by_id}
    indegree = dict.fromkeys(by_id, 0)
    for kids in children.values():
        for c in kids:
            indegree[c] += 1
    ready = [rank[n] for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    push, pop = heapq.heappush, heapq.heappop
    order: list[Any] = []
    while ready:
        n = ranked[pop(ready)]
        order.append(n)
        for c in children[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                push(ready, rank[c])
    return order if len(order) == len(by_id) else None


def impact(
    graph: Any, view: str, *, max_depth: int | None = None, now: datetime | str | None = None
) -> ImpactReport:
    """Everything downstream of ``view`` (a name or id), with depth, path, health and a refresh plan.

    >>> impact(graph, "orders_daily").affected[0].path   # doctest: +SKIP
    ('orders_daily', 'revenue_weekly')
    """
    if max_depth is not None and max_depth < 1:
        raise InputError(
            f"{param('max_depth', str(max_depth))} must be 1 or more (leave it out for everything downstream)"
        )
    g = as_digraph(graph)
    target = resolve_node(graph, view)
    ref = reference_time(graph, now)
    # Deleted insights, dashboards... read nothing: walk without them.
    walk = live(g) if not is_deleted_consumer(g.nodes[target]) else g
    reached, depth, parent, names = _bfs_tree(walk, target, max_depth)
    # Each path is its parent's path and one more name (a parent comes first in ``reached``).
    paths: dict[Any, tuple[str, ...]] = {target: (node_name(g, target),)}
    for n in reached[1:]:
        paths[n] = (*paths[parent[n]], names[n])
    nodes = {n: _node(g, n, depth[n], paths[n], ref) for n in reached}
    affected = tuple(
        sorted((v for n, v in nodes.items() if n != target), key=lambda x: (x.depth, x.name, x.id))
    )
    by_kind: dict[str, int] = {}
    for n in affected:
        by_kind[n.kind] = by_kind.get(n.kind, 0) + 1
    # Consumers are never materialized and nothing but consumers reads them: the plan is the views'.
    order, critical, seconds, unknown = _rebuild_plan(
        g, {n: v for n, v in nodes.items() if v.kind not in REPORT_ORDER}
    )
    broken = tuple(
        BrokenNode(
            id=nodes[n].id,
            name=nodes[n].name,
            health=nodes[n].health if nodes[n].health in ("failing", "stale") else "suspended",
            reason=node_health(g.nodes[n], now=ref).reason
            or ("suspended by PostHog after repeated failed runs" if nodes[n].suspended else None),
        )
        for n in sorted(nodes, key=lambda n: (nodes[n].depth, nodes[n].name, nodes[n].id))
        if nodes[n].health in ("failing", "stale") or nodes[n].suspended
    )
    summary = ImpactSummary(
        affected=len(affected),
        max_depth=max((x.depth for x in affected), default=0),
        by_kind=dict(sorted(by_kind.items())),
        refresh_order=order,
        critical_path=critical,
        estimated_refresh_s=seconds,
        unknown_durations=unknown,
        broken=broken,
    )
    meta = {k: g.graph.get(k) for k in ("host", "project", "crawled_at") if g.graph.get(k) is not None}
    not_read = consumers_not_read(g)
    return ImpactReport(
        target=nodes[target],
        affected=affected,
        summary=summary,
        max_depth=max_depth,
        meta=meta,
        consumers_not_read=tuple(not_read) if not_read is not None else None,
    )
