from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lineage
from lineage.errors import InputError, RenderError, SelectorError, SnapshotError
from lineage.graph import SNAPSHOT_FORMAT, LineageGraph, load
from lineage.tables import EDGE_COLUMNS, JOB_COLUMNS, NODE_COLUMNS, edges_frame, jobs_frame, nodes_frame

UUID_A = "0190c1f2-0000-7000-8000-00000000000a"
UUID_B = "0190c1f2-0000-7000-8000-00000000000b"


def small() -> LineageGraph:
    """events -> orders_daily (A) -> revenue (B); stripe_charge -> orders_daily."""
    g = LineageGraph(host="https://us.posthog.com", project="1", crawled_at="2026-11-26T00:00:00Z")
    g.add_node("events", name="events", kind="table", table_kind="posthog")
    g.add_node("stripe-uuid", name="stripe_charge", kind="table", table_kind="warehouse")
    g.add_node(
        UUID_A,
        name="orders_daily",
        kind="matview",
        is_materialized=True,
        status="Completed",
        folder="Revenue",
        jobs={
            "runs": 4,
            "failures": 1,
            "last_status": "Completed",
            "median_duration_s": 2.5,
            "rows_last": 10,
        },
        columns=["day", "orders"],
    )
    g.add_node(UUID_B, name="revenue", kind="view", is_materialized=False, status=None, folder="Finance")
    g.add_edge("events", UUID_A)
    g.add_edge("stripe-uuid", UUID_A)
    g.add_edge(UUID_A, UUID_B)
    return g


# -- building and reading ------------------------------------------------------------------------


def test_add_node_defaults_and_updates() -> None:
    g = LineageGraph()
    g.add_edge("a", "b")
    assert g.node("a") == {"name": "a", "kind": "unknown"}
    g.add_node("a", kind="table", folder="X")
    assert g.node("a") == {"name": "a", "kind": "table", "folder": "X"}
    assert len(g) == 2 and "a" in g and "zz" not in g
    assert "format" not in g.attrs  # written by save(), not forced onto a wrapped graph


def test_add_node_refuses_bad_kind_and_id() -> None:
    g = LineageGraph()
    with pytest.raises(InputError) as info:
        g.add_node("a", kind="model")
    assert (
        str(info.value) == "node 'a': kind 'model' is not one of view, matview, table, unknown, "
        "insight, dashboard, notebook, endpoint, alert"
    )
    with pytest.raises(InputError, match="node id must be a non-empty string, got ''"):
        g.add_node("")


def test_node_unknown_id() -> None:
    with pytest.raises(InputError) as info:
        small().node("nope")
    assert str(info.value) == "no node with id 'nope' in the graph"


def test_resolve_by_name_id_and_uppercase_uuid() -> None:
    g = small()
    assert g.resolve("orders_daily") == UUID_A
    assert g.resolve(UUID_A) == UUID_A
    assert g.resolve(UUID_A.upper()) == UUID_A
    assert g.resolve("events") == "events"


def test_resolve_unknown_suggests_close_names() -> None:
    with pytest.raises(SelectorError) as info:
        small().resolve("order_daily")
    assert str(info.value) == "unknown view or table 'order_daily'; did you mean 'orders_daily'?"


def test_resolve_unknown_without_suggestion_says_what_to_do() -> None:
    with pytest.raises(SelectorError) as info:
        small().resolve("zzzzzzzz")
    assert str(info.value) == (
        "unknown view or table 'zzzzzzzz'; run \"lineage ls --select '*'\" to list the names in the snapshot"
    )


def test_resolve_ambiguous_name() -> None:
    g = small()
    g.add_node("ghost-id", name="revenue", kind="view", ghost=True)
    with pytest.raises(SelectorError) as info:
        g.resolve("revenue")
    assert str(info.value) == (
        f"name 'revenue' is ambiguous: it names 2 nodes ({UUID_B}, ghost-id); use one of these ids instead"
    )


