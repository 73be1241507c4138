"""Run a coroutine to completion from synchronous code, inside a running event loop or not.

One mechanism serves both uses: :class:`LoopThread`, a private event loop in a thread of its own.
:func:`run_sync` runs one coroutine: with ``asyncio.run`` in the caller's thread when no loop runs
there, else (Jupyter runs its own loop, where ``asyncio.run`` refuses to start) on a LoopThread made
for it, whose result or exception comes back to the caller. The blocking
:class:`~lineage.api.PostHogClient` keeps one LoopThread for its whole life, because its connections
belong to the loop that opened them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["LoopThread", "LoopTurns", "run_sync", "sliced"]

#: How long :func:`sliced` works between two turns of the event loop.
SLICE_S = 0.0005


class LoopTurns:
    """Lets the event loop run once ``slice_s`` seconds of the caller's work have passed since it last
    did: ``await turns.give()`` between two pieces of CPU-bound work."""

    def __init__(self, slice_s: float = SLICE_S) -> None:
        self._slice = slice_s
        self._until = time.perf_counter() + slice_s

    async def give(self) -> None:
        if time.perf_counter() > self._until:
            await asyncio.sleep(0)
            self._until = time.perf_counter() + self._slice


async def sliced(items: Iterable[T], slice_s: float = SLICE_S) -> AsyncIterator[T]:
    """``items`` one by one, letting the event loop run every ``slice_s`` seconds of the caller's work.

    CPU-bound work over many items (parsing 20,000 views' SQL) then shares the loop with requests in
    flight: their responses are read and their next pages asked for while the work goes on, instead of
    waiting until it ends (a response is read some 64 KB per turn of the loop, and a 50,000-row page
    of jobs is some 17 MB).
    """
    await asyncio.sleep(0)  # tasks just started send their requests before the work begins
    turns = LoopTurns(slice_s)
    for item in items:
        yield item
        await turns.give()


class LoopThread:
    """A private event loop running in a daemon thread until :meth:`stop`.

    Stopping it finishes as ``asyncio.run`` does: tasks still pending are cancelled, async
    generators and the default executor shut down, and the loop closed.
    """

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        # the Runner closes the loop as asyncio.run does once run_forever returns
        with asyncio.Runner(loop_factory=lambda: self.loop) as runner:
            runner.get_loop().run_forever()

    def in_own_thread(self) -> bool:
        """Whether the caller is this loop's thread (where waiting on the loop would deadlock)."""
        return threading.current_thread() is self.thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result; cancelled if the wait is interrupted."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        """Stop the loop and wait (up to 10 s) for its thread to close it; idempotent."""
        if self.loop.is_closed() or not self.thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, also from inside a running loop (a notebook's kernel)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    loop = LoopThread("lineage-run-sync")
    try:
        return loop.run(coro)
    finally:
        loop.stop()
