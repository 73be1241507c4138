"""``lineage delete|create|edit``: change saved queries (issue 14), the way `materialize` acts on them.

The selector is resolved on the snapshot, each id is confirmed live, the plan is printed, and nothing
changes without ``--yes``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from lineage.analysis.whatif import whatif
from lineage.api import AsyncPostHogClient
from lineage.cli.common import (
    api_options,
    clean_errors,
    emit,
    format_option,
    json_text,
    snapshot_option,
    yes_option,
)
from lineage.cli.operate import (
    _action_options,
    _load_plan,
    _plan_text,
    _report_outcomes,
    _settings,
    with_client,
)
from lineage.cli.whatif import read_sql
from lineage.errors import ApiError, BadRequestError, InputError, NotFoundError
from lineage.graph import LineageGraph
from lineage.hogql import extract_tables
from lineage.io import visible
from lineage.operate import Plan, confirm_live
from lineage.operate.actions import ActionOutcome, apply_action, find_folder


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
            flags += (visible(f"read by {', '.join(direct)}; {total} downstream in all"),)
        steps.append(replace(step, flags=flags))
    # readers before what they read, so that `SEL+` can go in one command
    steps.sort(key=lambda s: (-s.wave, s.name, s.id))
    return Plan(tuple(steps), checked=plan.checked, notes=plan.notes), readers


def _print_delete_plan(plan: Plan, readers: dict[str, dict[str, Any]], fmt: str, *, yes: bool) -> None:
    if fmt == "json":
        if not yes:
            steps = [{**s.to_dict(), **readers[s.id]} for s in plan.steps]
            payload = {"steps": steps, "checked": plan.checked, "dry_run": True}
            click.echo(json_text(payload), nl=False)
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


@click.command("create")
@click.argument("name")
@click.option("--sql", "sql_path", required=True, metavar="FILE", help="the view's HogQL ('-' reads stdin)")
@click.option("--folder", default=None, metavar="NAME", help="put the new view in this folder")
@snapshot_option
@yes_option()
@format_option(["text", "json"], default="text")
@api_options
@clean_errors
def create_cmd(**kwargs: Any) -> None:
    """Create the saved query NAME from the HogQL in FILE; the plan shows the tables it reads.

    A name already in the snapshot is refused (exit 2): PostHog would update that view instead.

    \b
    Examples:
      lineage create mrr_copy --sql - <<< 'SELECT * FROM customer_mrr_by_month'
      lineage create mrr_copy --sql new.sql --folder Finance --yes --format json
    """
    name, fmt, folder_name = kwargs["name"], kwargs["fmt"], kwargs["folder"]
    if not name.strip():
        raise InputError("NAME is empty; give the new view a name")
    sql = read_sql(kwargs["sql_path"])
    reads = extract_tables(sql)
    graph = LineageGraph.load(kwargs["snapshot"])
    if any(graph.name_of(node) == name for node in graph.nx):
        raise InputError(
            f"{name!r} already names a view or table in the snapshot; choose another name "
            "(or change that view with `lineage edit`)"
        )
    plan = {"name": name, "reads": reads, "folder": folder_name}
    settings = _settings(kwargs, needed=kwargs["yes"])
    if not kwargs["yes"]:
        if fmt == "json":
            emit(json_text({**plan, "dry_run": True}), None)
        else:
            where = f" in folder {folder_name}" if folder_name else ""
            click.echo(visible(f"plan: create view {name}{where}, reading {', '.join(reads) or 'nothing'}"))
            click.echo("nothing changed: add --yes to do it")
        return
    assert settings is not None

    async def main(client: AsyncPostHogClient) -> dict[str, Any]:
        folder_id = None
        if folder_name is not None:
            folder_id = find_folder(await client.list_folders(), folder_name).id
        view = await client.create_view(name, sql, folder_id=folder_id)
        return {**plan, "id": view.id}

    done = with_client(settings, main)
    if fmt == "json":
        emit(json_text(done), None)
    else:
        click.echo(visible(f"created view {name} ({done['id']})"))


@click.command("edit")
@click.argument("view")
@click.option("--sql", "sql_path", required=True, metavar="FILE", help="the new HogQL ('-' reads stdin)")
@snapshot_option
@yes_option()
@format_option(["text", "json"], default="text")
@api_options
@clean_errors
def edit_cmd(**kwargs: Any) -> None:
    """Replace VIEW's HogQL with the SQL in FILE; the plan is the what-if of `lineage impact --sql`.

    With --yes the view is read live and PATCHed with its latest_history_id, so an edit made in
    PostHog since then is refused ("modified by someone else", exit 3) rather than overwritten.

    \b
    Examples:
      lineage edit customer_mrr_by_month --sql - <<< 'SELECT 1 AS customer_id'
      lineage edit customer_mrr_by_month --sql new.sql --yes --format json
    """
    fmt = kwargs["fmt"]
    sql = read_sql(kwargs["sql_path"])
    graph = LineageGraph.load(kwargs["snapshot"])
    view_id = graph.resolve(kwargs["view"])
    name = graph.name_of(view_id)
    report = whatif(graph, view_id, sql)
    plan = {
        "id": view_id,
        "name": name,
        "columns": report.columns.to_dict(),
        "tables_added": list(report.tables_added),
        "tables_removed": list(report.tables_removed),
        "breaks": list(report.breaks),
    }
    settings = _settings(kwargs, needed=kwargs["yes"])
    if fmt == "json" and not kwargs["yes"]:
        emit(json_text({**plan, "dry_run": True}), None)
        return
    if fmt == "text":
        cols = report.columns
        lines = [
            f"plan: edit view {name}",
            f"  columns removed: {', '.join(cols.removed) or 'none'}; "
            f"added: {', '.join(cols.added) or 'none'}",
            f"  {len(report.breaks)} downstream break"
            + (f": {', '.join(report.breaks)}" if report.breaks else ""),
        ]
        text = visible("\n".join(lines)) + "\n"
        if kwargs["yes"]:
            click.echo(text, err=True, nl=False)
        else:
            click.echo(text + "nothing changed: add --yes to do it\n", nl=False)
            return
    assert settings is not None

    async def main(client: AsyncPostHogClient) -> dict[str, Any]:
        try:
            live = await client.get_view(view_id)
        except NotFoundError:
            raise InputError(
                f"view {name!r} ({view_id}) no longer exists in PostHog; crawl again and re-plan"
            ) from None
        try:
            done = await client.update_view(view_id, sql=sql, edited_history_id=live.latest_history_id)
        except BadRequestError as exc:
            if "modified by someone else" in str(exc):
                raise ApiError(
                    f"view {name!r} was modified by someone else while editing; "
                    "nothing changed: look at it in PostHog, then edit again"
                ) from None
            raise
        return {"id": view_id, "name": name, "latest_history_id": done.latest_history_id}

    out = with_client(settings, main)
    if fmt == "json":
        emit(json_text({**plan, **out}), None)
    else:
        click.echo(visible(f"edited view {name}"))
