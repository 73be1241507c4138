"""The built-in pure-Python layout and its SVG: determinism, completeness, geometry, escaping, fallback."""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.errors import RenderError
from lineage.render import LEGEND_ITEMS, to_svg
from lineage.render.common import LABEL_MAX, build_scene, one_line, truncate
from lineage.render.graphviz_run import FALLBACK_NOTE, PYTHON_NOTE
from lineage.render.layout import Box, Layout, LNode, layout

GOLDEN = Path(__file__).parent / "golden" / "render"
SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
SVG_TAGS = {"svg", "g", "title", "polygon", "path", "polyline", "text", "a"}

CASES: list[tuple[str, dict[str, Any]]] = [
    ("chain", {"focus": ["0b0e-2"]}),
    ("folders", {"rankdir": "TB"}),
    ("folders", {"collapse_folders": ["Finance"], "legend": False}),
    ("folders", {"clusters": False, "rankdir": "RL"}),
    ("hostile", {}),
]


def load_graph(name: str) -> nx.DiGraph:
    data = json.loads((GOLDEN / f"{name}.graph.json").read_text(encoding="utf-8"))
    return nx.node_link_graph(data, edges="edges")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own SVG output, the very thing under test


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == cls]


def random_dag(seed: int, n: int, p: float) -> nx.DiGraph:
    rng = random.Random(seed)
    g = nx.DiGraph()
    for i in range(n):
        g.add_node(f"v{i}", name="x" * rng.randint(1, 30), kind=rng.choice(["table", "view", "matview"]))
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < p:
                g.add_edge(f"v{i}", f"v{j}")
    return g


def lnodes(g: nx.DiGraph, seed: int) -> list[LNode]:
    rng = random.Random(seed)
    return [LNode(str(n), rng.uniform(30, 300), rng.uniform(20, 50)) for n in sorted(g.nodes)]


def assert_no_overlaps(placed: Layout) -> None:
    boxes = sorted(placed.boxes.items())
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1 :]:
            assert not ba.overlaps(bb), (a, ba, b, bb)


# -- the SVG as a whole --------------------------------------------------------------------------


@pytest.mark.parametrize(("graph", "opts"), CASES)
def test_every_scene_node_and_edge_drawn_exactly_once(graph: str, opts: dict[str, Any]) -> None:
    g = load_graph(graph)
    svg = to_svg(g, engine="python", **opts)
    assert svg == to_svg(g, engine="python", **opts)  # byte-identical twice
    root = parse(svg)
    scene_opts = {k: v for k, v in opts.items() if k not in ("rankdir", "legend")}
    scene = build_scene(g, **scene_opts)
    legend = [f"legend_{i}" for i in range(len(LEGEND_ITEMS))] if opts.get("legend", True) else []
    node_ids = [str(el.get("id")) for el in groups(root, "node")]
    assert sorted(node_ids) == sorted([sn.key for sn in scene.nodes] + legend)
    edge_ids = [str(el.get("id")) for el in groups(root, "edge")]
    assert sorted(edge_ids) == sorted(f"e_{e.tail}_{e.head}" for e in scene.edges)
    assert len(edge_ids) == len(set(edge_ids))
    # every node carries its tooltip as its first child, like Graphviz's <title>
    tips = {str(el.get("id")): el.find(f"{SVG_NS}title") for el in groups(root, "node")}
    for sn in scene.nodes:
        tip = tips[sn.key]
        assert tip is not None and tip.text == sn.tooltip
    assert PYTHON_NOTE in svg and "Graphviz dot was not found" not in svg
    assert float(str(root.get("width")).removesuffix("pt")) > 0


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_svg_is_independent_of_insertion_order(seed: int) -> None:
    g = load_graph("folders")
    rng = random.Random(seed)
    nodes = list(g.nodes(data=True))
    edges = list(g.edges)
    rng.shuffle(nodes)
    rng.shuffle(edges)
    h = nx.DiGraph(**g.graph)
    h.add_nodes_from(nodes)
    h.add_edges_from(edges)
    assert to_svg(h, engine="python") == to_svg(g, engine="python")


def test_shapes_fills_focus_links_and_stubs() -> None:
    g = load_graph("chain")
    root = parse(to_svg(g, engine="python", focus=["orders_daily"], legend=False))
    scene = build_scene(g, focus=["orders_daily"])
    drawn = {str(el.get("id")): el for el in groups(root, "node")}

    def shape(key: str) -> ET.Element:
        el = next(e for e in drawn[key].iter() if e.tag in (f"{SVG_NS}path", f"{SVG_NS}polygon"))
        return el

    for sn in scene.nodes:
        el = shape(sn.key)
        if sn.role == "stub":
            assert el.get("stroke-dasharray") and el.get("fill") == "#ffffff"
            continue
        assert el.get("fill") == {"failed": "#f5a3a3", "running": "#a9c8f5", "completed": "#b9e4a8"}.get(
            sn.health, "#e3e3e3"
        )
        assert (el.get("stroke-width") == "3") == sn.focus
        assert bool(el.get("stroke-dasharray")) == (sn.kind == "unknown" or sn.ghost)
        if sn.kind == "table":
            assert el.tag == f"{SVG_NS}path" and " A" in str(el.get("d"))  # the cylinder's arcs
        links = [a.get(f"{XLINK}href") for a in drawn[sn.key].iter(f"{SVG_NS}a")]
        assert links == ([sn.url] if sn.url else [])
    assert [sn.key for sn in scene.nodes if sn.focus] == [
        k for k in drawn if shape(k).get("stroke-width") == "3"
    ]
    stub_edges = [el for el in groups(root, "edge") if el.find(f"{SVG_NS}polygon") is None]
    assert len(stub_edges) == sum(1 for e in scene.edges if e.stub) == 2


