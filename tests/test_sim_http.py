"""The simulator's HTTP layer in-process (httpx.ASGITransport): routing, auth, scopes, throttles,
pagination, faults and the spec's golden cases and "faithful simulator" quirks.

The golden cases are plain functions of a ``Req`` callable so that test_sim_loopback.py runs the
very same cases over real loopback HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from conftest import FOLDER_IDS, JOB_IDS, TABLE_IDS, TEAM_ID, VIEW_IDS, make_small_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.sim import auth
from lineage.sim.app import create_app, match_route
from lineage.sim.faults import FaultConfig, FaultInjector
from lineage.sim.pagination import cursor_page, limit_offset_page, page_number_page
from lineage.sim.state import Warehouse
from lineage.sim.throttle import BURST, Throttler, buckets_for

SQ = f"/api/projects/{TEAM_ID}/warehouse_saved_queries"
ENV_SQ = f"/api/environments/{TEAM_ID}/warehouse_saved_queries"
NOT_FOUND = {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}


class Req(Protocol):
    def __call__(
        self,
        method: str,
        path: str,
        *,
        key: str | None = "phx_write",
        json_body: Any = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response: ...


def _headers(key: str | None, headers: dict[str, str] | None) -> dict[str, str]:
    out = dict(headers or {})
    if key is not None:
        out["Authorization"] = f"Bearer {key}"
    return out


def asgi_req(app: Any) -> Req:
    """A Req that talks to ``app`` in-process (one event loop per call keeps it simple)."""

    def req(
        method: str,
        path: str,
        *,
        key: str | None = "phx_write",
        json_body: Any = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                kwargs: dict[str, Any] = {"params": params, "headers": _headers(key, headers)}
                if json_body is not None:
                    kwargs["json"] = json_body
                elif content is not None:
                    kwargs["content"] = content
                return await client.request(method, path, **kwargs)

        return asyncio.run(go())

    return req


@pytest.fixture
def req(sim_app: Any) -> Req:
    return asgi_req(sim_app)


def app_with(fixture: dict[str, Any] | None = None, **opts: Any) -> tuple[Any, Req]:
    era = opts.pop("era", "e2")
    app = create_app(Warehouse(fixture or make_small_fixture(), era=era), **opts)
    return app, asgi_req(app)


def create(req: Req, name: str, sql: str) -> str:
    r = req("POST", f"{SQ}/", json_body={"name": name, "query": {"kind": "HogQLQuery", "query": sql}})
    assert r.status_code == 201, r.text
    view_id: str = r.json()["id"]
    return view_id


def lineage_of(req: Req, view_id: str, direction: str, level: Any = None, *, prefix: str = SQ) -> set[str]:
    body = None if level is None else {"level": level}
    r = req("POST", f"{prefix}/{view_id}/{direction}/", json_body=body)
    assert r.status_code == 200, r.text
    ids = r.json()[direction]
    assert len(ids) == len(set(ids))
    return set(ids)


# --- golden cases of spec section 9 (shared with the loopback tests) --------------------------------


def golden_1_event_view(req: Req) -> None:
    v = create(req, "event_view", "select event from events")
    assert lineage_of(req, v, "ancestors") == {"events"}


def golden_2_nested(req: Req) -> None:
    v1 = create(req, "nested_one", "select event from events")
    v2 = create(req, "nested_two", "select event from nested_one")
    assert lineage_of(req, v2, "ancestors") == {"events", v1}
    assert lineage_of(req, v2, "ancestors", 1) == {v1}


def golden_3_join_and_levels(req: Req) -> None:
    p = create(req, "gold_p", "select e.event from events e left join persons p on e.person_id = p.id")
    c = create(req, "gold_c", "select event from gold_p")
    assert lineage_of(req, p, "ancestors") == {"events", "persons"}
    assert lineage_of(req, c, "ancestors") == {p, "events", "persons"}
    assert lineage_of(req, c, "ancestors", 1) == {p}
    assert lineage_of(req, c, "ancestors", 2) == {p, "events", "persons"}
    assert lineage_of(req, c, "ancestors", 10) == {p, "events", "persons"}


def golden_4_descendants(req: Req) -> None:
    p = create(req, "desc_p", "select e.event from events e left join persons p on e.person_id = p.id")
    c = create(req, "desc_c", "select event from desc_p")
    g = create(req, "desc_g", "select event from desc_c")
    assert lineage_of(req, p, "descendants") == {c, g}
    assert lineage_of(req, p, "descendants", 1) == {c}
    assert lineage_of(req, p, "descendants", 2) == {c, g}
    assert lineage_of(req, c, "descendants") == {g}
    assert lineage_of(req, g, "descendants") == set()


def golden_5_dependencies(req: Req) -> None:
    single = create(req, "dep_single", "select event from events")
    parent = create(req, "dep_parent", "select event from events")
    child = create(req, "dep_child", "select event from dep_parent")
    grandchild = create(req, "dep_grandchild", "select event from dep_child")

    def deps(view_id: str) -> tuple[int, int]:
        r = req("GET", f"{SQ}/{view_id}/dependencies/")
        assert r.status_code == 200, r.text
        return r.json()["upstream_count"], r.json()["downstream_count"]

    assert deps(single) == (1, 0)
    assert deps(parent) == (1, 1)
    assert deps(child) == (1, 1)
    assert deps(grandchild) == (1, 0)


def golden_6_roots_and_tables(req: Req) -> None:
    one = create(req, "select_one", "SELECT 1")
    assert lineage_of(req, one, "ancestors") == set()
    on_table = create(req, "on_stripe", "select id from stripe_charge")
    assert lineage_of(req, on_table, "ancestors") == {TABLE_IDS["stripe_charge"]}


def golden_7_update_parents(req: Req) -> None:
    create(req, "my_model", "select event from events")
    child = create(req, "upd_child", "select event from my_model")
    grandchild = create(req, "upd_grandchild", "select event from upd_child")
    history = req("GET", f"{SQ}/{child}/").json()["latest_history_id"]
    body = {
        "query": {"kind": "HogQLQuery", "query": "select event from events"},
        "edited_history_id": history,
    }
    r = req("PATCH", f"{SQ}/{child}/", json_body=body)
    assert r.status_code == 200, r.text
    assert lineage_of(req, child, "ancestors") == {"events"}
    assert lineage_of(req, grandchild, "ancestors") == {"events", child}


def golden_8_revert_and_delete(req: Req) -> None:
    v = create(req, "to_revert", "select event from events")
    r = req("POST", f"{SQ}/{v}/revert_materialization/")
    assert (r.status_code, r.content) == (200, b"")
    assert lineage_of(req, v, "ancestors") == set()
    r = req("DELETE", f"{SQ}/{v}/")
    assert (r.status_code, r.content) == (204, b"")
    assert req("GET", f"{SQ}/{v}/").status_code == 404
    names = [row["name"] for row in req("GET", f"{SQ}/").json()["results"]]
    assert "to_revert" not in names


GOLDEN: list[Callable[[Req], None]] = [
    golden_1_event_view,
    golden_2_nested,
    golden_3_join_and_levels,
    golden_4_descendants,
    golden_5_dependencies,
    golden_6_roots_and_tables,
    golden_7_update_parents,
    golden_8_revert_and_delete,
]


@pytest.mark.parametrize("case", GOLDEN, ids=lambda f: f.__name__)
def test_golden_case_in_process(req: Req, case: Callable[[Req], None]) -> None:
    case(req)


# --- quirk 1: E2 ancestors/descendants slicing ------------------------------------------------------


def test_ancestors_levels_follow_e2_slicing(req: Req) -> None:
    report = VIEW_IDS["revenue_report"]
    everything = {
        VIEW_IDS["orders_daily"],
        VIEW_IDS["orders"],
        VIEW_IDS["event_counts"],
        TABLE_IDS["stripe_charge"],
        "events",
    }
    assert lineage_of(req, report, "ancestors") == everything
    assert lineage_of(req, report, "ancestors", 0) == set()
    assert lineage_of(req, report, "ancestors", 1) == {VIEW_IDS["orders_daily"]}
    assert lineage_of(req, report, "ancestors", "2") == {
        VIEW_IDS["orders_daily"],
        VIEW_IDS["orders"],
        VIEW_IDS["event_counts"],
    }
    assert lineage_of(req, report, "ancestors", 1.7) == {VIEW_IDS["orders_daily"]}
    assert lineage_of(req, report, "ancestors", True) == {VIEW_IDS["orders_daily"]}
    assert lineage_of(req, report, "ancestors", 99) == everything
    assert lineage_of(req, report, "ancestors", -1) == everything
    # -2 drops the roots of every path
    assert lineage_of(req, report, "ancestors", -2) == {
        VIEW_IDS["orders_daily"],
        VIEW_IDS["orders"],
        VIEW_IDS["event_counts"],
    }
    r = req("POST", f"{SQ}/{report}/ancestors/", json_body={"level": None})
    assert set(r.json()["ancestors"]) == everything
    bad: Any
    for bad in ("abc", [], {}):
        r = req("POST", f"{SQ}/{report}/ancestors/", json_body={"level": bad})
        assert r.status_code == 500
        assert r.json()["type"] == "server_error"


def test_descendants_levels_follow_e2_slicing(req: Req) -> None:
    orders = VIEW_IDS["orders"]
    assert lineage_of(req, orders, "descendants") == {VIEW_IDS["orders_daily"], VIEW_IDS["revenue_report"]}
    assert lineage_of(req, orders, "descendants", 1) == {VIEW_IDS["orders_daily"]}
    assert lineage_of(req, orders, "descendants", 0) == set()
    assert lineage_of(req, orders, "descendants", False) == set()
    assert lineage_of(req, orders, "descendants", True) == {VIEW_IDS["orders_daily"]}
    assert lineage_of(req, orders, "descendants", 50) == {
        VIEW_IDS["orders_daily"],
        VIEW_IDS["revenue_report"],
    }
    for bad in ("1", 1.5):
        r = req("POST", f"{SQ}/{orders}/descendants/", json_body={"level": bad})
        assert r.status_code == 500, bad
        assert r.json() == {
            "type": "server_error",
            "code": "error",
            "detail": "A server error occurred.",
            "attr": None,
        }


def test_lineage_ids_are_dashed_uuids_and_split_dotted_names(req: Req) -> None:
    assert lineage_of(req, VIEW_IDS["ai_usage"], "ancestors") == {"posthog", "ai_events"}
    assert lineage_of(req, VIEW_IDS["orders"], "ancestors") == {TABLE_IDS["stripe_charge"]}
    assert lineage_of(req, VIEW_IDS["constant"], "ancestors") == set()


def test_lineage_empty_body_means_all(req: Req) -> None:
    r = req("POST", f"{SQ}/{VIEW_IDS['orders_daily']}/ancestors/", content=b"")
    assert r.status_code == 200
    assert VIEW_IDS["orders"] in r.json()["ancestors"]
    assert "events" in r.json()["ancestors"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"not json at all", None, 415, "unsupported_media_type"),
        (b"not json at all", "application/json", 400, "parse_error"),
        (b"null", "application/json", 500, "error"),  # request.data is None: None.get(...)
    ],
)
def test_lineage_bodies_as_drf_parses_them(
    req: Req, body: bytes, content_type: str | None, status: int, code: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else None
    r = req("POST", f"{SQ}/{VIEW_IDS['orders_daily']}/ancestors/", content=body, headers=headers)
    assert (r.status_code, r.json()["code"]) == (status, code)


def test_lineage_list_body_is_a_500(req: Req) -> None:
    r = req("POST", f"{SQ}/{VIEW_IDS['orders_daily']}/ancestors/", json_body=[1])
    assert r.status_code == 500


# --- quirk 2: path store (ghosts) -------------------------------------------------------------------


def test_revert_leaves_paths_through_the_view(req: Req) -> None:
    daily = VIEW_IDS["orders_daily"]
    assert req("POST", f"{SQ}/{daily}/revert_materialization/").status_code == 200
    assert lineage_of(req, daily, "ancestors") == set()
    assert daily in lineage_of(req, VIEW_IDS["revenue_report"], "ancestors")


# --- quirk 3: upsert, soft delete, 404s, edit conflicts -----------------------------------------------


def test_create_is_an_upsert_by_name(req: Req) -> None:
    body = {"name": "upserted", "query": {"kind": "HogQLQuery", "query": "select event from events"}}
    first = req("POST", f"{SQ}/", json_body=body)
    second = req("POST", f"{SQ}/", json_body={**body, "soft_update": True})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.headers["content-type"] == "application/json"


def test_retrieve_has_query_list_has_not(req: Req) -> None:
    listed = req("GET", f"{SQ}/").json()["results"]
    assert listed and all("query" not in row for row in listed)
    one = req("GET", f"{SQ}/{VIEW_IDS['orders']}/").json()
    assert one["query"]["kind"] == "HogQLQuery"
    assert "stripe_charge" in one["query"]["query"]


@pytest.mark.parametrize("view_id", ["not-a-uuid", "0a000000-0000-4000-8000-00000000ffff", "123"])
def test_unknown_or_malformed_ids_are_404(req: Req, view_id: str) -> None:
    r = req("GET", f"{SQ}/{view_id}/")
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_stale_edit_is_refused(req: Req) -> None:
    body = {"query": {"kind": "HogQLQuery", "query": "select 2"}, "edited_history_id": "stale"}
    r = req("PATCH", f"{SQ}/{VIEW_IDS['constant']}/", json_body=body)
    assert r.status_code == 400
    assert r.json()["detail"] == "The query was modified by someone else."


def test_broken_json_body_is_a_parse_error(req: Req) -> None:
    r = req("POST", f"{SQ}/", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["type"] == "invalid_request"
    assert r.json()["code"] == "parse_error"


# --- quirk 4: pagination shapes ---------------------------------------------------------------------


def _many_views(n: int) -> dict[str, Any]:
    fx = make_small_fixture()
    for i in range(n):
        fx["views"].append(
            {
                "id": f"0e000000-0000-4000-8000-{i:012d}",
                "name": f"bulk_{i:04d}",
                "query": "SELECT 1",
                "parents": [],
                "created_at": f"2025-{1 + i % 12:02d}-01T00:00:00Z",
            }
        )
    return fx


def test_saved_queries_page_number_pagination() -> None:
    _, req = app_with(_many_views(2000))
    total = 2000 + len(VIEW_IDS)
    first = req("GET", f"{SQ}/", params={"search": "", "page": "1"})
    body = first.json()
    assert body["count"] == total
    assert len(body["results"]) == 1000
    assert body["previous"] is None
    assert body["next"] == f"http://testserver{SQ}/?page=2&search="
    second = req("GET", body["next"]).json()
    assert second["previous"] == f"http://testserver{SQ}/?search="
    assert second["next"] == f"http://testserver{SQ}/?page=3&search="
    third = req("GET", second["next"]).json()
    assert third["next"] is None
    assert third["previous"] == f"http://testserver{SQ}/?page=2&search="
    ids = [row["id"] for page in (body, second, third) for row in page["results"]]
    assert len(ids) == len(set(ids)) == total
    assert req("GET", f"{SQ}/", params={"page": "last"}).json()["results"] == third["results"]
    for bad in ("0", "4", "x", "-1", "1.0"):
        r = req("GET", f"{SQ}/", params={"page": bad})
        assert r.status_code == 404, bad
        assert r.json()["detail"] == "Invalid page."


def test_page_links_never_carry_the_key() -> None:
    _, req = app_with(_many_views(1000))
    r = req("GET", f"{SQ}/", key=None, params={"personal_api_key": "phx_read"})
    assert r.status_code == 200
    assert r.json()["next"] == f"http://testserver{SQ}/?page=2"
    assert "phx_read" not in r.text


def test_small_lists_fit_one_page(req: Req) -> None:
    body = req("GET", f"{SQ}/").json()
    assert (body["count"], body["next"], body["previous"]) == (len(VIEW_IDS), None, None)
    assert set(row["id"] for row in body["results"]) == set(VIEW_IDS.values())


def _many_jobs(n: int) -> dict[str, Any]:
    fx = make_small_fixture()
    for i in range(n):
        fx["jobs"].append(
            {
                "id": f"0f000000-0000-4000-8000-{i:012d}",
                "view": "orders",
                "status": "Completed",
                "rows_materialized": i,
                # pairs share a created_at so the cursor needs offsets
                "created_at": f"2026-03-{1 + (i // 2) // 24:02d}T{(i // 2) % 24:02d}:00:00Z",
                "last_run_at": f"2026-03-{1 + (i // 2) // 24:02d}T{(i // 2) % 24:02d}:30:00Z",
                "workflow_id": f"materialize-orders-{i}",
            }
        )
    return fx


def test_jobs_cursor_pagination() -> None:
    _, req = app_with(_many_jobs(230))
    path = f"/api/projects/{TEAM_ID}/data_modeling_jobs/"
    first = req("GET", path).json()
    assert set(first) == {"next", "previous", "results"}
    assert len(first["results"]) == 100 and first["previous"] is None
    created = [row["created_at"] for row in first["results"]]
    assert created == sorted(created, reverse=True)
    cursor = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
    assert base64.b64decode(cursor).decode().startswith(("o=", "p="))
    seen: list[str] = []
    url: str | None = f"http://testserver{path}?limit=70&saved_query_id={VIEW_IDS['orders']}"
    pages = 0
    while url:
        assert "limit=70" in url and "saved_query_id=" in url
        page = req("GET", url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
        pages += 1
    assert len(seen) == len(set(seen)) == 231
    assert pages == 4
    big = req("GET", path, params={"limit": "5000"}).json()
    assert len(big["results"]) == 234 and big["next"] is None
    for bad in ("0", "-3", "x"):
        assert len(req("GET", path, params={"limit": bad}).json()["results"]) == 100
    r = req("GET", path, params={"cursor": "!!!not-base64"})
    assert (r.status_code, r.json()["detail"]) == (404, "Invalid cursor")


def test_jobs_filter_errors(req: Req) -> None:
    path = f"/api/projects/{TEAM_ID}/data_modeling_jobs/"
    for bad in ("nope", "0a000000-0000-4000-8000-00000000ffff"):
        r = req("GET", path, params={"saved_query_id": bad})
        assert r.status_code == 400
        assert r.json()["attr"] == "saved_query_id"
        assert r.json()["code"] == "invalid_choice"
    rows = req("GET", path, params={"saved_query_id": VIEW_IDS["orders_daily"]}).json()["results"]
    assert {row["id"] for row in rows} == set(JOB_IDS[:3])


def test_folders_and_job_shortcuts_are_bare_arrays(req: Req) -> None:
    folders = req("GET", f"/api/projects/{TEAM_ID}/warehouse_saved_query_folders/").json()
    assert isinstance(folders, list)
    assert [f["name"] for f in folders] == ["Product", "Revenue"]
    assert {f["id"] for f in folders} == set(FOLDER_IDS.values())
    session = {"Cookie": "sessionid=phx_none"}
    for name in ("recent", "running"):
        body = req("GET", f"/api/projects/{TEAM_ID}/data_modeling_jobs/{name}/", key=None, headers=session)
        assert body.status_code == 200 and isinstance(body.json(), list)


def test_completed_activity_relative_links_and_odd_errors(req: Req) -> None:
    session = {"Cookie": "sessionid=phx_none"}
    path = f"/api/projects/{TEAM_ID}/data_warehouse/completed_activity/"
    body = req("GET", path, key=None, headers=session, params={"limit": "2"}).json()
    assert set(body) == {"results", "next", "previous"}
    assert len(body["results"]) == 2
    assert body["next"] == "?limit=2&offset=2&cutoff_days=30"
    assert body["previous"] is None
    second = req("GET", path + body["next"], key=None, headers=session).json()
    assert second["previous"] == "?limit=2&offset=0&cutoff_days=30"
    zero = req("GET", path, key=None, headers=session, params={"limit": "0"}).json()
    assert zero["results"] == [] and zero["next"] == "?limit=0&offset=0&cutoff_days=30"
    r = req("GET", path, key=None, headers=session, params={"limit": "x"})
    assert (r.status_code, r.json()) == (400, {"error": "Invalid limit, offset, or cutoff_days parameter"})
    r = req("GET", path, key=None, headers=session, params={"limit": "-1"})
    assert (r.status_code, r.json()) == (500, {"error": "Database error occurred"})
    capped = req("GET", path, key=None, headers=session, params={"limit": "500"}).json()
    assert len(capped["results"]) <= 50


def test_warehouse_tables_limit_offset() -> None:
    fx = make_small_fixture()
    fx["tables"] += [
        {"id": f"0b100000-0000-4000-8000-{i:012d}", "name": f"wh_{i:03d}", "kind": "warehouse"}
        for i in range(150)
    ]
    _, req = app_with(fx)
    path = f"/api/projects/{TEAM_ID}/warehouse_tables/"
    body = req("GET", path, key="phx_read").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert len(body["results"]) == 100 and body["previous"] is None
    assert body["next"] == f"http://testserver{path}?limit=100&offset=100"
    rest = req("GET", body["next"], key="phx_read").json()
    assert rest["next"] is None and rest["previous"] == f"http://testserver{path}?limit=100"
    ids = [row["id"] for row in body["results"] + rest["results"]]
    assert len(ids) == len(set(ids)) == body["count"] >= 151
    assert TABLE_IDS["stripe_charge"] in ids
    one = req("GET", f"{path}{TABLE_IDS['stripe_charge']}/", key="phx_read")
    assert one.status_code == 200 and one.json()["name"] == "stripe_charge"


# --- quirk 5: empty bodies and error shapes ---------------------------------------------------------


def test_empty_bodies_where_posthog_sends_none(req: Req) -> None:
    daily = VIEW_IDS["orders_daily"]
    for action in ("run", "materialize"):
        r = req("POST", f"{SQ}/{daily}/{action}/")
        assert (r.status_code, r.content) == (200, b""), action
        assert "content-type" not in r.headers
    r = req("POST", f"{SQ}/resume_schedules/", json_body={"view_ids": [daily]})
    assert (r.status_code, r.content) == (202, b"")
    r = req("POST", f"{SQ}/resume_schedules/", json_body={})
    assert (r.status_code, r.json()) == (400, {"error": "view_ids is required"})
    r = req("POST", f"{SQ}/{VIEW_IDS['constant']}/cancel/")
    assert (r.status_code, r.json()) == (400, {"error": "Cannot cancel a query that is not running"})


def test_unsupported_method_and_unknown_route(req: Req) -> None:
    r = req("PUT", f"/api/projects/{TEAM_ID}/warehouse_saved_query_folders/{FOLDER_IDS['Revenue']}/")
    assert r.status_code == 405
    assert r.json() == {
        "type": "invalid_request",
        "code": "method_not_allowed",
        "detail": 'Method "PUT" not allowed.',
        "attr": None,
    }
    assert req("GET", f"{SQ}/{VIEW_IDS['orders']}/ancestors/").status_code == 405
    assert req("GET", f"{SQ}/resume_schedules/").status_code == 405
    for path in (f"/api/projects/{TEAM_ID}/nothing/", f"{SQ}/{VIEW_IDS['orders']}/explode/", "/", "/api/"):
        r = req("GET", path)
        assert (r.status_code, r.json()) == (404, NOT_FOUND), path


# --- quirk 6: auth and scopes -----------------------------------------------------------------------


def test_missing_and_invalid_credentials(req: Req) -> None:
    r = req("GET", f"{SQ}/", key=None)
    assert r.status_code == 401
    assert r.json() == {
        "type": "authentication_error",
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
        "attr": None,
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"key": "phx_bogus_key"}, "Authorization header"),
        ({"key": None, "params": {"personal_api_key": "phx_bogus_key"}}, "query string"),
    ]
    for kwargs, source in cases:
        r = req("GET", f"{SQ}/", **kwargs)
        assert r.status_code == 401
        assert r.json()["detail"] == f"Personal API key found in request {source} is invalid."
        assert "phx_bogus_key" not in r.text
    r = req(
        "POST", f"{SQ}/{VIEW_IDS['orders']}/ancestors/", key=None, json_body={"personal_api_key": "phx_nah"}
    )
    assert r.json()["detail"] == "Personal API key found in request body is invalid."


def test_key_lookup_order(req: Req) -> None:
    # a good key in the body authenticates when no header is sent; a header wins over it
    ok = req(
        "POST", f"{SQ}/{VIEW_IDS['orders']}/ancestors/", key=None, json_body={"personal_api_key": "phx_read"}
    )
    assert ok.status_code == 200
    bad_header = req(
        "POST",
        f"{SQ}/{VIEW_IDS['orders']}/ancestors/",
        key="phx_bad",
        json_body={"personal_api_key": "phx_read"},
    )
    assert bad_header.status_code == 401
    via_query = req("GET", f"{SQ}/", key=None, params={"personal_api_key": "phx_read"})
    assert via_query.status_code == 200


def test_scopes_e2(req: Req) -> None:
    orders = VIEW_IDS["orders"]
    assert req("GET", f"{SQ}/", key="phx_read").status_code == 200
    assert req("GET", f"{SQ}/", key="phx_write").status_code == 200  # write implies read
    r = req("GET", f"{SQ}/", key="phx_none")
    assert (r.status_code, r.json()["detail"]) == (
        403,
        "API key missing required scope 'warehouse_view:read'",
    )
    r = req("POST", f"{SQ}/", key="phx_read", json_body={"name": "x"})
    assert (r.status_code, r.json()["detail"]) == (
        403,
        "API key missing required scope 'warehouse_view:write'",
    )
    assert req("POST", f"{SQ}/{orders}/ancestors/", key="phx_read").status_code == 200
    assert req("GET", f"{SQ}/{orders}/run_history/", key="phx_read").status_code == 200
    r = req("POST", f"{SQ}/{orders}/run/", key="phx_read")
    assert r.json()["detail"] == "API key missing required scope 'warehouse_view:write'"
    r = req("GET", f"/api/projects/{TEAM_ID}/warehouse_tables/", key="phx_none")
    assert r.json()["detail"] == "API key missing required scope 'warehouse_table:read'"
    no_pak = {
        "type": "authentication_error",
        "code": "permission_denied",
        "detail": auth.NO_PAK_DETAIL,
        "attr": None,
    }
    for path in (
        f"/api/projects/{TEAM_ID}/data_modeling_jobs/recent/",
        f"/api/projects/{TEAM_ID}/data_modeling_jobs/running/",
        f"/api/projects/{TEAM_ID}/data_warehouse/completed_activity/",
        f"/api/projects/{TEAM_ID}/data_warehouse/check-database-name/?name=abc",
        f"/api/projects/{TEAM_ID}/warehouse_dag/",
    ):
        r = req("GET", path, key="phx_all")
        assert (r.status_code, r.json()) == (403, no_pak), path


def test_scopes_e3_close_lineage_actions() -> None:
    _, req = app_with(era="e3")
    orders = VIEW_IDS["orders"]
    for method, action in (
        ("POST", "ancestors"),
        ("POST", "descendants"),
        ("GET", "dependencies"),
        ("POST", "cancel"),
    ):
        r = req(method, f"{SQ}/{orders}/{action}/", key="phx_all")
        assert (r.status_code, r.json()["detail"]) == (403, auth.NO_PAK_DETAIL), action
    assert req("GET", f"{SQ}/{orders}/run_history/", key="phx_read").status_code == 200
    session = {"Cookie": "sessionid=phx_none"}
    r = req("POST", f"{SQ}/{orders}/ancestors/", key=None, headers=session, json_body={"level": 0})
    assert (r.status_code, r.json()["code"], r.json()["attr"]) == (400, "min_value", "level")


def test_internal_dag_needs_a_session(req: Req) -> None:
    r = req(
        "GET", f"/api/projects/{TEAM_ID}/warehouse_dag/", key=None, headers={"Cookie": "sessionid=phx_none"}
    )
    assert r.status_code == 200
    assert set(r.json()) == {"edges", "nodes"}


def test_project_scoped_key_and_teams(req: Req) -> None:
    r = req("GET", f"{SQ}/", key="phx_other")
    assert (r.status_code, r.json()["detail"]) == (
        403,
        f"API key does not have access to the requested project: ID {TEAM_ID}.",
    )
    r = req("GET", "/api/projects/abc/warehouse_saved_queries/")
    assert (r.status_code, r.json()["detail"]) == (404, "Project not found.")
    r = req("GET", "/api/projects/999/warehouse_saved_queries/")
    assert r.status_code == 404


def test_key_never_in_responses_or_stats(req: Req) -> None:
    for key in ("phx_read", "phx_bogus_secret"):
        for r in (
            req("GET", f"{SQ}/", key=key),
            req("GET", f"{SQ}/", key=None, params={"personal_api_key": key}),
            req("GET", f"{SQ}/nope/x/", key=key),
        ):
            assert key not in r.text and key not in str(r.headers)
    stats = req("GET", "/_sim/stats", key=None).text
    assert "phx_" not in stats


# --- quirk 7: throttles -----------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_throttle_and_retry_after() -> None:
    app, req = app_with()
    clock = FakeTime()
    app.state.sim.throttler = Throttler(time_fn=clock)
    for _ in range(480):
        assert req("GET", f"{SQ}/{VIEW_IDS['orders']}/run_history/", key="phx_read").status_code == 200
    clock.now += 15
    r = req("GET", f"{SQ}/", key="phx_read")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "45"
    assert r.json() == {
        "type": "throttled_error",
        "code": "throttled",
        "detail": "Request was throttled. Expected available in 45 seconds.",
        "attr": None,
    }
    # buckets are per key
    assert req("GET", f"{SQ}/", key="phx_write").status_code == 200
    clock.now += 46
    assert req("GET", f"{SQ}/", key="phx_read").status_code == 200
    assert req("GET", "/_sim/stats", key=None).json()["throttled"] == 1


def test_run_and_materialize_throttles_replace_defaults() -> None:
    app, req = app_with()
    clock = FakeTime()
    app.state.sim.throttler = Throttler(time_fn=clock)
    daily, orders = VIEW_IDS["orders_daily"], VIEW_IDS["orders"]
    codes = [req("POST", f"{SQ}/{daily}/run/").status_code for _ in range(11)]
    assert codes == [200] * 10 + [429]
    assert req("POST", f"{SQ}/{orders}/run/").status_code == 200  # per view
    for _ in range(2):  # materialize and revert share one 5/hour bucket per view
        assert req("POST", f"{SQ}/{daily}/materialize/").status_code == 200
        assert req("POST", f"{SQ}/{daily}/revert_materialization/").status_code == 200
    assert req("POST", f"{SQ}/{daily}/materialize/").status_code == 200
    assert req("POST", f"{SQ}/{orders}/materialize/").status_code == 200
    r = req("POST", f"{SQ}/{daily}/materialize/")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) == 3600
    # POST /_sim/clock moves throttle windows too
    assert req("POST", "/_sim/clock", key=None, json_body={"advance": 3601}).status_code == 200
    assert req("POST", f"{SQ}/{daily}/materialize/").status_code == 200


def test_rate_limit_off() -> None:
    app, req = app_with(rate_limit=False)
    clock = FakeTime()
    app.state.sim.throttler = Throttler(time_fn=clock)
    codes = {req("POST", f"{SQ}/{VIEW_IDS['orders']}/run/").status_code for _ in range(15)}
    assert codes == {200}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=200), min_size=1, max_size=60))
def test_throttle_never_allows_more_than_the_rate_in_any_window(gaps: list[float]) -> None:
    clock = FakeTime()
    throttler = Throttler(time_fn=clock)
    small = [(BURST.__class__("t", 5, 60.0), "k")]
    allowed: list[float] = []
    for gap in gaps:
        clock.now += gap / 10
        if throttler.check(small) is None:
            allowed.append(clock.now)
    for i, start in enumerate(allowed):
        assert sum(1 for t in allowed[i:] if t < start + 60.0) <= 5


def test_buckets_hash_the_key() -> None:
    buckets = buckets_for("list", api_key="phx_secret_value", team_id=1, view_id=None)
    assert all("phx_secret_value" not in bucket for _, bucket in buckets)
    assert [rate.num for rate, _ in buckets] == [480, 4800]


# --- quirk 8: prefixes, trailing slash, @current -----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/api/projects/{TEAM_ID}/warehouse_saved_queries/",
        f"/api/projects/{TEAM_ID}/warehouse_saved_queries",
        f"/api/environments/{TEAM_ID}/warehouse_saved_queries/",
        "/api/environments/@current/warehouse_saved_queries",
        "/api/projects/@current/warehouse_saved_queries/",
    ],
)
def test_both_prefixes_trailing_slash_and_current(req: Req, path: str) -> None:
    r = req("GET", path, key="phx_read")
    assert r.status_code == 200
    assert r.json()["count"] == len(VIEW_IDS)


def test_route_templates() -> None:
    found = match_route(f"/api/environments/7/warehouse_saved_queries/{VIEW_IDS['orders']}/ancestors")
    assert found is not None
    assert found.stats_key == "/api/environments/{team_id}/warehouse_saved_queries/{id}/ancestors/"
    assert found.params == {"id": VIEW_IDS["orders"]}
    resume = match_route("/api/projects/1/warehouse_saved_queries/resume_schedules/")
    assert resume is not None and resume.endpoint.template.endswith("resume_schedules/")
    assert match_route("/api/projects/1/warehouse_saved_queries/a/b/c/") is None


# --- control endpoints and faults ---------------------------------------------------------------------


def test_stats_and_reset(req: Req) -> None:
    req("GET", f"{SQ}/")
    req("GET", f"{ENV_SQ}")
    req("POST", f"{SQ}/{VIEW_IDS['orders']}/ancestors/")
    req("GET", "/nowhere")
    stats = req("GET", "/_sim/stats", key=None).json()
    assert stats == {
        "total": 4,
        "by_route": {
            "GET (unmatched)": 1,
            "GET /api/environments/{team_id}/warehouse_saved_queries/": 1,
            "GET /api/projects/{team_id}/warehouse_saved_queries/": 1,
            "POST /api/projects/{team_id}/warehouse_saved_queries/{id}/ancestors/": 1,
        },
        "throttled": 0,
        "errors_injected": 0,
    }
    reset = req("POST", "/_sim/reset", key=None)
    assert reset.status_code == 200
    assert req("GET", "/_sim/stats", key=None).json() == {
        "total": 0,
        "by_route": {},
        "throttled": 0,
        "errors_injected": 0,
    }
    assert req("POST", "/_sim/stats", key=None).status_code == 405
    assert req("GET", "/_sim/nothing", key=None).status_code == 404


def test_clock_control(req: Req) -> None:
    before = req("POST", "/_sim/clock", key=None, json_body={"advance": 0}).json()["now"]
    after = req("POST", "/_sim/clock", key=None, json_body={"advance": 86400}).json()["now"]
    assert before.startswith("2026-11-26") and after.startswith("2026-11-27")
    for bad in ({"advance": -1}, {"advance": "1"}, {}, None):
        assert req("POST", "/_sim/clock", key=None, json_body=bad).status_code == 400


def test_control_endpoints_refuse_remote_clients(sim_app: Any) -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim_app, client=("10.1.2.3", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get("/_sim/stats")

    assert asyncio.run(go()).status_code == 403


def _statuses(req: Req, n: int) -> list[int]:
    return [req("GET", f"{SQ}/", key="phx_read").status_code for _ in range(n)]


def test_faults_are_seeded_and_reproducible() -> None:
    cfg = FaultConfig(seed=7, error_rate=0.3, storm_rate=0.05, storm_length=3)
    _, req_a = app_with(faults=cfg, rate_limit=False)
    _, req_b = app_with(faults=cfg, rate_limit=False)
    a, b = _statuses(req_a, 60), _statuses(req_b, 60)
    assert a == b
    assert {500, 502, 503} & set(a) and 429 in a and 200 in a
    stats = req_a("GET", "/_sim/stats", key=None).json()
    assert stats["errors_injected"] == sum(1 for s in a if s != 200)
    assert stats["throttled"] == a.count(429)


def test_injected_bodies() -> None:
    _, req = app_with(faults=FaultConfig(seed=1, error_rate=1.0))
    seen: dict[int, httpx.Response] = {}
    for _ in range(30):
        r = req("GET", f"{SQ}/", key="phx_read")
        seen.setdefault(r.status_code, r)
    assert set(seen) == {500, 502, 503}
    assert seen[500].json()["type"] == "server_error"
    assert seen[502].headers["content-type"].startswith("text/html")
    storm = FaultInjector(FaultConfig(seed=1, storm_rate=1.0, storm_length=4, storm_retry_after=2))
    decisions = [storm.decide() for _ in range(4)]
    assert all(d.storm and d.retry_after == 2 for d in decisions)


def test_storm_answers_carry_retry_after() -> None:
    _, req = app_with(faults=FaultConfig(seed=3, storm_rate=1.0, storm_length=2, storm_retry_after=7))
    r = req("GET", f"{SQ}/", key="phx_read")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert r.json()["code"] == "throttled"


def test_truncated_bodies_do_not_parse() -> None:
    _, req = app_with(faults=FaultConfig(seed=2, truncate_rate=1.0))
    r = req("GET", f"{SQ}/", key="phx_read")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    assert int(r.headers["content-length"]) == len(r.content)


def test_faults_never_touch_control_endpoints_and_can_change_at_run_time() -> None:
    _, req = app_with(faults=FaultConfig(seed=2, error_rate=1.0))
    for _ in range(5):
        assert req("GET", "/_sim/stats", key=None).status_code == 200
    r = req("POST", "/_sim/faults", key=None, json_body={"error_rate": 0})
    assert r.status_code == 200 and r.json()["error_rate"] == 0
    assert req("GET", f"{SQ}/", key="phx_read").status_code == 200
    assert req("POST", "/_sim/faults", key=None, json_body={"bogus": 1}).status_code == 400
    assert req("POST", "/_sim/faults", key=None, json_body={"error_rate": 2}).status_code == 400
    assert req("GET", "/_sim/faults", key=None).json()["seed"] == 2


def test_latency_is_applied() -> None:
    import time

    _, req = app_with(faults=FaultConfig(latency_ms=60))
    start = time.perf_counter()
    req("GET", f"{SQ}/", key="phx_read")
    assert time.perf_counter() - start >= 0.06


# --- pagination helpers as laws ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=40), min_size=0, max_size=60),
    st.integers(min_value=1, max_value=9),
)
def test_cursor_walk_forward_and_back_visits_every_row_once(stamps: list[int], size: int) -> None:
    rows = [
        {"id": f"{i:04d}", "created_at": f"2026-01-01T00:{s:02d}:00Z"}
        for i, s in enumerate(sorted(stamps, reverse=True))
    ]
    base = "http://t/api/projects/1/data_modeling_jobs/"
    url: str | None = f"{base}?limit={size}"
    forward: list[list[str]] = []
    last_url = url
    while url:
        last_url = url
        page = cursor_page(
            rows, url=url, cursor=parse_qs(urlsplit(url).query).get("cursor", [None])[0], limit=str(size)
        )
        forward.append([r["id"] for r in page["results"]])
        url = page["next"]
    flat = [i for page in forward for i in page]
    assert sorted(flat) == sorted(r["id"] for r in rows)
    assert len(flat) == len(set(flat))
    # walking back from the last page never invents rows and ends at the first page
    url = last_url
    back: list[str] = []
    while url:
        page = cursor_page(
            rows, url=url, cursor=parse_qs(urlsplit(url).query).get("cursor", [None])[0], limit=str(size)
        )
        back += [r["id"] for r in page["results"]]
        url = page["previous"]
    assert set(back) <= set(flat)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=350), st.integers(min_value=1, max_value=120))
def test_limit_offset_walk_covers_all(count: int, limit: int) -> None:
    items = list(range(count))
    url: str | None = f"http://t/x/?limit={limit}"
    got: list[int] = []
    while url:
        q = parse_qs(urlsplit(url).query)
        page = limit_offset_page(items, url=url, limit=q["limit"][0], offset=q.get("offset", [None])[0])
        assert page["count"] == count
        got += page["results"]
        url = page["next"]
    assert got == items


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=3500))
def test_page_number_walk_covers_all(count: int) -> None:
    items = list(range(count))
    url: str | None = "http://t/x/?search=a"
    got: list[int] = []
    while url:
        q = parse_qs(urlsplit(url).query)
        page = page_number_page(items, url=url, page=q.get("page", [None])[0])
        got += page["results"]
        url = page["next"]
    assert got == items
