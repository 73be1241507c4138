"""The API client against the simulator (in-process ASGI): every endpoint, typed results, real errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from lineage.api import ActivityRow, Folder, Job, PostHogClient, SavedQuery, Table
from lineage.config import Settings
from lineage.errors import (
    AuthenticationError,
    BadRequestError,
    MissingScopeError,
    NotFoundError,
    PermissionDeniedError,
    PersonalKeyNotSupportedError,
    ProjectAccessError,
)
from lineage.sim.app import create_app
from lineage.sim.faults import FaultConfig
from lineage.sim.state import Warehouse

VIEW_IDS = {
    "orders": "0a000000-0000-4000-8000-000000000001",
    "event_counts": "0a000000-0000-4000-8000-000000000002",
    "ai_usage": "0a000000-0000-4000-8000-000000000003",
    "orders_daily": "0a000000-0000-4000-8000-000000000004",
    "revenue_report": "0a000000-0000-4000-8000-000000000005",
    "constant": "0a000000-0000-4000-8000-000000000006",
}
STRIPE = "0b000000-0000-4000-8000-000000000001"
REVENUE_FOLDER = "0c000000-0000-4000-8000-000000000001"
FIRST_JOB = "0d000000-0000-4000-8000-000000000001"


def settings_for(key: str) -> Settings:
    return Settings.resolve(host="http://127.0.0.1", project="1", api_key=key, env={})


class SessionTransport(httpx.AsyncBaseTransport):
    """Sends a browser session cookie instead of the key, for endpoints closed to personal keys."""

    def __init__(self, inner: httpx.AsyncBaseTransport, session: str) -> None:
        self.inner = inner
        self.session = session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        del request.headers["authorization"]
        request.headers["cookie"] = f"sessionid={self.session}"
        return await self.inner.handle_async_request(request)


def sim_clock_sleep(app: Any) -> Any:
    """A fake sleep that moves the simulator's clocks, so its throttle windows pass as ours do."""

    def sleep(seconds: float) -> None:
        app.state.sim.throttler.advance(seconds)
        app.state.sim.warehouse.clock.advance(seconds)

    return sleep


@pytest.fixture
def app(small_fixture: dict[str, Any]) -> Any:
    return create_app(Warehouse(small_fixture, era="e2"))


@pytest.fixture
def client(app: Any) -> Iterator[PostHogClient]:
    with PostHogClient(
        settings_for("phx_all"), transport=httpx.ASGITransport(app=app), sleep=sim_clock_sleep(app)
    ) as c:
        yield c


def sim_stats(app: Any) -> dict[str, Any]:
    async def get() -> dict[str, Any]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as h:
            response = await h.get("/_sim/stats")
            data: dict[str, Any] = response.json()
            return data

    return asyncio.run(get())


def test_views_listing_and_detail(client: PostHogClient, app: Any) -> None:
    views = client.list_views()
    assert all(isinstance(v, SavedQuery) for v in views)
    assert sorted(v.name for v in views) == sorted(VIEW_IDS)
    assert {v.name: v.id for v in views} == VIEW_IDS
    by_name = {v.name: v for v in views}
    assert by_name["orders"].folder == "Revenue" and by_name["orders"].kind == "matview"
    assert by_name["ai_usage"].folder is None and by_name["ai_usage"].kind == "view"
    assert all(v.sql is None for v in views)
    assert [v.name for v in client.list_views(search="orders")] == ["orders_daily", "orders"]
    detail = client.get_view(VIEW_IDS["revenue_report"])
    assert detail.sql == "SELECT created, n FROM orders_daily"
    assert detail.created_by is not None and detail.created_by.email == "ada@example.com"
    assert detail.created_at == datetime(2026, 1, 5, tzinfo=UTC)
    assert client.stats.total_requests == sim_stats(app)["total"]


def test_lineage_endpoints(client: PostHogClient) -> None:
    v = VIEW_IDS
    assert client.ancestors(v["revenue_report"]) == sorted(
        [v["orders"], v["event_counts"], v["orders_daily"], STRIPE, "events"]
    )
    assert client.ancestors(v["revenue_report"], level=1) == [v["orders_daily"]]
    assert client.ancestors(v["revenue_report"], level=2) == sorted(
        [v["orders_daily"], v["orders"], v["event_counts"]]
    )
    assert client.ancestors(v["revenue_report"], level=10) == client.ancestors(v["revenue_report"])
    assert client.ancestors(v["ai_usage"]) == ["ai_events", "posthog"]
    assert client.ancestors(v["constant"]) == []
    assert client.descendants(v["orders"]) == sorted([v["orders_daily"], v["revenue_report"]])
    assert client.descendants(v["orders"], level=1) == [v["orders_daily"]]
    assert client.descendants(v["revenue_report"]) == []
    deps = client.dependencies(v["orders_daily"])
    assert (deps.upstream_count, deps.downstream_count) == (2, 1)