def test_hostile_text_stays_inert() -> None:
    g = load_graph("hostile")
    svg = to_svg(g, engine="python")
    root = parse(svg)
    assert {el.tag.removeprefix(SVG_NS) for el in root.iter()} <= SVG_TAGS
    assert not [a for el in root.iter() for a in el.attrib if a.lower().startswith("on")]
    assert "<script" not in svg and "<img" not in svg
    texts = [" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG_NS}text")]
    titles = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}title")]
    for n, attrs in g.nodes(data=True):
        label = truncate(one_line(attrs["name"]), LABEL_MAX)
        assert " ".join(label.split()) in texts, label
        assert any(t.startswith("name: ") and f"\nid: {one_line(n)}\n" in t + "\n" for t in titles)
    hrefs = [str(a.get(f"{XLINK}href")) for a in root.iter(f"{SVG_NS}a")]
    assert hrefs and all(h.startswith("https://us.posthog.com/project/42/sql?open_view=") for h in hrefs)
    assert all('"' not in h and "<" not in h and " " not in h for h in hrefs)
    # ids are synthetic keys only
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", str(el.get("id"))) for el in root.iter() if el.get("id"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(min_size=1, max_size=40), folder=st.text(max_size=20))
def test_any_name_survives_the_python_svg(name: str, folder: str) -> None:
    g = nx.DiGraph(host="us.posthog.com", project=1)
    g.add_node("a", name=name, kind="view", folder=folder, latest_error=name)
    g.add_node("b", name="b", kind="table", folder=folder)
    g.add_edge("b", "a")
    root = parse(to_svg(g, engine="python", legend=False))
    assert {el.tag.removeprefix(SVG_NS) for el in root.iter()} <= SVG_TAGS
    texts = [" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG_NS}text")]
    want = " ".join(truncate(one_line(name), LABEL_MAX).split())
    assert want in texts or not want


# -- engines -------------------------------------------------------------------------------------


def test_auto_engine_falls_back_without_graphviz(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    g = load_graph("chain")
    with_dot = to_svg(g)
    assert PYTHON_NOTE not in with_dot and "Generated by graphviz" in with_dot
    monkeypatch.setenv("PATH", str(tmp_path))
    svg = to_svg(g)
    assert FALLBACK_NOTE in svg
    assert svg.replace(FALLBACK_NOTE, PYTHON_NOTE) == to_svg(g, engine="python")
    with pytest.raises(RenderError, match="apt-get install graphviz"):
        to_svg(g, engine="graphviz")
    with pytest.raises(RenderError, match="engine 'gv' is not one of auto, graphviz, python"):
        to_svg(g, engine="gv")
    with pytest.raises(RenderError, match="rankdir 'XY'"):
        to_svg(g, rankdir="XY")
    with pytest.raises(RenderError, match="more than the drawing limit of 3"):
        to_svg(g, max_nodes=3)


# -- the layout's geometry -----------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=100_000),
    n=st.integers(min_value=1, max_value=40),
    p=st.floats(min_value=0.0, max_value=0.3),
    rankdir=st.sampled_from(["LR", "TB", "RL", "BT"]),
)
def test_dag_layout_has_no_overlaps_and_edges_flow_downstream(
    seed: int, n: int, p: float, rankdir: str
) -> None:
    g = random_dag(seed, n, p)
    edges = sorted(g.edges)
    placed = layout(lnodes(g, seed), edges, rankdir=rankdir)
    assert_no_overlaps(placed)
    assert [(r.tail, r.head) for r in placed.routes] == edges
    axis, sign = {"LR": (0, 1), "RL": (0, -1), "TB": (1, 1), "BT": (1, -1)}[rankdir]
    for r in placed.routes:
        assert not r.reversed
        assert placed.layer_of[r.tail] < placed.layer_of[r.head]
        tail, head = placed.boxes[r.tail], placed.boxes[r.head]
        start, tip = r.segments[0][0], r.arrow[0] if r.arrow else r.segments[-1][3]
        # leaves the tail on its downstream side, ends on the head's upstream side
        tail_side = (
            (tail.right if sign > 0 else tail.left) if axis == 0 else (tail.bottom if sign > 0 else tail.top)
        )
        head_side = (
            (head.left if sign > 0 else head.right) if axis == 0 else (head.top if sign > 0 else head.bottom)
        )
        assert start[axis] == pytest.approx(tail_side)
        assert tip[axis] == pytest.approx(head_side)
        assert sign * (tip[axis] - start[axis]) > 0
    for b in placed.boxes.values():
        assert b.left >= 0 and b.right <= placed.width and b.top >= 0 and b.bottom <= placed.height
    assert placed == layout(lnodes(g, seed), edges, rankdir=rankdir)


