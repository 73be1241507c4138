"""SVG drawn with the built-in layout (:mod:`lineage.render.layout`): no Graphviz needed.

It speaks the same visual language as the DOT output (shape by kind, fill by health, thick border
for focus, dashed "+k more" stubs, folder rectangles, legend) and the same structure as Graphviz's
SVG where the HTML explorer relies on it: ``<g class="node" id="KEY">`` per box and
``<g class="edge" id="e_TAIL_HEAD">`` per edge, tooltips as ``<title>``, links as ``xlink:href``.
Every identifier is a synthetic scene key; API text only appears escaped, in text and titles.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, Final, Unpack

from lineage.render.common import (
    CONSUMER_TEXT,
    DIFF_COLOR,
    HEALTH,
    KIND_TEXT,
    RenderKeywords,
    RenderOptions,
    Scene,
    SceneNode,
    build_scene,
    clean,
    legend_items,
    truncate,
)
from lineage.render.layout import Box, Layout, LNode, Point, layout

FONT: Final = "Helvetica,Arial,sans-serif"
FONT_SIZE: Final = 11.0
STUB_FONT_SIZE: Final = 10.0
LINE_HEIGHT: Final = 14.0
PAD_X: Final = 10.0
MIN_HEIGHT: Final = 30.0
EDGE_COLOUR: Final = "#555555"
STUB_COLOUR: Final = "#999999"
# one colour per folder for the tags drawn when a folder cannot get a clean rectangle
TAG_COLOURS: Final = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#9d755d", "#eeca3b")
LEGEND_ROW: Final = 34.0
LEGEND_GAP: Final = 24.0
TAG_ROW: Final = 18.0


def esc(text: Any) -> str:
    """Cleaned text escaped for XML text and double- or single-quoted attributes."""
    return html.escape(clean(text), quote=True)


def _char_width(ch: str) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch in "iljtfrI.,:;'|!()[] ":
        return 0.3
    if ch.isupper() or ch in "mwMW@%#&":
        return 0.72
    return 0.56


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """A Helvetica-ish estimate; generous rather than tight so labels stay inside their boxes."""
    return sum(_char_width(ch) for ch in text) * size


def node_size(sn: SceneNode) -> tuple[float, float]:
    lines = sn.label.split("\n")
    size = STUB_FONT_SIZE if sn.role == "stub" else FONT_SIZE
    extra = 6.0 if sn.kind in ("matview", "folder") else 0.0
    width = max(text_width(line, size) for line in lines) + 2 * PAD_X + extra
    height = max(MIN_HEIGHT, len(lines) * LINE_HEIGHT + 14.0 + (6.0 if sn.kind == "table" else 0.0))
    return round(max(width, 40.0), 1), height


def _f(v: float) -> str:
    return f"{v:.2f}"


def _pts(points: Iterable[Point]) -> str:
    return " ".join(f"{_f(x)},{_f(y)}" for x, y in points)


def _corners(b: Box) -> str:
    return _pts([(b.left, b.top), (b.right, b.top), (b.right, b.bottom), (b.left, b.bottom)])


def _shape(sn: SceneNode, b: Box, fill: str, stroke: str, width: float, dash: bool) -> str:
    le, r, t, bo = b.left, b.right, b.top, b.bottom
    common = f'fill="{fill}" stroke="{stroke}" stroke-width="{width:g}"'
    if dash:
        common += ' stroke-dasharray="5,2"'
    if sn.role == "stub":
        fold = 8.0
        return (
            f'<polygon {common} points="{_pts([(le, t), (r - fold, t), (r, t + fold), (r, bo), (le, bo)])}"/>'
        )
    if sn.kind == "table":
        ry = min(6.0, b.h / 6)
        rx = b.w / 2
        d = (
            f"M{_f(le)},{_f(t + ry)} A{_f(rx)},{_f(ry)} 0 0 1 {_f(r)},{_f(t + ry)} V{_f(bo - ry)} "
            f"A{_f(rx)},{_f(ry)} 0 0 1 {_f(le)},{_f(bo - ry)} Z "
            f"M{_f(le)},{_f(t + ry)} A{_f(rx)},{_f(ry)} 0 0 0 {_f(r)},{_f(t + ry)}"
        )
        return f'<path {common} d="{d}"/>'
    if sn.kind == "view":
        rr = 6.0
        d = (
            f"M{_f(le + rr)},{_f(t)} H{_f(r - rr)} A{rr:g},{rr:g} 0 0 1 {_f(r)},{_f(t + rr)} V{_f(bo - rr)} "
            f"A{rr:g},{rr:g} 0 0 1 {_f(r - rr)},{_f(bo)} H{_f(le + rr)} "
            f"A{rr:g},{rr:g} 0 0 1 {_f(le)},{_f(bo - rr)} V{_f(t + rr)} "
            + f"A{rr:g},{rr:g} 0 0 1 {_f(le + rr)},{_f(t)} Z"
        )
        return f'<path {common} d="{d}"/>'
    if sn.kind == "matview":
        dd = 5.0
        d = (
            f"M{_f(le)},{_f(t + dd)} L{_f(le + dd)},{_f(t)} L{_f(r)},{_f(t)} L{_f(r)},{_f(bo - dd)} "
            f"L{_f(r - dd)},{_f(bo)} L{_f(le)},{_f(bo)} Z "
            f"M{_f(le)},{_f(t + dd)} L{_f(r - dd)},{_f(t + dd)} L{_f(r - dd)},{_f(bo)} "
            f"M{_f(r - dd)},{_f(t + dd)} L{_f(r)},{_f(t)}"
        )
        return f'<path {common} d="{d}"/>'
    if sn.kind in ("insight", "consumers"):
        return f'<ellipse {common} cx="{_f(b.x)}" cy="{_f(b.y)}" rx="{_f(b.w / 2)}" ry="{_f(b.h / 2)}"/>'
    if sn.kind == "dashboard":  # a board with a header strip
        head = min(7.0, b.h / 4)
        return (
            f'<polygon {common} points="{_corners(b)}"/>'
            f'<polyline fill="none" stroke="{stroke}" points="{_pts([(le, t + head), (r, t + head)])}"/>'
        )
    if sn.kind == "notebook":  # a page with a binding down its left edge
        return (
            f'<polygon {common} points="{_corners(b)}"/>'
            f'<polyline fill="none" stroke="{stroke}" points="{_pts([(le + 5, t), (le + 5, bo)])}"/>'
        )
    if sn.kind == "endpoint":  # an arrow pointing out: what an API serves
        tip = min(10.0, b.w / 4)
        pts = [(le, t), (r - tip, t), (r, b.y), (r - tip, bo), (le, bo)]
        return f'<polygon {common} points="{_pts(pts)}"/>'
    if sn.kind == "alert":  # an octagon, like a stop sign
        c = min(8.0, b.h / 3, b.w / 4)
        pts = [
            (le + c, t),
            (r - c, t),
            (r, t + c),
            (r, bo - c),
            (r - c, bo),
            (le + c, bo),
            (le, bo - c),
            (le, t + c),
        ]
        return f'<polygon {common} points="{_pts(pts)}"/>'
    if sn.kind == "folder":
        tab = min(40.0, b.w / 3)
        pts = [(le, bo), (le, t), (le + tab, t), (le + tab + 4, t + 5), (r, t + 5), (r, bo)]
        return f'<polygon {common} points="{_pts(pts)}"/>'
    return f'<polygon {common} points="{_corners(b)}"/>'


def _label(sn: SceneNode, b: Box, colour: str) -> list[str]:
    lines = sn.label.split("\n")
    size = STUB_FONT_SIZE if sn.role == "stub" else FONT_SIZE
    first = b.y - (len(lines) - 1) * LINE_HEIGHT / 2 + size * 0.35
    if sn.kind == "table":
        first += 3.0  # below the cylinder's lid
    return [
        f'<text text-anchor="middle" x="{_f(b.x)}" y="{_f(first + i * LINE_HEIGHT)}" font-family="{FONT}" '
        f'font-size="{size:.2f}" fill="{colour}">{esc(line)}</text>'
        for i, line in enumerate(lines)
    ]


def _node(sn: SceneNode, b: Box, tag: tuple[str, str] | None, tooltip: str) -> list[str]:
    if sn.role == "stub":
        fill, stroke, text_colour, dash = "#ffffff", STUB_COLOUR, "#666666", True
    else:
        fill, stroke, text_colour = HEALTH[sn.health][0], "#000000", "#000000"
        dash = sn.kind == "unknown" or sn.ghost or sn.role == "consumers"
        if dash:
            text_colour = "#555555"
        if sn.change is not None:  # render --diff
            stroke, dash = DIFF_COLOR[sn.change], dash or sn.change == "removed"
    out = [f'<g id="{esc(sn.key)}" class="node">', f"<title>{esc(tooltip)}</title>"]
    width = 3.0 if sn.focus or sn.change is not None else 1.0
    body = [_shape(sn, b, fill, stroke, width, dash), *_label(sn, b, text_colour)]
    if tag is not None:
        colour, folder = tag
        y = b.bottom + 2.5
        body.append(
            f'<polyline class="folder-tag" fill="none" stroke="{colour}" stroke-width="3" '
            f'points="{_pts([(b.left + 3, y), (b.right - 3, y)])}"><title>{esc("folder: " + folder)}</title>'
            "</polyline>"
        )
    if sn.url:
        out.append(f'<a xlink:href="{esc(sn.url)}" target="_blank">')
        out.extend(body)
        out.append("</a>")
    else:
        out.extend(body)
    out.append("</g>")
    return out


def _edge(
    key: str, title: str, segments: Any, arrow: Any, stub: bool, change: str | None = None
) -> list[str]:
    colour = STUB_COLOUR if stub else DIFF_COLOR[change] if change is not None else EDGE_COLOUR
    d = f"M{_f(segments[0][0][0])},{_f(segments[0][0][1])}" + "".join(
        f" C{_pts([c1, c2, p1])}" for _, c1, c2, p1 in segments
    )
    dash = ' stroke-dasharray="5,2"' if stub or change == "removed" else ""
    width = ' stroke-width="2"' if change is not None else ""
    out = [
        f'<g id="{esc(key)}" class="edge">',
        f"<title>{esc(title)}</title>",
        f'<path fill="none" stroke="{colour}"{dash}{width} d="{d}"/>',
    ]
    if arrow is not None:
        out.append(f'<polygon fill="{colour}" stroke="{colour}" points="{_pts(arrow)}"/>')
    out.append("</g>")
    return out


def _legend(
    x: float, y: float, tags: list[tuple[str, str]], scene: Scene | None = None
) -> tuple[list[str], float, float]:
    """The legend as a dashed box of sample nodes at (x, y), then the colours of folder tags;
    returns the markup, width and height."""
    shown: list[SceneNode] = []
    for i, (what, key) in enumerate(legend_items(scene if scene is not None else Scene())):
        if what == "kind":
            fill = "consumer" if key in CONSUMER_TEXT else "none"
            shown.append(
                SceneNode(key=f"legend_{i}", role="node", label=KIND_TEXT[key], kind=key, health=fill)
            )
        else:
            shown.append(
                SceneNode(key=f"legend_{i}", role="node", label=HEALTH[key][1], kind="view", health=key)
            )
    tag_texts = [truncate("folder: " + folder, 40) for _, folder in tags]
    inner = max([node_size(sn)[0] for sn in shown] + [text_width(t) + 24.0 for t in tag_texts])
    width = inner + 2 * 10.0
    height = 26.0 + len(shown) * LEGEND_ROW + len(tags) * TAG_ROW + (6.0 if tags else 0.0)
    out = [
        '<g id="cluster_legend" class="cluster">',
        "<title>Legend</title>",
        f'<polygon fill="none" stroke="#000000" stroke-dasharray="5,2" '
        f'points="{_pts([(x, y), (x + width, y), (x + width, y + height), (x, y + height)])}"/>',
        f'<text text-anchor="middle" x="{_f(x + width / 2)}" y="{_f(y + 16)}" font-family="{FONT}" '
        f'font-size="12.00">Legend</text>',
        "</g>",
    ]
    for i, sn in enumerate(shown):
        _, h = node_size(sn)
        box = Box(x + width / 2, y + 26.0 + i * LEGEND_ROW + LEGEND_ROW / 2, inner, min(h, LEGEND_ROW - 4))
        out.extend(_node(sn, box, None, sn.label))
    top = y + 26.0 + len(shown) * LEGEND_ROW
    for i, ((colour, folder), text) in enumerate(zip(tags, tag_texts, strict=True)):
        row = top + i * TAG_ROW + TAG_ROW / 2
        out.extend(
            [
                '<g class="folder-tag">',
                f"<title>{esc('folder: ' + folder)}</title>",
                f'<polyline fill="none" stroke="{colour}" stroke-width="3" '
                f'points="{_pts([(x + 10, row), (x + 26, row)])}"/>',
                f'<text text-anchor="start" x="{_f(x + 32)}" y="{_f(row + 4)}" font-family="{FONT}" '
                f'font-size="{FONT_SIZE:.2f}">{esc(text)}</text>',
                "</g>",
            ]
        )
    return out, width, height


def scene_svg(scene: Scene, *, rankdir: str = "LR", legend: bool = True, note: str = "") -> str:
    """SVG text for a built scene (see :func:`to_svg_python`); ``note`` becomes an XML comment."""
    sizes = {sn.key: node_size(sn) for sn in scene.nodes}
    lnodes = [LNode(sn.key, *sizes[sn.key], cluster=sn.cluster) for sn in scene.nodes]
    edges = [(e.tail, e.head) for e in scene.edges]
    placed: Layout = layout(
        lnodes, edges, rankdir=rankdir, arrowless={(e.tail, e.head) for e in scene.edges if e.stub}
    )
    labels = {sn.key: sn.label.replace("\n", " ") for sn in scene.nodes}
    tags = {}
    for i, (key, rect) in enumerate(sorted(placed.clusters.items())):
        if rect is None and key in scene.clusters:
            tags[key] = (TAG_COLOURS[i % len(TAG_COLOURS)], scene.clusters[key])

    width, height = placed.width, placed.height
    body: list[str] = []
    for key, title in scene.clusters.items():
        rect = placed.clusters.get(key)
        if rect is None:
            continue
        body.extend(
            [
                f'<g id="{esc(key)}" class="cluster">',
                f"<title>{esc('folder: ' + title)}</title>",
                f'<polygon fill="#f7f7fb" stroke="#9a9ab0" points="{_corners(rect)}"/>',
                f'<text text-anchor="start" x="{_f(rect.left + 6)}" y="{_f(rect.top + 13)}" '
                + f'font-family="{FONT}" font-size="11.00" fill="#333355">{esc(title)}</text>',
                "</g>",
            ]
        )
    edge_of = {(e.tail, e.head): e for e in scene.edges}
    for route in placed.routes:
        title = f"{labels[route.tail]} \u2192 {labels[route.head]}"
        e = edge_of[(route.tail, route.head)]
        body.extend(
            _edge(f"e_{route.tail}_{route.head}", title, route.segments, route.arrow, e.stub, e.change)
        )
    for sn in scene.nodes:
        tag = tags.get(sn.cluster) if sn.cluster is not None else None
        body.extend(_node(sn, placed.boxes[sn.key], tag, sn.tooltip))
    if legend:
        lx = width + LEGEND_GAP if scene.nodes else 8.0
        markup, lw, lh = _legend(lx, 8.0, [tags[k] for k in sorted(tags)], scene)
        body.extend(markup)
        width = lx + lw + 8.0
        height = max(height, lh + 16.0)
    head = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f"<!-- {re.sub('-+', '-', clean(note))} -->" if note else "",
        f'<svg width="{_f(width)}pt" height="{_f(height)}pt" viewBox="0.00 0.00 {_f(width)} {_f(height)}" '
        'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">',
        '<g id="graph0" class="graph">',
        "<title>lineage</title>",
        f'<polygon fill="white" stroke="none" points="{_corners(Box(width / 2, height / 2, width, height))}"'
        + "/>",
    ]
    return "\n".join([line for line in head if line] + body + ["</g>", "</svg>"]) + "\n"


def to_svg_python(
    graph: Any,
    *,
    legend: bool = True,
    note: str = "",
    **options: Unpack[RenderKeywords],
) -> str:
    """SVG text laid out in pure Python; the same options as :func:`lineage.render.dot.to_dot`."""
    opts = RenderOptions(**options)
    rankdir = opts.rankdir
    scene = build_scene(graph, opts)
    return scene_svg(scene, rankdir=rankdir, legend=legend, note=note)
