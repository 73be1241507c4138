"""DOT text, Graphviz runs (svg/png/pdf), escaping of untrusted text, and the ``lineage render`` command."""

from __future__ import annotations

import functools
import json
import os
import random
import re
import shutil
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.cli import main
from lineage.errors import RenderError
from lineage.graph import LineageGraph
from lineage.render import LEGEND_ITEMS, to_dot, to_pdf, to_png, to_svg
from lineage.render.common import ERROR_MAX, LABEL_MAX, one_line, truncate
from lineage.render.graphviz_run import run_dot

GOLDEN = Path(__file__).parent / "golden" / "render"
SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"

# (case name, graph file, to_dot options)
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("chain", "chain", {"focus": ["0b0e-2"]}),
    ("folders", "folders", {"rankdir": "TB"}),
    ("folders_collapsed", "folders", {"collapse_folders": ["Finance"], "legend": False}),
    ("hostile", "hostile", {}),
]


def load_graph(name: str) -> nx.DiGraph:
    data = json.loads((GOLDEN / f"{name}.graph.json").read_text(encoding="utf-8"))
    return nx.node_link_graph(data, edges="edges")


def check_golden(path: Path, text: str) -> None:
    if os.environ.get("LINEAGE_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with LINEAGE_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} changed (LINEAGE_UPDATE_GOLDEN=1 to accept)"
    )


_ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def dot_nodes(dot: str) -> dict[str, dict[str, str]]:
    """Node statements of our DOT output: key -> raw (still escaped) attributes."""
    out = {}
    for m in re.finditer(r'^\s*"(\w+)" \[(.*)\];$', dot, re.M):
        out[m.group(1)] = dict(_ATTR.findall(m.group(2)))
    return out


def dot_edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r'^\s*"(\w+)" -> "(\w+)"', dot, re.M)


def key_of(dot: str, node_id: str) -> str:
    """Scene key of a graph node, found through its tooltip's id line (ids in the tests are plain)."""
    for key, attrs in dot_nodes(dot).items():
        if f"\\nid: {node_id}\\n" in attrs.get("tooltip", "") + "\\n":
            return key
    raise AssertionError(f"{node_id} not drawn")


def parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own SVG output, the very thing under test


def svg_groups(svg: str) -> tuple[list[ET.Element], list[ET.Element]]:
    root = parse_xml(svg)
    groups = list(root.iter(f"{SVG_NS}g"))
    return (
        [g for g in groups if g.get("class") == "node"],
        [g for g in groups if g.get("class") == "edge"],
    )


# -- golden files and determinism ----------------------------------------------------------------


@pytest.mark.parametrize(("case", "graph", "opts"), CASES, ids=[c[0] for c in CASES])
def test_golden_dot(case: str, graph: str, opts: dict[str, Any]) -> None:
    check_golden(GOLDEN / f"{case}.dot", to_dot(load_graph(graph), **opts))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_dot_is_independent_of_insertion_order(seed: int) -> None:
    g = load_graph("folders")
    rng = random.Random(seed)
    nodes = list(g.nodes(data=True))
    edges = list(g.edges)
    rng.shuffle(nodes)
    rng.shuffle(edges)
    h = nx.DiGraph(**g.graph)
    h.add_nodes_from(nodes)
    h.add_edges_from(edges)
    assert to_dot(h) == to_dot(g)


def test_lineage_graph_and_digraph_give_the_same_dot() -> None:
    g = load_graph("chain")
    assert to_dot(LineageGraph(g.copy())) == to_dot(g)


# -- what the DOT says ---------------------------------------------------------------------------


def test_shapes_fills_focus_and_links() -> None:
    g = load_graph("chain")
    dot = to_dot(g, focus=["orders_daily"])
    nodes = dot_nodes(dot)
    table, view, failed = key_of(dot, "events"), key_of(dot, "0b0e-1"), key_of(dot, "0b0e-2")
    running, ghost = key_of(dot, "0b0e-3"), key_of(dot, "ghost-1")
    assert nodes[table]["shape"] == "cylinder"
    assert nodes[view]["shape"] == "box"
    assert nodes[failed]["shape"] == "box3d"
    assert "dashed" in nodes[ghost]["style"]
    fills = {k: nodes[k]["fillcolor"] for k in (table, view, failed, running)}
    assert fills[failed] == "#f5a3a3"
    assert fills[running] == "#a9c8f5"
    assert fills[table] == fills[view] == "#e3e3e3"  # no jobs read: grey, whatever the status says
    assert nodes[key_of(dot, "0b0e-4")]["fillcolor"] == "#b9e4a8"
    assert [k for k, a in nodes.items() if "penwidth" in a] == [failed]
    assert "bold" in nodes[failed]["style"]
    assert nodes[failed]["URL"] == "https://us.posthog.com/project/42/sql?open_view=0b0e-2"
    assert "URL" not in nodes[table] and "URL" not in nodes[ghost]
    assert "URL" not in dot_nodes(to_dot(g, links=False))[failed]


