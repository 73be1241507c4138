"""Crawling consumers: over the system tables (few requests), over REST, with keys of different
scopes and object access, focused, resumed, between workspace changes, and against a generator's
truth on random workspaces (interfaces.md section 6)."""

# ruff: noqa: S608  (HogQL built from the tests' own names, never from input)
from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.api.consumer_models import Alert, Dashboard, Endpoint, Insight, Notebook
from lineage.config import Settings
from lineage.crawl import CrawlOptions, CrawlResult, crawl_async
from lineage.errors import ProtocolError
from lineage.graph import CONSUMER_KINDS, LineageGraph
from lineage.sim.app import create_app
from lineage.sim.demo import load_demo_fixture
from lineage.sim.state import Warehouse

ALL_READ = [
    "warehouse_view:read",
    "warehouse_table:read",
    "insight:read",
    "dashboard:read",
    "notebook:read",
    "endpoint:read",
    "alert:read",
]


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.count = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return await self.inner.handle_async_request(request)


def crawl_on(wh: Warehouse, options: CrawlOptions, key: str) -> tuple[CrawlResult, int]:
    transport = Counting(httpx.ASGITransport(app=create_app(wh, rate_limit=False)))
    conf = Settings.resolve(host="https://ph.example", project=str(wh.team_id), api_key=key, env={})
    return asyncio.run(crawl_async(conf, options, transport=transport)), transport.count


def consumer_edges(graph: LineageGraph) -> set[tuple[str, str]]:
    g = graph.nx
    return {
        (g.nodes[u]["name"] if ":" not in u else u, v)
        for u, v in g.edges
        if g.nodes[v]["kind"] in CONSUMER_KINDS
    }


def demo(keys: list[dict[str, Any]] | None = None) -> Warehouse:
    fx = load_demo_fixture()
    fx["api_keys"] += keys or []
    return Warehouse(fx, era="e3")


DEMO_EDGES = {
    ("mrr_by_month", "insight:mRrMnTh1"),
    ("mrr_movements", "insight:mRrMoVe2"),
    ("churn_monthly", "insight:cHuRnRt3"),
    ("revenue_reconciliation", "insight:rEcOnGp4"),
    ("finance_kpis", "insight:bOaRdKp5"),
    ("marketing_roi", "insight:mKtRoAs6"),
    ("insight:mRrMnTh1", "dashboard:11"),
    ("insight:mRrMoVe2", "dashboard:11"),
    ("insight:cHuRnRt3", "dashboard:11"),
    ("insight:rEcOnGp4", "dashboard:11"),
    ("insight:mKtRoAs6", "dashboard:12"),
    ("insight:cHuRnRt3", "notebook:cHuRnDg1"),
    ("churn_monthly", "notebook:cHuRnDg1"),
    ("ltv_monthly", "notebook:cHuRnDg1"),
    ("finance_kpis", "endpoint:mrr_api"),
}


def test_demo_over_system_tables_in_at_most_ten_requests() -> None:
    result, requests = crawl_on(demo(), CrawlOptions(edges="system"), "phx_demo_read")
    assert requests <= 10
    assert result.graph.nx.graph["consumers_not_read"] == []
    edges = consumer_edges(result.graph)
    alerts = {e for e in edges if e[1].startswith("alert:")}
    assert edges - alerts == DEMO_EDGES
    assert {u for u, _ in alerts} == {"insight:rEcOnGp4"}  # the failing view's insight has the alert
    g = result.graph.nx
    # the demo's broken dashboard: failing view -> insight -> Finance dashboard
    failing = next(n for n, a in g.nodes(data=True) if a["name"] == "revenue_reconciliation")
    assert g.nodes[failing]["status"] == "Failed"
    assert g.has_edge(failing, "insight:rEcOnGp4") and g.has_edge("insight:rEcOnGp4", "dashboard:11")
    insight = g.nodes["insight:mRrMoVe2"]
    assert insight["url"] == "https://ph.example/project/1/insights/mRrMoVe2"
    assert insight["owner"] == "Ada Lovelace" and insight["short_id"] == "mRrMoVe2"
    assert insight["deleted"] is False
    assert insight["hogql"] == [
        "SELECT month, new_mrr, expansion_mrr, -contraction_mrr AS contraction FROM mrr_movements "
        "WHERE 1 ORDER BY month"
    ]
    assert g.nodes["dashboard:11"]["url"] == "https://ph.example/project/1/dashboard/11"
    assert g.nodes["notebook:cHuRnDg1"]["url"] == "https://ph.example/project/1/notebooks/cHuRnDg1"
    assert g.nodes["endpoint:mrr_api"]["url"] == "https://ph.example/project/1/endpoints/mrr_api"
    assert "hogql" not in g.nodes["insight:cHuRnRt3"]  # a warehouse series runs no HogQL of its own
    # reading only events, deleted, or on a deleted dashboard: not consumers of the warehouse
    assert "insight:pGvWeEk7" not in g and "insight:oLdMrRc8" not in g and "dashboard:13" not in g


