"""The ``lineage`` command line. Thin: parse, one library call, format.

Each command lives in its own module of this package and is registered in ``_COMMANDS``.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
import threading
from typing import NoReturn

import click

from lineage import __version__, graph

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
    ("lineage.cli.views", "create_cmd"),
    ("lineage.cli.views", "delete_cmd"),
    ("lineage.cli.views", "edit_cmd"),
    ("lineage.cli.watch", "watch_cmd"),
    ("lineage.cli.sim", "sim"),
    ("lineage.cli.demo", "demo"),
]


class _LazyGroup(click.Group):
    """Imports a command's module only when that command runs (``--help`` of the group imports all).

    ``lineage impact`` need not import the crawler, the simulator, sqlglot or rich: at 20,000 views
    the imports of every command cost as much as the analysis. A command whose name is its module's
    last component is found directly; any other name loads every command.
    """

    def _load_all(self) -> None:
        for module, attr in _COMMANDS:
            self._load(module, attr)

    def _load(self, module: str, attr: str) -> click.Command:
        command: click.Command = getattr(importlib.import_module(module), attr)
        if command.name not in self.commands:
            self.add_command(command)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_all()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            for module, attr in _COMMANDS:
                if module.rsplit(".", 1)[-1] == cmd_name and self._load(module, attr).name == cmd_name:
                    break
            else:
                self._load_all()
        return self.commands.get(cmd_name)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="lineage")
def main() -> None:
    """Lineage, impact analysis and health of PostHog data-warehouse saved queries.

    \b
    Example:
      lineage crawl --all --project 1 && lineage render --select '+mrr_by_month+' --out output/mrr.svg
    """


# Commands are added when first asked for (_LazyGroup), not here.


def entry() -> None:
    """The ``lineage`` program: one command per process, so a loaded snapshot may be frozen out of
    the garbage collector's passes (lineage.graph.FREEZE_AFTER_LOAD), and the process ends without
    taking its objects apart one by one (:func:`_leave`); tests call ``main`` instead."""
    graph.FREEZE_AFTER_LOAD = True
    try:
        main()
    except SystemExit as done:
        _leave(done.code)
    _leave(0)


def _leave(code: str | int | None) -> NoReturn:
    """Exit with ``code`` as ``sys.exit`` would, less the interpreter's teardown: freeing a 20,000-view
    crawl's or snapshot's objects one by one took a quarter of a second after the work was done.

    What exiting must still do is done: the functions registered with ``atexit`` (logging's flush,
    finalizers) run and the standard streams are flushed. With a thread other than a daemon still
    running, the exit is the ordinary one, which waits for it.
    """
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message goes to stderr, the status is 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`lineage ls | head`)
            stream.flush()
    os._exit(status & 0xFF)
