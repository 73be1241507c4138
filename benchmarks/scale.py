"""Scale benchmark: every snapshot command against the cost of merely reading the snapshot.

Generates a warehouse deterministically (``--views`` views over ``--tables`` warehouse tables, 1-4
parents each, HogQL on every view), serves it with the simulator in its own process, crawls it with
``lineage crawl --all --edges system``, then runs each snapshot command as a subprocess, as a user
would, in the same run:

* the floor: start Python, ``json.load`` the snapshot, ``nx.node_link_graph``, one ``nx.descendants``;
* ``impact ROOT --format json``, ``check --format json``, ``ls --select '+VIEW+'``,
  ``render --select '2+VIEW+2' --format svg``, ``export`` (CSV) and ``diff`` of the snapshot with
  itself, each with its wall and CPU time (best of ``--repeat``), the ratio of its CPU time to the
  floor's (a shared machine moves wall time far more) and its peak RSS.

The crawl runs twice: cold (every view's SQL parsed) and warm (the parse cache of
``lineage.hogql.cache`` filled by the first; ``check`` always finds it warm, as it does on a machine
that crawled the warehouse). The benchmark keeps its cache in its temporary directory.

Targets (issue 16): every command <= 1.5x the floor, ``check`` <= 2x, peak RSS < 300 MB at 20,000
views; the system crawl < 5 s. ``--double`` runs a second size (twice ``--views``) and prints the
ratio of each figure (linear growth: about 2).

    .venv/bin/python benchmarks/scale.py [--views 20000] [--tables 300] [--double] [--repeat 3]
    .venv/bin/python benchmarks/scale.py --views 2000      # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crawl import simulator  # benchmarks/crawl.py: the simulator in a subprocess

from lineage.sim.generate import fixture_from_graph
from lineage.sim.synthetic import warehouse

KEY = "phx_demo_read"
FLOOR = """
import json, sys
import networkx as nx
with open(sys.argv[1], encoding="utf-8") as fh:
    data = json.load(fh)
g = nx.node_link_graph(data, edges="edges")
nx.descendants(g, sys.argv[2])
"""


# Linux keeps a process's peak RSS across exec, so a child forked from this (large) process would
# report this process's peak: a small launcher starts each command and reports its child's peak
# and wall time (the launcher's own start-up is not counted).
LAUNCH = """
import os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{time.perf_counter() - started} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run(cmd: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, float]:
    """Best wall time and best CPU time (user + system) of ``repeat`` runs, and peak RSS (MB)."""
    best, best_cpu, peak = float("inf"), float("inf"), 0.0
    for _ in range(repeat):
        with (
            open(os.devnull, "wb") as sink,
            tempfile.TemporaryFile() as err,
            tempfile.NamedTemporaryFile("r") as rss,
        ):
            launch = [sys.executable, "-c", LAUNCH, rss.name, *cmd]
            code = subprocess.call(launch, env=env, stdout=sink, stderr=err)
            wall, cpu, usage_kb = (rss.read() or "inf inf 0").split()
            if code not in (0, 1):  # check exits 1 when it finds errors: a result, not a failure
                err.seek(0)
                raise SystemExit(f"{' '.join(cmd)} exited {code}: {err.read().decode().strip()}")
        best, best_cpu = min(best, float(wall)), min(best_cpu, float(cpu))
        peak = max(peak, int(usage_kb) / 1024)
    return best, best_cpu, peak


Row = tuple[float, float, float, str]


