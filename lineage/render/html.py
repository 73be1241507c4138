"""A single self-contained HTML lineage explorer for a workspace of any size.

The page carries the whole graph as data (JSON in a ``<script type="application/json">`` element,
escaped so that no name can close it) and draws only what the user looks at, laid out in the browser
by a small layered layout (``assets/explorer.js``): an overview of folders, a focused neighbourhood
with expandable hops, the CLI's selector language, paths, "only broken", and a details panel.
Small workspaces also get today's pre-drawn picture of the whole graph (Graphviz's layout when
``dot`` is installed, the built-in Python layout otherwise).

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

from lineage.consumer_nodes import consumer_url
from lineage.errors import RenderError
from lineage.posthog import CONSUMER_KINDS
from lineage.render.common import (
    _SURROGATE,
    CONSUMER_ORDER,
    DEFAULT_MAX_NODES,
    HEALTH,
    HEALTH_ORDER,
    KIND_ORDER,
    KIND_TEXT,
    RANKDIRS,
    RenderOptions,
    _sort_key,
    as_digraph,
    base_url,
    build_scene,
    clean,
    details,
    health,
    kind_of,
    one_line,
    resolve_focus,
    truncate,
    view_url,
)
from lineage.render.graphviz_run import DEFAULT_TIMEOUT, to_svg

_SVG_START = re.compile(r"<svg\b")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

_SWATCH_CLASS: Final[dict[str, str]] = {"unknown": " dashed"}


def _asset(name: str) -> str:
    return resources.files("lineage.render").joinpath("assets", name).read_text(encoding="utf-8")


#: Characters written as ``\\uXXXX`` escapes in the page's JSON: markup, JS line separators, and the
#: C1 controls and bidi overrides that would reorder or hide text for anyone reading the file.
_JSON_ESCAPED = re.compile("[<>&\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``<``, ``>``, ``&``, JS line separators,
    controls or bidi overrides (escaped, so the script still reads the exact text)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return _JSON_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _consumer_kinds(g: Any) -> list[str]:
    present = {kind for _, kind in g.nodes(data="kind")}
    return [k for k in CONSUMER_ORDER if k in present]


def _inline_svg(svg: str) -> str:
    # Drop the XML prolog, DOCTYPE and comments: an HTML document cannot hold the first two, and the
    # comments only repeat node keys.
    match = _SVG_START.search(svg)
    if match is None:
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
        shape = {
            "table": "cylinder (rounded ends when the explorer draws it)",
            "view": "rounded box",
            "matview": "3-D box",
            "unknown": "dashed box",
        }
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
    rows.append(
        '<div class="legend-row"><span class="swatch consumer"></span>a consumer: insight, dashboard, '
        'notebook, endpoint or alert; "+k consumers" unfolds them</div>'
    )
    rows.append(
        '<div class="legend-row">overview: one box per folder, coloured by its most alarming member; '
        "click to open it</div>"
    )
    if folder_tags:
        rows.append(
            '<div class="legend-row">coloured underline: the node\'s folder (hover it for the name), drawn '
            "where a folder's nodes are too scattered for one box</div>"
        )
    return "\n".join(rows)


#: The whole graph is pre-drawn as a picture only up to this many nodes; bigger ones open on the
#: folder overview and are drawn piece by piece in the browser.
PICTURE_MAX_NODES: Final = 300
#: SQL shown in the details panel is cut here (the panel is for reading, not for copying a migration).
SQL_MAX: Final = 20_000


def _raw(value: Any) -> str:
    """A string as the selector sees it, with only lone surrogates (which UTF-8 cannot hold) replaced."""
    return _SURROGATE.sub("\ufffd", str(value))


def explorer_data(graph: Any, *, links: bool = True, rankdir: str = "LR") -> dict[str, Any]:
    """The graph as the explorer's script reads it: nodes sorted by id, edges as index pairs.

    Names, ids, folders, kinds and statuses are kept as the selector language sees them (so the
    browser selects exactly what ``lineage ls`` does); the page writes them with ``textContent`` only.
    """
    from lineage.graph import KINDS
    from lineage.select import METHODS

    g = as_digraph(graph)
    ids = sorted(g.nodes, key=_sort_key)
    index = {n: i for i, n in enumerate(ids)}
    folder_values = sorted({_raw(f) for _, f in g.nodes(data="folder") if isinstance(f, str)})
    folder_index = {f: i for i, f in enumerate(folder_values)}
    base = base_url(g.graph) if links else None
    site = base.split("/project/", 1)[0] + "/" if base is not None else None
    nodes = []
    for n in ids:
        attrs = g.nodes[n]
        kind = attrs.get("kind")
        folder = attrs.get("folder")
        status = attrs.get("status")
        materialized = attrs.get("is_materialized")
        record: dict[str, Any] = {
            "i": _raw(n),
            "n": _raw(attrs.get("name") or n),
            "k": _raw(kind) if isinstance(kind, str) else None,
            "f": folder_index[_raw(folder)] if isinstance(folder, str) else -1,
            "h": health(attrs),
            "d": [[k, v] for k, v in details(n, attrs)],
        }
        if isinstance(status, str):
            record["s"] = _raw(status)
        if isinstance(materialized, bool):
            record["m"] = materialized
        if attrs.get("ghost"):
            record["g"] = True
        url = consumer_url(attrs) if kind in CONSUMER_KINDS else None
        # a consumer's page is linked only on the PostHog host the snapshot was crawled from, and only
        # when it is a plain URL (no quotes, brackets or spaces: nothing an attribute could break on)
        if isinstance(url, str) and site is not None and url.startswith(site) and url == one_line(url):
            record["u"] = url
        elif not attrs.get("ghost"):
            view = view_url(base, n, kind_of(attrs))
            if view is not None:
                record["u"] = view
        sql = attrs.get("sql")
        if isinstance(sql, str) and sql.strip():
            record["q"] = truncate(clean(sql).strip(), SQL_MAX)
        for key, attr in (("cu", "more_upstream"), ("cd", "more_downstream")):
            try:
                count = int(attrs.get(attr) or 0)
            except (TypeError, ValueError):
                count = 0
            if count > 0:
                record[key] = count
        nodes.append(record)
    edges = sorted([index[u], index[v]] for u, v in g.edges if u != v)
    return {
        "nodes": nodes,
        "edges": edges,
        "folders": folder_values,
        "kinds": list(KINDS),
        "methods": list(METHODS),
        "consumer_kinds": list(CONSUMER_KINDS),
        "rankdir": rankdir if rankdir in ("LR", "TB") else "LR",
    }


def _picture(g: Any, *, engine: str, timeout: float, options: RenderOptions) -> tuple[str, dict[str, Any]]:
    """Today's whole-graph drawing (inline SVG) and the scene data its highlighting uses."""
    scene = build_scene(g, options)
    svg = to_svg(g, engine=engine, legend=False, timeout=timeout, **vars(options))
    inline = _inline_svg(svg)
    nodes_json = []
    for sn in scene.nodes:
        if sn.role == "node":
            rows = details(sn.node_id, g.nodes[sn.node_id])
            name = one_line(g.nodes[sn.node_id].get("name", sn.node_id))
        else:
            rows = [(k, v) for k, _, v in (line.partition(": ") for line in sn.tooltip.split("\n"))]
            name = sn.label.replace("\n", " ")
        nodes_json.append(
            {
                "key": sn.key,
                "id": None if sn.node_id is None else _raw(sn.node_id),
                "name": truncate(name, 1000),
                "role": sn.role,
                "kind": sn.kind,
                "health": sn.health,
                "url": sn.url,
                "details": [[k, v] for k, v in rows],
            }
        )
    return inline, {"nodes": nodes_json, "edges": [[e.tail, e.head] for e in scene.edges]}


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
    opening: str = "auto",
    fold_consumers: bool | None = None,
) -> str:
    """One HTML file exploring the whole graph, however big (no node limit).

    ``max_nodes`` only bounds the pre-drawn picture of the whole graph (at most
    :data:`PICTURE_MAX_NODES` nodes as well): it comes from :func:`lineage.render.to_svg` with
    ``engine`` (Graphviz when ``dot`` is on PATH, the built-in layout otherwise) and keeps ``focus``,
    ``clusters`` and ``collapse_folders``. The first ``focus`` node is also where the explorer opens
    when the URL names nothing else; ``opening="overview"`` opens on the folder overview instead
    (``auto``: the picture when there is one, else the overview).
    """
    focus = tuple(focus)
    collapse_folders = tuple(collapse_folders)
    g = as_digraph(graph)
    options = RenderOptions(
        focus=focus,
        rankdir=rankdir,
        clusters=clusters,
        collapse_folders=collapse_folders,
        links=links,
        max_nodes=None,
        fold_consumers=fold_consumers,
    )
    # Checks the options (rankdir, focus, folders) the same way for every size of graph.
    focus_ids = sorted(resolve_focus(g, focus), key=_sort_key)
    if rankdir not in RANKDIRS:
        raise RenderError(f"rankdir {rankdir!r} is not one of {', '.join(RANKDIRS)}")
    payload = explorer_data(g, links=links, rankdir=rankdir)
    n_nodes = g.number_of_nodes()
    limit = PICTURE_MAX_NODES if max_nodes is None else min(max_nodes, PICTURE_MAX_NODES)
    inline = ""
    if 0 < n_nodes <= limit:
        inline, payload["picture"] = _picture(g, engine=engine, timeout=timeout, options=options)
    elif collapse_folders:
        # Only validated: the overview already draws every folder as one box.
        build_scene(g, options, clusters=False)
    if opening not in ("auto", "overview"):
        raise RenderError(f"opening {opening!r} is not 'auto' or 'overview'")
    if focus_ids:
        payload["start"] = {"focus": _raw(focus_ids[0])}
    elif opening == "overview":
        payload["start"] = {"overview": True}

    host = one_line(g.graph.get("host", "")) or "no host"
    project = one_line(g.graph.get("project", "")) or "?"
    crawled = one_line(g.graph.get("crawled_at", "")) or "unknown time"
    page_title = one_line(title) if title else f"Lineage: project {project}"
    meta = f"{n_nodes} nodes, {g.number_of_edges()} edges \u00b7 {host} \u00b7 crawled {crawled}"
    script = _asset("explorer.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"
    )
    picture_block = f'<div id="picture" hidden>\n{inline}\n</div>\n' if inline else ""
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
<div class="row">
<h1>{html.escape(truncate(page_title, 200))}</h1>
<button id="show-overview" type="button" title="Folders and the edges between them (o)">overview</button>
<button id="show-picture" type="button" title="The whole graph, pre-drawn"{"" if inline else " hidden"}>
whole graph</button>
<button id="show-broken" type="button" title="Failing and stale views and what they feed (b)">
only broken</button>
<span class="search-box"><input id="search" type="search" placeholder="Find a view, folder or glob (/)"
 autocomplete="off" aria-label="Find a view, a folder or a glob">