def test_history_and_jobs(client: PostHogClient) -> None:
    history = client.run_history(VIEW_IDS["orders_daily"])
    assert [h.status for h in history] == ["Completed", "Failed", "Completed"]
    assert history[0].timestamp == datetime(2026, 11, 22, 0, 4, tzinfo=UTC)
    jobs = client.list_jobs()
    assert all(isinstance(j, Job) for j in jobs)
    assert [j.created_at for j in jobs] == sorted((j.created_at for j in jobs), reverse=True)  # type: ignore[type-var]
    assert len(jobs) == 4
    mine = client.list_jobs(saved_query_id=VIEW_IDS["orders_daily"])
    assert len(mine) == 3 and {j.saved_query_id for j in mine} == {VIEW_IDS["orders_daily"]}
    recent = client.list_jobs(since=datetime(2026, 11, 21, 12, tzinfo=UTC))
    assert [j.created_at for j in recent] == [
        datetime(2026, 11, 23, tzinfo=UTC),
        datetime(2026, 11, 22, tzinfo=UTC),
    ]
    assert len(client.list_jobs(limit=1)) == 1
    job = client.get_job(FIRST_JOB)
    assert job.rows_materialized == 100 and job.duration_s == 300.0
    with pytest.raises(BadRequestError) as info:
        client.list_jobs(saved_query_id="not-a-uuid")
    assert info.value.attr == "saved_query_id"


def test_folders_and_tables(client: PostHogClient) -> None:
    folders = client.list_folders()
    assert [f.name for f in folders] == ["Product", "Revenue"]
    assert all(isinstance(f, Folder) for f in folders)
    revenue = client.get_folder(REVENUE_FOLDER)
    assert revenue.view_count == 2
    misc = client.create_folder("  Misc  ")
    assert misc.name == "Misc"
    with pytest.raises(BadRequestError, match="already exists"):
        client.create_folder("Misc")
    assert client.update_folder(misc.id, name="Other").name == "Other"
    client.delete_folder(misc.id)
    with pytest.raises(NotFoundError, match=misc.id):
        client.get_folder(misc.id)
    tables = client.list_tables()
    assert [(t.id, t.name) for t in tables] == [(STRIPE, "stripe_charge")]
    assert all(isinstance(t, Table) for t in tables)
    assert client.get_table(STRIPE).name == "stripe_charge"


def test_view_crud_and_actions(client: PostHogClient) -> None:
    created = client.create_view("fresh_view", "SELECT event FROM events")
    assert created.name == "fresh_view" and created.sql == "SELECT event FROM events"
    assert client.ancestors(created.id) == ["events"]
    again = client.create_view("fresh_view", "SELECT event FROM events", soft_update=True)  # upsert by name
    assert again.id == created.id
    current = client.get_view(created.id)
    updated = client.update_view(
        created.id, sql="SELECT distinct_id FROM persons", edited_history_id=current.latest_history_id
    )
    assert updated.sql == "SELECT distinct_id FROM persons"
    with pytest.raises(BadRequestError, match="modified by someone else"):
        client.update_view(created.id, sql="SELECT 1", edited_history_id=-5)
    client.update_view(created.id, folder_id=REVENUE_FOLDER)
    assert client.get_view(created.id).folder == "Revenue"
    client.materialize(created.id)
    assert client.get_view(created.id).is_materialized is True
    client.revert_materialization(created.id)
    assert client.get_view(created.id).is_materialized is False
    client.run(created.id)
    client.resume_schedules([created.id, VIEW_IDS["orders"]])
    with pytest.raises(BadRequestError, match="not running"):
        client.cancel(VIEW_IDS["constant"])
    with pytest.raises(BadRequestError, match="depend"):
        client.delete_view(VIEW_IDS["orders"])
    client.delete_view(created.id)
    with pytest.raises(NotFoundError, match=created.id):
        client.get_view(created.id)


