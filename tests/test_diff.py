"""diff(): laws (diff(a, a) is empty, swapping arguments swaps added/removed) and each kind of change; CLI."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.analysis import diff
from lineage.cli import main
from lineage.graph import LineageGraph


@st.composite
def graphs(draw: st.DrawFn) -> nx.DiGraph:
    ids = draw(st.lists(st.sampled_from([f"n{i}" for i in range(10)]), max_size=8, unique=True))
    g = nx.DiGraph(crawled_at="2026-11-26T00:00:00Z")
    for i in ids:
        g.add_node(
            i,
            name=draw(st.sampled_from([i, f"{i}_renamed"])),
            kind="view",
            sql=draw(st.sampled_from(["SELECT 1", "SELECT 2\nFROM t"])),
            sync_frequency=draw(st.sampled_from([None, "1hour", "24hour"])),
            is_materialized=draw(st.booleans()),
        )
    for u in ids:
        for v in ids:
            if u < v and draw(st.booleans()):
                g.add_edge(u, v)
    return g


@settings(max_examples=80, deadline=None)
@given(graphs())
def test_diff_with_itself_is_empty(g: nx.DiGraph) -> None:
    d = diff(g, g)
    assert d.is_empty
    assert all(not v for k, v in d.to_dict().items() if k not in ("old", "new"))


@settings(max_examples=80, deadline=None)
@given(graphs(), graphs())
def test_swapping_arguments_swaps_added_and_removed(a: nx.DiGraph, b: nx.DiGraph) -> None:
    ab, ba = diff(a, b), diff(b, a)
    assert ab.nodes_added == ba.nodes_removed and ab.nodes_removed == ba.nodes_added
    assert ab.edges_added == ba.edges_removed and ab.edges_removed == ba.edges_added
    assert {(r.id, r.old, r.new) for r in ab.renamed} == {(r.id, r.new, r.old) for r in ba.renamed}
    assert {(c.id, c.field, c.old, c.new) for c in ab.changes} == {
        (c.id, c.field, c.new, c.old) for c in ba.changes
    }
    assert {s.id for s in ab.sql_changed} == {s.id for s in ba.sql_changed}
    assert {n.id for n in ab.nodes_added} == set(b.nodes) - set(a.nodes)
    assert {(e.source_id, e.target_id) for e in ab.edges_added} == set(b.edges) - set(a.edges)


def _pair() -> tuple[nx.DiGraph, nx.DiGraph]:
    old = nx.DiGraph(crawled_at="2026-11-25T00:00:00Z")
    old.add_node("events", name="events", kind="table")
    old.add_node(
        "u1",
        name="orders",
        kind="matview",
        is_materialized=True,
        sync_frequency="24hour",
        sql="SELECT id\nFROM events",
        status="Completed",
        jobs={"last_status": "Completed", "last_success_at": "2026-11-24T23:00:00Z"},
    )
    old.add_node("u2", name="old_name", kind="view", sql="SELECT * FROM orders")
    old.add_node("u3", name="gone", kind="view", sql="SELECT 1")
    old.add_edges_from([("events", "u1"), ("u1", "u2"), ("events", "u3")])
    new = nx.DiGraph(crawled_at="2026-11-26T00:00:00Z")
    new.add_node("events", name="events", kind="table")
    new.add_node(
        "u1",
        name="orders",
        kind="matview",
        is_materialized=True,
        sync_frequency="1hour",
        sql="SELECT id, amount\nFROM events",
        status="Failed",
        latest_error="boom",
        jobs={"last_status": "Failed", "failure_streak": 1},
    )
    new.add_node("u2", name="new_name", kind="view", sql="SELECT * FROM orders")
    new.add_node("u4", name="fresh", kind="view", sql="SELECT 2 FROM new_name")
    new.add_edges_from([("events", "u1"), ("u1", "u2"), ("u2", "u4")])
    return old, new


def test_each_kind_of_change() -> None:
    d = diff(*_pair())
    assert [n.name for n in d.nodes_added] == ["fresh"]
    assert [n.name for n in d.nodes_removed] == ["gone"]
    assert [(e.source, e.target) for e in d.edges_added] == [("new_name", "fresh")]
    assert [(e.source, e.target) for e in d.edges_removed] == [("events", "gone")]
    assert [(r.old, r.new) for r in d.renamed] == [("old_name", "new_name")]
    assert [s.name for s in d.sql_changed] == ["orders"]
    assert "-SELECT id\n+SELECT id, amount" in d.sql_changed[0].diff
    changes = {(c.name, c.field): (c.old, c.new) for c in d.changes}
    assert changes == {
        ("orders", "sync_frequency"): ("24hour", "1hour"),
        ("orders", "status"): ("Completed", "Failed"),
        ("orders", "health"): ("ok", "failing"),
    }
    frame = d.to_frame()
    assert set(frame["change"]) >= {"node added", "node removed", "renamed", "sql", "health"}


def test_materialization_change() -> None:
    old, new = _pair()
    new.nodes["u2"]["is_materialized"] = True
    assert ("new_name", "is_materialized", None, True) in {
        (c.name, c.field, c.old, c.new) for c in diff(old, new).changes
    }


def test_cli_diff(tmp_path: Path) -> None:
    old, new = _pair()
    a = LineageGraph(old).save(tmp_path / "a.json")
    b = LineageGraph(new).save(tmp_path / "b.json")
    runner = CliRunner()
    result = runner.invoke(main, ["diff", str(a), str(b), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [n["name"] for n in data["nodes_added"]] == ["fresh"]
    result = runner.invoke(main, ["diff", str(a), str(a)])
    assert result.exit_code == 0 and "No changes." in result.output
    out = tmp_path / "d.md"
    result = runner.invoke(main, ["diff", str(a), str(b), "--out", str(out)])
    assert result.exit_code == 0 and "## Renamed (1)" in out.read_text()
    result = runner.invoke(main, ["diff", str(a), str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert "missing.json" in result.output and "Traceback" not in result.output
    help_text = runner.invoke(main, ["diff", "--help"]).output
    assert "Example" in help_text
