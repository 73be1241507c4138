"""`lineage watch`: cycles against the simulator over loopback, announced to a local webhook receiver.

Every finding is announced once, its resolution once; an unchanged workspace announces nothing and
costs a handful of requests; a webhook that fails or a process killed between cycles loses nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from conftest import JOB_IDS, VIEW_IDS

from lineage.analysis import check
from lineage.cli import main
from lineage.config import Settings
from lineage.errors import InputError
from lineage.graph import LineageGraph
from lineage.sim.server import serve_in_thread
from lineage.watch import WatchOptions, WatchState, budget_plan, format_message, parse_every, run_cycle

pytestmark = pytest.mark.loopback


class Receiver:
    """A webhook on 127.0.0.1 that records every JSON body; ``status`` is what it answers."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                if receiver.status == 200:
                    receiver.bodies.append(body)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keys(self) -> list[tuple[str, str]]:
        return [(f["rule"], f["node"]) for body in self.bodies for f in body["findings"]]

    def resolved(self) -> list[tuple[str, str]]:
        return [(f["rule"], f["node"]) for body in self.bodies for f in body["resolved"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def failing_fixture(fixture: dict[str, Any]) -> dict[str, Any]:
    """orders_daily's newest job failed (so it is failing and revenue_report is downstream of it)."""
    fixture["jobs"].append(
        {
            "id": "0d000000-0000-4000-8000-000000000009",
            "view": "orders_daily",
            "status": "Failed",
            "rows_materialized": 0,
            "rows_expected": None,
            "error": "Table stripe_charge is unreachable",
            "created_at": "2026-11-25T00:00:00Z",
            "last_run_at": "2026-11-25T00:01:00Z",
            "workflow_id": "materialize-orders_daily-9",
        }
    )
    for view in fixture["views"]:
        view["run_seconds"] = 5
    assert JOB_IDS  # the conftest jobs stay as they are
    return fixture


def settings_for(url: str) -> Settings:
    return Settings.resolve(host=url, project="1", api_key="phx_all", env={})


def test_cycles_announce_each_finding_once_and_its_resolution_once(
    small_fixture: dict[str, Any], tmp_path: Path, receiver: Receiver
) -> None:
    with serve_in_thread(failing_fixture(small_fixture), era="e2") as sim:
        options = WatchOptions(snapshot=tmp_path / "snap.json", webhook=receiver.url)
        settings = settings_for(sim.url)

        first = run_cycle(settings, options)
        assert first.ok and first.crawled and first.delivered == 1
        expected = {
            (f.rule, f.node)
            for f in check(LineageGraph.load(tmp_path / "snap.json")).findings
            if f.severity in {"error", "warning"}
        }
        assert ("failing", "orders_daily") in expected
        assert ("downstream-of-broken", "revenue_report") in expected
        assert sorted(receiver.keys()) == sorted(expected)
        body = receiver.bodies[0]
        assert body["resolved"] == [] and len(body["text"].splitlines()) == len(expected)
        failing = next(f for f in body["findings"] if f["rule"] == "failing")
        assert failing["since"] == "2026-11-25T00:00:00Z"  # the first failure of the current streak
        assert failing["downstream"] == {"views": ["revenue_report"]}
        assert failing["url"].endswith(f"open_view={VIEW_IDS['orders_daily']}")

        # Unchanged: nothing posted, a handful of requests.
        second = run_cycle(settings, options)
        assert second.ok and second.new == () and second.resolved == ()
        assert len(receiver.bodies) == 1
        assert second.requests <= 6, second.requests  # consumers are carried over, not read again

        # A view edited to read the failing view: exactly that new finding.
        sim.warehouse.update_view(
            VIEW_IDS["constant"], {"query": {"kind": "HogQLQuery", "query": "SELECT n FROM orders_daily"}}
        )
        third = run_cycle(settings, options)
        assert [(f["rule"], f["node"]) for f in third.new] == [("downstream-of-broken", "constant")]
        assert third.resolved == ()
        assert receiver.bodies[-1]["findings"][0]["node"] == "constant"

        # The failing view is fixed by a successful run: its findings resolve, once.
        # (orders, stale since the 23rd, runs too: then nothing upstream of the readers is broken.)
        before = {(f["rule"], f["node"]) for f in WatchState.load(options.state_path).announced.values()}
        sim.warehouse.run(VIEW_IDS["orders"], {})
        sim.warehouse.run(VIEW_IDS["orders_daily"], {})
        httpx.post(f"{sim.url}/_sim/clock", json={"advance": 60}).raise_for_status()
        fourth = run_cycle(settings, options)
        cleared = {(f["rule"], f["node"]) for f in fourth.resolved}
        now_found = {(f.rule, f.node) for f in check(LineageGraph.load(tmp_path / "snap.json")).findings}
        assert cleared == before - now_found
        assert ("failing", "orders_daily") in cleared
        assert ("downstream-of-broken", "revenue_report") in cleared
        assert ("downstream-of-broken", "constant") in cleared
        assert fourth.new == ()
        fifth = run_cycle(settings, options)
        assert fifth.new == () and fifth.resolved == ()
        assert len(receiver.bodies) == 3
        assert sorted(receiver.resolved()) == sorted(cleared)
        assert len(receiver.keys()) == len(set(receiver.keys()))  # nothing announced twice


def test_consumers_are_read_every_n_cycles_and_carried_between(
    small_fixture: dict[str, Any], tmp_path: Path
) -> None:
    fixture = failing_fixture(small_fixture)
    fixture["insights"] = [
        {"id": 1, "short_id": "ins1", "name": "Daily orders", "saved": True,
         "query": {"kind": "HogQLQuery", "query": "SELECT n FROM orders_daily"}}
    ]  # fmt: skip
    fixture["dashboards"] = [{"id": 10, "name": "Ops"}]
    fixture["dashboard_tiles"] = [{"id": 1, "dashboard_id": 10, "insight_id": 1}]
    with serve_in_thread(fixture, era="e2") as sim:
        options = WatchOptions(snapshot=tmp_path / "snap.json", consumers_every=3)
        settings = settings_for(sim.url)
        printed: list[str] = []
        results = [run_cycle(settings, options, printer=printed.append) for _ in range(4)]
        assert all(r.ok for r in results)
        read = [r.hogql_queries for r in results]
        # Cycles 1 and 4 read the consumers (a few more queries); 2 and 3 carry them over.
        assert read[0] > read[1] and read[1] == read[2] and read[3] > read[2], read
        g = LineageGraph.load(tmp_path / "snap.json").nx
        assert g.has_edge(VIEW_IDS["orders_daily"], "insight:ins1") and g.has_edge(
            "insight:ins1", "dashboard:10"
        )
        failing = next(f for f in json.loads(printed[0])["findings"] if f["rule"] == "failing")
        assert failing["downstream"] == {
            "dashboard": ["Ops"], "insight": ["Daily orders"], "views": ["revenue_report"],
        }  # fmt: skip
        state = WatchState.load(options.state_path)
        assert state.consumers_at == 3 and state.consumer_cost == read[3] - read[2]


def test_a_failing_webhook_loses_nothing(
    small_fixture: dict[str, Any], tmp_path: Path, receiver: Receiver
) -> None:
    with serve_in_thread(failing_fixture(small_fixture), era="e2") as sim:
        options = WatchOptions(snapshot=tmp_path / "snap.json", webhook=receiver.url)
        settings = settings_for(sim.url)
        receiver.status = 500
        first = run_cycle(settings, options)
        assert first.crawled and first.delivered == 0 and first.undelivered == 1 and not first.ok
        assert any("answered 500" in note for note in first.notes)
        state = WatchState.load(options.state_path)
        assert len(state.outbox) == 1
        announced = {(f["rule"], f["node"]) for f in state.outbox[0]["findings"]}
        # The webhook answers again: the held message arrives, once, and nothing is announced twice.
        receiver.status = 200
        second = run_cycle(settings, options)
        assert second.ok and second.delivered == 1 and second.new == ()
        assert set(receiver.keys()) == announced and len(receiver.keys()) == len(announced)
        assert WatchState.load(options.state_path).outbox == []


def test_a_failed_crawl_is_reported_once_and_retried(small_fixture: dict[str, Any], tmp_path: Path) -> None:
    dead = settings_for("http://127.0.0.1:9")  # discard port: nothing listens
    options = WatchOptions(snapshot=tmp_path / "snap.json", retries=0)
    printed: list[str] = []
    first = run_cycle(dead, options, printer=printed.append)
    assert first.error and not first.crawled and first.notes == ()
    second = run_cycle(dead, options, printer=printed.append)
    assert second.error and "not reported again" in second.notes[0]
    assert "phx_all" not in (first.error or "")
    assert not (tmp_path / "snap.json").exists() and printed == []
    # The same state works once the server is reachable (a new port, so a new host: a new state file).
    with serve_in_thread(small_fixture, era="e2") as sim:
        ok = run_cycle(
            settings_for(sim.url), WatchOptions(snapshot=tmp_path / "live.json"), printer=printed.append
        )
        assert ok.ok and len(printed) == 1 and json.loads(printed[0])["findings"]


def test_budget_skips_a_cycle_that_would_overspend(small_fixture: dict[str, Any], tmp_path: Path) -> None:
    with serve_in_thread(small_fixture, era="e2") as sim:
        options = WatchOptions(snapshot=tmp_path / "snap.json", hogql_budget=5, edges="system")
        settings = settings_for(sim.url)
        clock = [1_000_000.0]
        first = run_cycle(settings, options, printer=lambda _: None, wall_clock=lambda: clock[0])
        assert first.crawled and first.hogql_queries >= 1
        state = WatchState.load(options.state_path)
        assert state.cycle_cost == first.hogql_queries
        if first.hogql_queries * 2 > 5:
            clock[0] += 60
            skipped = run_cycle(settings, options, printer=lambda _: None, wall_clock=lambda: clock[0])
            assert skipped.skipped and "budget" in skipped.skipped and not skipped.crawled
        clock[0] += 3601  # an hour later the budget is free again
        later = run_cycle(settings, options, printer=lambda _: None, wall_clock=lambda: clock[0])
        assert later.crawled and later.skipped is None


def test_budget_plan_and_every() -> None:
    # 4 queries a cycle plus 5 for the consumers every 6th: 4.83 on average, 8 cycles in 40 queries.
    assert budget_plan(40, None) == (4, 450)
    assert budget_plan(40, 3, 5, 5) == (3, 360)  # 4 on average: 10 an hour
    assert budget_plan(2, 5) == (5, 3600)  # one cycle an hour at least
    assert parse_every("15m") == 900 and parse_every("2h") == 7200 and parse_every("30s") == 30
    for bad in ("", "15", "m", "0m", "1.5h", "-3m"):
        with pytest.raises(InputError, match="every"):
            parse_every(bad)
    with pytest.raises(InputError, match="min_severity"):
        WatchOptions(snapshot=Path("x.json"), min_severity="fatal")
    with pytest.raises(InputError, match="webhook"):
        WatchOptions(snapshot=Path("x.json"), webhook="ftp://example.com")


def test_message_escapes_names_for_slack() -> None:
    item = {
        "rule": "failing",
        "severity": "error",
        "node_id": "n1",
        "node": "<!channel> & <https://evil|click>",
        "message": "1 failed run(s) in a row: <b>",
        "since": "2026-11-25T00:00:00Z",
        "downstream": {"views": ["<@U123>"]},
        "url": None,
    }
    text = format_message([item], [])["text"]
    assert "<!channel>" not in text and "<@U123>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in text


def _cli(url: str, tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "lineage", "watch", "--host", url, "--project", "1",
        "--snapshot", str(tmp_path / "snap.json"), *extra,
    ]  # fmt: skip


def test_cli_once_and_kill_between_cycles(
    small_fixture: dict[str, Any], tmp_path: Path, receiver: Receiver
) -> None:
    env = {**os.environ, "POSTHOG_PERSONAL_API_KEY": "phx_all"}
    with serve_in_thread(failing_fixture(small_fixture), era="e2") as sim:
        done = subprocess.run(
            _cli(sim.url, tmp_path, "--once", "--webhook", receiver.url),
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout == "" and "HogQL budget 40/hour" in done.stderr
        assert "phx_all" not in done.stdout + done.stderr
        first = list(receiver.keys())
        assert first
        # A long-running watcher, killed with SIGKILL while it sleeps between cycles.
        proc = subprocess.Popen(
            _cli(sim.url, tmp_path, "--every", "1h", "--webhook", receiver.url),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        state_path = tmp_path / "snap.json.watch.json"
        while time.monotonic() < deadline and WatchState.load(state_path).cycles < 2:
            time.sleep(0.1)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert WatchState.load(state_path).cycles == 2
        done = subprocess.run(
            _cli(sim.url, tmp_path, "--once", "--webhook", receiver.url),
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert receiver.keys() == first  # nothing lost, nothing repeated
        # SIGTERM stops a long-running watcher cleanly.
        proc = subprocess.Popen(
            _cli(sim.url, tmp_path, "--every", "1h"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        while time.monotonic() < deadline and WatchState.load(state_path).cycles < 4:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "SIGTERM" in err and "stopped" in err


def test_cli_prints_without_webhook_and_refuses_bad_input(
    small_fixture: dict[str, Any], tmp_path: Path
) -> None:
    runner = CliRunner()
    with serve_in_thread(failing_fixture(small_fixture), era="e2") as sim:
        args = ["watch", "--host", sim.url, "--project", "1", "--api-key", "phx_all"]
        result = runner.invoke(main, [*args, "--once", "--snapshot", str(tmp_path / "s.json")])
        assert result.exit_code == 0, result.output
        messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        assert len(messages) == 1 and {"text", "findings", "resolved"} <= set(messages[0])
        for bad, word in (
            (["--once", "--every", "1h"], "--once or --every"),
            (["--every", "soon"], "--every"),
            (["--webhook", "file:///etc/passwd", "--once"], "--webhook"),
        ):
            result = runner.invoke(main, [*args, *bad, "--snapshot", str(tmp_path / "s.json")])
            assert result.exit_code == 2 and word in result.output, (bad, result.output)
        (tmp_path / "other.json").write_text('{"format": "something-else"}')
        result = runner.invoke(main, [*args, "--once", "--state", str(tmp_path / "other.json")])
        assert result.exit_code == 2 and "not a lineage watch state" in result.output
