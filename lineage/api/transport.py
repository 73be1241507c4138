"""The sender under the PostHog client: transport, limits, the throttle gate, deadlines, size caps,
retries and pagination following, apart from the endpoint methods that use them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
import urllib.request
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import quote

import httpx

from lineage.api.body import BadEncoding, TooLarge, read_capped, try_json
from lineage.api.error_map import api_error, safe_body, snippet
from lineage.api.limits import Clock, SlidingWindowLimiter, acquire_all
from lineage.api.options import DEFAULT_MAX_WAIT, ClientOptions
from lineage.api.pagination import paginate
from lineage.api.retry import Backoff, ClientStats, retry_after_seconds
from lineage.api.wire import PlainHTTPTransport
from lineage.config import (
    ENV_MAX_RESPONSE_MB,
    ENV_PROJECT,
    ENV_REQUEST_DEADLINE,
    ENV_THROTTLE_BUDGET,
    Settings,
    redact,
)
from lineage.errors import ApiError, ProtocolError, RateLimitedError, TransportError, param

__all__ = ["PROJECT_PATH", "Sender", "aware"]

log = logging.getLogger("lineage.api")

# every endpoint's path starts here; the sender's base URL stands for it
PROJECT_PATH: Final = "/api/projects/{project}/"
# A second of slack on every window: PostHog stamps a request when it arrives, later than we do, so a
# window that has just passed for us may not have passed for it yet.
WINDOW_SLACK: Final = 1.0
# per-view limiters are swept for idle ones once there are this many
VIEW_LIMITER_SWEEP: Final = 256
RUN_LIMIT: Final = (10, 60.0 + WINDOW_SLACK)
MATERIALIZE_LIMIT: Final = (5, 3600.0 + WINDOW_SLACK)
_INVALID: Final = object()
# a 429 without a usable Retry-After (or with 0) waits at least this long, backing off
MIN_THROTTLE_WAIT: Final = 0.05
# what an endpoint path below the base URL holds when it needs no parsing to be shown: no query,
# no percent-escape to decode; "." and ".." segments are ruled out apart (httpx would resolve them)
_PLAIN_PATH: Final = re.compile(r"[A-Za-z0-9_~@/.-]*")


class _DeadlineExceeded(Exception):
    """The whole request (connect, headers, body) took longer than the client's deadline."""