def test_rest_crawl_reads_the_same_consumers() -> None:
    wh = demo([{"key": "k_rest", "scopes": ALL_READ}])
    result, _ = crawl_on(wh, CrawlOptions(edges="auto"), "k_rest")
    assert result.edge_source != "system"
    assert result.graph.nx.graph["consumers_not_read"] == []
    system, _ = crawl_on(demo(), CrawlOptions(edges="system"), "phx_demo_read")
    assert consumer_edges(result.graph) == consumer_edges(system.graph)
    g = result.graph.nx
    assert g.nodes["dashboard:11"]["owner"] == "Ada Lovelace"  # REST carries created_by


def test_kinds_a_key_cannot_read_are_recorded() -> None:
    keys = [
        {"key": "k_insights", "scopes": ["warehouse_view:read", "warehouse_table:read", "insight:read"]},
        {"key": "k_nodash", "scopes": ["*"], "access": {"dashboard": "none", "notebook": "none"}},
        {"key": "k_views", "scopes": ["warehouse_view:read"]},
    ]
    wh = demo(keys)
    got, _ = crawl_on(wh, CrawlOptions(), "k_insights")
    assert got.graph.nx.graph["consumers_not_read"] == ["alert", "dashboard", "endpoint", "notebook"]
    assert any(n.startswith("insight:") for n in got.graph.nx)
    assert not any(n.startswith(("dashboard:", "notebook:")) for n in got.graph.nx)
    assert any("dashboards: not visible to this key" in note for note in got.notes)
    got, requests = crawl_on(wh, CrawlOptions(), "k_nodash")
    assert got.edge_source == "system" and requests <= 10
    assert got.graph.nx.graph["consumers_not_read"] == ["dashboard", "notebook"]
    assert any(n.startswith("alert:") for n in got.graph.nx)
    got, _ = crawl_on(wh, CrawlOptions(), "k_views")
    assert got.graph.nx.graph["consumers_not_read"] == list(sorted(CONSUMER_KINDS))


def test_no_consumers_reads_none_and_says_nothing() -> None:
    with_them, more = crawl_on(demo(), CrawlOptions(edges="system"), "phx_demo_read")
    without, fewer = crawl_on(demo(), CrawlOptions(edges="system", consumers=False), "phx_demo_read")
    assert fewer < more
    assert "consumers_not_read" not in without.graph.nx.graph
    assert not any(a["kind"] in CONSUMER_KINDS for _, a in without.graph.nx.nodes(data=True))
    view_part = with_them.graph.subgraph(
        n for n, a in with_them.graph.nx.nodes(data=True) if a["kind"] not in CONSUMER_KINDS
    )
    assert sorted(view_part.nx.edges) == sorted(without.graph.nx.edges)


def test_focused_crawl_keeps_the_consumers_of_its_views() -> None:
    result, _ = crawl_on(
        demo(),
        CrawlOptions(strategy="select", select="mrr_by_month", upstream=0, downstream=0, edges="system"),
        "phx_demo_read",
    )
    kinds = {n: a["kind"] for n, a in result.graph.nx.nodes(data=True)}
    assert {n for n, k in kinds.items() if k in CONSUMER_KINDS} == {"insight:mRrMnTh1", "dashboard:11"}


def test_snapshot_round_trip_and_old_snapshots_load(tmp_path: Path) -> None:
    result, _ = crawl_on(demo(), CrawlOptions(edges="system"), "phx_demo_read")
    path = result.graph.save(tmp_path / "s.json")
    again = LineageGraph.load(path)
    assert again.nx.graph["consumers_not_read"] == []
    assert again.nx.nodes["insight:rEcOnGp4"]["kind"] == "insight"
    old = json.loads(path.read_text())
    old["nodes"] = [n for n in old["nodes"] if n["kind"] not in CONSUMER_KINDS]
    ids = {n["id"] for n in old["nodes"]}
    old["edges"] = [e for e in old["edges"] if e["source"] in ids and e["target"] in ids]
    del old["graph"]["consumers_not_read"]
    assert len(LineageGraph.from_json_data(old)) == len(ids)


