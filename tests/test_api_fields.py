"""The shared field readers of lineage.api.fields: tolerant readers answer None, two refusals raise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lineage.api.fields import (
    as_bool,
    as_flag,
    as_int,
    as_mapping,
    as_str,
    json_value,
    need,
    parse_datetime,
    ref_id,
    require_object,
    required_id,
)
from lineage.errors import ProtocolError


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), (3.0, 3), ("42", 42), (" -7 ", -7), (True, None), (3.5, None), ("4x", None), ("9" * 40, None)],
)
def test_as_int(value: Any, expected: int | None) -> None:
    assert as_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("a", "a"), (7, "7"), (1.5, "1.5"), (False, None), ([], None)]
)
def test_as_str(value: Any, expected: str | None) -> None:
    assert as_str(value) == expected


def test_as_flag_reads_clickhouse_zero_and_one_where_as_bool_does_not() -> None:
    assert (as_flag(1), as_flag(0), as_flag("TRUE"), as_flag(2)) == (True, False, True, None)
    assert (as_bool(1), as_bool("false"), as_bool("yes")) == (None, False, None)


def test_ref_id_nested_or_bare_and_json_value_text_or_as_given() -> None:
    assert (ref_id({"id": "3"}), ref_id(4), ref_id({"name": "x"})) == (3, 4, None)
    assert (json_value('{"a": 1}'), json_value("{not json"), json_value({"b": 2})) == (
        {"a": 1},
        None,
        {"b": 2},
    )
    assert as_mapping({"a": 1}) == {"a": 1} and as_mapping([1]) is None


def test_parse_datetime_is_aware_utc_or_none() -> None:
    assert parse_datetime("2025-05-01T02:00:00.123456789+02:00") == datetime(
        2025, 5, 1, 0, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_datetime("2025-05-01 00:00:00") == datetime(2025, 5, 1, tzinfo=UTC)
    assert parse_datetime("yesterday") is None and parse_datetime(5) is None


def test_the_two_refusals_name_what_is_missing() -> None:
    with pytest.raises(ProtocolError, match="expected a JSON object for a folder, got list"):
        require_object([], "a folder")
    with pytest.raises(ProtocolError, match="an insight without 'short_id' in the API answer"):
        need("", "an insight", "short_id")
    with pytest.raises(ProtocolError, match="a job without an 'id'"):
        required_id({"id": None}, "a job")
    assert required_id({"id": 12}, "a job") == "12"
