"""PostHog's request throttles, with Django REST framework's sliding-window arithmetic.

Only personal-API-key requests are throttled. Defaults: ``burst`` 480/minute and ``sustained``
4800/hour, bucketed per hashed key. Some actions *replace* the defaults: ``run`` 10/minute per
(team, view) and ``materialize``/``revert_materialization`` 5/hour per (team, view), sharing one bucket;
a HogQLQuery through the query API 120/hour per key (other query kinds 240/minute + 1200/hour).

The window runs on real monotonic time (injectable, so tests need not sleep) plus a skew that
``POST /_sim/clock`` can push forward.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """``num`` requests per ``period`` seconds, in the bucket family ``scope``."""

    scope: str
    num: int
    period: float


BURST = Rate("burst", 480, 60.0)
SUSTAINED = Rate("sustained", 4800, 3600.0)
RUN = Rate("run_saved_query", 10, 60.0)
MATERIALIZE = Rate("materialization", 5, 3600.0)
# The query API: HogQLQuery has its own hourly limit; other query kinds
# share ClickHouse's analytics limits. Both replace the defaults.
HOGQL_QUERY = Rate("hogql_query", 120, 3600.0)
CLICKHOUSE_BURST = Rate("clickhouse_burst", 240, 60.0)
CLICKHOUSE_SUSTAINED = Rate("clickhouse_sustained", 1200, 3600.0)


def key_bucket(api_key: str) -> str:
    """The bucket id of a key: a hash, so that the key itself is never stored or shown."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def buckets_for(
    action: str, *, api_key: str, team_id: int, view_id: str | None, query_kind: str | None = None
) -> list[tuple[Rate, str]]:
    """The throttles DRF would evaluate for ``action``: the action's own class replaces the defaults.

    ``query_kind`` is given for a query API POST (``""`` when the body names none).
    """
    if query_kind is not None:
        bucket = key_bucket(api_key)
        if query_kind == "HogQLQuery":
            return [(HOGQL_QUERY, bucket)]
        return [(CLICKHOUSE_BURST, bucket), (CLICKHOUSE_SUSTAINED, bucket)]
    if action == "run" and view_id is not None:
        return [(RUN, f"{team_id}:{view_id}")]
    if action in ("materialize", "revert_materialization") and view_id is not None:
        return [(MATERIALIZE, f"{team_id}:{view_id}")]
    bucket = key_bucket(api_key)
    return [(BURST, bucket), (SUSTAINED, bucket)]


def throttled_detail(wait_seconds: int) -> str:
    """DRF's ``Throttled`` wording (singular for one second)."""
    unit = "second" if wait_seconds == 1 else "seconds"
    return f"Request was throttled. Expected available in {wait_seconds} {unit}."


class Throttler:
    """Sliding-window request histories, newest first, exactly like DRF's ``SimpleRateThrottle``."""

    def __init__(self, *, time_fn: Callable[[], float] = time.monotonic) -> None:
        self._time_fn = time_fn
        self._skew = 0.0
        self._histories: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._time_fn() + self._skew

    def advance(self, seconds: float) -> None:
        """Move this throttle's notion of time forward (``POST /_sim/clock``)."""
        with self._lock:
            self._skew += max(0.0, float(seconds))

    def reset(self) -> None:
        with self._lock:
            self._histories.clear()

    def check(self, buckets: Sequence[tuple[Rate, str]]) -> int | None:
        """Record the request in every bucket that allows it; return DRF's wait (whole seconds) or None.

        Like DRF's ``check_throttles`` every throttle is consulted even after one refuses, and the
        longest wait wins.
        """
        waits: list[float] = []
        with self._lock:
            now = self.now()
            for rate, bucket in buckets:
                history = self._histories.setdefault((rate.scope, bucket), deque())
                while history and history[-1] <= now - rate.period:
                    history.pop()
                if len(history) >= rate.num:
                    remaining = rate.period - (now - history[-1]) if history else rate.period
                    available = rate.num - len(history) + 1
                    if available > 0:
                        waits.append(remaining / available)
                    else:  # pragma: no cover - DRF returns no wait here; keep a sane header anyway
                        waits.append(remaining)
                    continue
                history.appendleft(now)
        if not waits:
            return None
        return max(1, math.ceil(max(waits)))
