"""lineage.fastjson gives the standard library's exact results; lineage.hogql.cache gives extract_tables'."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage import fastjson
from lineage.errors import HogQLError
from lineage.hogql import extract_tables
from lineage.hogql.cache import FILE_NAME, TableCache, cache_dir


@dataclass(frozen=True)
class Point:
    x: int


ODD: list[Any] = [
    {"tiny": 1e-05, "tinier": 2.5e-07, "neg": -3e-9, "small": 0.0001, "big": 1e16, "huge": 1.5e300},
    [0.00001, 1e-7, 0.1, 100.0, -0.0, 5e-324],
    {"nan": math.nan, "inf": math.inf, "ninf": -math.inf},
    {"id": "521ca66d-5bd4-5f90-9e4d-0e-5401d31bbedd", "s": "looks like 1e-05 and 0.00001"},
    {"a": [], "b": {}, "c": [1, {"d": None}], "e": '\x7f\u2028\x1f"é\\', "f": "😀"},
    {"big": 2**70, "neg": -(2**64)},
    {"when": datetime(2026, 11, 26, tzinfo=UTC), "set": {3, 1, 2}, "uuid": uuid.UUID(int=5)},
    {"dc": Point(1), "tuple": (1, "a"), "bools": [True, False]},
    {"lone": "\ud800x"},
    {"deep": [[[[[[[[[["x"]]]]]]]]]]},
    {"z": 1, "a": {"y": 2, "b": 3}, "é": 4, "E": 5},
]


@pytest.mark.parametrize("indent", [1, 2])
@pytest.mark.parametrize("sort_keys", [True, False])
@pytest.mark.parametrize("value", ODD, ids=range(len(ODD)))
def test_dumps_indented_is_json_dumps_byte_for_byte(value: Any, indent: int, sort_keys: bool) -> None:
    want = json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=False, default=str)
    assert fastjson.dumps_indented(value, indent=indent, sort_keys=sort_keys, default=str) == want


def test_without_default_and_with_allow_nan_false_errors_are_jsons() -> None:
    with pytest.raises(TypeError):
        fastjson.dumps_indented({"s": {1}})
    with pytest.raises(ValueError, match="Out of range float"):
        fastjson.dumps_indented({"x": math.nan}, allow_nan=False)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_json_value_dumps_and_loads_as_with_json(value: Any) -> None:
    want = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    assert fastjson.dumps_indented(value, indent=2, sort_keys=True) == want
    assert repr(fastjson.loads(want)) == repr(json.loads(want))


def outcome_of(fn: Any, text: str) -> str:
    try:
        return repr(fn(text))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__


@pytest.mark.parametrize(
    "text",
    ["NaN", '{"a": Infinity}', "1e400", str(2**64 - 1), '"\\ud800"', "[" * 2000 + "]" * 2000, '{"a": 1}'],
)
def test_loads_accepts_what_json_accepts(text: str) -> None:
    assert outcome_of(fastjson.loads, text) == outcome_of(json.loads, text)


def test_the_one_known_difference_an_integer_beyond_64_bits_becomes_a_float() -> None:
    # Documented in lineage.fastjson: neither PostHog nor ClickHouse write such integers.
    assert fastjson.loads(str(2**70)) == float(2**70)


@pytest.mark.parametrize("text", ["", "{", "[1,]", "tru"])
def test_loads_fails_as_json_fails(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as got:
        fastjson.loads(text)
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(text)
    assert str(got.value) == str(want.value)


# -- the parse cache -------------------------------------------------------------------------------

SQL = [
    "SELECT a FROM events JOIN persons ON 1",
    "WITH x AS (SELECT 1 FROM orders) SELECT * FROM x, `db.stripe_charge`",
    "SELECT {filters} FROM events",  # placeholders: an error, cached too
    "SELECT FROM WHERE",
]


def outcome(fn: Any, sql: str) -> Any:
    try:
        return fn(sql)
    except HogQLError as exc:
        return ("error", str(exc))


def test_the_cache_answers_as_extract_tables_and_parses_each_text_once(tmp_path: Path) -> None:
    first = TableCache(tmp_path)
    assert [outcome(first, s) for s in SQL * 2] == [outcome(extract_tables, s) for s in SQL * 2]
    assert first.parsed == len(SQL)
    first.save()
    second = TableCache(tmp_path)
    assert [outcome(second, s) for s in SQL] == [outcome(extract_tables, s) for s in SQL]
    assert second.parsed == 0  # every answer came from the file


def test_a_damaged_or_foreign_cache_file_only_means_parsing_again(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    for text in ["{not json", '{"format": "other"}', "[]"]:
        path.write_text(text)
        cache = TableCache(tmp_path)
        assert cache(SQL[0]) == extract_tables(SQL[0])
        assert cache.parsed == 1
    # Entries of another parser version, or of the wrong shape, are not trusted.
    TableCache(tmp_path)
    data = {"format": "lineage-hogql-tables/1", "parser": "old", "entries": {}}
    path.write_text(json.dumps(data))
    cache = TableCache(tmp_path)
    cache(SQL[0])
    assert cache.parsed == 1
    cache.save()
    data = json.loads(path.read_text())
    data["entries"] = {k: [1, 2] for k in data["entries"]}
    path.write_text(json.dumps(data))
    cache = TableCache(tmp_path)
    assert cache(SQL[0]) == extract_tables(SQL[0])
    assert cache.parsed == 1


def test_an_unwritable_cache_directory_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = TableCache(blocker / "sub")
    assert cache(SQL[0]) == extract_tables(SQL[0])
    cache.save()  # no exception


def test_cache_location_follows_the_environment(tmp_path: Path) -> None:
    assert cache_dir({"LINEAGE_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert cache_dir({"LINEAGE_CACHE_DIR": "off"}) is None
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "lineage"


def test_check_and_crawl_write_the_cache_where_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from lineage.cli import main

    where = tmp_path / "cache"
    monkeypatch.setenv("LINEAGE_CACHE_DIR", str(where))
    snapshot = Path(__file__).parent / "golden" / "scale" / "snapshot.json"
    result = CliRunner().invoke(main, ["check", "--snapshot", str(snapshot), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    entries = json.loads((where / FILE_NAME).read_text())["entries"]
    texts = {n["sql"] for n in json.loads(snapshot.read_text())["nodes"] if n.get("sql")}
    assert len(entries) == len(texts) > 200  # one per distinct SQL text of the 300 views
    again = CliRunner().invoke(main, ["check", "--snapshot", str(snapshot), "--format", "json"])
    assert again.stdout == result.stdout


class _Text(str):
    """A str subclass: dumps_list leaves it to json."""


@pytest.mark.parametrize(
    "items",
    [
        [],
        ["id", "row_count"],
        ["é", "😀", "\u2028", "\x7f", "\u202e", ""],
        ['say "hi"', "x"],
        ["back\\slash"],
        ["line\nbreak", "tab\t", "\x00", "\x1f"],
        ['", "', "a"],
        [_Text("a"), "b"],
        ["a", 1],
        [{"a": 1}],
        ["\ud800"],
    ],
)
def test_dumps_list_is_json_dumps_or_declines(items: list[Any]) -> None:
    text = fastjson.dumps_list(items)
    assert text is None or text == json.dumps(items, ensure_ascii=False, sort_keys=True)


def test_dumps_list_takes_the_lists_an_export_writes() -> None:
    assert fastjson.dumps_list([]) == "[]"
    assert fastjson.dumps_list(["id", "é", "a b", "=1", "x,y"]) == '["id", "é", "a b", "=1", "x,y"]'
    for declined in (['say "hi"'], ["a\\b"], ["a\nb"], [_Text("a")], [1], [{"a": 1}]):
        assert fastjson.dumps_list(declined) is None, declined


@given(st.lists(st.text(max_size=6) | st.sampled_from(['"', "\\", "\x00", '", "', "\ud800"]), max_size=6))
def test_dumps_list_of_any_strings_is_json_dumps(items: list[str]) -> None:
    text = fastjson.dumps_list(items)
    assert text is None or text == json.dumps(items, ensure_ascii=False, sort_keys=True)
    if not any(c in "".join(items) for c in '"\\') and "".join(items).isprintable():
        assert text is not None


def _compact_json(value: Any) -> bytes | str:
    """What starlette's JSONResponse writes, or the name of json's error."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:
        return type(exc).__name__


