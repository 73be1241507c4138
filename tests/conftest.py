"""Shared fixtures: a small simulator warehouse, the ASGI app on it, and a loopback server.

``small_fixture`` (a fresh dict per test)::

    tables  events, persons (PostHog), posthog.ai_events (dotted PostHog table), stripe_charge (warehouse)
    views   orders        <- stripe_charge                     (folder Revenue, materialized)
            event_counts  <- events                            (folder Product)
            ai_usage      <- posthog.ai_events
            orders_daily  <- orders, event_counts              (level 2, materialized, folder Revenue)
            revenue_report <- orders_daily                     (level 3)
            constant      SELECT 1                             (no parents: a root path of its own)
    jobs    3 for orders_daily, 1 for orders
    keys    phx_read (warehouse_view:read, warehouse_table:read), phx_write (warehouse_view:write,
            warehouse_table:read), phx_none (no scopes), phx_all (*), phx_other (projects [2])

``VIEW_IDS`` maps view names to their UUIDs; ``TABLE_IDS`` the warehouse table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

TEAM_ID = 1
NOW = "2026-11-26T00:00:00Z"

VIEW_IDS = {
    "orders": "0a000000-0000-4000-8000-000000000001",
    "event_counts": "0a000000-0000-4000-8000-000000000002",
    "ai_usage": "0a000000-0000-4000-8000-000000000003",
    "orders_daily": "0a000000-0000-4000-8000-000000000004",
    "revenue_report": "0a000000-0000-4000-8000-000000000005",
    "constant": "0a000000-0000-4000-8000-000000000006",
}
TABLE_IDS = {"stripe_charge": "0b000000-0000-4000-8000-000000000001"}
FOLDER_IDS = {
    "Revenue": "0c000000-0000-4000-8000-000000000001",
    "Product": "0c000000-0000-4000-8000-000000000002",
}
JOB_IDS = [f"0d000000-0000-4000-8000-00000000000{n}" for n in range(1, 5)]

READ_SCOPES = ["warehouse_view:read", "warehouse_table:read"]
WRITE_SCOPES = ["warehouse_view:write", "warehouse_table:read"]


def _view(name: str, query: str, parents: list[str], created: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": VIEW_IDS[name],
        "name": name,
        "query": query,
        "parents": parents,
        "created_at": created,
        "created_by": 1,
        **extra,
    }


def make_small_fixture() -> dict[str, Any]:
    """A fresh copy of the small warehouse (tests may mutate it)."""
    return {
        "format": "lineage-sim-fixture/1",
        "team_id": TEAM_ID,
        "now": NOW,
        "api_keys": [
            {"key": "phx_read", "scopes": READ_SCOPES},
            {"key": "phx_write", "scopes": WRITE_SCOPES},
            {"key": "phx_none", "scopes": []},
            {"key": "phx_all", "scopes": ["*"]},
            {"key": "phx_other", "scopes": ["*"], "projects": [2]},
        ],
        "users": [{"id": 1, "first_name": "Ada", "email": "ada@example.com"}],
        "folders": [
            {"id": FOLDER_IDS["Revenue"], "name": "Revenue"},
            {"id": FOLDER_IDS["Product"], "name": "Product"},
        ],
        "tables": [
            {"name": "events", "kind": "posthog"},
            {"name": "persons", "kind": "posthog"},
            {"name": "posthog.ai_events", "kind": "posthog"},
            {"id": TABLE_IDS["stripe_charge"], "name": "stripe_charge", "kind": "warehouse"},
        ],
        "views": [
            _view(
                "orders",
                "SELECT id, amount, created FROM stripe_charge",
                ["stripe_charge"],
                "2026-01-01T00:00:00Z",
                folder="Revenue",
                is_materialized=True,
                sync_frequency="24hour",
                status="Completed",
            ),
            _view(
                "event_counts",
                "SELECT event, count() AS n FROM events GROUP BY event",
                ["events"],
                "2026-01-02T00:00:00Z",
                folder="Product",
            ),
            _view(
                "ai_usage",
                "SELECT count() AS n FROM posthog.ai_events",
                ["posthog.ai_events"],
                "2026-01-03T00:00:00Z",
            ),
            _view(
                "orders_daily",
                "SELECT o.created, count() AS n FROM orders AS o"
                " JOIN event_counts AS e ON 1 = 1 GROUP BY o.created",
                ["orders", "event_counts"],
                "2026-01-04T00:00:00Z",
                folder="Revenue",
                is_materialized=True,
                sync_frequency="24hour",
                status="Completed",
            ),
            _view(
                "revenue_report",
                "SELECT created, n FROM orders_daily",
                ["orders_daily"],
                "2026-01-05T00:00:00Z",
            ),
            _view("constant", "SELECT 1", [], "2026-01-06T00:00:00Z"),
        ],
        "jobs": [
            {
                "id": JOB_IDS[0],
                "view": "orders_daily",
                "status": "Completed",
                "rows_materialized": 100,
                "rows_expected": 100,
                "error": None,
                "created_at": "2026-11-20T00:00:00Z",
                "last_run_at": "2026-11-20T00:05:00Z",
                "workflow_id": "materialize-orders_daily-1",
            },
            {
                "id": JOB_IDS[1],
                "view": "orders_daily",
                "status": "Failed",
                "rows_materialized": 0,
                "rows_expected": None,
                "error": "boom",
                "created_at": "2026-11-21T00:00:00Z",
                "last_run_at": "2026-11-21T00:01:00Z",
                "workflow_id": "materialize-orders_daily-2",
            },
            {
                "id": JOB_IDS[2],
                "view": "orders_daily",
                "status": "Completed",
                "rows_materialized": 120,
                "rows_expected": 120,
                "error": None,
                "created_at": "2026-11-22T00:00:00Z",
                "last_run_at": "2026-11-22T00:04:00Z",
                "workflow_id": "materialize-orders_daily-3",
            },
            {
                "id": JOB_IDS[3],
                "view": "orders",
                "status": "Completed",
                "rows_materialized": 7,
                "rows_expected": 7,
                "error": None,
                "created_at": "2026-11-23T00:00:00Z",
                "last_run_at": "2026-11-23T00:02:00Z",
                "workflow_id": "materialize-orders-1",
            },
        ],
    }


@pytest.fixture
def small_fixture() -> dict[str, Any]:
    """The small warehouse as a fixture dict (fresh per test)."""
    return make_small_fixture()


@pytest.fixture
def sim_app(small_fixture: dict[str, Any]) -> Any:
    """The simulator's ASGI app on ``small_fixture`` (era e2, throttles on, no faults)."""
    from lineage.sim.app import create_app
    from lineage.sim.state import Warehouse

    return create_app(Warehouse(small_fixture, era="e2"))


@pytest.fixture
def sim_server(small_fixture: dict[str, Any]) -> Iterator[Any]:
    """A loopback E2 simulator on ``small_fixture``; ``.url`` is its base URL. Stopped after the test."""
    from lineage.sim.server import serve_in_thread

    with serve_in_thread(small_fixture, era="e2") as handle:
        yield handle


@pytest.fixture(autouse=True)
def _private_parse_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """``lineage check`` caches parsed SQL under the user's cache directory: tests use their own."""
    monkeypatch.setenv("LINEAGE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "lineage-cache"))
