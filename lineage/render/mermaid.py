"""Graph -> Mermaid ``flowchart`` text that GitHub and Notion render.

Node ids are synthetic keys; labels are double-quoted and every character that Mermaid's grammar or
its HTML output could read as syntax is written as a ``#<code>;`` entity, which Mermaid turns back
into the character when drawing.
"""

from __future__ import annotations

from typing import Any, Final, Unpack

from lineage.render.common import (
    HEALTH,
    HEALTH_ORDER,
    RenderKeywords,
    RenderOptions,
    SceneNode,
    build_scene,
    one_line,
)

# Characters written as themselves; everything else outside letters and digits becomes an entity.
_PLAIN: Final = frozenset(" _-.,:/+=@!?'()")


def escape_label(text: Any) -> str:
    """Label text for inside Mermaid double quotes (one line)."""
    out = []
    for ch in one_line(text):
        if ch.isalnum() or ch in _PLAIN:
            out.append(ch)
        else:
            out.append(f"#{ord(ch)};")
    return "".join(out)


def _shape(sn: SceneNode) -> tuple[str, str]:
    if sn.role == "stub":
        return "([", "])"
    if sn.role == "folder":
        return "[/", "/]"
    shapes = {
        "table": ("[(", ")]"),
        "matview": ("[[", "]]"),
        "unknown": ("{{", "}}"),
        # consumers (lineage.consumer_nodes)
        "insight": ("(", ")"),
        "dashboard": ("[/", "\\]"),
        "notebook": ("[\\", "/]"),
        "endpoint": (">", "]"),
        "alert": ("{", "}"),
        "consumers": ("((", "))"),
    }
    return shapes.get(sn.kind, ("[", "]"))


def _node_line(sn: SceneNode, indent: str) -> str:
    left, right = _shape(sn)
    label = escape_label(sn.label.replace("\n", " "))
    return f'{indent}{sn.key}{left}"{label}"{right}'


def to_mermaid(
    graph: Any,
    **options: Unpack[RenderKeywords],
) -> str:
    """Mermaid flowchart text: health classes, folder subgraphs, focus nodes drawn thick.

    Paste it into a Markdown ```` ```mermaid ```` block (GitHub) or a Notion Mermaid code block.
    ``options``: focus, rankdir, clusters... as :class:`lineage.render.common.RenderOptions`.
    """
    opts = RenderOptions(**options)
    rankdir = opts.rankdir
    scene = build_scene(graph, opts)
    lines = [f"flowchart {rankdir}"]
    for h in HEALTH_ORDER:
        lines.append(f"  classDef {h} fill:{HEALTH[h][0]},stroke:#555555,color:#111111")
    lines.append("  classDef stub fill:#ffffff,stroke:#bbbbbb,stroke-dasharray:3 3,color:#666666")
    lines.append("  classDef ghost stroke-dasharray:5 5,color:#555555")
    lines.append("  classDef focus stroke:#111111,stroke-width:4px")
    if any(sn.health == "consumer" for sn in scene.nodes):
        lines.append(f"  classDef consumer fill:{HEALTH['consumer'][0]},stroke:#555555,color:#111111")

    members: dict[str | None, list[SceneNode]] = {}
    for sn in scene.nodes:
        members.setdefault(sn.cluster, []).append(sn)
    for i, (key, title) in enumerate(scene.clusters.items()):
        lines.append(f'  subgraph sg{i}["{escape_label(title)}"]')
        lines.extend(_node_line(sn, "    ") for sn in members.get(key, []))
        lines.append("  end")
    lines.extend(_node_line(sn, "  ") for sn in members.get(None, []))
    for e in scene.edges:
        arrow = "-.-" if e.stub else "-->"
        lines.append(f"  {e.tail} {arrow} {e.head}")

    by_class: dict[str, list[str]] = {}
    for sn in scene.nodes:
        by_class.setdefault("stub" if sn.role == "stub" else sn.health, []).append(sn.key)
        if sn.role == "node" and (sn.ghost or sn.kind == "unknown"):
            by_class.setdefault("ghost", []).append(sn.key)
        if sn.focus:
            by_class.setdefault("focus", []).append(sn.key)
    for cls in (*HEALTH_ORDER, "consumer", "stub", "ghost", "focus"):
        if by_class.get(cls):
            lines.append(f"  class {','.join(by_class[cls])} {cls}")
    for sn in scene.nodes:
        if sn.url:
            # URLs are built from validated, percent-encoded parts (common.view_url): no quotes inside
            lines.append(f'  click {sn.key} href "{sn.url}" _blank')
    return "\n".join(lines) + "\n"
