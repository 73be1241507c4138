"""`lineage export`: GraphML, CSV and JSON of a snapshot or a selection."""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.cli import main
from lineage.demo import run_demo
from lineage.graph import _CSV_NODE_COLUMNS, LineageGraph, _canonical, _flatten, _plain
from lineage.io import csv_cell, csv_columns_text, csv_text


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


# -- the CSV export's fast paths against the general one --------------------------------------------


def _reference_flatten(record: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    # _flatten as it was first written: no caches, no fast paths
    out: dict[str, Any] = {}
    for key in sorted(record, key=str):
        value, name = record[key], f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_reference_flatten(value, f"{name}."))
        elif value is None:
            continue
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        else:
            out[name] = json.dumps(_canonical(value), ensure_ascii=False, sort_keys=True)
    return out


def _reference_csv(g: LineageGraph) -> tuple[str, str]:
    # to_csv as it was first written: a row of defused cells per node, the header from every row
    rows = [
        {k: csv_cell(v) for k, v in _reference_flatten({"id": n, **g.nx.nodes[n]}).items()} for n in g.nodes()
    ]
    header = [*_CSV_NODE_COLUMNS, *sorted({k for row in rows for k in row} - set(_CSV_NODE_COLUMNS))]
    nodes = csv_text(header, [[row.get(h, "") for h in header] for row in rows], defused=True)
    edges = csv_text(
        ("source", "target", "source_name", "target_name"),
        [tuple(map(csv_cell, (u, v, g.name_of(u), g.name_of(v)))) for u, v in sorted(g.nx.edges)],
        defused=True,
    )
    return nodes, edges


def _written_csv(g: LineageGraph) -> tuple[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        nodes, edges = g.to_csv(Path(tmp) / "n.csv", Path(tmp) / "e.csv")
        return nodes.read_text(encoding="utf-8"), edges.read_text(encoding="utf-8")


class _Text(str):
    pass


_ODD_TEXT = st.text(
    alphabet=st.sampled_from(
        ["a", "=", "+", "-", "@", ",", '"', "\\", "\n", "\r", "\t", "\x1b", "é", "\u202e", " "]
    ),
    max_size=5,
)
_ODD_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.integers(2**63, 2**70)
    | st.floats()
    | _ODD_TEXT
    | _ODD_TEXT.map(_Text)
)
_KEYS = st.sampled_from(["a", "a.b", "b", "jobs", "columns", "name", "", "é", "=x"])
_ODD_VALUES = st.recursive(
    _ODD_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(_KEYS | st.integers(0, 2), inner, max_size=3)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(0, 3), max_size=2)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.dictionaries(_KEYS, _ODD_VALUES, max_size=5), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=6),
    st.booleans(),
)
def test_csv_export_writes_what_the_general_path_writes(
    attrs: list[dict[str, Any]], edges: list[tuple[int, int]], odd_keys: bool
) -> None:
    # to_csv takes the nodes a column at a time (column kinds, C-level checks); any graph, with NaN,
    # huge ints, nested lists and dicts, non-ASCII, formula-leading and unprintable text, None, str
    # subclasses, names that collide ("a.b" beside "a": {"b": ...}), must come out as row by row
    g = LineageGraph()
    ids = [f"n{i}" if i % 2 else f"={i}\u202e" for i in range(len(attrs))]
    for node_id, values in zip(ids, attrs, strict=True):
        g.nx.add_node(node_id)
        g.nx.nodes[node_id].update(values)
    if odd_keys:  # a key that is not a string, and an "id" attribute, which wins over the node's id
        g.nx.nodes[ids[0]][3] = "three"
        g.nx.nodes[ids[-1]]["id"] = None
    for u, v in edges:
        if u < len(ids) and v < len(ids):
            g.nx.add_edge(ids[u], ids[v])
    assert _written_csv(g) == _reference_csv(g)


def test_csv_export_of_odd_columns_is_the_general_paths() -> None:
    g = LineageGraph()
    g.nx.add_node(
        "a", name="=cmd()", n=1, f=math.nan, ok=True, l=["x", 'y"'], jobs={"runs": 2, "h": [{"k": 1.5}]}
    )
    g.nx.add_node("b", name=None, n=None, f=2.5, ok=None, l=None, jobs=None, **{"jobs.runs": 7})
    g.nx.add_node("c", name="c\x1b", n=-3, f=None, ok=False, l=[], jobs={"runs": None, "h": []}, sql="a\nb,c")
    g.nx.add_node("d", n=True, f="text", ok=1, l=("t", 1), jobs="flat", sql=_Text("s"))
    g.add_edge("a", "b")
    g.add_edge("d", "a")
    nodes, edges = _written_csv(g)
    assert (nodes, edges) == _reference_csv(g)
    assert "'=cmd()" in nodes and "c\\x1b" in nodes and "jobs.runs" in nodes


def test_csv_export_of_mapping_attributes_and_tuple_ids_is_the_general_paths() -> None:
    from collections import OrderedDict

    g = LineageGraph()
    g.nx.add_node((1, "=x"), name="t")
    g.nx.add_node((0, "b"), name="u")
    g.nx.add_edge((0, "b"), (1, "=x"))
    g.nx._node[(0, "b")] = OrderedDict(name="u", rows=3)  # a dict subclass: the row-by-row path
    assert _written_csv(g) == _reference_csv(g)


def test_csv_export_of_a_crawled_warehouse_is_what_it_was_before() -> None:
    # first written by the row-at-a-time export of commit c20917e, before the column-at-a-time one;
    # written again with the other outputs there (tests/test_scale_outputs.py)
    golden = Path(__file__).parent / "golden" / "scale"
    nodes, edges = _written_csv(LineageGraph.load(golden / "snapshot.json"))
    assert nodes == (golden / "export.nodes.csv").read_text(encoding="utf-8")
    assert edges == (golden / "export.edges.csv").read_text(encoding="utf-8")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.text(alphabet=st.sampled_from(["a", ",", '"', "\n", "\r", "'", "é"]), max_size=4), min_size=1
        ),
        min_size=1,
        max_size=4,
    ).filter(lambda cols: len({len(c) for c in cols}) == 1)
)
def test_csv_columns_text_is_csv_text(columns: list[list[str]]) -> None:
    header = [f"h{i}" for i in range(len(columns))]
    assert csv_columns_text(header, columns) == csv_text(
        header, list(zip(*columns, strict=True)), defused=True
    )


def _reference_plain(items: list[Any]) -> bool:
    scalar = (str, int, bool, type(None))
    for item in items:
        if type(item) is dict:
            if not all(
                type(k) is str and (type(v) in scalar or (type(v) is float and math.isfinite(v)))
                for k, v in item.items()
            ):
                return False
        elif not (type(item) in scalar or (type(item) is float and math.isfinite(item))):
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        _ODD_SCALARS
        | st.dictionaries(
            _KEYS | st.integers(0, 2), _ODD_SCALARS | st.lists(st.integers(), max_size=1), max_size=3
        )
        | st.lists(st.integers(), max_size=1),
        max_size=4,
    )
)
def test_plain_says_what_a_look_at_every_value_says(items: list[Any]) -> None:
    assert _plain(items) == _reference_plain(items)
