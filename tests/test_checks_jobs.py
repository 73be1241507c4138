"""The job-statistics rules of check: failure streaks, rows and duration anomalies; diff --fail-on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from lineage.analysis.checks import AnomalyLimits, check, duration_anomaly, rows_anomaly
from lineage.analysis.diff import DIFF_KINDS, diff, diff_kind_counts, parse_diff_kinds
from lineage.cli import main
from lineage.errors import InputError
from lineage.graph import LineageGraph

LIMITS = AnomalyLimits()


def job(
    i: int, rows: int | None = 1000, minutes: int = 2, status: str = "Completed", **extra: Any
) -> dict[str, Any]:
    day = 10 + i
    return {
        "id": f"j{i}",
        "status": status,
        "rows": rows,
        "created_at": f"2026-11-{day}T00:00:00Z",
        "last_run_at": f"2026-11-{day}T00:{minutes:02d}:00Z",
        **extra,
    }


def test_rows_anomaly_needs_enough_history_and_a_real_drop() -> None:
    steady = [job(i) for i in range(4)]
    assert rows_anomaly([*steady, job(4, rows=400)], LIMITS) == (400, 1000.0)
    assert rows_anomaly([*steady, job(4, rows=500)], LIMITS) is None  # exactly half is not below half
    assert rows_anomaly([*steady[:2], job(4, rows=1)], LIMITS) is None  # two earlier runs are too few
    assert rows_anomaly([job(i, rows=0) for i in range(5)], LIMITS) is None  # an empty view stays empty
    # A failed newest run does not count as a run with few rows: the completed ones are compared.
    assert rows_anomaly([*steady, job(4, rows=0, status="Failed")], LIMITS) is None


def test_modes_are_not_mixed() -> None:
    full = [job(i, rows=100_000, run_mode="full_refresh") for i in range(4)]
    incremental = [job(4 + i, rows=50, run_mode="incremental") for i in range(2)]
    # An incremental run processes only new rows: not an anomaly against full refreshes.
    assert rows_anomaly([*full, *incremental], LIMITS) is None
    assert rows_anomaly([*full, job(9, rows=10, run_mode="full_refresh")], LIMITS) == (10, 100_000.0)


def test_duration_anomaly_uses_the_final_status_time() -> None:
    steady = [job(i, minutes=2) for i in range(4)]
    assert duration_anomaly([*steady, job(4, minutes=30)], LIMITS) == (1800.0, 120.0)
    assert duration_anomaly([*steady, job(4, minutes=5)], LIMITS) is None  # 2.5x is under the ratio
    # updated_at (newest PostHog: when the job reached its final status) wins over last_run_at.
    late = job(4, minutes=2, updated_at="2026-11-14T01:00:00Z")
    assert duration_anomaly([*steady, late], LIMITS) == (3600.0, 120.0)
    # A short job three times slower is noise below min_duration_s.
    quick = [job(i, minutes=0) | {"last_run_at": f"2026-11-{10 + i}T00:00:05Z"} for i in range(4)]
    assert (
        duration_anomaly([*quick, job(4, minutes=0) | {"last_run_at": "2026-11-14T00:00:20Z"}], LIMITS)
        is None
    )


@given(st.lists(st.integers(min_value=1, max_value=10**6), min_size=4, max_size=12), st.integers(0, 10**6))
def test_rows_anomaly_law(earlier: list[int], newest: int) -> None:
    history = [job(i, rows=r) for i, r in enumerate(earlier)] + [job(len(earlier), rows=newest)]
    found = rows_anomaly(history, LIMITS)
    import statistics

    median = statistics.median(list(reversed(earlier))[: LIMITS.window])
    assert (found is not None) == (newest < 0.5 * median)


def test_failure_streak_threshold_in_check() -> None:
    g = nx.DiGraph(crawled_at="2026-11-26T00:00:00Z")
    for name, streak in (("two", 2), ("three", 3), ("five", 5)):
        g.add_node(
            name,
            name=name,
            kind="matview",
            is_materialized=True,
            jobs={"last_status": "Failed", "failure_streak": streak},
        )
    found = {f.node for f in check(g, rules=["failure-streak"]).findings}
    assert found == {"three", "five"}
    found = {
        f.node
        for f in check(g, rules=["failure-streak"], anomaly_limits=AnomalyLimits(failure_streak=5)).findings
    }
    assert found == {"five"}


def _pair(tmp_path: Path) -> tuple[str, str]:
    old = nx.DiGraph(crawled_at="2026-11-25T00:00:00Z")
    old.add_node("t", name="events", kind="table")
    old.add_node("a", name="a", kind="matview", is_materialized=True, sync_frequency="24hour",
                 jobs={"last_status": "Completed", "last_success_at": "2026-11-24T23:00:00Z"})  # fmt: skip
    old.add_node("b", name="b", kind="view")
    old.add_edges_from([("t", "a"), ("a", "b")])
    new = old.copy()
    new.graph["crawled_at"] = "2026-11-26T00:00:00Z"
    new.nodes["a"]["jobs"] = {
        "last_status": "Failed",
        "failure_streak": 1,
        "last_success_at": "2026-11-24T23:00:00Z",
    }
    new.remove_edge("a", "b")
    new.add_edge("t", "b")
    return (
        str(LineageGraph(old).save(tmp_path / "old.json")),
        str(LineageGraph(new).save(tmp_path / "new.json")),
    )


def test_diff_kind_counts(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    counts = diff_kind_counts(diff(LineageGraph.load(old), LineageGraph.load(new)))
    assert set(counts) == set(DIFF_KINDS)
    assert counts["removed-edges"] == 1 and counts["added-edges"] == 1 and counts["new-failing"] == 1
    assert counts["added-nodes"] == counts["removed-nodes"] == counts["new-stale"] == 0
    assert parse_diff_kinds("any") == frozenset(DIFF_KINDS)
    with pytest.raises(InputError, match=r"did you mean 'removed-edges'"):
        parse_diff_kinds("removed-edge")
    with pytest.raises(InputError, match="names no kind"):
        parse_diff_kinds(" , ")


def test_cli_diff_fail_on(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["diff", old, new, "--fail-on", "removed-edges,new-failing"])
    assert result.exit_code == 1, result.output
    assert "1 new-failing, 1 removed-edges" in result.output
    result = runner.invoke(main, ["diff", old, new, "--fail-on", "added-nodes,new-stale"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["diff", old, old, "--fail-on", "any", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["edges_added"] == []
    result = runner.invoke(main, ["diff", old, new, "--fail-on", "everything"])
    assert result.exit_code == 2 and result.output.startswith("lineage: --fail-on names unknown kind")
