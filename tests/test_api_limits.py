"""Politeness: client-side rate windows, per-view action limits, 429 handling, concurrency."""

from __future__ import annotations

import asyncio
import heapq
import random
from bisect import bisect_left
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.api import AsyncPostHogClient, PostHogClient, SlidingWindowLimiter, VirtualClock
from lineage.api.retry import Backoff, retry_after_seconds
from lineage.config import Settings
from lineage.errors import RateLimitedError

KEY = "phx_limitskey_0000"
T = TypeVar("T")
VIEW = "00000000-0000-0000-0000-000000000001"


def make_settings(max_rpm: int | None = None) -> Settings:
    return Settings.resolve(host="https://posthog.test", project="1", api_key=KEY, max_rpm=max_rpm, env={})


def max_in_window(times: list[float], seconds: float) -> int:
    """The most events inside any half-open span [t, t + seconds)."""
    times = sorted(times)
    return max((bisect_left(times, t + seconds) - i for i, t in enumerate(times)), default=0)


class Recorder:
    """A handler that stamps each request with the virtual clock and answers from a script."""

    def __init__(self, clock: VirtualClock, script: list[httpx.Response] | None = None) -> None:
        self.clock = clock
        self.times: list[float] = []
        self.paths: list[str] = []
        self.script = script or []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(self.clock())
        self.paths.append(f"{request.method} {request.url.path}")
        if self.script:
            return self.script.pop(0)
        if request.method == "POST":
            return httpx.Response(200)
        return httpx.Response(200, json=[])


def client_with(recorder: Recorder, clock: VirtualClock, **kw: Any) -> PostHogClient:
    sleeps: list[float] = kw.pop("sleeps", [])

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    return PostHogClient(
        kw.pop("settings", make_settings()),
        transport=httpx.MockTransport(recorder),
        sleep=sleep,
        clock=clock,
        **kw,
    )


@settings(max_examples=80, deadline=None)
@given(
    gaps=st.lists(st.floats(0, 40, allow_nan=False), min_size=1, max_size=120),
    per_min=st.integers(1, 12),
    start=st.floats(0, 1e7, allow_nan=False),
)
def test_limiter_never_exceeds_any_window(gaps: list[float], per_min: int, start: float) -> None:
    clock = VirtualClock(start)
    limiter = SlidingWindowLimiter([(per_min, 60.0), (per_min * 3, 3600.0)], clock=clock)
    admitted: list[float] = []

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    async def main() -> None:
        for gap in gaps:
            clock.advance(gap)
            await limiter.acquire(sleep)
            admitted.append(clock())

    asyncio.run(main())
    assert len(admitted) == len(gaps)
    assert max_in_window(admitted, 60.0) <= per_min
    assert max_in_window(admitted, 3600.0) <= per_min * 3
    assert admitted == sorted(admitted)


def test_limiter_is_not_needlessly_slow() -> None:
    clock = VirtualClock()
    limiter = SlidingWindowLimiter([(3, 60.0)], clock=clock)
    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve() == pytest.approx(60.0)
    clock.advance(60.0)
    assert limiter.reserve() == 0.0
    with pytest.raises(ValueError):
        SlidingWindowLimiter([(0, 60.0)], clock=clock)


def test_client_stays_under_configured_minute_and_hour() -> None:
    clock = VirtualClock(1000.0)
    recorder = Recorder(clock)
    with client_with(recorder, clock, settings=make_settings(max_rpm=5), max_wait=3600) as c:
        for _ in range(60):
            c.list_folders()
        waited = c.stats.waited_s
    assert len(recorder.times) == 60
    assert max_in_window(recorder.times, 60.0) <= 5
    assert max_in_window(recorder.times, 3600.0) <= 50
    # 60 requests at 50/h: the last ten had to wait for the first hour to pass
    assert recorder.times[-1] - recorder.times[0] >= 3600.0
    assert waited >= 3600.0


def test_default_limits_are_480_per_minute() -> None:
    clock = VirtualClock(5.0)
    recorder = Recorder(clock)
    with client_with(recorder, clock) as c:
        for _ in range(481):
            c.list_folders()
    assert max_in_window(recorder.times, 60.0) == 480
    assert recorder.times[480] - recorder.times[0] >= 60.0


def test_run_is_limited_per_view_to_ten_a_minute() -> None:
    clock = VirtualClock()
    recorder = Recorder(clock)
    other = "00000000-0000-0000-0000-000000000002"
    with client_with(recorder, clock) as c:
        for _ in range(10):
            c.run(VIEW)
        c.run(other)
        assert clock() == 0.0  # nothing waited yet; other views have their own budget
        c.run(VIEW)
    assert clock() >= 60.0
    run_times = [t for t, p in zip(recorder.times, recorder.paths, strict=True) if VIEW in p]
    assert max_in_window(run_times, 60.0) <= 10


