"""``lineage check``: health and consistency findings over a snapshot."""

from __future__ import annotations

import click

from lineage.analysis.checks import RULES, parse_rules
from lineage.analysis.checks import check as run_check
from lineage.cli.common import (
    clean_errors,
    emit,
    format_option,
    out_option,
    snapshot_option,
)
from lineage.errors import FindingsError
from lineage.graph import LineageGraph
from lineage.hogql.cache import TableCache
from lineage.report import check_json, check_text


@click.command(name="check")
@snapshot_option
@format_option(["text", "json"], default="text", help="output format")
@click.option(
    "--fail-on",
    default=None,
    metavar="RULES",
    help="exit 1 if any finding of these rules (comma list or 'any')",
)
@click.option(
    "--now", default=None, metavar="ISO", help="judge staleness at this time [default: the crawl time]"
)
@out_option()
@clean_errors
def check(snapshot: str, fmt: str, fail_on: str | None, now: str | None, out: str | None) -> None:
    """Report stale, failing and inconsistent views in a snapshot.

    \b
    Rules: {rules}

    \b
    Examples:
      lineage check
      lineage check --format json --fail-on failing,stale --now 2026-11-26T00:00:00Z
    """
    fail_rules = parse_rules(fail_on) if fail_on is not None else frozenset()
    graph = LineageGraph.load(snapshot)
    # Each SQL text is parsed once, ever: the tables it reads are cached by its hash (lineage.hogql.cache).
    tables = TableCache.default()
    report = run_check(graph, now=now, extract_tables=tables)
    tables.save()
    emit(check_json(report) if fmt == "json" else check_text(report), out)
    hits = report.matching(fail_rules)
    if hits:
        rules = ", ".join(sorted({f.rule for f in hits}))
        raise FindingsError(f"{len(hits)} finding(s) of --fail-on rules ({rules})")


check.help = (check.help or "").replace("{rules}", ", ".join(RULES))
