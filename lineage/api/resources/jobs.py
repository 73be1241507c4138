"""Data-modeling jobs: the runs and materializations of views (newest first), one job, and the
``recent`` and ``running`` arrays."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

from lineage.api.models import Job
from lineage.api.resources.base import JOBS, Resource, collect, segment
from lineage.api.transport import aware

__all__ = ["Jobs"]


class Jobs(Resource):
    """The endpoint methods of ``data_modeling_jobs``."""

    async def iter_jobs(
        self,
        saved_query_id: str | uuid.UUID | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        *,
        page_size: int | None = None,
        status: str | None = None,
    ) -> AsyncGenerator[Job, None]:
        """Jobs newest first (by ``created_at``); stops at the first job created before ``since``
        and after ``limit`` jobs. ``page_size`` defaults to ``limit`` (up to 1000) or PostHog's 100.

        A naive ``since`` is read as UTC, the zone PostHog stamps jobs in (not local time)."""
        for name, value in (("limit", limit), ("page_size", page_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number >= 1 or None, got {value!r}")
        if since is not None and not isinstance(since, datetime):
            raise ValueError(f"since must be a datetime or None, got {since!r}")
        cutoff = aware(since) if since is not None else None
        size = page_size or (min(limit, 1000) if limit else None)
        params: dict[str, Any] = {"limit": size}
        if saved_query_id is not None:
            if not isinstance(saved_query_id, str | uuid.UUID) or not str(saved_query_id).strip():
                raise ValueError(f"saved_query_id must be a view id, got {saved_query_id!r}")
            params["saved_query_id"] = str(saved_query_id).strip()
        if status is not None:
            # the newest PostHog filters server-side; older ones ignore the parameter, so the
            # status is checked again on every job below
            params["status"] = status
        count = 0
        async for job in self._iter(Job.from_api, JOBS, params):
            if cutoff is not None and job.created_at is not None and job.created_at < cutoff:
                return
            if status is not None and job.status != status:
                continue
            yield job
            count += 1
            if limit is not None and count >= limit:
                return

    async def list_jobs(
        self,
        saved_query_id: str | uuid.UUID | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        """Jobs (of one view, created at or after ``since``, at most ``limit`` if given), newest first."""
        return await collect(self.iter_jobs(saved_query_id, since, limit))

    async def get_job(self, job_id: str | uuid.UUID) -> Job:
        return await self._get_one(
            Job.from_api, JOBS + "{id}/", segment(job_id, "job_id"), "data modeling job"
        )

    async def recent_jobs(self) -> list[Job]:
        """Per view, its newest finished materialization job (PostHog may refuse personal keys)."""
        return await collect(self._iter(Job.from_api, JOBS + "recent/"))

    async def running_jobs(self) -> list[Job]:
        """Materialization jobs running now (PostHog may refuse personal keys)."""
        return await collect(self._iter(Job.from_api, JOBS + "running/"))
