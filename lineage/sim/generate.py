"""Simulator fixtures (``lineage-sim-fixture/1``) made from real lineage graphs.

:func:`fixture_from_graph` turns a graph in the ``shared/data/real_graphs`` format
(``{"nodes": [{"name", "kind", "sql"?, "path"?}], "edges": [[up, down]]}``) into a fixture the
simulator serves; given a ``lineage-snapshot/1`` file written by ``lineage crawl`` instead, it hands
over to :func:`fixture_from_snapshot`, which replays that crawled workspace (ids, names, folders,
materialization, jobs) offline. :func:`graph_of_fixture` gives the ground-truth lineage of any
fixture, with node ids as the API names them, so tests and benchmarks can compare a crawl against it.

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

from lineage.consumers.extract import CONSUMER_KINDS, endpoint_reads, insight_reads, notebook_reads
from lineage.errors import FixtureError, HogQLError
from lineage.hogql import extract_tables
from lineage.posthog import POSTHOG_TABLES as POSTHOG_HOGQL_TABLES
from lineage.posthog import SYNC_FREQUENCY_SECONDS, VIEW_NAME_MAX_LENGTH, VIEW_NAME_RE

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


def _cycles(g: nx.DiGraph) -> list[list[str]]:
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


def _cycle_closing_edges(g: nx.DiGraph) -> list[tuple[str, str, str]]:
    """Edges to drop so that ``g`` becomes a DAG, each with the rule that chose it.

    First the edges shared/data/real_graphs/README.md names; then, for any cycle left, the back edges
    of a depth-first search that visits roots and successors in sorted name order.
    """
    dropped: list[tuple[str, str, str]] = []
    cyclic_nodes = {n for c in _cycles(g) for n in c}
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


# The read key may list consumers over REST too (interfaces.md section 6).
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
    if is_snapshot(graph):
        return fixture_from_snapshot(graph, seed=seed, break_cycles=break_cycles)
    by_name, g = _read_graph(graph)
    notes: dict[str, Any] = {"source": str(graph.get("source", "")), "seed": seed}
    cycles = _cycles(g)
    if cycles and not break_cycles:
        shown = "; ".join(" -> ".join([*c, c[0]]) for c in cycles)
        raise FixtureError(
            f"graph has {len(cycles)} cycle(s): {shown}. A fixture must be acyclic: pass break_cycles=True "
            "(CLI: --break-cycles) to drop the cycle-closing edges and record them under 'notes'",
            cycles=cycles,
        )
    dropped = _cycle_closing_edges(g) if cycles else []
    g.remove_edges_from((u, v) for u, v, _ in dropped)

    # A "table" that reads something cannot be a warehouse table: it becomes a view.
    view_names = {n for n, d in by_name.items() if d["kind"] == "view" or g.in_degree(n) > 0}
    posthog = {n for n, d in by_name.items() if n not in view_names and _is_posthog_table(d)}
    names = _assign_names(by_name, posthog)
    ns = namespace_for_seed(seed)
    rng_of = _rngs(seed)
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


def _rngs(seed: int) -> Callable[[str, str], random.Random]:
    def make(kind: str, name: str) -> random.Random:
        return random.Random(f"{seed}\x1f{kind}\x1f{name}")

    return make


# --------------------------------------------------------------------------------------------- snapshots

_JOB_STATUSES: Final = frozenset({"Running", "Completed", "Failed", "Cancelled", "Skipped"})
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
    rng_of = _rngs(seed)
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
    cycles = _cycles(g)
    if cycles and not break_cycles:
        shown = "; ".join(" -> ".join(str(attrs_of[n].get("name", n)) for n in [*c, c[0]]) for c in cycles)
        raise FixtureError(
            f"snapshot has {len(cycles)} cycle(s): {shown}. A fixture must be acyclic: pass "
            "break_cycles=True (CLI: --break-cycles) to drop the cycle-closing edges",
            cycles=cycles,
        )
    dropped = [(u, v, "a table cannot read anything") for u, v in tables_fed]
    dropped += _cycle_closing_edges(g) if cycles else []
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
        if status not in _JOB_STATUSES or _parsed(created) is None:
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


# --------------------------------------------------------------------------------------------- truth


def graph_of_fixture(fixture: Mapping[str, Any], *, consumers: bool = False) -> nx.DiGraph:
    """Ground-truth lineage of a fixture, with node ids as the API names them.

    Saved queries and warehouse tables are their dashed UUIDs, PostHog tables their names. Nodes
    carry ``name``, ``kind`` (``view``, ``matview``, ``table``), ``table_kind`` for tables and
    ``deleted`` for views; edges point upstream → downstream. Deleted views stay (their children's
    paths still run through them). A view without ``parents`` gets the FROM/JOIN targets of its
    ``query``, as PostHog reads them. Views and warehouse tables need explicit ``id`` s.
    """
    g = nx.DiGraph()
    ids: dict[str, str] = {}
    for table in fixture.get("tables", []):
        kind = table.get("kind", "warehouse")
        node_id = table["name"] if kind == "posthog" else _explicit_id(table, "table")
        ids[table["name"]] = node_id
        if isinstance(table.get("hogql_name"), str):
            ids.setdefault(table["hogql_name"], node_id)  # a sourced table, as SQL names it
        g.add_node(node_id, name=table["name"], kind="table", table_kind=kind)
    views = list(fixture.get("views", []))
    for view in views:
        ids[view["name"]] = _explicit_id(view, "view")  # a view wins over a table, as PostHog resolves
        kind = "matview" if view.get("is_materialized") else "view"
        g.add_node(view["id"], name=view["name"], kind=kind, deleted=bool(view.get("deleted", False)))
    for view in views:
        parents = view.get("parents")
        if parents is None:
            parents = _parents_from_query(view)
        for parent in parents:
            if parent not in ids:
                raise FixtureError(
                    f"fixture view {view['name']!r} names parent {parent!r}, which is neither a view nor "
                    "a table of the fixture; add it under 'tables' or fix the view"
                )
            g.add_edge(ids[parent], view["id"])
    if consumers:
        _add_fixture_consumers(g, fixture, ids)
    return g


def _add_fixture_consumers(g: nx.DiGraph, fixture: Mapping[str, Any], ids: Mapping[str, str]) -> None:
    """The fixture's consumers as PostHog reads them (``consumers=True`` of :func:`graph_of_fixture`):
    live ones that read something of the warehouse, ids as in a snapshot (interfaces.md section 6)."""
    live_views = {v["name"] for v in fixture.get("views", []) if not v.get("deleted")}
    deleted = {v["name"]: v["id"] for v in fixture.get("views", []) if v.get("deleted")}

    def sources(names: list[str]) -> tuple[list[str], bool]:
        out, ours = [], False
        for name in names:
            if name in ids and (name in live_views or g.nodes[ids[name]].get("table_kind") == "warehouse"):
                out.append(ids[name])
                ours = True
            elif name in ids and name not in deleted:
                if ids[name] in g:
                    out.append(ids[name])
            elif name in deleted:
                out.append(deleted[name])
                ours = True
            elif name in POSTHOG_HOGQL_TABLES or name.split(".", 1)[0] in ("posthog", "system"):
                continue
            else:
                g.add_node(name, name=name, kind="unknown")
                out.append(name)
                ours = True
        return out, ours

    view_names = live_views | set(deleted)
    by_id: dict[int, str] = {}
    by_short: dict[str, str] = {}
    for x in fixture.get("insights", []):
        if x.get("deleted"):
            continue
        read, ours = sources(insight_reads(x.get("query"), x.get("filters")).names(view_names))
        if not ours:
            continue
        node = f"insight:{x['short_id']}"
        g.add_node(node, name=x.get("name"), kind="insight")
        g.add_edges_from((s, node) for s in read)
        by_id[x["id"]] = node
        by_short[x["short_id"]] = node
    boards = {d["id"]: d for d in fixture.get("dashboards", []) if not d.get("deleted")}
    for t in fixture.get("dashboard_tiles", []):
        if t.get("deleted") or t.get("dashboard_id") not in boards or t.get("insight_id") not in by_id:
            continue
        node = f"dashboard:{t['dashboard_id']}"
        g.add_node(node, name=boards[t["dashboard_id"]].get("name"), kind="dashboard")
        g.add_edge(by_id[t["insight_id"]], node)
    for a in fixture.get("alerts", []):
        if a.get("insight_id") in by_id:
            node = f"alert:{a['id']}"
            g.add_node(node, name=a.get("name"), kind="alert")
            g.add_edge(by_id[a["insight_id"]], node)
    for n in fixture.get("notebooks", []):
        if n.get("deleted"):
            continue
        reads = notebook_reads(n.get("content"))
        read, ours = sources(reads.names(view_names))
        embedded = [by_short[s] for s in sorted(reads.insights) if s in by_short]
        if not ours and not embedded:
            continue
        node = f"notebook:{n['short_id']}"
        g.add_node(node, name=n.get("title"), kind="notebook")
        g.add_edges_from((s, node) for s in [*read, *embedded])
    for e in fixture.get("endpoints", []):
        if e.get("deleted"):
            continue
        read, ours = sources(
            endpoint_reads(e.get("versions", []), e.get("current_version")).names(view_names)
        )
        if ours:
            node = f"endpoint:{e['name']}"
            g.add_node(node, name=e["name"], kind="endpoint")
            g.add_edges_from((s, node) for s in read)


def _explicit_id(item: Mapping[str, Any], what: str) -> str:
    value = item.get("id")
    if not isinstance(value, str):
        raise FixtureError(
            f"fixture {what} {item.get('name')!r} has no 'id'; graph_of_fixture needs explicit ids "
            "(fixture_from_graph always writes them)"
        )
    return value


def _parents_from_query(view: Mapping[str, Any]) -> list[str]:
    query = view.get("query")
    if isinstance(query, Mapping):
        query = query.get("query")
    if not isinstance(query, str):
        raise FixtureError(f"fixture view {view.get('name')!r} has neither 'parents' nor a 'query' string")
    try:
        return extract_tables(query)
    except HogQLError as exc:
        raise FixtureError(f"fixture view {view.get('name')!r}: its query does not parse: {exc}") from None
