"""Re-running a view and the materialized views downstream of it, in dependency order.

(``lineage refresh`` on the command line; not the incremental crawl of ``lineage crawl --refresh``.)

After editing a view, everything materialized downstream holds data computed from the old version.
:func:`rerun_plan` lists those materialized views in topological order from a snapshot;
:func:`rerun` runs them one after another through PostHog's ``run`` action, waiting for each job to
finish before starting the views that read it, and stops at the first failure (what reads a failed
view would be rebuilt from stale data) unless told to keep going.

>>> plan = rerun_plan(graph, "orders")                           # doctest: +SKIP
>>> result = rerun(settings, plan, poll_s=5)                      # doctest: +SKIP
>>> result.ok, [s.status for s in result.steps]                     # doctest: +SKIP
(True, ['Completed', 'Completed'])
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from lineage.aio import run_sync
from lineage.analysis.impact import impact
from lineage.api import AsyncPostHogClient, Job
from lineage.config import Settings
from lineage.errors import InputError

if TYPE_CHECKING:
    import httpx  # only the transport's type: HTTP itself stays in lineage.api
    import pandas as pd

    from lineage.graph import LineageGraph

__all__ = [
    "RefreshResult",
    "RefreshStep",
    "RerunResult",
    "RerunStep",
    "refresh",
    "refresh_async",
    "refresh_plan",
    "rerun",
    "rerun_async",
    "rerun_plan",
]

FINISHED = frozenset({"Completed", "Failed", "Cancelled", "Skipped"})


@dataclass(frozen=True)
class RerunStep:
    """One materialized view to run; ``status`` is ``planned`` until it runs."""

    view_id: str
    name: str
    status: str = "planned"
    job_id: str | None = None
    seconds: float | None = None
    rows: int | None = None
    error: str | None = None
    # An incremental view downstream of the one that changed is rebuilt from scratch: an incremental
    # run processes only new rows, so its old rows would stay computed from the old upstream.
    full_refresh: bool = False


@dataclass(frozen=True)
class RerunResult:
    steps: tuple[RerunStep, ...]

    @property
    def ok(self) -> bool:
        """Every step completed."""
        return all(s.status == "Completed" for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": [asdict(s) for s in self.steps]}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([asdict(s) for s in self.steps], columns=list(RerunStep.__dataclass_fields__))


def rerun_plan(graph: LineageGraph, view: str, *, downstream: bool = True) -> tuple[RerunStep, ...]:
    """The materialized views to run after ``view`` changed: itself (if materialized) and, with
    ``downstream``, every materialized view downstream of it, in topological order."""
    report = impact(graph, view)
    nodes = [report.target, *report.affected]
    by_name = {n.name: n for n in nodes}
    order = [by_name[name] for name in report.summary.refresh_order if name in by_name]
    if report.target.materialized and report.target not in order:
        order.insert(0, report.target)
    if not downstream:
        order = [n for n in order if n is report.target]
    if not order:
        raise InputError(
            f"nothing to refresh: {report.target.name!r} "
            + ("and the views downstream of it are" if downstream else "is")
            + " not materialized"
        )
    return tuple(
        RerunStep(
            view_id=n.id,
            name=n.name,
            full_refresh=n is not report.target and bool(graph.nx.nodes[n.id].get("is_incremental")),
        )
        for n in order
    )


async def _newest_job_id(client: AsyncPostHogClient, view_id: str) -> str | None:
    jobs = await client.list_jobs(saved_query_id=view_id, limit=1)
    return jobs[0].id if jobs else None


async def _job_after(client: AsyncPostHogClient, view_id: str, previous: str | None) -> Job | None:
    """The view's newest job if it is not the one that was newest before our run, else None."""
    jobs = await client.list_jobs(saved_query_id=view_id, limit=1)
    if not jobs or jobs[0].id == previous:
        return None  # the run we started has not shown up yet
    return jobs[0]


async def rerun_async(
    settings: Settings,
    plan: tuple[RerunStep, ...],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    poll_s: float = 5.0,
    max_poll_s: float = 60.0,
    timeout_s: float = 3600.0,
    keep_going: bool = False,
    on_step: Callable[[RerunStep], None] | None = None,
    on_start: Callable[[RerunStep], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> RerunResult:
    """Run each step in order, waiting for its job; stop at the first failure unless ``keep_going``.

    Polling starts at ``poll_s`` seconds and backs off to ``max_poll_s``; one job list request per poll.
    A job still running after ``timeout_s`` is left running and reported as ``timeout``.
    """
    done: list[RerunStep] = []
    async with AsyncPostHogClient(settings, transport=transport, concurrency=1) as client:
        stop = False
        for step in plan:
            if stop:
                done.append(_replace(step, status="skipped", error="an earlier view did not complete"))
                continue
            # The newest job before our run is an older run, whatever the clocks say: remember its id.
            previous = await _newest_job_id(client, step.view_id)
            if on_start is not None:
                on_start(step)
            began = time.monotonic()
            await client.run(step.view_id, full_refresh=True if step.full_refresh else None)
            wait = poll_s
            job: Job | None = None
            while True:
                await sleep(wait)
                job = await _job_after(client, step.view_id, previous)
                if job is not None and job.status in FINISHED:
                    break
                if time.monotonic() - began > timeout_s:
                    break
                wait = min(max_poll_s, wait * 1.5)
            elapsed = round(time.monotonic() - began, 3)
            if job is None or job.status not in FINISHED:
                result = _replace(
                    step,
                    status="timeout",
                    job_id=job.id if job else None,
                    seconds=elapsed,
                    error=f"still running after {timeout_s:.0f} s; left running",
                )
            else:
                status = job.status or "unknown"
                result = _replace(
                    step,
                    status=status,
                    job_id=job.id,
                    seconds=job.duration_s if job.duration_s is not None else elapsed,
                    rows=job.rows_materialized,
                    error=job.error,
                )
            done.append(result)
            if on_step is not None:
                on_step(result)
            if result.status != "Completed" and not keep_going:
                stop = True
    return RerunResult(tuple(done))


def rerun(settings: Settings, plan: tuple[RerunStep, ...], **options: Any) -> RerunResult:
    """Synchronous :func:`rerun_async`; safe inside a running event loop (Jupyter)."""
    coro = rerun_async(settings, plan, **options)
    return run_sync(coro)


def _replace(step: RerunStep, **changes: Any) -> RerunStep:
    return RerunStep(**{**asdict(step), **changes})


# The names these had before "refresh" was kept for the incremental crawl alone; scripts and notebooks
# that import them keep working.
RefreshStep = RerunStep
RefreshResult = RerunResult
refresh_plan = rerun_plan
refresh_async = rerun_async
refresh = rerun
