"""The three DRF paginations PostHog uses for the endpoints lineage reads.

* page number (saved queries, 1000 a page): ``{count, next, previous, results}``; links are the absolute
  request URL with ``page`` replaced, and page 2's ``previous`` has ``page`` removed;
* limit/offset (warehouse tables, 100 by default): ``{count, next, previous, results}``;
* cursor (data modeling jobs, ordering ``-created_at``, 100 a page, ``?limit=`` without maximum): no
  ``count``; the cursor is base64 of ``o=<offset>&r=<reverse>&p=<position>``. The newest PostHog
  (era E3) pages its jobs by limit/offset instead (10 a page, ``max_limit`` 100).

Links are rebuilt like DRF does (query parameters re-encoded in sorted order), except that a
``personal_api_key`` query parameter is dropped: the simulator never echoes a key.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, overload
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from lineage.sim.errors import not_found

SECRET_PARAMS = ("personal_api_key",)
OFFSET_CUTOFF = 1000

R = TypeVar("R")


class ShapedRows(Sequence[dict[str, Any]], Generic[R]):
    """A listing's records in order, each shaped into its answer only when a page reads it.

    Every page of a listing used to shape the whole list before cutting its page out: a page of
    1,000 jobs shaped all 9,702 of dbt_gitlab's (~65 ms of the server's one thread, ten pages a
    crawl, with every other answer waiting behind it). Rows are shaped under ``lock`` (the
    warehouse's), in the same synchronous handler call that listed them. ``created_at`` gives a
    record's rendered ``created_at`` without shaping it, for the cursor pagination's filter, which
    takes the rows to be in ``-created_at`` order (as :func:`cursor_page` asks of any list).
    """

    def __init__(
        self,
        records: Sequence[R],
        shape: Callable[[R], dict[str, Any]],
        lock: AbstractContextManager[Any],
        created_at: Callable[[R], str | None] | None = None,
    ) -> None:
        self._records = records
        self._shape = shape
        self._lock = lock
        self._created_at = created_at

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        with self._lock:
            if isinstance(index, slice):
                return [self._shape(record) for record in self._records[index]]
            return self._shape(self._records[index])

    def created_at(self, index: int) -> str:
        """The ``created_at`` row ``index`` would show (as ``str()`` of it, as the filter reads it)."""
        if self._created_at is None:
            return str(self[index]["created_at"])
        return str(self._created_at(self._records[index]))


def _edit_query(url: str, key: str, value: str | None) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    for secret in SECRET_PARAMS:
        params.pop(secret, None)
    if value is None:
        params.pop(key, None)
    else:
        params[key] = [value]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


def replace_query_param(url: str, key: str, value: object) -> str:
    return _edit_query(url, key, str(value))


def remove_query_param(url: str, key: str) -> str:
    return _edit_query(url, key, None)


def positive_int(text: str | None, *, strict: bool = False) -> int:
    """DRF's ``_positive_int``: ValueError for non-integers, negatives, and 0 when ``strict``."""
    if text is None:
        raise ValueError("missing")
    value = int(text)
    if value < 0 or (value == 0 and strict):
        raise ValueError("not positive")
    return value


def page_number_page(
    items: Sequence[Any], *, url: str, page: str | None, page_size: int = 1000
) -> dict[str, Any]:
    """Django's Paginator + DRF's PageNumberPagination; a bad ``page`` raises 404 ``Invalid page.``."""
    count = len(items)
    num_pages = max(1, math.ceil(count / page_size))
    # DRF: ``query_params.get("page") or 1``, so an empty ``?page=`` is the first page
    raw = page or "1"
    if raw == "last":
        number = num_pages
    else:
        try:
            number = int(raw)
        except ValueError:
            raise not_found("Invalid page.") from None
        if number < 1 or number > num_pages:
            raise not_found("Invalid page.")
    start = (number - 1) * page_size
    next_link = replace_query_param(url, "page", number + 1) if number < num_pages else None
    if number <= 1:
        previous = None
    elif number == 2:
        previous = remove_query_param(url, "page")
    else:
        previous = replace_query_param(url, "page", number - 1)
    return {
        "count": count,
        "next": next_link,
        "previous": previous,
        "results": list(items[start : start + page_size]),
    }


def limit_offset_page(
    items: Sequence[Any],
    *,
    url: str,
    limit: str | None,
    offset: str | None,
    default_limit: int = 100,
    max_limit: int | None = None,
) -> dict[str, Any]:
    """DRF's LimitOffsetPagination: bad ``limit`` means the default, bad ``offset`` means 0;
    ``max_limit`` caps a larger ``limit`` (DRF's ``max_limit``)."""
    try:
        size = positive_int(limit, strict=True)
    except ValueError:
        size = default_limit
    if max_limit is not None:
        size = min(size, max_limit)
    try:
        start = positive_int(offset)
    except ValueError:
        start = 0
    count = len(items)
    next_link = None
    if start + size < count:
        next_link = replace_query_param(replace_query_param(url, "limit", size), "offset", start + size)
    previous = None
    if start > 0:
        with_limit = replace_query_param(url, "limit", size)
        previous = (
            remove_query_param(with_limit, "offset")
            if start - size <= 0
            else replace_query_param(with_limit, "offset", start - size)
        )
    return {
        "count": count,
        "next": next_link,
        "previous": previous,
        "results": list(items[start : start + size]),
    }


@dataclass(frozen=True)
class Cursor:
    offset: int
    reverse: bool
    position: str | None


def encode_cursor(url: str, cursor: Cursor) -> str:
    tokens: dict[str, str] = {}
    if cursor.offset != 0:
        tokens["o"] = str(cursor.offset)
    if cursor.reverse:
        tokens["r"] = "1"
    if cursor.position is not None:
        tokens["p"] = cursor.position
    encoded = base64.b64encode(urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")
    return replace_query_param(url, "cursor", encoded)


def decode_cursor(raw: str | None) -> Cursor | None:
    """None for no cursor; 404 ``Invalid cursor`` for anything DRF could not decode."""
    if raw is None:
        return None
    try:
        text = base64.b64decode(raw.encode("ascii")).decode("ascii")
        tokens = parse_qs(text, keep_blank_values=True)
        offset = min(positive_int(tokens.get("o", ["0"])[0]), OFFSET_CUTOFF)
        reverse = bool(int(tokens.get("r", ["0"])[0]))
        position = tokens.get("p", [None])[0]
        if position is not None:
            parse_position(position)
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise not_found("Invalid cursor") from None
    return Cursor(offset, reverse, position)


def parse_position(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def created_at_position(item: dict[str, Any]) -> str:
    """Django's ``str(instance.created_at)``: ``2026-01-01 00:00:00+00:00``."""
    return str(parse_position(str(item["created_at"])).astimezone(UTC))


def cursor_page(
    items_desc: Sequence[dict[str, Any]],
    *,
    url: str,
    cursor: str | None,
    limit: str | None,
    page_size: int = 100,
    position_of: Callable[[dict[str, Any]], str] = created_at_position,
) -> dict[str, Any]:
    """DRF's CursorPagination over ``items_desc`` (already ordered ``-created_at``)."""
    try:
        size = positive_int(limit, strict=True)
    except ValueError:
        size = page_size
    current = decode_cursor(cursor)
    offset, reverse, position = (
        (0, False, None) if current is None else (current.offset, current.reverse, current.position)
    )
    # rows are addressed by index, and only the page's are read: a ShapedRows shapes no others
    count = len(items_desc)
    order: Sequence[int] = range(count - 1, -1, -1) if reverse else range(count)
    if position is not None:
        # ordering is descending: a forward cursor keeps older rows, a reverse one newer rows
        bound = parse_position(position)
        if isinstance(items_desc, ShapedRows):
            # rows a listing sorted by -created_at: the kept ones are one run, found by bisection
            # (10,000 jobs: 14 rows read, not 10,000 rendered and parsed again for every page)
            moment = items_desc.created_at
            if reverse:
                end = bisect.bisect_left(range(count), True, key=lambda i: parse_position(moment(i)) <= bound)
                order = range(end - 1, -1, -1)
            else:
                start = bisect.bisect_left(
                    range(count), True, key=lambda i: parse_position(moment(i)) < bound
                )
                order = range(start, count)
        elif reverse:
            order = [i for i in order if parse_position(str(items_desc[i]["created_at"])) > bound]
        else:
            order = [i for i in order if parse_position(str(items_desc[i]["created_at"])) < bound]
    fetched = [items_desc[i] for i in order[offset : offset + size + 1]]
    page = fetched[:size]
    following = position_of(fetched[-1]) if len(fetched) > len(page) else None
    next_position = previous_position = None
    if reverse:
        page.reverse()
        has_next = position is not None or offset > 0
        has_previous = following is not None
        next_position = position if has_next else None
        previous_position = following
    else:
        has_next = following is not None
        has_previous = position is not None or offset > 0
        next_position = following
        previous_position = position if has_previous else None
    state = _CursorState(
        page, size, current, has_next, has_previous, next_position, previous_position, position_of
    )
    return {
        "next": encode_cursor(url, state.next_cursor()) if has_next else None,
        "previous": encode_cursor(url, state.previous_cursor()) if has_previous else None,
        "results": page,
    }


@dataclass
class _CursorState:
    page: list[dict[str, Any]]
    size: int
    cursor: Cursor | None
    has_next: bool
    has_previous: bool
    next_position: str | None
    previous_position: str | None
    position_of: Callable[[dict[str, Any]], str]

    def _marker(self, items: list[dict[str, Any]], compare: str | None) -> tuple[int, str | None, bool]:
        """Walk ``items`` until a position differs from its follower; rows sharing one need an offset."""
        offset = 0
        position: str | None = None
        for item in items:
            position = self.position_of(item)
            if position != compare:
                return offset, position, True
            compare = position
            offset += 1
        return offset, position, False

    def next_cursor(self) -> Cursor:
        if self.page and self.cursor and self.cursor.reverse and self.cursor.offset != 0:
            compare: str | None = self.position_of(self.page[-1])
        else:
            compare = self.next_position
        offset, position, unique = self._marker(list(reversed(self.page)), compare)
        if self.page and not unique:
            if not self.has_previous:
                offset, position = self.size, None
            elif self.cursor is not None and self.cursor.reverse:
                offset, position = 0, self.previous_position
            else:
                offset = (self.cursor.offset if self.cursor else 0) + self.size
                position = self.previous_position
        if not self.page:
            position = self.next_position
        return Cursor(offset, False, position)

    def previous_cursor(self) -> Cursor:
        if self.page and self.cursor and not self.cursor.reverse and self.cursor.offset != 0:
            compare: str | None = self.position_of(self.page[0])
        else:
            compare = self.previous_position
        offset, position, unique = self._marker(self.page, compare)
        if self.page and not unique:
            if not self.has_next:
                offset, position = self.size, None
            elif self.cursor is not None and self.cursor.reverse:
                offset = self.cursor.offset + self.size
                position = self.next_position
            else:
                offset, position = 0, self.next_position
        if not self.page:
            position = self.previous_position
        return Cursor(offset, True, position)
