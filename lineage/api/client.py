"""The PostHog API client: every saved-query, folder, job, activity and warehouse-table endpoint,
and HogQL through the query API (:meth:`AsyncPostHogClient.hogql`, :meth:`~AsyncPostHogClient.iter_hogql`).

:class:`AsyncPostHogClient` does the work on ``httpx.AsyncClient``; :class:`PostHogClient` offers the
same methods synchronously by running the async client on a private event loop in a background
thread, so it works from scripts and from inside a running loop (Jupyter) alike.

>>> from lineage.config import Settings
>>> settings = Settings.resolve(host="http://127.0.0.1:8000", project="1", api_key="phx_x", env={})
>>> with PostHogClient(settings) as client:   # doctest: +SKIP
...     views = client.list_views()
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
import uuid
import weakref
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, Final, TypeVar
from urllib.parse import quote

import httpx

from lineage.api.consumer_models import Alert, Dashboard, Endpoint, Insight, Notebook
from lineage.api.error_map import api_error, safe_body, snippet
from lineage.api.limits import Clock, SlidingWindowLimiter, acquire_all
from lineage.api.models import (
    ActivityRow,
    DatabaseNameCheck,
    Dependencies,
    Folder,
    HealthIssue,
    Job,
    RunHistoryEntry,
    SavedQuery,
    Table,
    ViewActivity,
)
from lineage.api.pagination import paginate
from lineage.api.query import (
    DEFAULT_HOGQL_PER_HOUR,
    QueryResult,
    check_limit,
    check_query_text,
    with_limit,
)
from lineage.api.retry import Backoff, ClientStats, retry_after_seconds
from lineage.config import (
    ENV_MAX_RESPONSE_MB,
    ENV_PROJECT,
    ENV_REQUEST_DEADLINE,
    ENV_THROTTLE_BUDGET,
    Settings,
    redact,
)
from lineage.errors import (
    ApiError,
    BadRequestError,
    PaymentRequiredError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from lineage.io import scrub_surrogates
from lineage.posthog import SYNC_FREQUENCY_WRITE

__all__ = ["SYNC_FREQUENCIES", "UNSET", "AsyncPostHogClient", "PostHogClient"]

log = logging.getLogger("lineage.api")

T = TypeVar("T")

# A second of slack on every window: PostHog stamps a request when it arrives, later than we do, so a
# window that has just passed for us may not have passed for it yet.
WINDOW_SLACK: Final = 1.0
# per-view limiters are swept for idle ones once there are this many
VIEW_LIMITER_SWEEP: Final = 256
RUN_LIMIT: Final = (10, 60.0 + WINDOW_SLACK)
MATERIALIZE_LIMIT: Final = (5, 3600.0 + WINDOW_SLACK)
SYNC_FREQUENCIES: Final = SYNC_FREQUENCY_WRITE
_P = "/api/projects/{project}/"
_SQ = _P + "warehouse_saved_queries/"
_SQ_ID = _SQ + "{id}/"
_FOLDERS = _P + "warehouse_saved_query_folders/"
_JOBS = _P + "data_modeling_jobs/"
_DW = _P + "data_warehouse/"
_TABLES = _P + "warehouse_tables/"
_QUERY = _P + "query/"
_QUERY_ID = _QUERY + "{id}/"


_INVALID: Final = object()
# a 429 without a usable Retry-After (or with 0) waits at least this long, backing off
MIN_THROTTLE_WAIT: Final = 0.05
# the longest single wait (a window, a Retry-After) taken without being told otherwise
DEFAULT_MAX_WAIT: Final = 300.0
# an id in a lineage answer longer than this is not a UUID or a table name
MAX_ID_CHARS: Final = 1000
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]|\\u[dD][c-fC-F]")
_READ_CHUNK: Final = 65536
# a parsed answer may take this many times the cap; an empty dict or list costs ~100 bytes parsed
PARSED_FACTOR: Final = 4
PARSED_BYTES_PER_STRUCTURE: Final = 100


class _DeadlineExceeded(Exception):
    """The whole request (connect, headers, body) took longer than the client's deadline."""


class _TooLarge(Exception):
    def __init__(self, limit: int, how: str) -> None:
        super().__init__(limit)
        self.limit = limit
        self.how = how


class _BadEncoding(Exception):
    """A Content-Encoding we did not ask for and cannot inflate."""


class _Inflater:
    """Decode one Content-Encoding incrementally, never producing more than asked for."""

    def __init__(self, encoding: str) -> None:
        names = [e.strip().lower() for e in encoding.split(",") if e.strip()]
        names = [e for e in names if e != "identity"]
        if len(names) > 1 or (names and names[0] not in ("gzip", "x-gzip", "deflate")):
            raise _BadEncoding(encoding[:40])
        self.kind = names[0] if names else None
        self._zlib: Any = None
        if self.kind in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.kind == "deflate":
            self._zlib = zlib.decompressobj()
        self._started = False

    def feed(self, chunk: bytes, room: int) -> bytes:
        """Up to ``room + 1`` decoded bytes of ``chunk`` (one more than room means: too large)."""
        if self._zlib is None:
            return chunk
        try:
            out: bytes = self._zlib.decompress(chunk, room + 1)
        except zlib.error:
            if self.kind == "deflate" and not self._started:
                # some servers send raw deflate without the zlib wrapper
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._zlib.decompress(chunk, room + 1)
            else:
                raise
        self._started = True
        return out

    def finish(self, room: int) -> bytes:
        if self._zlib is None:
            return b""
        out: bytes = self._zlib.flush()
        return out[: room + 1]


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, read and inflated chunk by chunk; ``_TooLarge`` past ``limit`` bytes."""
    if response.is_stream_consumed:
        # an answer made in memory (a mock transport) was read, and decoded, when it was made
        if len(response.content) > limit:
            raise _TooLarge(limit, "")
        _refuse_json_flood(response.content, limit)
        return response.content
    inflater = _Inflater(response.headers.get("content-encoding", ""))
    declared = response.headers.get("content-length", "")
    if inflater.kind is None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(limit, f" (it announced {int(declared) / 1048576:.0f} MB)")
    body = bytearray()
    wire = 0
    try:
        async for chunk in response.aiter_raw(_READ_CHUNK):
            wire += len(chunk)
            if wire > limit:
                raise _TooLarge(limit, "")
            body += inflater.feed(chunk, limit - len(body))
            if len(body) > limit:
                raise _TooLarge(limit, f" ({wire / 1048576:.1f} MB on the wire inflate past it)")
        body += inflater.finish(limit - len(body))
    except zlib.error:
        raise _BadEncoding(f"{inflater.kind} (corrupt)") from None
    if len(body) > limit:
        raise _TooLarge(limit, "")
    _refuse_json_flood(body, limit)
    return bytes(body)


def _refuse_json_flood(body: bytes | bytearray, limit: int) -> None:
    """Refuse an answer whose parsed form would dwarf the cap: ``[{},{},...]`` takes 3 bytes per
    value on the wire and ~70 once parsed. Counted in C (``bytes.count``), before parsing;
    braces and commas inside strings only make the estimate larger, never smaller."""
    structures = body.count(b"{") + body.count(b"[")
    items = body.count(b",")
    parsed = len(body) + PARSED_BYTES_PER_STRUCTURE * structures + 8 * items
    if parsed > PARSED_FACTOR * limit:
        raise _TooLarge(
            limit,
            f" once parsed ({structures:,} objects and arrays, {items:,} items in "
            f"{len(body) / 1048576:.1f} MB)",
        )


class _CrossOriginRedirect(Exception):
    """Raised from the response hook to stop httpx before it follows a redirect to another origin."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks an optional PATCH field as "leave unchanged" where ``None`` means "clear it"."""


