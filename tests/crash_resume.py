"""Kill -9 a crawl at every journal boundary, resume it, and compare with an uninterrupted crawl.

Run as a script by tests/test_resume_kill.py: ``python crash_resume.py WORKDIR EDGES SKEW_DAYS``.
It prints one JSON line: the boundaries tried and, for each, whether the child died of SIGKILL and
what differed between the resumed snapshot and the uninterrupted one.

Each crawl runs in a forked child (this process imports everything once and starts no thread, so
forking is safe and quick). The child's local clock is skewed by SKEW_DAYS (the crawler's only
reading of the local clock is patched), while the simulator keeps its own clock: a crawl that
measured anything on the local clock would differ from the uninterrupted one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import httpx
from conftest import make_small_fixture

import lineage.crawl.session as crawler_module
from lineage.config import Settings
from lineage.crawl import CrawlOptions, crawl_async, default_journal
from lineage.crawl.journal import Journal
from lineage.sim.app import create_app
from lineage.sim.state import Warehouse

VOLATILE = ("seconds", "requests", "crawled_at")


def skew_local_clock(days: float) -> None:
    class Skewed(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Any:
            return datetime.now(tz) + timedelta(days=days)

    crawler_module.datetime = Skewed  # type: ignore[misc]


def run_crawl(out: Path, edges: str, *, resume: bool, kill_at: int | None, count_to: Path | None) -> None:
    """In a child: one crawl of a fresh simulator (same fixture, same clock start) into ``out``."""
    original = Journal.put
    puts = 0

    def put(self: Journal, key: str, value: Any, **kw: Any) -> None:
        nonlocal puts
        original(self, key, value, **kw)
        puts += 1
        if count_to is not None:
            count_to.write_text(str(puts))
        if kill_at is not None and puts == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    Journal.put = put  # type: ignore[method-assign]
    app = create_app(Warehouse(make_small_fixture(), era="e2"), rate_limit=False)
    settings = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key="phx_all", env={})
    options = CrawlOptions(
        strategy="all",
        edges=edges,
        out=out,
        journal=default_journal(out),
        resume=resume,  # type: ignore[arg-type]
    )
    asyncio.run(crawl_async(settings, options, transport=httpx.ASGITransport(app=app)))


def in_child(skew: float, **kw: Any) -> int:
    """Run :func:`run_crawl` in a forked child; its wait status."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            skew_local_clock(skew)
            run_crawl(**kw)
        except BaseException as exc:  # report, never fall back into the parent's code
            sys.stderr.write(f"child failed: {type(exc).__name__}: {exc}\n")
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    found: list[str] = []
    a, b = dict(got["graph"]), dict(want["graph"])
    ta, tb = datetime.fromisoformat(a["crawled_at"]), datetime.fromisoformat(b["crawled_at"])
    if abs((ta - tb).total_seconds()) > 5:
        found.append(f"crawled_at {a['crawled_at']} vs {b['crawled_at']}")
    for key in VOLATILE:
        a.pop(key, None)
        b.pop(key, None)
    if a != b:
        found.append(f"graph attributes {sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))}")
    nodes_a = {n["id"]: n for n in got["nodes"]}
    nodes_b = {n["id"]: n for n in want["nodes"]}
    if set(nodes_a) != set(nodes_b):
        found.append(f"nodes {sorted(set(nodes_a) ^ set(nodes_b))}")
    for node_id in sorted(set(nodes_a) & set(nodes_b)):
        if nodes_a[node_id] != nodes_b[node_id]:
            keys = sorted(
                k
                for k in set(nodes_a[node_id]) | set(nodes_b[node_id])
                if nodes_a[node_id].get(k) != nodes_b[node_id].get(k)
            )
            found.append(f"node {nodes_a[node_id].get('name')}: {keys}")
    if got["edges"] != want["edges"]:
        found.append("edges")
    return found


def main() -> None:
    work, edges, skew = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    base = work / "base.json"
    counter = work / "count"
    status = in_child(skew, out=base, edges=edges, resume=False, kill_at=None, count_to=counter)
    assert status == 0, "the uninterrupted crawl failed"
    want = json.loads(base.read_text())
    total = int(counter.read_text())
    report: dict[str, Any] = {"boundaries": total, "results": []}
    for boundary in range(1, total + 1):
        out = work / f"killed_{boundary}.json"
        killed = in_child(skew, out=out, edges=edges, resume=False, kill_at=boundary, count_to=None)
        journal_left = default_journal(out).exists()
        resumed = in_child(skew, out=out, edges=edges, resume=True, kill_at=None, count_to=None)
        got = json.loads(out.read_text()) if out.exists() else None
        report["results"].append(
            {
                "boundary": boundary,
                "sigkill": os.WIFSIGNALED(killed) and os.WTERMSIG(killed) == signal.SIGKILL,
                "journal_left": journal_left,
                "resumed_ok": resumed == 0,
                "differences": differences(got, want) if got is not None else ["no snapshot"],
                "leftovers": sorted(
                    p.name for p in work.iterdir() if p.name.startswith(f".killed_{boundary}")
                ),
            }
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
