"""``lineage impact``: what is affected downstream of a view (or of one of its columns)."""

from __future__ import annotations

import click

from lineage.analysis.impact import impact as impact_of
from lineage.cli.common import (
    api_options,
    clean_errors,
    emit,
    format_for,
    format_option,
    out_option,
    snapshot_option,
)
from lineage.errors import InputError
from lineage.graph import LineageGraph
from lineage.report import render_column_impact, render_impact


@click.command(name="impact")
@click.argument("view")
@click.option(
    "--column", default=None, metavar="COL", help="follow one column of VIEW instead of the whole view"
)
@snapshot_option
@format_option(
    ["md", "csv", "json", "html", "table"],
    default=None,
    help="output format [from --out's extension; else table on a terminal, md otherwise]",
)
@out_option()
@click.option(
    "--max-depth", type=click.IntRange(min=1), default=None, metavar="N", help="stop N hops downstream"
)
@click.option(
    "--sql",
    "sql_path",
    default=None,
    metavar="NEW.sql",
    help="what-if: compare VIEW's HogQL with this proposed SQL file ('-' reads standard input)",
)
@click.option(
    "--sql-from-view",
    default=None,
    metavar="OTHER",
    help="what-if: take the proposed SQL from another view of the snapshot",
)
@click.option(
    "--fail-on",
    default=None,
    metavar="VERDICTS",
    help="what-if: exit 1 when a downstream node gets one of these verdicts (breaks, unknown, changes)",
)
@api_options
@clean_errors
def impact(
    view: str,
    column: str | None,
    snapshot: str,
    fmt: str | None,
    out: str | None,
    max_depth: int | None,
    sql_path: str | None,
    sql_from_view: str | None,
    fail_on: str | None,
    **api: object,
) -> None:
    """Show everything downstream of VIEW (a name or id): depth, path, health, owner, refresh plan.

    With --column, follow one column through downstream views, CTEs, subqueries and aliases, and
    list the columns derived from it and the views that join, filter or group on it. Views whose SQL
    cannot be analysed are listed as "impact unknown".

    \b
    With --sql NEW.sql (or --sql-from-view OTHER), answer "what if I change this SQL?": columns
    removed, added, renamed or changed, tables newly read or no longer read, and for every node
    downstream a verdict (breaks, changes, unaffected, or unknown when it cannot be read). A VIEW
    that is not in the snapshot is a view about to be created: its name is checked for clashes
    (through PostHog's check-database-name when --project and --api-key are set).

    \b
    Examples:
      lineage impact customer_mrr_by_month --out output/impact.md
      lineage impact customer_mrr_by_month --column customer_id --format json
      lineage impact customer_mrr_by_month --sql new.sql --fail-on breaks
      git show HEAD:views/mrr.sql | lineage impact customer_mrr_by_month --sql - --format json
    """
    if fmt is None:
        # Markdown escapes (customer\_mrr, &gt;) are for files and PRs; a person at a terminal gets a table.
        fmt = format_for(out, ("md", "csv", "json", "html", "table"), terminal="table", other="md")
    if sql_path is not None or sql_from_view is not None or fail_on is not None:
        if max_depth is not None:
            raise InputError("--max-depth and --sql do not combine; a what-if judges everything downstream")
        # Imported here: the what-if reads SQL with sqlglot, whose import costs more than a plain
        # impact at 20,000 views takes.
        from lineage.cli.whatif import run_whatif

        run_whatif(
            view,
            snapshot=snapshot,
            fmt=fmt,
            out=out,
            sql_path=sql_path,
            sql_from_view=sql_from_view,
            fail_on=fail_on,
            column=column,
            api=dict(api),
        )
        return
    graph = LineageGraph.load(snapshot)
    if column is not None:
        from lineage.analysis.columns import column_impact  # sqlglot: imported only for --column

        emit(render_column_impact(column_impact(graph, view, column), fmt), out)
    else:
        emit(render_impact(impact_of(graph, view, max_depth=max_depth), fmt), out)
