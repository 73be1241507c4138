"""What a new user tripped over (issue 14's list), each fixed and checked here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.graph import LineageGraph


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    g = LineageGraph(format="lineage-snapshot/1")
    g.add_node("events", name="events", kind="table")
    g.add_node("0190c1f2-0000-7000-8000-0000000000a1", name="orders", kind="matview", is_materialized=True)
    g.add_edge("events", "0190c1f2-0000-7000-8000-0000000000a1")
    path = tmp_path / "snap.json"
    g.save(path)
    return path


@pytest.mark.parametrize(
    "args",
    [["--out", "x.jpg"], ["--format", "svg", "--out", "x.png"], ["--format", "html", "--out", "x.svg"]],
)
def test_render_refuses_a_mismatched_extension(snapshot: Path, tmp_path: Path, args: list[str]) -> None:
    """Item 1: SVG written into a file named .jpg/.png was exit 0."""
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    result = CliRunner().invoke(main, ["render", "--snapshot", str(snapshot), *args])
    assert result.exit_code == 2, result.output
    assert "--out" in result.output
    assert not any(tmp_path.glob("x.*"))


def test_render_takes_the_format_from_a_known_extension(snapshot: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.dot"
    result = CliRunner().invoke(main, ["render", "--snapshot", str(snapshot), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("digraph")


def test_ls_without_select_lists_everything_by_name(snapshot: Path) -> None:
    """Items 2 and 3."""
    result = CliRunner().invoke(main, ["ls", "--snapshot", str(snapshot)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["name", "id"]
    assert [line.split()[0] for line in lines[1:]] == ["events", "orders"]


def test_snapshot_path_from_the_environment(snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 12."""
    monkeypatch.setenv("LINEAGE_SNAPSHOT", str(snapshot))
    result = CliRunner().invoke(main, ["ls", "--select", "orders"])
    assert result.exit_code == 0, result.output
    assert "orders" in result.stdout
    monkeypatch.setenv("LINEAGE_SNAPSHOT", str(snapshot) + ".missing")
    assert CliRunner().invoke(main, ["ls"]).exit_code == 2


def test_run_plan_offline_without_credentials(snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("POSTHOG_PROJECT_ID", "POSTHOG_PERSONAL_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(main, ["run", "orders", "--snapshot", str(snapshot)])
    assert result.exit_code == 0, result.output
    assert "wave 1  orders" in result.stdout and "not checked against PostHog" in result.stdout
    refused = CliRunner().invoke(main, ["run", "orders", "--snapshot", str(snapshot), "--yes"])
    assert refused.exit_code == 2 and "--project" in refused.output


def _crawl(url: str, team: int, key: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["crawl", *args, "--host", url, "--project", str(team), "--api-key", key])


def test_demo_crawls_explain_verify_and_diff_cleanly(tmp_path: Path) -> None:
    """Item 8 (--verify says why PostHog's count differs) and item 9 (no false rename of a ghost)."""
    from lineage.demo import demo_api_key
    from lineage.sim.demo import load_demo_fixture
    from lineage.sim.server import serve_in_thread

    fx = load_demo_fixture()
    key, team = demo_api_key(fx), fx["team_id"]
    api, system = tmp_path / "api.json", tmp_path / "system.json"
    with serve_in_thread(fx, era="e2") as handle:
        verified = _crawl(handle.url, team, key, "--all", "--edges", "api", "--verify", "--out", str(api))
        assert verified.exit_code == 0, verified.output
        line = next(x for x in verified.output.splitlines() if x.startswith("verify:"))
        assert "dependencies says" in line and "deleted" in line and "paths" in line
        assert (
            _crawl(handle.url, team, key, "--all", "--edges", "system", "--out", str(system)).exit_code == 0
        )
    diff = CliRunner().invoke(main, ["diff", str(api), str(system), "--format", "json"])
    assert diff.exit_code == 0, diff.output
    assert json.loads(diff.stdout)["renamed"] == []


def test_crawl_hints_name_posthog_not_a_snapshot(tmp_path: Path) -> None:
    """Item 4 (no snapshot to look in yet) and item 10 (--edges api refused: suggest sql or auto)."""
    from conftest import make_small_fixture

    from lineage.sim.server import serve_in_thread

    with serve_in_thread(make_small_fixture(), era="e3") as handle:
        out = str(tmp_path / "new" / "s.json")
        unknown = _crawl(handle.url, 1, "phx_read", "--select", "nosuch", "--out", out)
        assert unknown.exit_code == 2
        assert "snapshot" not in unknown.output and "PostHog lists" in unknown.output
        refused = _crawl(handle.url, 1, "phx_read", "--all", "--edges", "api", "--out", out)
        assert refused.exit_code == 3
        assert "--edges sql" in refused.output and "--edges auto" in refused.output
        assert "phx_read" not in refused.output


def test_refresh_and_run_plans_flag_a_view_failing_three_times(tmp_path: Path) -> None:
    """Item 11, offline: the snapshot's failure streak is enough."""
    g = LineageGraph(format="lineage-snapshot/1")
    a, b = "0190c1f2-0000-7000-8000-0000000000a1", "0190c1f2-0000-7000-8000-0000000000a2"
    g.add_node(a, name="orders", kind="matview", is_materialized=True, status="Completed")
    g.add_node(
        b,
        name="orders_daily",
        kind="matview",
        is_materialized=True,
        status="Failed",
        jobs={"runs": 3, "failures": 3, "failure_streak": 3, "last_status": "Failed"},
    )
    g.add_edge(a, b)
    path = tmp_path / "snap.json"
    g.save(path)
    text = CliRunner().invoke(main, ["refresh", "orders", "--snapshot", str(path)])
    assert text.exit_code == 0, text.output
    assert "orders_daily  [failing; failed 3 times in a row]" in text.stdout
    as_json = json.loads(
        CliRunner().invoke(main, ["refresh", "orders", "--snapshot", str(path), "--format", "json"]).stdout
    )
    assert as_json["flagged"] == {"orders_daily": ["failing", "failed 3 times in a row"]}
    planned = CliRunner().invoke(
        main, ["run", "orders+", "--snapshot", str(path), "--project", "", "--api-key", ""]
    )
    assert "orders_daily  [failing; failed 3 times in a row]" in planned.stdout


def test_a_host_without_a_scheme_gets_https() -> None:
    """Item 6: ``eu.posthog.com`` is https://eu.posthog.com, not five retries into an SSL error."""
    from lineage.config import Settings

    s = Settings.resolve(host="eu.posthog.com", project="1", api_key="phx_x", env={})
    assert s.host == "https://eu.posthog.com"
