"""Runs the system Graphviz ``dot`` program on DOT text from :mod:`lineage.render.dot`."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any, Final

from lineage.errors import RenderError, param
from lineage.render.common import as_digraph
from lineage.render.dot import to_dot
from lineage.render.svg import to_svg_python

DEFAULT_TIMEOUT: Final = 120.0
# Cairo stamps PDFs with the wall-clock time (and ignores SOURCE_DATE_EPOCH in the versions seen here).
_PDF_DATE = re.compile(rb"/CreationDate \(D:\d{14}Z\)")
_FIXED_PDF_TIME = "20000101000000"
FORMATS: Final = ("svg", "png", "pdf")

ENGINES: Final = ("auto", "graphviz", "python")

MISSING_DOT: Final = (
    "Graphviz's `dot` program was not found on PATH, so png, pdf and Graphviz-laid-out svg cannot be drawn. "
    "Install Graphviz (Debian/Ubuntu: `apt-get install graphviz`, macOS: `brew install graphviz`) and retry; "
    f"without it, svg and html are drawn with lineage's built-in layout, {param('format', 'dot')} and "
    f"{param('format', 'mermaid')} "
    "still work, and the dot output can be rendered elsewhere"
)
PYTHON_NOTE: Final = "laid out by lineage's built-in Python layout"
FALLBACK_NOTE: Final = PYTHON_NOTE + " because Graphviz dot was not found on PATH"


def find_dot() -> str:
    """Path of the ``dot`` program, or a RenderError that says how to install it."""
    path = shutil.which("dot")
    if path is None:
        raise RenderError(MISSING_DOT)
    return path


def run_dot(dot_text: str, fmt: str, *, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Lay out ``dot_text`` with Graphviz into ``fmt`` (svg, png or pdf) bytes."""
    if fmt not in FORMATS:
        raise RenderError(f"format {fmt!r} is not one Graphviz is run for; use one of {', '.join(FORMATS)}")
    exe = find_dot()
    try:
        proc = subprocess.run(
            [exe, f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(
            f"Graphviz took longer than {timeout:g} s to lay out the graph; draw fewer nodes with a selector "
            f"or collapse folders with {param('collapse_folders')}"
        ) from exc
    except OSError as exc:
        raise RenderError(f"could not run Graphviz ({exe}): {exc.strerror or exc}") from exc
    if proc.returncode != 0 or not proc.stdout:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = "; ".join(detail[:3])[:300] or f"exit status {proc.returncode}"
        raise RenderError(f"Graphviz failed to draw the graph: {reason}")
    return proc.stdout


def to_svg(graph: Any, *, engine: str = "auto", timeout: float = DEFAULT_TIMEOUT, **opts: Any) -> str:
    """SVG text; nodes are ``<g class="node">`` with clickable links to views. Options as for to_dot.

    ``engine="graphviz"`` runs ``dot`` (a RenderError when it is missing), ``"python"`` uses the
    built-in layout, ``"auto"`` (default) uses Graphviz when ``dot`` is on PATH and the built-in
    layout otherwise, saying so in an XML comment.
    """
    if engine not in ENGINES:
        raise RenderError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "python" or (engine == "auto" and shutil.which("dot") is None):
        return to_svg_python(graph, note=PYTHON_NOTE if engine == "python" else FALLBACK_NOTE, **opts)
    return run_dot(to_dot(graph, **opts), "svg", timeout=timeout).decode("utf-8")


def to_png(graph: Any, *, timeout: float = DEFAULT_TIMEOUT, **opts: Any) -> bytes:
    """PNG bytes. Options as for :func:`lineage.render.dot.to_dot`."""
    return run_dot(to_dot(graph, **opts), "png", timeout=timeout)


def to_pdf(graph: Any, *, timeout: float = DEFAULT_TIMEOUT, **opts: Any) -> bytes:
    """PDF bytes dated by the crawl time, so equal graphs give equal files. Options as for to_dot."""
    pdf = run_dot(to_dot(graph, **opts), "pdf", timeout=timeout)
    stamp = f"/CreationDate (D:{_pdf_time(as_digraph(graph).graph.get('crawled_at'))}Z)".encode("ascii")
    # Same length as what it replaces, so the cross-reference offsets stay right.
    return _PDF_DATE.sub(lambda _: stamp, pdf, count=1)


def _pdf_time(crawled_at: Any) -> str:
    # imported here: only a PDF needs it, and the analysis package is not light
    from lineage.analysis.health import parse_time

    when = parse_time(crawled_at)
    if when is None:
        return _FIXED_PDF_TIME
    text = when.strftime("%Y%m%d%H%M%S")
    return text if len(text) == 14 else _FIXED_PDF_TIME
