"""``lineage diff``: what changed between two snapshots."""

from __future__ import annotations

import click

from lineage.analysis.diff import DIFF_KINDS, diff_kind_counts, parse_diff_kinds, slim_for_diff
from lineage.analysis.diff import diff as diff_graphs
from lineage.cli.common import (
    clean_errors,
    emit,
    format_option,
    out_option,
)
from lineage.errors import FindingsError
from lineage.graph import LineageGraph
from lineage.report import diff_json, diff_markdown


@click.command(name="diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@format_option(["md", "json"], default="md", help="output format")
@out_option()
@click.option(
    "--fail-on",
    default=None,
    metavar="KINDS",
    help="exit 1 if the diff holds any of these kinds of change (comma list or 'any')",
)
@clean_errors
def diff(old: str, new: str, fmt: str, out: str | None, fail_on: str | None) -> None:
    """Compare snapshot OLD with snapshot NEW: nodes, edges, SQL, cadence, materialization, health, renames.

    \b
    Kinds for --fail-on: {kinds}

    \b
    Examples:
      lineage diff output/monday.json output/snapshot.json --format md --out changes.md
      lineage diff output/snapshot.json output/snapshot.json --fail-on removed-edges,new-failing
    """
    kinds = parse_diff_kinds(fail_on) if fail_on is not None else frozenset()
    # Two whole snapshots of 20,000 views would hold 400 MB: the first is slimmed to what a diff
    # reads, and the second parsed without orjson's working copy, which would come on top of the first.
    before = slim_for_diff(LineageGraph.load(old))
    result = diff_graphs(before, LineageGraph.load(new, low_memory=True))
    emit(diff_json(result) if fmt == "json" else diff_markdown(result), out)
    hits = {kind: n for kind, n in diff_kind_counts(result).items() if kind in kinds and n}
    if hits:
        what = ", ".join(f"{n} {kind}" for kind, n in sorted(hits.items()))
        raise FindingsError(f"the diff holds --fail-on kinds of change: {what}")


diff.help = (diff.help or "").replace("{kinds}", ", ".join(DIFF_KINDS))
