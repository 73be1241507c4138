"""The blocking PostHog client: :class:`PostHogClient`, the twin of
:class:`~lineage.api.client.AsyncPostHogClient` with the same methods, arguments and docstrings.

Each blocking method is made from the async method of the same name (:func:`_blocking`,
:func:`_iterating`), so the two cannot drift apart and mypy still sees every signature. The async
client runs on a private event loop in a background thread (:class:`lineage.aio.LoopThread`), so
this works from scripts and from inside a running loop (Jupyter) alike.

>>> from lineage.config import Settings
>>> settings = Settings.resolve(host="http://127.0.0.1:8000", project="1", api_key="phx_x", env={})
>>> with PostHogClient(settings) as client:   # doctest: +SKIP
...     views = client.list_views()
"""

from __future__ import annotations

import functools
import uuid
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterable, Iterator, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar, Unpack

from lineage.aio import LoopThread
from lineage.api.client import AsyncPostHogClient
from lineage.api.options import ClientKeywords, ClientOptions
from lineage.api.query import check_limit, check_query_text, with_limit
from lineage.api.resources.saved_queries import check_level
from lineage.api.retry import ClientStats
from lineage.config import Settings

__all__ = ["PostHogClient"]

T = TypeVar("T")
P = ParamSpec("P")


