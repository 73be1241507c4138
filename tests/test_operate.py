"""Operating the warehouse (issue 14): run, materialize, revert, cancel, resume, jobs, history, folders,
against the simulator over loopback (era E3, the newest PostHog, given explicitly)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.cli import main
from lineage.operate import assign_waves
from lineage.sim.server import ServerHandle, serve_in_thread

KEY = "phx_all"
UUIDS = {n: f"0190c1f2-0000-7000-8000-{i:012x}" for i, n in enumerate("abcpxyq", start=0xE01)}


def _view(name: str, parents: list[str], *, mat: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "id": UUIDS[name],
        "name": name,
        "query": "SELECT * FROM " + parents[0],  # noqa: S608 (fixture text, no database)
        "parents": parents,
        "is_materialized": mat,
        "sync_frequency": "24hour" if mat else None,
        "status": "Completed" if mat else None,
        "run_seconds": 0.3,
        **extra,
    }


def fixture(**overrides: dict[str, Any]) -> dict[str, Any]:
    """a -> b, a -> p (plain) -> c, x -> y (another branch), q plain off events."""
    views = [
        _view("a", ["stripe_charge"], folder="Finance"),
        _view("b", ["a"], folder="Finance"),
        _view("p", ["a"], mat=False),
        _view("c", ["p"]),
        _view("x", ["events"]),
        _view("y", ["x"]),
        _view("q", ["events"], mat=False),
    ]
    for view in views:
        view.update(overrides.get(view["name"], {}))
    return {
        "format": "lineage-sim-fixture/1",
        "team_id": 1,
        "now": "2026-11-26T00:00:00Z",
        "api_keys": [{"key": KEY, "scopes": ["*"]}, {"key": "phx_read", "scopes": ["warehouse_view:read"]}],
        "users": [{"id": 1, "first_name": "Ada", "email": "ada@example.com"}],
        "folders": [
            {"id": "0190c1f2-0000-7000-8000-00000000f001", "name": "Finance"},
            {"id": "0190c1f2-0000-7000-8000-00000000f002", "name": "Empty"},
        ],
        "tables": [
            {"name": "events", "kind": "posthog"},
            {"id": "0190c1f2-0000-7000-8000-00000000aa01", "name": "stripe_charge", "kind": "warehouse"},
        ],
        "views": views,
    }


class Env:
    def __init__(self, handle: ServerHandle, snapshot: Path) -> None:
        self.handle = handle
        self.url = handle.url
        self.snapshot = snapshot
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def cli(self, *args: str, key: str = KEY) -> Result:
        snap = (
            []
            if args[:2]
            in (("folders", "ls"), ("folders", "create"), ("folders", "rename"), ("folders", "rm"))
            else ["--snapshot", str(self.snapshot)]
        )
        full = [*args, *snap, "--host", self.url, "--project", "1", "--api-key", key]
        return CliRunner().invoke(main, full)

    def stats(self) -> dict[str, Any]:
        return dict(self.http.get("/_sim/stats").json())

    def writes(self) -> dict[str, int]:
        return {k: v for k, v in self.stats()["by_route"].items() if not k.startswith(("GET", "HEAD"))}

    def reset(self) -> None:
        self.http.post("/_sim/reset", json={"throttles": True})

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(
            f"/api/projects/1/{path}", params=params, headers={"Authorization": f"Bearer {KEY}"}
        )
        r.raise_for_status()
        return r.json()

    def view(self, name: str) -> dict[str, Any]:
        return dict(self.get(f"warehouse_saved_queries/{UUIDS[name]}/"))

    def jobs(self, name: str) -> list[dict[str, Any]]:
        return list(self.get("data_modeling_jobs/", saved_query_id=UUIDS[name], limit=100)["results"])


def make_env(tmp_path: Path, fx: dict[str, Any], era: str = "e3") -> Iterator[Env]:
    with serve_in_thread(fx, era=era) as handle:
        snap = tmp_path / "snapshot.json"
        crawled = CliRunner().invoke(
            main,
            [
                "crawl",
                "--all",
                "--edges",
                "sql",
                "--out",
                str(snap),
                "--host",
                handle.url,
                "--project",
                "1",
                "--api-key",
                KEY,
            ],
        )
        assert crawled.exit_code == 0, crawled.output
        env = Env(handle, snap)
        env.reset()
        yield env
        env.http.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, fixture())


def test_run_plan_changes_nothing_and_is_in_waves(env: Env) -> None:
    result = env.cli("run", "a+ x+", "--format", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    waves = {s["name"]: s["wave"] for s in plan["steps"]}
    # c reads a through the plain view p: it waits for a, as b does
    assert waves == {"a": 1, "x": 1, "b": 2, "c": 2, "y": 2}
    assert plan["checked"] is True and plan["dry_run"] is True
    assert all(set(s) >= {"id", "name", "wave"} for s in plan["steps"])
    assert env.writes() == {}
    assert env.stats()["throttled"] == 0
    text = env.cli("run", "a+")
    assert "nothing changed: add --yes" in text.stdout and env.writes() == {}


def test_run_yes_runs_exactly_the_plan_in_dependency_order(env: Env) -> None:
    result = env.cli("run", "a+ x+", "--yes", "--poll", "0.05", "--parallel", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {s["name"]: s["status"] for s in report["steps"]} == dict.fromkeys("abcxy", "Completed")
    runs = {k: v for k, v in env.writes().items()}
    assert runs == {"POST /api/projects/{team_id}/warehouse_saved_queries/{id}/run/": 5}
    first = {n: env.jobs(n)[0] for n in "abcxy"}
    assert not env.jobs("p") and not env.jobs("q")
    for parent, child in (("a", "b"), ("a", "c"), ("x", "y")):
        assert first[child]["created_at"] >= first[parent]["last_run_at"]
    # independent branches ran side by side: x started before a finished
    assert first["x"]["created_at"] < first["a"]["last_run_at"]
    assert env.stats()["throttled"] == 0


def test_a_failing_branch_skips_only_its_descendants(tmp_path: Path) -> None:
    fx = fixture(a={"fail_runs": True, "latest_error": "stripe is down"})
    for e in make_env(tmp_path, fx):
        result = e.cli("run", "a+ x+", "--yes", "--poll", "0.05", "--format", "json")
        assert result.exit_code == 1, result.output
        status = {s["name"]: s["status"] for s in json.loads(result.stdout)["steps"]}
        assert status == {"a": "Failed", "b": "Skipped", "c": "Skipped", "x": "Completed", "y": "Completed"}
        assert not e.jobs("b") and not e.jobs("c")  # skipped views were never started
        text = e.cli("run", "a+", "--yes", "--poll", "0.05")
        assert "Skipped" in text.stdout and "did not complete" in text.output


def test_plan_flags_a_view_failing_three_times_in_a_row(tmp_path: Path) -> None:
    fx = fixture(b={"status": "Failed", "latest_error": "boom"})
    fx["jobs"] = [
        {"view": "b", "status": "Failed", "error": "boom", "created_at": f"2026-11-25T0{i}:00:00Z"}
        for i in range(3)
    ]
    for e in make_env(tmp_path, fx):
        result = e.cli("run", "a+")
        assert result.exit_code == 0, result.output
        line = next(
            line for line in result.stdout.splitlines() if line.strip().endswith("]") and " b " in f"{line} "
        )
        assert "failing" in line and "failed 3 times in a row" in line
        plan = json.loads(e.cli("run", "a+", "--format", "json").stdout)
        flags = {s["name"]: s["flags"] for s in plan["steps"]}
        assert flags["a"] == [] and "failed 3 times in a row" in flags["b"]


def test_incremental_views_downstream_get_a_full_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage.sim import state

    original = state.Warehouse._full

    def with_incremental(self: Any, view: Any) -> dict[str, Any]:
        out = original(self, view)
        out["is_incremental"] = view.name in ("b", "a")
        return out

    monkeypatch.setattr(state.Warehouse, "_full", with_incremental)
    bodies: list[tuple[str, Any]] = []
    original_run = state.Warehouse.run

    def spy(self: Any, view_id: str, body: Any) -> None:
        bodies.append((self._views[view_id].name, body))
        original_run(self, view_id, body)

    monkeypatch.setattr(state.Warehouse, "run", spy)
    for e in make_env(tmp_path, fixture()):
        plan = e.cli("run", "a+")
        assert "b  (full refresh)" in plan.stdout and "a  (full refresh)" not in plan.stdout
        assert e.cli("run", "a+", "--yes", "--poll", "0.05").exit_code == 0
        assert dict(bodies) == {"a": {}, "b": {"full_refresh": True}, "c": {}}
        bodies.clear()
        assert e.cli("run", "a", "--yes", "--poll", "0.05", "--full-refresh").exit_code == 0
        assert bodies == [("a", {"full_refresh": True})]


def test_unknown_or_deleted_view_is_exit_2(env: Env) -> None:
    bad = env.cli("run", "nosuch")
    assert bad.exit_code == 2 and "nosuch" in bad.output
    # deleted in PostHog after the crawl: confirmed live before acting
    r = env.http.delete(
        f"/api/projects/1/warehouse_saved_queries/{UUIDS['y']}/", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert r.status_code == 204
    gone = env.cli("run", "y", "--yes")
    assert gone.exit_code == 2 and "no longer exists" in gone.output
    assert env.writes() == {"DELETE /api/projects/{team_id}/warehouse_saved_queries/{id}/": 1}


def test_materialize_revert_plan_then_yes(env: Env) -> None:
    plan = env.cli("materialize", "q", "--every", "6hour")
    assert plan.exit_code == 0 and "materialize every 6hour" in plan.stdout
    assert env.writes() == {}
    done = env.cli("materialize", "q", "--every", "6hour", "--yes", "--format", "json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["ok"] is True
    view = env.view("q")
    assert view["is_materialized"] is True and view["sync_frequency"] == "6hour"
    # revert acts on materialized views only: the selection q+ is q alone here
    reverted = env.cli("revert", "x", "--yes")
    assert reverted.exit_code == 0, reverted.output
    assert env.view("x")["is_materialized"] is False
    assert env.view("y")["is_materialized"] is True
    assert env.stats()["throttled"] == 0


def test_materialize_outside_the_bounds_is_refused(env: Env) -> None:
    # a is read by b (daily): a weekly a would leave b reading stale data
    bounds = env.view("a")["sync_frequency_bounds"]
    assert bounds["ceiling"]["label"] == "1 day"
    assert [o["cadence"] for o in bounds["options"] if not o["allowed"]] == ["7day", "30day"]
    refused = env.cli("materialize", "a", "--every", "7day", "--yes")
    assert refused.exit_code == 3
    assert "Can't refresh every 7 days: b refreshes every 1 day. Pick 1 day instead." in refused.output


def test_cancel_and_resume(env: Env, tmp_path: Path) -> None:
    # the newest PostHog refuses personal keys on cancel (posthog-api-3.md section 3): exit 3, said
    refused = env.cli("cancel", "a", "--yes")
    assert refused.exit_code == 3 and "personal API key" in refused.output
    for e2 in make_env(tmp_path / "e2", fixture(a={"run_seconds": 120}), era="e2"):
        assert e2.cli("cancel", "a", "--yes").exit_code == 3  # nothing runs: PostHog refuses
        e2.http.post(
            f"/api/projects/1/warehouse_saved_queries/{UUIDS['a']}/run/",
            headers={"Authorization": f"Bearer {KEY}"},
        )
        cancelled = e2.cli("cancel", "a", "--yes", "--format", "json")
        assert cancelled.exit_code == 0, cancelled.output
        assert e2.view("a")["status"] == "Cancelled"
    resumed = env.cli("resume", "a b", "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert env.writes()["POST /api/projects/{team_id}/warehouse_saved_queries/{id}/resume/"] == 2


def test_jobs_filters_and_formats(env: Env) -> None:
    assert env.cli("run", "x+", "--yes", "--poll", "0.05").exit_code == 0
    listed = env.cli("jobs", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["view"] for r in rows] == ["y", "x"]  # newest first
    assert {
        "id",
        "view_id",
        "view",
        "status",
        "rows_materialized",
        "error",
        "created_at",
        "last_run_at",
        "duration_s",
    } <= set(rows[0])
    assert all(r["duration_s"] is not None and r["duration_s"] > 0 for r in rows)
    only = json.loads(env.cli("jobs", "--select", "y", "--format", "json").stdout)
    assert [r["view"] for r in only] == ["y"]
    assert json.loads(env.cli("jobs", "--status", "Failed", "--format", "json").stdout) == []
    assert json.loads(env.cli("jobs", "--running", "--format", "json").stdout) == []
    csv = env.cli("jobs", "--format", "csv").stdout
    assert csv.splitlines()[0].startswith("id,view_id,view,status")
    assert env.cli("jobs", "--since", "soon").exit_code == 2
    # the window counts back from the simulator's clock (fixture time), not this machine's
    assert len(json.loads(env.cli("jobs", "--since", "1h", "--format", "json").stdout)) == 2
    env.http.post("/_sim/clock", json={"advance": 7200})
    assert json.loads(env.cli("jobs", "--since", "1h", "--format", "json").stdout) == []
    history = json.loads(env.cli("history", "x", "--format", "json").stdout)
    assert [h["status"] for h in history["run_history"]] == ["Completed"]


def test_folders(env: Env) -> None:
    listed = json.loads(env.cli("folders", "ls", "--format", "json").stdout)
    assert [(f["name"], f["view_count"]) for f in listed] == [("Empty", 0), ("Finance", 2)]
    assert env.cli("folders", "create", "Ops").exit_code == 0
    assert env.cli("folders", "rename", "Ops", "Operations").exit_code == 0
    plan = env.cli("folders", "move", "x+", "--to", "Operations")
    assert plan.exit_code == 0 and "add --yes" in plan.stdout
    assert "PATCH /api/projects/{team_id}/warehouse_saved_queries/{id}/" not in env.writes()
    assert env.cli("folders", "move", "x+", "--to", "Operations", "--yes").exit_code == 0
    assert env.view("y")["folder_name"] == "Operations"
    refused = env.cli("folders", "rm", "Operations")
    assert refused.exit_code == 2 and "x, y" in refused.output
    assert env.view("x")["deleted"] is False
    assert env.cli("folders", "rm", "Empty").exit_code == 0
    names = [f["name"] for f in json.loads(env.cli("folders", "ls", "--format", "json").stdout)]
    assert names == ["Finance", "Operations"]
    assert env.cli("folders", "rm", "Nope").exit_code == 2


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_waves_respect_every_dependency_on_random_dags(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=14))
    edges = data.draw(
        st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] < e[1]))
    )
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(str(i) for i in range(n))
    graph.add_edges_from((str(u), str(v)) for u, v in edges)
    chosen = data.draw(st.sets(st.sampled_from(sorted(graph.nodes))))
    waves = assign_waves(graph, chosen)
    assert set(waves) == chosen
    for node in chosen:
        wave, ups = waves[node]
        assert ups == nx.ancestors(graph, node) & chosen
        for up in ups:
            assert wave > waves[up][0]
        # as early as possible: one more than the deepest chosen ancestor
        assert wave == 1 + max((waves[u][0] for u in ups), default=0)


def test_snapshot_from_the_environment(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_SNAPSHOT", str(env.snapshot))
    result = CliRunner().invoke(main, ["ls", "--format", "json"])
    assert result.exit_code == 0, result.output
    names = [r["name"] for r in json.loads(result.stdout)]
    assert names == sorted(names) and {"a", "b", "c", "p", "q", "x", "y"} <= set(names)


def test_ctrl_c_cancels_the_runs_it_started(tmp_path: Path) -> None:
    fx = fixture(a={"run_seconds": 60}, x={"run_seconds": 60})
    for e in make_env(tmp_path, fx, era="e2"):  # E2: cancel accepts personal keys
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lineage",
                "run",
                "a+ x+",
                "--yes",
                "--poll",
                "0.1",
                "--snapshot",
                str(e.snapshot),
                "--host",
                e.url,
                "--project",
                "1",
                "--api-key",
                KEY,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(e.get("data_modeling_jobs/")["results"]) < 2:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "interrupted; cancelled the runs of a, x" in err
        assert "did not start b, c, y" in err
        assert e.view("a")["status"] == "Cancelled" and e.view("x")["status"] == "Cancelled"
        assert KEY not in out + err


def _many_jobs(n: int) -> list[dict[str, Any]]:
    return [
        {
            "view": "x",
            "status": "Completed" if i % 2 else "Failed",
            "created_at": f"2026-11-2{i // 24}T{i % 24:02d}:00:00Z",
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("era", ["e2", "e3"])
def test_client_reads_both_jobs_pagination_shapes(era: str) -> None:
    from lineage.api import PostHogClient
    from lineage.config import Settings

    fx = fixture()
    fx["jobs"] = _many_jobs(130)
    with serve_in_thread(fx, era=era) as handle:
        raw = httpx.get(
            f"{handle.url}/api/projects/1/data_modeling_jobs/", headers={"Authorization": f"Bearer {KEY}"}
        ).json()
        if era == "e3":  # limit/offset, 10 by default, with count (posthog-api-3.md section 2)
            assert raw["count"] == 130 and len(raw["results"]) == 10 and "offset=10" in raw["next"]
            capped = httpx.get(
                f"{handle.url}/api/projects/1/data_modeling_jobs/",
                params={"limit": 1000, "status": "Failed"},
                headers={"Authorization": f"Bearer {KEY}"},
            ).json()
            assert len(capped["results"]) == 65 and capped["count"] == 65
            assert {j["status"] for j in capped["results"]} == {"Failed"}
        else:  # cursor, no count
            assert "count" not in raw and "cursor=" in (raw["next"] or "cursor=")
        settings_ = Settings.resolve(host=handle.url, project="1", api_key=KEY, env={})
        with PostHogClient(settings_) as client:
            jobs = client.list_jobs()
            failed = list(client.iter_jobs(status="Failed"))
        assert len(jobs) == 130 and len({j.id for j in jobs}) == 130
        created = [j.created_at for j in jobs]
        assert created == sorted(created, reverse=True)
        assert len(failed) == 65 and {j.status for j in failed} == {"Failed"}


def test_scheduled_runs_on_the_simulated_clock_skip_below_a_failure(tmp_path: Path) -> None:
    fx = fixture(a={"fail_runs": True, "latest_error": "stripe is down"}, q={"is_materialized": False})
    for e in make_env(tmp_path, fx):
        assert not e.jobs("a")
        e.http.post("/_sim/clock", json={"advance": 3600})
        assert not e.jobs("a")  # a daily schedule waits a day
        e.http.post("/_sim/clock", json={"advance": 86400})
        # the run started when the day was over (a jump of the clock finds it finished)
        assert [j["status"] for j in e.jobs("a")] == ["Failed"]
        # b and c read a, whose run failed: PostHog's DAG run skips them
        assert [j["status"] for j in e.jobs("b")] == ["Skipped"]
        assert [j["status"] for j in e.jobs("c")] == ["Skipped"]
        assert [j["status"] for j in e.jobs("y")] == ["Completed"]
        assert not e.jobs("q")  # a plain view has no schedule
        assert e.get("data_modeling_jobs/", status="Skipped")["count"] == 2
        # a second day passed over in one jump: one run, not one per missed interval
        e.http.post("/_sim/clock", json={"advance": 86400 * 3})
        assert len(e.jobs("y")) == 2


def test_per_view_limits_are_kept_by_waiting_never_a_429() -> None:
    """Materialize/revert share 5 an hour per view and run allows 10 a minute: the client waits
    (here on the simulator's clock) and PostHog never has to refuse."""
    import asyncio

    from lineage.api import AsyncPostHogClient
    from lineage.config import Settings
    from lineage.operate import Plan, Step
    from lineage.operate.actions import apply_action
    from lineage.sim.app import create_app
    from lineage.sim.state import Warehouse

    app = create_app(Warehouse(fixture(), era="e3"))
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        app.state.sim.throttler.advance(seconds)
        app.state.sim.warehouse.clock.advance(seconds)

    s = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key=KEY, env={})
    step = Step(id=UUIDS["q"], name="q")

    async def main() -> list[Any]:
        async with AsyncPostHogClient(
            s, transport=httpx.ASGITransport(app=app), sleep=sleep, max_wait=4000
        ) as client:
            done = await apply_action(client, "materialize", Plan((step,) * 4), every="24hour")
            done += await apply_action(client, "revert", Plan((step,) * 3))
            for _ in range(12):
                await client.run(UUIDS["x"])
            return done

    outcomes = asyncio.run(main())
    assert all(o.ok for o in outcomes) and len(outcomes) == 7
    stats = app.state.sim.stats.snapshot()
    assert stats["throttled"] == 0
    assert stats["by_route"]["POST /api/projects/{team_id}/warehouse_saved_queries/{id}/run/"] == 12
    assert max(waited) > 600  # the sixth materialize/revert waited for the hour to roll on


def test_jobs_since_refuses_what_is_not_a_finite_duration() -> None:
    from lineage.errors import InputError as _InputError
    from lineage.operate.actions import parse_since

    assert parse_since("90m").total_seconds() == 5400 and parse_since("30").total_seconds() == 30
    for bad in ("inf", "nan", "1e400", "-3h", "0", "soon"):
        with pytest.raises(_InputError, match="is not a duration"):
            parse_since(bad)
