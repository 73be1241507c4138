"""Extraction of what consumers read, on PostHog's own insight and notebook JSON shapes.

Sources of the shapes (PostHog/posthog, read in its public source):

* insight queries: the cases of PostHog's insight-lineage tests
  (``products/product_analytics/backend`` tests of ``insight_lineage.insight_table_names``): views
  in subqueries, in CTE bodies, dotted source tables, join conditions, nested visualization
  wrappers, ``DataWarehouseNode`` series (``CHARGES_SERIES`` there), HogQL property filters,
  ``math_hogql`` aggregations and HogQL breakdowns;
* a Terraform export of a real insight (``postgres.posthog_exportedasset`` warehouse series);
* notebooks: ``products/notebooks/backend`` tests (``_saved_insight_query_node``,
  ``_ad_hoc_query_node``: ``ph-query`` nodes with ``SavedInsightNode`` or ``DataTableNode`` /
  ``EventsQuery``), and PostHog's notebook skeleton (heading, paragraph, bulletList, ph-query);
* legacy ``filters``: the pre-query insight format (``events``/``data_warehouse`` entities,
  ``properties``, ``breakdown_type``).
"""

from __future__ import annotations

from typing import Any

import pytest

from lineage.consumers.extract import (
    Reads,
    active_version,
    endpoint_reads,
    hogql_reads,
    insight_reads,
    notebook_reads,
    query_reads,
    without_placeholders,
)


def _sql(query: str) -> dict[str, Any]:
    return {"kind": "DataVisualizationNode", "source": {"kind": "HogQLQuery", "query": query}}


def _trends(*series: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"kind": "InsightVizNode", "source": {"kind": "TrendsQuery", "series": list(series), **extra}}


PAGEVIEWS = {"kind": "EventsNode", "event": "$pageview"}
CHARGES_SERIES = {
    "kind": "DataWarehouseNode",
    "id": "stripe_charges",
    "table_name": "stripe_charges",
    "timestamp_field": "created_at",
    "distinct_id_field": "customer_id",
    "id_field": "id",
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {
                "kind": "HogQLQuery",
                "query": "SELECT count() FROM (SELECT * FROM orders_view) "
                "WHERE id IN (SELECT id FROM refunds_view)",
            },
            {"orders_view", "refunds_view"},
        ),
        (
            {
                "kind": "HogQLQuery",
                "query": "WITH recent AS (SELECT * FROM orders_view) SELECT * FROM recent",
            },
            {"orders_view"},
        ),
        (
            _sql("SELECT * FROM orders_view JOIN stripe.charges AS charges ON charges.id = orders_view.id"),
            {"orders_view", "stripe.charges"},
        ),
        (
            _sql("SELECT * FROM events JOIN persons ON events.person_id IN (SELECT id FROM orders_view)"),
            {"events", "persons", "orders_view"},
        ),
        ({"kind": "InsightVizNode", "source": _sql("SELECT * FROM orders_view")}, {"orders_view"}),
        (_trends(PAGEVIEWS), set()),
        (_trends(CHARGES_SERIES, dateRange={"date_from": "all"}), {"stripe_charges"}),
        (
            _trends(
                PAGEVIEWS, properties=[{"type": "hogql", "key": "person_id IN (SELECT id FROM orders_view)"}]
            ),
            {"orders_view"},
        ),
        (
            _trends({**PAGEVIEWS, "math": "hogql", "math_hogql": "sum(id IN (SELECT id FROM orders_view))"}),
            {"orders_view"},
        ),
        (
            _trends(
                PAGEVIEWS,
                breakdownFilter={
                    "breakdown_type": "hogql",
                    "breakdown": "id IN (SELECT id FROM orders_view)",
                },
            ),
            {"orders_view"},
        ),
    ],
)
def test_reads_what_posthog_reads_in_an_insight(query: dict[str, Any], expected: set[str]) -> None:
    assert set(query_reads(query).tables) == expected


def test_a_cte_that_shadows_a_view_is_not_a_read_of_it() -> None:
    reads = query_reads(_sql("WITH mrr_by_month AS (SELECT 1 AS mrr) SELECT mrr FROM mrr_by_month"))
    assert reads.names(["mrr_by_month"]) == []
    # ...but the CTE's own body reads are
    reads = query_reads(_sql("WITH m AS (SELECT * FROM mrr_by_month) SELECT * FROM m"))
    assert reads.names(["mrr_by_month"]) == ["mrr_by_month"]


def test_a_real_terraform_exported_insight_names_its_dotted_warehouse_table() -> None:
    query = _trends(
        {
            "id": "postgres.posthog_exportedasset",
            "kind": "DataWarehouseNode",
            "math": "total",
            "name": "postgres.posthog_exportedasset",
            "id_field": "id",
            "table_name": "postgres.posthog_exportedasset",
            "custom_name": "Starts",
            "timestamp_field": "created_at",
            "distinct_id_field": "created_by_id",
        }
    )
    assert query_reads(query).names() == ["postgres.posthog_exportedasset"]


def test_placeholders_of_insights_are_read_as_constants() -> None:
    sql = "SELECT month, mrr FROM mrr_by_month WHERE {filters} AND month >= {variables.start} ORDER BY month"
    reads = query_reads(_sql(sql))
    assert reads.names() == ["mrr_by_month"]
    assert reads.hogql == ("SELECT month, mrr FROM mrr_by_month WHERE 1 AND month >= 1 ORDER BY month",)
    assert without_placeholders("SELECT {a} FROM t") == "SELECT 1 FROM t"
    assert without_placeholders("SELECT '{a}' FROM t") == "SELECT '{a}' FROM t"  # a string, not a placeholder


