"""What changed between two snapshots: nodes, edges, SQL, cadence, materialization, health, names, jobs."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx

from lineage.analysis.choices import parse_choices
from lineage.analysis.health import graph_health, node_name
from lineage.consumer_nodes import is_consumer
from lineage.graph import CONSUMER_KINDS, as_digraph

if TYPE_CHECKING:
    import pandas as pd

#: Node attributes compared one by one; ``health`` is derived (see lineage.analysis.health).
COMPARED = ("kind", "sync_frequency", "is_materialized", "status", "folder", "health")

#: Job results compared per node, in report order, with the words a report uses for them. The first four
#: are read from the node's ``jobs`` summary as crawled; ``stale`` is derived like ``health``, because a
#: refresh that re-ran a view changes its rows and times but not its SQL or settings.
JOB_FIELDS: dict[str, str] = {
    "last_status": "newest job status",
    "last_success_at": "last success",
    "rows_last": "rows (last run)",
    "failure_streak": "failure streak",
    "stale": "stale",
}
_JOB_ORDER = {field: i for i, field in enumerate(JOB_FIELDS)}


@dataclass(frozen=True)
class NodeRef:
    """A node as a diff names it."""

    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class EdgeRef:
    """An edge from upstream to downstream, by id and name."""

    source_id: str
    source: str
    target_id: str
    target: str


@dataclass(frozen=True)
class Rename:
    """Same id, new name."""

    id: str
    old: str
    new: str


@dataclass(frozen=True)
class SqlChange:
    """A changed query, as a unified diff."""

    id: str
    name: str
    diff: str
    # who changed it and when, from the newer snapshot's activity log (``crawl --with-activity``)
    changed_by: str | None = None
    changed_at: str | None = None


@dataclass(frozen=True)
class AttrChange:
    """One compared attribute (``field``) that changed on a node present in both snapshots."""

    id: str
    name: str
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Repoint:
    """A consumer in both snapshots that now reads different views (or different insights)."""

    id: str
    name: str
    kind: str
    old: tuple[str, ...]  # names of what it read, sorted
    new: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "old": list(self.old),
            "new": list(self.new),
        }


@dataclass(frozen=True)
class SnapshotDiff:
    """Differences from ``old`` to ``new``; each tuple sorted by name, then id."""

    nodes_added: tuple[NodeRef, ...]
    nodes_removed: tuple[NodeRef, ...]
    edges_added: tuple[EdgeRef, ...]
    edges_removed: tuple[EdgeRef, ...]
    renamed: tuple[Rename, ...]
    sql_changed: tuple[SqlChange, ...]
    changes: tuple[AttrChange, ...]
    jobs: tuple[AttrChange, ...] = ()
    old_crawled_at: str | None = None
    new_crawled_at: str | None = None
    repointed: tuple[Repoint, ...] = ()
    #: consumer kinds the new snapshot's key could not read, though the old one's could
    consumers_hidden: tuple[str, ...] = ()

    @property
    def consumers_added(self) -> tuple[NodeRef, ...]:
        """Insights, dashboards, notebooks, endpoints and alerts new in ``new``."""
        return tuple(n for n in self.nodes_added if n.kind in CONSUMER_KINDS)

    @property
    def consumers_removed(self) -> tuple[NodeRef, ...]:
        """Consumers gone from ``new``; not those of a kind the new crawl could not read (hidden,
        not deleted: see ``consumers_hidden``)."""
        return tuple(
            n for n in self.nodes_removed if n.kind in CONSUMER_KINDS and n.kind not in self.consumers_hidden
        )

    @property
    def consumers_unseen(self) -> tuple[NodeRef, ...]:
        """Consumers missing from ``new`` only because its key could not read their kind."""
        return tuple(n for n in self.nodes_removed if n.kind in self.consumers_hidden)

    @property
    def is_empty(self) -> bool:
        """True when nothing changed."""
        return not (
            self.nodes_added
            or self.nodes_removed
            or self.edges_added
            or self.edges_removed
            or self.renamed
            or self.sql_changed
            or self.changes
            or self.jobs
            or self.repointed
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``lineage diff --format json``."""
        return {
            "old": {"crawled_at": self.old_crawled_at},
            "new": {"crawled_at": self.new_crawled_at},
            "nodes_added": [asdict(x) for x in self.nodes_added],
            "nodes_removed": [asdict(x) for x in self.nodes_removed],
            "edges_added": [asdict(x) for x in self.edges_added],
            "edges_removed": [asdict(x) for x in self.edges_removed],
            "renamed": [asdict(x) for x in self.renamed],
            "sql_changed": [asdict(x) for x in self.sql_changed],
            "changes": [asdict(x) for x in self.changes],
            "jobs": [asdict(x) for x in self.jobs],
            "consumers_added": [asdict(x) for x in self.consumers_added],
            "consumers_removed": [asdict(x) for x in self.consumers_removed],
            "consumers_repointed": [r.to_dict() for r in self.repointed],
            "consumers_hidden": list(self.consumers_hidden),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per change: ``change``, ``id``, ``name``, ``old``, ``new``."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        rows += [
            {"change": "node added", "id": x.id, "name": x.name, "old": None, "new": x.kind}
            for x in self.nodes_added
        ]
        rows += [
            {"change": "node removed", "id": x.id, "name": x.name, "old": x.kind, "new": None}
            for x in self.nodes_removed
        ]
        for change, edges in (("edge added", self.edges_added), ("edge removed", self.edges_removed)):
            rows += [
                {
                    "change": change,
                    "id": f"{e.source_id}->{e.target_id}",
                    "name": f"{e.source} -> {e.target}",
                    "old": None,
                    "new": None,
                }
                for e in edges
            ]
        rows += [
            {"change": "renamed", "id": r.id, "name": r.new, "old": r.old, "new": r.new} for r in self.renamed
        ]
        rows += [
            {"change": "sql", "id": s.id, "name": s.name, "old": None, "new": s.diff}
            for s in self.sql_changed
        ]
        rows += [
            {"change": c.field, "id": c.id, "name": c.name, "old": c.old, "new": c.new} for c in self.changes
        ]
        rows += [
            {"change": f"jobs.{c.field}", "id": c.id, "name": c.name, "old": c.old, "new": c.new}
            for c in self.jobs
        ]
        rows += [
            {
                "change": "repointed",
                "id": r.id,
                "name": r.name,
                "old": ", ".join(r.old),
                "new": ", ".join(r.new),
            }
            for r in self.repointed
        ]
        return pd.DataFrame(rows, columns=["change", "id", "name", "old", "new"])


