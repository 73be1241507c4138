"""Client-side politeness: sliding-window rate limits and an injectable clock.

PostHog throttles personal-API-key traffic at 480/minute and 4800/hour per key, ``run`` at 10/minute
per view and ``materialize``/``revert_materialization`` at 5/hour per view (PostHog's throttle
classes; the simulator's ``lineage.sim.throttle`` follows them). Staying
under those on our side costs a short wait; hitting them costs a 429 and, worse, a ``Retry-After`` of
up to an hour for materializations.

>>> clock = VirtualClock()
>>> limiter = SlidingWindowLimiter([(2, 60.0)], clock=clock)
>>> [limiter.reserve() for _ in range(3)]
[0.0, 0.0, 60.0]
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["Clock", "SlidingWindowLimiter", "VirtualClock", "Window", "acquire_all"]

Window = tuple[int, float]
"""``(max_events, seconds)``: at most ``max_events`` in any span of ``seconds``."""


class VirtualClock:
    """A monotonic clock that moves only when told to (tests) or when a fake sleep is awaited."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


class Clock:
    """Time source plus sleep for the client.

    With the real ``asyncio.sleep`` this is ``time.monotonic``. When a test injects ``sleep`` (so waits
    are instant) but no clock, time is advanced by every sleep, so limiters still see their windows pass.
    """

    def __init__(
        self,
        *,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._sleep = sleep
        self._base = clock or time.monotonic
        self._virtual = sleep is not None and clock is None
        self._offset = 0.0

    def now(self) -> float:
        return self._base() + self._offset

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if self._sleep is None:
            await asyncio.sleep(seconds)
            return
        result = self._sleep(seconds)
        if inspect.isawaitable(result):
            await result
        if self._virtual:
            self._offset += seconds


class SlidingWindowLimiter:
    """Admit an event only if every window would still hold at most its maximum.

    Timestamps are kept exactly (no buckets), so no span of a window's length ever holds more events
    than allowed, whatever the arrival pattern.
    """

    def __init__(self, windows: Sequence[Window], *, clock: Callable[[], float]) -> None:
        for count, seconds in windows:
            if count < 1 or seconds <= 0:
                raise ValueError(f"a rate window needs count >= 1 and seconds > 0, got {(count, seconds)}")
        self.windows = tuple(windows)
        self._clock = clock
        self._events: list[deque[float]] = [deque() for _ in self.windows]
        self._lock: asyncio.Lock | None = None

    def _wait_needed(self, now: float) -> float:
        wait = 0.0
        for (count, seconds), events in zip(self.windows, self._events, strict=True):
            while events and events[0] + seconds <= now:
                events.popleft()
            if len(events) >= count:
                # the oldest event that must leave before one more fits; never a sub-microsecond wait,
                # which a large float clock could not even register
                wait = max(wait, events[len(events) - count] + seconds - now, 1e-6)
        return wait

    def reserve(self) -> float:
        """Record an event now if it fits and return 0, else return the seconds until it would fit."""
        now = self._clock()
        wait = self._wait_needed(now)
        if wait > 0:
            return wait
        for events in self._events:
            events.append(now)
        return 0.0

    def peek(self) -> float:
        """Seconds until one more event would fit, without recording anything."""
        return self._wait_needed(self._clock())

    def idle(self) -> bool:
        """True when no recorded event is inside any window any more (the limiter can be dropped)."""
        self._wait_needed(self._clock())
        return not any(self._events)

    async def acquire(
        self,
        sleep: Callable[[float], Awaitable[None]],
        *,
        max_wait: float | None = None,
        on_wait: Callable[[float], None] | None = None,
    ) -> float:
        """Wait until an event fits, record it, and return the seconds waited.

        If the wait needed is longer than ``max_wait``, nothing is recorded and ``TimeoutError`` is
        raised with the wait in ``args[0]``, so the caller can report when to try again.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        waited = 0.0
        async with self._lock:
            while True:
                wait = self.reserve()
                if wait <= 0:
                    return waited
                if max_wait is not None and wait > max_wait:
                    raise TimeoutError(wait)
                if on_wait is not None:
                    on_wait(wait)
                await sleep(wait)
                waited += wait


async def acquire_all(
    limiters: Sequence[SlidingWindowLimiter],
    sleep: Callable[[float], Awaitable[None]],
    *,
    max_wait: float | None = None,
) -> float:
    """Wait until one event fits every limiter, then record it in all of them at the same instant.

    Acquiring limiters one after the other would stamp the first ones before the wait for a later
    one, so the request would go out later than those stamps say and bursts could exceed their
    windows. Peeking and recording happen without an ``await`` in between, so on one event loop the
    check and the record are atomic. If a wait longer than ``max_wait`` is needed, nothing is recorded
    and ``TimeoutError(wait, limiter)`` names the limiter that needs it.
    """
    waited = 0.0
    while True:
        waits = [(limiter.peek(), index) for index, limiter in enumerate(limiters)]
        wait, index = max(waits, default=(0.0, -1))
        if wait <= 0:
            for limiter in limiters:
                limiter.reserve()
            return waited
        if max_wait is not None and wait > max_wait:
            raise TimeoutError(wait, limiters[index])
        await sleep(wait)
        waited += wait
