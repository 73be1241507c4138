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

import hashlib
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from string import Template
from typing import Any, Final

import networkx as nx

from lineage.errors import FixtureError, HogQLError
from lineage.hogql import extract_tables
from lineage.posthog import POSTHOG_TABLES as POSTHOG_HOGQL_TABLES
from lineage.posthog import SYNC_FREQUENCY_SECONDS, VIEW_NAME_MAX_LENGTH, VIEW_NAME_RE
from lineage.sim.truth import graph_of_fixture as graph_of_fixture

FORMAT: Final = "lineage-sim-fixture/1"
NOW: Final = datetime(2026, 11, 26, tzinfo=UTC)
NAME_RE: Final = VIEW_NAME_RE
MAX_NAME: Final = VIEW_NAME_MAX_LENGTH

#: Tables PostHog itself provides; a graph table with one of these names becomes ``kind: "posthog"``.
POSTHOG_TABLES: Final = frozenset({"events", "persons", "sessions"})
#: Other names the HogQL database already owns: a view or warehouse table may not take them.
HOGQL_RESERVED: Final = POSTHOG_HOGQL_TABLES | {"numbers", "system", "posthog"}
#: Scheduled intervals PostHog reports (``sync_frequency``), with their length in seconds.
SYNC_SECONDS: Final = SYNC_FREQUENCY_SECONDS
#: Cycle-closing edges that shared/data/real_graphs/README.md names for bigquery_etl (README names
#: them without the GCP project, so they match the end of the full name).
KNOWN_CYCLE_EDGES: Final = (
    ("firefox_ios.firefox_ios_clients", "firefox_ios_derived.clients_activation_v1"),
    (
        "telemetry_derived.clients_histogram_aggregates_v2",
        "telemetry_derived.clients_histogram_aggregates_new_v1",
    ),
)
#: What ``fixture_from_graph`` reads, for error messages.
ACCEPTED: Final = (
    'give a real_graphs graph ({"nodes": [{"name", "kind": "view"|"table"}], "edges": '
    "[[up, down]]}) or a lineage-snapshot/1 file written by `lineage crawl`"
)
READ_KEY: Final = "phx_demo_read"
WRITE_KEY: Final = "phx_demo_write"

# Words a parser may take for syntax when they stand bare in FROM; such names get backticks.
_KEYWORDS: Final = frozenset(
    """all and anti any array as asc asof between both by case cast catch cohort collate cross current date
    day desc distinct else end except extract final finally first fn following for from full fun group
    having hour id if ilike in inf inner interval intersect is join key last leading left let like limit
    minute month nan natural not null nulls offset on or order outer over partition preceding prewhere
    quarter range return right rollup row rows sample second select semi settings table then throw ties
    to top trailing trim true false try unbounded union using week when where while window with
    year""".split()  # noqa: SIM905 -- a word list reads best as words
)
_PLAIN_IDENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JINJA: Final = ("{{", "{%", "{#")
_ERRORS: Final = (
    "Code: 241. DB::Exception: Memory limit (for query) exceeded: would use 10.24 GiB, maximum: 9.31 GiB. "
    "(MEMORY_LIMIT_EXCEEDED)",
    "Code: 159. DB::Exception: Timeout exceeded: elapsed 600.01 seconds, maximum: 600. (TIMEOUT_EXCEEDED)",
    "Unknown table: the source table was deleted or renamed. Update the view's query.",
    "Code: 60. DB::Exception: Table posthog.{table} does not exist. (UNKNOWN_TABLE)",
    "Code: 47. DB::Exception: Missing columns: 'updated_at' while processing query. (UNKNOWN_IDENTIFIER)",
    "Workflow failed: activity materialize_model timed out (start_to_close) after 3 retries",
)
_FREQS: Final = ("1hour", "6hour", "12hour", "24hour", "7day")
_FREQ_WEIGHTS: Final = (10, 15, 15, 45, 15)
_FIRST_NAMES: Final = (("Ada", "Lovelace"), ("Grace", "Hopper"))