def simulator_cpu() -> float:
    """CPU seconds (user + system) of this process's children running ``lineage sim serve`` (the
    simulator of benchmarks/crawl.py); 0 where /proc cannot tell."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and b"sim" in cmdline and b"serve" in cmdline:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(views: int, tables: int, repeat: int, tmp: Path, reuse: Path | None = None) -> dict[str, Row]:
    """Generate, serve, crawl and time every command at one size: name -> (wall s, CPU s, peak MB, note).

    With ``reuse``, the snapshot is kept in that directory, and a snapshot already there is used
    as it is, without generating or crawling (no crawl rows)."""
    # The parse cache lives beside the snapshot, so that a reused snapshot's check finds it warm.
    snap, cache = (reuse or tmp) / f"snap-{views}.json", (reuse or tmp) / f"cache-{views}"
    rows: dict[str, Row] = {}
    if reuse is None or not snap.exists():
        crawl_into(snap, cache, views, tables, tmp, rows)
    return commands_on(snap, cache, views, repeat, tmp, rows)


def crawl_into(snap: Path, cache: Path, views: int, tables: int, tmp: Path, rows: dict[str, Row]) -> None:
    """Generate the warehouse, serve it and crawl it into ``snap`` (cold, then warm), timing both."""
    started = time.perf_counter()
    fixture = fixture_from_graph(warehouse(views, tables), seed=1)
    gen_s = time.perf_counter() - started
    print(f"[{views} views] fixture generated in {gen_s:.1f} s", file=sys.stderr, flush=True)
    # A parse cache of the run's own: the first crawl parses every view's SQL (cold), the second and
    # every check find it parsed (warm), as on a machine that crawls the same warehouse again.
    env = {**os.environ, "POSTHOG_PERSONAL_API_KEY": KEY, "LINEAGE_CACHE_DIR": str(cache)}
    env.pop("LINEAGE_SNAPSHOT", None)
    lineage = [sys.executable, "-m", "lineage"]
    with simulator(fixture, tmp, 0.0) as (url, _pid):
        crawl = [*lineage, "crawl", "--all", "--edges", "system", "--host", url, "--project", "1"]
        crawl += ["--max-rpm", "1000000", "--out", str(snap), "--no-progress"]
        # The crawl's CPU is the client's; the simulator's (its own process) is in the note: both
        # sides of the end-to-end time.
        before = simulator_cpu()
        cold = run(crawl, env, 1)
        sim_cold = simulator_cpu() - before
        size = f"{snap.stat().st_size / 1e6:.0f} MB snapshot"
        rows["crawl --all --edges system (cold)"] = (
            *cold,
            f"{size}, SQL parsed; simulator {sim_cold:.2f} s CPU",
        )
        before = simulator_cpu()
        warm = run(crawl, env, 1)
        sim_warm = simulator_cpu() - before
        rows["crawl --all --edges system (warm)"] = (
            *warm,
            f"SQL parse cached; simulator {sim_warm:.2f} s CPU",
        )


def commands_on(
    snap: Path, cache: Path, views: int, repeat: int, tmp: Path, rows: dict[str, Row]
) -> dict[str, Row]:
    """Time the floor and every snapshot command on ``snap``, adding their rows to ``rows``."""
    env = {**os.environ, "POSTHOG_PERSONAL_API_KEY": KEY, "LINEAGE_CACHE_DIR": str(cache)}
    env.pop("LINEAGE_SNAPSHOT", None)
    lineage = [sys.executable, "-m", "lineage"]
    data = json.loads(snap.read_text())
    children: dict[str, int] = {}
    ids = {n["id"]: n["name"] for n in data["nodes"]}
    down: dict[str, list[str]] = {}
    for e in data["edges"]:
        down.setdefault(e["source"], []).append(e["target"])

    def reach(start: str) -> int:
        seen, stack = {start}, [start]
        while stack:
            for nxt in down.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return len(seen) - 1

    kinds = {n["id"]: n["kind"] for n in data["nodes"]}
    for n in ids:
        children[n] = len(down.get(n, ()))
    root = max((n for n in ids if kinds[n] == "table"), key=lambda n: (reach(n), n))
    middle = sorted(n for n in ids if kinds[n] != "table")[len(ids) // 2]
    mid_name = ids[middle]
    del data

    floor_py = tmp / "floor.py"
    floor_py.write_text(FLOOR)
    rows["floor"] = (*run([sys.executable, str(floor_py), str(snap), root], env, repeat), "")
    s = ["--snapshot", str(snap)]
    commands = {
        "impact ROOT --format json": (
            [*lineage, "impact", ids[root], *s, "--format", "json"],
            f"{reach(root)} affected",
        ),
        "check --format json": ([*lineage, "check", *s, "--format", "json"], ""),
        "ls --select '+VIEW+'": ([*lineage, "ls", *s, "--select", f"+{mid_name}+"], ""),
        "render --select '2+VIEW+2' --format svg": (
            [*lineage, "render", *s, "--select", f"2+{mid_name}+2", "--format", "svg", "--out", "-"],
            "",
        ),
        "export (csv)": (
            [*lineage, "export", *s, "--format", "csv", "--out", str(tmp / f"export-{views}")],
            "",
        ),
        "diff SNAP SNAP": ([*lineage, "diff", str(snap), str(snap)], ""),
    }
    for name, (cmd, note) in commands.items():
        print(f"[{views} views] {name}", file=sys.stderr, flush=True)
        rows[name] = (*run(cmd, env, repeat), note)
    return rows


TARGETS = {"check --format json": 2.0}


def table(rows: dict[str, Row], views: int) -> bool:
    """Print the table; whether every target is met. Ratios are of CPU time (user + system), which
    other processes on a shared machine disturb far less than wall time; both are shown."""
    floor_wall, floor_cpu = rows["floor"][0], rows["floor"][1]
    print(f"\n{views:,} views: floor {floor_wall:.2f} s wall, {floor_cpu:.2f} s CPU")
    print(f"| {'command':<42} | {'wall s':>6} | {'CPU s':>6} | {'x floor':>7} | {'peak MB':>7} | note |")
    print(f"|{'-' * 44}|{'-' * 8}|{'-' * 8}|{'-' * 9}|{'-' * 9}|------|")
    missed: list[str] = []
    for name, (wall, cpu, peak, note) in rows.items():
        crawl = name.startswith("crawl")
        ratio = "-" if crawl else f"{cpu / floor_cpu:.2f}"
        print(f"| {name:<42} | {wall:>6.2f} | {cpu:>6.2f} | {ratio:>7} | {peak:>7.0f} | {note} |")
        scale = views / 20_000
        if crawl and wall >= 5.0 * scale:
            missed.append(f"{name}: {wall:.2f} s wall >= {5.0 * scale:g} s")
        elif not crawl and name != "floor" and cpu > TARGETS.get(name, 1.5) * floor_cpu:
            missed.append(f"{name}: {cpu / floor_cpu:.2f}x the floor > {TARGETS.get(name, 1.5)}x")
        if peak >= 300 * max(1.0, scale):
            missed.append(f"{name}: peak {peak:.0f} MB >= {300 * max(1.0, scale):g} MB")
    for line in missed:
        print(f"missed: {line}")
    return not missed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--views", type=int, default=20_000)
    parser.add_argument("--tables", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per command")
    parser.add_argument("--double", action="store_true", help="also run twice the size; print ratios")
    parser.add_argument(
        "--reuse",
        type=Path,
        metavar="DIR",
        help="keep each size's snapshot in DIR (snap-VIEWS.json) and reuse one found there: no crawl",
    )
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if args.reuse:
            args.reuse.mkdir(parents=True, exist_ok=True)
        small = measure(args.views, args.tables, args.repeat, tmp, args.reuse)
        ok = table(small, args.views)
        if args.double:
            big = measure(2 * args.views, 2 * args.tables, args.repeat, tmp, args.reuse)
            ok &= table(big, 2 * args.views)
            print(f"\ndoubling {args.views:,} -> {2 * args.views:,} views: ratio of each figure")
            print(f"| {'command':<42} | {'wall x':>7} | {'CPU x':>7} | {'RSS x':>7}")
            grew: list[str] = []
            for name in [n for n in small if n in big]:
                t = big[name][0] / small[name][0]
                c = big[name][1] / small[name][1]
                m = big[name][2] / small[name][2]
                print(f"| {name:<42} | {t:>7.2f} | {c:>7.2f} | {m:>7.2f}")
                if c >= 2.6:  # linear growth, with room for a noisy single run
                    grew.append(f"{name}: CPU x{c:.2f} on doubling >= 2.6 (try --repeat 3)")
            for line in grew:
                print(f"missed: {line}")
            ok &= not grew
    targets = "commands <= 1.5x floor (check 2x), peak RSS < 300 MB per 20k views, system crawl < 5 s per 20k"
    print(f"\ntargets: {targets}:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
