"""dumps_indented(indent=1) halves orjson's indentation piece by piece (lineage.fastjson): texts longer
than one piece, nested deeper than a piece's first line, must still come out as json.dumps writes them."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage import fastjson
from lineage.fastjson import dumps_indented


def _deep(depth: int) -> Any:
    value: Any = "leaf \u00e9 \\n"
    for level in range(depth):
        value = {"k": [value, level, {"x": None}], "  spaced  ": "a\nb"}
    return value


@pytest.mark.parametrize("piece", [1, 7, 64, 1 << 14])
def test_indent_one_matches_json_across_pieces(monkeypatch: pytest.MonkeyPatch, piece: int) -> None:
    monkeypatch.setattr(fastjson, "_PIECE", piece)
    data = {"nodes": [_deep(i % 9) for i in range(300)], "edges": [], "empty": {}, "deep": _deep(12)}
    text = dumps_indented(data, indent=1)
    assert len(text) > 20 * piece or piece == 1 << 14
    assert text == json.dumps(data, indent=1, ensure_ascii=False)


def test_indent_one_of_a_scalar_and_of_flat_values() -> None:
    for value in (1, "x", [], {}, [1, 2], {"a": 1}):
        assert dumps_indented(value, indent=1) == json.dumps(value, indent=1, ensure_ascii=False)


LINE_VALUES: list[Any] = [
    {"b": 1, "a": [1.5, 1e-7, 2e300, -0.0, '\u00e9\u2028\n"', None, True], "c": {"z": {}, "y": []}},
    [{"k": 2**63 - 1}, {"k": -(2**63)}],
    {"big": 2**64},  # beyond orjson's integers: json writes it
    {"nan": float("nan"), "inf": float("inf")},  # json's NaN/Infinity, never orjson's null
    {2: "b", 1: "a"},  # json sorts and writes integer keys as text; orjson refuses them
    {"lone": "\ud800"},  # a lone surrogate orjson refuses
    "text",
    17,
]


@pytest.mark.parametrize("value", LINE_VALUES)
def test_dumps_line_reads_back_as_json_dumps_sort_keys(value: Any) -> None:
    from lineage.fastjson import dumps_line

    line = dumps_line(value)
    assert b"\n" not in line
    expected = json.loads(json.dumps(value, sort_keys=True))
    got = json.loads(line)
    # The same values and the same key order (NaN compared through its text).
    assert json.dumps(got) == json.dumps(expected)


def test_dumps_line_refuses_what_json_refuses() -> None:
    from datetime import datetime

    from lineage.fastjson import dumps_line

    with pytest.raises(TypeError):
        dumps_line({"when": datetime(2026, 1, 1)})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), True),
        (1.5, False),
        ({"a": [1, {"b": (2, float("inf"))}]}, True),
        ([{"a": 1.0, "b": "x"}] * 5 + [{"c": [[-float("inf")]]}], True),
        ([{"a": 1.0, "b": "x", "c": None, "d": [1.5, {"e": 2.5}]}] * 5, False),
        ({"text": "NaN", "n": 1}, False),
        (({"x": float("nan")},), True),
        ([], False),
    ],
)
def test_non_finite_floats_are_found_at_any_depth(value: Any, expected: bool) -> None:
    assert fastjson._has_non_finite(value) is expected


def _odd_anywhere(value: Any) -> bool:
    # the walk as first written: every container visited one by one
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_odd_anywhere(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_odd_anywhere(v) for v in value)
    return False


_NESTED = st.recursive(
    st.none() | st.integers() | st.floats() | st.text(max_size=2),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=25,
)


@given(_NESTED)
def test_the_flattening_walk_finds_what_visiting_every_container_finds(value: Any) -> None:
    assert fastjson._has_non_finite(value) is _odd_anywhere(value)
