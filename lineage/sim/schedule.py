"""The newest PostHog's scheduling facts for the simulator (era E3): cadence bounds and scheduled runs.

* ``sync_frequency_bounds`` (E3 adds them to a view): a view's cadence may not be finer than what
  its sources deliver (the *floor*: the finest sync interval among the sources upstream of it, a
  source without a schedule and PostHog's own tables delivering continuously) nor coarser than what
  reads it (the *ceiling*: the finest cadence of any materialized view downstream). This follows
  PostHog's ``products/data_modeling`` cadence module (``compute_target_bounds``: the floor is the
  *finest* of the parents' floors, the ceiling the finest declared target among strict descendants,
  a bound is reported only when it withholds an option) and its refusal wording
  (``validate_declared_target``: "Can't refresh every 7 days: orders_daily refreshes every 1 day.
  Pick 1 day instead.").
* Scheduled runs on the simulated clock: a materialized view with a cadence, not paused and not
  suspended, starts a job each time its interval passes. The first run is one interval after the
  simulator started (a fixture's stale ``last_run_at`` does not fire a burst of runs at start-up);
  intervals missed while the clock jumped forward collapse into one run, as a schedule with no
  catch-up does. A view whose nearest materialized ancestor's newest run failed (or will fail, or
  was skipped), or is suspended, gets a ``Skipped`` job instead: PostHog's DAG runs skip what sits
  below a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from lineage.posthog import SYNC_FREQUENCY_SECONDS, VIEW_SYNC_FREQUENCIES

if TYPE_CHECKING:
    from lineage.sim.jobs import JobEngine
    from lineage.sim.records import Job, View
    from lineage.sim.team import TeamState

__all__ = ["CADENCE_SECONDS", "bounds_payload", "check_cadence", "humanize", "tick"]

# PostHog's cadences (lineage.posthog, their one home), in seconds.
CADENCE_SECONDS: Final = SYNC_FREQUENCY_SECONDS
# What a person may pick for a materialized view (1min/5min are source-only, stored as 15min).
SCHEDULABLE: Final = VIEW_SYNC_FREQUENCIES


def humanize(seconds: int) -> str:
    """``86400`` -> ``1 day``, ``21600`` -> ``6 hours``, ``900`` -> ``15 minutes`` (PostHog's wording)."""
    for unit_seconds, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= unit_seconds and seconds % unit_seconds == 0:
            count = seconds // unit_seconds
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"


def _floor(wh: TeamState, view: View) -> tuple[int, str | None]:
    """(seconds, blocker id) of the source floor: the finest floor among the parents."""
    memo: dict[str, tuple[int, str | None]] = {}

    def of(node: str) -> tuple[int, str | None]:
        if node in memo:
            return memo[node]
        memo[node] = (0, None)  # a cycle cannot happen, but never recurse for ever
        child = wh._views.get(node)
        if child is None:
            cadence = wh._table_cadence.get(node)
            result: tuple[int, str | None] = (CADENCE_SECONDS[cadence], node) if cadence else (0, None)
        else:
            found = [of(p) for p in child.parents]
            result = min(found, key=lambda b: (b[0], b[1] or "")) if found else (0, None)
        memo[node] = result
        return result

    found = [of(p) for p in view.parents]
    return min(found, key=lambda b: (b[0], b[1] or "")) if found else (0, None)


def _ceiling(wh: TeamState, view: View) -> tuple[int, str] | None:
    """(seconds, blocker id) of the finest cadence among materialized views downstream, or None."""
    children = wh._live_children()
    seen: set[str] = set()
    stack = list(children.get(view.id, []))
    best: tuple[int, str] | None = None
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(children.get(node, []))
        other = wh._views[node]
        if other.is_materialized and other.sync_frequency in CADENCE_SECONDS:
            bound = (CADENCE_SECONDS[other.sync_frequency], node)
            if best is None or bound < best:
                best = bound
    return best


def _name(wh: TeamState, node: str | None) -> str | None:
    if node is None:
        return None
    view = wh._views.get(node)
    if view is not None:
        return view.name
    table = wh._tables.get(node)
    return table.name if table is not None else node


def _options(wh: TeamState, view: View) -> tuple[list[dict[str, Any]], Any, Any]:
    floor_s, floor_by = _floor(wh, view)
    ceiling = _ceiling(wh, view)
    options: list[dict[str, Any]] = []
    for cadence in SCHEDULABLE:
        seconds = CADENCE_SECONDS[cadence]
        if seconds < floor_s:
            options.append(
                {"cadence": cadence, "allowed": False, "blocked_by": "source", "blocker": floor_by}
            )
        elif ceiling is not None and seconds > ceiling[0]:
            options.append(
                {"cadence": cadence, "allowed": False, "blocked_by": "consumer", "blocker": ceiling[1]}
            )
        else:
            options.append({"cadence": cadence, "allowed": True, "blocked_by": None, "blocker": None})
    blocked = {o["blocked_by"] for o in options if not o["allowed"]}
    floor = (floor_s, floor_by) if "source" in blocked else None
    return options, floor, ceiling if "consumer" in blocked else None


def bounds_payload(wh: TeamState, view: View) -> dict[str, Any]:
    """The view's ``sync_frequency_bounds`` (present on retrieve in E3)."""
    if view.managed_kind is not None:
        return {
            "frequency_mode": "managed_viewset",
            "options": [],
            "floor": None,
            "ceiling": None,
            "best_effort_sources": [],
            "best_effort_sources_withheld": False,
        }
    options, floor, ceiling = _options(wh, view)

    def blocker(node: str | None) -> dict[str, str] | None:
        return None if node is None else {"id": node, "name": _name(wh, node) or node}

    def bound(value: tuple[int, str | None] | None) -> dict[str, Any] | None:
        return None if value is None else {"label": humanize(value[0]), "blocker": blocker(value[1])}

    return {
        "frequency_mode": "tiered",
        "options": [{**o, "blocker": blocker(o["blocker"])} for o in options],
        "floor": bound(floor),
        "ceiling": bound(ceiling),
        "best_effort_sources": [],
        "best_effort_sources_withheld": False,
    }


def check_cadence(wh: TeamState, view: View, cadence: str) -> str | None:
    """PostHog's refusal for materializing ``view`` every ``cadence``, or None when it is allowed."""
    seconds = CADENCE_SECONDS.get(cadence)
    if seconds is None:
        return None
    options, floor, ceiling = _options(wh, view)
    option = next((o for o in options if o["cadence"] == cadence), None)
    if option is None or option["allowed"]:
        return None
    allowed = [CADENCE_SECONDS[o["cadence"]] for o in options if o["allowed"]]
    if not allowed:
        return "No cadence works here."
    if option["blocked_by"] == "source" and floor is not None:
        source = _name(wh, floor[1]) or "an upstream source"
        return (
            f"Can't refresh every {humanize(seconds)}: {source} only syncs every {humanize(floor[0])}."
            f" Pick {humanize(min(allowed))} instead."
        )
    if ceiling is not None:
        consumer = _name(wh, ceiling[1]) or "a view or endpoint built on this one"
        return (
            f"Can't refresh every {humanize(seconds)}: {consumer} refreshes every {humanize(ceiling[0])}."
            f" Pick {humanize(max(allowed))} instead."
        )
    return None


def _suspended(view: View) -> bool:
    return view.suspended


def _upstream(wh: TeamState, view: View, descend: Callable[[View], bool]) -> Iterator[str]:
    """Every node upstream of ``view`` once: its parents, and the parents of each view ``descend`` accepts."""
    seen: set[str] = set()
    stack = list(view.parents)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        parent = wh._views.get(node)
        if parent is not None and descend(parent):
            stack.extend(parent.parents)


def _nearest_materialized(wh: TeamState, view: View) -> list[View]:
    """The materialized views upstream of ``view`` reached through plain views only."""
    out: dict[str, View] = {}
    for node in _upstream(wh, view, lambda p: not p.deleted and not p.is_materialized):
        parent = wh._views.get(node)
        if parent is not None and not parent.deleted and parent.is_materialized:
            out[parent.id] = parent
    return [out[k] for k in sorted(out)]


def _blocked_by(wh: TeamState, view: View) -> View | None:
    """The materialized ancestor whose failure (or suspension) makes this run skip, if any."""
    for parent in _nearest_materialized(wh, view):
        if _suspended(parent):
            return parent
        jobs = wh._jobs_by_view.get(parent.id, [])
        if not jobs:
            continue
        newest = max(jobs, key=lambda j: (j.created_at, j.seq))
        if newest.status in ("Failed", "Skipped") or (newest.status == "Running" and newest.fail):
            return parent
    return None


def _order(wh: TeamState, views: Iterable[View]) -> list[View]:
    """Views parents-first (names break ties), so a tick sees an upstream job before its readers."""
    pending = {v.id: v for v in views}
    done: set[str] = set()
    out: list[View] = []
    while pending:
        ready = sorted(
            (v for v in pending.values() if not any(p in pending for p in _ancestor_ids(wh, v, pending))),
            key=lambda v: v.name,
        )
        if not ready:  # cannot happen (no cycles); keep going deterministically
            ready = sorted(pending.values(), key=lambda v: v.name)
        for v in ready:
            out.append(v)
            done.add(v.id)
            del pending[v.id]
    return out


def _ancestor_ids(wh: TeamState, view: View, among: dict[str, View]) -> set[str]:
    return set(_upstream(wh, view, lambda p: True)) & set(among)


def tick(wh: JobEngine) -> list[Job]:
    """Start the scheduled runs whose time has come (called with the lock held); returns them."""
    if not wh.rules.runs_schedules():
        return []
    now = wh.clock.now()
    # a scan costs one pass over the views: at most one per simulated second (a due run still
    # starts at its exact due time, so nothing is lost)
    if wh._schedule_scanned is not None and (now - wh._schedule_scanned).total_seconds() < 1.0:
        return []
    wh._schedule_scanned = now
    due: list[tuple[View, datetime]] = []
    for view in wh._views.values():
        cadence = view.sync_frequency
        if (
            view.deleted
            or not view.is_materialized
            or cadence not in CADENCE_SECONDS
            or view.schedule_paused
            or _suspended(view)
        ):
            continue
        interval = timedelta(seconds=CADENCE_SECONDS[cadence])
        when = wh._schedule_next.get(view.id) or wh._schedule_start + interval
        if when > now:
            continue
        missed = int((now - when) / interval)
        when += missed * interval
        wh._schedule_next[view.id] = when + interval
        due.append((view, when))
    started: list[Job] = []
    at = {v.id: when for v, when in due}
    for view in _order(wh, (v for v, _ in due)):
        started.append(wh._scheduled_job(view, at[view.id], _blocked_by(wh, view)))
    return started
