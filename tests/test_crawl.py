"""The crawler against the simulator: exact graphs, request counts, fallbacks, resume, refresh."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import pytest
from conftest import TABLE_IDS, VIEW_IDS

from lineage.config import Settings
from lineage.crawl import CrawlOptions, CrawlResult, crawl, crawl_async, job_summary
from lineage.devdata import real_graphs_dir
from lineage.errors import SelectorError
from lineage.graph import LineageGraph
from lineage.sim.app import create_app
from lineage.sim.faults import FaultConfig
from lineage.sim.generate import fixture_from_graph, graph_of_fixture
from lineage.sim.state import Warehouse

REAL = real_graphs_dir()


def settings(key: str = "phx_read") -> Settings:
    return Settings.resolve(host="http://127.0.0.1:1", project="1", api_key=key, env={})


class Counting(httpx.AsyncBaseTransport):
    """Passes requests to an inner transport; can simulate a kill after ``kill_after`` requests."""

    def __init__(self, inner: httpx.AsyncBaseTransport, kill_after: int | None = None) -> None:
        self.inner = inner
        self.count = 0
        self.kill_after = kill_after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.kill_after is not None and self.count >= self.kill_after:
            raise Killed
        self.count += 1
        return await self.inner.handle_async_request(request)


class Killed(BaseException):
    """Stands for kill -9 / Ctrl-C: not an Exception, so nothing retries it."""


def run(
    fixture: dict[str, Any],
    options: CrawlOptions,
    *,
    key: str = "phx_read",
    era: str = "e2",
    faults: FaultConfig | None = None,
    rate_limit: bool = True,
) -> tuple[CrawlResult, Counting]:
    app = create_app(Warehouse(fixture, era=era), faults=faults, rate_limit=rate_limit)
    transport = Counting(httpx.ASGITransport(app=app))
    result = asyncio.run(crawl_async(settings(key), options, transport=transport))
    return result, transport


def linked_truth(fixture: dict[str, Any]) -> nx.DiGraph:
    """The fixture's graph without tables nothing reads (lineage cannot see those)."""
    truth = graph_of_fixture(fixture)
    drop = [n for n, a in truth.nodes(data=True) if a["kind"] == "table" and truth.degree(n) == 0]
    truth.remove_nodes_from(drop)
    return truth


def assert_same_graph(got: LineageGraph, truth: nx.DiGraph) -> None:
    assert sorted(got.nx.edges) == sorted(truth.edges)
    assert sorted(got.nx.nodes) == sorted(truth.nodes)
    for node, attrs in truth.nodes(data=True):
        assert got.nx.nodes[node]["kind"] == attrs["kind"], node
        assert got.nx.nodes[node]["name"] == attrs["name"], node


# Request counts of the view crawl alone: consumers' requests are tested in test_consumers_crawl.py.
def test_crawl_all_rebuilds_the_small_warehouse_exactly(small_fixture: dict[str, Any]) -> None:
    result, transport = run(small_fixture, CrawlOptions(strategy="all", consumers=False, edges="api"))
    assert_same_graph(result.graph, linked_truth(small_fixture))
    g = result.graph.nx
    # the dotted PostHog table comes back by its full name, not its last label
    assert ("posthog.ai_events", VIEW_IDS["ai_usage"]) in g.edges
    assert g.nodes["events"]["table_kind"] == "posthog"
    # requests: views list + one ancestors per view + tables list + jobs + one GET to name the dotted table
    views = len(small_fixture["views"])
    assert result.requests == transport.count == 1 + views + 1 + 1 + 1
    assert g.graph["requests"] == result.requests
    assert g.graph["format"] == "lineage-snapshot/1"
    daily = g.nodes[VIEW_IDS["orders_daily"]]
    assert daily["kind"] == "matview" and daily["folder"] == "Revenue"
    assert daily["upstream_count"] == 2 and daily["downstream_count"] == 1
    assert daily["jobs"]["runs"] == 3 and daily["jobs"]["failures"] == 1
    assert daily["jobs"]["last_status"] == "Completed" and daily["jobs"]["rows_last"] == 120
    assert daily["jobs"]["last_success_at"] == "2026-11-22T00:04:00Z"
    assert daily["jobs"]["median_duration_s"] == 240.0


def test_sql_edges_equal_api_edges(small_fixture: dict[str, Any]) -> None:
    api, _ = run(small_fixture, CrawlOptions(strategy="all", edges="api"))
    sql, _ = run(small_fixture, CrawlOptions(strategy="all", edges="sql"))
    assert sorted(api.graph.nx.edges) == sorted(sql.graph.nx.edges)
    assert sql.edge_source == "sql"
    assert sql.graph.nx.nodes[VIEW_IDS["orders"]]["sql"].startswith("SELECT")


