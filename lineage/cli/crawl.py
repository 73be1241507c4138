"""``lineage crawl``: the API into a snapshot."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from lineage.cli.common import api_options, clean_errors, progress_bar, settings_from
from lineage.config import ENV_MAX_RESPONSE_MB, ENV_REQUEST_DEADLINE, ENV_THROTTLE_BUDGET
from lineage.crawl import CrawlOptions, crawl, default_journal, parse_since
from lineage.errors import InputError, PermissionDeniedError
from lineage.graph import LineageGraph
from lineage.io import FileLock


def _writable_out(text: str) -> Path:
    """Refuse an --out the snapshot could not be written to before spending any requests."""
    if not text.strip():
        raise InputError("--out is empty; give the snapshot's file name, such as output/snapshot.json")
    out = Path(text)
    if out.is_dir():
        raise InputError(f"--out {out} is a directory; give a file name such as {out / 'snapshot.json'}")
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"--out {out}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: cannot write in {existing}; choose another place")
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"--out {out} is not writable; choose another file")
    return out


_THROTTLE_LINE_EVERY = 10.0  # seconds of budget between two lines on standard error
_throttle_said = [-_THROTTLE_LINE_EVERY]


def _say_throttled(wait: float, spent: float, budget: float) -> None:
    """Without a progress bar, a line on standard error when PostHog's 429s hold the crawl: the
    first time, then once per ten seconds of the budget spent (a storm closes the gate often)."""
    if spent - _throttle_said[0] < _THROTTLE_LINE_EVERY and spent >= _throttle_said[0]:
        return
    _throttle_said[0] = spent
    click.echo(
        f"lineage: PostHog is rate limiting (HTTP 429): the crawl waits {wait:.0f} s "
        f"({spent:.0f} s of the {budget:g} s throttle budget spent)",
        err=True,
    )


def _verify_count(value: str | None) -> int:
    if value is None:
        return 0
    if value == "all":
        return 10**9
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 1:
        raise InputError(f"--verify {value!r}: give a whole number of views >= 1, or --verify alone for all")
    return count


F = TypeVar("F", bound=Callable[..., Any])


def _limit(flag: str, metavar: str, what: str, env: str, default: int) -> Callable[[F], F]:
    """A client limit's option: a number, unset unless given (the setting's own default applies)."""
    return click.option(
        flag, type=float, default=None, metavar=metavar, help=f"{what} [env {env}; {default}]."
    )


@click.command("crawl")
@click.option("--all", "crawl_all", is_flag=True, help="Crawl every view (the default without --select).")
@click.option(
    "--select", "selector", default=None, help="Crawl around these views: 'orders', '+orders+', '2+a b+1'."
)
@click.option(
    "--upstream", type=click.IntRange(min=0), default=None, help="Depth upstream of plain names [all]."
)
@click.option(
    "--downstream", type=click.IntRange(min=0), default=None, help="Depth downstream of plain names [all]."
)
@click.option(
    "--edges",
    type=click.Choice(["api", "sql", "system", "auto"]),
    default="auto",
    show_default=True,
    help="Where edges come from: lineage endpoints, each view's HogQL (one GET each), system tables via "
    "the query API (a handful of queries), or auto: system, else api, else sql.",
)
@click.option(
    "--out",
    default="output/snapshot.json",
    show_default=True,
    envvar="LINEAGE_SNAPSHOT",
    help="Snapshot file to write [env LINEAGE_SNAPSHOT].",
)
@click.option(
    "--refresh", "refresh", default=None, help="An older snapshot whose unchanged parts are reused."
)
@click.option(
    "--resume", is_flag=True, help="Continue a crawl that was interrupted, skipping finished requests."
)
@click.option(
    "--jobs-since", default="30d", show_default=True, help="Window of job history to read (m/h/d/w)."
)
@click.option("--no-jobs", is_flag=True, help="Do not read job history.")
@click.option(
    "--verify",
    "verify",
    is_flag=False,
    flag_value="all",
    default=None,
    metavar="[N]",
    help="Cross-check: with api edges, every view's counts against the dependencies endpoint; with sql or "
    "system edges, N views (all if no N) against ancestors(level=1). Disagreements are printed.",
)
@click.option(
    "--with-sql",
    is_flag=True,
    help="Also read each view's HogQL (one GET per view) for column impact; implied by --edges sql.",
)
@click.option(
    "--no-consumers",
    is_flag=True,
    help="Do not read insights, dashboards, notebooks, endpoints and alerts (read by default).",
)
@click.option(
    "--with-activity",
    is_flag=True,
    help="Also read each view's activity log (one GET per view, scope activity_log:read): who last "
    "changed its SQL and when, shown by impact and diff.",
)
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=8, show_default=True, help="Requests in flight."
)
@click.option("--progress/--no-progress", default=None, help="Progress bar [on when stderr is a terminal].")
@_limit(
    "--throttle-budget",
    "SECONDS",
    "Wall time the crawl may spend waiting out PostHog's 429s",
    ENV_THROTTLE_BUDGET,
    900,
)
@_limit(
    "--request-deadline",
    "SECONDS",
    "Total time one request may take, body included",
    ENV_REQUEST_DEADLINE,
    120,
)
@_limit("--max-response-mb", "MB", "Largest decoded answer accepted", ENV_MAX_RESPONSE_MB, 256)
@api_options
@clean_errors
def crawl_cmd(**kwargs: Any) -> None:
    """Crawl PostHog's saved-query lineage into a snapshot.

    \b
    Examples:
      lineage crawl --all --project 12345
      lineage crawl --select '+mrr_by_month+' --upstream 2 --out output/mrr.json
      lineage crawl --all --resume          # after an interrupted crawl
    """
    settings = settings_from(kwargs).require_api()
    if kwargs["crawl_all"] and kwargs["selector"]:
        raise InputError("give either --all or --select, not both")
    if kwargs["selector"] is not None and not kwargs["selector"].strip():
        raise InputError("--select is empty; give a view name, a glob or a method, or use --all")
    out = _writable_out(kwargs["out"])
    refresh = LineageGraph.load(kwargs["refresh"]) if kwargs["refresh"] else None
    journal = default_journal(out)
    # a journal another run is writing is not an interrupted crawl: that run's lock refuses us below
    if journal.exists() and not kwargs["resume"] and FileLock(journal, what="journal").held_by() is None:
        click.echo(
            f"lineage: an interrupted crawl left {journal}; starting afresh (use --resume to continue it)",
            err=True,
        )
    _throttle_said[0] = -_THROTTLE_LINE_EVERY
    show = kwargs["progress"] if kwargs["progress"] is not None else sys.stderr.isatty()
    with progress_bar(show) as progress:
        options = CrawlOptions(
            strategy="select" if kwargs["selector"] else "all",
            select=kwargs["selector"],
            upstream=kwargs["upstream"],
            downstream=kwargs["downstream"],
            edges=kwargs["edges"],
            jobs=not kwargs["no_jobs"],
            jobs_since=parse_since(kwargs["jobs_since"]),
            verify=kwargs["verify"] is not None,
            verify_sample=_verify_count(kwargs["verify"]),
            with_sql=kwargs["with_sql"],
            consumers=not kwargs["no_consumers"],
            activity=kwargs["with_activity"],
            concurrency=kwargs["concurrency"],
            journal=journal,
            out=out,
            resume=kwargs["resume"],
            refresh=refresh,
            progress=progress,
            on_throttle=None if progress is not None else _say_throttled,
        )
        try:
            result = crawl(settings, options)
        except PermissionDeniedError as exc:
            lineage_endpoint = any(p in str(exc) for p in ("/ancestors/", "/descendants/", "/dependencies/"))
            if kwargs["edges"] != "api" or not lineage_endpoint:
                raise
            # issue 14, item 10: say what to do instead of the lineage endpoints
            raise type(exc)(
                f"{str(exc).replace('; use the listing and per-view endpoints instead', '')}; "
                "--edges api needs the lineage endpoints, which refuse this key: use "
                "--edges sql (parse each view's HogQL) or --edges auto (the best source that answers)",
                status=exc.status,
                method=exc.method,
                path=exc.path,
            ) from None
        from lineage.hogql import cache  # the views' parsed SQL, for the next crawl and check

        cache.shared().save()
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for mismatch in result.verify_mismatches:
        click.echo(f"verify: {mismatch}", err=True)
    click.echo(f"wrote {out}: {result.summary()}")