def test_upstream_downstream_roots_leaves() -> None:
    g = small()
    assert g.upstream("revenue") == {UUID_A: 1, "events": 2, "stripe-uuid": 2}
    assert g.upstream("revenue", depth=1) == {UUID_A: 1}
    assert g.downstream("events") == {UUID_A: 1, UUID_B: 2}
    assert g.downstream(UUID_B) == {}
    assert g.roots() == ["events", "stripe-uuid"]
    assert g.leaves() == [UUID_B]
    sub = g.subgraph(["events", UUID_A, "not-there"])
    assert sub.nodes() == [UUID_A, "events"] and sub.edges() == [("events", UUID_A)]
    assert sub.node(UUID_A)["folder"] == "Revenue"


def test_topological_order_deterministic_and_cycle_error() -> None:
    g = small()
    assert g.topological_order() == ["events", "stripe-uuid", UUID_A, UUID_B]
    g.add_edge(UUID_B, "events")
    with pytest.raises(InputError) as info:
        g.topological_order()
    message = str(info.value)
    assert message.startswith("the lineage graph has a cycle (")
    assert message.endswith("), so it has no upstream-first order; break the cycle in one of these views")
    cycle = message.split("(", 1)[1].split(")")[0].split(" -> ")
    assert cycle[0] == cycle[-1] and set(cycle) == {"events", "orders_daily", "revenue"}


@st.composite
def dags(draw: st.DrawFn) -> nx.DiGraph:
    n = draw(st.integers(min_value=1, max_value=12))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=25)) if pairs else []
    graph = nx.DiGraph()
    graph.add_nodes_from(f"n{i}" for i in range(n))
    graph.add_edges_from((f"n{i}", f"n{j}") for i, j in chosen)
    return graph


@settings(max_examples=60, deadline=None)
@given(dags(), st.data())
def test_upstream_downstream_match_networkx(graph: nx.DiGraph, data: st.DataObject) -> None:
    g = LineageGraph()
    for node in graph:
        g.add_node(node)
    for u, v in graph.edges:
        g.add_edge(u, v)
    node = data.draw(st.sampled_from(sorted(graph)))
    depth = data.draw(st.none() | st.integers(min_value=0, max_value=4))
    down = nx.single_source_shortest_path_length(graph, node, cutoff=depth)
    up = nx.single_source_shortest_path_length(graph.reverse(), node, cutoff=depth)
    del down[node], up[node]
    assert g.downstream(node, depth) == down
    assert g.upstream(node, depth) == up
    order = g.topological_order()
    position = {n: i for i, n in enumerate(order)}
    assert sorted(order) == sorted(graph)
    assert all(position[u] < position[v] for u, v in graph.edges)


# -- snapshot files ------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
attr_names = st.text(min_size=1, max_size=8).filter(lambda k: k not in ("id", "name", "kind"))


@st.composite
def lineage_graphs(draw: st.DrawFn) -> LineageGraph:
    base = draw(dags())
    ids = draw(
        st.lists(st.text(min_size=1, max_size=10), min_size=len(base), max_size=len(base), unique=True)
    )
    rename = dict(zip(sorted(base), ids, strict=True))
    g = LineageGraph(**draw(st.dictionaries(attr_names, json_values, max_size=3)))
    for node in sorted(base):
        g.add_node(
            rename[node],
            name=draw(st.text(max_size=10)) or rename[node],
            kind=draw(st.sampled_from(["view", "matview", "table", "unknown"])),
            **draw(st.dictionaries(attr_names, json_values, max_size=4)),
        )
    for u, v in base.edges:
        g.add_edge(rename[u], rename[v], **draw(st.dictionaries(attr_names, json_scalars, max_size=2)))
    return g


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lineage_graphs())
def test_snapshot_round_trip(tmp_path: Path, g: LineageGraph) -> None:
    path = tmp_path / "snap.json"
    g.save(path)
    back = load(path)
    assert dict(back.nx.nodes(data=True)) == dict(g.nx.nodes(data=True))
    assert {(u, v): d for u, v, d in back.nx.edges(data=True)} == {
        (u, v): d for u, v, d in g.nx.edges(data=True)
    }
    assert back.attrs == {**g.attrs, "format": SNAPSHOT_FORMAT}
    # The contract: networkx itself reads the file as the same directed graph.
    plain = nx.node_link_graph(json.loads(path.read_text(encoding="utf-8")), edges="edges")
    assert plain.is_directed() and not plain.is_multigraph()
    assert dict(plain.nodes(data=True)) == dict(g.nx.nodes(data=True))
    assert set(plain.edges) == set(g.nx.edges)
    # Saving what was loaded gives the same bytes: the format is canonical.
    again = tmp_path / "again.json"
    back.save(again)
    assert again.read_bytes() == path.read_bytes()