def _compact_fast(value: Any) -> bytes | str:
    try:
        return fastjson.dumps_compact(value)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__


@pytest.mark.parametrize("value", [*ODD, {"k": [1, "a,1e5,b", 2]}, {1: "int key"}], ids=range(len(ODD) + 2))
def test_dumps_compact_is_jsonresponses_body_or_its_error(value: Any) -> None:
    assert _compact_fast(value) == _compact_json(value)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(JSONISH)
def test_dumps_compact_of_any_value_is_jsonresponses_body_or_its_error(value: Any) -> None:
    assert _compact_fast(value) == _compact_json(value)


def test_dumps_compact_takes_a_page_of_jobs_through_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    row = ["8e4b1f0c-5e-4d1a-9e10-000000000001", "Completed", 1200, None, "2026-11-25T17:46:22Z", True, 0.25]
    page = {"results": [row] * 1000, "columns": ["id"], "hasMore": False, "timings": [{"t": 0.012345}]}
    want = _compact_json(page)

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("went through json")

    monkeypatch.setattr(fastjson.json, "dumps", refuse)
    assert fastjson.dumps_compact(page) == want


def _items_json(items: list[Any], depth: int) -> bytes | str:
    # the elements' text as json.dumps writes the list nested `depth` deep, brackets cut off
    try:
        document: Any = items
        for _ in range(depth):
            document = [document]
        text = json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__
    opening = "[" + "".join("\n" + " " * d + "[" for d in range(1, depth + 1))
    closing = "\n" + " " * depth + "]" + "".join("\n" + " " * d + "]" for d in range(depth - 1, -1, -1))
    assert text.startswith(opening) and text.endswith(closing)
    try:
        return text[len(opening) : -len(closing)].encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: no UTF-8 file holds it
        return type(exc).__name__


