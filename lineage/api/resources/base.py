"""What every resource of the PostHog client shares: its routes, the id check for a path segment, and
:class:`Resource`, the base of the endpoint mixins (GET one, list, iterate, parse with the route named).

A resource mixin (saved queries, folders, jobs, ...) holds the endpoint methods of one part of the API;
:class:`~lineage.api.client.AsyncPostHogClient` is made of all of them and gives them the sender.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any, Final, TypeVar
from urllib.parse import quote

from lineage.api.options import ClientOptions
from lineage.api.transport import PROJECT_PATH, Sender
from lineage.errors import ProtocolError

__all__ = [
    "DATA_WAREHOUSE",
    "FOLDERS",
    "JOBS",
    "PROJECT",
    "QUERY",
    "QUERY_ID",
    "SAVED_QUERIES",
    "SAVED_QUERY",
    "TABLES",
    "Resource",
    "collect",
    "segment",
]

T = TypeVar("T")
# records of a listing parsed between two turns of the event loop (see ``_iter``)
YIELD_EVERY: Final = 50

# The routes the client calls, relative to the project (``{id}`` is filled per call).
PROJECT: Final = PROJECT_PATH
SAVED_QUERIES: Final = PROJECT + "warehouse_saved_queries/"
SAVED_QUERY: Final = SAVED_QUERIES + "{id}/"
FOLDERS: Final = PROJECT + "warehouse_saved_query_folders/"
JOBS: Final = PROJECT + "data_modeling_jobs/"
DATA_WAREHOUSE: Final = PROJECT + "data_warehouse/"
TABLES: Final = PROJECT + "warehouse_tables/"
QUERY: Final = PROJECT + "query/"
QUERY_ID: Final = QUERY + "{id}/"


def segment(value: str | uuid.UUID, what: str) -> str:
    """One path segment from an id; refuses values that would change the path's meaning."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str) or not value.strip() or value.strip() in {".", ".."}:
        raise ValueError(f"{what} must be a non-empty id string, got {value!r}")
    return quote(value.strip(), safe="")


async def collect(items: AsyncIterator[T]) -> list[T]:
    """Every item of an async iterator, as a list (the ``list_*`` methods of the ``iter_*`` ones)."""
    return [item async for item in items]


class Resource:
    """The base of every resource mixin: the client's sender and options, and the shapes of call
    that most endpoints are (GET one record, iterate the records of a listing across pages)."""

    _sender: Sender
    options: ClientOptions

    def _parse(self, parser: Callable[[Any], T], body: Any, display: str) -> T:
        try:
            return parser(body)
        except ProtocolError as exc:
            message = exc.message
        # raised outside the ``except`` so the error prints alone, without a chained twin
        raise ProtocolError(f"{display}: {message}", path=display, body=None)

    async def _get_one(self, parser: Callable[[Any], T], template: str, ident: str, noun: str) -> T:
        """GET the record ``ident`` (a checked id) at ``template``, parsed; ``noun`` names it in errors."""
        body = await self._sender.get(template, what=f"{noun} {ident}", id=ident)
        return self._parse(parser, body, self._sender.display("GET", self._sender.url(template, id=ident)))

    async def _iter(
        self,
        parser: Callable[[Any], T],
        template: str,
        params: Mapping[str, Any] | None = None,
        *,
        stop_on_empty: bool = False,
        max_items: int | None = None,
        **ids: str,
    ) -> AsyncGenerator[T, None]:
        """Every record of a listing, across pages, parsed; at most ``max_items`` (checked before a
        record is parsed, so one past the limit is never read)."""
        display = self._sender.display("GET", self._sender.url(template, **ids))
        count = 0
        async for raw in self._sender.iter(template, params, stop_on_empty=stop_on_empty, **ids):
            if max_items is not None and count >= max_items:
                return
            yield self._parse(parser, raw, display)
            count += 1
            if count % YIELD_EVERY == 0:
                # A page of 1,000 records is parsed (here and by the caller, between yields) without
                # the event loop getting a turn: ~20 ms in which the answers of the other requests
                # in flight wait unread and their slots idle. A turn now and then lets them go on.
                await asyncio.sleep(0)
