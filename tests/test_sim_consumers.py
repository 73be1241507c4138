"""The simulator's consumers: fixture keys, system tables against the REST lists, per-object access,
scopes, pagination, writes between crawls, and the newest PostHog's refusal to delete a view that
insights read (interfaces.md section 6, posthog-api-3.md section 1)."""

# ruff: noqa: S608  (HogQL built from the tests' own names, never from input)
from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from lineage.errors import FixtureError
from lineage.sim.app import create_app
from lineage.sim.state import Warehouse

P = "/api/projects/1/"
ALL_READ = ["query:read", "insight:read", "dashboard:read", "notebook:read", "endpoint:read", "alert:read"]


def fixture(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "lineage-sim-fixture/1",
        "team_id": 1,
        "now": "2026-11-26T00:00:00Z",
        "api_keys": [
            {"key": "k_all", "scopes": ["*"]},
            {"key": "k_read", "scopes": ALL_READ},
            {"key": "k_insights", "scopes": ["insight:read"]},
            {"key": "k_nodash", "scopes": ALL_READ, "access": {"dashboard": "none", "insight": "viewer"}},
        ],
        "users": [{"id": 1, "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}],
        "tables": [{"name": "stripe_charge", "kind": "warehouse"}],
        "views": [
            {"name": "mrr", "query": "SELECT * FROM stripe_charge"},
            {"name": "churn", "query": "SELECT * FROM mrr"},
        ],
        "insights": [
            {
                "id": 1,
                "short_id": "aB3dE9xQ",
                "name": "MRR",
                "query": {"kind": "HogQLQuery", "query": "SELECT * FROM mrr"},
            },
            {
                "id": 2,
                "short_id": "cH1",
                "name": "Churn",
                "query": {"kind": "HogQLQuery", "query": "SELECT * FROM churn"},
            },
            {
                "id": 3,
                "short_id": "gOnE",
                "name": "Gone",
                "deleted": True,
                "query": {"kind": "HogQLQuery", "query": "SELECT * FROM mrr"},
            },
        ],
        "dashboards": [{"id": 10, "name": "Finance"}, {"id": 11, "name": "Old", "deleted": True}],
        "dashboard_tiles": [
            {"id": 1, "dashboard_id": 10, "insight_id": 1},
            {"id": 2, "dashboard_id": 10, "insight_id": None, "text_id": 5},
            {"id": 3, "dashboard_id": 11, "insight_id": 2},
        ],
        "notebooks": [
            {
                "short_id": "nB1",
                "title": "Churn dig",
                "content": {
                    "type": "doc",
                    "content": [{"type": "ph-hogql-sql", "attrs": {"code": "SELECT 1"}}],
                },
            }
        ],
        "endpoints": [
            {
                "name": "mrr_api",
                "versions": [{"version": 1, "query": {"kind": "HogQLQuery", "query": "SELECT * FROM mrr"}}],
            }
        ],
        "alerts": [{"name": "MRR drop", "insight_id": 1}],
    }
    doc.update(extra)
    return doc


class Sim:
    def __init__(self, doc: dict[str, Any] | None = None, era: str = "e3") -> None:
        self.wh = Warehouse(doc or fixture(), era=era)
        self.app = create_app(self.wh, rate_limit=False)

    def get(self, url: str, key: str = "k_all") -> httpx.Response:
        return self._send("GET", url, None, key)

    def _send(self, method: str, url: str, body: Any, key: str) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                return await client.request(
                    method, url, json=body, headers={"Authorization": f"Bearer {key}"}
                )

        return asyncio.run(go())

    def req(self, method: str, path: str, body: Any = None, key: str = "k_all") -> httpx.Response:
        return self._send(method, P + path, body, key)

    def rows(self, sql: str, key: str = "k_all") -> list[dict[str, Any]]:
        resp = self.req("POST", "query/", {"query": {"kind": "HogQLQuery", "query": sql}}, key)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        return [dict(zip(body["columns"], r, strict=True)) for r in body["results"]]

    def listing(self, path: str, key: str = "k_all") -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        url: str | None = P + path
        while url:
            resp = self.get(url, key)
            assert resp.status_code == 200, resp.text
            out += resp.json()["results"]
            url = resp.json()["next"]
        return out


@pytest.fixture
def sim() -> Sim:
    return Sim()


def test_system_tables_agree_with_the_rest_lists(sim: Sim) -> None:
    live = [r for r in sim.rows("SELECT * FROM system.insights ORDER BY id") if not r["deleted"]]
    rest = sim.listing("insights/")
    assert sorted((r["id"], r["short_id"], r["name"]) for r in live) == sorted(
        (r["id"], r["short_id"], r["name"]) for r in rest
    )
    for row in live:  # JSON columns arrive as strings, the same JSON the REST list carries
        match = next(r for r in rest if r["id"] == row["id"])
        assert json.loads(row["query"]) == match["query"]
    boards = sim.rows("SELECT id, name FROM system.dashboards WHERE deleted = false")
    assert [(b["id"], b["name"]) for b in boards] == [
        (d["id"], d["name"]) for d in sim.listing("dashboards/")
    ]
    tiles = sim.rows(
        "SELECT dashboard_id, insight_id FROM system.dashboard_tiles WHERE insight_id IS NOT NULL"
    )
    assert sorted((t["dashboard_id"], t["insight_id"]) for t in tiles) == [(10, 1), (11, 2)]
    # the REST detail of a dashboard carries its live tiles with their insights; text tiles have none
    detail = sim.req("GET", "dashboards/10/").json()
    assert [t["insight"]["short_id"] if t["insight"] else None for t in detail["tiles"]] == ["aB3dE9xQ", None]
    assert [r["dashboards"] for r in rest if r["id"] == 1] == [[10]]  # a deleted dashboard is not listed
    notebooks = sim.rows("SELECT short_id, title, content FROM system.notebooks")
    listed = sim.listing("notebooks/")
    assert [(n["short_id"], n["title"]) for n in notebooks] == [(n["short_id"], n["title"]) for n in listed]
    assert "content" not in listed[0]  # the list is the minimal serializer; GET has the content
    full = sim.req("GET", "notebooks/nB1/").json()
    assert json.loads(notebooks[0]["content"]) == full["content"]
    endpoints = sim.rows(
        "SELECT e.name AS name, v.version AS version, v.query AS query "
        "FROM system.data_modeling_endpoints AS e "
        "JOIN system.data_modeling_endpoint_versions AS v ON v.endpoint_id = e.id"
    )
    rest_endpoints = sim.listing("endpoints/")
    assert [(e["name"], e["version"], json.loads(e["query"])) for e in endpoints] == [
        (e["name"], v["version"], v["query"]) for e in rest_endpoints for v in e["versions"]
    ]
    alerts = sim.rows("SELECT name, insight_id, enabled FROM system.alerts")
    assert alerts == [{"name": "MRR drop", "insight_id": 1, "enabled": True}]
    assert [a["insight"]["short_id"] for a in sim.listing("alerts/")] == ["aB3dE9xQ"]


def test_a_refused_object_type_is_an_error_not_an_empty_table(sim: Sim) -> None:
    for table in ("system.dashboards", "system.dashboard_tiles"):
        resp = sim.req(
            "POST", "query/", {"query": {"kind": "HogQLQuery", "query": f"SELECT * FROM {table}"}}, "k_nodash"
        )
        assert resp.status_code == 400
        assert resp.json()["detail"] == f"You don't have access to table `{table}`."
    assert len(sim.rows("SELECT id FROM system.insights", key="k_nodash")) == 3
    resp = sim.req("GET", "dashboards/", key="k_nodash")
    assert (
        resp.status_code == 403 and resp.json()["detail"] == "You do not have viewer access to this resource."
    )
    assert sim.req("GET", "insights/", key="k_nodash").status_code == 200


def test_rest_scopes(sim: Sim) -> None:
    assert sim.req("GET", "insights/", key="k_insights").status_code == 200
    for path, scope in (
        ("dashboards/", "dashboard:read"),
        ("notebooks/", "notebook:read"),
        ("endpoints/", "endpoint:read"),
        ("alerts/", "alert:read"),
    ):
        resp = sim.req("GET", path, key="k_insights")
        assert (
            resp.status_code == 403 and resp.json()["detail"] == f"API key missing required scope '{scope}'"
        )
    resp = sim.req("POST", "insights/", {"name": "x"}, key="k_read")
    assert resp.status_code == 403 and "insight:write" in resp.json()["detail"]


def test_lists_page_with_limit_and_offset() -> None:
    many = [
        {"id": i, "short_id": f"s{i}", "name": f"I{i}", "query": {"kind": "HogQLQuery", "query": "SELECT 1"}}
        for i in range(1, 151)
    ]
    sim = Sim(fixture(insights=many, dashboard_tiles=[], alerts=[]))
    first = sim.req("GET", "insights/").json()
    assert first["count"] == 150 and len(first["results"]) == 100 and "offset=100" in first["next"]
    assert len(sim.listing("insights/")) == 150
    assert len(sim.rows("SELECT id FROM system.insights LIMIT 1000")) == 150


def test_writes_change_the_workspace_between_crawls(sim: Sim) -> None:
    made = sim.req(
        "POST",
        "insights/",
        {"name": "New", "query": {"kind": "HogQLQuery", "query": "SELECT * FROM churn"}, "dashboards": [10]},
    )
    assert made.status_code == 201
    new = made.json()
    assert new["dashboards"] == [10] and new["created_by"]["email"] == "ada@example.com"
    tiles = sim.rows(f"SELECT dashboard_id FROM system.dashboard_tiles WHERE insight_id = {new['id']}")
    assert tiles == [{"dashboard_id": 10}]
    gone = sim.req("PATCH", f"insights/{new['id']}/", {"deleted": True})
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert new["id"] not in [r["id"] for r in sim.listing("insights/")]
    assert sim.rows(f"SELECT deleted FROM system.insights WHERE id = {new['id']}") == [{"deleted": True}]
    assert sim.req("GET", f"insights/{new['id']}/").status_code == 404
    assert sim.req("PATCH", "dashboards/10/", {"name": "Finance v2"}).json()["name"] == "Finance v2"
    assert sim.req("PATCH", "notebooks/nB1/", {"deleted": True}).status_code == 200
    assert sim.listing("notebooks/") == []
    updated = sim.req(
        "PATCH", "endpoints/mrr_api/", {"query": {"kind": "HogQLQuery", "query": "SELECT * FROM churn"}}
    )
    assert updated.json()["current_version"] == 2
    assert sim.req("DELETE", "endpoints/mrr_api/").status_code == 204
    assert sim.rows("SELECT deleted FROM system.data_modeling_endpoints") == [{"deleted": True}]
    created = sim.req("POST", "notebooks/", {"title": "T", "content": {"type": "doc", "content": []}})
    assert created.status_code == 201 and created.json()["short_id"]


def test_newest_posthog_refuses_to_delete_a_view_insights_read() -> None:
    sim = Sim(era="e3")
    mrr = next(v for v in sim.wh.list_views() if v["name"] == "mrr")
    churn = next(v for v in sim.wh.list_views() if v["name"] == "churn")
    resp = sim.req("DELETE", f"warehouse_saved_queries/{churn['id']}/")
    assert resp.status_code == 400
    body = resp.json()
    assert body["extra"] == {"node_id": churn["id"]}
    assert "insight Churn" in body["detail"]
    resp = sim.req("DELETE", f"warehouse_saved_queries/{mrr['id']}/")
    assert "insight MRR" in resp.json()["detail"] and "view churn" in resp.json()["detail"]
    # once the insight is deleted, nothing reads churn any more
    assert sim.req("PATCH", "insights/2/", {"deleted": True}).status_code == 200
    assert sim.req("DELETE", f"warehouse_saved_queries/{churn['id']}/").status_code == 204


def test_older_posthog_deletes_a_view_insights_read() -> None:
    sim = Sim(era="e2")
    churn = next(v for v in sim.wh.list_views() if v["name"] == "churn")
    assert sim.req("DELETE", f"warehouse_saved_queries/{churn['id']}/").status_code == 204


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"dashboard_tiles": [{"id": 1, "dashboard_id": 99, "insight_id": 1}]},
            "dashboard_tiles[0]: dashboard_id 99",
        ),
        ({"alerts": [{"name": "x", "insight_id": 42}]}, "alerts[0]: insight_id 42 names no insight"),
        ({"insights": [{"id": "one", "short_id": "a"}]}, "insights[0]: 'id' must be an integer"),
        (
            {
                "insights": [{"id": 1, "short_id": "a"}, {"id": 2, "short_id": "a"}],
                "dashboard_tiles": [],
                "alerts": [],
            },
            "duplicate insight short_id 'a'",
        ),
        ({"endpoints": [{"versions": []}]}, "endpoints[0]: 'name' must be a non-empty string"),
        ({"api_keys": [{"key": "k", "access": {"dashboards": "none"}}]}, "unknown resource 'dashboards'"),
        ({"api_keys": [{"key": "k", "access": {"dashboard": "nope"}}]}, "level 'nope' is not one of"),
        ({"notebooks": [{"id": "not-a-uuid"}]}, "notebooks[0]: id 'not-a-uuid' is not a UUID"),
    ],
)
def test_bad_consumer_fixtures_are_refused_naming_the_item(change: dict[str, Any], message: str) -> None:
    with pytest.raises(FixtureError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Warehouse(fixture(**change))