def _items_fast(items: list[Any], depth: int) -> bytes | str:
    try:
        return fastjson.dumps_items(items, depth=depth)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__


FINITE_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from([1e-05, 2.5e-07, 0.0001, 1e16, -0.0]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(st.lists(FINITE_JSON, min_size=1, max_size=5), st.integers(1, 4))
def test_dumps_items_is_the_lists_elements_as_json_writes_them_nested(items: list[Any], depth: int) -> None:
    assert _items_fast(items, depth) == _items_json(items, depth)


@pytest.mark.parametrize("value", [v for v in ODD if "nan" not in v], ids=range(len(ODD) - 1))
@pytest.mark.parametrize("depth", [1, 3])
def test_dumps_items_of_odd_values_is_jsons_text_or_error(value: Any, depth: int) -> None:
    assert _items_fast([value, value], depth) == _items_json([value, value], depth)


def test_dumps_items_goes_through_orjson_for_plain_records(monkeypatch: pytest.MonkeyPatch) -> None:
    records = [{"id": f"v{i}", "jobs": {"history": [{"rows": i, "status": "Completed"}]}} for i in range(3)]
    want = _items_json(records, 2)
    monkeypatch.setattr(fastjson.json, "dumps", lambda *a, **k: pytest.fail("went through json"))
    assert fastjson.dumps_items(records, depth=2) == want
