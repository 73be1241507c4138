"""The client decodes answers through orjson where it can (lineage.api.body.try_json): held equal to
``json.loads`` on the inputs where orjson refuses or differs."""

from __future__ import annotations

import json
import math

import pytest

from lineage.api.body import try_json

ODD = [
    b'{"a": 1.5, "b": null, "c": [true, false], "d": "\\u00e9t\\u00e9"}',
    b"NaN",
    b"[Infinity, -Infinity]",
    b"[1e400, -1e400, 1e-400]",
    b"\xef\xbb\xbf[1]",  # a UTF-8 BOM
    "[1]".encode("utf-16"),
    b"123456789012345678901234567890",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"9223372036854775807",
    b'{"ids": [1234567890123456789, 12345678901234567890]}',
    b'"\\ud83d\\ude00"',
    b'{"a": 1, "a": 2}',
    b"-0",
    b"[-0.0, 0.1, 2.5e-324]",
]
INVALID = [b"[1", b"\xff", b"[" * 2000 + b"]" * 2000, b"{'a': 1}", b"[1,]", b"nul"]


@pytest.mark.parametrize("content", ODD, ids=range(len(ODD)))
def test_answers_decode_as_json_loads_decodes_them(content: bytes) -> None:
    expected = json.loads(content)
    got = try_json(content)
    assert json.dumps(got) == json.dumps(expected)  # same values, NaN included
    assert repr(got) == repr(expected)  # and the same types: an int stays an int
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)


@pytest.mark.parametrize("content", INVALID, ids=range(len(INVALID)))
def test_what_json_refuses_is_invalid(content: bytes) -> None:
    marker = object()
    assert try_json(content, invalid=marker) is marker


def test_lone_surrogates_become_replacement_characters_and_blank_is_none() -> None:
    assert try_json(b'["\\ud800", "ok"]') == ["\ufffd", "ok"]
    assert try_json(b"  \n") is None
