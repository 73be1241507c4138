"""A long listing gives the event loop a turn every few records, so the answers of other requests
in flight are read while a page of 1,000 is parsed (lineage.api.resources.base.YIELD_EVERY)."""

from __future__ import annotations

import asyncio
import json

import httpx

from lineage.api import AsyncPostHogClient
from lineage.api.resources.base import YIELD_EVERY
from lineage.config import Settings


def _view(i: int) -> dict[str, object]:
    return {
        "id": f"0a000000-0000-4000-8000-{i:012d}",
        "name": f"view_{i}",
        "created_at": "2026-01-01T00:00:00Z",
    }


def test_other_tasks_run_while_a_page_of_views_is_parsed() -> None:
    page = {"count": 1000, "next": None, "previous": None, "results": [_view(i) for i in range(1000)]}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=json.dumps(page).encode(), headers={"content-type": "application/json"}
        )

    settings = Settings.resolve(host="https://posthog.test", project="1", api_key="phx_k", env={})

    async def main() -> tuple[int, list[int]]:
        turns = 0
        seen_at: list[int] = []

        async def other() -> None:
            nonlocal turns
            while True:
                await asyncio.sleep(0)
                turns += 1

        async with AsyncPostHogClient(settings, transport=httpx.MockTransport(handler)) as client:
            ticker = asyncio.ensure_future(other())
            await asyncio.sleep(0)
            count = 0
            async for _view_record in client.iter_views():
                count += 1
                if count % 250 == 0:
                    seen_at.append(turns)
            ticker.cancel()
        return count, seen_at

    count, seen_at = asyncio.run(main())
    assert count == 1000
    # the other task kept running between records of the one page, about once every YIELD_EVERY
    assert seen_at == sorted(seen_at) and seen_at[-1] - seen_at[0] >= 750 // YIELD_EVERY - 1
