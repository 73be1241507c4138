"""Issue 19: the newest PostHog (E3), field by field, in the simulator and the client.

Facts relied on (posthog-api-3.md section 5, checked in PostHog's public source):
- ``latest_history_id`` is ``ActivityLog.id`` (a UUID) and a PATCH compares ``str(edited_history_id)``
  with it (products/data_warehouse/backend/api/saved_query.py, ``update``);
- the saved-query viewset's ``activity`` action has ``required_scopes=["activity_log:read"]`` and
  answers PostHog's activity page (``results``, ``next``, ``previous``, ``total_count``);
- ``system.data_warehouse_tables`` has no SQL name, only ``external_data_source_id`` joining
  ``system.data_warehouse_sources`` (``source_type``, ``prefix``) (posthog/hogql/database/schema/system.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from conftest import VIEW_IDS, make_small_fixture

from lineage.api import Job, PostHogClient, SavedQuery, Table
from lineage.api.models import HealthIssue, ViewActivity
from lineage.config import Settings
from lineage.crawl import CrawlOptions, crawl_async
from lineage.crawl.jobs import compact_job, job_summary
from lineage.posthog import hogql_table_name
from lineage.sim.app import create_app
from lineage.sim.server import serve_in_thread
from lineage.sim.state import SUSPEND_AFTER, Warehouse

SQ = "/api/projects/1/warehouse_saved_queries"
HUBSPOT_ID = "0b000000-0000-4000-8000-0000000000a1"
STRIPE_ID = "0b000000-0000-4000-8000-0000000000a2"
PREFIXED_ID = "0b000000-0000-4000-8000-0000000000a3"


def settings(url: str, key: str) -> Settings:
    return Settings.resolve(host=url, project="1", api_key=key, env={})


def sourced_fixture() -> dict[str, Any]:
    """The small warehouse plus three sourced tables that views read by their hogql_name."""
    fx = make_small_fixture()
    fx["api_keys"].append({"key": "phx_activity", "scopes": ["warehouse_view:read", "activity_log:read"]})
    fx["tables"] += [
        {"id": HUBSPOT_ID, "name": "hubspot_contacts", "kind": "warehouse", "hogql_name": "hubspot.contacts"},
        {"id": STRIPE_ID, "name": "stripe_invoice", "kind": "warehouse", "hogql_name": "stripe.invoice"},
        {
            "id": PREFIXED_ID,
            "name": "eu_stripe_charge",
            "kind": "warehouse",
            "hogql_name": "stripe.eu.charge",
        },
    ]
    fx["views"] += [
        {"name": "leads", "query": "SELECT email FROM hubspot.contacts", "created_by": 1},
        {
            "name": "invoices_paid",
            "query": "SELECT id, amount FROM stripe.invoice WHERE paid",
            "created_by": 1,
        },
        {
            "name": "eu_revenue",
            "query": "SELECT c.amount FROM stripe.eu.charge AS c JOIN invoices_paid AS i ON c.id = i.id",
            "created_by": 1,
        },
    ]
    return fx


# --------------------------------------------------------------------- era and history ids


def test_default_era_is_the_newest_posthog_and_refuses_lineage_to_personal_keys() -> None:
    with serve_in_thread(make_small_fixture()) as server, httpx.Client(base_url=server.url) as http:
        headers = {"Authorization": "Bearer phx_all"}
        for action in ("ancestors", "descendants"):
            r = http.post(f"{SQ}/{VIEW_IDS['orders']}/{action}/", json={}, headers=headers)
            assert r.status_code == 403 and "personal API key" in r.json()["detail"]
        assert http.get(f"{SQ}/{VIEW_IDS['orders']}/dependencies/", headers=headers).status_code == 403
        assert http.get(f"{SQ}/{VIEW_IDS['orders']}/", headers=headers).status_code == 200


def test_sql_edit_through_the_client_succeeds_with_a_uuid_history_id() -> None:
    with serve_in_thread(make_small_fixture()) as server, PostHogClient(settings(server.url, "phx_all")) as c:
        created = c.create_view("edited_twice", "SELECT event FROM events")
        assert created.latest_history_id is not None
        assert len(created.latest_history_id) == 36 and created.latest_history_id.count("-") == 4
        updated = c.update_view(
            created.id, sql="SELECT event, timestamp FROM events", edited_history_id=created.latest_history_id
        )
        assert updated.sql == "SELECT event, timestamp FROM events"
        assert updated.latest_history_id not in (None, created.latest_history_id)
        # a stale id is PostHog's conflict, still
        with pytest.raises(Exception, match="modified by someone else"):
            c.update_view(created.id, sql="SELECT 1", edited_history_id=created.latest_history_id)


def test_older_posthog_integer_history_ids_still_round_trip() -> None:
    with (
        serve_in_thread(make_small_fixture(), era="e2") as server,
        PostHogClient(settings(server.url, "phx_all")) as c,
    ):
        created = c.create_view("old_style", "SELECT event FROM events")
        assert created.latest_history_id is not None and created.latest_history_id.isdigit()
        updated = c.update_view(created.id, sql="SELECT 2", edited_history_id=created.latest_history_id)
        assert updated.sql == "SELECT 2"


# --------------------------------------------------------------------- recorded real-shaped bodies

RECORDED_VIEW = {
    "id": "019a6b1e-1111-7000-8000-000000000001",
    "deleted": False,
    "name": "mrr_incremental",
    "query": {"kind": "HogQLQuery", "query": "SELECT * FROM stripe.invoice"},
    "created_by": {"id": 7, "first_name": "Grace", "email": "grace@example.com"},
    "created_at": "2026-10-01T09:00:00Z",
    "updated_at": "2026-11-20T10:15:00.250000Z",
    "sync_frequency": "1hour",
    "columns": [],
    "status": "Completed",
    "last_run_at": "2026-11-25T23:00:00Z",
    "latest_error": None,
    "latest_history_id": "019a6b1e-2222-7000-8000-00000000abcd",
    "is_materialized": True,
    "is_incremental": True,
    "incremental": {"column": "created_at", "lookback": "1 hour"},
    "suspended": True,
    "sync_frequency_bounds": {"min": "15min", "max": "24hour"},
    "is_test": True,
    "expires_at": "2026-12-01T00:00:00Z",
    "origin": "data_warehouse",
}
RECORDED_TABLE = {
    "id": "019a6b1e-3333-7000-8000-000000000001",
    "name": "hubspot_contacts",
    "hogql_name": "hubspot.contacts",
    "format": "Delta",
    "created_via": "source",
    "external_data_source": {"id": "s1", "source_type": "Hubspot", "prefix": None},
    "columns": [],
}
RECORDED_JOBS = [
    {
        "id": "019a6b1e-4444-7000-8000-000000000003",
        "saved_query_id": RECORDED_VIEW["id"],
        "status": "Completed",
        "run_mode": "incremental",
        "full_refresh_reason": None,
        "rows_materialized": 40,
        "rows_expected": 40,
        "error": None,
        "created_at": "2026-11-25T23:00:00Z",
        "last_run_at": "2026-11-25T23:00:05Z",
        "updated_at": "2026-11-25T23:02:00Z",
        "workflow_id": "materialize-view-x-3",
        "workflow_run_id": "r3",
    },
    {
        "id": "019a6b1e-4444-7000-8000-000000000002",
        "saved_query_id": RECORDED_VIEW["id"],
        "status": "Completed",
        "run_mode": "incremental",
        "rows_materialized": 50,
        "created_at": "2026-11-25T22:00:00Z",
        "last_run_at": "2026-11-25T22:00:05Z",
        "updated_at": "2026-11-25T22:01:00Z",
    },
    {
        "id": "019a6b1e-4444-7000-8000-000000000001",
        "saved_query_id": RECORDED_VIEW["id"],
        "status": "Completed",
        "run_mode": "full_refresh",
        "full_refresh_reason": "upstream_changed",
        "rows_materialized": 90000,
        "created_at": "2026-11-25T21:00:00Z",
        "last_run_at": "2026-11-25T21:00:05Z",
        "updated_at": "2026-11-25T21:30:00Z",
    },
    {
        "id": "019a6b1e-4444-7000-8000-000000000000",
        "saved_query_id": RECORDED_VIEW["id"],
        "status": "Skipped",
        "run_mode": None,
        "rows_materialized": 0,
        "created_at": "2026-11-25T20:00:00Z",
        "last_run_at": None,
        "updated_at": "2026-11-25T20:00:01Z",
    },
]


def test_recorded_newest_bodies_parse() -> None:
    view = SavedQuery.from_api(RECORDED_VIEW)
    assert view.latest_history_id == "019a6b1e-2222-7000-8000-00000000abcd"
    assert view.is_incremental and view.incremental == {"column": "created_at", "lookback": "1 hour"}
    assert view.suspended and view.is_test and view.expires_at is not None
    assert view.updated_at is not None and view.updated_at.microsecond == 250000
    assert view.sync_frequency_bounds == {"min": "15min", "max": "24hour"}
    assert SavedQuery.from_api({**RECORDED_VIEW, "latest_history_id": 41}).latest_history_id == "41"
    table = Table.from_api(RECORDED_TABLE)
    assert table.name == "hubspot_contacts" and table.sql_name == "hubspot.contacts"
    # an older PostHog sends no hogql_name: it is derived from the source's type and prefix
    older = {k: v for k, v in RECORDED_TABLE.items() if k != "hogql_name"}
    assert Table.from_api(older).sql_name == "hubspot.contacts"
    prefixed = {
        **older,
        "name": "eu_stripe_charge",
        "external_data_source": {"source_type": "Stripe", "prefix": "eu_"},
    }
    assert Table.from_api(prefixed).sql_name == "stripe.eu.charge"
    assert Table.from_api({"id": "t", "name": "uploaded_csv"}).sql_name == "uploaded_csv"


def test_job_durations_use_updated_at_and_the_rows_trend_keeps_to_one_mode() -> None:
    jobs = [Job.from_api(j) for j in RECORDED_JOBS]
    assert jobs[0].run_mode == "incremental" and jobs[2].full_refresh_reason == "upstream_changed"
    assert jobs[0].duration_s == 120.0  # created_at -> updated_at, not the 5 s to last_run_at
    summary = job_summary([compact_job(j) for j in jobs])
    assert summary["last_success_at"] == "2026-11-25T23:02:00Z"
    # incremental 50 -> 40 is "down"; the 90,000-row full refresh is not compared with them
    assert summary["rows_trend"] == "down" and summary["rows_last"] == 40
    assert summary["median_duration_s"] == 120.0  # of 120, 60 and 1,800 s (the Skipped row has none)
    assert summary["last_status"] == "Completed"


def recorded_client(routes: dict[str, Any]) -> PostHogClient:
    def handler(request: httpx.Request) -> httpx.Response:
        body = routes.get(request.url.path)
        if body is None:
            return httpx.Response(404, json={"detail": "Not found."})
        return httpx.Response(200, json=body)

    return PostHogClient(
        settings("https://us.posthog.com", "phx_recorded"),
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
    )


def test_client_reads_recorded_activity_and_health_bodies() -> None:
    vid = RECORDED_VIEW["id"]
    activity = {
        "results": [
            {
                "id": "019a6b1e-2222-7000-8000-00000000abcd",
                "user": {"id": 7, "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"},
                "activity": "updated",
                "scope": "DataWarehouseSavedQuery",
                "item_id": vid,
                "is_system": False,
                "detail": {
                    "name": "mrr_incremental",
                    "changes": [
                        {
                            "type": "DataWarehouseSavedQuery",
                            "action": "changed",
                            "field": "query",
                            "before": {"kind": "HogQLQuery", "query": "SELECT 1"},
                            "after": {"kind": "HogQLQuery", "query": "SELECT 2"},
                        }
                    ],
                },
                "created_at": "2026-11-20T10:15:00Z",
            }
        ],
        "next": None,
        "previous": None,
        "total_count": 1,
    }
    health = {
        "results": [
            {
                "id": vid,
                "name": "mrr_incremental",
                "type": "materialized_view",
                "status": "failed",
                "error": "boom",
            }
        ]
    }
    with recorded_client(
        {
            f"/api/projects/1/warehouse_saved_queries/{vid}/activity/": activity,
            "/api/projects/1/data_warehouse/data_health_issues/": health,
        }
    ) as c:
        (entry,) = c.view_activity(vid)
        assert isinstance(entry, ViewActivity) and entry.who == "Grace Hopper" and entry.changes_sql
        assert entry.changes[0].sql_before == "SELECT 1" and entry.changes[0].sql_after == "SELECT 2"
        (issue,) = c.data_health_issues()
        assert isinstance(issue, HealthIssue) and issue.is_materialization and issue.error == "boom"


# --------------------------------------------------------------------- sourced tables


def test_hogql_table_names() -> None:
    assert hogql_table_name("hubspot_contacts", "Hubspot") == "hubspot.contacts"
    assert hogql_table_name("stripe_charge", "Stripe") == "stripe.charge"
    assert hogql_table_name("myprefix_stripe_charge", "Stripe", "myprefix_") == "stripe.myprefix.charge"
    assert hogql_table_name("Orders", None) == "Orders"


def test_simulator_serves_sourced_tables_by_hogql_name() -> None:
    wh = Warehouse(sourced_fixture())
    by_name = {t["name"]: t for t in wh.list_tables()}
    assert by_name["hubspot_contacts"]["hogql_name"] == "hubspot.contacts"
    assert by_name["eu_stripe_charge"]["external_data_source"]["prefix"] == "eu_"
    views = {v["name"]: v["id"] for v in wh.list_views()}
    # SQL that names the table by its hogql_name is accepted and read as a parent
    created, _ = wh.create_view(
        {"name": "more_leads", "query": {"kind": "HogQLQuery", "query": "SELECT * FROM hubspot.contacts"}},
        user_id=1,
    )
    assert created["columns"] == [] or isinstance(created["columns"], list)
    sources = wh.system_records("data_warehouse_sources")
    assert {(s["source_type"], s["prefix"]) for s in sources} >= {("Hubspot", None), ("Stripe", "eu_")}
    assert views["leads"] in {v["id"] for v in wh.list_views()}


@pytest.mark.parametrize("edges", ["sql", "system"])
def test_a_crawl_links_every_view_to_its_sourced_table(edges: str) -> None:
    wh = Warehouse(sourced_fixture())
    transport = httpx.ASGITransport(app=create_app(wh, rate_limit=False))
    result = asyncio.run(
        crawl_async(
            settings("http://127.0.0.1:1", "phx_all"),
            CrawlOptions(strategy="all", edges=edges),
            transport=transport,
        )
    )
    g = result.graph
    assert not [n for n, a in g.nx.nodes(data=True) if a.get("kind") == "unknown"]
    ids = {a["name"]: n for n, a in g.nx.nodes(data=True)}
    assert g.nx.has_edge(HUBSPOT_ID, ids["leads"])
    assert g.nx.has_edge(STRIPE_ID, ids["invoices_paid"])
    assert g.nx.has_edge(PREFIXED_ID, ids["eu_revenue"]) and g.nx.has_edge(
        ids["invoices_paid"], ids["eu_revenue"]
    )
    assert g.node(HUBSPOT_ID)["hogql_name"] == "hubspot.contacts"
    assert g.resolve("stripe.eu.charge") == PREFIXED_ID  # selectors accept the SQL name too


# --------------------------------------------------------------------- incremental, suspension, activity


def incremental_fixture() -> dict[str, Any]:
    fx = sourced_fixture()
    for v in fx["views"]:
        if v["name"] == "invoices_paid":
            v.update(
                is_materialized=True,
                sync_frequency="1hour",
                is_incremental=True,
                run_seconds=1,
                incremental={"column": "created_at"},
            )
        if v["name"] == "leads":
            v.update(is_materialized=True, sync_frequency="24hour", fail_runs=True, run_seconds=1)
    return fx


def test_incremental_runs_carry_their_mode_and_full_refresh_reason() -> None:
    wh = Warehouse(incremental_fixture())
    vid = next(v["id"] for v in wh.list_views() if v["name"] == "invoices_paid")
    assert wh.get_view(vid)["is_incremental"] is True
    for body in (None, None, {"full_refresh": True}):
        wh.run(vid, body)
        wh.clock.advance(5)
    jobs = wh.list_jobs(saved_query_id=vid)
    assert [(j["run_mode"], j["full_refresh_reason"]) for j in jobs] == [
        ("full_refresh", "requested"),
        ("incremental", None),
        ("full_refresh", "first_run"),
    ]
    assert all(j["updated_at"] is not None for j in jobs)
    assert jobs[1]["rows_materialized"] < jobs[0]["rows_materialized"]


def test_repeated_failures_suspend_a_view() -> None:
    wh = Warehouse(incremental_fixture())
    vid = next(v["id"] for v in wh.list_views() if v["name"] == "leads")
    for _ in range(SUSPEND_AFTER - 1):
        wh.run(vid, None)
        wh.clock.advance(5)
    assert wh.get_view(vid)["suspended"] is False
    wh.run(vid, None)
    wh.clock.advance(5)
    assert wh.get_view(vid)["suspended"] is True
    health = wh.data_health_issues()
    assert [(h["name"], h["status"]) for h in health] == [("leads", "suspended")]


def test_activity_endpoint_needs_its_scope_and_names_the_editor() -> None:
    vid = VIEW_IDS["constant"]
    with serve_in_thread(sourced_fixture()) as server, httpx.Client(base_url=server.url) as http:
        view = http.get(f"{SQ}/{vid}/", headers={"Authorization": "Bearer phx_all"}).json()
        body = {
            "query": {"kind": "HogQLQuery", "query": "SELECT 2"},
            "edited_history_id": view["latest_history_id"],
        }
        assert (
            http.patch(f"{SQ}/{vid}/", json=body, headers={"Authorization": "Bearer phx_all"}).status_code
            == 200
        )
        refused = http.get(f"{SQ}/{vid}/activity/", headers={"Authorization": "Bearer phx_read"})
        assert refused.status_code == 403 and "activity_log:read" in refused.json()["detail"]
        page = http.get(f"{SQ}/{vid}/activity/", headers={"Authorization": "Bearer phx_activity"}).json()
        assert page["total_count"] == 1 and page["next"] is None
        (entry,) = page["results"]
        assert entry["user"]["email"] == "ada@example.com" and entry["activity"] == "updated"
        assert entry["detail"]["changes"][0]["before"]["query"] == "SELECT 1"
        assert entry["detail"]["changes"][0]["after"]["query"] == "SELECT 2"
        # the newest PostHog has check_incremental (not a 405)
        r = http.post(f"{SQ}/{vid}/check_incremental/", json={}, headers={"Authorization": "Bearer phx_all"})
        assert r.status_code == 200 and r.json()["is_incremental_compatible"] is False


def test_completed_activity_kind_outcome_and_origin() -> None:
    fx = incremental_fixture()
    fx["external_jobs"] = [
        {
            "source_type": "Hubspot",
            "name": "contacts",
            "status": "Failed",
            "created_at": "2026-11-25T00:00:00Z",
        },
        {
            "source_type": "Stripe",
            "name": "invoice",
            "status": "Completed",
            "created_at": "2026-11-25T01:00:00Z",
        },
    ]
    wh = Warehouse(fx)
    leads = next(v["id"] for v in wh.list_views() if v["name"] == "leads")
    wh.run(leads, None)
    wh.clock.advance(5)
    failed = wh.completed_activity(cutoff_days=30, outcome="failed")
    assert {(r["name"], r["origin"]) for r in failed} == {
        ("contacts", None),
        ("leads", "data_warehouse"),
        ("orders_daily", "data_warehouse"),  # the fixture's failed job
    }
    only_views = wh.completed_activity(cutoff_days=30, kind="materialization", outcome="failed")
    assert sorted(r["name"] for r in only_views) == ["leads", "orders_daily"]
    done = wh.completed_activity(cutoff_days=30, kind="sync")
    assert [(r["name"], r["origin"]) for r in done] == [("invoice", None)]


def test_system_jobs_carry_run_mode_and_updated_at() -> None:
    wh = Warehouse(incremental_fixture())
    rows = wh.system_records("data_modeling_jobs")
    assert rows and all("run_mode" in r and r["updated_at"] is not None for r in rows)
    assert json.dumps([r["id"] for r in rows])  # plain values, JSON-able ids


# --------------------------------------------------------------------- shown in check, diagrams, impact, diff


def test_crawl_with_activity_feeds_impact_diff_check_and_diagrams() -> None:
    from lineage.analysis import check, impact
    from lineage.analysis.diff import diff
    from lineage.render.common import build_scene
    from lineage.report import render_impact

    fx = incremental_fixture()
    for v in fx["views"]:
        if v["name"] == "eu_revenue":
            v.update(is_test=True, expires_at="2026-12-01T00:00:00Z")
    fx["users"].append({"id": 2, "first_name": "Linus", "email": "linus@example.com"})
    fx["api_keys"].append({"key": "phx_linus", "scopes": ["*"], "user": 2})
    with serve_in_thread(fx) as server:
        s_all = settings(server.url, "phx_all")
        before = asyncio.run(crawl_async(s_all, CrawlOptions(strategy="all", with_sql=True, activity=True)))
        with PostHogClient(settings(server.url, "phx_linus")) as c:
            view = c.get_view(VIEW_IDS["orders"])
            c.update_view(view.id, sql="SELECT 2 AS n", edited_history_id=view.latest_history_id)
            leads = next(v for v in c.list_views() if v.name == "leads")
            for _ in range(SUSPEND_AFTER):
                c.run(leads.id)
                httpx.post(f"{server.url}/_sim/clock", json={"advance": 5}).raise_for_status()
        after = asyncio.run(crawl_async(s_all, CrawlOptions(strategy="all", with_sql=True, activity=True)))
        refused = asyncio.run(
            crawl_async(
                settings(server.url, "phx_read"), CrawlOptions(strategy="all", edges="sql", activity=True)
            )
        )
    assert any("activity_log:read" in note for note in refused.notes)
    g = after.graph
    orders = g.node(VIEW_IDS["orders"])
    assert orders["last_editor"] == "Linus" and orders["last_edited_at"]
    report = impact(g, "orders")
    assert report.target.last_editor == "Linus"
    assert "last SQL change: by Linus" in render_impact(report, "md")
    changes = diff(before.graph, g).sql_changed
    assert [(c.name, c.changed_by) for c in changes] == [("orders", "Linus")]
    assert g.node(g.resolve("leads"))["suspended"] is True
    findings = check(g).findings
    assert any(f.rule == "suspended" and f.node == "leads" for f in findings)
    assert impact(g, "leads").target.suspended
    labels = {n.node_id: n.label for n in build_scene(g.nx).nodes if n.node_id is not None}
    assert labels[g.resolve("eu_revenue")].endswith("[test]")


def test_auto_edges_fall_back_to_sql_when_the_newest_posthog_refuses_lineage() -> None:
    fx = sourced_fixture()
    wh = Warehouse(fx)  # the default era: E3
    transport = httpx.ASGITransport(app=create_app(wh, rate_limit=False))
    result = asyncio.run(
        crawl_async(
            settings("http://127.0.0.1:1", "phx_read"), CrawlOptions(strategy="all"), transport=transport
        )
    )
    assert result.edge_source == "sql"
    assert any("refuse this key" in note for note in result.notes)
    g = result.graph
    assert g.nx.has_edge(HUBSPOT_ID, g.resolve("leads"))
    assert not [n for n, a in g.nx.nodes(data=True) if a.get("kind") == "unknown"]


def test_recent_jobs_include_the_dags_skipped_rows() -> None:
    fx = make_small_fixture()
    fx["jobs"].append(
        {"view": "orders", "status": "Skipped", "created_at": "2026-11-25T00:00:00Z", "workflow_id": None}
    )
    recent = {j["saved_query_id"]: j["status"] for j in Warehouse(fx).recent_jobs()}
    assert recent[VIEW_IDS["orders"]] == "Skipped"
    older = {j["saved_query_id"]: j["status"] for j in Warehouse(fx, era="e2").recent_jobs()}
    assert older[VIEW_IDS["orders"]] == "Completed"


def test_column_impact_follows_a_column_of_a_prefixed_sourced_table() -> None:
    from lineage.analysis import column_impact

    wh = Warehouse(sourced_fixture())
    transport = httpx.ASGITransport(app=create_app(wh, rate_limit=False))
    result = asyncio.run(
        crawl_async(
            settings("http://127.0.0.1:1", "phx_all"),
            CrawlOptions(strategy="all", edges="system"),
            transport=transport,
        )
    )
    found = column_impact(result.graph, "stripe.eu.charge", "amount")
    assert [(d.view, d.column) for d in found.derived] == [("eu_revenue", "amount")]
    assert not found.unknown


def test_refresh_works_against_the_newest_posthog() -> None:
    """`lineage refresh` runs and polls jobs only: no lineage endpoint, so E3 serves it."""
    from lineage.ops import refresh_async, refresh_plan

    fx = make_small_fixture()
    for view in fx["views"]:
        view["run_seconds"] = 0.05
    wh = Warehouse(fx)
    transport = httpx.ASGITransport(app=create_app(wh))
    snap = asyncio.run(
        crawl_async(
            settings("http://127.0.0.1:1", "phx_read"), CrawlOptions(strategy="all"), transport=transport
        )
    ).graph
    assert snap.nx.graph["edge_source"] == "sql"
    result = asyncio.run(
        refresh_async(
            settings("http://127.0.0.1:1", "phx_write"),
            refresh_plan(snap, "orders"),
            transport=httpx.ASGITransport(app=create_app(wh)),
            poll_s=0.05,
        )
    )
    assert result.ok and [(s.name, s.status) for s in result.steps] == [
        ("orders", "Completed"),
        ("orders_daily", "Completed"),
    ]
    modes = {j["saved_query_id"]: j["run_mode"] for j in wh.list_jobs()[:2]}
    assert modes == {VIEW_IDS["orders"]: "full_refresh", VIEW_IDS["orders_daily"]: "full_refresh"}


def test_one_and_five_minute_cadences_are_stored_as_fifteen() -> None:
    with serve_in_thread(make_small_fixture()) as server, PostHogClient(settings(server.url, "phx_all")) as c:
        for asked in ("1min", "5min"):
            assert c.update_view(VIEW_IDS["orders_daily"], sync_frequency=asked).sync_frequency == "15min"


def test_diagram_formats_mark_suspended_and_test_views() -> None:
    import networkx as nx

    from lineage.graph import LineageGraph
    from lineage.render import to_dot, to_mermaid

    g = nx.DiGraph()
    g.add_node("a", name="paid<x>", kind="matview", is_materialized=True, suspended=True)
    g.add_node("b", name="scratch", kind="view", is_test=True, expires_at="2026-12-01T00:00:00Z")
    g.add_edge("a", "b")
    dot = to_dot(LineageGraph(g))
    assert 'label="paid<x> [suspended]"' in dot and 'label="scratch [test]"' in dot
    assert "expires 2026-12-01T00:00:00Z" in dot
    mermaid = to_mermaid(LineageGraph(g))
    assert "#91;suspended#93;" in mermaid and "paid#60;x#62;" in mermaid


def test_system_job_rows_name_their_view_as_posthog_does() -> None:
    row = {"id": "j1", "data_modeling_view_id": VIEW_IDS["orders"], "status": "Completed"}
    assert Job.from_api(row).saved_query_id == VIEW_IDS["orders"]
    records = Warehouse(make_small_fixture()).system_records("data_modeling_jobs")
    assert all(r["data_modeling_view_id"] == r["saved_query_id"] for r in records)
