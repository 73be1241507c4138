"""The PostHog API client: every saved-query, folder, job, activity and warehouse-table endpoint,
consumers, and HogQL through the query API (:meth:`AsyncPostHogClient.hogql`,
:meth:`~AsyncPostHogClient.iter_hogql`).

:class:`AsyncPostHogClient` has one method per endpoint, written by part of the API in
:mod:`lineage.api.resources` (saved queries, materialization, folders, jobs, data warehouse,
tables, consumers, HogQL); what they share (transport, limits, retries, pagination) is its
:class:`~lineage.api.transport.Sender`. Its blocking twin, :class:`~lineage.api.blocking.PostHogClient`,
offers the same methods synchronously.

>>> from lineage.config import Settings
>>> settings = Settings.resolve(host="http://127.0.0.1:8000", project="1", api_key="phx_x", env={})
>>> async with AsyncPostHogClient(settings) as client:   # doctest: +SKIP
...     views = await client.list_views()
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Unpack

from lineage.api.limits import SlidingWindowLimiter
from lineage.api.options import ClientKeywords, ClientOptions, resolve_options
from lineage.api.resources import (
    Consumers,
    DataWarehouse,
    Folders,
    HogQL,
    Jobs,
    Materialization,
    SavedQueries,
    Tables,
)
from lineage.api.resources.saved_queries import SYNC_FREQUENCIES, UNSET
from lineage.api.transport import Sender
from lineage.config import Settings

__all__ = ["SYNC_FREQUENCIES", "UNSET", "AsyncPostHogClient"]


class AsyncPostHogClient(
    SavedQueries, Materialization, Folders, Jobs, DataWarehouse, Tables, Consumers, HogQL
):
    """Async client for one PostHog project; one instance per project and key.

    Its endpoint methods come from the resource mixins it is made of, one per part of the API. Its
    options (retries, waits, budgets, deadlines, caps, the HogQL limit) are those of
    :class:`~lineage.api.options.ClientOptions`, given as keywords or as ``options=``.
    """

    def __init__(
        self, settings: Settings, *, options: ClientOptions | None = None, **keywords: Unpack[ClientKeywords]
    ) -> None:
        settings.require_api()
        self.options = resolve_options(options, keywords)
        self._sender = Sender(settings, self.options)
        self.settings = settings
        self.project = self._sender.project
        self.stats = self._sender.stats

    @property
    def on_throttle(self) -> Callable[[float, float, float], None] | None:
        """Called as ``on_throttle(wait, spent, budget)`` each time a 429 closes (or extends) the gate."""
        return self._sender.on_throttle

    @on_throttle.setter
    def on_throttle(self, hook: Callable[[float, float, float], None] | None) -> None:
        self._sender.on_throttle = hook

    @property
    def _view_limiters(self) -> dict[tuple[str, str], SlidingWindowLimiter]:
        """The sender's per-view limiters (``run``, ``materialize``), as tests inspect them."""
        return self._sender.view_limiters

    def server_now(self) -> datetime | None:
        """The server's clock (from the last ``Date`` header, plus time since), or None before any answer.

        Job windows and staleness are measured on it, so a skewed local clock does not distort them.
        """
        return self._sender.server_now()

    def seed_server_time(self, moment: datetime) -> None:
        """Take ``moment`` as the server's clock now, unless an answer has told it already.

        A resumed crawl seeds it from its journal, so one that has nothing left to ask still
        measures job windows and staleness on the server's clock, as the interrupted crawl did.
        """
        self._sender.seed_server_time(moment)

    def __repr__(self) -> str:
        return f"AsyncPostHogClient(host={self.settings.host!r}, project={self.project!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._sender.aclose()

    async def __aenter__(self) -> AsyncPostHogClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