def test_layers_are_longest_paths_and_sources_sit_next_to_their_readers() -> None:
    g = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "d"), ("a", "d"), ("s", "d")])
    placed = layout([LNode(k, 50, 30) for k in sorted(g.nodes)], sorted(g.edges))
    assert placed.layer_of == {"a": 0, "b": 1, "c": 2, "d": 3, "s": 2}


def test_cycles_are_broken_deterministically() -> None:
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "c"), ("x", "a")]
    nodes = [LNode(k, 40, 30) for k in "abcdx"]
    placed = layout(nodes, edges)
    assert placed == layout(nodes, edges)
    assert [(r.tail, r.head) for r in placed.routes] == edges
    back = {(r.tail, r.head) for r in placed.routes if r.reversed}
    assert back and len(back) == 2  # one edge per cycle, no more
    for r in placed.routes:
        assert (placed.layer_of[r.tail] > placed.layer_of[r.head]) == r.reversed
    assert_no_overlaps(placed)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=100_000),
    n=st.integers(min_value=2, max_value=30),
    folders=st.integers(min_value=1, max_value=4),
)
def test_folder_rectangles_hold_exactly_their_members(seed: int, n: int, folders: int) -> None:
    g = random_dag(seed, n, 0.15)
    rng = random.Random(seed)
    folder = {k: rng.choice([None, *(f"F{i}" for i in range(folders))]) for k in sorted(g.nodes)}
    nodes = [LNode(k, rng.uniform(30, 200), 30, folder[k]) for k in sorted(g.nodes)]
    placed = layout(nodes, sorted(g.edges), rankdir=rng.choice(["LR", "TB"]))
    assert set(placed.clusters) == {f for f in folder.values() if f is not None}
    drawn = [(k, r) for k, r in placed.clusters.items() if r is not None]
    for key, rect in drawn:
        for nd in nodes:
            box = placed.boxes[nd.key]
            if nd.cluster == key:
                assert rect.left <= box.left and box.right <= rect.right
                assert rect.top <= box.top and box.bottom <= rect.bottom
            else:
                assert not box.overlaps(rect)
    rects = [r for _, r in drawn]
    assert not any(a.overlaps(b) for i, a in enumerate(rects) for b in rects[i + 1 :])


def test_folders_get_a_rectangle_or_a_tag_with_a_legend_entry() -> None:
    g = load_graph("folders")
    scene = build_scene(g)
    root = parse(to_svg(g, engine="python"))
    boxed = {str(el.get("id")) for el in groups(root, "cluster")} - {"cluster_legend"}
    tagged = {
        "".join(t.itertext()).removeprefix("folder: ")
        for el in groups(root, "folder-tag")
        for t in el.iter(f"{SVG_NS}title")
    }
    assert boxed  # this small graph keeps at least one folder together
    assert {scene.clusters[k] for k in boxed} | tagged == set(scene.clusters.values())
    assert not {scene.clusters[k] for k in boxed} & tagged
    for sn in scene.nodes:
        node = next(el for el in groups(root, "node") if el.get("id") == sn.key)
        has_tag = any(p.get("class") == "folder-tag" for p in node.iter(f"{SVG_NS}polyline"))
        assert has_tag == (sn.cluster is not None and sn.cluster not in boxed)


def test_two_thousand_nodes_lay_out_cleanly() -> None:
    g = random_dag(7, 2000, 0.0012)
    nodes = [LNode(str(n), 40 + len(str(n)) * 6, 30, f"F{int(str(n)[1:]) % 13}") for n in sorted(g.nodes)]
    placed = layout(nodes, sorted(g.edges))
    assert len(placed.boxes) == 2000 and len(placed.routes) == g.number_of_edges()
    by_layer: dict[int, list[Box]] = {}
    for key, box in placed.boxes.items():
        by_layer.setdefault(placed.layer_of[key], []).append(box)
    for boxes in by_layer.values():
        boxes.sort(key=lambda b: b.y)
        assert all(a.bottom < b.top for a, b in pairwise(boxes))


def test_empty_and_bad_input() -> None:
    empty = layout([], [])
    assert empty.boxes == {} and empty.routes == [] and empty.width > 0
    with pytest.raises(RenderError, match="rankdir"):
        layout([LNode("a", 1, 1)], [], rankdir="XY")
    with pytest.raises(RenderError, match="share a key"):
        layout([LNode("a", 1, 1), LNode("a", 2, 2)], [])
    svg = to_svg(nx.DiGraph(), engine="python")
    assert len(groups(parse(svg), "node")) == len(LEGEND_ITEMS)
