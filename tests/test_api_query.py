"""The client's HogQL methods against the simulator (in-process ASGI): results, paging, async polling,
its own HogQL rate limit and the distinct, key-free errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import VIEW_IDS, make_small_fixture

from lineage.api import AsyncPostHogClient, PostHogClient, QueryResult, VirtualClock
from lineage.api.query import has_top_level_limit, with_limit
from lineage.config import Settings
from lineage.errors import (
    BadRequestError,
    MissingScopeError,
    PaymentRequiredError,
    RateLimitedError,
    TableAccessError,
)
from lineage.sim.app import create_app
from lineage.sim.state import Warehouse

KEYS = [
    {"key": "phx_q", "scopes": ["query:read"]},
    {"key": "phx_denied", "scopes": ["query:read"], "denied_tables": ["system.data_modeling_jobs"]},
    {"key": "phx_broke", "scopes": ["query:read"], "over_quota": True},
]


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests on and keeps their method, path and JSON body."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.method, request.url.path, body))
        return await self.inner.handle_async_request(request)


def make_app(extra_views: int = 0) -> Any:
    fx = make_small_fixture()
    fx["api_keys"] += KEYS
    fx["views"] += [{"name": f"bulk_{i:04d}", "query": "SELECT 1", "parents": []} for i in range(extra_views)]
    return create_app(Warehouse(fx))


def client_for(app: Any, key: str = "phx_q", **kw: Any) -> tuple[PostHogClient, Recorder]:
    rec = Recorder(httpx.ASGITransport(app=app))
    settings = Settings.resolve(host="http://127.0.0.1", project="1", api_key=key, env={})
    return PostHogClient(settings, transport=rec, sleep=lambda s: None, **kw), rec


@pytest.fixture
def app() -> Any:
    return make_app()


@pytest.fixture
def client(app: Any) -> Iterator[tuple[PostHogClient, Recorder]]:
    c, rec = client_for(app)
    with c:
        yield c, rec


def test_hogql_result_and_values_bound(client: tuple[PostHogClient, Recorder]) -> None:
    c, rec = client
    hostile = "orders' OR '1'='1"
    res = c.hogql("SELECT id, name FROM system.data_modeling_views WHERE name = {n}", values={"n": hostile})
    assert isinstance(res, QueryResult) and res.results == [] and res.columns == ("id", "name")
    res = c.hogql(
        "SELECT id, name FROM system.data_modeling_views WHERE name = {n}", values={"n": "orders"}, limit=5
    )
    assert res.results == [(VIEW_IDS["orders"], "orders")] and res.limit == 5 and res.has_more is False
    assert res.rows() == [{"id": VIEW_IDS["orders"], "name": "orders"}]
    rows = res.iter_rows()  # one at a time (what iter_hogql hands out)
    assert next(rows) == {"id": VIEW_IDS["orders"], "name": "orders"} and next(rows, None) is None
    assert res.types[0] == ("id", "UUID")
    method, path, body = rec.sent[-1]
    assert (method, path) == ("POST", "/api/projects/1/query/")
    assert body["query"]["kind"] == "HogQLQuery" and body["query"]["values"] == {"n": "orders"}
    assert "orders" not in body["query"]["query"] and body["query"]["query"].endswith("\nLIMIT 5")


def test_iter_hogql_pages_every_row_once() -> None:
    app = make_app(extra_views=250)
    c, rec = client_for(app)
    with c:
        rows = list(
            c.iter_hogql("SELECT id, name FROM system.data_modeling_views ORDER BY id", page_size=100)
        )
        expected = sorted(v["id"] for v in app.state.sim.warehouse.list_views())
        assert [r["id"] for r in rows] == expected and len(expected) == 256
        posts = [b for m, _, b in rec.sent if m == "POST"]
        assert len(posts) == 3
        assert [b["query"]["query"].rsplit("\n", 1)[1] for b in posts] == [
            "LIMIT 100 OFFSET 0",
            "LIMIT 100 OFFSET 100",
            "LIMIT 100 OFFSET 200",
        ]
        # an exact multiple of the page size ends on an empty page, still without repeats
        rows = list(c.iter_hogql("SELECT id FROM system.data_modeling_views ORDER BY id", page_size=128))
        assert [r["id"] for r in rows] == expected


def test_iter_hogql_prefetch_asks_for_the_next_page_before_handing_out_rows() -> None:
    app = make_app(extra_views=250)
    rec = Recorder(httpx.ASGITransport(app=app))
    settings = Settings.resolve(host="http://127.0.0.1", project="1", api_key="phx_q", env={})
    sql = "SELECT id, name FROM system.data_modeling_views ORDER BY id"

    def posts() -> int:
        return sum(1 for m, _, _ in rec.sent if m == "POST")

    async def run() -> tuple[list[Any], list[Any], list[int], int]:
        async with AsyncPostHogClient(settings, transport=rec) as c:
            plain = [r async for r in c.iter_hogql(sql, page_size=100)]
            rec.sent.clear()
            rows, seen = [], []
            async for row in c.iter_hogql(sql, page_size=100, prefetch=True):
                seen.append(posts())
                rows.append(row)
                await asyncio.sleep(0)  # a caller at work lets the loop turn
            rec.sent.clear()
            async for _ in c.iter_hogql(sql, page_size=100, prefetch=True):
                break  # a caller that stops early has spent one request more, not more than that
            await asyncio.sleep(0.05)
            return plain, rows, seen, posts()

    plain, rows, seen, early = asyncio.run(run())
    assert rows == plain and len(rows) == 256  # the same rows, once each
    # page 1's rows were handed out with page 2 asked for, page 2's with page 3; none beyond
    assert seen[0] == 2 and seen[100] == 3 and seen[-1] == 3
    assert early == 2


def test_iter_hogql_refuses_own_limit_and_bad_page_size(client: tuple[PostHogClient, Recorder]) -> None:
    c, rec = client
    with pytest.raises(ValueError, match="LIMIT"):
        c.iter_hogql("SELECT id FROM system.data_modeling_views LIMIT 5")
    with pytest.raises(ValueError, match="page_size"):
        c.iter_hogql("SELECT 1", page_size=50001)
    with pytest.raises(ValueError, match="limit"):
        c.hogql("SELECT 1", limit=0)
    assert rec.sent == []


def test_async_answer_is_polled(client: tuple[PostHogClient, Recorder]) -> None:
    c, rec = client
    sync = c.hogql("SELECT name FROM system.data_modeling_views ORDER BY name")
    res = c.hogql("SELECT name FROM system.data_modeling_views ORDER BY name", refresh="async")
    assert res.results == sync.results
    gets = [p for m, p, _ in rec.sent if m == "GET"]
    assert len(gets) == 2 and all(p.startswith("/api/projects/1/query/") for p in gets)
    assert c.stats.waited_s > 0


def test_missing_scope_names_query_read(app: Any) -> None:
    c, _ = client_for(app, key="phx_read")
    with c, pytest.raises(MissingScopeError) as info:
        c.hogql("SELECT 1")
    assert info.value.scope == "query:read" and "query:read" in str(info.value)
    assert "phx_read" not in str(info.value) and "phx_read" not in repr(info.value.body)


def test_table_access_error_names_table(app: Any) -> None:
    c, _ = client_for(app, key="phx_denied")
    with c, pytest.raises(TableAccessError) as info:
        c.hogql("SELECT id FROM system.data_modeling_jobs")
    assert isinstance(info.value, BadRequestError)
    assert info.value.table == "system.data_modeling_jobs" and info.value.status == 400
    assert "system.data_modeling_jobs" in str(info.value) and "phx_denied" not in str(info.value)


def test_quota_is_payment_required(app: Any) -> None:
    c, _ = client_for(app, key="phx_broke")
    with c, pytest.raises(PaymentRequiredError) as info:
        c.hogql("SELECT 1")
    assert info.value.status == 402 and "quota" in str(info.value) and "phx_broke" not in str(info.value)


def test_hogql_error_is_bad_request(client: tuple[PostHogClient, Recorder]) -> None:
    c, _ = client
    with pytest.raises(BadRequestError) as info:
        c.hogql("SELECT nope FROM system.data_modeling_views")
    assert not isinstance(info.value, TableAccessError) and "nope" in str(info.value)


def test_client_side_hogql_limit_separate_from_the_rest(app: Any) -> None:
    clock = VirtualClock()
    rec = Recorder(httpx.ASGITransport(app=app))
    settings = Settings.resolve(host="http://127.0.0.1", project="1", api_key="phx_all", env={})
    with PostHogClient(settings, transport=rec, clock=clock, max_wait=0, hogql_per_hour=2) as c:
        c.hogql("SELECT 1")
        c.hogql("SELECT 2")
        with pytest.raises(RateLimitedError, match="2 requests per 3601 s"):
            c.hogql("SELECT 3")
        assert len(rec.sent) == 2
        assert c.list_views()  # the other endpoints keep their own budget
        clock.advance(3602)
        assert c.hogql("SELECT 4").results == [(4,)]


def test_server_throttle_is_retried_after_wait() -> None:
    app = make_app()
    sim = app.state.sim

    def sleep(seconds: float) -> None:
        sim.throttler.advance(seconds)

    rec = Recorder(httpx.ASGITransport(app=app))
    settings = Settings.resolve(host="http://127.0.0.1", project="1", api_key="phx_q", env={})
    # the client allows itself more than PostHog does, so the 121st query meets a 429 and waits
    with PostHogClient(settings, transport=rec, sleep=sleep, hogql_per_hour=500, max_wait=4000) as c:
        for _ in range(121):
            c.hogql("SELECT count() FROM system.dashboards")
        assert c.stats.throttled == 1 and c.stats.retries == 1


def test_limit_helpers() -> None:
    assert has_top_level_limit("SELECT a FROM t LIMIT 3")
    assert has_top_level_limit("SELECT a FROM t OFFSET 3")
    assert not has_top_level_limit("SELECT a FROM (SELECT a FROM t LIMIT 3) AS s")
    assert not has_top_level_limit("SELECT 'LIMIT 3' AS x -- LIMIT 4")
    assert with_limit("SELECT 1 -- note", 5, 10) == "SELECT 1 -- note\nLIMIT 5 OFFSET 10"


def test_from_api_refuses_wrong_shapes() -> None:
    from lineage.errors import ProtocolError

    for body in (
        None,
        {"columns": ["a"]},
        {"columns": ["a"], "results": [[1, 2]]},
        {"columns": "a", "results": []},
    ):
        with pytest.raises(ProtocolError):
            QueryResult.from_api(body)