def test_materialize_and_revert_share_five_an_hour() -> None:
    clock = VirtualClock()
    recorder = Recorder(clock)
    with client_with(recorder, clock, max_wait=300) as c:
        for _ in range(3):
            c.materialize(VIEW)
        c.revert_materialization(VIEW)
        c.materialize(VIEW)
        sent = len(recorder.times)
        with pytest.raises(RateLimitedError) as info:
            c.revert_materialization(VIEW)
        assert len(recorder.times) == sent  # refused client-side, nothing sent
        assert info.value.retry_after is not None and info.value.retry_after > 3000
        assert "try again in" in str(info.value)
        c.materialize("00000000-0000-0000-0000-000000000009")
    with client_with(Recorder(clock), clock, max_wait=7200) as c:
        for _ in range(6):
            c.materialize(VIEW)
        assert c.stats.waited_s >= 3599


def throttled(retry_after: str | None = None, detail: str = "Request was throttled.") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"type": "throttled_error", "code": "throttled", "detail": detail, "attr": None}
    return httpx.Response(429, json=body, headers=headers)


def test_429_waits_retry_after_then_succeeds() -> None:
    clock = VirtualClock()
    sleeps: list[float] = []
    recorder = Recorder(clock, [throttled("7", "Expected available in 99 seconds.")])
    with client_with(recorder, clock, sleeps=sleeps) as c:
        assert c.list_folders() == []
        stats = c.stats.snapshot()
    assert sleeps == [7.0]
    assert stats.throttled == 1 and stats.retries == 1 and stats.waited_s == 7.0
    assert stats.requests == {"GET /api/projects/{project}/warehouse_saved_query_folders/": 2}


def test_429_without_header_reads_the_detail_text() -> None:
    clock = VirtualClock()
    sleeps: list[float] = []
    detail = "Request was throttled. Expected available in 12 seconds."
    recorder = Recorder(clock, [throttled(None, detail)])
    with client_with(recorder, clock, sleeps=sleeps) as c:
        c.list_folders()
    assert sleeps == [12.0]


def test_429_without_any_hint_backs_off_exponentially() -> None:
    clock = VirtualClock()
    sleeps: list[float] = []
    recorder = Recorder(clock, [throttled(None, "slow down")] * 4)
    backoff = Backoff(base=1.0, cap=100.0, rng=random.Random(3))
    with client_with(recorder, clock, sleeps=sleeps, backoff=backoff) as c:
        c.list_folders()
    assert len(sleeps) == 4
    for attempt, slept in enumerate(sleeps):
        assert 0.5 * 2**attempt <= slept <= 2**attempt


def test_429_on_run_is_retried_because_nothing_happened() -> None:
    clock = VirtualClock()
    recorder = Recorder(clock, [throttled("3")])
    with client_with(recorder, clock) as c:
        c.run(VIEW)
        assert c.stats.throttled == 1
    assert recorder.paths == [f"POST /api/projects/1/warehouse_saved_queries/{VIEW}/run/"] * 2


def test_429_that_persists_raises_with_retry_after() -> None:
    # 429s are waited out until the throttle budget (seconds, not a count of retries) is spent:
    # three waits of 2 s fit a 7 s budget, the fourth would not
    clock = VirtualClock()
    recorder = Recorder(clock, [throttled("2")] * 10)
    with (
        client_with(recorder, clock, retries=0, throttle_budget=7, max_wait=5) as c,
        pytest.raises(RateLimitedError) as info,
    ):
        c.list_folders()
    assert info.value.retry_after == 2.0 and info.value.status == 429
    assert len(recorder.times) == 4
    assert "GET /api/projects/1/warehouse_saved_query_folders/" in str(info.value)
    assert "LINEAGE_MAX_RPM" in str(info.value) and "LINEAGE_THROTTLE_BUDGET" in str(info.value)


def test_retry_after_longer_than_max_wait_is_not_slept() -> None:
    clock = VirtualClock()
    sleeps: list[float] = []
    recorder = Recorder(clock, [throttled("3600")])
    with (
        client_with(recorder, clock, sleeps=sleeps, max_wait=60) as c,
        pytest.raises(RateLimitedError) as info,
    ):
        c.materialize(VIEW)
    assert sleeps == [] and info.value.retry_after == 3600.0


