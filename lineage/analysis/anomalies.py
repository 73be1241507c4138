"""Statistics over a view's run history: the newest run against the median of the runs before it.

The ``rows-anomaly`` and ``duration-anomaly`` rules of ``lineage check`` ask these; they compare runs of
one ``run_mode`` only, newest first by creation time.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from lineage.analysis.health import parse_time

__all__ = [
    "AnomalyLimits",
    "completed_same_mode",
    "duration_anomaly",
    "duration_anomaly_of",
    "rows_anomaly",
    "rows_anomaly_of",
]


@dataclass(frozen=True)
class AnomalyLimits:
    """Thresholds of the job-statistics rules.

    ``failure_streak``: failed runs in a row that make a ``failure-streak`` finding. A newest completed
    run with fewer than ``rows_ratio`` times the median rows of the ``window`` completed runs before it is
    a ``rows-anomaly``; one that took more than ``duration_ratio`` times their median duration (and at
    least ``min_duration_s`` longer) a ``duration-anomaly``. Both need ``min_runs`` earlier runs, and
    compare runs of one ``run_mode`` only (an incremental run processes fewer rows than a full refresh).
    """

    failure_streak: int = 3
    rows_ratio: float = 0.5
    duration_ratio: float = 3.0
    min_duration_s: float = 60.0
    min_runs: int = 3
    window: int = 10


def _job_end(job: dict[str, Any]) -> Any:
    # A finished job's updated_at is when it reached its final status (newest PostHog); else last_run_at.
    return job.get("updated_at") or job.get("last_run_at")


def _newest_first(history: list[Any]) -> list[dict[str, Any]]:
    jobs = [j for j in history if isinstance(j, dict)]
    return sorted(
        jobs, key=lambda j: (str(j.get("created_at") or _job_end(j) or ""), str(j.get("id"))), reverse=True
    )


def completed_same_mode(history: list[Any]) -> list[dict[str, Any]]:
    done = [j for j in _newest_first(history) if j.get("status") == "Completed"]
    if not done:
        return []
    mode = done[0].get("run_mode")
    return [j for j in done if j.get("run_mode") == mode]


def rows_anomaly(history: list[Any], limits: AnomalyLimits) -> tuple[int, float] | None:
    """``(newest rows, median of the earlier runs)`` when the newest completed run is far below it."""
    return rows_anomaly_of(completed_same_mode(history), limits)


def rows_anomaly_of(completed: list[dict[str, Any]], limits: AnomalyLimits) -> tuple[int, float] | None:
    done = [j for j in completed if isinstance(j.get("rows"), int)]
    if len(done) < limits.min_runs + 1:
        return None
    last = int(done[0]["rows"])
    median = statistics.median(int(j["rows"]) for j in done[1 : limits.window + 1])
    if median > 0 and last < limits.rows_ratio * median:
        return last, float(median)
    return None


def _duration(job: dict[str, Any]) -> float | None:
    start, end = parse_time(job.get("created_at")), parse_time(_job_end(job))
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def duration_anomaly(history: list[Any], limits: AnomalyLimits) -> tuple[float, float] | None:
    """``(newest duration, median of the earlier runs)`` in seconds when the newest run took far longer."""
    return duration_anomaly_of(completed_same_mode(history), limits)


def duration_anomaly_of(completed: list[dict[str, Any]], limits: AnomalyLimits) -> tuple[float, float] | None:
    done = [(j, d) for j in completed if (d := _duration(j)) is not None]
    if len(done) < limits.min_runs + 1:
        return None
    last = done[0][1]
    median = statistics.median(d for _, d in done[1 : limits.window + 1])
    if median > 0 and last > limits.duration_ratio * median and last - median >= limits.min_duration_s:
        return last, float(median)
    return None
