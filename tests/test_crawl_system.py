"""`crawl --edges system`: the whole warehouse from a handful of HogQL queries over system tables."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from conftest import VIEW_IDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_crawl import Counting, random_graph_doc

from lineage.config import Settings
from lineage.crawl import CrawlOptions, CrawlResult, crawl_async
from lineage.devdata import real_graphs_dir
from lineage.errors import MissingScopeError
from lineage.graph import LineageGraph
from lineage.sim.app import create_app
from lineage.sim.demo import load_demo_fixture
from lineage.sim.generate import fixture_from_graph
from lineage.sim.state import Warehouse

REAL = real_graphs_dir()


def crawl_on(wh: Warehouse, options: CrawlOptions, key: str) -> tuple[CrawlResult, int]:
    transport = Counting(httpx.ASGITransport(app=create_app(wh, rate_limit=False)))
    settings = Settings.resolve(host="http://127.0.0.1:1", project=str(wh.team_id), api_key=key, env={})
    return asyncio.run(crawl_async(settings, options, transport=transport)), transport.count


def shape(graph: LineageGraph) -> tuple[list[tuple[str, str]], dict[str, tuple[str, str]]]:
    """Edges, and each node's name and kind (a ghost by its id: only SQL can tell its old name)."""
    g = graph.nx
    names = {n: (n if a.get("ghost") else a["name"], a["kind"]) for n, a in g.nodes(data=True)}
    return sorted(g.edges), names


def fixtures() -> list[tuple[str, dict[str, Any], str]]:
    from conftest import make_small_fixture

    out = [("small", make_small_fixture(), "phx_all"), ("demo", load_demo_fixture(), "phx_demo_read")]
    for name in ("dbt_jaffle_shop", "posthog_revenue_analytics"):
        out.append(
            (
                name,
                fixture_from_graph(json.loads((REAL / f"{name}.json").read_text()), seed=5),
                "phx_demo_read",
            )
        )
    for seed in (11, 12):
        out.append(
            (f"random{seed}", fixture_from_graph(random_graph_doc(seed, n=60), seed=seed), "phx_demo_read")
        )
    return out


@pytest.mark.parametrize(("name", "fixture", "key"), fixtures(), ids=[f[0] for f in fixtures()])
def test_system_edges_equal_api_edges(name: str, fixture: dict[str, Any], key: str) -> None:
    api, _ = crawl_on(Warehouse(fixture, era="e2"), CrawlOptions(strategy="all", edges="api"), key)
    system, requests = crawl_on(
        Warehouse(fixture, era="e2"), CrawlOptions(strategy="all", edges="system"), key
    )
    assert system.edge_source == "system"
    assert shape(system.graph) == shape(api.graph)
    assert requests <= 10  # views, tables, jobs, and the REST list for owners and folders
    for node, attrs in api.graph.nx.nodes(data=True):
        mine = system.graph.nx.nodes[node]
        for key in ("created_by", "folder", "sync_frequency", "is_materialized", "status", "source_type"):
            assert mine.get(key) == attrs.get(key), (node, key)
    deleted = {v["id"]: v["name"] for v in fixture["views"] if v.get("deleted")}
    for node, attrs in system.graph.nx.nodes(data=True):
        if attrs.get("ghost"):
            assert attrs["name"] == deleted[node]  # PostHog keeps deleted_name
    # the SQL comes with the views, so column impact works on a system crawl
    for node, attrs in system.graph.nx.nodes(data=True):
        if attrs["kind"] in {"view", "matview"}:
            assert attrs.get("sql"), node


def test_system_crawl_of_a_large_warehouse_is_a_handful_of_requests() -> None:
    fixture = fixture_from_graph(json.loads((REAL / "dbt_tuva.json").read_text()), seed=1)
    result, requests = crawl_on(
        Warehouse(fixture, era="e2"),
        CrawlOptions(strategy="all", consumers=False, edges="system"),
        "phx_demo_read",
    )
    assert requests == 3 + 2  # views, tables, jobs; two pages of the REST list for owners and folders
    assert result.graph.nx.number_of_edges() == 2879
    owners = {
        a.get("created_by") for _, a in result.graph.nx.nodes(data=True) if a["kind"] in {"view", "matview"}
    }
    assert None not in owners