def test_retry_after_parsing() -> None:
    assert retry_after_seconds({"Retry-After": "1.5"}, None) == 1.5
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}, {"error": "Expected available in 4 seconds"}) == 4.0
    assert retry_after_seconds({"retry-after": "-3"}, None) is None
    assert retry_after_seconds({}, {"detail": None}) is None
    assert retry_after_seconds({}, "not a dict") is None


def test_concurrency_caps_requests_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.002)
        in_flight -= 1
        return httpx.Response(200, json={"upstream_count": 1, "downstream_count": 0})

    async def main() -> None:
        async with AsyncPostHogClient(
            make_settings(), transport=httpx.MockTransport(handler), concurrency=3
        ) as c:
            await asyncio.gather(*(c.dependencies(f"v{i}") for i in range(20)))
            assert c.stats.total_requests == 20

    asyncio.run(main())
    assert peak == 3


class VirtualTime:
    """Discrete-event time for asyncio: ``sleep`` parks a task until the driver moves the clock there."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self._wakeups: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._wakeups, (self.clock() + max(0.0, seconds), self._seq, future))
        await future

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        async def drive() -> T:
            task = asyncio.ensure_future(main)
            while not task.done():
                for _ in range(50):  # let every runnable task reach its next sleep
                    await asyncio.sleep(0)
                if task.done():
                    break
                assert self._wakeups, "deadlock: every task waits and no sleep is pending"
                when, _, future = heapq.heappop(self._wakeups)
                self.clock.now = max(self.clock.now, when)
                future.set_result(None)
            return task.result()

        return asyncio.run(drive())


def test_requests_queued_behind_the_concurrency_cap_never_burst_past_a_window() -> None:
    # One slow request holds the only slot for 60 s while the others queue. Stamping the rate limit
    # before the queue would let the backlog leave in one burst when the slot frees.
    vt = VirtualTime()
    arrivals: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(vt.clock())
        if len(arrivals) == 1:
            await vt.sleep(60.0)
        return httpx.Response(200, json={"upstream_count": 0, "downstream_count": 0})

    async def main() -> None:
        async with AsyncPostHogClient(
            make_settings(max_rpm=3),
            transport=httpx.MockTransport(handler),
            concurrency=1,
            sleep=vt.sleep,
            clock=vt.clock,
        ) as c:
            await asyncio.gather(*(c.dependencies(f"v{i}") for i in range(9)))

    vt.run(main())
    assert len(arrivals) == 9
    assert max_in_window(arrivals, 60.0) <= 3
    assert arrivals[-1] <= 250  # and the queue still drains at the allowed pace


def test_limits_are_recorded_together_when_the_request_leaves() -> None:
    # run() waits first on its view's 10/min, then on the global 3/min: both stamps are the send time
    vt = VirtualTime()
    arrivals: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(vt.clock())
        return httpx.Response(200)

    async def main() -> None:
        async with AsyncPostHogClient(
            make_settings(max_rpm=3), transport=httpx.MockTransport(handler), sleep=vt.sleep, clock=vt.clock
        ) as c:
            await asyncio.gather(*(c.run(VIEW) for _ in range(12)))

    vt.run(main())
    assert len(arrivals) == 12
    assert max_in_window(arrivals, 60.0) <= 3


def test_per_view_limiters_do_not_pile_up_over_a_long_session() -> None:
    clock = VirtualClock()
    with client_with(Recorder(clock), clock) as c:
        for i in range(300):
            c.run(f"11111111-0000-0000-0000-{i:012d}")
        clock.advance(62.0)
        for _ in range(10):
            c.run(VIEW)
        kept = set(c.aio._view_limiters)
        assert kept == {("run", VIEW)}  # the 300 idle ones were swept once there were too many
        c.run(VIEW)  # the limit on the view that is still kept still holds
        assert clock() >= 62.0 + 61.0


def test_retry_after_date_is_measured_on_the_server_clock() -> None:
    server_now = "Thu, 26 Nov 2026 00:00:00 GMT"
    later = "Thu, 26 Nov 2026 00:00:30 GMT"
    assert retry_after_seconds({"Retry-After": later, "Date": server_now}, None) == 30.0
    # a past date on the server's clock is no wait, whatever the local clock says
    assert retry_after_seconds({"Retry-After": server_now, "Date": later}, None) == 0.0


def test_client_side_refusal_names_the_window_that_is_full() -> None:
    clock = VirtualClock()
    with client_with(Recorder(clock), clock, settings=make_settings(max_rpm=2), max_wait=100) as c:
        for _ in range(20):
            c.list_folders()
        with pytest.raises(RateLimitedError, match=r"20 requests per 3601 s") as info:
            c.list_folders()
        assert info.value.__context__ is None
