"""Materialization jobs: reading the job listing within the ``--jobs-since`` window, keeping each job
compact, grouping jobs per view (with what a refresh base already knew), run_history as the fallback,
and the per-view summary a snapshot carries (:func:`job_summary`)."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from lineage.api import AsyncPostHogClient, Job
from lineage.api.fields import as_int, as_str
from lineage.api.models import parse_datetime
from lineage.crawl.state import iso

__all__ = [
    "JOB_HISTORY_KEPT",
    "compact_job",
    "group_jobs",
    "job_summary",
    "jobs_fetch_since",
    "list_jobs",
    "run_history_jobs",
]

JOB_HISTORY_KEPT = 50

# A timestamp exactly as :func:`lineage.crawl.state.iso` writes it (UTC, ``Z``, six fraction digits
# or none): reading it and writing it again gives the same text, so the listing's 70,000 jobs of a
# large warehouse skip that round trip (``datetime.fromisoformat`` still checks the date exists).
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.(?!000000)\d{6})?Z", re.ASCII)


def _iso_of(value: Any) -> str | None:
    """``iso(parse_datetime(value))``, without the round trip when ``value`` is already in that form."""
    if type(value) is str and _CANONICAL.fullmatch(value):
        try:
            datetime.fromisoformat(value)  # the date exists (what _moment checks, but once)
        except ValueError:
            return None
        return value
    return iso(parse_datetime(value))


def _moment(value: Any) -> datetime | None:
    """``parse_datetime(value)``, straight through ``fromisoformat`` for text in :func:`iso`'s form."""
    if type(value) is str and _CANONICAL.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return parse_datetime(value)


async def list_jobs(client: AsyncPostHogClient, *, since: datetime) -> list[Job]:
    return [j async for j in client.iter_jobs(since=since, page_size=1000)]


def compact_job(job: Job) -> dict[str, Any]:
    """A job's record in the snapshot, its keys in sorted order (the snapshot's)."""
    out: dict[str, Any] = {"created_at": iso(job.created_at), "error": job.error}
    # Newest PostHog only: kept when present so that older snapshots and answers stay as they were.
    if job.updated_at is not None and job.status != "Running":
        out["finished_at"] = iso(job.updated_at)
    if job.full_refresh_reason is not None:
        out["full_refresh_reason"] = job.full_refresh_reason
    out["id"] = job.id
    out["last_run_at"] = iso(job.last_run_at)
    out["rows"] = job.rows_materialized
    if job.run_mode is not None:
        out["run_mode"] = job.run_mode
    out["status"] = job.status
    return out


def compact_row(item: Any) -> tuple[str | None, dict[str, Any]]:
    """A listing row's view id and :func:`compact_job` of ``Job.from_api(item)``, read straight from
    the row (the same fields, readers and refusals; no :class:`Job` built in between)."""
    ident = item.get("id") if type(item) is dict else None
    if type(ident) is not str or not ident:  # not a plain record: Job.from_api reads (or refuses) it
        record = Job.from_api(item)
        return record.saved_query_id, compact_job(record)
    status = as_str(item.get("status"))
    # Keys in sorted order, the snapshot's: writing 70,000 records then copies them as they are.
    out: dict[str, Any] = {
        "created_at": _iso_of(item.get("created_at")),
        "error": as_str(item.get("error")),
    }
    last_run = item.get("last_run_at")
    last_run_at = _iso_of(last_run)
    if status != "Running":
        updated = item.get("updated_at")
        # most finished jobs' updated_at is their last_run_at: read once, one string kept for both
        finished = last_run_at if type(updated) is str and updated == last_run else _iso_of(updated)
        if finished is not None:
            out["finished_at"] = finished
    reason = as_str(item.get("full_refresh_reason"))
    if reason is not None:
        out["full_refresh_reason"] = reason
    out["id"] = ident
    out["last_run_at"] = last_run_at
    out["rows"] = as_int(item.get("rows_materialized"))
    run_mode = as_str(item.get("run_mode"))
    if run_mode is not None:
        out["run_mode"] = run_mode
    out["status"] = status
    view = as_str(item.get("saved_query_id")) or as_str(item.get("data_modeling_view_id"))
    return view, out


