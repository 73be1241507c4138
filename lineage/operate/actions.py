"""The one-call-per-view actions (materialize, revert, cancel, resume, delete), folders, and job listings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lineage.api import AsyncPostHogClient, Folder, Job
from lineage.durations import JOBS_SINCE, DurationError, parse_timedelta
from lineage.errors import ApiError, InputError, param
from lineage.io import iso
from lineage.operate.plan import Plan, Step

__all__ = [
    "ACTIONS",
    "ActionOutcome",
    "apply_action",
    "find_folder",
    "job_rows",
    "parse_since",
]

#: command -> what it does to one view, in words for plans
ACTIONS = {
    "materialize": "materialize",
    "revert": "revert the materialization of",
    "cancel": "cancel the running materialization of",
    "resume": "resume (un-suspend)",
    "delete": "delete",
}


@dataclass(frozen=True)
class ActionOutcome:
    id: str
    name: str
    ok: bool
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "ok": self.ok, "error": self.error}


async def _one(client: AsyncPostHogClient, action: str, step: Step, every: str | None) -> None:
    if action == "materialize":
        await client.materialize(step.id, sync_frequency=every)
    elif action == "revert":
        await client.revert_materialization(step.id)
    elif action == "cancel":
        await client.cancel(step.id)
    elif action == "resume":
        await client.resume(step.id)
    elif action == "delete":
        await client.delete_view(step.id)
    else:  # pragma: no cover - the CLI offers only the four
        raise ValueError(f"unknown action {action!r}")


async def apply_action(
    client: AsyncPostHogClient, action: str, plan: Plan, *, every: str | None = None
) -> list[ActionOutcome]:
    """Apply ``action`` to each step in order; a refusal of one view is reported and the rest go on.

    PostHog's per-view limits (materialize and revert share 5 an hour) are kept by the client, which
    waits for room instead of provoking a 429."""
    out: list[ActionOutcome] = []
    for step in plan.steps:
        try:
            await _one(client, action, step, every)
        except ApiError as exc:
            out.append(ActionOutcome(step.id, step.name, False, str(exc)))
            continue
        out.append(ActionOutcome(step.id, step.name, True))
    return out


def find_folder(folders: Iterable[Folder], name: str) -> Folder:
    """The folder called ``name`` (or with that id); an InputError listing the folders otherwise."""
    items = list(folders)
    for folder in items:
        if folder.name == name or folder.id == name:
            return folder
    known = ", ".join(sorted(f.name for f in items)) or "none yet"
    raise InputError(f"no folder named {name!r} (folders: {known}); create it with `lineage folders create`")


def parse_since(text: str) -> timedelta:
    """``90m``, ``6h``, ``2d``, ``1w`` (or plain seconds) as a duration
    (:data:`~lineage.durations.JOBS_SINCE`); InputError otherwise."""
    try:
        return parse_timedelta(text, JOBS_SINCE)
    except DurationError:
        raise InputError(
            f"{param('since', repr(text))} is not a duration; write e.g. 90m, 6h, 2d or 1w"
        ) from None


def job_rows(jobs: Iterable[Job], names: dict[str, str], now: datetime | None) -> list[dict[str, Any]]:
    """Jobs as rows (the ``lineage jobs`` columns), newest first; a running job's duration so far."""
    rows = []
    for job in jobs:
        duration = job.duration_s
        if duration is None and job.status == "Running" and now is not None and job.created_at is not None:
            duration = max(0.0, (now - job.created_at).total_seconds())
        rows.append(
            {
                "id": job.id,
                "view_id": job.saved_query_id,
                "view": names.get(job.saved_query_id or "", job.saved_query_id),
                "status": job.status,
                "rows_materialized": job.rows_materialized,
                "error": job.error,
                "created_at": iso(job.created_at),
                "last_run_at": iso(job.last_run_at),
                "duration_s": None if duration is None else round(duration, 3),
            }
        )
    rows.sort(key=lambda r: (r["created_at"] or "", r["id"]), reverse=True)
    return rows
