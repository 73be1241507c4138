"""Every endpoint of the API client against an httpx.MockTransport PostHog faithful to the spec."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from lineage.api import (
    UNSET,
    ActivityRow,
    AsyncPostHogClient,
    Dependencies,
    Folder,
    Job,
    PostHogClient,
    RunHistoryEntry,
    SavedQuery,
    Table,
)
from lineage.config import Settings
from lineage.errors import ConfigError, NotFoundError, ProtocolError

KEY = "phx_clienttestkey_0123456789"
NOW = datetime(2026, 11, 26, tzinfo=UTC)
SQL_TEMPLATE = "SELECT event FROM events -- {}"


def settings(host: str = "https://posthog.test", project: str = "7") -> Settings:
    return Settings.resolve(host=host, project=project, api_key=KEY, env={})


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def user() -> dict[str, Any]:
    return {
        "id": 1,
        "uuid": str(uuid.UUID(int=1)),
        "distinct_id": "d1",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "is_email_verified": True,
        "hedgehog_config": None,
        "role_at_organization": None,
    }


class FakePostHog:
    """A small in-memory PostHog: the real pagination shapes, error bodies and empty success bodies.

    Why a second fake beside the simulator: these tests pin the client's side of the wire — the exact
    request each method sends (``requests`` keeps every ``httpx.Request``) and how it reads bodies the
    simulator never produces on its own (a page size this test picks, a body with an odd shape). It runs
    in ``httpx.MockTransport``, with no server and no simulated state. Behaviour that depends on PostHog's
    state (lineage, jobs, scopes, throttles) is tested against the simulator instead.
    """

    def __init__(self, *, views: int = 7, view_page: int = 3, jobs: int = 12, tables: int = 5) -> None:
        self.view_page = view_page
        self.requests: list[httpx.Request] = []
        self.views: dict[str, dict[str, Any]] = {}
        for i in range(views):
            vid = str(uuid.UUID(int=1000 + i))
            self.views[vid] = {
                "id": vid,
                "deleted": False,
                "name": f"view_{i}",
                "created_by": user() if i % 2 else None,
                "created_at": iso(NOW - timedelta(days=i)),
                "sync_frequency": "24hour" if i % 3 == 0 else None,
                "columns": [{"key": "event", "name": "event", "type": "string", "schema_valid": True}],
                "status": "Completed" if i % 2 else None,
                "last_run_at": "2026-11-25T10:00:00.123456Z" if i % 2 else None,
                "managed_viewset_kind": None,
                "latest_error": None,
                "is_materialized": i % 3 == 0,
                "origin": "data_warehouse",
                "folder_id": None,
                "folder_name": None,
                "some_future_field": {"x": 1},
                "query": {"kind": "HogQLQuery", "query": SQL_TEMPLATE.format(i)},
                "latest_history_id": 100 + i,
            }
        self.folders: dict[str, dict[str, Any]] = {}
        self.jobs = [
            {
                "id": str(uuid.UUID(int=5000 + i)),
                "saved_query_id": list(self.views)[i % max(1, views)] if views else None,
                "status": ["Completed", "Failed", "Running"][i % 3],
                "rows_materialized": 10 * i,
                "error": "boom" if i % 3 == 1 else None,
                "created_at": iso(NOW - timedelta(hours=i)),
                "last_run_at": iso(NOW - timedelta(hours=i) + timedelta(minutes=5)),
                "workflow_id": f"materialize-{i}",
                "workflow_run_id": None,
                "rows_expected": None,
            }
            for i in range(jobs)
        ]
        self.tables: list[dict[str, Any]] = [
            {
                "id": str(uuid.UUID(int=9000 + i)),
                "deleted": False,
                "name": f"stripe_t{i}",
                "format": "Parquet",
                "created_by": None,
                "created_at": iso(NOW - timedelta(days=i)),
                "url_pattern": "s3://x",
                "credential": {"id": "c"},
                "columns": {"a": "String"},
                "external_data_source": {"id": "s", "source_type": "Stripe"},
                "external_schema": None,
            }
            for i in range(tables)
        ]
        self.activity = [
            {
                "id": str(uuid.UUID(int=7000 + i)),
                "type": "Materialized view",
                "name": f"view_{i}",
                "status": "Completed",
                "rows": i,
                "created_at": iso(NOW - timedelta(hours=i)),
                "finished_at": "2026-11-25T00:00:00+00:00",
                "latest_error": None,
                "workflow_run_id": None,
                "origin": None,
            }
            for i in range(45)
        ]

    @staticmethod
    def json(status: int, body: Any) -> httpx.Response:
        return httpx.Response(
            status, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )

    def not_found(self) -> httpx.Response:
        return self.json(
            404, {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert KEY not in str(request.url)
        path = request.url.path
        m = re.fullmatch(r"/api/projects/7/(.*?)/?", path)
        if not m:
            return self.json(
                404, {"type": "invalid_request", "code": "not_found", "detail": "Project not found."}
            )
        route = m.group(1)
        method = request.method
        body: Any = json.loads(request.content) if request.content else {}
        q = request.url.params
        if route == "warehouse_saved_queries" and method == "GET":
            items = sorted(self.views.values(), key=lambda v: v["created_at"], reverse=True)
            if q.get("search"):
                items = [v for v in items if q["search"].lower() in v["name"].lower()]
            page = int(q.get("page", "1"))
            chunk = items[(page - 1) * self.view_page : page * self.view_page]
            listed = [
                {k: v for k, v in item.items() if k not in {"query", "latest_history_id"}} for item in chunk
            ]
            nxt = (
                str(request.url.copy_set_param("page", page + 1))
                if page * self.view_page < len(items)
                else None
            )
            prev = None
            if page == 2:
                prev = str(request.url.copy_remove_param("page"))
            elif page > 2:
                prev = str(request.url.copy_set_param("page", page - 1))
            return self.json(200, {"count": len(items), "next": nxt, "previous": prev, "results": listed})
        if route == "warehouse_saved_queries" and method == "POST":
            for existing in self.views.values():
                if existing["name"] == body["name"]:
                    existing["query"] = body["query"]
                    return self.json(200, existing)
            vid = str(uuid.uuid4())
            self.views[vid] = {"id": vid, "name": body["name"], "query": body["query"], "status": None}
            return self.json(201, self.views[vid])
        if route == "warehouse_saved_queries/resume_schedules":
            if not body or not body.get("view_ids"):
                return self.json(400, {"error": "view_ids is required"})
            return httpx.Response(202)
        m = re.fullmatch(r"warehouse_saved_queries/([^/]+)(?:/([a-z_]+))?", route)
        if m:
            view = self.views.get(m.group(1))
            if view is None:
                return self.not_found()
            action = m.group(2)
            if action is None and method == "GET":
                return self.json(200, view)
            if action is None and method == "PATCH":
                view.update({k: v for k, v in body.items() if k != "edited_history_id"})
                return self.json(200, view)
            if action is None and method == "DELETE":
                del self.views[view["id"]]
                return httpx.Response(204)
            if action in {"ancestors", "descendants"} and method == "POST":
                level = (body or {}).get("level")
                ids = ["events", str(uuid.UUID(int=1001)), "posthog", "events"]
                return self.json(200, {action: ids if level is None else ids[:level]})
            if action == "dependencies":
                return self.json(200, {"upstream_count": 2, "downstream_count": 0})
            if action == "run_history":
                return self.json(
                    200,
                    {
                        "run_history": [
                            {"status": "Completed", "timestamp": "2026-11-25T00:00:00Z"},
                            {"status": "Failed", "timestamp": "2026-11-24T00:00:00.5+00:00"},
                        ]
                    },
                )
            if action in {"run", "materialize", "revert_materialization", "cancel"} and method == "POST":
                return httpx.Response(200)
        if route == "warehouse_saved_query_folders":
            if method == "GET":
                return self.json(200, sorted(self.folders.values(), key=lambda f: f["name"]))
            fid = str(uuid.uuid4())
            self.folders[fid] = {
                "id": fid,
                "name": body["name"].strip(),
                "created_at": iso(NOW),
                "view_count": 0,
            }
            return self.json(201, self.folders[fid])
        m = re.fullmatch(r"warehouse_saved_query_folders/([^/]+)", route)
        if m:
            folder = self.folders.get(m.group(1))
            if folder is None:
                return self.not_found()
            if method == "GET":
                return self.json(200, folder)
            if method == "PATCH":
                folder["name"] = body["name"]
                return self.json(200, folder)
            del self.folders[folder["id"]]
            return httpx.Response(204)
        if route == "data_modeling_jobs":
            jobs = self.jobs
            if "saved_query_id" in q:
                jobs = [j for j in jobs if j["saved_query_id"] == q["saved_query_id"]]
            limit = int(q.get("limit", "100"))
            start = int(base64.b64decode(q["cursor"]).decode()) if "cursor" in q else 0
            chunk = jobs[start : start + limit]
            nxt = None
            if start + limit < len(jobs):
                cursor = base64.b64encode(str(start + limit).encode()).decode()
                nxt = str(request.url.copy_set_param("cursor", cursor))
            return self.json(200, {"next": nxt, "previous": None, "results": chunk})
        if route == "data_modeling_jobs/recent":
            return self.json(200, [j for j in self.jobs if j["status"] != "Running"][:2])
        if route == "data_modeling_jobs/running":
            return self.json(200, [j for j in self.jobs if j["status"] == "Running"])
        m = re.fullmatch(r"data_modeling_jobs/([^/]+)", route)
        if m:
            for job in self.jobs:
                if job["id"] == m.group(1):
                    return self.json(200, job)
            return self.not_found()
        if route == "data_warehouse/completed_activity":
            limit, offset, cutoff = int(q["limit"]), int(q.get("offset", "0")), int(q["cutoff_days"])
            rows = self.activity[offset : offset + limit]
            nxt = (
                f"?limit={limit}&offset={offset + limit}&cutoff_days={cutoff}"
                if offset + limit < len(self.activity)
                else None
            )
            return self.json(200, {"results": rows, "next": nxt, "previous": None})
        if route == "data_warehouse/check-database-name":
            if "name" not in q:
                return self.json(400, {"error": "name query parameter is required"})
            return self.json(200, {"name": q["name"], "available": q["name"] != "taken"})
        if route == "warehouse_tables":
            limit, offset = int(q.get("limit", "2")), int(q.get("offset", "0"))
            rows = self.tables[offset : offset + limit]
            nxt = None
            if offset + limit < len(self.tables):
                nxt = str(request.url.copy_merge_params({"limit": limit, "offset": offset + limit}))
            return self.json(200, {"count": len(self.tables), "next": nxt, "previous": None, "results": rows})
        m = re.fullmatch(r"warehouse_tables/([^/]+)", route)
        if m:
            for table in self.tables:
                if table["id"] == m.group(1):
                    return self.json(200, table)
            return self.not_found()
        return self.json(405, {"type": "invalid_request", "code": "method_not_allowed", "detail": "no"})


@pytest.fixture
def fake() -> FakePostHog:
    return FakePostHog()


@pytest.fixture
def client(fake: FakePostHog) -> Any:
    with PostHogClient(settings(), transport=httpx.MockTransport(fake), sleep=lambda s: None) as c:
        yield c


def test_list_views_follows_every_page_and_types_records(client: PostHogClient, fake: FakePostHog) -> None:
    views = client.list_views()
    assert len(views) == 7
    assert all(isinstance(v, SavedQuery) for v in views)
    assert [v.name for v in views] == [f"view_{i}" for i in range(7)]
    assert views[1].created_by is not None and views[1].created_by.email == "ada@example.com"
    assert views[0].created_by is None and views[0].sql is None  # the listing carries no SQL
    assert views[1].last_run_at == datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
    assert views[0].kind == "matview" and views[1].kind == "view"
    assert views[0].raw["some_future_field"] == {"x": 1}
    pages = [r for r in fake.requests if r.url.path.endswith("warehouse_saved_queries/")]
    assert len(pages) == 3  # 3 + 3 + 1
    assert client.stats.requests["GET /api/projects/{project}/warehouse_saved_queries/"] == 3


def test_search_and_iter_views(client: PostHogClient, fake: FakePostHog) -> None:
    assert [v.name for v in client.iter_views(search="VIEW_3")] == ["view_3"]
    assert fake.requests[-1].url.params["search"] == "VIEW_3"
    first = next(iter(client.iter_views()))
    assert first.name == "view_0"


def test_get_create_update_delete_view(client: PostHogClient, fake: FakePostHog) -> None:
    vid = str(uuid.UUID(int=1003))
    view = client.get_view(uuid.UUID(vid))
    # an older PostHog's integer history id is kept as its text (the newest sends a UUID string)
    assert view.sql == "SELECT event FROM events -- 3" and view.latest_history_id == "103"
    assert view.columns[0].name == "event" and view.columns[0].type == "string"
    created = client.create_view("brand_new", "SELECT 1")
    assert created.name == "brand_new" and created.sql == "SELECT 1"
    sent = json.loads(fake.requests[-1].content)
    assert sent == {"name": "brand_new", "query": {"kind": "HogQLQuery", "query": "SELECT 1"}}
    updated = client.update_view(vid, sql="SELECT 2", edited_history_id=103, sync_frequency="never")
    assert updated.sql == "SELECT 2"
    sent = json.loads(fake.requests[-1].content)
    assert sent["edited_history_id"] == 103 and sent["sync_frequency"] == "never"
    assert "folder_id" not in sent
    client.update_view(vid, folder_id=None)
    assert json.loads(fake.requests[-1].content) == {"folder_id": None}
    # UNSET (the default) leaves the folder alone, where None takes the view out of its folder.
    client.update_view(vid, name="renamed", folder_id=UNSET)
    assert json.loads(fake.requests[-1].content) == {"name": "renamed"}
    client.delete_view(vid)
    assert fake.requests[-1].method == "DELETE"
    with pytest.raises(NotFoundError) as info:
        client.get_view(vid)
    assert vid in str(info.value)
    with pytest.raises(ValueError):
        client.update_view(vid, sync_frequency="hourly")
    with pytest.raises(ValueError):
        client.update_view(vid)


def test_lineage_endpoints_send_integer_level(client: PostHogClient, fake: FakePostHog) -> None:
    vid = str(uuid.UUID(int=1002))
    assert client.ancestors(vid) == sorted({"events", str(uuid.UUID(int=1001)), "posthog"})
    assert json.loads(fake.requests[-1].content) == {}
    assert client.ancestors(vid, level=1) == ["events"]
    assert json.loads(fake.requests[-1].content) == {"level": 1}
    assert client.descendants(vid, level=2) == sorted(["events", str(uuid.UUID(int=1001))])
    assert fake.requests[-1].url.path.endswith(f"/{vid}/descendants/")
    sent = len(fake.requests)
    for bad in (0, -1, True, False, 1.0, 1.5, "2", [1]):
        with pytest.raises(ValueError):
            client.ancestors(vid, level=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            client.descendants(vid, level=bad)  # type: ignore[arg-type]
    assert len(fake.requests) == sent  # refused before any request


def test_view_actions_and_counts(client: PostHogClient, fake: FakePostHog) -> None:
    vid = str(uuid.UUID(int=1001))
    deps = client.dependencies(vid)
    assert deps == Dependencies(upstream_count=2, downstream_count=0)
    history = client.run_history(vid)
    assert [h.status for h in history] == ["Completed", "Failed"]
    assert all(isinstance(h, RunHistoryEntry) for h in history)
    assert history[1].timestamp == datetime(2026, 11, 24, 0, 0, 0, 500000, tzinfo=UTC)
    for action in ("run", "materialize", "revert_materialization", "cancel"):
        assert getattr(client, action)(vid) is None
        assert fake.requests[-1].method == "POST"
        assert fake.requests[-1].url.path.endswith(f"/{vid}/{action}/")
    client.resume_schedules([vid, vid, uuid.UUID(int=1002)])
    assert json.loads(fake.requests[-1].content) == {"view_ids": sorted([vid, str(uuid.UUID(int=1002))])}
    with pytest.raises(ValueError):
        client.resume_schedules([])


def test_folders_crud(client: PostHogClient) -> None:
    assert client.list_folders() == []
    revenue = client.create_folder("  Revenue ")
    assert isinstance(revenue, Folder) and revenue.name == "Revenue" and revenue.view_count == 0
    client.create_folder("Alpha")
    assert [f.name for f in client.list_folders()] == ["Alpha", "Revenue"]
    assert client.get_folder(revenue.id).name == "Revenue"
    assert client.update_folder(revenue.id, name="Money").name == "Money"
    client.delete_folder(revenue.id)
    with pytest.raises(NotFoundError):
        client.get_folder(revenue.id)
    with pytest.raises(ValueError):
        client.create_folder("   ")


def test_jobs_cursor_pages_and_filters(client: PostHogClient, fake: FakePostHog) -> None:
    jobs = client.list_jobs()
    assert [j.id for j in jobs] == [j["id"] for j in fake.jobs]
    assert all(isinstance(j, Job) for j in jobs)
    assert jobs[0].duration_s == 300.0
    some_view = str(uuid.UUID(int=1001))
    mine = client.list_jobs(saved_query_id=some_view)
    assert mine and all(j.saved_query_id == some_view for j in mine)
    assert client.get_job(jobs[3].id) == jobs[3]
    assert [j.status for j in client.running_jobs()] == ["Running"] * 4
    assert len(client.recent_jobs()) == 2


def test_jobs_limit_and_since_stop_paging(client: PostHogClient, fake: FakePostHog) -> None:
    before = len(fake.requests)
    assert len(client.list_jobs(limit=3)) == 3
    assert len(fake.requests) == before + 1 and fake.requests[-1].url.params["limit"] == "3"
    before = len(fake.requests)
    since = NOW - timedelta(hours=4, minutes=30)
    recent = list(client.iter_jobs(since=since, page_size=2))
    assert [j.created_at for j in recent] == [NOW - timedelta(hours=i) for i in range(5)]
    # pages of 2: jobs 0-1, 2-3, 4-5 (job 5 is older): the 4th page is never asked for
    assert len(fake.requests) == before + 3
    naive = since.replace(tzinfo=None)
    assert len(client.list_jobs(since=naive)) == 5
    with pytest.raises(ValueError):
        client.list_jobs(limit=0)


def test_completed_activity_relative_links(client: PostHogClient, fake: FakePostHog) -> None:
    rows = client.completed_activity(limit=20)
    assert len(rows) == 45 and all(isinstance(r, ActivityRow) for r in rows)
    assert len({r.id for r in rows}) == 45
    offsets = [r.url.params.get("offset") for r in fake.requests[-3:]]
    assert offsets == ["0", "20", "40"]
    assert rows[0].finished_at == datetime(2026, 11, 25, tzinfo=UTC)
    assert len(client.completed_activity(limit=50, max_items=7)) == 7
    for bad in (0, 51, -1):
        with pytest.raises(ValueError):
            client.completed_activity(limit=bad)


def test_check_database_name(client: PostHogClient) -> None:
    assert client.check_database_name("free-name").available is True
    assert client.check_database_name("taken").available is False


def test_tables_limit_offset(client: PostHogClient, fake: FakePostHog) -> None:
    tables = client.list_tables()
    assert [t.name for t in tables] == [f"stripe_t{i}" for i in range(5)]
    assert all(isinstance(t, Table) for t in tables)
    assert tables[0].source_type == "Stripe"
    assert client.get_table(tables[2].id).name == "stripe_t2"
    assert [r.url.params.get("offset") for r in fake.requests[-4:-1]] == [None, "2", "4"]


def test_async_client_directly(fake: FakePostHog) -> None:
    async def main() -> tuple[list[SavedQuery], list[str]]:
        async with AsyncPostHogClient(settings(), transport=httpx.MockTransport(fake)) as c:
            views = await c.list_views()
            results = await asyncio.gather(*(c.ancestors(v.id, level=1) for v in views))
            return views, sorted({i for r in results for i in r})

    views, ids = asyncio.run(main())
    assert len(views) == 7 and ids == ["events"]


def test_sync_client_works_inside_a_running_loop(fake: FakePostHog) -> None:
    async def notebook_cell() -> int:
        with PostHogClient(settings(), transport=httpx.MockTransport(fake)) as c:
            return len(c.list_views())

    assert asyncio.run(notebook_cell()) == 7


def test_base_path_https_and_key_rules(fake: FakePostHog) -> None:
    with PostHogClient(settings("http://127.0.0.1:8123"), transport=httpx.MockTransport(fake)) as c:
        c.list_folders()
    assert str(fake.requests[-1].url) == "http://127.0.0.1:8123/api/projects/7/warehouse_saved_query_folders/"
    with pytest.raises(ConfigError):
        PostHogClient(settings("http://posthog.example.com"))
    with pytest.raises(ConfigError):
        PostHogClient(Settings.resolve(host="https://posthog.test", project="7", env={}))
    c = PostHogClient(settings(), transport=httpx.MockTransport(fake))
    assert KEY not in repr(c) and KEY not in repr(c.aio)
    c.close()
    c.close()  # idempotent


def test_redirect_307_is_followed_with_body() -> None:
    seen: list[tuple[str, str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.content))
        if request.url.path.startswith("/api/environments/"):
            return httpx.Response(
                307, headers={"location": request.url.path.replace("environments", "projects")}
            )
        if request.url.path.startswith("/api/projects/7/"):
            return httpx.Response(200, json={"ancestors": ["events"]})
        return httpx.Response(307, headers={"location": request.url.path.replace("projects", "environments")})

    # project 8 redirects to environments/8, which redirects back: a loop that must end cleanly
    with (
        PostHogClient(settings(project="8"), transport=httpx.MockTransport(handler)) as c,
        pytest.raises(ProtocolError, match="redirect"),
    ):
        c.ancestors("x", level=2)
    assert len(seen) <= 25 and c.stats.retries == 0

    def simple(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.content))
        if "/old/" in request.url.path:
            return httpx.Response(200, json={"descendants": ["a"]})
        return httpx.Response(307, headers={"location": "/old" + request.url.path})

    seen.clear()
    with PostHogClient(settings(), transport=httpx.MockTransport(simple)) as c:
        assert c.descendants("v1", level=3) == ["a"]
    assert seen[1][0] == "POST" and json.loads(seen[1][2]) == {"level": 3}


@pytest.mark.parametrize(
    ("project", "rest"),
    [
        ("7", "warehouse_saved_queries/0190a8c4-1c1c-7b4e-9d8e-1234567890ab/ancestors/"),
        ("7", "warehouse_saved_queries/?page=2"),
        ("7", "warehouse_saved_queries/a%20b/"),
        ("7", "warehouse_saved_queries/.../x/../y/"),
        ("7", "warehouse_saved_queries/./"),
        ("@current", "warehouse_tables/"),
        ("12", "query/"),
    ],
)
def test_display_names_a_request_as_httpx_reads_its_path(project: str, rest: str) -> None:
    """The shortcut for plain endpoint paths shows what parsing the whole URL shows."""
    from lineage.config import redact

    client = AsyncPostHogClient(settings(project=project))
    sender = client._sender
    for url in (sender.url(rest), f"https://elsewhere.test/api/{rest}"):
        assert sender.display("GET", url) == redact(f"GET {httpx.URL(url).path}")
    asyncio.run(client.aclose())