#: What ``diff --fail-on`` can name, with what each counts.
DIFF_KINDS: dict[str, str] = {
    "added-nodes": "nodes added",
    "removed-nodes": "nodes removed",
    "added-edges": "edges added",
    "removed-edges": "edges removed",
    "renamed": "nodes renamed",
    "sql-changed": "views whose SQL changed",
    "changed": "attribute changes (cadence, materialization, status, folder, health)",
    "materialization-changed": "views materialized or reverted",
    "new-failing": "nodes that became failing",
    "new-stale": "nodes that became stale",
    "jobs": "job result changes",
}


def diff_kind_counts(d: SnapshotDiff) -> dict[str, int]:
    """How many changes of each :data:`DIFF_KINDS` kind ``d`` holds (every kind listed, zero included)."""
    health = [c for c in d.changes if c.field == "health"]
    return {
        "added-nodes": len(d.nodes_added),
        "removed-nodes": len(d.nodes_removed),
        "added-edges": len(d.edges_added),
        "removed-edges": len(d.edges_removed),
        "renamed": len(d.renamed),
        "sql-changed": len(d.sql_changed),
        "changed": len(d.changes),
        "materialization-changed": sum(1 for c in d.changes if c.field == "is_materialized"),
        "new-failing": sum(1 for c in health if c.new == "failing"),
        "new-stale": sum(1 for c in health if c.new == "stale"),
        "jobs": len(d.jobs),
    }


def parse_diff_kinds(text: str) -> frozenset[str]:
    """A comma list of :data:`DIFF_KINDS` (or ``any``); an unknown kind is an InputError naming it."""
    return parse_choices(text, list(DIFF_KINDS), one="kind of change", some="kind(s) of change", suggest=True)


#: The keys of a node's ``jobs`` summary that :func:`diff` reads (health reads three of them).
_JOB_READS = tuple(field for field in JOB_FIELDS if field != "stale")


