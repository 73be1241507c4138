"""Which PostHog the simulator plays: the *era*, as one strategy object.

PostHog's data-warehouse API changed under the same URLs, and the simulator answers as either
generation so the client is tested against both:

* **E2** is the older PostHog: lineage answers (``ancestors``, ``descendants``, ``dependencies``)
  slice a stored root-to-leaf path table, quirks included (:mod:`lineage.sim.paths`); a view's
  ``latest_history_id`` is an integer; runs, cancels and deletes check little.
* **E3** is the newest PostHog: lineage walks the live view graph with a validated ``level``;
  views carry ``updated_at``/``is_incremental``/``incremental``/``suspended``, tables their
  ``hogql_name``, jobs ``run_mode``; views run on schedules (:mod:`lineage.sim.schedule`), are
  suspended after repeated failures and may not be deleted while insights read them.

(E1, the first API, answers lineage like E2 and is not simulated apart.) :class:`Warehouse
<lineage.sim.state.Warehouse>` keeps everything the eras share and asks its ``rules`` (an
:class:`Era`) wherever they differ (each rule takes the part of the warehouse it reads, at least
its state, :class:`lineage.sim.team.TeamState`); :func:`era_named` turns ``"e2"``/``"e3"`` into one.
"""

from __future__ import annotations

import re
from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar, Final

from lineage.errors import FixtureError
from lineage.sim import schedule
from lineage.sim.errors import AdHocError, SimError, invalid, not_found, server_error
from lineage.sim.paths import MISSING
from lineage.sim.records import Job, Table, View, canon_uuid, det_uuid, render_time
from lineage.sim.validate import sync_write

if TYPE_CHECKING:
    from lineage.sim.team import TeamState
    from lineage.sim.views import ViewEngine

__all__ = ["E2", "E3", "ERAS", "SUSPEND_AFTER", "Era", "era_named"]

# Failed materializations in a row after which the newest PostHog suspends a view (simulator value).
SUSPEND_AFTER: Final = 3
_HAS_DEPENDENTS: Final = (
    "Cannot delete this view because other views depend on it. Delete or update those views first."
)


class Era:
    """What differs between PostHog generations; the base class answers as E2 does."""

    name: ClassVar[str] = "e2"
    #: whether ``GET /saved_queries/?include_columns=false`` leaves the columns out
    honours_include_columns: ClassVar[bool] = False
    #: whether the recent-jobs list shows ``Skipped`` runs whatever started them
    lists_skipped_runs: ClassVar[bool] = False
    #: whether a view's retrieve adds its ``sync_frequency_bounds`` (lineage.sim.schedule)
    reports_cadence_bounds: ClassVar[bool] = False
    #: whether ``run`` and ``materialize`` read the request body
    reads_action_bodies: ClassVar[bool] = False
    #: the data-modeling jobs list's limit/offset page (default, maximum); None pages by cursor
    jobs_page: ClassVar[tuple[int, int] | None] = None

    def view_fields(self, view: View) -> dict[str, Any]:
        """Fields a view's answer carries beyond the shared ones."""
        return {}

    def column_fields(self) -> dict[str, Any]:
        """Fields each column of a view or table carries beyond the shared ones."""
        return {}

    def table_fields(self, table: Table) -> dict[str, Any]:
        """Fields a warehouse table's answer carries beyond the shared ones."""
        return {}

    def job_fields(self, job: Job) -> dict[str, Any]:
        """Fields a job's answer carries beyond the shared ones."""
        return {}

    def activity_id(self, team_id: int, number: int) -> int | str:
        """A view's ``latest_history_id`` after its ``number``-th query change."""
        return number

    def check_delete(self, wh: ViewEngine, view: View) -> None:
        """Refuse to delete ``view`` for reasons of this era (before the dependents check)."""

    def has_dependents(self, view: View) -> SimError:
        """The answer to deleting a view other live views read."""
        return invalid(_HAS_DEPENDENTS)

    def lineage(self, wh: TeamState, view: View, level: Any, *, up: bool) -> list[str]:
        """``ancestors`` (``up``) or ``descendants`` of ``view``: slices of the path store."""
        try:
            found = wh._index.ancestors(view.id, level) if up else wh._index.descendants(view.id, level)
        except (ValueError, TypeError, OverflowError):
            raise server_error() from None
        return sorted(found)

    def dependencies(self, wh: TeamState, view: View) -> tuple[int, int]:
        """(upstream, downstream) counts of ``view``."""
        return wh._index.dependencies(view.id)

    def check_run_body(self, body: Any) -> None:
        """Validate the body of ``POST .../run/``."""

    def materialize_frequency(self, wh: TeamState, view: View, body: Any) -> str:
        """The cadence ``POST .../materialize/`` sets: always 24hour."""
        return "24hour"

    def set_run_mode(self, wh: TeamState, job: Job, view: View, body: Any) -> None:
        """Fill a started job's ``run_mode`` (no such field here)."""

    def can_cancel(self, view: View, running: list[Job]) -> bool:
        """Whether ``cancel`` may stop ``view``: its status says Running."""
        return view.status == "Running"

    def resume_ids(self, body: Any) -> list[str]:
        """The view ids of a ``resume_schedules`` body (malformed ones are Django's 500s here)."""
        if not isinstance(body, dict):
            raise server_error()
        raw = body.get("view_ids", [])
        if not raw:
            raise AdHocError(400, "view_ids is required")
        if not isinstance(raw, list):
            raise server_error()
        ids = []
        for item in raw:
            vid = canon_uuid(item)
            if vid is None:
                raise server_error()  # Django refuses the malformed UUID inside the query
            ids.append(vid)
        return ids

    def check_resume(self) -> None:
        """``POST .../:id/resume/`` does not exist before E3."""
        raise not_found()

    def maybe_suspend(self, wh: TeamState, view: View) -> None:
        """After a failed run: views are never suspended here."""

    def runs_schedules(self) -> bool:
        """Whether materialized views start runs on their own (:func:`lineage.sim.schedule.tick`)."""
        return False

    def activity_filter(self, kind: str | None, outcome: str | None) -> tuple[str, bool, bool]:
        """(job status listed, syncs listed?, materializations listed?) of ``completed_activity``."""
        return "Completed", True, True

    def check_activity_params(self, kind: str | None, outcome: str | None) -> None:
        """Validate ``completed_activity``'s ``kind`` and ``outcome`` (ignored here)."""

    def activity_origin(self, view: View | None, *, sync: bool) -> str | None:
        """The ``origin`` of a ``completed_activity`` row."""
        return "external_data_job" if sync else "data_modeling_job"