def _segment(value: str | uuid.UUID, what: str) -> str:
    """One path segment from an id; refuses values that would change the path's meaning."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str) or not value.strip() or value.strip() in {".", ".."}:
        raise ValueError(f"{what} must be a non-empty id string, got {value!r}")
    return quote(value.strip(), safe="")


def _level(level: Any) -> int | None:
    if level is None:
        return None
    if isinstance(level, bool) or not isinstance(level, int):
        raise ValueError(f"level must be a whole number >= 1 or None (meaning all), got {level!r}")
    if level < 1:
        raise ValueError(
            f"level must be >= 1 or None (meaning all), got {level}: PostHog answers [] for 0 and "
            "slices oddly for negative levels"
        )
    return level


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class AsyncPostHogClient:
    """Async client for one PostHog project; one instance per project and key.

    ``sleep`` (sync or async, seconds) replaces waiting, for tests; without ``clock`` time is then
    advanced by each fake sleep so rate windows still pass. ``max_wait`` bounds a single wait on a
    client-side limit (300 s unless given) or ``Retry-After`` (only the throttle budget unless
    given): longer waits raise :class:`RateLimitedError` saying when to retry. PostHog's 429s
    hold every request of the client back (one shared gate) for at most ``throttle_budget``
    seconds of wall time in all (``settings.throttle_budget``; an explicit ``max_wait`` larger
    than it raises it); 5xx answers and lost connections get the separate, small budget of
    ``retries``. ``deadline`` bounds one request in all (connect,
    headers, body: a server trickling bytes cannot hold it longer) and ``max_response_bytes`` the
    decoded size of one answer (a gzip bomb stops there); both default from ``settings``.
    ``hogql_per_hour`` is the client's own limit on HogQL queries (PostHog allows 120/hour per key,
    apart from the 480/minute of the other endpoints); ``query_timeout`` bounds the polling of an
    asynchronous query.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30,
        concurrency: int = 8,
        retries: int = 5,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] | None = None,
        max_wait: float | None = None,
        backoff: Backoff | None = None,
        hogql_per_hour: int = DEFAULT_HOGQL_PER_HOUR,
        query_timeout: float = 600.0,
        throttle_budget: float | None = None,
        deadline: float | None = None,
        max_response_bytes: int | None = None,
    ) -> None:
        settings.require_api()
        # a caller that allows one long wait (a materialization's hour) may spend it in all
        self._budget_floor = 0.0 if max_wait is None else max_wait
        # without an explicit max_wait, a Retry-After is bounded by the throttle budget alone
        # (PostHog's can be a minute and more); client-side windows keep the 300 s bound
        self._retry_after_bound = math.inf if max_wait is None else max_wait
        max_wait = DEFAULT_MAX_WAIT if max_wait is None else max_wait
        if timeout <= 0 or concurrency < 1 or retries < 0 or max_wait < 0:
            raise ValueError("timeout must be > 0, concurrency >= 1, retries >= 0 and max_wait >= 0")
        if isinstance(hogql_per_hour, bool) or not isinstance(hogql_per_hour, int) or hogql_per_hour < 1:
            raise ValueError(f"hogql_per_hour must be a whole number >= 1, got {hogql_per_hour!r}")
        if query_timeout <= 0:
            raise ValueError(f"query_timeout must be > 0 seconds, got {query_timeout!r}")
        assert settings.api_key is not None and settings.project is not None  # require_api checked
        self.settings = settings
        self.project = settings.project
        self.stats = ClientStats()
        self._server_time: tuple[datetime, float] | None = None
        self._retries = retries
        self._max_wait = max_wait
        self._backoff = backoff or Backoff()
        self._clock = Clock(sleep=sleep, clock=clock)
        self._sem = asyncio.Semaphore(concurrency)
        self._limiter = SlidingWindowLimiter(
            [(settings.max_rpm, 60.0 + WINDOW_SLACK), (settings.max_rph, 3600.0 + WINDOW_SLACK)],
            clock=self._clock.now,
        )
        self._view_limiters: dict[tuple[str, str], SlidingWindowLimiter] = {}
        self._hogql_limiter = SlidingWindowLimiter(
            [(hogql_per_hour, 3600.0 + WINDOW_SLACK)], clock=self._clock.now
        )
        self._query_timeout = query_timeout
        # 429s: every request waits behind one gate (a 429 slows the whole client down, not only the
        # request that got it), for at most throttle_budget seconds of wall time in all
        self._throttle_budget = settings.throttle_budget if throttle_budget is None else throttle_budget
        self._throttle_spent = 0.0
        self._gate_until = float("-inf")
        self._deadline = settings.request_deadline if deadline is None else deadline
        self._max_bytes = settings.max_response_bytes if max_response_bytes is None else max_response_bytes
        if self._throttle_budget < 0 or self._deadline <= 0 or self._max_bytes < 1:
            raise ValueError("throttle_budget must be >= 0, deadline > 0 and max_response_bytes >= 1")
        self.on_throttle: Callable[[float, float, float], None] | None = None
        """Called as ``on_throttle(wait, spent, budget)`` each time a 429 closes (or extends) the gate."""
        self._base = f"{settings.host}/api/projects/{quote(settings.project, safe='@')}/"
        self._origin = _origin(httpx.URL(self._base))
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            event_hooks={"response": [self._refuse_foreign_redirect]},
            headers={
                "Authorization": f"Bearer {settings.api_key.reveal()}",
                "Accept": "application/json",
                # only what we inflate ourselves, chunk by chunk under the size cap
                "Accept-Encoding": "gzip, deflate",
                "User-Agent": "lineage/0.1 (+httpx)",
            },
        )

    def __repr__(self) -> str:
        return f"AsyncPostHogClient(host={self.settings.host!r}, project={self.project!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncPostHogClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ plumbing

    async def _refuse_foreign_redirect(self, response: httpx.Response) -> None:
        """Stop a redirect to another origin before httpx follows it.

        httpx would strip the Authorization header there, but the request body (SQL, names) would
        still go to that host and its answer would be taken for PostHog's; an unauthenticated 401
        from it would also blame the key. Same-origin redirects (``/api/environments/`` -> 307 ->
        ``/api/projects/``) are followed as before.
        """
        if not response.has_redirect_location:
            return
        try:
            target = response.request.url.join(response.headers["location"])
        except (httpx.InvalidURL, ValueError, TypeError):
            return  # httpx reports a malformed Location itself
        if _origin(target) != self._origin:
            raise _CrossOriginRedirect(f"{target.scheme}://{target.netloc.decode('ascii', 'replace')}")

    def _note_server_time(self, header: str | None) -> None:
        if not header:
            return
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        self._server_time = (moment, time.monotonic())

    def server_now(self) -> datetime | None:
        """The server's clock (from the last ``Date`` header, plus time since), or None before any answer.

        Job windows and staleness are measured on it, so a skewed local clock does not distort them.
        """
        if self._server_time is None:
            return None
        moment, seen = self._server_time
        return moment + timedelta(seconds=time.monotonic() - seen)

    def _url(self, template: str, **ids: str) -> str:
        """Absolute URL for an endpoint template relative to the project base."""
        rel = template.removeprefix(_P).format(**ids)
        return self._base + rel

    def _display(self, method: str, url: str) -> str:
        return redact(f"{method} {httpx.URL(url).path}")

    async def _wait(self, seconds: float) -> None:
        """Wait on a rate limit: counted as wall time in ``stats.waited_s``."""
        self.stats.waited(seconds, start=self._clock.now())
        await self._clock.sleep(seconds)

    async def _backoff_wait(self, seconds: float) -> None:
        """Wait before retrying a failure (5xx, lost connection): not a rate limit, not counted."""
        await self._clock.sleep(seconds)

    def seed_server_time(self, moment: datetime) -> None:
        """Take ``moment`` as the server's clock now, unless an answer has told it already.

        A resumed crawl seeds it from its journal, so one that has nothing left to ask still
        measures job windows and staleness on the server's clock, as the interrupted crawl did.
        """
        if self._server_time is None:
            self._server_time = (_aware(moment), time.monotonic())

    def _close_gate(self, wait: float) -> bool:
        """Hold every request back for ``wait`` seconds from now; False once the budget is spent.

        One gate for all requests because PostHog's throttles are per key, not per request: DRF
        ``SimpleRateThrottle`` subclasses in ``posthog/rate_limit.py`` (``PersonalApiKeyRateThrottle``)
        count every request of the key in a time window, and the 429 says when that window has
        room again (``Retry-After``, from DRF's ``wait()``). Any request sent before then is
        refused too and only spends the user's shared window.
        """
        now = self._clock.now()
        until = now + wait
        extension = max(0.0, until - max(self._gate_until, now))
        if self._throttle_spent + extension > max(self._throttle_budget, self._budget_floor):
            return False
        self._throttle_spent += extension
        self._gate_until = max(self._gate_until, until)
        # the whole closure is time spent waiting on a rate limit, however many requests wait it out
        self.stats.waited(wait, start=now)
        if self.on_throttle is not None and extension > 0:
            self.on_throttle(wait, self._throttle_spent, self._throttle_budget)
        return True

    async def _pass_gate(self) -> None:
        while True:
            now = self._clock.now()
            wait = self._gate_until - now
            if wait <= 0:
                return
            await self._clock.sleep(wait)

    def _view_limiter(self, view_limit: tuple[str, str]) -> SlidingWindowLimiter:
        limiter = self._view_limiters.get(view_limit)
        if limiter is None:
            if len(self._view_limiters) >= VIEW_LIMITER_SWEEP:
                # a long session touching many views must not keep a limiter per view for ever;
                # one whose events have all left their window holds nothing worth keeping
                for key in [k for k, v in self._view_limiters.items() if v.idle()]:
                    del self._view_limiters[key]
            window = RUN_LIMIT if view_limit[0] == "run" else MATERIALIZE_LIMIT
            limiter = SlidingWindowLimiter([window], clock=self._clock.now)
            self._view_limiters[view_limit] = limiter
        return limiter

    def _limit_error(self, exc: TimeoutError, display: str) -> RateLimitedError:
        wait = float(exc.args[0]) if exc.args else self._max_wait
        limiter = exc.args[1] if len(exc.args) > 1 else self._limiter
        # a wait past max_wait comes from the longest window (a minute's wait never exceeds it)
        count, seconds = max(limiter.windows, key=lambda window: window[1])
        return RateLimitedError(
            f"{display}: client-side limit of {count} requests per {seconds:g} s reached; "
            f"try again in {wait:.0f} s (PostHog would answer 429)",
            retry_after=wait,
            path=display,
        )

    async def _acquire(
        self,
        view_limit: tuple[str, str] | None,
        display: str,
        extra: SlidingWindowLimiter | None = None,
    ) -> None:
        """Wait for room in every limit that applies, then record the request in all at once.

        Called with a concurrency slot held, right before sending, so that the recorded moments are
        when requests really leave: stamps taken before a queue wait would let a backlog go out in
        one burst. The narrow limits (per view, HogQL) are first waited for without a slot, so a
        minute-long wait on one view's ``run`` limit does not hold a slot meanwhile.
        """
        limiters = [self._limiter]
        if extra is not None:
            limiters.insert(0, extra)
        if view_limit is not None:
            limiters.insert(0, self._view_limiter(view_limit))
        error: RateLimitedError | None = None
        try:
            await acquire_all(limiters, self._wait, max_wait=self._max_wait)
        except TimeoutError as exc:
            error = self._limit_error(exc, display)
        if error is not None:
            raise error

    async def _await_narrow_limits(
        self, view_limit: tuple[str, str] | None, extra: SlidingWindowLimiter | None
    ) -> None:
        narrow = [] if extra is None else [extra]
        if view_limit is not None:
            narrow.append(self._view_limiter(view_limit))
        while narrow:
            wait = max(limiter.peek() for limiter in narrow)
            if wait <= 0:
                return
            if wait > self._max_wait:
                # _acquire will raise the error with the right window; nothing recorded yet
                return
            await self._wait(wait)

    async def _request(
        self,
        method: str,
        template: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        read_only: bool,
        view_limit: tuple[str, str] | None = None,
        what: str | None = None,
        limiter: SlidingWindowLimiter | None = None,
    ) -> Any:
        """Send one logical request with limits and retries; return decoded JSON or ``None`` if empty.

        ``limiter`` is an extra client-side limit for this request (HogQL queries have their own).
        """
        display = self._display(method, url)
        stat_key = f"{method} {template}"
        attempt = 0  # failures (5xx, transport, bad JSON): the small budget of ``retries``
        throttles = 0  # 429s: bounded by the throttle budget in seconds, not by a count
        overruns = 0  # deadlines passed: a server that trickled once will trickle again
        while True:
            await self._await_narrow_limits(view_limit, limiter)
            sent = await self._send(method, url, params, body, view_limit, display, limiter, stat_key)
            if isinstance(sent, httpx.Response):
                response = sent
            else:
                # nothing reached the server if the connection never opened: safe to retry anything
                unsent = isinstance(sent, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
                overrun = isinstance(sent, _DeadlineExceeded)
                overruns += overrun
                kind = (
                    f"no complete answer within the {self._deadline:g} s deadline "
                    f"(--request-deadline / {ENV_REQUEST_DEADLINE})"
                    if overrun
                    else "timed out"
                    if isinstance(sent, httpx.TimeoutException)
                    else "connection failed"
                )
                if (read_only or unsent) and attempt < self._retries and overruns < 2:
                    attempt += 1
                    self.stats.retry()
                    log.info("%s: %s, retry %d/%d", display, kind, attempt, self._retries)
                    await self._backoff_wait(self._backoff.delay(attempt - 1))
                    continue
                # raised outside any ``except``: the httpx exception (its request holds the
                # Authorization header) must not ride along as ``__context__`` into tracebacks
                raise TransportError(
                    redact(
                        f"{display}: {kind} ({type(sent).__name__}: {str(sent)[:200]})"
                        f"{f' after {attempt} retries' if attempt else ''}; check the network and "
                        f"--host / POSTHOG_HOST ({self.settings.host}), then try again"
                        + ("" if read_only else "; this call changes state, so it was not retried blindly")
                    ),
                    method=method,
                    path=display,
                )
            status = response.status_code
            content = response.content
            self._note_server_time(response.headers.get("date"))
            if status == 429:
                self.stats.throttle()
                parsed = self._try_json(content)
                wait = retry_after_seconds(response.headers, parsed)
                if wait is None or wait < MIN_THROTTLE_WAIT:
                    # no (or a zero) Retry-After: back off, so a broken server cannot spin us
                    wait = max(wait or 0.0, self._backoff.delay(throttles))
                throttles += 1
                if wait <= self._retry_after_bound and self._close_gate(wait):
                    self.stats.retry()
                    log.info("%s: throttled, waiting %.1f s (429 number %d)", display, wait, throttles)
                    continue
                why = (
                    f"its Retry-After of {wait:.0f} s is longer than the {self._max_wait:g} s "
                    "one wait may take"
                    if wait > self._retry_after_bound
                    else f"{self._throttle_spent:.0f} s of the {self._throttle_budget:g} s throttle budget "
                    f"(--throttle-budget / {ENV_THROTTLE_BUDGET}) are spent waiting"
                )
                raise RateLimitedError(
                    f"{display}: PostHog kept answering 429 (rate limited; {why}); "
                    f"try again in {wait:.0f} s, raise the budget, or lower --max-rpm / LINEAGE_MAX_RPM",
                    retry_after=wait,
                    status=429,
                    method=method,
                    path=display,
                    body=safe_body(parsed),
                )
            if status >= 500:
                if read_only and attempt < self._retries:
                    attempt += 1
                    self.stats.retry()
                    log.info("%s: HTTP %d, retry %d/%d", display, status, attempt, self._retries)
                    await self._backoff_wait(self._backoff.delay(attempt - 1))
                    continue
                raise api_error(
                    response,
                    self._try_json(content),
                    display,
                    method,
                    project=self.project,
                    what=what,
                    attempts=attempt,
                    read_only=read_only,
                )
            if 200 <= status < 300:
                if not content.strip():
                    return None
                decoded = self._try_json(content, invalid=_INVALID)
                if decoded is not _INVALID:
                    return decoded
                if read_only and attempt < self._retries:
                    attempt += 1
                    self.stats.retry()
                    log.info("%s: truncated or invalid JSON, retry %d/%d", display, attempt, self._retries)
                    await self._backoff_wait(self._backoff.delay(attempt - 1))
                    continue
                raise ProtocolError(
                    f"{display}: HTTP {status} with a body that is not valid JSON ({snippet(content)}); "
                    "check --host / POSTHOG_HOST points at PostHog"
                    + ("" if read_only else "; the change may have been applied: check before repeating"),
                    status=status,
                    method=method,
                    path=display,
                )
            raise api_error(
                response,
                self._try_json(content),
                display,
                method,
                project=self.project,
                what=what,
                attempts=attempt,
                read_only=read_only,
            )

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        body: Any,
        view_limit: tuple[str, str] | None,
        display: str,
        limiter: SlidingWindowLimiter | None,
        stat_key: str,
    ) -> httpx.Response | Exception:
        """One attempt: the response, or the transport failure to decide about (returned, not raised)."""
        failure: ApiError | None = None
        async with self._sem:
            await self._pass_gate()
            await self._acquire(view_limit, display, limiter)
            await self._pass_gate()  # a 429 may have closed it while we waited on a window
            self.stats.request(stat_key)
            try:
                async with asyncio.timeout(self._deadline):
                    return await self._fetch(method, url, params, body)
            except TimeoutError:
                return _DeadlineExceeded(f"deadline of {self._deadline:g} s passed")
            except _TooLarge as exc:
                failure = ProtocolError(
                    f"{display}: the answer is larger than the {exc.limit / 1048576:g} MB limit{exc.how}; "
                    f"raise it with --max-response-mb / {ENV_MAX_RESPONSE_MB} if the warehouse really "
                    "answers this much, else check --host / POSTHOG_HOST",
                    method=method,
                    path=display,
                )
            except _BadEncoding as exc:
                failure = ProtocolError(
                    f"{display}: the answer's Content-Encoding {exc.args[0]!r} cannot be decoded "
                    "(lineage asks for gzip or deflate); check --host / POSTHOG_HOST points at PostHog",
                    method=method,
                    path=display,
                )
            except _CrossOriginRedirect as exc:
                failure = ProtocolError(
                    redact(
                        f"{display}: PostHog redirected to another host ({exc.target}); the API key is "
                        f"only sent to the configured host. If that is where the project lives, set "
                        f"--host / POSTHOG_HOST to {exc.target} (now {self.settings.host})"
                    ),
                    method=method,
                    path=display,
                )
            except httpx.TooManyRedirects:
                failure = ProtocolError(
                    f"{display}: too many redirects (a redirect loop); check --host / POSTHOG_HOST "
                    f"({self.settings.host}) and --project / {ENV_PROJECT}",
                    method=method,
                    path=display,
                )
            except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
                return exc
        # raised here, outside the ``except`` blocks, so no httpx exception is chained as __context__
        raise failure

    async def _fetch(
        self, method: str, url: str, params: Mapping[str, Any] | None, body: Any
    ) -> httpx.Response:
        """Send and read the whole answer, inflating it chunk by chunk under the size cap.

        The answer handed back holds the decoded body (no Content-Encoding left to apply), so
        nothing downstream inflates it again.
        """
        request = self._http.build_request(
            method,
            url,
            params={k: v for k, v in (params or {}).items() if v is not None} or None,
            json=body,
        )
        response = await self._http.send(request, stream=True)
        try:
            data = await _read_capped(response, self._max_bytes)
        finally:
            await response.aclose()
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=data, request=response.request)

    @staticmethod
    def _try_json(content: bytes, *, invalid: Any = None) -> Any:
        """Decoded JSON, ``None`` for an empty body, ``invalid`` for anything else.

        Lone surrogates (``"\\ud800"``) are valid JSON but cannot be written out as UTF-8: they become
        U+FFFD here, at the edge, rather than failing a save after a whole crawl.
        """
        try:
            decoded = json.loads(content) if content.strip() else None
        except (ValueError, RecursionError):
            return invalid
        if _SURROGATE_ESCAPE.search(content) is not None:
            decoded = scrub_surrogates(decoded)
        return decoded

    def _parse(self, parser: Callable[[Any], T], body: Any, display: str) -> T:
        try:
            return parser(body)
        except ProtocolError as exc:
            message = exc.message
        # raised outside the ``except`` so the error prints alone, without a chained twin
        raise ProtocolError(f"{display}: {message}", path=display, body=None)

    async def _get(self, template: str, *, what: str | None = None, params: Any = None, **ids: str) -> Any:
        url = self._url(template, **ids)
        return await self._request("GET", template, url, params=params, read_only=True, what=what)

    async def _iter(
        self,
        template: str,
        params: Mapping[str, Any] | None = None,
        *,
        stop_on_empty: bool = False,
        **ids: str,
    ) -> AsyncGenerator[Any, None]:
        url = self._url(template, **ids)
        what = self._display("GET", url)

        async def fetch(full_url: str) -> Any:
            return await self._request("GET", template, full_url, read_only=True)

        async for item in paginate(fetch, url, params, what=what, stop_on_empty=stop_on_empty):
            yield item

    # ------------------------------------------------------------------ saved queries

    async def iter_views(self, search: str | None = None) -> AsyncGenerator[SavedQuery, None]:
        """Every saved query (listing shape: no SQL), across all pages, newest first."""
        display = self._display("GET", self._url(_SQ))
        async for raw in self._iter(_SQ, {"search": search}):
            yield self._parse(SavedQuery.from_api, raw, display)

    async def list_views(self, search: str | None = None) -> list[SavedQuery]:
        """All saved queries (``search`` filters names, case-insensitively); ``sql`` is not included."""
        return [v async for v in self.iter_views(search)]

    async def get_view(self, view_id: str | uuid.UUID) -> SavedQuery:
        """One saved query with its SQL; NotFoundError if it is deleted or not in this project."""
        vid = _segment(view_id, "view_id")
        url = self._url(_SQ_ID, id=vid)
        body = await self._request("GET", _SQ_ID, url, read_only=True, what=f"saved query {vid}")
        return self._parse(SavedQuery.from_api, body, self._display("GET", url))

    async def create_view(
        self,
        name: str,
        sql: str,
        *,
        folder_id: str | None = None,
        types: list[tuple[str, str]] | None = None,
        soft_update: bool | None = None,
    ) -> SavedQuery:
        """Create a saved query; PostHog upserts by name (an existing view of that name is updated)."""
        if not isinstance(name, str) or not name or not isinstance(sql, str) or not sql.strip():
            raise ValueError("create_view needs a non-empty name and SQL text")
        payload: dict[str, Any] = {"name": name, "query": {"kind": "HogQLQuery", "query": sql}}
        if folder_id is not None:
            payload["folder_id"] = folder_id
        if types is not None:
            payload["types"] = [list(t) for t in types]
        if soft_update is not None:
            payload["soft_update"] = soft_update
        url = self._url(_SQ)
        body = await self._request("POST", _SQ, url, body=payload, read_only=False)
        return self._parse(SavedQuery.from_api, body, self._display("POST", url))

    async def update_view(
        self,
        view_id: str | uuid.UUID,
        *,
        name: str | None = None,
        sql: str | None = None,
        sync_frequency: str | None = None,
        folder_id: str | _Unset | None = UNSET,
        description: str | None = None,
        edited_history_id: int | str | None = None,
        soft_update: bool | None = None,
    ) -> SavedQuery:
        """PATCH a saved query. Changing ``sql`` needs ``edited_history_id`` (the view's
        ``latest_history_id``: a UUID string in the newest PostHog, an integer in older ones, sent back
        as given) unless ``soft_update``; ``folder_id=None`` removes it from its folder. PostHog
        stores a ``sync_frequency`` of ``1min`` or ``5min`` as ``15min``: read the answer's."""
        vid = _segment(view_id, "view_id")
        payload: dict[str, Any] = {}
        if name is not None:
            payload["name"] = name
        if sql is not None:
            payload["query"] = {"kind": "HogQLQuery", "query": sql}
        if sync_frequency is not None:
            if sync_frequency not in SYNC_FREQUENCIES:
                raise ValueError(
                    f"sync_frequency must be one of {', '.join(sorted(SYNC_FREQUENCIES))}, "
                    f"got {sync_frequency!r}"
                )
            payload["sync_frequency"] = sync_frequency
        if folder_id is not UNSET:
            payload["folder_id"] = folder_id
        if description is not None:
            payload["description"] = description
        if edited_history_id is not None:
            payload["edited_history_id"] = edited_history_id
        if soft_update is not None:
            payload["soft_update"] = soft_update
        if not payload:
            raise ValueError("update_view needs at least one field to change")
        url = self._url(_SQ_ID, id=vid)
        body = await self._request(
            "PATCH", _SQ_ID, url, body=payload, read_only=False, what=f"saved query {vid}"
        )
        return self._parse(SavedQuery.from_api, body, self._display("PATCH", url))

    async def delete_view(self, view_id: str | uuid.UUID) -> None:
        """Soft-delete a saved query (PostHog refuses while other views depend on it)."""
        vid = _segment(view_id, "view_id")
        await self._request(
            "DELETE", _SQ_ID, self._url(_SQ_ID, id=vid), read_only=False, what=f"saved query {vid}"
        )

    async def _lineage(self, direction: str, view_id: str | uuid.UUID, level: int | None) -> list[str]:
        lvl = _level(level)
        vid = _segment(view_id, "view_id")
        template = _SQ_ID + direction + "/"
        url = self._url(template, id=vid)
        payload = {} if lvl is None else {"level": lvl}
        # ancestors/descendants are POSTs that change nothing: safe to retry
        body = await self._request(
            "POST", template, url, body=payload, read_only=True, what=f"saved query {vid}"
        )
        display = self._display("POST", url)
        ids = body.get(direction) if isinstance(body, Mapping) else None
        if isinstance(ids, list) and any(isinstance(i, str) and len(i) > MAX_ID_CHARS for i in ids):
            raise ProtocolError(
                f"{display}: an id of more than {MAX_ID_CHARS} characters in the answer; PostHog names "
                "views and tables by UUIDs and short names: check --host / POSTHOG_HOST points at PostHog",
                path=display,
            )
        if not isinstance(ids, list) or not all(
            isinstance(i, str | int) and not isinstance(i, bool) for i in ids
        ):
            raise ProtocolError(
                f"{display}: expected {{{direction!r}: [ids...]}}; the API answered in an undocumented shape",
                path=display,
            )
        return sorted({str(i) for i in ids})

    async def ancestors(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        """Ids upstream of the view within ``level`` hops (None = all), sorted and deduplicated.

        Ids mix view UUIDs, warehouse-table UUIDs and PostHog table names (dotted ones split in parts).
        """
        return await self._lineage("ancestors", view_id, level)

    async def descendants(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        """Ids downstream of the view within ``level`` hops (None = all), sorted and deduplicated."""
        return await self._lineage("descendants", view_id, level)

    async def dependencies(self, view_id: str | uuid.UUID) -> Dependencies:
        """Counts of distinct direct parents and children."""
        vid = _segment(view_id, "view_id")
        template = _SQ_ID + "dependencies/"
        body = await self._get(template, what=f"saved query {vid}", id=vid)
        return self._parse(Dependencies.from_api, body, self._display("GET", self._url(template, id=vid)))

    async def _action(
        self,
        action: str,
        view_id: str | uuid.UUID,
        limit_kind: str | None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        vid = _segment(view_id, "view_id")
        template = _SQ_ID + action + "/"
        await self._request(
            "POST",
            template,
            self._url(template, id=vid),
            body=dict(body or {}),
            read_only=False,
            view_limit=(limit_kind, vid) if limit_kind else None,
            what=f"saved query {vid}",
        )

    async def run(self, view_id: str | uuid.UUID, *, full_refresh: bool | None = None) -> None:
        """Start a run of the view (at most 10 per minute per view, kept client-side).

        ``full_refresh`` (the newest PostHog's ``{"full_refresh": bool}``) rebuilds an incremental
        view from scratch; None sends no body field, as older PostHog expects."""
        if full_refresh is not None and not isinstance(full_refresh, bool):
            raise ValueError(f"full_refresh must be True, False or None, got {full_refresh!r}")
        body = {} if full_refresh is None else {"full_refresh": full_refresh}
        await self._action("run", view_id, "run", body)

    async def materialize(self, view_id: str | uuid.UUID, *, sync_frequency: str | None = None) -> None:
        """Materialize the view, daily by default (at most 5 per hour per view with reverts).

        ``sync_frequency`` (newest PostHog) picks the cadence; PostHog refuses one outside the
        view's ``sync_frequency_bounds``."""
        if sync_frequency is not None and sync_frequency not in SYNC_FREQUENCIES:
            raise ValueError(
                f"sync_frequency must be one of {', '.join(SYNC_FREQUENCIES)}, got {sync_frequency!r}"
            )
        body = {} if sync_frequency is None else {"sync_frequency": sync_frequency}
        await self._action("materialize", view_id, "materialize", body)

    async def resume(self, view_id: str | uuid.UUID) -> None:
        """Un-suspend one view PostHog suspended after repeated failures (newest PostHog's ``resume``)."""
        await self._action("resume", view_id, None)

    async def revert_materialization(self, view_id: str | uuid.UUID) -> None:
        """Turn a materialized view back into a plain view (shares materialize's 5/hour)."""
        await self._action("revert_materialization", view_id, "materialize")

    async def cancel(self, view_id: str | uuid.UUID) -> None:
        """Cancel a running materialization (BadRequestError if nothing runs)."""
        await self._action("cancel", view_id, None)

    async def run_history(self, view_id: str | uuid.UUID) -> list[RunHistoryEntry]:
        """The (at most five) newest runs of the view, newest first."""
        vid = _segment(view_id, "view_id")
        template = _SQ_ID + "run_history/"
        body = await self._get(template, what=f"saved query {vid}", id=vid)
        display = self._display("GET", self._url(template, id=vid))
        entries = body.get("run_history") if isinstance(body, Mapping) else None
        if not isinstance(entries, list):
            raise ProtocolError(f"{display}: expected {{'run_history': [...]}}", path=display)
        return [self._parse(RunHistoryEntry.from_api, e, display) for e in entries]

    async def resume_schedules(self, view_ids: Iterable[str | uuid.UUID]) -> None:
        """Resume the sync schedules of these views (unknown ids are ignored by PostHog)."""
        if isinstance(view_ids, str):
            raise ValueError("resume_schedules takes a list of view ids, not one string")
        ids = sorted({_segment(v, "view_id") for v in view_ids})
        if not ids:
            raise ValueError("resume_schedules needs at least one view id")
        template = _SQ + "resume_schedules/"
        await self._request("POST", template, self._url(template), body={"view_ids": ids}, read_only=False)

    # ------------------------------------------------------------------ folders

    async def list_folders(self) -> list[Folder]:
        """Every saved-query folder, by name."""
        display = self._display("GET", self._url(_FOLDERS))
        return [self._parse(Folder.from_api, raw, display) async for raw in self._iter(_FOLDERS)]

    async def get_folder(self, folder_id: str | uuid.UUID) -> Folder:
        fid = _segment(folder_id, "folder_id")
        template = _FOLDERS + "{id}/"
        body = await self._get(template, what=f"folder {fid}", id=fid)
        return self._parse(Folder.from_api, body, self._display("GET", self._url(template, id=fid)))

    async def create_folder(self, name: str) -> Folder:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a folder needs a non-empty name")
        url = self._url(_FOLDERS)
        body = await self._request("POST", _FOLDERS, url, body={"name": name}, read_only=False)
        return self._parse(Folder.from_api, body, self._display("POST", url))

    async def update_folder(self, folder_id: str | uuid.UUID, *, name: str) -> Folder:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a folder needs a non-empty name")
        fid = _segment(folder_id, "folder_id")
        template = _FOLDERS + "{id}/"
        url = self._url(template, id=fid)
        body = await self._request(
            "PATCH", template, url, body={"name": name}, read_only=False, what=f"folder {fid}"
        )
        return self._parse(Folder.from_api, body, self._display("PATCH", url))

    async def delete_folder(self, folder_id: str | uuid.UUID) -> None:
        """Delete a folder and every view in it (PostHog refuses if outside views depend on them)."""
        fid = _segment(folder_id, "folder_id")
        template = _FOLDERS + "{id}/"
        await self._request(
            "DELETE", template, self._url(template, id=fid), read_only=False, what=f"folder {fid}"
        )

    # ------------------------------------------------------------------ data modeling jobs

    async def iter_jobs(
        self,
        saved_query_id: str | uuid.UUID | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        *,
        page_size: int | None = None,
        status: str | None = None,
    ) -> AsyncGenerator[Job, None]:
        """Jobs newest first (by ``created_at``); stops at the first job created before ``since``
        and after ``limit`` jobs. ``page_size`` defaults to ``limit`` (up to 1000) or PostHog's 100.

        A naive ``since`` is read as UTC, the zone PostHog stamps jobs in (not local time)."""
        for name, value in (("limit", limit), ("page_size", page_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number >= 1 or None, got {value!r}")
        if since is not None and not isinstance(since, datetime):
            raise ValueError(f"since must be a datetime or None, got {since!r}")
        cutoff = _aware(since) if since is not None else None
        size = page_size or (min(limit, 1000) if limit else None)
        params: dict[str, Any] = {"limit": size}
        if saved_query_id is not None:
            if not isinstance(saved_query_id, str | uuid.UUID) or not str(saved_query_id).strip():
                raise ValueError(f"saved_query_id must be a view id, got {saved_query_id!r}")
            params["saved_query_id"] = str(saved_query_id).strip()
        if status is not None:
            # the newest PostHog filters server-side; older ones ignore the parameter, so the
            # status is checked again on every job below
            params["status"] = status
        display = self._display("GET", self._url(_JOBS))
        count = 0
        async for raw in self._iter(_JOBS, params):
            job = self._parse(Job.from_api, raw, display)
            if cutoff is not None and job.created_at is not None and job.created_at < cutoff:
                return
            if status is not None and job.status != status:
                continue
            yield job
            count += 1
            if limit is not None and count >= limit:
                return

    async def list_jobs(
        self,
        saved_query_id: str | uuid.UUID | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        """Jobs (of one view, created at or after ``since``, at most ``limit`` if given), newest first."""
        return [j async for j in self.iter_jobs(saved_query_id, since, limit)]

    async def get_job(self, job_id: str | uuid.UUID) -> Job:
        jid = _segment(job_id, "job_id")
        template = _JOBS + "{id}/"
        body = await self._get(template, what=f"data modeling job {jid}", id=jid)
        return self._parse(Job.from_api, body, self._display("GET", self._url(template, id=jid)))

    async def _job_array(self, suffix: str) -> list[Job]:
        template = _JOBS + suffix
        display = self._display("GET", self._url(template))
        return [self._parse(Job.from_api, raw, display) async for raw in self._iter(template)]

    async def recent_jobs(self) -> list[Job]:
        """Per view, its newest finished materialization job (PostHog may refuse personal keys)."""
        return await self._job_array("recent/")

    async def running_jobs(self) -> list[Job]:
        """Materialization jobs running now (PostHog may refuse personal keys)."""
        return await self._job_array("running/")

    # ------------------------------------------------------------------ data_warehouse

    async def iter_completed_activity(
        self, *, limit: int = 20, cutoff_days: int = 30, max_items: int | None = None
    ) -> AsyncGenerator[ActivityRow, None]:
        """Completed syncs and materializations of the last ``cutoff_days``, newest first.

        ``limit`` is the page size, 1..50 (0 would make PostHog link to the same page forever).
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
            raise ValueError(f"limit must be a whole number from 1 to 50, got {limit!r}")
        if isinstance(cutoff_days, bool) or not isinstance(cutoff_days, int) or cutoff_days < 1:
            raise ValueError(f"cutoff_days must be a whole number >= 1, got {cutoff_days!r}")
        template = _DW + "completed_activity/"
        display = self._display("GET", self._url(template))
        count = 0
        params = {"limit": limit, "offset": 0, "cutoff_days": cutoff_days}
        async for raw in self._iter(template, params, stop_on_empty=True):
            if max_items is not None and count >= max_items:
                return
            yield self._parse(ActivityRow.from_api, raw, display)
            count += 1

    async def completed_activity(
        self, *, limit: int = 20, cutoff_days: int = 30, max_items: int | None = None
    ) -> list[ActivityRow]:
        """All rows of :meth:`iter_completed_activity` as a list."""
        return [
            r
            async for r in self.iter_completed_activity(
                limit=limit, cutoff_days=cutoff_days, max_items=max_items
            )
        ]

    # ------------------------------------------------------------------ newest PostHog (issue 19)

    async def view_activity(
        self, view_id: str | uuid.UUID, *, max_items: int | None = None
    ) -> list[ViewActivity]:
        """The view's activity log, newest first: who created or changed it, and what (its SQL's
        before and after). Needs the scope ``activity_log:read``; pages follow ``next``."""
        vid = _segment(view_id, "view_id")
        template = _SQ_ID + "activity/"
        display = self._display("GET", self._url(template, id=vid))
        out: list[ViewActivity] = []
        async for raw in self._iter(template, {"limit": 100}, stop_on_empty=True, id=vid):
            if max_items is not None and len(out) >= max_items:
                break
            out.append(self._parse(ViewActivity.from_api, raw, display))
        return out

    async def data_health_issues(self) -> list[HealthIssue]:
        """Failing materializations and syncs in one request (``data_warehouse/data_health_issues``)."""
        template = _DW + "data_health_issues/"
        body = await self._get(template)
        display = self._display("GET", self._url(template))
        rows = body.get("results") if isinstance(body, Mapping) else body
        if not isinstance(rows, list):
            raise ProtocolError(f"{display}: expected a list of issues", path=display)
        return [self._parse(HealthIssue.from_api, r, display) for r in rows]

    async def failed_activity(
        self, *, kind: str | None = None, cutoff_days: int = 30, limit: int = 50
    ) -> list[ActivityRow]:
        """The newest PostHog's ``completed_activity?outcome=failed`` (``kind``: ``sync`` or
        ``materialization``): failed runs in one listing."""
        if kind not in (None, "sync", "materialization"):
            raise ValueError(f"kind must be 'sync' or 'materialization', got {kind!r}")
        if isinstance(cutoff_days, bool) or not isinstance(cutoff_days, int) or cutoff_days < 1:
            raise ValueError(f"cutoff_days must be a whole number >= 1, got {cutoff_days!r}")
        template = _DW + "completed_activity/"
        display = self._display("GET", self._url(template))
        params: dict[str, Any] = {
            "limit": limit,
            "offset": 0,
            "cutoff_days": cutoff_days,
            "outcome": "failed",
        }
        if kind is not None:
            params["kind"] = kind
        return [
            self._parse(ActivityRow.from_api, raw, display)
            async for raw in self._iter(template, params, stop_on_empty=True)
        ]

    async def check_incremental(self, view_id: str | uuid.UUID, sql: str | None = None) -> dict[str, Any]:
        """The newest PostHog's ``check_incremental`` action: whether the view can run incrementally."""
        vid = _segment(view_id, "view_id")
        template = _SQ_ID + "check_incremental/"
        payload: dict[str, Any] = {}
        if sql is not None:
            payload["query"] = {"kind": "HogQLQuery", "query": sql}
        body = await self._request(
            "POST",
            template,
            self._url(template, id=vid),
            body=payload,
            read_only=True,
            what=f"saved query {vid}",
        )
        return dict(body) if isinstance(body, Mapping) else {}

    async def check_database_name(self, name: str) -> DatabaseNameCheck:
        """Whether a managed-warehouse database name is free (a beta feature; may answer 403)."""
        if not isinstance(name, str) or not name:
            raise ValueError("check_database_name needs a name")
        template = _DW + "check-database-name/"
        body = await self._get(template, params={"name": name})
        display = self._display("GET", self._url(template))
        return self._parse(lambda b: DatabaseNameCheck.from_api(b, asked=name), body, display)

    # ------------------------------------------------------------------ warehouse tables

    async def iter_tables(self, search: str | None = None) -> AsyncGenerator[Table, None]:
        """Every warehouse table (needs ``warehouse_table:read``), across all pages."""
        display = self._display("GET", self._url(_TABLES))
        async for raw in self._iter(_TABLES, {"search": search}):
            yield self._parse(Table.from_api, raw, display)

    async def list_tables(self, search: str | None = None) -> list[Table]:
        return [t async for t in self.iter_tables(search)]

    async def get_table(self, table_id: str | uuid.UUID) -> Table:
        tid = _segment(table_id, "table_id")
        template = _TABLES + "{id}/"
        body = await self._get(template, what=f"warehouse table {tid}", id=tid)
        return self._parse(Table.from_api, body, self._display("GET", self._url(template, id=tid)))

    # ------------------------------------------------------------------ consumers

    async def _consumer_list(self, path: str, parser: Callable[[Any], T]) -> list[T]:
        template = _P + path
        display = self._display("GET", self._url(template))
        return [self._parse(parser, raw, display) async for raw in self._iter(template)]

    async def list_insights(self) -> list[Insight]:
        """Every saved, live insight with its ``query`` (needs ``insight:read``), all pages."""
        return await self._consumer_list("insights/", Insight.from_api)

    async def list_dashboards(self) -> list[Dashboard]:
        """Every live dashboard (needs ``dashboard:read``); the list carries no tiles."""
        return await self._consumer_list("dashboards/", Dashboard.from_api)

    async def get_dashboard(self, dashboard_id: int) -> Dashboard:
        """One dashboard with its tiles (their insight ids)."""
        template = _P + "dashboards/{id}/"
        ident = _segment(str(dashboard_id), "dashboard_id")
        body = await self._get(template, what=f"dashboard {ident}", id=ident)
        return self._parse(Dashboard.from_api, body, self._display("GET", self._url(template, id=ident)))

    async def list_notebooks(self) -> list[Notebook]:
        """Every live notebook (needs ``notebook:read``); the list carries no ``content``."""
        return await self._consumer_list("notebooks/", Notebook.from_api)

    async def get_notebook(self, short_id: str) -> Notebook:
        """One notebook with its ProseMirror ``content``."""
        template = _P + "notebooks/{id}/"
        ident = _segment(short_id, "short_id")
        body = await self._get(template, what=f"notebook {ident}", id=ident)
        return self._parse(Notebook.from_api, body, self._display("GET", self._url(template, id=ident)))

    async def list_endpoints(self) -> list[Endpoint]:
        """Every live endpoint with its versions' queries (needs ``endpoint:read``)."""
        return await self._consumer_list("endpoints/", Endpoint.from_api)

    async def list_alerts(self) -> list[Alert]:
        """Every alert with the insight it watches (needs ``alert:read``)."""
        return await self._consumer_list("alerts/", Alert.from_api)

    # ------------------------------------------------------------------ query API (HogQL)

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
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Every row of a HogQL query as ``{column: value}``, paging with LIMIT/OFFSET.

        The query must not have its own top-level LIMIT/OFFSET, and should ORDER BY a unique key so
        that pages neither repeat nor skip rows. Each page is one request against the HogQL limit.
        """
        sql = check_query_text(query)
        size = check_limit(page_size, "page_size")
        with_limit(sql, size)  # refuses a query with its own LIMIT before any request
        offset = 0
        while True:
            page = await self._run_query(with_limit(sql, size, offset), values, refresh="blocking")
            for row in page.rows():
                yield row
            # a full page may hide more rows even when hasMore is missing (older PostHog versions)
            if not page.results or (not page.has_more and len(page.results) < size):
                return
            offset += len(page.results)

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
        url = self._url(_QUERY)
        display = self._display("POST", url)
        body: Any = None
        quota: PaymentRequiredError | None = None
        try:
            # a query changes nothing, so a failed attempt is safe to repeat
            body = await self._request(
                "POST", _QUERY, url, body=payload, read_only=True, limiter=self._hogql_limiter
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
            if waited >= self._query_timeout:
                raise ServerError(
                    f"{display}: the asynchronous HogQL query did not complete within "
                    f"{self._query_timeout:g} s; try again later or narrow the query",
                    path=display,
                )
            await self._wait(delay)
            waited += delay
            delay = min(delay * 2, 10.0)
            qid = _segment(status["id"], "query id")
            body = await self._get(_QUERY_ID, what=f"query {qid}", id=qid)
            status = body.get("query_status") if isinstance(body, Mapping) else None


class _LoopThread:
    """A private event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="lineage-api-loop", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("PostHogClient called from its own loop thread; use AsyncPostHogClient there")
        if self.loop.is_closed():
            coro.close()
            raise RuntimeError("PostHogClient is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()


class PostHogClient:
    """Blocking twin of :class:`AsyncPostHogClient` with the same methods and arguments.

    Safe in plain scripts and inside a running event loop (Jupyter): the async client runs on a
    private loop in a background thread. Close it (or use ``with``) to stop that thread.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30,
        concurrency: int = 8,
        retries: int = 5,
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] | None = None,
        max_wait: float | None = None,
        backoff: Backoff | None = None,
        hogql_per_hour: int = DEFAULT_HOGQL_PER_HOUR,
        query_timeout: float = 600.0,
        throttle_budget: float | None = None,
        deadline: float | None = None,
        max_response_bytes: int | None = None,
    ) -> None:
        self._async = AsyncPostHogClient(
            settings,
            transport=transport,
            timeout=timeout,
            concurrency=concurrency,
            retries=retries,
            sleep=sleep,
            clock=clock,
            max_wait=max_wait,
            backoff=backoff,
            hogql_per_hour=hogql_per_hour,
            query_timeout=query_timeout,
            throttle_budget=throttle_budget,
            deadline=deadline,
            max_response_bytes=max_response_bytes,
        )
        self._loop = _LoopThread()
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
    def aio(self) -> AsyncPostHogClient:
        """The async client underneath (usable only on this client's loop)."""
        return self._async

    def __repr__(self) -> str:
        return f"PostHogClient(host={self.settings.host!r}, project={self._async.project!r})"

    def close(self) -> None:
        """Close connections and stop the background loop; idempotent."""
        if not self._loop.loop.is_closed():
            try:
                self._loop.run(self._async.aclose())
            finally:
                self._loop.stop()

    def __enter__(self) -> PostHogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _iterate(self, agen: AsyncGenerator[T, None]) -> Iterator[T]:
        try:
            while True:
                try:
                    item = self._loop.run(_anext(agen))
                except StopAsyncIteration:
                    return
                yield item
        finally:
            if not self._loop.loop.is_closed():
                self._loop.run(agen.aclose())

    # saved queries
    def iter_views(self, search: str | None = None) -> Iterator[SavedQuery]:
        return self._iterate(self._async.iter_views(search))

    def list_views(self, search: str | None = None) -> list[SavedQuery]:
        return self._loop.run(self._async.list_views(search))

    def get_view(self, view_id: str | uuid.UUID) -> SavedQuery:
        return self._loop.run(self._async.get_view(view_id))

    def create_view(
        self,
        name: str,
        sql: str,
        *,
        folder_id: str | None = None,
        types: list[tuple[str, str]] | None = None,
        soft_update: bool | None = None,
    ) -> SavedQuery:
        return self._loop.run(
            self._async.create_view(name, sql, folder_id=folder_id, types=types, soft_update=soft_update)
        )

    def update_view(
        self,
        view_id: str | uuid.UUID,
        *,
        name: str | None = None,
        sql: str | None = None,
        sync_frequency: str | None = None,
        folder_id: str | _Unset | None = UNSET,
        description: str | None = None,
        edited_history_id: int | str | None = None,
        soft_update: bool | None = None,
    ) -> SavedQuery:
        return self._loop.run(
            self._async.update_view(
                view_id,
                name=name,
                sql=sql,
                sync_frequency=sync_frequency,
                folder_id=folder_id,
                description=description,
                edited_history_id=edited_history_id,
                soft_update=soft_update,
            )
        )

    def delete_view(self, view_id: str | uuid.UUID) -> None:
        self._loop.run(self._async.delete_view(view_id))

    def ancestors(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        _level(level)
        return self._loop.run(self._async.ancestors(view_id, level))

    def descendants(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        _level(level)
        return self._loop.run(self._async.descendants(view_id, level))

    def dependencies(self, view_id: str | uuid.UUID) -> Dependencies:
        return self._loop.run(self._async.dependencies(view_id))

    def run(self, view_id: str | uuid.UUID, *, full_refresh: bool | None = None) -> None:
        self._loop.run(self._async.run(view_id, full_refresh=full_refresh))

    def materialize(self, view_id: str | uuid.UUID, *, sync_frequency: str | None = None) -> None:
        self._loop.run(self._async.materialize(view_id, sync_frequency=sync_frequency))

    def resume(self, view_id: str | uuid.UUID) -> None:
        self._loop.run(self._async.resume(view_id))

    def revert_materialization(self, view_id: str | uuid.UUID) -> None:
        self._loop.run(self._async.revert_materialization(view_id))

    def cancel(self, view_id: str | uuid.UUID) -> None:
        self._loop.run(self._async.cancel(view_id))

    def run_history(self, view_id: str | uuid.UUID) -> list[RunHistoryEntry]:
        return self._loop.run(self._async.run_history(view_id))

    def resume_schedules(self, view_ids: Iterable[str | uuid.UUID]) -> None:
        self._loop.run(
            self._async.resume_schedules(list(view_ids) if not isinstance(view_ids, str) else view_ids)
        )

    # folders
    def list_folders(self) -> list[Folder]:
        return self._loop.run(self._async.list_folders())

    def get_folder(self, folder_id: str | uuid.UUID) -> Folder:
        return self._loop.run(self._async.get_folder(folder_id))

    def create_folder(self, name: str) -> Folder:
        return self._loop.run(self._async.create_folder(name))

    def update_folder(self, folder_id: str | uuid.UUID, *, name: str) -> Folder:
        return self._loop.run(self._async.update_folder(folder_id, name=name))

    def delete_folder(self, folder_id: str | uuid.UUID) -> None:
        self._loop.run(self._async.delete_folder(folder_id))

    # jobs
    def iter_jobs(
        self,
        saved_query_id: str | uuid.UUID | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        *,
        page_size: int | None = None,
        status: str | None = None,
    ) -> Iterator[Job]:
        return self._iterate(
            self._async.iter_jobs(saved_query_id, since, limit, page_size=page_size, status=status)
        )

    def list_jobs(
        self,
        saved_query_id: str | uuid.UUID | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        return self._loop.run(self._async.list_jobs(saved_query_id, since, limit))

    def get_job(self, job_id: str | uuid.UUID) -> Job:
        return self._loop.run(self._async.get_job(job_id))

    def recent_jobs(self) -> list[Job]:
        return self._loop.run(self._async.recent_jobs())

    def running_jobs(self) -> list[Job]:
        return self._loop.run(self._async.running_jobs())

    # data_warehouse
    def iter_completed_activity(
        self, *, limit: int = 20, cutoff_days: int = 30, max_items: int | None = None
    ) -> Iterator[ActivityRow]:
        return self._iterate(
            self._async.iter_completed_activity(limit=limit, cutoff_days=cutoff_days, max_items=max_items)
        )

    def completed_activity(
        self, *, limit: int = 20, cutoff_days: int = 30, max_items: int | None = None
    ) -> list[ActivityRow]:
        return self._loop.run(
            self._async.completed_activity(limit=limit, cutoff_days=cutoff_days, max_items=max_items)
        )

    def check_database_name(self, name: str) -> DatabaseNameCheck:
        return self._loop.run(self._async.check_database_name(name))

    def view_activity(self, view_id: str | uuid.UUID, *, max_items: int | None = None) -> list[ViewActivity]:
        return self._loop.run(self._async.view_activity(view_id, max_items=max_items))

    def data_health_issues(self) -> list[HealthIssue]:
        return self._loop.run(self._async.data_health_issues())

    def failed_activity(
        self, *, kind: str | None = None, cutoff_days: int = 30, limit: int = 50
    ) -> list[ActivityRow]:
        return self._loop.run(self._async.failed_activity(kind=kind, cutoff_days=cutoff_days, limit=limit))

    def check_incremental(self, view_id: str | uuid.UUID, sql: str | None = None) -> dict[str, Any]:
        return self._loop.run(self._async.check_incremental(view_id, sql))

    # warehouse tables
    def iter_tables(self, search: str | None = None) -> Iterator[Table]:
        return self._iterate(self._async.iter_tables(search))

    def list_tables(self, search: str | None = None) -> list[Table]:
        return self._loop.run(self._async.list_tables(search))

    def get_table(self, table_id: str | uuid.UUID) -> Table:
        return self._loop.run(self._async.get_table(table_id))

    # consumers
    def list_insights(self) -> list[Insight]:
        return self._loop.run(self._async.list_insights())

    def list_dashboards(self) -> list[Dashboard]:
        return self._loop.run(self._async.list_dashboards())

    def get_dashboard(self, dashboard_id: int) -> Dashboard:
        return self._loop.run(self._async.get_dashboard(dashboard_id))

    def list_notebooks(self) -> list[Notebook]:
        return self._loop.run(self._async.list_notebooks())

    def get_notebook(self, short_id: str) -> Notebook:
        return self._loop.run(self._async.get_notebook(short_id))

    def list_endpoints(self) -> list[Endpoint]:
        return self._loop.run(self._async.list_endpoints())

    def list_alerts(self) -> list[Alert]:
        return self._loop.run(self._async.list_alerts())

    # query API
    def hogql(
        self,
        query: str,
        *,
        values: Mapping[str, Any] | None = None,
        limit: int | None = None,
        refresh: str = "blocking",
    ) -> QueryResult:
        """See :meth:`AsyncPostHogClient.hogql`."""
        return self._loop.run(self._async.hogql(query, values=values, limit=limit, refresh=refresh))

    def iter_hogql(
        self, query: str, *, values: Mapping[str, Any] | None = None, page_size: int = 10000
    ) -> Iterator[dict[str, Any]]:
        """See :meth:`AsyncPostHogClient.iter_hogql`; validates its arguments at once."""
        check_query_text(query)
        with_limit(query, check_limit(page_size, "page_size"))
        return self._iterate(self._async.iter_hogql(query, values=values, page_size=page_size))
