"""One simulated PostHog team's state, and the lookups every part of the warehouse engine shares.

:class:`~lineage.sim.state.Warehouse` is built from parts with one job each, every part a class over
this state:

* :mod:`lineage.sim.jobs` - runs, materialization, scheduled runs, the job lists and the pipeline's
  reports (completed activity, data health);
* :mod:`lineage.sim.activity` - each view's activity log (its query changes);
* :mod:`lineage.sim.views` - saved queries: create, update, delete, validation, column inference,
  lineage answers;
* :mod:`lineage.sim.folders` - view folders;
* :mod:`lineage.sim.tables` - warehouse tables, the whole-graph DAG, the database-name check.

A part that uses another builds on it (views on jobs and the activity log, folders on views), so
every call between parts is checked. All data lives here, declared in one place, guarded by the one
``lock``: every public method of a part takes it, and one that changes records enters through
:meth:`TeamState._changing`.

Where PostHog's generations differ - the *era*: E2 the older PostHog, E3 the newest - a part asks
``rules`` (:class:`lineage.sim.era.Era`) instead of branching on the era's name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from lineage.sim.consumers import ConsumerStore
from lineage.sim.era import Era, era_named
from lineage.sim.errors import not_found
from lineage.sim.fixture import LoadedTeam, table_cadences
from lineage.sim.fixture_values import parse_time
from lineage.sim.paths import LineageCycleError
from lineage.sim.records import (
    ExternalJob,
    Folder,
    Job,
    KeyInfo,
    SimClock,
    Table,
    User,
    View,
    canon_uuid,
    det_uuid,
    render_time,
)

__all__ = ["TeamState"]


class TeamState:
    """The records of one team (fixture ``lineage-sim-fixture/1``) as the engine's parts share them."""

    def __init__(self, fixture: Mapping[str, Any], *, era: str = "e3", clock: SimClock | None = None) -> None:
        #: What differs between the PostHog generations the simulator plays (lineage.sim.era).
        self.rules: Era = era_named(era)
        team = LoadedTeam(fixture)
        self.era = era
        self.lock = threading.RLock()
        self.team_id: int = team.team_id
        self.clock = clock if clock is not None else SimClock(team.now)
        self.flags: frozenset[str] = team.flags
        self._counter = 0  # numbers the deterministic ids this team hands out (_next)
        self._activity = 0  # query changes so far: numbers the activity log's entries
        self._activity_log: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[int, User] = team.users
        self._default_user = team.default_user
        self.api_keys: dict[str, KeyInfo] = team.api_keys
        self._tables: dict[str, Table] = team.tables
        self._folders: dict[str, Folder] = team.folders
        self._views: dict[str, View] = team.views
        self._index = team.index
        self._jobs: dict[str, Job] = {}
        # Counts changes to the team's views and jobs (any change through _changing, a job added, runs
        # the clock finished): the system tables' rows made at one version serve until the next.
        self.version = 0
        self._jobs_by_view: dict[str, list[Job]] = {}
        self._pending: dict[str, Job] = {}  # Running jobs that finish on the simulated clock
        for job in team.jobs:
            self._add_job(job)
        self._job_seq = len(team.jobs)
        self._external: list[ExternalJob] = team.external
        # Insights, dashboards, tiles, notebooks, endpoints and alerts.
        self.consumers = ConsumerStore(user=self._user, now=self.clock.now, render_time=render_time)
        self.consumers.load(fixture, default_user=self._default_user, parse_time=parse_time)
        # E3's scheduled runs (lineage.sim.schedule): when each view's next run is due, counted
        # from when the simulator started; tables' sync cadences (fixture key ``sync_frequency``)
        # set the floor of ``sync_frequency_bounds``.
        self._schedule_start = self.clock.now()
        self._schedule_next: dict[str, datetime] = {}
        self._schedule_scanned: datetime | None = None
        self._table_cadence: dict[str, str] = table_cadences(fixture, self._tables)

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """The one door for changes: every public method that changes the team's records runs inside
        it, under ``lock`` (reads take ``lock`` alone). Jobs the simulated clock starts and finishes
        change records too, lazily, inside :meth:`JobEngine._refresh_jobs <lineage.sim.jobs.JobEngine>`;
        the consumers' writes go through :attr:`consumers` under ``lock``."""
        with self.lock:
            self.version += 1
            try:
                yield
            finally:
                self.version += 1

    def _next(self, kind: str) -> str:
        """A new deterministic id for a ``kind`` of record."""
        self._counter += 1
        return det_uuid(kind, self.team_id, self._counter)

    def _add_job(self, job: Job) -> None:
        self.version += 1
        self._jobs[job.id] = job
        self._jobs_by_view.setdefault(job.view_id or "", []).append(job)
        if job.status == "Running" and job.finishes_at is not None:
            self._pending[job.id] = job

    def _user(self, user_id: int | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        user = self._users.get(user_id)
        return user.basic() if user else User(user_id, "", "", f"user{user_id}@example.com").basic()

    def _columns(self, cols: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """A view's or table's columns in PostHog's shape."""
        out = []
        for name, typ in cols:
            col: dict[str, Any] = {
                "key": name,
                "name": name,
                "type": typ,
                "schema_valid": True,
                "fields": None,
                "table": None,
                "chain": None,
            }
            col.update(self.rules.column_fields())
            out.append(col)
        return out

    def _live_children(self) -> dict[str, list[str]]:
        """Node id -> ids of the live views that read it."""
        children: dict[str, list[str]] = {}
        for view in self._views.values():
            if not view.deleted:
                for parent in view.parents:
                    children.setdefault(parent, []).append(view.id)
        return children

    def _visible(self, view: View) -> bool:
        return not view.deleted and (view.managed_kind is None or "managed-viewsets" in self.flags)

    def _view(self, view_id: str) -> View:
        """The visible view ``view_id`` names, else PostHog's 404."""
        vid = canon_uuid(view_id)
        view = self._views.get(vid) if vid else None
        if view is None or not self._visible(view):
            raise not_found()
        return view

    def _set_lineage(self, view: View, parents: list[str]) -> None:
        """Recompute the view's paths from scratch; a failure leaves the view with no new paths."""
        view.parents = parents
        try:
            self._index.set_parents(view.id, parents)
        except LineageCycleError:
            self._index.drop_paths(view.id)
