"""Drawing lineage graphs: Graphviz DOT/SVG/PNG/PDF, Mermaid, and a self-contained HTML explorer.

Every function takes a ``LineageGraph`` or a bare ``networkx.DiGraph`` whose nodes carry snapshot
attributes (``name``, ``kind``, ``status``, ``jobs``...). Only png and pdf need the Graphviz ``dot``
program; svg and html use it when it is installed and a built-in pure-Python layout otherwise.
"""

from __future__ import annotations

from lineage.render.common import DEFAULT_MAX_NODES, LEGEND_ITEMS, RenderOptions, build_scene
from lineage.render.dot import to_dot
from lineage.render.graphviz_run import to_pdf, to_png, to_svg
from lineage.render.html import to_html
from lineage.render.mermaid import to_mermaid

FORMATS = ("svg", "png", "pdf", "dot", "mermaid", "html")

__all__ = [
    "DEFAULT_MAX_NODES",
    "FORMATS",
    "LEGEND_ITEMS",
    "RenderOptions",
    "build_scene",
    "to_dot",
    "to_html",
    "to_mermaid",
    "to_pdf",
    "to_png",
    "to_svg",
]
