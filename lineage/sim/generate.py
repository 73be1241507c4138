"""Simulator fixtures (``lineage-sim-fixture/1``) made from real lineage graphs.

:func:`fixture_from_graph` turns a graph in the ``shared/data/real_graphs`` format
(``{"nodes": [{"name", "kind", "sql"?, "path"?}], "edges": [[up, down]]}``) into a fixture the
simulator serves; given a ``lineage-snapshot/1`` file written by ``lineage crawl`` instead, it hands
over to :func:`fixture_from_snapshot`, which replays that crawled workspace (ids, names, folders,
materialization, jobs) offline (:mod:`lineage.sim.replay`). :func:`graph_of_fixture`
(:mod:`lineage.sim.truth`, re-exported here) gives the ground-truth lineage of any fixture, with node
ids as the API names them, so tests and benchmarks can compare a crawl against it.

Everything is a pure function of the input and the seed: ids are uuid5 in a namespace derived from
the seed, and every random choice comes from a :class:`random.Random` seeded by ``(seed, name)``, so
one node's attributes do not shift when another node is added.

>>> fx = fixture_from_graph({"nodes": [{"name": "raw", "kind": "table"},
...                                    {"name": "stg-orders", "kind": "view"}],
...                          "edges": [["raw", "stg-orders"]]})
>>> [v["name"] for v in fx["views"]], fx["views"][0]["parents"]
(['stg_orders'], ['raw'])
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import networkx as nx

from lineage.errors import FixtureError
from lineage.sim.gen_base import (
    CONSUMER_READ_SCOPES,
    FORMAT,
    NOW,
    READ_KEY,
    WRITE_KEY,
    base_document,
    iso,
    namespace_for_seed,
    seeded_rngs,
)
from lineage.sim.gen_graph import ACCEPTED, KNOWN_CYCLE_EDGES, cycle_closing_edges, graph_cycles, read_graph
from lineage.sim.gen_jobs import JOB_ERRORS, SYNC_SECONDS, make_jobs
from lineage.sim.gen_names import (
    HOGQL_RESERVED,
    MAX_NAME,
    NAME_RE,
    POSTHOG_TABLES,
    assign_names,
    hogql_identifier,
    is_posthog_table,
    is_valid_view_name,
)
from lineage.sim.gen_sql import ColumnSpec, make_query, reads_exactly
from lineage.sim.truth import graph_of_fixture

# Every public name this module had before its parts moved to gen_* modules: benchmarks, tests and
# notebooks import them from here.
__all__ = [
    "ACCEPTED",
    "CONSUMER_READ_SCOPES",
    "FORMAT",
    "HOGQL_RESERVED",
    "KNOWN_CYCLE_EDGES",
    "MAX_NAME",
    "NAME_RE",
    "NOW",
    "POSTHOG_TABLES",
    "READ_KEY",
    "SYNC_SECONDS",
    "WRITE_KEY",
    "base_document",
    "cycle_closing_edges",
    "fixture_from_graph",
    "graph_cycles",
    "graph_of_fixture",
    "hogql_identifier",
    "is_valid_view_name",
    "iso",
    "make_jobs",
    "make_query",
    "namespace_for_seed",
    "seeded_rngs",
]

_FREQS: Final = ("1hour", "6hour", "12hour", "24hour", "7day")
_FREQ_WEIGHTS: Final = (10, 15, 15, 45, 15)


def _folder_key(orig: str, node: Mapping[str, Any]) -> str | None:
    parts = orig.split(".")
    if len(parts) >= 3:
        return parts[-2]  # GCP dataset, or PostHog's source prefix (stripe_test, purchase, ...)
    path = node.get("path")
    if isinstance(path, str) and path.count("/") >= 2:
        return path.split("/")[1]  # models/<segment>/...
    if len(parts) == 2:
        return parts[0]
    head, sep, _ = orig.partition("_")
    return head if sep else None


def _folder_title(key: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", " ", key).strip()
    return (words[:1].upper() + words[1:])[:MAX_NAME] or key[:MAX_NAME]


def fixture_from_graph(graph: dict[str, Any], *, seed: int = 0, break_cycles: bool = False) -> dict[str, Any]:
    """Turn a graph in the real_graphs format into a ``lineage-sim-fixture/1`` document.

    Deterministic: the same graph and seed give byte-identical ``json.dumps(..., sort_keys=True)``.
    A graph with cycles raises :class:`FixtureError` naming each cycle's nodes unless
    ``break_cycles`` is set; then the cycle-closing edges are dropped and listed under ``notes``.
    A ``lineage-snapshot/1`` document goes to :func:`fixture_from_snapshot` instead.
    """
    from lineage.sim.replay import fixture_from_snapshot, is_snapshot

    if is_snapshot(graph):
        return fixture_from_snapshot(graph, seed=seed, break_cycles=break_cycles)
    by_name, g = read_graph(graph)
    notes: dict[str, Any] = {"source": str(graph.get("source", "")), "seed": seed}
    cycles = graph_cycles(g)
    if cycles and not break_cycles:
        shown = "; ".join(" -> ".join([*c, c[0]]) for c in cycles)
        raise FixtureError(
            f"graph has {len(cycles)} cycle(s): {shown}. A fixture must be acyclic: pass break_cycles=True "
            "(CLI: --break-cycles) to drop the cycle-closing edges and record them under 'notes'",
            cycles=cycles,
        )
    dropped = cycle_closing_edges(g) if cycles else []
    g.remove_edges_from((u, v) for u, v, _ in dropped)

    # A "table" that reads something cannot be a warehouse table: it becomes a view.
    view_names = {n for n, d in by_name.items() if d["kind"] == "view" or g.in_degree(n) > 0}
    posthog = {n for n, d in by_name.items() if n not in view_names and is_posthog_table(d)}
    names = assign_names(by_name, posthog)
    ns = namespace_for_seed(seed)
    rng_of = seeded_rngs(seed)
    doc = base_document()

    # Folders: the handful of most common name/path groups among views.
    keys = {n: _folder_key(n, by_name[n]) for n in view_names}
    counts = Counter(k for k in keys.values() if k is not None)
    top = sorted(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:6])
    titles: dict[str, str] = {}
    for key, _count in top:
        title = _folder_title(key)
        while title in titles.values():
            title += " 2"
        titles[key] = title
    first_created = NOW - timedelta(days=400)
    folders = [
        {
            "id": str(uuid.uuid5(ns, f"folder:{key}")),
            "name": titles[key],
            "created_at": iso(first_created + timedelta(days=30 + i)),
            "created_by": 1,
        }
        for i, key in enumerate(sorted(titles))
    ]

    tables: list[dict[str, Any]] = []
    for orig in sorted(set(by_name) - view_names):
        if orig in posthog:
            tables.append({"name": names[orig], "kind": "posthog"})
            continue
        rng = rng_of("table", orig)
        tables.append(
            {
                "id": str(uuid.uuid5(ns, f"table:{orig}")),
                "name": names[orig],
                "kind": "warehouse",
                "format": rng.choice(("Parquet", "Parquet", "Delta", "CSVWithNames")),
                "created_at": iso(first_created + timedelta(days=rng.uniform(0, 60))),
            }
        )

    table_names = frozenset(t["name"] for t in tables)
    views: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    created: dict[str, datetime] = {}
    for orig in nx.lexicographical_topological_sort(g):
        if orig not in view_names:
            continue
        node = by_name[orig]
        rng = rng_of("view", orig)
        parents_orig = sorted(g.predecessors(orig), key=lambda p: names[p])
        parents = [names[p] for p in parents_orig]
        view_id = str(uuid.uuid5(ns, f"view:{orig}"))
        sql = node.get("sql")
        kept = isinstance(sql, str) and reads_exactly(sql, parents) and names[orig] == orig
        columns: ColumnSpec = []
        if kept:
            query = str(sql)
        else:
            query, columns = make_query(parents, rng, tables=table_names)
        # Children are created after their parents, as in a real warehouse.
        when = NOW - timedelta(days=rng.uniform(40, 330))
        if parents_orig:
            latest_parent = max(created.get(p, first_created) for p in parents_orig)
            when = max(when, latest_parent + timedelta(hours=rng.uniform(1, 72)))
        cap = NOW - timedelta(days=2)
        if when > cap:
            # Deep chains bunch up just before the cap, still in order: minutes apart, not days.
            latest = max(created.get(p, first_created) for p in parents_orig) if parents_orig else cap
            when = max(cap, latest) + timedelta(minutes=rng.uniform(1, 30))
        created[orig] = when
        out_degree = g.out_degree(orig)
        materialized = rng.random() < 0.22 + 0.6 * min(1.0, out_degree / 8)
        folder_key = keys[orig]
        view: dict[str, Any] = {
            "id": view_id,
            "name": names[orig],
            "description": orig if not node.get("path") else f"{orig} ({node['path']})",
            "query": query,
            "parents": parents,
            "is_materialized": materialized,
            "sync_frequency": None,
            "folder": titles.get(folder_key) if folder_key is not None else None,
            "status": None,
            "latest_error": None,
            "last_run_at": None,
            "created_at": iso(when),
            "created_by": 1 if rng.random() < 0.7 else 2,
            "origin": "data_warehouse",
            "deleted": False,
        }
        if columns:
            view["columns"] = columns
        if materialized:
            freq = rng.choices(_FREQS, weights=_FREQ_WEIGHTS)[0]
            roll = rng.random()
            health = "failing" if roll < 0.1 else "stale" if roll < 0.17 else "ok"
            error = rng.choice(JOB_ERRORS).replace("{table}", names[parents_orig[0]] if parents else "events")
            history = make_jobs(
                view_name=names[orig],
                view_id=view_id,
                ns=ns,
                rng=rng,
                sync_frequency=freq,
                health=health,
                size=g.in_degree(orig),
                error=error,
            )
            last = history[-1]
            view["sync_frequency"] = freq
            view["status"] = last["status"]
            view["last_run_at"] = last["last_run_at"]
            if last["status"] == "Failed":
                view["latest_error"] = last["error"]
            elif rng.random() < 0.05:
                view["status"] = "Modified"
            jobs.extend(history)
        views.append(view)

    views.sort(key=lambda v: v["name"])
    jobs.sort(key=lambda j: (j["created_at"], j["id"]))
    if dropped:
        notes["dropped_edges"] = [
            {"from": names[u], "to": names[v], "original": [u, v], "rule": rule} for u, v, rule in dropped
        ]
    renamed = {o: n for o, n in names.items() if o != n}
    if renamed:
        notes["renamed"] = dict(sorted(renamed.items()))
    doc.update(folders=folders, tables=tables, views=views, jobs=jobs, notes=notes)
    return doc
