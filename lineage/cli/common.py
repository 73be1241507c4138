"""Shared pieces of the command line: API settings options, clean errors, output files."""

from __future__ import annotations

import functools
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from lineage.config import ENV_HOST, ENV_KEY, ENV_MAX_RPM, ENV_PROJECT, Settings, redact
from lineage.errors import LineageError, naming_flags
from lineage.io import visible, write_atomic

__all__ = [
    "DEFAULT_SNAPSHOT",
    "api_options",
    "clean_errors",
    "emit",
    "exclude_option",
    "flag_for",
    "format_for",
    "format_option",
    "job_wait_options",
    "json_text",
    "out_option",
    "progress_bar",
    "select_option",
    "settings_from",
    "snapshot_option",
    "write_atomic",
    "yes_option",
]

F = TypeVar("F", bound=Callable[..., Any])


def api_options(func: F) -> F:
    """Add --host, --project, --api-key and --max-rpm (each also read from its environment variable)."""
    options = [
        click.option("--host", default=None, help=f"PostHog host [env {ENV_HOST}; default us.posthog.com]"),
        click.option("--project", default=None, help=f"project (team) id [env {ENV_PROJECT}]"),
        click.option(
            "--api-key", default=None, help=f"personal API key [env {ENV_KEY}]; never printed or stored"
        ),
        click.option(
            "--max-rpm", default=None, type=int, help=f"requests per minute to allow [env {ENV_MAX_RPM}; 480]"
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


DEFAULT_SNAPSHOT = "output/snapshot.json"

#: ``--snapshot PATH``, the same on every command that reads a snapshot.
#: The environment variable that names the snapshot when --snapshot is not given.
ENV_SNAPSHOT = "LINEAGE_SNAPSHOT"

snapshot_option = click.option(
    "--snapshot",
    default=DEFAULT_SNAPSHOT,
    show_default=True,
    envvar=ENV_SNAPSHOT,
    metavar="PATH",
    help=f"snapshot written by 'lineage crawl' [env {ENV_SNAPSHOT}]",
)


def format_option(
    choices: Sequence[str], *, default: str | None = None, required: bool = False, help: str | None = None
) -> Callable[[F], F]:
    """``--format FMT`` (into ``fmt``): one of ``choices``; a default is shown in the help."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        required=required,
        show_default=default is not None,
        help=help,
    )


def select_option(help: str) -> Callable[[F], F]:
    """``--select SEL`` (into ``selector``): dbt-style selectors, see lineage.select."""
    return click.option("--select", "selector", default=None, metavar="SEL", help=help)


def exclude_option(what: str) -> Callable[[F], F]:
    """``--exclude SEL``: ``what`` (nodes, views) to leave out, in the --select syntax."""
    return click.option("--exclude", default=None, metavar="SEL", help=f"{what} to leave out (same syntax)")


def out_option(help: str = "write here instead of standard output") -> Callable[[F], F]:
    """``--out PATH``: where a command writes its output (standard output when not given)."""
    return click.option("--out", default=None, metavar="PATH", help=help)


def yes_option(help: str = "Do it. Without it the plan is printed and nothing changes.") -> Callable[[F], F]:
    """``--yes``: act on PostHog; without it a command prints its plan and changes nothing."""
    return click.option("--yes", is_flag=True, help=help)


def json_text(data: Any, *, sort_keys: bool = False) -> str:
    """``data`` as the command line prints JSON: indented by two, non-ASCII kept, one final newline."""
    return json.dumps(data, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n"


def job_wait_options(func: F) -> F:
    """Add --poll and --timeout: how often a started job is polled, and how long it is waited for."""
    options = [
        click.option(
            "--poll",
            "poll_s",
            type=click.FloatRange(min=0.01),
            default=5.0,
            show_default=True,
            help="Seconds between the first job polls (backs off to 60).",
        ),
        click.option(
            "--timeout",
            "timeout_s",
            type=click.FloatRange(min=1),
            default=3600.0,
            show_default=True,
            help="Seconds to wait for one job before leaving it running.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def settings_from(kwargs: dict[str, Any]) -> Settings:
    """Pop the api_options values out of a command's kwargs and resolve them."""
    return Settings.resolve(
        host=kwargs.pop("host", None),
        project=kwargs.pop("project", None),
        api_key=kwargs.pop("api_key", None),
        max_rpm=kwargs.pop("max_rpm", None),
        throttle_budget=kwargs.pop("throttle_budget", None),
        request_deadline=kwargs.pop("request_deadline", None),
        max_response_mb=kwargs.pop("max_response_mb", None),
    )


#: The flag of each library parameter whose flag is not ``--`` and its name with dashes.
FLAGS: dict[str, str] = {
    "collapse_folders": "--collapse-folder",
}


def flag_for(name: str) -> str:
    """The flag that sets the library parameter ``name``: ``max_depth`` -> ``--max-depth``."""
    return FLAGS.get(name) or "--" + name.replace("_", "-")


def clean_errors(func: F) -> F:
    """Turn LineageError into a one-line message and its exit code; never a traceback or a key."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with naming_flags(flag_for):  # library messages name parameters; here they name flags
            return _run_cleanly(func, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _run_cleanly(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except LineageError as exc:
        click.echo(f"lineage: {visible(redact(str(exc)))}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("lineage: interrupted", err=True)
        sys.exit(130)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise  # click prints these itself (usage errors, --help)
    except (ConnectionError, TimeoutError, socket.gaierror) as exc:
        click.echo(
            f"lineage: network failure ({type(exc).__name__}: {visible(redact(_first_line(exc)))}); "
            "check the network and --host, then try again",
            err=True,
        )
        sys.exit(3)
    except OSError as exc:
        # A file the command reads or writes (an --out in a read-only place, a journal beside it).
        where = f" {redact(str(exc.filename))!r}" if exc.filename is not None else ""
        click.echo(
            f"lineage: cannot use{where}: {visible(redact(exc.strerror or str(exc)))}; "
            "check that the path exists and is writable, or pass another one",
            err=True,
        )
        sys.exit(2)
    except Exception as exc:
        # A bug, not bad input: still one line (and never the key), the traceback only on request.
        if os.environ.get("LINEAGE_DEBUG"):
            raise
        click.echo(
            f"lineage: internal error ({type(exc).__name__}: {visible(redact(_first_line(exc)))}); "
            "this is a bug: rerun with LINEAGE_DEBUG=1 for the traceback and report it",
            err=True,
        )
        sys.exit(2)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= 200 else line[:197] + "..."


def emit(text: str, out: str | None) -> None:
    """Print to standard output, or write atomically to ``out`` and say where."""
    if out is None or out == "-":
        click.echo(text, nl=not text.endswith("\n"))
    else:
        write_atomic(out, text)
        click.echo(f"wrote {out}", err=True)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar on standard error when it is a terminal; nothing in pipes and CI logs."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:>12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield update


def format_for(out: str | None, choices: tuple[str, ...], *, terminal: str, other: str) -> str:
    """The format when --format is not given: from --out's extension (``.html`` -> html), else
    ``terminal`` when standard output is a terminal, else ``other``."""
    if out is not None and out != "-":
        suffix = out.rsplit(".", 1)[-1].lower() if "." in out else ""
        aliases = {"markdown": "md", "htm": "html", "mmd": "mermaid", "gv": "dot", "txt": "text"}
        suffix = aliases.get(suffix, suffix)
        if suffix in choices:
            return suffix
        return other
    return terminal if sys.stdout.isatty() else other
