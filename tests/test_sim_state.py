"""The simulator's state layer behaves like PostHog E2 (and E3 when switched), quirks included."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pytest

from lineage.devdata import real_graphs_dir
from lineage.errors import FixtureError
from lineage.sim.errors import SimError
from lineage.sim.state import MISSING, SimClock, Warehouse, render_time

NOW = "2026-11-26T00:00:00Z"
STRIPE = "0b1f6a0e-3c57-4d3e-8f55-1a2b3c4d5e6f"
FOLDER = "7c0e5f1a-8d2b-4b7c-9e3f-0a1b2c3d4e5f"
MINIMAL_KEYS = [
    "id",
    "deleted",
    "name",
    "created_by",
    "created_at",
    "description",
    "sync_frequency",
    "columns",
    "status",
    "last_run_at",
    "managed_viewset_kind",
    "folder_id",
    "folder_name",
    "latest_error",
    "is_materialized",
    "origin",
    "is_test",
    "expires_at",
    "user_access_level",
]


def base_fixture() -> dict[str, Any]:
    return {
        "format": "lineage-sim-fixture/1",
        "team_id": 7,
        "now": NOW,
        "api_keys": [{"key": "phx_demo", "scopes": ["warehouse_view:read"], "projects": [7]}],
        "users": [{"id": 1, "first_name": "Ada", "email": "ada@example.com"}],
        "folders": [{"id": FOLDER, "name": "Revenue"}],
        "tables": [
            {"name": "events", "kind": "posthog"},
            {"name": "persons", "kind": "posthog"},
            {"name": "posthog.ai_events", "kind": "posthog"},
            {"id": STRIPE, "name": "stripe_charge", "kind": "warehouse", "source_type": "Stripe"},
        ],
        "views": [
            {
                "name": "p",
                "query": "select * from events e left join persons p on e.person_id = p.id",
                "parents": ["events", "persons"],
                "created_at": "2026-01-01T00:00:00Z",
                "columns": [{"name": "event", "type": "string"}, "person_id"],
            },
            {"name": "c", "query": "select * from p", "parents": ["p"], "created_at": "2026-01-02T00:00:00Z"},
            {
                "name": "g",
                "query": "select * from c",
                "parents": ["c"],
                "created_at": "2026-01-03T00:00:00.250000Z",
                "folder": "Revenue",
                "is_materialized": True,
                "sync_frequency": "24hour",
                "status": "Completed",
            },
            {"name": "ai", "query": "select * from posthog.ai_events", "parents": ["posthog.ai_events"]},
            {"name": "charges", "query": "select * from stripe_charge", "parents": ["stripe_charge"]},
            {"name": "const", "query": "SELECT 1", "parents": []},
        ],
    }


def make(fixture: dict[str, Any] | None = None, *, era: str = "e2") -> Warehouse:
    return Warehouse(fixture or base_fixture(), era=era)


def ids(wh: Warehouse) -> dict[str, str]:
    return {v["name"]: v["id"] for v in wh.list_views()}


def error(fn: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(SimError) as info:
        fn(*args, **kwargs)
    return info.value.status, info.value.body()


def detail(fn: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    status, body = error(fn, *args, **kwargs)
    return status, str(body.get("detail", body.get("error")))


# ---------------------------------------------------------------- fixture loading and shapes
def test_list_and_retrieve_shapes() -> None:
    wh = make()
    views = wh.list_views()
    assert views[-1]["name"] == "p" and views[-2]["name"] == "c"  # -created_at
    for v in views:
        assert list(v) == MINIMAL_KEYS
        assert "query" not in v
    g = wh.get_view(ids(wh)["g"])
    assert g["query"] == {"kind": "HogQLQuery", "query": "select * from c"}
    assert g["latest_history_id"] is None
    assert g["created_at"] == "2026-01-03T00:00:00.250000Z"
    assert g["folder_id"] == FOLDER and g["folder_name"] == "Revenue"
    assert g["sync_frequency"] == "24hour" and g["is_materialized"] is True
    assert g["created_by"]["first_name"] == "Ada"
    assert set(g["created_by"]) == {
        "id",
        "uuid",
        "distinct_id",
        "first_name",
        "last_name",
        "email",
        "is_email_verified",
        "hedgehog_config",
        "role_at_organization",
    }
    p = wh.get_view(ids(wh)["p"])
    assert p["created_at"] == "2026-01-01T00:00:00Z"
    assert p["columns"][0] == {
        "key": "event",
        "name": "event",
        "type": "string",
        "schema_valid": True,
        "fields": None,
        "table": None,
        "chain": None,
    }
    assert wh.team_id == 7
    assert wh.api_keys["phx_demo"].projects == frozenset({7})
    assert "phx_demo" not in repr(wh.api_keys["phx_demo"])
    assert wh.user_basic(1)["email"] == "ada@example.com"


def test_search_and_malformed_ids() -> None:
    wh = make()
    assert [v["name"] for v in wh.list_views(search="CHAR")] == ["charges"]
    assert wh.list_views(search="c, h") == wh.list_views(search="ch")
    for bad in ("nope", "", str(uuid.uuid4())):
        assert detail(wh.get_view, bad) == (404, "Not found.")
        assert detail(wh.ancestors, bad)[0] == 404


def test_render_time() -> None:
    assert render_time(datetime(2025, 5, 1, tzinfo=UTC)) == "2025-05-01T00:00:00Z"
    assert render_time(datetime(2025, 5, 1, 0, 0, 0, 123456, tzinfo=UTC)) == "2025-05-01T00:00:00.123456Z"
    assert render_time(None) is None


@pytest.mark.parametrize(
    ("mutate", "needles"),
    [
        (lambda f: f.update(format="other/1"), ["lineage-sim-fixture/1"]),
        (lambda f: f["views"][0].update(parents=["c"]), ["cycle", "c, p"]),
        (lambda f: f["views"].append({"name": "c", "query": "SELECT 1"}), ["duplicate", "c"]),
        (lambda f: f["views"].append({"name": "events", "query": "SELECT 1"}), ["duplicate", "events"]),
        (lambda f: f["views"][1].update(parents=["missing_table"]), ["c -> missing_table"]),
        (lambda f: f["views"][1].update(folder="Nope"), ["'c'", "Nope"]),
    ],
)
def test_fixture_errors_name_the_views(mutate: Any, needles: list[str]) -> None:
    fixture = base_fixture()
    mutate(fixture)
    with pytest.raises(FixtureError) as info:
        Warehouse(fixture)
    for needle in needles:
        assert needle in str(info.value)


def test_bigquery_cycles_are_refused_with_their_views() -> None:
    data = json.loads((real_graphs_dir() / "bigquery_etl.json").read_text())
    graph: nx.DiGraph[str] = nx.DiGraph(tuple(e) for e in data["edges"])
    graph.add_nodes_from(n["name"] for n in data["nodes"])
    views = {n["name"] for n in data["nodes"] if n["kind"] == "view"}
    fixture = {
        "format": "lineage-sim-fixture/1",
        "tables": [{"name": n["name"]} for n in data["nodes"] if n["kind"] == "table"],
        "views": [
            {"name": v, "query": "SELECT 1", "parents": sorted(graph.predecessors(v))} for v in sorted(views)
        ],
    }
    with pytest.raises(FixtureError, match="cycle") as info:
        Warehouse(fixture)
    assert "clients_histogram_aggregates" in str(info.value) or "firefox_ios" in str(info.value)


def test_parents_read_from_query_when_absent() -> None:
    fixture = base_fixture()
    for view in fixture["views"]:
        view.pop("parents")
    wh = make(fixture)
    v = ids(wh)
    assert set(wh.ancestors(v["g"])) == {v["c"], v["p"], "events", "persons"}
    assert wh.ancestors(v["charges"]) == [STRIPE]
    assert wh.ancestors(v["const"]) == []


# ---------------------------------------------------------------- golden cases (spec section 9) via the API
def test_golden_lineage_cases() -> None:
    wh = make()
    v = ids(wh)
    p, c, g = v["p"], v["c"], v["g"]
    assert wh.ancestors(p) == ["events", "persons"]
    assert wh.ancestors(c) == sorted([p, "events", "persons"])
    assert wh.ancestors(c, 1) == [p]
    assert wh.ancestors(c, 2) == wh.ancestors(c, 10) == sorted([p, "events", "persons"])
    assert wh.descendants(p) == sorted([c, g])
    assert wh.descendants(p, 1) == [c]
    assert wh.descendants(p, 2) == sorted([c, g])
    assert wh.descendants(c) == [g]
    assert wh.descendants(g) == []
    assert wh.dependencies(p) == {"upstream_count": 2, "downstream_count": 1}
    assert wh.dependencies(c) == {"upstream_count": 1, "downstream_count": 1}
    assert wh.dependencies(g) == {"upstream_count": 1, "downstream_count": 0}
    assert wh.ancestors(v["ai"]) == ["ai_events", "posthog"]  # dotted name = two labels
    assert wh.ancestors(v["ai"], 1) == ["ai_events"]
    assert wh.dependencies(v["ai"]) == {"upstream_count": 1, "downstream_count": 0}
    assert wh.ancestors(v["charges"]) == [STRIPE]  # warehouse table by dashed UUID
    assert wh.ancestors(v["const"]) == []  # SELECT 1 -> root path


def test_quirky_levels_e2() -> None:
    wh = make()
    v = ids(wh)
    c, p = v["c"], v["p"]
    assert wh.ancestors(c, 0) == []
    assert wh.ancestors(c, None) == wh.ancestors(c, MISSING)
    assert wh.ancestors(c, "2") == wh.ancestors(c)
    assert wh.ancestors(c, 1.7) == wh.ancestors(c, True) == [p]
    assert wh.ancestors(c, -2) == [p]  # path[1:-1] drops the roots
    assert error(wh.ancestors, c, "abc") == (500, {**_server_error()})
    assert error(wh.ancestors, c, []) == (500, {**_server_error()})
    assert error(wh.descendants, p, "1")[0] == 500
    assert error(wh.descendants, p, 1.5)[0] == 500
    assert wh.descendants(p, True) == [c]
    assert wh.descendants(p, False) == []
    assert wh.ancestors(v["const"], "abc") == []  # no path: early [] before int()
    assert wh.descendants(v["g"], "abc") == []


def _server_error() -> dict[str, Any]:
    return {"type": "server_error", "code": "error", "detail": "A server error occurred.", "attr": None}


def test_e3_level_validation_and_walk() -> None:
    wh = make(era="e3")
    v = ids(wh)
    c, p, g = v["c"], v["p"], v["g"]
    status, body = error(wh.ancestors, c, 0)
    assert (status, body["code"], body["attr"]) == (400, "min_value", "level")
    assert body["detail"] == "Ensure this value is greater than or equal to 1."
    assert detail(wh.descendants, p, -1)[0] == 400
    bad: Any
    for bad in ("abc", 1.5, True, []):
        assert detail(wh.ancestors, c, bad) == (400, "A valid integer is required.")
    assert wh.ancestors(c, "2") == sorted([p, "events", "persons"])
    assert wh.ancestors(c, 1) == [p]
    assert wh.descendants(p, 1) == [c]
    assert wh.descendants(p) == sorted([c, g])
    assert wh.ancestors(v["ai"]) == ["posthog.ai_events"]  # E3 names the PostHog table whole
    assert wh.dependencies(p) == {"upstream_count": 2, "downstream_count": 1}
    assert "description" in wh.get_view(p)["columns"][0]
    assert wh.list_views(include_columns=False)[0]["columns"] == []


def test_update_rewrites_lineage_golden_7() -> None:
    fixture = base_fixture()
    fixture["views"].append(
        {"name": "my_model", "query": "select * from stripe_charge", "parents": ["stripe_charge"]}
    )
    fixture["views"].append({"name": "child", "query": "select * from my_model", "parents": ["my_model"]})
    fixture["views"].append({"name": "grand", "query": "select * from child", "parents": ["child"]})
    wh = make(fixture)
    v = ids(wh)
    child = wh.get_view(v["child"])
    out = wh.update_view(
        v["child"],
        {"query": {"kind": "HogQLQuery", "query": "select event from events"}, "edited_history_id": None},
    )
    assert out["status"] == "Modified"
    assert wh.ancestors(v["grand"]) == sorted(["events", v["child"]])
    assert wh.ancestors(v["child"]) == ["events"]
    assert wh.descendants(v["my_model"]) == []
    assert out["latest_history_id"] != child["latest_history_id"]
    # The next edit must quote the new history id.
    q2 = {"kind": "HogQLQuery", "query": "select * from persons"}
    assert detail(wh.update_view, v["child"], {"query": q2}) == (
        400,
        "The query was modified by someone else.",
    )
    wh.update_view(v["child"], {"query": q2, "edited_history_id": out["latest_history_id"]})
    assert wh.ancestors(v["grand"]) == sorted(["persons", v["child"]])


def test_revert_and_delete_leave_ghosts_golden_8() -> None:
    wh = make()
    v = ids(wh)
    p, c, g = v["p"], v["c"], v["g"]
    wh.revert_materialization(g)
    assert wh.ancestors(g) == []
    shape = wh.get_view(g)
    assert (shape["is_materialized"], shape["sync_frequency"], shape["status"], shape["latest_error"]) == (
        False,
        None,
        None,
        None,
    )
    assert wh.descendants(p) == [c]  # g's paths ended at g and are gone; c's own path remains
    assert wh.descendants(c) == []
    wh2 = make()
    v2 = ids(wh2)
    assert detail(wh2.delete_view, v2["c"])[1].startswith(
        "Cannot delete this view because other views depend"
    )
    wh2.delete_view(v2["g"])
    assert detail(wh2.get_view, v2["g"]) == (404, "Not found.")
    # A fixture ghost: a deleted view whose child still names it.
    fixture = base_fixture()
    fixture["views"][1]["deleted"] = True
    wh3 = make(fixture)
    v3 = ids(wh3)
    assert "c" not in v3
    ghost = next(i for i in wh3.ancestors(v3["g"]) if i not in (v3["p"], "events", "persons"))
    assert detail(wh3.get_view, ghost)[0] == 404
    assert set(wh3.descendants(v3["p"])) == {ghost, v3["g"]}
    assert wh3.dependencies(v3["p"]) == {"upstream_count": 2, "downstream_count": 1}


def test_deleted_view_is_renamed() -> None:
    wh = make()
    g = ids(wh)["g"]
    wh.delete_view(g)
    view = wh._views[g]
    assert view.deleted and view.deleted_name == "g" and view.name.startswith("POSTHOG_DELETED_")
    assert "g" not in ids(wh)
    # the name is free again: a new view may take it (201)
    _, created = wh.create_view(
        {"name": "g", "query": {"kind": "HogQLQuery", "query": "SELECT 1"}}, user_id=1
    )
    assert created


# ---------------------------------------------------------------- create / update validation
def hq(sql: str) -> dict[str, str]:
    return {"kind": "HogQLQuery", "query": sql}


def test_create_then_upsert_200() -> None:
    wh = make()
    shape, created = wh.create_view(
        {
            "name": "new_view",
            "query": hq("select event from events"),
            "types": [["event", "Nullable(String)"]],
        },
        user_id=1,
    )
    assert created
    assert shape["columns"][0]["type"] == "string"
    assert shape["latest_history_id"] is not None
    assert wh.ancestors(shape["id"]) == ["events"]
    again, created2 = wh.create_view(
        {
            "name": "new_view",
            "query": hq("select * from persons"),
            "edited_history_id": shape["latest_history_id"],
        },
        user_id=1,
    )
    assert not created2 and again["id"] == shape["id"]
    assert wh.ancestors(shape["id"]) == ["persons"]
    # upsert without the history id is a conflict, as PostHog's update path checks it
    assert detail(wh.create_view, {"name": "new_view", "query": hq("SELECT 2")}, user_id=1) == (
        400,
        "The query was modified by someone else.",
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "events", "query": hq("SELECT 1")}, (400, "A table with this name already exists.")),
        ({"name": "stripe_charge", "query": hq("SELECT 1")}, (400, "A table with this name already exists.")),
        ({"name": "9lives", "query": hq("SELECT 1")}, (400, "9lives is not a valid view name.")),
        (
            {"name": "x" * 129, "query": hq("SELECT 1")},
            (400, "Ensure this field has no more than 128 characters."),
        ),
        ({"query": hq("SELECT 1")}, (400, "This field is required.")),
        (
            {"name": "v", "query": hq("select {filters} from events")},
            (400, "Filters and placeholder expressions are not allowed in views"),
        ),
        (
            {"name": "v", "query": hq("select {1+2} from events")},
            (400, "Filters and placeholder expressions are not allowed in views"),
        ),
        (
            {"name": "v", "query": hq("select {variables.foo} from events")},
            (400, "Variables like {variables.foo} are not allowed in views"),
        ),
        ({"name": "v", "query": hq("select * from nowhere")}, (400, "Invalid query: Unknown table")),
        (
            {"name": "v", "query": "select 1"},
            (400, 'Query must be a JSON object with a "query" key, got str.'),
        ),
        ({"name": "v", "query": hq("  ")}, (400, 'Query object must contain a non-empty "query" key')),
        (
            {"name": "v", "query": hq("SELECT 1"), "types": [["a", "Weird"]]},
            (400, "Failed to retrieve types for view"),
        ),
        ({"name": "v", "query": hq("SELECT 1"), "folder_id": str(uuid.uuid4())}, (400, "Invalid pk")),
    ],
)
def test_create_validation(body: dict[str, Any], expected: tuple[int, str]) -> None:
    status, message = detail(make().create_view, body, user_id=1)
    assert status == expected[0]
    assert message.startswith(expected[1])


def test_create_non_dict_body_is_500() -> None:
    assert error(make().create_view, ["x"], user_id=1)[0] == 500


def test_update_sync_frequency_folder_and_cycle() -> None:
    wh = make()
    v = ids(wh)
    assert wh.update_view(v["g"], {"sync_frequency": "never"})["sync_frequency"] is None
    assert wh.update_view(v["g"], {"sync_frequency": "1min"})["sync_frequency"] == "15min"
    assert wh.update_view(v["g"], {"sync_frequency": "7day"})["sync_frequency"] == "7day"
    status, body = error(wh.update_view, v["g"], {"sync_frequency": "hourly"})
    assert (status, body["code"], body["attr"]) == (400, "invalid_choice", "sync_frequency")
    assert wh.update_view(v["p"], {"folder_id": FOLDER})["folder_name"] == "Revenue"
    assert wh.update_view(v["p"], {"folder_id": None})["folder_id"] is None
    assert detail(wh.update_view, v["p"], {"query": hq("select * from g")}) == (400, "Model contains a cycle")
    assert detail(wh.update_view, v["p"], {"name": "c"}) == (400, "A table with this name already exists.")
    assert wh.update_view(v["p"], {"name": "p2", "description": "d"})["name"] == "p2"
    assert wh.get_view(v["p"])["description"] == "d"


def test_managed_views_hidden_without_flag() -> None:
    fixture = base_fixture()
    fixture["views"].append({"name": "mrr", "query": "SELECT 1", "managed_viewset_kind": "revenue_analytics"})
    assert "mrr" not in ids(make(fixture))
    fixture["flags"] = ["managed-viewsets"]
    wh = make(fixture)
    mrr = ids(wh)["mrr"]
    assert detail(wh.update_view, mrr, {"description": "x"}) == (
        400,
        "Cannot update a query from a managed viewset",
    )
    assert detail(wh.delete_view, mrr)[1].startswith("Cannot delete a query from a managed viewset directly.")
    assert detail(wh.materialize, mrr, None) == (400, "Cannot materialize a query from a managed viewset.")
    assert detail(wh.revert_materialization, mrr) == (
        400,
        "Cannot revert materialization of a query from a managed viewset.",
    )


def test_e3_delete_dependents_extra() -> None:
    wh = make(era="e3")
    v = ids(wh)
    status, body = error(wh.delete_view, v["p"])
    assert status == 400 and body["extra"] == {"node_id": v["p"]}


# ---------------------------------------------------------------- actions and the job lifecycle
def test_run_completes_on_the_clock() -> None:
    clock = SimClock(datetime(2026, 11, 26, tzinfo=UTC))
    fixture = base_fixture()
    fixture["views"][2]["run_seconds"] = 60
    wh = Warehouse(fixture, clock=clock)
    g = ids(wh)["g"]
    wh.run(g, None)
    assert wh.get_view(g)["status"] == "Running"
    running = wh.running_jobs()
    assert len(running) == 1 and running[0]["saved_query_id"] == g and running[0]["status"] == "Running"
    assert wh.recent_jobs() == []
    clock.advance(61)
    assert wh.running_jobs() == []
    view = wh.get_view(g)
    assert view["status"] == "Completed" and view["latest_error"] is None
    job = wh.list_jobs(saved_query_id=g)[0]
    assert job["status"] == "Completed" and job["last_run_at"] == view["last_run_at"]
    assert job["rows_materialized"] == job["rows_expected"] > 0
    assert wh.run_history(g) == {"run_history": [{"status": "Completed", "timestamp": job["last_run_at"]}]}
    assert wh.recent_jobs()[0]["id"] == job["id"]
    assert wh.get_job(job["id"]) == job
    assert wh.completed_activity(cutoff_days=30)[0]["id"] == job["id"]


def test_failing_run_and_cancel() -> None:
    clock = SimClock(datetime(2026, 11, 26, tzinfo=UTC))
    fixture = base_fixture()
    fixture["views"][0].update(fail_runs=True, latest_error="boom")
    wh = Warehouse(fixture, clock=clock)
    v = ids(wh)
    assert error(wh.cancel, v["p"]) == (400, {"error": "Cannot cancel a query that is not running"})
    wh.run(v["p"], {})
    clock.advance(31)
    shape = wh.get_view(v["p"])
    assert shape["status"] == "Failed" and shape["latest_error"] == "boom"
    assert wh.list_jobs(saved_query_id=v["p"])[0]["error"] == "boom"
    wh.run(v["c"], None)
    wh.cancel(v["c"])
    assert wh.get_view(v["c"])["status"] == "Cancelled"
    assert wh.list_jobs(saved_query_id=v["c"])[0]["status"] == "Running"  # jobs untouched by the endpoint
    clock.advance(31)
    assert wh.list_jobs(saved_query_id=v["c"])[0]["status"] == "Cancelled"
    assert wh.get_view(v["c"])["status"] == "Cancelled"


def test_e3_cancel_needs_a_running_job() -> None:
    fixture = base_fixture()
    fixture["views"][0]["status"] = "Running"
    wh = make(fixture, era="e3")
    p = ids(wh)["p"]
    assert detail(wh.cancel, p) == (400, "Cannot cancel a query that is not running")
    wh.run(p, {"full_refresh": True})
    wh.cancel(p)
    assert detail(wh.run, p, {"full_refresh": "yes"}) == (400, "Must be a valid boolean.")


def test_materialize_and_revert() -> None:
    wh = make()
    v = ids(wh)
    wh.revert_materialization(v["c"])
    assert wh.ancestors(v["c"]) == []
    wh.materialize(v["c"], None)
    shape = wh.get_view(v["c"])
    assert shape["is_materialized"] and shape["sync_frequency"] == "24hour"
    assert wh.ancestors(v["c"]) == sorted([v["p"], "events", "persons"])  # paths set up again
    e3 = make(era="e3")
    e3.materialize(ids(e3)["c"], {"sync_frequency": "6hour"})
    assert e3.get_view(ids(e3)["c"])["sync_frequency"] == "6hour"


def test_resume_schedules() -> None:
    wh = make()
    v = ids(wh)
    assert error(wh.resume_schedules, {}) == (400, {"error": "view_ids is required"})
    assert error(wh.resume_schedules, {"view_ids": []}) == (400, {"error": "view_ids is required"})
    wh.resume_schedules({"view_ids": [v["g"], str(uuid.uuid4())]})
    assert error(wh.resume_schedules, {"view_ids": ["nope"]})[0] == 500
    e3 = make(era="e3")
    status, body = error(e3.resume_schedules, {})
    assert (status, body["attr"]) == (400, "view_ids")
    assert detail(e3.resume_schedules, {"view_ids": []}) == (400, "This list may not be empty.")
    assert detail(e3.resume_schedules, {"view_ids": ["x"]}) == (400, "Must be a valid UUID.")
    e3.resume_schedules({"view_ids": [ids(e3)["g"]]})


def test_jobs_listing_filters() -> None:
    fixture = base_fixture()
    fixture["jobs"] = [
        {
            "view": "g",
            "status": "Completed",
            "created_at": "2026-11-20T00:00:00Z",
            "workflow_id": "materialize-1",
        },
        {
            "view": "g",
            "status": "Running",
            "created_at": "2026-11-21T00:00:00Z",
            "workflow_id": "materialize-2",
        },
        {
            "view": "c",
            "status": "Failed",
            "created_at": "2026-11-22T00:00:00Z",
            "workflow_id": "materialize-3",
        },
        {"view": "c", "status": "Completed", "created_at": "2026-11-19T00:00:00Z", "workflow_id": "other-4"},
    ]
    wh = make(fixture)
    v = ids(wh)
    statuses = [j["status"] for j in wh.list_jobs()]
    assert statuses == ["Failed", "Running", "Completed", "Completed"]  # -created_at
    assert set(wh.list_jobs()[0]) == {
        "id",
        "saved_query_id",
        "status",
        "rows_materialized",
        "error",
        "created_at",
        "last_run_at",
        "workflow_id",
        "workflow_run_id",
        "rows_expected",
    }
    assert [j["workflow_id"] for j in wh.list_jobs(saved_query_id=v["g"])] == [
        "materialize-2",
        "materialize-1",
    ]
    for bad in ("nope", str(uuid.uuid4())):
        status, body = error(wh.list_jobs, saved_query_id=bad)
        assert (status, body["code"], body["attr"]) == (400, "invalid_choice", "saved_query_id")
    recent = wh.recent_jobs()
    assert [j["saved_query_id"] for j in recent] == sorted([v["c"], v["g"]])  # DISTINCT ON saved_query_id
    assert {j["workflow_id"] for j in recent} == {"materialize-3", "materialize-1"}
    assert [j["workflow_id"] for j in wh.running_jobs()] == ["materialize-2"]
    assert wh.run_history(v["g"])["run_history"][0]["status"] == "Running"
    assert detail(wh.get_job, str(uuid.uuid4())) == (404, "Not found.")
    wh.delete_view(v["g"])
    assert wh.list_jobs(saved_query_id=v["g"]) == []
    activity = wh.completed_activity(cutoff_days=30)
    assert [a["type"] for a in activity] == ["Materialized view", "Materialized view"]
    assert activity[0]["name"] == "g" and activity[0]["created_at"] > activity[1]["created_at"]
    assert wh.completed_activity(cutoff_days=7) == [a for a in activity if a["created_at"] >= "2026-11-20"]
    assert len(wh.completed_activity(cutoff_days=7)) == 1


def test_completed_activity_includes_imports() -> None:
    fixture = base_fixture()
    fixture["external_jobs"] = [
        {
            "source_type": "Stripe",
            "status": "Completed",
            "rows_synced": 5,
            "created_at": "2026-11-25T00:00:00Z",
        },
        {"source_type": "Stripe", "status": "Failed", "created_at": "2026-11-25T01:00:00Z"},
    ]
    rows = make(fixture).completed_activity(cutoff_days=30)
    assert len(rows) == 1 and rows[0]["type"] == "Stripe" and rows[0]["rows"] == 5
    assert list(rows[0]) == [
        "id",
        "type",
        "name",
        "status",
        "rows",
        "created_at",
        "finished_at",
        "latest_error",
        "workflow_run_id",
        "origin",
    ]


# ---------------------------------------------------------------- folders
def test_folders_crud() -> None:
    wh = make()
    assert [f["name"] for f in wh.list_folders()] == ["Revenue"]
    assert wh.list_folders()[0]["view_count"] == 1
    new = wh.create_folder({"name": "  Alpha "}, user_id=1)
    assert new["name"] == "Alpha" and new["view_count"] == 0 and new["created_by"]["id"] == 1
    assert [f["name"] for f in wh.list_folders()] == ["Alpha", "Revenue"]
    assert detail(wh.create_folder, {"name": "   "}, user_id=1) == (400, "Folder name cannot be empty.")
    assert detail(wh.create_folder, {"name": "Revenue"}, user_id=1) == (
        400,
        "A folder with this name already exists.",
    )
    assert wh.update_folder(new["id"], {"name": "Beta"})["name"] == "Beta"
    assert wh.get_folder(new["id"])["name"] == "Beta"
    assert detail(wh.get_folder, "zzz") == (404, "Not found.")
    wh.delete_folder(new["id"])
    assert detail(wh.get_folder, new["id"]) == (404, "Not found.")


def test_folder_delete_rules() -> None:
    wh = make()
    v = ids(wh)
    wh.update_view(v["c"], {"folder_id": FOLDER})
    wh.update_view(v["p"], {"folder_id": FOLDER})
    # p, c and g all in the folder: deleted dependents-first, then the folder goes
    wh.delete_folder(FOLDER)
    assert set(ids(wh)) == {"ai", "charges", "const"}
    wh2 = make()
    v2 = ids(wh2)
    wh2.update_view(v2["c"], {"folder_id": FOLDER})
    wh2.update_view(v2["g"], {"folder_id": None})  # g, outside the folder, reads c
    status, message = detail(wh2.delete_folder, FOLDER)
    assert (status, message) == (
        400,
        "Cannot delete this folder because these views still have dependencies outside the folder: c",
    )
    assert "c" in ids(wh2)


# ---------------------------------------------------------------- data_warehouse endpoints and tables
def test_check_database_name() -> None:
    wh = make()
    assert error(wh.check_database_name, "mywarehouse") == (403, {"error": "This feature is not enabled"})
    assert detail(wh.check_database_name, None) == (400, "name query parameter is required")
    assert detail(wh.check_database_name, "Bad_Name")[1].startswith("name must be 3-63 characters")
    fixture = base_fixture()
    fixture["flags"] = ["provision-managed-warehouse-beta"]
    on = make(fixture)
    answer = on.check_database_name("mywarehouse")
    assert set(answer) == {"name", "available"} and answer["name"] == "mywarehouse"
    assert on.check_database_name("mywarehouse") == answer
    assert on.check_database_name("posthog")["available"] is False


def test_tables_and_dag() -> None:
    wh = make()
    tables = wh.list_tables()
    assert [t["name"] for t in tables] == ["stripe_charge"]
    assert tables[0]["id"] == STRIPE and tables[0]["external_data_source"]["source_type"] == "Stripe"
    assert {
        "id",
        "deleted",
        "name",
        "format",
        "created_by",
        "created_at",
        "url_pattern",
        "credential",
        "columns",
        "external_data_source",
        "external_schema",
    } == set(tables[0])
    assert wh.list_tables(search="zzz") == []
    assert wh.get_table(STRIPE)["name"] == "stripe_charge"
    assert detail(wh.get_table, "events")[0] == 404
    dag = wh.warehouse_dag()
    v = ids(wh)
    phex = uuid.UUID(v["p"]).hex
    assert ["events", phex] in dag["edges"] and ["posthog", "ai_events"] in dag["edges"]
    kinds = dict(map(tuple, dag["nodes"]))
    assert (
        kinds[phex] == "SavedQuery"
        and kinds["events"] == "PostHog"
        and kinds[uuid.UUID(STRIPE).hex] == "Table"
    )
    assert dag["edges"] == sorted(dag["edges"])


def test_fixture_is_not_mutated_and_deterministic() -> None:
    fixture = base_fixture()
    before = copy.deepcopy(fixture)
    a, b = make(fixture), make(fixture)
    assert fixture == before
    assert a.list_views() == b.list_views()
    shape_a, _ = a.create_view({"name": "n", "query": hq("SELECT 1")}, user_id=1)
    shape_b, _ = b.create_view({"name": "n", "query": hq("SELECT 1")}, user_id=1)
    assert shape_a["id"] == shape_b["id"]


def test_deleted_names_may_repeat_and_resolve_last() -> None:
    fixture = base_fixture()
    fixture["views"].append({"name": "c", "query": "SELECT 1", "parents": [], "deleted": True})
    fixture["views"].append({"name": "old", "query": "SELECT 1", "parents": [], "deleted": True})
    fixture["views"].append({"name": "reader", "query": "select * from old", "parents": ["old", "c"]})
    wh = make(fixture)
    v = ids(wh)
    assert sorted(v) == ["ai", "c", "charges", "const", "g", "p", "reader"]
    ghost = next(
        i for i in wh.ancestors(v["reader"]) if i not in v.values() and i not in ("events", "persons")
    )
    assert detail(wh.get_view, ghost) == (404, "Not found.")
    assert v["c"] in wh.ancestors(v["reader"])  # the live "c" wins over the deleted one


def test_run_history_keeps_five_newest() -> None:
    fixture = base_fixture()
    fixture["jobs"] = [
        {
            "view": "g",
            "status": "Completed" if i % 2 else "Failed",
            "created_at": f"2026-11-2{i}T00:00:00Z",
            "last_run_at": f"2026-11-2{i}T01:00:00Z",
        }
        for i in range(7)
    ]
    history = make(fixture).run_history(ids(make(fixture))["g"])["run_history"]
    assert [h["timestamp"] for h in history] == [f"2026-11-2{i}T01:00:00Z" for i in range(6, 1, -1)]
    assert [h["status"] for h in history] == ["Failed", "Completed", "Failed", "Completed", "Failed"]
    assert make().run_history(ids(make())["g"]) == {"run_history": []}


def test_columns_are_recomputed_from_the_query() -> None:
    from conftest import VIEW_IDS, make_small_fixture

    fixture = make_small_fixture()
    for v in fixture["views"]:
        if v["name"] == "orders":
            v["columns"] = [{"name": "id", "type": "string"}, {"name": "amount", "type": "float"}]
    wh = Warehouse(fixture)
    view = wh.get_view(VIEW_IDS["revenue_report"])
    body = {
        "query": {"kind": "HogQLQuery", "query": "SELECT created AS day, n * 2 AS doubled FROM orders_daily"}
    }
    after = wh.update_view(
        VIEW_IDS["revenue_report"], {**body, "edited_history_id": view["latest_history_id"]}
    )
    assert [c["name"] for c in after["columns"]] == ["day", "doubled"]
    created, was_created = wh.create_view(
        {"name": "everything", "query": {"kind": "HogQLQuery", "query": "SELECT * FROM orders"}}, user_id=1
    )
    assert was_created
    assert [(c["name"], c["type"]) for c in created["columns"]] == [("id", "string"), ("amount", "float")]
