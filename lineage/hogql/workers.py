"""Parsing many views' HogQL on two cores: a worker process beside this one.

A first crawl of a 20,000-view warehouse parses every view's SQL, some 2.5 s of one core, while the
server works on the job listing. :func:`parse_into` cuts the texts the parse cache lacks into
chunks; a worker process (``python -m lineage.hogql.workers``) takes chunks from the front while this
process takes them from the back, until none are left, and every answer lands in the cache
(:mod:`lineage.hogql.cache`), exactly as a parse here would have left it.

The worker is a plain subprocess that reads one JSON line (a list of SQL texts) at a time and writes
one line back (per text, its sorted tables or ``{"error": message}``); it ends when its input does.
Below :data:`MIN_TEXTS` texts, on a one-core machine, or with ``LINEAGE_PARSE_WORKERS=0``, everything
is parsed here. A worker that cannot start, dies or answers nonsense only means parsing here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lineage.aio import sliced
from lineage.errors import HogQLError
from lineage.fastjson import loads
from lineage.hogql import extract_tables
from lineage.hogql.cache import TableCache

__all__ = ["CHUNK", "ENV_WORKERS", "MIN_TEXTS", "answer", "parse_into"]

ENV_WORKERS = "LINEAGE_PARSE_WORKERS"
#: Fewer texts than this are parsed here: the worker's start-up (~0.2 s) would cost more.
MIN_TEXTS = 1000
#: Texts per chunk: small enough that neither side waits long for the other's last chunk.
CHUNK = 200
_IN_FLIGHT = 2  # chunks in the worker's hands at once, so it never waits for the next


def answer(sql: str) -> list[str] | dict[str, str]:
    """The parse cache's entry for ``sql``: its sorted tables, or ``{"error": message}``."""
    try:
        return extract_tables(sql)
    except HogQLError as exc:
        return {"error": str(exc)}


def _wanted(count: int, env: Mapping[str, str]) -> bool:
    setting = env.get(ENV_WORKERS, "").strip()
    if setting == "0":
        return False
    return count >= MIN_TEXTS and (os.cpu_count() or 1) > 1


async def _start() -> asyncio.subprocess.Process | None:
    """The worker process, or None when it cannot be started."""
    # The worker imports this package from where this process found it, installed or not.
    home = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": home if not path else f"{home}{os.pathsep}{path}"}
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "lineage.hogql.workers",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            limit=1 << 26,  # one line of answers per chunk, however many tables its views read
        )
    except OSError:
        return None


async def parse_into(cache: TableCache, sqls: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """Parse every text of ``sqls`` that ``cache`` lacks into it, sharing the loop (see
    :func:`lineage.aio.sliced`) and, for many texts, the work with a worker process; returns how many
    texts the worker parsed."""
    todo = cache.missing(sqls)
    if not todo:
        return 0
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    proc = await _start() if _wanted(len(todo), os.environ if env is None else env) else None
    if proc is None:
        await _parse_here(cache, todo)
        return 0
    # The worker takes chunks from the front, this process from the back: ``front`` and ``back`` move
    # only on this event loop, between awaits, so no chunk is taken twice.
    front, back = 0, len(chunks)
    sent: deque[list[str]] = deque()
    done = 0

    async def feed() -> None:
        nonlocal front, done
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        while True:
            while len(sent) < _IN_FLIGHT and front < back:
                sent.append(chunks[front])
                front += 1
                proc.stdin.write(_line(sent[-1]))
            if not sent:
                return
            await proc.stdin.drain()
            line = await proc.stdout.readline()
            answers = loads(line) if line else None
            chunk = sent[0]
            if not isinstance(answers, list) or len(answers) != len(chunk):
                raise ConnectionError("the parse worker stopped or answered out of turn")
            for sql, entry in zip(chunk, answers, strict=True):
                cache.put(sql, entry)
            sent.popleft()
            done += len(chunk)

    worker = asyncio.ensure_future(feed())
    try:
        while front < back:
            back -= 1
            await _parse_here(cache, chunks[back])
        with contextlib.suppress(ConnectionError, OSError, ValueError):
            await worker
        # A worker that failed leaves its chunks unanswered: whatever the cache still lacks is parsed here.
        await _parse_here(cache, cache.missing(todo))
    finally:
        if not worker.done():
            worker.cancel()
            with contextlib.suppress(BaseException):
                await worker
        await _stop(proc)
    return done


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
        out.write(_line([answer(str(t)) for t in texts]))
        out.flush()


if __name__ == "__main__":
    main()