def test_beyond_the_request_budget_owners_are_skipped_and_said(
    small_fixture: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import lineage.crawl.system

    monkeypatch.setattr(lineage.crawl.system, "REST_LIST_PAGES", 0)
    result, requests = crawl_on(
        Warehouse(small_fixture, era="e2"),
        CrawlOptions(strategy="all", consumers=False, edges="system"),
        "phx_all",
    )
    assert requests == 4  # views, tables, jobs, folders
    assert any("owners are not read" in n for n in result.notes)
    g = result.graph.nx
    assert g.nodes[VIEW_IDS["orders"]]["folder"] == "Revenue"  # folders still named
    assert g.nodes[VIEW_IDS["orders"]]["created_by"] is None


def test_auto_prefers_system_and_falls_back_without_query_scope(small_fixture: dict[str, Any]) -> None:
    fast, _ = crawl_on(Warehouse(small_fixture, era="e2"), CrawlOptions(strategy="all"), "phx_all")
    assert fast.edge_source == "system"
    slow, _ = crawl_on(Warehouse(small_fixture, era="e2"), CrawlOptions(strategy="all"), "phx_read")
    assert slow.edge_source == "api"
    assert any("query API is not usable" in n and "query:read" in n for n in slow.notes)
    assert shape(fast.graph) == shape(slow.graph)
    with pytest.raises(MissingScopeError, match="query:read"):
        crawl_on(Warehouse(small_fixture, era="e2"), CrawlOptions(strategy="all", edges="system"), "phx_read")


def test_refresh_reads_only_what_changed_and_equals_a_full_crawl(small_fixture: dict[str, Any]) -> None:
    wh = Warehouse(small_fixture, era="e2")
    old, _ = crawl_on(wh, CrawlOptions(strategy="all", consumers=False, edges="system"), "phx_all")
    wh.clock.advance(3600)
    # a handful of edits through the API: a new parent, a rename, a deletion, a new view
    report = wh.get_view(VIEW_IDS["revenue_report"])
    wh.update_view(
        VIEW_IDS["revenue_report"],
        {
            "query": {
                "kind": "HogQLQuery",
                "query": "SELECT r.n FROM orders_daily AS r JOIN events AS e ON 1 = 1",
            },
            "edited_history_id": report["latest_history_id"],
        },
    )
    wh.update_view(VIEW_IDS["event_counts"], {"name": "event_totals"})
    wh.delete_view(VIEW_IDS["constant"])
    wh.create_view(
        {"name": "ai_daily", "query": {"kind": "HogQLQuery", "query": "SELECT n FROM ai_usage"}}, user_id=1
    )
    wh.clock.advance(60)
    refreshed, requests = crawl_on(
        wh, CrawlOptions(strategy="all", consumers=False, edges="system", refresh=old.graph), "phx_all"
    )
    fresh, _ = crawl_on(wh, CrawlOptions(strategy="all", consumers=False, edges="system"), "phx_all")
    assert requests <= 5
    assert shape(refreshed.graph) == shape(fresh.graph)
    g = refreshed.graph.nx
    assert ("events", VIEW_IDS["revenue_report"]) in g.edges
    assert g.nodes[VIEW_IDS["event_counts"]]["name"] == "event_totals"
    assert VIEW_IDS["constant"] not in g
    assert "ai_daily" in {a["name"] for _, a in g.nodes(data=True)}
    for node in g.nodes:
        assert g.nodes[node].get("sql") == fresh.graph.nx.nodes[node].get("sql")


def test_verify_sample_reports_lineage_that_disagrees_with_the_sql(small_fixture: dict[str, Any]) -> None:
    # PostHog's stored lineage says revenue_report reads orders; its SQL says orders_daily.
    for view in small_fixture["views"]:
        if view["name"] == "revenue_report":
            view["parents"] = ["orders"]
    result, _ = crawl_on(
        Warehouse(small_fixture, era="e2"),
        CrawlOptions(strategy="all", edges="system", verify_sample=100),
        "phx_all",
    )
    assert len(result.verify_mismatches) == 1
    assert result.verify_mismatches[0].startswith("revenue_report:")
    assert VIEW_IDS["orders"] in result.verify_mismatches[0]


def test_focused_crawl_over_system_tables(small_fixture: dict[str, Any]) -> None:
    opts = CrawlOptions(strategy="select", consumers=False, select="orders+1", edges="system")
    result, requests = crawl_on(Warehouse(small_fixture, era="e2"), opts, "phx_all")
    g = result.graph.nx
    assert set(g.nodes) == {VIEW_IDS["orders"], VIEW_IDS["orders_daily"]}
    assert g.nodes[VIEW_IDS["orders_daily"]]["more_downstream"] == 1
    assert g.nodes[VIEW_IDS["orders_daily"]]["more_upstream"] == 1
    assert requests <= 5


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=10**6),
    n=st.integers(min_value=1, max_value=30),
    source=st.sampled_from(["api", "sql", "system"]),
)
def test_any_generated_dag_crawls_to_itself(seed: int, n: int, source: str) -> None:
    """The law: for any DAG the simulator serves, a full crawl from any edge source rebuilds it."""
    from lineage.sim.generate import graph_of_fixture

    fixture = fixture_from_graph(random_graph_doc(seed, n=n), seed=seed % 97)
    truth = graph_of_fixture(fixture)
    truth.remove_nodes_from(
        [v for v, a in truth.nodes(data=True) if a["kind"] == "table" and truth.degree(v) == 0]
    )
    opts = CrawlOptions(strategy="all", edges=source, jobs=False)  # type: ignore[arg-type]
    result, _ = crawl_on(Warehouse(fixture, era="e2"), opts, "phx_demo_read")
    assert sorted(result.graph.nx.edges) == sorted(truth.edges)
    assert {v: a["kind"] for v, a in result.graph.nx.nodes(data=True)} == {
        v: a["kind"] for v, a in truth.nodes(data=True)
    }


