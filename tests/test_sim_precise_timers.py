"""The simulator's event loop wakes on time (lineage.sim.server.PreciseEpollSelector): a wait lasts at
least its timeout, ends at once when a socket is ready, and injected latency is never cut short."""

from __future__ import annotations

import asyncio
import selectors
import socket
import sys
import time

import httpx
import pytest
from conftest import make_small_fixture

from lineage.sim.faults import FaultConfig
from lineage.sim.server import serve_in_thread

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="epoll is Linux's")


def test_a_wait_lasts_at_least_its_timeout_and_ends_when_a_socket_is_ready() -> None:
    from lineage.sim.server import PreciseEpollSelector

    left, right = socket.socketpair()
    selector = PreciseEpollSelector()
    try:
        selector.register(left, selectors.EVENT_READ)
        for timeout in (0.0004, 0.0031, 0.0125, 0.02):
            start = time.monotonic()
            assert selector.select(timeout) == []
            assert time.monotonic() - start >= timeout
        assert selector.select(0) == []
        right.send(b"x")
        start = time.monotonic()
        ready = selector.select(30.0)
        assert [(key.fileobj, events) for key, events in ready] == [(left, selectors.EVENT_READ)]
        assert time.monotonic() - start < 5  # did not sit out the timeout
        assert len(selector.select(None)) == 1  # still readable: a blocking wait returns at once
    finally:
        selector.close()
        left.close()
        right.close()


def test_the_simulator_loop_runs_timers_no_earlier_than_due() -> None:
    from lineage.sim.server import _event_loop

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, asyncio.SelectorEventLoop)
        late = []
        for delay in (0.001, 0.0037, 0.02):
            start = loop.time()
            await asyncio.sleep(delay)
            late.append(loop.time() - start - delay)
        return late

    with asyncio.Runner(loop_factory=_event_loop) as runner:
        assert all(extra >= 0 for extra in runner.run(main()))


def test_injected_latency_is_never_cut_short() -> None:
    server = serve_in_thread(make_small_fixture(), era="e2", faults=FaultConfig(latency_ms=15))
    with server, httpx.Client(base_url=server.url, headers={"Authorization": "Bearer phx_read"}) as client:
        for _ in range(5):
            start = time.perf_counter()
            answer = client.get("/api/projects/1/warehouse_saved_queries/")
            assert answer.status_code == 200
            assert time.perf_counter() - start >= 0.015
