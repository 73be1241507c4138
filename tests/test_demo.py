"""`lineage demo`: simulator + HTTP crawl + diagrams + reports, written to a directory."""

from __future__ import annotations

import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.cli import main
from lineage.demo import DEMO_FILES, DemoResult, most_depended_on, run_demo
from lineage.graph import LineageGraph
from lineage.sim.demo import load_demo_fixture

pytestmark = pytest.mark.loopback


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo") / "out")


@pytest.fixture(scope="module")
def fixture() -> dict[str, Any]:
    return load_demo_fixture()


def _ghost_id(fixture: dict[str, Any]) -> str:
    ghost = fixture["notes"]["ghost"]
    return next(str(v["id"]) for v in fixture["views"] if v["name"] == ghost and v.get("deleted"))


def test_writes_every_file_and_nothing_else(demo: DemoResult) -> None:
    assert [p.name for p in demo.written] == list(DEMO_FILES)
    assert demo.skipped == ()
    assert sorted(p.name for p in demo.out.iterdir()) == sorted(DEMO_FILES)  # no temporary files left
    for path in demo.written:
        assert path.stat().st_size > 0, path
    assert demo.seconds < 60


def test_snapshot_is_a_real_crawl_over_http(demo: DemoResult, fixture: dict[str, Any]) -> None:
    data = json.loads(demo.snapshot.read_text(encoding="utf-8"))
    g = nx.node_link_graph(data, edges="edges")
    assert g.is_directed() and data["graph"]["format"] == "lineage-snapshot/1"
    assert data["graph"]["host"].startswith("http://127.0.0.1:")
    assert data["graph"]["requests"] == demo.requests > 0
    live = {v["name"] for v in fixture["views"] if not v.get("deleted")}
    names = {a.get("name") for _, a in g.nodes(data=True)}
    assert live <= names
    # every saved query carries its HogQL, so column impact works on the demo snapshot
    views = [a for _, a in g.nodes(data=True) if a.get("kind") in ("view", "matview")]
    assert views and all(a.get("sql") for a in views)


def test_check_reports_the_staged_findings(demo: DemoResult, fixture: dict[str, Any]) -> None:
    notes = fixture["notes"]
    report = json.loads((demo.out / "check.json").read_text(encoding="utf-8"))
    by_rule: dict[str, set[str]] = {}
    for f in report["findings"]:
        by_rule.setdefault(f["rule"], set()).update({f["node"], f["node_id"]})
    assert notes["failing"] in by_rule["failing"]
    assert notes["stale"] in by_rule["stale"]
    assert _ghost_id(fixture) in by_rule["ghost"]
    text = (demo.out / "check.txt").read_text(encoding="utf-8")
    # the ghost is named from its reader's HogQL (crawl --with-sql); check.json carries its UUID
    for word in (notes["failing"], notes["stale"], notes["ghost"]):
        assert word in text
    # the snapshot on disk tells the same story as the in-memory result
    graph = LineageGraph.load(demo.snapshot)
    ghost = graph.node(_ghost_id(fixture))
    assert ghost.get("ghost") is True
    failing = graph.node(graph.resolve(notes["failing"]))
    assert failing["jobs"]["last_status"] == "Failed" and failing["latest_error"]


def test_impact_is_for_the_most_depended_on_view(demo: DemoResult) -> None:
    g = LineageGraph.load(demo.snapshot).nx
    counts = {
        a["name"]: len(nx.descendants(g, n))
        for n, a in g.nodes(data=True)
        if a["kind"] in ("view", "matview")
    }
    best = max(counts.values())
    assert counts[demo.impact_view] == best
    assert demo.impact_view == min(name for name, c in counts.items() if c == best)
    md = (demo.out / "impact.md").read_text(encoding="utf-8")
    html = (demo.out / "impact.html").read_text(encoding="utf-8")
    assert demo.impact_view.replace("_", "\\_") in md
    assert demo.impact_view in html and html.startswith("<!DOCTYPE html>")


def test_diagrams_are_well_formed(demo: DemoResult) -> None:
    root = ET.fromstring((demo.out / "lineage.svg").read_bytes())  # noqa: S314 - our own Graphviz output
    assert root.tag.endswith("svg")
    svg_text = (demo.out / "lineage.svg").read_text(encoding="utf-8")
    assert demo.impact_view in svg_text
    html = (demo.out / "lineage.html").read_text(encoding="utf-8")
    assert "<svg" in html and demo.impact_view in html


def test_no_api_key_in_any_file(demo: DemoResult, fixture: dict[str, Any]) -> None:
    keys = [str(k["key"]) for k in fixture["api_keys"]]
    assert keys
    for path in demo.out.iterdir():
        body = path.read_bytes()
        for key in keys:
            assert key.encode() not in body, f"{key} leaked into {path.name}"


def test_next_commands_work_on_the_snapshot(demo: DemoResult) -> None:
    cmds = demo.next_commands()
    assert len(cmds) >= 4
    runner = CliRunner()
    for cmd in cmds:
        argv = shlex.split(cmd)
        assert argv[0] == "lineage"
        result = runner.invoke(main, argv[1:])
        expected = 1 if "--fail-on" in argv else 0  # the demo has failing views on purpose
        assert result.exit_code == expected, (cmd, result.output)
        assert result.stdout.strip(), cmd
        assert "Traceback" not in result.output


def test_cli_prints_what_it_wrote_and_what_to_try(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    for name in DEMO_FILES:
        assert f"wrote {out / name}" in result.stdout
    assert "Try next:" in result.stdout
    assert "lineage check --snapshot" in result.stdout
    assert "phx_" not in result.output


def test_without_graphviz_draws_with_the_built_in_layout_and_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = tmp_path / "o"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(DEMO_FILES)
    assert "apt-get install graphviz" in result.stderr and "built-in layout" in result.stderr
    svg = (out / "lineage.svg").read_text(encoding="utf-8")
    assert "built-in Python layout" in svg
    ET.fromstring(svg)  # noqa: S314  # our own output, parsed to prove it is well-formed XML


def test_out_that_is_a_file_is_a_clean_error(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", "--out", str(target), "--no-progress"])
    assert result.exit_code == 2
    assert str(target) in result.stderr and "directory" in result.stderr
    assert "Traceback" not in result.output
    assert target.read_text(encoding="utf-8") == "x"


def _graph(edges: list[tuple[int, int]], kinds: list[str], order: list[int]) -> LineageGraph:
    g = LineageGraph()
    for i in order:
        g.add_node(f"n{i}", name=f"v{i % 3}_{i}", kind=kinds[i])
    for u, v in edges:
        g.add_edge(f"n{u}", f"n{v}")
    return g


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=8).flatmap(
        lambda n: st.tuples(
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] < e[1]),
                max_size=14,
            ),
            st.lists(st.sampled_from(["view", "matview", "table"]), min_size=n, max_size=n),
            st.permutations(range(n)),
        )
    )
)
def test_most_depended_on_is_a_maximum_and_ignores_insertion_order(
    case: tuple[list[tuple[int, int]], list[str], list[int]],
) -> None:
    edges, kinds, order = case
    if "view" not in kinds and "matview" not in kinds:
        kinds = ["view", *kinds[1:]]
    g = _graph(edges, kinds, sorted(order))
    shuffled = _graph(edges, kinds, order)
    chosen = most_depended_on(g)
    assert chosen == most_depended_on(shuffled)
    assert g.node(chosen)["kind"] in ("view", "matview")
    views = [n for n in g.nodes() if g.node(n)["kind"] != "table"]
    assert all(len(g.downstream(chosen)) >= len(g.downstream(n)) for n in views)
