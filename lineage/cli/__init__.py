"""The ``lineage`` command line. Thin: parse, one library call, format.

Each command lives in its own module of this package and is registered in ``_COMMANDS``.
"""

from __future__ import annotations

import importlib

import click

from lineage import __version__

# (module, attribute) of every top-level command, in --help order.
_COMMANDS: list[tuple[str, str]] = [
    ("lineage.cli.crawl", "crawl_cmd"),
    ("lineage.cli.impact", "impact"),
    ("lineage.cli.check", "check"),
    ("lineage.cli.diff", "diff"),
    ("lineage.cli.ls", "ls"),
    ("lineage.cli.render", "render"),
    ("lineage.cli.refresh", "refresh_cmd"),
    ("lineage.cli.export", "export_cmd"),
    ("lineage.cli.operate", "run_cmd"),
    ("lineage.cli.operate", "materialize_cmd"),
    ("lineage.cli.operate", "revert_cmd"),
    ("lineage.cli.operate", "cancel_cmd"),
    ("lineage.cli.operate", "resume_cmd"),
    ("lineage.cli.jobs", "jobs_cmd"),
    ("lineage.cli.operate", "history_cmd"),
    ("lineage.cli.folders", "folders"),
    ("lineage.cli.watch", "watch_cmd"),
    ("lineage.cli.sim", "sim"),
    ("lineage.cli.demo", "demo"),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lineage")
def main() -> None:
    """Lineage, impact analysis and health of PostHog data-warehouse saved queries.

    \b
    Example:
      lineage crawl --all --project 1 && lineage render --select '+mrr_by_month+' --out output/mrr.svg
    """


for _module, _attr in _COMMANDS:
    main.add_command(getattr(importlib.import_module(_module), _attr))
