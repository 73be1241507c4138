"""`lineage refresh`: run a view and the materialized views downstream of it, in order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from conftest import VIEW_IDS

from lineage.cli import main
from lineage.config import Settings
from lineage.crawl import CrawlOptions, crawl_async
from lineage.errors import InputError, MissingScopeError
from lineage.graph import LineageGraph
from lineage.ops import refresh_async, refresh_plan
from lineage.sim.app import create_app
from lineage.sim.server import serve_in_thread
from lineage.sim.state import Warehouse


def quick(fixture: dict[str, Any], *, failing: str | None = None) -> dict[str, Any]:
    """Simulated runs take 0.1 s; ``failing`` names a view whose runs fail."""
    for view in fixture["views"]:
        view["run_seconds"] = 0.1
        if view["name"] == failing:
            view["fail_runs"] = True
            view["latest_error"] = "Table stripe_charge is unreachable"
    return fixture


def snapshot_of(wh: Warehouse) -> LineageGraph:
    s = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key="phx_read", env={})
    opts = CrawlOptions(strategy="all", edges="api")
    return asyncio.run(crawl_async(s, opts, transport=httpx.ASGITransport(app=create_app(wh)))).graph


def test_plan_is_materialized_views_in_dependency_order(small_fixture: dict[str, Any]) -> None:
    graph = snapshot_of(Warehouse(small_fixture, era="e2"))
    assert [s.name for s in refresh_plan(graph, "orders")] == ["orders", "orders_daily"]
    assert [s.name for s in refresh_plan(graph, "orders", downstream=False)] == ["orders"]
    assert [s.name for s in refresh_plan(graph, "event_counts")] == ["orders_daily"]
    with pytest.raises(InputError, match="nothing to refresh: 'revenue_report'"):
        refresh_plan(graph, "revenue_report")


def run_refresh(wh: Warehouse, view: str, key: str = "phx_write", **kw: Any) -> Any:
    graph = snapshot_of(wh)
    s = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key=key, env={})
    transport = httpx.ASGITransport(app=create_app(wh))
    return asyncio.run(refresh_async(s, refresh_plan(graph, view), transport=transport, poll_s=0.05, **kw))


def test_refresh_runs_each_view_after_the_one_it_reads(small_fixture: dict[str, Any]) -> None:
    wh = Warehouse(quick(small_fixture), era="e2")
    result = run_refresh(wh, "orders")
    assert result.ok
    assert [(s.name, s.status) for s in result.steps] == [
        ("orders", "Completed"),
        ("orders_daily", "Completed"),
    ]
    jobs = {j["saved_query_id"]: j for j in wh.list_jobs()[:2]}
    first, second = jobs[VIEW_IDS["orders"]], jobs[VIEW_IDS["orders_daily"]]
    assert second["created_at"] >= first["last_run_at"]  # orders_daily started after orders finished
    assert all(s.job_id for s in result.steps)


def test_a_failure_stops_what_reads_it(small_fixture: dict[str, Any]) -> None:
    wh = Warehouse(quick(small_fixture, failing="orders"), era="e2")
    result = run_refresh(wh, "orders")
    assert not result.ok
    assert [(s.name, s.status) for s in result.steps] == [("orders", "Failed"), ("orders_daily", "skipped")]
    assert "unreachable" in (result.steps[0].error or "")
    going = run_refresh(
        Warehouse(quick(small_fixture, failing="orders"), era="e2"), "orders", keep_going=True
    )
    assert [s.status for s in going.steps] == ["Failed", "Completed"]


def test_refresh_needs_the_write_scope(small_fixture: dict[str, Any]) -> None:
    with pytest.raises(MissingScopeError, match="warehouse_view:write"):
        run_refresh(Warehouse(quick(small_fixture), era="e2"), "orders", key="phx_read")


def test_cli_dry_run_then_run_over_loopback(small_fixture: dict[str, Any], tmp_path: Path) -> None:
    fixture = quick(small_fixture, failing="orders_daily")
    with serve_in_thread(fixture, era="e2") as server:
        snap = tmp_path / "snap.json"
        env = {"POSTHOG_HOST": server.url, "POSTHOG_PROJECT_ID": "1", "POSTHOG_PERSONAL_API_KEY": "phx_read"}
        crawled = CliRunner().invoke(main, ["crawl", "--all", "--out", str(snap)], env=env)
        assert crawled.exit_code == 0, crawled.output
        before = server.stats()["total"]
        dry = CliRunner().invoke(main, ["refresh", "orders", "--snapshot", str(snap)], env=env)
        assert dry.exit_code == 0
        assert dry.stdout.splitlines() == [
            "would run, in this order:",
            "  1. orders",
            "  2. orders_daily",
            "add --yes to start these runs",
        ]
        assert server.stats()["total"] == before  # a dry run asks nothing
        env["POSTHOG_PERSONAL_API_KEY"] = "phx_write"
        args = ["refresh", "orders", "--snapshot", str(snap), "--yes", "--poll", "0.05", "--format", "json"]
        ran = CliRunner().invoke(main, args, env=env)
    assert ran.exit_code == 1  # orders_daily failed: a finding
    body = json.loads(ran.stdout)
    assert [(s["name"], s["status"]) for s in body["steps"]] == [
        ("orders", "Completed"),
        ("orders_daily", "Failed"),
    ]
    assert "1 of 2 views did not complete: orders_daily" in ran.stderr
    assert "phx_write" not in ran.output


class LateJob(httpx.AsyncBaseTransport):
    """The simulator, except that the first job listing after a run does not show the new job yet
    (PostHog's workflow creates it a moment after the run request returns): it shows the one before."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.hide = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.hide and "/data_modeling_jobs" in request.url.path:
            self.hide = False
            wider = request.url.copy_set_param("limit", "2")
            response = await self.inner.handle_async_request(
                httpx.Request("GET", wider, headers=request.headers)
            )
            body = json.loads(await response.aread())
            body["results"], body["next"] = body["results"][1:2], None
            return httpx.Response(200, json=body)
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/run/"):
            self.hide = True
        return response


def test_an_older_job_is_never_taken_for_the_new_run(small_fixture: dict[str, Any]) -> None:
    wh = Warehouse(quick(small_fixture), era="e2")
    graph = snapshot_of(wh)
    old_job = wh.list_jobs(saved_query_id=VIEW_IDS["orders"])[0]["id"]
    s = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key="phx_write", env={})
    plan = refresh_plan(graph, "orders", downstream=False)
    result = asyncio.run(refresh_async(s, plan, transport=LateJob(create_app(wh)), poll_s=0.05))
    assert result.steps[0].status == "Completed"
    assert result.steps[0].job_id != old_job


