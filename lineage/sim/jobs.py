"""Runs and jobs of the simulated warehouse: starting, finishing, cancelling and listing them.

A run (``POST .../run/``, or a schedule's tick in E3, :mod:`lineage.sim.schedule`) adds a Running
job that completes - or fails, as the fixture says - once the view's ``run_seconds`` have passed on
the simulated clock; jobs are finished lazily, whenever the engine is read (:meth:`_refresh_jobs`).
Materializing a view turns its schedule on, reverting turns it off. The pipeline's reports
(``completed_activity``, ``data_health_issues``) read the jobs and the external syncs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from lineage.sim import schedule
from lineage.sim.errors import AdHocError, invalid, not_found
from lineage.sim.pagination import ShapedRows
from lineage.sim.records import JOB_STATUSES, Job, View, canon_uuid, render_time, rows_for
from lineage.sim.team import TeamState

__all__ = ["JobEngine"]


class JobEngine(TeamState):
    """Runs, materialization, schedules and the job lists of one team."""

    # ------------------------------------------------------------------ starting and finishing jobs
    def _refresh_jobs(self) -> None:
        """Finish simulated runs whose time has come (evaluated lazily on every read)."""
        self._finish_jobs()
        if schedule.tick(self):
            self._finish_jobs()

    def _new_job(self, view: View, when: datetime, *, blocked: View | None = None) -> Job:
        """A job of ``view`` started at ``when`` (not yet added): Running for the view's
        ``run_seconds``, or ``Skipped`` below a failed ancestor (``blocked``)."""
        self._job_seq += 1
        return Job(
            id=self._next("job"),
            view_id=view.id,
            status="Skipped" if blocked is not None else "Running",
            rows_materialized=0,
            rows_expected=rows_for(view.id),
            error=None if blocked is None else f"Skipped because upstream {blocked.name} failed",
            created_at=when,
            last_run_at=when,
            workflow_id=f"materialize-view-{uuid.UUID(view.id).hex}-{self._job_seq}",
            workflow_run_id=self._next("workflow-run"),
            seq=self._job_seq,
            finishes_at=None if blocked is not None else when + timedelta(seconds=view.run_seconds),
            fail=view.fail_runs,
        )

    def _scheduled_job(self, view: View, when: datetime, blocked: View | None) -> Job:
        """A job the view's schedule started at ``when``; ``Skipped`` below a failed ancestor."""
        job = self._new_job(view, when, blocked=blocked)
        self._add_job(job)
        if blocked is None:
            view.status = "Running"
        return job

    def _finish_jobs(self) -> None:
        if not self._pending:
            return
        now = self.clock.now()
        for job in sorted(self._pending.values(), key=lambda j: j.seq):
            if job.finishes_at is None or job.finishes_at > now:
                continue
            del self._pending[job.id]
            self.version += 1
            job.last_run_at = job.finishes_at
            job.updated_at = job.finishes_at
            view = self._views.get(job.view_id or "")
            if job.cancelled:
                job.status = "Cancelled"
                continue
            if job.fail:
                job.status = "Failed"
                job.error = (view.latest_error if view else None) or "Simulated run failure"
            else:
                job.status = "Completed"
                job.rows_materialized = job.rows_expected or 0
            if view is not None and view.status == "Running":
                view.status = job.status
                view.latest_error = job.error
                view.last_run_at = job.finishes_at
            if view is not None and job.status == "Failed":
                self.rules.maybe_suspend(self, view)

    def _last_run_at(self, view: View) -> datetime | None:
        runs = [j for j in self._jobs_by_view.get(view.id, []) if j.last_run_at is not None]
        if runs:
            return max(runs, key=lambda j: (j.last_run_at, j.seq)).last_run_at
        return view.last_run_at

    # ------------------------------------------------------------------ schedules
    def sync_frequency_bounds(self, view_id: str) -> dict[str, Any]:
        """E3's ``sync_frequency_bounds`` of a view (lineage.sim.schedule)."""
        with self.lock:
            return schedule.bounds_payload(self, self._view(view_id))

    # ------------------------------------------------------------------ actions
    def run(self, view_id: str, body: Any) -> None:
        """Start a simulated run: a Running job that completes (or fails) after ``run_seconds``."""
        with self._changing():
            self._refresh_jobs()
            view = self._view(view_id)
            self.rules.check_run_body(body)
            job = self._new_job(view, self.clock.now())
            self.rules.set_run_mode(self, job, view, body)
            self._add_job(job)
            view.status = "Running"

    def materialize(self, view_id: str, body: Any) -> None:
        """Enable materialization (24hour, or E3's ``sync_frequency``) and set the view's paths up."""
        with self._changing():
            view = self._view(view_id)
            if view.managed_kind is not None:
                raise invalid("Cannot materialize a query from a managed viewset.")
            freq = self.rules.materialize_frequency(self, view, body)
            if freq == "never":
                view.sync_frequency = None
            else:
                view.sync_frequency = freq
            view.is_materialized = True
            view.schedule_paused = False
            if view.fail_materialize:
                # schedule_materialization failed and reset the flag; PostHog reports it by hand
                view.is_materialized = False
                raise AdHocError(500, "Materialization failed. Please try again or contact support.")
            self._set_lineage(view, view.parents)

    def _revert(self, view: View) -> None:
        view.sync_frequency = None
        view.last_run_at = None
        view.latest_error = None
        view.status = None
        view.is_materialized = False
        self._index.drop_paths(view.id)

    def revert_materialization(self, view_id: str) -> None:
        """Undo materialization; deletes the view's own ancestor paths (paths through it stay)."""
        with self._changing():
            view = self._view(view_id)
            if view.managed_kind is not None:
                raise invalid("Cannot revert materialization of a query from a managed viewset.")
            self._revert(view)

    def cancel(self, view_id: str) -> None:
        """Status -> Cancelled; E2 requires the view's status to be Running, E3 a running job."""
        with self._changing():
            self._refresh_jobs()
            view = self._view(view_id)
            running = [
                j for j in self._jobs_by_view.get(view.id, []) if j.status == "Running" and j.workflow_id
            ]
            if not self.rules.can_cancel(view, running):
                raise AdHocError(400, "Cannot cancel a query that is not running")
            if view.fail_cancel:
                raise AdHocError(500, "Failed to cancel workflow")
            for job in running:
                job.cancelled = True  # the workflow notices later; the endpoint leaves jobs alone
            view.status = "Cancelled"

    def run_history(self, view_id: str) -> dict[str, Any]:
        """``{"run_history": [...]}``: five newest jobs by ``last_run_at``."""
        with self.lock:
            self._refresh_jobs()
            view = self._view(view_id)
            jobs = list(self._jobs_by_view.get(view.id, []))
            # ORDER BY last_run_at DESC puts NULLs first in Postgres.
            jobs.sort(
                key=lambda j: (j.last_run_at is None, j.last_run_at or j.created_at, j.seq), reverse=True
            )
            return {
                "run_history": [
                    {"status": j.status, "timestamp": render_time(j.last_run_at)} for j in jobs[:5]
                ]
            }

    def resume_schedules(self, body: Any) -> None:
        """Unpause schedules of the listed views; unknown ids are ignored (202 on success)."""
        with self._changing():
            ids = self.rules.resume_ids(body)
            for vid in ids:
                view = self._views.get(vid)
                if view is not None:
                    view.schedule_paused = False

    def resume(self, view_id: str) -> None:
        """E3's ``POST /:id/resume/``: un-suspend one view and let its schedule run again."""
        with self._changing():
            self.rules.check_resume()
            view = self._view(view_id)
            view.suspended = False  # PostHog's resume action un-suspends the view
            view.schedule_paused = False

    # ------------------------------------------------------------------ job lists
    def _job_shape(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "saved_query_id": job.view_id,
            "status": job.status,
            "rows_materialized": job.rows_materialized,
            "error": job.error,
            "created_at": render_time(job.created_at),
            "last_run_at": render_time(job.last_run_at),
            "workflow_id": job.workflow_id,
            "workflow_run_id": job.workflow_run_id,
            "rows_expected": job.rows_expected,
            **self.rules.job_fields(job),
        }

    def _visible_jobs(self) -> list[Job]:
        self._refresh_jobs()
        jobs = [j for j in self._jobs.values() if j.engine != "duckgres" or "duckgres" in self.flags]
        jobs.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        return jobs

    def list_jobs(
        self, *, saved_query_id: str | None = None, status: str | None = None, lazy: bool = False
    ) -> Sequence[dict[str, Any]]:
        """All jobs, ``-created_at`` (ties ``-id``); ``saved_query_id`` as django-filter checks it;
        ``status`` (E3's filter, a choice of the job statuses). ``lazy``: the rows as
        :class:`~lineage.sim.pagination.ShapedRows`, shaped only as a page reads them."""
        with self.lock:
            jobs = self._visible_jobs()
            if status is not None and status != "":
                if status not in JOB_STATUSES:
                    raise invalid(
                        f"Select a valid choice. {status} is not one of the available choices.",
                        "status",
                        code="invalid_choice",
                    )
                jobs = [j for j in jobs if j.status == status]
            if saved_query_id is not None and saved_query_id != "":
                vid = canon_uuid(saved_query_id)
                if vid is None or vid not in self._views:
                    raise invalid(
                        "Select a valid choice. That choice is not one of the available choices.",
                        "saved_query_id",
                        code="invalid_choice",
                    )
                if self._views[vid].deleted:
                    return []
                jobs = [j for j in jobs if j.view_id == vid]
            if lazy:
                return ShapedRows(jobs, self._job_shape, self.lock, lambda j: render_time(j.created_at))
            return [self._job_shape(j) for j in jobs]

    def get_job(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            jid = canon_uuid(job_id)
            job = next((j for j in self._visible_jobs() if j.id == jid), None)
            if job is None:
                raise not_found()
            return self._job_shape(job)

    def recent_jobs(self) -> list[dict[str, Any]]:
        """Per saved query the newest non-Running ``materialize*`` job, ordered by saved_query_id."""
        with self.lock:
            newest: dict[str, Job] = {}
            for job in self._visible_jobs():
                # the newest PostHog lists the DAG's Skipped rows too, whatever started them
                skipped = self.rules.lists_skipped_runs and job.status == "Skipped"
                if job.status == "Running" or not (
                    (job.workflow_id or "").startswith("materialize") or skipped
                ):
                    continue
                key = job.view_id or ""
                if key not in newest:
                    newest[key] = job
            return [self._job_shape(newest[k]) for k in sorted(newest)]

    def running_jobs(self) -> list[dict[str, Any]]:
        """Running jobs of v2 (``materialize*``) workflows."""
        with self.lock:
            return [
                self._job_shape(j)
                for j in self._visible_jobs()
                if j.status == "Running" and (j.workflow_id or "").startswith("materialize")
            ]

    # ------------------------------------------------------------------ the pipeline's reports
    def completed_activity(
        self, *, cutoff_days: int, kind: str | None = None, outcome: str | None = None
    ) -> list[dict[str, Any]]:
        """Completed import and materialization jobs since the cutoff, ``created_at`` DESC.

        E3 takes ``kind`` (``sync`` | ``materialization``) and ``outcome`` (``completed`` |
        ``failed``); there ``origin`` is null for a sync and the view's origin for a materialization.
        """
        with self.lock:
            self._refresh_jobs()
            cutoff = self.clock.now() - timedelta(days=cutoff_days)
            want, syncs, mats = self.rules.activity_filter(kind, outcome)
            rows: list[tuple[datetime, str, dict[str, Any]]] = []
            for ext in self._external if syncs else []:
                if ext.status == want and ext.created_at >= cutoff:
                    rows.append(
                        (
                            ext.created_at,
                            ext.id,
                            {
                                "id": ext.id,
                                "type": ext.source_type,
                                "name": ext.name,
                                "status": ext.status,
                                "rows": ext.rows_synced,
                                "created_at": render_time(ext.created_at),
                                "finished_at": render_time(ext.finished_at),
                                "latest_error": ext.latest_error,
                                "workflow_run_id": ext.workflow_run_id,
                                "origin": self.rules.activity_origin(None, sync=True),
                            },
                        )
                    )
            for job in self._jobs.values() if mats else []:
                if job.status != want or job.created_at < cutoff:
                    continue
                view = self._views.get(job.view_id or "")
                rows.append(
                    (
                        job.created_at,
                        job.id,
                        {
                            "id": job.id,
                            "type": "Materialized view",
                            "name": (view.deleted_name or view.name) if view else None,
                            "status": job.status,
                            "rows": job.rows_materialized,
                            "created_at": render_time(job.created_at),
                            "finished_at": render_time(job.last_run_at),
                            "latest_error": job.error,
                            "workflow_run_id": job.workflow_run_id,
                            "origin": self.rules.activity_origin(view, sync=False),
                        },
                    )
                )
            rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
            return [r[2] for r in rows]

    def data_health_issues(self) -> list[dict[str, Any]]:
        """Failing materializations (and failed syncs), one row each, for the pipeline status panel."""
        with self.lock:
            self._refresh_jobs()
            rows: list[dict[str, Any]] = []
            for view in sorted(self._views.values(), key=lambda v: v.id):
                if not self._visible(view) or not view.is_materialized:
                    continue
                if view.status != "Failed" and not view.suspended:
                    continue
                rows.append(
                    {
                        "id": view.id,
                        "name": view.name,
                        "type": "materialized_view",
                        "status": "suspended" if view.suspended else "failed",
                        "error": view.latest_error,
                        "failed_at": render_time(self._last_run_at(view)),
                        "url": None,
                    }
                )
            for ext in sorted(self._external, key=lambda e: e.id):
                if ext.status == "Failed":
                    rows.append(
                        {
                            "id": ext.id,
                            "name": ext.name,
                            "type": "external_data_sync",
                            "status": "failed",
                            "error": ext.latest_error,
                            "failed_at": render_time(ext.finished_at or ext.created_at),
                            "url": None,
                        }
                    )
            return rows