def test_refresh_from_another_project_is_refused(small_fixture: dict[str, Any]) -> None:
    from lineage.errors import InputError

    old, _ = crawl_on(
        Warehouse(small_fixture, era="e2"), CrawlOptions(strategy="all", edges="system"), "phx_all"
    )
    old.graph.nx.graph["project"] = "999"
    with pytest.raises(InputError, match=r"crawled from .* project 999"):
        crawl_on(
            Warehouse(small_fixture, era="e2"),
            CrawlOptions(strategy="all", edges="system", refresh=old.graph),
            "phx_all",
        )


def test_refresh_from_a_focused_snapshot_reads_every_view(small_fixture: dict[str, Any]) -> None:
    wh = Warehouse(small_fixture, era="e2")
    part, _ = crawl_on(wh, CrawlOptions(strategy="select", select="orders", edges="system"), "phx_all")
    refreshed, _ = crawl_on(wh, CrawlOptions(strategy="all", edges="system", refresh=part.graph), "phx_all")
    fresh, _ = crawl_on(wh, CrawlOptions(strategy="all", edges="system"), "phx_all")
    assert shape(refreshed.graph) == shape(fresh.graph)
    assert any("lacks" in n for n in refreshed.notes)


def test_sql_refresh_rereads_an_edited_view(small_fixture: dict[str, Any]) -> None:
    from test_crawl import settings as read_settings

    wh = Warehouse(small_fixture, era="e2")

    def crawl_sql(refresh: LineageGraph | None = None) -> CrawlResult:
        opts = CrawlOptions(strategy="all", edges="sql", refresh=refresh)
        app = create_app(wh, rate_limit=False)
        return asyncio.run(crawl_async(read_settings(), opts, transport=httpx.ASGITransport(app=app)))

    old = crawl_sql()
    view = wh.get_view(VIEW_IDS["orders"])
    body = {"query": {"kind": "HogQLQuery", "query": "SELECT id, amount FROM events"}}
    wh.update_view(VIEW_IDS["orders"], {**body, "edited_history_id": view["latest_history_id"]})
    new = crawl_sql(refresh=old.graph)
    assert ("events", VIEW_IDS["orders"]) in new.graph.nx.edges
    assert new.graph.nx.nodes[VIEW_IDS["orders"]]["sql"] == "SELECT id, amount FROM events"


def test_focused_counts_are_exact_or_unknown_never_wrong(small_fixture: dict[str, Any]) -> None:
    for edges, want in (("system", 1), ("sql", 1), ("api", None)):
        opts = CrawlOptions(strategy="select", select="2+orders_daily", edges=edges)  # type: ignore[arg-type]
        result, _ = crawl_on(Warehouse(small_fixture, era="e2"), opts, "phx_all")
        node = result.graph.nx.nodes[VIEW_IDS["orders_daily"]]
        assert node["downstream_count"] == want, edges  # revenue_report reads it, outside the focus
        assert node["upstream_count"] == 2


def test_a_hidden_endpoint_view_is_crawled_with_its_own_parents(small_fixture: dict[str, Any]) -> None:
    ep_id = "0a000000-0000-4000-8000-0000000000e1"
    reader_id = "0a000000-0000-4000-8000-0000000000e2"
    small_fixture["views"] += [
        {
            "id": ep_id,
            "name": "ep",
            "query": "SELECT event FROM events",
            "origin": "endpoint",
            "created_at": "2026-02-01T00:00:00Z",
            "created_by": 1,
        },
        {
            "id": reader_id,
            "name": "reads_ep",
            "query": "SELECT event FROM ep",
            "created_at": "2026-02-02T00:00:00Z",
            "created_by": 1,
        },
    ]
    graphs = {}
    for edges in ("api", "system"):
        opts = CrawlOptions(strategy="all", edges=edges)  # type: ignore[arg-type]
        result, _ = crawl_on(Warehouse(small_fixture, era="e2"), opts, "phx_all")
        g = result.graph.nx
        assert g.nodes[ep_id]["kind"] == "view" and g.nodes[ep_id]["name"] == "ep", edges
        assert ("events", ep_id) in g.edges and (ep_id, reader_id) in g.edges, edges
        assert g.nodes[ep_id]["upstream_count"] == 1, edges
        graphs[edges] = shape(result.graph)
    assert graphs["api"] == graphs["system"]