def test_tooltip_has_status_last_run_and_truncated_error() -> None:
    g = load_graph("chain")
    g.nodes["0b0e-2"]["latest_error"] = "boom " * 200
    tip = dot_nodes(to_dot(g))[key_of(to_dot(g), "0b0e-2")]["tooltip"]
    assert "status: Failed" in tip
    assert "last run: 2026-11-25T03:00:00Z" in tip
    error = tip.split("latest error: ", 1)[1]
    assert error.endswith("\u2026") and len(error) <= ERROR_MAX


def test_clusters_by_folder_and_collapse() -> None:
    g = load_graph("folders")
    dot = to_dot(g)
    assert re.findall(r'graph \[.*label="(\w+)"', dot)[:3] == ["Finance", "Marketing", "Ops"]
    assert len(dot_edges(dot)) == g.number_of_edges()
    assert "cluster" not in to_dot(g, clusters=False).replace("cluster_legend", "")

    collapsed = to_dot(g, collapse_folders=["Finance"], legend=False)
    nodes = dot_nodes(collapsed)
    folder_keys = [k for k, a in nodes.items() if a["shape"] == "folder"]
    assert len(folder_keys) == 1
    fkey = folder_keys[0]
    assert nodes[fkey]["label"] == "Finance\\n(3 nodes)"
    assert nodes[fkey]["fillcolor"] == "#f5a3a3"  # worst member: v3 failed
    edges = dot_edges(collapsed)
    assert len(edges) == len(set(edges))
    assert (fkey, fkey) not in edges
    # every original edge survives, re-pointed at the folder when an end was inside it
    finance = {"v3", "v4", "v5"}
    keys = {n: fkey if n in finance else key_of(collapsed, n) for n in g.nodes}
    expected = {(keys[u], keys[v]) for u, v in g.edges if keys[u] != keys[v]}
    assert set(edges) == expected
    with pytest.raises(RenderError, match="'Nope' names no folder"):
        to_dot(g, collapse_folders=["Nope"])


def test_stubs_for_depth_limits() -> None:
    dot = to_dot(load_graph("chain"), legend=False)
    nodes = dot_nodes(dot)
    stubs = {k: a["label"] for k, a in nodes.items() if a.get("shape") == "note"}
    assert sorted(stubs.values()) == ["+2 more", "+3 more"]
    edges = dot_edges(dot)
    mrr, daily = key_of(dot, "0b0e-4"), key_of(dot, "0b0e-2")
    up_stub = next(k for k, v in stubs.items() if v == "+2 more")
    down_stub = next(k for k, v in stubs.items() if v == "+3 more")
    assert (up_stub, mrr) in edges and (daily, down_stub) in edges


def test_focus_and_options_errors() -> None:
    g = load_graph("chain")
    with pytest.raises(RenderError, match="focus node 'nope'"):
        to_dot(g, focus=["nope"])
    with pytest.raises(RenderError, match="rankdir"):
        to_dot(g, rankdir="XY")
    with pytest.raises(RenderError, match=r"LineageGraph or a networkx\.DiGraph"):
        to_dot({"nodes": []})


def test_bad_host_gives_no_links() -> None:
    g = load_graph("chain")
    for host in ("javascript:alert(1)//", 'us.posthog.com"><script>', "ftp://x"):
        g.graph["host"] = host
        assert "URL=" not in to_dot(g)
    g.graph["host"] = "http://localhost:8000"
    assert 'URL="http://localhost:8000/project/42/sql?open_view=0b0e-1"' in to_dot(g)


def test_node_limit() -> None:
    g = nx.path_graph(12, create_using=nx.DiGraph)
    nx.set_node_attributes(g, "table", "kind")
    with pytest.raises(RenderError, match=r"12 nodes, more than the drawing limit of 10.*select='"):
        to_dot(g, max_nodes=10)
    assert to_dot(g, max_nodes=12).count("->") == 11
    assert to_dot(g, max_nodes=None).count("->") == 11


