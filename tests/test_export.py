"""`lineage export`: GraphML, CSV and JSON of a snapshot or a selection."""

from __future__ import annotations

import csv
from pathlib import Path

import networkx as nx
from click.testing import CliRunner

from lineage.cli import main
from lineage.demo import run_demo
from lineage.graph import LineageGraph


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
