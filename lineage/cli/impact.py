"""``lineage impact``: what is affected downstream of a view (or of one of its columns)."""

from __future__ import annotations

import click

from lineage.analysis.impact import impact as impact_of
from lineage.cli.common import clean_errors, emit, format_for, snapshot_option
from lineage.graph import LineageGraph
from lineage.report import render_column_impact, render_impact


@click.command(name="impact")
@click.argument("view")
@click.option(
    "--column", default=None, metavar="COL", help="follow one column of VIEW instead of the whole view"
)
@snapshot_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "csv", "json", "html", "table"]),
    default=None,
    help="output format [from --out's extension; else table on a terminal, md otherwise]",
)
@click.option("--out", default=None, metavar="PATH", help="write here instead of standard output")
@click.option(
    "--max-depth", type=click.IntRange(min=1), default=None, metavar="N", help="stop N hops downstream"
)
@clean_errors
def impact(
    view: str, column: str | None, snapshot: str, fmt: str | None, out: str | None, max_depth: int | None
) -> None:
    """Show everything downstream of VIEW (a name or id): depth, path, health, owner, refresh plan.

    With --column, follow one column through downstream views, CTEs, subqueries and aliases, and
    list the columns derived from it and the views that join, filter or group on it. Views whose SQL
    cannot be analysed are listed as "impact unknown".

    \b
    Examples:
      lineage impact customer_mrr_by_month --out output/impact.md
      lineage impact customer_mrr_by_month --column customer_id --format json
    """
    if fmt is None:
        # Markdown escapes (customer\_mrr, &gt;) are for files and PRs; a person at a terminal gets a table.
        fmt = format_for(out, ("md", "csv", "json", "html", "table"), terminal="table", other="md")
    graph = LineageGraph.load(snapshot)
    if column is not None:
        from lineage.analysis.columns import column_impact  # sqlglot: imported only for --column

        emit(render_column_impact(column_impact(graph, view, column), fmt), out)
    else:
        emit(render_impact(impact_of(graph, view, max_depth=max_depth), fmt), out)
