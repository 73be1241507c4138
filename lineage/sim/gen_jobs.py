"""Job history of a generated materialized view: runs at its sync frequency, healthy, failing or stale."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any, Final

from lineage.posthog import SYNC_FREQUENCY_SECONDS
from lineage.sim.gen_base import NOW, iso

#: Scheduled intervals PostHog reports (``sync_frequency``), with their length in seconds.
SYNC_SECONDS: Final = SYNC_FREQUENCY_SECONDS
#: Errors a failed materialization reports; ``{table}`` is replaced by the view's first parent.
JOB_ERRORS: Final = (
    "Code: 241. DB::Exception: Memory limit (for query) exceeded: would use 10.24 GiB, maximum: 9.31 GiB. "
    "(MEMORY_LIMIT_EXCEEDED)",
    "Code: 159. DB::Exception: Timeout exceeded: elapsed 600.01 seconds, maximum: 600. (TIMEOUT_EXCEEDED)",
    "Unknown table: the source table was deleted or renamed. Update the view's query.",
    "Code: 60. DB::Exception: Table posthog.{table} does not exist. (UNKNOWN_TABLE)",
    "Code: 47. DB::Exception: Missing columns: 'updated_at' while processing query. (UNKNOWN_IDENTIFIER)",
    "Workflow failed: activity materialize_model timed out (start_to_close) after 3 retries",
)


def make_jobs(
    *,
    view_name: str,
    view_id: str,
    ns: uuid.UUID,
    rng: random.Random,
    sync_frequency: str,
    health: str,
    size: int = 1,
    now: datetime = NOW,
    n_jobs: int | None = None,
    streak: int | None = None,
    stale_days: float | None = None,
    error: str | None = None,
    rows: int | None = None,
) -> list[dict[str, Any]]:
    """Job history of one materialized view, oldest first.

    ``health`` is ``"ok"`` (every run completes), ``"failing"`` (the last ``streak`` runs fail with
    ``error``) or ``"stale"`` (runs stopped ``stale_days`` ago, the last one completed).
    ``size`` (number of upstream edges, roughly) makes bigger views slower and bigger; ``rows`` fixes
    the row count of the first run instead of drawing it.
    """
    cadence = SYNC_SECONDS[sync_frequency]
    window = 30 * 86400
    if health == "stale":
        days = stale_days if stale_days is not None else max(3 * cadence / 86400, rng.uniform(9, 24))
        last_start = now - timedelta(days=days)
    else:
        last_start = now - timedelta(seconds=rng.uniform(0.1, 0.9) * min(cadence, 86400))
    if n_jobs is None:
        n_jobs = rng.randint(3, 20)
    if health != "stale":
        n_jobs = max(1, min(n_jobs, window // cadence))
    drawn = int(10 ** rng.uniform(3.0, 6.5) * (1 + size / 4))
    rows = drawn if rows is None else rows
    growth = rng.choice((0.0, 0.0, 0.002, 0.01, 0.03))
    base_seconds = 4 + rows / 40_000 + 3 * size
    starts = [last_start - timedelta(seconds=k * cadence * rng.uniform(0.97, 1.03)) for k in range(n_jobs)]
    starts.reverse()
    if health == "failing":
        if streak is None:
            streak = rng.randint(2, max(2, min(6, n_jobs - 1)))
        streak = min(streak, n_jobs)
    jobs: list[dict[str, Any]] = []
    for i, start in enumerate(starts):
        failed = health == "failing" and i >= n_jobs - (streak or 0)
        seconds = base_seconds * rng.uniform(0.8, 1.3)
        if failed:
            seconds = min(seconds * rng.uniform(0.2, 1.0), 600.0)
        created = start.replace(microsecond=0)
        finished = created + timedelta(seconds=round(seconds, 0) + 1)
        current = int(rows * (1 + growth) ** i)
        jobs.append(
            {
                "id": str(uuid.uuid5(ns, f"job:{view_name}:{i}")),
                "view": view_name,
                "status": "Failed" if failed else "Completed",
                "rows_materialized": 0 if failed else current,
                "rows_expected": None if failed else current,
                "error": (error or JOB_ERRORS[0]) if failed else None,
                "created_at": iso(created),
                "last_run_at": iso(finished),
                "workflow_id": f"materialize-view-{view_id}-{created.strftime('%Y%m%d%H%M%S')}",
                "workflow_run_id": str(uuid.uuid5(ns, f"run:{view_name}:{i}")),
            }
        )
    return jobs
