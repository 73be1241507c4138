"""Build consumer nodes (insights, dashboards, notebooks, endpoints, alerts) into a graph by hand.

The shapes follow interfaces.md section 6 (what part A's crawl writes): ids ``insight:<short_id>``,
``dashboard:<id>``, ``notebook:<short_id>``, ``endpoint:<name>``, ``alert:<id>``; attributes ``kind``,
``name``, ``url`` and optionally ``owner``, ``deleted`` and (insights) ``hogql``; edges from what is
read to the reader.

URLs follow PostHog's frontend routes (PostHog/posthog frontend/src/scenes/urls.ts and the products'
manifests): ``/insights/<short_id>``, ``/dashboard/<id>``, ``/notebooks/<short_id>``,
``/endpoints/<name>`` and ``/insights/<short_id>/alerts?alert_id=<id>`` (``insightAlert``), each under
``/project/<team_id>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lineage.graph import LineageGraph

HOST = "https://us.posthog.com"
PROJECT = "1"


def _base(graph: LineageGraph) -> str:
    host = str(graph.attrs.get("host") or HOST).rstrip("/")
    return f"{host}/project/{graph.attrs.get('project') or PROJECT}"


def _ids(graph: LineageGraph, names: Iterable[str]) -> list[str]:
    return [graph.resolve(n) for n in names]


def add_insight(
    graph: LineageGraph,
    short_id: str,
    name: str,
    reads: Iterable[str] = (),
    *,
    owner: str | None = None,
    hogql: list[str] | None = None,
    **attrs: Any,
) -> str:
    """An insight reading the views/tables ``reads`` (names or ids)."""
    node = f"insight:{short_id}"
    extra: dict[str, Any] = dict(attrs)
    if owner is not None:
        extra["owner"] = owner
    if hogql is not None:
        extra["hogql"] = sorted(hogql)
    graph.add_node(node, name=name, kind="insight", url=f"{_base(graph)}/insights/{short_id}", **extra)
    for up in _ids(graph, reads):
        graph.add_edge(up, node)
    return node


def add_dashboard(
    graph: LineageGraph, dash_id: int, name: str, insights: Iterable[str] = (), *, owner: str | None = None
) -> str:
    """A dashboard showing ``insights`` (node ids)."""
    node = f"dashboard:{dash_id}"
    extra = {"owner": owner} if owner is not None else {}
    graph.add_node(node, name=name, kind="dashboard", url=f"{_base(graph)}/dashboard/{dash_id}", **extra)
    for insight in insights:
        graph.add_edge(insight, node)
    return node


def add_alert(graph: LineageGraph, alert_id: str, name: str, insight: str) -> str:
    """An alert on ``insight`` (a node id)."""
    node = f"alert:{alert_id}"
    short = insight.split(":", 1)[1]
    graph.add_node(
        node, name=name, kind="alert", url=f"{_base(graph)}/insights/{short}/alerts?alert_id={alert_id}"
    )
    graph.add_edge(insight, node)
    return node


def add_notebook(graph: LineageGraph, short_id: str, title: str, reads: Iterable[str] = ()) -> str:
    """A notebook reading views (names or ids) and/or insights (node ids)."""
    node = f"notebook:{short_id}"
    graph.add_node(node, name=title, kind="notebook", url=f"{_base(graph)}/notebooks/{short_id}")
    for up in reads:
        graph.add_edge(up if up in graph and graph.is_consumer(up) else graph.resolve(up), node)
    return node


def add_endpoint(graph: LineageGraph, name: str, reads: Iterable[str] = ()) -> str:
    """An endpoint whose active version reads views (names or ids)."""
    node = f"endpoint:{name}"
    graph.add_node(node, name=name, kind="endpoint", url=f"{_base(graph)}/endpoints/{name}")
    for up in _ids(graph, reads):
        graph.add_edge(up, node)
    return node


def small_graph(*, not_read: list[str] | None = None) -> LineageGraph:
    """stripe_charge -> orders (matview, Failed) -> orders_daily (matview) -> revenue_report (view);
    events -> event_counts; plus a matview ``lonely`` only an insight reads, and one nothing reads.

    Consumers: insight MRR (owner ada) reads revenue_report, insight Events reads event_counts,
    dashboard Finance (owner bob) shows MRR, alert "MRR drop" on MRR, notebook "Churn dig" reads MRR
    and orders_daily, endpoint mrr_api reads orders_daily, insight Lonely reads lonely.
    """
    g = LineageGraph(host=HOST, project=PROJECT, crawled_at="2026-11-26T00:00:00Z")
    if not_read is not None:
        g.attrs["consumers_not_read"] = not_read
    g.add_node("stripe_charge", kind="table")
    g.add_node("events", kind="table")
    g.add_node(
        "u-orders",
        name="orders",
        kind="matview",
        is_materialized=True,
        status="Failed",
        latest_error="boom",
        sql="SELECT id, amount, created FROM stripe_charge",
    )
    g.add_node(
        "u-daily",
        name="orders_daily",
        kind="matview",
        is_materialized=True,
        status="Completed",
        sql="SELECT created, sum(amount) AS total, count() AS n FROM orders GROUP BY created",
    )
    g.add_node("u-report", name="revenue_report", kind="view", sql="SELECT created, total FROM orders_daily")
    g.add_node("u-counts", name="event_counts", kind="view", sql="SELECT event, count() AS n FROM events")
    g.add_node(
        "u-lonely",
        name="lonely",
        kind="matview",
        is_materialized=True,
        status="Completed",
        sql="SELECT 1 AS one",
    )
    g.add_node(
        "u-unused",
        name="unused",
        kind="matview",
        is_materialized=True,
        status="Completed",
        sql="SELECT 2 AS two",
    )
    g.add_edge("stripe_charge", "u-orders")
    g.add_edge("u-orders", "u-daily")
    g.add_edge("u-daily", "u-report")
    g.add_edge("events", "u-counts")
    mrr = add_insight(g, "aB3dE9xQ", "MRR", ["revenue_report"], owner="ada@example.com")
    add_insight(g, "evT1", "Events", ["event_counts"], owner="cy@example.com")
    add_insight(g, "lon1", "Lonely", ["lonely"])
    add_dashboard(g, 10, "Finance", [mrr], owner="bob@example.com")
    add_alert(g, "a-1", "MRR drop", mrr)
    add_notebook(g, "nB1", "Churn dig", [mrr, "orders_daily"])
    add_endpoint(g, "mrr_api", ["orders_daily"])
    return g