def test_auto_falls_back_to_sql_when_lineage_refuses_personal_keys(small_fixture: dict[str, Any]) -> None:
    # E3: ancestors/descendants declare no scopes, so personal keys get 403 there.
    result, _ = run(small_fixture, CrawlOptions(strategy="all"), era="e3")
    assert result.edge_source == "sql"
    assert any("refuse this key" in note for note in result.notes)
    assert_same_graph(result.graph, linked_truth(small_fixture))


def test_focused_crawl_records_what_lies_beyond(small_fixture: dict[str, Any]) -> None:
    opts = CrawlOptions(strategy="select", select="orders_daily", upstream=1, downstream=0)
    result, _ = run(small_fixture, opts)
    g = result.graph.nx
    assert sorted(g.nodes) == sorted([VIEW_IDS["orders_daily"], VIEW_IDS["orders"], VIEW_IDS["event_counts"]])
    assert g.nodes[VIEW_IDS["orders"]]["more_upstream"] == 1  # stripe_charge is beyond the depth
    assert g.nodes[VIEW_IDS["event_counts"]]["more_upstream"] == 1  # events
    full, _ = run(small_fixture, CrawlOptions(strategy="select", select="+orders_daily+"))
    assert VIEW_IDS["revenue_report"] in full.graph.nx and "events" in full.graph.nx
    assert "more_upstream" not in full.graph.nx.nodes[VIEW_IDS["orders"]]


def test_focused_crawl_downstream_boundary_uses_dependencies(small_fixture: dict[str, Any]) -> None:
    result, _ = run(small_fixture, CrawlOptions(strategy="select", select="orders+1"))
    g = result.graph.nx
    assert sorted(g.nodes) == sorted([VIEW_IDS["orders"], VIEW_IDS["orders_daily"]])
    assert g.nodes[VIEW_IDS["orders_daily"]]["more_downstream"] == 1  # revenue_report
    assert g.nodes[VIEW_IDS["orders_daily"]]["more_upstream"] == 1  # event_counts


def test_unknown_selector_names_the_input(small_fixture: dict[str, Any]) -> None:
    with pytest.raises(SelectorError, match=r"select= selector 'order_daily'.*did you mean 'orders_daily'"):
        run(small_fixture, CrawlOptions(strategy="select", select="order_daily"))


def test_crawl_survives_faults_and_storms(small_fixture: dict[str, Any]) -> None:
    faults = FaultConfig(seed=7, error_rate=0.1, storm_rate=0.05, storm_length=3, storm_retry_after=0)
    result, _ = run(small_fixture, CrawlOptions(strategy="all"), faults=faults)
    assert_same_graph(result.graph, linked_truth(small_fixture))
    assert result.retries > 0


def test_killed_crawl_resumes_without_repeating(small_fixture: dict[str, Any], tmp_path: Path) -> None:
    journal = tmp_path / "snap.json.journal.jsonl"
    baseline, base_transport = run(small_fixture, CrawlOptions(strategy="all"))
    app = create_app(Warehouse(small_fixture, era="e2"))
    first = Counting(httpx.ASGITransport(app=app), kill_after=4)
    with pytest.raises(Killed):
        asyncio.run(crawl_async(settings(), CrawlOptions(strategy="all", journal=journal), transport=first))
    assert journal.exists()
    second = Counting(httpx.ASGITransport(app=app))
    resumed = asyncio.run(
        crawl_async(settings(), CrawlOptions(strategy="all", journal=journal, resume=True), transport=second)
    )
    assert sorted(resumed.graph.nx.edges) == sorted(baseline.graph.nx.edges)
    assert first.count + second.count <= 1.1 * base_transport.count
    assert not journal.exists()  # a finished crawl removes its journal


def test_refresh_reuses_old_jobs_and_sql(small_fixture: dict[str, Any]) -> None:
    old, _ = run(small_fixture, CrawlOptions(strategy="all", consumers=False, edges="sql"))
    new, transport = run(
        small_fixture, CrawlOptions(strategy="all", consumers=False, edges="sql", refresh=old.graph)
    )
    assert sorted(new.graph.nx.edges) == sorted(old.graph.nx.edges)
    # no GET per view: every list entry is unchanged, so the old SQL is reused
    assert transport.count < len(small_fixture["views"])
    assert new.graph.nx.nodes[VIEW_IDS["orders_daily"]]["jobs"]["runs"] == 3