# -- Graphviz: SVG structure, escaping -----------------------------------------------------------


@pytest.mark.parametrize(("case", "graph", "opts"), CASES, ids=[c[0] for c in CASES])
def test_svg_groups_match_the_scene(case: str, graph: str, opts: dict[str, Any]) -> None:
    g = load_graph(graph)
    svg = to_svg(g, **opts)
    nodes, edges = svg_groups(svg)
    drawn_dot = to_dot(g, **opts)
    stubs = sum(1 for a in dot_nodes(drawn_dot).values() if a.get("shape") == "note")
    collapse = opts.get("collapse_folders", ())
    members = sum(1 for n in g.nodes if g.nodes[n].get("folder") in collapse)
    legend = len(LEGEND_ITEMS) if opts.get("legend", True) else 0
    if collapse:
        assert len(nodes) == g.number_of_nodes() - members + len(collapse) + stubs + legend
    else:
        assert len(nodes) == g.number_of_nodes() + stubs + legend
        assert len(edges) == g.number_of_edges() + stubs
    assert len(stubs * "x") == sum(
        1 for n in g.nodes for k in ("more_upstream", "more_downstream") if g.nodes[n].get(k)
    )


def test_hostile_text_round_trips_through_graphviz() -> None:
    g = load_graph("hostile")
    svg = to_svg(g)
    root = parse_xml(svg)  # well-formed XML despite quotes, <script>, ]]>, control characters
    assert "<script" not in svg
    texts = [" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG_NS}text")]
    for _, attrs in g.nodes(data=True):
        label = truncate(one_line(attrs["name"]), LABEL_MAX)
        assert " ".join(label.split()) in texts, label
    titles = [a.get(f"{XLINK}title", "") for a in root.iter(f"{SVG_NS}a")]
    hostile_id = next(n for n in g.nodes if n.startswith("id-"))
    assert any(t.startswith("name: " + one_line(g.nodes[hostile_id]["name"])) for t in titles)
    assert any(f"id: {one_line(hostile_id)}\n" in t for t in titles)
    assert any("\\N\\l\\ &amp; &foo;" in t for t in titles)  # Graphviz escapes stayed literal
    href = [a.get(f"{XLINK}href", "") for a in root.iter(f"{SVG_NS}a") if a.get(f"{XLINK}href")]
    assert href and all(h.startswith("https://us.posthog.com/project/42/sql?open_view=") for h in href)
    assert all('"' not in h and "<" not in h and " " not in h for h in href)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(min_size=1, max_size=40), folder=st.text(max_size=20))
def test_any_name_survives_graphviz(name: str, folder: str) -> None:
    g = nx.DiGraph(host="us.posthog.com", project=1)
    g.add_node("a", name=name, kind="view", folder=folder, latest_error=name)
    g.add_node("b", name="b", kind="table")
    g.add_edge("b", "a")
    root = parse_xml(to_svg(g, legend=False))
    texts = [" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG_NS}text")]
    want = " ".join(truncate(one_line(name), LABEL_MAX).split())
    assert want in texts or not want


def test_png_and_pdf_bytes() -> None:
    g = load_graph("chain")
    assert to_png(g).startswith(b"\x89PNG\r\n\x1a\n")
    assert to_pdf(g).startswith(b"%PDF")


