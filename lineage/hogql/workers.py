"""Parsing many views' HogQL on two cores: a worker process beside this one.

A first crawl of a 20,000-view warehouse parses every view's SQL, some 1.7 s of one core, while the
server works on the job listing. :func:`parse_into` cuts the texts the parse cache lacks into
chunks; a worker process (this module's :func:`main`) takes chunks from the front while this
process takes them from the back, until none are left, and every answer lands in the cache
(:mod:`lineage.hogql.cache`), exactly as a parse here would have left it.

The worker is a plain subprocess (its program: :data:`_BOOT`) that reads one JSON line (a list of
SQL texts) at a time and writes one line back (per text, its sorted tables or ``{"error":
message}``); it ends when its input does. Below :data:`MIN_TEXTS` texts, on a one-core machine, or
with ``LINEAGE_PARSE_WORKERS=0``, everything is parsed here. A worker that cannot start, dies or
answers nonsense only means parsing here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lineage.aio import sliced
from lineage.errors import HogQLError
from lineage.fastjson import loads
from lineage.hogql.cache import TableCache, entry

__all__ = ["CHUNK", "ENV_WORKERS", "MIN_TEXTS", "Parsing", "parse_into", "start"]

ENV_WORKERS = "LINEAGE_PARSE_WORKERS"
#: Fewer texts than this are parsed here: the worker's start-up (~0.2 s) would cost more.
MIN_TEXTS = 1000
#: Texts per chunk: small enough that neither side waits long for the other's last chunk.
CHUNK = 200
_IN_FLIGHT = 2  # chunks in the worker's hands at once, so it never waits for the next


def _wanted(count: int, env: Mapping[str, str]) -> bool:
    setting = env.get(ENV_WORKERS, "").strip()
    if setting == "0":
        return False
    return count >= MIN_TEXTS and (os.cpu_count() or 1) > 1


# The worker's program: the ``lineage`` package stands in as a bare module whose path is this
# package's, so that importing the parser skips ``lineage/__init__`` (the graph and networkx, half
# of the worker's start-up) and only the modules parsing needs are loaded.
_BOOT = (
    "import sys, types\n"
    "package = types.ModuleType('lineage')\n"
    "package.__path__ = [sys.argv[1]]\n"
    "sys.modules['lineage'] = package\n"
    "from lineage.hogql.workers import main\n"
    "main()\n"
)


async def _start() -> asyncio.subprocess.Process | None:
    """The worker process, or None when it cannot be started."""
    home = str(Path(__file__).resolve().parents[1])  # this lineage package, installed or not
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _BOOT,
            home,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=1 << 26,  # one line of answers per chunk, however many tables its views read
        )
    except (OSError, RuntimeError, NotImplementedError):
        # no process to start, a loop in a thread without a child watcher, or a loop that cannot
        # run subprocesses at all (Windows' selector loop): parsed here instead
        return None


async def parse_into(cache: TableCache, sqls: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """Parse every text of ``sqls`` that ``cache`` lacks into it, sharing the loop (see
    :func:`lineage.aio.sliced`) and, for many texts, the work with a worker process; returns how many
    texts the worker parsed."""
    return await (await start(cache, sqls, env=env)).finish()


async def start(cache: TableCache, sqls: Sequence[str], *, env: Mapping[str, str] | None = None) -> Parsing:
    """:func:`parse_into` begun: the worker (when there is one) works on its share from now on, while
    the caller does other work; :meth:`Parsing.finish` parses the rest here and waits for it."""
    todo = cache.missing(sqls)
    wanted = bool(todo) and _wanted(len(todo), os.environ if env is None else env)
    parsing = Parsing(cache, todo, await _start() if wanted else None)
    parsing.begin()
    return parsing


class Parsing:
    """A parse under way. The worker takes chunks from the front, this process from the back:
    ``front`` and ``back`` move only on this event loop, between awaits, so no chunk is taken twice."""

    def __init__(self, cache: TableCache, todo: list[str], proc: asyncio.subprocess.Process | None) -> None:
        self.cache, self.todo, self.proc = cache, todo, proc
        self.chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
        self.front, self.back = 0, len(self.chunks)
        self.sent: deque[list[str]] = deque()
        self.done = 0  # texts the worker parsed
        self.feeding: asyncio.Future[None] | None = None

    def begin(self) -> None:
        if self.proc is not None:
            self.feeding = asyncio.ensure_future(self._feed())

    async def _feed(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        sent = self.sent
        while True:
            while len(sent) < _IN_FLIGHT and self.front < self.back:
                sent.append(self.chunks[self.front])
                self.front += 1
                proc.stdin.write(_line(sent[-1]))
            if not sent:
                return
            await proc.stdin.drain()
            line = await proc.stdout.readline()
            answers = loads(line) if line else None
            chunk = sent[0]
            if not isinstance(answers, list) or len(answers) != len(chunk):
                raise ConnectionError("the parse worker stopped or answered out of turn")
            for sql, answer in zip(chunk, answers, strict=True):
                self.cache.put(sql, answer)
            sent.popleft()
            self.done += len(chunk)

    async def parse_some(self, until: Callable[[], bool]) -> None:
        """Take chunks from the back while any are left and ``until()`` is false: the caller has
        other work to do once it holds (the worker goes on with the rest meanwhile)."""
        while self.front < self.back and not until():
            self.back -= 1
            await _parse_here(self.cache, self.chunks[self.back])

    async def finish(self) -> int:
        """Parse what the worker has not taken, wait for its answers, and end it; returns how many
        texts it parsed. A worker that failed leaves its chunks to be parsed here."""
        try:
            while self.front < self.back:
                self.back -= 1
                await _parse_here(self.cache, self.chunks[self.back])
            if self.feeding is not None:
                with contextlib.suppress(ConnectionError, OSError, ValueError):
                    await self.feeding
            await _parse_here(self.cache, self.cache.missing(self.todo))
        finally:
            await self.aclose()
        return self.done

    async def aclose(self) -> None:
        """End the worker, whatever it was doing (a crawl that failed or was cancelled calls this)."""
        feeding, self.feeding = self.feeding, None
        if feeding is not None and not feeding.done():
            feeding.cancel()
        if feeding is not None:
            with contextlib.suppress(BaseException):  # its failure, if any, was the worker's
                await feeding
        proc, self.proc = self.proc, None
        if proc is not None:
            await _stop(proc)


def _line(data: Any) -> bytes:
    """One line of ASCII JSON (any text, lone surrogates included, survives the pipe)."""
    return json.dumps(data).encode("ascii") + b"\n"


async def _parse_here(cache: TableCache, sqls: Sequence[str]) -> None:
    async for sql in sliced(sqls):
        with contextlib.suppress(HogQLError):
            cache(sql)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """End the worker: its input closed, it exits; one that does not is killed."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 5)
    except BaseException:  # it hangs, or this crawl is being cancelled: no worker outlives it
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        if not isinstance(sys.exc_info()[1], TimeoutError):
            raise


def main() -> None:
    """The worker: a JSON list of SQL texts per input line, their answers per output line."""
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        texts: Any = loads(line)
        out.write(_line([entry(str(t)) for t in texts]))
        out.flush()


if __name__ == "__main__":
    main()