class _CrossOriginRedirect(Exception):
    """Raised from the response hook to stop httpx before it follows a redirect to another origin."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def _env_proxies() -> bool:
    """Whether a proxy is configured where httpx looks (``urllib``'s ``getproxies``: ``http_proxy``,
    ``HTTPS_PROXY``, ``ALL_PROXY``...): it routes requests through it unless given a transport."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class Sender:
    """One logical request to PostHog, sent under every limit and retried as it deserves.

    It holds what all endpoints share: the ``httpx`` connection pool (authorized for the one
    configured host), the concurrency slots, the client-side rate windows (per key, per view for
    ``run``/``materialize``, per hour for HogQL), the one gate that a 429 closes for every request,
    the per-request deadline and size cap, the retries of failures that are safe to repeat, the
    following of pages, and the server's clock as its ``Date`` headers tell it. The endpoint
    methods of :class:`~lineage.api.client.AsyncPostHogClient` build paths and bodies and parse
    answers; everything between is here.
    """

    def __init__(self, settings: Settings, options: ClientOptions) -> None:
        settings.require_api()
        max_wait = options.max_wait
        # a caller that allows one long wait (a materialization's hour) may spend it in all
        self._budget_floor = 0.0 if max_wait is None else max_wait
        # without an explicit max_wait, a Retry-After is bounded by the throttle budget alone
        # (PostHog's can be a minute and more); client-side windows keep the 300 s bound
        self._retry_after_bound = math.inf if max_wait is None else max_wait
        max_wait = DEFAULT_MAX_WAIT if max_wait is None else max_wait
        assert settings.api_key is not None and settings.project is not None  # require_api checked
        self.settings = settings
        self.project = settings.project
        self.stats = ClientStats()
        self._server_time: tuple[datetime, float] | None = None
        self._date_seen: tuple[str, datetime] | None = None
        self._retries = options.retries
        self._max_wait = max_wait
        self._backoff = options.backoff or Backoff()
        self._clock = Clock(sleep=options.sleep, clock=options.clock)
        self._sem = asyncio.Semaphore(options.concurrency)
        self._limiter = SlidingWindowLimiter(
            [(settings.max_rpm, 60.0 + WINDOW_SLACK), (settings.max_rph, 3600.0 + WINDOW_SLACK)],
            clock=self._clock.now,
        )
        self.view_limiters: dict[tuple[str, str], SlidingWindowLimiter] = {}
        self.hogql_limiter = SlidingWindowLimiter(
            [(options.hogql_per_hour, 3600.0 + WINDOW_SLACK)], clock=self._clock.now
        )
        # 429s: every request waits behind one gate (a 429 slows the whole client down, not only the
        # request that got it), for at most throttle_budget seconds of wall time in all
        self._throttle_budget = (
            settings.throttle_budget if options.throttle_budget is None else options.throttle_budget
        )
        self._throttle_spent = 0.0
        self._gate_until = float("-inf")
        self._deadline = settings.request_deadline if options.deadline is None else options.deadline
        self._max_bytes = (
            settings.max_response_bytes if options.max_response_bytes is None else options.max_response_bytes
        )
        if self._throttle_budget < 0 or self._deadline <= 0 or self._max_bytes < 1:
            raise ValueError("throttle_budget must be >= 0, deadline > 0 and max_response_bytes >= 1")
        self.on_throttle: Callable[[float, float, float], None] | None = None
        """Called as ``on_throttle(wait, spent, budget)`` each time a 429 closes (or extends) the gate."""
        self._base = f"{settings.host}/api/projects/{quote(settings.project, safe='@')}/"
        base_url = httpx.URL(self._base)
        self._origin = _origin(base_url)
        self._base_path = base_url.path
        transport = options.transport
        if transport is None and base_url.scheme == "http" and not _env_proxies():
            # A plain-HTTP host (the simulator, a PostHog on localhost) never speaks TLS here, and
            # a redirect to https is another origin, refused: a lean HTTP/1.1 transport carries it
            # (half the client's CPU per request was httpcore's, anyio's and h11's), and no CA
            # bundle is loaded (httpx's default transport does that up front: 40-180 ms of every
            # crawl's start). (Not with proxy variables set: httpx reads them only when it makes
            # its own transport.)
            transport = PlainHTTPTransport()
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(options.timeout),
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

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

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
        last = self._date_seen
        if last is not None and last[0] == header:
            moment = last[1]  # the same second as the answer before: parsed once
        else:
            try:
                moment = parsedate_to_datetime(header)
            except (TypeError, ValueError, IndexError):
                return
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            self._date_seen = (header, moment)
        self._server_time = (moment, time.monotonic())

    def server_now(self) -> datetime | None:
        """The server's clock (from the last ``Date`` header, plus time since), or None before any answer.

        Job windows and staleness are measured on it, so a skewed local clock does not distort them.
        """
        if self._server_time is None:
            return None
        moment, seen = self._server_time
        return moment + timedelta(seconds=time.monotonic() - seen)

    def url(self, template: str, **ids: str) -> str:
        """Absolute URL for an endpoint template relative to the project base."""
        rel = template.removeprefix(PROJECT_PATH).format(**ids)
        return self._base + rel

    def display(self, method: str, url: str) -> str:
        """``METHOD /path`` of a URL, as errors and logs name a request (secrets redacted).

        Every request names itself once or twice: an endpoint's URL (the base and plain path
        segments) is shown without parsing it again, which httpx does character by character.
        """
        rest = url[len(self._base) :] if url.startswith(self._base) else None
        if rest is not None and _PLAIN_PATH.fullmatch(rest) and not {".", ".."} & set(rest.split("/")):
            path = self._base_path + rest
        else:
            path = httpx.URL(url).path
        return redact(f"{method} {path}")

    async def wait(self, seconds: float) -> None:
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
            self._server_time = (aware(moment), time.monotonic())

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
        limiter = self.view_limiters.get(view_limit)
        if limiter is None:
            if len(self.view_limiters) >= VIEW_LIMITER_SWEEP:
                # a long session touching many views must not keep a limiter per view for ever;
                # one whose events have all left their window holds nothing worth keeping
                for key in [k for k, v in self.view_limiters.items() if v.idle()]:
                    del self.view_limiters[key]
            window = RUN_LIMIT if view_limit[0] == "run" else MATERIALIZE_LIMIT
            limiter = SlidingWindowLimiter([window], clock=self._clock.now)
            self.view_limiters[view_limit] = limiter
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
            await acquire_all(limiters, self.wait, max_wait=self._max_wait)
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
            await self.wait(wait)

    async def request(
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
        display = self.display(method, url)
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
                    f"({param('request_deadline')} / {ENV_REQUEST_DEADLINE})"
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
                        f"{param('host')} / POSTHOG_HOST ({self.settings.host}), then try again"
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
                parsed = try_json(content)
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
                    f"({param('throttle_budget')} / {ENV_THROTTLE_BUDGET}) are spent waiting"
                )
                raise RateLimitedError(
                    f"{display}: PostHog kept answering 429 (rate limited; {why}); "
                    f"try again in {wait:.0f} s, raise the budget, or lower "
                    f"{param('max_rpm')} / LINEAGE_MAX_RPM",
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
                # out of retries: the error below says so
            elif 200 <= status < 300:
                if not content.strip():
                    return None
                decoded = try_json(content, invalid=_INVALID)
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
                    f"check {param('host')} / POSTHOG_HOST points at PostHog"
                    + ("" if read_only else "; the change may have been applied: check before repeating"),
                    status=status,
                    method=method,
                    path=display,
                )
            raise api_error(
                response,
                try_json(content),
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
            except TooLarge as exc:
                failure = ProtocolError(
                    f"{display}: the answer is larger than the {exc.limit / 1048576:g} MB limit{exc.how}; "
                    f"raise it with {param('max_response_mb')} / {ENV_MAX_RESPONSE_MB} if the warehouse "
                    f"really answers this much, else check {param('host')} / POSTHOG_HOST",
                    method=method,
                    path=display,
                )
            except BadEncoding as exc:
                failure = ProtocolError(
                    f"{display}: the answer's Content-Encoding {exc.args[0]!r} cannot be decoded "
                    f"(lineage asks for gzip or deflate); check {param('host')} / POSTHOG_HOST "
                    "points at PostHog",
                    method=method,
                    path=display,
                )
            except _CrossOriginRedirect as exc:
                failure = ProtocolError(
                    redact(
                        f"{display}: PostHog redirected to another host ({exc.target}); the API key is "
                        f"only sent to the configured host. If that is where the project lives, set "
                        f"{param('host')} / POSTHOG_HOST to {exc.target} (now {self.settings.host})"
                    ),
                    method=method,
                    path=display,
                )
            except httpx.TooManyRedirects:
                failure = ProtocolError(
                    f"{display}: too many redirects (a redirect loop); check {param('host')} / POSTHOG_HOST "
                    f"({self.settings.host}) and {param('project')} / {ENV_PROJECT}",
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
            data = await read_capped(response, self._max_bytes)
        finally:
            await response.aclose()
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=data, request=response.request)

    async def get(self, template: str, *, what: str | None = None, params: Any = None, **ids: str) -> Any:
        url = self.url(template, **ids)
        return await self.request("GET", template, url, params=params, read_only=True, what=what)

    async def iter(
        self,
        template: str,
        params: Mapping[str, Any] | None = None,
        *,
        stop_on_empty: bool = False,
        **ids: str,
    ) -> AsyncGenerator[Any, None]:
        url = self.url(template, **ids)
        what = self.display("GET", url)

        async def fetch(full_url: str) -> Any:
            return await self.request("GET", template, full_url, read_only=True)

        async for item in paginate(fetch, url, params, what=what, stop_on_empty=stop_on_empty):
            yield item