def test_verify_cross_checks_dependencies(small_fixture: dict[str, Any]) -> None:
    result, _ = run(small_fixture, CrawlOptions(strategy="all", verify=True))
    assert result.verify_mismatches == ()


def test_crawl_from_inside_a_running_loop(small_fixture: dict[str, Any]) -> None:
    app = create_app(Warehouse(small_fixture, era="e2"))

    async def inside() -> CrawlResult:
        return crawl(settings(), CrawlOptions(strategy="all"), transport=httpx.ASGITransport(app=app))

    result = asyncio.run(inside())
    assert result.graph.nx.number_of_edges() == 6


def test_job_summary_streak_and_trend() -> None:
    history = [
        {
            "id": "1",
            "status": "Completed",
            "created_at": "2026-01-01T00:00:00Z",
            "last_run_at": "2026-01-01T00:01:00Z",
            "rows": 5,
        },
        {
            "id": "2",
            "status": "Completed",
            "created_at": "2026-01-02T00:00:00Z",
            "last_run_at": "2026-01-02T00:03:00Z",
            "rows": 9,
        },
        {
            "id": "3",
            "status": "Failed",
            "created_at": "2026-01-03T00:00:00Z",
            "last_run_at": "2026-01-03T00:00:30Z",
            "rows": 0,
        },
        {
            "id": "4",
            "status": "Failed",
            "created_at": "2026-01-04T00:00:00Z",
            "last_run_at": "2026-01-04T00:00:30Z",
            "rows": 0,
        },
    ]
    s = job_summary(history)
    assert s["failure_streak"] == 2 and s["last_status"] == "Failed"
    assert s["rows_trend"] == "up" and s["rows_last"] == 9
    assert s["last_success_at"] == "2026-01-02T00:03:00Z"
    assert s["median_duration_s"] == 45.0


@pytest.mark.parametrize("name", ["dbt_jaffle_shop", "posthog_revenue_analytics"])
def test_real_graph_fixtures_crawl_exactly(name: str) -> None:
    fixture = fixture_from_graph(json.loads((REAL / f"{name}.json").read_text()), seed=3)
    result, transport = run(fixture, CrawlOptions(strategy="all"), key="phx_demo_read")
    assert_same_graph(result.graph, linked_truth(fixture))
    views = len([v for v in fixture["views"] if not v.get("deleted")])
    lower_bound = views + 1 + 1 + 1  # views + list page + tables page + jobs page
    assert transport.count <= 1.02 * lower_bound + 5


