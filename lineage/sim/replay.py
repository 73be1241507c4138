"""Simulator fixtures that replay a crawled workspace: a ``lineage-snapshot/1`` file served offline.

:func:`fixture_from_snapshot` keeps what the crawl saw (ids, names, folders, materialization, jobs,
consumers) and fills in only what a snapshot does not hold, from the seed as
:mod:`lineage.sim.generate` does; :func:`lineage.sim.generate.fixture_from_graph` hands a snapshot
over to it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import networkx as nx

from lineage.consumers.extract import CONSUMER_KINDS
from lineage.errors import FixtureError, HogQLError
from lineage.hogql import extract_tables
from lineage.sim.gen_base import NOW, base_document, namespace_for_seed, seeded_rngs
from lineage.sim.gen_graph import cycle_closing_edges, graph_cycles
from lineage.sim.gen_jobs import SYNC_SECONDS
from lineage.sim.gen_sql import make_query
from lineage.sim.records import JOB_STATUSES

__all__ = ["fixture_from_snapshot", "is_snapshot"]

_SYNC_SERVED: Final = frozenset(SYNC_SECONDS)


def is_snapshot(data: Any) -> bool:
    """True when ``data`` looks like a ``lineage-snapshot/1`` document rather than a real_graphs graph.

    A snapshot has a ``graph`` object (where its format lives) or node-link edges (objects with
    ``source``/``target``); a real_graphs graph has neither.
    """
    if not isinstance(data, Mapping):
        return False
    edges = data.get("edges")
    node_link = isinstance(edges, list) and bool(edges) and isinstance(edges[0], Mapping)
    return isinstance(data.get("graph"), Mapping) or "directed" in data or node_link


def _uuid_or(raw: str, ns: uuid.UUID, what: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        # A hand-made snapshot may use any string id; the simulator needs UUIDs, stable per id.
        return str(uuid.uuid5(ns, f"{what}:{raw}"))


def _parsed(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _snapshot_roles(g: nx.DiGraph) -> dict[str, str]:
    """Node id → ``view``, ``ghost``, ``posthog`` or ``warehouse``: what each node becomes in the fixture."""
    roles: dict[str, str] = {}
    for node_id, attrs in g.nodes(data=True):
        kind = attrs.get("kind")
        if kind in CONSUMER_KINDS:
            roles[node_id] = "consumer"
        elif kind in ("view", "matview"):
            roles[node_id] = "view"
        elif kind == "unknown" and attrs.get("ghost"):
            roles[node_id] = "ghost"
        elif kind == "table" and (
            attrs.get("table_kind") == "posthog"
            or (attrs.get("table_kind") is None and not _is_uuid(node_id))
        ):
            roles[node_id] = "posthog"
        else:
            # A non-ghost "unknown" is something the crawl saw only as a parent id: a table is the
            # closest thing the simulator can serve that still feeds its readers.
            roles[node_id] = "warehouse"
    return roles


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _snapshot_names(g: nx.DiGraph, roles: Mapping[str, str]) -> dict[str, str]:
    """Node id → fixture name. Parents name things, so names must resolve the way the snapshot's ids
    do: PostHog tables (whose name is their id), then live views, then warehouse tables keep their
    names first; a later clash gets the id's first hex digits, and a ghost that clashes is named by
    its id. PostHog itself allows none of these clashes, so a crawled snapshot keeps every name."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    ghost_taken: set[str] = set()
    for role in ("posthog", "view", "warehouse", "ghost"):
        for node_id in sorted(n for n, r in roles.items() if r == role):
            raw = g.nodes[node_id].get("name")
            name = raw if isinstance(raw, str) and raw else node_id
            if role == "ghost":
                # Deleted views resolve after everything else, so only their own kind may shadow them.
                if name in taken or name in ghost_taken:
                    name = node_id
                ghost_taken.add(name)
            elif name in taken:
                base = f"{name}_{uuid.UUID(_uuid_or(node_id, uuid.NAMESPACE_URL, 'x')).hex[:8]}"
                name, n = base, 1
                while name in taken:
                    n += 1
                    name = f"{base}_{n}"
            if role != "ghost":
                taken.add(name)
            out[node_id] = name
    return out