def test_bare_names_in_expressions_count_only_when_they_are_views() -> None:
    query = _trends(
        PAGEVIEWS, breakdownFilter={"breakdown_type": "hogql", "breakdown": "if(churn_flag, 1, 0)"}
    )
    reads = query_reads(query)
    assert "churn_flag" in reads.candidates
    assert reads.names([]) == []
    assert reads.names(["churn_flag"]) == ["churn_flag"]
    # a field chain's first part and a function name are not candidates
    reads = query_reads(_trends({**PAGEVIEWS, "math": "hogql", "math_hogql": "avg(properties.price)"}))
    assert reads.candidates == frozenset()


def test_multiple_breakdowns_of_type_hogql() -> None:
    query = _trends(
        PAGEVIEWS,
        breakdownFilter={
            "breakdowns": [{"type": "hogql", "property": "id IN (SELECT id FROM churned_users)"}]
        },
    )
    assert query_reads(query).names() == ["churned_users"]


def test_legacy_filters_are_walked_like_queries() -> None:
    filters = {
        "insight": "TRENDS",
        "events": [{"id": "$pageview", "type": "events", "math": "hogql", "math_hogql": "count()"}],
        "data_warehouse": [
            {"id": "stripe_invoices", "type": "data_warehouse", "id_field": "id", "timestamp_field": "ts"}
        ],
        "properties": [{"type": "hogql", "key": "distinct_id IN (SELECT id FROM vip_customers)"}],
        "breakdown_type": "hogql",
        "breakdown": "plan",
    }
    reads = insight_reads(None, filters)
    assert reads.names(["plan"]) == ["plan", "stripe_invoices", "vip_customers"]
    both = insight_reads(_sql("SELECT * FROM mrr_by_month"), filters)
    assert "mrr_by_month" in both.names()


def test_unparseable_hogql_is_kept_as_an_error_not_dropped_silently() -> None:
    reads = query_reads(_sql("SELECT FROM WHERE ((("))
    assert reads.tables == frozenset()
    assert reads.errors == ("SELECT FROM WHERE (((",)


def test_hostile_nesting_does_not_crash() -> None:
    node: dict[str, Any] = {"kind": "HogQLQuery", "query": "SELECT * FROM deep_view"}
    for _ in range(5000):
        node = {"source": node}
    assert query_reads(node) == Reads()  # below the walk's depth limit nothing is read, nothing breaks


def _doc(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "content": list(nodes)}


def test_notebook_embeds_insights_and_runs_sql_cells() -> None:
    content = _doc(
        {"type": "heading", "attrs": {"level": 1}, "content": [{"type": "text", "text": "Churn"}]},
        {
            "type": "ph-query",
            "attrs": {
                "nodeId": "scored-insight",
                "query": {"kind": "SavedInsightNode", "shortId": "aB3dE9xQ"},
            },
        },
        {
            "type": "ph-query",
            "attrs": {
                "nodeId": "node-1",
                "query": {"kind": "DataTableNode", "source": {"kind": "EventsQuery", "select": ["*"]}},
            },
        },
        {"type": "ph-hogql-sql", "attrs": {"code": "SELECT * FROM churn_monthly WHERE {filters}"}},
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [{"type": "ph-query", "attrs": {"query": _sql("SELECT * FROM ltv_monthly")}}],
                }
            ],
        },
        {"type": "ph-insight", "attrs": {"id": "oLdInSgT"}},
        {"type": "ph-recording", "attrs": {"id": "session_recording_id"}},
        {"type": "ph-python", "attrs": {"code": "df = mrr_by_month"}},
    )
    reads = notebook_reads(content)
    assert reads.insights == frozenset({"aB3dE9xQ", "oLdInSgT"})
    assert reads.names() == ["churn_monthly", "ltv_monthly"]
    assert reads.hogql == ("SELECT * FROM churn_monthly WHERE 1", "SELECT * FROM ltv_monthly")
    assert notebook_reads(None) == Reads() and notebook_reads("not a doc") == Reads()


def test_endpoint_serves_its_current_version() -> None:
    versions = [
        {
            "version": 1,
            "is_active": False,
            "query": {"kind": "HogQLQuery", "query": "SELECT * FROM old_view"},
        },
        {"version": 2, "is_active": True, "query": {"kind": "HogQLQuery", "query": "SELECT * FROM new_view"}},
        {
            "version": 3,
            "is_active": False,
            "query": {"kind": "HogQLQuery", "query": "SELECT * FROM draft_view"},
        },
    ]
    assert endpoint_reads(versions).names() == ["new_view"]  # newest active
    assert endpoint_reads(versions, 1).names() == ["old_view"]  # the current version wins
    assert endpoint_reads([]) == Reads()
    assert active_version([{"version": 4, "is_active": False}]) == {"version": 4, "is_active": False}


def test_hogql_text_and_union() -> None:
    reads = hogql_reads("SELECT a FROM x UNION ALL SELECT a FROM `y.z`")
    assert reads.names() == ["x", "y.z"]
    merged = reads | query_reads(_trends(CHARGES_SERIES))
    assert merged.names() == ["stripe_charges", "x", "y.z"]
