"""`lineage export`: GraphML, CSV and JSON of a snapshot or a selection."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.cli import main
from lineage.demo import run_demo
from lineage.graph import LineageGraph, _canonical, _flatten


def test_export_formats_round_trip(tmp_path: Path) -> None:
    demo = run_demo(tmp_path / "demo")
    snap = demo.out / "snapshot.json"
    full = LineageGraph.load(snap)
    runner = CliRunner()

    r = runner.invoke(
        main, ["export", "--snapshot", str(snap), "--format", "graphml", "--out", str(tmp_path / "g.graphml")]
    )
    assert r.exit_code == 0, r.output
    g = nx.read_graphml(tmp_path / "g.graphml")
    assert sorted(g.edges) == sorted(full.nx.edges)
    assert f"{full.nx.number_of_nodes()} nodes" in r.stdout

    sel = "+revenue_reconciliation"
    r = runner.invoke(
        main,
        [
            "export",
            "--snapshot",
            str(snap),
            "--select",
            sel,
            "--format",
            "csv",
            "--out",
            str(tmp_path / "part"),
        ],
    )
    assert r.exit_code == 0, r.output
    with (tmp_path / "part.nodes.csv").open() as fh:
        names = {row["name"] for row in csv.DictReader(fh)}
    assert "revenue_reconciliation" in names and len(names) < full.nx.number_of_nodes()
    with (tmp_path / "part.edges.csv").open() as fh:
        edges = list(csv.DictReader(fh))
    assert all(e["target_name"] for e in edges) and edges

    r = runner.invoke(
        main,
        [
            "export",
            "--snapshot",
            str(snap),
            "--select",
            sel,
            "--format",
            "json",
            "--out",
            str(tmp_path / "p.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    part = LineageGraph.load(tmp_path / "p.json")
    assert set(part.nx.nodes) < set(full.nx.nodes)
    assert all(full.nx.has_edge(u, v) for u, v in part.nx.edges)


def test_export_refuses_a_directory_and_a_bad_selector(tmp_path: Path) -> None:
    demo = run_demo(tmp_path / "demo")
    snap = str(demo.out / "snapshot.json")
    r = CliRunner().invoke(
        main, ["export", "--snapshot", snap, "--format", "graphml", "--out", str(tmp_path)]
    )
    assert r.exit_code == 2 and "is a directory" in r.stderr
    r = CliRunner().invoke(
        main,
        [
            "export",
            "--snapshot",
            snap,
            "--select",
            "nope_view",
            "--format",
            "json",
            "--out",
            str(tmp_path / "x.json"),
        ],
    )
    assert r.exit_code == 2 and "nope_view" in r.stderr and "Traceback" not in r.output


def test_export_out_dash_is_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    g = LineageGraph()
    g.add_node("a", name="a", kind="table")
    snap = str(g.save(tmp_path / "s.json"))
    monkeypatch.chdir(tmp_path)  # a file named "-" would land here
    runner = CliRunner()
    result = runner.invoke(main, ["export", "--snapshot", snap, "--format", "json", "--out", "-"])
    assert result.exit_code == 0, result.output
    assert LineageGraph.from_json_data(json.loads(result.stdout)).nodes() == ["a"]
    assert not (tmp_path / "-").exists()
    for fmt in ("csv", "graphml"):
        result = runner.invoke(main, ["export", "--snapshot", snap, "--format", fmt, "--out", "-"])
        assert result.exit_code == 2 and "takes --format json" in result.output
        assert not (tmp_path / "-").exists() and not (tmp_path / "-.nodes.csv").exists()


_SCALAR_VALUES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        _SCALAR_VALUES
        | st.dictionaries(
            st.text(max_size=3) | st.integers(0, 20) | st.booleans(), _SCALAR_VALUES, max_size=4
        )
        | st.lists(st.integers(), max_size=2)
        | st.sets(st.integers(), max_size=2),
        max_size=5,
    )
)
def test_a_list_cell_is_the_canonical_json_of_the_list(value: list[object]) -> None:
    # export writes plain lists (columns, run records) without _canonical's copy: the same text
    # for every list, NaN, non-string keys, sets and nested lists included
    expected = json.dumps(_canonical(value), ensure_ascii=False, sort_keys=True)
    assert _flatten({"cell": value})["cell"] == expected


def _csv_module_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.text(alphabet=st.sampled_from(["a", " ", ",", '"', "\n", "é", "'"]), max_size=6), max_size=4
        ),
        max_size=5,
    )
)
def test_csv_text_writes_what_the_csv_module_writes(rows: list[list[str]]) -> None:
    # csv_text joins rows itself (faster than csv.writer on long cells); the bytes must not change,
    # a row of one empty cell ('""') and cells with commas, quotes and newlines included.
    from lineage.io import csv_text

    header = ["h,1", 'h"2']
    assert csv_text(header, rows, defused=True) == _csv_module_text([header, *rows])
    assert list(csv.reader(io.StringIO(csv_text(header, rows, defused=True)))) == [header, *rows]
