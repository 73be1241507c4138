"""Spec conformance of the simulator, statement by statement (posthog-api.md, E2 unless named).

Everything goes over ``httpx.ASGITransport`` against ``create_app(Warehouse(fixture))`` and asserts
exact status codes, bodies and headers. Items already proven in test_sim_http.py / test_sim_state.py
are not repeated here; this file holds the gaps an audit found.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from conftest import FOLDER_IDS, TABLE_IDS, TEAM_ID, VIEW_IDS, make_small_fixture

from lineage.sim import auth
from lineage.sim.app import MAX_BODY_BYTES, create_app
from lineage.sim.faults import FaultConfig
from lineage.sim.state import Warehouse
from lineage.sim.throttle import Throttler
from lineage.sim.validate import search_terms

API = f"/api/projects/{TEAM_ID}"
SQ = f"{API}/warehouse_saved_queries"
FOLDERS = f"{API}/warehouse_saved_query_folders"
JOBS = f"{API}/data_modeling_jobs"
SESSION = {"Cookie": "sessionid=phx_none"}


def hog(type_: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    return {"type": type_, "code": code, "detail": detail, "attr": attr}


def bad(detail: str, attr: str | None = None, code: str = "invalid_input") -> dict[str, Any]:
    return hog("validation_error", code, detail, attr)


NOT_FOUND = hog("invalid_request", "not_found", "Not found.")
SERVER_ERROR = hog("server_error", "error", "A server error occurred.")


class Client:
    """Synchronous calls into one app; ``key`` None sends no Authorization header."""

    def __init__(self, fixture: dict[str, Any] | None = None, **opts: Any) -> None:
        era = opts.pop("era", "e2")
        self.app = create_app(Warehouse(fixture or make_small_fixture(), era=era), **opts)

    @property
    def wh(self) -> Warehouse:
        warehouse: Warehouse = self.app.state.sim.warehouse
        return warehouse

    def __call__(
        self,
        method: str,
        path: str,
        *,
        key: str | None = "phx_write",
        client: tuple[str, int] = ("127.0.0.1", 4000),
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=client)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                return await http.request(method, path, headers=headers, **kwargs)

        return asyncio.run(go())

    def create(self, name: str, sql: str, **extra: Any) -> httpx.Response:
        body = {"name": name, "query": {"kind": "HogQLQuery", "query": sql}, **extra}
        return self("POST", f"{SQ}/", json=body)


@pytest.fixture
def c() -> Client:
    return Client()


def hq(sql: str) -> dict[str, str]:
    return {"kind": "HogQLQuery", "query": sql}


# --- section 1: list, pagination, search --------------------------------------------------------------


def _with_views(n: int) -> dict[str, Any]:
    fx = make_small_fixture()
    fx["views"] += [
        {"name": f"bulk_{i:04d}", "query": "SELECT 1", "parents": [], "created_at": "2025-06-01T00:00:00Z"}
        for i in range(n)
    ]
    return fx


def test_150_views_are_one_page_and_page_size_cannot_be_overridden() -> None:
    c = Client(_with_views(144))
    for params in ({}, {"page_size": "5"}, {"page": ""}, {"page": "last"}, {"limit": "3"}):
        body = c("GET", f"{SQ}/", params=params).json()
        assert (body["count"], len(body["results"]), body["next"], body["previous"]) == (150, 150, None, None)


def test_page_links_keep_other_params_and_page_2_previous_drops_page() -> None:
    c = Client(_with_views(1500))
    first = c("GET", f"{SQ}/", params={"search": "bulk", "zzz": "1"}).json()
    assert first["next"] == f"http://testserver{SQ}/?page=2&search=bulk&zzz=1"
    second = c("GET", first["next"]).json()
    assert second["previous"] == f"http://testserver{SQ}/?search=bulk&zzz=1"
    assert (second["next"], len(second["results"])) == (None, 500)
    r = c("GET", f"{SQ}/", params={"page": "3"})
    assert (r.status_code, r.json()) == (404, hog("invalid_request", "not_found", "Invalid page."))


@pytest.mark.parametrize(
    ("search", "names"),
    [
        ("ORDERS", ["orders", "orders_daily"]),  # icontains
        ("orders daily", ["orders_daily"]),  # whitespace-separated terms are ANDed
        ("orders,daily", ["orders_daily"]),  # so are comma-separated ones
        ("rev port", ["revenue_report"]),
        ('"orders_d"', ["orders_daily"]),  # a quoted term loses its quotes
        ("orders nothing", []),
        ("", ["ai_usage", "constant", "event_counts", "orders", "orders_daily", "revenue_report"]),
    ],
)
def test_search_terms_are_anded_icontains(c: Client, search: str, names: list[str]) -> None:
    rows = c("GET", f"{SQ}/", params={"search": search}).json()["results"]
    assert sorted(r["name"] for r in rows) == names


def test_search_term_splitting_follows_drf() -> None:
    assert search_terms(" a  b,c ,\"x y\" 'q,r' ,,\x00") == ["a", "b", "c", "x y", "q,r"]


def test_list_is_minimal_newest_first_and_retrieve_adds_query_and_history(c: Client) -> None:
    rows = c("GET", f"{SQ}/").json()["results"]
    assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows), reverse=True)
    assert list(rows[0]) == [
        "id", "deleted", "name", "created_by", "created_at", "description", "sync_frequency", "columns",
        "status", "last_run_at", "managed_viewset_kind", "folder_id", "folder_name", "latest_error",
        "is_materialized", "origin", "is_test", "expires_at", "user_access_level",
    ]  # fmt: skip
    one = c("GET", f"{SQ}/{VIEW_IDS['orders_daily']}/").json()
    assert set(one) - set(rows[0]) == {"query", "latest_history_id"}
    assert one["query"] == {"kind": "HogQLQuery", "query": make_small_fixture()["views"][3]["query"]}
    assert list(one["created_by"]) == [
        "id", "uuid", "distinct_id", "first_name", "last_name", "email", "is_email_verified",
        "hedgehog_config", "role_at_organization",
    ]  # fmt: skip
    # last_run_at is the newest job's (by last_run_at), not the view's own field
    assert one["last_run_at"] == "2026-11-22T00:04:00Z"
    assert (one["folder_id"], one["folder_name"]) == (FOLDER_IDS["Revenue"], "Revenue")


def test_columns_shape_and_e3_include_columns() -> None:
    c = Client()
    r = c.create("typed", "select event from events", types=[["event", "Nullable(String)"]])
    assert r.json()["columns"] == [
        {"key": "event", "name": "event", "type": "string", "schema_valid": True, "fields": None,
         "table": None, "chain": None},
    ]  # fmt: skip
    e3 = Client(era="e3")
    e3.create("typed", "select event from events", types=[["event", "String"]])
    full = e3("GET", f"{SQ}/", params={"search": "typed"}).json()["results"][0]
    assert full["columns"][0]["description"] is None
    lean = e3("GET", f"{SQ}/", params={"search": "typed", "include_columns": "false"}).json()
    assert lean["results"][0]["columns"] == []
    # E2 ignores the parameter
    assert c("GET", f"{SQ}/", params={"search": "typed", "include_columns": "false"}).json()["results"][0][
        "columns"
    ]


# --- section 1: create / upsert / validation ------------------------------------------------------------


def test_upsert_200_vs_201_and_deleted_rows_are_renamed(c: Client) -> None:
    first = c.create("upsert_me", "select event from events")
    assert first.status_code == 201
    history = first.json()["latest_history_id"]
    again = c.create("upsert_me", "select * from persons", edited_history_id=history)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert c("DELETE", f"{SQ}/{first.json()['id']}/").status_code == 204
    deleted = c.wh._views[first.json()["id"]]
    assert deleted.name.startswith("POSTHOG_DELETED_") and len(deleted.name) == 16 + 32
    # the old name is free: a new row (201), not an upsert onto the deleted one
    fresh = c.create("upsert_me", "SELECT 1")
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    # the upsert lookup does not exclude deleted rows: their new name still matches (PostHog's quirk)
    ghost = c.create(deleted.name, "SELECT 2", soft_update=True)
    assert (ghost.status_code, ghost.json()["id"], ghost.json()["deleted"]) == (200, first.json()["id"], True)


@pytest.mark.parametrize(
    ("name", "sql", "expected"),
    [
        ("events", "SELECT 1", bad("A table with this name already exists.", "name")),
        ("persons", "SELECT 1", bad("A table with this name already exists.", "name")),
        ("stripe_charge", "SELECT 1", bad("A table with this name already exists.", "name")),
        ("posthog.ai_events", "SELECT 1", bad("A table with this name already exists.", "name")),
        ("  events  ", "SELECT 1", bad("A table with this name already exists.", "name")),  # trimmed
        ("   ", "SELECT 1", bad("This field may not be blank.", "name", "blank")),
        (
            "x" * 129,
            "SELECT 1",
            bad("Ensure this field has no more than 128 characters.", "name", "max_length"),
        ),
        (
            "caf\u00e9",
            "SELECT 1",
            bad(
                "caf\u00e9 is not a valid view name. View names can only contain letters, numbers, '_', '.', "
                "or '$'. They must start with a letter, '_' or '$'.",
                "name",
                "invalid_character",
            ),
        ),
        (
            "v1",
            "select {filters} from events",
            bad("Filters and placeholder expressions are not allowed in views", "query"),
        ),
        (
            "v2",
            "select {1 + 2} from events",
            bad("Filters and placeholder expressions are not allowed in views", "query"),
        ),
        (
            "v3",
            "select {variables.foo} from events",
            bad("Variables like {variables.foo} are not allowed in views", "query"),
        ),
    ],
)
def test_create_errors_exact(c: Client, name: str, sql: str, expected: dict[str, Any]) -> None:
    r = c.create(name, sql)
    assert (r.status_code, r.json()) == (400, expected)


def test_trimmed_name_and_unicode_text_round_trip(c: Client) -> None:
    sql = "SELECT 'Umsätze 📈' AS label"
    r = c.create("  padded_name  ", sql, description="Zusammenfassung — ✓")
    assert r.status_code == 201 and r.json()["name"] == "padded_name"
    assert r.headers["content-type"] == "application/json"
    got = c("GET", f"{SQ}/{r.json()['id']}/").json()
    assert got["query"]["query"] == sql and got["description"] == "Zusammenfassung — ✓"
    assert "Umsätze 📈".encode() in c("GET", f"{SQ}/{r.json()['id']}/").content


def test_unknown_table_is_a_400(c: Client) -> None:
    r = c.create("on_nothing", "select * from nowhere_table")
    assert r.status_code == 400 and r.json()["detail"].startswith("Invalid query: ")
    assert r.json()["type"] == "validation_error"


# --- section 1: update ----------------------------------------------------------------------------------


def test_edited_history_id_conflict_and_soft_update(c: Client) -> None:
    view = c.create("edit_me", "select event from events").json()
    path = f"{SQ}/{view['id']}/"
    stale = c("PATCH", path, json={"query": hq("SELECT 2"), "edited_history_id": "12345"})
    assert (stale.status_code, stale.json()) == (400, bad("The query was modified by someone else."))
    missing = c("PATCH", path, json={"query": hq("SELECT 2")})
    assert missing.status_code == 400
    ok = c("PATCH", path, json={"query": hq("SELECT 2"), "edited_history_id": view["latest_history_id"]})
    assert ok.status_code == 200 and ok.json()["status"] == "Modified"
    assert ok.json()["latest_history_id"] != view["latest_history_id"]
    # the id is compared as text, so the integer and its string are the same
    text_id = str(ok.json()["latest_history_id"])
    assert c("PATCH", path, json={"query": hq("SELECT 3"), "edited_history_id": text_id}).status_code == 200
    assert c("PATCH", path, json={"query": hq("SELECT 4"), "soft_update": True}).status_code == 200
    # no query in the body: no conflict check at all
    assert c("PATCH", path, json={"description": "x"}).status_code == 200


@pytest.mark.parametrize("era", ["e2", "e3"])
def test_sync_frequency_never_clamping_and_choices(era: str) -> None:
    c = Client(era=era)
    path = f"{SQ}/{VIEW_IDS['orders']}/"
    assert c("PATCH", path, json={"sync_frequency": "never"}).json()["sync_frequency"] is None
    for sent, read in (("1min", "15min"), ("5min", "15min"), ("6hour", "6hour"), ("30day", "30day")):
        assert c("PATCH", path, json={"sync_frequency": sent}).json()["sync_frequency"] == read
    r = c("PATCH", path, json={"sync_frequency": "hourly"})
    assert (r.status_code, r.json()) == (
        400,
        bad('"hourly" is not a valid choice.', "sync_frequency", "invalid_choice"),
    )
    assert c("PATCH", path, json={"sync_frequency": ["24hour"]}).json() == SERVER_ERROR
    # create validates the field too, then drops it (cadence comes from materialize)
    r = c.create("with_freq", "SELECT 1", sync_frequency="weekly")
    assert (r.status_code, r.json()["code"]) == (400, "invalid_choice")
    r = c.create("with_freq", "SELECT 1", sync_frequency="6hour")
    assert (r.status_code, r.json()["sync_frequency"]) == (201, None)


def test_managed_viewset_views() -> None:
    fx = make_small_fixture()
    fx["views"].append(
        {"name": "mrr", "query": "SELECT 1", "parents": [], "managed_viewset_kind": "revenue_analytics"}
    )
    hidden = Client(fx)
    assert "mrr" not in [r["name"] for r in hidden("GET", f"{SQ}/").json()["results"]]
    fx["flags"] = ["managed-viewsets"]
    c = Client(fx)
    mrr = next(r["id"] for r in c("GET", f"{SQ}/").json()["results"] if r["name"] == "mrr")
    assert c("GET", f"{SQ}/{mrr}/").json()["managed_viewset_kind"] == "revenue_analytics"
    assert (hidden("GET", f"{SQ}/{mrr}/").status_code, hidden("GET", f"{SQ}/{mrr}/").json()) == (
        404,
        NOT_FOUND,
    )
    cases = [
        ("PATCH", "", {"description": "x"}, "Cannot update a query from a managed viewset"),
        (
            "DELETE",
            "",
            None,
            "Cannot delete a query from a managed viewset directly. Disable the managed viewset instead.",
        ),
        ("POST", "materialize/", None, "Cannot materialize a query from a managed viewset."),
        (
            "POST",
            "revert_materialization/",
            None,
            "Cannot revert materialization of a query from a managed viewset.",
        ),
    ]
    for method, action, body, detail in cases:
        r = c(method, f"{SQ}/{mrr}/{action}", json=body)
        assert (r.status_code, r.json()) == (400, bad(detail)), action


# --- section 1: delete and actions ------------------------------------------------------------------------


def test_delete_with_dependents_per_era() -> None:
    detail = "Cannot delete this view because other views depend on it. Delete or update those views first."
    c = Client()
    r = c("DELETE", f"{SQ}/{VIEW_IDS['orders']}/")
    assert (r.status_code, r.json()) == (400, bad(detail))
    e3 = Client(era="e3")
    r = e3("DELETE", f"{SQ}/{VIEW_IDS['orders']}/")
    assert (r.status_code, r.json()) == (400, {**bad(detail), "extra": {"node_id": VIEW_IDS["orders"]}})
    # the leaf goes; later GET and actions on it are 404
    leaf = VIEW_IDS["revenue_report"]
    r = c("DELETE", f"{SQ}/{leaf}/")
    assert (r.status_code, r.content, r.headers.get("content-length")) == (204, b"", None)
    for method, action in (("GET", ""), ("POST", "ancestors/"), ("POST", "run/"), ("DELETE", "")):
        r = c(method, f"{SQ}/{leaf}/{action}")
        assert (r.status_code, r.json()) == (404, NOT_FOUND), action


@pytest.mark.parametrize("view_id", ["not-a-uuid", "0a000000000040008000000000000001x", "12"])
def test_malformed_ids_on_actions_are_404(c: Client, view_id: str) -> None:
    for method, action in (("POST", "run/"), ("GET", "dependencies/"), ("POST", "descendants/")):
        r = c(method, f"{SQ}/{view_id}/{action}")
        assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_undashed_uuid_in_the_path_finds_the_view(c: Client) -> None:
    undashed = VIEW_IDS["orders"].replace("-", "")
    assert c("GET", f"{SQ}/{undashed}/").json()["id"] == VIEW_IDS["orders"]


def test_action_answers_and_empty_bodies(c: Client) -> None:
    daily = VIEW_IDS["orders_daily"]
    r = c("POST", f"{SQ}/{daily}/cancel/")
    assert (r.status_code, r.json()) == (400, {"error": "Cannot cancel a query that is not running"})
    assert (c("POST", f"{SQ}/{daily}/run/").content, c.wh.get_view(daily)["status"]) == (b"", "Running")
    r = c("POST", f"{SQ}/{daily}/cancel/")
    assert (r.status_code, r.content) == (200, b"")
    assert c("GET", f"{SQ}/{daily}/").json()["status"] == "Cancelled"
    r = c("POST", f"{SQ}/{daily}/revert_materialization/")
    assert (r.status_code, r.content) == (200, b"")
    reverted = c("GET", f"{SQ}/{daily}/").json()
    assert (reverted["is_materialized"], reverted["sync_frequency"], reverted["status"]) == (
        False,
        None,
        None,
    )
    assert c("POST", f"{SQ}/{daily}/materialize/").content == b""
    again = c("GET", f"{SQ}/{daily}/").json()
    assert (again["is_materialized"], again["sync_frequency"]) == (True, "24hour")
    r = c(
        "POST", f"{SQ}/resume_schedules/", json={"view_ids": [daily, "0a000000-0000-4000-8000-0000000000ff"]}
    )
    assert (r.status_code, r.content) == (202, b"")
    assert c("GET", f"{SQ}/{daily}/dependencies/").json() == {"upstream_count": 2, "downstream_count": 1}
    history = c("GET", f"{SQ}/{daily}/run_history/").json()["run_history"]
    assert history[0]["status"] == "Running" and len(history) == 4


def test_materialize_and_cancel_failures_are_hand_written_500s() -> None:
    fx = make_small_fixture()
    fx["views"][5].update(fail_materialize=True, fail_cancel=True, status="Running")
    c = Client(fx)
    const = VIEW_IDS["constant"]
    r = c("POST", f"{SQ}/{const}/materialize/")
    assert (r.status_code, r.json()) == (
        500,
        {"error": "Materialization failed. Please try again or contact support."},
    )
    assert c("GET", f"{SQ}/{const}/").json()["is_materialized"] is False
    r = c("POST", f"{SQ}/{const}/cancel/")
    assert (r.status_code, r.json()) == (500, {"error": "Failed to cancel workflow"})


def test_e2_run_and_materialize_never_read_the_body(c: Client) -> None:
    headers = {"Content-Type": "application/json"}
    r = c("POST", f"{SQ}/{VIEW_IDS['orders']}/run/", content=b"{broken", headers=headers)
    assert (r.status_code, r.content) == (200, b"")
    e3 = Client(era="e3")
    r = e3("POST", f"{SQ}/{VIEW_IDS['orders']}/run/", content=b"{broken", headers=headers)
    assert (r.status_code, r.json()["code"]) == (400, "parse_error")


def test_e3_level_validation_bodies() -> None:
    c = Client(era="e3")
    path = f"{SQ}/{VIEW_IDS['revenue_report']}/ancestors/"
    cases: list[tuple[Any, dict[str, Any]]] = [
        (0, bad("Ensure this value is greater than or equal to 1.", "level", "min_value")),
        (-3, bad("Ensure this value is greater than or equal to 1.", "level", "min_value")),
        ("abc", bad("A valid integer is required.", "level")),
        (1.5, bad("A valid integer is required.", "level")),
    ]
    for level, expected in cases:
        r = c("POST", path, key=None, headers=SESSION, json={"level": level})
        assert (r.status_code, r.json()) == (400, expected), level
    r = c("POST", path, key=None, headers=SESSION, json={"level": "1"})
    assert r.json() == {"ancestors": [VIEW_IDS["orders_daily"]]}


# --- section 2: folders ------------------------------------------------------------------------------------


def test_folder_rules(c: Client) -> None:
    r = c("POST", f"{FOLDERS}/", json={"name": "  Umsätze 📈  "})
    assert r.status_code == 201
    created = r.json()
    assert list(created) == ["id", "name", "created_at", "created_by", "view_count", "user_access_level"]
    assert (created["name"], created["view_count"]) == ("Umsätze 📈", 0)
    r = c("POST", f"{FOLDERS}/", json={"name": "   "})
    assert (r.status_code, r.json()) == (400, bad("Folder name cannot be empty.", "name"))
    r = c("POST", f"{FOLDERS}/", json={"name": " Revenue "})
    assert (r.status_code, r.json()) == (400, bad("A folder with this name already exists.", "name"))
    r = c("PATCH", f"{FOLDERS}/{created['id']}/", json={"name": "Product"})
    assert (r.status_code, r.json()["detail"]) == (400, "A folder with this name already exists.")
    # renaming to its own name is no clash
    assert c("PATCH", f"{FOLDERS}/{created['id']}/", json={"name": "Umsätze 📈"}).status_code == 200
    names = [f["name"] for f in c("GET", f"{FOLDERS}/").json()]
    assert names == sorted(names) == ["Product", "Revenue", "Umsätze 📈"]
    for method in ("PUT", "HEAD", "OPTIONS"):
        r = c(method, f"{FOLDERS}/{created['id']}/", json={"name": "x"} if method == "PUT" else None)
        assert r.status_code == 405, method
        assert r.headers["allow"] == "GET, PATCH, DELETE"
    assert c("GET", f"{FOLDERS}/").headers["allow"] == "GET, POST"
    assert c("PATCH", f"{FOLDERS}/not-a-uuid/", json={"name": "q"}).json() == NOT_FOUND


def test_folder_delete_blocked_by_outside_dependents_lists_sorted_names(c: Client) -> None:
    # Revenue holds orders and orders_daily; move revenue_report (reads orders_daily) outside, and
    # give orders a second outside reader so that both stay blocked
    c.create("z_outside", "select * from orders")
    r = c("DELETE", f"{FOLDERS}/{FOLDER_IDS['Revenue']}/")
    expected = "Cannot delete this folder because these views still have dependencies outside the folder: "
    assert (r.status_code, r.json()) == (400, bad(expected + "orders, orders_daily"))
    # the Product folder's only view (event_counts) is read by orders_daily outside it
    r = c("DELETE", f"{FOLDERS}/{FOLDER_IDS['Product']}/")
    assert r.json()["detail"] == expected + "event_counts"


def test_folder_delete_takes_its_views_dependents_first(c: Client) -> None:
    folder = c("POST", f"{FOLDERS}/", json={"name": "Chain"}).json()["id"]
    a = c.create("chain_a", "select event from events", folder_id=folder).json()["id"]
    b = c.create("chain_b", "select * from chain_a", folder_id=folder).json()["id"]
    assert c("GET", f"{FOLDERS}/{folder}/").json()["view_count"] == 2
    r = c("DELETE", f"{FOLDERS}/{folder}/")
    assert (r.status_code, r.content) == (204, b"")
    for view_id in (a, b):
        assert c("GET", f"{SQ}/{view_id}/").status_code == 404
    assert c("GET", f"{FOLDERS}/{folder}/").json() == NOT_FOUND


def test_view_folder_id_must_exist(c: Client) -> None:
    r = c(
        "PATCH", f"{SQ}/{VIEW_IDS['constant']}/", json={"folder_id": "0c000000-0000-4000-8000-0000000000ff"}
    )
    assert (r.status_code, r.json()["attr"], r.json()["code"]) == (400, "folder_id", "does_not_exist")


# --- section 4: jobs -------------------------------------------------------------------------------------


def test_jobs_filters_ordering_and_deleted_views(c: Client) -> None:
    everything = c("GET", f"{JOBS}/").json()
    ignored = c("GET", f"{JOBS}/", params={"ordering": "created_at", "search": "orders_daily"}).json()
    assert ignored["results"] == everything["results"]
    assert "count" not in everything
    assert list(everything["results"][0]) == [
        "id", "saved_query_id", "status", "rows_materialized", "error", "created_at", "last_run_at",
        "workflow_id", "workflow_run_id", "rows_expected",
    ]  # fmt: skip
    r = c("GET", f"{JOBS}/", params={"saved_query_id": "nope"})
    assert (r.status_code, r.json()) == (
        400,
        bad(
            "Select a valid choice. That choice is not one of the available choices.",
            "saved_query_id",
            "invalid_choice",
        ),
    )
    c("DELETE", f"{SQ}/{VIEW_IDS['revenue_report']}/")
    c("DELETE", f"{SQ}/{VIEW_IDS['orders_daily']}/")
    r = c("GET", f"{JOBS}/", params={"saved_query_id": VIEW_IDS["orders_daily"]})
    assert (r.status_code, r.json()) == (200, {"next": None, "previous": None, "results": []})
    # the jobs themselves stay listed
    assert len(c("GET", f"{JOBS}/").json()["results"]) == 4


def test_running_and_recent(c: Client) -> None:
    c("POST", f"{SQ}/{VIEW_IDS['constant']}/run/")
    running = c("GET", f"{JOBS}/running/", key=None, headers=SESSION).json()
    assert [j["saved_query_id"] for j in running] == [VIEW_IDS["constant"]]
    assert running[0]["workflow_id"].startswith("materialize")
    recent = c("GET", f"{JOBS}/recent/", key=None, headers=SESSION).json()
    # newest non-running materialize job per view, ordered by saved_query_id
    assert [(j["saved_query_id"], j["status"]) for j in recent] == [
        (VIEW_IDS["orders"], "Completed"),
        (VIEW_IDS["orders_daily"], "Completed"),
    ]
    assert recent[1]["created_at"] == "2026-11-22T00:00:00Z"
    c("POST", "/_sim/clock", key=None, json={"advance": 3600})
    assert c("GET", f"{JOBS}/running/", key=None, headers=SESSION).json() == []
    recent = c("GET", f"{JOBS}/recent/", key=None, headers=SESSION).json()
    assert VIEW_IDS["constant"] in [j["saved_query_id"] for j in recent]


# --- section 5: data_warehouse endpoints ---------------------------------------------------------------


def _with_jobs(n: int) -> dict[str, Any]:
    fx = make_small_fixture()
    start = datetime(2026, 11, 25, tzinfo=UTC)
    fx["jobs"] += [
        {
            "view": "orders",
            "status": "Completed",
            "created_at": (start - timedelta(minutes=i)).isoformat(),
            "workflow_id": f"materialize-x-{i}",
        }
        for i in range(n)
    ]
    return fx


def test_completed_activity_limits_and_links() -> None:
    c = Client(_with_jobs(60))
    path = f"{API}/data_warehouse/completed_activity/"

    def get(**params: str) -> httpx.Response:
        return c("GET", path, key=None, headers=SESSION, params=params)

    body = get(limit="500").json()
    assert (len(body["results"]), body["next"], body["previous"]) == (
        50,
        "?limit=50&offset=50&cutoff_days=30",
        None,
    )
    assert [r["created_at"] for r in body["results"]] == sorted(
        (r["created_at"] for r in body["results"]), reverse=True
    )
    assert get().json()["next"] == "?limit=20&offset=20&cutoff_days=30"
    tail = get(limit="20", offset="60").json()
    assert (len(tail["results"]), tail["next"], tail["previous"]) == (
        3,  # 60 + the fixture's three completed jobs
        None,
        "?limit=20&offset=40&cutoff_days=30",
    )
    zero = get(limit="0", offset="5").json()
    assert zero == {
        "results": [],
        "next": "?limit=0&offset=5&cutoff_days=30",
        "previous": "?limit=0&offset=5&cutoff_days=30",
    }
    for params in ({"limit": "1.5"}, {"offset": "x"}, {"cutoff_days": "week"}):
        r = get(**params)
        assert (r.status_code, r.json()) == (
            400,
            {"error": "Invalid limit, offset, or cutoff_days parameter"},
        )
    r = get(limit="-5")
    assert (r.status_code, r.json()) == (500, {"error": "Database error occurred"})


def test_check_database_name() -> None:
    path = f"{API}/data_warehouse/check-database-name/"
    c = Client()
    cases = [
        ({}, 400, {"error": "name query parameter is required"}),
        ({"name": "mywarehouse"}, 403, {"error": "This feature is not enabled"}),
    ]
    for params, status, body in cases:
        r = c("GET", path, key=None, headers=SESSION, params=params)
        assert (r.status_code, r.json()) == (status, body)
    r = c("GET", path, key=None, headers=SESSION, params={"name": "Bad_Name"})
    assert r.status_code == 400 and r.json()["error"].startswith("name must be 3-63 characters")
    fx = make_small_fixture()
    fx["flags"] = ["provision-managed-warehouse-beta"]
    on = Client(fx)
    answer = on("GET", path, key=None, headers=SESSION, params={"name": "orders-wh"}).json()
    assert set(answer) == {"name", "available"} and answer["name"] == "orders-wh"


# --- section 5: auth, teams, scopes -------------------------------------------------------------------------


def test_auth_sources_and_401_bodies(c: Client) -> None:
    def detail(source: str) -> dict[str, Any]:
        return hog(
            "authentication_error",
            "authentication_failed",
            f"Personal API key found in request {source} is invalid.",
        )

    r = c("GET", f"{SQ}/", key="phx_nope")
    assert (r.status_code, r.json()) == (401, detail("Authorization header"))
    r = c("POST", f"{SQ}/{VIEW_IDS['orders']}/ancestors/", key=None, json={"personal_api_key": "phx_nope"})
    assert (r.status_code, r.json()) == (401, detail("body"))
    r = c("GET", f"{SQ}/", key=None, params={"personal_api_key": "phx_nope"})
    assert (r.status_code, r.json()) == (401, detail("query string"))
    not_auth = hog(
        "authentication_error", "not_authenticated", "Authentication credentials were not provided."
    )
    for headers in ({"Authorization": "Basic cGh4X3JlYWQ6"}, {"Authorization": "Bearer "}, {}):
        r = c("GET", f"{SQ}/", key=None, headers=headers)
        assert (r.status_code, r.json()) == (401, not_auth), headers
    # a urlencoded form body carries the key as well
    r = c(
        "POST",
        f"{SQ}/{VIEW_IDS['orders']}/ancestors/",
        key=None,
        content=b"personal_api_key=phx_read&level=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.json()) == (200, {"ancestors": [TABLE_IDS["stripe_charge"]]})


def test_teams_current_and_project_not_found(c: Client) -> None:
    project_not_found = hog("invalid_request", "not_found", "Project not found.")
    for team in ("abc", "@me", "-1", "999"):
        r = c("GET", f"/api/environments/{team}/warehouse_saved_queries/")
        assert (r.status_code, r.json()) == (404, project_not_found), team
    assert c("GET", "/api/environments/@current/data_modeling_jobs").status_code == 200
    r = c("GET", f"{SQ}/", key="phx_other")
    assert (r.status_code, r.json()) == (
        403,
        hog(
            "authentication_error",
            "permission_denied",
            f"API key does not have access to the requested project: ID {TEAM_ID}.",
        ),
    )


_ACTIONS = [
    ("POST", "ancestors/"),
    ("POST", "descendants/"),
    ("GET", "dependencies/"),
    ("GET", "run_history/"),
    ("POST", "run/"),
    ("POST", "materialize/"),
    ("POST", "revert_materialization/"),
    ("POST", "cancel/"),
]
_SCOPES = {
    "e2": {
        "ancestors/": "read",
        "descendants/": "read",
        "dependencies/": "read",
        "run_history/": "read",
        "run/": "write",
        "materialize/": "write",
        "revert_materialization/": "write",
        "cancel/": "write",
        "resume_schedules/": "write",
    },
    "e3": {
        "run_history/": "read",
        "run/": "write",
        "materialize/": "write",
        "revert_materialization/": "write",
        "resume_schedules/": "write",
    },
}


@pytest.mark.parametrize("era", ["e2", "e3"])
def test_scope_table_per_era(era: str) -> None:
    c = Client(era=era)
    denied = {"type": "authentication_error", "code": "permission_denied", "attr": None}
    actions = [*_ACTIONS, ("POST", "resume_schedules/")]
    for method, action in actions:
        path = f"{SQ}/{action}" if action == "resume_schedules/" else f"{SQ}/{VIEW_IDS['constant']}/{action}"
        body = {"view_ids": [VIEW_IDS["constant"]]} if action == "resume_schedules/" else None
        level = _SCOPES[era].get(action)
        none = c(method, path, key="phx_none", json=body)
        if level is None:
            expected = {**denied, "detail": auth.NO_PAK_DETAIL}
            assert (none.status_code, none.json()) == (403, expected), action
            assert c(method, path, key="phx_all", json=body).json() == expected, action
            # a browser session may still use it
            assert c(method, path, key=None, headers=SESSION, json=body).status_code != 403, action
            continue
        scope = f"warehouse_view:{level}"
        assert none.json() == {**denied, "detail": f"API key missing required scope '{scope}'"}, action
        if level == "write":
            assert c(method, path, key="phx_read", json=body).status_code == 403, action
        granted = c(method, path, key="phx_read" if level == "read" else "phx_write", json=body)
        assert granted.status_code != 403, action


def test_internal_and_no_scope_endpoints_refuse_every_key(c: Client) -> None:
    expected = hog("authentication_error", "permission_denied", auth.NO_PAK_DETAIL)
    for path in (f"{API}/warehouse_dag/", f"{JOBS}/running/", f"{JOBS}/recent/"):
        for key in ("phx_all", "phx_write"):
            r = c("GET", path, key=key)
            assert (r.status_code, r.json()) == (403, expected), (path, key)


# --- section 5: throttles -------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def test_action_throttles_replace_the_defaults() -> None:
    c = Client()
    c.app.state.sim.throttler = Throttler(time_fn=FakeTime())
    orders = VIEW_IDS["orders"]
    for _ in range(480):
        assert c("GET", f"{SQ}/{orders}/dependencies/", key="phx_write").status_code == 200
    r = c("GET", f"{SQ}/", key="phx_write")
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    # run and materialize have their own per-view buckets and do not look at the burst bucket
    assert c("POST", f"{SQ}/{orders}/run/", key="phx_write").status_code == 200
    assert c("POST", f"{SQ}/{orders}/materialize/", key="phx_write").status_code == 200
    # sessions are never throttled; other keys have their own bucket
    assert c("GET", f"{SQ}/", key=None, headers=SESSION).status_code == 200
    assert c("GET", f"{SQ}/", key="phx_all").status_code == 200
    # a refused scope is not counted (permissions run before throttles)
    fresh = Client()
    fresh.app.state.sim.throttler = Throttler(time_fn=FakeTime())
    for _ in range(12):
        assert fresh("POST", f"{SQ}/{orders}/run/", key="phx_read").status_code == 403
    assert fresh("POST", f"{SQ}/{orders}/run/", key="phx_write").status_code == 200


def test_run_throttle_429_body_and_retry_after() -> None:
    c = Client()
    clock = FakeTime()
    c.app.state.sim.throttler = Throttler(time_fn=clock)
    path = f"{SQ}/{VIEW_IDS['orders']}/run/"
    for _ in range(10):
        assert c("POST", path).status_code == 200
        clock.now += 1
    r = c("POST", path)
    assert r.status_code == 429
    # DRF: (60 s - age of the oldest request) / (free slots + 1) = (60 - 10) / 1
    assert r.headers["retry-after"] == "50"
    assert r.json() == hog(
        "throttled_error", "throttled", "Request was throttled. Expected available in 50 seconds."
    )


# --- headers: Date, Allow ---------------------------------------------------------------------------------


def test_date_header_is_the_simulated_clock_on_every_answer() -> None:
    c = Client(faults=FaultConfig(seed=1, storm_rate=0.0))
    responses = [
        c("GET", f"{SQ}/"),
        c("GET", f"{SQ}/nope/"),
        c("GET", f"{SQ}/", key="phx_bogus"),
        c("GET", "/elsewhere"),
        c("GET", "/_sim/stats", key=None),
    ]
    for r in responses:
        sent = parsedate_to_datetime(r.headers["date"])
        assert r.headers["date"].endswith(" GMT")
        assert abs((sent - datetime(2026, 11, 26, tzinfo=UTC)).total_seconds()) < 60, r.request.url
    c("POST", "/_sim/clock", key=None, json={"advance": 86400 * 3})
    later = parsedate_to_datetime(c("GET", f"{SQ}/").headers["date"])
    assert later.date().isoformat() == "2026-11-29"
    stormy = Client(faults=FaultConfig(seed=1, storm_rate=1.0))
    r = stormy("GET", f"{SQ}/")
    assert r.status_code == 429 and parsedate_to_datetime(r.headers["date"]).year == 2026
    failing = Client(faults=FaultConfig(seed=1, error_rate=1.0))
    assert all("date" in failing("GET", f"{SQ}/").headers for _ in range(5))


def test_allow_header_and_405(c: Client) -> None:
    detail_path = f"{SQ}/{VIEW_IDS['orders']}/"
    assert c("GET", detail_path).headers["allow"] == "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
    assert c("GET", f"{SQ}/").headers["allow"] == "GET, POST, HEAD, OPTIONS"
    r = c("GET", f"{detail_path}ancestors/")
    assert (r.status_code, r.json(), r.headers["allow"]) == (
        405,
        hog("invalid_request", "method_not_allowed", 'Method "GET" not allowed.'),
        "POST, OPTIONS",
    )
    r = c("DELETE", f"{JOBS}/")
    assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD, OPTIONS")
    assert "allow" not in c("GET", "/api/projects/1/nothing/").headers
    head = c("HEAD", detail_path)
    assert (head.status_code, head.content) == (200, b"")


# --- control endpoints -----------------------------------------------------------------------------


def test_control_endpoints_refuse_remote_clients_and_change_nothing(c: Client) -> None:
    c("GET", f"{SQ}/")
    remote = ("192.0.2.7", 5555)
    calls = [
        ("GET", "/_sim/stats", None),
        ("POST", "/_sim/reset", {"throttles": True}),
        ("POST", "/_sim/clock", {"advance": 86400}),
        ("GET", "/_sim/faults", None),
        ("POST", "/_sim/faults", {"error_rate": 1}),
    ]
    for method, path, body in calls:
        r = c(method, path, key=None, json=body, client=remote)
        assert r.status_code == 403, path
        assert r.json() == {"error": "The simulator control endpoints answer loopback clients only."}
    stats = c("GET", "/_sim/stats", key=None).json()
    assert stats["total"] == 1 and stats["by_route"] == {
        "GET /api/projects/{team_id}/warehouse_saved_queries/": 1
    }
    assert c("GET", "/_sim/faults", key=None).json()["error_rate"] == 0
    assert c("GET", f"{SQ}/").status_code == 200
    for host in ("127.0.0.9", "::1"):
        assert c("GET", "/_sim/stats", key=None, client=(host, 1)).status_code == 200


# --- robustness: bodies, disconnects ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"{SQ}/"),
        ("PATCH", f"{SQ}/{VIEW_IDS['constant']}/"),
        ("POST", f"{SQ}/{VIEW_IDS['orders']}/descendants/"),
        ("POST", f"{SQ}/resume_schedules/"),
        ("POST", f"{FOLDERS}/"),
        ("POST", f"{API}/query/"),
    ],
)
def test_malformed_and_unsupported_bodies(c: Client, method: str, path: str) -> None:
    json_type = {"Content-Type": "application/json"}
    for raw in (b"{nope", b"[1,", b"\xff\xfe", b'{"level": NaN}', b"   "):
        r = c(method, path, key="phx_all", content=raw, headers=json_type)
        assert r.status_code == 400, raw
        assert r.json()["type"] == "invalid_request" and r.json()["code"] == "parse_error"
        assert r.json()["detail"].startswith("JSON parse error - ")
    r = c(method, path, key="phx_all", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.json()) == (
        415,
        hog("invalid_request", "unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
    )


def test_without_a_bearer_header_a_broken_body_fails_before_authentication(c: Client) -> None:
    r = c("GET", f"{SQ}/", key=None, content=b"{", headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (400, "parse_error")
    # with a Bearer header the list never reads the body
    r = c("GET", f"{SQ}/", content=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 200


def test_urlencoded_form_bodies_are_read(c: Client) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = c("POST", f"{FOLDERS}/", content=b"name=Formul%C3%A4r", headers=form)
    assert (r.status_code, r.json()["name"]) == (201, "Formulär")
    # E2 descendants adds the raw level: a form's "1" is a string -> TypeError -> 500
    r = c("POST", f"{SQ}/{VIEW_IDS['orders']}/descendants/", content=b"level=1", headers=form)
    assert (r.status_code, r.json()) == (500, SERVER_ERROR)


def test_huge_bodies() -> None:
    c = Client()
    big_name = "n" * (3 * 1024 * 1024)
    r = c.create(big_name, "SELECT 1")
    assert (r.status_code, r.json()["code"]) == (400, "max_length")
    over = b"x" * (MAX_BODY_BYTES + 1)
    r = c("POST", f"{SQ}/", content=over, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(17):
            yield b" " * (1024 * 1024)

    r = c("POST", f"{SQ}/", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert c("GET", f"{SQ}/").status_code == 200


def _asgi_call(app: Any, messages: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """Run one raw ASGI POST whose body events are ``messages``; returns what the app sent."""
    sent: list[dict[str, Any]] = []
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", b"Bearer phx_write"),
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize("path", [f"{SQ}/", "/_sim/reset"])
def test_client_disconnect_mid_body_is_not_a_server_error(
    caplog: pytest.LogCaptureFixture, path: str
) -> None:
    c = Client()
    before = len(c.wh.list_views())
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"name": "half', "more_body": True},
        {"type": "http.disconnect"},
    ]
    with caplog.at_level(logging.DEBUG):
        sent = _asgi_call(c.app, messages, path)
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert all(m.get("status") != 500 for m in sent)
    assert len(c.wh.list_views()) == before


def test_uncaught_errors_are_posthogs_generic_500(c: Client) -> None:
    r = c("POST", f"{SQ}/{VIEW_IDS['orders']}/descendants/", json={"level": "2"})
    assert (r.status_code, r.json(), r.headers["content-type"]) == (500, SERVER_ERROR, "application/json")
    r = c("POST", f"{SQ}/", json=["not", "a", "dict"])
    assert (r.status_code, r.json()) == (500, SERVER_ERROR)
