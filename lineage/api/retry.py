"""When to retry, and for how long to wait first.

>>> retry_after_seconds({"retry-after": "7"}, None)
7.0
>>> retry_after_seconds({}, {"detail": "Request was throttled. Expected available in 12 seconds."})
12.0
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["Backoff", "ClientStats", "StatsSnapshot", "retry_after_seconds"]

_EXPECTED = re.compile(r"available in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


def _http_date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def retry_after_seconds(headers: Mapping[str, str], body: Any) -> float | None:
    """Seconds to wait after a 429: ``Retry-After`` (seconds or HTTP date), else the detail text.

    An HTTP-date ``Retry-After`` is measured from the answer's own ``Date`` header when there is one:
    both come from the server's clock, so a skewed local clock neither skips the wait nor stretches it.
    """
    raw = None
    date = None
    for name, value in headers.items():
        if name.lower() == "retry-after" and raw is None:
            raw = value.strip()
        elif name.lower() == "date" and date is None:
            date = value
    if raw:
        try:
            seconds = float(raw)
            if seconds >= 0 and seconds == seconds and seconds != float("inf"):
                return seconds
        except ValueError:
            when = _http_date(raw)
            if when is not None:
                now = _http_date(date) or datetime.now(UTC)
                return max(0.0, (when - now).total_seconds())
    detail = None
    if isinstance(body, Mapping):
        detail = body.get("detail") or body.get("error")
    if isinstance(detail, str):
        match = _EXPECTED.search(detail)
        if match:
            return float(match.group(1))
    return None


@dataclass
class Backoff:
    """Jittered exponential backoff: ``base * 2**attempt`` capped at ``cap``, scaled by 0.5..1.0."""

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * float(2 ** min(attempt, 30)))
        # half fixed, half random: spreads retries of concurrent requests without ever waiting ~0
        return float(ceiling * (0.5 + self.rng.random() / 2))


@dataclass(frozen=True)
class StatsSnapshot:
    """A copy of the counters at one moment."""

    requests: dict[str, int]
    retries: int
    throttled: int
    waited_s: float

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


class ClientStats:
    """Counters a client keeps; safe to read from any thread while requests run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, int] = {}
        self._retries = 0
        self._throttled = 0
        self._waited = 0.0
        self._busy_until = float("-inf")

    def request(self, template: str) -> None:
        with self._lock:
            self._requests[template] = self._requests.get(template, 0) + 1

    def retry(self) -> None:
        with self._lock:
            self._retries += 1

    def throttle(self) -> None:
        with self._lock:
            self._throttled += 1

    def waited(self, seconds: float, *, start: float | None = None) -> None:
        """Count a wait on a rate limit (client-side window, ``Retry-After``, the 429 gate).

        With ``start`` (a clock reading) waits are counted as wall time: concurrent waits over the
        same span count once, so eight requests waiting out one 429 add its length, not eight times
        it. Backoff after a 5xx or a failed connection is not a rate limit and is not counted.
        """
        seconds = max(0.0, seconds)
        with self._lock:
            if start is None:
                self._waited += seconds
                return
            end = start + seconds
            self._waited += max(0.0, end - max(start, self._busy_until))
            self._busy_until = max(self._busy_until, end)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                requests=dict(sorted(self._requests.items())),
                retries=self._retries,
                throttled=self._throttled,
                waited_s=self._waited,
            )

    @property
    def requests(self) -> dict[str, int]:
        """Requests sent per endpoint template, e.g. ``GET /api/projects/{project}/warehouse_tables/``."""
        return self.snapshot().requests

    @property
    def total_requests(self) -> int:
        return self.snapshot().total_requests

    @property
    def retries(self) -> int:
        return self.snapshot().retries

    @property
    def throttled(self) -> int:
        """429 answers seen (including ones that were then retried successfully)."""
        return self.snapshot().throttled

    @property
    def waited_s(self) -> float:
        """Wall seconds spent waiting on client-side limits and ``Retry-After`` (not 5xx backoff)."""
        return self.snapshot().waited_s

    def __repr__(self) -> str:
        s = self.snapshot()
        return (
            f"ClientStats(requests={s.total_requests}, retries={s.retries}, "
            f"throttled={s.throttled}, waited_s={s.waited_s:.1f})"
        )
