"""``lineage watch``: a fresh snapshot each cycle and a message when something breaks or clears."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from lineage.cli.common import DEFAULT_SNAPSHOT, api_options, clean_errors, settings_from
from lineage.errors import ApiError, InputError
from lineage.watch import (
    DEFAULT_CONSUMERS_EVERY,
    DEFAULT_HOGQL_BUDGET,
    SEVERITIES,
    CycleResult,
    WatchOptions,
    WatchState,
    budget_plan,
    parse_every,
    run_cycle,
)

DEFAULT_EVERY = "30m"


def _words(seconds: float) -> str:
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def _say(result: CycleResult, cycle: int) -> None:
    if result.skipped:
        click.echo(f"watch: cycle {cycle}: skipped: {result.skipped}", err=True)
    elif result.error:
        click.echo(
            f"watch: cycle {cycle}: the crawl failed: {result.error}; tried again next cycle", err=True
        )
    else:
        click.echo(
            f"watch: cycle {cycle}: {len(result.new)} new, {len(result.resolved)} resolved, "
            f"{result.requests} requests ({result.hogql_queries} HogQL)",
            err=True,
        )
    for note in result.notes:
        click.echo(f"watch: {note}", err=True)
    if result.undelivered:
        click.echo(f"watch: {result.undelivered} message(s) wait for the webhook", err=True)


@click.command("watch")
@click.option(
    "--every", default=None, metavar="DUR", help=f"cycle interval: 30s, 15m, 2h, 1d [{DEFAULT_EVERY}]"
)
@click.option("--once", is_flag=True, help="run one cycle and exit (for cron and CI)")
@click.option(
    "--webhook",
    default=None,
    metavar="URL",
    envvar="LINEAGE_WEBHOOK",
    help="POST messages here (Slack-compatible) [env LINEAGE_WEBHOOK]; else print them",
)
@click.option("--state", default=None, metavar="PATH", help="what was announced [<snapshot>.watch.json]")
@click.option("--snapshot", default=DEFAULT_SNAPSHOT, show_default=True, metavar="PATH", help="kept fresh")
@click.option(
    "--min-severity",
    type=click.Choice(list(SEVERITIES)),
    default="warning",
    show_default=True,
    help="announce findings at or above this severity",
)
@click.option(
    "--hogql-budget",
    type=click.IntRange(1, 120),
    default=DEFAULT_HOGQL_BUDGET,
    show_default=True,
    help="HogQL queries an hour the watcher may spend (PostHog allows 120 per key, shared)",
)
@click.option(
    "--consumers-every",
    type=click.IntRange(min=1),
    default=DEFAULT_CONSUMERS_EVERY,
    show_default=True,
    metavar="N",
    help="read insights, dashboards, notebooks, endpoints and alerts every N cycles (carried over between)",
)
@click.option(
    "--edges",
    type=click.Choice(["api", "sql", "system", "auto"]),
    default="auto",
    show_default=True,
    help="edge source of each cycle's crawl (see lineage crawl)",
)
@api_options
@clean_errors
def watch_cmd(**kwargs: Any) -> None:
    """Keep a snapshot fresh and announce each new finding of `check` once, and once more when it clears.

    Each cycle refreshes the snapshot incrementally (a full crawl when it does not exist yet), runs the
    checks, and POSTs what is new or resolved to --webhook as {"text", "findings", "resolved"} (or prints
    it). What could not be delivered is kept in --state and sent on the next cycle.

    \b
    Examples:
      lineage watch --once --project 12345 --webhook https://hooks.slack.com/services/T/B/X
      lineage watch --every 1h --min-severity error
    """
    settings = settings_from(kwargs).require_api()
    if kwargs["once"] and kwargs["every"]:
        raise InputError("give either --once or --every, not both")
    every = parse_every(kwargs["every"] or DEFAULT_EVERY)
    options = WatchOptions(
        snapshot=Path(kwargs["snapshot"]),
        state=Path(kwargs["state"]) if kwargs["state"] else None,
        webhook=kwargs["webhook"],
        min_severity=kwargs["min_severity"],
        edges=kwargs["edges"],
        hogql_budget=kwargs["hogql_budget"],
        consumers_every=kwargs["consumers_every"],
    )
    state = WatchState.load(options.state_path)
    cost, shortest = budget_plan(
        options.hogql_budget, state.cycle_cost, state.consumer_cost, options.consumers_every
    )
    measured = "measured" if state.cycle_cost is not None else "estimated"
    click.echo(
        f"watch: {settings.host} project {settings.project}; HogQL budget {options.hogql_budget}/hour, "
        f"a cycle costs about {cost} queries ({measured}), at most one every {_words(shortest)}",
        err=True,
    )
    if kwargs["once"]:
        result = run_cycle(settings, options)
        _say(result, state.cycles + 1)
        if result.error or result.undelivered:
            raise ApiError(result.error or f"{result.undelivered} message(s) could not be delivered")
        return
    if every < shortest:
        click.echo(
            f"watch: --every {_words(every)} is faster than the budget allows; "
            f"cycling every {_words(shortest)}",
            err=True,
        )
        every = shortest
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"watch: {signal.Signals(signum).name}: stopping after this cycle", err=True)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        cycle = state.cycles
        while not stop.is_set():
            cycle += 1
            _say(run_cycle(settings, options), cycle)
            if stop.wait(every):
                break
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    click.echo(f"watch: stopped (pid {os.getpid()}); state in {options.state_path}", err=True)