def _blocking(
    method: Callable[Concatenate[AsyncPostHogClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[PostHogClient, P], T]:
    """The blocking twin of an async endpoint method: same name, arguments, types and docstring."""

    @functools.wraps(method)
    def call(self: PostHogClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(method(self._async, *args, **kwargs))

    call.__qualname__ = f"PostHogClient.{method.__name__}"
    return call


def _iterating(
    method: Callable[Concatenate[AsyncPostHogClient, P], AsyncGenerator[T, None]],
) -> Callable[Concatenate[PostHogClient, P], Iterator[T]]:
    """The blocking twin of an async ``iter_*`` method: an iterator that fetches page by page."""

    @functools.wraps(method)
    def call(self: PostHogClient, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        return self._iterate(method(self._async, *args, **kwargs))

    call.__qualname__ = f"PostHogClient.{method.__name__}"
    return call


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()


class PostHogClient:
    """Blocking twin of :class:`AsyncPostHogClient` with the same methods and arguments.

    Safe in plain scripts and inside a running event loop (Jupyter): the async client runs on a
    private loop in a background thread. Close it (or use ``with``) to stop that thread. Options
    are those of :class:`~lineage.api.options.ClientOptions`, as keywords or as ``options=``.
    """

    def __init__(
        self, settings: Settings, *, options: ClientOptions | None = None, **keywords: Unpack[ClientKeywords]
    ) -> None:
        self._async = AsyncPostHogClient(settings, options=options, **keywords)
        self._loop = LoopThread("lineage-api-loop")
        # a client dropped without close() must not leave its loop thread spinning for ever
        weakref.finalize(self, self._loop.stop)

    @property
    def stats(self) -> ClientStats:
        """Counters: requests per endpoint template, retries, throttled, seconds waited."""
        return self._async.stats

    @property
    def settings(self) -> Settings:
        return self._async.settings

    @property
    def options(self) -> ClientOptions:
        return self._async.options

    @property
    def aio(self) -> AsyncPostHogClient:
        """The async client underneath (usable only on this client's loop)."""
        return self._async

    def __repr__(self) -> str:
        return f"PostHogClient(host={self.settings.host!r}, project={self._async.project!r})"

    def close(self) -> None:
        """Close connections and stop the background loop; idempotent."""
        if not self._loop.loop.is_closed():
            try:
                self._run(self._async.aclose())
            finally:
                self._loop.stop()

    def __enter__(self) -> PostHogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop.in_own_thread():
            coro.close()
            raise RuntimeError("PostHogClient called from its own loop thread; use AsyncPostHogClient there")
        if self._loop.loop.is_closed():
            coro.close()
            raise RuntimeError("PostHogClient is closed")
        return self._loop.run(coro)

    def _iterate(self, agen: AsyncGenerator[T, None]) -> Iterator[T]:
        try:
            while True:
                try:
                    item = self._run(_anext(agen))
                except StopAsyncIteration:
                    return
                yield item
        finally:
            if not self._loop.loop.is_closed():
                self._run(agen.aclose())

    # saved queries
    iter_views = _iterating(AsyncPostHogClient.iter_views)
    list_views = _blocking(AsyncPostHogClient.list_views)
    get_view = _blocking(AsyncPostHogClient.get_view)
    create_view = _blocking(AsyncPostHogClient.create_view)
    update_view = _blocking(AsyncPostHogClient.update_view)
    delete_view = _blocking(AsyncPostHogClient.delete_view)

    def ancestors(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        """See :meth:`AsyncPostHogClient.ancestors`; refuses a bad ``level`` at once."""
        check_level(level)
        return self._run(self._async.ancestors(view_id, level))

    def descendants(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        """See :meth:`AsyncPostHogClient.descendants`; refuses a bad ``level`` at once."""
        check_level(level)
        return self._run(self._async.descendants(view_id, level))

    dependencies = _blocking(AsyncPostHogClient.dependencies)
    view_activity = _blocking(AsyncPostHogClient.view_activity)

    # materialization (a view's actions)
    run = _blocking(AsyncPostHogClient.run)
    materialize = _blocking(AsyncPostHogClient.materialize)
    resume = _blocking(AsyncPostHogClient.resume)
    revert_materialization = _blocking(AsyncPostHogClient.revert_materialization)
    cancel = _blocking(AsyncPostHogClient.cancel)
    run_history = _blocking(AsyncPostHogClient.run_history)

    def resume_schedules(self, view_ids: Iterable[str | uuid.UUID]) -> None:
        """See :meth:`AsyncPostHogClient.resume_schedules`; ``view_ids`` is read in the caller's thread."""
        self._run(self._async.resume_schedules(list(view_ids) if not isinstance(view_ids, str) else view_ids))

    check_incremental = _blocking(AsyncPostHogClient.check_incremental)

    # folders
    list_folders = _blocking(AsyncPostHogClient.list_folders)
    get_folder = _blocking(AsyncPostHogClient.get_folder)
    create_folder = _blocking(AsyncPostHogClient.create_folder)
    update_folder = _blocking(AsyncPostHogClient.update_folder)
    delete_folder = _blocking(AsyncPostHogClient.delete_folder)

    # jobs
    iter_jobs = _iterating(AsyncPostHogClient.iter_jobs)
    list_jobs = _blocking(AsyncPostHogClient.list_jobs)
    get_job = _blocking(AsyncPostHogClient.get_job)
    recent_jobs = _blocking(AsyncPostHogClient.recent_jobs)
    running_jobs = _blocking(AsyncPostHogClient.running_jobs)

    # data_warehouse
    iter_completed_activity = _iterating(AsyncPostHogClient.iter_completed_activity)
    completed_activity = _blocking(AsyncPostHogClient.completed_activity)
    failed_activity = _blocking(AsyncPostHogClient.failed_activity)
    data_health_issues = _blocking(AsyncPostHogClient.data_health_issues)
    check_database_name = _blocking(AsyncPostHogClient.check_database_name)

    # warehouse tables
    iter_tables = _iterating(AsyncPostHogClient.iter_tables)
    list_tables = _blocking(AsyncPostHogClient.list_tables)
    get_table = _blocking(AsyncPostHogClient.get_table)

    # consumers
    list_insights = _blocking(AsyncPostHogClient.list_insights)
    list_dashboards = _blocking(AsyncPostHogClient.list_dashboards)
    get_dashboard = _blocking(AsyncPostHogClient.get_dashboard)
    list_notebooks = _blocking(AsyncPostHogClient.list_notebooks)
    get_notebook = _blocking(AsyncPostHogClient.get_notebook)
    list_endpoints = _blocking(AsyncPostHogClient.list_endpoints)
    list_alerts = _blocking(AsyncPostHogClient.list_alerts)

    # query API (HogQL)
    hogql = _blocking(AsyncPostHogClient.hogql)

    def iter_hogql(
        self,
        query: str,
        *,
        values: Mapping[str, Any] | None = None,
        page_size: int = 10000,
        prefetch: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """See :meth:`AsyncPostHogClient.iter_hogql`; validates its arguments at once."""
        check_query_text(query)
        with_limit(query, check_limit(page_size, "page_size"))
        return self._iterate(
            self._async.iter_hogql(query, values=values, page_size=page_size, prefetch=prefetch)
        )