def _fake_dot(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "dot"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(tmp_path)


def test_missing_dot_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    g = load_graph("chain")
    for func in (to_png, to_pdf, functools.partial(to_svg, engine="graphviz")):
        with pytest.raises(RenderError) as info:
            func(g)
        text = str(info.value)
        assert "apt-get install graphviz" in text and "brew install graphviz" in text
        assert "format=dot" in text and "mermaid" in text and "svg and html" in text
    assert to_dot(g).startswith('digraph "lineage"')
    nodes, edges = svg_groups(to_svg(g))  # svg falls back to the built-in layout
    assert len(nodes) == len(dot_nodes(to_dot(g))) and len(edges) == len(dot_edges(to_dot(g)))


def test_dot_failure_and_timeout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sleep = shutil.which("sleep")
    monkeypatch.setenv("PATH", _fake_dot(tmp_path, 'echo "Error: syntax error in line 3" >&2; exit 1'))
    with pytest.raises(RenderError, match="Graphviz failed to draw the graph: Error: syntax error in line 3"):
        run_dot("digraph {}", "svg")
    monkeypatch.setenv("PATH", _fake_dot(tmp_path, f"exec {sleep} 5"))
    with pytest.raises(RenderError, match=r"longer than 0\.3 s"):
        run_dot("digraph {}", "svg", timeout=0.3)
    with pytest.raises(RenderError, match="format 'gif'"):
        run_dot("digraph {}", "gif")


# -- the command line ----------------------------------------------------------------------------


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "snap.json"
    LineageGraph(load_graph("chain")).save(path)
    return path


def test_cli_dot_to_stdout_matches_library(snapshot: Path) -> None:
    result = CliRunner().invoke(main, ["render", "--snapshot", str(snapshot), "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert result.output == to_dot(LineageGraph.load(snapshot))


def test_cli_selection_adds_cut_stubs_and_focus(snapshot: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.dot"
    args = ["render", "--snapshot", str(snapshot), "--select", "orders_daily", "--format", "dot"]
    result = CliRunner().invoke(
        main, [*args, "--out", str(out), "--focus", "orders_daily", "--rankdir", "TB"]
    )
    assert result.exit_code == 0, result.output
    dot = out.read_text()
    nodes = dot_nodes(dot)
    labels = sorted(a["label"] for a in nodes.values() if a.get("shape") == "note")
    # one upstream cut (orders_clean); downstream: 3 from the crawl's depth limit + revenue_kpis cut
    assert labels == ["+1 more", "+4 more"]
    assert 'rankdir="TB"' in dot and "penwidth" in dot
    result = CliRunner().invoke(main, [*args, "--no-stubs"])
    assert "+4 more" not in result.output and "+1 more" not in result.output
    assert "+3 more" in result.output  # the crawl's own depth-limit stub stays


def test_cli_binary_formats(snapshot: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.png"
    result = CliRunner().invoke(
        main, ["render", "--snapshot", str(snapshot), "--format", "png", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    result = CliRunner().invoke(main, ["render", "--snapshot", str(snapshot), "--format", "pdf"])
    assert result.exit_code == 0  # standard output is not a terminal here
    assert result.stdout_bytes.startswith(b"%PDF")


def test_cli_errors_are_clean(snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    base = ["render", "--snapshot", str(snapshot)]
    cases = [
        ([*base, "--max-nodes", "2", "--format", "dot"], "more than the drawing limit of 2"),
        ([*base, "--select", "no_such_view"], "no_such_view"),
        ([*base, "--select", "zzz_*"], "zzz_*"),
        (["render", "--snapshot", str(tmp_path / "missing.json")], "does not exist"),
        ([*base, "--format", "gif"], "gif"),
        ([*base, "--collapse-folder", "Nope", "--format", "dot"], "'Nope' names no folder"),
    ]
    for args, text in cases:
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert text in result.output and "Traceback" not in result.output
    monkeypatch.setenv("PATH", str(tmp_path))
    result = runner.invoke(main, [*base, "--format", "png", "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 2 and "apt-get install graphviz" in result.output
    assert runner.invoke(main, [*base, "--format", "mermaid"]).exit_code == 0
    result = runner.invoke(main, [*base, "--format", "svg"])
    assert result.exit_code == 0 and "built-in Python layout" in result.output


def test_cli_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["render", "--help"])
    assert result.exit_code == 0
    assert "lineage render --select" in result.output and "--collapse-folder" in result.output


def test_stale_views_are_amber_but_a_failed_newest_job_stays_red() -> None:
    import networkx as nx

    from lineage.render import to_dot

    g = nx.DiGraph(host="https://us.posthog.com", project="1")
    ok = {"kind": "matview", "is_materialized": True, "jobs": {"last_status": "Completed"}}
    g.add_node("a", name="fresh", **ok, stale=False)
    g.add_node("b", name="old", **ok, stale=True)
    g.add_node("c", name="broken", kind="matview", jobs={"last_status": "Failed"}, stale=True)
    text = to_dot(g, legend=False, links=False)
    fills = dict(re.findall(r'label="(fresh|old|broken)"[^\]]*?fillcolor="(#[0-9a-f]{6})"', text)) or {
        name: fill
        for fill, name in re.findall(r'fillcolor="(#[0-9a-f]{6})"[^\]]*label="(fresh|old|broken)"', text)
    }
    assert fills == {"fresh": "#b9e4a8", "old": "#f6d27a", "broken": "#f5a3a3"}