def _split_name(display: str) -> dict[str, str]:
    # The crawl keeps "first last" (or the email when a user has no name); split so that the
    # simulator's user prints the same display name again.
    if "@" in display and " " not in display:
        return {"first_name": "", "last_name": "", "email": display}
    first, _, last = display.partition(" ")
    slug = re.sub(r"[^a-z0-9]+", ".", display.lower()).strip(".") or "user"
    return {"first_name": first, "last_name": last, "email": f"{slug}@example.com"}


def _snapshot_columns(raw: Any) -> list[dict[str, str]] | None:
    if not isinstance(raw, list):
        return None
    out: list[dict[str, str]] = []
    for col in raw:
        if isinstance(col, str):
            out.append({"name": col, "type": "string"})  # a snapshot keeps names only
        elif isinstance(col, Mapping) and isinstance(col.get("name"), str):
            out.append({"name": col["name"], "type": str(col.get("type") or "string")})
    return out


def fixture_from_snapshot(data: Any, *, seed: int = 0, break_cycles: bool = False) -> dict[str, Any]:
    """Turn a ``lineage-snapshot/1`` document (a ``lineage crawl``) into a ``lineage-sim-fixture/1`` one.

    Crawling the simulator serving the result gives the snapshot's lineage back: ids (view and
    warehouse-table UUIDs, PostHog table names), names, folders, owners, materialization, cadence,
    status, errors, columns, creation times and job history are kept; views keep their HogQL (or get
    a synthesized query that reads their parents) and explicit ``parents`` from the snapshot's edges.
    Ghosts become deleted views that still feed their readers; other ``unknown`` nodes become
    warehouse tables. ``now`` is the crawl's ``crawled_at``. Deterministic for a given input and seed;
    what could not be kept as it was is listed under ``notes``. Refuses other formats
    (:class:`~lineage.errors.SnapshotError`) and cycles unless ``break_cycles``.
    """
    from lineage.graph import LineageGraph

    lg = LineageGraph.from_json_data(data, source="snapshot")
    g: nx.DiGraph = lg.nx.copy()
    attrs_of: dict[str, dict[str, Any]] = {n: dict(a) for n, a in g.nodes(data=True)}
    meta = lg.attrs
    ns = namespace_for_seed(seed)
    rng_of = seeded_rngs(seed)
    notes: dict[str, Any] = {
        "source": f"{meta.get('format')} of {meta.get('host')} project {meta.get('project')}",
        "seed": seed,
    }
    roles = _snapshot_roles(g)
    consumer_graph = g.copy()
    g.remove_nodes_from([n for n, r in roles.items() if r == "consumer"])
    roles = {n: r for n, r in roles.items() if r != "consumer"}

    tables_fed = sorted((u, v) for u, v in g.edges if roles[v] in ("posthog", "warehouse"))
    g.remove_edges_from(tables_fed)
    cycles = graph_cycles(g)
    if cycles and not break_cycles:
        shown = "; ".join(" -> ".join(str(attrs_of[n].get("name", n)) for n in [*c, c[0]]) for c in cycles)
        raise FixtureError(
            f"snapshot has {len(cycles)} cycle(s): {shown}. A fixture must be acyclic: pass "
            "break_cycles=True (CLI: --break-cycles) to drop the cycle-closing edges",
            cycles=cycles,
        )
    dropped = [(u, v, "a table cannot read anything") for u, v in tables_fed]
    dropped += cycle_closing_edges(g) if cycles else []
    g.remove_edges_from((u, v) for u, v, _ in dropped)

    names = _snapshot_names(g, roles)
    ids = {
        n: n if roles[n] == "posthog" else _uuid_or(n, ns, "table" if roles[n] == "warehouse" else "view")
        for n in g.nodes
    }
    doc = base_document(users=0)
    crawled_at = meta.get("crawled_at")
    if _parsed(crawled_at) is not None:
        doc["now"] = crawled_at
    else:
        notes["now"] = f"the snapshot has no valid crawled_at; the fixture's clock starts at {doc['now']}"
    project = str(meta.get("project", ""))
    if project.isdigit() and 0 < int(project) < 2**31:
        doc["team_id"] = int(project)  # so scripts that name the project work unchanged offline

    view_ids = sorted((n for n, r in roles.items() if r == "view"), key=lambda n: names[n])
    owners = sorted(
        {str(attrs_of[n]["created_by"]) for n in view_ids if attrs_of[n].get("created_by")}
        | {
            str(a["owner"])
            for _, a in consumer_graph.nodes(data=True)
            if a.get("kind") in CONSUMER_KINDS and a.get("owner")
        }
    )
    user_of = {owner: i + 1 for i, owner in enumerate(owners)}
    doc["users"] = [{"id": i + 1, **_split_name(owner)} for i, owner in enumerate(owners)] or [
        {"id": 1, "first_name": "Replay", "last_name": "", "email": "replay@example.com"}
    ]

    folder_names = sorted(
        {str(f) for n in view_ids if isinstance(f := attrs_of[n].get("folder"), str) and f.strip()}
    )
    folders = []
    for folder in folder_names:
        born = [
            attrs_of[n]["created_at"]
            for n in view_ids
            if attrs_of[n].get("folder") == folder and _parsed(attrs_of[n].get("created_at"))
        ]
        folders.append(
            {
                "id": str(uuid.uuid5(ns, f"folder:{folder}")),
                "name": folder,
                "created_at": min(born, default=doc["now"]),
            }
        )

    tables: list[dict[str, Any]] = []
    for node_id in sorted(
        (n for n, r in roles.items() if r in ("posthog", "warehouse")), key=lambda n: names[n]
    ):
        attrs = attrs_of[node_id]
        if roles[node_id] == "posthog":
            tables.append({"name": names[node_id], "kind": "posthog"})
            continue
        table: dict[str, Any] = {"id": ids[node_id], "name": names[node_id], "kind": "warehouse"}
        if attrs.get("source_type") is not None:
            table["source_type"] = attrs["source_type"]
        columns = _snapshot_columns(attrs.get("columns"))
        if columns:
            table["columns"] = columns
        tables.append(table)
    table_names = frozenset(t["name"] for t in tables)

    views: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    changed: list[str] = []
    ghosts = sorted((n for n, r in roles.items() if r == "ghost"), key=lambda n: names[n])
    for node_id in [*view_ids, *ghosts]:
        attrs = attrs_of[node_id]
        parents = sorted(names[p] for p in g.predecessors(node_id))
        sql = attrs.get("sql")
        columns = _snapshot_columns(attrs.get("columns"))
        if isinstance(sql, str) and sql.strip():
            query = sql
        else:
            query, made = make_query(parents, rng_of("view", node_id), tables=table_names)
            columns = made if columns is None else columns
        view: dict[str, Any] = {
            "id": ids[node_id],
            "name": names[node_id],
            "query": query,
            "parents": parents,
        }
        if roles[node_id] == "ghost":
            view.update(deleted=True, is_materialized=False)
            views.append(view)
            continue
        freq = attrs.get("sync_frequency")
        if freq is not None and freq not in _SYNC_SERVED:
            changed.append(
                f"{names[node_id]}: sync_frequency {freq!r} is not one the simulator serves; dropped"
            )
            freq = None
        in_folder = attrs.get("folder")
        view.update(
            is_materialized=bool(attrs.get("is_materialized", attrs.get("kind") == "matview")),
            sync_frequency=freq,
            folder=in_folder if isinstance(in_folder, str) and in_folder.strip() else None,
            status=attrs.get("status"),
            latest_error=attrs.get("latest_error"),
            last_run_at=attrs.get("last_run_at") if _parsed(attrs.get("last_run_at")) else None,
            created_by=user_of.get(str(attrs.get("created_by"))) if attrs.get("created_by") else None,
            origin="data_warehouse",
            deleted=False,
        )
        if _parsed(attrs.get("created_at")):
            view["created_at"] = attrs["created_at"]
        if isinstance(attrs.get("description"), str):
            view["description"] = attrs["description"]
        if columns is not None:
            view["columns"] = columns
        views.append(view)
        jobs.extend(_snapshot_jobs(attrs.get("jobs"), ids[node_id], ns, changed))

    views.sort(key=lambda v: (v["name"], v["id"]))
    jobs.sort(key=lambda j: (j["created_at"], j["id"]))
    if dropped:
        notes["dropped_edges"] = [
            {"from": names[u], "to": names[v], "original": [u, v], "rule": rule} for u, v, rule in dropped
        ]
    renamed = {n: names[n] for n in sorted(names) if names[n] != (attrs_of[n].get("name") or n)}
    if renamed:
        notes["renamed"] = renamed
    as_tables = sorted(
        names[n] for n, r in roles.items() if r == "warehouse" and attrs_of[n].get("kind") == "unknown"
    )
    if as_tables:
        notes["unknown_as_tables"] = as_tables
    if changed:
        notes["changed"] = sorted(changed)
    doc.update(folders=folders, tables=tables, views=views, jobs=jobs, notes=notes)
    doc.update(_snapshot_consumers(consumer_graph, names, user_of, ns))
    return doc


