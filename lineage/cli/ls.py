"""``lineage ls``: list the nodes a selector picks out of a snapshot."""

from __future__ import annotations

import sys
from typing import Any

import click

from lineage.cli.common import (
    clean_errors,
    exclude_option,
    format_option,
    json_text,
    select_option,
    snapshot_option,
)
from lineage.graph import LineageGraph
from lineage.io import csv_text, text_table
from lineage.select import select

# (header, snapshot attribute) of each listed column, in order.
_COLUMNS = (
    ("name", "name"),
    ("id", "id"),
    ("kind", "kind"),
    ("materialized", "is_materialized"),
    ("status", "status"),
    ("folder", "folder"),
)


@click.command(name="ls")
@select_option("nodes to list (dbt syntax) [default: all]")
@exclude_option("nodes")
@snapshot_option
@format_option(["text", "json", "csv"], default="text", help="output format")
@clean_errors
def ls(selector: str | None, exclude: str | None, snapshot: str, fmt: str) -> None:
    """List the nodes SEL selects (all without --select), by name: name, id, kind, materialized,
    status and folder.

    Selectors follow dbt: NAME, +NAME (with ancestors), NAME+ (with descendants), 2+NAME+1
    (depth-limited), @NAME, globs (orders_*), space = union, comma = intersection, and the
    methods folder:, kind:, status:, materialized:, id:, ghost:, name:, consumers:. Consumers
    (kind:insight, kind:dashboard, kind:notebook, kind:endpoint, kind:alert) are listed with the
    views; add ',consumers:false' to hide them.

    \b
    Examples:
      lineage ls
      lineage ls --select '+mrr_by_month'
      lineage ls --select 'folder:Finance,kind:matview' --exclude 'revenue_*' --format json
      lineage ls --select 'mrr_by_month+,kind:dashboard'
    """
    graph = LineageGraph.load(snapshot)
    ids = select(graph, selector if selector is not None else "*", exclude=exclude)
    records = sorted((_record(graph, node_id) for node_id in ids), key=lambda r: (r["name"], r["id"]))
    if fmt == "json":
        click.echo(json_text(records), nl=False)
    elif fmt == "csv":
        header = [h for h, _ in _COLUMNS]
        click.echo(csv_text(header, ([r[a] for _, a in _COLUMNS] for r in records)), nl=False)
    elif not records:
        click.echo(f"lineage: no nodes match {selector or '*'!r}", err=True)
    elif sys.stdout.isatty():
        _print_rich(records)
    else:
        click.echo(_plain_table(records))


def _record(graph: LineageGraph, node_id: str) -> dict[str, Any]:
    data = graph.node(node_id)
    return {
        "id": node_id,
        "name": graph.name_of(node_id),
        "kind": data.get("kind", "unknown"),
        "is_materialized": data.get("is_materialized"),
        "status": data.get("status"),
        "folder": data.get("folder"),
    }


def _text(value: Any) -> str:
    """A cell for a terminal: '-' for missing, control characters (escape sequences) made visible."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def _plain_table(records: list[dict[str, Any]]) -> str:
    rows = [[h for h, _ in _COLUMNS]] + [[_text(r[a]) for _, a in _COLUMNS] for r in records]
    return "\n".join(text_table(rows))


def _print_rich(records: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold")
    for header, _ in _COLUMNS:
        table.add_column(header, no_wrap=header in ("id", "name"))
    for record in records:
        # Text() keeps API-supplied names from being read as rich markup.
        table.add_row(*(Text(_text(record[a])) for _, a in _COLUMNS))
    Console().print(table)