def test_incremental_views_downstream_are_rebuilt_from_scratch(small_fixture: dict[str, Any]) -> None:
    # An incremental run processes only new rows: after orders changes, orders_daily's old rows would
    # stay computed from the old orders. The newest PostHog's run takes {"full_refresh": true}.
    for view in small_fixture["views"]:
        if view["name"] in ("orders", "orders_daily"):
            view["is_incremental"] = True
    graph = snapshot_of(Warehouse(quick(small_fixture), era="e2"))
    graph.nx.nodes[VIEW_IDS["orders_daily"]]["is_incremental"] = True  # as an E3 crawl records it
    graph.nx.nodes[VIEW_IDS["orders"]]["is_incremental"] = True  # the changed view itself: not rebuilt
    plan = refresh_plan(graph, "orders")
    assert [(s.name, s.full_refresh) for s in plan] == [("orders", False), ("orders_daily", True)]
    wh = Warehouse(quick(small_fixture), era="e3")
    s = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key="phx_write", env={})
    transport = httpx.ASGITransport(app=create_app(wh))
    result = asyncio.run(refresh_async(s, plan, transport=transport, poll_s=0.05))
    assert result.ok
    modes = {j["saved_query_id"]: j.get("run_mode") for j in wh.list_jobs()[:2]}
    assert modes[VIEW_IDS["orders_daily"]] == "full_refresh"
    assert modes[VIEW_IDS["orders"]] == "incremental"  # the changed view runs as it always does


def test_rerun_keeps_its_old_refresh_names() -> None:
    # "refresh" now names only the incremental crawl; re-running views is "rerun", and the old names
    # stay importable for scripts and notebooks.
    import lineage.ops
    from lineage.operate import rerun

    assert lineage.ops.refresh_plan is rerun.rerun_plan
    assert lineage.ops.refresh_async is rerun.rerun_async
    assert lineage.ops.refresh is rerun.rerun
    assert rerun.RefreshStep is rerun.RerunStep and rerun.RefreshResult is rerun.RerunResult