def test_snapshot_is_sorted_and_independent_of_insertion_order(tmp_path: Path) -> None:
    g1 = small()
    g2 = LineageGraph(crawled_at="2026-11-26T00:00:00Z", project="1", host="https://us.posthog.com")
    for node in reversed(g1.nodes()):
        g2.add_node(node, **dict(reversed(list(g1.node(node).items()))))
    for u, v in reversed(g1.edges()):
        g2.add_edge(u, v)
    g1.save(tmp_path / "1.json")
    g2.save(tmp_path / "2.json")
    assert (tmp_path / "1.json").read_bytes() == (tmp_path / "2.json").read_bytes()
    data = json.loads((tmp_path / "1.json").read_text(encoding="utf-8"))
    assert list(data) == ["directed", "multigraph", "graph", "nodes", "edges"]
    assert list(data["graph"]) == ["format", "host", "project", "crawled_at"]
    assert [n["id"] for n in data["nodes"]] == sorted(n["id"] for n in data["nodes"])
    assert list(data["nodes"][0])[:3] == ["id", "name", "kind"]
    assert list(data["nodes"][0]["jobs"]) == sorted(data["nodes"][0]["jobs"])


def test_snapshot_stores_non_finite_floats_as_null(tmp_path: Path) -> None:
    g = LineageGraph()
    g.add_node("a", jobs={"median_duration_s": float("nan")})
    g.save(tmp_path / "s.json")
    assert load(tmp_path / "s.json").node("a")["jobs"] == {"median_duration_s": None}


def test_save_is_atomic_when_the_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "snap.json"
    small().save(path)
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    bigger = small()
    bigger.add_node("extra")
    with pytest.raises(InputError, match="No space left"):
        bigger.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap.json"]


def test_cli_common_still_exports_write_atomic() -> None:
    from lineage.cli import common
    from lineage.io import write_atomic

    assert common.write_atomic is write_atomic