def test_session_only_endpoints(app: Any) -> None:
    with PostHogClient(settings_for("phx_all"), transport=httpx.ASGITransport(app=app)) as c:
        for call in (c.recent_jobs, c.running_jobs, c.completed_activity):
            with pytest.raises(PersonalKeyNotSupportedError):
                call()
    transport = SessionTransport(httpx.ASGITransport(app=app), "phx_all")
    with PostHogClient(settings_for("phx_all"), transport=transport) as c:
        recent = c.recent_jobs()
        assert sorted(j.saved_query_id or "" for j in recent) == sorted(
            [VIEW_IDS["orders"], VIEW_IDS["orders_daily"]]
        )
        assert c.running_jobs() == []
        rows = c.completed_activity(limit=1)
        assert rows and all(isinstance(r, ActivityRow) and r.status == "Completed" for r in rows)
        assert len({r.id for r in rows}) == len(rows)
        assert [r.created_at for r in rows] == sorted((r.created_at for r in rows), reverse=True)  # type: ignore[type-var]
        with pytest.raises(PermissionDeniedError, match="This feature is not enabled"):
            c.check_database_name("my-db")
        with pytest.raises(BadRequestError, match="3-63 characters"):
            c.check_database_name("Bad_Name")


def test_check_database_name_with_the_beta_flag(small_fixture: dict[str, Any]) -> None:
    small_fixture["flags"] = ["provision-managed-warehouse-beta"]
    app = create_app(Warehouse(small_fixture, era="e2"))
    with PostHogClient(
        settings_for("phx_all"), transport=SessionTransport(httpx.ASGITransport(app=app), "phx_all")
    ) as c:
        assert c.check_database_name("orders").available is False
        assert c.check_database_name("my-db").name == "my-db"


def test_keys_and_scopes(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    with (
        PostHogClient(settings_for("phx_none"), transport=transport) as c,
        pytest.raises(MissingScopeError) as info,
    ):
        c.list_views()
    assert info.value.scope == "warehouse_view:read"
    with PostHogClient(settings_for("phx_read"), transport=transport) as c:
        assert c.ancestors(VIEW_IDS["orders"]) == [STRIPE]
        with pytest.raises(MissingScopeError) as info:
            c.run(VIEW_IDS["orders"])
        assert info.value.scope == "warehouse_view:write"
    with (
        PostHogClient(settings_for("phx_other"), transport=transport) as c,
        pytest.raises(ProjectAccessError),
    ):
        c.list_views()
    with PostHogClient(settings_for("phx_wrong"), transport=transport) as c:
        with pytest.raises(AuthenticationError) as auth:
            c.list_views()
        assert "POSTHOG_PERSONAL_API_KEY" in str(auth.value) and "phx_wrong" not in str(auth.value)
    missing = "0a000000-0000-4000-8000-00000000ffff"
    with PostHogClient(settings_for("phx_all"), transport=transport) as c:
        with pytest.raises(NotFoundError, match=missing) as nf:
            c.get_view(missing)
        assert f"saved query {missing}" in str(nf.value)


def test_run_limit_keeps_the_simulator_from_throttling(app: Any) -> None:
    with PostHogClient(
        settings_for("phx_all"), transport=httpx.ASGITransport(app=app), sleep=sim_clock_sleep(app)
    ) as c:
        for _ in range(12):
            c.run(VIEW_IDS["orders"])
        assert c.stats.throttled == 0 and c.stats.waited_s >= 60
    assert sim_stats(app)["throttled"] == 0


def test_simulator_429_is_waited_out(app: Any) -> None:
    sleep = sim_clock_sleep(app)
    transport = httpx.ASGITransport(app=app)
    with PostHogClient(settings_for("phx_all"), transport=transport, sleep=sleep) as first:
        for _ in range(5):
            first.materialize(VIEW_IDS["orders"])
    # a second client has its own limiter, so only PostHog's 5/hour per view stops it
    with PostHogClient(settings_for("phx_all"), transport=transport, sleep=sleep, max_wait=7200) as second:
        second.materialize(VIEW_IDS["orders"])
        assert second.stats.throttled == 1 and second.stats.retries == 1
        assert second.stats.waited_s > 60
    assert sim_stats(app)["throttled"] == 1


def test_faulty_simulator_loses_no_data(small_fixture: dict[str, Any]) -> None:
    clean = create_app(Warehouse(small_fixture, era="e2"))
    faulty = create_app(
        Warehouse(small_fixture, era="e2"),
        faults=FaultConfig(seed=11, error_rate=0.1, truncate_rate=0.05, storm_rate=0.02, latency_ms=1),
    )

    def crawl(app: Any) -> tuple[list[tuple[str, str | None]], dict[str, list[str]]]:
        with PostHogClient(
            settings_for("phx_all"), transport=httpx.ASGITransport(app=app), sleep=lambda s: None, retries=10
        ) as c:
            views = [(v.id, c.get_view(v.id).sql) for v in c.list_views()]
            lineage = {vid: [*c.ancestors(vid), "|", *c.descendants(vid, level=1)] for vid, _ in views}
            return sorted(views), lineage

    assert crawl(faulty) == crawl(clean)
    stats = sim_stats(faulty)
    assert stats["errors_injected"] > 0
