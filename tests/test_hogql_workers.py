"""Parsing on two cores: the worker process leaves the parse cache exactly as parsing here would,
never outlives the call, and its failures only mean parsing here."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest

from lineage.hogql import workers
from lineage.hogql.cache import TableCache
from lineage.sim.generate import fixture_from_graph
from lineage.sim.synthetic import warehouse


def _texts() -> list[str]:
    fixture = fixture_from_graph(warehouse(1200, 40), seed=3)
    texts = [str(v["query"]) for v in fixture["views"]]
    # odd ones: unparseable, placeholders, non-ASCII, a lone surrogate, repeats
    texts += ["SELECT FROM", "SELECT {filters} FROM events", "SELECT 'é' FROM `t é`"]
    texts.append("SELECT '\ud800' FROM x")
    return texts + texts[:50]


def _answers(cache: TableCache, texts: list[str]) -> list[Any]:
    out: list[Any] = []
    for sql in texts:
        try:
            out.append(cache(sql))
        except Exception as exc:  # the cached refusal is part of the answer
            out.append(("error", type(exc).__name__, str(exc)))
    return out


def _workers_running() -> int:
    me = os.getpid()
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        count += ppid == me and b"lineage.hogql.workers" in cmd
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts processes through /proc")
def test_worker_leaves_the_cache_as_parsing_here_would() -> None:
    texts = _texts()
    here = TableCache(None)
    shared = TableCache(None)
    by_worker = asyncio.run(workers.parse_into(shared, texts, env={}))
    assert by_worker > 0  # the worker took chunks
    assert by_worker < len(set(texts))  # and so did this process
    assert shared.missing(texts) == []
    assert shared.parsed == len(set(texts))  # each distinct text once, wherever it was parsed
    assert _answers(shared, texts) == _answers(here, texts)
    assert _workers_running() == 0


def test_few_texts_or_the_setting_keep_parsing_here() -> None:
    texts = _texts()
    for env, sample in (({}, texts[: workers.MIN_TEXTS - 1]), ({workers.ENV_WORKERS: "0"}, texts)):
        cache = TableCache(None)
        assert asyncio.run(workers.parse_into(cache, sample, env=env)) == 0
        assert cache.missing(sample) == []


def test_a_worker_that_cannot_start_or_dies_only_means_parsing_here(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts()
    want = _answers(TableCache(None), texts)

    async def no_worker() -> None:
        return None

    monkeypatch.setattr(workers, "_start", no_worker)
    cache = TableCache(None)
    assert asyncio.run(workers.parse_into(cache, texts, env={})) == 0
    assert _answers(cache, texts) == want

    async def dying() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; sys.stdin.buffer.readline(); print('[1]'); sys.exit(3)",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )

    monkeypatch.setattr(workers, "_start", dying)
    cache = TableCache(None)
    assert asyncio.run(workers.parse_into(cache, texts, env={})) == 0  # its one answer was refused
    assert _answers(cache, texts) == want
    assert _workers_running() == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts processes through /proc")
def test_a_cancelled_parse_leaves_no_worker_behind() -> None:
    texts = _texts()

    async def cancel_soon() -> None:
        task = asyncio.ensure_future(workers.parse_into(TableCache(None), texts, env={}))
        for _ in range(300):  # the worker is up (the count sees it) before the cancel
            await asyncio.sleep(0.01)
            if _workers_running() or task.done():
                break
        assert _workers_running() == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_soon())
    assert _workers_running() == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts processes through /proc")
def test_a_parse_begun_then_abandoned_leaves_no_worker_and_one_finished_parses_everything() -> None:
    texts = _texts()

    async def begun_then(finish: bool) -> tuple[int, int]:
        cache = TableCache(None)
        parsing = await workers.start(cache, texts, env={})
        await asyncio.sleep(0.2)  # the caller's other work; the worker works on its share meanwhile
        if finish:
            await parsing.finish()
        else:
            await parsing.aclose()  # the crawl failed before it needed the parses
        return len(cache.missing(texts)), _workers_running()

    missing, running = asyncio.run(begun_then(False))
    assert running == 0
    missing, running = asyncio.run(begun_then(True))
    assert (missing, running) == (0, 0)


def test_the_worker_loads_the_parser_alone() -> None:
    """Its start-up skips lineage/__init__ (the graph, networkx): the parser's modules only."""
    import subprocess
    from pathlib import Path

    probe = workers._BOOT.replace("main()\n", "print(sorted(m for m in sys.modules if 'networkx' in m))\n")
    home = str(Path(workers.__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", probe, home], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


@pytest.mark.parametrize("error", [OSError, RuntimeError, NotImplementedError])
def test_a_loop_that_cannot_start_the_worker_parses_here(
    error: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise error("no subprocesses here")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", refuse)
    texts = _texts()
    cache = TableCache(None)
    assert asyncio.run(workers.parse_into(cache, texts, env={})) == 0
    assert cache.missing(texts) == []