def hogql_identifier(name: str, *, quote_dotted: bool = False) -> str:
    """Spell a table or view name for a HogQL FROM clause, adding backticks only where needed.

    A dotted name whose parts are plain identifiers may stand bare (HogQL reads it as one chain);
    ``quote_dotted`` backticks it anyway, as PostHog's printer does for dotted view names.
    """
    parts = name.split(".")
    plain = all(_PLAIN_IDENT.match(p) and p.lower() not in _KEYWORDS for p in parts)
    if plain and not (quote_dotted and len(parts) > 1):
        return name
    return "`" + name.replace("`", "``") + "`"


def is_valid_view_name(name: str) -> bool:
    """True when PostHog accepts ``name`` for a saved query (regex, length, not a HogQL table)."""
    return bool(NAME_RE.match(name)) and len(name) <= MAX_NAME and name.lower() not in HOGQL_RESERVED


def namespace_for_seed(seed: int) -> uuid.UUID:
    """The uuid5 namespace every id of a fixture made with ``seed`` is derived in."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://lineage.invalid/sim-fixture/seed/{seed}")


def iso(ts: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` and whole seconds, the form fixtures use."""
    return ts.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------- input


def _read_graph(graph: Any) -> tuple[dict[str, dict[str, Any]], nx.DiGraph]:
    if not isinstance(graph, Mapping):
        raise FixtureError(f"graph: expected a JSON object, got a JSON {type(graph).__name__}; {ACCEPTED}")
    nodes, edges = graph.get("nodes"), graph.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise FixtureError(f"graph: 'nodes' and 'edges' must both be lists; {ACCEPTED}")
    by_name: dict[str, dict[str, Any]] = {}
    for i, node in enumerate(nodes):
        if not isinstance(node, Mapping) or not isinstance(node.get("name"), str) or not node["name"]:
            raise FixtureError(f"graph: node #{i} has no 'name' string; every node needs one")
        name = node["name"]
        if node.get("kind") not in ("view", "table"):
            raise FixtureError(f"graph: node {name!r} has kind {node.get('kind')!r}; use 'view' or 'table'")
        if name in by_name:
            raise FixtureError(f"graph: node {name!r} appears twice; node names must be unique")
        by_name[name] = dict(node)
    g = nx.DiGraph()
    g.add_nodes_from(by_name)
    for i, edge in enumerate(edges):
        if not (isinstance(edge, Sequence) and not isinstance(edge, str) and len(edge) == 2):
            raise FixtureError(f"graph: edge #{i} is {edge!r}; expected [upstream, downstream]")
        up, down = edge
        for end in (up, down):
            if end not in by_name:
                raise FixtureError(f"graph: edge #{i} {[up, down]!r} names {end!r}, which is not a node")
        g.add_edge(up, down)
    return by_name, g


def graph_cycles(g: nx.DiGraph) -> list[list[str]]:
    """One concrete cycle per non-trivial strongly connected component, sorted."""
    found: list[list[str]] = []
    for comp in nx.strongly_connected_components(g):
        if len(comp) == 1:
            (only,) = comp
            if not g.has_edge(only, only):
                continue
        sub = g.subgraph(comp)
        start = min(comp)
        cycle = [u for u, _ in nx.find_cycle(sub, source=start)]
        pivot = cycle.index(min(cycle))
        found.append(cycle[pivot:] + cycle[:pivot])
    return sorted(found)


def _matches(full: str, short: str) -> bool:
    return full == short or full.endswith("." + short)


def cycle_closing_edges(g: nx.DiGraph) -> list[tuple[str, str, str]]:
    """Edges to drop so that ``g`` becomes a DAG, each with the rule that chose it.

    First the edges shared/data/real_graphs/README.md names; then, for any cycle left, the back edges
    of a depth-first search that visits roots and successors in sorted name order.
    """
    dropped: list[tuple[str, str, str]] = []
    cyclic_nodes = {n for c in graph_cycles(g) for n in c}
    for u, v in sorted(g.edges):
        if (
            u in cyclic_nodes
            and v in cyclic_nodes
            and any(_matches(u, a) and _matches(v, b) for a, b in KNOWN_CYCLE_EDGES)
        ):
            dropped.append((u, v, "named as cycle-closing in real_graphs/README.md"))
    h = g.copy()
    h.remove_edges_from((u, v) for u, v, _ in dropped)
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = finished
    for root in sorted(h.nodes):
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(h.successors(root))))]
        while stack:
            node, succ = stack[-1]
            nxt = next(succ, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                dropped.append((node, nxt, "back edge of a depth-first search in sorted name order"))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(h.successors(nxt)))))
    return dropped


