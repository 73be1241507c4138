"""Listings shaped a page at a time (lineage.sim.pagination.ShapedRows) answer exactly what shaping the
whole list first answered: every page, forward and back, with ties in ``created_at``."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conftest import make_small_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.sim.pagination import (
    ShapedRows,
    cursor_page,
    limit_offset_page,
    page_number_page,
    parse_position,
)
from lineage.sim.state import Warehouse


def _cursor(url: str | None) -> str | None:
    return None if url is None else parse_qs(urlsplit(url).query).get("cursor", [None])[0]


def _walk(rows: Any, size: int) -> list[dict[str, Any]]:
    """Every page a client meets walking forward to the end, then back to the start."""
    pages = []
    url: str | None = f"http://t/api/projects/1/data_modeling_jobs/?limit={size}"
    last = url
    while url:
        last = url
        page = cursor_page(rows, url=url, cursor=_cursor(url), limit=str(size))
        pages.append(page)
        url = page["next"]
    url = last
    for _ in range(200):
        if not url:
            break
        page = cursor_page(rows, url=url, cursor=_cursor(url), limit=str(size))
        pages.append(page)
        url = page["previous"]
    return pages


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=12), min_size=0, max_size=50),
    st.integers(min_value=1, max_value=9),
    st.booleans(),
)
def test_cursor_pages_of_shaped_rows_equal_those_of_the_shaped_list(
    stamps: list[int], size: int, micro: bool
) -> None:
    stamped = [
        f"2026-01-01T00:{s:02d}:00{'.000500' if micro and i % 3 == 0 else ''}Z" for i, s in enumerate(stamps)
    ]
    # in -created_at order, as cursor_page takes its rows (ties keep their order)
    stamped.sort(key=parse_position, reverse=True)
    records = [(f"{i:04d}", stamp) for i, stamp in enumerate(stamped)]
    shaped_count = 0

    def shape(record: tuple[str, str]) -> dict[str, Any]:
        nonlocal shaped_count
        shaped_count += 1
        return {"id": record[0], "created_at": record[1], "status": "Completed"}

    eager = [shape(r) for r in records]
    lazy = ShapedRows(records, shape, threading.RLock(), lambda r: r[1])
    assert _walk(lazy, size) == _walk(eager, size)
    # and without the created_at shortcut (rows shaped to read it)
    assert _walk(ShapedRows(records, shape, threading.RLock()), size) == _walk(eager, size)


def test_a_page_shapes_its_rows_only() -> None:
    shaped: list[int] = []

    def shape(i: int) -> dict[str, Any]:
        shaped.append(i)
        return {"id": str(i), "created_at": f"2026-01-01T00:00:{59 - i % 60:02d}Z"}

    rows = ShapedRows(
        list(range(5000)), shape, threading.RLock(), lambda i: f"2026-01-01T00:00:{59 - i % 60:02d}Z"
    )
    page = page_number_page(rows, url="http://t/x/?page=2", page="2")
    assert page["count"] == 5000 and [r["id"] for r in page["results"]][:2] == ["1000", "1001"]
    assert len(shaped) == 1000
    shaped.clear()
    assert len(limit_offset_page(rows, url="http://t/x/", limit="100", offset="300")["results"]) == 100
    assert len(shaped) == 100
    shaped.clear()
    cursor_page(rows, url="http://t/x/", cursor=None, limit="10")
    assert len(shaped) == 11  # the page and the row after it (the next cursor's position)


def _fixture_with_many_jobs() -> dict[str, Any]:
    """The small fixture with 40 more jobs, many sharing a created_at (and one with microseconds)."""
    fixture = make_small_fixture()
    template = fixture["jobs"][0]
    for n in range(40):
        stamp = f"2026-11-1{n % 4}T0{n % 3}:00:00{'.250000' if n == 7 else ''}Z"
        fixture["jobs"].append(
            {
                **template,
                "id": f"0d000000-0000-4000-8000-{100 + n:012d}",
                "created_at": stamp,
                "last_run_at": stamp,
            }
        )
    return fixture


def test_the_warehouse_listings_answer_the_same_pages_lazily() -> None:
    for era in ("e2", "e3"):
        wh = Warehouse(_fixture_with_many_jobs(), era=era)
        assert list(wh.list_views(lazy=True)) == wh.list_views()
        assert list(wh.list_views(include_columns=False, lazy=True)) == wh.list_views(include_columns=False)
        assert list(wh.list_views(search="a", lazy=True)) == wh.list_views(search="a")
        assert len(wh.list_jobs()) > 7 and list(wh.list_jobs(lazy=True)) == wh.list_jobs()
        for size in (1, 2, 7):
            assert _walk(wh.list_jobs(lazy=True), size) == _walk(wh.list_jobs(), size)
        assert len(wh.list_tables()) >= 1 and list(wh.list_tables(lazy=True)) == wh.list_tables()
        assert list(wh.list_tables(search="a", lazy=True)) == wh.list_tables(search="a")
        view_id = wh.list_views()[0]["id"]
        assert list(wh.list_jobs(saved_query_id=view_id, lazy=True)) == wh.list_jobs(saved_query_id=view_id)