def slim_for_diff(graph: Any) -> Any:
    """``graph`` (changed in place, and returned) without the part of a snapshot that :func:`diff`
    never reads and that holds most of its memory: each node's ``jobs`` keeps only the summary
    fields a diff compares (the run ``history`` goes).

    A diff of slimmed graphs is the diff of the originals. ``lineage diff`` slims the first snapshot
    before it loads the second, whose values then take the memory the histories held.
    """
    for attrs in as_digraph(graph)._node.values():
        jobs = attrs.get("jobs")
        if type(jobs) is dict:
            attrs["jobs"] = {key: jobs[key] for key in _JOB_READS if key in jobs}
    return graph


def _folder(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else value


def _job_values(attrs: Any, stale: bool) -> dict[str, Any]:
    jobs = attrs.get("jobs")
    summary = jobs if type(jobs) is dict or isinstance(jobs, Mapping) else {}
    values = {field: summary.get(field) for field in _JOB_READS}
    values["stale"] = stale
    return values


def _reads(g: Any, n: Any) -> tuple[str, ...]:
    """Names of what a consumer reads (its direct upstream), sorted."""
    return tuple(sorted(node_name(g, p) for p in g.predecessors(n)))


def _sql_diff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=False), new.splitlines(keepends=False), f"a/{name}", f"b/{name}", lineterm=""
    )
    return "\n".join(lines)


def diff(old: Any, new: Any) -> SnapshotDiff:
    """Compare two snapshots (``LineageGraph`` or ``nx.DiGraph``); node identity is the id."""
    a, b = as_digraph(old), as_digraph(new)
    ha, hb = graph_health(old), graph_health(new)

    def ref(g: Any, n: Any) -> NodeRef:
        return NodeRef(str(n), node_name(g, n), str(g.nodes[n].get("kind") or "unknown"))

    def sort_nodes(items: list[Any]) -> list[Any]:
        return sorted(items, key=lambda x: (x.name, x.id))

    # networkx's own node and adjacency dicts: the public views wrap every lookup, and at 20,000
    # views those wrappers cost as much as the comparing.
    a_nodes, b_nodes, a_succ, b_succ = a._node, b._node, a._succ, b._succ
    added = sort_nodes([ref(b, n) for n in b_nodes if n not in a_nodes])
    removed = sort_nodes([ref(a, n) for n in a_nodes if n not in b_nodes])

    def edge(g: Any, u: Any, v: Any) -> EdgeRef:
        return EdgeRef(str(u), node_name(g, u), str(v), node_name(g, v))

    def sort_edges(items: list[EdgeRef]) -> list[EdgeRef]:
        return sorted(items, key=lambda e: (e.source, e.target, e.source_id, e.target_id))

    edges_added = sort_edges(
        [edge(b, u, v) for u, targets in b_succ.items() for v in targets if v not in a_succ.get(u, ())]
    )
    edges_removed = sort_edges(
        [edge(a, u, v) for u, targets in a_succ.items() for v in targets if v not in b_succ.get(u, ())]
    )

    renamed: list[Rename] = []
    sql: list[SqlChange] = []
    changes: list[AttrChange] = []
    jobs: list[AttrChange] = []
    for n, new_attrs in b_nodes.items():
        old_attrs = a_nodes.get(n)
        if old_attrs is None:
            continue
        old_name, name = old_attrs.get("name"), new_attrs.get("name")  # as node_name has them
        old_name = str(old_name) if old_name not in (None, "") else str(n)
        name = str(name) if name not in (None, "") else str(n)
        # A ghost (a deleted view) whose name one crawl could not learn is named by its id there:
        # learning the name is no rename (issue 14, item 9: an api crawl against a system crawl).
        unnamed = str(n) in (old_name, name) and (old_attrs.get("ghost") or new_attrs.get("ghost"))
        if old_name != name and not unnamed:
            renamed.append(Rename(str(n), old_name, name))
        old_sql, new_sql = old_attrs.get("sql"), new_attrs.get("sql")
        if isinstance(old_sql, str) and isinstance(new_sql, str) and old_sql != new_sql:
            who = new_attrs.get("last_editor") if new_attrs.get("last_editor") else None
            when = new_attrs.get("last_edited_at") if new_attrs.get("last_edited_at") else None
            sql.append(
                SqlChange(
                    str(n),
                    name,
                    _sql_diff(old_sql, new_sql, name),
                    changed_by=str(who) if who is not None else None,
                    changed_at=str(when) if when is not None else None,
                )
            )
        for field in COMPARED:
            if field == "health":
                before, after = ha[n].label, hb[n].label
            elif field == "folder":
                before, after = _folder(old_attrs.get(field)), _folder(new_attrs.get(field))
            else:
                before, after = old_attrs.get(field), new_attrs.get(field)
            if before != after:
                changes.append(AttrChange(str(n), name, field, before, after))
        job_before, job_after = _job_values(old_attrs, ha[n].stale), _job_values(new_attrs, hb[n].stale)
        jobs += [
            AttrChange(str(n), name, field, job_before[field], job_after[field])
            for field in JOB_FIELDS
            if job_before[field] != job_after[field]
        ]
    # Compared by id (a renamed view is not a re-pointing), reported by name.
    repointed = [
        Repoint(str(n), node_name(b, n), str(b.nodes[n].get("kind")), _reads(a, n), _reads(b, n))
        for n, attrs in b_nodes.items()
        if is_consumer(attrs) and n in a_nodes and set(a.predecessors(n)) != set(b.predecessors(n))
    ]
    old_read = a.graph.get("consumers_not_read")
    new_unread = b.graph.get("consumers_not_read")
    hidden = sorted(set(new_unread or ()) - set(old_read or ())) if old_read is not None else []
    return SnapshotDiff(
        repointed=tuple(sorted(repointed, key=lambda r: (r.name, r.id))),
        consumers_hidden=tuple(str(k) for k in hidden),
        nodes_added=tuple(added),
        nodes_removed=tuple(removed),
        edges_added=tuple(edges_added),
        edges_removed=tuple(edges_removed),
        renamed=tuple(sorted(renamed, key=lambda r: (r.new, r.id))),
        sql_changed=tuple(sorted(sql, key=lambda s: (s.name, s.id))),
        changes=tuple(sorted(changes, key=lambda c: (c.name, c.id, COMPARED.index(c.field)))),
        jobs=tuple(sorted(jobs, key=lambda c: (c.name, c.id, _JOB_ORDER[c.field]))),
        old_crawled_at=a.graph.get("crawled_at"),
        new_crawled_at=b.graph.get("crawled_at"),
    )


