"""``lineage jobs``: data-modeling jobs, newest first, filtered by selection, status, window, running."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from lineage.api import AsyncPostHogClient, Job
from lineage.cli.common import (
    api_options,
    clean_errors,
    emit,
    exclude_option,
    format_option,
    json_text,
    out_option,
    select_option,
    settings_from,
    snapshot_option,
)
from lineage.cli.operate import table, with_client
from lineage.graph import LineageGraph
from lineage.io import csv_text
from lineage.operate.actions import job_rows, parse_since
from lineage.operate.plan import SAVED_QUERY_KINDS
from lineage.select import select

_COLUMNS = [
    "id",
    "view_id",
    "view",
    "status",
    "rows_materialized",
    "error",
    "created_at",
    "last_run_at",
    "duration_s",
]
_STATUSES = ["Running", "Completed", "Failed", "Cancelled", "Skipped"]


@click.command("jobs")
@select_option("only the jobs of these views")
@exclude_option("views")
@snapshot_option
@click.option("--status", type=click.Choice(_STATUSES), default=None, help="only jobs with this status")
@click.option(
    "--since", default=None, metavar="DUR", help="only jobs started in the last DUR (90m, 6h, 2d, 1w)"
)
@click.option("--running", is_flag=True, help="only running jobs (same as --status Running)")
@click.option(
    "--limit", type=click.IntRange(min=1), default=100, show_default=True, help="at most this many jobs"
)
@format_option(["text", "json", "csv"], default="text")
@out_option()
@api_options
@clean_errors
def jobs_cmd(**kwargs: Any) -> None:
    """Data-modeling jobs, newest first, with their durations.

    \b
    Examples:
      lineage jobs --since 1d
      lineage jobs --select 'customer_mrr_by_month+' --status Failed --format json
      lineage jobs --running --format csv
    """
    status = "Running" if kwargs["running"] else kwargs["status"]
    if kwargs["running"] and kwargs["status"] not in (None, "Running"):
        raise click.UsageError("--running and --status {} contradict each other".format(kwargs["status"]))
    since = parse_since(kwargs["since"]) if kwargs["since"] else None
    view_ids: list[str] | None = None
    names: dict[str, str] = {}
    if kwargs["selector"] is not None:
        graph = LineageGraph.load(kwargs["snapshot"])
        view_ids = [
            i
            for i in select(graph, kwargs["selector"], exclude=kwargs["exclude"])
            if graph.node(i).get("kind") in SAVED_QUERY_KINDS
        ]
        names = {i: graph.name_of(i) for i in view_ids}
    settings = settings_from(kwargs).require_api()
    limit = kwargs["limit"]

    async def main(client: AsyncPostHogClient) -> list[dict[str, Any]]:
        if since is not None and client.server_now() is None:
            # the window counts back from PostHog's clock (its Date header), not this machine's
            await client.list_jobs(None, None, 1)
        now = client.server_now() or datetime.now(UTC)
        cutoff = now - since if since is not None else None
        jobs: list[Job] = []
        if view_ids is None:
            jobs = (
                await client.list_jobs(None, cutoff, limit)
                if status is None
                else [j async for j in _take(client.iter_jobs(None, cutoff, None, status=status), limit)]
            )
            live = await client.list_views()
            names.update({v.id: v.name for v in live})
        else:
            for vid in view_ids:
                jobs.extend(
                    [j async for j in _take(client.iter_jobs(vid, cutoff, None, status=status), limit)]
                )
        now = client.server_now() or now
        return job_rows(jobs, names, now)[:limit]

    rows = with_client(settings, main)
    fmt, out = kwargs["fmt"], kwargs["out"]
    if fmt == "json":
        emit(json_text(rows), out)
    elif fmt == "csv":
        emit(csv_text(_COLUMNS, ([r[c] for c in _COLUMNS] for r in rows)), out)
    elif not rows:
        click.echo("no jobs match", err=True)
    else:
        shown = [
            [
                r["created_at"],
                r["view"],
                r["status"],
                "" if r["duration_s"] is None else f"{r['duration_s']:.1f}",
                r["rows_materialized"],
                r["error"] or "",
            ]
            for r in rows
        ]
        emit(table(["started", "view", "status", "seconds", "rows", "error"], shown), out)


async def _take(agen: Any, limit: int) -> Any:
    count = 0
    async for item in agen:
        yield item
        count += 1
        if count >= limit:
            return
