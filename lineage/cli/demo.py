"""``lineage demo``: the whole pipeline on the bundled demo warehouse, served over loopback HTTP."""

from __future__ import annotations

import sys

import click

from lineage.cli.common import clean_errors, progress_bar
from lineage.demo import run_demo


@click.command("demo")
@click.option(
    "--out", default="output", show_default=True, metavar="DIR", help="directory to write the outputs to"
)
@click.option("--progress/--no-progress", default=None, help="progress bar [on when stderr is a terminal]")
@clean_errors
def demo(out: str, progress: bool | None) -> None:
    """Run the whole pipeline on the bundled demo warehouse, offline.

    Starts the PostHog API simulator on 127.0.0.1 with a sample warehouse (PostHog's revenue
    analytics views plus a team's own views, one failing, one stale and one reading a deleted
    view), crawls it over HTTP, and writes to DIR: snapshot.json, lineage.svg, lineage.html,
    impact.md and impact.html (for the most depended-on view), check.txt and check.json.

    \b
    Examples:
      lineage demo
      lineage demo --out /tmp/lineage-demo && lineage check --snapshot /tmp/lineage-demo/snapshot.json
    """
    show = progress if progress is not None else sys.stderr.isatty()
    with progress_bar(show) as callback:
        result = run_demo(out, progress=callback)
    click.echo(f"crawled the demo warehouse: {result.crawl_summary}")
    for path in result.written:
        click.echo(f"wrote {path}")
    if result.graphviz_missing is not None:
        click.echo(f"lineage: {result.graphviz_missing}", err=True)
    counts = ", ".join(f"{rule} {n}" for rule, n in result.findings.counts().items() if n)
    click.echo(f"findings: {counts or 'none'} (see {result.out / 'check.txt'})")
    click.echo(f"impact report for the most depended-on view: {result.impact_view}")
    click.echo(f"done in {result.seconds:.1f} s. Try next:")
    for cmd in result.next_commands():
        click.echo(f"  {cmd}")
