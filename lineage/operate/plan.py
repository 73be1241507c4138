"""Plans: which views a selector picks, in which wave each runs, and what the plan should warn about.

A plan is built from a snapshot (no network): :func:`plan_for` resolves a dbt-like selector and keeps
the saved queries; :func:`assign_waves` numbers the materialized ones so that every view's wave is
greater than the wave of every selected materialized view it depends on, through plain views and
unselected nodes too (wave 1 reads nothing selected). :func:`confirm_live` then checks each id
against PostHog (a view deleted since the crawl is an error, exit 2) and flags views already failing
or suspended.

>>> plan = plan_for(graph, "orders+", materialized_only=True)      # doctest: +SKIP
>>> [(s.name, s.wave) for s in plan.steps]                          # doctest: +SKIP
[('orders', 1), ('orders_daily', 2)]
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import networkx as nx

from lineage.errors import InputError, NotFoundError
from lineage.select import select

if TYPE_CHECKING:
    from lineage.api import AsyncPostHogClient
    from lineage.graph import LineageGraph

__all__ = ["FAILING_STREAK", "Plan", "Step", "assign_waves", "confirm_live", "plan_for"]

SAVED_QUERY_KINDS = frozenset({"view", "matview"})
#: A view whose newest jobs failed this many times in a row is flagged (PostHog suspends such views).
FAILING_STREAK = 3


@dataclass(frozen=True)
class Step:
    """One view the plan acts on."""

    id: str
    name: str
    wave: int = 1
    materialized: bool = False
    incremental: bool = False
    full_refresh: bool | None = None
    depends_on: tuple[str, ...] = ()  # ids of selected materialized views this one reads (any depth)
    flags: tuple[str, ...] = ()  # e.g. "failing", "failed 3 times in a row", "suspended"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "wave": self.wave, "flags": list(self.flags)}


@dataclass(frozen=True)
class Plan:
    """The steps in execution order (wave, then name); ``checked`` once confirmed against PostHog."""

    steps: tuple[Step, ...]
    checked: bool = False
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [s.to_dict() for s in self.steps], "checked": self.checked}

    @property
    def waves(self) -> list[list[Step]]:
        out: dict[int, list[Step]] = {}
        for step in self.steps:
            out.setdefault(step.wave, []).append(step)
        return [out[w] for w in sorted(out)]


def assign_waves(graph: nx.DiGraph[str], chosen: Iterable[str]) -> dict[str, tuple[int, set[str]]]:
    """For each chosen node: (wave, chosen ancestors). A node's wave is one more than the highest
    wave among the chosen nodes upstream of it (at any depth, through any node), else 1."""
    chosen_set = set(chosen)
    # for every node, the chosen ancestors reachable from it (chosen nodes included as themselves)
    best: dict[str, int] = {}
    ancestors: dict[str, set[str]] = {}
    out: dict[str, tuple[int, set[str]]] = {}
    for node in nx.lexicographical_topological_sort(graph):
        level = 0
        reach: set[str] = set()
        for parent in graph.predecessors(node):
            level = max(level, best.get(parent, 0))
            reach |= ancestors.get(parent, set())
        if node in chosen_set:
            wave = level + 1
            out[node] = (wave, reach)
            best[node] = wave
            ancestors[node] = reach | {node}
        else:
            best[node] = level
            ancestors[node] = reach
    return out


def snapshot_flags(data: dict[str, Any]) -> list[str]:
    """What a plan should warn about a view, from its snapshot attributes (no network)."""
    flags: list[str] = []
    if data.get("status") == "Failed":
        flags.append("failing")
    jobs = data.get("jobs")
    streak = jobs.get("failure_streak") if isinstance(jobs, dict) else None
    if isinstance(streak, int) and streak >= FAILING_STREAK:
        flags.append(f"failed {streak} times in a row")
    if data.get("suspended"):
        flags.append("suspended")
    return flags


def plan_for(
    graph: LineageGraph,
    selector: str,
    *,
    exclude: str | None = None,
    materialized_only: bool = False,
    full_refresh: bool = False,
) -> Plan:
    """The saved queries ``selector`` picks (only materialized ones with ``materialized_only``), in
    waves. ``full_refresh`` asks for a full rebuild of every view; otherwise an incremental view
    downstream of another step gets one (its input was rebuilt, so new rows are not enough)."""
    ids = [
        i for i in select(graph, selector, exclude=exclude) if graph.node(i).get("kind") in SAVED_QUERY_KINDS
    ]
    if materialized_only:
        picked = [
            i for i in ids if graph.node(i).get("kind") == "matview" or graph.node(i).get("is_materialized")
        ]
        if not picked:
            names = ", ".join(sorted(graph.name_of(i) for i in ids)[:5]) or "nothing"
            raise InputError(
                f"{selector!r} selects no materialized view (it selects {names}); "
                "materialize one first or select with a trailing + to include what reads it"
            )
        ids = picked
    if not ids:
        raise InputError(f"{selector!r} selects no saved query; try `lineage ls --select {selector!r}`")
    waves = assign_waves(graph.nx, ids)
    steps = []
    for node_id in ids:
        data = graph.node(node_id)
        wave, ups = waves[node_id]
        incremental = bool(data.get("is_incremental"))
        refresh: bool | None = True if full_refresh else None
        if refresh is None and incremental and ups:
            refresh = True
        steps.append(
            Step(
                id=node_id,
                name=graph.name_of(node_id),
                wave=wave,
                materialized=bool(data.get("is_materialized")) or data.get("kind") == "matview",
                incremental=incremental,
                full_refresh=refresh,
                depends_on=tuple(sorted(ups)),
                flags=tuple(snapshot_flags(data)),
            )
        )
    steps.sort(key=lambda s: (s.wave, s.name, s.id))
    return Plan(tuple(steps))


def _streak(statuses: list[str | None]) -> int:
    count = 0
    for status in statuses:
        if status != "Failed":
            break
        count += 1
    return count


async def confirm_live(client: AsyncPostHogClient, plan: Plan, *, with_jobs: bool = True) -> Plan:
    """Check every step's id against PostHog (a missing one is an InputError naming it) and refresh
    its flags from the live view: failing, failed N times in a row, suspended."""

    async def one(step: Step) -> Step:
        try:
            view = await client.get_view(step.id)
        except NotFoundError:
            raise InputError(
                f"view {step.name!r} ({step.id}) no longer exists in PostHog; "
                "crawl again (`lineage crawl --all`) and re-plan"
            ) from None
        flags: list[str] = []
        if view.status == "Failed":
            flags.append("failing")
        if with_jobs:
            jobs = await client.list_jobs(step.id, limit=FAILING_STREAK)
            streak = _streak([j.status for j in jobs])
            if streak >= FAILING_STREAK:
                flags.append(f"failed {streak} times in a row")
        if view.raw.get("suspended"):
            flags.append("suspended")
        incremental = bool(view.raw.get("is_incremental", step.incremental))
        refresh = step.full_refresh
        if refresh is None and incremental and step.depends_on:
            refresh = True
        return replace(
            step,
            name=view.name or step.name,
            flags=tuple(flags),
            incremental=incremental,
            full_refresh=refresh,
            materialized=view.is_materialized,
        )

    steps = await asyncio.gather(*(one(s) for s in plan.steps))
    return Plan(tuple(steps), checked=True, notes=plan.notes)


def step_dicts(steps: Iterable[Step]) -> list[dict[str, Any]]:
    return [asdict(s) for s in steps]
