"""The whole pipeline on the bundled demo warehouse: simulator, crawl over HTTP, diagrams, reports.

:func:`run_demo` starts the PostHog API simulator on 127.0.0.1 (a free port) with
:func:`lineage.sim.demo.load_demo_fixture`, crawls it over real loopback HTTP like any PostHog, and
writes to one directory:

* ``snapshot.json``                 the crawl (``lineage-snapshot/1``), input of every other command,
* ``lineage.svg``, ``lineage.html`` the diagram and the interactive explorer (need Graphviz),
* ``impact.md``, ``impact.html``    the impact report of the most depended-on view,
* ``check.txt``, ``check.json``     the health and consistency findings.

>>> result = run_demo("output")                  # doctest: +SKIP
>>> [p.name for p in result.written][:1]         # doctest: +SKIP
['snapshot.json']
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lineage.analysis import CheckReport, check, column_impact, impact
from lineage.config import Settings, redact
from lineage.crawl import CrawlOptions, CrawlResult, crawl
from lineage.errors import InputError, LineageError, RenderError, param
from lineage.graph import LineageGraph
from lineage.io import write_atomic
from lineage.render import to_html, to_svg
from lineage.render.graphviz_run import find_dot
from lineage.report import check_json, check_text, render_impact
from lineage.sim.demo import load_demo_fixture
from lineage.sim.server import serve_in_thread

__all__ = [
    "DEMO_FILES",
    "GRAPHVIZ_FILES",
    "DemoResult",
    "demo_api_key",
    "most_depended_on",
    "run_demo",
]

SNAPSHOT: Final = "snapshot.json"
GRAPHVIZ_FILES: Final = ("lineage.svg", "lineage.html")
DEMO_FILES: Final = (SNAPSHOT, *GRAPHVIZ_FILES, "impact.md", "impact.html", "check.txt", "check.json")
_VIEW_KINDS: Final = frozenset({"view", "matview"})
_READ_SCOPE: Final = "warehouse_view:read"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` did: the files it wrote, what it left out, and what it found."""

    out: Path
    written: tuple[Path, ...]
    skipped: tuple[str, ...]
    impact_view: str
    failing_view: str | None
    column: tuple[str, str] | None
    findings: CheckReport
    crawl_summary: str
    requests: int
    seconds: float
    graphviz_missing: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def snapshot(self) -> Path:
        return self.out / SNAPSHOT

    def next_commands(self) -> list[str]:
        """Commands to try next, each one working on the written snapshot."""
        snap = shlex.quote(str(self.snapshot))
        view = shlex.quote(self.impact_view)
        cmds = [
            f"lineage ls --snapshot {snap} --select {shlex.quote(self.impact_view + '+')}",
            f"lineage impact {view} --snapshot {snap} --format table",
        ]
        if self.column is not None:
            col_view, col = self.column
            cmds.append(
                f"lineage impact {shlex.quote(col_view)} --column {shlex.quote(col)} --snapshot {snap}"
            )
        if self.failing_view is not None:
            cmds.append(
                f"lineage render --snapshot {snap} --select {shlex.quote('+' + self.failing_view + '+')} "
                "--format mermaid"
            )
        cmds.append(f"lineage check --snapshot {snap} --fail-on failing,stale")
        return cmds


def demo_api_key(fixture: Mapping[str, Any]) -> str:
    """The fixture's first key that may read views (the demo's ``phx_demo_read``)."""
    for entry in fixture.get("api_keys") or ():
        if isinstance(entry, Mapping) and _READ_SCOPE in (entry.get("scopes") or ()):
            return str(entry["key"])
    raise LineageError(f"the demo fixture has no API key with the {_READ_SCOPE} scope; reinstall lineage")


