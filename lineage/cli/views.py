"""``lineage delete``: change saved queries themselves (issue 14), the way `materialize` acts on them.

The selector is resolved on the snapshot, each id is confirmed live, the plan is printed, and nothing
changes without ``--yes``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import click

from lineage.api import AsyncPostHogClient
from lineage.cli.common import api_options, clean_errors
from lineage.cli.operate import (
    _action_options,
    _load_plan,
    _plan_text,
    _report_outcomes,
    _settings,
    with_client,
)
from lineage.graph import LineageGraph
from lineage.operate import Plan, confirm_live
from lineage.operate.actions import ActionOutcome, apply_action


def _with_readers(plan: Plan, graph: LineageGraph) -> tuple[Plan, dict[str, dict[str, Any]]]:
    """The plan with what reads each view (from the snapshot) as a flag, and the same for JSON."""
    readers: dict[str, dict[str, Any]] = {}
    steps = []
    for step in plan.steps:
        direct = sorted(graph.name_of(n) for n in graph.downstream(step.id, depth=1))
        total = len(graph.downstream(step.id))
        readers[step.id] = {"read_by": direct, "downstream": total}
        flags = step.flags
        if direct:
            flags += (f"read by {', '.join(direct)}; {total} downstream in all",)
        steps.append(replace(step, flags=flags))
    # readers before what they read, so that `SEL+` can go in one command
    steps.sort(key=lambda s: (-s.wave, s.name, s.id))
    return Plan(tuple(steps), checked=plan.checked, notes=plan.notes), readers


def _print_delete_plan(plan: Plan, readers: dict[str, dict[str, Any]], fmt: str, *, yes: bool) -> None:
    if fmt == "json":
        if not yes:
            steps = [{**s.to_dict(), **readers[s.id]} for s in plan.steps]
            payload = {"steps": steps, "checked": plan.checked, "dry_run": True}
            click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    text = _plan_text("delete", plan, show_waves=False)
    if yes:
        click.echo(text, err=True, nl=False)
    else:
        click.echo(text + "nothing changed: add --yes to do it\n", nl=False)


@click.command("delete")
@_action_options
@api_options
@clean_errors
def delete_cmd(**kwargs: Any) -> None:
    """Delete the saved queries SEL selects; the plan lists what reads each one (from the snapshot).

    PostHog refuses to delete a view that other views (in the newest PostHog also insights) read;
    each refusal is reported per view and the command exits 3. Selected views are deleted readers
    first, so `NAME+` deletes a view and everything downstream of it.

    \b
    Examples:
      lineage delete customer_mrr_by_month                       # print the plan only
      lineage delete customer_mrr_by_month --yes --format json
    """
    fmt = kwargs["fmt"]
    graph = LineageGraph.load(kwargs["snapshot"])
    plan = _load_plan(kwargs, materialized_only=False)
    settings = _settings(kwargs, needed=kwargs["yes"])
    if settings is None:
        _print_delete_plan(*_with_readers(plan, graph), fmt, yes=False)
        return

    async def main(client: AsyncPostHogClient) -> list[ActionOutcome] | None:
        live, readers = _with_readers(await confirm_live(client, plan, with_jobs=False), graph)
        _print_delete_plan(live, readers, fmt, yes=kwargs["yes"])
        if not kwargs["yes"]:
            return None
        return await apply_action(client, "delete", live)

    outcomes = with_client(settings, main)
    if outcomes is not None:
        _report_outcomes(outcomes, fmt)
