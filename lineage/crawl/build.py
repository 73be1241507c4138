"""Turning a finished crawl's state into the :class:`~lineage.graph.LineageGraph`: node attributes,
ghosts (deleted views) and their old names, warehouse and PostHog tables, upstream/downstream counts,
"+k more" boundaries, health at crawl time, and the ``--verify`` cross-check against dependencies."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lineage.analysis.health import node_health
from lineage.api import SavedQuery
from lineage.config import Settings
from lineage.crawl.jobs import job_summary
from lineage.crawl.state import CrawlState, is_uuid, iso
from lineage.errors import HogQLError
from lineage.graph import SNAPSHOT_FORMAT, LineageGraph
from lineage.posthog import POSTHOG_TABLES

__all__ = ["base_view_attrs", "build_graph", "ghost_names"]


def base_view_attrs(view: SavedQuery, sql: str | None) -> dict[str, Any]:
    """A view's node attributes in the snapshot but its ``jobs`` (the build adds their summary):
    what the view and its SQL alone say."""
    attrs: dict[str, Any] = {
        "name": view.name,
        "kind": "matview" if view.is_materialized else "view",
        "status": view.status,
        "is_materialized": view.is_materialized,
        "sync_frequency": view.sync_frequency,
        "last_run_at": iso(view.last_run_at),
        "latest_error": view.latest_error,
        "folder": view.folder_name,
        "created_at": iso(view.created_at),
        "created_by": view.created_by.display_name if view.created_by is not None else None,
        "columns": [c.name for c in view.columns],
    }
    if view.description:
        attrs["description"] = view.description
    # The newest PostHog's flags, kept only when set so that older snapshots read the same.
    if view.suspended:
        attrs["suspended"] = True
    if view.is_incremental:
        attrs["is_incremental"] = True
    if view.is_test:
        attrs["is_test"] = True
        if view.expires_at is not None:
            attrs["expires_at"] = iso(view.expires_at)
    if sql is not None:
        attrs["sql"] = sql
        attrs.update(_sql_state(sql))  # `sql_state: unparseable` marks SQL whose tables are unknown
    return attrs


def _sql_state(sql: str) -> dict[str, str]:
    """:func:`lineage.hogql.sql_state` through the crawl's parse cache (:mod:`lineage.hogql.cache`),
    which already holds every view's parse from reading its edges: no view's SQL is parsed twice, and
    a recrawl parses only what changed (the in-process LRU of ``extract_tables`` is too small for
    20,000 views)."""
    from lineage.hogql import SQL_PARSED, SQL_UNPARSEABLE, cache

    try:
        cache.shared()(sql)
    except HogQLError as exc:
        return {"sql_state": SQL_UNPARSEABLE, "sql_error": exc.message}
    return {"sql_state": SQL_PARSED}


def ghost_names(st: CrawlState) -> dict[str, str]:
    """Name deleted views from their readers' HogQL, where the SQL was read.

    A deleted view is renamed, so a reader's FROM target that names nothing alive is the old
    name. Only a reader with exactly one ghost parent and one such target is trusted, and all
    such readers must agree.
    """
    from lineage.hogql import cache

    extract_tables = cache.shared()
    tables = {n for t in (st.tables or {}).values() for n in (t.name, t.sql_name)}
    candidates: dict[str, set[str]] = defaultdict(set)
    for child, parents in st.parents.items():
        ghosts = [p for p in parents if p in st.ghosts]
        sql = st.sql.get(child)
        if len(ghosts) != 1 or not sql:
            continue
        try:
            chains = extract_tables(sql)
        except HogQLError:
            continue
        labels = {p for p in parents if not is_uuid(p)}
        dangling = [c for c in chains if c not in st.by_name and c not in tables and c not in labels]
        if len(dangling) == 1:
            candidates[ghosts[0]].add(dangling[0])
    return {g: next(iter(names)) for g, names in candidates.items() if len(names) == 1}


def build_graph(
    st: CrawlState,
    settings: Settings,
    *,
    strategy: str,
    crawled_at: datetime,
    focus: set[str] | None,
    known_ghost_names: Mapping[str, str],
    verify: bool,
    whole_graph_known: bool = False,
) -> tuple[LineageGraph, list[str]]:
    """The snapshot graph of ``st`` (only ``focus`` where given), and ``--verify``'s mismatches.

    ``whole_graph_known``: every view's parents were read (sql and system edges), so counts are
    exact even for nodes outside a focus."""
    graph = LineageGraph(
        format=SNAPSHOT_FORMAT,
        host=settings.host,
        project=settings.project,
        crawled_at=iso(crawled_at),
        strategy=strategy,
    )
    children: dict[str, list[str]] = defaultdict(list)
    for child, ps in st.parents.items():
        for p in ps:
            children[p].append(child)
    view_ids = set(st.views) | set(st.hidden_views)
    if focus is not None:
        view_ids &= focus
    ready = st.ready_attrs
    for view_id in sorted(view_ids):
        view = st.views.get(view_id) or st.hidden_views[view_id]
        attrs = ready.pop(view_id, None)
        if attrs is None:
            attrs = base_view_attrs(view, st.sql.get(view_id))
        if st.jobs_read:
            summary = st.job_summaries.get(view_id)
            attrs["jobs"] = job_summary(st.jobs.get(view_id) or []) if summary is None else summary
        graph.add_node(view_id, **attrs)
    tables = st.tables or {}
    endpoints = {p for ps in st.parents.values() for p in ps}
    if focus is not None:
        endpoints &= focus
    names = {**ghost_names(st), **known_ghost_names}
    for node_id in sorted(endpoints - view_ids):
        if node_id in st.ghosts:
            graph.add_node(node_id, name=names.get(node_id, node_id), kind="unknown", ghost=True)
        elif node_id in tables:
            table = tables[node_id]
            graph.add_node(
                node_id,
                name=table.name,
                kind="table",
                table_kind="warehouse",
                source_type=table.source_type,
                **({"hogql_name": table.hogql_name} if table.hogql_name else {}),
            )
        elif is_uuid(node_id):
            graph.add_node(node_id, name=node_id, kind="unknown")
        elif whole_graph_known and not _posthog_table_name(node_id):
            # A name the SQL reads that is no view, no warehouse table and none of PostHog's own
            # tables: a deleted view PostHog has renamed, or a typo. Say so rather than guess.
            graph.add_node(node_id, name=node_id, kind="unknown", unresolved=True)
            st.notes.append(
                f"{node_id!r} is read by SQL but is no view, warehouse table or PostHog table "
                "(a deleted view, or a typo); shown as unknown"
            )
        else:
            # The lineage endpoints name PostHog's own tables by name, and nothing else.
            graph.add_node(node_id, name=node_id, kind="table", table_kind="posthog")
    for child, ps in sorted(st.parents.items()):
        if child not in graph:
            continue
        for p in ps:
            if p in graph:
                graph.add_edge(p, child)
    g = graph.nx
    for node_id in g.nodes:
        attrs = g.nodes[node_id]
        if attrs.get("kind") in {"view", "matview"}:
            attrs["upstream_count"] = len(st.parents.get(node_id, []))
            if focus is None or whole_graph_known:
                attrs["downstream_count"] = len(children.get(node_id, []))
            elif node_id in st.deps:
                attrs["downstream_count"] = int(st.deps[node_id].get("downstream_count") or 0)
            else:
                # A focused api crawl reads the parents of its members only: readers outside the
                # focus are unknown, so the count is too (None, never a wrong number).
                attrs["downstream_count"] = None
        if attrs.get("kind") in {"view", "matview"}:
            # Health at crawl time, so a snapshot answers "what is broken" without the analysis layer;
            # `lineage check` recomputes it against any other moment.
            health = node_health(attrs, now=crawled_at)
            attrs["health"] = health.label
            attrs["stale"] = health.stale
        if node_id in st.more_upstream:
            attrs["more_upstream"] = st.more_upstream[node_id]
        if node_id in st.more_downstream:
            attrs["more_downstream"] = st.more_downstream[node_id]
    mismatches = []
    if verify:
        for view_id, deps in sorted(st.deps.items()):
            if view_id not in g:
                continue
            # PostHog counts raw path labels: a dotted table counts by its last label.
            up = len({p.split(".")[-1] if not is_uuid(p) else p for p in st.parents.get(view_id, [])})
            down = len(children.get(view_id, []))
            if deps.get("upstream_count") != up or deps.get("downstream_count") != down:
                name = g.nodes[view_id].get("name", view_id)
                mismatches.append(
                    f"{name}: crawled upstream {up}, downstream {down}; dependencies says "
                    f"upstream {deps.get('upstream_count')}, downstream {deps.get('downstream_count')}"
                    + _why(deps, up, down)
                )
    return graph, mismatches


def _posthog_table_name(name: str) -> bool:
    """One of PostHog's own tables, or a name in one of its namespaces (``posthog.*``, ``system.*``)."""
    return name in POSTHOG_TABLES or name.split(".", 1)[0] in {"posthog", "system"}


def _why(deps: dict[str, Any], up: int, down: int) -> str:
    """Why PostHog's ``dependencies`` count differs from the crawled edges (issue 14, item 8)."""
    reasons = []
    said_down = deps.get("downstream_count")
    said_up = deps.get("upstream_count")
    if isinstance(said_down, int) and said_down > down:
        # PostHog deletes only the paths that end at a deleted view; paths through it stay, so its
        # count keeps readers deleted since
        reasons.append(
            f"PostHog still counts {said_down - down} deleted or re-pointed reader(s) whose old paths "
            "it keeps; the crawled edges are what live views read now"
        )
    elif isinstance(said_down, int) and said_down < down:
        reasons.append(
            "some readers have no lineage paths in PostHog yet (never materialized or saved since)"
        )
    if isinstance(said_up, int) and said_up != up:
        reasons.append(
            "PostHog counts the parents recorded when the view was last saved, not its current query"
        )
    return f" ({'; '.join(reasons)})" if reasons else ""