def diff_graph(old: Any, new: Any) -> nx.DiGraph:
    """One graph holding both snapshots, for drawing a diff: ``new``'s nodes and edges plus those only
    ``old`` had. Node attribute ``diff`` is ``added``, ``removed`` or ``changed`` (renamed, SQL, compared
    attributes or job results changed); edge attribute ``diff`` is ``added`` or ``removed``. Unchanged
    nodes and edges carry no ``diff``. The graph attributes are ``new``'s.
    """
    a, b = as_digraph(old), as_digraph(new)
    d = diff(old, new)
    out = nx.DiGraph()
    out.graph.update(b.graph)
    for n, attrs in b.nodes(data=True):
        out.add_node(n, **attrs)
    for n, attrs in a.nodes(data=True):
        if n not in b:
            out.add_node(n, **attrs)
    for u, v, attrs in b.edges(data=True):
        out.add_edge(u, v, **attrs)
    for u, v, attrs in a.edges(data=True):
        if not b.has_edge(u, v):
            out.add_edge(u, v, **attrs)
    changed = {r.id for r in d.renamed} | {s.id for s in d.sql_changed}
    changed |= {c.id for c in d.changes} | {c.id for c in d.jobs}
    by_id = {str(n): n for n in out.nodes}
    for ref in d.nodes_added:
        out.nodes[by_id[ref.id]]["diff"] = "added"
    for ref in d.nodes_removed:
        out.nodes[by_id[ref.id]]["diff"] = "removed"
    for node_id in changed:
        out.nodes[by_id[node_id]]["diff"] = "changed"
    for e in d.edges_added:
        out.edges[by_id[e.source_id], by_id[e.target_id]]["diff"] = "added"
    for e in d.edges_removed:
        out.edges[by_id[e.source_id], by_id[e.target_id]]["diff"] = "removed"
    return out
