"""The query API: one HogQL query (:meth:`HogQL.hogql`), every row of one page by page
(:meth:`HogQL.iter_hogql`), and the polling of a query PostHog runs asynchronously. HogQL requests
pass the sender's own limit (120 queries an hour per key by default)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from lineage.api.query import QueryResult, check_limit, check_query_text, with_limit
from lineage.api.resources.base import QUERY, QUERY_ID, Resource, segment
from lineage.config import redact
from lineage.errors import BadRequestError, PaymentRequiredError, ProtocolError, ServerError

__all__ = ["HogQL"]


def _drop_outcome(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class HogQL(Resource):
    """The endpoint methods of ``query/`` (needs ``query:read``)."""

    async def hogql(
        self,
        query: str,
        *,
        values: Mapping[str, Any] | None = None,
        limit: int | None = None,
        refresh: str = "blocking",
    ) -> QueryResult:
        """Run one HogQL query (needs ``query:read``); ``{name}`` placeholders take ``values``.

        ``limit`` (1..50000) appends ``LIMIT n``; without it PostHog applies 100. ``refresh="async"``
        asks PostHog to queue the query; the answer is polled until complete either way.
        Raises MissingScopeError (``query:read``), TableAccessError, PaymentRequiredError (quota),
        BadRequestError (HogQL errors) and RateLimitedError (120 queries/hour per key by default).
        """
        sql = check_query_text(query)
        if limit is not None:
            sql = with_limit(sql, check_limit(limit, "limit"))
        return await self._run_query(sql, values, refresh=refresh)

    async def iter_hogql(
        self,
        query: str,
        *,
        values: Mapping[str, Any] | None = None,
        page_size: int = 10000,
        prefetch: bool = False,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Every row of a HogQL query as ``{column: value}``, paging with LIMIT/OFFSET.

        The query must not have its own top-level LIMIT/OFFSET, and should ORDER BY a unique key so
        that pages neither repeat nor skip rows. Each page is one request against the HogQL limit.
        ``prefetch`` asks for the next page before handing out this one's rows, so that the caller's
        work on them overlaps PostHog's on the next; a caller that stops early has then spent one
        request more.
        """
        sql = check_query_text(query)
        size = check_limit(page_size, "page_size")
        with_limit(sql, size)  # refuses a query with its own LIMIT before any request
        offset = 0
        page = await self._run_query(with_limit(sql, size, offset), values, refresh="blocking")
        while True:
            # a full page may hide more rows even when hasMore is missing (older PostHog versions)
            more = bool(page.results) and (page.has_more or len(page.results) >= size)
            offset += len(page.results)
            following = None
            if more and prefetch:
                ahead = self._run_query(with_limit(sql, size, offset), values, refresh="blocking")
                following = asyncio.ensure_future(ahead)
                await asyncio.sleep(0)  # on its way before the first row is handed out
            try:
                for row in page.iter_rows():
                    yield row
            except BaseException:  # the caller stopped (or failed): the page asked for ahead goes
                if following is not None:
                    following.cancel()
                    # its outcome is dropped unseen, without a "never retrieved" warning
                    following.add_done_callback(_drop_outcome)
                raise
            if not more:
                return
            if following is not None:
                page = await following
            else:
                page = await self._run_query(with_limit(sql, size, offset), values, refresh="blocking")

    async def _run_query(self, sql: str, values: Mapping[str, Any] | None, *, refresh: str) -> QueryResult:
        if refresh not in ("blocking", "async", "force_blocking", "force_async"):
            raise ValueError(f"refresh must be 'blocking' or 'async', got {refresh!r}")
        inner: dict[str, Any] = {"kind": "HogQLQuery", "query": sql}
        if values is not None:
            if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
                raise ValueError("values must map placeholder names to values")
            try:
                json.dumps(dict(values), allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"values must be JSON data (text, numbers, booleans, lists): {exc}"
                ) from None
            inner["values"] = dict(values)
        payload = {"query": inner, "refresh": refresh}
        url = self._sender.url(QUERY)
        display = self._sender.display("POST", url)
        body: Any = None
        quota: PaymentRequiredError | None = None
        try:
            # a query changes nothing, so a failed attempt is safe to repeat
            body = await self._sender.request(
                "POST", QUERY, url, body=payload, read_only=True, limiter=self._sender.hogql_limiter
            )
        except PaymentRequiredError as exc:
            quota = PaymentRequiredError(
                f"{display}: PostHog refused the HogQL query because the organization is over its query "
                f"quota (HTTP 402: {exc.body.get('detail') if isinstance(exc.body, dict) else 'quota'}); "
                "wait for the quota to reset or raise the billing limit, then try again",
                status=exc.status,
                method=exc.method,
                path=exc.path,
                body=exc.body,
            )
        if quota is not None:
            raise quota  # outside the ``except``: one error in the printed chain, not two
        if isinstance(body, Mapping) and "query_status" in body and "results" not in body:
            body = await self._poll_query(body["query_status"], display)
        return self._parse(QueryResult.from_api, body, display)

    async def _poll_query(self, status: Any, display: str) -> Any:
        """Poll ``query/<id>/`` with growing pauses until complete; its results, or an error."""
        waited = 0.0
        delay = 0.5
        while True:
            if not isinstance(status, Mapping) or not isinstance(status.get("id"), str):
                raise ProtocolError(f"{display}: an asynchronous query answer without a query_status id")
            if status.get("error"):
                message = redact(str(status.get("error_message") or "no reason given"))[:500]
                raise BadRequestError(
                    f"{display}: the asynchronous HogQL query failed ({message}); fix the query and retry",
                    path=display,
                )
            if status.get("complete"):
                return status.get("results")
            if waited >= self.options.query_timeout:
                raise ServerError(
                    f"{display}: the asynchronous HogQL query did not complete within "
                    f"{self.options.query_timeout:g} s; try again later or narrow the query",
                    path=display,
                )
            await self._sender.wait(delay)
            waited += delay
            delay = min(delay * 2, 10.0)
            qid = segment(status["id"], "query id")
            body = await self._sender.get(QUERY_ID, what=f"query {qid}", id=qid)
            status = body.get("query_status") if isinstance(body, Mapping) else None
