"""A saved query's actions: run, materialize, resume, revert, cancel, its run history, resuming
schedules, and whether it can run incrementally. The per-view limits PostHog enforces on run (10 a
minute) and materialize (5 an hour, reverts included) are kept client-side by the sender."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from lineage.api.models import RunHistoryEntry
from lineage.api.resources.base import SAVED_QUERIES, SAVED_QUERY, Resource, segment
from lineage.api.resources.saved_queries import SYNC_FREQUENCIES
from lineage.errors import ProtocolError

__all__ = ["Materialization"]


class Materialization(Resource):
    """The endpoint methods of a saved query's actions (``warehouse_saved_queries/<id>/<action>/``)."""

    async def _action(
        self,
        action: str,
        view_id: str | uuid.UUID,
        limit_kind: str | None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        vid = segment(view_id, "view_id")
        template = SAVED_QUERY + action + "/"
        await self._sender.request(
            "POST",
            template,
            self._sender.url(template, id=vid),
            body=dict(body or {}),
            read_only=False,
            view_limit=(limit_kind, vid) if limit_kind else None,
            what=f"saved query {vid}",
        )

    async def run(self, view_id: str | uuid.UUID, *, full_refresh: bool | None = None) -> None:
        """Start a run of the view (at most 10 per minute per view, kept client-side).

        ``full_refresh`` (the newest PostHog's ``{"full_refresh": bool}``) rebuilds an incremental
        view from scratch; None sends no body field, as older PostHog expects."""
        if full_refresh is not None and not isinstance(full_refresh, bool):
            raise ValueError(f"full_refresh must be True, False or None, got {full_refresh!r}")
        body = {} if full_refresh is None else {"full_refresh": full_refresh}
        await self._action("run", view_id, "run", body)

    async def materialize(self, view_id: str | uuid.UUID, *, sync_frequency: str | None = None) -> None:
        """Materialize the view, daily by default (at most 5 per hour per view with reverts).

        ``sync_frequency`` (newest PostHog) picks the cadence; PostHog refuses one outside the
        view's ``sync_frequency_bounds``."""
        if sync_frequency is not None and sync_frequency not in SYNC_FREQUENCIES:
            raise ValueError(
                f"sync_frequency must be one of {', '.join(SYNC_FREQUENCIES)}, got {sync_frequency!r}"
            )
        body = {} if sync_frequency is None else {"sync_frequency": sync_frequency}
        await self._action("materialize", view_id, "materialize", body)

    async def resume(self, view_id: str | uuid.UUID) -> None:
        """Un-suspend one view PostHog suspended after repeated failures (newest PostHog's ``resume``)."""
        await self._action("resume", view_id, None)

    async def revert_materialization(self, view_id: str | uuid.UUID) -> None:
        """Turn a materialized view back into a plain view (shares materialize's 5/hour)."""
        await self._action("revert_materialization", view_id, "materialize")

    async def cancel(self, view_id: str | uuid.UUID) -> None:
        """Cancel a running materialization (BadRequestError if nothing runs)."""
        await self._action("cancel", view_id, None)

    async def run_history(self, view_id: str | uuid.UUID) -> list[RunHistoryEntry]:
        """The (at most five) newest runs of the view, newest first."""
        vid = segment(view_id, "view_id")
        template = SAVED_QUERY + "run_history/"
        body = await self._sender.get(template, what=f"saved query {vid}", id=vid)
        display = self._sender.display("GET", self._sender.url(template, id=vid))
        entries = body.get("run_history") if isinstance(body, Mapping) else None
        if not isinstance(entries, list):
            raise ProtocolError(f"{display}: expected {{'run_history': [...]}}", path=display)
        return [self._parse(RunHistoryEntry.from_api, e, display) for e in entries]

    async def resume_schedules(self, view_ids: Iterable[str | uuid.UUID]) -> None:
        """Resume the sync schedules of these views (unknown ids are ignored by PostHog)."""
        if isinstance(view_ids, str):
            raise ValueError("resume_schedules takes a list of view ids, not one string")
        ids = sorted({segment(v, "view_id") for v in view_ids})
        if not ids:
            raise ValueError("resume_schedules needs at least one view id")
        template = SAVED_QUERIES + "resume_schedules/"
        await self._sender.request(
            "POST", template, self._sender.url(template), body={"view_ids": ids}, read_only=False
        )

    async def check_incremental(self, view_id: str | uuid.UUID, sql: str | None = None) -> dict[str, Any]:
        """The newest PostHog's ``check_incremental`` action: whether the view can run incrementally."""
        vid = segment(view_id, "view_id")
        template = SAVED_QUERY + "check_incremental/"
        payload: dict[str, Any] = {}
        if sql is not None:
            payload["query"] = {"kind": "HogQLQuery", "query": sql}
        body = await self._sender.request(
            "POST",
            template,
            self._sender.url(template, id=vid),
            body=payload,
            read_only=True,
            what=f"saved query {vid}",
        )
        return dict(body) if isinstance(body, Mapping) else {}