# --------------------------------------------------------------------------------------------- names


def _sanitize(orig: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.$]", "_", orig)
    name = re.sub(r"\.{2,}", ".", name).strip(".") or "_"
    if not re.match(r"[A-Za-z_$]", name[0]):
        name = "_" + name
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(orig.encode(), usedforsecurity=False).hexdigest()[:8]
        name = name[: MAX_NAME - 9].rstrip(".") + "_" + digest
    return name


def _assign_names(by_name: Mapping[str, Mapping[str, Any]], posthog: set[str]) -> dict[str, str]:
    """Original name → fixture name: valid, unique, clear of HogQL's own tables; sorted for stability."""
    out: dict[str, str] = {}
    taken: set[str] = set(posthog)
    for orig in sorted(posthog):
        out[orig] = orig
    rest = sorted(set(by_name) - posthog)
    # Names that are already valid keep them; only the mapped ones can collide, and they yield.
    for orig in rest:
        if _sanitize(orig) == orig and orig.lower() not in HOGQL_RESERVED:
            out[orig] = orig
            taken.add(orig)
    for orig in rest:
        if orig in out:
            continue
        base = _sanitize(orig)
        if base.lower() in HOGQL_RESERVED:
            base += "_view" if by_name[orig]["kind"] == "view" else "_table"
        name, n = base, 1
        while name in taken:
            n += 1
            suffix = f"_{n}"
            name = base[: MAX_NAME - len(suffix)] + suffix
        taken.add(name)
        out[orig] = name
    return out


def _is_posthog_table(node: Mapping[str, Any]) -> bool:
    name = str(node["name"])
    return node["kind"] == "table" and (name in POSTHOG_TABLES or name.startswith("posthog."))


# --------------------------------------------------------------------------------------------- queries

_ColumnSpec = list[dict[str, str]]


def _cols(*pairs: tuple[str, str]) -> _ColumnSpec:
    return [{"name": n, "type": t} for n, t in pairs]


# HogQL shapes for generated views, as string.Template so that the SQL reads as SQL. $ref is a parent
# spelled by hogql_identifier; $cte a CTE name that no parent has.
_ONE_PARENT: Final = (
    Template(
        """SELECT
    src.id AS id,
    count() AS row_count,
    max(src.updated_at) AS updated_at
FROM $ref AS src
GROUP BY src.id"""
    ),
    Template(
        """WITH $cte AS (
    SELECT id, updated_at
    FROM $ref
    WHERE isNotNull(id)
)
SELECT
    toStartOfDay($cte.updated_at) AS day,
    uniq($cte.id) AS ids
FROM $cte
GROUP BY day
ORDER BY day DESC"""
    ),
    Template(
        """SELECT
    s.id AS id,
    s.n AS row_count
FROM (
    SELECT id, count() AS n
    FROM $ref
    GROUP BY id
) AS s
WHERE s.n > 0"""
    ),
)
_ONE_PARENT_COLUMNS: Final = (
    (("id", "string"), ("row_count", "integer"), ("updated_at", "datetime")),
    (("day", "datetime"), ("ids", "integer")),
    (("id", "string"), ("row_count", "integer")),
)
_JOIN_CTE: Final = Template("WITH $cte AS (\n    SELECT id, updated_at\n    FROM $ref\n)\n")
_UNION_ARM: Final = Template("    SELECT id, updated_at, '$label' AS source FROM $ref")
_UNION: Final = Template(
    """SELECT
    u.source AS source,
    count() AS row_count,
    max(u.updated_at) AS updated_at
FROM (
$arms
) AS u
GROUP BY u.source
ORDER BY u.source"""
)


