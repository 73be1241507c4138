"""render --diff OLD: added, removed and changed nodes and edges in one picture."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
from click.testing import CliRunner

from lineage.analysis.diff import diff_graph
from lineage.cli import main
from lineage.graph import LineageGraph
from lineage.render import to_dot
from lineage.render.common import DIFF_COLOR, build_scene


def pair() -> tuple[nx.DiGraph, nx.DiGraph]:
    old = nx.DiGraph(crawled_at="2026-11-25T00:00:00Z")
    old.add_node("t", name="events", kind="table")
    old.add_node("a", name="a", kind="view", sql="SELECT 1 FROM events")
    old.add_node("gone", name="gone <b>", kind="view")
    old.add_node("keep", name="keep", kind="view")
    old.add_edges_from([("t", "a"), ("a", "gone"), ("t", "keep")])
    new = nx.DiGraph(crawled_at="2026-11-26T00:00:00Z")
    new.add_node("t", name="events", kind="table")
    new.add_node("a", name="a", kind="view", sql="SELECT 2 FROM events")
    new.add_node("fresh", name="fresh", kind="view")
    new.add_node("keep", name="keep", kind="view")
    new.add_edges_from([("t", "a"), ("a", "fresh"), ("t", "keep")])
    return old, new


def test_diff_graph_marks_each_change() -> None:
    old, new = pair()
    g = diff_graph(old, new)
    assert set(g.nodes) == {"t", "a", "gone", "keep", "fresh"}
    assert {n: g.nodes[n].get("diff") for n in g.nodes} == {
        "t": None, "a": "changed", "gone": "removed", "keep": None, "fresh": "added",
    }  # fmt: skip
    assert {(u, v): d.get("diff") for u, v, d in g.edges(data=True)} == {
        ("t", "a"): None, ("a", "gone"): "removed", ("a", "fresh"): "added", ("t", "keep"): None,
    }  # fmt: skip
    assert g.graph["crawled_at"] == "2026-11-26T00:00:00Z"
    # Identical snapshots: nothing marked.
    same = diff_graph(new, new)
    assert not any("diff" in d for _, d in same.nodes(data=True))
    assert not any("diff" in d for _, _, d in same.edges(data=True))


def test_scene_and_dot_draw_the_marks() -> None:
    old, new = pair()
    scene = build_scene(diff_graph(old, new))
    by_label = {sn.label: sn for sn in scene.nodes}
    assert by_label["+ fresh"].change == "added"
    assert by_label["\u2212 gone <b>"].change == "removed"
    assert by_label["~ a"].change == "changed"
    assert by_label["keep"].change is None
    dot = to_dot(diff_graph(old, new))
    assert dot.count(f'color="{DIFF_COLOR["added"]}"') == 3  # node, edge, legend sample
    assert dot.count(f'color="{DIFF_COLOR["removed"]}"') == 3
    assert "legend_diff_changed" in dot
    assert "legend_diff" not in to_dot(new)  # an ordinary picture has no diff legend


def test_cli_render_diff(tmp_path: Path) -> None:
    old, new = pair()
    a = str(LineageGraph(old).save(tmp_path / "old.json"))
    b = str(LineageGraph(new).save(tmp_path / "new.json"))
    runner = CliRunner()
    for engine in ("python",):
        result = runner.invoke(
            main, ["render", "--snapshot", b, "--diff", a, "--format", "svg", "--engine", engine]
        )
        assert result.exit_code == 0, result.output
        svg = result.output
        assert DIFF_COLOR["added"] in svg and DIFF_COLOR["removed"] in svg and DIFF_COLOR["changed"] in svg
        assert "gone &lt;b&gt;" in svg and "gone <b>" not in svg
    result = runner.invoke(
        main, ["render", "--snapshot", b, "--diff", a, "--format", "dot", "--select", "a+"]
    )
    assert result.exit_code == 0 and "fresh" in result.output and "gone" in result.output
    result = runner.invoke(main, ["render", "--snapshot", b, "--diff", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and result.output.startswith("lineage: ")
