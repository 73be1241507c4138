"""The crawl's scheduling: the worker pool that takes a second batch as it arrives, and the view list
read behind the first page (issue 16: the api crawl within 1.2x its latency bound)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from lineage.api import SavedQuery
from lineage.crawl import CrawlOptions
from lineage.crawl.journal import Journal
from lineage.crawl.session import VIEWS_PER_PAGE, CrawlSession
from lineage.errors import TransportError


def _view(i: int) -> SavedQuery:
    return SavedQuery.from_api({"id": f"00000000-0000-4000-8000-{i:012d}", "name": f"v{i}"})


class PagedClient:
    """A client whose view list sends its first page at once and the rest when ``release`` is set."""

    def __init__(self, total: int, *, fail_later: bool = False) -> None:
        self.total = total
        self.fail_later = fail_later
        self.release = asyncio.Event()
        self.pages_sent = 0

    async def iter_views(self, search: str | None = None) -> AsyncIterator[SavedQuery]:
        for i in range(self.total):
            if i and i % VIEWS_PER_PAGE == 0:
                await self.release.wait()
                if self.fail_later:
                    raise TransportError("GET /api/projects/1/warehouse_saved_queries/: connection failed")
                self.pages_sent += 1
            yield _view(i)

    def server_now(self) -> None:
        return None


def _session(client: Any, progress: Any = None, concurrency: int = 4) -> CrawlSession:
    options = CrawlOptions(edges="api", concurrency=concurrency, progress=progress)
    return CrawlSession(client, options, Journal(None, resume=False))


def test_gather_takes_the_second_batch_when_it_arrives_and_counts_it_in_progress() -> None:
    seen: list[str] = []
    told: list[tuple[str, int, int]] = []

    async def main() -> None:
        session = _session(None, progress=lambda label, done, total: told.append((label, done, total)))
        later = asyncio.Event()

        async def rest() -> list[str]:
            await later.wait()
            return ["c", "d"]

        async def work(item: str) -> None:
            seen.append(item)
            if item == "b":
                later.set()  # the rest arrives while the first batch is still being worked on
            await asyncio.sleep(0)

        await session.gather("lineage", ["a", "b"], work, more=rest())

    asyncio.run(main())
    assert sorted(seen) == ["a", "b", "c", "d"]
    assert told[0] == ("lineage", 0, 2)
    assert told[-1] == ("lineage", 4, 4)


def test_gather_with_an_empty_first_batch_waits_for_the_second() -> None:
    seen: list[str] = []

    async def main() -> None:
        session = _session(None)

        async def rest() -> list[str]:
            await asyncio.sleep(0.01)
            return ["x", "y", "z"]

        async def work(item: str) -> None:
            seen.append(item)

        await session.gather("lineage", [], work, more=rest())

    asyncio.run(main())
    assert sorted(seen) == ["x", "y", "z"]


def test_gather_raises_what_the_second_batch_raised() -> None:
    async def main() -> None:
        session = _session(None)

        async def rest() -> list[str]:
            raise TransportError("the rest of the list failed")

        async def work(item: str) -> None:
            await asyncio.sleep(0)

        await session.gather("lineage", ["a"], work, more=rest())

    with pytest.raises(TransportError, match="the rest of the list failed"):
        asyncio.run(main())


def test_list_views_returns_after_the_first_page_and_views_listed_waits_for_the_rest() -> None:
    total = 2 * VIEWS_PER_PAGE + 5

    async def main() -> None:
        client = PagedClient(total)
        session = _session(client)
        await asyncio.wait_for(session.list_views(), 10)
        # the later pages are held back by the client: the first page is all there is yet
        assert len(session.state.views) == VIEWS_PER_PAGE
        assert client.pages_sent == 0
        client.release.set()
        await session.views_listed()
        assert len(session.state.views) == total
        assert list(session.state.views) == [_view(i).id for i in range(total)]
        # the whole list is journaled once it is in, as before
        found, raw = session.journal.get("views")
        assert found and len(raw) == total

    asyncio.run(main())


def test_a_later_page_failing_fails_whoever_waits_for_the_list() -> None:
    async def main() -> None:
        client = PagedClient(VIEWS_PER_PAGE + 1, fail_later=True)
        session = _session(client)
        await session.list_views()
        client.release.set()
        with pytest.raises(TransportError, match="connection failed"):
            await session.relist_views()

    asyncio.run(main())


def test_a_short_list_is_whole_when_list_views_returns() -> None:
    async def main() -> None:
        session = _session(PagedClient(3))
        await session.list_views()
        assert len(session.state.views) == 3
        await session.views_listed()

    asyncio.run(main())
