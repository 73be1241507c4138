"""``lineage run|materialize|revert|cancel|resume|history``: operate the warehouse.

Every command that changes PostHog resolves a selector on the snapshot, confirms each id live,
prints the plan, and changes nothing without ``--yes``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from lineage.api import AsyncPostHogClient
from lineage.cli.common import (
    api_options,
    clean_errors,
    emit,
    exclude_option,
    format_option,
    job_wait_options,
    json_text,
    settings_from,
    snapshot_option,
    yes_option,
)
from lineage.config import Settings
from lineage.errors import ApiError, ConfigError, FindingsError
from lineage.graph import LineageGraph
from lineage.io import text_table, visible
from lineage.operate import Plan, RunReport, confirm_live, execute_run, plan_for
from lineage.operate.actions import ACTIONS, ActionOutcome, apply_action

T = TypeVar("T")

# The cadences `materialize` accepts, finest first ("never" is refused there: PostHog's
# MATERIALIZE_SYNC_FREQUENCY_CHOICES leave it out, materializing is what starts the refreshes).
MATERIALIZE_CADENCES = ("15min", "30min", "1hour", "6hour", "12hour", "24hour", "7day", "30day")

# Longest single wait on PostHog's per-view limits (materialize/revert: 5 an hour) before giving up.
MAX_LIMIT_WAIT_S = 3700.0

_SELECTION_HELP = "views to act on (dbt selector: NAME, NAME+, +NAME, folder:X, ...)"


def _settings(kwargs: dict[str, Any], *, needed: bool) -> Settings | None:
    """The API settings, or None when they are missing and the command only plans."""
    settings = settings_from(kwargs)
    try:
        return settings.require_api()
    except ConfigError:
        if needed:
            raise
        return None


def with_client(
    settings: Settings, body: Callable[[AsyncPostHogClient], Awaitable[T]], *, concurrency: int = 8
) -> T:
    async def main() -> T:
        async with AsyncPostHogClient(settings, concurrency=concurrency, max_wait=MAX_LIMIT_WAIT_S) as client:
            return await body(client)

    return asyncio.run(main())


def _cell(value: Any) -> str:
    return visible("" if value is None else str(value)).replace("\n", " ")


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A plain aligned table (control characters made visible)."""
    return "\n".join(text_table([header, *[[_cell(v) for v in row] for row in rows]])) + "\n"


def _plan_text(verb: str, plan: Plan, *, show_waves: bool) -> str:
    lines = [f"plan: {verb} {len(plan.steps)} view{'s' if len(plan.steps) != 1 else ''}"]
    if show_waves:
        lines[0] += f" in {len(plan.waves)} wave{'s' if len(plan.waves) != 1 else ''}"
    for step in plan.steps:
        flags = f"  [{'; '.join(step.flags)}]" if step.flags else ""
        extra = "  (full refresh)" if step.full_refresh else ""
        prefix = f"  wave {step.wave}  " if show_waves else "  "
        lines.append(f"{prefix}{_cell(step.name)}{extra}{flags}")
    if not plan.checked:
        lines.append(
            "(not checked against PostHog: give --project and --api-key to confirm each view is live)"
        )
    return "\n".join(lines) + "\n"


def _print_plan(verb: str, plan: Plan, fmt: str, *, show_waves: bool, yes: bool) -> None:
    if fmt == "json":
        if not yes:
            click.echo(json_text({**plan.to_dict(), "dry_run": True}), nl=False)
        return
    text = _plan_text(verb, plan, show_waves=show_waves)
    if yes:
        click.echo(text, err=True, nl=False)
    else:
        click.echo(text + "nothing changed: add --yes to do it\n", nl=False)


def _load_plan(kwargs: dict[str, Any], *, materialized_only: bool, full_refresh: bool = False) -> Plan:
    graph = LineageGraph.load(kwargs["snapshot"])
    return plan_for(
        graph,
        kwargs["selector"],
        exclude=kwargs.get("exclude"),
        materialized_only=materialized_only,
        full_refresh=full_refresh,
    )


def _summary(report: RunReport) -> str:
    rows = [
        [
            o.name,
            o.wave,
            o.status,
            "" if o.seconds is None else f"{o.seconds:.1f}",
            o.rows or "",
            o.error or "",
        ]
        for o in report.outcomes
    ]
    return table(["view", "wave", "status", "seconds", "rows", "error"], rows)