<span id="results" role="listbox"></span></span>
<span id="search-info"></span>
<label>up <input id="up" type="number" min="0" max="99" value="1"></label>
<label>down <input id="down" type="number" min="0" max="99" value="1"></label>
<button id="expand-up" type="button" title="One more hop upstream (u)">+ up</button>
<button id="expand-down" type="button" title="One more hop downstream (d)">+ down</button>
<button id="zoom-out" type="button" title="Zoom out (-)">&minus;</button>
<button id="zoom-in" type="button" title="Zoom in (+)">+</button>
<button id="zoom-fit" type="button" title="Fit to window (0)">fit</button>
</div>
<div class="row">
<input id="selector" type="text"
 placeholder="Selector, as in lineage ls: +mrr_by_month+ folder:Finance,kind:matview"
 autocomplete="off" spellcheck="false" aria-label="Selector">
<button id="run-select" type="button">select</button>
<input id="path-from" type="text" placeholder="path from" autocomplete="off" aria-label="Path from">
<input id="path-to" type="text" placeholder="to" autocomplete="off" aria-label="Path to">
<button id="run-path" type="button">path</button>
<span class="meta">{html.escape(truncate(meta, 300))}</span>
</div>
<div id="notice" role="status"></div>
</header>
<main>
<div id="graph">
{picture_block}<svg id="canvas" xmlns="http://www.w3.org/2000/svg" tabindex="0"
 aria-label="Lineage graph"></svg>
</div>
<aside>
<h2>Details</h2>
<div id="details"></div>
<div id="more"></div>
<h2>Legend</h2>
<div id="legend">
{_legend(folder_tags='class="folder-tag"' in inline, consumer_kinds=_consumer_kinds(g))}
<div class="legend-row">keys: / search, arrows move, Enter focus, u/d one more hop, o overview,
 b broken, +/-/0 zoom</div>
</div>
</aside>
</main>
<pre id="lineage-test"></pre>
<script type="application/json" id="lineage-data">{script_json(payload)}</script>
<script>{script}</script>
</body>
</html>
"""
