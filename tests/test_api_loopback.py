"""The API client against the simulator over real loopback HTTP (uvicorn on 127.0.0.1).

Every endpoint through the async client, the sync client, and the sync client called from inside a
running event loop; then faults the in-process tests cannot produce: real latency, 5xx and 429 storms,
truncated bodies, responses that stall past the client timeout, and a server that dies mid-crawl.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from conftest import FOLDER_IDS, JOB_IDS, TABLE_IDS, VIEW_IDS, make_small_fixture

from lineage.api import AsyncPostHogClient, PostHogClient
from lineage.api.retry import Backoff
from lineage.config import Settings
from lineage.errors import (
    ApiError,
    BadRequestError,
    LineageError,
    NotFoundError,
    PersonalKeyNotSupportedError,
    ProtocolError,
    TransportError,
)
from lineage.sim.faults import FaultConfig, FaultInjector
from lineage.sim.server import ServerHandle, serve_in_thread

pytestmark = [pytest.mark.loopback, pytest.mark.timeout(60)]

# A key that is not shaped like phx_..., so only the registered-secret redaction can hide it.
# shares no 8-character piece with another test's secret: redaction also removes pieces of every
# secret registered in the process, so a shared piece would mangle that test's expected text
SECRET = "loopbackT0kenNumber42"
FAST = Backoff(base=0.005, cap=0.05)
V = VIEW_IDS
STRIPE = TABLE_IDS["stripe_charge"]
Call = Callable[..., Awaitable[Any]]


def settings(url: str, key: str) -> Settings:
    return Settings.resolve(host=url, project="1", api_key=key, env={})


def fixture_with_secret() -> dict[str, Any]:
    fixture = make_small_fixture()
    fixture["api_keys"].append({"key": SECRET, "scopes": ["*"]})
    return fixture


@pytest.fixture
def server() -> Iterator[ServerHandle]:
    with serve_in_thread(fixture_with_secret(), era="e2") as handle:
        yield handle


def route_count(handle: ServerHandle, route: str) -> int:
    return int(handle.stats()["by_route"].get(route, 0))


# ---------------------------------------------------------------- every endpoint


async def exercise(read: Call, write: Call, query: Call, listing: Call) -> None:
    """Every endpoint once or more; ``read``/``write``/``query`` call a method by name on a client
    with the read, write and all-scopes key; ``listing(name, ...)`` drains an iterator method."""
    views = await read("list_views")
    assert {v.name: v.id for v in views} == V
    assert all(v.sql is None for v in views)
    assert [v.name for v in await read("list_views", search="orders")] == ["orders_daily", "orders"]
    assert sorted(v.id for v in await listing("iter_views")) == sorted(V.values())
    detail = await read("get_view", V["revenue_report"])
    assert detail.sql == "SELECT created, n FROM orders_daily"
    assert detail.created_at == datetime(2026, 1, 5, tzinfo=UTC)

    rr = V["revenue_report"]
    assert await read("ancestors", rr, 1) == [V["orders_daily"]]
    assert await read("ancestors", rr, 2) == sorted([V["orders_daily"], V["orders"], V["event_counts"]])
    everything = sorted([V["orders_daily"], V["orders"], V["event_counts"], STRIPE, "events"])
    assert await read("ancestors", rr, 3) == everything
    assert await read("ancestors", rr) == everything
    assert await read("ancestors", V["ai_usage"]) == ["ai_events", "posthog"]
    assert await read("descendants", V["orders"], 1) == [V["orders_daily"]]
    assert await read("descendants", V["orders"], 2) == sorted([V["orders_daily"], rr])
    assert await read("descendants", V["orders"]) == sorted([V["orders_daily"], rr])
    assert await read("descendants", rr) == []
    deps = await read("dependencies", V["orders_daily"])
    assert (deps.upstream_count, deps.downstream_count) == (2, 1)
    with pytest.raises(ValueError, match="level"):
        await read("ancestors", rr, 0)

    jobs = await read("list_jobs")
    assert sorted(j.id for j in jobs) == sorted(JOB_IDS)
    assert [j.created_at for j in jobs] == sorted((j.created_at for j in jobs), reverse=True)
    mine = await read("list_jobs", saved_query_id=V["orders_daily"])
    assert len(mine) == 3 and {j.saved_query_id for j in mine} == {V["orders_daily"]}
    since = await read("list_jobs", since=datetime(2026, 11, 21, 12, tzinfo=UTC))
    assert [j.id for j in since] == [JOB_IDS[3], JOB_IDS[2]]
    assert len(await read("list_jobs", limit=2)) == 2
    assert len(await listing("iter_jobs", page_size=1)) == 4
    job = await read("get_job", JOB_IDS[0])
    assert job.rows_materialized == 100 and job.duration_s == 300.0
    history = await read("run_history", V["orders_daily"])
    assert [h.status for h in history] == ["Completed", "Failed", "Completed"]

    tables = await read("list_tables")
    assert [(t.id, t.name) for t in tables] == [(STRIPE, "stripe_charge")]
    assert (await read("get_table", STRIPE)).name == "stripe_charge"
    assert [t.name for t in await listing("iter_tables")] == ["stripe_charge"]

    for refused in ("recent_jobs", "running_jobs", "completed_activity"):
        with pytest.raises(PersonalKeyNotSupportedError, match="personal API key"):
            await read(refused)

    # folders, with the write key
    assert [f.name for f in await write("list_folders")] == ["Product", "Revenue"]
    assert (await write("get_folder", FOLDER_IDS["Revenue"])).view_count == 2
    misc = await write("create_folder", "Misc")
    assert (await write("update_folder", misc.id, name="Other")).name == "Other"
    await write("delete_folder", misc.id)
    with pytest.raises(NotFoundError, match=misc.id):
        await write("get_folder", misc.id)

    # saved query CRUD and actions, with the write key
    created = await write("create_view", "loop_view", "SELECT event FROM events")
    assert await write("ancestors", created.id) == ["events"]
    current = await write("get_view", created.id)
    updated = await write(
        "update_view",
        created.id,
        sql="SELECT distinct_id FROM persons",
        edited_history_id=current.latest_history_id,
    )
    assert updated.sql == "SELECT distinct_id FROM persons"
    assert await write("ancestors", created.id) == ["persons"]
    await write("update_view", created.id, folder_id=FOLDER_IDS["Revenue"])
    assert (await write("get_view", created.id)).folder == "Revenue"
    await write("materialize", created.id)
    assert (await write("get_view", created.id)).is_materialized is True
    await write("revert_materialization", created.id)
    assert (await write("get_view", created.id)).is_materialized is False
    await write("run", created.id)
    assert len(await write("run_history", created.id)) >= 1
    with pytest.raises(BadRequestError, match="not running"):
        await write("cancel", V["constant"])
    await write("resume_schedules", [created.id, V["orders"]])
    await write("delete_view", created.id)
    with pytest.raises(NotFoundError, match=created.id):
        await write("get_view", created.id)

    # HogQL (query:read, here from the all-scopes key)
    result = await query(
        "hogql", "SELECT id, name FROM system.data_modeling_views WHERE name = {n}", values={"n": "orders"}
    )
    assert result.rows() == [{"id": V["orders"], "name": "orders"}]
    rows = await listing(
        "iter_hogql",
        "SELECT name FROM system.data_modeling_views WHERE NOT deleted ORDER BY name",
        page_size=2,
    )
    assert [r["name"] for r in rows] == sorted(V)


def test_every_endpoint_async_client(server: ServerHandle) -> None:
    async def main() -> None:
        async with (
            AsyncPostHogClient(settings(server.url, "phx_read"), timeout=5) as r,
            AsyncPostHogClient(settings(server.url, "phx_write"), timeout=5) as w,
            AsyncPostHogClient(settings(server.url, SECRET), timeout=5) as q,
        ):

            def on(client: AsyncPostHogClient) -> Call:
                async def call(name: str, /, *args: Any, **kwargs: Any) -> Any:
                    return await getattr(client, name)(*args, **kwargs)

                return call

            async def listing(name: str, /, *args: Any, **kwargs: Any) -> list[Any]:
                client = q if name == "iter_hogql" else r
                return [item async for item in getattr(client, name)(*args, **kwargs)]

            await exercise(on(r), on(w), on(q), listing)
            assert (
                r.stats.total_requests + w.stats.total_requests + q.stats.total_requests
                == (server.stats()["total"])
            )

    asyncio.run(main())


def sync_calls(r: PostHogClient, w: PostHogClient, q: PostHogClient) -> tuple[Call, Call, Call, Call]:
    """Adapters that call the blocking client directly, on whatever thread runs the coroutine."""

    def on(client: PostHogClient) -> Call:
        async def call(name: str, /, *args: Any, **kwargs: Any) -> Any:
            return getattr(client, name)(*args, **kwargs)

        return call

    async def listing(name: str, /, *args: Any, **kwargs: Any) -> list[Any]:
        client = q if name == "iter_hogql" else r
        return list(getattr(client, name)(*args, **kwargs))

    return on(r), on(w), on(q), listing


def test_every_endpoint_sync_client_inside_a_running_loop(server: ServerHandle) -> None:
    with (
        PostHogClient(settings(server.url, "phx_read"), timeout=5) as r,
        PostHogClient(settings(server.url, "phx_write"), timeout=5) as w,
        PostHogClient(settings(server.url, SECRET), timeout=5) as q,
    ):

        async def main() -> None:
            asyncio.get_running_loop()  # what Jupyter has: blocking calls from a running loop's thread
            await exercise(*sync_calls(r, w, q))

        asyncio.run(main())


def test_every_endpoint_sync_client_without_a_loop(server: ServerHandle) -> None:
    with (
        PostHogClient(settings(server.url, "phx_read"), timeout=5) as r,
        PostHogClient(settings(server.url, "phx_write"), timeout=5) as w,
        PostHogClient(settings(server.url, SECRET), timeout=5) as q,
    ):
        read, write, query, listing = sync_calls(r, w, q)

        def now(coro: Awaitable[Any]) -> Any:
            # the adapters do not await anything, so one send() runs the call to its end
            gen = coro.__await__()
            try:
                gen.send(None)
            except StopIteration as done:
                return done.value
            raise AssertionError("a sync call awaited")

        assert {v.name for v in now(read("list_views"))} == set(V)
        assert now(read("ancestors", V["revenue_report"], 1)) == [V["orders_daily"]]
        assert [t.name for t in now(listing("iter_tables"))] == ["stripe_charge"]
        assert now(write("create_folder", "Plain")).name == "Plain"
        assert len(now(listing("iter_hogql", "SELECT id FROM system.data_modeling_views ORDER BY id"))) == 6
        assert now(query("hogql", "SELECT 1 AS one")).rows() == [{"one": 1}]


# ---------------------------------------------------------------- faults


def crawl(url: str, *, retries: int = 12) -> dict[str, Any]:
    """A full listing and lineage sweep, concurrently, as a crawler does it."""

    async def main() -> dict[str, Any]:
        async with AsyncPostHogClient(
            settings(url, "phx_read"), timeout=5, retries=retries, backoff=FAST, concurrency=6
        ) as c:
            views = await c.list_views()
            ids = sorted(v.id for v in views)
            details = await asyncio.gather(*(c.get_view(i) for i in ids))
            ups = await asyncio.gather(*(c.ancestors(i) for i in ids))
            ones = await asyncio.gather(*(c.ancestors(i, level=1) for i in ids))
            downs = await asyncio.gather(*(c.descendants(i) for i in ids))
            deps = await asyncio.gather(*(c.dependencies(i) for i in ids))
            return {
                "views": sorted((v.id, v.name, v.folder, v.is_materialized) for v in views),
                "sql": {d.id: d.sql for d in details},
                "lineage": {i: (u, o, d) for i, u, o, d in zip(ids, ups, ones, downs, strict=True)},
                "deps": {i: (d.upstream_count, d.downstream_count) for i, d in zip(ids, deps, strict=True)},
                "jobs": sorted(j.id for j in await c.list_jobs()),
                "job_pages": sorted([j.id async for j in c.iter_jobs(page_size=1)]),
                "tables": [t.id for t in await c.list_tables()],
                "folders": [f.name for f in await c.list_folders()],
                "retries": c.stats.retries,
                "throttled": c.stats.throttled,
            }

    return asyncio.run(main())


def test_latency_5xx_429_storms_and_truncation_lose_nothing(server: ServerHandle) -> None:
    clean = crawl(server.url)
    assert clean["retries"] == 0 and set(clean["sql"]) == set(V.values())
    faults = FaultConfig(
        seed=7,
        latency_ms=2,
        jitter_ms=4,
        error_rate=0.1,
        storm_rate=0.04,
        storm_length=3,
        storm_retry_after=0,  # a throttle answer without Retry-After: the client backs off itself
        truncate_rate=0.08,
    )
    with serve_in_thread(fixture_with_secret(), era="e2", faults=faults) as faulty:
        noisy = crawl(faulty.url)
        injected = faulty.stats()
    assert {k: v for k, v in noisy.items() if k not in ("retries", "throttled")} == {
        k: v for k, v in clean.items() if k not in ("retries", "throttled")
    }
    # the injector's decisions depend only on the seed and the number of requests: replay them to
    # check that every kind of fault really happened during this crawl
    replay = FaultInjector(faults)
    decisions = [replay.decide() for _ in range(injected["total"])]
    assert any(d.storm for d in decisions) and any(d.truncate for d in decisions)
    assert {d.error_status for d in decisions} >= {500, 502, 503}
    assert min(d.delay_s for d in decisions) >= 0.002
    # each injected fault cost exactly one retry, and the client saw every 429
    assert noisy["retries"] == injected["errors_injected"] == sum(d.injected for d in decisions)
    assert noisy["throttled"] == injected["throttled"] == sum(d.storm for d in decisions)


def test_storm_with_retry_after_is_waited_out_over_loopback(server: ServerHandle) -> None:
    # one raw request starts a storm of three 429s (Retry-After: 1); the client meets the other two
    server.sim.faults.reconfigure({"storm_rate": 1.0, "storm_length": 3, "storm_retry_after": 1})
    assert httpx.get(f"{server.url}/api/projects/1/warehouse_tables/", timeout=5).status_code == 429
    server.sim.faults.reconfigure({"storm_rate": 0.0})
    with PostHogClient(settings(server.url, "phx_read"), timeout=5, retries=3, backoff=FAST) as c:
        started = time.monotonic()
        assert c.ancestors(V["orders"], level=1) == [STRIPE]
        took = time.monotonic() - started
        assert c.stats.throttled == 2 and c.stats.retries == 2
        assert 2.0 <= took < 5.0 and c.stats.waited_s >= 2.0


def first_seed(config: dict[str, Any], pattern: list[bool]) -> int:
    """The first seed whose first decisions stall exactly as ``pattern`` says (found, not hard-coded)."""
    for seed in range(1000):
        injector = FaultInjector(FaultConfig(seed=seed, **config))
        if [injector.decide().stall_s > 0 for _ in pattern] == pattern:
            return seed
    raise AssertionError("no seed found")


STALL = {"stall_rate": 0.5, "stall_seconds": 1.5}
TIMEOUT = 0.3


def test_stalled_read_is_retried_after_the_client_timeout(server: ServerHandle) -> None:
    seed = first_seed(STALL, [True, True, False])
    server.sim.faults.reconfigure({"seed": seed, **STALL})
    with PostHogClient(settings(server.url, "phx_read"), timeout=TIMEOUT, retries=3, backoff=FAST) as c:
        started = time.monotonic()
        assert c.ancestors(V["revenue_report"], level=1) == [V["orders_daily"]]
        took = time.monotonic() - started
        assert c.stats.retries == 2
    # two timeouts of 0.3 s, not two stalls of 1.5 s
    assert 2 * TIMEOUT <= took < STALL["stall_seconds"]
    assert route_count(server, "POST /api/projects/{team_id}/warehouse_saved_queries/{id}/ancestors/") == 3


def test_stalled_state_change_is_a_clean_transport_error_not_a_retry(server: ServerHandle) -> None:
    seed = first_seed(STALL, [True])
    server.sim.faults.reconfigure({"seed": seed, **STALL})
    with (
        PostHogClient(settings(server.url, SECRET), timeout=TIMEOUT, retries=3, backoff=FAST) as c,
        pytest.raises(TransportError) as info,
    ):
        c.run(V["orders"])
    err = info.value
    assert "timed out" in str(err) and "not retried" in str(err) and err.path and "/run/" in err.path
    assert route_count(server, "POST /api/projects/{team_id}/warehouse_saved_queries/{id}/run/") == 1
    assert_clean(err)


def assert_clean(err: BaseException) -> None:
    """No chained exception, and neither the key nor the Authorization header anywhere in the chain."""
    assert isinstance(err, LineageError)
    assert err.__cause__ is None and err.__context__ is None
    printed = "".join(traceback.format_exception(err))
    assert "During handling" not in printed and "direct cause" not in printed
    for text in (printed, repr(err), str(err), repr(getattr(err, "context", ""))):
        assert SECRET not in text and "Bearer" not in text and "uthorization" not in text


def test_server_killed_mid_crawl_is_a_clean_transport_error() -> None:
    handle = serve_in_thread(fixture_with_secret(), era="e2", faults=FaultConfig(latency_ms=20))
    killer = threading.Timer(0.4, handle.stop)
    try:
        with PostHogClient(settings(handle.url, SECRET), timeout=2, retries=3, backoff=FAST) as c:
            ids = [v.id for v in c.list_views()]
            killer.start()
            started = time.monotonic()
            with pytest.raises(TransportError) as info:
                for _ in range(1000):  # far longer than the server lives
                    for vid in ids:
                        c.ancestors(vid)
            took = time.monotonic() - started
    finally:
        killer.cancel()
        handle.stop()
    assert took < 5
    assert "connection failed" in str(info.value) and "after 3 retries" in str(info.value)
    assert_clean(info.value)


def test_the_key_never_reaches_logs_or_error_chains(caplog: pytest.LogCaptureFixture) -> None:
    faults = FaultConfig(seed=3, error_rate=0.3, truncate_rate=0.2, storm_rate=0.1, storm_retry_after=0)
    errors: list[ApiError] = []
    with (
        caplog.at_level(logging.DEBUG),
        serve_in_thread(fixture_with_secret(), era="e2", faults=faults) as handle,
        PostHogClient(settings(handle.url, SECRET), timeout=2, retries=1, backoff=FAST) as c,
    ):
        for vid in sorted(V.values()):
            for call in (c.get_view, c.ancestors, c.run, c.dependencies):
                try:
                    call(vid)
                except ApiError as err:
                    errors.append(err)
        handle.sim.faults.reconfigure({"error_rate": 0, "truncate_rate": 0, "storm_rate": 0})
        handle.stop()
        with pytest.raises(TransportError) as down:
            c.list_views()
        errors.append(down.value)
    assert len(errors) >= 3 and {type(e).__name__ for e in errors} > {"TransportError"}
    for error in errors:
        assert_clean(error)
    records = [r for r in caplog.records if r.name.startswith(("lineage", "httpx", "httpcore"))]
    # the debug logs were really on (the trace of the transport under httpx: httpcore's, or the
    # client's own for a plain-http host)
    assert any(
        r.levelno == logging.DEBUG and r.name.startswith(("httpcore", "lineage.api.wire")) for r in records
    )
    for record in records:
        text = f"{record.getMessage()} {record.args!r}"
        assert SECRET not in text and "Bearer" not in text


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET with an empty listing and keeps the headers it was sent."""

    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers.items()))  # type: ignore[attr-defined]
        body = json.dumps({"count": 0, "next": None, "previous": None, "results": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # the stdlib's name
        pass


def _redirector(target: str) -> type[BaseHTTPRequestHandler]:
    class Redirect(_Recorder):
        def do_GET(self) -> None:
            self.server.seen.append(dict(self.headers.items()))  # type: ignore[attr-defined]
            self.send_response(307)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Redirect


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, list[dict[str, str]]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    seen: list[dict[str, str]] = []
    httpd.seen = seen  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, seen


def test_a_redirect_to_another_host_never_carries_the_key() -> None:
    other, other_seen = _serve(_Recorder)
    other_url = f"http://localhost:{other.server_address[1]}"
    origin, origin_seen = _serve(_redirector(other_url))
    origin_url = f"http://127.0.0.1:{origin.server_address[1]}"
    try:
        with (
            PostHogClient(settings(origin_url, SECRET), timeout=2, retries=0) as c,
            pytest.raises(ProtocolError) as info,
        ):
            c.list_views()
        # the client stops at the redirect: the other host hears nothing, not even the request
        assert other_seen == []
        assert len(origin_seen) == 1 and origin_seen[0]["Authorization"] == f"Bearer {SECRET}"
        assert other_url in str(info.value) and "POSTHOG_HOST" in str(info.value)
        assert_clean(info.value)
        # and httpx itself, which the client relies on beneath that, drops the header across origins
        with httpx.Client(follow_redirects=True, timeout=2) as raw:
            answer = raw.get(f"{origin_url}/x", headers={"Authorization": f"Bearer {SECRET}"})
        assert answer.status_code == 200 and len(other_seen) == 1
        assert "Authorization" not in other_seen[0] and SECRET not in repr(other_seen)
    finally:
        for httpd in (origin, other):
            httpd.shutdown()
            httpd.server_close()


def test_a_plain_http_host_still_goes_through_a_proxy_from_the_environment(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An http:// host skips the CA bundle with a transport of its own, but not when a proxy is
    configured: httpx reads proxy variables only when it makes the transport. The simulator plays
    the proxy here (it answers the absolute-form request line); nothing listens at the host itself."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("http_proxy", server.url)
    proxied = settings("http://localhost:1", SECRET)  # nothing listens on port 1

    async def main() -> int:
        async with AsyncPostHogClient(proxied) as client:
            return len(await client.list_views())

    assert asyncio.run(main()) == len(VIEW_IDS)