class E2(Era):
    """The older PostHog (see the module docstring)."""


class E3(Era):
    """The newest PostHog (see the module docstring)."""

    name: ClassVar[str] = "e3"
    honours_include_columns: ClassVar[bool] = True
    lists_skipped_runs: ClassVar[bool] = True
    reports_cadence_bounds: ClassVar[bool] = True
    reads_action_bodies: ClassVar[bool] = True
    jobs_page: ClassVar[tuple[int, int] | None] = (10, 100)

    def view_fields(self, view: View) -> dict[str, Any]:
        return {
            "updated_at": render_time(view.updated_at or view.created_at),
            "is_incremental": view.is_incremental,
            "incremental": view.incremental,
            "suspended": view.suspended,
        }

    def column_fields(self) -> dict[str, Any]:
        return {"description": None}

    def table_fields(self, table: Table) -> dict[str, Any]:
        # The newest PostHog's table serializer names what SQL uses.
        return {"hogql_name": table.sql_name}

    def job_fields(self, job: Job) -> dict[str, Any]:
        return {
            "run_mode": job.run_mode,
            "full_refresh_reason": job.full_refresh_reason,
            "updated_at": render_time(job.updated_at),
        }

    def activity_id(self, team_id: int, number: int) -> int | str:
        # The ActivityLog row's UUID (a string; the serializer returns ``activity_log.id``),
        # compared as a string on a PATCH.
        return det_uuid("activity", team_id, number)

    def check_delete(self, wh: ViewEngine, view: View) -> None:
        if view.managed_kind is None:
            # The newest PostHog also refuses while insights read the view, naming them all.
            insights = wh._insight_readers(view)
            if insights:
                views = [f"view {v.name}" for v in wh._dependents(view)]
                raise invalid(_dependents_message(sorted(views + insights)), node_id=view.id)

    def has_dependents(self, view: View) -> SimError:
        return invalid(_HAS_DEPENDENTS, node_id=view.id)

    def lineage(self, wh: TeamState, view: View, level: Any, *, up: bool) -> list[str]:
        return _walk(wh, view, _level(level), up=up)

    def dependencies(self, wh: TeamState, view: View) -> tuple[int, int]:
        return len(_walk(wh, view, 1, up=True)), len(_walk(wh, view, 1, up=False))

    def check_run_body(self, body: Any) -> None:
        if isinstance(body, dict) and "full_refresh" in body and not isinstance(body["full_refresh"], bool):
            raise invalid("Must be a valid boolean.", "full_refresh")

    def materialize_frequency(self, wh: TeamState, view: View, body: Any) -> str:
        if not isinstance(body, dict) or body.get("sync_frequency") is None:
            return "24hour"
        freq = sync_write(body["sync_frequency"]) or "24hour"
        refusal = schedule.check_cadence(wh, view, freq)
        if refusal is not None:
            raise invalid(refusal, "sync_frequency")
        return freq

    def set_run_mode(self, wh: TeamState, job: Job, view: View, body: Any) -> None:
        """An incremental view processes only new rows unless a full refresh is asked for
        (``{"full_refresh": true}``) or it has never completed a run."""
        if not view.is_incremental:
            job.run_mode = "full_refresh"
            return
        asked = isinstance(body, dict) and body.get("full_refresh") is True
        done = any(j.status == "Completed" for j in wh._jobs_by_view.get(view.id, []))
        if asked or not done:
            job.run_mode = "full_refresh"
            job.full_refresh_reason = "requested" if asked else "first_run"
        else:
            job.run_mode = "incremental"
            # an increment reads only the rows added since the last run
            job.rows_expected = max(1, (job.rows_expected or 0) // 20)

    def can_cancel(self, view: View, running: list[Job]) -> bool:
        return bool(running)

    def resume_ids(self, body: Any) -> list[str]:
        if not isinstance(body, dict) or "view_ids" not in body:
            raise invalid("This field is required.", "view_ids", code="required")
        raw = body["view_ids"]
        if not isinstance(raw, list):
            raise invalid(
                f'Expected a list of items but got type "{type(raw).__name__}".',
                "view_ids",
                code="not_a_list",
            )
        if not raw:
            raise invalid("This list may not be empty.", "view_ids", code="empty")
        out = []
        for item in raw:
            vid = canon_uuid(item)
            if vid is None:
                raise invalid("Must be a valid UUID.", "view_ids")
            out.append(vid)
        return out

    def check_resume(self) -> None:
        return None

    def maybe_suspend(self, wh: TeamState, view: View) -> None:
        """After SUSPEND_AFTER failed materializations in a row PostHog suspends the view.

        The threshold is the simulator's (PostHog's constant was not found in its published source);
        scheduled runs then skip the view and what depends on it until it is resumed.
        """
        if not view.is_materialized:
            return
        jobs = sorted(wh._jobs_by_view.get(view.id, []), key=lambda j: j.seq, reverse=True)
        streak = 0
        for job in jobs:
            if job.status == "Failed":
                streak += 1
            elif job.status in ("Completed", "Cancelled"):
                break
        if streak >= SUSPEND_AFTER:
            view.suspended = True

    def runs_schedules(self) -> bool:
        return True

    def activity_filter(self, kind: str | None, outcome: str | None) -> tuple[str, bool, bool]:
        # ``kind`` is sync | materialization, ``outcome`` completed | failed
        return "Failed" if outcome == "failed" else "Completed", kind != "materialization", kind != "sync"

    def check_activity_params(self, kind: str | None, outcome: str | None) -> None:
        if kind not in (None, "sync", "materialization"):
            raise AdHocError(400, "kind must be 'sync' or 'materialization'")
        if outcome not in (None, "completed", "failed"):
            raise AdHocError(400, "outcome must be 'completed' or 'failed'")

    def activity_origin(self, view: View | None, *, sync: bool) -> str | None:
        # null for a sync, the view's origin for a materialization
        return None if sync or view is None else view.origin


ERAS: Final[dict[str, Era]] = {"e2": E2(), "e3": E3()}


def era_named(name: str) -> Era:
    """The :class:`Era` called ``name`` (``"e2"`` or ``"e3"``)."""
    if name not in ERAS:
        raise FixtureError(f"unknown era {name!r}; use 'e2' or 'e3'")
    return ERAS[name]


def _dependents_message(readers: list[str]) -> str:
    return (
        "Cannot delete this view because other views or insights depend on it: "
        + ", ".join(readers)
        + ". Delete or update those first."
    )


def _level(level: Any) -> int | None:
    """E3's validated ``level`` (DRF's IntegerField, min 1); None for no limit."""
    if level is MISSING or level is None:
        return None
    if isinstance(level, str) and len(level) > 1000:
        raise invalid("String value too large.", "level", code="max_string_length")
    try:
        value = int(re.sub(r"\.0*\s*$", "", str(level)))
    except (ValueError, TypeError):
        raise invalid("A valid integer is required.", "level") from None
    if value < 1:
        raise invalid("Ensure this value is greater than or equal to 1.", "level", code="min_value")
    return value


def _walk(wh: TeamState, view: View, level: int | None, *, up: bool) -> list[str]:
    """Nodes within ``level`` hops of ``view`` over live views (breadth first), sorted: views and
    warehouse tables by id, PostHog tables by (whole, dotted) name."""
    children = {} if up else wh._live_children()
    seen = {view.id: 0}
    queue = deque([view.id])
    while queue:
        cur = queue.popleft()
        if level is not None and seen[cur] >= level:
            continue
        if up:
            cur_view = wh._views.get(cur)
            nxt = cur_view.parents if cur_view is not None and not cur_view.deleted else []
            nxt = [p for p in nxt if p not in wh._views or not wh._views[p].deleted]
        else:
            nxt = children.get(cur, [])
        for node in nxt:
            if node not in seen:
                seen[node] = seen[cur] + 1
                queue.append(node)
    return sorted(n for n in seen if n != view.id)
