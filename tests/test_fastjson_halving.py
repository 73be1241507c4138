"""dumps_indented(indent=1) halves orjson's indentation piece by piece (lineage.fastjson): texts longer
than one piece, nested deeper than a piece's first line, must still come out as json.dumps writes them."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
