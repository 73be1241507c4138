"""Graph -> Graphviz DOT text. Pure and byte-stable: the same graph and options give the same bytes.

Every identifier in the output is a synthetic key (``n0``, ``cluster_2``...); API text only ever
appears inside double-quoted attribute values, escaped by :func:`quote`, so no name can end a
string, open an HTML-like label or leak into the SVG comments Graphviz writes from node names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Unpack

from lineage.render.common import (
    CONSUMER_TEXT,
    DIFF_COLOR,
    DIFF_MARK,
    HEALTH,
    KIND_TEXT,
    RenderKeywords,
    RenderOptions,
    Scene,
    SceneNode,
    build_scene,
    clean,
    legend_items,
)

_SHAPE: Final[dict[str, str]] = {
    "table": "cylinder",
    "view": "box",
    "matview": "box3d",
    "unknown": "box",
    "folder": "folder",
    # consumers (lineage.consumer_nodes)
    "insight": "ellipse",
    "dashboard": "tab",
    "notebook": "component",
    "endpoint": "cds",
    "alert": "octagon",
    "consumers": "ellipse",
}


def quote(text: Any, *, passes: int = 1) -> str:
    r"""A DOT double-quoted string. Backslashes are escaped so Graphviz's escapes (``\N``, ``\l``...)
    in data stay literal; newlines become ``\n`` line breaks; ``&`` becomes ``&amp;``. Graphviz
    unescapes ``tooltip`` and ``URL`` twice (as a string, then substituting ``\N``): ``passes=2``."""
    s = clean(text)
    s = s.replace("\\", "\\" * (2**passes)).replace('"', '\\"').replace("\n", "\\n")
    # Graphviz decodes HTML entities in ordinary strings too, so a literal "&amp;" must arrive as "&amp;amp;"
    s = s.replace("&", "&amp;")
    return f'"{s}"'


# attributes Graphviz runs through its object-name substitution after unescaping
_TWO_PASS: Final = frozenset({"tooltip", "URL", "href", "edgetooltip", "labeltooltip"})


def _attrs(attrs: Mapping[str, Any]) -> str:
    parts = [
        f"{k}={quote(v, passes=2 if k in _TWO_PASS else 1)}"
        for k, v in sorted(attrs.items())
        if v is not None
    ]
    return "[" + ", ".join(parts) + "]"


def _node_attrs(sn: SceneNode) -> dict[str, Any]:
    styles = ["filled"]
    attrs: dict[str, Any] = {"id": sn.key, "label": sn.label, "tooltip": sn.tooltip}
    if sn.role == "stub":
        styles = ["dashed", "rounded"]
        attrs.update(shape="note", color="#999999", fontcolor="#666666", fontsize="10")
    else:
        attrs["shape"] = _SHAPE.get(sn.kind, "box")
        attrs["fillcolor"] = HEALTH[sn.health][0]
        if sn.kind == "unknown" or sn.ghost:
            styles.append("dashed")
            attrs["fontcolor"] = "#555555"
        if sn.kind == "view":
            styles.append("rounded")
        if sn.role == "consumers":
            styles.append("dashed")
    if sn.focus:
        styles.append("bold")
        attrs["penwidth"] = "3"
    if sn.change is not None:
        attrs["color"] = DIFF_COLOR[sn.change]
        attrs["penwidth"] = "3"
        if sn.change == "removed":
            styles.append("dashed")
    attrs["style"] = ",".join(styles)
    if sn.url:
        attrs["URL"] = sn.url
        attrs["target"] = "_blank"
    return attrs


def _legend_lines(indent: str, scene: Scene) -> list[str]:
    lines = [
        f"{indent}subgraph {quote('cluster_legend')} {{",
        f"{indent}  graph {_attrs({'id': 'cluster_legend', 'label': 'Legend', 'style': 'dashed'})};",
    ]
    for i, (what, key) in enumerate(legend_items(scene)):
        if what == "kind":
            fill = "consumer" if key in CONSUMER_TEXT else "none"
            shown = SceneNode(key=f"legend_{i}", role="node", label=KIND_TEXT[key], kind=key, health=fill)
        else:
            shown = SceneNode(key=f"legend_{i}", role="node", label=HEALTH[key][1], kind="view", health=key)
        attrs = _node_attrs(shown)
        attrs["tooltip"] = shown.label
        lines.append(f"{indent}  {quote(shown.key)} {_attrs(attrs)};")
    diff = any(sn.change for sn in scene.nodes) or any(e.change for e in scene.edges)
    if diff:  # render --diff: what the outline colours mean
        for change, mark in DIFF_MARK.items():
            key = f"legend_diff_{change}"
            shown = SceneNode(key=key, role="node", label=f"{mark} {change}", kind="view", change=change)
            attrs = _node_attrs(shown)
            attrs["tooltip"] = shown.label
            lines.append(f"{indent}  {quote(shown.key)} {_attrs(attrs)};")
    lines.append(f"{indent}}}")
    return lines


def to_dot(
    graph: Any,
    *,
    legend: bool = True,
    **options: Unpack[RenderKeywords],
) -> str:
    """DOT text for a lineage graph (a ``LineageGraph`` or ``networkx.DiGraph``).

    ``options``: focus, rankdir, clusters... as :class:`lineage.render.common.RenderOptions`;
    ``legend`` adds the colour key.

    >>> import networkx as nx
    >>> g = nx.DiGraph(); g.add_node("a", name="a", kind="table")
    >>> "cylinder" in to_dot(g)
    True
    """
    opts = RenderOptions(**options)
    rankdir = opts.rankdir
    scene = build_scene(graph, opts)
    graph_attrs = {
        "rankdir": rankdir,
        "fontname": "Helvetica",
        "fontsize": "12",
        "bgcolor": "white",
        "nodesep": "0.25",
        "ranksep": "0.6",
        "tooltip": "lineage",
    }
    lines = [
        'digraph "lineage" {',
        f"  graph {_attrs(graph_attrs)};",
        f"  node {_attrs({'fontname': 'Helvetica', 'fontsize': '11', 'margin': '0.12,0.06'})};",
        f"  edge {_attrs({'color': '#555555', 'arrowsize': '0.7'})};",
    ]
    members: dict[str | None, list[SceneNode]] = {}
    for sn in scene.nodes:
        members.setdefault(sn.cluster, []).append(sn)
    for key, title in scene.clusters.items():
        lines.append(f"  subgraph {quote(key)} {{")
        cluster_attrs = {
            "id": key,
            "label": title,
            "tooltip": f"folder: {title}",
            "style": "rounded,filled",
            "fillcolor": "#f7f7fb",
            "color": "#9a9ab0",
        }
        lines.append(f"    graph {_attrs(cluster_attrs)};")
        lines.extend(f"    {quote(sn.key)} {_attrs(_node_attrs(sn))};" for sn in members.get(key, []))
        lines.append("  }")
    lines.extend(f"  {quote(sn.key)} {_attrs(_node_attrs(sn))};" for sn in members.get(None, []))
    for e in scene.edges:
        edge_attrs: dict[str, Any] = {"id": f"e_{e.tail}_{e.head}"}
        if e.stub:
            edge_attrs.update(style="dashed", color="#999999", arrowhead="none")
        elif e.change is not None:
            edge_attrs.update(color=DIFF_COLOR[e.change], penwidth="2")
            if e.change == "removed":
                edge_attrs["style"] = "dashed"
        lines.append(f"  {quote(e.tail)} -> {quote(e.head)} {_attrs(edge_attrs)};")
    if legend:
        lines.extend(_legend_lines("  ", scene))
    lines.append("}")
    return "\n".join(lines) + "\n"
