"""``lineage export``: a snapshot (or a selection of it) as GraphML, CSV or snapshot JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lineage.cli.common import clean_errors, exclude_option, format_option, select_option, snapshot_option
from lineage.errors import InputError
from lineage.graph import LineageGraph
from lineage.select import select


@click.command("export")
@snapshot_option
@select_option("nodes to keep (dbt syntax); all if omitted")
@exclude_option("nodes")
@format_option(
    ["graphml", "csv", "json"],
    required=True,
    help="graphml (Gephi, yEd, Cytoscape), csv (two files: nodes and edges), json (a snapshot)",
)
@click.option(
    "--out",
    required=True,
    metavar="PATH",
    help="file to write; for csv a prefix: PATH.nodes.csv and PATH.edges.csv",
)
@clean_errors
def export_cmd(**kwargs: Any) -> None:
    """Export a snapshot, or the part a selector picks, for other tools.

    \b
    Examples:
      lineage export --format graphml --out output/lineage.graphml
      lineage export --select 'folder:Finance+' --format csv --out output/finance
      lineage export --select '+mrr_by_month' --format json --out output/mrr.json
    """
    graph = LineageGraph.load(kwargs["snapshot"])
    if kwargs["selector"] or kwargs["exclude"]:
        graph = graph.subgraph(select(graph, kwargs["selector"] or "*", exclude=kwargs["exclude"]))
    fmt = kwargs["fmt"]
    if kwargs["out"] == "-":
        # standard output, as every other command's --out -: only one file fits there
        if fmt != "json":
            raise InputError(
                f"--out - (standard output) takes --format json; {fmt} writes files: give a path"
            )
        click.echo(graph.to_json(), nl=False)
        return
    out = Path(kwargs["out"])
    if out.is_dir():
        raise InputError(
            f"--out {out} is a directory; give a file name (for csv, a prefix such as {out}/lineage)"
        )
    if fmt == "graphml":
        written = [graph.to_graphml(out)]
    elif fmt == "json":
        written = [graph.save(out)]
    else:
        written = list(graph.to_csv(f"{out}.nodes.csv", f"{out}.edges.csv"))
    g = graph.nx
    for path in written:
        click.echo(f"wrote {path}", err=True)
    click.echo(f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges")