def _end(job: Mapping[str, Any]) -> Any:
    """When a finished job reached its final status: the newest PostHog's ``updated_at`` (kept as
    ``finished_at``), else ``last_run_at`` (older PostHog, where it is the run's last heartbeat)."""
    return job.get("finished_at") or job.get("last_run_at")


def jobs_fetch_since(now: datetime, window: timedelta, known: Iterable[Mapping[str, Any]]) -> datetime:
    """The window's start, or the newest job a refresh base already knows, whichever is later; but
    never after a job the base saw Running, whose end it must read again."""
    since = now - window
    jobs = list(known)
    created = [parse_datetime(job.get("created_at")) for job in jobs]
    newest_known = max((k for k in created if k is not None), default=None)
    if newest_known is None:
        return since
    running = [
        moment
        for job, moment in zip(jobs, created, strict=True)
        if moment is not None and job.get("status") == "Running"
    ]
    start = min([newest_known, *running])
    return max(since, start)


def group_jobs(
    raw: Iterable[Mapping[str, Any]],
    known: Iterable[tuple[str, dict[str, Any]]],
    *,
    wanted: set[str],
    since: datetime,
    compacted: Iterable[tuple[str | None, dict[str, Any]]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Jobs per view: what a refresh base knew within the window, replaced by id with the listing's.

    ``compacted``: :func:`compact_row` of each row of ``raw``, already made (as the rows came)."""
    merged: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for node_id, job in known:
        moment = parse_datetime(job.get("created_at"))
        if node_id in wanted and moment is not None and moment >= since:
            merged[node_id][str(job.get("id"))] = job
    for view, job in map(compact_row, raw) if compacted is None else compacted:
        if view is not None and view in wanted:
            merged[view][job["id"]] = job
    return {k: list(v.values()) for k, v in merged.items()}


def run_history_jobs(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """run_history entries as job records: a status and a finish time, no id or start."""
    return [
        {
            "id": f"run-{i}",
            "status": e.get("status"),
            "created_at": None,
            "last_run_at": e.get("timestamp"),
        }
        for i, e in enumerate(entries)
    ]


def job_summary(history: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Runs, failures, newest status, failure streak, last success, median duration, rows trend."""
    jobs = sorted(
        history,
        key=lambda j: (str(j.get("created_at") or j.get("last_run_at") or ""), str(j.get("id"))),
        reverse=True,
    )
    statuses = [j.get("status") for j in jobs]
    streak = 0
    for status in statuses:
        if status == "Failed":
            streak += 1
        elif status in {"Completed"}:
            break
    durations = []
    for j in jobs:
        start, end = _moment(j.get("created_at")), _moment(_end(j))
        if start is not None and end is not None and j.get("status") in {"Completed", "Failed"}:
            durations.append(max(0.0, (end - start).total_seconds()))
    completed = [j for j in jobs if j.get("status") == "Completed"]
    # An incremental run counts only the new rows, a full refresh all of them: the trend compares
    # runs of the newest completed run's mode only (jobs without run_mode are one mode).
    mode = completed[0].get("run_mode") if completed else None
    rows: list[int] = [
        int(j["rows"]) for j in completed if isinstance(j.get("rows"), int) and j.get("run_mode") == mode
    ]
    trend = None
    if len(rows) >= 2:
        newest, oldest = rows[0], rows[-1]
        trend = "up" if newest > oldest else "down" if newest < oldest else "flat"
    return {
        "runs": len(jobs),
        "failures": statuses.count("Failed"),
        "last_status": statuses[0] if statuses else None,
        "last_success_at": (_end(completed[0]) if completed else None),
        "median_duration_s": round(statistics.median(durations), 3) if durations else None,
        "rows_last": rows[0] if rows else None,
        "rows_trend": trend,
        "failure_streak": streak,
        "history": jobs[:JOB_HISTORY_KEPT],
    }