# --------------------------------------------------------------------------------------------- run


@click.command("run")
@click.argument("selector", metavar="SEL")
@exclude_option("views")
@snapshot_option
@yes_option("Start the runs. Without it the plan is printed and nothing runs.")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental views from scratch.")
@click.option(
    "--parallel",
    type=click.IntRange(min=1, max=32),
    default=4,
    show_default=True,
    help="runs in flight at once",
)
@click.option("--keep-going", is_flag=True, help="Run what reads a failed view anyway (it reads stale data).")
@job_wait_options
@format_option(["text", "json"], default="text")
@api_options
@clean_errors
def run_cmd(**kwargs: Any) -> None:
    """Run the materialized views SEL selects, in dependency order, independent ones side by side.

    Views run in waves: a view's wave comes after every selected materialized view it reads
    (through plain views too). A failure skips only what depends on it (reported as Skipped);
    other branches go on. Views already failing or suspended are flagged in the plan. Ctrl-C
    cancels the runs it started. An incremental view downstream of another run gets a full
    refresh. PostHog allows 10 runs a minute per view: the command waits rather than be refused.
    Exit 1 when a run fails. `lineage refresh VIEW` is `lineage run 'VIEW+'`.

    \b
    Examples:
      lineage run 'customer_mrr_by_month+'                 # print the plan only
      lineage run 'customer_mrr_by_month+' --yes --parallel 2
      lineage run 'folder:Finance' --format json
    """
    fmt = kwargs["fmt"]
    plan = _load_plan(kwargs, materialized_only=True, full_refresh=kwargs["full_refresh"])
    settings = _settings(kwargs, needed=kwargs["yes"])
    if settings is None:
        _print_plan("run", plan, fmt, show_waves=True, yes=False)
        return
    parallel = kwargs["parallel"]

    def progress(text: str) -> None:
        click.echo(visible(text), err=True)

    async def main(client: AsyncPostHogClient) -> tuple[Plan, RunReport | None]:
        live = await confirm_live(client, plan)
        _print_plan("run", live, fmt, show_waves=True, yes=kwargs["yes"])
        if not kwargs["yes"]:
            return live, None
        report = await execute_run(
            client,
            live,
            parallel=parallel,
            keep_going=kwargs["keep_going"],
            poll_s=kwargs["poll_s"],
            timeout_s=kwargs["timeout_s"],
            on_event=progress,
        )
        return live, report

    _, report = with_client(settings, main, concurrency=parallel + 2)
    if report is None:
        return
    if fmt == "json":
        emit(json_text(report.to_dict(), sort_keys=True), None)
    else:
        emit(_summary(report), None)
    if report.interrupted:
        parts = []
        if report.cancelled:
            parts.append(f"cancelled the runs of {', '.join(report.cancelled)}")
        if report.cancel_failed:
            parts.append(f"could not cancel {', '.join(report.cancel_failed)} (still running)")
        if report.left:
            parts.append(f"did not start {', '.join(report.left)}")
        click.echo(f"lineage: interrupted; {'; '.join(parts) or 'nothing was running'}", err=True)
        sys.exit(130)
    if not report.ok:
        bad = [o.name for o in report.outcomes if o.status != "Completed"]
        raise FindingsError(f"{len(bad)} of {len(report.outcomes)} views did not complete: {', '.join(bad)}")


# ------------------------------------------------------------------ materialize, revert, cancel, resume


def _do_action(action: str, kwargs: dict[str, Any], *, materialized_only: bool) -> None:
    fmt = kwargs["fmt"]
    every = kwargs.get("every")
    plan = _load_plan(kwargs, materialized_only=materialized_only)
    settings = _settings(kwargs, needed=kwargs["yes"])
    verb = ACTIONS[action] + (f" every {every}" if every else "")
    if settings is None:
        _print_plan(verb, plan, fmt, show_waves=False, yes=False)
        return

    async def main(client: AsyncPostHogClient) -> list[ActionOutcome] | None:
        live = await confirm_live(client, plan, with_jobs=False)
        _print_plan(verb, live, fmt, show_waves=False, yes=kwargs["yes"])
        if not kwargs["yes"]:
            return None
        return await apply_action(client, action, live, every=every)

    outcomes = with_client(settings, main)
    if outcomes is not None:
        _report_outcomes(outcomes, fmt)


