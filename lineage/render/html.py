"""A single self-contained HTML lineage explorer: inline SVG (Graphviz's layout when ``dot`` is installed,
the built-in Python layout otherwise), inline CSS and JS, no network.

The page carries a Content-Security-Policy that allows no fetches at all and runs only the one
script whose hash it names, so even a name that somehow slipped through as markup could not load
or execute anything.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any, Final

from lineage.render.common import (
    CONSUMER_ORDER,
    CONSUMER_TEXT,
    DEFAULT_MAX_NODES,
    HEALTH,
    HEALTH_ORDER,
    KIND_ORDER,
    KIND_TEXT,
    as_digraph,
    build_scene,
    details,
    one_line,
    truncate,
)
from lineage.render.graphviz_run import DEFAULT_TIMEOUT, to_svg

_SVG_START = re.compile(r"<svg\b")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

_SWATCH_CLASS: Final[dict[str, str]] = {"unknown": " dashed"}


def _asset(name: str) -> str:
    return resources.files("lineage.render").joinpath("assets", name).read_text(encoding="utf-8")


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``<``, ``>``, ``&`` or JS line separators."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _consumer_kinds(scene: Any) -> list[str]:
    present = {sn.kind for sn in scene.nodes}
    return [k for k in CONSUMER_ORDER if k in present]


def _inline_svg(svg: str) -> str:
    # Drop the XML prolog, DOCTYPE and comments: an HTML document cannot hold the first two, and the
    # comments only repeat node keys.
    match = _SVG_START.search(svg)
    if match is None:
        from lineage.errors import RenderError

        raise RenderError(
            "the layout returned no <svg> element; check the Graphviz installation (dot -V) or draw with "
            "engine='python'"
        )
    return _COMMENT.sub("", svg[match.start() :]).strip()


_CONSUMER_SHAPES: Final[dict[str, str]] = {
    "insight": "ellipse",
    "dashboard": "board with a header strip",
    "alert": "octagon",
    "notebook": "page with a binding",
    "endpoint": "arrow",
    "consumers": "dashed ellipse; click it to list them",
}


def _legend(*, folder_tags: bool = False, consumer_kinds: Iterable[str] = ()) -> str:
    rows = []
    for kind in KIND_ORDER:
        shape = {"table": "cylinder", "view": "rounded box", "matview": "3-D box", "unknown": "dashed box"}
        rows.append(
            f'<div class="legend-row"><span class="swatch{_SWATCH_CLASS.get(kind, "")}" '
            f'style="background:#ffffff"></span>{html.escape(KIND_TEXT[kind])}: {shape[kind]}</div>'
        )
    for h in HEALTH_ORDER:
        rows.append(
            f'<div class="legend-row"><span class="swatch" style="background:{HEALTH[h][0]}"></span>'
            f"{html.escape(HEALTH[h][1])}</div>"
        )
    for kind in consumer_kinds:
        rows.append(
            f'<div class="legend-row"><span class="swatch" style="background:{HEALTH["consumer"][0]}">'
            f"</span>{html.escape(KIND_TEXT[kind])}: {html.escape(_CONSUMER_SHAPES[kind])}</div>"
        )
    rows.append('<div class="legend-row">thick border: focus node; "+k more": cut by a depth limit</div>')
    if folder_tags:
        rows.append(
            '<div class="legend-row">coloured underline: the node\'s folder (hover it for the name), drawn '
            "where a folder's nodes are too scattered for one box</div>"
        )
    return "\n".join(rows)


def to_html(
    graph: Any,
    *,
    focus: Iterable[Any] = (),
    rankdir: str = "LR",
    clusters: bool = True,
    collapse_folders: Iterable[str] = (),
    links: bool = True,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    title: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    engine: str = "auto",
    fold_consumers: bool | None = None,
) -> str:
    """One HTML file: searchable, clickable lineage (upstream/downstream highlight, details panel).

    The drawing comes from :func:`lineage.render.to_svg` with ``engine`` (default ``auto``: Graphviz
    when ``dot`` is on PATH, the built-in layout otherwise), so it works without Graphviz.
    """
    focus = tuple(focus)
    collapse_folders = tuple(collapse_folders)
    options: dict[str, Any] = dict(
        focus=focus,
        clusters=clusters,
        collapse_folders=collapse_folders,
        links=links,
        max_nodes=max_nodes,
        fold_consumers=fold_consumers,
    )
    scene = build_scene(graph, **options)
    svg = to_svg(graph, engine=engine, rankdir=rankdir, legend=False, timeout=timeout, **options)
    inline = _inline_svg(svg)
    g = as_digraph(graph)

    nodes_json = []
    for sn in scene.nodes:
        if sn.role == "node":
            rows = details(sn.node_id, g.nodes[sn.node_id])
            name = one_line(g.nodes[sn.node_id].get("name", sn.node_id))
        else:
            rows = [(k, v) for k, _, v in (line.partition(": ") for line in sn.tooltip.split("\n"))]
            name = sn.label.replace("\n", " ")
        links_json: list[list[str]] = []
        if sn.role == "consumers":
            # a fold opens in the details panel: every consumer it stands for, linked to PostHog
            rows = [("consumers of", rows[0][1] if rows else "")]
            rows += [(kind, member) for kind, member, _ in sn.members]
            name = sn.label + " " + " ".join(member for _, member, _ in sn.members)
            links_json = [[f"{kind}: {member}", url] for kind, member, url in sn.members if url]
        elif sn.role == "node" and sn.url and sn.kind in CONSUMER_TEXT:
            links_json = [[f"open {sn.kind} in PostHog", sn.url]]
        nodes_json.append(
            {
                "links": links_json,
                "key": sn.key,
                "id": None if sn.node_id is None else one_line(sn.node_id),
                "name": truncate(name, 1000),
                "role": sn.role,
                "kind": sn.kind,
                "health": sn.health,
                "url": sn.url,
                "details": [[k, v] for k, v in rows],
            }
        )
    payload = {"nodes": nodes_json, "edges": [[e.tail, e.head] for e in scene.edges]}

    host = one_line(g.graph.get("host", "")) or "no host"
    project = one_line(g.graph.get("project", "")) or "?"
    crawled = one_line(g.graph.get("crawled_at", "")) or "unknown time"
    page_title = one_line(title) if title else f"Lineage: project {project}"
    meta = (
        f"{sum(1 for sn in scene.nodes if sn.role == 'node')} nodes, "
        f"{sum(1 for e in scene.edges if not e.stub)} edges \u00b7 {host} \u00b7 crawled {crawled}"
    )
    script = _asset("explorer.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{html.escape(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(truncate(page_title, 200))}</title>
<style>
{_asset("explorer.css")}
</style>
</head>
<body>
<header>
<h1>{html.escape(truncate(page_title, 200))}</h1>
<input id="search" type="search" placeholder="Find a node by name" autocomplete="off"
 aria-label="Find a node">
<span id="search-info"></span>
<button id="zoom-out" type="button" title="Zoom out">&minus;</button>
<button id="zoom-in" type="button" title="Zoom in">+</button>
<button id="zoom-fit" type="button" title="Fit to window">fit</button>
<span class="meta">{html.escape(truncate(meta, 300))}</span>
</header>
<main>
<div id="graph">
{inline}
</div>
<aside>
<h2>Details</h2>
<div id="details"></div>
<h2>Legend</h2>
<div id="legend">
{_legend(folder_tags='class="folder-tag"' in inline, consumer_kinds=_consumer_kinds(scene))}
</div>
</aside>
</main>
<pre id="lineage-test"></pre>
<script type="application/json" id="lineage-data">{script_json(payload)}</script>
<script>{script}</script>
</body>
</html>
"""