def test_changes_between_crawls_show_in_the_next_one_refresh_included() -> None:
    wh = demo()
    first, _ = crawl_on(wh, CrawlOptions(edges="system"), "phx_demo_read")
    with wh.lock:
        wh.consumers.update_insight("101", {"deleted": True})
        made = wh.consumers.create_insight(
            {
                "name": "LTV",
                "query": {"kind": "HogQLQuery", "query": "SELECT * FROM ltv_monthly"},
                "dashboards": [12],
            },
            user_id=2,
        )
        wh.consumers.update_endpoint(
            "mrr_api", {"query": {"kind": "HogQLQuery", "query": "SELECT * FROM churn_monthly"}}
        )
    wh.clock.advance(60)
    second, requests = crawl_on(wh, CrawlOptions(edges="system", refresh=first.graph), "phx_demo_read")
    assert requests <= 10
    edges = consumer_edges(second.graph)
    assert ("mrr_by_month", "insight:mRrMnTh1") not in edges
    new = f"insight:{made['short_id']}"
    assert ("ltv_monthly", new) in edges and (new, "dashboard:12") in edges
    assert ("churn_monthly", "endpoint:mrr_api") in edges and (
        "finance_kpis",
        "endpoint:mrr_api",
    ) not in edges
    assert second.graph.nx.nodes[new]["owner"] == "Grace Hopper"


def test_a_resumed_crawl_repeats_no_consumer_request(tmp_path: Path) -> None:
    keys = [{"key": "k_some", "scopes": ["warehouse_view:read", "warehouse_table:read", "insight:read"]}]
    journal = tmp_path / "j.jsonl"
    opts = CrawlOptions(edges="sql", journal=journal, out=Path("/dev/full"))
    with contextlib.suppress(Exception):  # the write fails on purpose; the journal survives
        crawl_on(demo(keys), opts, "k_some")
    assert journal.exists()
    out = tmp_path / "s.json"
    again, requests = crawl_on(
        demo(keys), CrawlOptions(edges="sql", journal=journal, out=out, resume=True), "k_some"
    )
    assert requests == 0
    assert again.graph.nx.graph["consumers_not_read"] == ["alert", "dashboard", "endpoint", "notebook"]


def test_an_insight_reading_nothing_that_exists_is_an_unknown_node() -> None:
    fx = load_demo_fixture()
    fx["insights"].append(
        {
            "id": 500,
            "short_id": "tYpO",
            "name": "Typo",
            "query": {"kind": "HogQLQuery", "query": "SELECT * FROM mrr_by_mnth"},
        }
    )
    fx["insights"].append(
        {
            "id": 501,
            "short_id": "gHoSt",
            "name": "Old rollup",
            "query": {"kind": "HogQLQuery", "query": "SELECT * FROM revenue_rollup_v1"},
        }
    )
    fx["insights"].append(
        {
            "id": 503,
            "short_id": "bRoKe",
            "name": "Broken SQL",
            "query": {"kind": "HogQLQuery", "query": "SELEC * FRM x"},
        }
    )
    result, _ = crawl_on(Warehouse(fx), CrawlOptions(edges="system"), "phx_demo_read")
    assert (
        "insight 'Broken SQL': 1 HogQL text(s) could not be parsed; what they read is unknown" in result.notes
    )
    g = result.graph.nx
    assert g.nodes["mrr_by_mnth"]["kind"] == "unknown" and g.nodes["mrr_by_mnth"]["unresolved"] is True
    assert g.has_edge("mrr_by_mnth", "insight:tYpO")
    ghost = next(u for u in g.predecessors("insight:gHoSt"))
    assert g.nodes[ghost].get("ghost") is True  # the deleted view it still reads


def test_an_insight_on_a_table_no_view_reads_gets_the_table_node() -> None:
    fx = load_demo_fixture()
    fx["insights"].append(
        {
            "id": 502,
            "short_id": "hUbSpT",
            "name": "Leads",
            "query": {"kind": "HogQLQuery", "query": "SELECT * FROM google_ads_campaign_stats"},
        }
    )
    table = next(t for t in fx["tables"] if t["name"] == "google_ads_campaign_stats")
    for edges in ("system", "sql"):
        result, _ = crawl_on(Warehouse(fx), CrawlOptions(edges=edges), "phx_demo_read")  # type: ignore[arg-type]
        g = result.graph.nx
        assert g.has_edge(table["id"], "insight:hUbSpT"), edges
        assert g.nodes[table["id"]]["kind"] == "table" and g.nodes[table["id"]]["table_kind"] == "warehouse"