def test_cli_crawl_over_loopback_keeps_the_key_out(sim_server: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lineage.cli import main

    out = tmp_path / "snap.json"
    env = {"POSTHOG_HOST": sim_server.url, "POSTHOG_PROJECT_ID": "1", "POSTHOG_PERSONAL_API_KEY": "phx_read"}
    result = CliRunner().invoke(main, ["crawl", "--all", "--out", str(out), "--verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout and "6 views" not in result.stdout
    assert "requests" in result.stdout and "edges" in result.stdout
    text = out.read_text()
    assert "phx_read" not in text and "phx_read" not in result.output
    loaded = LineageGraph.load(out)
    assert loaded.nx.number_of_edges() == 6
    assert sim_server.stats()["throttled"] == 0


def test_cli_crawl_bad_key_is_one_clean_line(sim_server: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lineage.cli import main

    env = {
        "POSTHOG_HOST": sim_server.url,
        "POSTHOG_PROJECT_ID": "1",
        "POSTHOG_PERSONAL_API_KEY": "phx_wrong_key",
    }
    result = CliRunner().invoke(main, ["crawl", "--all", "--out", str(tmp_path / "s.json")], env=env)
    assert result.exit_code == 3
    assert "POSTHOG_PERSONAL_API_KEY" in result.output
    assert "phx_wrong_key" not in result.output
    assert "Traceback" not in result.output


def test_cli_crawl_missing_project_names_flag_and_variable(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lineage.cli import main

    result = CliRunner().invoke(
        main, ["crawl", "--all"], env={"POSTHOG_PROJECT_ID": "", "POSTHOG_PERSONAL_API_KEY": ""}
    )
    assert result.exit_code == 2
    assert "--project" in result.output and "POSTHOG_PROJECT_ID" in result.output


def test_crawl_sized_run_at_default_limits_is_never_throttled() -> None:
    """1,208 requests at PostHog's 480/min: the client paces itself, the simulator throttles nothing.

    Client and simulator share one virtual clock, so the 2.5 virtual minutes pass instantly.
    """
    from lineage.api import AsyncPostHogClient
    from lineage.sim.throttle import Throttler

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    fixture = fixture_from_graph(json.loads((REAL / "dbt_tuva.json").read_text()), seed=2)
    app = create_app(Warehouse(fixture, era="e2"))  # throttles on: 480/min and 4800/h per key
    app.state.sim.throttler = Throttler(time_fn=lambda: now[0])
    s = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key="phx_demo_read", env={})
    assert s.max_rpm == 480

    async def go() -> CrawlResult:
        client = AsyncPostHogClient(
            s, transport=httpx.ASGITransport(app=app), clock=lambda: now[0], sleep=sleep
        )
        try:
            return await crawl_async(s, CrawlOptions(strategy="all", edges="api"), client=client)
        finally:
            await client.aclose()

    result = asyncio.run(go())
    stats = app.state.sim.stats.snapshot()
    assert stats["throttled"] == 0
    assert stats["total"] == result.requests > 480 * 2
    # paced, not bunched: 1,208 requests need at least two full minutes at 480/min
    assert now[0] >= 60 * (result.requests // 480)
    assert result.waited_seconds > 0


class RefuseJobs(httpx.AsyncBaseTransport):
    """The simulator, except that the jobs listing answers 403 as for a key that may not read it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/data_modeling_jobs" in request.url.path:
            body = {
                "type": "authentication_error",
                "code": "permission_denied",
                "detail": "API key missing required scope 'warehouse_view:read'",
                "attr": None,
            }
            return httpx.Response(403, json=body)
        return await self.inner.handle_async_request(request)


def test_run_history_stands_in_when_jobs_are_unreadable(small_fixture: dict[str, Any]) -> None:
    app = create_app(Warehouse(small_fixture, era="e2"))
    result = asyncio.run(
        crawl_async(
            settings(), CrawlOptions(strategy="all"), transport=RefuseJobs(httpx.ASGITransport(app=app))
        )
    )
    assert any("run_history" in note for note in result.notes)
    daily = result.graph.nx.nodes[VIEW_IDS["orders_daily"]]["jobs"]
    assert daily["runs"] == 3 and daily["failures"] == 1 and daily["last_status"] == "Completed"
    plain = result.graph.nx.nodes[VIEW_IDS["revenue_report"]]["jobs"]
    assert plain["runs"] == 0  # not materialized: run_history is not asked for it


def test_snapshot_carries_health_at_crawl_time(small_fixture: dict[str, Any]) -> None:
    # orders_daily: daily cadence, last success 2026-11-22, crawled at the fixture's 2026-11-26 → stale
    result, _ = run(small_fixture, CrawlOptions(strategy="all"))
    g = result.graph.nx
    assert g.graph["crawled_at"].startswith("2026-11-26")  # the server's clock (Date header), not ours
    assert g.nodes[VIEW_IDS["orders_daily"]]["stale"] is True
    assert g.nodes[VIEW_IDS["orders_daily"]]["health"] == "stale"
    assert g.nodes[VIEW_IDS["orders"]]["health"] == "stale"  # 2026-11-23 is three days back: > 2 x 24 h
    assert g.nodes[VIEW_IDS["revenue_report"]]["stale"] is False


def test_focused_crawl_takes_methods_globs_and_depths_from_one_grammar(small_fixture: dict[str, Any]) -> None:
    # folder:Revenue = orders, orders_daily; '1+' adds their parents (stripe_charge, event_counts)
    result, _ = run(small_fixture, CrawlOptions(strategy="select", select="1+folder:Revenue"))
    g = result.graph.nx
    views = {VIEW_IDS["orders"], VIEW_IDS["orders_daily"], VIEW_IDS["event_counts"]}
    assert set(g.nodes) == views | {TABLE_IDS["stripe_charge"]}
    only = CrawlOptions(strategy="select", select="revenue_*", upstream=0, downstream=0)
    glob, _ = run(small_fixture, only)
    assert set(glob.graph.nx.nodes) == {VIEW_IDS["revenue_report"]}
    assert glob.graph.nx.nodes[VIEW_IDS["revenue_report"]]["more_upstream"] == 1


def test_kill_9_then_resume_over_loopback(tmp_path: Path) -> None:
    """A real `lineage crawl` process killed with SIGKILL mid-crawl, then `--resume`d."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from lineage.sim.demo import load_demo_fixture
    from lineage.sim.server import serve_in_thread

    out = tmp_path / "snap.json"
    journal = Path(f"{out}.journal.jsonl")
    with serve_in_thread(load_demo_fixture(), era="e2", faults=FaultConfig(latency_ms=40)) as server:
        env = {
            **os.environ,
            "POSTHOG_HOST": server.url,
            "POSTHOG_PROJECT_ID": "1",
            "POSTHOG_PERSONAL_API_KEY": "phx_demo_read",
        }
        base = [sys.executable, "-m", "lineage", "crawl", "--all", "--edges", "api", "--concurrency", "1"]
        cmd = [*base, "--out", str(out), "--no-progress"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if journal.exists() and len(journal.read_text().splitlines()) >= 10:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert not out.exists()
        first = server.stats()["total"]
        done = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        resumed = server.stats()["total"] - first
        server.sim.stats.reset()
        full = subprocess.run(
            [*base, "--out", str(tmp_path / "full.json"), "--no-progress"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert full.returncode == 0, full.stderr
        uninterrupted = server.stats()["total"]
    assert "resumed" in done.stderr
    assert first + resumed <= 1.1 * uninterrupted
    a, b = LineageGraph.load(out), LineageGraph.load(tmp_path / "full.json")
    assert sorted(a.nx.edges) == sorted(b.nx.edges)
    assert not journal.exists()


def random_graph_doc(seed: int, n: int = 40) -> dict[str, Any]:
    """A random layered DAG in the real_graphs format: a few tables feeding views."""
    import random

    rng = random.Random(seed)
    nodes = [{"name": f"t{i}", "kind": "table"} for i in range(5)]
    edges: set[tuple[str, str]] = set()
    for i in range(n):
        name = f"v{i}"
        nodes.append({"name": name, "kind": "view"})
        earlier = [x["name"] for x in nodes[:-1]]
        for parent in rng.sample(earlier, k=min(len(earlier), rng.choice([1, 1, 2, 3]))):
            edges.add((parent, name))
    return {"source": "random", "license": "none", "description": "", "nodes": nodes, "edges": sorted(edges)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_focused_crawls_equal_networkx_closures(seed: int) -> None:
    fixture = fixture_from_graph(random_graph_doc(seed), seed=seed)
    truth = graph_of_fixture(fixture)
    app = create_app(Warehouse(fixture, era="e2"), rate_limit=False)
    views = sorted(v["id"] for v in fixture["views"])
    import random

    rng = random.Random(seed)
    for view_id in rng.sample(views, 6):
        up, down = rng.choice([(1, 1), (2, 0), (0, 2), (None, None), (3, 1)])
        name = truth.nodes[view_id]["name"]
        opts = CrawlOptions(strategy="select", select=name, upstream=up, downstream=down, jobs=False)
        result = asyncio.run(
            crawl_async(settings("phx_demo_read"), opts, transport=httpx.ASGITransport(app=app))
        )
        g = result.graph.nx
        want = {view_id}
        if up != 0:
            want |= set(nx.single_source_shortest_path_length(truth.reverse(copy=False), view_id, cutoff=up))
        if down != 0:
            want |= set(nx.single_source_shortest_path_length(truth, view_id, cutoff=down))
        assert set(g.nodes) == want, (name, up, down)
        assert set(g.edges) == set(truth.subgraph(want).edges), (name, up, down)
        for node in want:
            outside_parents = [p for p in truth.predecessors(node) if p not in want]
            assert g.nodes[node].get("more_upstream", 0) == len(outside_parents), (name, node)
        if down:
            edge = nx.single_source_shortest_path_length(truth, view_id, cutoff=down)
            for node in (n for n, d in edge.items() if d == down):
                beyond = [c for c in truth.successors(node) if c not in want]
                assert g.nodes[node].get("more_downstream", 0) == len(beyond), (name, node)


def test_with_sql_keeps_api_edges_and_names_ghosts_from_their_readers() -> None:
    from lineage.sim.demo import load_demo_fixture

    fixture = load_demo_fixture()
    plain, _ = run(fixture, CrawlOptions(strategy="all", edges="api"), key="phx_demo_read")
    assert not any("resumed" in n for n in plain.notes)  # no journal, nothing resumed
    rich, _ = run(fixture, CrawlOptions(strategy="all", edges="api", with_sql=True), key="phx_demo_read")
    assert sorted(rich.graph.nx.edges) == sorted(plain.graph.nx.edges)
    assert rich.edge_source == "api"
    views = [n for n, a in rich.graph.nx.nodes(data=True) if a["kind"] in {"view", "matview"}]
    assert all(rich.graph.nx.nodes[v].get("sql") for v in views)
    ghosts = [a for _, a in rich.graph.nx.nodes(data=True) if a.get("ghost")]
    deleted = [v["name"] for v in fixture["views"] if v.get("deleted")]
    assert [g["name"] for g in ghosts] == deleted  # named from the reader's FROM target
    assert [a["name"] for _, a in plain.graph.nx.nodes(data=True) if a.get("ghost")] != deleted


def test_sql_crawl_request_count(small_fixture: dict[str, Any]) -> None:
    result, transport = run(small_fixture, CrawlOptions(strategy="all", consumers=False, edges="sql"))
    assert result.edge_source == "sql"
    views = len(small_fixture["views"])
    assert transport.count == 1 + views + 1 + 1  # list, one GET per view, tables, jobs


def test_a_failed_snapshot_write_keeps_the_journal(small_fixture: dict[str, Any], tmp_path: Path) -> None:
    from lineage.errors import InputError

    journal = tmp_path / "j.jsonl"
    app = create_app(Warehouse(small_fixture, era="e2"))
    first = Counting(httpx.ASGITransport(app=app))
    opts = CrawlOptions(strategy="all", edges="api", journal=journal, out=Path("/dev/full"))
    with pytest.raises(InputError, match="/dev/full"):
        asyncio.run(crawl_async(settings(), opts, transport=first))
    assert journal.exists()  # every finished request survives the failed write
    again = Counting(httpx.ASGITransport(app=app))
    out = tmp_path / "snap.json"
    opts = CrawlOptions(strategy="all", edges="api", journal=journal, out=out, resume=True)
    asyncio.run(crawl_async(settings(), opts, transport=again))
    assert again.count == 0 and out.exists() and not journal.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--out", ""], "--out is empty"),
        (["--out", "{tmp}"], "is a directory"),
        (["--out", "{tmp}/afile/snap.json"], "is not a directory"),
        (["--select", " "], "--select is empty"),
        (["--jobs-since", "999999999999d"], "more than ten years"),
        (["--verify", "0"], "--verify '0'"),
    ],
)
def test_cli_crawl_refuses_bad_input_before_any_request(
    args: list[str], needle: str, sim_server: Any, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from lineage.cli import main

    (tmp_path / "afile").write_text("x")
    env = {"POSTHOG_HOST": sim_server.url, "POSTHOG_PROJECT_ID": "1", "POSTHOG_PERSONAL_API_KEY": "phx_read"}
    argv = ["crawl", *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    if "--out" not in args:
        argv += ["--out", str(tmp_path / "s.json")]
    result = CliRunner().invoke(main, argv, env=env)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert sim_server.stats()["total"] == 0


def test_resume_refuses_a_journal_of_another_crawl(small_fixture: dict[str, Any], tmp_path: Path) -> None:
    from lineage.crawl import Journal
    from lineage.errors import InputError

    journal = tmp_path / "j.jsonl"
    app = create_app(Warehouse(small_fixture, era="e2"))
    killed = Counting(httpx.ASGITransport(app=app), kill_after=3)
    with pytest.raises(Killed):
        opts = CrawlOptions(strategy="all", edges="api", journal=journal)
        asyncio.run(crawl_async(settings(), opts, transport=killed))
    other = Settings.resolve(host="http://127.0.0.1:2", project="7", api_key="phx_read", env={})
    with pytest.raises(InputError, match=r"from another crawl \(its host, project differ\)"):
        opts = CrawlOptions(strategy="all", edges="api", journal=journal, resume=True)
        asyncio.run(crawl_async(other, opts, transport=httpx.ASGITransport(app=app)))
    with pytest.raises(InputError, match=r"its jobs_since_s differ"):
        opts = CrawlOptions(
            strategy="all", edges="api", journal=journal, resume=True, jobs_since=timedelta(days=2)
        )
        asyncio.run(crawl_async(settings(), opts, transport=httpx.ASGITransport(app=app)))
    # a torn last line is ended before the next record, so nothing written after it is lost
    with journal.open("a") as fh:
        fh.write('{"k": "half')
    j = Journal(journal, resume=True)
    j.put("after", 1)
    j.close(remove=False)
    assert Journal(journal, resume=True).get("after") == (True, 1)


def test_a_crawl_that_finished_no_request_leaves_no_journal(
    small_fixture: dict[str, Any], tmp_path: Path
) -> None:
    from lineage.errors import AuthenticationError

    journal = tmp_path / "j.jsonl"
    app = create_app(Warehouse(small_fixture, era="e2"))
    bad = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key="phx_wrong", env={})
    with pytest.raises(AuthenticationError):
        opts = CrawlOptions(strategy="all", edges="api", journal=journal)
        asyncio.run(crawl_async(bad, opts, transport=httpx.ASGITransport(app=app)))
    assert not journal.exists()
    result = asyncio.run(
        crawl_async(
            settings(),
            CrawlOptions(strategy="all", edges="api", journal=journal, resume=True),
            transport=httpx.ASGITransport(app=app),
        )
    )
    assert any("nothing to resume" in n for n in result.notes)


class DeleteAfterList(httpx.AsyncBaseTransport):
    """The simulator; once the views list has been answered, one view is deleted (as by a colleague)."""

    def __init__(self, wh: Warehouse, view_id: str) -> None:
        self.inner = httpx.ASGITransport(app=create_app(wh))
        self.wh, self.view_id, self.done = wh, view_id, False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not self.done and request.url.path.endswith("/warehouse_saved_queries/"):
            await response.aread()
            self.wh.delete_view(self.view_id)
            self.done = True
        return response


@pytest.mark.parametrize("edges", ["api", "sql"])
def test_a_view_deleted_during_the_crawl_is_left_out(edges: str, small_fixture: dict[str, Any]) -> None:
    # revenue_report reads nothing downstream of it, so PostHog lets it be deleted
    wh = Warehouse(small_fixture, era="e2")
    transport = DeleteAfterList(wh, VIEW_IDS["revenue_report"])
    opts = CrawlOptions(strategy="all", edges=edges)  # type: ignore[arg-type]
    result = asyncio.run(crawl_async(settings(), opts, transport=transport))
    assert VIEW_IDS["revenue_report"] not in result.graph.nx
    assert any("deleted while the crawl ran" in n for n in result.notes)
    assert VIEW_IDS["orders_daily"] in result.graph.nx


def test_overlapping_seed_terms_take_the_deepest_reach(small_fixture: dict[str, Any]) -> None:
    both, _ = run(
        small_fixture, CrawlOptions(strategy="select", select="+orders_daily orders_daily+", edges="api")
    )
    full, _ = run(small_fixture, CrawlOptions(strategy="select", select="+orders_daily+", edges="api"))
    assert set(both.graph.nx.nodes) == set(full.graph.nx.nodes)
    mixed, _ = run(small_fixture, CrawlOptions(strategy="select", select="orders+1 1+orders", edges="api"))
    assert {VIEW_IDS["orders"], VIEW_IDS["orders_daily"], TABLE_IDS["stripe_charge"]} <= set(
        mixed.graph.nx.nodes
    )


def test_without_the_table_scope_tables_are_unknown_not_ghosts(small_fixture: dict[str, Any]) -> None:
    small_fixture["api_keys"].append({"key": "phx_views_only", "scopes": ["warehouse_view:read"]})
    result, _ = run(small_fixture, CrawlOptions(strategy="all", edges="api"), key="phx_views_only")
    node = result.graph.nx.nodes[TABLE_IDS["stripe_charge"]]
    assert node["kind"] == "unknown" and not node.get("ghost")
    assert any("warehouse_table:read" in n for n in result.notes)


class HogQLBudgetSpent(httpx.AsyncBaseTransport):
    """The simulator, except that the query API answers 429 for the next hour."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.rstrip("/").endswith("/query"):
            body = {
                "type": "throttled_error",
                "code": "throttled",
                "detail": "Request was throttled. Expected available in 3600 seconds.",
                "attr": None,
            }
            return httpx.Response(429, json=body, headers={"Retry-After": "3600"})
        return await self.inner.handle_async_request(request)


def test_auto_falls_back_to_the_rest_api_when_the_hogql_budget_is_spent(
    small_fixture: dict[str, Any],
) -> None:
    app = create_app(Warehouse(small_fixture, era="e2"))
    s = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key="phx_all", env={})
    result = asyncio.run(
        crawl_async(s, CrawlOptions(strategy="all"), transport=HogQLBudgetSpent(httpx.ASGITransport(app=app)))
    )
    assert result.edge_source == "api"
    assert any("query API is not usable" in n for n in result.notes)
    assert result.graph.nx.number_of_edges() == 6


def test_jobs_window_reaches_back_to_a_job_the_base_saw_running() -> None:
    from datetime import UTC, datetime

    from lineage.crawl.jobs import jobs_fetch_since

    now = datetime(2026, 11, 26, tzinfo=UTC)
    known = [
        {"id": "a", "status": "Completed", "created_at": "2026-11-25T00:00:00Z"},
        {"id": "b", "status": "Running", "created_at": "2026-11-20T00:00:00Z"},
    ]
    assert jobs_fetch_since(now, timedelta(days=30), known) == datetime(2026, 11, 20, tzinfo=UTC)
    assert jobs_fetch_since(now, timedelta(days=30), known[:1]) == datetime(2026, 11, 25, tzinfo=UTC)
    assert jobs_fetch_since(now, timedelta(days=2), known) == datetime(2026, 11, 24, tzinfo=UTC)
    assert jobs_fetch_since(now, timedelta(days=30), []) == datetime(2026, 10, 27, tzinfo=UTC)


def test_sql_names_nothing_resolves_to_are_unknown_not_posthog_tables() -> None:
    from lineage.sim.demo import load_demo_fixture

    result, _ = run(load_demo_fixture(), CrawlOptions(strategy="all", edges="sql"), key="phx_demo_read")
    g = result.graph.nx
    # revenue_reconciliation still reads revenue_rollup_v1, which was deleted (and renamed by PostHog)
    assert g.nodes["revenue_rollup_v1"]["kind"] == "unknown" and g.nodes["revenue_rollup_v1"]["unresolved"]
    assert g.nodes["events"]["table_kind"] == "posthog"
    assert any("revenue_rollup_v1" in n and "typo" in n for n in result.notes)


class DeleteBetweenPages(httpx.AsyncBaseTransport):
    """The simulator; right after the first page of the views list, a view on that page is deleted,
    so every later view slides one place back and the first view of page 2 would never be listed."""

    def __init__(self, wh: Warehouse) -> None:
        self.inner = httpx.ASGITransport(app=create_app(wh, rate_limit=False))
        self.wh = wh
        self.deleted: str | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        first_page = (
            request.url.path.endswith("/warehouse_saved_queries/") and "page" not in request.url.params
        )
        if self.deleted is None and first_page:
            body = json.loads(await response.aread())
            for item in body["results"]:
                try:
                    self.wh.delete_view(item["id"])
                except Exception:  # noqa: S112 - it has dependents: try the next one
                    continue
                self.deleted = item["id"]
                break
            return httpx.Response(200, json=body)
        return response


def test_a_deletion_between_list_pages_loses_no_live_view() -> None:
    fixture = fixture_from_graph(random_graph_doc(5, n=1100), seed=5)
    wh = Warehouse(fixture, era="e2")
    transport = DeleteBetweenPages(wh)
    opts = CrawlOptions(strategy="all", edges="api", jobs=False)
    fast = Settings.resolve(
        host="http://127.0.0.1:1", project="1", api_key="phx_demo_read", max_rpm=10**6, env={}
    )
    result = asyncio.run(crawl_async(fast, opts, transport=transport))
    assert transport.deleted is not None
    live = {v["id"] for v in fixture["views"]} - {transport.deleted}
    crawled = {n for n, a in result.graph.nx.nodes(data=True) if a["kind"] in {"view", "matview"}}
    assert crawled == live


def test_the_journal_reads_its_answers_back_instead_of_keeping_them(tmp_path: Path) -> None:
    """An answer written to the journal file is not held in memory; asked for again in the same
    crawl (a source starting over) it comes back from its line, the same value; a resumed crawl
    and a journal without a file see what they saw before."""
    from lineage.crawl import Journal

    path = tmp_path / "j.jsonl"
    rows = [{"id": i, "name": f"v{i}", "é": "ü\u2028", "n": None} for i in range(3)]
    j = Journal(path, resume=False, identity={"host": "h"})
    j.put("sys:views", rows)
    j.put("pairs", [("view", {"id": "job"})])  # tuples come back as JSON lists, as on a resume
    j.put("sys:views", rows[:1])  # answered again: the newer answer
    assert j._done == {}  # nothing kept in memory
    assert j.get("sys:views") == (True, rows[:1])
    assert j.get("pairs") == (True, [["view", {"id": "job"}]])
    assert j.get("unknown") == (False, None)
    j.close(remove=False)
    again = Journal(path, resume=True, identity={"host": "h"})
    assert again.get("sys:views") == (True, rows[:1]) and again.resumed == 2
    again.put("more", {"x": 1})
    assert again.get("more") == (True, {"x": 1}) and again.get("pairs")[0]
    again.close(remove=True)
    assert not path.exists()
    memory = Journal(None, resume=False)
    memory.put("k", rows)
    assert memory.get("k")[1] is rows  # no file: kept as it is
