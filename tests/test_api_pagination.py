"""Pagination: every shape PostHog uses, and the loop guards."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.api import PostHogClient
from lineage.api.pagination import normalize_url, paginate
from lineage.config import Settings
from lineage.errors import PaginationLoopError, ProtocolError

BASE = "https://posthog.test/api/projects/1/things/"
KEY = "phx_paginationkey_42"


def collect(
    pages: Callable[[httpx.URL], Any], url: str = BASE, params: Any = None, **kw: Any
) -> tuple[list[Any], list[str]]:
    asked: list[str] = []

    async def fetch(full: str) -> Any:
        asked.append(full)
        return pages(httpx.URL(full))

    async def main() -> list[Any]:
        return [item async for item in paginate(fetch, url, params, what="GET /api/projects/1/things/", **kw)]

    return asyncio.run(main()), asked


def test_bare_array_is_one_page() -> None:
    items, asked = collect(lambda url: [{"id": 1}, {"id": 2}])
    assert items == [{"id": 1}, {"id": 2}] and asked == [BASE]


def test_page_number_with_absolute_links_and_dropped_page_param() -> None:
    data = [{"id": i} for i in range(7)]

    def pages(url: httpx.URL) -> Any:
        page = int(url.params.get("page", "1"))
        nxt = str(url.copy_set_param("page", page + 1)) if page * 3 < 7 else None
        prev = str(url.copy_remove_param("page")) if page == 2 else None
        return {"count": 7, "next": nxt, "previous": prev, "results": data[(page - 1) * 3 : page * 3]}

    items, asked = collect(pages, params={"search": "x", "ignored": None})
    assert items == data
    assert [httpx.URL(a).params.get("page") for a in asked] == [None, "2", "3"]
    assert all(httpx.URL(a).params["search"] == "x" for a in asked)
    assert all("ignored" not in httpx.URL(a).params for a in asked)


def test_cursor_pages_without_count() -> None:
    def pages(url: httpx.URL) -> Any:
        cursor = url.params.get("cursor")
        if cursor is None:
            return {
                "next": str(url.copy_set_param("cursor", "cD0x")),
                "previous": None,
                "results": [{"id": "a"}],
            }
        return {"next": None, "previous": str(url), "results": [{"id": "b"}]}

    items, _ = collect(pages)
    assert [i["id"] for i in items] == ["a", "b"]


def test_relative_query_string_links_resolve_against_the_current_page() -> None:
    def pages(url: httpx.URL) -> Any:
        offset = int(url.params.get("offset", "0"))
        nxt = f"?limit=2&offset={offset + 2}&cutoff_days=30" if offset < 4 else None
        return {"results": [{"id": offset}, {"id": offset + 1}], "next": nxt, "previous": None}

    items, asked = collect(pages, params={"limit": 2, "offset": 0, "cutoff_days": 30})
    assert [i["id"] for i in items] == list(range(6))
    assert all(httpx.URL(a).path == "/api/projects/1/things/" for a in asked)


def test_limit_offset_links() -> None:
    def pages(url: httpx.URL) -> Any:
        offset = int(url.params.get("offset", "0"))
        nxt = str(url.copy_merge_params({"limit": 100, "offset": offset + 100})) if offset < 200 else None
        return {
            "count": 250,
            "next": nxt,
            "previous": None,
            "results": [{"id": offset + i} for i in range(50)],
        }

    items, asked = collect(pages)
    assert len(items) == 150 and len(asked) == 3


def test_repeating_next_is_a_loop_error_naming_the_path() -> None:
    def pages(url: httpx.URL) -> Any:
        return {
            "results": [{"id": url.params.get("offset", "0")}],
            "next": "?limit=1&offset=0",
            "previous": None,
        }

    with pytest.raises(PaginationLoopError) as info:
        collect(pages)
    assert "/api/projects/1/things/" in str(info.value)


def test_completed_activity_limit_zero_never_hangs() -> None:
    # limit=0 answers [] with a `next` equal to the current page: repeat, not an endless loop
    def pages(url: httpx.URL) -> Any:
        return {"results": [], "next": "?limit=0&offset=0&cutoff_days=30", "previous": None}

    with pytest.raises(PaginationLoopError, match="things"):
        collect(pages, params={"limit": 0, "offset": 0, "cutoff_days": 30}, stop_on_empty=True)


def test_no_progress_page_is_a_loop_error_unless_stop_on_empty() -> None:
    def pages(url: httpx.URL) -> Any:
        n = int(url.params.get("n", "0"))
        results = [{"id": "same"}] if n < 50 else []
        return {"results": results, "next": str(url.copy_set_param("n", n + 1))}

    with pytest.raises(PaginationLoopError, match="no new results"):
        collect(pages)
    items, asked = collect(pages, stop_on_empty=True)
    assert items == [{"id": "same"}] and len(asked) == 2


def test_duplicates_across_shifting_pages_are_dropped() -> None:
    def pages(url: httpx.URL) -> Any:
        if "offset" not in url.params:
            return {"results": [{"id": 1}, {"id": 2}], "next": "?offset=2"}
        return {"results": [{"id": 2}, {"id": 3}], "next": None}

    items, _ = collect(pages)
    assert [i["id"] for i in items] == [1, 2, 3]


def test_link_to_another_host_is_refused() -> None:
    def pages(url: httpx.URL) -> Any:
        return {"results": [{"id": 1}], "next": "https://evil.example/api/projects/1/things/?page=2"}

    with pytest.raises(ProtocolError, match="another host"):
        collect(pages)


@pytest.mark.parametrize(
    "body",
    [
        None,
        3,
        "text",
        {"results": "nope"},
        {"count": 1},
        {"results": [], "next": 5},
        {"results": [1], "next": []},
    ],
)
def test_malformed_pages_are_protocol_errors(body: Any) -> None:
    with pytest.raises(ProtocolError):
        collect(lambda url: body)


def test_normalize_url_ignores_param_order_and_trailing_slash() -> None:
    a = normalize_url(httpx.URL("https://h/api/x/?b=2&a=1"))
    b = normalize_url(httpx.URL("https://h/api/x?a=1&b=2"))
    assert a == b


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(0, 40), size=st.integers(1, 9), shape=st.sampled_from(["page", "offset", "relative"])
)
def test_any_page_size_yields_every_item_once(total: int, size: int, shape: str) -> None:
    data = [{"id": i} for i in range(total)]

    def pages(url: httpx.URL) -> Any:
        if shape == "page":
            page = int(url.params.get("page", "1"))
            start = (page - 1) * size
            nxt = str(url.copy_set_param("page", page + 1)) if start + size < total else None
        else:
            start = int(url.params.get("offset", "0"))
            more = start + size < total
            if shape == "offset":
                nxt = str(url.copy_merge_params({"offset": start + size})) if more else None
            else:
                nxt = f"?offset={start + size}" if more else None
        return {"results": data[start : start + size], "next": nxt}

    items, asked = collect(pages)
    assert items == data
    assert len(asked) == max(1, -(-total // size))


def test_client_listing_raises_loop_error_with_path() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"count": 5, "next": str(request.url), "previous": None, "results": [{"id": "a", "name": "a"}]}
        return httpx.Response(200, content=json.dumps(body).encode())

    s = Settings.resolve(host="https://posthog.test", project="1", api_key=KEY, env={})
    with (
        PostHogClient(s, transport=httpx.MockTransport(handler)) as c,
        pytest.raises(PaginationLoopError) as info,
    ):
        c.list_views()
    assert "GET /api/projects/1/warehouse_saved_queries/" in str(info.value)
    assert KEY not in str(info.value)


def test_invalid_next_link_is_redacted_and_not_chained() -> None:
    leaked = "phx_leakedinlink_77"

    def pages(url: httpx.URL) -> Any:
        return {"results": [{"id": 1}], "next": f"?key={leaked}\x00"}

    with pytest.raises(ProtocolError, match="not a valid link") as info:
        collect(pages)
    assert leaked not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