def most_depended_on(graph: LineageGraph) -> str:
    """Id of the view or matview with the most downstream nodes; ties go to the smaller name, then id."""
    candidates = [n for n in graph.nodes() if graph.node(n).get("kind") in _VIEW_KINDS]
    if not candidates:
        raise InputError("the snapshot holds no saved query to analyse the impact of")
    return min(candidates, key=lambda n: (-len(graph.downstream(n)), graph.name_of(n), n))


def _example_column(graph: LineageGraph, view_id: str) -> tuple[str, str] | None:
    """A column of ``view_id`` (or failing that of one of its children) that downstream views use."""
    for node in (view_id, *sorted(graph.nx.successors(view_id), key=graph.name_of)):
        columns = graph.node(node).get("columns")
        if not isinstance(columns, list):
            continue
        names = sorted({c if isinstance(c, str) else str(c.get("name")) for c in columns if c})
        for col in names:
            try:
                found = column_impact(graph, node, col)
            except LineageError:
                continue
            if found.affected_views:
                return graph.name_of(node), col
    return None


def _crawl_demo(progress: Progress | None) -> CrawlResult:
    fixture = load_demo_fixture()
    key = demo_api_key(fixture)
    with serve_in_thread(fixture) as server:
        # env={} keeps a real PostHog's POSTHOG_* variables in the user's shell out of the demo
        settings = Settings.resolve(host=server.url, project=str(fixture["team_id"]), api_key=key, env={})
        # with_sql: column impact needs each view's HogQL, which only the per-view GET returns
        return crawl(settings, CrawlOptions(strategy="all", with_sql=True, progress=progress))


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{param('out', str(out))} is a file; give a directory for the demo's outputs")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output directory {out}: {exc.strerror or exc}") from None


def run_demo(out: str | Path = "output", *, progress: Progress | None = None) -> DemoResult:
    """Serve the demo warehouse on loopback, crawl it over HTTP, and write snapshot, diagrams and reports.

    Every file is computed before any is written, and each is written atomically. Without Graphviz
    the diagrams are drawn with the built-in layout and ``graphviz_missing`` says how to install it.
    """
    started = time.monotonic()
    target = Path(out)
    _prepare_out(target)
    result = _crawl_demo(progress)
    graph = result.graph
    report = check(graph)
    view_id = most_depended_on(graph)
    failing = next((f.node for f in report.findings if f.rule == "failing"), None)
    blast = impact(graph, view_id)

    contents: dict[str, str] = {
        SNAPSHOT: graph.to_json(),
        "impact.md": render_impact(blast, "md"),
        "impact.html": render_impact(blast, "html"),
        "check.txt": check_text(report),
        "check.json": check_json(report),
    }
    missing: str | None = None
    try:
        find_dot()
    except RenderError:
        missing = (
            "Graphviz was not found, so the diagrams use lineage's built-in layout; for Graphviz's "
            "layout install it: apt-get install graphviz (Debian/Ubuntu) or brew install graphviz (macOS)"
        )
    # The simulator stops with the demo, so links to its UI would lead nowhere.
    contents["lineage.svg"] = to_svg(graph, links=False)
    contents["lineage.html"] = to_html(graph, links=False)

    written: list[Path] = []
    for name in DEMO_FILES:
        if name in contents:
            written.append(_write(target / name, contents[name]))
    return DemoResult(
        out=target,
        written=tuple(written),
        skipped=tuple(n for n in DEMO_FILES if n not in contents),
        impact_view=graph.name_of(view_id),
        failing_view=failing,
        column=_example_column(graph, view_id),
        findings=report,
        crawl_summary=result.summary(),
        requests=result.requests,
        seconds=time.monotonic() - started,
        graphviz_missing=missing,
        notes=result.notes,
    )


def _write(path: Path, text: str) -> Path:
    # Belt and braces: nothing the demo writes may carry a key, whatever a renderer picked up.
    try:
        return write_atomic(path, redact(text))
    except OSError as exc:
        raise InputError(
            f"cannot write {path}: {exc.strerror or exc}; check the {param('out')} directory"
        ) from None