def test_consumer_records_read_rest_and_system_shapes_alike() -> None:
    rest = Insight.from_api(
        {
            "id": "7",
            "short_id": "x1",
            "name": None,
            "derived_name": "Pageviews count",
            "query": {"kind": "HogQLQuery", "query": "SELECT 1"},
            "dashboards": [3, "4", None],
            "created_by": {"id": 1, "first_name": "Ada", "last_name": "", "email": "a@x"},
            "future_field": 1,
        }
    )
    system = Insight.from_api(
        {"id": 7, "short_id": "x1", "query": '{"kind": "HogQLQuery", "query": "SELECT 1"}', "deleted": 0}
    )
    assert rest.id == system.id == 7 and rest.query == system.query
    assert rest.name == "Pageviews count" and rest.dashboards == (3, 4) and rest.owner == "Ada"
    assert system.deleted is False and Insight.from_api({"id": 1, "short_id": "a", "deleted": 1}).deleted
    board = Dashboard.from_api(
        {
            "id": 3,
            "tiles": [{"insight": {"id": 7}}, {"insight": None}, {"insight": {"id": 8}, "deleted": True}],
        }
    )
    assert board.insight_ids == (7,)
    assert Dashboard.from_api({"id": 3}).insight_ids is None
    endpoint = Endpoint.from_api(
        {"name": "e", "versions": [{"version": "2", "query": '{"kind": "HogQLQuery"}'}]}
    )
    assert (
        endpoint.id == "e"
        and endpoint.versions[0]["version"] == 2
        and endpoint.versions[0]["query"] == {"kind": "HogQLQuery"}
    )
    assert Alert.from_api({"id": "a", "insight": {"id": 9}}).insight_id == 9
    assert Alert.from_api({"id": "a", "insight_id": "9"}).insight_id == 9
    assert Notebook.from_api({"id": "n", "short_id": "s", "content": "not json"}).content is None
    for bad in (None, [], {"short_id": "x"}, {"id": 1}):
        with pytest.raises(ProtocolError):
            Insight.from_api(bad)


def test_every_command_reads_a_snapshot_with_consumers(tmp_path: Path) -> None:
    """Consumer nodes must not crash the commands that read snapshots (their own reports are tested
    where those commands are)."""
    from click.testing import CliRunner

    from lineage.cli import main

    result, _ = crawl_on(demo(), CrawlOptions(edges="system"), "phx_demo_read")
    snap = result.graph.save(tmp_path / "s.json")
    before = tmp_path / "before.json"
    part = result.graph.subgraph(
        n for n, a in result.graph.nx.nodes(data=True) if a["kind"] not in CONSUMER_KINDS
    )
    part.save(before)
    s = str(snap)
    runs = [
        ["ls", "--snapshot", s, "--select", "*", "--format", "json"],
        ["impact", "revenue_reconciliation", "--snapshot", s, "--format", "json"],
        ["impact", "churn_monthly", "--column", "churn_rate", "--snapshot", s],
        ["check", "--snapshot", s, "--format", "json"],
        ["render", "--snapshot", s, "--format", "dot"],
        ["render", "--snapshot", s, "--format", "mermaid"],
        ["diff", str(before), s, "--format", "json"],
        ["export", "--snapshot", s, "--format", "graphml", "--out", str(tmp_path / "x.graphml")],
        ["export", "--snapshot", s, "--format", "csv", "--out", str(tmp_path / "x")],
    ]
    for args in runs:
        got = CliRunner().invoke(main, args)
        assert got.exit_code == 0, (args, got.output)
    listed = json.loads(CliRunner().invoke(main, runs[0]).output)
    assert {"insight", "dashboard", "notebook", "endpoint", "alert"} <= {row["kind"] for row in listed}


# --- property: random workspaces, random consumers --------------------------------------------------


