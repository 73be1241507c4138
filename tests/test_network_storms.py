"""429 storms of several lengths: a crawl waits them out behind one shared gate, within its time
budget, and finishes exact in one run; the summary's wait is wall time and leaves 5xx backoff out."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from lineage.api import AsyncPostHogClient, PostHogClient
from lineage.api.retry import Backoff
from lineage.cli import main
from lineage.config import Settings
from lineage.crawl import CrawlOptions, CrawlResult, crawl_async
from lineage.errors import RateLimitedError
from lineage.sim.app import create_app
from lineage.sim.faults import FaultConfig
from lineage.sim.generate import READ_KEY, fixture_from_graph
from lineage.sim.server import serve_in_thread
from lineage.sim.state import Warehouse

FAST = Backoff(base=0.01, cap=0.02)
HOST = "http://127.0.0.1:1"


def synthetic(views: int, *, seed: int = 5) -> dict[str, Any]:
    """A warehouse of ``views`` views over four tables, each view reading one or two earlier nodes."""
    tables = [f"raw_{i}" for i in range(4)]
    names = [f"view_{i:03d}" for i in range(views)]
    nodes = [{"name": t, "kind": "table"} for t in tables] + [{"name": n, "kind": "view"} for n in names]
    edges: list[list[str]] = []
    for i, name in enumerate(names):
        earlier = tables + names[:i]
        edges.append([earlier[(i * 7) % len(earlier)], name])
        if i % 3 == 0 and len(earlier) > 1:
            other = earlier[(i * 13 + 1) % len(earlier)]
            if [other, name] not in edges:
                edges.append([other, name])
    return fixture_from_graph({"nodes": nodes, "edges": edges}, seed=seed)


def settings(key: str = READ_KEY) -> Settings:
    return Settings.resolve(host=HOST, project="1", api_key=key, env={})


def crawl_with(app: Any, *, sleep: Any = None, budget: float | None = None, **opts: Any) -> CrawlResult:
    async def go() -> CrawlResult:
        async with AsyncPostHogClient(
            settings(),
            transport=httpx.ASGITransport(app=app),
            sleep=sleep,
            backoff=FAST,
            throttle_budget=budget,
        ) as client:
            options = CrawlOptions(strategy="all", edges="api", **opts)
            return await crawl_async(settings(), options, client=client)

    return asyncio.run(go())


def graph_data(result: CrawlResult) -> tuple[list[Any], list[Any]]:
    g = result.graph.nx
    return sorted((n, sorted(d.items())) for n, d in g.nodes(data=True)), sorted(g.edges)


@pytest.mark.parametrize("length", [5, 60])
def test_count_storms_as_reported_finish_exact_in_one_run(length: int) -> None:
    # the storm: 60 answers of Retry-After: 1 on 2% of requests, an api crawl of 200 views
    # (it used to exit 3 after 41 throttled answers). Waits are instant here: the client's clock
    # moves by each sleep, so the gate and the budget still see every second pass.
    fixture = synthetic(200)
    clean = crawl_with(create_app(Warehouse(fixture, era="e2"), rate_limit=False))
    faults = FaultConfig(seed=4, storm_rate=0.02, storm_length=length, storm_retry_after=1)
    app = create_app(Warehouse(fixture, era="e2"), faults=faults, rate_limit=False)
    stormy = crawl_with(app, sleep=lambda seconds: None)
    sim = app.state.sim
    assert sim.faults.storms >= 1
    assert sim.stats.snapshot()["throttled"] >= length * sim.faults.storms
    assert graph_data(stormy) == graph_data(clean)
    assert stormy.waited_seconds >= sim.faults.storms  # each storm held the crawl back


class StormAt(httpx.AsyncBaseTransport):
    """Starts one time-based storm with the ``at``-th request (counted from 1)."""

    def __init__(self, app: Any, at: int) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.faults = app.state.sim.faults
        self.at = at
        self.count = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if self.count == self.at:
            self.faults.reconfigure({"storm_rate": 1.0})
            try:
                return await self.inner.handle_async_request(request)
            finally:
                self.faults.reconfigure({"storm_rate": 0.0})
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("seconds", [1, 2])
def test_time_storm_holds_the_whole_crawl_behind_one_gate(seconds: int) -> None:
    # PostHog's throttle is a time window: once one answer says Retry-After, every request waits
    # behind the same gate, so only the requests already in flight meet a 429 (at most the 8 of
    # the concurrency), and the summary counts the storm's wall time once, not once per request.
    fixture = synthetic(60)
    clean = crawl_with(create_app(Warehouse(fixture, era="e2"), rate_limit=False))
    faults = FaultConfig(storm_seconds=float(seconds))
    app = create_app(Warehouse(fixture, era="e2"), faults=faults, rate_limit=False)
    transport = StormAt(app, at=20)

    async def go() -> CrawlResult:
        async with AsyncPostHogClient(settings(), transport=transport, backoff=FAST) as client:
            options = CrawlOptions(strategy="all", edges="api", concurrency=8)
            return await crawl_async(settings(), options, client=client)

    started = time.monotonic()
    result = asyncio.run(go())
    took = time.monotonic() - started
    throttled = app.state.sim.stats.snapshot()["throttled"]
    assert app.state.sim.faults.storms == 1
    assert 1 <= throttled <= 8
    assert graph_data(result) == graph_data(clean)
    assert took >= seconds
    assert seconds - 0.2 <= result.waited_seconds <= seconds + 1.0


def test_five_xx_backoff_is_not_waiting_on_rate_limits() -> None:
    fixture = synthetic(30)
    faults = FaultConfig(seed=3, error_rate=0.3)
    app = create_app(Warehouse(fixture, era="e2"), faults=faults, rate_limit=False)
    result = crawl_with(app)
    assert result.retries > 0
    assert result.waited_seconds == 0.0
    assert "0.0 s waiting on rate limits" in result.summary()


def test_storm_longer_than_the_budget_fails_fast_and_says_how_to_wait_longer() -> None:
    fixture = synthetic(10)
    faults = FaultConfig(storm_rate=1.0, storm_seconds=30.0)
    app = create_app(Warehouse(fixture, era="e2"), faults=faults, rate_limit=False)
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as info:
        crawl_with(app, budget=1.0)
    assert time.monotonic() - started < 2.0
    message = str(info.value)
    assert "throttle budget" in message and "LINEAGE_THROTTLE_BUDGET" in message
    assert info.value.retry_after == 30.0


def test_progress_line_and_stderr_say_the_crawl_is_throttled(tmp_path: Path) -> None:
    fixture = synthetic(12)
    seen: list[tuple[str, int, int]] = []
    faults = FaultConfig(storm_seconds=1.0)
    app = create_app(Warehouse(fixture, era="e2"), faults=faults, rate_limit=False)
    transport = StormAt(app, at=3)

    async def go() -> CrawlResult:
        async with AsyncPostHogClient(settings(), transport=transport, throttle_budget=60) as client:
            options = CrawlOptions(
                strategy="all", edges="api", progress=lambda *a: seen.append(a), jobs=False
            )
            return await crawl_async(settings(), options, client=client)

    asyncio.run(go())
    assert ("429 wait (s)", 1, 60) in seen

    # without a progress bar (a pipe, CI) the command line says it on standard error
    with serve_in_thread(fixture, era="e2", faults=FaultConfig(storm_seconds=1.0), rate_limit=False) as sim:
        sim.sim.faults.reconfigure({"storm_rate": 1.0})
        runner = CliRunner()
        env = {"POSTHOG_HOST": sim.url, "POSTHOG_PROJECT_ID": "1", "POSTHOG_PERSONAL_API_KEY": READ_KEY}

        def calm_down() -> None:
            # one storm only: no new one may start once the first 429 has gone out (a storm in
            # progress stops any other from starting, so there is no race in between)
            deadline = time.monotonic() + 30
            while sim.stats()["throttled"] == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            sim.sim.faults.reconfigure({"storm_rate": 0.0})

        threading.Thread(target=calm_down, daemon=True).start()
        result = runner.invoke(
            main,
            ["crawl", "--edges", "api", "--no-jobs", "--no-progress", "--out", str(tmp_path / "s.json")],
            env=env,
        )
    assert result.exit_code == 0, result.output
    assert "PostHog is rate limiting (HTTP 429): the crawl waits" in result.output
    assert "of the 900 s throttle budget spent" in result.output


def throttled_then(answers: list[httpx.Response]) -> tuple[Any, list[str]]:
    sent: list[str] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return queue.pop(0) if queue else httpx.Response(200, json={"results": [], "next": None})

    return handler, sent


def test_429s_do_not_spend_the_5xx_budget_and_vice_versa() -> None:
    storm = [httpx.Response(429, headers={"Retry-After": "1"}, json={"detail": "throttled"})] * 12
    failures = [httpx.Response(503, text="<html>busy</html>")] * 2
    handler, sent = throttled_then([*storm[:6], *failures, *storm[6:]])
    sleeps: list[float] = []
    with PostHogClient(
        settings(),
        transport=httpx.MockTransport(handler),
        retries=2,
        sleep=sleeps.append,
        backoff=FAST,
    ) as client:
        assert client.list_folders() == []
        stats = client.stats.snapshot()
    assert len(sent) == 15 and stats.throttled == 12 and stats.retries == 14
    gate = [s for s in sleeps if s > 0.5]
    assert len(gate) == 12 and gate == pytest.approx([1.0] * 12, abs=0.05)  # each Retry-After in full
    assert stats.waited_s == pytest.approx(12.0)  # the gate's seconds; the two backoffs are not counted


def test_a_zero_retry_after_cannot_spin_the_client() -> None:
    zero = [httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "throttled"})] * 50
    handler, sent = throttled_then(zero)
    sleeps: list[float] = []
    with (
        PostHogClient(
            settings(),
            transport=httpx.MockTransport(handler),
            sleep=sleeps.append,
            backoff=Backoff(base=0.5, cap=30.0),
            throttle_budget=60,
        ) as client,
        pytest.raises(RateLimitedError),
    ):
        client.list_folders()
    # backing off, doubling up to 30 s a wait, the 60 s budget runs out after a few answers
    assert len(sent) < 12 and all(s >= 0.25 for s in sleeps)


def test_a_retry_after_of_minutes_is_honoured_within_the_budget() -> None:
    long = [httpx.Response(429, headers={"Retry-After": "420"}, json={"detail": "throttled"})]
    handler, sent = throttled_then(long)
    sleeps: list[float] = []
    with PostHogClient(settings(), transport=httpx.MockTransport(handler), sleep=sleeps.append) as client:
        assert client.list_folders() == []
    assert len(sent) == 2 and sleeps == [pytest.approx(420.0, abs=0.05)]

    handler, sent = throttled_then([httpx.Response(429, headers={"Retry-After": "1000"})])
    with (
        PostHogClient(settings(), transport=httpx.MockTransport(handler), sleep=sleeps.append) as client,
        pytest.raises(RateLimitedError, match="900 s throttle budget"),
    ):
        client.list_folders()
    assert len(sent) == 1
