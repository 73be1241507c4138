"""Execute a run plan: wave after wave, the views of a wave side by side (at most ``parallel`` in
flight), each waiting for its job. A view whose upstream step did not complete is ``Skipped`` (as
PostHog's DAG runs report it) and never started, unless ``keep_going``; unrelated branches go on.
PostHog's limit of 10 runs a minute per view is kept by the client, which waits rather than take a
429. Cancelling the coroutine (Ctrl-C under ``asyncio.run``) cancels the runs it started that are
still going, through PostHog's ``cancel``, and reports what it left.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lineage.api import AsyncPostHogClient, Job
from lineage.errors import ApiError
from lineage.operate.plan import Plan, Step

__all__ = ["FINISHED", "RunOutcome", "RunReport", "execute_run"]

FINISHED = frozenset({"Completed", "Failed", "Cancelled", "Skipped"})


@dataclass(frozen=True)
class RunOutcome:
    id: str
    name: str
    wave: int
    status: str
    job_id: str | None = None
    seconds: float | None = None
    rows: int | None = None
    error: str | None = None


@dataclass
class RunReport:
    outcomes: list[RunOutcome] = field(default_factory=list)
    interrupted: bool = False
    cancelled: list[str] = field(default_factory=list)  # names whose runs Ctrl-C cancelled
    left: list[str] = field(default_factory=list)  # names never started because of Ctrl-C
    cancel_failed: list[str] = field(default_factory=list)  # names still running after Ctrl-C

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(o.status == "Completed" for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "interrupted": self.interrupted,
            "cancelled": sorted(self.cancelled),
            "left": sorted(self.left),
            "cancel_failed": sorted(self.cancel_failed),
            "steps": [asdict(o) for o in self.outcomes],
        }


async def _newest(client: AsyncPostHogClient, view_id: str) -> Job | None:
    jobs = await client.list_jobs(view_id, limit=1)
    return jobs[0] if jobs else None


async def execute_run(
    client: AsyncPostHogClient,
    plan: Plan,
    *,
    parallel: int = 4,
    keep_going: bool = False,
    poll_s: float = 5.0,
    max_poll_s: float = 60.0,
    timeout_s: float = 3600.0,
    on_event: Callable[[str], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> RunReport:
    """Run the plan's steps; see the module docstring."""
    if parallel < 1:
        raise ValueError("parallel must be >= 1")
    report = RunReport()
    status: dict[str, str] = {}
    in_flight: dict[str, Step] = {}
    started: set[str] = set()
    slots = asyncio.Semaphore(parallel)
    names = {s.id: s.name for s in plan.steps}

    def say(text: str) -> None:
        if on_event is not None:
            on_event(text)

    async def one(step: Step) -> RunOutcome:
        blocked = [d for d in step.depends_on if status.get(d) != "Completed"]
        if blocked and not keep_going:
            why = ", ".join(sorted(names.get(b, b) for b in blocked))
            status[step.id] = "Skipped"
            say(f"{step.name}: Skipped (upstream {why} did not complete)")
            return RunOutcome(
                step.id, step.name, step.wave, "Skipped", error=f"upstream {why} did not complete"
            )
        async with slots:
            before = await _newest(client, step.id)
            began = time.monotonic()
            say(f"{step.name}: running" + (" (full refresh)" if step.full_refresh else ""))
            in_flight[step.id] = step
            started.add(step.id)
            try:
                await client.run(step.id, full_refresh=step.full_refresh)
            except ApiError as exc:
                in_flight.pop(step.id, None)
                status[step.id] = "Failed"
                say(f"{step.name}: could not start ({exc})")
                return RunOutcome(step.id, step.name, step.wave, "Failed", error=f"could not start: {exc}")
            wait = poll_s
            job: Job | None = None
            while True:
                await sleep(wait)
                newest = await _newest(client, step.id)
                if newest is not None and (before is None or newest.id != before.id):
                    job = newest
                    if job.status in FINISHED:
                        break
                if time.monotonic() - began > timeout_s:
                    break
                wait = min(max_poll_s, wait * 1.5)
            in_flight.pop(step.id, None)
            elapsed = round(time.monotonic() - began, 3)
            if job is None or job.status not in FINISHED:
                status[step.id] = "timeout"
                say(f"{step.name}: still running after {timeout_s:.0f} s; left running")
                return RunOutcome(
                    step.id,
                    step.name,
                    step.wave,
                    "timeout",
                    job_id=job.id if job else None,
                    seconds=elapsed,
                    error=f"still running after {timeout_s:.0f} s; left running",
                )
            final = job.status or "unknown"
            status[step.id] = final
            say(f"{step.name}: {final}")
            return RunOutcome(
                step.id,
                step.name,
                step.wave,
                final,
                job_id=job.id,
                seconds=job.duration_s if job.duration_s is not None else elapsed,
                rows=job.rows_materialized,
                error=job.error,
            )

    async def recorded(step: Step) -> None:
        # recorded as each finishes, so that an interrupted wave still reports its finished views
        report.outcomes.append(await one(step))

    try:
        for wave in plan.waves:
            await asyncio.gather(*(recorded(s) for s in wave))
    except asyncio.CancelledError:
        report.interrupted = True
        # cancel what we started and is still going; the await below runs in the cancelled task
        # because the CancelledError was caught (asyncio.run's Ctrl-C handling)
        for step in sorted(in_flight.values(), key=lambda s: s.name):
            try:
                await asyncio.shield(client.cancel(step.id))
                report.cancelled.append(step.name)
            except ApiError:
                report.cancel_failed.append(step.name)
        done = {o.id for o in report.outcomes}
        report.left = [s.name for s in plan.steps if s.id not in started and s.id not in done]
    order = {s.id: i for i, s in enumerate(plan.steps)}
    report.outcomes.sort(key=lambda o: order.get(o.id, len(order)))
    return report
