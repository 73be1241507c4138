"""One pagination loop for every shape PostHog uses (the three DRF paginations, below).

* page-number ``{count, next, previous, results}`` with absolute links (saved queries),
* cursor ``{next, previous, results}`` without ``count`` (data modeling jobs),
* limit/offset ``{count, next, previous, results}`` (warehouse tables),
* relative links such as ``"?limit=20&offset=20"`` (completed_activity),
* bare JSON arrays (folders, running/recent jobs): one page.

All of them reduce to "follow ``next`` until it is null". The loop refuses to follow a link to another
host (the key would travel with it), and raises :class:`PaginationLoopError` when a link repeats or a
page makes no progress (``completed_activity?limit=0`` answers ``[]`` with a ``next`` forever).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx

from lineage.config import redact
from lineage.errors import PaginationLoopError, ProtocolError, param

__all__ = ["MAX_PAGES", "normalize_url", "paginate"]

MAX_PAGES = 100_000

Fetch = Callable[[str], Awaitable[Any]]


def normalize_url(url: httpx.URL) -> str:
    """A key under which two spellings of the same page compare equal (param order, trailing slash)."""
    params = sorted(url.params.multi_items())
    query = "&".join(f"{k}={v}" for k, v in params)
    return f"{url.scheme}://{url.host}:{url.port}{url.path.rstrip('/')}?{query}"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def _item_id(item: Any) -> str | None:
    if isinstance(item, Mapping):
        ident = item.get("id")
        if isinstance(ident, str | int) and not isinstance(ident, bool):
            return str(ident)
    return None


async def paginate(
    fetch: Fetch,
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    what: str,
    stop_on_empty: bool = False,
    max_pages: int = MAX_PAGES,
) -> AsyncIterator[Any]:
    """Yield the raw items of every page, following ``next`` from ``url`` (with ``params``).

    ``fetch(full_url)`` returns the decoded JSON of one page. ``what`` ("GET /api/.../path/") names the
    listing in errors. Items with an ``id`` seen on an earlier page are skipped, so offset pages that
    shift under concurrent inserts do not yield duplicates. With ``stop_on_empty`` a page without new
    items ends the listing (offset APIs that link past the end); otherwise it is a loop.
    """
    first = httpx.URL(url)
    if params:
        first = first.copy_merge_params({k: v for k, v in params.items() if v is not None})
    current = first
    seen_urls = {normalize_url(current)}
    seen_ids: set[str] = set()
    for _page in range(max_pages):
        body = await fetch(str(current))
        if isinstance(body, list):
            for item in body:
                yield item
            return
        if not isinstance(body, Mapping):
            raise ProtocolError(
                f"{what}: expected a JSON list or an object with 'results', got "
                f"{'an empty body' if body is None else type(body).__name__}; the API answered in an "
                f"undocumented shape: check {param('host')} points at PostHog",
                path=what,
            )
        results = body.get("results")
        if not isinstance(results, list):
            raise ProtocolError(
                f"{what}: page without a 'results' list; the API answered in an undocumented shape",
                path=what,
            )
        nxt = body.get("next")
        fresh = []
        for item in results:
            ident = _item_id(item)
            if ident is not None:
                if ident in seen_ids:
                    continue
                seen_ids.add(ident)
            fresh.append(item)
        for item in fresh:
            yield item
        count = body.get("count")
        if isinstance(count, int) and not isinstance(count, bool) and len(seen_ids) > 2 * count + 1000:
            # views created while we list are fine; a server inventing pages without end is not
            raise PaginationLoopError(
                f"{what}: {len(seen_ids)} distinct results, far more than the {count} the server "
                "counted, and still a next page; stopped to avoid an endless listing. Report this as "
                "an API bug",
                path=what,
            )
        if nxt is None or nxt == "":
            return
        if not isinstance(nxt, str):
            raise ProtocolError(f"{what}: 'next' is not a link: {type(nxt).__name__}", path=what)
        try:
            following: httpx.URL | None = current.join(nxt)
        except (httpx.InvalidURL, ValueError, TypeError):
            following = None
        if following is None:
            # raised outside the ``except``: httpx's message quotes the link unredacted
            raise ProtocolError(f"{what}: 'next' is not a valid link: {redact(nxt)[:200]!r}", path=what)
        if _origin(following) != _origin(first):
            raise ProtocolError(
                f"{what}: refusing to follow a pagination link to another host "
                f"({following.scheme}://{following.host}); the API key is only sent to the configured host",
                path=what,
            )
        key = normalize_url(following)
        if key in seen_urls:
            raise PaginationLoopError(
                f"{what}: pagination link repeats "
                f"({following.path}?{redact(following.query.decode())[:200]}); "
                "stopped to avoid an endless loop. Report this as an API bug",
                path=what,
            )
        if not fresh:
            if stop_on_empty:
                return
            raise PaginationLoopError(
                f"{what}: a page brought no new results but still links to a next page "
                f"({following.path}); stopped to avoid an endless loop. Report this as an API bug",
                path=what,
            )
        seen_urls.add(key)
        current = following
    raise PaginationLoopError(f"{what}: more than {max_pages} pages; stopped", path=what)