def _report_outcomes(outcomes: list[ActionOutcome], fmt: str) -> None:
    """Print what each view's action did; any refusal ends in an ApiError (exit 3)."""
    if fmt == "json":
        payload = {"ok": all(o.ok for o in outcomes), "steps": [o.to_dict() for o in outcomes]}
        emit(json_text(payload), None)
    else:
        rows = [[o.name, "done" if o.ok else "refused", o.error or ""] for o in outcomes]
        emit(table(["view", "result", "error"], rows), None)
    refused = [o for o in outcomes if not o.ok]
    if refused:
        raise ApiError(
            f"PostHog refused {len(refused)} of {len(outcomes)} views; first: {refused[0].name}: "
            f"{refused[0].error}"
        )


def _action_options(func: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(
        [
            click.argument("selector", metavar="SEL"),
            exclude_option("views"),
            snapshot_option,
            yes_option(),
            format_option(["text", "json"], default="text"),
        ]
    ):
        func = option(func)
    return func


@click.command("materialize")
@_action_options
@click.option(
    "--every",
    type=click.Choice(list(MATERIALIZE_CADENCES)),
    default=None,
    help="cadence (newest PostHog; it refuses one outside the view's sync_frequency_bounds) [24hour]",
)
@api_options
@clean_errors
def materialize_cmd(**kwargs: Any) -> None:
    """Materialize the views SEL selects (PostHog allows 5 materialize/revert an hour per view).

    \b
    Examples:
      lineage materialize customer_mrr_by_month                  # print the plan only
      lineage materialize customer_mrr_by_month --every 6hour --yes
    """
    _do_action("materialize", kwargs, materialized_only=False)


@click.command("revert")
@_action_options
@api_options
@clean_errors
def revert_cmd(**kwargs: Any) -> None:
    """Revert the materialization of the materialized views SEL selects (they become plain views).

    \b
    Examples:
      lineage revert customer_mrr_by_month                       # print the plan only
      lineage revert 'folder:Finance' --yes --format json
    """
    _do_action("revert", kwargs, materialized_only=True)


@click.command("cancel")
@_action_options
@api_options
@clean_errors
def cancel_cmd(**kwargs: Any) -> None:
    """Cancel the running materializations of the views SEL selects.

    \b
    Examples:
      lineage cancel customer_mrr_by_month                       # print the plan only
      lineage cancel customer_mrr_by_month --yes
    """
    _do_action("cancel", kwargs, materialized_only=True)


@click.command("resume")
@_action_options
@api_options
@clean_errors
def resume_cmd(**kwargs: Any) -> None:
    """Resume (un-suspend) the materialized views SEL selects; PostHog suspends a view after
    repeated failures and then skips it and its dependents on schedule.

    \b
    Examples:
      lineage resume customer_mrr_by_month                       # print the plan only
      lineage resume customer_mrr_by_month --yes
    """
    _do_action("resume", kwargs, materialized_only=True)


# --------------------------------------------------------------------------------------------- history


@click.command("history")
@click.argument("view")
@snapshot_option
@format_option(["text", "json"], default="text")
@api_options
@clean_errors
def history_cmd(**kwargs: Any) -> None:
    """The newest runs of VIEW (at most five, PostHog's run_history), newest first.

    \b
    Examples:
      lineage history customer_mrr_by_month
      lineage history customer_mrr_by_month --format json
    """
    view = kwargs["view"]
    graph = LineageGraph.load(kwargs["snapshot"])
    view_id = graph.resolve(view)
    settings = _settings(kwargs, needed=True)
    assert settings is not None

    async def main(client: AsyncPostHogClient) -> list[dict[str, Any]]:
        entries = await client.run_history(view_id)
        return [
            {"status": e.status, "timestamp": None if e.timestamp is None else e.timestamp.isoformat()}
            for e in entries
        ]

    rows = with_client(settings, main)
    if kwargs["fmt"] == "json":
        emit(
            json.dumps({"view": graph.name_of(view_id), "id": view_id, "run_history": rows}, indent=2) + "\n",
            None,
        )
    elif not rows:
        click.echo(f"{graph.name_of(view_id)} has not run yet")
    else:
        emit(table(["status", "finished"], [[r["status"], r["timestamp"]] for r in rows]), None)