def make_query(
    parents: Sequence[str], rng: random.Random, *, tables: Collection[str] = ()
) -> tuple[str, _ColumnSpec]:
    """A realistic HogQL SELECT whose FROM/JOIN targets are exactly ``parents``, and its columns.

    The shape depends on the number of parents (none: an empty placeholder; one: an aggregate, a CTE
    or a subquery; a few: a join chain; many: a UNION ALL), with the variant drawn from ``rng``.
    Dotted view names get backticks as PostHog prints them; dotted ``tables`` stay bare chains.
    """
    refs = [hogql_identifier(p, quote_dotted=p not in tables) for p in parents]
    if not parents:
        return (
            "SELECT NULL AS id, NULL AS updated_at WHERE false",
            _cols(("id", "string"), ("updated_at", "datetime")),
        )
    if len(parents) == 1:
        variant = rng.randrange(len(_ONE_PARENT))
        sql = _ONE_PARENT[variant].substitute(ref=refs[0], cte=_cte_name(parents))
        return sql, _cols(*_ONE_PARENT_COLUMNS[variant])
    if len(parents) <= 6:
        cols = [("id", "string"), ("updated_at", "datetime")]
        select = ["t0.id AS id", "t0.updated_at AS updated_at"]
        lines = []
        for i, ref in enumerate(refs[1:], start=1):
            kind = "LEFT JOIN" if rng.random() < 0.7 else "INNER JOIN"
            lines.append(f"{kind} {ref} AS t{i} ON equals(t{i}.id, t0.id)")
            select.append(f"t{i}.updated_at AS updated_at_{i}")
            cols.append((f"updated_at_{i}", "datetime"))
        prefix, first = "", refs[0]
        if rng.random() < 0.4:
            cte = _cte_name(parents)
            prefix, first = _JOIN_CTE.substitute(cte=cte, ref=refs[0]), cte
        head = ["SELECT", "    " + ",\n    ".join(select), f"FROM {first} AS t0"]
        return prefix + "\n".join(head + lines), _cols(*cols)
    arms = "\n    UNION ALL\n".join(
        _UNION_ARM.substitute(label=p.split(".")[-1], ref=ref) for p, ref in zip(parents, refs, strict=True)
    )
    return _UNION.substitute(arms=arms), _cols(
        ("source", "string"), ("row_count", "integer"), ("updated_at", "datetime")
    )


def _reads_exactly(sql: str, parents: Sequence[str]) -> bool:
    """True when ``sql`` is HogQL whose FROM/JOIN targets are exactly ``parents`` (so it can be kept)."""
    if not sql.strip() or any(mark in sql for mark in _JINJA):
        return False
    try:
        return extract_tables(sql) == sorted(parents)
    except HogQLError:
        return False


def _cte_name(parents: Sequence[str]) -> str:
    # A CTE named like a parent would hide that parent from a parser, so steer clear.
    taken = {p.lower() for p in parents}
    name, n = "base", 0
    while name in taken:
        n += 1
        name = f"base_{n}"
    return name


# --------------------------------------------------------------------------------------------- jobs


