"""How a PostHog client talks to PostHog: one frozen :class:`ClientOptions`, shared by the async
and the blocking client, so the two constructors cannot drift apart.

Both clients still take the options as keyword arguments (``AsyncPostHogClient(settings,
retries=2)``), which build a :class:`ClientOptions`; ``options=`` passes a ready one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypedDict

import httpx

from lineage.api.query import DEFAULT_HOGQL_PER_HOUR
from lineage.api.retry import Backoff

__all__ = ["DEFAULT_MAX_WAIT", "ClientKeywords", "ClientOptions", "resolve_options"]

# the longest single wait (a window, a Retry-After) taken without being told otherwise
DEFAULT_MAX_WAIT: Final = 300.0


@dataclass(frozen=True)
class ClientOptions:
    """The knobs of one client (the project, key and host come from :class:`~lineage.config.Settings`).

    ``sleep`` (sync or async, seconds) replaces waiting, for tests; without ``clock`` time is then
    advanced by each fake sleep so rate windows still pass. ``max_wait`` bounds a single wait on a
    client-side limit (300 s unless given) or ``Retry-After`` (only the throttle budget unless
    given): longer waits raise :class:`~lineage.errors.RateLimitedError` saying when to retry.
    PostHog's 429s hold every request of the client back (one shared gate) for at most
    ``throttle_budget`` seconds of wall time in all (``settings.throttle_budget``; an explicit
    ``max_wait`` larger than it raises it); 5xx answers and lost connections get the separate,
    small budget of ``retries``. ``deadline`` bounds one request in all (connect, headers, body: a
    server trickling bytes cannot hold it longer) and ``max_response_bytes`` the decoded size of
    one answer (a gzip bomb stops there); both default from ``settings``. ``hogql_per_hour`` is the
    client's own limit on HogQL queries (PostHog allows 120/hour per key, apart from the
    480/minute of the other endpoints); ``query_timeout`` bounds the polling of an asynchronous
    query. ``transport`` replaces the network (an ``httpx.MockTransport``, the simulator's app);
    ``timeout`` is httpx's per-phase timeout and ``concurrency`` the requests in flight at once.
    """

    transport: httpx.AsyncBaseTransport | None = None
    timeout: float = 30
    concurrency: int = 8
    retries: int = 5
    sleep: Callable[[float], Any] | None = None
    clock: Callable[[], float] | None = None
    max_wait: float | None = None
    backoff: Backoff | None = None
    hogql_per_hour: int = DEFAULT_HOGQL_PER_HOUR
    query_timeout: float = 600.0
    throttle_budget: float | None = None
    deadline: float | None = None
    max_response_bytes: int | None = None

    def __post_init__(self) -> None:
        # the checks that need no settings; throttle_budget, deadline and max_response_bytes
        # default from the settings and are checked by the sender once resolved
        max_wait = DEFAULT_MAX_WAIT if self.max_wait is None else self.max_wait
        if self.timeout <= 0 or self.concurrency < 1 or self.retries < 0 or max_wait < 0:
            raise ValueError("timeout must be > 0, concurrency >= 1, retries >= 0 and max_wait >= 0")
        hourly = self.hogql_per_hour
        if isinstance(hourly, bool) or not isinstance(hourly, int) or hourly < 1:
            raise ValueError(f"hogql_per_hour must be a whole number >= 1, got {hourly!r}")
        if self.query_timeout <= 0:
            raise ValueError(f"query_timeout must be > 0 seconds, got {self.query_timeout!r}")


class ClientKeywords(TypedDict, total=False):
    """:class:`ClientOptions`' fields as keyword arguments of the clients' constructors (typed)."""

    transport: httpx.AsyncBaseTransport | None
    timeout: float
    concurrency: int
    retries: int
    sleep: Callable[[float], Any] | None
    clock: Callable[[], float] | None
    max_wait: float | None
    backoff: Backoff | None
    hogql_per_hour: int
    query_timeout: float
    throttle_budget: float | None
    deadline: float | None
    max_response_bytes: int | None


def resolve_options(options: ClientOptions | None, keywords: ClientKeywords) -> ClientOptions:
    """``options`` with ``keywords`` laid over it (the defaults when there are no options)."""
    if options is None:
        return ClientOptions(**keywords)
    return dataclasses.replace(options, **keywords) if keywords else options
