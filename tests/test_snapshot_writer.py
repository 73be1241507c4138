"""LineageGraph.to_json_data / to_json / save take fast paths (key orders computed once per layout,
flat run records copied in C, orjson's bytes written as they are): they must give what the general
path, as first written, gives, on any graph."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.errors import InputError
from lineage.graph import LineageGraph

_NODE_KEY_ORDER = ("id", "name", "kind")
_GRAPH_KEY_ORDER = ("format", "host", "project", "crawled_at", "strategy", "requests", "seconds")


def _reference_canonical(value: Any) -> Any:
    # _canonical as it was first written
    if isinstance(value, Mapping):
        return {str(k): _reference_canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_reference_canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return [_reference_canonical(v) for v in sorted(value, key=str)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _reference_ordered(record: Mapping[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    out = {k: _reference_canonical(record[k]) for k in first if k in record}
    out.update((k, _reference_canonical(record[k])) for k in sorted(record) if k not in out)
    return out


def _reference_data(g: LineageGraph) -> dict[str, Any]:
    graph_attrs = {**g.nx.graph, "format": "lineage-snapshot/1"}
    nodes = [_reference_ordered({"id": n, **g.nx.nodes[n]}, _NODE_KEY_ORDER) for n in sorted(g.nx.nodes)]
    edges = []
    for u, v in sorted(g.nx.edges):
        attrs = {k: val for k, val in g.nx.edges[u, v].items() if k not in ("source", "target")}
        edges.append({"source": u, "target": v, **_reference_ordered(attrs, ())})
    return {
        "directed": True,
        "multigraph": False,
        "graph": _reference_ordered(graph_attrs, _GRAPH_KEY_ORDER),
        "nodes": nodes,
        "edges": edges,
    }


def _typed(value: Any) -> Any:
    # a value's structure with every type and every key order visible (== ignores both)
    if isinstance(value, dict):
        return ("dict", type(value), [(type(k), k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", type(value), [_typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value), value)


class _Text(str):
    pass


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.integers(2**63, 2**70)
    | st.floats()
    | st.sampled_from([1e-05, 1e-7, 0.0001, 1e16, -0.0])
    | st.text(max_size=4)
    | st.text(max_size=2).map(_Text)
    | st.just(datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    | st.just(date(2026, 1, 2))
)
_KEYS = st.sampled_from(["a", "b", "z", "runs", "é", "", "id", "name", "kind"])
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(st.dictionaries(_KEYS, _SCALARS, max_size=3), max_size=3)  # run records, any key order
        | st.dictionaries(_KEYS | st.integers(0, 2) | _KEYS.map(_Text), inner, max_size=3)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(0, 3), max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.dictionaries(_KEYS, _VALUES, max_size=5), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.dictionaries(_KEYS, _VALUES, max_size=2))),
    st.dictionaries(st.sampled_from(["host", "seconds", "zeta", "alpha"]), _VALUES, max_size=3),
)
def test_snapshot_data_is_what_the_general_path_makes(
    attrs: list[dict[str, Any]], edges: list[tuple[int, int, dict[str, Any]]], graph_attrs: dict[str, Any]
) -> None:
    g = LineageGraph(**graph_attrs)
    ids = [f"n{i}" for i in range(len(attrs))]
    for node_id, values in zip(ids, attrs, strict=True):
        g.nx.add_node(node_id)
        g.nx.nodes[node_id].update(values)
    for u, v, values in edges:
        if u < len(ids) and v < len(ids):
            g.nx.add_edge(ids[u], ids[v], **{str(k): val for k, val in values.items()})
    want = _reference_data(g)
    assert _typed(g.to_json_data()) == _typed(want)
    try:
        text = json.dumps(want, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError):
        with pytest.raises(InputError):
            g.to_json()
    else:
        assert g.to_json() == text


def test_flat_run_records_in_and_out_of_order_and_with_odd_values() -> None:
    g = LineageGraph()
    runs = [{"a": 1, "b": "x"}, {"b": None, "a": True}, {"a": 1.5, "b": math.inf}, {1: "int key"}]
    g.nx.add_node("v", jobs={"history": runs, "median_duration_s": math.nan}, columns=["x", _Text("y")])
    g.nx.add_node("w", jobs={"history": runs[:1]}, id="other")  # an "id" attribute: the general path
    data = g.to_json_data()
    assert _typed(data) == _typed(_reference_data(g))
    history = data["nodes"][0]["jobs"]["history"]
    assert [list(r) for r in history] == [["a", "b"], ["a", "b"], ["a", "b"], ["1"]]
    assert history[2]["b"] is None and data["nodes"][0]["jobs"]["median_duration_s"] is None
    # the records are copies: changing the data leaves the graph alone
    data["nodes"][1]["jobs"]["history"][0]["a"] = 99
    assert runs[0]["a"] == 1


def test_node_ids_that_are_not_strings_are_canonical_too() -> None:
    # networkx takes any hashable id; a snapshot writes it as _canonical makes it (a tuple: a list)
    g = LineageGraph()
    g.nx.add_node((1, "a"), name="t")
    g.nx.add_node((0, "b"), name="u")
    g.nx.add_edge((0, "b"), (1, "a"))
    assert _typed(g.to_json_data()) == _typed(_reference_data(g))
    assert g.to_json() == json.dumps(_reference_data(g), indent=1, ensure_ascii=False) + "\n"


def test_save_writes_to_jsons_text(tmp_path: Path) -> None:
    g = LineageGraph(host="h", seconds=1e-05)  # a small float: json's spelling, not orjson's
    g.add_node("a", name="é\u2028", kind="view", jobs={"history": [{"rows": 2**70}]})
    text = g.to_json()
    assert '"seconds": 1e-05' in text and str(2**70) in text
    assert g.save(tmp_path / "s.json").read_text(encoding="utf-8") == text
    g.add_node("b", name="plain", kind="table")
    g.nx.graph.pop("seconds")
    g.nx.nodes["a"]["jobs"] = {"history": []}
    assert g.save(tmp_path / "s.json").read_bytes() == g.to_json().encode()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.dictionaries(_KEYS, _VALUES, max_size=3), min_size=0, max_size=7),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6))),
    st.integers(1, 3),
)
def test_a_snapshot_written_in_pieces_is_the_whole_documents_text(
    attrs: list[dict[str, Any]], edges: list[tuple[int, int]], batch: int
) -> None:
    # Pieces of `batch` nodes (the file is written a few hundred nodes at a time): some pieces with
    # no edges, a graph without nodes or without edges; the bytes are json.dumps' of the whole.
    import lineage.graph as graph_module

    g = LineageGraph(host="h")
    ids = [f"n{i}" for i in range(len(attrs))]
    for node_id, values in zip(ids, attrs, strict=True):
        g.nx.add_node(node_id)
        g.nx.nodes[node_id].update(values)
    for u, v in edges:
        if u < len(ids) and v < len(ids):
            g.nx.add_edge(ids[u], ids[v])
    saved, graph_module._WRITE_BATCH = graph_module._WRITE_BATCH, batch
    try:
        try:
            want = json.dumps(_reference_data(g), indent=1, ensure_ascii=False, allow_nan=False) + "\n"
        except (TypeError, ValueError):
            with pytest.raises(InputError):
                g.to_json()
        else:
            assert g.to_json() == want
    finally:
        graph_module._WRITE_BATCH = saved


def test_a_save_that_fails_half_way_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lineage.graph as graph_module

    monkeypatch.setattr(graph_module, "_WRITE_BATCH", 1)
    path = tmp_path / "s.json"
    path.write_text("old\n")
    g = LineageGraph()
    g.add_node("a", name="a", kind="view")
    g.add_node("b", name="b", kind="view", odd={1, "x"})  # a set of mixed types: sorted by str, fine
    g.add_node("c", name="c", kind="view", bad=object())  # the second piece cannot be written
    with pytest.raises(InputError, match="cannot store"):
        g.save(path)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
    with pytest.raises(InputError, match="cannot store"):
        g.save(tmp_path / "new.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
    # nor the directories the write made on the way to it
    (tmp_path / "kept").mkdir()
    with pytest.raises(InputError, match="cannot store"):
        g.save(tmp_path / "kept" / "new" / "sub" / "s.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "s.json"]
    assert list((tmp_path / "kept").iterdir()) == []
