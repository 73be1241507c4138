"""impact(): agreement with networkx on random DAGs, the refresh plan, health and links."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.analysis import impact
from lineage.cli import main
from lineage.errors import InputError
from lineage.graph import LineageGraph


@st.composite
def dags(draw: st.DrawFn) -> tuple[nx.DiGraph, int]:
    n = draw(st.integers(min_value=1, max_value=18))
    # names in a shuffled order so that id order and name order disagree (tests the tie-break)
    names = draw(st.permutations([f"v{i:02d}" for i in range(n)]))
    g = nx.DiGraph()
    for i in range(n):
        g.add_node(i, name=names[i], kind="view")
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if pairs:
        for u, v in draw(st.lists(st.sampled_from(pairs), max_size=3 * n, unique=True)):
            g.add_edge(u, v)
    return g, draw(st.integers(min_value=0, max_value=n - 1))


@settings(max_examples=150, deadline=None)
@given(dags())
def test_impact_agrees_with_networkx(case: tuple[nx.DiGraph, int]) -> None:
    g, target = case
    report = impact(g, g.nodes[target]["name"])
    by_name = {g.nodes[n]["name"]: n for n in g}
    affected = {by_name[a.name] for a in report.affected}
    assert affected == nx.descendants(g, target)
    assert target not in affected
    assert report.target.depth == 0 and report.target.path == (g.nodes[target]["name"],)
    lengths = nx.single_source_shortest_path_length(g, target)
    for a in report.affected:
        node = by_name[a.name]
        assert a.depth == lengths[node]
        assert a.path[0] == g.nodes[target]["name"] and a.path[-1] == a.name
        assert len(a.path) == a.depth + 1
        hops = [by_name[p] for p in a.path]
        assert all(g.has_edge(u, v) for u, v in itertools.pairwise(hops))
        # deterministic tie-break: the smallest name sequence among all shortest paths
        best = min(tuple(g.nodes[x]["name"] for x in p) for p in nx.all_shortest_paths(g, target, node))
        assert a.path == best
    keys = [(a.depth, a.name) for a in report.affected]
    assert keys == sorted(keys)
    assert report.summary.affected == len(affected)


@settings(max_examples=60, deadline=None)
@given(dags(), st.integers(min_value=1, max_value=4))
def test_max_depth_cuts_at_distance(case: tuple[nx.DiGraph, int], k: int) -> None:
    g, target = case
    report = impact(g, g.nodes[target]["name"], max_depth=k)
    lengths = nx.single_source_shortest_path_length(g, target, cutoff=k)
    assert {a.name for a in report.affected} == {g.nodes[n]["name"] for n, d in lengths.items() if d > 0}


def _warehouse() -> nx.DiGraph:
    """charges -> orders(mat 1h, 60s) -> daily(mat 24h, 300s) -> weekly(view) -> board(mat 24h, 30s)
    and orders -> refunds(mat 1h, 500s, failing) -> board."""
    g = nx.DiGraph(host="https://eu.posthog.com/", project=42, crawled_at="2026-11-26T00:00:00Z")
    ok = {"last_status": "Completed", "last_success_at": "2026-11-25T23:30:00Z", "runs": 10, "failures": 0}
    g.add_node("charges", name="charges", kind="table")
    g.add_node(
        "u-orders",
        name="orders",
        kind="matview",
        is_materialized=True,
        sync_frequency="1hour",
        jobs={**ok, "median_duration_s": 60, "rows_last": 1200},
        created_by={"email": "ada@example.com"},
        folder="Revenue",
        status="Completed",
    )
    g.add_node(
        "u-daily",
        name="daily",
        kind="matview",
        is_materialized=True,
        sync_frequency="24hour",
        jobs={**ok, "median_duration_s": 300, "rows_last": 30},
        status="Completed",
    )
    g.add_node("u-weekly", name="weekly", kind="view", is_materialized=False)
    g.add_node(
        "u-refunds",
        name="refunds",
        kind="matview",
        is_materialized=True,
        sync_frequency="1hour",
        jobs={
            "last_status": "Failed",
            "failure_streak": 3,
            "median_duration_s": 500,
            "last_success_at": "2026-11-25T23:00:00Z",
        },
        status="Failed",
        latest_error="Code: 47 unknown identifier",
    )
    g.add_node(
        "u-board",
        name="board",
        kind="matview",
        is_materialized=True,
        sync_frequency="24hour",
        jobs={**ok, "median_duration_s": 30, "last_success_at": "2026-11-20T00:00:00Z"},
        status="Completed",
    )
    g.add_edges_from(
        [
            ("charges", "u-orders"),
            ("u-orders", "u-daily"),
            ("u-daily", "u-weekly"),
            ("u-weekly", "u-board"),
            ("u-orders", "u-refunds"),
            ("u-refunds", "u-board"),
        ]
    )
    return g


def test_summary_refresh_plan_and_broken() -> None:
    report = impact(_warehouse(), "orders")
    s = report.summary
    assert [a.name for a in report.affected] == ["daily", "refunds", "board", "weekly"]
    assert dict(s.by_kind) == {"matview": 3, "view": 1}
    assert s.refresh_order == ("orders", "daily", "refunds", "board")
    # orders 60 -> refunds 500 -> board 30 beats orders 60 -> daily 300 -> weekly 0 -> board 30
    assert s.critical_path == ("orders", "refunds", "board")
    assert s.estimated_refresh_s == 590
    assert [(b.name, b.health) for b in s.broken] == [("refunds", "failing"), ("board", "stale")]
    board = next(a for a in report.affected if a.name == "board")
    assert board.path == ("orders", "daily", "weekly", "board") or board.path == (
        "orders",
        "refunds",
        "board",
    )
    assert board.path == ("orders", "refunds", "board")  # shortest: 2 hops
    refunds = next(a for a in report.affected if a.name == "refunds")
    assert refunds.failure_streak == 3 and refunds.last_status == "Failed"
    assert refunds.url == "https://eu.posthog.com/project/42/sql?open_view=u-refunds"
    assert report.target.owner == "ada@example.com" and report.target.folder == "Revenue"
    assert report.target.rows == 1200


def test_json_shape_and_frame() -> None:
    data = impact(_warehouse(), "u-orders").to_dict()
    assert data["target"]["name"] == "orders"
    for row in data["affected"]:
        assert {"id", "name", "kind", "depth", "path"} <= set(row)
        assert isinstance(row["path"], list)
    frame = impact(_warehouse(), "orders").to_frame()
    assert list(frame["name"]) == ["daily", "refunds", "board", "weekly"]
    assert frame.loc[0, "path"] == "orders > daily"


def test_tables_have_no_link_and_unknown_view_is_input_error() -> None:
    report = impact(_warehouse(), "charges")
    assert report.target.url is None
    assert report.summary.affected == 5
    with pytest.raises(InputError, match="'nope'"):
        impact(_warehouse(), "nope")
    with pytest.raises(InputError, match="max_depth=0 must be 1 or more"):
        impact(_warehouse(), "orders", max_depth=0)


def test_accepts_lineage_graph_and_stale_depends_on_now() -> None:
    lg = LineageGraph(_warehouse())
    late = impact(lg, "orders", now="2026-11-28T00:00:00Z")
    assert {b.name for b in late.summary.broken} == {"orders", "refunds", "board", "daily"}
    early = impact(lg, "orders", now="2026-11-25T23:59:00Z")
    assert {b.name for b in early.summary.broken} == {"refunds", "board"}


def _snapshot(tmp_path: Path) -> Path:
    g = _warehouse()
    g.nodes["u-orders"]["sql"] = "SELECT id, amount FROM charges"
    g.nodes["u-daily"]["sql"] = "SELECT sum(amount) AS revenue FROM orders"
    g.nodes["u-refunds"]["sql"] = "SELECT id FROM orders WHERE amount < 0"
    g.nodes["u-weekly"]["sql"] = "SELECT revenue FROM daily"
    g.nodes["u-board"]["sql"] = "SELECT * FROM weekly JOIN refunds ON 1 = 1"
    return LineageGraph(g).save(tmp_path / "snap.json")


def test_cli_impact_formats_and_errors(tmp_path: Path) -> None:
    snap = str(_snapshot(tmp_path))
    runner = CliRunner()
    result = runner.invoke(main, ["impact", "orders", "--snapshot", snap, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["target"]["name"] == "orders"
    assert [a["name"] for a in data["affected"]] == ["daily", "refunds", "board", "weekly"]
    for fmt, marker in (
        ("md", "# Impact of orders"),
        ("csv", "id,name,kind,depth,path"),
        ("html", "<!DOCTYPE html>"),
        ("table", "impact of orders"),
    ):
        result = runner.invoke(main, ["impact", "orders", "--snapshot", snap, "--format", fmt])
        assert result.exit_code == 0 and marker in result.output, (fmt, result.output)
    result = runner.invoke(
        main, ["impact", "orders", "--snapshot", snap, "--max-depth", "1", "--format", "json"]
    )
    assert [a["name"] for a in json.loads(result.output)["affected"]] == ["daily", "refunds"]
    out = tmp_path / "impact.md"
    result = runner.invoke(main, ["impact", "u-orders", "--snapshot", snap, "--out", str(out)])
    assert result.exit_code == 0 and "## Affected" in out.read_text()
    result = runner.invoke(
        main, ["impact", "orders", "--snapshot", snap, "--column", "amount", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    col = json.loads(result.output)
    expected = {
        ("daily", "revenue"),
        ("weekly", "revenue"),
        ("board", "revenue"),
    }  # board: SELECT * FROM weekly
    assert {(d["view"], d["column"]) for d in col["derived"]} == expected
    assert {(u["view"], u["clause"]) for u in col["usages"]} == {("refunds", "WHERE")}
    assert col["unknown"] == [] and col["unaffected"] == []
    # bad input: exit 2, one line, no traceback
    for args in (
        ["impact", "nope", "--snapshot", snap],
        ["impact", "orders", "--snapshot", str(tmp_path / "x.json")],
        ["impact", "orders", "--snapshot", snap, "--max-depth", "0"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    assert "Example" in runner.invoke(main, ["impact", "--help"]).output