def _series(names: Sequence[str]) -> list[dict[str, Any]]:
    return [{"kind": "DataWarehouseNode", "id": n, "table_name": n, "math": "total"} for n in names]


def _consumer_query(hogql: Sequence[str], needed: Sequence[str]) -> dict[str, Any]:
    """A query JSON that runs ``hogql`` and reads ``needed`` names (the rest as warehouse series)."""
    covered: set[str] = set()
    for sql in hogql:
        try:
            covered.update(extract_tables(sql))
        except HogQLError:
            continue
    rest = [n for n in needed if n not in covered]
    if len(hogql) == 1 and not rest:
        return {"kind": "DataVisualizationNode", "source": {"kind": "HogQLQuery", "query": hogql[0]}}
    query: dict[str, Any] = {
        "kind": "InsightVizNode",
        "source": {"kind": "TrendsQuery", "series": _series(rest)},
    }
    if hogql:
        query["source"]["hogql_sources"] = [{"kind": "HogQLQuery", "query": q} for q in hogql]
    return query


def _snapshot_consumers(
    g: nx.DiGraph, names: Mapping[str, str], user_of: Mapping[str, int], ns: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """The snapshot's consumer nodes as fixture consumers that read what their edges say."""
    kind_of = {n: a.get("kind") for n, a in g.nodes(data=True)}
    by_kind: dict[str, list[str]] = {}
    for node_id in sorted(g.nodes):
        by_kind.setdefault(str(kind_of[node_id]), []).append(node_id)

    def attr(node_id: str, key: str) -> Any:
        return g.nodes[node_id].get(key)

    def tail(node_id: str) -> str:
        return node_id.split(":", 1)[1]

    def hogql(node_id: str) -> list[str]:
        raw = attr(node_id, "hogql")
        return [q for q in raw if isinstance(q, str)] if isinstance(raw, list) else []

    def read_names(node_id: str) -> list[str]:
        return sorted(
            names.get(p, p) for p in g.predecessors(node_id) if kind_of.get(p) not in CONSUMER_KINDS
        )

    def owner(node_id: str) -> int | None:
        who = attr(node_id, "owner")
        return user_of.get(str(who)) if who else None

    insights: list[dict[str, Any]] = []
    insight_ids: dict[str, int] = {}
    for i, node_id in enumerate(by_kind.get("insight", [])):
        short = str(attr(node_id, "short_id") or tail(node_id))
        insight_ids[node_id] = i + 1
        insights.append(
            {
                "id": i + 1,
                "short_id": short,
                "name": attr(node_id, "name"),
                "query": _consumer_query(hogql(node_id), read_names(node_id)),
                "created_by": owner(node_id),
            }
        )
    dashboards: list[dict[str, Any]] = []
    tiles: list[dict[str, Any]] = []
    for i, node_id in enumerate(by_kind.get("dashboard", [])):
        raw = tail(node_id)
        did = int(raw) if raw.isdigit() else 100000 + i
        dashboards.append({"id": did, "name": attr(node_id, "name"), "created_by": owner(node_id)})
        for parent in sorted(p for p in g.predecessors(node_id) if p in insight_ids):
            tiles.append({"id": len(tiles) + 1, "dashboard_id": did, "insight_id": insight_ids[parent]})
    alerts: list[dict[str, Any]] = []
    for node_id in by_kind.get("alert", []):
        watched = sorted(p for p in g.predecessors(node_id) if p in insight_ids)
        if not watched:
            continue
        alerts.append(
            {
                "id": _uuid_or(tail(node_id), ns, "alert"),
                "name": attr(node_id, "name"),
                "insight_id": insight_ids[watched[0]],
            }
        )
    notebooks: list[dict[str, Any]] = []
    for node_id in by_kind.get("notebook", []):
        short = str(attr(node_id, "short_id") or tail(node_id))
        content: list[dict[str, Any]] = [
            {
                "type": "ph-query",
                "attrs": {
                    "query": {"kind": "SavedInsightNode", "shortId": str(attr(p, "short_id") or tail(p))}
                },
            }
            for p in sorted(g.predecessors(node_id))
            if p in insight_ids
        ]
        content += [{"type": "ph-hogql-sql", "attrs": {"code": q}} for q in hogql(node_id)]
        covered: set[str] = set()
        for q in hogql(node_id):
            try:
                covered.update(extract_tables(q))
            except HogQLError:
                continue
        rest = [n for n in read_names(node_id) if n not in covered]
        if rest:
            trend = {"kind": "InsightVizNode", "source": {"kind": "TrendsQuery", "series": _series(rest)}}
            content.append({"type": "ph-query", "attrs": {"query": trend}})
        notebooks.append(
            {
                "id": str(uuid.uuid5(ns, f"notebook:{short}")),
                "short_id": short,
                "title": attr(node_id, "name"),
                "content": {"type": "doc", "content": content},
                "created_by": owner(node_id),
            }
        )
    endpoints = [
        {
            "name": tail(node_id),
            "created_by": owner(node_id),
            "versions": [
                {
                    "version": 1,
                    "is_active": True,
                    "query": _consumer_query(hogql(node_id), read_names(node_id)),
                }
            ],
        }
        for node_id in by_kind.get("endpoint", [])
    ]
    return {
        "insights": insights,
        "dashboards": dashboards,
        "dashboard_tiles": tiles,
        "notebooks": notebooks,
        "endpoints": endpoints,
        "alerts": alerts,
    }


def _snapshot_jobs(summary: Any, view_id: str, ns: uuid.UUID, changed: list[str]) -> list[dict[str, Any]]:
    """A view's ``jobs.history`` as fixture jobs, ids kept where they are UUIDs."""
    history = summary.get("history") if isinstance(summary, Mapping) else None
    out: list[dict[str, Any]] = []
    for i, job in enumerate(history if isinstance(history, list) else []):
        if not isinstance(job, Mapping):
            continue
        status = job.get("status")
        created = job.get("created_at") if _parsed(job.get("created_at")) else job.get("last_run_at")
        if status not in JOB_STATUSES or _parsed(created) is None:
            changed.append(
                f"job {job.get('id')!r} of view {view_id}: status {status!r} or its times unusable; left out"
            )
            continue
        rows = job.get("rows") if isinstance(job.get("rows"), int) else None
        stamp = _parsed(created) or NOW
        out.append(
            {
                "id": _uuid_or(str(job.get("id")), ns, f"job:{view_id}:{i}"),
                "view": view_id,
                "status": status,
                "rows_materialized": rows or 0,
                "rows_expected": rows if status == "Completed" else None,
                "error": job.get("error"),
                "created_at": created,
                "last_run_at": job.get("last_run_at") if _parsed(job.get("last_run_at")) else None,
                "workflow_id": f"materialize-view-{view_id}-{stamp.strftime('%Y%m%d%H%M%S')}",
                # the newest PostHog's fields, where the crawl read them
                **({"updated_at": job["finished_at"]} if _parsed(job.get("finished_at")) else {}),
                **{k: job[k] for k in ("run_mode", "full_refresh_reason") if isinstance(job.get(k), str)},
            }
        )
    return out
