"""``lineage render``: draw the selected part of a snapshot as svg, png, pdf, dot, mermaid or html."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from lineage.analysis.diff import diff_graph
from lineage.cli.common import (
    clean_errors,
    emit,
    exclude_option,
    format_for,
    format_option,
    out_option,
    select_option,
    snapshot_option,
    write_atomic,
)
from lineage.errors import RenderError
from lineage.graph import LineageGraph
from lineage.render import FORMATS, to_dot, to_html, to_mermaid, to_pdf, to_png, to_svg
from lineage.render.common import DEFAULT_MAX_NODES
from lineage.select import mark_cut, select_or_all

__all__ = ["folder_overview", "mark_cut", "render", "too_big"]

_BINARY = ("png", "pdf")
_RENDERERS: dict[str, Callable[..., str | bytes]] = {
    "svg": to_svg,
    "png": to_png,
    "pdf": to_pdf,
    "dot": to_dot,
    "mermaid": to_mermaid,
    "html": to_html,
}


NO_FOLDER = "(no folder)"


def folder_overview(graph: LineageGraph) -> tuple[LineageGraph, tuple[str, ...]]:
    """A copy of ``graph`` where nodes in no folder sit in a folder of their own, and every folder name.

    Collapsing all of them draws one box per folder with the edges between folders.
    """
    folders = {str(f) for _, f in graph.nx.nodes(data="folder") if isinstance(f, str) and f.strip()}
    spare = NO_FOLDER
    while spare in folders:
        spare += " "
    copy = LineageGraph(graph.nx.copy())
    loose = False
    for _, attrs in copy.nx.nodes(data=True):
        folder = attrs.get("folder")
        if not (isinstance(folder, str) and folder.strip()):
            attrs["folder"] = spare
            loose = True
    from lineage.render.common import one_line

    names = {one_line(f) for f in folders} | ({spare} if loose else set())
    return copy, tuple(sorted(names))


def too_big(count: int, limit: int, fmt: str) -> str:
    """Why a static drawing is refused, and the three ways out."""
    return (
        f"the selection has {count} nodes, more than the drawing limit of {limit} (--max-nodes) for a "
        f"legible {fmt}; draw the "
        "folder overview with --collapse-folders, a focus such as --select '2+NAME+2', or explore the "
        "whole workspace with --format html (no limit); --max-nodes N raises the limit"
    )


@click.command(name="render")
@snapshot_option
@select_option("nodes to draw (dbt syntax); all if omitted")
@exclude_option("nodes")
@format_option(FORMATS, default=None, help="output format [from --out's extension, else svg]")
@out_option("file to write (default: standard output)")
@click.option(
    "--rankdir", type=click.Choice(["LR", "TB"]), default="LR", show_default=True, help="layout direction"
)
@click.option(
    "--max-nodes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_NODES,
    show_default=True,
    help="refuse to draw more nodes than this in svg, png, pdf, dot and mermaid; html has no limit and "
    "pre-draws the whole graph only up to this many nodes (and 300)",
)
@click.option(
    "--collapse-folder",
    "collapse",
    multiple=True,
    metavar="NAME",
    help="draw this folder as one node (repeatable)",
)
@click.option(
    "--collapse-folders",
    "collapse_all",
    is_flag=True,
    help='draw every folder (and "no folder") as one box: the overview of a big workspace; html opens on it',
)
@click.option("--focus", multiple=True, metavar="NAME", help="emphasise this node (repeatable)")
@click.option(
    "--stubs/--no-stubs", default=True, show_default=True, help='"+k more" where the selection cuts'
)
@click.option("--links/--no-links", default=True, show_default=True, help="link views to the PostHog UI")
@click.option(
    "--consumers",
    "consumers",
    type=click.Choice(["auto", "fold", "unfold"]),
    default="auto",
    show_default=True,
    help="insights, dashboards, notebooks, endpoints, alerts: one box each (unfold), one "
    '"+N insights" box per view (fold), or fold on drawings of more than 40 nodes (auto); '
    "hide them with --exclude 'consumers:true'",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "graphviz", "python"]),
    default="auto",
    show_default=True,
    help="layout for svg and html: Graphviz's dot when installed (auto), or the built-in Python layout",
)
@click.option(
    "--diff",
    "diff_old",
    default=None,
    metavar="OLD",
    help="draw what changed since snapshot OLD: added (green, +), removed (red, dashed, \u2212) and "
    "changed (amber, ~) nodes and edges, in one picture",
)
@clean_errors
def render(
    snapshot: str,
    selector: str | None,
    exclude: str | None,
    fmt: str | None,
    out: str | None,
    rankdir: str,
    max_nodes: int,
    collapse: tuple[str, ...],
    collapse_all: bool,
    focus: tuple[str, ...],
    stubs: bool,
    links: bool,
    consumers: str,
    engine: str,
    diff_old: str | None,
) -> None:
    """Draw the selected part of the lineage graph.

    png and pdf need Graphviz's dot program; svg and html use it when installed and otherwise a
    built-in layout; dot and mermaid are plain text. Colours show the newest job (green Completed,
    amber stale, red Failed, blue Running, grey never run).

    html is one offline file for a workspace of any size: an overview of folders, search, a focus
    node with N hops up and M down (#focus=NAME&up=N&down=M in the URL), the selector language
    (#select=SEL), paths, only-broken, and node details. Static formats refuse more than
    --max-nodes nodes: draw --collapse-folders, or a focus such as --select '2+NAME+2'.

    \b
    Examples:
      lineage render --select '+mrr_by_month+' --out output/mrr.svg
      lineage render --select 'folder:Finance' --out output/finance.html
      lineage render --out output/lineage.html        # any size; open it in a browser
      lineage render --collapse-folders --out output/folders.svg
      lineage render --select '2+mrr_by_month+1' --format mermaid
      lineage render --diff output/snapshot.json --select '+mrr_by_month+' --out output/changes.svg
      lineage render --select 'mrr_by_month+' --consumers unfold --out output/mrr.html
    """
    _check_extension(out, fmt)
    if fmt is None:
        fmt = format_for(out, tuple(FORMATS), terminal="svg", other="svg")
    if fmt in _BINARY and (out is None or out == "-") and sys.stdout.isatty():
        raise click.UsageError(
            f"--format {fmt} writes binary data: pass --out FILE or redirect standard output"
        )
    graph = LineageGraph.load(snapshot)
    if diff_old is not None:
        graph = LineageGraph(diff_graph(LineageGraph.load(diff_old), graph))
    ids = select_or_all(graph, selector, exclude=exclude)
    if not ids:
        what = f"selector {selector!r}" if selector is not None else f"snapshot {snapshot!r}"
        after = f" once --exclude {exclude!r} is applied" if exclude is not None else ""
        raise RenderError(f"nothing to draw: {what} selects no nodes{after}; check it with 'lineage ls'")
    drawn = mark_cut(graph, ids) if stubs and len(ids) < len(graph) else graph.subgraph(ids)
    focus_ids = [graph.resolve(f) for f in focus]
    opts: dict[str, Any] = {
        "max_nodes": max_nodes,
        "collapse_folders": collapse,
        "focus": focus_ids,
        "links": links,
        "rankdir": rankdir,
        "fold_consumers": {"auto": None, "fold": True, "unfold": False}[consumers],
    }
    if fmt == "html":
        if collapse_all:
            opts["opening"] = "overview"
    elif collapse_all:
        drawn, opts["collapse_folders"] = folder_overview(drawn)
        opts["focus"] = []
        boxes = len(opts["collapse_folders"])
        if boxes > max_nodes:
            raise RenderError(
                f"--collapse-folders draws {boxes} folder boxes, more than --max-nodes {max_nodes}; "
                "raise --max-nodes or draw a part with --select"
            )
        opts["max_nodes"] = None
    elif len(drawn) > max_nodes:
        raise RenderError(too_big(len(drawn), max_nodes, fmt))
    if fmt in ("svg", "html"):
        opts["engine"] = engine
    result = _RENDERERS[fmt](drawn, **opts)
    if isinstance(result, str):
        emit(result, out)
    elif out is None or out == "-":
        stream = sys.stdout.buffer
        stream.write(result)
        stream.flush()
    else:
        write_atomic(out, result)
        click.echo(f"wrote {out}", err=True)


# What each format's file is called; --out with the extension of another drawing format is refused
# (issue 14, item 1): an SVG inside x.png or x.jpg opens as a broken image. Other extensions (x.out)
# are the user's choice.
_EXTENSIONS = {
    "svg": (".svg",),
    "png": (".png",),
    "pdf": (".pdf",),
    "dot": (".dot", ".gv"),
    "mermaid": (".mmd", ".mermaid"),
    "html": (".html", ".htm"),
}
_OTHER_PICTURES = (".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".eps", ".ps", ".svgz")


def _check_extension(out: str | None, fmt: str | None) -> None:
    """Refuse an --out whose extension names another drawing format than the one written."""
    if out is None or out == "-":
        return
    name = out.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in name:
        return
    ext = "." + name.rsplit(".", 1)[-1].lower()
    known = {e: f for f, exts in _EXTENSIONS.items() for e in exts}
    if ext in _OTHER_PICTURES:
        raise click.UsageError(
            f"--out {out!r}: lineage does not write {ext} files; name it "
            f"{', '.join(sorted(known))} (the extension picks the format)"
        )
    if fmt is not None and ext in known and known[ext] != fmt:
        raise click.UsageError(
            f"--out {out!r} names a {known[ext]} file but --format is {fmt}: name it "
            f"{_EXTENSIONS[fmt][0]}, or drop --format to write {known[ext]}"
        )
