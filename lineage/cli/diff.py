"""``lineage diff``: what changed between two snapshots."""

from __future__ import annotations

import click

from lineage.analysis.diff import diff as diff_graphs
from lineage.cli.common import clean_errors, emit
from lineage.graph import LineageGraph
from lineage.report import diff_json, diff_markdown


@click.command(name="diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="output format",
)
@click.option("--out", default=None, metavar="PATH", help="write here instead of standard output")
@clean_errors
def diff(old: str, new: str, fmt: str, out: str | None) -> None:
    """Compare snapshot OLD with snapshot NEW: nodes, edges, SQL, cadence, materialization, health, renames.

    \b
    Example:
      lineage diff output/monday.json output/snapshot.json --format md --out changes.md
    """
    result = diff_graphs(LineageGraph.load(old), LineageGraph.load(new))
    emit(diff_json(result) if fmt == "json" else diff_markdown(result), out)
