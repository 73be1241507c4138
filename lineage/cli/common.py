"""Shared pieces of the command line: API settings options, clean errors, output files."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from lineage.config import ENV_HOST, ENV_KEY, ENV_MAX_RPM, ENV_PROJECT, Settings, redact
from lineage.errors import LineageError

F = TypeVar("F", bound=Callable[..., Any])


def api_options(func: F) -> F:
    """Add --host, --project, --api-key and --max-rpm (interfaces.md section 1)."""
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


def settings_from(kwargs: dict[str, Any]) -> Settings:
    """Pop the api_options values out of a command's kwargs and resolve them."""
    return Settings.resolve(
        host=kwargs.pop("host", None),
        project=kwargs.pop("project", None),
        api_key=kwargs.pop("api_key", None),
        max_rpm=kwargs.pop("max_rpm", None),
    )


def clean_errors(func: F) -> F:
    """Turn LineageError into a one-line message and its exit code; never a traceback or a key."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LineageError as exc:
            click.echo(f"lineage: {redact(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("lineage: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write a file through a temporary sibling and a rename, so readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def emit(text: str, out: str | None) -> None:
    """Print to standard output, or write atomically to ``out`` and say where."""
    if out is None or out == "-":
        click.echo(text, nl=not text.endswith("\n"))
    else:
        write_atomic(out, text)
        click.echo(f"wrote {out}", err=True)