@st.composite
def workspaces(draw: st.DrawFn) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """A random view DAG with random consumers, and the consumer edges they should give (by name)."""
    n = draw(st.integers(2, 7))
    names = [f"v{i}" for i in range(n)]
    views = []
    for i, name in enumerate(names):
        parents = draw(st.lists(st.sampled_from(["src", *names[:i]]), min_size=1, max_size=2, unique=True))
        views.append(
            {
                "name": name,
                "query": "SELECT * FROM "
                + " JOIN ".join(f"{p} AS t{j} ON 1 = 1" if j else p for j, p in enumerate(parents)),
                "parents": parents,
            }
        )
    truth: set[tuple[str, str]] = set()
    insights, tiles, alerts, notebooks, endpoints = [], [], [], [], []
    readable = ["src", *names]
    for i in range(draw(st.integers(0, 5))):
        reads = draw(st.lists(st.sampled_from(readable), min_size=1, max_size=3, unique=True))
        shape = draw(st.sampled_from(["sql", "series", "filter"]))
        short = f"in{i}"
        if shape == "sql":
            query: dict[str, Any] = {
                "kind": "DataVisualizationNode",
                "source": {
                    "kind": "HogQLQuery",
                    "query": " UNION ALL ".join(f"SELECT * FROM {r} WHERE {{filters}}" for r in reads),
                },
            }
        elif shape == "series":
            series = [{"kind": "DataWarehouseNode", "table_name": r, "id": r} for r in reads]
            query = {"kind": "InsightVizNode", "source": {"kind": "TrendsQuery", "series": series}}
        else:
            props = [{"type": "hogql", "key": f"distinct_id IN (SELECT id FROM {r})"} for r in reads]
            query = {
                "kind": "InsightVizNode",
                "source": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode"}], "properties": props},
            }
        deleted = draw(st.booleans()) and draw(st.booleans())
        insights.append({"id": i + 1, "short_id": short, "name": f"I{i}", "query": query, "deleted": deleted})
        if not deleted:
            truth |= {(r, f"insight:{short}") for r in reads}
        for d in draw(st.lists(st.integers(1, 2), max_size=2, unique=True)):
            tiles.append({"id": len(tiles) + 1, "dashboard_id": d, "insight_id": i + 1})
            if not deleted:
                truth.add((f"insight:{short}", f"dashboard:{d}"))
        if draw(st.booleans()):
            aid = f"00000000-0000-4000-8000-{i:012d}"
            alerts.append({"id": aid, "name": f"A{i}", "insight_id": i + 1})
            if not deleted:
                truth.add((f"insight:{short}", f"alert:{aid}"))
    for j in range(draw(st.integers(0, 2))):
        embed = (
            draw(st.lists(st.sampled_from([x["short_id"] for x in insights]), max_size=2, unique=True))
            if insights
            else []
        )
        sql_reads = draw(st.lists(st.sampled_from(readable), max_size=2, unique=True))
        content = [
            {"type": "ph-query", "attrs": {"query": {"kind": "SavedInsightNode", "shortId": s}}}
            for s in embed
        ]
        content += [{"type": "ph-hogql-sql", "attrs": {"code": f"SELECT * FROM {r}"}} for r in sql_reads]
        short = f"nb{j}"
        notebooks.append(
            {"short_id": short, "title": f"N{j}", "content": {"type": "doc", "content": content}}
        )
        live_embeds = [s for s in embed if not next(x for x in insights if x["short_id"] == s)["deleted"]]
        if live_embeds or sql_reads:
            truth |= {(f"insight:{s}", f"notebook:{short}") for s in live_embeds}
            truth |= {(r, f"notebook:{short}") for r in sql_reads}
    for k in range(draw(st.integers(0, 2))):
        old, new = draw(st.sampled_from(readable)), draw(st.sampled_from(readable))
        versions = [
            {
                "version": 1,
                "is_active": False,
                "query": {"kind": "HogQLQuery", "query": f"SELECT * FROM {old}"},
            },
            {
                "version": 2,
                "is_active": True,
                "query": {"kind": "HogQLQuery", "query": f"SELECT * FROM {new}"},
            },
        ]
        endpoints.append({"name": f"ep{k}", "versions": versions})
        truth.add((new, f"endpoint:ep{k}"))
    fx = {
        "format": "lineage-sim-fixture/1",
        "now": "2026-11-26T00:00:00Z",
        "api_keys": [{"key": "k_prop", "scopes": ["*"]}],
        "tables": [{"name": "src", "kind": "warehouse"}],
        "views": views,
        "insights": insights,
        "dashboards": [{"id": 1, "name": "D1"}, {"id": 2, "name": "D2"}],
        "dashboard_tiles": tiles,
        "alerts": alerts,
        "notebooks": notebooks,
        "endpoints": endpoints,
    }
    return fx, truth


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspaces(), st.sampled_from(["system", "sql"]))
def test_crawled_consumer_edges_equal_the_generators_truth(
    case: tuple[dict[str, Any], set[tuple[str, str]]], edges: str
) -> None:
    fx, truth = case
    result, requests = crawl_on(Warehouse(fx, era="e3"), CrawlOptions(edges=edges), "k_prop")  # type: ignore[arg-type]
    assert consumer_edges(result.graph) == truth
    assert result.graph.nx.graph["consumers_not_read"] == []
    if edges == "system":
        assert requests <= 10
