"""``lineage refresh``: run a view and the materialized views downstream of it, in order."""

from __future__ import annotations

import json
from typing import Any

import click

from lineage.cli.common import (
    api_options,
    clean_errors,
    emit,
    format_option,
    job_wait_options,
    out_option,
    settings_from,
    snapshot_option,
    yes_option,
)
from lineage.errors import FindingsError
from lineage.graph import LineageGraph
from lineage.io import text_table
from lineage.operate.plan import snapshot_flags
from lineage.operate.rerun import RerunResult, RerunStep, rerun, rerun_plan


def _table(steps: tuple[RerunStep, ...]) -> str:
    rows = [("view", "status", "seconds", "rows", "error")]
    for s in steps:
        error = (s.error or "").replace("\n", " ")
        rows.append(
            (s.name, s.status, "" if s.seconds is None else f"{s.seconds:.1f}", str(s.rows or ""), error)
        )
    return "\n".join(text_table(rows)) + "\n"


@click.command("refresh")
@click.argument("view")
@snapshot_option
@click.option("--only", is_flag=True, help="Run VIEW alone, not the materialized views downstream of it.")
@yes_option("Start the runs. Without it the plan is printed and nothing runs.")
@click.option("--keep-going", is_flag=True, help="Go on after a failed run (downstream reads stale data).")
@job_wait_options
@format_option(["text", "json"], default="text")
@out_option("write the result here instead of standard output")
@api_options
@clean_errors
def refresh_cmd(**kwargs: Any) -> None:
    """Re-run VIEW and every materialized view downstream of it, in dependency order.

    Each run waits for the one before it; the first failure stops the rest (exit 1) unless
    --keep-going. Needs a key with warehouse_view:write. PostHog allows 10 runs a minute per view.
    Views already failing are flagged in the plan. `lineage run 'VIEW+'` does the same with
    independent branches side by side.

    \b
    Examples:
      lineage refresh customer_mrr_by_month          # print the plan only
      lineage refresh customer_mrr_by_month --yes    # run it
      lineage refresh customer_mrr_by_month --only --yes --format json
    """
    graph = LineageGraph.load(kwargs["snapshot"])
    plan = rerun_plan(graph, kwargs["view"], downstream=not kwargs["only"])
    fmt, out = kwargs["fmt"], kwargs["out"]
    if not kwargs["yes"]:
        # views already failing are flagged (issue 14, item 11): their runs will likely fail again
        flags = {s.name: snapshot_flags(graph.node(s.view_id)) for s in plan if s.view_id in graph}
        if fmt == "json":
            flagged = {name: f for name, f in sorted(flags.items()) if f}
            payload = {"dry_run": True, "steps": [s.name for s in plan], "flagged": flagged}
            emit(json.dumps(payload, indent=2) + "\n", out)
        else:
            names = "\n".join(
                f"  {i}. {s.name}" + (f"  [{'; '.join(flags[s.name])}]" if flags.get(s.name) else "")
                for i, s in enumerate(plan, 1)
            )
            emit(f"would run, in this order:\n{names}\nadd --yes to start these runs\n", out)
        return
    settings = settings_from(kwargs).require_api()

    def shown(step: RerunStep) -> None:
        click.echo(f"{step.name}: {step.status}", err=True)

    def starting(step: RerunStep) -> None:
        click.echo(f"{step.name}: running (polling its job every {kwargs['poll_s']:g} s or more)", err=True)

    result: RerunResult = rerun(
        settings,
        plan,
        poll_s=kwargs["poll_s"],
        timeout_s=kwargs["timeout_s"],
        keep_going=kwargs["keep_going"],
        on_step=shown,
        on_start=starting,
    )
    emit(
        json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n"
        if fmt == "json"
        else _table(result.steps),
        out,
    )
    if not result.ok:
        failed = [s.name for s in result.steps if s.status != "Completed"]
        raise FindingsError(
            f"{len(failed)} of {len(result.steps)} views did not complete: {', '.join(failed)}"
        )
