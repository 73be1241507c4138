"""Mermaid flowcharts: golden files, structure that GitHub/Notion parse, and escaping of untrusted text."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.errors import RenderError
from lineage.render import to_mermaid
from lineage.render.common import LABEL_MAX, one_line, truncate
from lineage.render.mermaid import escape_label

GOLDEN = Path(__file__).parent / "golden" / "render"
NODE_LINE = re.compile(
    r'^\s*([a-z]+\d+|[ud][fn]\d+)(\[\(|\[\[|\{\{|\(\[|\[/|\[)"([^"]*)"(\)\]|\]\]|\}\}|\]\)|/\]|\])$'
)
ENTITY = re.compile(r"#(\d+);")


def load_graph(name: str) -> nx.DiGraph:
    data = json.loads((GOLDEN / f"{name}.graph.json").read_text(encoding="utf-8"))
    return nx.node_link_graph(data, edges="edges")


def decode(label: str) -> str:
    return ENTITY.sub(lambda m: chr(int(m.group(1))), label)


def parse(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]], list[str]]:
    """Nodes (key -> (shape opener, decoded label)), edges and the other statements of our output."""
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str, str]] = []
    other: list[str] = []
    depth = 0
    for line in text.splitlines()[1:]:
        if m := NODE_LINE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} defined twice"
            nodes[m.group(1)] = (m.group(2), decode(m.group(3)))
        elif m := re.match(r"^\s*(\w+) (-->|-\.-) (\w+)$", line):
            edges.append((m.group(1), m.group(2), m.group(3)))
        elif re.match(r'^\s*subgraph sg\d+\["[^"]*"\]$', line):
            depth += 1
        elif line.strip() == "end":
            depth -= 1
            assert depth >= 0
        else:
            other.append(line.strip())
    assert depth == 0, "unbalanced subgraph/end"
    return nodes, edges, other


@pytest.mark.parametrize(
    ("case", "graph", "opts"),
    [
        ("chain", "chain", {"focus": ["0b0e-2"]}),
        ("folders_collapsed", "folders", {"collapse_folders": ["Finance"]}),
    ],
)
def test_golden_mermaid(case: str, graph: str, opts: dict[str, object]) -> None:
    text = to_mermaid(load_graph(graph), **opts)  # type: ignore[arg-type]
    path = GOLDEN / f"{case}.mmd"
    if os.environ.get("LINEAGE_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} changed (LINEAGE_UPDATE_GOLDEN=1 to accept)"
    )


def test_structure_shapes_classes_and_links() -> None:
    g = load_graph("chain")
    text = to_mermaid(g, focus=["orders_daily"])
    assert text.startswith("flowchart LR\n")
    nodes, edges, other = parse(text)
    by_label = {label: (key, shape) for key, (shape, label) in nodes.items()}
    assert by_label["events"][1] == "[("  # cylinder
    assert by_label["orders_clean"][1] == "["
    assert by_label["orders_daily"][1] == "[["
    assert by_label["legacy_orders"][1] == "{{"
    assert by_label["+3 more"][1] == "(["
    assert len([e for e in edges if e[1] == "-->"]) == g.number_of_edges()
    assert len([e for e in edges if e[1] == "-.-"]) == 2
    for h in ("completed", "failed", "running", "none"):
        assert any(line.startswith(f"classDef {h} fill:#") for line in other)
    daily = by_label["orders_daily"][0]
    assert f"class {daily} failed" in other and f"class {daily} focus" in other
    assert f'click {daily} href "https://us.posthog.com/project/42/sql?open_view=0b0e-2" _blank' in other
    assert not any(line.startswith(f"click {by_label['events'][0]} ") for line in other)
    assert "click" not in to_mermaid(g, links=False)
    assert to_mermaid(g, rankdir="TB").startswith("flowchart TB\n")


def test_subgraphs_per_folder() -> None:
    text = to_mermaid(load_graph("folders"))
    titles = re.findall(r'subgraph sg\d+\["([^"]*)"\]', text)
    assert titles == ["Finance", "Marketing", "Ops"]
    assert "subgraph" not in to_mermaid(load_graph("folders"), clusters=False)


def test_hostile_labels_are_inert() -> None:
    g = load_graph("hostile")
    text = to_mermaid(g)
    nodes, edges, other = parse(text)  # every line is one of ours: nothing broke out of a label
    assert len(edges) == g.number_of_edges() + 1
    for line in text.splitlines():
        inside = re.findall(r'"([^"]*)"', line)
        for chunk in inside:
            assert not set(ENTITY.sub("", chunk)) & set('<>&[]{}|;#\n`\\"'), chunk
    labels = {label for _, label in nodes.values()}
    for _, attrs in g.nodes(data=True):
        assert truncate(one_line(attrs["name"]), LABEL_MAX) in labels
    assert all(line.startswith(("classDef ", "class ", "click ")) for line in other)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_escape_round_trips_and_has_no_syntax(text: str) -> None:
    escaped = escape_label(text)
    assert decode(escaped) == one_line(text)
    assert re.fullmatch(r"(?:[^\W_]|[ _\-.,:/+=@!?'()]|#\d+;)*", escaped), escaped


def test_node_limit() -> None:
    g = nx.DiGraph()
    g.add_nodes_from(range(6))
    with pytest.raises(RenderError, match="more than the drawing limit of 5"):
        to_mermaid(g, max_nodes=5)
    with pytest.raises(RenderError, match="rankdir"):
        to_mermaid(g, rankdir="up")
