"""``lineage folders``: list, create, rename and delete saved-query folders; move views between them."""

from __future__ import annotations

from typing import Any

import click

from lineage.api import AsyncPostHogClient, Folder
from lineage.cli.common import (
    api_options,
    clean_errors,
    exclude_option,
    format_option,
    json_text,
    settings_from,
    snapshot_option,
    yes_option,
)
from lineage.cli.operate import table, with_client
from lineage.errors import InputError
from lineage.graph import LineageGraph
from lineage.io import visible
from lineage.operate import confirm_live, plan_for
from lineage.operate.actions import find_folder

_FORMAT = format_option(["text", "json"], default="text")


def _folder_dict(f: Folder) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "view_count": f.view_count}


@click.group("folders")
def folders() -> None:
    """Saved-query folders: list them with view counts, create, rename, delete, move views.

    \b
    Example:
      lineage folders ls
    """


@folders.command("ls")
@_FORMAT
@api_options
@clean_errors
def folders_ls(**kwargs: Any) -> None:
    """List the folders with how many views each holds, by name.

    \b
    Example:
      lineage folders ls --format json
    """
    settings = settings_from(kwargs).require_api()

    async def main(client: AsyncPostHogClient) -> list[Folder]:
        return await client.list_folders()

    found = sorted(with_client(settings, main), key=lambda f: (f.name, f.id))
    if kwargs["fmt"] == "json":
        click.echo(json_text([_folder_dict(f) for f in found]), nl=False)
    elif not found:
        click.echo("no folders", err=True)
    else:
        click.echo(table(["name", "views", "id"], [[f.name, f.view_count, f.id] for f in found]), nl=False)


@folders.command("create")
@click.argument("name")
@_FORMAT
@api_options
@clean_errors
def folders_create(**kwargs: Any) -> None:
    """Create a folder called NAME.

    \b
    Example:
      lineage folders create Finance
    """
    name = kwargs["name"].strip()
    if not name:
        raise InputError("a folder needs a non-empty NAME")
    settings = settings_from(kwargs).require_api()

    async def main(client: AsyncPostHogClient) -> Folder:
        return await client.create_folder(name)

    folder = with_client(settings, main)
    if kwargs["fmt"] == "json":
        click.echo(json_text(_folder_dict(folder)), nl=False)
    else:
        click.echo(f"created folder {visible(folder.name)} ({folder.id})")


@folders.command("rename")
@click.argument("old")
@click.argument("new")
@_FORMAT
@api_options
@clean_errors
def folders_rename(**kwargs: Any) -> None:
    """Rename the folder OLD to NEW.

    \b
    Example:
      lineage folders rename Finance Revenue
    """
    settings = settings_from(kwargs).require_api()

    async def main(client: AsyncPostHogClient) -> Folder:
        folder = find_folder(await client.list_folders(), kwargs["old"])
        return await client.update_folder(folder.id, name=kwargs["new"])

    folder = with_client(settings, main)
    if kwargs["fmt"] == "json":
        click.echo(json_text(_folder_dict(folder)), nl=False)
    else:
        click.echo(f"renamed {visible(kwargs['old'])} to {visible(folder.name)}")


@folders.command("rm")
@click.argument("name")
@yes_option("Delete a folder that holds views: PostHog deletes its views too.")
@_FORMAT
@api_options
@clean_errors
def folders_rm(**kwargs: Any) -> None:
    """Delete the folder NAME. A folder that holds views is refused unless --yes: PostHog deletes
    the views in it as well (and refuses if views outside the folder read them).

    \b
    Example:
      lineage folders rm Scratch
    """
    settings = settings_from(kwargs).require_api()

    async def main(client: AsyncPostHogClient) -> tuple[Folder, list[str], bool]:
        folder = find_folder(await client.list_folders(), kwargs["name"])
        inside = sorted(v.name for v in await client.list_views() if v.folder_id == folder.id)
        if inside and not kwargs["yes"]:
            return folder, inside, False
        await client.delete_folder(folder.id)
        return folder, inside, True

    folder, inside, deleted = with_client(settings, main)
    if kwargs["fmt"] == "json":
        payload = {"folder": _folder_dict(folder), "views": inside, "deleted": deleted}
        click.echo(json_text(payload), nl=False)
    elif deleted:
        click.echo(
            f"deleted folder {visible(folder.name)}"
            + (f" and its views: {', '.join(inside)}" if inside else "")
        )
    if not deleted:
        raise InputError(
            f"folder {folder.name!r} holds {len(inside)} view(s) ({', '.join(inside[:10])}); deleting it "
            "deletes them too: add --yes to do so, or move them out first with `lineage folders move`"
        )


@folders.command("move")
@click.argument("selector", metavar="SEL")
@click.option("--to", "target", required=True, metavar="NAME", help="the folder to move the views into")
@exclude_option("views")
@snapshot_option
@yes_option("Move them. Without it the plan is printed and nothing changes.")
@_FORMAT
@api_options
@clean_errors
def folders_move(**kwargs: Any) -> None:
    """Move the views SEL selects into the folder NAME.

    \b
    Example:
      lineage folders move 'customer_mrr_by_month+' --to Finance
    """
    graph = LineageGraph.load(kwargs["snapshot"])
    plan = plan_for(graph, kwargs["selector"], exclude=kwargs["exclude"])
    settings = settings_from(kwargs).require_api()

    async def main(client: AsyncPostHogClient) -> tuple[Folder, list[dict[str, Any]]]:
        folder = find_folder(await client.list_folders(), kwargs["target"])
        live = await confirm_live(client, plan, with_jobs=False)
        moves = []
        for step in live.steps:
            view = await client.get_view(step.id)
            moves.append({"id": step.id, "name": view.name, "from": view.folder_name, "to": folder.name})
        if kwargs["yes"]:
            for move in moves:
                if move["from"] != folder.name:
                    await client.update_view(str(move["id"]), folder_id=folder.id)
        return folder, moves

    _, moves = with_client(settings, main)
    if kwargs["fmt"] == "json":
        click.echo(json_text({"steps": moves, "dry_run": not kwargs["yes"]}), nl=False)
        return
    rows = [[m["name"], m["from"] or "-", m["to"]] for m in moves]
    click.echo(table(["view", "from", "to"], rows), nl=False)
    if not kwargs["yes"]:
        click.echo("nothing changed: add --yes to move these views")
