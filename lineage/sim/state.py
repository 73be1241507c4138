"""The warehouse engine: one simulated PostHog team's views, tables, folders, jobs and lineage.

:class:`Warehouse` is the one face of the engine the HTTP layer and the tests use; it is made of
parts with one job each over one shared state (:mod:`lineage.sim.team` lists them). Every public
method returns the exact JSON shape PostHog sends and raises
:mod:`lineage.sim.errors` classes for PostHog's error answers; the HTTP layer (:mod:`lineage.sim.app`)
only routes. The team starts from a fixture (:mod:`lineage.sim.fixture` loads and checks it into the
records of :mod:`lineage.sim.records`). Where PostHog's generations differ - the *era*: E2 the older
PostHog, E3 the newest - the warehouse asks its ``rules`` (:mod:`lineage.sim.era`): E2's lineage
answers come from :class:`lineage.sim.paths.LineageIndex`, which equals PostHog's root-to-leaf path
store without enumerating it; E3 walks the current view graph instead.

>>> wh = Warehouse({"format": "lineage-sim-fixture/1", "now": "2026-01-01T00:00:00Z",
...                 "views": [{"name": "v", "query": "select event from events", "parents": ["events"]}]})
>>> wh.ancestors(wh.list_views()[0]["id"])
['events']
"""

from __future__ import annotations

from typing import Any

from lineage.sim import system_tables
from lineage.sim.era import SUSPEND_AFTER
from lineage.sim.fixture import FIXTURE_FORMAT
from lineage.sim.folders import FolderEngine
from lineage.sim.paths import MISSING
from lineage.sim.records import KeyInfo, SimClock, render_time
from lineage.sim.tables import TableEngine

__all__ = ["FIXTURE_FORMAT", "MISSING", "SUSPEND_AFTER", "KeyInfo", "SimClock", "Warehouse", "render_time"]


class Warehouse(FolderEngine, TableEngine):
    """One simulated PostHog team (fixture ``lineage-sim-fixture/1``), thread-safe through ``lock``."""

    def system_records(self, table: str) -> list[dict[str, Any]]:
        """Raw rows behind HogQL's ``system.<table>`` (deleted rows included), for the query API.

        Values are Python objects (``datetime``, ``bool``, ``int``, ``str``, ``None``); JSON columns
        are JSON text as PostHog stores them. ``table`` is the name without ``system.``.
        """
        with self.lock:
            self._refresh_jobs()
            rows = system_tables.ROWS.get(table)
            if rows is not None:
                return rows(self)
            return self.consumers.system_records(table) or []

    def system_cells(self, table: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]] | None:
        """:meth:`system_records` of the large tables as (columns, rows of cells in that order);
        None for the other tables."""
        cells = system_tables.CELLS.get(table)
        if cells is None:
            return None
        columns, build = cells
        with self.lock:
            self._refresh_jobs()
            return columns, build(self)

    def user_basic(self, user_id: int) -> dict[str, Any]:
        """PostHog's UserBasic shape."""
        with self.lock:
            shape = self._user(user_id)
            assert shape is not None
            return shape