def make_jobs(
    *,
    view_name: str,
    view_id: str,
    ns: uuid.UUID,
    rng: random.Random,
    sync_frequency: str,
    health: str,
    size: int = 1,
    now: datetime = NOW,
    n_jobs: int | None = None,
    streak: int | None = None,
    stale_days: float | None = None,
    error: str | None = None,
    rows: int | None = None,
) -> list[dict[str, Any]]:
    """Job history of one materialized view, oldest first.

    ``health`` is ``"ok"`` (every run completes), ``"failing"`` (the last ``streak`` runs fail with
    ``error``) or ``"stale"`` (runs stopped ``stale_days`` ago, the last one completed).
    ``size`` (number of upstream edges, roughly) makes bigger views slower and bigger; ``rows`` fixes
    the row count of the first run instead of drawing it.
    """
    cadence = SYNC_SECONDS[sync_frequency]
    window = 30 * 86400
    if health == "stale":
        days = stale_days if stale_days is not None else max(3 * cadence / 86400, rng.uniform(9, 24))
        last_start = now - timedelta(days=days)
    else:
        last_start = now - timedelta(seconds=rng.uniform(0.1, 0.9) * min(cadence, 86400))
    if n_jobs is None:
        n_jobs = rng.randint(3, 20)
    if health != "stale":
        n_jobs = max(1, min(n_jobs, window // cadence))
    drawn = int(10 ** rng.uniform(3.0, 6.5) * (1 + size / 4))
    rows = drawn if rows is None else rows
    growth = rng.choice((0.0, 0.0, 0.002, 0.01, 0.03))
    base_seconds = 4 + rows / 40_000 + 3 * size
    starts = [last_start - timedelta(seconds=k * cadence * rng.uniform(0.97, 1.03)) for k in range(n_jobs)]
    starts.reverse()
    if health == "failing":
        if streak is None:
            streak = rng.randint(2, max(2, min(6, n_jobs - 1)))
        streak = min(streak, n_jobs)
    jobs: list[dict[str, Any]] = []
    for i, start in enumerate(starts):
        failed = health == "failing" and i >= n_jobs - (streak or 0)
        seconds = base_seconds * rng.uniform(0.8, 1.3)
        if failed:
            seconds = min(seconds * rng.uniform(0.2, 1.0), 600.0)
        created = start.replace(microsecond=0)
        finished = created + timedelta(seconds=round(seconds, 0) + 1)
        current = int(rows * (1 + growth) ** i)
        jobs.append(
            {
                "id": str(uuid.uuid5(ns, f"job:{view_name}:{i}")),
                "view": view_name,
                "status": "Failed" if failed else "Completed",
                "rows_materialized": 0 if failed else current,
                "rows_expected": None if failed else current,
                "error": (error or _ERRORS[0]) if failed else None,
                "created_at": iso(created),
                "last_run_at": iso(finished),
                "workflow_id": f"materialize-view-{view_id}-{created.strftime('%Y%m%d%H%M%S')}",
                "workflow_run_id": str(uuid.uuid5(ns, f"run:{view_name}:{i}")),
            }
        )
    return jobs


# --------------------------------------------------------------------------------------------- fixture


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


# The read key may list consumers over REST too (the crawl's fallback when system tables are refused).
CONSUMER_READ_SCOPES: Final = (
    "alert:read",
    "dashboard:read",
    "endpoint:read",
    "insight:read",
    "notebook:read",
)


def base_document(*, users: int = 2) -> dict[str, Any]:
    """The parts every fixture shares: format, clock, two API keys and the users."""
    people = [
        {"id": i + 1, "first_name": first, "last_name": last, "email": f"{first.lower()}@example.com"}
        for i, (first, last) in enumerate(_FIRST_NAMES[:users])
    ]
    return {
        "format": FORMAT,
        "team_id": 1,
        "now": iso(NOW),
        "api_keys": [
            {
                "key": READ_KEY,
                "scopes": [
                    "query:read",
                    "warehouse_table:read",
                    "warehouse_view:read",
                    *CONSUMER_READ_SCOPES,
                ],
                "user": 1,
            },
            {
                "key": WRITE_KEY,
                "scopes": ["query:read", "warehouse_table:read", "warehouse_view:write"],
                "user": 1,
            },
        ],
        "users": people,
    }


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
    by_name, g = _read_graph(graph)
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
    posthog = {n for n, d in by_name.items() if n not in view_names and _is_posthog_table(d)}
    names = _assign_names(by_name, posthog)
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
        kept = isinstance(sql, str) and _reads_exactly(sql, parents) and names[orig] == orig
        columns: _ColumnSpec = []
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
            error = rng.choice(_ERRORS).replace("{table}", names[parents_orig[0]] if parents else "events")
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


def seeded_rngs(seed: int) -> Callable[[str, str], random.Random]:
    """``make(kind, name)``: a Random seeded by (seed, kind, name); one node's draws never shift another's."""

    def make(kind: str, name: str) -> random.Random:
        return random.Random(f"{seed}\x1f{kind}\x1f{name}")

    return make
