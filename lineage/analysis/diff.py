"""What changed between two snapshots: nodes, edges, SQL, cadence, materialization, health, names, jobs."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from lineage.analysis.health import as_digraph, graph_health, node_name

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
        rows += [
            {
                "change": "edge added",
                "id": f"{e.source_id}->{e.target_id}",
                "name": f"{e.source} -> {e.target}",
                "old": None,
                "new": None,
            }
            for e in self.edges_added
        ]
        rows += [
            {
                "change": "edge removed",
                "id": f"{e.source_id}->{e.target_id}",
                "name": f"{e.source} -> {e.target}",
                "old": None,
                "new": None,
            }
            for e in self.edges_removed
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
        return pd.DataFrame(rows, columns=["change", "id", "name", "old", "new"])


def _folder(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else value


def _job_values(attrs: Any, stale: bool) -> dict[str, Any]:
    jobs = attrs.get("jobs")
    summary = jobs if isinstance(jobs, Mapping) else {}
    values = {field: summary.get(field) for field in JOB_FIELDS if field != "stale"}
    values["stale"] = stale
    return values


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

    added = sort_nodes([ref(b, n) for n in b.nodes if n not in a])
    removed = sort_nodes([ref(a, n) for n in a.nodes if n not in b])

    def edge(g: Any, u: Any, v: Any) -> EdgeRef:
        return EdgeRef(str(u), node_name(g, u), str(v), node_name(g, v))

    def sort_edges(items: list[EdgeRef]) -> list[EdgeRef]:
        return sorted(items, key=lambda e: (e.source, e.target, e.source_id, e.target_id))

    edges_added = sort_edges([edge(b, u, v) for u, v in b.edges if not a.has_edge(u, v)])
    edges_removed = sort_edges([edge(a, u, v) for u, v in a.edges if not b.has_edge(u, v)])

    renamed: list[Rename] = []
    sql: list[SqlChange] = []
    changes: list[AttrChange] = []
    jobs: list[AttrChange] = []
    for n in b.nodes:
        if n not in a:
            continue
        old_attrs, new_attrs = a.nodes[n], b.nodes[n]
        old_name, name = node_name(a, n), node_name(b, n)
        if old_name != name:
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
    return SnapshotDiff(
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
