"""diff(): laws (diff(a, a) is empty, swapping arguments swaps added/removed) and each kind of change; CLI."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage import io as io_module
from lineage.analysis import diff
from lineage.analysis.diff import JOB_FIELDS, slim_for_diff
from lineage.analysis.health import graph_health
from lineage.cli import main
from lineage.errors import SnapshotError
from lineage.graph import LineageGraph
from lineage.report import diff_markdown


def job_summaries() -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "last_status": st.sampled_from([None, "Completed", "Failed", "Running"]),
            "last_success_at": st.sampled_from([None, "2026-11-25T23:00:00Z", "2026-11-01T00:00:00Z"]),
            "rows_last": st.sampled_from([None, 1312, 18696]),
            "failure_streak": st.integers(0, 3),
            "runs": st.integers(0, 5),
        },
    )


@st.composite
def graphs(draw: st.DrawFn) -> nx.DiGraph:
    ids = draw(st.lists(st.sampled_from([f"n{i}" for i in range(10)]), max_size=8, unique=True))
    g = nx.DiGraph(crawled_at="2026-11-26T00:00:00Z")
    for i in ids:
        g.add_node(
            i,
            name=draw(st.sampled_from([i, f"{i}_renamed"])),
            kind="view",
            sql=draw(st.sampled_from(["SELECT 1", "SELECT 2\nFROM t"])),
            sync_frequency=draw(st.sampled_from([None, "1hour", "24hour"])),
            is_materialized=draw(st.booleans()),
            jobs=draw(st.none() | job_summaries()),
        )
    for u in ids:
        for v in ids:
            if u < v and draw(st.booleans()):
                g.add_edge(u, v)
    return g


@settings(max_examples=80, deadline=None)
@given(graphs())
def test_diff_with_itself_is_empty(g: nx.DiGraph) -> None:
    d = diff(g, g)
    assert d.is_empty
    assert all(not v for k, v in d.to_dict().items() if k not in ("old", "new"))


@settings(max_examples=80, deadline=None)
@given(graphs(), graphs())
def test_swapping_arguments_swaps_added_and_removed(a: nx.DiGraph, b: nx.DiGraph) -> None:
    ab, ba = diff(a, b), diff(b, a)
    assert ab.nodes_added == ba.nodes_removed and ab.nodes_removed == ba.nodes_added
    assert ab.edges_added == ba.edges_removed and ab.edges_removed == ba.edges_added
    assert {(r.id, r.old, r.new) for r in ab.renamed} == {(r.id, r.new, r.old) for r in ba.renamed}
    assert {(c.id, c.field, c.old, c.new) for c in ab.changes} == {
        (c.id, c.field, c.new, c.old) for c in ba.changes
    }
    assert {s.id for s in ab.sql_changed} == {s.id for s in ba.sql_changed}
    assert [(c.id, c.field, c.old, c.new) for c in ab.jobs] == [
        (c.id, c.field, c.new, c.old) for c in ba.jobs
    ]
    assert {n.id for n in ab.nodes_added} == set(b.nodes) - set(a.nodes)
    assert {(e.source_id, e.target_id) for e in ab.edges_added} == set(b.edges) - set(a.edges)


def _with_unread_attributes(g: nx.DiGraph) -> nx.DiGraph:
    """``g`` with what a crawl adds and a diff does not read: descriptions, columns, run histories."""
    for n, attrs in g.nodes(data=True):
        attrs.update(description=f"about {n}", columns=["id", n], health="ok", upstream_count=3)
        if isinstance(attrs.get("jobs"), dict):
            attrs["jobs"]["history"] = [{"status": "Completed", "rows": 7, "id": f"{n}-run"}]
    return g


@settings(max_examples=80, deadline=None)
@given(graphs(), graphs())
def test_a_slimmed_graph_diffs_as_the_whole_one(a: nx.DiGraph, b: nx.DiGraph) -> None:
    a, b = _with_unread_attributes(a), _with_unread_attributes(b)
    whole = diff(a, b)
    slim_a, slim_b = slim_for_diff(a.copy()), slim_for_diff(b.copy())
    assert diff(slim_a, b) == whole and diff(a, slim_b) == whole and diff(slim_a, slim_b) == whole
    # slimmed: no run history; the graphs slimmed are copies, and .copy() shares the jobs dicts:
    # slimming replaces them, the originals keep theirs
    assert all("history" not in (attrs.get("jobs") or {}) for _, attrs in slim_b.nodes(data=True))
    assert all("history" in attrs["jobs"] for _, attrs in a.nodes(data=True) if attrs.get("jobs"))


@pytest.mark.parametrize("piece_bytes", [1, 200, 1 << 21])
def test_a_snapshot_loaded_with_low_memory_is_the_same_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece_bytes: int
) -> None:
    # low_memory parses lineage's own layout a piece of the node list at a time: one node a piece,
    # a few, all of them; the result is the document json.loads gives
    monkeypatch.setattr(io_module, "_PIECE_BYTES", piece_bytes)
    old, _ = _pair()
    path = LineageGraph(_with_unread_attributes(old)).save(tmp_path / "a.json")
    raw = path.read_bytes()
    assert io_module._loads_in_pieces(raw) == (True, json.loads(raw))
    fast, lean = LineageGraph.load(path), LineageGraph.load(path, low_memory=True)
    assert nx.utils.graphs_equal(fast.nx, lean.nx)
    assert fast.to_json() == lean.to_json()


def test_low_memory_reads_other_layouts_with_the_standard_library(tmp_path: Path) -> None:
    old, _ = _pair()
    data = json.loads(LineageGraph(old).to_json())
    for layout in ({"separators": (",", ":")}, {"indent": 4}, {"indent": 1, "sort_keys": True}):
        path = tmp_path / "other.json"
        path.write_text(json.dumps(data, **layout))  # type: ignore[arg-type]
        lean = LineageGraph.load(path, low_memory=True)
        assert lean.to_json() == LineageGraph.load(path).to_json()
    # a damaged file in lineage's layout is the error it always was, not a half-read graph
    text = LineageGraph(old).to_json()
    damaged = tmp_path / "damaged.json"
    damaged.write_text(text.replace('"kind": "view"', '"kind": "view",,', 1))
    assert io_module._loads_in_pieces(damaged.read_bytes()) == (False, None)
    with pytest.raises(SnapshotError, match="not valid JSON"):
        LineageGraph.load(damaged, low_memory=True)


def _raw_jobs(g: nx.DiGraph, n: str) -> dict[str, object]:
    jobs = g.nodes[n].get("jobs") or {}
    return {field: jobs.get(field) for field in JOB_FIELDS if field != "stale"}


@settings(max_examples=80, deadline=None)
@given(graphs(), graphs())
def test_job_changes_are_exactly_the_differing_job_results(a: nx.DiGraph, b: nx.DiGraph) -> None:
    d = diff(a, b)
    ha, hb = graph_health(a), graph_health(b)
    expected = set()
    for n in set(a.nodes) & set(b.nodes):
        old, new = _raw_jobs(a, n), _raw_jobs(b, n)
        old["stale"], new["stale"] = ha[n].stale, hb[n].stale
        expected |= {(n, f, old[f], new[f]) for f in JOB_FIELDS if old[f] != new[f]}
    assert {(c.id, c.field, c.old, c.new) for c in d.jobs} == expected
    assert len(d.jobs) == len(expected)
    order = list(JOB_FIELDS)
    keys = [(c.name, c.id, order.index(c.field)) for c in d.jobs]
    assert keys == sorted(keys)
    if d.jobs:
        assert not d.is_empty and d.to_dict()["jobs"]


def _pair() -> tuple[nx.DiGraph, nx.DiGraph]:
    old = nx.DiGraph(crawled_at="2026-11-25T00:00:00Z")
    old.add_node("events", name="events", kind="table")
    old.add_node(
        "u1",
        name="orders",
        kind="matview",
        is_materialized=True,
        sync_frequency="24hour",
        sql="SELECT id\nFROM events",
        status="Completed",
        jobs={"last_status": "Completed", "last_success_at": "2026-11-24T23:00:00Z"},
    )
    old.add_node("u2", name="old_name", kind="view", sql="SELECT * FROM orders")
    old.add_node("u3", name="gone", kind="view", sql="SELECT 1")
    old.add_edges_from([("events", "u1"), ("u1", "u2"), ("events", "u3")])
    new = nx.DiGraph(crawled_at="2026-11-26T00:00:00Z")
    new.add_node("events", name="events", kind="table")
    new.add_node(
        "u1",
        name="orders",
        kind="matview",
        is_materialized=True,
        sync_frequency="1hour",
        sql="SELECT id, amount\nFROM events",
        status="Failed",
        latest_error="boom",
        jobs={"last_status": "Failed", "failure_streak": 1},
    )
    new.add_node("u2", name="new_name", kind="view", sql="SELECT * FROM orders")
    new.add_node("u4", name="fresh", kind="view", sql="SELECT 2 FROM new_name")
    new.add_edges_from([("events", "u1"), ("u1", "u2"), ("u2", "u4")])
    return old, new


def test_each_kind_of_change() -> None:
    d = diff(*_pair())
    assert [n.name for n in d.nodes_added] == ["fresh"]
    assert [n.name for n in d.nodes_removed] == ["gone"]
    assert [(e.source, e.target) for e in d.edges_added] == [("new_name", "fresh")]
    assert [(e.source, e.target) for e in d.edges_removed] == [("events", "gone")]
    assert [(r.old, r.new) for r in d.renamed] == [("old_name", "new_name")]
    assert [s.name for s in d.sql_changed] == ["orders"]
    assert "-SELECT id\n+SELECT id, amount" in d.sql_changed[0].diff
    changes = {(c.name, c.field): (c.old, c.new) for c in d.changes}
    assert changes == {
        ("orders", "sync_frequency"): ("24hour", "1hour"),
        ("orders", "status"): ("Completed", "Failed"),
        ("orders", "health"): ("ok", "failing"),
    }
    frame = d.to_frame()
    assert set(frame["change"]) >= {"node added", "node removed", "renamed", "sql", "health"}


def test_materialization_change() -> None:
    old, new = _pair()
    new.nodes["u2"]["is_materialized"] = True
    assert ("new_name", "is_materialized", None, True) in {
        (c.name, c.field, c.old, c.new) for c in diff(old, new).changes
    }


def test_cli_diff(tmp_path: Path) -> None:
    old, new = _pair()
    a = LineageGraph(old).save(tmp_path / "a.json")
    b = LineageGraph(new).save(tmp_path / "b.json")
    runner = CliRunner()
    result = runner.invoke(main, ["diff", str(a), str(b), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [n["name"] for n in data["nodes_added"]] == ["fresh"]
    result = runner.invoke(main, ["diff", str(a), str(a)])
    assert result.exit_code == 0 and "No changes." in result.output
    out = tmp_path / "d.md"
    result = runner.invoke(main, ["diff", str(a), str(b), "--out", str(out)])
    assert result.exit_code == 0 and "## Renamed (1)" in out.read_text()
    result = runner.invoke(main, ["diff", str(a), str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert "missing.json" in result.output and "Traceback" not in result.output
    help_text = runner.invoke(main, ["diff", "--help"]).output
    assert "Example" in help_text


def test_job_changes_in_the_pair() -> None:
    d = diff(*_pair())
    assert [(c.name, c.field, c.old, c.new) for c in d.jobs] == [
        ("orders", "last_status", "Completed", "Failed"),
        ("orders", "last_success_at", "2026-11-24T23:00:00Z", None),
        ("orders", "failure_streak", None, 1),
        ("orders", "stale", False, True),
    ]
    frame = d.to_frame()
    assert set(frame["change"]) >= {"jobs.last_status", "jobs.stale"}


def _refreshed() -> tuple[nx.DiGraph, nx.DiGraph]:
    """Same views, same SQL and settings; a refresh re-ran ``orders`` and its row count fell."""
    graphs = []
    for crawled, success, rows in [
        ("2026-11-25T00:00:00Z", "2026-11-24T23:00:00Z", 18696),
        ("2026-11-26T00:00:00Z", "2026-11-25T23:30:00Z", 1312),
    ]:
        g = nx.DiGraph(crawled_at=crawled)
        g.add_node("events", name="events", kind="table")
        g.add_node(
            "u1",
            name="orders",
            kind="matview",
            is_materialized=True,
            sync_frequency="24hour",
            sql="SELECT id FROM events",
            status="Completed",
            jobs={
                "last_status": "Completed",
                "last_success_at": success,
                "rows_last": rows,
                "failure_streak": 0,
                "runs": 3,
            },
        )
        g.add_edge("events", "u1")
        graphs.append(g)
    return graphs[0], graphs[1]


def test_refresh_that_changed_rows_is_not_no_changes(tmp_path: Path) -> None:
    old, new = _refreshed()
    d = diff(old, new)
    assert not d.is_empty
    assert (d.nodes_added, d.changes, d.sql_changed, d.renamed) == ((), (), (), ())
    assert [asdict(c) for c in d.jobs] == [
        {
            "id": "u1",
            "name": "orders",
            "field": "last_success_at",
            "old": "2026-11-24T23:00:00Z",
            "new": "2026-11-25T23:30:00Z",
        },
        {"id": "u1", "name": "orders", "field": "rows_last", "old": 18696, "new": 1312},
    ]
    assert diff(new, new).is_empty and diff(old, old).jobs == ()
    a = LineageGraph(old).save(tmp_path / "a.json")
    b = LineageGraph(new).save(tmp_path / "b.json")
    runner = CliRunner()
    text = runner.invoke(main, ["diff", str(a), str(b)])
    assert text.exit_code == 0, text.output
    assert "No changes." not in text.output
    assert "## Jobs (2)\n\n| view | what | old | new |\n|---|---|---|---|\n" in text.output
    assert "| orders | rows (last run) | 18,696 | 1,312 |" in text.output
    assert "| orders | last success | 2026-11-24T23:00:00Z | 2026-11-25T23:30:00Z |" in text.output
    data = json.loads(runner.invoke(main, ["diff", str(a), str(b), "--format", "json"]).output)
    assert data["jobs"][1] == {"id": "u1", "name": "orders", "field": "rows_last", "old": 18696, "new": 1312}


def test_job_table_escapes_api_text_and_shows_flags() -> None:
    old, new = _refreshed()
    new.nodes["u1"]["name"] = "or|ders<script>"
    new.nodes["u1"]["jobs"]["last_status"] = "Fail`ed|x"
    # Hourly, last success 12 hours before the crawl: stale now, and it was not on a daily cadence.
    new.nodes["u1"]["sync_frequency"] = "1hour"
    new.nodes["u1"]["jobs"]["last_success_at"] = "2026-11-25T12:00:00Z"
    md = diff_markdown(diff(old, new))
    assert "| or\\|ders&lt;script&gt; | newest job status | Completed | Fail\\`ed\\|x |" in md
    assert "| or\\|ders&lt;script&gt; | stale | no | yes |" in md
    assert "<script>" not in md