def _write(tmp_path: Path, data: Any, name: str = "s.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _snapshot_error(path: Path) -> str:
    with pytest.raises(SnapshotError) as info:
        load(path)
    return str(info.value)


def test_load_refuses_newer_format(tmp_path: Path) -> None:
    path = _write(
        tmp_path, {"directed": True, "graph": {"format": "lineage-snapshot/2"}, "nodes": [], "edges": []}
    )
    assert _snapshot_error(path) == (
        f"snapshot {str(path)!r} has format 'lineage-snapshot/2', newer than this lineage reads "
        "('lineage-snapshot/1'); upgrade lineage, or crawl again with this version"
    )


def test_load_refuses_other_formats(tmp_path: Path) -> None:
    real_graph = _write(
        tmp_path, {"source": "x", "nodes": [{"name": "a", "kind": "view"}], "edges": [["a", "b"]]}
    )
    assert _snapshot_error(real_graph) == (
        f"snapshot {str(real_graph)!r} has no graph.format marker, not 'lineage-snapshot/1'; "
        "pass a snapshot written by 'lineage crawl'"
    )
    other = _write(tmp_path, {"graph": {"format": "lineage-sim-fixture/1"}}, "o.json")
    assert _snapshot_error(other) == (
        f"snapshot {str(other)!r} has format 'lineage-sim-fixture/1', not 'lineage-snapshot/1'; "
        "pass a snapshot written by 'lineage crawl'"
    )
    old = _write(tmp_path, {"graph": {"format": "lineage-snapshot/0"}}, "z.json")
    assert "has format 'lineage-snapshot/0', not 'lineage-snapshot/1'" in _snapshot_error(old)
    array = _write(tmp_path, [1, 2], "a.json")
    assert _snapshot_error(array) == (
        f"snapshot {str(array)!r} is not a lineage snapshot (a JSON list, not an object); "
        "pass a file written by 'lineage crawl'"
    )


def test_load_truncated_and_missing_files(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    small().save(good)
    cut = _write(tmp_path, good.read_text(encoding="utf-8")[:200], "cut.json")
    message = _snapshot_error(cut)
    assert message.startswith(f"snapshot {str(cut)!r} is not valid JSON (line ")
    assert message.endswith("it may be truncated: run 'lineage crawl' again")
    missing = tmp_path / "nope.json"
    assert _snapshot_error(missing) == (
        f"snapshot {str(missing)!r} does not exist; run 'lineage crawl' to make one, or pass --snapshot PATH"
    )
    assert (
        _snapshot_error(tmp_path) == f"snapshot {str(tmp_path)!r} is a directory; pass the snapshot JSON file"
    )
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "is not UTF-8 text" in _snapshot_error(binary)


def test_load_refuses_damaged_structure(tmp_path: Path) -> None:
    head = {"directed": True, "multigraph": False, "graph": {"format": SNAPSHOT_FORMAT}}
    p1 = _write(tmp_path, {**head, "nodes": [{"name": "x"}], "edges": []}, "1.json")
    assert _snapshot_error(p1) == (
        f'snapshot {str(p1)!r} has a node without a string id ({{"name": "x"}}); '
        "the file is damaged: crawl again"
    )
    p2 = _write(
        tmp_path, {**head, "nodes": [{"id": "a"}], "edges": [{"source": "a", "target": "b"}]}, "2.json"
    )
    assert _snapshot_error(p2) == (
        f"snapshot {str(p2)!r} has an edge 'a' -> 'b' to a node that is not in the file; crawl again"
    )
    p3 = _write(tmp_path, {**head, "nodes": [{"id": "a", "kind": "model"}], "edges": []}, "3.json")
    assert _snapshot_error(p3) == (
        f"snapshot {str(p3)!r}: node 'a' has kind 'model', not one of view, matview, table, unknown, "
        "insight, dashboard, notebook, endpoint, alert"
    )
    p4 = _write(tmp_path, {**head, "nodes": {}, "edges": []}, "4.json")
    assert (
        _snapshot_error(p4) == f"snapshot {str(p4)!r} has no 'nodes' list; the file is damaged: crawl again"
    )
    p5 = _write(tmp_path, {**head, "directed": False, "nodes": [], "edges": []}, "5.json")
    assert _snapshot_error(p5) == f"snapshot {str(p5)!r} must be a directed, non-multi graph; crawl again"


def test_load_fills_name_and_kind_defaults(tmp_path: Path) -> None:
    head = {"directed": True, "multigraph": False, "graph": {"format": SNAPSHOT_FORMAT}}
    path = _write(tmp_path, {**head, "nodes": [{"id": "a"}], "edges": []})
    assert load(path).node("a") == {"name": "a", "kind": "unknown"}


def test_package_exports() -> None:
    assert lineage.load is load and lineage.LineageGraph is LineageGraph
    assert callable(lineage.select)


# -- other formats -------------------------------------------------------------------------------


def test_graphml_flattens_nested_and_none_and_unifies_types(tmp_path: Path) -> None:
    g = small()
    g.add_node("events", jobs={"runs": 2.5})  # runs is int on orders_daily, float here: one key, float
    g.add_node(UUID_B, rows="many")
    g.add_node("stripe-uuid", rows=3)  # int and str mixed: one key, text
    path = g.to_graphml(tmp_path / "g.graphml")
    back = nx.read_graphml(path)
    assert back.is_directed()
    assert sorted(back.edges) == g.edges()
    a = back.nodes[UUID_A]
    assert a["jobs.runs"] == 4.0 and a["jobs.last_status"] == "Completed"
    assert a["columns"] == '["day", "orders"]'
    assert a["is_materialized"] is True
    assert "status" not in back.nodes[UUID_B]  # None is left out, not written as "None"
    assert back.nodes["events"]["jobs.runs"] == 2.5
    assert back.nodes["stripe-uuid"]["rows"] == "3" and back.nodes[UUID_B]["rows"] == "many"
    assert back.graph["project"] == "1"


def test_csv_export_defuses_formulas(tmp_path: Path) -> None:
    g = small()
    g.add_node("evil", name='=HYPERLINK("http://x")', kind="view", folder="@SUM(A1)")
    g.add_edge("evil", UUID_B)
    nodes_path, edges_path = g.to_csv(tmp_path / "n.csv", tmp_path / "e.csv")
    nodes_text = nodes_path.read_text(encoding="utf-8")
    assert nodes_text.splitlines()[0] == (
        "id,name,kind,table_kind,status,is_materialized,sync_frequency,folder,last_run_at,latest_error,"
        "upstream_count,downstream_count,columns,jobs.failures,jobs.last_status,jobs.median_duration_s,"
        "jobs.rows_last,jobs.runs"
    )
    assert 'evil,"\'=HYPERLINK(""http://x"")",view,,,,,\'@SUM(A1),' in nodes_text
    assert (
        f'{UUID_A},orders_daily,matview,,Completed,true,,Revenue,,,,,"[""day"", ""orders""]",1,'
        "Completed,2.5,10,4"
    ) in nodes_text
    assert edges_path.read_text(encoding="utf-8").splitlines() == [
        "source,target,source_name,target_name",
        f"{UUID_A},{UUID_B},orders_daily,revenue",
        f"events,{UUID_A},events,orders_daily",
        f'evil,{UUID_B},"\'=HYPERLINK(""http://x"")",revenue',
        f"stripe-uuid,{UUID_A},stripe_charge,orders_daily",
    ]


def test_repr_html_escapes_untrusted_text() -> None:
    g = small()
    g.attrs["host"] = "<script>alert(1)</script>"
    out = g._repr_html_()
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<tr><th>nodes</th><td>4</td></tr>" in out
    assert "<tr><th>kind: table</th><td>2</td></tr>" in out


def test_repr_svg_delegates_and_swallows_render_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("lineage.render")
    fake.to_svg = lambda graph: f"<svg>{len(graph)}</svg>"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lineage.render", fake)
    assert small()._repr_svg_() == "<svg>4</svg>"

    def failing(graph: LineageGraph) -> str:
        raise RenderError("dot is not installed")

    fake.to_svg = failing  # type: ignore[attr-defined]
    assert small()._repr_svg_() is None
    monkeypatch.setitem(sys.modules, "lineage.render", types.ModuleType("lineage.render"))
    assert small()._repr_svg_() is None  # no to_svg: an ImportError


# -- pandas tables -------------------------------------------------------------------------------


def test_nodes_frame() -> None:
    g = small()
    g.add_node(UUID_B, created_by={"id": 1, "email": "ada@example.com"})
    frame = nodes_frame(g)
    assert tuple(frame.columns) == NODE_COLUMNS
    assert list(frame["id"]) == sorted(g.nodes())
    row = frame.set_index("id").loc[UUID_A]
    assert row["name"] == "orders_daily" and bool(row["is_materialized"]) is True
    assert row["in_degree"] == 2 and row["out_degree"] == 1
    assert frame.set_index("id").loc[UUID_B, "created_by"] == "ada@example.com"
    assert frame.set_index("id").loc["events", "status"] is None
    assert str(frame["upstream_count"].dtype) == "Int64" and str(frame["ghost"].dtype) == "boolean"


def test_edges_and_jobs_frames() -> None:
    g = small()
    edges = edges_frame(g)
    assert tuple(edges.columns) == EDGE_COLUMNS
    assert [tuple(r) for r in edges[["source", "target"]].itertuples(index=False)] == g.edges()
    assert list(edges["target_name"]) == ["revenue", "orders_daily", "orders_daily"]
    jobs = jobs_frame(g)
    assert tuple(jobs.columns) == JOB_COLUMNS
    assert list(jobs["id"]) == [UUID_A]
    assert jobs.loc[0, "runs"] == 4 and jobs.loc[0, "median_duration_s"] == 2.5
    assert jobs.loc[0, "failure_streak"] is not None  # missing → <NA>, a nullable integer
    empty = jobs_frame(LineageGraph())
    assert tuple(empty.columns) == JOB_COLUMNS and len(empty) == 0


def test_resolve_sees_names_edited_in_place() -> None:
    g = small()
    g.node(UUID_B)["name"] = "revenue_v2"
    assert g.resolve("revenue_v2") == UUID_B
    with pytest.raises(SelectorError, match="did you mean 'revenue_v2'"):
        g.resolve("revenue")
